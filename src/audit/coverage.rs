//! Coverage: every instance Nova knows, and every Nova VM found in XAPI, accounted for. An instance
//! whose host is missing from the inventory (or whose entry failed) would otherwise just be absent
//! from the report; here it is `not-audited`, and the run is incomplete. An instance Nova places on
//! an audited host but that no VM there carries is `missing-in-xapi`; a VM with a Nova uuid that
//! Nova does not list is `unknown-to-nova` (a leftover).
//!
//! Where Nova places an instance is its `node` (the XAPI host's `hostname`), not its `host` (the
//! nova-compute service's name, the compute VM's `CONF.host`). With `node` in the export it is
//! matched directly; with only the server list, the service host -> XAPI host map is learned from
//! the instances found running in XAPI (their `resident_on`), and a service host that maps to no
//! audited XAPI host is `not-audited`: coverage is never claimed that was not seen.

use super::{Instance, PoolAudit};
use crate::model::{FastMap, NovaServer};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

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
    /// The XAPI host(s) (`hostname`) Nova's placement stands for: the export's `node`, else the
    /// hosts the service host's running instances were found on (space-separated when several).
    #[serde(default)]
    pub xapi_host: String,
}

/// Nova's service hosts (lower case) -> the XAPI hostnames its instances were found running on.
pub fn service_host_map(
    servers: &[NovaServer],
    audits: &[&PoolAudit],
) -> BTreeMap<String, BTreeSet<String>> {
    let resident: FastMap<&str, &str> = audits
        .iter()
        .flat_map(|a| &a.resident_hostnames)
        .map(|(i, h)| (i.as_str(), h.as_str()))
        .collect();
    let mut map: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for s in servers {
        let service = s.host.trim().to_ascii_lowercase();
        match resident.get(s.uuid.to_ascii_lowercase().as_str()) {
            Some(h) if !service.is_empty() && !h.is_empty() => {
                map.entry(service).or_default().insert(h.to_string());
            }
            _ => {}
        }
    }
    map
}

/// The XAPI hostnames an instance Nova lists stands for: its `node`, else what its service host maps to.
fn placement(s: &NovaServer, map: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    let node = s.node.trim().to_ascii_lowercase();
    if !node.is_empty() {
        return vec![node];
    }
    map.get(&s.host.trim().to_ascii_lowercase())
        .map(|hosts| hosts.iter().cloned().collect())
        .unwrap_or_default()
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
    let map = service_host_map(servers, audits);
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
            xapi_host: String::new(),
        };
        let hosts = placement(s, &map);
        row.xapi_host = hosts.join(" ");
        let pools: Vec<&&PoolAudit> = hosts
            .iter()
            .filter_map(|h| pool_of_host.get(h.as_str()))
            .collect();
        if let Some((a, i)) = vm_of.get(&s.uuid.to_ascii_lowercase()) {
            row.coverage = Coverage::Audited;
            row.pool_uuid = a.pool_uuid.clone();
            row.pool_name = a.pool_name.clone();
            row.verdict = i.verdict.as_str().to_string();
        } else if let (Some(a), true) = (
            pools.first(),
            !hosts.is_empty() && pools.len() == hosts.len(),
        ) {
            // Every XAPI host it may be on was audited, and none holds it.
            row.coverage = Coverage::MissingInXapi;
            row.pool_uuid = a.pool_uuid.clone();
            row.pool_name = a.pool_name.clone();
        }
        rows.push(row);
    }
    rows.extend(unknown_to_nova(audits, &listed));
    sort_rows(&mut rows);
    rows
}

/// The Nova VMs of the audited pools that Nova's server list does not hold.
fn unknown_to_nova(audits: &[&PoolAudit], listed: &FastMap<&str, ()>) -> Vec<CoverageRow> {
    let mut unknown = Vec::new();
    for a in audits {
        for i in &a.instances {
            if listed.contains_key(i.instance_uuid.to_ascii_lowercase().as_str()) {
                continue;
            }
            unknown.push(CoverageRow {
                instance_uuid: i.instance_uuid.clone(),
                instance_name: i.instance_name.clone(),
                project_id: String::new(),
                nova_status: String::new(),
                nova_host: String::new(),
                coverage: Coverage::UnknownToNova,
                pool_uuid: a.pool_uuid.clone(),
                pool_name: a.pool_name.clone(),
                verdict: i.verdict.as_str().to_string(),
                xapi_host: String::new(),
            });
        }
    }
    unknown
}

