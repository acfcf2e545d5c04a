//! Trust on first use: connect to each https entry of an inventory (a TLS handshake, no login),
//! read the certificate it presents, and say what it is, so the operator can compare it with the
//! host console and pin it (`tls_fingerprint`). A row that is already pinned is checked, never
//! replaced: a host presenting another certificate is a finding of its own. Every handshake of one
//! run shares the run's TLS contexts (one per legacy setting), as a scan's do.

use super::http::time_left;
use super::tls::{format_fingerprint, HandshakeError, TlsContexts, TlsMode, TlsPolicy, TlsSeen};
use crate::inventory::{host_port, Entry, Source};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// What trusting one entry gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrustOutcome {
    /// Not an https entry: nothing to pin.
    Skipped(&'static str),
    /// Recorded now: the operator must compare it with the host console.
    New(TlsSeen),
    /// Already pinned, and the host presents that certificate.
    Matches(TlsSeen),
    /// Already pinned, and the host presents another certificate (the pin is kept).
    Mismatch { pinned: String, seen: TlsSeen },
    /// No handshake.
    Failed(String),
}

impl TrustOutcome {
    /// The certificate and protocol the host showed, when there was a handshake.
    pub fn seen(&self) -> Option<&TlsSeen> {
        match self {
            TrustOutcome::New(seen)
            | TrustOutcome::Matches(seen)
            | TrustOutcome::Mismatch { seen, .. } => Some(seen),
            TrustOutcome::Skipped(_) | TrustOutcome::Failed(_) => None,
        }
    }
}

/// Handshake with `host:port` (no certificate check, no login) and describe its certificate.
pub fn probe(
    contexts: &TlsContexts,
    host: &str,
    port: u16,
    legacy: bool,
    timeout: Duration,
) -> Result<TlsSeen, String> {
    let addr = (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {host}: {e}"))?
        .next()
        .ok_or_else(|| format!("{host} resolves to no address"))?;
    // One deadline for the whole probe: a host the fast path cannot agree with gets its second
    // connection (for OpenSSL's handshake) within what is left of `timeout`.
    let deadline = Instant::now() + timeout;
    let connect = || -> Result<TcpStream, String> {
        let left = time_left(deadline).ok_or_else(|| format!("{addr}: timed out"))?;
        let tcp = TcpStream::connect_timeout(&addr, left)
            .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
        tcp.set_read_timeout(Some(left))
            .map_err(|e| e.to_string())?;
        tcp.set_write_timeout(Some(left))
            .map_err(|e| e.to_string())?;
        Ok(tcp)
    };
    let policy = TlsPolicy {
        mode: TlsMode::Insecure,
        legacy,
    };
    let connector = contexts.connector(policy)?;
    match connector.handshake(host, connect()?, deadline, connect) {
        Ok((_, seen)) => Ok(seen),
        Err(HandshakeError::Tls(message) | HandshakeError::Reconnect(message)) => Err(message),
    }
}

/// Trust (or check) one entry.
pub fn trust_entry(
    contexts: &TlsContexts,
    entry: &Entry,
    legacy: bool,
    timeout: Duration,
) -> TrustOutcome {
    let Source::Url(url) = &entry.source else {
        return TrustOutcome::Skipped("a dump");
    };
    if !url.to_ascii_lowercase().starts_with("https://") {
        return TrustOutcome::Skipped("plain http");
    }
    let Some((host, port)) = host_port(url) else {
        return TrustOutcome::Failed(format!("cannot read the host of {url}"));
    };
    match probe(contexts, &host, port, legacy || entry.tls_legacy, timeout) {
        Err(e) => TrustOutcome::Failed(e),
        Ok(seen) => match entry.tls_fingerprint.map(|f| format_fingerprint(&f)) {
            None => TrustOutcome::New(seen),
            Some(pinned) if pinned == seen.fingerprint => TrustOutcome::Matches(seen),
            Some(pinned) => TrustOutcome::Mismatch { pinned, seen },
        },
    }
}

/// Trust every entry, `concurrency` at a time; results in inventory order.
pub fn trust_all(
    entries: &[Entry],
    legacy: bool,
    timeout: Duration,
    concurrency: usize,
) -> Vec<TrustOutcome> {
    let contexts = TlsContexts::new(None, Default::default());
    let next = AtomicUsize::new(0);
    let mut out: Vec<Option<TrustOutcome>> = vec![None; entries.len()];
    let slots: Vec<std::sync::Mutex<&mut Option<TrustOutcome>>> =
        out.iter_mut().map(std::sync::Mutex::new).collect();
    std::thread::scope(|s| {
        for _ in 0..concurrency.clamp(1, entries.len().max(1)) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(entry) = entries.get(i) else { break };
                let r = trust_entry(&contexts, entry, legacy, timeout);
                if let Ok(mut slot) = slots[i].lock() {
                    **slot = Some(r);
                }
            });
        }
    });
    drop(slots);
    out.into_iter()
        .map(|r| r.unwrap_or(TrustOutcome::Failed("not tried".into())))
        .collect()
}
