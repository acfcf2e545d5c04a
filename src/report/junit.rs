//! junit.xml: the audit as test results for a CI server. One `<testsuite>` per pool and one
//! `<testcase>` per Nova instance: a blocked instance is a `<failure>` whose message is what to do,
//! an instance to review passes with the reason in `<system-out>`, an instance whose problems are
//! all waived is `<skipped>` with the waiver's reason. Inventory entries that failed are `<error>`s
//! in a suite of their own. Written with quick-junit, which also drops the characters XML cannot
//! carry (control characters in a hostile name).

use super::Report;
use crate::audit::{findings_by_instance, Verdict};
use quick_junit::{NonSuccessKind, TestCase, TestCaseStatus, TestSuite};
use std::io::Write;

/// The suite that holds the inventory entries that could not be audited.
pub const FAILED_ENTRIES_SUITE: &str = "inventory entries that could not be audited";

fn build(r: &Report) -> quick_junit::Report {
    let by_instance = findings_by_instance(&r.findings);
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
            let detail = findings
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
                .join("\n");
            let status = if i.waived {
                let reason = findings
                    .iter()
                    .find(|f| f.waiver == "waived")
                    .map(|f| format!("waived by {}: {}", f.waiver_owner, f.waiver_reason))
                    .unwrap_or_else(|| "waived".into());
                let mut s = TestCaseStatus::skipped();
                s.set_message(reason).set_description(detail.as_str());
                s
            } else if i.verdict == Verdict::Blocked {
                let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                s.set_message(i.remediation.as_str())
                    .set_type("blocked")
                    .set_description(detail.as_str());
                s
            } else {
                TestCaseStatus::success()
            };
            let mut case =
                TestCase::new(format!("{} ({})", i.instance_name, i.instance_uuid), status);
            case.set_classname(format!("pool {name}"));
            if i.verdict == Verdict::Review && !i.waived {
                case.set_system_out(format!("review: {}\n{detail}", i.remediation));
            }
            suite.add_test_case(case);
        }
        out.add_test_suite(suite);
    }
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
