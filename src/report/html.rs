//! report.html: one self-contained page (inline CSS and JS, an inline SVG chart, no external fetch)
//! for the upgrade lead and for change tickets. It is rendered by minijinja from
//! `reports/templates/report.html` with HTML auto-escaping, so every string from XAPI is escaped by
//! construction; the one block of data embedded for scripts is escaped for `<script>` context here.
//! Without JavaScript the page reads the same; with it, the findings table sorts and filters.

use crate::audit::{Coverage, Finding, Instance, Status};
use crate::report::runbook::Runbook;
use crate::report::Report;
use serde::Serialize;
use std::collections::BTreeSet;
use std::io::Write;

const TEMPLATE: &str = include_str!("../../reports/templates/report.html");

#[derive(Serialize)]
struct Bar {
    label: String,
    y: usize,
    legacy: usize,
    new: usize,
    other: usize,
    legacy_w: usize,
    new_w: usize,
    other_w: usize,
}

#[derive(Serialize)]
struct Chart {
    width: usize,
    height: usize,
    label_width: usize,
    bars: Vec<Bar>,
}

#[derive(Serialize)]
struct Blocked<'a> {
    instance: &'a Instance,
    findings: Vec<&'a Finding>,
}

#[derive(Serialize)]
struct Filters {
    pools: BTreeSet<String>,
    hosts: BTreeSet<String>,
    /// The `nova_check` values present (empty without `--nova-bdms`).
    nova_checks: BTreeSet<String>,
}

/// Escape JSON for a `<script>` element: no `<`, `>`, `&` or line separators survive literally.
pub fn json_for_script(value: &impl Serialize) -> String {
    let json = serde_json::to_string(value).unwrap_or_else(|_| "null".into());
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

fn chart(report: &Report) -> Chart {
    const BAR_MAX: usize = 480;
    const LABEL_WIDTH: usize = 200;
    let max = report
        .pools
        .iter()
        .map(|p| p.legacy + p.new + p.other)
        .max()
        .unwrap_or(0)
        .max(1);
    let scale = |n: usize| {
        if n == 0 {
            0
        } else {
            (n * BAR_MAX).div_ceil(max).max(2)
        }
    };
    let bars: Vec<Bar> = report
        .pools
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let label: String = if p.pool_name.is_empty() {
                p.pool_uuid.clone()
            } else {
                p.pool_name.clone()
            };
            let label = if label.chars().count() > 28 {
                label.chars().take(27).collect::<String>() + "…"
            } else {
                label
            };
            Bar {
                label,
                y: 8 + i * 22,
                legacy: p.legacy,
                new: p.new,
                other: p.other,
                legacy_w: scale(p.legacy),
                new_w: scale(p.new),
                other_w: scale(p.other),
            }
        })
        .collect();
    let height = 8 + bars.len() * 22 + 30;
    Chart {
        width: LABEL_WIDTH + BAR_MAX + 120,
        height,
        label_width: LABEL_WIDTH,
        bars,
    }
}

/// The values the findings table can be filtered by.
fn filters(report: &Report) -> Filters {
    Filters {
        pools: report
            .findings
            .iter()
            .map(|f| f.pool_name.clone())
            .collect(),
        hosts: report
            .findings
            .iter()
            .map(|f| f.host.clone())
            .filter(|h| !h.is_empty())
            .collect(),
        nova_checks: report
            .findings
            .iter()
            .map(|f| f.nova_check.clone())
            .filter(|c| !c.is_empty())
            .collect(),
    }
}

/// Render the page.
pub fn render(report: &Report) -> Result<String, String> {
    render_with(report, None)
}

/// Render the page, with the Runbook section when a runbook is given (`scan --plan`).
pub fn render_with<'a>(report: &'a Report, runbook: Option<&Runbook>) -> Result<String, String> {
    let mut env = minijinja::Environment::new();
    env.add_template("report.html", TEMPLATE)
        .map_err(|e| e.to_string())?;
    let by_instance = crate::audit::findings_by_instance(&report.findings);
    let card = |i: &'a Instance| Blocked {
        instance: i,
        findings: by_instance
            .get(&(i.pool_uuid.as_str(), i.vm_uuid.as_str()))
            .cloned()
            .unwrap_or_default(),
    };
    // Cards by effective verdict: the blocked ones, then every other instance a waiver changed.
    let blocked: Vec<Blocked> = report
        .instances
        .iter()
        .filter(|i| i.status == Status::Blocked)
        .map(&card)
        .collect();
    let waived: Vec<Blocked> = report
        .instances
        .iter()
        .filter(|i| i.status != Status::Blocked && i.status.as_str() != i.verdict.as_str())
        .map(card)
        .collect();
    let failed: Vec<_> = report
        .hosts
        .iter()
        .filter(|h| h.status == "failed")
        .collect();
    let ctx = minijinja::context! {
        verdict_line => report.verdict_line(),
        run => &report.run,
        summary => &report.summary,
        summary_json => json_for_script(&serde_json::json!({
            "schema_version": report.schema_version,
            "exit_code": report.exit_code,
            "summary": &report.summary,
            "pools": &report.pools,
        })),
        exit_code => report.exit_code,
        fail_on => &report.fail_on,
        pools => &report.pools,
        chart => chart(report),
        blocked_count => blocked.len(),
        cards => blocked.into_iter().chain(waived).collect::<Vec<_>>(),
        exit_reasons => &report.exit_reasons,
        failed => failed,
        orphans => &report.orphans,
        conflicts => &report.conflicts,
        waivers => &report.waivers,
        baseline => &report.baseline,
        burndown => &report.burndown,
        resolved => &report.resolved,
        findings => &report.findings,
        filters => filters(report),
        nova => &report.nova,
        tls_insecure => report.hosts.iter().filter(|h| h.tls == "insecure").map(|h| h.name.as_str()).collect::<Vec<_>>(),
        tls_legacy => report.hosts.iter().filter(|h| h.legacy_tls()).map(|h| format!("{} ({})", h.name, h.tls_version)).collect::<Vec<_>>(),
        coverage_gaps => report.coverage.iter().filter(|c| c.coverage != Coverage::Audited).collect::<Vec<_>>(),
        runbook => runbook,
    };
    env.get_template("report.html")
        .and_then(|t| t.render(ctx))
        .map_err(|e| format!("{e:#}"))
}

/// Render and write.
pub fn write_html(out: &mut dyn Write, report: &Report) -> std::io::Result<()> {
    write_html_with(out, report, None)
}

/// Render and write, with the runbook when given.
pub fn write_html_with(
    out: &mut dyn Write,
    report: &Report,
    runbook: Option<&Runbook>,
) -> std::io::Result<()> {
    let page = render_with(report, runbook).map_err(std::io::Error::other)?;
    out.write_all(page.as_bytes())
}
