//! Lowering kernels from DSL source to PTX for every architecture, with
//! ptxas assembling each (when ptxas is found; CI requires it).

use super::{LowerOptions, lower_to_ptx};
use crate::frontend::compile_source;
use crate::gpu::SHARED_BYTES_MARKER;
use crate::ir::ConstValue;
use crate::nvptx::Arch;
use crate::nvptx::ptxas::{assemble, find_ptxas};
use crate::passes::pipeline::{keep_only_kernel, run_tile_pipeline};
use crate::passes::specialize;

const SOURCE: &str = r#"
#[tile_kernel]
pub fn vector_add<const BLOCK: usize>(x: Ptr<f32>, y: Ptr<f32>, out: Ptr<f32>, n: i32) {
    let offs = program_id(0) * BLOCK + arange::<BLOCK>();
    let mask = offs < n;
    store(out + offs, load(x + offs, mask, 0.0) + load(y + offs, mask, 0.0), mask);
}

#[tile_kernel]
pub fn softmax<const BLOCK: usize>(x: Ptr<f16>, y: Ptr<f16>, n_cols: i32, stride: i32) {
    let row = program_id(0);
    let cols = arange::<BLOCK>();
    let mask = cols < n_cols;
    let v = load(x + row * stride + cols, mask, f16::NEG_INFINITY).cast::<f32>();
    let e = exp(v - max(v, 0));
    store(y + row * stride + cols, (e / sum(e, 0)).cast::<f16>(), mask);
}

#[tile_kernel]
pub fn row_stats<const BLOCK: usize>(x: Ptr<f32>, out: Ptr<f32>, n_cols: i32, #[constexpr] squares: bool) {
    let row_start = program_id(0) * n_cols;
    let mut acc = zeros::<f32, BLOCK>();
    for c0 in range(0, n_cols, BLOCK) {
        let cols = c0 + arange::<BLOCK>();
        let v = load(x + row_start + cols, cols < n_cols, 0.0);
        if squares {
            acc += v * v;
        } else {
            acc += v;
        }
    }
    let mut k = 0;
    while k < 3 {
        k += 1;
    }
    store(out + program_id(0), rsqrt(sum(acc, 0) + k.cast::<f32>()));
}

#[tile_kernel]
pub fn outer<const B: usize>(x: Ptr<f32>, out: Ptr<f32>) {
    let i = arange::<B>();
    let v = load(x + i);
    store(out + i[(.., None)] * B + i[(None, ..)], v[(.., None)] * v[(None, ..)]);
}

#[tile_kernel]
pub fn matmul<const BM: usize, const BN: usize, const BK: usize>(
    a: Ptr<f16>, b: Ptr<f16>, c: Ptr<f32>, m: i32, n: i32, k: i32,
) {
    let rm = program_id(0) * BM + arange::<BM>();
    let rn = program_id(1) * BN + arange::<BN>();
    let rk = arange::<BK>();
    let mut acc = zeros::<f32, BM, BN>();
    for k0 in range(0, k, BK) {
        let ka = k0 + rk;
        let ta = load(a + rm[(.., None)] * k + ka[(None, ..)], (rm[(.., None)] < m) & (ka[(None, ..)] < k), 0.0);
        let tb = load(b + ka[(.., None)] * n + rn[(None, ..)], (ka[(.., None)] < k) & (rn[(None, ..)] < n), 0.0);
        acc = dot(ta, tb, acc);
    }
    store(c + rm[(.., None)] * n + rn[(None, ..)], acc, (rm[(.., None)] < m) & (rn[(None, ..)] < n));
}

