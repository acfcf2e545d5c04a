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
