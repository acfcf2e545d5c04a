//! The HTTP/1.1 client under the XAPI calls: one keep-alive connection per conversation (an
//! entry's login, fetch and logout go over one socket), the request written in one system call, the
//! answer's body handed to the decoder as it arrives (Content-Length, chunked, or up to the close),
//! and one deadline per call. It does no more than XAPI's XML-RPC needs, and so does no per-read work
//! a general client does: no shared connection pool to lock, no socket options set per read, no
//! liveness probe per reuse (a kept connection the host has closed is reopened once instead).

use super::deadline::DeadlineStream;
use super::tls::{Connector, HandshakeError, TlsStream};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Why a call got no answer. Messages never hold the request (it may carry a password).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransportError {
    /// No connection (refused, unreachable, unresolvable): worth retrying.
    Connect(String),
    /// No TCP handshake within the connect timeout (a blackholed address, a host that is down
    /// behind a silent firewall): not retried, so such a host holds its slot for one connect
    /// timeout, not for the whole call's.
    ConnectTimeout(String),
    /// The TLS handshake or the certificate check failed: retrying cannot help.
    Tls(String),
    /// Nothing (or not all of it) within the call's time.
    Timeout,
    /// The connection broke, or what came back is not HTTP.
    Broken(String),
}

impl std::fmt::Display for TransportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TransportError::Connect(m)
            | TransportError::ConnectTimeout(m)
            | TransportError::Tls(m)
            | TransportError::Broken(m) => f.write_str(m),
            TransportError::Timeout => f.write_str("timed out"),
        }
    }
}

/// Where a URL points: host, port, whether it is https, and the path to post to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Without the brackets of an IPv6 literal.
    pub host: String,
    pub port: u16,
    pub https: bool,
    /// The `Host` header: the URL's authority as written.
    authority: String,
    path: String,
}

impl Target {
    pub fn parse(url: &str) -> Result<Target, String> {
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| format!("not a URL: {url:?}"))?;
        let https = match scheme.to_ascii_lowercase().as_str() {
            "https" => true,
            "http" => false,
            _ => return Err(format!("unsupported scheme {scheme:?} (http or https)")),
        };
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let authority = &rest[..end];
        let path = match &rest[end..] {
            p if p.starts_with('/') => p.split('#').next().unwrap_or("/").to_string(),
            "" => "/".to_string(),
            p => format!("/{}", p.split('#').next().unwrap_or_default()),
        };
        let (host, port) = crate::inventory::host_port(url)
            .filter(|(h, _)| !h.is_empty())
            .ok_or_else(|| format!("cannot read the host and port of {url:?}"))?;
        Ok(Target {
            host,
            port,
            https,
            authority: authority.to_string(),
            path,
        })
    }
}

enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<DeadlineStream>>),
}

impl Stream {
    fn tcp(&self) -> &TcpStream {
        match self {
            Stream::Plain(s) => s,
            Stream::Tls(s) => s.get_ref().tcp(),
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
        }
    }
}

/// The time before `deadline`, if any is left.
pub fn time_left(deadline: Instant) -> Option<Duration> {
    deadline
        .checked_duration_since(Instant::now())
        .filter(|d| !d.is_zero())
}

/// An open connection and the socket timeout it has now (set again only when a call's remaining
/// time falls well below it, so a fast call sets no socket option at all).
struct Open {
    io: BufReader<Stream>,
    timeout: Duration,
    /// Calls answered on it so far: a failure before the first byte of a reused connection's
    /// answer means the host closed it while idle.
    answered: u32,
}

impl Open {
    fn arm(&mut self, deadline: Instant) -> io::Result<()> {
        let left = time_left(deadline).ok_or(io::ErrorKind::TimedOut)?;
        // Under TLS the stream bounds each socket read and write itself.
        if let Stream::Tls(tls) = self.io.get_mut() {
            tls.get_mut().set_deadline(deadline);
            return Ok(());
        }
        if left < self.timeout.mul_f32(0.9) || left > self.timeout {
            let tcp = self.io.get_ref().tcp();
            tcp.set_read_timeout(Some(left))?;
            tcp.set_write_timeout(Some(left))?;
            self.timeout = left;
        }
        Ok(())
    }
}

