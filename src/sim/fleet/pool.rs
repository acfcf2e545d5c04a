//! One generated pool: hosts, their local SRs, Nova instances with their volumes on legacy,
//! new-style and other SRs, and the edge cases of `--scenarios`, accumulated table by table and
//! written as one XAPI dump.

use super::nova::{
    device_name, iscsi_connection_info, provided_connection_info, BdmRow, ServerRow,
};
use super::{PoolSpec, PoolStats, Rng, GEN_NAMESPACE};

mod scenarios;
use crate::classify::nova_sr_uuid;
use crate::dump::{DumpWriter, FieldValue};
use std::io::{self, Write};
use uuid::Uuid;

type Fields = Vec<(&'static str, FieldValue)>;

pub(super) fn t(s: impl Into<String>) -> FieldValue {
    FieldValue::Text(s.into())
}
pub(super) fn map(pairs: &[(&str, &str)]) -> FieldValue {
    FieldValue::Map(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    )
}
fn set(items: Vec<String>) -> FieldValue {
    FieldValue::Set(items)
}

/// Accumulates the rows of one pool, table by table.
#[derive(Default)]
pub(super) struct PoolRows {
    pub(super) pool: Vec<(String, Fields)>,
    host: Vec<(String, Fields)>,
    host_metrics: Vec<(String, Fields)>,
    vm: Vec<(String, Fields)>,
    vbd: Vec<(String, Fields)>,
    vdi: Vec<(String, Fields)>,
    sr: Vec<(String, Fields)>,
    pbd: Vec<(String, Fields)>,
}

pub(super) struct PoolGen<'a> {
    pub(super) spec: &'a PoolSpec,
    pub(super) key: String,
    pub(super) rng: Rng,
    pub(super) counter: u64,
    pub(super) rows: PoolRows,
    pub(super) stats: PoolStats,
    pub(super) hosts: Vec<String>,
    /// Each host's local SR, in host order.
    pub(super) local_srs: Vec<String>,
    pub(super) shared_sr: Option<(String, String, String, String)>, // (sr ref, target, port, iqn) of the shared-IQN backend
    pub(super) pool_index: usize,
}

