use tilefuse::tile_kernel;

#[tile_kernel(configs = [(BLOCK = 16, cpu_only = true), (BLOCK = 64)], prebuild = [Causal])]
fn k<const BLOCK: usize>(x: Ptr<f32>, #[constexpr] causal: bool) {
    let v = select(causal, 1.0, 0.0);
    store(x + arange::<BLOCK>(), v);
}

#[tile_kernel(configs = [(BLOCK = 64)], prebuild = [BLOCK])]
fn not_a_flag<const BLOCK: usize>(x: Ptr<f32>) {
    store(x + arange::<BLOCK>(), 0.0);
}

#[tile_kernel(configs = [(BLOCK = 64, cpu_only = 1)])]
fn cpu_only_is_a_bool<const BLOCK: usize>(x: Ptr<f32>) {
    store(x + arange::<BLOCK>(), 0.0);
}

fn main() {}
