//! The fleet generator: writes realistic, deterministic XAPI dumps of pools that run Nova instances
//! (boot-from-volume and image-backed; legacy, new-style and other SRs; CHAP; orphans; a
//! legacy/new-style conflict; the IPv6 portal quirk; non-Nova VMs on iSCSI SRs; templates and control
//! domains) plus an inventory listing them. The demo fleet in `fixtures/demo` and the benchmark fleets
//! come from here, so they can be regenerated and scaled (`gen-fleet --help`). Everything is derived
//! from a seed: the same spec gives byte-identical files.

mod nova;
mod pool;

pub use nova::{BdmRow, ServerRow};

use pool::{map, t, PoolGen, PoolRows};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use uuid::Uuid;

/// A fixed namespace for the generator's deterministic uuids.
const GEN_NAMESPACE: Uuid = uuid::uuid!("6f1d2b36-2d0e-4c1f-9a57-0b9bd5c0a1e1");

/// What one pool should hold.
#[derive(Debug, Clone)]
pub struct PoolSpec {
    pub name: String,
    pub hosts: usize,
    pub instances: usize,
    /// Share of volumes created before the upgrade (legacy-named), in percent.
    pub legacy_percent: u32,
    /// Attachments per instance: `None` for a realistic mix (0 to 4), `Some(n)` for exactly n volumes
    /// (a boot volume plus n-1 data volumes).
    pub volumes_per_instance: Option<usize>,
    /// Add the special cases: orphans, a conflict, the IPv6 quirk, an "other" SR, non-Nova VMs, CHAP.
    pub scenarios: bool,
    /// Extra padding fields per VM record, in bytes (to reach a given dump size in benchmarks).
    pub vm_padding: usize,
}

/// A whole fleet: pools written one dump each, plus `inventory.csv`.
#[derive(Debug, Clone)]
pub struct FleetSpec {
    pub seed: u64,
    pub site: String,
    pub pools: Vec<PoolSpec>,
    /// Write the last pool as a gzip-compressed `state.db` (as found on a host).
    pub gzip_last: bool,
    /// Also list the second host of every multi-host pool in the inventory (a pool member).
    pub member_rows: bool,
    /// Write Nova's exports (`nova/servers.json`, `nova/bdms.tsv`) beside the dumps.
    pub nova: bool,
    /// Hosts that are not in the inventory, each running this many instances Nova lists: the audit
    /// cannot see them (coverage `not-audited`).
    pub nova_outside_hosts: Vec<(String, usize)>,
}

impl FleetSpec {
    /// The demo fleet checked in under `fixtures/demo`.
    pub fn demo() -> FleetSpec {
        let pool = |name: &str, hosts, instances, legacy_percent| PoolSpec {
            name: name.to_string(),
            hosts,
            instances,
            legacy_percent,
            volumes_per_instance: None,
            scenarios: true,
            vm_padding: 0,
        };
        FleetSpec {
            seed: 1,
            site: "dc1".into(),
            pools: vec![
                pool("pool-east", 3, 14, 45),
                pool("pool-west", 2, 9, 30),
                pool("edge-01", 1, 5, 0),
            ],
            gzip_last: true,
            member_rows: true,
            nova: true,
            nova_outside_hosts: vec![("north-xs01".into(), 2), ("north-xs02".into(), 1)],
        }
    }

    /// `pools` identical single-purpose pools, for benchmarks and scale tests.
    pub fn uniform(
        seed: u64,
        pools: usize,
        hosts: usize,
        instances: usize,
        volumes: Option<usize>,
        legacy_percent: u32,
    ) -> FleetSpec {
        FleetSpec {
            seed,
            site: "bench".into(),
            pools: (0..pools)
                .map(|i| PoolSpec {
                    name: format!("pool-{i:05}"),
                    hosts,
                    instances,
                    legacy_percent,
                    volumes_per_instance: volumes,
                    scenarios: false,
                    vm_padding: 0,
                })
                .collect(),
            gzip_last: false,
            member_rows: false,
            nova: false,
            nova_outside_hosts: Vec::new(),
        }
    }
}

/// Counts of what a generated pool holds (what an audit must find).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PoolStats {
    pub pool_uuid: String,
    pub host_names: Vec<String>,
    pub instances: usize,
    pub attachments: usize,
    pub legacy: usize,
    pub new: usize,
    pub other: usize,
    /// What Nova lists for this pool (`servers.json`) and its volume BDMs (`bdms.tsv`).
    pub servers: Vec<ServerRow>,
    pub bdms: Vec<BdmRow>,
}

/// xorshift64*: small, fast, deterministic; good enough to vary fixtures.
pub(super) struct Rng(u64);

