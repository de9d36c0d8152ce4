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

    /// The shared memory a kernel compiled for this target may use when
    /// the compiler can choose (resident tensor-core operands,
    /// `allocate-shared-memory`): what every device that runs its PTX grants
    /// a block: 64 KB on Turing; 99 KB from `sm_80` on, since the `sm_80` PTX also
    /// runs on `sm_86` and `sm_89` (99 KB) where their own equals it.
    pub fn resident_shared_budget(self) -> u64 {
        match self {
            Arch::Sm75 => 64 * 1024,
            _ => 99 * 1024,
        }
    }

    /// The compute capability `(major, minor)` of the architecture.
    pub fn compute_capability(self) -> (u32, u32) {
        match self {
            Arch::Sm75 => (7, 5),
            Arch::Sm80 => (8, 0),
            Arch::Sm86 => (8, 6),
            Arch::Sm89 => (8, 9),
            Arch::Sm90a => (9, 0),
        }
    }

    /// The architectures whose PTX a device of compute capability
    /// `major.minor` runs, best first: [`Arch::for_device`], then every older
    /// one (the driver compiles PTX for an older target; `sm_90a` PTX runs
    /// on 9.0 devices only).
    pub fn candidates_for_device(major: u32, minor: u32) -> Vec<Arch> {
        let mut v: Vec<Arch> = Arch::ALL
            .into_iter()
            .filter(|a| {
                if *a == Arch::Sm90a {
                    (major, minor) == (9, 0)
                } else {
                    a.compute_capability() <= (major, minor)
                }
            })
            .collect();
        v.sort_by(|a, b| b.cmp(a));
        v
    }

    /// The PTX to load on a device of compute capability `major.minor`:
    /// `sm_90a` on 9.0 exactly (its arch-specific instructions run nowhere
    /// else), else the newest architecture at or below the device's.
    pub fn for_device(major: u32, minor: u32) -> Option<Arch> {
        Arch::candidates_for_device(major, minor).first().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::Arch;

    #[test]
    fn devices_run_their_arch_then_older_ptx() {
        assert_eq!(
            Arch::candidates_for_device(9, 0),
            [Arch::Sm90a, Arch::Sm89, Arch::Sm86, Arch::Sm80, Arch::Sm75]
        );
        assert_eq!(
            Arch::candidates_for_device(8, 9),
            [Arch::Sm89, Arch::Sm86, Arch::Sm80, Arch::Sm75]
        );
        // A newer GPU than any target: everything but sm_90a, newest first.
        assert_eq!(Arch::candidates_for_device(10, 0)[0], Arch::Sm89);
        assert!(Arch::candidates_for_device(7, 0).is_empty());
        for (ma, mi) in [(7, 5), (8, 0), (8, 6), (8, 9), (9, 0), (12, 0)] {
            assert_eq!(
                Arch::candidates_for_device(ma, mi).first().copied(),
                Arch::for_device(ma, mi)
            );
        }
    }
}
