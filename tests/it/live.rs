//! The live path for real: the XAPI simulator serves dumps over HTTP on loopback (one 127.x.y.z
//! address per host), and the real binary scans it. Nothing here sleeps for correctness: faults end
//! through the client's own timeouts and deadlines.

use crate::util;
use xen_sr_audit::policy::exit;

use crate::util::{read_csv, xsa_env, TestDir};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;
use xen_sr_audit::sim::xapi::{Fault, SimOptions, Simulator};

const PW: &str = "s3cret-sim-pw";
const PW_ENV: &str = "XSA_TEST_SIM_PASSWORD";

fn demo_dumps() -> Vec<PathBuf> {
    let d = util::root().join("fixtures/demo/dumps");
    vec![
        d.join("pool-east.xml"),
        d.join("pool-west.xml"),
        d.join("edge-01.state.db"),
    ]
}

fn sim(dumps: Vec<PathBuf>, faults: &[(&str, Fault)], event_from: bool) -> Simulator {
    Simulator::start(SimOptions {
        dumps,
        password: PW.into(),
        faults: faults
            .iter()
            .map(|(n, f)| (n.to_string(), f.clone()))
            .collect(),
        event_from,
        ..SimOptions::default()
    })
    .expect("simulator starts")
}

fn scan(dir: &TestDir, inventory: &str, out: &str, extra: &[&str]) -> util::Run {
    let inv = dir.write(&format!("{out}.inventory.csv"), inventory);
    let mut args = vec![
        "scan",
        "--inventory",
        inv.to_str().unwrap(),
        "--out",
        out,
        "--quiet",
    ];
    args.extend_from_slice(extra);
    xsa_env(dir.path(), &args, &[(PW_ENV, PW)])
}

/// findings.csv of an offline scan of the demo dumps (without Nova's files, like the live scans).
fn offline_findings() -> String {
    let dir = TestDir::new();
    let inv = util::root().join("fixtures/demo/inventory.csv");
    util::xsa(
        dir.path(),
        &["scan", "-i", inv.to_str().unwrap(), "-o", "off", "-q"],
    )
    .expect_code(exit::BLOCKED);
    std::fs::read_to_string(dir.join("off/findings.csv")).unwrap()
}

#[test]
fn live_scan_of_the_demo_gives_byte_identical_findings() {
    for event_from in [true, false] {
        let s = sim(demo_dumps(), &[], event_from);
        let dir = TestDir::new();
        scan(&dir, &s.inventory_csv(PW_ENV, false), "out", &[]).expect_code(exit::BLOCKED);
        let live = std::fs::read_to_string(dir.join("out/findings.csv")).unwrap();
        util::assert_same_text(
            &format!("live findings.csv (event.from {event_from})"),
            &offline_findings(),
            &live,
        );
        assert_eq!(s.stats().open_sessions(), 0);
        assert_eq!(
            s.stats()
                .non_read_calls
                .load(std::sync::atomic::Ordering::Relaxed),
            0
        );
    }
}

#[test]
fn every_host_listed_each_pool_audited_once_members_redirected_no_session_left() {
    use std::sync::atomic::Ordering::Relaxed;
    let s = sim(demo_dumps(), &[], true);
    let dir = TestDir::new();
    // Members first, so that redirection is what finds the master.
    let inv = s.inventory_csv(PW_ENV, true);
    let mut lines: Vec<&str> = inv.lines().collect();
    let header = lines.remove(0);
    lines.sort_by_key(|l| !l.ends_with(",member"));
    let inv = format!("{header}\n{}\n", lines.join("\n"));
    scan(&dir, &inv, "out", &[]).expect_code(exit::BLOCKED);
    let hosts = read_csv(&dir.join("out/hosts.csv"));
    assert_eq!(hosts.len(), 6);
    let mut audited: BTreeMap<String, usize> = BTreeMap::new();
    for h in &hosts {
        assert_ne!(h["status"], "failed", "{h:?}");
        if h["status"] == "ok" {
            *audited.entry(h["pool_uuid"].clone()).or_default() += 1;
        } else {
            let first = h["status"].strip_prefix("same-pool-as:").unwrap();
            assert!(hosts.iter().any(|o| o["name"] == first
                && o["status"] == "ok"
                && o["pool_uuid"] == h["pool_uuid"]));
        }
    }
    assert_eq!(audited.len(), 3);
    assert!(audited.values().all(|n| *n == 1));
    // Findings are attributed to the hosts the instances run on, members included.
    let findings = read_csv(&dir.join("out/findings.csv"));
    assert!(findings.iter().any(|f| f["host"] == "pool-east-xs02"));
    util::assert_same_text(
        "findings.csv",
        &offline_findings(),
        &std::fs::read_to_string(dir.join("out/findings.csv")).unwrap(),
    );
    let st = s.stats();
    assert_eq!(
        st.non_read_calls.load(Relaxed),
        0,
        "no write ever reached the simulator"
    );
    assert_eq!(st.open_sessions(), 0, "every session was logged out");
    assert_eq!(st.logins.load(Relaxed), st.logouts.load(Relaxed));
    // One fetch per pool: the rows of a pool share the master's session and answer.
    assert_eq!(
        st.logins.load(Relaxed),
        3,
        "one session per pool, not one per inventory row"
    );
}

