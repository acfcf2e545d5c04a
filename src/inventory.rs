//! The inventory: a CSV file (header row, columns by name in any order) listing the Xen hosts to audit,
//! each either a live XAPI endpoint (`url`) or an offline dump (`dump`, relative to the inventory file).
//! It is validated in one pass and fails fast with the file and line of the first problem: a run never
//! starts on an inventory it half understands. Passwords never come from here, only the names of where
//! to find them (`password_env`, `password_file`).

use crate::error::InputError;
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

pub mod rewrite;

/// The columns an inventory may have.
pub const COLUMNS: &[&str] = &[
    "name",
    "url",
    "dump",
    "username",
    "password_env",
    "password_file",
    "site",
    "tags",
    "insecure",
    "tls_fingerprint",
    "tls_legacy",
    "capture_failed",
];

/// Where an entry's data comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A live XAPI endpoint, `http://` or `https://`.
    Url(String),
    /// An offline dump, resolved against the inventory's folder.
    Dump(PathBuf),
    /// A row `capture` could not fetch (`capture_failed`: why): audited as a failed entry, so an
    /// offline re-run of a partial capture is never silently complete.
    NotCaptured(String),
}

/// One inventory row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub source: Source,
    pub username: String,
    pub password_env: Option<String>,
    pub password_file: Option<PathBuf>,
    pub site: String,
    pub tags: String,
    pub insecure: bool,
    /// The SHA-256 fingerprint the host's certificate must have (pinning), if any.
    pub tls_fingerprint: Option<[u8; 32]>,
    /// Allow TLS 1.0/1.1 for this entry (XenServer 6.2, 6.5 before SP1).
    pub tls_legacy: bool,
    /// The line of the inventory this entry came from (for messages).
    pub line: u64,
}

impl Entry {
    /// The source as shown in reports: the URL without any user info, or the dump path as written.
    pub fn source_display(&self) -> String {
        match &self.source {
            Source::Url(u) => redact_userinfo(u),
            Source::Dump(p) => p.display().to_string(),
            Source::NotCaptured(_) => String::new(),
        }
    }
}

/// Strip `user:password@` from a URL so that it can be shown.
pub fn redact_userinfo(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://") {
        let authority_end = rest.find('/').unwrap_or(rest.len());
        if let Some(at) = rest[..authority_end].rfind('@') {
            return format!("{scheme}://{}", &rest[at + 1..]);
        }
    }
    url.to_string()
}

/// A parsed, validated inventory.
#[derive(Debug, Clone)]
pub struct Inventory {
    pub path: PathBuf,
    /// sha256 of the inventory file's bytes, hex: lets a compliance job tell runs of one inventory apart.
    pub digest: String,
    pub entries: Vec<Entry>,
}

fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "" | "0" | "false" | "no" | "off" => Some(false),
        "1" | "true" | "yes" | "on" => Some(true),
        _ => None,
    }
}

/// Read and validate an inventory file.
pub fn load(path: &Path) -> Result<Inventory, InputError> {
    let bytes = std::fs::read(path).map_err(|source| InputError::Unreadable {
        path: path.to_path_buf(),
        cause: source,
    })?;
    parse(path, &bytes)
}

