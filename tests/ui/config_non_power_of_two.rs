use tilefuse::tile_kernel;

#[tile_kernel(configs = [(BLOCK = 128), (BLOCK = 96)])]
fn k<const BLOCK: usize>(x: Ptr<f32>, n: i32) {
    let offs = program_id(0) * BLOCK as i32 + arange::<BLOCK>();
    store(x + offs, 0.0, offs < n);
}

fn main() {}
