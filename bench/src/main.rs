//! `tilefuse-bench`: times tilefuse kernels on a CUDA GPU with CUDA events and
//! prints a table (and writes JSON) that `bench/join.py` lines up beside the
//! peers measured by `anchors_gpu.py` in the same run. See `bench/README.md`
//! for the methodology.
//!
//! ```text
//! tilefuse-bench [--json PATH] [--only PAT,PAT] [--quick] [--list] [--device N]
//!                [--warmup N] [--min-reps N] [--max-reps N] [--budget-ms MS]
//! ```

mod cases;
mod metrics;
mod report;
mod stats;
mod timer;

use std::io::Write as _;
use std::process::ExitCode;

use tilefuse::Device;

use crate::cases::{Ctx, Opts, Pool};
use crate::report::{Json, Row};
use crate::timer::EventTimer;

const USAGE: &str = "\
usage: tilefuse-bench [options]
  --json PATH       write the results as one JSON document to PATH
  --only PAT,PAT    run only the cases whose name contains one of the patterns
                    (names: section/kernel/shape, see --list)
  --quick           smaller shapes and fewer of them (a smoke run)
  --list            print the case names and exit
  --device N        CUDA device ordinal (default 0)
  --warmup N        untimed calls before timing (default 3)
  --min-reps N      fewest timed repetitions (default 10)
  --max-reps N      most timed repetitions (default 100)
  --budget-ms MS    timed milliseconds per case that set the repetitions (default 1000)";

/// Command-line options.
#[derive(Debug, PartialEq)]
struct Args {
    json: Option<String>,
    only: Option<String>,
    quick: bool,
    list: bool,
    device: usize,
    warmup: usize,
    min_reps: usize,
    max_reps: usize,
    budget_ms: f64,
}

impl Default for Args {
    fn default() -> Args {
        Args {
            json: None,
            only: None,
            quick: false,
            list: false,
            device: 0,
            warmup: 3,
            min_reps: 10,
            max_reps: 100,
            budget_ms: 1000.0,
        }
    }
}

/// Parses the arguments (without the program name). `Ok(None)` for `--help`.
fn parse_args(argv: &[String]) -> Result<Option<Args>, String> {
    let mut a = Args::default();
    let mut it = argv.iter();
    while let Some(flag) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{name} needs a value"))
        };
        fn number<T: std::str::FromStr>(name: &str, v: String) -> Result<T, String> {
            v.parse()
                .map_err(|_| format!("{name} takes a number, not `{v}`"))
        }
        match flag.as_str() {
            "-h" | "--help" => return Ok(None),
            "--json" => a.json = Some(value("--json")?),
            "--only" => a.only = Some(value("--only")?),
            "--quick" => a.quick = true,
            "--list" => a.list = true,
            "--device" => a.device = number("--device", value("--device")?)?,
            "--warmup" => a.warmup = number("--warmup", value("--warmup")?)?,
            "--min-reps" => a.min_reps = number("--min-reps", value("--min-reps")?)?,
            "--max-reps" => a.max_reps = number("--max-reps", value("--max-reps")?)?,
            "--budget-ms" => a.budget_ms = number("--budget-ms", value("--budget-ms")?)?,
            other => return Err(format!("unknown option `{other}`")),
        }
    }
    if a.min_reps == 0 || a.max_reps < a.min_reps {
        return Err("need 1 <= --min-reps <= --max-reps".into());
    }
    if a.budget_ms.is_nan() || a.budget_ms <= 0.0 {
        return Err("--budget-ms must be positive".into());
    }
    Ok(Some(a))
}

/// The JSON document of a run.
fn document(
    dev: &Device,
    args: &Args,
    l2: usize,
    timer: &EventTimer,
    sync_gap_ms: f64,
    copy_gbps: f64,
    rows: &[Row],
) -> Json {
    let cc = dev
        .compute_capability()
        .map_or(Json::Null, |(a, b)| Json::Arr(vec![a.into(), b.into()]));
    Json::Obj(vec![
        ("tool".into(), "tilefuse-bench".into()),
        ("version".into(), env!("CARGO_PKG_VERSION").into()),
        ("device".into(), dev.name().into()),
        ("cc".into(), cc),
        ("l2_bytes".into(), l2.into()),
        (
            "method".into(),
            Json::Obj(vec![
                ("timer".into(), "cuda-events".into()),
                ("statistic".into(), "median".into()),
                ("warmup".into(), args.warmup.into()),
                ("min_reps".into(), args.min_reps.into()),
                ("max_reps".into(), args.max_reps.into()),
                ("budget_ms".into(), args.budget_ms.into()),
                ("l2_flush_bytes".into(), timer.flush_bytes().into()),
                ("quick".into(), args.quick.into()),
            ]),
        ),
        ("sync_gap_ms".into(), sync_gap_ms.into()),
        ("copy_gbps".into(), copy_gbps.into()),
        (
            "rows".into(),
            Json::Arr(rows.iter().map(|r| r.to_json(Some(copy_gbps))).collect()),
        ),
    ])
}

