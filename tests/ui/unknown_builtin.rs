use tilefuse::tile_kernel;

#[tile_kernel]
fn k<const BLOCK: usize>(x: Ptr<f32>) {
    let offs = arrange::<BLOCK>();
    store(x + offs, 0.0);
}

fn main() {}
