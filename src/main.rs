//! The `xen-sr-audit` binary: parse arguments, run, print any error on one line, exit with its code.

use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    match xen_sr_audit::cli::run(std::env::args_os()) {
        Ok(code) => code,
        Err(err) => {
            // Not `eprintln!`: it panics when stderr is closed; the exit code still tells.
            let _ = writeln!(std::io::stderr(), "xen-sr-audit: error: {err:#}");
            ExitCode::from(xen_sr_audit::cli::exit_code_of(&err))
        }
    }
}
