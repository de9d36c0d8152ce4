//! Layouts as data: how the elements of a tile are distributed over
//! registers, lanes and warps, or laid out in shared memory.
//!
//! Every layout is a [`LinearLayout`] (a GF(2)-linear map from hardware
//! indices to tile coordinates, after Triton's linear layouts); the named
//! layouts of the GPU dialect (blocked, slice, swizzled shared, and the MMA
//! operand layouts to come) are constructors in [`named`]. A conversion
//! between any two layouts is `src.invert_and_compose(&dst)`.

pub mod linear;
pub mod named;

pub use linear::{LayoutError, LinearLayout};
pub use named::{blocked, dim_name, slice, swizzled_shared};

#[cfg(test)]
mod tests;
