//! The backend's pieces on a hand-built kernel: PTX for every architecture
//! at its minimum ISA, kernel marking and launch bounds, the checks, and
//! ptxas accepting the result.

use inkwell::context::Context;

use super::intrinsics::{self, SpecialReg};
use super::ptxas::{assemble, find_ptxas, parse_report};
use super::*;

fn add_one_module(ctx: &Context) -> inkwell::module::Module<'_> {
    super::smoke::add_one_module(ctx).expect("the smoke kernel builds")
}

#[test]
fn emits_ptx_for_every_arch_at_its_minimum_isa() {
    let expected_version = [
        ("sm_75", "6.5"),
        ("sm_80", "7.0"),
        ("sm_86", "7.1"),
        ("sm_89", "7.8"),
        ("sm_90a", "8.0"),
    ];
    for arch in Arch::ALL {
        let ctx = Context::create();
        let module = add_one_module(&ctx);
        let ptx = emit_ptx(&module, arch).unwrap();
        assert!(ptx.contains(&format!(".target {}", arch.name())), "{ptx}");
        assert!(ptx.contains(".entry add_one"), "{ptx}");
        assert!(ptx.contains(".maxntid 256"), "{ptx}");
        assert!(ptx.contains("bar.sync"), "{ptx}");
        let want = expected_version
            .iter()
            .find(|(a, _)| *a == arch.name())
            .unwrap()
            .1;
        assert_eq!(emit::ptx_version(&ptx), Some(want), "{}", arch.name());
        emit::check_ptx(&ptx).unwrap();
    }
}

#[test]
fn ptxas_assembles_the_ptx() {
    let Some(ptxas) = find_ptxas() else {
        assert!(
            std::env::var("TILEFUSE_REQUIRE_PTXAS").is_err(),
            "TILEFUSE_REQUIRE_PTXAS is set but no ptxas was found (pip install nvidia-cuda-nvcc)"
        );
        eprintln!(
            "no ptxas found: set TILEFUSE_PTXAS or pip install nvidia-cuda-nvcc to run this check"
        );
        return;
    };
    for arch in Arch::ALL {
        let ctx = Context::create();
        let ptx = emit_ptx(&add_one_module(&ctx), arch).unwrap();
        let report = assemble(&ptxas, &ptx, arch).unwrap();
        assert_eq!(report.len(), 1, "{report:?}");
        assert_eq!(report[0].0, "add_one");
        assert!(
            report[0].1.registers > 0 && report[0].1.spill_stores == 0,
            "{report:?}"
        );
    }
    let err = assemble(
        &ptxas,
        ".version 7.0\n.target sm_80\n.address_size 64\n.visible .entry broken( {\n",
        Arch::Sm80,
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("ptxas rejected the PTX for sm_80"),
        "{err}"
    );
}

#[test]
fn catches_extern_llvm_functions_and_unknown_intrinsics() {
    let bad = ".version 7.0\n.extern .func (.param .b32 r) llvm.nvvm.bogus\n";
    assert!(
        emit::check_ptx(bad)
            .unwrap_err()
            .to_string()
            .contains("llvm.nvvm.bogus")
    );
    let ctx = Context::create();
    let module = ctx.create_module("m");
    let err = intrinsics::declare(&module, "llvm.nvvm.not.an.intrinsic").unwrap_err();
    assert!(
        err.to_string().contains("does not know the intrinsic"),
        "{err}"
    );
    assert!(SpecialReg::ThreadId(3).intrinsic_name().is_err());
}

#[test]
fn chooses_the_ptx_for_a_device() {
    assert_eq!(Arch::for_device(9, 0), Some(Arch::Sm90a));
    assert_eq!(Arch::for_device(8, 0), Some(Arch::Sm80));
    assert_eq!(Arch::for_device(8, 7), Some(Arch::Sm86));
    assert_eq!(Arch::for_device(8, 9), Some(Arch::Sm89));
    assert_eq!(Arch::for_device(12, 0), Some(Arch::Sm89));
    assert_eq!(Arch::for_device(7, 0), None);
    assert_eq!(Arch::from_name("sm_90a"), Some(Arch::Sm90a));
}

#[test]
fn parses_the_ptxas_report() {
    let report = "ptxas info    : 0 bytes gmem\nptxas info    : Compiling entry function 'flash' for 'sm_80'\nptxas info    : Function properties for flash\n    8 bytes stack frame, 8 bytes spill stores, 4 bytes spill loads\nptxas info    : Used 255 registers, used 1 barriers, 16384 bytes smem, 380 bytes cmem[0]\n";
    let parsed = parse_report(report);
    assert_eq!(parsed.len(), 1);
    let (name, r) = &parsed[0];
    assert_eq!(name, "flash");
    assert_eq!(
        (r.registers, r.spill_stores, r.spill_loads, r.shared_bytes),
        (255, 8, 4, 16384)
    );
}
