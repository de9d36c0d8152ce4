//! Frontend tests on source strings.

use super::*;
use crate::ir::{ScalarType, print_module};

/// Compiles, verifies, checks the print/parse round trip; returns the text.
fn ir(src: &str) -> String {
    let m = match compile_source(src, "t.rs") {
        Ok(m) => m,
        Err(e) => panic!("compile error: {e}"),
    };
    let text = print_module(&m);
    if let Err(e) = crate::ir::verify_module(&m) {
        panic!("the frontend's IR does not verify: {e}\n{text}");
    }
    let parsed = crate::ir::parse_module(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(print_module(&parsed), text);
    text
}

fn error(src: &str) -> FrontendError {
    match compile_source(src, "t.rs") {
        Ok(m) => panic!("expected an error, got:\n{}", print_module(&m)),
        Err(e) => e,
    }
}

/// Compiles with some const parameters bound (one configuration).
fn bound(src: &str, binds: &[(&str, ConstValue)]) -> Result<String, syn::Error> {
    let file = syn::parse_file(src).unwrap();
    let mut items = Vec::new();
    collect_items(&file.items, &mut items);
    let fns: Vec<syn::ItemFn> = items
        .iter()
        .filter(|(_, k)| *k == FuncKind::Device)
        .map(|(f, _)| f.clone())
        .collect();
    let kernel = items
        .iter()
        .find(|(_, k)| *k == FuncKind::Kernel)
        .map(|(f, _)| f.clone())
        .unwrap();
    let mut opts = CompileOptions::new("t.rs");
    opts.bindings = binds.iter().map(|(n, v)| (n.to_string(), *v)).collect();
    compile_kernel(&kernel, &fns, &ResolveByName::new(&fns), &opts).map(|m| print_module(&m))
}

/// Asserts that every needle occurs in `hay`, in order.
#[track_caller]
fn contains_in_order(hay: &str, needles: &[&str]) {
    let mut at = 0;
    for n in needles {
        match hay[at..].find(n) {
            Some(i) => at += i + n.len(),
            None => panic!("`{n}` not found (in order) in:\n{hay}"),
        }
    }
}

const SOFTMAX: &str = r#"
#[tile_kernel(configs = [(BLOCK = 1024), (BLOCK = 2048)])]
pub fn softmax<const BLOCK: usize>(x: Ptr<f16>, y: Ptr<f16>, n_cols: i32, stride: i32) {
    let row = program_id(0);
    let cols = arange::<BLOCK>();
    let mask = cols < n_cols;
    let v = load(x + row * stride + cols, mask, f16::NEG_INFINITY).cast::<f32>();
    let e = exp(v - max(v, 0));
    store(y + row * stride + cols, (e / sum(e, 0)).cast::<f16>(), mask);
}
"#;

#[test]
fn softmax_golden() {
    expect_test::expect![[r#"
        tile.kernel @softmax<BLOCK: i32>(%x: ptr<f16, global>, %y: ptr<f16, global>, %n_cols: i32, %stride: i32) loc("t.rs":3:8) {
          %row = tile.program_id {axis = 0} : i32 loc("t.rs":4:15)
          %cols = tile.arange {start = 0} : tile<{BLOCK}xi32> loc("t.rs":5:16)
          %0 = tile.splat %n_cols : tile<{BLOCK}xi32> loc("t.rs":6:23)
          %mask = tile.cmp %cols, %0 {pred = "lt"} : tile<{BLOCK}xi1> loc("t.rs":6:21)
          %1 = tile.mul %row, %stride : i32 loc("t.rs":7:26)
          %2 = tile.addptr %x, %1 : ptr<f16, global> loc("t.rs":7:20)
          %3 = tile.splat %2 : tile<{BLOCK}xptr<f16, global>> loc("t.rs":7:35)
          %4 = tile.addptr %3, %cols : tile<{BLOCK}xptr<f16, global>> loc("t.rs":7:35)
          %5 = tile.constant {value = -inf} : f16 loc("t.rs":7:49)
          %6 = tile.splat %5 : tile<{BLOCK}xf16> loc("t.rs":7:49)
          %7 = tile.load %4, %mask, %6 : tile<{BLOCK}xf16> loc("t.rs":7:13)
          %v = tile.cast %7 : tile<{BLOCK}xf32> loc("t.rs":7:68)
          %8 = tile.reduce %v {axis = 0, kind = "max"} : f32 loc("t.rs":8:21)
          %9 = tile.splat %8 : tile<{BLOCK}xf32> loc("t.rs":8:21)
          %10 = tile.sub %v, %9 : tile<{BLOCK}xf32> loc("t.rs":8:19)
          %e = tile.exp %10 : tile<{BLOCK}xf32> loc("t.rs":8:13)
          %11 = tile.mul %row, %stride : i32 loc("t.rs":9:19)
          %12 = tile.addptr %y, %11 : ptr<f16, global> loc("t.rs":9:13)
          %13 = tile.splat %12 : tile<{BLOCK}xptr<f16, global>> loc("t.rs":9:28)
          %14 = tile.addptr %13, %cols : tile<{BLOCK}xptr<f16, global>> loc("t.rs":9:28)
          %15 = tile.reduce %e {axis = 0, kind = "sum"} : f32 loc("t.rs":9:41)
          %16 = tile.splat %15 : tile<{BLOCK}xf32> loc("t.rs":9:41)
          %17 = tile.div %e, %16 : tile<{BLOCK}xf32> loc("t.rs":9:39)
          %18 = tile.cast %17 : tile<{BLOCK}xf16> loc("t.rs":9:52)
          tile.store %14, %18, %mask loc("t.rs":9:5)
          tile.return loc("t.rs":10:1)
        }
    "#]]
    .assert_eq(&ir(SOFTMAX));
}

#[test]
fn softmax_bound_config() {
    let s = bound(SOFTMAX, &[("BLOCK", ConstValue::Int(1024))]).unwrap();
    assert!(
        s.contains("tile.arange {start = 0} : tile<1024xi32>"),
        "{s}"
    );
    assert!(!s.contains("{BLOCK}"), "{s}");
    let e = bound(SOFTMAX, &[("BLOCK", ConstValue::Int(100))]).unwrap_err();
    assert!(
        e.to_string()
            .contains("arange size 100 is not a power of two"),
        "{e}"
    );
    assert_eq!(e.span().start().line, 5);
}

const MATMUL: &str = r#"
#[tile_kernel]
pub fn matmul<const BM: usize, const BN: usize, const BK: usize>(
    a: Ptr<f16>, b: Ptr<f16>, c: Ptr<f32>, m: i32, n: i32, k: i32,
) {
    let rm = program_id(0) * BM as i32 + arange::<BM>();
    let rn = program_id(1) * BN as i32 + arange::<BN>();
    let rk = arange::<BK>();
    let mut acc = zeros::<f32, BM, BN>();
    let mut pa = a + rm[(.., None)] * k + rk[(None, ..)];
    let mut pb = b + rk[(.., None)] * n + rn[(None, ..)];
    for kk in range(0, k, BK) {
        let ta = load(pa, rk[(None, ..)] < k - kk, 0.0);
        let tb = load(pb, rk[(.., None)] < k - kk, 0.0);
        acc = dot(ta, tb, acc);
        pa += BK;
        pb += BK * n;
    }
    let mask = (rm[(.., None)] < m) & (rn[(None, ..)] < n);
    store(c + rm[(.., None)] * n + rn[(None, ..)], acc, mask);
}
"#;

#[test]
fn loop_carried_values_are_inferred() {
    let s = ir(MATMUL);
    contains_in_order(
        &s,
        &[
            "tile.kernel @matmul<BM: i32, BN: i32, BK: i32>",
            "%BK = tile.constexpr {name = \"BK\"} : i32",
            "%rm = tile.add %3, %2 : tile<{BM}xi32>",
            "%acc = tile.constant {value = 0.0} : tile<{BM}x{BN}xf32>",
            "%8 = tile.expand_dims %rm {axis = 1} : tile<{BM}x1xi32>",
            "%acc_1, %pa_1, %pb_1 = tile.for %24, %k, %BK, %acc, %pa, %pb : \
             tile<{BM}x{BN}xf32>, tile<{BM}x{BK}xptr<f16, global>>, tile<{BK}x{BN}xptr<f16, global>> {",
            "^(%kk: i32, %acc_2: tile<{BM}x{BN}xf32>, %pa_2: tile<{BM}x{BK}xptr<f16, global>>, \
             %pb_2: tile<{BK}x{BN}xptr<f16, global>>):",
            "%ta = tile.load %pa_2, %30, %31 : tile<{BM}x{BK}xf16>",
            "%39 = tile.dot %ta, %tb, %acc_2 : tile<{BM}x{BN}xf32>",
            "tile.yield %39, %41, %44",
            "tile.store %",
            ", %acc_1, %mask",
            "tile.return",
        ],
    );
    // Literal `0.0` as `other` takes the pointee type.
    assert!(s.contains("tile.constant {value = 0.0} : f16"), "{s}");
}

#[test]
fn if_yields_assigned_variables_and_values() {
    let s = ir(r#"
#[tile_kernel]
fn k(x: Ptr<f32>, n: i32) {
    let mut a = load(x);
    let mut b = 0;
    if n > 3 {
        a = a * 2.0;
        b = n;
    } else if n < 0 {
        b = 1;
    }
    let c = if n == 0 { a } else { 1.5 };
    store(x + b, c);
}
"#);
    contains_in_order(
        &s,
        &[
            "%a = tile.load %x : f32",
            "%1 = tile.cmp %n, %0 {pred = \"gt\"} : i1",
            // `let mut b = 0` gets its type (i32) where it starts being carried.
            "%b = tile.constant {value = 0} : i32",
            "%a_1, %b_1 = tile.if %1 : f32, i32 {",
            "tile.yield %3, %n",
            "} {",
            "%b_2 = tile.if %5 : i32 {",
            "tile.yield %6",
            "} {",
            "tile.yield %b",
            "tile.yield %a, %b_2",
            "%c = tile.if %8 : f32 {",
            "tile.yield %a_1",
            "%9 = tile.constant {value = 1.5} : f32",
            "tile.yield %9",
            "%10 = tile.addptr %x, %b_1 : ptr<f32, global>",
            "tile.store %10, %c",
        ],
    );
}

#[test]
fn while_loop_carries_values() {
    let s = ir(r#"
#[tile_kernel]
fn k(x: Ptr<i32>, n: i32) {
    let mut i = 0;
    let mut s = 0i64;
    while i < n {
        s += i;
        i += 1;
    }
    store(x, s.cast::<i32>());
}
"#);
    contains_in_order(
        &s,
        &[
            "%s_1, %i_1 = tile.while %s, %i : i64, i32 {",
            "^(%s_2: i64, %i_2: i32):",
            "%0 = tile.cmp %i_2, %n {pred = \"lt\"} : i1",
            "tile.condition %0, %s_2, %i_2",
            "^(%s_3: i64, %i_3: i32):",
            "%1 = tile.cast %i_3 : i64",
            "%2 = tile.add %s_3, %1 : i64",
            "tile.yield %2, %4",
            "%5 = tile.cast %s_1 : i32",
        ],
    );
}

#[test]
fn broadcasting_and_promotion() {
    let s = ir(r#"
#[tile_kernel]
fn k(x: Ptr<f32>, h: f16, q: i64) {
    let r = arange::<16>();
    let c = arange::<32>();
    let grid = r[(.., None)] * 32 + c[(None, ..)];
    let f = grid.cast::<f16>() * h;
    let g = f + 1.0f32;
    let w = q + r;
    let u = r + 0.5;
    let z = expand_dims(c, 0) + zeros::<i32, 16, 1>();
    store(x + grid, g + u[(.., None)] + w.cast::<f32>()[(.., None)] + z.cast::<f32>());
}
"#);
    contains_in_order(
        &s,
        &[
            "%0 = tile.expand_dims %r {axis = 1} : tile<16x1xi32>",
            "%1 = tile.constant {value = 32} : tile<16x1xi32>",
            "%2 = tile.mul %0, %1 : tile<16x1xi32>",
            "%3 = tile.expand_dims %c {axis = 0} : tile<1x32xi32>",
            "%4 = tile.broadcast %2 : tile<16x32xi32>",
            "%5 = tile.broadcast %3 : tile<16x32xi32>",
            "%grid = tile.add %4, %5 : tile<16x32xi32>",
            "%7 = tile.splat %h : tile<16x32xf16>",
            "%f = tile.mul %6, %7 : tile<16x32xf16>",
            // f16 with f32 promotes to f32.
            "%9 = tile.cast %f : tile<16x32xf32>",
            "%g = tile.add %9, %10 : tile<16x32xf32>",
            // i64 scalar with an i32 tile: i64 tile.
            "%11 = tile.splat %q : tile<16xi64>",
            "%12 = tile.cast %r : tile<16xi64>",
            "%w = tile.add %11, %12 : tile<16xi64>",
            // int tile + float literal: f32.
            "%13 = tile.cast %r : tile<16xf32>",
            "%14 = tile.constant {value = 0.5} : tile<16xf32>",
            // expand_dims and size-1 broadcasting on both sides.
            "tile.expand_dims %c {axis = 0} : tile<1x32xi32>",
            "tile.constant {value = 0} : tile<16x1xi32>",
            "%17 = tile.broadcast %15 : tile<16x32xi32>",
            "%18 = tile.broadcast %16 : tile<16x32xi32>",
        ],
    );
}

#[test]
fn tuples_sort_topk_split_join() {
    let s = ir(r#"
#[tile_kernel]
fn k(x: Ptr<f32>, y: Ptr<i32>) {
    let offs = arange::<64>();
    let v = load(x + offs);
    let (sv, si) = sort(v, 0, true);
    let (tv, ti) = topk(v, 8, 0);
    let pair = (sv, si);
    let (a, _) = pair;
    let j = join(a, sv);
    let (l, r) = split(j);
    let t = sort(l, 0);
    store(x + offs, r + t.0);
    store(y + arange::<8>(), ti);
    store(x + arange::<8>(), tv);
    store(y + offs, si);
}
"#);
    contains_in_order(
        &s,
        &[
            "%sv, %si = tile.sort %v {axis = 0, descending = true} : tile<64xf32>, tile<64xi32>",
            "%tv, %ti = tile.topk %v {axis = 0, k = 8, largest = true} : tile<8xf32>, tile<8xi32>",
            "%j = tile.join %sv, %sv : tile<64x2xf32>",
            "%l, %r = tile.split %j : tile<64xf32>, tile<64xf32>",
            "= tile.sort %l {axis = 0, descending = false}",
        ],
    );
}

#[test]
fn constexpr_params_and_static_assert() {
    let src = r#"
#[tile_kernel]
fn k<const BLOCK: usize>(x: Ptr<f32>, #[constexpr] causal: bool, #[constexpr] scale: i32) {
    static_assert(BLOCK % 16 == 0, "BLOCK must be a multiple of 16");
    let offs = arange::<BLOCK>();
    let mut v = load(x + offs);
    if causal {
        v = v * scale;
    }
    store(x + offs, v);
}
"#;
    let s = ir(src);
    contains_in_order(
        &s,
        &[
            "tile.kernel @k<BLOCK: i32, causal: i1, scale: i32>(%x: ptr<f32, global>)",
            "%BLOCK = tile.constexpr {name = \"BLOCK\"} : i32",
            "%causal = tile.constexpr {name = \"causal\"} : i1",
            "%scale = tile.constexpr {name = \"scale\"} : i32",
            "%0 = tile.constant {value = 16} : i32",
            "%1 = tile.rem %BLOCK, %0 : i32",
            "%3 = tile.cmp %1, %2 {pred = \"eq\"} : i1",
            "tile.static_assert %3 {msg = \"BLOCK must be a multiple of 16\"}",
            "%v_1 = tile.if %causal : tile<{BLOCK}xf32> {",
            "%6 = tile.cast %scale : f32",
        ],
    );
    // Bound: the assert and the branch are decided by the frontend.
    let s = bound(
        src,
        &[
            ("BLOCK", ConstValue::Int(64)),
            ("causal", ConstValue::Bool(false)),
            ("scale", ConstValue::Int(3)),
        ],
    )
    .unwrap();
    assert!(
        !s.contains("tile.if") && !s.contains("static_assert"),
        "{s}"
    );
    let e = bound(src, &[("BLOCK", ConstValue::Int(8))]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "static_assert failed: BLOCK must be a multiple of 16"
    );
    let e = bound(src, &[("causal", ConstValue::Int(8))]).unwrap_err();
    assert!(e.to_string().contains("cannot be bound to 8"), "{e}");
}

#[test]
fn tile_fn_calls_instantiate_per_signature() {
    let s = ir(r#"
#[tile_fn]
fn scale<const N: usize>(x: Tile<f32, N>, s: f32) -> Tile<f32, N> {
    x * s + N as f32
}

#[tile_fn]
fn norm(x: _) -> _ {
    let m = scale(x, 2.0);
    sum(m, 0)
}

#[tile_fn]
fn pair(x: f32) -> (f32, f32) {
    (x, -x)
}

#[tile_kernel]
fn k<const B: usize>(x: Ptr<f32>) {
    let a = load(x + arange::<B>());
    let b = load(x + arange::<16>());
    let t = norm(a) + helpers::norm(b) + norm(a);
    let (p, q) = pair(t);
    store(x, p + q);
}
"#);
    contains_in_order(
        &s,
        &[
            "tile.kernel @k<B: i32>",
            "%6 = tile.call %a {callee = \"norm\"} : f32",
            "%7 = tile.call %b {callee = \"norm_1\"} : f32",
            "%9 = tile.call %a {callee = \"norm\"} : f32",
            "%p, %q = tile.call %t {callee = \"pair\"} : f32, f32",
            "tile.func @norm<B: i32>(%x: tile<{B}xf32>) -> (f32)",
            "%m = tile.call %x, %0 {callee = \"scale\"} : tile<{B}xf32>",
            "tile.func @scale<B: i32>(%x: tile<{B}xf32>, %s: f32) -> (tile<{B}xf32>)",
            "%B = tile.constexpr {name = \"B\"} : i32",
            "tile.func @norm_1(%x: tile<16xf32>) -> (f32)",
            "{callee = \"scale_1\"} : tile<16xf32>",
            "tile.func @scale_1(%x: tile<16xf32>, %s: f32) -> (tile<16xf32>)",
            "%3 = tile.constant {value = 16.0} : f32",
            "tile.func @pair(%x: f32) -> (f32, f32)",
            "tile.return %x, %0",
        ],
    );
}

#[test]
fn descriptors_atomics_scans_and_misc() {
    let s = ir(r#"
#[tile_kernel]
fn k(x: Ptr<f16>, cnt: Ptr<i32>, idx: Ptr<i32>, m: i32, n: i32, stride: i64) {
    let d = make_desc::<64, 32>(x, [m, n], [stride, 1]);
    let t = desc_load(d, [program_id(0) * 64, 0]);
    desc_store(d, [0, 0], t.t().t());
    let old = atomic_add(cnt, 1);
    let old2 = atomic_max(cnt + arange::<4>(), arange::<4>(), arange::<4>() < 2);
    let prev = atomic_cas(cnt, 0, old);
    let g = load(idx + arange::<8>());
    let gathered = load(x + g);
    let c = cumsum(gathered.cast::<f32>(), 0) + cummax_rev(gathered.cast::<f32>(), -1);
    let w = r#where(g > 0, c, 0.0);
    let z = select(g > 0, w, where_(g < 0, 1.0, w));
    device_print("z = ", z, old2, prev);
    device_assert(g >= 0, "negative index");
    let r = reshape::<2, 4>(z);
    let q = trans(r);
    let f = fma(q, q, 1.0) + sqrt(abs(q)) + exp2(q).log2() + pow(q, 2.0) + floor(q) + ceil(q);
    let am = argmax(f, 1).reshape::<2, 2>().sum(0) + argmin(f, 0);
    store(idx + arange::<2>(), am + cdiv(n, 16));
    store(x + arange::<8>(), bitcast::<f16>(g.cast::<i16>()));
}
"#);
    contains_in_order(
        &s,
        &[
            "%0 = tile.cast %m : i64",
            "%1 = tile.cast %n : i64",
            "%2 = tile.constant {value = 1} : i64",
            "%d = tile.make_desc %x, %0, %1, %stride, %2 : desc<64x32xf16>",
            "%t = tile.desc_load %d, %5, %6 : tile<64x32xf16>",
            "%9 = tile.trans %t {perm = [1, 0]} : tile<32x64xf16>",
            "%10 = tile.trans %9 {perm = [1, 0]} : tile<64x32xf16>",
            "tile.desc_store %d, %7, %8, %10",
            "%old = tile.atomic_rmw %cnt, %11 {kind = \"add\"} : i32",
            "%old2 = tile.atomic_rmw %",
            "{kind = \"max\"} : tile<4xi32>",
            "%prev = tile.atomic_cas %cnt, %",
            "%gathered = tile.load %",
            ": tile<8xf16>",
            "tile.scan %",
            "{axis = 0, kind = \"sum\", reverse = false} : tile<8xf32>",
            "{axis = 0, kind = \"max\", reverse = true} : tile<8xf32>",
            "%w = tile.select %",
            "%z = tile.select %",
            "tile.print %z, %old2, %prev {prefix = \"z = \"}",
            "tile.assert %",
            "{msg = \"negative index\"}",
            "%r = tile.reshape %z : tile<2x4xf32>",
            "%q = tile.trans %r {perm = [1, 0]} : tile<4x2xf32>",
            "tile.fma %q, %q, %",
            "tile.sqrt",
            "tile.exp2",
            "tile.log2",
            "tile.pow",
            "tile.floor",
            "tile.ceil",
            "{axis = 1, kind = \"argmax\"} : tile<4xi32>",
            "tile.reshape %",
            "{axis = 0, kind = \"argmin\"} : tile<2xi32>",
            "tile.div %",
            "tile.bitcast %",
            ": tile<8xf16>",
        ],
    );
}

#[test]
fn constants_and_literals() {
    let s = ir(r#"
#[tile_kernel]
fn k(x: Ptr<f32>, y: Ptr<bf16>, z: Ptr<i64>) {
    let a = f32::INFINITY;
    let b = bf16::MAX;
    let c = std::f32::consts::PI * 2;
    let d = i64::MIN;
    let e = 3 * 4 + 1;
    let f = (e as f32) / 2;
    store(x, a + c + f);
    store(y, b);
    store(z, d + e);
}
"#);
    contains_in_order(
        &s,
        &[
            "%a = tile.constant {value = inf} : f32",
            "%b = tile.constant {value = 3.3895313892515355e38} : bf16",
            "%0 = tile.constant {value = 3.1415927410125732} : f32",
            "%c = tile.constant {value = 6.2831854820251465} : f32",
            "%d = tile.constant {value = -9223372036854775808} : i64",
            "%f = tile.constant {value = 6.5} : f32",
            "tile.store %z, %",
        ],
    );
}

#[test]
fn locations_follow_the_source() {
    let m = compile_source(SOFTMAX, "src/k.rs").unwrap();
    let f = &m.funcs[0];
    assert_eq!(f.loc.to_string(), "src/k.rs:3:8");
    let locs: Vec<String> = f
        .body
        .walk(f.body.entry())
        .into_iter()
        .map(|op| f.body.op(op).loc.to_string())
        .collect();
    assert!(locs.iter().all(|l| l.starts_with("src/k.rs:")));
    assert_eq!(locs[0], "src/k.rs:4:15");
}

/// The unspecialized IR of every test kernel above uses only symbolic
/// sizes or powers of two, and every op has a location.
#[test]
fn every_op_has_a_location() {
    for src in [SOFTMAX, MATMUL] {
        let m = compile_source(src, "t.rs").unwrap();
        for f in &m.funcs {
            for op in f.body.walk(f.body.entry()) {
                assert!(!f.body.op(op).loc.is_unknown());
            }
        }
    }
}

// ----- errors -----

#[track_caller]
fn expect_err(src: &str, line: u32, needle: &str) {
    let e = error(src);
    if std::env::var("SHOW_ERRORS").is_ok() {
        eprintln!("{e}");
    }
    assert!(
        e.message.contains(needle),
        "`{needle}` not in: {}",
        e.message
    );
    assert_eq!(e.loc.line, line, "wrong line for: {}", e.message);
}

#[test]
fn error_unsupported_syntax() {
    let k = |body: &str| format!("#[tile_kernel]\nfn k(x: Ptr<f32>, n: i32) {{\n{body}\n}}");
    expect_err(&k("match n { _ => {} }"), 3, "`match` is not supported");
    expect_err(&k("let f = |a| a;"), 3, "closures are not supported");
    expect_err(&k("loop { }"), 3, "`loop` is not supported");
    expect_err(&k("if n > 0 { return; }"), 3, "early `return`");
    expect_err(&k("let r = &x;"), 3, "references are not supported");
    expect_err(&k("println!(\"hi\");"), 3, "device_print");
    expect_err(
        &k("let v = load(x).powi(2);"),
        3,
        "not a method of tile code",
    );
    expect_err(&k("let v = load(x).max(1.0);"), 3, "maximum(a, b)");
    expect_err(&k("while n > 0 { break; }"), 3, "`break` is not supported");
    expect_err(&k("let a = [1, 2];"), 3, "arrays are only allowed");
    expect_err(&k("const C: i32 = 3;"), 3, "items");
    expect_err(&k("let v = LIMIT;"), 3, "unknown name `LIMIT`");
    expect_err(&k("n = 3;"), 3, "immutable variable `n`");
}

#[test]
fn error_unknown_function_and_arity() {
    let k = |body: &str| format!("#[tile_kernel]\nfn k(x: Ptr<f32>, n: i32) {{\n{body}\n}}");
    expect_err(
        &k("let r = arrange::<16>();"),
        3,
        "did you mean the builtin `arange`",
    );
    expect_err(&k("let r = softplus(n);"), 3, "unknown function `softplus`");
    expect_err(
        &k("let v = load();"),
        3,
        "`load` takes 1 to 3 argument(s) but 0 were given",
    );
    expect_err(&k("store(x);"), 3, "signature: store(ptr, value [, mask])");
    expect_err(&k("let r = exp(1.0, 2.0);"), 3, "`exp` takes 1 argument(s)");
}

#[test]
fn error_type_mismatches() {
    let k = |body: &str| {
        format!(
            "#[tile_kernel]\nfn k(x: Ptr<f16>, n: i32, f: f32) {{\nlet o = arange::<16>();\n{body}\n}}"
        )
    };
    expect_err(
        &k("store(x + o, o.cast::<f32>());"),
        4,
        "convert it explicitly with .cast::<f16>()",
    );
    expect_err(&k("let p = x + f;"), 4, "cannot add f32 to a pointer");
    expect_err(&k("let v = load(x + o, o);"), 4, "a mask must be a bool");
    expect_err(&k("let v = load(x + o, o < n, f);"), 4, "`other` value");
    expect_err(&k("let v = exp(o);"), 4, "needs a float operand");
    expect_err(&k("let v = f & 1;"), 4, "needs integer or bool operands");
    expect_err(&k("if o < n { }"), 4, "must be a single bool");
    expect_err(&k("let v = n && true;"), 4, "needs boolean (i1) operands");
    expect_err(
        &k("let mut a = 0.0; a = o.cast::<f32>();"),
        4,
        "declared with the literal 0.0",
    );
}

#[test]
fn error_shapes() {
    let k = |body: &str| {
        format!("#[tile_kernel]\nfn k<const A: usize, const B: usize>(x: Ptr<f32>) {{\n{body}\n}}")
    };
    expect_err(
        &k("let v = arange::<64>() + arange::<128>();"),
        3,
        "cannot broadcast tile<64xi32> with tile<128xi32>",
    );
    expect_err(
        &k("let v = arange::<A>() + arange::<B>();"),
        3,
        "same const parameter",
    );
    expect_err(
        &k("let v = arange::<100>();"),
        3,
        "arange size 100 is not a power of two: tile sizes must be powers of two (use 64 or 128",
    );
    expect_err(
        &k("let v = zeros::<f32, 3, 4>();"),
        3,
        "tile size 3 is not a power of two",
    );
    expect_err(
        &k("let v = dot(arange::<16>(), arange::<16>());"),
        3,
        "dot needs 2-d tiles",
    );
    expect_err(
        &k("let v = dot(zeros::<f16, 16, 32>(), zeros::<f16, 16, 16>());"),
        3,
        "the inner dimensions differ",
    );
    expect_err(
        &k("let v = reshape::<8>(arange::<16>());"),
        3,
        "cannot reshape",
    );
    expect_err(
        &k("let v = sum(arange::<16>(), 1);"),
        3,
        "axis 1 is out of range",
    );
    expect_err(
        &k("let v = arange::<16>()[(.., .., None)];"),
        3,
        "keeps 2 dimensions",
    );
    expect_err(&k("let v = arange::<C>();"), 3, "unknown size `C`");
}

#[test]
fn error_loop_carried_type_change() {
    let src = r#"
#[tile_kernel]
fn k(x: Ptr<f32>, n: i32) {
    let mut acc = 0.0;
    for i in 0..n {
        acc = acc + load(x + arange::<16>());
    }
}
"#;
    expect_err(src, 6, "carried through the `for` loop");
    let src = r#"
#[tile_kernel]
fn k(x: Ptr<f32>, n: i32) {
    let mut acc = zeros::<f32, 16>();
    for i in 0..n {
        acc = load(x + arange::<16>()).cast::<f16>();
    }
}
"#;
    expect_err(src, 6, "cast it with .cast::<f32>()");
}

#[test]
fn error_tile_fn_misuse() {
    let src = r#"
#[tile_fn]
fn f<const N: usize>(x: Tile<f32, N>, #[constexpr] c: bool) -> f32 { sum(x, 0) }
#[tile_kernel]
fn k(x: Ptr<f32>, n: i32) {
    let v = load(x + arange::<16>());
    let a = f(v, n > 0);
}
"#;
    expect_err(src, 7, "is #[constexpr]");
    let src = r#"
#[tile_fn]
fn f<const N: usize>(x: Tile<f32, N>) -> f32 { sum(x, 0) }
#[tile_kernel]
fn k(x: Ptr<f32>, n: i32) {
    let a = f(n);
}
"#;
    expect_err(
        src,
        6,
        "argument `x` of `f` has type i32, but the parameter is declared as Tile<f32, N>",
    );
    let src = r#"
#[tile_fn]
fn f(x: f32) -> f32 { g(x) }
#[tile_fn]
fn g(x: f32) -> f32 { f(x) }
#[tile_kernel]
fn k(x: Ptr<f32>) { store(x, f(1.0)); }
"#;
    expect_err(src, 5, "recursion is not supported");
    let src = r#"
#[tile_fn]
fn f(x: f32) -> f32 { x * 2 }
#[tile_kernel]
fn k(x: Ptr<f32>) { store(x, f(1.0, 2.0)); }
"#;
    expect_err(src, 5, "`f` takes 1 argument(s) (x: f32), 2 given");
    let src = r#"
#[tile_fn]
fn f(x: f32) -> f16 { x * 2 }
"#;
    expect_err(
        src,
        3,
        "the returned value has type f32 but f16 is expected",
    );
}

#[test]
fn never_panics_on_odd_input() {
    // A grab bag of malformed kernels: each must give an error, not a panic.
    let bodies = [
        "let (a, b) = 3;",
        "let v = load(x)[(None, ..)][(.., None, ..)].t().t().t();",
        "let v = split(arange::<16>());",
        "let v = trans(arange::<16>());",
        "let v = trans(zeros::<f32, 2, 2>(), [0, 0]);",
        "let v = topk(arange::<16>(), 32, 0);",
        "let v = program_id(3);",
        "let v = 1 / 0;",
        "let v = (1 << 70) + x;",
        "let v = (1, 2).5;",
        "store(x, (1, 2));",
        "for i in 0.. { }",
        "for i in 0.0..1.0 { }",
        "let v = make_desc::<16>(x, [1, 2], [1]);",
        "let v = desc_load(x, [0]);",
        "let v = full::<f32, 4>(arange::<4>());",
        "let v = bitcast::<f64>(1.0);",
        "let v = static_assert(load(x) > 0.0);",
        "let v = cumsum(1.0, 0);",
        "let v: Tile<f32, 8> = zeros::<f32, 16>();",
    ];
    for b in bodies {
        let src = format!("#[tile_kernel]\nfn k(x: Ptr<f32>) {{\n{b}\n}}");
        let e = error(&src);
        assert!(!e.message.contains("internal error"), "{b}: {}", e.message);
    }
}

// ----- the frontend's IR through the rest of the compiler -----

/// Parse-print round trip, verification, specialization, the tile pipeline.
fn through_pipeline(src: &str, kernel: &str, consts: &[(&str, ConstValue)]) -> Module {
    let m = compile_source(src, "t.rs").unwrap();
    crate::ir::verify_module(&m).unwrap_or_else(|e| panic!("{e}\n{}", print_module(&m)));
    let text = print_module(&m);
    let parsed = crate::ir::parse_module(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(print_module(&parsed), text);
    let consts: Vec<(String, ConstValue)> =
        consts.iter().map(|(n, v)| (n.to_string(), *v)).collect();
    let mut s = crate::passes::specialize(&parsed, kernel, &consts)
        .unwrap_or_else(|e| panic!("{e}\n{text}"));
    crate::passes::pipeline::run_tile_pipeline(&mut s).unwrap_or_else(|e| panic!("{e}\n{text}"));
    s
}

#[test]
fn every_test_kernel_verifies_and_round_trips() {
    for (src, consts) in [
        (SOFTMAX, vec![("BLOCK", ConstValue::Int(64))]),
        (
            MATMUL,
            vec![
                ("BM", ConstValue::Int(16)),
                ("BN", ConstValue::Int(16)),
                ("BK", ConstValue::Int(8)),
            ],
        ),
    ] {
        let kernel = if src == SOFTMAX { "softmax" } else { "matmul" };
        let m = through_pipeline(src, kernel, &consts);
        let s = print_module(&m);
        assert!(
            !s.contains("constexpr") && !s.contains('{') || s.contains("{axis"),
            "{s}"
        );
    }
}

#[test]
fn softmax_runs_on_the_interpreter() {
    use crate::interp::{ArgValue, Buffer, Memory, run};
    use rand::{Rng, SeedableRng};
    let m = through_pipeline(SOFTMAX, "softmax", &[("BLOCK", ConstValue::Int(64))]);
    let mut rng = rand::rngs::SmallRng::seed_from_u64(7);
    let (rows, cols, stride) = (3usize, 50usize, 52usize);
    let x: Vec<f64> = (0..rows * stride)
        .map(|_| f64::from(half::f16::from_f64(rng.random_range(-4.0..4.0))))
        .collect();
    let mut mem = Memory::new();
    let bx = mem.add(Buffer::from_f64s(ScalarType::F16, &x));
    let by = mem.add(Buffer::zeroed(ScalarType::F16, rows * stride));
    let ptr = |buffer| ArgValue::Ptr {
        buffer,
        byte_offset: 0,
        elem: ScalarType::F16,
    };
    let args = [
        ptr(bx),
        ptr(by),
        ArgValue::Int(cols as i64),
        ArgValue::Int(stride as i64),
    ];
    run(&m, "softmax", [rows as u32, 1, 1], &args, &mut mem).unwrap();
    let y = mem.buffers[by].to_f64s();
    for r in 0..rows {
        let row = &x[r * stride..r * stride + cols];
        let mx = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let sum: f64 = row.iter().map(|v| (v - mx).exp()).sum();
        for c in 0..cols {
            let want = (row[c] - mx).exp() / sum;
            let got = y[r * stride + c];
            assert!(
                (got - want).abs() < 2e-3,
                "row {r} col {c}: {got} vs {want}"
            );
        }
        // Masked-off columns are not written.
        assert!(
            y[r * stride + cols..r * stride + stride]
                .iter()
                .all(|v| *v == 0.0)
        );
    }
}

#[test]
fn matmul_with_tile_fns_runs_on_the_interpreter() {
    use crate::interp::{ArgValue, Buffer, Memory, run};
    use rand::{Rng, SeedableRng};
    let src = r#"
#[tile_fn]
fn tile_ptrs<const R: usize, const C: usize>(base: Ptr<f32>, rows: Tile<i32, R>, cols: Tile<i32, C>, stride: i32) -> _ {
    base + rows[(.., None)] * stride + cols[(None, ..)]
}

#[tile_fn]
fn in_bounds(rows: _, cols: _, n_rows: i32, n_cols: i32) -> _ {
    (rows[(.., None)] < n_rows) & (cols[(None, ..)] < n_cols)
}

#[tile_kernel]
pub fn matmul<const BM: usize, const BN: usize, const BK: usize>(
    a: Ptr<f32>, b: Ptr<f32>, c: Ptr<f32>, m: i32, n: i32, k: i32, #[constexpr] relu: bool,
) {
    let rm = program_id(0) * BM as i32 + arange::<BM>();
    let rn = program_id(1) * BN as i32 + arange::<BN>();
    let mut acc = zeros::<f32, BM, BN>();
    let mut kk = 0;
    while kk < k {
        let rk = kk + arange::<BK>();
        let ta = load(tile_ptrs(a, rm, rk, k), in_bounds(rm, rk, m, k), 0.0);
        let tb = load(tile_ptrs(b, rk, rn, n), in_bounds(rk, rn, k, n), 0.0);
        acc = dot(ta, tb, acc);
        kk += BK as i32;
    }
    if relu {
        acc = maximum(acc, 0.0);
    }
    store(tile_ptrs(c, rm, rn, n), acc, in_bounds(rm, rn, m, n));
}
"#;
    let (mm, nn, kk) = (21usize, 13usize, 19usize);
    let mut rng = rand::rngs::SmallRng::seed_from_u64(11);
    let a: Vec<f64> = (0..mm * kk).map(|_| rng.random_range(-1.0..1.0)).collect();
    let b: Vec<f64> = (0..kk * nn).map(|_| rng.random_range(-1.0..1.0)).collect();
    for relu in [false, true] {
        let m = through_pipeline(
            src,
            "matmul",
            &[
                ("BM", ConstValue::Int(16)),
                ("BN", ConstValue::Int(8)),
                ("BK", ConstValue::Int(8)),
                ("relu", ConstValue::Bool(relu)),
            ],
        );
        let mut mem = Memory::new();
        let ba = mem.add(Buffer::from_f64s(ScalarType::F32, &a));
        let bb = mem.add(Buffer::from_f64s(ScalarType::F32, &b));
        let bc = mem.add(Buffer::zeroed(ScalarType::F32, mm * nn));
        let ptr = |buffer| ArgValue::Ptr {
            buffer,
            byte_offset: 0,
            elem: ScalarType::F32,
        };
        let args = [
            ptr(ba),
            ptr(bb),
            ptr(bc),
            ArgValue::Int(mm as i64),
            ArgValue::Int(nn as i64),
            ArgValue::Int(kk as i64),
        ];
        run(&m, "matmul", [2, 2, 1], &args, &mut mem).unwrap();
        let c = mem.buffers[bc].to_f64s();
        for i in 0..mm {
            for j in 0..nn {
                let mut want: f64 = (0..kk).map(|t| a[i * kk + t] * b[t * nn + j]).sum();
                if relu {
                    want = want.max(0.0);
                }
                let got = c[i * nn + j];
                assert!((got - want).abs() < 1e-4, "({i},{j}): {got} vs {want}");
            }
        }
    }
}

/// Random edits of valid kernels (dropping, duplicating and replacing
/// tokens) must give IR or an error, never a panic.
#[test]
fn random_edits_never_panic() {
    use rand::{Rng, SeedableRng};
    use std::str::FromStr;
    let mut rng = rand::rngs::SmallRng::seed_from_u64(2024);
    let sources = [
        SOFTMAX,
        MATMUL,
        r#"
#[tile_fn]
fn f<const N: usize>(x: Tile<f32, N>, #[constexpr] c: bool) -> (f32, Tile<f32, N>) {
    let (s, i) = sort(x, 0);
    if c { (sum(s, 0), x) } else { (max(x, 0), cumsum(x, 0)) }
}
#[tile_kernel]
fn k<const B: usize>(x: Ptr<f32>, n: i32, #[constexpr] c: bool) {
    let o = arange::<B>();
    let mut acc = zeros::<f32, B>();
    let mut i = 0;
    while i < n {
        let (a, b) = f(load(x + o, o < n, 0.0), c);
        acc += b * a;
        i += 1;
    }
    store(x + o, where_(o < n, acc, 0.0), o < n);
}
"#,
    ];
    let pool = [
        "x", "n", "o", "B", "0", "1", "2.5", "true", "arange", "load", "store", "sum", "max",
        "dot", "+", "*", "<", "&&", "(", ")", ";", ",", "[", "]", "None", "..", "f16", "i64",
        "mut", "let", "if", "for", "while", "=", "cast", "::", "<", ">",
    ];
    let mut compiled = 0;
    for round in 0..600 {
        let src = sources[round % sources.len()];
        let toks: Vec<String> = src
            .split_whitespace()
            .flat_map(|w| {
                // Split punctuation off so edits hit operators too.
                let mut parts = Vec::new();
                let mut cur = String::new();
                for ch in w.chars() {
                    if "(),;[]".contains(ch) {
                        if !cur.is_empty() {
                            parts.push(std::mem::take(&mut cur));
                        }
                        parts.push(ch.to_string());
                    } else {
                        cur.push(ch);
                    }
                }
                if !cur.is_empty() {
                    parts.push(cur);
                }
                parts
            })
            .collect();
        let mut toks = toks;
        for _ in 0..rng.random_range(1..4) {
            let i = rng.random_range(0..toks.len());
            match rng.random_range(0..3) {
                0 => {
                    toks.remove(i);
                }
                1 => {
                    let t = toks[i].clone();
                    toks.insert(i, t);
                }
                _ => toks[i] = pool[rng.random_range(0..pool.len())].to_string(),
            }
        }
        let text = toks.join(" ");
        if proc_macro2::TokenStream::from_str(&text).is_err() {
            continue;
        }
        let result = std::panic::catch_unwind(|| compile_source(&text, "t.rs"));
        match result {
            Ok(Ok(m)) => {
                compiled += 1;
                if let Err(e) = crate::ir::verify_module(&m) {
                    panic!(
                        "accepted but does not verify: {e}\n{text}\n{}",
                        print_module(&m)
                    );
                }
            }
            Ok(Err(e)) => assert!(!e.message.contains("internal error"), "{e}\n{text}"),
            Err(_) => panic!("the frontend panicked on:\n{text}"),
        }
    }
    assert!(compiled > 10, "only {compiled} edits compiled");
}
