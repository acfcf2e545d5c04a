//! Waivers: findings a team has acknowledged, each with a reason, an owner and an expiry date, kept in
//! a TOML or CSV file next to the compliance job. A waived finding stays visible in every report,
//! marked waived, and no longer raises the exit code; once its expiry date has passed it counts again
//! and is reported as expired, so a waiver cannot silently become permanent.
//!
//! TOML: `[[waiver]]` tables with `finding_id` (or `instance_uuid`, to cover every finding of an
//! instance), `reason`, `owner`, `expires = "YYYY-MM-DD"`. CSV: the same names as columns.

use crate::audit::{findings_by_instance, Finding, Instance, Status, Verdict};
use crate::error::InputError;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// What a waiver covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WaiverTarget {
    FindingId(String),
    InstanceUuid(String),
}

/// One acknowledged finding (or instance).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Waiver {
    pub target: WaiverTarget,
    pub reason: String,
    pub owner: String,
    /// `YYYY-MM-DD`, inclusive: the waiver holds through that day (UTC).
    pub expires: String,
    /// Where it was written: `file:line` or `file: waiver #n`.
    pub source: String,
    #[serde(skip)]
    pub expires_day: i64,
}

/// The attachment a finding_id names: pool/instance/userdevice. Ids written before schema 2 held the
/// SR uuid too (pool/instance/SR/userdevice); they name the same attachment, so waivers written
/// against them keep working after the volume's SR is renamed.
fn attachment(id: &str) -> Option<(&str, &str, &str)> {
    let parts: Vec<&str> = id.trim().split('/').collect();
    match parts.as_slice() {
        [p, i, u] | [p, i, _, u] => Some((p, i, u)),
        _ => None,
    }
}

impl Waiver {
    pub fn covers(&self, finding_id: &str, instance_uuid: &str) -> bool {
        match &self.target {
            WaiverTarget::FindingId(id) => {
                id == finding_id
                    || attachment(id).is_some_and(|a| attachment(finding_id) == Some(a))
            }
            WaiverTarget::InstanceUuid(u) => u.eq_ignore_ascii_case(instance_uuid),
        }
    }
    pub fn expired(&self, today: i64) -> bool {
        today > self.expires_day
    }
}

/// Days since 1970-01-01 of a `YYYY-MM-DD` date, or `None` if it is not a real date.
pub fn parse_day(s: &str) -> Option<i64> {
    // jiff accepts more forms (a time, an offset); a waiver's date is exactly YYYY-MM-DD.
    if s.len() != 10 {
        return None;
    }
    let date: jiff::civil::Date = s.parse().ok()?;
    let span = date.since(jiff::civil::date(1970, 1, 1)).ok()?;
    Some(i64::from(span.get_days()))
}

