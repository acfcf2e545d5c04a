//! Keeps `reports/demo/` current: the checked-in reports of the demo fleet must equal what the tool
//! writes now (volatile fields, times and durations, are compared after removal). Run with
//! `XSA_BLESS=1 cargo test --test it demo_reports::` to rewrite them after an intended change. Also checks
//! that `fixtures/demo` is exactly what the generator writes, so the demo can always be regenerated.

use crate::util;
use xen_sr_audit::policy::exit;

use std::path::Path;

const STABLE_FILES: &[&str] = &[
    "findings.csv",
    "instances.csv",
    "orphans.csv",
    "conflicts.csv",
    "coverage.csv",
];

/// The arguments of README.md's first command (`cargo run ... -- scan ...`), with `--out` pointed
/// at `out`: the demo reports are what a newcomer's first command writes.
fn readme_scan_args(out: &Path) -> Vec<String> {
    let readme = std::fs::read_to_string(util::root().join("README.md")).unwrap();
    let block = readme
        .split("```sh\n")
        .nth(1)
        .expect("README.md starts with a sh block");
    let first = block.lines().next().unwrap();
    let (_, args) = first
        .split_once(" -- ")
        .expect("the first command is `cargo run ... -- scan ...`");
    let mut args: Vec<String> = args.split_whitespace().map(str::to_string).collect();
    assert_eq!(args[0], "scan", "{first}");
    let i = args.iter().position(|a| a == "--out").expect("--out");
    args[i + 1] = out.display().to_string();
    args.push("--quiet".into());
    args
}

fn normalise_json(mut v: serde_json::Value) -> serde_json::Value {
    for k in ["started_at", "finished_at", "duration_ms", "command"] {
        v["run"][k] = serde_json::Value::Null;
    }
    if let Some(hosts) = v["hosts"].as_array_mut() {
        for h in hosts {
            h["duration_ms"] = serde_json::Value::Null;
        }
    }
    v
}

fn normalise_text(path: &Path, report_json: &Path) -> String {
    let run = &util::read_json(report_json)["run"];
    let mut text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e} (bless with XSA_BLESS=1)", path.display()));
    for k in ["started_at", "finished_at", "command"] {
        let v = run[k].as_str().unwrap();
        text = text.replace(v, &format!("<{k}>"));
        // The HTML escapes what it shows.
        text = text.replace(&v.replace('/', "&#x2f;"), &format!("<{k}>"));
    }
    text
}

fn normalise_hosts(path: &Path) -> Vec<std::collections::BTreeMap<String, String>> {
    let mut rows = util::read_csv(path);
    for r in &mut rows {
        r.remove("duration_ms");
    }
    rows
}

#[test]
fn checked_in_demo_reports_are_current() {
    let root = util::root();
    // A folder of this test's own: two runs of the suite (or two worktrees) never share it.
    let tmp = util::TestDir::new();
    let out = tmp.join("demo-reports-check");
    // Run from the crate root with the README's first command, as a newcomer would.
    let args = readme_scan_args(&out);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    util::xsa(&root, &args).expect_code(exit::BLOCKED);
    let reports = root.join("reports/demo");
    if std::env::var_os("XSA_BLESS").is_some() {
        std::fs::create_dir_all(&reports).unwrap();
        for e in std::fs::read_dir(&reports).unwrap() {
            let p = e.unwrap().path();
            if p.is_file() && p.file_name().is_some_and(|n| n != "report.png") {
                std::fs::remove_file(p).unwrap();
            }
        }
        for e in std::fs::read_dir(&out).unwrap() {
            let p = e.unwrap().path();
            std::fs::copy(&p, reports.join(p.file_name().unwrap())).unwrap();
        }
        return;
    }
    for name in STABLE_FILES {
        let want = std::fs::read_to_string(reports.join(name))
            .unwrap_or_else(|e| panic!("reports/demo/{name}: {e} (bless with XSA_BLESS=1)"));
        let got = std::fs::read_to_string(out.join(name)).unwrap();
        util::assert_same_text(&format!("reports/demo/{name}"), &want, &got);
    }
    assert_eq!(
        normalise_hosts(&reports.join("hosts.csv")),
        normalise_hosts(&out.join("hosts.csv")),
        "reports/demo/hosts.csv"
    );
    // The HTML page and summary.md, with this run's time and command line set aside.
    for name in ["report.html", "summary.md"] {
        let want = normalise_text(&reports.join(name), &reports.join("report.json"));
        let got = normalise_text(&out.join(name), &out.join("report.json"));
        util::assert_same_text(&format!("reports/demo/{name}"), &want, &got);
    }
    assert_eq!(
        normalise_json(util::read_json(&reports.join("report.json"))),
        normalise_json(util::read_json(&out.join("report.json"))),
        "reports/demo/report.json"
    );
}

#[test]
fn demo_fixtures_are_what_the_generator_writes() {
    let dir = util::TestDir::new();
    let inv = dir.gen_fleet("demo", &["--demo"]);
    let fixtures = util::root().join("fixtures/demo");
    assert_eq!(
        std::fs::read(&inv).unwrap(),
        std::fs::read(fixtures.join("inventory.csv")).unwrap()
    );
    for sub in ["dumps", "nova"] {
        let mut names = Vec::new();
        for e in std::fs::read_dir(fixtures.join(sub)).unwrap() {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_owned();
            assert!(std::fs::read(&p).unwrap() == std::fs::read(dir.join("demo").join(sub).join(&name)).unwrap(), "fixtures/demo/{sub}/{name:?} differs from the generator's output: regenerate with gen-fleet --demo --out fixtures/demo");
            names.push(name);
        }
        assert_eq!(
            names.len(),
            std::fs::read_dir(dir.join("demo").join(sub))
                .unwrap()
                .count(),
            "fixtures/demo/{sub} holds every file the generator writes"
        );
    }
}
