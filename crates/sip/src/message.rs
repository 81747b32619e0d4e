//! SIP messages: the parser and the printer (RFC 3261 §7, §25).
//!
//! Parsing happens once, at the edge: [`Message::parse`] takes one datagram
//! (or one frame cut by [`crate::stream::StreamFramer`]) and returns a fully
//! checked message or a [`ParseError`] saying what was wrong. Header values are
//! unfolded and kept as text; the typed accessors in [`crate::header`] read
//! them. The headers a transaction and a dialog depend on (Via, From, To,
//! Call-ID, CSeq, Max-Forwards, Content-Length, Contact, Expires) are checked
//! here, so that a message that reaches the state machines is usable.

use std::fmt;

use crate::header::{self, CSeq, HeaderError, NameAddr, Via};
use crate::uri::{Uri, UriError};

pub use crate::method::Method;

/// Limits that bound what one message may cost us.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest message in bytes (headers and body).
    pub max_message: usize,
    /// Most header fields (after unfolding).
    pub max_headers: usize,
    /// Most Via entries.
    pub max_via: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message: 65_535,
            max_headers: 256,
            max_via: 70,
        }
    }
}

/// What was wrong with a message. The peer is at fault for every variant.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseError {
    /// Nothing but white space.
    Empty,
    /// Larger than [`Limits::max_message`].
    TooLarge,
    /// More header fields than [`Limits::max_headers`].
    TooManyHeaders,
    /// More Via entries than [`Limits::max_via`].
    TooManyVias,
    /// The header block never ends.
    NoHeaderEnd,
    /// Header text that is not UTF-8.
    NotUtf8,
    /// The request line is not `Method SP Request-URI SP SIP-Version`.
    BadRequestLine,
    /// The method is not a token.
    BadMethod,
    /// The Request-URI is malformed.
    BadRequestUri(UriError),
    /// The version is not `SIP/digits.digits`.
    BadVersion,
    /// The status line is malformed or the code is not 100..=699.
    BadStatusLine,
    /// A header line without a colon or with a name that is not a token.
    BadHeaderLine,
    /// A header required in every message is missing.
    MissingHeader(&'static str),
    /// A header that may appear once appears more than once.
    DuplicateHeader(&'static str),
    /// A header value is malformed.
    BadHeader(&'static str, HeaderError),
    /// Content-Length is not a number, or two of them disagree.
    BadContentLength,
    /// Fewer body bytes than Content-Length promises.
    BodyTruncated {
        /// What Content-Length said.
        expected: usize,
        /// What arrived.
        available: usize,
    },
    /// The CSeq method differs from the request method.
    CSeqMethodMismatch,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::Empty => f.write_str("empty message"),
            ParseError::TooLarge => f.write_str("message too large"),
            ParseError::TooManyHeaders => f.write_str("too many header fields"),
            ParseError::TooManyVias => f.write_str("too many Via entries"),
            ParseError::NoHeaderEnd => f.write_str("header block is not terminated"),
            ParseError::NotUtf8 => f.write_str("header text is not UTF-8"),
            ParseError::BadRequestLine => f.write_str("malformed request line"),
            ParseError::BadMethod => f.write_str("malformed method"),
            ParseError::BadRequestUri(e) => write!(f, "malformed Request-URI: {e}"),
            ParseError::BadVersion => f.write_str("malformed SIP version"),
            ParseError::BadStatusLine => f.write_str("malformed status line"),
            ParseError::BadHeaderLine => f.write_str("malformed header line"),
            ParseError::MissingHeader(h) => write!(f, "missing {h} header"),
            ParseError::DuplicateHeader(h) => write!(f, "repeated {h} header"),
            ParseError::BadHeader(h, e) => write!(f, "malformed {h} header: {e}"),
            ParseError::BadContentLength => f.write_str("malformed Content-Length"),
            ParseError::BodyTruncated {
                expected,
                available,
            } => write!(
                f,
                "Content-Length {expected} exceeds the {available} body bytes received"
            ),
            ParseError::CSeqMethodMismatch => {
                f.write_str("CSeq method differs from request method")
            }
        }
    }
}

