use tilefuse::tile_kernel;

mod helpers {
    #[tilefuse::tile_fn]
    pub fn twice(x: _) -> _ {
        x * 2
    }
}

#[tile_kernel]
fn k(x: Ptr<f32>) {
    store(x, helpers::thrice(load(x)));
}

fn main() {}
