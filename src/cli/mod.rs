//! The command line: clap definitions, the one fallible step that turns arguments into a
//! [`ScanConfig`], and `run`, which the thin `main` calls. Errors are typed in the engine and gain
//! context here with anyhow; [`exit_code_of`] maps them to the documented exit codes.

use crate::audit::NovaView;
use crate::classify::NovaTargetConf;
use crate::config::{
    FetchMode, LiveOptions, ProgressMode, DEFAULT_CALL_TIMEOUT, DEFAULT_CONCURRENCY,
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_HOST_DEADLINE, DEFAULT_MAX_RESPONSE_MIB,
};
use crate::error::{InputError, ReportError};
use crate::policy::baseline::Baseline;
use crate::policy::inputs::{file_sha256, InputFile, Inputs};
use crate::policy::{exit, FailOn};
use crate::report::NovaInfo;
use crate::scan::{ReportOptions, ScanConfig};
mod commands;
mod config_file;
mod interrupt;
mod man_page;
mod nova_db_args;
mod output;
mod plan_cmd;
mod values;

use clap::{Args, CommandFactory, Parser, Subcommand};
use commands::{
    capture_command, diff_command, inspect_command, scan_command, trend_command, trust_command,
};
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use values::{
    concurrency_value, max_response_mb, parse_formats, seconds_of, target_port, Formats, Seconds,
};

/// `trust`'s connect and handshake timeout per host unless `--timeout` says otherwise.
const TRUST_TIMEOUT: Duration = Duration::from_secs(10);
/// How many hosts `trust` contacts at once unless `--concurrency` says otherwise.
const TRUST_CONCURRENCY: usize = 16;

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
  130 interrupted (Ctrl-C; 143 SIGTERM, 129 SIGHUP): open sessions were logged out and a partial
      report marked incomplete was written (a second Ctrl-C exits at once, writing nothing)";

#[derive(Debug, Parser)]
#[command(name = "xen-sr-audit", version, about = "Find Nova instances whose Cinder volumes sit on legacy-named XenServer SRs (live migration breaks after the Mitaka upgrade)", after_help = AFTER_HELP)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Audit every entry of an inventory and write reports.
    Scan(Box<ScanArgs>),
    /// Save what a scan reads as offline dumps (secrets removed) plus an inventory of them, so the
    /// audit can be re-run offline and the evidence attached to a ticket.
    Capture(CaptureArgs),
    /// Compare two report.json files: new, unchanged and resolved problems (exit 1 if any is new).
    Diff(DiffArgs),
    /// Burn-down over runs of one fleet: trend.html (inline SVG, pace to --target-date) and
    /// trend.csv (one row per run and pool) from report.json files or folders holding one.
    Trend(TrendArgs),
    /// Trust on first use: connect to each https entry (no login), show its certificate's SHA-256
    /// fingerprint, subject and expiry, and write a copy of the inventory that pins them
    /// (`tls_fingerprint`). Rows already pinned are checked, not replaced.
    Trust(TrustArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell or elvish) on stdout.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff) on stdout.
    Man,
    /// Check that dumps can be read before an audit: per-table row counts, the pool, and the count of
    /// Nova instances, one dump at a time (exit 3 if any cannot be read).
    InspectDump(InspectArgs),
    /// Turn a scan's report.json into an upgrade runbook (plan.md, plan.csv, plan.sh) that clears
    /// every blocked instance in waves; `--check NEW.json --plan plan.csv` says how far it got.
    Plan(Box<plan_cmd::PlanArgs>),
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Dump files (XML, or gzip-compressed state.db).
    #[arg(required = true)]
    pub dumps: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct TrustArgs {
    /// The inventory to read (the inventory CSV of `scan`: name, url or dump, username,
    /// password_env, password_file, site, tags, insecure, tls_fingerprint, tls_legacy,
    /// capture_failed; only https url rows are contacted).
    #[arg(long, short = 'i', value_name = "FILE")]
    pub inventory: PathBuf,
    /// Where to write the copy with `tls_fingerprint` filled in, `tls_legacy=true` for hosts reached
    /// only with TLS 1.0/1.1, relative `dump`/`password_file` paths rewritten for the copy's folder,
    /// comment lines kept.
    #[arg(long, short = 'o', value_name = "NEW_CSV")]
    pub out: PathBuf,
    /// Connect and handshake timeout per host, in seconds.
    #[arg(long, default_value_t = Seconds(TRUST_TIMEOUT), value_name = "SECS", value_parser = seconds_of("timeout"))]
    pub timeout: Seconds,
    /// Allow TLS 1.0/1.1 for every entry (the `tls_legacy` column does it for one); rows reached
    /// only that way get `tls_legacy=true` in the copy.
    #[arg(long)]
    pub tls_legacy: bool,
    /// How many hosts are contacted at once.
    #[arg(long, short = 'j', default_value_t = TRUST_CONCURRENCY, value_name = "N", value_parser = concurrency_value)]
    pub concurrency: usize,
}

