//! Typed errors of the engine. Every variant carries the context a user needs to act on it (the file and
//! line of an inventory, the dump path, the host) so that the binary can print one line and map the
//! error to a documented exit code. No variant ever holds a password: secrets are dropped at ingestion.
//! An I/O cause is part of the message, not a `source()`: printed with `{:#}` it would otherwise
//! appear twice ("File exists (os error 17): File exists (os error 17)").

use std::path::PathBuf;

/// Errors in an input file the user gave (inventory, waivers, baseline): fatal for the run, before
/// anything is scanned (exit code 64).
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("{path}: cannot read: {cause}")]
    Unreadable {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("{path}:{line}: {message}")]
    Invalid {
        path: PathBuf,
        line: u64,
        message: String,
    },
    /// A problem in one record of a JSON file (records are counted from 1).
    #[error("{path}: record {record}: {message}")]
    Record {
        path: PathBuf,
        record: usize,
        message: String,
    },
    /// The same thing listed twice; `at` is where the second one is (`file:line` or `file: record N`).
    #[error("{at}: {what} is listed twice")]
    Duplicate { what: String, at: String },
}

/// Errors raised while reading one offline dump: they fail that inventory entry only.
#[derive(Debug, thiserror::Error)]
pub enum DumpError {
    #[error("{path}: cannot read dump: {cause}")]
    Io {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("{path}: byte {offset}: malformed XAPI dump: {message}")]
    Malformed {
        path: PathBuf,
        offset: u64,
        message: String,
    },
    #[error("{path}: truncated XAPI dump: {message}")]
    Truncated { path: PathBuf, message: String },
    /// Not a dump at all (an inventory, a report, an empty file): said as such, not as a broken dump.
    #[error("{path}: not a XAPI dump: {found} (expected the output of `xe pool-dump-database` or a state.db, plain or gzip)")]
    NotADump { path: PathBuf, found: String },
}

/// Errors raised while writing reports: fatal for the run (exit code 74); no partial report is left.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("{path}: cannot write report: {cause}")]
    Io {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("{path}: cannot render report: {message}")]
    Render { path: PathBuf, message: String },
    #[error("{path}: exists and is not a folder; --out needs a folder for the reports")]
    NotAFolder { path: PathBuf },
}
