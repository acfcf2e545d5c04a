//! summary.md: a short Markdown summary to paste into a change ticket: the verdict line, per-pool
//! counts, the blocked instances (capped, with "and N more"), the entries that failed, and the command
//! that produced it. Names from XAPI are escaped so they cannot break the Markdown.

use crate::audit::{Status, Verdict};
use crate::report::Report;
use std::fmt::Write as _;
use std::io::Write;

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
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// The findings that Nova's rules block beyond a mismatch (`unusable`, `not-in-map`), and instances
/// with unpaired BDMs, as one list item; empty when there are none.
fn nova_blocking_kinds_line(r: &Report) -> String {
    let count = |k: &str| r.findings.iter().filter(|f| f.nova_check == k).count();
    let (unusable, not_in_map) = (count("unusable"), count("not-in-map"));
    let unpaired = r
        .instances
        .iter()
        .filter(|i| !i.unpaired_bdms.is_empty())
        .count();
    if unusable + not_in_map + unpaired == 0 {
        return String::new();
    }
    format!("- Also from Nova's BDMs: {unusable} volumes unusable (Nova raises on their connection data), {not_in_map} not in the VDI map, {unpaired} instances with unpaired BDMs (instances.csv)\n")
}

/// Nova's service hosts and the XAPI hosts they stand for, where the two names differ: the map
/// coverage used (a service host on two XAPI hosts is called out); empty when every name is the same.
fn service_hosts_line(r: &Report) -> String {
    let mut map = std::collections::BTreeMap::new();
    for c in &r.coverage {
        if !c.nova_host.is_empty() && !c.xapi_host.is_empty() {
            map.insert(
                c.nova_host.trim().to_ascii_lowercase(),
                c.xapi_host.as_str(),
            );
        }
    }
    if map.iter().all(|(service, xapi)| service == xapi) {
        return String::new();
    }
    let pairs: Vec<String> = map
        .iter()
        .take(BLOCKED_CAP)
        .map(|(service, xapi)| {
            let several = if xapi.contains(' ') {
                " (several XAPI hosts)"
            } else {
                ""
            };
            format!("{} -> {}{several}", md_escape(service), md_escape(xapi))
        })
        .collect();
    let more = map.len().saturating_sub(BLOCKED_CAP);
    let more = if more > 0 {
        format!(" and {more} more")
    } else {
        String::new()
    };
    format!(
        "- Nova host -> XAPI host: {}{more} (coverage.csv `xapi_host`)\n",
        pairs.join(", ")
    )
}

