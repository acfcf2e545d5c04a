//! The command line: clap definitions, the one fallible step that turns arguments into a
//! [`ScanConfig`], and `run`, which the thin `main` calls. Errors are typed in the engine and gain
//! context here with anyhow; [`exit_code_of`] maps them to the documented exit codes.

use crate::audit::NovaView;
use crate::classify::NovaTargetConf;
use crate::config::{FetchMode, LiveOptions, ProgressMode};
use crate::error::{InputError, ReportError};
use crate::policy::baseline::Baseline;
use crate::policy::{exit, FailOn};
use crate::report::{Format, NovaInfo, Report, RunMeta};
use crate::scan::ScanConfig;
use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

const AFTER_HELP: &str = "\
Examples:
  xen-sr-audit scan --inventory fixtures/demo/inventory.csv --out out/
  xen-sr-audit scan --inventory fleet.csv --out reports/ --format csv,json --quiet
  XSA_PASSWORD=... xen-sr-audit scan --inventory live.csv --out out/ --concurrency 64

Exit codes:
  0  clean: no finding needs action
  1  warnings only: instances to review, orphaned legacy SRs or conflicts
  1  (also) instances where Nova and XAPI disagree (missing in XAPI, unknown to Nova)
  2  at least one instance cannot be live-migrated after the upgrade (blocked)
  3  no blocked instance, but at least one inventory entry could not be audited, or an instance
     Nova lists is on no audited host (--nova-servers)
  64 bad usage or a bad input file (nothing scanned, no report written)
  70 internal error (please report it)
  74 the reports could not be written
  130 interrupted (Ctrl-C): a partial report marked incomplete was written";

#[derive(Debug, Parser)]
#[command(name = "xen-sr-audit", version, about = "Find Nova instances whose Cinder volumes sit on legacy-named XenServer SRs (live migration breaks after the Mitaka upgrade)", after_help = AFTER_HELP)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Audit every entry of an inventory and write reports.
    Scan(ScanArgs),
    /// Save what a scan reads as offline dumps (secrets removed) plus an inventory of them, so the
    /// audit can be re-run offline and the evidence attached to a ticket.
    Capture(CaptureArgs),
    /// Compare two report.json files: new, unchanged and resolved findings (exit 1 if any is new).
    Diff(DiffArgs),
    /// Check that dumps can be read before an audit: per-table row counts, the pool, and the count of
    /// Nova instances, one dump at a time (exit 3 if any cannot be read).
    InspectDump(InspectArgs),
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Dump files (XML, or gzip-compressed state.db).
    #[arg(required = true)]
    pub dumps: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The earlier report.json.
    pub old: PathBuf,
    /// The later report.json.
    pub new: PathBuf,
    /// Print the comparison as JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Where the data comes from and how it is fetched: shared by `scan` and `capture`.
#[derive(Debug, Args)]
pub struct SourceArgs {
    /// Inventory CSV (columns: name, url or dump, username, password_env, password_file, site, tags, insecure).
    #[arg(long, short = 'i', value_name = "FILE")]
    pub inventory: PathBuf,
    /// Output folder (created if needed; checked before anything is scanned; files are replaced atomically).
    #[arg(long, short = 'o', value_name = "DIR")]
    pub out: PathBuf,
    /// No progress and no summary on stderr (errors still go there).
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// How many entries are scanned at once (network-bound: independent of the CPU count).
    #[arg(long, short = 'j', default_value_t = 32, value_name = "N")]
    pub concurrency: usize,
    /// Connect and read timeout of each XAPI call, in seconds.
    #[arg(long, default_value_t = 30.0, value_name = "SECS")]
    pub timeout: f64,
    /// The most one live entry may take, all calls and retries included, in seconds.
    #[arg(long, default_value_t = 300.0, value_name = "SECS")]
    pub host_deadline: f64,
    /// Extra CA certificates (PEM) to trust for https:// endpoints.
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// Do not verify TLS certificates of any endpoint (flagged in the reports).
    #[arg(long)]
    pub insecure: bool,
    /// The largest XAPI response accepted, in MiB.
    #[arg(long, default_value_t = 1024, value_name = "MIB")]
    pub max_response_mb: u64,
    /// Fetch records with event.from (one call) or get_all_records per class.
    #[arg(long, value_name = "MODE", default_value = "auto", value_parser = ["auto", "records"])]
    pub fetch: String,
}

