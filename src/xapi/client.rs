//! The read-only XAPI client. One [`HttpClients`] (TLS contexts, pins, the fetch cache) serves every
//! call of a scan; a [`Connection`] is one entry's conversation over one kept-alive HTTP connection
//! ([`super::http`]): login (following
//! `HOST_IS_SLAVE` once), the data fetch in as few round trips as XAPI allows (`event.from` with an
//! empty token returns every object of the listed classes in one call; `get_all_records` per class is
//! the fallback), and logout on every path. Only an allowlist of read methods can ever be sent: the
//! check sits in front of the wire, so a write cannot happen by mistake.

use super::http::{HttpConnection, Target, TransportError};
use super::tls::{Connector, TlsContexts, TlsLog, TlsPolicy, TlsSeen};
use super::wire::{self, Response};
use super::XapiError;
use crate::config::{FetchMode, LiveOptions};
use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::sync::Arc;
use std::time::{Duration, Instant};
use xmlrpc::Value;

/// The originator XAPI records for our sessions.
pub const ORIGINATOR: &str = "xen-sr-audit";

/// The `User-Agent` of every request.
const USER_AGENT: &str = concat!("xen-sr-audit/", env!("CARGO_PKG_VERSION"));

/// True for the methods this tool may send: login, logout, `event.from` and `<class>.get_*`.
pub fn is_read_method(method: &str) -> bool {
    match method {
        "session.login_with_password" | "session.logout" | "event.from" => true,
        _ => match method.split_once('.') {
            Some((class, call)) => {
                !class.is_empty()
                    && class
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_')
                    && call.starts_with("get_")
                    && call.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                    && class != "session"
            }
            None => false,
        },
    }
}

/// What every connection of a scan shares: one TLS context per trust setting (verified, pinned,
/// insecure, each with or without legacy TLS; every pinned host shares one, its pin checked per
/// connection), built on first use and reused, the handshakes seen, the pins, and the fetch cache.
/// Connections themselves are not shared: each entry's conversation has its own.
#[derive(Debug)]
pub struct HttpClients {
    tls_contexts: TlsContexts,
    /// What each TLS handshake of the scan negotiated, by host.
    pub tls_log: TlsLog,
    /// Pinned fingerprints by host (lower case), from the inventory: a `HOST_IS_SLAVE` redirect to a
    /// master is pinned with the master's own row.
    pub(crate) pins: HashMap<String, [u8; 32]>,
    /// Fetches shared by the inventory rows of one pool, for this scan.
    pub(crate) shared_fetches: super::SharedFetches,
    /// The sessions open now, for the interrupt path to log out.
    pub sessions: super::sessions::OpenSessions,
}

impl HttpClients {
    pub fn new(opts: &LiveOptions, entries: &[crate::inventory::Entry]) -> HttpClients {
        let pins = entries
            .iter()
            .filter_map(|e| {
                let crate::inventory::Source::Url(url) = &e.source else {
                    return None;
                };
                let (host, _) = crate::inventory::host_port(url)?;
                Some((host.to_ascii_lowercase(), e.tls_fingerprint?))
            })
            .collect();
        let tls_log = TlsLog::default();
        HttpClients {
            tls_contexts: TlsContexts::new(opts.ca_file.clone(), Arc::clone(&tls_log)),
            tls_log,
            pins,
            shared_fetches: super::SharedFetches::default(),
            sessions: super::sessions::OpenSessions::default(),
        }
    }

    /// A connector for a policy, on the scan's shared TLS context of its trust setting.
    pub fn connector(&self, policy: TlsPolicy) -> Result<Arc<Connector>, String> {
        self.tls_contexts.connector(policy)
    }

    /// What the last handshake with `url`'s host negotiated, if it was https.
    pub fn tls_seen(&self, url: &str) -> Option<TlsSeen> {
        let (host, _) = crate::inventory::host_port(url)?;
        let log = self.tls_log.lock().ok()?;
        log.get(&host.to_ascii_lowercase()).cloned()
    }
}

