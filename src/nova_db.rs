//! Nova's own database as a source, so a scheduled job needs no hand-made exports: `--nova-db
//! mysql://USER@HOST[:PORT]/DATABASE` (one per cell database or region) is read in one read-only,
//! consistent snapshot and turned into the very text of the two exports `--nova-servers` and
//! `--nova-bdms` take (`mysql --batch` tables), which `nova` then parses exactly as it parses the
//! files: one code path after reading, and `capture` writes that same text as evidence.
//!
//! Safety, in order: the password comes by reference (an environment variable or a file, never the
//! URL nor the command line) and is never printed; the connection is verified TLS unless plain is
//! asked for; the session is set read-only before anything is read, then one `START TRANSACTION WITH
//! CONSISTENT SNAPSHOT, READ ONLY` holds the `SELECT`s (so the two tables are read as of one moment
//! and a mistake cannot write); `auth_password` (and every other `*password*`/`*secret*` key of
//! `connection_info`) is dropped as each row is read. Every failure (unreachable, wrong credentials,
//! missing privilege, not a Nova database, a schema of another release) is one [`NovaDbError`] line
//! naming the database, never the password.

use crate::error::InputError;
use crate::model::{NovaBdm, NovaServer};
use mysql::prelude::Queryable;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The environment variable read for the password when no other source is named.
pub const PASSWORD_ENV_DEFAULT: &str = "XSA_NOVA_DB_PASSWORD";

/// The columns read from `instances`, in the order of the servers export (`id` last: the parser
/// reads columns by name, and an integer last keeps a name's stray carriage return inside its cell).
const INSTANCE_COLUMNS: &[&str] = &[
    "uuid",
    "display_name",
    "vm_state",
    "power_state",
    "host",
    "node",
    "project_id",
    "id",
];

/// The columns read from `block_device_mapping`, in the order of the BDM export.
const BDM_COLUMNS: &[&str] = &[
    "instance_uuid",
    "volume_id",
    "device_name",
    "boot_index",
    "connection_info",
    "id",
];

/// Columns only filtered on (they must exist too).
const INSTANCE_FILTERS: &[&str] = &["deleted"];
const BDM_FILTERS: &[&str] = &["deleted", "destination_type"];

/// A Nova database failure: fatal for the run before anything is scanned (exit code 64). `target`
/// is the URL as shown (it never holds a password).
#[derive(Debug, thiserror::Error)]
pub enum NovaDbError {
    #[error("--nova-db {shown}: {message}")]
    Url { shown: String, message: String },
    #[error("--nova-db password: {message}")]
    Password { message: String },
    #[error("--nova-db {target}: {message}")]
    Database { target: String, message: String },
}

/// How the connection is secured (`--nova-db-ssl-mode`, named as MySQL's own client names them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    /// Plain TCP: only when asked for.
    Disabled,
    /// Encrypted, the server's certificate not checked.
    Required,
    /// Encrypted, the certificate chain checked against the system roots and `--nova-db-ca-file`.
    VerifyCa,
    /// As `VerifyCa`, and the certificate must name the host of the URL (the default).
    VerifyIdentity,
}

impl SslMode {
    pub const NAMES: &'static str = "disabled, required, verify-ca, verify-identity";

    pub fn parse(s: &str) -> Option<SslMode> {
        match s.trim().to_ascii_lowercase().replace('_', "-").as_str() {
            "disabled" => Some(SslMode::Disabled),
            "required" => Some(SslMode::Required),
            "verify-ca" => Some(SslMode::VerifyCa),
            "verify-identity" => Some(SslMode::VerifyIdentity),
            _ => None,
        }
    }
}

/// A password read from its reference; its `Debug` never shows it.
#[derive(Clone, Default)]
pub struct Password(Option<String>);

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() {
            "Password(***)"
        } else {
            "Password(none)"
        })
    }
}

