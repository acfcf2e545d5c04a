//! Runs over time: compare this run with an earlier report.json (`--baseline`), and
//! `xen-sr-audit diff OLD.json NEW.json` prints the same comparison (both compare the findings as
//! reported: waivers applied).
//!
//! An attachment is identified by what survives its remediation: pool, instance and userdevice
//! (re-attaching a volume gives its SR a new uuid, so the SR uuid cannot be part of the identity).
//! Only problems are tracked: a *problem* is a finding whose verdict is review or blocked and that
//! is not waived. A problem is `new` when the baseline did not have its attachment, or had it fine
//! on another SR; `first-seen` when the baseline never audited its pool (an incomplete baseline, or
//! a pool added since); `reclassified` when the attachment sat on the same SR with another verdict
//! (fine, review or blocked: the inputs or options changed, not the fleet); `unchanged` when the
//! baseline had it with the same verdict, or as review/blocked on another SR. A baseline finding
//! that was waived still counts as the problem it was: a waiver dropped (`--waivers` left out) or
//! expired since makes it `unchanged` (or `reclassified`), never `new`. A baseline problem that is not one now is
//! `fixed` (its SR changed and it is fine now), `waived`, `reclassified` (same SR, fine now: the
//! inputs or options changed) or `gone` (the attachment or the instance no longer exists). It is
//! *not rechecked* when this run could not audit its pool, so a failed host never looks like
//! progress. Healthy attachments are never new.

use crate::audit::{Finding, Verdict};
use crate::model::FastMap;
use crate::policy::inputs::{differences_in_kind, Inputs};
use crate::text::printable;
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
    /// The pools that run audited.
    pub pools: Vec<String>,
    /// Its inputs (inferred, without digests, for reports older than schema 3).
    pub inputs: Inputs,
}

/// The previous run a report was compared with.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaselineInfo {
    pub path: String,
    pub started_at: String,
    pub version: String,
    /// False when the baseline run was itself interrupted (its unaudited pools count as first seen).
    #[serde(default = "yes")]
    pub complete: bool,
    /// Problems of the baseline whose pool this run did not audit (failed entries).
    pub not_rechecked: usize,
    /// How the baseline's inputs differ in kind from this run's (empty: of one kind).
    #[serde(default)]
    pub inputs_differ: Vec<String>,
}

fn yes() -> bool {
    true
}

/// A problem of the baseline that is not a problem now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resolved {
    /// The attachment's `finding_id` (pool/instance/userdevice).
    pub finding_id: String,
    pub pool_uuid: String,
    pub pool_name: String,
    pub instance_uuid: String,
    pub instance_name: String,
    pub userdevice: String,
    /// What it was: its verdict, naming and SR in the baseline.
    pub was_verdict: Verdict,
    pub was_naming: String,
    pub was_sr_uuid: String,
    /// Its SR now (after remediation), or empty when the attachment is gone.
    pub now_sr_uuid: String,
    /// `ok`, `waived`, or `gone` (detached, or the instance deleted).
    pub now: String,
    /// `fixed` (its SR changed and it is fine now), `waived`, `reclassified` (same SR, fine now:
    /// the inputs or options changed) or `gone`. Reports before schema 3 had none.
    #[serde(default)]
    pub change: String,
}

/// How a finding relates to the baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    New,
    Unchanged,
    FirstSeen,
    /// Same SR, another verdict than in the baseline: the inputs or options changed.
    Reclassified,
    /// A problem in the baseline, fine now on another SR.
    Fixed,
    /// A problem in the baseline, waived now.
    Waived,
    /// Fine now and not a problem before: nothing to report.
    Fine,
}

impl Change {
    pub fn as_str(self) -> &'static str {
        match self {
            Change::New => "new",
            Change::Unchanged => "unchanged",
            Change::FirstSeen => "first-seen",
            Change::Reclassified => "reclassified",
            Change::Fixed => "fixed",
            Change::Waived => "waived",
            Change::Fine => "",
        }
    }
}

/// A finding that needs attention: review or blocked, and not waived.
pub fn is_problem(f: &Finding) -> bool {
    f.verdict != Verdict::Ok && f.waiver != "waived"
}

/// What identifies an attachment across runs: pool, instance, userdevice.
fn key(f: &Finding) -> (&str, &str, &str) {
    (
        f.pool_uuid.as_str(),
        f.instance_uuid.as_str(),
        f.userdevice.trim(),
    )
}

