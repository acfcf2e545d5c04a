//! The classifier: Nova's SR naming rules as small pure functions (the new-style uuid, the portal
//! split, legacy recognition, which VMs are Nova instances). They follow docs/nova-sr-naming.md
//! exactly, including Nova's quirks (the port is the text after the first `:` of the portal; IPv6
//! portals split wrongly), because the point is to predict what Nova will compute, not what it
//! should. Applying them to a pool is [`crate::audit`]'s job; this module knows no source and no wire.

use crate::model::Vm;
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

/// Nova's truthy spellings for `other_config` flags it writes (it writes `True`).
pub fn is_truthy(s: &str) -> bool {
    ["true", "1", "yes", "on"]
        .iter()
        .any(|t| s.trim().eq_ignore_ascii_case(t))
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
    fn truthy_table() {
        for (s, want) in [
            ("True", true),
            ("true", true),
            ("1", true),
            ("yes", true),
            ("False", false),
            ("", false),
            ("0", false),
        ] {
            assert_eq!(is_truthy(s), want, "{s}");
        }
    }
}
