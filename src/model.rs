//! The typed model of one pool as the audit sees it: pool, hosts, VMs, VBDs, VDIs, SRs and PBDs keyed
//! by their opaque refs, holding only the fields the audit reads. It is built the same way from an
//! offline dump row or from a live XML-RPC record (through [`FieldSource`]), which is what makes live
//! and offline audits give identical findings. Secrets (CHAP passwords, any `*password*`/`*secret*`
//! key) are dropped here, at ingestion, so no later stage can leak them.

use std::collections::BTreeMap;

pub type Ref = String;

/// A HashMap with rustc's Fx hash, for maps keyed by XAPI refs and uuids: SipHash's DoS resistance
/// buys nothing in an offline auditor and costs a third of a lookup.
pub type FastMap<K, V> = rustc_hash::FxHashMap<K, V>;
/// A HashSet with rustc's Fx hash.
pub type FastSet<K> = rustc_hash::FxHashSet<K>;
pub const NULL_REF: &str = "OpaqueRef:NULL";

/// The fields the audit reads, per table, under their wire names.
pub const AUDIT_FIELDS: &[(&str, &[&str])] = &[
    ("pool", &["uuid", "name_label", "master"]),
    (
        "host",
        &["uuid", "name_label", "address", "hostname", "metrics"],
    ),
    ("host_metrics", &["memory_total", "memory_free"]),
    (
        "VM",
        &[
            "uuid",
            "name_label",
            "is_a_template",
            "is_control_domain",
            "power_state",
            "resident_on",
            "other_config",
            "memory_static_max",
        ],
    ),
    (
        "VBD",
        &[
            "VM",
            "VDI",
            "userdevice",
            "bootable",
            "type",
            "currently_attached",
            "other_config",
        ],
    ),
    (
        "VDI",
        &[
            "uuid",
            "SR",
            "name_label",
            "other_config",
            "virtual_size",
            "physical_utilisation",
        ],
    ),
    (
        "SR",
        &[
            "uuid",
            "name_label",
            "name_description",
            "type",
            "content_type",
            "shared",
        ],
    ),
    (
        "PBD",
        &["host", "SR", "device_config", "currently_attached"],
    ),
];

/// The XAPI classes behind [`AUDIT_FIELDS`], as `event.from` and `get_all_records` name them.
pub const AUDIT_CLASSES: &[&str] = &[
    "pool",
    "host",
    "host_metrics",
    "VM",
    "VBD",
    "VDI",
    "SR",
    "PBD",
];

/// The fields the audit keeps for a table, or `None` for a table it does not read.
pub fn audit_fields(table: &str) -> Option<&'static [&'static str]> {
    AUDIT_FIELDS
        .iter()
        .find(|(t, _)| *t == table)
        .map(|(_, f)| *f)
}

/// True for a device_config / sm_config key that holds a secret.
pub fn is_secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    k.contains("password") || k.contains("secret") || k.contains("passwd")
}

/// A field that could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{table} {reference}: field {field}: {message}")]
pub struct ModelError {
    pub table: String,
    pub reference: String,
    pub field: String,
    pub message: String,
}

