//! The audit of one pool: applies Nova's rules ([`crate::classify`]) to a pool [`Snapshot`] and
//! turns it into findings (one per volume attachment of a Nova instance, boot volume first),
//! instance verdicts, orphaned legacy SRs and legacy/new-style conflicts. It reads records only;
//! what happens to the findings across runs (baseline, waivers, the exit code) is [`crate::policy`]'s.

pub mod capacity;
mod coverage;
mod nova_check;
mod pool;

pub use coverage::{coverage, Coverage, CoverageRow};
pub use nova_check::{other_bdms_text, DiskRef, NovaCheck, NovaView, OtherBdm};
pub use pool::audit_pool;

use crate::classify::{expected_from_device_config, Naming};
use crate::model::{FastMap, Snapshot};
use crate::text::plural;
use serde::{Deserialize, Serialize};

/// Ordered by severity: `Ok < Review < Blocked`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    #[default]
    Ok,
    Review,
    Blocked,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::Review => "review",
            Verdict::Blocked => "blocked",
        }
    }
}

/// An instance's *effective* verdict once waivers apply: the one state every count, every writer and
/// the exit code read. `Blocked` or `Review` when a finding that still counts (not waived) makes it so,
/// `Waived` when the instance has problems and every one of them is waived, `Ok` when it has none.
/// The four are disjoint: they add up to the number of instances.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    #[default]
    Ok,
    Waived,
    Review,
    Blocked,
}

impl Status {
    /// Every status, worst first: the fixed order of counts in every output.
    pub const ALL: [Status; 4] = [Status::Blocked, Status::Review, Status::Waived, Status::Ok];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Blocked => "blocked",
            Status::Review => "review",
            Status::Waived => "waived",
            Status::Ok => "ok",
        }
    }

    /// The status of an instance from the verdicts of its findings, each with whether it still
    /// counts (a live waiver takes a finding out).
    pub fn of(findings: impl IntoIterator<Item = (Verdict, bool)>) -> Status {
        let (mut counting, mut any_problem) = (Verdict::Ok, false);
        for (verdict, counts) in findings {
            any_problem |= verdict != Verdict::Ok;
            if counts {
                counting = counting.max(verdict);
            }
        }
        match counting {
            Verdict::Blocked => Status::Blocked,
            Verdict::Review => Status::Review,
            Verdict::Ok if any_problem => Status::Waived,
            Verdict::Ok => Status::Ok,
        }
    }
}

/// One volume attachment of a Nova instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub pool_uuid: String,
    pub pool_name: String,
    pub host: String,
    pub instance_uuid: String,
    pub instance_name: String,
    pub power_state: String,
    pub vm_uuid: String,
    pub userdevice: String,
    pub boot: bool,
    pub vdi_uuid: String,
    pub sr_uuid: String,
    pub sr_name: String,
    pub naming: Naming,
    pub expected_sr_uuid: String,
    pub target: String,
    pub port: String,
    pub target_iqn: String,
    pub volume_id: String,
    pub verdict: Verdict,
    pub remediation: String,
    /// Stable across runs and remediation: pool uuid / instance uuid / userdevice.
    pub finding_id: String,
    /// A new-style SR over the same target and IQN exists in the pool (the worse variant).
    pub conflict: bool,
    /// The SR's PBD carries CHAP credentials (the secret itself is never kept).
    pub chap: bool,
    /// Against `--baseline`: `new`, `unchanged`, `first-seen` or `resolved` (empty for an attachment
    /// that is fine and was fine; always empty without a baseline).
    #[serde(default)]
    pub baseline: String,
    /// `waived`, `expired` (a waiver matched but has expired), or empty.
    #[serde(default)]
    pub waiver: String,
    #[serde(default)]
    pub waiver_owner: String,
    #[serde(default)]
    pub waiver_expires: String,
    #[serde(default)]
    pub waiver_reason: String,
    /// The instance's project, from `--nova-servers` (empty when unknown).
    #[serde(default)]
    pub project_id: String,
    /// The `device_name` of Nova's BDM for this disk (empty when none matched).
    #[serde(default)]
    pub nova_device: String,
    /// The SR uuid the destination computes from that BDM's connection_info (`parse_sr_info`).
    #[serde(default)]
    pub nova_sr_uuid: String,
    /// `match`, `mismatch`, `unusable`, `not-in-map` or `no-bdm` against `--nova-bdms`; empty without it.
    #[serde(default)]
    pub nova_check: String,
    /// Against `--baseline`: the SR this attachment had then, when it differs (a remediated volume).
    #[serde(default)]
    pub previous_sr_uuid: String,
}

