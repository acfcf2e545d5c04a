//! The client's TLS setup against servers configured as XAPI's stunnel is, release by release
//! (TLS 1.2 only; since 2018 ECDHE-RSA with AES-GCM on secp384r1 alone, before that RSA key
//! exchange), and against TLS 1.3 servers; and one shared context per trust setting with each pin
//! still checked per connection (two pinned hosts in one scan, one pin wrong: only that one fails).

use crate::util;
use xen_sr_audit::policy::exit;

use crate::util::{read_csv, xsa_env, TestDir};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::Arc;
use xen_sr_audit::sim::xapi::{SimOptions, Simulator};
use xen_sr_audit::xapi::tls::{Connector, HandshakeError, TlsLog, TlsMode, TlsPolicy};

/// How a test server speaks TLS.
struct ServerTls {
    what: &'static str,
    max: openssl::ssl::SslVersion,
    /// TLS 1.2 cipher list.
    ciphers: &'static str,
    groups: &'static str,
}

/// Serve one handshake with `server`'s settings on loopback; the client's view of it.
fn handshake_with(server: &ServerTls) -> Result<(String, String, &'static str), String> {
    use openssl::ssl::{SslAcceptor, SslMethod, SslVersion};
    let (cert, key) = util::self_signed_pem(2048, false, &[]);
    let cert = openssl::x509::X509::from_pem(&cert).unwrap();
    let key = openssl::pkey::PKey::private_key_from_pem(&key).unwrap();
    let mut b = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls_server()).unwrap();
    b.set_min_proto_version(Some(SslVersion::TLS1_2)).unwrap();
    b.set_max_proto_version(Some(server.max)).unwrap();
    b.set_cipher_list(server.ciphers).unwrap();
    b.set_groups_list(server.groups).unwrap();
    b.set_options(openssl::ssl::SslOptions::CIPHER_SERVER_PREFERENCE);
    b.set_certificate(&cert).unwrap();
    b.set_private_key(&key).unwrap();
    let acceptor = Arc::new(b.build());
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    // Two connections at most: the fast path's, and OpenSSL's when the fast path cannot agree.
    // The client's side is what is checked; the server's outcome only ends the handshake.
    let serving = std::thread::spawn(move || {
        for tcp in listener.incoming().take(2).flatten() {
            let _ = acceptor.accept(tcp);
        }
    });
    let digest = cert.digest(openssl::hash::MessageDigest::sha256()).unwrap();
    let pin: [u8; 32] = digest.as_ref().try_into().unwrap();
    let policy = TlsPolicy {
        mode: TlsMode::Pinned(pin),
        legacy: false,
    };
    let connector = Connector::new(policy, None, TlsLog::default()).unwrap();
    let tcp = TcpStream::connect(addr).unwrap();
    let reconnect = || TcpStream::connect(addr);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let outcome = match connector.handshake("127.0.0.1", tcp, deadline, reconnect) {
        Ok((stream, seen)) => Ok((
            seen.version,
            stream.cipher().unwrap_or_default(),
            stream.stack(),
        )),
        Err(HandshakeError::Tls(message)) => Err(message),
        Err(HandshakeError::Reconnect(e)) => panic!("{}: reconnect: {e}", server.what),
    };
    // A second connection ends the server's loop when the client needed only one.
    drop(TcpStream::connect(addr));
    drop(serving.join());
    outcome
}

