//! The classifier: Nova's SR naming rules as small pure functions (the new-style uuid, the portal
//! split, legacy recognition, which VMs are Nova instances). They follow docs/nova-sr-naming.md
//! exactly, including Nova's quirks (the port is the text after the first `:` of the portal; IPv6
//! portals split wrongly), because the point is to predict what Nova will compute, not what it
//! should. Applying them to a pool is [`crate::audit`]'s job; this module knows no source and no wire.

use crate::model::{NovaConnection, Vm};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use uuid::Uuid;

/// uuid5(nil, "volume_utils-SR_UUID"): the namespace of Nova's new-style SR uuids.
pub const NOVA_SR_NAMESPACE: Uuid = uuid::uuid!("3cca4135-a809-5bb3-af62-275fbfe87178");
/// The legacy SR uuid prefix (compared case-insensitively).
pub const LEGACY_PREFIX: &str = "FA15E-D15C-";
/// Nova's default iSCSI port, used only when the port is absent.
pub const DEFAULT_PORT: &str = "3260";

/// The new-style SR uuid Nova computes for an iSCSI target: uuid5 over `target/port/iqn`.
pub fn nova_sr_uuid(target: &str, port: &str, target_iqn: &str) -> String {
    let name = format!("{target}/{port}/{target_iqn}");
    Uuid::new_v5(&NOVA_SR_NAMESPACE, name.as_bytes())
        .hyphenated()
        .to_string()
}

/// Split a Cinder `target_portal` as Nova does: `split(':')[0]` and `[1]`, default port when no `:`.
pub fn split_portal(portal: &str) -> (String, String) {
    let mut parts = portal.split(':');
    let target = parts.next().unwrap_or_default().to_string();
    let port = parts
        .next()
        .map(str::to_string)
        .unwrap_or_else(|| DEFAULT_PORT.to_string());
    (target, port)
}

/// The uuid Nova would compute from a PBD's device_config, or `None` when target or targetIQN is absent.
pub fn expected_from_device_config(dc: &BTreeMap<String, String>) -> Option<String> {
    let target = dc.get("target")?;
    let iqn = dc.get("targetIQN")?;
    let port = dc.get("port").map(String::as_str).unwrap_or(DEFAULT_PORT);
    Some(nova_sr_uuid(target, port, iqn))
}

/// The volume id in a legacy SR uuid, if it is one.
pub fn legacy_volume_id(sr_uuid: &str) -> Option<&str> {
    let head = sr_uuid.get(..LEGACY_PREFIX.len())?;
    head.eq_ignore_ascii_case(LEGACY_PREFIX)
        .then(|| &sr_uuid[LEGACY_PREFIX.len()..])
}

/// True for the 8-4-4-4-12 hex form of a Cinder volume id.
pub fn looks_like_volume_id(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// Whether Nova counts a VBD as a volume: `other_config.get('osvol')` is truthy in Python, i.e. the
/// key is present with any non-empty text (Nova itself writes `True`; `False` and `0` count too).
pub fn is_volume_vbd(osvol: Option<&str>) -> bool {
    osvol.is_some_and(|v| !v.is_empty())
}

/// Nova's `_mountpoint_to_number`: the VBD userdevice a BDM's `device_name` stands for. Strip
/// `/dev/`; `[hs]d[a-p]` and `x?vd[a-p]` give the letter's index from `a`; all digits give the
/// number; anything else is -1 in Nova (an error), `None` here. Python's `$` also matches before one
/// trailing newline, and `int()` ignores surrounding whitespace; both are reproduced.
pub fn mountpoint_to_number(device_name: &str) -> Option<u64> {
    let m = device_name.strip_prefix("/dev/").unwrap_or(device_name);
    let regex_subject = m.strip_suffix('\n').unwrap_or(m);
    let b = regex_subject.as_bytes();
    let letter = |c: u8| (b'a'..=b'p').contains(&c).then(|| u64::from(c - b'a'));
    match b {
        [b'h' | b's', b'd', c] => letter(*c),
        [b'v', b'd', c] | [b'x', b'v', b'd', c] => letter(*c),
        _ if !b.is_empty() && b.iter().all(u8::is_ascii_digit) => regex_subject.parse().ok(),
        _ => None,
    }
}

/// The destinations' `[xenserver]` options that `parse_sr_info` falls back on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NovaTargetConf {
    /// `target_port`, used when the portal has no `:` (Nova's default `3260`).
    pub target_port: String,
    /// `target_host`, used when the portal is empty or starts with `:` (no default).
    pub target_host: Option<String>,
}

