//! The live source: the read-only XML-RPC client of a XAPI endpoint. `wire` encodes calls and
//! decodes answers (with `xmlscan`, a scanner made for XML-RPC) straight into the model's builder,
//! `http` is the HTTP/1.1 transport (one kept-alive connection per entry), `tls` and `trust` the
//! certificate checks and trust on first use, `sessions` the sessions a scan holds open (logged out
//! on an interrupt). `fetch_shared` is what the scanner calls for an inventory entry with a
//! `url`. The simulator that serves dumps over real HTTP for the tests is not here: `sim::xapi`.

pub mod client;
pub mod deadline;
pub mod fast_tls;
pub mod http;
pub mod sessions;
pub mod tls;
pub mod trust;
pub mod wire;
pub mod xmlscan;

pub use client::{HttpClients, ORIGINATOR};

use crate::config::LiveOptions;
use crate::inventory::Entry;
use crate::model::{Snapshot, SnapshotBuilder};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use xmlrpc::Value;

/// What can go wrong talking to one XAPI endpoint. No variant carries a password.
#[derive(Debug, thiserror::Error)]
pub enum XapiError {
    #[error("{host}: cannot connect to {url}: {message}")]
    Connect {
        host: String,
        url: String,
        message: String,
    },
    #[error("{host}: {method} timed out after {after:?}")]
    Timeout {
        host: String,
        method: String,
        after: Duration,
    },
    #[error("{host}: gave up after the host deadline of {deadline:?}")]
    Deadline { host: String, deadline: Duration },
    #[error("{host}: {method}: HTTP {status}")]
    Http {
        host: String,
        method: String,
        status: u16,
    },
    #[error("{host}: {method}: {message}")]
    Protocol {
        host: String,
        method: String,
        message: String,
    },
    #[error("{host}: {method} failed: {}", description.join(" "))]
    Failure {
        host: String,
        method: String,
        description: Vec<String>,
    },
    #[error("{host}: login refused for user {user:?} (SESSION_AUTHENTICATION_FAILED); the password came from {password_source}")]
    AuthFailed {
        host: String,
        user: String,
        /// Where the password was read ([`password_source`]), never the password.
        password_source: String,
    },
    #[error("{host}: refused to send {method}: not a read-only call")]
    NotReadOnly { host: String, method: String },
    #[error(
        "{host}: {method}: response larger than the limit of {limit} bytes (--max-response-mb)"
    )]
    TooLarge {
        host: String,
        method: String,
        limit: u64,
    },
    #[error("{host}: no password: {message}")]
    Password { host: String, message: String },
    #[error("{host}: {message}")]
    Setup { host: String, message: String },
    #[error("{host}: interrupted")]
    Cancelled { host: String },
    /// The error of a fetch another row of the same pool made (its message names that row).
    #[error("{0}")]
    Shared(String),
}

impl XapiError {
    fn code(&self) -> Option<&str> {
        match self {
            XapiError::Failure { description, .. } => description.first().map(String::as_str),
            _ => None,
        }
    }
}

/// The password of an entry: `password_env`, else `password_file`, else `XSA_PASSWORD`.
pub fn resolve_password(entry: &Entry) -> Result<String, XapiError> {
    let err = |message: String| XapiError::Password {
        host: entry.name.clone(),
        message,
    };
    if let Some(var) = &entry.password_env {
        return std::env::var(var)
            .map_err(|_| err(format!("environment variable {var} is not set")));
    }
    if let Some(file) = &entry.password_file {
        let text = std::fs::read_to_string(file).map_err(|e| {
            err(match e.kind() {
                std::io::ErrorKind::NotFound => {
                    format!("the password file {} does not exist", file.display())
                }
                std::io::ErrorKind::PermissionDenied => format!(
                    "the password file {} cannot be read (permission denied)",
                    file.display()
                ),
                _ => format!("the password file {} cannot be read: {e}", file.display()),
            })
        })?;
        return Ok(text.trim_end_matches(['\r', '\n']).to_string());
    }
    std::env::var("XSA_PASSWORD").map_err(|_| {
        err("set password_env or password_file in the inventory, or XSA_PASSWORD".into())
    })
}

