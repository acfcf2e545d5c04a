//! The scanner: runs live entries on `--concurrency` plain threads (the work is mostly waiting on the
//! network, so the count is independent of the CPU count) and dump entries on rayon, and sends each
//! result over a channel to one collector on the calling thread. The collector owns the progress
//! display and all results; nothing is shared and mutated across workers. One entry failing is
//! recorded and the scan carries on. Pools listed several times are audited once.

use crate::audit::{audit_pool, NovaView, PoolAudit, Verdict};
use crate::config::{LiveOptions, ProgressMode};
use crate::dump::{
    read_dump_with_sha256, snapshot_from_database, Keep, CAPTURED_AT, CAPTURED_BY, CAPTURED_FROM,
};
use crate::inventory::{Entry, Inventory, Source};
use crate::model::{NovaServer, Snapshot};
use crate::policy::baseline::Baseline;
use crate::policy::inputs::{DumpInput, Inputs};
use crate::policy::waivers::Waiver;
use crate::policy::FailOn;
use crate::report::{Format, HostRow, NovaInfo, Report, RunMeta};
use crate::text::printable;
use crate::xapi::HttpClients;
use std::collections::HashSet;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant, SystemTime};

/// Everything a `scan` run needs.
#[derive(Debug, Clone)]
pub struct ScanConfig {
    pub inventory: Inventory,
    pub out_dir: PathBuf,
    pub progress: ProgressMode,
    pub concurrency: usize,
    pub live: LiveOptions,
    /// The command line as typed (it never holds a secret: passwords are not accepted in argv).
    pub command_line: String,
    /// What the reports hold beyond the scan itself; `capture`, which writes none, keeps the default.
    pub report: ReportOptions,
}

/// The options of a run's reports and verdicts: formats, the exit-code gate, the comparison, the
/// waivers and Nova's data. The default writes no report and adds nothing to the scan's findings.
#[derive(Debug, Clone, Default)]
pub struct ReportOptions {
    pub formats: Vec<Format>,
    pub write_options: crate::report::WriteOptions,
    pub fail_on: FailOn,
    /// A previous report.json to compare with, already read.
    pub baseline: Option<Baseline>,
    /// Acknowledged findings, already read and validated.
    pub waivers: Vec<Waiver>,
    /// Today, in days since 1970-01-01 (UTC), for waiver expiry (0 in the default: no waiver).
    pub today: i64,
    /// Nova's BDMs and projects, indexed (empty when no Nova file was given).
    pub nova: NovaView,
    /// The instances Nova lists (`--nova-servers`), for coverage; `None` without that file.
    pub nova_servers: Option<Vec<NovaServer>>,
    /// Which Nova files and options this run used, for the report.
    pub nova_info: Option<NovaInfo>,
    /// The files read before the scan (Nova exports, waivers) with their digests, and the options
    /// that change verdicts; the scan adds the dumps it reads.
    pub inputs: Inputs,
}

/// What one entry gave.
#[derive(Debug)]
pub struct EntryResult {
    pub index: usize,
    /// What the entry's TLS handshake negotiated (https entries that got that far).
    pub tls: Option<crate::xapi::tls::TlsSeen>,
    /// The audit, with the snapshot it came from when the caller asked to keep it (`capture`);
    /// shared by the rows of one pool.
    pub outcome: Result<Arc<Audited>, String>,
    pub duration: Duration,
    /// When the entry ended (what `capture` records as the time a dump was taken).
    pub finished: SystemTime,
}

/// One pool's audit, and its snapshot when the caller keeps snapshots (`capture`).
#[derive(Debug, Clone)]
pub struct Audited {
    pub snapshot: Option<Arc<Snapshot>>,
    pub audit: PoolAudit,
    /// For a dump `capture` wrote: where, when and by what it was taken.
    pub captured: Option<crate::report::provenance::Captured>,
    /// sha256 of the dump the audit was read from (empty for live entries).
    pub dump_sha256: String,
}