/// One entry's conversation with XAPI.
pub struct Connection<'a> {
    http: HttpConnection,
    pub url: String,
    /// The inventory name, for messages.
    pub name: String,
    opts: &'a LiveOptions,
    deadline: Instant,
}

impl<'a> Connection<'a> {
    pub fn new(
        clients: &'a HttpClients,
        url: &str,
        name: &str,
        tls: TlsPolicy,
        opts: &'a LiveOptions,
    ) -> Result<Self, XapiError> {
        let setup = |message| XapiError::Setup {
            host: name.to_string(),
            message,
        };
        let target = Target::parse(url).map_err(setup)?;
        let connector = match target.https {
            true => Some(clients.connector(tls).map_err(setup)?),
            false => None,
        };
        Ok(Connection {
            http: HttpConnection::new(target, connector, USER_AGENT)
                .with_connect_timeout(opts.connect_timeout),
            url: url.to_string(),
            name: name.to_string(),
            opts,
            deadline: Instant::now() + opts.host_deadline,
        })
    }

    fn remaining(&self) -> Option<Duration> {
        super::http::time_left(self.deadline)
    }

    /// Send one call and return its XAPI `Value` (Status Success) or the failure description.
    pub fn call(&mut self, method: &str, params: &[Value]) -> Result<Value, XapiError> {
        self.call_with_timeout(method, params, None, None)
    }

    /// Like [`Connection::call`], keeping only the record fields `filter` lets through (the rest is
    /// skipped as the answer streams in, never held in memory).
    pub fn call_filtered(
        &mut self,
        method: &str,
        params: &[Value],
        filter: wire::FieldFilter,
    ) -> Result<Value, XapiError> {
        self.call_with_timeout(method, params, None, Some(filter))
    }

    fn call_with_timeout(
        &mut self,
        method: &str,
        params: &[Value],
        fixed: Option<Duration>,
        filter: Option<wire::FieldFilter>,
    ) -> Result<Value, XapiError> {
        if !is_read_method(method) {
            return Err(XapiError::NotReadOnly {
                host: self.name.clone(),
                method: method.to_string(),
            });
        }
        let body = wire::encode_call(method, params);
        let mut attempt = 0u32;
        loop {
            let budget = match fixed {
                Some(t) => t,
                None => self.remaining().ok_or_else(|| XapiError::Deadline {
                    host: self.name.clone(),
                    deadline: self.opts.host_deadline,
                })?,
            };
            let timeout = budget.min(self.opts.call_timeout);
            let error = match self.http.post("text/xml", &body, timeout) {
                Ok(resp) if (200..300).contains(&resp.status) => {
                    return read_response(&self.name, self.opts, method, resp, timeout, filter)
                }
                Ok(resp) => {
                    // Read a little of the body so the connection can be reused; it is HTML, not XAPI.
                    let status = resp.status;
                    resp.finish(64 * 1024);
                    return Err(XapiError::Http {
                        host: self.name.clone(),
                        method: method.to_string(),
                        status,
                    });
                }
                Err(error) => error,
            };
            match error {
                TransportError::Connect(message)
                    if attempt < self.opts.connect_retries && fixed.is_none() =>
                {
                    let backoff = Duration::from_millis(200 << attempt);
                    if self.remaining().is_some_and(|r| r > backoff) {
                        attempt += 1;
                        std::thread::sleep(backoff);
                        continue;
                    }
                    return Err(self.connect_error(message));
                }
                TransportError::Timeout => {
                    return Err(XapiError::Timeout {
                        host: self.name.clone(),
                        method: method.to_string(),
                        after: timeout,
                    })
                }
                TransportError::Connect(message)
                | TransportError::ConnectTimeout(message)
                | TransportError::Tls(message)
                | TransportError::Broken(message) => return Err(self.connect_error(message)),
            }
        }
    }

    fn connect_error(&self, message: String) -> XapiError {
        XapiError::Connect {
            host: self.name.clone(),
            url: self.url.clone(),
            message,
        }
    }

    /// Log out, best effort, with its own short timeout so it runs even after the deadline.
    pub fn logout(&mut self, session: &str) {
        self.logout_within(session, Duration::from_secs(5));
    }