impl std::error::Error for ParseError {}

/// The protocol version from the start line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Version {
    /// Major number.
    pub major: u8,
    /// Minor number.
    pub minor: u8,
}

impl Version {
    /// SIP/2.0, the only version we speak.
    pub const SIP_2_0: Version = Version { major: 2, minor: 0 };

    fn parse(s: &str) -> Option<Version> {
        let rest = s.strip_prefix("SIP/").or_else(|| {
            // The protocol name is case-insensitive (RFC 3261 §7.1).
            s.get(..4)
                .filter(|p| p.eq_ignore_ascii_case("SIP/"))
                .and_then(|_| s.get(4..))
        })?;
        let (ma, mi) = rest.split_once('.')?;
        let num = |x: &str| {
            (!x.is_empty() && x.len() <= 3 && x.bytes().all(|b| b.is_ascii_digit()))
                .then(|| x.parse::<u8>().ok())
                .flatten()
        };
        Some(Version {
            major: num(ma)?,
            minor: num(mi)?,
        })
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SIP/{}.{}", self.major, self.minor)
    }
}

/// One header field: its name as written and its unfolded value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The name as it appeared (compact forms included).
    pub name: String,
    /// The value with folding replaced by single spaces and outer white space trimmed.
    pub value: String,
}

/// The header fields of a message, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers(Vec<Header>);

/// A field added by us never carries a line break or other control
/// character (tab aside), whatever it was built from — a value that came
/// from the network unescaped (a Refer-To's `?Replaces=`) cannot smuggle a
/// header into our message. Such characters become spaces.
fn no_controls(s: String) -> String {
    if s.chars().all(|c| c == '\t' || !c.is_control()) {
        return s;
    }
    s.chars()
        .map(|c| if c != '\t' && c.is_control() { ' ' } else { c })
        .collect()
}

/// Expands a compact header name (RFC 3261 §7.3.3 and extensions) to its long form.
pub fn canonical_name(name: &str) -> &str {
    if name.len() != 1 {
        return name;
    }
    match name.as_bytes().first().map(u8::to_ascii_lowercase) {
        Some(b'i') => "Call-ID",
        Some(b'm') => "Contact",
        Some(b'e') => "Content-Encoding",
        Some(b'l') => "Content-Length",
        Some(b'c') => "Content-Type",
        Some(b'f') => "From",
        Some(b's') => "Subject",
        Some(b'k') => "Supported",
        Some(b't') => "To",
        Some(b'v') => "Via",
        Some(b'r') => "Refer-To",
        Some(b'b') => "Referred-By",
        Some(b'o') => "Event",
        Some(b'u') => "Allow-Events",
        Some(b'x') => "Session-Expires",
        Some(b'a') => "Accept-Contact",
        Some(b'j') => "Reject-Contact",
        Some(b'd') => "Request-Disposition",
        _ => name,
    }
}

fn names_match(a: &str, b: &str) -> bool {
    canonical_name(a).eq_ignore_ascii_case(canonical_name(b))
}

impl Headers {
    /// No headers.
    pub fn new() -> Headers {
        Headers(Vec::new())
    }

    /// Appends a field.
    pub fn push(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.0.push(Header {
            name: no_controls(name.into()),
            value: no_controls(value.into()),
        });
    }

    /// Inserts a field before all others (used for Via).
    pub fn push_front(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.0.insert(
            0,
            Header {
                name: no_controls(name.into()),
                value: no_controls(value.into()),
            },
        );
    }

    /// Removes every field with this name (compact forms included).
    pub fn remove(&mut self, name: &str) {
        self.0.retain(|h| !names_match(&h.name, name));
    }

