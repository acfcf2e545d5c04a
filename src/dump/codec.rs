//! The value codec of XAPI database dumps: the `%` whitespace protection that XAPI applies to every
//! attribute value (see `xml_spaces.ml` in xen-api) and the s-expressions it uses for sets and maps.
//! Decoding follows XAPI's own rules to the letter, including the legacy `%_` (two spaces) form and the
//! old `"` quoting, so that what we read is what XAPI would read back.

use std::borrow::Cow;

/// Undo XAPI's `%` protection: `%.` space, `%_` two spaces (pre-2017 dumps), `%t` tab, `%n` newline,
/// `%r` carriage return, `%%` percent. Any other `%x` is left alone, as XAPI does.
pub fn unprotect(s: &str) -> Cow<'_, str> {
    if !s.contains('%') {
        return Cow::Borrowed(s);
    }
    let bytes = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut start = 0;
    let mut i = 0;
    while i + 1 < bytes.len() {
        if bytes[i] == b'%' {
            let replacement = match bytes[i + 1] {
                b'_' => Some("  "),
                b'.' => Some(" "),
                b't' => Some("\t"),
                b'n' => Some("\n"),
                b'r' => Some("\r"),
                b'%' => Some("%"),
                _ => None,
            };
            if let Some(r) = replacement {
                out.push_str(&s[start..i]);
                out.push_str(r);
                i += 2;
                start = i;
                continue;
            }
        }
        i += 1;
    }
    out.push_str(&s[start..]);
    Cow::Owned(out)
}

/// Apply XAPI's modern `%` protection (the inverse of [`unprotect`] for everything it writes).
pub fn protect(s: &str) -> Cow<'_, str> {
    if !s
        .bytes()
        .any(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b'%'))
    {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            ' ' => out.push_str("%."),
            '\t' => out.push_str("%t"),
            '\n' => out.push_str("%n"),
            '\r' => out.push_str("%r"),
            '%' => out.push_str("%%"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// A parsed s-expression, as XAPI's `SExpr` module knows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SExpr {
    Node(Vec<SExpr>),
    Atom(String),
}

/// Why an s-expression did not parse; the offset is in bytes into the decoded value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad s-expression at byte {offset}: {message}")]
pub struct SExprError {
    pub offset: usize,
    pub message: &'static str,
}

/// Parse one s-expression with XAPI's lexer rules: `'…'` or `"…"` strings with backslash escapes,
/// bare symbols, parentheses, and whitespace between tokens.
pub fn parse_sexpr(s: &str) -> Result<SExpr, SExprError> {
    let mut p = SExprParser {
        s: s.as_bytes(),
        pos: 0,
    };
    p.skip_ws();
    let v = p.parse()?;
    p.skip_ws();
    if p.pos != p.s.len() {
        return Err(p.err("trailing text after the expression"));
    }
    Ok(v)
}

struct SExprParser<'a> {
    s: &'a [u8],
    pos: usize,
}

impl SExprParser<'_> {
    fn err(&self, message: &'static str) -> SExprError {
        SExprError {
            offset: self.pos,
            message,
        }
    }

    fn skip_ws(&mut self) {
        while self.pos < self.s.len() && matches!(self.s[self.pos], b' ' | b'\t' | b'\r' | b'\n') {
            self.pos += 1;
        }
    }

    fn parse(&mut self) -> Result<SExpr, SExprError> {
        match self.s.get(self.pos) {
            None => Err(self.err("unexpected end of value")),
            Some(b'(') => {
                self.pos += 1;
                let mut items = Vec::new();
                loop {
                    self.skip_ws();
                    match self.s.get(self.pos) {
                        None => return Err(self.err("unclosed '('")),
                        Some(b')') => {
                            self.pos += 1;
                            return Ok(SExpr::Node(items));
                        }
                        Some(_) => items.push(self.parse()?),
                    }
                }
            }
            Some(b')') => Err(self.err("unexpected ')'")),
            Some(&q @ (b'\'' | b'"')) => {
                self.pos += 1;
                let mut out = Vec::new();
                loop {
                    match self.s.get(self.pos) {
                        None => return Err(self.err("unterminated string")),
                        Some(b'\\') => match self.s.get(self.pos + 1) {
                            None => return Err(self.err("unterminated string")),
                            Some(&c) => {
                                out.push(c);
                                self.pos += 2;
                            }
                        },
                        Some(&c) if c == q => {
                            self.pos += 1;
                            break;
                        }
                        Some(&c) => {
                            out.push(c);
                            self.pos += 1;
                        }
                    }
                }
                // The input was valid UTF-8 and escapes only ever drop an ASCII backslash.
                Ok(SExpr::Atom(
                    String::from_utf8(out).map_err(|_| self.err("invalid UTF-8"))?,
                ))
            }
            Some(_) => {
                let start = self.pos;
                while self.pos < self.s.len()
                    && !matches!(self.s[self.pos], b'"' | b' ' | b'\t' | b'\n' | b'(' | b')')
                {
                    self.pos += 1;
                }
                let sym = std::str::from_utf8(&self.s[start..self.pos])
                    .map_err(|_| self.err("invalid UTF-8"))?;
                Ok(SExpr::Atom(sym.to_string()))
            }
        }
    }
}

