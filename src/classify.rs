//! The classifier: Nova's SR naming rules as small pure functions (the new-style uuid, the portal
//! split, legacy recognition, which VMs are Nova instances). They follow docs/nova-sr-naming.md
//! exactly, including Nova's quirks (the port is the text after the first `:` of the portal; IPv6
//! portals split wrongly), because the point is to predict what Nova will compute, not what it
//! should. Applying them to a pool is [`crate::audit`]'s job; this module knows no source and no wire.

use crate::model::{NovaConnection, NovaValue, Vm};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use uuid::Uuid;

/// uuid5(nil, "volume_utils-SR_UUID"): the namespace of Nova's new-style SR uuids.
pub const NOVA_SR_NAMESPACE: Uuid = uuid::uuid!("3cca4135-a809-5bb3-af62-275fbfe87178");
/// The legacy SR uuid prefix (compared case-insensitively).
pub const LEGACY_PREFIX: &str = "FA15E-D15C-";
/// Nova's default iSCSI port: used when a portal gives none, and the destinations'
/// `[xenserver] target_port` unless `--nova-target-port` says otherwise. Defined here only.
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
/// `/dev/`; `^[hs]d[a-p]$` gives `ord(m[2]) - ord('a')`, `^x?vd[a-p]$` gives `ord(m[-1]) - ord('a')`,
/// `^[0-9]+$` gives `int(m)`; anything else is -1 in Nova, `None` here, and so is a negative result.
/// Python's `$` also matches before one trailing newline and Nova does not strip it: `sdb\n` is 1
/// (the third character), `xvdb\n` is `ord('\n') - ord('a')`, negative (no disk), `12\n` is 12
/// (`int()` ignores the newline). A trailing space matches nothing.
pub fn mountpoint_to_number(device_name: &str) -> Option<u64> {
    let m = device_name.strip_prefix("/dev/").unwrap_or(device_name);
    // What `$` lets through: the subject, or the subject without its one trailing newline.
    let before_dollar = m.strip_suffix('\n').unwrap_or(m);
    let letter = |c: u8| (b'a'..=b'p').contains(&c).then(|| u64::from(c - b'a'));
    match before_dollar.as_bytes() {
        [b'h' | b's', b'd', c] if (b'a'..=b'p').contains(c) => letter(m.as_bytes()[2]),
        [b'v', b'd', c] | [b'x', b'v', b'd', c] if (b'a'..=b'p').contains(c) => {
            letter(*m.as_bytes().last()?)
        }
        b if !b.is_empty() && b.iter().all(u8::is_ascii_digit) => before_dollar.parse().ok(),
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
        /// The IQN is a JSON number or boolean, which Nova prints as Python 2's `str()`.
        iqn_not_text: bool,
    },
}

/// The SR uuid a destination computes for one volume, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NovaSrInfo {
    pub uuid: String,
    pub source: NovaSrSource,
}

/// What Nova's `connect_volume` computes from a stored `connection_info`, step by step as Nova's
/// mitaka-eol code runs it (`volumeops._check_is_supported_driver_type`, then
/// `volume_utils.parse_sr_info` and `_parse_volume_info`): the driver must be `iscsi` or `xensm`;
/// `sr_uuid` in the data wins (every key `introduce_sr_keys` names must then be present); else
/// `volume_id`, `target_portal` and `target_iqn` must be present, the portal a string (or falsy),
/// none of volume id, target or IQN null, and with `auth_method == "CHAP"` both CHAP fields present;
/// the uuid is uuid5 over `target/port/iqn` as Python 2 prints them. `Err` says what Nova raises
/// instead: the destination cannot connect the volume at all.
pub fn parse_sr_info(conn: &NovaConnection, conf: &NovaTargetConf) -> Result<NovaSrInfo, String> {
    check_supported_driver(conn.driver_volume_type.as_deref())?;
    let data = conn
        .data
        .as_ref()
        .ok_or_else(|| "connection_info has no data object (Nova indexes it)".to_string())?;
    if let Some(provided) = data.get("sr_uuid") {
        check_introduce_sr_keys(data)?;
        let uuid = provided_sr_uuid(provided)?;
        return Ok(NovaSrInfo {
            uuid,
            source: NovaSrSource::Provided,
        });
    }
    parse_volume_info(data, conf)
}

