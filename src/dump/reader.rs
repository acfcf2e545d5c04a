//! Streaming reader for XAPI database dumps. See the module docs of `dump` for the format; the
//! decode order per value is XML-unescape, then `%` unprotection; s-expressions are parsed later, on
//! access, by the model (only the columns the audit reads are ever parsed).

use super::codec::unprotect;
use super::wire_of;
use crate::error::DumpError;
use quick_xml::events::{BytesStart, Event};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;

/// Which tables and columns to keep while reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// Only what the audit needs (see [`crate::model::AUDIT_FIELDS`]).
    Audit,
    /// The audit's tables with every column (the simulator serves them as XAPI would).
    AuditTablesAllColumns,
}

/// One row: its reference and the kept fields under their wire names, values decoded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Row {
    pub reference: String,
    pub fields: Vec<(String, String)>,
}

impl Row {
    /// The decoded value of a field by wire name.
    pub fn get(&self, wire: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == wire)
            .map(|(_, v)| v.as_str())
    }
}

/// The kept rows of one table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Table {
    pub rows: Vec<Row>,
}

/// What a dump holds, as far as it was kept, plus the row count of every table in the file.
#[derive(Debug, Clone, Default)]
pub struct Database {
    pub manifest: BTreeMap<String, String>,
    pub tables: BTreeMap<String, Table>,
    pub row_counts: BTreeMap<String, usize>,
    pub bytes_read: u64,
}

impl Database {
    pub fn table(&self, name: &str) -> &[Row] {
        self.tables
            .get(name)
            .map(|t| t.rows.as_slice())
            .unwrap_or(&[])
    }
}

/// Read a dump file, detecting gzip compression by its magic bytes.
pub fn read_dump(path: &Path, keep: Keep) -> Result<Database, DumpError> {
    let file = std::fs::File::open(path).map_err(|source| DumpError::Io {
        path: path.to_path_buf(),
        cause: source,
    })?;
    let mut buffered = BufReader::with_capacity(256 * 1024, file);
    let head = buffered.fill_buf().map_err(|source| DumpError::Io {
        path: path.to_path_buf(),
        cause: source,
    })?;
    if head.starts_with(&[0x1f, 0x8b]) {
        let gz =
            BufReader::with_capacity(256 * 1024, flate2::bufread::MultiGzDecoder::new(buffered));
        read_dump_from(gz, path, keep)
    } else {
        read_dump_from(buffered, path, keep)
    }
}

/// Read a dump from any buffered reader; `path` only names the source in errors.
pub fn read_dump_from<R: BufRead>(
    input: R,
    path: &Path,
    keep: Keep,
) -> Result<Database, DumpError> {
    let mut reader = quick_xml::Reader::from_reader(input);
    reader.config_mut().check_end_names = true;
    let mut buf = Vec::with_capacity(64 * 1024);
    let mut walk = DumpWalk::new(path, keep);
    loop {
        let offset = reader.buffer_position();
        let event = match reader.read_event_into(&mut buf) {
            Ok(e) => e,
            Err(e) => return Err(walk.read_error(e, reader.error_position())),
        };
        if !walk.on_event(&event, offset)? {
            break;
        }
        buf.clear();
    }
    walk.finish(reader.buffer_position())
}

/// Where the reader is in the document, and what it has kept so far.
struct DumpWalk<'p> {
    path: &'p Path,
    keep: Keep,
    db: Database,
    /// Whether the document element has been seen: before it, anything else means "not a dump".
    started: bool,
    /// Inside `<database>`.
    in_database: bool,
    /// After `</database>`.
    finished: bool,
    in_manifest: bool,
    current_table: Option<String>,
}

impl<'p> DumpWalk<'p> {
    fn new(path: &'p Path, keep: Keep) -> Self {
        DumpWalk {
            path,
            keep,
            db: Database::default(),
            started: false,
            in_database: false,
            finished: false,
            in_manifest: false,
            current_table: None,
        }
    }

    fn not_a_dump(&self, found: String) -> DumpError {
        DumpError::NotADump {
            path: self.path.to_path_buf(),
            found,
        }
    }

    fn malformed(&self, offset: u64, message: String) -> DumpError {
        DumpError::Malformed {
            path: self.path.to_path_buf(),
            offset,
            message,
        }
    }

    /// What an error of the XML reader means for a dump: I/O, not XML at all (before the document
    /// element), truncated (a syntax error after it), or malformed.
    fn read_error(&self, err: quick_xml::Error, error_position: u64) -> DumpError {
        match err {
            quick_xml::Error::Io(e) => DumpError::Io {
                path: self.path.to_path_buf(),
                cause: std::io::Error::other(e.to_string()),
            },
            quick_xml::Error::Syntax(_) if !self.started => self.not_a_dump("it is not XML".into()),
            quick_xml::Error::Syntax(e) => DumpError::Truncated {
                path: self.path.to_path_buf(),
                message: e.to_string(),
            },
            e => self.malformed(error_position, e.to_string()),
        }
    }

