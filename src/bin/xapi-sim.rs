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
use xen_sr_audit::sim::xapi::{Fault, SimOptions, Simulator};

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
    /// Speak TLS 1.0 only, like XenServer 6.2 and 6.5 before SP1 (with --tls-cert).
    #[arg(long, requires = "tls_cert")]
    tls_legacy_only: bool,
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
    let mut dumps = a.dump.clone();
    if let Some(inv) = &a.inventory {
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
    let mut faults = BTreeMap::new();
    for f in &a.fault {
        let (name, kind) = f
            .split_once('=')
            .ok_or_else(|| anyhow::anyhow!("--fault wants NAME=FAULT, got {f:?}"))?;
        faults.insert(
            name.to_string(),
            Fault::parse(kind).map_err(anyhow::Error::msg)?,
        );
    }
    let opts = SimOptions {
        dumps,
        base_octet: a.base_octet,
        port: a.port,
        username: a.user,
        password: std::env::var("XAPI_SIM_PASSWORD").unwrap_or_else(|_| "sim-password".into()),
        latency: Duration::from_millis(a.latency_ms),
        faults,
        event_from: !a.no_event_from,
        tls: match (&a.tls_cert, &a.tls_key) {
            (Some(c), Some(k)) => Some((
                std::fs::read(c).with_context(|| format!("--tls-cert {}", c.display()))?,
                std::fs::read(k).with_context(|| format!("--tls-key {}", k.display()))?,
            )),
            _ => None,
        },
        tls_legacy_only: a.tls_legacy_only,
        ..SimOptions::default()
    };
    let wanted: Vec<String> = opts.faults.keys().cloned().collect();
    let sim = Simulator::start(opts).context("starting the simulator")?;
    for name in wanted {
        if !sim.hosts().iter().any(|h| h.name == name) {
            let known: Vec<&str> = sim.hosts().iter().map(|h| h.name.as_str()).collect();
            sim.shutdown();
            anyhow::bail!(
                "--fault names host {name:?}, which no dump has (hosts: {})",
                known.join(", ")
            );
        }
    }
    let (tx, rx) = std::sync::mpsc::channel();
    ctrlc::set_handler(move || {
        let _ = tx.send(());
    })?;
    if let Some(path) = &a.write_inventory {
        std::fs::write(path, sim.inventory_csv(&a.password_env, a.members))
            .with_context(|| format!("--write-inventory {}", path.display()))?;
    }
    let mut out = std::io::stdout().lock();
    for h in sim.hosts() {
        writeln!(
            out,
            "{} {}://{}/ {} pool={}{}",
            h.name,
            if a.tls_cert.is_some() {
                "https"
            } else {
                "http"
            },
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
    out.flush()?;
    drop(out);
    let _ = rx.recv();
    println!("xapi-sim: {}", sim.stats().summary());
    sim.shutdown();
    Ok(())
}
