//! Actions grouped into waves, as OpenStack Watcher's zone migration batches its migrations: a wave
//! holds at most `--parallel-total` actions, `--parallel-per-host` from one source host and
//! `--parallel-per-pool` from one pool, taken in priority order. The capacity rule: every instance a
//! wave moves must fit in the free memory (XAPI `host_metrics.memory_free`) of a host other than its
//! own (`nova migrate` cannot target the same host: `UnableToMigrateToSelf`), counting what earlier
//! instances of the same wave already took; after a wave its instances' memory moves from their
//! source to their destination. Where the figures are absent, capacity is unknown and not checked.

use crate::plan::input::HostCapacityIn;
use crate::plan::Action;
use crate::plan::ActionKind;
use rustc_hash::FxHashMap;
use std::collections::BTreeSet;

/// The parallel limits of one wave (each at least 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub total: usize,
    pub per_host: usize,
    pub per_pool: usize,
}

impl Default for Limits {
    /// Watcher's zone-migration defaults: 6 in all, 2 per node, 2 per pool.
    fn default() -> Self {
        Limits {
            total: 6,
            per_host: 2,
            per_pool: 2,
        }
    }
}

/// Free memory of every host that may receive an instance, kept ordered to find the roomiest.
pub struct Capacity {
    names: Vec<String>,
    index: FxHashMap<String, usize>,
    free: Vec<u64>,
    ordered: BTreeSet<(u64, usize)>,
}

/// The key of a host across pools (host names are unique only within a pool).
pub fn host_key(pool_uuid: &str, host: &str) -> String {
    format!("{pool_uuid}/{host}")
}

impl Capacity {
    /// The hosts with a known `memory_free`, restricted to `eligible` host names when given.
    pub fn new(hosts: &[HostCapacityIn], eligible: Option<&[String]>) -> Capacity {
        let mut c = Capacity {
            names: Vec::new(),
            index: FxHashMap::default(),
            free: Vec::new(),
            ordered: BTreeSet::new(),
        };
        for h in hosts {
            let Some(free) = h.memory_free else { continue };
            if eligible.is_some_and(|names| !names.iter().any(|n| n.eq_ignore_ascii_case(&h.host)))
            {
                continue;
            }
            let i = c.names.len();
            c.names.push(h.host.clone());
            c.index.insert(host_key(&h.pool_uuid, &h.host), i);
            c.free.push(free);
            c.ordered.insert((free, i));
        }
        c
    }

    /// Whether any host's free memory is known.
    pub fn known(&self) -> bool {
        !self.names.is_empty()
    }

    /// The roomiest host that is not `source`, if it has `memory` bytes free.
    fn roomiest_other(&self, source: Option<usize>, memory: u64) -> Option<usize> {
        self.ordered
            .iter()
            .rev()
            .find(|(_, i)| Some(*i) != source)
            .filter(|(free, _)| *free >= memory)
            .map(|(_, i)| *i)
    }

    fn adjust(&mut self, host: usize, new_free: u64) {
        self.ordered.remove(&(self.free[host], host));
        self.free[host] = new_free;
        self.ordered.insert((new_free, host));
    }
}

fn mib(bytes: u64) -> u64 {
    bytes / (1024 * 1024)
}

/// Mark as not planned every moving instance no other host could ever hold.
fn drop_unplaceable(actions: &mut [Action], cap: &Capacity) {
    for a in actions.iter_mut().filter(|a| a.kind.moves()) {
        let Some(memory) = a.instance.memory else {
            continue;
        };
        let source = cap
            .index
            .get(&host_key(&a.instance.pool_uuid, &a.instance.host))
            .copied();
        if cap.roomiest_other(source, memory).is_none() {
            a.kind = ActionKind::NotPlanned;
            a.capacity = format!(
                "does not fit: needs {} MiB, no other host has that much free",
                mib(memory)
            );
        }
    }
}

/// Assign a wave (1, 2, ...) to every plannable action, in the order given (the priority order).
/// Returns the number of waves.
pub fn assign(actions: &mut [Action], limits: Limits, cap: &mut Capacity) -> usize {
    let known = cap.known();
    if known {
        drop_unplaceable(actions, cap);
    }
    let mut pending: Vec<usize> = (0..actions.len())
        .filter(|&i| actions[i].kind != ActionKind::NotPlanned)
        .collect();
    let mut wave = 0;
    while !pending.is_empty() {
        wave += 1;
        let (next, moved) = fill_wave(actions, &pending, wave, limits, cap, known);
        if next.len() == pending.len() {
            // Nothing fitted even an empty wave: the first one cannot be placed now.
            let first = pending[0];
            actions[first].kind = ActionKind::NotPlanned;
            actions[first].capacity = "does not fit: no other host has room for it".into();
            pending.remove(0);
            wave -= 1;
            continue;
        }
        for (source, memory) in moved {
            if let Some(s) = source {
                cap.adjust(s, cap.free[s] + memory);
            }
        }
        pending = next;
    }
    wave
}

/// (source host, bytes) of each instance a wave moved: freed on its source after the wave.
type Moves = Vec<(Option<usize>, u64)>;

/// Place what fits into one wave; return the actions left for later and the memory moved.
fn fill_wave(
    actions: &mut [Action],
    pending: &[usize],
    wave: usize,
    limits: Limits,
    cap: &mut Capacity,
    known: bool,
) -> (Vec<usize>, Moves) {
    let mut per_host: FxHashMap<String, usize> = FxHashMap::default();
    let mut per_pool: FxHashMap<String, usize> = FxHashMap::default();
    let mut next = Vec::with_capacity(pending.len());
    let mut moved = Moves::new();
    let mut placed = 0;
    for (pos, &i) in pending.iter().enumerate() {
        if placed == limits.total {
            next.extend_from_slice(&pending[pos..]);
            break;
        }
        let inst = &actions[i].instance;
        let key = host_key(&inst.pool_uuid, &inst.host);
        let pool_count = per_pool.get(inst.pool_uuid.as_str()).copied().unwrap_or(0);
        if per_host.get(&key).copied().unwrap_or(0) >= limits.per_host
            || pool_count >= limits.per_pool
        {
            next.push(i);
            continue;
        }
        let capacity = match (actions[i].kind.moves(), known, inst.memory) {
            (false, _, _) => "not needed (no move)".to_string(),
            (true, false, _) => "unknown (no host memory figures)".to_string(),
            (true, true, None) => "unknown (no memory figure for this instance)".to_string(),
            (true, true, Some(memory)) => {
                let source = cap.index.get(&key).copied();
                let Some(d) = cap.roomiest_other(source, memory) else {
                    next.push(i);
                    continue;
                };
                let text = format!(
                    "fits: {} MiB; roomiest other host {} has {} MiB free",
                    mib(memory),
                    cap.names[d],
                    mib(cap.free[d])
                );
                cap.adjust(d, cap.free[d] - memory);
                moved.push((source, memory));
                text
            }
        };
        let pool = actions[i].instance.pool_uuid.clone();
        *per_host.entry(key).or_default() += 1;
        *per_pool.entry(pool).or_default() += 1;
        actions[i].capacity = capacity;
        actions[i].wave = Some(wave);
        placed += 1;
    }
    (next, moved)
}
