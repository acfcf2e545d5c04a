//! The exit-code gate: which findings make a run fail, under `--fail-on`, and the documented exit
//! codes a compliance job keys on.

/// Exit codes, documented in README.md and `--help`.
pub mod exit {
    pub const CLEAN: u8 = 0;
    pub const WARNINGS: u8 = 1;
    pub const BLOCKED: u8 = 2;
    pub const ENTRY_FAILED: u8 = 3;
    pub const USAGE: u8 = 64;
    pub const INTERNAL: u8 = 70;
    pub const IO: u8 = 74;
    pub const INTERRUPTED: u8 = 130;
}

/// Which findings raise the exit code (`--fail-on`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FailOn {
    /// Blocked instances give 2; review items, orphans and conflicts give 1.
    #[default]
    Blocked,
    /// Blocked and review instances give 2; orphans and conflicts give 1.
    Review,
    /// Findings never raise the exit code (failed entries still give 3).
    Never,
}

impl FailOn {
    pub fn parse(s: &str) -> Option<FailOn> {
        match s {
            "blocked" => Some(FailOn::Blocked),
            "review" => Some(FailOn::Review),
            "never" => Some(FailOn::Never),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            FailOn::Blocked => "blocked",
            FailOn::Review => "review",
            FailOn::Never => "never",
        }
    }
}

/// The counts the gate decides on: the instances' effective verdicts (waived findings already set
/// aside) and the run's other warnings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GateCounts {
    pub instances_blocked: usize,
    pub instances_review: usize,
    pub orphans: usize,
    pub conflicts: usize,
    /// Inventory entries that could not be audited.
    pub entries_failed: usize,
    /// Instances Nova lists that no audited pool covers: the audit is incomplete.
    pub instances_not_audited: usize,
    /// Instances where Nova and XAPI disagree (missing in XAPI, unknown to Nova).
    pub coverage_warnings: usize,
}

/// The exit code and why: one phrase per count that raised it to that code, then every other cause
/// that would fail the run at its own level, marked with the code it gives (`3 orphaned legacy SRs
/// (exit 1 on its own)`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Decision {
    pub code: u8,
    pub reasons: Vec<String>,
}

fn counted(n: usize, one: &str, many: &str) -> Option<String> {
    (n > 0).then(|| format!("{n} {}", if n == 1 { one } else { many }))
}

/// The documented exit code for `--fail-on`: 2 for failing instances, else 3 for a failed entry or an
/// instance Nova knows that nothing audited, else 1 for warnings (instances to review, orphans,
/// conflicts, Nova and XAPI disagreeing), else 0; with the counts that decided it.
pub fn decide(c: &GateCounts, fail_on: FailOn) -> Decision {
    let blocked = counted(c.instances_blocked, "blocked instance", "blocked instances");
    let review = counted(
        c.instances_review,
        "instance to review",
        "instances to review",
    );
    let failing: Vec<Option<String>> = match fail_on {
        FailOn::Blocked => vec![blocked],
        FailOn::Review => vec![blocked, review.clone()],
        FailOn::Never => vec![],
    };
    let incomplete = vec![
        counted(
            c.entries_failed,
            "inventory entry could not be audited",
            "inventory entries could not be audited",
        ),
        counted(
            c.instances_not_audited,
            "instance known to Nova was not audited",
            "instances known to Nova were not audited",
        ),
    ];
    let mut warnings = match fail_on {
        FailOn::Blocked => vec![review],
        FailOn::Review => vec![],
        FailOn::Never => vec![],
    };
    if fail_on != FailOn::Never {
        warnings.extend([
            counted(c.orphans, "orphaned legacy SR", "orphaned legacy SRs"),
            counted(c.conflicts, "conflict", "conflicts"),
            counted(
                c.coverage_warnings,
                "instance where Nova and XAPI disagree",
                "instances where Nova and XAPI disagree",
            ),
        ]);
    }
    let mut decision = Decision {
        code: exit::CLEAN,
        reasons: Vec::new(),
    };
    for (code, reasons) in [
        (exit::BLOCKED, failing),
        (exit::ENTRY_FAILED, incomplete),
        (exit::WARNINGS, warnings),
    ] {
        for reason in reasons.into_iter().flatten() {
            if decision.code == exit::CLEAN || decision.code == code {
                decision.code = code;
                decision.reasons.push(reason);
            } else {
                // A cause the exit code already outranks: still named, with the code it gives.
                decision
                    .reasons
                    .push(format!("{reason} (exit {code} on its own)"));
            }
        }
    }
    decision
}

/// The exit code alone (see [`decide`]).
pub fn exit_code(c: &GateCounts, fail_on: FailOn) -> u8 {
    decide(c, fail_on).code
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decide_table() {
        let c = |blocked, review, orphans, failed| GateCounts {
            instances_blocked: blocked,
            instances_review: review,
            orphans,
            entries_failed: failed,
            ..Default::default()
        };
        for (counts, fail_on, code, reasons) in [
            (c(0, 0, 0, 0), FailOn::Blocked, 0, vec![]),
            (
                c(2, 1, 0, 0),
                FailOn::Blocked,
                2,
                vec![
                    "2 blocked instances",
                    "1 instance to review (exit 1 on its own)",
                ],
            ),
            (
                c(0, 12, 3, 0),
                FailOn::Blocked,
                1,
                vec!["12 instances to review", "3 orphaned legacy SRs"],
            ),
            (
                c(2, 1, 3, 1),
                FailOn::Blocked,
                2,
                vec![
                    "2 blocked instances",
                    "1 inventory entry could not be audited (exit 3 on its own)",
                    "1 instance to review (exit 1 on its own)",
                    "3 orphaned legacy SRs (exit 1 on its own)",
                ],
            ),
            (
                c(0, 1, 0, 0),
                FailOn::Review,
                2,
                vec!["1 instance to review"],
            ),
            (
                c(0, 0, 1, 0),
                FailOn::Review,
                1,
                vec!["1 orphaned legacy SR"],
            ),
            (
                c(0, 1, 1, 1),
                FailOn::Blocked,
                3,
                vec![
                    "1 inventory entry could not be audited",
                    "1 instance to review (exit 1 on its own)",
                    "1 orphaned legacy SR (exit 1 on its own)",
                ],
            ),
            (c(5, 5, 5, 0), FailOn::Never, 0, vec![]),
            (
                c(5, 5, 5, 1),
                FailOn::Never,
                3,
                vec!["1 inventory entry could not be audited"],
            ),
        ] {
            let d = decide(&counts, fail_on);
            assert_eq!(
                (
                    d.code,
                    d.reasons.iter().map(String::as_str).collect::<Vec<_>>()
                ),
                (code, reasons),
                "{counts:?} {fail_on:?}"
            );
        }
    }

    #[test]
    fn regression_exit_reasons_name_every_cause_at_its_own_level() {
        // The demo: blocked instances decide exit 2, yet its coverage gaps, orphans and conflicts
        // would fail the run too and were not named.
        let demo = GateCounts {
            instances_blocked: 15,
            instances_not_audited: 3,
            orphans: 3,
            conflicts: 3,
            ..Default::default()
        };
        let d = decide(&demo, FailOn::Blocked);
        assert_eq!(d.code, 2);
        assert_eq!(
            d.reasons,
            [
                "15 blocked instances",
                "3 instances known to Nova were not audited (exit 3 on its own)",
                "3 orphaned legacy SRs (exit 1 on its own)",
                "3 conflicts (exit 1 on its own)",
            ]
        );
    }
}
