//! The dump reader against the real XenCenter dumps in fixtures/xapi-dumps: every one reads, with the same
//! per-table row counts as a plain XML parser (roxmltree) finds; gzip is detected; a truncated or
//! corrupt dump is an error that names the file.

use crate::util;

use std::collections::BTreeMap;
use std::io::Write;
use xen_sr_audit::dump::{read_dump, Keep};

fn dumps() -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(util::real_dumps())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "xml" || e == "db"))
        .collect();
    v.sort();
    assert!(v.len() >= 7, "expected the 7 real dumps, found {v:?}");
    v
}

fn plain_counts(text: &str) -> BTreeMap<String, usize> {
    let doc = roxmltree::Document::parse(text).unwrap();
    doc.root_element()
        .children()
        .filter(|n| n.has_tag_name("table"))
        .map(|t| {
            (
                t.attribute("name").unwrap().to_string(),
                t.children().filter(|r| r.has_tag_name("row")).count(),
            )
        })
        .collect()
}

#[test]
fn every_real_dump_reads_with_plain_parser_row_counts() {
    for path in dumps() {
        let text = std::fs::read_to_string(&path).unwrap();
        let want = plain_counts(&text);
        let db = read_dump(&path, Keep::Audit).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(db.row_counts, want, "{}", path.display());
        assert!(want["VM"] > 0 && want["SR"] > 0);
        // Kept rows of audited tables match too, and the typed model builds.
        for t in ["VM", "VBD", "VDI", "SR", "PBD", "host", "pool"] {
            assert_eq!(db.table(t).len(), want[t], "{} {t}", path.display());
        }
        let snap = xen_sr_audit::dump::snapshot_from_database(&db)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(!snap.pool.uuid.is_empty(), "{}: pool uuid", path.display());
        // Real dumps hold no Nova instances.
        assert!(xen_sr_audit::audit::audit_pool(&snap, &Default::default())
            .instances
            .is_empty());
    }
}

#[test]
fn real_iscsi_pbd_device_config_and_legacy_spaces_decode() {
    let path = util::real_dumps().join("TampaTwoHostPoolSelectioniSCSI.xml");
    let db = read_dump(&path, Keep::Audit).unwrap();
    let snap = xen_sr_audit::dump::snapshot_from_database(&db).unwrap();
    let iscsi: Vec<_> = snap
        .pbds
        .values()
        .filter(|p| p.device_config.contains_key("targetIQN"))
        .collect();
    assert!(!iscsi.is_empty());
    assert_eq!(iscsi[0].device_config["port"], "3260");
}

#[test]
fn legacy_double_space_protection_decodes() {
    // boston-db.xml writes a CD drive's description with the pre-2017 %_ (two spaces) form.
    let db = read_dump(
        &util::real_dumps().join("boston-db.xml"),
        Keep::AuditTablesAllColumns,
    )
    .unwrap();
    let descriptions: Vec<&str> = db
        .table("VDI")
        .iter()
        .filter_map(|r| r.get("name_description"))
        .collect();
    assert!(
        descriptions.contains(&"TSSTcorp model CD-ROM  SH-C522C rev TS03 type 5"),
        "{descriptions:?}"
    );
    assert!(descriptions.iter().all(|d| !d.contains("%_")));
}

#[test]
fn old_double_quoted_sexpressions_decode() {
    // XenServer 6.0 era dumps quote with "; state.db is one of them.
    let path = util::real_dumps().join("state.db");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.contains("((&quot;") || text.contains("((\""),
        "fixture uses double quotes"
    );
    let db = read_dump(&path, Keep::Audit).unwrap();
    let snap = xen_sr_audit::dump::snapshot_from_database(&db).unwrap();
    let vbd_oc: Vec<_> = snap
        .vbds
        .values()
        .flat_map(|v| v.other_config.iter())
        .collect();
    assert!(
        vbd_oc.iter().any(|(k, v)| *k == "owner" && *v == "true"),
        "{vbd_oc:?}"
    );
    // A NetApp PBD there carries password_transformed: dropped at ingestion like every secret.
    assert!(snap
        .pbds
        .values()
        .any(|p| p.device_config.get("username").is_some_and(|u| u == "root")));
    assert!(snap
        .pbds
        .values()
        .all(|p| !p.device_config.contains_key("password_transformed")));
}

#[test]
fn gzip_state_db_is_detected_by_magic_bytes() {
    let dir = util::TestDir::new();
    let src = util::real_dumps().join("state.db");
    let gz = dir.join("state.db");
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).unwrap(),
        flate2::Compression::fast(),
    );
    enc.write_all(&std::fs::read(&src).unwrap()).unwrap();
    enc.finish().unwrap();
    let plain = read_dump(&src, Keep::Audit).unwrap();
    let packed = read_dump(&gz, Keep::Audit).unwrap();
    assert_eq!(plain.row_counts, packed.row_counts);
    assert_eq!(
        xen_sr_audit::dump::snapshot_from_database(&plain).unwrap(),
        xen_sr_audit::dump::snapshot_from_database(&packed).unwrap()
    );
}

#[test]
fn truncated_and_corrupt_real_dumps_are_errors_naming_the_file() {
    let dir = util::TestDir::new();
    let text = std::fs::read(util::real_dumps().join("boston-db.xml")).unwrap();
    let mut cases = vec![
        ("half.xml", text[..text.len() / 2].to_vec()),
        ("cut-end.xml", text[..text.len() - 5].to_vec()),
        ("empty.xml", Vec::new()),
    ];
    let mut corrupt = text.clone();
    let at = corrupt.len() / 3;
    corrupt[at..at + 8].copy_from_slice(b"<<&&>>\"'");
    cases.push(("corrupt.xml", corrupt));
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&text).unwrap();
    let gz = gz.finish().unwrap();
    cases.push(("cut.state.db", gz[..gz.len() / 2].to_vec()));
    for (name, bytes) in cases {
        let p = dir.write(name, bytes);
        let err = read_dump(&p, Keep::Audit).expect_err(name).to_string();
        assert!(err.starts_with(&p.display().to_string()), "{name}: {err}");
        assert!(!err.contains('\n'), "one line: {err}");
    }
}