/// Validate inventory bytes; `path` names the file in errors and anchors relative dump paths.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<Inventory, InputError> {
    let invalid = |line: u64, message: String| InputError::Invalid {
        path: path.to_path_buf(),
        line,
        message,
    };
    let digest = hex(&Sha256::digest(bytes));
    let base = path.parent().unwrap_or(Path::new("")).to_path_buf();
    let mut reader = csv::ReaderBuilder::new()
        .comment(Some(b'#'))
        .trim(csv::Trim::All)
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut records = reader.records();
    let headers = header_record(&mut records, bytes).map_err(|(line, m)| invalid(line, m))?;
    // The csv crate's line numbers skip comment and blank lines; count newlines up to the byte
    // offset, carrying on from the previous record (records come in file order: linear overall).
    let mut lines = LineCounter::new(bytes);
    let header_line = headers
        .position()
        .map(|p| lines.line_at(p.byte()))
        .unwrap_or(1)
        .max(1);
    let headers = checked_header(&headers).map_err(|m| invalid(header_line, m))?;
    let idx: Vec<Option<usize>> = COLUMNS
        .iter()
        .map(|c| headers.iter().position(|h| h == *c))
        .collect();

    let mut entries = Vec::new();
    let mut names = BTreeSet::new();
    for record in records {
        let record =
            record.map_err(|e| invalid(csv_line(bytes, &e).unwrap_or(0), csv_message(&e)))?;
        let line = record
            .position()
            .map(|p| lines.line_at(p.byte()))
            .unwrap_or(0);
        if record.iter().all(str::is_empty) {
            continue;
        }
        if record.len() != headers.len() {
            return Err(invalid(
                line,
                format!(
                    "row has {} fields but the header has {}",
                    record.len(),
                    headers.len()
                ),
            ));
        }
        let row = Row {
            record: &record,
            idx: &idx,
        };
        let name = row.get("name");
        if name.is_empty() {
            return Err(invalid(line, "empty name".into()));
        }
        if !names.insert(name.clone()) {
            return Err(invalid(line, format!("duplicate name {name:?}")));
        }
        entries.push(entry_of(&row, name, line, &base).map_err(|m| invalid(line, m))?);
    }
    if entries.is_empty() {
        return Err(invalid(header_line, "the inventory lists no hosts".into()));
    }
    Ok(Inventory {
        path: path.to_path_buf(),
        digest,
        entries,
    })
}

/// The first record that is not blank: the header row (or the line and message of why not).
fn header_record(
    records: &mut csv::StringRecordsIter<&[u8]>,
    bytes: &[u8],
) -> Result<csv::StringRecord, (u64, String)> {
    loop {
        match records.next() {
            None => {
                return Err((
                    1,
                    "empty inventory: expected a header row with at least name and url or dump"
                        .into(),
                ))
            }
            Some(Err(e)) => return Err((csv_line(bytes, &e).unwrap_or(1), csv_message(&e))),
            Some(Ok(r)) if r.iter().all(str::is_empty) => continue,
            Some(Ok(r)) => return Ok(r),
        }
    }
}

/// The header row, its names in lower case (columns are matched case-insensitively: `Name`,
/// `Dump`), once checked: no semicolons, no column twice, none unknown, `name` and a source.
fn checked_header(headers: &csv::StringRecord) -> Result<csv::StringRecord, String> {
    // Excel writes CSV with semicolons in many locales: one column whose name holds them.
    if headers.len() == 1 && headers.get(0).is_some_and(|h| h.contains(';')) {
        return Err(format!(
            "the header {:?} is separated by semicolons (as Excel writes CSV in some locales); save the inventory with commas",
            headers.get(0).unwrap_or_default()
        ));
    }
    let headers: csv::StringRecord = headers.iter().map(str::to_ascii_lowercase).collect();
    let mut seen = BTreeSet::new();
    for h in headers.iter() {
        if !seen.insert(h) {
            return Err(format!("column {h:?} appears twice"));
        }
    }
    let unknown: Vec<&str> = headers.iter().filter(|h| !COLUMNS.contains(h)).collect();
    if !unknown.is_empty() {
        let hint = if unknown
            .iter()
            .any(|u| u.to_ascii_lowercase().contains("pass"))
        {
            " (passwords never come from the inventory: use password_env or password_file)"
        } else {
            ""
        };
        return Err(format!(
            "unknown column(s) {}{hint}; known: {}",
            unknown.join(", "),
            COLUMNS.join(", ")
        ));
    }
    if !headers.iter().any(|h| h == "name") {
        return Err("missing column \"name\"".into());
    }
    if !headers.iter().any(|h| h == "url" || h == "dump") {
        return Err("missing column: need \"url\" or \"dump\"".into());
    }
    Ok(headers)
}

/// One data row, read by column name.
struct Row<'r> {
    record: &'r csv::StringRecord,
    /// For each of `COLUMNS`, its position in the row (None: the inventory has no such column).
    idx: &'r [Option<usize>],
}

impl Row<'_> {
    /// The cell of column `c`, empty when the inventory has no such column.
    fn get(&self, c: &str) -> String {
        let i = COLUMNS
            .iter()
            .position(|x| *x == c)
            .and_then(|i| self.idx[i]);
        i.and_then(|i| self.record.get(i))
            .unwrap_or_default()
            .to_string()
    }
}