pub fn render(r: &Report) -> String {
    let s = &r.summary;
    let mut out = String::new();
    let _ = writeln!(out, "# xen-sr-audit: {}\n", md_escape(&r.verdict_line()));
    let _ = writeln!(
        out,
        "- Scanned {} with xen-sr-audit {}; inventory `{}` (sha256 {})",
        r.run.started_at,
        r.run.version,
        r.run.inventory.replace('`', "'"),
        &r.run.inventory_sha256.get(..12).unwrap_or("")
    );
    let n = |count: usize, one: &str, many: &str| {
        format!("{count} {}", if count == 1 { one } else { many })
    };
    let _ = writeln!(
        out,
        "- {}, {} failed; {}, {}; {}: {} blocked, {} to review, {} waived, {} ok",
        n(s.entries, "inventory entry", "inventory entries"),
        s.entries_failed,
        n(s.pools, "pool", "pools"),
        n(s.hosts, "host", "hosts"),
        n(s.instances, "Nova instance", "Nova instances"),
        s.instances_blocked,
        s.instances_review,
        s.instances_waived,
        s.instances_ok
    );
    let _ = writeln!(
        out,
        "- {}: {} legacy, {} new-style, {} other; {}; {}",
        n(s.attachments, "volume attachment", "volume attachments"),
        s.legacy,
        s.new,
        s.other,
        n(s.orphans, "orphaned legacy SR", "orphaned legacy SRs"),
        n(s.conflicts, "conflict", "conflicts")
    );
    if let Some(b) = &r.baseline {
        let _ = writeln!(
            out,
            "- Compared with `{}` ({}{}): {}",
            b.path.replace('`', "'"),
            b.started_at,
            if b.complete {
                ""
            } else {
                ", an incomplete run"
            },
            crate::report::counts::change_counts(r)
        );
        if let Some(line) = crate::policy::baseline::inputs_line(&b.inputs_differ) {
            let line = line.trim_start_matches("warning: ");
            let _ = writeln!(out, "- **Warning**: {}", md_escape(line));
        }
    }
    if let Some(n) = r.nova.as_ref().filter(|n| !n.bdms.is_empty()) {
        let _ = writeln!(
            out,
            "- Nova's block device mappings (destinations' target_port {}): {} volumes match, {} mismatch, {} no-bdm",
            md_escape(&n.target_port),
            s.nova_match,
            s.nova_mismatch,
            s.nova_no_bdm
        );
        let _ = write!(out, "{}", nova_blocking_kinds_line(r));
    }
    if r.nova.as_ref().is_some_and(|n| !n.servers.is_empty()) {
        let _ = writeln!(
            out,
            "- Coverage against Nova: {} audited, {} not audited, {} missing in XAPI, {} unknown to Nova",
            s.coverage_audited,
            s.coverage_not_audited,
            s.coverage_missing_in_xapi,
            s.coverage_unknown_to_nova
        );
        let _ = write!(out, "{}", service_hosts_line(r));
    }
    if s.findings_waived > 0 || s.waivers_expired > 0 {
        let _ = writeln!(
            out,
            "- {} waived; {} expired",
            n(s.findings_waived, "finding", "findings"),
            n(s.waivers_expired, "waiver", "waivers")
        );
    }
    for w in r.waivers.iter().filter(|w| w.status == "unused") {
        let _ = writeln!(
            out,
            "- **Unused waiver** at `{}`: it matches no finding (a mistyped finding_id or instance_uuid?)",
            w.waiver.source.replace('`', "'")
        );
    }
    if !r.run.complete {
        let _ = writeln!(out, "- **Incomplete**: the scan was interrupted");
    }
    let names = |pick: &dyn Fn(&crate::report::HostRow) -> bool| {
        r.hosts
            .iter()
            .filter(|h| pick(h))
            .map(|h| md_escape(&h.name))
            .collect::<Vec<_>>()
    };
    let insecure = names(&|h| h.tls == "insecure");
    if !insecure.is_empty() {
        let _ = writeln!(
            out,
            "- **TLS not verified (insecure)** for {}: {}",
            n(insecure.len(), "entry", "entries"),
            insecure.join(", ")
        );
    }
    let legacy = names(&|h| h.legacy_tls());
    if !legacy.is_empty() {
        let _ = writeln!(
            out,
            "- **legacy TLS** (TLS 1.0/1.1) for {}: {}",
            n(legacy.len(), "entry", "entries"),
            legacy.join(", ")
        );
    }
    let _ = writeln!(
        out,
        "- Exit code {} (`--fail-on {}`){}\n",
        r.exit_code,
        r.fail_on,
        if r.exit_reasons.is_empty() {
            String::new()
        } else {
            format!(": {}", md_escape(&r.exit_reasons.join("; ")))
        }
    );

    let _ = writeln!(out, "## Pools\n\n| Pool | Hosts | Instances | Blocked | Review | Waived | Ok | Legacy SRs | Orphans | Conflicts |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for p in &r.pools {
        let name = if p.pool_name.is_empty() {
            &p.pool_uuid
        } else {
            &p.pool_name
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            md_escape(name),
            p.hosts,
            p.instances,
            p.blocked,
            p.review,
            p.waived,
            p.ok,
            p.legacy_srs,
            p.orphans,
            p.conflicts
        );
    }
    let blocked: Vec<_> = r
        .instances
        .iter()
        .filter(|i| i.status == Status::Blocked)
        .collect();
    let _ = writeln!(out, "\n## Blocked instances ({})\n", blocked.len());
    if blocked.is_empty() {
        let _ = writeln!(out, "None.");
    } else {
        let _ = writeln!(out, "| Instance | Pool | Host | Blocked volumes | Boot volume blocked | Waived volumes |\n|---|---|---|---:|---|---:|");
        for i in blocked.iter().take(BLOCKED_CAP) {
            let mine = || {
                r.findings.iter().filter(|f| {
                    f.vm_uuid == i.vm_uuid
                        && f.pool_uuid == i.pool_uuid
                        && f.verdict == Verdict::Blocked
                })
            };
            let boot = mine().any(|f| f.boot && f.counts());
            let blocked_volumes = mine().filter(|f| f.counts()).count();
            let waived_volumes = mine().filter(|f| !f.counts()).count();
            let _ = writeln!(
                out,
                "| {} (`{}`) | {} | {} | {} | {} | {} |",
                md_escape(&i.instance_name),
                i.instance_uuid.replace('`', "'"),
                md_escape(&i.pool_name),
                md_escape(if i.host.is_empty() {
                    "(not running)"
                } else {
                    &i.host
                }),
                blocked_volumes,
                if boot { "yes: cold-migrate" } else { "no" },
                waived_volumes
            );
        }
        if blocked.len() > BLOCKED_CAP {
            let _ = writeln!(
                out,
                "\nand {} more (see report.html or instances.csv).",
                blocked.len() - BLOCKED_CAP
            );
        }
        let _ = writeln!(out, "\nWhat to do, and when: the SR is re-introduced by whichever nova-compute connects the volume, so fix nothing before that nova-compute runs Mitaka (a fix made earlier brings the legacy name back). Cold-migrate a blocked instance once the destination's nova-compute is upgraded; or, once this host's nova-compute is upgraded, detach and re-attach its blocked data volumes. Nova refuses to detach a boot volume: boot volumes need the cold migration. A live migration tried before the fix fails with UUID_INVALID on the source and leaves the instance running where it is.");
    }
    let gaps: Vec<_> = r
        .coverage
        .iter()
        .filter(|c| c.coverage != crate::audit::Coverage::Audited)
        .collect();
    if !gaps.is_empty() {
        let _ = writeln!(
            out,
            "\n## Instances the audit does not cover as Nova sees them ({})\n",
            gaps.len()
        );
        let _ = writeln!(
            out,
            "| Coverage | Instance | Nova host | Pool |\n|---|---|---|---|"
        );
        for c in gaps.iter().take(BLOCKED_CAP) {
            let _ = writeln!(
                out,
                "| {} | {} (`{}`) | {} | {} |",
                c.coverage.as_str(),
                md_escape(&c.instance_name),
                c.instance_uuid.replace('`', "'"),
                md_escape(&c.nova_host),
                md_escape(&c.pool_name)
            );
        }
        if gaps.len() > BLOCKED_CAP {
            let _ = writeln!(
                out,
                "\nand {} more (see coverage.csv).",
                gaps.len() - BLOCKED_CAP
            );
        }
    }
    let failed: Vec<_> = r.hosts.iter().filter(|h| h.status == "failed").collect();
    let _ = writeln!(
        out,
        "\n## Entries that could not be audited ({})\n",
        failed.len()
    );
    if failed.is_empty() {
        let _ = writeln!(out, "None.");
    }
    for h in failed {
        let _ = writeln!(out, "- {}: {}", md_escape(&h.name), md_escape(&h.error));
    }
    if let Some(b) = &r.burndown {
        burndown_md(&mut out, b);
    }
    let _ = writeln!(
        out,
        "\n## Command\n\n```\n{}\n```",
        r.run.command.replace("```", "'''")
    );
    out
}

/// `scan --history`: the whole fleet's counts run by run.
fn burndown_md(out: &mut String, b: &crate::report::BurnDown) {
    let _ = writeln!(out, "\n## Burn-down\n\n{}\n", md_escape(&b.headline));
    let _ = writeln!(
        out,
        "| Run | Blocked | To review | Waived | Legacy SRs | Notes |\n|---|---:|---:|---:|---:|---|"
    );
    for run in &b.runs {
        let notes = [
            (!run.complete).then_some("incomplete"),
            run.other_inputs.then_some("other inputs"),
        ];
        let notes: Vec<&str> = notes.into_iter().flatten().collect();
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            run.date,
            run.blocked,
            run.review,
            run.waived,
            run.legacy_srs,
            notes.join(", ")
        );
    }
}

pub fn write_md(out: &mut dyn Write, r: &Report) -> std::io::Result<()> {
    out.write_all(render(r).as_bytes())
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
        ] {
            assert_eq!(md_escape(s), want);
        }
    }
}