/// Rows by coverage, pool, Nova host, instance name and uuid: the same order on every run.
fn sort_rows(rows: &mut [CoverageRow]) {
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
            unpaired_bdms: String::new(),
            status: Default::default(),
            unpaired_verdict: None,
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
                instance("b", Verdict::Ok),
                instance("leftover", Verdict::Ok),
            ],
            hostnames: vec!["xs01".into(), "xs02".into()],
            resident_hostnames: vec![("a".into(), "xs01".into()), ("b".into(), "xs02".into())],
            ..Default::default()
        };
        let on_node = |uuid: &str, host: &str, node: &str| NovaServer {
            node: node.into(),
            ..server(uuid, host)
        };
        let servers = [
            server("a", "compute-xs01"),
            server("b", "Compute-XS02"),
            // Learned: compute-xs01 runs on xs01, which was audited and lacks it.
            server("ghost", "COMPUTE-xs01"),
            // A service host no running instance was seen on: coverage is not claimed
            // (regression: coverage_compared_service_host_with_hypervisor).
            server("unseen", "compute-xs03"),
            server("named-like-dom0", "xs02"),
            server("shelved", ""),
            // With `node`, the node decides, whatever the service host.
            on_node("noded", "anything", "XS02"),
            on_node("noded-away", "compute-xs01", "xs09"),
        ];
        let rows = coverage(&servers, &[&audit]);
        let got: Vec<(&str, Coverage, &str, &str, &str)> = rows
            .iter()
            .map(|r| {
                (
                    r.instance_uuid.as_str(),
                    r.coverage,
                    r.pool_name.as_str(),
                    r.verdict.as_str(),
                    r.xapi_host.as_str(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("shelved", Coverage::NotAudited, "", "", ""),
                ("noded-away", Coverage::NotAudited, "", "", "xs09"),
                ("unseen", Coverage::NotAudited, "", "", ""),
                ("named-like-dom0", Coverage::NotAudited, "", "", ""),
                ("ghost", Coverage::MissingInXapi, "pool", "", "xs01"),
                ("noded", Coverage::MissingInXapi, "pool", "", "xs02"),
                ("leftover", Coverage::UnknownToNova, "pool", "ok", ""),
                ("b", Coverage::Audited, "pool", "ok", "xs02"),
                ("a", Coverage::Audited, "pool", "blocked", "xs01"),
            ]
        );
    }

    #[test]
    fn a_service_host_on_two_xapi_hosts_is_shown_as_such() {
        let audit = |name: &str, host: &str, vm: &str| PoolAudit {
            pool_uuid: name.into(),
            pool_name: name.into(),
            instances: vec![instance(vm, Verdict::Ok)],
            hostnames: vec![host.into()],
            resident_hostnames: vec![(vm.into(), host.into())],
            ..Default::default()
        };
        let (east, west) = (audit("east", "xs01", "a"), audit("west", "xs02", "b"));
        let servers = [
            server("a", "compute"),
            server("b", "compute"),
            server("ghost", "compute"),
        ];
        let map = service_host_map(&servers, &[&east, &west]);
        assert_eq!(map["compute"].iter().collect::<Vec<_>>(), ["xs01", "xs02"]);
        // With one pool audited, only what was seen there is learned.
        let rows = coverage(&servers, &[&east]);
        let ghost = rows.iter().find(|r| r.instance_uuid == "ghost").unwrap();
        assert_eq!(
            (ghost.coverage, ghost.xapi_host.as_str()),
            (Coverage::MissingInXapi, "xs01")
        );
        let rows = coverage(&servers, &[&east, &west]);
        let ghost = rows.iter().find(|r| r.instance_uuid == "ghost").unwrap();
        assert_eq!(
            (ghost.coverage, ghost.xapi_host.as_str()),
            (Coverage::MissingInXapi, "xs01 xs02")
        );
    }
}
