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

/// The counts the gate decides on (waived findings already set aside).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GateCounts {
    pub instances_blocked_unwaived: usize,
    pub instances_review_unwaived: usize,
    pub orphans: usize,
    pub conflicts: usize,
    /// Inventory entries that could not be audited.
    pub entries_failed: usize,
    /// Instances Nova lists that no audited pool covers: the audit is incomplete.
    pub instances_not_audited: usize,
    /// Instances where Nova and XAPI disagree (missing in XAPI, unknown to Nova).
    pub coverage_warnings: usize,
}

/// The documented exit code for `--fail-on`: 2 for failing findings, else 3 for a failed entry or an
/// instance Nova knows that nothing audited, else 1 for warnings (instances to review, orphans,
/// conflicts, Nova and XAPI disagreeing), else 0. Waived findings do not count.
pub fn exit_code(c: &GateCounts, fail_on: FailOn) -> u8 {
    let failing = match fail_on {
        FailOn::Blocked => c.instances_blocked_unwaived > 0,
        FailOn::Review => c.instances_blocked_unwaived + c.instances_review_unwaived > 0,
        FailOn::Never => false,
    };
    let warnings = match fail_on {
        FailOn::Blocked => {
            c.instances_review_unwaived > 0
                || c.orphans > 0
                || c.conflicts > 0
                || c.coverage_warnings > 0
        }
        FailOn::Review => c.orphans > 0 || c.conflicts > 0 || c.coverage_warnings > 0,
        FailOn::Never => false,
    };
    if failing {
        exit::BLOCKED
    } else if c.entries_failed > 0 || c.instances_not_audited > 0 {
        exit::ENTRY_FAILED
    } else if warnings {
        exit::WARNINGS
    } else {
        exit::CLEAN
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counts with one field set, for readable tables.
    fn counts(set: &[(&str, usize)]) -> GateCounts {
        let mut c = GateCounts::default();
        for (field, n) in set {
            let n = *n;
            match *field {
                "blocked" => c.instances_blocked_unwaived = n,
                "review" => c.instances_review_unwaived = n,
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
