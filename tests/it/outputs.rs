//! The outputs for the jobs people run, read back with real readers and compared with findings.csv
//! and report.json: report.xlsx (calamine, and the sheet XML for panes, filters and formulas),
//! junit.xml (roxmltree), metrics.prom (a Prometheus text parser); on the demo fleet and on a fleet
//! with hostile names. Also `--config`, `--csv-bom`, shell completions and the man page.

use crate::util;
use xen_sr_audit::policy::exit;

use crate::util::{read_csv, read_json, xsa, TestDir};
use calamine::{Data, Reader, Xlsx};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

fn demo_all(dir: &TestDir, out: &str) -> PathBuf {
    let demo = util::root().join("fixtures/demo");
    let run = xsa(
        dir.path(),
        &[
            "scan",
            "-i",
            demo.join("inventory.csv").to_str().unwrap(),
            "-o",
            out,
            "-q",
            "--format",
            "all",
            "--nova-servers",
            demo.join("nova/servers.json").to_str().unwrap(),
            "--nova-bdms",
            demo.join("nova/bdms.tsv").to_str().unwrap(),
        ],
    );
    run.expect_code(exit::BLOCKED);
    dir.join(out)
}

/// A sheet as rows of cells.
fn sheet(path: &Path, name: &str) -> Vec<Vec<Data>> {
    let mut wb: Xlsx<_> = calamine::open_workbook(path).unwrap();
    let range = wb.worksheet_range(name).unwrap();
    range.rows().map(|r| r.to_vec()).collect()
}

fn cell_text(d: &Data) -> String {
    match d {
        Data::String(s) => s.clone(),
        Data::Float(f) if f.fract() == 0.0 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Int(i) => i.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::Empty => String::new(),
        other => other.to_string(),
    }
}

/// A CSV cell as it was before OWASP neutralisation.
fn raw(cell: &str) -> String {
    match cell.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['=', '+', '-', '@', '\t', '\r']) => rest.to_string(),
        _ => cell.to_string(),
    }
}

/// The XML of one file inside the workbook.
fn xlsx_part(path: &Path, part: &str) -> String {
    let mut zip = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut s = String::new();
    zip.by_name(part).unwrap().read_to_string(&mut s).unwrap();
    s
}

fn assert_sheet_equals_csv(xlsx: &Path, name: &str, csv: &Path, numeric: &[&str]) {
    let rows = sheet(xlsx, name);
    let mut reader = csv::Reader::from_path(csv).unwrap();
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect();
    let got_header: Vec<String> = rows[0].iter().map(cell_text).collect();
    assert_eq!(got_header, header, "{name}: header");
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len() - 1, records.len(), "{name}: rows");
    for (row, rec) in rows[1..].iter().zip(&records) {
        for ((cell, want), col) in row.iter().zip(rec.iter()).zip(&header) {
            if numeric.contains(&col.as_str()) {
                assert!(
                    matches!(cell, Data::Float(_) | Data::Int(_)),
                    "{name}.{col} is a number: {cell:?}"
                );
            } else {
                assert!(
                    matches!(cell, Data::String(_) | Data::Empty),
                    "{name}.{col} is text: {cell:?}"
                );
            }
            assert_eq!(cell_text(cell), raw(want), "{name}.{col}");
        }
    }
}

