//! XML-RPC on the wire, as XAPI speaks it. Requests are built with the `xmlrpc` crate (its `Request`
//! and `Value` serve well); responses are decoded here with quick-xml in one pass over the body,
//! because the crate's xml-rs based parser runs at a few MB/s and XAPI answers of a large pool are tens
//! of MB. The decoder accepts what XAPI really sends: bare `<value>text</value>` strings, 64-bit ints
//! as strings, `<boolean>0|1</boolean>`, `<i4>`/`<int>`, `<double>`, `<dateTime.iso8601>` with or
//! without `Z` (kept as text: the audit reads no dates), struct member names written unescaped.
//! The server side (the simulator) uses [`write_value`] and [`decode_call`].

use super::xmlscan::{At, RawTok, ScanError, Scanner};
use std::collections::BTreeMap;
use std::io::Read;
use xmlrpc::Value;

/// The deepest nesting accepted (XAPI's records nest three or four levels).
const MAX_DEPTH: usize = 64;

/// A body that is not the XML-RPC we expect.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed XML-RPC at byte {offset}: {message}")]
pub struct WireError {
    pub offset: u64,
    pub message: String,
    /// Set when reading the body failed (a timeout, a cut connection, a size cap) rather than parsing.
    pub io: Option<std::io::ErrorKind>,
}

/// Build the body of a call with the `xmlrpc` crate.
pub fn encode_call(method: &str, params: &[Value]) -> Vec<u8> {
    let mut req = xmlrpc::Request::new(method);
    for p in params {
        req = req.arg(p.clone());
    }
    let mut out = Vec::with_capacity(256);
    req.write_as_xml(&mut out)
        .expect("writing to a Vec cannot fail");
    out
}

/// Which struct members to keep while decoding: members of the structs at nesting `depth` (1 is the
/// outermost struct of the response) whose names `keep` rejects are skipped without being decoded.
/// That is how a large `event.from` answer is read without building what the audit never looks at.
/// Receives each record struct as it completes: the member name it stood under (None inside an
/// array) and its kept members.
pub type RecordSink<'f> =
    dyn FnMut(Option<String>, BTreeMap<String, Value>) -> Result<(), String> + 'f;

pub struct FieldFilter<'f> {
    pub depth: usize,
    pub keep: &'f dyn Fn(&[u8]) -> bool,
    /// Structs completed at this nesting depth are handed to `sink` as soon as they are decoded,
    /// with the member name they stood under (None inside an array), instead of being kept: the
    /// answer is consumed record by record and never held whole.
    pub emit_depth: usize,
    pub sink: Option<&'f mut RecordSink<'f>>,
}

impl<'f> FieldFilter<'f> {
    /// Keep only the members `keep` accepts at `depth`; keep everything that is returned.
    pub fn keep(depth: usize, keep: &'f dyn Fn(&[u8]) -> bool) -> Self {
        FieldFilter {
            depth,
            keep,
            emit_depth: 0,
            sink: None,
        }
    }
}

/// The XML-RPC elements, as small tokens (no allocation per tag).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tag {
    MethodResponse,
    MethodCall,
    MethodName,
    Params,
    Param,
    Fault,
    Value,
    Struct,
    Member,
    Name,
    Array,
    Data,
    Str,
    I4,
    I8,
    Boolean,
    Double,
    DateTime,
    Base64,
    Nil,
    Other,
}

