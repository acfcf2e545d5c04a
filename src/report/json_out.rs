//! report.json: the whole [`Report`] as pretty JSON with `schema_version`, for compliance jobs that
//! compare runs. Values are raw (no CSV neutralisation): JSON consumers are programs, not spreadsheets.

use crate::policy::inputs::{DumpInput, InputFile, Inputs};
use crate::report::Report;
use std::io::Write;

pub fn write_json(out: &mut dyn Write, report: &Report) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, report).map_err(std::io::Error::other)?;
    out.write_all(b"\n")
}

/// Read a report.json back (baselines, `diff`).
pub fn read_json(path: &std::path::Path) -> Result<Report, crate::error::InputError> {
    use crate::error::InputError;
    let bytes = std::fs::read(path).map_err(|source| InputError::Unreadable {
        path: path.to_path_buf(),
        cause: source,
    })?;
    serde_json::from_slice(&bytes).map_err(|e| InputError::Invalid {
        path: path.to_path_buf(),
        line: e.line() as u64,
        message: format!("not a xen-sr-audit report.json: {e}"),
    })
}

/// What comparing runs needs of a report.json: read leniently, so that the reports of earlier
/// versions (schema 1) still serve as baselines.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct Comparable {
    pub run: crate::report::RunMeta,
    #[serde(default)]
    pub pools: Vec<crate::report::PoolRow>,
    #[serde(default)]
    pub findings: Vec<crate::audit::Finding>,
    /// Schema 3 on; older reports have their inputs inferred from what they do record.
    #[serde(default)]
    pub inputs: Option<Inputs>,
    #[serde(default)]
    pub nova: Option<crate::report::NovaInfo>,
    #[serde(default)]
    pub fail_on: String,
    #[serde(default)]
    pub waivers: Vec<serde_json::Value>,
    #[serde(default)]
    pub hosts: Vec<serde_json::Value>,
    #[serde(default)]
    pub schema_version: u32,
}

impl Comparable {
    /// The run's inputs: as recorded (schema 3 on), or inferred without digests from the Nova
    /// files, `--fail-on`, waivers and sources an older report names.
    pub fn inputs(&self) -> Inputs {
        if let Some(i) = &self.inputs {
            return i.clone();
        }
        let files = |v: &[String]| {
            v.iter()
                .map(|p| InputFile {
                    path: p.clone(),
                    sha256: String::new(),
                })
                .collect()
        };
        let nova = self.nova.clone().unwrap_or_default();
        let source = |h: &serde_json::Value| h["source"].as_str().unwrap_or_default().to_string();
        let is_live = |s: &str| {
            let s = s.to_ascii_lowercase();
            s.starts_with("http://") || s.starts_with("https://")
        };
        Inputs {
            tool_version: self.run.version.clone(),
            inventory_sha256: self.run.inventory_sha256.clone(),
            dumps: self
                .hosts
                .iter()
                .map(source)
                .filter(|s| !is_live(s))
                .map(|path| DumpInput {
                    path,
                    ..Default::default()
                })
                .collect(),
            live_entries: self.hosts.iter().filter(|h| is_live(&source(h))).count(),
            nova_servers: files(&nova.servers),
            nova_bdms: files(&nova.bdms),
            nova_target_port: if nova.target_port.is_empty() {
                crate::classify::DEFAULT_PORT.into()
            } else {
                nova.target_port
            },
            nova_target_host: nova.target_host,
            fail_on: if self.fail_on.is_empty() {
                crate::policy::FailOn::default().as_str().into()
            } else {
                self.fail_on.clone()
            },
            waivers: (!self.waivers.is_empty()).then(InputFile::default),
            recorded: false,
        }
    }
}

/// Read a report.json for a comparison (`--baseline`, `diff`).
pub fn read_comparable(path: &std::path::Path) -> Result<Comparable, crate::error::InputError> {
    use crate::error::InputError;
    let bytes = std::fs::read(path).map_err(|cause| InputError::Unreadable {
        path: path.to_path_buf(),
        cause,
    })?;
    serde_json::from_slice(&bytes).map_err(|e| InputError::Invalid {
        path: path.to_path_buf(),
        line: e.line() as u64,
        message: format!("not a xen-sr-audit report.json: {e}"),
    })
}
