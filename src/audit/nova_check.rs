//! Nova's check of one instance's volumes, as `pre_live_migration` runs it: the destination connects
//! *every* volume BDM of the instance (`parse_sr_info` over its connection_info, failing where Nova's
//! code raises) and the source looks up *every* resulting uuid with `SR.get_by_uuid` (exact), then
//! maps the VDIs of exactly those SRs. With Nova's BDMs the audit predicts this per disk: `match`
//! (some BDM of the instance yields the disk's SR uuid exactly), `mismatch` (the disk's own BDM
//! yields another uuid), `unusable` (Nova raises on the disk's own BDM), `not-in-map` (no BDM is the
//! disk's and none yields its SR: its VDI is missing from the VDI map) and `no-bdm` (no BDM row, or a
//! NULL connection_info: the name-based verdict stands). BDMs that no disk's finding shows (a device
//! name Nova cannot translate, a second BDM for one disk, ...) are checked too, in
//! [`NovaView::other_bdms`]: each must be usable and name an SR of the source pool.

use super::{failed_migration_note, fix_advice, fix_advice_provided, Verdict};
use crate::classify::{
    mountpoint_to_number, parse_sr_info, Naming, NovaSrInfo, NovaSrSource, NovaTargetConf,
};
use crate::model::{FastMap, FastSet, NovaBdm, NovaServer, StoredConnection};

/// The outcome of Nova's check for one finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NovaCheck {
    /// No BDM file was given.
    NotChecked,
    Match,
    Mismatch,
    NoBdm,
    /// Nova raises on the disk's BDM before any lookup: the destination cannot connect the volume.
    Unusable,
    /// The instance has usable BDMs, none of them this disk's and none yielding its SR.
    NotInMap,
}

impl NovaCheck {
    pub fn as_str(self) -> &'static str {
        match self {
            NovaCheck::NotChecked => "",
            NovaCheck::Match => "match",
            NovaCheck::Mismatch => "mismatch",
            NovaCheck::NoBdm => "no-bdm",
            NovaCheck::Unusable => "unusable",
            NovaCheck::NotInMap => "not-in-map",
        }
    }
}

/// One BDM as the check needs it: its device name and volume id, the disk number Nova makes of
/// the name, and what the destination computes from it.
#[derive(Debug, Clone)]
struct BdmEval {
    device: String,
    volume_id: String,
    number: Option<u64>,
    /// The SR the destination computes, or what Nova raises instead (NULL and empty
    /// connection_info included: Nova does not refresh those from Cinder).
    computed: Result<NovaSrInfo, String>,
}

impl BdmEval {
    fn uuid(&self) -> Option<&str> {
        self.computed.as_ref().ok().map(|info| info.uuid.as_str())
    }
}

/// Nova's view of the fleet, indexed once per run and shared by every pool's audit.
#[derive(Debug, Clone, Default)]
pub struct NovaView {
    /// Every BDM by instance uuid (lower case), in the order read. `None` when no BDM file was given.
    bdms: Option<FastMap<String, Vec<BdmEval>>>,
    projects: FastMap<String, String>,
}

/// The check of one finding.
#[derive(Debug, Clone)]
pub struct CheckResult {
    pub kind: NovaCheck,
    pub device: String,
    pub sr_uuid: String,
    /// Which of the instance's BDMs this finding shows (its index in the order read).
    pub bdm_index: Option<usize>,
    computed: Option<Result<NovaSrInfo, String>>,
}

/// A BDM of an instance that is no disk's own, with its own check and verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtherBdm {
    pub device: String,
    /// `ok` (its SR is in the pool), `unusable`, or `not-in-pool`.
    pub check: &'static str,
    pub verdict: Verdict,
    /// The uuid it yields, or why Nova cannot use it.
    pub detail: String,
}

/// What the source has for the volume: its SR and that SR's iSCSI identity.
pub(crate) struct SourceSr<'a> {
    pub uuid: &'a str,
    pub naming: Naming,
    pub target: &'a str,
    pub port: &'a str,
    pub iqn: &'a str,
    pub boot: bool,
    pub power_state: &'a str,
}

/// The disk a check is for: its userdevice, its SR on the source, the Cinder volume id its SR
/// reveals (legacy name or `tempSR-` label; empty when none) and the SR uuids of its pool.
pub struct DiskRef<'a> {
    pub userdevice: &'a str,
    pub sr_uuid: &'a str,
    pub volume_id: &'a str,
    pub pool_srs: &'a FastSet<&'a str>,
}

