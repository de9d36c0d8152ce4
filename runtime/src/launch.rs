//! Kernel launch: the contract between `#[tile_kernel]`'s typed launcher and the devices.
//!
//! The macro emits, per kernel, a [`KernelSource`] (its unspecialized IR and
//! declared configurations) and a typed `launch` that converts its arguments
//! into [`Arg`]s and calls [`launch`]. Here the kernel is compiled for the
//! given compile-time values (parse → specialize → tile pipeline), cached on
//! the device, checked against the arguments, and run: on the interpreter,
//! or on a GPU from prebuilt PTX, else from [`crate::jit`] (its caches, and
//! the compiler with the `jit` feature). [`launch`] waits for the kernel;
//! [`launch_on`] enqueues it on a [`Stream`].

use std::marker::PhantomData;
use std::sync::Arc;

use tilefuse_codegen::arch::Arch;
use tilefuse_codegen::interp::{self, ArgValue, Buffer, Memory};
use tilefuse_codegen::ir::{
    ConstValue, Module, ScalarType, describe_consts, fingerprint, parse_module,
};
use tilefuse_codegen::passes::pipeline::{keep_only_kernel, run_tile_pipeline};
use tilefuse_codegen::passes::specialize;

use crate::device::{Device, DeviceKind};
use crate::element::Element;
use crate::error::Error;
use crate::grid::Grid;
use crate::jit;
use crate::stream::Stream;
use crate::tensor::{HostStorage, Storage, Tensor};

/// A declared configuration of a kernel (`#[tile_kernel(configs = [...])]`).
#[derive(Clone, Copy, Debug)]
pub struct Config {
    /// Values of the compile-time parameters.
    pub consts: &'static [(&'static str, ConstValue)],
    /// Warps per program on a GPU.
    pub num_warps: u32,
    /// Software-pipelining stages on a GPU.
    pub num_stages: u32,
    /// Meant for the CPU interpreter (`cpu_only = true`): no prebuilt PTX.
    pub cpu_only: bool,
}

/// A kernel compiled ahead of time for one architecture (`tilefuse prebuild`).
#[derive(Clone, Copy, Debug)]
pub struct PrebuiltPtx {
    /// The kernel's name.
    pub kernel: &'static str,
    /// The compile-time values it was specialized for, for messages (`BLOCK = 1024`).
    pub consts: &'static str,
    /// The architecture (`sm_90a`).
    pub arch: &'static str,
    /// [`tilefuse_codegen::ir::fingerprint`] of the optimized kernel it was lowered from.
    pub ir_hash: u64,
    /// The fingerprint of the unspecialized kernel ([`KernelSource::ir`]): which
    /// kernel of that name it belongs to (kernels stamped per element type share
    /// a name), for the error that lists a kernel's prebuilt variants.
    pub source_hash: u64,
    /// Warps per CTA it was lowered for.
    pub num_warps: u32,
    /// The PTX text.
    pub ptx: &'static str,
}

/// What the macro records about a kernel.
#[derive(Clone, Copy, Debug)]
pub struct KernelSource {
    /// The kernel's function name in the IR.
    pub name: &'static str,
    /// The unspecialized IR module (the kernel and the device functions it calls).
    pub ir: &'static str,
    /// The declared configurations.
    pub configs: &'static [Config],
    /// The `#[constexpr] bool` parameters whose both values have prebuilt PTX
    /// (`#[tile_kernel(prebuild = [..])]`; every bool without the key); the
    /// other bools are prebuilt `false` only.
    pub prebuilt_flags: &'static [&'static str],
    /// PTX compiled ahead of time: the bundled kernels' table, searched by
    /// kernel name and IR fingerprint (so a user kernel of the same name never
    /// picks up a bundled kernel's PTX).
    pub prebuilt: &'static [PrebuiltPtx],
}

/// A tensor passed to a kernel: the pointer to its first element.
pub struct TensorArg<'a> {
    pub(crate) storage: Storage,
    pub(crate) dtype: ScalarType,
    pub(crate) device: Device,
    borrow: PhantomData<&'a ()>,
}

