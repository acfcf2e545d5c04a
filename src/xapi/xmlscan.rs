//! A small streaming XML tokenizer for XML-RPC answers. XAPI's answers are plain element trees:
//! tags without attributes, text with the five predefined entities, an XML declaration at the top;
//! this scanner handles exactly that (plus comments, CDATA and a DOCTYPE line, which it tolerates)
//! over any `Read`, with memchr to find `<` and `>`, and hands out text as a range of its own buffer
//! (no copy, no allocation per token). It is what lets the decoder run near the speed of a bare pass
//! over the bytes; the structure of the answer is checked by the decoder, not here.

use std::io::Read;

/// One token. Names and text borrow the scanner's buffer until the next call.
#[derive(Debug, PartialEq, Eq)]
pub enum RawTok<'a> {
    Start(&'a [u8]),
    Empty(&'a [u8]),
    End(&'a [u8]),
    /// Text between tags (entities not decoded); `cdata` is true for a CDATA section.
    Text {
        bytes: &'a [u8],
        cdata: bool,
    },
    Eof,
}

/// Why the bytes could not be tokenized (or read).
#[derive(Debug)]
pub struct ScanError {
    pub offset: u64,
    pub message: String,
    pub io: Option<std::io::ErrorKind>,
}

pub struct Scanner<R> {
    inner: R,
    buf: Vec<u8>,
    pos: usize,
    end: usize,
    eof: bool,
    /// Bytes of the input before `buf[0]`.
    base: u64,
}

const CHUNK: usize = 128 * 1024;

std::thread_local! {
    /// The read buffer of the last scanner on this thread, kept for the next: a scan makes three
    /// calls per host, and zeroing (or mapping) a fresh 128 KiB buffer for each showed as `memset`
    /// and page faults in the profile of a 3,000-host scan.
    static SPARE: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
}

impl<R: Read> Scanner<R> {
    pub fn new(inner: R) -> Self {
        let mut buf = SPARE.with(|s| s.take());
        if buf.len() < CHUNK {
            buf = vec![0; CHUNK];
        }
        Scanner {
            inner,
            buf,
            pos: 0,
            end: 0,
            eof: false,
            base: 0,
        }
    }

    /// Offset in the input of the next unread byte.
    pub fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    fn fail(&self, message: &str) -> ScanError {
        ScanError {
            offset: self.offset(),
            message: message.to_string(),
            io: None,
        }
    }

    /// Read more input, keeping `buf[pos..end]`; false at the end of the input.
    fn fill(&mut self) -> Result<bool, ScanError> {
        if self.eof {
            return Ok(false);
        }
        if self.pos > 0 {
            self.buf.copy_within(self.pos..self.end, 0);
            self.base += self.pos as u64;
            self.end -= self.pos;
            self.pos = 0;
        }
        if self.end == self.buf.len() {
            let grown = self.buf.len() * 2;
            self.buf.resize(grown, 0);
        }
        loop {
            match self.inner.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(false);
                }
                Ok(n) => {
                    self.end += n;
                    return Ok(true);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(ScanError {
                        offset: self.base + self.end as u64,
                        message: e.to_string(),
                        io: Some(e.kind()),
                    })
                }
            }
        }
    }

    /// Find `needle` at or after `from` (an index into the window), reading more as needed; the
    /// index is relative to `pos` so that it survives the buffer being compacted.
    fn find(&mut self, from: usize, needle: &[u8]) -> Result<Option<usize>, ScanError> {
        let mut searched = from;
        loop {
            let window = &self.buf[self.pos + searched..self.end];
            let hit = if needle.len() == 1 {
                memchr::memchr(needle[0], window)
            } else {
                memchr::memmem::find(window, needle)
            };
            if let Some(i) = hit {
                return Ok(Some(searched + i));
            }
            // Keep the last len-1 bytes in view: the needle may straddle the refill.
            searched = (self.end - self.pos)
                .saturating_sub(needle.len() - 1)
                .max(from);
            if !self.fill()? {
                return Ok(None);
            }
        }
    }

    pub fn next_token(&mut self) -> Result<RawTok<'_>, ScanError> {
        Ok(match self.next_at()? {
            At::Start(a, b) => RawTok::Start(&self.buf[a..b]),
            At::Empty(a, b) => RawTok::Empty(&self.buf[a..b]),
            At::End(a, b) => RawTok::End(&self.buf[a..b]),
            At::Text(a, b, cdata) => RawTok::Text {
                bytes: &self.buf[a..b],
                cdata,
            },
            At::Eof => RawTok::Eof,
        })
    }

    /// The first `byte` in `buf[pos + from..end]`, as an index relative to `pos`: a plain loop over
    /// the first bytes (XML-RPC's tags and most of its texts are short, and memchr's setup costs more
    /// than it saves there), memchr beyond.
    #[inline]
    fn find_byte_in_view(&self, from: usize, byte: u8) -> Option<usize> {
        let window = &self.buf[self.pos + from..self.end];
        let near = window.len().min(24);
        match window[..near].iter().position(|&c| c == byte) {
            Some(i) => Some(from + i),
            None => memchr::memchr(byte, &window[near..]).map(|i| from + near + i),
        }
    }

    /// Like [`Scanner::find`] for one byte, trying what is already in view first.
    #[inline]
    fn find_byte(&mut self, from: usize, byte: u8) -> Result<Option<usize>, ScanError> {
        match self.find_byte_in_view(from, byte) {
            Some(i) => Ok(Some(i)),
            None => self.find(from.max(self.end - self.pos), &[byte]),
        }
    }

    /// If the input continues with `literal` (markup written exactly so, as XAPI writes it),
    /// consume it and say so; otherwise consume nothing. The decoder's fast path for
    /// `<member><name>..</name><value>..</value></member>`: a compare instead of a token each.
    #[inline]
    pub fn eat(&mut self, literal: &[u8]) -> Result<bool, ScanError> {
        while self.end - self.pos < literal.len() {
            if !self.fill()? {
                break;
            }
        }
        if self.buf[self.pos..self.end].starts_with(literal) {
            self.pos += literal.len();
            return Ok(true);
        }
        Ok(false)
    }

    /// The text from here to the next `<` (empty when markup comes next), consumed, as a span
    /// valid until the next call.
    #[inline]
    pub fn text_span(&mut self) -> Result<(usize, usize), ScanError> {
        if self.pos == self.end && !self.fill()? {
            return Ok((self.pos, self.pos));
        }
        if self.buf[self.pos] == b'<' {
            return Ok((self.pos, self.pos));
        }
        let stop = self.find_byte(0, b'<')?.unwrap_or(self.end - self.pos);
        let (a, b) = (self.pos, self.pos + stop);
        self.pos = b;
        Ok((a, b))
    }

    /// The next token as positions (see [`At`]).
    #[inline]
    pub fn next_span(&mut self) -> Result<At, ScanError> {
        self.next_at()
    }

    /// The bytes at `a..b` of the buffer, for a span of the last token.
    #[inline]
    pub fn bytes(&self, a: usize, b: usize) -> &[u8] {
        &self.buf[a..b]
    }

    /// The next token as positions in `buf` (valid until the next call).
    fn next_at(&mut self) -> Result<At, ScanError> {
        loop {
            if self.pos == self.end && !self.fill()? {
                return Ok(At::Eof);
            }
            if self.buf[self.pos] != b'<' {
                let stop = self.find_byte(0, b'<')?.unwrap_or(self.end - self.pos);
                let (a, b) = (self.pos, self.pos + stop);
                self.pos = b;
                return Ok(At::Text(a, b, false));
            }
            // A markup construct: make sure its first bytes are in view.
            while self.end - self.pos < 9 && self.fill()? {}
            if self.buf.get(self.pos + 1) == Some(&b'!') {
                let head = &self.buf[self.pos..self.end];
                if head.starts_with(b"<!--") {
                    let close = self
                        .find(4, b"-->")?
                        .ok_or_else(|| self.fail("unterminated comment"))?;
                    self.pos += close + 3;
                    continue;
                }
                if head.starts_with(b"<![CDATA[") {
                    let close = self
                        .find(9, b"]]>")?
                        .ok_or_else(|| self.fail("unterminated CDATA section"))?;
                    let (a, b) = (self.pos + 9, self.pos + close);
                    self.pos += close + 3;
                    return Ok(At::Text(a, b, true));
                }
            }
            let close = self
                .find_byte(1, b'>')?
                .ok_or_else(|| self.fail("unexpected end of body inside a tag"))?;
            let (a, b) = (self.pos + 1, self.pos + close);
            self.pos += close + 1;
            match self.buf[a..b].first() {
                Some(b'?') | Some(b'!') => continue, // XML declaration, DOCTYPE
                Some(b'/') => {
                    let end = a + 1 + trimmed_len(&self.buf[a + 1..b]);
                    return Ok(At::End(a + 1, end));
                }
                Some(_) => {
                    let (body_end, empty) = if self.buf[b - 1] == b'/' {
                        (b - 1, true)
                    } else {
                        (b, false)
                    };
                    // The name ends at the first blank (XAPI writes no attributes; others are ignored).
                    let name_len = self.buf[a..body_end]
                        .iter()
                        .position(|c| c.is_ascii_whitespace())
                        .unwrap_or(body_end - a);
                    if name_len == 0 {
                        return Err(self.fail("a tag without a name"));
                    }
                    return Ok(if empty {
                        At::Empty(a, a + name_len)
                    } else {
                        At::Start(a, a + name_len)
                    });
                }
                None => return Err(self.fail("an empty tag <>")),
            }
        }
    }
}

