//! Ctrl-C (SIGINT), SIGTERM and SIGHUP during a run. The first signal sets the run's cancel flag:
//! the scan stops taking entries, logs out every XAPI session it opened (bounded, see
//! `scan::LOGOUT_GRACE`) and writes the partial report; the process then exits 128 + the signal's
//! number (130 for Ctrl-C, 143 for SIGTERM), as shells and `timeout` expect. A second signal exits
//! at once, without waiting for anything: the way out for someone who does not want to wait.
//!
//! One listener thread per process (signal handlers are process-wide); each run installs its own
//! flag, so a second run in the same process (tests) starts uncancelled.

use super::output::console;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

/// The run's cancel flag and the signal that set it.
#[derive(Debug, Default)]
pub struct Interrupt {
    cancel: Arc<AtomicBool>,
    signal: AtomicI32,
}

impl Interrupt {
    /// The flag the scan polls.
    pub fn flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.cancel)
    }

    /// The exit code of an interrupted run: 128 + the signal's number (130 when none was seen).
    pub fn exit_code(&self) -> u8 {
        exit_code_for(self.signal.load(Ordering::SeqCst))
    }

    /// Record `signal`; true when the run was already cancelled (a second signal).
    fn record(&self, signal: i32) -> bool {
        let _ = self
            .signal
            .compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst);
        self.cancel.swap(true, Ordering::SeqCst)
    }
}

/// 128 + `signal`, the shell's convention; 130 (SIGINT) when no signal is known.
fn exit_code_for(signal: i32) -> u8 {
    match u8::try_from(signal) {
        Ok(s) if s > 0 && s < 128 => 128 + s,
        _ => crate::policy::gate::exit::INTERRUPTED,
    }
}

/// The run the listener thread cancels.
static CURRENT: Mutex<Option<Arc<Interrupt>>> = Mutex::new(None);

/// Start (once per process) the listener, and make a fresh `Interrupt` the one signals cancel.
pub fn install() -> Arc<Interrupt> {
    static LISTENER: OnceLock<()> = OnceLock::new();
    LISTENER.get_or_init(start_listener);
    let run = Arc::new(Interrupt::default());
    *CURRENT.lock().unwrap_or_else(|e| e.into_inner()) = Some(Arc::clone(&run));
    run
}

/// The thread that turns signals into cancels. Without it (signals cannot be caught) the run simply
/// ends as the default signal action ends it.
fn start_listener() {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) else {
        return;
    };
    let _ = std::thread::Builder::new()
        .name("xsa-signals".into())
        .spawn(move || {
            for signal in signals.forever() {
                on_signal(signal);
            }
        });
}

fn on_signal(signal: i32) {
    let run = CURRENT.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let Some(run) = run else {
        std::process::exit(i32::from(exit_code_for(signal)));
    };
    if run.record(signal) {
        console!(
            "xen-sr-audit: interrupted again: exiting now, without logging out or writing reports"
        );
        std::process::exit(i32::from(exit_code_for(signal)));
    }
    console!("xen-sr-audit: interrupted: logging out of open sessions and writing what finished (interrupt again to exit at once)");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_code_is_128_plus_the_signal() {
        for (signal, want) in [
            (2, 130),
            (15, 143),
            (1, 129),
            (0, 130),
            (-1, 130),
            (200, 130),
        ] {
            assert_eq!(exit_code_for(signal), want, "signal {signal}");
        }
    }

    #[test]
    fn the_first_signal_is_kept_and_a_second_is_seen_as_such() {
        let run = Interrupt::default();
        assert!(!run.record(15));
        assert!(run.flag().load(Ordering::SeqCst));
        assert!(run.record(2));
        assert_eq!(run.exit_code(), 143);
    }
}
