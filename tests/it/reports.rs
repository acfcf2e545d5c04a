//! The reports people act on: hostile names are plain text in HTML (checked in a real headless
//! Chromium, which must make no network request) and neutralised in CSV; the demo report shows its
//! verdict, pool table, chart and blocked instances; baselines, waivers and --fail-on behave as a
//! compliance job needs.

use crate::util;
use xen_sr_audit::policy::exit;

use crate::util::browser::{dump_dom, dump_dom_with};
use crate::util::{read_csv, read_json, xsa, TestDir};
use std::path::{Path, PathBuf};
use xen_sr_audit::dump::write_dump;

fn demo_run(dir: &TestDir, out: &str, extra: &[&str]) -> util::Run {
    let inv = util::root().join("fixtures/demo/inventory.csv");
    let mut args = vec!["scan", "-i", inv.to_str().unwrap(), "-o", out, "-q"];
    args.extend_from_slice(extra);
    xsa(dir.path(), &args)
}

#[test]
#[ignore = "needs chromium: run scripts/test"]
fn demo_html_in_chromium_shows_verdict_pools_chart_and_blocked_without_network() {
    let dir = TestDir::new();
    demo_run(&dir, "out", &[]).expect_code(exit::BLOCKED);
    let html = std::fs::read_to_string(dir.join("out/report.html")).unwrap();
    // Self-contained: nothing to fetch.
    for needle in ["src=", "href=", "url(", "@import", "<link", "<iframe"] {
        assert!(
            !html.contains(needle),
            "report.html must not reference {needle}"
        );
    }
    assert_eq!(
        html.matches("http").count(),
        html.matches("http://www.w3.org/2000/svg").count(),
        "only the SVG namespace names a URL"
    );
    let (dom, requests) = dump_dom(&dir.join("out/report.html"));
    assert!(
        requests.is_empty(),
        "the report made network requests: {requests:?}"
    );
    let blocked = read_json(&dir.join("out/report.json"))["summary"]["instances_blocked"].clone();
    assert!(dom.contains(&format!(
        "{blocked} instances in 3 pools cannot be live-migrated after the upgrade"
    )));
    let pools_table = &dom[dom.find("id=\"pools\"").unwrap()..];
    let pools_table = &pools_table[..pools_table.find("</table>").unwrap()];
    assert_eq!(
        pools_table.matches("<tr>").count(),
        1 + 3,
        "header and three pools"
    );
    assert!(dom.contains("<svg id=\"chart\""));
    assert!(dom.matches("<rect").count() >= 3 * 2);
    let summary = &read_json(&dir.join("out/report.json"))["summary"];
    assert_eq!(
        dom.matches("class=\"instance blocked\"").count() as u64,
        summary["instances_blocked"].as_u64().unwrap(),
        "one block per blocked instance"
    );
    // The script ran: the filter bar is shown and counts the rows.
    let n = summary["attachments"].as_u64().unwrap();
    assert!(
        dom.contains(&format!("{n} of {n} shown")),
        "filters initialised by the script"
    );
}

/// The README's demo command: Nova's BDMs make the longest card texts ("destination looks for").
fn demo_run_with_nova(dir: &TestDir, out: &str) -> util::Run {
    let root = util::root();
    let servers = root.join("fixtures/demo/nova/servers.json");
    let bdms = root.join("fixtures/demo/nova/bdms.tsv");
    demo_run(
        dir,
        out,
        &[
            "--nova-servers",
            servers.to_str().unwrap(),
            "--nova-bdms",
            bdms.to_str().unwrap(),
        ],
    )
}

