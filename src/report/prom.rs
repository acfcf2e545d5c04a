//! metrics.prom: the run as Prometheus metrics for node_exporter's textfile collector, every name
//! prefixed `xen_sr_audit_`, with HELP and TYPE, label values escaped by the format's rules. The
//! collector reads the file whenever it is scraped, so it must never see half a file: like every
//! report, it is written to a temporary file and renamed into place. Written with the prometheus
//! crate's text encoder.

use super::Report;
use crate::audit::Status;
use crate::classify::Naming;
use prometheus::{Encoder, Gauge, GaugeVec, Opts, Registry, TextEncoder};
use std::io::Write;

fn gauge(reg: &Registry, name: &str, help: &str, value: f64) -> prometheus::Result<()> {
    let g = Gauge::with_opts(Opts::new(format!("xen_sr_audit_{name}"), help))?;
    g.set(value);
    reg.register(Box::new(g))
}

fn gauge_vec(
    reg: &Registry,
    name: &str,
    help: &str,
    labels: &[&str],
) -> prometheus::Result<GaugeVec> {
    let g = GaugeVec::new(Opts::new(format!("xen_sr_audit_{name}"), help), labels)?;
    reg.register(Box::new(g.clone()))?;
    Ok(g)
}

/// Seconds since the epoch of an RFC 3339 time (0 when it cannot be read).
fn epoch_seconds(t: &str) -> f64 {
    humantime::parse_rfc3339(t)
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Active waivers whose expiry day is at most `days` after the day the run started.
fn waivers_expiring(r: &Report, days: i64) -> usize {
    let run_day = (epoch_seconds(&r.run.started_at) as i64).div_euclid(86_400);
    r.waivers
        .iter()
        .filter(|w| w.status == "active")
        .filter_map(|w| crate::policy::waivers::parse_day(&w.waiver.expires))
        .filter(|day| *day - run_day <= days)
        .count()
}

/// Every metric of the run, in one registry.
fn build(r: &Report) -> prometheus::Result<Registry> {
    let reg = Registry::new();
    pool_gauges(&reg, r)?;
    entry_gauges(&reg, r)?;
    waiver_gauges(&reg, r)?;
    coverage_gauges(&reg, r)?;
    run_gauges(&reg, r)?;
    Ok(reg)
}

/// Per pool: instances by effective verdict, attachments by naming, orphans, conflicts.
fn pool_gauges(reg: &Registry, r: &Report) -> prometheus::Result<()> {
    let instances = gauge_vec(
        reg,
        "instances",
        "Nova instances by pool and effective verdict (blocked, review, waived: every problem waived, ok); the four add up to the pool's instances.",
        &["pool", "pool_uuid", "verdict"],
    )?;
    let attachments = gauge_vec(
        reg,
        "attachments",
        "Volume attachments of Nova instances by pool and SR naming.",
        &["pool", "pool_uuid", "naming"],
    )?;
    let orphans = gauge_vec(
        reg,
        "orphans",
        "Legacy SRs no VM uses, by pool.",
        &["pool", "pool_uuid"],
    )?;
    let conflicts = gauge_vec(
        reg,
        "conflicts",
        "Legacy SRs sharing target and IQN with a new-style SR, by pool.",
        &["pool", "pool_uuid"],
    )?;
    for p in &r.pools {
        let l = |extra: &str| [p.pool_name.clone(), p.pool_uuid.clone(), extra.to_string()];
        for status in Status::ALL {
            let n = p.instances_with(status);
            let labels = l(status.as_str());
            instances
                .with_label_values(&[&labels[0], &labels[1], &labels[2]])
                .set(n as f64);
        }
        for (naming, n) in [
            (Naming::Legacy, p.legacy),
            (Naming::New, p.new),
            (Naming::Other, p.other),
        ] {
            let labels = l(naming.as_str());
            attachments
                .with_label_values(&[&labels[0], &labels[1], &labels[2]])
                .set(n as f64);
        }
        orphans
            .with_label_values(&[&p.pool_name, &p.pool_uuid])
            .set(p.orphans as f64);
        conflicts
            .with_label_values(&[&p.pool_name, &p.pool_uuid])
            .set(p.conflicts as f64);
    }
    Ok(())
}

/// Inventory entries by outcome.
fn entry_gauges(reg: &Registry, r: &Report) -> prometheus::Result<()> {
    let entries = gauge_vec(
        reg,
        "entries",
        "Inventory entries by outcome (same-pool: another entry of the pool was audited).",
        &["status"],
    )?;
    for status in ["ok", "failed", "same-pool"] {
        let n = r
            .hosts
            .iter()
            .filter(|h| {
                h.status == status
                    || (status == "same-pool" && h.status.starts_with("same-pool-as:"))
            })
            .count();
        entries.with_label_values(&[status]).set(n as f64);
    }
    Ok(())
}

/// Waived findings, expired waivers and those about to expire.
fn waiver_gauges(reg: &Registry, r: &Report) -> prometheus::Result<()> {
    let s = &r.summary;
    gauge(
        reg,
        "findings_waived",
        "Findings covered by a live waiver.",
        s.findings_waived as f64,
    )?;
    gauge(
        reg,
        "waivers_expired",
        "Waivers past their expiry date.",
        s.waivers_expired as f64,
    )?;
    gauge(
        reg,
        "waivers_expiring",
        "Active waivers that expire within 14 days of the run (their findings then count again).",
        waivers_expiring(r, 14) as f64,
    )?;
    Ok(())
}

/// Instances by coverage, when the run read Nova's server list.
fn coverage_gauges(reg: &Registry, r: &Report) -> prometheus::Result<()> {
    let s = &r.summary;
    if r.nova.as_ref().is_some_and(|n| !n.servers.is_empty()) {
        let coverage = gauge_vec(
            reg,
            "coverage_instances",
            "Instances Nova lists or XAPI holds, by coverage.",
            &["coverage"],
        )?;
        for (c, n) in [
            ("audited", s.coverage_audited),
            ("not-audited", s.coverage_not_audited),
            ("missing-in-xapi", s.coverage_missing_in_xapi),
            ("unknown-to-nova", s.coverage_unknown_to_nova),
        ] {
            coverage.with_label_values(&[c]).set(n as f64);
        }
    }
    Ok(())
}

/// When the run finished, how long it took, its exit code.
fn run_gauges(reg: &Registry, r: &Report) -> prometheus::Result<()> {
    gauge(
        reg,
        "last_run_timestamp_seconds",
        "When the run finished, in seconds since the epoch.",
        epoch_seconds(&r.run.finished_at),
    )?;
    gauge(
        reg,
        "run_duration_seconds",
        "How long the run took.",
        r.run.duration_ms as f64 / 1000.0,
    )?;
    gauge(
        reg,
        "exit_code",
        "The run's exit code.",
        f64::from(r.exit_code),
    )?;
    Ok(())
}

/// Write metrics.prom.
pub fn write_prom(out: &mut dyn Write, r: &Report) -> std::io::Result<()> {
    let reg = build(r).map_err(std::io::Error::other)?;
    let mut buf = Vec::new();
    TextEncoder::new()
        .encode(&reg.gather(), &mut buf)
        .map_err(std::io::Error::other)?;
    out.write_all(&buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::waivers::{Waiver, WaiverStatus, WaiverTarget};

    #[test]
    fn waivers_expiring_counts_active_waivers_ending_within_the_window() {
        // (status, expires) -> counted, for a run on 2026-11-30 and a 14-day window
        let cases = [
            ("active", "2026-11-30", true),
            ("active", "2026-12-14", true),
            ("active", "2026-12-15", false),
            ("expired", "2026-11-29", false),
            ("unused", "2026-12-01", false),
            ("active", "not a date", false),
        ];
        let mut r = Report::default();
        r.run.started_at = "2026-11-30T06:00:00Z".into();
        for (status, expires, counted) in cases {
            r.waivers = vec![WaiverStatus {
                waiver: Waiver {
                    target: WaiverTarget::InstanceUuid("i".into()),
                    reason: String::new(),
                    owner: String::new(),
                    expires: expires.into(),
                    source: String::new(),
                    expires_day: 0,
                },
                status: status.into(),
                findings: 1,
            }];
            assert_eq!(
                waivers_expiring(&r, 14),
                usize::from(counted),
                "{status} {expires}"
            );
        }
    }
}