fn tag_of(name: &[u8]) -> Tag {
    match name {
        b"value" => Tag::Value,
        b"member" => Tag::Member,
        b"name" => Tag::Name,
        b"struct" => Tag::Struct,
        b"array" => Tag::Array,
        b"data" => Tag::Data,
        b"string" => Tag::Str,
        b"i4" | b"int" => Tag::I4,
        b"i8" => Tag::I8,
        b"boolean" => Tag::Boolean,
        b"double" => Tag::Double,
        b"dateTime.iso8601" => Tag::DateTime,
        b"base64" => Tag::Base64,
        b"nil" => Tag::Nil,
        b"methodResponse" => Tag::MethodResponse,
        b"methodCall" => Tag::MethodCall,
        b"methodName" => Tag::MethodName,
        b"params" => Tag::Params,
        b"param" => Tag::Param,
        b"fault" => Tag::Fault,
        _ => Tag::Other,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    Start(Tag),
    Empty(Tag),
    End(Tag),
    /// Text (or CDATA) now held in `Decoder::text`.
    Text,
    Eof,
}

struct Decoder<'f, R: Read> {
    scan: Scanner<R>,
    /// The last text token's place in the scanner's buffer (valid until the next token).
    text: (usize, usize),
    text_is_cdata: bool,
    name_buf: Vec<u8>,
    filter: Option<FieldFilter<'f>>,
}

impl<'f, R: Read> Decoder<'f, R> {
    fn new(input: R, filter: Option<FieldFilter<'f>>) -> Self {
        Decoder {
            scan: Scanner::new(input),
            text: (0, 0),
            text_is_cdata: false,
            name_buf: Vec::with_capacity(64),
            filter,
        }
    }

    fn err(&self, message: impl Into<String>) -> WireError {
        WireError {
            offset: self.scan.offset(),
            message: message.into(),
            io: None,
        }
    }

    fn next(&mut self) -> Result<Tok, WireError> {
        let at = self.scan.next_span().map_err(scan_error)?;
        Ok(match at {
            At::Start(a, b) => Tok::Start(tag_of(self.scan.bytes(a, b))),
            At::Empty(a, b) => Tok::Empty(tag_of(self.scan.bytes(a, b))),
            At::End(a, b) => Tok::End(tag_of(self.scan.bytes(a, b))),
            At::Text(a, b, cdata) => {
                self.text = (a, b);
                self.text_is_cdata = cdata;
                Tok::Text
            }
            At::Eof => Tok::Eof,
        })
    }

    /// The last text token's bytes.
    fn text(&self) -> &[u8] {
        self.scan.bytes(self.text.0, self.text.1)
    }

    fn blank(&self) -> bool {
        !self.text_is_cdata && self.text().iter().all(u8::is_ascii_whitespace)
    }

    /// The current text, entities decoded; `lenient` keeps a bare `&` as written (XAPI writes struct
    /// member names without escaping).
    fn push_text(&self, out: &mut String, lenient: bool) -> Result<(), WireError> {
        self.push_span(out, self.text, self.text_is_cdata, lenient)
    }

    /// Like [`Decoder::push_text`] for a span of the scanner's buffer.
    fn push_span(
        &self,
        out: &mut String,
        (a, b): (usize, usize),
        cdata: bool,
        lenient: bool,
    ) -> Result<(), WireError> {
        let raw = std::str::from_utf8(self.scan.bytes(a, b))
            .map_err(|_| self.err("text is not UTF-8"))?;
        if cdata || !raw.contains('&') {
            out.push_str(raw);
            return Ok(());
        }
        match quick_xml::escape::unescape(raw) {
            Ok(s) => out.push_str(&s),
            Err(_) if lenient => out.push_str(raw),
            Err(e) => return Err(self.err(e.to_string())),
        }
        Ok(())
    }

    fn unexpected(&self, tok: Tok, context: &str) -> WireError {
        match tok {
            Tok::Eof => self.err("unexpected end of body"),
            Tok::Text => self.err(format!("unexpected text in {context}")),
            other => self.err(format!("unexpected {other:?} in {context}")),
        }
    }

    /// The next start (or empty) tag, skipping whitespace text.
    fn open(&mut self) -> Result<(Tag, bool), WireError> {
        loop {
            match self.next()? {
                Tok::Start(t) => return Ok((t, false)),
                Tok::Empty(t) => return Ok((t, true)),
                Tok::Text if self.blank() => continue,
                other => return Err(self.unexpected(other, "a tag position")),
            }
        }
    }

    /// Consume up to and including the end tag, skipping whitespace.
    fn close(&mut self, tag: Tag) -> Result<(), WireError> {
        loop {
            match self.next()? {
                Tok::End(t) if t == tag => return Ok(()),
                Tok::Text if self.blank() => continue,
                other => return Err(self.unexpected(other, &format!("{tag:?} (expected its end)"))),
            }
        }
    }

