use tilefuse::tile_kernel;

#[tile_kernel]
fn k(x: Ptr<f32>, n: i32) {
    let offs = arange::<64>();
    let v = load(x + offs, offs, 0.0);
    store(x + offs, v);
}

fn main() {}
