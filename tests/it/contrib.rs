//! What `contrib/` ships is checked against the tool itself: every metric and label the Grafana
//! dashboard and the Prometheus alert rules name is one a real run writes into metrics.prom (both
//! files parsed, their PromQL scanned for selectors, matchers and grouping labels); the rules file is
//! valid (`promtool check rules` where promtool is installed, a structural check always); the
//! systemd units pass `systemd-analyze verify` where systemd is present and are hardened as
//! documented; the job file they run is one `scan --config` accepts.

use crate::util;
use xen_sr_audit::policy::exit;

use crate::util::{xsa, TestDir};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

/// metric name -> the label names it carries, from a real run's metrics.prom (the demo fleet with
/// Nova's server list, so the coverage metric is there too).
fn metrics_the_tool_writes() -> BTreeMap<String, BTreeSet<String>> {
    let dir = TestDir::new();
    let demo = util::root().join("fixtures/demo");
    let inv = demo.join("inventory.csv");
    let servers = demo.join("nova/servers.json");
    xsa(
        dir.path(),
        &[
            "scan",
            "-i",
            inv.to_str().unwrap(),
            "-o",
            "out",
            "-q",
            "--format",
            "prom",
            "--nova-servers",
            servers.to_str().unwrap(),
        ],
    );
    let text = std::fs::read_to_string(dir.join("out/metrics.prom")).unwrap();
    let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).unwrap();
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for s in scrape.samples {
        let labels = out.entry(s.metric.clone()).or_default();
        labels.extend(s.labels.keys().cloned());
    }
    assert!(out.len() >= 10, "{out:?}");
    out
}

/// PromQL words that are not metric names.
const PROMQL_WORDS: &[&str] = &[
    "sum",
    "max",
    "min",
    "avg",
    "count",
    "by",
    "without",
    "and",
    "or",
    "unless",
    "on",
    "ignoring",
    "offset",
    "bool",
    "time",
    "max_over_time",
    "min_over_time",
    "increase",
    "delta",
    "deriv",
    "absent",
    "label_values",
    "vector",
    "scalar",
    "clamp_min",
];

/// What one PromQL expression names: metric selectors with their matcher labels, and the labels
/// of `by (...)` / `without (...)` clauses.
#[derive(Debug, Default, PartialEq)]
struct Named {
    metrics: Vec<(String, Vec<String>)>,
    grouping: Vec<String>,
    /// Words that are neither a known PromQL word nor a metric of ours (a typo shows up here).
    unknown: Vec<String>,
}

fn scan_promql(expr: &str) -> Named {
    let mut named = Named::default();
    let chars: Vec<char> = expr.chars().collect();
    let mut i = 0;
    let mut last_word = String::new();
    while i < chars.len() {
        let c = chars[i];
        if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                i += 1 + usize::from(chars[i] == '\\');
            }
            i += 1;
        } else if c == '[' {
            // A range or subquery duration: `[3w]`, `[$__interval]`.
            while i < chars.len() && chars[i] != ']' {
                i += 1;
            }
            i += 1;
        } else if c == '{' {
            let end = i + chars[i..].iter().position(|&c| c == '}').expect("closed {");
            let inside: String = chars[i + 1..end].iter().collect();
            let labels = matcher_labels(&inside);
            if let Some(m) = named.metrics.last_mut().filter(|m| m.0 == last_word) {
                m.1.extend(labels);
            }
            i = end + 1;
        } else if c.is_ascii_digit() {
            // A number or a duration: `8`, `86400`, `3w`, `1.5`.
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                i += 1;
            }
            last_word.clear();
        } else if c.is_ascii_alphabetic() || c == '_' || c == ':' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_ascii_alphanumeric() || matches!(chars[i], '_' | ':'))
            {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let prev_is_grouping = matches!(last_word.as_str(), "by" | "without");
            if word.starts_with("xen_sr_audit_") {
                named.metrics.push((word.clone(), Vec::new()));
            } else if !PROMQL_WORDS.contains(&word.as_str()) && !prev_is_grouping {
                named.unknown.push(word.clone());
            }
            last_word = word;
        } else if c == '(' && matches!(last_word.as_str(), "by" | "without") {
            let end = i + chars[i..].iter().position(|&c| c == ')').expect("closed (");
            let inside: String = chars[i + 1..end].iter().collect();
            named.grouping.extend(
                inside
                    .split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty()),
            );
            i = end + 1;
            last_word.clear();
        } else {
            if !c.is_whitespace() {
                last_word.clear();
            }
            i += 1;
        }
    }
    named
}