/// `capture`: only where the data comes from.
#[derive(Debug, Args)]
pub struct CaptureArgs {
    #[command(flatten)]
    pub source: SourceArgs,
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// Report formats, comma-separated: csv, json, html, md.
    #[arg(long, value_name = "LIST", default_value = "csv,json,html,md")]
    pub format: String,
    /// A previous report.json: mark each problem new, unchanged or first seen, and list what was resolved.
    #[arg(long, value_name = "REPORT_JSON")]
    pub baseline: Option<PathBuf>,
    /// Acknowledged findings (TOML or CSV: finding_id or instance_uuid, reason, owner, expires).
    #[arg(long, value_name = "FILE")]
    pub waivers: Option<PathBuf>,
    /// Which findings raise the exit code: blocked, review, or never.
    #[arg(long, value_name = "LEVEL", default_value = "blocked", value_parser = ["blocked", "review", "never"])]
    pub fail_on: String,
    /// Nova's instances: `openstack server list --all-projects --long -f json`, or a CSV/TSV export
    /// of the instances table. Every instance is then accounted for in coverage.csv. Repeatable.
    #[arg(long, value_name = "FILE")]
    pub nova_servers: Vec<PathBuf>,
    /// Nova's volume block device mappings (instance_uuid, volume_id, device_name, boot_index,
    /// connection_info) as `mysql --batch`, CSV or JSON: each volume is then checked against the SR
    /// uuid the destination computes. Repeatable.
    #[arg(long, value_name = "FILE")]
    pub nova_bdms: Vec<PathBuf>,
    /// The destinations' `[xenserver] target_port` (used for portals without a port).
    #[arg(long, value_name = "PORT", default_value = "3260")]
    pub nova_target_port: String,
    /// The destinations' `[xenserver] target_host` (used for empty portals; default: none).
    #[arg(long, value_name = "HOST")]
    pub nova_target_host: Option<String>,
}

/// An error in how the tool was called: exit code 64.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Map an error to its documented exit code.
pub fn exit_code_of(err: &anyhow::Error) -> u8 {
    for cause in err.chain() {
        if cause.is::<UsageError>() || cause.is::<InputError>() || cause.is::<clap::Error>() {
            return exit::USAGE;
        }
        if cause.is::<ReportError>() {
            return exit::IO;
        }
    }
    exit::INTERNAL
}

fn seconds(name: &str, v: f64) -> Result<Duration, UsageError> {
    if v.is_finite() && v > 0.0 && v < 1e7 {
        Ok(Duration::from_secs_f64(v))
    } else {
        Err(UsageError(format!(
            "--{name} must be a positive number of seconds, got {v}"
        )))
    }
}

/// Parse `--format`.
pub fn parse_formats(s: &str) -> Result<Vec<Format>, UsageError> {
    let mut out = Vec::new();
    for part in s.split(',').filter(|p| !p.trim().is_empty()) {
        let f = Format::parse(part).ok_or_else(|| {
            UsageError(format!(
                "--format: unknown format {part:?} (known: csv, json, html, md)"
            ))
        })?;
        if !out.contains(&f) {
            out.push(f);
        }
    }
    if out.is_empty() {
        return Err(UsageError(
            "--format: name at least one of csv, json, html, md".into(),
        ));
    }
    Ok(out)
}

/// The parts of a configuration every command that scans shares.
struct SourceConfig {
    inventory: crate::inventory::Inventory,
    out_dir: PathBuf,
    progress: ProgressMode,
    concurrency: usize,
    live: LiveOptions,
}

