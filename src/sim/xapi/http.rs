//! The simulator's HTTP side: accepts connections on each simulated host's address, reads
//! XML-RPC requests (keep-alive, Content-Length), hands them to the dispatcher, and writes answers
//! that are pieces of precomputed text without copying them into one buffer.

use super::{dispatch, fail, Fault, Shared};
use crate::xapi::wire;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

pub(super) fn accept_loop(shared: Arc<Shared>, host: usize, listener: TcpListener) {
    for stream in listener.incoming() {
        if shared.shutdown.load(Ordering::Relaxed) {
            break;
        }
        let Ok(stream) = stream else { continue };
        shared.stats.connections.fetch_add(1, Ordering::Relaxed);
        let _ = stream.set_nodelay(true);
        let shared = Arc::clone(&shared);
        let _ = std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(move || {
                let _ = match &shared.tls {
                    Some(tls) => tls.accept(stream, |tls| serve_connection(&shared, host, tls)),
                    None => serve_connection(&shared, host, stream),
                };
            });
    }
}

struct HttpRequest {
    method: String,
    path: String,
    body: Vec<u8>,
    close: bool,
}

fn read_request<R: BufRead>(reader: &mut R) -> io::Result<Option<HttpRequest>> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let path = parts.next().unwrap_or_default().to_string();
    let http10 = parts.next().is_some_and(|v| v == "HTTP/1.0");
    let mut length = 0usize;
    let mut close = http10;
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(None);
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            let (k, v) = (k.trim().to_ascii_lowercase(), v.trim());
            if k == "content-length" {
                length = v
                    .parse()
                    .map_err(|_| io::Error::other("bad Content-Length"))?;
            } else if k == "connection" {
                close = v.eq_ignore_ascii_case("close");
            }
        }
    }
    if length > 64 * 1024 * 1024 {
        return Err(io::Error::other("request too large"));
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    Ok(Some(HttpRequest {
        method,
        path,
        body,
        close,
    }))
}

fn write_response<W: Write>(
    stream: &mut W,
    status: &str,
    content_type: &str,
    body: &[u8],
    declared_len: usize,
) -> io::Result<()> {
    write_head(stream, status, content_type, declared_len)?;
    stream.write_all(body)?;
    stream.flush()
}

fn write_head<W: Write>(
    stream: &mut W,
    status: &str,
    content_type: &str,
    len: usize,
) -> io::Result<()> {
    let head = format!("HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len}\r\nServer: xapi-sim\r\n\r\n");
    stream.write_all(head.as_bytes())
}

/// Head and body in as few system calls as the socket takes (one `writev` for a whole answer):
/// a write per piece would put each piece in its own segment and wake the client once per piece.
fn write_body<W: Write>(stream: &mut W, body: &Body) -> io::Result<()> {
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nServer: xapi-sim\r\n\r\n",
        body.len()
    );
    let mut pieces: Vec<&[u8]> = Vec::with_capacity(body.parts.len() + 1);
    pieces.push(head.as_bytes());
    pieces.extend(body.parts.iter().map(|p| p.as_bytes()));
    let mut first = 0;
    let mut skip = 0;
    while first < pieces.len() {
        let mut slices: Vec<io::IoSlice> = Vec::with_capacity(pieces.len() - first);
        slices.push(io::IoSlice::new(&pieces[first][skip..]));
        slices.extend(pieces[first + 1..].iter().map(|p| io::IoSlice::new(p)));
        let mut written = match stream.write_vectored(&slices) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        while first < pieces.len() && written >= pieces[first].len() - skip {
            written -= pieces[first].len() - skip;
            first += 1;
            skip = 0;
        }
        skip += written;
    }
    stream.flush()
}