    /// Replaces every field with this name by one field.
    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        self.remove(name);
        self.push(name, value);
    }

    /// The first value of the named header (compact forms included).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|h| names_match(&h.name, name))
            .map(|h| h.value.as_str())
    }

    /// Every field value of the named header, in order (not comma-split).
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |h| names_match(&h.name, name))
            .map(|h| h.value.as_str())
    }

    /// Every element of a comma-separated list header across all its fields
    /// (RFC 3261 §7.3.1), splitting outside quotes and angle brackets.
    pub fn list<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.get_all(name).flat_map(header::split_list)
    }

    /// How many fields carry this name.
    pub fn count(&self, name: &str) -> usize {
        self.get_all(name).count()
    }

    /// All fields in order.
    pub fn iter(&self) -> impl Iterator<Item = &Header> {
        self.0.iter()
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// No fields.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether a list header (Require, Supported, Allow ...) contains a token.
    pub fn has_token(&self, name: &str, token: &str) -> bool {
        self.list(name).any(|t| t.eq_ignore_ascii_case(token))
    }
}

/// A SIP request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Method.
    pub method: Method,
    /// Request-URI.
    pub uri: Uri,
    /// Version from the request line (not necessarily 2.0: the UA answers 505).
    pub version: Version,
    /// Header fields.
    pub headers: Headers,
    /// Body bytes, exactly Content-Length of them.
    pub body: Vec<u8>,
}

/// A SIP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// Version from the status line.
    pub version: Version,
    /// Status code, 100..=699.
    pub status: u16,
    /// Reason phrase (may be empty).
    pub reason: String,
    /// Header fields.
    pub headers: Headers,
    /// Body bytes.
    pub body: Vec<u8>,
}

/// A request or a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A request.
    Request(Request),
    /// A response.
    Response(Response),
}

/// Finds the end of the header block. Returns (header text end, body start).
/// Accepts CRLF CRLF, and bare LF LF from lenient peers.
pub(crate) fn find_header_end(buf: &[u8]) -> Option<(usize, usize)> {
    let mut i = 0;
    while let Some(&b) = buf.get(i) {
        if b == b'\n' {
            if buf.get(i + 1) == Some(&b'\n') {
                return Some((i + 1, i + 2));
            }
            if buf.get(i + 1) == Some(&b'\r') && buf.get(i + 2) == Some(&b'\n') {
                return Some((i + 1, i + 3));
            }
        }
        i += 1;
    }
    None
}

/// Splits header text into logical lines, unfolding continuation lines.
fn unfold_lines(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for raw in text.split('\n') {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        if (raw.starts_with(' ') || raw.starts_with('\t'))
            && let Some(last) = lines.last_mut()
        {
            last.push(' ');
            last.push_str(raw.trim_start_matches([' ', '\t']));
            continue;
        }
        lines.push(raw.to_owned());
    }
    while lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    lines
}

fn parse_content_length(headers: &Headers) -> Result<Option<usize>, ParseError> {
    let mut found: Option<usize> = None;
    for v in headers.get_all("Content-Length") {
        let v = v.trim();
        if v.is_empty() || v.len() > 9 || !v.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ParseError::BadContentLength);
        }
        let n: usize = v.parse().map_err(|_| ParseError::BadContentLength)?;
        match found {
            Some(prev) if prev != n => return Err(ParseError::BadContentLength),
            _ => found = Some(n),
        }
    }
    Ok(found)
}

impl Message {
    /// Parses one datagram with the default [`Limits`].
    ///
    /// Bytes after Content-Length are ignored (RFC 3261 §18.3, RFC 4475 §3.1.1.8);
    /// fewer bytes than it promises is an error. Leading CRLFs are skipped.
    pub fn parse(buf: &[u8]) -> Result<Message, ParseError> {
        Self::parse_with(buf, &Limits::default())
    }

