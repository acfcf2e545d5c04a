//! `audit_pool` in its steps: what a pool's audit computes once (each SR's identity and naming,
//! the new-style SRs by target), then each Nova instance's volume findings and verdict, then the
//! pool's orphaned legacy SRs and legacy/new-style conflicts. The rules and the remediation texts
//! it applies live in the parent module and in [`crate::classify`].

use super::nova_check::{self, CheckResult, NovaView, OtherBdm};
use super::{
    blocked_why, capacity, conflict_note, failed_migration_note, finding_remediation,
    join_sentences, other_bdms_text, sr_target, unpaired_bdms_note, userdevice_key, Conflict,
    DiskRef, Finding, Instance, NovaCheck, Orphan, PoolAudit, SrTarget, Status, Verdict,
};
use crate::classify::{classify_sr, is_nova_instance, is_volume_vbd, volume_id_of, Naming};
use crate::model::{FastMap, FastSet, Snapshot, Vbd, Vm};
use crate::text::plural;

/// Audit one pool; `nova` adds Nova's own view (BDMs, projects) when the run has it.
pub fn audit_pool(snap: &Snapshot, nova: &NovaView) -> PoolAudit {
    let pool = PoolIndex::new(snap, nova);
    let mut out = pool_totals(&pool);
    let mut conflict_attachments: FastMap<String, usize> = FastMap::default();
    for (vm_ref, vm) in &snap.vms {
        if is_nova_instance(vm) {
            audit_instance(&pool, vm_ref, vm, &mut out, &mut conflict_attachments);
        }
    }
    out.orphans = orphans(&pool);
    out.conflicts = conflicts(&pool, &conflict_attachments);
    out
}

/// What the audit of one pool looks up for every instance, computed once.
struct PoolIndex<'s> {
    snap: &'s Snapshot,
    nova: &'s NovaView,
    vbds_by_vm: FastMap<&'s str, Vec<&'s str>>,
    pbds_by_sr: FastMap<&'s str, Vec<&'s str>>,
    /// Per-SR identity and naming, by SR ref.
    sr_info: FastMap<&'s str, (SrTarget, Naming)>,
    /// New-style SR uuids by target, then IQN: the other side of a conflict.
    new_by_target: FastMap<String, FastMap<String, Vec<&'s str>>>,
    /// The uuids of the pool's SRs.
    pool_srs: FastSet<&'s str>,
}

impl<'s> PoolIndex<'s> {
    fn new(snap: &'s Snapshot, nova: &'s NovaView) -> PoolIndex<'s> {
        let pbds_by_sr = snap.pbds_by_sr();
        let mut sr_info: FastMap<&str, (SrTarget, Naming)> = FastMap::default();
        for (r, sr) in &snap.srs {
            let t = sr_target(snap, pbds_by_sr.get(r.as_str()), "");
            let naming = classify_sr(&sr.uuid, t.expected.as_deref());
            sr_info.insert(r.as_str(), (t, naming));
        }
        let mut new_by_target: FastMap<String, FastMap<String, Vec<&str>>> = FastMap::default();
        for (r, (t, naming)) in &sr_info {
            if *naming == Naming::New {
                new_by_target
                    .entry(t.target.clone())
                    .or_default()
                    .entry(t.iqn.clone())
                    .or_default()
                    .push(snap.srs[*r].uuid.as_str());
            }
        }
        PoolIndex {
            snap,
            nova,
            vbds_by_vm: snap.vbds_by_vm(),
            pbds_by_sr,
            sr_info,
            new_by_target,
            pool_srs: snap.srs.values().map(|sr| sr.uuid.as_str()).collect(),
        }
    }

    /// The new-style SR that serves the same target and IQN as the legacy SR `sr_ref`, if any.
    fn conflict_of(&self, sr_ref: &str) -> Option<String> {
        let (t, naming) = self.sr_info.get(sr_ref)?;
        if *naming != Naming::Legacy || t.iqn.is_empty() {
            return None;
        }
        self.new_by_target
            .get(t.target.as_str())
            .and_then(|by_iqn| by_iqn.get(t.iqn.as_str()))
            .and_then(|v| v.iter().min().map(|s| s.to_string()))
    }
}

/// The pool's own figures (hosts, VMs, SRs by naming, hostnames, capacity), before any instance.
fn pool_totals(pool: &PoolIndex) -> PoolAudit {
    let snap = pool.snap;
    let naming_count = |n: Naming| pool.sr_info.values().filter(|(_, m)| *m == n).count();
    PoolAudit {
        pool_uuid: snap.pool.uuid.clone(),
        pool_name: snap.pool.name_label.clone(),
        hosts: snap.hosts.len(),
        vms: snap
            .vms
            .values()
            .filter(|v| !v.is_a_template && !v.is_control_domain)
            .count(),
        legacy_srs: naming_count(Naming::Legacy),
        new_srs: naming_count(Naming::New),
        hostnames: pool_hostnames(snap),
        capacity: capacity::pool_capacity(snap),
        ..Default::default()
    }
}