/// Today (UTC) in days since 1970-01-01.
pub fn today() -> i64 {
    jiff::Timestamp::now().as_second().div_euclid(86_400)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWaiver {
    finding_id: Option<String>,
    instance_uuid: Option<String>,
    reason: Option<String>,
    owner: Option<String>,
    expires: Option<String>,
}

/// A `[[waiver]]` table, each field with where it stands in the file (for messages), `expires` as
/// TOML's own date (`expires = 2027-01-01`) or as text.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TomlWaiver {
    finding_id: Option<toml::Spanned<String>>,
    instance_uuid: Option<toml::Spanned<String>>,
    reason: Option<toml::Spanned<String>>,
    owner: Option<toml::Spanned<String>>,
    expires: Option<toml::Spanned<toml::Value>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TomlFile {
    #[serde(default)]
    waiver: Vec<toml::Spanned<TomlWaiver>>,
}

/// The line of each field of a waiver (a missing field: the waiver's own line).
struct FieldLines {
    default: u64,
    fields: Vec<(&'static str, u64)>,
}

impl FieldLines {
    fn of(&self, field: &str) -> u64 {
        self.fields
            .iter()
            .find(|(f, _)| *f == field)
            .map_or(self.default, |(_, l)| *l)
    }
}

fn validate(
    raw: RawWaiver,
    source: String,
    path: &Path,
    lines: &FieldLines,
) -> Result<Waiver, InputError> {
    let invalid_at = |field: &str, message: String| InputError::Invalid {
        path: path.to_path_buf(),
        line: lines.of(field),
        message,
    };
    let invalid = |message: String| invalid_at("", message);
    let nonempty = |v: Option<String>| v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    let target = match (nonempty(raw.finding_id), nonempty(raw.instance_uuid)) {
        (Some(id), None) => WaiverTarget::FindingId(id),
        (None, Some(u)) => WaiverTarget::InstanceUuid(u),
        (Some(_), Some(_)) => {
            return Err(invalid("give finding_id or instance_uuid, not both".into()))
        }
        (None, None) => return Err(invalid("a waiver needs finding_id or instance_uuid".into())),
    };
    let reason = nonempty(raw.reason).ok_or_else(|| invalid("a waiver needs a reason".into()))?;
    let owner = nonempty(raw.owner).ok_or_else(|| invalid("a waiver needs an owner".into()))?;
    let expires = nonempty(raw.expires)
        .ok_or_else(|| invalid("a waiver needs an expires date (YYYY-MM-DD)".into()))?;
    let expires_day = parse_day(&expires).ok_or_else(|| {
        invalid_at(
            "expires",
            format!("expires {expires:?} is not a date of the form YYYY-MM-DD"),
        )
    })?;
    Ok(Waiver {
        target,
        reason,
        owner,
        expires,
        source,
        expires_day,
    })
}

/// Read a waivers file: `.toml`, or CSV for any other extension.
pub fn load(path: &Path) -> Result<Vec<Waiver>, InputError> {
    let text = std::fs::read_to_string(path).map_err(|source| InputError::Unreadable {
        path: path.to_path_buf(),
        cause: source,
    })?;
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("toml"))
    {
        return load_toml(path, &text);
    }
    load_csv(path, &text)
}

/// The waivers of a TOML file, each error at the line of its `[[waiver]]` header or field.
fn load_toml(path: &Path, text: &str) -> Result<Vec<Waiver>, InputError> {
    let shown = path.display().to_string();
    let file: TomlFile = toml::from_str(text).map_err(|e| {
        let line = e
            .span()
            .map(|s| 1 + text[..s.start.min(text.len())].matches('\n').count() as u64)
            .unwrap_or(0);
        InputError::Invalid {
            path: path.to_path_buf(),
            line,
            message: e.message().to_string(),
        }
    })?;
    let line_of = |span: std::ops::Range<usize>| {
        1 + text[..span.start.min(text.len())].matches('\n').count() as u64
    };
    // A table's span starts at its first key: its [[waiver]] header is the line above.
    let header_line = |span: std::ops::Range<usize>| {
        let at = line_of(span);
        text.lines()
            .take(at as usize)
            .enumerate()
            .filter(|(_, l)| l.trim() == "[[waiver]]")
            .map(|(i, _)| i as u64 + 1)
            .last()
            .unwrap_or(at)
    };
    file.waiver
        .into_iter()
        .map(|table| {
            let line = header_line(table.span());
            let (raw, fields) = raw_from_toml(table.into_inner(), &line_of);
            let lines = FieldLines {
                default: line,
                fields,
            };
            validate(raw, format!("{shown}:{line}"), path, &lines)
        })
        .collect()
}

/// A `[[waiver]]` table's values, and the line of each field it has.
fn raw_from_toml(
    w: TomlWaiver,
    line_of: &dyn Fn(std::ops::Range<usize>) -> u64,
) -> (RawWaiver, Vec<(&'static str, u64)>) {
    let mut fields = Vec::new();
    let mut text_of = |name: &'static str, v: Option<toml::Spanned<String>>| {
        v.map(|v| {
            fields.push((name, line_of(v.span())));
            v.into_inner()
        })
    };
    let finding_id = text_of("finding_id", w.finding_id);
    let instance_uuid = text_of("instance_uuid", w.instance_uuid);
    let reason = text_of("reason", w.reason);
    let owner = text_of("owner", w.owner);
    let expires = w.expires.map(|v| {
        fields.push(("expires", line_of(v.span())));
        match v.into_inner() {
            toml::Value::String(s) => s,
            toml::Value::Datetime(d) => d.to_string(),
            other => other.to_string(),
        }
    });
    let raw = RawWaiver {
        finding_id,
        instance_uuid,
        reason,
        owner,
        expires,
    };
    (raw, fields)
}

/// The waivers of a CSV file (a header row of known columns, then one waiver per row).
fn load_csv(path: &Path, text: &str) -> Result<Vec<Waiver>, InputError> {
    let shown = path.display().to_string();
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .comment(Some(b'#'))
        .from_reader(text.as_bytes());
    let mut out = Vec::new();
    let headers = reader
        .headers()
        .map_err(|e| InputError::Invalid {
            path: path.to_path_buf(),
            line: 1,
            message: e.to_string(),
        })?
        .clone();
    for h in headers.iter() {
        if !["finding_id", "instance_uuid", "reason", "owner", "expires"].contains(&h) {
            return Err(InputError::Invalid { path: path.to_path_buf(), line: 1, message: format!("unknown column {h:?} (known: finding_id, instance_uuid, reason, owner, expires)") });
        }
    }
    for (i, rec) in reader.deserialize::<RawWaiver>().enumerate() {
        let line = i as u64 + 2;
        let raw = rec.map_err(|e| InputError::Invalid {
            path: path.to_path_buf(),
            line,
            message: e.to_string(),
        })?;
        let lines = FieldLines {
            default: line,
            fields: Vec::new(),
        };
        out.push(validate(raw, format!("{shown}:{line}"), path, &lines)?);
    }
    Ok(out)
}

/// A waiver as reported: whether it matched anything and whether it has expired.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaiverStatus {
    pub waiver: Waiver,
    /// `active`, `expired` or `unused` (matches no current finding).
    pub status: String,
    pub findings: usize,
}

