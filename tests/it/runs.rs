//! Runs people repeat: configuration errors stop the run before anything is scanned, no stale
//! report survives a re-run, failures are named on the console, counts agree between the console,
//! summary.md and report.json, and the helper binaries behave like tools. One regression test per
//! behaviour that was wrong.

use crate::util;
use xen_sr_audit::policy::exit;

use crate::util::{read_csv, read_json, xsa, xsa_env, TestDir};
use std::path::PathBuf;
use std::process::Command;

fn demo_inventory() -> PathBuf {
    util::root().join("fixtures/demo/inventory.csv")
}

fn scan(dir: &TestDir, out: &str, extra: &[&str]) -> util::Run {
    let inv = demo_inventory();
    let mut args = vec!["scan", "-i", inv.to_str().unwrap(), "-o", out];
    args.extend_from_slice(extra);
    xsa(dir.path(), &args)
}

#[test]
fn regression_out_that_cannot_hold_reports_fails_at_once_with_74() {
    let dir = TestDir::new();
    dir.write("taken", "a file");
    let run = scan(&dir, "taken", &[]);
    run.expect_code(exit::IO);
    assert!(
        run.stderr.contains("taken: exists and is not a folder"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("[1/"),
        "nothing was scanned: {}",
        run.stderr
    );
    let run = scan(&dir, "taken/sub", &[]);
    run.expect_code(exit::IO);
    let line = run.stderr.trim();
    assert_eq!(line.lines().count(), 1, "{line}");
    assert_eq!(
        line.matches("os error").count(),
        1,
        "the cause once: {line}"
    );
}

#[test]
fn regression_configuration_errors_exit_64_before_scanning() {
    let dir = TestDir::new();
    let cases = [
        (
            "name,url,password_env\nxs1,https://127.0.0.1:1/,XSA_TEST_UNSET_VAR\n",
            "inv.csv:2: xs1: password_env: environment variable XSA_TEST_UNSET_VAR is not set",
        ),
        (
            "name,url,password_file\n# a comment\nxs1,https://127.0.0.1:1/,no-such-file\n",
            "inv.csv:3: xs1: password_file: ",
        ),
        (
            "name,url\nxs1,https://x:99999/\n",
            "inv.csv:2: xs1: url: port",
        ),
        ("name,url\nxs1,https://\n", "inv.csv:2: xs1: url: no host"),
        (
            "name;dump;site\na;a.xml;x\n",
            "inv.csv:1: the header \"name;dump;site\" is separated by semicolons",
        ),
    ];
    for (text, want) in cases {
        let inv = dir.write("inv.csv", text);
        let run = xsa(
            dir.path(),
            &["scan", "-i", inv.to_str().unwrap(), "-o", "out"],
        );
        run.expect_code(exit::USAGE);
        assert!(run.stderr.contains(want), "{want}: {}", run.stderr);
        assert_eq!(run.stderr.trim().lines().count(), 1, "{}", run.stderr);
        assert!(!dir.join("out").exists(), "nothing written for {want}");
    }
    // Column names in any case.
    let inv = dir.write(
        "cased.csv",
        format!(
            "Name,Dump\nedge,{}\n",
            util::root()
                .join("fixtures/demo/dumps/edge-01.state.db")
                .display()
        ),
    );
    xsa(
        dir.path(),
        &["scan", "-i", inv.to_str().unwrap(), "-o", "cased", "-q"],
    )
    .expect_code(exit::BLOCKED);
    // A --ca-file that is not PEM.
    let ca = dir.write("ca.pem", "not a certificate");
    let run = scan(&dir, "ca-out", &["--ca-file", ca.to_str().unwrap()]);
    run.expect_code(exit::USAGE);
    assert!(
        run.stderr.contains("ca.pem: not a PEM certificate"),
        "{}",
        run.stderr
    );
}

#[test]
fn regression_stale_reports_of_an_earlier_run_are_removed() {
    let dir = TestDir::new();
    scan(&dir, "out", &["-q"]).expect_code(exit::BLOCKED);
    dir.write("out/notes.txt", "mine");
    for f in ["report.html", "report.json", "summary.md", "findings.csv"] {
        assert!(dir.join("out").join(f).is_file());
    }
    let run = scan(&dir, "out", &["--format", "csv"]);
    run.expect_code(exit::BLOCKED);
    for f in ["report.html", "report.json", "summary.md"] {
        assert!(
            !dir.join("out").join(f).exists(),
            "{f} of the earlier run is gone"
        );
        assert!(
            run.stderr
                .contains(&format!("removed {}", dir.join("out").join(f).display()))
                || run.stderr.contains(&format!("{f} (an earlier")),
            "{}",
            run.stderr
        );
    }
    assert!(dir.join("out/findings.csv").is_file());
    assert!(
        dir.join("out/notes.txt").is_file(),
        "files that are not the tool's stay"
    );
}

#[test]
fn regression_failed_entries_are_named_on_the_console_and_pools_counted_once() {
    let dir = TestDir::new();
    let demo = util::root().join("fixtures/demo");
    let inv = dir.write(
        "inv.csv",
        format!(
            "name,dump\neast-1,{0}/dumps/pool-east.xml\neast-2,{0}/dumps/pool-east.xml\nbroken,{1}\n",
            demo.display(),
            dir.join("missing.xml").display()
        ),
    );
    let run = xsa(
        dir.path(),
        &["scan", "-i", inv.to_str().unwrap(), "-o", "out"],
    );
    run.expect_code(exit::BLOCKED);
    assert!(
        run.stderr.contains("1 entry could not be audited:"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("  broken: "), "{}", run.stderr);
    // Progress lines carry no counts; the pool is counted once, as hosts.csv does.
    let pool_lines: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("pool "))
        .collect();
    assert_eq!(pool_lines.len(), 1, "{}", run.stderr);
    let hosts = read_csv(&dir.join("out/hosts.csv"));
    let first = hosts.iter().find(|h| h["name"] == "east-1").unwrap();
    assert!(
        pool_lines[0].contains(&format!(
            "{} instances, {} blocked",
            first["instances"], first["blocked"]
        )),
        "{pool_lines:?}"
    );
    assert!(pool_lines[0].contains("entry east-1"));
    assert_eq!(
        hosts.iter().find(|h| h["name"] == "east-2").unwrap()["status"],
        "same-pool-as:east-1"
    );
    assert!(
        run.stderr
            .lines()
            .filter(|l| l.starts_with('['))
            .all(|l| !l.contains("blocked")),
        "{}",
        run.stderr
    );
}

#[test]
fn regression_nothing_audited_says_so() {
    let dir = TestDir::new();
    let inv = dir.write("inv.csv", "name,dump\na,missing.xml\n");
    let run = xsa(
        dir.path(),
        &["scan", "-i", inv.to_str().unwrap(), "-o", "out"],
    );
    run.expect_code(exit::ENTRY_FAILED);
    assert!(
        run.stderr
            .contains("Nothing could be audited: 1 of 1 inventory entry failed"),
        "{}",
        run.stderr
    );
    let md = std::fs::read_to_string(dir.join("out/summary.md")).unwrap();
    assert!(
        md.starts_with("# xen-sr-audit: Nothing could be audited"),
        "{md}"
    );
    assert!(
        !md.contains("1 pools") && !md.contains("0 pools is"),
        "{md}"
    );
}

#[test]
fn regression_waived_counts_agree_everywhere_and_unused_waivers_warn() {
    let dir = TestDir::new();
    scan(&dir, "plain", &["-q"]).expect_code(exit::BLOCKED);
    let blocked: Vec<_> = read_csv(&dir.join("plain/findings.csv"))
        .into_iter()
        .filter(|f| f["verdict"] == "blocked")
        .collect();
    let mut toml = String::new();
    for f in &blocked {
        toml.push_str(&format!(
            "[[waiver]]\nfinding_id = \"{}\"\nreason = \"booked\"\nowner = \"ops\"\nexpires = 2099-12-31\n\n",
            f["finding_id"]
        ));
    }
    toml.push_str("[[waiver]]\nfinding_id = \"no/such/1\"\nreason = \"typo\"\nowner = \"ops\"\nexpires = 2099-12-31\n");
    let w = dir.write("w.toml", toml);
    let run = scan(&dir, "w", &["--waivers", w.to_str().unwrap()]);
    let json = read_json(&dir.join("w/report.json"));
    let s = &json["summary"];
    // Effective verdicts: every blocking finding is waived, so nothing is blocked; instances
    // that still hold a volume to review are counted there, the rest as waived.
    assert_eq!(s["instances_blocked"], 0);
    let review = s["instances_review"].as_u64().unwrap();
    let waived = s["instances_waived"].as_u64().unwrap();
    assert!(
        review > 0 && waived > 0,
        "the demo's blocked instances also hold volumes to review: {s}"
    );
    assert_eq!(
        review + waived + s["instances_ok"].as_u64().unwrap(),
        s["instances"].as_u64().unwrap()
    );
    assert_eq!(run.code, i32::from(exit::WARNINGS), "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "; {review} need review; {waived} waived (every problem acknowledged)"
        )),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains(&format!("exit 1: {review} instances to review")),
        "the console says why the run exits 1: {}",
        run.stderr
    );
    let md = std::fs::read_to_string(dir.join("w/summary.md")).unwrap();
    assert!(
        md.contains(&format!("0 blocked, {review} to review, {waived} waived")),
        "{md}"
    );
    // The mistyped id: on the console and in summary.md.
    assert!(
        run.stderr.contains("w.toml:") && run.stderr.contains("matches no finding"),
        "{}",
        run.stderr
    );
    assert!(md.contains("Unused waiver"), "{md}");
}

