//! Standard output for the commands that print their result there (`diff`, `inspect-dump`, `trust`,
//! `man`, `completions`, `--help`). `println!` panics when stdout is a closed pipe
//! (`xen-sr-audit diff A B | head`); here every write is checked instead: a closed pipe becomes
//! [`StdoutClosed`], which the command line treats as a normal end (exit 0, as `head` asked for no
//! more), and any other failure to write is an output error (exit 74) naming standard output.
//! Standard error (progress, console lines, warnings) goes through [`console!`], which never
//! panics: `eprintln!` panics when stderr is closed (`scan ... 2>&1 | head -3`), and a console
//! nobody reads any more must never cost the reports, so a failed write to stderr is dropped.
//! Also the small formatting helpers for what people read there (sizes).

use crate::error::ReportError;
use std::io::Write;

/// The reader of stdout went away (`| head`): not an error, the output is simply no longer wanted.
#[derive(Debug, thiserror::Error)]
#[error("standard output was closed")]
pub struct StdoutClosed;

/// Write `text` to stdout and flush it; a closed pipe is [`StdoutClosed`], any other failure a
/// [`ReportError`] naming standard output.
pub fn write_stdout(text: impl AsRef<[u8]>) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_ref())
        .and_then(|()| out.flush())
        .map_err(stdout_error)
}

/// Like `println!`, through [`write_stdout`].
pub fn print_line(line: impl std::fmt::Display) -> anyhow::Result<()> {
    write_stdout(format!("{line}\n"))
}

/// Stdout for a command whose real result goes elsewhere (`trust` writes a file): once the reader
/// of stdout has gone, the listing stops and the command carries on.
#[derive(Debug, Default)]
pub struct Listing {
    closed: bool,
}

impl Listing {
    /// Print one line unless stdout was closed; any other failure to write is an error.
    pub fn line(&mut self, line: impl std::fmt::Display) -> anyhow::Result<()> {
        if self.closed {
            return Ok(());
        }
        match print_line(line) {
            Err(e) if is_stdout_closed(&e) => {
                self.closed = true;
                Ok(())
            }
            other => other,
        }
    }
}

/// Write one line to stderr; a failure to write (stderr closed) is ignored: the console is a
/// courtesy, the reports are the result.
pub fn console_line(line: std::fmt::Arguments<'_>) {
    let mut err = std::io::stderr().lock();
    let _ = err.write_fmt(line).and_then(|()| err.write_all(b"\n"));
}

/// Like `eprintln!`, but a closed or failing stderr is ignored instead of panicking.
macro_rules! console {
    ($($arg:tt)*) => {
        $crate::cli::output::console_line(format_args!($($arg)*))
    };
}
pub(crate) use console;

fn stdout_error(cause: std::io::Error) -> anyhow::Error {
    if cause.kind() == std::io::ErrorKind::BrokenPipe {
        StdoutClosed.into()
    } else {
        ReportError::Io {
            path: "standard output".into(),
            cause,
        }
        .into()
    }
}

/// Whether an error only says that stdout was closed by its reader.
pub fn is_stdout_closed(err: &anyhow::Error) -> bool {
    err.chain().any(|c| c.is::<StdoutClosed>())
}

/// A size for people: `483 bytes`, `80.5 KiB`, `1.2 MiB`, `3.4 GiB` (never "0.0 MB").
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return crate::text::count(bytes as usize, "byte");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if value < 10.0 {
        format!("{value:.1} {}", UNITS[unit])
    } else {
        format!("{value:.0} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_people_write_them() {
        for (bytes, want) in [
            (0, "0 bytes"),
            (1, "1 byte"),
            (483, "483 bytes"),
            (1023, "1023 bytes"),
            (1024, "1.0 KiB"),
            (82_432, "80 KiB"),
            (9_000, "8.8 KiB"),
            (1_258_291, "1.2 MiB"),
            (3_650_722_202, "3.4 GiB"),
        ] {
            assert_eq!(human_size(bytes), want, "{bytes}");
        }
    }

    #[test]
    fn a_broken_pipe_is_a_normal_end_and_other_failures_are_output_errors() {
        let closed = stdout_error(std::io::Error::from(std::io::ErrorKind::BrokenPipe));
        assert!(is_stdout_closed(&closed));
        let full = stdout_error(std::io::Error::other("no space left on device"));
        assert!(!is_stdout_closed(&full));
        assert!(full.is::<ReportError>(), "{full}");
        assert!(full.to_string().contains("standard output"), "{full}");
    }
}
