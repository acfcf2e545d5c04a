//! Plain run options shared by the engine's parts: how progress is shown and how the live (XML-RPC)
//! path behaves. They hold values only and import no engine type; the whole run's configuration,
//! [`crate::scan::ScanConfig`], is built from the command line in one fallible step (see `cli`).

use std::path::PathBuf;
use std::time::Duration;

/// How progress is shown on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressMode {
    /// A progress bar when stderr is a terminal, plain log lines otherwise.
    Auto,
    /// Nothing at all (`--quiet`).
    Quiet,
}

/// How long one TCP connect may take unless `--connect-timeout` says otherwise: a reachable host
/// answers a TCP handshake in milliseconds, and a blackholed one should not hold a scan slot for
/// the whole call timeout.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The time of each XAPI call unless `--timeout` says otherwise.
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// The most one live entry may take unless `--host-deadline` says otherwise.
pub const DEFAULT_HOST_DEADLINE: Duration = Duration::from_secs(300);

/// The largest XAPI response accepted unless `--max-response-mb` says otherwise, in MiB.
pub const DEFAULT_MAX_RESPONSE_MIB: u64 = 1024;

/// How many entries a scan contacts at once unless `--concurrency` says otherwise.
pub const DEFAULT_CONCURRENCY: usize = 32;

/// Settings of the live (XML-RPC) path.
#[derive(Debug, Clone)]
pub struct LiveOptions {
    /// The time of each call: connect, TLS handshake, request and the whole answer.
    pub call_timeout: Duration,
    /// The most one TCP connect may take (within the call's time); the TLS handshake is not
    /// included.
    pub connect_timeout: Duration,
    /// The most one inventory entry may take, all calls and retries included.
    pub host_deadline: Duration,
    /// Extra trusted CA certificates (PEM).
    pub ca_file: Option<PathBuf>,
    /// Turn TLS verification off for every entry.
    pub insecure: bool,
    /// Allow TLS 1.0/1.1 for every entry (`--tls-legacy`).
    pub tls_legacy: bool,
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
            call_timeout: DEFAULT_CALL_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            host_deadline: DEFAULT_HOST_DEADLINE,
            ca_file: None,
            insecure: false,
            tls_legacy: false,
            max_response_bytes: DEFAULT_MAX_RESPONSE_MIB * 1024 * 1024,
            connect_retries: 2,
            fetch: FetchMode::Auto,
        }
    }
}
