//! The commands behind the command line: `scan`, `capture`, `diff`, `trust`, `inspect-dump`, each
//! taking its checked configuration and returning the exit code, and what a run prints on the
//! console at its end.

use super::output::{console, human_size, print_line, write_stdout, Listing};
use super::{DiffArgs, InspectArgs, TrendArgs, TrustArgs, UsageError};
use crate::config::ProgressMode;
use crate::policy::exit;
use crate::report::{Report, RunMeta};
use crate::scan::ScanConfig;
use anyhow::Context;
use std::process::ExitCode;
use std::time::{Instant, SystemTime};

use crate::text::count;

/// `inspect-dump`: read each dump as a scan would and say what is in it.
pub fn inspect_command(a: &InspectArgs) -> anyhow::Result<ExitCode> {
    let mut failed = false;
    // Every dump is read even once stdout is closed: the exit code says whether all were readable.
    let mut listing = Listing::default();
    for path in &a.dumps {
        let started = Instant::now();
        let read = crate::dump::read_dump(path, crate::dump::Keep::Audit)
            .map_err(|e| e.to_string())
            .and_then(|db| {
                crate::dump::snapshot_from_database(&db)
                    .map(|s| (db, s))
                    .map_err(|e| e.to_string())
            });
        let took = started.elapsed();
        match read {
            Err(e) => {
                failed = true;
                console!("xen-sr-audit: {e}");
            }
            Ok((db, snap)) => {
                let instances = snap
                    .vms
                    .values()
                    .filter(|v| crate::classify::is_nova_instance(v))
                    .count();
                let seconds = took.as_secs_f64().max(1e-9);
                listing.line(format!(
                    "{}: pool {:?} ({}), {}, {}, {}; {} read in {:.3} s ({}/s)",
                    path.display(),
                    crate::text::printable(&snap.pool.name_label),
                    snap.pool.uuid,
                    count(snap.hosts.len(), "host"),
                    count(snap.vms.len(), "VM"),
                    count(instances, "Nova instance"),
                    human_size(db.bytes_read),
                    took.as_secs_f64(),
                    human_size((db.bytes_read as f64 / seconds) as u64)
                ))?;
                let counts: Vec<String> = db
                    .row_counts
                    .iter()
                    .filter(|(_, n)| **n > 0)
                    .map(|(t, n)| format!("{t}={n}"))
                    .collect();
                listing.line(format!("  rows: {}", counts.join(" ")))?;
            }
        }
    }
    Ok(ExitCode::from(if failed {
        exit::ENTRY_FAILED
    } else {
        exit::CLEAN
    }))
}

/// A write to stdout whose reader went away is not a failure of a command whose result is its exit
/// code; any other failure to write still is.
pub(super) fn keep_going_if_closed(written: anyhow::Result<()>) -> anyhow::Result<()> {
    match written {
        Err(e) if super::output::is_stdout_closed(&e) => Ok(()),
        other => other,
    }
}

