//! Coverage: every instance Nova knows, and every Nova VM found in XAPI, accounted for. An instance
//! whose host is missing from the inventory (or whose entry failed) would otherwise just be absent
//! from the report; here it is `not-audited`, and the run is incomplete. An instance Nova places on
//! an audited host but that no VM there carries is `missing-in-xapi`; a VM with a Nova uuid that
//! Nova does not list is `unknown-to-nova` (a leftover).

use super::{Instance, PoolAudit};
use crate::model::{FastMap, NovaServer};
use serde::{Deserialize, Serialize};

/// How an instance is covered by the audit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Coverage {
    /// Nova lists it and no audited pool has it or its host: the audit is incomplete.
    NotAudited,
    /// Nova lists it on a host of an audited pool, but no VM there carries its uuid.
    MissingInXapi,
    /// A Nova VM in XAPI that Nova does not list.
    UnknownToNova,
    /// Nova lists it and an audited pool has its VM.
    Audited,
}

impl Coverage {
    pub fn as_str(self) -> &'static str {
        match self {
            Coverage::NotAudited => "not-audited",
            Coverage::MissingInXapi => "missing-in-xapi",
            Coverage::UnknownToNova => "unknown-to-nova",
            Coverage::Audited => "audited",
        }
    }
}

/// A row of coverage.csv.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CoverageRow {
    pub instance_uuid: String,
    pub instance_name: String,
    pub project_id: String,
    pub nova_status: String,
    pub nova_host: String,
    pub coverage: Coverage,
    pub pool_uuid: String,
    pub pool_name: String,
    /// The instance's verdict where it was audited, else empty.
    pub verdict: String,
}

/// Account for every instance of `servers` and every Nova VM of the audited pools.
pub fn coverage(servers: &[NovaServer], audits: &[&PoolAudit]) -> Vec<CoverageRow> {
    let mut vm_of: FastMap<String, (&PoolAudit, &Instance)> = FastMap::default();
    let mut pool_of_host: FastMap<&str, &PoolAudit> = FastMap::default();
    for a in audits {
        for i in &a.instances {
            vm_of
                .entry(i.instance_uuid.to_ascii_lowercase())
                .or_insert((a, i));
        }
        for h in &a.hostnames {
            pool_of_host.entry(h.as_str()).or_insert(a);
        }
    }
    let mut listed: FastMap<&str, ()> = FastMap::default();
    let mut rows = Vec::with_capacity(servers.len());
    for s in servers {
        listed.insert(s.uuid.as_str(), ());
        let mut row = CoverageRow {
            instance_uuid: s.uuid.clone(),
            instance_name: s.name.clone(),
            project_id: s.project_id.clone(),
            nova_status: s.status.clone(),
            nova_host: s.host.clone(),
            coverage: Coverage::NotAudited,
            pool_uuid: String::new(),
            pool_name: String::new(),
            verdict: String::new(),
        };
        if let Some((a, i)) = vm_of.get(&s.uuid.to_ascii_lowercase()) {
            row.coverage = Coverage::Audited;
            row.pool_uuid = a.pool_uuid.clone();
            row.pool_name = a.pool_name.clone();
            row.verdict = i.verdict.as_str().to_string();
        } else if let Some(a) = pool_of_host.get(s.host.trim().to_ascii_lowercase().as_str()) {
            row.coverage = Coverage::MissingInXapi;
            row.pool_uuid = a.pool_uuid.clone();
            row.pool_name = a.pool_name.clone();
        }
        rows.push(row);
    }
    for a in audits {
        for i in &a.instances {
            if listed.contains_key(i.instance_uuid.to_ascii_lowercase().as_str()) {
                continue;
            }
            rows.push(CoverageRow {
                instance_uuid: i.instance_uuid.clone(),
                instance_name: i.instance_name.clone(),
                project_id: String::new(),
                nova_status: String::new(),
                nova_host: String::new(),
                coverage: Coverage::UnknownToNova,
                pool_uuid: a.pool_uuid.clone(),
                pool_name: a.pool_name.clone(),
                verdict: i.verdict.as_str().to_string(),
            });
        }
    }
    rows.sort_by(|a, b| {
        (
            a.coverage,
            &a.pool_name,
            &a.nova_host,
            &a.instance_name,
            &a.instance_uuid,
        )
            .cmp(&(
                b.coverage,
                &b.pool_name,
                &b.nova_host,
                &b.instance_name,
                &b.instance_uuid,
            ))
    });
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::Verdict;

    fn instance(uuid: &str, verdict: Verdict) -> Instance {
        Instance {
            pool_uuid: "p".into(),
            pool_name: "pool".into(),
            host: String::new(),
            instance_uuid: uuid.into(),
            instance_name: format!("vm-{uuid}"),
            power_state: "Running".into(),
            vm_uuid: format!("vm-{uuid}"),
            volumes: 0,
            legacy: 0,
            new: 0,
            other: 0,
            conflicts: 0,
            boot_from_volume: false,
            verdict,
            remediation: String::new(),
            waived: false,
            status: Default::default(),
        }
    }

    fn server(uuid: &str, host: &str) -> NovaServer {
        NovaServer {
            uuid: uuid.into(),
            name: format!("n-{uuid}"),
            host: host.into(),
            ..Default::default()
        }
    }

    #[test]
    fn every_instance_is_accounted_for() {
        let audit = PoolAudit {
            pool_uuid: "p".into(),
            pool_name: "pool".into(),
            instances: vec![
                instance("a", Verdict::Blocked),
                instance("leftover", Verdict::Ok),
            ],
            hostnames: vec!["xs01".into(), "xs02".into()],
            ..Default::default()
        };
        let servers = [
            server("a", "xs01"),
            server("ghost", "XS02"),
            server("elsewhere", "north-xs01"),
            server("shelved", ""),
        ];
        let rows = coverage(&servers, &[&audit]);
        let got: Vec<(&str, Coverage, &str, &str)> = rows
            .iter()
            .map(|r| {
                (
                    r.instance_uuid.as_str(),
                    r.coverage,
                    r.pool_name.as_str(),
                    r.verdict.as_str(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("shelved", Coverage::NotAudited, "", ""),
                ("elsewhere", Coverage::NotAudited, "", ""),
                ("ghost", Coverage::MissingInXapi, "pool", ""),
                ("leftover", Coverage::UnknownToNova, "pool", "ok"),
                ("a", Coverage::Audited, "pool", "blocked"),
            ]
        );
    }
}