#[tile_kernel]
pub fn attention<const BM: usize, const BN: usize, const D: usize>(
    q: Ptr<f16>, k: Ptr<f16>, v: Ptr<f16>, o: Ptr<f32>, n: i32, stride: i32,
) {
    let rows = program_id(0) * BM + arange::<BM>();
    let d = arange::<D>();
    let qt = load(q + rows[(.., None)] * stride + d[(None, ..)]);
    let mut acc = zeros::<f32, BM, D>();
    let mut m_i = zeros::<f32, BM>() + f32::NEG_INFINITY;
    let mut l_i = zeros::<f32, BM>();
    for start in range(0, n, BN) {
        let cols = start + arange::<BN>();
        let kt = load(k + cols[(None, ..)] * stride + d[(.., None)]);
        let s = dot(qt, kt);
        let m_new = maximum(m_i, max(s, 1));
        let p = exp2(s - m_new[(.., None)]);
        let alpha = exp2(m_i - m_new);
        let vt = load(v + cols[(.., None)] * stride + d[(None, ..)]);
        acc = dot(p.cast::<f16>(), vt, acc * alpha[(.., None)]);
        l_i = l_i * alpha + sum(p, 1);
        m_i = m_new;
    }
    store(o + rows[(.., None)] * stride + d[(None, ..)], acc / l_i[(.., None)]);
}

#[tile_kernel]
pub fn shapes<const B: usize>(x: Ptr<f32>, out: Ptr<f32>) {
    let i = arange::<B>();
    let t = load(x + i[(.., None)] * B + i[(None, ..)]);
    let rows = sum(t, 1);
    let cols = max(t, 0);
    let tt = trans(t);
    let j = join(rows, cols);
    let (lo, hi) = split(j);
    store(out + i[(.., None)] * B + i[(None, ..)], tt + lo[(.., None)] + hi[(None, ..)]);
}

#[tile_kernel]
pub fn histogram<const B: usize>(x: Ptr<i32>, hist: Ptr<i32>, fh: Ptr<f32>, n: i32) {
    let offs = program_id(0) * B + arange::<B>();
    let mask = offs < n;
    let bin = load(x + offs, mask, 0);
    atomic_add(hist + bin, 1, mask);
    atomic_add(fh + bin, 0.5, mask);
}

#[tile_kernel]
pub fn int_atomics<const B: usize>(
    p32: Ptr<i32>, p64: Ptr<i64>, p8: Ptr<i8>, pflag: Ptr<bool>, out: Ptr<i32>, n: i32,
) {
    let i = arange::<B>();
    let m = i < n;
    let a = atomic_max(p32 + i % 4, i, m) + atomic_min(p32 + i % 3, -i, m) + atomic_xchg(p32 + i, i);
    let c = atomic_cas(p32 + i, i, a);
    let w = atomic_add(p64 + i % 5, i.cast::<i64>(), m) + atomic_max(p64, 7) + atomic_min(p64 + 1, i.cast::<i64>());
    let e = atomic_add(p8 + i % 6, 1, m).cast::<i32>() + atomic_max(p8, 3).cast::<i32>();
    let flag = atomic_max(pflag + i % 2, m) | atomic_min(pflag, m) | atomic_xchg(pflag + 1, m);
    let ticket = atomic_add(out, 1);
    store(out + 1 + i, a + c + w.cast::<i32>() + e + flag.cast::<i32>() + ticket);
}

#[tile_kernel]
pub fn float_atomics<const B: usize>(
    pf: Ptr<f32>, ph: Ptr<f16>, pb: Ptr<bf16>, pd: Ptr<f64>, outf: Ptr<f32>, n: i32,
) {
    let i = arange::<B>();
    let m = i < n;
    let f = atomic_max(pf + i % 7, i.cast::<f32>(), m) + atomic_min(pf + 1, 0.25) + atomic_xchg(pf + 2, 1.5);
    let h = atomic_add(ph + i % 2, 1.0, m).cast::<f32>() + atomic_max(ph, i.cast::<f16>()).cast::<f32>();
    let bb = atomic_add(pb + i % 2, 1.0).cast::<f32>() + atomic_min(pb, i.cast::<bf16>()).cast::<f32>();
    let d = atomic_add(pd + i % 3, 0.5).cast::<f32>() + atomic_max(pd, i.cast::<f64>()).cast::<f32>();
    let fc = atomic_cas(pf + i, 0.0, 1.0);
    store(outf + i, f + h + bb + d + fc);
}