/// The hostnames of the pool's hosts, lower case, sorted, once each.
fn pool_hostnames(snap: &Snapshot) -> Vec<String> {
    let mut h: Vec<String> = snap
        .hosts
        .values()
        .map(|h| h.hostname.trim().to_ascii_lowercase())
        .filter(|h| !h.is_empty())
        .collect();
    h.sort();
    h.dedup();
    h
}

/// Who the findings of one instance belong to.
struct InstanceCtx<'a> {
    vm: &'a Vm,
    host: String,
    instance_uuid: String,
}

/// One Nova instance: its volume findings, then its own row, appended to `out`.
fn audit_instance(
    pool: &PoolIndex,
    vm_ref: &str,
    vm: &Vm,
    out: &mut PoolAudit,
    conflict_attachments: &mut FastMap<String, usize>,
) {
    let snap = pool.snap;
    let host = if vm.power_state.eq_ignore_ascii_case("halted") {
        String::new()
    } else {
        snap.hosts
            .get(&vm.resident_on)
            .map(|h| h.name_label.clone())
            .unwrap_or_default()
    };
    let instance_uuid = vm.other_config["nova_uuid"].clone();
    if let Some(h) = snap.hosts.get(&vm.resident_on).filter(|_| !host.is_empty()) {
        out.resident_hostnames.push((
            instance_uuid.trim().to_ascii_lowercase(),
            h.hostname.trim().to_ascii_lowercase(),
        ));
    }
    let who = InstanceCtx {
        vm,
        host,
        instance_uuid,
    };
    let mut rows = Vec::new();
    let mut shown_bdms: FastSet<usize> = FastSet::default();
    for vbd_ref in pool
        .vbds_by_vm
        .get(vm_ref)
        .map(Vec::as_slice)
        .unwrap_or(&[])
    {
        let vbd = &snap.vbds[*vbd_ref];
        if !is_volume_vbd(vbd.other_config.get("osvol").map(String::as_str)) {
            continue;
        }
        let (finding, check) = volume_finding(pool, &who, vbd);
        if finding.conflict {
            *conflict_attachments
                .entry(finding.sr_uuid.clone())
                .or_default() += 1;
        }
        shown_bdms.extend(check.bdm_index);
        rows.push(finding);
    }
    rows.sort_by(|a, b| {
        userdevice_key(&a.userdevice)
            .cmp(&userdevice_key(&b.userdevice))
            .then_with(|| a.vdi_uuid.cmp(&b.vdi_uuid))
    });
    let unpaired = pool
        .nova
        .other_bdms(&who.instance_uuid, &shown_bdms, &pool.pool_srs);
    out.instances
        .push(instance_row(pool, who, &rows, &unpaired));
    out.findings.extend(rows);
}

/// The SR of a volume attachment as the destination will see it: its identity and naming.
fn attachment_target(
    pool: &PoolIndex,
    vm: &Vm,
    sr_ref: &str,
    sr_uuid: &str,
    has_sr: bool,
) -> (SrTarget, Naming) {
    let pbds = pool.pbds_by_sr.get(sr_ref);
    let target = match (has_sr, pool.sr_info.get(sr_ref)) {
        // One PBD (Nova's case): the identity computed once per SR is the one.
        (true, Some((t, _))) if pbds.is_none_or(|p| p.len() <= 1) => t.clone(),
        // Several: prefer the PBD on the host the VM runs on.
        (true, _) => sr_target(pool.snap, pbds, &vm.resident_on),
        (false, _) => SrTarget::default(),
    };
    let naming = if has_sr {
        classify_sr(sr_uuid, target.expected.as_deref())
    } else {
        Naming::Other
    };
    (target, naming)
}

