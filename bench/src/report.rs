//! Results: one [`Row`] per benchmarked call (or per failure), printed as a
//! fixed-width table and written as one JSON document (no serde in the
//! workspace: a small writer, [`Json`], is enough for flat records).

use std::fmt::Write as _;

use crate::metrics;
use crate::stats::Summary;

/// A JSON value.
#[derive(Clone, Debug, PartialEq)]
pub enum Json {
    /// `null`
    Null,
    /// `true` / `false`
    Bool(bool),
    /// A number; written as an integer when it is one, `null` when not finite.
    Num(f64),
    /// A string.
    Str(String),
    /// An array.
    Arr(Vec<Json>),
    /// An object, keys in insertion order.
    Obj(Vec<(String, Json)>),
}

impl From<f64> for Json {
    fn from(v: f64) -> Json {
        Json::Num(v)
    }
}
impl From<usize> for Json {
    fn from(v: usize) -> Json {
        Json::Num(v as f64)
    }
}
impl From<u32> for Json {
    fn from(v: u32) -> Json {
        Json::Num(f64::from(v))
    }
}
impl From<bool> for Json {
    fn from(v: bool) -> Json {
        Json::Bool(v)
    }
}
impl From<&str> for Json {
    fn from(v: &str) -> Json {
        Json::Str(v.to_string())
    }
}
impl From<String> for Json {
    fn from(v: String) -> Json {
        Json::Str(v)
    }
}

impl Json {
    /// The compact JSON text.
    pub fn render(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }

    fn write(&self, out: &mut String) {
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Num(v) if !v.is_finite() => out.push_str("null"),
            Json::Num(v) if v.fract() == 0.0 && v.abs() < 9.0e15 => {
                let _ = write!(out, "{}", *v as i64);
            }
            Json::Num(v) => {
                let _ = write!(out, "{v}");
            }
            Json::Str(s) => write_str(s, out),
            Json::Arr(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write(out);
                }
                out.push(']');
            }
            Json::Obj(fields) => {
                out.push('{');
                for (i, (k, v)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_str(k, out);
                    out.push(':');
                    v.write(out);
                }
                out.push('}');
            }
        }
    }
}

fn write_str(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// One benchmarked call: what ran, on which shape, how long it took, or why it failed.
#[derive(Clone, Debug, Default)]
pub struct Row {
    /// Section, named as in `anchors_gpu.py` where there is a peer
    /// (`flash_fwd`, `decode`, `tssa`), else `basic` or `matmul`.
    pub section: String,
    /// The tilefuse entry point (`vector_add`, `attention::flash`, ...).
    pub kernel: String,
    /// The shape, for people (`B=16 H=16 N=1024 d=128 causal`).
    pub shape: String,
    /// Element type of the inputs.
    pub dtype: String,
    /// The shape for the joiner, with `anchors_gpu.py`'s key names (`D`, `N`, `causal`, ...).
    pub params: Vec<(String, Json)>,
    /// FLOPs per call (compute-bound kernels).
    pub flops: Option<f64>,
    /// Minimum bytes moved per call (memory-bound kernels).
    pub bytes: Option<f64>,
    /// GPU time per call (ms), from CUDA events.
    pub timing: Option<Summary>,
    /// Median host wall time of a call (ms): launch work plus the wait.
    pub host_ms: Option<f64>,
    /// How many input sets the repetitions rotated through.
    pub sets: usize,
    /// Result of the spot check of the output against a host computation, if any.
    pub check: Option<String>,
    /// Why the call could not be benchmarked.
    pub error: Option<String>,
}

impl Row {
    /// TFLOP/s at the median time.
    pub fn tflops(&self) -> Option<f64> {
        Some(metrics::tflops(self.flops?, self.timing?.median))
    }

    /// GB/s at the median time.
    pub fn gbps(&self) -> Option<f64> {
        Some(metrics::gbps(self.bytes?, self.timing?.median))
    }

    /// The JSON record; `copy_gbps` (the measured copy rate) adds `pct_copy`.
    pub fn to_json(&self, copy_gbps: Option<f64>) -> Json {
        let mut f: Vec<(String, Json)> = vec![
            ("section".into(), self.section.as_str().into()),
            ("impl".into(), "tilefuse".into()),
            ("kernel".into(), self.kernel.as_str().into()),
            ("shape".into(), self.shape.as_str().into()),
            ("dtype".into(), self.dtype.as_str().into()),
        ];
        f.extend(self.params.iter().cloned());
        let mut put = |k: &str, v: Option<Json>| {
            if let Some(v) = v {
                f.push((k.to_string(), v));
            }
        };
        if let Some(t) = self.timing {
            put("ms", Some(t.median.into()));
            put("min_ms", Some(t.min.into()));
            put("p10_ms", Some(t.p10.into()));
            put("p90_ms", Some(t.p90.into()));
            put("max_ms", Some(t.max.into()));
            put("reps", Some(t.n.into()));
            put("sets", Some(self.sets.into()));
        }
        put("host_ms", self.host_ms.map(Json::from));
        put("flops", self.flops.map(Json::from));
        put("tflops", self.tflops().map(Json::from));
        put("bytes", self.bytes.map(Json::from));
        put("gbps", self.gbps().map(Json::from));
        put(
            "pct_copy",
            self.gbps()
                .zip(copy_gbps)
                .map(|(g, c)| Json::from(100.0 * g / c)),
        );
        put("check", self.check.clone().map(Json::from));
        put("error", self.error.clone().map(Json::from));
        Json::Obj(f)
    }
}

/// Formats `v` with `digits` decimals, or `-` when absent.
fn num(v: Option<f64>, digits: usize) -> String {
    v.map_or_else(|| "-".to_string(), |v| format!("{v:.digits$}"))
}

/// Shortens `s` to at most `max` characters (on a char boundary), marking the cut.
pub fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
    t.push('…');
    t
}