/// The label names of `a="x", b=~"y"`.
fn matcher_labels(inside: &str) -> Vec<String> {
    let mut labels = Vec::new();
    let mut rest = inside;
    while let Some(op) = rest.find(['=', '!']) {
        labels.push(rest[..op].trim().trim_start_matches(',').trim().to_string());
        let after = &rest[op..];
        let open = after.find('"').expect("a quoted value");
        let close = open + 1 + after[open + 1..].find('"').expect("a closed value");
        rest = &after[close + 1..];
    }
    labels
}

#[test]
fn promql_scanner_reads_selectors_matchers_and_grouping() {
    let n = scan_promql(
        r#"sum by (pool) (xen_sr_audit_instances{verdict="blocked", pool=~"$pool"}) >= sum(xen_sr_audit_x offset 3w) and typo_metric[5m]"#,
    );
    assert_eq!(
        n.metrics,
        [
            (
                "xen_sr_audit_instances".to_string(),
                vec!["verdict".to_string(), "pool".to_string()]
            ),
            ("xen_sr_audit_x".to_string(), vec![]),
        ]
    );
    assert_eq!(n.grouping, ["pool"]);
    assert_eq!(n.unknown, ["typo_metric"]);
}

/// Check every expression against what the tool writes; returns how many selectors were checked.
fn check_exprs(what: &str, exprs: &[String], tool: &BTreeMap<String, BTreeSet<String>>) -> usize {
    let mut checked = 0;
    for e in exprs {
        let n = scan_promql(e);
        assert!(
            n.unknown.is_empty(),
            "{what}: {e}: unknown names {:?}",
            n.unknown
        );
        assert!(
            !n.metrics.is_empty(),
            "{what}: {e}: names no metric of the tool"
        );
        let mut labels_here = BTreeSet::new();
        for (metric, labels) in &n.metrics {
            let have = tool
                .get(metric)
                .unwrap_or_else(|| panic!("{what}: {e}: the tool writes no metric {metric}"));
            for l in labels {
                assert!(
                    have.contains(l),
                    "{what}: {e}: {metric} has no label {l} (it has {have:?})"
                );
            }
            labels_here.extend(have.iter().cloned());
            checked += 1;
        }
        for l in &n.grouping {
            assert!(
                labels_here.contains(l),
                "{what}: {e}: grouping by {l}, which none of its metrics has"
            );
        }
    }
    checked
}

fn contrib(p: &str) -> std::path::PathBuf {
    util::root().join("contrib").join(p)
}

#[test]
fn dashboard_names_only_metrics_and_labels_the_tool_writes() {
    let tool = metrics_the_tool_writes();
    let dash: serde_json::Value = serde_json::from_slice(
        &std::fs::read(contrib("grafana/xen-sr-audit.dashboard.json")).unwrap(),
    )
    .unwrap();
    let mut exprs = Vec::new();
    let mut titles = BTreeSet::new();
    for panel in dash["panels"].as_array().unwrap() {
        titles.insert(panel["title"].as_str().unwrap().to_string());
        for t in panel["targets"].as_array().unwrap() {
            exprs.push(t["expr"].as_str().unwrap().to_string());
            // `{{pool}}` in a legend names a label too.
            let legend = t["legendFormat"].as_str().unwrap_or("");
            for part in legend.split("{{").skip(1) {
                let label = part.split("}}").next().unwrap().trim();
                assert!(
                    tool.values().any(|l| l.contains(label)),
                    "legend {legend}: no label {label}"
                );
            }
        }
    }
    for v in dash["templating"]["list"].as_array().unwrap() {
        // `label_values(metric, label)`
        let def = v["definition"].as_str().unwrap();
        let args = def
            .strip_prefix("label_values(")
            .unwrap()
            .trim_end_matches(')');
        let (metric, label) = args.split_once(',').unwrap();
        assert!(tool[metric.trim()].contains(label.trim()), "variable {def}");
    }
    let checked = check_exprs("dashboard", &exprs, &tool);
    assert!(checked >= 12, "{checked}");
    // What the issue asks the dashboard to show.
    for want in [
        "Blocked instances by pool",
        "Instances to review by pool",
        "Coverage against Nova",
        "Failed entries",
        "Waivers",
        "Time since the last run",
    ] {
        assert!(titles.contains(want), "no panel {want:?} in {titles:?}");
    }
}