/// A provided `sr_uuid` must be a JSON string: it is looked up with `SR.get_by_uuid` (an XML-RPC
/// int, double or boolean is not a uuid, and `None` cannot be marshalled) and becomes a key of
/// `migrate_data.sr_uuid_map`, a `DictOfStringsField` whose coercion in oslo.versionedobjects
/// (Mitaka: 1.x, `Dict.coerce`) raises `KeyTypeError` on a key that is not a string.
fn provided_sr_uuid(v: &NovaValue) -> Result<String, String> {
    match v {
        NovaValue::Text(s) => Ok(s.clone()),
        NovaValue::Null => Err("sr_uuid is null: XAPI's SR.get_by_uuid cannot be called with None".into()),
        NovaValue::Scalar { .. } => Err("sr_uuid is a JSON number or boolean, not a string: SR.get_by_uuid gets no uuid, and migrate_data.sr_uuid_map (a DictOfStringsField) raises KeyTypeError on a key that is not a string".into()),
        NovaValue::Array(_) | NovaValue::Object(_) | NovaValue::Present => {
            Err("sr_uuid is a JSON array or object, not text: XAPI rejects the SR it would name".into())
        }
    }
}

/// `_check_is_supported_driver_type`: `iscsi` and `xensm` only.
fn check_supported_driver(driver: Option<&str>) -> Result<(), String> {
    match driver {
        Some("iscsi" | "xensm") => Ok(()),
        Some(other) => Err(format!(
            "driver_volume_type {other:?} is not one the XenAPI driver connects (VolumeDriverNotFound)"
        )),
        None => Err("connection_info has no driver_volume_type (VolumeDriverNotFound)".into()),
    }
}

/// `for k in connection_data.get('introduce_sr_keys', {}): params[k] = connection_data[k]`: a string
/// is iterated by character, a list by element, an object by key; null, numbers and booleans are not
/// iterable; every item must be a key of the data.
fn check_introduce_sr_keys(data: &BTreeMap<String, NovaValue>) -> Result<(), String> {
    let keys: Vec<Option<String>> = match data.get("introduce_sr_keys") {
        None => return Ok(()),
        Some(NovaValue::Text(s)) => s.chars().map(|c| Some(c.to_string())).collect(),
        Some(NovaValue::Array(items)) => items.clone(),
        Some(NovaValue::Object(keys)) => keys.iter().cloned().map(Some).collect(),
        Some(_) => return Err("introduce_sr_keys is not iterable (TypeError)".into()),
    };
    for k in keys {
        match k {
            Some(k) if data.contains_key(&k) => {}
            Some(k) => {
                return Err(format!(
                    "introduce_sr_keys names {k:?}, which the connection data lacks (KeyError)"
                ))
            }
            None => {
                return Err(
                    "introduce_sr_keys holds a value that is not a key name (KeyError)".into(),
                )
            }
        }
    }
    Ok(())
}

/// The text Python 2's `"%s"` makes of a value Nova puts into the SR identity or looks up; `None`
/// for null. Arrays and objects are refused: Python would print its repr of them (dict order
/// included) and hand XAPI a value that is not a string.
fn value_text(v: &NovaValue, key: &str) -> Result<Option<String>, String> {
    match v {
        NovaValue::Null => Ok(None),
        NovaValue::Text(s) => Ok(Some(s.clone())),
        NovaValue::Scalar { text, .. } => Ok(Some(text.clone())),
        NovaValue::Array(_) | NovaValue::Object(_) | NovaValue::Present => Err(format!(
            "{key} is a JSON array or object, not text: XAPI rejects the SR it would name"
        )),
    }
}

