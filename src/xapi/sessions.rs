//! The XAPI sessions a scan holds open, so that an interrupted scan can log every one of them out.
//! XAPI keeps a session until it is logged out or expires (24 h) and caps them at 500 per user: a job
//! that keeps being interrupted (a cancelled CI job, `timeout`, systemd stop) would otherwise lock
//! its user out. Each session is logged out exactly once: by the worker that opened it when it ends,
//! or by [`OpenSessions::logout_all`] on an interrupt, whichever takes it from the registry first.
//! The interrupt path logs out on fresh connections, so a worker blocked in a long call does not
//! hold its session open until that call ends.

use super::client::{Connection, HttpClients};
use super::tls::TlsPolicy;
use crate::config::LiveOptions;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Where a session lives and how to reach it again.
#[derive(Debug, Clone)]
struct OpenSession {
    url: String,
    name: String,
    tls: TlsPolicy,
    session: String,
}

/// The open sessions of one scan, by a number the opener keeps.
#[derive(Debug, Default)]
pub struct OpenSessions {
    next: AtomicU64,
    open: Mutex<BTreeMap<u64, OpenSession>>,
    /// Logins sent (or about to be) whose session is not registered yet.
    logging_in: AtomicUsize,
    /// Workers logging out their own session (their data is fetched): an interrupt waits for them.
    logging_out: AtomicUsize,
    /// Worker logouts that have answered (or failed), ever: the interrupt path watches it grow.
    logged_out: AtomicU64,
}

/// A login in flight, counted from before its cancel check until its session is registered: an
/// interrupt either sees the login coming (and waits for its session) or the login sees the
/// interrupt (and is not sent).
#[derive(Debug)]
pub struct LoginInFlight<'a>(&'a AtomicUsize);

impl Drop for LoginInFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A worker's own logout, counted from before it takes its session until the logout answered: an
/// interrupt neither misses the session (taken from the registry) nor exits before it is logged out.
#[derive(Debug)]
pub struct LogoutInFlight<'a>(&'a OpenSessions);

impl Drop for LogoutInFlight<'_> {
    fn drop(&mut self) {
        self.0.logged_out.fetch_add(1, Ordering::SeqCst);
        self.0.logging_out.fetch_sub(1, Ordering::SeqCst);
    }
}

/// What [`OpenSessions::register`] hands back: the key to take the session again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionKey(u64);

impl OpenSessions {
    /// Record a session just opened at `url` for entry `name`.
    pub fn register(&self, url: &str, name: &str, tls: TlsPolicy, session: &str) -> SessionKey {
        let key = self.next.fetch_add(1, Ordering::Relaxed);
        self.lock().insert(
            key,
            OpenSession {
                url: url.to_string(),
                name: name.to_string(),
                tls,
                session: session.to_string(),
            },
        );
        SessionKey(key)
    }

    /// Take the session back to log it out; false when the interrupt path already took it.
    pub fn take(&self, key: SessionKey) -> bool {
        self.lock().remove(&key.0).is_some()
    }

    /// Count a login from now until the guard is dropped (after `register`).
    pub fn login_in_flight(&self) -> LoginInFlight<'_> {
        self.logging_in.fetch_add(1, Ordering::SeqCst);
        LoginInFlight(&self.logging_in)
    }

    /// Count a worker's own logout from now until the guard is dropped (after the logout answered).
    pub fn logout_in_flight(&self) -> LogoutInFlight<'_> {
        self.logging_out.fetch_add(1, Ordering::SeqCst);
        LogoutInFlight(self)
    }

    /// How many worker logouts have ended so far.
    pub fn worker_logouts_ended(&self) -> u64 {
        self.logged_out.load(Ordering::SeqCst)
    }

    /// No session open, no login and no worker's logout in flight: nothing left to log out.
    pub fn settled(&self) -> bool {
        self.logging_in.load(Ordering::SeqCst) == 0
            && self.logging_out.load(Ordering::SeqCst) == 0
            && self.is_empty()
    }

    /// How many sessions are open now.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, OpenSession>> {
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Take every open session and log each out on its own thread and connection, waiting at most
    /// until `until`. Returns the threads still running (their logout had not answered yet).
    pub fn logout_all(
        &self,
        clients: &std::sync::Arc<HttpClients>,
        live: &LiveOptions,
        until: Instant,
    ) -> Vec<std::thread::JoinHandle<()>> {
        let taken: Vec<OpenSession> = std::mem::take(&mut *self.lock()).into_values().collect();
        taken
            .into_iter()
            .filter_map(|s| {
                let clients = std::sync::Arc::clone(clients);
                let live = live.clone();
                std::thread::Builder::new()
                    .name("xsa-logout".into())
                    .spawn(move || logout_one(&clients, &live, &s, until))
                    .ok()
            })
            .collect()
    }
}

/// Log one session out, within what is left of the interrupt's grace period.
fn logout_one(clients: &HttpClients, live: &LiveOptions, s: &OpenSession, until: Instant) {
    let left = until.saturating_duration_since(Instant::now());
    if left < Duration::from_millis(10) {
        return;
    }
    if let Ok(mut conn) = Connection::new(clients, &s.url, &s.name, s.tls, live) {
        conn.logout_within(&s.session, left);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> TlsPolicy {
        TlsPolicy {
            mode: super::super::tls::TlsMode::Verified,
            legacy: false,
        }
    }

    #[test]
    fn a_session_is_taken_once() {
        let open = OpenSessions::default();
        let a = open.register("http://127.0.0.1:1/", "a", policy(), "OpaqueRef:a");
        let b = open.register("http://127.0.0.1:1/", "b", policy(), "OpaqueRef:b");
        assert_ne!(a, b);
        assert_eq!(open.len(), 2);
        assert!(open.take(a));
        assert!(
            !open.take(a),
            "a session taken twice would be logged out twice"
        );
        assert_eq!(open.len(), 1);
        assert!(open.take(b));
        assert!(open.is_empty());
    }

    #[test]
    fn a_login_in_flight_keeps_the_registry_unsettled_until_registered() {
        let open = OpenSessions::default();
        assert!(open.settled());
        let in_flight = open.login_in_flight();
        assert!(
            !open.settled(),
            "a login on the wire may still open a session"
        );
        let key = open.register("http://127.0.0.1:1/", "a", policy(), "OpaqueRef:a");
        drop(in_flight);
        assert!(!open.settled(), "the session is open");
        assert!(open.take(key));
        assert!(open.settled());
    }

    #[test]
    fn a_workers_own_logout_keeps_the_registry_unsettled_until_it_answered() {
        let open = OpenSessions::default();
        let key = open.register("http://127.0.0.1:1/", "a", policy(), "OpaqueRef:a");
        let logging_out = open.logout_in_flight();
        assert!(open.take(key));
        assert!(!open.settled(), "the logout has not answered yet");
        assert_eq!(open.worker_logouts_ended(), 0);
        drop(logging_out);
        assert!(open.settled());
        assert_eq!(open.worker_logouts_ended(), 1);
    }
}