/// Decode a set value (`('a' 'b')`) into its strings.
pub fn parse_set(s: &str) -> Result<Vec<String>, SExprError> {
    match parse_sexpr(s)? {
        SExpr::Node(items) => items
            .into_iter()
            .map(|i| match i {
                SExpr::Atom(a) => Ok(a),
                SExpr::Node(_) => Err(SExprError {
                    offset: 0,
                    message: "set element is not a string",
                }),
            })
            .collect(),
        SExpr::Atom(_) => Err(SExprError {
            offset: 0,
            message: "expected a set",
        }),
    }
}

/// Decode a map value (`(('k' 'v') ('k2' 'v2'))`) into its pairs, in the order written.
pub fn parse_map(s: &str) -> Result<Vec<(String, String)>, SExprError> {
    match parse_sexpr(s)? {
        SExpr::Node(items) => items
            .into_iter()
            .map(|i| match i {
                SExpr::Node(mut kv) if kv.len() == 2 => {
                    let v = kv.pop();
                    let k = kv.pop();
                    match (k, v) {
                        (Some(SExpr::Atom(k)), Some(SExpr::Atom(v))) => Ok((k, v)),
                        _ => Err(SExprError {
                            offset: 0,
                            message: "map entry is not a pair of strings",
                        }),
                    }
                }
                _ => Err(SExprError {
                    offset: 0,
                    message: "map entry is not a pair",
                }),
            })
            .collect(),
        SExpr::Atom(_) => Err(SExprError {
            offset: 0,
            message: "expected a map",
        }),
    }
}

fn push_quoted(out: &mut String, s: &str) {
    out.push('\'');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            c => out.push(c),
        }
    }
    out.push('\'');
}

/// Encode a set the way XAPI writes it.
pub fn write_set<S: AsRef<str>>(items: &[S]) -> String {
    let mut out = String::from("(");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        push_quoted(&mut out, item.as_ref());
    }
    out.push(')');
    out
}

/// Encode a map the way XAPI writes it.
pub fn write_map<K: AsRef<str>, V: AsRef<str>>(pairs: impl IntoIterator<Item = (K, V)>) -> String {
    let mut out = String::from("(");
    for (i, (k, v)) in pairs.into_iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push('(');
        push_quoted(&mut out, k.as_ref());
        out.push(' ');
        push_quoted(&mut out, v.as_ref());
        out.push(')');
    }
    out.push(')');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn unprotect_table() {
        let cases = [
            ("plain", "plain"),
            ("a%.b", "a b"),
            ("a%_b", "a  b"),
            ("%t%n%r", "\t\n\r"),
            ("100%%", "100%"),
            ("%%.", "%."),
            ("50%x", "50%x"),
            ("trailing%", "trailing%"),
            ("%", "%"),
            ("caf\u{e9}%.ok", "caf\u{e9} ok"),
        ];
        for (input, want) in cases {
            assert_eq!(unprotect(input), want, "input {input:?}");
        }
    }

    #[test]
    fn sexpr_table() {
        assert_eq!(parse_set("()").unwrap(), Vec::<String>::new());
        assert_eq!(parse_set("('a' 'b')").unwrap(), vec!["a", "b"]);
        assert_eq!(
            parse_set(r#"("xenvbd" "1.0boot")"#).unwrap(),
            vec!["xenvbd", "1.0boot"]
        );
        assert_eq!(
            parse_map(r#"(("xenvbd" "1.0boot"))"#).unwrap(),
            vec![("xenvbd".to_string(), "1.0boot".to_string())]
        );
        assert_eq!(
            parse_map(r"(('k' 'it\'s') ('b\\s' 'v'))").unwrap(),
            vec![("k".into(), "it's".into()), ("b\\s".into(), "v".into())]
        );
        assert_eq!(parse_set("(sym 'q')").unwrap(), vec!["sym", "q"]);
        assert_eq!(
            parse_map("(  ( 'a'   'b' )\n)").unwrap(),
            vec![("a".into(), "b".into())]
        );
        for bad in ["(", "('a'", "('a", "(('a'))", "'a'", ") (", "() x", ""] {
            assert!(parse_map(bad).is_err(), "{bad:?} should not parse as a map");
        }
    }

    proptest! {
        #[test]
        fn protect_round_trips(s in "\\PC*|[ \t\r\n%._a-z]*") {
            let protected = protect(&s);
            prop_assert_eq!(unprotect(&protected), s.as_str());
        }

        #[test]
        fn map_round_trips(pairs in proptest::collection::vec(("\\PC*", "\\PC*"), 0..6)) {
            let text = write_map(pairs.iter().map(|(k, v)| (k, v)));
            prop_assert_eq!(parse_map(&text).unwrap(), pairs);
        }

        #[test]
        fn set_round_trips(items in proptest::collection::vec("[\\PC'\"\\\\ ]*", 0..6)) {
            let text = write_set(&items);
            prop_assert_eq!(parse_set(&text).unwrap(), items);
        }

        #[test]
        fn full_value_codec_round_trips(pairs in proptest::collection::vec(("[ -~]*", "[ -~\t\n\r]*"), 0..6)) {
            // The whole chain a dump value goes through: s-expression, % protection, XML escaping.
            let stored = quick_xml::escape::escape(protect(&write_map(pairs.iter().map(|(k, v)| (k, v))))).into_owned();
            let back = quick_xml::escape::unescape(&stored).unwrap();
            prop_assert_eq!(parse_map(&unprotect(&back)).unwrap(), pairs);
        }
    }
}
