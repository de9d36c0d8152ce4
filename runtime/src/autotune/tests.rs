//! The tuner's decisions on the CPU, with fake timings.

use std::collections::HashMap;
use std::path::PathBuf;

use super::config::test_device;
use super::*;

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "tilefuse-autotune-choose-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// Three candidates; the middle one needs more shared memory than the test device has.
fn candidates() -> Vec<Candidate> {
    let smem = |bytes| Resources {
        dynamic_shared_bytes: Some(bytes),
        ..Resources::default()
    };
    vec![
        Candidate {
            config: TuneConfig::new("B = 64", 4, 2),
            resources: smem(32 * 1024),
        },
        Candidate {
            config: TuneConfig::new("B = 256", 8, 3),
            resources: smem(300 * 1024),
        },
        Candidate {
            config: TuneConfig::new("B = 128", 8, 3),
            resources: smem(64 * 1024),
        },
    ]
}

/// A fake timer: fixed milliseconds per configuration (`B = ...` text), counting runs.
struct Fake {
    ms: HashMap<String, f32>,
    runs: HashMap<String, u32>,
}

impl Fake {
    fn new(times: &[(&str, f32)]) -> Fake {
        Fake {
            ms: times.iter().map(|(c, t)| (c.to_string(), *t)).collect(),
            runs: HashMap::new(),
        }
    }

    fn total(&self) -> u32 {
        self.runs.values().sum()
    }
}

impl Measure for Fake {
    fn run_ms(&mut self, c: &Candidate) -> Result<f32, Error> {
        *self.runs.entry(c.config.consts.clone()).or_default() += 1;
        match self.ms.get(&c.config.consts) {
            Some(&t) if t < 0.0 => Err(Error::Launch {
                kernel: "k".into(),
                message: "a block of 256 threads does not fit".into(),
            }),
            Some(&t) => Ok(t),
            None => panic!("measured {} which should have been pruned", c.config),
        }
    }
}

#[test]
fn measures_the_candidates_that_fit_and_picks_the_fastest() {
    let tuner = Autotuner::new(TuneMode::On, None).with_samples(1, 5);
    let mut fake = Fake::new(&[("B = 64", 2.0), ("B = 128", 1.5)]);
    let c = candidates();
    let choice = tuner
        .choose("k", "n=1024", &test_device(), &c, &mut fake)
        .unwrap();
    assert_eq!(choice.index, 2);
    assert_eq!(choice.config, TuneConfig::new("B = 128", 8, 3));
    assert_eq!(choice.source, ChoiceSource::Measured);
    assert_eq!(
        choice.timings,
        vec![
            Timing {
                index: 0,
                median_ms: 2.0
            },
            Timing {
                index: 2,
                median_ms: 1.5
            }
        ]
    );
    // The one that cannot fit is reported and never run.
    assert_eq!(choice.pruned.len(), 1);
    assert_eq!(choice.pruned[0].index, 1);
    assert!(
        choice.pruned[0]
            .reason
            .contains("307200 bytes of shared memory"),
        "{:?}",
        choice.pruned
    );
    assert_eq!(fake.runs["B = 64"], 6);
    assert_eq!(fake.runs["B = 128"], 6);
    assert!(!fake.runs.contains_key("B = 256"));
    // The same key again: from memory, nothing measured.
    let again = tuner
        .choose("k", "n=1024", &test_device(), &c, &mut fake)
        .unwrap();
    assert_eq!((again.index, again.source), (2, ChoiceSource::Memory));
    assert_eq!(fake.total(), 12);
    // Another shape key is measured on its own.
    let mut other = Fake::new(&[("B = 64", 1.0), ("B = 128", 1.5)]);
    let c2 = tuner
        .choose("k", "n=4096", &test_device(), &c, &mut other)
        .unwrap();
    assert_eq!((c2.index, c2.source), (0, ChoiceSource::Measured));
}

