//! The count model: every number a report shows is computed here, once, from each instance's
//! effective verdict ([`Status`]: blocked, review, waived or ok, waivers applied), and every writer
//! (console, summary.md, HTML, report.json, CSV, JUnit, metrics.prom, XLSX) reads these numbers
//! rather than counting again. That is what makes the outputs agree: blocked + review + waived + ok
//! is the number of instances in the summary, in every pool row and in every format, and the exit
//! code is decided from the same summary ([`crate::policy::gate::decide`]).

use super::{HostRow, PoolRow, Report};
use crate::audit::{Coverage, Instance, NovaCheck, Status};
use crate::classify::Naming;
use crate::model::FastMap;
use crate::policy::baseline::{is_problem, ChangeCounts};
use crate::text::plural;
use serde::{Deserialize, Serialize};

/// Counts over the whole run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub entries: usize,
    pub entries_failed: usize,
    pub pools: usize,
    pub hosts: usize,
    pub vms: usize,
    pub instances: usize,
    /// Effective verdicts (waivers applied): the four add up to `instances`.
    pub instances_blocked: usize,
    pub instances_review: usize,
    #[serde(default)]
    pub instances_waived: usize,
    pub instances_ok: usize,
    pub attachments: usize,
    pub legacy: usize,
    pub new: usize,
    pub other: usize,
    pub legacy_srs: usize,
    pub orphans: usize,
    pub conflicts: usize,
    #[serde(default)]
    pub findings_waived: usize,
    #[serde(default)]
    pub waivers_expired: usize,
    /// Against `--baseline` (zero without one): problems now, by how they relate to the baseline.
    #[serde(default)]
    pub findings_new: usize,
    #[serde(default)]
    pub findings_unchanged: usize,
    /// Problems in pools the baseline did not audit.
    #[serde(default)]
    pub findings_first_seen: usize,
    /// Problems now on the same SR that was fine in the baseline: the inputs or options changed.
    #[serde(default)]
    pub findings_reclassified: usize,
    /// Problems of the baseline that are not problems now: the sum of the four `resolved_` counts.
    #[serde(default)]
    pub findings_resolved: usize,
    #[serde(default)]
    pub resolved_fixed: usize,
    #[serde(default)]
    pub resolved_waived: usize,
    #[serde(default)]
    pub resolved_reclassified: usize,
    #[serde(default)]
    pub resolved_gone: usize,
    /// Nova's check of each finding against `--nova-bdms` (zero without it).
    #[serde(default)]
    pub nova_match: usize,
    #[serde(default)]
    pub nova_mismatch: usize,
    #[serde(default)]
    pub nova_no_bdm: usize,
    /// Coverage against `--nova-servers` (zero without it).
    #[serde(default)]
    pub coverage_audited: usize,
    #[serde(default)]
    pub coverage_not_audited: usize,
    #[serde(default)]
    pub coverage_missing_in_xapi: usize,
    #[serde(default)]
    pub coverage_unknown_to_nova: usize,
}

impl Summary {
    /// The instances with a status.
    pub fn instances_with(&self, status: Status) -> usize {
        match status {
            Status::Blocked => self.instances_blocked,
            Status::Review => self.instances_review,
            Status::Waived => self.instances_waived,
            Status::Ok => self.instances_ok,
        }
    }
}

impl PoolRow {
    /// The pool's instances with a status.
    pub fn instances_with(&self, status: Status) -> usize {
        match status {
            Status::Blocked => self.blocked,
            Status::Review => self.review,
            Status::Waived => self.waived,
            Status::Ok => self.ok,
        }
    }
}

/// Set each pool's blocked/review/waived/ok from its instances' effective verdicts.
pub fn recount_pools(pools: &mut [PoolRow], instances: &[Instance]) {
    let mut by_pool: FastMap<&str, [usize; 4]> = FastMap::default();
    for i in instances {
        by_pool.entry(i.pool_uuid.as_str()).or_default()[i.status as usize] += 1;
    }
    for p in pools {
        let n = by_pool
            .get(p.pool_uuid.as_str())
            .copied()
            .unwrap_or_default();
        p.ok = n[Status::Ok as usize];
        p.waived = n[Status::Waived as usize];
        p.review = n[Status::Review as usize];
        p.blocked = n[Status::Blocked as usize];
    }
}

/// Give each entry row that stands for an audited pool (status `ok`) that pool's effective counts.
pub fn recount_hosts(hosts: &mut [HostRow], pools: &[PoolRow]) {
    for h in hosts.iter_mut().filter(|h| h.status == "ok") {
        if let Some(p) = pools
            .iter()
            .find(|p| p.entry == h.name && p.pool_uuid == h.pool_uuid)
        {
            h.blocked = p.blocked;
            h.review = p.review;
        }
    }
}

