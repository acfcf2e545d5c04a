//! Nova's view end to end through the CLI: each rule of `parse_sr_info` and `_mountpoint_to_number`
//! as Nova's code paths have it (one BDM row at a time against the demo fleet, findings.csv parsed
//! back), coverage and its exit codes, bad Nova exports (exit 64, nothing written, file and line
//! named, no secret echoed), and no CHAP secret from the BDM export reaching any output.

use crate::util;
use xen_sr_audit::policy::exit;

use crate::util::{read_csv, read_json, xsa, TestDir};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

type Row = BTreeMap<String, String>;

fn demo() -> PathBuf {
    util::root().join("fixtures/demo")
}

fn scan(dir: &TestDir, out: &str, extra: &[&str]) -> util::Run {
    let inv = demo().join("inventory.csv");
    let mut args = vec!["scan", "-i", inv.to_str().unwrap(), "-o", out, "-q"];
    args.extend_from_slice(extra);
    xsa(dir.path(), &args)
}

/// The demo's findings without Nova's files.
fn plain_findings(dir: &TestDir) -> Vec<Row> {
    scan(dir, "plain", &[]).expect_code(exit::BLOCKED);
    read_csv(&dir.join("plain/findings.csv"))
}

fn find<'a>(rows: &'a [Row], of: &Row) -> &'a Row {
    rows.iter()
        .find(|r| r["instance_uuid"] == of["instance_uuid"] && r["userdevice"] == of["userdevice"])
        .expect("the same disk in the new run")
}

/// A one-row `mysql --batch` BDM export for `disk`, with `device` and `connection_info`.
fn bdm_file(dir: &TestDir, name: &str, disk: &Row, device: &str, info: Option<String>) -> PathBuf {
    bdm_rows(dir, name, &[(disk, device, info)])
}

/// A `mysql --batch` BDM export, one row per (disk whose instance it is for, device, connection_info).
fn bdm_rows(dir: &TestDir, name: &str, rows: &[BdmRow]) -> PathBuf {
    let mut text =
        "instance_uuid\tvolume_id\tdevice_name\tboot_index\tconnection_info\n".to_string();
    for (disk, device, info) in rows {
        text += &format!(
            "{}\tv\t{}\tNULL\t{}\n",
            disk["instance_uuid"],
            device.replace('\\', "\\\\").replace('\n', "\\n"),
            info.clone().unwrap_or_else(|| "NULL".into())
        );
    }
    dir.write(name, text)
}

fn iscsi(portal: &str, iqn: &str) -> Option<String> {
    Some(
        serde_json::json!({"driver_volume_type": "iscsi", "data": {
            "target_portal": portal, "target_iqn": iqn, "volume_id": "v", "target_lun": 1,
            "auth_method": "CHAP", "auth_username": "u", "auth_password": "bdm-chap-TOPSECRET"}})
        .to_string(),
    )
}

fn provided(sr_uuid: &str) -> Option<String> {
    Some(
        serde_json::json!({"driver_volume_type": "iscsi", "data": {"sr_uuid": sr_uuid, "volume_id": "v"}})
            .to_string(),
    )
}

// Expected uuids, computed outside the code under test: Python 3's `uuid.uuid5(uuid.uuid5(
// uuid.UUID(int=0), 'volume_utils-SR_UUID'), '<target>/<port>/<iqn>')`, i.e. what Nova's
// `volume_utils.parse_sr_info` (tag mitaka-eol) returns for these demo volumes; the float case was
// run through Nova's own function with Python 2's `str()` of a float emulated (see tests/it/nova_exact.rs).
/// 10.20.2.11/3260/iqn.2010-10.org.openstack:volume-9f3eb0fd-129c-53f2-aa84-2dcbe89d3bc5
const NEW_3260: &str = "9aa91cba-e7ab-5ea6-bc49-c1aae3e6bca2";
/// 10.20.2.11/3261/iqn.2010-10.org.openstack:volume-9f3eb0fd-129c-53f2-aa84-2dcbe89d3bc5
const NEW_3261: &str = "9fca71c4-f49e-5cf2-aad7-d35cb77c8be7";
/// 10.99.0.1/3260/iqn.2010-10.org.openstack:volume-9f3eb0fd-129c-53f2-aa84-2dcbe89d3bc5
const MOVED: &str = "5d70ce47-52a7-5a63-a477-34bf9d511b8c";
/// 10.22.0.40/3260/iqn.2010-10.org.openstack:volume-76e71806-e97a-5c05-b386-9680fd9b162c
const P3261_AS_3260: &str = "fdf73124-ef57-56c7-9169-3a08fabc233c";
/// 10.22.0.40/3261/iqn.2010-10.org.openstack:volume-76e71806-e97a-5c05-b386-9680fd9b162c
const P3261_AS_3261: &str = "a935db40-76d9-5beb-8acf-8b68c8e736e5";
/// 10.20.2.11/3260/0.3: Nova's text of the float IQN 0.30000000000000004 in Python 2.
const FLOAT_IQN: &str = "187e19df-6b59-589c-ad4a-8276489ff7d7";
/// 10.40.2.20/3260/iqn.2001-05.com.equallogic:pool2-shared (the demo's legacy volume).
const LEGACY_EXPECTED: &str = "67ba289c-85d6-5fd9-b376-a8cc95316378";

