//! Dump rows as model records: a dump [`Row`] is a [`FieldSource`] for the model's builder (its
//! maps and sets decoded by the dump's s-expression codec), a read dump becomes a [`Snapshot`], and a
//! snapshot becomes the dump writer's tables again (`capture`). The model knows nothing of dumps; this
//! is the one place where the two meet.

use super::codec::{parse_map, parse_set};
use super::{Database, DumpTable, FieldValue, Row};
use crate::model::{
    FastMap, FieldSource, ModelError, Ref, Snapshot, SnapshotBuilder, Sr, Vbd, Vdi, Vm,
    AUDIT_CLASSES,
};
use std::collections::BTreeMap;

impl FieldSource for Row {
    fn text(&self, field: &str) -> Result<String, String> {
        Ok(self.get(field).unwrap_or_default().to_string())
    }
    fn map(&self, field: &str) -> Result<Vec<(String, String)>, String> {
        match self.get(field) {
            None | Some("") => Ok(Vec::new()),
            Some(v) => parse_map(v).map_err(|e| e.to_string()),
        }
    }
    fn set(&self, field: &str) -> Result<Vec<String>, String> {
        match self.get(field) {
            None | Some("") => Ok(Vec::new()),
            Some(v) => parse_set(v).map_err(|e| e.to_string()),
        }
    }
}

/// Build from a dump read with [`crate::dump::Keep::Audit`].
pub fn snapshot_from_database(db: &Database) -> Result<Snapshot, ModelError> {
    let mut b = SnapshotBuilder::default();
    for class in AUDIT_CLASSES {
        for row in db.table(class) {
            b.add(class, &row.reference, row)?;
        }
    }
    Ok(b.finish())
}

/// A map's entries in ref order, so that what is written from it is the same on every run.
fn sorted<T>(m: &FastMap<Ref, T>) -> Vec<(&Ref, &T)> {
    let mut v: Vec<_> = m.iter().collect();
    v.sort_by(|a, b| a.0.cmp(b.0));
    v
}

/// The tables of this snapshot in the dump writer's form (used by `capture`): only the audited
/// fields, secrets already gone.
pub fn snapshot_tables(snap: &Snapshot) -> Vec<DumpTable<'static>> {
    let p = &snap.pool;
    let pool_row = (
        p.reference.clone(),
        fields(vec![
            ("uuid", text(&p.uuid)),
            ("name_label", text(&p.name_label)),
            ("master", text(&p.master)),
        ]),
    );
    vec![
        ("pool", vec![pool_row]),
        table("host", &snap.hosts, |h| {
            vec![
                ("uuid", text(&h.uuid)),
                ("name_label", text(&h.name_label)),
                ("address", text(&h.address)),
                ("hostname", text(&h.hostname)),
                ("metrics", text(&h.metrics)),
            ]
        }),
        table("host_metrics", &snap.host_metrics, |m| {
            [
                bytes("memory_total", m.memory_total),
                bytes("memory_free", m.memory_free),
            ]
            .into_iter()
            .flatten()
            .collect()
        }),
        table("VM", &snap.vms, vm_fields),
        table("VBD", &snap.vbds, vbd_fields),
        table("VDI", &snap.vdis, vdi_fields),
        table("SR", &snap.srs, sr_fields),
        table("PBD", &snap.pbds, |p| {
            vec![
                ("host", text(&p.host)),
                ("SR", text(&p.sr)),
                ("device_config", map(&p.device_config)),
                ("currently_attached", FieldValue::from(p.currently_attached)),
            ]
        }),
    ]
}

/// A field list in the writer's form.
type Fields = Vec<(&'static str, FieldValue)>;

/// One table of the dump: every record of `records` in ref order, its fields from `fields_of`.
fn table<T>(
    name: &'static str,
    records: &FastMap<Ref, T>,
    fields_of: impl Fn(&T) -> Fields,
) -> DumpTable<'static> {
    let rows = sorted(records)
        .into_iter()
        .map(|(r, record)| (r.clone(), fields(fields_of(record))))
        .collect();
    (name, rows)
}

