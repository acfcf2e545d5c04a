//! One count model, every output (issue 18, points 3 and 4): one fleet scanned with waivers, Nova's
//! exports and a baseline, and every output parsed back — console, instances.csv, report.json,
//! report.html, summary.md, report.xlsx, junit.xml, metrics.prom — must give the same counts of
//! blocked / review / waived / ok instances, overall and per pool, adding up to the instances. And
//! `diff OLD NEW` must give the comparison `scan --baseline OLD` recorded, for schema 1, 2 and 3
//! baselines alike.

use crate::util;
use xen_sr_audit::policy::exit;

use crate::util::{read_csv, read_json, xsa, TestDir};
use calamine::{Data, Reader, Xlsx};
use std::collections::BTreeMap;
use std::path::Path;

const STATUSES: [&str; 4] = ["blocked", "review", "waived", "ok"];

/// Counts by status: overall, and per pool uuid.
#[derive(Debug, Default, PartialEq)]
struct Counts {
    total: [u64; 4],
    by_pool: BTreeMap<String, [u64; 4]>,
}

fn status_index(s: &str) -> usize {
    STATUSES
        .iter()
        .position(|x| *x == s)
        .unwrap_or_else(|| panic!("unknown status {s:?}"))
}

fn scan(dir: &TestDir, out: &str, extra: &[&str]) -> util::Run {
    let root = util::root();
    let inv = root.join("fixtures/demo/inventory.csv");
    let servers = root.join("fixtures/demo/nova/servers.json");
    let mut args = vec![
        "scan",
        "-i",
        inv.to_str().unwrap(),
        "-o",
        out,
        "--format",
        "all",
        "--nova-servers",
        servers.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    xsa(dir.path(), &args)
}

/// Waive every blocking finding of every other blocked instance: some become waived, some (with a
/// volume still to review) become review.
fn waivers_for(dir: &TestDir, week1: &Path) -> std::path::PathBuf {
    let findings = read_csv(&week1.join("findings.csv"));
    let mut blocked: Vec<&str> = findings
        .iter()
        .filter(|f| f["verdict"] == "blocked")
        .map(|f| f["instance_uuid"].as_str())
        .collect();
    blocked.dedup();
    let mut toml = String::new();
    for f in findings.iter().filter(|f| f["verdict"] == "blocked") {
        let i = blocked
            .iter()
            .position(|b| *b == f["instance_uuid"])
            .unwrap();
        if i % 2 == 0 {
            toml.push_str(&format!(
                "[[waiver]]\nfinding_id = \"{}\"\nreason = \"retired in Q3\"\nowner = \"ops\"\nexpires = 2099-12-31\n\n",
                f["finding_id"]
            ));
        }
    }
    dir.write("waivers.toml", toml)
}

fn from_json(json: &serde_json::Value) -> Counts {
    let s = &json["summary"];
    let mut c = Counts::default();
    for (i, k) in STATUSES.iter().enumerate() {
        c.total[i] = s[format!("instances_{k}")].as_u64().unwrap();
    }
    for p in json["pools"].as_array().unwrap() {
        let mut n = [0; 4];
        for (i, k) in STATUSES.iter().enumerate() {
            n[i] = p[*k].as_u64().unwrap();
        }
        assert_eq!(
            n.iter().sum::<u64>(),
            p["instances"].as_u64().unwrap(),
            "pool {p}"
        );
        c.by_pool.insert(p["pool_uuid"].as_str().unwrap().into(), n);
    }
    c
}

fn from_csv(path: &Path) -> Counts {
    let mut c = Counts::default();
    for row in read_csv(path) {
        let i = status_index(&row["status"]);
        c.total[i] += 1;
        c.by_pool.entry(row["pool_uuid"].clone()).or_default()[i] += 1;
    }
    c
}

/// The console's per-pool lines: `pool "name" (entry e): N instances, B blocked, R to review,
/// W waived, O ok`, keyed by pool name.
fn from_console(stderr: &str, names: &BTreeMap<String, String>) -> Counts {
    let mut c = Counts::default();
    for line in stderr.lines().filter(|l| l.starts_with("pool \"")) {
        let name = line.split('"').nth(1).unwrap();
        let (_, counts) = line.split_once("): ").unwrap();
        let numbers: Vec<u64> = counts
            .split(", ")
            .map(|part| part.split(' ').next().unwrap().parse().unwrap())
            .collect();
        let n = [numbers[1], numbers[2], numbers[3], numbers[4]];
        assert_eq!(n.iter().sum::<u64>(), numbers[0], "{line}");
        for (total, k) in c.total.iter_mut().zip(n) {
            *total += k;
        }
        c.by_pool.insert(names[name].clone(), n);
    }
    c
}

/// The HTML cards (`data-count`) and the pools table.
fn from_html(html: &str, names: &BTreeMap<String, String>) -> Counts {
    let mut c = Counts::default();
    for (i, k) in STATUSES.iter().enumerate() {
        let marker = format!("data-count=\"instances_{k}\"><div class=\"n\">");
        let at = html.find(&marker).unwrap() + marker.len();
        c.total[i] = html[at..].split('<').next().unwrap().parse().unwrap();
    }
    let table = html.split("<table id=\"pools\">").nth(1).unwrap();
    let table = table.split("</table>").next().unwrap();
    for row in table.split("<tr><td>").skip(1) {
        let name = row.split('<').next().unwrap();
        let nums: Vec<u64> = row
            .split("<td class=\"num\">")
            .skip(1)
            .map(|cell| cell.split('<').next().unwrap().parse().unwrap())
            .collect();
        // Hosts, Instances, Blocked, Review, Waived, Ok, ...
        c.by_pool
            .insert(names[name].clone(), [nums[2], nums[3], nums[4], nums[5]]);
    }
    c
}

/// summary.md: the counts line and the Pools table.
fn from_md(md: &str, names: &BTreeMap<String, String>) -> Counts {
    let mut c = Counts::default();
    let line = md
        .lines()
        .find(|l| l.contains(" Nova instances: "))
        .unwrap();
    let counts = line.split(" Nova instances: ").nth(1).unwrap();
    for (i, part) in counts.split(", ").enumerate() {
        c.total[i] = part.split(' ').next().unwrap().parse().unwrap();
    }
    let table = md.split("## Pools").nth(1).unwrap();
    let table = table.split("\n## ").next().unwrap();
    for row in table
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| Pool"))
    {
        let cells: Vec<&str> = row.trim_matches('|').split(" | ").map(str::trim).collect();
        let n = |i: usize| cells[i].parse::<u64>().unwrap();
        c.by_pool
            .insert(names[cells[0]].clone(), [n(3), n(4), n(5), n(6)]);
    }
    c
}

fn from_xlsx(path: &Path) -> Counts {
    let mut wb: Xlsx<_> = calamine::open_workbook(path).unwrap();
    let summary = wb.worksheet_range("Summary").unwrap();
    let mut c = Counts::default();
    for row in summary.rows() {
        if let (Some(Data::Float(v)), Some(Data::String(key))) = (row.get(1), row.get(2)) {
            if let Some(k) = key.strip_prefix("instances_") {
                if STATUSES.contains(&k) {
                    c.total[status_index(k)] = *v as u64;
                }
            }
        }
    }
    let pools = wb.worksheet_range("Pools").unwrap();
    let mut rows = pools.rows();
    let header: Vec<String> = rows.next().unwrap().iter().map(|d| d.to_string()).collect();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    for row in rows {
        let mut n = [0; 4];
        for (i, k) in STATUSES.iter().enumerate() {
            n[i] = match &row[col(k)] {
                Data::Float(f) => *f as u64,
                other => panic!("Pools {k}: not a number: {other:?}"),
            };
        }
        c.by_pool.insert(row[col("pool_uuid")].to_string(), n);
    }
    c
}

fn from_junit(xml: &str) -> Counts {
    let doc = roxmltree::Document::parse(xml).unwrap();
    let mut c = Counts::default();
    for suite in doc.descendants().filter(|n| n.has_tag_name("testsuite")) {
        let Some(pool) = suite
            .descendants()
            .find(|n| n.has_tag_name("property") && n.attribute("name") == Some("pool_uuid"))
            .and_then(|n| n.attribute("value"))
        else {
            continue;
        };
        let mut n = [0; 4];
        for case in suite.children().filter(|n| n.has_tag_name("testcase")) {
            let kind = case
                .children()
                .find(|n| n.is_element() && n.tag_name().name() != "system-out")
                .map(|n| match n.tag_name().name() {
                    "failure" => n.attribute("type").unwrap().to_string(),
                    "skipped" => "waived".to_string(),
                    other => panic!("unexpected <{other}> for an instance"),
                })
                .unwrap_or_else(|| "ok".to_string());
            n[status_index(&kind)] += 1;
        }
        for (total, k) in c.total.iter_mut().zip(n) {
            *total += k;
        }
        c.by_pool.insert(pool.to_string(), n);
    }
    c
}

fn from_prom(text: &str) -> Counts {
    let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).unwrap();
    let mut c = Counts::default();
    for s in scrape
        .samples
        .iter()
        .filter(|s| s.metric == "xen_sr_audit_instances")
    {
        let v = match s.value {
            prometheus_parse::Value::Gauge(v) | prometheus_parse::Value::Untyped(v) => v as u64,
            _ => panic!("not a gauge"),
        };
        let i = status_index(s.labels.get("verdict").unwrap());
        c.total[i] += v;
        c.by_pool
            .entry(s.labels.get("pool_uuid").unwrap().to_string())
            .or_default()[i] += v;
    }
    c
}

