//! report.json: the whole [`Report`] as pretty JSON with `schema_version`, for compliance jobs that
//! compare runs. Values are raw (no CSV neutralisation): JSON consumers are programs, not spreadsheets.

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