/// One launch argument.
pub enum Arg<'a> {
    /// A tensor, passed as a pointer to its first element.
    Tensor(TensorArg<'a>),
    /// An integer scalar of the given type.
    Int(i64, ScalarType),
    /// A float scalar of the given type.
    Float(f64, ScalarType),
    /// A boolean.
    Bool(bool),
}

/// Tensors that can be passed where a kernel takes `Ptr<T>`.
pub trait PtrArg<'a, T: Element> {
    /// The launch argument.
    fn into_arg(self) -> Arg<'a>;
}

fn tensor_arg<'a, T: Element>(t: &Tensor<T>) -> Arg<'a> {
    Arg::Tensor(TensorArg {
        storage: t.storage.clone(),
        dtype: T::DTYPE,
        device: t.device.clone(),
        borrow: PhantomData,
    })
}

impl<'a, T: Element> PtrArg<'a, T> for &'a Tensor<T> {
    fn into_arg(self) -> Arg<'a> {
        tensor_arg(self)
    }
}

impl<'a, T: Element> PtrArg<'a, T> for &'a mut Tensor<T> {
    fn into_arg(self) -> Arg<'a> {
        tensor_arg(self)
    }
}

macro_rules! int_arg {
    ($($t:ty => $s:ident),*) => {$(
        impl From<$t> for Arg<'_> {
            fn from(v: $t) -> Self {
                Arg::Int(v as i64, ScalarType::$s)
            }
        }
    )*};
}
int_arg!(i8 => I8, i16 => I16, i32 => I32, i64 => I64);

impl From<f32> for Arg<'_> {
    fn from(v: f32) -> Self {
        Arg::Float(v as f64, ScalarType::F32)
    }
}

impl From<f64> for Arg<'_> {
    fn from(v: f64) -> Self {
        Arg::Float(v, ScalarType::F64)
    }
}

impl From<half::f16> for Arg<'_> {
    fn from(v: half::f16) -> Self {
        Arg::Float(v.to_f64(), ScalarType::F16)
    }
}

impl From<half::bf16> for Arg<'_> {
    fn from(v: half::bf16) -> Self {
        Arg::Float(v.to_f64(), ScalarType::BF16)
    }
}

impl From<bool> for Arg<'_> {
    fn from(v: bool) -> Self {
        Arg::Bool(v)
    }
}

/// Compiles `kernel` for `consts`: parse, specialize, run the tile pipeline.
/// The CLI and tests use this to see exactly what a launch runs.
pub fn compile_kernel(
    kernel: &KernelSource,
    consts: &[(&str, ConstValue)],
) -> Result<Module, Error> {
    let fail = |message: String| Error::Compile {
        kernel: kernel.name.to_string(),
        consts: describe_consts(consts),
        message,
    };
    let module = parse_module(kernel.ir)
        .map_err(|e| fail(format!("the kernel's IR does not parse: {e}")))?;
    let owned: Vec<(String, ConstValue)> =
        consts.iter().map(|(n, v)| (n.to_string(), *v)).collect();
    let mut module = specialize(&module, kernel.name, &owned).map_err(|e| fail(e.to_string()))?;
    run_tile_pipeline(&mut module).map_err(|e| fail(e.to_string()))?;
    keep_only_kernel(&mut module, kernel.name).map_err(|e| fail(e.to_string()))?;
    Ok(module)
}

/// The optimized kernel for `consts` and its fingerprint, compiled once per device.
fn cached_module(
    dev: &Device,
    kernel: &KernelSource,
    consts: &[(&str, ConstValue)],
) -> Result<(Arc<Module>, u64), Error> {
    let key = (
        kernel.name.to_string(),
        kernel.ir.to_string(),
        describe_consts(consts),
    );
    let mut cache = dev.inner.cache.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((m, hash)) = cache.get(&key) {
        return Ok((Arc::clone(m), *hash));
    }
    let module = Arc::new(compile_kernel(kernel, consts)?);
    let hash = fingerprint(&module);
    cache.insert(key, (Arc::clone(&module), hash));
    Ok((module, hash))
}

