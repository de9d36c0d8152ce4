//! [`DecodeState`], the recurrent form of causal TSSA: running sums per sequence instead of a
//! KV cache, stepped one token at a time or prefilled with a chunk through the parallel form.

use super::*;

/// The recurrent state of causal TSSA for decoding (SEEDS.md §1.3, "Recurrent decode form"):
/// per `(b, h)` the running sums `S₂ = Σ w²` (`D`), `R = Σ Π w²` (`D`) and `P = Σ Π`, and the
/// absolute position of the next token. `O(B·H·D)` memory whatever the length: no KV cache.
#[derive(Debug)]
pub struct DecodeState {
    /// `S₂`, `(B·H, D)`.
    s2: Tensor<f32>,
    /// `[R, P]`, `(B·H, D + 1)`.
    rp: Tensor<f32>,
    /// Next absolute position.
    pos: usize,
    b: usize,
    h: usize,
    d: usize,
}

impl DecodeState {
    /// The empty state (no token seen) of `batch` sequences with `heads` heads of dim
    /// `head_dim`, on `dev`.
    pub fn new(dev: &Device, batch: usize, heads: usize, head_dim: usize) -> Result<DecodeState> {
        dims(
            "tssa::DecodeState::new",
            "the state",
            &[batch, heads, 1, head_dim],
            &Params::default(),
            tile_kind(dev),
        )?;
        Ok(DecodeState {
            s2: dev.zeros::<f32>([batch * heads, head_dim])?,
            rp: dev.zeros::<f32>([batch * heads, head_dim + 1])?,
            pos: 0,
            b: batch,
            h: heads,
            d: head_dim,
        })
    }

    /// The absolute position of the next token (how many tokens the state has seen).
    pub fn position(&self) -> usize {
        self.pos
    }

    /// `(B, H, D)`.
    pub fn shape(&self) -> (usize, usize, usize) {
        (self.b, self.h, self.d)
    }

    /// Host copies of the running sums: `S₂ = Σ w²` `(B·H·D)`, `R = Σ Π w²` `(B·H·D)` and
    /// `P = Σ Π` `(B·H)`, row-major over `(b, h[, j])`.
    pub fn sums(&self) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
        let rp = self.rp.to_vec();
        let mut r = Vec::with_capacity(self.b * self.h * self.d);
        let mut p = Vec::with_capacity(self.b * self.h);
        for row in rp.chunks_exact(self.d + 1) {
            r.extend_from_slice(&row[..self.d]);
            p.push(row[self.d]);
        }
        (self.s2.to_vec(), r, p)
    }

    /// One decode step for the token at [`position`](Self::position) (then the position
    /// advances): `S₂ += w_t²`; `u = Σ_j (w_t²/max(S₂, 1e-12) + bias_h[t])`;
    /// `Π = softmax_h(temp_h·u)`; `R += Π w_t²`; `P += Π`; `y_t = −w_t·Π/(1 + R/(P + 1e-8))`.
    ///
    /// `w_t (B, H, D)`. Returns `y_t (B, H, D)`, equal to row `t` of [`causal_forward`].
    /// A rejected input (a shape mismatch, or `t ≥ block_size` of `denom_bias`) changes nothing.
    ///
    /// One kernel holds every head of the token; on a GPU its prebuilt tiles take `H ≤ 32`,
    /// `D ≤ 64`, and other shapes run the parallel form on a chunk of this one token instead
    /// (the same result, a few more launches).
    pub fn step<T: Input>(
        &mut self,
        dev: &Device,
        w_t: &Tensor<T>,
        temp: &Tensor<f32>,
        denom_bias: &Tensor<f32>,
    ) -> Result<Tensor<f32>> {
        const F: &str = "tssa::DecodeState::step";
        same_device(F, dev, "w_t", w_t)?;
        same_device(F, dev, "the state", &self.s2)?;
        if w_t.shape() != [self.b, self.h, self.d] {
            return Err(invalid(
                F,
                format!(
                    "w_t has shape {:?}, expected the state's (B, H, D) = ({}, {}, {}): one \
                     token of every sequence",
                    w_t.shape(),
                    self.b,
                    self.h,
                    self.d
                ),
            ));
        }
        check_temp(F, dev, temp, self.h)?;
        let bs = check_bias(F, dev, denom_bias, self.h, self.pos + 1)?;
        let w = widen(dev, w_t)?;
        let w = w.get();
        let kind = tile_kind(dev);
        let y = match k::step_tiles(kind, self.h, self.d) {
            Some((bh, bd)) => {
                let mut y = dev.zeros::<f32>(w.shape().to_vec())?;
                k::tssa_decode_step::launch(
                    dev,
                    Grid::x(self.b),
                    (
                        w,
                        &mut self.s2,
                        &mut self.rp,
                        temp,
                        denom_bias,
                        &mut y,
                        self.h as i32,
                        self.d as i32,
                        bs as i32,
                        self.pos as i32,
                        bh,
                        bd,
                    ),
                )?;
                y
            }
            // No step kernel holds all heads of a token on this device (a GPU's prebuilt one
            // takes H <= 32, D <= 64): the parallel form over a chunk of one token, which
            // equals the step (`w_t (B, H, D)` is `(B, H, 1, D)` in memory).
            None => {
                let dm = Dims::new(kind, self.b, self.h, 1, self.d, &Params::default());
                let cs = causal_stats(
                    dev,
                    w,
                    temp,
                    denom_bias,
                    bs,
                    self.pos,
                    &dm,
                    &mut self.s2,
                    &mut self.rp,
                )?;
                causal_out(dev, w, &cs, &dm)?
            }
        };
        self.pos += 1;
        Ok(y)
    }

    /// Chunked prefill: runs the parallel causal form over `w (B, H, T, D)` continuing from
    /// this state (its running sums and position), and leaves the state after the chunk.
    /// Returns `y (B, H, T, D)`, equal to stepping every token. A rejected input changes nothing.
    pub fn prefill<T: Input>(
        &mut self,
        dev: &Device,
        w: &Tensor<T>,
        temp: &Tensor<f32>,
        denom_bias: &Tensor<f32>,
        params: &Params,
    ) -> Result<Tensor<f32>> {
        const F: &str = "tssa::DecodeState::prefill";
        same_device(F, dev, "w", w)?;
        same_device(F, dev, "the state", &self.s2)?;
        let dm = dims(F, "w", w.shape(), params, tile_kind(dev))?;
        if (dm.b, dm.h, dm.d) != (self.b, self.h, self.d) {
            return Err(invalid(
                F,
                format!(
                    "w has shape {:?}, expected (B, H, T, D) with the state's (B, H, D) = \
                     ({}, {}, {})",
                    w.shape(),
                    self.b,
                    self.h,
                    self.d
                ),
            ));
        }
        check_temp(F, dev, temp, dm.h)?;
        let bs = check_bias(F, dev, denom_bias, dm.h, self.pos + dm.n)?;
        let w = widen(dev, w)?;
        let w = w.get();
        let cs = causal_stats(
            dev,
            w,
            temp,
            denom_bias,
            bs,
            self.pos,
            &dm,
            &mut self.s2,
            &mut self.rp,
        )?;
        let y = causal_out(dev, w, &cs, &dm)?;
        self.pos += dm.n;
        Ok(y)
    }
}