impl Open {
    /// Read one line (with its `\n`, at most `max` bytes) into `out`, checking the deadline before
    /// each read so a host sending a byte at a time cannot stretch the call. Returns the bytes read.
    fn read_line(&mut self, deadline: Instant, max: usize, out: &mut Vec<u8>) -> io::Result<usize> {
        let start = out.len();
        loop {
            self.arm(deadline)?;
            let available = self.io.fill_buf()?;
            if available.is_empty() {
                return Ok(out.len() - start);
            }
            let room = max - (out.len() - start);
            let (used, done) = match memchr::memchr(b'\n', available) {
                Some(i) if i < room => (i + 1, true),
                _ => (available.len().min(room), false),
            };
            out.extend_from_slice(&available[..used]);
            self.io.consume(used);
            if done || out.len() - start >= max {
                return Ok(out.len() - start);
            }
        }
    }
}

/// One conversation's connection to one URL, kept open between calls.
pub struct HttpConnection {
    target: Target,
    tls: Option<Arc<Connector>>,
    user_agent: &'static str,
    /// The most one TCP connect may take (each address of the host), below the call's time.
    connect_timeout: Duration,
    open: Option<Open>,
}

/// How an answer's body ends.
enum Framing {
    Length(u64),
    /// Bytes left in the current chunk, and whether a chunk header has been read.
    Chunked {
        left: u64,
        started: bool,
    },
    UntilClose,
}

/// An answer: its status and a reader of its body. Read it to the end (or call
/// [`Response::finish`]) for the connection to be kept for the next call.
pub struct Response<'c> {
    pub status: u16,
    pub content_length: Option<u64>,
    framing: Framing,
    keep_alive: bool,
    /// The body has been read to its end.
    complete: bool,
    deadline: Instant,
    conn: &'c mut HttpConnection,
}

impl HttpConnection {
    /// `tls` is the connector for an https target (None for http).
    pub fn new(
        target: Target,
        tls: Option<Arc<Connector>>,
        user_agent: &'static str,
    ) -> HttpConnection {
        HttpConnection {
            target,
            tls,
            user_agent,
            connect_timeout: crate::config::DEFAULT_CONNECT_TIMEOUT,
            open: None,
        }
    }

    /// Bound each TCP connect by `timeout` (`--connect-timeout`) rather than the default.
    pub fn with_connect_timeout(mut self, timeout: Duration) -> HttpConnection {
        self.connect_timeout = timeout;
        self
    }

    /// Connect (and shake hands, for https) within what is left before `deadline`. Each TCP
    /// connect is also bounded by the connect timeout; the TLS handshake is not (it is part of the
    /// call, bounded by the call's time like the answer). A host the fast TLS path cannot agree
    /// with is connected to a second time, for OpenSSL's handshake.
    fn connect(&self, deadline: Instant) -> Result<Open, TransportError> {
        let t = &self.target;
        let (tcp, timeout) = self.tcp_connect(deadline)?;
        let stream = match (&self.tls, t.https) {
            (_, false) => Stream::Plain(tcp),
            (Some(tls), true) => {
                let host = if t.host.contains(':') {
                    format!("[{}]", t.host)
                } else {
                    t.host.clone()
                };
                let reconnect = || self.tcp_connect(deadline).map(|(tcp, _)| tcp);
                let (s, _) = tls
                    .handshake(&host, tcp, deadline, reconnect)
                    .map_err(|e| match e {
                        HandshakeError::Tls(message) => TransportError::Tls(message),
                        HandshakeError::Reconnect(TransportError::Timeout) => TransportError::Timeout,
                        // Not a connect failure to retry: the host took the first connection.
                        HandshakeError::Reconnect(e) => TransportError::Tls(format!(
                            "TLS handshake failed: rustls could not agree with the host, and the second connection, for OpenSSL's handshake, failed: {e}"
                        )),
                    })?;
                Stream::Tls(Box::new(s))
            }
            (None, true) => {
                return Err(TransportError::Tls(
                    "https URL without a TLS connector".into(),
                ))
            }
        };
        Ok(Open {
            io: BufReader::with_capacity(8 * 1024, stream),
            timeout,
            answered: 0,
        })
    }