#[derive(Debug, Args)]
pub struct TrendArgs {
    /// report.json files, folders holding one (`scan --out` folders), or `scan --history`
    /// folders, in any order.
    #[arg(required = true, value_name = "RUN")]
    pub runs: Vec<PathBuf>,
    /// Where to write trend.html and trend.csv (created if needed).
    #[arg(long, short = 'o', value_name = "DIR")]
    pub out: PathBuf,
    /// The upgrade date (YYYY-MM-DD): drawn on the chart, with the pace needed to reach zero by it.
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = values::target_date)]
    pub target_date: Option<values::TargetDate>,
    /// Print nothing but errors.
    #[arg(long, short = 'q')]
    pub quiet: bool,
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
    /// Inventory CSV with a header row; columns: name (unique), url (a live XAPI endpoint) or dump
    /// (an offline dump, relative to the inventory), username (default root), password_env (a
    /// variable holding the password), password_file (a file holding it), site, tags, insecure
    /// (true: no TLS verification), tls_fingerprint (the pinned SHA-256 of the host's
    /// certificate), tls_legacy (true: allow TLS 1.0/1.1), capture_failed (written by `capture`:
    /// why an entry could not be captured; such a row is read as a failed entry).
    #[arg(long, short = 'i', value_name = "FILE")]
    pub inventory: PathBuf,
    /// Output folder (created if needed; checked before anything is scanned; files are replaced atomically).
    #[arg(long, short = 'o', value_name = "DIR")]
    pub out: PathBuf,
    /// No progress and no summary on stderr (errors, and the notice that an interrupt is logging
    /// out, still go there).
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// How many entries are scanned at once (network-bound: independent of the CPU count).
    #[arg(long, short = 'j', default_value_t = DEFAULT_CONCURRENCY, value_name = "N", value_parser = concurrency_value)]
    pub concurrency: usize,
    /// Time of each XAPI call (connect, TLS handshake, request and the whole answer), in seconds.
    #[arg(long, default_value_t = Seconds(DEFAULT_CALL_TIMEOUT), value_name = "SECS", value_parser = seconds_of("timeout"))]
    pub timeout: Seconds,
    /// The most one TCP connect may take, in seconds (within --timeout; the TLS handshake is not
    /// included): a host that never answers fails after this, not after --timeout.
    #[arg(long, default_value_t = Seconds(DEFAULT_CONNECT_TIMEOUT), value_name = "SECS", value_parser = seconds_of("connect-timeout"))]
    pub connect_timeout: Seconds,
    /// The most one live entry may take, all calls and retries included, in seconds.
    #[arg(long, default_value_t = Seconds(DEFAULT_HOST_DEADLINE), value_name = "SECS", value_parser = seconds_of("host-deadline"))]
    pub host_deadline: Seconds,
    /// Extra CA certificates (PEM) to trust for https:// endpoints.
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// Do not verify TLS certificates of any endpoint (flagged in the reports).
    #[arg(long)]
    pub insecure: bool,
    /// Allow TLS 1.0/1.1 and their ciphers for every entry (XenServer 6.2 and 6.5 before SP1);
    /// the `tls_legacy` column does it for one entry.
    #[arg(long)]
    pub tls_legacy: bool,
    /// The largest XAPI response accepted, in MiB.
    #[arg(long, default_value_t = DEFAULT_MAX_RESPONSE_MIB, value_name = "MIB", value_parser = max_response_mb)]
    pub max_response_mb: u64,
    /// Fetch records with event.from (one call) or get_all_records per class.
    #[arg(long, value_enum, value_name = "MODE", default_value_t = FetchMode::Auto)]
    pub fetch: FetchMode,
}

