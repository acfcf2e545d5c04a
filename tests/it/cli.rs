//! The CLI as a user runs it: the real binary, in a temporary directory, on the demo fleet and on bad
//! input. Output is parsed back (CSV, JSON) and compared as data.

use crate::util;
use xen_sr_audit::policy::exit;

use crate::util::{read_csv, read_json, xsa, TestDir};

fn demo_inventory() -> String {
    util::root()
        .join("fixtures/demo/inventory.csv")
        .display()
        .to_string()
}

#[test]
fn demo_scan_exits_2_and_finds_what_the_generator_planted() {
    let dir = TestDir::new();
    let out = dir.join("out");
    let run = xsa(
        dir.path(),
        &[
            "scan",
            "--inventory",
            &demo_inventory(),
            "--out",
            out.to_str().unwrap(),
        ],
    );
    run.expect_code(exit::BLOCKED);
    assert!(
        run.stderr
            .contains("cannot be live-migrated after the upgrade"),
        "{}",
        run.stderr
    );

    let findings = read_csv(&out.join("findings.csv"));
    let instances = read_csv(&out.join("instances.csv"));
    let hosts = read_csv(&out.join("hosts.csv"));
    // Every pool's planted scenarios: one orphan, one conflict, one "other" SR (provided by Cinder,
    // as Nova has it) and one IPv6-quirk volume; the two multi-host pools one more "other" SR
    // (whose provided uuid Nova has changed since).
    assert_eq!(read_csv(&out.join("orphans.csv")).len(), 3);
    assert_eq!(read_csv(&out.join("conflicts.csv")).len(), 3);
    assert_eq!(
        findings.iter().filter(|f| f["naming"] == "other").count(),
        5
    );
    assert_eq!(
        findings
            .iter()
            .filter(|f| f["port"].is_empty() && f["target"] == "[fd00")
            .count(),
        3
    );
    assert!(
        findings
            .iter()
            .filter(|f| f["target"] == "[fd00")
            .all(|f| f["naming"] == "new"),
        "IPv6 quirk volumes are new-style as Nova computes them"
    );
    // Blocked instances are exactly those with a legacy volume.
    for i in &instances {
        let has_legacy = findings
            .iter()
            .any(|f| f["vm_uuid"] == i["vm_uuid"] && f["naming"] == "legacy");
        assert_eq!(i["verdict"] == "blocked", has_legacy, "{i:?}");
    }
    // Boot volume first within each instance.
    let mut last_vm = String::new();
    for f in &findings {
        if f["vm_uuid"] != last_vm
            && findings
                .iter()
                .any(|g| g["vm_uuid"] == f["vm_uuid"] && g["boot"] == "true")
        {
            assert_eq!(f["boot"], "true", "boot volume first: {f:?}");
        }
        last_vm = f["vm_uuid"].clone();
    }
    // Member rows point at the first entry of their pool.
    let statuses: Vec<&str> = hosts.iter().map(|h| h["status"].as_str()).collect();
    assert_eq!(
        statuses,
        [
            "ok",
            "same-pool-as:pool-east-xs01",
            "ok",
            "same-pool-as:pool-west-xs01",
            "ok"
        ]
    );
    // Non-Nova VMs and templates never make findings.
    assert!(findings
        .iter()
        .all(|f| f["instance_name"].starts_with("instance-")));
    let json = read_json(&out.join("report.json"));
    assert_eq!(json["schema_version"], 3);
    assert_eq!(json["exit_code"], 2);
    assert_eq!(
        json["summary"]["attachments"].as_u64().unwrap() as usize,
        findings.len()
    );
    assert_eq!(json["run"]["inventory_sha256"].as_str().unwrap().len(), 64);
}

