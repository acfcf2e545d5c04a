//! Runs over time, end to end with the real binary: a short history of the demo fleet (volumes fixed
//! between weekly scans, one week with an entry that failed, one with a waiver) becomes trend.csv,
//! whose numbers are checked against each run's own report.json, and trend.html, which holds the
//! chart and fetches nothing (checked in headless Chromium). Runs of another fleet and bad files are
//! refused with one line and exit 64. `scan --history` keeps the runs and draws the burn-down.
//! `reports/demo/trend.html` and `trend.csv` are this history's output (`XSA_BLESS=1` rewrites them).

use crate::util;
use xen_sr_audit::policy::exit;

use crate::util::{read_csv, read_json, xsa, TestDir};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// What changes before one weekly scan.
struct Week {
    /// Legacy SRs renamed to their new-style uuid (detach and re-attach after the upgrade), per pool.
    fix: &'static [(&'static str, usize)],
    /// pool-west's dump is missing this week: its entries fail, the run is incomplete.
    west_missing: bool,
    /// One blocked instance of pool-east is waived.
    waive: bool,
}

const WEEKS: &[Week] = &[
    Week {
        fix: &[],
        west_missing: false,
        waive: false,
    },
    Week {
        fix: &[("pool-east", 4), ("pool-west", 1)],
        west_missing: false,
        waive: false,
    },
    Week {
        fix: &[("pool-east", 3)],
        west_missing: true,
        waive: false,
    },
    Week {
        fix: &[("pool-east", 3), ("pool-west", 1)],
        west_missing: false,
        waive: true,
    },
];

/// The demo target date: the upgrade weekend.
const TARGET_DATE: &str = "2027-01-31";

/// Week `i`'s scan time: Mondays from 2026-10-05, 06:00 UTC.
fn week_time(i: usize) -> String {
    let day = jiff::civil::date(2026, 10, 5)
        .checked_add(jiff::Span::new().days(7 * i as i64))
        .unwrap();
    format!("{day}T06:00:00Z")
}

/// Rename up to `n` legacy SRs of `pool` (no conflict, one record each) to their new-style uuid.
fn fix_volumes(fleet: &Path, findings_csv: &Path, pool: &str, n: usize) {
    let dump = fleet.join(format!("dumps/{pool}.xml"));
    let mut text = std::fs::read_to_string(&dump).unwrap();
    let mut fixed = Vec::new();
    for f in read_csv(findings_csv) {
        if fixed.len() == n {
            break;
        }
        if f["pool_name"] != pool || f["naming"] != "legacy" || f["conflict"] != "false" {
            continue;
        }
        let needle = format!("uuid=\"{}\"", f["sr_uuid"]);
        if fixed.contains(&needle) || text.matches(&needle).count() != 1 {
            continue;
        }
        text = text.replace(&needle, &format!("uuid=\"{}\"", f["expected_sr_uuid"]));
        fixed.push(needle);
    }
    assert_eq!(fixed.len(), n, "{pool}: {n} legacy SRs to fix");
    std::fs::write(dump, text).unwrap();
}

/// A waiver for a blocked instance of pool-east.
fn waive_one(dir: &TestDir, instances_csv: &Path) -> PathBuf {
    // The last one: the volumes fixed this week are the first ones.
    let i = read_csv(instances_csv)
        .into_iter()
        .rfind(|i| i["pool_name"] == "pool-east" && i["verdict"] == "blocked")
        .unwrap();
    dir.write(
        "waivers.toml",
        format!(
            "[[waiver]]\ninstance_uuid = \"{}\"\nreason = \"cold migration booked\"\nowner = \"storage\"\nexpires = 2099-12-31\n",
            i["instance_uuid"]
        ),
    )
}

/// Set a run's scan time (the weekly job ran on that day).
fn set_scan_time(report_json: &Path, at: &str) {
    let mut v = read_json(report_json);
    v["run"]["started_at"] = at.into();
    v["run"]["finished_at"] = at.into();
    std::fs::write(report_json, serde_json::to_vec_pretty(&v).unwrap()).unwrap();
}

