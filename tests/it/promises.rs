//! Promises of README.md held by tests that a bug would break: the exit-code gate (`--fail-on`,
//! "2 before 3 before 1"), passwords in no output with the console *not* quiet (so the check has
//! text to search), `--host-deadline` ending an entry that `--timeout` alone would let finish,
//! retries with backoff for connection failures only, a schema-1 report.json as a baseline, and the
//! UTF-8 byte order mark on every CSV. Each test names the break it was checked against.

use crate::util;
use xen_sr_audit::policy::exit;

use crate::util::{read_csv, read_json, xsa, xsa_env, TestDir};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};
use xen_sr_audit::sim::xapi::{Fault, SimOptions, Simulator};

fn handwritten(name: &str) -> PathBuf {
    util::root().join("fixtures/handwritten").join(name)
}

/// Scan `inventory` into `out` (quiet) and check that report.json records the same exit code.
fn gate_run(dir: &TestDir, inventory: &Path, out: &str, fail_on: Option<&str>) -> i32 {
    let mut args = vec!["scan", "-i", inventory.to_str().unwrap(), "-o", out, "-q"];
    if let Some(f) = fail_on {
        args.extend(["--fail-on", f]);
    }
    let run = xsa(dir.path(), &args);
    let report = read_json(&dir.join(out).join("report.json"));
    assert_eq!(report["exit_code"], run.code, "{out}: report.json agrees");
    assert_eq!(report["fail_on"], fail_on.unwrap_or("blocked"), "{out}");
    run.code
}

/// An inventory of dumps (absolute paths), one row per (name, path).
fn dump_inventory(dir: &TestDir, file: &str, rows: &[(&str, PathBuf)]) -> PathBuf {
    let mut text = String::from("name,dump\n");
    for (name, path) in rows {
        text.push_str(&format!("{name},{}\n", path.display()));
    }
    dir.write(file, text)
}

// Broken on purpose: `FailOn::Review` counting blocked instances only (review-only run stayed 1).
#[test]
fn fail_on_review_fails_a_run_that_only_warns_and_leaves_a_clean_one_clean() {
    let dir = TestDir::new();
    let clean = dir.gen_fleet(
        "clean",
        &["--pools", "1", "--instances", "6", "--legacy-percent", "0"],
    );
    for (fail_on, want) in [(None, 0), (Some("review"), 0), (Some("never"), 0)] {
        let out = format!("clean-{}", fail_on.unwrap_or("default"));
        assert_eq!(gate_run(&dir, &clean, &out, fail_on), want, "{out}");
    }
    let review = dump_inventory(
        &dir,
        "review.csv",
        &[("rv-xs01", handwritten("pool-review.xml"))],
    );
    for (fail_on, want) in [(None, 1), (Some("review"), 2), (Some("never"), 0)] {
        let out = format!("review-{}", fail_on.unwrap_or("default"));
        assert_eq!(gate_run(&dir, &review, &out, fail_on), want, "{out}");
    }
    let instances = read_csv(&dir.join("review-review/instances.csv"));
    let verdicts: Vec<&str> = instances.iter().map(|i| i["verdict"].as_str()).collect();
    assert_eq!(verdicts, ["ok", "review"], "nothing blocked, one to review");
}

// Broken on purpose: warnings checked before failed entries in `gate::exit_code` (gave 1, not 3);
// `FailOn::Never` skipping the failed-entry check (gave 0, not 3).
#[test]
fn a_failed_entry_gives_3_over_warnings_and_under_never_but_blocked_still_gives_2() {
    let dir = TestDir::new();
    let missing = dir.join("no-such-dump.xml");
    let warn_and_failed = dump_inventory(
        &dir,
        "warn-failed.csv",
        &[
            ("rv-xs01", handwritten("pool-review.xml")),
            ("gone", missing.clone()),
        ],
    );
    for (fail_on, want) in [(None, 3), (Some("never"), 3), (Some("review"), 2)] {
        let out = format!("wf-{}", fail_on.unwrap_or("default"));
        assert_eq!(
            gate_run(&dir, &warn_and_failed, &out, fail_on),
            want,
            "{out}"
        );
    }
    let hosts = read_csv(&dir.join("wf-default/hosts.csv"));
    assert_eq!(hosts[1]["status"], "failed");
    let summary = &read_json(&dir.join("wf-default/report.json"))["summary"];
    assert_eq!(summary["instances_blocked"], 0, "nothing blocked");
    assert_eq!(summary["instances_review"], 1, "a warning");
    assert_eq!(summary["entries_failed"], 1);

    let blocked_and_failed = dump_inventory(
        &dir,
        "blocked-failed.csv",
        &[("hw-xs01", handwritten("pool-hand.xml")), ("gone", missing)],
    );
    for (fail_on, want) in [(None, 2), (Some("review"), 2), (Some("never"), 3)] {
        let out = format!("bf-{}", fail_on.unwrap_or("default"));
        assert_eq!(
            gate_run(&dir, &blocked_and_failed, &out, fail_on),
            want,
            "{out}"
        );
    }
}

