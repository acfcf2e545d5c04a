//! The defaults README.md states are the code's: each option's default as the built binary's
//! `--help` shows it (clap's `default_value_t`, from the code's own constants) must appear in the
//! README sentence that states it, and the one default that is not a clap default (Nova's target
//! port) is read from its constant. Changing a default in one place and not the other fails here.

use crate::util::{self, Xsa};
use std::collections::BTreeMap;

/// Each option whose default README states: the subcommand, the long flag, and README's sentence
/// with `{}` where the default stands (whitespace in README is compared as single spaces).
const STATED_DEFAULTS: &[(&str, &str, &str)] = &[
    (
        "scan",
        "--concurrency",
        "(`-j`/`--concurrency`, default {}:",
    ),
    ("scan", "--timeout", "cannot stretch it; default {})"),
    (
        "scan",
        "--connect-timeout",
        "`--connect-timeout SECS` (each TCP connect, within `--timeout`; default {}:",
    ),
    (
        "scan",
        "--host-deadline",
        "`--host-deadline SECS` (a whole entry, default {})",
    ),
    (
        "scan",
        "--max-response-mb",
        "`--max-response-mb` (default {})",
    ),
    (
        "scan",
        "--format",
        "`scan --inventory FILE --out DIR [--format {}]`",
    ),
    (
        "scan",
        "--fail-on",
        "`--fail-on blocked|review|never` picks the gate: `{}` (default)",
    ),
    (
        "scan",
        "--nova-db-ssl-mode",
        "| `--nova-db-ssl-mode MODE` | `{}` (default:",
    ),
    (
        "scan",
        "--nova-db-connect-timeout",
        "the TCP connect (default {});",
    ),
    (
        "trust",
        "--concurrency",
        "`-j`/`--concurrency` (default {}) follows the same rule as",
    ),
    (
        "plan",
        "--parallel-total",
        "`--parallel-total` (default {}) actions",
    ),
    (
        "plan",
        "--parallel-per-host",
        "`--parallel-per-host` ({}) per source host",
    ),
    (
        "plan",
        "--parallel-per-pool",
        "`--parallel-per-pool` ({}) per pool",
    ),
    (
        "plan",
        "--priority",
        "taken in `--priority` order (default `{}`;",
    ),
    ("plan", "--copy-rate", "`--copy-rate` MB/s (default {});"),
];

/// `text` with every run of whitespace made one space.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Each long option of `xen-sr-audit <command> --help` and its `[default: ...]`, if it shows one.
/// An option starts on a line indented at most six spaces with `-`; deeper lines continue it.
fn help_defaults(command: &str) -> BTreeMap<String, String> {
    let run = Xsa::new([command, "--help"]).env("COLUMNS", "100").run();
    run.expect_code(0);
    let mut blocks: Vec<String> = Vec::new();
    for line in run.stdout.lines() {
        let indent = line.len() - line.trim_start().len();
        if indent <= 6 && line.trim_start().starts_with('-') {
            blocks.push(String::new());
        }
        if let Some(b) = blocks.last_mut() {
            b.push(' ');
            b.push_str(line);
        }
    }
    blocks
        .iter()
        .filter_map(|b| {
            let b = one_line(b);
            let flag = b
                .split([' ', ','])
                .find(|w| w.starts_with("--"))?
                .to_string();
            let (_, rest) = b.split_once("[default: ")?;
            Some((flag, rest.split(']').next()?.to_string()))
        })
        .collect()
}

#[test]
fn readme_states_the_defaults_the_code_has() {
    let readme = one_line(&std::fs::read_to_string(util::root().join("README.md")).unwrap());
    let mut helps = BTreeMap::new();
    let mut wrong = Vec::new();
    for (command, flag, sentence) in STATED_DEFAULTS {
        let defaults = helps
            .entry(*command)
            .or_insert_with(|| help_defaults(command));
        let Some(default) = defaults.get(*flag) else {
            panic!("{command} --help shows no default for {flag}: {defaults:?}");
        };
        let stated = sentence.replace("{}", default);
        if !readme.contains(&stated) {
            wrong.push(format!(
                "{command} {flag}: the code's default is {default}, README lacks {stated:?}"
            ));
        }
    }
    let port = xen_sr_audit::classify::DEFAULT_PORT;
    let stated = format!("`[xenserver] target_port` (default `{port}`)");
    if !readme.contains(&stated) {
        wrong.push(format!("--nova-target-port: README lacks {stated:?}"));
    }
    assert!(
        wrong.is_empty(),
        "README and code disagree:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn help_defaults_reads_wrapped_and_unwrapped_options() {
    let plan = help_defaults("plan");
    for (flag, default) in [
        ("--parallel-total", "6"),
        ("--priority", "pool"),
        ("--prefer", "detach"),
        ("--cli", "nova"),
        ("--copy-rate", "100"),
    ] {
        assert_eq!(
            plan.get(flag).map(String::as_str),
            Some(default),
            "{flag}: {plan:?}"
        );
    }
    assert!(
        !plan.contains_key("--out"),
        "--out has no default: {plan:?}"
    );
    let scan = help_defaults("scan");
    assert_eq!(
        scan.get("--connect-timeout").map(String::as_str),
        Some("5"),
        "{scan:?}"
    );
    assert!(!scan.contains_key("--nova-target-port"), "{scan:?}");
}