/// The summary of a report whose instances, findings, resolved records and coverage are final.
pub fn summarise(r: &Report) -> Summary {
    let status = |s: Status| r.instances.iter().filter(|i| i.status == s).count();
    let naming = |n: Naming| r.findings.iter().filter(|f| f.naming == n).count();
    let nova = |c: NovaCheck| {
        r.findings
            .iter()
            .filter(|f| f.nova_check == c.as_str())
            .count()
    };
    let covered = |c: Coverage| r.coverage.iter().filter(|row| row.coverage == c).count();
    let marked = |b: &str| r.findings.iter().filter(|f| f.baseline == b).count();
    let resolved = |c: &str| r.resolved.iter().filter(|x| x.change == c).count();
    Summary {
        entries: r.hosts.len(),
        entries_failed: r.hosts.iter().filter(|h| h.status == "failed").count(),
        pools: r.pools.len(),
        hosts: r.pools.iter().map(|p| p.hosts).sum(),
        vms: r.pools.iter().map(|p| p.vms).sum(),
        instances: r.instances.len(),
        instances_blocked: status(Status::Blocked),
        instances_review: status(Status::Review),
        instances_waived: status(Status::Waived),
        instances_ok: status(Status::Ok),
        attachments: r.findings.len(),
        legacy: naming(Naming::Legacy),
        new: naming(Naming::New),
        other: naming(Naming::Other),
        legacy_srs: r.pools.iter().map(|p| p.legacy_srs).sum(),
        orphans: r.orphans.len(),
        conflicts: r.conflicts.len(),
        findings_waived: r.findings.iter().filter(|f| f.waiver == "waived").count(),
        waivers_expired: r.waivers.iter().filter(|w| w.status == "expired").count(),
        findings_new: marked("new"),
        findings_unchanged: marked("unchanged"),
        findings_first_seen: marked("first-seen"),
        findings_reclassified: r
            .findings
            .iter()
            .filter(|f| f.baseline == "reclassified" && is_problem(f))
            .count(),
        findings_resolved: r.resolved.len(),
        resolved_fixed: resolved("fixed"),
        resolved_waived: resolved("waived"),
        resolved_reclassified: resolved("reclassified"),
        resolved_gone: resolved("gone"),
        nova_match: nova(NovaCheck::Match),
        nova_mismatch: nova(NovaCheck::Mismatch),
        nova_no_bdm: nova(NovaCheck::NoBdm),
        coverage_audited: covered(Coverage::Audited),
        coverage_not_audited: covered(Coverage::NotAudited),
        coverage_missing_in_xapi: covered(Coverage::MissingInXapi),
        coverage_unknown_to_nova: covered(Coverage::UnknownToNova),
    }
}

fn pools(n: usize) -> String {
    format!("{n} pool{}", plural(n))
}

/// The one-line verdict used by the console, the HTML header, summary.md and the XLSX Summary.
pub fn verdict_line(r: &Report) -> String {
    let s = &r.summary;
    if s.pools == 0 {
        let mut line = format!(
            "Nothing could be audited: {} of {} failed",
            s.entries_failed,
            crate::text::count_as(s.entries, "inventory entry", "inventory entries")
        );
        if s.coverage_not_audited > 0 {
            line.push_str(&format!(
                "; {} instance{} known to Nova not audited",
                s.coverage_not_audited,
                plural(s.coverage_not_audited)
            ));
        }
        return line;
    }
    let blocked_pools = r.pools.iter().filter(|p| p.blocked > 0).count();
    let mut line = if s.instances_blocked > 0 {
        format!(
            "{} instance{} in {} cannot be live-migrated after the upgrade",
            s.instances_blocked,
            plural(s.instances_blocked),
            pools(blocked_pools)
        )
    } else {
        format!(
            "No instance in {} is blocked from live migration after the upgrade",
            pools(s.pools)
        )
    };
    if s.instances_review > 0 {
        let verb = crate::text::verb_s(s.instances_review);
        line.push_str(&format!("; {} need{verb} review", s.instances_review));
    }
    if s.instances_waived > 0 {
        line.push_str(&format!(
            "; {} waived (every problem acknowledged)",
            s.instances_waived
        ));
    }
    if s.entries_failed > 0 {
        line.push_str(&format!(
            "; {} of {} inventory entries could not be audited",
            s.entries_failed, s.entries
        ));
    }
    if s.coverage_not_audited > 0 {
        let verb = if s.coverage_not_audited == 1 {
            "was"
        } else {
            "were"
        };
        line.push_str(&format!(
            "; {} instance{} known to Nova {verb} not audited",
            s.coverage_not_audited,
            plural(s.coverage_not_audited),
        ));
    }
    let ghosts = s.coverage_missing_in_xapi + s.coverage_unknown_to_nova;
    if ghosts > 0 {
        line.push_str(&format!(
            "; {} instance{} where Nova and XAPI disagree",
            ghosts,
            plural(ghosts)
        ));
    }
    line
}