#[test]
fn workbook_has_every_table_as_its_csv_with_numbers_filters_and_frozen_headers() {
    let dir = TestDir::new();
    let out = demo_all(&dir, "out");
    let xlsx = out.join("report.xlsx");
    let wb: Xlsx<_> = calamine::open_workbook(&xlsx).unwrap();
    assert_eq!(
        wb.sheet_names(),
        [
            "Summary",
            "Pools",
            "Instances",
            "Findings",
            "Hosts",
            "Orphans",
            "Conflicts",
            "Coverage"
        ]
    );
    assert_sheet_equals_csv(&xlsx, "Findings", &out.join("findings.csv"), &[]);
    assert_sheet_equals_csv(
        &xlsx,
        "Instances",
        &out.join("instances.csv"),
        &["volumes", "legacy", "new", "other", "conflicts"],
    );
    assert_sheet_equals_csv(
        &xlsx,
        "Hosts",
        &out.join("hosts.csv"),
        &[
            "duration_ms",
            "hosts",
            "vms",
            "instances",
            "attachments",
            "blocked",
            "review",
            "legacy_srs",
            "orphans",
            "conflicts",
        ],
    );
    assert_sheet_equals_csv(&xlsx, "Orphans", &out.join("orphans.csv"), &["vdis"]);
    assert_sheet_equals_csv(
        &xlsx,
        "Conflicts",
        &out.join("conflicts.csv"),
        &["attachments"],
    );
    assert_sheet_equals_csv(&xlsx, "Coverage", &out.join("coverage.csv"), &[]);
    // Summary: the verdict line and the counts of report.json.
    let json = read_json(&out.join("report.json"));
    let summary = sheet(&xlsx, "Summary");
    assert!(cell_text(&summary[0][0]).contains("cannot be live-migrated"));
    // Labels for people in a fixed order, the numbers as numbers, each with its report.json key.
    let rows: Vec<(String, f64, String)> = summary
        .iter()
        .filter_map(|r| match (r.first(), r.get(1), r.get(2)) {
            (Some(Data::String(label)), Some(Data::Float(v)), Some(Data::String(k))) => {
                Some((label.clone(), *v, k.clone()))
            }
            _ => None,
        })
        .collect();
    let labels: Vec<&str> = rows.iter().take(6).map(|r| r.0.as_str()).collect();
    assert_eq!(
        labels,
        [
            "Inventory entries",
            "Inventory entries that could not be audited",
            "Pools audited",
            "Hosts",
            "VMs",
            "Nova instances"
        ]
    );
    let counts: BTreeMap<String, f64> = rows.iter().map(|r| (r.2.clone(), r.1)).collect();
    for (key, v) in json["summary"].as_object().unwrap() {
        if let Some(n) = counts.get(key) {
            assert_eq!(*n, v.as_f64().unwrap(), "{key}");
        }
    }
    assert_eq!(
        [
            "instances_blocked",
            "instances_review",
            "instances_waived",
            "instances_ok"
        ]
        .iter()
        .map(|k| counts[*k])
        .sum::<f64>(),
        counts["instances"]
    );
    // Pools: one row per pool of report.json, counts as numbers.
    let pools = sheet(&xlsx, "Pools");
    assert_eq!(pools.len() - 1, json["pools"].as_array().unwrap().len());
    for (row, p) in pools.iter().skip(1).zip(json["pools"].as_array().unwrap()) {
        assert_eq!(cell_text(&row[0]), p["pool_uuid"].as_str().unwrap());
        assert_eq!(row[6], Data::Float(p["blocked"].as_f64().unwrap()));
    }
    assert_eq!(
        counts["instances_blocked"],
        json["summary"]["instances_blocked"].as_f64().unwrap()
    );
    assert_eq!(
        counts["attachments"],
        json["summary"]["attachments"].as_f64().unwrap()
    );
    // Table sheets: header frozen, autofilter, verdict cells styled; no formula anywhere.
    for i in 2..=8 {
        let xml = xlsx_part(&xlsx, &format!("xl/worksheets/sheet{i}.xml"));
        assert!(xml.contains("state=\"frozen\""), "sheet{i} frozen");
        assert!(xml.contains("<autoFilter"), "sheet{i} filtered");
        assert!(
            !xml.contains("<f>") && !xml.contains("<f "),
            "no formula in sheet{i}"
        );
    }
    let styles = xlsx_part(&xlsx, "xl/styles.xml");
    assert!(styles.contains("FFFDE7E6"), "the blocked colour is defined");
}

