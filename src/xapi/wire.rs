//! XML-RPC on the wire, as XAPI speaks it. Requests are built with the `xmlrpc` crate (its `Request`
//! and `Value` serve well); responses are decoded here with quick-xml in one pass over the body,
//! because the crate's xml-rs based parser runs at a few MB/s and XAPI answers of a large pool are tens
//! of MB. The decoder accepts what XAPI really sends: bare `<value>text</value>` strings, 64-bit ints
//! as strings, `<boolean>0|1</boolean>`, `<i4>`/`<int>`, `<double>`, `<dateTime.iso8601>` with or
//! without `Z` (kept as text: the audit reads no dates), struct member names written unescaped.
//! The server side (the simulator) uses [`write_value`] and [`decode_call`].

use quick_xml::events::Event;
use std::collections::BTreeMap;
use xmlrpc::Value;

/// The deepest nesting accepted (XAPI's records nest three or four levels).
const MAX_DEPTH: usize = 64;

/// A body that is not the XML-RPC we expect.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed XML-RPC at byte {offset}: {message}")]
pub struct WireError {
    pub offset: u64,
    pub message: String,
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

struct Decoder<'a> {
    reader: quick_xml::Reader<&'a [u8]>,
}

impl<'a> Decoder<'a> {
    fn new(body: &'a [u8]) -> Self {
        let mut reader = quick_xml::Reader::from_reader(body);
        reader.config_mut().trim_text(false);
        Decoder { reader }
    }

    fn err(&self, message: impl Into<String>) -> WireError {
        WireError {
            offset: self.reader.buffer_position(),
            message: message.into(),
        }
    }

