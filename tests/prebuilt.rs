//! The committed prebuilt PTX matches the bundled kernels as they compile
//! now: every declared configuration that the NVPTX lowering covers has PTX
//! for every architecture, found by the same fingerprint the runtime uses.
//! (CI also regenerates `ptx/` and requires the same bytes.)

use tilefuse::codegen::ir::fingerprint;
use tilefuse::kernels::basic::{layernorm, softmax, vector_add};
use tilefuse::runtime::{KernelSource, compile_kernel};

fn check(kernel: &KernelSource) {
    assert!(!kernel.configs.is_empty());
    for config in kernel.configs {
        let module = compile_kernel(kernel, config.consts).unwrap();
        let hash = fingerprint(&module);
        let archs: Vec<&str> = kernel
            .prebuilt
            .iter()
            .filter(|p| p.kernel == kernel.name && p.ir_hash == hash)
            .map(|p| p.arch)
            .collect();
        assert_eq!(
            archs,
            ["sm_75", "sm_80", "sm_86", "sm_89", "sm_90a"],
            "{} with {:?}: prebuilt PTX is missing or stale; run scripts/prebuild.sh",
            kernel.name,
            config.consts
        );
        for p in kernel.prebuilt.iter().filter(|p| p.ir_hash == hash) {
            assert!(p.ptx.contains(&format!(".entry {}", kernel.name)));
            assert!(p.ptx.contains(&format!(".target {}", p.arch)));
            assert_eq!(p.num_warps, config.num_warps);
        }
    }
}

#[test]
fn bundled_1d_kernels_have_fresh_ptx_for_every_arch() {
    check(&vector_add::<256>::KERNEL);
    check(&softmax::<128>::KERNEL);
    check(&layernorm::<64>::KERNEL);
}
