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

/// The exit code alone, table by table: precedence, `--fail-on`, each count.
#[cfg(test)]
mod exit_code_tables {
    use super::*;

    /// Counts with one field set, for readable tables.
    fn counts(set: &[(&str, usize)]) -> GateCounts {
        let mut c = GateCounts::default();
        for (field, n) in set {
            let n = *n;
            match *field {
                "blocked" => c.instances_blocked = n,
                "review" => c.instances_review = n,
                "orphans" => c.orphans = n,
                "conflicts" => c.conflicts = n,
                "failed" => c.entries_failed = n,
                "not_audited" => c.instances_not_audited = n,
                "coverage" => c.coverage_warnings = n,
                other => panic!("unknown count {other}"),
            }
        }
        c
    }

    /// Counts set, the gate, the exit code wanted, and why.
    type Case = (&'static [(&'static str, usize)], FailOn, u8, &'static str);

    #[test]
    fn exit_code_follows_the_documented_table_and_precedence() {
        use FailOn::{Blocked as B, Never as N, Review as R};
        #[rustfmt::skip]
        let table: &[Case] = &[
            (&[], B, 0, "nothing at all is clean"),
            (&[], R, 0, "nothing at all is clean under review"),
            (&[], N, 0, "nothing at all is clean under never"),
            (&[("blocked", 1)], B, 2, "a blocked instance fails"),
            (&[("blocked", 1)], R, 2, "blocked fails under review too"),
            (&[("blocked", 1)], N, 0, "never keeps findings out"),
            (&[("review", 1)], B, 1, "review is a warning by default"),
            (&[("review", 1)], R, 2, "review fails under --fail-on review"),
            (&[("review", 1)], N, 0, "never: review is not a warning"),
            (&[("orphans", 1)], B, 1, "an orphan warns"),
            (&[("orphans", 1)], R, 1, "an orphan warns under review"),
            (&[("orphans", 1)], N, 0, "never: no orphan warning"),
            (&[("conflicts", 1)], B, 1, "a conflict warns"),
            (&[("conflicts", 1)], R, 1, "a conflict warns under review"),
            (&[("conflicts", 1)], N, 0, "never: no conflict warning"),
            (&[("coverage", 1)], B, 1, "Nova and XAPI disagreeing warns"),
            (&[("coverage", 1)], R, 1, "coverage warns under review"),
            (&[("coverage", 1)], N, 0, "never: no coverage warning"),
            (&[("failed", 1)], B, 3, "a failed entry is incomplete"),
            (&[("failed", 1)], R, 3, "a failed entry under review"),
            (&[("failed", 1)], N, 3, "never still gives 3 for a failed entry"),
            (&[("not_audited", 1)], B, 3, "an unaudited Nova instance is incomplete"),
            (&[("not_audited", 1)], N, 3, "never still gives 3 for not-audited"),
            // 2 before 3 before 1.
            (&[("blocked", 1), ("failed", 1), ("review", 1)], B, 2, "2 before 3"),
            (&[("failed", 1), ("review", 2), ("orphans", 1), ("conflicts", 1), ("coverage", 1)], B, 3, "3 before 1"),
            (&[("not_audited", 1), ("orphans", 1)], B, 3, "not-audited before warnings"),
            (&[("review", 1), ("failed", 1)], R, 2, "review fails before a failed entry"),
            (&[("blocked", 3), ("failed", 1)], N, 3, "never: failed entry wins over findings"),
            (&[("blocked", 1), ("orphans", 1)], B, 2, "2 before 1"),
        ];
        for (set, fail_on, want, why) in table {
            assert_eq!(
                exit_code(&counts(set), *fail_on),
                *want,
                "{why}: {set:?} with --fail-on {}",
                fail_on.as_str()
            );
        }
    }

    #[test]
    fn fail_on_parses_its_three_names_and_nothing_else() {
        for fail_on in [FailOn::Blocked, FailOn::Review, FailOn::Never] {
            assert_eq!(FailOn::parse(fail_on.as_str()), Some(fail_on));
        }
        for bad in ["", "Blocked", "all", "none", "review "] {
            assert_eq!(FailOn::parse(bad), None, "{bad:?}");
        }
        assert_eq!(FailOn::default(), FailOn::Blocked);
    }

    #[test]
    fn exit_codes_are_the_documented_numbers() {
        let table = [
            (exit::CLEAN, 0),
            (exit::WARNINGS, 1),
            (exit::BLOCKED, 2),
            (exit::ENTRY_FAILED, 3),
            (exit::USAGE, 64),
            (exit::INTERNAL, 70),
            (exit::IO, 74),
            (exit::INTERRUPTED, 130),
        ];
        for (code, documented) in table {
            assert_eq!(code, documented);
        }
    }
}
