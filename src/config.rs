//! The run configuration: everything the engine needs, built from the command line in one fallible
//! step (see `cli`). The engine takes only this struct, never raw arguments.

use crate::inventory::Inventory;
use std::path::PathBuf;
use std::time::Duration;

/// Report formats `--format` can pick.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Format {
    Csv,
    Json,
    Html,
    Markdown,
}

impl Format {
    pub const ALL: [Format; 4] = [Format::Csv, Format::Json, Format::Html, Format::Markdown];

    pub fn parse(s: &str) -> Option<Format> {
        match s.trim().to_ascii_lowercase().as_str() {
            "csv" => Some(Format::Csv),
            "json" => Some(Format::Json),
            "html" => Some(Format::Html),
            "md" | "markdown" => Some(Format::Markdown),
            _ => None,
        }
    }
}

/// How progress is shown on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressMode {
    /// A progress bar when stderr is a terminal, plain log lines otherwise.
    Auto,
    /// Nothing at all (`--quiet`).
    Quiet,
}

/// Settings of the live (XML-RPC) path.
#[derive(Debug, Clone)]
pub struct LiveOptions {
    /// Connect timeout and read timeout of each call.
    pub call_timeout: Duration,
    /// The most one inventory entry may take, all calls and retries included.
    pub host_deadline: Duration,
    /// Extra trusted CA certificates (PEM).
    pub ca_file: Option<PathBuf>,
    /// Turn TLS verification off for every entry.
    pub insecure: bool,
    /// The largest response body accepted.
    pub max_response_bytes: u64,
    /// Retries of a call that failed to connect (never of one that reached XAPI).
    pub connect_retries: u32,
    /// Use event.from (one call) rather than get_all_records per class.
    pub fetch: FetchMode,
}

/// How the client fetches the records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FetchMode {
    /// event.from, falling back to get_all_records when refused.
    Auto,
    /// get_all_records per class only.
    AllRecords,
}

impl Default for LiveOptions {
    fn default() -> Self {
        LiveOptions {
            call_timeout: Duration::from_secs(30),
            host_deadline: Duration::from_secs(300),
            ca_file: None,
            insecure: false,
            max_response_bytes: 1024 * 1024 * 1024,
            connect_retries: 2,
            fetch: FetchMode::Auto,
        }
    }
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

/// Everything a `scan` run needs.
#[derive(Debug, Clone)]
pub struct ScanConfig {
    pub inventory: Inventory,
    pub out_dir: PathBuf,
    pub formats: Vec<Format>,
    pub progress: ProgressMode,
    pub concurrency: usize,
    pub live: LiveOptions,
    /// The command line as typed (it never holds a secret: passwords are not accepted in argv).
    pub command_line: String,
    pub fail_on: FailOn,
    /// A previous report.json to compare with, already read.
    pub baseline: Option<(String, Box<crate::report::Report>)>,
    /// Acknowledged findings, already read and validated.
    pub waivers: Vec<crate::waivers::Waiver>,
    /// Today, in days since 1970-01-01 (UTC), for waiver expiry.
    pub today: i64,
}