    /// Parses one datagram with explicit limits.
    pub fn parse_with(buf: &[u8], limits: &Limits) -> Result<Message, ParseError> {
        if buf.len() > limits.max_message {
            return Err(ParseError::TooLarge);
        }
        let start = buf
            .iter()
            .position(|b| !matches!(b, b'\r' | b'\n'))
            .ok_or(ParseError::Empty)?;
        let buf = buf.get(start..).ok_or(ParseError::Empty)?;
        let (head_end, body_start) = match find_header_end(buf) {
            Some(x) => x,
            // A datagram whose header block runs to the end (RFC 4475 §3.1.2.15's file).
            None if buf.ends_with(b"\n") => (buf.len(), buf.len()),
            None => return Err(ParseError::NoHeaderEnd),
        };
        let head = buf.get(..head_end).ok_or(ParseError::NoHeaderEnd)?;
        let head = std::str::from_utf8(head).map_err(|_| ParseError::NotUtf8)?;
        let rest = buf.get(body_start..).unwrap_or(&[]);
        let mut msg = Self::parse_head(head, limits)?;
        let body = match parse_content_length(msg.headers())? {
            Some(n) => rest
                .get(..n)
                .ok_or(ParseError::BodyTruncated {
                    expected: n,
                    available: rest.len(),
                })?
                .to_vec(),
            // No Content-Length on a datagram: the body runs to its end.
            None => rest.to_vec(),
        };
        match &mut msg {
            Message::Request(r) => r.body = body,
            Message::Response(r) => r.body = body,
        }
        Ok(msg)
    }