/// The comparison of two runs.
#[derive(Debug, Default)]
pub struct Comparison<'a> {
    /// Every finding of this run with its change, in report order.
    pub changes: Vec<(&'a Finding, Change, Option<&'a Finding>)>,
    /// Problems of the baseline that are not problems now.
    pub resolved: Vec<Resolved>,
    /// Problems of the baseline in pools this run did not audit.
    pub not_rechecked: Vec<&'a Finding>,
    /// Pools both runs audited.
    pub rechecked_pools: usize,
    /// How the two runs' inputs differ in kind (empty: of one kind).
    pub inputs_differ: Vec<String>,
}

impl Comparison<'_> {
    pub fn count(&self, c: Change) -> usize {
        self.changes.iter().filter(|(_, k, _)| *k == c).count()
    }
    /// Resolved records with a `change`.
    pub fn resolved_as(&self, change: &str) -> usize {
        self.resolved.iter().filter(|r| r.change == change).count()
    }
}

/// How one finding of this run relates to its attachment in the baseline.
fn change_of(f: &Finding, before: Option<&Finding>, baseline_audited_pool: bool) -> Change {
    if !is_problem(f) {
        return match before.filter(|b| is_problem(b)) {
            None => Change::Fine,
            Some(_) if f.verdict != Verdict::Ok => Change::Waived,
            Some(b) if same_sr(b, f) => Change::Reclassified,
            Some(_) => Change::Fixed,
        };
    }
    match before {
        None if !baseline_audited_pool => Change::FirstSeen,
        None => Change::New,
        Some(b) => problem_change(f, b),
    }
}

/// A problem now whose attachment the baseline had. A baseline finding that was review or blocked
/// was a known problem whether or not it was waived then (a dropped or expired waiver is not a new
/// problem): `unchanged` with the same verdict, `reclassified` on the same SR with another verdict
/// (the inputs or options changed). One that was fine is `reclassified` on the same SR, `new` on
/// another.
fn problem_change(f: &Finding, b: &Finding) -> Change {
    match (b.verdict == Verdict::Ok, same_sr(b, f)) {
        (true, true) => Change::Reclassified,
        (true, false) => Change::New,
        (false, true) if b.verdict != f.verdict => Change::Reclassified,
        (false, _) => Change::Unchanged,
    }
}

fn same_sr(a: &Finding, b: &Finding) -> bool {
    a.sr_uuid.eq_ignore_ascii_case(&b.sr_uuid)
}

/// Compare an earlier run (its findings and audited pools) with this one.
pub fn compare<'a>(
    old: &'a [Finding],
    old_pools: &HashSet<&str>,
    new: &'a [Finding],
    new_pools: &HashSet<&str>,
) -> Comparison<'a> {
    let old_by_key: FastMap<(&str, &str, &str), &Finding> =
        old.iter().map(|f| (key(f), f)).collect();
    let new_keys: HashSet<(&str, &str, &str)> = new.iter().map(key).collect();
    let mut c = Comparison {
        rechecked_pools: new_pools.intersection(old_pools).count(),
        ..Default::default()
    };
    for f in new {
        let before = old_by_key.get(&key(f)).copied();
        let change = change_of(f, before, old_pools.contains(f.pool_uuid.as_str()));
        c.changes.push((f, change, before));
        if before.is_some_and(is_problem) && !is_problem(f) {
            c.resolved
                .push(resolved(before.unwrap_or(f), Some((f, change))));
        }
    }
    for f in old.iter().filter(|f| is_problem(f)) {
        if new_keys.contains(&key(f)) {
            continue;
        }
        if new_pools.contains(f.pool_uuid.as_str()) {
            c.resolved.push(resolved(f, None));
        } else {
            c.not_rechecked.push(f);
        }
    }
    c
}

