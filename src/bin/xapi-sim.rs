//! `xapi-sim`: serve XAPI dumps over real HTTP on loopback, one 127.x.y.z address per host, so the
//! live path of xen-sr-audit (or any XenAPI client, such as the official Python SDK) can be tried and
//! tested without a XenServer. Prints one line per host, then `ready`; on Ctrl-C or SIGTERM prints
//! its counters (logins, logouts, open sessions, non-read calls) and exits.

use anyhow::Context;
use clap::Parser;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use xen_sr_audit::sim::xapi::{Fault, SimOptions, Simulator, TlsProfile};

#[derive(Parser)]
#[command(
    name = "xapi-sim",
    version,
    about = "Serve XAPI database dumps over XML-RPC on loopback, like a pool of XenServer hosts",
    after_help = "\
Examples:
  XAPI_SIM_PASSWORD=secret xapi-sim --inventory fixtures/demo/inventory.csv --write-inventory /tmp/live.csv --members
  xapi-sim --dump pool.xml --latency-ms 20 --fault pool-east-xs02=hang --fault edge-01-xs01=auth

Faults: hang, slow:MS, http500, malformed, truncated, refused, auth, session-invalid-once, oversized:MB,
  reset; after a working login: event.from:KIND, call:N:KIND (KIND: hang, http500, malformed, reset)"
)]
struct Args {
    /// A dump to serve (repeatable).
    #[arg(long, value_name = "FILE")]
    dump: Vec<PathBuf>,
    /// Serve every dump an inventory lists (its `dump` column).
    #[arg(long, value_name = "FILE")]
    inventory: Option<PathBuf>,
    /// Port shared by every host address (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Second octet of the addresses 127.<base>.<pool>.<host>.
    #[arg(long, default_value_t = 77)]
    base_octet: u8,
    /// User name accepted (the password comes from XAPI_SIM_PASSWORD, default "sim-password").
    #[arg(long, default_value = "root")]
    user: String,
    /// Latency added to every call, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// NAME=FAULT: inject a fault on the host named NAME (repeatable).
    #[arg(long)]
    fault: Vec<String>,
    /// Answer event.from with MESSAGE_METHOD_UNKNOWN, like an old XAPI.
    #[arg(long)]
    no_event_from: bool,
    /// Write an inventory of the simulated hosts for xen-sr-audit.
    #[arg(long)]
    write_inventory: Option<PathBuf>,
    /// List members as well as masters in that inventory.
    #[arg(long)]
    members: bool,
    /// Serve HTTPS with this certificate (PEM); needs --tls-key.
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The PKCS#8 private key (PEM) of --tls-cert.
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Speak TLS 1.0 only, like XenServer 6.2 and 6.5 before SP1 (with --tls-cert): the same as
    /// `--tls-profile legacy`.
    #[arg(long, requires = "tls_cert", conflicts_with = "tls_profile")]
    tls_legacy_only: bool,
    /// How HTTPS is spoken (with --tls-cert): modern (TLS 1.2 and 1.3), xapi (as XAPI since 2018:
    /// TLS 1.2, ECDHE-RSA AES-GCM on secp384r1 alone), xapi2015 (as XAPI from 2015 to 2018: TLS 1.2,
    /// RSA key exchange), legacy (TLS 1.0 only).
    #[arg(long, value_enum, default_value_t = TlsProfile::Modern, requires = "tls_cert")]
    tls_profile: TlsProfile,
    /// The environment variable the written inventory names for the password.
    #[arg(long, default_value = "XAPI_SIM_PASSWORD")]
    password_env: String,
}