/// Issue 18: at 1400 px the blocked-instance cards overflowed sideways (13 of the demo's 15 cards
/// had to be scrolled to read the SR, the IQN and the remediation). Measured in the real browser:
/// a script added to a copy of the page counts the card tables wider than their card.
#[test]
#[ignore = "needs chromium: run scripts/test"]
fn regression_blocked_cards_wrap_at_1400_px_in_chromium() {
    let dir = TestDir::new();
    demo_run_with_nova(&dir, "out").expect_code(exit::BLOCKED);
    let html = std::fs::read_to_string(dir.join("out/report.html")).unwrap();
    let measure = r#"<script>window.addEventListener("load", function () {
  var cards = document.querySelectorAll(".instance"), wide = 0;
  cards.forEach(function (c) {
    c.querySelectorAll(".scroll").forEach(function (s) { if (s.scrollWidth > s.clientWidth + 1) { wide += 1; } });
    if (c.scrollWidth > c.clientWidth + 1) { wide += 1; }
  });
  document.body.setAttribute("data-cards", cards.length + " " + wide);
});</script></body>"#;
    let page = dir.write("measured.html", html.replace("</body>", measure));
    let (dom, _) = dump_dom_with(&page, &["--window-size=1400,1000"]);
    let summary = &read_json(&dir.join("out/report.json"))["summary"];
    let cards = summary["instances_blocked"].as_u64().unwrap();
    assert!(cards > 0);
    assert!(
        dom.contains(&format!("data-cards=\"{cards} 0\"")),
        "every card fits 1400 px: {}",
        dom.split("data-cards=")
            .nth(1)
            .unwrap_or("(not measured)")
            .chars()
            .take(40)
            .collect::<String>()
    );
}

/// Issue 18: the findings table shows Nova's check and the SR uuid it computes, with a filter.
#[test]
fn regression_findings_table_shows_nova_check_with_a_filter() {
    let dir = TestDir::new();
    demo_run_with_nova(&dir, "out").expect_code(exit::BLOCKED);
    let html = std::fs::read_to_string(dir.join("out/report.html")).unwrap();
    let table = html.split("<table id=\"findings\">").nth(1).unwrap();
    let table = table.split("</table>").next().unwrap();
    assert!(table.contains(">nova_check</th>") && table.contains(">nova_sr_uuid</th>"));
    let findings = read_csv(&dir.join("out/findings.csv"));
    for check in ["match", "mismatch", "unusable"] {
        let n = findings.iter().filter(|f| f["nova_check"] == check).count();
        assert!(n > 0, "the demo has {check}");
        assert_eq!(
            table.matches(&format!("data-nova=\"{check}\"")).count(),
            n,
            "{check}"
        );
    }
    let mismatch = findings
        .iter()
        .find(|f| f["nova_check"] == "mismatch")
        .unwrap();
    assert!(table.contains(&format!(
        "<td class=\"mono\">{}</td>",
        mismatch["nova_sr_uuid"]
    )));
    let filters = html.split("id=\"filters\"").nth(1).unwrap();
    let select = filters.split("data-key=\"nova\"").nth(1).unwrap();
    let select = select.split("</select>").next().unwrap();
    for check in ["match", "mismatch", "unusable"] {
        assert!(
            select.contains(&format!("<option>{check}</option>")),
            "{select}"
        );
    }
}

