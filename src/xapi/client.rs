//! The read-only XAPI client. One [`HttpClients`] (ureq agents with their TLS contexts and connection
//! pools) serves every call of a scan; a [`Connection`] is one entry's conversation: login (following
//! `HOST_IS_SLAVE` once), the data fetch in as few round trips as XAPI allows (`event.from` with an
//! empty token returns every object of the listed classes in one call; `get_all_records` per class is
//! the fallback), and logout on every path. Only an allowlist of read methods can ever be sent: the
//! check sits in front of the wire, so a write cannot happen by mistake.

use super::tls::{Connector, TlsLog, TlsPolicy, TlsSeen};
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

/// The HTTP clients of a scan: one agent per TLS policy (verified, insecure, each pinned
/// certificate, each with or without legacy TLS), each reused for every call with that policy so
/// connections and TLS contexts are set up once, not once per call.
#[derive(Debug)]
pub struct HttpClients {
    call_timeout: Duration,
    ca_file: Option<std::path::PathBuf>,
    concurrency: usize,
    // Built on first use: a verified context loads the system's CA store.
    agents: std::sync::Mutex<HashMap<TlsPolicy, Result<ureq::Agent, String>>>,
    /// What each TLS handshake of the scan negotiated, by host.
    pub tls_log: TlsLog,
    /// Pinned fingerprints by host (lower case), from the inventory: a `HOST_IS_SLAVE` redirect to a
    /// master is pinned with the master's own row.
    pub(crate) pins: HashMap<String, [u8; 32]>,
    /// Fetches shared by the inventory rows of one pool, for this scan.
    pub(crate) shared_fetches: super::SharedFetches,
}

impl HttpClients {
    pub fn new(
        opts: &LiveOptions,
        concurrency: usize,
        entries: &[crate::inventory::Entry],
    ) -> HttpClients {
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
        HttpClients {
            call_timeout: opts.call_timeout,
            ca_file: opts.ca_file.clone(),
            concurrency,
            agents: std::sync::Mutex::new(HashMap::new()),
            tls_log: TlsLog::default(),
            pins,
            shared_fetches: super::SharedFetches::default(),
        }
    }

    fn build(&self, policy: TlsPolicy) -> Result<ureq::Agent, String> {
        let tls = Connector::new(policy, self.ca_file.as_deref(), Arc::clone(&self.tls_log))?;
        Ok(ureq::AgentBuilder::new()
            .timeout_connect(self.call_timeout)
            .timeout_read(self.call_timeout)
            .timeout_write(self.call_timeout)
            .max_idle_connections(self.concurrency.max(1) * 2)
            .max_idle_connections_per_host(2)
            .redirects(0)
            .user_agent(concat!("xen-sr-audit/", env!("CARGO_PKG_VERSION")))
            .tls_connector(Arc::new(tls))
            .build())
    }

    /// The shared agent for a TLS policy (plain http uses any: its TLS is never used).
    pub fn agent(&self, policy: TlsPolicy) -> Result<ureq::Agent, String> {
        let mut agents = self.agents.lock().unwrap_or_else(|e| e.into_inner());
        agents
            .entry(policy)
            .or_insert_with(|| self.build(policy))
            .clone()
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
    agent: ureq::Agent,
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
        let agent = clients.agent(tls).map_err(|message| XapiError::Setup {
            host: name.to_string(),
            message,
        })?;
        Ok(Connection {
            agent,
            url: url.to_string(),
            name: name.to_string(),
            opts,
            deadline: Instant::now() + opts.host_deadline,
        })
    }

