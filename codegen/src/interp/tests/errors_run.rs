//! Errors while a kernel runs: out-of-bounds and misaligned accesses,
//! integer overflow, division by zero and bad shifts, failing asserts, and
//! misused descriptors and atomics. Each asserts the error kind and what
//! the message says (op, location, program, lane, buffer, values).

use super::*;

/// A kernel copying `n` f32 through a 64-lane block without a mask, with
/// the load at kern.rs:7:9 and the store at kern.rs:8:9.
fn unmasked_copy() -> Module {
    kernel(&[("x", ptr(S::F32)), ("y", ptr(S::F32))], |k, p| {
        let pid = k.pid(0);
        let bs = k.i32(64);
        let start = k.bin(BinaryOp::Mul, pid, bs);
        let ar = k.arange(64);
        let offs = k.bin(BinaryOp::Add, start, ar);
        let xp = k.addptr(p[0], offs);
        k.at(7, 9);
        let v = k.load(xp, None, None);
        k.at(8, 9);
        let yp = k.addptr(p[1], offs);
        k.store(yp, v, None);
    })
}

/// Memory with zeroed f32 buffers of the given lengths.
fn f32_buffers(lens: &[usize]) -> Memory {
    Memory {
        buffers: lens.iter().map(|&n| Buffer::zeroed(S::F32, n)).collect(),
    }
}

#[test]
fn out_of_bounds_load_names_everything() {
    let m = unmasked_copy();
    let mut mem = f32_buffers(&[100, 128]);
    let e = expect_err(
        &m,
        [2, 1, 1],
        &[arg(0, S::F32), arg(1, S::F32)],
        &mut mem,
        ErrorKind::OutOfBounds,
        &[
            "kern.rs:7:9",
            "tile.load",
            "@k",
            "program (1, 0, 0)",
            "lane 36",
            "buffer 0",
            "byte offset 400",
            "buffer size 400 bytes",
        ],
    );
    assert_eq!(e.op, Some(OpKind::Load));
    assert_eq!(e.program, Some([1, 0, 0]));
    assert_eq!(
        e.to_string(),
        "kern.rs:7:9: tile.load in @k, program (1, 0, 0): out-of-bounds access at lane 36: \
         buffer 0, byte offset 400 (4 bytes of f32), buffer size 400 bytes"
    );
    // Program 0 ran fully before program 1 failed.
    assert_eq!(mem.buffers[1].to_f64s()[..64], [0.0; 64]);
}

#[test]
fn out_of_bounds_store_and_bad_pointers() {
    let m = unmasked_copy();
    let mut mem = f32_buffers(&[128, 70]);
    expect_err(
        &m,
        [2, 1, 1],
        &[arg(0, S::F32), arg(1, S::F32)],
        &mut mem,
        ErrorKind::OutOfBounds,
        &[
            "kern.rs:8:9",
            "tile.store",
            "program (1, 0, 0)",
            "lane 6",
            "buffer 1",
            "byte offset 280",
            "buffer size 280 bytes",
        ],
    );
    // A negative starting offset.
    let mut mem = f32_buffers(&[128, 128]);
    let neg = arg_at(0, -8, S::F32);
    expect_err(
        &m,
        [1, 1, 1],
        &[neg, arg(1, S::F32)],
        &mut mem,
        ErrorKind::OutOfBounds,
        &["tile.load", "lane 0", "byte offset -8"],
    );
    // A misaligned pointer.
    let odd = arg_at(0, 2, S::F32);
    expect_err(
        &m,
        [1, 1, 1],
        &[odd, arg(1, S::F32)],
        &mut mem,
        ErrorKind::Misaligned,
        &[
            "tile.load",
            "misaligned",
            "byte offset 2 is not a multiple of 4",
        ],
    );
}

#[test]
fn integer_overflow_is_an_error() {
    // pid * 2^30 * 4 overflows i32 in program 1.
    let m = kernel(&[("out", ptr(S::I32))], |k, p| {
        let pid = k.pid(0);
        let big = k.i32(1 << 30);
        let four = k.i32(4);
        let a = k.bin(BinaryOp::Mul, pid, big);
        k.at(5, 13);
        let b = k.bin(BinaryOp::Mul, a, four);
        k.store(p[0], b, None);
    });
    expect_err_one_buffer(
        &m,
        [2, 1, 1],
        S::I32,
        ErrorKind::IntegerOverflow,
        &[
            "kern.rs:5:13",
            "tile.mul",
            "program (1, 0, 0)",
            "1073741824 * 4 = 4294967296 does not fit in i32",
        ],
    );
    // Lanes are named in tiles; arange + offset overflow.
    let m = kernel(&[("out", ptr(S::I8))], |k, p| {
        let r = k.arange(8);
        let c = k.i32(2147483644);
        let s = k.bin(BinaryOp::Add, r, c);
        let q = k.addptr(p[0], s);
        let v = k.int(1, S::I8);
        k.store(q, v, None);
    });
    expect_err_one_buffer(
        &m,
        [1, 1, 1],
        S::I8,
        ErrorKind::IntegerOverflow,
        &["tile.add", "at lane 4"],
    );
    // A narrowing cast that does not fit.
    let m = kernel(&[("out", ptr(S::I16))], |k, p| {
        let v = k.i32(40000);
        let c = k.cast(v, S::I16);
        k.store(p[0], c, None);
    });
    expect_err_one_buffer(
        &m,
        [1, 1, 1],
        S::I16,
        ErrorKind::IntegerOverflow,
        &["tile.cast", "40000 from i32 to i16"],
    );
    // A constant out of its type.
    let m = kernel(&[], |k, _| {
        k.int(300, S::I8);
    });
    expect_err_bare(
        &m,
        ErrorKind::IntegerOverflow,
        &["tile.constant", "300 does not fit in i8"],
    );
    // Pointer arithmetic beyond i64.
    let m = kernel(&[("x", ptr(S::F64))], |k, p| {
        let big = k.int(i64::MAX / 4, S::I64);
        k.addptr(p[0], big);
    });
    expect_err_one_buffer(
        &m,
        [1, 1, 1],
        S::F64,
        ErrorKind::IntegerOverflow,
        &["tile.addptr", "pointer offset overflow"],
    );
}

