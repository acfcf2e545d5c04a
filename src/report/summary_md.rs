//! summary.md: a short Markdown summary to paste into a change ticket: the verdict line, per-pool
//! counts, the blocked instances (capped, with "and N more"), the entries that failed, and the command
//! that produced it. Names from XAPI are escaped so they cannot break the Markdown.

use crate::audit::Verdict;
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
    let _ = writeln!(
        out,
        "- {} inventory entries, {} failed; {} pools, {} hosts; {} Nova instances: {} blocked, {} to review, {} ok",
        s.entries, s.entries_failed, s.pools, s.hosts, s.instances, s.instances_blocked, s.instances_review, s.instances_ok
    );
    let _ = writeln!(out, "- {} volume attachments: {} legacy, {} new-style, {} other; {} orphaned legacy SRs; {} conflicts", s.attachments, s.legacy, s.new, s.other, s.orphans, s.conflicts);
    if let Some(b) = &r.baseline {
        let _ = writeln!(
            out,
            "- Compared with `{}` ({}): {} new, {} resolved, {} not rechecked",
            b.path.replace('`', "'"),
            b.started_at,
            s.findings_new,
            s.findings_resolved,
            b.not_rechecked
        );
    }
    if s.findings_waived > 0 || s.waivers_expired > 0 {
        let _ = writeln!(
            out,
            "- {} findings waived; {} waivers expired",
            s.findings_waived, s.waivers_expired
        );
    }
    if !r.run.complete {
        let _ = writeln!(out, "- **Incomplete**: the scan was interrupted");
    }
    let _ = writeln!(
        out,
        "- Exit code {} (`--fail-on {}`)\n",
        r.exit_code, r.fail_on
    );

    let _ = writeln!(out, "## Pools\n\n| Pool | Hosts | Instances | Blocked | Review | Legacy SRs | Orphans | Conflicts |\n|---|---:|---:|---:|---:|---:|---:|---:|");
    for p in &r.pools {
        let name = if p.pool_name.is_empty() {
            &p.pool_uuid
        } else {
            &p.pool_name
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            md_escape(name),
            p.hosts,
            p.instances,
            p.blocked,
            p.review,
            p.legacy_srs,
            p.orphans,
            p.conflicts
        );
    }
    let blocked: Vec<_> = r
        .instances
        .iter()
        .filter(|i| i.verdict == Verdict::Blocked)
        .collect();
    let _ = writeln!(out, "\n## Blocked instances ({})\n", blocked.len());
    if blocked.is_empty() {
        let _ = writeln!(out, "None.");
    } else {
        let _ = writeln!(out, "| Instance | Pool | Host | Legacy volumes | Boot volume legacy | Waived |\n|---|---|---|---:|---|---|");
        for i in blocked.iter().take(BLOCKED_CAP) {
            let boot = r
                .findings
                .iter()
                .any(|f| f.vm_uuid == i.vm_uuid && f.boot && f.verdict == Verdict::Blocked);
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
                i.legacy,
                if boot { "yes: stop it first" } else { "no" },
                if i.waived { "yes" } else { "" }
            );
        }
        if blocked.len() > BLOCKED_CAP {
            let _ = writeln!(
                out,
                "\nand {} more (see report.html or instances.csv).",
                blocked.len() - BLOCKED_CAP
            );
        }
        let _ = writeln!(out, "\nWhat to do: cold-migrate each blocked instance, or detach and re-attach its legacy volumes so Nova re-introduces the SRs under new-style names; boot volumes need the instance stopped first.");
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
    let _ = writeln!(
        out,
        "\n## Command\n\n```\n{}\n```",
        r.run.command.replace("```", "'''")
    );
    out
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
