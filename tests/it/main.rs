//! Every integration test in one binary, one module per former `tests/*.rs` file, so the suite links
//! once (each file used to link its own ~160 MB binary). `util` is the shared harness: the command
//! builder that runs the real binaries, temporary folders, parsers of the outputs. Run one file's
//! tests with `cargo test --test it live::`, one test by its name as before.

mod util;

mod architecture;
mod baselines;
mod capture;
mod cli;
mod connect_timeout;
mod contrib;
mod counts;
mod demo_reports;
mod docs;
mod dump_corpus;
mod handwritten;
mod http;
mod independent;
mod interrupts;
mod live;
mod messages;
mod nova;
mod nova_db;
mod nova_exact;
mod outputs;
mod plan;
mod promises;
mod readme_defaults;
mod report_writing;
mod reports;
mod runs;
mod tls;
mod tls_contexts;
mod trend;
