//! What the planner reads: a scan's report.json, leniently. Every field has a serde default, so a
//! report written by a newer or older xen-sr-audit (new top-level objects, new finding fields, new
//! `nova_check` values) still plans; only a file that is not a report of schema 2 or later is refused.
//! From it come the blocked, unwaived instances the plan must clear, whatever made them blocked, with
//! the memory and local-disk figures of the optional `capacity` object.

use crate::plan::PlanError;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// The lowest schema whose `finding_id` is `pool uuid/instance uuid/userdevice` (survives a fix).
pub const MIN_SCHEMA: u32 = 2;

/// The parts of report.json the planner uses.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ReportIn {
    pub schema_version: Option<u32>,
    pub run: RunIn,
    pub findings: Option<Vec<FindingIn>>,
    pub hosts: Vec<EntryIn>,
    pub pools: Vec<PoolIn>,
    /// Memory and disk figures (absent in reports of scans that did not read them).
    pub capacity: Option<CapacityIn>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct RunIn {
    pub tool: String,
    /// Absent counts as complete (reports before `complete` existed were).
    pub complete: Option<bool>,
}

/// One inventory entry's outcome (`hosts[]`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct EntryIn {
    pub name: String,
    pub status: String,
    pub error: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PoolIn {
    pub pool_uuid: String,
}

/// One volume attachment (`findings[]`), every field optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct FindingIn {
    pub pool_uuid: String,
    pub pool_name: String,
    pub host: String,
    pub instance_uuid: String,
    pub instance_name: String,
    pub power_state: String,
    pub userdevice: String,
    pub boot: bool,
    pub vdi_uuid: String,
    pub sr_uuid: String,
    pub naming: String,
    pub volume_id: String,
    pub verdict: String,
    pub finding_id: String,
    pub conflict: bool,
    pub waiver: String,
    pub project_id: String,
    pub nova_device: String,
    pub nova_check: String,
}

impl FindingIn {
    /// Blocked and not covered by a live waiver: what the plan must clear.
    pub fn is_blocked_unwaived(&self) -> bool {
        self.verdict == "blocked" && self.waiver != "waived"
    }
}

/// Memory and local-disk figures read from XAPI (`capacity` in report.json).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct CapacityIn {
    pub hosts: Vec<HostCapacityIn>,
    pub instances: Vec<InstanceCapacityIn>,
}

/// One XAPI host's `host_metrics` memory, in bytes (`None`: not read).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct HostCapacityIn {
    pub pool_uuid: String,
    pub host: String,
    pub memory_total: Option<u64>,
    pub memory_free: Option<u64>,
}

/// One instance's `memory_static_max` and the bytes of its non-volume disks.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct InstanceCapacityIn {
    pub instance_uuid: String,
    pub memory_static_max: Option<u64>,
    pub local_disk_bytes: Option<u64>,
}

/// A blocked, unwaived instance with the findings the plan targets.
#[derive(Debug, Clone, Default)]
pub struct BlockedInstance {
    pub instance_uuid: String,
    pub instance_name: String,
    pub project_id: String,
    pub pool_uuid: String,
    pub pool_name: String,
    pub host: String,
    pub power_state: String,
    /// Its blocked, unwaived findings, by userdevice.
    pub targets: Vec<FindingIn>,
    pub memory: Option<u64>,
    pub local_disk_bytes: Option<u64>,
}

impl BlockedInstance {
    pub fn boot_blocked(&self) -> bool {
        self.targets.iter().any(|f| f.boot || f.userdevice == "0")
    }
    pub fn conflict(&self) -> bool {
        self.targets.iter().any(|f| f.conflict)
    }
}

