//! Waivers: findings a team has acknowledged, each with a reason, an owner and an expiry date, kept in
//! a TOML or CSV file next to the compliance job. A waived finding stays visible in every report,
//! marked waived, and no longer raises the exit code; once its expiry date has passed it counts again
//! and is reported as expired, so a waiver cannot silently become permanent.
//!
//! TOML: `[[waiver]]` tables with `finding_id` (or `instance_uuid`, to cover every finding of an
//! instance), `reason`, `owner`, `expires = "YYYY-MM-DD"`. CSV: the same names as columns.

use crate::audit::{findings_by_instance, Finding, Instance, Verdict};
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

impl Waiver {
    pub fn covers(&self, finding_id: &str, instance_uuid: &str) -> bool {
        match &self.target {
            WaiverTarget::FindingId(id) => id == finding_id,
            WaiverTarget::InstanceUuid(u) => u == instance_uuid,
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TomlFile {
    #[serde(default)]
    waiver: Vec<RawWaiver>,
}

fn validate(raw: RawWaiver, source: String, path: &Path, line: u64) -> Result<Waiver, InputError> {
    let invalid = |message: String| InputError::Invalid {
        path: path.to_path_buf(),
        line,
        message,
    };
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
        invalid(format!(
            "expires {expires:?} is not a date of the form YYYY-MM-DD"
        ))
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
        source,
    })?;
    let shown = path.display().to_string();
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("toml"))
    {
        let file: TomlFile = toml::from_str(&text).map_err(|e| {
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
        // Line of each [[waiver]] header, for messages.
        let headers: Vec<u64> = text
            .lines()
            .enumerate()
            .filter(|(_, l)| l.trim() == "[[waiver]]")
            .map(|(i, _)| i as u64 + 1)
            .collect();
        return file
            .waiver
            .into_iter()
            .enumerate()
            .map(|(i, raw)| {
                let line = headers.get(i).copied().unwrap_or(0);
                validate(raw, format!("{shown}:{line}"), path, line)
            })
            .collect();
    }
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
        out.push(validate(raw, format!("{shown}:{line}"), path, line)?);
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
        let mut relevant = by_instance
            .get(&(inst.pool_uuid.as_str(), inst.vm_uuid.as_str()))
            .into_iter()
            .flatten()
            .filter(|f| f.verdict != Verdict::Ok)
            .peekable();
        inst.waived = relevant.peek().is_some() && relevant.all(|f| !f.counts());
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
    fn bad_waivers_name_file_and_line() {
        for (name, text, want) in [
            ("a.toml", "[[waiver]]\nreason = \"r\"\nowner = \"o\"\nexpires = \"2099-01-01\"\n", ":1: a waiver needs finding_id"),
            ("b.toml", "[[waiver]]\nfinding_id = \"x\"\nowner = \"o\"\nexpires = \"2099-01-01\"\n", "needs a reason"),
            ("c.toml", "[[waiver]]\nfinding_id = \"x\"\nreason = \"r\"\nowner = \"o\"\nexpires = \"next week\"\n", "not a date"),
            ("d.toml", "[[waiver]]\nfinding_id = \"x\"\ncolour = 1\n", "unknown field"),
            ("e.csv", "finding_id,reason,owner\nx,r,o\n", ":2: a waiver needs an expires"),
            ("f.csv", "finding_id,why\nx,r\n", "unknown column"),
            ("g.toml", "[[waiver]\n", "a.toml"),
        ] {
            let err = load_str(name, text).unwrap_err();
            let want = if name == "g.toml" { "g.toml:1:" } else { want };
            assert!(err.contains(name), "{err}");
            assert!(err.contains(want), "{name}: {err}");
        }
    }
}