#[test]
fn faulty_hosts_fail_with_reasons_within_the_deadline_and_others_are_complete() {
    let gen_dir = TestDir::new();
    // Eight single-host pools with no legacy volume: without faults this fleet is clean.
    let inv = gen_dir.gen_fleet(
        "fleet",
        &[
            "--pools",
            "8",
            "--hosts",
            "1",
            "--instances",
            "6",
            "--legacy-percent",
            "0",
            "--seed",
            "11",
        ],
    );
    let dumps: Vec<PathBuf> = (0..8)
        .map(|i| inv.parent().unwrap().join(format!("dumps/pool-{i:05}.xml")))
        .collect();
    let faults = [
        ("pool-00000-xs01", Fault::Hang),
        ("pool-00001-xs01", Fault::Http500),
        ("pool-00002-xs01", Fault::Malformed),
        ("pool-00003-xs01", Fault::Refused),
        ("pool-00004-xs01", Fault::AuthFail),
        ("pool-00005-xs01", Fault::Truncated),
    ];
    let s = sim(dumps, &faults, true);
    let dir = TestDir::new();
    // No wall-clock bound: the hung host can only end through the client's own timeout (the
    // simulator never answers it), and its error below says it timed out.
    let run = scan(
        &dir,
        &s.inventory_csv(PW_ENV, false),
        "out",
        &["--timeout", "1", "--host-deadline", "4"],
    );
    run.expect_code(exit::ENTRY_FAILED);
    let hosts = read_csv(&dir.join("out/hosts.csv"));
    let by_name: BTreeMap<&str, &BTreeMap<String, String>> =
        hosts.iter().map(|h| (h["name"].as_str(), h)).collect();
    for (name, want) in [
        ("pool-00000-xs01", "timed out"),
        ("pool-00001-xs01", "HTTP 500"),
        ("pool-00002-xs01", "malformed XML-RPC"),
        ("pool-00003-xs01", "cannot connect"),
        ("pool-00004-xs01", "SESSION_AUTHENTICATION_FAILED"),
        ("pool-00005-xs01", "reading the response"),
    ] {
        let h = by_name[name];
        assert_eq!(h["status"], "failed", "{name}");
        assert!(h["error"].contains(want), "{name}: {}", h["error"]);
        assert!(!h["error"].contains(PW), "no password in errors");
    }
    for name in ["pool-00006-xs01", "pool-00007-xs01"] {
        assert_eq!(by_name[name]["status"], "ok");
    }
    // The healthy pools' findings are complete: compare with an offline scan of the same two dumps.
    let offline_inv = gen_dir.write("two.csv", "name,dump\npool-00006-xs01,fleet/dumps/pool-00006.xml\npool-00007-xs01,fleet/dumps/pool-00007.xml\n");
    xsa_env(
        gen_dir.path(),
        &[
            "scan",
            "-i",
            offline_inv.to_str().unwrap(),
            "-o",
            "off",
            "-q",
        ],
        &[],
    )
    .expect_code(exit::CLEAN);
    util::assert_same_text(
        "healthy pools' findings",
        &std::fs::read_to_string(gen_dir.join("off/findings.csv")).unwrap(),
        &std::fs::read_to_string(dir.join("out/findings.csv")).unwrap(),
    );
    // Nothing secret in the reports. (The console is checked where it has something to say:
    // this run is --quiet; promises::passwords_from_env_file_and_xsa_password_... scans with the
    // console on, through every password route and failure.)
    assert!(!util::all_text_under(&dir.join("out")).contains(PW));
    assert_eq!(
        s.stats().open_sessions(),
        0,
        "sessions of failed entries were logged out too"
    );
}