/// Read and check a report.json: one line naming the file for anything that is not a report.
pub fn read_report(path: &Path) -> Result<ReportIn, PlanError> {
    let bad = |message: String| PlanError::Input {
        path: path.display().to_string(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| bad(format!("cannot read: {e}")))?;
    parse_report(&text).map_err(bad)
}

/// The checks of [`read_report`] on text (the message, without the file name).
pub fn parse_report(text: &str) -> Result<ReportIn, String> {
    let report: ReportIn = serde_json::from_str(text).map_err(|e| {
        format!(
            "line {}: not a xen-sr-audit report.json: {e}",
            e.line().max(1)
        )
    })?;
    match report.schema_version {
        None => return Err("not a xen-sr-audit report.json: no schema_version".into()),
        Some(v) if v < MIN_SCHEMA => {
            return Err(format!(
            "report.json of schema_version {v}: plan needs {MIN_SCHEMA} or later (re-run the scan)"
        ))
        }
        Some(_) => {}
    }
    if !report.run.tool.is_empty() && report.run.tool != "xen-sr-audit" {
        return Err(format!(
            "written by {:?}, not xen-sr-audit",
            report.run.tool
        ));
    }
    if report.findings.is_none() {
        return Err("not a xen-sr-audit report.json: no findings array".into());
    }
    Ok(report)
}

impl ReportIn {
    pub fn complete(&self) -> bool {
        self.run.complete.unwrap_or(true)
    }

    pub fn findings(&self) -> &[FindingIn] {
        self.findings.as_deref().unwrap_or(&[])
    }

    /// Entries the scan could not audit, with their reasons.
    pub fn failed_entries(&self) -> Vec<&EntryIn> {
        self.hosts.iter().filter(|e| e.status == "failed").collect()
    }

    /// Every blocked, unwaived instance, in instance-uuid order (pool uuid breaks ties).
    pub fn blocked_instances(&self) -> Vec<BlockedInstance> {
        let mut by_instance: BTreeMap<(&str, &str), BlockedInstance> = BTreeMap::new();
        for f in self.findings().iter().filter(|f| f.is_blocked_unwaived()) {
            let inst = by_instance
                .entry((f.instance_uuid.as_str(), f.pool_uuid.as_str()))
                .or_insert_with(|| BlockedInstance {
                    instance_uuid: f.instance_uuid.clone(),
                    instance_name: f.instance_name.clone(),
                    project_id: f.project_id.clone(),
                    pool_uuid: f.pool_uuid.clone(),
                    pool_name: f.pool_name.clone(),
                    host: f.host.clone(),
                    power_state: f.power_state.clone(),
                    ..Default::default()
                });
            inst.targets.push(f.clone());
        }
        let sizes = self.instance_capacity();
        by_instance
            .into_values()
            .map(|mut inst| {
                inst.targets.sort_by_key(|f| {
                    (
                        f.userdevice.parse::<u32>().unwrap_or(u32::MAX),
                        f.userdevice.clone(),
                    )
                });
                if let Some(c) = sizes.get(inst.instance_uuid.as_str()) {
                    inst.memory = c.memory_static_max;
                    inst.local_disk_bytes = c.local_disk_bytes;
                }
                inst
            })
            .collect()
    }

    fn instance_capacity(&self) -> BTreeMap<&str, &InstanceCapacityIn> {
        self.capacity
            .iter()
            .flat_map(|c| &c.instances)
            .map(|i| (i.instance_uuid.as_str(), i))
            .collect()
    }

    /// Every host name the report knows (findings' hosts and capacity hosts).
    pub fn known_hosts(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self
            .findings()
            .iter()
            .map(|f| f.host.as_str())
            .chain(
                self.capacity
                    .iter()
                    .flat_map(|c| c.hosts.iter().map(|h| h.host.as_str())),
            )
            .filter(|h| !h.is_empty())
            .collect();
        names.sort_unstable();
        names.dedup();
        names
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn other_schemas_and_files_are_refused_with_a_reason() {
        let cases: &[(&str, &str)] = &[
            ("{}", "no schema_version"),
            (
                r#"{"schema_version": 1, "findings": []}"#,
                "schema_version 1",
            ),
            (r#"{"schema_version": 2}"#, "no findings array"),
            (
                r#"{"schema_version": 2, "run": {"tool": "kubent"}, "findings": []}"#,
                "kubent",
            ),
            ("[1, 2", "not a xen-sr-audit report.json"),
            (
                r#"{"schema_version": 2, "findings": [{"boot": "yes"}]}"#,
                "line 1",
            ),
        ];
        for (text, expected) in cases {
            let err = parse_report(text).unwrap_err();
            assert!(err.contains(expected), "{text}: {err}");
            assert!(!err.contains('\n'), "one line: {err}");
        }
    }

    #[test]
    fn unknown_fields_and_new_values_are_accepted() {
        let text = r#"{"schema_version": 3, "inputs": {"x": 1}, "run": {"complete": false},
            "findings": [{"instance_uuid": "i1", "verdict": "blocked", "nova_check": "unusable",
                          "userdevice": "2", "brand_new": true},
                         {"instance_uuid": "i1", "verdict": "blocked", "waiver": "waived", "userdevice": "3"},
                         {"instance_uuid": "i2", "verdict": "ok"}]}"#;
        let r = parse_report(text).unwrap();
        assert!(!r.complete());
        let b = r.blocked_instances();
        assert_eq!(b.len(), 1);
        assert_eq!(b[0].targets.len(), 1, "the waived finding is not a target");
        assert_eq!(b[0].targets[0].userdevice, "2");
    }
}