impl Finding {
    /// Whether this finding counts for the exit code (a live waiver takes it out).
    pub fn counts(&self) -> bool {
        self.waiver != "waived"
    }
}

/// One Nova instance (one VM carrying `nova_uuid`) and its verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Instance {
    pub pool_uuid: String,
    pub pool_name: String,
    pub host: String,
    pub instance_uuid: String,
    pub instance_name: String,
    pub power_state: String,
    pub vm_uuid: String,
    pub volumes: usize,
    pub legacy: usize,
    pub new: usize,
    pub other: usize,
    pub conflicts: usize,
    pub boot_from_volume: bool,
    pub verdict: Verdict,
    pub remediation: String,
    /// Every finding that makes the verdict worse than ok is waived.
    #[serde(default)]
    pub waived: bool,
    /// With `--nova-bdms`: the instance's BDMs that no finding shows (a device name Nova cannot
    /// number, a second BDM for one disk, ...), each `"device" -> uuid or reason: check`; they count
    /// for the verdict (`unusable` and `not-in-pool` block it, `no-connection-info` needs review).
    #[serde(default)]
    pub unpaired_bdms: String,
    /// The effective verdict (waivers applied): what every count and the exit code use. `verdict`
    /// stays what the volumes alone say.
    #[serde(default)]
    pub status: Status,
    /// The worst verdict of the unpaired BDMs (no finding carries them, so no waiver covers them).
    #[serde(skip)]
    pub unpaired_verdict: Option<Verdict>,
}

/// A legacy-named SR that no VM uses: a clean-up candidate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Orphan {
    pub pool_uuid: String,
    pub pool_name: String,
    pub sr_uuid: String,
    pub sr_name: String,
    pub volume_id: String,
    pub vdis: usize,
    pub target: String,
    pub target_iqn: String,
    pub remediation: String,
}

/// A legacy SR whose target and IQN also back a new-style SR in the same pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conflict {
    pub pool_uuid: String,
    pub pool_name: String,
    pub legacy_sr_uuid: String,
    pub new_sr_uuid: String,
    pub target: String,
    pub target_iqn: String,
    pub attachments: usize,
    pub remediation: String,
}

/// Everything the audit found in one pool.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolAudit {
    pub pool_uuid: String,
    pub pool_name: String,
    pub hosts: usize,
    pub vms: usize,
    pub legacy_srs: usize,
    pub new_srs: usize,
    pub findings: Vec<Finding>,
    pub instances: Vec<Instance>,
    pub orphans: Vec<Orphan>,
    pub conflicts: Vec<Conflict>,
    /// The hostnames of the pool's hosts (lower case): Nova's `node` for the instances it runs here.
    #[serde(default)]
    pub hostnames: Vec<String>,
    /// (instance uuid, hostname of the host it is resident on), lower case, for every running Nova
    /// instance: what coverage learns the nova-compute service host -> XAPI host map from.
    #[serde(skip)]
    pub resident_hostnames: Vec<(String, String)>,
    /// Memory and local-disk figures, for the runbook (`plan`).
    #[serde(default)]
    pub capacity: capacity::PoolCapacity,
}

/// Findings grouped by instance (pool uuid, VM uuid), in report order: one pass, so that per-instance
/// questions stay linear on large fleets.
pub fn findings_by_instance(findings: &[Finding]) -> FastMap<(&str, &str), Vec<&Finding>> {
    let mut m: FastMap<(&str, &str), Vec<&Finding>> = FastMap::default();
    for f in findings {
        m.entry((f.pool_uuid.as_str(), f.vm_uuid.as_str()))
            .or_default()
            .push(f);
    }
    m
}

/// The iSCSI identity of an SR, from the PBD that best represents it.
#[derive(Debug, Clone, Default)]
struct SrTarget {
    target: String,
    port: String,
    iqn: String,
    expected: Option<String>,
    chap: bool,
}