/// `_parse_volume_info` with `_get_target_host` and `_get_target_port`, then the uuid.
fn parse_volume_info(
    data: &BTreeMap<String, NovaValue>,
    conf: &NovaTargetConf,
) -> Result<NovaSrInfo, String> {
    let key = |k: &str| {
        data.get(k)
            .ok_or_else(|| format!("the connection data has no {k} (KeyError)"))
    };
    let volume_id = key("volume_id")?;
    let portal = match key("target_portal")? {
        NovaValue::Text(s) => s.as_str(),
        NovaValue::Null => "",
        NovaValue::Scalar { truthy: false, .. } => "",
        NovaValue::Array(a) if a.is_empty() => "",
        NovaValue::Object(o) if o.is_empty() => "",
        _ => {
            return Err(
                "target_portal is not a string, and Nova splits it (AttributeError)".to_string(),
            )
        }
    };
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
    let Some(target) = target else {
        return Err(
            "the portal names no target host and no target_host is configured (StorageError)"
                .to_string(),
        );
    };
    if *volume_id == NovaValue::Null || *iqn == NovaValue::Null {
        return Err("volume_id or target_iqn is null (StorageError)".to_string());
    }
    check_chap_fields(data)?;
    let iqn_not_text = matches!(iqn, NovaValue::Scalar { .. });
    let iqn = value_text(iqn, "target_iqn")?.unwrap_or_default();
    Ok(NovaSrInfo {
        uuid: nova_sr_uuid(target, port, &iqn),
        source: NovaSrSource::Computed {
            target: target.to_string(),
            port: port.to_string(),
            iqn,
            port_from_conf,
            target_from_conf,
            iqn_not_text,
        },
    })
}

/// `if 'auth_method' in data and data['auth_method'] == 'CHAP'`: both CHAP fields are indexed.
fn check_chap_fields(data: &BTreeMap<String, NovaValue>) -> Result<(), String> {
    if data.get("auth_method") != Some(&NovaValue::Text("CHAP".into())) {
        return Ok(());
    }
    for k in ["auth_username", "auth_password"] {
        if !data.contains_key(k) {
            return Err(format!(
                "auth_method is CHAP but the connection data has no {k} (KeyError)"
            ));
        }
    }
    Ok(())
}

/// Python 2's `str()` of a float (what `"%s" % x` prints): `'%.12g'`, plus `.0` when the result
/// looks like an integer. `str(0.1 + 0.2) == '0.3'`, `str(1e16) == '1e+16'`, `str(100.0) == '100.0'`.
pub fn py2_float_text(v: f64) -> String {
    if v.is_nan() {
        return "nan".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf" } else { "-inf" }.into();
    }
    if v == 0.0 {
        return if v.is_sign_negative() { "-0.0" } else { "0.0" }.into();
    }
    let sci = format!("{v:.11e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or_default();
    if !(-4..12).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{}e{sign}{:02}", trim_fraction_zeros(mantissa), exp.abs());
    }
    let precision = usize::try_from(11 - exp).unwrap_or_default();
    let fixed = trim_fraction_zeros(&format!("{v:.precision$}"));
    if fixed.contains('.') {
        fixed
    } else {
        fixed + ".0"
    }
}

