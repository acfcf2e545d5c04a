//! Baselines across a programme (issue 18, point 4, as a reviewer met it): a waiver dropped or
//! expired between runs, and a verdict that changes on the same SR because Nova's exports were
//! added, are the problems the baseline already knew, not new ones. `diff OLD NEW` and
//! `scan --baseline OLD` say the same; each test runs the real binary on the demo fleet.

use crate::util;
use xen_sr_audit::policy::exit;

use crate::util::{read_csv, read_json, xsa, TestDir};
use std::path::PathBuf;

fn demo() -> PathBuf {
    util::root().join("fixtures/demo")
}

fn scan(dir: &TestDir, out: &str, extra: &[&str]) -> util::Run {
    let inv = demo().join("inventory.csv");
    let mut args = vec!["scan", "-i", inv.to_str().unwrap(), "-o", out, "-q"];
    args.extend_from_slice(extra);
    xsa(dir.path(), &args)
}

fn path(dir: &TestDir, p: &str) -> String {
    dir.join(p).to_str().unwrap().to_string()
}

/// A waivers file for every blocked finding of `findings`, expiring on `expires`.
fn waivers_for_blocked(dir: &TestDir, name: &str, findings: &str, expires: &str) -> String {
    let mut toml = String::new();
    for f in read_csv(&dir.join(findings)) {
        if f["verdict"] == "blocked" {
            toml.push_str(&format!(
                "[[waiver]]\nfinding_id = \"{}\"\nreason = \"booked\"\nowner = \"ops\"\nexpires = {expires}\n\n",
                f["finding_id"]
            ));
        }
    }
    dir.write(name, toml).to_str().unwrap().to_string()
}

/// The `baseline` column of a findings.csv, counted by value.
fn baseline_marks(dir: &TestDir, findings: &str) -> std::collections::BTreeMap<String, usize> {
    let mut marks = std::collections::BTreeMap::new();
    for f in read_csv(&dir.join(findings)) {
        *marks.entry(f["baseline"].clone()).or_default() += 1;
    }
    marks
}

/// `diff --json OLD NEW`: its exit code and its JSON.
fn diff_json(dir: &TestDir, old: &str, new: &str) -> (i32, serde_json::Value) {
    let run = xsa(
        dir.path(),
        &["diff", "--json", &path(dir, old), &path(dir, new)],
    );
    let json = serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.stdout));
    (run.code, json)
}

#[test]
fn regression_a_dropped_or_expired_waiver_is_not_a_new_problem() {
    let dir = TestDir::new();
    scan(&dir, "plain", &[]).expect_code(exit::BLOCKED);
    let lasting = waivers_for_blocked(&dir, "w.toml", "plain/findings.csv", "2099-12-31");
    scan(&dir, "waived", &["--waivers", &lasting]);
    let expired = waivers_for_blocked(&dir, "old.toml", "plain/findings.csv", "2000-01-01");
    let baseline = path(&dir, "waived/report.json");
    for (out, extra) in [
        ("dropped", vec!["--baseline", &baseline]),
        (
            "expired",
            vec!["--baseline", &baseline, "--waivers", &expired],
        ),
    ] {
        scan(&dir, out, &extra);
        let marks = baseline_marks(&dir, &format!("{out}/findings.csv"));
        assert!(!marks.contains_key("new"), "{out}: {marks:?}");
        assert!(
            marks.get("unchanged").copied().unwrap_or(0) > 0,
            "{out}: {marks:?}"
        );
        let summary = &read_json(&dir.join(&format!("{out}/report.json")))["summary"];
        assert_eq!(summary["findings_new"], 0, "{out}: {summary}");
        let (code, json) = diff_json(&dir, "waived/report.json", &format!("{out}/report.json"));
        assert_eq!(
            code, 0,
            "{out}: no new problem, so diff does not fail: {json}"
        );
        assert_eq!(json["new_findings"], serde_json::json!([]), "{out}: {json}");
        assert_eq!(
            json["unchanged"], summary["findings_unchanged"],
            "{out}: diff and scan --baseline agree"
        );
    }
}

#[test]
fn regression_a_verdict_change_on_the_same_sr_is_reclassified() {
    let dir = TestDir::new();
    scan(&dir, "plain", &[]).expect_code(exit::BLOCKED);
    let bdms = demo().join("nova/bdms.tsv");
    let baseline = path(&dir, "plain/report.json");
    scan(
        &dir,
        "nova",
        &[
            "--nova-bdms",
            bdms.to_str().unwrap(),
            "--baseline",
            &baseline,
        ],
    );
    let old: std::collections::BTreeMap<String, String> = read_csv(&dir.join("plain/findings.csv"))
        .into_iter()
        .map(|f| (f["finding_id"].clone(), f["verdict"].clone()))
        .collect();
    let mut escalated = Vec::new();
    for f in read_csv(&dir.join("nova/findings.csv")) {
        let was = &old[&f["finding_id"]];
        if *was != f["verdict"] && f["verdict"] != "ok" {
            assert_eq!(f["baseline"], "reclassified", "{f:?} was {was}");
            escalated.push(f["finding_id"].clone());
        }
    }
    assert!(
        !escalated.is_empty(),
        "Nova's exports change some verdicts on the demo"
    );
    let summary = &read_json(&dir.join("nova/report.json"))["summary"];
    let (code, json) = diff_json(&dir, "plain/report.json", "nova/report.json");
    assert_eq!(code, 0, "{json}");
    let mut listed: Vec<String> =
        serde_json::from_value(json["reclassified_findings"].clone()).unwrap();
    listed.sort();
    escalated.sort();
    assert!(
        escalated.iter().all(|id| listed.contains(id)),
        "diff lists {listed:?}, escalated {escalated:?}"
    );
    assert_eq!(
        listed.len() as u64,
        summary["findings_reclassified"].as_u64().unwrap(),
        "diff and scan --baseline agree"
    );
}

#[test]
fn regression_diff_json_counts_use_report_json_names() {
    let dir = TestDir::new();
    scan(&dir, "plain", &[]).expect_code(exit::BLOCKED);
    let lasting = waivers_for_blocked(&dir, "w.toml", "plain/findings.csv", "2099-12-31");
    let bdms = demo().join("nova/bdms.tsv");
    let baseline = path(&dir, "plain/report.json");
    let args = [
        "--nova-bdms",
        bdms.to_str().unwrap(),
        "--waivers",
        &lasting,
        "--baseline",
        &baseline,
    ];
    scan(&dir, "week2", &args);
    let summary = &read_json(&dir.join("week2/report.json"))["summary"];
    let (_, json) = diff_json(&dir, "plain/report.json", "week2/report.json");
    for key in [
        "findings_new",
        "findings_first_seen",
        "findings_unchanged",
        "findings_reclassified",
        "findings_resolved",
        "resolved_fixed",
        "resolved_waived",
        "resolved_reclassified",
        "resolved_gone",
    ] {
        assert!(json[key].is_u64(), "{key}: {json}");
        assert_eq!(
            json[key], summary[key],
            "{key}: diff and scan --baseline agree"
        );
    }
    assert!(summary["findings_reclassified"].as_u64().unwrap() > 0);
    assert!(summary["resolved_waived"].as_u64().unwrap() > 0);
    assert_eq!(json["new_path"], path(&dir, "week2/report.json"));
    assert_eq!(json["old_path"], baseline);
}