/// `diff`: compare two report.json files: problems only, with counts for the rest. Exit 1 when
/// there is a new problem, 3 when nothing could be rechecked (no pool audited by both runs), else 0.
pub fn diff_command(a: &DiffArgs) -> anyhow::Result<ExitCode> {
    use crate::policy::baseline::{compare, is_problem, Change};
    use std::collections::HashSet;
    let old = crate::report::json_out::read_comparable(&a.old)?;
    let new = crate::report::json_out::read_comparable(&a.new)?;
    fn pools(r: &crate::report::json_out::Comparable) -> HashSet<&str> {
        r.pools.iter().map(|p| p.pool_uuid.as_str()).collect()
    }
    let mut c = compare(&old.findings, &pools(&old), &new.findings, &pools(&new));
    c.inputs_differ = crate::policy::inputs::differences_in_kind(&old.inputs(), &new.inputs());
    if !old.run.complete {
        console!(
            "warning: {} was an incomplete run (interrupted): problems in pools it did not audit count as first seen",
            a.old.display()
        );
    }
    if a.json {
        let ids = |change: Change| {
            c.changes
                .iter()
                .filter(|(_, k, _)| *k == change)
                .map(|(f, _, _)| f.finding_id.clone())
                .collect::<Vec<_>>()
        };
        let counts = crate::policy::baseline::ChangeCounts::of(&c);
        let out = serde_json::json!({
            "old": a.old.display().to_string(),
            "new": a.new.display().to_string(),
            "old_path": a.old.display().to_string(),
            "new_path": a.new.display().to_string(),
            // The counts under report.json's summary names (`scan --baseline` records the same).
            "findings_new": counts.new,
            "findings_first_seen": counts.first_seen,
            "findings_unchanged": counts.unchanged,
            "findings_reclassified": counts.reclassified,
            "findings_resolved": c.resolved.len(),
            "resolved_fixed": counts.fixed,
            "resolved_waived": counts.waived,
            "resolved_reclassified": counts.resolved_reclassified,
            "resolved_gone": counts.gone,
            "findings_not_rechecked": counts.not_rechecked,
            "rechecked_pools": c.rechecked_pools,
            "new_findings": ids(Change::New),
            "first_seen_findings": ids(Change::FirstSeen),
            "reclassified_findings": c
                .changes
                .iter()
                .filter(|(f, k, _)| *k == Change::Reclassified && is_problem(f))
                .map(|(f, _, _)| f.finding_id.clone())
                .collect::<Vec<_>>(),
            "resolved": &c.resolved,
            "fixed": c.resolved_as("fixed"),
            "waived": c.resolved_as("waived"),
            "reclassified": c.resolved_as("reclassified"),
            "gone": c.resolved_as("gone"),
            "not_rechecked_findings": c.not_rechecked.iter().map(|f| f.finding_id.clone()).collect::<Vec<_>>(),
            "unchanged": c.count(Change::Unchanged),
            "fine": c.changes.iter().filter(|(f, _, _)| !is_problem(f)).count(),
            "inputs_differ": &c.inputs_differ,
        });
        keep_going_if_closed(print_line(serde_json::to_string_pretty(&out)?))?;
    } else {
        keep_going_if_closed(write_stdout(crate::policy::baseline::render(
            &c,
            &a.old.display().to_string(),
            &a.new.display().to_string(),
        )))?;
    }
    // The exit code is the comparison's, whether or not the reader closed the pipe early
    // (`diff A B | head`): a script's `if` must not depend on how much `head` read.
    Ok(ExitCode::from(if c.count(Change::New) > 0 {
        exit::WARNINGS
    } else if c.rechecked_pools == 0 {
        exit::ENTRY_FAILED
    } else {
        exit::CLEAN
    }))
}

/// `trust`: record (or check) each https entry's certificate. Exit 0 when every https entry is
/// pinned and matches, 2 when a pinned host presents another certificate, 3 when a host could not
/// be reached.
pub fn trust_command(a: &TrustArgs) -> anyhow::Result<ExitCode> {
    use crate::xapi::trust::{trust_all, TrustOutcome};
    let inventory = crate::inventory::load(&a.inventory)?;
    let results = trust_all(&inventory.entries, a.tls_legacy, a.timeout.0, a.concurrency);
    let mut listing = Listing::default();
    listing.line("Trust on first use: compare each new fingerprint with the one the host itself shows (on its console: openssl x509 -noout -fingerprint -sha256 -in /etc/xensource/xapi-ssl.pem) before you rely on the pinned inventory.")?;
    let mut pins = std::collections::HashMap::new();
    let mut edits = crate::inventory::rewrite::CellEdits::new();
    let (mut mismatched, mut failed) = (0, 0);
    for (e, r) in inventory.entries.iter().zip(&results) {
        if let Some(line) = mark_legacy_tls(e, r, &mut edits) {
            listing.line(line)?;
        }
        listing.line(trust_line(&crate::text::printable(&e.name), r))?;
        match r {
            TrustOutcome::New(seen) => {
                pins.insert(e.name.clone(), seen.fingerprint.clone());
            }
            TrustOutcome::Mismatch { .. } => mismatched += 1,
            TrustOutcome::Failed(_) => failed += 1,
            TrustOutcome::Skipped(_) | TrustOutcome::Matches(_) => {}
        }
    }
    for (entry, pin) in &pins {
        edits
            .entry(entry.clone())
            .or_default()
            .push(("tls_fingerprint".into(), pin.clone()));
    }
    write_trusted_copy(a, &edits)?;
    console!(
        "wrote {} ({} new pin{})",
        a.out.display(),
        pins.len(),
        crate::text::plural(pins.len())
    );
    Ok(ExitCode::from(if mismatched > 0 {
        exit::BLOCKED
    } else if failed > 0 {
        exit::ENTRY_FAILED
    } else {
        exit::CLEAN
    }))
}

