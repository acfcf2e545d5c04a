//! The report: one owner assembles every pool's audit and every inventory entry's outcome into a
//! [`Report`], computes the summary and the exit code, and hands it to the writers (CSV, JSON, HTML,
//! Markdown). Writers never see partial state: all files are staged as temporary files and renamed into
//! place together at the end (see [`atomic`]).

pub mod atomic;
pub mod csv_out;
pub mod html;
pub mod json_out;
pub mod junit;
pub mod prom;
pub mod summary_md;
pub mod xlsx;

use crate::audit::{
    findings_by_instance, Conflict, Coverage, CoverageRow, Finding, Instance, NovaCheck, Orphan,
    PoolAudit, Verdict,
};
use crate::classify::Naming;
use crate::policy::baseline::{BaselineInfo, Resolved};
use crate::policy::gate::{self, FailOn, GateCounts};
use crate::policy::waivers::WaiverStatus;
use serde::{Deserialize, Serialize};

/// Bumped whenever a field of report.json or a column of a CSV changes meaning or order.
/// 2: `finding_id` is pool/instance/userdevice (was with the SR uuid), `resolved[]` entries are
/// [`Resolved`] records, `baseline` values include `first-seen` and `resolved`.
pub const SCHEMA_VERSION: u32 = 2;

/// The outcome of one inventory entry, a row of hosts.csv.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostRow {
    pub name: String,
    pub source: String,
    pub site: String,
    pub tags: String,
    /// `ok`, `failed`, or `same-pool-as:<name>`.
    pub status: String,
    pub pool_uuid: String,
    pub pool_name: String,
    pub error: String,
    pub duration_ms: u64,
    pub hosts: usize,
    pub vms: usize,
    pub instances: usize,
    pub attachments: usize,
    pub blocked: usize,
    pub review: usize,
    pub legacy_srs: usize,
    pub orphans: usize,
    pub conflicts: usize,
    /// TLS certificate verification was turned off for this entry.
    pub insecure: bool,
    /// How the connection was secured: `none` (http), `verified`, `pinned` or `insecure`; empty for
    /// dumps.
    #[serde(default)]
    pub tls: String,
    /// The TLS version negotiated (`TLSv1.2`, `TLSv1`, ...), empty when none was.
    #[serde(default)]
    pub tls_version: String,
}

impl HostRow {
    /// TLS 1.0 or 1.1: what old XenServer hosts speak, flagged in the reports.
    pub fn legacy_tls(&self) -> bool {
        matches!(self.tls_version.as_str(), "TLSv1" | "TLSv1.1")
    }
}

/// Run metadata: what produced this report, when, from what.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunMeta {
    pub tool: String,
    pub version: String,
    pub started_at: String,
    pub finished_at: String,
    pub duration_ms: u64,
    pub inventory: String,
    pub inventory_sha256: String,
    pub command: String,
    /// False when the scan was interrupted: the report then covers only the entries that finished.
    pub complete: bool,
}

/// Counts over the whole run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub entries: usize,
    pub entries_failed: usize,
    pub pools: usize,
    pub hosts: usize,
    pub vms: usize,
    pub instances: usize,
    pub instances_blocked: usize,
    pub instances_review: usize,
    pub instances_ok: usize,
    pub attachments: usize,
    pub legacy: usize,
    pub new: usize,
    pub other: usize,
    pub legacy_srs: usize,
    pub orphans: usize,
    pub conflicts: usize,
    /// Instances blocked / to review once waived findings are set aside (what the exit code uses).
    #[serde(default)]
    pub instances_blocked_unwaived: usize,
    #[serde(default)]
    pub instances_review_unwaived: usize,
    #[serde(default)]
    pub findings_waived: usize,
    #[serde(default)]
    pub waivers_expired: usize,
    /// Against `--baseline` (zero without one).
    #[serde(default)]
    pub findings_new: usize,
    #[serde(default)]
    pub findings_unchanged: usize,
    #[serde(default)]
    pub findings_resolved: usize,
    /// Problems in pools the baseline did not audit.
    #[serde(default)]
    pub findings_first_seen: usize,
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

/// The Nova files and destination options a run used.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NovaInfo {
    pub servers: Vec<String>,
    pub bdms: Vec<String>,
    /// `[xenserver] target_port` assumed for the destinations.
    pub target_port: String,
    /// `[xenserver] target_host` assumed for the destinations (empty: none).
    pub target_host: String,
}

