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

/// The product code of a file: every item marked `#[cfg(test)]` blanked wherever it stands (the
/// unit tests may use anything), comment lines left out (a doc link is no dependency).
fn product_text(path: &Path) -> String {
    let text = without_test_items(&std::fs::read_to_string(path).unwrap());
    text.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `text` with each item marked `#[cfg(test)]` (a `mod tests { .. }`, a lone `#[test] fn`, a `use`)
/// blanked to spaces, line breaks kept so line numbers hold. Regression
/// (architecture_rules_stopped_at_the_first_cfg_test): reading only up to the first
/// `#[cfg(test)]` left the code after a mid-file test unchecked by every rule here.
fn without_test_items(text: &str) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    let code: Vec<char> = blank_literals(text).chars().collect();
    let marker: Vec<char> = "#[cfg(test)]".chars().collect();
    let mut i = 0;
    while i + marker.len() <= code.len() {
        if code[i..i + marker.len()] != marker[..] {
            i += 1;
            continue;
        }
        let end = item_end(&code, i + marker.len());
        for c in &mut chars[i..end] {
            if *c != '\n' {
                *c = ' ';
            }
        }
        i = end;
    }
    chars.into_iter().collect()
}

/// One past the end of the item that starts at or after `from` (further attributes skipped): its
/// `;`, or the `}` matching its first `{`.
fn item_end(code: &[char], from: usize) -> usize {
    let (mut depth, mut brackets) = (0usize, 0usize);
    for (i, &c) in code.iter().enumerate().skip(from) {
        match c {
            '[' | '(' => brackets += 1,
            ']' | ')' => brackets = brackets.saturating_sub(1),
            ';' if depth == 0 && brackets == 0 => return i + 1,
            '{' => depth += 1,
            '}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
    }
    code.len()
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
        // Text shown to people: pure helpers, imported by any stage, importing none.
        (
            "text",
            &[
                "model",
                "classify",
                "audit",
                "policy",
                "report",
                "scan",
                "cli",
                "config",
                "xapi",
                "dump",
                "inventory",
                "nova",
                "nova_db",
                "plan",
                "trend",
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

/// The functions allowed past `MAX_FN_LINES`: pure tables only, each with its reason
/// (file relative to src/, fn name, the most lines it may have, reason). Empty since issue 24's last splits: a new entry must
/// be a table (data, not steps), and a stale entry fails.
const LONG_FN_ALLOWED: &[(&str, &str, usize, &str)] = &[];

/// The longest a function of product code may be, in lines of its body.
const MAX_FN_LINES: usize = 80;

/// `text` with every comment, string and char literal blanked to spaces (line breaks kept), so
/// braces and `fn` inside them are not read as code. Good enough for this codebase: nested block
/// comments, escapes, raw strings (`r#"..."#`), byte strings, chars versus lifetimes.
fn blank_literals(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        let end = if c == '/' && next == Some('/') {
            chars[i..]
                .iter()
                .position(|&c| c == '\n')
                .map_or(chars.len(), |n| i + n)
        } else if c == '/' && next == Some('*') {
            block_comment_end(&chars, i)
        } else if c == 'r' && matches!(next, Some('"') | Some('#')) && !ident_before(&chars, i) {
            raw_string_end(&chars, i + 1).unwrap_or(i + 1)
        } else if c == '"' {
            string_end(&chars, i)
        } else if c == '\'' {
            char_literal_end(&chars, i).unwrap_or(i + 1)
        } else {
            i + 1
        };
        if end == i + 1 {
            out.push(c);
        } else {
            out.extend(chars[i..end].iter().map(|&c| blank(c)));
        }
        i = end;
    }
    out
}

fn ident_before(chars: &[char], i: usize) -> bool {
    i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_')
}

/// One past the `*/` closing the block comment opened at `i` (nested ones included).
fn block_comment_end(chars: &[char], mut i: usize) -> usize {
    let mut depth = 0;
    while i < chars.len() {
        if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
            depth += 1;
            i += 2;
        } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return i;
            }
        } else {
            i += 1;
        }
    }
    chars.len()
}

