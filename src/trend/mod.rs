//! Runs over time: `xen-sr-audit trend RUN...` and `scan --history DIR` answer the question a single
//! report cannot, "are we getting to zero before the upgrade date, and is anything coming back?".
//! The runs (report.json files of one fleet, any schema) are read leniently ([`runs`]), checked to
//! be of one fleet, put in time order and turned into one row per run and pool (trend.csv) and a
//! burn-down of blocked / to-review / waived instances and legacy SRs, per pool and in total, with
//! the pace needed to reach zero by `--target-date` (trend.html, [`page`]). [`history`] keeps each
//! scan's report.json under a history folder for the next trend.

pub mod chart;
pub mod history;
pub mod page;
pub mod runs;

pub use runs::{PoolCounts, Run};

use crate::report::csv_out::CsvRow;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

/// Why a trend cannot be drawn: all are bad input (exit 64), named with the file they concern.
#[derive(Debug, thiserror::Error)]
pub enum TrendError {
    #[error("{path}: cannot read: {cause}")]
    Unreadable {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("{path}:{line}: not a xen-sr-audit report.json: {message}")]
    NotAReport {
        path: PathBuf,
        line: u64,
        message: String,
    },
    #[error("{later} and {earlier} are runs of different fleets: they share {shared} of their pools ({later_pools} and {earlier_pools}); a trend follows one fleet")]
    OtherFleet {
        later: PathBuf,
        earlier: PathBuf,
        shared: usize,
        later_pools: usize,
        earlier_pools: usize,
    },
    #[error("{first} and {second} are the same run (started {started_at})")]
    SameRun {
        first: PathBuf,
        second: PathBuf,
        started_at: String,
    },
    #[error("no run given: name report.json files or folders holding one")]
    NoRun,
    #[error("cannot draw the burn-down: {0}")]
    Render(String),
}

/// Two runs belong to one fleet when at least half the pools of the smaller one are in the other:
/// an interrupted run that audited one pool of three still belongs, another fleet does not.
pub const MIN_SHARED_POOLS: f64 = 0.5;

/// The runs of one fleet, oldest first.
#[derive(Debug, Clone)]
pub struct Trend {
    pub runs: Vec<Run>,
}

/// A row of trend.csv: one run, one pool.
#[derive(Debug, Clone, PartialEq)]
pub struct TrendRow<'a> {
    pub run: &'a Run,
    pub pool: &'a PoolCounts,
    /// The run read other inputs than the latest run (inventory, Nova files).
    pub other_inputs: bool,
}

impl CsvRow for TrendRow<'_> {
    const HEADER: &'static [&'static str] = &[
        "run",
        "pool_uuid",
        "pool_name",
        "instances",
        "instances_blocked",
        "instances_review",
        "instances_waived",
        "legacy_srs",
        "complete",
        "other_inputs",
    ];
    const NUMERIC: &'static [&'static str] = &[
        "instances",
        "instances_blocked",
        "instances_review",
        "instances_waived",
        "legacy_srs",
    ];
    fn cells(&self) -> Vec<String> {
        let p = self.pool;
        vec![
            self.run.started_at.clone(),
            p.pool_uuid.clone(),
            p.pool_name.clone(),
            p.instances.to_string(),
            p.blocked.to_string(),
            p.review.to_string(),
            p.waived.to_string(),
            p.legacy_srs.to_string(),
            self.run.complete.to_string(),
            self.other_inputs.to_string(),
        ]
    }
}

impl Trend {
    /// Read every RUN, put them in time order, and check they are runs of one fleet.
    /// A folder without a report.json is read as a `--history` folder (every run kept there).
    pub fn load(args: &[PathBuf]) -> Result<Trend, TrendError> {
        let mut runs = Vec::new();
        for arg in args {
            if arg.is_dir() && !arg.join("report.json").exists() && history::holds_runs(arg) {
                runs.extend(history::load(arg)?);
            } else {
                runs.push(runs::read_run(arg)?);
            }
        }
        Trend::from_runs(runs)
    }