    fn text_until(&mut self, tag: Tag, lenient: bool) -> Result<String, WireError> {
        let mut out = String::new();
        loop {
            match self.next()? {
                Tok::Text => self.push_text(&mut out, lenient)?,
                Tok::End(t) if t == tag => return Ok(out),
                other => return Err(self.unexpected(other, "text")),
            }
        }
    }

    /// The text up to `</tag>`, parsed as a number.
    fn parse_until<T: std::str::FromStr>(&mut self, tag: Tag, what: &str) -> Result<T, WireError> {
        let s = self.text_until(tag, false)?;
        s.trim()
            .parse()
            .map_err(|_| self.err(format!("bad {what} {s:?}")))
    }

    fn expect_open(&mut self, tag: Tag) -> Result<bool, WireError> {
        let (t, empty) = self.open()?;
        if t != tag {
            return Err(self.err(format!("expected {tag:?}, found {t:?}")));
        }
        Ok(empty)
    }

    /// Parse the inside of a `<value>` whose start tag was just read.
    fn value_body(&mut self, depth: usize, structs: usize) -> Result<Value, WireError> {
        if depth > MAX_DEPTH {
            return Err(self.err("nesting too deep"));
        }
        let mut text = String::new();
        // Fast path: a plain text value, `text</value>`, the commonest form in XAPI's answers.
        let span = self.scan.text_span().map_err(scan_error)?;
        self.push_span(&mut text, span, false, false)?;
        if self.scan.eat(b"</value>").map_err(scan_error)? {
            return Ok(Value::String(text));
        }
        loop {
            match self.next()? {
                Tok::Text => self.push_text(&mut text, false)?,
                Tok::End(Tag::Value) => return Ok(Value::String(text)),
                Tok::Empty(t) => {
                    let v = match t {
                        Tag::Str | Tag::DateTime | Tag::Base64 => Value::String(String::new()),
                        Tag::Nil => Value::Nil,
                        Tag::Struct => Value::Struct(BTreeMap::new()),
                        Tag::Array => Value::Array(Vec::new()),
                        other => return Err(self.err(format!("empty {other:?}"))),
                    };
                    self.close(Tag::Value)?;
                    return Ok(v);
                }
                Tok::Start(t) => {
                    if !text.trim().is_empty() {
                        return Err(self.err("text before a typed value"));
                    }
                    let v = match t {
                        Tag::Str | Tag::DateTime | Tag::Base64 => {
                            Value::String(self.text_until(t, false)?)
                        }
                        Tag::I4 => Value::Int(self.parse_until(t, "int")?),
                        Tag::I8 => Value::Int64(self.parse_until(t, "i8")?),
                        Tag::Boolean => {
                            let s = self.text_until(t, false)?;
                            match s.trim() {
                                "1" | "true" => Value::Bool(true),
                                "0" | "false" => Value::Bool(false),
                                _ => return Err(self.err(format!("bad boolean {s:?}"))),
                            }
                        }
                        Tag::Double => Value::Double(self.parse_until(t, "double")?),
                        Tag::Struct => self.struct_body(depth, structs + 1)?,
                        Tag::Array => self.array_body(depth, structs)?,
                        other => return Err(self.err(format!("unknown type {other:?}"))),
                    };
                    self.close(Tag::Value)?;
                    return Ok(v);
                }
                other => return Err(self.unexpected(other, "a value")),
            }
        }
    }

    /// Hand a struct completed at nesting `level` to the sink, if one wants that level; otherwise give
    /// it back to be stored.
    #[allow(clippy::type_complexity)]
    fn emit(
        &mut self,
        level: usize,
        name: Option<String>,
        value: Value,
    ) -> Result<Option<(Option<String>, Value)>, WireError> {
        let Some(filter) = self.filter.as_mut() else {
            return Ok(Some((name, value)));
        };
        let Some(sink) = filter.sink.as_mut().filter(|_| filter.emit_depth == level) else {
            return Ok(Some((name, value)));
        };
        // Only structs are records; a scalar beside them (event.from's token) is kept as usual.
        let Value::Struct(map) = value else {
            return Ok(Some((name, value)));
        };
        let result = sink(name, map);
        result.map_err(|m| self.err(m))?;
        Ok(None)
    }

