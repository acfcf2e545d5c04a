//! Runs over time: compare this run with a previous report.json (`--baseline`) so that every finding
//! is marked `new` or `unchanged` and the findings that went away are listed as resolved, and
//! `xen-sr-audit diff OLD.json NEW.json` prints the same comparison as a table. Findings are matched
//! by their stable `finding_id`. A finding of a pool that this run could not audit is not "resolved":
//! it is counted as not rechecked, so a failed host never looks like progress.

use crate::audit::Finding;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// An earlier run, as the comparison needs it (read from its report.json by the caller).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Baseline {
    /// Where it was read from, as the user gave it.
    pub path: String,
    pub started_at: String,
    pub version: String,
    /// False when that run was interrupted.
    pub complete: bool,
    pub findings: Vec<Finding>,
}

/// The previous run a report was compared with.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaselineInfo {
    pub path: String,
    pub started_at: String,
    pub version: String,
    /// Findings of the baseline whose pool this run did not audit (failed entries).
    pub not_rechecked: usize,
}

/// The comparison of two sets of findings.
#[derive(Debug, Default)]
pub struct Diff<'a> {
    pub new: Vec<&'a Finding>,
    pub unchanged: Vec<&'a Finding>,
    pub resolved: Vec<&'a Finding>,
    pub not_rechecked: Vec<&'a Finding>,
}

/// Compare the findings of an earlier run with this run's, given the pools this run audited.
pub fn diff<'a>(old: &'a [Finding], new: &'a [Finding], audited: &HashSet<&str>) -> Diff<'a> {
    let old_ids: HashSet<&str> = old.iter().map(|f| f.finding_id.as_str()).collect();
    let new_ids: HashSet<&str> = new.iter().map(|f| f.finding_id.as_str()).collect();
    let mut d = Diff::default();
    for f in new {
        if old_ids.contains(f.finding_id.as_str()) {
            d.unchanged.push(f);
        } else {
            d.new.push(f);
        }
    }
    for f in old {
        if new_ids.contains(f.finding_id.as_str()) {
            continue;
        }
        if audited.contains(f.pool_uuid.as_str()) {
            d.resolved.push(f);
        } else {
            d.not_rechecked.push(f);
        }
    }
    d
}

/// Mark this run's findings against a baseline; returns the resolved findings and what to report
/// about the baseline.
pub fn apply(
    findings: &mut [Finding],
    old: &Baseline,
    audited: &HashSet<&str>,
) -> (Vec<Finding>, BaselineInfo) {
    let (new_ids, resolved, not_rechecked) = {
        let d = diff(&old.findings, findings, audited);
        let new_ids: HashSet<String> = d.new.iter().map(|f| f.finding_id.clone()).collect();
        let resolved: Vec<Finding> = d
            .resolved
            .iter()
            .map(|f| Finding {
                baseline: "resolved".into(),
                ..(*f).clone()
            })
            .collect();
        (new_ids, resolved, d.not_rechecked.len())
    };
    for f in findings.iter_mut() {
        f.baseline = if new_ids.contains(&f.finding_id) {
            "new"
        } else {
            "unchanged"
        }
        .to_string();
    }
    let info = BaselineInfo {
        path: old.path.clone(),
        started_at: old.started_at.clone(),
        version: old.version.clone(),
        not_rechecked,
    };
    (resolved, info)
}

/// The `diff` command's table.
pub fn render(d: &Diff, old_name: &str, new_name: &str) -> String {
    let mut out = format!(
        "{old_name} -> {new_name}: {} new, {} unchanged, {} resolved, {} not rechecked\n",
        d.new.len(),
        d.unchanged.len(),
        d.resolved.len(),
        d.not_rechecked.len()
    );
    let rows: Vec<(&str, &Finding)> = d
        .new
        .iter()
        .map(|f| ("new", *f))
        .chain(d.resolved.iter().map(|f| ("resolved", *f)))
        .chain(d.not_rechecked.iter().map(|f| ("not-rechecked", *f)))
        .collect();
    if rows.is_empty() {
        return out;
    }
    let header = [
        "change",
        "verdict",
        "pool",
        "instance",
        "userdevice",
        "naming",
        "sr_uuid",
    ];
    let cells: Vec<[String; 7]> = rows
        .iter()
        .map(|(c, f)| {
            [
                c.to_string(),
                f.verdict.as_str().to_string(),
                printable(&f.pool_name),
                printable(&f.instance_name),
                printable(&f.userdevice),
                f.naming.as_str().to_string(),
                printable(&f.sr_uuid),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count()).min(60);
        }
    }
    let line = |cols: Vec<String>| {
        let mut s = String::new();
        for (i, (c, w)) in cols.iter().zip(widths).enumerate() {
            let c: String = c.chars().take(w).collect();
            if i + 1 == cols.len() {
                s.push_str(&c);
            } else {
                s.push_str(&format!("{c:<w$}  "));
            }
        }
        s.trim_end().to_string() + "\n"
    };
    out.push_str(&line(header.iter().map(|s| s.to_string()).collect()));
    for row in cells {
        out.push_str(&line(row.to_vec()));
    }
    out
}

/// Names from XAPI shown on a terminal: control characters (escape sequences) are replaced.
pub fn printable(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}