    /// Take one event in; `false` at the end of the input.
    fn on_event(&mut self, event: &Event, offset: u64) -> Result<bool, DumpError> {
        match event {
            // An entity reference (`&amp;`) is text too, though quick-xml gives it its own event.
            Event::Text(t) if !self.started && !is_blank(t) => {
                return Err(self.not_a_dump("it starts with text, not XML".into()));
            }
            Event::GeneralRef(_) if !self.started => {
                return Err(self.not_a_dump("it starts with text, not XML".into()));
            }
            Event::Start(e) => self.on_element(e, false, offset)?,
            Event::Empty(e) => self.on_element(e, true, offset)?,
            Event::End(e) => match e.name().as_ref() {
                b"table" => self.current_table = None,
                b"manifest" => self.in_manifest = false,
                b"database" => {
                    self.in_database = false;
                    self.finished = true;
                }
                _ => {}
            },
            Event::Eof => return Ok(false),
            _ => {}
        }
        Ok(true)
    }

    /// An opening (or empty) element: the document element, the manifest and its pairs, a table,
    /// a row.
    fn on_element(&mut self, e: &BytesStart, is_empty: bool, offset: u64) -> Result<(), DumpError> {
        self.started = true;
        match e.name().as_ref() {
            b"database" if !self.in_database && !self.finished => self.in_database = !is_empty,
            other if !self.in_database && !self.finished => {
                return Err(self.not_a_dump(format!(
                    "its root element is <{}>, not <database>",
                    String::from_utf8_lossy(other)
                )))
            }
            _ if !self.in_database => {
                return Err(self.malformed(offset, "an element after </database>".into()))
            }
            b"manifest" => self.in_manifest = !is_empty,
            b"pair" if self.in_manifest => {
                let (k, v) = pair_attrs(e).map_err(|m| self.malformed(offset, m))?;
                self.db.manifest.insert(k, v);
            }
            b"table" => self.on_table(e, is_empty, offset)?,
            b"row" => self.on_row(e, offset)?,
            _ => {}
        }
        Ok(())
    }

    /// `<table name=..>`: counted even when empty; its rows follow unless it is.
    fn on_table(&mut self, e: &BytesStart, is_empty: bool, offset: u64) -> Result<(), DumpError> {
        let table = attr_value(e, b"name")
            .map_err(|m| self.malformed(offset, m))?
            .ok_or_else(|| self.malformed(offset, "<table> without a name".into()))?;
        self.db.row_counts.entry(table.clone()).or_insert(0);
        if !is_empty {
            self.current_table = Some(table);
        }
        Ok(())
    }

    /// `<row ..>`: counted, and kept when its table is one the audit reads.
    fn on_row(&mut self, e: &BytesStart, offset: u64) -> Result<(), DumpError> {
        let Some(table) = self.current_table.as_deref() else {
            return Err(self.malformed(offset, "<row> outside a <table>".into()));
        };
        *self.db.row_counts.entry(table.to_string()).or_insert(0) += 1;
        let row = read_row(e, table, self.keep).map_err(|m| self.malformed(offset, m))?;
        if let Some(row) = row {
            let table = table.to_string();
            self.db.tables.entry(table).or_default().rows.push(row);
        }
        Ok(())
    }

    /// The end of the input: a dump only if `</database>` was read.
    fn finish(mut self, bytes_read: u64) -> Result<Database, DumpError> {
        self.db.bytes_read = bytes_read;
        if !self.started {
            return Err(self.not_a_dump(if bytes_read == 0 {
                "the file is empty".into()
            } else {
                "it holds no XML element".into()
            }));
        }
        if !self.finished {
            return Err(DumpError::Truncated {
                path: self.path.to_path_buf(),
                message: format!("ended after {bytes_read} bytes without </database>"),
            });
        }
        Ok(self.db)
    }
}

/// Whitespace (and a UTF-8 byte order mark) only: what may come before the document element.
fn is_blank(text: &[u8]) -> bool {
    let text = text.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(text);
    text.iter().all(u8::is_ascii_whitespace)
}

fn decode_attr_value(raw: &[u8]) -> Result<String, String> {
    let text =
        std::str::from_utf8(raw).map_err(|_| "attribute value is not valid UTF-8".to_string())?;
    let unescaped =
        quick_xml::escape::unescape(text).map_err(|e| format!("bad XML escape: {e}"))?;
    Ok(unprotect(&unescaped).into_owned())
}

fn attr_value(e: &BytesStart, key: &[u8]) -> Result<Option<String>, String> {
    for attr in e.attributes() {
        let attr = attr.map_err(|err| err.to_string())?;
        if attr.key.as_ref() == key {
            return decode_attr_value(&attr.value).map(Some);
        }
    }
    Ok(None)
}

fn pair_attrs(e: &BytesStart) -> Result<(String, String), String> {
    let key = attr_value(e, b"key")?.unwrap_or_default();
    let value = attr_value(e, b"value")?.unwrap_or_default();
    Ok((key, value))
}

