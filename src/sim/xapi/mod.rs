//! The XAPI simulator: serves offline dumps over real HTTP on loopback, every host of every pool on its
//! own 127.x.y.z address at one shared port, answering like XAPI does on the wire (bare `<value>`
//! strings, `<boolean>`, `dateTime.iso8601` with `Z`, the Status/Value/ErrorDescription envelope,
//! `HOST_IS_SLAVE` from members, credentials checked). It injects latency and faults per host and
//! counts logins, logouts, open sessions and any non-read call. Tests run it in-process; the
//! `xapi-sim` binary runs it for people and benchmarks, and the official Python SDK talks to it.

mod http;
mod tls;

use crate::dump::codec::{parse_map, parse_set};
use crate::dump::{read_dump, Keep, Row};
use crate::model::AUDIT_CLASSES;
use crate::xapi::wire::{failure_envelope, success_envelope, write_value};
use http::{accept_loop, Body};
use std::collections::{BTreeMap, HashMap};
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
pub use tls::TlsProfile;
use xmlrpc::Value;

/// A fault injected on one host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Read the request, never answer.
    Hang,
    /// Answer every call after this delay.
    Slow(Duration),
    /// HTTP 500 with an HTML body, as XAPI does for malformed requests.
    Http500,
    /// A 200 whose body is not XML-RPC.
    Malformed,
    /// A 200 cut in the middle of the body (data calls only; login and logout are answered).
    Truncated,
    /// Nothing listens on the host's address.
    Refused,
    /// Every login fails with SESSION_AUTHENTICATION_FAILED.
    AuthFail,
    /// The first data call answers SESSION_INVALID (the session is dropped).
    SessionInvalidOnce,
    /// Data calls answer with a body of at least this many bytes.
    Oversized(u64),
    /// Close the connection on a request without answering (the client sees a reset).
    Reset,
    /// `fault` (hang, http500, malformed or reset) on every data call from the host's n-th call on
    /// (1 is the first login): the login works, the fetch fails, and logout is still answered, so a
    /// test can check the client logs out on that path.
    AfterLogin { from_call: u64, fault: Box<Fault> },
    /// `fault` on every `event.from` call (after a working login), as above.
    OnEventFrom(Box<Fault>),
}

impl Fault {
    /// Parse `hang`, `slow:MS`, `http500`, `malformed`, `truncated`, `refused`, `auth`,
    /// `session-invalid-once`, `oversized:MB`, `reset`, `call:N:KIND` (KIND from the host's n-th
    /// call on, logout excepted) and `event.from:KIND`.
    pub fn parse(s: &str) -> Result<Fault, String> {
        if let Some(kind) = s.strip_prefix("event.from:") {
            return Ok(Fault::OnEventFrom(Box::new(Fault::after_login_kind(kind)?)));
        }
        if let Some((n, kind)) = s.strip_prefix("call:").and_then(|r| r.split_once(':')) {
            let from_call = n
                .parse::<u64>()
                .map_err(|_| format!("fault call:N:KIND needs a number: {s}"))?;
            return Ok(Fault::AfterLogin {
                from_call,
                fault: Box::new(Fault::after_login_kind(kind)?),
            });
        }
        let (kind, arg) = s.split_once(':').map_or((s, None), |(k, a)| (k, Some(a)));
        let num = |a: Option<&str>| {
            a.and_then(|a| a.parse::<u64>().ok())
                .ok_or_else(|| format!("fault {kind} needs a number: {s}"))
        };
        Ok(match kind {
            "hang" => Fault::Hang,
            "slow" => Fault::Slow(Duration::from_millis(num(arg)?)),
            "http500" => Fault::Http500,
            "malformed" => Fault::Malformed,
            "truncated" => Fault::Truncated,
            "refused" => Fault::Refused,
            "auth" => Fault::AuthFail,
            "session-invalid-once" => Fault::SessionInvalidOnce,
            "oversized" => Fault::Oversized(num(arg)? * 1024 * 1024),
            "reset" => Fault::Reset,
            _ => return Err(format!("unknown fault {s:?}")),
        })
    }

    /// The faults that can fire on a call after login.
    fn after_login_kind(kind: &str) -> Result<Fault, String> {
        match Fault::parse(kind)? {
            f @ (Fault::Hang | Fault::Http500 | Fault::Malformed | Fault::Reset) => Ok(f),
            _ => Err(format!(
                "after login only hang, http500, malformed or reset can fire, not {kind:?}"
            )),
        }
    }

