//! Layout tests: the named layouts against hand-computed Triton mappings,
//! and the algebra (product, compose, inverse) on their properties.

use super::*;

/// Every input tuple of a layout, in order.
fn all_inputs(l: &LinearLayout) -> Vec<Vec<u64>> {
    let sizes: Vec<u64> = l.in_dims().iter().map(|d| l.in_size(d)).collect();
    let total: u64 = sizes.iter().product();
    (0..total)
        .map(|mut i| {
            sizes
                .iter()
                .map(|&s| {
                    let v = i % s;
                    i /= s;
                    v
                })
                .collect()
        })
        .collect()
}

#[test]
fn identity_and_zeros() {
    let id = LinearLayout::identity_1d(8, "lane", "dim0").unwrap();
    for i in 0..8 {
        assert_eq!(id.apply(&[i]).unwrap(), vec![i]);
    }
    assert!(id.is_injective() && id.is_surjective());
    let z = LinearLayout::zeros_1d(4, "warp", "dim0").unwrap();
    assert_eq!(z.apply(&[3]).unwrap(), vec![0]);
    assert!(!z.is_injective());
    assert!(
        LinearLayout::identity_1d(6, "lane", "dim0")
            .unwrap_err()
            .to_string()
            .contains("not a power of two")
    );
    assert!(
        id.apply(&[8])
            .unwrap_err()
            .to_string()
            .contains("outside `lane` of size 8")
    );
}

#[test]
fn blocked_matches_tritons_mapping() {
    // sizePerThread [1, 4], threadsPerWarp [8, 4], warpsPerCTA [4, 1], order [1, 0]
    // on a 32x16 tile: lane l, warp w, register r holds (l / 4 + 8 w, (l % 4) * 4 + r).
    let l = blocked(&[32, 16], &[1, 4], &[8, 4], &[4, 1], &[1, 0]).unwrap();
    assert_eq!(l.in_dims(), ["register", "lane", "warp"]);
    assert_eq!(l.out_dims(), ["dim0", "dim1"]);
    for w in 0..4 {
        for lane in 0..32 {
            for r in 0..4 {
                let want = vec![lane / 4 + 8 * w, (lane % 4) * 4 + r];
                assert_eq!(
                    l.apply(&[r, lane, w]).unwrap(),
                    want,
                    "r {r} lane {lane} warp {w}"
                );
            }
        }
    }
    assert!(l.is_injective() && l.is_surjective());
}

#[test]
fn blocked_repeats_over_registers_and_broadcasts() {
    // Twice the footprint along dim0: a register bit covers rows 32..64.
    let big = blocked(&[64, 16], &[1, 4], &[8, 4], &[4, 1], &[1, 0]).unwrap();
    assert_eq!(big.in_size("register"), 8);
    assert_eq!(big.apply(&[4, 0, 0]).unwrap(), vec![32, 0]);
    assert!(big.is_injective() && big.is_surjective());
    // Half the footprint: warps 2 and 3 hold the same rows as warps 0 and 1.
    let small = blocked(&[16, 16], &[1, 4], &[8, 4], &[4, 1], &[1, 0]).unwrap();
    assert_eq!(
        small.apply(&[1, 5, 2]).unwrap(),
        small.apply(&[1, 5, 0]).unwrap()
    );
    assert!(small.is_surjective() && !small.is_injective());
}

#[test]
fn column_major_blocked_and_conversion() {
    let row_major = blocked(&[16, 16], &[1, 2], &[4, 8], &[4, 1], &[1, 0]).unwrap();
    let col_major = blocked(&[16, 16], &[2, 1], &[8, 4], &[1, 4], &[0, 1]).unwrap();
    assert_eq!(col_major.apply(&[1, 1, 0]).unwrap(), vec![3, 0]);
    let conv = row_major.invert_and_compose(&col_major).unwrap();
    assert_eq!(conv.out_dims(), ["register", "lane", "warp"]);
    for x in all_inputs(&row_major) {
        let there = conv.apply(&x).unwrap();
        assert_eq!(
            col_major.apply(&there).unwrap(),
            row_major.apply(&x).unwrap(),
            "{x:?}"
        );
    }
}