    /// A TCP connection to the target (each address in turn, each connect bounded by the connect
    /// timeout), with its socket timeouts set to what is left before `deadline`, which it returns.
    fn tcp_connect(&self, deadline: Instant) -> Result<(TcpStream, Duration), TransportError> {
        let left = || time_left(deadline).ok_or(TransportError::Timeout);
        let t = &self.target;
        let addrs: Vec<_> = (t.host.as_str(), t.port)
            .to_socket_addrs()
            .map_err(|e| TransportError::Connect(format!("cannot resolve {}: {e}", t.host)))?
            .collect();
        let mut last = TransportError::Connect(format!("{} resolves to no address", t.host));
        let mut tcp = None;
        for addr in addrs {
            let call_left = left()?;
            let bound = call_left.min(self.connect_timeout);
            match TcpStream::connect_timeout(&addr, bound) {
                Ok(s) => {
                    tcp = Some(s);
                    break;
                }
                Err(e) if is_timeout(&e) && bound < call_left => {
                    last = TransportError::ConnectTimeout(format!(
                        "{addr}: no TCP connection within the connect timeout of {} (--connect-timeout)",
                        seconds_text(self.connect_timeout)
                    ))
                }
                Err(e) if is_timeout(&e) => last = TransportError::Timeout,
                Err(e) => last = TransportError::Connect(format!("{addr}: {e}")),
            }
        }
        let tcp = tcp.ok_or(last)?;
        let timeout = left()?;
        let setup = |e: io::Error| TransportError::Broken(format!("socket setup: {e}"));
        tcp.set_nodelay(true).map_err(setup)?;
        tcp.set_read_timeout(Some(timeout)).map_err(setup)?;
        tcp.set_write_timeout(Some(timeout)).map_err(setup)?;
        Ok((tcp, timeout))
    }

    /// POST `body` and read the answer's head, all within `timeout`. A kept connection the host
    /// closed while idle is reopened once.
    pub fn post(
        &mut self,
        content_type: &str,
        body: &[u8],
        timeout: Duration,
    ) -> Result<Response<'_>, TransportError> {
        let deadline = Instant::now() + timeout;
        let mut request = format!(
            "POST {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: {}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
            self.target.path,
            self.target.authority,
            self.user_agent,
            body.len()
        )
        .into_bytes();
        request.extend_from_slice(body);
        loop {
            let mut open = match self.open.take() {
                Some(open) => open,
                None => self.connect(deadline)?,
            };
            let reused = open.answered > 0;
            match exchange(&mut open, &request, deadline) {
                Ok(head) => {
                    open.answered += 1;
                    self.open = Some(open);
                    let mut response = Response {
                        status: head.status,
                        content_length: head.content_length,
                        framing: head.framing,
                        keep_alive: head.keep_alive,
                        complete: false,
                        deadline,
                        conn: self,
                    };
                    if matches!(response.framing, Framing::Length(0)) {
                        response.ended();
                    }
                    return Ok(response);
                }
                // Closed while idle: nothing of this call was answered, so sending it again is safe.
                // (Not a timeout: a host that is silent would only be waited for twice.)
                Err(Failed::BeforeAnswer(e)) if reused && closed(&e) => continue,
                Err(Failed::BeforeAnswer(e) | Failed::Answer(e)) => return Err(transport(e)),
                Err(Failed::Http(m)) => return Err(TransportError::Broken(m)),
            }
        }
    }
}

struct Head {
    status: u16,
    content_length: Option<u64>,
    framing: Framing,
    keep_alive: bool,
}

enum Failed {
    /// Sending, or waiting for the first byte of the answer.
    BeforeAnswer(io::Error),
    /// Reading the answer's head.
    Answer(io::Error),
    /// The answer is not HTTP.
    Http(String),
}

fn transport(e: io::Error) -> TransportError {
    if is_timeout(&e) {
        TransportError::Timeout
    } else {
        TransportError::Broken(e.to_string())
    }
}

/// The host closed (or reset) the connection.
fn closed(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::UnexpectedEof
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
    )
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
    )
}

/// `2 s`, `0.5 s`: a duration as the command line gives it.
fn seconds_text(d: Duration) -> String {
    format!("{} s", d.as_secs_f64())
}