impl SourceArgs {
    /// Check options, the inventory, every live entry's credentials and the CA file. The output
    /// folder is checked last, by the caller, once every input is known to be good (a bad input
    /// leaves no folder behind).
    fn into_config(self) -> anyhow::Result<SourceConfig> {
        if self.concurrency == 0 || self.concurrency > 1024 {
            return Err(UsageError(format!(
                "--concurrency must be between 1 and 1024, got {}",
                self.concurrency
            ))
            .into());
        }
        if self.max_response_mb == 0 {
            return Err(UsageError("--max-response-mb must be at least 1".into()).into());
        }
        let live = LiveOptions {
            call_timeout: seconds("timeout", self.timeout)?,
            host_deadline: seconds("host-deadline", self.host_deadline)?,
            ca_file: self.ca_file,
            insecure: self.insecure,
            max_response_bytes: self.max_response_mb.saturating_mul(1024 * 1024),
            fetch: if self.fetch == "records" {
                FetchMode::AllRecords
            } else {
                FetchMode::Auto
            },
            ..LiveOptions::default()
        };
        if let Some(ca) = &live.ca_file {
            check_ca_file(ca)?;
        }
        let inventory = crate::inventory::load(&self.inventory)?;
        check_credentials(&inventory)?;
        Ok(SourceConfig {
            inventory,
            out_dir: self.out,
            progress: if self.quiet {
                ProgressMode::Quiet
            } else {
                ProgressMode::Auto
            },
            concurrency: self.concurrency,
            live,
        })
    }
}

/// A `--ca-file` must hold a PEM certificate (checked up front, not once per host).
fn check_ca_file(ca: &std::path::Path) -> Result<(), UsageError> {
    let bytes = std::fs::read(ca)
        .map_err(|e| UsageError(format!("--ca-file {}: cannot read: {e}", ca.display())))?;
    let pem = String::from_utf8_lossy(&bytes);
    if !pem.contains("-----BEGIN CERTIFICATE-----")
        || native_tls::Certificate::from_pem(&bytes).is_err()
    {
        return Err(UsageError(format!(
            "--ca-file {}: not a PEM certificate (expected -----BEGIN CERTIFICATE-----)",
            ca.display()
        )));
    }
    Ok(())
}

/// Every live entry's password must be findable before the scan starts: an unset `password_env` or
/// a missing `password_file` is a mistake in the inventory, not a host failure.
fn check_credentials(inventory: &crate::inventory::Inventory) -> Result<(), InputError> {
    for e in &inventory.entries {
        if !matches!(e.source, crate::inventory::Source::Url(_)) {
            continue;
        }
        let column = if e.password_env.is_some() {
            "password_env"
        } else if e.password_file.is_some() {
            "password_file"
        } else {
            "password_env/password_file (or XSA_PASSWORD)"
        };
        if let Err(crate::xapi::XapiError::Password { message, .. }) =
            crate::xapi::resolve_password(e)
        {
            return Err(InputError::Invalid {
                path: inventory.path.clone(),
                line: e.line,
                message: format!("{}: {column}: {message}", e.name),
            });
        }
    }
    Ok(())
}

impl CaptureArgs {
    /// `capture` writes dumps, no reports: the report options keep their defaults.
    pub fn into_config(self, command_line: String) -> anyhow::Result<ScanConfig> {
        let src = self.source.into_config()?;
        crate::report::atomic::check_writable(&src.out_dir)?;
        Ok(ScanConfig {
            inventory: src.inventory,
            out_dir: src.out_dir,
            formats: Vec::new(),
            progress: src.progress,
            concurrency: src.concurrency,
            live: src.live,
            command_line,
            fail_on: FailOn::default(),
            baseline: None,
            waivers: Vec::new(),
            today: crate::policy::waivers::today(),
            nova: NovaView::default(),
            nova_servers: None,
            nova_info: None,
        })
    }
}

