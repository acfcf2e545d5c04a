//! A TCP stream whose every read and write ends by a deadline, for the TLS layers. They read the
//! socket several times per record (and per handshake message) before they return anything, so a
//! deadline checked above them runs once per record: a host that sends a byte at a time, each
//! within the socket's timeout, could stretch a call far past its time. Under TLS, each socket
//! read and write gets the time left instead, and none starts once it is gone.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// A TCP stream bounded by a deadline (moved with [`DeadlineStream::set_deadline`] per call).
#[derive(Debug)]
pub struct DeadlineStream {
    tcp: TcpStream,
    deadline: Instant,
    /// The socket timeout set now: set again only when the time left falls well below it (or
    /// rises above it), so a fast exchange makes few system calls.
    timeout: Duration,
}

impl DeadlineStream {
    pub fn new(tcp: TcpStream, deadline: Instant) -> DeadlineStream {
        DeadlineStream {
            tcp,
            deadline,
            timeout: Duration::ZERO,
        }
    }

    pub fn set_deadline(&mut self, deadline: Instant) {
        self.deadline = deadline;
    }

    pub fn tcp(&self) -> &TcpStream {
        &self.tcp
    }

    /// The socket's timeouts at most the time left (within 10%), or an error when none is left.
    fn bound(&mut self) -> io::Result<()> {
        let left = self
            .deadline
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
            .ok_or_else(|| io::Error::new(io::ErrorKind::TimedOut, "timed out"))?;
        if left < self.timeout.mul_f32(0.9) || left > self.timeout {
            self.tcp.set_read_timeout(Some(left))?;
            self.tcp.set_write_timeout(Some(left))?;
            self.timeout = left;
        }
        Ok(())
    }
}

impl Read for DeadlineStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.bound()?;
        self.tcp.read(buf)
    }
}

impl Write for DeadlineStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.bound()?;
        self.tcp.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.tcp.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn no_read_or_write_starts_after_the_deadline_and_each_waits_at_most_the_time_left() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let tcp = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (_peer, _) = listener.accept().unwrap();
        let mut s = DeadlineStream::new(tcp, Instant::now() + Duration::from_millis(300));
        // A silent peer: the read waits for the time left, not for ever.
        let started = Instant::now();
        let e = s.read(&mut [0u8; 1]).unwrap_err();
        assert!(
            matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ),
            "{e:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(5));
        // The deadline gone: nothing starts.
        for e in [
            s.read(&mut [0u8; 1]).unwrap_err(),
            s.write(b"x").unwrap_err(),
        ] {
            assert_eq!(e.kind(), io::ErrorKind::TimedOut);
        }
        // A new deadline: writes go through again.
        s.set_deadline(Instant::now() + Duration::from_secs(5));
        assert_eq!(s.write(b"x").unwrap(), 1);
    }
}