#[test]
fn no_secret_reaches_any_report() {
    let dir = TestDir::new();
    let out = dir.join("out");
    xsa(
        dir.path(),
        &[
            "scan",
            "--inventory",
            &demo_inventory(),
            "--out",
            out.to_str().unwrap(),
        ],
    )
    .expect_code(exit::BLOCKED);
    let dumps =
        std::fs::read_to_string(util::root().join("fixtures/demo/dumps/pool-east.xml")).unwrap();
    assert!(
        dumps.contains("demo-chap-secret"),
        "the demo holds CHAP secrets to protect"
    );
    let all = util::all_text_under(&out);
    assert!(
        !all.contains("demo-chap-secret"),
        "a CHAP password leaked into the reports"
    );
    assert!(!all.contains("chappassword"));
    let chap = read_csv(&out.join("findings.csv"))
        .into_iter()
        .filter(|f| f["chap"] == "true")
        .count();
    assert!(
        chap > 0,
        "CHAP-protected SRs are flagged without their secret"
    );
}

#[test]
fn bad_inventories_exit_64_with_one_line_and_no_report() {
    let dir = TestDir::new();
    let cases: &[(&str, &str, &str)] = &[
        (
            "missing-col.csv",
            "name\nx\n",
            "inv/missing-col.csv:1: missing column",
        ),
        (
            "both.csv",
            "name,url,dump\nx,https://a/,a.xml\n",
            "inv/both.csv:2: x: both url and dump",
        ),
        (
            "dup.csv",
            "name,dump\na,a.xml\na,b.xml\n",
            "inv/dup.csv:3: duplicate name",
        ),
        (
            "unknown.csv",
            "name,dump,password\na,a.xml,hunter2\n",
            "inv/unknown.csv:1: unknown column(s) password",
        ),
    ];
    for (name, text, want) in cases {
        let inv = dir.write(&format!("inv/{name}"), text);
        let out = dir.join(&format!("out-{name}"));
        let run = xsa(
            dir.path(),
            &[
                "scan",
                "--inventory",
                inv.to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
            ],
        );
        run.expect_code(exit::USAGE);
        assert_eq!(run.stderr.lines().count(), 1, "one line: {}", run.stderr);
        assert!(run.stderr.contains(want), "{name}: {}", run.stderr);
        assert!(!run.stderr.contains("hunter2"));
        assert!(!out.exists(), "no report for a bad inventory");
    }
    let run = xsa(
        dir.path(),
        &["scan", "--inventory", "nope.csv", "--out", "o"],
    );
    run.expect_code(exit::USAGE);
    assert!(
        run.stderr.contains("nope.csv: cannot read"),
        "{}",
        run.stderr
    );
    let run = xsa(dir.path(), &["scan", "--inventory", "nope.csv"]);
    run.expect_code(exit::USAGE);
    let run = xsa(
        dir.path(),
        &[
            "scan",
            "--inventory",
            &demo_inventory(),
            "--out",
            "o",
            "--format",
            "pdf",
        ],
    );
    run.expect_code(exit::USAGE);
    assert!(
        run.stderr.contains("unknown format \"pdf\""),
        "{}",
        run.stderr
    );
}

#[test]
fn a_corrupt_dump_fails_only_its_entry() {
    let dir = TestDir::new();
    let demo = util::root().join("fixtures/demo/dumps");
    std::fs::create_dir_all(dir.join("d")).unwrap();
    std::fs::copy(demo.join("edge-01.state.db"), dir.join("d/edge.state.db")).unwrap();
    let west = std::fs::read(demo.join("pool-west.xml")).unwrap();
    dir.write("d/truncated.xml", &west[..west.len() / 2]);
    dir.write("d/garbage.xml", "this is not xml at all <<<");
    let inv = dir.write("inv.csv", "name,dump\nedge,d/edge.state.db\ncut,d/truncated.xml\njunk,d/garbage.xml\nmissing,d/none.xml\n");
    let out = dir.join("out");
    let run = xsa(
        dir.path(),
        &[
            "scan",
            "--inventory",
            inv.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--quiet",
        ],
    );
    run.expect_code(exit::BLOCKED); // edge has a blocked (conflict) instance: 2 wins over 3
    assert!(run.stderr.is_empty(), "quiet: {}", run.stderr);
    let hosts = read_csv(&out.join("hosts.csv"));
    let status: Vec<(&str, &str)> = hosts
        .iter()
        .map(|h| (h["name"].as_str(), h["status"].as_str()))
        .collect();
    assert_eq!(
        status,
        [
            ("edge", "ok"),
            ("cut", "failed"),
            ("junk", "failed"),
            ("missing", "failed")
        ]
    );
    assert!(
        hosts[1]["error"].contains("truncated"),
        "{}",
        hosts[1]["error"]
    );
    assert!(
        hosts[2]["error"].contains("garbage.xml"),
        "{}",
        hosts[2]["error"]
    );
    assert!(
        hosts[3]["error"].contains("none.xml"),
        "{}",
        hosts[3]["error"]
    );
    assert!(!read_csv(&out.join("findings.csv")).is_empty());

    // Without a blocked instance, a failed entry gives 3.
    let inv = dir.write("inv2.csv", "name,dump\ncut,d/truncated.xml\n");
    xsa(
        dir.path(),
        &[
            "scan",
            "--inventory",
            inv.to_str().unwrap(),
            "--out",
            dir.join("out2").to_str().unwrap(),
            "--quiet",
        ],
    )
    .expect_code(exit::ENTRY_FAILED);
}