impl ScanArgs {
    /// The one fallible step from arguments to configuration.
    pub fn into_config(self, command_line: String) -> anyhow::Result<ScanConfig> {
        let formats = parse_formats(&self.format)?;
        let src = self.source.into_config()?;
        let baseline = match &self.baseline {
            Some(p) => Some(baseline_of(
                p.display().to_string(),
                crate::report::json_out::read_comparable(p)?,
            )),
            None => None,
        };
        let waivers = match &self.waivers {
            Some(p) => crate::policy::waivers::load(p)?,
            None => Vec::new(),
        };
        let port = self.nova_target_port.trim();
        if port.parse::<u16>().map_or(true, |p| p == 0) {
            return Err(UsageError(format!(
                "--nova-target-port must be a port number (1-65535), got {port:?}"
            ))
            .into());
        }
        let conf = NovaTargetConf {
            target_port: port.to_string(),
            target_host: self
                .nova_target_host
                .map(|h| h.trim().to_string())
                .filter(|h| !h.is_empty()),
        };
        let nova_data = crate::nova::NovaData::load(&self.nova_servers, &self.nova_bdms)?;
        let nova = NovaView::new(
            nova_data.servers.as_deref(),
            nova_data.bdms.as_deref(),
            &conf,
        );
        let shown = |v: &[PathBuf]| v.iter().map(|p| p.display().to_string()).collect();
        let nova_info =
            (nova_data.servers.is_some() || nova_data.bdms.is_some()).then(|| NovaInfo {
                servers: shown(&self.nova_servers),
                bdms: shown(&self.nova_bdms),
                target_port: conf.target_port.clone(),
                target_host: conf.target_host.clone().unwrap_or_default(),
            });
        crate::report::atomic::check_writable(&src.out_dir)?;
        Ok(ScanConfig {
            inventory: src.inventory,
            out_dir: src.out_dir,
            formats,
            progress: src.progress,
            concurrency: src.concurrency,
            live: src.live,
            command_line,
            fail_on: FailOn::parse(&self.fail_on).unwrap_or_default(),
            baseline,
            waivers,
            today: crate::policy::waivers::today(),
            nova,
            nova_servers: nova_data.servers,
            nova_info,
        })
    }
}

/// What the comparison needs of an earlier report.
fn baseline_of(path: String, old: crate::report::json_out::Comparable) -> Baseline {
    Baseline {
        path,
        started_at: old.run.started_at,
        version: old.run.version,
        complete: old.run.complete,
        pools: old.pools.into_iter().map(|p| p.pool_uuid).collect(),
        findings: old.findings,
    }
}

fn command_line(args: &[OsString]) -> String {
    args.iter()
        .map(|a| {
            let s = a.to_string_lossy();
            if s.is_empty() || s.contains(|c: char| c.is_whitespace() || c == '\'' || c == '"') {
                format!("'{}'", s.replace('\'', "'\\''"))
            } else {
                s.into_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Parse arguments and run the chosen command.
pub fn run(args: impl IntoIterator<Item = OsString>) -> anyhow::Result<ExitCode> {
    let args: Vec<OsString> = args.into_iter().collect();
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e)
            if matches!(
                e.kind(),
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion
            ) =>
        {
            print!("{e}");
            return Ok(ExitCode::SUCCESS);
        }
        Err(e) => {
            let _ = e.print();
            return Ok(ExitCode::from(exit::USAGE));
        }
    };
    let line = command_line(&args);
    match cli.command {
        Command::Scan(a) => {
            let cfg = a.into_config(line)?;
            scan_command(&cfg)
        }
        Command::Capture(a) => {
            let cfg = a.into_config(line)?;
            capture_command(&cfg)
        }
        Command::Diff(a) => diff_command(&a),
        Command::InspectDump(a) => inspect_command(&a),
    }
}

/// `inspect-dump`: read each dump as a scan would and say what is in it.
pub fn inspect_command(a: &InspectArgs) -> anyhow::Result<ExitCode> {
    let mut failed = false;
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
                eprintln!("xen-sr-audit: {e}");
            }
            Ok((db, snap)) => {
                let instances = snap
                    .vms
                    .values()
                    .filter(|v| crate::classify::is_nova_instance(v))
                    .count();
                let mb = db.bytes_read as f64 / 1e6;
                println!(
                    "{}: pool {:?} ({}), {} hosts, {} VMs, {} Nova instances; {:.1} MB read in {:.3} s ({:.0} MB/s)",
                    path.display(),
                    crate::policy::baseline::printable(&snap.pool.name_label),
                    snap.pool.uuid,
                    snap.hosts.len(),
                    snap.vms.len(),
                    instances,
                    mb,
                    took.as_secs_f64(),
                    mb / took.as_secs_f64().max(1e-9)
                );
                let counts: Vec<String> = db
                    .row_counts
                    .iter()
                    .filter(|(_, n)| **n > 0)
                    .map(|(t, n)| format!("{t}={n}"))
                    .collect();
                println!("  rows: {}", counts.join(" "));
            }
        }
    }
    Ok(ExitCode::from(if failed {
        exit::ENTRY_FAILED
    } else {
        exit::CLEAN
    }))
}