    /// Collect a member name's raw bytes into `name_buf` up to `</name>`.
    fn read_name(&mut self) -> Result<(), WireError> {
        loop {
            match self.next()? {
                Tok::Text => {
                    let (a, b) = self.text;
                    self.name_buf.extend_from_slice(self.scan.bytes(a, b));
                }
                Tok::End(Tag::Name) => return Ok(()),
                other => return Err(self.unexpected(other, "a member name")),
            }
        }
    }

    /// The member name, entities decoded where they parse (XAPI writes names without escaping).
    fn name_string(&self) -> Result<String, WireError> {
        let raw = std::str::from_utf8(&self.name_buf)
            .map_err(|_| self.err("member name is not UTF-8"))?;
        if !raw.contains('&') {
            return Ok(raw.to_string());
        }
        Ok(quick_xml::escape::unescape(raw)
            .map(|s| s.into_owned())
            .unwrap_or_else(|_| raw.to_string()))
    }

    /// Skip a `<value>` subtree whose start tag was just read, decoding nothing.
    fn skip_value(&mut self) -> Result<(), WireError> {
        // Fast path: a plain text value.
        self.scan.text_span().map_err(scan_error)?;
        if self.scan.eat(b"</value>").map_err(scan_error)? {
            return Ok(());
        }
        let mut depth = 1usize;
        loop {
            match self.scan.next_token().map_err(scan_error)? {
                RawTok::Start(b"value") => depth += 1,
                RawTok::End(b"value") => {
                    depth -= 1;
                    if depth == 0 {
                        return Ok(());
                    }
                }
                RawTok::Eof => return Err(self.err("unexpected end of body")),
                _ => {}
            }
        }
    }

    fn struct_body(&mut self, depth: usize, structs: usize) -> Result<Value, WireError> {
        let filtering = self.filter.as_ref().is_some_and(|f| f.depth == structs);
        let mut map = BTreeMap::new();
        loop {
            match self.next()? {
                Tok::Start(Tag::Member) => {
                    // The raw name decides; only a kept name becomes a String.
                    self.name_buf.clear();
                    if self.scan.eat(b"<name>").map_err(scan_error)? {
                        // Fast path: `<name>text</name>` written exactly so.
                        let (a, b) = self.scan.text_span().map_err(scan_error)?;
                        self.name_buf.extend_from_slice(self.scan.bytes(a, b));
                        if !self.scan.eat(b"</name>").map_err(scan_error)? {
                            self.read_name()?;
                        }
                    } else {
                        let (t, empty) = self.open()?;
                        if t != Tag::Name {
                            return Err(self.err("member without a name"));
                        }
                        if !empty {
                            self.read_name()?;
                        }
                    }
                    let keep = !filtering
                        || self
                            .filter
                            .as_ref()
                            .is_some_and(|f| (f.keep)(&self.name_buf));
                    let name = if keep {
                        self.name_string()?
                    } else {
                        String::new()
                    };
                    let (t, empty) = match self.scan.eat(b"<value>").map_err(scan_error)? {
                        true => (Tag::Value, false),
                        false => self.open()?,
                    };
                    if t != Tag::Value {
                        return Err(self.err("member without a value"));
                    }
                    if keep {
                        let value = if empty {
                            Value::String(String::new())
                        } else {
                            self.value_body(depth + 1, structs)?
                        };
                        if let Some((name, value)) = self.emit(structs + 1, Some(name), value)? {
                            map.insert(name.unwrap_or_default(), value);
                        }
                    } else if !empty {
                        self.skip_value()?;
                    }
                    if !self.scan.eat(b"</member>").map_err(scan_error)? {
                        self.close(Tag::Member)?;
                    }
                }
                Tok::End(Tag::Struct) => return Ok(Value::Struct(map)),
                Tok::Text if self.blank() => {}
                other => return Err(self.unexpected(other, "a struct")),
            }
        }
    }