const PW: &str = "Pw-never-Pr1nted-5e7c";

fn simulator(dumps: Vec<PathBuf>, faults: &[(&str, Fault)]) -> Simulator {
    Simulator::start(SimOptions {
        dumps,
        password: PW.into(),
        base_octet: 121,
        faults: faults
            .iter()
            .map(|(n, f)| (n.to_string(), f.clone()))
            .collect(),
        ..SimOptions::default()
    })
    .expect("simulator starts")
}

fn demo_dumps() -> Vec<PathBuf> {
    let d = util::root().join("fixtures/demo/dumps");
    ["pool-east.xml", "pool-west.xml", "edge-01.state.db"]
        .iter()
        .map(|f| d.join(f))
        .collect()
}

/// An inventory giving each master's password by another route: `password_env` for the first,
/// a `password_file` for the second, nothing (so `XSA_PASSWORD`) for the third.
fn three_routes_inventory(dir: &TestDir, sim: &Simulator) -> PathBuf {
    dir.write("pw.txt", format!("{PW}\n"));
    let masters: Vec<_> = sim.hosts().iter().filter(|h| h.master).collect();
    assert_eq!(masters.len(), 3);
    let mut text = String::from("name,url,password_env,password_file\n");
    let routes = [("XSA_TEST_PW_ROUTE", ""), ("", "pw.txt"), ("", "")];
    for (h, (env, file)) in masters.iter().zip(routes) {
        text.push_str(&format!("{},http://{}/,{env},{file}\n", h.name, h.addr));
    }
    dir.write("inventory.csv", text)
}

/// A password the simulator refuses, given as `XSA_PASSWORD` where another route must win.
const WRONG_PW: &str = "not-the-password-7f3e";

/// Scan with the console on (no --quiet) and every format; the password must appear nowhere.
fn scan_not_quiet(dir: &TestDir, inventory: &Path, out: &str) -> util::Run {
    scan_not_quiet_with(dir, inventory, out, PW)
}

/// `scan_not_quiet` with `XSA_PASSWORD` set to `xsa_password`.
fn scan_not_quiet_with(
    dir: &TestDir,
    inventory: &Path,
    out: &str,
    xsa_password: &str,
) -> util::Run {
    let run = xsa_env(
        dir.path(),
        &[
            "scan",
            "-i",
            inventory.to_str().unwrap(),
            "-o",
            out,
            "--format",
            "all",
            "--timeout",
            "10",
        ],
        &[("XSA_TEST_PW_ROUTE", PW), ("XSA_PASSWORD", xsa_password)],
    );
    assert!(
        !run.stdout.contains(PW) && !run.stderr.contains(PW),
        "password on the console:\n{}\n{}",
        run.stdout,
        run.stderr
    );
    let reports = util::all_text_under(&dir.join(out));
    assert!(!reports.is_empty());
    assert!(!reports.contains(PW), "password in a report of {out}");
    run
}