/// `diff`: compare two report.json files: problems only, with counts for the rest. Exit 1 when
/// there is a new problem, 3 when nothing could be rechecked (no pool audited by both runs), else 0.
pub fn diff_command(a: &DiffArgs) -> anyhow::Result<ExitCode> {
    use crate::policy::baseline::{compare, Change};
    use std::collections::HashSet;
    let old = crate::report::json_out::read_comparable(&a.old)?;
    let new = crate::report::json_out::read_comparable(&a.new)?;
    fn pools(r: &crate::report::json_out::Comparable) -> HashSet<&str> {
        r.pools.iter().map(|p| p.pool_uuid.as_str()).collect()
    }
    let c = compare(&old.findings, &pools(&old), &new.findings, &pools(&new));
    if !old.run.complete {
        eprintln!(
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
        let out = serde_json::json!({
            "old": a.old.display().to_string(),
            "new": a.new.display().to_string(),
            "rechecked_pools": c.rechecked_pools,
            "new_findings": ids(Change::New),
            "first_seen_findings": ids(Change::FirstSeen),
            "resolved": &c.resolved,
            "not_rechecked_findings": c.not_rechecked.iter().map(|f| f.finding_id.clone()).collect::<Vec<_>>(),
            "unchanged": c.count(Change::Unchanged),
            "fine": c.count(Change::Fine) + c.count(Change::Resolved),
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        print!(
            "{}",
            crate::policy::baseline::render(
                &c,
                &a.old.display().to_string(),
                &a.new.display().to_string()
            )
        );
    }
    Ok(ExitCode::from(if c.count(Change::New) > 0 {
        exit::WARNINGS
    } else if c.rechecked_pools == 0 {
        exit::ENTRY_FAILED
    } else {
        exit::CLEAN
    }))
}

/// A flag that Ctrl-C (or SIGTERM) sets: the scan stops and writes what finished.
fn cancel_on_ctrl_c() -> Arc<AtomicBool> {
    let cancel = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&cancel);
    // Only one handler per process; a second scan in the same process (tests) keeps the first.
    let _ = ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst));
    cancel
}

