//! The `--nova-db` options `scan` and `capture` share, and the one step that reads every Nova
//! database before anything is scanned (a failure is one line, exit 64, and no report). The
//! databases' data joins that of the `--nova-servers`/`--nova-bdms` files through the same parser.

use super::values::{seconds_of, Seconds};
use crate::nova::NovaData;
use crate::nova_db::{read_nova_db, ConnectOptions, DbExport, NovaDbUrl, Password, SslMode};
use clap::Args;
use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Duration;

/// How long the TCP connect to a Nova database may take unless `--nova-db-connect-timeout` says
/// otherwise.
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Args)]
pub struct NovaDbArgs {
    /// Read Nova's instances and volume block device mappings from Nova's own database, read-only,
    /// in one consistent snapshot: mysql://USER@HOST[:PORT]/DATABASE (add ?socket=PATH for a local
    /// socket). The password comes from --nova-db-password-env, --nova-db-password-file or
    /// XSA_NOVA_DB_PASSWORD, never from the URL. Repeatable: one per cell database or region.
    #[arg(long, value_name = "URL")]
    pub nova_db: Vec<String>,
    /// The environment variable holding the Nova database password.
    #[arg(long, value_name = "NAME")]
    pub nova_db_password_env: Option<String>,
    /// A file holding the Nova database password (one line).
    #[arg(long, value_name = "FILE")]
    pub nova_db_password_file: Option<PathBuf>,
    /// TLS to the Nova database: verify-identity (chain and host name), verify-ca (chain only),
    /// required (encrypted, certificate unchecked) or disabled (plain: only when asked).
    #[arg(long, value_enum, value_name = "MODE", default_value_t = SslMode::VerifyIdentity)]
    pub nova_db_ssl_mode: SslMode,
    /// Extra CA certificates (PEM) trusted for the Nova database (with the system roots).
    #[arg(long, value_name = "FILE")]
    pub nova_db_ca_file: Option<PathBuf>,
    /// How long the TCP connect to a Nova database may take, in seconds (each wait for its answers,
    /// the greeting and login included, is bounded by --timeout).
    #[arg(long, default_value_t = Seconds(DEFAULT_CONNECT_TIMEOUT), value_name = "SECS", value_parser = seconds_of("nova-db-connect-timeout"))]
    pub nova_db_connect_timeout: Seconds,
}

impl NovaDbArgs {
    /// Read every `--nova-db`, in order; `read_timeout` bounds each read of an answer.
    pub fn read_all(&self, read_timeout: Duration) -> anyhow::Result<Vec<DbExport>> {
        if self.nova_db.is_empty() {
            return Ok(Vec::new());
        }
        let urls = self
            .nova_db
            .iter()
            .map(|u| NovaDbUrl::parse(u))
            .collect::<Result<Vec<_>, _>>()?;
        let opts = ConnectOptions {
            password: Password::resolve(
                self.nova_db_password_env.as_deref(),
                self.nova_db_password_file.as_deref(),
            )?,
            ssl_mode: self.nova_db_ssl_mode,
            ca_file: self.nova_db_ca_file.clone(),
            connect_timeout: self.nova_db_connect_timeout.0,
            read_timeout,
        };
        let mut out = Vec::new();
        for url in &urls {
            out.push(read_nova_db(url, &opts)?);
        }
        Ok(out)
    }
}

/// Add what the databases gave to what the files gave, through the exports' parser; an instance
/// listed twice (in two cells, or in a file and a database) is an error, as across files.
pub fn add_exports(data: &mut NovaData, exports: &[DbExport]) -> anyhow::Result<()> {
    if exports.is_empty() {
        return Ok(());
    }
    let servers = data.servers.get_or_insert_with(Vec::new);
    let mut seen: HashSet<String> = servers.iter().map(|s| s.uuid.clone()).collect();
    for export in exports {
        for s in export.servers()? {
            if !seen.insert(s.uuid.clone()) {
                return Err(crate::error::InputError::Duplicate {
                    what: format!("instance {}", s.uuid),
                    at: s.source,
                }
                .into());
            }
            servers.push(s);
        }
    }
    let bdms = data.bdms.get_or_insert_with(Vec::new);
    for export in exports {
        bdms.extend(export.bdms()?);
    }
    Ok(())
}