impl Default for NovaTargetConf {
    fn default() -> Self {
        NovaTargetConf {
            target_port: DEFAULT_PORT.to_string(),
            target_host: None,
        }
    }
}

/// Where the uuid [`parse_sr_info`] returns came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NovaSrSource {
    /// `sr_uuid` in the connection data, used as given.
    Provided,
    /// uuid5 over `target/port/iqn`.
    Computed {
        target: String,
        port: String,
        iqn: String,
        /// The portal had no `:`, so the port is the destination's `target_port`.
        port_from_conf: bool,
        /// The portal gave no host, so the target is the destination's `target_host`.
        target_from_conf: bool,
    },
}

/// The SR uuid a destination computes for one volume, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NovaSrInfo {
    pub uuid: String,
    pub source: NovaSrSource,
}

/// What Nova's `connect_volume` computes from a stored `connection_info`: the driver must be
/// `iscsi` or `xensm`, then `parse_sr_info(data)`: `sr_uuid` in the data wins; else the target is
/// `target_portal.split(':')[0]` (or `target_host` when that is empty), the port is
/// `split(':')[1]` when the portal has a `:` (else `target_port`), and the uuid is uuid5 over
/// `target/port/target_iqn`. `Err` says why Nova would fail instead (a missing key, a null value,
/// another driver): the destination could not connect the volume at all.
pub fn parse_sr_info(conn: &NovaConnection, conf: &NovaTargetConf) -> Result<NovaSrInfo, String> {
    match conn.driver_volume_type.as_deref() {
        Some("iscsi" | "xensm") => {}
        Some(other) => {
            return Err(format!(
                "driver_volume_type {other:?} is not one the XenAPI driver connects"
            ))
        }
        None => return Err("connection_info has no driver_volume_type".into()),
    }
    let data = conn
        .data
        .as_ref()
        .ok_or_else(|| "connection_info has no data object".to_string())?;
    if let Some(provided) = data.get("sr_uuid") {
        let uuid = provided
            .clone()
            .ok_or_else(|| "sr_uuid is null in the connection data".to_string())?;
        return Ok(NovaSrInfo {
            uuid,
            source: NovaSrSource::Provided,
        });
    }
    let key = |k: &str| -> Result<Option<&str>, String> {
        data.get(k)
            .map(Option::as_deref)
            .ok_or_else(|| format!("the connection data has no {k}"))
    };
    let volume_id = key("volume_id")?;
    let portal = key("target_portal")?.unwrap_or_default();
    let iqn = key("target_iqn")?;
    let from_portal = portal.split(':').next().filter(|h| !h.is_empty());
    let target_from_conf = from_portal.is_none();
    let target = from_portal.or(conf.target_host.as_deref());
    let port_from_conf = !portal.contains(':');
    let port = if port_from_conf {
        conf.target_port.as_str()
    } else {
        portal.split(':').nth(1).unwrap_or_default()
    };
    let (Some(_), Some(target), Some(iqn)) = (volume_id, target, iqn) else {
        return Err(if target.is_none() {
            "the portal names no target host and no target_host is configured".to_string()
        } else {
            "volume_id or target_iqn is null in the connection data".to_string()
        });
    };
    Ok(NovaSrInfo {
        uuid: nova_sr_uuid(target, port, iqn),
        source: NovaSrSource::Computed {
            target: target.to_string(),
            port: port.to_string(),
            iqn: iqn.to_string(),
            port_from_conf,
            target_from_conf,
        },
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Naming {
    Legacy,
    New,
    Other,
}

impl Naming {
    pub fn as_str(self) -> &'static str {
        match self {
            Naming::Legacy => "legacy",
            Naming::New => "new",
            Naming::Other => "other",
        }
    }
}

/// How an SR uuid relates to Nova's conventions.
pub fn classify_sr(sr_uuid: &str, expected: Option<&str>) -> Naming {
    if legacy_volume_id(sr_uuid).is_some() {
        Naming::Legacy
    } else if expected.is_some_and(|e| e.eq_ignore_ascii_case(sr_uuid)) {
        Naming::New
    } else {
        Naming::Other
    }
}

/// The volume id an SR reveals: from a legacy uuid, else from a `tempSR-<volume id>` label.
pub fn volume_id_of(sr_uuid: &str, sr_name: &str) -> String {
    if let Some(v) = legacy_volume_id(sr_uuid) {
        return v.to_string();
    }
    match sr_name.strip_prefix("tempSR-") {
        Some(v) if looks_like_volume_id(v) && !v.eq_ignore_ascii_case(sr_uuid) => v.to_string(),
        _ => String::new(),
    }
}

/// A Nova instance is a VM that is neither a template nor a control domain and carries `nova_uuid`.
pub fn is_nova_instance(vm: &Vm) -> bool {
    !vm.is_a_template
        && !vm.is_control_domain
        && vm
            .other_config
            .get("nova_uuid")
            .is_some_and(|u| !u.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nova_check_values() {
        // The namespace is itself uuid5(nil, "volume_utils-SR_UUID").
        assert_eq!(
            Uuid::new_v5(&Uuid::nil(), b"volume_utils-SR_UUID"),
            NOVA_SR_NAMESPACE
        );
        let cases = [
            (
                "10.0.0.1",
                "3260",
                "iqn.2010-10.org.openstack:volume-00000001",
                "9ade368b-674f-59c2-b177-48cc5c7b2ac7",
            ),
            (
                "host",
                "port",
                "iqn",
                "f677649b-2373-5417-adfb-d0a88e3fb7f8",
            ),
        ];
        for (t, p, i, want) in cases {
            assert_eq!(nova_sr_uuid(t, p, i), want);
        }
    }

    #[test]
    fn portal_split_table() {
        let cases = [
            ("10.0.0.1:3260", ("10.0.0.1", "3260")),
            ("10.0.0.1", ("10.0.0.1", "3260")),
            ("10.0.0.1:", ("10.0.0.1", "")),
            ("[fe80::1]:3260", ("[fe80", "")),
            ("host:3261:extra", ("host", "3261")),
        ];
        for (portal, (t, p)) in cases {
            assert_eq!(
                split_portal(portal),
                (t.to_string(), p.to_string()),
                "{portal}"
            );
        }
    }

    #[test]
    fn expected_uuid_from_device_config_table() {
        let dc = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>()
        };
        let iqn = "iqn.2010-10.org.openstack:volume-00000001";
        let check = "9ade368b-674f-59c2-b177-48cc5c7b2ac7";
        let cases: Vec<(BTreeMap<String, String>, Option<String>)> = vec![
            (
                dc(&[("target", "10.0.0.1"), ("port", "3260"), ("targetIQN", iqn)]),
                Some(check.into()),
            ),
            // default port only when absent
            (
                dc(&[("target", "10.0.0.1"), ("targetIQN", iqn)]),
                Some(check.into()),
            ),
            // an empty port stays empty (the IPv6 quirk)
            (
                dc(&[("target", "[fe80"), ("port", ""), ("targetIQN", iqn)]),
                Some(nova_sr_uuid("[fe80", "", iqn)),
            ),
            (dc(&[("target", "10.0.0.1"), ("port", "3260")]), None),
            (dc(&[("targetIQN", iqn)]), None),
        ];
        for (d, want) in cases {
            assert_eq!(expected_from_device_config(&d), want, "{d:?}");
        }
        assert_ne!(
            nova_sr_uuid("[fe80", "", iqn),
            nova_sr_uuid("[fe80", "3260", iqn)
        );
    }

    #[test]
    fn sr_classification_table() {
        let e = Some("9ade368b-674f-59c2-b177-48cc5c7b2ac7");
        let cases = [
            (
                "FA15E-D15C-0a1b2c3d-0000-4000-8000-000000000001",
                e,
                Naming::Legacy,
            ),
            (
                "fa15e-d15c-0a1b2c3d-0000-4000-8000-000000000001",
                e,
                Naming::Legacy,
            ),
            ("9ade368b-674f-59c2-b177-48cc5c7b2ac7", e, Naming::New),
            ("9ADE368B-674F-59C2-B177-48CC5C7B2AC7", e, Naming::New),
            ("9ade368b-674f-59c2-b177-48cc5c7b2ac7", None, Naming::Other),
            ("11111111-2222-3333-4444-555555555555", e, Naming::Other),
            ("FA15E-D15", e, Naming::Other),
            ("", e, Naming::Other),
        ];
        for (uuid, expected, want) in cases {
            assert_eq!(classify_sr(uuid, expected), want, "{uuid}");
        }
    }

    #[test]
    fn volume_id_table() {
        let vol = "0a1b2c3d-0000-4000-8000-000000000001";
        let new = "9ade368b-674f-59c2-b177-48cc5c7b2ac7";
        let cases = [
            (format!("FA15E-D15C-{vol}"), format!("tempSR-{vol}"), vol),
            (new.to_string(), format!("tempSR-{new}"), ""),
            ("other-sr".to_string(), format!("tempSR-{vol}"), vol),
            ("other-sr".to_string(), "tempSR-notavolume".to_string(), ""),
            ("other-sr".to_string(), "my SR".to_string(), ""),
        ];
        for (uuid, name, want) in cases {
            assert_eq!(volume_id_of(&uuid, &name), want, "{uuid} {name}");
        }
    }

    #[test]
    fn osvol_counts_like_python_truthiness() {
        for (v, want) in [
            (Some("True"), true),
            (Some("true"), true),
            (Some("False"), true),
            (Some("0"), true),
            (Some(" "), true),
            (Some(""), false),
            (None, false),
        ] {
            assert_eq!(is_volume_vbd(v), want, "{v:?}");
        }
    }

    #[test]
    fn mountpoint_to_number_table() {
        for (name, want) in [
            ("/dev/sda", Some(0)),
            ("/dev/sdb", Some(1)),
            ("sdp", Some(15)),
            ("sdq", None),
            ("/dev/hdc", Some(2)),
            ("/dev/xvdb", Some(1)),
            ("xvdd", Some(3)),
            ("/dev/vdc", Some(2)),
            ("vda", Some(0)),
            ("3", Some(3)),
            ("/dev/12", Some(12)),
            ("007", Some(7)),
            ("sdb\n", Some(1)),
            ("/dev/sdaa", None),
            ("/dev/nvme0n1", None),
            ("/dev/xvdB", None),
            ("dev/sdb", None),
            ("", None),
            ("/dev/", None),
        ] {
            assert_eq!(mountpoint_to_number(name), want, "{name:?}");
        }
    }

    fn conn(driver: Option<&str>, data: &[(&str, Option<&str>)]) -> NovaConnection {
        NovaConnection {
            driver_volume_type: driver.map(str::to_string),
            data: Some(
                data.iter()
                    .map(|(k, v)| (k.to_string(), v.map(str::to_string)))
                    .collect(),
            ),
        }
    }

    #[test]
    fn parse_sr_info_follows_nova() {
        let iqn = "iqn.2010-10.org.openstack:volume-00000001";
        let check = "9ade368b-674f-59c2-b177-48cc5c7b2ac7";
        let conf = NovaTargetConf::default();
        let other_port = NovaTargetConf {
            target_port: "3261".into(),
            target_host: Some("10.9.9.9".into()),
        };
        let base = |portal: Option<&str>| {
            conn(
                Some("iscsi"),
                &[
                    ("volume_id", Some("v1")),
                    ("target_portal", portal),
                    ("target_iqn", Some(iqn)),
                ],
            )
        };
        let uuid =
            |c: &NovaConnection, conf: &NovaTargetConf| parse_sr_info(c, conf).map(|i| i.uuid);
        // Nova's check value, with and without the port in the portal.
        assert_eq!(uuid(&base(Some("10.0.0.1:3260")), &conf).unwrap(), check);
        assert_eq!(uuid(&base(Some("10.0.0.1")), &conf).unwrap(), check);
        // A portless portal takes the destination's target_port.
        assert_eq!(
            uuid(&base(Some("10.0.0.1")), &other_port).unwrap(),
            nova_sr_uuid("10.0.0.1", "3261", iqn)
        );
        // A port in the portal wins over target_port.
        assert_eq!(
            uuid(&base(Some("10.0.0.1:3260")), &other_port).unwrap(),
            check
        );
        // An empty portal, or one that starts with ':', takes target_host (and the port rule as usual).
        assert_eq!(
            uuid(&base(Some("")), &other_port).unwrap(),
            nova_sr_uuid("10.9.9.9", "3261", iqn)
        );
        assert_eq!(
            uuid(&base(Some(":3260")), &other_port).unwrap(),
            nova_sr_uuid("10.9.9.9", "3260", iqn)
        );
        assert_eq!(
            uuid(&base(None), &other_port).unwrap(),
            nova_sr_uuid("10.9.9.9", "3261", iqn)
        );
        // ... and without target_host, Nova cannot connect the volume.
        assert!(uuid(&base(Some("")), &conf)
            .unwrap_err()
            .contains("target_host"));
        // The IPv6 quirk: "[fd00::5]:3260" is target "[fd00" and port "".
        assert_eq!(
            uuid(&base(Some("[fd00::5]:3260")), &conf).unwrap(),
            nova_sr_uuid("[fd00", "", iqn)
        );
        // sr_uuid in the data is used as given, even with a portal beside it.
        let provided = conn(
            Some("iscsi"),
            &[
                ("sr_uuid", Some("abc")),
                ("target_portal", Some("10.0.0.1:3260")),
            ],
        );
        let info = parse_sr_info(&provided, &conf).unwrap();
        assert_eq!(
            (info.uuid.as_str(), info.source),
            ("abc", NovaSrSource::Provided)
        );
        // Missing keys, nulls and other drivers are errors, as in Nova.
        for bad in [
            conn(Some("rbd"), &[("sr_uuid", Some("abc"))]),
            conn(None, &[("sr_uuid", Some("abc"))]),
            conn(Some("iscsi"), &[("sr_uuid", None)]),
            conn(
                Some("iscsi"),
                &[("target_portal", Some("h:1")), ("target_iqn", Some("i"))],
            ),
            conn(
                Some("iscsi"),
                &[("volume_id", Some("v")), ("target_portal", Some("h:1"))],
            ),
            conn(
                Some("iscsi"),
                &[
                    ("volume_id", None),
                    ("target_portal", Some("h:1")),
                    ("target_iqn", Some("i")),
                ],
            ),
            NovaConnection {
                driver_volume_type: Some("iscsi".into()),
                data: None,
            },
        ] {
            assert!(parse_sr_info(&bad, &conf).is_err(), "{bad:?}");
        }
        // xensm is connected like iscsi.
        assert!(parse_sr_info(&conn(Some("xensm"), &[("sr_uuid", Some("x"))]), &conf).is_ok());
    }
}