fn hostile_dump(dir: &TestDir) -> PathBuf {
    use util::{fields as f, map as m, text as t};
    let long = "L".repeat(5000);
    let tables = vec![
        (
            "pool",
            vec![(
                "OpaqueRef:p".to_string(),
                f(&[
                    ("uuid", t("pool-h")),
                    ("name_label", t("\"><img src=x onerror=alert(1)>")),
                    ("master", t("OpaqueRef:h")),
                ]),
            )],
        ),
        (
            "host",
            vec![(
                "OpaqueRef:h".to_string(),
                f(&[("uuid", t("h1")), ("name_label", t("=cmd|' /C calc'!A0"))]),
            )],
        ),
        (
            "VM",
            vec![
                (
                    "OpaqueRef:vm1".to_string(),
                    f(&[
                        ("uuid", t("vm1")),
                        ("name_label", t("<script>alert(1)</script>")),
                        ("power_state", t("Running")),
                        ("resident_on", t("OpaqueRef:h")),
                        ("other_config", m(&[("nova_uuid", "i-1")])),
                    ]),
                ),
                (
                    "OpaqueRef:vm2".to_string(),
                    f(&[
                        ("uuid", t("vm2")),
                        ("name_label", t(&long)),
                        ("power_state", t("Running")),
                        ("resident_on", t("OpaqueRef:h")),
                        ("other_config", m(&[("nova_uuid", "i-2")])),
                    ]),
                ),
                (
                    "OpaqueRef:vm3".to_string(),
                    f(&[
                        ("uuid", t("vm3")),
                        (
                            "name_label",
                            t("Ünïcødé 名前 🚀 </script><script>alert(2)</script>\u{2028}"),
                        ),
                        ("power_state", t("Running")),
                        ("resident_on", t("OpaqueRef:h")),
                        ("other_config", m(&[("nova_uuid", "i-3")])),
                    ]),
                ),
            ],
        ),
        (
            "VBD",
            vec![
                (
                    "OpaqueRef:b1".to_string(),
                    f(&[
                        ("VM", t("OpaqueRef:vm1")),
                        ("VDI", t("OpaqueRef:d1")),
                        ("userdevice", t("0")),
                        ("other_config", m(&[("osvol", "True")])),
                    ]),
                ),
                (
                    "OpaqueRef:b2".to_string(),
                    f(&[
                        ("VM", t("OpaqueRef:vm2")),
                        ("VDI", t("OpaqueRef:d2")),
                        ("userdevice", t("1")),
                        ("other_config", m(&[("osvol", "True")])),
                    ]),
                ),
                (
                    "OpaqueRef:b3".to_string(),
                    f(&[
                        ("VM", t("OpaqueRef:vm3")),
                        ("VDI", t("OpaqueRef:d3")),
                        ("userdevice", t("1")),
                        ("other_config", m(&[("osvol", "True")])),
                    ]),
                ),
            ],
        ),
        (
            "VDI",
            vec![
                (
                    "OpaqueRef:d1".to_string(),
                    f(&[("uuid", t("d1")), ("SR", t("OpaqueRef:s1"))]),
                ),
                (
                    "OpaqueRef:d2".to_string(),
                    f(&[("uuid", t("d2")), ("SR", t("OpaqueRef:s1"))]),
                ),
                (
                    "OpaqueRef:d3".to_string(),
                    f(&[("uuid", t("d3")), ("SR", t("OpaqueRef:s2"))]),
                ),
            ],
        ),
        (
            "SR",
            vec![
                (
                    "OpaqueRef:s1".to_string(),
                    f(&[
                        ("uuid", t("FA15E-D15C-00000000-0000-0000-0000-00000000000a")),
                        ("name_label", t("+SUM(1)+@x")),
                    ]),
                ),
                (
                    "OpaqueRef:s2".to_string(),
                    f(&[
                        ("uuid", t("-2-other")),
                        ("name_label", t("@import url(http://evil.example/x.css)")),
                    ]),
                ),
            ],
        ),
        (
            "PBD",
            vec![
                (
                    "OpaqueRef:q1".to_string(),
                    f(&[
                        ("host", t("OpaqueRef:h")),
                        ("SR", t("OpaqueRef:s1")),
                        (
                            "device_config",
                            m(&[
                                ("target", "10.0.0.1"),
                                ("targetIQN", "iqn.x'\"<>&"),
                                ("chappassword", "hostile-secret"),
                            ]),
                        ),
                    ]),
                ),
                (
                    "OpaqueRef:q2".to_string(),
                    f(&[
                        ("host", t("OpaqueRef:h")),
                        ("SR", t("OpaqueRef:s2")),
                        (
                            "device_config",
                            m(&[("target", "\ttab"), ("targetIQN", "iqn.y")]),
                        ),
                    ]),
                ),
            ],
        ),
    ];
    let bytes = write_dump(Vec::new(), &tables).unwrap();
    dir.write("hostile/pool.xml", bytes);
    dir.write(
        "hostile/inventory.csv",
        "name,dump,site,tags\n\"=HYPERLINK(\"\"http://x\"\")\",pool.xml,<b>site</b>,-tag\n",
    )
}

/// Scan the hostile fleet into `dir/out` and return that folder.
fn hostile_scan(dir: &TestDir) -> PathBuf {
    let inv = hostile_dump(dir);
    xsa(
        dir.path(),
        &["scan", "-i", inv.to_str().unwrap(), "-o", "out", "-q"],
    )
    .expect_code(exit::BLOCKED);
    dir.join("out")
}