// Broken on purpose: the per-entry log line carrying the failure's full request (the login call
// with its password) instead of the error: the console check failed.
#[test]
fn passwords_from_env_file_and_xsa_password_reach_no_console_line_and_no_report() {
    let dir = TestDir::new();
    let ok = simulator(demo_dumps(), &[]);
    let inv = three_routes_inventory(&dir, &ok);
    let run = scan_not_quiet(&dir, &inv, "ok");
    run.expect_code(exit::BLOCKED);
    // The console said something about every entry, so the search above searched real text.
    for h in ok.hosts().iter().filter(|h| h.master) {
        assert!(
            run.stderr.contains(&format!("{}: ok", h.name)),
            "{}",
            run.stderr
        );
    }
    let hosts = read_csv(&dir.join("ok/hosts.csv"));
    assert!(hosts.iter().all(|h| h["status"] == "ok"), "{hosts:?}");
    assert_eq!(ok.stats().logins.load(Relaxed), 3, "each route logged in");
    assert_eq!(ok.stats().open_sessions(), 0);

    // Each route is really taken, not a fallback to XSA_PASSWORD: with a wrong XSA_PASSWORD the
    // password_env and password_file entries still log in, and only the entry that names no
    // route fails (regression: password_routes_could_fall_back_unseen).
    let routed = simulator(demo_dumps(), &[]);
    let inv = three_routes_inventory(&dir, &routed);
    let run = scan_not_quiet_with(&dir, &inv, "routed", WRONG_PW);
    assert!(!run.stderr.contains(WRONG_PW), "{}", run.stderr);
    let masters: Vec<String> = routed
        .hosts()
        .iter()
        .filter(|h| h.master)
        .map(|h| h.name.clone())
        .collect();
    let status: BTreeMap<String, String> = read_csv(&dir.join("routed/hosts.csv"))
        .into_iter()
        .map(|h| (h["name"].clone(), h["status"].clone()))
        .collect();
    assert_eq!(
        [
            &status[&masters[0]],
            &status[&masters[1]],
            &status[&masters[2]]
        ],
        ["ok", "ok", "failed"],
        "env and file routes ok, the XSA_PASSWORD one refused: {status:?}"
    );
    assert_eq!(routed.stats().logins.load(Relaxed), 2);
    assert_eq!(routed.stats().failed_logins.load(Relaxed), 1);

    // The same routes to hosts that refuse the password, fail the call or answer garbage: every
    // error is printed, and none holds the password.
    let bad = simulator(
        demo_dumps(),
        &[
            ("pool-east-xs01", Fault::AuthFail),
            ("pool-west-xs01", Fault::Http500),
            ("edge-01-xs01", Fault::Malformed),
        ],
    );
    let inv = three_routes_inventory(&dir, &bad);
    let run = scan_not_quiet(&dir, &inv, "bad");
    run.expect_code(exit::ENTRY_FAILED);
    for want in ["SESSION_AUTHENTICATION_FAILED", "HTTP 500", "malformed"] {
        assert!(run.stderr.contains(want), "{want}: {}", run.stderr);
    }
    assert_eq!(bad.stats().open_sessions(), 0);
}

fn single_pool_sim(fault: Option<Fault>, base_octet: u8) -> Simulator {
    let edge = util::root().join("fixtures/demo/dumps/edge-01.state.db");
    Simulator::start(SimOptions {
        dumps: vec![edge],
        password: PW.into(),
        base_octet,
        faults: fault
            .map(|f| ("edge-01-xs01".to_string(), f))
            .into_iter()
            .collect(),
        ..SimOptions::default()
    })
    .unwrap()
}

fn live_scan(dir: &TestDir, sim: &Simulator, out: &str, extra: &[&str]) -> util::Run {
    let inv = dir.write(
        &format!("{out}.csv"),
        sim.inventory_csv("XSA_TEST_PW", false),
    );
    let mut args = vec!["scan", "-i", inv.to_str().unwrap(), "-o", out, "-q"];
    args.extend_from_slice(extra);
    xsa_env(dir.path(), &args, &[("XSA_TEST_PW", PW)])
}

// Broken on purpose: each call's timeout taken as `--timeout` alone, not bounded by the time left
// to the host deadline (the entry then finished: status ok).
#[test]
fn the_host_deadline_ends_an_entry_whose_every_call_is_within_the_timeout() {
    let dir = TestDir::new();
    // Every call answers after 1.2 s: each is well within --timeout 60, but login plus the fetch
    // cannot fit in a host deadline of 2 s.
    let slow = Fault::Slow(Duration::from_millis(1200));
    let sim = single_pool_sim(Some(slow.clone()), 122);
    live_scan(
        &dir,
        &sim,
        "cut",
        &["--timeout", "60", "--host-deadline", "2"],
    )
    .expect_code(exit::ENTRY_FAILED);
    let host = &read_csv(&dir.join("cut/hosts.csv"))[0];
    assert_eq!(host["status"], "failed", "{host:?}");
    let err = &host["error"];
    assert!(
        (err.contains("timed out after") || err.contains("host deadline")) && !err.contains("60s"),
        "the deadline, not the 60 s call timeout, ended it: {err}"
    );
    // Generous on purpose: what matters is that it did not wait for the 60 s call timeout.
    let took: u64 = host["duration_ms"].parse().unwrap();
    assert!((1_900..30_000).contains(&took), "duration_ms {took}");
    assert_eq!(
        sim.stats().open_sessions(),
        0,
        "logged out after the deadline"
    );

    // The same host with room in the deadline is audited: the deadline is what failed it above.
    let sim = single_pool_sim(Some(slow), 123);
    live_scan(
        &dir,
        &sim,
        "room",
        &["--timeout", "60", "--host-deadline", "120"],
    )
    .expect_code(exit::BLOCKED);
    assert_eq!(read_csv(&dir.join("room/hosts.csv"))[0]["status"], "ok");
}