/// One volume attachment of an instance: its finding, and Nova's check of it.
fn volume_finding(pool: &PoolIndex, who: &InstanceCtx, vbd: &Vbd) -> (Finding, CheckResult) {
    let snap = pool.snap;
    let vm = who.vm;
    let vdi = snap.vdis.get(&vbd.vdi);
    let sr_ref = vdi.map(|v| v.sr.as_str()).unwrap_or_default();
    let sr = snap.srs.get(sr_ref);
    let (sr_uuid, sr_name) = sr
        .map(|s| (s.uuid.clone(), s.name_label.clone()))
        .unwrap_or_default();
    let (target, naming) = attachment_target(pool, vm, sr_ref, &sr_uuid, sr.is_some());
    let expected = target.expected.clone().unwrap_or_default();
    let boot = vbd.userdevice.trim() == "0";
    let conflict_with = sr.and_then(|_| pool.conflict_of(sr_ref));
    let volume_id = volume_id_of(&sr_uuid, &sr_name);
    let check = pool.nova.check(
        &who.instance_uuid,
        &DiskRef {
            userdevice: &vbd.userdevice,
            sr_uuid: &sr_uuid,
            volume_id: &volume_id,
            pool_srs: &pool.pool_srs,
        },
    );
    let verdict = check.verdict(naming_verdict(naming));
    let source = nova_check::SourceSr {
        uuid: &sr_uuid,
        naming,
        target: &target.target,
        port: &target.port,
        iqn: &target.iqn,
        boot,
        power_state: &vm.power_state,
    };
    let remediation = volume_remediation(&check, &source, &target, conflict_with.as_deref());
    let pool_uuid = &snap.pool.uuid;
    let finding = Finding {
        pool_uuid: pool_uuid.clone(),
        pool_name: snap.pool.name_label.clone(),
        host: who.host.clone(),
        instance_uuid: who.instance_uuid.clone(),
        instance_name: vm.name_label.clone(),
        power_state: vm.power_state.clone(),
        vm_uuid: vm.uuid.clone(),
        userdevice: vbd.userdevice.clone(),
        boot,
        vdi_uuid: vdi.map(|v| v.uuid.clone()).unwrap_or_default(),
        volume_id,
        remediation,
        project_id: pool.nova.project_of(&who.instance_uuid).to_string(),
        nova_device: check.device.clone(),
        nova_sr_uuid: check.sr_uuid.clone(),
        nova_check: check.kind.as_str().to_string(),
        finding_id: format!(
            "{pool_uuid}/{}/{}",
            who.instance_uuid,
            vbd.userdevice.trim()
        ),
        previous_sr_uuid: String::new(),
        conflict: conflict_with.is_some(),
        chap: target.chap,
        baseline: String::new(),
        waiver: String::new(),
        waiver_owner: String::new(),
        waiver_expires: String::new(),
        waiver_reason: String::new(),
        sr_uuid,
        sr_name,
        naming,
        expected_sr_uuid: expected,
        target: target.target,
        port: target.port,
        target_iqn: target.iqn,
        verdict,
    };
    (finding, check)
}

/// A volume's verdict from its SR's naming alone (before Nova's check).
fn naming_verdict(naming: Naming) -> Verdict {
    match naming {
        Naming::Legacy => Verdict::Blocked,
        Naming::New => Verdict::Ok,
        Naming::Other => Verdict::Review,
    }
}

/// What to do about one volume: the naming's advice, as Nova's check of its BDM amends it.
fn volume_remediation(
    check: &CheckResult,
    source: &nova_check::SourceSr,
    target: &SrTarget,
    conflict_with: Option<&str>,
) -> String {
    let naming_remediation = finding_remediation(
        source.naming,
        source.boot,
        conflict_with,
        target.expected.as_deref().unwrap_or_default(),
        target.expected.is_some(),
        source.power_state,
    );
    let remediation = check.remediation(naming_remediation, source);
    if check.kind == NovaCheck::Mismatch {
        remediation + &conflict_note(conflict_with)
    } else {
        remediation
    }
}

/// An instance's row: its volumes by naming, its verdict (the worst of its volumes and its
/// unpaired BDMs) and what to do about it.
fn instance_row(
    pool: &PoolIndex,
    who: InstanceCtx,
    rows: &[Finding],
    unpaired: &[OtherBdm],
) -> Instance {
    let vm = who.vm;
    let count = |n: Naming| rows.iter().filter(|f| f.naming == n).count();
    let verdict = rows
        .iter()
        .map(|f| f.verdict)
        .chain(unpaired.iter().map(|o| o.verdict))
        .max()
        .unwrap_or_default();
    let remediation = join_sentences(
        instance_remediation(verdict, rows, &vm.power_state),
        unpaired_bdms_note(unpaired),
    );
    let unpaired_worst = unpaired.iter().map(|o| o.verdict).max();
    Instance {
        pool_uuid: pool.snap.pool.uuid.clone(),
        pool_name: pool.snap.pool.name_label.clone(),
        host: who.host,
        instance_uuid: who.instance_uuid,
        instance_name: vm.name_label.clone(),
        power_state: vm.power_state.clone(),
        vm_uuid: vm.uuid.clone(),
        volumes: rows.len(),
        legacy: count(Naming::Legacy),
        new: count(Naming::New),
        other: count(Naming::Other),
        conflicts: rows.iter().filter(|f| f.conflict).count(),
        boot_from_volume: rows.iter().any(|f| f.boot),
        verdict,
        remediation,
        waived: false,
        unpaired_bdms: other_bdms_text(unpaired),
        status: Status::of(
            rows.iter()
                .map(|f| (f.verdict, true))
                .chain(unpaired_worst.map(|v| (v, true))),
        ),
        unpaired_verdict: unpaired_worst,
    }
}