impl Password {
    /// The password from `--nova-db-password-env NAME`, `--nova-db-password-file FILE`, or
    /// [`PASSWORD_ENV_DEFAULT`] (none at all when that is unset: socket authentication needs none).
    pub fn resolve(env: Option<&str>, file: Option<&Path>) -> Result<Password, NovaDbError> {
        let fail = |message: String| NovaDbError::Password { message };
        match (env, file) {
            (Some(_), Some(_)) => Err(fail(
                "give --nova-db-password-env or --nova-db-password-file, not both".into(),
            )),
            (Some(name), None) => match std::env::var(name) {
                Ok(v) => Ok(Password(Some(v))),
                Err(_) => Err(fail(format!(
                    "--nova-db-password-env {name}: the variable is not set"
                ))),
            },
            (None, Some(path)) => match std::fs::read_to_string(path) {
                Ok(v) => Ok(Password(Some(v.trim_end_matches(['\r', '\n']).to_string()))),
                Err(e) => Err(fail(format!(
                    "--nova-db-password-file {}: cannot read: {e}",
                    path.display()
                ))),
            },
            (None, None) => Ok(Password(std::env::var(PASSWORD_ENV_DEFAULT).ok())),
        }
    }
}

/// Everything about how to connect, shared by every `--nova-db` of a run.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    pub password: Password,
    pub ssl_mode: SslMode,
    /// Extra CA certificates (PEM) for `verify-ca` / `verify-identity`.
    pub ca_file: Option<PathBuf>,
    /// Bounds the TCP connect.
    pub connect_timeout: Duration,
    /// Bounds each wait for the server (its greeting, the TLS handshake, the login, each answer).
    pub read_timeout: Duration,
}

/// One `--nova-db` URL: `mysql://USER@HOST[:PORT]/DATABASE`, optionally `?socket=PATH` for a local
/// unix socket (TLS does not apply there).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NovaDbUrl {
    pub user: String,
    pub host: String,
    pub port: u16,
    pub database: String,
    pub socket: Option<String>,
}

impl fmt::Display for NovaDbUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        write!(
            f,
            "mysql://{}@{host}:{}/{}",
            self.user, self.port, self.database
        )?;
        match &self.socket {
            Some(s) => write!(f, "?socket={s}"),
            None => Ok(()),
        }
    }
}

/// The URL as it may be shown: a password in it is masked (it is an error anyway).
fn masked(raw: &str) -> String {
    let Some((scheme, rest)) = raw.split_once("://") else {
        return raw.to_string();
    };
    match rest.split_once('@') {
        Some((userinfo, after)) if userinfo.contains(':') => {
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***@{after}")
        }
        _ => raw.to_string(),
    }
}

impl NovaDbUrl {
    /// Parse and check a `--nova-db` URL; the error shows it with any password masked.
    pub fn parse(raw: &str) -> Result<NovaDbUrl, NovaDbError> {
        let shown = masked(raw.trim());
        let fail = |message: &str| NovaDbError::Url {
            shown: shown.clone(),
            message: message.to_string(),
        };
        let rest = raw
            .trim()
            .strip_prefix("mysql://")
            .ok_or_else(|| fail("expected mysql://USER@HOST[:PORT]/DATABASE"))?;
        let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (userinfo, rest) = rest
            .split_once('@')
            .ok_or_else(|| fail("name the user: mysql://USER@HOST[:PORT]/DATABASE"))?;
        if userinfo.contains(':') {
            return Err(fail("the password never goes in the URL: use --nova-db-password-env, --nova-db-password-file or XSA_NOVA_DB_PASSWORD"));
        }
        let (authority, database) = rest
            .split_once('/')
            .ok_or_else(|| fail("name the database: mysql://USER@HOST[:PORT]/DATABASE"))?;
        let (host, port) = split_host_port(authority).ok_or_else(|| fail("bad HOST[:PORT]"))?;
        let socket = socket_of(query).map_err(|m| fail(&m))?;
        let valid = |s: &str| !s.is_empty() && !s.contains(['/', '@', ' ', '`', '\'', '"']);
        if !valid(userinfo) || !valid(&host) || !valid(database) {
            return Err(fail(
                "user, host and database must all be given, without spaces or quotes",
            ));
        }
        Ok(NovaDbUrl {
            user: userinfo.to_string(),
            host,
            port,
            database: database.to_string(),
            socket,
        })
    }

    /// The TLS mode in effect: a unix socket is local, so TLS does not apply.
    fn effective_ssl(&self, mode: SslMode) -> SslMode {
        if self.socket.is_some() {
            SslMode::Disabled
        } else {
            mode
        }
    }
}

