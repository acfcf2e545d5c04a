//! TLS for real XenServer endpoints: verified (the system's roots plus
//! `--ca-file`), pinned (the host's certificate must have the SHA-256 fingerprint the inventory
//! records, as XenCenter's "trust this certificate" and ssh's known_hosts do; chain and hostname
//! are not checked, that is the point of pinning), or insecure. `tls_legacy` opens TLS 1.0/1.1 and
//! their ciphers (OpenSSL's security level 0) for that connection alone, for XenServer 6.2 and 6.5
//! before SP1. Every handshake records what was negotiated, so the reports can say how each entry
//! was secured.
//!
//! Two TLS stacks do the handshakes. Pinned and insecure connections without `tls_legacy` go first
//! over rustls on aws-lc-rs ([`fast_tls`], [`TlsStream::Fast`]): no chain is verified there, so nothing of
//! OpenSSL's verification is lost, and its handshake costs about half of OpenSSL 3's client CPU
//! (a quarter on P-384, the one group XAPI accepts, which the vendored OpenSSL computes on generic
//! code: BENCHMARKS.md). rustls speaks only TLS 1.2+ with ECDHE and AEAD suites and 2048-bit or
//! larger RSA keys; a host it cannot agree with (XAPI from 2015 to 2018 serves RSA key exchange
//! only, older certificates have 1024-bit keys) is reconnected and shaken hands with over OpenSSL,
//! exactly as before, so what a scan accepts and the message of a refused handshake are OpenSSL's
//! (a handshake that runs out of time is not tried again: its message says so). Both stacks offer
//! the same groups in the same order, and send the same one key share. Verified connections and
//! `tls_legacy` ones go over OpenSSL alone.
//!
//! A scan builds one OpenSSL context per trust setting ([`TrustSetting`]: verified, pinned or
//! insecure, each with or without legacy TLS), not one per pinned host: a pin is checked per
//! connection, after the handshake, so 3,000 pinned hosts share one context (building one reads the
//! system's CA bundle: about 14 ms of CPU each on the benchmark machine). The groups offered
//! ([`OFFERED_GROUPS`], and the fast path's subset of it) put the one XAPI accepts first and send
//! a single X25519 key share (see the constant for why).

use super::deadline::DeadlineStream;
use super::fast_tls::{self, FastFailure};
use openssl::ssl::{SslConnector, SslMethod, SslStream, SslVerifyMode, SslVersion};
use std::collections::HashMap;
use std::fmt::Debug;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// The key-exchange groups every context offers, in order, in OpenSSL's list syntax (`*` marks the
/// one group a key share is sent for).
///
/// XAPI's HTTPS is stunnel, configured by xapi itself (xen-api's `scripts/init.d-xapissl`, then
/// `xapi_stunnel.ml`/`xapi_stunnel_server.ml`, now `Tls_policy`): from 2015 (XenServer 6.5 SP1) it
/// served TLS 1.2 with RSA key exchange (`RSA+AES128-SHA256`; no group at all), TLS 1.0 besides
/// while `ssl-legacy` was on; since xapi 1.116 (2018) it serves `sslVersion = TLSv1.2` with
/// `curve = secp384r1` and ECDHE-RSA suites first (ECDHE-RSA with AES-GCM only since 2021). No
/// release speaks TLS 1.3 or accepts another group. So secp384r1 comes first. A TLS 1.3 key share is made before the host says which version it speaks and is
/// thrown away by every XAPI host, so only one, the cheapest (X25519), is sent; a TLS 1.3 endpoint
/// in front of XAPI (a proxy) gets X25519 without a second round trip. OpenSSL 3.5's default would
/// also send an ML-KEM-768 hybrid share (and a second X25519 key for it): no XAPI release can use
/// it, and it was 38% of the client's handshake instructions (BENCHMARKS.md), so it is not offered.
/// The rest is OpenSSL's default list, in its order.
pub const OFFERED_GROUPS: &str = "secp384r1:*X25519:secp256r1:X448:secp521r1:ffdhe2048:ffdhe3072";

/// What one OpenSSL context is built for: how certificates are checked (a pin is checked per
/// connection, so every pinned host shares one) and whether legacy TLS is allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrustSetting {
    Verified { legacy: bool },
    Pinned { legacy: bool },
    Insecure { legacy: bool },
}