/// The longest head line and the most header lines an answer may have.
const MAX_LINE: usize = 16 * 1024;
const MAX_HEADERS: usize = 200;

fn exchange(open: &mut Open, request: &[u8], deadline: Instant) -> Result<Head, Failed> {
    open.arm(deadline).map_err(Failed::BeforeAnswer)?;
    let stream = open.io.get_mut();
    stream
        .write_all(request)
        .and_then(|_| stream.flush())
        .map_err(Failed::BeforeAnswer)?;
    let mut line = Vec::with_capacity(128);
    loop {
        line.clear();
        let n = open
            .read_line(deadline, MAX_LINE, &mut line)
            .map_err(Failed::BeforeAnswer)?;
        if n == 0 {
            return Err(Failed::BeforeAnswer(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the host closed the connection without answering",
            )));
        }
        let (status, http10) = status_of(&line)?;
        let headers = read_headers(open, deadline, &mut line, http10)?;
        if (100..200).contains(&status) {
            continue; // 100 Continue and friends: the answer follows.
        }
        return Ok(head_of(status, headers));
    }
}

/// The status code of an HTTP/1.x status line, and whether the answer is HTTP/1.0.
fn status_of(line: &[u8]) -> Result<(u16, bool), Failed> {
    let status_line = String::from_utf8_lossy(line);
    let mut parts = status_line.split_whitespace();
    let version = parts.next().unwrap_or_default();
    let status = parts
        .next()
        .and_then(|s| s.parse::<u16>().ok())
        .filter(|_| version.starts_with("HTTP/1."))
        .ok_or_else(|| {
            Failed::Http(format!(
                "not an HTTP answer: {:?}",
                status_line.trim_end().chars().take(80).collect::<String>()
            ))
        })?;
    Ok((status, version == "HTTP/1.0"))
}

/// What the header lines of an answer say about its body and the connection.
struct HeaderFacts {
    content_length: Option<u64>,
    chunked: bool,
    keep_alive: bool,
}

/// The header lines up to the blank one (at most `MAX_HEADERS`), read into `HeaderFacts`.
fn read_headers(
    open: &mut Open,
    deadline: Instant,
    line: &mut Vec<u8>,
    http10: bool,
) -> Result<HeaderFacts, Failed> {
    let mut facts = HeaderFacts {
        content_length: None,
        chunked: false,
        keep_alive: !http10,
    };
    for count in 0.. {
        if count > MAX_HEADERS {
            return Err(Failed::Http("too many header lines".into()));
        }
        line.clear();
        let n = open
            .read_line(deadline, MAX_LINE, line)
            .map_err(Failed::Answer)?;
        if n == 0 || line.last() != Some(&b'\n') {
            return Err(Failed::Http("the answer's head is cut short".into()));
        }
        let text = String::from_utf8_lossy(line);
        let text = text.trim_end();
        if text.is_empty() {
            break;
        }
        let Some((name, value)) = text.split_once(':') else {
            return Err(Failed::Http(format!(
                "bad header line {:?}",
                text.chars().take(80).collect::<String>()
            )));
        };
        apply_header(&mut facts, name, value.trim())?;
    }
    Ok(facts)
}

/// One header's effect: Content-Length, Transfer-Encoding (chunked last) and Connection.
fn apply_header(facts: &mut HeaderFacts, name: &str, value: &str) -> Result<(), Failed> {
    if name.eq_ignore_ascii_case("content-length") {
        facts.content_length = Some(
            value
                .parse::<u64>()
                .map_err(|_| Failed::Http(format!("bad Content-Length {value:?}")))?,
        );
    } else if name.eq_ignore_ascii_case("transfer-encoding") {
        facts.chunked = value
            .rsplit(',')
            .next()
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("chunked"));
    } else if name.eq_ignore_ascii_case("connection") {
        for token in value.split(',').map(str::trim) {
            if token.eq_ignore_ascii_case("close") {
                facts.keep_alive = false;
            } else if token.eq_ignore_ascii_case("keep-alive") {
                facts.keep_alive = true;
            }
        }
    }
    Ok(())
}