    fn array_body(&mut self, depth: usize, structs: usize) -> Result<Value, WireError> {
        let (t, empty) = self.open()?;
        if t != Tag::Data {
            return Err(self.err("array without data"));
        }
        let mut items = Vec::new();
        if !empty {
            loop {
                match self.next()? {
                    Tok::Start(Tag::Value) => {
                        let v = self.value_body(depth + 1, structs)?;
                        if let Some((_, v)) = self.emit(structs + 1, None, v)? {
                            items.push(v);
                        }
                    }
                    Tok::Empty(Tag::Value) => items.push(Value::String(String::new())),
                    Tok::End(Tag::Data) => break,
                    Tok::Text if self.blank() => {}
                    other => return Err(self.unexpected(other, "an array")),
                }
            }
        }
        self.close(Tag::Array)?;
        Ok(Value::Array(items))
    }

    fn value(&mut self) -> Result<Value, WireError> {
        if self.expect_open(Tag::Value)? {
            return Ok(Value::String(String::new()));
        }
        self.value_body(0, 0)
    }

    fn finish(&mut self) -> Result<(), WireError> {
        loop {
            match self.next()? {
                Tok::Eof => return Ok(()),
                Tok::Text if self.blank() => {}
                other => return Err(self.unexpected(other, "the end of the body")),
            }
        }
    }
}

fn scan_error(e: ScanError) -> WireError {
    WireError {
        offset: e.offset,
        message: e.message,
        io: e.io,
    }
}

/// A decoded response: the value of `<params>`, or a `<fault>` (XAPI itself never sends faults; it
/// answers with a Status/ErrorDescription struct inside a normal response).
#[derive(Debug, Clone, PartialEq)]
pub enum Response {
    Value(Value),
    Fault(Value),
}

/// Decode a `<methodResponse>` body held in memory.
pub fn decode_response(body: &[u8]) -> Result<Response, WireError> {
    decode_response_from(body, None)
}

/// Decode a `<methodResponse>` as it streams in, keeping only what `filter` lets through.
pub fn decode_response_from<R: Read>(
    input: R,
    filter: Option<FieldFilter>,
) -> Result<Response, WireError> {
    let mut d = Decoder::new(input, filter);
    d.expect_open(Tag::MethodResponse)?;
    let (tag, _) = d.open()?;
    let r = match tag {
        Tag::Params => {
            d.expect_open(Tag::Param)?;
            let v = d.value()?;
            d.close(Tag::Param)?;
            d.close(Tag::Params)?;
            Response::Value(v)
        }
        Tag::Fault => {
            let v = d.value()?;
            d.close(Tag::Fault)?;
            Response::Fault(v)
        }
        other => return Err(d.err(format!("unexpected {other:?} in methodResponse"))),
    };
    d.close(Tag::MethodResponse)?;
    d.finish()?;
    Ok(r)
}

/// Decode a `<methodCall>` body (the simulator's side).
pub fn decode_call(body: &[u8]) -> Result<(String, Vec<Value>), WireError> {
    let mut d = Decoder::new(body, None);
    d.expect_open(Tag::MethodCall)?;
    d.expect_open(Tag::MethodName)?;
    let method = d.text_until(Tag::MethodName, false)?.trim().to_string();
    let mut params = Vec::new();
    let (tag, empty) = d.open()?;
    if tag != Tag::Params {
        return Err(d.err("expected params"));
    }
    if !empty {
        loop {
            match d.next()? {
                Tok::Start(Tag::Param) => {
                    params.push(d.value()?);
                    d.close(Tag::Param)?;
                }
                Tok::End(Tag::Params) => break,
                Tok::Text if d.blank() => {}
                other => return Err(d.unexpected(other, "params")),
            }
        }
    }
    d.close(Tag::MethodCall)?;
    d.finish()?;
    Ok((method, params))
}