fn letter(disk: &Row) -> char {
    char::from(b'a' + disk["userdevice"].parse::<u8>().unwrap())
}

/// (disk, device name, connection_info, extra flags, nova_check, verdict, uuid Nova computes)
type Case<'a> = (
    &'a Row,
    String,
    Option<String>,
    Vec<&'a str>,
    &'a str,
    &'a str,
    String,
);

#[test]
fn each_rule_of_nova_decides_the_check_end_to_end() {
    let dir = TestDir::new();
    let plain = plain_findings(&dir);
    let new_style = plain
        .iter()
        .find(|f| {
            f["naming"] == "new"
                && f["port"] == "3260"
                && f["userdevice"] != "0"
                && !f["target"].starts_with('[')
        })
        .unwrap();
    let port_3261 = plain.iter().find(|f| f["port"] == "3261").unwrap();
    let other = plain.iter().find(|f| f["naming"] == "other").unwrap();
    let legacy = plain.iter().find(|f| f["naming"] == "legacy").unwrap();
    let (t, iqn) = (
        new_style["target"].as_str(),
        new_style["target_iqn"].as_str(),
    );
    let l = letter(new_style);
    let u = new_style["userdevice"].as_str();
    let t3261 = port_3261["target"].as_str();
    let iqn3261 = port_3261["target_iqn"].as_str();
    // The literal uuids above were computed for exactly these demo volumes.
    assert_eq!(
        (t, iqn),
        (
            "10.20.2.11",
            "iqn.2010-10.org.openstack:volume-9f3eb0fd-129c-53f2-aa84-2dcbe89d3bc5"
        )
    );
    assert_eq!(
        (t3261, iqn3261),
        (
            "10.22.0.40",
            "iqn.2010-10.org.openstack:volume-76e71806-e97a-5c05-b386-9680fd9b162c"
        )
    );
    assert_eq!(new_style["sr_uuid"], NEW_3260);
    assert_eq!(legacy["expected_sr_uuid"], LEGACY_EXPECTED);
    let float_iqn = Some(
        serde_json::json!({"driver_volume_type": "iscsi", "data": {
            "volume_id": "v", "target_portal": format!("{t}:3260"), "target_iqn": 0.1 + 0.2}})
        .to_string(),
    );
    let chap_without_password = Some(
        serde_json::json!({"driver_volume_type": "iscsi", "data": {
            "volume_id": "v", "target_portal": format!("{t}:3260"), "target_iqn": iqn,
            "auth_method": "CHAP", "auth_username": "u"}})
        .to_string(),
    );
    let numeric_portal = Some(
        serde_json::json!({"driver_volume_type": "iscsi", "data": {
            "volume_id": "v", "target_portal": 3260, "target_iqn": iqn}})
        .to_string(),
    );
    let other_upper = other["sr_uuid"].to_ascii_uppercase();
    let cases: Vec<Case> = vec![
        // Rule 3: a float IQN is Python 2's str() of it, "0.3": another uuid than the SR's.
        (
            new_style,
            format!("/dev/xvd{l}"),
            float_iqn,
            vec![],
            "mismatch",
            "blocked",
            FLOAT_IQN.to_string(),
        ),
        // Rule 2: Nova raises before any lookup (KeyError on auth_password; AttributeError on a
        // portal that is not a string).
        (
            new_style,
            format!("/dev/xvd{l}"),
            chap_without_password,
            vec![],
            "unusable",
            "blocked",
            String::new(),
        ),
        (
            new_style,
            format!("/dev/xvd{l}"),
            numeric_portal,
            vec![],
            "unusable",
            "blocked",
            String::new(),
        ),
        // Rule 1: a provided sr_uuid differing only in case is not the SR XAPI finds.
        (
            other,
            format!("/dev/xvd{}", letter(other)),
            provided(&other_upper),
            vec![],
            "mismatch",
            "blocked",
            other_upper.clone(),
        ),
        // Rule 4: `$` matches before a trailing newline; `sd` forms take the third character...
        (
            new_style,
            format!("sd{l}\n"),
            iscsi(&format!("{t}:3260"), iqn),
            vec![],
            "match",
            "ok",
            NEW_3260.to_string(),
        ),
        (
            new_style,
            format!("/dev/xvd{l}"),
            iscsi(&format!("{t}:3260"), iqn),
            vec![],
            "match",
            "ok",
            NEW_3260.to_string(),
        ),
        // A portal without a port takes the destination's target_port (3260 by default).
        (
            new_style,
            format!("/dev/xvd{l}"),
            iscsi(t, iqn),
            vec![],
            "match",
            "ok",
            NEW_3260.to_string(),
        ),
        (
            new_style,
            format!("/dev/xvd{l}"),
            iscsi(t, iqn),
            vec!["--nova-target-port", "3261"],
            "mismatch",
            "blocked",
            NEW_3261.to_string(),
        ),
        // The port in the portal wins over target_port.
        (
            new_style,
            format!("/dev/xvd{l}"),
            iscsi(&format!("{t}:3260"), iqn),
            vec!["--nova-target-port", "3261"],
            "match",
            "ok",
            NEW_3260.to_string(),
        ),
        (
            new_style,
            format!("/dev/xvd{l}"),
            iscsi(&format!("{t}:3261"), iqn),
            vec![],
            "mismatch",
            "blocked",
            NEW_3261.to_string(),
        ),
        // An empty portal takes target_host; without it Nova cannot connect (no usable BDM).
        (
            new_style,
            format!("/dev/xvd{l}"),
            iscsi("", iqn),
            vec!["--nova-target-host", t],
            "match",
            "ok",
            NEW_3260.to_string(),
        ),
        (
            new_style,
            format!("/dev/xvd{l}"),
            iscsi("", iqn),
            vec![],
            "unusable",
            "blocked",
            String::new(),
        ),
        // The portal moved since the SR was introduced.
        (
            new_style,
            format!("/dev/xvd{l}"),
            iscsi("10.99.0.1:3260", iqn),
            vec![],
            "mismatch",
            "blocked",
            MOVED.to_string(),
        ),
        // Every device name form Nova translates, and one it does not.
        (
            new_style,
            format!("xvd{l}"),
            iscsi(t, iqn),
            vec![],
            "match",
            "ok",
            NEW_3260.to_string(),
        ),
        (
            new_style,
            format!("/dev/vd{l}"),
            iscsi(t, iqn),
            vec![],
            "match",
            "ok",
            NEW_3260.to_string(),
        ),
        (
            new_style,
            format!("/dev/sd{l}"),
            iscsi(t, iqn),
            vec![],
            "match",
            "ok",
            NEW_3260.to_string(),
        ),
        (
            new_style,
            format!("hd{l}"),
            iscsi(t, iqn),
            vec![],
            "match",
            "ok",
            NEW_3260.to_string(),
        ),
        (
            new_style,
            u.to_string(),
            iscsi(t, iqn),
            vec![],
            "match",
            "ok",
            NEW_3260.to_string(),
        ),
        // A name Nova cannot number pairs with no disk, but pre_live_migration connects it all the
        // same (rule 5): it yields this disk's SR, so the disk is in the VDI map.
        (
            new_style,
            format!("/dev/xvd{l}1"),
            iscsi(t, iqn),
            vec![],
            "match",
            "ok",
            NEW_3260.to_string(),
        ),
        // ... `x?vd` forms take the newline itself (negative: no disk), the same way.
        (
            new_style,
            format!("xvd{l}\n"),
            iscsi(t, iqn),
            vec![],
            "match",
            "ok",
            NEW_3260.to_string(),
        ),
        (
            new_style,
            format!("/dev/xvd{l}"),
            None,
            vec![],
            // NULL connection_info on a new-style SR was no-bdm/ok: a wrong ok (Nova raises).
            "unusable",
            "blocked",
            String::new(),
        ),
        // The SR introduced with target_port 3261 by a pre-upgrade compute.
        (
            port_3261,
            format!("/dev/xvd{}", letter(port_3261)),
            iscsi(t3261, iqn3261),
            vec![],
            "mismatch",
            "blocked",
            P3261_AS_3260.to_string(),
        ),
        (
            port_3261,
            format!("/dev/xvd{}", letter(port_3261)),
            iscsi(t3261, iqn3261),
            vec!["--nova-target-port", "3261"],
            "match",
            "ok",
            P3261_AS_3261.to_string(),
        ),
        // A Cinder-provided sr_uuid is used as given: the same uuid turns "review" into "ok".
        (
            other,
            format!("/dev/xvd{}", letter(other)),
            provided(&other["sr_uuid"]),
            vec![],
            "match",
            "ok",
            other["sr_uuid"].clone(),
        ),
        (
            other,
            format!("/dev/xvd{}", letter(other)),
            provided("0badc0de-0000-5000-8000-000000000000"),
            vec![],
            "mismatch",
            "blocked",
            "0badc0de-0000-5000-8000-000000000000".into(),
        ),
        // A legacy SR: Nova always computes the new-style uuid, never FA15E-D15C-...
        (
            legacy,
            format!("/dev/xvd{}", letter(legacy)),
            iscsi(
                &format!("{}:{}", legacy["target"], legacy["port"]),
                &legacy["target_iqn"],
            ),
            vec![],
            "mismatch",
            "blocked",
            LEGACY_EXPECTED.to_string(),
        ),
        (
            legacy,
            format!("/dev/xvd{}", letter(legacy)),
            None,
            vec![],
            // Regression null_connection_info_is_unusable: Nova does not refresh a NULL
            // connection_info (refresh_connection_info, mitaka-eol); connect_volume(None) raises.
            "unusable",
            "blocked",
            String::new(),
        ),
    ];
    for (i, (disk, device, info, flags, check, verdict, uuid)) in cases.into_iter().enumerate() {
        let file = bdm_file(&dir, &format!("bdm{i}.tsv"), disk, &device, info);
        let out = format!("case{i}");
        let mut args = vec!["--nova-bdms", file.to_str().unwrap()];
        args.extend(flags.iter().copied());
        let run = scan(&dir, &out, &args);
        assert!([1, 2].contains(&run.code), "case {i}: {}", run.stderr);
        let rows = read_csv(&dir.join(&out).join("findings.csv"));
        let got = find(&rows, disk);
        let what = format!("case {i}: {device} {flags:?} -> {got:?}");
        assert_eq!(got["nova_check"], check, "{what}");
        assert_eq!(got["verdict"], verdict, "{what}");
        assert_eq!(got["nova_sr_uuid"], uuid, "{what}");
        if check == "mismatch" {
            assert!(got["remediation"].contains(&uuid), "{what}");
        }
        if check != "no-bdm" {
            assert_eq!(got["nova_device"], device, "{what}");
        }
        // Every other disk has no BDM in this file: of another instance, no-bdm and blocked (Nova
        // would connect no volume of it); of this instance, outside the VDI map (rule 5).
        for r in &rows {
            if r["instance_uuid"] == disk["instance_uuid"] && r["userdevice"] == disk["userdevice"]
            {
                continue;
            }
            if r["instance_uuid"] == disk["instance_uuid"] {
                assert_eq!(
                    (r["nova_check"].as_str(), r["verdict"].as_str()),
                    ("not-in-map", "blocked"),
                    "{what}"
                );
                continue;
            }
            assert_eq!(r["nova_check"], "no-bdm", "{what}");
            assert_eq!(r["verdict"], "blocked", "{what}");
        }
        let json = read_json(&dir.join(&out).join("report.json"));
        assert_eq!(
            json["summary"]["nova_match"].as_u64().unwrap() as usize,
            rows.iter().filter(|r| r["nova_check"] == "match").count()
        );
        assert!(!util::all_text_under(&dir.join(&out)).contains("TOPSECRET"));
    }
}