impl TrustSetting {
    /// Whether rustls shakes hands first ([`fast_tls`]): for the settings that check no chain
    /// (pinned, insecure) and allow no legacy TLS.
    pub fn fast_path(self) -> bool {
        matches!(
            self,
            TrustSetting::Pinned { legacy: false } | TrustSetting::Insecure { legacy: false }
        )
    }

    pub fn of(policy: TlsPolicy) -> TrustSetting {
        let legacy = policy.legacy;
        match policy.mode {
            TlsMode::Verified => TrustSetting::Verified { legacy },
            TlsMode::Pinned(_) => TrustSetting::Pinned { legacy },
            TlsMode::Insecure => TrustSetting::Insecure { legacy },
        }
    }
}

/// How an https endpoint's certificate is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TlsMode {
    /// Chain to a trusted root and name match.
    Verified,
    /// Exactly this SHA-256 fingerprint, nothing else checked.
    Pinned([u8; 32]),
    /// Nothing checked (`--insecure`, `insecure=true`).
    Insecure,
}

impl TlsMode {
    /// The word the reports use (`tls` column).
    pub fn as_str(self) -> &'static str {
        match self {
            TlsMode::Verified => "verified",
            TlsMode::Pinned(_) => "pinned",
            TlsMode::Insecure => "insecure",
        }
    }
}

/// The TLS settings of one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TlsPolicy {
    pub mode: TlsMode,
    /// Allow TLS 1.0/1.1 and their ciphers.
    pub legacy: bool,
}

/// What a handshake showed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TlsSeen {
    /// As OpenSSL names it: `TLSv1.2`, `TLSv1`, ...
    pub version: String,
    /// `sha256:` and the colon-separated upper-case hex of the certificate's SHA-256.
    pub fingerprint: String,
    /// The certificate (DER), which [`TlsSeen::subject`] and [`TlsSeen::not_after`] read: only
    /// `trust` and a pin mismatch show them, so a scan does not parse every host's certificate.
    pub certificate: Vec<u8>,
}

impl TlsSeen {
    /// What a handshake of `version` that presented `der` showed.
    pub fn of_certificate(der: &[u8], version: &str) -> TlsSeen {
        use sha2::Digest;
        TlsSeen {
            version: version.to_string(),
            fingerprint: format_fingerprint(&sha2::Sha256::digest(der)),
            certificate: der.to_vec(),
        }
    }

    /// The certificate's subject, `CN=..., O=...` (OpenSSL's short names).
    pub fn subject(&self) -> String {
        match openssl::x509::X509::from_der(&self.certificate) {
            Ok(cert) => cert
                .subject_name()
                .entries()
                .map(|e| {
                    let key = e.object().nid().short_name().unwrap_or("?");
                    let value = e.data().to_string().unwrap_or_default();
                    format!("{key}={value}")
                })
                .collect::<Vec<_>>()
                .join(", "),
            Err(_) => "(a certificate OpenSSL cannot read)".to_string(),
        }
    }

    /// The certificate's expiry, as OpenSSL prints it.
    pub fn not_after(&self) -> String {
        openssl::x509::X509::from_der(&self.certificate)
            .map(|cert| cert.not_after().to_string())
            .unwrap_or_default()
    }
}

/// Handshakes seen in a scan, by host name as connected to (lower case).
pub type TlsLog = Arc<Mutex<HashMap<String, TlsSeen>>>;

/// True for the protocol versions only `tls_legacy` allows (TLS 1.0 and 1.1, as OpenSSL names them).
pub fn is_legacy_version(version: &str) -> bool {
    matches!(version, "TLSv1" | "TLSv1.1")
}

/// `sha256:AB:CD:...` for a fingerprint.
pub fn format_fingerprint(fp: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(7 + 3 * fp.len());
    out.push_str("sha256:");
    for (i, b) in fp.iter().enumerate() {
        if i > 0 {
            out.push(':');
        }
        out.push(HEX[usize::from(b >> 4)] as char);
        out.push(HEX[usize::from(b & 15)] as char);
    }
    out
}

/// An established TLS connection, on whichever stack shook hands.
pub enum TlsStream<S: Read + Write> {
    /// rustls on aws-lc-rs (pinned and insecure connections, TLS 1.2+).
    Fast(Box<rustls::StreamOwned<rustls::ClientConnection, S>>),
    /// OpenSSL (verified connections, `tls_legacy`, and every host rustls cannot agree with).
    OpenSsl(SslStream<S>),
}