#[test]
fn xapi_stunnel_settings_of_each_release_and_tls_1_3_servers_negotiate() {
    use openssl::ssl::SslVersion;
    let xapi_2018 = ServerTls {
        what: "XAPI since 2018 (xapi 1.116): TLS 1.2, ECDHE-RSA AES-GCM, curve secp384r1",
        max: SslVersion::TLS1_2,
        ciphers: "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256",
        groups: "secp384r1",
    };
    let xapi_2015 = ServerTls {
        what: "XAPI 2015-2018: TLS 1.2, RSA key exchange",
        max: SslVersion::TLS1_2,
        ciphers: "AES128-SHA256",
        groups: "secp384r1",
    };
    let tls13_x25519 = ServerTls {
        what: "a TLS 1.3 endpoint (a proxy in front of XAPI) on X25519",
        max: SslVersion::TLS1_3,
        ciphers: "ECDHE-RSA-AES128-GCM-SHA256",
        groups: "X25519",
    };
    let tls13_p384 = ServerTls {
        what: "a TLS 1.3 endpoint on secp384r1 alone (a second round trip, still agreed)",
        max: SslVersion::TLS1_3,
        ciphers: "ECDHE-RSA-AES128-GCM-SHA256",
        groups: "secp384r1",
    };
    let pq_only = ServerTls {
        what: "a TLS 1.3 endpoint that takes only the ML-KEM hybrid, which is not offered",
        max: SslVersion::TLS1_3,
        ciphers: "ECDHE-RSA-AES128-GCM-SHA256",
        groups: "X25519MLKEM768",
    };
    for (server, want) in [
        // (version, cipher as OpenSSL names it, the stack that shook hands): rustls where it can
        // agree, OpenSSL on a second connection where it cannot (RSA key exchange).
        (
            &xapi_2018,
            Ok(("TLSv1.2", "ECDHE-RSA-AES256-GCM-SHA384", "rustls")),
        ),
        (&xapi_2015, Ok(("TLSv1.2", "AES128-SHA256", "openssl"))),
        (
            &tls13_x25519,
            Ok(("TLSv1.3", "TLS_AES_128_GCM_SHA256", "rustls")),
        ),
        (
            &tls13_p384,
            Ok(("TLSv1.3", "TLS_AES_128_GCM_SHA256", "rustls")),
        ),
        (&pq_only, Err("TLS handshake failed")),
    ] {
        let got = handshake_with(server);
        match (want, &got) {
            (Ok(want), Ok((v, c, stack))) => {
                assert_eq!(want, (v.as_str(), c.as_str(), *stack), "{}", server.what)
            }
            (Err(text), Err(message)) => {
                assert!(message.contains(text), "{}: {message}", server.what)
            }
            _ => panic!("{}: want {want:?}, got {got:?}", server.what),
        }
    }
}

const PW: &str = "tls-contexts-pw";
const PW_ENV: &str = "XSA_TLS_CONTEXTS_PW";

fn https_sim(dump: &str, base_octet: u8) -> (Simulator, Vec<u8>) {
    let (cert, key) = util::self_signed_pem(2048, false, &[]);
    let sim = Simulator::start(SimOptions {
        dumps: vec![util::root().join("fixtures/demo/dumps").join(dump)],
        password: PW.into(),
        base_octet,
        tls: Some((cert.clone(), key)),
        ..SimOptions::default()
    })
    .expect("simulator starts");
    (sim, cert)
}

#[test]
fn pinned_hosts_share_a_context_but_each_pin_is_checked_on_its_own_connection() {
    let dir = TestDir::new();
    let (good, good_cert) = https_sim("edge-01.state.db", 157);
    let (other, other_cert) = https_sim("pool-east.xml", 158);
    let url = |sim: &Simulator| -> PathBuf {
        let h = sim.hosts().iter().find(|h| h.master).unwrap();
        PathBuf::from(format!("https://{}/", h.addr))
    };
    // Row "right" pins its host's certificate; row "wrong" pins the first host's on the second.
    let good_fp = util::fingerprint_of(&good_cert);
    let inv = dir.write(
        "two.csv",
        format!(
            "name,url,password_env,tls_fingerprint\nright,{},{PW_ENV},{good_fp}\nwrong,{},{PW_ENV},{good_fp}\n",
            url(&good).display(),
            url(&other).display()
        ),
    );
    let run = xsa_env(
        dir.path(),
        &[
            "scan",
            "-i",
            inv.to_str().unwrap(),
            "-o",
            "out",
            "-q",
            "--timeout",
            "5",
        ],
        &[(PW_ENV, PW)],
    );
    // 2: the demo pool has blocked instances, which outrank the failed entry's 3.
    run.expect_code(exit::BLOCKED);
    let hosts = read_csv(&dir.join("out/hosts.csv"));
    let row = |name: &str| hosts.iter().find(|h| h["name"] == name).unwrap();
    assert_eq!(row("right")["status"], "ok", "{hosts:?}");
    assert_eq!(row("right")["tls"], "pinned");
    assert_eq!(row("right")["tls_version"], "TLSv1.3");
    let wrong = row("wrong");
    assert_eq!(wrong["status"], "failed");
    assert!(
        wrong["error"].contains("fingerprint mismatch")
            && wrong["error"].contains(&util::fingerprint_of(&other_cert)),
        "{}",
        wrong["error"]
    );
}