/// The comparison with the baseline, from the summary, worded as `diff` words it.
pub fn change_counts(r: &Report) -> ChangeCounts {
    let s = &r.summary;
    ChangeCounts {
        new: s.findings_new,
        first_seen: s.findings_first_seen,
        unchanged: s.findings_unchanged,
        reclassified: s.findings_reclassified,
        fixed: s.resolved_fixed,
        waived: s.resolved_waived,
        resolved_reclassified: s.resolved_reclassified,
        gone: s.resolved_gone,
        not_rechecked: r.baseline.as_ref().map_or(0, |b| b.not_rechecked),
    }
}

/// The summary's counts for people, in a fixed order, each with its label and the report.json
/// summary key it comes from (the XLSX Summary sheet). Baseline and Nova counts appear only when
/// the run had a baseline or Nova files.
pub fn labelled(r: &Report) -> Vec<(&'static str, &'static str, usize)> {
    let s = &r.summary;
    let mut rows = run_rows(s);
    if r.baseline.is_some() {
        rows.extend(baseline_rows(s));
    }
    if r.nova.as_ref().is_some_and(|n| !n.bdms.is_empty()) {
        rows.extend(nova_bdm_rows(s));
    }
    if r.nova.as_ref().is_some_and(|n| !n.servers.is_empty()) {
        rows.extend(coverage_rows(s));
    }
    rows
}

/// A labelled count: (label for people, report.json summary key, count).
type LabelledCount = (&'static str, &'static str, usize);

/// The counts every run has.
fn run_rows(s: &Summary) -> Vec<LabelledCount> {
    vec![
        ("Inventory entries", "entries", s.entries),
        (
            "Inventory entries that could not be audited",
            "entries_failed",
            s.entries_failed,
        ),
        ("Pools audited", "pools", s.pools),
        ("Hosts", "hosts", s.hosts),
        ("VMs", "vms", s.vms),
        ("Nova instances", "instances", s.instances),
        (
            "Blocked instances",
            "instances_blocked",
            s.instances_blocked,
        ),
        (
            "Instances to review",
            "instances_review",
            s.instances_review,
        ),
        (
            "Instances with every problem waived",
            "instances_waived",
            s.instances_waived,
        ),
        ("Instances ok", "instances_ok", s.instances_ok),
        ("Volume attachments", "attachments", s.attachments),
        ("... on legacy-named SRs", "legacy", s.legacy),
        ("... on new-style SRs", "new", s.new),
        ("... on other SRs", "other", s.other),
        ("Legacy SRs", "legacy_srs", s.legacy_srs),
        ("Orphaned legacy SRs", "orphans", s.orphans),
        ("Conflicts", "conflicts", s.conflicts),
        ("Findings waived", "findings_waived", s.findings_waived),
        ("Waivers expired", "waivers_expired", s.waivers_expired),
    ]
}

/// The comparison with a baseline.
fn baseline_rows(s: &Summary) -> [LabelledCount; 8] {
    [
        (
            "New problems since the baseline",
            "findings_new",
            s.findings_new,
        ),
        (
            "Problems first seen (pools the baseline did not audit)",
            "findings_first_seen",
            s.findings_first_seen,
        ),
        (
            "Problems unchanged",
            "findings_unchanged",
            s.findings_unchanged,
        ),
        (
            "Problems reclassified (inputs or options changed)",
            "findings_reclassified",
            s.findings_reclassified,
        ),
        ("Resolved: fixed", "resolved_fixed", s.resolved_fixed),
        ("Resolved: waived", "resolved_waived", s.resolved_waived),
        (
            "Resolved: reclassified (inputs or options changed)",
            "resolved_reclassified",
            s.resolved_reclassified,
        ),
        ("Resolved: gone", "resolved_gone", s.resolved_gone),
    ]
}

/// Nova's block device mappings (`--nova-bdms`).
fn nova_bdm_rows(s: &Summary) -> [LabelledCount; 3] {
    [
        ("Volumes matching Nova's BDMs", "nova_match", s.nova_match),
        (
            "Volumes Nova computes differently",
            "nova_mismatch",
            s.nova_mismatch,
        ),
        ("Volumes with no usable BDM", "nova_no_bdm", s.nova_no_bdm),
    ]
}