#[test]
fn session_invalid_once_logs_in_again_and_oversized_answers_are_refused() {
    use std::sync::atomic::Ordering::Relaxed;
    let d = demo_dumps();
    let s = sim(
        vec![d[0].clone(), d[2].clone()],
        &[
            ("pool-east-xs01", Fault::SessionInvalidOnce),
            ("edge-01-xs01", Fault::Oversized(2 * 1024 * 1024)),
        ],
        true,
    );
    let dir = TestDir::new();
    let run = scan(
        &dir,
        &s.inventory_csv(PW_ENV, false),
        "out",
        &["--max-response-mb", "1"],
    );
    run.expect_code(exit::BLOCKED);
    let hosts = read_csv(&dir.join("out/hosts.csv"));
    assert_eq!(hosts[0]["status"], "ok", "{:?}", hosts[0]);
    assert_eq!(hosts[1]["status"], "failed");
    assert!(
        hosts[1]["error"].contains("larger than the limit"),
        "{}",
        hosts[1]["error"]
    );
    assert_eq!(
        s.stats().logins.load(Relaxed),
        3,
        "two for the re-login, one for edge"
    );
    assert_eq!(s.stats().open_sessions(), 0);
}

#[test]
fn the_client_refuses_non_read_calls_before_the_wire() {
    use std::sync::atomic::Ordering::Relaxed;
    use xen_sr_audit::config::LiveOptions;
    use xen_sr_audit::xapi::client::Connection;
    use xen_sr_audit::xapi::{HttpClients, XapiError};
    let s = sim(demo_dumps(), &[], true);
    let opts = LiveOptions::default();
    let clients = HttpClients::new(&opts, &[]);
    let url = format!("http://{}/", s.hosts()[0].addr);
    let verified = xen_sr_audit::xapi::tls::TlsPolicy {
        mode: xen_sr_audit::xapi::tls::TlsMode::Verified,
        legacy: false,
    };
    let mut conn = Connection::new(&clients, &url, "t", verified, &opts).unwrap();
    for method in [
        "VM.destroy",
        "SR.forget",
        "VM.set_name_label",
        "session.create_from_db_file",
        "pool.eject",
    ] {
        match conn.call(method, &[xmlrpc::Value::from("OpaqueRef:x")]) {
            Err(XapiError::NotReadOnly { .. }) => {}
            other => panic!("{method}: {other:?}"),
        }
    }
    assert_eq!(s.stats().calls.load(Relaxed), 0, "nothing reached the wire");
    // A read call does go through (and, without a session, is refused by XAPI).
    assert!(conn
        .call(
            "VM.get_all_records",
            &[xmlrpc::Value::from("OpaqueRef:none")]
        )
        .is_err());
    assert_eq!(s.stats().calls.load(Relaxed), 1);
}

#[test]
fn capture_writes_sanitised_dumps_that_audit_offline_the_same() {
    let s = sim(demo_dumps(), &[], true);
    let dir = TestDir::new();
    let inv = dir.write("live.csv", s.inventory_csv(PW_ENV, true));
    xsa_env(
        dir.path(),
        &["capture", "-i", inv.to_str().unwrap(), "-o", "cap", "-q"],
        &[(PW_ENV, PW)],
    )
    .expect_code(exit::CLEAN);
    let captured = util::all_text_under(&dir.join("cap/dumps"));
    assert!(captured.contains("FA15E-D15C-"));
    assert!(
        !captured.contains("demo-chap-secret") && !captured.contains("chappassword"),
        "secrets removed"
    );
    assert_eq!(
        std::fs::read_dir(dir.join("cap/dumps")).unwrap().count(),
        3,
        "one dump per pool"
    );
    xsa_env(
        dir.path(),
        &["scan", "-i", "cap/inventory.csv", "-o", "off", "-q"],
        &[],
    )
    .expect_code(exit::BLOCKED);
    util::assert_same_text(
        "findings of the captured dumps",
        &offline_findings(),
        &std::fs::read_to_string(dir.join("off/findings.csv")).unwrap(),
    );
}