/// What to do about an instance with `verdict`, from its volumes' findings (`rows`).
fn instance_remediation(verdict: Verdict, rows: &[Finding], power_state: &str) -> String {
    let blocked = rows
        .iter()
        .filter(|f| f.verdict == Verdict::Blocked)
        .count();
    let boot_blocked = rows.iter().any(|f| f.boot && f.verdict == Verdict::Blocked);
    let why = blocked_why(rows);
    match verdict {
        Verdict::Ok => String::new(),
        Verdict::Review if rows.iter().all(|f| f.verdict != Verdict::Review) => String::new(),
        Verdict::Review => "Check the SRs that follow neither convention before live-migrating.".to_string(),
        Verdict::Blocked if blocked == 0 => String::new(),
        Verdict::Blocked if boot_blocked => format!(
            "Cannot be live-migrated after the upgrade: its boot volume{} ({why}). Cold-migrate it once the destination's nova-compute runs Mitaka (Nova refuses to detach a boot volume). {}",
            if blocked > 1 { format!(" and {} more volume{}", blocked - 1, plural(blocked - 1)) } else { String::new() },
            failed_migration_note(power_state)
        ),
        Verdict::Blocked => format!(
            "Cannot be live-migrated after the upgrade: {blocked} volume{} ({why}). Once the nova-compute involved runs Mitaka, cold-migrate it or detach and re-attach those volumes. {}",
            plural(blocked),
            failed_migration_note(power_state)
        ),
    }
}

/// Legacy SRs none of whose VDIs any VBD uses, by SR uuid.
fn orphans(pool: &PoolIndex) -> Vec<Orphan> {
    let snap = pool.snap;
    let vdis_by_sr = snap.vdis_by_sr();
    let used_vdis: FastSet<&str> = snap.vbds.values().map(|v| v.vdi.as_str()).collect();
    let mut orphans = Vec::new();
    for (r, sr) in &snap.srs {
        let (t, naming) = &pool.sr_info[r.as_str()];
        if *naming != Naming::Legacy {
            continue;
        }
        let vdis = vdis_by_sr.get(r.as_str()).map(Vec::as_slice).unwrap_or(&[]);
        if vdis.iter().any(|v| used_vdis.contains(v)) {
            continue;
        }
        orphans.push(Orphan {
            pool_uuid: snap.pool.uuid.clone(),
            pool_name: snap.pool.name_label.clone(),
            sr_uuid: sr.uuid.clone(),
            sr_name: sr.name_label.clone(),
            volume_id: volume_id_of(&sr.uuid, &sr.name_label),
            vdis: vdis.len(),
            target: t.target.clone(),
            target_iqn: t.iqn.clone(),
            remediation: "No VM uses this legacy SR: confirm in Cinder that the volume is detached, then forget the SR (xe sr-forget; the LUN and its data stay on the array).".to_string(),
        });
    }
    orphans.sort_by(|a, b| a.sr_uuid.cmp(&b.sr_uuid));
    orphans
}

/// Legacy SRs that share their target and IQN with a new-style SR, by legacy SR uuid.
fn conflicts(pool: &PoolIndex, conflict_attachments: &FastMap<String, usize>) -> Vec<Conflict> {
    let snap = pool.snap;
    let mut conflicts = Vec::new();
    for (r, sr) in &snap.srs {
        if let Some(new_sr) = pool.conflict_of(r.as_str()) {
            let (t, _) = &pool.sr_info[r.as_str()];
            conflicts.push(Conflict {
                pool_uuid: snap.pool.uuid.clone(),
                pool_name: snap.pool.name_label.clone(),
                legacy_sr_uuid: sr.uuid.clone(),
                new_sr_uuid: new_sr,
                target: t.target.clone(),
                target_iqn: t.iqn.clone(),
                attachments: conflict_attachments.get(&sr.uuid).copied().unwrap_or(0),
                remediation: "Two SRs over one target and IQN: move this legacy SR's volumes to the new-style SR (detach and re-attach each volume) before any live migration.".to_string(),
            });
        }
    }
    conflicts.sort_by(|a, b| a.legacy_sr_uuid.cmp(&b.legacy_sr_uuid));
    conflicts
}
