//! The one CSV writer every CSV report goes through: RFC 4180 (the csv crate), a header row first with
//! a stable, documented column order, and OWASP's CSV-injection rule applied to every cell (a cell that
//! starts with `=`, `+`, `-`, `@`, tab or carriage return gets a leading `'`), because every name in
//! these files comes from XAPI and a spreadsheet would otherwise run it as a formula.

use crate::audit::{Conflict, CoverageRow, Finding, Instance, Orphan};
use crate::report::{HostRow, PoolRow};
use std::borrow::Cow;
use std::io::Write;

/// Neutralise a cell that a spreadsheet would read as a formula.
pub fn neutralise(cell: &str) -> Cow<'_, str> {
    match cell.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') => Cow::Owned(format!("'{cell}")),
        _ => Cow::Borrowed(cell),
    }
}

/// A type that is written as rows of a CSV table.
pub trait CsvRow {
    const HEADER: &'static [&'static str];
    /// The columns that hold counts (written as numbers where a format has numbers: XLSX).
    const NUMERIC: &'static [&'static str] = &[];
    fn cells(&self) -> Vec<String>;
}

/// The UTF-8 byte order mark, for spreadsheet programs whose locale would read UTF-8 CSV as another
/// encoding (`--csv-bom`).
pub const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Write a header row and one record per row, every cell neutralised.
pub fn write_csv<T: CsvRow>(out: &mut dyn Write, rows: &[T]) -> std::io::Result<()> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(out);
    w.write_record(T::HEADER)?;
    for row in rows {
        let cells = row.cells();
        debug_assert_eq!(cells.len(), T::HEADER.len());
        w.write_record(cells.iter().map(|c| neutralise(c).into_owned()))?;
    }
    w.flush()?;
    Ok(())
}

fn b(x: bool) -> String {
    x.to_string()
}

impl CsvRow for Finding {
    const HEADER: &'static [&'static str] = &[
        "pool_uuid",
        "pool_name",
        "host",
        "instance_uuid",
        "instance_name",
        "power_state",
        "vm_uuid",
        "userdevice",
        "boot",
        "vdi_uuid",
        "sr_uuid",
        "sr_name",
        "naming",
        "expected_sr_uuid",
        "target",
        "port",
        "target_iqn",
        "volume_id",
        "verdict",
        "remediation",
        "finding_id",
        "conflict",
        "chap",
        "baseline",
        "waiver",
        "waiver_owner",
        "waiver_expires",
        "waiver_reason",
        "project_id",
        "nova_device",
        "nova_sr_uuid",
        "nova_check",
        "previous_sr_uuid",
    ];
    fn cells(&self) -> Vec<String> {
        vec![
            self.pool_uuid.clone(),
            self.pool_name.clone(),
            self.host.clone(),
            self.instance_uuid.clone(),
            self.instance_name.clone(),
            self.power_state.clone(),
            self.vm_uuid.clone(),
            self.userdevice.clone(),
            b(self.boot),
            self.vdi_uuid.clone(),
            self.sr_uuid.clone(),
            self.sr_name.clone(),
            self.naming.as_str().to_string(),
            self.expected_sr_uuid.clone(),
            self.target.clone(),
            self.port.clone(),
            self.target_iqn.clone(),
            self.volume_id.clone(),
            self.verdict.as_str().to_string(),
            self.remediation.clone(),
            self.finding_id.clone(),
            b(self.conflict),
            b(self.chap),
            self.baseline.clone(),
            self.waiver.clone(),
            self.waiver_owner.clone(),
            self.waiver_expires.clone(),
            self.waiver_reason.clone(),
            self.project_id.clone(),
            self.nova_device.clone(),
            self.nova_sr_uuid.clone(),
            self.nova_check.clone(),
            self.previous_sr_uuid.clone(),
        ]
    }
}

impl CsvRow for Instance {
    const NUMERIC: &'static [&'static str] = &["volumes", "legacy", "new", "other", "conflicts"];
    const HEADER: &'static [&'static str] = &[
        "pool_uuid",
        "pool_name",
        "host",
        "instance_uuid",
        "instance_name",
        "power_state",
        "vm_uuid",
        "volumes",
        "legacy",
        "new",
        "other",
        "conflicts",
        "boot_from_volume",
        "verdict",
        "remediation",
        "waived",
        "unpaired_bdms",
        "status",
    ];
    fn cells(&self) -> Vec<String> {
        vec![
            self.pool_uuid.clone(),
            self.pool_name.clone(),
            self.host.clone(),
            self.instance_uuid.clone(),
            self.instance_name.clone(),
            self.power_state.clone(),
            self.vm_uuid.clone(),
            self.volumes.to_string(),
            self.legacy.to_string(),
            self.new.to_string(),
            self.other.to_string(),
            self.conflicts.to_string(),
            b(self.boot_from_volume),
            self.verdict.as_str().to_string(),
            self.remediation.clone(),
            b(self.waived),
            self.unpaired_bdms.clone(),
            self.status.as_str().to_string(),
        ]
    }
}