    /// The fault that fires on this request: the host's fault, or the one its trigger names when
    /// it applies to `method` as the host's `call_no`-th call.
    pub(crate) fn firing(&self, method: &str, call_no: u64) -> Option<&Fault> {
        match self {
            _ if method == "session.logout" && self.after_login() => None,
            Fault::AfterLogin { from_call, fault } => (call_no >= *from_call).then_some(&**fault),
            Fault::OnEventFrom(fault) => (method == "event.from").then_some(&**fault),
            other => Some(other),
        }
    }

    fn after_login(&self) -> bool {
        matches!(self, Fault::AfterLogin { .. } | Fault::OnEventFrom(_))
    }
}

/// How to run the simulator.
#[derive(Debug, Clone)]
pub struct SimOptions {
    pub dumps: Vec<PathBuf>,
    /// Second octet of the addresses (127.<base>.<pool>.<host>), to keep simulators apart.
    pub base_octet: u8,
    /// 0 picks a free port.
    pub port: u16,
    pub username: String,
    pub password: String,
    /// Added to every call.
    pub latency: Duration,
    /// Faults by host name (name_label).
    pub faults: BTreeMap<String, Fault>,
    /// Answer event.from (XAPI 6.x and later); off emulates an old XAPI.
    pub event_from: bool,
    /// Delay of a failed login (XAPI waits about 5 s).
    pub auth_failure_delay: Duration,
    /// Serve HTTPS with this certificate and PKCS#8 key (PEM), as XAPI does on 443.
    pub tls: Option<(Vec<u8>, Vec<u8>)>,
    /// How the HTTPS side speaks TLS.
    pub tls_profile: TlsProfile,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            dumps: Vec::new(),
            base_octet: 77,
            port: 0,
            username: "root".into(),
            password: "sim-password".into(),
            latency: Duration::ZERO,
            faults: BTreeMap::new(),
            event_from: true,
            auth_failure_delay: Duration::from_millis(50),
            tls: None,
            tls_profile: TlsProfile::Modern,
        }
    }
}

/// Counters the simulator keeps (and prints at exit).
#[derive(Debug, Default)]
pub struct Stats {
    pub calls: AtomicU64,
    pub logins: AtomicU64,
    pub failed_logins: AtomicU64,
    pub logouts: AtomicU64,
    pub non_read_calls: AtomicU64,
    pub bytes_out: AtomicU64,
    /// TCP connections accepted (a client that reuses connections makes fewer than calls).
    pub connections: AtomicU64,
    pub sessions: Mutex<HashMap<String, usize>>,
}

impl Stats {
    pub fn open_sessions(&self) -> usize {
        self.sessions.lock().map(|s| s.len()).unwrap_or(0)
    }
    pub fn summary(&self) -> String {
        format!(
            "calls={} logins={} failed_logins={} logouts={} open_sessions={} non_read_calls={} bytes_out={} connections={}",
            self.calls.load(Ordering::Relaxed),
            self.logins.load(Ordering::Relaxed),
            self.failed_logins.load(Ordering::Relaxed),
            self.logouts.load(Ordering::Relaxed),
            self.open_sessions(),
            self.non_read_calls.load(Ordering::Relaxed),
            self.bytes_out.load(Ordering::Relaxed),
            self.connections.load(Ordering::Relaxed),
        )
    }
}

/// One simulated host.
#[derive(Debug, Clone)]
pub struct SimHost {
    pub name: String,
    pub pool: usize,
    pub pool_name: String,
    pub pool_uuid: String,
    pub addr: SocketAddr,
    pub master: bool,
    pub fault: Option<Fault>,
}

/// A record ready to serve: its fields for `get_<field>` and its serialized struct.
struct SimRecord {
    class: String,
    fields: Vec<(String, String)>,
    xml: String,
}

/// One pool's data, serialized once at start so that serving is a copy.
struct PoolData {
    records: Vec<(String, SimRecord)>,
    by_ref: HashMap<String, usize>,
    /// get_all_records bodies (the inner `<value>`), by lower-case class.
    all_records: HashMap<String, String>,
    /// event.from fragments (`<value>` of each event), by lower-case class.
    events: HashMap<String, String>,
    counts: HashMap<String, usize>,
    master_addr: String,
}