/// The groups a ClientHello offers (supported_groups, in order) and those it sends a key share
/// for, read from the raw record.
fn groups_of_client_hello(record: &[u8]) -> (Vec<u16>, Vec<u16>) {
    let u16_at = |i: usize| u16::from_be_bytes([record[i], record[i + 1]]);
    // Record header (5), handshake header (4), version (2), random (32).
    let mut i = 5 + 4 + 2 + 32;
    i += 1 + record[i] as usize; // session id
    i += 2 + u16_at(i) as usize; // cipher suites
    i += 1 + record[i] as usize; // compression methods
    let end = i + 2 + u16_at(i) as usize;
    i += 2;
    let (mut offered, mut shared) = (Vec::new(), Vec::new());
    while i + 4 <= end {
        let (kind, len) = (u16_at(i), u16_at(i + 2) as usize);
        let body = i + 4;
        match kind {
            0x000a => {
                let n = u16_at(body) as usize;
                offered = (0..n / 2).map(|k| u16_at(body + 2 + 2 * k)).collect();
            }
            0x0033 => {
                let (mut j, stop) = (body + 2, body + 2 + u16_at(body) as usize);
                while j < stop {
                    shared.push(u16_at(j));
                    j += 4 + u16_at(j + 2) as usize;
                }
            }
            _ => {}
        }
        i = body + len;
    }
    (offered, shared)
}

/// Both stacks say the same thing about groups: secp384r1 preferred (XAPI's only one), X25519 the
/// one TLS 1.3 key share, then P-256; no post-quantum share. The host here answers neither
/// ClientHello, so the first (rustls's) ends in a fallback and the second is OpenSSL's.
#[test]
fn both_tls_stacks_prefer_secp384r1_and_share_x25519_alone() {
    use std::io::{Read, Write};
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let hellos = std::thread::spawn(move || {
        let mut seen = Vec::new();
        for mut tcp in listener.incoming().take(2).flatten() {
            let mut record = vec![0u8; 5];
            tcp.read_exact(&mut record).unwrap();
            let len = u16::from_be_bytes([record[3], record[4]]) as usize;
            record.resize(5 + len, 0);
            tcp.read_exact(&mut record[5..]).unwrap();
            seen.push(groups_of_client_hello(&record));
            // A handshake_failure alert: neither stack can go on.
            let _ = tcp.write_all(&[0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28]);
        }
        seen
    });
    let connector = Connector::new(
        TlsPolicy {
            mode: TlsMode::Pinned([7; 32]),
            legacy: false,
        },
        None,
        TlsLog::default(),
    )
    .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let outcome = connector.handshake(
        "127.0.0.1",
        TcpStream::connect(addr).unwrap(),
        deadline,
        || TcpStream::connect(addr),
    );
    assert!(outcome.is_err(), "the host refused both");
    let seen = hellos.join().unwrap();
    assert_eq!(
        seen.len(),
        2,
        "rustls's hello, then OpenSSL's on a second connection"
    );
    // secp384r1, X25519, secp256r1: the names' code points.
    let (p384, x25519, p256) = (0x0018, 0x001d, 0x0017);
    for (stack, (offered, shared)) in ["rustls", "openssl"].iter().zip(&seen) {
        assert_eq!(offered[..3], [p384, x25519, p256], "{stack}: {offered:x?}");
        assert_eq!(shared, &[x25519], "{stack}: one key share, X25519's");
        assert!(
            !offered.iter().any(|g| (0x11eb..=0x11ee).contains(g)),
            "{stack}: no ML-KEM hybrid: {offered:x?}"
        );
    }
}