/// `HOST`, `HOST:PORT`, `[V6]` or `[V6]:PORT` (port 3306 by default).
fn split_host_port(authority: &str) -> Option<(String, u16)> {
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (h, after) = v6.split_once(']')?;
        (h, after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    let port = match port {
        None => 3306,
        Some(p) => p.parse::<u16>().ok().filter(|p| *p != 0)?,
    };
    Some((host.to_string(), port))
}

/// The only query parameter accepted: `socket=PATH`.
fn socket_of(query: &str) -> Result<Option<String>, String> {
    let mut socket = None;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("socket", path)) if !path.is_empty() => socket = Some(path.to_string()),
            _ => {
                return Err(format!(
                    "unknown URL parameter {:?} (only socket=PATH is accepted; TLS has its own options)",
                    pair.split('=').next().unwrap_or_default()
                ))
            }
        }
    }
    Ok(socket)
}

/// What one Nova database gave: the two exports' text, exactly as `mysql --batch` prints them,
/// secrets already dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbExport {
    /// The URL as shown (no password).
    pub label: String,
    /// `instances` where `deleted = 0`.
    pub servers_tsv: String,
    /// `block_device_mapping` where `deleted = 0 AND destination_type = 'volume'`.
    pub bdms_tsv: String,
}

impl DbExport {
    /// The servers, through the same parser as a `--nova-servers` file.
    pub fn servers(&self) -> Result<Vec<NovaServer>, InputError> {
        crate::nova::servers_from_text(
            Path::new(&format!("{} instances", self.label)),
            &self.servers_tsv,
        )
    }

    /// The BDMs, through the same parser as a `--nova-bdms` file.
    pub fn bdms(&self) -> Result<Vec<NovaBdm>, InputError> {
        crate::nova::bdms_from_text(
            Path::new(&format!("{} block_device_mapping", self.label)),
            &self.bdms_tsv,
        )
    }
}

/// A session opened read-only: the session's transactions default to READ ONLY, and one READ ONLY
/// transaction with a consistent snapshot is open.
pub struct ReadOnlySession {
    conn: mysql::Conn,
    target: String,
}

/// Connect and open the read-only snapshot.
pub fn open_read_only(
    url: &NovaDbUrl,
    opts: &ConnectOptions,
) -> Result<ReadOnlySession, NovaDbError> {
    let target = url.to_string();
    let conn = mysql::Conn::new(builder_of(url, opts)?)
        .map_err(|e| database_error(&target, url, opts, e))?;
    let mut session = ReadOnlySession { conn, target };
    for statement in [
        "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ",
        "SET SESSION TRANSACTION READ ONLY",
        "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY",
    ] {
        session.run(statement)?;
    }
    Ok(session)
}

/// The driver's options: prefer_socket off (the driver would otherwise leave TLS for a local
/// socket it discovers), no compression, no LOCAL INFILE, timeouts on every step.
fn builder_of(url: &NovaDbUrl, opts: &ConnectOptions) -> Result<mysql::OptsBuilder, NovaDbError> {
    let ssl = match url.effective_ssl(opts.ssl_mode) {
        SslMode::Disabled => None,
        mode => {
            if let Some(ca) = &opts.ca_file {
                std::fs::metadata(ca).map_err(|e| NovaDbError::Database {
                    target: url.to_string(),
                    message: format!("--nova-db-ca-file {}: cannot read: {e}", ca.display()),
                })?;
            }
            Some(
                mysql::SslOpts::default()
                    .with_root_cert_path(opts.ca_file.clone())
                    .with_danger_accept_invalid_certs(mode == SslMode::Required)
                    .with_danger_skip_domain_validation(mode != SslMode::VerifyIdentity),
            )
        }
    };
    Ok(mysql::OptsBuilder::new()
        .ip_or_hostname(Some(url.host.clone()))
        .tcp_port(url.port)
        .socket(url.socket.clone())
        .prefer_socket(url.socket.is_some())
        .user(Some(url.user.clone()))
        .pass(opts.password.0.clone())
        .db_name(Some(url.database.clone()))
        .ssl_opts(ssl)
        .tcp_connect_timeout(Some(opts.connect_timeout))
        .read_timeout(Some(opts.read_timeout))
        .write_timeout(Some(opts.read_timeout))
        .stmt_cache_size(0))
}

/// A timeout: of the TCP connect (`--nova-db-connect-timeout`) or of an answer (`--timeout`).
fn no_answer(limit: Duration, option: &str) -> String {
    format!(
        "unreachable: no answer within {}s ({option})",
        limit.as_secs_f64()
    )
}