#[test]
fn demo_with_nova_accounts_for_every_instance_and_keeps_secrets() {
    let dir = TestDir::new();
    let nova = demo().join("nova");
    let run = scan(
        &dir,
        "out",
        &[
            "--nova-servers",
            nova.join("servers.json").to_str().unwrap(),
            "--nova-bdms",
            nova.join("bdms.tsv").to_str().unwrap(),
        ],
    );
    run.expect_code(exit::BLOCKED);
    let out = dir.join("out");
    let findings = read_csv(&out.join("findings.csv"));
    let coverage = read_csv(&out.join("coverage.csv"));
    let json = read_json(&out.join("report.json"));
    for f in &findings {
        assert!(
            ["match", "mismatch", "unusable"].contains(&f["nova_check"].as_str()),
            "{f:?}"
        );
        match f["nova_check"].as_str() {
            "match" => assert!(
                f["verdict"] == "ok" && f["nova_sr_uuid"] == f["sr_uuid"],
                "{f:?}"
            ),
            "mismatch" => assert!(
                f["verdict"] == "blocked" && f["nova_sr_uuid"] != f["sr_uuid"],
                "{f:?}"
            ),
            "not-in-map" => assert!(
                f["verdict"] == "blocked" && f["nova_device"].is_empty(),
                "{f:?}"
            ),
            _ => {}
        }
        assert!(
            !f["project_id"].is_empty(),
            "every instance with volumes is listed: {f:?}"
        );
    }
    for (check, why) in [
        ("mismatch", "the portal moved"),
        ("mismatch", "the portal has no port"),
        ("mismatch", "Cinder's connection data provides sr_uuid"),
        ("mismatch", "legacy name"),
        ("unusable", "connection_info is NULL"),
    ] {
        assert!(
            findings
                .iter()
                .any(|f| f["nova_check"] == check && f["remediation"].contains(why)),
            "the demo shows {check}: {why}"
        );
    }
    // Regression bdm_paired_by_volume_id: the demo's /dev/nvme0n1 BDMs carry the volume id of the
    // legacy SR of disk 3; they are that disk's own BDM (mismatch, the legacy SR's fixes), and no
    // advice anywhere says to delete a BDM row or to rename a device.
    let nvme: Vec<_> = findings
        .iter()
        .filter(|f| f["nova_device"] == "/dev/nvme0n1")
        .collect();
    assert_eq!(nvme.len(), 2, "instance-00000112 and instance-0000020d");
    for f in nvme {
        assert_eq!(
            (f["naming"].as_str(), f["nova_check"].as_str()),
            ("legacy", "mismatch")
        );
        assert!(f["remediation"].contains("detach and re-attach"), "{f:?}");
    }
    let instances = read_csv(&out.join("instances.csv"));
    for text in findings
        .iter()
        .map(|f| &f["remediation"])
        .chain(instances.iter().map(|i| &i["remediation"]))
    {
        assert!(
            !text.contains("Delete the stale") && !text.contains("device_name Nova numbers"),
            "{text}"
        );
    }
    // Every server of the export is a row, and every Nova VM of the audited pools too.
    let servers: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(nova.join("servers.json")).unwrap()).unwrap();
    let listed = servers.as_array().unwrap().len();
    let count = |c: &str| coverage.iter().filter(|r| r["coverage"] == c).count();
    assert_eq!(
        count("audited") + count("not-audited") + count("missing-in-xapi"),
        listed
    );
    assert_eq!(count("not-audited"), 3, "the instances on north-xs01/02");
    assert!(coverage
        .iter()
        .filter(|r| r["coverage"] == "not-audited")
        .all(|r| r["nova_host"].starts_with("north-")));
    assert_eq!(count("missing-in-xapi"), 3, "one ghost per pool");
    assert_eq!(count("unknown-to-nova"), 3, "one leftover per pool");
    assert_eq!(
        count("audited") + count("unknown-to-nova"),
        read_csv(&out.join("instances.csv")).len()
    );
    // The edge pool's Nova host is written in upper case and still matches.
    assert!(coverage.iter().any(|r| r["coverage"] == "missing-in-xapi"
        && r["nova_host"] == "EDGE-01-XS01"
        && r["pool_name"] == "edge-01"));
    assert_eq!(json["summary"]["coverage_not_audited"], 3);
    assert_eq!(json["coverage"].as_array().unwrap().len(), coverage.len());
    assert!(
        run.stderr
            .contains("3 instances known to Nova were not audited")
            || std::fs::read_to_string(out.join("summary.md"))
                .unwrap()
                .contains("3 not audited")
    );
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("Coverage against Nova"));
    let md = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(md.contains("Coverage against Nova: ") && md.contains("mismatch"));
    // The BDM export holds CHAP passwords; no output does.
    assert!(std::fs::read_to_string(nova.join("bdms.tsv"))
        .unwrap()
        .contains("demo-chap-secret"));
    assert!(!util::all_text_under(&out).contains("demo-chap-secret"));
}