#[test]
#[ignore = "needs the XenAPI Python SDK: run scripts/test"]
fn official_python_sdk_logs_in_and_reads_records_from_the_simulator() {
    let s = sim(demo_dumps(), &[], true);
    let url = format!("http://{}/", s.hosts()[0].addr);
    let script = r#"
import sys, XenAPI
s = XenAPI.Session(sys.argv[1])
s.xenapi.login_with_password("root", sys.argv[2], "1.0", "sdk-test")
vms = s.xenapi.VM.get_all_records()
nova = [v for v in vms.values() if "nova_uuid" in v["other_config"] and not v["is_a_template"]]
pool = s.xenapi.pool.get_all()[0]
print(len(vms), len(nova), s.xenapi.pool.get_name_label(pool), s.API_version)
s.xenapi.session.logout()
"#;
    let mut python = std::process::Command::new(util::python());
    python.arg("-c").arg(script).arg(&url).arg(PW);
    let out = util::output_within(python, util::CHILD_LIMIT);
    assert!(
        out.status.success(),
        "the XenAPI SDK must be installed (scripts/test installs it into target/venv): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let fields: Vec<&str> = text.split_whitespace().collect();
    assert_eq!(fields[2], "pool-east");
    assert_eq!(fields[1], "18", "{text}");
    assert_eq!(fields[3], "2.6");
    assert_eq!(s.stats().open_sessions(), 0);
}

fn self_signed(dir: &TestDir, ips: &[&str]) -> (PathBuf, PathBuf) {
    let (cert, key) = util::self_signed_pem(2048, false, ips);
    (dir.write("cert.pem", cert), dir.write("key.pem", key))
}

#[test]
fn tls_is_verified_by_default_and_insecure_or_ca_file_opt_out_or_in() {
    let dir = TestDir::new();
    let (cert, key) = self_signed(&dir, &["127.88.0.1", "127.88.1.1", "127.88.2.1"]);
    let s = Simulator::start(SimOptions {
        dumps: demo_dumps(),
        password: PW.into(),
        base_octet: 88,
        tls: Some((std::fs::read(&cert).unwrap(), std::fs::read(&key).unwrap())),
        ..SimOptions::default()
    })
    .unwrap();
    let inv = s.inventory_csv(PW_ENV, false);
    assert!(inv.contains("https://127.88.0.1:"));
    // Self-signed and not trusted: every entry fails, naming the certificate problem.
    scan(&dir, &inv, "strict", &[]).expect_code(exit::ENTRY_FAILED);
    let hosts = read_csv(&dir.join("strict/hosts.csv"));
    assert!(
        hosts
            .iter()
            .all(|h| h["status"] == "failed" && h["error"].to_lowercase().contains("certificate")),
        "{hosts:?}"
    );
    // Trusting the CA verifies properly.
    scan(&dir, &inv, "ca", &["--ca-file", cert.to_str().unwrap()]).expect_code(exit::BLOCKED);
    assert!(read_csv(&dir.join("ca/hosts.csv"))
        .iter()
        .all(|h| h["status"] == "ok" && h["insecure"] == "false"));
    // --insecure works and is flagged.
    scan(&dir, &inv, "insecure", &["--insecure"]).expect_code(exit::BLOCKED);
    assert!(read_csv(&dir.join("insecure/hosts.csv"))
        .iter()
        .all(|h| h["status"] == "ok" && h["insecure"] == "true"));
    util::assert_same_text(
        "findings over TLS",
        &offline_findings(),
        &std::fs::read_to_string(dir.join("insecure/findings.csv")).unwrap(),
    );
    // The per-entry column does the same for one entry.
    let per_entry = inv
        .replace(
            "name,url,username,password_env,site,tags",
            "name,url,username,password_env,site,tags,insecure",
        )
        .replace(",master\n", ",master,true\n");
    scan(&dir, &per_entry, "column", &[]).expect_code(exit::BLOCKED);
    assert!(read_csv(&dir.join("column/hosts.csv"))
        .iter()
        .all(|h| h["insecure"] == "true"));
}

#[test]
fn ctrl_c_writes_a_partial_report_marked_incomplete() {
    let s = sim(demo_dumps(), &[("edge-01-xs01", Fault::Hang)], true);
    let dir = TestDir::new();
    let inv = dir.write("inv.csv", s.inventory_csv(PW_ENV, false));
    let mut child = util::xsa_command()
        .current_dir(dir.path())
        .args([
            "scan",
            "-i",
            inv.to_str().unwrap(),
            "-o",
            "out",
            "--timeout",
            "120",
        ])
        .env(PW_ENV, PW)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the two healthy pools have reported (plain progress lines on a non-terminal).
    // Each line waited for at most a minute: a changed progress line fails, it does not hang.
    let stderr = child.stderr.take().unwrap();
    let mut lines = util::LinesWithin::new(stderr, Duration::from_secs(60));
    let mut done = 0;
    while let Some(line) = lines.next_line() {
        if line.starts_with('[') && line.contains(": ok:") {
            done += 1;
            if done == 2 {
                break;
            }
        }
    }
    assert_eq!(done, 2);
    let kill = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let rest = lines.rest();
    let status = child.wait().unwrap();
    assert_eq!(
        status.code(),
        Some(i32::from(exit::INTERRUPTED)),
        "{rest:?}"
    );
    let report = util::read_json(&dir.join("out/report.json"));
    assert_eq!(report["run"]["complete"], false);
    let hosts = read_csv(&dir.join("out/hosts.csv"));
    let edge = hosts.iter().find(|h| h["name"] == "edge-01-xs01").unwrap();
    assert_eq!(edge["status"], "failed");
    assert!(edge["error"].contains("interrupted"));
    assert_eq!(hosts.iter().filter(|h| h["status"] == "ok").count(), 2);
    // The hung host never answered its login: no session of this run is left open.
    assert_eq!(s.stats().open_sessions(), 0, "{}", s.stats().summary());
}
