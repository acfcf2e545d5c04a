//! trend.html and trend.csv. The page is one self-contained file like report.html (inline CSS, inline
//! SVG, no script needed, nothing fetched), rendered by minijinja from `reports/templates/trend.html`
//! with HTML auto-escaping (pool names come from XAPI); trend.csv goes through the project's one CSV
//! writer (neutralised cells). Both are staged and renamed into place together.

use super::chart::{self, Chart, Points, Size};
use super::{pace, totals, Pace, Trend};
use crate::error::ReportError;
use crate::report::atomic::StagedOutputs;
use serde::Serialize;
use std::path::{Path, PathBuf};

const TEMPLATE: &str = include_str!("../../reports/templates/trend.html");
/// One chart as an inline `<svg>`: included by trend.html, and by report.html with `--history`.
const CHART_TEMPLATE: &str = include_str!("../../reports/templates/burndown.html");

fn render_template(name: &str, source: &str, ctx: minijinja::Value) -> Result<String, String> {
    let mut env = minijinja::Environment::new();
    env.add_template(name, source).map_err(|e| e.to_string())?;
    env.get_template(name)
        .and_then(|t| t.render(ctx))
        .map_err(|e| format!("{e:#}"))
}

/// One chart as an HTML fragment (every label escaped by the template).
pub fn render_chart(chart: &Chart) -> Result<String, String> {
    render_template(
        "burndown.html",
        CHART_TEMPLATE,
        minijinja::context! { chart => chart },
    )
}

/// The files `trend` writes.
pub const TREND_FILES: [&str; 2] = ["trend.html", "trend.csv"];

/// A run as the page lists it.
#[derive(Serialize)]
struct RunLine {
    date: String,
    started_at: String,
    pools: usize,
    blocked: usize,
    review: usize,
    waived: usize,
    legacy_srs: usize,
    complete: bool,
    other_inputs: bool,
}

/// A pool whose blocked instances rose from one run to the next: something came back.
#[derive(Serialize)]
struct Rise {
    date: String,
    pool: String,
    from: usize,
    to: usize,
}

fn run_lines(trend: &Trend) -> Vec<RunLine> {
    let latest = &trend.latest().inputs;
    trend
        .runs
        .iter()
        .map(|r| {
            let t = totals(r);
            RunLine {
                date: chart::day_of(r),
                started_at: r.started_at.clone(),
                pools: r.pools.len(),
                blocked: t.blocked,
                review: t.review,
                waived: t.waived,
                legacy_srs: t.legacy_srs,
                complete: r.complete,
                other_inputs: &r.inputs != latest,
            }
        })
        .collect()
}

fn rises(trend: &Trend) -> Vec<Rise> {
    let mut out = Vec::new();
    for (uuid, name) in trend.pools() {
        let mut before: Option<usize> = None;
        for run in &trend.runs {
            let Some(p) = run.pools.iter().find(|p| p.pool_uuid == uuid) else {
                continue;
            };
            if before.is_some_and(|b| p.blocked > b) {
                out.push(Rise {
                    date: chart::day_of(run),
                    pool: name.clone(),
                    from: before.unwrap_or(0),
                    to: p.blocked,
                });
            }
            before = Some(p.blocked);
        }
    }
    out
}

/// The charts: the whole fleet first (with the pace line), then one per pool.
pub fn charts(trend: &Trend, target: Option<i64>, pace_from: usize) -> Vec<Chart> {
    let latest = &trend.latest().inputs;
    let marked = move |r: &super::Run| !r.complete || &r.inputs != latest;
    let total: Points = trend.runs.iter().map(|r| (r, Some(totals(r)))).collect();
    let mut charts = vec![chart::layout(
        "All pools".into(),
        &total,
        Size {
            width: 760,
            height: 300,
        },
        target,
        Some(pace_from),
        &marked,
    )];
    for (uuid, name) in trend.pools() {
        let points: Points = trend
            .runs
            .iter()
            .map(|r| (r, r.pools.iter().find(|p| p.pool_uuid == uuid).cloned()))
            .collect();
        let title = if name.is_empty() { uuid } else { name };
        charts.push(chart::layout(
            title,
            &points,
            Size {
                width: 370,
                height: 200,
            },
            target,
            None,
            &marked,
        ));
    }
    charts
}

