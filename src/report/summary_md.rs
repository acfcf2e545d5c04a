//! summary.md: a short Markdown summary to paste into a change ticket: the verdict line, per-pool
//! counts, the blocked instances (capped, with "and N more"), the entries that failed, and the command
//! that produced it. The words are in `reports/templates/summary.md`, rendered by minijinja as
//! report.html is, so wording changes need no Rust; this module gathers the data and escapes every
//! string from the report for Markdown on output, so names from XAPI cannot break the Markdown.

use crate::audit::{Coverage, Status, Verdict};
use crate::report::{BurnDownRun, HostRow, Report};
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::Write;

const TEMPLATE: &str = include_str!("../../reports/templates/summary.md");

/// How many blocked instances are listed before "and N more".
pub const BLOCKED_CAP: usize = 25;

/// Escape text for a Markdown table cell or list item.
pub fn md_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '#' | '!' | '~' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' | '\t' => out.push(' '),
            c if c.is_control() || crate::text::is_bidi_control(c) => {}
            c => out.push(c),
        }
    }
    out
}

/// Nova's BDM counts beyond match/mismatch: findings Nova's rules block for another reason
/// (`unusable`, `not-in-map`) and instances with unpaired BDMs.
#[derive(Serialize)]
struct NovaBdms<'a> {
    target_port: &'a str,
    unusable: usize,
    not_in_map: usize,
    unpaired: usize,
}

fn nova_bdms(r: &Report) -> Option<NovaBdms<'_>> {
    let nova = r.nova.as_ref().filter(|n| !n.bdms.is_empty())?;
    let count = |k: &str| r.findings.iter().filter(|f| f.nova_check == k).count();
    Some(NovaBdms {
        target_port: &nova.target_port,
        unusable: count("unusable"),
        not_in_map: count("not-in-map"),
        unpaired: r
            .instances
            .iter()
            .filter(|i| !i.unpaired_bdms.is_empty())
            .count(),
    })
}

/// One Nova service host and the XAPI host(s) it stands for.
#[derive(Serialize)]
struct ServiceHost<'a> {
    service: String,
    xapi: &'a str,
    /// `xapi` names several XAPI hosts (space-separated).
    several: bool,
}

#[derive(Serialize)]
struct ServiceHosts<'a> {
    pairs: Vec<ServiceHost<'a>>,
    /// How many pairs are left out past `BLOCKED_CAP`.
    more: usize,
}

/// Nova's service hosts and the XAPI hosts they stand for, where the two names differ: the map
/// coverage used; `None` when every name is the same.
fn service_hosts(r: &Report) -> Option<ServiceHosts<'_>> {
    let mut map = BTreeMap::new();
    for c in &r.coverage {
        if !c.nova_host.is_empty() && !c.xapi_host.is_empty() {
            map.insert(
                c.nova_host.trim().to_ascii_lowercase(),
                c.xapi_host.as_str(),
            );
        }
    }
    if map.iter().all(|(service, xapi)| service == xapi) {
        return None;
    }
    let more = map.len().saturating_sub(BLOCKED_CAP);
    let pairs = map
        .into_iter()
        .take(BLOCKED_CAP)
        .map(|(service, xapi)| ServiceHost {
            service,
            xapi,
            several: xapi.contains(' '),
        })
        .collect();
    Some(ServiceHosts { pairs, more })
}

/// A row of the blocked-instances table.
#[derive(Serialize)]
struct BlockedRow<'a> {
    instance_name: &'a str,
    instance_uuid: &'a str,
    pool_name: &'a str,
    host: &'a str,
    blocked_volumes: usize,
    boot_blocked: bool,
    waived_volumes: usize,
}

