//! Golden and behaviour tests of the GPU passes.

use super::{accelerate_dot, assign, barriers, remove_conversions, shared_memory};
use crate::arch::Arch;
use crate::passes::golden::{check, each_func};

#[test]
fn accelerate_dot_golden() {
    check(accelerate_dot::NAME, |m| {
        each_func(m, |f| accelerate_dot::run(f, Arch::Sm80, 4))
    });
}

#[test]
fn convert_to_gpu_golden() {
    check(assign::NAME, |m| each_func(m, |f| assign::run(f, 4)));
}

#[test]
fn remove_layout_conversions_golden() {
    check(remove_conversions::NAME, |m| {
        each_func(m, remove_conversions::run)
    });
}

#[test]
fn allocate_shared_memory_golden() {
    fn annotate(f: &mut crate::ir::Func) -> Result<bool, crate::passes::pipeline::PassError> {
        let before = crate::ir::print_func(f);
        shared_memory::run(f, 99 * 1024)?;
        Ok(crate::ir::print_func(f) != before)
    }
    check(shared_memory::NAME, |m| each_func(m, annotate));
}

#[test]
fn insert_barriers_golden() {
    check(barriers::NAME, |m| each_func(m, barriers::run));
}

#[test]
fn coalesce_golden() {
    // Layouts first (the vector widths follow the final layouts).
    check(super::coalesce::NAME, |m| {
        each_func(m, |f| {
            let laid_out = assign::run(f, 4)?;
            let cleaned = remove_conversions::run(f)?;
            Ok(super::coalesce::run(f)? | laid_out | cleaned)
        })
    });
}
