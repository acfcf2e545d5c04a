//! `xen-sr-audit plan`: from audit to action. It reads a scan's report.json and turns every blocked,
//! unwaived instance into exactly one action that makes an upgraded nova-compute reconnect its
//! volumes (cold migration, detach/re-attach), chosen by the rules of Nova's own code ([`rules`]),
//! grouped into waves under parallel limits and a memory-capacity rule ([`waves`]), with the commands
//! ([`commands`]), the precondition, the expected downtime and the check that proves it worked; then
//! writes plan.md, plan.csv and plan.sh ([`writers`]). `plan --check` compares a later scan with the
//! plan ([`check`]). The planner runs nothing and reads nothing but files: the tool stays read-only.

pub mod check;
pub mod commands;
pub mod input;
pub mod rules;
pub mod waves;
pub mod writers;

pub use commands::Cli;
pub use input::{read_report, BlockedInstance, ReportIn};
pub use rules::{ActionKind, Prefer};
pub use waves::Limits;

use commands::Step;

/// A planning failure: bad input (exit 64) or a plan that could not be written (exit 74).
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("{path}: {message}")]
    Input { path: String, message: String },
    #[error("{path}: cannot write plan: {cause}")]
    Output {
        path: String,
        #[source]
        cause: std::io::Error,
    },
}

/// `--priority`: which actions go first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Priority {
    /// Pool by pool (the default): one pool's change window after another.
    #[default]
    Pool,
    Project,
    Host,
    /// Shortest expected downtime first.
    Downtime,
}

/// A fixed cost of a cold migration: shut down, start on the destination, boot.
pub const BOOT_COST_S: u64 = 120;
/// A fixed cost of detaching and re-attaching one data volume (it is offline to the guest meanwhile).
pub const REATTACH_COST_S: u64 = 30;
/// `--copy-rate` default, MB/s (10^6 bytes a second): rsync over SSH between hosts.
pub const DEFAULT_COPY_RATE_MBPS: f64 = 100.0;

/// Everything `plan` can be told.
#[derive(Debug, Clone)]
pub struct PlanOptions {
    pub limits: Limits,
    pub priority: Priority,
    pub prefer: Prefer,
    pub cli: Cli,
    /// Hostnames whose nova-compute already reconnects with new-style names (`--upgraded`).
    pub upgraded: Option<Vec<String>>,
    pub copy_rate_mbps: f64,
}

impl Default for PlanOptions {
    fn default() -> Self {
        PlanOptions {
            limits: Limits::default(),
            priority: Priority::default(),
            prefer: Prefer::default(),
            cli: Cli::default(),
            upgraded: None,
            copy_rate_mbps: DEFAULT_COPY_RATE_MBPS,
        }
    }
}

/// One action: one blocked instance and what clears it.
#[derive(Debug, Clone)]
pub struct Action {
    /// 1-based wave; `None` when not planned.
    pub wave: Option<usize>,
    pub instance: BlockedInstance,
    pub kind: ActionKind,
    pub why: &'static str,
    pub nova: &'static str,
    pub steps: Vec<Step>,
    pub downtime_s: u64,
    pub downtime_basis: String,
    pub preconditions: Vec<String>,
    /// How the capacity rule judged it (fits / unknown / not needed / does not fit).
    pub capacity: String,
}

impl Action {
    /// The finding ids this action must turn `fixed`.
    pub fn finding_ids(&self) -> Vec<&str> {
        self.instance
            .targets
            .iter()
            .map(|f| f.finding_id.as_str())
            .collect()
    }
}

/// The whole plan.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Planned actions by wave (priority order within a wave), then the ones not planned.
    pub actions: Vec<Action>,
    pub waves: usize,
    /// Whether host memory figures were known (the capacity rule applied).
    pub capacity_known: bool,
    /// False when the scan was interrupted: the plan covers only what was audited.
    pub complete: bool,
    /// Inventory entries the scan could not audit: `name: reason`.
    pub not_audited: Vec<String>,
    pub options: PlanOptions,
}

/// Check `--upgraded` names against the report's hosts: an error when it names none of them.
pub fn check_upgraded(report: &ReportIn, names: &[String], path: &str) -> Result<(), PlanError> {
    let known = report.known_hosts();
    if names
        .iter()
        .any(|n| known.iter().any(|k| k.eq_ignore_ascii_case(n)))
    {
        return Ok(());
    }
    Err(PlanError::Input {
        path: path.to_string(),
        message: format!(
            "names no host of the report ({} names, none among its {} hosts)",
            names.len(),
            known.len()
        ),
    })
}

/// Plan every blocked, unwaived instance of `report`.
pub fn build_plan(report: &ReportIn, options: &PlanOptions) -> Plan {
    let mut actions: Vec<Action> = report
        .blocked_instances()
        .into_iter()
        .map(|inst| action_for(inst, options))
        .collect();
    sort_by_priority(&mut actions, options);
    let hosts = report
        .capacity
        .as_ref()
        .map(|c| c.hosts.as_slice())
        .unwrap_or(&[]);
    let mut cap = waves::Capacity::new(hosts, options.upgraded.as_deref());
    let capacity_known = cap.known();
    let waves = waves::assign(&mut actions, options.limits, &mut cap);
    for a in actions
        .iter_mut()
        .filter(|a| a.kind == ActionKind::NotPlanned)
    {
        a.wave = None;
        a.steps.clear();
        a.downtime_s = 0;
    }
    actions.sort_by_key(|a| a.wave.unwrap_or(usize::MAX));
    Plan {
        actions,
        waves,
        capacity_known,
        complete: report.complete(),
        not_audited: report
            .failed_entries()
            .iter()
            .map(|e| format!("{}: {}", e.name, e.error))
            .collect(),
        options: options.clone(),
    }
}

