//! Reading the runs a trend is made of: each RUN argument is a report.json or a folder holding one,
//! read leniently (schema 1, 2 and later ones: every field the trend does not need may be missing or
//! new), and reduced to what the trend plots: per pool, the instances blocked, to review and waived
//! (counted by instance, unwaived, as the run's own summary counts them) and the legacy SRs.

use super::TrendError;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One run as the trend sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    /// Where it was read from (for messages).
    pub path: PathBuf,
    /// The scan's start time, RFC 3339, as report.json holds it.
    pub started_at: String,
    /// `started_at` in seconds since the epoch (the x axis).
    pub epoch_seconds: i64,
    /// Not interrupted and no inventory entry failed.
    pub complete: bool,
    /// What the run read besides the fleet (inventory digest, Nova files, ...): runs whose inputs
    /// differ from the latest run's are marked.
    pub inputs: String,
    /// One per audited pool, sorted by name then uuid.
    pub pools: Vec<PoolCounts>,
}

/// The counts of one pool in one run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PoolCounts {
    pub pool_uuid: String,
    pub pool_name: String,
    pub instances: usize,
    /// Instances blocked once waived findings are set aside.
    pub blocked: usize,
    /// Instances to review once waived findings are set aside (a waived blocked instance that
    /// still has a volume to review is counted here).
    pub review: usize,
    /// Instances with a problem, every problem waived.
    pub waived: usize,
    pub legacy_srs: usize,
}