#[tile_kernel]
pub fn descriptors<const BM: usize, const BN: usize>(
    x: Ptr<f32>, y: Ptr<f32>, m: i32, n: i32, stride_x: i64, stride_y: i64,
) {
    let dx = make_desc::<BM, BN>(x, [m, n], [stride_x, 1]);
    let dy = make_desc::<BN, BM>(y, [n, m], [stride_y, 1]);
    let t = desc_load(dx, [program_id(0) * BM, program_id(1) * BN]);
    desc_store(dy, [program_id(1) * BN, program_id(0) * BM], t.t() * 2.0);
}

#[tile_kernel]
pub fn desc_flow<const B: usize>(x: Ptr<f32>, out: Ptr<f32>, n: i32) {
    let d = if n > 100 { make_desc::<B>(x, [n], [1]) } else { make_desc::<B>(x, [n / 2], [2]) };
    let mut acc = zeros::<f32, B>();
    for k in range(0, n, B) {
        acc += desc_load(d, [k]);
    }
    desc_store(make_desc::<B>(out, [n], [1]), [0], acc);
}

#[tile_kernel]
pub fn debugging<const B: usize>(x: Ptr<f32>, flags: Ptr<bool>, n: i32) {
    let i = arange::<B>();
    let v = load(x + i, i < n, 0.0);
    let f = load(flags + i, i < n, true);
    device_print("v = ", v);
    device_print("n = ", n, 2.5);
    device_print("mixed ", v, f, n, i[(.., None)] * B + i[(None, ..)]);
    device_assert(v >= 0.0, "v must be >= 0 (100%)");
    device_assert(n > 0, "n must be positive");
}

#[tile_kernel]
pub fn scan1<const B: usize>(x: Ptr<f32>, y: Ptr<i32>, out: Ptr<f32>, iout: Ptr<i32>, n: i32) {
    let i = arange::<B>();
    let m = i < n;
    let v = load(x + i, m, 0.0);
    let w = load(y + i, m, 0);
    store(out + i, cumsum(v, 0) + cummax(v, 0) + cumprod_rev(v, 0) + cummin_rev(v, 0), m);
    store(iout + i, cumsum(w, 0) + cummax_rev(w, 0), m);
}

#[tile_kernel]
pub fn scan_half<const B: usize>(x: Ptr<f16>, out: Ptr<f16>) {
    let i = arange::<B>();
    let v = load(x + i);
    store(out + i, cumsum(v, 0) + cummin(v, 0));
}

#[tile_kernel]
pub fn scan2<const R: usize, const C: usize>(x: Ptr<f32>, out: Ptr<f32>) {
    let r = arange::<R>();
    let c = arange::<C>();
    let offs = r[(.., None)] * C + c[(None, ..)];
    let t = load(x + offs);
    store(out + offs, cumsum(t, 0) + cumsum_rev(t, 1));
}

#[tile_kernel]
pub fn sort1<const B: usize>(x: Ptr<f32>, vals: Ptr<f32>, idx: Ptr<i32>) {
    let i = arange::<B>();
    let (v, p) = sort(load(x + i), 0);
    store(vals + i, v);
    store(idx + i, p);
}

#[tile_kernel]
pub fn sort2<const R: usize, const C: usize>(x: Ptr<i32>, vals: Ptr<i32>, idx: Ptr<i32>) {
    let r = arange::<R>();
    let c = arange::<C>();
    let offs = r[(.., None)] * C + c[(None, ..)];
    let t = load(x + offs);
    let (v0, p0) = sort(t, 0, true);
    let (v1, p1) = sort(t, 1);
    store(vals + offs, v0 + v1);
    store(idx + offs, p0 * C + p1);
}

#[tile_kernel]
pub fn bool_scan<const B: usize>(x: Ptr<f32>, out: Ptr<f32>) {
    let i = arange::<B>();
    let c = cumsum(load(x + i) > 0.0, 0);
    store(out + i, select(c, 1.0, 0.0));
}

#[tile_kernel]
pub fn scale_f16<const B: usize>(x: Ptr<f16>, y: Ptr<f16>, n: i32, start: i32) {
    let offs = start + program_id(0) * B + arange::<B>();
    let m = offs < n;
    let v = load(x + offs, m, f16::NEG_INFINITY);
    store(y + offs, select(v > 0.0, v, -v), m);
}

