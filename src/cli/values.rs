//! The typed values of the command line: each option's text becomes what the engine uses (an enum,
//! a `Duration`, a checked number, the list of formats) while clap parses it, so no later step
//! compares strings or repeats a range check. A bad value is a [`UsageError`] carried inside clap's
//! error: [`usage_error_in`] takes it back out, so the message stays the tool's own one line (exit
//! 64), on the command line and in a `--config` file alike. The enums are the engine's own types;
//! their names on the command line are said here, at the edge.

use super::UsageError;
use crate::config::FetchMode;
use crate::nova_db::SslMode;
use crate::plan::{Cli as PlanCli, Prefer, Priority};
use crate::policy::FailOn;
use crate::report::Format;
use clap::builder::PossibleValue;
use clap::ValueEnum;
use std::fmt;
use std::time::Duration;

/// What a value parser may fail with: the tool's own [`UsageError`], or the standard parse error of
/// a number (clap words that one as for any number: `invalid value 'four' ...`).
type ParseError = Box<dyn std::error::Error + Send + Sync>;

/// A duration given in (possibly fractional) seconds: what `--timeout` and its kin hold. Shown in
/// `--help` and the manual page as the seconds it holds (`30`, `2.5`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Seconds(pub Duration);

impl fmt::Display for Seconds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.as_secs_f64())
    }
}

/// A positive number of seconds below about four months, the rule of every `--...timeout` option.
pub fn seconds(name: &str, v: f64) -> Result<Duration, UsageError> {
    if v.is_finite() && v > 0.0 && v < 1e7 {
        Ok(Duration::from_secs_f64(v))
    } else {
        Err(UsageError(format!(
            "--{name} must be a positive number of seconds, got {v}"
        )))
    }
}

/// The value parser of the option `--name` that holds seconds.
pub fn seconds_of(
    name: &'static str,
) -> impl Fn(&str) -> Result<Seconds, ParseError> + Clone + Send + Sync + 'static {
    move |text| {
        let v: f64 = text.parse()?;
        Ok(Seconds(seconds(name, v)?))
    }
}

/// `--concurrency`, one rule for every command that contacts hosts: 1 to 1024.
pub fn concurrency(n: usize) -> Result<usize, UsageError> {
    if (1..=1024).contains(&n) {
        Ok(n)
    } else {
        Err(UsageError(format!(
            "--concurrency must be between 1 and 1024, got {n}"
        )))
    }
}

/// The value parser of `--concurrency`.
pub fn concurrency_value(text: &str) -> Result<usize, ParseError> {
    Ok(concurrency(text.parse()?)?)
}

/// The value parser of `--max-response-mb`: at least 1 MiB.
pub fn max_response_mb(text: &str) -> Result<u64, ParseError> {
    match text.parse::<u64>()? {
        0 => Err(UsageError("--max-response-mb must be at least 1".into()).into()),
        mb => Ok(mb),
    }
}

/// `--nova-target-port`: a port number, 1 to 65535, kept as the text Nova's uuid5 name uses.
pub fn target_port(text: &str) -> Result<String, UsageError> {
    let port = text.trim();
    if port.parse::<u16>().map_or(true, |p| p == 0) {
        return Err(UsageError(format!(
            "--nova-target-port must be a port number (1-65535), got {port:?}"
        )));
    }
    Ok(port.to_string())
}

/// The formats of `--format`, in the order first named, each once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Formats(pub Vec<Format>);

/// Parse `--format`: comma-separated names, or `all`.
pub fn parse_formats(s: &str) -> Result<Formats, UsageError> {
    let mut out = Vec::new();
    for part in s.split(',').filter(|p| !p.trim().is_empty()) {
        let wanted: Vec<Format> = if part.trim().eq_ignore_ascii_case("all") {
            Format::ALL.to_vec()
        } else {
            vec![Format::parse(part).ok_or_else(|| {
                UsageError(format!(
                    "--format: unknown format {part:?} (known: {}, all)",
                    Format::NAMES
                ))
            })?]
        };
        for f in wanted {
            if !out.contains(&f) {
                out.push(f);
            }
        }
    }
    if out.is_empty() {
        return Err(UsageError(format!(
            "--format: name at least one of {}, all",
            Format::NAMES
        )));
    }
    Ok(Formats(out))
}

/// The tool's own message inside an error clap raised while parsing a value, if there is one.
pub fn usage_error_in(e: &clap::Error) -> Option<&UsageError> {
    std::error::Error::source(e)?.downcast_ref::<UsageError>()
}

impl ValueEnum for FailOn {
    fn value_variants<'a>() -> &'a [Self] {
        &[FailOn::Blocked, FailOn::Review, FailOn::Never]
    }
    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(self.as_str()))
    }
}

impl ValueEnum for FetchMode {
    fn value_variants<'a>() -> &'a [Self] {
        &[FetchMode::Auto, FetchMode::AllRecords]
    }
    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(match self {
            FetchMode::Auto => "auto",
            FetchMode::AllRecords => "records",
        }))
    }
}

impl ValueEnum for SslMode {
    fn value_variants<'a>() -> &'a [Self] {
        &[
            SslMode::VerifyIdentity,
            SslMode::VerifyCa,
            SslMode::Required,
            SslMode::Disabled,
        ]
    }
    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(match self {
            SslMode::VerifyIdentity => "verify-identity",
            SslMode::VerifyCa => "verify-ca",
            SslMode::Required => "required",
            SslMode::Disabled => "disabled",
        }))
    }
}

