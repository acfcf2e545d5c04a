//! The plan's three files: plan.csv (one row per action, for tools and `plan --check`), plan.md (for
//! the change ticket) and plan.sh (the commands, for a person to review and run one step at a time;
//! the tool itself never runs it). Names from XAPI and Nova are untrusted everywhere: CSV cells are
//! neutralised as in every other CSV of the tool, Markdown is escaped, and plan.sh holds names only
//! in comments stripped of control characters while every command argument is single-quoted.
//! The files are staged beside their final names and renamed together: never a half-written plan.

use crate::plan::{Action, Cli, Plan, PlanError};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// plan.csv's columns, in order (scripts may read them by position: only ever append).
pub const CSV_HEADER: &[&str] = &[
    "wave",
    "instance_uuid",
    "instance_name",
    "project_id",
    "pool_name",
    "host",
    "action",
    "commands",
    "downtime_s",
    "precondition",
    "verify",
    "pool_uuid",
    "finding_ids",
    "vdi_uuids",
    "volumes",
    "power_state",
    "capacity",
    "do_not",
    "downtime_basis",
    "nova_rule",
];

/// OWASP's CSV-injection rule, as the report CSVs apply it: a leading `'` before `= + - @`, tab, CR.
pub fn neutralise(cell: &str) -> String {
    match cell.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') => format!("'{cell}"),
        _ => cell.to_string(),
    }
}

/// How an action is proven done.
pub fn verify_text(a: &Action) -> String {
    format!(
        "re-scan with this report as --baseline, then `xen-sr-audit plan --check NEW.json --plan plan.csv`: findings {} must be fixed",
        a.finding_ids().join(" ")
    )
}

/// One action as plan.csv's cells, raw (CSV neutralises them; HTML and XLSX show them as text).
pub fn action_cells(a: &Action) -> Vec<String> {
    let i = &a.instance;
    let join = |f: fn(&crate::plan::input::FindingIn) -> &str| {
        i.targets.iter().map(f).collect::<Vec<_>>().join(" ")
    };
    vec![
        a.wave.map(|w| w.to_string()).unwrap_or_default(),
        i.instance_uuid.clone(),
        i.instance_name.clone(),
        i.project_id.clone(),
        i.pool_name.clone(),
        i.host.clone(),
        a.kind.as_str().to_string(),
        a.steps
            .iter()
            .map(|s| s.shell_line())
            .collect::<Vec<_>>()
            .join(" ; "),
        a.downtime_s.to_string(),
        a.preconditions.join("; "),
        verify_text(a),
        i.pool_uuid.clone(),
        join(|f| f.finding_id.as_str()),
        join(|f| f.vdi_uuid.as_str()),
        i.targets
            .iter()
            .map(|f| {
                if f.volume_id.is_empty() {
                    f.sr_uuid.clone()
                } else {
                    f.volume_id.clone()
                }
            })
            .collect::<Vec<_>>()
            .join(" "),
        i.power_state.clone(),
        a.capacity.clone(),
        crate::plan::rules::do_not(a.kind).to_string(),
        a.downtime_basis.clone(),
        a.nova.to_string(),
    ]
}

/// plan.csv as bytes.
pub fn render_csv(plan: &Plan) -> Vec<u8> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    let mut put = |cells: Vec<String>| {
        w.write_record(cells.iter().map(|c| neutralise(c)))
            .expect("writing to memory")
    };
    put(CSV_HEADER.iter().map(|s| s.to_string()).collect());
    for a in &plan.actions {
        put(action_cells(a));
    }
    w.into_inner().expect("writing to memory")
}

/// Markdown text: table pipes, markup and line breaks of an untrusted name made inert.
pub fn md_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '#' | '&' | '!' => {
                out.push('\\');
                out.push(c)
            }
            c if c.is_control() || crate::text::is_bidi_control(c) => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