/// Fetch one entry's pool (from its dump, or live: sharing the fetch of another row of the same
/// pool) and audit it. A scan keeps only the audit: the snapshot is dropped as soon as it is
/// audited, so memory follows the reports, not the fleet's records.
fn process(
    keep_snapshot: bool,
    entry: &Entry,
    cfg: &ScanConfig,
    clients: &HttpClients,
    cancel: &AtomicBool,
) -> Result<Arc<Audited>, String> {
    let audited = |snap: Snapshot| {
        let audit = audit_pool(&snap, &cfg.report.nova);
        Audited {
            snapshot: keep_snapshot.then(|| Arc::new(snap)),
            audit,
            captured: None,
            dump_sha256: String::new(),
        }
    };
    match &entry.source {
        Source::Dump(path) => {
            // Digested as it is read: the report names exactly the bytes it audited.
            let (db, dump_sha256) =
                read_dump_with_sha256(path, Keep::Audit).map_err(|e| e.to_string())?;
            let snap =
                snapshot_from_database(&db).map_err(|e| format!("{}: {e}", path.display()))?;
            let captured = crate::report::provenance::Captured::from_manifest(
                |k| db.manifest.get(k).map(String::as_str),
                [CAPTURED_FROM, CAPTURED_AT, CAPTURED_BY],
            );
            drop(db);
            Ok(Arc::new(Audited {
                captured,
                dump_sha256,
                ..audited(snap)
            }))
        }
        Source::NotCaptured(why) => Err(format!("not captured: {why}")),
        Source::Url(_) => crate::xapi::fetch_shared(entry, clients, &cfg.live, cancel, audited)
            .map_err(|e| e.to_string()),
    }
}

/// One entry, start to end, as the scan's workers run it: fetch, audit, send the result.
type EntryRunner = Arc<dyn Fn(usize, &mpsc::Sender<EntryResult>) + Send + Sync>;

/// Run every entry; returns the results in inventory order and whether the scan ran to the end.
pub fn scan_entries(
    cfg: &ScanConfig,
    keep_snapshots: bool,
    cancel: Arc<AtomicBool>,
) -> Result<(Vec<EntryResult>, bool), String> {
    let entries = &cfg.inventory.entries;
    // What every connection of the scan shares (TLS contexts, pins, the fetch cache).
    let clients = Arc::new(HttpClients::new(&cfg.live, &cfg.inventory.entries));
    let (tx, rx) = mpsc::channel::<EntryResult>();
    let busy = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let run_one = entry_runner(cfg, keep_snapshots, &cancel, &clients, &busy);
    let (live, offline): (Vec<usize>, Vec<usize>) =
        (0..entries.len()).partition(|i| matches!(entries[*i].source, Source::Url(_)));
    start_live_threads(cfg, live, &run_one, &tx)?;
    let pool = start_dump_pool(cfg, offline, &run_one, &tx)?;
    drop(tx);
    let (results, complete) = collect_results(cfg, &clients, &busy, &rx, &cancel);
    // The results now hold the only references to the audits the fetch cache shared.
    clients.shared_fetches.clear();
    // Neither the threads nor the pool are waited for: workers still blocked on a host after a
    // cancel end on their own timeouts and hold no state the caller uses.
    drop(pool);
    Ok((results, complete))
}

/// The work of one entry: counted busy, skipped after a cancel, a panic recorded as the entry's
/// failure, its result (with the TLS it negotiated and its duration) sent to the collector.
fn entry_runner(
    cfg: &ScanConfig,
    keep_snapshots: bool,
    cancel: &Arc<AtomicBool>,
    clients: &Arc<HttpClients>,
    busy: &Arc<std::sync::atomic::AtomicUsize>,
) -> EntryRunner {
    let cfg = Arc::new(cfg.clone());
    let cancel = Arc::clone(cancel);
    let clients = Arc::clone(clients);
    let busy = Arc::clone(busy);
    Arc::new(move |index: usize, tx: &mpsc::Sender<EntryResult>| {
        // Counted before the cancel check: after an interrupt, the collector waits for every
        // entry that got past it (its session is logged out before the process ends).
        let _busy = Busy::enter(&busy);
        if cancel.load(Ordering::Relaxed) {
            return;
        }
        let started = Instant::now();
        let entry = &cfg.inventory.entries[index];
        // A panic in one entry's code must not take the scan down: record it as that entry's failure.
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            process(keep_snapshots, entry, &cfg, &clients, &cancel)
        }))
        .unwrap_or_else(|_| {
            Err("internal error while auditing this entry (please report it)".to_string())
        });
        let tls = match &entry.source {
            Source::Url(url) => clients.tls_seen(url),
            Source::Dump(_) | Source::NotCaptured(_) => None,
        };
        let _ = tx.send(EntryResult {
            index,
            tls,
            outcome,
            duration: started.elapsed(),
            finished: SystemTime::now(),
        });
    })
}

