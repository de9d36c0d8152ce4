//! The registry of bundled kernels: every `#[tile_kernel]` shipped in
//! [`crate::kernels`], by path, with the [`KernelSource`] its expansion
//! embeds (the unspecialized IR, the declared configurations, the prebuilt
//! flags).
//!
//! `tilefuse prebuild` builds PTX for exactly these kernels. It cannot see
//! them itself: the seed kernels are stamped out per element type by
//! `macro_rules!`, so they exist only after macro expansion, and the
//! compiler crate cannot depend on this one. Hence the flow through files:
//! `cargo run -p tilefuse --example dump_kernels -- DIR` writes the registry
//! as a kernel dump ([`crate::codegen::kernel_dump`]) and `tilefuse prebuild
//! --ir DIR` compiles it (`scripts/prebuild.sh` runs both).
//!
//! The list is written by hand. `tests/prebuilt.rs` checks it is complete
//! against the sources of `src/kernels/` (every `#[tile_kernel]`, each one in
//! a `macro_rules!` counted once per invocation of the macro) and that every
//! variant it implies has PTX or is listed as not built in `ptx/manifest.md`.
//! A new kernel goes here, in its file's group.

use std::path::Path;

use crate::codegen::kernel_dump::{DumpConfig, DumpError, KernelDump, write_dump};
use crate::runtime::KernelSource;

/// A bundled kernel.
#[derive(Clone, Copy, Debug)]
pub struct Bundled {
    /// Its path under `tilefuse::kernels` (`graph::f16_features::gao`); kernels
    /// stamped per element type may share a function name, never a path.
    pub path: &'static str,
    /// What its `#[tile_kernel]` embedded.
    pub source: KernelSource,
}

impl Bundled {
    /// The kernel as a dump entry, for `tilefuse prebuild --ir`.
    pub fn to_dump(&self) -> KernelDump {
        KernelDump {
            path: self.path.to_string(),
            name: self.source.name.to_string(),
            ir: self.source.ir.to_string(),
            flags: self
                .source
                .prebuilt_flags
                .iter()
                .map(|f| f.to_string())
                .collect(),
            configs: self
                .source
                .configs
                .iter()
                .map(|c| DumpConfig {
                    consts: c.consts.iter().map(|(n, v)| (n.to_string(), *v)).collect(),
                    num_warps: c.num_warps,
                    num_stages: c.num_stages,
                    cpu_only: c.cpu_only,
                })
                .collect(),
        }
    }
}

/// `path::to::kernel<generics>`: the kernel's `KERNEL` (the same for every
/// value of its const generics: the IR is unspecialized).
macro_rules! bundled {
    ($($first:ident $(:: $rest:ident)* $(<$($g:literal),*>)?),* $(,)?) => {
        vec![$(Bundled {
            path: concat!(stringify!($first) $(, "::", stringify!($rest))*),
            source: super::$first $(:: $rest)* $(::<$($g),*>)? ::KERNEL,
        }),*]
    };
}

/// Every bundled kernel, grouped by file, in a fixed order (the manifest's).
pub fn bundled() -> Vec<Bundled> {
    bundled![
        basic::vector_add<1>,
        basic::softmax<1>,
        basic::layernorm<1>,
        basic::matmul<1, 1, 1>,
        decode::split_f32<1, 1, 1>,
        decode::merge_f32<1, 1>,
        decode::stack_f32<1>,
        decode::split_f16<1, 1, 1>,
        decode::merge_f16<1, 1>,
        decode::stack_f16<1>,
        decode::split_bf16<1, 1, 1>,
        decode::merge_bf16<1, 1>,
        decode::stack_bf16<1>,
        flash::flash_fwd_f16<1, 1, 1>,
        flash::flash_fwd_bf16<1, 1, 1>,
        flash::flash_fwd_f32<1, 1, 1>,
        graph::f32_features::linear_nt<1, 1, 1>,
        graph::f32_features::gat_aggregate<1, 1>,
        graph::f32_features::gao<1, 1>,
        graph::f32_features::hgao_scores<1, 1>,
        graph::f32_features::hgao_dot<1, 1>,
        graph::f32_features::hgao_gat<1, 1>,
        graph::f32_features::cgao_gram<1, 1>,
        graph::f32_features::cgao_apply<1, 1>,
        graph::f16_features::linear_nt<1, 1, 1>,
        graph::f16_features::gat_aggregate<1, 1>,
        graph::f16_features::gao<1, 1>,
        graph::f16_features::hgao_scores<1, 1>,
        graph::f16_features::hgao_dot<1, 1>,
        graph::f16_features::hgao_gat<1, 1>,
        graph::f16_features::cgao_gram<1, 1>,
        graph::f16_features::cgao_apply<1, 1>,
        graph::bf16_features::linear_nt<1, 1, 1>,
        graph::bf16_features::gat_aggregate<1, 1>,
        graph::bf16_features::gao<1, 1>,
        graph::bf16_features::hgao_scores<1, 1>,
        graph::bf16_features::hgao_dot<1, 1>,
        graph::bf16_features::hgao_gat<1, 1>,
        graph::bf16_features::cgao_gram<1, 1>,
        graph::bf16_features::cgao_apply<1, 1>,
        graph::hgao_select<1, 1>,
        graph::cgao_softmax<1>,
        tssa::tssa_combine,
        tssa::tssa_scan,
        tssa::tssa_widen_f16,
        tssa::tssa_widen_bf16,
        tssa::tssa_colsq,
        tssa::tssa_scores,
        tssa::tssa_pi,
        tssa::tssa_out,
        tssa::tssa_bwd_gdots,
        tssa::tssa_bwd_gpi,
        tssa::tssa_bwd_gs,
        tssa::tssa_bwd_dw,
        tssa::tssa_causal_u,
        tssa::tssa_causal_out,
        tssa::tssa_causal_bwd_grq,
        tssa::tssa_causal_bwd_gpi,
        tssa::tssa_causal_bwd_dw,
        tssa::tssa_causal_bwd_bias,
        tssa::tssa_decode_step,
    ]
}

/// Writes every bundled kernel to the folder `dir` as a kernel dump for
/// `tilefuse prebuild --ir DIR`; returns how many.
pub fn dump(dir: &Path) -> Result<usize, DumpError> {
    let kernels: Vec<KernelDump> = bundled().iter().map(Bundled::to_dump).collect();
    write_dump(&kernels, dir)?;
    Ok(kernels.len())
}