/// Launches `kernel` with compile-time values `consts` over `grid` on the
/// device's default stream, and waits for it.
pub fn launch(
    dev: &Device,
    kernel: &KernelSource,
    consts: &[(&str, ConstValue)],
    grid: Grid,
    args: Vec<Arg<'_>>,
) -> Result<(), Error> {
    launch_impl(dev, None, kernel, consts, grid, args)
}

/// Like [`launch`] on the stream's device, but only enqueues the kernel on
/// `stream` and returns (on the CPU device it runs at once): a fault shows
/// at [`Stream::synchronize`] or when a tensor is read.
pub fn launch_on(
    stream: &Stream,
    kernel: &KernelSource,
    consts: &[(&str, ConstValue)],
    grid: Grid,
    args: Vec<Arg<'_>>,
) -> Result<(), Error> {
    launch_impl(stream.device(), Some(stream), kernel, consts, grid, args)
}

fn launch_impl(
    dev: &Device,
    stream: Option<&Stream>,
    kernel: &KernelSource,
    consts: &[(&str, ConstValue)],
    grid: Grid,
    args: Vec<Arg<'_>>,
) -> Result<(), Error> {
    let launch_err = |message: String| Error::Launch {
        kernel: kernel.name.to_string(),
        message,
    };
    let checked_grid = grid.checked().map_err(launch_err)?;
    let (module, hash) = cached_module(dev, kernel, consts)?;
    let func = module
        .func(kernel.name)
        .ok_or_else(|| launch_err("the compiled module lost the kernel".to_string()))?;
    let params = func.param_types();
    if params.len() != args.len() {
        return Err(launch_err(format!(
            "it takes {} runtime arguments but {} were given",
            params.len(),
            args.len()
        )));
    }
    match dev.kind() {
        DeviceKind::Cpu => run_on_cpu(dev, kernel.name, &module, checked_grid, args),
        DeviceKind::Cuda => {
            let gpu = GpuLaunch {
                dev,
                stream,
                kernel,
                consts,
                module: &module,
                hash,
            };
            run_on_gpu(gpu, grid, args)
        }
    }
}

fn run_on_cpu(
    dev: &Device,
    name: &str,
    module: &Module,
    grid: [u32; 3],
    args: Vec<Arg<'_>>,
) -> Result<(), Error> {
    let launch_err = |message: String| Error::Launch {
        kernel: name.to_string(),
        message,
    };
    // Distinct storages become interpreter buffers; the same tensor passed
    // twice is one buffer, as on a GPU.
    let mut storages: Vec<HostStorage> = Vec::new();
    let mut memory = Memory {
        buffers: Vec::new(),
    };
    let mut values = Vec::with_capacity(args.len());
    for (i, arg) in args.into_iter().enumerate() {
        let value = match arg {
            Arg::Tensor(TensorArg {
                storage,
                dtype,
                device,
                ..
            }) => {
                if !device.same(dev) {
                    return Err(launch_err(format!(
                        "argument {i} is a tensor on another device"
                    )));
                }
                let Storage::Host(storage) = storage else {
                    return Err(launch_err(format!("argument {i} is not in host memory")));
                };
                let buffer = match storages.iter().position(|s| Arc::ptr_eq(s, &storage)) {
                    Some(b) => b,
                    None => {
                        let data =
                            std::mem::take(&mut *storage.lock().unwrap_or_else(|e| e.into_inner()));
                        memory.buffers.push(Buffer { elem: dtype, data });
                        storages.push(storage);
                        storages.len() - 1
                    }
                };
                ArgValue::Ptr {
                    buffer,
                    byte_offset: 0,
                    elem: dtype,
                }
            }
            Arg::Int(v, _) => ArgValue::Int(v),
            Arg::Float(v, _) => ArgValue::Float(v),
            Arg::Bool(v) => ArgValue::Bool(v),
        };
        values.push(value);
    }
    let result = interp::run(module, name, grid, &values, &mut memory);
    // Give the data back to the tensors whatever happened.
    for (storage, buffer) in storages.iter().zip(memory.buffers) {
        *storage.lock().unwrap_or_else(|e| e.into_inner()) = buffer.data;
    }
    result.map(|_| ()).map_err(|e| Error::Execution {
        kernel: name.to_string(),
        message: e.to_string(),
    })
}

