use tilefuse::tile_kernel;

#[tile_kernel]
fn k(x: Ptr<f32>, n: i32) {
    let v = match n {
        0 => 1.0,
        _ => 2.0,
    };
    store(x, v);
}

fn main() {}