/// The head of a final answer: how its body is framed, and whether the connection stays open
/// (a body that runs until the close ends it).
fn head_of(status: u16, facts: HeaderFacts) -> Head {
    let HeaderFacts {
        content_length,
        chunked,
        mut keep_alive,
    } = facts;
    let framing = if chunked {
        Framing::Chunked {
            left: 0,
            started: false,
        }
    } else if let Some(len) = content_length {
        Framing::Length(len)
    } else if status == 204 || status == 304 {
        Framing::Length(0)
    } else {
        keep_alive = false;
        Framing::UntilClose
    };
    Head {
        status,
        content_length: if chunked { None } else { content_length },
        framing,
        keep_alive,
    }
}

impl Response<'_> {
    fn open(&mut self) -> io::Result<&mut Open> {
        self.conn
            .open
            .as_mut()
            .ok_or_else(|| io::Error::other("the connection is closed"))
    }

    /// The body has been read to its end: keep the connection if both sides agree.
    fn ended(&mut self) {
        self.complete = true;
        if !self.keep_alive {
            self.conn.open = None;
        }
    }

    /// Read a chunk-size line (after the CRLF that ends the previous chunk, if any).
    fn next_chunk(&mut self, first: bool) -> io::Result<u64> {
        let deadline = self.deadline;
        let open = self.open()?;
        let mut line = Vec::with_capacity(32);
        if !first {
            open.read_line(deadline, 2, &mut line)?;
            if line != b"\r\n" && line != b"\n" {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "chunk not followed by CRLF",
                ));
            }
            line.clear();
        }
        open.read_line(deadline, 1024, &mut line)?;
        let text = String::from_utf8_lossy(&line);
        let size = text.trim().split(';').next().unwrap_or_default().trim();
        u64::from_str_radix(size, 16).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "bad chunk size {:?}",
                    size.chars().take(20).collect::<String>()
                ),
            )
        })
    }

    /// Skip the trailer after the last chunk (up to the empty line).
    fn skip_trailer(&mut self) -> io::Result<()> {
        let deadline = self.deadline;
        let open = self.open()?;
        for _ in 0..MAX_HEADERS {
            let mut line = Vec::new();
            let n = open.read_line(deadline, MAX_LINE, &mut line)?;
            if n == 0 || line == b"\r\n" || line == b"\n" {
                return Ok(());
            }
        }
        Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "endless trailer",
        ))
    }

    /// Read what is left of the body (up to `max` bytes) so the connection can serve the next
    /// call; a longer rest closes it instead.
    pub fn finish(mut self, max: u64) {
        let mut sink = [0u8; 4096];
        let mut seen = 0u64;
        while seen <= max {
            match self.read(&mut sink) {
                Ok(0) => return,
                Ok(n) => seen += n as u64,
                Err(_) => break,
            }
        }
        self.conn.open = None;
    }
}

impl Read for Response<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() || self.complete {
            return Ok(0);
        }
        let want = match self.framing {
            Framing::Length(left) => left,
            Framing::Chunked { left: 0, started } => {
                let size = self.next_chunk(!started)?;
                if size == 0 {
                    self.skip_trailer()?;
                    self.ended();
                    return Ok(0);
                }
                self.framing = Framing::Chunked {
                    left: size,
                    started: true,
                };
                size
            }
            Framing::Chunked { left, .. } => left,
            Framing::UntilClose => u64::MAX,
        };
        if want == 0 {
            self.ended();
            return Ok(0);
        }
        let deadline = self.deadline;
        let open = self.open()?;
        open.arm(deadline)?;
        let take = buf.len().min(usize::try_from(want).unwrap_or(usize::MAX));
        let n = open.io.read(&mut buf[..take])?;
        match &mut self.framing {
            Framing::UntilClose if n == 0 => {
                self.complete = true;
                self.conn.open = None;
            }
            Framing::UntilClose => {}
            _ if n == 0 => {
                self.conn.open = None;
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the host closed the connection before the end of the answer",
                ));
            }
            Framing::Length(left) => {
                *left -= n as u64;
                if *left == 0 {
                    self.ended();
                }
            }
            Framing::Chunked { left, .. } => *left -= n as u64,
        }
        Ok(n)
    }
}

impl Drop for Response<'_> {
    /// An answer not read to its end leaves the connection in the middle of it: close it.
    fn drop(&mut self) {
        if !self.complete {
            self.conn.open = None;
        }
    }
}