/// What a GPU launch needs to know besides its grid and arguments.
struct GpuLaunch<'a> {
    dev: &'a Device,
    stream: Option<&'a Stream>,
    kernel: &'a KernelSource,
    consts: &'a [(&'a str, ConstValue)],
    module: &'a Module,
    hash: u64,
}

/// Launches the PTX of `kernel` for this device's architecture: the
/// prebuilt entry whose IR fingerprint matches the compiled kernel, else
/// the one [`jit::ptx_for_launch`] finds or compiles.
fn run_on_gpu(l: GpuLaunch<'_>, grid: Grid, args: Vec<Arg<'_>>) -> Result<(), Error> {
    let GpuLaunch {
        dev,
        stream,
        kernel,
        consts,
        module,
        hash,
    } = l;
    let launch_err = |message: String| Error::Launch {
        kernel: kernel.name.to_string(),
        message,
    };
    let (major, minor) = dev.compute_capability().unwrap_or((0, 0));
    let arch = Arch::for_device(major, minor).ok_or_else(|| {
        launch_err(format!(
            "{} (compute capability {major}.{minor}) is older than sm_75, the oldest architecture tilefuse targets",
            dev.name()
        ))
    })?;
    // The best prebuilt PTX at or below the device's architecture (PTX for
    // an older target runs on newer GPUs; sm_90a only on 9.0 itself).
    let prebuilt = Arch::candidates_for_device(major, minor)
        .into_iter()
        .find_map(|a| {
            kernel
                .prebuilt
                .iter()
                .find(|p| p.kernel == kernel.name && p.arch == a.name() && p.ir_hash == hash)
        });
    let jitted;
    let (ptx, num_warps) = match prebuilt {
        Some(entry) => (entry.ptx, entry.num_warps),
        None => match jit::ptx_for_launch(kernel, consts, module, hash, arch)? {
            Some(p) => {
                jitted = p;
                (jitted.ptx.as_str(), jitted.num_warps)
            }
            None => {
                return Err(launch_err(missing_variant(kernel, consts, arch.name())));
            }
        },
    };
    let ptx_kernel = dev.load_ptx(ptx, kernel.name)?;
    let block = [32 * num_warps, 1, 1];
    match stream {
        None => ptx_kernel.launch(grid, block, 0, args),
        Some(s) => ptx_kernel.launch_on(s, grid, block, 0, args),
    }
}

/// The error of a GPU launch without prebuilt PTX: what exists, which flags
/// are prebuilt, and what would work.
fn missing_variant(kernel: &KernelSource, consts: &[(&str, ConstValue)], arch: &str) -> String {
    let source = parse_module(kernel.ir).map(|m| fingerprint(&m)).ok();
    let mut have: Vec<&str> = Vec::new();
    for p in kernel.prebuilt {
        if p.kernel == kernel.name && Some(p.source_hash) == source && !have.contains(&p.consts) {
            have.push(p.consts);
        }
    }
    let mut msg = format!("no prebuilt PTX for {} on {arch}", describe_consts(consts));
    let config = kernel.configs.iter().find(|c| {
        c.consts
            .iter()
            .all(|(n, v)| consts.iter().any(|(m, w)| m == n && w == v))
    });
    if config.is_some_and(|c| c.cpu_only) {
        msg.push_str(" (that configuration is `cpu_only`: it is meant for the interpreter)");
    }
    if have.is_empty() {
        msg.push_str("; this kernel has no prebuilt PTX (only the bundled kernels do)");
    } else {
        let others: Vec<&str> = consts
            .iter()
            .filter(|(n, v)| matches!(v, ConstValue::Bool(_)) && !kernel.prebuilt_flags.contains(n))
            .map(|(n, _)| *n)
            .collect();
        let flags = match (kernel.prebuilt_flags, others.as_slice()) {
            ([], []) => String::new(),
            (both, []) => format!("; its flags {} are prebuilt both ways", both.join(", ")),
            ([], rest) => format!("; its flags {} are prebuilt false only", rest.join(", ")),
            (both, rest) => format!(
                "; its flags {} are prebuilt both ways, {} false only",
                both.join(", "),
                rest.join(", ")
            ),
        };
        msg.push_str(&format!(
            "; the prebuilt variants are: {}{flags}",
            have.join("; ")
        ));
    }
    msg.push_str("; ");
    msg.push_str(&jit::missing_hint());
    msg
}

