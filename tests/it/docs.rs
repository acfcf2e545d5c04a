//! The docs name files that exist: every repository path README.md, ARCHITECTURE.md, TESTING.md,
//! BENCHMARKS.md and docs/*.md name (`src/...`, `tests/...`, `benches/...`, `scripts/...`,
//! `contrib/...`, `docs/...`, `fixtures/...`), and every module path in backticks (`plan/rules.rs`,
//! read under src/), is a file or folder of the repository. A module moved or split without its
//! docs fails here, as `src/audit.rs` did when it became `src/audit/`.

use crate::util;

use std::path::Path;

/// The documents that name code.
fn documents() -> Vec<std::path::PathBuf> {
    let root = util::root();
    let mut docs: Vec<_> = [
        "README.md",
        "ARCHITECTURE.md",
        "TESTING.md",
        "BENCHMARKS.md",
    ]
    .iter()
    .map(|d| root.join(d))
    .collect();
    for e in std::fs::read_dir(root.join("docs")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "md") {
            docs.push(p);
        }
    }
    docs
}

/// The top folders of the repository a document may name paths under.
const TOP_FOLDERS: &[&str] = &[
    "src", "tests", "benches", "scripts", "contrib", "docs", "fixtures",
];

/// Paths the docs name in another repository (BENCHMARKS.md cites xapi-project/xen-api's files).
const PATHS_OF_OTHER_REPOSITORIES: &[&str] = &["scripts/init.d-xapissl"];

fn is_path_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/')
}

/// The repository paths `text` names: words that start with a top folder and a slash (not inside
/// another path or a URL), and `.rs` paths in backticks relative to src/. Each as (line, path,
/// relative to the repository root), without a trailing dot or a glob's tail.
fn named_paths(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        for (start, _) in line.char_indices() {
            let before = line[..start].chars().next_back();
            if before.is_some_and(|c| is_path_char(c) || c == ':') {
                continue;
            }
            let word: String = line[start..]
                .chars()
                .take_while(|&c| is_path_char(c))
                .collect();
            let word = word.trim_end_matches('.');
            let Some((top, _)) = word.split_once('/') else {
                continue;
            };
            if TOP_FOLDERS.contains(&top) {
                out.push((n + 1, word.to_string()));
            } else if before == Some('`')
                && word.ends_with(".rs")
                && line[start + word.len()..].starts_with('`')
            {
                out.push((n + 1, format!("src/{word}")));
            }
        }
    }
    out
}

#[test]
fn every_path_the_docs_name_exists() {
    let root = util::root();
    let mut missing = Vec::new();
    let mut checked = 0;
    for doc in documents() {
        let text = std::fs::read_to_string(&doc).unwrap();
        let name = doc.strip_prefix(&root).unwrap().display().to_string();
        for (line, path) in named_paths(&text) {
            checked += 1;
            if !root.join(&path).exists() && !PATHS_OF_OTHER_REPOSITORIES.contains(&path.as_str()) {
                missing.push(format!("{name}:{line}: {path}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "paths named in the docs that do not exist:\n{}",
        missing.join("\n")
    );
    assert!(
        checked > 40,
        "the docs name {checked} paths: is the scan finding them?"
    );
}

#[test]
fn named_paths_finds_repository_and_module_paths_only() {
    let text = "see src/audit.rs, `src/audit/` and `plan/rules.rs`; tests/*.rs\n\
                https://github.com/x/src/y.rs and out/src/z.rs and `a.rs` and scripts/test.";
    let got: Vec<String> = named_paths(text).into_iter().map(|(_, p)| p).collect();
    assert_eq!(
        got,
        [
            "src/audit.rs",
            "src/audit/",
            "src/plan/rules.rs",
            "tests/",
            "scripts/test"
        ]
    );
    assert!(!Path::new(&util::root().join("src/audit.rs")).exists());
}