/// `1.2500` -> `1.25`, `3.000` -> `3`: what `%g` drops.
fn trim_fraction_zeros(s: &str) -> String {
    if !s.contains('.') {
        return s.to_string();
    }
    s.trim_end_matches('0').trim_end_matches('.').to_string()
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

/// How an SR uuid relates to Nova's conventions. `new` is exact: Nova computes a lower-case uuid and
/// XAPI's `SR.get_by_uuid` compares uuids as exact strings, so an upper-case copy is not found.
pub fn classify_sr(sr_uuid: &str, expected: Option<&str>) -> Naming {
    if legacy_volume_id(sr_uuid).is_some() {
        Naming::Legacy
    } else if expected == Some(sr_uuid) {
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
            ("9ADE368B-674F-59C2-B177-48CC5C7B2AC7", e, Naming::Other),
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
            // Nova's `ord(m[-1])` takes the newline itself: negative, no disk (regression:
            // mountpoint_trailing_newline_on_vd_forms).
            ("xvdb\n", None),
            ("vdb\n", None),
            ("12\n", Some(12)),
            ("sdb ", None),
            ("/dev/sdaa", None),
            ("/dev/nvme0n1", None),
            ("/dev/xvdB", None),
            ("dev/sdb", None),
            ("", None),
            ("/dev/", None),
            // `^[0-9]+$` wants digits only; Rust's u64 parser would take the sign.
            ("+3", None),
            ("/dev/+3", None),
        ] {
            assert_eq!(mountpoint_to_number(name), want, "{name:?}");
        }
    }

    fn conn(driver: Option<&str>, data: &[(&str, Option<&str>)]) -> NovaConnection {
        NovaConnection {
            driver_volume_type: driver.map(str::to_string),
            data: Some(
                data.iter()
                    .map(|(k, v)| {
                        let value = v.map_or(NovaValue::Null, |t| NovaValue::Text(t.to_string()));
                        (k.to_string(), value)
                    })
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

    #[test]
    fn volume_id_form_table() {
        for (s, want) in [
            ("0a1b2c3d-0000-4000-8000-000000000001", true),
            ("0A1B2C3D-0000-4000-8000-00000000000F", true),
            // The right length, a dash out of place.
            ("0a1b2c3d0-000-4000-8000-000000000001", false),
            // The right length, not hex.
            ("0a1b2c3d-0000-4000-8000-00000000000g", false),
            // Hex, but too short or too long.
            ("0a1b", false),
            ("0a1b2c3d-0000-4000-8000-0000000000011", false),
            ("", false),
        ] {
            assert_eq!(looks_like_volume_id(s), want, "{s:?}");
        }
    }

    /// `introduce_sr_keys` as Nova iterates it in `parse_sr_info` (mitaka-eol): `for k in
    /// connection_data.get('introduce_sr_keys', {}): params[k] = connection_data[k]`.
    #[test]
    fn introduce_sr_keys_must_name_keys_of_the_data() {
        let text = |s: &str| NovaValue::Text(s.to_string());
        let provided = |keys: Option<NovaValue>, extra: &[&str]| {
            let mut data: BTreeMap<String, NovaValue> = extra
                .iter()
                .map(|k| (k.to_string(), NovaValue::Present))
                .collect();
            data.insert("sr_uuid".into(), text("given"));
            if let Some(keys) = keys {
                data.insert("introduce_sr_keys".into(), keys);
            }
            NovaConnection {
                driver_volume_type: Some("iscsi".into()),
                data: Some(data),
            }
        };
        let list = |items: &[Option<&str>]| {
            NovaValue::Array(items.iter().map(|i| i.map(str::to_string)).collect())
        };
        for (keys, extra, ok) in [
            (None, &[][..], true),
            (Some(list(&[Some("sr_type")])), &["sr_type"][..], true),
            (Some(list(&[Some("sr_type")])), &[][..], false),
            // The keys may name sr_uuid and introduce_sr_keys themselves.
            (
                Some(list(&[Some("sr_uuid"), Some("introduce_sr_keys")])),
                &[][..],
                true,
            ),
            // An element that is not a string is no key of the data (KeyError).
            (Some(list(&[None])), &[][..], false),
            (Some(list(&[])), &[][..], true),
            // A string is iterated by character.
            (Some(text("ab")), &["a", "b"][..], true),
            (Some(text("ab")), &["a"][..], false),
            (Some(text("sr_type")), &["sr_type"][..], false),
            // An object by key.
            (Some(NovaValue::Object(vec!["k".into()])), &["k"][..], true),
            (Some(NovaValue::Object(vec!["k".into()])), &[][..], false),
            // null, numbers and booleans are not iterable (TypeError).
            (Some(NovaValue::Null), &[][..], false),
            (
                Some(NovaValue::Scalar {
                    text: "1".into(),
                    truthy: true,
                }),
                &[][..],
                false,
            ),
        ] {
            let conn = provided(keys, extra);
            let got = parse_sr_info(&conn, &NovaTargetConf::default()).map(|i| i.uuid);
            assert_eq!(got.is_ok(), ok, "{conn:?}: {got:?}");
            if ok {
                assert_eq!(got.unwrap(), "given");
            }
        }
    }

    /// `_get_target_host` takes `target_host` when the portal is falsy in Python (`None`, `''`, `0`,
    /// `False`, `[]`, `{}`); any other value that is not a string is split and raises
    /// AttributeError.
    #[test]
    fn falsy_portals_take_target_host_and_other_non_strings_raise() {
        let iqn = "iqn.2010-10.org.openstack:volume-00000001";
        let conf = NovaTargetConf {
            target_port: "3261".into(),
            target_host: Some("10.9.9.9".into()),
        };
        let from_conf = nova_sr_uuid("10.9.9.9", "3261", iqn);
        let scalar = |text: &str, truthy| NovaValue::Scalar {
            text: text.into(),
            truthy,
        };
        for (portal, want) in [
            (scalar("0", false), Some(from_conf.as_str())),
            (scalar("False", false), Some(from_conf.as_str())),
            (NovaValue::Array(vec![]), Some(from_conf.as_str())),
            (NovaValue::Object(vec![]), Some(from_conf.as_str())),
            (scalar("7", true), None),
            (NovaValue::Array(vec![Some("10.0.0.1:3260".into())]), None),
            (NovaValue::Object(vec!["10.0.0.1:3260".into()]), None),
            (NovaValue::Present, None),
        ] {
            let data: BTreeMap<String, NovaValue> = [
                ("volume_id", NovaValue::Text("v1".into())),
                ("target_portal", portal.clone()),
                ("target_iqn", NovaValue::Text(iqn.into())),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
            let conn = NovaConnection {
                driver_volume_type: Some("iscsi".into()),
                data: Some(data),
            };
            let got = parse_sr_info(&conn, &conf).map(|i| i.uuid);
            assert_eq!(got.as_deref().ok(), want, "{portal:?}: {got:?}");
        }
    }

    /// Python 2's `str()` of a float; the values were printed by Python 2.7 (`str(x)`), the same
    /// rows as tests/nova_exact.rs holds against the tool, here so that each branch of the
    /// function is held beside it.
    #[test]
    fn py2_float_text_table() {
        for (x, py2) in [
            (0.30000000000000004, "0.3"),
            (1e+16, "1e+16"),
            (100.0, "100.0"),
            (1.5e-07, "1.5e-07"),
            (123456789012.5, "123456789012.0"),
            (1234567890123.0, "1.23456789012e+12"),
            (999999999999.5, "1e+12"),
            (-0.0, "-0.0"),
            (0.0, "0.0"),
            (1e-05, "1e-05"),
            (0.0001, "0.0001"),
            (2.5, "2.5"),
            (0.3333333333333333, "0.333333333333"),
            (1e+300, "1e+300"),
            (-7.25e-12, "-7.25e-12"),
            (123456.789, "123456.789"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (f64::NAN, "nan"),
        ] {
            assert_eq!(py2_float_text(x), py2, "{x:?}");
        }
    }

    #[test]
    fn trim_fraction_zeros_table() {
        for (s, want) in [
            ("1.2500", "1.25"),
            ("3.000", "3"),
            ("-0.50", "-0.5"),
            // No fraction: trailing zeros are digits of the number.
            ("100", "100"),
            ("0", "0"),
        ] {
            assert_eq!(trim_fraction_zeros(s), want, "{s}");
        }
    }

    #[test]
    fn naming_names_are_the_report_words() {
        for (naming, word) in [
            (Naming::Legacy, "legacy"),
            (Naming::New, "new"),
            (Naming::Other, "other"),
        ] {
            assert_eq!(naming.as_str(), word);
            // report.json serialises the same word.
            assert_eq!(
                serde_json::to_value(naming).unwrap(),
                serde_json::Value::String(word.into())
            );
        }
    }
}