/// Where an entry's password comes from, for errors: `env var NAME`, `file PATH` or `XSA_PASSWORD`
/// (the same order as [`resolve_password`]); never the password itself.
pub fn password_source(entry: &Entry) -> String {
    match (&entry.password_env, &entry.password_file) {
        (Some(var), _) => format!("env var {var}"),
        (None, Some(file)) => format!("file {}", file.display()),
        (None, None) => "XSA_PASSWORD".to_string(),
    }
}

/// The URL of the pool master named by `HOST_IS_SLAVE`: same scheme and port as the entry's URL.
pub fn master_url(url: &str, master_address: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split('/').next()?;
    let port = if authority.starts_with('[') {
        authority.rsplit_once("]:").map(|(_, p)| p)
    } else {
        authority.rsplit_once(':').map(|(_, p)| p)
    };
    let host = if master_address.contains(':') && !master_address.starts_with('[') {
        format!("[{master_address}]")
    } else {
        master_address.to_string()
    };
    Some(match port {
        Some(p) => format!("{scheme}://{host}:{p}/"),
        None => format!("{scheme}://{host}/"),
    })
}

/// How one attempt at an address ended.
enum Attempt {
    Fetched(Box<Snapshot>),
    /// The host is a pool member; the master's address as XAPI gave it.
    Redirect(String),
}

/// How an entry's https connection is secured: pinned when the inventory gives a fingerprint, else
/// insecure when asked, else verified; legacy TLS only when asked for that entry (or all).
pub fn tls_policy(entry: &Entry, live: &LiveOptions) -> tls::TlsPolicy {
    let mode = match entry.tls_fingerprint {
        Some(fp) => tls::TlsMode::Pinned(fp),
        None if entry.insecure || live.insecure => tls::TlsMode::Insecure,
        None => tls::TlsMode::Verified,
    };
    tls::TlsPolicy {
        mode,
        legacy: entry.tls_legacy || live.tls_legacy,
    }
}

/// Log in at `url`, fetch, log out on every path. HOST_IS_SLAVE comes back as a redirect.
fn fetch_at(
    entry: &Entry,
    url: &str,
    tls: tls::TlsPolicy,
    clients: &HttpClients,
    live: &LiveOptions,
    cancel: &AtomicBool,
) -> Result<Attempt, XapiError> {
    let password = resolve_password(entry)?;
    let user = if entry.username.is_empty() {
        "root".to_string()
    } else {
        entry.username.clone()
    };
    let mut conn = client::Connection::new(clients, url, &entry.name, tls, live)?;
    let login = |conn: &mut client::Connection| login_with_password(conn, entry, &user, &password);
    let cancelled = || XapiError::Cancelled {
        host: entry.name.clone(),
    };
    let in_flight = clients.sessions.login_in_flight();
    if cancel.load(Ordering::SeqCst) {
        return Err(cancelled());
    }
    let mut session = match login(&mut conn) {
        Err(XapiError::Failure { description, .. })
            if description.first().is_some_and(|c| c == "HOST_IS_SLAVE") =>
        {
            return Ok(Attempt::Redirect(
                description.get(1).cloned().unwrap_or_default(),
            ));
        }
        other => other?,
    };
    let mut key = clients.sessions.register(url, &entry.name, tls, &session);
    drop(in_flight);
    let result = (|| {
        if cancel.load(Ordering::Relaxed) {
            return Err(cancelled());
        }
        let mut builder = SnapshotBuilder::default();
        match client::fetch_records(&mut conn, &session, live.fetch, &mut builder) {
            // An interrupt logged the session out under us: no new one.
            Err(_) if cancel.load(Ordering::Relaxed) => return Err(cancelled()),
            Err(e) if e.code() == Some("SESSION_INVALID") => {
                // The session expired under us: log in once more and retry, once.
                clients.sessions.take(key);
                let in_flight = clients.sessions.login_in_flight();
                if cancel.load(Ordering::SeqCst) {
                    return Err(cancelled());
                }
                session = login(&mut conn)?;
                key = clients.sessions.register(url, &entry.name, tls, &session);
                drop(in_flight);
                builder = SnapshotBuilder::default();
                client::fetch_records(&mut conn, &session, live.fetch, &mut builder)?;
            }
            other => {
                other?;
            }
        }
        Ok(builder.finish())
    })();
    // Unless the interrupt path took the session first (and logs it out itself). Counted before
    // the take, so an interrupt meanwhile waits for this logout (and this entry's result).
    let logging_out = clients.sessions.logout_in_flight();
    if clients.sessions.take(key) {
        conn.logout(&session);
    }
    drop(logging_out);
    result.map(|s| Attempt::Fetched(Box::new(s)))
}