#[test]
fn regression_every_output_gives_the_same_counts() {
    let dir = TestDir::new();
    scan(&dir, "week1", &["-q"]).expect_code(exit::BLOCKED);
    let waivers = waivers_for(&dir, &dir.join("week1"));
    // Nova's server list, no BDMs: the demo's "other" SRs stay to review, so some instances have
    // their blocking volumes waived and a volume still to review (the case the outputs disagreed on).
    let run = scan(
        &dir,
        "week2",
        &[
            "--waivers",
            waivers.to_str().unwrap(),
            "--baseline",
            "week1/report.json",
        ],
    );
    let out = dir.join("week2");
    let json = read_json(&out.join("report.json"));
    assert_eq!(json["schema_version"], 3);
    let want = from_json(&json);
    let s = &json["summary"];
    assert_eq!(
        want.total.iter().sum::<u64>(),
        s["instances"].as_u64().unwrap(),
        "blocked + review + waived + ok = instances"
    );
    assert!(
        want.total.iter().all(|n| *n > 0),
        "the fleet has every status: {want:?}"
    );
    let names: BTreeMap<String, String> = json["pools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["pool_name"].as_str().unwrap().to_string(),
                p["pool_uuid"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let read = |name: &str| std::fs::read_to_string(out.join(name)).unwrap();
    assert_eq!(from_csv(&out.join("instances.csv")), want, "instances.csv");
    assert_eq!(from_console(&run.stderr, &names), want, "console");
    assert_eq!(from_html(&read("report.html"), &names), want, "report.html");
    assert_eq!(from_md(&read("summary.md"), &names), want, "summary.md");
    assert_eq!(from_xlsx(&out.join("report.xlsx")), want, "report.xlsx");
    assert_eq!(from_junit(&read("junit.xml")), want, "junit.xml");
    assert_eq!(from_prom(&read("metrics.prom")), want, "metrics.prom");
    // The exit code follows from the same numbers, and the console says why.
    assert_eq!(run.code, i32::from(exit::BLOCKED), "{}", run.stderr);
    assert!(
        run.stderr
            .contains(&format!("exit 2: {} blocked instances", want.total[0])),
        "{}",
        run.stderr
    );
    // The headline counts what every other output counts; the other causes follow, each with
    // the code it gives on its own.
    let headline = json["exit_reasons"].as_array().unwrap();
    assert_eq!(
        headline[0],
        format!("{} blocked instances", want.total[0]),
        "{headline:?}"
    );
    assert!(
        headline[1..]
            .iter()
            .all(|r| r.as_str().unwrap().ends_with(" on its own)")),
        "{headline:?}"
    );
    let verdict = run
        .stderr
        .lines()
        .find(|l| l.contains("cannot be live-migrated"))
        .unwrap();
    assert!(
        verdict.starts_with(&format!("{} instances in ", want.total[0]))
            && verdict.contains(&format!(
                "; {} need review; {} waived",
                want.total[1], want.total[2]
            )),
        "{verdict}"
    );
}

/// Turn a schema-3 report.json into what schema `version` wrote: no inputs, no exit reasons, no
/// instance status, no split of resolved records; schema 1 also had the SR in `finding_id`.
fn as_older_schema(json: &serde_json::Value, version: u32) -> serde_json::Value {
    let mut old = json.clone();
    old["schema_version"] = version.into();
    let o = old.as_object_mut().unwrap();
    o.remove("inputs");
    o.remove("exit_reasons");
    for i in old["instances"].as_array_mut().unwrap() {
        i.as_object_mut().unwrap().remove("status");
    }
    for f in old["findings"].as_array_mut().unwrap() {
        if version == 1 {
            let id = format!(
                "{}/{}/{}/{}",
                f["pool_uuid"].as_str().unwrap(),
                f["instance_uuid"].as_str().unwrap(),
                f["sr_uuid"].as_str().unwrap(),
                f["userdevice"].as_str().unwrap()
            );
            let f = f.as_object_mut().unwrap();
            f["finding_id"] = id.into();
            for k in [
                "nova_device",
                "nova_sr_uuid",
                "nova_check",
                "previous_sr_uuid",
            ] {
                f.remove(k);
            }
        }
    }
    old
}

#[test]
fn regression_diff_and_baseline_agree_and_inputs_of_another_kind_are_not_fixes() {
    let dir = TestDir::new();
    scan(&dir, "week1", &["-q"]).expect_code(exit::BLOCKED);
    let week1 = read_json(&dir.join("week1/report.json"));
    let waivers = waivers_for(&dir, &dir.join("week1"));
    let bdms = util::root().join("fixtures/demo/nova/bdms.tsv");
    let week1_problems = week1["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["verdict"] != "ok")
        .count() as u64;
    for version in [3, 2, 1] {
        let base = format!("week1-schema{version}.json");
        let old = if version == 3 {
            week1.clone()
        } else {
            as_older_schema(&week1, version)
        };
        dir.write(&base, serde_json::to_vec_pretty(&old).unwrap());
        let out = format!("week2-{version}");
        // Adding waivers and --nova-bdms changes what counts, not the fleet: no fix at all.
        let run = scan(
            &dir,
            &out,
            &[
                "--waivers",
                waivers.to_str().unwrap(),
                "--baseline",
                &base,
                "--nova-bdms",
                bdms.to_str().unwrap(),
            ],
        );
        assert_eq!(run.code, i32::from(exit::BLOCKED), "{}", run.stderr);
        let json = read_json(&dir.join(&format!("{out}/report.json")));
        let s = &json["summary"];
        assert_eq!(s["resolved_fixed"], 0, "schema {version}: {s}");
        assert_eq!(s["resolved_gone"], 0, "schema {version}");
        assert!(s["resolved_waived"].as_u64().unwrap() > 0, "{s}");
        assert!(s["resolved_reclassified"].as_u64().unwrap() > 0, "{s}");
        assert_eq!(
            s["findings_resolved"].as_u64().unwrap(),
            s["resolved_waived"].as_u64().unwrap() + s["resolved_reclassified"].as_u64().unwrap()
        );
        // Every problem of week 1 is accounted for once: unchanged, resolved, or reclassified
        // (review -> blocked on the same SR once Nova's exports are given).
        let week1_verdicts: std::collections::HashMap<&str, &serde_json::Value> = week1["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| (f["finding_id"].as_str().unwrap(), &f["verdict"]))
            .collect();
        let reclassified_problems = json["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| {
                f["baseline"] == "reclassified"
                    && f["verdict"] != "ok"
                    && *week1_verdicts[f["finding_id"].as_str().unwrap()] != "ok"
            })
            .count() as u64;
        assert!(reclassified_problems > 0, "{s}");
        assert_eq!(
            s["findings_unchanged"].as_u64().unwrap()
                + s["findings_resolved"].as_u64().unwrap()
                + reclassified_problems,
            week1_problems,
            "{s}"
        );
        let differ = json["baseline"]["inputs_differ"].as_array().unwrap();
        let differ: Vec<&str> = differ.iter().map(|d| d.as_str().unwrap()).collect();
        assert_eq!(
            differ,
            ["--nova-bdms: without -> with", "waivers: without -> with"],
            "schema {version}"
        );
        assert!(
            run.stderr
                .contains("warning: the baseline's inputs differ in kind (--nova-bdms: without -> with; waivers: without -> with)"),
            "{}",
            run.stderr
        );
        let md = std::fs::read_to_string(dir.join(&format!("{out}/summary.md"))).unwrap();
        assert!(md.contains("the baseline's inputs differ in kind"), "{md}");
        let html = std::fs::read_to_string(dir.join(&format!("{out}/report.html"))).unwrap();
        assert!(
            html.contains("id=\"inputs-differ\">The baseline's inputs differ in kind (--nova-bdms: without -&gt; with; waivers: without -&gt; with)"),
            "the HTML header names the difference"
        );
        // diff gives the same comparison for the same pair.
        let d = xsa(
            dir.path(),
            &["diff", "--json", &base, &format!("{out}/report.json")],
        );
        d.expect_code(exit::CLEAN);
        let dj: serde_json::Value = serde_json::from_str(&d.stdout).unwrap();
        for (diff_key, summary_key) in [
            ("fixed", "resolved_fixed"),
            ("waived", "resolved_waived"),
            ("reclassified", "resolved_reclassified"),
            ("gone", "resolved_gone"),
            ("unchanged", "findings_unchanged"),
        ] {
            assert_eq!(dj[diff_key], s[summary_key], "schema {version}: {diff_key}");
        }
        assert_eq!(
            dj["new_findings"].as_array().unwrap().len() as u64,
            s["findings_new"].as_u64().unwrap()
        );
        assert_eq!(dj["inputs_differ"].as_array().unwrap().len(), 2);
        let text = xsa(dir.path(), &["diff", &base, &format!("{out}/report.json")]);
        assert!(
            text.stdout
                .contains("warning: the baseline's inputs differ in kind"),
            "{}",
            text.stdout
        );
    }
    // The inputs name every file read by digest.
    let json = read_json(&dir.join("week2-3/report.json"));
    let inputs = &json["inputs"];
    assert_eq!(inputs["dumps"].as_array().unwrap().len(), 5);
    assert!(inputs["dumps"]
        .as_array()
        .unwrap()
        .iter()
        .all(|d| d["sha256"].as_str().unwrap().len() == 64));
    assert_eq!(inputs["nova_bdms"][0]["sha256"].as_str().unwrap().len(), 64);
    assert_eq!(
        inputs["nova_servers"][0]["sha256"].as_str().unwrap().len(),
        64
    );
    assert_eq!(inputs["waivers"]["sha256"].as_str().unwrap().len(), 64);
    assert_eq!(inputs["fail_on"], "blocked");
    assert_eq!(inputs["nova_target_port"], "3260");
}
