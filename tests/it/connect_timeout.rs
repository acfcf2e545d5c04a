//! `--connect-timeout`: a host that never answers a TCP handshake (a blackholed address) fails its
//! entry after the connect timeout, not after the whole `--timeout`, and hosts.csv's error names
//! the connect timeout. The blackhole is a loopback listener that never accepts and whose accept
//! queue is full, so the kernel drops further SYNs as a blackholed address does.

#![cfg(target_os = "linux")]

use crate::util;
use xen_sr_audit::policy::exit;

use crate::util::{read_csv, TestDir};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};
use xen_sr_audit::xapi::http::{HttpConnection, Target, TransportError};

extern "C" {
    /// libc's `listen(2)`: called again on a listening socket, it changes the backlog.
    fn listen(fd: i32, backlog: i32) -> i32;
}

/// A listener that never accepts, with its accept queue full: a connect to it gets no answer.
/// The connections that filled the queue are kept alive with it.
struct Blackhole {
    addr: SocketAddr,
    _listener: TcpListener,
    _queued: Vec<TcpStream>,
}

fn blackhole() -> Blackhole {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    // SAFETY: a valid, listening socket descriptor owned by `listener`.
    assert_eq!(unsafe { listen(listener.as_raw_fd(), 0) }, 0, "listen");
    let addr = listener.local_addr().unwrap();
    let mut queued = Vec::new();
    for _ in 0..64 {
        match TcpStream::connect_timeout(&addr, Duration::from_millis(300)) {
            Ok(s) => queued.push(s),
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                return Blackhole {
                    addr,
                    _listener: listener,
                    _queued: queued,
                }
            }
            Err(e) => panic!("filling the accept queue: {e}"),
        }
    }
    panic!("the accept queue of a backlog-0 listener never filled");
}

#[test]
fn a_host_that_never_answers_fails_on_the_connect_timeout_not_the_call_timeout() {
    let hole = blackhole();
    let target = Target::parse(&format!("http://{}/", hole.addr)).unwrap();
    let mut conn = HttpConnection::new(target, None, "xsa-test")
        .with_connect_timeout(Duration::from_millis(500));
    let started = Instant::now();
    let result = conn.post("text/xml", b"<methodCall/>", Duration::from_secs(60));
    let took = started.elapsed();
    match result {
        Err(TransportError::ConnectTimeout(m)) => {
            assert!(m.contains("connect timeout"), "{m}");
            assert!(m.contains(&hole.addr.to_string()), "{m}");
        }
        Err(other) => panic!("want the connect timeout, got {other:?}"),
        Ok(r) => panic!("a blackholed host answered {}", r.status),
    }
    assert!(took < Duration::from_secs(30), "took {took:?}");
}

#[test]
fn hosts_csv_names_the_connect_timeout_from_the_flag_and_the_config_file() {
    let hole = blackhole();
    let dir = TestDir::new();
    let inv = dir.write(
        "blackholed.csv",
        format!(
            "name,url,password_env\nblackholed,http://{}/,XSA_CT_PW\n",
            hole.addr
        ),
    );
    dir.write("job.toml", "connect_timeout = 1\n");
    let inv = inv.to_str().unwrap();
    let flag = ["--connect-timeout", "1"];
    let config = ["--config", "job.toml"];
    for (out, how) in [("out-flag", &flag), ("out-config", &config)] {
        let started = Instant::now();
        let mut args = vec!["scan", "-i", inv, "-o", out, "-q", "--timeout", "120"];
        args.extend_from_slice(how);
        let run = util::xsa_env(dir.path(), &args, &[("XSA_CT_PW", "pw")]);
        let took = started.elapsed();
        run.expect_code(exit::ENTRY_FAILED);
        let hosts = read_csv(&dir.join(out).join("hosts.csv"));
        assert_eq!(hosts.len(), 1);
        assert_eq!(hosts[0]["status"], "failed", "{out}");
        let error = &hosts[0]["error"];
        assert!(
            error.contains("connect timeout of 1 s") && error.contains("--connect-timeout"),
            "{out}: {error}"
        );
        // Far below --timeout: the connect timeout, not retried, plus the process's own time.
        assert!(took < Duration::from_secs(60), "{out}: took {took:?}");
    }
}