fn sr_target(snap: &Snapshot, pbds: Option<&Vec<&str>>, prefer_host: &str) -> SrTarget {
    let Some(pbds) = pbds else {
        return SrTarget::default();
    };
    // Prefer the PBD on the VM's host, then any PBD that names a target, then the first by ref.
    let rank = |p: &crate::model::Pbd| {
        (
            p.host == prefer_host,
            p.device_config.contains_key("targetIQN"),
        )
    };
    // Ties go to the smallest host ref, then the smallest PBD ref: the same PBD on every run.
    let pick = pbds
        .iter()
        .filter_map(|r| snap.pbds.get(*r).map(|p| (*r, p)))
        .max_by(|(ra, a), (rb, b)| {
            rank(a)
                .cmp(&rank(b))
                .then_with(|| b.host.cmp(&a.host))
                .then_with(|| rb.cmp(ra))
        })
        .map(|(_, p)| p);
    let Some(pbd) = pick else {
        return SrTarget::default();
    };
    let dc = &pbd.device_config;
    SrTarget {
        target: dc.get("target").cloned().unwrap_or_default(),
        port: dc.get("port").cloned().unwrap_or_default(),
        iqn: dc.get("targetIQN").cloned().unwrap_or_default(),
        expected: expected_from_device_config(dc),
        chap: pbd.chap,
    }
}

fn userdevice_key(u: &str) -> (u64, &str) {
    (u.parse::<u64>().unwrap_or(u64::MAX), u)
}

/// What to do about a volume whose SR the destination will not find, and when: the SR is
/// (re)introduced by whichever nova-compute connects the volume, so a fix made while that
/// nova-compute still runs pre-Mitaka code brings the legacy name back.
pub(crate) fn fix_advice(boot: bool, uuid: &str) -> String {
    let becomes = if uuid.is_empty() {
        String::new()
    } else {
        format!(" so that Nova introduces the SR as {uuid}")
    };
    if boot {
        format!("Boot volume: Nova refuses to detach it, so cold-migrate the instance once the destination's nova-compute runs Mitaka{becomes}; done earlier, the SR comes back under the legacy name.")
    } else {
        format!("Once this host's nova-compute runs Mitaka, detach and re-attach this volume (an outage of this volume), or cold-migrate the instance once the destination's nova-compute runs Mitaka{becomes}; done earlier, the SR comes back under the legacy name.")
    }
}

/// What to do about a volume whose SR uuid Cinder provides (`sr_uuid` in its connection data):
/// every Nova release introduces the SR under that uuid as given, so a reconnect made by any
/// nova-compute fixes it and nothing brings a legacy name back.
pub(crate) fn fix_advice_provided(boot: bool, uuid: &str) -> String {
    if boot {
        format!("Boot volume: Nova refuses to detach it, so cold-migrate the instance: the destination reconnects the volume and introduces its SR as {uuid}, Cinder's sr_uuid, which every Nova release uses as given (no need to wait for Mitaka).")
    } else {
        format!("Detach and re-attach this volume (an outage of this volume), or cold-migrate the instance: the reconnect introduces its SR as {uuid}, Cinder's sr_uuid, which every Nova release uses as given (no need to wait for Mitaka).")
    }
}

/// What happens to a live migration that is tried anyway.
pub(crate) const FAILS_HARMLESSLY: &str =
    "A live migration tried before that fails with UUID_INVALID on the source and leaves the instance running where it is.";

/// What a halted instance is told instead: it is not live-migrated at all while halted.
pub(crate) const HALTED_NOTE: &str =
    "The instance is halted: it cannot be live-migrated until it is started, so fix it before it is started and moved (a cold migration leaves a stopped instance stopped).";

/// The note on a failed live migration, for an instance in `power_state`.
pub(crate) fn failed_migration_note(power_state: &str) -> &'static str {
    if power_state.eq_ignore_ascii_case("halted") {
        HALTED_NOTE
    } else {
        FAILS_HARMLESSLY
    }
}

fn conflict_note(conflict_with: Option<&str>) -> String {
    conflict_with.map(|other| format!(
        " Conflict: new-style SR {other} already serves this target and IQN, so XAPI may try to copy the disk or refuse with VDI_NOT_IN_MAP; consolidate before migrating."
    )).unwrap_or_default()
}

fn finding_remediation(
    naming: Naming,
    boot: bool,
    conflict_with: Option<&str>,
    expected: &str,
    has_target: bool,
    power_state: &str,
) -> String {
    match naming {
        Naming::New => String::new(),
        Naming::Legacy => format!(
            "Legacy SR name: live migration after the upgrade fails with UUID_INVALID. {} {}{}",
            fix_advice(boot, expected),
            failed_migration_note(power_state),
            conflict_note(conflict_with)
        ),
        Naming::Other if !has_target => "SR has no iSCSI target/targetIQN in its PBD: not a volume SR as Nova introduces it; check how this volume was attached before live-migrating.".to_string(),
        Naming::Other => "SR follows neither convention (Cinder connection data with its own sr_uuid, or an SR created outside Nova): check that the destination will use the same SR uuid before live-migrating (--nova-bdms answers this).".to_string(),
    }
}