/// A clean generated fleet (nothing blocked) with its Nova export, and a servers file edited by `edit`.
fn coverage_run(
    dir: &TestDir,
    name: &str,
    edit: impl Fn(&mut Vec<serde_json::Value>),
) -> util::Run {
    let inv = dir.join("clean/inventory.csv");
    if !inv.exists() {
        dir.gen_fleet(
            "clean",
            &[
                "--pools",
                "2",
                "--hosts",
                "2",
                "--instances",
                "4",
                "--legacy-percent",
                "0",
                "--nova",
                "--seed",
                "4",
            ],
        );
    }
    let servers: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("clean/nova/servers.json")).unwrap(),
    )
    .unwrap();
    let mut list = servers.as_array().unwrap().clone();
    edit(&mut list);
    let file = dir.write(
        &format!("{name}.json"),
        serde_json::to_string(&list).unwrap(),
    );
    xsa(
        dir.path(),
        &[
            "scan",
            "-i",
            inv.to_str().unwrap(),
            "-o",
            name,
            "-q",
            "--nova-servers",
            file.to_str().unwrap(),
        ],
    )
}

#[test]
fn coverage_sets_the_exit_code() {
    let dir = TestDir::new();
    coverage_run(&dir, "all", |_| {}).expect_code(exit::CLEAN);
    let ghost = |host: &str| serde_json::json!({"ID": "0f0f0f0f-0000-5000-8000-00000000000a", "Name": "ghost", "Status": "ACTIVE", "Power State": "Running", "Host": host, "Project ID": "p"});
    // Nova places an instance on an audited host (any case) that XAPI does not have: a warning.
    coverage_run(&dir, "ghost", |l| l.push(ghost("POOL-00000-XS02"))).expect_code(exit::WARNINGS);
    // XAPI has a Nova VM that Nova does not list: a warning.
    coverage_run(&dir, "leftover", |l| {
        l.pop();
    })
    .expect_code(exit::WARNINGS);
    // Nova runs an instance on a host no audited pool has: the audit is incomplete.
    let run = coverage_run(&dir, "outside", |l| l.push(ghost("compute-99")));
    run.expect_code(exit::ENTRY_FAILED);
    let rows = read_csv(&dir.join("outside/coverage.csv"));
    assert_eq!(
        rows.iter()
            .filter(|r| r["coverage"] == "not-audited")
            .count(),
        1
    );
    // A failed entry leaves its pool's instances not audited.
    let dump = dir.join("clean/dumps/pool-00001.xml");
    let saved = std::fs::read(&dump).unwrap();
    std::fs::write(&dump, b"<database><table name=\"VM\">").unwrap();
    coverage_run(&dir, "failed", |_| {}).expect_code(exit::ENTRY_FAILED);
    std::fs::write(&dump, saved).unwrap();
    let rows = read_csv(&dir.join("failed/coverage.csv"));
    let servers: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("clean/nova/servers.json")).unwrap(),
    )
    .unwrap();
    let on_pool1 = servers
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["Host"].as_str().unwrap().starts_with("pool-00001"))
        .count();
    assert!(on_pool1 > 0);
    assert_eq!(
        rows.iter()
            .filter(|r| r["coverage"] == "not-audited")
            .count(),
        on_pool1
    );
}