fn run(args: &Args) -> Result<bool, String> {
    let all = cases::all(args.quick);
    let chosen: Vec<_> = all
        .into_iter()
        .filter(|c| cases::selected(&c.name, args.only.as_deref()))
        .collect();
    if args.list {
        let mut out = std::io::stdout().lock();
        for c in &chosen {
            // A closed pipe (`| head`) ends the listing quietly.
            if writeln!(out, "{}", c.name).is_err() {
                break;
            }
        }
        return Ok(true);
    }
    let dev = Device::cuda(args.device).map_err(|e| format!("no CUDA device: {e}"))?;
    let stream = dev
        .cuda_stream()
        .ok_or_else(|| format!("no CUDA device: {} is not a GPU", dev.name()))?;
    let l2 = timer::l2_bytes(&stream).unwrap_or(50 << 20);
    let (free, _total) = stream.context().mem_get_info().unwrap_or((16 << 30, 0));
    let mut timer = EventTimer::new(stream, 4 * l2)?;
    eprintln!("# device: {} (L2 {} MiB)", dev.name(), l2 >> 20);
    let sync_gap_ms = timer.sync_gap_ms(50)?;
    let copy_bytes = if args.quick { 512 << 20 } else { 2 << 30 };
    let copy_gbps = timer.copy_gbps(copy_bytes, 10)?;
    eprintln!(
        "# sync gap {:.1} us (included in every time below); d2d copy {copy_gbps:.0} GB/s",
        sync_gap_ms * 1e3
    );
    let opts = Opts {
        warmup: args.warmup,
        min_reps: args.min_reps,
        max_reps: args.max_reps,
        budget_ms: args.budget_ms,
        max_sets: 8,
        // Leave room for outputs and temporaries: input sets take at most a third of free memory.
        max_set_bytes: free / 3,
        l2_bytes: l2,
    };
    let pool = Pool::new(0x7115_f05e);
    let mut ctx = Ctx {
        dev: &dev,
        timer: &mut timer,
        opts,
        pool: &pool,
    };
    let mut rows = Vec::new();
    for (i, case) in chosen.iter().enumerate() {
        eprint!("[{}/{}] {} ... ", i + 1, chosen.len(), case.name);
        let row = (case.run)(&mut ctx);
        match (&row.error, row.timing) {
            (Some(e), _) => eprintln!("error: {}", report::clip(e, 200)),
            (None, Some(t)) => eprintln!("{:.4} ms (median of {})", t.median, t.n),
            (None, None) => eprintln!("no timing"),
        }
        rows.push(row);
    }
    let text = format!(
        "tilefuse-bench on {}: median GPU time per call by CUDA events (each includes a \
         {:.1} us sync gap); d2d copy {copy_gbps:.0} GB/s\n{}",
        dev.name(),
        sync_gap_ms * 1e3,
        report::table(&rows, Some(copy_gbps))
    );
    // The table is also in the JSON: a closed stdout is not worth failing the run.
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    if let Some(path) = &args.json {
        let doc = document(&dev, args, l2, &timer, sync_gap_ms, copy_gbps, &rows);
        std::fs::write(path, doc.render() + "\n")
            .map_err(|e| format!("cannot write {path}: {e}"))?;
        eprintln!("# wrote {path}");
    }
    let mismatch = rows.iter().any(|r| {
        r.check
            .as_deref()
            .is_some_and(|c| c.starts_with("MISMATCH"))
    });
    Ok(!mismatch)
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let args = match parse_args(&argv) {
        Ok(Some(a)) => a,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("tilefuse-bench: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("tilefuse-bench: a spot check of a kernel's output failed (see the table)");
            ExitCode::from(3)
        }
        Err(e) => {
            eprintln!("tilefuse-bench: {e}");
            ExitCode::from(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Option<Args>, String> {
        let v: Vec<String> = s.split_whitespace().map(String::from).collect();
        parse_args(&v)
    }

    #[test]
    fn parses_options() {
        let a = parse("--json out.json --only flash,decode --quick --max-reps 50")
            .unwrap()
            .unwrap();
        assert_eq!(a.json.as_deref(), Some("out.json"));
        assert_eq!(a.only.as_deref(), Some("flash,decode"));
        assert!(a.quick && !a.list);
        assert_eq!((a.min_reps, a.max_reps, a.warmup), (10, 50, 3));
        assert_eq!(parse("").unwrap().unwrap(), Args::default());
        assert!(parse("--help").unwrap().is_none());
    }

    #[test]
    fn rejects_bad_options() {
        assert_eq!(parse("--frob").unwrap_err(), "unknown option `--frob`");
        assert_eq!(parse("--json").unwrap_err(), "--json needs a value");
        assert_eq!(
            parse("--warmup x").unwrap_err(),
            "--warmup takes a number, not `x`"
        );
        assert!(parse("--min-reps 20 --max-reps 10").is_err());
        assert!(parse("--budget-ms 0").is_err());
    }
}
