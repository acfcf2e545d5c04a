//! TLS for real XenServer endpoints, on OpenSSL directly: verified (the system's roots plus
//! `--ca-file`), pinned (the host's certificate must have the SHA-256 fingerprint the inventory
//! records, as XenCenter's "trust this certificate" and ssh's known_hosts do; chain and hostname
//! are not checked, that is the point of pinning), or insecure. `tls_legacy` opens TLS 1.0/1.1 and
//! their ciphers (OpenSSL's security level 0) for that connection alone, for XenServer 6.2 and 6.5
//! before SP1. Every handshake records what was negotiated, so the reports can say how each entry
//! was secured.

use openssl::hash::MessageDigest;
use openssl::ssl::{SslConnector, SslMethod, SslStream, SslVerifyMode, SslVersion};
use openssl::x509::X509Ref;
use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};

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
    pub subject: String,
    /// The certificate's expiry, as OpenSSL prints it.
    pub not_after: String,
}

/// Handshakes seen in a scan, by host name as connected to (lower case).
pub type TlsLog = Arc<Mutex<HashMap<String, TlsSeen>>>;

/// True for the protocol versions only `tls_legacy` allows (TLS 1.0 and 1.1, as OpenSSL names them).
pub fn is_legacy_version(version: &str) -> bool {
    matches!(version, "TLSv1" | "TLSv1.1")
}

/// `sha256:AB:CD:...` for a fingerprint.
pub fn format_fingerprint(fp: &[u8]) -> String {
    let hex: Vec<String> = fp.iter().map(|b| format!("{b:02X}")).collect();
    format!("sha256:{}", hex.join(":"))
}

/// What a certificate shows.
pub fn describe(cert: &X509Ref) -> Result<TlsSeen, String> {
    let digest = cert
        .digest(MessageDigest::sha256())
        .map_err(|e| format!("cannot hash the certificate: {e}"))?;
    let subject = cert
        .subject_name()
        .entries()
        .map(|e| {
            let key = e.object().nid().short_name().unwrap_or("?");
            let value = e.data().to_string().unwrap_or_default();
            format!("{key}={value}")
        })
        .collect::<Vec<_>>()
        .join(", ");
    Ok(TlsSeen {
        version: String::new(),
        fingerprint: format_fingerprint(&digest),
        subject,
        not_after: cert.not_after().to_string(),
    })
}

/// A TLS client context on OpenSSL with one [`TlsPolicy`], built once per policy for a scan.
pub struct Connector {
    ssl: SslConnector,
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
    pub fn new(policy: TlsPolicy, ca_file: Option<&Path>, log: TlsLog) -> Result<Self, String> {
        let setup = |e: openssl::error::ErrorStack| format!("TLS setup: {e}");
        let mut b = SslConnector::builder(SslMethod::tls_client()).map_err(setup)?;
        if policy.legacy {
            // XenServer 6.2/6.5 before SP1: TLS 1.0 and its ciphers, for this connection alone.
            b.set_min_proto_version(Some(SslVersion::TLS1))
                .map_err(setup)?;
            b.set_security_level(0);
            b.set_cipher_list("DEFAULT:@SECLEVEL=0").map_err(setup)?;
        } else {
            b.set_min_proto_version(Some(SslVersion::TLS1_2))
                .map_err(setup)?;
        }
        match policy.mode {
            TlsMode::Verified => {
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
            TlsMode::Pinned(_) | TlsMode::Insecure => b.set_verify(SslVerifyMode::NONE),
        }
        Ok(Connector {
            ssl: b.build(),
            policy,
            log,
        })
    }

    /// Handshake on `io` for `host`, check the pin, and record (and return) what was negotiated.
    pub fn handshake<S: Read + Write + std::fmt::Debug>(
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
        let cert = stream
            .ssl()
            .peer_certificate()
            .ok_or_else(|| "the host presented no certificate".to_string())?;
        let mut seen = describe(&cert)?;
        seen.version = stream.ssl().version_str().to_string();
        if let TlsMode::Pinned(want) = self.policy.mode {
            let want = format_fingerprint(&want);
            if seen.fingerprint != want {
                return Err(format!(
                    "certificate fingerprint mismatch: the inventory pins {want}, the host presents {} (subject {}): if the host's certificate was renewed, check it on the host console and run `xen-sr-audit trust` again",
                    seen.fingerprint, seen.subject
                ));
            }
        }
        if let Ok(mut log) = self.log.lock() {
            log.insert(
                host.trim_matches(['[', ']']).to_ascii_lowercase(),
                seen.clone(),
            );
        }
        Ok((stream, seen))
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