#[test]
fn inverse_of_a_bijection_composes_to_identity() {
    let l = blocked(&[32, 16], &[1, 4], &[8, 4], &[4, 1], &[1, 0]).unwrap();
    let inv = l.pseudo_inverse().unwrap();
    let round = l.compose(&inv).unwrap();
    for x in all_inputs(&l) {
        assert_eq!(round.apply(&x).unwrap(), x);
    }
    let small = blocked(&[16, 16], &[1, 4], &[8, 4], &[4, 1], &[1, 0]).unwrap();
    // Surjective only: a right inverse still maps every coordinate to a holder of it.
    let right = small.pseudo_inverse().unwrap();
    for r in 0..16 {
        for c in 0..16 {
            let holder = right.apply(&[r, c]).unwrap();
            assert_eq!(small.apply(&holder).unwrap(), vec![r, c]);
        }
    }
    // Two lanes on the same coordinate of a 4-long dimension: 2 and 3 are never reached.
    let partial =
        LinearLayout::from_bases(&[("lane", vec![vec![1], vec![1]])], &[("dim0", 4)]).unwrap();
    assert!(!partial.is_surjective());
    let err = partial.pseudo_inverse().unwrap_err().to_string();
    assert!(err.contains("reaches only 2^1 of 2^2"), "{err}");
}

#[test]
fn slice_forgets_the_reduced_dimension() {
    let l = blocked(&[32, 16], &[1, 4], &[8, 4], &[4, 1], &[1, 0]).unwrap();
    let rows = slice(&l, 1).unwrap();
    assert_eq!(rows.out_dims(), ["dim0"]);
    // Lanes 0..4 of a warp share a row: the row sum lives in all four.
    assert_eq!(rows.apply(&[0, 1, 0]).unwrap(), vec![0]);
    assert_eq!(rows.apply(&[3, 5, 1]).unwrap(), vec![9]);
    let cols = slice(&l, 0).unwrap();
    assert_eq!(cols.out_dims(), ["dim0"]);
    assert_eq!(cols.apply(&[3, 5, 1]).unwrap(), vec![7]);
}

#[test]
fn swizzle_makes_eight_row_reads_conflict_free() {
    // f16, 64 columns: 16-byte vectors (vec 8), 8 phases. Reading the 16-byte
    // chunk at column 0 of eight consecutive rows (what ldmatrix does) must
    // hit eight different 16-byte bank groups of the 128-byte bank window.
    let l = swizzled_shared(&[64, 64], 8, 1, 8, &[1, 0]).unwrap();
    assert!(l.is_injective() && l.is_surjective());
    let where_is = l.pseudo_inverse().unwrap();
    for col_chunk in 0..8u64 {
        let mut groups: Vec<u64> = (0..8u64)
            .map(|row| where_is.apply(&[row, col_chunk * 8]).unwrap()[0] * 2 / 16 % 8)
            .collect();
        groups.sort_unstable();
        assert_eq!(
            groups,
            (0..8).collect::<Vec<_>>(),
            "column chunk {col_chunk}"
        );
    }
    // Without the swizzle all eight rows hit the same group.
    let plain = swizzled_shared(&[64, 64], 8, 1, 1, &[1, 0])
        .unwrap()
        .pseudo_inverse()
        .unwrap();
    let groups: Vec<u64> = (0..8u64)
        .map(|row| plain.apply(&[row, 0]).unwrap()[0] * 2 / 16 % 8)
        .collect();
    assert!(groups.iter().all(|&g| g == 0));
}

#[test]
fn bad_arguments_are_errors() {
    assert!(
        blocked(&[32, 16], &[1], &[8, 4], &[4, 1], &[1, 0])
            .unwrap_err()
            .to_string()
            .contains("size_per_thread has 1 entries")
    );
    assert!(
        blocked(&[32, 16], &[1, 4], &[8, 4], &[4, 1], &[1, 1])
            .unwrap_err()
            .to_string()
            .contains("not a permutation")
    );
    assert!(
        blocked(&[30, 16], &[1, 4], &[8, 4], &[4, 1], &[1, 0])
            .unwrap_err()
            .to_string()
            .contains("not a power of two")
    );
    assert!(
        swizzled_shared(&[64, 64], 8, 1, 16, &[1, 0])
            .unwrap_err()
            .to_string()
            .contains("exceeds the 64 columns")
    );
    assert!(
        swizzled_shared(&[8, 8, 8], 1, 1, 1, &[1, 0])
            .unwrap_err()
            .to_string()
            .contains("2-d")
    );
    let l = LinearLayout::identity_1d(8, "lane", "dim0").unwrap();
    let m = LinearLayout::identity_1d(4, "dim0", "x").unwrap();
    assert!(
        l.compose(&m)
            .unwrap_err()
            .to_string()
            .contains("does not fit")
    );
    assert!(
        l.remove_out_dim("dim7")
            .unwrap_err()
            .to_string()
            .contains("no output dimension `dim7`")
    );
}