/// Where a record's fields come from: a dump row or an XML-RPC struct.
pub trait FieldSource {
    /// The field as text; an absent field is empty.
    fn text(&self, field: &str) -> Result<String, String>;
    /// The field as a `(k -> v)` map; absent or empty is an empty map.
    fn map(&self, field: &str) -> Result<Vec<(String, String)>, String>;
    /// The field as a set of strings.
    fn set(&self, field: &str) -> Result<Vec<String>, String>;
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pool {
    pub reference: Ref,
    pub uuid: String,
    pub name_label: String,
    pub master: Ref,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Host {
    pub uuid: String,
    pub name_label: String,
    pub address: String,
    /// The host's own hostname: what Nova's XenAPI driver reports as the hypervisor hostname (the
    /// `Host` of `openstack server list --long`).
    pub hostname: String,
    /// Its `host_metrics` record (memory figures), `OpaqueRef:NULL` or empty when unknown.
    pub metrics: Ref,
}

/// A host's memory as XAPI's `host_metrics` reports it, in bytes (`None`: absent or unreadable,
/// as in dumps that did not capture the table).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostMetrics {
    pub memory_total: Option<u64>,
    pub memory_free: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Vm {
    pub uuid: String,
    pub name_label: String,
    pub is_a_template: bool,
    pub is_control_domain: bool,
    pub power_state: String,
    pub resident_on: Ref,
    pub other_config: BTreeMap<String, String>,
    /// The most memory it can have, in bytes: what a host must have free to receive it.
    pub memory_static_max: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Vbd {
    pub vm: Ref,
    pub vdi: Ref,
    pub userdevice: String,
    pub bootable: bool,
    pub kind: String,
    pub currently_attached: bool,
    pub other_config: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Vdi {
    pub uuid: String,
    pub sr: Ref,
    pub name_label: String,
    pub other_config: BTreeMap<String, String>,
    /// Bytes the disk can hold, and bytes it takes on its SR (what a cold migration copies).
    pub virtual_size: Option<u64>,
    pub physical_utilisation: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sr {
    pub uuid: String,
    pub name_label: String,
    pub name_description: String,
    pub kind: String,
    pub content_type: String,
    pub shared: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pbd {
    pub host: Ref,
    pub sr: Ref,
    /// device_config without its secrets.
    pub device_config: BTreeMap<String, String>,
    /// Whether device_config carried CHAP credentials (the password itself is never kept).
    pub chap: bool,
    pub currently_attached: bool,
}

/// One pool, as read from a dump or fetched live.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    pub pool: Pool,
    pub hosts: FastMap<Ref, Host>,
    pub host_metrics: FastMap<Ref, HostMetrics>,
    pub vms: FastMap<Ref, Vm>,
    pub vbds: FastMap<Ref, Vbd>,
    pub vdis: FastMap<Ref, Vdi>,
    pub srs: FastMap<Ref, Sr>,
    pub pbds: FastMap<Ref, Pbd>,
}

fn is_true(s: &str) -> bool {
    s.eq_ignore_ascii_case("true") || s == "1"
}

/// A byte count as XAPI writes it (an int, or its text); anything else is unknown, not an error:
/// the figures serve the plan's estimates, never the audit's verdicts.
fn bytes(s: &str) -> Option<u64> {
    s.trim().parse().ok()
}

fn plain_map(pairs: Vec<(String, String)>) -> BTreeMap<String, String> {
    pairs.into_iter().collect()
}

/// Accumulates records class by class into a [`Snapshot`], whatever their source.
#[derive(Debug, Default)]
pub struct SnapshotBuilder {
    snapshot: Snapshot,
    pools_seen: usize,
}

impl SnapshotBuilder {
    /// Add one record of `class` (case-insensitive XAPI class name). Unknown classes are ignored.
    pub fn add(
        &mut self,
        class: &str,
        reference: &str,
        rec: &impl FieldSource,
    ) -> Result<(), ModelError> {
        let f = RecordFields {
            class,
            reference,
            rec,
        };
        let r = reference.to_string();
        let s = &mut self.snapshot;
        match class.to_ascii_lowercase().as_str() {
            "pool" => {
                self.pools_seen += 1;
                // A dump holds one pool row; keep the first deterministically.
                if self.pools_seen == 1 {
                    s.pool = Pool {
                        reference: r,
                        uuid: f.text("uuid")?,
                        name_label: f.text("name_label")?,
                        master: f.text("master")?,
                    };
                }
            }
            "host" => {
                s.hosts.insert(r, host_of(&f)?);
            }
            "host_metrics" => {
                s.host_metrics.insert(r, host_metrics_of(&f)?);
            }
            "vm" => {
                s.vms.insert(r, vm_of(&f)?);
            }
            "vbd" => {
                s.vbds.insert(r, vbd_of(&f)?);
            }
            "vdi" => {
                s.vdis.insert(r, vdi_of(&f)?);
            }
            "sr" => {
                s.srs.insert(r, sr_of(&f)?);
            }
            "pbd" => {
                s.pbds.insert(r, pbd_of(&f)?);
            }
            _ => {}
        }
        Ok(())
    }

    pub fn finish(self) -> Snapshot {
        self.snapshot
    }
}

/// One record's fields, read with its class and ref named in every error.
struct RecordFields<'a, S> {
    class: &'a str,
    reference: &'a str,
    rec: &'a S,
}

impl<S: FieldSource> RecordFields<'_, S> {
    fn err(&self, field: &str, message: String) -> ModelError {
        ModelError {
            table: self.class.to_string(),
            reference: self.reference.to_string(),
            field: field.to_string(),
            message,
        }
    }

    fn text(&self, field: &str) -> Result<String, ModelError> {
        self.rec.text(field).map_err(|m| self.err(field, m))
    }

    fn map(&self, field: &str) -> Result<BTreeMap<String, String>, ModelError> {
        self.rec
            .map(field)
            .map_err(|m| self.err(field, m))
            .map(plain_map)
    }

    fn flag(&self, field: &str) -> Result<bool, ModelError> {
        Ok(is_true(&self.text(field)?))
    }

    fn bytes(&self, field: &str) -> Result<Option<u64>, ModelError> {
        Ok(bytes(&self.text(field)?))
    }
}

fn host_of(f: &RecordFields<impl FieldSource>) -> Result<Host, ModelError> {
    Ok(Host {
        uuid: f.text("uuid")?,
        name_label: f.text("name_label")?,
        address: f.text("address")?,
        hostname: f.text("hostname")?,
        metrics: f.text("metrics")?,
    })
}

fn host_metrics_of(f: &RecordFields<impl FieldSource>) -> Result<HostMetrics, ModelError> {
    Ok(HostMetrics {
        memory_total: f.bytes("memory_total")?,
        memory_free: f.bytes("memory_free")?,
    })
}

fn vm_of(f: &RecordFields<impl FieldSource>) -> Result<Vm, ModelError> {
    Ok(Vm {
        uuid: f.text("uuid")?,
        name_label: f.text("name_label")?,
        is_a_template: f.flag("is_a_template")?,
        is_control_domain: f.flag("is_control_domain")?,
        power_state: f.text("power_state")?,
        resident_on: f.text("resident_on")?,
        other_config: f.map("other_config")?,
        memory_static_max: f.bytes("memory_static_max")?,
    })
}

fn vbd_of(f: &RecordFields<impl FieldSource>) -> Result<Vbd, ModelError> {
    Ok(Vbd {
        vm: f.text("VM")?,
        vdi: f.text("VDI")?,
        userdevice: f.text("userdevice")?,
        bootable: f.flag("bootable")?,
        kind: f.text("type")?,
        currently_attached: f.flag("currently_attached")?,
        other_config: f.map("other_config")?,
    })
}

fn vdi_of(f: &RecordFields<impl FieldSource>) -> Result<Vdi, ModelError> {
    Ok(Vdi {
        uuid: f.text("uuid")?,
        sr: f.text("SR")?,
        name_label: f.text("name_label")?,
        other_config: f.map("other_config")?,
        virtual_size: f.bytes("virtual_size")?,
        physical_utilisation: f.bytes("physical_utilisation")?,
    })
}

fn sr_of(f: &RecordFields<impl FieldSource>) -> Result<Sr, ModelError> {
    Ok(Sr {
        uuid: f.text("uuid")?,
        name_label: f.text("name_label")?,
        name_description: f.text("name_description")?,
        kind: f.text("type")?,
        content_type: f.text("content_type")?,
        shared: f.flag("shared")?,
    })
}

/// A PBD, its secrets dropped (a CHAP secret, any password): `chap` remembers that it had CHAP.
fn pbd_of(f: &RecordFields<impl FieldSource>) -> Result<Pbd, ModelError> {
    let mut device_config = f.map("device_config")?;
    let before = device_config.len();
    device_config.retain(|k, _| !is_secret_key(k));
    let chap = before != device_config.len() || device_config.contains_key("chapuser");
    Ok(Pbd {
        host: f.text("host")?,
        sr: f.text("SR")?,
        device_config,
        chap,
        currently_attached: f.flag("currently_attached")?,
    })
}

impl Snapshot {
    /// VBD refs per VM ref, rebuilt from the many side (VBD.VM): dumps may hold stale VM.VBDs.
    pub fn vbds_by_vm(&self) -> FastMap<&str, Vec<&str>> {
        let mut m: FastMap<&str, Vec<&str>> = FastMap::default();
        for (r, vbd) in &self.vbds {
            m.entry(vbd.vm.as_str()).or_default().push(r.as_str());
        }
        m
    }

    /// PBD refs per SR ref, rebuilt from PBD.SR.
    pub fn pbds_by_sr(&self) -> FastMap<&str, Vec<&str>> {
        let mut m: FastMap<&str, Vec<&str>> = FastMap::default();
        for (r, pbd) in &self.pbds {
            m.entry(pbd.sr.as_str()).or_default().push(r.as_str());
        }
        m
    }

    /// VDI refs per SR ref, rebuilt from VDI.SR.
    pub fn vdis_by_sr(&self) -> FastMap<&str, Vec<&str>> {
        let mut m: FastMap<&str, Vec<&str>> = FastMap::default();
        for (r, vdi) in &self.vdis {
            m.entry(vdi.sr.as_str()).or_default().push(r.as_str());
        }
        m
    }
}

/// One instance as Nova lists it: a row of `openstack server list --all-projects --long -f json`, or
/// of an export of Nova's `instances` table (or, later, Nova's database).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NovaServer {
    pub uuid: String,
    pub name: String,
    /// `Status` (ACTIVE, SHUTOFF, ...) or `vm_state` (active, stopped, ...).
    pub status: String,
    pub power_state: String,
    /// Nova's `instances.host` (`Host` of the server list, `OS-EXT-SRV-ATTR:host`): the
    /// nova-compute *service's* host name, for the XenAPI driver the compute VM's `CONF.host`, which
    /// is not the hypervisor's name.
    pub host: String,
    /// Nova's `instances.node` (`OS-EXT-SRV-ATTR:hypervisor_hostname`): for the XenAPI driver the XAPI
    /// host record's `hostname`. Empty when the export does not carry it (the server list does not).
    pub node: String,
    pub project_id: String,
    /// Where it was read: `file:line` or `file: record N`.
    pub source: String,
}

/// One value of a stored `connection_info['data']`, kept only as far as Nova's code looks at it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NovaValue {
    /// JSON `null` (Python's `None`).
    Null,
    /// A JSON string.
    Text(String),
    /// A JSON number or boolean, as Python 2's `str()` prints it (`True`, `7`, `0.3`, `1e+16`).
    Scalar {
        text: String,
        /// Python's truthiness of it (`0`, `0.0`, `False` are false).
        truthy: bool,
    },
    /// A JSON array: each element's text where it is a string (what iterating it yields), `None`
    /// for other elements.
    Array(Vec<Option<String>>),
    /// A JSON object: its keys.
    Object(Vec<String>),
    /// A key Nova's code may only test for presence (CHAP username and password, keys named by
    /// `introduce_sr_keys`, anything else): the value is not kept, so no secret survives the read.
    Present,
}

/// Nova's stored `connection_info` of one volume, with every secret dropped when it was read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NovaConnection {
    /// `driver_volume_type` (`iscsi`, ...), `None` when the key is absent.
    pub driver_volume_type: Option<String>,
    /// The `data` object: every key, with the value of those Nova's `parse_sr_info` reads (the rest
    /// [`NovaValue::Present`]); an absent key is absent (Nova tells absent and null apart). `None`
    /// when `data` is absent or not an object.
    pub data: Option<BTreeMap<String, NovaValue>>,
}