impl NovaView {
    /// Index the BDMs by instance (each with the disk number Nova's `_mountpoint_to_number` makes of
    /// its device name) and compute each one's SR uuid with the destinations' options.
    pub fn new(
        servers: Option<&[NovaServer]>,
        bdms: Option<&[NovaBdm]>,
        conf: &NovaTargetConf,
    ) -> NovaView {
        let projects = servers
            .into_iter()
            .flatten()
            .filter(|s| !s.project_id.is_empty())
            .map(|s| (s.uuid.clone(), s.project_id.clone()))
            .collect();
        let bdms = bdms.map(|bdms| {
            let mut m: FastMap<String, Vec<BdmEval>> = FastMap::default();
            for b in bdms {
                m.entry(b.instance_uuid.to_ascii_lowercase())
                    .or_default()
                    .push(BdmEval {
                        device: b.device_name.clone(),
                        volume_id: b.volume_id.trim().to_string(),
                        number: mountpoint_to_number(&b.device_name),
                        computed: connect_volume(&b.connection, conf),
                    });
            }
            m
        });
        NovaView { bdms, projects }
    }

    /// The project of an instance, empty when unknown.
    pub fn project_of(&self, instance_uuid: &str) -> &str {
        self.projects
            .get(&instance_uuid.to_ascii_lowercase())
            .map(String::as_str)
            .unwrap_or_default()
    }

    /// Check one disk of an instance as `pre_live_migration` will. The disk's own BDM is the first
    /// whose `volume_id` is the volume the disk's SR names, else the first whose device name Nova
    /// numbers as the userdevice. `match`: its own BDM yields the disk's SR (or, with no own BDM or
    /// one yielding another SR of the pool, some BDM does); `unusable`: Nova raises on its own BDM;
    /// `mismatch`: its own BDM yields a uuid the source cannot find or no BDM yields the disk's SR;
    /// `not-in-map`: no own BDM and none yields its SR; `no-bdm`: the instance has no BDM at all.
    pub fn check(&self, instance_uuid: &str, disk: &DiskRef) -> CheckResult {
        let mut r = CheckResult {
            kind: NovaCheck::NotChecked,
            device: String::new(),
            sr_uuid: String::new(),
            bdm_index: None,
            computed: None,
        };
        let Some(all) = &self.bdms else {
            return r;
        };
        let list = all
            .get(&instance_uuid.to_ascii_lowercase())
            .map(Vec::as_slice)
            .unwrap_or_default();
        let own = own_bdm(list, disk);
        let producer = (0..list.len()).find(|i| list[*i].uuid() == Some(disk.sr_uuid));
        let (kind, shown) = match own.map(|i| (i, &list[i].computed)) {
            _ if list.is_empty() => (NovaCheck::NoBdm, None),
            Some((i, Err(_))) => (NovaCheck::Unusable, Some(i)),
            Some((i, Ok(info))) if info.uuid == disk.sr_uuid => (NovaCheck::Match, Some(i)),
            Some((i, Ok(info)))
                if producer.is_some() && disk.pool_srs.contains(info.uuid.as_str()) =>
            {
                (NovaCheck::Match, Some(i))
            }
            Some((i, Ok(_))) => (NovaCheck::Mismatch, Some(i)),
            None if producer.is_some() => (NovaCheck::Match, producer),
            None => (NovaCheck::NotInMap, None),
        };
        r.kind = kind;
        if let Some(i) = shown {
            let b = &list[i];
            r.bdm_index = Some(i);
            r.device = b.device.clone();
            r.computed = Some(b.computed.clone());
            r.sr_uuid = b.uuid().unwrap_or_default().to_string();
        }
        r
    }

    /// The instance's BDMs that none of `shown` (the findings' `bdm_index`) is, each checked as the
    /// source will: usable, and naming an SR uuid (exactly) of the pool, `pool_srs`.
    pub fn other_bdms(
        &self,
        instance_uuid: &str,
        shown: &FastSet<usize>,
        pool_srs: &FastSet<&str>,
    ) -> Vec<OtherBdm> {
        let Some(all) = &self.bdms else {
            return Vec::new();
        };
        let list = all
            .get(&instance_uuid.to_ascii_lowercase())
            .map(Vec::as_slice)
            .unwrap_or_default();
        list.iter()
            .enumerate()
            .filter(|(i, _)| !shown.contains(i))
            .map(|(_, b)| other_bdm_check(b, pool_srs))
            .collect()
    }
}