/// The table of `rows`: one line each, errors in the last column.
pub fn table(rows: &[Row], copy_gbps: Option<f64>) -> String {
    let header = [
        "section",
        "kernel",
        "shape",
        "dtype",
        "median ms",
        "p10-p90 ms",
        "host ms",
        "TFLOP/s",
        "GB/s",
        "% copy",
        "check / error",
    ];
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let spread = r
                .timing
                .map_or_else(|| "-".to_string(), |t| format!("{:.4}-{:.4}", t.p10, t.p90));
            let pct = r.gbps().zip(copy_gbps).map(|(g, c)| 100.0 * g / c);
            let note = match (&r.error, &r.check) {
                (Some(e), _) => format!("ERROR: {}", clip(e, 140)),
                (None, Some(c)) => c.clone(),
                (None, None) => String::new(),
            };
            vec![
                r.section.clone(),
                r.kernel.clone(),
                r.shape.clone(),
                r.dtype.clone(),
                num(r.timing.map(|t| t.median), 4),
                spread,
                num(r.host_ms, 4),
                num(r.tflops(), 1),
                num(r.gbps(), 0),
                num(pct, 1),
                note,
            ]
        })
        .collect();
    let mut width: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &cells {
        for (w, c) in width.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cols: Vec<&str>| -> String {
        let last = cols.len() - 1;
        let mut s = String::new();
        for (i, (c, w)) in cols.iter().zip(&width).enumerate() {
            if i == last {
                s.push_str(c);
            } else {
                // Numbers right-aligned, words left-aligned.
                let numeric = (4..=9).contains(&i);
                let pad = w - c.chars().count();
                if numeric {
                    s.push_str(&" ".repeat(pad));
                    s.push_str(c);
                } else {
                    s.push_str(c);
                    s.push_str(&" ".repeat(pad));
                }
                s.push_str("  ");
            }
        }
        s.trim_end().to_string()
    };
    let mut out = line(header.to_vec());
    out.push('\n');
    out.push_str(&"-".repeat(width.iter().sum::<usize>() + 2 * (width.len() - 1)));
    out.push('\n');
    for row in &cells {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timed(median: f64) -> Summary {
        Summary {
            n: 30,
            min: median * 0.9,
            p10: median * 0.95,
            median,
            p90: median * 1.1,
            max: median * 1.5,
        }
    }

    #[test]
    fn json_numbers_strings_and_nesting() {
        let v = Json::Obj(vec![
            ("i".into(), Json::from(3usize)),
            ("f".into(), Json::from(0.25)),
            ("nan".into(), Json::from(f64::NAN)),
            ("s".into(), Json::from("a \"q\"\\\n\u{1}é")),
            (
                "a".into(),
                Json::Arr(vec![Json::from(9u32), Json::Null, true.into()]),
            ),
        ]);
        assert_eq!(
            v.render(),
            r#"{"i":3,"f":0.25,"nan":null,"s":"a \"q\"\\\n\u0001é","a":[9,null,true]}"#
        );
        assert_eq!(Json::from(1e20).render(), "100000000000000000000");
        assert_eq!(Json::from(-2.0).render(), "-2");
    }

    #[test]
    fn row_json_has_rates_and_anchor_keys() {
        let row = Row {
            section: "flash_fwd".into(),
            kernel: "attention::flash".into(),
            shape: "B=1 H=16 N=16384 d=128".into(),
            dtype: "f16".into(),
            params: vec![
                ("D".into(), 128usize.into()),
                ("N".into(), 16384usize.into()),
                ("causal".into(), false.into()),
            ],
            flops: Some(metrics::attention_flops(1, 16, 16384, 128, false)),
            timing: Some(timed(2.0)),
            sets: 3,
            ..Row::default()
        };
        let j = row.to_json(Some(3000.0)).render();
        assert!(j.starts_with(
            r#"{"section":"flash_fwd","impl":"tilefuse","kernel":"attention::flash""#
        ));
        assert!(j.contains(r#""D":128,"N":16384,"causal":false"#), "{j}");
        assert!(
            j.contains(r#""ms":2,"#) && j.contains(r#""reps":30,"sets":3"#),
            "{j}"
        );
        // 4·16·16384²·128 = 2.199e12 FLOPs in 2 ms = 1099.5 TFLOP/s
        assert!(
            j.contains(r#""flops":2199023255552,"tflops":1099.511627776"#),
            "{j}"
        );
        assert!(!j.contains("gbps") && !j.contains("error"), "{j}");
    }

    #[test]
    fn memory_bound_row_reports_percent_of_copy() {
        let row = Row {
            section: "basic".into(),
            kernel: "vector_add".into(),
            bytes: Some(3e9),
            timing: Some(timed(1.5)),
            ..Row::default()
        };
        assert_eq!(row.gbps(), Some(2000.0));
        let j = row.to_json(Some(2500.0)).render();
        assert!(j.contains(r#""gbps":2000,"pct_copy":80"#), "{j}");
        let t = table(&[row], Some(2500.0));
        let line = t.lines().nth(2).unwrap();
        assert!(
            line.contains("1.5000") && line.contains("2000") && line.contains("80.0"),
            "{t}"
        );
    }

    #[test]
    fn table_aligns_columns_and_shows_errors() {
        let ok = Row {
            section: "basic".into(),
            kernel: "softmax".into(),
            shape: "65536x1024".into(),
            dtype: "f16".into(),
            bytes: Some(2.0 * 2.0 * 65536.0 * 1024.0),
            timing: Some(timed(0.1)),
            check: Some("ok".into()),
            ..Row::default()
        };
        let bad = Row {
            section: "matmul".into(),
            kernel: "matmul".into(),
            shape: "8192x8192x8192".into(),
            dtype: "f16".into(),
            error: Some("cannot launch kernel `matmul`: no prebuilt PTX".into()),
            ..Row::default()
        };
        let t = table(&[ok, bad], None);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 4, "{t}");
        assert!(lines[0].starts_with("section  kernel "), "{t}");
        assert!(lines[1].chars().all(|c| c == '-'));
        // The median column ends at the same offset on every line.
        let end = |l: &str, pat: &str| l.find(pat).map(|i| i + pat.len());
        assert_eq!(end(lines[0], "median ms"), end(lines[2], "0.1000"), "{t}");
        assert!(lines[2].ends_with("ok"), "{t}");
        assert!(
            lines[0].contains("host ms  TFLOP/s  GB/s  % copy  check / error"),
            "{t}"
        );
        assert!(lines[3].contains("ERROR: cannot launch kernel `matmul`: no prebuilt PTX"));
        assert!(lines[3].contains(" - "), "absent numbers print as '-': {t}");
    }

    #[test]
    fn clip_keeps_short_text_and_marks_cuts() {
        assert_eq!(clip("abc", 5), "abc");
        assert_eq!(clip("abcdef", 4), "abc…");
        assert_eq!(clip("ééééé", 3), "éé…");
    }
}