/// `capture`: only where the data comes from.
#[derive(Debug, Args)]
pub struct CaptureArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    #[command(flatten)]
    pub nova_db: nova_db_args::NovaDbArgs,
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Read options from a TOML file (each under its long name; the command line wins; paths are
    /// relative to the file).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub source: SourceArgs,
    /// Report formats, comma-separated: csv, json, html, md, xlsx, junit, prom, or all.
    #[arg(long, value_name = "LIST", default_value = "csv,json,html,md", value_parser = parse_formats)]
    pub format: Formats,
    /// Start every CSV file with a UTF-8 byte order mark (for Excel in locales that misread UTF-8).
    #[arg(long)]
    pub csv_bom: bool,
    /// Add the upgrade runbook (what `xen-sr-audit plan` writes, default options): a Runbook section
    /// in report.html and a Runbook sheet in report.xlsx.
    #[arg(long)]
    pub plan: bool,
    /// A previous report.json: mark each problem new, unchanged or first seen, and list what was resolved.
    #[arg(long, value_name = "REPORT_JSON")]
    pub baseline: Option<PathBuf>,
    /// Acknowledged findings (TOML or CSV: finding_id or instance_uuid, reason, owner, expires).
    #[arg(long, value_name = "FILE")]
    pub waivers: Option<PathBuf>,
    /// Which findings raise the exit code: blocked, review, or never.
    #[arg(long, value_enum, value_name = "LEVEL", default_value_t = FailOn::Blocked)]
    pub fail_on: FailOn,
    /// Nova's instances: `openstack server list --all-projects --long -f json`, or a CSV/TSV export
    /// of the instances table. Every instance is then accounted for in coverage.csv. Repeatable.
    #[arg(long, value_name = "FILE")]
    pub nova_servers: Vec<PathBuf>,
    /// Nova's volume block device mappings (instance_uuid, volume_id, device_name, boot_index,
    /// connection_info) as `mysql --batch`, CSV or JSON: each volume is then checked against the SR
    /// uuid the destination computes. Repeatable.
    #[arg(long, value_name = "FILE")]
    pub nova_bdms: Vec<PathBuf>,
    #[command(flatten)]
    pub nova_db: nova_db_args::NovaDbArgs,
    /// The destinations' `[xenserver] target_port` (used for portals without a port; default
    /// 3260). Only the Nova check uses it: it needs --nova-bdms.
    #[arg(long, value_name = "PORT", value_parser = target_port)]
    pub nova_target_port: Option<String>,
    /// The destinations' `[xenserver] target_host` (used for empty portals; default: none). Only
    /// the Nova check uses it: it needs --nova-bdms.
    #[arg(long, value_name = "HOST")]
    pub nova_target_host: Option<String>,
    /// Keep this run's report.json under DIR (named by scan time, written atomically) and draw the
    /// burn-down of the runs kept there in report.html and summary.md.
    #[arg(long, value_name = "DIR")]
    pub history: Option<PathBuf>,
}