    /// Parses a header block (start line and headers, no body).
    pub(crate) fn parse_head(head: &str, limits: &Limits) -> Result<Message, ParseError> {
        let lines = unfold_lines(head);
        let mut it = lines.iter();
        let start = it.next().ok_or(ParseError::Empty)?;
        let mut headers = Headers::new();
        for line in it {
            if headers.len() >= limits.max_headers {
                return Err(ParseError::TooManyHeaders);
            }
            let (name, value) = line.split_once(':').ok_or(ParseError::BadHeaderLine)?;
            let name = name.trim_end_matches([' ', '\t']);
            if name.is_empty() || !name.bytes().all(header::is_token_char) {
                return Err(ParseError::BadHeaderLine);
            }
            // A stray control character (a bare CR, a NUL) becomes a space
            // before the value is trimmed, so what we print parses back
            // the same (found by the parse_message fuzz target).
            let value = no_controls(value.to_owned());
            headers.push(name, value.trim_matches([' ', '\t']));
        }
        let msg = if start.starts_with("SIP/")
            || start
                .get(..4)
                .is_some_and(|p| p.eq_ignore_ascii_case("SIP/"))
        {
            let mut parts = start.splitn(3, ' ');
            let version = parts
                .next()
                .and_then(Version::parse)
                .ok_or(ParseError::BadStatusLine)?;
            let code = parts.next().ok_or(ParseError::BadStatusLine)?;
            if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_digit()) {
                return Err(ParseError::BadStatusLine);
            }
            let status: u16 = code.parse().map_err(|_| ParseError::BadStatusLine)?;
            if !(100..=699).contains(&status) {
                return Err(ParseError::BadStatusLine);
            }
            let reason = parts.next().ok_or(ParseError::BadStatusLine)?;
            Message::Response(Response {
                version,
                status,
                reason: reason.to_owned(),
                headers,
                body: Vec::new(),
            })
        } else {
            // Request-Line = Method SP Request-URI SP SIP-Version: exactly two single spaces.
            let parts: Vec<&str> = start.split(' ').collect();
            let [m, u, v] = parts.as_slice() else {
                return Err(ParseError::BadRequestLine);
            };
            let method = Method::parse(m).ok_or(ParseError::BadMethod)?;
            let uri = Uri::parse_request_uri(u).map_err(ParseError::BadRequestUri)?;
            let version = Version::parse(v).ok_or(ParseError::BadVersion)?;
            Message::Request(Request {
                method,
                uri,
                version,
                headers,
                body: Vec::new(),
            })
        };
        msg.validate(limits)?;
        Ok(msg)
    }

    /// Checks the headers every SIP element relies on.
    fn validate(&self, limits: &Limits) -> Result<(), ParseError> {
        let h = self.headers();
        for name in [
            "Call-ID",
            "From",
            "To",
            "CSeq",
            "Max-Forwards",
            "Content-Type",
            "Expires",
        ] {
            if h.count(name) > 1 {
                return Err(ParseError::DuplicateHeader(static_name(name)));
            }
        }
        let call_id = h
            .get("Call-ID")
            .ok_or(ParseError::MissingHeader("Call-ID"))?;
        if call_id.is_empty() || call_id.bytes().any(|b| b.is_ascii_whitespace()) {
            return Err(ParseError::BadHeader("Call-ID", HeaderError::BadValue));
        }
        for name in ["From", "To"] {
            let v = h
                .get(name)
                .ok_or(ParseError::MissingHeader(static_name(name)))?;
            NameAddr::parse(v).map_err(|e| ParseError::BadHeader(static_name(name), e))?;
        }
        let cseq = h.get("CSeq").ok_or(ParseError::MissingHeader("CSeq"))?;
        let cseq = CSeq::parse(cseq).map_err(|e| ParseError::BadHeader("CSeq", e))?;
        let mut vias = 0;
        for v in h.list("Via") {
            vias += 1;
            if vias > limits.max_via {
                return Err(ParseError::TooManyVias);
            }
            Via::parse(v).map_err(|e| ParseError::BadHeader("Via", e))?;
        }
        if vias == 0 {
            return Err(ParseError::MissingHeader("Via"));
        }
        if let Some(mf) = h.get("Max-Forwards") {
            header::parse_max_forwards(mf).map_err(|e| ParseError::BadHeader("Max-Forwards", e))?;
        }
        if let Some(e) = h.get("Expires") {
            header::parse_delta_seconds(e).map_err(|e| ParseError::BadHeader("Expires", e))?;
        }
        let contacts: Vec<&str> = h.list("Contact").collect();
        if !(contacts.len() == 1 && contacts.first() == Some(&"*")) {
            for c in contacts {
                let na = NameAddr::parse(c).map_err(|e| ParseError::BadHeader("Contact", e))?;
                if let Some(ex) = na.param("expires").flatten() {
                    header::parse_delta_seconds(ex)
                        .map_err(|e| ParseError::BadHeader("Contact", e))?;
                }
            }
        }
        parse_content_length(h)?;
        if let Message::Request(r) = self
            && cseq.method != r.method
        {
            return Err(ParseError::CSeqMethodMismatch);
        }
        Ok(())
    }

    /// The header fields.
    pub fn headers(&self) -> &Headers {
        match self {
            Message::Request(r) => &r.headers,
            Message::Response(r) => &r.headers,
        }
    }

    /// Prints the message in wire form.
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            Message::Request(r) => r.to_bytes(),
            Message::Response(r) => r.to_bytes(),
        }
    }
}

fn static_name(name: &str) -> &'static str {
    match name {
        "Call-ID" => "Call-ID",
        "From" => "From",
        "To" => "To",
        "CSeq" => "CSeq",
        "Max-Forwards" => "Max-Forwards",
        "Content-Type" => "Content-Type",
        "Expires" => "Expires",
        _ => "header",
    }
}