/// Why an instance's blocked volumes block it: each kind of check that blocked one, in the words
/// of that check, `; ` between them.
fn blocked_why(rows: &[Finding]) -> String {
    let mut whys: Vec<&str> = Vec::new();
    for f in rows.iter().filter(|f| f.verdict == Verdict::Blocked) {
        let why = match f.nova_check.as_str() {
            "unusable" => "Nova's code raises on the connection data of a volume's BDM",
            "not-in-map" => "no BDM yields a volume's SR, so its VDI is missing from the VDI map",
            "no-bdm" => {
                "the --nova-bdms export has no BDM for the instance, so no volume is in the VDI map"
            }
            "mismatch" => "the destination will look for another SR uuid than the source has",
            _ => "on legacy-named SRs",
        };
        if !whys.contains(&why) {
            whys.push(why);
        }
    }
    if whys.is_empty() {
        "on legacy-named SRs".to_string()
    } else {
        whys.join("; ")
    }
}

/// What the instance's unpaired BDMs mean for a live migration, empty when they are all fine. It
/// never advises deleting a BDM: one that is no disk's own may still stand for an attached volume.
fn unpaired_bdms_note(unpaired: &[OtherBdm]) -> String {
    let n = unpaired
        .iter()
        .filter(|o| o.verdict == Verdict::Blocked)
        .count();
    if n == 0 {
        return String::new();
    }
    format!("Live migration fails: pre_live_migration connects every BDM, and {n} BDM{} of this instance that is no attached disk's own (by volume_id or Nova's device numbering) cannot be connected or names an SR this pool does not have (unpaired_bdms), so Nova raises or the source's SR.get_by_uuid fails with UUID_INVALID. Check each one's volume in Cinder: if it is still attached to this instance, detach and re-attach it through Nova so that Nova rewrites its BDM; never delete the BDM row of an attached volume by hand.", plural(n))
}