    fn next(&mut self) -> Result<Event<'a>, WireError> {
        loop {
            match self.reader.read_event() {
                Ok(Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_)) => {
                    continue
                }
                Ok(e) => return Ok(e),
                Err(e) => return Err(self.err(e.to_string())),
            }
        }
    }

    /// The next start (or empty) tag, skipping whitespace text.
    fn open(&mut self) -> Result<(Vec<u8>, bool), WireError> {
        loop {
            match self.next()? {
                Event::Start(e) => return Ok((e.name().as_ref().to_vec(), false)),
                Event::Empty(e) => return Ok((e.name().as_ref().to_vec(), true)),
                Event::Text(t) if t.iter().all(u8::is_ascii_whitespace) => continue,
                Event::Eof => return Err(self.err("unexpected end of body")),
                other => return Err(self.err(format!("expected a tag, found {other:?}"))),
            }
        }
    }

    /// Consume up to and including the end tag `name`, skipping whitespace.
    fn close(&mut self, name: &[u8]) -> Result<(), WireError> {
        loop {
            match self.next()? {
                Event::End(e) if e.name().as_ref() == name => return Ok(()),
                Event::Text(t) if t.iter().all(u8::is_ascii_whitespace) => continue,
                Event::Eof => return Err(self.err("unexpected end of body")),
                other => {
                    return Err(self.err(format!(
                        "expected </{}>, found {other:?}",
                        String::from_utf8_lossy(name)
                    )))
                }
            }
        }
    }

    /// Text up to the end tag `name` (entities decoded; a bare `&` is kept as written, as XAPI
    /// writes struct member names without escaping).
    fn text_until(&mut self, name: &[u8]) -> Result<String, WireError> {
        let mut out = String::new();
        loop {
            match self.next()? {
                Event::Text(t) => {
                    let raw = std::str::from_utf8(&t).map_err(|_| self.err("text is not UTF-8"))?;
                    match quick_xml::escape::unescape(raw) {
                        Ok(s) => out.push_str(&s),
                        Err(_) => out.push_str(raw),
                    }
                }
                Event::CData(c) => out
                    .push_str(std::str::from_utf8(&c).map_err(|_| self.err("CDATA is not UTF-8"))?),
                Event::End(e) if e.name().as_ref() == name => return Ok(out),
                Event::Eof => return Err(self.err("unexpected end of body")),
                other => return Err(self.err(format!("unexpected {other:?} in text"))),
            }
        }
    }

    /// Parse the inside of a `<value>` whose start tag was just read.
    fn value_body(&mut self, depth: usize) -> Result<Value, WireError> {
        if depth > MAX_DEPTH {
            return Err(self.err("nesting too deep"));
        }
        // Either text (a bare string) or one typed element, then </value>.
        let mut text = String::new();
        loop {
            match self.next()? {
                Event::Text(t) => {
                    let raw = std::str::from_utf8(&t).map_err(|_| self.err("text is not UTF-8"))?;
                    text.push_str(
                        &quick_xml::escape::unescape(raw).map_err(|e| self.err(e.to_string()))?,
                    );
                }
                Event::End(e) if e.name().as_ref() == b"value" => return Ok(Value::String(text)),
                Event::Empty(e) => {
                    let v = match e.name().as_ref() {
                        b"string" | b"dateTime.iso8601" => Value::String(String::new()),
                        b"nil" => Value::Nil,
                        b"struct" => Value::Struct(BTreeMap::new()),
                        b"array" => Value::Array(Vec::new()),
                        other => {
                            return Err(
                                self.err(format!("empty <{}>", String::from_utf8_lossy(other)))
                            )
                        }
                    };
                    self.close(b"value")?;
                    return Ok(v);
                }
                Event::Start(e) => {
                    if !text.trim().is_empty() {
                        return Err(self.err("text before a typed value"));
                    }
                    let tag = e.name().as_ref().to_vec();
                    let v = match tag.as_slice() {
                        b"string" | b"dateTime.iso8601" => Value::String(self.text_until(&tag)?),
                        b"i4" | b"int" => {
                            let s = self.text_until(&tag)?;
                            Value::Int(
                                s.trim()
                                    .parse()
                                    .map_err(|_| self.err(format!("bad int {s:?}")))?,
                            )
                        }
                        b"i8" => {
                            let s = self.text_until(&tag)?;
                            Value::Int64(
                                s.trim()
                                    .parse()
                                    .map_err(|_| self.err(format!("bad i8 {s:?}")))?,
                            )
                        }
                        b"boolean" => {
                            let s = self.text_until(&tag)?;
                            match s.trim() {
                                "1" | "true" => Value::Bool(true),
                                "0" | "false" => Value::Bool(false),
                                _ => return Err(self.err(format!("bad boolean {s:?}"))),
                            }
                        }
                        b"double" => {
                            let s = self.text_until(&tag)?;
                            Value::Double(
                                s.trim()
                                    .parse()
                                    .map_err(|_| self.err(format!("bad double {s:?}")))?,
                            )
                        }
                        b"base64" => Value::String(self.text_until(&tag)?),
                        b"struct" => self.struct_body(depth)?,
                        b"array" => self.array_body(depth)?,
                        other => {
                            return Err(self
                                .err(format!("unknown type <{}>", String::from_utf8_lossy(other))))
                        }
                    };
                    self.close(b"value")?;
                    return Ok(v);
                }
                Event::Eof => return Err(self.err("unexpected end of body")),
                other => return Err(self.err(format!("unexpected {other:?} in <value>"))),
            }
        }
    }

    fn struct_body(&mut self, depth: usize) -> Result<Value, WireError> {
        let mut map = BTreeMap::new();
        loop {
            match self.next()? {
                Event::Start(e) if e.name().as_ref() == b"member" => {
                    let (tag, empty) = self.open()?;
                    if tag != b"name" {
                        return Err(self.err("<member> without <name>"));
                    }
                    let name = if empty {
                        String::new()
                    } else {
                        self.text_until(b"name")?
                    };
                    let (tag, empty) = self.open()?;
                    let value = match (tag.as_slice(), empty) {
                        (b"value", false) => self.value_body(depth + 1)?,
                        (b"value", true) => Value::String(String::new()),
                        _ => return Err(self.err("<member> without <value>")),
                    };
                    self.close(b"member")?;
                    map.insert(name, value);
                }
                Event::End(e) if e.name().as_ref() == b"struct" => return Ok(Value::Struct(map)),
                Event::Text(t) if t.iter().all(u8::is_ascii_whitespace) => {}
                Event::Eof => return Err(self.err("unexpected end of body")),
                other => return Err(self.err(format!("unexpected {other:?} in <struct>"))),
            }
        }
    }

    fn array_body(&mut self, depth: usize) -> Result<Value, WireError> {
        let (tag, empty) = self.open()?;
        if tag != b"data" {
            return Err(self.err("<array> without <data>"));
        }
        let mut items = Vec::new();
        if !empty {
            loop {
                match self.next()? {
                    Event::Start(e) if e.name().as_ref() == b"value" => {
                        items.push(self.value_body(depth + 1)?)
                    }
                    Event::Empty(e) if e.name().as_ref() == b"value" => {
                        items.push(Value::String(String::new()))
                    }
                    Event::End(e) if e.name().as_ref() == b"data" => break,
                    Event::Text(t) if t.iter().all(u8::is_ascii_whitespace) => {}
                    Event::Eof => return Err(self.err("unexpected end of body")),
                    other => return Err(self.err(format!("unexpected {other:?} in <data>"))),
                }
            }
        }
        self.close(b"array")?;
        Ok(Value::Array(items))
    }

    fn expect_open(&mut self, name: &[u8]) -> Result<bool, WireError> {
        let (tag, empty) = self.open()?;
        if tag != name {
            return Err(self.err(format!(
                "expected <{}>, found <{}>",
                String::from_utf8_lossy(name),
                String::from_utf8_lossy(&tag)
            )));
        }
        Ok(empty)
    }

    fn value(&mut self) -> Result<Value, WireError> {
        if self.expect_open(b"value")? {
            return Ok(Value::String(String::new()));
        }
        self.value_body(0)
    }

    fn finish(&mut self) -> Result<(), WireError> {
        loop {
            match self.next()? {
                Event::Eof => return Ok(()),
                Event::Text(t) if t.iter().all(u8::is_ascii_whitespace) => {}
                other => return Err(self.err(format!("trailing {other:?}"))),
            }
        }
    }
}