fn resolved(was: &Finding, now: Option<(&Finding, Change)>) -> Resolved {
    Resolved {
        finding_id: format!(
            "{}/{}/{}",
            was.pool_uuid,
            was.instance_uuid,
            was.userdevice.trim()
        ),
        pool_uuid: was.pool_uuid.clone(),
        pool_name: was.pool_name.clone(),
        instance_uuid: was.instance_uuid.clone(),
        instance_name: was.instance_name.clone(),
        userdevice: was.userdevice.clone(),
        was_verdict: was.verdict,
        was_naming: was.naming.as_str().to_string(),
        was_sr_uuid: was.sr_uuid.clone(),
        now_sr_uuid: now.map(|(f, _)| f.sr_uuid.clone()).unwrap_or_default(),
        now: match now {
            Some((_, Change::Waived)) => "waived",
            Some(_) => "ok",
            None => "gone",
        }
        .to_string(),
        change: now
            .map_or("gone", |(_, change)| change.as_str())
            .to_string(),
    }
}

/// Mark this run's findings (waivers already applied) against a baseline (`baseline`, and
/// `previous_sr_uuid` where the attachment's SR changed); returns what was resolved and what to
/// report about the baseline.
pub fn apply(
    findings: &mut [Finding],
    old: &Baseline,
    audited: &HashSet<&str>,
    inputs: &Inputs,
) -> (Vec<Resolved>, BaselineInfo) {
    let old_pools: HashSet<&str> = old.pools.iter().map(String::as_str).collect();
    let (marks, resolved, not_rechecked) = {
        let c = compare(&old.findings, &old_pools, findings, audited);
        let marks: Vec<(Change, Option<String>)> = c
            .changes
            .iter()
            .map(|(f, change, before)| {
                let previous = before
                    .filter(|b| !b.sr_uuid.eq_ignore_ascii_case(&f.sr_uuid))
                    .map(|b| b.sr_uuid.clone());
                (*change, previous)
            })
            .collect();
        (marks, c.resolved, c.not_rechecked.len())
    };
    for (f, (change, previous)) in findings.iter_mut().zip(marks) {
        f.baseline = change.as_str().to_string();
        f.previous_sr_uuid = previous.unwrap_or_default();
    }
    let info = BaselineInfo {
        path: old.path.clone(),
        started_at: old.started_at.clone(),
        version: old.version.clone(),
        complete: old.complete,
        not_rechecked,
        inputs_differ: differences_in_kind(&old.inputs, inputs),
    };
    (resolved, info)
}

/// The counts of a comparison, worded once for the console, summary.md and `diff`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChangeCounts {
    pub new: usize,
    pub first_seen: usize,
    pub unchanged: usize,
    /// Problems now that were fine on the same SR.
    pub reclassified: usize,
    pub fixed: usize,
    pub waived: usize,
    /// Problems then that are fine now on the same SR.
    pub resolved_reclassified: usize,
    pub gone: usize,
    pub not_rechecked: usize,
}

impl ChangeCounts {
    pub fn of(c: &Comparison) -> ChangeCounts {
        ChangeCounts {
            new: c.count(Change::New),
            first_seen: c.count(Change::FirstSeen),
            unchanged: c.count(Change::Unchanged),
            reclassified: c
                .changes
                .iter()
                .filter(|(f, k, _)| *k == Change::Reclassified && is_problem(f))
                .count(),
            fixed: c.resolved_as("fixed"),
            waived: c.resolved_as("waived"),
            resolved_reclassified: c.resolved_as("reclassified"),
            gone: c.resolved_as("gone"),
            not_rechecked: c.not_rechecked.len(),
        }
    }
}

impl std::fmt::Display for ChangeCounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} new, {} first seen, {} unchanged, {} reclassified problems; {} fixed, {} waived, {} reclassified, {} gone since the baseline; {} not rechecked",
            self.new,
            self.first_seen,
            self.unchanged,
            self.reclassified,
            self.fixed,
            self.waived,
            self.resolved_reclassified,
            self.gone,
            self.not_rechecked
        )
    }
}

/// The one line that says a baseline's inputs differ in kind, or `None` when they do not.
pub fn inputs_line(differ: &[String]) -> Option<String> {
    (!differ.is_empty()).then(|| {
        format!(
            "warning: the baseline's inputs differ in kind ({}): attachments whose verdict changed on the same SR are counted as reclassified, not fixed or new",
            differ.join("; ")
        )
    })
}