struct Shared {
    opts: SimOptions,
    pools: Vec<PoolData>,
    hosts: Vec<SimHost>,
    stats: Arc<Stats>,
    shutdown: AtomicBool,
    session_counter: AtomicU64,
    invalid_fired: Mutex<HashMap<usize, bool>>,
    /// Calls each host answered (or not), for the `call:N` faults.
    host_calls: Vec<AtomicU64>,
    tls: Option<tls::ServerTls>,
}

/// A running simulator. Dropping it stops it.
pub struct Simulator {
    shared: Arc<Shared>,
}

const MAP_HINTS: &[&str] = &[
    "platform",
    "blocked_operations",
    "software_version",
    "cpu_info",
    "current_operations",
    "bios_strings",
    "restrictions",
    "license_params",
];

/// Type a dump value for the wire: maps as structs, sets as arrays, booleans, dates; else a string.
fn typed(field: &str, text: &str) -> Value {
    if text == "true" || text == "false" {
        return Value::Bool(text == "true");
    }
    if text.starts_with('(') {
        if text == "()" {
            let is_map = field.ends_with("config")
                || field.ends_with("params")
                || field.ends_with("_data")
                || MAP_HINTS.contains(&field);
            return if is_map {
                Value::Struct(BTreeMap::new())
            } else {
                Value::Array(Vec::new())
            };
        }
        if let Ok(m) = parse_map(text) {
            return Value::Struct(m.into_iter().map(|(k, v)| (k, Value::String(v))).collect());
        }
        if let Ok(s) = parse_set(text) {
            return Value::Array(s.into_iter().map(Value::String).collect());
        }
    }
    Value::String(text.to_string())
}

fn is_xapi_date(s: &str) -> bool {
    let b = s.as_bytes();
    (b.len() == 17 || b.len() == 18)
        && b[8] == b'T'
        && b[..8].iter().all(u8::is_ascii_digit)
        && b[11] == b':'
        && (b.len() == 17 || b[17] == b'Z')
}

fn record_xml(fields: &[(String, String)]) -> String {
    let mut out = String::from("<value><struct>");
    for (k, v) in fields {
        out.push_str("<member><name>");
        out.push_str(&quick_xml::escape::escape(k.as_str()));
        out.push_str("</name>");
        if is_xapi_date(v) {
            out.push_str("<value><dateTime.iso8601>");
            out.push_str(v);
            out.push_str("</dateTime.iso8601></value>");
        } else {
            write_value(&mut out, &typed(k, v));
        }
        out.push_str("</member>");
    }
    out.push_str("</struct></value>");
    out
}

fn load_pool(path: &std::path::Path) -> io::Result<(PoolData, Vec<Row>, String, String, String)> {
    let db = read_dump(path, Keep::AuditTablesAllColumns)
        .map_err(|e| io::Error::other(e.to_string()))?;
    let mut records = Vec::new();
    let mut all_records = HashMap::new();
    let mut events = HashMap::new();
    let mut counts = HashMap::new();
    let mut event_id = 0u64;
    for class in AUDIT_CLASSES {
        let lower = class.to_ascii_lowercase();
        let mut all = String::from("<value><struct>");
        let mut ev = String::new();
        for row in db.table(class) {
            let xml = record_xml(&row.fields);
            all.push_str("<member><name>");
            all.push_str(&quick_xml::escape::escape(row.reference.as_str()));
            all.push_str("</name>");
            all.push_str(&xml);
            all.push_str("</member>");
            event_id += 1;
            ev.push_str(&format!(
                "<value><struct><member><name>id</name><value>{event_id}</value></member><member><name>timestamp</name><value>1700000000.0</value></member><member><name>class</name><value>{lower}</value></member><member><name>operation</name><value>add</value></member><member><name>ref</name><value>{}</value></member><member><name>snapshot</name>{xml}</member></struct></value>",
                quick_xml::escape::escape(row.reference.as_str())
            ));
            records.push((
                row.reference.clone(),
                SimRecord {
                    class: class.to_string(),
                    fields: row.fields.clone(),
                    xml,
                },
            ));
        }
        all.push_str("</struct></value>");
        all_records.insert(lower.clone(), all);
        events.insert(lower.clone(), ev);
        counts.insert(lower, db.table(class).len());
    }
    let by_ref = records
        .iter()
        .enumerate()
        .map(|(i, (r, _))| (r.clone(), i))
        .collect();
    let pool = db.table("pool").first().cloned().unwrap_or_default();
    let hosts = db.table("host").to_vec();
    Ok((
        PoolData {
            records,
            by_ref,
            all_records,
            events,
            counts,
            master_addr: String::new(),
        },
        hosts,
        pool.get("master").unwrap_or_default().to_string(),
        pool.get("name_label").unwrap_or_default().to_string(),
        pool.get("uuid").unwrap_or_default().to_string(),
    ))
}