impl<S: Read + Write> TlsStream<S> {
    /// The transport under the TLS.
    pub fn get_ref(&self) -> &S {
        match self {
            TlsStream::Fast(s) => s.get_ref(),
            TlsStream::OpenSsl(s) => s.get_ref(),
        }
    }

    /// The transport under the TLS, to change.
    pub fn get_mut(&mut self) -> &mut S {
        match self {
            TlsStream::Fast(s) => s.get_mut(),
            TlsStream::OpenSsl(s) => s.get_mut(),
        }
    }

    /// Which stack shook hands: `rustls` or `openssl`.
    pub fn stack(&self) -> &'static str {
        match self {
            TlsStream::Fast(_) => "rustls",
            TlsStream::OpenSsl(_) => "openssl",
        }
    }

    /// The cipher suite agreed, as OpenSSL names it (`ECDHE-RSA-AES256-GCM-SHA384`,
    /// `TLS_AES_128_GCM_SHA256`), whichever stack agreed it.
    pub fn cipher(&self) -> Option<String> {
        match self {
            TlsStream::Fast(s) => s
                .conn
                .negotiated_cipher_suite()
                .map(|suite| fast_tls::openssl_cipher_name(suite.suite())),
            TlsStream::OpenSsl(s) => s.ssl().current_cipher().map(|c| c.name().to_string()),
        }
    }
}

impl<S: Read + Write> Read for TlsStream<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            // A close without close_notify ends the stream as a plain socket's close does (and as
            // OpenSSL's stream reports it): the HTTP framing above tells a short answer.
            TlsStream::Fast(s) => match s.read(buf) {
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(0),
                other => other,
            },
            TlsStream::OpenSsl(s) => s.read(buf),
        }
    }
}

impl<S: Read + Write> Write for TlsStream<S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            TlsStream::Fast(s) => s.write(buf),
            TlsStream::OpenSsl(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            TlsStream::Fast(s) => s.flush(),
            TlsStream::OpenSsl(s) => s.flush(),
        }
    }
}

/// Why [`Connector::handshake`] failed: the handshake or the certificate check (the message
/// says which), or the second connection the fallback to OpenSSL needed.
#[derive(Debug)]
pub enum HandshakeError<E> {
    Tls(String),
    Reconnect(E),
}

/// A TLS client context with one [`TlsPolicy`], built once per trust setting for a scan: OpenSSL's,
/// and rustls's where the setting allows the fast path.
pub struct Connector {
    ssl: SslConnector,
    fast: Option<Arc<rustls::ClientConfig>>,
    policy: TlsPolicy,
    log: TlsLog,
}

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connector")
            .field("policy", &self.policy)
            .finish()
    }
}

impl Connector {
    /// A connector with a context of its own (for one-off handshakes such as `trust`'s).
    pub fn new(policy: TlsPolicy, ca_file: Option<&Path>, log: TlsLog) -> Result<Self, String> {
        let built = Contexts::build(TrustSetting::of(policy), ca_file)?;
        Ok(Connector::sharing(&built, policy, log))
    }

    /// A connector on the already built contexts of `policy`'s trust setting (clones share them:
    /// a reference count, no copy).
    fn sharing(built: &Contexts, policy: TlsPolicy, log: TlsLog) -> Self {
        Connector {
            ssl: built.ssl.clone(),
            fast: built.fast.clone(),
            policy,
            log,
        }
    }

    /// Handshake with `host` on `tcp` by `deadline`, check the pin, and record (and return) what
    /// was negotiated. When the fast path (rustls) cannot agree with the host, `reconnect` gives a
    /// new connection for OpenSSL's handshake, whose outcome is then the answer; a fast-path
    /// handshake that runs out of time is not tried again.
    pub fn handshake<E>(
        &self,
        host: &str,
        tcp: TcpStream,
        deadline: Instant,
        reconnect: impl FnOnce() -> Result<TcpStream, E>,
    ) -> Result<(TlsStream<DeadlineStream>, TlsSeen), HandshakeError<E>> {
        let fast = self.fast.as_ref().zip(fast_tls::server_name(host));
        let io = DeadlineStream::new(tcp, deadline);
        let io = match fast {
            Some((config, name)) => match fast_tls::handshake(config, name, io) {
                Ok(stream) => {
                    let seen = self.seen_on_fast_path(host, &stream.conn)?;
                    return Ok((TlsStream::Fast(Box::new(stream)), seen));
                }
                Err(FastFailure::Timeout) => {
                    return Err(HandshakeError::Tls(
                        "TLS handshake failed: it did not end within the time left (--timeout)"
                            .to_string(),
                    ))
                }
                Err(FastFailure::Disagreed) => {
                    let tcp = reconnect().map_err(HandshakeError::Reconnect)?;
                    DeadlineStream::new(tcp, deadline)
                }
            },
            None => io,
        };
        let (stream, seen) = self
            .openssl_handshake(host, io)
            .map_err(HandshakeError::Tls)?;
        Ok((TlsStream::OpenSsl(stream), seen))
    }

