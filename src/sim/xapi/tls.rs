//! The simulator's HTTPS side, spoken as a [`TlsProfile`] says. The modern and XAPI profiles are
//! served by rustls on aws-lc-rs, the others by OpenSSL. The benchmark's simulator shares two
//! cores with the scanning client, and the server's half of each handshake (an RSA signature, the
//! key exchange) is what a real host pays on its own CPU: on OpenSSL, whose vendored build computes
//! secp384r1 (the one group XAPI accepts) on generic code, it cost the simulator over 4 ms per
//! host and set the benchmark's wall, not the client's work. XAPI from 2015 to 2018 (RSA key
//! exchange) and TLS 1.0 are OpenSSL's alone; a key rustls does not take (RSA under 2048 bits)
//! is served by OpenSSL too.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;

/// The TLS a simulated host speaks: a modern server's, or XAPI's of one era (xen-api's stunnel
/// settings: `scripts/init.d-xapissl`, then `xapi_stunnel.ml`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum TlsProfile {
    /// TLS 1.2 and 1.3, ECDHE with AEAD suites on X25519 or P-256 (what a proxy in front of XAPI
    /// serves).
    #[default]
    Modern,
    /// XAPI since 2018 (xapi 1.116): TLS 1.2 only, ECDHE-RSA with AES-GCM, secp384r1 alone.
    Xapi,
    /// XAPI from 2015 to 2018 (XenServer 6.5 SP1 to 7.5): TLS 1.2 only, RSA key exchange
    /// (`AES128-SHA256`).
    Xapi2015,
    /// TLS 1.0 only, with the ciphers and key sizes of that era, as XenServer 6.2 and 6.5 before
    /// SP1 serve.
    Legacy,
}

/// How the simulator shakes hands on its HTTPS side.
pub(super) enum ServerTls {
    Rustls(Arc<rustls::ServerConfig>),
    OpenSsl(openssl::ssl::SslAcceptor),
}

impl ServerTls {
    pub(super) fn new(cert: &[u8], key: &[u8], profile: TlsProfile) -> io::Result<ServerTls> {
        if matches!(profile, TlsProfile::Modern | TlsProfile::Xapi) {
            match rustls_config(cert, key, profile) {
                Ok(config) => return Ok(ServerTls::Rustls(config)),
                Err(e) => eprintln!("xapi-sim: TLS served by OpenSSL (rustls: {e})"),
            }
        }
        openssl_acceptor(cert, key, profile).map(ServerTls::OpenSsl)
    }

    /// Shake hands on `tcp` and hand the stream to `serve` (a failed handshake ends the
    /// connection quietly, as a server's does).
    pub(super) fn accept(
        &self,
        tcp: TcpStream,
        serve: impl FnOnce(&mut dyn ReadWrite) -> io::Result<()>,
    ) -> io::Result<()> {
        match self {
            ServerTls::Rustls(config) => {
                let conn =
                    rustls::ServerConnection::new(Arc::clone(config)).map_err(io::Error::other)?;
                let mut stream = rustls::StreamOwned::new(conn, tcp);
                while stream.conn.is_handshaking() {
                    stream.conn.complete_io(&mut stream.sock)?;
                }
                serve(&mut stream)
            }
            ServerTls::OpenSsl(acceptor) => match acceptor.accept(tcp) {
                Ok(mut stream) => serve(&mut stream),
                Err(_) => Ok(()),
            },
        }
    }
}

/// A byte stream both ways (the TLS stream of either stack).
pub(super) trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