/// The entry of a row whose name is checked; errors are the message for the row's line.
fn entry_of(row: &Row, name: String, line: u64, base: &Path) -> Result<Entry, String> {
    let source = entry_source(row, &name, base)?;
    let insecure = parse_bool(&row.get("insecure"))
        .ok_or_else(|| format!("{name}: insecure must be true or false"))?;
    let tls_legacy = parse_bool(&row.get("tls_legacy"))
        .ok_or_else(|| format!("{name}: tls_legacy must be true or false"))?;
    let tls_fingerprint = Some(row.get("tls_fingerprint"))
        .filter(|f| !f.trim().is_empty())
        .map(|f| parse_fingerprint(&f))
        .transpose()
        .map_err(|m| format!("{name}: tls_fingerprint: {m}"))?;
    let password_env = Some(row.get("password_env")).filter(|s| !s.is_empty());
    let password_file = Some(row.get("password_file"))
        .filter(|s| !s.is_empty())
        .map(|p| base.join(p));
    if password_env.is_some() && password_file.is_some() {
        return Err(format!(
            "{name}: give password_env or password_file, not both"
        ));
    }
    Ok(Entry {
        name,
        source,
        username: row.get("username"),
        password_env,
        password_file,
        site: row.get("site"),
        tags: row.get("tags"),
        insecure,
        tls_fingerprint,
        tls_legacy,
        line,
    })
}

/// Where a row's records come from: exactly one of url and dump, or a capture that failed.
fn entry_source(row: &Row, name: &str, base: &Path) -> Result<Source, String> {
    let (url, dump, failed) = (row.get("url"), row.get("dump"), row.get("capture_failed"));
    match (url.is_empty(), dump.is_empty()) {
        (true, true) if !failed.trim().is_empty() => Ok(Source::NotCaptured(failed)),
        _ if !failed.trim().is_empty() => Err(format!(
            "{name}: capture_failed is set beside a url or dump; clear it once the entry is captured"
        )),
        (false, false) => Err(format!(
            "{name}: both url and dump are set; give exactly one"
        )),
        (true, true) => Err(format!(
            "{name}: neither url nor dump is set; give exactly one"
        )),
        (false, true) => url_source(name, url),
        (true, false) => Ok(Source::Dump(base.join(dump))),
    }
}

/// A live source: an http(s) URL without credentials and with a valid authority.
fn url_source(name: &str, url: String) -> Result<Source, String> {
    let lower = url.to_ascii_lowercase();
    if !(lower.starts_with("https://") || lower.starts_with("http://")) {
        return Err(format!(
            "{name}: url must start with https:// or http://, got {:?}",
            redact_userinfo(&url)
        ));
    }
    if url
        .split_once("://")
        .is_some_and(|(_, rest)| rest.split('/').next().unwrap_or("").contains('@'))
    {
        return Err(format!("{name}: url must not carry credentials; use username and password_env or password_file"));
    }
    check_authority(&url).map_err(|m| format!("{name}: url: {m}"))?;
    Ok(Source::Url(url))
}

/// Parse a certificate fingerprint as an inventory may hold it: 64 hex digits (SHA-256), colons
/// and case optional, an optional `sha256:` prefix.
pub fn parse_fingerprint(s: &str) -> Result<[u8; 32], String> {
    let t = s.trim();
    let t = match t.get(..7) {
        Some(p) if p.eq_ignore_ascii_case("sha256:") => &t[7..],
        _ => t,
    };
    let hex: String = t.chars().filter(|c| *c != ':').collect();
    if hex.len() != 64 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(format!(
            "{s:?} is not a SHA-256 fingerprint (64 hex digits, colons optional, optional sha256: prefix)"
        ));
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|e| e.to_string())?;
    }
    Ok(out)
}

/// The host and the port text of a URL's authority (`[v6]` brackets removed).
fn split_authority(url: &str) -> Result<(&str, Option<&str>), String> {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or_default();
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if let Some(v6) = authority.strip_prefix('[') {
        let (h, tail) = v6
            .split_once(']')
            .ok_or_else(|| format!("unclosed [ in {authority:?}"))?;
        Ok((h, tail.strip_prefix(':')))
    } else {
        Ok(match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        })
    }
}