    /// Order runs by scan time and refuse duplicates and runs of another fleet.
    pub fn from_runs(mut runs: Vec<Run>) -> Result<Trend, TrendError> {
        if runs.is_empty() {
            return Err(TrendError::NoRun);
        }
        runs.sort_by(|a, b| {
            (a.epoch_seconds, &a.started_at, &a.path).cmp(&(
                b.epoch_seconds,
                &b.started_at,
                &b.path,
            ))
        });
        for pair in runs.windows(2) {
            if pair[0].started_at == pair[1].started_at {
                return Err(TrendError::SameRun {
                    first: pair[0].path.clone(),
                    second: pair[1].path.clone(),
                    started_at: pair[0].started_at.clone(),
                });
            }
        }
        check_one_fleet(&runs)?;
        Ok(Trend { runs })
    }

    /// The latest run: the one the others are compared with.
    pub fn latest(&self) -> &Run {
        self.runs.last().expect("a trend has a run")
    }

    /// trend.csv's rows, oldest run first, pools by name within a run.
    pub fn rows(&self) -> Vec<TrendRow<'_>> {
        let latest = &self.latest().inputs;
        self.runs
            .iter()
            .flat_map(|run| {
                run.pools.iter().map(move |pool| TrendRow {
                    run,
                    pool,
                    other_inputs: &run.inputs != latest,
                })
            })
            .collect()
    }

    /// Every pool of the fleet (uuid -> its latest name), by name.
    pub fn pools(&self) -> Vec<(String, String)> {
        let mut names: BTreeMap<&str, &str> = BTreeMap::new();
        for run in &self.runs {
            for p in &run.pools {
                names.insert(&p.pool_uuid, &p.pool_name);
            }
        }
        let mut pools: Vec<(String, String)> = names
            .into_iter()
            .map(|(u, n)| (u.to_string(), n.to_string()))
            .collect();
        pools.sort_by(|a, b| (&a.1, &a.0).cmp(&(&b.1, &b.0)));
        pools
    }
}

/// The fleet's totals in one run (the sum of its audited pools).
pub fn totals(run: &Run) -> PoolCounts {
    let mut t = PoolCounts {
        pool_name: "all pools".into(),
        ..Default::default()
    };
    for p in &run.pools {
        t.instances += p.instances;
        t.blocked += p.blocked;
        t.review += p.review;
        t.waived += p.waived;
        t.legacy_srs += p.legacy_srs;
    }
    t
}

/// Every run that audited a pool is compared with the latest run that audited one.
fn check_one_fleet(runs: &[Run]) -> Result<(), TrendError> {
    let set =
        |r: &Run| -> BTreeSet<String> { r.pools.iter().map(|p| p.pool_uuid.clone()).collect() };
    let Some(reference) = runs.iter().rev().find(|r| !r.pools.is_empty()) else {
        return Ok(());
    };
    let want = set(reference);
    for run in runs.iter().filter(|r| !r.pools.is_empty()) {
        let have = set(run);
        let shared = have.intersection(&want).count();
        let smaller = have.len().min(want.len());
        if (shared as f64) < MIN_SHARED_POOLS * smaller as f64 {
            return Err(TrendError::OtherFleet {
                later: reference.path.clone(),
                earlier: run.path.clone(),
                shared,
                later_pools: want.len(),
                earlier_pools: have.len(),
            });
        }
    }
    Ok(())
}

/// How fast the blocked instances must fall to reach zero by a target date, and how fast they fell.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Pace {
    /// Blocked instances in the latest run (all pools).
    pub blocked_now: usize,
    /// Days from the latest run to the target date (negative: passed).
    pub days_left: Option<i64>,
    /// Instances to fix per week to reach zero by the target date.
    pub needed_per_week: Option<f64>,
    /// Instances fixed per week between the first and the latest run (negative: rising).
    pub observed_per_week: Option<f64>,
}

const WEEK_SECONDS: f64 = 7.0 * 86_400.0;

