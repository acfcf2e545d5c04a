//! The HTTP/1.1 transport under the XAPI client, against scripted servers on loopback: each case
//! gives what the server answers on each connection, and checks the bodies the client reads, the
//! errors it gives, and how many connections it needed (keep-alive kept where both sides allow it,
//! a connection the host closed while idle reopened once, an answer left half-read never reused),
//! over plain TCP and over TLS as the fast path (rustls) reads it from an OpenSSL server.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use xen_sr_audit::xapi::http::{HttpConnection, Target, TransportError};
use xen_sr_audit::xapi::tls::{Connector, TlsLog, TlsMode, TlsPolicy};

use crate::util;

/// What the scripted server does with one request.
#[derive(Clone)]
enum Step {
    /// Write these bytes as the answer.
    Answer(&'static [u8]),
    /// Write the bytes one at a time, `Duration` apart.
    Trickle(&'static [u8], Duration),
    /// Say nothing and keep the connection open until the client goes.
    Silent,
}

/// A server on 127.0.0.1: connection `i` serves `script[i]`'s steps, one per request, then closes.
struct Server {
    url: String,
    connections: Arc<AtomicUsize>,
    /// The pin of the HTTPS server's certificate (None for http).
    pin: Option<[u8; 32]>,
}

fn server(script: Vec<Vec<Step>>) -> Server {
    serve_script(script, false)
}

/// The same server over TLS, as an OpenSSL server speaks it (TLS 1.2 and 1.3): the client, pinned
/// to its certificate, reads it through its fast TLS path (rustls). A connection ends as the plain
/// one does, without a close_notify.
fn tls_server(script: Vec<Vec<Step>>) -> Server {
    serve_script(script, true)
}

fn serve_script(script: Vec<Vec<Step>>, tls: bool) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let scheme = if tls { "https" } else { "http" };
    let url = format!("{scheme}://{}/", listener.local_addr().unwrap());
    let connections = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&connections);
    let (acceptor, pin) = if tls {
        let (cert, key) = util::self_signed_pem(2048, false, &[]);
        let cert = openssl::x509::X509::from_pem(&cert).unwrap();
        let key = openssl::pkey::PKey::private_key_from_pem(&key).unwrap();
        let mut b = openssl::ssl::SslAcceptor::mozilla_intermediate_v5(
            openssl::ssl::SslMethod::tls_server(),
        )
        .unwrap();
        b.set_certificate(&cert).unwrap();
        b.set_private_key(&key).unwrap();
        let digest = cert.digest(openssl::hash::MessageDigest::sha256()).unwrap();
        (
            Some(Arc::new(b.build())),
            Some(digest.as_ref().try_into().unwrap()),
        )
    } else {
        (None, None)
    };
    std::thread::spawn(move || {
        for (stream, steps) in listener.incoming().zip(script) {
            let Ok(stream) = stream else { return };
            count.fetch_add(1, Ordering::SeqCst);
            let acceptor = acceptor.clone();
            std::thread::spawn(move || match acceptor {
                Some(acceptor) => {
                    if let Ok(tls) = acceptor.accept(stream) {
                        serve(tls, steps)
                    }
                }
                None => serve(stream, steps),
            });
        }
    });
    Server {
        url,
        connections,
        pin,
    }
}

fn serve<S: Read + Write>(stream: S, steps: Vec<Step>) {
    let mut reader = BufReader::new(stream);
    for step in steps {
        // Read one request: head, then Content-Length bytes.
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            if line.trim().is_empty() {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap();
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let out = reader.get_mut();
        match step {
            Step::Answer(bytes) => {
                if out.write_all(bytes).and_then(|_| out.flush()).is_err() {
                    return;
                }
            }
            Step::Trickle(bytes, gap) => {
                for b in bytes {
                    if out.write_all(&[*b]).and_then(|_| out.flush()).is_err() {
                        return;
                    }
                    std::thread::sleep(gap);
                }
            }
            Step::Silent => {
                let _ = reader.read(&mut [0u8; 1]);
                return;
            }
        }
    }
}

const OK_HELLO: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: 5\r\n\r\nhello";
const OK_WORLD: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nworld";
/// 40,000 bytes of body: more than two TLS records of 16 KiB, more than the client's 8 KiB buffer.
fn big_body() -> &'static str {
    static BODY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    BODY.get_or_init(|| (0..4000).map(|i| format!("{:09}\n", i)).collect())
}