#[test]
fn regression_capture_help_shows_only_what_capture_uses() {
    let dir = TestDir::new();
    let run = xsa(dir.path(), &["capture", "--help"]);
    run.expect_code(exit::CLEAN);
    for absent in [
        "--format",
        "--baseline",
        "--waivers",
        "--fail-on",
        "--nova-bdms",
    ] {
        assert!(!run.stdout.contains(absent), "{absent} in capture --help");
    }
    assert!(run.stdout.contains("-j, --concurrency"));
    let run = xsa(dir.path(), &["scan", "--help"]);
    assert!(run.stdout.contains("-j, --concurrency"));
    let flat = run.stdout.split_whitespace().collect::<Vec<_>>().join(" ");
    assert_eq!(
        flat.matches("[default: csv,json,html,md]").count(),
        1,
        "{flat}"
    );
    assert!(!run.stdout.contains("(default: all)"));
    let run = xsa(dir.path(), &["--help"]);
    assert!(run.stdout.contains("70 internal error"), "{}", run.stdout);
}

#[test]
fn regression_html_ids_do_not_wrap_and_tables_scroll() {
    let dir = TestDir::new();
    scan(&dir, "out", &["-q"]).expect_code(exit::BLOCKED);
    let html = std::fs::read_to_string(dir.join("out/report.html")).unwrap();
    assert!(html.contains("white-space: nowrap; }"), "ids in one line");
    assert!(
        !html.contains("overflow-wrap: anywhere; }\n.scroll"),
        "cells no longer break mid-word"
    );
    assert_eq!(
        html.matches("<table").count(),
        html.matches("<div class=\"scroll\"><table").count(),
        "every table scrolls sideways"
    );
}