/// Per-pool counts (the HTML per-pool table and chart).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolRow {
    pub pool_uuid: String,
    pub pool_name: String,
    pub entry: String,
    pub hosts: usize,
    pub vms: usize,
    pub instances: usize,
    pub blocked: usize,
    pub review: usize,
    pub legacy: usize,
    pub new: usize,
    pub other: usize,
    pub legacy_srs: usize,
    pub orphans: usize,
    pub conflicts: usize,
}

/// Everything a run found: what every writer renders.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub schema_version: u32,
    pub run: RunMeta,
    pub summary: Summary,
    pub exit_code: u8,
    pub hosts: Vec<HostRow>,
    pub pools: Vec<PoolRow>,
    pub findings: Vec<Finding>,
    pub instances: Vec<Instance>,
    pub orphans: Vec<Orphan>,
    pub conflicts: Vec<Conflict>,
    /// `--fail-on` of this run.
    #[serde(default)]
    pub fail_on: String,
    /// The run this one was compared with, if any.
    #[serde(default)]
    pub baseline: Option<BaselineInfo>,
    /// Problems of the baseline that are fine now or gone (their pool was audited this run).
    #[serde(default)]
    pub resolved: Vec<Resolved>,
    /// Every waiver given, with whether it matched and whether it has expired.
    #[serde(default)]
    pub waivers: Vec<WaiverStatus>,
    /// The Nova files and options this run used (`None` without Nova files).
    #[serde(default)]
    pub nova: Option<NovaInfo>,
    /// Every instance Nova knows or XAPI holds, and how the audit covers it (`--nova-servers`).
    #[serde(default)]
    pub coverage: Vec<CoverageRow>,
    /// The burn-down over `scan --history` (not part of report.json: the history is its own files).
    #[serde(skip)]
    pub burndown: Option<BurnDown>,
}

/// The burn-down of earlier runs and this one, drawn by `trend` for report.html and summary.md.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BurnDown {
    /// Where the fleet stands and how fast it moves.
    pub headline: String,
    /// The chart as an inline `<svg>` fragment, every name in it already escaped.
    pub svg: String,
    pub runs: Vec<BurnDownRun>,
}

/// One run of the burn-down, whole fleet.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BurnDownRun {
    pub date: String,
    pub blocked: usize,
    pub review: usize,
    pub waived: usize,
    pub legacy_srs: usize,
    pub complete: bool,
    pub other_inputs: bool,
}

impl PoolRow {
    pub fn from_audit(entry: &str, a: &PoolAudit) -> PoolRow {
        let naming = |n: Naming| a.findings.iter().filter(|f| f.naming == n).count();
        PoolRow {
            pool_uuid: a.pool_uuid.clone(),
            pool_name: a.pool_name.clone(),
            entry: entry.to_string(),
            hosts: a.hosts,
            vms: a.vms,
            instances: a.instances.len(),
            blocked: a
                .instances
                .iter()
                .filter(|i| i.verdict == Verdict::Blocked)
                .count(),
            review: a
                .instances
                .iter()
                .filter(|i| i.verdict == Verdict::Review)
                .count(),
            legacy: naming(Naming::Legacy),
            new: naming(Naming::New),
            other: naming(Naming::Other),
            legacy_srs: a.legacy_srs,
            orphans: a.orphans.len(),
            conflicts: a.conflicts.len(),
        }
    }
}

impl Report {
    /// Assemble a report from entry rows and the audits of the pools they stand for (one per pool).
    /// The summary and exit code are left for [`Report::finalize`], once baseline and waivers apply.
    pub fn assemble(run: RunMeta, hosts: Vec<HostRow>, audits: Vec<(String, PoolAudit)>) -> Report {
        let mut r = Report {
            schema_version: SCHEMA_VERSION,
            run,
            hosts,
            ..Default::default()
        };
        for (entry, a) in audits {
            r.pools.push(PoolRow::from_audit(&entry, &a));
            r.findings.extend(a.findings);
            r.instances.extend(a.instances);
            r.orphans.extend(a.orphans);
            r.conflicts.extend(a.conflicts);
        }
        r.sort();
        r
    }