fn login(conn: &mut xen_sr_audit::xapi::client::Connection) -> Result<(), String> {
    conn.call(
        "session.login_with_password",
        &[
            xmlrpc::Value::from("root"),
            xmlrpc::Value::from(PW),
            xmlrpc::Value::from("1.0"),
            xmlrpc::Value::from("xsa-test"),
        ],
    )
    .map(|_| ())
    .map_err(|e| e.to_string())
}

fn plain_http() -> xen_sr_audit::xapi::tls::TlsPolicy {
    xen_sr_audit::xapi::tls::TlsPolicy {
        mode: xen_sr_audit::xapi::tls::TlsMode::Verified,
        legacy: false,
    }
}

/// Log in to a host that refuses every connection (the simulator reserves the address and listens
/// on nothing), with `connect_retries` and a host deadline: the error and how long it took.
fn login_refused(
    base_octet: u8,
    connect_retries: u32,
    host_deadline: Duration,
) -> (String, Duration) {
    use xen_sr_audit::config::LiveOptions;
    use xen_sr_audit::xapi::client::Connection;
    use xen_sr_audit::xapi::HttpClients;
    let sim = single_pool_sim(Some(Fault::Refused), base_octet);
    let url = format!("http://{}/", sim.hosts()[0].addr);
    let opts = LiveOptions {
        connect_retries,
        host_deadline,
        ..LiveOptions::default()
    };
    let clients = HttpClients::new(&opts, &[]);
    let mut conn = Connection::new(&clients, &url, "refused", plain_http(), &opts).unwrap();
    let started = Instant::now();
    let err = login(&mut conn).unwrap_err();
    (err, started.elapsed())
}

// Broken on purpose: `connect_retries` ignored (no retry: the late host was never reached), and the
// backoff kept at 200 ms instead of doubling (the refused call gave up after 400 ms, not 600 ms).
#[test]
fn refused_connections_are_retried_with_doubling_backoff_and_answers_are_not() {
    use xen_sr_audit::config::LiveOptions;
    use xen_sr_audit::xapi::client::Connection;
    use xen_sr_audit::xapi::HttpClients;
    // A refused host: two retries wait 200 ms then 400 ms before giving up (a lower bound, never
    // flaky). A host deadline far above the 0.6 s expected, far below the default 300 s: a mutant
    // that retries until the deadline fails in seconds, not minutes.
    let (err, took) = login_refused(124, 2, Duration::from_secs(15));
    assert!(err.contains("cannot connect"), "{err}");
    assert!(
        took >= Duration::from_millis(600),
        "three attempts, 200 + 400 ms apart: {took:?}"
    );

    // A host that comes up while the client backs off is reached by a retry: the simulator counts
    // the one login that got through. The address 127.125.0.1 is this test's alone (no other test
    // or simulator binds on it), so the port probed here stays free until the simulator takes it.
    let addr = {
        let probe = std::net::TcpListener::bind("127.125.0.1:0").unwrap();
        probe.local_addr().unwrap()
    };
    let late_url = format!("http://{addr}/");
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let caller = std::thread::spawn(move || {
        let opts = LiveOptions {
            connect_retries: 8,
            ..LiveOptions::default()
        };
        let clients = HttpClients::new(&opts, &[]);
        let mut conn = Connection::new(&clients, &late_url, "late", plain_http(), &opts).unwrap();
        ready_tx.send(()).unwrap();
        login(&mut conn)
    });
    ready_rx.recv().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let late = Simulator::start(SimOptions {
        dumps: vec![util::root().join("fixtures/demo/dumps/edge-01.state.db")],
        password: PW.into(),
        base_octet: 125,
        port: addr.port(),
        ..SimOptions::default()
    })
    .unwrap();
    assert_eq!(late.hosts()[0].addr, addr);
    caller
        .join()
        .unwrap()
        .expect("a retry reached the late host");
    assert_eq!(late.stats().logins.load(Relaxed), 1);

    // An answer is never retried: an HTTP 500 is one call on the simulator.
    let failing = single_pool_sim(Some(Fault::Http500), 126);
    let url = format!("http://{}/", failing.hosts()[0].addr);
    let opts = LiveOptions {
        connect_retries: 2,
        host_deadline: Duration::from_secs(15),
        ..LiveOptions::default()
    };
    let clients = HttpClients::new(&opts, &[]);
    let mut conn = Connection::new(&clients, &url, "500", plain_http(), &opts).unwrap();
    assert!(login(&mut conn).unwrap_err().contains("HTTP 500"));
    assert_eq!(
        failing.stats().calls.load(Relaxed),
        1,
        "no retry of an answer"
    );
}