/// The host and port a URL names (the scheme's default port when it gives none).
pub fn host_port(url: &str) -> Option<(String, u16)> {
    let (host, port) = split_authority(url).ok()?;
    let port = match port {
        Some(p) => p.parse().ok()?,
        None if url
            .get(..8)
            .is_some_and(|s| s.eq_ignore_ascii_case("https://")) =>
        {
            443
        }
        None => 80,
    };
    Some((host.to_string(), port))
}

/// A copy of an inventory with `column` set, row by row, to the values given by entry name (the
/// column is added when the inventory lacks it). Comment lines are not carried over.
pub fn with_column(
    path: &Path,
    column: &str,
    values: &std::collections::HashMap<String, String>,
) -> Result<Vec<u8>, InputError> {
    let bytes = std::fs::read(path).map_err(|cause| InputError::Unreadable {
        path: path.to_path_buf(),
        cause,
    })?;
    let mut reader = csv::ReaderBuilder::new()
        .comment(Some(b'#'))
        .flexible(true)
        .from_reader(bytes.as_slice());
    let bad = |e: csv::Error| InputError::Invalid {
        path: path.to_path_buf(),
        line: e.position().map_or(0, |p| p.line()),
        message: csv_message(&e),
    };
    let mut header: Vec<String> = reader
        .headers()
        .map_err(bad)?
        .iter()
        .map(str::to_string)
        .collect();
    let name_at = header
        .iter()
        .position(|h| h.trim().eq_ignore_ascii_case("name"));
    let col_at = match header
        .iter()
        .position(|h| h.trim().eq_ignore_ascii_case(column))
    {
        Some(i) => i,
        None => {
            header.push(column.to_string());
            header.len() - 1
        }
    };
    let mut out = csv::Writer::from_writer(Vec::new());
    let io = |e: csv::Error| InputError::Invalid {
        path: path.to_path_buf(),
        line: 0,
        message: e.to_string(),
    };
    out.write_record(&header).map_err(io)?;
    for rec in reader.records() {
        let rec = rec.map_err(bad)?;
        let mut cells: Vec<String> = rec.iter().map(str::to_string).collect();
        cells.resize(header.len(), String::new());
        if let Some(v) = name_at.and_then(|i| values.get(cells[i].trim())) {
            cells[col_at] = v.clone();
        }
        out.write_record(&cells).map_err(io)?;
    }
    out.into_inner().map_err(|e| InputError::Invalid {
        path: path.to_path_buf(),
        line: 0,
        message: e.to_string(),
    })
}

/// A URL's host must be there and its port, if given, a port number.
fn check_authority(url: &str) -> Result<(), String> {
    let (host, port) = split_authority(url)?;
    if host.is_empty() {
        return Err(format!("no host in {url:?}"));
    }
    if let Some(p) = port {
        if p.parse::<u16>().map_or(true, |p| p == 0) {
            return Err(format!("port {p:?} is not a port number (1-65535)"));
        }
    }
    Ok(())
}

fn csv_line(bytes: &[u8], e: &csv::Error) -> Option<u64> {
    e.position()
        .map(|p| LineCounter::new(bytes).line_at(p.byte()))
}

/// Turns the byte offsets the csv crate gives into 1-based line numbers, counting each byte once
/// however many records are asked about (in file order).
struct LineCounter<'a> {
    bytes: &'a [u8],
    /// Newlines counted in `bytes[..pos]`.
    pos: usize,
    newlines: u64,
}

impl<'a> LineCounter<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        LineCounter {
            bytes,
            pos: 0,
            newlines: 0,
        }
    }

    /// The line of the record the csv crate says starts at `offset`: its offset includes the blank
    /// and comment lines the reader skipped before the record, so skip them here too.
    fn line_at(&mut self, offset: u64) -> u64 {
        let bytes = self.bytes;
        let mut i = (offset as usize).min(bytes.len());
        while i < bytes.len() {
            match bytes[i] {
                b'\n' | b'\r' => i += 1,
                b'#' => {
                    i += bytes[i..]
                        .iter()
                        .position(|b| *b == b'\n')
                        .map_or(bytes.len() - i, |p| p + 1)
                }
                _ => break,
            }
        }
        if i < self.pos {
            // Asked out of order: count afresh.
            self.pos = 0;
            self.newlines = 0;
        }
        self.newlines += memchr::memchr_iter(b'\n', &bytes[self.pos..i]).count() as u64;
        self.pos = i;
        1 + self.newlines
    }
}