#[test]
fn division_by_zero_and_bad_shifts() {
    for (op, b, kind, needle) in [
        (
            BinaryOp::Div,
            0,
            ErrorKind::DivisionByZero,
            "integer division by zero: 7 / 0",
        ),
        (
            BinaryOp::Rem,
            0,
            ErrorKind::DivisionByZero,
            "integer division by zero: 7 % 0",
        ),
        (
            BinaryOp::Shl,
            32,
            ErrorKind::ShiftOutOfRange,
            "shift amount 32 is out of range for i32",
        ),
        (
            BinaryOp::Shr,
            -1,
            ErrorKind::ShiftOutOfRange,
            "shift amount -1",
        ),
    ] {
        let m = kernel(&[], |k, _| {
            let x = k.i32(7);
            let y = k.i32(b);
            k.at(3, 3);
            k.bin(op, x, y);
        });
        expect_err_bare(&m, kind, &[needle, "kern.rs:3:3"]);
    }
    // i32::MIN / -1 overflows.
    let m = kernel(&[], |k, _| {
        let x = k.i32(i64::from(i32::MIN));
        let y = k.i32(-1);
        k.bin(BinaryOp::Div, x, y);
    });
    expect_err_bare(
        &m,
        ErrorKind::IntegerOverflow,
        &["tile.div", "does not fit in i32"],
    );
}

#[test]
fn failing_assert_names_message_location_and_program() {
    let m = kernel(&[], |k, _| {
        let pid = k.pid(0);
        let two = k.i32(2);
        let c = k.cmp("lt", pid, two);
        k.at(4, 5);
        k.op0(OpKind::Assert, vec![c], named("msg", "pid too big"));
    });
    let out = run(&m, "k", [2, 1, 1], &[], &mut Memory::new()).unwrap();
    assert!(out.printed.is_empty());
    let e = expect_err(
        &m,
        [3, 1, 1],
        &[],
        &mut Memory::new(),
        ErrorKind::AssertFailed,
        &[
            "assertion failed: pid too big",
            "kern.rs:4:5",
            "tile.assert",
            "program (2, 0, 0)",
        ],
    );
    assert_eq!(e.loc.map(|l| l.line), Some(4));
    // On a tile, the first failing lane is named.
    let m = kernel(&[], |k, _| {
        let r = k.arange(8);
        let five = k.i32(5);
        let c = k.cmp("ne", r, five);
        k.op0(OpKind::Assert, vec![c], named("msg", "no fives"));
    });
    expect_err_bare(&m, ErrorKind::AssertFailed, &["no fives at lane 5"]);
}

/// A kernel making a 1-d descriptor of `extent` f32 (stride 1, block 4)
/// over its argument and loading a block from it at `offset` (no offset
/// operand when None).
fn desc_load_kernel(extent: i64, offset: Option<i64>) -> Module {
    kernel(&[("x", ptr(S::F32))], |k, p| {
        let n = k.int(extent, S::I64);
        let one = k.int(1, S::I64);
        let d = k.op1(
            OpKind::MakeDesc,
            vec![p[0], n, one],
            Type::Desc(S::F32, dims(&[4])),
            Attrs::new(),
        );
        let mut operands = vec![d];
        operands.extend(offset.map(|o| k.i32(o)));
        k.op1(OpKind::DescLoad, operands, tile(&[4], S::F32), Attrs::new());
    })
}

#[test]
fn descriptor_and_atomic_misuse() {
    // desc_load with a mistyped operand count, and an unknown atomic kind.
    let m = desc_load_kernel(4, None);
    let mut mem = Memory::new();
    mem.add(Buffer::zeroed(S::F32, 4));
    expect_err(
        &m,
        [1, 1, 1],
        &[arg(0, S::F32)],
        &mut mem,
        ErrorKind::InvalidIr,
        &["tile.desc_load", "takes 1 offsets, got 0"],
    );
    let m = kernel(&[("x", ptr(S::F32))], |k, p| {
        let v = k.float(1.0, S::F32);
        k.op1(
            OpKind::AtomicRmw,
            vec![p[0], v],
            Type::Scalar(S::F32),
            named("kind", "nand"),
        );
    });
    expect_err(
        &m,
        [1, 1, 1],
        &[arg(0, S::F32)],
        &mut mem,
        ErrorKind::InvalidIr,
        &["unknown atomic kind `nand`"],
    );
    // A descriptor reads out of its buffer when its shape lies about it.
    let m = desc_load_kernel(8, Some(2));
    expect_err(
        &m,
        [1, 1, 1],
        &[arg(0, S::F32)],
        &mut mem,
        ErrorKind::OutOfBounds,
        &["tile.desc_load", "lane 2", "byte offset 16"],
    );
}
