//! Writing reports into folders people share: clean-up removes only what an earlier run of this
//! tool wrote and nobody changed since (foreign `report.json`, `summary.md`, `junit.xml`,
//! `metrics.prom` survive byte for byte and are named in one warning line), and a write that fails
//! after the up-front check (a rename refused, a folder made read-only) leaves no partial report and
//! no temporary file, and exits 74.

use crate::util;
use xen_sr_audit::policy::exit;

use crate::util::{xsa, TestDir};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn scan(dir: &TestDir, out: &str, extra: &[&str]) -> util::Run {
    let inv = util::root().join("fixtures/demo/inventory.csv");
    let mut args = vec!["scan", "-i", inv.to_str().unwrap(), "-o", out];
    args.extend_from_slice(extra);
    xsa(dir.path(), &args)
}

/// Every file in `dir` (names starting with a dot included) with its bytes.
fn folder(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            (name, std::fs::read(&p).unwrap())
        })
        .collect()
}

const FOREIGN: &[(&str, &str)] = &[
    ("report.json", "{\"someone\": \"else\"}\n"),
    ("summary.md", "# the team's own summary\n"),
    (
        "junit.xml",
        "<testsuites><testsuite name=\"build\"/></testsuites>\n",
    ),
    ("metrics.prom", "node_textfile_other 1\n"),
];

#[test]
fn regression_foreign_report_named_files_survive_byte_for_byte() {
    let dir = TestDir::new();
    for (name, text) in FOREIGN {
        dir.write(&format!("out/{name}"), text);
    }
    let run = scan(&dir, "out", &["--format", "csv"]);
    run.expect_code(exit::BLOCKED);
    for (name, text) in FOREIGN {
        let got = std::fs::read_to_string(dir.join("out").join(name)).unwrap();
        assert_eq!(&got, text, "{name} must survive as it was");
    }
    let warnings: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("warning: left alone"))
        .collect();
    assert_eq!(warnings.len(), 1, "{}", run.stderr);
    for (name, _) in FOREIGN {
        assert!(warnings[0].contains(name), "{name}: {}", warnings[0]);
    }
    assert!(!run.stderr.contains("removed "), "{}", run.stderr);
}

#[test]
fn an_earlier_runs_unchanged_reports_are_removed_and_edited_ones_kept() {
    let dir = TestDir::new();
    scan(&dir, "out", &["-q", "--format", "all"]).expect_code(exit::BLOCKED);
    let manifest = util::read_json(&dir.join("out/xen-sr-audit.manifest.json"));
    let listed: Vec<&String> = manifest["files"].as_object().unwrap().keys().collect();
    assert!(listed.iter().any(|n| *n == "junit.xml"), "{manifest}");
    // Someone edits the HTML page; the rest is as the tool wrote it.
    dir.write("out/report.html", "<p>edited</p>");
    let run = scan(&dir, "out", &["--format", "csv"]);
    run.expect_code(exit::BLOCKED);
    for gone in [
        "report.json",
        "summary.md",
        "junit.xml",
        "metrics.prom",
        "report.xlsx",
    ] {
        assert!(
            !dir.join("out").join(gone).exists(),
            "{gone}: {}",
            run.stderr
        );
    }
    let kept = std::fs::read_to_string(dir.join("out/report.html")).unwrap();
    assert_eq!(kept, "<p>edited</p>");
    assert!(run.stderr.contains("warning: left alone"), "{}", run.stderr);
    // The new manifest lists this run's files only.
    let manifest = util::read_json(&dir.join("out/xen-sr-audit.manifest.json"));
    let listed: Vec<&String> = manifest["files"].as_object().unwrap().keys().collect();
    assert!(listed.iter().all(|n| n.ends_with(".csv")), "{manifest}");
}

/// A rename that fails at the commit (a folder sits where report.json goes) puts back every file
/// already renamed: the earlier run's reports stay as they were, no temporary file is left, exit 74.
#[test]
fn regression_a_failed_rename_leaves_the_earlier_reports_and_no_temporary_file() {
    let dir = TestDir::new();
    scan(&dir, "out", &["-q"]).expect_code(exit::BLOCKED);
    std::fs::remove_file(dir.join("out/report.json")).unwrap();
    dir.write("out/report.json/blocker", "a folder where the report goes");
    let before = folder(&dir.join("out"));
    // This run's hosts.csv and report.json differ from the earlier run's (times): a mix would show.
    let run = scan(&dir, "out", &["-q"]);
    run.expect_code(exit::IO);
    assert!(run.stderr.contains("report.json"), "{}", run.stderr);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    let after = folder(&dir.join("out"));
    assert_eq!(
        before.keys().collect::<Vec<_>>(),
        after.keys().collect::<Vec<_>>(),
        "no temporary file left"
    );
    assert!(before == after, "the earlier run's files are unchanged");
}

fn can_write_in(dir: &Path) -> bool {
    std::fs::write(dir.join(".probe"), "x").is_ok()
        && std::fs::remove_file(dir.join(".probe")).is_ok()
}

/// Make `dir` read-only: by its mode, and where the mode does not bind (root) with the immutable
/// attribute (`chattr +i`). False when neither takes hold here.
fn make_read_only(dir: &Path, read_only: bool) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let chattr = |flag: &str| {
        std::process::Command::new("chattr")
            .arg(flag)
            .arg(dir)
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !read_only {
        chattr("-i");
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        return true;
    }
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o555)).unwrap();
    if !can_write_in(dir) {
        return true;
    }
    chattr("+i") && !can_write_in(dir)
}

/// A folder made read-only after the up-front check: the staging fails, exit 74, nothing written.
#[test]
fn regression_a_folder_made_read_only_after_the_check_leaves_nothing() {
    // Under target/ (the repository's file system, where `chattr +i` works for root), not the
    // system's temporary folder, which may be a tmpfs.
    let dir = TestDir {
        dir: tempfile::Builder::new()
            .prefix("xsa-test-ro-")
            .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
            .expect("temp dir"),
    };
    let out: PathBuf = dir.join("out");
    std::fs::create_dir_all(&out).unwrap();
    if !make_read_only(&out, true) {
        make_read_only(&out, false);
        util::skip_or_fail(
            "regression_a_folder_made_read_only_after_the_check_leaves_nothing",
            "this machine cannot make a folder read-only for this user (neither the mode nor chattr +i binds)",
        );
        return;
    }
    make_read_only(&out, false);
    // The check passes on a writable folder; it turns read-only while the scan runs (a slow
    // scan: one entry waits on a simulator whose every call takes a while).
    let s = xen_sr_audit::sim::xapi::Simulator::start(xen_sr_audit::sim::xapi::SimOptions {
        dumps: vec![util::root().join("fixtures/demo/dumps/pool-east.xml")],
        password: "pw".into(),
        latency: std::time::Duration::from_millis(500),
        ..Default::default()
    })
    .unwrap();
    let inv = dir.write("inv.csv", s.inventory_csv("XSA_TEST_RO_PW", false));
    let child = util::xsa_command()
        .current_dir(dir.path())
        .args(["scan", "-i", inv.to_str().unwrap(), "-o", "out", "-q"])
        .env("XSA_TEST_RO_PW", "pw")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    while s.stats().logins.load(std::sync::atomic::Ordering::SeqCst) == 0 {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(make_read_only(&out, true));
    let output = child.wait_with_output().unwrap();
    make_read_only(&out, false);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(i32::from(exit::IO)), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("cannot write report"), "{stderr}");
    assert!(folder(&out).is_empty(), "{:?}", folder(&out).keys());
    assert_eq!(s.stats().open_sessions(), 0);
}