/// One past the closing quote of the string opened at `i`.
fn string_end(chars: &[char], mut i: usize) -> usize {
    i += 1;
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 2,
            '"' => return i + 1,
            _ => i += 1,
        }
    }
    chars.len()
}

/// For `r#"..."#` whose hashes start at `i`: one past its end; None if this is no raw string.
fn raw_string_end(chars: &[char], i: usize) -> Option<usize> {
    let hashes = chars[i..].iter().take_while(|&&c| c == '#').count();
    if chars.get(i + hashes) != Some(&'"') {
        return None;
    }
    let close: Vec<char> = std::iter::once('"')
        .chain(std::iter::repeat_n('#', hashes))
        .collect();
    let body = i + hashes + 1;
    (body..chars.len())
        .find(|&j| chars[j..].starts_with(&close))
        .map(|j| j + close.len())
}

/// For a `'` at `i`: one past the char literal it opens; None for a lifetime.
fn char_literal_end(chars: &[char], i: usize) -> Option<usize> {
    if chars.get(i + 1) == Some(&'\\') {
        let close = (i + 2..chars.len()).find(|&j| chars[j] == '\'')?;
        return Some(close + 1);
    }
    (chars.get(i + 2) == Some(&'\'')).then_some(i + 3)
}

/// One function of product code: where it starts, its name, and its body's length in lines.
#[derive(Debug)]
struct FnLength {
    line: usize,
    name: String,
    body_lines: usize,
}

/// Every `fn name(...) { ... }` of `code` (already blanked), with the lines strictly between its
/// opening and closing brace. Declarations without a body (`fn f();` in a trait) are skipped.
fn fn_lengths(code: &str) -> Vec<FnLength> {
    let bytes = code.as_bytes();
    let line_at = |pos: usize| code[..pos].matches('\n').count() + 1;
    let mut found = Vec::new();
    for (at, _) in code.match_indices("fn ") {
        if at > 0 && (bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_') {
            continue;
        }
        let name: String = code[at + 3..]
            .trim_start()
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if name.is_empty() {
            continue;
        }
        let Some(open) = code[at..].find(['{', ';']).map(|n| at + n) else {
            continue;
        };
        if bytes[open] == b';' {
            continue;
        }
        let close = matching_brace(bytes, open);
        found.push(FnLength {
            line: line_at(at),
            name,
            body_lines: (line_at(close) - line_at(open)).saturating_sub(1),
        });
    }
    found
}

/// The index of the `}` closing the `{` at `open`.
fn matching_brace(bytes: &[u8], open: usize) -> usize {
    let mut depth = 0usize;
    for (i, &b) in bytes.iter().enumerate().skip(open) {
        match b {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return i;
                }
            }
            _ => {}
        }
    }
    bytes.len() - 1
}

/// Product code of `path`: its `#[cfg(test)]` items, literals and comments blanked.
fn blanked_product_code(path: &Path) -> String {
    blank_literals(&without_test_items(&std::fs::read_to_string(path).unwrap()))
}

#[test]
fn no_function_over_80_lines_except_allowed_tables() {
    let src = util::root().join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut too_long = Vec::new();
    let mut allowed_seen = BTreeSet::new();
    for f in &files {
        let rel = f
            .strip_prefix(&src)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        for func in fn_lengths(&blanked_product_code(f)) {
            if func.body_lines <= MAX_FN_LINES {
                continue;
            }
            // An entry names a file, a function and the most lines it may have: a function that
            // grows past its entry, or another function of the same name, is not covered.
            let entry = LONG_FN_ALLOWED.iter().find(|(file, name, max, _)| {
                *file == rel && *name == func.name && func.body_lines <= *max
            });
            match entry {
                Some(entry) => {
                    allowed_seen.insert(*entry);
                }
                None => too_long.push(format!(
                    "src/{rel}:{}: fn {} is {} lines long (over {MAX_FN_LINES}): split it into named steps",
                    func.line, func.name, func.body_lines
                )),
            }
        }
    }
    assert!(too_long.is_empty(), "\n{}", too_long.join("\n"));
    for entry in LONG_FN_ALLOWED {
        assert!(
            allowed_seen.contains(entry),
            "allow-list entry {entry:?} is no longer needed: remove it"
        );
    }
}