    /// Log out, best effort, waiting at most `limit` (and never longer than `--timeout`).
    pub fn logout_within(&mut self, session: &str, limit: Duration) {
        let t = self.opts.call_timeout.min(limit);
        let _ = self.call_with_timeout("session.logout", &[Value::from(session)], Some(t), None);
    }
}

/// Decode an answer as it streams in, within the size cap, into its value or the XAPI failure.
fn read_response(
    name: &str,
    opts: &LiveOptions,
    method: &str,
    mut resp: super::http::Response<'_>,
    timeout: Duration,
    filter: Option<wire::FieldFilter>,
) -> Result<Value, XapiError> {
    let limit = opts.max_response_bytes;
    let too_large = || XapiError::TooLarge {
        host: name.to_string(),
        method: method.to_string(),
        limit,
    };
    if resp.content_length.is_some_and(|len| len > limit) {
        return Err(too_large());
    }
    // Decode as the body streams in: no copy of the whole answer is ever held.
    let counted = std::rc::Rc::new(std::cell::Cell::new(0u64));
    let body = CappedReader {
        inner: &mut resp,
        read: std::rc::Rc::clone(&counted),
        limit,
    };
    // The scanner buffers what it reads: no BufReader in between (a second copy of every byte).
    let decoded = wire::decode_response_from(body, filter);
    if decoded.is_ok() {
        // Whitespace after the document, if any: read it so the connection serves the next call.
        resp.finish(64 * 1024);
    }
    let protocol = |message: String| XapiError::Protocol {
        host: name.to_string(),
        method: method.to_string(),
        message,
    };
    let value = match decoded {
        Ok(Response::Value(v)) => v,
        Ok(Response::Fault(f)) => return Err(protocol(format!("XML-RPC fault {}", short(&f)))),
        Err(_) if counted.get() > limit => return Err(too_large()),
        Err(e)
            if matches!(
                e.io,
                Some(std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock)
            ) =>
        {
            return Err(XapiError::Timeout {
                host: name.to_string(),
                method: method.to_string(),
                after: timeout,
            })
        }
        Err(e) if e.io.is_some() => {
            return Err(protocol(format!("reading the response: {}", e.message)))
        }
        Err(e) => return Err(protocol(e.to_string())),
    };
    let Value::Struct(mut envelope) = value else {
        return Err(protocol("response is not a Status struct".into()));
    };
    match envelope.get("Status").and_then(Value::as_str) {
        Some("Success") => Ok(envelope
            .remove("Value")
            .unwrap_or(Value::String(String::new()))),
        Some("Failure") => {
            let desc: Vec<String> = envelope
                .get("ErrorDescription")
                .and_then(Value::as_array)
                .map(|a| a.iter().map(value_text).collect())
                .unwrap_or_default();
            Err(XapiError::Failure {
                host: name.to_string(),
                method: method.to_string(),
                description: desc,
            })
        }
        _ => Err(protocol("response has no Status".into())),
    }
}

/// A body reader that counts what it reads and fails once past the size cap.
struct CappedReader<R> {
    inner: R,
    read: std::rc::Rc<std::cell::Cell<u64>>,
    limit: u64,
}

impl<R: Read> Read for CappedReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let total = self.read.get() + n as u64;
        self.read.set(total);
        if total > self.limit {
            return Err(std::io::Error::other("response larger than the size cap"));
        }
        Ok(n)
    }
}

fn short(v: &Value) -> String {
    let s = format!("{v:?}");
    s.chars().take(200).collect()
}

/// A wire value as text, as the dump would hold it.
pub fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Int64(i) => i.to_string(),
        Value::Double(d) => d.to_string(),
        Value::Nil => String::new(),
        other => format!("{other:?}"),
    }
}

/// A record struct from the wire, read by the model like a dump row.
pub struct WireRecord<'a>(pub &'a BTreeMap<String, Value>);

