//! The HTTP/1.1 transport under the XAPI client, against scripted servers on loopback: each case
//! gives what the server answers on each connection, and checks the bodies the client reads, the
//! errors it gives, and how many connections it needed (keep-alive kept where both sides allow it,
//! a connection the host closed while idle reopened once, an answer left half-read never reused).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use xen_sr_audit::xapi::http::{HttpConnection, Target, TransportError};

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
}

fn server(script: Vec<Vec<Step>>) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let connections = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&connections);
    std::thread::spawn(move || {
        for (stream, steps) in listener.incoming().zip(script) {
            let Ok(stream) = stream else { return };
            count.fetch_add(1, Ordering::SeqCst);
            std::thread::spawn(move || serve(stream, steps));
        }
    });
    Server { url, connections }
}

fn serve(stream: TcpStream, steps: Vec<Step>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut out = stream;
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
        match step {
            Step::Answer(bytes) => {
                if out.write_all(bytes).is_err() {
                    return;
                }
            }
            Step::Trickle(bytes, gap) => {
                for b in bytes {
                    if out.write_all(&[*b]).is_err() {
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

fn connection(url: &str) -> HttpConnection {
    HttpConnection::new(Target::parse(url).unwrap(), None, "xsa-test")
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
        let mut conn = connection(&s.url);
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
    let s = server(vec![
        vec![Step::Answer(OK_HELLO), Step::Answer(OK_WORLD)],
        vec![Step::Answer(OK_WORLD)],
    ]);
    let mut conn = connection(&s.url);
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
    let s = server(vec![
        vec![Step::Answer(OK_HELLO), Step::Silent],
        vec![Step::Answer(OK_WORLD)],
    ]);
    let mut conn = connection(&s.url);
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
