//! junit.xml: the audit as test results for a CI server, failing exactly where the exit code does.
//! One `<testsuite>` per pool and one `<testcase>` per Nova instance, by its effective verdict: a
//! blocked instance is a `<failure type="blocked">` whose message is what to do, an instance to
//! review a `<failure type="review">` (it raises the exit code too), an instance whose problems are
//! all waived is `<skipped>` with the waiver's reason. Orphaned legacy SRs and conflicts are failures
//! in a suite of their own; so is coverage against Nova (instances not audited are `<error>`s, as
//! they make the run exit 3; Nova and XAPI disagreeing is a failure). Inventory entries that failed
//! are `<error>`s in a suite of their own. With `--fail-on never` nothing but errors fails, as the
//! exit code. Written with quick-junit, which also drops the characters XML cannot carry (control
//! characters in a hostile name).

use super::Report;
use crate::audit::{findings_by_instance, Coverage, Finding, Instance, Status, Verdict};
use quick_junit::{NonSuccessKind, TestCase, TestCaseStatus, TestSuite};
use std::io::Write;

/// The suite that holds the inventory entries that could not be audited.
pub const FAILED_ENTRIES_SUITE: &str = "inventory entries that could not be audited";
/// The suite of orphaned legacy SRs and conflicts.
pub const ORPHANS_SUITE: &str = "orphaned legacy SRs and conflicts";
/// The suite of instances the audit does not cover as Nova sees them.
pub const COVERAGE_SUITE: &str = "coverage against Nova";

/// A failure of `kind`, or (under `--fail-on never`, where findings do not fail the run) a pass.
fn failing(fails: bool, kind: &str, message: &str, detail: &str) -> TestCaseStatus {
    if !fails {
        return TestCaseStatus::success();
    }
    let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
    s.set_message(message)
        .set_type(kind)
        .set_description(detail);
    s
}

fn detail(findings: &[&Finding]) -> String {
    findings
        .iter()
        .filter(|f| f.verdict != Verdict::Ok)
        .map(|f| {
            format!(
                "userdevice {}: {} SR {} ({}{}): {}",
                f.userdevice,
                f.naming.as_str(),
                f.sr_uuid,
                f.verdict.as_str(),
                if f.waiver.is_empty() {
                    String::new()
                } else {
                    format!(", {}", f.waiver)
                },
                f.remediation
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn instance_case(i: &Instance, findings: &[&Finding], pool: &str, fails: bool) -> TestCase {
    let detail = detail(findings);
    let status = match i.status {
        Status::Waived => {
            let reason = findings
                .iter()
                .find(|f| f.waiver == "waived")
                .map(|f| format!("waived by {}: {}", f.waiver_owner, f.waiver_reason))
                .unwrap_or_else(|| "waived".into());
            let mut s = TestCaseStatus::skipped();
            s.set_message(reason).set_description(detail.as_str());
            s
        }
        Status::Blocked => failing(fails, "blocked", &i.remediation, &detail),
        Status::Review => {
            let why = if i.remediation.is_empty() || i.verdict != Verdict::Review {
                "Review the volumes that still count before live-migrating (the blocking ones are waived)."
            } else {
                i.remediation.as_str()
            };
            failing(fails, "review", why, &detail)
        }
        Status::Ok => TestCaseStatus::success(),
    };
    let mut case = TestCase::new(format!("{} ({})", i.instance_name, i.instance_uuid), status);
    case.set_classname(format!("pool {pool}"));
    if !fails && matches!(i.status, Status::Blocked | Status::Review) {
        case.set_system_out(format!(
            "{}: {}\n{detail}",
            i.status.as_str(),
            i.remediation
        ));
    }
    case
}

fn orphans_suite(r: &Report, fails: bool) -> Option<TestSuite> {
    if r.orphans.is_empty() && r.conflicts.is_empty() {
        return None;
    }
    let mut suite = TestSuite::new(ORPHANS_SUITE);
    for o in &r.orphans {
        let status = failing(fails, "orphan", &o.remediation, &o.sr_name);
        let mut case = TestCase::new(
            format!("orphan {} in pool {}", o.sr_uuid, o.pool_name),
            status,
        );
        case.set_classname("orphans");
        suite.add_test_case(case);
    }
    for c in &r.conflicts {
        let detail = format!(
            "new-style SR {} over {} {}",
            c.new_sr_uuid, c.target, c.target_iqn
        );
        let status = failing(fails, "conflict", &c.remediation, &detail);
        let mut case = TestCase::new(
            format!("conflict {} in pool {}", c.legacy_sr_uuid, c.pool_name),
            status,
        );
        case.set_classname("conflicts");
        suite.add_test_case(case);
    }
    Some(suite)
}

fn coverage_suite(r: &Report, fails: bool) -> Option<TestSuite> {
    let gaps: Vec<_> = r
        .coverage
        .iter()
        .filter(|c| c.coverage != Coverage::Audited)
        .collect();
    if gaps.is_empty() {
        return None;
    }
    let mut suite = TestSuite::new(COVERAGE_SUITE);
    for c in gaps {
        let status = if c.coverage == Coverage::NotAudited {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Error);
            s.set_message(format!(
                "Nova runs this instance on {}, which no audited pool has: add that host to the inventory and run again",
                c.nova_host
            ))
            .set_type("not-audited");
            s
        } else {
            let message = match c.coverage {
                Coverage::MissingInXapi => {
                    "Nova places this instance on an audited host, but no VM there carries its uuid"
                }
                _ => {
                    "a VM carries this Nova uuid, but Nova does not list the instance (a leftover?)"
                }
            };
            failing(fails, c.coverage.as_str(), message, "")
        };
        let mut case = TestCase::new(format!("{} ({})", c.instance_name, c.instance_uuid), status);
        case.set_classname("coverage");
        suite.add_test_case(case);
    }
    Some(suite)
}

fn build(r: &Report) -> quick_junit::Report {
    let by_instance = findings_by_instance(&r.findings);
    let fails = r.fail_on != "never";
    let mut out = quick_junit::Report::new("xen-sr-audit");
    for pool in &r.pools {
        let name = if pool.pool_name.is_empty() {
            pool.pool_uuid.as_str()
        } else {
            pool.pool_name.as_str()
        };
        let mut suite = TestSuite::new(format!("pool {name}"));
        suite.add_property(("pool_uuid", pool.pool_uuid.as_str()));
        for i in r.instances.iter().filter(|i| i.pool_uuid == pool.pool_uuid) {
            let findings = by_instance
                .get(&(i.pool_uuid.as_str(), i.vm_uuid.as_str()))
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            suite.add_test_case(instance_case(i, findings, name, fails));
        }
        out.add_test_suite(suite);
    }
    out.add_test_suites(orphans_suite(r, fails));
    out.add_test_suites(coverage_suite(r, fails));
    let failed: Vec<_> = r.hosts.iter().filter(|h| h.status == "failed").collect();
    if !failed.is_empty() {
        let mut suite = TestSuite::new(FAILED_ENTRIES_SUITE);
        for h in failed {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Error);
            s.set_message(h.error.as_str()).set_type("entry failed");
            let mut case = TestCase::new(h.name.as_str(), s);
            case.set_classname("inventory");
            suite.add_test_case(case);
        }
        out.add_test_suite(suite);
    }
    out
}

/// Write junit.xml.
pub fn write_junit(out: &mut dyn Write, r: &Report) -> std::io::Result<()> {
    build(r)
        .serialize(&mut *out)
        .map_err(std::io::Error::other)?;
    out.write_all(b"\n")
}