/// One line for a driver error: what happened and what to do, never the password.
fn database_error(
    target: &str,
    url: &NovaDbUrl,
    opts: &ConnectOptions,
    err: mysql::Error,
) -> NovaDbError {
    let grant = format!(
        "GRANT SELECT ON {db}.instances TO ...; GRANT SELECT ON {db}.block_device_mapping TO ...",
        db = url.database
    );
    let message = match err {
        mysql::Error::IoError(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
            ) =>
        {
            no_answer(opts.read_timeout, "--timeout")
        }
        mysql::Error::DriverError(mysql::DriverError::ConnectTimeout) => {
            no_answer(opts.connect_timeout, "--nova-db-connect-timeout")
        }
        mysql::Error::DriverError(mysql::DriverError::Timeout) => {
            no_answer(opts.read_timeout, "--timeout")
        }
        mysql::Error::DriverError(mysql::DriverError::CouldNotConnect(Some((addr, why, _)))) => {
            format!("unreachable: cannot connect to {addr}: {why}")
        }
        mysql::Error::CodecError(mysql_common::proto::codec::error::PacketCodecError::Io(e))
            if matches!(
                e.kind(),
                std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
            ) =>
        {
            no_answer(opts.read_timeout, "--timeout")
        }
        mysql::Error::IoError(e) => format!("unreachable: {e}"),
        mysql::Error::DriverError(mysql::DriverError::TlsNotSupported) => {
            "TLS: the server does not offer TLS (--nova-db-ssl-mode disabled reads it in plain text, only if that is acceptable)".to_string()
        }
        mysql::Error::MySqlError(e) => match e.code {
            1045 => format!(
                "wrong credentials: access denied for user {:?} (check the password's source: --nova-db-password-env, --nova-db-password-file or {PASSWORD_ENV_DEFAULT})",
                url.user
            ),
            1044 | 1142 | 1143 => format!("missing privilege: {} (the user needs: {grant})", e.message),
            1049 => format!("no database {:?} on this server", url.database),
            1146 => format!("{}: not a Nova database?", e.message),
            1054 => format!("{}: a schema from another Nova release?", e.message),
            _ => format!("the server refused: {} (error {})", e.message, e.code),
        },
        mysql::Error::DriverError(e) => format!("{e}"),
        mysql::Error::TlsError(e) => format!("TLS: {e} (--nova-db-ssl-mode, --nova-db-ca-file)"),
        other => format!("{other}"),
    };
    NovaDbError::Database {
        target: target.to_string(),
        message,
    }
}

impl ReadOnlySession {
    fn fail(&self, message: String) -> NovaDbError {
        NovaDbError::Database {
            target: self.target.clone(),
            message,
        }
    }

    /// Run one statement of the session's own (a setting or a transaction boundary).
    fn run(&mut self, statement: &str) -> Result<(), NovaDbError> {
        self.conn.query_drop(statement).map_err(|e| {
            self.fail(format!(
                "cannot open a read-only snapshot ({statement}): {e}"
            ))
        })
    }

    /// Run any statement in this session and report how many rows it changed. The scan never calls
    /// it with anything but `SELECT`; it is public so a test can show that a write is refused here.
    pub fn attempt(&mut self, statement: &str) -> Result<u64, String> {
        self.conn
            .query_iter(statement)
            .map(|r| r.affected_rows())
            .map_err(|e| e.to_string())
    }

    /// The columns of `table` this user can see, in this database.
    fn columns_of(&mut self, table: &str) -> Result<Vec<String>, NovaDbError> {
        let sql = format!(
            "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '{table}'"
        );
        self.conn
            .query::<String, _>(sql)
            .map(|cols| cols.into_iter().map(|c| c.to_ascii_lowercase()).collect())
            .map_err(|e| self.fail(format!("cannot read the schema: {e}")))
    }

    /// The wanted columns of `table` that are not there (the table itself must be, and be readable).
    fn missing_columns(
        &mut self,
        table: &str,
        wanted: &[&str],
        url: &NovaDbUrl,
        opts: &ConnectOptions,
    ) -> Result<Vec<String>, NovaDbError> {
        let have = self.columns_of(table)?;
        if have.is_empty() {
            // Missing, or invisible for lack of a privilege: the server says which.
            let probe = format!("SELECT 1 FROM {table} LIMIT 0");
            if let Err(e) = self.conn.query_drop(&probe) {
                return Err(database_error(&self.target, url, opts, e));
            }
        }
        let missing: Vec<String> = wanted
            .iter()
            .filter(|c| !have.iter().any(|h| h == *c))
            .map(|c| format!("{table}.{c}"))
            .collect();
        if missing.len() == wanted.len() {
            return Err(self.fail(format!(
                "table {table} has none of Nova's columns: not a Nova database?"
            )));
        }
        Ok(missing)
    }