fn options_line(plan: &Plan) -> String {
    let o = &plan.options;
    format!(
        "waves of at most {} actions, {} per host, {} per pool; priority {}; prefer {}; commands for {}; copy rate {} MB/s",
        o.limits.total,
        o.limits.per_host,
        o.limits.per_pool,
        format!("{:?}", o.priority).to_lowercase(),
        format!("{:?}", o.prefer).to_lowercase(),
        match o.cli {
            Cli::Nova => "novaclient (nova)",
            Cli::Openstack => "python-openstackclient (openstack)",
        },
        o.copy_rate_mbps
    )
}

fn md_header(plan: &Plan, source: &str, out: &mut String) {
    let planned = plan.actions.iter().filter(|a| a.wave.is_some()).count();
    let total: u64 = plan.actions.iter().map(|a| a.downtime_s).sum();
    let _ = writeln!(out, "# Upgrade runbook: clear every blocked instance\n");
    let _ = writeln!(
        out,
        "From `{}`: {} action(s) in {} wave(s), {} not planned; expected downtime {} s in all.\n",
        md_escape(source),
        planned,
        plan.waves,
        plan.actions.len() - planned,
        total
    );
    let _ = writeln!(out, "Options: {}.\n", options_line(plan));
    if !plan.complete || !plan.not_audited.is_empty() {
        let _ = writeln!(
            out,
            "**The scan was incomplete**: this plan covers only what was audited. Not audited:\n"
        );
        for e in &plan.not_audited {
            let _ = writeln!(out, "- {}", md_escape(e));
        }
        let _ = writeln!(out);
    }
    let capacity = if plan.capacity_known {
        "checked: each wave's moved instances fit in the free memory (XAPI host_metrics) of hosts other than their own"
    } else {
        "**unknown**: the report has no host memory figures (an old dump or scan); check free memory by hand before each wave"
    };
    let _ = writeln!(out, "Capacity: {capacity}.\n");
    let _ = writeln!(out, "## Rules\n\n- Whichever nova-compute *connects* a volume names its SR: a fix made by a compute older than 12.0.2 (Liberty) / 13.0.0 (Mitaka) brings the legacy name back.\n- Cold migration: the destination reconnects every volume (vmops.finish_migration); confirm it, **never revert** (vmops._restore_orig_vm_and_cleanup_orphan does not re-attach a boot volume).\n- Detach + re-attach fixes a data volume (volumeops.detach_volume purges the legacy SR); the root volume cannot be detached.\n- Do not reboot, stop/start, rebuild, shelve or evacuate: nothing reconnects, or disks are lost.\n- Live migration inside a pool (VM.pool_migrate) is not affected: a host can be emptied for its own upgrade that way.\n");
}

/// plan.md as text.
pub fn render_md(plan: &Plan, source: &str) -> String {
    let mut out = String::new();
    md_header(plan, source, &mut out);
    let mut wave = None;
    for a in plan.actions.iter().filter(|a| a.wave.is_some()) {
        if wave != a.wave {
            wave = a.wave;
            let n = plan.actions.iter().filter(|b| b.wave == wave).count();
            let _ = writeln!(out, "\n## Wave {} ({n} actions)\n", a.wave.unwrap_or(0));
            let _ = writeln!(out, "| instance | project | pool / host | action | downtime | commands | precondition | capacity |\n|---|---|---|---|---|---|---|---|");
        }
        md_row(a, &mut out);
    }
    let not_planned: Vec<&Action> = plan.actions.iter().filter(|a| a.wave.is_none()).collect();
    if !not_planned.is_empty() {
        let _ = writeln!(out, "\n## Not planned\n");
        for a in not_planned {
            let _ = writeln!(
                out,
                "- {} `{}` ({} / {}): {}",
                md_escape(&a.instance.instance_name),
                md_escape(&a.instance.instance_uuid),
                md_escape(&a.instance.pool_name),
                md_escape(&a.instance.host),
                md_escape(&a.capacity)
            );
        }
    }
    let _ = writeln!(out, "\n## Verify\n\nAfter each wave, re-scan with this plan's report as `--baseline` and run `xen-sr-audit plan --check NEW.json --plan plan.csv`: each action is `done` when every finding it targets is fixed, `regressed` when its volume came back under a legacy name (its precondition was not met).");
    out
}

