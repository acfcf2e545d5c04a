//! The fast TLS path: rustls on aws-lc-rs, for the handshakes that check no certificate chain
//! (pinned and insecure entries without `tls_legacy`). Its client handshake costs about half of
//! OpenSSL 3's client CPU, and a quarter on secp384r1, the one group XAPI accepts, which the
//! vendored OpenSSL computes on generic code (aws-lc has it in constant-time assembly). It speaks
//! TLS 1.2 and 1.3 with ECDHE and AEAD suites only, so [`super::tls::Connector`] keeps OpenSSL for
//! every host it cannot agree with; this module only builds the configuration and shakes hands.

use std::io::{self, Read, Write};
use std::sync::Arc;

/// The groups the rustls path offers, in OpenSSL's order ([`super::tls::OFFERED_GROUPS`]): secp384r1
/// first (the one XAPI accepts, and the one a TLS 1.2 server that follows the client's order
/// picks), then X25519 and P-256. No post-quantum hybrid, for the reason OpenSSL's list gives. A
/// server that wants a group not listed (X448, secp521r1, finite-field) gets OpenSSL's full list
/// on the fallback. The one TLS 1.3 key share is X25519's, as on OpenSSL's path: see
/// [`X25519KeyShare`].
fn fast_groups() -> Vec<&'static dyn rustls::crypto::SupportedKxGroup> {
    use rustls::crypto::aws_lc_rs::kx_group::{SECP256R1, SECP384R1, X25519};
    vec![SECP384R1, X25519, SECP256R1]
}

/// The session store of the fast path: it keeps nothing (each host is met once per scan, so no
/// session is resumed) and names X25519 as the group to send the TLS 1.3 key share for. rustls
/// otherwise sends the share for the first group offered; this is its way of doing what OpenSSL's
/// `*X25519` does: prefer secp384r1, share X25519 (the cheapest share; a TLS 1.3 server that
/// wants another group asks for it).
#[derive(Debug)]
struct X25519KeyShare;