    /// Both tables with every column read: else name each missing column.
    fn check_schema(&mut self, url: &NovaDbUrl, opts: &ConnectOptions) -> Result<(), NovaDbError> {
        let mut missing = Vec::new();
        for (table, columns, filters) in [
            ("instances", INSTANCE_COLUMNS, INSTANCE_FILTERS),
            ("block_device_mapping", BDM_COLUMNS, BDM_FILTERS),
        ] {
            let wanted: Vec<&str> = columns.iter().chain(filters).copied().collect();
            let mut absent = self.missing_columns(table, &wanted, url, opts)?;
            absent.sort();
            missing.extend(absent);
        }
        if missing.is_empty() {
            return Ok(());
        }
        Err(self.fail(format!(
            "missing columns {}: a schema from another Nova release? (Havana or later is needed)",
            missing.join(", ")
        )))
    }

    /// One `SELECT` as a `mysql --batch` table: a header row, then one line per row.
    fn select_tsv(
        &mut self,
        table: &str,
        columns: &[&str],
        filter: &str,
        clean: fn(&str, String) -> String,
    ) -> Result<String, NovaDbError> {
        let sql = format!(
            "SELECT {} FROM {table} WHERE {filter} ORDER BY id",
            columns.join(", ")
        );
        let mut out = columns.join("\t");
        out.push('\n');
        let target = self.target.clone();
        let unreadable = |e: mysql::Error| NovaDbError::Database {
            target: target.clone(),
            message: format!("cannot read {table}: {e}"),
        };
        for row in self.conn.query_iter(&sql).map_err(unreadable)? {
            let row = row.map_err(unreadable)?;
            let cells: Vec<String> = (0..columns.len())
                .map(|i| match row.as_ref(i) {
                    None | Some(mysql::Value::NULL) => "NULL".to_string(),
                    Some(v) => batch_escape(&clean(columns[i], value_text(v))),
                })
                .collect();
            out.push_str(&cells.join("\t"));
            out.push('\n');
        }
        Ok(out)
    }
}

/// A value of the text protocol as text (every value comes as bytes; others are printed as SQL would).
fn value_text(v: &mysql::Value) -> String {
    match v {
        mysql::Value::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
        mysql::Value::Int(i) => i.to_string(),
        mysql::Value::UInt(u) => u.to_string(),
        other => other.as_sql(true).trim_matches('\'').to_string(),
    }
}

/// Escape a cell as `mysql --batch` does: `\\`, `\t`, `\n`, `\0`.
fn batch_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\0' => out.push_str("\\0"),
            c => out.push(c),
        }
    }
    out
}

/// Whether a key of `connection_info` names a secret (`auth_password`, `*secret*`, ...).
fn is_secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    k.contains("password") || k.contains("secret")
}

/// What stands for a dropped secret: the key stays, so Nova's CHAP check (`auth_method` needs both
/// `auth_username` and `auth_password` present) is judged as Nova judges the real row.
pub const SECRET_DROPPED: &str = "(dropped by xen-sr-audit)";

/// Drop every secret value from `connection_info` (and from its `data`), as the row is read: the
/// key stays with [`SECRET_DROPPED`] (a null stays null). Text that is not a JSON object is left for
/// the parser to reject (its error never quotes the text).
fn without_secrets(column: &str, value: String) -> String {
    if column != "connection_info" {
        return value;
    }
    let Ok(serde_json::Value::Object(mut obj)) = serde_json::from_str(&value) else {
        return value;
    };
    let redact = |map: &mut serde_json::Map<String, serde_json::Value>| {
        for (k, v) in map.iter_mut() {
            if is_secret_key(k) && !v.is_null() {
                *v = serde_json::Value::String(SECRET_DROPPED.into());
            }
        }
    };
    redact(&mut obj);
    if let Some(serde_json::Value::Object(data)) = obj.get_mut("data") {
        redact(data);
    }
    serde_json::Value::Object(obj).to_string()
}

fn keep(_column: &str, value: String) -> String {
    value
}