    /// What a fast-path handshake showed, the pin checked.
    fn seen_on_fast_path<E>(
        &self,
        host: &str,
        conn: &rustls::ClientConnection,
    ) -> Result<TlsSeen, HandshakeError<E>> {
        let der = conn
            .peer_certificates()
            .and_then(|certs| certs.first())
            .ok_or_else(|| HandshakeError::Tls("the host presented no certificate".to_string()))?;
        let version = match conn.protocol_version() {
            Some(rustls::ProtocolVersion::TLSv1_3) => "TLSv1.3",
            _ => "TLSv1.2",
        };
        self.checked(host, der, version)
            .map_err(HandshakeError::Tls)
    }

    /// What the certificate `der` shows, checked against the pin; recorded as negotiated.
    fn checked(&self, host: &str, der: &[u8], version: &str) -> Result<TlsSeen, String> {
        let seen = TlsSeen::of_certificate(der, version);
        if let TlsMode::Pinned(want) = self.policy.mode {
            let want = format_fingerprint(&want);
            if seen.fingerprint != want {
                return Err(format!(
                    "certificate fingerprint mismatch: the inventory pins {want}, the host presents {} (subject {}): if the host's certificate was renewed, check it on the host console and run `xen-sr-audit trust` again",
                    seen.fingerprint,
                    seen.subject()
                ));
            }
        }
        if let Ok(mut log) = self.log.lock() {
            log.insert(
                host.trim_matches(['[', ']']).to_ascii_lowercase(),
                seen.clone(),
            );
        }
        Ok(seen)
    }

    /// OpenSSL's handshake on `io`, and the pin check.
    fn openssl_handshake<S: Read + Write + Debug>(
        &self,
        host: &str,
        io: S,
    ) -> Result<(SslStream<S>, TlsSeen), String> {
        let mut cfg = self
            .ssl
            .configure()
            .map_err(|e| format!("TLS setup: {e}"))?;
        if self.policy.mode != TlsMode::Verified {
            cfg.set_verify_hostname(false);
        }
        // An IP address is no server name: SNI only for names.
        if host.parse::<std::net::IpAddr>().is_ok() || host.starts_with('[') {
            cfg.set_use_server_name_indication(false);
        }
        let stream = cfg.connect(host, io).map_err(|e| {
            let verified = self.policy.mode == TlsMode::Verified;
            if let Some(why) = untrusted_certificate(&e).filter(|_| verified) {
                return format!("TLS handshake failed: the host's certificate is not trusted ({why}): pin it with `xen-sr-audit trust` (trust on first use), or trust its CA with --ca-file");
            }
            let text = e.to_string();
            let old_protocol = ["protocol version", "unsupported protocol", "no protocols available"]
                .iter()
                .any(|s| text.contains(s));
            if old_protocol && !self.policy.legacy {
                format!("TLS handshake failed: {text} (the host may speak only TLS 1.0/1.1, as XenServer 6.2 and 6.5 before SP1 do: set tls_legacy=true for it in the inventory, or --tls-legacy)")
            } else {
                format!("TLS handshake failed: {text}")
            }
        })?;
        let der = stream
            .ssl()
            .peer_certificate()
            .ok_or_else(|| "the host presented no certificate".to_string())?
            .to_der()
            .map_err(|e| format!("cannot read the host's certificate: {e}"))?;
        let seen = self.checked(host, &der, stream.ssl().version_str())?;
        Ok((stream, seen))
    }
}