/// `capture`: fetch every entry and write one dump per pool plus an inventory of them.
pub fn capture_command(cfg: &ScanConfig) -> anyhow::Result<ExitCode> {
    let cancel = cancel_on_ctrl_c();
    let (results, complete) =
        crate::scan::scan_entries(cfg, true, Arc::clone(&cancel)).map_err(anyhow::Error::msg)?;
    let mut staged = crate::report::atomic::StagedOutputs::new(&cfg.out_dir.join("dumps"))?;
    let mut inventory = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut failed = 0;
    for r in results {
        let entry = &cfg.inventory.entries[r.index];
        match r.outcome {
            Err(e) => {
                failed += 1;
                eprintln!("xen-sr-audit: capture: {}: failed: {e}", entry.name);
            }
            Ok((None, _)) => {
                failed += 1;
                eprintln!(
                    "xen-sr-audit: capture: {}: internal error: no snapshot kept",
                    entry.name
                );
            }
            Ok((Some(snap), _)) => {
                if !snap.pool.uuid.is_empty() && !seen.insert(snap.pool.uuid.clone()) {
                    continue;
                }
                let file = format!("{}.xml", crate::report::safe_file_name(&entry.name));
                staged.stage(&file, |w| {
                    crate::dump::write_dump(w, &crate::dump::snapshot_tables(&snap)).map(|_| ())
                })?;
                inventory.push(crate::inventory::DumpRow {
                    name: entry.name.clone(),
                    dump: format!("dumps/{file}"),
                    site: entry.site.clone(),
                    tags: entry.tags.clone(),
                });
            }
        }
    }
    staged.commit()?;
    let mut inv = crate::report::atomic::StagedOutputs::new(&cfg.out_dir)?;
    inv.stage("inventory.csv", |w| {
        crate::inventory::write_dump_inventory(w, &inventory)
    })?;
    inv.commit()?;
    if cfg.progress != ProgressMode::Quiet {
        eprintln!(
            "captured {} pool{} into {}",
            seen.len(),
            crate::audit::plural(seen.len()),
            cfg.out_dir.display()
        );
    }
    Ok(ExitCode::from(if !complete {
        exit::INTERRUPTED
    } else if failed > 0 {
        exit::ENTRY_FAILED
    } else {
        exit::CLEAN
    }))
}

/// The end of a run on the console: each pool once (as hosts.csv counts it), the entries that
/// failed, waivers that matched nothing, the verdict, and what was written or removed.
fn print_outcome(report: &Report, written: &crate::report::Written, complete: bool) {
    use crate::audit::plural;
    use crate::policy::baseline::printable;
    for p in &report.pools {
        eprintln!(
            "pool {:?} (entry {}): {} instance{}, {} blocked, {} to review",
            printable(&p.pool_name),
            printable(&p.entry),
            p.instances,
            plural(p.instances),
            p.blocked,
            p.review
        );
    }
    let failed: Vec<_> = report
        .hosts
        .iter()
        .filter(|h| h.status == "failed")
        .collect();
    if !failed.is_empty() {
        eprintln!(
            "{} entr{} could not be audited:",
            failed.len(),
            if failed.len() == 1 { "y" } else { "ies" }
        );
        for h in failed {
            eprintln!("  {}: {}", printable(&h.name), printable(&h.error));
        }
    }
    for w in report.waivers.iter().filter(|w| w.status == "unused") {
        eprintln!(
            "warning: waiver at {} matches no finding (a mistyped finding_id or instance_uuid?)",
            w.waiver.source
        );
    }
    if let Some(b) = report.baseline.as_ref().filter(|b| !b.complete) {
        eprintln!(
            "warning: the baseline {} was itself incomplete (interrupted): findings in pools it did not audit count as first seen, not new",
            b.path
        );
    }
    eprintln!("{}", report.verdict_line());
    if !complete {
        eprintln!("interrupted: the reports cover only the entries that finished");
    }
    for p in &written.files {
        eprintln!("wrote {}", p.display());
    }
    for p in &written.removed {
        eprintln!(
            "removed {} (an earlier run's report in a format this run did not write)",
            p.display()
        );
    }
}

/// `scan`: audit, write reports, return the exit code.
pub fn scan_command(cfg: &ScanConfig) -> anyhow::Result<ExitCode> {
    let cancel = cancel_on_ctrl_c();
    let started_at = SystemTime::now();
    let started = Instant::now();
    let (results, complete) =
        crate::scan::scan_entries(cfg, false, Arc::clone(&cancel)).map_err(anyhow::Error::msg)?;
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
        report.exit_code = exit::INTERRUPTED;
    }
    let written = crate::report::write_reports(&report, &cfg.out_dir, &cfg.formats)
        .context("writing reports")?;
    if cfg.progress != ProgressMode::Quiet {
        print_outcome(&report, &written, complete);
    }
    let code = report.exit_code;
    // The process ends here: freeing a large fleet's report piece by piece only costs time (a tenth
    // of a second per 100,000 findings); the OS takes the memory back at once.
    std::mem::forget(report);
    Ok(ExitCode::from(code))
}