fn tool(bin: &str, args: &[&str]) -> util::Run {
    let mut c = Command::new(bin);
    c.args(args).env("RUST_BACKTRACE", "1");
    let o = util::output_within(c, util::CHILD_LIMIT);
    util::Run {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

#[test]
fn regression_helper_binaries_validate_and_fail_in_one_line() {
    let dir = TestDir::new();
    let gen = env!("CARGO_BIN_EXE_gen-fleet");
    let sim = env!("CARGO_BIN_EXE_xapi-sim");
    assert!(tool(gen, &["--version"]).stdout.starts_with("gen-fleet "));
    assert!(tool(sim, &["--version"]).stdout.starts_with("xapi-sim "));
    let out = dir.join("f");
    let out = out.to_str().unwrap();
    assert_eq!(tool(gen, &["--out", out, "--pools", "0"]).code, 2);
    assert_eq!(
        tool(gen, &["--out", out, "--legacy-percent", "150"]).code,
        2
    );
    let blocked = dir.write("file", "x");
    let run = tool(gen, &["--out", &format!("{}/sub", blocked.display())]);
    assert_eq!(run.code, 1);
    assert_eq!(run.stderr.trim().lines().count(), 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("file/sub") && !run.stderr.contains("backtrace"),
        "{}",
        run.stderr
    );
    let dump = util::root().join("fixtures/demo/dumps/edge-01.state.db");
    let run = tool(
        sim,
        &["--dump", dump.to_str().unwrap(), "--fault", "nosuch=hang"],
    );
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("--fault names host \"nosuch\""),
        "{}",
        run.stderr
    );
    let run = tool(sim, &["--dump", "/no/such.xml"]);
    assert_eq!(run.code, 1);
    assert_eq!(run.stderr.trim().lines().count(), 1, "{}", run.stderr);
    assert!(run.stderr.contains("/no/such.xml"), "{}", run.stderr);
    let _ = xsa_env;
}

#[test]
fn regression_a_terminal_progress_bar_names_each_failure_as_it_happens() {
    // A real terminal: util-linux's `script` runs the binary on a pseudo-terminal, so stderr is a
    // TTY and the progress bar is drawn. Plain `cargo test` needs only Rust: without `script`, the
    // test says it is skipped and passes.
    if Command::new("script").arg("--version").output().is_err() {
        util::skip_or_fail(
            "regression_a_terminal_progress_bar_names_each_failure_as_it_happens",
            "util-linux `script` is not installed (apt-get install bsdutils)",
        );
        return;
    }
    let dir = TestDir::new();
    let inv = dir.write(
        "inv.csv",
        format!(
            "name,dump\nbroken,{}\nedge,{}\n",
            dir.join("missing.xml").display(),
            util::root()
                .join("fixtures/demo/dumps/edge-01.state.db")
                .display()
        ),
    );
    let cmd = format!(
        "{} scan -i {} -o {}",
        env!("CARGO_BIN_EXE_xen-sr-audit"),
        inv.display(),
        dir.join("out").display()
    );
    let mut script = Command::new("script");
    script
        .args(["-q", "-e", "-c", &cmd, "/dev/null"])
        .env("TERM", "xterm");
    let o = util::output_within(script, util::CHILD_LIMIT);
    let screen = String::from_utf8_lossy(&o.stdout);
    assert!(
        screen.contains(" entries, "),
        "the bar was drawn: {screen:?}"
    );
    let above_bar = screen
        .find("broken: failed: ")
        .expect("the failure is printed while the bar is up");
    let end_list = screen
        .find("1 entry could not be audited:")
        .expect("and listed at the end");
    assert!(above_bar < end_list, "{screen:?}");
}