fn demo_scan_args(out: &str) -> Vec<String> {
    let demo = util::root().join("fixtures/demo");
    [
        "scan",
        "--inventory",
        demo.join("inventory.csv").to_str().unwrap(),
        "--out",
        out,
        "--nova-servers",
        demo.join("nova/servers.json").to_str().unwrap(),
        "--nova-bdms",
        demo.join("nova/bdms.tsv").to_str().unwrap(),
        "-q",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

// Broken on purpose: the baseline keyed by `finding_id` instead of pool/instance/userdevice (every
// schema-1 problem then looked new).
#[test]
fn a_schema_1_report_serves_as_baseline_and_for_diff() {
    let dir = TestDir::new();
    // The demo's report.json as version 0.1.0 wrote it with schema 1 (see fixtures/baselines).
    let old = util::root().join("fixtures/baselines/schema-1-demo-report.json");
    let v1 = read_json(&old);
    assert_eq!(v1["schema_version"], 1);
    let first_id = v1["findings"][0]["finding_id"].as_str().unwrap();
    assert_eq!(
        first_id.split('/').count(),
        4,
        "schema 1 ids hold the SR uuid"
    );

    let mut args = demo_scan_args("out");
    args.extend(["--baseline".into(), old.display().to_string()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    xsa(dir.path(), &args).expect_code(exit::BLOCKED);
    let report = read_json(&dir.join("out/report.json"));
    assert_eq!(report["baseline"]["started_at"], v1["run"]["started_at"]);
    let findings = read_csv(&dir.join("out/findings.csv"));
    let problems: Vec<_> = findings.iter().filter(|f| f["verdict"] != "ok").collect();
    assert!(!problems.is_empty());
    // The same fleet then and now: nothing new, nothing resolved. A problem is unchanged when its
    // verdict is the schema-1 one, reclassified when Nova's rules have since changed it (same SR).
    let was: std::collections::HashMap<String, String> = v1["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let field = |k: &str| f[k].as_str().unwrap().to_string();
            let attachment = [
                field("pool_uuid"),
                field("instance_uuid"),
                field("userdevice"),
            ]
            .join("/");
            (attachment, f["verdict"].as_str().unwrap().to_string())
        })
        .collect();
    let mut reclassified = 0;
    for f in &problems {
        let then = &was[&f["finding_id"]];
        let want = if *then == f["verdict"] {
            "unchanged"
        } else {
            reclassified += 1;
            "reclassified"
        };
        assert_eq!(f["baseline"], want, "{} was {then}", f["finding_id"]);
    }
    assert!(findings
        .iter()
        .filter(|f| f["verdict"] == "ok")
        .all(|f| f["baseline"].is_empty()));
    assert_eq!(report["resolved"].as_array().unwrap().len(), 0);

    let diff = xsa(
        dir.path(),
        &["diff", old.to_str().unwrap(), "out/report.json", "--json"],
    );
    diff.expect_code(exit::CLEAN);
    let d: serde_json::Value = serde_json::from_str(&diff.stdout).unwrap();
    assert_eq!(
        d["new_findings"].as_array().unwrap().len(),
        0,
        "{}",
        diff.stdout
    );
    assert_eq!(
        d["resolved"].as_array().unwrap().len(),
        0,
        "{}",
        diff.stdout
    );
    assert_eq!(
        d["unchanged"],
        problems.len() - reclassified,
        "{}",
        diff.stdout
    );
    assert_eq!(d["findings_reclassified"], reclassified, "{}", diff.stdout);
}

const BOM: &[u8] = b"\xEF\xBB\xBF";
const CSV_FILES: &[&str] = &[
    "findings.csv",
    "instances.csv",
    "hosts.csv",
    "orphans.csv",
    "conflicts.csv",
    "coverage.csv",
];

// Broken on purpose: the BOM written by the findings writer only (instances.csv had none).
#[test]
fn csv_bom_starts_every_csv_and_only_with_the_flag() {
    let dir = TestDir::new();
    for (out, flag) in [("plain", None), ("bom", Some("--csv-bom"))] {
        let mut args = demo_scan_args(out);
        args.extend(flag.map(String::from));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        xsa(dir.path(), &args).expect_code(exit::BLOCKED);
    }
    for name in CSV_FILES {
        let plain = std::fs::read(dir.join("plain").join(name)).unwrap();
        let bom = std::fs::read(dir.join("bom").join(name)).unwrap();
        assert!(
            !plain.starts_with(BOM),
            "{name} has a BOM without --csv-bom"
        );
        assert!(bom.starts_with(BOM), "{name} lacks the BOM");
        assert!(!bom[3..].starts_with(BOM), "{name}: one BOM only");
        // The rest is the same table (hosts.csv differs only in its durations).
        let table = |bytes: &[u8]| -> Vec<Vec<String>> {
            csv::Reader::from_reader(bytes)
                .records()
                .map(|r| r.unwrap().iter().map(str::to_string).collect())
                .collect()
        };
        let header = |bytes: &[u8]| csv::Reader::from_reader(bytes).headers().unwrap().clone();
        assert_eq!(header(&plain), header(&bom[3..]), "{name}");
        if *name != "hosts.csv" {
            assert_eq!(table(&plain), table(&bom[3..]), "{name}");
        }
    }
}

/// A scripted XAPI on 127.0.0.1 for answers the simulator does not give (a login failure other
/// than SESSION_AUTHENTICATION_FAILED or HOST_IS_SLAVE, an error page of some kilobytes): the n-th
/// request (from 0, over every connection) gets `answer(n)`, a whole HTTP response. Returns the
/// address and the number of connections accepted so far.
fn scripted_xapi(
    answer: fn(usize) -> String,
) -> (
    std::net::SocketAddr,
    std::sync::Arc<std::sync::atomic::AtomicUsize>,
) {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    use std::sync::Arc;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let connections = Arc::new(AtomicUsize::new(0));
    let requests = Arc::new(AtomicUsize::new(0));
    let accepted = Arc::clone(&connections);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            accepted.fetch_add(1, SeqCst);
            let requests = Arc::clone(&requests);
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut out = stream;
                loop {
                    // One request: its head, then Content-Length bytes.
                    let mut length = 0usize;
                    loop {
                        let mut line = String::new();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        if line.trim().is_empty() {
                            break;
                        }
                        let lower = line.to_ascii_lowercase();
                        if let Some(v) = lower.strip_prefix("content-length:") {
                            length = v.trim().parse().unwrap_or(0);
                        }
                    }
                    let mut body = vec![0; length];
                    if reader.read_exact(&mut body).is_err() {
                        return;
                    }
                    let n = requests.fetch_add(1, SeqCst);
                    if out.write_all(answer(n).as_bytes()).is_err() {
                        return;
                    }
                }
            });
        }
    });
    (addr, connections)
}

