//! `xen-sr-audit plan` as a user runs it: on a generated fleet of hundreds of instances (every
//! blocked unwaived instance in exactly one action, waves within their limits), `plan --check` after
//! the fleet is regenerated with some volumes moved to new-style SRs (done) and one re-attached too
//! early (legacy name again: regressed), bad input (one line, exit 64), hostile names, and the demo
//! plan in reports/demo kept current.

use crate::util;
use xen_sr_audit::policy::exit;

use crate::util::{read_csv, read_json, xsa, TestDir};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Scan a generated fleet of 4 pools x 3 hosts x 60 instances; return the report.json path.
fn scanned_fleet(t: &TestDir) -> std::path::PathBuf {
    let inv = t.gen_fleet(
        "fleet",
        &[
            "--pools",
            "4",
            "--hosts",
            "3",
            "--instances",
            "60",
            "--legacy-percent",
            "60",
        ],
    );
    let out = t.join("scan");
    let run = xsa(
        t.path(),
        &[
            "scan",
            "--inventory",
            inv.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--quiet",
        ],
    );
    assert!(
        run.code == i32::from(exit::BLOCKED),
        "the fleet has blocked instances: {}",
        run.stderr
    );
    out.join("report.json")
}

fn blocked_unwaived(report: &Path) -> BTreeSet<String> {
    read_json(report)["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["verdict"] == "blocked" && f["waiver"] != "waived")
        .map(|f| f["instance_uuid"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_generated_fleet_is_planned_once_per_blocked_instance_within_the_limits() {
    let t = TestDir::new();
    let report = scanned_fleet(&t);
    let out = t.join("plan");
    xsa(
        t.path(),
        &[
            "plan",
            report.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--parallel-total",
            "7",
            "--parallel-per-host",
            "2",
            "--parallel-per-pool",
            "3",
        ],
    )
    .expect_code(exit::CLEAN);
    let rows = read_csv(&out.join("plan.csv"));
    let header = util::csv_header(&out.join("plan.csv"));
    for col in [
        "wave",
        "instance_uuid",
        "instance_name",
        "project_id",
        "pool_name",
        "host",
        "action",
        "commands",
        "downtime_s",
        "precondition",
        "verify",
    ] {
        assert!(header.contains(&col.to_string()), "plan.csv lacks {col}");
    }
    let planned: Vec<&str> = rows.iter().map(|r| r["instance_uuid"].as_str()).collect();
    let unique: BTreeSet<String> = planned.iter().map(|s| s.to_string()).collect();
    assert_eq!(unique.len(), planned.len(), "an instance in two actions");
    let blocked = blocked_unwaived(&report);
    assert!(
        blocked.len() >= 100,
        "hundreds of instances: {}",
        blocked.len()
    );
    assert_eq!(unique, blocked, "exactly the blocked unwaived instances");
    let mut waves: BTreeMap<&str, Vec<&BTreeMap<String, String>>> = BTreeMap::new();
    for r in &rows {
        waves.entry(r["wave"].as_str()).or_default().push(r);
    }
    for (wave, rows) in waves {
        assert!(rows.len() <= 7, "wave {wave}: {}", rows.len());
        let mut hosts = BTreeMap::new();
        let mut pools = BTreeMap::new();
        for r in rows {
            *hosts
                .entry((r["pool_uuid"].clone(), r["host"].clone()))
                .or_insert(0) += 1;
            *pools.entry(r["pool_uuid"].clone()).or_insert(0) += 1;
        }
        assert!(
            hosts.values().all(|n| *n <= 2) && pools.values().all(|n| *n <= 3),
            "wave {wave}"
        );
    }
    let md = std::fs::read_to_string(out.join("plan.md")).unwrap();
    assert!(
        md.contains("Capacity: **unknown**") || md.contains("Capacity: checked"),
        "{md}"
    );
}

/// Rewrite every dump of the fleet with `edit` applied to its text (the fleet "regenerated").
fn edit_dumps(dir: &Path, edit: &dyn Fn(String) -> String) {
    for e in std::fs::read_dir(dir.join("dumps")).unwrap() {
        let p = e.unwrap().path();
        let text = std::fs::read_to_string(&p).unwrap();
        std::fs::write(&p, edit(text)).unwrap();
    }
}

#[test]
fn plan_check_says_done_for_fixed_volumes_and_regressed_for_a_too_early_fix() {
    let t = TestDir::new();
    let report = scanned_fleet(&t);
    let out = t.join("plan");
    xsa(
        t.path(),
        &[
            "plan",
            report.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
    )
    .expect_code(exit::CLEAN);
    let plan_csv = out.join("plan.csv");
    let rows = read_csv(&plan_csv);
    let wave1: Vec<&BTreeMap<String, String>> = rows.iter().filter(|r| r["wave"] == "1").collect();
    assert!(wave1.len() >= 3);
    let findings: BTreeMap<String, serde_json::Value> = read_json(&report)["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["finding_id"].as_str().unwrap().to_string(), f.clone()))
        .collect();
    // Wave 1 but its last action done right: every targeted volume's SR now has its new-style uuid.
    let (too_early, fixed) = wave1.split_last().unwrap();
    let mut renames: Vec<(String, String)> = Vec::new();
    for r in fixed {
        for id in r["finding_ids"].split_whitespace() {
            let f = &findings[id];
            renames.push((
                f["sr_uuid"].as_str().unwrap().into(),
                f["expected_sr_uuid"].as_str().unwrap().into(),
            ));
        }
    }
    // The last one re-attached by a compute that is not upgraded: new VDI, SR legacy-named again.
    let early_vdi = too_early["vdi_uuids"]
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    renames.push((early_vdi, "0badf00d-0000-4000-8000-000000000001".into()));
    edit_dumps(&t.join("fleet"), &|mut text| {
        for (from, to) in &renames {
            text = text.replace(from.as_str(), to);
        }
        text
    });
    let inv = t.join("fleet/inventory.csv");
    let new = t.join("rescan");
    xsa(
        t.path(),
        &[
            "scan",
            "--inventory",
            inv.to_str().unwrap(),
            "--out",
            new.to_str().unwrap(),
            "--quiet",
            "--baseline",
            report.to_str().unwrap(),
        ],
    );
    let run = xsa(
        t.path(),
        &[
            "plan",
            "--check",
            new.join("report.json").to_str().unwrap(),
            "--plan",
            plan_csv.to_str().unwrap(),
        ],
    );
    run.expect_code(exit::BLOCKED);
    let status: BTreeMap<&str, &str> = run
        .stdout
        .lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            let s = w.next()?;
            let _wave = (w.next()?, w.next()?);
            Some((w.next()?, s))
        })
        .collect();
    for r in fixed {
        assert_eq!(
            status[r["instance_uuid"].as_str()],
            "done",
            "{}",
            run.stdout
        );
    }
    assert_eq!(
        status[too_early["instance_uuid"].as_str()],
        "regressed",
        "{}",
        run.stdout
    );
    let pending = rows.len() - wave1.len();
    let count_line = format!("{} done, {pending} pending, 1 regressed", fixed.len());
    assert!(
        run.stdout.contains(&count_line),
        "want {count_line:?} in\n{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("next wave: 1 (1 action: "),
        "{}",
        run.stdout
    );
}

#[test]
fn bad_input_is_one_line_and_exit_64() {
    let t = TestDir::new();
    let demo = util::root().join("reports/demo/report.json");
    let demo = demo.to_str().unwrap();
    let other = t.write("other.json", r#"{"schema_version": 1, "findings": []}"#);
    let truncated = t.write("truncated.json", r#"{"schema_version": 2, "findings": [{"#);
    let nobody = t.write("upgraded.txt", "# hosts\nno-such-host\n");
    let interrupted = t.write(
        "interrupted.json",
        r#"{"schema_version": 2, "run": {"complete": false}, "findings": []}"#,
    );
    let not_plan = t.write("not-plan.csv", "a,b\n1,2\n");
    let out = t.join("out");
    let out = out.to_str().unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["plan", other.to_str().unwrap(), "--out", out],
            "schema_version 1",
        ),
        (
            vec!["plan", truncated.to_str().unwrap(), "--out", out],
            "truncated.json: line 1",
        ),
        (
            vec![
                "plan",
                demo,
                "--out",
                out,
                "--upgraded",
                nobody.to_str().unwrap(),
            ],
            "upgraded.txt: names no host",
        ),
        (
            vec!["plan", interrupted.to_str().unwrap(), "--out", out],
            "audited nothing",
        ),
        (
            vec!["plan", demo, "--out", out, "--priority", "colour"],
            "colour",
        ),
        (
            vec!["plan", demo, "--out", out, "--copy-rate", "0"],
            "error: --copy-rate 0: must be a positive number of MB/s",
        ),
        (
            vec!["plan", demo, "--out", out, "--copy-rate=-2.5"],
            "error: --copy-rate -2.5: must be a positive number of MB/s",
        ),
        (
            vec!["plan", demo, "--out", out, "--copy-rate", "NaN"],
            "error: --copy-rate NaN: must be a positive number of MB/s",
        ),
        (vec!["plan", demo], "--out"),
        (
            vec![
                "plan",
                "--check",
                demo,
                "--plan",
                not_plan.to_str().unwrap(),
            ],
            "no column \"wave\"",
        ),
    ];
    for (args, says) in cases {
        let run = xsa(t.path(), &args);
        run.expect_code(exit::USAGE);
        assert!(run.stderr.contains(says), "{args:?}: {}", run.stderr);
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
        if !args.contains(&"--priority") {
            assert_eq!(
                run.stderr.trim_end().lines().count(),
                1,
                "{args:?}: {}",
                run.stderr
            );
        }
    }
    assert!(
        !t.join("out/plan.csv").exists(),
        "no plan written on bad input"
    );
}

#[test]
fn hostile_names_stay_text_in_every_plan_file() {
    let t = TestDir::new();
    let hostile = "=HYPERLINK(\"x\")\n$(touch pwned) `id`; rm -rf / #|*x*";
    let mut report = read_json(&util::root().join("reports/demo/report.json"));
    for f in report["findings"].as_array_mut().unwrap() {
        f["instance_name"] = hostile.into();
        f["host"] = "-h'; reboot; '".into();
    }
    let path = t.write("report.json", serde_json::to_vec(&report).unwrap());
    let out = t.join("plan");
    xsa(
        t.path(),
        &[
            "plan",
            path.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
    )
    .expect_code(exit::CLEAN);
    let rows = read_csv(&out.join("plan.csv"));
    assert!(!rows.is_empty());
    for r in &rows {
        assert_eq!(
            r["instance_name"],
            format!("'{hostile}"),
            "neutralised, else unchanged"
        );
        assert!(r["host"].starts_with("'-h"), "{}", r["host"]);
    }
    let sh = std::fs::read_to_string(out.join("plan.sh")).unwrap();
    for line in sh.lines().filter(|l| !l.trim_start().starts_with('#')) {
        assert!(
            !line.contains("pwned") && !line.contains("reboot"),
            "outside a comment: {line}"
        );
    }
    let syntax = std::process::Command::new("sh")
        .arg("-n")
        .arg(out.join("plan.sh"))
        .status()
        .unwrap();
    assert!(syntax.success(), "plan.sh parses");
    let md = std::fs::read_to_string(out.join("plan.md")).unwrap();
    assert!(
        !md.contains("`id`") && !md.contains("|*x*"),
        "markdown escaped"
    );
}

#[test]
fn demo_plan_is_current() {
    let root = util::root();
    let out = root.join("target/demo-plan-check");
    let _ = std::fs::remove_dir_all(&out);
    xsa(
        &root,
        &[
            "plan",
            "reports/demo/report.json",
            "--out",
            out.to_str().unwrap(),
        ],
    )
    .expect_code(exit::CLEAN);
    for f in ["plan.md", "plan.csv", "plan.sh"] {
        let got = std::fs::read_to_string(out.join(f)).unwrap();
        let path = root.join("reports/demo").join(f);
        if std::env::var_os("XSA_BLESS").is_some() {
            std::fs::write(&path, &got).unwrap();
        }
        let want = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (bless with XSA_BLESS=1)", path.display()));
        util::assert_same_text(f, &want, &got);
    }
}

/// report.json's capacity object of a scan of `inventory` (written into `out`).
fn capacity_of(
    dir: &TestDir,
    inventory: &Path,
    out: &str,
    env: &[(&str, &str)],
) -> serde_json::Value {
    let run = util::xsa_env(
        dir.path(),
        &["scan", "-i", inventory.to_str().unwrap(), "-o", out, "-q"],
        env,
    );
    run.expect_code(exit::BLOCKED);
    read_json(&dir.join(out).join("report.json"))["capacity"].clone()
}

#[test]
fn live_scans_and_capture_keep_the_capacity_figures_of_the_dumps() {
    use std::sync::atomic::Ordering::Relaxed;
    use xen_sr_audit::sim::xapi::{SimOptions, Simulator};
    const PW: &str = "plan-sim-pw";
    let dir = TestDir::new();
    let offline = capacity_of(
        &dir,
        &util::root().join("fixtures/demo/inventory.csv"),
        "off",
        &[],
    );
    let hosts = offline["hosts"].as_array().unwrap();
    assert_eq!(hosts.len(), 6);
    assert!(hosts
        .iter()
        .all(|h| h["memory_free"].as_u64().unwrap() > 0 && h["memory_total"].as_u64().is_some()));
    let instances = offline["instances"].as_array().unwrap();
    // The generator's special-case VMs carry no memory_static_max: unknown, not zero.
    let known: Vec<u64> = instances
        .iter()
        .filter_map(|i| i["memory_static_max"].as_u64())
        .collect();
    assert!(
        known.len() >= 20 && known.iter().all(|m| *m > 0),
        "{known:?}"
    );
    assert!(instances
        .iter()
        .any(|i| i["local_disk_bytes"].as_u64().unwrap() > 0));
    let d = util::root().join("fixtures/demo/dumps");
    for event_from in [true, false] {
        let sim = Simulator::start(SimOptions {
            dumps: vec![
                d.join("pool-east.xml"),
                d.join("pool-west.xml"),
                d.join("edge-01.state.db"),
            ],
            password: PW.into(),
            event_from,
            ..SimOptions::default()
        })
        .expect("simulator starts");
        let inv = dir.write("live.csv", sim.inventory_csv("PLAN_SIM_PW", false));
        let live = capacity_of(&dir, &inv, "live", &[("PLAN_SIM_PW", PW)]);
        assert_eq!(live, offline, "live (event.from {event_from}) = offline");
        if event_from {
            assert_eq!(
                sim.stats().calls.load(Relaxed),
                3 * 3,
                "login, one event.from, logout per pool"
            );
            let cap = dir.join("cap");
            util::xsa_env(
                dir.path(),
                &[
                    "capture",
                    "-i",
                    inv.to_str().unwrap(),
                    "-o",
                    cap.to_str().unwrap(),
                    "-q",
                ],
                &[("PLAN_SIM_PW", PW)],
            )
            .expect_code(exit::CLEAN);
            let captured = capacity_of(&dir, &cap.join("inventory.csv"), "captured", &[]);
            assert_eq!(captured, offline, "capture keeps the figures");
        }
    }
}

#[test]
fn scan_plan_adds_the_runbook_to_report_html_and_xlsx() {
    use calamine::Reader;
    let t = TestDir::new();
    let inv = util::root().join("fixtures/demo/inventory.csv");
    let inv = inv.to_str().unwrap();
    xsa(
        t.path(),
        &[
            "scan",
            "-i",
            inv,
            "-o",
            "with",
            "-q",
            "--format",
            "json,html,xlsx",
            "--plan",
        ],
    )
    .expect_code(exit::BLOCKED);
    xsa(
        t.path(),
        &[
            "scan",
            "-i",
            inv,
            "-o",
            "without",
            "-q",
            "--format",
            "html,xlsx",
        ],
    )
    .expect_code(exit::BLOCKED);
    xsa(t.path(), &["plan", "with/report.json", "--out", "plan"]).expect_code(exit::CLEAN);
    let planned = read_csv(&t.join("plan/plan.csv"));
    assert!(!planned.is_empty());
    let html = std::fs::read_to_string(t.join("with/report.html")).unwrap();
    assert!(html.contains(&format!(
        "<h2 id=\"runbook\">Runbook ({} actions)",
        planned.len()
    )));
    for r in &planned {
        assert!(
            html.contains(&r["instance_uuid"]),
            "{} in the Runbook section",
            r["instance_uuid"]
        );
    }
    assert!(!std::fs::read_to_string(t.join("without/report.html"))
        .unwrap()
        .contains("id=\"runbook\""));
    let mut wb: calamine::Xlsx<_> = calamine::open_workbook(t.join("with/report.xlsx")).unwrap();
    let sheet = wb.worksheet_range("Runbook").expect("a Runbook sheet");
    let rows: Vec<Vec<String>> = sheet
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect();
    assert_eq!(rows[1][..3], ["wave", "instance_uuid", "instance_name"]);
    let uuids: BTreeSet<&str> = rows[2..].iter().map(|r| r[1].as_str()).collect();
    let want: BTreeSet<&str> = planned
        .iter()
        .map(|r| r["instance_uuid"].as_str())
        .collect();
    assert_eq!(uuids, want, "the sheet holds the plan's actions");
    let without: calamine::Xlsx<_> =
        calamine::open_workbook(t.join("without/report.xlsx")).unwrap();
    assert!(!without.sheet_names().contains(&"Runbook".to_string()));
}
