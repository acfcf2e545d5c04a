//! The report: one owner assembles every pool's audit and every inventory entry's outcome into a
//! [`Report`], computes the summary and the exit code, and hands it to the writers (CSV, JSON, HTML,
//! Markdown). Writers never see partial state: all files are staged as temporary files and renamed into
//! place together at the end (see [`atomic`]).

pub mod atomic;
pub mod counts;
pub mod csv_out;
pub mod html;
pub mod json_out;
pub mod junit;
pub mod manifest;
pub mod prom;
pub mod provenance;
pub mod runbook;
pub mod summary_md;
pub mod xlsx;

pub use counts::Summary;

use crate::audit::{Conflict, CoverageRow, Finding, Instance, Orphan, PoolAudit};
use crate::classify::Naming;
use crate::policy::baseline::{BaselineInfo, Resolved};
use crate::policy::gate::{self, FailOn, GateCounts};
use crate::policy::inputs::Inputs;
use crate::policy::waivers::WaiverStatus;
use serde::{Deserialize, Serialize};

/// Bumped whenever a field of report.json or a column of a CSV changes meaning or order.
/// 2: `finding_id` is pool/instance/userdevice (was with the SR uuid), `resolved[]` entries are
/// [`Resolved`] records, `baseline` values include `first-seen` and `resolved`.
/// 3: instance counts are effective verdicts (`instances_blocked` + `instances_review` +
/// `instances_waived` + `instances_ok` = `instances`; the `_unwaived` counts are gone), instances carry
/// `status`, pools `waived` and `ok`; `baseline` values and `resolved[].change` split `fixed`, `waived`,
/// `reclassified` and `gone`; the run's `inputs` and `exit_reasons` are recorded.
pub const SCHEMA_VERSION: u32 = 3;

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
    /// For a dump `capture` wrote: where, when and by what it was taken (report.json only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub captured: Option<provenance::Captured>,
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
    /// Instances whose every problem is waived, and instances with none (with `blocked` and
    /// `review`, effective verdicts that add up to `instances`).
    #[serde(default)]
    pub waived: usize,
    #[serde(default)]
    pub ok: usize,
}

/// Everything a run found: what every writer renders.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub schema_version: u32,
    pub run: RunMeta,
    pub summary: Summary,
    pub exit_code: u8,
    /// Why the exit code is what it is, one phrase per reason (empty for 0).
    #[serde(default)]
    pub exit_reasons: Vec<String>,
    /// What this run read and the options that change verdicts (schema 3).
    #[serde(default)]
    pub inputs: Option<Inputs>,
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
    /// Hosts' memory and instances' memory and local disks, for `plan` (absent figures: null).
    #[serde(default)]
    pub capacity: crate::audit::capacity::PoolCapacity,
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
        let mut row = PoolRow {
            pool_uuid: a.pool_uuid.clone(),
            pool_name: a.pool_name.clone(),
            entry: entry.to_string(),
            hosts: a.hosts,
            vms: a.vms,
            instances: a.instances.len(),
            legacy: naming(Naming::Legacy),
            new: naming(Naming::New),
            other: naming(Naming::Other),
            legacy_srs: a.legacy_srs,
            orphans: a.orphans.len(),
            conflicts: a.conflicts.len(),
            ..Default::default()
        };
        counts::recount_pools(std::slice::from_mut(&mut row), &a.instances);
        row
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
            r.capacity.hosts.extend(a.capacity.hosts);
            r.capacity.instances.extend(a.capacity.instances);
        }
        r.capacity
            .hosts
            .sort_by(|a, b| (&a.pool_uuid, &a.host).cmp(&(&b.pool_uuid, &b.host)));
        r.capacity.instances.sort_by(|a, b| {
            (&a.pool_uuid, &a.instance_uuid).cmp(&(&b.pool_uuid, &b.instance_uuid))
        });
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

    /// Recount every pool, entry and the summary from the instances' effective verdicts (once
    /// baseline and waivers are applied), and decide the exit code from those same numbers.
    pub fn finalize(&mut self, fail_on: FailOn) {
        self.fail_on = fail_on.as_str().to_string();
        counts::recount_pools(&mut self.pools, &self.instances);
        counts::recount_hosts(&mut self.hosts, &self.pools);
        self.summary = counts::summarise(self);
        let decision = gate::decide(&self.gate_counts(), fail_on);
        self.exit_code = decision.code;
        self.exit_reasons = decision.reasons;
    }

    /// What the exit-code gate decides on.
    pub fn gate_counts(&self) -> GateCounts {
        let s = &self.summary;
        GateCounts {
            instances_blocked: s.instances_blocked,
            instances_review: s.instances_review,
            orphans: s.orphans,
            conflicts: s.conflicts,
            entries_failed: s.entries_failed,
            instances_not_audited: s.coverage_not_audited,
            coverage_warnings: s.coverage_missing_in_xapi + s.coverage_unknown_to_nova,
        }
    }

    /// The one-line verdict used by the console, the HTML header and summary.md.
    pub fn verdict_line(&self) -> String {
        counts::verdict_line(self)
    }
}

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
    /// Add the runbook (`scan --plan`): a Runbook section in report.html, a sheet in report.xlsx.
    pub plan: bool,
}

