//! Memory ops beyond plain loads and stores: atomics (sequential and
//! masked) and tensor descriptors (zero outside the shape on load, only the
//! inside written on store).

use super::*;

#[test]
fn atomics_are_sequential_and_masked() {
    let m = kernel(
        &[
            ("cell", ptr(S::F32)),
            ("old", ptr(S::F32)),
            ("c", ptr(S::I32)),
        ],
        |k, p| {
            // Four lanes on the same cell: add [1, 2, 3, 4] with lane 1 masked off.
            let zero = k.i32(0);
            let zs = k.splat(zero, &[4]);
            let ptrs = k.addptr(p[0], zs);
            let r = k.arange(4);
            let one = k.i32(1);
            let r1 = k.bin(BinaryOp::Add, r, one);
            let vals = k.cast(r1, S::F32);
            let mask = k.cmp("ne", r, one);
            let olds = k.op1(
                OpKind::AtomicRmw,
                vec![ptrs, vals, mask],
                tile(&[4], S::F32),
                named("kind", "add"),
            );
            k.store_tile(p[1], olds);
            // max, min and xchg on cells 1..4 of `c`; cas on cell 0.
            let c0 = p[2];
            let pid = k.pid(0);
            for (i, kind) in ["max", "min", "xchg"].iter().enumerate() {
                let o = k.i32(i as i64 + 1);
                let cp = k.addptr(c0, o);
                k.op1(
                    OpKind::AtomicRmw,
                    vec![cp, pid],
                    Type::Scalar(S::I32),
                    named("kind", kind),
                );
            }
            let next = k.bin(BinaryOp::Add, pid, one);
            k.op1(
                OpKind::AtomicCas,
                vec![c0, pid, next],
                Type::Scalar(S::I32),
                Attrs::new(),
            );
        },
    );
    let mut mem = Memory::new();
    mem.add(Buffer::from_f64s(S::F32, &[0.5]));
    mem.add(Buffer::zeroed(S::F32, 4));
    mem.add(Buffer::from_i64s(S::I32, &[0, -1, 100, 9]));
    // Only the first program's tile atomics matter for `cell`; run 5 programs.
    run_on_buffers(&m, [5, 1, 1], &mut mem);
    // Program 4 saw the cell after 4 programs each adding 1 + 3 + 4 = 8.
    assert_eq!(mem.buffers[0].to_f64s(), [0.5 + 5.0 * 8.0]);
    let base = 0.5 + 4.0 * 8.0;
    assert_eq!(
        mem.buffers[1].to_f64s(),
        [base, 0.0, base + 1.0, base + 4.0]
    );
    // cas: 0 -> 1 -> 2 ... by successive programs; max 4, min 0, xchg 4.
    assert_eq!(mem.buffers[2].to_i64s(), [5, 4, 0, 4]);
}

#[test]
fn descriptors_load_zero_outside_and_store_inside() {
    let (rows, cols) = (5i64, 7i64);
    let dty = Type::Desc(S::I32, dims(&[4, 4]));
    let m = kernel(
        &[
            ("src", ptr(S::I32)),
            ("out", ptr(S::I32)),
            ("dst", ptr(S::I32)),
        ],
        |k, p| {
            let r = k.int(rows, S::I64);
            let c = k.int(cols, S::I64);
            let one = k.int(1, S::I64);
            let d = k.op1(
                OpKind::MakeDesc,
                vec![p[0], r, c, c, one],
                dty.clone(),
                Attrs::new(),
            );
            let o0 = k.i32(3);
            let o1 = k.i32(5);
            let blk = k.op1(
                OpKind::DescLoad,
                vec![d, o0, o1],
                tile(&[4, 4], S::I32),
                Attrs::new(),
            );
            k.store_tile(p[1], blk);
            let dd = k.op1(
                OpKind::MakeDesc,
                vec![p[2], r, c, c, one],
                dty.clone(),
                Attrs::new(),
            );
            let m1 = k.i32(-1);
            let f = k.i32(4);
            k.op0(OpKind::DescStore, vec![dd, m1, f, blk], Attrs::new());
        },
    );
    let src: Vec<i64> = (0..rows * cols).map(|i| i + 1).collect();
    let mut mem = Memory::new();
    mem.add(Buffer::from_i64s(S::I32, &src));
    mem.add(Buffer::zeroed(S::I32, 16));
    mem.add(Buffer::zeroed(S::I32, (rows * cols) as usize));
    run_on_buffers(&m, [1, 1, 1], &mut mem);
    let at = |r: i64, c: i64| {
        if r < rows && c < cols {
            r * cols + c + 1
        } else {
            0
        }
    };
    let mut want = vec![];
    for i in 0..4 {
        for j in 0..4 {
            want.push(at(3 + i, 5 + j));
        }
    }
    assert_eq!(mem.buffers[1].to_i64s(), want);
    let dst = mem.buffers[2].to_i64s();
    for r in 0..rows {
        for c in 0..cols {
            let (bi, bj) = (r + 1, c - 4);
            let w = if (0..4).contains(&bi) && (0..4).contains(&bj) {
                want[(bi * 4 + bj) as usize]
            } else {
                0
            };
            assert_eq!(dst[(r * cols + c) as usize], w, "dst[{r}, {c}]");
        }
    }
}