fn read_row(e: &BytesStart, table: &str, keep: Keep) -> Result<Option<Row>, String> {
    let wanted = crate::model::audit_fields(table);
    let Some(wanted) = wanted else {
        // Not a table the audit reads: still check the attributes are well formed.
        for attr in e.attributes() {
            attr.map_err(|err| err.to_string())?;
        }
        return Ok(None);
    };
    let mut row = Row::default();
    for attr in e.attributes() {
        let attr = attr.map_err(|err| err.to_string())?;
        let key = attr.key.as_ref();
        if key == b"ref" {
            row.reference = decode_attr_value(&attr.value)?;
            continue;
        }
        if key.starts_with(b"_") {
            continue; // _ref, __ctime, __mtime: bookkeeping, not fields
        }
        let column =
            std::str::from_utf8(key).map_err(|_| "column name is not valid UTF-8".to_string())?;
        let wire = wire_of(table, column);
        let keep_it = match keep {
            Keep::Audit => wanted.contains(&wire.as_str()),
            Keep::AuditTablesAllColumns => true,
        };
        if keep_it {
            row.fields.push((wire, decode_attr_value(&attr.value)?));
        }
    }
    Ok(Some(row))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<Database, DumpError> {
        read_dump_from(text.as_bytes(), Path::new("t.xml"), Keep::Audit)
    }

    #[test]
    fn reads_modern_and_legacy_layouts() {
        let modern = r#"<database><manifest><pair key="schema_major_vsn" value="5"/></manifest><table name="SR"><row ref="OpaqueRef:1" _ref="OpaqueRef:1" __ctime="1" uuid="u1" name__label="a%.b" name__description="x%%" other="ignored"/></table><table name="pool"><row ref="OpaqueRef:p" uuid="p" name_label="my%_pool"/></table></database>"#;
        let db = read(modern).unwrap();
        let sr = &db.table("SR")[0];
        assert_eq!(sr.reference, "OpaqueRef:1");
        assert_eq!(sr.get("name_label"), Some("a b"));
        assert_eq!(sr.get("name_description"), Some("x%"));
        assert_eq!(sr.get("other"), None);
        assert_eq!(db.table("pool")[0].get("name_label"), Some("my  pool"));
        assert_eq!(db.manifest["schema_major_vsn"], "5");

        let legacy = "<?xml version=\"1.0\"?>\r\n<database>\r\n  <manifest/>\r\n  <table name=\"VM\">\r\n    <row ref=\"OpaqueRef:v\" uuid=\"v&amp;1\"></row>\r\n  </table>\r\n  <table name=\"Bond\"/>\r\n</database>\r\n";
        let db = read(legacy).unwrap();
        assert_eq!(db.table("VM")[0].get("uuid"), Some("v&1"));
        assert_eq!(db.row_counts["Bond"], 0);
        assert_eq!(db.row_counts["VM"], 1);
    }

    #[test]
    fn rejects_truncated_and_corrupt_dumps() {
        for (text, want) in [
            ("<database><table name=\"VM\"><row ref=\"a\"", "truncated"),
            (
                "<database><table name=\"VM\"><row ref=\"a\"/></table>",
                "truncated",
            ),
            (
                "<html><body/></html>",
                "not a XAPI dump: its root element is <html>",
            ),
            (
                "name,url\nh1,http://h1/\n",
                "not a XAPI dump: it starts with text",
            ),
            // quick-xml 0.38+ gives an entity reference its own event, not part of the text.
            (
                "&amp;<database></database>",
                "not a XAPI dump: it starts with text",
            ),
            (
                "&#65;b<database></database>",
                "not a XAPI dump: it starts with text",
            ),
            ("  \n", "not a XAPI dump: it holds no XML element"),
            (
                "<database><table name=\"VM\"><row ref=\"a\" uuid=\"&bogus;\"/></table></database>",
                "bad XML escape",
            ),
            ("<database><row ref=\"a\"/></database>", "outside a <table>"),
            (
                "<database><table name=\"VM\"></tabel></database>",
                "malformed",
            ),
            ("", "not a XAPI dump: the file is empty"),
        ] {
            let err = read(text).unwrap_err().to_string();
            assert!(err.contains(want), "{text:?}: {err}");
            assert!(err.starts_with("t.xml"), "error names the file: {err}");
        }
    }

    proptest::proptest! {
        /// Arbitrary bytes, or a real-looking dump cut anywhere, never panic the reader.
        #[test]
        fn arbitrary_input_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300), cut in 0usize..400) {
            let _ = read_dump_from(bytes.as_slice(), Path::new("fuzz"), Keep::Audit);
            let doc = "<database><manifest><pair key=\"k\" value=\"v\"/></manifest><table name=\"VM\"><row ref=\"r\" uuid=\"u%.1\" other_config=\"(('nova_uuid' 'x'))\"/></table></database>";
            let end = cut.min(doc.len());
            let _ = read_dump_from(&doc.as_bytes()[..end], Path::new("cut"), Keep::AuditTablesAllColumns);
        }
    }
}