/// The answer carrying [`big_body`].
fn big_answer() -> &'static [u8] {
    static ANSWER: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    ANSWER.get_or_init(|| {
        let body = big_body();
        format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    })
}

fn connection(url: &str) -> HttpConnection {
    HttpConnection::new(Target::parse(url).unwrap(), None, "xsa-test")
}

/// A connection to `s`, pinned to its certificate when it speaks TLS.
fn connection_to(s: &Server) -> HttpConnection {
    let tls = s.pin.map(|pin| {
        let policy = TlsPolicy {
            mode: TlsMode::Pinned(pin),
            legacy: false,
        };
        Arc::new(Connector::new(policy, None, TlsLog::default()).unwrap())
    });
    HttpConnection::new(Target::parse(&s.url).unwrap(), tls, "xsa-test")
}

/// Post once; the status and the whole body, or the error.
fn call(conn: &mut HttpConnection, timeout: Duration) -> Result<(u16, String), String> {
    let mut resp = conn
        .post("text/xml", b"<methodCall/>", timeout)
        .map_err(|e| format!("{e:?}"))?;
    let mut body = String::new();
    resp.read_to_string(&mut body)
        .map_err(|e| format!("read: {e}"))?;
    Ok((resp.status, body))
}

#[test]
fn bodies_framings_and_connection_reuse() {
    bodies_framings_and_connection_reuse_over(server);
}

/// The same over TLS (the fast path): its reads end as the socket's do, a connection the host
/// closed while idle is reopened once, an answer that runs to the close ends there.
#[test]
fn bodies_framings_and_connection_reuse_over_tls() {
    bodies_framings_and_connection_reuse_over(tls_server);
}

