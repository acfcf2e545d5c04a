//! `scan --history DIR`: every run's report.json is kept under DIR as `report-<scan time>.json`
//! (written to a temporary file in DIR and renamed, so a reader never sees half of one), and the
//! runs already there plus this one become the burn-down shown in report.html and summary.md. A
//! history that cannot be drawn (a file that is not a report, runs of another fleet) never fails
//! the scan: the burn-down is left out and the reason is given.

use super::{chart, pace, page, totals, Run, Trend, TrendError};
use crate::error::ReportError;
use crate::report::{BurnDown, BurnDownRun, Report};
use std::io::Write;
use std::path::{Path, PathBuf};

const PREFIX: &str = "report-";
const SUFFIX: &str = ".json";

/// `report-20261130T112714Z.json` for a run started at `2026-11-30T11:27:14Z`: sorts by time and
/// holds no character a file system refuses.
pub fn file_name(started_at: &str) -> String {
    let stamp: String = started_at
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    format!("{PREFIX}{stamp}{SUFFIX}")
}

fn is_kept_run(p: &Path) -> bool {
    p.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with(PREFIX) && n.ends_with(SUFFIX))
}

/// Whether `dir` holds at least one kept run.
pub fn holds_runs(dir: &Path) -> bool {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .any(|e| is_kept_run(&e.path()))
        })
        .unwrap_or(false)
}

/// The runs kept in `dir` (the files this module wrote; anything else there is left alone).
pub fn load(dir: &Path) -> Result<Vec<Run>, TrendError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(cause) => {
            return Err(TrendError::Unreadable {
                path: dir.to_path_buf(),
                cause,
            })
        }
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| is_kept_run(p))
        .collect();
    paths.sort();
    paths.iter().map(|p| super::runs::read_run(p)).collect()
}

/// Keep this run's report.json in `dir`, atomically. Returns the file written.
pub fn save(dir: &Path, report: &Report) -> Result<PathBuf, ReportError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |cause| ReportError::Io { path, cause }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let target = dir.join(file_name(&report.run.started_at));
    let mut tmp = tempfile::Builder::new()
        .prefix(".xsa-history.")
        .tempfile_in(dir)
        .map_err(io(dir))?;
    crate::report::json_out::write_json(tmp.as_file_mut(), report).map_err(io(&target))?;
    tmp.as_file_mut().flush().map_err(io(&target))?;
    tmp.persist(&target).map_err(|e| ReportError::Io {
        path: target.clone(),
        cause: e.error,
    })?;
    Ok(target)
}

/// The burn-down of the history in `dir` followed by `report` (not yet saved), for report.html
/// and summary.md.
pub fn burndown(dir: &Path, report: &Report) -> Result<BurnDown, TrendError> {
    let mut runs: Vec<Run> = load(dir)?
        .into_iter()
        .filter(|r| r.started_at != report.run.started_at)
        .collect();
    let bytes = serde_json::to_vec(report).map_err(|e| TrendError::Render(e.to_string()))?;
    runs.push(super::runs::parse_run(PathBuf::from("this run"), &bytes)?);
    let trend = Trend::from_runs(runs)?;
    let p = pace(&trend, None);
    let chart = page::charts(&trend, None, p.blocked_now).swap_remove(0);
    let svg = page::render_chart(&chart).map_err(TrendError::Render)?;
    let latest = trend.latest().inputs.clone();
    Ok(BurnDown {
        headline: page::pace_line(&p, None),
        svg,
        runs: trend
            .runs
            .iter()
            .map(|r| {
                let t = totals(r);
                BurnDownRun {
                    date: chart::day_of(r),
                    blocked: t.blocked,
                    review: t.review,
                    waived: t.waived,
                    legacy_srs: t.legacy_srs,
                    complete: r.complete,
                    other_inputs: r.inputs != latest,
                }
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_sort_by_scan_time() {
        let cases = [
            ("2026-11-30T11:27:14Z", "report-20261130T112714Z.json"),
            ("2026-01-02T03:04:05Z", "report-20260102T030405Z.json"),
            ("../../etc/x", "report-etcx.json"),
        ];
        for (t, want) in cases {
            assert_eq!(file_name(t), want);
        }
    }
}
