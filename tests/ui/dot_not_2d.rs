use tilefuse::tile_kernel;

#[tile_kernel]
fn k(a: Ptr<f16>, b: Ptr<f16>, c: Ptr<f32>) {
    let offs = arange::<64>();
    let x = load(a + offs);
    let y = load(b + offs);
    store(c, sum(dot(x, y), 0));
}

fn main() {}