/// Every file name a run may write into `--out`: the only files a later run removes when it does
/// not write them again, and only when the manifest says this tool wrote them as they are.
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
    /// Files with a report's name that this run did not write and that are not an earlier run's
    /// unchanged output (someone else's, edited, or from before manifests): left alone.
    pub kept: Vec<std::path::PathBuf>,
}

/// One report file to stage: its name and how to write it.
type Job<'a> = (
    &'static str,
    Box<dyn FnOnce(&mut dyn std::io::Write) -> std::io::Result<()> + Send + 'a>,
);

/// A CSV report of `rows`, with a byte order mark first when asked (`--csv-bom`).
fn csv_job<'a, T: csv_out::CsvRow + Sync>(name: &'static str, rows: &'a [T], bom: bool) -> Job<'a> {
    (
        name,
        Box::new(move |w: &mut dyn std::io::Write| {
            if bom {
                w.write_all(csv_out::UTF8_BOM)?;
            }
            csv_out::write_csv(w, rows)
        }),
    )
}

/// The CSV reports; coverage.csv only when the run read Nova's server list.
fn csv_jobs(report: &Report, bom: bool) -> Vec<Job<'_>> {
    let mut jobs = vec![
        csv_job("findings.csv", &report.findings, bom),
        csv_job("instances.csv", &report.instances, bom),
        csv_job("hosts.csv", &report.hosts, bom),
        csv_job("orphans.csv", &report.orphans, bom),
        csv_job("conflicts.csv", &report.conflicts, bom),
    ];
    if report.nova.as_ref().is_some_and(|n| !n.servers.is_empty()) {
        jobs.push(csv_job("coverage.csv", &report.coverage, bom));
    }
    jobs
}

/// Write the chosen formats into `dir`, all or nothing, then remove the tool's own report files this
/// run did not write.
pub fn write_reports(
    report: &Report,
    dir: &std::path::Path,
    formats: &[Format],
    options: WriteOptions,
) -> Result<Written, crate::error::ReportError> {
    let runbook = options.plan.then(|| runbook::runbook(report));
    let runbook = runbook.as_ref();
    let mut out = atomic::StagedOutputs::new(dir)?;
    let mut jobs: Vec<Job> = Vec::new();
    for format in formats {
        match format {
            Format::Csv => jobs.extend(csv_jobs(report, options.csv_bom)),
            Format::Json => {
                jobs.push(("report.json", Box::new(|w| json_out::write_json(w, report))))
            }
            Format::Html => jobs.push((
                "report.html",
                Box::new(move |w| html::write_html_with(w, report, runbook)),
            )),
            Format::Markdown => {
                jobs.push(("summary.md", Box::new(|w| summary_md::write_md(w, report))))
            }
            Format::Xlsx => jobs.push((
                "report.xlsx",
                Box::new(move |w| xlsx::write_xlsx_with(w, report, runbook)),
            )),
            Format::Junit => jobs.push(("junit.xml", Box::new(|w| junit::write_junit(w, report)))),
            Format::Prom => jobs.push(("metrics.prom", Box::new(|w| prom::write_prom(w, report)))),
        }
    }
    let previous = manifest::Manifest::read(dir);
    out.stage_parallel(jobs)?;
    let this_run = manifest::Manifest::of(out.digests());
    out.stage(manifest::MANIFEST_FILE, |w| this_run.write(w))?;
    let mut files = out.commit()?;
    files.retain(|f| !f.ends_with(manifest::MANIFEST_FILE));
    let cleanup = manifest::clean_up(dir, REPORT_FILES, &files, &previous)?;
    Ok(Written {
        files,
        removed: cleanup.removed,
        kept: cleanup.kept,
    })
}
