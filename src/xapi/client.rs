//! The read-only XAPI client. One [`HttpClients`] (ureq agents with their TLS contexts and connection
//! pools) serves every call of a scan; a [`Connection`] is one entry's conversation: login (following
//! `HOST_IS_SLAVE` once), the data fetch in as few round trips as XAPI allows (`event.from` with an
//! empty token returns every object of the listed classes in one call; `get_all_records` per class is
//! the fallback), and logout on every path. Only an allowlist of read methods can ever be sent: the
//! check sits in front of the wire, so a write cannot happen by mistake.

use super::wire::{self, Response};
use super::XapiError;
use crate::config::{FetchMode, LiveOptions};
use std::collections::BTreeMap;
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

/// The HTTP clients of a scan: one verifying TLS, one not (for `insecure` entries), both reused for
/// every call so connections and TLS contexts are set up once per host, not once per call.
#[derive(Debug, Clone)]
pub struct HttpClients {
    verified: ureq::Agent,
    insecure: ureq::Agent,
}

impl HttpClients {
    pub fn new(opts: &LiveOptions, concurrency: usize) -> Result<HttpClients, String> {
        let mut verified = native_tls::TlsConnector::builder();
        if let Some(ca) = &opts.ca_file {
            let pem = std::fs::read(ca).map_err(|e| format!("{}: {e}", ca.display()))?;
            let cert = native_tls::Certificate::from_pem(&pem)
                .map_err(|e| format!("{}: not a PEM certificate: {e}", ca.display()))?;
            verified.add_root_certificate(cert);
        }
        let verified = verified.build().map_err(|e| format!("TLS setup: {e}"))?;
        let insecure = native_tls::TlsConnector::builder()
            .danger_accept_invalid_certs(true)
            .danger_accept_invalid_hostnames(true)
            .build()
            .map_err(|e| format!("TLS setup: {e}"))?;
        let agent = |tls: native_tls::TlsConnector| {
            ureq::AgentBuilder::new()
                .timeout_connect(opts.call_timeout)
                .timeout_read(opts.call_timeout)
                .timeout_write(opts.call_timeout)
                .max_idle_connections(concurrency.max(1) * 2)
                .max_idle_connections_per_host(2)
                .redirects(0)
                .user_agent(concat!("xen-sr-audit/", env!("CARGO_PKG_VERSION")))
                .tls_connector(Arc::new(tls))
                .build()
        };
        Ok(HttpClients {
            verified: agent(verified),
            insecure: agent(insecure),
        })
    }

    fn agent(&self, insecure: bool) -> &ureq::Agent {
        if insecure {
            &self.insecure
        } else {
            &self.verified
        }
    }
}

/// One entry's conversation with XAPI.
pub struct Connection<'a> {
    agent: &'a ureq::Agent,
    pub url: String,
    /// The inventory name, for messages.
    pub name: String,
    opts: &'a LiveOptions,
    deadline: Instant,
    /// Calls made (for the round-trip count in benchmarks and tests).
    pub calls: u32,
    /// Response bytes read.
    pub bytes: u64,
}

impl<'a> Connection<'a> {
    pub fn new(
        clients: &'a HttpClients,
        url: &str,
        name: &str,
        insecure: bool,
        opts: &'a LiveOptions,
    ) -> Self {
        Connection {
            agent: clients.agent(insecure),
            url: url.to_string(),
            name: name.to_string(),
            opts,
            deadline: Instant::now() + opts.host_deadline,
            calls: 0,
            bytes: 0,
        }
    }

    fn remaining(&self) -> Option<Duration> {
        self.deadline
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
    }

    /// Send one call and return its XAPI `Value` (Status Success) or the failure description.
    pub fn call(&mut self, method: &str, params: &[Value]) -> Result<Value, XapiError> {
        self.call_with_timeout(method, params, None)
    }

