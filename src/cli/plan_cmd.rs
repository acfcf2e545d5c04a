//! `xen-sr-audit plan`: its arguments, checked before anything is read, and the two modes: write a
//! runbook from a report.json, or (`--check`) compare a later scan with a plan.csv. Bad input is one
//! line and exit 64; a plan that cannot be written is exit 74; nothing is ever run.

use crate::cli::output::console;
use crate::cli::UsageError;
use crate::plan::{self, Cli as PlanCli, Limits, PlanError, PlanOptions, Prefer, Priority};
use crate::policy::exit;
use crate::text::{count, count_as};
use clap::Args;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The scan's report.json to plan from.
    #[arg(value_name = "REPORT.json")]
    pub report: Option<PathBuf>,
    /// Folder to write plan.md, plan.csv and plan.sh into.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// At most this many actions per wave.
    #[arg(long, default_value_t = default_limit(|l| l.total), value_parser = limit())]
    pub parallel_total: u32,
    /// At most this many actions per source host in a wave.
    #[arg(long, default_value_t = default_limit(|l| l.per_host), value_parser = limit())]
    pub parallel_per_host: u32,
    /// At most this many actions per pool in a wave.
    #[arg(long, default_value_t = default_limit(|l| l.per_pool), value_parser = limit())]
    pub parallel_per_pool: u32,
    /// Which actions go first.
    #[arg(long, value_enum, default_value_t = Priority::default())]
    pub priority: Priority,
    /// For instances whose blocked volumes are all data volumes: detach/re-attach, or cold-migrate.
    #[arg(long, value_enum, default_value_t = Prefer::default())]
    pub prefer: Prefer,
    /// Write commands for novaclient (Mitaka era) or python-openstackclient.
    #[arg(long, value_enum, default_value_t = PlanCli::default())]
    pub cli: PlanCli,
    /// A file of hostnames (one a line, `#` comments) whose nova-compute already names SRs the new way.
    #[arg(long, value_name = "FILE")]
    pub upgraded: Option<PathBuf>,
    /// Copy rate of local disks between hosts in a cold migration, MB/s.
    #[arg(long, default_value_t = plan::DEFAULT_COPY_RATE_MBPS, value_name = "MBPS", value_parser = super::values::copy_rate)]
    pub copy_rate: f64,
    /// Compare this later scan's report.json with the plan given by --plan.
    #[arg(long, value_name = "NEW.json", requires = "plan", conflicts_with_all = ["report", "out"])]
    pub check: Option<PathBuf>,
    /// The plan.csv to check against (with --check).
    #[arg(long, value_name = "FILE", requires = "check")]
    pub plan: Option<PathBuf>,
}

/// One of the planner's own wave limits ([`Limits::default`]), as the option's default.
fn default_limit(field: fn(Limits) -> usize) -> u32 {
    u32::try_from(field(Limits::default())).expect("a default wave limit fits in u32")
}

/// The range every `--parallel-...` limit must be in.
fn limit() -> clap::builder::RangedI64ValueParser<u32> {
    clap::value_parser!(u32).range(1..=100_000)
}

impl PlanArgs {
    fn options(&self) -> Result<PlanOptions, anyhow::Error> {
        Ok(PlanOptions {
            limits: Limits {
                total: self.parallel_total as usize,
                per_host: self.parallel_per_host as usize,
                per_pool: self.parallel_per_pool as usize,
            },
            priority: self.priority,
            prefer: self.prefer,
            cli: self.cli,
            upgraded: self.upgraded.as_deref().map(read_upgraded).transpose()?,
            copy_rate_mbps: self.copy_rate,
        })
    }
}

/// The `--upgraded` file: one hostname a line, `#` comments and blank lines ignored.
fn read_upgraded(path: &Path) -> Result<Vec<String>, PlanError> {
    let text = std::fs::read_to_string(path).map_err(|e| PlanError::Input {
        path: path.display().to_string(),
        message: format!("cannot read: {e}"),
    })?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(String::from)
        .collect())
}

/// Run `plan` in either mode.
pub fn plan_command(a: &PlanArgs) -> anyhow::Result<ExitCode> {
    if let (Some(new), Some(plan_csv)) = (&a.check, &a.plan) {
        return check_command(new, plan_csv);
    }
    let (Some(report_path), Some(out)) = (&a.report, &a.out) else {
        return Err(UsageError(
            "plan needs REPORT.json and --out DIR (or --check NEW.json --plan plan.csv)".into(),
        )
        .into());
    };
    let options = a.options()?;
    let report = plan::read_report(report_path)?;
    if let (Some(names), Some(path)) = (&options.upgraded, &a.upgraded) {
        plan::check_upgraded(&report, names, &path.display().to_string())?;
    }
    if !report.complete() && report.findings().is_empty() {
        return Err(PlanError::Input {
            path: report_path.display().to_string(),
            message: "an interrupted scan that audited nothing: nothing to plan".into(),
        }
        .into());
    }
    let plan = plan::build_plan(&report, &options);
    plan::writers::write_plan(&plan, &report_path.display().to_string(), out)?;
    let planned = plan.actions.iter().filter(|a| a.wave.is_some()).count();
    console!(
        "plan: {} in {}, {} not planned; capacity {}; wrote plan.md, plan.csv, plan.sh into {}",
        count(planned, "action"),
        count(plan.waves, "wave"),
        plan.actions.len() - planned,
        if plan.capacity_known {
            "checked"
        } else {
            "unknown"
        },
        out.display()
    );
    if !plan.complete {
        console!("plan: warning: the scan was interrupted: only what it audited is planned ({} not audited)", count_as(plan.not_audited.len(), "entry", "entries"));
        return Ok(ExitCode::from(exit::ENTRY_FAILED));
    }
    Ok(ExitCode::SUCCESS)
}

fn check_command(new: &Path, plan_csv: &Path) -> anyhow::Result<ExitCode> {
    let planned = plan::check::read_plan_csv(plan_csv)?;
    let report = plan::read_report(new)?;
    let outcomes = plan::check::check(&planned, &report);
    // A reader that stops early (`| head`) does not change the comparison's exit code.
    super::commands::keep_going_if_closed(super::output::write_stdout(plan::check::render(
        &outcomes,
    )))?;
    let all_done = outcomes
        .iter()
        .all(|o| o.status == plan::check::Status::Done);
    Ok(ExitCode::from(if all_done {
        exit::CLEAN
    } else {
        exit::BLOCKED
    }))
}