fn assert_input_error(dir: &TestDir, out: &str, run: util::Run, names: &str) {
    run.expect_code(exit::USAGE);
    let line = run.stderr.trim();
    assert_eq!(line.lines().count(), 1, "one line: {line}");
    assert!(line.contains(names), "names {names}: {line}");
    assert!(!line.contains("TOPSECRET"), "no secret echoed: {line}");
    assert!(!dir.join(out).exists(), "nothing written");
}

#[test]
fn bad_nova_exports_stop_the_run_before_scanning() {
    let dir = TestDir::new();
    let cases: Vec<(&str, &str, String, &str)> = vec![
        ("--nova-servers", "cut.json", "[{\"ID\": \"a\", \"Host\": \"h\"},\n {\"ID\": ".into(), "cut.json:2:"),
        ("--nova-servers", "nohost.json", "[{\"ID\": \"a\"}]".into(), "nohost.json: record 1:"),
        ("--nova-bdms", "nocol.tsv", "instance_uuid\tdevice_name\n".into(), "nocol.tsv:1: missing column \"connection_info\""),
        (
            "--nova-bdms",
            "notjson.tsv",
            "instance_uuid\tvolume_id\tdevice_name\tboot_index\tconnection_info\ni\tv\t/dev/xvdb\tNULL\t{\"data\": {\"auth_password\": \"TOPSECRET\"\n".into(),
            "notjson.tsv:2: connection_info is not JSON",
        ),
    ];
    for (i, (flag, name, text, names)) in cases.into_iter().enumerate() {
        let file = dir.write(name, text);
        let out = format!("out{i}");
        let run = scan(&dir, &out, &[flag, file.to_str().unwrap()]);
        assert_input_error(&dir, &out, run, names);
    }
    let run = scan(&dir, "port", &["--nova-target-port", "99999"]);
    assert_input_error(&dir, "port", run, "--nova-target-port");
    let missing = Path::new("no-such-bdms.tsv");
    let run = scan(&dir, "missing", &["--nova-bdms", missing.to_str().unwrap()]);
    assert_input_error(&dir, "missing", run, "no-such-bdms.tsv");
}