/// Build the OpenSSL context of one trust setting: TLS 1.2+ (1.0+ and security level 0 with
/// legacy), [`OFFERED_GROUPS`], the CA store for verified ones, and records read ahead (without it
/// OpenSSL reads each record's 5-byte header and its body with two `recv` calls).
fn build_context(setting: TrustSetting, ca_file: Option<&Path>) -> Result<SslConnector, String> {
    let setup = |e: openssl::error::ErrorStack| format!("TLS setup: {e}");
    let mut b = SslConnector::builder(SslMethod::tls_client()).map_err(setup)?;
    let (TrustSetting::Verified { legacy }
    | TrustSetting::Pinned { legacy }
    | TrustSetting::Insecure { legacy }) = setting;
    if legacy {
        // XenServer 6.2/6.5 before SP1: TLS 1.0 and its ciphers, for this connection alone.
        b.set_min_proto_version(Some(SslVersion::TLS1))
            .map_err(setup)?;
        b.set_security_level(0);
        b.set_cipher_list("DEFAULT:@SECLEVEL=0").map_err(setup)?;
    } else {
        b.set_min_proto_version(Some(SslVersion::TLS1_2))
            .map_err(setup)?;
    }
    b.set_groups_list(OFFERED_GROUPS).map_err(setup)?;
    b.set_read_ahead(true);
    match setting {
        TrustSetting::Verified { .. } => {
            // The system's roots (the vendored OpenSSL knows no system paths of its own).
            let probe = openssl_probe::probe();
            if let Some(file) = &probe.cert_file {
                let _ = b.set_ca_file(file);
            }
            for dir in &probe.cert_dir {
                let _ = b.load_verify_locations(None, Some(dir));
            }
            if let Some(ca) = ca_file {
                b.set_ca_file(ca)
                    .map_err(|e| format!("{}: not a PEM certificate: {e}", ca.display()))?;
            }
            b.set_verify(SslVerifyMode::PEER);
        }
        TrustSetting::Pinned { .. } | TrustSetting::Insecure { .. } => {
            b.set_verify(SslVerifyMode::NONE)
        }
    }
    Ok(b.build())
}

/// The contexts of one trust setting: OpenSSL's, and rustls's where the fast path applies.
struct Contexts {
    ssl: SslConnector,
    fast: Option<Arc<rustls::ClientConfig>>,
}

impl Debug for Contexts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Contexts")
            .field("fast", &self.fast.is_some())
            .finish()
    }
}

impl Contexts {
    fn build(setting: TrustSetting, ca_file: Option<&Path>) -> Result<Contexts, String> {
        Ok(Contexts {
            ssl: build_context(setting, ca_file)?,
            fast: setting.fast_path().then(fast_tls::config).transpose()?,
        })
    }
}

/// The TLS contexts of one scan: one set per [`TrustSetting`] met, built on first use and shared
/// by every connection with that setting (a failure to build one is kept and given to each).
#[derive(Debug)]
pub struct TlsContexts {
    ca_file: Option<PathBuf>,
    log: TlsLog,
    built: Mutex<HashMap<TrustSetting, Result<Contexts, String>>>,
}

impl TlsContexts {
    pub fn new(ca_file: Option<PathBuf>, log: TlsLog) -> TlsContexts {
        TlsContexts {
            ca_file,
            log,
            built: Mutex::new(HashMap::new()),
        }
    }

    /// A connector for `policy` on the shared context of its trust setting.
    pub fn connector(&self, policy: TlsPolicy) -> Result<Arc<Connector>, String> {
        let mut built = self.built.lock().unwrap_or_else(|e| e.into_inner());
        let contexts = built
            .entry(TrustSetting::of(policy))
            .or_insert_with_key(|setting| Contexts::build(*setting, self.ca_file.as_deref()))
            .as_ref()
            .map_err(String::clone)?;
        Ok(Arc::new(Connector::sharing(
            contexts,
            policy,
            Arc::clone(&self.log),
        )))
    }

    /// How many contexts the scan has built so far.
    pub fn built(&self) -> usize {
        self.built.lock().map(|b| b.len()).unwrap_or_default()
    }
}