/// `session.login_with_password` as `user`: the session reference, or why not (a wrong password
/// named by where it came from, never by its value).
fn login_with_password(
    conn: &mut client::Connection,
    entry: &Entry,
    user: &str,
    password: &str,
) -> Result<String, XapiError> {
    let v = conn.call(
        "session.login_with_password",
        &[
            Value::from(user),
            Value::from(password),
            Value::from("1.0"),
            Value::from(ORIGINATOR),
        ],
    );
    match v {
        Ok(Value::String(s)) => Ok(s),
        Ok(other) => Err(XapiError::Protocol {
            host: entry.name.clone(),
            method: "session.login_with_password".into(),
            message: format!("unexpected answer {:?}", client::value_text(&other)),
        }),
        Err(e) if e.code() == Some("SESSION_AUTHENTICATION_FAILED") => Err(XapiError::AuthFailed {
            host: entry.name.clone(),
            user: user.to_string(),
            password_source: password_source(entry),
        }),
        Err(e) => Err(e),
    }
}

/// What one fetch at an address gave, shareable between the inventory rows that lead there: the
/// caller's digest of the snapshot (the scan keeps its audit, not the snapshot, so what the cache
/// holds is no more than the reports will), a redirect, or the failure.
#[derive(Clone)]
enum Shared {
    Fetched(Arc<dyn std::any::Any + Send + Sync>),
    Redirect(String),
    Failed(String),
}

/// One fetch per address and credentials in a scan. An inventory that lists every host of a pool
/// would otherwise pull the whole pool from the master once per row: rows whose login is redirected
/// (HOST_IS_SLAVE) to the same master, and the master's own row, wait for and share one fetch.
#[derive(Default)]
pub struct SharedFetches {
    cells: Mutex<HashMap<String, Arc<OnceLock<Shared>>>>,
}

impl std::fmt::Debug for SharedFetches {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedFetches").finish_non_exhaustive()
    }
}