/// The `diff` command's text: problems only, with counts for the rest.
pub fn render(c: &Comparison, old_name: &str, new_name: &str) -> String {
    let mut out = format!(
        "{old_name} -> {new_name}: {}; {} attachments fine\n",
        ChangeCounts::of(c),
        c.changes.iter().filter(|(f, _, _)| !is_problem(f)).count(),
    );
    if let Some(line) = inputs_line(&c.inputs_differ) {
        out.push_str(&line);
        out.push('\n');
    }
    if c.rechecked_pools == 0 {
        out.push_str("nothing could be rechecked: the two runs have no audited pool in common\n");
    }
    let rows = diff_rows(c);
    if rows.is_empty() {
        return out;
    }
    out.push_str(&aligned_table(&rows));
    out
}

/// One row of the `diff` table: change, verdict, pool, instance, userdevice, naming, SR.
type DiffRow = [String; 7];

/// The rows of the `diff` table: new, first-seen and reclassified problems, then what was
/// resolved, then what could not be rechecked. Names are made printable.
fn diff_rows(c: &Comparison) -> Vec<DiffRow> {
    let mut rows: Vec<DiffRow> = Vec::new();
    for (f, change, before) in &c.changes {
        if matches!(change, Change::New | Change::FirstSeen)
            || (*change == Change::Reclassified && is_problem(f))
        {
            let verdict = match before.filter(|b| b.verdict != f.verdict) {
                Some(b) => format!("{} (was {})", f.verdict.as_str(), b.verdict.as_str()),
                None => f.verdict.as_str().to_string(),
            };
            rows.push(finding_row(change.as_str().to_string(), verdict, f));
        }
    }
    rows.extend(c.resolved.iter().map(resolved_row));
    for f in &c.not_rechecked {
        rows.push(finding_row(
            "not-rechecked".into(),
            f.verdict.as_str().to_string(),
            f,
        ));
    }
    rows
}

fn finding_row(change: String, verdict: String, f: &Finding) -> DiffRow {
    [
        change,
        verdict,
        printable(&f.pool_name),
        printable(&f.instance_name),
        printable(&f.userdevice),
        f.naming.as_str().to_string(),
        printable(&f.sr_uuid),
    ]
}

/// A resolved problem's row; its SR column says what became of the SR.
fn resolved_row(r: &Resolved) -> DiffRow {
    let sr = if r.now_sr_uuid.is_empty() {
        format!("was {}, now gone", printable(&r.was_sr_uuid))
    } else if r.now_sr_uuid.eq_ignore_ascii_case(&r.was_sr_uuid) {
        printable(&r.now_sr_uuid)
    } else {
        format!(
            "was {}, now {}",
            printable(&r.was_sr_uuid),
            printable(&r.now_sr_uuid)
        )
    };
    [
        r.change.clone(),
        format!("was {}", r.was_verdict.as_str()),
        printable(&r.pool_name),
        printable(&r.instance_name),
        printable(&r.userdevice),
        r.was_naming.clone(),
        sr,
    ]
}