/// A host `trust` reached only with TLS 1.0/1.1: its row of the copy gets `tls_legacy=true`, and
/// the line that says so.
fn mark_legacy_tls(
    entry: &crate::inventory::Entry,
    outcome: &crate::xapi::trust::TrustOutcome,
    edits: &mut crate::inventory::rewrite::CellEdits,
) -> Option<String> {
    let seen = outcome
        .seen()
        .filter(|s| crate::xapi::tls::is_legacy_version(&s.version))?;
    edits
        .entry(entry.name.clone())
        .or_default()
        .push(("tls_legacy".into(), "true".into()));
    Some(format!(
        "{}: reached only with {}: tls_legacy=true",
        crate::text::printable(&entry.name),
        seen.version
    ))
}

/// What `trust` says of one entry (`name` already printable).
fn trust_line(name: &str, outcome: &crate::xapi::trust::TrustOutcome) -> String {
    use crate::text::printable;
    use crate::xapi::trust::TrustOutcome;
    match outcome {
        TrustOutcome::Skipped(why) => format!("{name}: skipped ({why})"),
        TrustOutcome::New(seen) => format!(
            "{name}: new {} {}; subject {}; expires {}",
            seen.fingerprint,
            seen.version,
            printable(&seen.subject()),
            seen.not_after()
        ),
        TrustOutcome::Matches(seen) => format!(
            "{name}: matches the pinned {} {}; expires {}",
            seen.fingerprint, seen.version, seen.not_after()
        ),
        TrustOutcome::Mismatch { pinned, seen } => format!(
            "{name}: MISMATCH: the inventory pins {pinned}, the host presents {} (subject {}); the pin is kept",
            seen.fingerprint,
            printable(&seen.subject())
        ),
        TrustOutcome::Failed(why) => format!("{name}: failed: {}", printable(why)),
    }
}

/// `trust --out`: the inventory's copy with `edits` applied, written atomically.
fn write_trusted_copy(
    a: &TrustArgs,
    edits: &crate::inventory::rewrite::CellEdits,
) -> anyhow::Result<()> {
    let text = crate::inventory::rewrite::rewritten_copy(&a.inventory, &a.out, edits)?;
    let dir = a
        .out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let name = a
        .out
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| UsageError(format!("--out {}: not a file name", a.out.display())))?;
    let mut staged = crate::report::atomic::StagedOutputs::new(dir)?;
    staged.stage(name, |w| w.write_all(&text))?;
    staged.commit()?;
    Ok(())
}

/// `capture`: fetch every entry and write one dump per pool plus an inventory of them.
pub fn capture_command(
    cfg: &ScanConfig,
    nova_exports: &[crate::nova_db::DbExport],
) -> anyhow::Result<ExitCode> {
    let interrupt = super::interrupt::install();
    let (results, complete) =
        crate::scan::scan_entries(cfg, true, interrupt.flag()).map_err(anyhow::Error::msg)?;
    let mut staged = crate::report::atomic::StagedOutputs::new(&cfg.out_dir.join("dumps"))?;
    let mut inventory = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut failed = 0;
    let mut reported = vec![false; cfg.inventory.entries.len()];
    for r in results {
        let entry = &cfg.inventory.entries[r.index];
        reported[r.index] = true;
        let failure = match r.outcome {
            Err(e) => Some(e),
            Ok(audited) => match audited.snapshot.as_ref() {
                None => Some("internal error: no snapshot kept".to_string()),
                Some(snap) => {
                    if !snap.pool.uuid.is_empty() && !seen.insert(snap.pool.uuid.clone()) {
                        continue;
                    }
                    let at = crate::scan::timestamp(r.finished);
                    let row = stage_dump(&mut staged, entry, snap, &at)?;
                    inventory.push((r.index, row));
                    None
                }
            },
        };
        if let Some(e) = failure {
            failed += 1;
            let e = crate::scan::error_after_name(&entry.name, &e).to_string();
            console!(
                "xen-sr-audit: capture: {}: failed: {}",
                crate::text::printable(&entry.name),
                crate::text::printable(&e)
            );
            inventory.push((r.index, dump_row(entry, String::new(), e)));
        }
    }
    inventory.extend(unfinished_rows(&cfg.inventory.entries, &reported));
    staged.commit()?;
    write_dump_inventory(&cfg.out_dir, inventory)?;
    let nova_files = capture_nova_exports(&cfg.out_dir, nova_exports)?;
    if cfg.progress != ProgressMode::Quiet {
        print_captured(cfg, nova_exports.len(), &nova_files, seen.len());
    }
    Ok(ExitCode::from(if !complete {
        interrupt.exit_code()
    } else if failed > 0 {
        exit::ENTRY_FAILED
    } else {
        exit::CLEAN
    }))
}