/// A BDM's stored `connection_info` as `DriverVolumeBlockDevice._transform` reads it at mitaka-eol
/// (`jsonutils.loads`, with `TypeError` caught as `None`). Nova refreshes it from Cinder in
/// `pre_live_migration` only when it is non-empty, so the first two kinds reach `connect_volume`
/// as stored, and both make Nova raise.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum StoredConnection {
    /// NULL, or the JSON text `null`: Nova holds `None`, and `connect_volume(None)` raises
    /// `TypeError` in `_check_is_supported_driver_type`.
    #[default]
    Null,
    /// Text Nova raises on before any lookup: an empty string (`ValueError` in `_transform`), or
    /// JSON that is not an object (`TypeError` when `connect_volume` indexes it). Says which.
    Unreadable(String),
    /// A JSON object, with every secret dropped.
    Object(NovaConnection),
}

impl StoredConnection {
    /// The object, when the stored text is one.
    pub fn object(&self) -> Option<&NovaConnection> {
        match self {
            StoredConnection::Object(c) => Some(c),
            _ => None,
        }
    }
}

/// One row of Nova's `block_device_mapping` for a volume (`destination_type = 'volume'`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NovaBdm {
    pub instance_uuid: String,
    pub volume_id: String,
    pub device_name: String,
    pub boot_index: String,
    /// The stored `connection_info` as Nova's code reads it (NULL, unreadable, or an object).
    pub connection: StoredConnection,
    /// Where it was read: `file:line` or `file: record N`.
    pub source: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A record as field/value text pairs, in the dump's encoding.
    struct Row {
        reference: String,
        fields: Vec<(String, String)>,
    }

    impl FieldSource for Row {
        fn text(&self, field: &str) -> Result<String, String> {
            Ok(self
                .fields
                .iter()
                .find(|(k, _)| k == field)
                .map(|(_, v)| v.clone())
                .unwrap_or_default())
        }
        fn map(&self, field: &str) -> Result<Vec<(String, String)>, String> {
            match self.text(field)?.as_str() {
                "" => Ok(Vec::new()),
                "(('target' '10.0.0.1') ('chapuser' 'u') ('chappassword' 's3cr3t') ('incoming_chappassword' 'x'))" => Ok([("target", "10.0.0.1"), ("chapuser", "u"), ("chappassword", "s3cr3t"), ("incoming_chappassword", "x")].iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()),
                other => Err(format!("unterminated map {other:?}")),
            }
        }
        fn set(&self, _field: &str) -> Result<Vec<String>, String> {
            Ok(Vec::new())
        }
    }

    #[test]
    fn secrets_are_dropped_at_ingestion() {
        let row = Row {
            reference: "OpaqueRef:pbd".into(),
            fields: vec![(
                "device_config".into(),
                "(('target' '10.0.0.1') ('chapuser' 'u') ('chappassword' 's3cr3t') ('incoming_chappassword' 'x'))".into(),
            )],
        };
        let mut b = SnapshotBuilder::default();
        b.add("PBD", &row.reference, &row).unwrap();
        let snap = b.finish();
        let pbd = &snap.pbds["OpaqueRef:pbd"];
        assert!(pbd.chap);
        assert_eq!(
            pbd.device_config.keys().collect::<Vec<_>>(),
            vec!["chapuser", "target"]
        );
        assert!(!format!("{snap:?}").contains("s3cr3t"));
    }

    #[test]
    fn malformed_map_names_table_ref_and_field() {
        let row = Row {
            reference: "OpaqueRef:v".into(),
            fields: vec![("other_config".into(), "(('a' ".into())],
        };
        let mut b = SnapshotBuilder::default();
        let err = b.add("VM", &row.reference, &row).unwrap_err().to_string();
        assert!(
            err.starts_with("VM OpaqueRef:v: field other_config"),
            "{err}"
        );
    }
}