fn csv_message(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => {
            format!("row has {len} fields but the header has {expected_len}")
        }
        csv::ErrorKind::Utf8 { .. } => "not valid UTF-8".to_string(),
        _ => e.to_string(),
    }
}

/// One row of an inventory of dumps, as `gen-fleet` and `capture` write them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DumpRow {
    pub name: String,
    /// The dump's path, relative to the inventory; empty when the capture failed.
    pub dump: String,
    pub site: String,
    pub tags: String,
    /// Why the capture of this entry failed; empty when it did not.
    pub capture_failed: String,
}

/// Write an inventory of dumps (`name,dump,site,tags`, and `capture_failed` when a row has it),
/// quoting as RFC 4180 needs. It is an input of this tool, not a report, so cells are not
/// neutralised: names must read back as they are.
pub fn write_dump_inventory(out: impl std::io::Write, rows: &[DumpRow]) -> std::io::Result<()> {
    let failures = rows.iter().any(|r| !r.capture_failed.is_empty());
    let mut w = csv::Writer::from_writer(out);
    let header = ["name", "dump", "site", "tags", "capture_failed"];
    w.write_record(&header[..if failures { 5 } else { 4 }])?;
    for r in rows {
        let cells = [&r.name, &r.dump, &r.site, &r.tags, &r.capture_failed];
        w.write_record(&cells[..if failures { 5 } else { 4 }])?;
    }
    w.flush()
}