/// The sentence under the title: where the fleet stands and the pace it needs.
pub fn pace_line(p: &Pace, target_date: Option<&str>) -> String {
    let mut line = format!(
        "{} blocked instance{} left",
        p.blocked_now,
        crate::text::plural(p.blocked_now)
    );
    match (target_date, p.days_left, p.needed_per_week) {
        (Some(date), Some(days), Some(needed)) => line.push_str(&format!(
            "; {needed:.1} per week needed to reach zero by {date} ({days} days after the latest run)"
        )),
        (Some(date), Some(_), None) if p.blocked_now > 0 => {
            line.push_str(&format!("; the target date {date} has passed"))
        }
        (Some(date), _, _) => line.push_str(&format!("; target date {date}")),
        _ => {}
    }
    if let Some(observed) = p.observed_per_week {
        if observed >= 0.0 {
            line.push_str(&format!(
                "; {observed:.1} fixed per week since the first run"
            ));
        } else {
            line.push_str(&format!(
                "; rising by {:.1} per week since the first run",
                -observed
            ));
        }
    }
    line
}

/// Render trend.html.
pub fn render(trend: &Trend, target_date: Option<&str>) -> Result<String, String> {
    let target_day = target_date.and_then(crate::policy::waivers::parse_day);
    let p = pace(trend, target_day);
    let latest = trend.latest();
    let charts = charts(trend, target_day.map(|d| d * 86_400), p.blocked_now)
        .iter()
        .map(render_chart)
        .collect::<Result<Vec<_>, _>>()?;
    let ctx = minijinja::context! {
        tool_version => env!("CARGO_PKG_VERSION"),
        headline => pace_line(&p, target_date),
        pace => &p,
        target_date => target_date,
        first => chart::day_of(&trend.runs[0]),
        latest => chart::day_of(latest),
        runs => run_lines(trend),
        rises => rises(trend),
        charts => charts,
        series => chart::SERIES.iter().map(|(n, c, _)| (n, c)).collect::<Vec<_>>(),
    };
    render_template("trend.html", TEMPLATE, ctx)
}

/// Write trend.html and trend.csv into `dir`, both or neither.
pub fn write_trend(
    trend: &Trend,
    dir: &Path,
    target_date: Option<&str>,
) -> Result<Vec<PathBuf>, ReportError> {
    let page = render(trend, target_date).map_err(|message| ReportError::Render {
        path: dir.join("trend.html"),
        message,
    })?;
    let mut out = StagedOutputs::new(dir)?;
    out.stage("trend.html", |w| w.write_all(page.as_bytes()))?;
    out.stage("trend.csv", |w| {
        crate::report::csv_out::write_csv(w, &trend.rows())
    })?;
    out.commit()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trend::{PoolCounts, Run};

    fn run(day: i64, pool_name: &str) -> Run {
        Run {
            path: format!("day{day}").into(),
            started_at: format!("2026-10-0{day}T06:00:00Z"),
            epoch_seconds: day * 86_400,
            complete: day != 2,
            inputs: String::new(),
            pools: vec![PoolCounts {
                pool_uuid: "p".into(),
                pool_name: pool_name.into(),
                blocked: 3,
                ..Default::default()
            }],
        }
    }

    #[test]
    fn names_from_xapi_are_text_in_the_page() {
        let hostile = "<img src=x onerror=alert(1)>&\"'";
        let trend = Trend::from_runs(vec![run(1, hostile), run(2, hostile)]).unwrap();
        let page = render(&trend, Some("2027-01-31")).unwrap();
        assert!(!page.contains("<img"), "a pool name became markup");
        assert!(page.contains("&lt;img src=x onerror=alert(1)&gt;&amp;"));
        assert!(page.contains("incomplete"));
    }
}