#[test]
fn exit_codes_0_and_1_on_clean_and_warning_fleets() {
    use xen_sr_audit::dump::write_dump;
    let dir = TestDir::new();
    let clean = dir.gen_fleet(
        "clean",
        &["--pools", "2", "--instances", "10", "--legacy-percent", "0"],
    );
    let run = xsa(
        dir.path(),
        &["scan", "-i", clean.to_str().unwrap(), "-o", "o1", "-q"],
    );
    run.expect_code(exit::CLEAN);
    assert!(read_csv(&dir.join("o1/findings.csv"))
        .iter()
        .all(|f| f["verdict"] == "ok"));

    // A pool whose only issues are an "other" SR (review) and an orphaned legacy SR: warnings, exit 1.
    use util::{fields as f, map as m, text as t};
    let dc = m(&[
        ("target", "10.0.0.1"),
        ("port", "3260"),
        ("targetIQN", "iqn.x"),
    ]);
    let tables = vec![
        (
            "pool",
            vec![(
                "OpaqueRef:p".to_string(),
                f(&[
                    ("uuid", t("p1")),
                    ("name_label", t("warn-pool")),
                    ("master", t("OpaqueRef:h")),
                ]),
            )],
        ),
        (
            "host",
            vec![(
                "OpaqueRef:h".to_string(),
                f(&[("uuid", t("h1")), ("name_label", t("xs1"))]),
            )],
        ),
        (
            "VM",
            vec![(
                "OpaqueRef:vm".to_string(),
                f(&[
                    ("uuid", t("vm1")),
                    ("name_label", t("instance-1")),
                    ("power_state", t("Running")),
                    ("resident_on", t("OpaqueRef:h")),
                    ("other_config", m(&[("nova_uuid", "i-1")])),
                ]),
            )],
        ),
        (
            "VBD",
            vec![(
                "OpaqueRef:vbd".to_string(),
                f(&[
                    ("VM", t("OpaqueRef:vm")),
                    ("VDI", t("OpaqueRef:vdi")),
                    ("userdevice", t("1")),
                    ("other_config", m(&[("osvol", "True")])),
                ]),
            )],
        ),
        (
            "VDI",
            vec![
                (
                    "OpaqueRef:vdi".to_string(),
                    f(&[("uuid", t("vdi1")), ("SR", t("OpaqueRef:sr1"))]),
                ),
                (
                    "OpaqueRef:vdi2".to_string(),
                    f(&[("uuid", t("vdi2")), ("SR", t("OpaqueRef:sr2"))]),
                ),
            ],
        ),
        (
            "SR",
            vec![
                (
                    "OpaqueRef:sr1".to_string(),
                    f(&[
                        ("uuid", t("11111111-2222-3333-4444-555555555555")),
                        ("name_label", t("cinder-own")),
                    ]),
                ),
                (
                    "OpaqueRef:sr2".to_string(),
                    f(&[
                        ("uuid", t("FA15E-D15C-00000000-0000-0000-0000-000000000009")),
                        (
                            "name_label",
                            t("tempSR-00000000-0000-0000-0000-000000000009"),
                        ),
                    ]),
                ),
            ],
        ),
        (
            "PBD",
            vec![
                (
                    "OpaqueRef:pbd1".to_string(),
                    f(&[
                        ("host", t("OpaqueRef:h")),
                        ("SR", t("OpaqueRef:sr1")),
                        ("device_config", dc.clone()),
                    ]),
                ),
                (
                    "OpaqueRef:pbd2".to_string(),
                    f(&[
                        ("host", t("OpaqueRef:h")),
                        ("SR", t("OpaqueRef:sr2")),
                        ("device_config", dc),
                    ]),
                ),
            ],
        ),
    ];
    let bytes = write_dump(Vec::new(), &tables).unwrap();
    dir.write("warn/pool.xml", bytes);
    let inv = dir.write("warn/inventory.csv", "name,dump\nxs1,pool.xml\n");
    xsa(
        dir.path(),
        &["scan", "-i", inv.to_str().unwrap(), "-o", "o2", "-q"],
    )
    .expect_code(exit::WARNINGS);
    assert_eq!(read_csv(&dir.join("o2/orphans.csv")).len(), 1);
    assert_eq!(
        read_csv(&dir.join("o2/instances.csv"))[0]["verdict"],
        "review"
    );
}