#[test]
fn junit_has_a_suite_per_pool_and_a_case_per_instance() {
    let dir = TestDir::new();
    let out = demo_all(&dir, "out");
    let xml = std::fs::read_to_string(out.join("junit.xml")).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let json = read_json(&out.join("report.json"));
    let pool_suites: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testsuite"))
        .filter(|n| n.attribute("name").is_some_and(|s| s.starts_with("pool ")))
        .collect();
    assert_eq!(pool_suites.len(), json["pools"].as_array().unwrap().len());
    let cases: usize = pool_suites
        .iter()
        .map(|s| s.children().filter(|n| n.has_tag_name("testcase")).count())
        .sum();
    assert_eq!(cases, json["instances"].as_array().unwrap().len());
    let failures = |kind: &str| -> Vec<roxmltree::Node> {
        doc.descendants()
            .filter(|n| n.has_tag_name("failure") && n.attribute("type") == Some(kind))
            .collect()
    };
    let s = &json["summary"];
    assert_eq!(
        failures("blocked").len() as u64,
        s["instances_blocked"].as_u64().unwrap()
    );
    assert!(failures("blocked").iter().all(|f| f
        .attribute("message")
        .is_some_and(|m| m.contains("Cannot be live-migrated"))));
    // What makes the run exit 1 fails in JUnit too: review instances, orphans, conflicts.
    assert_eq!(
        failures("review").len() as u64,
        s["instances_review"].as_u64().unwrap()
    );
    assert_eq!(
        failures("orphan").len() as u64,
        s["orphans"].as_u64().unwrap()
    );
    assert_eq!(
        failures("conflict").len() as u64,
        s["conflicts"].as_u64().unwrap()
    );
}