fn bodies_framings_and_connection_reuse_over(server: fn(Vec<Vec<Step>>) -> Server) {
    struct Case {
        name: &'static str,
        script: Vec<Vec<Step>>,
        want: Vec<&'static str>,
        connections: usize,
    }
    let cases = [
        Case {
            name: "Content-Length, kept alive",
            script: vec![vec![Step::Answer(OK_HELLO), Step::Answer(OK_WORLD)]],
            want: vec!["hello", "world"],
            connections: 1,
        },
        Case {
            name: "chunked with an extension and a trailer, kept alive",
            script: vec![vec![
                Step::Answer(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nhel\r\n2\r\nlo\r\n0\r\nX-Trailer: 1\r\n\r\n"),
                Step::Answer(OK_WORLD),
            ]],
            want: vec!["hello", "world"],
            connections: 1,
        },
        Case {
            name: "no length: the body ends at the close, the next call reconnects",
            script: vec![
                vec![Step::Answer(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nhello")],
                vec![Step::Answer(OK_WORLD)],
            ],
            want: vec!["hello", "world"],
            connections: 2,
        },
        Case {
            name: "HTTP/1.0 is not kept",
            script: vec![
                vec![Step::Answer(b"HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhello")],
                vec![Step::Answer(OK_WORLD)],
            ],
            want: vec!["hello", "world"],
            connections: 2,
        },
        Case {
            name: "100 Continue before the answer",
            script: vec![vec![Step::Answer(
                b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
            )]],
            want: vec!["hello"],
            connections: 1,
        },
        Case {
            name: "closed while idle: reopened once, the call succeeds",
            script: vec![vec![Step::Answer(OK_HELLO)], vec![Step::Answer(OK_WORLD)]],
            want: vec!["hello", "world"],
            connections: 2,
        },
        Case {
            name: "a body of several TLS records, kept alive",
            script: vec![vec![Step::Answer(big_answer()), Step::Answer(OK_WORLD)]],
            want: vec![big_body(), "world"],
            connections: 1,
        },
        Case {
            name: "empty body with Content-Length 0",
            script: vec![vec![
                Step::Answer(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
                Step::Answer(OK_WORLD),
            ]],
            want: vec!["", "world"],
            connections: 1,
        },
    ];
    for case in cases {
        let s = server(case.script);
        let mut conn = connection_to(&s);
        for want in &case.want {
            let got = call(&mut conn, Duration::from_secs(5));
            assert_eq!(got, Ok((200, want.to_string())), "{}", case.name);
        }
        assert_eq!(
            s.connections.load(Ordering::SeqCst),
            case.connections,
            "{}: connections",
            case.name
        );
    }
}

#[test]
fn broken_answers_are_errors_not_bodies() {
    let cases: [(&str, &'static [u8], &str); 4] = [
        (
            "cut short",
            b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this",
            "read: the host closed the connection before the end of the answer",
        ),
        ("not HTTP", b"SSH-2.0-OpenSSH_9.6\r\n", "not an HTTP answer"),
        (
            "bad chunk size",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n",
            "read: bad chunk size",
        ),
        (
            "head cut short",
            b"HTTP/1.1 200 OK\r\nContent-Len",
            "head is cut short",
        ),
    ];
    for (name, answer, want) in cases {
        let s = server(vec![vec![Step::Answer(answer)]]);
        let mut conn = connection(&s.url);
        let got = call(&mut conn, Duration::from_secs(5));
        let err = got.expect_err(name);
        assert!(err.contains(want), "{name}: {err}");
    }
}

#[test]
fn a_half_read_answer_is_never_reused() {
    for server in [server, tls_server] {
        a_half_read_answer_is_never_reused_over(server);
    }
}

fn a_half_read_answer_is_never_reused_over(server: fn(Vec<Vec<Step>>) -> Server) {
    let s = server(vec![
        vec![Step::Answer(OK_HELLO), Step::Answer(OK_WORLD)],
        vec![Step::Answer(OK_WORLD)],
    ]);
    let mut conn = connection_to(&s);
    {
        let mut resp = conn.post("text/xml", b"x", Duration::from_secs(5)).unwrap();
        let mut two = [0u8; 2];
        resp.read_exact(&mut two).unwrap();
    }
    // The rest of "hello" is still in the first connection: the next call must not read it.
    assert_eq!(
        call(&mut conn, Duration::from_secs(5)),
        Ok((200, "world".into()))
    );
    assert_eq!(s.connections.load(Ordering::SeqCst), 2);
}

#[test]
fn the_call_timeout_bounds_the_whole_answer_not_each_read() {
    // A silent host, and one that sends a byte every 100 ms: both fail at the call's timeout.
    for (name, step) in [
        ("silent", Step::Silent),
        (
            "trickling",
            Step::Trickle(OK_HELLO, Duration::from_millis(100)),
        ),
    ] {
        let s = server(vec![vec![step]]);
        let mut conn = connection(&s.url);
        // Structural, not a wall-clock bound: the trickled answer is whole after about 7 s, every
        // read well within 400 ms, so only a bound on the whole answer makes this call an error.
        let got = call(&mut conn, Duration::from_millis(400));
        let err = got.expect_err(name);
        assert!(
            err == "Timeout"
                || err.starts_with("read: ") && err.contains("timed out")
                || err.contains("Resource temporarily unavailable")
                || err.contains("would block"),
            "{name}: {err}"
        );
    }
}

#[test]
fn a_silent_kept_connection_times_out_within_the_call_and_opens_no_other() {
    for server in [server, tls_server] {
        a_silent_kept_connection_times_out_over(server);
    }
}

fn a_silent_kept_connection_times_out_over(server: fn(Vec<Vec<Step>>) -> Server) {
    let s = server(vec![
        vec![Step::Answer(OK_HELLO), Step::Silent],
        vec![Step::Answer(OK_WORLD)],
    ]);
    let mut conn = connection_to(&s);
    assert_eq!(
        call(&mut conn, Duration::from_secs(5)),
        Ok((200, "hello".into()))
    );
    assert_eq!(
        call(&mut conn, Duration::from_millis(300)),
        Err("Timeout".into())
    );
    assert_eq!(
        s.connections.load(Ordering::SeqCst),
        1,
        "a timeout is not a closed connection: no second connection"
    );
}

#[test]
fn refused_and_unparsable_targets() {
    // A port no test can be listening on (not one released a moment ago, which another test's
    // listener may take in between).
    let refusing = util::refusing_address();
    let mut conn = connection(&format!("http://{refusing}/"));
    match conn.post("text/xml", b"x", Duration::from_secs(2)) {
        Err(TransportError::Connect(m)) => assert!(m.contains("127.0.0.1"), "{m}"),
        Err(other) => panic!("{other:?}"),
        Ok(_) => panic!("a closed port answered"),
    }
    for bad in ["ftp://h/", "no-scheme", "http:///path", "http://[::1/"] {
        assert!(Target::parse(bad).is_err(), "{bad}");
    }
    let t = Target::parse("https://[fe80::1]:8443").unwrap();
    assert_eq!((t.host.as_str(), t.port, t.https), ("fe80::1", 8443, true));
    let t = Target::parse("http://xs01.example/").unwrap();
    assert_eq!(
        (t.host.as_str(), t.port, t.https),
        ("xs01.example", 80, false)
    );
}

/// A stream that writes a byte at a time, `gap` apart, once `gap` is set (after the handshake).
struct ByteAtATime {
    tcp: std::net::TcpStream,
    gap: Option<Duration>,
}

impl Read for ByteAtATime {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.tcp.read(buf)
    }
}

impl Write for ByteAtATime {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self.gap {
            Some(gap) if !buf.is_empty() => {
                std::thread::sleep(gap);
                self.tcp.write(&buf[..1])
            }
            _ => self.tcp.write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.tcp.flush()
    }
}

/// Regression (second review of the rustls path): under TLS the deadline was checked once per
/// record, and each socket read restarted the socket's timeout, so a call given 400 ms waited for
/// a whole TLS record that arrives a byte every 100 ms (about 9 s). Now each socket read under TLS
/// gets the time left: the call ends by its time.
#[test]
fn regression_the_call_timeout_bounds_a_tls_record_sent_a_byte_at_a_time() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("https://{}/", listener.local_addr().unwrap());
    let (cert, key) = util::self_signed_pem(2048, false, &[]);
    let cert = openssl::x509::X509::from_pem(&cert).unwrap();
    let key = openssl::pkey::PKey::private_key_from_pem(&key).unwrap();
    let mut b =
        openssl::ssl::SslAcceptor::mozilla_intermediate_v5(openssl::ssl::SslMethod::tls_server())
            .unwrap();
    b.set_certificate(&cert).unwrap();
    b.set_private_key(&key).unwrap();
    let acceptor = b.build();
    let pin: [u8; 32] = cert
        .digest(openssl::hash::MessageDigest::sha256())
        .unwrap()
        .as_ref()
        .try_into()
        .unwrap();
    std::thread::spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        let Ok(tls) = acceptor.accept(ByteAtATime { tcp, gap: None }) else {
            return;
        };
        let mut reader = BufReader::new(tls);
        let mut line = String::new();
        while reader.read_line(&mut line).unwrap_or(0) > 2 {
            line.clear();
        }
        let _ = reader.read(&mut [0u8; 13]); // the body
        let tls = reader.get_mut();
        tls.get_mut().gap = Some(Duration::from_millis(100));
        let _ = tls.write_all(OK_HELLO).and_then(|_| tls.flush());
    });
    let s = Server {
        url,
        connections: Arc::new(AtomicUsize::new(0)),
        pin: Some(pin),
    };
    let mut conn = connection_to(&s);
    let started = std::time::Instant::now();
    let got = call(&mut conn, Duration::from_millis(400));
    // A bound on behaviour, not speed: without the per-read deadline the call ends only after the
    // whole record (about 9 s), when the layer above next looks at the clock.
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "ended after {:?}",
        started.elapsed()
    );
    let err = got.expect_err("a call of 400 ms cannot read a 10 s answer");
    assert!(
        err == "Timeout" || err.contains("timed out") || err.contains("TimedOut"),
        "{err}"
    );
}
