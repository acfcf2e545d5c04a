//! The module graph stays one-way (ARCHITECTURE.md): read from the `crate::<module>` paths of src/
//! (unit tests aside), there is no cycle among the top-level modules, the records know no source,
//! the rules know no wire, reports know no run policy's caller, the simulator and the fleet generator
//! are used by no product module, and no module file grows past about 700 lines of code.

use crate::util;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The top-level module a file of src/ belongs to (`src/dump/reader.rs` -> `dump`).
fn module_of(rel: &Path) -> Option<String> {
    let mut parts = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().to_string());
    let first = parts.next()?;
    if first == "bin" || first == "main.rs" || first == "lib.rs" {
        return None;
    }
    Some(first.trim_end_matches(".rs").to_string())
}

/// The code of a file up to its first `#[cfg(test)]` (the unit tests may use anything), comment
/// lines left out (a doc link is no dependency).
fn product_text(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let code = match text.find("#[cfg(test)]") {
        Some(i) => &text[..i],
        None => &text,
    };
    code.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// module -> the top-level modules its product code names as `crate::<m>`.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = util::root().join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in files {
        let Some(m) = module_of(f.strip_prefix(&src).unwrap()) else {
            continue;
        };
        let text = product_text(&f);
        let deps = g.entry(m.clone()).or_default();
        for (i, _) in text.match_indices("crate::") {
            let rest = &text[i + "crate::".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() && name != m {
                deps.insert(name);
            }
        }
        // `use crate::{a, b}` groups.
        for (i, _) in text.match_indices("crate::{") {
            let rest = &text[i + "crate::{".len()..];
            let group = &rest[..rest.find('}').unwrap_or(0)];
            for name in group.split(',') {
                let name: String = name
                    .trim()
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() && name != m {
                    deps.insert(name);
                }
            }
        }
    }
    g
}

fn reaches(g: &BTreeMap<String, BTreeSet<String>>, from: &str, to: &str) -> bool {
    let mut seen = BTreeSet::new();
    let mut stack = vec![from.to_string()];
    while let Some(m) = stack.pop() {
        for d in g.get(&m).into_iter().flatten() {
            if d == to {
                return true;
            }
            if seen.insert(d.clone()) {
                stack.push(d.clone());
            }
        }
    }
    false
}

#[test]
fn no_cycle_among_top_level_modules() {
    let g = graph();
    assert!(g.len() >= 10, "found the modules: {g:?}");
    for m in g.keys() {
        assert!(
            !reaches(&g, m, m),
            "module {m} reaches itself: {:?}",
            g.iter()
                .map(|(k, v)| format!("{k} -> {v:?}"))
                .collect::<Vec<_>>()
        );
    }
}

#[test]
fn arrows_point_one_way() {
    let g = graph();
    let forbidden: &[(&str, &[&str])] = &[
        // Records know no source.
        (
            "model",
            &["dump", "xapi", "audit", "policy", "report", "scan"],
        ),
        // Nova's rules know no source, no wire and no findings.
        (
            "classify",
            &["dump", "xapi", "audit", "policy", "report", "scan"],
        ),
        // The audit reads records, never how they were fetched.
        (
            "audit",
            &["dump", "xapi", "policy", "report", "scan", "config"],
        ),
        // Run policy takes findings; it knows no report and no caller.
        (
            "policy",
            &["report", "scan", "cli", "config", "xapi", "dump"],
        ),
        // Reports hold the assembled result and its writers only.
        (
            "report",
            &["scan", "cli", "config", "xapi", "dump", "inventory"],
        ),
        // The planner reads report.json as data: it knows no source, no scan and no report type.
        (
            "plan",
            &[
                "scan",
                "cli",
                "xapi",
                "dump",
                "report",
                "audit",
                "inventory",
            ],
        ),
        // Plain options.
        ("config", &["report", "policy", "audit", "scan", "cli"]),
        // Nova's database is a source: it yields the exports' text, and knows no findings nor run.
        (
            "nova_db",
            &["dump", "xapi", "audit", "policy", "report", "scan", "cli"],
        ),
        // Runs over time read report.json files; they never scan and know no caller.
        (
            "trend",
            &["scan", "cli", "config", "xapi", "dump", "inventory", "nova"],
        ),
    ];
    for (m, never) in forbidden {
        for n in *never {
            assert!(
                !reaches(&g, m, n),
                "{m} must not depend on {n} (directly or not): {m} -> {:?}",
                g.get(*m)
            );
        }
    }
    for (m, deps) in &g {
        if m != "sim" {
            assert!(
                !deps.contains("sim"),
                "product module {m} imports the simulator/fleet tooling"
            );
        }
    }
}

#[test]
fn no_module_file_over_about_700_lines_of_code() {
    let src = util::root().join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    for f in files {
        let code = product_text(&f)
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with("//"))
            .count();
        assert!(
            code <= 720,
            "{}: {code} lines of code before its unit tests",
            f.display()
        );
    }
}