fn fields(pairs: Fields) -> Vec<(String, FieldValue)> {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

fn text(s: &str) -> FieldValue {
    FieldValue::Text(s.to_string())
}

fn map(m: &BTreeMap<String, String>) -> FieldValue {
    FieldValue::Map(m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
}

/// A byte count only when known: a dump without it reads back as unknown, as it was.
fn bytes(name: &'static str, v: Option<u64>) -> Option<(&'static str, FieldValue)> {
    v.map(|v| (name, FieldValue::Text(v.to_string())))
}

fn vm_fields(v: &Vm) -> Fields {
    vec![
        ("uuid", text(&v.uuid)),
        ("name_label", text(&v.name_label)),
        ("is_a_template", FieldValue::from(v.is_a_template)),
        ("is_control_domain", FieldValue::from(v.is_control_domain)),
        ("power_state", text(&v.power_state)),
        ("resident_on", text(&v.resident_on)),
        ("other_config", map(&v.other_config)),
    ]
    .into_iter()
    .chain(bytes("memory_static_max", v.memory_static_max))
    .collect()
}

fn vbd_fields(v: &Vbd) -> Fields {
    vec![
        ("VM", text(&v.vm)),
        ("VDI", text(&v.vdi)),
        ("userdevice", text(&v.userdevice)),
        ("bootable", FieldValue::from(v.bootable)),
        ("type", text(&v.kind)),
        ("currently_attached", FieldValue::from(v.currently_attached)),
        ("other_config", map(&v.other_config)),
    ]
}

fn vdi_fields(v: &Vdi) -> Fields {
    vec![
        ("uuid", text(&v.uuid)),
        ("SR", text(&v.sr)),
        ("name_label", text(&v.name_label)),
        ("other_config", map(&v.other_config)),
    ]
    .into_iter()
    .chain(bytes("virtual_size", v.virtual_size))
    .chain(bytes("physical_utilisation", v.physical_utilisation))
    .collect()
}

fn sr_fields(s: &Sr) -> Fields {
    vec![
        ("uuid", text(&s.uuid)),
        ("name_label", text(&s.name_label)),
        ("name_description", text(&s.name_description)),
        ("type", text(&s.kind)),
        ("content_type", text(&s.content_type)),
        ("shared", FieldValue::from(s.shared)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dump::{read_dump, read_dump_from, write_dump, Keep};

    /// `capture` writes what it read: a snapshot written as dump tables and read back is the same
    /// snapshot, every audited field of every class (a field left out of `snapshot_tables` reads
    /// back empty). The bug: hosts' `hostname` (audited since coverage maps Nova's service hosts
    /// to XAPI hosts) was not written, so a captured dump lost that map.
    #[test]
    fn regression_capture_dropped_host_hostname() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        for dump in ["pool-east.xml", "pool-west.xml"] {
            let path = root.join("fixtures/demo/dumps").join(dump);
            let before = snapshot_from_database(&read_dump(&path, Keep::Audit).unwrap()).unwrap();
            let bytes = write_dump(Vec::new(), &snapshot_tables(&before)).unwrap();
            let db = read_dump_from(std::io::Cursor::new(bytes), &path, Keep::Audit).unwrap();
            let after = snapshot_from_database(&db).unwrap();
            assert!(!before.vms.is_empty() && !before.pbds.is_empty(), "{dump}");
            assert_eq!(before.pool, after.pool, "{dump}");
            assert_eq!(before.hosts, after.hosts, "{dump}");
            assert_eq!(before.host_metrics, after.host_metrics, "{dump}");
            assert_eq!(before.vms, after.vms, "{dump}");
            assert_eq!(before.vbds, after.vbds, "{dump}");
            assert_eq!(before.vdis, after.vdis, "{dump}");
            assert_eq!(before.srs, after.srs, "{dump}");
            assert_eq!(before.pbds, after.pbds, "{dump}");
        }
    }
}