/// The rows under a header, in columns as wide as their widest cell (at most 90 characters);
/// the last column is never cut.
fn aligned_table(rows: &[DiffRow]) -> String {
    let header = [
        "change",
        "verdict",
        "pool",
        "instance",
        "userdevice",
        "naming",
        "sr_uuid",
    ];
    let mut widths = header.map(str::len);
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count()).min(90);
        }
    }
    let line = |cols: &[String]| {
        let mut s = String::new();
        for (i, (cell, w)) in cols.iter().zip(widths).enumerate() {
            if i + 1 == cols.len() {
                // The last column (the SR, or its change) is never cut.
                s.push_str(cell);
            } else {
                let cell: String = cell.chars().take(w).collect();
                s.push_str(&format!("{cell:<w$}  "));
            }
        }
        s.trim_end().to_string() + "\n"
    };
    let mut out = line(&header.map(str::to_string));
    for row in rows {
        out.push_str(&line(row));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::Naming;

    fn f(pool: &str, instance: &str, ud: &str, sr: &str, verdict: Verdict) -> Finding {
        Finding {
            pool_uuid: pool.into(),
            pool_name: pool.into(),
            host: String::new(),
            instance_uuid: instance.into(),
            instance_name: instance.into(),
            power_state: String::new(),
            vm_uuid: instance.into(),
            userdevice: ud.into(),
            boot: false,
            vdi_uuid: String::new(),
            sr_uuid: sr.into(),
            sr_name: String::new(),
            naming: if verdict == Verdict::Blocked {
                Naming::Legacy
            } else {
                Naming::New
            },
            expected_sr_uuid: String::new(),
            target: String::new(),
            port: String::new(),
            target_iqn: String::new(),
            volume_id: String::new(),
            verdict,
            remediation: String::new(),
            finding_id: format!("{pool}/{instance}/{ud}"),
            conflict: false,
            chap: false,
            baseline: String::new(),
            waiver: String::new(),
            waiver_owner: String::new(),
            waiver_expires: String::new(),
            waiver_reason: String::new(),
            project_id: String::new(),
            nova_device: String::new(),
            nova_sr_uuid: String::new(),
            nova_check: String::new(),
            previous_sr_uuid: String::new(),
        }
    }

    /// The `diff` text lists each kind of row (a new problem, a fixed one with what its SR became,
    /// a gone one, one whose pool was not rechecked) under the header, one per line.
    #[test]
    fn diff_text_lists_new_resolved_and_unrechecked_problems() {
        use Verdict::{Blocked, Ok};
        let old = vec![
            f("p", "fixed", "1", "FA15E-D15C-a", Blocked),
            f("p", "gone", "1", "FA15E-D15C-c", Blocked),
            f("q", "unrechecked", "1", "FA15E-D15C-d", Blocked),
        ];
        let new = vec![
            f("p", "fixed", "1", "37ee", Ok),
            f("p", "added-bad", "1", "FA15E-D15C-e", Blocked),
        ];
        let c = compare(&old, &["p", "q"].into(), &new, &["p"].into());
        let text = render(&c, "old.json", "new.json");
        let lines: Vec<&str> = text.lines().collect();
        let header = lines
            .iter()
            .position(|l| l.starts_with("change"))
            .unwrap_or_else(|| panic!("no table header in:\n{text}"));
        let rows = &lines[header + 1..];
        let want = [
            ("new", "added-bad", "FA15E-D15C-e"),
            ("fixed", "fixed", "was FA15E-D15C-a, now 37ee"),
            ("gone", "gone", "was FA15E-D15C-c, now gone"),
            ("not-rechecked", "unrechecked", "FA15E-D15C-d"),
        ];
        assert_eq!(rows.len(), want.len(), "{text}");
        for (row, (change, instance, sr)) in rows.iter().zip(want) {
            let cells: Vec<&str> = row
                .split("  ")
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .collect();
            assert_eq!(cells.first(), Some(&change), "{text}");
            assert!(cells.contains(&instance), "{instance} in {row:?}");
            assert_eq!(cells.last(), Some(&sr), "{text}");
        }
    }

    #[test]
    fn changes_table() {
        use Verdict::{Blocked, Ok, Review};
        let old = vec![
            f("p", "fixed", "1", "FA15E-D15C-a", Blocked),
            f("p", "still", "1", "FA15E-D15C-b", Blocked),
            f("p", "gone", "1", "FA15E-D15C-c", Blocked),
            f("p", "healthy", "1", "n1", Ok),
            f("p", "worse", "1", "n2", Ok),
            f("q", "unrechecked", "1", "FA15E-D15C-d", Blocked),
            f("p", "relabelled", "1", "FA15E-D15C-g", Blocked),
            f("p", "now-checked", "1", "other-1", Ok),
        ];
        let new = vec![
            f("p", "fixed", "1", "37ee", Ok),
            f("p", "still", "1", "FA15E-D15C-b", Blocked),
            f("p", "healthy", "1", "n1", Ok),
            f("p", "worse", "1", "n2", Review),
            f("p", "added-ok", "1", "n3", Ok),
            f("p", "added-bad", "1", "FA15E-D15C-e", Blocked),
            f("r", "new-pool", "1", "FA15E-D15C-f", Blocked),
            // Same SR, fine now (say, --nova-bdms says match): the options changed, nothing was fixed.
            f("p", "relabelled", "1", "FA15E-D15C-g", Ok),
            // Same SR, a problem now (say, without --nova-bdms): not new either.
            f("p", "now-checked", "1", "other-1", Review),
        ];
        let old_pools: HashSet<&str> = ["p", "q"].into();
        let new_pools: HashSet<&str> = ["p", "r"].into();
        let c = compare(&old, &old_pools, &new, &new_pools);
        let got: Vec<(&str, Change)> = c
            .changes
            .iter()
            .map(|(f, ch, _)| (f.instance_uuid.as_str(), *ch))
            .collect();
        assert_eq!(
            got,
            vec![
                ("fixed", Change::Fixed),
                ("still", Change::Unchanged),
                ("healthy", Change::Fine),
                // Same SR, a verdict it did not have: the inputs changed, not the fleet.
                ("worse", Change::Reclassified),
                ("added-ok", Change::Fine),
                ("added-bad", Change::New),
                ("new-pool", Change::FirstSeen),
                ("relabelled", Change::Reclassified),
                ("now-checked", Change::Reclassified),
            ]
        );
        let resolved: Vec<(&str, &str, &str, &str)> = c
            .resolved
            .iter()
            .map(|r| {
                (
                    r.instance_uuid.as_str(),
                    r.change.as_str(),
                    r.now.as_str(),
                    r.now_sr_uuid.as_str(),
                )
            })
            .collect();
        assert_eq!(
            resolved,
            vec![
                ("fixed", "fixed", "ok", "37ee"),
                ("relabelled", "reclassified", "ok", "FA15E-D15C-g"),
                ("gone", "gone", "gone", "")
            ]
        );
        let counts = ChangeCounts::of(&c);
        assert_eq!(
            (
                counts.new,
                counts.reclassified,
                counts.fixed,
                counts.resolved_reclassified,
                counts.gone
            ),
            (1, 2, 1, 1, 1)
        );
        assert_eq!(c.not_rechecked.len(), 1);
        assert_eq!(c.rechecked_pools, 1);
        let text = render(&c, "a", "b");
        assert!(text.contains("was FA15E-D15C-a, now 37ee"), "{text}");
        assert!(
            !text.contains("healthy") && !text.contains("added-ok"),
            "ok rows are counts only: {text}"
        );
    }

    #[test]
    fn waiving_a_problem_resolves_it_as_waived() {
        let mut waived = f("p", "i", "1", "FA15E-D15C-a", Verdict::Blocked);
        waived.waiver = "waived".into();
        let plain = f("p", "i", "1", "FA15E-D15C-a", Verdict::Blocked);
        let pools: HashSet<&str> = ["p"].into();
        let c = compare(
            std::slice::from_ref(&plain),
            &pools,
            std::slice::from_ref(&waived),
            &pools,
        );
        assert_eq!(c.changes[0].1, Change::Waived);
        assert_eq!(
            (c.resolved[0].change.as_str(), c.resolved[0].now.as_str()),
            ("waived", "waived")
        );
    }

    /// The change of one attachment, baseline `(sr, verdict, waived)` -> now `(sr, verdict)`.
    fn change_between(then: (&str, Verdict, bool), now: (&str, Verdict)) -> (Change, usize) {
        let mut old = f("p", "i", "1", then.0, then.1);
        if then.2 {
            old.waiver = "waived".into();
        }
        let new = f("p", "i", "1", now.0, now.1);
        let pools: HashSet<&str> = ["p"].into();
        let c = compare(
            std::slice::from_ref(&old),
            &pools,
            std::slice::from_ref(&new),
            &pools,
        );
        (c.changes[0].1, c.resolved.len())
    }

    #[test]
    fn regression_a_dropped_or_expired_waiver_is_not_a_new_problem() {
        use Verdict::{Blocked, Review};
        for (then, now, want) in [
            // The waiver was left out or expired: the same problem as in the baseline.
            (
                ("FA15E-D15C-a", Blocked, true),
                ("FA15E-D15C-a", Blocked),
                Change::Unchanged,
            ),
            (("sr-1", Review, true), ("sr-1", Review), Change::Unchanged),
            // ... and on the same SR with another verdict, reclassified.
            (
                ("sr-1", Review, true),
                ("sr-1", Blocked),
                Change::Reclassified,
            ),
            // Re-attached elsewhere and still a problem: the problem the baseline knew.
            (
                ("FA15E-D15C-a", Blocked, true),
                ("FA15E-D15C-b", Blocked),
                Change::Unchanged,
            ),
        ] {
            assert_eq!(change_between(then, now), (want, 0), "{then:?} -> {now:?}");
        }
    }

    #[test]
    fn regression_a_verdict_change_on_the_same_sr_is_reclassified() {
        use Verdict::{Blocked, Ok, Review};
        for (then, now, want) in [
            // --nova-bdms added: review -> blocked on the same SR.
            (
                ("sr-1", Review, false),
                ("sr-1", Blocked),
                Change::Reclassified,
            ),
            (
                ("sr-1", Blocked, false),
                ("sr-1", Review),
                Change::Reclassified,
            ),
            (("sr-1", Ok, false), ("sr-1", Review), Change::Reclassified),
            (
                ("sr-1", Blocked, false),
                ("sr-1", Blocked),
                Change::Unchanged,
            ),
            // Another SR: the fleet changed, not the inputs.
            (
                ("sr-1", Review, false),
                ("sr-2", Blocked),
                Change::Unchanged,
            ),
            (("sr-1", Ok, false), ("sr-2", Blocked), Change::New),
        ] {
            assert_eq!(change_between(then, now), (want, 0), "{then:?} -> {now:?}");
        }
    }

    #[test]
    fn change_counts_count_each_change_and_word_it_once() {
        use Verdict::Blocked;
        let old = vec![
            f("p", "u1", "1", "FA15E-D15C-a", Blocked),
            f("p", "u2", "1", "FA15E-D15C-b", Blocked),
            f("p", "u3", "1", "FA15E-D15C-c", Blocked),
            f("p", "w1", "1", "FA15E-D15C-w", Blocked),
            f("p", "w2", "1", "FA15E-D15C-x", Blocked),
        ];
        let mut new = vec![
            f("p", "u1", "1", "FA15E-D15C-a", Blocked),
            f("p", "u2", "1", "FA15E-D15C-b", Blocked),
            f("p", "u3", "1", "FA15E-D15C-c", Blocked),
            f("p", "n1", "1", "FA15E-D15C-n", Blocked),
            f("p", "n2", "1", "FA15E-D15C-m", Blocked),
            f("p", "w1", "1", "FA15E-D15C-w", Blocked),
            f("p", "w2", "1", "FA15E-D15C-x", Blocked),
        ];
        new[5].waiver = "waived".into();
        new[6].waiver = "waived".into();
        let pools: HashSet<&str> = ["p"].into();
        let counts = ChangeCounts::of(&compare(&old, &pools, &new, &pools));
        assert_eq!(
            counts,
            ChangeCounts {
                new: 2,
                first_seen: 0,
                unchanged: 3,
                reclassified: 0,
                fixed: 0,
                waived: 2,
                resolved_reclassified: 0,
                gone: 0,
                not_rechecked: 0,
            }
        );
        assert_eq!(
            counts.to_string(),
            "2 new, 0 first seen, 3 unchanged, 0 reclassified problems; 0 fixed, 2 waived, 0 reclassified, 0 gone since the baseline; 0 not rechecked"
        );
    }

    #[test]
    fn inputs_line_only_when_the_inputs_differ() {
        assert_eq!(inputs_line(&[]), None);
        let line = inputs_line(&[
            "--fail-on blocked -> review".to_string(),
            "waivers: with -> without".to_string(),
        ])
        .expect("a warning");
        assert!(
            line.starts_with("warning: the baseline's inputs differ in kind (--fail-on blocked -> review; waivers: with -> without): "),
            "{line}"
        );
    }

    /// A report.json written before `complete` was recorded was a complete run.
    #[test]
    fn baseline_info_without_complete_reads_as_complete() {
        let info: BaselineInfo = serde_json::from_str(
            r#"{"path": "old.json", "started_at": "", "version": "0.1.0", "not_rechecked": 0}"#,
        )
        .unwrap();
        assert!(info.complete);
        let info: BaselineInfo = serde_json::from_str(
            r#"{"path": "old.json", "started_at": "", "version": "0.1.0", "complete": false, "not_rechecked": 0}"#,
        )
        .unwrap();
        assert!(!info.complete);
    }

    #[test]
    fn apply_marks_each_finding_and_describes_the_baseline() {
        use Verdict::{Blocked, Ok};
        let old = Baseline {
            path: "old/report.json".into(),
            started_at: "2026-11-01T00:00:00Z".into(),
            version: "0.1.0".into(),
            complete: false,
            findings: vec![
                f("p", "fixed", "1", "FA15E-D15C-a", Blocked),
                f("p", "still", "1", "FA15E-D15C-b", Blocked),
                f("q", "elsewhere", "1", "FA15E-D15C-q", Blocked),
            ],
            pools: vec!["p".into(), "q".into()],
            inputs: Inputs {
                fail_on: "blocked".into(),
                ..Default::default()
            },
        };
        let mut findings = vec![
            f("p", "fixed", "1", "37ee", Ok),
            // The same SR, in another letter case: no previous SR to show.
            f("p", "still", "1", "fa15e-d15c-b", Blocked),
            f("p", "added", "1", "FA15E-D15C-e", Blocked),
        ];
        let audited: HashSet<&str> = ["p"].into();
        let now = Inputs {
            fail_on: "review".into(),
            ..Default::default()
        };
        let (resolved, info) = apply(&mut findings, &old, &audited, &now);
        let marks: Vec<(&str, &str)> = findings
            .iter()
            .map(|f| (f.baseline.as_str(), f.previous_sr_uuid.as_str()))
            .collect();
        assert_eq!(
            marks,
            vec![("fixed", "FA15E-D15C-a"), ("unchanged", ""), ("new", "")]
        );
        let resolved: Vec<(&str, &str)> = resolved
            .iter()
            .map(|r| (r.finding_id.as_str(), r.change.as_str()))
            .collect();
        assert_eq!(resolved, vec![("p/fixed/1", "fixed")]);
        let inputs_differ = differences_in_kind(&old.inputs, &now);
        assert!(!inputs_differ.is_empty());
        assert_eq!(
            info,
            BaselineInfo {
                path: "old/report.json".into(),
                started_at: "2026-11-01T00:00:00Z".into(),
                version: "0.1.0".into(),
                complete: false,
                not_rechecked: 1,
                inputs_differ,
            }
        );
    }

    #[test]
    fn render_shows_problems_and_changes_in_a_table() {
        use Verdict::{Blocked, Ok, Review};
        let old = vec![
            f("p", "fixed", "1", "FA15E-D15C-a", Blocked),
            f("p", "still", "1", "FA15E-D15C-b", Blocked),
            f("p", "worse", "1", "n2", Ok),
        ];
        let new = vec![
            f("p", "fixed", "1", "37ee", Ok),
            f("p", "still", "1", "FA15E-D15C-b", Blocked),
            f("p", "worse", "1", "n2", Review),
            f("p", "added", "1", "FA15E-D15C-e", Blocked),
        ];
        let pools: HashSet<&str> = ["p"].into();
        let text = render(&compare(&old, &pools, &new, &pools), "a.json", "b.json");
        assert_eq!(text, RENDERED);
        // No pool in common: said once, above the table.
        let elsewhere: HashSet<&str> = ["q"].into();
        let text = render(&compare(&old, &elsewhere, &new, &pools), "a", "b");
        assert!(
            text.contains(
                "\nnothing could be rechecked: the two runs have no audited pool in common\n"
            ),
            "{text}"
        );
    }

    /// The last column (an SR, or its change) is never cut, however long: a legacy uuid and the new
    /// one it was fixed to are 93 characters together.
    #[test]
    fn render_never_cuts_the_last_column() {
        let legacy = "FA15E-D15C-0a1b2c3d-0000-4000-8000-000000000001";
        let new_style = "9ade368b-674f-59c2-b177-48cc5c7b2ac7";
        let old = vec![f("p", "i", "1", legacy, Verdict::Blocked)];
        let new = vec![f("p", "i", "1", new_style, Verdict::Ok)];
        let pools: HashSet<&str> = ["p"].into();
        let text = render(&compare(&old, &pools, &new, &pools), "a", "b");
        let row = text.lines().last().unwrap();
        assert!(
            row.ends_with(&format!("was {legacy}, now {new_style}")),
            "{text}"
        );
    }

    /// What `render_shows_problems_and_changes_in_a_table` prints.
    const RENDERED: &str = concat!(
        "a.json -> b.json: 1 new, 0 first seen, 1 unchanged, 1 reclassified problems; 1 fixed, 0 waived, 0 reclassified, 0 gone since the baseline; 0 not rechecked; 1 attachments fine\n",
        "change        verdict          pool  instance  userdevice  naming  sr_uuid\n",
        "reclassified  review (was ok)  p     worse     1           new     n2\n",
        "new           blocked          p     added     1           legacy  FA15E-D15C-e\n",
        "fixed         was blocked      p     fixed     1           legacy  was FA15E-D15C-a, now 37ee\n",
    );
}