#[test]
fn prometheus_metrics_parse_and_match_the_report() {
    let dir = TestDir::new();
    let out = demo_all(&dir, "out");
    let text = std::fs::read_to_string(out.join("metrics.prom")).unwrap();
    let lines = text.lines().map(|l| Ok(l.to_string()));
    let scrape = prometheus_parse::Scrape::parse(lines).unwrap();
    let json = read_json(&out.join("report.json"));
    let value = |name: &str, labels: &[(&str, &str)]| -> f64 {
        scrape
            .samples
            .iter()
            .filter(|s| s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
            .map(|s| match s.value {
                prometheus_parse::Value::Gauge(v) | prometheus_parse::Value::Untyped(v) => v,
                _ => f64::NAN,
            })
            .sum()
    };
    for p in json["pools"].as_array().unwrap() {
        let pool = p["pool_name"].as_str().unwrap();
        assert_eq!(
            value(
                "xen_sr_audit_instances",
                &[("pool", pool), ("verdict", "blocked")]
            ),
            p["blocked"].as_f64().unwrap()
        );
        assert_eq!(
            value(
                "xen_sr_audit_attachments",
                &[("pool", pool), ("naming", "legacy")]
            ),
            p["legacy"].as_f64().unwrap()
        );
    }
    assert_eq!(value("xen_sr_audit_exit_code", &[]), 2.0);
    assert_eq!(
        value(
            "xen_sr_audit_coverage_instances",
            &[("coverage", "not-audited")]
        ),
        3.0
    );
    assert!(value("xen_sr_audit_last_run_timestamp_seconds", &[]) > 1.7e9);
    for name in [
        "xen_sr_audit_instances",
        "xen_sr_audit_run_duration_seconds",
        "xen_sr_audit_entries",
    ] {
        assert!(
            text.contains(&format!("# HELP {name} "))
                && text.contains(&format!("# TYPE {name} gauge")),
            "{name}"
        );
    }
    assert!(text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .all(|l| l.starts_with("xen_sr_audit_")));
}

/// A one-pool dump whose names are hostile: formulas, quotes, backslashes, newlines, control chars.
fn hostile_fleet(dir: &TestDir) -> PathBuf {
    let inv = dir.gen_fleet(
        "h",
        &[
            "--pools",
            "1",
            "--hosts",
            "1",
            "--instances",
            "3",
            "--volumes",
            "1",
            "--legacy-percent",
            "100",
            "--seed",
            "2",
        ],
    );
    let dump = dir.join("h/dumps/pool-00000.xml");
    let text = std::fs::read_to_string(&dump).unwrap();
    let hostile = "=HYPERLINK(&quot;http://x&quot;)\\ &quot;q&quot;%n\u{1}bell\u{7f}";
    let text = text.replacen(
        "name_label=\"pool-00000\"",
        &format!("name_label=\"{hostile}\""),
        1,
    );
    let vm_table = text.find("<table name=\"VM\"").unwrap();
    let (head, tail) = text.split_at(vm_table);
    let text = format!(
        "{head}{}",
        tail.replacen(
            "name__label=\"instance-",
            "name__label=\"=cmd|' /C calc'!A0 instance-",
            1
        )
    );
    std::fs::write(&dump, text).unwrap();
    inv
}

#[test]
fn hostile_names_stay_text_in_xlsx_valid_in_junit_and_escaped_in_prom() {
    let dir = TestDir::new();
    let inv = hostile_fleet(&dir);
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
            "all",
        ],
    )
    .expect_code(exit::BLOCKED);
    let out = dir.join("out");
    let pool = read_json(&out.join("report.json"))["pools"][0]["pool_name"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        pool.starts_with("=HYPERLINK") && pool.contains('\n') && pool.contains('\u{1}'),
        "{pool:?}"
    );
    // XLSX: a formula-like name is a string, never a formula.
    let rows = sheet(&out.join("report.xlsx"), "Findings");
    let col = rows[0]
        .iter()
        .position(|c| cell_text(c) == "instance_name")
        .unwrap();
    assert!(rows[1..]
        .iter()
        .any(|r| matches!(&r[col], Data::String(s) if s.starts_with("=cmd|"))));
    let xml = xlsx_part(&out.join("report.xlsx"), "xl/worksheets/sheet3.xml");
    assert!(!xml.contains("<f>") && !xml.contains("<f "), "no formula");
    // JUnit: valid XML whatever the name holds.
    let junit = std::fs::read_to_string(out.join("junit.xml")).unwrap();
    let doc = roxmltree::Document::parse(&junit).expect("valid XML");
    let suite = doc
        .descendants()
        .find(|n| n.has_tag_name("testsuite"))
        .unwrap();
    assert!(suite.attribute("name").unwrap().contains("=HYPERLINK"));
    // Prometheus: the label value is escaped by the format's rules and reads back exactly
    // (prometheus-parse splits labels on '=' and ',', so a strict reader of the format does this).
    let text = std::fs::read_to_string(out.join("metrics.prom")).unwrap();
    let samples = strict_samples(&text);
    assert!(
        samples
            .iter()
            .any(|(name, labels, _)| name == "xen_sr_audit_instances"
                && labels.get("pool") == Some(&pool)),
        "{samples:?}"
    );
    assert!(
        text.contains("\\\"q\\\"") && text.contains("\\n"),
        "quotes and newlines escaped"
    );
}

type Sample = (String, BTreeMap<String, String>, f64);