#[test]
fn test_items_are_blanked_wherever_they_stand() {
    let text = "fn a() {}\n#[cfg(test)]\n#[test]\nfn t() -> [u8; 2] { [0; 2] }\nfn b() { crate::x::y(); }\n#[cfg(test)]\nuse crate::z;\n#[cfg(test)]\nmod tests {\n    fn c() { \"}\"; }\n}\nfn d() {}\n";
    let kept = without_test_items(text);
    assert_eq!(
        kept.lines().count(),
        text.lines().count(),
        "line numbers hold"
    );
    for gone in ["fn t", "[0; 2]", "crate::z", "mod tests", "fn c"] {
        assert!(!kept.contains(gone), "{gone} kept:\n{kept}");
    }
    for left in ["fn a() {}", "fn b() { crate::x::y(); }", "fn d() {}"] {
        assert!(kept.contains(left), "{left} lost:\n{kept}");
    }
}

#[test]
fn the_function_length_reader_sees_through_literals_and_comments() {
    let cases: &[(&str, &[(&str, usize)])] = &[
        ("fn a() {\n    x;\n    y;\n}\n", &[("a", 2)]),
        (
            "fn a() { \"}\"; }\nfn b() {\n    1\n}\n",
            &[("a", 0), ("b", 1)],
        ),
        (
            "fn a() {\n    let c = '{';\n    let s = r#\"}\"#;\n}\nfn b() {\n}\n",
            &[("a", 2), ("b", 0)],
        ),
        (
            "fn a<'x>(v: &'x str) {\n    // }\n    /* } /* } */ */\n    v;\n}\n",
            &[("a", 3)],
        ),
        (
            "trait T {\n    fn f();\n    fn g() {\n        h(\"fn z() {\");\n    }\n}\n",
            &[("g", 1)],
        ),
        (
            "fn a() {\n    fn inner() {\n        '\\'';\n    }\n}\n",
            &[("a", 3), ("inner", 1)],
        ),
        (
            "fn apply(f: impl Fn() -> u8, g: fn(u8)) {\n}\n",
            &[("apply", 0)],
        ),
    ];
    for (code, want) in cases {
        let got: Vec<(String, usize)> = fn_lengths(&blank_literals(code))
            .into_iter()
            .map(|f| (f.name, f.body_lines))
            .collect();
        let want: Vec<(String, usize)> = want.iter().map(|(n, l)| (n.to_string(), *l)).collect();
        assert_eq!(got, want, "{code}");
    }
}

/// ARCHITECTURE.md's modules table says what each module imports: that column is the code's
/// graph, word for word (rows that say "everything above" aside), so the page stays true as
/// arrows are added.
#[test]
fn architecture_md_imports_column_is_the_code_graph() {
    let g = graph();
    let page = std::fs::read_to_string(util::root().join("ARCHITECTURE.md")).unwrap();
    let mut rows = 0;
    for line in page.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.trim_matches('|').split(" | ").collect();
        let module = cells[0].trim().trim_matches('`');
        let imports = cells.last().unwrap().trim();
        let Some(actual) = g.get(module) else {
            continue;
        };
        if imports.contains("everything above") {
            continue;
        }
        let stated: BTreeSet<String> = imports
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .filter(|w| g.contains_key(*w))
            .map(str::to_string)
            .collect();
        assert_eq!(
            &stated, actual,
            "ARCHITECTURE.md's row for `{module}` says it imports {stated:?}; the code imports {actual:?}"
        );
        rows += 1;
    }
    assert!(
        rows >= 12,
        "only {rows} rows of the modules table were read"
    );
}
