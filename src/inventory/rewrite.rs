//! A copy of an inventory with some cells set (what `trust` writes: `tls_fingerprint`, and
//! `tls_legacy=true` for hosts reached only with TLS 1.0/1.1), meant to be used from where the copy
//! lies: `dump` and `password_file` are relative to the inventory file, so when the copy goes to
//! another folder their relative paths are rewritten to point at the same files from there. Comment
//! lines (`#`) are carried over where they were; the other rows are re-written as CSV.

use crate::error::InputError;
use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

/// Columns whose relative paths are anchored at the inventory's folder.
const PATH_COLUMNS: &[&str] = &["dump", "password_file"];

/// The cells to set, by entry name: (column, value) pairs.
pub type CellEdits = HashMap<String, Vec<(String, String)>>;

/// The bytes of a copy of the inventory at `path` that will be written to `out`, with `edits`
/// applied (columns the inventory lacks are added) and relative paths rewritten for `out`'s folder.
pub fn rewritten_copy(path: &Path, out: &Path, edits: &CellEdits) -> Result<Vec<u8>, InputError> {
    let text = std::fs::read_to_string(path).map_err(|cause| InputError::Unreadable {
        path: path.to_path_buf(),
        cause,
    })?;
    let invalid = |line: u64, message: String| InputError::Invalid {
        path: path.to_path_buf(),
        line,
        message,
    };
    let relocate = Relocation::new(path, out);
    let mut header: Option<Header> = None;
    let mut out_bytes = Vec::new();
    for chunk in chunks(&text) {
        match chunk {
            Chunk::Comment(line) => out_bytes.extend_from_slice(line.as_bytes()),
            Chunk::Record { line, text } => {
                let mut cells = parse_record(text).map_err(|m| invalid(line, m))?;
                match &header {
                    None => {
                        let h = Header::new(&mut cells, edits);
                        write_record(&mut out_bytes, &cells).map_err(|m| invalid(line, m))?;
                        header = Some(h);
                    }
                    Some(h) => {
                        h.apply(&mut cells, edits, &relocate);
                        write_record(&mut out_bytes, &cells).map_err(|m| invalid(line, m))?;
                    }
                }
            }
        }
    }
    Ok(out_bytes)
}

/// One comment line, or one CSV record (several lines when a quoted cell holds line breaks).
#[derive(Debug, PartialEq)]
enum Chunk<'a> {
    Comment(&'a str),
    Record { line: u64, text: &'a str },
}

/// Split the text into comment lines and records, each with its line ending. A line that starts
/// with `#` inside a quoted cell is part of that cell, not a comment.
fn chunks(text: &str) -> Vec<Chunk<'_>> {
    let mut out = Vec::new();
    // Where the current record starts, its first line, and whether a quoted cell is open.
    let (mut record_start, mut record_line, mut open_quote) = (0usize, 1u64, false);
    let mut line_start = 0usize;
    let mut line = 0u64;
    while line_start < text.len() {
        let line_end = text[line_start..]
            .find('\n')
            .map_or(text.len(), |i| line_start + i + 1);
        let piece = &text[line_start..line_end];
        line += 1;
        if !open_quote && piece.trim_start().starts_with('#') {
            out.push(Chunk::Comment(piece));
        } else {
            if !open_quote {
                record_start = line_start;
                record_line = line;
            }
            open_quote ^= piece.matches('"').count() % 2 == 1;
            if !open_quote {
                out.push(Chunk::Record {
                    line: record_line,
                    text: &text[record_start..line_end],
                });
            }
        }
        line_start = line_end;
    }
    if open_quote {
        out.push(Chunk::Record {
            line: record_line,
            text: &text[record_start..],
        });
    }
    out
}

/// The cells of one CSV record.
fn parse_record(text: &str) -> Result<Vec<String>, String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    match reader.records().next() {
        Some(Ok(rec)) => Ok(rec.iter().map(str::to_string).collect()),
        Some(Err(e)) => Err(e.to_string()),
        None => Ok(Vec::new()),
    }
}

fn write_record(out: &mut Vec<u8>, cells: &[String]) -> Result<(), String> {
    if cells.is_empty() || cells.iter().all(String::is_empty) && cells.len() == 1 {
        out.push(b'\n');
        return Ok(());
    }
    let mut w = csv::Writer::from_writer(out);
    w.write_record(cells).map_err(|e| e.to_string())?;
    w.flush().map_err(|e| e.to_string())
}

/// Where each column is, once the header is known (edited columns added at the end).
struct Header {
    width: usize,
    name: Option<usize>,
    by_name: HashMap<String, usize>,
}