impl Simulator {
    /// Load the dumps and start listening.
    pub fn start(opts: SimOptions) -> io::Result<Simulator> {
        let mut pools = Vec::new();
        let mut hosts = Vec::new();
        let mut port = opts.port;
        let mut listeners = Vec::new();
        for (p, path) in opts.dumps.iter().enumerate() {
            let (mut data, host_rows, master_ref, pool_name, pool_uuid) = load_pool(path)
                .map_err(|e| io::Error::other(format!("{}: {e}", path.display())))?;
            if p >= 250 * 250 {
                return Err(io::Error::other("too many pools for the address plan"));
            }
            for (h, row) in host_rows.iter().enumerate() {
                if h >= 250 {
                    return Err(io::Error::other(
                        "too many hosts in one pool for the address plan",
                    ));
                }
                let ip = Ipv4Addr::new(
                    127,
                    opts.base_octet.wrapping_add((p / 250) as u8),
                    (p % 250) as u8,
                    (h + 1) as u8,
                );
                let name = row.get("name_label").unwrap_or_default().to_string();
                let fault = opts.faults.get(&name).cloned();
                let master = row.reference == master_ref;
                if master {
                    data.master_addr = ip.to_string();
                }
                let addr = if fault == Some(Fault::Refused) {
                    SocketAddr::new(IpAddr::V4(ip), port)
                } else {
                    let l = TcpListener::bind(SocketAddr::new(IpAddr::V4(ip), port))?;
                    let a = l.local_addr()?;
                    port = a.port();
                    listeners.push((hosts.len(), l));
                    a
                };
                hosts.push(SimHost {
                    name,
                    pool: p,
                    pool_name: pool_name.clone(),
                    pool_uuid: pool_uuid.clone(),
                    addr,
                    master,
                    fault,
                });
            }
            pools.push(data);
        }
        // A refused host planned before the port was known gets the shared port now.
        for h in &mut hosts {
            if h.addr.port() == 0 {
                h.addr.set_port(port);
            }
        }
        let tls = match &opts.tls {
            Some((cert, key)) => Some(tls::ServerTls::new(cert, key, opts.tls_profile)?),
            None => None,
        };
        let shared = Arc::new(Shared {
            host_calls: (0..hosts.len()).map(|_| AtomicU64::new(0)).collect(),
            hosts,
            tls,
            opts,
            pools,
            stats: Arc::new(Stats::default()),
            shutdown: AtomicBool::new(false),
            session_counter: AtomicU64::new(0),
            invalid_fired: Mutex::new(HashMap::new()),
        });
        for (host, listener) in listeners {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name(format!("sim-accept-{host}"))
                .stack_size(64 * 1024)
                .spawn(move || accept_loop(shared, host, listener))?;
        }
        Ok(Simulator { shared })
    }

    pub fn hosts(&self) -> &[SimHost] {
        &self.shared.hosts
    }

    pub fn stats(&self) -> &Stats {
        &self.shared.stats
    }

    /// An inventory listing the hosts (`members`: every host, else masters only) with their URLs.
    pub fn inventory_csv(&self, password_env: &str, members: bool) -> String {
        let mut s = String::from("name,url,username,password_env,site,tags\n");
        let scheme = if self.shared.opts.tls.is_some() {
            "https"
        } else {
            "http"
        };
        for h in self.shared.hosts.iter().filter(|h| members || h.master) {
            s.push_str(&format!(
                "{},{scheme}://{}/,{},{},sim,{}\n",
                h.name,
                h.addr,
                self.shared.opts.username,
                password_env,
                if h.master { "master" } else { "member" }
            ));
        }
        s
    }

