//! report.xlsx: one workbook with a tab per table, as RVTools users expect. `Summary` holds the
//! verdict, the counts (labels for people in a fixed order, numbers as numbers, each with its
//! report.json key), the run's metadata and the failed entries; `Pools` the per-pool counts;
//! `Instances`, `Findings`,
//! `Hosts`, `Orphans`, `Conflicts` (and `Coverage` with Nova's server list) hold the same header and
//! rows as their CSV files. Each table has its header row frozen, an autofilter, widths fitted to
//! its content, verdict cells coloured, counts as numbers, and every other cell written as a string:
//! a name that starts with `=` stays text (no formula is ever written, so the CSV's `'` prefix is not
//! needed here). Written with rust_xlsxwriter.

use super::csv_out::CsvRow;
use super::runbook::Runbook;
use super::Report;
use rust_xlsxwriter::{Color, Format, Workbook, Worksheet, XlsxError};
use std::io::Write;

/// Excel's limit on the text of one cell.
const MAX_CELL_CHARS: usize = 32_767;
/// Widest a fitted column gets, in characters.
const MAX_WIDTH: usize = 60;

fn cell_text(s: &str) -> &str {
    match s.char_indices().nth(MAX_CELL_CHARS) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

fn verdict_format(value: &str) -> Option<Format> {
    let (bg, fg) = match value {
        "blocked" => (0xFDE7E6, 0xB3261E),
        "review" => (0xFFF1D6, 0x8A5A00),
        "ok" => (0xE3F3E5, 0x1E7D32),
        _ => return None,
    };
    Some(
        Format::new()
            .set_background_color(Color::RGB(bg))
            .set_font_color(Color::RGB(fg))
            .set_bold(),
    )
}

/// One sheet with the rows of a CSV table.
fn table_sheet<T: CsvRow>(sheet: &mut Worksheet, rows: &[T]) -> Result<(), XlsxError> {
    let header = Format::new()
        .set_bold()
        .set_background_color(Color::RGB(0xF6F7F9));
    let mut widths: Vec<usize> = T::HEADER.iter().map(|h| h.len() + 2).collect();
    for (c, h) in T::HEADER.iter().enumerate() {
        sheet.write_string_with_format(0, c as u16, *h, &header)?;
    }
    let numeric: Vec<bool> = T::HEADER.iter().map(|h| T::NUMERIC.contains(h)).collect();
    let verdict_col = T::HEADER.iter().position(|h| *h == "verdict");
    let formats: Vec<(&str, Format)> = ["blocked", "review", "ok"]
        .iter()
        .filter_map(|v| verdict_format(v).map(|f| (*v, f)))
        .collect();
    for (r, row) in rows.iter().enumerate() {
        let r = r as u32 + 1;
        for (c, cell) in row.cells().iter().enumerate() {
            let col = c as u16;
            if numeric[c] {
                if let Ok(n) = cell.parse::<f64>() {
                    sheet.write_number(r, col, n)?;
                    widths[c] = widths[c].max(cell.len() + 1);
                    continue;
                }
            }
            let text = cell_text(cell);
            match formats
                .iter()
                .find(|(v, _)| Some(c) == verdict_col && *v == text)
            {
                Some((_, f)) => sheet.write_string_with_format(r, col, text, f)?,
                None => sheet.write_string(r, col, text)?,
            };
            widths[c] = widths[c].max(text.chars().count().min(MAX_WIDTH) + 1);
        }
    }
    for (c, w) in widths.iter().enumerate() {
        sheet.set_column_width(c as u16, (*w).min(MAX_WIDTH) as f64)?;
    }
    sheet.set_freeze_panes(1, 0)?;
    let last_col = T::HEADER.len().saturating_sub(1) as u16;
    sheet.autofilter(0, 0, rows.len() as u32, last_col)?;
    Ok(())
}

/// The Summary sheet: verdict, counts, run metadata, failed entries.
fn summary_sheet(sheet: &mut Worksheet, r: &Report) -> Result<(), XlsxError> {
    let title = Format::new().set_bold().set_font_size(14);
    let bold = Format::new().set_bold();
    sheet.write_string_with_format(0, 0, cell_text(&r.verdict_line()), &title)?;
    let mut row = 2u32;
    sheet.write_string_with_format(row, 0, "count", &bold)?;
    sheet.write_string_with_format(row, 1, "value", &bold)?;
    sheet.write_string_with_format(row, 2, "report.json summary key", &bold)?;
    row += 1;
    for (label, key, n) in super::counts::labelled(r) {
        sheet.write_string(row, 0, label)?;
        sheet.write_number(row, 1, n as f64)?;
        sheet.write_string(row, 2, key)?;
        row += 1;
    }
    row += 1;
    sheet.write_string_with_format(row, 0, "run", &bold)?;
    row += 1;
    for (k, n) in [
        ("Exit code", f64::from(r.exit_code)),
        ("Report schema version", f64::from(r.schema_version)),
    ] {
        sheet.write_string(row, 0, k)?;
        sheet.write_number(row, 1, n)?;
        row += 1;
    }
    let meta = [
        ("Why this exit code", r.exit_reasons.join("; ")),
        ("--fail-on", r.fail_on.clone()),
        ("Tool", format!("{} {}", r.run.tool, r.run.version)),
        ("Started", r.run.started_at.clone()),
        ("Finished", r.run.finished_at.clone()),
        ("Inventory", r.run.inventory.clone()),
        ("Inventory sha256", r.run.inventory_sha256.clone()),
        ("Complete", r.run.complete.to_string()),
        ("Command", r.run.command.clone()),
    ];
    for (k, v) in meta {
        sheet.write_string(row, 0, k)?;
        sheet.write_string(row, 1, cell_text(&v))?;
        row += 1;
    }
    row += 1;
    let failed: Vec<_> = r.hosts.iter().filter(|h| h.status == "failed").collect();
    sheet.write_string_with_format(row, 0, format!("failed entries ({})", failed.len()), &bold)?;
    row += 1;
    for h in failed {
        sheet.write_string(row, 0, cell_text(&h.name))?;
        sheet.write_string(row, 1, cell_text(&h.error))?;
        row += 1;
    }
    sheet.set_column_width(0, 52)?;
    sheet.set_column_width(1, 90)?;
    sheet.set_column_width(2, 26)?;
    Ok(())
}

/// The Runbook sheet (`scan --plan`): plan.csv's columns, one row per action, as text.
fn runbook_sheet(sheet: &mut Worksheet, runbook: &Runbook) -> Result<(), XlsxError> {
    let bold = Format::new().set_bold();
    sheet.write_string(0, 0, cell_text(&runbook.summary))?;
    for (c, h) in runbook.header.iter().enumerate() {
        sheet.write_string_with_format(1, c as u16, *h, &bold)?;
    }
    for (r, row) in runbook.rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            sheet.write_string(r as u32 + 2, c as u16, cell_text(cell))?;
        }
    }
    sheet.set_freeze_panes(2, 0)?;
    Ok(())
}