#[test]
fn the_median_resists_outliers_and_ties_go_to_the_first() {
    struct Noisy(u32);
    impl Measure for Noisy {
        fn run_ms(&mut self, c: &Candidate) -> Result<f32, Error> {
            self.0 += 1;
            // One huge outlier for B = 64, which is otherwise as fast as B = 128.
            Ok(if c.config.consts == "B = 64" && self.0 == 3 {
                100.0
            } else {
                1.0
            })
        }
    }
    let tuner = Autotuner::new(TuneMode::On, None).with_samples(0, 5);
    let choice = tuner
        .choose("k", "n=1", &test_device(), &candidates(), &mut Noisy(0))
        .unwrap();
    assert_eq!((choice.index, choice.source), (0, ChoiceSource::Measured));
}

#[test]
fn off_takes_the_first_fit_and_one_fit_needs_no_measurement() {
    let mut none = Fake::new(&[]);
    let mut c = candidates();
    // The first candidate does not fit: the first fit is the third.
    c[0].resources.registers_per_thread = Some(255);
    c[0].config.num_warps = 16;
    let off = Autotuner::new(TuneMode::Off, None);
    let choice = off
        .choose("k", "n=1", &test_device(), &c, &mut none)
        .unwrap();
    assert_eq!((choice.index, choice.source), (2, ChoiceSource::FirstFit));
    assert_eq!(choice.pruned.len(), 2);
    assert!(
        choice.pruned[0].reason.contains("registers"),
        "{:?}",
        choice.pruned
    );
    let on = Autotuner::new(TuneMode::On, None);
    let choice = on
        .choose("k", "n=1", &test_device(), &c, &mut none)
        .unwrap();
    assert_eq!((choice.index, choice.source), (2, ChoiceSource::OnlyFit));
    assert_eq!(none.total(), 0);
}

#[test]
fn errors_name_what_is_wrong() {
    let tuner = Autotuner::new(TuneMode::On, None);
    let mut none = Fake::new(&[]);
    let err = tuner
        .choose("k", "n=1", &test_device(), &[], &mut none)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("no candidate configurations for kernel `k`"),
        "{err}"
    );
    let huge = vec![candidates()[1].clone()];
    let err = tuner
        .choose("k", "n=1", &test_device(), &huge, &mut none)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("no configuration of kernel `k` (n=1) can run on Test GPU (sm_90)")
            && err.contains("B = 256 (num_warps = 8, num_stages = 3): 307200 bytes"),
        "{err}"
    );
    let err = tuner
        .choose("k", "n=1\n2", &test_device(), &candidates(), &mut none)
        .unwrap_err()
        .to_string();
    assert!(err.contains("one non-empty line"), "{err}");
    // A measurement that is not a time.
    let mut nan = Fake::new(&[("B = 64", f32::NAN), ("B = 128", 1.0)]);
    let err = tuner
        .choose("k", "n=2", &test_device(), &candidates(), &mut nan)
        .unwrap_err()
        .to_string();
    assert!(err.contains("must be finite"), "{err}");
    // Any other failure of a run ends the tuning.
    let mut failing = |_: &Candidate| -> Result<f32, Error> {
        Err(Error::Execution {
            kernel: "k".into(),
            message: "illegal address".into(),
        })
    };
    let err = tuner
        .choose("k", "n=3", &test_device(), &candidates(), &mut failing)
        .unwrap_err()
        .to_string();
    assert!(err.contains("illegal address"), "{err}");
}

#[test]
fn candidates_the_launcher_refuses_are_skipped() {
    let tuner = Autotuner::new(TuneMode::On, None).with_samples(0, 3);
    let mut fake = Fake::new(&[("B = 64", -1.0), ("B = 128", 3.0)]);
    let choice = tuner
        .choose("k", "n=1", &test_device(), &candidates(), &mut fake)
        .unwrap();
    assert_eq!((choice.index, choice.source), (2, ChoiceSource::Measured));
    let refused = choice.pruned.iter().find(|p| p.index == 0).unwrap();
    assert!(
        refused
            .reason
            .starts_with("the launcher refused it: a block of 256"),
        "{refused:?}"
    );
    let mut all = Fake::new(&[("B = 64", -1.0), ("B = 128", -1.0)]);
    let err = tuner
        .choose("k", "n=2", &test_device(), &candidates(), &mut all)
        .unwrap_err()
        .to_string();
    assert!(err.contains("the launcher refused it"), "{err}");
}