fn print(start: &str, headers: &Headers, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(256 + body.len());
    out.extend_from_slice(start.as_bytes());
    out.extend_from_slice(b"\r\n");
    for h in headers.iter() {
        out.extend_from_slice(h.name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(h.value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

impl Request {
    /// Prints the request in wire form. Headers are printed as stored; builders
    /// set Content-Length.
    pub fn to_bytes(&self) -> Vec<u8> {
        let start = format!("{} {} {}", self.method, self.uri, self.version);
        print(&start, &self.headers, &self.body)
    }

    /// The typed CSeq (validated at parse time).
    pub fn cseq(&self) -> Result<CSeq, HeaderError> {
        CSeq::parse(self.headers.get("CSeq").unwrap_or(""))
    }

    /// The topmost Via (validated at parse time).
    pub fn top_via(&self) -> Result<Via, HeaderError> {
        Via::parse(self.headers.list("Via").next().unwrap_or(""))
    }

    /// The From header.
    pub fn from(&self) -> Result<NameAddr, HeaderError> {
        NameAddr::parse(self.headers.get("From").unwrap_or(""))
    }

    /// The To header.
    pub fn to(&self) -> Result<NameAddr, HeaderError> {
        NameAddr::parse(self.headers.get("To").unwrap_or(""))
    }

    /// The Call-ID.
    pub fn call_id(&self) -> &str {
        self.headers.get("Call-ID").unwrap_or("")
    }
}

impl Response {
    /// Prints the response in wire form.
    pub fn to_bytes(&self) -> Vec<u8> {
        let start = format!("{} {} {}", self.version, self.status, self.reason);
        print(&start, &self.headers, &self.body)
    }

    /// The typed CSeq.
    pub fn cseq(&self) -> Result<CSeq, HeaderError> {
        CSeq::parse(self.headers.get("CSeq").unwrap_or(""))
    }

    /// The topmost Via.
    pub fn top_via(&self) -> Result<Via, HeaderError> {
        Via::parse(self.headers.list("Via").next().unwrap_or(""))
    }

    /// The From header.
    pub fn from(&self) -> Result<NameAddr, HeaderError> {
        NameAddr::parse(self.headers.get("From").unwrap_or(""))
    }

    /// The To header.
    pub fn to(&self) -> Result<NameAddr, HeaderError> {
        NameAddr::parse(self.headers.get("To").unwrap_or(""))
    }

    /// The Call-ID.
    pub fn call_id(&self) -> &str {
        self.headers.get("Call-ID").unwrap_or("")
    }
}

/// The default reason phrase for a status code.
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        100 => "Trying",
        180 => "Ringing",
        181 => "Call Is Being Forwarded",
        182 => "Queued",
        183 => "Session Progress",
        200 => "OK",
        202 => "Accepted",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        415 => "Unsupported Media Type",
        416 => "Unsupported URI Scheme",
        420 => "Bad Extension",
        423 => "Interval Too Brief",
        480 => "Temporarily Unavailable",
        481 => "Call/Transaction Does Not Exist",
        482 => "Loop Detected",
        483 => "Too Many Hops",
        486 => "Busy Here",
        487 => "Request Terminated",
        488 => "Not Acceptable Here",
        491 => "Request Pending",
        500 => "Server Internal Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        505 => "Version Not Supported",
        600 => "Busy Everywhere",
        603 => "Decline",
        _ => "Unknown",
    }
}

/// Best-effort recovery of the headers a response needs (Via, From, To,
/// Call-ID, CSeq) from bytes that failed to parse, so that a malformed request
/// can still be answered 400 (RFC 3261 §8.2.6, RFC 4475 §3.1.2). Returns
/// `None` when the bytes do not look like a request or have no Via to route
/// the answer by.
pub fn salvage_request_headers(buf: &[u8]) -> Option<Headers> {
    if buf.len() > Limits::default().max_message {
        return None;
    }
    let text = String::from_utf8_lossy(buf);
    let head = match find_header_end(text.as_bytes()) {
        Some((end, _)) => text.get(..end)?,
        None => &text,
    };
    let lines = unfold_lines(head);
    let mut it = lines.iter();
    let start = it.next()?;
    if start
        .get(..4)
        .is_some_and(|p| p.eq_ignore_ascii_case("SIP/"))
    {
        return None;
    }
    let mut out = Headers::new();
    for line in it.take(Limits::default().max_headers) {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let name = name.trim();
        for wanted in ["Via", "From", "To", "Call-ID", "CSeq"] {
            if names_match(name, wanted) {
                out.push(wanted, value.trim());
            }
        }
    }
    // Via is what a response is routed by; the others are copied when present
    // (RFC 4475 §3.3.1 still wants a 400 for a request missing Call-ID, From and To).
    (out.count("Via") >= 1).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stray_cr_or_nul_in_a_value_prints_and_parses_back_the_same() {
        // The parse_message fuzz target's input: a bare CR before the CRLF.
        for raw in [
            &b"SIP/2.0 100 \nV:SIP/2.0/U e\nCall-ID:f\nCSeq:3 E\nF:<i:e>\nT:<s:u>\r\r\n"[..],
            &b"SIP/2.0 100 x\r\nV:SIP/2.0/U e\r\nCall-ID:f\x00\r\nCSeq:3 E\r\nF:<i:e>\r\nT:<s:u>\r\n\r\n"[..],
        ] {
            crate::fuzzing::parse_round_trip(raw);
            if let Ok(m) = Message::parse(raw) {
                assert!(m.headers().iter().all(|h| h.value.trim() == h.value), "{m:?}");
            }
        }
    }

    const INVITE: &str = "INVITE sip:bob@example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds\r\n\
Max-Forwards: 70\r\n\
To: Bob <sip:bob@example.com>\r\n\
From: Alice <sip:alice@example.com>;tag=1928301774\r\n\
Call-ID: a84b4c76e66710\r\n\
CSeq: 314159 INVITE\r\n\
Contact: <sip:alice@192.0.2.1>\r\n\
Content-Length: 4\r\n\r\nv=0\n";

    #[test]
    fn parses_and_round_trips() {
        let m = Message::parse(INVITE.as_bytes()).unwrap();
        let Message::Request(r) = &m else { panic!() };
        assert_eq!(r.method, Method::Invite);
        assert_eq!(r.body, b"v=0\n");
        assert_eq!(r.cseq().unwrap().seq, 314159);
        let again = Message::parse(&m.to_bytes()).unwrap();
        assert_eq!(again, m);
    }

    #[test]
    fn truncated_body_is_an_error() {
        let s = INVITE.replace("Content-Length: 4", "Content-Length: 40");
        assert!(matches!(
            Message::parse(s.as_bytes()),
            Err(ParseError::BodyTruncated { expected: 40, .. })
        ));
    }

    #[test]
    fn compact_names_are_found() {
        let s = INVITE.replace("Call-ID:", "i:");
        let m = Message::parse(s.as_bytes()).unwrap();
        assert_eq!(m.headers().get("call-id"), Some("a84b4c76e66710"));
    }

    #[test]
    fn salvage_finds_routing_headers() {
        let s = INVITE.replace(
            "INVITE sip:bob@example.com SIP/2.0",
            "INVITE  sip:bob@example.com SIP/2.0",
        );
        assert!(Message::parse(s.as_bytes()).is_err());
        let h = salvage_request_headers(s.as_bytes()).unwrap();
        assert_eq!(h.get("Call-ID"), Some("a84b4c76e66710"));
    }

    #[test]
    fn a_field_we_add_cannot_carry_a_line_break() {
        let mut h = Headers::new();
        h.push(
            "Replaces",
            "a@b;to-tag=1;from-tag=2\r\nP-Asserted-Identity: <sip:boss@x>",
        );
        h.push_front("X-Evil\r\nVia", "v");
        let text: String = h
            .iter()
            .map(|f| format!("{}: {}\r\n", f.name, f.value))
            .collect();
        assert_eq!(text.matches("\r\n").count(), 2, "{text:?}");
        assert!(h.get("P-Asserted-Identity").is_none());
    }
}