#[derive(serde::Deserialize)]
struct RuleFile {
    groups: Vec<RuleGroup>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleGroup {
    name: String,
    rules: Vec<Rule>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Rule {
    alert: String,
    expr: String,
    #[serde(default)]
    r#for: Option<String>,
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
}

#[test]
fn alert_rules_are_valid_and_name_only_what_the_tool_writes() {
    let path = contrib("prometheus/xen-sr-audit.rules.yml");
    let file: RuleFile = serde_yaml::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let tool = metrics_the_tool_writes();
    let mut alerts = BTreeSet::new();
    for g in &file.groups {
        assert!(!g.name.is_empty() && !g.rules.is_empty());
        for r in &g.rules {
            assert!(alerts.insert(r.alert.clone()), "{} twice", r.alert);
            assert!(
                r.alert.chars().all(|c| c.is_ascii_alphanumeric()),
                "{}",
                r.alert
            );
            if let Some(f) = &r.r#for {
                assert!(humantime::parse_duration(f).is_ok(), "{}: for {f}", r.alert);
            }
            assert!(["info", "warning", "critical"].contains(&r.labels["severity"].as_str()));
            assert!(
                r.annotations.contains_key("summary") && r.annotations.contains_key("description")
            );
            assert_eq!(
                r.expr.matches('(').count(),
                r.expr.matches(')').count(),
                "{}",
                r.alert
            );
            check_exprs(&r.alert, std::slice::from_ref(&r.expr), &tool);
            for text in r.annotations.values() {
                for part in text.split("$labels.").skip(1) {
                    let label: String = part
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    assert!(
                        tool.values().any(|l| l.contains(&label)),
                        "{}: $labels.{label}",
                        r.alert
                    );
                }
            }
        }
    }
    // What the issue asks the rules to catch.
    for want in [
        "XenSrAuditBlockedNotFalling",
        "XenSrAuditRunStale",
        "XenSrAuditIncomplete",
        "XenSrAuditWaiversExpired",
    ] {
        assert!(alerts.contains(want), "no alert {want}");
    }
    match Command::new("promtool").arg("check").arg("rules").arg(&path).output() {
        Ok(o) => assert!(o.status.success(), "promtool: {}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr)),
        Err(_) => util::skip_or_fail("promtool check rules", "promtool is not installed (apt-get install prometheus): the structural check above stands alone"),
    }
}

/// `key=value` lines of a unit file by section; repeated keys keep every value.
fn unit_file(path: &Path) -> BTreeMap<(String, String), Vec<String>> {
    let mut out: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    let mut section = String::new();
    for line in std::fs::read_to_string(path).unwrap().lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(s) = line.strip_prefix('[') {
            section = s.trim_end_matches(']').to_string();
            continue;
        }
        let (k, v) = line
            .split_once('=')
            .unwrap_or_else(|| panic!("{}: {line}", path.display()));
        out.entry((section.clone(), k.to_string()))
            .or_default()
            .push(v.to_string());
    }
    out
}

#[test]
fn systemd_units_are_hardened_and_run_a_job_the_tool_accepts() {
    let service = unit_file(&contrib("systemd/xen-sr-audit.service"));
    let get = |k: &str| {
        service
            .get(&("Service".to_string(), k.to_string()))
            .cloned()
            .unwrap_or_default()
    };
    for (k, want) in [
        ("DynamicUser", "yes"),
        ("ProtectSystem", "strict"),
        ("NoNewPrivileges", "yes"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("CapabilityBoundingSet", ""),
        (
            "LoadCredential",
            "xapi-password:/etc/xen-sr-audit/xapi-password",
        ),
        (
            "ExecStart",
            "/usr/local/bin/xen-sr-audit scan --config /etc/xen-sr-audit/job.toml --quiet",
        ),
    ] {
        assert_eq!(get(k), [want], "{k}");
    }
    // Writable: the job's output and history folders, nothing else.
    let job: toml::Table =
        toml::from_str(&std::fs::read_to_string(contrib("systemd/job.toml")).unwrap()).unwrap();
    let rw: BTreeSet<String> = get("ReadWritePaths")
        .iter()
        .flat_map(|v| v.split_whitespace())
        .map(String::from)
        .collect();
    let wanted: BTreeSet<String> = ["out", "history"]
        .iter()
        .map(|k| job[*k].as_str().unwrap().to_string())
        .collect();
    assert_eq!(rw, wanted);
    // The example inventory reads the credential systemd hands over.
    let fleet = std::fs::read_to_string(contrib("systemd/fleet.csv.example")).unwrap();
    assert!(fleet.contains("/run/credentials/xen-sr-audit.service/xapi-password"));

    // job.toml is one `scan --config` accepts (every key known), here against the demo dumps
    // with the command line's --out and --history winning over the file's.
    let dir = TestDir::new();
    std::fs::copy(contrib("systemd/job.toml"), dir.join("job.toml")).unwrap();
    let demo = util::root().join("fixtures/demo");
    let inv = std::fs::read_to_string(demo.join("inventory.csv"))
        .unwrap()
        .replace("dumps/", &format!("{}/dumps/", demo.display()));
    dir.write("fleet.csv", inv);
    xsa(
        dir.path(),
        &[
            "scan",
            "--config",
            "job.toml",
            "--out",
            "out",
            "--history",
            "hist",
            "-q",
        ],
    )
    .expect_code(exit::BLOCKED);
    assert!(dir.join("out/metrics.prom").is_file());
    assert_eq!(std::fs::read_dir(dir.join("hist")).unwrap().count(), 1);

    // systemd's own check, with ExecStart pointing at the binary under test.
    let Ok(version) = Command::new("systemd-analyze").arg("--version").output() else {
        util::skip_or_fail(
            "systemd-analyze verify",
            "systemd-analyze is not installed (apt-get install systemd)",
        );
        return;
    };
    assert!(version.status.success());
    let units = TestDir::new();
    let text = std::fs::read_to_string(contrib("systemd/xen-sr-audit.service"))
        .unwrap()
        .replace(
            "/usr/local/bin/xen-sr-audit",
            env!("CARGO_BIN_EXE_xen-sr-audit"),
        );
    let service = units.write("xen-sr-audit.service", text);
    let timer = units.join("xen-sr-audit.timer");
    std::fs::copy(contrib("systemd/xen-sr-audit.timer"), &timer).unwrap();
    let o = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&service)
        .arg(&timer)
        .output()
        .unwrap();
    assert!(
        o.status.success() && o.stderr.is_empty(),
        "systemd-analyze verify: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn cron_line_runs_the_same_job() {
    let text = std::fs::read_to_string(contrib("cron/xen-sr-audit")).unwrap();
    let is_setting = |l: &str| {
        l.split_once('=')
            .is_some_and(|(k, _)| k.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
    };
    let jobs: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty() && !is_setting(l))
        .collect();
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    let fields: Vec<&str> = jobs[0].split_whitespace().collect();
    // minute hour day month weekday user command...
    assert_eq!(fields[..6], ["0", "6", "*", "*", "1", "xen-sr-audit"]);
    assert_eq!(
        fields[6..10],
        [
            "xen-sr-audit",
            "scan",
            "--config",
            "/etc/xen-sr-audit/job.toml"
        ]
    );
}

/// `scripts/release` builds the tarball README's "Install" describes: every file in it, a SHA-256
/// file that matches, a binary that runs from it, and the glibc README names is the one it needs.
#[test]
#[ignore = "builds a release binary (minutes): run scripts/test"]
fn release_tarball_holds_what_install_describes() {
    let root = util::root();
    let o = Command::new(root.join("scripts/release")).output().unwrap();
    assert!(
        o.status.success(),
        "scripts/release: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let version = env!("CARGO_PKG_VERSION");
    let name = format!("xen-sr-audit-{version}-x86_64-linux");
    let dist = root.join("target/dist");
    let sums = std::fs::read_to_string(dist.join(format!("{name}.tar.gz.sha256"))).unwrap();
    let (sum, file) = sums.trim().split_once("  ").unwrap();
    assert_eq!(file, format!("{name}.tar.gz"));
    use sha2::Digest;
    let bytes = std::fs::read(dist.join(file)).unwrap();
    let got: String = sha2::Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(got, sum);
    let dir = TestDir::new();
    let t = Command::new("tar")
        .arg("-xzf")
        .arg(dist.join(file))
        .arg("-C")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(t.status.success());
    let top = dir.join(&name);
    for f in [
        "bin/xen-sr-audit",
        "share/man/man1/xen-sr-audit.1",
        "share/bash-completion/completions/xen-sr-audit",
        "share/zsh/site-functions/_xen-sr-audit",
        "share/fish/vendor_completions.d/xen-sr-audit.fish",
        "contrib/systemd/xen-sr-audit.service",
        "contrib/systemd/xen-sr-audit.timer",
        "contrib/cron/xen-sr-audit",
        "contrib/grafana/xen-sr-audit.dashboard.json",
        "contrib/prometheus/xen-sr-audit.rules.yml",
        "README.md",
        "LICENSE",
        "GLIBC",
    ] {
        assert!(top.join(f).is_file(), "{f} missing from the tarball");
    }
    assert_eq!(
        std::fs::read(top.join("LICENSE")).unwrap(),
        std::fs::read(root.join("LICENSE")).unwrap()
    );
    let v = Command::new(top.join("bin/xen-sr-audit"))
        .arg("--version")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&v.stdout).trim(),
        format!("xen-sr-audit {version}")
    );
    let glibc = std::fs::read_to_string(top.join("GLIBC")).unwrap();
    let glibc = glibc.trim().trim_start_matches("GLIBC_");
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    assert!(
        readme.contains(&format!("it needs glibc {glibc} or\nlater"))
            || readme.contains(&format!("it needs glibc {glibc} or later")),
        "README's Install section must name glibc {glibc}"
    );
}
