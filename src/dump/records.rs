//! Dump rows as model records: a dump [`Row`] is a [`FieldSource`] for the model's builder (its
//! maps and sets decoded by the dump's s-expression codec), a read dump becomes a [`Snapshot`], and a
//! snapshot becomes the dump writer's tables again (`capture`). The model knows nothing of dumps; this
//! is the one place where the two meet.

use super::codec::{parse_map, parse_set};
use super::{Database, DumpTable, FieldValue, Row};
use crate::model::{
    FastMap, FieldSource, ModelError, Ref, Snapshot, SnapshotBuilder, AUDIT_CLASSES,
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
    use FieldValue as V;
    let t = |s: &str| V::Text(s.to_string());
    let b = |x: bool| V::from(x);
    let m = |m: &BTreeMap<String, String>| {
        V::Map(m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
    };
    let f = |pairs: Vec<(&str, V)>| {
        pairs
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect::<Vec<_>>()
    };
    // A byte count only when known: a dump without it reads back as unknown, as it was.
    let n = |name: &'static str, v: Option<u64>| v.map(|v| (name, V::Text(v.to_string())));
    let p = &snap.pool;
    vec![
        (
            "pool",
            vec![(
                p.reference.clone(),
                f(vec![
                    ("uuid", t(&p.uuid)),
                    ("name_label", t(&p.name_label)),
                    ("master", t(&p.master)),
                ]),
            )],
        ),
        (
            "host",
            sorted(&snap.hosts)
                .into_iter()
                .map(|(r, h)| {
                    (
                        r.clone(),
                        f(vec![
                            ("uuid", t(&h.uuid)),
                            ("name_label", t(&h.name_label)),
                            ("address", t(&h.address)),
                            ("metrics", t(&h.metrics)),
                        ]),
                    )
                })
                .collect(),
        ),
        (
            "host_metrics",
            sorted(&snap.host_metrics)
                .into_iter()
                .map(|(r, m)| {
                    let fields = [
                        n("memory_total", m.memory_total),
                        n("memory_free", m.memory_free),
                    ];
                    (r.clone(), f(fields.into_iter().flatten().collect()))
                })
                .collect(),
        ),
        (
            "VM",
            sorted(&snap.vms)
                .into_iter()
                .map(|(r, v)| {
                    (
                        r.clone(),
                        f(vec![
                            ("uuid", t(&v.uuid)),
                            ("name_label", t(&v.name_label)),
                            ("is_a_template", b(v.is_a_template)),
                            ("is_control_domain", b(v.is_control_domain)),
                            ("power_state", t(&v.power_state)),
                            ("resident_on", t(&v.resident_on)),
                            ("other_config", m(&v.other_config)),
                        ]
                        .into_iter()
                        .chain(n("memory_static_max", v.memory_static_max))
                        .collect()),
                    )
                })
                .collect(),
        ),
        (
            "VBD",
            sorted(&snap.vbds)
                .into_iter()
                .map(|(r, v)| {
                    (
                        r.clone(),
                        f(vec![
                            ("VM", t(&v.vm)),
                            ("VDI", t(&v.vdi)),
                            ("userdevice", t(&v.userdevice)),
                            ("bootable", b(v.bootable)),
                            ("type", t(&v.kind)),
                            ("currently_attached", b(v.currently_attached)),
                            ("other_config", m(&v.other_config)),
                        ]),
                    )
                })
                .collect(),
        ),
        (
            "VDI",
            sorted(&snap.vdis)
                .into_iter()
                .map(|(r, v)| {
                    (
                        r.clone(),
                        f(vec![
                            ("uuid", t(&v.uuid)),
                            ("SR", t(&v.sr)),
                            ("name_label", t(&v.name_label)),
                            ("other_config", m(&v.other_config)),
                        ]
                        .into_iter()
                        .chain(n("virtual_size", v.virtual_size))
                        .chain(n("physical_utilisation", v.physical_utilisation))
                        .collect()),
                    )
                })
                .collect(),
        ),
        (
            "SR",
            sorted(&snap.srs)
                .into_iter()
                .map(|(r, s)| {
                    (
                        r.clone(),
                        f(vec![
                            ("uuid", t(&s.uuid)),
                            ("name_label", t(&s.name_label)),
                            ("name_description", t(&s.name_description)),
                            ("type", t(&s.kind)),
                            ("content_type", t(&s.content_type)),
                            ("shared", b(s.shared)),
                        ]),
                    )
                })
                .collect(),
        ),
        (
            "PBD",
            sorted(&snap.pbds)
                .into_iter()
                .map(|(r, p)| {
                    (
                        r.clone(),
                        f(vec![
                            ("host", t(&p.host)),
                            ("SR", t(&p.sr)),
                            ("device_config", m(&p.device_config)),
                            ("currently_attached", b(p.currently_attached)),
                        ]),
                    )
                })
                .collect(),
        ),
    ]
}