    fn sort(&mut self) {
        fn ud(u: &str) -> (u64, &str) {
            (u.parse::<u64>().unwrap_or(u64::MAX), u)
        }
        self.pools
            .sort_by(|a, b| (&a.pool_name, &a.pool_uuid).cmp(&(&b.pool_name, &b.pool_uuid)));
        self.findings.sort_by(|a, b| {
            (
                &a.pool_name,
                &a.pool_uuid,
                &a.instance_name,
                &a.instance_uuid,
                &a.vm_uuid,
                ud(&a.userdevice),
                &a.vdi_uuid,
                &a.sr_uuid,
            )
                .cmp(&(
                    &b.pool_name,
                    &b.pool_uuid,
                    &b.instance_name,
                    &b.instance_uuid,
                    &b.vm_uuid,
                    ud(&b.userdevice),
                    &b.vdi_uuid,
                    &b.sr_uuid,
                ))
        });
        self.instances.sort_by(|a, b| {
            (
                &a.pool_name,
                &a.pool_uuid,
                &a.instance_name,
                &a.instance_uuid,
                &a.vm_uuid,
            )
                .cmp(&(
                    &b.pool_name,
                    &b.pool_uuid,
                    &b.instance_name,
                    &b.instance_uuid,
                    &b.vm_uuid,
                ))
        });
        self.orphans.sort_by(|a, b| {
            (&a.pool_name, &a.pool_uuid, &a.sr_uuid).cmp(&(&b.pool_name, &b.pool_uuid, &b.sr_uuid))
        });
        self.conflicts.sort_by(|a, b| {
            (&a.pool_name, &a.pool_uuid, &a.legacy_sr_uuid).cmp(&(
                &b.pool_name,
                &b.pool_uuid,
                &b.legacy_sr_uuid,
            ))
        });
    }

    fn summarise(&self) -> Summary {
        let verdicts = |v: Verdict| self.instances.iter().filter(|i| i.verdict == v).count();
        let by_instance = findings_by_instance(&self.findings);
        let unwaived_verdict = |i: &Instance| -> Verdict {
            by_instance
                .get(&(i.pool_uuid.as_str(), i.vm_uuid.as_str()))
                .into_iter()
                .flatten()
                .filter(|f| f.counts())
                .map(|f| f.verdict)
                .max()
                .unwrap_or_default()
        };
        let naming = |n: Naming| self.findings.iter().filter(|f| f.naming == n).count();
        let nova = |c: NovaCheck| {
            self.findings
                .iter()
                .filter(|f| f.nova_check == c.as_str())
                .count()
        };
        let covered = |c: Coverage| self.coverage.iter().filter(|r| r.coverage == c).count();
        Summary {
            entries: self.hosts.len(),
            entries_failed: self.hosts.iter().filter(|h| h.status == "failed").count(),
            pools: self.pools.len(),
            hosts: self.pools.iter().map(|p| p.hosts).sum(),
            vms: self.pools.iter().map(|p| p.vms).sum(),
            instances: self.instances.len(),
            instances_blocked: verdicts(Verdict::Blocked),
            instances_review: verdicts(Verdict::Review),
            instances_ok: verdicts(Verdict::Ok),
            attachments: self.findings.len(),
            legacy: naming(Naming::Legacy),
            new: naming(Naming::New),
            other: naming(Naming::Other),
            legacy_srs: self.pools.iter().map(|p| p.legacy_srs).sum(),
            orphans: self.orphans.len(),
            conflicts: self.conflicts.len(),
            instances_blocked_unwaived: self
                .instances
                .iter()
                .filter(|i| unwaived_verdict(i) == Verdict::Blocked)
                .count(),
            instances_review_unwaived: self
                .instances
                .iter()
                .filter(|i| unwaived_verdict(i) == Verdict::Review)
                .count(),
            findings_waived: self
                .findings
                .iter()
                .filter(|f| f.waiver == "waived")
                .count(),
            waivers_expired: self
                .waivers
                .iter()
                .filter(|w| w.status == "expired")
                .count(),
            findings_new: self.findings.iter().filter(|f| f.baseline == "new").count(),
            findings_first_seen: self
                .findings
                .iter()
                .filter(|f| f.baseline == "first-seen")
                .count(),
            findings_unchanged: self
                .findings
                .iter()
                .filter(|f| f.baseline == "unchanged")
                .count(),
            findings_resolved: self.resolved.len(),
            nova_match: nova(NovaCheck::Match),
            nova_mismatch: nova(NovaCheck::Mismatch),
            nova_no_bdm: nova(NovaCheck::NoBdm),
            coverage_audited: covered(Coverage::Audited),
            coverage_not_audited: covered(Coverage::NotAudited),
            coverage_missing_in_xapi: covered(Coverage::MissingInXapi),
            coverage_unknown_to_nova: covered(Coverage::UnknownToNova),
        }
    }