/// Stage one pool's dump (with where and when it was taken, and by what) under `dumps/`, and the
/// inventory row that points at it.
fn stage_dump(
    staged: &mut crate::report::atomic::StagedOutputs,
    entry: &crate::inventory::Entry,
    snap: &crate::model::Snapshot,
    at: &str,
) -> anyhow::Result<crate::inventory::DumpRow> {
    let by = format!("{} {}", env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"));
    let file = format!("{}.xml", crate::report::safe_file_name(&entry.name));
    let from = entry.source_display();
    let provenance = [
        (crate::dump::CAPTURED_FROM, from.as_str()),
        (crate::dump::CAPTURED_AT, at),
        (crate::dump::CAPTURED_BY, by.as_str()),
    ];
    staged.stage(&file, |w| {
        let tables = crate::dump::snapshot_tables(snap);
        crate::dump::write_dump_with_manifest(w, &tables, &provenance).map(drop)
    })?;
    Ok(dump_row(entry, format!("dumps/{file}"), String::new()))
}

/// Entries an interrupt left unfinished are in the inventory too, marked.
fn unfinished_rows<'a>(
    entries: &'a [crate::inventory::Entry],
    reported: &'a [bool],
) -> impl Iterator<Item = (usize, crate::inventory::DumpRow)> + 'a {
    reported
        .iter()
        .enumerate()
        .filter(|(_, done)| !**done)
        .map(|(index, _)| {
            let entry = &entries[index];
            let why = "interrupted before this entry finished".to_string();
            (index, dump_row(entry, String::new(), why))
        })
}

/// `capture`'s inventory.csv, in inventory order, whether an entry ended, failed or was left
/// unfinished.
fn write_dump_inventory(
    out_dir: &std::path::Path,
    mut rows: Vec<(usize, crate::inventory::DumpRow)>,
) -> anyhow::Result<()> {
    rows.sort_by_key(|(index, _)| *index);
    let inventory: Vec<_> = rows.into_iter().map(|(_, row)| row).collect();
    let mut inv = crate::report::atomic::StagedOutputs::new(out_dir)?;
    inv.stage("inventory.csv", |w| {
        crate::inventory::write_dump_inventory(w, &inventory)
    })?;
    inv.commit()?;
    Ok(())
}

/// What `capture` took: Nova's databases (with the options that re-audit from them) and the pools.
fn print_captured(cfg: &ScanConfig, databases: usize, nova_files: &[String], pools: usize) {
    if !nova_files.is_empty() {
        console!(
            "captured Nova's data from {} database{}; re-audit with: {}",
            databases,
            crate::text::plural(databases),
            nova_files.join(" ")
        );
    }
    console!(
        "captured {} pool{} into {}",
        pools,
        crate::text::plural(pools),
        cfg.out_dir.display()
    );
}

/// A row of the inventory `capture` writes: the dump, or why there is none.
fn dump_row(
    entry: &crate::inventory::Entry,
    dump: String,
    capture_failed: String,
) -> crate::inventory::DumpRow {
    crate::inventory::DumpRow {
        name: entry.name.clone(),
        dump,
        site: entry.site.clone(),
        tags: entry.tags.clone(),
        capture_failed,
    }
}

/// The end of a run on the console: each pool once (as hosts.csv counts it), the entries that
/// failed, waivers that matched nothing, the verdict, and what was written or removed.
fn print_outcome(report: &Report, written: &crate::report::Written, complete: bool) {
    print_pools(report);
    print_failed_entries(report);
    print_waiver_and_baseline_notes(report);
    console!("{}", report.verdict_line());
    if !complete {
        console!("interrupted: the reports cover only the entries that finished");
    }
    if !report.exit_reasons.is_empty() {
        console!(
            "exit {}: {}",
            report.exit_code,
            report.exit_reasons.join("; ")
        );
    }
    print_written(written);
}