impl PoolGen<'_> {
    pub(super) fn uuid(&mut self, kind: &str) -> String {
        self.counter += 1;
        Uuid::new_v5(
            &GEN_NAMESPACE,
            format!("{}/{kind}/{}", self.key, self.counter).as_bytes(),
        )
        .to_string()
    }
    /// A uuid for Nova's side only (projects): derived without advancing the counter, so adding
    /// Nova's exports leaves the dumps' uuids as they were.
    fn derived(&self, kind: &str, n: usize) -> String {
        Uuid::new_v5(
            &GEN_NAMESPACE,
            format!("{}/{kind}/{n}", self.key).as_bytes(),
        )
        .simple()
        .to_string()
    }
    /// The hypervisor hostname Nova reports for a host ref (the edge pool's in upper case: Nova's
    /// `Host` is compared case-insensitively).
    fn nova_host(&self, host_ref: &str) -> String {
        let i = self.hosts.iter().position(|h| h == host_ref).unwrap_or(0);
        let name = self.stats.host_names.get(i).cloned().unwrap_or_default();
        if self.spec.hosts == 1 {
            name.to_ascii_uppercase()
        } else {
            name
        }
    }
    fn server(&mut self, id: &str, name: &str, host_ref: &str, running: bool) {
        let project_id = self.derived("project", self.stats.servers.len() % 3);
        let host = self.nova_host(host_ref);
        self.stats.servers.push(ServerRow {
            id: id.to_string(),
            name: name.to_string(),
            status: if running { "ACTIVE" } else { "SHUTOFF" }.into(),
            power_state: if running { "Running" } else { "Shutdown" }.into(),
            host,
            project_id,
        });
    }
    fn bdm(&mut self, instance: &str, volume_id: &str, userdevice: usize, info: Option<String>) {
        let style = self.stats.bdms.len() + self.pool_index;
        self.bdm_named(
            instance,
            volume_id,
            &device_name(userdevice, style),
            userdevice,
            info,
        );
    }
    fn bdm_named(
        &mut self,
        instance: &str,
        volume_id: &str,
        device: &str,
        userdevice: usize,
        info: Option<String>,
    ) {
        self.stats.bdms.push(BdmRow {
            instance_uuid: instance.to_string(),
            volume_id: volume_id.to_string(),
            device_name: device.to_string(),
            boot_index: (userdevice == 0).then(|| "0".to_string()),
            connection_info: info,
        });
    }

    pub(super) fn opaque(&mut self, kind: &str) -> String {
        format!("OpaqueRef:{}", self.uuid(kind))
    }

    pub(super) fn add_host(&mut self, i: usize) -> String {
        let r = self.opaque("host");
        let name = format!("{}-xs{:02}", self.spec.name, i + 1);
        let uuid = self.uuid("host-uuid");
        let metrics = self.host_metrics(i);
        self.rows.host.push((
            r.clone(),
            vec![
                ("uuid", t(uuid)),
                ("name_label", t(name.clone())),
                ("name_description", t("Default install")),
                ("hostname", t(name.clone())),
                (
                    "address",
                    t(format!(
                        "10.{}.{}.{}",
                        10 + self.pool_index / 200,
                        self.pool_index % 200,
                        i + 11
                    )),
                ),
                (
                    "software_version",
                    map(&[("product_version", "7.1.2"), ("product_brand", "XenServer")]),
                ),
                ("enabled", t("true")),
                ("metrics", t(metrics)),
                ("API_version_major", t("2")),
                ("API_version_minor", t("6")),
            ],
        ));
        // Its control domain: a VM that must never count as an instance.
        let dom0 = self.opaque("vm");
        let dom0_uuid = self.uuid("vm-uuid");
        self.rows.vm.push((
            dom0,
            vec![
                ("uuid", t(dom0_uuid)),
                ("name_label", t(format!("Control domain on host: {name}"))),
                ("is_a_template", t("false")),
                ("is_control_domain", t("true")),
                ("power_state", t("Running")),
                ("resident_on", t(r.clone())),
                (
                    "other_config",
                    map(&[("storage_driver_domain", "OpaqueRef:NULL")]),
                ),
            ],
        ));
        self.stats.host_names.push(name);
        r
    }

    /// Host `i`'s `host_metrics` row: 256 GiB, of which 24 to 215 GiB free. Its ref is derived
    /// without advancing the counter, so the fleet's other uuids stay as they were.
    fn host_metrics(&mut self, i: usize) -> String {
        const GIB: u64 = 1 << 30;
        let r = format!("OpaqueRef:{}", self.derived("host-metrics", i));
        let free = 24 + (self.pool_index as u64 * 37 + i as u64 * 53) % 192;
        self.rows.host_metrics.push((
            r.clone(),
            vec![
                ("uuid", t(self.derived("host-metrics-uuid", i))),
                ("memory_total", t((256 * GIB).to_string())),
                ("memory_free", t((free * GIB).to_string())),
                ("live", t("true")),
            ],
        ));
        r
    }

    pub(super) fn local_sr(&mut self, host: &str) -> String {
        let sr = self.opaque("sr");
        let uuid = self.uuid("sr-uuid");
        self.rows.sr.push((
            sr.clone(),
            vec![
                ("uuid", t(uuid)),
                ("name_label", t("Local storage")),
                ("name_description", t("")),
                ("type", t("lvm")),
                ("content_type", t("user")),
                ("shared", t("false")),
                ("other_config", map(&[("i18n-key", "local-storage")])),
            ],
        ));
        self.pbd(
            host,
            &sr,
            &[("device", "/dev/disk/by-id/scsi-SATA_ST1000NM0033-part3")],
        );
        sr
    }

    /// The PBD that plugs `sr` into `host`.
    fn pbd(&mut self, host: &str, sr: &str, device_config: &[(&str, &str)]) {
        let pbd = self.opaque("pbd");
        let pbd_uuid = self.uuid("pbd-uuid");
        self.rows.pbd.push((
            pbd,
            vec![
                ("uuid", t(pbd_uuid)),
                ("host", t(host)),
                ("SR", t(sr)),
                ("device_config", map(device_config)),
                ("currently_attached", t("true")),
            ],
        ));
    }

    /// An iSCSI SR as Nova introduces it, with its PBD on `host`.
    #[allow(clippy::too_many_arguments)]
    fn iscsi_sr(
        &mut self,
        uuid: &str,
        label: &str,
        desc: &str,
        host: &str,
        target: &str,
        port: Option<&str>,
        iqn: &str,
        chap: Option<(&str, &str)>,
    ) -> String {
        let sr = self.opaque("sr");
        let mut dc: Vec<(&str, &str)> = vec![("target", target), ("targetIQN", iqn)];
        if let Some(p) = port {
            dc.push(("port", p));
        }
        if let Some((u, p)) = chap {
            dc.push(("chapuser", u));
            dc.push(("chappassword", p));
        }
        self.rows.sr.push((
            sr.clone(),
            vec![
                ("uuid", t(uuid)),
                ("name_label", t(label)),
                ("name_description", t(desc)),
                ("type", t("iscsi")),
                ("content_type", t("")),
                ("shared", t("false")),
                ("sm_config", map(&dc)),
                ("other_config", map(&[])),
            ],
        ));
        let mut pbd_dc = dc.clone();
        if self.counter % 3 == 0 {
            pbd_dc.push(("backend-kind", "vbd"));
        }
        self.pbd(host, &sr, &pbd_dc);
        sr
    }

    fn vdi(
        &mut self,
        sr: &str,
        name: &str,
        other: &[(&str, &str)],
        lun: Option<&str>,
    ) -> (String, String) {
        let vdi = self.opaque("vdi");
        let uuid = self.uuid("vdi-uuid");
        let sm: Vec<(&str, &str)> = lun.map(|l| vec![("LUNid", l)]).unwrap_or_default();
        let virtual_size = (20 + self.rng.below(480)) * 1024 * 1024 * 1024;
        // Thin provisioned: 20 to 80 % used, derived from the counter (the random stream unchanged).
        let used = virtual_size / 100 * (20 + self.counter % 61);
        self.rows.vdi.push((
            vdi.clone(),
            vec![
                ("uuid", t(uuid.clone())),
                ("name_label", t(name)),
                ("name_description", t("")),
                ("SR", t(sr)),
                ("virtual_size", t(virtual_size.to_string())),
                ("physical_utilisation", t(used.to_string())),
                ("type", t("user")),
                ("sm_config", map(&sm)),
                ("other_config", map(other)),
            ],
        ));
        (vdi, uuid)
    }

    fn vbd(&mut self, vm: &str, vdi: &str, userdevice: usize, osvol: bool) -> String {
        let vbd = self.opaque("vbd");
        let uuid = self.uuid("vbd-uuid");
        let ud = userdevice.to_string();
        let oc: Vec<(&str, &str)> = if osvol {
            vec![("osvol", "True")]
        } else {
            vec![]
        };
        self.rows.vbd.push((
            vbd.clone(),
            vec![
                ("uuid", t(uuid)),
                ("VM", t(vm)),
                ("VDI", t(vdi)),
                ("userdevice", t(ud)),
                (
                    "bootable",
                    t(if userdevice == 0 { "true" } else { "false" }),
                ),
                ("mode", t("RW")),
                ("type", t("Disk")),
                ("currently_attached", t("true")),
                ("other_config", map(&oc)),
            ],
        ));
        vbd
    }

    /// One Cinder volume attached to `vm` at `userdevice`, on a legacy, new-style or other SR.
    fn volume(
        &mut self,
        (vm, nova_uuid): (&str, &str),
        instance_name: &str,
        host: &str,
        userdevice: usize,
        kind: VolumeKind,
    ) {
        let vol = self.uuid("volume");
        let desc = format!("Disk-for:{instance_name}");
        let (sr, lun, info) = match kind {
            VolumeKind::Legacy | VolumeKind::New => {
                self.openstack_volume_sr(&vol, &desc, host, kind)
            }
            VolumeKind::Other => self.cinder_volume_sr(&vol, &desc, host),
            VolumeKind::Ipv6 => self.ipv6_volume_sr(&vol, &desc, host),
        };
        let lun_text = lun.map(|l| l.to_string());
        let (vdi, _) = self.vdi(&sr, &format!("volume-{vol}"), &[], lun_text.as_deref());
        self.vbd(vm, &vdi, userdevice, true);
        self.stats.attachments += 1;
        self.bdm(nova_uuid, &vol, userdevice, Some(info));
    }

    /// The SR of a volume Nova introduced from OpenStack's iSCSI connection data: legacy-named,
    /// new-style per volume, or the shared-IQN backend's one SR (then with its LUN); and the BDM's
    /// connection info.
    fn openstack_volume_sr(
        &mut self,
        vol: &str,
        desc: &str,
        host: &str,
        kind: VolumeKind,
    ) -> (String, Option<u64>, String) {
        let per_volume_iqn = format!("iqn.2010-10.org.openstack:volume-{vol}");
        let target = format!("10.20.{}.{}", self.pool_index % 250, 10 + self.rng.below(2));
        let chap_user = format!("chap-{}", &vol[..8]);
        let chap_secret = format!("demo-chap-secret-{}", &vol[..8]);
        let chap = self
            .rng
            .percent(30)
            .then_some((chap_user.as_str(), chap_secret.as_str()));
        let info = iscsi_connection_info(&format!("{target}:3260"), &per_volume_iqn, vol, 1, chap);
        if kind == VolumeKind::Legacy {
            self.stats.legacy += 1;
            let uuid = format!("FA15E-D15C-{vol}");
            (
                self.iscsi_sr(
                    &uuid,
                    &format!("tempSR-{vol}"),
                    desc,
                    host,
                    &target,
                    Some("3260"),
                    &per_volume_iqn,
                    chap,
                ),
                None,
                info,
            )
        } else if self.rng.percent(40) {
            // The shared-IQN backend: one new-style SR, several LUN VDIs.
            self.stats.new += 1;
            let (sr, lun) = self.shared_sr(host);
            let (_, target, port, iqn) = self.shared_sr.clone().unwrap_or_default();
            let info = iscsi_connection_info(
                &format!("{target}:{port}"),
                &iqn,
                vol,
                lun,
                Some(("eql", "demo-chap-secret-eql")),
            );
            (sr, Some(lun), info)
        } else {
            self.stats.new += 1;
            let uuid = nova_sr_uuid(&target, "3260", &per_volume_iqn);
            (
                self.iscsi_sr(
                    &uuid,
                    &format!("tempSR-{uuid}"),
                    "Disk-for:None",
                    host,
                    &target,
                    Some("3260"),
                    &per_volume_iqn,
                    chap,
                ),
                None,
                info,
            )
        }
    }

    /// The SR of a volume whose connection data carries Cinder's own sr_uuid: neither convention.
    fn cinder_volume_sr(
        &mut self,
        vol: &str,
        desc: &str,
        host: &str,
    ) -> (String, Option<u64>, String) {
        // Cinder gave its own sr_uuid: neither convention.
        self.stats.other += 1;
        let uuid = self.uuid("cinder-sr");
        let iqn = format!("iqn.1992-08.com.netapp:sn.{}", &vol[..8]);
        let info = provided_connection_info(&uuid, vol);
        (
            self.iscsi_sr(
                &uuid,
                &format!("tempSR-{vol}"),
                desc,
                host,
                "10.30.0.5",
                Some("3260"),
                &iqn,
                None,
            ),
            None,
            info,
        )
    }

    /// The SR of a volume behind an IPv6 portal, as Nova splits it.
    fn ipv6_volume_sr(
        &mut self,
        vol: &str,
        desc: &str,
        host: &str,
    ) -> (String, Option<u64>, String) {
        // Portal [fd00::5]:3260 split by Nova into target "[fd00" and port "".
        self.stats.new += 1;
        let iqn = format!("iqn.2010-10.org.openstack:volume-{vol}");
        let uuid = nova_sr_uuid("[fd00", "", &iqn);
        let info = iscsi_connection_info("[fd00::5]:3260", &iqn, vol, 1, None);
        (
            self.iscsi_sr(
                &uuid,
                &format!("tempSR-{uuid}"),
                desc,
                host,
                "[fd00",
                Some(""),
                &iqn,
                None,
            ),
            None,
            info,
        )
    }

    fn shared_sr(&mut self, host: &str) -> (String, u64) {
        if self.shared_sr.is_none() {
            let target = format!("10.40.{}.20", self.pool_index % 250);
            let iqn = format!("iqn.2001-05.com.equallogic:pool{}-shared", self.pool_index);
            let uuid = nova_sr_uuid(&target, "3260", &iqn);
            let sr = self.iscsi_sr(
                &uuid,
                &format!("tempSR-{uuid}"),
                "Disk-for:None",
                host,
                &target,
                Some("3260"),
                &iqn,
                Some(("eql", "demo-chap-secret-eql")),
            );
            self.shared_sr = Some((sr, target, "3260".into(), iqn));
        }
        let lun = 1 + self.rng.below(250);
        (
            self.shared_sr
                .as_ref()
                .map(|s| s.0.clone())
                .unwrap_or_default(),
            lun,
        )
    }

    pub(super) fn instance(&mut self, n: usize) {
        let vm = self.opaque("vm");
        let vm_uuid = self.uuid("vm-uuid");
        let nova_uuid = self.uuid("instance");
        let name = format!("instance-{:08x}", 0x100 * (self.pool_index + 1) + n);
        let halted = self.rng.percent(12);
        let host_i = self.rng.below(self.hosts.len() as u64) as usize;
        let host = self.hosts[host_i].clone();
        let padding = "x".repeat(self.spec.vm_padding);
        let mut fields: Fields = vec![
            ("uuid", t(vm_uuid)),
            ("name_label", t(name.clone())),
            ("name_description", t("")),
            ("is_a_template", t("false")),
            ("is_control_domain", t("false")),
            ("power_state", t(if halted { "Halted" } else { "Running" })),
            (
                "resident_on",
                t(if halted {
                    "OpaqueRef:NULL".to_string()
                } else {
                    host.clone()
                }),
            ),
            (
                "memory_static_max",
                t(format!("{}", (2 + self.rng.below(30)) * 1024 * 1024 * 1024)),
            ),
            ("VCPUs_max", t(format!("{}", 1 + self.rng.below(16)))),
            ("HVM_boot_policy", t("BIOS order")),
            (
                "platform",
                map(&[
                    ("acpi", "1"),
                    ("apic", "true"),
                    ("pae", "true"),
                    ("viridian", "true"),
                ]),
            ),
            ("blocked_operations", map(&[])),
            ("tags", set(vec![])),
            ("VBDs", set(vec![])), // stale in dumps: the reader must rebuild it from VBD.VM
            (
                "other_config",
                map(&[
                    ("nova_uuid", &nova_uuid),
                    ("xenstore_data", "vm-data/hostname"),
                ]),
            ),
        ];
        if !padding.is_empty() {
            fields.push(("xenstore_data", map(&[("vm-data/user-data", &padding)])));
        }
        self.rows.vm.push((vm.clone(), fields));
        self.stats.instances += 1;
        self.server(&nova_uuid, &name, &host, !halted);

        self.instance_disks((&vm, &nova_uuid), &name, &host, host_i);
    }

    /// An instance's disks: a boot volume or a local root disk, then its data volumes, legacy
    /// or new-style as its age makes likely.
    fn instance_disks(
        &mut self,
        (vm, nova_uuid): (&str, &str),
        name: &str,
        host: &str,
        host_i: usize,
    ) {
        let (boot_volume, data_volumes) = match self.spec.volumes_per_instance {
            Some(0) => (false, 0),
            Some(v) => (true, v - 1),
            None => (self.rng.percent(60), self.rng.below(4) as usize),
        };
        // Instances built before the upgrade have legacy volumes, but may have gained new ones since.
        let old_instance = self.rng.percent(self.spec.legacy_percent);
        let kind = |g: &mut Self, first: bool| {
            if old_instance && (first || g.rng.percent(60)) {
                VolumeKind::Legacy
            } else {
                VolumeKind::New
            }
        };
        if boot_volume {
            let k = kind(self, true);
            self.volume((vm, nova_uuid), name, host, 0, k);
        } else {
            let local = self.local_srs[host_i].clone();
            let (vdi, _) = self.vdi(
                &local,
                &format!("{name} root"),
                &[
                    ("nova_disk_type", "root"),
                    ("nova_instance_uuid", nova_uuid),
                ],
                None,
            );
            self.vbd(vm, &vdi, 0, false);
        }
        for d in 0..data_volumes {
            let k = kind(self, false);
            self.volume((vm, nova_uuid), name, host, d + 1, k);
        }
    }

    pub(super) fn write<W: Write>(self, out: W) -> io::Result<(W, PoolStats)> {
        let mut w = DumpWriter::new(out, 1000 + self.counter)?;
        // Tables in XAPI's alphabetical-ish order, with a few the audit does not read.
        for (name, rows) in [
            ("Bond", &Vec::new()),
            ("PBD", &self.rows.pbd),
            ("SR", &self.rows.sr),
            ("VBD", &self.rows.vbd),
            ("VDI", &self.rows.vdi),
            ("VM", &self.rows.vm),
            ("host", &self.rows.host),
            ("host_metrics", &self.rows.host_metrics),
            ("pool", &self.rows.pool),
            ("session", &Vec::new()),
        ] {
            w.start_table(name)?;
            for (r, fields) in rows.iter() {
                w.row(r, fields.iter().map(|(k, v)| (*k, v)))?;
            }
        }
        Ok((w.finish()?, self.stats))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum VolumeKind {
    Legacy,
    New,
    Other,
    Ipv6,
}
