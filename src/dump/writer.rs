//! Writes XAPI database dumps in the modern one-line layout (`%` protection everywhere, `'` quoting),
//! readable by XAPI and by our reader. Used by `capture` (evidence for a ticket) and by the fixture
//! generator. It streams: rows go straight to the output, so a 100 MB dump needs no 100 MB buffer.

use super::codec::{protect, write_map, write_set};
use super::column_of;
use std::io::{self, Write};

/// A typed field value to be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldValue {
    Text(String),
    Set(Vec<String>),
    Map(Vec<(String, String)>),
}

impl From<&str> for FieldValue {
    fn from(s: &str) -> Self {
        FieldValue::Text(s.to_string())
    }
}
impl From<String> for FieldValue {
    fn from(s: String) -> Self {
        FieldValue::Text(s)
    }
}
impl From<bool> for FieldValue {
    fn from(b: bool) -> Self {
        FieldValue::Text(if b { "true" } else { "false" }.to_string())
    }
}

/// Streaming dump writer.
pub struct DumpWriter<W: Write> {
    out: W,
    table: Option<String>,
    rows_in_table: usize,
}

/// Manifest keys `capture` adds to each dump: where, when and by what tool it was taken. XAPI
/// ignores manifest pairs it does not know; the reader keeps them in `Database::manifest`.
pub const CAPTURED_FROM: &str = "xsa_captured_from";
pub const CAPTURED_AT: &str = "xsa_captured_at";
pub const CAPTURED_BY: &str = "xsa_captured_by";

impl<W: Write> DumpWriter<W> {
    /// Start a dump with the manifest XAPI writes (schema 5.x).
    pub fn new(out: W, generation: u64) -> io::Result<Self> {
        Self::with_manifest(out, generation, &[])
    }

    /// Start a dump with the manifest XAPI writes plus `extra` pairs.
    pub fn with_manifest(mut out: W, generation: u64, extra: &[(&str, &str)]) -> io::Result<Self> {
        write!(
            out,
            "<database><manifest><pair key=\"schema_major_vsn\" value=\"5\"/><pair key=\"schema_minor_vsn\" value=\"66\"/><pair key=\"generation_count\" value=\"{generation}\"/>"
        )?;
        for (key, value) in extra {
            write!(
                out,
                "<pair key=\"{}\" value=\"{}\"/>",
                xml_escape(key),
                xml_escape(value)
            )?;
        }
        out.write_all(b"</manifest>")?;
        Ok(DumpWriter {
            out,
            table: None,
            rows_in_table: 0,
        })
    }

    pub fn start_table(&mut self, name: &str) -> io::Result<()> {
        self.end_table()?;
        write!(self.out, "<table name=\"{}\"", xml_escape(name))?;
        self.table = Some(name.to_string());
        self.rows_in_table = 0;
        Ok(())
    }

    pub fn row<'a>(
        &mut self,
        reference: &str,
        fields: impl IntoIterator<Item = (&'a str, &'a FieldValue)>,
    ) -> io::Result<()> {
        let table = self
            .table
            .clone()
            .ok_or_else(|| io::Error::other("row written outside a table"))?;
        if self.rows_in_table == 0 {
            self.out.write_all(b">")?;
        }
        self.rows_in_table += 1;
        let protected = protect(reference);
        let r = xml_escape(&protected);
        write!(
            self.out,
            "<row ref=\"{r}\" __ctime=\"0\" __mtime=\"0\" _ref=\"{r}\""
        )?;
        for (wire, value) in fields {
            let encoded = match value {
                FieldValue::Text(t) => t.clone(),
                FieldValue::Set(items) => write_set(items),
                FieldValue::Map(pairs) => write_map(pairs.iter().map(|(k, v)| (k, v))),
            };
            write!(
                self.out,
                " {}=\"{}\"",
                column_of(&table, wire),
                xml_escape(&protect(&encoded))
            )?;
        }
        self.out.write_all(b"/>")
    }

    fn end_table(&mut self) -> io::Result<()> {
        if self.table.take().is_some() {
            if self.rows_in_table == 0 {
                self.out.write_all(b"/>")?;
            } else {
                self.out.write_all(b"</table>")?;
            }
        }
        Ok(())
    }

    pub fn finish(mut self) -> io::Result<W> {
        self.end_table()?;
        self.out.write_all(b"</database>")?;
        self.out.flush()?;
        Ok(self.out)
    }
}

fn xml_escape(s: &str) -> std::borrow::Cow<'_, str> {
    quick_xml::escape::escape(s)
}

/// One row to write: its ref and its fields under their wire names.
pub type DumpRow = (String, Vec<(String, FieldValue)>);
/// One table to write: its name and its rows.
pub type DumpTable<'a> = (&'a str, Vec<DumpRow>);

/// Write whole tables at once: `(table, [(ref, [(wire field, value)])])`.
pub fn write_dump<W: Write>(out: W, tables: &[DumpTable]) -> io::Result<W> {
    write_dump_with_manifest(out, tables, &[])
}

/// [`write_dump`] with extra manifest pairs (provenance: [`CAPTURED_FROM`] and the others).
pub fn write_dump_with_manifest<W: Write>(
    out: W,
    tables: &[DumpTable],
    extra: &[(&str, &str)],
) -> io::Result<W> {
    let mut w = DumpWriter::with_manifest(out, 1, extra)?;
    for (name, rows) in tables {
        w.start_table(name)?;
        for (reference, fields) in rows {
            w.row(reference, fields.iter().map(|(k, v)| (k.as_str(), v)))?;
        }
    }
    w.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dump::{read_dump_from, Keep};
    use std::path::Path;

    #[test]
    fn written_dump_reads_back() {
        let map = FieldValue::Map(vec![("nova_uuid".into(), "it's <a> & \"b\" 100%".into())]);
        let name = FieldValue::from("two  spaces\tand tab");
        let rows = vec![(
            "OpaqueRef:1".to_string(),
            vec![
                ("name_label".to_string(), name),
                ("other_config".to_string(), map),
            ],
        )];
        let bytes = write_dump(Vec::new(), &[("VM", rows), ("Bond", vec![])]).unwrap();
        let db = read_dump_from(bytes.as_slice(), Path::new("mem"), Keep::Audit).unwrap();
        let vm = &db.table("VM")[0];
        assert_eq!(vm.get("name_label"), Some("two  spaces\tand tab"));
        let oc = crate::dump::codec::parse_map(vm.get("other_config").unwrap()).unwrap();
        assert_eq!(oc[0].1, "it's <a> & \"b\" 100%");
        assert_eq!(db.row_counts["Bond"], 0);
    }
}
