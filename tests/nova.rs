//! Nova's view end to end through the CLI: each rule of `parse_sr_info` and `_mountpoint_to_number`
//! as Nova's code paths have it (one BDM row at a time against the demo fleet, findings.csv parsed
//! back), coverage and its exit codes, bad Nova exports (exit 64, nothing written, file and line
//! named, no secret echoed), and no CHAP secret from the BDM export reaching any output.

mod util;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use util::{read_csv, read_json, xsa, TestDir};
use xen_sr_audit::classify::nova_sr_uuid;

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
    scan(dir, "plain", &[]).expect_code(2);
    read_csv(&dir.join("plain/findings.csv"))
}

fn find<'a>(rows: &'a [Row], of: &Row) -> &'a Row {
    rows.iter()
        .find(|r| r["instance_uuid"] == of["instance_uuid"] && r["userdevice"] == of["userdevice"])
        .expect("the same disk in the new run")
}

/// A one-row `mysql --batch` BDM export for `disk`, with `device` and `connection_info`.
fn bdm_file(dir: &TestDir, name: &str, disk: &Row, device: &str, info: Option<String>) -> PathBuf {
    dir.write(
        name,
        format!(
            "instance_uuid\tvolume_id\tdevice_name\tboot_index\tconnection_info\n{}\tv\t{device}\tNULL\t{}\n",
            disk["instance_uuid"],
            info.unwrap_or_else(|| "NULL".into())
        ),
    )
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
    let cases: Vec<Case> = vec![
        (
            new_style,
            format!("/dev/xvd{l}"),
            iscsi(&format!("{t}:3260"), iqn),
            vec![],
            "match",
            "ok",
            nova_sr_uuid(t, "3260", iqn),
        ),
        // A portal without a port takes the destination's target_port (3260 by default).
        (
            new_style,
            format!("/dev/xvd{l}"),
            iscsi(t, iqn),
            vec![],
            "match",
            "ok",
            nova_sr_uuid(t, "3260", iqn),
        ),
        (
            new_style,
            format!("/dev/xvd{l}"),
            iscsi(t, iqn),
            vec!["--nova-target-port", "3261"],
            "mismatch",
            "blocked",
            nova_sr_uuid(t, "3261", iqn),
        ),
        // The port in the portal wins over target_port.
        (
            new_style,
            format!("/dev/xvd{l}"),
            iscsi(&format!("{t}:3260"), iqn),
            vec!["--nova-target-port", "3261"],
            "match",
            "ok",
            nova_sr_uuid(t, "3260", iqn),
        ),
        (
            new_style,
            format!("/dev/xvd{l}"),
            iscsi(&format!("{t}:3261"), iqn),
            vec![],
            "mismatch",
            "blocked",
            nova_sr_uuid(t, "3261", iqn),
        ),
        // An empty portal takes target_host; without it Nova cannot connect (no usable BDM).
        (
            new_style,
            format!("/dev/xvd{l}"),
            iscsi("", iqn),
            vec!["--nova-target-host", t],
            "match",
            "ok",
            nova_sr_uuid(t, "3260", iqn),
        ),
        (
            new_style,
            format!("/dev/xvd{l}"),
            iscsi("", iqn),
            vec![],
            "no-bdm",
            "ok",
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
            nova_sr_uuid("10.99.0.1", "3260", iqn),
        ),
        // Every device name form Nova translates, and one it does not.
        (
            new_style,
            format!("xvd{l}"),
            iscsi(t, iqn),
            vec![],
            "match",
            "ok",
            nova_sr_uuid(t, "3260", iqn),
        ),
        (
            new_style,
            format!("/dev/vd{l}"),
            iscsi(t, iqn),
            vec![],
            "match",
            "ok",
            nova_sr_uuid(t, "3260", iqn),
        ),
        (
            new_style,
            format!("/dev/sd{l}"),
            iscsi(t, iqn),
            vec![],
            "match",
            "ok",
            nova_sr_uuid(t, "3260", iqn),
        ),
        (
            new_style,
            format!("hd{l}"),
            iscsi(t, iqn),
            vec![],
            "match",
            "ok",
            nova_sr_uuid(t, "3260", iqn),
        ),
        (
            new_style,
            u.to_string(),
            iscsi(t, iqn),
            vec![],
            "match",
            "ok",
            nova_sr_uuid(t, "3260", iqn),
        ),
        (
            new_style,
            format!("/dev/xvd{l}1"),
            iscsi(t, iqn),
            vec![],
            "no-bdm",
            "ok",
            String::new(),
        ),
        (
            new_style,
            format!("/dev/xvd{l}"),
            None,
            vec![],
            "no-bdm",
            "ok",
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
            nova_sr_uuid(t3261, "3260", iqn3261),
        ),
        (
            port_3261,
            format!("/dev/xvd{}", letter(port_3261)),
            iscsi(t3261, iqn3261),
            vec!["--nova-target-port", "3261"],
            "match",
            "ok",
            nova_sr_uuid(t3261, "3261", iqn3261),
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
            legacy["expected_sr_uuid"].clone(),
        ),
        (
            legacy,
            format!("/dev/xvd{}", letter(legacy)),
            None,
            vec![],
            "no-bdm",
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
        if check == "no-bdm" && device.ends_with('1') {
            assert_eq!(
                got["nova_device"], "",
                "{what}: an untranslatable name matches no disk"
            );
        } else if check != "no-bdm" {
            assert_eq!(got["nova_device"], device, "{what}");
        }
        // Every other disk has no BDM in this file: no-bdm, verdict from its name.
        for r in &rows {
            if r["instance_uuid"] == disk["instance_uuid"] && r["userdevice"] == disk["userdevice"]
            {
                continue;
            }
            assert_eq!(r["nova_check"], "no-bdm", "{what}");
            assert_eq!(r["verdict"], find(&plain, r)["verdict"], "{what}");
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
    run.expect_code(2);
    let out = dir.join("out");
    let findings = read_csv(&out.join("findings.csv"));
    let coverage = read_csv(&out.join("coverage.csv"));
    let json = read_json(&out.join("report.json"));
    for f in &findings {
        assert!(
            ["match", "mismatch", "no-bdm"].contains(&f["nova_check"].as_str()),
            "{f:?}"
        );
        match f["nova_check"].as_str() {
            "match" => assert!(
                f["verdict"] == "ok" && f["nova_sr_uuid"].eq_ignore_ascii_case(&f["sr_uuid"]),
                "{f:?}"
            ),
            "mismatch" => assert!(
                f["verdict"] == "blocked" && f["nova_sr_uuid"] != f["sr_uuid"],
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
        ("no-bdm", "has no connection_info"),
    ] {
        assert!(
            findings
                .iter()
                .any(|f| f["nova_check"] == check && f["remediation"].contains(why)),
            "the demo shows {check}: {why}"
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
    coverage_run(&dir, "all", |_| {}).expect_code(0);
    let ghost = |host: &str| serde_json::json!({"ID": "0f0f0f0f-0000-5000-8000-00000000000a", "Name": "ghost", "Status": "ACTIVE", "Power State": "Running", "Host": host, "Project ID": "p"});
    // Nova places an instance on an audited host (any case) that XAPI does not have: a warning.
    coverage_run(&dir, "ghost", |l| l.push(ghost("POOL-00000-XS02"))).expect_code(1);
    // XAPI has a Nova VM that Nova does not list: a warning.
    coverage_run(&dir, "leftover", |l| {
        l.pop();
    })
    .expect_code(1);
    // Nova runs an instance on a host no audited pool has: the audit is incomplete.
    let run = coverage_run(&dir, "outside", |l| l.push(ghost("compute-99")));
    run.expect_code(3);
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
    coverage_run(&dir, "failed", |_| {}).expect_code(3);
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
    run.expect_code(64);
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