/// The pace, for the target day (days since the epoch) if one is given.
pub fn pace(trend: &Trend, target_day: Option<i64>) -> Pace {
    let first = &trend.runs[0];
    let latest = trend.latest();
    let blocked_now = totals(latest).blocked;
    let days_left = target_day.map(|d| d - latest.epoch_seconds.div_euclid(86_400));
    let needed_per_week = days_left.map(|d| {
        if d <= 0 {
            f64::INFINITY
        } else {
            blocked_now as f64 / (d as f64 / 7.0)
        }
    });
    let elapsed = (latest.epoch_seconds - first.epoch_seconds) as f64;
    let observed_per_week = (elapsed > 0.0)
        .then(|| (totals(first).blocked as f64 - blocked_now as f64) / (elapsed / WEEK_SECONDS));
    Pace {
        blocked_now,
        days_left,
        needed_per_week: needed_per_week.filter(|v| v.is_finite()),
        observed_per_week,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(day: i64, pools: &[&str]) -> Run {
        Run {
            path: PathBuf::from(format!("day{day}.json")),
            started_at: format!("day {day}"),
            epoch_seconds: day * 86_400,
            complete: true,
            inputs: String::new(),
            pools: pools
                .iter()
                .map(|p| PoolCounts {
                    pool_uuid: p.to_string(),
                    pool_name: p.to_string(),
                    blocked: 7,
                    ..Default::default()
                })
                .collect(),
        }
    }

    #[test]
    fn runs_of_one_fleet_are_kept_and_others_refused() {
        let cases: &[(&[&[&str]], bool)] = &[
            (&[&["a", "b", "c"], &["a", "b", "c"]], true),
            // an interrupted run audited one pool of three
            (&[&["a", "b", "c"], &["b"]], true),
            // a pool was added
            (&[&["a", "b"], &["a", "b", "c"]], true),
            (&[&["a", "b", "c"], &["x", "y", "z"]], false),
            (&[&["a", "b", "c", "d"], &["a", "x", "y", "z"]], false),
            (&[&["a", "b", "c", "d"], &["a", "b", "y", "z"]], true),
            // nothing audited: nothing to compare
            (&[&[], &["a"]], true),
        ];
        for (sets, ok) in cases {
            let runs = sets
                .iter()
                .enumerate()
                .map(|(i, s)| run(i as i64 * 7, s))
                .collect();
            assert_eq!(Trend::from_runs(runs).is_ok(), *ok, "{sets:?}");
        }
    }

    #[test]
    fn runs_are_put_in_time_order_and_a_run_given_twice_is_refused() {
        let t = Trend::from_runs(vec![run(14, &["a"]), run(0, &["a"]), run(7, &["a"])]).unwrap();
        let days: Vec<i64> = t.runs.iter().map(|r| r.epoch_seconds / 86_400).collect();
        assert_eq!(days, [0, 7, 14]);
        assert!(matches!(
            Trend::from_runs(vec![run(7, &["a"]), run(7, &["a"])]),
            Err(TrendError::SameRun { .. })
        ));
        assert!(matches!(Trend::from_runs(vec![]), Err(TrendError::NoRun)));
    }

    #[test]
    fn pace_needed_and_observed() {
        let mut first = run(0, &["a"]);
        first.pools[0].blocked = 20;
        let mut latest = run(14, &["a"]);
        latest.pools[0].blocked = 10;
        let t = Trend::from_runs(vec![first, latest]).unwrap();
        // (target day, needed per week)
        let cases: &[(Option<i64>, Option<f64>, Option<i64>)] = &[
            (Some(14 + 35), Some(2.0), Some(35)),
            (Some(14 + 7), Some(10.0), Some(7)),
            (Some(14), None, Some(0)),
            (Some(10), None, Some(-4)),
            (None, None, None),
        ];
        for (target, needed, left) in cases {
            let p = pace(&t, *target);
            assert_eq!(p.needed_per_week, *needed, "{target:?}");
            assert_eq!(p.days_left, *left);
            assert_eq!(p.blocked_now, 10);
            assert_eq!(p.observed_per_week, Some(5.0));
        }
    }
}
