//! `plan --check NEW.json --plan plan.csv`: how far the plan has got, from a later scan. Each action
//! is `done` when every finding it targets is fixed (no longer blocked; a waiver is no fix), `regressed` when
//! one is still blocked under a legacy name although its instance was touched (moved to another
//! host, or its disk re-attached as a new VDI): the fix was made by a compute that still names SRs the
//! old way, its precondition was not met. Anything else is `pending`.

use crate::plan::input::{FindingIn, ReportIn};
use crate::plan::writers::CSV_HEADER;
use crate::plan::PlanError;
use std::collections::HashMap;
use std::path::Path;

/// Where an action stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    Done,
    Pending,
    Regressed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Done => "done",
            Status::Pending => "pending",
            Status::Regressed => "regressed",
        }
    }
}

/// One row of plan.csv, as `--check` needs it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlannedAction {
    pub wave: Option<usize>,
    pub instance_uuid: String,
    pub instance_name: String,
    pub host: String,
    pub action: String,
    pub finding_ids: Vec<String>,
    pub vdi_uuids: Vec<String>,
}

/// One action's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub action: PlannedAction,
    pub status: Status,
}

/// Undo the CSV-injection prefix the writer added.
fn unneutralise(cell: &str) -> &str {
    match cell.as_bytes() {
        [b'\'', b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r', ..] => &cell[1..],
        _ => cell,
    }
}

/// Read plan.csv: its header must carry the columns `--check` uses.
pub fn read_plan_csv(path: &Path) -> Result<Vec<PlannedAction>, PlanError> {
    let bad = |message: String| PlanError::Input {
        path: path.display().to_string(),
        message,
    };
    let mut r = csv::ReaderBuilder::new()
        .from_path(path)
        .map_err(|e| bad(format!("cannot read: {e}")))?;
    let header = r
        .headers()
        .map_err(|e| bad(format!("line 1: {e}")))?
        .clone();
    let col = |name: &str| {
        header.iter().position(|h| h == name).ok_or_else(|| {
            bad(format!(
                "line 1: no column {name:?}: not a plan.csv of xen-sr-audit plan"
            ))
        })
    };
    let [wave, uuid, name, host, action, ids, vdis] = [
        "wave",
        "instance_uuid",
        "instance_name",
        "host",
        "action",
        "finding_ids",
        "vdi_uuids",
    ]
    .map(col);
    let (wave, uuid, name, host, action, ids, vdis) =
        (wave?, uuid?, name?, host?, action?, ids?, vdis?);
    debug_assert!(CSV_HEADER.contains(&"vdi_uuids"));
    let mut out = Vec::new();
    for (n, rec) in r.records().enumerate() {
        let rec = rec.map_err(|e| bad(format!("line {}: {e}", n + 2)))?;
        let cell = |i: usize| unneutralise(rec.get(i).unwrap_or("")).to_string();
        let wave_text = cell(wave);
        let wave_number = match wave_text.as_str() {
            "" => None,
            w => Some(
                w.parse()
                    .map_err(|_| bad(format!("line {}: wave {w:?} is not a number", n + 2)))?,
            ),
        };
        out.push(PlannedAction {
            wave: wave_number,
            instance_uuid: cell(uuid),
            instance_name: cell(name),
            host: cell(host),
            action: cell(action),
            finding_ids: cell(ids).split_whitespace().map(String::from).collect(),
            vdi_uuids: cell(vdis).split_whitespace().map(String::from).collect(),
        });
    }
    Ok(out)
}

/// The status of one targeted finding in the later scan.
fn finding_status(planned: &PlannedAction, index: usize, now: Option<&FindingIn>) -> Status {
    let Some(f) = now else { return Status::Pending };
    // Fixed means no longer blocked: a waiver acknowledges a problem, it does not fix it.
    if f.verdict != "blocked" {
        return Status::Done;
    }
    let moved = !planned.host.is_empty() && f.host != planned.host;
    let reattached = planned
        .vdi_uuids
        .get(index)
        .is_some_and(|v| !v.is_empty() && *v != f.vdi_uuid);
    if f.naming == "legacy" && (moved || reattached) {
        Status::Regressed
    } else {
        Status::Pending
    }
}

/// Compare every action of the plan with a later scan.
pub fn check(plan: &[PlannedAction], now: &ReportIn) -> Vec<Outcome> {
    let by_id: HashMap<&str, &FindingIn> = now
        .findings()
        .iter()
        .map(|f| (f.finding_id.as_str(), f))
        .collect();
    plan.iter()
        .map(|a| {
            let statuses = a
                .finding_ids
                .iter()
                .enumerate()
                .map(|(i, id)| finding_status(a, i, by_id.get(id.as_str()).copied()));
            let status = statuses.fold(Status::Done, |acc, s| match (acc, s) {
                (Status::Regressed, _) | (_, Status::Regressed) => Status::Regressed,
                (Status::Pending, _) | (_, Status::Pending) => Status::Pending,
                _ => Status::Done,
            });
            let status = if a.finding_ids.is_empty() {
                Status::Pending
            } else {
                status
            };
            Outcome {
                action: a.clone(),
                status,
            }
        })
        .collect()
}

/// The console text: one line per action, the count line, the next wave.
pub fn render(outcomes: &[Outcome]) -> String {
    let clean = crate::text::printable;
    let mut out = String::new();
    for o in outcomes {
        let wave = o
            .action
            .wave
            .map(|w| format!("wave {w}"))
            .unwrap_or_else(|| "not planned".into());
        out.push_str(&format!(
            "{:<9} {wave:<11} {} {} {}\n",
            o.status.as_str(),
            clean(&o.action.instance_uuid),
            o.action.action,
            clean(&o.action.instance_name)
        ));
    }
    let count = |s: Status| outcomes.iter().filter(|o| o.status == s).count();
    out.push_str(&format!(
        "{} done, {} pending, {} regressed\n",
        count(Status::Done),
        count(Status::Pending),
        count(Status::Regressed)
    ));
    let next = outcomes
        .iter()
        .filter(|o| o.status != Status::Done)
        .filter_map(|o| o.action.wave)
        .min();
    match next {
        Some(w) => {
            let left: Vec<String> = outcomes
                .iter()
                .filter(|o| o.status != Status::Done && o.action.wave == Some(w))
                .map(|o| clean(&o.action.instance_uuid))
                .collect();
            out.push_str(&format!(
                "next wave: {w} ({}: {})\n",
                crate::text::count(left.len(), "action"),
                left.join(" ")
            ));
        }
        None if outcomes.iter().any(|o| o.status != Status::Done) => {
            out.push_str("next wave: none planned (the rest were not planned)\n")
        }
        None => out.push_str("next wave: none, every action is done\n"),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn planned(host: &str, vdi: &str) -> PlannedAction {
        PlannedAction {
            wave: Some(1),
            instance_uuid: "i".into(),
            host: host.into(),
            finding_ids: vec!["p/i/0".into()],
            vdi_uuids: vec![vdi.into()],
            ..Default::default()
        }
    }

    fn now(host: &str, vdi: &str, naming: &str, verdict: &str) -> FindingIn {
        FindingIn {
            finding_id: "p/i/0".into(),
            host: host.into(),
            vdi_uuid: vdi.into(),
            naming: naming.into(),
            verdict: verdict.into(),
            ..Default::default()
        }
    }

    #[test]
    fn statuses_follow_the_later_scan() {
        let p = planned("h1", "vdi1");
        let cases = [
            (
                "fixed: new-style now",
                Some(now("h2", "vdi1", "new", "ok")),
                Status::Done,
            ),
            (
                "untouched",
                Some(now("h1", "vdi1", "legacy", "blocked")),
                Status::Pending,
            ),
            (
                "moved but legacy again",
                Some(now("h2", "vdi1", "legacy", "blocked")),
                Status::Regressed,
            ),
            (
                "re-attached but legacy again",
                Some(now("h1", "vdi9", "legacy", "blocked")),
                Status::Regressed,
            ),
            ("not in the later scan", None, Status::Pending),
            (
                "waived since, still blocked",
                Some(FindingIn {
                    waiver: "waived".into(),
                    ..now("h1", "vdi1", "legacy", "blocked")
                }),
                Status::Pending,
            ),
        ];
        for (what, f, want) in cases {
            assert_eq!(finding_status(&p, 0, f.as_ref()), want, "{what}");
        }
    }

    #[test]
    fn neutralised_cells_read_back_raw() {
        assert_eq!(unneutralise("'=cmd"), "=cmd");
        assert_eq!(unneutralise("'plain"), "'plain");
        assert_eq!(unneutralise("h1"), "h1");
    }

    #[test]
    fn console_neutralises_a_right_to_left_override_in_a_name() {
        // "vm-\u{202E}lmth.exe" would show as "vm-exe.html" on a terminal.
        let outcome = Outcome {
            action: PlannedAction {
                instance_name: "vm-\u{202E}lmth.exe\nPENDING".into(),
                instance_uuid: "i\u{2066}1".into(),
                ..planned("h1", "vdi1")
            },
            status: Status::Pending,
        };
        let text = render(&[outcome]);
        assert!(!text.contains(['\u{202E}', '\u{2066}']), "{text:?}");
        let first = text.lines().next().unwrap();
        assert!(first.ends_with("vm-?lmth.exe?PENDING"), "{first:?}");
        assert!(text.contains("next wave: 1 (1 action: i?1)"), "{text:?}");
    }
}