impl crate::model::FieldSource for WireRecord<'_> {
    fn text(&self, field: &str) -> Result<String, String> {
        match self.0.get(field) {
            None => Ok(String::new()),
            Some(Value::Struct(_) | Value::Array(_)) => Err("expected a scalar".into()),
            Some(v) => Ok(value_text(v)),
        }
    }
    fn map(&self, field: &str) -> Result<Vec<(String, String)>, String> {
        match self.0.get(field) {
            None => Ok(Vec::new()),
            Some(Value::Struct(m)) => {
                Ok(m.iter().map(|(k, v)| (k.clone(), value_text(v))).collect())
            }
            Some(Value::Array(a)) if a.is_empty() => Ok(Vec::new()),
            Some(Value::String(s)) if s.is_empty() => Ok(Vec::new()),
            Some(_) => Err("expected a map".into()),
        }
    }
    fn set(&self, field: &str) -> Result<Vec<String>, String> {
        match self.0.get(field) {
            None => Ok(Vec::new()),
            Some(Value::Array(a)) => Ok(a.iter().map(value_text).collect()),
            Some(Value::Struct(m)) if m.is_empty() => Ok(Vec::new()),
            Some(_) => Err("expected a set".into()),
        }
    }
}

/// True for a field some audited class needs (the union over classes: a record keeps a few more
/// fields than its class needs, which the model ignores).
fn is_audit_field(name: &[u8]) -> bool {
    // A match compiles to a length switch and a few compares; checked against AUDIT_FIELDS in a test.
    matches!(
        name,
        b"uuid"
            | b"name_label"
            | b"master"
            | b"address"
            | b"hostname"
            | b"is_a_template"
            | b"is_control_domain"
            | b"power_state"
            | b"resident_on"
            | b"other_config"
            | b"VM"
            | b"VDI"
            | b"userdevice"
            | b"bootable"
            | b"type"
            | b"currently_attached"
            | b"SR"
            | b"name_description"
            | b"content_type"
            | b"shared"
            | b"host"
            | b"device_config"
            | b"metrics"
            | b"memory_total"
            | b"memory_free"
            | b"memory_static_max"
            | b"virtual_size"
            | b"physical_utilisation"
    )
}

#[cfg(test)]
#[test]
fn audit_field_check_matches_the_model() {
    let all: std::collections::BTreeSet<&str> = crate::model::AUDIT_FIELDS
        .iter()
        .flat_map(|(_, f)| f.iter().copied())
        .collect();
    for f in &all {
        assert!(is_audit_field(f.as_bytes()), "{f}");
    }
    for f in ["VBDs", "name", "uuid2", "", "other_configs", "PBDs"] {
        assert!(!is_audit_field(f.as_bytes()), "{f}");
    }
}

/// Fetch the audited classes into a snapshot builder.
pub fn fetch_records(
    conn: &mut Connection,
    session: &str,
    mode: FetchMode,
    builder: &mut crate::model::SnapshotBuilder,
) -> Result<(), XapiError> {
    use crate::model::AUDIT_CLASSES;
    let keep = |name: &[u8]| is_audit_field(name);
    if mode == FetchMode::Auto {
        let classes = Value::Array(
            AUDIT_CLASSES
                .iter()
                .map(|c| Value::from(c.to_ascii_lowercase()))
                .collect(),
        );
        // Envelope (1) > Value (2) > event (3) > snapshot (4): fields are filtered at depth 4 and
        // each event (depth 3) goes to the builder as soon as it is decoded.
        let mut sink =
            |_: Option<String>, event: BTreeMap<String, Value>| add_event(builder, event);
        let filter = wire::FieldFilter {
            depth: 4,
            keep: &keep,
            emit_depth: 3,
            sink: Some(&mut sink),
        };
        let params = [
            Value::from(session),
            classes,
            Value::from(""),
            Value::Double(0.0),
        ];
        match conn.call_filtered("event.from", &params, filter) {
            Ok(_) => return Ok(()),
            // Old XAPI without event.from, or a refusal: fall back. Session and transport errors are real.
            Err(XapiError::Failure { description, .. })
                if description.first().is_none_or(|c| c != "SESSION_INVALID") => {}
            Err(e) => return Err(e),
        }
    }
    for class in AUDIT_CLASSES {
        let method = format!("{class}.get_all_records");
        // Envelope (1) > Value (2) > record (3), each record under its ref.
        let mut sink = |r: Option<String>, rec: BTreeMap<String, Value>| -> Result<(), String> {
            builder
                .add(
                    class,
                    &r.unwrap_or_default(),
                    &TakeRecord(std::cell::RefCell::new(rec)),
                )
                .map_err(|e| e.to_string())
        };
        let filter = wire::FieldFilter {
            depth: 3,
            keep: &keep,
            emit_depth: 3,
            sink: Some(&mut sink),
        };
        conn.call_filtered(&method, &[Value::from(session)], filter)?;
    }
    Ok(())
}

