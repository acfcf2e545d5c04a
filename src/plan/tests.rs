//! The planner on generated reports of hundreds of instances: every blocked unwaived instance in
//! exactly one action, waves within every limit, and the capacity rule.

use super::input::{CapacityIn, FindingIn, HostCapacityIn, InstanceCapacityIn, ReportIn, RunIn};
use super::*;
use std::collections::{BTreeMap, BTreeSet};

const GIB: u64 = 1 << 30;

/// A deterministic report: `pools` pools of `hosts` hosts, `instances` instances per pool; every
/// third instance fine, every fifth waived, a mix of boot / data / halted.
fn generated(pools: usize, hosts: usize, instances: usize, memory: bool) -> ReportIn {
    let mut findings = Vec::new();
    let mut cap = CapacityIn::default();
    for p in 0..pools {
        let pool_uuid = format!("pool-{p:03}");
        for h in 0..hosts {
            cap.hosts.push(HostCapacityIn {
                pool_uuid: pool_uuid.clone(),
                host: format!("p{p}h{h}"),
                memory_total: Some(256 * GIB),
                memory_free: Some((8 + (h as u64 * 7 + p as u64) % 40) * GIB),
            });
        }
        for i in 0..instances {
            let uuid = format!("{p:04}{i:04}-0000-4000-8000-000000000000");
            let blocked = i % 3 != 0;
            let waived = i % 5 == 0;
            for d in 0..(1 + i % 3) {
                findings.push(FindingIn {
                    pool_uuid: pool_uuid.clone(),
                    pool_name: format!("pool {p}"),
                    host: format!("p{p}h{}", i % hosts),
                    instance_uuid: uuid.clone(),
                    instance_name: format!("vm-{p}-{i}"),
                    power_state: if i % 7 == 0 { "Halted" } else { "Running" }.into(),
                    userdevice: (d + usize::from(i % 2 == 0)).to_string(),
                    boot: d == 0 && i % 2 == 1,
                    vdi_uuid: format!("vdi-{p}-{i}-{d}"),
                    sr_uuid: format!("FA15E-D15C-vol-{p}-{i}-{d}"),
                    naming: "legacy".into(),
                    volume_id: format!("vol-{p}-{i}-{d}"),
                    verdict: if blocked { "blocked" } else { "ok" }.into(),
                    finding_id: format!("{pool_uuid}/{uuid}/{d}"),
                    waiver: if waived { "waived" } else { "" }.into(),
                    project_id: format!("proj{}", i % 4),
                    ..Default::default()
                });
            }
            cap.instances.push(InstanceCapacityIn {
                instance_uuid: uuid,
                memory_static_max: Some((1 + (i as u64 % 8)) * GIB),
                local_disk_bytes: Some((i as u64 % 5) * 10 * GIB),
            });
        }
    }
    ReportIn {
        schema_version: Some(2),
        run: RunIn::default(),
        findings: Some(findings),
        capacity: memory.then_some(cap),
        ..Default::default()
    }
}

fn blocked_unwaived(r: &ReportIn) -> BTreeSet<String> {
    r.findings()
        .iter()
        .filter(|f| f.is_blocked_unwaived())
        .map(|f| f.instance_uuid.clone())
        .collect()
}

#[test]
fn every_blocked_unwaived_instance_is_in_exactly_one_action() {
    let r = generated(5, 4, 80, true);
    let plan = build_plan(&r, &PlanOptions::default());
    let mut seen = BTreeMap::new();
    for a in &plan.actions {
        *seen.entry(a.instance.instance_uuid.clone()).or_insert(0) += 1;
    }
    assert!(seen.values().all(|n| *n == 1), "an instance in two actions");
    assert_eq!(
        seen.keys().cloned().collect::<BTreeSet<_>>(),
        blocked_unwaived(&r)
    );
    assert!(seen.len() > 200, "hundreds of instances: {}", seen.len());
}

fn check_limits(plan: &Plan, limits: Limits) {
    let mut per_wave: BTreeMap<usize, Vec<&Action>> = BTreeMap::new();
    for a in &plan.actions {
        if let Some(w) = a.wave {
            per_wave.entry(w).or_default().push(a);
        }
    }
    assert_eq!(per_wave.len(), plan.waves);
    for (w, actions) in per_wave {
        assert!(
            actions.len() <= limits.total,
            "wave {w}: {} actions",
            actions.len()
        );
        let mut hosts: BTreeMap<(&str, &str), usize> = BTreeMap::new();
        let mut pools: BTreeMap<&str, usize> = BTreeMap::new();
        for a in actions {
            *hosts
                .entry((&a.instance.pool_uuid, &a.instance.host))
                .or_default() += 1;
            *pools.entry(&a.instance.pool_uuid).or_default() += 1;
        }
        assert!(
            hosts.values().all(|n| *n <= limits.per_host),
            "wave {w}: {hosts:?}"
        );
        assert!(
            pools.values().all(|n| *n <= limits.per_pool),
            "wave {w}: {pools:?}"
        );
    }
}

#[test]
fn waves_respect_every_limit() {
    let r = generated(6, 3, 60, false);
    for (total, per_host, per_pool) in [(6, 2, 2), (1, 1, 1), (10, 1, 3), (50, 5, 50), (7, 3, 2)] {
        let limits = Limits {
            total,
            per_host,
            per_pool,
        };
        let options = PlanOptions {
            limits,
            ..Default::default()
        };
        let plan = build_plan(&r, &options);
        check_limits(&plan, limits);
        assert!(
            plan.actions.iter().all(|a| a.wave.is_some()),
            "without figures every action is planned"
        );
        assert!(plan
            .actions
            .iter()
            .filter(|a| a.kind.moves())
            .all(|a| a.capacity.starts_with("unknown")));
    }
}