/// Lower-case hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(s: &str) -> Result<Inventory, String> {
        parse(Path::new("/etc/inv/fleet.csv"), s.as_bytes()).map_err(|e| e.to_string())
    }

    #[test]
    fn good_inventory() {
        let inv = parse_str("# comment\ndump,name,site,tags\npools/a.xml,a,dc1,prod\n\n,b2,,\n")
            .map(|_| ())
            .unwrap_err();
        assert!(
            inv.contains(":5:") && inv.contains("neither url nor dump"),
            "{inv}"
        );
        let inv = parse_str("dump,name,site,tags,insecure\npools/a.xml,a,dc1,prod;eu,\n").unwrap();
        assert_eq!(
            inv.entries[0].source,
            Source::Dump(PathBuf::from("/etc/inv/pools/a.xml"))
        );
        assert_eq!(inv.entries[0].tags, "prod;eu");
        assert_eq!(inv.entries[0].line, 2);
        let inv = parse_str(
            "name,url,username,password_env,insecure\nx,https://xs01:443/,root,XS_PW,yes\n",
        )
        .unwrap();
        assert_eq!(
            inv.entries[0].source,
            Source::Url("https://xs01:443/".into())
        );
        assert!(inv.entries[0].insecure);
        assert_eq!(inv.digest.len(), 64);
    }

    #[test]
    fn bad_inventories_name_file_and_line() {
        let cases = [
            ("", ":1: empty inventory"),
            ("name,url\n", "lists no hosts"),
            ("url\nhttps://a/\n", "missing column \"name\""),
            ("name,site\na,b\n", "need \"url\" or \"dump\""),
            (
                "name,url,password\na,https://a/,x\n",
                "passwords never come from the inventory",
            ),
            (
                "name,url,colour\na,https://a/,x\n",
                "unknown column(s) colour",
            ),
            (
                "name,url,dump\na,https://a/,a.xml\n",
                ":2: a: both url and dump",
            ),
            (
                "name,url\na,https://a/\na,https://b/\n",
                ":3: duplicate name",
            ),
            ("name,url\na,ftp://a/\n", ":2: a: url must start with"),
            (
                "name,url\na,https://root:pw@a/\n",
                "must not carry credentials",
            ),
            ("name,url\na,https://a/,extra\n", ":2: row has 3 fields"),
            (
                "name,url,insecure\na,https://a/,maybe\n",
                "insecure must be",
            ),
            ("name,name,url\na,a,https://a/\n", "appears twice"),
            ("name,url\n,https://a/\n", ":2: empty name"),
            // Regression: a port out of range or an empty host was a failed entry at scan time.
            (
                "name,url\na,https://x:99999/\n",
                ":2: a: url: port \"99999\"",
            ),
            ("name,url\n# c\na,https://\n", ":3: a: url: no host"),
            ("name,url\na,https://:443/\n", ":2: a: url: no host"),
            ("name,url\na,https://[fe80::1/\n", ":2: a: url: unclosed ["),
            (
                "name,url,tls_fingerprint\na,https://a/,sha256:00\n",
                ":2: a: tls_fingerprint: \"sha256:00\" is not a SHA-256 fingerprint",
            ),
            (
                "name,url,tls_legacy\na,https://a/,sometimes\n",
                ":2: a: tls_legacy must be true or false",
            ),
            // Regression: Excel's semicolon CSV was "unknown column(s) name;dump;site".
            (
                "name;dump;site\na;a.xml;x\n",
                ":1: the header \"name;dump;site\" is separated by semicolons",
            ),
        ];
        for (text, want) in cases {
            let err = parse_str(text).unwrap_err();
            assert!(err.starts_with("/etc/inv/fleet.csv:"), "{err}");
            assert!(err.contains(want), "{text:?}: {err}");
            assert!(!err.contains("pw@"), "no secret in errors: {err}");
        }
    }

    #[test]
    fn column_names_are_case_insensitive() {
        let inv = parse_str("Name,URL,Site\na,https://[fe80::1]:443/,x\n").unwrap();
        assert_eq!(
            (inv.entries[0].name.as_str(), inv.entries[0].site.as_str()),
            ("a", "x")
        );
    }

    #[test]
    fn line_numbers_count_comments_and_blank_lines_in_long_inventories() {
        let mut text = String::from("# fleet\nname,dump\n");
        for i in 0..3000 {
            if i % 10 == 0 {
                text.push_str("# a comment\n\n");
            }
            text.push_str(&format!("h{i},d{i}.xml\n"));
        }
        text.push_str("h0,dup.xml\n");
        let err = parse_str(&text).unwrap_err();
        let want = 2 + 3000 + 2 * 300 + 1;
        assert!(err.contains(&format!(":{want}: duplicate name")), "{err}");
    }

    #[test]
    fn written_dump_inventories_read_back() {
        let rows = vec![
            DumpRow {
                name: "a, \"quoted\" name".into(),
                dump: "dumps/a.xml".into(),
                site: "dc1".into(),
                tags: "x\ny".into(),
                capture_failed: String::new(),
            },
            DumpRow {
                name: "b".into(),
                dump: String::new(),
                site: String::new(),
                tags: String::new(),
                capture_failed: "b: cannot connect".into(),
            },
        ];
        let mut bytes = Vec::new();
        write_dump_inventory(&mut bytes, &rows).unwrap();
        let inv = parse(Path::new("/inv/i.csv"), &bytes).unwrap();
        assert_eq!(inv.entries[0].name, "a, \"quoted\" name");
        assert_eq!(inv.entries[0].tags, "x\ny");
        assert_eq!(
            inv.entries[0].source,
            Source::Dump(PathBuf::from("/inv/dumps/a.xml"))
        );
        assert_eq!(
            inv.entries[1].source,
            Source::NotCaptured("b: cannot connect".into())
        );
        assert!(String::from_utf8(bytes)
            .unwrap()
            .starts_with("name,dump,site,tags,capture_failed\n"));
        let mixed = parse_str("name,dump,capture_failed\na,a.xml,timed out\n").unwrap_err();
        assert!(
            mixed.contains(":2: a: capture_failed is set beside"),
            "{mixed}"
        );
    }

    #[test]
    fn redaction_table() {
        for (url, want) in [
            ("https://root:pw@xs01:443/", "https://xs01:443/"),
            ("https://xs01/", "https://xs01/"),
            ("http://a@b/c@d", "http://b/c@d"),
        ] {
            assert_eq!(redact_userinfo(url), want);
        }
    }
}