impl ValueEnum for Priority {
    fn value_variants<'a>() -> &'a [Self] {
        &[
            Priority::Pool,
            Priority::Project,
            Priority::Host,
            Priority::Downtime,
        ]
    }
    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(match self {
            Priority::Pool => "pool",
            Priority::Project => "project",
            Priority::Host => "host",
            Priority::Downtime => "downtime",
        }))
    }
}

impl ValueEnum for Prefer {
    fn value_variants<'a>() -> &'a [Self] {
        &[Prefer::Detach, Prefer::Migrate]
    }
    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(match self {
            Prefer::Detach => "detach",
            Prefer::Migrate => "migrate",
        }))
    }
}

impl ValueEnum for PlanCli {
    fn value_variants<'a>() -> &'a [Self] {
        &[PlanCli::Nova, PlanCli::Openstack]
    }
    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(match self {
            PlanCli::Nova => "nova",
            PlanCli::Openstack => "openstack",
        }))
    }
}

/// `trend --target-date`: a day as given (it is shown as written) and as days since 1970-01-01.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetDate {
    pub text: String,
    pub day: i64,
}

/// The value parser of `trend --target-date`: exactly `YYYY-MM-DD`, a real day.
pub fn target_date(text: &str) -> Result<TargetDate, UsageError> {
    match crate::policy::waivers::parse_day(text) {
        Some(day) => Ok(TargetDate {
            text: text.to_string(),
            day,
        }),
        None => Err(UsageError(format!(
            "--target-date must be a date YYYY-MM-DD, got {text:?}"
        ))),
    }
}

/// The value parser of `plan --copy-rate`: a positive, finite number of MB/s.
pub fn copy_rate(text: &str) -> Result<f64, ParseError> {
    let v: f64 = text.parse()?;
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err(UsageError(format!(
            "--copy-rate {v}: must be a positive number of MB/s"
        ))
        .into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_concurrency_rule() {
        for (n, ok) in [
            (0, false),
            (1, true),
            (32, true),
            (1024, true),
            (1025, false),
        ] {
            assert_eq!(concurrency(n).is_ok(), ok, "{n}");
        }
    }

    #[test]
    fn seconds_are_positive_and_bounded() {
        for (v, want) in [
            ("30", Some(Duration::from_secs(30))),
            ("2.5", Some(Duration::from_millis(2500))),
            ("0", None),
            ("-2", None),
            ("inf", None),
            ("NaN", None),
            ("1e7", None),
            ("thirty", None),
        ] {
            let got = seconds_of("timeout")(v).ok().map(|s| s.0);
            assert_eq!(got, want, "{v}");
        }
    }

    #[test]
    fn seconds_show_as_the_number_given() {
        for (d, shown) in [
            (Duration::from_secs(30), "30"),
            (Duration::from_secs(300), "300"),
            (Duration::from_millis(2500), "2.5"),
        ] {
            assert_eq!(Seconds(d).to_string(), shown);
        }
    }

    #[test]
    fn every_enum_value_round_trips_through_its_name() {
        for v in FailOn::value_variants() {
            let name = v.to_possible_value().unwrap().get_name().to_string();
            assert_eq!(FailOn::from_str(&name, false), Ok(*v));
            assert_eq!(FailOn::parse(&name), Some(*v), "{name}");
        }
        for v in SslMode::value_variants() {
            let name = v.to_possible_value().unwrap().get_name().to_string();
            assert_eq!(SslMode::parse(&name), Some(*v), "{name}");
        }
        assert_eq!(
            FetchMode::from_str("records", false),
            Ok(FetchMode::AllRecords)
        );
        assert_eq!(FetchMode::from_str("auto", false), Ok(FetchMode::Auto));
        assert!(FetchMode::from_str("Records", false).is_err());
        for (name, want) in [
            ("pool", Priority::Pool),
            ("project", Priority::Project),
            ("host", Priority::Host),
            ("downtime", Priority::Downtime),
        ] {
            assert_eq!(Priority::from_str(name, false), Ok(want), "{name}");
        }
        for (name, want) in [("detach", Prefer::Detach), ("migrate", Prefer::Migrate)] {
            assert_eq!(Prefer::from_str(name, false), Ok(want), "{name}");
        }
        for (name, want) in [("nova", PlanCli::Nova), ("openstack", PlanCli::Openstack)] {
            assert_eq!(PlanCli::from_str(name, false), Ok(want), "{name}");
        }
        assert_eq!(Priority::value_variants().len(), 4);
        assert_eq!(Prefer::value_variants().len(), 2);
        assert_eq!(PlanCli::value_variants().len(), 2);
    }

    #[test]
    fn target_dates_are_real_days_written_in_full() {
        for (text, day) in [
            ("1970-01-02", Some(1)),
            ("2027-03-01", Some(20_878)),
            ("2027-02-30", None),
            ("2027-3-1", None),
            ("2027-03-01T00:00", None),
            ("tomorrow", None),
            ("", None),
        ] {
            assert_eq!(target_date(text).ok().map(|d| d.day), day, "{text:?}");
        }
    }

    #[test]
    fn copy_rate_is_positive_and_finite() {
        for (text, want) in [
            ("100", Some(100.0)),
            ("0.5", Some(0.5)),
            ("0", None),
            ("-3", None),
            ("inf", None),
            ("NaN", None),
            ("fast", None),
        ] {
            assert_eq!(copy_rate(text).ok(), want, "{text}");
        }
    }
}