impl SharedFetches {
    /// Forget every fetch (at the end of a scan: the results then hold the only references).
    pub fn clear(&self) {
        self.cells.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    fn once(&self, key: String, fetch: impl FnOnce() -> Shared) -> Shared {
        let cell = {
            let mut cells = self.cells.lock().unwrap_or_else(|e| e.into_inner());
            Arc::clone(cells.entry(key).or_default())
        };
        cell.get_or_init(fetch).clone()
    }
}

/// The key of a fetch: the address (case-folded, one trailing slash), how it is secured, and where
/// the credentials come from (never the password itself).
fn fetch_key(url: &str, entry: &Entry, tls: tls::TlsPolicy) -> String {
    let url = url.trim_end_matches('/').to_ascii_lowercase();
    let secret_source = match (&entry.password_env, &entry.password_file) {
        (Some(v), _) => format!("env:{v}"),
        (_, Some(f)) => format!("file:{}", f.display()),
        _ => "env:XSA_PASSWORD".to_string(),
    };
    format!(
        "{url}/\u{0}{}\u{0}{secret_source}\u{0}{tls:?}",
        entry.username
    )
}

/// How to secure the connection to the master a pinned member redirects to: with the master's own
/// pin from the inventory, or not at all (the member's pin is not the master's certificate).
fn master_tls(
    entry: &Entry,
    tls: tls::TlsPolicy,
    master: &str,
    clients: &HttpClients,
) -> Result<tls::TlsPolicy, XapiError> {
    if !matches!(tls.mode, tls::TlsMode::Pinned(_)) {
        return Ok(tls);
    }
    let host = master.trim_matches(['[', ']']).to_ascii_lowercase();
    match clients.pins.get(&host) {
        Some(fp) => Ok(tls::TlsPolicy {
            mode: tls::TlsMode::Pinned(*fp),
            ..tls
        }),
        None => Err(XapiError::Setup {
            host: entry.name.clone(),
            message: format!(
                "this host is a pool member (HOST_IS_SLAVE) and its master {master} has no tls_fingerprint in the inventory: add a row for the master with its fingerprint (xen-sr-audit trust records it)"
            ),
        }),
    }
}

/// The scanner's entry point for a `url` entry: fetch its pool (or share the fetch another row of
/// the same pool made) and turn the snapshot into what the caller keeps with `digest`, once per
/// fetch; rows that share the fetch share the digest.
pub fn fetch_shared<T: Send + Sync + 'static>(
    entry: &Entry,
    clients: &HttpClients,
    live: &LiveOptions,
    cancel: &AtomicBool,
    digest: impl FnOnce(Snapshot) -> T,
) -> Result<Arc<T>, XapiError> {
    let digest = std::cell::Cell::new(Some(digest));
    let crate::inventory::Source::Url(url) = &entry.source else {
        return Err(XapiError::Setup {
            host: entry.name.clone(),
            message: "not a url entry".into(),
        });
    };
    let attempt = |at: &str, tls| match fetch_at(entry, at, tls, clients, live, cancel) {
        Ok(Attempt::Fetched(s)) => match digest.take() {
            Some(d) => Shared::Fetched(Arc::new(d(*s))),
            None => Shared::Failed(format!("{}: internal error: fetched twice", entry.name)),
        },
        Ok(Attempt::Redirect(master)) => Shared::Redirect(master),
        Err(e) => Shared::Failed(e.to_string()),
    };
    let shared = &clients.shared_fetches;
    let tls = tls_policy(entry, live);
    let outcome = match shared.once(fetch_key(url, entry, tls), || attempt(url, tls)) {
        Shared::Redirect(master) => {
            let to = master_url(url, &master).ok_or_else(|| XapiError::Setup {
                host: entry.name.clone(),
                message: format!("HOST_IS_SLAVE with an unusable master address {master:?}"),
            })?;
            let to_tls = master_tls(entry, tls, &master, clients)?;
            match shared.once(fetch_key(&to, entry, to_tls), || attempt(&to, to_tls)) {
                Shared::Redirect(_) => return Err(XapiError::Setup {
                    host: entry.name.clone(),
                    message:
                        "the master named by HOST_IS_SLAVE is itself a member; not following twice"
                            .into(),
                }),
                other => other,
            }
        }
        other => other,
    };
    match outcome {
        Shared::Fetched(d) => d.downcast::<T>().map_err(|_| XapiError::Setup {
            host: entry.name.clone(),
            message: "internal error: a shared fetch of another kind".into(),
        }),
        Shared::Failed(message) | Shared::Redirect(message) => Err(XapiError::Shared(message)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_method_allowlist() {
        for (m, ok) in [
            ("session.login_with_password", true),
            ("session.logout", true),
            ("event.from", true),
            ("VM.get_all_records", true),
            ("pool.get_all", true),
            ("SR.get_by_uuid", true),
            ("VM.get_all_records_where", true),
            ("VM.start", false),
            ("SR.forget", false),
            ("VM.set_name_label", false),
            ("session.get_all_subject_identifiers", false),
            ("VM.get_all;VM.destroy", false),
            ("event.register", false),
            ("system.multicall", false),
            ("", false),
        ] {
            assert_eq!(client::is_read_method(m), ok, "{m}");
        }
    }

    #[test]
    fn master_url_keeps_scheme_and_port() {
        for (url, addr, want) in [
            ("https://10.0.0.2:443/", "10.0.0.1", "https://10.0.0.1:443/"),
            (
                "http://127.1.0.2:8080/",
                "127.1.0.1",
                "http://127.1.0.1:8080/",
            ),
            ("https://xs02.example/", "10.0.0.1", "https://10.0.0.1/"),
            (
                "https://[fe80::2]:443/",
                "fe80::1",
                "https://[fe80::1]:443/",
            ),
        ] {
            assert_eq!(master_url(url, addr).as_deref(), Some(want));
        }
    }
}