/// The disk's own BDM: by `volume_id` first (the volume the disk's SR names), else by Nova's
/// device numbering.
fn own_bdm(list: &[BdmEval], disk: &DiskRef) -> Option<usize> {
    let by_volume = (!disk.volume_id.is_empty())
        .then(|| {
            list.iter()
                .position(|b| b.volume_id.eq_ignore_ascii_case(disk.volume_id))
        })
        .flatten();
    let number = disk.userdevice.trim().parse::<u64>().ok();
    by_volume.or_else(|| number.and_then(|n| list.iter().position(|b| b.number == Some(n))))
}

/// `volumeops.connect_volume` on the stored connection_info, up to the SR uuid.
fn connect_volume(stored: &StoredConnection, conf: &NovaTargetConf) -> Result<NovaSrInfo, String> {
    match stored {
        StoredConnection::Null => Err("its connection_info is NULL, which Nova does not refresh from Cinder: connect_volume(None) raises TypeError in _check_is_supported_driver_type".into()),
        StoredConnection::Unreadable(why) => Err(why.clone()),
        StoredConnection::Object(c) => parse_sr_info(c, conf),
    }
}

/// The check of one BDM that no finding shows.
fn other_bdm_check(b: &BdmEval, pool_srs: &FastSet<&str>) -> OtherBdm {
    let (check, verdict, detail) = match &b.computed {
        Err(why) => ("unusable", Verdict::Blocked, why.clone()),
        Ok(info) if pool_srs.contains(info.uuid.as_str()) => ("ok", Verdict::Ok, info.uuid.clone()),
        Ok(info) => ("not-in-pool", Verdict::Blocked, info.uuid.clone()),
    };
    OtherBdm {
        device: b.device.clone(),
        check,
        verdict,
        detail,
    }
}

/// The `other_bdms` column: `device -> detail: check` for each, `; ` between them.
pub fn other_bdms_text(others: &[OtherBdm]) -> String {
    others
        .iter()
        .map(|o| {
            let detail = if o.detail.is_empty() {
                String::new()
            } else {
                format!(" -> {}", o.detail)
            };
            format!("{:?}{detail}: {}", o.device, o.check)
        })
        .collect::<Vec<_>>()
        .join("; ")
}

impl CheckResult {
    /// The verdict: Nova's answer where it has one, else the one from the SR's name.
    pub fn verdict(&self, by_naming: Verdict) -> Verdict {
        match self.kind {
            NovaCheck::Match => Verdict::Ok,
            NovaCheck::Mismatch | NovaCheck::Unusable | NovaCheck::NotInMap | NovaCheck::NoBdm => {
                Verdict::Blocked
            }
            NovaCheck::NotChecked => by_naming,
        }
    }

    /// The remediation: for a mismatch, which uuid the destination will look for and why; for a
    /// BDM Nova cannot use, what Nova fails on; for a disk outside the VDI map, why.
    pub(crate) fn remediation(&self, by_naming: String, source: &SourceSr) -> String {
        match (self.kind, &self.computed) {
            (NovaCheck::Mismatch, Some(Ok(info))) => format!(
                "Live migration fails: the destination will look for SR {} ({}), but this volume's SR is {}. {} {}",
                info.uuid,
                mismatch_reason(info, source),
                source.uuid,
                match info.source {
                    NovaSrSource::Provided => fix_advice_provided(source.boot, &info.uuid),
                    NovaSrSource::Computed { .. } => fix_advice(source.boot, &info.uuid),
                },
                failed_migration_note(source.power_state)
            ),
            (NovaCheck::Match, _) => String::new(),
            (NovaCheck::Unusable, Some(Err(why))) => format!(
                "Live migration fails: the destination cannot connect this volume, because Nova's code raises on its BDM {:?}: {why}. Detach and re-attach the volume through Nova so that Nova stores fresh connection data (a boot volume: fix the BDM's connection data through Cinder/Nova, Nova refuses to detach it), or fix what the Cinder driver returns, before live-migrating. A live migration tried before that fails in pre_live_migration on the destination and leaves the instance where it is.",
                self.device
            ),
            (NovaCheck::NotInMap, _) => format!(
                "Live migration fails: no BDM of this instance is this disk's (by volume_id or Nova's device numbering) and none yields SR {}, so the source leaves its VDI out of the VDI map and XAPI tries to copy it or refuses with VDI_NOT_IN_MAP. Nova has no usable BDM for this volume: check that the --nova-bdms export covers this instance's cell; if it does, the volume was attached outside Nova, and Nova cannot live-migrate it until it is attached through Nova.",
                source.uuid
            ),
            (NovaCheck::NoBdm, _) => "Live migration fails if the --nova-bdms export is complete: Nova has no BDM for this instance, so pre_live_migration connects no volume, migrate_data.sr_uuid_map is empty and this disk's VDI is missing from the VDI map (XAPI copies it or refuses with VDI_NOT_IN_MAP). Check first that the export covers every cell database; if it does, the volume was attached outside Nova.".to_string(),
            _ => by_naming,
        }
    }
}