#[test]
fn format_selects_outputs_and_reports_replace_atomically() {
    let dir = TestDir::new();
    let out = dir.join("out");
    xsa(
        dir.path(),
        &[
            "scan",
            "-i",
            &demo_inventory(),
            "-o",
            out.to_str().unwrap(),
            "--format",
            "json",
            "-q",
        ],
    )
    .expect_code(exit::BLOCKED);
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    // The report and the manifest of what this run wrote (what a later clean-up may remove).
    assert_eq!(names, ["report.json", "xen-sr-audit.manifest.json"]);
    // A run whose output folder cannot be written exits 74 and leaves nothing half-written.
    let blocker = dir.write("file-not-dir", "x");
    let run = xsa(
        dir.path(),
        &[
            "scan",
            "-i",
            &demo_inventory(),
            "-o",
            blocker.join("sub").to_str().unwrap(),
            "-q",
        ],
    );
    run.expect_code(exit::IO);
    assert!(run.stderr.contains("file-not-dir"), "{}", run.stderr);
}

#[test]
fn help_shows_examples_and_exit_codes() {
    let dir = TestDir::new();
    let run = xsa(dir.path(), &["--help"]);
    run.expect_code(exit::CLEAN);
    assert!(
        run.stdout.contains("Exit codes:") && run.stdout.contains("scan --inventory"),
        "{}",
        run.stdout
    );
    xsa(dir.path(), &["frobnicate"]).expect_code(exit::USAGE);
    xsa(dir.path(), &["--version"]).expect_code(exit::CLEAN);
}

#[test]
fn inspect_dump_reports_tables_and_fails_on_unreadable_dumps() {
    let dir = TestDir::new();
    let real = util::real_dumps().join("boston-db.xml");
    let demo = util::root().join("fixtures/demo/dumps/pool-east.xml");
    let run = xsa(
        dir.path(),
        &[
            "inspect-dump",
            real.to_str().unwrap(),
            demo.to_str().unwrap(),
        ],
    );
    run.expect_code(exit::CLEAN);
    assert!(run.stdout.contains("VM=60"), "{}", run.stdout);
    assert!(
        run.stdout.contains("pool \"pool-east\"") && run.stdout.contains("18 Nova instances"),
        "{}",
        run.stdout
    );
    let bad = dir.write("bad.xml", "<database><table name=\"VM\">");
    let run = xsa(dir.path(), &["inspect-dump", bad.to_str().unwrap()]);
    run.expect_code(exit::ENTRY_FAILED);
    assert!(
        run.stderr.contains("bad.xml") && run.stderr.contains("truncated"),
        "{}",
        run.stderr
    );
}