impl CsvRow for HostRow {
    const NUMERIC: &'static [&'static str] = &[
        "duration_ms",
        "hosts",
        "vms",
        "instances",
        "attachments",
        "blocked",
        "review",
        "legacy_srs",
        "orphans",
        "conflicts",
    ];
    const HEADER: &'static [&'static str] = &[
        "name",
        "source",
        "site",
        "tags",
        "status",
        "pool_uuid",
        "pool_name",
        "error",
        "duration_ms",
        "hosts",
        "vms",
        "instances",
        "attachments",
        "blocked",
        "review",
        "legacy_srs",
        "orphans",
        "conflicts",
        "insecure",
        "tls",
        "tls_version",
    ];
    fn cells(&self) -> Vec<String> {
        vec![
            self.name.clone(),
            self.source.clone(),
            self.site.clone(),
            self.tags.clone(),
            self.status.clone(),
            self.pool_uuid.clone(),
            self.pool_name.clone(),
            self.error.clone(),
            self.duration_ms.to_string(),
            self.hosts.to_string(),
            self.vms.to_string(),
            self.instances.to_string(),
            self.attachments.to_string(),
            self.blocked.to_string(),
            self.review.to_string(),
            self.legacy_srs.to_string(),
            self.orphans.to_string(),
            self.conflicts.to_string(),
            b(self.insecure),
            self.tls.clone(),
            self.tls_version.clone(),
        ]
    }
}

/// The Pools sheet of report.xlsx (no CSV file of its own: report.json has the same rows).
impl CsvRow for PoolRow {
    const NUMERIC: &'static [&'static str] = &[
        "hosts",
        "vms",
        "instances",
        "blocked",
        "review",
        "waived",
        "ok",
        "legacy",
        "new",
        "other",
        "legacy_srs",
        "orphans",
        "conflicts",
    ];
    const HEADER: &'static [&'static str] = &[
        "pool_uuid",
        "pool_name",
        "entry",
        "hosts",
        "vms",
        "instances",
        "blocked",
        "review",
        "waived",
        "ok",
        "legacy",
        "new",
        "other",
        "legacy_srs",
        "orphans",
        "conflicts",
    ];
    fn cells(&self) -> Vec<String> {
        let mut cells = vec![
            self.pool_uuid.clone(),
            self.pool_name.clone(),
            self.entry.clone(),
        ];
        cells.extend(
            [
                self.hosts,
                self.vms,
                self.instances,
                self.blocked,
                self.review,
                self.waived,
                self.ok,
                self.legacy,
                self.new,
                self.other,
                self.legacy_srs,
                self.orphans,
                self.conflicts,
            ]
            .map(|n| n.to_string()),
        );
        cells
    }
}

impl CsvRow for Orphan {
    const NUMERIC: &'static [&'static str] = &["vdis"];
    const HEADER: &'static [&'static str] = &[
        "pool_uuid",
        "pool_name",
        "sr_uuid",
        "sr_name",
        "volume_id",
        "vdis",
        "target",
        "target_iqn",
        "remediation",
    ];
    fn cells(&self) -> Vec<String> {
        vec![
            self.pool_uuid.clone(),
            self.pool_name.clone(),
            self.sr_uuid.clone(),
            self.sr_name.clone(),
            self.volume_id.clone(),
            self.vdis.to_string(),
            self.target.clone(),
            self.target_iqn.clone(),
            self.remediation.clone(),
        ]
    }
}

impl CsvRow for Conflict {
    const NUMERIC: &'static [&'static str] = &["attachments"];
    const HEADER: &'static [&'static str] = &[
        "pool_uuid",
        "pool_name",
        "legacy_sr_uuid",
        "new_sr_uuid",
        "target",
        "target_iqn",
        "attachments",
        "remediation",
    ];
    fn cells(&self) -> Vec<String> {
        vec![
            self.pool_uuid.clone(),
            self.pool_name.clone(),
            self.legacy_sr_uuid.clone(),
            self.new_sr_uuid.clone(),
            self.target.clone(),
            self.target_iqn.clone(),
            self.attachments.to_string(),
            self.remediation.clone(),
        ]
    }
}

impl CsvRow for CoverageRow {
    const HEADER: &'static [&'static str] = &[
        "instance_uuid",
        "instance_name",
        "project_id",
        "nova_status",
        "nova_host",
        "coverage",
        "pool_uuid",
        "pool_name",
        "verdict",
        "xapi_host",
    ];
    fn cells(&self) -> Vec<String> {
        vec![
            self.instance_uuid.clone(),
            self.instance_name.clone(),
            self.project_id.clone(),
            self.nova_status.clone(),
            self.nova_host.clone(),
            self.coverage.as_str().to_string(),
            self.pool_uuid.clone(),
            self.pool_name.clone(),
            self.verdict.clone(),
            self.xapi_host.clone(),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neutralise_table() {
        for (cell, want) in [
            ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
            ("+1", "'+1"),
            ("-2", "'-2"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("\rx", "'\rx"),
            ("normal", "normal"),
            ("a=b", "a=b"),
            ("", ""),
        ] {
            assert_eq!(neutralise(cell), want);
        }
    }

    #[test]
    fn headers_match_cells() {
        let o = Orphan {
            pool_uuid: "=p".into(),
            pool_name: String::new(),
            sr_uuid: String::new(),
            sr_name: "a,\"b\"\nc".into(),
            volume_id: String::new(),
            vdis: 1,
            target: String::new(),
            target_iqn: String::new(),
            remediation: String::new(),
        };
        assert_eq!(o.cells().len(), Orphan::HEADER.len());
        let mut out = Vec::new();
        write_csv(&mut out, &[o]).unwrap();
        let mut r = csv::Reader::from_reader(out.as_slice());
        let rec = r.records().next().unwrap().unwrap();
        assert_eq!(&rec[0], "'=p");
        assert_eq!(&rec[3], "a,\"b\"\nc");
    }
}