/// rustls's side: the modern profile's TLS 1.2 and 1.3 (X25519, P-256), or XAPI's TLS 1.2
/// with ECDHE-RSA AES-GCM on secp384r1 alone, its server preference first. Session tickets as
/// rustls sends them by default (two per TLS 1.3 handshake, as OpenSSL's server does).
fn rustls_config(
    cert: &[u8],
    key: &[u8],
    profile: TlsProfile,
) -> Result<Arc<rustls::ServerConfig>, String> {
    use rustls::crypto::aws_lc_rs::{cipher_suite, default_provider, kx_group};
    let leaf = openssl::x509::X509::from_pem(cert)
        .and_then(|c| c.to_der())
        .map_err(|e| e.to_string())?;
    let key = openssl::pkey::PKey::private_key_from_pem(key)
        .and_then(|k| k.private_key_to_pkcs8())
        .map_err(|e| e.to_string())?;
    let mut provider = default_provider();
    let versions: &[&rustls::SupportedProtocolVersion] = if profile == TlsProfile::Xapi {
        provider.cipher_suites = vec![
            cipher_suite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
            cipher_suite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        ];
        provider.kx_groups = vec![kx_group::SECP384R1];
        &[&rustls::version::TLS12]
    } else {
        // X25519 and P-256 only: rustls's server picks the first group of the client's list it
        // has, and asks for a second ClientHello when the client sent no share for it, where
        // OpenSSL's server (what such proxies run) takes the share the client sent. The client
        // prefers secp384r1 (XAPI's) and shares X25519: with secp384r1 here, every TLS 1.3
        // handshake would take a retry no OpenSSL server asks for.
        provider.kx_groups = vec![kx_group::X25519, kx_group::SECP256R1];
        &[&rustls::version::TLS13, &rustls::version::TLS12]
    };
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(provider))
        .with_protocol_versions(versions)
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(
            vec![leaf.into()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.into()),
        )
        .map_err(|e| e.to_string())?;
    config.ignore_client_order = profile == TlsProfile::Xapi;
    Ok(Arc::new(config))
}

/// OpenSSL's side, as `profile` says.
fn openssl_acceptor(
    cert: &[u8],
    key: &[u8],
    profile: TlsProfile,
) -> io::Result<openssl::ssl::SslAcceptor> {
    use openssl::ssl::{SslAcceptor, SslMethod, SslVersion};
    let setup = |e: openssl::error::ErrorStack| io::Error::other(format!("TLS setup: {e}"));
    let cert = openssl::x509::X509::from_pem(cert).map_err(setup)?;
    let key = openssl::pkey::PKey::private_key_from_pem(key).map_err(setup)?;
    let mut b = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls_server()).map_err(setup)?;
    match profile {
        TlsProfile::Modern => {}
        TlsProfile::Xapi | TlsProfile::Xapi2015 => {
            b.set_min_proto_version(Some(SslVersion::TLS1_2))
                .map_err(setup)?;
            b.set_max_proto_version(Some(SslVersion::TLS1_2))
                .map_err(setup)?;
            let ciphers = if profile == TlsProfile::Xapi {
                "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256"
            } else {
                "AES128-SHA256"
            };
            b.set_cipher_list(ciphers).map_err(setup)?;
            b.set_groups_list("secp384r1").map_err(setup)?;
            b.set_options(openssl::ssl::SslOptions::CIPHER_SERVER_PREFERENCE);
        }
        TlsProfile::Legacy => {
            // Mozilla's profile switches TLS 1.0/1.1 off by option, which no version range
            // overrides.
            b.clear_options(
                openssl::ssl::SslOptions::NO_TLSV1 | openssl::ssl::SslOptions::NO_TLSV1_1,
            );
            b.set_security_level(0);
            b.set_min_proto_version(Some(SslVersion::TLS1))
                .map_err(setup)?;
            b.set_max_proto_version(Some(SslVersion::TLS1))
                .map_err(setup)?;
            b.set_cipher_list("DEFAULT:@SECLEVEL=0").map_err(setup)?;
        }
    }
    b.set_certificate(&cert).map_err(setup)?;
    b.set_private_key(&key).map_err(setup)?;
    b.check_private_key().map_err(setup)?;
    Ok(b.build())
}