    fn remaining(&self) -> Option<Duration> {
        self.deadline
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
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
            let result = self
                .agent
                .post(&self.url)
                .set("Content-Type", "text/xml")
                .timeout(timeout)
                .send_bytes(&body);
            match result {
                Ok(resp) => return self.read_response(method, resp, timeout, filter),
                Err(ureq::Error::Status(code, resp)) => {
                    // Drain a little of the body so the connection can be reused; it is HTML, not XAPI.
                    let _ = resp
                        .into_reader()
                        .take(64 * 1024)
                        .read_to_end(&mut Vec::new());
                    return Err(XapiError::Http {
                        host: self.name.clone(),
                        method: method.to_string(),
                        status: code,
                    });
                }
                Err(ureq::Error::Transport(t)) => {
                    let connect_failed = matches!(
                        t.kind(),
                        ureq::ErrorKind::ConnectionFailed | ureq::ErrorKind::Dns
                    ) && !is_tls_failure(&t);
                    let message = transport_message(&t);
                    if connect_failed && attempt < self.opts.connect_retries && fixed.is_none() {
                        let backoff = Duration::from_millis(200 << attempt);
                        if self.remaining().is_some_and(|r| r > backoff) {
                            attempt += 1;
                            std::thread::sleep(backoff);
                            continue;
                        }
                    }
                    return Err(if is_timeout(&t) {
                        XapiError::Timeout {
                            host: self.name.clone(),
                            method: method.to_string(),
                            after: timeout,
                        }
                    } else {
                        XapiError::Connect {
                            host: self.name.clone(),
                            url: self.url.clone(),
                            message,
                        }
                    });
                }
            }
        }
    }

    fn read_response(
        &mut self,
        method: &str,
        resp: ureq::Response,
        timeout: Duration,
        filter: Option<wire::FieldFilter>,
    ) -> Result<Value, XapiError> {
        let limit = self.opts.max_response_bytes;
        let too_large = || XapiError::TooLarge {
            host: self.name.clone(),
            method: method.to_string(),
            limit,
        };
        if resp
            .header("Content-Length")
            .and_then(|l| l.parse::<u64>().ok())
            .is_some_and(|len| len > limit)
        {
            return Err(too_large());
        }
        // Decode as the body streams in: no copy of the whole answer is ever held.
        let counted = std::rc::Rc::new(std::cell::Cell::new(0u64));
        let body = CappedReader {
            inner: resp.into_reader(),
            read: std::rc::Rc::clone(&counted),
            limit,
        };
        // The scanner buffers what it reads: no BufReader in between (a second copy of every byte).
        let decoded = wire::decode_response_from(body, filter);
        let protocol = |message: String| XapiError::Protocol {
            host: self.name.clone(),
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
                    host: self.name.clone(),
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
                    host: self.name.clone(),
                    method: method.to_string(),
                    description: desc,
                })
            }
            _ => Err(protocol("response has no Status".into())),
        }
    }

    /// Log out, best effort, with its own short timeout so it runs even after the deadline.
    pub fn logout(&mut self, session: &str) {
        let t = self.opts.call_timeout.min(Duration::from_secs(5));
        let _ = self.call_with_timeout("session.logout", &[Value::from(session)], Some(t), None);
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

fn transport_message(t: &ureq::Transport) -> String {
    // ureq's Display repeats the URL; keep the kind, the detail and the causes (TLS errors live there).
    use std::error::Error;
    let mut out = match t.message() {
        Some(m) => format!("{}: {m}", t.kind()),
        None => t.kind().to_string(),
    };
    let mut src: Option<&(dyn Error + 'static)> = t.source();
    while let Some(e) = src {
        let m = e.to_string();
        if !out.contains(&m) {
            out.push_str(": ");
            out.push_str(&m);
        }
        src = e.source();
    }
    out
}

/// A TLS handshake failure: retrying cannot help.
fn is_tls_failure(t: &ureq::Transport) -> bool {
    use std::error::Error;
    let mut src: Option<&(dyn Error + 'static)> = t.source();
    while let Some(e) = src {
        let text = e.to_string();
        if [
            "TLS handshake failed",
            "TLS setup",
            "certificate fingerprint mismatch",
            "presented no certificate",
        ]
        .iter()
        .any(|m| text.starts_with(m))
        {
            return true;
        }
        src = e.source();
    }
    t.message().is_some_and(|m| m.contains("tls"))
}

fn is_timeout(t: &ureq::Transport) -> bool {
    use std::error::Error;
    let mut src: Option<&(dyn Error + 'static)> = t.source();
    while let Some(e) = src {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if matches!(
                io.kind(),
                std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
            ) {
                return true;
            }
        }
        src = e.source();
    }
    t.to_string().contains("timed out")
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