#[test]
fn the_disk_cache_is_read_back_without_measuring() {
    let dir = temp_dir("roundtrip");
    let c = candidates();
    let first = Autotuner::new(TuneMode::On, Some(TuneCache::new(&dir))).with_samples(0, 3);
    let mut fake = Fake::new(&[("B = 64", 2.0), ("B = 128", 1.0)]);
    let measured = first
        .choose("k", "d=64", &test_device(), &c, &mut fake)
        .unwrap();
    assert_eq!(
        (measured.index, measured.source),
        (2, ChoiceSource::Measured)
    );
    assert!(measured.notes.is_empty(), "{:?}", measured.notes);
    // A new process (a new tuner) finds it on disk.
    let second = Autotuner::new(TuneMode::On, Some(TuneCache::new(&dir)));
    let mut none = Fake::new(&[]);
    let cached = second
        .choose("k", "d=64", &test_device(), &c, &mut none)
        .unwrap();
    assert_eq!((cached.index, cached.source), (2, ChoiceSource::DiskCache));
    assert_eq!(none.total(), 0);
    let key = TuneKey::new(&test_device(), "k", "d=64", &c).unwrap();
    let stored = TuneCache::new(&dir).lookup(&key).unwrap().unwrap();
    assert_eq!(stored.time_ms, 1.0);
    // Another candidate list is another key: measured again.
    let fewer = vec![c[0].clone(), c[2].clone()];
    let mut again = Fake::new(&[("B = 64", 2.0), ("B = 128", 1.0)]);
    let other = second
        .choose("k", "d=64", &test_device(), &fewer, &mut again)
        .unwrap();
    assert_eq!((other.index, other.source), (1, ChoiceSource::Measured));
    // Force measures again, ignoring the file, and replaces it.
    let forced = Autotuner::new(TuneMode::Force, Some(TuneCache::new(&dir))).with_samples(0, 3);
    let mut flipped = Fake::new(&[("B = 64", 0.5), ("B = 128", 1.0)]);
    let f = forced
        .choose("k", "d=64", &test_device(), &c, &mut flipped)
        .unwrap();
    assert_eq!((f.index, f.source), (0, ChoiceSource::Measured));
    assert_eq!(flipped.total(), 6);
    // ... once per process.
    let f = forced
        .choose("k", "d=64", &test_device(), &c, &mut flipped)
        .unwrap();
    assert_eq!((f.index, f.source), (0, ChoiceSource::Memory));
    let fresh = Autotuner::new(TuneMode::On, Some(TuneCache::new(&dir)));
    let read = fresh
        .choose("k", "d=64", &test_device(), &c, &mut none)
        .unwrap();
    assert_eq!((read.index, read.source), (0, ChoiceSource::DiskCache));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_corrupt_or_stale_cache_file_is_ignored_and_replaced() {
    let dir = temp_dir("corrupt");
    let cache = TuneCache::new(&dir);
    let c = candidates();
    let key = TuneKey::new(&test_device(), "k", "d=64", &c).unwrap();
    let path = cache.path(&key);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, "tilefuse-autotune 1\ndevice = half a fi").unwrap();
    let tuner = Autotuner::new(TuneMode::On, Some(cache.clone())).with_samples(0, 1);
    let mut fake = Fake::new(&[("B = 64", 2.0), ("B = 128", 1.0)]);
    let choice = tuner
        .choose("k", "d=64", &test_device(), &c, &mut fake)
        .unwrap();
    assert_eq!((choice.index, choice.source), (2, ChoiceSource::Measured));
    assert_eq!(choice.notes.len(), 1, "{:?}", choice.notes);
    assert!(
        choice.notes[0].starts_with("ignored a cache file"),
        "{:?}",
        choice.notes
    );
    assert_eq!(
        cache.lookup(&key).unwrap().unwrap().config,
        TuneConfig::new("B = 128", 8, 3)
    );
    // A well-formed file choosing a configuration that does not fit is not used either.
    let stale = CachedChoice {
        config: TuneConfig::new("B = 256", 8, 3),
        time_ms: 0.1,
    };
    cache.store(&key, &stale).unwrap();
    let tuner = Autotuner::new(TuneMode::On, Some(cache.clone())).with_samples(0, 1);
    let choice = tuner
        .choose("k", "d=64", &test_device(), &c, &mut fake)
        .unwrap();
    assert_eq!((choice.index, choice.source), (2, ChoiceSource::Measured));
    assert!(
        choice.notes[0].contains("cached choice B = 256") && choice.notes[0].contains("fit"),
        "{:?}",
        choice.notes
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Fake shipped defaults (not measurements): one for the test device, one naming a
/// configuration that is not a candidate.
static DEFAULTS: &[TunedDefault] = &[
    TunedDefault {
        device: "Test GPU",
        arch: "sm_90",
        kernel: "k",
        shape: "d=64",
        consts: "B = 64",
        num_warps: 4,
        num_stages: 2,
    },
    TunedDefault {
        device: "Test GPU",
        arch: "sm_90",
        kernel: "k",
        shape: "d=128",
        consts: "B = 32",
        num_warps: 4,
        num_stages: 2,
    },
];

#[test]
fn shipped_defaults_come_before_the_cache_unless_forced() {
    let dir = temp_dir("defaults");
    let c = candidates();
    let cache = TuneCache::new(&dir);
    // The cache says B = 128; the shipped default says B = 64 and wins.
    let key = TuneKey::new(&test_device(), "k", "d=64", &c).unwrap();
    cache
        .store(
            &key,
            &CachedChoice {
                config: TuneConfig::new("B = 128", 8, 3),
                time_ms: 1.0,
            },
        )
        .unwrap();
    let tuner = Autotuner::new(TuneMode::On, Some(cache.clone())).with_defaults(DEFAULTS);
    let mut none = Fake::new(&[]);
    let d = tuner
        .choose("k", "d=64", &test_device(), &c, &mut none)
        .unwrap();
    assert_eq!((d.index, d.source), (0, ChoiceSource::Default));
    // A default whose configuration is not offered is noted and not used.
    let mut fake = Fake::new(&[("B = 64", 2.0), ("B = 128", 1.0)]);
    let m = tuner
        .choose("k", "d=128", &test_device(), &c, &mut fake)
        .unwrap();
    assert_eq!((m.index, m.source), (2, ChoiceSource::Measured));
    assert!(
        m.notes[0].contains("shipped default B = 32"),
        "{:?}",
        m.notes
    );
    // Another device gets no default.
    let mut other = test_device();
    other.name = "Another GPU".into();
    let o = tuner.choose("k", "d=64", &other, &c, &mut fake).unwrap();
    assert_eq!(o.source, ChoiceSource::Measured);
    // Force ignores the defaults.
    let forced = Autotuner::new(TuneMode::Force, None)
        .with_defaults(DEFAULTS)
        .with_samples(0, 1);
    let f = forced
        .choose("k", "d=64", &test_device(), &c, &mut fake)
        .unwrap();
    assert_eq!((f.index, f.source), (2, ChoiceSource::Measured));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_unwritable_cache_is_a_note() {
    let dir = temp_dir("unwritable");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("autotune"), "not a folder").unwrap();
    let tuner = Autotuner::new(TuneMode::On, Some(TuneCache::new(&dir))).with_samples(0, 1);
    let mut fake = Fake::new(&[("B = 64", 2.0), ("B = 128", 1.0)]);
    let choice = tuner
        .choose("k", "d=64", &test_device(), &candidates(), &mut fake)
        .unwrap();
    assert_eq!(choice.source, ChoiceSource::Measured);
    assert!(
        choice
            .notes
            .iter()
            .any(|n| n.contains("cannot write the cache file")),
        "{:?}",
        choice.notes
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_environment_switch() {
    assert_eq!(TuneMode::parse(None).unwrap(), TuneMode::On);
    for on in ["", "1", "on", " 1 "] {
        assert_eq!(TuneMode::parse(Some(on)).unwrap(), TuneMode::On, "{on:?}");
    }
    for off in ["0", "off"] {
        assert_eq!(
            TuneMode::parse(Some(off)).unwrap(),
            TuneMode::Off,
            "{off:?}"
        );
    }
    assert_eq!(TuneMode::parse(Some("force")).unwrap(), TuneMode::Force);
    let err = TuneMode::parse(Some("yes")).unwrap_err().to_string();
    assert!(
        err.contains("TILEFUSE_AUTOTUNE=\"yes\" is not understood") && err.contains("force"),
        "{err}"
    );
}
