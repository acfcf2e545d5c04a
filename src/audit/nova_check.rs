//! Nova's check of one volume: the destination of a live migration computes the SR uuid from the
//! volume's block_device_mapping (`parse_sr_info` over its connection_info) and the source looks that
//! uuid up. With Nova's BDMs the audit predicts that uuid exactly and compares it with the SR the
//! volume sits on: `match` is fine whatever the SR's name, `mismatch` blocks the migration, and
//! `no-bdm` (no BDM for the disk, or no usable connection_info) leaves the name-based verdict.

use super::{failed_migration_note, fix_advice, fix_advice_provided, Verdict};
use crate::classify::{
    mountpoint_to_number, parse_sr_info, Naming, NovaSrInfo, NovaSrSource, NovaTargetConf,
};
use crate::model::{FastMap, NovaBdm, NovaServer};

/// The outcome of Nova's check for one finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NovaCheck {
    /// No BDM file was given.
    NotChecked,
    Match,
    Mismatch,
    NoBdm,
}

impl NovaCheck {
    pub fn as_str(self) -> &'static str {
        match self {
            NovaCheck::NotChecked => "",
            NovaCheck::Match => "match",
            NovaCheck::Mismatch => "mismatch",
            NovaCheck::NoBdm => "no-bdm",
        }
    }
}

/// One BDM as the check needs it: its device name and what the destination computes from it.
#[derive(Debug, Clone)]
struct BdmEval {
    device: String,
    /// `None` for a NULL/empty connection_info; `Err` says why Nova could not use it.
    computed: Option<Result<NovaSrInfo, String>>,
}

/// Nova's view of the fleet, indexed once per run and shared by every pool's audit.
#[derive(Debug, Clone, Default)]
pub struct NovaView {
    /// BDMs by (instance uuid, userdevice number). `None` when no BDM file was given.
    bdms: Option<FastMap<(String, u64), BdmEval>>,
    projects: FastMap<String, String>,
}

/// The check of one finding.
#[derive(Debug, Clone)]
pub struct CheckResult {
    pub kind: NovaCheck,
    pub device: String,
    pub sr_uuid: String,
    computed: Option<Result<NovaSrInfo, String>>,
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

impl NovaView {
    /// Index the BDMs (each matched to a userdevice by Nova's `_mountpoint_to_number`; a device name
    /// Nova cannot translate matches no disk; of two BDMs for one disk the first read wins) and
    /// compute each one's SR uuid with the destinations' options.
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
            let mut m: FastMap<(String, u64), BdmEval> = FastMap::default();
            for b in bdms {
                let Some(number) = mountpoint_to_number(&b.device_name) else {
                    continue;
                };
                m.entry((b.instance_uuid.to_ascii_lowercase(), number))
                    .or_insert_with(|| BdmEval {
                        device: b.device_name.clone(),
                        computed: b.connection.as_ref().map(|c| parse_sr_info(c, conf)),
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

    /// Check the disk at `userdevice` of an instance, whose SR on the source is `sr_uuid`.
    pub fn check(&self, instance_uuid: &str, userdevice: &str, sr_uuid: &str) -> CheckResult {
        let mut r = CheckResult {
            kind: NovaCheck::NotChecked,
            device: String::new(),
            sr_uuid: String::new(),
            computed: None,
        };
        let Some(bdms) = &self.bdms else {
            return r;
        };
        r.kind = NovaCheck::NoBdm;
        let Ok(number) = userdevice.trim().parse::<u64>() else {
            return r;
        };
        let Some(b) = bdms.get(&(instance_uuid.to_ascii_lowercase(), number)) else {
            return r;
        };
        r.device = b.device.clone();
        r.computed = b.computed.clone();
        if let Some(Ok(info)) = &b.computed {
            r.sr_uuid = info.uuid.clone();
            r.kind = if info.uuid.eq_ignore_ascii_case(sr_uuid) {
                NovaCheck::Match
            } else {
                NovaCheck::Mismatch
            };
        }
        r
    }
}

impl CheckResult {
    /// The verdict: Nova's answer where it has one, else the one from the SR's name.
    pub fn verdict(&self, by_naming: Verdict) -> Verdict {
        match self.kind {
            NovaCheck::Match => Verdict::Ok,
            NovaCheck::Mismatch => Verdict::Blocked,
            NovaCheck::NoBdm | NovaCheck::NotChecked => by_naming,
        }
    }

    /// The remediation: for a mismatch, which uuid the destination will look for and why; for a
    /// BDM Nova cannot use, why, before the name-based advice.
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
            (NovaCheck::NoBdm, Some(Err(why))) => {
                format!("Nova's BDM for this disk cannot be used ({why}). {by_naming}")
                    .trim_end()
                    .to_string()
            }
            (NovaCheck::NoBdm, None) if !self.device.is_empty() => {
                format!("Nova's BDM for this disk has no connection_info. {by_naming}")
                    .trim_end()
                    .to_string()
            }
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
        } => {
            if source.naming == Naming::Legacy {
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
    use crate::model::NovaConnection;

    fn bdm(instance: &str, device: &str, data: Option<&[(&str, &str)]>) -> NovaBdm {
        NovaBdm {
            instance_uuid: instance.into(),
            device_name: device.into(),
            connection: data.map(|d| NovaConnection {
                driver_volume_type: Some("iscsi".into()),
                data: Some(
                    d.iter()
                        .map(|(k, v)| (k.to_string(), Some(v.to_string())))
                        .collect(),
                ),
            }),
            ..Default::default()
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
        let bdms = vec![
            bdm("I-1", "/dev/xvdb", Some(&a)),
            bdm("i-1", "/dev/sdc", Some(&b)),
            bdm("i-1", "3", Some(&c)),
            bdm("i-1", "/dev/xvde", None),
            bdm("i-1", "/dev/nvme0n1", Some(&a)),
        ];
        let view = NovaView::new(None, Some(&bdms), &NovaTargetConf::default());
        for (userdevice, sr, kind, device) in [
            ("1", check_value, NovaCheck::Match, "/dev/xvdb"),
            ("1", "FA15E-D15C-x", NovaCheck::Mismatch, "/dev/xvdb"),
            ("2", check_value, NovaCheck::Mismatch, "/dev/sdc"),
            ("3", "given", NovaCheck::Match, "3"),
            ("4", "any", NovaCheck::NoBdm, "/dev/xvde"),
            ("5", "any", NovaCheck::NoBdm, ""),
            ("x", "any", NovaCheck::NoBdm, ""),
        ] {
            let r = view.check("i-1", userdevice, sr);
            assert_eq!(
                (r.kind, r.device.as_str()),
                (kind, device),
                "{userdevice} {sr}"
            );
        }
        let none = NovaView::new(None, None, &NovaTargetConf::default());
        assert_eq!(none.check("i-1", "1", "x").kind, NovaCheck::NotChecked);
        assert_eq!(
            none.check("i-1", "1", "x").verdict(Verdict::Review),
            Verdict::Review
        );
    }

    /// Issue 18: a Cinder-provided sr_uuid comes back under that uuid whichever nova-compute
    /// reconnects it, never under the legacy name; and a halted instance is not "left running".
    #[test]
    fn regression_provided_sr_uuid_advice_and_halted_instance() {
        let provided = [("sr_uuid", "cinder-given")];
        let bdms = vec![bdm("i-1", "/dev/xvdb", Some(&provided))];
        let view = NovaView::new(None, Some(&bdms), &NovaTargetConf::default());
        let r = view.check("i-1", "1", "FA15E-D15C-v");
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
}