impl rustls::client::ClientSessionStore for X25519KeyShare {
    fn set_kx_hint(&self, _: rustls::pki_types::ServerName<'static>, _: rustls::NamedGroup) {}

    fn kx_hint(&self, _: &rustls::pki_types::ServerName<'_>) -> Option<rustls::NamedGroup> {
        Some(rustls::NamedGroup::X25519)
    }

    fn set_tls12_session(
        &self,
        _: rustls::pki_types::ServerName<'static>,
        _: rustls::client::Tls12ClientSessionValue,
    ) {
    }

    fn tls12_session(
        &self,
        _: &rustls::pki_types::ServerName<'_>,
    ) -> Option<rustls::client::Tls12ClientSessionValue> {
        None
    }

    fn remove_tls12_session(&self, _: &rustls::pki_types::ServerName<'static>) {}

    fn insert_tls13_ticket(
        &self,
        _: rustls::pki_types::ServerName<'static>,
        _: rustls::client::Tls13ClientSessionValue,
    ) {
    }

    fn take_tls13_ticket(
        &self,
        _: &rustls::pki_types::ServerName<'static>,
    ) -> Option<rustls::client::Tls13ClientSessionValue> {
        None
    }
}

/// OpenSSL's name for a suite rustls can agree (rustls's own text otherwise).
pub fn openssl_cipher_name(suite: rustls::CipherSuite) -> String {
    use rustls::CipherSuite as C;
    let name = match suite {
        C::TLS13_AES_128_GCM_SHA256 => "TLS_AES_128_GCM_SHA256",
        C::TLS13_AES_256_GCM_SHA384 => "TLS_AES_256_GCM_SHA384",
        C::TLS13_CHACHA20_POLY1305_SHA256 => "TLS_CHACHA20_POLY1305_SHA256",
        C::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 => "ECDHE-RSA-AES128-GCM-SHA256",
        C::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 => "ECDHE-RSA-AES256-GCM-SHA384",
        C::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256 => "ECDHE-RSA-CHACHA20-POLY1305",
        C::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 => "ECDHE-ECDSA-AES128-GCM-SHA256",
        C::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 => "ECDHE-ECDSA-AES256-GCM-SHA384",
        C::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 => "ECDHE-ECDSA-CHACHA20-POLY1305",
        other => return format!("{other:?}"),
    };
    name.to_string()
}

/// The rustls certificate check of the fast path: none (the pin is compared after the handshake,
/// on both stacks alike; insecure checks nothing), but the handshake's signature is verified
/// against the certificate's key as rustls always does, so the peer holds that certificate's key.
#[derive(Debug)]
struct PinnedLater(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for PinnedLater {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The rustls client configuration of the fast path (one per scan and trust setting).
pub fn config() -> Result<Arc<rustls::ClientConfig>, String> {
    let mut provider = rustls::crypto::aws_lc_rs::default_provider();
    provider.kx_groups = fast_groups();
    let provider = Arc::new(provider);
    let mut client = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| format!("TLS setup: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(PinnedLater(provider)))
        .with_no_client_auth();
    client.resumption = rustls::client::Resumption::store(Arc::new(X25519KeyShare))
        .tls12_resumption(rustls::client::Tls12Resumption::Disabled);
    Ok(Arc::new(client))
}

/// How a fast-path handshake ended without a connection.
pub enum FastFailure {
    /// The handshake did not end within the time left: trying again cannot help.
    Timeout,
    /// Anything else: the host gets the OpenSSL handshake on a new connection.
    Disagreed,
}

/// What rustls is told it connects to: an IP address (`[...]` for IPv6), for which it sends no SNI
/// (as the OpenSSL path does not), or a DNS name, sent as SNI. None for a host name rustls does not
/// take (OpenSSL's path then has it).
pub fn server_name(host: &str) -> Option<rustls::pki_types::ServerName<'static>> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<std::net::IpAddr>() {
        Ok(ip) => Some(rustls::pki_types::ServerName::IpAddress(ip.into())),
        Err(_) => rustls::pki_types::ServerName::try_from(bare.to_string()).ok(),
    }
}

/// Shake hands over rustls with `name` on `io`. Driven a read at a time (rustls's `complete_io`
/// would go on reading while bytes arrive), on a stream that ends each read by the call's
/// deadline ([`super::deadline::DeadlineStream`]), so a host that sends its handshake a byte at a
/// time cannot stretch it.
pub fn handshake<S: Read + Write>(
    config: &Arc<rustls::ClientConfig>,
    name: rustls::pki_types::ServerName<'static>,
    mut io: S,
) -> Result<rustls::StreamOwned<rustls::ClientConnection, S>, FastFailure> {
    let mut conn = rustls::ClientConnection::new(Arc::clone(config), name)
        .map_err(|_| FastFailure::Disagreed)?;
    loop {
        while conn.wants_write() {
            match conn.write_tls(&mut io) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => other.map_err(failure)?,
            };
        }
        if !conn.is_handshaking() {
            return Ok(rustls::StreamOwned::new(conn, io));
        }
        match conn.read_tls(&mut io) {
            Ok(0) => return Err(FastFailure::Disagreed), // the host closed the connection
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue, // a signal: read again
            Err(e) => return Err(failure(e)),
        }
        if conn.process_new_packets().is_err() {
            // Tell the host why (the alert rustls queued), as a TLS client does.
            let _ = conn.write_tls(&mut io);
            return Err(FastFailure::Disagreed);
        }
    }
}

/// What an I/O error during the handshake means: the time ran out, or the host is for OpenSSL.
fn failure(e: io::Error) -> FastFailure {
    match e.kind() {
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => FastFailure::Timeout,
        _ => FastFailure::Disagreed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fast_path_prefers_xapis_group_shares_x25519_and_offers_nothing_post_quantum() {
        use rustls::NamedGroup;
        let config = config().unwrap();
        let groups: Vec<NamedGroup> = config
            .crypto_provider()
            .kx_groups
            .iter()
            .map(|g| g.name())
            .collect();
        assert_eq!(
            groups,
            [
                NamedGroup::secp384r1,
                NamedGroup::X25519,
                NamedGroup::secp256r1
            ]
        );
        // The TLS 1.3 key share: X25519's, whatever the host.
        let name = server_name("xs01.example.org").unwrap();
        use rustls::client::ClientSessionStore;
        assert_eq!(X25519KeyShare.kx_hint(&name), Some(NamedGroup::X25519));
    }

    #[test]
    fn server_names_for_rustls() {
        use rustls::pki_types::ServerName;
        // (host as connected to, an IP address (no SNI) or the DNS name sent)
        for (host, want) in [
            ("127.0.0.1", Some("ip 127.0.0.1")),
            ("[::1]", Some("ip ::1")),
            ("xs01.example.org", Some("dns xs01.example.org")),
            ("XS01", Some("dns XS01")),
            ("not a name", None),
        ] {
            let got = server_name(host).map(|name| match name {
                ServerName::IpAddress(ip) => format!("ip {}", std::net::IpAddr::from(ip)),
                ServerName::DnsName(dns) => format!("dns {}", dns.as_ref()),
                other => format!("{other:?}"),
            });
            assert_eq!(got.as_deref(), want, "{host}");
        }
    }

    #[test]
    fn rustls_suites_get_openssls_names() {
        use rustls::CipherSuite as C;
        for (suite, name) in [
            (C::TLS13_AES_128_GCM_SHA256, "TLS_AES_128_GCM_SHA256"),
            (C::TLS13_AES_256_GCM_SHA384, "TLS_AES_256_GCM_SHA384"),
            (
                C::TLS13_CHACHA20_POLY1305_SHA256,
                "TLS_CHACHA20_POLY1305_SHA256",
            ),
            (
                C::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
                "ECDHE-RSA-AES128-GCM-SHA256",
            ),
            (
                C::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
                "ECDHE-RSA-AES256-GCM-SHA384",
            ),
            (
                C::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
                "ECDHE-RSA-CHACHA20-POLY1305",
            ),
            (
                C::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
                "ECDHE-ECDSA-AES128-GCM-SHA256",
            ),
            (
                C::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
                "ECDHE-ECDSA-AES256-GCM-SHA384",
            ),
            (
                C::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
                "ECDHE-ECDSA-CHACHA20-POLY1305",
            ),
            // One rustls never agrees (it has no RSA key exchange): its code, as rustls shows it.
            (C::TLS_RSA_WITH_AES_128_CBC_SHA256, "CipherSuite(0x3c)"),
        ] {
            assert_eq!(openssl_cipher_name(suite), name, "{suite:?}");
        }
    }
}
