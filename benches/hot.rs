//! `cargo bench`: the hot pure functions, so that regressions show up: the dump value codec, Nova's
//! uuid5 and the SR classification, the XML-RPC response decoder (an `event.from` answer of a
//! generated pool, decoded into a snapshot as a live fetch does), the dump reader, and the audit.
//! Inputs are generated in-process with the fixture generator; nothing touches the network.

use std::sync::OnceLock;
use xen_sr_audit::audit::audit_pool;
use xen_sr_audit::classify::{classify_sr, nova_sr_uuid};
use xen_sr_audit::dump::codec::{parse_map, unprotect};
use xen_sr_audit::dump::{read_dump, Keep};
use xen_sr_audit::sim::fleet::{write_fleet, FleetSpec};

fn main() {
    divan::main();
}

/// A generated pool (500 instances, 3 volumes each) written once per run.
fn pool_dump() -> &'static std::path::PathBuf {
    static DUMP: OnceLock<std::path::PathBuf> = OnceLock::new();
    DUMP.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("xsa-bench-hot-{}", std::process::id()));
        let spec = FleetSpec::uniform(9, 1, 3, 500, Some(3), 40);
        write_fleet(&dir, &spec).expect("write the benchmark pool");
        dir.join("dumps/pool-00000.xml")
    })
}

fn event_body() -> &'static String {
    static BODY: OnceLock<String> = OnceLock::new();
    BODY.get_or_init(|| {
        xen_sr_audit::sim::xapi::event_from_body(pool_dump()).expect("event.from body")
    })
}

#[divan::bench]
fn codec_unprotect(b: divan::Bencher) {
    let s =
        "Template%.that%.allows%.VM%.installation%_from%.Xen-aware%.Debian-based%.distros.%n100%%";
    b.bench(|| unprotect(divan::black_box(s)).len());
}

#[divan::bench]
fn codec_parse_map(b: divan::Bencher) {
    let s = "(('target' '10.20.1.10') ('port' '3260') ('targetIQN' 'iqn.2010-10.org.openstack:volume-0b9c22e8-7e26-5afd-a71a-4d4ea62a045f') ('chapuser' 'u') ('backend-kind' 'vbd'))";
    b.bench(|| parse_map(divan::black_box(s)).map(|m| m.len()));
}

#[divan::bench]
fn nova_uuid5(b: divan::Bencher) {
    b.bench(|| {
        nova_sr_uuid(
            divan::black_box("10.0.0.1"),
            "3260",
            "iqn.2010-10.org.openstack:volume-00000001",
        )
    });
}

#[divan::bench]
fn classify_sr_uuid(b: divan::Bencher) {
    let expected = nova_sr_uuid(
        "10.0.0.1",
        "3260",
        "iqn.2010-10.org.openstack:volume-00000001",
    );
    b.bench(|| {
        (
            classify_sr(
                divan::black_box("FA15E-D15C-0a1b2c3d-0000-4000-8000-000000000001"),
                Some(&expected),
            ),
            classify_sr(divan::black_box(&expected), Some(&expected)),
        )
    });
}

#[divan::bench(sample_count = 20)]
fn xmlrpc_event_from_decode(b: divan::Bencher) {
    let body = event_body();
    b.counter(divan::counter::BytesCount::new(body.len()))
        .bench(|| {
            xen_sr_audit::xapi::client::snapshot_from_event_body(body.as_bytes())
                .map(|s| s.vms.len())
        });
}

#[divan::bench(sample_count = 20)]
fn dump_read(b: divan::Bencher) {
    let path = pool_dump();
    let size = std::fs::metadata(path)
        .map(|m| m.len() as usize)
        .unwrap_or(0);
    b.counter(divan::counter::BytesCount::new(size))
        .bench(|| read_dump(path, Keep::Audit).map(|db| db.row_counts.len()));
}

#[divan::bench(sample_count = 20)]
fn audit_pool_classification(b: divan::Bencher) {
    let db = read_dump(pool_dump(), Keep::Audit).expect("read");
    let snap = xen_sr_audit::dump::snapshot_from_database(&db).expect("model");
    b.bench(|| {
        audit_pool(divan::black_box(&snap), &Default::default())
            .findings
            .len()
    });
}

/// The floor the decoder is measured against: a bare quick-xml pass over the same answer, counting
/// events and doing nothing else.
#[divan::bench(sample_count = 20)]
fn xmlrpc_bare_quick_xml_pass(b: divan::Bencher) {
    let body = event_body();
    b.counter(divan::counter::BytesCount::new(body.len()))
        .bench(|| {
            let mut r = quick_xml::Reader::from_reader(std::io::BufReader::with_capacity(
                256 * 1024,
                body.as_bytes(),
            ));
            let mut buf = Vec::new();
            let mut n = 0usize;
            loop {
                buf.clear();
                match r.read_event_into(&mut buf) {
                    Ok(quick_xml::events::Event::Eof) | Err(_) => break,
                    Ok(_) => n += 1,
                }
            }
            n
        });
}