/// The demo fleet copied under `dir/fleet`, scanned once a week as [`WEEKS`] says, each run in
/// `dir/week<N>`. Returns the week folders, oldest first.
fn demo_history(dir: &TestDir) -> Vec<PathBuf> {
    let demo = util::root().join("fixtures/demo");
    let fleet = dir.join("fleet");
    std::fs::create_dir_all(fleet.join("dumps")).unwrap();
    for e in std::fs::read_dir(demo.join("dumps")).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, fleet.join("dumps").join(p.file_name().unwrap())).unwrap();
    }
    std::fs::copy(demo.join("inventory.csv"), fleet.join("inventory.csv")).unwrap();
    let mut weeks: Vec<PathBuf> = Vec::new();
    for (i, week) in WEEKS.iter().enumerate() {
        for (pool, n) in week.fix {
            // The latest run that audited the pool knows its legacy SRs.
            let last = weeks
                .iter()
                .rev()
                .map(|w| w.join("findings.csv"))
                .find(|f| read_csv(f).iter().any(|r| r["pool_name"] == *pool))
                .unwrap();
            fix_volumes(&fleet, &last, pool, *n);
        }
        let west = fleet.join("dumps/pool-west.xml");
        let parked = fleet.join("pool-west.xml.parked");
        if week.west_missing {
            std::fs::rename(&west, &parked).unwrap();
        }
        let out = dir.join(&format!("week{}", i + 1));
        let mut args = vec![
            "scan".to_string(),
            "-i".into(),
            "fleet/inventory.csv".into(),
            "-o".into(),
            out.display().to_string(),
            "-q".into(),
        ];
        if week.waive {
            let w = waive_one(dir, &weeks.last().unwrap().join("instances.csv"));
            args.extend(["--waivers".into(), w.display().to_string()]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = xsa(dir.path(), &args);
        assert!(
            [exit::BLOCKED, exit::ENTRY_FAILED]
                .map(i32::from)
                .contains(&run.code),
            "{}",
            run.stderr
        );
        if week.west_missing {
            std::fs::rename(&parked, &west).unwrap();
        }
        set_scan_time(&out.join("report.json"), &week_time(i));
        weeks.push(out);
    }
    weeks
}

fn trend(dir: &TestDir, runs: &[PathBuf], extra: &[&str]) -> util::Run {
    let mut args = vec!["trend".to_string()];
    // Given newest first: the order of RUN arguments does not matter.
    args.extend(runs.iter().rev().map(|p| p.display().to_string()));
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    xsa(dir.path(), &args)
}

fn n(row: &BTreeMap<String, String>, col: &str) -> u64 {
    row[col]
        .parse()
        .unwrap_or_else(|_| panic!("{col} = {:?}", row[col]))
}

#[test]
fn trend_csv_matches_every_run_and_the_fleet_burns_down() {
    let dir = TestDir::new();
    let weeks = demo_history(&dir);
    trend(&dir, &weeks, &["-o", "trend", "--target-date", TARGET_DATE]).expect_code(exit::CLEAN);
    let rows = read_csv(&dir.join("trend/trend.csv"));
    assert_eq!(
        util::csv_header(&dir.join("trend/trend.csv"))[..9],
        [
            "run",
            "pool_uuid",
            "pool_name",
            "instances",
            "instances_blocked",
            "instances_review",
            "instances_waived",
            "legacy_srs",
            "complete"
        ]
    );
    let mut blocked_by_week = Vec::new();
    for (i, week) in weeks.iter().enumerate() {
        let report = read_json(&week.join("report.json"));
        let at = week_time(i);
        let mine: Vec<_> = rows.iter().filter(|r| r["run"] == at).collect();
        let pools = report["pools"].as_array().unwrap();
        assert_eq!(mine.len(), pools.len(), "week {}: one row per pool", i + 1);
        for p in pools {
            let row = mine
                .iter()
                .find(|r| r["pool_uuid"] == p["pool_uuid"].as_str().unwrap())
                .unwrap();
            assert_eq!(row["pool_name"], p["pool_name"].as_str().unwrap());
            assert_eq!(n(row, "instances"), p["instances"].as_u64().unwrap());
            assert_eq!(n(row, "legacy_srs"), p["legacy_srs"].as_u64().unwrap());
            // The run's own per-pool status counts (schema 3), as they are: one count model.
            for (col, field) in [
                ("instances_blocked", "blocked"),
                ("instances_review", "review"),
                ("instances_waived", "waived"),
            ] {
                assert_eq!(
                    n(row, col),
                    p[field].as_u64().unwrap(),
                    "week {} pool {} {col}",
                    i + 1,
                    p["pool_name"]
                );
            }
        }
        let s = &report["summary"];
        let sum = |col: &str| mine.iter().map(|r| n(r, col)).sum::<u64>();
        assert_eq!(
            sum("instances_blocked"),
            s["instances_blocked"].as_u64().unwrap()
        );
        assert_eq!(
            sum("instances_review"),
            s["instances_review"].as_u64().unwrap()
        );
        let waived = report["instances"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["waived"] == true)
            .count() as u64;
        assert_eq!(sum("instances_waived"), waived);
        assert_eq!(sum("legacy_srs"), s["legacy_srs"].as_u64().unwrap());
        let complete = report["run"]["complete"] == true && s["entries_failed"] == 0;
        assert!(mine.iter().all(|r| r["complete"] == complete.to_string()));
        assert_eq!(complete, !WEEKS[i].west_missing, "week {}", i + 1);
        blocked_by_week.push(sum("instances_blocked"));
    }
    assert_eq!(
        rows.iter().filter(|r| r["instances_waived"] != "0").count(),
        1,
        "the waiver shows in week 4's pool-east row"
    );
    assert!(
        blocked_by_week.windows(2).all(|w| w[1] <= w[0]) && blocked_by_week[3] < blocked_by_week[0],
        "fixing volumes burns down: {blocked_by_week:?}"
    );
    let html = std::fs::read_to_string(dir.join("trend/trend.html")).unwrap();
    assert!(html.contains(&format!("{} blocked instances left", blocked_by_week[3])));
    assert!(html.contains(&format!("reach zero by {TARGET_DATE}")));
    assert_eq!(html.matches("class=\"burndown-chart\"").count(), 1 + 3);
    assert!(html.contains("class=\"pace\""));
    assert!(html.contains("incomplete"));
}

#[test]
fn runs_of_another_fleet_and_bad_files_are_refused_with_one_line() {
    let dir = TestDir::new();
    let inv = util::root().join("fixtures/demo/inventory.csv");
    let inv = inv.to_str().unwrap();
    xsa(dir.path(), &["scan", "-i", inv, "-o", "demo", "-q"]).expect_code(exit::BLOCKED);
    let other = dir.gen_fleet("other", &["--pools", "3", "--instances", "4"]);
    let code = xsa(
        dir.path(),
        &[
            "scan",
            "-i",
            other.to_str().unwrap(),
            "-o",
            "other-run",
            "-q",
        ],
    )
    .code;
    assert!(matches!(code, 0..=2));
    set_scan_time(&dir.join("other-run/report.json"), "2026-10-05T06:00:00Z");
    let r = xsa(dir.path(), &["trend", "demo", "other-run", "-o", "t"]);
    r.expect_code(exit::USAGE);
    assert!(
        r.stderr.contains("different fleets") && r.stderr.contains("share 0 of their pools"),
        "{}",
        r.stderr
    );
    assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);
    assert!(!dir.join("t").exists(), "nothing written");

    dir.write(
        "broken/report.json",
        "{\n \"run\": {\"started_at\": \"2026-10-05T06:00:00Z\"},\n \"pools\": [1,\n",
    );
    let r = xsa(dir.path(), &["trend", "demo", "broken", "-o", "t"]);
    r.expect_code(exit::USAGE);
    assert!(r.stderr.contains("broken/report.json:3:"), "{}", r.stderr);
    let r = xsa(dir.path(), &["trend", "demo", "nowhere", "-o", "t"]);
    r.expect_code(exit::USAGE);
    assert!(r.stderr.contains("nowhere: cannot read"), "{}", r.stderr);
    let r = xsa(
        dir.path(),
        &["trend", "demo", "demo/report.json", "-o", "t"],
    );
    r.expect_code(exit::USAGE);
    assert!(r.stderr.contains("are the same run"), "{}", r.stderr);
    for bad in ["31/01/2027", "2027-02-30"] {
        let r = xsa(
            dir.path(),
            &["trend", "demo", "-o", "t", "--target-date", bad],
        );
        r.expect_code(exit::USAGE);
        assert_eq!(
            r.stderr.trim_end(),
            format!("xen-sr-audit: error: --target-date must be a date YYYY-MM-DD, got {bad:?}"),
        );
    }
    dir.write("t", "a file");
    xsa(dir.path(), &["trend", "demo", "-o", "t"]).expect_code(exit::IO);
}