/// Read one Nova database: connect, open the read-only snapshot, check the schema, read both tables.
pub fn read_nova_db(url: &NovaDbUrl, opts: &ConnectOptions) -> Result<DbExport, NovaDbError> {
    let mut session = open_read_only(url, opts)?;
    session.check_schema(url, opts)?;
    let servers_tsv = session.select_tsv("instances", INSTANCE_COLUMNS, "deleted = 0", keep)?;
    let bdms_tsv = session.select_tsv(
        "block_device_mapping",
        BDM_COLUMNS,
        "deleted = 0 AND destination_type = 'volume'",
        without_secrets,
    )?;
    session.run("ROLLBACK")?;
    Ok(DbExport {
        label: url.to_string(),
        servers_tsv,
        bdms_tsv,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_table() {
        for (raw, want) in [
            ("mysql://nova@db1/nova", Ok("mysql://nova@db1:3306/nova")),
            (
                "mysql://nova@db1:3307/nova_cell1",
                Ok("mysql://nova@db1:3307/nova_cell1"),
            ),
            (
                "mysql://ro@[fd00::5]:3306/nova",
                Ok("mysql://ro@[fd00::5]:3306/nova"),
            ),
            (
                "mysql://ro@localhost/nova?socket=/run/mysqld/mysqld.sock",
                Ok("mysql://ro@localhost:3306/nova?socket=/run/mysqld/mysqld.sock"),
            ),
            (
                "mysql://nova:hunter2@db1/nova",
                Err("never goes in the URL"),
            ),
            ("postgres://nova@db1/nova", Err("expected mysql://")),
            ("mysql://db1/nova", Err("name the user")),
            ("mysql://nova@db1", Err("name the database")),
            ("mysql://nova@db1:0/nova", Err("bad HOST[:PORT]")),
            ("mysql://nova@db1:99999/nova", Err("bad HOST[:PORT]")),
            (
                "mysql://nova@db1/nova?ssl-mode=disabled",
                Err("unknown URL parameter"),
            ),
            ("mysql://nova@db1/", Err("must all be given")),
        ] {
            match (NovaDbUrl::parse(raw), want) {
                (Ok(u), Ok(w)) => assert_eq!(u.to_string(), w, "{raw}"),
                (Err(e), Err(w)) => {
                    let e = e.to_string();
                    assert!(e.contains(w), "{raw}: {e}");
                    assert!(!e.contains("hunter2"), "{raw}: the password leaked: {e}");
                }
                (got, w) => panic!("{raw}: got {got:?}, wanted {w:?}"),
            }
        }
    }

    #[test]
    fn ssl_modes_table() {
        for (s, want) in [
            ("disabled", Some(SslMode::Disabled)),
            ("REQUIRED", Some(SslMode::Required)),
            ("verify_ca", Some(SslMode::VerifyCa)),
            ("verify-identity", Some(SslMode::VerifyIdentity)),
            ("preferred", None),
        ] {
            assert_eq!(SslMode::parse(s), want, "{s}");
        }
    }

    #[test]
    fn batch_escape_is_what_the_export_parser_undoes() {
        for (raw, want) in [
            ("plain", "plain"),
            ("a\tb", "a\\tb"),
            ("a\nb", "a\\nb"),
            ("a\\b", "a\\\\b"),
            ("a\0b", "a\\0b"),
        ] {
            assert_eq!(batch_escape(raw), want, "{raw:?}");
        }
    }

    #[test]
    fn secrets_are_dropped_from_connection_info_only() {
        let ci = r#"{"driver_volume_type":"iscsi","data":{"auth_password":"s3cr3t","AUTH_SECRET":"x","discovery_auth_password":"d","target_portal":"10.0.0.1:3260"}}"#;
        let out = without_secrets("connection_info", ci.to_string());
        for gone in ["s3cr3t", "\"x\"", "\"d\""] {
            assert!(!out.contains(gone), "{gone} left in {out}");
        }
        // The keys stay (Nova's CHAP check looks at presence), their values do not.
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        for key in ["auth_password", "AUTH_SECRET", "discovery_auth_password"] {
            assert_eq!(v["data"][key], SECRET_DROPPED, "{key} in {out}");
        }
        assert!(out.contains("10.0.0.1:3260"), "{out}");
        assert_eq!(
            without_secrets("display_name", "password".into()),
            "password"
        );
        assert_eq!(
            without_secrets("connection_info", "not json".into()),
            "not json"
        );
    }

    #[test]
    fn password_debug_hides_it() {
        let p = Password(Some("hunter2".into()));
        assert!(!format!("{p:?}").contains("hunter2"));
    }
}