/// Two remediation texts as one, either possibly empty.
fn join_sentences(a: String, b: String) -> String {
    match (a.is_empty(), b.is_empty()) {
        (_, true) => a,
        (true, false) => b,
        (false, false) => format!("{a} {b}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::nova_sr_uuid;
    use crate::model::{Host, Pbd, Pool, Sr, Vbd, Vdi, Vm};
    use std::collections::BTreeMap;

    /// A small pool builder for table-driven audit tests.
    #[derive(Default)]
    struct PoolFixture {
        snap: Snapshot,
        n: usize,
    }

    impl PoolFixture {
        fn new() -> Self {
            let mut f = PoolFixture::default();
            f.snap.pool = Pool {
                reference: "OpaqueRef:pool".into(),
                uuid: "pool-1".into(),
                name_label: "p1".into(),
                master: "OpaqueRef:h1".into(),
            };
            f.snap.hosts.insert(
                "OpaqueRef:h1".into(),
                Host {
                    uuid: "h1".into(),
                    name_label: "xs01".into(),
                    address: "10.1.1.1".into(),
                    hostname: "xs01".into(),
                    ..Default::default()
                },
            );
            f
        }
        fn next(&mut self, kind: &str) -> String {
            self.n += 1;
            format!("OpaqueRef:{kind}{}", self.n)
        }
        fn iscsi_sr(&mut self, uuid: &str, target: &str, port: Option<&str>, iqn: &str) -> String {
            let sr = self.next("sr");
            self.snap.srs.insert(
                sr.clone(),
                Sr {
                    uuid: uuid.into(),
                    name_label: format!("tempSR-{uuid}"),
                    kind: "iscsi".into(),
                    ..Default::default()
                },
            );
            let mut dc: BTreeMap<String, String> = [("target", target), ("targetIQN", iqn)]
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            if let Some(p) = port {
                dc.insert("port".into(), p.into());
            }
            let pbd = self.next("pbd");
            self.snap.pbds.insert(
                pbd,
                Pbd {
                    host: "OpaqueRef:h1".into(),
                    sr: sr.clone(),
                    device_config: dc,
                    ..Default::default()
                },
            );
            sr
        }
        fn vm(&mut self, nova_uuid: Option<&str>, name: &str) -> String {
            let vm = self.next("vm");
            let mut oc = BTreeMap::new();
            if let Some(u) = nova_uuid {
                oc.insert("nova_uuid".to_string(), u.to_string());
            }
            self.snap.vms.insert(
                vm.clone(),
                Vm {
                    uuid: format!("uuid-{vm}"),
                    name_label: name.into(),
                    power_state: "Running".into(),
                    resident_on: "OpaqueRef:h1".into(),
                    other_config: oc,
                    ..Default::default()
                },
            );
            vm
        }
        fn attach(&mut self, vm: &str, sr: &str, userdevice: &str, osvol: Option<&str>) {
            let vdi = self.next("vdi");
            self.snap.vdis.insert(
                vdi.clone(),
                Vdi {
                    uuid: format!("uuid-{vdi}"),
                    sr: sr.into(),
                    ..Default::default()
                },
            );
            let mut oc = BTreeMap::new();
            if let Some(o) = osvol {
                oc.insert("osvol".to_string(), o.to_string());
            }
            let vbd = self.next("vbd");
            self.snap.vbds.insert(
                vbd,
                Vbd {
                    vm: vm.into(),
                    vdi,
                    userdevice: userdevice.into(),
                    other_config: oc,
                    ..Default::default()
                },
            );
        }
    }

    #[test]
    fn mixed_instance_is_blocked_and_boot_volume_first() {
        let mut f = PoolFixture::new();
        let iqn = "iqn.2010-10.org.openstack:volume-00000001";
        let legacy = f.iscsi_sr(
            "FA15E-D15C-0a1b2c3d-0000-4000-8000-000000000001",
            "10.0.0.1",
            Some("3260"),
            "iqn.legacy",
        );
        let new = f.iscsi_sr(
            "9ade368b-674f-59c2-b177-48cc5c7b2ac7",
            "10.0.0.1",
            Some("3260"),
            iqn,
        );
        let vm = f.vm(Some("inst-1"), "instance-00000001");
        f.attach(&vm, &new, "1", Some("True"));
        f.attach(&vm, &legacy, "0", Some("True"));
        f.attach(&vm, &new, "2", None); // image-backed style disk: not a volume
        let audit = audit_pool(&f.snap, &NovaView::default());
        assert_eq!(audit.findings.len(), 2);
        assert_eq!(audit.findings[0].userdevice, "0");
        assert!(audit.findings[0].boot);
        assert_eq!(audit.findings[0].naming, Naming::Legacy);
        assert_eq!(
            audit.findings[0].volume_id,
            "0a1b2c3d-0000-4000-8000-000000000001"
        );
        assert_eq!(
            audit.findings[0].expected_sr_uuid,
            nova_sr_uuid("10.0.0.1", "3260", "iqn.legacy")
        );
        assert_eq!(audit.findings[1].naming, Naming::New);
        assert_eq!(audit.instances[0].verdict, Verdict::Blocked);
        assert!(audit.instances[0].remediation.contains("boot volume"));
        assert!(audit.conflicts.is_empty(), "different IQNs are no conflict");
    }

    #[test]
    fn shared_new_style_sr_with_several_luns_is_ok() {
        let mut f = PoolFixture::new();
        let iqn = "iqn.2010-10.org.openstack:volume-00000001";
        let new = f.iscsi_sr(
            "9ade368b-674f-59c2-b177-48cc5c7b2ac7",
            "10.0.0.1",
            None,
            iqn,
        );
        for i in 0..3 {
            let vm = f.vm(Some(&format!("inst-{i}")), &format!("instance-{i:08x}"));
            f.attach(&vm, &new, "1", Some("true"));
        }
        let audit = audit_pool(&f.snap, &NovaView::default());
        assert_eq!(audit.findings.len(), 3);
        assert!(audit
            .findings
            .iter()
            .all(|x| x.naming == Naming::New && x.verdict == Verdict::Ok));
        assert!(audit.instances.iter().all(|i| i.verdict == Verdict::Ok));
        assert_eq!(audit.new_srs, 1);
    }

    #[test]
    fn non_nova_vms_never_make_findings_and_keep_srs_from_being_orphans() {
        let mut f = PoolFixture::new();
        let legacy = f.iscsi_sr(
            "FA15E-D15C-0a1b2c3d-0000-4000-8000-000000000002",
            "10.0.0.2",
            None,
            "iqn.x",
        );
        let orphan = f.iscsi_sr(
            "FA15E-D15C-0a1b2c3d-0000-4000-8000-000000000003",
            "10.0.0.3",
            None,
            "iqn.y",
        );
        let vm = f.vm(None, "plain-vm");
        f.attach(&vm, &legacy, "1", Some("True"));
        let tmpl = f.vm(Some("tmpl"), "template");
        f.snap.vms.get_mut(&tmpl).unwrap().is_a_template = true;
        f.attach(&tmpl, &legacy, "1", Some("True"));
        let _ = orphan;
        let audit = audit_pool(&f.snap, &NovaView::default());
        assert!(audit.findings.is_empty());
        assert!(audit.instances.is_empty());
        assert_eq!(audit.orphans.len(), 1);
        assert_eq!(
            audit.orphans[0].volume_id,
            "0a1b2c3d-0000-4000-8000-000000000003"
        );
    }

    #[test]
    fn conflict_when_legacy_and_new_share_target_and_iqn() {
        let mut f = PoolFixture::new();
        let iqn = "iqn.2010-10.org.openstack:volume-00000001";
        let legacy = f.iscsi_sr(
            "FA15E-D15C-0a1b2c3d-0000-4000-8000-000000000004",
            "10.0.0.1",
            Some("3260"),
            iqn,
        );
        let _new = f.iscsi_sr(
            "9ade368b-674f-59c2-b177-48cc5c7b2ac7",
            "10.0.0.1",
            Some("3260"),
            iqn,
        );
        let vm = f.vm(Some("inst-c"), "instance-c");
        f.attach(&vm, &legacy, "1", Some("True"));
        let audit = audit_pool(&f.snap, &NovaView::default());
        assert!(audit.findings[0].conflict);
        assert!(audit.findings[0].remediation.contains("VDI_NOT_IN_MAP"));
        assert_eq!(audit.conflicts.len(), 1);
        assert_eq!(
            audit.conflicts[0].new_sr_uuid,
            "9ade368b-674f-59c2-b177-48cc5c7b2ac7"
        );
        assert_eq!(audit.conflicts[0].attachments, 1);
    }

    #[test]
    fn other_sr_and_halted_instance() {
        let mut f = PoolFixture::new();
        let other = f.iscsi_sr(
            "11111111-2222-3333-4444-555555555555",
            "10.0.0.9",
            Some("3260"),
            "iqn.z",
        );
        let vm = f.vm(Some("inst-o"), "instance-o");
        f.snap.vms.get_mut(&vm).unwrap().power_state = "Halted".into();
        f.attach(&vm, &other, "0", Some("True"));
        let audit = audit_pool(&f.snap, &NovaView::default());
        assert_eq!(audit.findings[0].naming, Naming::Other);
        assert_eq!(audit.findings[0].verdict, Verdict::Review);
        assert_eq!(audit.findings[0].host, "");
        assert_eq!(audit.instances[0].verdict, Verdict::Review);
    }

    /// Issue 18: a halted instance with a legacy volume is not told a failed live migration
    /// "leaves it running"; a running one still is.
    #[test]
    fn regression_halted_instance_is_not_told_it_keeps_running() {
        let mut f = PoolFixture::new();
        let legacy = f.iscsi_sr("FA15E-D15C-vol-1", "10.0.0.9", Some("3260"), "iqn.z");
        let halted = f.vm(Some("inst-h"), "instance-h");
        f.snap.vms.get_mut(&halted).unwrap().power_state = "Halted".into();
        f.attach(&halted, &legacy, "1", Some("True"));
        let audit = audit_pool(&f.snap, &NovaView::default());
        let texts = [
            audit.findings[0].remediation.as_str(),
            audit.instances[0].remediation.as_str(),
        ];
        for text in texts {
            assert!(!text.contains("leaves the instance running"), "{text}");
            assert!(text.contains("is halted"), "{text}");
        }
        assert_eq!(audit.instances[0].status, Status::Blocked);
    }

    #[test]
    fn status_of_table() {
        use Verdict::{Blocked, Ok, Review};
        for (findings, want) in [
            (vec![], Status::Ok),
            (vec![(Ok, true)], Status::Ok),
            (vec![(Blocked, true), (Review, true)], Status::Blocked),
            // Blocking findings waived, a volume still to review: review, not blocked, not waived.
            (vec![(Blocked, false), (Review, true)], Status::Review),
            (
                vec![(Blocked, false), (Review, false), (Ok, true)],
                Status::Waived,
            ),
            (vec![(Review, false)], Status::Waived),
        ] {
            assert_eq!(Status::of(findings.clone()), want, "{findings:?}");
        }
    }
}