    fn call_with_timeout(
        &mut self,
        method: &str,
        params: &[Value],
        fixed: Option<Duration>,
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
            self.calls += 1;
            let result = self
                .agent
                .post(&self.url)
                .set("Content-Type", "text/xml")
                .timeout(timeout)
                .send_bytes(&body);
            match result {
                Ok(resp) => return self.read_response(method, resp, timeout),
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
    ) -> Result<Value, XapiError> {
        let limit = self.opts.max_response_bytes;
        if let Some(len) = resp
            .header("Content-Length")
            .and_then(|l| l.parse::<u64>().ok())
        {
            if len > limit {
                return Err(XapiError::TooLarge {
                    host: self.name.clone(),
                    method: method.to_string(),
                    limit,
                });
            }
        }
        let mut body = Vec::with_capacity(64 * 1024);
        resp.into_reader()
            .take(limit + 1)
            .read_to_end(&mut body)
            .map_err(|e| {
                if e.kind() == std::io::ErrorKind::TimedOut
                    || e.kind() == std::io::ErrorKind::WouldBlock
                {
                    XapiError::Timeout {
                        host: self.name.clone(),
                        method: method.to_string(),
                        after: timeout,
                    }
                } else {
                    XapiError::Protocol {
                        host: self.name.clone(),
                        method: method.to_string(),
                        message: format!("reading the response: {e}"),
                    }
                }
            })?;
        if body.len() as u64 > limit {
            return Err(XapiError::TooLarge {
                host: self.name.clone(),
                method: method.to_string(),
                limit,
            });
        }
        self.bytes += body.len() as u64;
        let protocol = |message: String| XapiError::Protocol {
            host: self.name.clone(),
            method: method.to_string(),
            message,
        };
        let value = match wire::decode_response(&body).map_err(|e| protocol(e.to_string()))? {
            Response::Value(v) => v,
            Response::Fault(f) => return Err(protocol(format!("XML-RPC fault {}", short(&f)))),
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
        let _ = self.call_with_timeout("session.logout", &[Value::from(session)], Some(t));
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
        if e.is::<native_tls::Error>() || e.is::<native_tls::HandshakeError<std::net::TcpStream>>()
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

/// Which way the records were fetched (reported in notes and benchmarks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fetched {
    EventFrom,
    AllRecords,
}

/// Fetch the audited classes into a snapshot builder.
pub fn fetch_records(
    conn: &mut Connection,
    session: &str,
    mode: FetchMode,
    builder: &mut crate::model::SnapshotBuilder,
) -> Result<Fetched, XapiError> {
    use crate::model::AUDIT_CLASSES;
    if mode == FetchMode::Auto {
        let classes = Value::Array(
            AUDIT_CLASSES
                .iter()
                .map(|c| Value::from(c.to_ascii_lowercase()))
                .collect(),
        );
        match conn.call(
            "event.from",
            &[
                Value::from(session),
                classes,
                Value::from(""),
                Value::Double(0.0),
            ],
        ) {
            Ok(v) => {
                let events = v.get("events").and_then(Value::as_array).ok_or_else(|| {
                    XapiError::Protocol {
                        host: conn.name.clone(),
                        method: "event.from".into(),
                        message: "no events in the answer".into(),
                    }
                })?;
                for ev in events {
                    let (Some(class), Some(r), Some(Value::Struct(snap))) = (
                        ev.get("class").and_then(Value::as_str),
                        ev.get("ref").and_then(Value::as_str),
                        ev.get("snapshot"),
                    ) else {
                        continue;
                    };
                    if ev
                        .get("operation")
                        .and_then(Value::as_str)
                        .is_some_and(|op| op == "del")
                    {
                        continue;
                    }
                    builder
                        .add(class, r, &WireRecord(snap))
                        .map_err(|e| XapiError::Protocol {
                            host: conn.name.clone(),
                            method: "event.from".into(),
                            message: e.to_string(),
                        })?;
                }
                return Ok(Fetched::EventFrom);
            }
            // Old XAPI without event.from, or a refusal: fall back. Session and transport errors are real.
            Err(XapiError::Failure { description, .. })
                if description.first().is_none_or(|c| c != "SESSION_INVALID") => {}
            Err(e) => return Err(e),
        }
    }
    for class in AUDIT_CLASSES {
        let method = format!("{class}.get_all_records");
        let v = conn.call(&method, &[Value::from(session)])?;
        let Value::Struct(records) = v else {
            return Err(XapiError::Protocol {
                host: conn.name.clone(),
                method,
                message: "get_all_records did not return a map".into(),
            });
        };
        for (r, rec) in &records {
            if let Value::Struct(rec) = rec {
                builder
                    .add(class, r, &WireRecord(rec))
                    .map_err(|e| XapiError::Protocol {
                        host: conn.name.clone(),
                        method: method.clone(),
                        message: e.to_string(),
                    })?;
            }
        }
    }
    Ok(Fetched::AllRecords)
}