/// Give one `event.from` event to the model: its class, ref and snapshot (deletions and events
/// without a snapshot are skipped).
fn add_event(
    builder: &mut crate::model::SnapshotBuilder,
    mut event: BTreeMap<String, Value>,
) -> Result<(), String> {
    if event
        .get("operation")
        .and_then(Value::as_str)
        .is_some_and(|op| op == "del")
    {
        return Ok(());
    }
    let (Some(Value::String(class)), Some(Value::String(r)), Some(Value::Struct(snap))) = (
        event.remove("class"),
        event.remove("ref"),
        event.remove("snapshot"),
    ) else {
        return Ok(());
    };
    builder
        .add(&class, &r, &TakeRecord(std::cell::RefCell::new(snap)))
        .map_err(|e| e.to_string())
}

/// A record whose fields are moved out as the model reads them (each is read once), so building the
/// snapshot copies no string.
pub struct TakeRecord(pub std::cell::RefCell<BTreeMap<String, Value>>);

fn value_into_text(v: Value) -> String {
    match v {
        Value::String(s) => s,
        other => value_text(&other),
    }
}

impl crate::model::FieldSource for TakeRecord {
    fn text(&self, field: &str) -> Result<String, String> {
        match self.0.borrow_mut().remove(field) {
            None => Ok(String::new()),
            Some(Value::Struct(_) | Value::Array(_)) => Err("expected a scalar".into()),
            Some(v) => Ok(value_into_text(v)),
        }
    }
    fn map(&self, field: &str) -> Result<Vec<(String, String)>, String> {
        match self.0.borrow_mut().remove(field) {
            None => Ok(Vec::new()),
            Some(Value::Struct(m)) => Ok(m
                .into_iter()
                .map(|(k, v)| (k, value_into_text(v)))
                .collect()),
            Some(Value::Array(a)) if a.is_empty() => Ok(Vec::new()),
            Some(Value::String(s)) if s.is_empty() => Ok(Vec::new()),
            Some(_) => Err("expected a map".into()),
        }
    }
    fn set(&self, field: &str) -> Result<Vec<String>, String> {
        match self.0.borrow_mut().remove(field) {
            None => Ok(Vec::new()),
            Some(Value::Array(a)) => Ok(a.into_iter().map(value_into_text).collect()),
            Some(Value::Struct(m)) if m.is_empty() => Ok(Vec::new()),
            Some(_) => Err("expected a set".into()),
        }
    }
}

/// Decode an `event.from` answer held in memory into a snapshot, exactly as a live fetch does (the
/// benchmark of the client's parse and classification path, without a network).
pub fn snapshot_from_event_body(body: &[u8]) -> Result<crate::model::Snapshot, String> {
    let mut builder = crate::model::SnapshotBuilder::default();
    let keep = |name: &[u8]| is_audit_field(name);
    let mut sink =
        |_: Option<String>, event: BTreeMap<String, Value>| add_event(&mut builder, event);
    let filter = wire::FieldFilter {
        depth: 4,
        keep: &keep,
        emit_depth: 3,
        sink: Some(&mut sink),
    };
    wire::decode_response_from(body, Some(filter)).map_err(|e| e.to_string())?;
    Ok(builder.finish())
}
