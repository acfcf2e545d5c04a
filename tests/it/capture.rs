//! `capture` keeps its evidence honest: an entry it could not fetch stays in the inventory it
//! writes (marked `capture_failed`, so the offline re-run fails that entry and exits 3 instead of
//! looking complete), and every dump records where, when and by what it was taken, which the
//! offline scan shows on the entry's row in report.json.

use crate::util;
use xen_sr_audit::policy::exit;

use crate::util::{read_csv, read_json, xsa_env, TestDir};
use std::path::PathBuf;
use xen_sr_audit::sim::xapi::{Fault, SimOptions, Simulator};

const PW_ENV: &str = "XSA_TEST_CAPTURE_PW";
const PW: &str = "capture-test-password";

fn demo_dumps() -> Vec<PathBuf> {
    let d = util::root().join("fixtures/demo/dumps");
    vec![
        d.join("pool-east.xml"),
        d.join("pool-west.xml"),
        d.join("edge-01.state.db"),
    ]
}

#[test]
fn regression_capture_keeps_failed_entries_and_records_provenance() {
    let s = Simulator::start(SimOptions {
        dumps: demo_dumps(),
        password: PW.into(),
        faults: [("edge-01-xs01".to_string(), Fault::Http500)].into(),
        ..SimOptions::default()
    })
    .unwrap();
    let dir = TestDir::new();
    let inv = dir.write("live.csv", s.inventory_csv(PW_ENV, false));
    let before = jiff::Timestamp::now();
    let run = xsa_env(
        dir.path(),
        &["capture", "-i", inv.to_str().unwrap(), "-o", "cap", "-q"],
        &[(PW_ENV, PW)],
    );
    run.expect_code(exit::ENTRY_FAILED);
    let after = jiff::Timestamp::now();
    assert_eq!(s.stats().open_sessions(), 0);

    // The failed entry stays, marked; the others point at their dumps.
    let rows = read_csv(&dir.join("cap/inventory.csv"));
    assert_eq!(rows.len(), 3, "{rows:?}");
    let edge = rows.iter().find(|r| r["name"] == "edge-01-xs01").unwrap();
    assert_eq!(edge["dump"], "");
    assert!(edge["capture_failed"].contains("HTTP 500"), "{edge:?}");
    assert!(rows
        .iter()
        .filter(|r| r["name"] != "edge-01-xs01")
        .all(|r| r["dump"].starts_with("dumps/") && r["capture_failed"].is_empty()));

    // Each dump's manifest says where, when and by what it was taken.
    let urls: std::collections::BTreeMap<String, String> = s
        .hosts()
        .iter()
        .map(|h| (h.name.clone(), format!("http://{}/", h.addr)))
        .collect();
    for row in rows.iter().filter(|r| !r["dump"].is_empty()) {
        let db = xen_sr_audit::dump::read_dump(
            &dir.join("cap").join(&row["dump"]),
            xen_sr_audit::dump::Keep::Audit,
        )
        .unwrap();
        let m = &db.manifest;
        assert_eq!(m["xsa_captured_from"], urls[&row["name"]], "{m:?}");
        assert_eq!(
            m["xsa_captured_by"],
            format!("xen-sr-audit {}", env!("CARGO_PKG_VERSION"))
        );
        let at: jiff::Timestamp = m["xsa_captured_at"].parse().unwrap();
        // Second precision: compare whole seconds.
        assert!(
            at.as_second() >= before.as_second() && at.as_second() <= after.as_second(),
            "{at}"
        );
    }

    // The offline re-run is not complete: the entry is failed (exit 2 only because blocked
    // instances come first; 3 without them, below); the others show provenance.
    let off = xsa_env(
        dir.path(),
        &["scan", "-i", "cap/inventory.csv", "-o", "off", "-q"],
        &[],
    );
    off.expect_code(exit::BLOCKED);
    let report = read_json(&dir.join("off/report.json"));
    assert_eq!(report["summary"]["entries_failed"], 1);
    let never = xsa_env(
        dir.path(),
        &[
            "scan",
            "-i",
            "cap/inventory.csv",
            "-o",
            "never",
            "-q",
            "--fail-on",
            "never",
        ],
        &[],
    );
    never.expect_code(exit::ENTRY_FAILED);
    let hosts = report["hosts"].as_array().unwrap();
    let edge = hosts.iter().find(|h| h["name"] == "edge-01-xs01").unwrap();
    assert_eq!(edge["status"], "failed");
    assert!(
        edge["error"]
            .as_str()
            .unwrap()
            .starts_with("not captured: "),
        "{edge}"
    );
    assert!(edge.get("captured").is_none());
    for h in hosts.iter().filter(|h| h["status"] == "ok") {
        let name = h["name"].as_str().unwrap();
        assert_eq!(h["captured"]["from"], urls[name].as_str(), "{h}");
        assert!(h["captured"]["by"]
            .as_str()
            .unwrap()
            .starts_with("xen-sr-audit "));
        assert!(!h["captured"]["at"].as_str().unwrap().is_empty());
    }
    s.shutdown();
}

#[test]
fn dumps_that_capture_did_not_write_carry_no_provenance() {
    let dir = TestDir::new();
    let inv = util::root().join("fixtures/demo/inventory.csv");
    xsa_env(
        dir.path(),
        &["scan", "-i", inv.to_str().unwrap(), "-o", "out", "-q"],
        &[],
    )
    .expect_code(exit::BLOCKED);
    let report = read_json(&dir.join("out/report.json"));
    assert!(report["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .all(|h| h.get("captured").is_none()));
}

/// The console line of a failed capture shows an entry's name as scan does: a RIGHT-TO-LEFT
/// OVERRIDE in the inventory's name cannot reorder the line on a terminal.
#[test]
fn capture_failure_line_neutralises_bidi_controls_in_the_name() {
    let s = Simulator::start(SimOptions {
        dumps: demo_dumps(),
        password: PW.into(),
        faults: [("edge-01-xs01".to_string(), Fault::Http500)].into(),
        ..SimOptions::default()
    })
    .unwrap();
    let dir = TestDir::new();
    let csv = s
        .inventory_csv(PW_ENV, false)
        .replace("edge-01-xs01,", "edge-\u{202E}10sx,");
    let inv = dir.write("live.csv", csv);
    let run = xsa_env(
        dir.path(),
        &["capture", "-i", inv.to_str().unwrap(), "-o", "cap"],
        &[(PW_ENV, PW)],
    );
    run.expect_code(exit::ENTRY_FAILED);
    let line = run
        .stderr
        .lines()
        .find(|l| l.contains("capture: edge-"))
        .unwrap_or_else(|| panic!("no failure line in {}", run.stderr));
    assert!(
        line.starts_with("xen-sr-audit: capture: edge-?10sx: failed: "),
        "{line:?}"
    );
    assert!(!run.stderr.contains('\u{202E}'), "{:?}", run.stderr);
}