/// The first `BLOCKED_CAP` blocked instances, each with its blocked and waived volumes.
fn blocked_rows(r: &Report) -> Vec<BlockedRow<'_>> {
    r.instances
        .iter()
        .filter(|i| i.status == Status::Blocked)
        .take(BLOCKED_CAP)
        .map(|i| {
            let mine = || {
                r.findings.iter().filter(|f| {
                    f.vm_uuid == i.vm_uuid
                        && f.pool_uuid == i.pool_uuid
                        && f.verdict == Verdict::Blocked
                })
            };
            BlockedRow {
                instance_name: &i.instance_name,
                instance_uuid: &i.instance_uuid,
                pool_name: &i.pool_name,
                host: &i.host,
                blocked_volumes: mine().filter(|f| f.counts()).count(),
                boot_blocked: mine().any(|f| f.boot && f.counts()),
                waived_volumes: mine().filter(|f| !f.counts()).count(),
            }
        })
        .collect()
}

/// A row of the coverage-gaps table.
#[derive(Serialize)]
struct GapRow<'a> {
    coverage: &'a str,
    instance_name: &'a str,
    instance_uuid: &'a str,
    nova_host: &'a str,
    pool_name: &'a str,
}

/// The instances the audit does not cover as Nova sees them.
fn coverage_gaps(r: &Report) -> impl Iterator<Item = GapRow<'_>> {
    r.coverage
        .iter()
        .filter(|c| c.coverage != Coverage::Audited)
        .map(|c| GapRow {
            coverage: c.coverage.as_str(),
            instance_name: &c.instance_name,
            instance_uuid: &c.instance_uuid,
            nova_host: &c.nova_host,
            pool_name: &c.pool_name,
        })
}

/// A run of the burn-down (`scan --history`), with its notes worded.
#[derive(Serialize)]
struct BurnDownLine<'a> {
    #[serde(flatten)]
    run: &'a BurnDownRun,
    notes: Vec<&'static str>,
}

/// The burn-down's headline and runs, when the scan kept a history.
fn burndown(r: &Report) -> Option<minijinja::Value> {
    let b = r.burndown.as_ref()?;
    let runs: Vec<BurnDownLine> = b
        .runs
        .iter()
        .map(|run| BurnDownLine {
            run,
            notes: [
                (!run.complete).then_some("incomplete"),
                run.other_inputs.then_some("other inputs"),
            ]
            .into_iter()
            .flatten()
            .collect(),
        })
        .collect();
    Some(minijinja::context! { headline => &b.headline, runs => runs })
}

/// The names of the entries whose host row `pick` selects.
fn entry_names(r: &Report, pick: impl Fn(&HostRow) -> bool) -> Vec<&str> {
    r.hosts
        .iter()
        .filter(|h| pick(h))
        .map(|h| h.name.as_str())
        .collect()
}

/// Everything the template shows, gathered from the report.
fn context(r: &Report) -> minijinja::Value {
    let blocked_total = r
        .instances
        .iter()
        .filter(|i| i.status == Status::Blocked)
        .count();
    let baseline_inputs_warning = r.baseline.as_ref().and_then(|b| {
        crate::policy::baseline::inputs_line(&b.inputs_differ)
            .map(|line| line.trim_start_matches("warning: ").to_string())
    });
    let unused_waivers: Vec<&str> = r
        .waivers
        .iter()
        .filter(|w| w.status == "unused")
        .map(|w| w.waiver.source.as_str())
        .collect();
    minijinja::context! {
        verdict_line => r.verdict_line(),
        run => &r.run,
        inventory_sha256_short => r.run.inventory_sha256.get(..12).unwrap_or(""),
        s => &r.summary,
        baseline => &r.baseline,
        baseline_changes => crate::report::counts::change_counts(r).to_string(),
        baseline_inputs_warning => baseline_inputs_warning,
        nova_bdms => nova_bdms(r),
        nova_servers => r.nova.as_ref().is_some_and(|n| !n.servers.is_empty()),
        service_hosts => service_hosts(r),
        unused_waivers => unused_waivers,
        tls_insecure => entry_names(r, |h| h.tls == "insecure"),
        tls_legacy => entry_names(r, HostRow::legacy_tls),
        exit_code => r.exit_code,
        fail_on => &r.fail_on,
        exit_reasons => &r.exit_reasons,
        pools => &r.pools,
        blocked_total => blocked_total,
        blocked => blocked_rows(r),
        coverage_gaps_total => coverage_gaps(r).count(),
        coverage_gaps => coverage_gaps(r).take(BLOCKED_CAP).collect::<Vec<_>>(),
        failed => r.hosts.iter().filter(|h| h.status == "failed").collect::<Vec<_>>(),
        burndown => burndown(r),
    }
}

