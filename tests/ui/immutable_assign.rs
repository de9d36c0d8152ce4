use tilefuse::tile_kernel;

#[tile_kernel]
fn k(x: Ptr<f32>, n: i32) {
    let acc = 0.0;
    for i in 0..n {
        acc += load(x + i);
    }
    store(x, acc);
}

fn main() {}