/// A token's place in the scanner's buffer ([`Scanner::bytes`] reads it), valid until the next
/// call: what [`Scanner::next_span`] gives a caller that wants no borrow held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum At {
    Start(usize, usize),
    Empty(usize, usize),
    End(usize, usize),
    Text(usize, usize, bool),
    Eof,
}

fn trimmed_len(s: &[u8]) -> usize {
    s.iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(0, |i| i + 1)
}

impl<R> Drop for Scanner<R> {
    fn drop(&mut self) {
        // Keep the buffer for the next scanner on this thread, unless a huge answer grew it.
        if self.buf.len() <= 8 * CHUNK {
            let buf = std::mem::take(&mut self.buf);
            SPARE.with(|s| s.set(buf));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that hands out one byte at a time: every token straddles a refill.
    struct Trickle<'a>(&'a [u8]);
    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.0.is_empty() || buf.is_empty() {
                return Ok(0);
            }
            buf[0] = self.0[0];
            self.0 = &self.0[1..];
            Ok(1)
        }
    }

    fn tokens<R: Read>(r: R) -> Vec<String> {
        let mut s = Scanner::new(r);
        let mut out = Vec::new();
        loop {
            let t = s.next_token().unwrap();
            let text = match t {
                RawTok::Start(n) => format!("<{}>", String::from_utf8_lossy(n)),
                RawTok::Empty(n) => format!("<{}/>", String::from_utf8_lossy(n)),
                RawTok::End(n) => format!("</{}>", String::from_utf8_lossy(n)),
                RawTok::Text { bytes, cdata } => format!(
                    "{}{}",
                    if cdata { "C:" } else { "T:" },
                    String::from_utf8_lossy(bytes)
                ),
                RawTok::Eof => break,
            };
            out.push(text);
        }
        out
    }

    #[test]
    fn tokens_the_same_whatever_the_read_sizes() {
        let doc = b"<?xml version=\"1.0\"?>\n<!DOCTYPE x><a><!-- c > d --><b x=\"1\">t &amp; u</b><c/><d />\n<![CDATA[<raw>]]></a >";
        let want = vec![
            "T:\n",
            "<a>",
            "<b>",
            "T:t &amp; u",
            "</b>",
            "<c/>",
            "<d/>",
            "T:\n",
            "C:<raw>",
            "</a>",
        ];
        assert_eq!(tokens(&doc[..]), want);
        assert_eq!(tokens(Trickle(doc)), want);
    }

    #[test]
    fn unterminated_constructs_are_errors() {
        for doc in [&b"<a"[..], b"<!-- x", b"<![CDATA[ x", b"<>", b"< >"] {
            let mut s = Scanner::new(doc);
            let mut failed = false;
            for _ in 0..4 {
                match s.next_token() {
                    Err(_) => {
                        failed = true;
                        break;
                    }
                    Ok(RawTok::Eof) => break,
                    Ok(_) => {}
                }
            }
            assert!(failed, "{:?}", String::from_utf8_lossy(doc));
        }
    }

    #[test]
    fn literals_and_text_spans_across_refills() {
        let doc = b"<name>uuid</name><value>x &amp; y</value>";
        for trickle in [false, true] {
            let mut s: Scanner<Box<dyn Read>> = Scanner::new(if trickle {
                Box::new(Trickle(doc))
            } else {
                Box::new(&doc[..])
            });
            assert!(!s.eat(b"<value>").unwrap(), "a miss consumes nothing");
            assert!(s.eat(b"<name>").unwrap());
            let (a, b) = s.text_span().unwrap();
            assert_eq!(s.bytes(a, b), b"uuid");
            assert!(s.eat(b"</name><value>").unwrap());
            let (a, b) = s.text_span().unwrap();
            assert_eq!(s.bytes(a, b), b"x &amp; y");
            let (a, b) = s.text_span().unwrap();
            assert_eq!(a, b, "no text before markup");
            assert!(!s.eat(b"</value><").unwrap(), "past the end: no match");
            assert!(s.eat(b"</value>").unwrap());
            assert_eq!(s.next_token().unwrap(), RawTok::Eof);
        }
    }

    #[test]
    fn large_texts_grow_the_buffer() {
        let big = format!("<v>{}</v>", "x".repeat(3 * CHUNK + 7));
        let t = tokens(big.as_bytes());
        assert_eq!(t.len(), 3);
        assert_eq!(t[1].len(), 2 + 3 * CHUNK + 7);
    }
}