/// Live entries wait on the network: `--concurrency` plain threads, each taking the next entry
/// when it is done with one. (A rayon pool of that many threads spent its time in work-stealing
/// bookkeeping and context switches: 7% of a 3,000-host scan went to crossbeam's epoch alone.)
fn start_live_threads(
    cfg: &ScanConfig,
    live: Vec<usize>,
    run_one: &EntryRunner,
    tx: &mpsc::Sender<EntryResult>,
) -> Result<(), String> {
    let live = Arc::new(live);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    for i in 0..cfg.concurrency.max(1).min(live.len()) {
        let (live, next, run_one, tx) = (
            Arc::clone(&live),
            Arc::clone(&next),
            Arc::clone(run_one),
            tx.clone(),
        );
        std::thread::Builder::new()
            .name(format!("xsa-live-{i}"))
            .stack_size(512 * 1024)
            .spawn(move || {
                while let Some(&index) = live.get(next.fetch_add(1, Ordering::Relaxed)) {
                    run_one(index, &tx);
                }
            })
            .map_err(|e| {
                format!(
                    "cannot start {} scan threads: {e} (lower --concurrency)",
                    cfg.concurrency
                )
            })?;
    }
    Ok(())
}

/// Dumps are CPU work: rayon, one thread per core (at most --concurrency); None without dumps.
fn start_dump_pool(
    cfg: &ScanConfig,
    offline: Vec<usize>,
    run_one: &EntryRunner,
    tx: &mpsc::Sender<EntryResult>,
) -> Result<Option<rayon::ThreadPool>, String> {
    if offline.is_empty() {
        return Ok(None);
    }
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(cores.min(cfg.concurrency.max(1)))
        .thread_name(|i| format!("xsa-dump-{i}"))
        .build()
        .map_err(|e| format!("cannot start the dump readers: {e}"))?;
    for index in offline {
        let (run_one, tx) = (Arc::clone(run_one), tx.clone());
        pool.spawn(move || run_one(index, &tx));
    }
    Ok(Some(pool))
}

/// The collector: every result as it comes (progress shown), until all workers are done or a
/// cancel winds the scan down; the results in inventory order, and whether the scan completed.
fn collect_results(
    cfg: &ScanConfig,
    clients: &Arc<HttpClients>,
    busy: &std::sync::atomic::AtomicUsize,
    rx: &mpsc::Receiver<EntryResult>,
    cancel: &AtomicBool,
) -> (Vec<EntryResult>, bool) {
    let entries = &cfg.inventory.entries;
    let mut progress = Progress::new(cfg.progress, entries.len());
    let mut results: Vec<EntryResult> = Vec::with_capacity(entries.len());
    let mut complete = true;
    loop {
        if cancel.load(Ordering::Relaxed) {
            wind_down(clients, &cfg.live, busy, rx, &mut results);
            // Interrupted is incomplete, even when the last entries ended during the wind-down.
            complete = false;
            break;
        }
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(r) => {
                progress.done(&entries[r.index], &r);
                results.push(r);
            }
            Err(mpsc::RecvTimeoutError::Timeout) => progress.tick(),
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    progress.finish();
    results.sort_by_key(|r| r.index);
    (results, complete)
}

/// An entry's error without its leading `<entry name>: ` (live errors start with it), for a line
/// that already names the entry. An error that names another row (a fetch shared with it) is kept.
pub fn error_after_name<'a>(name: &str, error: &'a str) -> &'a str {
    error
        .strip_prefix(name)
        .and_then(|rest| rest.strip_prefix(": "))
        .unwrap_or(error)
}

/// How long an interrupted scan spends logging out the sessions it holds before it writes what
/// finished and exits (a second interrupt exits at once).
pub const LOGOUT_GRACE: Duration = Duration::from_secs(2);

/// Counts a worker busy with an entry for as long as it lives.
struct Busy<'a>(&'a std::sync::atomic::AtomicUsize);

