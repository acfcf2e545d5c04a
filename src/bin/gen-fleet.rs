//! `gen-fleet`: writes a deterministic fleet of XAPI dumps and its inventory (the demo fleet in
//! `fixtures/demo`, or scaled-up fleets for benchmarks).

use clap::Parser;
use std::path::PathBuf;
use xen_sr_audit::sim::fleet::{write_fleet, FleetSpec};

#[derive(Parser)]
#[command(about = "Generate a fleet of XAPI dumps with Nova instances, and its inventory")]
struct Args {
    /// Output folder (dumps/ and inventory.csv are written there).
    #[arg(long)]
    out: PathBuf,
    /// Write the demo fleet (fixtures/demo); the other options are ignored.
    #[arg(long)]
    demo: bool,
    #[arg(long, default_value_t = 4)]
    pools: usize,
    #[arg(long, default_value_t = 2)]
    hosts: usize,
    #[arg(long, default_value_t = 30)]
    instances: usize,
    /// Exactly this many volumes per instance (default: a realistic mix).
    #[arg(long)]
    volumes: Option<usize>,
    #[arg(long, default_value_t = 40)]
    legacy_percent: u32,
    /// Padding bytes per instance record (to reach a dump size).
    #[arg(long, default_value_t = 0)]
    vm_padding: usize,
    /// Add the special cases (orphans, conflicts, IPv6 quirk, non-Nova VMs) to every pool.
    #[arg(long)]
    scenarios: bool,
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Also write Nova's exports (nova/servers.json, nova/bdms.tsv) for the fleet.
    #[arg(long)]
    nova: bool,
}

fn main() -> anyhow::Result<()> {
    let a = Args::parse();
    let spec = if a.demo {
        FleetSpec::demo()
    } else {
        let mut s = FleetSpec::uniform(
            a.seed,
            a.pools,
            a.hosts,
            a.instances,
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
    let (inv, stats) = write_fleet(&a.out, &spec)?;
    let attachments: usize = stats.iter().map(|s| s.attachments).sum();
    let instances: usize = stats.iter().map(|s| s.instances).sum();
    eprintln!(
        "wrote {} ({} pools, {instances} instances, {attachments} volume attachments)",
        inv.display(),
        stats.len()
    );
    Ok(())
}
