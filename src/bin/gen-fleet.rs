//! `gen-fleet`: writes a deterministic fleet of XAPI dumps and its inventory (the demo fleet in
//! `fixtures/demo`, or scaled-up fleets for benchmarks).

use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;
use xen_sr_audit::sim::fleet::{write_fleet, FleetSpec};

#[derive(Parser)]
#[command(
    name = "gen-fleet",
    version,
    about = "Generate a fleet of XAPI dumps with Nova instances, and its inventory",
    after_help = "Examples:\n  gen-fleet --demo --out fixtures/demo\n  gen-fleet --out /tmp/fleet --pools 200 --hosts 2 --instances 30 --scenarios --nova"
)]
struct Args {
    /// Output folder (dumps/ and inventory.csv are written there).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Write the demo fleet (fixtures/demo); the other options are ignored.
    #[arg(long)]
    demo: bool,
    /// How many pools (one dump each).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pools: u32,
    /// Hosts per pool.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=1_000))]
    hosts: u32,
    /// Nova instances per pool.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(0..=1_000_000))]
    instances: u32,
    /// Exactly this many volumes per instance (default: a realistic mix).
    #[arg(long)]
    volumes: Option<usize>,
    /// Share of instances created before the upgrade (their volumes legacy-named), in percent.
    #[arg(long, default_value_t = 40, value_parser = clap::value_parser!(u32).range(0..=100))]
    legacy_percent: u32,
    /// Padding bytes per instance record (to reach a dump size).
    #[arg(long, default_value_t = 0)]
    vm_padding: usize,
    /// Add the special cases (orphans, conflicts, IPv6 quirk, non-Nova VMs) to every pool.
    #[arg(long)]
    scenarios: bool,
    /// Everything is derived from this seed: the same options give byte-identical files.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Also write Nova's exports (nova/servers.json, nova/bdms.tsv) for the fleet.
    #[arg(long)]
    nova: bool,
}

/// Errors are one line with the path they concern (no backtrace, whatever RUST_BACKTRACE).
fn main() -> ExitCode {
    let a = Args::parse();
    match run(a) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gen-fleet: error: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn run(a: Args) -> anyhow::Result<()> {
    let spec = if a.demo {
        FleetSpec::demo()
    } else {
        let mut s = FleetSpec::uniform(
            a.seed,
            a.pools as usize,
            a.hosts as usize,
            a.instances as usize,
            a.volumes,
            a.legacy_percent,
        );
        for p in &mut s.pools {
            p.scenarios = a.scenarios;
            p.vm_padding = a.vm_padding;
        }
        s.nova = a.nova;
        s
    };
    let (inv, stats) =
        write_fleet(&a.out, &spec).map_err(|e| anyhow::anyhow!("{}: {e}", a.out.display()))?;
    let attachments: usize = stats.iter().map(|s| s.attachments).sum();
    let instances: usize = stats.iter().map(|s| s.instances).sum();
    eprintln!(
        "wrote {} ({} pools, {instances} instances, {attachments} volume attachments)",
        inv.display(),
        stats.len()
    );
    Ok(())
}