#[tile_kernel]
pub fn scale_f32<const B: usize>(x: Ptr<f32>, y: Ptr<f32>, n: i32, start: i32) {
    let offs = start + program_id(0) * B + arange::<B>();
    let m = offs < n;
    let other = offs.cast::<f32>();
    store(y + offs, load(x + offs, m, other) * 2.0, m);
}

#[tile_kernel]
pub fn copy2<const R: usize, const C: usize>(x: Ptr<f32>, y: Ptr<f32>, stride: i32) {
    let r = arange::<R>();
    let c = arange::<C>();
    let offs = r[(.., None)] * stride + c[(None, ..)];
    store(y + offs, load(x + offs) + 1.0);
}

#[tile_kernel]
pub fn topk1<const B: usize>(x: Ptr<f32>, vals: Ptr<f32>, idx: Ptr<i32>) {
    let i = arange::<B>();
    let (v, p) = topk(load(x + i), 8, 0);
    let j = arange::<8>();
    store(vals + j, v);
    store(idx + j, p);
}
"#;

fn lower(
    kernel: &str,
    consts: &[(&str, ConstValue)],
    arch: Arch,
    num_warps: u32,
) -> Result<String, String> {
    let module = compile_source(SOURCE, "lower_tests.rs").map_err(|e| e.to_string())?;
    let consts: Vec<(String, ConstValue)> =
        consts.iter().map(|(n, v)| (n.to_string(), *v)).collect();
    let only = crate::ir::Module {
        funcs: module
            .funcs
            .into_iter()
            .filter(|f| f.name == kernel)
            .collect(),
    };
    let mut m = specialize(&only, kernel, &consts).map_err(|e| e.to_string())?;
    run_tile_pipeline(&mut m).map_err(|e| e.to_string())?;
    keep_only_kernel(&mut m, kernel).map_err(|e| e.to_string())?;
    lower_to_ptx(&m, kernel, LowerOptions { arch, num_warps }).map_err(|e| e.to_string())
}

#[test]
fn sixteen_bit_dots_run_on_tensor_cores_with_operands_from_ldmatrix() {
    let ptxas = find_ptxas();
    let consts = [
        ("BM", ConstValue::Int(64)),
        ("BN", ConstValue::Int(32)),
        ("D", ConstValue::Int(64)),
    ];
    for arch in Arch::ALL {
        let ptx = lower("attention", &consts, arch, 4)
            .unwrap_or_else(|e| panic!("attention on {}: {e}", arch.name()));
        let mma = if arch >= Arch::Sm80 {
            "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32"
        } else {
            "mma.sync.aligned.m16n8k8.row.col.f32.f16.f16.f32"
        };
        assert!(ptx.contains(mma), "{}: {mma}", arch.name());
        // Q and K^T (contiguous along k) load plainly, V (contiguous along
        // n) transposed; P never goes through shared memory, and no operand
        // is read from it element by element.
        assert!(
            ptx.contains("ldmatrix.sync.aligned.m8n8.x4.shared.b16"),
            "{ptx}"
        );
        assert!(
            ptx.contains("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16"),
            "{ptx}"
        );
        assert!(
            !ptx.contains("ld.shared.b16") && !ptx.contains("ld.shared.u16"),
            "{ptx}"
        );
        // P = cast(S) rounds and packs pairs at once where the target has it.
        assert_eq!(
            ptx.contains("cvt.rn.f16x2.f32"),
            arch >= Arch::Sm80,
            "{}",
            arch.name()
        );
        if let Some(ptxas) = &ptxas {
            let report = assemble(ptxas, &ptx, arch).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(report[0].1.spill_stores, 0, "{}: {report:?}", arch.name());
        }
    }
}