/// Where a waivers file came from, for the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct WaiversInfo {
    pub path: PathBuf,
    pub count: usize,
}

/// Mark findings and instances with the waivers that cover them, as of `today`; returns every
/// waiver with whether it matched and whether it has expired.
pub fn apply(
    findings: &mut [Finding],
    instances: &mut [Instance],
    waivers: &[Waiver],
    today: i64,
) -> Vec<WaiverStatus> {
    let mut matched = vec![0usize; waivers.len()];
    for f in findings.iter_mut() {
        if f.verdict == Verdict::Ok {
            continue;
        }
        if let Some((i, w)) = waivers
            .iter()
            .enumerate()
            .find(|(_, w)| w.covers(&f.finding_id, &f.instance_uuid))
        {
            matched[i] += 1;
            f.waiver = if w.expired(today) {
                "expired"
            } else {
                "waived"
            }
            .to_string();
            f.waiver_owner = w.owner.clone();
            f.waiver_expires = w.expires.clone();
            f.waiver_reason = w.reason.clone();
        }
    }
    let by_instance = findings_by_instance(findings);
    for inst in instances.iter_mut() {
        let mine = by_instance
            .get(&(inst.pool_uuid.as_str(), inst.vm_uuid.as_str()))
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        // Unpaired BDMs carry no finding id, so no waiver covers them.
        let unpaired = inst.unpaired_verdict.map(|v| (v, true));
        inst.status = Status::of(mine.iter().map(|f| (f.verdict, f.counts())).chain(unpaired));
        inst.waived = inst.status == Status::Waived;
    }
    waivers
        .iter()
        .zip(matched)
        .map(|(w, n)| WaiverStatus {
            waiver: w.clone(),
            status: if w.expired(today) {
                "expired"
            } else if n == 0 {
                "unused"
            } else {
                "active"
            }
            .to_string(),
            findings: n,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_table() {
        for (s, want) in [
            ("1970-01-01", Some(0)),
            ("1970-01-02", Some(1)),
            ("2000-03-01", Some(11_017)),
            ("2024-02-29", Some(19_782)),
            ("2023-02-29", None),
            ("2026-13-01", None),
            ("2026-1-01", None),
            ("tomorrow", None),
        ] {
            assert_eq!(parse_day(s), want, "{s}");
        }
    }

    fn load_str(name: &str, text: &str) -> Result<Vec<Waiver>, String> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        load(&p).map_err(|e| e.to_string())
    }

    #[test]
    fn toml_and_csv_waivers() {
        let w = load_str("w.toml", "[[waiver]]\nfinding_id = \"p/i/s/0\"\nreason = \"migrating in Q1\"\nowner = \"ops\"\nexpires = \"2099-01-31\"\n\n[[waiver]]\ninstance_uuid = \"i-2\"\nreason = \"r\"\nowner = \"o\"\nexpires = \"2000-01-01\"\n").unwrap();
        assert_eq!(w.len(), 2);
        assert!(w[0].covers("p/i/s/0", "x"));
        assert!(w[1].covers("any", "i-2"));
        assert!(w[1].expired(today()) && !w[0].expired(today()));
        assert!(w[1].source.ends_with(":7"), "{}", w[1].source);
        let w = load_str(
            "w.csv",
            "finding_id,reason,owner,expires\np/i/s/0,\"a, b\",ops,2099-01-31\n",
        )
        .unwrap();
        assert_eq!(w[0].reason, "a, b");
    }

    #[test]
    fn toml_dates_are_accepted_as_dates() {
        let w = load_str(
            "d.toml",
            "[[waiver]]\nfinding_id = \"p/i/1\"\nreason = \"r\"\nowner = \"o\"\nexpires = 2099-01-31\n",
        )
        .unwrap();
        assert_eq!(w[0].expires, "2099-01-31");
        assert!(!w[0].expired(today()));
    }

    #[test]
    fn finding_ids_name_the_attachment_whatever_its_sr() {
        let w = load_str(
            "w.csv",
            "finding_id,reason,owner,expires\np/i/FA15E-D15C-v/1,r,o,2099-01-31\np/j/2,r,o,2099-01-31\n",
        )
        .unwrap();
        assert!(
            w[0].covers("p/i/1", "i"),
            "an id written with the SR uuid (schema 1)"
        );
        assert!(!w[0].covers("p/i/2", "i"));
        assert!(w[1].covers("p/j/2", "j"));
        assert!(!w[1].covers("q/j/2", "j"));
    }

    #[test]
    fn bad_waivers_name_file_and_line() {
        for (name, text, want) in [
            ("a.toml", "[[waiver]]\nreason = \"r\"\nowner = \"o\"\nexpires = \"2099-01-01\"\n", ":1: a waiver needs finding_id"),
            ("b.toml", "[[waiver]]\nfinding_id = \"x\"\nowner = \"o\"\nexpires = \"2099-01-01\"\n", "needs a reason"),
            ("c.toml", "[[waiver]]\nfinding_id = \"x\"\nreason = \"r\"\nowner = \"o\"\nexpires = \"next week\"\n", "not a date"),
            ("d.toml", "[[waiver]]\nfinding_id = \"x\"\ncolour = 1\n", "unknown field"),
            ("e.csv", "finding_id,reason,owner\nx,r,o\n", ":2: a waiver needs an expires"),
            ("f.csv", "finding_id,why\nx,r\n", "unknown column"),
            ("g.toml", "[[waiver]\n", "a.toml"),
            // Regression: a bad field is pointed at on its own line, not the table's.
            ("h.toml", "[[waiver]]\nfinding_id = \"x\"\nreason = \"r\"\nowner = \"o\"\nexpires = 2026-02-30\n", "h.toml:5:"),
            ("i.toml", "[[waiver]]\nfinding_id = \"x\"\nreason = \"r\"\nowner = \"o\"\nexpires = \"soon\"\n", "i.toml:5: expires \"soon\""),
        ] {
            let err = load_str(name, text).unwrap_err();
            let want = if name == "g.toml" { "g.toml:1:" } else { want };
            let want = if name == "h.toml" { "h.toml:5:" } else { want };
            assert!(err.contains(name), "{err}");
            assert!(err.contains(want), "{name}: {err}");
        }
    }

    fn waiver(target: WaiverTarget, expires_day: i64) -> Waiver {
        Waiver {
            target,
            reason: "migrating in Q1".into(),
            owner: "ops".into(),
            expires: format!("day {expires_day}"),
            source: "w.toml:1".into(),
            expires_day,
        }
    }

    #[test]
    fn a_waiver_holds_through_its_expiry_day() {
        let w = waiver(WaiverTarget::FindingId("p/i/1".into()), 100);
        for (today, expired) in [(99, false), (100, false), (101, true)] {
            assert_eq!(w.expired(today), expired, "today {today}");
        }
    }

    fn finding(instance: &str, userdevice: &str, verdict: Verdict) -> Finding {
        Finding {
            pool_uuid: "p".into(),
            pool_name: "pool".into(),
            host: String::new(),
            instance_uuid: instance.into(),
            instance_name: instance.into(),
            power_state: String::new(),
            vm_uuid: format!("vm-{instance}"),
            userdevice: userdevice.into(),
            boot: false,
            vdi_uuid: String::new(),
            sr_uuid: String::new(),
            sr_name: String::new(),
            naming: crate::classify::Naming::Legacy,
            expected_sr_uuid: String::new(),
            target: String::new(),
            port: String::new(),
            target_iqn: String::new(),
            volume_id: String::new(),
            verdict,
            remediation: String::new(),
            finding_id: format!("p/{instance}/{userdevice}"),
            conflict: false,
            chap: false,
            baseline: String::new(),
            waiver: String::new(),
            waiver_owner: String::new(),
            waiver_expires: String::new(),
            waiver_reason: String::new(),
            project_id: String::new(),
            nova_device: String::new(),
            nova_sr_uuid: String::new(),
            nova_check: String::new(),
            previous_sr_uuid: String::new(),
        }
    }

    fn instance(uuid: &str, unpaired_verdict: Option<Verdict>) -> Instance {
        Instance {
            pool_uuid: "p".into(),
            pool_name: "pool".into(),
            host: String::new(),
            instance_uuid: uuid.into(),
            instance_name: uuid.into(),
            power_state: String::new(),
            vm_uuid: format!("vm-{uuid}"),
            volumes: 0,
            legacy: 0,
            new: 0,
            other: 0,
            conflicts: 0,
            boot_from_volume: false,
            verdict: Verdict::Ok,
            remediation: String::new(),
            waived: false,
            unpaired_bdms: String::new(),
            status: Status::Ok,
            unpaired_verdict,
        }
    }

    #[test]
    fn apply_marks_findings_and_instances_and_reports_each_waiver() {
        use Verdict::{Blocked, Ok, Review};
        use WaiverTarget::{FindingId, InstanceUuid};
        let today = 20_000;
        let mut findings = vec![
            finding("i-1", "1", Blocked),
            // Fine: never marked, though waiver 4 covers its instance.
            finding("i-1", "2", Ok),
            finding("i-2", "1", Review),
            finding("i-3", "1", Blocked),
            finding("i-3", "2", Review),
            finding("i-4", "1", Blocked),
            finding("i-6", "1", Review),
        ];
        let mut instances = vec![
            instance("i-1", None),
            instance("i-2", None),
            instance("i-3", None),
            instance("i-4", None),
            instance("i-5", None),
            // Its finding is waived, its unpaired BDMs are not (no finding id covers them).
            instance("i-6", Some(Blocked)),
        ];
        let waivers = vec![
            // Expires today: it still holds.
            waiver(FindingId("p/i-1/1".into()), today),
            // Expired yesterday: marked expired, and the finding counts again.
            waiver(FindingId("p/i-2/1".into()), today - 1),
            waiver(InstanceUuid("I-3".into()), today + 30),
            waiver(FindingId("p/i-9/1".into()), today + 30),
            // Covers i-1, whose problem the first waiver took: unused.
            waiver(InstanceUuid("i-1".into()), today + 30),
            waiver(FindingId("p/i-6/1".into()), today + 30),
        ];
        let statuses = apply(&mut findings, &mut instances, &waivers, today);
        let marked: Vec<(&str, &str, &str)> = findings
            .iter()
            .map(|f| {
                (
                    f.finding_id.as_str(),
                    f.waiver.as_str(),
                    f.waiver_owner.as_str(),
                )
            })
            .collect();
        assert_eq!(
            marked,
            vec![
                ("p/i-1/1", "waived", "ops"),
                ("p/i-1/2", "", ""),
                ("p/i-2/1", "expired", "ops"),
                ("p/i-3/1", "waived", "ops"),
                ("p/i-3/2", "waived", "ops"),
                ("p/i-4/1", "", ""),
                ("p/i-6/1", "waived", "ops"),
            ]
        );
        assert_eq!(findings[0].waiver_expires, format!("day {today}"));
        assert_eq!(findings[0].waiver_reason, "migrating in Q1");
        let got: Vec<(&str, Status, bool)> = instances
            .iter()
            .map(|i| (i.instance_uuid.as_str(), i.status, i.waived))
            .collect();
        assert_eq!(
            got,
            vec![
                ("i-1", Status::Waived, true),
                ("i-2", Status::Review, false),
                ("i-3", Status::Waived, true),
                ("i-4", Status::Blocked, false),
                ("i-5", Status::Ok, false),
                ("i-6", Status::Blocked, false),
            ]
        );
        let reported: Vec<(&str, usize)> = statuses
            .iter()
            .map(|s| (s.status.as_str(), s.findings))
            .collect();
        assert_eq!(
            reported,
            vec![
                ("active", 1),
                ("expired", 1),
                ("active", 2),
                ("unused", 0),
                ("unused", 0),
                ("active", 1),
            ]
        );
        assert_eq!(statuses[2].waiver, waivers[2]);
    }
}