fn escape_into(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            c => out.push(c),
        }
    }
}

/// Write a value as XAPI's serializer does: bare strings, `<boolean>0|1</boolean>`, ints as `<i4>`
/// only where given as Int (XAPI sends 64-bit ints as strings).
pub fn write_value(out: &mut String, v: &Value) {
    out.push_str("<value>");
    match v {
        Value::String(s) => escape_into(out, s),
        Value::Int(i) => out.push_str(&format!("<i4>{i}</i4>")),
        Value::Int64(i) => escape_into(out, &i.to_string()),
        Value::Bool(b) => out.push_str(if *b {
            "<boolean>1</boolean>"
        } else {
            "<boolean>0</boolean>"
        }),
        Value::Double(d) => out.push_str(&format!("<double>{d}</double>")),
        Value::Struct(m) => {
            out.push_str("<struct>");
            for (k, v) in m {
                out.push_str("<member><name>");
                escape_into(out, k);
                out.push_str("</name>");
                write_value(out, v);
                out.push_str("</member>");
            }
            out.push_str("</struct>");
        }
        Value::Array(items) => {
            out.push_str("<array><data>");
            for i in items {
                write_value(out, i);
            }
            out.push_str("</data></array>");
        }
        Value::Nil => out.push_str("<nil/>"),
        Value::DateTime(_) | Value::Base64(_) => escape_into(out, ""),
    }
    out.push_str("</value>");
}

/// A whole XAPI success response around an already serialized `<value>`.
pub fn success_envelope(value_xml: &str) -> String {
    let mut out = String::with_capacity(value_xml.len() + 200);
    out.push_str(SUCCESS_PREFIX);
    out.push_str(value_xml);
    out.push_str(SUCCESS_SUFFIX);
    out
}

/// What XAPI writes before the `<value>` of a successful answer.
pub const SUCCESS_PREFIX: &str = "<?xml version=\"1.0\"?><methodResponse><params><param><value><struct><member><name>Status</name><value>Success</value></member><member><name>Value</name>";
/// What XAPI writes after it.
pub const SUCCESS_SUFFIX: &str = "</member></struct></value></param></params></methodResponse>";