impl<'a> Busy<'a> {
    fn enter(count: &'a std::sync::atomic::AtomicUsize) -> Busy<'a> {
        count.fetch_add(1, Ordering::SeqCst);
        Busy(count)
    }
}

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// After an interrupt, within [`LOGOUT_GRACE`]: log out every open session at once (on fresh
/// connections, so a worker blocked in a long call holds nothing open), keep doing so for sessions
/// logins still in flight open, and collect the entries that end meanwhile; return when no session
/// is open or coming (or no worker is busy) and every logout answered, or when the grace is over.
fn wind_down(
    clients: &Arc<HttpClients>,
    live: &LiveOptions,
    busy: &std::sync::atomic::AtomicUsize,
    rx: &mpsc::Receiver<EntryResult>,
    results: &mut Vec<EntryResult>,
) {
    let until = Instant::now() + LOGOUT_GRACE;
    let worker_logouts_before = clients.sessions.worker_logouts_ended();
    let mut logouts = Vec::new();
    loop {
        logouts.extend(clients.sessions.logout_all(clients, live, until));
        logouts.retain(|h: &std::thread::JoinHandle<()>| !h.is_finished());
        while let Ok(r) = rx.try_recv() {
            results.push(r);
        }
        // Workers still busy hold no session (theirs were logged out above) unless a login or
        // their own logout is in flight: they are not waited for. A worker whose own logout
        // answered meanwhile had its data: its result is on the way (an audit), so it is waited
        // for (within the grace) rather than reported as interrupted.
        let idle = busy.load(Ordering::SeqCst) == 0;
        let finishing = clients.sessions.worker_logouts_ended() > worker_logouts_before;
        let settled = idle || (clients.sessions.settled() && !finishing);
        if (settled && logouts.is_empty()) || Instant::now() >= until {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Progress on stderr: a bar on a terminal, log lines otherwise, nothing when quiet.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    plain: bool,
    total: usize,
    done: usize,
    failed: usize,
    /// Each pool reported so far: the inventory index and name of its first row (the one hosts.csv
    /// counts it under), so the other rows can say they are the same pool.
    pools: std::collections::HashMap<String, (usize, String)>,
    /// Log lines printed so far (the `[n/total]` of the next one).
    printed: usize,
    /// Which rows have reported, and the first that has not: a row that read a pool is printed
    /// once every row before it has reported, so its line agrees with hosts.csv.
    reported: Vec<bool>,
    first_unreported: usize,
    /// Rows that read a pool, waiting for an earlier row: name, audit, duration.
    waiting: std::collections::BTreeMap<usize, (String, Arc<Audited>, Duration)>,
}

impl Progress {
    fn new(mode: ProgressMode, total: usize) -> Progress {
        let quiet = mode == ProgressMode::Quiet;
        let tty = std::io::stderr().is_terminal();
        let bar = (!quiet && tty).then(|| {
            let bar = indicatif::ProgressBar::new(total as u64);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} entries, {msg} (ETA {eta})",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            bar.set_message("0 failed");
            bar
        });
        Progress {
            bar,
            plain: !quiet && !tty,
            total,
            done: 0,
            failed: 0,
            pools: Default::default(),
            printed: 0,
            reported: vec![false; total],
            first_unreported: 0,
            waiting: Default::default(),
        }
    }

    /// What an entry that read its pool says: `read pool`, or, for a pool another row already
    /// gave, that it is the same pool (hosts.csv: `same-pool-as`) and where it is counted.
    fn pool_status(&mut self, index: usize, name_of_row: &str, audit: &PoolAudit) -> String {
        let pool = printable(&audit.pool_name);
        if audit.pool_uuid.is_empty() {
            return format!("ok: read pool {pool:?}");
        }
        match self.pools.get(&audit.pool_uuid).cloned() {
            None => {
                self.pools
                    .insert(audit.pool_uuid.clone(), (index, name_of_row.to_string()));
                format!("ok: read pool {pool:?}")
            }
            Some((first, name)) if first < index => format!(
                "ok: same pool as {} ({pool:?}, counted there)",
                printable(&name)
            ),
            Some((_, name)) => {
                self.pools
                    .insert(audit.pool_uuid.clone(), (index, name_of_row.to_string()));
                format!(
                    "ok: read pool {pool:?} (counted under this entry; {} is the same pool)",
                    printable(&name)
                )
            }
        }
    }

    fn done(&mut self, entry: &Entry, r: &EntryResult) {
        self.done += 1;
        if r.outcome.is_err() {
            self.failed += 1;
        }
        // Counts are not shown here: an entry of a pool already read counts nothing in the reports
        // (hosts.csv: same-pool-as), and the per-pool totals are printed once at the end.
        if let Some(bar) = &self.bar {
            if let Err(e) = &r.outcome {
                // Above the bar, as it happens: a bar that only says "2 failed" names nothing.
                bar.println(format!(
                    "{}: failed: {}",
                    printable(&entry.name),
                    printable(error_after_name(&entry.name, e))
                ));
            }
            bar.set_message(format!(
                "{} failed, last {}",
                self.failed,
                printable(&entry.name)
            ));
            bar.inc(1);
        } else if self.plain {
            self.reported[r.index] = true;
            while self.reported.get(self.first_unreported) == Some(&true) {
                self.first_unreported += 1;
            }
            match &r.outcome {
                // A failure claims no pool: printed as it happens.
                Err(e) => {
                    let status = format!("failed: {}", printable(error_after_name(&entry.name, e)));
                    self.print_line(&entry.name, &status, r.duration);
                }
                Ok(a) => {
                    let waiting = (entry.name.clone(), Arc::clone(a), r.duration);
                    self.waiting.insert(r.index, waiting);
                }
            }
            self.print_waiting(false);
        }
    }

    /// Print the rows that read a pool and whose earlier rows have all reported (`all`: every one
    /// left, the scan has ended), in inventory order: then "read pool" and "same pool as" name the
    /// row hosts.csv counts the pool under (the first in inventory order that read it).
    fn print_waiting(&mut self, all: bool) {
        while let Some(next) = self.waiting.first_entry() {
            if !all && *next.key() >= self.first_unreported {
                break;
            }
            let (index, (name, audited, duration)) = next.remove_entry();
            let status = self.pool_status(index, &name, &audited.audit);
            self.print_line(&name, &status, duration);
        }
    }

    fn print_line(&mut self, name: &str, status: &str, duration: Duration) {
        self.printed += 1;
        // Not `eprintln!`: a closed stderr (`2>&1 | head`) must not panic and cost the reports.
        let _ = writeln!(
            std::io::stderr().lock(),
            "[{}/{}] {}: {} ({} ms)",
            self.printed,
            self.total,
            printable(name),
            status,
            duration.as_millis()
        );
    }

    fn tick(&self) {
        if let Some(bar) = &self.bar {
            bar.tick();
        }
    }

    fn finish(&mut self) {
        self.print_waiting(true);
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// Turn the results into a report: pools deduplicated (first entry of a pool in inventory order is
/// audited, the others point at it), failures recorded with their reason.
pub fn build_report(cfg: &ScanConfig, results: Vec<EntryResult>, run: RunMeta) -> Report {
    let entries = &cfg.inventory.entries;
    let mut first_of_pool: std::collections::HashMap<String, String> =
        std::collections::HashMap::new();
    let mut rows = Vec::new();
    let mut inputs = Inputs {
        live_entries: entries
            .iter()
            .filter(|e| matches!(e.source, Source::Url(_)))
            .count(),
        ..cfg.report.inputs.clone()
    };
    let mut audits = Vec::new();
    for r in every_entry(entries.len(), results) {
        let entry = &entries[r.index];
        let mut row = entry_row(cfg, entry, &r);
        match r.outcome {
            Err(e) => {
                row.status = "failed".into();
                row.error = error_after_name(&entry.name, &e).to_string();
            }
            Ok(audited) => {
                if let Source::Dump(path) = &entry.source {
                    inputs.dumps.push(DumpInput {
                        entry: entry.name.clone(),
                        path: path.display().to_string(),
                        sha256: audited.dump_sha256.clone(),
                    });
                }
                let audit = &audited.audit;
                row.captured = audited.captured.clone();
                row.pool_uuid = audit.pool_uuid.clone();
                row.pool_name = audit.pool_name.clone();
                let first = (!audit.pool_uuid.is_empty())
                    .then(|| first_of_pool.get(&audit.pool_uuid).cloned())
                    .flatten();
                if let Some(first) = first {
                    row.status = format!("same-pool-as:{first}");
                } else {
                    if !audit.pool_uuid.is_empty() {
                        first_of_pool.insert(audit.pool_uuid.clone(), entry.name.clone());
                    }
                    count_pool(&mut row, audit);
                    // Only rows of one pool share an audit: the others are dropped by now, or
                    // (a pool listed twice) still hold it and it is copied once.
                    let owned = Arc::try_unwrap(audited)
                        .map(|a| a.audit)
                        .unwrap_or_else(|shared| shared.audit.clone());
                    audits.push((entry.name.clone(), owned));
                }
            }
        }
        rows.push(row);
    }
    let coverage = cfg.report.nova_servers.as_deref().map(|servers| {
        let pools: Vec<&PoolAudit> = audits.iter().map(|(_, a)| a).collect();
        crate::audit::coverage(servers, &pools)
    });
    let mut report = Report::assemble(run, rows, audits);
    report.coverage = coverage.unwrap_or_default();
    report.nova = cfg.report.nova_info.clone();
    apply_run_policy(cfg, &mut report, inputs);
    report
}

/// Every entry's result in inventory order; an entry that never reported (the scan was
/// interrupted) is a failure of its own.
fn every_entry(entries: usize, results: Vec<EntryResult>) -> impl Iterator<Item = EntryResult> {
    let mut by_index: Vec<Option<EntryResult>> = (0..entries).map(|_| None).collect();
    for r in results {
        let i = r.index;
        by_index[i] = Some(r);
    }
    by_index.into_iter().enumerate().map(|(index, r)| {
        r.unwrap_or(EntryResult {
            index,
            tls: None,
            outcome: Err("interrupted before this entry finished".to_string()),
            duration: Duration::ZERO,
            finished: SystemTime::now(),
        })
    })
}

/// hosts.csv's row for an entry, before its outcome: what the inventory and the connection say.
fn entry_row(cfg: &ScanConfig, entry: &Entry, r: &EntryResult) -> HostRow {
    HostRow {
        name: entry.name.clone(),
        source: entry.source_display(),
        site: entry.site.clone(),
        tags: entry.tags.clone(),
        duration_ms: r.duration.as_millis() as u64,
        insecure: matches!(entry.source, Source::Url(_))
            && entry.tls_fingerprint.is_none()
            && (entry.insecure || cfg.live.insecure),
        tls: match &entry.source {
            Source::Url(u) if u.to_ascii_lowercase().starts_with("http://") => "none".into(),
            Source::Url(_) => crate::xapi::tls_policy(entry, &cfg.live)
                .mode
                .as_str()
                .to_string(),
            Source::Dump(_) | Source::NotCaptured(_) => String::new(),
        },
        tls_version: r
            .tls
            .as_ref()
            .map(|t| t.version.clone())
            .unwrap_or_default(),
        ..Default::default()
    }
}

/// The counts of the row that audited a pool (`ok`; other rows of the pool say `same-pool-as`).
fn count_pool(row: &mut HostRow, audit: &PoolAudit) {
    let with = |v: Verdict| audit.instances.iter().filter(|i| i.verdict == v).count();
    row.status = "ok".into();
    row.hosts = audit.hosts;
    row.vms = audit.vms;
    row.instances = audit.instances.len();
    row.attachments = audit.findings.len();
    row.blocked = with(Verdict::Blocked);
    row.review = with(Verdict::Review);
    row.legacy_srs = audit.legacy_srs;
    row.orphans = audit.orphans.len();
    row.conflicts = audit.conflicts.len();
}

/// The run's policy on the assembled report: waivers first (the baseline then compares the
/// findings as reported, as `diff` does), the baseline, the inputs, and the exit code.
fn apply_run_policy(cfg: &ScanConfig, report: &mut Report, inputs: Inputs) {
    report.waivers = crate::policy::waivers::apply(
        &mut report.findings,
        &mut report.instances,
        &cfg.report.waivers,
        cfg.report.today,
    );
    if let Some(old) = &cfg.report.baseline {
        let audited: HashSet<&str> = report.pools.iter().map(|p| p.pool_uuid.as_str()).collect();
        let (resolved, info) =
            crate::policy::baseline::apply(&mut report.findings, old, &audited, &inputs);
        report.resolved = resolved;
        report.baseline = Some(info);
    }
    report.inputs = Some(inputs);
    report.finalize(cfg.report.fail_on);
}

/// RFC 3339 UTC timestamp of a moment, to the second.
pub fn timestamp(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_loses_only_its_own_entry_name() {
        for (name, error, want) in [
            ("xs01", "xs01: login refused", "login refused"),
            ("xs01", "xs02: login refused", "xs02: login refused"),
            ("xs0", "xs01: timed out", "xs01: timed out"),
            ("a.xml", "d/a.xml: truncated", "d/a.xml: truncated"),
            ("xs01", "xs01", "xs01"),
        ] {
            assert_eq!(error_after_name(name, error), want, "{name} / {error}");
        }
    }
}