/// One line per pool with its instance counts.
fn print_pools(report: &Report) {
    use crate::text::plural;
    use crate::text::printable;
    for p in &report.pools {
        console!(
            "pool {:?} (entry {}): {} instance{}, {} blocked, {} to review, {} waived, {} ok",
            printable(&p.pool_name),
            printable(&p.entry),
            p.instances,
            plural(p.instances),
            p.blocked,
            p.review,
            p.waived,
            p.ok
        );
    }
}

/// The entries that could not be audited, each with its error.
fn print_failed_entries(report: &Report) {
    use crate::text::printable;
    let failed: Vec<_> = report
        .hosts
        .iter()
        .filter(|h| h.status == "failed")
        .collect();
    if failed.is_empty() {
        return;
    }
    console!(
        "{} could not be audited:",
        crate::text::count_as(failed.len(), "entry", "entries")
    );
    for h in failed {
        // Live errors already start with the entry's name.
        if h.error.starts_with(&format!("{}: ", h.name)) {
            console!("  {}", printable(&h.error));
        } else {
            console!("  {}: {}", printable(&h.name), printable(&h.error));
        }
    }
}

/// Waivers that matched nothing, and how this run compares with `--baseline`.
fn print_waiver_and_baseline_notes(report: &Report) {
    for w in report.waivers.iter().filter(|w| w.status == "unused") {
        console!(
            "warning: waiver at {} matches no finding (a mistyped finding_id or instance_uuid?)",
            w.waiver.source
        );
    }
    if let Some(b) = report.baseline.as_ref().filter(|b| !b.complete) {
        console!(
            "warning: the baseline {} was itself incomplete (interrupted): findings in pools it did not audit count as first seen, not new",
            b.path
        );
    }
    if let Some(b) = &report.baseline {
        console!(
            "compared with {}: {}",
            b.path,
            crate::report::counts::change_counts(report)
        );
        if let Some(line) = crate::policy::baseline::inputs_line(&b.inputs_differ) {
            console!("{line}");
        }
    }
}

/// The files written and removed, and those left alone.
fn print_written(written: &crate::report::Written) {
    for p in &written.files {
        console!("wrote {}", p.display());
    }
    for p in &written.removed {
        console!(
            "removed {} (an earlier run's report in a format this run did not write)",
            p.display()
        );
    }
    if !written.kept.is_empty() {
        let names: Vec<String> = written
            .kept
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        console!(
            "warning: left alone (not written by an earlier run of this tool, or changed since): {}",
            names.join(", ")
        );
    }
}