#[test]
fn hostile_names_are_escaped_in_html_source_and_neutralised_in_csv() {
    let dir = TestDir::new();
    let out = hostile_scan(&dir);

    // CSV: every cell a spreadsheet would run is prefixed with ', and parses back.
    let findings = read_csv(&out.join("findings.csv"));
    let json = read_json(&out.join("report.json"));
    for (row, raw) in findings.iter().zip(json["findings"].as_array().unwrap()) {
        for (k, v) in row {
            if let Some(first) = v.chars().next() {
                assert!(
                    !"=+-@\t\r".contains(first),
                    "{k} = {v:?} is not neutralised"
                );
            }
            let raw_v = raw[k.as_str()]
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| raw[k.as_str()].to_string());
            if raw_v.starts_with(['=', '+', '-', '@', '\t', '\r']) {
                assert_eq!(v, &format!("'{raw_v}"), "{k}");
            }
        }
    }
    assert!(findings.iter().any(|f| f["host"] == "'=cmd|' /C calc'!A0"));
    assert!(findings.iter().any(|f| f["sr_name"] == "'+SUM(1)+@x"));
    assert!(findings.iter().any(|f| f["instance_name"].len() == 5000));
    // JSON keeps the raw values.
    assert!(json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["host"] == "=cmd|' /C calc'!A0"));
    let hosts = read_csv(&out.join("hosts.csv"));
    assert!(hosts[0]["name"].starts_with("'=HYPERLINK"));
    assert_eq!(hosts[0]["tags"], "'-tag");

    // HTML source: escaped, never markup; the script data block cannot be closed early.
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(!html.contains("<script>alert"), "a name became a script");
    assert!(!html.contains("<img src=x"), "a name became an element");
    assert!(!html.contains("url(http://evil"), "a name became CSS");
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;")
            || html.contains("&lt;script&gt;alert(1)&lt;/script&gt;")
    );
    assert_eq!(
        html.matches("<script").count(),
        2,
        "only the page's own two script elements"
    );
    assert_eq!(html.matches("</script>").count(), 2);
    assert!(!html.contains("hostile-secret"));

    // summary.md escapes Markdown.
    let md = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(md.contains("\\<script\\>alert(1)\\</script\\>"));
    assert!(!util::all_text_under(&out).contains("hostile-secret"));
}

#[test]
#[ignore = "needs chromium: run scripts/test"]
fn hostile_names_are_text_in_chromium_and_fetch_nothing() {
    let dir = TestDir::new();
    let out = hostile_scan(&dir);
    // In a real browser: the names are text, no element was injected, nothing was fetched.
    let (dom, requests) = dump_dom(&out.join("report.html"));
    assert!(
        requests.is_empty(),
        "no network request, even for hostile names: {requests:?}"
    );
    assert!(!dom.contains("<img"), "no injected image element");
    assert_eq!(dom.matches("<script").count(), 2);
    assert!(
        dom.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "the script-tag name is shown as text"
    );
    assert!(dom.contains("Ünïcødé 名前 🚀"));
    assert!(dom.contains(&"L".repeat(5000)));
    assert!(dom.contains("3 of 3 shown"), "the page's script still ran");
}

/// Rewrite one legacy SR of a dump to its new-style uuid: what detaching and re-attaching the volume
/// after the upgrade does.
fn fix_one_volume(dump: &Path, findings_csv: &Path, pool_name: &str) -> (String, String) {
    let findings = read_csv(findings_csv);
    let f = findings
        .iter()
        .find(|f| {
            f["pool_name"] == pool_name && f["naming"] == "legacy" && f["conflict"] == "false"
        })
        .unwrap();
    let text = std::fs::read_to_string(dump).unwrap();
    let needle = format!("uuid=\"{}\"", f["sr_uuid"]);
    assert_eq!(text.matches(&needle).count(), 1);
    std::fs::write(
        dump,
        text.replace(&needle, &format!("uuid=\"{}\"", f["expected_sr_uuid"])),
    )
    .unwrap();
    (f["finding_id"].clone(), f["vm_uuid"].clone())
}

/// The demo fleet copied into `dir/fleet`, and its first scan into `dir/week1`.
fn fleet_and_week1(dir: &TestDir) {
    let demo = util::root().join("fixtures/demo");
    std::fs::create_dir_all(dir.join("fleet/dumps")).unwrap();
    for e in std::fs::read_dir(demo.join("dumps")).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, dir.join("fleet/dumps").join(p.file_name().unwrap())).unwrap();
    }
    std::fs::copy(demo.join("inventory.csv"), dir.join("fleet/inventory.csv")).unwrap();
    xsa(
        dir.path(),
        &["scan", "-i", "fleet/inventory.csv", "-o", "week1", "-q"],
    )
    .expect_code(exit::BLOCKED);
}

fn scan_against(dir: &TestDir, out: &str, baseline: &str) -> util::Run {
    xsa(
        dir.path(),
        &[
            "scan",
            "-i",
            "fleet/inventory.csv",
            "-o",
            out,
            "-q",
            "--baseline",
            baseline,
        ],
    )
}

