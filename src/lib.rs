//! xen-sr-audit: the engine of an offline, read-only pre-upgrade auditor for OpenStack Nova on
//! XenServer / XCP-ng. It finds every Nova instance whose Cinder iSCSI volumes sit on SRs named with the
//! pre-Mitaka `FA15E-D15C-<volume id>` convention (live migration of those instances fails after the
//! upgrade), from offline XAPI database dumps or live XAPI endpoints, and writes reports for people
//! (HTML, Markdown) and programs (CSV, JSON). The binary in `main.rs` is a thin shell over `cli::run`.
//! ARCHITECTURE.md draws how data flows through the modules.

pub mod audit;
pub mod classify;
pub mod cli;
pub mod config;
pub mod dump;
pub mod error;
pub mod inventory;
pub mod model;
pub mod nova;
pub mod nova_db;
pub mod plan;
pub mod policy;
pub mod report;
pub mod scan;
pub mod sim;
pub mod text;
pub mod trend;
pub mod xapi;