/// `scan`: audit, write reports, return the exit code.
pub fn scan_command(
    cfg: &ScanConfig,
    history: Option<&std::path::Path>,
) -> anyhow::Result<ExitCode> {
    let interrupt = super::interrupt::install();
    let started_at = SystemTime::now();
    let started = Instant::now();
    let (results, complete) =
        crate::scan::scan_entries(cfg, false, interrupt.flag()).map_err(anyhow::Error::msg)?;
    let run = RunMeta {
        tool: env!("CARGO_PKG_NAME").to_string(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        started_at: crate::scan::timestamp(started_at),
        finished_at: crate::scan::timestamp(SystemTime::now()),
        duration_ms: started.elapsed().as_millis() as u64,
        inventory: cfg.inventory.path.display().to_string(),
        inventory_sha256: cfg.inventory.digest.clone(),
        command: cfg.command_line.clone(),
        complete,
    };
    let mut report = crate::scan::build_report(cfg, results, run);
    if !complete {
        report.exit_code = interrupt.exit_code();
        report.exit_reasons = vec!["the scan was interrupted".to_string()];
    }
    if let Some(dir) = history {
        match crate::trend::history::burndown(dir, &report) {
            Ok(b) => report.burndown = Some(b),
            // The scan's findings stand without the chart: say why it is missing.
            Err(e) => console!("warning: --history {}: no burn-down: {e}", dir.display()),
        }
    }
    let written = crate::report::write_reports(
        &report,
        &cfg.out_dir,
        &cfg.report.formats,
        cfg.report.write_options,
    )
    .context("writing reports")?;
    if cfg.progress != ProgressMode::Quiet {
        print_outcome(&report, &written, complete);
    }
    if let Some(dir) = history {
        let kept =
            crate::trend::history::save(dir, &report).context("keeping the run in --history")?;
        if cfg.progress != ProgressMode::Quiet {
            console!("kept {}", kept.display());
        }
    }
    let code = report.exit_code;
    // The process ends here: freeing a large fleet's report piece by piece only costs time (a tenth
    // of a second per 100,000 findings); the OS takes the memory back at once.
    std::mem::forget(report);
    Ok(ExitCode::from(code))
}

/// `capture --nova-db`: each database's two exports, as `mysql --batch` prints them (secrets already
/// dropped), under `nova/` beside the dumps. Returns the options that re-audit them.
fn capture_nova_exports(
    out_dir: &std::path::Path,
    exports: &[crate::nova_db::DbExport],
) -> anyhow::Result<Vec<String>> {
    if exports.is_empty() {
        return Ok(Vec::new());
    }
    let mut staged = crate::report::atomic::StagedOutputs::new(&out_dir.join("nova"))?;
    let mut options = Vec::new();
    for export in exports {
        let stem = crate::report::safe_file_name(
            export
                .label
                .trim_start_matches("mysql://")
                .split('?')
                .next()
                .unwrap_or_default(),
        );
        for (kind, option, text) in [
            ("servers", "--nova-servers", &export.servers_tsv),
            ("bdms", "--nova-bdms", &export.bdms_tsv),
        ] {
            let file = format!("{stem}.{kind}.tsv");
            staged.stage(&file, |w| w.write_all(text.as_bytes()))?;
            options.push(format!("{option} nova/{file}"));
        }
    }
    staged.commit()?;
    Ok(options)
}

/// `trend`: read the runs, check they are of one fleet, write trend.html and trend.csv.
pub fn trend_command(a: &TrendArgs) -> anyhow::Result<ExitCode> {
    let target_text = a.target_date.as_ref().map(|d| d.text.as_str());
    let trend = crate::trend::Trend::load(&a.runs)?;
    crate::report::atomic::check_writable(&a.out)?;
    let files = crate::trend::page::write_trend(&trend, &a.out, target_text)
        .context("writing the trend")?;
    if !a.quiet {
        let p = crate::trend::pace(&trend, a.target_date.as_ref().map(|d| d.day));
        console!(
            "{} from {} to {}: {}",
            count(trend.runs.len(), "run"),
            trend.runs[0].started_at,
            trend.latest().started_at,
            crate::trend::page::pace_line(&p, target_text)
        );
        for f in files {
            console!("wrote {}", f.display());
        }
    }
    Ok(ExitCode::from(exit::CLEAN))
}

#[cfg(test)]
mod capture_tests {
    use super::*;
    use crate::inventory::{Entry, Source};

    fn entry(name: &str) -> Entry {
        Entry {
            name: name.to_string(),
            source: Source::Url(format!("https://{name}/")),
            username: "root".into(),
            password_env: None,
            password_file: None,
            site: format!("site-{name}"),
            tags: "t".into(),
            insecure: false,
            tls_fingerprint: None,
            tls_legacy: false,
            line: 2,
        }
    }

    #[test]
    fn capture_marks_exactly_the_entries_an_interrupt_left_unfinished() {
        let entries: Vec<Entry> = ["a", "b", "c", "d"].into_iter().map(entry).collect();
        // (entries reported, the indexes marked unfinished)
        for (reported, want) in [
            (vec![true, true, true, true], vec![]),
            (vec![false, false, false, false], vec![0, 1, 2, 3]),
            (vec![true, false, true, false], vec![1, 3]),
            (vec![false, true, true, true], vec![0]),
        ] {
            let rows: Vec<_> = unfinished_rows(&entries, &reported).collect();
            let got: Vec<usize> = rows.iter().map(|(i, _)| *i).collect();
            assert_eq!(got, want, "{reported:?}");
            for (i, row) in &rows {
                assert_eq!(row.name, entries[*i].name);
                assert_eq!(row.site, entries[*i].site, "the row keeps the entry's site");
                assert_eq!(row.dump, "", "no dump for an unfinished entry");
                assert_eq!(row.capture_failed, "interrupted before this entry finished");
            }
        }
    }
}