impl Rng {
    pub(super) fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub(super) fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub(super) fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    pub(super) fn percent(&mut self, p: u32) -> bool {
        self.below(100) < u64::from(p)
    }
}

/// Write one pool's dump.
pub fn write_pool<W: Write>(
    out: W,
    spec: &PoolSpec,
    seed: u64,
    pool_index: usize,
) -> io::Result<(W, PoolStats)> {
    let key = format!("{seed}/{pool_index}/{}", spec.name);
    let mut g = PoolGen {
        spec,
        rng: Rng::new(seed ^ (pool_index as u64).wrapping_mul(0x1000_0001)),
        key,
        counter: 0,
        rows: PoolRows::default(),
        stats: PoolStats::default(),
        hosts: Vec::new(),
        local_srs: Vec::new(),
        shared_sr: None,
        pool_index,
    };
    for i in 0..spec.hosts.max(1) {
        let h = g.add_host(i);
        g.hosts.push(h);
    }
    let hosts = g.hosts.clone();
    for h in &hosts {
        let sr = g.local_sr(h);
        g.local_srs.push(sr);
    }
    let pool_ref = g.opaque("pool");
    let pool_uuid = g.uuid("pool-uuid");
    g.stats.pool_uuid = pool_uuid.clone();
    g.rows.pool.push((
        pool_ref,
        vec![
            ("uuid", t(pool_uuid)),
            ("name_label", t(spec.name.clone())),
            ("name_description", t("")),
            ("master", t(hosts[0].clone())),
            ("other_config", map(&[])),
        ],
    ));
    for n in 0..spec.instances {
        g.instance(n);
    }
    if spec.scenarios {
        g.scenarios();
    }
    g.write(out)
}

/// Write a fleet into `dir`: one dump per pool under `dir/dumps/` and `dir/inventory.csv`.
pub fn write_fleet(dir: &Path, spec: &FleetSpec) -> io::Result<(PathBuf, Vec<PoolStats>)> {
    let dumps = dir.join("dumps");
    std::fs::create_dir_all(&dumps)?;
    let mut inventory = Vec::new();
    let mut all = Vec::new();
    for (i, pool) in spec.pools.iter().enumerate() {
        let gz = spec.gzip_last && i + 1 == spec.pools.len();
        let rel = if gz {
            format!("dumps/{}.state.db", pool.name)
        } else {
            format!("dumps/{}.xml", pool.name)
        };
        let file = io::BufWriter::new(std::fs::File::create(dir.join(&rel))?);
        let stats = if gz {
            let enc = flate2::GzBuilder::new()
                .mtime(0)
                .write(file, flate2::Compression::default());
            let (enc, stats) = write_pool(enc, pool, spec.seed, i)?;
            enc.finish()?.flush()?;
            stats
        } else {
            let (mut f, stats) = write_pool(file, pool, spec.seed, i)?;
            f.flush()?;
            stats
        };
        let tags = if pool.hosts > 1 { "prod" } else { "edge" };
        let rows = if spec.member_rows { 2 } else { 1 };
        for name in stats.host_names.iter().take(rows) {
            inventory.push(crate::inventory::DumpRow {
                name: name.clone(),
                dump: rel.clone(),
                site: spec.site.clone(),
                tags: tags.into(),
                capture_failed: String::new(),
            });
        }
        all.push(stats);
    }
    if spec.nova {
        write_nova(dir, spec, &all)?;
    }
    let inv = dir.join("inventory.csv");
    crate::inventory::write_dump_inventory(
        io::BufWriter::new(std::fs::File::create(&inv)?),
        &inventory,
    )?;
    Ok((inv, all))
}

/// Write `nova/servers.json` and `nova/bdms.tsv` for a generated fleet.
fn write_nova(dir: &Path, spec: &FleetSpec, pools: &[PoolStats]) -> io::Result<()> {
    let nova = dir.join("nova");
    std::fs::create_dir_all(&nova)?;
    let mut servers: Vec<ServerRow> = pools.iter().flat_map(|p| p.servers.clone()).collect();
    for (host, count) in &spec.nova_outside_hosts {
        for i in 0..*count {
            let id = Uuid::new_v5(
                &GEN_NAMESPACE,
                format!("{}/outside/{host}/{i}", spec.seed).as_bytes(),
            );
            servers.push(ServerRow {
                id: id.to_string(),
                name: format!("{host}-vm-{i}"),
                status: "ACTIVE".into(),
                power_state: "Running".into(),
                host: host.clone(),
                project_id: id.simple().to_string(),
            });
        }
    }
    nova::write_servers_json(&nova.join("servers.json"), &servers)?;
    let bdms: Vec<BdmRow> = pools.iter().flat_map(|p| p.bdms.clone()).collect();
    nova::write_bdms_tsv(&nova.join("bdms.tsv"), &bdms)
}