/// Why certificate verification failed, in OpenSSL's words (`self-signed certificate`, `certificate
/// has expired`, ...), when that is what ended the handshake.
fn untrusted_certificate<S>(e: &openssl::ssl::HandshakeError<S>) -> Option<&'static str> {
    match e {
        openssl::ssl::HandshakeError::Failure(mid) => {
            let result = mid.ssl().verify_result();
            (result != openssl::x509::X509VerifyResult::OK).then(|| result.error_string())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_context_per_trust_setting_however_many_pins() {
        let contexts = TlsContexts::new(None, TlsLog::default());
        let pinned = |byte, legacy| TlsPolicy {
            mode: TlsMode::Pinned([byte; 32]),
            legacy,
        };
        let insecure = TlsPolicy {
            mode: TlsMode::Insecure,
            legacy: false,
        };
        // (policy asked for, contexts built after it)
        for (policy, built) in [
            (pinned(1, false), 1),
            (pinned(2, false), 1),
            (pinned(3, false), 1),
            (insecure, 2),
            (pinned(1, true), 3),
            (pinned(4, true), 3),
            (insecure, 3),
        ] {
            let connector = contexts.connector(policy).expect("context");
            assert_eq!(connector.policy, policy, "the connector keeps its own pin");
            assert_eq!(contexts.built(), built, "{policy:?}");
        }
    }

    #[test]
    fn the_fast_path_is_for_pinned_and_insecure_connections_without_legacy_tls() {
        // (setting, whether rustls shakes hands first)
        for (setting, fast) in [
            (TrustSetting::Pinned { legacy: false }, true),
            (TrustSetting::Insecure { legacy: false }, true),
            (TrustSetting::Verified { legacy: false }, false),
            (TrustSetting::Pinned { legacy: true }, false),
            (TrustSetting::Insecure { legacy: true }, false),
            (TrustSetting::Verified { legacy: true }, false),
        ] {
            assert_eq!(setting.fast_path(), fast, "{setting:?}");
            let contexts = Contexts::build(setting, None).expect("builds");
            assert_eq!(contexts.fast.is_some(), fast, "{setting:?}");
        }
    }

    #[test]
    fn what_a_certificate_shows_is_read_from_its_der_as_openssl_reads_it() {
        use openssl::{asn1::Asn1Time, hash::MessageDigest, pkey::PKey, rsa::Rsa, x509};
        let key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
        let mut name = x509::X509NameBuilder::new().unwrap();
        name.append_entry_by_text("CN", "xs01.example.org").unwrap();
        name.append_entry_by_text("O", "Example").unwrap();
        let name = name.build();
        let mut b = x509::X509Builder::new().unwrap();
        b.set_subject_name(&name).unwrap();
        b.set_issuer_name(&name).unwrap();
        b.set_pubkey(&key).unwrap();
        b.set_not_before(&Asn1Time::from_str("20200101000000Z").unwrap())
            .unwrap();
        b.set_not_after(&Asn1Time::from_str("20300102030405Z").unwrap())
            .unwrap();
        b.sign(&key, MessageDigest::sha256()).unwrap();
        let cert = b.build();
        let der = cert.to_der().unwrap();
        let seen = TlsSeen::of_certificate(&der, "TLSv1.2");
        let digest = cert.digest(MessageDigest::sha256()).unwrap();
        assert_eq!(seen.fingerprint, format_fingerprint(&digest));
        assert_eq!(seen.version, "TLSv1.2");
        assert_eq!(seen.subject(), "CN=xs01.example.org, O=Example");
        assert_eq!(seen.not_after(), "Jan  2 03:04:05 2030 GMT");
        let unreadable = TlsSeen::of_certificate(b"not DER", "TLSv1.3");
        assert_eq!(unreadable.subject(), "(a certificate OpenSSL cannot read)");
        assert_eq!(unreadable.not_after(), "");
    }

    #[test]
    fn fingerprint_forms() {
        use crate::inventory::parse_fingerprint;
        let hex = "AB".repeat(32);
        let want = [0xABu8; 32];
        let colons = (0..32).map(|_| "ab").collect::<Vec<_>>().join(":");
        for s in [
            hex.clone(),
            hex.to_lowercase(),
            colons.clone(),
            format!("sha256:{colons}"),
            format!("SHA256:{hex}"),
            format!("  {hex} "),
        ] {
            assert_eq!(parse_fingerprint(&s), Ok(want), "{s}");
        }
        for bad in ["", "ab", &"AB".repeat(31), &"ZZ".repeat(32), "sha1:00"] {
            assert!(parse_fingerprint(bad).is_err(), "{bad}");
        }
        assert_eq!(
            format_fingerprint(&want),
            format!("sha256:{}", colons.to_uppercase())
        );
        assert_eq!(parse_fingerprint(&format_fingerprint(&want)), Ok(want));
    }
}
