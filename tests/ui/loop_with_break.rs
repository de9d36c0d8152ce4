use tilefuse::tile_kernel;

#[tile_kernel]
fn k(x: Ptr<f32>, n: i32) {
    let mut i = 0;
    loop {
        i += 1;
        if i == n {
            break;
        }
    }
}

fn main() {}