/// An HTTP 200 answer carrying `xml`.
fn http_200(xml: &str) -> String {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\r\n{xml}",
        xml.len()
    )
}

// Broken on purpose: every XAPI failure of the login taken for HOST_IS_SLAVE (the booting host's
// error became "HOST_IS_SLAVE with an unusable master address \"\""), and
// SESSION_AUTHENTICATION_FAILED not recognised (the error was XAPI's bare failure, without the
// user and where the password came from).
#[test]
fn a_login_failure_is_reported_as_itself_never_as_a_redirect() {
    let dir = TestDir::new();
    let (booting, _) = scripted_xapi(|_| {
        http_200(&xen_sr_audit::xapi::wire::failure_envelope(&[
            "HOST_STILL_BOOTING",
        ]))
    });
    let inv = dir.write(
        "booting.csv",
        format!(
            "name,url,username,password_env\nbooting-xs01,http://{booting}/,root,XSA_TEST_PW\n"
        ),
    );
    let args = [
        "scan",
        "-i",
        inv.to_str().unwrap(),
        "-o",
        "booting",
        "-q",
        "--timeout",
        "10",
    ];
    xsa_env(dir.path(), &args, &[("XSA_TEST_PW", PW)]).expect_code(3);
    let hosts = read_csv(&dir.join("booting/hosts.csv"));
    assert_eq!(hosts[0]["status"], "failed");
    assert!(
        hosts[0]["error"].contains("session.login_with_password failed: HOST_STILL_BOOTING"),
        "{}",
        hosts[0]["error"]
    );

    let refusing = single_pool_sim(Some(Fault::AuthFail), 127);
    live_scan(&dir, &refusing, "refused", &["--timeout", "10"]).expect_code(3);
    let hosts = read_csv(&dir.join("refused/hosts.csv"));
    assert!(
        hosts[0]["error"].contains(
            "login refused for user \"root\" (SESSION_AUTHENTICATION_FAILED); the password came from env var XSA_TEST_PW"
        ),
        "{}",
        hosts[0]["error"]
    );
    assert_eq!(refusing.stats().open_sessions(), 0);
}