/// Coverage against Nova's server list (`--nova-servers`).
fn coverage_rows(s: &Summary) -> [LabelledCount; 4] {
    [
        (
            "Nova instances audited",
            "coverage_audited",
            s.coverage_audited,
        ),
        (
            "Nova instances not audited",
            "coverage_not_audited",
            s.coverage_not_audited,
        ),
        (
            "Nova instances missing in XAPI",
            "coverage_missing_in_xapi",
            s.coverage_missing_in_xapi,
        ),
        (
            "Nova VMs unknown to Nova",
            "coverage_unknown_to_nova",
            s.coverage_unknown_to_nova,
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Which groups of labelled counts a run shows: the run's own always, the baseline's, BDMs'
    /// and coverage's only with their inputs, every key once.
    #[test]
    fn labelled_counts_follow_the_runs_inputs() {
        for (baseline, bdms, servers, rows) in [
            (false, false, false, 19),
            (true, false, false, 27),
            (false, true, false, 22),
            (false, false, true, 23),
            (true, true, true, 34),
        ] {
            let mut r = Report::default();
            r.summary.nova_mismatch = 7;
            if baseline {
                r.baseline = Some(Default::default());
            }
            if bdms || servers {
                let mut nova = crate::report::NovaInfo::default();
                if bdms {
                    nova.bdms.push("bdms.tsv".into());
                }
                if servers {
                    nova.servers.push("servers.json".into());
                }
                r.nova = Some(nova);
            }
            let got = labelled(&r);
            let keys: std::collections::BTreeSet<&str> = got.iter().map(|(_, k, _)| *k).collect();
            assert_eq!(got.len(), rows, "{baseline} {bdms} {servers}");
            assert_eq!(keys.len(), rows, "a key twice: {got:?}");
            assert_eq!(keys.contains("findings_new"), baseline);
            assert_eq!(keys.contains("coverage_audited"), servers);
            let mismatch = got.iter().find(|(_, k, _)| *k == "nova_mismatch");
            assert_eq!(mismatch.map(|(_, _, n)| *n), bdms.then_some(7));
        }
    }

    fn instance(pool: &str, status: Status) -> Instance {
        Instance {
            pool_uuid: pool.into(),
            pool_name: pool.into(),
            host: String::new(),
            instance_uuid: String::new(),
            instance_name: String::new(),
            power_state: String::new(),
            vm_uuid: String::new(),
            volumes: 0,
            legacy: 0,
            new: 0,
            other: 0,
            conflicts: 0,
            boot_from_volume: false,
            verdict: Default::default(),
            remediation: String::new(),
            waived: status == Status::Waived,
            unpaired_bdms: String::new(),
            status,
            unpaired_verdict: None,
        }
    }

    #[test]
    fn pool_counts_are_effective_and_add_up() {
        use Status::*;
        let instances: Vec<Instance> = [
            ("p", Blocked),
            ("p", Review),
            ("p", Waived),
            ("p", Ok),
            ("p", Ok),
            ("q", Review),
        ]
        .into_iter()
        .map(|(p, s)| instance(p, s))
        .collect();
        let mut pools = vec![
            PoolRow {
                pool_uuid: "p".into(),
                instances: 5,
                ..Default::default()
            },
            PoolRow {
                pool_uuid: "q".into(),
                instances: 1,
                ..Default::default()
            },
        ];
        recount_pools(&mut pools, &instances);
        let got: Vec<[usize; 4]> = pools
            .iter()
            .map(|p| Status::ALL.map(|s| p.instances_with(s)))
            .collect();
        assert_eq!(got, vec![[1, 1, 1, 2], [0, 1, 0, 0]]);
        for p in &pools {
            assert_eq!(
                Status::ALL
                    .iter()
                    .map(|s| p.instances_with(*s))
                    .sum::<usize>(),
                p.instances
            );
        }
    }

    #[test]
    fn entry_rows_take_their_pool_s_effective_counts() {
        let pools = vec![PoolRow {
            pool_uuid: "p".into(),
            entry: "e1".into(),
            blocked: 1,
            review: 2,
            waived: 3,
            ..Default::default()
        }];
        let row = |name: &str, status: &str| HostRow {
            name: name.into(),
            status: status.into(),
            pool_uuid: "p".into(),
            blocked: 9,
            review: 9,
            ..Default::default()
        };
        let mut hosts = vec![
            row("e1", "ok"),
            row("e2", "same-pool-as:e1"),
            row("e3", "failed"),
        ];
        recount_hosts(&mut hosts, &pools);
        let got: Vec<(usize, usize)> = hosts.iter().map(|h| (h.blocked, h.review)).collect();
        assert_eq!(got, vec![(1, 2), (9, 9), (9, 9)]);
    }
}