/// Replays the waves against the hosts' free memory: no wave may take more than a host has.
#[test]
fn waves_respect_the_capacity_rule() {
    let r = generated(4, 3, 100, true);
    let limits = Limits {
        total: 12,
        per_host: 3,
        per_pool: 6,
    };
    let plan = build_plan(
        &r,
        &PlanOptions {
            limits,
            ..Default::default()
        },
    );
    check_limits(&plan, limits);
    let mut free: BTreeMap<String, u64> = r
        .capacity
        .as_ref()
        .unwrap()
        .hosts
        .iter()
        .map(|h| (h.host.clone(), h.memory_free.unwrap()))
        .collect();
    for w in 1..=plan.waves {
        let mut sources = Vec::new();
        for a in plan
            .actions
            .iter()
            .filter(|a| a.wave == Some(w) && a.kind.moves())
        {
            let memory = a.instance.memory.unwrap();
            let dest = a
                .capacity
                .split("other host ")
                .nth(1)
                .and_then(|s| s.split(' ').next())
                .expect("a destination");
            assert_ne!(dest, a.instance.host, "never its own host");
            let f = free.get_mut(dest).unwrap();
            assert!(*f >= memory, "wave {w}: {dest} overcommitted");
            *f -= memory;
            sources.push((a.instance.host.clone(), memory));
        }
        for (s, m) in sources {
            *free.get_mut(&s).unwrap() += m;
        }
    }
}

#[test]
fn an_instance_that_fits_nowhere_is_reported_not_planned() {
    let mut r = generated(1, 2, 6, true);
    let cap = r.capacity.as_mut().unwrap();
    let big = cap
        .instances
        .iter_mut()
        .find(|i| i.instance_uuid.starts_with("00000001"))
        .unwrap();
    big.memory_static_max = Some(4096 * GIB);
    let plan = build_plan(&r, &PlanOptions::default());
    let a = plan
        .actions
        .iter()
        .find(|a| a.instance.instance_uuid.starts_with("00000001"))
        .unwrap();
    assert_eq!(a.kind, ActionKind::NotPlanned);
    assert_eq!(a.wave, None);
    assert!(a.capacity.contains("does not fit"), "{}", a.capacity);
    assert!(a.steps.is_empty());
}

#[test]
fn upgraded_hosts_restrict_destinations_and_order() {
    let r = generated(1, 3, 30, true);
    let upgraded = vec!["p0h2".to_string()];
    let plan = build_plan(
        &r,
        &PlanOptions {
            upgraded: Some(upgraded.clone()),
            limits: Limits {
                total: 100,
                per_host: 100,
                per_pool: 100,
            },
            ..Default::default()
        },
    );
    for a in plan
        .actions
        .iter()
        .filter(|a| a.kind.moves() && a.wave.is_some())
    {
        assert!(a.capacity.contains("other host p0h2 "), "{}", a.capacity);
    }
    let waiting: Vec<bool> = plan
        .actions
        .iter()
        .filter(|a| a.kind == ActionKind::DetachReattach)
        .map(|a| a.preconditions[0].starts_with("WAIT"))
        .collect();
    assert!(
        waiting.windows(2).all(|w| w[0] <= w[1]),
        "re-attaches on hosts not upgraded go last: {waiting:?}"
    );
    assert!(check_upgraded(&r, &["nohost".into()], "up.txt").is_err());
    assert!(check_upgraded(&r, &upgraded, "up.txt").is_ok());
}

#[test]
fn downtime_counts_local_disk_and_boot() {
    let r = generated(1, 2, 12, true);
    let plan = build_plan(
        &r,
        &PlanOptions {
            copy_rate_mbps: 50.0,
            ..Default::default()
        },
    );
    for a in &plan.actions {
        let disk = a.instance.local_disk_bytes.unwrap();
        let copy = (disk as f64 / 50e6).ceil() as u64;
        let want = match a.kind {
            ActionKind::ColdMigrate => BOOT_COST_S + copy,
            ActionKind::ColdMigrateHalted => copy,
            ActionKind::DetachReattach => REATTACH_COST_S * a.instance.targets.len() as u64,
            ActionKind::NotPlanned => 0,
        };
        assert_eq!(a.downtime_s, want, "{:?}", a.kind);
    }
}

#[test]
fn plan_sh_comments_hold_no_line_break_nor_bidi_control_from_a_name() {
    let mut r = generated(1, 2, 6, true);
    let evil = "vm-\u{202E}lmth.exe\nrm -rf /\u{2028}x\r";
    for f in r.findings.iter_mut().flatten() {
        f.instance_name = evil.into();
        f.pool_name = "pool\u{2067}east".into();
    }
    let plan = build_plan(&r, &PlanOptions::default());
    assert!(plan.actions.iter().any(|a| a.wave.is_some()));
    let sh = writers::render_sh(&plan);
    assert!(
        !sh.contains(['\u{202E}', '\u{2067}', '\u{2028}', '\r']),
        "{sh:?}"
    );
    assert!(sh.contains("# "), "{sh}");
    let named: Vec<&str> = sh.lines().filter(|l| l.contains("rm -rf")).collect();
    assert!(!named.is_empty(), "{sh}");
    for line in named {
        assert!(line.starts_with("# "), "a name left its comment: {line:?}");
        assert!(line.contains("vm-?lmth.exe?rm -rf /?x?"), "{line:?}");
    }
}

#[test]
fn plan_md_drops_bidi_controls_from_a_name() {
    for (name, shown) in [
        ("vm-\u{202E}lmth.exe", "vm- lmth.exe"),
        ("a\u{2066}b|c", "a b\\|c"),
        ("x\ny", "x y"),
    ] {
        assert_eq!(writers::md_escape(name), shown, "{name:?}");
    }
}