// Broken on purpose: the error page drained up to 64 + 1024 bytes, or 64 / 1024 = 0 (the
// connection was then dropped and the next call opened a second one).
#[test]
fn an_error_page_is_read_to_its_end_and_the_connection_kept() {
    use std::sync::atomic::Ordering::SeqCst;
    use xen_sr_audit::config::LiveOptions;
    use xen_sr_audit::xapi::client::Connection;
    use xen_sr_audit::xapi::HttpClients;
    // XAPI's error pages are HTML; this one is 8 KiB, more than one read of the drain.
    let (addr, connections) = scripted_xapi(|n| {
        match n {
        0 => {
            let page = format!("<html><body>{}</body></html>", "x".repeat(8 * 1024));
            format!(
                "HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\r\n{page}",
                page.len()
            )
        }
        _ => http_200(
            "<?xml version=\"1.0\"?><methodResponse><params><param><value><struct><member><name>Status</name><value>Success</value></member><member><name>Value</name><value>OpaqueRef:s</value></member></struct></value></param></params></methodResponse>",
        ),
    }
    });
    let opts = LiveOptions::default();
    let clients = HttpClients::new(&opts, &[]);
    let url = format!("http://{addr}/");
    let mut conn = Connection::new(&clients, &url, "scripted", plain_http(), &opts).unwrap();
    assert!(login(&mut conn).unwrap_err().contains("HTTP 500"));
    login(&mut conn).expect("the second answer is a session");
    assert_eq!(connections.load(SeqCst), 1, "one connection for both calls");
}

// Broken on purpose: the retry guard made always true (retries went on, doubling, until the host
// deadline: 51 s here instead of 0.6 s).
#[test]
fn refused_connections_stop_after_connect_retries() {
    let (err, took) = login_refused(128, 2, Duration::from_secs(60));
    assert!(err.contains("cannot connect"), "{err}");
    // Two retries wait 0.6 s in all; the bound is generous for a loaded machine, and far below
    // what retrying up to the deadline takes.
    assert!(took < Duration::from_secs(20), "{took:?}");
}

/// `connect_retries` is the number of retries, no more, no fewer, with the backoff doubling from
/// 200 ms: four retries on a refused host wait 200 + 400 + 800 + 1600 = 3000 ms. The sleeps make
/// the lower bound exact; a fifth retry would add 3200 ms, so the upper bound (6.2 s) leaves 3.2 s
/// for five refused connects on a loaded machine, and retrying until the host deadline (15 s) or
/// sleeping a fixed 200 ms (about 12 s to that deadline) is far past it.
// Broken on purpose (each with cargo-mutants): `attempt < connect_retries` as `<=` (a fifth retry:
// 6.2 s), `==` and `>` (no retry), the backoff `200 << attempt` as `>>` (375 ms in all), `r > backoff`
// as `==` or `<` (no retry), `attempt += 1` as `*=` (retried until the deadline).
#[test]
fn refused_connections_are_retried_exactly_connect_retries_times() {
    let (err, took) = login_refused(129, 4, Duration::from_secs(15));
    assert!(err.contains("cannot connect"), "{err}");
    assert!(
        took >= Duration::from_millis(3000),
        "{took:?}: fewer retries or shorter waits"
    );
    assert!(
        took < Duration::from_millis(6200),
        "{took:?}: more retries than connect_retries"
    );
}