fn serve_connection<S: Read + Write>(shared: &Shared, host: usize, stream: S) -> io::Result<()> {
    let mut reader = BufReader::with_capacity(64 * 1024, stream);
    let fault = shared.hosts[host].fault.clone();
    while let Some(req) = read_request(&mut reader)? {
        let writer = reader.get_mut();
        if shared.shutdown.load(Ordering::Relaxed) {
            break;
        }
        if req.method == "GET" && req.path.starts_with("/sim/stats") {
            let s = shared.stats.summary();
            write_response(writer, "200 OK", "text/plain", s.as_bytes(), s.len())?;
            continue;
        }
        shared.stats.calls.fetch_add(1, Ordering::Relaxed);
        let call_no = shared.host_calls[host].fetch_add(1, Ordering::Relaxed) + 1;
        let decoded = (req.method == "POST").then(|| wire::decode_call(&req.body));
        let method = match &decoded {
            Some(Ok((m, _))) => m.as_str(),
            _ => "",
        };
        match fault.as_ref().and_then(|f| f.firing(method, call_no)) {
            Some(Fault::Hang) => {
                while !shared.shutdown.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(20));
                }
                return Ok(()); // dropping the stream closes it
            }
            Some(Fault::Reset) => return Ok(()),
            Some(Fault::Http500) => {
                let body = b"<html><body><h1>HTTP 500 internal server error</h1>An unexpected error occurred; please wait a while and try again.</body></html>";
                write_response(writer, "500 Internal Error", "text/html", body, body.len())?;
                continue;
            }
            Some(Fault::Malformed) => {
                let body =
                    b"<methodResponse><params><param><value><struct><member><name>Status</nam";
                write_response(writer, "200 OK", "text/xml", body, body.len())?;
                continue;
            }
            Some(Fault::Slow(d)) => std::thread::sleep(*d),
            _ => {}
        }
        if !shared.opts.latency.is_zero() {
            std::thread::sleep(shared.opts.latency);
        }
        let mut session_call = false;
        let body = match decoded {
            None => fail(&["MESSAGE_METHOD_UNKNOWN", &req.method]),
            Some(Ok((method, params))) => {
                session_call = method.starts_with("session.");
                dispatch(shared, host, &method, &params)
            }
            Some(Err(_)) => {
                let body =
                    b"<html><body>HTTP 500 internal server error: malformed request</body></html>";
                write_response(writer, "500 Internal Error", "text/html", body, body.len())?;
                continue;
            }
        };
        shared
            .stats
            .bytes_out
            .fetch_add(body.len() as u64, Ordering::Relaxed);
        // Truncate data answers only: a client that logged in can still log out.
        if fault == Some(Fault::Truncated) && !session_call {
            let whole = body.joined();
            write_response(
                writer,
                "200 OK",
                "text/xml",
                &whole.as_bytes()[..whole.len() / 2],
                whole.len(),
            )?;
            return Ok(());
        }
        write_body(writer, &body)?;
        if req.close {
            break;
        }
    }
    Ok(())
}

/// An answer as pieces: the large precomputed record lists are written from where they live, never
/// copied into one string, so serving a tens-of-MB answer costs the simulator almost nothing.
pub(super) struct Body<'a> {
    parts: Vec<std::borrow::Cow<'a, str>>,
}

impl<'a> Body<'a> {
    pub(super) fn success(parts: impl IntoIterator<Item = std::borrow::Cow<'a, str>>) -> Body<'a> {
        let mut all = vec![std::borrow::Cow::Borrowed(wire::SUCCESS_PREFIX)];
        all.extend(parts);
        all.push(std::borrow::Cow::Borrowed(wire::SUCCESS_SUFFIX));
        Body { parts: all }
    }
    fn len(&self) -> usize {
        self.parts.iter().map(|p| p.len()).sum()
    }
    pub(super) fn joined(&self) -> String {
        self.parts.concat()
    }
}

impl From<String> for Body<'_> {
    fn from(s: String) -> Self {
        Body {
            parts: vec![std::borrow::Cow::Owned(s)],
        }
    }
}
