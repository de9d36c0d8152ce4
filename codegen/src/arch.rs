//! The GPU architectures tilefuse targets, and which one's PTX a device
//! runs. Kept apart from the NVPTX backend so that the runtime, which never
//! links LLVM, chooses prebuilt PTX with the same rule the backend names.

/// A GPU architecture tilefuse emits PTX for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Arch {
    /// Turing (T4, RTX 8000): mma m16n8k8.
    Sm75,
    /// Ampere A100: mma m16n8k16, cp.async.
    Sm80,
    /// Ampere consumer (RTX 30xx, A10).
    Sm86,
    /// Ada (L4, RTX 40xx).
    Sm89,
    /// Hopper H100/H200 with the arch-specific features (wgmma, TMA).
    Sm90a,
}

impl Arch {
    /// Every architecture, oldest first.
    pub const ALL: [Arch; 5] = [Arch::Sm75, Arch::Sm80, Arch::Sm86, Arch::Sm89, Arch::Sm90a];

    /// The name LLVM and ptxas use (`sm_80`, `sm_90a`).
    pub fn name(self) -> &'static str {
        match self {
            Arch::Sm75 => "sm_75",
            Arch::Sm80 => "sm_80",
            Arch::Sm86 => "sm_86",
            Arch::Sm89 => "sm_89",
            Arch::Sm90a => "sm_90a",
        }
    }

    /// Parses a name (`sm_80`).
    pub fn from_name(name: &str) -> Option<Arch> {
        Arch::ALL.into_iter().find(|a| a.name() == name)
    }

    /// The compute capability (major, minor).
    pub fn compute_capability(self) -> (u32, u32) {
        match self {
            Arch::Sm75 => (7, 5),
            Arch::Sm80 => (8, 0),
            Arch::Sm86 => (8, 6),
            Arch::Sm89 => (8, 9),
            Arch::Sm90a => (9, 0),
        }
    }

    /// The PTX to load on a device of compute capability `major.minor`:
    /// `sm_90a` on 9.0 exactly (its arch-specific instructions run nowhere
    /// else), else the newest architecture at or below the device's.
    pub fn for_device(major: u32, minor: u32) -> Option<Arch> {
        if (major, minor) == (9, 0) {
            return Some(Arch::Sm90a);
        }
        Arch::ALL
            .into_iter()
            .filter(|a| *a != Arch::Sm90a && a.compute_capability() <= (major, minor))
            .max()
    }
}
