//! What the tool says to people, as a new user meets it (issue 18, "smaller things"): error lines
//! that name an entry once and say what to do, config-file values located by file and line,
//! warnings for options that change nothing, progress that counts what it says it counts, one man
//! page, `inspect-dump` wording, a closed stdout as a normal end, and one `--concurrency` rule. Each
//! test runs the real binary as a process (live ones against the simulator on loopback) and is
//! named after the regression it guards.

use crate::util;
use xen_sr_audit::policy::exit;

use crate::util::{read_csv, xsa, xsa_env, TestDir};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use xen_sr_audit::sim::xapi::{Fault, SimOptions, Simulator};

const PW: &str = "s3cret-messages-pw";
const PW_ENV: &str = "XSA_TEST_MESSAGES_PASSWORD";

fn demo() -> PathBuf {
    util::root().join("fixtures/demo")
}

fn west_dump() -> PathBuf {
    demo().join("dumps/pool-west.xml")
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A simulator of the west pool (master and member) with `faults`, on its own addresses.
fn sim_west(base_octet: u8, faults: &[(&str, Fault)]) -> Simulator {
    Simulator::start(SimOptions {
        dumps: vec![west_dump()],
        password: PW.into(),
        base_octet,
        faults: faults
            .iter()
            .map(|(n, f)| (n.to_string(), f.clone()))
            .collect(),
        ..SimOptions::default()
    })
    .expect("simulator starts")
}

#[test]
fn regression_a_failed_entry_is_named_once_and_an_auth_failure_says_where_the_password_came_from() {
    let s = sim_west(121, &[("pool-west-xs01", Fault::AuthFail)]);
    let dir = TestDir::new();
    let by_env = dir.write("env.csv", s.inventory_csv(PW_ENV, false));
    let run = xsa_env(
        dir.path(),
        &["scan", "-i", path(&by_env), "-o", "env"],
        &[(PW_ENV, PW)],
    );
    run.expect_code(exit::ENTRY_FAILED);
    assert!(
        !run.stderr
            .contains("pool-west-xs01: failed: pool-west-xs01:"),
        "the entry is named once: {}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("pool-west-xs01: failed: login refused for user \"root\""),
        "{}",
        run.stderr
    );
    let hosts = read_csv(&dir.join("env/hosts.csv"));
    assert!(
        hosts[0]["error"].contains(&format!("the password came from env var {PW_ENV}")),
        "{}",
        hosts[0]["error"]
    );
    // The reports name it once too: hosts.csv has it in its own column, summary.md in front.
    assert!(
        hosts[0]["error"].starts_with("login refused"),
        "{}",
        hosts[0]["error"]
    );
    let summary = std::fs::read_to_string(dir.join("env/summary.md")).unwrap();
    assert!(
        summary.contains("pool-west-xs01: login refused")
            && !summary.contains("pool-west-xs01: pool-west-xs01"),
        "{summary}"
    );
    // The same from a password file: the file is named, its content never.
    dir.write("pw.txt", format!("{PW}\n"));
    let by_file = dir.write(
        "file.csv",
        s.inventory_csv(PW_ENV, false)
            .replace("password_env", "password_file")
            .replace(PW_ENV, "pw.txt"),
    );
    let run = xsa(dir.path(), &["scan", "-i", path(&by_file), "-o", "file"]);
    run.expect_code(exit::ENTRY_FAILED);
    let error = &read_csv(&dir.join("file/hosts.csv"))[0]["error"];
    assert!(
        error.contains("the password came from file ") && error.contains("pw.txt"),
        "{error}"
    );
    // And capture names the entry once too.
    let run = xsa_env(
        dir.path(),
        &["capture", "-i", path(&by_env), "-o", "cap"],
        &[(PW_ENV, PW)],
    );
    assert!(
        run.stderr
            .contains("capture: pool-west-xs01: failed: login refused"),
        "{}",
        run.stderr
    );
    for text in [
        &run.stderr,
        &run.stdout,
        &util::all_text_under(&dir.join("env")),
        &util::all_text_under(&dir.join("file")),
    ] {
        assert!(!text.contains(PW), "no password anywhere");
    }
}