/// A decoded response: the value of `<params>`, or a `<fault>` (XAPI itself never sends faults; it
/// answers with a Status/ErrorDescription struct inside a normal response).
#[derive(Debug, Clone, PartialEq)]
pub enum Response {
    Value(Value),
    Fault(Value),
}

/// Decode a `<methodResponse>` body.
pub fn decode_response(body: &[u8]) -> Result<Response, WireError> {
    let mut d = Decoder::new(body);
    d.expect_open(b"methodResponse")?;
    let (tag, _) = d.open()?;
    let r = match tag.as_slice() {
        b"params" => {
            d.expect_open(b"param")?;
            let v = d.value()?;
            d.close(b"param")?;
            d.close(b"params")?;
            Response::Value(v)
        }
        b"fault" => {
            let v = d.value()?;
            d.close(b"fault")?;
            Response::Fault(v)
        }
        other => {
            return Err(d.err(format!(
                "unexpected <{}> in <methodResponse>",
                String::from_utf8_lossy(other)
            )))
        }
    };
    d.close(b"methodResponse")?;
    d.finish()?;
    Ok(r)
}

/// Decode a `<methodCall>` body (the simulator's side).
pub fn decode_call(body: &[u8]) -> Result<(String, Vec<Value>), WireError> {
    let mut d = Decoder::new(body);
    d.expect_open(b"methodCall")?;
    d.expect_open(b"methodName")?;
    let method = d.text_until(b"methodName")?.trim().to_string();
    let mut params = Vec::new();
    let (tag, empty) = d.open()?;
    if tag != b"params" {
        return Err(d.err("expected <params>"));
    }
    if !empty {
        loop {
            match d.next()? {
                Event::Start(e) if e.name().as_ref() == b"param" => {
                    params.push(d.value()?);
                    d.close(b"param")?;
                }
                Event::End(e) if e.name().as_ref() == b"params" => break,
                Event::Text(t) if t.iter().all(u8::is_ascii_whitespace) => {}
                other => return Err(d.err(format!("unexpected {other:?} in <params>"))),
            }
        }
    }
    d.close(b"methodCall")?;
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
    out.push_str("<?xml version=\"1.0\"?><methodResponse><params><param><value><struct><member><name>Status</name><value>Success</value></member><member><name>Value</name>");
    out.push_str(value_xml);
    out.push_str("</member></struct></value></param></params></methodResponse>");
    out
}

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
