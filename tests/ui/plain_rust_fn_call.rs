use tilefuse::tile_kernel;

// A plain Rust function is not callable from tile code: it must be a #[tile_fn].
fn helper(x: f32) -> f32 {
    x
}

#[tile_kernel]
fn k(x: Ptr<f32>) {
    store(x, helper(load(x)));
}

fn main() {
    let _ = helper(1.0);
}