#[test]
fn one_d_kernels_lower_for_every_arch_and_assemble() {
    let ptxas = find_ptxas();
    assert!(
        ptxas.is_some() || std::env::var("TILEFUSE_REQUIRE_PTXAS").is_err(),
        "TILEFUSE_REQUIRE_PTXAS is set but no ptxas was found"
    );
    let cases: [(&str, Vec<(&str, ConstValue)>); 18] = [
        ("histogram", vec![("B", ConstValue::Int(256))]),
        ("histogram", vec![("B", ConstValue::Int(16))]),
        ("int_atomics", vec![("B", ConstValue::Int(64))]),
        ("int_atomics", vec![("B", ConstValue::Int(256))]),
        ("float_atomics", vec![("B", ConstValue::Int(64))]),
        ("float_atomics", vec![("B", ConstValue::Int(256))]),
        (
            "descriptors",
            vec![("BM", ConstValue::Int(32)), ("BN", ConstValue::Int(16))],
        ),
        ("debugging", vec![("B", ConstValue::Int(16))]),
        ("desc_flow", vec![("B", ConstValue::Int(256))]),
        ("outer", vec![("B", ConstValue::Int(64))]),
        ("shapes", vec![("B", ConstValue::Int(32))]),
        (
            "matmul",
            vec![
                ("BM", ConstValue::Int(64)),
                ("BN", ConstValue::Int(64)),
                ("BK", ConstValue::Int(32)),
            ],
        ),
        (
            "matmul",
            vec![
                ("BM", ConstValue::Int(16)),
                ("BN", ConstValue::Int(16)),
                ("BK", ConstValue::Int(16)),
            ],
        ),
        ("vector_add", vec![("BLOCK", ConstValue::Int(1024))]),
        ("softmax", vec![("BLOCK", ConstValue::Int(1024))]),
        ("softmax", vec![("BLOCK", ConstValue::Int(32))]),
        (
            "row_stats",
            vec![
                ("BLOCK", ConstValue::Int(64)),
                ("squares", ConstValue::Bool(true)),
            ],
        ),
        (
            "row_stats",
            vec![
                ("BLOCK", ConstValue::Int(256)),
                ("squares", ConstValue::Bool(false)),
            ],
        ),
    ];
    for arch in Arch::ALL {
        for (kernel, consts) in &cases {
            let ptx = lower(kernel, consts, arch, 4)
                .unwrap_or_else(|e| panic!("{kernel} {consts:?} on {}: {e}", arch.name()));
            assert!(ptx.contains(&format!(".entry {kernel}")), "{ptx}");
            assert!(ptx.contains(".maxntid 128"), "{ptx}");
            if *kernel == "softmax" {
                assert!(ptx.contains("shfl.sync.bfly"), "reductions shuffle:\n{ptx}");
                assert!(ptx.contains("ex2.approx"), "exp through ex2:\n{ptx}");
            }
            match *kernel {
                "histogram" => {
                    assert!(ptx.contains("atom.global.add.u32"), "{ptx}");
                    assert!(ptx.contains("atom.global.add.f32"), "{ptx}");
                }
                "int_atomics" => {
                    assert!(ptx.contains(".global.max.s32"), "{ptx}");
                    assert!(ptx.contains(".global.cas.b32"), "{ptx}");
                }
                "debugging" => {
                    assert!(
                        ptx.contains("call.uni (retval0), vprintf") || ptx.contains("vprintf,"),
                        "{ptx}"
                    );
                    assert!(ptx.contains("__assertfail"), "{ptx}");
                }
                _ => {}
            }
            if let Some(ptxas) = &ptxas {
                let report =
                    assemble(ptxas, &ptx, arch).unwrap_or_else(|e| panic!("{kernel}: {e}"));
                assert_eq!(
                    report[0].1.spill_stores,
                    0,
                    "{kernel} spills on {}: {report:?}",
                    arch.name()
                );
            }
        }
    }
}

#[test]
fn what_is_not_lowered_yet_is_an_error_naming_the_op() {
    let err = lower("bool_scan", &[("B", ConstValue::Int(16))], Arch::Sm80, 4).unwrap_err();
    assert!(err.contains("lower_tests.rs:"), "{err}");
    assert!(err.contains("tile.scan"), "{err}");
    assert!(err.contains("sum and prod scans of i1"), "{err}");
    let err = lower(
        "vector_add",
        &[("BLOCK", ConstValue::Int(64))],
        Arch::Sm80,
        3,
    )
    .unwrap_err();
    assert!(
        err.contains("num_warps = 3 must be a power of two"),
        "{err}"
    );
}