impl Header {
    fn new(cells: &mut Vec<String>, edits: &CellEdits) -> Header {
        let find = |cells: &[String], col: &str| {
            cells
                .iter()
                .position(|h| h.trim().eq_ignore_ascii_case(col))
        };
        let mut by_name = HashMap::new();
        for col in edits.values().flatten().map(|(c, _)| c) {
            if by_name.contains_key(col) {
                continue;
            }
            let at = find(cells, col).unwrap_or_else(|| {
                cells.push(col.clone());
                cells.len() - 1
            });
            by_name.insert(col.clone(), at);
        }
        for col in PATH_COLUMNS {
            if let Some(at) = find(cells, col) {
                by_name.insert(col.to_string(), at);
            }
        }
        Header {
            width: cells.len(),
            name: find(cells, "name"),
            by_name,
        }
    }

    /// Set this row's edits and relocate its relative paths.
    fn apply(&self, cells: &mut Vec<String>, edits: &CellEdits, relocate: &Relocation) {
        if cells.is_empty() || (cells.len() == 1 && cells[0].trim().is_empty()) {
            return; // a blank line stays blank
        }
        cells.resize(self.width.max(cells.len()), String::new());
        for col in PATH_COLUMNS {
            if let Some(&at) = self.by_name.get(*col) {
                cells[at] = relocate.path(&cells[at]);
            }
        }
        let Some(name) = self.name.map(|i| cells[i].trim().to_string()) else {
            return;
        };
        for (col, value) in edits.get(&name).into_iter().flatten() {
            if let Some(&at) = self.by_name.get(col) {
                cells[at] = value.clone();
            }
        }
    }
}

/// How a path relative to the inventory's folder reads from the copy's folder.
struct Relocation {
    from: PathBuf,
    to: PathBuf,
}

impl Relocation {
    fn new(inventory: &Path, copy: &Path) -> Relocation {
        let folder = |p: &Path| normalise(&absolute(p.parent().unwrap_or(Path::new(""))));
        Relocation {
            from: folder(inventory),
            to: folder(copy),
        }
    }

    /// `cell` as written in the copy: unchanged when empty, absolute, or the folders are the same.
    fn path(&self, cell: &str) -> String {
        let p = Path::new(cell.trim());
        if cell.trim().is_empty() || p.is_absolute() || self.from == self.to {
            return cell.to_string();
        }
        relative_to(&normalise(&self.from.join(p)), &self.to)
            .to_string_lossy()
            .into_owned()
    }
}

fn absolute(p: &Path) -> PathBuf {
    let p = if p.as_os_str().is_empty() {
        Path::new(".")
    } else {
        p
    };
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

/// `.` and `..` resolved by name (symbolic links are not followed).
fn normalise(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// `target` as a path relative to the folder `base` (both absolute and normalised).
fn relative_to(target: &Path, base: &Path) -> PathBuf {
    let t: Vec<Component> = target.components().collect();
    let b: Vec<Component> = base.components().collect();
    let common = t.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut out = PathBuf::new();
    for _ in common..b.len() {
        out.push("..");
    }
    for c in &t[common..] {
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_read_from_another_folder() {
        for (target, base, want) in [
            ("/a/inv/dumps/x.xml", "/a/out", "../inv/dumps/x.xml"),
            ("/a/inv/x.xml", "/a/inv/sub", "../x.xml"),
            ("/a/inv/x.xml", "/a", "inv/x.xml"),
            ("/secrets/pw", "/a/b", "../../secrets/pw"),
        ] {
            assert_eq!(
                relative_to(Path::new(target), Path::new(base)),
                PathBuf::from(want),
                "{target} from {base}"
            );
        }
    }

    #[test]
    fn cells_relocate_unless_absolute_or_same_folder() {
        let r = Relocation {
            from: PathBuf::from("/x/inv"),
            to: PathBuf::from("/x/out"),
        };
        for (cell, want) in [
            ("dumps/a.xml", "../inv/dumps/a.xml"),
            ("./a.xml", "../inv/a.xml"),
            ("../secrets/pw", "../secrets/pw"),
            ("/abs/pw", "/abs/pw"),
            ("", ""),
        ] {
            assert_eq!(r.path(cell), want, "{cell}");
        }
        let same = Relocation {
            from: PathBuf::from("/x/inv"),
            to: PathBuf::from("/x/inv"),
        };
        assert_eq!(same.path("dumps/a.xml"), "dumps/a.xml");
    }

    #[test]
    fn comments_stay_where_they_were_and_records_may_span_lines() {
        let text =
            "# head\nname,site\n# before a\na,\"two\nlines # not a comment\"\n  # indented\nb,x";
        let got: Vec<Chunk> = chunks(text);
        assert_eq!(
            got,
            vec![
                Chunk::Comment("# head\n"),
                Chunk::Record {
                    line: 2,
                    text: "name,site\n"
                },
                Chunk::Comment("# before a\n"),
                Chunk::Record {
                    line: 4,
                    text: "a,\"two\nlines # not a comment\"\n"
                },
                Chunk::Comment("  # indented\n"),
                Chunk::Record {
                    line: 7,
                    text: "b,x"
                },
            ]
        );
    }
}