/// A whole XAPI failure response.
pub fn failure_envelope(description: &[&str]) -> String {
    let mut desc = String::new();
    write_value(
        &mut desc,
        &Value::Array(
            description
                .iter()
                .map(|s| Value::String(s.to_string()))
                .collect(),
        ),
    );
    format!(
        "<?xml version=\"1.0\"?><methodResponse><params><param><value><struct><member><name>Status</name><value>Failure</value></member><member><name>ErrorDescription</name>{desc}</member></struct></value></param></params></methodResponse>"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_value(xml: &str) -> Value {
        let body =
            format!("<methodResponse><params><param>{xml}</param></params></methodResponse>");
        match decode_response(body.as_bytes()).unwrap() {
            Response::Value(v) => v,
            Response::Fault(_) => panic!("fault"),
        }
    }

    #[test]
    fn every_tag_name_and_near_misses() {
        let names = [
            ("value", Tag::Value),
            ("member", Tag::Member),
            ("name", Tag::Name),
            ("struct", Tag::Struct),
            ("array", Tag::Array),
            ("data", Tag::Data),
            ("string", Tag::Str),
            ("i4", Tag::I4),
            ("int", Tag::I4),
            ("i8", Tag::I8),
            ("boolean", Tag::Boolean),
            ("double", Tag::Double),
            ("dateTime.iso8601", Tag::DateTime),
            ("base64", Tag::Base64),
            ("nil", Tag::Nil),
            ("methodResponse", Tag::MethodResponse),
            ("methodCall", Tag::MethodCall),
            ("methodName", Tag::MethodName),
            ("params", Tag::Params),
            ("param", Tag::Param),
            ("fault", Tag::Fault),
        ];
        for (name, tag) in names {
            assert_eq!(tag_of(name.as_bytes()), tag, "{name}");
            // Same length, one byte changed anywhere: not that tag.
            for i in 0..name.len() {
                let mut near = name.as_bytes().to_vec();
                near[i] ^= 0x20;
                assert_eq!(
                    tag_of(&near),
                    Tag::Other,
                    "{}",
                    String::from_utf8_lossy(&near)
                );
            }
        }
        for other in ["", "v", "values", "i", "membe", "struct ", "Value"] {
            assert_eq!(tag_of(other.as_bytes()), Tag::Other, "{other:?}");
        }
    }

    #[test]
    fn xapi_value_forms() {
        let s = |x: &str| Value::String(x.into());
        let cases: Vec<(&str, Value)> = vec![
            ("<value>bare &amp; text</value>", s("bare & text")),
            ("<value><string>typed</string></value>", s("typed")),
            ("<value></value>", s("")),
            ("<value/>", s("")),
            ("<value>12345678901234</value>", s("12345678901234")),
            ("<value><i4>-3</i4></value>", Value::Int(-3)),
            ("<value><int>7</int></value>", Value::Int(7)),
            ("<value><boolean>1</boolean></value>", Value::Bool(true)),
            ("<value><boolean>0</boolean></value>", Value::Bool(false)),
            ("<value><double>1.5</double></value>", Value::Double(1.5)),
            ("<value><dateTime.iso8601>20250319T04:16:24Z</dateTime.iso8601></value>", s("20250319T04:16:24Z")),
            ("<value><dateTime.iso8601>20250319T04:16:24</dateTime.iso8601></value>", s("20250319T04:16:24")),
            ("<value><array><data/></array></value>", Value::Array(vec![])),
            ("<value><array><data>\n<value>a</value><value><i4>1</i4></value></data></array></value>", Value::Array(vec![s("a"), Value::Int(1)])),
            (
                "<value><struct>\n<member><name>k&v</name><value>x</value></member><member><name>e</name><value/></member></struct></value>",
                Value::Struct([("k&v".to_string(), s("x")), ("e".to_string(), s(""))].into_iter().collect()),
            ),
        ];
        for (xml, want) in cases {
            assert_eq!(decode_value(xml), want, "{xml}");
        }
    }

    #[test]
    fn round_trips_through_the_xapi_writer() {
        let v = Value::Struct(
            [
                ("Status".to_string(), Value::String("Success".into())),
                (
                    "Value".to_string(),
                    Value::Array(vec![
                        Value::String("<&>\"' ünï".into()),
                        Value::Bool(true),
                        Value::Struct(BTreeMap::new()),
                    ]),
                ),
            ]
            .into_iter()
            .collect(),
        );
        let mut xml = String::new();
        write_value(&mut xml, &v);
        assert_eq!(decode_value(&xml), v);
    }

    #[test]
    fn calls_built_by_the_xmlrpc_crate_decode() {
        let body = encode_call(
            "session.login_with_password",
            &[
                Value::from("root"),
                Value::from("pw <&>"),
                Value::from("1.0"),
            ],
        );
        let (m, p) = decode_call(&body).unwrap();
        assert_eq!(m, "session.login_with_password");
        assert_eq!(
            p,
            vec![
                Value::from("root"),
                Value::from("pw <&>"),
                Value::from("1.0")
            ]
        );
    }

    #[test]
    fn malformed_and_truncated_bodies_are_errors() {
        for body in [
            "",
            "<html><body>500</body></html>",
            "<methodResponse><params><param><value><struct><member><name>a</name>",
            "<methodResponse><params><param><value><i4>x</i4></value></param></params></methodResponse>",
            "<methodResponse><params><param><value><boolean>2</boolean></value></param></params></methodResponse>",
            "<methodResponse><params><param><value><bogus/></value></param></params></methodResponse>",
            "<methodResponse><params><param><value>a</value></param></params></methodResponse><extra/>",
        ] {
            assert!(decode_response(body.as_bytes()).is_err(), "{body:?}");
        }
        let deep = format!(
            "<methodResponse><params><param>{}{}</param></params></methodResponse>",
            "<value><array><data>".repeat(100),
            "</data></array></value>".repeat(100)
        );
        assert!(decode_response(deep.as_bytes())
            .unwrap_err()
            .message
            .contains("too deep"));
    }
}

#[cfg(test)]
mod filter_tests {
    use super::*;

    #[test]
    fn filtered_decoding_skips_unkept_members_at_the_record_depth_only() {
        let body = "<methodResponse><params><param><value><struct>\
            <member><name>Status</name><value>Success</value></member>\
            <member><name>Value</name><value><struct>\
              <member><name>OpaqueRef:1</name><value><struct>\
                <member><name>uuid</name><value>u1</value></member>\
                <member><name>huge</name><value><struct><member><name>x</name><value><array><data><value>1</value></data></array></value></member></struct></value></member>\
                <member><name>other_config</name><value><struct><member><name>huge</name><value>kept: not the record depth</value></member></struct></value></member>\
                <member><name>empty</name><value/></member>\
              </struct></value></member>\
            </struct></value></member>\
            </struct></value></param></params></methodResponse>";
        let keep = |n: &[u8]| n == b"uuid" || n == b"other_config";
        let r = decode_response_from(body.as_bytes(), Some(FieldFilter::keep(3, &keep))).unwrap();
        let Response::Value(v) = r else { panic!() };
        let rec = v
            .get("Value")
            .and_then(|v| v.get("OpaqueRef:1"))
            .and_then(Value::as_struct)
            .unwrap();
        assert_eq!(rec.keys().collect::<Vec<_>>(), vec!["other_config", "uuid"]);
        assert_eq!(
            rec["other_config"].get("huge").and_then(Value::as_str),
            Some("kept: not the record depth")
        );
        // Unfiltered, everything is there, and both decode the same kept values.
        let Response::Value(all) = decode_response(body.as_bytes()).unwrap() else {
            panic!()
        };
        let full = all
            .get("Value")
            .and_then(|v| v.get("OpaqueRef:1"))
            .and_then(Value::as_struct)
            .unwrap();
        assert_eq!(full.len(), 4);
        assert_eq!(full["uuid"], rec["uuid"]);
    }
}

#[cfg(test)]
mod prop_tests {
    use super::*;
    use proptest::prelude::*;

    fn value_strategy() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            "\\PC{0,12}".prop_map(Value::String),
            any::<i32>().prop_map(Value::Int),
            any::<bool>().prop_map(Value::Bool),
        ];
        leaf.prop_recursive(4, 40, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                proptest::collection::btree_map("[a-zA-Z_:<>&' ]{0,10}", inner, 0..5)
                    .prop_map(Value::Struct),
            ]
        })
    }

    proptest! {
        /// Whatever XAPI's serializer writes, the streaming decoder reads back, in any read sizes.
        #[test]
        fn xapi_written_values_decode_back(v in value_strategy(), chunk in 1usize..64) {
            let body = success_envelope(&{ let mut s = String::new(); write_value(&mut s, &v); s });
            let reader = ChunkedReader { data: body.as_bytes(), chunk };
            let Response::Value(Value::Struct(mut env)) = decode_response_from(reader, None).unwrap() else { panic!("not a struct") };
            prop_assert_eq!(env.remove("Value").unwrap(), v);
        }

        /// Arbitrary bytes never panic the decoder: they decode or give an error.
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = decode_response(&bytes);
            let _ = decode_call(&bytes);
        }

        /// Truncating a valid answer anywhere gives an error, never a wrong value.
        #[test]
        fn truncated_answers_are_errors(v in value_strategy(), cut in 0.0f64..1.0) {
            let body = success_envelope(&{ let mut s = String::new(); write_value(&mut s, &v); s });
            let at = ((body.len() as f64) * cut) as usize;
            prop_assume!(at < body.len());
            prop_assert!(decode_response(&body.as_bytes()[..at]).is_err());
        }
    }

    struct ChunkedReader<'a> {
        data: &'a [u8],
        chunk: usize,
    }

    impl std::io::Read for ChunkedReader<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.chunk.min(buf.len()).min(self.data.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }
}
