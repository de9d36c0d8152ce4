use tilefuse::tile_kernel;

#[tile_kernel]
fn k(x: Ptr<f16>, y: Ptr<f32>, n: i32) {
    let offs = arange::<64>();
    let mut acc = zeros::<f32, 64>();
    for i in 0..n {
        acc = acc + load(x + i * 64 + offs);
        acc = load(x + i * 64 + offs);
    }
    store(y + offs, acc);
}

fn main() {}
