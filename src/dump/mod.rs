//! Offline XAPI database dumps: the streaming reader (`xe pool-dump-database` output and `state.db`,
//! plain or gzip-compressed), the value codec, and the writer used by `capture` and the fixture
//! generator, and the bridge between dump rows and model records (`records`). The reader never builds a DOM: it walks the XML once and keeps only the tables and
//! columns asked for, so memory depends on what the audit keeps, not on the size of the dump.

pub mod codec;
mod digest;
mod reader;
mod records;
mod writer;

pub use digest::read_dump_with_sha256;
pub use reader::{read_dump, read_dump_from, Database, Keep, Row, Table};
pub use records::{snapshot_from_database, snapshot_tables};
pub use writer::{
    write_dump, write_dump_with_manifest, DumpRow, DumpTable, DumpWriter, FieldValue, CAPTURED_AT,
    CAPTURED_BY, CAPTURED_FROM,
};

/// The database column name of a wire field: dotted IDL fields join with `__` (`name__label`), except in
/// the pool table whose fields really are called `name_label` and `name_description`.
pub fn column_of(table: &str, wire: &str) -> String {
    match (table, wire) {
        ("pool", _) => wire.to_string(),
        (_, "name_label") => "name__label".to_string(),
        (_, "name_description") => "name__description".to_string(),
        _ => wire.to_string(),
    }
}

/// The wire (XML-RPC) field name of a database column: the inverse of [`column_of`], generalised to
/// every dotted field (`HVM__boot_params` is `HVM_boot_params` on the wire).
pub fn wire_of(table: &str, column: &str) -> String {
    if table == "pool" {
        column.to_string()
    } else {
        column.replace("__", "_")
    }
}