/// An error in how the tool was called: exit code 64.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Map an error to its documented exit code.
pub fn exit_code_of(err: &anyhow::Error) -> u8 {
    for cause in err.chain() {
        if cause.is::<UsageError>()
            || cause.is::<InputError>()
            || cause.is::<clap::Error>()
            || cause.is::<crate::nova_db::NovaDbError>()
            || cause.is::<crate::trend::TrendError>()
        {
            return exit::USAGE;
        }
        if cause.is::<ReportError>() {
            return exit::IO;
        }
        match cause.downcast_ref::<crate::plan::PlanError>() {
            Some(crate::plan::PlanError::Input { .. }) => return exit::USAGE,
            Some(crate::plan::PlanError::Output { .. }) => return exit::IO,
            None => {}
        }
    }
    exit::INTERNAL
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
        let live = LiveOptions {
            call_timeout: self.timeout.0,
            connect_timeout: self.connect_timeout.0,
            host_deadline: self.host_deadline.0,
            ca_file: self.ca_file,
            insecure: self.insecure,
            tls_legacy: self.tls_legacy,
            max_response_bytes: self.max_response_mb.saturating_mul(1024 * 1024),
            fetch: self.fetch,
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
        || openssl::x509::X509::stack_from_pem(&bytes).map_or(true, |v| v.is_empty())
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
    /// `capture` writes dumps, no reports: the report options keep their defaults. Nova's
    /// databases (`--nova-db`) are read and checked here, before anything is scanned.
    pub fn into_config(
        self,
        command_line: String,
    ) -> anyhow::Result<(ScanConfig, Vec<crate::nova_db::DbExport>)> {
        let src = self.source.into_config()?;
        let exports = self.nova_db.read_all(src.live.call_timeout)?;
        nova_db_args::add_exports(&mut crate::nova::NovaData::default(), &exports)?;
        crate::report::atomic::check_writable(&src.out_dir)?;
        let cfg = ScanConfig {
            inventory: src.inventory,
            out_dir: src.out_dir,
            progress: src.progress,
            concurrency: src.concurrency,
            live: src.live,
            command_line,
            report: ReportOptions::default(),
        };
        Ok((cfg, exports))
    }
}

impl ScanArgs {
    /// The one fallible step from arguments to configuration.
    pub fn into_config(self, command_line: String) -> anyhow::Result<ScanConfig> {
        let formats = self.format.0;
        let src = self.source.into_config()?;
        let baseline = match &self.baseline {
            Some(p) => Some(read_baseline(p)?),
            None => None,
        };
        let waivers = match &self.waivers {
            Some(p) => crate::policy::waivers::load(p)?,
            None => Vec::new(),
        };
        let quiet = src.progress == ProgressMode::Quiet;
        let conf = nova_target_conf(
            self.nova_target_port.as_deref(),
            self.nova_target_host.as_deref(),
        );
        let mut nova_data = crate::nova::NovaData::load(&self.nova_servers, &self.nova_bdms)?;
        let exports = self.nova_db.read_all(src.live.call_timeout)?;
        nova_db_args::add_exports(&mut nova_data, &exports)?;
        if !quiet {
            let target_options = [
                ("--nova-target-port", self.nova_target_port.is_some()),
                ("--nova-target-host", self.nova_target_host.is_some()),
            ];
            let bdms_given = !self.nova_bdms.is_empty() || !exports.is_empty();
            for warning in nova_warnings(&self.nova_servers, bdms_given, target_options, &nova_data)
            {
                warn(&warning);
            }
        }
        let nova = NovaView::new(
            nova_data.servers.as_deref(),
            nova_data.bdms.as_deref(),
            &conf,
        );
        let nova_info = nova_info_of(
            &self.nova_servers,
            &self.nova_bdms,
            &exports,
            &nova_data,
            &conf,
        );
        crate::report::atomic::check_writable(&src.out_dir)?;
        let fail_on = self.fail_on;
        let inputs = run_inputs(
            src.inventory.digest.clone(),
            nova_digests(&self.nova_servers, &self.nova_bdms, &exports)?,
            &conf,
            fail_on,
            self.waivers.as_deref(),
        )?;
        Ok(ScanConfig {
            inventory: src.inventory,
            out_dir: src.out_dir,
            progress: src.progress,
            concurrency: src.concurrency,
            live: src.live,
            command_line,
            report: ReportOptions {
                formats,
                write_options: crate::report::WriteOptions {
                    csv_bom: self.csv_bom,
                    plan: self.plan,
                },
                fail_on,
                baseline,
                waivers,
                today: crate::policy::waivers::today(),
                nova,
                nova_servers: nova_data.servers,
                nova_info,
                inputs,
            },
        })
    }
}

/// `--baseline`: the earlier report.json, read as far as the comparison needs it.
fn read_baseline(path: &std::path::Path) -> Result<Baseline, InputError> {
    Ok(baseline_of(
        path.display().to_string(),
        crate::report::json_out::read_comparable(path)?,
    ))
}

/// The destinations' Nova settings: `--nova-target-port` (Nova's default 3260 when not given)
/// and `--nova-target-host` (trimmed; blank is none).
fn nova_target_conf(port: Option<&str>, host: Option<&str>) -> NovaTargetConf {
    NovaTargetConf {
        target_port: port.unwrap_or(crate::classify::DEFAULT_PORT).to_string(),
        target_host: host.map(|h| h.trim().to_string()).filter(|h| !h.is_empty()),
    }
}

/// What the reports say about Nova's inputs (none when Nova gave nothing): the files and
/// databases read, and the destinations' settings.
fn nova_info_of(
    servers: &[PathBuf],
    bdms: &[PathBuf],
    exports: &[crate::nova_db::DbExport],
    data: &crate::nova::NovaData,
    conf: &NovaTargetConf,
) -> Option<NovaInfo> {
    let shown = |v: &[PathBuf], table: &str| {
        v.iter()
            .map(|p| p.display().to_string())
            .chain(exports.iter().map(|e| format!("{} {table}", e.label)))
            .collect()
    };
    (data.servers.is_some() || data.bdms.is_some()).then(|| NovaInfo {
        servers: shown(servers, "instances"),
        bdms: shown(bdms, "block_device_mapping"),
        target_port: conf.target_port.clone(),
        target_host: conf.target_host.clone().unwrap_or_default(),
    })
}

/// What this run read (by digest) and the options that change verdicts, for report.json and a
/// later `--baseline`.
fn run_inputs(
    inventory_sha256: String,
    (nova_servers, nova_bdms): (Vec<InputFile>, Vec<InputFile>),
    conf: &NovaTargetConf,
    fail_on: FailOn,
    waivers: Option<&std::path::Path>,
) -> Result<Inputs, InputError> {
    Ok(Inputs {
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        inventory_sha256,
        nova_servers,
        nova_bdms,
        nova_target_port: conf.target_port.clone(),
        nova_target_host: conf.target_host.clone().unwrap_or_default(),
        fail_on: fail_on.as_str().to_string(),
        waivers: match waivers {
            Some(p) => digests(&[p.to_path_buf()])?.pop(),
            None => None,
        },
        recorded: true,
        ..Default::default()
    })
}

/// The digests of Nova's inputs, servers then block device mappings: the export files given,
/// then what each `--nova-db` gave for that table.
fn nova_digests(
    servers: &[PathBuf],
    bdms: &[PathBuf],
    exports: &[crate::nova_db::DbExport],
) -> Result<(Vec<InputFile>, Vec<InputFile>), InputError> {
    let servers = digests(servers)?
        .into_iter()
        .chain(export_digests(exports, "instances", |e| &e.servers_tsv))
        .collect();
    let bdms = digests(bdms)?
        .into_iter()
        .chain(export_digests(exports, "block_device_mapping", |e| {
            &e.bdms_tsv
        }))
        .collect();
    Ok((servers, bdms))
}

/// Options that were given but change nothing, and Nova files that hold nothing: each a mistake
/// the run would otherwise hide.
fn nova_warnings(
    servers: &[PathBuf],
    bdms_given: bool,
    target_options: [(&str, bool); 2],
    data: &crate::nova::NovaData,
) -> Vec<String> {
    let mut warnings = Vec::new();
    let ignored: Vec<&str> = target_options
        .into_iter()
        .filter_map(|(flag, given)| given.then_some(flag))
        .collect();
    if !bdms_given && !ignored.is_empty() {
        warnings.push(format!(
            "{} only change{} the Nova check, which needs --nova-bdms: ignored in this run",
            ignored.join(" and "),
            crate::text::verb_s(ignored.len())
        ));
    }
    if !servers.is_empty() && data.servers.as_ref().is_some_and(|s| s.is_empty()) {
        let files: Vec<String> = servers.iter().map(|p| p.display().to_string()).collect();
        warnings.push(format!(
            "{} list{} no instance: export it with `openstack server list --all-projects --long -f json` (without --all-projects it lists only your own project's instances)",
            files.join(", "),
            crate::text::verb_s(files.len())
        ));
    }
    warnings
}

/// One warning line on stderr. A stderr that cannot be written to loses the warning, never the run.
fn warn(message: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "warning: {message}");
}