fn md_row(a: &Action, out: &mut String) {
    let i = &a.instance;
    let commands = a
        .steps
        .iter()
        .map(|s| format!("`{}`", s.shell_line().replace('`', "'").replace('|', "\\|")))
        .collect::<Vec<_>>()
        .join("<br>");
    let _ = writeln!(
        out,
        "| {} `{}` | {} | {} / {} | {} | {} s | {} | {} | {} |",
        md_escape(&i.instance_name),
        md_escape(&i.instance_uuid),
        md_escape(&i.project_id),
        md_escape(&i.pool_name),
        md_escape(&i.host),
        a.kind.as_str(),
        a.downtime_s,
        commands,
        md_escape(&a.preconditions.join("; ")),
        md_escape(&a.capacity),
    );
}

/// Text safe inside a `#` comment line: no line break can end the comment (and start a command)
/// and no bidi control can reorder the line as shown: what a person reads is what `sh` runs.
fn comment_safe(s: &str) -> String {
    crate::text::printable(s)
}

const SH_PRELUDE: &str = r#"#!/bin/sh
# Written by xen-sr-audit plan, for a person to review and run ONE STEP AT A TIME.
# Nothing here runs by itself: every command asks first (y = run, anything else = skip, q = quit).
# Run it from a shell with the OpenStack credentials loaded (and xe on the pool master for checks).
set -u
step() {
    printf '\n$ %s\n' "$*"
    printf 'run this step? [y/N/q] '
    read -r answer </dev/tty || exit 1
    case "$answer" in
        y|Y) "$@" || printf 'step failed (exit %s): stop and look before going on\n' "$?" ;;
        q|Q) exit 0 ;;
        *) printf 'skipped\n' ;;
    esac
}
"#;

/// plan.sh as text.
pub fn render_sh(plan: &Plan) -> String {
    let mut out = String::from(SH_PRELUDE);
    let mut wave = None;
    for a in plan
        .actions
        .iter()
        .filter(|a| a.wave.is_some() && !a.steps.is_empty())
    {
        if wave != a.wave {
            wave = a.wave;
            let _ = writeln!(out, "\n# ===== wave {} =====", a.wave.unwrap_or(0));
        }
        let i = &a.instance;
        let _ = writeln!(
            out,
            "\n# {} {} ({} / {}): {}, ~{} s downtime",
            a.kind.as_str(),
            comment_safe(&i.instance_name),
            comment_safe(&i.pool_name),
            comment_safe(&i.host),
            comment_safe(a.why),
            a.downtime_s
        );
        let _ = writeln!(
            out,
            "# precondition: {}",
            comment_safe(&a.preconditions.join("; "))
        );
        for s in &a.steps {
            let _ = writeln!(out, "# {}", s.purpose);
            let _ = writeln!(out, "step {}", s.shell_line());
        }
    }
    out
}

/// Write plan.md, plan.csv and plan.sh into `dir` (created if needed), all or none.
pub fn write_plan(plan: &Plan, source: &str, dir: &Path) -> Result<Vec<PathBuf>, PlanError> {
    let out_err = |path: &Path| {
        let path = path.display().to_string();
        move |cause| PlanError::Output { path, cause }
    };
    std::fs::create_dir_all(dir).map_err(out_err(dir))?;
    let files: [(&str, Vec<u8>); 3] = [
        ("plan.md", render_md(plan, source).into_bytes()),
        ("plan.csv", render_csv(plan)),
        ("plan.sh", render_sh(plan).into_bytes()),
    ];
    let mut staged = Vec::new();
    for (name, bytes) in files {
        let mut tmp = tempfile::Builder::new()
            .prefix(".plan-")
            .tempfile_in(dir)
            .map_err(out_err(dir))?;
        std::io::Write::write_all(&mut tmp, &bytes).map_err(out_err(tmp.path()))?;
        staged.push((tmp, dir.join(name)));
    }
    let mut written = Vec::new();
    for (tmp, path) in staged {
        tmp.persist(&path).map_err(|e| PlanError::Output {
            path: path.display().to_string(),
            cause: e.error,
        })?;
        written.push(path);
    }
    Ok(written)
}