fn build(r: &Report, runbook: Option<&Runbook>) -> Result<Workbook, XlsxError> {
    let mut wb = Workbook::new();
    summary_sheet(wb.add_worksheet().set_name("Summary")?, r)?;
    table_sheet(wb.add_worksheet().set_name("Pools")?, &r.pools)?;
    table_sheet(wb.add_worksheet().set_name("Instances")?, &r.instances)?;
    table_sheet(wb.add_worksheet().set_name("Findings")?, &r.findings)?;
    table_sheet(wb.add_worksheet().set_name("Hosts")?, &r.hosts)?;
    table_sheet(wb.add_worksheet().set_name("Orphans")?, &r.orphans)?;
    table_sheet(wb.add_worksheet().set_name("Conflicts")?, &r.conflicts)?;
    if r.nova.as_ref().is_some_and(|n| !n.servers.is_empty()) {
        table_sheet(wb.add_worksheet().set_name("Coverage")?, &r.coverage)?;
    }
    if let Some(runbook) = runbook {
        runbook_sheet(wb.add_worksheet().set_name("Runbook")?, runbook)?;
    }
    Ok(wb)
}

/// Write report.xlsx.
pub fn write_xlsx(out: &mut dyn Write, r: &Report) -> std::io::Result<()> {
    write_xlsx_with(out, r, None)
}

/// Write report.xlsx, with the Runbook sheet when a runbook is given.
pub fn write_xlsx_with(
    out: &mut dyn Write,
    r: &Report,
    runbook: Option<&Runbook>,
) -> std::io::Result<()> {
    let mut wb = build(r, runbook).map_err(std::io::Error::other)?;
    let bytes = wb.save_to_buffer().map_err(std::io::Error::other)?;
    out.write_all(&bytes)
}
