//! The textual form of the IR. `parser.rs` reads it back exactly:
//! `print(parse(print(m))) == print(m)`.
//!
//! ```text
//! tile.kernel @add<BLOCK: i64>(%x: ptr<f32, global>, %n: i32) loc("src/lib.rs":3:1) {
//!   %pid = tile.program_id {axis = 0} : i32 loc("src/lib.rs":4:15)
//!   %0 = tile.arange {start = 0} : tile<{BLOCK}xi32> loc("src/lib.rs":5:16)
//!   %acc = tile.for %lo, %hi, %step, %init : tile<{BLOCK}xf32> {
//!   ^(%k: i32, %acc: tile<{BLOCK}xf32>):
//!     tile.yield %1 loc("src/lib.rs":7:9)
//!   } loc("src/lib.rs":6:5)
//!   tile.return loc("src/lib.rs":3:1)
//! }
//! ```
//!
//! Grammar, one op per line: `[results =] name [operands] [{attrs}] [: result
//! types] [regions] loc(...)`. Operand types are not printed: every operand
//! is defined earlier with its type. A region is `{`, an optional argument
//! line `^(%a: T, ...):`, the ops, `}`; several regions follow each other
//! (`} {`). Values print as `%name` (the Rust binding they came from,
//! made unique with `_N`) or `%N` when unnamed.

use std::collections::{HashMap, HashSet};
use std::fmt::Write;

use super::attr::write_escaped;
use super::location::Location;
use super::module::{Body, Func, FuncKind, Module, OpId, RegionId, ValueId};

/// Prints a whole module.
pub fn print_module(m: &Module) -> String {
    let mut out = String::new();
    for (i, f) in m.funcs.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&print_func(f));
    }
    out
}

/// Prints one function.
pub fn print_func(f: &Func) -> String {
    let mut p = Printer {
        body: &f.body,
        names: HashMap::new(),
        used: HashSet::new(),
        next_number: 0,
        out: String::new(),
    };
    p.func(f);
    p.out
}

/// Prints a location as it appears in the text: `loc("file":line:col)`.
pub fn format_loc(loc: &Location) -> String {
    match &loc.file {
        Some(file) => {
            let mut s = String::from("loc(");
            write_escaped(&mut s, file).expect("write to String");
            let _ = write!(s, ":{}:{})", loc.line, loc.col);
            s
        }
        None => "loc(unknown)".to_string(),
    }
}

struct Printer<'a> {
    body: &'a Body,
    names: HashMap<ValueId, String>,
    used: HashSet<String>,
    next_number: usize,
    out: String,
}

impl Printer<'_> {
    fn define(&mut self, v: ValueId) -> String {
        let name = match &self.body.value(v).name {
            Some(hint) => {
                let mut candidate = hint.clone();
                let mut n = 1;
                while self.used.contains(&candidate) {
                    candidate = format!("{hint}_{n}");
                    n += 1;
                }
                candidate
            }
            None => {
                let s = self.next_number.to_string();
                self.next_number += 1;
                s
            }
        };
        self.used.insert(name.clone());
        let printed = format!("%{name}");
        self.names.insert(v, printed.clone());
        printed
    }

    fn name(&self, v: ValueId) -> String {
        self.names
            .get(&v)
            .cloned()
            .unwrap_or_else(|| format!("%<undefined value {}>", v.0))
    }

    fn func(&mut self, f: &Func) {
        let keyword = match f.kind {
            FuncKind::Kernel => "tile.kernel",
            FuncKind::Device => "tile.func",
        };
        let _ = write!(self.out, "{keyword} @{}", f.name);
        if !f.consts.is_empty() {
            self.out.push('<');
            for (i, c) in f.consts.iter().enumerate() {
                if i > 0 {
                    self.out.push_str(", ");
                }
                let _ = write!(self.out, "{}: {}", c.name, c.ty);
            }
            self.out.push('>');
        }
        self.out.push('(');
        let params = f.params().to_vec();
        for (i, v) in params.into_iter().enumerate() {
            if i > 0 {
                self.out.push_str(", ");
            }
            let name = self.define(v);
            let _ = write!(self.out, "{name}: {}", self.body.ty(v));
        }
        self.out.push(')');
        if !f.results.is_empty() {
            self.out.push_str(" -> (");
            for (i, t) in f.results.iter().enumerate() {
                if i > 0 {
                    self.out.push_str(", ");
                }
                let _ = write!(self.out, "{t}");
            }
            self.out.push(')');
        }
        let _ = writeln!(self.out, " {} {{", format_loc(&f.loc));
        let entry = self.body.entry();
        self.region_ops(entry, 1);
        self.out.push_str("}\n");
    }

    fn indent(&mut self, depth: usize) {
        for _ in 0..depth {
            self.out.push_str("  ");
        }
    }

    fn region_ops(&mut self, r: RegionId, depth: usize) {
        for &op in &self.body.region(r).ops {
            self.op(op, depth);
        }
    }

    fn op(&mut self, id: OpId, depth: usize) {
        let op = self.body.op(id);
        self.indent(depth);
        if !op.results.is_empty() {
            let names: Vec<String> = op
                .results
                .clone()
                .into_iter()
                .map(|v| self.define(v))
                .collect();
            let _ = write!(self.out, "{} = ", names.join(", "));
        }
        let op = self.body.op(id);
        let _ = write!(self.out, "{}", op.kind);
        for (i, &v) in op.operands.iter().enumerate() {
            self.out.push_str(if i == 0 { " " } else { ", " });
            let n = self.name(v);
            self.out.push_str(&n);
        }
        if !op.attrs.is_empty() {
            self.out.push_str(" {");
            for (i, (k, a)) in op.attrs.iter().enumerate() {
                if i > 0 {
                    self.out.push_str(", ");
                }
                let _ = write!(self.out, "{k} = {a}");
            }
            self.out.push('}');
        }
        if !op.results.is_empty() {
            self.out.push_str(" : ");
            for (i, &v) in op.results.iter().enumerate() {
                if i > 0 {
                    self.out.push_str(", ");
                }
                let _ = write!(self.out, "{}", self.body.ty(v));
            }
        }
        for r in op.regions.clone() {
            self.out.push_str(" {\n");
            let args = self.body.region(r).args.clone();
            if !args.is_empty() {
                self.indent(depth);
                self.out.push_str("^(");
                for (i, v) in args.into_iter().enumerate() {
                    if i > 0 {
                        self.out.push_str(", ");
                    }
                    let name = self.define(v);
                    let _ = write!(self.out, "{name}: {}", self.body.ty(v));
                }
                self.out.push_str("):\n");
            }
            self.region_ops(r, depth + 1);
            self.indent(depth);
            self.out.push('}');
        }
        let loc = format_loc(&self.body.op(id).loc);
        let _ = writeln!(self.out, " {loc}");
    }
}

/// A fingerprint of a module's meaning: FNV-1a of its text with every
/// location and value name left out, so the same kernel matches whether it
/// was built from a file named differently (the macro's path, the CLI's
/// argument) or went through the textual form once more (which renames
/// duplicate bindings). Prebuilt PTX is looked up by it.
pub fn fingerprint(m: &Module) -> u64 {
    let mut plain = m.clone();
    for f in plain.funcs.iter_mut() {
        f.loc = Location::unknown();
        for i in 0..f.body.num_ops() {
            f.body.op_mut(OpId(i as u32)).loc = Location::unknown();
        }
        for i in 0..f.body.num_values() {
            f.body.value_mut(ValueId(i as u32)).name = None;
        }
    }
    print_module(&plain)
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
        })
}