#[cfg(test)]
mod missing_variant_tests {
    use super::*;

    const IR: &str = "tile.kernel @k<BLOCK: i32, causal: i1, alibi: i1>(%x: ptr<f32, global>) loc(\"k.rs\":1:1) {\n  tile.return loc(\"k.rs\":1:1)\n}\n";

    fn kernel(prebuilt: &'static [PrebuiltPtx]) -> KernelSource {
        KernelSource {
            name: "k",
            ir: IR,
            configs: &[
                Config {
                    consts: &[("BLOCK", ConstValue::Int(16))],
                    num_warps: 4,
                    num_stages: 2,
                    cpu_only: true,
                },
                Config {
                    consts: &[("BLOCK", ConstValue::Int(128))],
                    num_warps: 4,
                    num_stages: 2,
                    cpu_only: false,
                },
            ],
            prebuilt_flags: &["causal"],
            prebuilt,
        }
    }

    fn entry(consts: &'static str, arch: &'static str, source_hash: u64) -> PrebuiltPtx {
        PrebuiltPtx {
            kernel: "k",
            consts,
            arch,
            ir_hash: 1,
            source_hash,
            num_warps: 4,
            ptx: "",
        }
    }

    #[test]
    fn lists_the_variants_of_this_kernel_and_the_flag_policy() {
        let source = fingerprint(&parse_module(IR).unwrap());
        let table: &'static [PrebuiltPtx] = Box::leak(Box::new([
            entry(
                "BLOCK = 128, causal = false, alibi = false",
                "sm_80",
                source,
            ),
            entry(
                "BLOCK = 128, causal = false, alibi = false",
                "sm_90a",
                source,
            ),
            entry("BLOCK = 128, causal = true, alibi = false", "sm_80", source),
            // Another kernel named `k` (another element type): not listed.
            entry(
                "BLOCK = 64, causal = false, alibi = false",
                "sm_80",
                source ^ 1,
            ),
        ]));
        let k = kernel(table);
        let consts = [
            ("BLOCK", ConstValue::Int(128)),
            ("causal", ConstValue::Bool(false)),
            ("alibi", ConstValue::Bool(true)),
        ];
        let msg = missing_variant(&k, &consts, "sm_80");
        assert!(
            msg.starts_with(
                "no prebuilt PTX for BLOCK = 128, causal = false, alibi = true on sm_80"
            ),
            "{msg}"
        );
        assert!(
            msg.contains(
                "the prebuilt variants are: BLOCK = 128, causal = false, alibi = false; \
                 BLOCK = 128, causal = true, alibi = false;"
            ),
            "{msg}"
        );
        assert!(!msg.contains("BLOCK = 64"), "{msg}");
        assert!(
            msg.contains("its flags causal are prebuilt both ways, alibi false only"),
            "{msg}"
        );
        assert!(msg.contains("`jit` cargo feature"), "{msg}");
        assert!(!msg.contains("cpu_only"), "{msg}");

        let cpu = [
            ("BLOCK", ConstValue::Int(16)),
            ("causal", ConstValue::Bool(false)),
            ("alibi", ConstValue::Bool(false)),
        ];
        assert!(missing_variant(&k, &cpu, "sm_80").contains("`cpu_only`"));
        assert!(missing_variant(&kernel(&[]), &cpu, "sm_80").contains("has no prebuilt PTX"));
    }
}