/// Errors are one line with the path or host they concern (no backtrace, whatever RUST_BACKTRACE).
fn main() -> ExitCode {
    let a = Args::parse();
    match run(a) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xapi-sim: error: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn run(a: Args) -> anyhow::Result<()> {
    let dumps = dumps_to_serve(&a.dump, a.inventory.as_deref())?;
    let faults = parse_faults(&a.fault)?;
    let opts = SimOptions {
        dumps,
        base_octet: a.base_octet,
        port: a.port,
        username: a.user,
        password: std::env::var("XAPI_SIM_PASSWORD").unwrap_or_else(|_| "sim-password".into()),
        latency: Duration::from_millis(a.latency_ms),
        faults,
        event_from: !a.no_event_from,
        tls: read_tls_identity(a.tls_cert.as_deref(), a.tls_key.as_deref())?,
        tls_profile: if a.tls_legacy_only {
            TlsProfile::Legacy
        } else {
            a.tls_profile
        },
        ..SimOptions::default()
    };
    let wanted: Vec<String> = opts.faults.keys().cloned().collect();
    let sim = Simulator::start(opts).context("starting the simulator")?;
    if let Some(unknown) = unknown_fault_host(&sim, &wanted) {
        sim.shutdown();
        anyhow::bail!(unknown);
    }
    let (tx, rx) = std::sync::mpsc::channel();
    ctrlc::set_handler(move || {
        let _ = tx.send(());
    })?;
    if let Some(path) = &a.write_inventory {
        std::fs::write(path, sim.inventory_csv(&a.password_env, a.members))
            .with_context(|| format!("--write-inventory {}", path.display()))?;
    }
    print_hosts(&sim, a.tls_cert.is_some())?;
    let _ = rx.recv();
    println!("xapi-sim: {}", sim.stats().summary());
    sim.shutdown();
    Ok(())
}

/// The `--dump` files, then every dump the `--inventory` lists that is not among them.
fn dumps_to_serve(
    given: &[PathBuf],
    inventory: Option<&std::path::Path>,
) -> anyhow::Result<Vec<PathBuf>> {
    let mut dumps = given.to_vec();
    if let Some(inv) = inventory {
        let inv = xen_sr_audit::inventory::load(inv)?;
        for e in inv.entries {
            if let xen_sr_audit::inventory::Source::Dump(p) = e.source {
                if !dumps.contains(&p) {
                    dumps.push(p);
                }
            }
        }
    }
    anyhow::ensure!(!dumps.is_empty(), "give --dump or --inventory");
    Ok(dumps)
}

/// Each `--fault NAME=FAULT`, by host name.
fn parse_faults(given: &[String]) -> anyhow::Result<BTreeMap<String, Fault>> {
    let mut faults = BTreeMap::new();
    for f in given {
        let (name, kind) = f
            .split_once('=')
            .ok_or_else(|| anyhow::anyhow!("--fault wants NAME=FAULT, got {f:?}"))?;
        faults.insert(
            name.to_string(),
            Fault::parse(kind).map_err(anyhow::Error::msg)?,
        );
    }
    Ok(faults)
}

/// The `--tls-cert` and `--tls-key` files (PEM), when both are given (clap requires each with the
/// other).
fn read_tls_identity(
    cert: Option<&std::path::Path>,
    key: Option<&std::path::Path>,
) -> anyhow::Result<Option<(Vec<u8>, Vec<u8>)>> {
    Ok(match (cert, key) {
        (Some(c), Some(k)) => Some((
            std::fs::read(c).with_context(|| format!("--tls-cert {}", c.display()))?,
            std::fs::read(k).with_context(|| format!("--tls-key {}", k.display()))?,
        )),
        _ => None,
    })
}

/// The error for a `--fault` naming a host no dump has (with the hosts there are), if any does.
fn unknown_fault_host(sim: &Simulator, wanted: &[String]) -> Option<String> {
    let name = wanted
        .iter()
        .find(|name| !sim.hosts().iter().any(|h| &h.name == *name))?;
    let known: Vec<&str> = sim.hosts().iter().map(|h| h.name.as_str()).collect();
    Some(format!(
        "--fault names host {name:?}, which no dump has (hosts: {})",
        known.join(", ")
    ))
}

/// One line per simulated host (name, URL, role, pool, fault), then `ready`.
fn print_hosts(sim: &Simulator, https: bool) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    for h in sim.hosts() {
        writeln!(
            out,
            "{} {}://{}/ {} pool={}{}",
            h.name,
            if https { "https" } else { "http" },
            h.addr,
            if h.master { "master" } else { "member" },
            h.pool_name,
            h.fault
                .as_ref()
                .map(|f| format!(" fault={f:?}"))
                .unwrap_or_default()
        )?;
    }
    writeln!(out, "ready")?;
    out.flush()
}
