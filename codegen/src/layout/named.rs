//! Constructors for the named layouts, each as a [`LinearLayout`]:
//! Triton's blocked layout (registers, lanes, warps tiling a tile), its
//! slice (the layout of a reduction's result), and the swizzled shared
//! layout (an XOR swizzle that keeps `ldmatrix`-style row accesses free of
//! bank conflicts).

use super::linear::{LayoutError, LinearLayout};

/// The name of output dimension `d` (`dim0`, `dim1`, ...).
pub fn dim_name(d: usize) -> String {
    format!("dim{d}")
}

fn check_rank(what: &str, v: &[u64], rank: usize) -> Result<(), LayoutError> {
    if v.len() != rank {
        return Err(LayoutError(format!(
            "{what} has {} entries for a rank-{rank} tile",
            v.len()
        )));
    }
    Ok(())
}

fn check_order(order: &[usize], rank: usize) -> Result<(), LayoutError> {
    let mut seen = vec![false; rank];
    for &d in order {
        if d >= rank || seen[d] {
            return Err(LayoutError(format!(
                "order {order:?} is not a permutation of 0..{rank}"
            )));
        }
        seen[d] = true;
    }
    if order.len() != rank {
        return Err(LayoutError(format!(
            "order {order:?} is not a permutation of 0..{rank}"
        )));
    }
    Ok(())
}

/// Triton's `#blocked` layout of a tile of `shape`: each thread holds
/// `size_per_thread` contiguous elements, a warp's lanes tile
/// `threads_per_warp`, the warps tile `warps_per_cta`; `order[0]` is the
/// fastest-varying dimension. Tiles larger than that footprint repeat it over
/// more registers; smaller ones broadcast (several threads hold an element).
pub fn blocked(
    shape: &[u64],
    size_per_thread: &[u64],
    threads_per_warp: &[u64],
    warps_per_cta: &[u64],
    order: &[usize],
) -> Result<LinearLayout, LayoutError> {
    let rank = shape.len();
    check_rank("size_per_thread", size_per_thread, rank)?;
    check_rank("threads_per_warp", threads_per_warp, rank)?;
    check_rank("warps_per_cta", warps_per_cta, rank)?;
    check_order(order, rank)?;
    let mut layout = LinearLayout::empty();
    for (in_name, sizes) in [
        ("register", size_per_thread),
        ("lane", threads_per_warp),
        ("warp", warps_per_cta),
    ] {
        for &d in order {
            layout =
                layout.product(&LinearLayout::identity_1d(sizes[d], in_name, &dim_name(d))?)?;
        }
    }
    let names: Vec<String> = (0..rank).map(dim_name).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    layout.reorder_outs(&names)?.fit_to_shape(shape)
}

/// The layout of `parent` with dimension `dim` reduced away (Triton's
/// `#slice`): the remaining dimensions are renumbered `dim0..`.
pub fn slice(parent: &LinearLayout, dim: usize) -> Result<LinearLayout, LayoutError> {
    let sliced = parent.remove_out_dim(&dim_name(dim))?;
    let names: Vec<String> = (0..sliced.out_dims().len()).map(dim_name).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    sliced.rename_outs(&names)
}

/// A swizzled shared-memory layout of a 2-d tile (Triton's
/// `#swizzled_shared`): input `offset` (in elements) to `(dim0, dim1)`.
/// Along the fastest dimension `order[0]` elements are contiguous in groups of
/// `vec`; row `r` of the other dimension XORs the group index with
/// `(r / per_phase) % max_phase`, so that consecutive rows read at the same
/// column land in different banks.
pub fn swizzled_shared(
    shape: &[u64],
    vec: u64,
    per_phase: u64,
    max_phase: u64,
    order: &[usize],
) -> Result<LinearLayout, LayoutError> {
    if shape.len() != 2 {
        return Err(LayoutError(format!(
            "swizzled shared layouts are 2-d, got shape {shape:?}"
        )));
    }
    check_order(order, 2)?;
    for (what, v) in [
        ("vec", vec),
        ("per_phase", per_phase),
        ("max_phase", max_phase),
    ] {
        if v == 0 || !v.is_power_of_two() {
            return Err(LayoutError(format!("{what} = {v} is not a power of two")));
        }
    }
    let (fast, slow) = (order[0], order[1]);
    let (cols, rows) = (shape[fast], shape[slow]);
    for (what, v) in [("rows", rows), ("columns", cols)] {
        if v == 0 || !v.is_power_of_two() {
            return Err(LayoutError(format!("{what} = {v} is not a power of two")));
        }
    }
    if vec * max_phase > cols {
        return Err(LayoutError(format!(
            "vec * max_phase = {} exceeds the {cols} columns of the contiguous dimension",
            vec * max_phase
        )));
    }
    let coords = |fast_c: u64, slow_c: u64| -> Vec<u64> {
        let mut c = vec![0u64; 2];
        c[fast] = fast_c;
        c[slow] = slow_c;
        c
    };
    let mut bases = Vec::new();
    for b in 0..cols.trailing_zeros() {
        bases.push(coords(1 << b, 0));
    }
    for b in 0..rows.trailing_zeros() {
        let row = 1u64 << b;
        bases.push(coords(((row / per_phase) % max_phase) * vec, row));
    }
    LinearLayout::from_bases(
        &[("offset", bases)],
        &[("dim0", shape[0]), ("dim1", shape[1])],
    )
}