    /// Recompute the summary and the exit code after baseline and waivers were applied.
    pub fn finalize(&mut self, fail_on: FailOn) {
        self.fail_on = fail_on.as_str().to_string();
        self.summary = self.summarise();
        self.exit_code = gate::exit_code(&self.gate_counts(), fail_on);
    }

    /// What the exit-code gate decides on.
    pub fn gate_counts(&self) -> GateCounts {
        let s = &self.summary;
        GateCounts {
            instances_blocked_unwaived: s.instances_blocked_unwaived,
            instances_review_unwaived: s.instances_review_unwaived,
            orphans: s.orphans,
            conflicts: s.conflicts,
            entries_failed: s.entries_failed,
            instances_not_audited: s.coverage_not_audited,
            coverage_warnings: s.coverage_missing_in_xapi + s.coverage_unknown_to_nova,
        }
    }

    /// The one-line verdict used by the console, the HTML header and summary.md.
    pub fn verdict_line(&self) -> String {
        let s = &self.summary;
        let pools = |n: usize| {
            if n == 1 {
                "1 pool".to_string()
            } else {
                format!("{n} pools")
            }
        };
        let blocked_pools = self.pools.iter().filter(|p| p.blocked > 0).count();
        if s.pools == 0 {
            let mut line = format!(
                "Nothing could be audited: {} of {} inventory entr{} failed",
                s.entries_failed,
                s.entries,
                if s.entries == 1 { "y" } else { "ies" }
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
        let mut line = if s.instances_blocked > 0 {
            format!(
                "{} instance{} in {} cannot be live-migrated after the upgrade",
                s.instances_blocked,
                if s.instances_blocked == 1 { "" } else { "s" },
                pools(blocked_pools)
            )
        } else {
            format!(
                "No instance in {} is blocked from live migration after the upgrade",
                pools(s.pools)
            )
        };
        if s.instances_blocked > 0 && s.instances_blocked_unwaived < s.instances_blocked {
            // Counted by instance: an instance is waived when every finding that makes it blocked
            // is; one that then still has a volume to review is counted there.
            line.push_str(&format!(
                " ({} waived)",
                s.instances_blocked - s.instances_blocked_unwaived
            ));
        }
        if s.instances_review_unwaived > 0 {
            line.push_str(&format!(
                "; {} need{} review",
                s.instances_review_unwaived,
                if s.instances_review_unwaived == 1 {
                    "s"
                } else {
                    ""
                }
            ));
        }
        if s.entries_failed > 0 {
            line.push_str(&format!(
                "; {} of {} inventory entries could not be audited",
                s.entries_failed, s.entries
            ));
        }
        if s.coverage_not_audited > 0 {
            line.push_str(&format!(
                "; {} instance{} known to Nova {} not audited",
                s.coverage_not_audited,
                plural(s.coverage_not_audited),
                if s.coverage_not_audited == 1 {
                    "was"
                } else {
                    "were"
                }
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
}

use crate::audit::plural;

/// A file name made from an inventory name: anything but letters, digits, `-`, `_` and `.` becomes `_`.
pub fn safe_file_name(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() || s.starts_with('.') {
        format!("_{s}")
    } else {
        s
    }
}

/// Report formats `--format` can pick.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Format {
    Csv,
    Json,
    Html,
    Markdown,
    Xlsx,
    Junit,
    Prom,
}

impl Format {
    pub const ALL: [Format; 7] = [
        Format::Csv,
        Format::Json,
        Format::Html,
        Format::Markdown,
        Format::Xlsx,
        Format::Junit,
        Format::Prom,
    ];
    /// The names `--format` accepts (besides `all`).
    pub const NAMES: &'static str = "csv, json, html, md, xlsx, junit, prom";

    pub fn parse(s: &str) -> Option<Format> {
        match s.trim().to_ascii_lowercase().as_str() {
            "csv" => Some(Format::Csv),
            "json" => Some(Format::Json),
            "html" => Some(Format::Html),
            "md" | "markdown" => Some(Format::Markdown),
            "xlsx" => Some(Format::Xlsx),
            "junit" => Some(Format::Junit),
            "prom" | "prometheus" => Some(Format::Prom),
            _ => None,
        }
    }
}

/// How reports are written, beyond which formats.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteOptions {
    /// Start every CSV file with a UTF-8 byte order mark (`--csv-bom`).
    pub csv_bom: bool,
}

/// Every file name a run may write into `--out`: the only files a later run removes when it does
/// not write them again.
pub const REPORT_FILES: &[&str] = &[
    "findings.csv",
    "instances.csv",
    "hosts.csv",
    "orphans.csv",
    "conflicts.csv",
    "coverage.csv",
    "report.json",
    "report.html",
    "summary.md",
    "report.xlsx",
    "junit.xml",
    "metrics.prom",
];

/// What [`write_reports`] did.
#[derive(Debug, Default)]
pub struct Written {
    pub files: Vec<std::path::PathBuf>,
    /// Reports of an earlier run that this run did not write again, removed so that the folder
    /// holds one run's reports only.
    pub removed: Vec<std::path::PathBuf>,
}

/// Write the chosen formats into `dir`, all or nothing, then remove the tool's own report files this
/// run did not write.
pub fn write_reports(
    report: &Report,
    dir: &std::path::Path,
    formats: &[Format],
    options: WriteOptions,
) -> Result<Written, crate::error::ReportError> {
    let mut out = atomic::StagedOutputs::new(dir)?;
    type Job<'a> = (
        &'static str,
        Box<dyn FnOnce(&mut dyn std::io::Write) -> std::io::Result<()> + Send + 'a>,
    );
    let mut jobs: Vec<Job> = Vec::new();
    for format in formats {
        match format {
            Format::Csv => {
                let bom = move |w: &mut dyn std::io::Write| {
                    if options.csv_bom {
                        w.write_all(csv_out::UTF8_BOM)?;
                    }
                    Ok::<(), std::io::Error>(())
                };
                jobs.push((
                    "findings.csv",
                    Box::new(move |w| {
                        bom(w)?;
                        csv_out::write_csv(w, &report.findings)
                    }),
                ));
                jobs.push((
                    "instances.csv",
                    Box::new(move |w| {
                        bom(w)?;
                        csv_out::write_csv(w, &report.instances)
                    }),
                ));
                jobs.push((
                    "hosts.csv",
                    Box::new(move |w| {
                        bom(w)?;
                        csv_out::write_csv(w, &report.hosts)
                    }),
                ));
                jobs.push((
                    "orphans.csv",
                    Box::new(move |w| {
                        bom(w)?;
                        csv_out::write_csv(w, &report.orphans)
                    }),
                ));
                jobs.push((
                    "conflicts.csv",
                    Box::new(move |w| {
                        bom(w)?;
                        csv_out::write_csv(w, &report.conflicts)
                    }),
                ));
                if report.nova.as_ref().is_some_and(|n| !n.servers.is_empty()) {
                    jobs.push((
                        "coverage.csv",
                        Box::new(move |w| {
                            bom(w)?;
                            csv_out::write_csv(w, &report.coverage)
                        }),
                    ));
                }
            }
            Format::Json => {
                jobs.push(("report.json", Box::new(|w| json_out::write_json(w, report))))
            }
            Format::Html => jobs.push(("report.html", Box::new(|w| html::write_html(w, report)))),
            Format::Markdown => {
                jobs.push(("summary.md", Box::new(|w| summary_md::write_md(w, report))))
            }
            Format::Xlsx => jobs.push(("report.xlsx", Box::new(|w| xlsx::write_xlsx(w, report)))),
            Format::Junit => jobs.push(("junit.xml", Box::new(|w| junit::write_junit(w, report)))),
            Format::Prom => jobs.push(("metrics.prom", Box::new(|w| prom::write_prom(w, report)))),
        }
    }
    out.stage_parallel(jobs)?;
    let files = out.commit()?;
    let removed = atomic::remove_stale(dir, REPORT_FILES, &files)?;
    Ok(Written { files, removed })
}