    /// Stop accepting and end hung connections.
    pub fn shutdown(&self) {
        if self.shared.shutdown.swap(true, Ordering::SeqCst) {
            return;
        }
        for h in &self.shared.hosts {
            if h.fault != Some(Fault::Refused) {
                let _ = TcpStream::connect_timeout(&h.addr, Duration::from_millis(200));
            }
        }
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn is_sim_read_method(method: &str) -> bool {
    matches!(
        method,
        "session.login_with_password" | "session.logout" | "event.from"
    ) || method
        .split_once('.')
        .is_some_and(|(c, m)| c != "session" && m.starts_with("get_"))
}

fn arg_str(params: &[Value], i: usize) -> &str {
    params.get(i).and_then(Value::as_str).unwrap_or_default()
}

fn fail<'a>(description: &[&str]) -> Body<'a> {
    failure_envelope(description).into()
}

fn ok<'a>(value_xml: &str) -> Body<'a> {
    success_envelope(value_xml).into()
}

fn dispatch<'a>(shared: &'a Shared, host: usize, method: &str, params: &[Value]) -> Body<'a> {
    let h = &shared.hosts[host];
    let stats = &shared.stats;
    if !is_sim_read_method(method) {
        stats.non_read_calls.fetch_add(1, Ordering::Relaxed);
        return fail(&["MESSAGE_METHOD_UNKNOWN", method]);
    }
    match method {
        "session.login_with_password" => {
            if h.fault == Some(Fault::AuthFail)
                || arg_str(params, 0) != shared.opts.username
                || arg_str(params, 1) != shared.opts.password
            {
                stats.failed_logins.fetch_add(1, Ordering::Relaxed);
                std::thread::sleep(shared.opts.auth_failure_delay);
                return fail(&[
                    "SESSION_AUTHENTICATION_FAILED",
                    arg_str(params, 0),
                    "Authentication failure",
                ]);
            }
            if !h.master {
                return fail(&["HOST_IS_SLAVE", &shared.pools[h.pool].master_addr]);
            }
            let n = shared.session_counter.fetch_add(1, Ordering::Relaxed);
            let session = format!("OpaqueRef:{:08x}-5e55-4000-8000-{:012x}", h.pool, n);
            stats.logins.fetch_add(1, Ordering::Relaxed);
            if let Ok(mut s) = stats.sessions.lock() {
                s.insert(session.clone(), h.pool);
            }
            let mut v = String::new();
            write_value(&mut v, &Value::String(session));
            ok(&v)
        }
        "session.logout" => {
            let removed = stats
                .sessions
                .lock()
                .map(|mut s| s.remove(arg_str(params, 0)).is_some())
                .unwrap_or(false);
            if removed {
                stats.logouts.fetch_add(1, Ordering::Relaxed);
                ok("<value></value>")
            } else {
                fail(&["SESSION_INVALID", arg_str(params, 0)])
            }
        }
        _ => {
            let session = arg_str(params, 0);
            let pool_of_session = stats
                .sessions
                .lock()
                .ok()
                .and_then(|s| s.get(session).copied());
            let Some(pool) = pool_of_session else {
                return fail(&["SESSION_INVALID", session]);
            };
            if h.fault == Some(Fault::SessionInvalidOnce) {
                let mut fired = shared
                    .invalid_fired
                    .lock()
                    .unwrap_or_else(|e| e.into_inner());
                if !fired.get(&host).copied().unwrap_or(false) {
                    fired.insert(host, true);
                    if let Ok(mut s) = stats.sessions.lock() {
                        s.remove(session);
                    }
                    return fail(&["SESSION_INVALID", session]);
                }
            }
            if let Some(Fault::Oversized(bytes)) = h.fault {
                let pad = "x".repeat(bytes as usize);
                return ok(&format!("<value>{pad}</value>"));
            }
            serve_read(shared, &shared.pools[pool], method, params)
        }
    }
}