/// Why the destination's uuid differs from the source's SR.
fn mismatch_reason(info: &NovaSrInfo, source: &SourceSr) -> String {
    match &info.source {
        NovaSrSource::Provided => {
            "Cinder's connection data provides sr_uuid, which Nova uses as given".to_string()
        }
        NovaSrSource::Computed {
            target,
            port,
            iqn,
            port_from_conf,
            target_from_conf,
            iqn_not_text,
        } => {
            if *iqn_not_text && iqn != source.iqn {
                format!("Nova's connection data holds the IQN as a JSON number or boolean, which Nova prints as {iqn}; the SR was introduced for IQN {}", source.iqn)
            } else if source.naming == Naming::Legacy {
                format!("computed from {target}/{port}/{iqn}; the SR still has its legacy name from before Mitaka")
            } else if source.target.is_empty() && source.iqn.is_empty() {
                format!("computed from {target}/{port}/{iqn}; the SR's PBD names no iSCSI target")
            } else if *target_from_conf && target != source.target {
                format!("the portal names no host, so the destination uses its target_host {target}; the SR was introduced for {}", source.target)
            } else if target != source.target || iqn != source.iqn {
                format!(
                    "the portal moved: Nova's connection data now has {target}:{port} {iqn}, the SR was introduced for {}:{} {}",
                    source.target, source.port, source.iqn
                )
            } else if *port_from_conf && port != source.port {
                format!(
                    "the portal has no port, so the destination uses its target_port {port}; the SR was introduced with port {} (or set [xenserver] target_port = {} on the destinations)",
                    source.port, source.port
                )
            } else if port != source.port {
                format!("the port changed: Nova's connection data has {port}, the SR was introduced with port {}", source.port)
            } else {
                format!(
                    "computed from {target}/{port}/{iqn}; the SR was introduced under another uuid"
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{NovaConnection, NovaValue};

    fn bdm(instance: &str, device: &str, data: Option<&[(&str, &str)]>) -> NovaBdm {
        NovaBdm {
            instance_uuid: instance.into(),
            device_name: device.into(),
            connection: match data {
                Some(d) => StoredConnection::Object(NovaConnection {
                    driver_volume_type: Some("iscsi".into()),
                    data: Some(
                        d.iter()
                            .map(|(k, v)| (k.to_string(), NovaValue::Text(v.to_string())))
                            .collect(),
                    ),
                }),
                None => StoredConnection::Null,
            },
            ..Default::default()
        }
    }

    fn set_driver(b: &mut NovaBdm, driver: &str) {
        if let StoredConnection::Object(c) = &mut b.connection {
            c.driver_volume_type = Some(driver.into());
        }
    }

    fn disk<'a>(
        userdevice: &'a str,
        sr_uuid: &'a str,
        volume_id: &'a str,
        pool_srs: &'a FastSet<&'a str>,
    ) -> DiskRef<'a> {
        DiskRef {
            userdevice,
            sr_uuid,
            volume_id,
            pool_srs,
        }
    }

    #[test]
    fn check_table() {
        let iqn = "iqn.2010-10.org.openstack:volume-00000001";
        let check_value = "9ade368b-674f-59c2-b177-48cc5c7b2ac7";
        let data = |portal: &str| -> Vec<(&str, String)> {
            vec![
                ("volume_id", "v".to_string()),
                ("target_portal", portal.to_string()),
                ("target_iqn", iqn.to_string()),
            ]
        };
        let owned = [
            data("10.0.0.1:3260"),
            data("10.0.0.2:3260"),
            vec![("sr_uuid", "given".to_string())],
        ];
        fn as_ref<'a>(d: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
            d.iter().map(|(k, v)| (*k, v.as_str())).collect()
        }
        let (a, b, c) = (as_ref(&owned[0]), as_ref(&owned[1]), as_ref(&owned[2]));
        let mut rbd = bdm("i-1", "/dev/xvdf", Some(&c));
        set_driver(&mut rbd, "rbd");
        let mut by_volume = bdm("i-4", "/dev/nvme0n1", Some(&a));
        by_volume.volume_id = "VOL-4".into();
        let mut chap = a.clone();
        chap.push(("auth_method", "CHAP"));
        let bdms = vec![
            bdm("I-1", "/dev/xvdb", Some(&a)),
            bdm("i-1", "/dev/sdc", Some(&b)),
            bdm("i-1", "3", Some(&c)),
            bdm("i-1", "/dev/xvde", None),
            bdm("i-1", "/dev/nvme0n1", Some(&a)),
            rbd,
            bdm("i-2", "/dev/xvdb", None),
            by_volume,
            bdm("i-5", "0", Some(&chap)),
            bdm("i-5", "/dev/xvdb", Some(&a)),
        ];
        let view = NovaView::new(None, Some(&bdms), &NovaTargetConf::default());
        let upper = check_value.to_ascii_uppercase();
        let legacy4 = "FA15E-D15C-vol-4";
        let pool: FastSet<&str> = [
            check_value,
            &upper,
            "FA15E-D15C-x",
            "given",
            "GIVEN",
            "other",
            "any",
            legacy4,
        ]
        .into_iter()
        .collect();
        // (instance, userdevice, disk's SR, volume id its SR names, Nova's outcome, BDM shown)
        for (instance, userdevice, sr, volume, kind, device) in [
            ("i-1", "1", check_value, "", NovaCheck::Match, "/dev/xvdb"),
            (
                "i-1",
                "1",
                "FA15E-D15C-x",
                "",
                NovaCheck::Mismatch,
                "/dev/xvdb",
            ),
            // Rule 1, the lookup is exact (regression: nova_check_ignored_letter_case).
            (
                "i-1",
                "1",
                upper.as_str(),
                "",
                NovaCheck::Mismatch,
                "/dev/xvdb",
            ),
            ("i-1", "3", "GIVEN", "", NovaCheck::Mismatch, "3"),
            // Regression own_bdm_outside_the_pool_is_a_mismatch: disk 2's own BDM yields a uuid the
            // source does not have (SR.get_by_uuid raises UUID_INVALID), even though another BDM
            // yields the disk's SR.
            ("i-1", "2", check_value, "", NovaCheck::Mismatch, "/dev/sdc"),
            ("i-1", "2", "other", "", NovaCheck::Mismatch, "/dev/sdc"),
            ("i-1", "3", "given", "", NovaCheck::Match, "3"),
            // Regression null_connection_info_is_unusable: Nova does not refresh a NULL
            // connection_info (block_device.py refresh_connection_info, mitaka-eol) and
            // connect_volume(None) raises TypeError.
            ("i-1", "4", "any", "", NovaCheck::Unusable, "/dev/xvde"),
            // Rule 2: Nova raises on the disk's own BDM.
            ("i-1", "5", "any", "", NovaCheck::Unusable, "/dev/xvdf"),
            // Rule 5: no BDM is this disk's and none yields its SR: outside the VDI map.
            ("i-1", "6", "any", "", NovaCheck::NotInMap, ""),
            ("i-1", "x", "any", "", NovaCheck::NotInMap, ""),
            ("i-2", "6", "any", "", NovaCheck::NotInMap, ""),
            // Regression instance_without_bdms_is_blocked: no BDM at all, sr_uuid_map is empty
            // (vmops.connect_block_device_volumes, mitaka-eol).
            ("i-3", "1", "any", "", NovaCheck::NoBdm, ""),
            // Regression bdm_paired_by_volume_id: the BDM whose volume_id is the volume the legacy
            // SR names is the disk's own, whatever its device name; it yields the new-style uuid.
            (
                "i-4",
                "3",
                legacy4,
                "vol-4",
                NovaCheck::Mismatch,
                "/dev/nvme0n1",
            ),
            // Regression own_bdm_raising_makes_the_disk_unusable: BDM "0" (CHAP without its
            // fields) raises, though another BDM yields the disk's SR.
            ("i-5", "0", check_value, "", NovaCheck::Unusable, "0"),
        ] {
            let r = view.check(instance, &disk(userdevice, sr, volume, &pool));
            assert_eq!(
                (r.kind, r.device.as_str()),
                (kind, device),
                "{instance} {userdevice} {sr}"
            );
        }
        for kind in [
            NovaCheck::Mismatch,
            NovaCheck::Unusable,
            NovaCheck::NotInMap,
            NovaCheck::NoBdm,
        ] {
            let r = CheckResult {
                kind,
                device: String::new(),
                sr_uuid: String::new(),
                bdm_index: None,
                computed: None,
            };
            assert_eq!(r.verdict(Verdict::Ok), Verdict::Blocked, "{kind:?}");
        }
        let none = NovaView::new(None, None, &NovaTargetConf::default());
        let unchecked = none.check("i-1", &disk("1", "x", "", &pool));
        assert_eq!(unchecked.kind, NovaCheck::NotChecked);
        assert_eq!(unchecked.verdict(Verdict::Review), Verdict::Review);
    }

    #[test]
    fn unpaired_bdms_each_get_their_own_check() {
        let given = [("sr_uuid", "in-pool")];
        let elsewhere = [("sr_uuid", "not-here")];
        let mut rbd = bdm("i-1", "/dev/xvdd", Some(&given));
        set_driver(&mut rbd, "rbd");
        let bdms = vec![
            bdm("i-1", "/dev/xvdb", Some(&given)),
            bdm("i-1", "/dev/nvme0n1", Some(&given)),
            bdm("i-1", "/dev/xvdb", Some(&elsewhere)),
            bdm("i-1", "xvdc\n", None),
            rbd,
        ];
        let view = NovaView::new(None, Some(&bdms), &NovaTargetConf::default());
        let pool: FastSet<&str> = ["in-pool"].into_iter().collect();
        let shown: FastSet<usize> = view
            .check("i-1", &disk("1", "in-pool", "", &pool))
            .bdm_index
            .into_iter()
            .collect();
        assert_eq!(shown.iter().copied().collect::<Vec<_>>(), vec![0]);
        let got: Vec<(String, &str, Verdict)> = view
            .other_bdms("i-1", &shown, &pool)
            .into_iter()
            .map(|o| (o.device, o.check, o.verdict))
            .collect();
        assert_eq!(
            got,
            vec![
                ("/dev/nvme0n1".to_string(), "ok", Verdict::Ok),
                ("/dev/xvdb".to_string(), "not-in-pool", Verdict::Blocked),
                ("xvdc\n".to_string(), "unusable", Verdict::Blocked),
                ("/dev/xvdd".to_string(), "unusable", Verdict::Blocked),
            ]
        );
        let text = other_bdms_text(&view.other_bdms("i-1", &shown, &pool));
        assert!(
            text.starts_with("\"/dev/nvme0n1\" -> in-pool: ok; "),
            "{text}"
        );
        assert!(
            text.contains("\"xvdc\\n\" -> its connection_info is NULL"),
            "{text}"
        );
    }

    /// Regression float_iqn_is_not_a_moved_portal: an IQN stored as a JSON number is printed by
    /// Python 2's `str()` (`"%s/%s/%s"` in `parse_sr_info`, mitaka-eol); the mismatch says that,
    /// not that the portal moved, which a reader would chase on the storage side.
    #[test]
    fn regression_float_iqn_is_not_a_moved_portal() {
        let mut b = bdm(
            "i-1",
            "/dev/xvdb",
            Some(&[("volume_id", "v"), ("target_portal", "10.0.0.1:3260")]),
        );
        if let StoredConnection::Object(c) = &mut b.connection {
            c.data.as_mut().unwrap().insert(
                "target_iqn".into(),
                NovaValue::Scalar {
                    text: "0.3".into(),
                    truthy: true,
                },
            );
        }
        let view = NovaView::new(None, Some(&[b]), &NovaTargetConf::default());
        let pool: FastSet<&str> = ["sr-1"].into_iter().collect();
        let r = view.check("i-1", &disk("1", "sr-1", "", &pool));
        assert_eq!(r.kind, NovaCheck::Mismatch);
        let source = SourceSr {
            uuid: "sr-1",
            naming: Naming::Other,
            target: "10.0.0.1",
            port: "3260",
            iqn: "0.30000000000000004",
            boot: false,
            power_state: "Running",
        };
        let text = r.remediation(String::new(), &source);
        assert!(text.contains("prints as 0.3"), "{text}");
        assert!(!text.contains("the portal moved"), "{text}");
    }

    /// Issue 18: a Cinder-provided sr_uuid comes back under that uuid whichever nova-compute
    /// reconnects it, never under the legacy name; and a halted instance is not "left running".
    #[test]
    fn regression_provided_sr_uuid_advice_and_halted_instance() {
        let provided = [("sr_uuid", "cinder-given")];
        let bdms = vec![bdm("i-1", "/dev/xvdb", Some(&provided))];
        let view = NovaView::new(None, Some(&bdms), &NovaTargetConf::default());
        let pool: FastSet<&str> = ["FA15E-D15C-v"].into_iter().collect();
        let r = view.check("i-1", &disk("1", "FA15E-D15C-v", "", &pool));
        assert_eq!(r.kind, NovaCheck::Mismatch);
        for (power_state, want_running) in [("Running", true), ("Halted", false)] {
            let source = SourceSr {
                uuid: "FA15E-D15C-v",
                naming: Naming::Legacy,
                target: "10.0.0.1",
                port: "3260",
                iqn: "iqn.x",
                boot: false,
                power_state,
            };
            let text = r.remediation(String::new(), &source);
            assert!(text.contains("cinder-given"), "{text}");
            assert!(
                !text.contains("comes back under the legacy name"),
                "a provided sr_uuid is used as given: {text}"
            );
            assert_eq!(
                text.contains("leaves the instance running"),
                want_running,
                "{power_state}: {text}"
            );
            assert_eq!(text.contains("is halted"), !want_running, "{text}");
        }
    }

    #[test]
    fn check_words_are_the_report_words() {
        for (kind, word) in [
            (NovaCheck::NotChecked, ""),
            (NovaCheck::Match, "match"),
            (NovaCheck::Mismatch, "mismatch"),
            (NovaCheck::NoBdm, "no-bdm"),
            (NovaCheck::Unusable, "unusable"),
            (NovaCheck::NotInMap, "not-in-map"),
        ] {
            assert_eq!(kind.as_str(), word, "{kind:?}");
        }
    }

    #[test]
    fn project_of_reads_the_server_list() {
        let server = |uuid: &str, project: &str| NovaServer {
            uuid: uuid.into(),
            project_id: project.into(),
            ..Default::default()
        };
        let servers = [server("i-1", "p-1"), server("i-2", "")];
        let view = NovaView::new(Some(&servers), None, &NovaTargetConf::default());
        for (instance, project) in [("i-1", "p-1"), ("I-1", "p-1"), ("i-2", ""), ("i-3", "")] {
            assert_eq!(view.project_of(instance), project, "{instance}");
        }
    }

    /// `pre_live_migration` connects every BDM of the instance, so a disk's SR is in
    /// `migrate_data.sr_uuid_map` when any BDM yields it, as long as the disk's own BDM names an SR
    /// the source has.
    #[test]
    fn another_bdm_yielding_the_disks_sr_is_a_match() {
        let iqn = "iqn.2010-10.org.openstack:volume-00000001";
        let a = [
            ("volume_id", "v"),
            ("target_portal", "10.0.0.1:3260"),
            ("target_iqn", iqn),
        ];
        let b = [
            ("volume_id", "v"),
            ("target_portal", "10.0.0.2:3260"),
            ("target_iqn", iqn),
        ];
        let bdms = vec![
            bdm("i-1", "/dev/xvdb", Some(&a)),
            bdm("i-1", "/dev/xvdc", Some(&b)),
        ];
        let view = NovaView::new(None, Some(&bdms), &NovaTargetConf::default());
        let sr_a = crate::classify::nova_sr_uuid("10.0.0.1", "3260", iqn);
        let sr_b = crate::classify::nova_sr_uuid("10.0.0.2", "3260", iqn);
        let pool_ab: FastSet<&str> = [sr_a.as_str(), sr_b.as_str()].into_iter().collect();
        let pool_a: FastSet<&str> = [sr_a.as_str()].into_iter().collect();
        let no_pool: FastSet<&str> = FastSet::default();
        // (userdevice, disk's SR, its pool's SRs, Nova's outcome, BDM shown, the uuid it yields)
        for (userdevice, sr, pool, kind, device, yields) in [
            // Disk 2's own BDM yields SR b, which the pool has; BDM /dev/xvdb yields the disk's SR.
            ("2", &sr_a, &pool_ab, NovaCheck::Match, "/dev/xvdc", &sr_b),
            // ... the same, but the source has no SR b: SR.get_by_uuid raises.
            ("2", &sr_a, &pool_a, NovaCheck::Mismatch, "/dev/xvdc", &sr_b),
            // Disk 5 has no BDM of its own; /dev/xvdb yields its SR.
            ("5", &sr_a, &pool_ab, NovaCheck::Match, "/dev/xvdb", &sr_a),
            (
                "5",
                &"other".to_string(),
                &pool_ab,
                NovaCheck::NotInMap,
                "",
                &String::new(),
            ),
            // The own BDM yielding the disk's SR decides alone, whatever the pool list holds.
            ("1", &sr_a, &no_pool, NovaCheck::Match, "/dev/xvdb", &sr_a),
        ] {
            let r = view.check("i-1", &disk(userdevice, sr, "", pool));
            assert_eq!(
                (r.kind, r.device.as_str(), r.sr_uuid.as_str()),
                (kind, device, yields.as_str()),
                "disk {userdevice} on {sr}"
            );
        }
    }

    #[test]
    fn remediation_follows_the_check() {
        let source = SourceSr {
            uuid: "sr-1",
            naming: Naming::Other,
            target: "10.0.0.1",
            port: "3260",
            iqn: "iqn.x",
            boot: false,
            power_state: "Running",
        };
        let result = |kind, computed| CheckResult {
            kind,
            device: "/dev/xvdb".into(),
            sr_uuid: String::new(),
            bdm_index: None,
            computed,
        };
        let raised = || Some(Err("KeyError on target_iqn".to_string()));
        // (the check, what the remediation says: every phrase listed; none: the naming's advice)
        for (r, wants) in [
            (result(NovaCheck::NotChecked, None), None),
            (result(NovaCheck::Match, None), Some(&[][..])),
            (
                result(NovaCheck::Unusable, raised()),
                Some(&["cannot connect", "\"/dev/xvdb\"", "KeyError on target_iqn"][..]),
            ),
            (
                result(NovaCheck::NotInMap, None),
                Some(
                    &[
                        "no BDM of this instance is this disk's",
                        "SR sr-1",
                        "VDI_NOT_IN_MAP",
                    ][..],
                ),
            ),
            (
                result(NovaCheck::NoBdm, None),
                Some(&["Nova has no BDM for this instance", "VDI_NOT_IN_MAP"][..]),
            ),
        ] {
            let text = r.remediation("by naming".into(), &source);
            match wants {
                None => assert_eq!(text, "by naming", "{:?}", r.kind),
                Some([]) => assert_eq!(text, "", "{:?}", r.kind),
                Some(wants) => {
                    for want in wants {
                        assert!(text.contains(want), "{:?}: {want:?} in {text}", r.kind);
                    }
                }
            }
        }
    }

    /// Each cause `mismatch_reason` names, and the neighbouring case that is not that cause.
    #[test]
    fn mismatch_reason_names_the_cause() {
        // (port from conf, target from conf, IQN not text)
        const PLAIN: (bool, bool, bool) = (false, false, false);
        let computed =
            |target: &str, port: &str, iqn: &str, flags: (bool, bool, bool)| NovaSrInfo {
                uuid: "u".into(),
                source: NovaSrSource::Computed {
                    target: target.into(),
                    port: port.into(),
                    iqn: iqn.into(),
                    port_from_conf: flags.0,
                    target_from_conf: flags.1,
                    iqn_not_text: flags.2,
                },
            };
        let provided = NovaSrInfo {
            uuid: "u".into(),
            source: NovaSrSource::Provided,
        };
        let (t, p, i) = ("10.0.0.1", "3260", "iqn.x");
        let source = |naming, target, port, iqn| SourceSr {
            uuid: "sr-1",
            naming,
            target,
            port,
            iqn,
            boot: false,
            power_state: "Running",
        };
        let other = Naming::Other;
        for (info, src, want) in [
            (provided, source(other, t, p, i), "provides sr_uuid"),
            (
                computed(t, p, "0.3", (false, false, true)),
                source(other, t, p, "0.30000000000000004"),
                "prints as 0.3",
            ),
            // Not text, but printed as the SR has it: not the cause.
            (
                computed(t, "3261", i, (false, false, true)),
                source(other, t, p, i),
                "the port changed",
            ),
            // Text, another IQN: the portal moved.
            (
                computed(t, p, "iqn.y", PLAIN),
                source(other, t, p, i),
                "the portal moved",
            ),
            (
                computed(t, p, i, PLAIN),
                source(Naming::Legacy, t, p, i),
                "legacy name",
            ),
            (
                computed(t, p, i, PLAIN),
                source(other, "", p, ""),
                "names no iSCSI target",
            ),
            // Only the target unknown on the source: the portal moved.
            (
                computed(t, p, i, PLAIN),
                source(other, "", p, i),
                "the portal moved",
            ),
            (
                computed("10.9.9.9", p, i, (false, true, false)),
                source(other, t, p, i),
                "uses its target_host 10.9.9.9",
            ),
            // The target from target_host, the same as the SR's: not the cause.
            (
                computed(t, p, i, (false, true, false)),
                source(other, t, p, i),
                "introduced under another uuid",
            ),
            (
                computed("10.0.0.2", p, i, PLAIN),
                source(other, t, p, i),
                "the portal moved",
            ),
            (
                computed(t, "3261", i, (true, false, false)),
                source(other, t, p, i),
                "uses its target_port 3261",
            ),
            // The port from target_port, the same as the SR's: not the cause.
            (
                computed(t, p, i, (true, false, false)),
                source(other, t, p, i),
                "introduced under another uuid",
            ),
            (
                computed(t, "3261", i, PLAIN),
                source(other, t, p, i),
                "the port changed",
            ),
            (
                computed(t, p, i, PLAIN),
                source(other, t, p, i),
                "introduced under another uuid",
            ),
        ] {
            let text = mismatch_reason(&info, &src);
            assert!(text.contains(want), "{want:?} in {text:?}");
        }
    }
}