#[test]
fn regression_a_missing_password_file_says_so_naming_the_file_and_the_inventory_line() {
    let dir = TestDir::new();
    let inv = dir.write(
        "inv.csv",
        "name,url,password_file\n# a comment\nxs01,http://127.0.0.1:9/,nope.txt\n",
    );
    let run = xsa(dir.path(), &["scan", "-i", path(&inv), "-o", "out"]);
    run.expect_code(exit::USAGE);
    assert_eq!(run.stderr.trim().lines().count(), 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("inv.csv:3:")
            && run.stderr.contains("password file")
            && run.stderr.contains("nope.txt does not exist"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("entity not found"), "{}", run.stderr);
    assert!(!dir.join("out").exists(), "nothing written");
}

#[test]
fn regression_an_untrusted_certificate_is_one_line_pointing_at_trust_and_ca_file() {
    let dir = TestDir::new();
    let (cert, key) = util::self_signed_pem(2048, false, &["127.122.0.1"]);
    let s = Simulator::start(SimOptions {
        dumps: vec![west_dump()],
        password: PW.into(),
        base_octet: 122,
        tls: Some((cert, key)),
        ..SimOptions::default()
    })
    .unwrap();
    let inv = dir.write("inv.csv", s.inventory_csv(PW_ENV, false));
    let run = xsa_env(
        dir.path(),
        &["scan", "-i", path(&inv), "-o", "out"],
        &[(PW_ENV, PW)],
    );
    run.expect_code(exit::ENTRY_FAILED);
    let error = &read_csv(&dir.join("out/hosts.csv"))[0]["error"];
    assert!(
        error.contains("certificate is not trusted (self-signed certificate)")
            && error.contains("xen-sr-audit trust")
            && error.contains("--ca-file"),
        "{error}"
    );
    assert!(
        !error.contains("ssl/statem") && !error.contains("error:0A"),
        "no raw OpenSSL string: {error}"
    );
    assert!(!error.contains('\n'));
}

#[test]
fn regression_config_file_value_errors_name_the_file_and_line() {
    let dir = TestDir::new();
    let inv = demo().join("inventory.csv");
    for (value, want) in [
        (
            "concurrency = \"four\"",
            "concurrency: invalid value 'four'",
        ),
        (
            "concurrency = 0",
            "--concurrency must be between 1 and 1024",
        ),
        ("format = \"xml\"", "format: unknown format \"xml\""),
        ("format = [\"csv\", \"xml\"]", "unknown format \"xml\""),
        ("fail-on = \"sometimes\"", "[possible values: blocked"),
        ("timeout = -2", "--timeout must be a positive number"),
        (
            "nova_target_port = 70000",
            "--nova-target-port must be a port",
        ),
    ] {
        let job = dir.write(
            "job.toml",
            format!("inventory = {:?}\nout = \"out\"\n\n{value}\n", path(&inv)),
        );
        let run = xsa(dir.path(), &["scan", "--config", path(&job)]);
        run.expect_code(exit::USAGE);
        assert_eq!(
            run.stderr.trim().lines().count(),
            1,
            "{value}: {}",
            run.stderr
        );
        assert!(
            run.stderr
                .starts_with(&format!("xen-sr-audit: error: {}:4: ", job.display())),
            "{value}: {}",
            run.stderr
        );
        assert!(run.stderr.contains(want), "{value}: {}", run.stderr);
        assert!(!dir.join("out").exists(), "{value}: nothing written");
    }
}

#[test]
fn regression_nova_target_options_without_bdms_and_an_empty_server_list_are_warned_about() {
    let dir = TestDir::new();
    let inv = demo().join("inventory.csv");
    let warning = "only changes the Nova check, which needs --nova-bdms";
    let run = xsa(
        dir.path(),
        &[
            "scan",
            "-i",
            path(&inv),
            "-o",
            "port",
            "--nova-target-port",
            "3261",
        ],
    );
    run.expect_code(exit::BLOCKED);
    assert!(
        run.stderr
            .contains(&format!("warning: --nova-target-port {warning}")),
        "{}",
        run.stderr
    );
    // With the BDMs the option is used: no warning.
    let run = xsa(
        dir.path(),
        &[
            "scan",
            "-i",
            path(&inv),
            "-o",
            "used",
            "--nova-target-port",
            "3261",
            "--nova-bdms",
            path(&demo().join("nova/bdms.tsv")),
        ],
    );
    assert!(!run.stderr.contains("needs --nova-bdms"), "{}", run.stderr);
    // A server list exported without --all-projects (here: empty).
    let empty = dir.write("servers.json", "[]");
    let run = xsa(
        dir.path(),
        &[
            "scan",
            "-i",
            path(&inv),
            "-o",
            "empty",
            "--nova-servers",
            path(&empty),
        ],
    );
    let line = run
        .stderr
        .lines()
        .find(|l| l.starts_with("warning: ") && l.contains("lists no instance"))
        .unwrap_or_else(|| panic!("a warning: {}", run.stderr));
    assert!(
        line.contains("servers.json") && line.contains("--all-projects"),
        "{line}"
    );
}

#[test]
fn regression_progress_names_a_row_of_a_pool_already_read_as_hosts_csv_does() {
    let dir = TestDir::new();
    let dump = west_dump();
    let inv = dir.write(
        "inv.csv",
        format!(
            "name,dump\nfirst,{}\nsecond,{}\n",
            dump.display(),
            dump.display()
        ),
    );
    // One at a time, so the rows finish in inventory order.
    let run = xsa(
        dir.path(),
        &["scan", "-i", path(&inv), "-o", "out", "-j", "1"],
    );
    run.expect_code(exit::BLOCKED);
    let line_of = |name: &str| {
        run.stderr
            .lines()
            .find(|l| l.contains(&format!("] {name}: ")))
            .unwrap_or_else(|| panic!("{name}: {}", run.stderr))
            .to_string()
    };
    assert!(line_of("first").contains("ok: read pool \"pool-west\""));
    let second = line_of("second");
    assert!(second.contains("ok: same pool as first"), "{second}");
    assert!(!second.contains("read pool"), "{second}");
    let hosts = read_csv(&dir.join("out/hosts.csv"));
    assert_eq!(hosts[1]["status"], "same-pool-as:first");
}

/// The long options of every subcommand, from the command line's own definition.
fn every_subcommand_option() -> Vec<(String, String)> {
    use clap::CommandFactory;
    let cmd = xen_sr_audit::cli::Cli::command();
    let mut out = Vec::new();
    for sub in cmd.get_subcommands() {
        for arg in sub.get_arguments() {
            if let Some(long) = arg.get_long() {
                out.push((sub.get_name().to_string(), long.to_string()));
            }
        }
    }
    out
}

#[test]
fn regression_the_man_page_documents_every_subcommands_options_and_inventory_help_every_column() {
    let dir = TestDir::new();
    let run = xsa(dir.path(), &["man"]);
    run.expect_code(exit::CLEAN);
    let page = run.stdout.replace("\\-", "-");
    assert!(
        !page.contains("xen-sr-audit-scan(1)") && !page.contains("-inspect-dump("),
        "no pointer to a page that cannot be generated"
    );
    let options = every_subcommand_option();
    assert!(options.len() > 30, "{options:?}");
    for (sub, long) in options {
        let part = page
            .split(&format!(".SS \"xen-sr-audit {sub}\""))
            .nth(1)
            .unwrap_or_else(|| panic!("no part for {sub}"));
        let part = part.split(".SS ").next().unwrap();
        assert!(part.contains(&format!("--{long}")), "{sub} --{long}");
    }
    for sub in ["scan", "capture", "trust"] {
        let help = xsa(dir.path(), &[sub, "--help"]).stdout;
        let start = help.find("-i, --inventory <FILE>").unwrap();
        let end = start + help[start..].find("--out <").unwrap();
        let inventory_help = &help[start..end];
        for column in xen_sr_audit::inventory::COLUMNS {
            assert!(inventory_help.contains(column), "{sub}: {column}");
        }
    }
}

#[test]
fn regression_inspect_dump_says_a_csv_is_not_a_dump_and_writes_counts_and_sizes_for_people() {
    let dir = TestDir::new();
    let run = xsa(
        dir.path(),
        &[
            "inspect-dump",
            path(&demo().join("inventory.csv")),
            path(&demo().join("dumps/edge-01.state.db")),
        ],
    );
    run.expect_code(exit::ENTRY_FAILED);
    assert!(
        run.stderr.contains("inventory.csv: not a XAPI dump") && !run.stderr.contains("truncated"),
        "{}",
        run.stderr
    );
    let line = run.stdout.lines().next().unwrap();
    assert!(line.contains(", 1 host, "), "{line}");
    assert!(line.contains(" KiB read in "), "{line}");
    assert!(!line.contains(" MB "), "{line}");
}

/// Run `xen-sr-audit args` with a stdout whose reader is gone before anything is written.
fn run_into_closed_pipe(cwd: &Path, args: &[&str]) -> (i32, String) {
    let mut child = util::xsa_command()
        .current_dir(cwd)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let o = child.wait_with_output().unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn regression_a_closed_stdout_is_a_normal_end() {
    let dir = TestDir::new();
    let edge = demo().join("dumps/edge-01.state.db");
    let inv = dir.write("inv.csv", format!("name,dump\nedge,{}\n", edge.display()));
    xsa(
        dir.path(),
        &[
            "scan",
            "-i",
            path(&inv),
            "-o",
            "r",
            "-q",
            "--format",
            "json",
        ],
    )
    .expect_code(exit::BLOCKED);
    let report = dir.join("r/report.json");
    let commands: Vec<Vec<&str>> = vec![
        vec!["diff", path(&report), path(&report)],
        vec!["diff", "--json", path(&report), path(&report)],
        vec!["inspect-dump", path(&edge), path(&edge)],
        vec!["man"],
        vec!["completions", "bash"],
        vec!["scan", "--help"],
        vec!["trust", "-i", path(&inv), "-o", "pinned.csv"],
    ];
    for args in commands {
        let (code, stderr) = run_into_closed_pipe(dir.path(), &args);
        assert_eq!(code, 0, "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
    assert!(
        dir.join("pinned.csv").exists(),
        "trust still writes its inventory"
    );
}

#[test]
fn regression_trust_and_scan_share_one_concurrency_rule() {
    let dir = TestDir::new();
    let inv = demo().join("inventory.csv");
    for n in ["0", "1025"] {
        let want = format!("--concurrency must be between 1 and 1024, got {n}");
        let trust = xsa(
            dir.path(),
            &["trust", "-i", path(&inv), "-o", "pinned.csv", "-j", n],
        );
        trust.expect_code(exit::USAGE);
        assert!(trust.stderr.contains(&want), "{}", trust.stderr);
        let scan = xsa(
            dir.path(),
            &["scan", "-i", path(&inv), "-o", "out", "-j", n],
        );
        scan.expect_code(exit::USAGE);
        assert!(scan.stderr.contains(&want), "{}", scan.stderr);
    }
    assert!(!dir.join("pinned.csv").exists() && !dir.join("out").exists());
}

/// Run `xen-sr-audit args` with a stderr whose reader is gone before anything is written
/// (`... 2>&1 | head -3` once head has exited); returns the exit code and stdout.
fn run_with_closed_stderr(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> (i32, String) {
    let mut child = util::xsa_command()
        .current_dir(cwd)
        .args(args)
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stderr.take());
    let o = child.wait_with_output().unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
    )
}

#[test]
fn regression_a_closed_stderr_never_costs_the_reports() {
    let s = sim_west(123, &[]);
    let dir = TestDir::new();
    let live = dir.write("live.csv", s.inventory_csv(PW_ENV, false));
    let offline = demo().join("inventory.csv");
    // scan: progress lines, console lines and "wrote" lines all go to the closed stderr.
    let (code, _) = run_with_closed_stderr(
        dir.path(),
        &["scan", "-i", path(&offline), "-o", "scan"],
        &[],
    );
    assert_eq!(code, 2, "the demo's own exit code, not a panic (101)");
    let report = util::read_json(&dir.join("scan/report.json"));
    assert_eq!(report["run"]["complete"], true, "{report}");
    assert!(!read_csv(&dir.join("scan/findings.csv")).is_empty());
    // capture: its console lines too.
    let (code, _) = run_with_closed_stderr(
        dir.path(),
        &["capture", "-i", path(&live), "-o", "cap"],
        &[(PW_ENV, PW)],
    );
    assert_eq!(code, 0, "capture into a closed stderr");
    assert!(!read_csv(&dir.join("cap/inventory.csv")).is_empty());
    // trust: its "wrote" line is the last thing it says.
    let (code, stdout) = run_with_closed_stderr(
        dir.path(),
        &["trust", "-i", path(&offline), "-o", "pinned.csv"],
        &[],
    );
    assert_eq!(code, 0, "trust into a closed stderr: {stdout}");
    assert!(dir.join("pinned.csv").exists());
}

#[test]
fn regression_a_closed_stdout_keeps_diff_and_inspect_dump_exit_codes() {
    let dir = TestDir::new();
    let inv = demo().join("inventory.csv");
    xsa(dir.path(), &["scan", "-i", path(&inv), "-o", "now", "-q"]).expect_code(exit::BLOCKED);
    // The same run without its blocked findings: each of them is a new problem for diff.
    let mut old = util::read_json(&dir.join("now/report.json"));
    old["findings"]
        .as_array_mut()
        .unwrap()
        .retain(|f| f["verdict"] != "blocked");
    let old = dir.write("old.json", serde_json::to_vec_pretty(&old).unwrap());
    let now = dir.join("now/report.json");
    xsa(dir.path(), &["diff", path(&old), path(&now)]).expect_code(exit::WARNINGS);
    let (code, stderr) = run_into_closed_pipe(dir.path(), &["diff", path(&old), path(&now)]);
    assert_eq!(code, 1, "diff's own exit code: {stderr}");
    let edge = demo().join("dumps/edge-01.state.db");
    let (code, stderr) =
        run_into_closed_pipe(dir.path(), &["inspect-dump", path(&edge), path(&inv)]);
    assert_eq!(code, 3, "the CSV is no dump, even unread by head: {stderr}");
}

/// Offline rows finish in any order: a second row of a pool that finishes first used to print
/// `ok: read pool` while hosts.csv counts the pool under the first row (`same-pool-as:first`).
/// The first row here is the same dump padded to take far longer to read.
#[test]
fn regression_progress_agrees_with_hosts_csv_when_a_later_row_of_a_pool_finishes_first() {
    let dir = TestDir::new();
    let dump = std::fs::read_to_string(west_dump()).unwrap();
    let end = dump.rfind("</").unwrap();
    let padded = format!("{}{}{}", &dump[..end], " ".repeat(20_000_000), &dump[end..]);
    let slow = dir.write("slow.xml", padded);
    let inv = dir.write(
        "inv.csv",
        format!(
            "name,dump\nfirst,{}\nsecond,{}\n",
            slow.display(),
            west_dump().display()
        ),
    );
    let run = xsa(
        dir.path(),
        &["scan", "-i", path(&inv), "-o", "out", "-j", "2"],
    );
    run.expect_code(exit::BLOCKED);
    let lines: Vec<&str> = run.stderr.lines().filter(|l| l.starts_with('[')).collect();
    assert_eq!(lines.len(), 2, "{}", run.stderr);
    assert!(
        lines[0].starts_with("[1/2] first: ok: read pool \"pool-west\""),
        "{}",
        run.stderr
    );
    assert!(
        lines[1].starts_with("[2/2] second: ok: same pool as first"),
        "{}",
        run.stderr
    );
    let hosts = read_csv(&dir.join("out/hosts.csv"));
    assert_eq!(hosts[0]["status"], "ok");
    assert_eq!(hosts[1]["status"], "same-pool-as:first");
}

/// Every option clap now parses into its type (enums, seconds, checked numbers) still refuses a bad
/// value with exit 64, naming the flag, before anything is scanned or written; the tool's own
/// messages stay its one line.
#[test]
fn typed_options_refuse_bad_values_with_exit_64_and_name_the_flag() {
    let dir = TestDir::new();
    let inv = demo().join("inventory.csv");
    for (flag, value, want) in [
        ("--fetch", "everything", "[possible values: auto, records]"),
        (
            "--fail-on",
            "sometimes",
            "[possible values: blocked, review, never]",
        ),
        (
            "--nova-db-ssl-mode",
            "on",
            "[possible values: verify-identity",
        ),
        (
            "--timeout",
            "0",
            "--timeout must be a positive number of seconds, got 0",
        ),
        (
            "--host-deadline",
            "inf",
            "--host-deadline must be a positive number",
        ),
        (
            "--nova-db-connect-timeout",
            "1e9",
            "--nova-db-connect-timeout must be a positive number",
        ),
        (
            "--max-response-mb",
            "0",
            "--max-response-mb must be at least 1",
        ),
        (
            "--concurrency",
            "0",
            "--concurrency must be between 1 and 1024, got 0",
        ),
        (
            "--nova-target-port",
            "70000",
            "--nova-target-port must be a port",
        ),
        ("--format", "xml", "--format: unknown format \"xml\""),
    ] {
        let run = xsa(
            dir.path(),
            &["scan", "-i", path(&inv), "-o", "out", flag, value],
        );
        run.expect_code(exit::USAGE);
        assert!(run.stderr.contains(want), "{flag} {value}: {}", run.stderr);
        assert!(!dir.join("out").exists(), "{flag} {value}: nothing written");
        if want.starts_with("--") {
            assert!(
                run.stderr.starts_with("xen-sr-audit: error: --"),
                "{}",
                run.stderr
            );
            assert_eq!(run.stderr.trim().lines().count(), 1, "{}", run.stderr);
        }
    }
}

/// `max_response_mb = 0` in a config file was refused only after the file had become arguments, so
/// the message named neither the file nor its line, unlike every other bad value there.
#[test]
fn regression_config_file_max_response_mb_names_the_file_and_line() {
    let dir = TestDir::new();
    let inv = demo().join("inventory.csv");
    let job = dir.write(
        "job.toml",
        format!(
            "inventory = {:?}\nout = \"out\"\nmax_response_mb = 0\n",
            path(&inv)
        ),
    );
    let run = xsa(dir.path(), &["scan", "--config", path(&job)]);
    run.expect_code(exit::USAGE);
    assert_eq!(
        run.stderr.trim(),
        format!(
            "xen-sr-audit: error: {}:3: max_response_mb: --max-response-mb must be at least 1",
            job.display()
        )
    );
    assert!(!dir.join("out").exists());
}