#[test]
fn regression_remediated_volume_is_resolved_not_new() {
    let dir = TestDir::new();
    fleet_and_week1(&dir);
    let week1 = read_csv(&dir.join("week1/findings.csv"));
    let (old_id, _) = fix_one_volume(
        &dir.join("fleet/dumps/pool-west.xml"),
        &dir.join("week1/findings.csv"),
        "pool-west",
    );
    let was = week1.iter().find(|f| f["finding_id"] == old_id).unwrap();
    scan_against(&dir, "week2", "week1/report.json").expect_code(exit::BLOCKED);
    let report = read_json(&dir.join("week2/report.json"));
    let s = &report["summary"];
    assert_eq!(s["findings_new"], 0, "a fix is not a new problem");
    assert_eq!(s["findings_resolved"], 1);
    let problems = week1.iter().filter(|f| f["verdict"] != "ok").count() as u64;
    assert_eq!(s["findings_unchanged"].as_u64().unwrap() + 1, problems);
    // The attachment keeps its id (pool/instance/userdevice) and shows its SR change.
    let findings = read_csv(&dir.join("week2/findings.csv"));
    let now = findings.iter().find(|f| f["finding_id"] == old_id).unwrap();
    assert_eq!(
        (
            now["baseline"].as_str(),
            now["verdict"].as_str(),
            now["previous_sr_uuid"].as_str()
        ),
        ("fixed", "ok", was["sr_uuid"].as_str())
    );
    assert_eq!(s["resolved_fixed"], 1);
    assert_eq!(now["sr_uuid"], was["expected_sr_uuid"]);
    assert_eq!(report["resolved"][0]["finding_id"], old_id.as_str());
    assert_eq!(report["resolved"][0]["now"], "ok");
    assert_eq!(report["resolved"][0]["change"], "fixed");
    // Healthy attachments are never new.
    assert!(findings
        .iter()
        .all(|f| f["verdict"] != "ok" || f["baseline"] != "new"));
    assert!(std::fs::read_to_string(dir.join("week2/report.html"))
        .unwrap()
        .contains("Resolved since the baseline (1)"));
    assert!(std::fs::read_to_string(dir.join("week2/summary.md"))
        .unwrap()
        .contains("1 fixed, 0 waived, 0 reclassified, 0 gone"));
    // diff: problems only, the SR change visible, exit 0 (nothing new).
    let run = xsa(
        dir.path(),
        &["diff", "week1/report.json", "week2/report.json"],
    );
    run.expect_code(exit::CLEAN);
    assert!(
        run.stdout
            .starts_with("week1/report.json -> week2/report.json: 0 new, 0 first seen,"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(&format!(
            "was {}, now {}",
            was["sr_uuid"], was["expected_sr_uuid"]
        )),
        "{}",
        run.stdout
    );
}

#[test]
fn regression_diff_lists_problems_only_and_counts_the_rest() {
    let dir = TestDir::new();
    fleet_and_week1(&dir);
    let run = xsa(
        dir.path(),
        &["diff", "week1/report.json", "week1/report.json"],
    );
    run.expect_code(exit::CLEAN);
    let rows = run.stdout.lines().count();
    assert_eq!(rows, 1, "no row when nothing changed: {}", run.stdout);
    let j: serde_json::Value = serde_json::from_str(
        &xsa(
            dir.path(),
            &["diff", "week1/report.json", "week1/report.json", "--json"],
        )
        .stdout,
    )
    .unwrap();
    let week1 = read_csv(&dir.join("week1/findings.csv"));
    let problems = week1.iter().filter(|f| f["verdict"] != "ok").count();
    assert_eq!(j["unchanged"], problems);
    assert_eq!(j["fine"], week1.len() - problems);
    assert_eq!(j["new_findings"].as_array().unwrap().len(), 0);
}

#[test]
fn regression_a_new_problem_is_new_and_a_new_healthy_vm_is_not() {
    let dir = TestDir::new();
    fleet_and_week1(&dir);
    // Break one healthy volume: rename its new-style SR to a legacy name.
    let week1 = read_csv(&dir.join("week1/findings.csv"));
    let healthy = week1
        .iter()
        .find(|f| {
            f["pool_name"] == "pool-west"
                && f["verdict"] == "ok"
                && f["naming"] == "new"
                && !f["sr_name"].contains("shared")
        })
        .unwrap();
    let dump = dir.join("fleet/dumps/pool-west.xml");
    let text = std::fs::read_to_string(&dump).unwrap();
    let needle = format!("uuid=\"{}\"", healthy["sr_uuid"]);
    assert_eq!(text.matches(&needle).count(), 1, "an SR of its own");
    std::fs::write(
        &dump,
        text.replace(
            &needle,
            "uuid=\"FA15E-D15C-0000dead-0000-4000-8000-000000000000\"",
        ),
    )
    .unwrap();
    scan_against(&dir, "week2", "week1/report.json").expect_code(exit::BLOCKED);
    let findings = read_csv(&dir.join("week2/findings.csv"));
    let new: Vec<_> = findings.iter().filter(|f| f["baseline"] == "new").collect();
    assert_eq!(new.len(), 1, "{new:?}");
    assert_eq!(new[0]["finding_id"], healthy["finding_id"]);
    let run = xsa(
        dir.path(),
        &["diff", "week1/report.json", "week2/report.json"],
    );
    run.expect_code(exit::WARNINGS);
    assert_eq!(
        run.stdout.lines().filter(|l| l.starts_with("new ")).count(),
        1,
        "{}",
        run.stdout
    );
}

#[test]
fn regression_unaudited_pools_are_not_rechecked_and_incomplete_baselines_warn() {
    let dir = TestDir::new();
    fleet_and_week1(&dir);
    // A pool that could not be audited this time is "not rechecked", never "resolved".
    let edge = dir.join("fleet/dumps/edge-01.state.db");
    let saved = std::fs::read(&edge).unwrap();
    std::fs::write(&edge, b"corrupt").unwrap();
    scan_against(&dir, "week2", "week1/report.json").expect_code(exit::BLOCKED);
    let r2 = read_json(&dir.join("week2/report.json"));
    assert_eq!(r2["summary"]["findings_resolved"], 0);
    let edge_problems = read_csv(&dir.join("week1/findings.csv"))
        .iter()
        .filter(|f| f["pool_name"] == "edge-01" && f["verdict"] != "ok")
        .count();
    assert!(edge_problems > 0);
    assert_eq!(r2["baseline"]["not_rechecked"], edge_problems);
    // week2 did not audit edge-01: against it, edge-01's problems are first seen, not new; and
    // an interrupted baseline is said to be so.
    std::fs::write(&edge, saved).unwrap();
    let mut r2 = r2;
    r2["run"]["complete"] = serde_json::Value::Bool(false);
    std::fs::write(
        dir.join("week2/report.json"),
        serde_json::to_string(&r2).unwrap(),
    )
    .unwrap();
    let run = xsa(
        dir.path(),
        &[
            "scan",
            "-i",
            "fleet/inventory.csv",
            "-o",
            "week3",
            "--baseline",
            "week2/report.json",
        ],
    );
    run.expect_code(exit::BLOCKED);
    assert!(
        run.stderr.contains("was itself incomplete"),
        "{}",
        run.stderr
    );
    let r3 = read_json(&dir.join("week3/report.json"));
    assert_eq!(r3["summary"]["findings_new"], 0);
    assert_eq!(r3["summary"]["findings_first_seen"], edge_problems);
    assert_eq!(r3["baseline"]["complete"], false);
    // diff with nothing in common says so and does not claim success.
    let empty =
        serde_json::json!({"schema_version": 2, "run": r2["run"], "pools": [], "findings": []});
    std::fs::write(dir.join("nothing.json"), empty.to_string()).unwrap();
    let run = xsa(dir.path(), &["diff", "week1/report.json", "nothing.json"]);
    run.expect_code(exit::ENTRY_FAILED);
    assert!(
        run.stdout.contains("nothing could be rechecked"),
        "{}",
        run.stdout
    );
    // A baseline that is not a report.json is an input error.
    scan_against(&dir, "bad", "fleet/inventory.csv").expect_code(exit::USAGE);
}

#[test]
fn waivers_hold_until_they_expire_and_fail_on_chooses_the_gate() {
    let dir = TestDir::new();
    let inv = dir.write(
        "edge.csv",
        format!(
            "name,dump\nedge,{}\n",
            util::root()
                .join("fixtures/demo/dumps/edge-01.state.db")
                .display()
        ),
    );
    let inv = inv.to_str().unwrap();
    xsa(dir.path(), &["scan", "-i", inv, "-o", "plain", "-q"]).expect_code(exit::BLOCKED);
    let findings = read_csv(&dir.join("plain/findings.csv"));
    let blocked: Vec<_> = findings
        .iter()
        .filter(|f| f["verdict"] == "blocked")
        .collect();
    assert_eq!(blocked.len(), 1, "edge-01 has one blocked volume");
    let id = &blocked[0]["finding_id"];
    let write = |name: &str, expires: &str| {
        dir.write(name, format!("[[waiver]]\nfinding_id = \"{id}\"\nreason = \"migrating in change CHG-1\"\nowner = \"storage-team\"\nexpires = \"{expires}\"\n"))
    };
    let active = write("active.toml", "2099-12-31");
    let expired = write("expired.toml", "2001-01-01");
    // Waived: the blocked instance no longer fails the run; the conflict and orphan still warn (1).
    xsa(
        dir.path(),
        &[
            "scan",
            "-i",
            inv,
            "-o",
            "w",
            "-q",
            "--waivers",
            active.to_str().unwrap(),
        ],
    )
    .expect_code(exit::WARNINGS);
    let f = read_csv(&dir.join("w/findings.csv"));
    let w = f.iter().find(|f| &f["finding_id"] == id).unwrap();
    assert_eq!(
        (
            w["waiver"].as_str(),
            w["waiver_owner"].as_str(),
            w["verdict"].as_str()
        ),
        ("waived", "storage-team", "blocked"),
        "still visible, marked waived"
    );
    let r = read_json(&dir.join("w/report.json"));
    assert_eq!(r["summary"]["findings_waived"], 1);
    assert_eq!(r["waivers"][0]["status"], "active");
    // That instance also has an "other" volume (review) the waiver does not cover: not fully waived.
    assert!(read_csv(&dir.join("w/instances.csv"))
        .iter()
        .all(|i| i["waived"] == "false"));
    // Expired: counts again and says so.
    xsa(
        dir.path(),
        &[
            "scan",
            "-i",
            inv,
            "-o",
            "x",
            "-q",
            "--waivers",
            expired.to_str().unwrap(),
        ],
    )
    .expect_code(exit::BLOCKED);
    assert_eq!(
        read_json(&dir.join("x/report.json"))["waivers"][0]["status"],
        "expired"
    );
    assert!(read_csv(&dir.join("x/findings.csv"))
        .iter()
        .any(|f| f["waiver"] == "expired"));
    // An instance-wide waiver in CSV does the same.
    let csvw = dir.write(
        "w.csv",
        format!(
            "instance_uuid,reason,owner,expires\n{},r,o,2099-01-01\n",
            blocked[0]["instance_uuid"]
        ),
    );
    xsa(
        dir.path(),
        &[
            "scan",
            "-i",
            inv,
            "-o",
            "c",
            "-q",
            "--waivers",
            csvw.to_str().unwrap(),
        ],
    )
    .expect_code(exit::WARNINGS);
    let waived: Vec<_> = read_csv(&dir.join("c/instances.csv"))
        .into_iter()
        .filter(|i| i["waived"] == "true")
        .collect();
    assert_eq!(waived.len(), 1);
    assert_eq!(waived[0]["instance_uuid"], blocked[0]["instance_uuid"]);
    // --fail-on
    xsa(
        dir.path(),
        &["scan", "-i", inv, "-o", "n", "-q", "--fail-on", "never"],
    )
    .expect_code(exit::CLEAN);
    xsa(
        dir.path(),
        &["scan", "-i", inv, "-o", "r", "-q", "--fail-on", "review"],
    )
    .expect_code(exit::BLOCKED);
    xsa(
        dir.path(),
        &["scan", "-i", inv, "-o", "b", "-q", "--fail-on", "sometimes"],
    )
    .expect_code(exit::USAGE);
    // A bad waivers file stops the run before anything is written.
    let bad = dir.write(
        "bad.toml",
        "[[waiver]]\nfinding_id = \"x\"\nowner = \"o\"\nexpires = \"2099-01-01\"\n",
    );
    let run = xsa(
        dir.path(),
        &[
            "scan",
            "-i",
            inv,
            "-o",
            "never-written",
            "-q",
            "--waivers",
            bad.to_str().unwrap(),
        ],
    );
    run.expect_code(exit::USAGE);
    assert!(
        run.stderr.contains("bad.toml:1: a waiver needs a reason"),
        "{}",
        run.stderr
    );
    assert!(!dir.join("never-written").exists());
}