fn action_for(inst: BlockedInstance, options: &PlanOptions) -> Action {
    let choice = rules::choose(&inst, options.prefer);
    let (downtime_s, downtime_basis) = downtime(&inst, choice.kind, options.copy_rate_mbps);
    let mut preconditions = vec![version_precondition(&inst, choice.kind, options)];
    preconditions.extend(rules::state_precondition(&inst, choice.kind));
    if inst.conflict() {
        preconditions.push(
            "conflict: a new-style SR over the same target and IQN exists in this pool: check the \
VDI map (xe vdi-list sr-uuid=...) before moving"
                .into(),
        );
    }
    let steps = match commands::steps(&inst, choice.kind, options.cli) {
        Ok(steps) => steps,
        Err(why) => {
            preconditions.push(why);
            Vec::new()
        }
    };
    Action {
        wave: None,
        kind: choice.kind,
        why: choice.why,
        nova: choice.nova,
        steps,
        downtime_s,
        downtime_basis,
        preconditions,
        capacity: String::new(),
        instance: inst,
    }
}

/// Whether `host` is among the `--upgraded` hosts (`None` without the option).
fn is_upgraded(options: &PlanOptions, host: &str) -> Option<bool> {
    options
        .upgraded
        .as_ref()
        .map(|names| names.iter().any(|n| n.eq_ignore_ascii_case(host)))
}

/// Who must already run a compute that names SRs the new way: the destination of a move, the
/// instance's own host for a re-attach (commit 5bd222e8: 13.0.0, backported to 12.0.2).
fn version_precondition(inst: &BlockedInstance, kind: ActionKind, options: &PlanOptions) -> String {
    const VERSION: &str = "nova-compute >= 12.0.2 (Liberty) / 13.0.0 (Mitaka)";
    match (kind.moves(), is_upgraded(options, &inst.host)) {
        (true, None) => format!("every host the scheduler may pick runs {VERSION}"),
        (true, Some(_)) => format!(
            "the destination is one of the --upgraded hosts (runs {VERSION}): restrict the \
scheduler to them"
        ),
        (false, None) => format!(
            "host {} runs {VERSION} (it reconnects the volume)",
            inst.host
        ),
        (false, Some(true)) => format!("host {} is upgraded (--upgraded)", inst.host),
        (false, Some(false)) => format!(
            "WAIT: host {} is not in --upgraded; upgrade its nova-compute to {VERSION} first, \
or a re-attach brings the legacy name back",
            inst.host
        ),
    }
}

/// Expected downtime in seconds and how it was reckoned.
fn downtime(inst: &BlockedInstance, kind: ActionKind, copy_rate_mbps: f64) -> (u64, String) {
    let copy = inst
        .local_disk_bytes
        .map(|b| (b as f64 / (copy_rate_mbps * 1e6)).ceil() as u64);
    let copy_text = match (inst.local_disk_bytes, copy) {
        (Some(b), Some(s)) => format!(
            "{:.1} GB local disk at {copy_rate_mbps} MB/s = {s} s",
            b as f64 / 1e9
        ),
        _ => "local disk size unknown (not counted)".to_string(),
    };
    match kind {
        ActionKind::ColdMigrate => (
            BOOT_COST_S + copy.unwrap_or(0),
            format!("{BOOT_COST_S} s shutdown and boot + {copy_text}"),
        ),
        ActionKind::ColdMigrateHalted => (
            copy.unwrap_or(0),
            format!("halted, stays halted: {copy_text}"),
        ),
        ActionKind::DetachReattach => {
            let n = inst.targets.len() as u64;
            (
                n * REATTACH_COST_S,
                format!("{n} data volume(s) offline {REATTACH_COST_S} s each; no reboot"),
            )
        }
        ActionKind::NotPlanned => (0, String::new()),
    }
}

fn sort_by_priority(actions: &mut [Action], options: &PlanOptions) {
    let waiting =
        |a: &Action| is_upgraded(options, &a.instance.host) == Some(false) && !a.kind.moves();
    actions.sort_by(|a, b| {
        let (x, y) = (&a.instance, &b.instance);
        let first = match options.priority {
            Priority::Pool => (x.pool_name.as_str(), x.pool_uuid.as_str())
                .cmp(&(y.pool_name.as_str(), y.pool_uuid.as_str())),
            Priority::Project => x.project_id.cmp(&y.project_id),
            Priority::Host => x.host.cmp(&y.host),
            Priority::Downtime => a.downtime_s.cmp(&b.downtime_s),
        };
        waiting(a).cmp(&waiting(b)).then(first).then_with(|| {
            (
                x.pool_name.as_str(),
                x.host.as_str(),
                x.instance_uuid.as_str(),
            )
                .cmp(&(
                    y.pool_name.as_str(),
                    y.host.as_str(),
                    y.instance_uuid.as_str(),
                ))
        })
    });
}

#[cfg(test)]
mod tests;
