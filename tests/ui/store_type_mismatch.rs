use tilefuse::tile_kernel;

#[tile_kernel]
fn k(x: Ptr<f16>, y: Ptr<f16>) {
    let offs = arange::<64>();
    let v = load(x + offs).cast::<f32>();
    store(y + offs, exp(v));
}

fn main() {}
