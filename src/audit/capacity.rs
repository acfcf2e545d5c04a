//! The figures a runbook needs besides the findings: each host's memory (XAPI `host_metrics`
//! memory_total / memory_free) and each Nova instance's `memory_static_max` and local-disk bytes
//! (the VDIs of its non-volume disks, which a cold migration copies between hosts). They come from
//! the same one fetch as the audit (or the same dump); a figure XAPI did not give is `None`
//! (unknown), never a failure: the audit's verdicts do not depend on them.

use crate::classify::{is_nova_instance, is_volume_vbd};
use crate::model::{Snapshot, NULL_REF};
use serde::{Deserialize, Serialize};

/// One host's memory, in bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostCapacity {
    pub pool_uuid: String,
    /// The host's name_label, as findings name it.
    pub host: String,
    pub memory_total: Option<u64>,
    pub memory_free: Option<u64>,
}

/// One Nova instance's memory and local disks, in bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceCapacity {
    pub pool_uuid: String,
    pub instance_uuid: String,
    pub memory_static_max: Option<u64>,
    /// Bytes of its non-volume disks (physical_utilisation, else virtual_size); `None` when a
    /// disk's size is unknown; 0 for an instance with volumes only.
    pub local_disk_bytes: Option<u64>,
}

/// A pool's capacity figures, in name and uuid order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolCapacity {
    pub hosts: Vec<HostCapacity>,
    pub instances: Vec<InstanceCapacity>,
}

/// Read the figures of one pool.
pub fn pool_capacity(snap: &Snapshot) -> PoolCapacity {
    let mut hosts: Vec<HostCapacity> = snap
        .hosts
        .values()
        .map(|h| {
            let m = snap.host_metrics.get(&h.metrics);
            HostCapacity {
                pool_uuid: snap.pool.uuid.clone(),
                host: h.name_label.clone(),
                memory_total: m.and_then(|m| m.memory_total),
                memory_free: m.and_then(|m| m.memory_free),
            }
        })
        .collect();
    hosts.sort_by(|a, b| a.host.cmp(&b.host));
    let vbds_by_vm = snap.vbds_by_vm();
    let mut instances: Vec<InstanceCapacity> = snap
        .vms
        .iter()
        .filter(|(_, vm)| is_nova_instance(vm))
        .map(|(r, vm)| InstanceCapacity {
            pool_uuid: snap.pool.uuid.clone(),
            instance_uuid: vm.other_config["nova_uuid"].clone(),
            memory_static_max: vm.memory_static_max,
            local_disk_bytes: local_disk_bytes(
                snap,
                vbds_by_vm.get(r.as_str()).map(Vec::as_slice).unwrap_or(&[]),
            ),
        })
        .collect();
    instances.sort_by(|a, b| a.instance_uuid.cmp(&b.instance_uuid));
    PoolCapacity { hosts, instances }
}

/// The bytes of the disks (not CDs, not Cinder volumes) behind these VBDs.
fn local_disk_bytes(snap: &Snapshot, vbds: &[&str]) -> Option<u64> {
    let mut total = 0u64;
    for vbd in vbds.iter().filter_map(|r| snap.vbds.get(*r)) {
        let volume = is_volume_vbd(vbd.other_config.get("osvol").map(String::as_str));
        if volume || !vbd.kind.eq_ignore_ascii_case("disk") || vbd.vdi == NULL_REF {
            continue;
        }
        let vdi = snap.vdis.get(&vbd.vdi)?;
        total += vdi.physical_utilisation.or(vdi.virtual_size)?;
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Host, HostMetrics, Vbd, Vdi, Vm};

    /// (a Cinder volume?, VBD type, physical_utilisation, virtual_size)
    type Disk = (bool, &'static str, Option<u64>, Option<u64>);

    fn snapshot(metrics: Option<HostMetrics>, disks: &[Disk]) -> Snapshot {
        let mut s = Snapshot::default();
        s.hosts.insert(
            "h".into(),
            Host {
                name_label: "xs01".into(),
                metrics: "m".into(),
                ..Default::default()
            },
        );
        if let Some(m) = metrics {
            s.host_metrics.insert("m".into(), m);
        }
        let mut vm = Vm {
            memory_static_max: Some(4 << 30),
            ..Default::default()
        };
        vm.other_config.insert("nova_uuid".into(), "i1".into());
        s.vms.insert("vm".into(), vm);
        for (n, (osvol, kind, physical, virt)) in disks.iter().enumerate() {
            let mut vbd = Vbd {
                vm: "vm".into(),
                vdi: format!("vdi{n}"),
                kind: kind.to_string(),
                ..Default::default()
            };
            if *osvol {
                vbd.other_config.insert("osvol".into(), "True".into());
            }
            s.vbds.insert(format!("vbd{n}"), vbd);
            s.vdis.insert(
                format!("vdi{n}"),
                Vdi {
                    physical_utilisation: *physical,
                    virtual_size: *virt,
                    ..Default::default()
                },
            );
        }
        s
    }

    #[test]
    fn local_disks_count_and_volumes_do_not() {
        let cases: Vec<(&str, Vec<Disk>, Option<u64>)> = vec![
            (
                "volumes only",
                vec![(true, "Disk", Some(9), Some(9))],
                Some(0),
            ),
            (
                "physical first",
                vec![
                    (false, "Disk", Some(5), Some(50)),
                    (true, "Disk", Some(7), None),
                ],
                Some(5),
            ),
            (
                "virtual when physical unknown",
                vec![
                    (false, "Disk", None, Some(50)),
                    (false, "Disk", Some(1), None),
                ],
                Some(51),
            ),
            (
                "a CD does not count",
                vec![(false, "CD", Some(700), None)],
                Some(0),
            ),
            (
                "unknown size: unknown",
                vec![(false, "Disk", None, None)],
                None,
            ),
        ];
        for (what, disks, want) in cases {
            let c = pool_capacity(&snapshot(None, &disks));
            assert_eq!(c.instances[0].local_disk_bytes, want, "{what}");
            assert_eq!(c.instances[0].memory_static_max, Some(4 << 30));
        }
    }

    #[test]
    fn host_memory_comes_from_its_metrics_record() {
        let m = HostMetrics {
            memory_total: Some(10),
            memory_free: Some(4),
        };
        let c = pool_capacity(&snapshot(Some(m), &[]));
        assert_eq!(
            (c.hosts[0].memory_total, c.hosts[0].memory_free),
            (Some(10), Some(4))
        );
        let c = pool_capacity(&snapshot(None, &[]));
        assert_eq!(c.hosts[0].memory_free, None, "absent table: unknown");
    }
}