/// A kernel, its constants and its warps.
type Case = (&'static str, Vec<(&'static str, ConstValue)>, u32);

#[test]
fn scans_sorts_and_topk_lower_for_every_arch_and_assemble() {
    let ptxas = find_ptxas();
    assert!(
        ptxas.is_some() || std::env::var("TILEFUSE_REQUIRE_PTXAS").is_err(),
        "TILEFUSE_REQUIRE_PTXAS is set but no ptxas was found"
    );
    let b = |v: i64| vec![("B", ConstValue::Int(v))];
    let rc = |r: i64, c: i64| vec![("R", ConstValue::Int(r)), ("C", ConstValue::Int(c))];
    let cases: Vec<Case> = vec![
        ("scan1", b(1024), 4),
        ("scan1", b(32), 4),
        ("scan1", b(1), 1),
        ("scan_half", b(256), 4),
        ("scan2", rc(16, 64), 4),
        ("scan2", rc(64, 2), 2),
        ("sort1", b(1024), 4),
        ("sort1", b(16), 4),
        ("sort1", b(1), 1),
        ("sort2", rc(32, 32), 4),
        ("sort2", rc(4, 128), 8),
        ("topk1", b(1024), 4),
        ("topk1", b(8), 1),
    ];
    for arch in Arch::ALL {
        for (kernel, consts, warps) in &cases {
            let ptx = lower(kernel, consts, arch, *warps)
                .unwrap_or_else(|e| panic!("{kernel} {consts:?} on {}: {e}", arch.name()));
            assert!(ptx.contains(&format!(".entry {kernel}")), "{ptx}");
            let trivial = consts.iter().all(|(_, v)| *v == ConstValue::Int(1));
            if !trivial {
                assert!(ptx.contains("bar.sync"), "{kernel} exchanges:\n{ptx}");
            }
            // allocate-shared-memory counts what the lowering uses (the
            // same formulas): the tile for a scan (in f32 for f16, none for
            // an axis of 1), the operand plus an i32 per result element for
            // sort and top-k.
            let b_value = consts.iter().find(|(n, _)| *n == "B").map(|(_, v)| *v);
            let want_shared = match (*kernel, b_value) {
                ("scan1", Some(ConstValue::Int(1024))) => Some(4096),
                ("scan1", Some(ConstValue::Int(1))) => Some(0),
                ("scan_half", Some(ConstValue::Int(256))) => Some(1024),
                ("sort1", Some(ConstValue::Int(1024))) => Some(8192),
                ("sort1", Some(ConstValue::Int(1))) => Some(8),
                ("topk1", Some(ConstValue::Int(1024))) => Some(4096 + 32),
                _ => None,
            };
            match want_shared {
                Some(0) => assert!(
                    !ptx.contains(SHARED_BYTES_MARKER),
                    "{kernel} {consts:?} needs no shared memory:\n{ptx}"
                ),
                Some(bytes) => assert!(
                    ptx.contains(&format!("{SHARED_BYTES_MARKER}{bytes}\n")),
                    "{kernel} {consts:?} should use {bytes} shared bytes:\n{ptx}"
                ),
                None => {}
            }
            if kernel.starts_with("sort") || kernel.starts_with("topk") {
                // The rank loop is a runtime loop, not unrolled per element.
                assert!(
                    ptx.lines().count() < 4000,
                    "{kernel}: {} lines",
                    ptx.lines().count()
                );
            }
            if let Some(ptxas) = &ptxas {
                let report =
                    assemble(ptxas, &ptx, arch).unwrap_or_else(|e| panic!("{kernel}: {e}"));
                assert_eq!(
                    report[0].1.spill_stores,
                    0,
                    "{kernel} {consts:?} spills on {}: {report:?}",
                    arch.name()
                );
                if arch == Arch::Sm90a && *kernel == "sort1" && consts == &b(1024) {
                    println!(
                        "sort1 B=1024 sm_90a: {} PTX lines, {:?}",
                        ptx.lines().count(),
                        report[0].1
                    );
                }
            }
        }
    }
}