#[derive(Deserialize)]
struct RawReport {
    #[serde(default)]
    schema_version: u32,
    run: RawRun,
    #[serde(default)]
    hosts: Vec<RawHost>,
    #[serde(default)]
    pools: Vec<RawPool>,
    #[serde(default)]
    instances: Vec<RawInstance>,
    #[serde(default)]
    findings: Vec<RawFinding>,
    #[serde(default)]
    nova: Option<serde_json::Value>,
    /// A later schema may describe its inputs in one object: compared as a whole when present.
    #[serde(default)]
    inputs: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct RawRun {
    #[serde(default)]
    tool: Option<String>,
    started_at: String,
    #[serde(default = "yes")]
    complete: bool,
    #[serde(default)]
    inventory_sha256: String,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
struct RawHost {
    #[serde(default)]
    status: String,
}

#[derive(Deserialize)]
struct RawPool {
    pool_uuid: String,
    #[serde(default)]
    pool_name: String,
    #[serde(default)]
    instances: usize,
    #[serde(default)]
    legacy_srs: usize,
    /// Schema 3 and later: the run's own status counts (`report::counts`), which the trend plots
    /// as they are. Earlier schemas had no such fields (schema 2's `blocked` counted findings).
    #[serde(default)]
    blocked: Option<usize>,
    #[serde(default)]
    review: Option<usize>,
    #[serde(default)]
    waived: Option<usize>,
}

/// The first schema whose `pools[]` carry the run's own blocked / review / waived instance counts.
const SCHEMA_WITH_POOL_STATUS: u32 = 3;

#[derive(Deserialize)]
struct RawInstance {
    pool_uuid: String,
    vm_uuid: String,
    #[serde(default)]
    verdict: String,
}

#[derive(Deserialize)]
struct RawFinding {
    pool_uuid: String,
    vm_uuid: String,
    #[serde(default)]
    verdict: String,
    #[serde(default)]
    waiver: String,
}

/// ok < review < blocked (unknown words count as ok: a later verdict the trend does not plot).
fn rank(verdict: &str) -> u8 {
    match verdict {
        "blocked" => 2,
        "review" => 1,
        _ => 0,
    }
}

/// The report.json a RUN argument names: the file itself, or `report.json` inside a folder.
pub fn report_path(arg: &Path) -> PathBuf {
    if arg.is_dir() {
        arg.join("report.json")
    } else {
        arg.to_path_buf()
    }
}

/// Read one run.
pub fn read_run(arg: &Path) -> Result<Run, TrendError> {
    let path = report_path(arg);
    let bytes = std::fs::read(&path).map_err(|cause| TrendError::Unreadable {
        path: path.clone(),
        cause,
    })?;
    parse_run(path, &bytes)
}

/// Read one run from the bytes of a report.json (`path` names it in messages).
pub fn parse_run(path: PathBuf, bytes: &[u8]) -> Result<Run, TrendError> {
    let raw: RawReport = serde_json::from_slice(bytes).map_err(|e| TrendError::NotAReport {
        path: path.clone(),
        line: e.line() as u64,
        message: e.to_string(),
    })?;
    if raw.run.tool.as_deref().is_some_and(|t| t != "xen-sr-audit") {
        return Err(TrendError::NotAReport {
            path,
            line: 1,
            message: format!("written by {:?}, not xen-sr-audit", raw.run.tool.unwrap()),
        });
    }
    let epoch_seconds =
        epoch_seconds(&raw.run.started_at).ok_or_else(|| TrendError::NotAReport {
            path: path.clone(),
            line: 1,
            message: format!(
                "run.started_at {:?} is not an RFC 3339 time",
                raw.run.started_at
            ),
        })?;
    Ok(Run {
        started_at: raw.run.started_at.clone(),
        epoch_seconds,
        complete: raw.run.complete && !raw.hosts.iter().any(|h| h.status == "failed"),
        inputs: inputs_of(&raw),
        pools: pool_counts(&raw),
        path,
    })
}

fn epoch_seconds(t: &str) -> Option<i64> {
    t.parse::<jiff::Timestamp>().ok().map(|t| t.as_second())
}

/// A fingerprint of what a run read besides the dumps and hosts: the inventory, which Nova files
/// were given (not their contents: they change every week), and the kind of a later schema's
/// `inputs` object (`Inputs::kind`: options and sources, not digests).
fn inputs_of(raw: &RawReport) -> String {
    let nova_given = |key: &str| {
        raw.nova
            .as_ref()
            .and_then(|n| n.get(key))
            .and_then(|v| v.as_array())
            .is_some_and(|a| !a.is_empty())
    };
    format!(
        "inventory={} nova_servers={} nova_bdms={} inputs={}",
        raw.run.inventory_sha256,
        nova_given("servers"),
        nova_given("bdms"),
        // Digests change every week (that is the point of a new run): only the kind counts.
        raw.inputs
            .as_ref()
            .map(|v| {
                serde_json::from_value::<crate::policy::inputs::Inputs>(v.clone())
                    .map(|i| i.kind())
                    .unwrap_or_else(|_| v.to_string())
            })
            .unwrap_or_default()
    )
}

/// Per-pool counts: the pool's identity, instances and legacy SRs from `pools[]`; blocked, review
/// and waived as the run itself counted them (schema 3's `pools[]`, one count model for every
/// report), or, for earlier schemas that lack them, by instance from `instances[]` and their
/// `findings[]`, as those runs' summaries counted.
fn pool_counts(raw: &RawReport) -> Vec<PoolCounts> {
    let mut pools = recounted_pool_counts(raw);
    if raw.schema_version >= SCHEMA_WITH_POOL_STATUS {
        for pool in &mut pools {
            let own = raw.pools.iter().find(|p| p.pool_uuid == pool.pool_uuid);
            if let Some(RawPool {
                blocked: Some(blocked),
                review: Some(review),
                waived: Some(waived),
                ..
            }) = own
            {
                (pool.blocked, pool.review, pool.waived) = (*blocked, *review, *waived);
            }
        }
    }
    pools
}

/// Blocked, review and waived per pool counted again from `instances[]` and `findings[]`: what a
/// schema 1 or 2 report offers.
fn recounted_pool_counts(raw: &RawReport) -> Vec<PoolCounts> {
    // (pool, vm) -> the worst verdict among its findings that are not waived.
    let mut unwaived: BTreeMap<(&str, &str), u8> = BTreeMap::new();
    for f in raw.findings.iter().filter(|f| f.waiver != "waived") {
        let worst = unwaived
            .entry((f.pool_uuid.as_str(), f.vm_uuid.as_str()))
            .or_default();
        *worst = (*worst).max(rank(&f.verdict));
    }
    let mut pools: Vec<PoolCounts> = raw
        .pools
        .iter()
        .map(|p| PoolCounts {
            pool_uuid: p.pool_uuid.clone(),
            pool_name: p.pool_name.clone(),
            instances: p.instances,
            legacy_srs: p.legacy_srs,
            ..Default::default()
        })
        .collect();
    for i in &raw.instances {
        let Some(pool) = pools.iter_mut().find(|p| p.pool_uuid == i.pool_uuid) else {
            continue;
        };
        let now = unwaived
            .get(&(i.pool_uuid.as_str(), i.vm_uuid.as_str()))
            .copied()
            .unwrap_or(0);
        match (rank(&i.verdict), now) {
            (_, 2) => pool.blocked += 1,
            (_, 1) => pool.review += 1,
            (r, _) if r > 0 => pool.waived += 1,
            _ => {}
        }
    }
    pools.sort_by(|a, b| (&a.pool_name, &a.pool_uuid).cmp(&(&b.pool_name, &b.pool_uuid)));
    pools
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(findings: &str, instances: &str) -> String {
        format!(
            r#"{{"schema_version": 2, "run": {{"tool": "xen-sr-audit", "started_at": "2026-10-05T06:00:00Z", "complete": true, "inventory_sha256": "abc"}},
               "hosts": [{{"status": "ok"}}],
               "pools": [{{"pool_uuid": "p1", "pool_name": "east", "instances": 4, "legacy_srs": 3, "blocked": 9}}],
               "instances": [{instances}], "findings": [{findings}]}}"#
        )
    }

