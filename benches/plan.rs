//! `cargo bench --bench plan`: planning 10,000 blocked instances (the bound: under a second),
//! from report.json text to the three files' contents. The report is generated in-process: 100 pools
//! of 4 hosts, 100 blocked instances each, a mix of boot, data and halted, with capacity figures so
//! that the memory rule runs for every move.

use std::sync::OnceLock;
use xen_sr_audit::plan::{build_plan, input::parse_report, writers, PlanOptions};

fn main() {
    divan::main();
}

const GIB: u64 = 1 << 30;

fn report_json() -> &'static String {
    static JSON: OnceLock<String> = OnceLock::new();
    JSON.get_or_init(|| {
        let mut findings = Vec::new();
        let mut hosts = Vec::new();
        let mut instances = Vec::new();
        for p in 0..100u64 {
            let pool = format!("pool-{p:04}");
            for h in 0..4u64 {
                hosts.push(serde_json::json!({"pool_uuid": pool, "host": format!("p{p}h{h}"),
                    "memory_total": 512 * GIB, "memory_free": (64 + (p * 7 + h * 13) % 256) * GIB}));
            }
            for i in 0..100u64 {
                let uuid = format!("{p:08x}-{i:04x}-4000-8000-000000000000");
                for d in 0..(1 + i % 3) {
                    let ud = d + u64::from(i % 2 == 0);
                    findings.push(serde_json::json!({
                        "pool_uuid": pool, "pool_name": format!("pool {p}"), "host": format!("p{p}h{}", i % 4),
                        "instance_uuid": uuid, "instance_name": format!("instance-{p}-{i}"),
                        "power_state": if i % 9 == 0 { "Halted" } else { "Running" },
                        "userdevice": ud.to_string(), "boot": ud == 0,
                        "vdi_uuid": format!("{p:08x}-{i:04x}-4000-8000-{d:012x}"),
                        "sr_uuid": format!("FA15E-D15C-{p:08x}-{i:04x}-4000-9000-{d:012x}"),
                        "naming": "legacy", "verdict": "blocked",
                        "volume_id": format!("{p:08x}-{i:04x}-4000-9000-{d:012x}"),
                        "finding_id": format!("{pool}/{uuid}/{ud}"), "project_id": format!("proj{}", i % 7),
                    }));
                }
                instances.push(serde_json::json!({"pool_uuid": pool, "instance_uuid": uuid,
                    "memory_static_max": (1 + i % 16) * GIB, "local_disk_bytes": (i % 5) * 20 * GIB}));
            }
        }
        serde_json::json!({"schema_version": 2, "run": {"tool": "xen-sr-audit", "complete": true},
            "findings": findings, "capacity": {"hosts": hosts, "instances": instances}})
        .to_string()
    })
}

/// report.json text -> plan (10,000 actions, waves and capacity).
#[divan::bench(sample_count = 10)]
fn plan_10k_blocked_instances(b: divan::Bencher) {
    let json = report_json();
    b.bench(|| {
        let report = parse_report(json).expect("report");
        let plan = build_plan(&report, &PlanOptions::default());
        assert_eq!(plan.actions.len(), 10_000);
        plan.waves
    });
}

/// report.json text -> plan -> plan.md, plan.csv, plan.sh contents.
#[divan::bench(sample_count = 10)]
fn plan_10k_and_render_files(b: divan::Bencher) {
    let json = report_json();
    b.bench(|| {
        let report = parse_report(json).expect("report");
        let plan = build_plan(&report, &PlanOptions::default());
        writers::render_csv(&plan).len()
            + writers::render_md(&plan, "report.json").len()
            + writers::render_sh(&plan).len()
    });
}
