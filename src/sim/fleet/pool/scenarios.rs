//! The special cases `--scenarios` adds to a generated pool: an orphaned legacy SR, a
//! legacy/new-style conflict, the "other" and IPv6-quirk volumes, non-Nova VMs on iSCSI SRs, a
//! template with a Nova uuid, and the cases only Nova's view reveals (a moved portal, a portless
//! portal, a provided sr_uuid, NULL connection_info, an untranslatable device name, a ghost, a
//! leftover).

use super::{map, t, PoolGen, VolumeKind};
use crate::classify::nova_sr_uuid;
use crate::sim::fleet::nova::{iscsi_connection_info, provided_connection_info};
use crate::sim::fleet::GEN_NAMESPACE;
use uuid::Uuid;

fn iqn_of(vol: &str) -> String {
    format!("iqn.2010-10.org.openstack:volume-{vol}")
}

impl PoolGen<'_> {
    /// The hand-made cases every pool gets after its random instances, in a fixed order (each
    /// draws from the pool's seeded generator, so the order is part of the output).
    pub(in crate::sim::fleet) fn scenarios(&mut self) {
        let host = self.hosts[0].clone();
        let n = self.stats.instances;
        self.orphaned_legacy_sr(&host);
        let (vm, nova_uuid, name) = self.conflicting_legacy_sr(&host, n + 1);
        // Case 3: the same instance gains an "other" volume and an IPv6-quirk volume.
        self.volume((&vm, &nova_uuid), &name, &host, 1, VolumeKind::Other);
        self.volume((&vm, &nova_uuid), &name, &host, 2, VolumeKind::Ipv6);
        self.non_nova_vm_on_legacy_sr(&host);
        self.template_with_nova_uuid();
        self.nova_scenarios();
    }

    /// Case 1, an orphaned legacy SR: a VDI, no VBD.
    fn orphaned_legacy_sr(&mut self, host: &str) {
        let vol = self.uuid("volume");
        let sr = self.iscsi_sr(
            &format!("FA15E-D15C-{vol}"),
            &format!("tempSR-{vol}"),
            "Disk-for:instance-deleted",
            host,
            "10.20.9.10",
            Some("3260"),
            &format!("iqn.2010-10.org.openstack:volume-{vol}"),
            None,
        );
        self.vdi(&sr, &format!("volume-{vol}"), &[], None);
    }

    /// Case 2, a conflict: a legacy SR on the shared backend's target and IQN, attached to
    /// instance `n` (returned as VM reference, Nova uuid, name).
    fn conflicting_legacy_sr(&mut self, host: &str, n: usize) -> (String, String, String) {
        let (_, _) = self.shared_sr(host);
        let (_, target, port, iqn) = self.shared_sr.clone().unwrap_or_default();
        let vol = self.uuid("volume");
        let legacy = self.iscsi_sr(
            &format!("FA15E-D15C-{vol}"),
            &format!("tempSR-{vol}"),
            "Disk-for:instance-conflict",
            host,
            &target,
            Some(&port),
            &iqn,
            Some(("eql", "demo-chap-secret-eql")),
        );
        let (vm, nova_uuid, name) = self.bare_instance(n, host, true);
        let (vdi, _) = self.vdi(&legacy, &format!("volume-{vol}"), &[], Some("7"));
        self.vbd(&vm, &vdi, 0, true);
        self.stats.attachments += 1;
        self.stats.legacy += 1;
        let info = iscsi_connection_info(
            &format!("{target}:{port}"),
            &iqn,
            &vol,
            7,
            Some(("eql", "demo-chap-secret-eql")),
        );
        self.bdm(&nova_uuid, &vol, 0, Some(info));
        (vm, nova_uuid, name)
    }

    /// Case 4, a non-Nova VM on a legacy-named iSCSI SR (manually attached): never a finding,
    /// not an orphan.
    fn non_nova_vm_on_legacy_sr(&mut self, host: &str) {
        let vol = self.uuid("volume");
        let sr = self.iscsi_sr(
            &format!("FA15E-D15C-{vol}"),
            &format!("tempSR-{vol}"),
            "manual",
            host,
            "10.20.9.11",
            None,
            &format!("iqn.2010-10.org.openstack:volume-{vol}"),
            None,
        );
        let (vdi, _) = self.vdi(&sr, "backup disk", &[], None);
        let plain = self.opaque("vm");
        let plain_uuid = self.uuid("vm-uuid");
        self.rows.vm.push((
            plain.clone(),
            vec![
                ("uuid", t(plain_uuid)),
                ("name_label", t("backup-appliance")),
                ("is_a_template", t("false")),
                ("is_control_domain", t("false")),
                ("power_state", t("Running")),
                ("resident_on", t(host.to_string())),
                ("other_config", map(&[("osvol", "True")])),
            ],
        ));
        self.vbd(&plain, &vdi, 1, true);
    }

    /// Case 5, a template that carries nova_uuid (a snapshot image): never an instance.
    fn template_with_nova_uuid(&mut self) {
        let tmpl = self.opaque("vm");
        let tmpl_uuid = self.uuid("vm-uuid");
        let tmpl_nova = self.uuid("instance");
        self.rows.vm.push((
            tmpl,
            vec![
                ("uuid", t(tmpl_uuid)),
                ("name_label", t("Ubuntu 14.04 (snapshot)")),
                ("is_a_template", t("true")),
                ("is_control_domain", t("false")),
                ("power_state", t("Halted")),
                ("resident_on", t("OpaqueRef:NULL")),
                ("other_config", map(&[("nova_uuid", &tmpl_nova)])),
            ],
        ));
    }

    /// A Nova instance VM with no disks yet, listed by Nova when `listed`.
    fn bare_instance(&mut self, n: usize, host: &str, listed: bool) -> (String, String, String) {
        let vm = self.opaque("vm");
        let vm_uuid = self.uuid("vm-uuid");
        let nova_uuid = self.uuid("instance");
        let name = format!("instance-{:08x}", 0x100 * (self.pool_index + 1) + n);
        self.rows.vm.push((
            vm.clone(),
            vec![
                ("uuid", t(vm_uuid)),
                ("name_label", t(name.clone())),
                ("is_a_template", t("false")),
                ("is_control_domain", t("false")),
                ("power_state", t(if listed { "Running" } else { "Halted" })),
                (
                    "resident_on",
                    t(if listed { host } else { "OpaqueRef:NULL" }),
                ),
                ("other_config", map(&[("nova_uuid", &nova_uuid)])),
            ],
        ));
        self.stats.instances += 1;
        if listed {
            self.server(&nova_uuid, &name, host, true);
        }
        (vm, nova_uuid, name)
    }

    /// A volume VDI on `sr` attached to `vm` at `userdevice`.
    fn attach_volume(&mut self, vm: &str, sr: &str, userdevice: usize, vol: &str) {
        let (vdi, _) = self.vdi(sr, &format!("volume-{vol}"), &[], None);
        self.vbd(vm, &vdi, userdevice, true);
        self.stats.attachments += 1;
    }

    /// The cases only Nova's view reveals.
    fn nova_scenarios(&mut self) {
        let host = self.hosts[0].clone();
        let n = self.stats.instances + 2;
        let p = self.pool_index % 250;

        // The volume cases go to multi-host pools only: a single-host pool keeps exactly one
        // blocked volume (its conflict), which the waiver tests rely on.
        if self.spec.hosts > 1 {
            self.nova_volume_cases(n, p, &host);
        }
        // A ghost: Nova runs it on this pool's first host, but no VM carries its uuid.
        let ghost =
            Uuid::new_v5(&GEN_NAMESPACE, format!("{}/ghost", self.key).as_bytes()).to_string();
        self.server(&ghost, &format!("instance-ghost-{p}"), &host, true);
        // A leftover: a halted VM with a Nova uuid that Nova no longer lists.
        self.bare_instance(n + 2, &host, false);
    }

    /// A new-style SR (as Mitaka names it) for `target:port` and a fresh volume's IQN, attached to
    /// `vm` at `userdevice`; returns the volume id.
    fn new_style_volume(
        &mut self,
        vm: &str,
        host: &str,
        target: &str,
        port: &str,
        userdevice: usize,
    ) -> String {
        let vol = self.uuid("volume");
        let iqn = iqn_of(&vol);
        let uuid = nova_sr_uuid(target, port, &iqn);
        let sr = self.iscsi_sr(
            &uuid,
            &format!("tempSR-{uuid}"),
            "Disk-for:None",
            host,
            target,
            Some(port),
            &iqn,
            None,
        );
        self.attach_volume(vm, &sr, userdevice, &vol);
        self.stats.new += 1;
        vol
    }

    fn nova_volume_cases(&mut self, n: usize, p: usize, host: &str) {
        let host = host.to_string();
        // A: the boot volume's portal moved since its new-style SR was introduced (mismatch), and a
        // data volume whose portal has no port: the SR was introduced by a compute with
        // target_port 3261, the destinations default to 3260 (mismatch).
        let (vm, nova_uuid, _) = self.bare_instance(n, &host, true);
        let (old, new) = (format!("10.20.{p}.30"), format!("10.21.{p}.30"));
        let vol = self.new_style_volume(&vm, &host, &old, "3260", 0);
        let info = iscsi_connection_info(&format!("{new}:3260"), &iqn_of(&vol), &vol, 1, None);
        self.bdm(&nova_uuid, &vol, 0, Some(info));
        let target = format!("10.22.{p}.40");
        let vol = self.new_style_volume(&vm, &host, &target, "3261", 1);
        let info = iscsi_connection_info(&target, &iqn_of(&vol), &vol, 1, None);
        self.bdm(&nova_uuid, &vol, 1, Some(info));

        // B: a Cinder driver that provides another sr_uuid than the SR has (mismatch), a new-style
        // volume whose BDM has NULL connection_info (unusable: Nova raises on it), and a legacy volume whose
        // device name Nova cannot translate (mismatch: its BDM is found by volume_id).
        let (vm, nova_uuid, _) = self.bare_instance(n + 1, &host, true);
        let vol = self.uuid("volume");
        let sr_uuid = self.uuid("cinder-sr");
        let sr = self.iscsi_sr(
            &sr_uuid,
            &format!("tempSR-{vol}"),
            "Disk-for:None",
            &host,
            "10.30.0.6",
            Some("3260"),
            &format!("iqn.1992-08.com.netapp:sn.{}", &vol[..8]),
            None,
        );
        self.attach_volume(&vm, &sr, 1, &vol);
        self.stats.other += 1;
        let provided = Uuid::new_v5(
            &GEN_NAMESPACE,
            format!("{}/provided/{vol}", self.key).as_bytes(),
        )
        .to_string();
        self.bdm(
            &nova_uuid,
            &vol,
            1,
            Some(provided_connection_info(&provided, &vol)),
        );
        let target = format!("10.20.{p}.31");
        let vol = self.new_style_volume(&vm, &host, &target, "3260", 2);
        self.bdm(&nova_uuid, &vol, 2, None);
        let vol = self.uuid("volume");
        let sr = self.iscsi_sr(
            &format!("FA15E-D15C-{vol}"),
            &format!("tempSR-{vol}"),
            "Disk-for:None",
            &host,
            &target,
            Some("3260"),
            &iqn_of(&vol),
            None,
        );
        self.attach_volume(&vm, &sr, 3, &vol);
        self.stats.legacy += 1;
        let info = iscsi_connection_info(&format!("{target}:3260"), &iqn_of(&vol), &vol, 1, None);
        self.bdm_named(&nova_uuid, &vol, "/dev/nvme0n1", 3, Some(info));
    }
}