    #[test]
    fn instances_are_counted_unwaived_as_the_summary_does() {
        // (instance verdict, its findings as (verdict, waiver)) -> (blocked, review, waived)
        type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], (usize, usize, usize));
        let cases: &[Case] = &[
            ("blocked", &[("blocked", "")], (1, 0, 0)),
            ("blocked", &[("blocked", "waived")], (0, 0, 1)),
            ("blocked", &[("blocked", "expired")], (1, 0, 0)),
            (
                "blocked",
                &[("blocked", "waived"), ("review", "")],
                (0, 1, 0),
            ),
            ("review", &[("review", "waived"), ("ok", "")], (0, 0, 1)),
            ("review", &[("review", "")], (0, 1, 0)),
            ("ok", &[("ok", "")], (0, 0, 0)),
        ];
        for (verdict, findings, want) in cases {
            let f: Vec<String> = findings
                .iter()
                .map(|(v, w)| {
                    format!(r#"{{"pool_uuid":"p1","vm_uuid":"vm","verdict":"{v}","waiver":"{w}"}}"#)
                })
                .collect();
            let i = format!(r#"{{"pool_uuid":"p1","vm_uuid":"vm","verdict":"{verdict}"}}"#);
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(dir.path().join("report.json"), report(&f.join(","), &i)).unwrap();
            let run = read_run(dir.path()).unwrap();
            let p = &run.pools[0];
            assert_eq!(
                (p.blocked, p.review, p.waived),
                *want,
                "{verdict} {findings:?}"
            );
            assert_eq!((p.instances, p.legacy_srs), (4, 3));
        }
    }

    #[test]
    fn schema_3_pool_counts_are_taken_as_the_run_counted_them() {
        // An instance the run counts as blocked although its only finding is waived (an unpaired
        // BDM's verdict, say, which no finding carries): the trend must plot the run's 1 blocked,
        // not a recount's 1 waived. Schema 2 has no such fields: recounted.
        for (schema, pool_fields, want) in [
            (3, r#", "blocked": 1, "review": 0, "waived": 0"#, (1, 0, 0)),
            (3, "", (0, 0, 1)),
            (2, r#", "blocked": 1, "review": 0, "waived": 0"#, (0, 0, 1)),
        ] {
            let text = format!(
                r#"{{"schema_version": {schema}, "run": {{"started_at": "2026-10-05T06:00:00Z"}},
                   "pools": [{{"pool_uuid": "p1", "pool_name": "east", "instances": 1{pool_fields}}}],
                   "instances": [{{"pool_uuid": "p1", "vm_uuid": "vm", "verdict": "blocked"}}],
                   "findings": [{{"pool_uuid": "p1", "vm_uuid": "vm", "verdict": "blocked", "waiver": "waived"}}]}}"#
            );
            let run = parse_run(PathBuf::from("r.json"), text.as_bytes()).unwrap();
            let p = &run.pools[0];
            assert_eq!(
                (p.blocked, p.review, p.waived),
                want,
                "schema {schema} {pool_fields}"
            );
        }
    }

    #[test]
    fn reports_of_any_schema_are_read_and_others_refused() {
        let dir = tempfile::tempdir().unwrap();
        let cases: &[(&str, bool)] = &[
            // schema 1: no waivers, no hosts[] status needed
            (
                r#"{"schema_version":1,"run":{"started_at":"2026-01-01T00:00:00Z"},"pools":[]}"#,
                true,
            ),
            // a newer schema with fields the trend does not know
            (
                r#"{"schema_version":7,"run":{"started_at":"2026-01-01T00:00:00Z","complete":false},"inputs":{"x":1},"future":[1]}"#,
                true,
            ),
            (
                r#"{"run":{"tool":"other","started_at":"2026-01-01T00:00:00Z"}}"#,
                false,
            ),
            (r#"{"run":{"started_at":"last tuesday"}}"#, false),
            (r#"{"run":{}}"#, false),
            (r#"[1,2"#, false),
        ];
        for (text, ok) in cases {
            let p = dir.path().join("r.json");
            std::fs::write(&p, text).unwrap();
            assert_eq!(read_run(&p).is_ok(), *ok, "{text}");
        }
    }
}
