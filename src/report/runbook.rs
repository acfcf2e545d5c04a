//! The runbook inside the scan's own reports (`scan --plan`): the same plan `xen-sr-audit plan` would
//! write from this run's report.json, with default options, as rows for report.html's Runbook section
//! and report.xlsx's Runbook sheet. The report is handed to the planner as the JSON it would read from
//! disk, so both paths plan from exactly the same data.

use crate::plan::{self, writers, PlanOptions};
use crate::report::Report;

/// The plan as a table: plan.csv's header and one row per action (raw text, not neutralised).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Runbook {
    /// One line: how many actions in how many waves, and whether capacity was checked.
    pub summary: String,
    pub header: Vec<&'static str>,
    pub rows: Vec<Vec<String>>,
}

/// Plan this run's blocked, unwaived instances.
pub fn runbook(report: &Report) -> Runbook {
    let input: plan::ReportIn = serde_json::to_value(report)
        .and_then(serde_json::from_value)
        .unwrap_or_default();
    let plan = plan::build_plan(&input, &PlanOptions::default());
    let planned = plan.actions.iter().filter(|a| a.wave.is_some()).count();
    Runbook {
        summary: format!(
            "{planned} action(s) in {} wave(s), {} not planned; capacity {}; the same as `xen-sr-audit plan report.json --out DIR` with default options",
            plan.waves,
            plan.actions.len() - planned,
            if plan.capacity_known { "checked" } else { "unknown" }
        ),
        header: writers::CSV_HEADER.to_vec(),
        rows: plan.actions.iter().map(writers::action_cells).collect(),
    }
}