/// A read call with a valid session: `event.from`, or `<class>.<call>` on the pool's records.
fn serve_read<'a>(shared: &Shared, data: &'a PoolData, method: &str, params: &[Value]) -> Body<'a> {
    if method == "event.from" {
        if !shared.opts.event_from {
            return fail(&["MESSAGE_METHOD_UNKNOWN", method]);
        }
        return serve_event_from(data, params);
    }
    let Some((class, call)) = method.split_once('.') else {
        return fail(&["MESSAGE_METHOD_UNKNOWN", method]);
    };
    let lower = class.to_ascii_lowercase();
    if !data.all_records.contains_key(&lower) {
        return fail(&["MESSAGE_METHOD_UNKNOWN", method]);
    }
    let of_class = || {
        data.records
            .iter()
            .filter(move |(_, r)| r.class.eq_ignore_ascii_case(class))
    };
    match call {
        "get_all_records" => Body::success([std::borrow::Cow::Borrowed(
            data.all_records[&lower].as_str(),
        )]),
        "get_all" => {
            let refs = Value::Array(of_class().map(|(r, _)| Value::String(r.clone())).collect());
            let mut v = String::new();
            write_value(&mut v, &refs);
            ok(&v)
        }
        "get_by_uuid" => {
            let uuid = arg_str(params, 1);
            match of_class().find(|(_, r)| r.fields.iter().any(|(k, v)| k == "uuid" && v == uuid)) {
                Some((r, _)) => {
                    let mut v = String::new();
                    write_value(&mut v, &Value::String(r.clone()));
                    ok(&v)
                }
                None => fail(&["UUID_INVALID", class, uuid]),
            }
        }
        _ => serve_record_call(data, class, call, method, params),
    }
}

/// `event.from` over the classes asked for: every record of each as one batch of events, with
/// the classes' record counts.
fn serve_event_from<'a>(data: &'a PoolData, params: &[Value]) -> Body<'a> {
    let classes: Vec<String> = params
        .get(1)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_ascii_lowercase)
                .collect()
        })
        .unwrap_or_default();
    let mut parts = vec![std::borrow::Cow::Borrowed(
        "<value><struct><member><name>events</name><value><array><data>",
    )];
    let mut counts = BTreeMap::new();
    for c in &classes {
        if let Some(ev) = data.events.get(c) {
            parts.push(std::borrow::Cow::Borrowed(ev.as_str()));
            counts.insert(
                c.clone(),
                Value::Int(data.counts.get(c).copied().unwrap_or(0) as i32),
            );
        }
    }
    let mut tail =
        String::from("</data></array></value></member><member><name>valid_ref_counts</name>");
    write_value(&mut tail, &Value::Struct(counts));
    tail.push_str("</member><member><name>token</name><value>00000000000000000001,00000000000000000001</value></member></struct></value>");
    parts.push(std::borrow::Cow::Owned(tail));
    Body::success(parts)
}

/// `<class>.get_record` or `<class>.get_<field>` of one record by reference.
fn serve_record_call<'a>(
    data: &'a PoolData,
    class: &str,
    call: &str,
    method: &str,
    params: &[Value],
) -> Body<'a> {
    let r = arg_str(params, 1);
    let Some(rec) = data
        .by_ref
        .get(r)
        .map(|i| &data.records[*i].1)
        .filter(|rec| rec.class.eq_ignore_ascii_case(class))
    else {
        return fail(&["HANDLE_INVALID", class, r]);
    };
    if call == "get_record" {
        return ok(&rec.xml);
    }
    let Some(field) = call.strip_prefix("get_") else {
        return fail(&["MESSAGE_METHOD_UNKNOWN", method]);
    };
    let text = rec
        .fields
        .iter()
        .find(|(k, _)| k == field)
        .map(|(_, v)| v.as_str())
        .unwrap_or_default();
    let mut v = String::new();
    write_value(&mut v, &typed(field, text));
    ok(&v)
}

/// The body the simulator answers to `event.from` over the audited classes for one dump (for
/// benchmarks and tests of the client's decoder without a network in between).
pub fn event_from_body(dump: &std::path::Path) -> io::Result<String> {
    let (data, ..) = load_pool(dump)?;
    let mut out = String::from("<value><struct><member><name>events</name><value><array><data>");
    for class in AUDIT_CLASSES {
        out.push_str(
            data.events
                .get(&class.to_ascii_lowercase())
                .map(String::as_str)
                .unwrap_or_default(),
        );
    }
    out.push_str("</data></array></value></member><member><name>token</name><value>1</value></member></struct></value>");
    Ok(success_envelope(&out))
}
