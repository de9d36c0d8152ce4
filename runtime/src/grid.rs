//! The launch grid: how many program instances run along x, y and z.

/// A 3-d grid of program instances; `program_id(axis)` ranges over it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Grid {
    /// Programs along x (axis 0).
    pub x: usize,
    /// Programs along y (axis 1).
    pub y: usize,
    /// Programs along z (axis 2).
    pub z: usize,
}

impl Grid {
    /// A 1-d grid.
    pub fn x(x: usize) -> Grid {
        Grid { x, y: 1, z: 1 }
    }

    /// A 2-d grid.
    pub fn xy(x: usize, y: usize) -> Grid {
        Grid { x, y, z: 1 }
    }

    /// A 3-d grid.
    pub fn xyz(x: usize, y: usize, z: usize) -> Grid {
        Grid { x, y, z }
    }

    /// The grid as u32s, checked against CUDA's limits (x < 2^31, y and z < 2^16),
    /// which the CPU device enforces too so that a kernel that runs there also launches on a GPU.
    pub fn checked(&self) -> Result<[u32; 3], String> {
        let limits = [
            ("x", self.x, (1usize << 31) - 1),
            ("y", self.y, 65535),
            ("z", self.z, 65535),
        ];
        let mut out = [0u32; 3];
        for (i, (name, n, max)) in limits.into_iter().enumerate() {
            if n == 0 {
                return Err(format!(
                    "grid dimension {name} is 0; every dimension needs at least 1 program"
                ));
            }
            if n > max {
                return Err(format!(
                    "grid dimension {name} = {n} exceeds the limit {max}; use a larger block size or another axis"
                ));
            }
            out[i] = n as u32;
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_limits() {
        assert_eq!(Grid::xy(3, 2).checked(), Ok([3, 2, 1]));
        assert!(
            Grid::x(0)
                .checked()
                .unwrap_err()
                .contains("grid dimension x is 0")
        );
        assert!(
            Grid::xyz(1, 1, 70000)
                .checked()
                .unwrap_err()
                .contains("z = 70000 exceeds")
        );
    }
}
