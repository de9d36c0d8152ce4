// The rest of the DSL surface compiles: while loops, if/else values,
// tuples, sort/topk, scans, descriptors, atomics, printing and assertions.
use tilefuse::tile_kernel;

#[tile_kernel(configs = [(N = 16, DESC = true), (N = 32, DESC = false)])]
pub fn surface<const N: usize, const DESC: bool>(
    x: Ptr<f32>,
    idx: Ptr<i32>,
    counts: Ptr<i32>,
    h: Ptr<bf16>,
    n: i32,
    stride: i64,
) {
    let offs = arange::<N>();
    let g = load(idx + offs, offs < n, 0);
    let v = load(x + g);
    let (sv, si) = if DESC { sort(v, 0, true) } else { sort(v, 0, false) };
    let (tv, _) = topk(v, 4, 0);
    let c = cumsum(sv, 0) + cummax_rev(sv, 0);
    let mut i = 0;
    let mut total = 0.0;
    while i < n {
        total += 1.5;
        i += 1;
    }
    let y = if total > 3.0 { c } else { -c };
    let old = atomic_add(counts + si, 1, offs < n);
    device_assert(old >= 0, "counts never go negative");
    let d = make_desc::<8, 8>(x, [n, n], [stride, 1]);
    let t = desc_load(d, [0, 0]);
    desc_store(d, [8, 0], t.t());
    store(h + offs, y.cast::<bf16>());
    store(x + arange::<4>(), tv);
    if DESC {
        device_print("total = ", total);
    }
}

fn main() {
    assert!(surface::<16, true>::IR.contains("tile.sort"));
    assert!(surface::<16, true>::IR.contains("tile.while"));
    assert_eq!(surface::<16, true>::KERNEL.configs.len(), 2);
}