/// The digest of each input file, in the order given.
fn digests(paths: &[PathBuf]) -> Result<Vec<InputFile>, InputError> {
    paths
        .iter()
        .map(|p| {
            Ok(InputFile {
                path: p.display().to_string(),
                sha256: file_sha256(p).map_err(|cause| InputError::Unreadable {
                    path: p.clone(),
                    cause,
                })?,
            })
        })
        .collect()
}

/// The digests of what each `--nova-db` gave for `table`: the export text, as `capture --nova-db`
/// writes it, named as report.json names the source (`URL table`, no password). Without them a
/// run reading Nova's database recorded no Nova input at all, and a baseline with export files
/// differed "in kind" from it.
fn export_digests<'a>(
    exports: &'a [crate::nova_db::DbExport],
    table: &'a str,
    text: fn(&crate::nova_db::DbExport) -> &String,
) -> impl Iterator<Item = InputFile> + 'a {
    exports.iter().map(move |e| InputFile {
        path: format!("{} {table}", e.label),
        sha256: crate::policy::inputs::text_sha256(text(e)),
    })
}

/// What the comparison needs of an earlier report.
fn baseline_of(path: String, old: crate::report::json_out::Comparable) -> Baseline {
    Baseline {
        inputs: old.inputs(),
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

/// Parse arguments and run the chosen command. A stdout closed by its reader (`| head`) is a
/// normal end: exit 0, nothing more printed.
pub fn run(args: impl IntoIterator<Item = OsString>) -> anyhow::Result<ExitCode> {
    match run_command(args) {
        Err(e) if output::is_stdout_closed(&e) => Ok(ExitCode::SUCCESS),
        other => other,
    }
}

fn run_command(args: impl IntoIterator<Item = OsString>) -> anyhow::Result<ExitCode> {
    let args: Vec<OsString> = args.into_iter().collect();
    let line = command_line(&args);
    let args = config_file::expand(args)?;
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e)
            if matches!(
                e.kind(),
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion
            ) =>
        {
            output::write_stdout(e.to_string())?;
            return Ok(ExitCode::SUCCESS);
        }
        Err(e) => {
            if let Some(ours) = values::usage_error_in(&e) {
                return Err(UsageError(ours.0.clone()).into());
            }
            let _ = e.print();
            return Ok(ExitCode::from(exit::USAGE));
        }
    };
    match cli.command {
        Command::Scan(a) => {
            let history = a.history.clone();
            let cfg = a.into_config(line)?;
            if let Some(dir) = &history {
                crate::report::atomic::check_writable(dir)?;
            }
            scan_command(&cfg, history.as_deref())
        }
        Command::Capture(a) => {
            let (cfg, nova_exports) = a.into_config(line)?;
            capture_command(&cfg, &nova_exports)
        }
        Command::Diff(a) => diff_command(&a),
        Command::Trend(a) => trend_command(&a),
        Command::Trust(a) => trust_command(&a),
        Command::Completions { shell } => {
            let mut cmd = Cli::command();
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut cmd, "xen-sr-audit", &mut script);
            output::write_stdout(script)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Man => {
            let mut page = Vec::new();
            man_page::render(Cli::command(), &mut page)?;
            output::write_stdout(page)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::InspectDump(a) => inspect_command(&a),
        Command::Plan(a) => plan_cmd::plan_command(&a),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nova_target_options_are_trimmed_and_default_to_nova_s() {
        // (--nova-target-port, --nova-target-host) -> (target_port, target_host)
        type Case<'a> = (Option<&'a str>, Option<&'a str>, &'a str, Option<&'a str>);
        let cases: &[Case] = &[
            (None, None, "3260", None),
            (Some("3261"), None, "3261", None),
            (None, Some("  10.0.0.5  "), "3260", Some("10.0.0.5")),
            (None, Some("   "), "3260", None),
            (None, Some(""), "3260", None),
        ];
        for (port, host, want_port, want_host) in cases {
            let conf = nova_target_conf(*port, *host);
            assert_eq!(
                (conf.target_port.as_str(), conf.target_host.as_deref()),
                (*want_port, *want_host),
                "{port:?} {host:?}"
            );
        }
    }

    #[test]
    fn nova_warnings_name_what_is_ignored_or_empty() {
        let file = |s: &str| vec![PathBuf::from(s)];
        let none: Vec<PathBuf> = Vec::new();
        let some_servers = crate::nova::NovaData {
            servers: Some(vec![crate::model::NovaServer::default()]),
            bdms: None,
        };
        let no_servers = crate::nova::NovaData {
            servers: Some(Vec::new()),
            bdms: None,
        };
        let nothing = crate::nova::NovaData::default();
        let given =
            |port: bool, host: bool| [("--nova-target-port", port), ("--nova-target-host", host)];
        for (servers, bdms, options, data, want) in [
            (&none, &none, given(false, false), &nothing, vec![]),
            (
                &none,
                &none,
                given(true, false),
                &nothing,
                vec!["--nova-target-port only changes the Nova check"],
            ),
            (
                &none,
                &none,
                given(true, true),
                &nothing,
                vec!["--nova-target-port and --nova-target-host only change the Nova check"],
            ),
            (&none, &file("b.tsv"), given(true, true), &nothing, vec![]),
            (
                &file("s.json"),
                &none,
                given(false, false),
                &some_servers,
                vec![],
            ),
            (
                &file("s.json"),
                &none,
                given(false, false),
                &no_servers,
                vec!["s.json lists no instance", "--all-projects"],
            ),
        ] {
            let got = nova_warnings(servers, !bdms.is_empty(), options, data).join("\n");
            if want.is_empty() {
                assert!(got.is_empty(), "{got}");
            }
            for w in want {
                assert!(got.contains(w), "{w:?} in {got:?}");
            }
        }
    }
}