/// The barriers in the PTX are the users' own (between their writes and
/// their reads) plus those `insert-barriers` placed: softmax on 4 warps
/// has two reductions across warps (2 + 1 barriers), the matmul's K loop
/// stages its two tensor-core operands (one barrier each after the writes,
/// and one before the first, for the last trip's dot), vector add none.
#[test]
fn barriers_in_the_ptx_are_the_users_and_the_pass() {
    let bar = |kernel: &str, consts: &[(&str, ConstValue)]| {
        let ptx = lower(kernel, consts, Arch::Sm80, 4).unwrap();
        ptx.matches("bar.sync").count()
    };
    let int = |n: &'static str, v: i64| (n, ConstValue::Int(v));
    assert_eq!(bar("softmax", &[int("BLOCK", 1024)]), 3);
    assert_eq!(bar("softmax", &[int("BLOCK", 32)]), 0);
    assert_eq!(
        bar("matmul", &[int("BM", 64), int("BN", 64), int("BK", 32)]),
        3
    );
    assert_eq!(bar("vector_add", &[int("BLOCK", 1024)]), 0);
    // FlashAttention: Q staged once (1), then per trip K and V staged into
    // buffers of their own (one barrier each after the writes); no barrier
    // before a staging, since no earlier read of its buffer is in flight
    // (the other staging's barrier ordered the last trip's dot).
    assert_eq!(
        bar("attention", &[int("BM", 64), int("BN", 32), int("D", 64)]),
        3
    );
    // Six scans along 1024 elements: 10 steps of 2 barriers each, less the
    // leading one of the first step, plus the one `insert-barriers` puts
    // before each scan after the first.
    assert_eq!(bar("scan1", &[int("B", 1024)]), 6 * 19 + 5);
}

#[test]
fn contiguous_accesses_lower_to_vector_loads_and_stores() {
    let ptxas = find_ptxas();
    assert!(
        ptxas.is_some() || std::env::var("TILEFUSE_REQUIRE_PTXAS").is_err(),
        "TILEFUSE_REQUIRE_PTXAS is set but no ptxas was found"
    );
    let b = |v: i64| vec![("B", ConstValue::Int(v))];
    // (kernel, constants, warps), whether 16-byte accesses are expected
    let cases: Vec<(Case, bool)> = vec![
        (("scale_f16", b(1024), 4), true),
        (("scale_f16", b(2048), 8), true),
        (("scale_f32", b(1024), 4), true),
        (("scale_f32", b(512), 4), true),
        // 128 elements over 128 threads: one each, nothing to widen.
        (("scale_f32", b(128), 4), false),
        (
            (
                "copy2",
                vec![("R", ConstValue::Int(16)), ("C", ConstValue::Int(64))],
                4,
            ),
            true,
        ),
        (
            ("vector_add", vec![("BLOCK", ConstValue::Int(1024))], 4),
            true,
        ),
        (("softmax", vec![("BLOCK", ConstValue::Int(1024))], 4), true),
    ];
    for arch in Arch::ALL {
        for ((kernel, consts, warps), wide) in &cases {
            let ptx = lower(kernel, consts, arch, *warps)
                .unwrap_or_else(|e| panic!("{kernel} {consts:?} on {}: {e}", arch.name()));
            for access in ["ld.global.v4", "st.global.v4"] {
                assert_eq!(
                    ptx.contains(access),
                    *wide,
                    "{kernel} {consts:?} on {}: {access}\n{ptx}",
                    arch.name()
                );
            }
            if *wide && *kernel != "copy2" {
                // Masked: the scalar fallback for ragged or misaligned runs.
                assert!(
                    ptx.contains("ld.global.b32") || ptx.contains("ld.global.b16"),
                    "{kernel}: {ptx}"
                );
            }
            if let Some(ptxas) = &ptxas {
                let report =
                    assemble(ptxas, &ptx, arch).unwrap_or_else(|e| panic!("{kernel}: {e}"));
                assert_eq!(
                    report[0].1.spill_stores,
                    0,
                    "{kernel} {consts:?} spills on {}: {report:?}",
                    arch.name()
                );
            }
        }
    }
}