/// Samples of the Prometheus text format, label values unescaped by the format's rules (`\\`,
/// `\"`, `\n`); panics on anything that is not well-formed.
fn strict_samples(text: &str) -> Vec<Sample> {
    let mut out = Vec::new();
    for line in text
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let name_end = line.find(['{', ' ']).unwrap();
        let name = line[..name_end].to_string();
        let mut labels = BTreeMap::new();
        let mut rest = &line[name_end..];
        if let Some(r) = rest.strip_prefix('{') {
            let mut chars = r.char_indices().peekable();
            loop {
                let (start, c) = chars.next().unwrap();
                if c == '}' {
                    rest = &r[start + 1..];
                    break;
                }
                let eq = r[start..].find('=').unwrap() + start;
                let key = r[start..eq].trim_start_matches(',').to_string();
                while chars.peek().is_some_and(|(i, _)| *i <= eq) {
                    chars.next();
                }
                assert_eq!(chars.next().map(|(_, c)| c), Some('"'), "{line}");
                let mut value = String::new();
                loop {
                    match chars.next().unwrap().1 {
                        '\\' => match chars.next().unwrap().1 {
                            'n' => value.push('\n'),
                            c @ ('\\' | '"') => value.push(c),
                            c => panic!("bad escape \\{c} in {line}"),
                        },
                        '"' => break,
                        '\n' => panic!("raw newline in {line}"),
                        c => value.push(c),
                    }
                }
                labels.insert(key, value);
                if chars.peek().is_some_and(|(_, c)| *c == ',') {
                    chars.next();
                }
            }
        }
        let value: f64 = rest.trim().parse().unwrap();
        out.push((name, labels, value));
    }
    out
}

#[test]
fn config_file_options_paths_relative_and_the_command_line_wins() {
    let dir = TestDir::new();
    let demo = util::root().join("fixtures/demo");
    std::fs::create_dir_all(dir.join("job")).unwrap();
    dir.write(
        "job/audit.toml",
        format!(
            "inventory = \"{}\"\nout = \"reports\"\nformat = [\"csv\", \"prom\"]\nfail-on = \"never\"\nquiet = true\n",
            demo.join("inventory.csv").display()
        ),
    );
    // From another folder: out is relative to the file, fail_on never gives 0.
    xsa(dir.path(), &["scan", "--config", "job/audit.toml"]).expect_code(exit::CLEAN);
    assert!(dir.join("job/reports/metrics.prom").is_file());
    assert!(
        !dir.join("job/reports/report.html").exists(),
        "format from the file"
    );
    // The command line wins.
    xsa(
        dir.path(),
        &[
            "scan",
            "--config",
            "job/audit.toml",
            "--fail-on",
            "blocked",
            "--out",
            "cli",
        ],
    )
    .expect_code(exit::BLOCKED);
    assert!(dir.join("cli/findings.csv").is_file());
    // Unknown keys: exit 64 naming the key, the file and its line.
    dir.write("bad.toml", "out = \"x\"\n\ncolour = \"red\"\n");
    let run = xsa(dir.path(), &["scan", "--config", "bad.toml", "-i", "x.csv"]);
    run.expect_code(exit::USAGE);
    assert!(
        run.stderr.contains("bad.toml:3: unknown key \"colour\""),
        "{}",
        run.stderr
    );
}

#[test]
fn csv_bom_completions_and_man_page() {
    let dir = TestDir::new();
    let inv = util::root().join("fixtures/demo/inventory.csv");
    xsa(
        dir.path(),
        &[
            "scan",
            "-i",
            inv.to_str().unwrap(),
            "-o",
            "bom",
            "-q",
            "--format",
            "csv",
            "--csv-bom",
        ],
    )
    .expect_code(exit::BLOCKED);
    let bytes = std::fs::read(dir.join("bom/findings.csv")).unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBFpool_uuid,"));
    let plain = read_csv(&dir.join("bom/instances.csv"));
    assert!(!plain.is_empty());
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let run = xsa(dir.path(), &["completions", shell]);
        run.expect_code(exit::CLEAN);
        assert!(
            run.stdout.contains("xen-sr-audit") && run.stdout.contains("nova-bdms"),
            "{shell}"
        );
    }
    let run = xsa(dir.path(), &["man"]);
    run.expect_code(exit::CLEAN);
    assert!(run.stdout.contains(".TH xen-sr-audit 1") && run.stdout.contains("scan"));
}