/// Output of the template: strings Markdown-escaped unless a filter marked them safe; the rest
/// (numbers, the template's own text) as they are.
fn markdown_formatter(
    out: &mut minijinja::Output,
    state: &minijinja::State,
    value: &minijinja::Value,
) -> Result<(), minijinja::Error> {
    match value.as_str() {
        Some(text) if !value.is_safe() => out
            .write_str(&md_escape(text))
            .map_err(|e| minijinja::Error::new(minijinja::ErrorKind::WriteFailure, e.to_string())),
        _ => minijinja::escape_formatter(out, state, value),
    }
}

/// The template's environment: Markdown escaping on output, `n` (a count and its noun), and two
/// filters that mark text safe
/// once neutralised: `inline_code` (inside backticks: a backtick becomes a quote) and `code_block`
/// (inside a fence: a fence becomes three quotes).
fn environment() -> Result<minijinja::Environment<'static>, minijinja::Error> {
    let mut env = minijinja::Environment::new();
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    env.set_keep_trailing_newline(true);
    env.set_formatter(markdown_formatter);
    env.add_filter("inline_code", |s: String| {
        minijinja::Value::from_safe_string(s.replace('`', "'"))
    });
    env.add_filter("code_block", |s: String| {
        minijinja::Value::from_safe_string(s.replace("```", "'''"))
    });
    env.add_function("n", |count: usize, one: String, many: String| {
        format!("{count} {}", if count == 1 { one } else { many })
    });
    env.add_template("summary.md", TEMPLATE)?;
    Ok(env)
}

/// Render summary.md.
pub fn render(r: &Report) -> Result<String, String> {
    let env = environment().map_err(|e| format!("{e:#}"))?;
    env.get_template("summary.md")
        .and_then(|t| t.render(context(r)))
        .map_err(|e| format!("{e:#}"))
}

/// Render and write.
pub fn write_md(out: &mut dyn Write, r: &Report) -> std::io::Result<()> {
    let text = render(r).map_err(std::io::Error::other)?;
    out.write_all(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn md_escape_table() {
        for (s, want) in [
            ("a|b", "a\\|b"),
            ("<script>", "\\<script\\>"),
            ("x\ny", "x y"),
            ("**bold**", "\\*\\*bold\\*\\*"),
            ("[l](u)", "\\[l\\](u)"),
            ("\u{1b}[31m", "\\[31m"),
            ("vm-\u{202E}lmth.exe", "vm-lmth.exe"),
            ("a\u{2066}b\u{2069}c\u{200F}", "abc"),
        ] {
            assert_eq!(md_escape(s), want);
        }
    }

    /// The template renders with every optional part absent, and what comes from the report is
    /// escaped by the formatter: Markdown in names, a backtick inside inline code, a fence inside
    /// the command's code block.
    #[test]
    fn template_escapes_what_the_report_holds() {
        let mut r = Report::default();
        r.run.inventory = "inv`x.csv".into();
        r.run.command = "scan --out ```oops".into();
        r.hosts.push(crate::report::HostRow {
            name: "pool_*east*|x".into(),
            status: "failed".into(),
            error: "refused\nnext".into(),
            ..Default::default()
        });
        let text = render(&r).unwrap();
        for want in [
            "inventory `inv'x.csv`",
            "## Entries that could not be audited (1)\n\n- pool\\_\\*east\\*\\|x: refused next\n",
            "## Blocked instances (0)\n\nNone.\n",
            "```\nscan --out '''oops\n```\n",
        ] {
            assert!(text.contains(want), "{want:?} not in:\n{text}");
        }
        assert!(text.starts_with("# xen-sr-audit: "), "{text}");
        assert!(text.ends_with("```\n") && !text.ends_with("\n\n"), "{text}");
    }
}