/// One row of a BDM export: the disk whose instance it is for, the device name, connection_info.
type BdmRow<'a> = (&'a Row, &'a str, Option<String>);

/// Rule 5: pre_live_migration connects every BDM of the instance and the source looks up every
/// uuid: a BDM that pairs with no disk, or a second one for a disk, still counts.
#[test]
fn unpaired_bdms_are_reported_and_decide_the_instance() {
    let dir = TestDir::new();
    let plain = plain_findings(&dir);
    let disk = plain
        .iter()
        .find(|f| {
            f["instance_uuid"] == "ecb65c94-b49a-5922-8c7c-39eeebcc8db5" && f["userdevice"] == "1"
        })
        .unwrap();
    assert_eq!(disk["sr_uuid"], NEW_3260);
    let iqn = disk["target_iqn"].as_str();
    let instances = |out: &str| read_csv(&dir.join(out).join("instances.csv"));
    let this = |rows: &[Row]| {
        rows.iter()
            .find(|i| i["instance_uuid"] == disk["instance_uuid"])
            .unwrap()
            .clone()
    };
    assert_eq!(
        this(&read_csv(&dir.join("plain/instances.csv")))["unpaired_bdms"],
        ""
    );
    // Disk 2 of the instance, on the shared new-style SR 67ba289c-... of 10.40.2.20/3260/...pool2-shared.
    let disk2 = plain
        .iter()
        .find(|f| f["instance_uuid"] == disk["instance_uuid"] && f["userdevice"] == "2")
        .unwrap();
    assert_eq!(disk2["sr_uuid"], LEGACY_EXPECTED);
    let own = |d: &Row| iscsi(&format!("{}:{}", d["target"], d["port"]), &d["target_iqn"]);
    let both = |extra: Option<(&'static str, Option<String>)>| {
        let mut rows: Vec<BdmRow> = vec![
            (disk, "/dev/sdb", own(disk)),
            (disk2, "/dev/xvdc", own(disk2)),
        ];
        rows.extend(extra.map(|(device, info)| (disk, device, info)));
        rows
    };
    let cases: Vec<(Vec<BdmRow>, &str, &str)> = vec![
        // Only the disks' own BDMs: nothing unpaired.
        (both(None), "", "ok"),
        // A BDM under a name Nova cannot number, naming an SR this pool does not have.
        (
            both(Some(("/dev/nvme0n1", iscsi("10.99.0.1:3260", iqn)))),
            "\"/dev/nvme0n1\" -> 5d70ce47-52a7-5a63-a477-34bf9d511b8c: not-in-pool",
            "blocked",
        ),
        // A second BDM for disk 1 that Nova cannot use.
        (
            both(Some(("/dev/xvdb", Some(r#"{"driver_volume_type": "rbd", "data": {}}"#.into())))),
            "\"/dev/xvdb\" -> driver_volume_type \"rbd\" is not one the XenAPI driver connects (VolumeDriverNotFound): unusable",
            "blocked",
        ),
        // A BDM with no stored connection_info: Nova does not refresh it from Cinder and
        // connect_volume(None) raises (regression null_connection_info_is_unusable).
        (
            both(Some(("/dev/xvdq", None))),
            "\"/dev/xvdq\" -> its connection_info is NULL, which Nova does not refresh from Cinder: connect_volume(None) raises TypeError in _check_is_supported_driver_type: unusable",
            "blocked",
        ),
        // A second BDM yielding the same SR is fine.
        (
            both(Some(("sdb ", own(disk)))),
            "\"sdb \" -> 9aa91cba-e7ab-5ea6-bc49-c1aae3e6bca2: ok",
            "ok",
        ),
        // Disk 2 without its BDM: outside the VDI map, whatever the unpaired ones say.
        (
            vec![(disk, "/dev/sdb", own(disk))],
            "",
            "blocked",
        ),
    ];
    for (i, (rows, unpaired, verdict)) in cases.into_iter().enumerate() {
        let file = bdm_rows(&dir, &format!("r5-{i}.tsv"), &rows);
        let out = format!("r5-{i}");
        let run = scan(&dir, &out, &["--nova-bdms", file.to_str().unwrap()]);
        assert!([1, 2].contains(&run.code), "{}", run.stderr);
        let got = this(&instances(&out));
        let finding = find(&read_csv(&dir.join(&out).join("findings.csv")), disk).clone();
        assert_eq!(finding["nova_check"], "match", "case {i}");
        assert_eq!(got["unpaired_bdms"], unpaired, "case {i}");
        assert_eq!(got["verdict"], verdict, "case {i}: {got:?}");
        if !unpaired.is_empty() && verdict != "ok" {
            assert!(
                got["remediation"].contains("unpaired_bdms"),
                "case {i}: {got:?}"
            );
        }
        let json = read_json(&dir.join(&out).join("report.json"));
        let j = json["instances"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["instance_uuid"] == disk["instance_uuid"].as_str())
            .unwrap();
        assert_eq!(j["unpaired_bdms"], unpaired);
    }
}

/// Rule 6: `Host` of the server list is the nova-compute service's host, not the hypervisor; the
/// map is learned from the instances XAPI shows running, and never assumed.
#[test]
fn coverage_maps_service_hosts_through_what_xapi_shows() {
    let dir = TestDir::new();
    let rename = |l: &mut Vec<serde_json::Value>| {
        for s in l.iter_mut() {
            let h = s["Host"].as_str().unwrap().to_string();
            s["Host"] = format!("compute-{h}").into();
        }
    };
    coverage_run(&dir, "renamed", rename).expect_code(exit::CLEAN);
    let rows = read_csv(&dir.join("renamed/coverage.csv"));
    assert!(rows.iter().all(|r| r["coverage"] == "audited"));
    let ghost = |host: &str| serde_json::json!({"ID": "0f0f0f0f-0000-5000-8000-00000000000a", "Name": "ghost", "Status": "ACTIVE", "Power State": 1, "Host": host});
    // On a renamed service host whose instances run on pool-00000-xs01: missing in XAPI (exit 1),
    // not "not audited" (which comparing Host with the hostname would say: exit 3).
    let run = coverage_run(&dir, "ghost", |l| {
        rename(l);
        l.push(ghost("COMPUTE-pool-00000-xs01"));
    });
    run.expect_code(exit::WARNINGS);
    let rows = read_csv(&dir.join("ghost/coverage.csv"));
    let g = rows.iter().find(|r| r["instance_name"] == "ghost").unwrap();
    assert_eq!(
        (
            g["coverage"].as_str(),
            g["xapi_host"].as_str(),
            g["nova_host"].as_str()
        ),
        (
            "missing-in-xapi",
            "pool-00000-xs01",
            "COMPUTE-pool-00000-xs01"
        )
    );
    let md = std::fs::read_to_string(dir.join("ghost/summary.md")).unwrap();
    assert!(
        md.contains("Nova host -> XAPI host: compute-pool-00000-xs01 -> pool-00000-xs01"),
        "{md}"
    );
    // A service host that no running instance shows, even one named like a dom0: not audited.
    coverage_run(&dir, "unseen", |l| {
        rename(l);
        l.push(ghost("pool-00000-xs01"));
    })
    .expect_code(exit::ENTRY_FAILED);
    // An instances-table export has `node`: it decides, whatever the service host.
    let csv = dir.write(
        "instances.csv",
        "uuid,display_name,vm_state,power_state,host,node,project_id\n0f0f0f0f-0000-5000-8000-00000000000a,ghost,active,1,compute-x,POOL-00001-XS02,p\n",
    );
    let inv = dir.join("clean/inventory.csv");
    let run = xsa(
        dir.path(),
        &[
            "scan",
            "-i",
            inv.to_str().unwrap(),
            "-o",
            "noded",
            "-q",
            "--nova-servers",
            csv.to_str().unwrap(),
        ],
    );
    let rows = read_csv(&dir.join("noded/coverage.csv"));
    let g = rows.iter().find(|r| r["instance_name"] == "ghost").unwrap();
    assert_eq!(
        (
            g["coverage"].as_str(),
            g["xapi_host"].as_str(),
            g["nova_host"].as_str()
        ),
        ("missing-in-xapi", "pool-00001-xs02", "compute-x")
    );
    assert_eq!(run.code, i32::from(exit::WARNINGS), "{}", run.stderr);
}