#[test]
fn scan_history_keeps_each_run_and_draws_the_burn_down() {
    let dir = TestDir::new();
    let weeks = demo_history(&dir);
    // Earlier runs as the history folder holds them, then this week's scan.
    std::fs::create_dir_all(dir.join("hist")).unwrap();
    for (i, w) in weeks.iter().enumerate() {
        std::fs::copy(
            w.join("report.json"),
            dir.join("hist")
                .join(format!("report-2026100{i}T060000Z.json")),
        )
        .unwrap();
    }
    dir.write("hist/notes.txt", "not a run: left alone");
    let r = xsa(
        dir.path(),
        &[
            "scan",
            "-i",
            "fleet/inventory.csv",
            "-o",
            "now",
            "--history",
            "hist",
        ],
    );
    r.expect_code(exit::BLOCKED);
    let kept: Vec<String> = std::fs::read_dir(dir.join("hist"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("report-"))
        .collect();
    assert_eq!(kept.len(), weeks.len() + 1, "{kept:?}");
    let now = read_json(&dir.join("now/report.json"));
    let name = format!(
        "report-{}.json",
        now["run"]["started_at"]
            .as_str()
            .unwrap()
            .replace(['-', ':'], "")
    );
    assert_eq!(
        read_json(&dir.join("hist").join(&name)),
        now,
        "an exact copy"
    );
    assert!(
        r.stderr.contains(&format!("kept hist/{name}")),
        "{}",
        r.stderr
    );
    let html = std::fs::read_to_string(dir.join("now/report.html")).unwrap();
    assert_eq!(html.matches("class=\"burndown-chart\"").count(), 1);
    // The history folder itself is a RUN argument of `trend`: every run kept there.
    xsa(dir.path(), &["trend", "hist", "-o", "t", "-q"]).expect_code(exit::CLEAN);
    let runs: BTreeSet<String> = read_csv(&dir.join("t/trend.csv"))
        .into_iter()
        .map(|r| r["run"].clone())
        .collect();
    assert_eq!(runs.len(), weeks.len() + 1);
    let md = std::fs::read_to_string(dir.join("now/summary.md")).unwrap();
    let table = &md[md.find("## Burn-down").unwrap()..];
    let runs = table.lines().filter(|l| l.starts_with("| 20")).count();
    assert_eq!(runs, weeks.len() + 1);
    assert!(table.contains("| incomplete |"));
    // A history of another fleet: the scan stands, the chart is left out with the reason.
    let other = dir.gen_fleet("other", &["--pools", "2", "--instances", "3"]);
    let r = xsa(
        dir.path(),
        &[
            "scan",
            "-i",
            other.to_str().unwrap(),
            "-o",
            "o",
            "-q",
            "--history",
            "hist",
        ],
    );
    assert!(matches!(r.code, 0..=2), "{}", r.stderr);
    assert!(
        r.stderr.contains("no burn-down") && r.stderr.contains("different fleets"),
        "{}",
        r.stderr
    );
    assert!(!std::fs::read_to_string(dir.join("o/report.html"))
        .unwrap()
        .contains("burndown-chart"));
}

/// `reports/demo/trend.html` and `trend.csv` are what this history gives (`XSA_BLESS=1` rewrites).
#[test]
fn checked_in_demo_trend_is_current() {
    let dir = TestDir::new();
    let weeks = demo_history(&dir);
    trend(
        &dir,
        &weeks,
        &["-o", "trend", "-q", "--target-date", TARGET_DATE],
    )
    .expect_code(exit::CLEAN);
    let demo = util::root().join("reports/demo");
    for name in ["trend.html", "trend.csv"] {
        let got = std::fs::read_to_string(dir.join("trend").join(name)).unwrap();
        if std::env::var_os("XSA_BLESS").is_some() {
            std::fs::write(demo.join(name), &got).unwrap();
            continue;
        }
        let want = std::fs::read_to_string(demo.join(name))
            .unwrap_or_else(|e| panic!("reports/demo/{name}: {e} (bless with XSA_BLESS=1)"));
        util::assert_same_text(&format!("reports/demo/{name}"), &want, &got);
    }
}

#[test]
#[ignore = "needs chromium: run scripts/test"]
fn demo_trend_in_chromium_shows_the_chart_without_network() {
    let page = util::root().join("reports/demo/trend.html");
    let html = std::fs::read_to_string(&page).unwrap();
    for needle in ["src=", "href=", "url(", "@import", "<link", "<script"] {
        assert!(
            !html.contains(needle),
            "trend.html must not reference {needle}"
        );
    }
    let (dom, requests) = util::browser::dump_dom(&page);
    assert!(
        requests.is_empty(),
        "the page made network requests: {requests:?}"
    );
    let total = &dom[dom.find("id=\"total\"").expect("the fleet's chart")..];
    assert!(total.contains("<svg class=\"burndown-chart\""));
    assert!(total.matches("<polyline").count() >= 4, "four series");
    assert!(total.contains("class=\"pace\""), "the pace line");
    assert!(dom.matches("<circle").count() >= 4 * WEEKS.len());
}
