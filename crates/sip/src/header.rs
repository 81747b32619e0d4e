//! Typed views of the headers a user agent reads (RFC 3261 §20).
//!
//! Values arrive unfolded from [`crate::message`]; these parsers accept the
//! linear white space RFC 3261 allows around separators (`SIP / 2.0 / UDP`,
//! `tag = x`) and reject empty parameters and unterminated quotes.

use std::fmt;

use crate::method::Method;
use crate::uri::{Host, Uri, UriError, parse_hostport};

pub use crate::method::is_token_char;

/// What was wrong with a header value. Always the sender's fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum HeaderError {
    /// The value is empty where something is required.
    Empty,
    /// A quoted string is never closed.
    UnterminatedQuote,
    /// A `<` without its `>`, or text after `>` that is not a parameter.
    BadBrackets,
    /// A `;` with no parameter name, or a malformed parameter.
    BadParameter,
    /// A URI inside the header is malformed.
    BadUri(UriError),
    /// A bare addr-spec carries `?` or `,`; RFC 3261 §20 requires `<>` then.
    UnbracketedUri,
    /// A number is malformed or out of its range.
    OutOfRange,
    /// The value does not have the header's structure.
    BadValue,
}

impl fmt::Display for HeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeaderError::Empty => f.write_str("empty value"),
            HeaderError::UnterminatedQuote => f.write_str("unterminated quoted string"),
            HeaderError::BadBrackets => f.write_str("unbalanced angle brackets"),
            HeaderError::BadParameter => f.write_str("malformed parameter"),
            HeaderError::BadUri(e) => write!(f, "{e}"),
            HeaderError::UnbracketedUri => f.write_str("URI with ? or , must be in <>"),
            HeaderError::OutOfRange => f.write_str("number malformed or out of range"),
            HeaderError::BadValue => f.write_str("malformed value"),
        }
    }
}

impl std::error::Error for HeaderError {}

/// Splits a list header value on commas outside quotes and `<>`.
pub fn split_list(s: &str) -> impl Iterator<Item = &str> {
    let mut parts = Vec::new();
    let (mut in_quote, mut in_angle, mut escaped) = (false, false, false);
    let mut start = 0;
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' if in_quote => escaped = true,
            '"' => in_quote = !in_quote,
            '<' if !in_quote => in_angle = true,
            '>' if !in_quote => in_angle = false,
            ',' if !in_quote && !in_angle => {
                parts.push(s.get(start..i).unwrap_or("").trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(s.get(start..).unwrap_or("").trim());
    parts.into_iter()
}

/// Splits on `sep` outside quoted strings.
fn split_outside_quotes(s: &str, sep: char) -> Result<Vec<&str>, HeaderError> {
    let mut parts = Vec::new();
    let (mut in_quote, mut escaped) = (false, false);
    let mut start = 0;
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' if in_quote => escaped = true,
            '"' => in_quote = !in_quote,
            c if c == sep && !in_quote => {
                parts.push(s.get(start..i).unwrap_or(""));
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    if in_quote {
        return Err(HeaderError::UnterminatedQuote);
    }
    parts.push(s.get(start..).unwrap_or(""));
    Ok(parts)
}

/// Header parameters (`;name=value`), in order. Values keep their quotes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params(pub Vec<(String, Option<String>)>);

impl Params {
    /// Parses the text after the first `;` (the leading `;` already removed
    /// by the caller, or present: both are accepted).
    pub fn parse(s: &str) -> Result<Params, HeaderError> {
        let s = s.trim();
        if s.is_empty() {
            return Ok(Params::default());
        }
        let s = s.strip_prefix(';').unwrap_or(s);
        let mut out = Vec::new();
        for p in split_outside_quotes(s, ';')? {
            let (n, v) = match p.split_once('=') {
                Some((n, v)) => (n.trim(), Some(v.trim())),
                None => (p.trim(), None),
            };
            if n.is_empty() || !n.bytes().all(is_token_char) {
                return Err(HeaderError::BadParameter);
            }
            if let Some(v) = v {
                let ok = if v.starts_with('"') {
                    v.len() >= 2 && v.ends_with('"')
                } else {
                    !v.is_empty() && v.bytes().all(|b| is_token_char(b) || b"[]:".contains(&b))
                };
                if !ok {
                    return Err(HeaderError::BadParameter);
                }
            }
            out.push((n.to_owned(), v.map(str::to_owned)));
        }
        Ok(Params(out))
    }

    /// A parameter's value: `None` absent, `Some(None)` a flag; quotes removed.
    pub fn get(&self, name: &str) -> Option<Option<&str>> {
        self.0
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_deref().map(|v| v.trim_matches('"')))
    }

    /// Adds or replaces a parameter.
    pub fn set(&mut self, name: &str, value: Option<&str>) {
        self.0.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.0.push((name.to_owned(), value.map(str::to_owned)));
    }
}

impl fmt::Display for Params {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, v) in &self.0 {
            match v {
                Some(v) => write!(f, ";{n}={v}")?,
                None => write!(f, ";{n}")?,
            }
        }
        Ok(())
    }
}

/// Reads a quoted string starting at `s[0] == '"'`; returns the unescaped
/// content and the rest after the closing quote.
fn read_quoted(s: &str) -> Result<(String, &str), HeaderError> {
    let mut out = String::new();
    let mut chars = s.char_indices().skip(1);
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some((_, e)) => out.push(e),
                None => return Err(HeaderError::UnterminatedQuote),
            },
            '"' => return Ok((out, s.get(i + 1..).unwrap_or(""))),
            c => out.push(c),
        }
    }
    Err(HeaderError::UnterminatedQuote)
}

fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// `name-addr` or `addr-spec` with header parameters: From, To, Contact,
/// Route, Record-Route, Refer-To, P-Asserted-Identity ...
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameAddr {
    /// Display name, unquoted and unescaped.
    pub display: Option<String>,
    /// The URI.
    pub uri: Uri,
    /// Header parameters (`tag`, `expires`, `q` ...).
    pub params: Params,
}

impl NameAddr {
    /// A bare URI with no display name or parameters.
    pub fn new(uri: Uri) -> NameAddr {
        NameAddr {
            display: None,
            uri,
            params: Params::default(),
        }
    }

    /// Parses one `name-addr` / `addr-spec` with its parameters.
    pub fn parse(s: &str) -> Result<NameAddr, HeaderError> {
        let s = s.trim();
        if s.is_empty() {
            return Err(HeaderError::Empty);
        }
        let (display, rest) = if s.starts_with('"') {
            let (d, rest) = read_quoted(s)?;
            let rest = rest.trim_start();
            if !rest.starts_with('<') {
                return Err(HeaderError::BadBrackets);
            }
            (Some(d), rest)
        } else if let Some(lt) = s.find('<') {
            let d = s.get(..lt).unwrap_or("").trim();
            if d.contains('"') {
                return Err(HeaderError::UnterminatedQuote);
            }
            (
                (!d.is_empty()).then(|| d.to_owned()),
                s.get(lt..).unwrap_or(""),
            )
        } else {
            // addr-spec: the URI ends at the first ';'; what follows are header params.
            let (uri, params) = match s.find(';') {
                Some(i) => (s.get(..i).unwrap_or(""), s.get(i..).unwrap_or("")),
                None => (s, ""),
            };
            let uri = uri.trim();
            if uri.contains('?') || uri.contains(',') {
                return Err(HeaderError::UnbracketedUri);
            }
            return Ok(NameAddr {
                display: None,
                uri: Uri::parse(uri).map_err(HeaderError::BadUri)?,
                params: Params::parse(params)?,
            });
        };
        let inner = rest.strip_prefix('<').ok_or(HeaderError::BadBrackets)?;
        let gt = inner.find('>').ok_or(HeaderError::BadBrackets)?;
        // Spaces just inside <> are tolerated (RFC 4475 §3.1.2.14 allows either reading).
        let uri = Uri::parse(inner.get(..gt).unwrap_or("").trim()).map_err(HeaderError::BadUri)?;
        let after = inner.get(gt + 1..).unwrap_or("").trim();
        if !after.is_empty() && !after.starts_with(';') {
            return Err(HeaderError::BadBrackets);
        }
        Ok(NameAddr {
            display,
            uri,
            params: Params::parse(after)?,
        })
    }

    /// A header parameter (see [`Params::get`]).
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        self.params.get(name)
    }

    /// The `tag` parameter.
    pub fn tag(&self) -> Option<&str> {
        self.params.get("tag").flatten()
    }
}

impl fmt::Display for NameAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(d) = &self.display {
            write!(f, "{} ", quote(d))?;
        }
        write!(f, "<{}>{}", self.uri, self.params)
    }
}

/// One Via entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Via {
    /// Transport (`UDP`, `TCP`, `TLS`, or any token), upper-cased.
    pub transport: String,
    /// sent-by host.
    pub host: Host,
    /// sent-by port.
    pub port: Option<u16>,
    /// Parameters (`branch`, `received`, `rport` ...).
    pub params: Params,
}

/// The RFC 3261 branch prefix.
pub const MAGIC_COOKIE: &str = "z9hG4bK";

impl Via {
    /// Parses one Via entry (`SIP / 2.0 / UDP host:port;params`).
    pub fn parse(s: &str) -> Result<Via, HeaderError> {
        let s = s.trim();
        let (proto, rest) = s.split_once('/').ok_or(HeaderError::BadValue)?;
        let (version, rest) = rest.split_once('/').ok_or(HeaderError::BadValue)?;
        if !proto.trim().eq_ignore_ascii_case("SIP") || version.trim() != "2.0" {
            return Err(HeaderError::BadValue);
        }
        let rest = rest.trim_start();
        let tlen = rest.find([' ', '\t']).ok_or(HeaderError::BadValue)?;
        let (transport, rest) = rest.split_at(tlen);
        if transport.is_empty() || !transport.bytes().all(is_token_char) {
            return Err(HeaderError::BadValue);
        }
        let rest = rest.trim_start();
        let (sent_by, params) = match rest.find(';') {
            Some(i) => (rest.get(..i).unwrap_or(""), rest.get(i..).unwrap_or("")),
            None => (rest, ""),
        };
        let sent_by: String = sent_by.split_whitespace().collect();
        let (host, port) = parse_hostport(&sent_by).map_err(HeaderError::BadUri)?;
        let params = Params::parse(params)?;
        if let Some(r) = params.get("received") {
            let r = r.ok_or(HeaderError::BadParameter)?;
            // RFC 5118 §4.5: tolerate a bracketed IPv6 received value.
            let bare = r.trim_start_matches('[').trim_end_matches(']');
            bare.parse::<std::net::IpAddr>()
                .map_err(|_| HeaderError::BadParameter)?;
        }
        if let Some(Some(p)) = params.get("rport") {
            p.parse::<u16>().map_err(|_| HeaderError::BadParameter)?;
        }
        Ok(Via {
            transport: transport.to_ascii_uppercase(),
            host,
            port,
            params,
        })
    }

    /// The branch parameter.
    pub fn branch(&self) -> Option<&str> {
        self.params.get("branch").flatten()
    }

    /// Whether the branch is RFC 3261-compliant (magic cookie and something after it).
    pub fn has_rfc3261_branch(&self) -> bool {
        self.branch()
            .is_some_and(|b| b.len() > MAGIC_COOKIE.len() && b.starts_with(MAGIC_COOKIE))
    }

    /// The `received` address, if present.
    pub fn received(&self) -> Option<std::net::IpAddr> {
        self.params
            .get("received")
            .flatten()
            .and_then(|r| r.trim_start_matches('[').trim_end_matches(']').parse().ok())
    }

    /// `rport`: `None` absent, `Some(None)` requested, `Some(Some(p))` filled in.
    pub fn rport(&self) -> Option<Option<u16>> {
        self.params
            .get("rport")
            .map(|v| v.and_then(|p| p.parse().ok()))
    }
}

impl fmt::Display for Via {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SIP/2.0/{} {}", self.transport, self.host)?;
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        write!(f, "{}", self.params)
    }
}

/// The CSeq header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CSeq {
    /// Sequence number, below 2^31 (RFC 3261 §8.1.1.5).
    pub seq: u32,
    /// Method.
    pub method: Method,
}

impl CSeq {
    /// Parses `number method`.
    pub fn parse(s: &str) -> Result<CSeq, HeaderError> {
        let mut it = s.split_whitespace();
        let n = it.next().ok_or(HeaderError::Empty)?;
        let m = it.next().ok_or(HeaderError::BadValue)?;
        if it.next().is_some() {
            return Err(HeaderError::BadValue);
        }
        let seq = parse_bounded(n, (1 << 31) - 1)? as u32;
        let method = Method::parse(m).ok_or(HeaderError::BadValue)?;
        Ok(CSeq { seq, method })
    }
}

impl fmt::Display for CSeq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.seq, self.method)
    }
}

fn parse_bounded(s: &str, max: u64) -> Result<u64, HeaderError> {
    let s = s.trim();
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(HeaderError::OutOfRange);
    }
    let digits = s.trim_start_matches('0');
    if digits.len() > 19 {
        return Err(HeaderError::OutOfRange);
    }
    let v: u64 = if digits.is_empty() {
        0
    } else {
        digits.parse().map_err(|_| HeaderError::OutOfRange)?
    };
    if v > max {
        return Err(HeaderError::OutOfRange);
    }
    Ok(v)
}

/// Max-Forwards: 0..=255.
pub fn parse_max_forwards(s: &str) -> Result<u8, HeaderError> {
    parse_bounded(s, 255).map(|v| v as u8)
}

/// delta-seconds (Expires, expires=): 0..=2^32-1.
pub fn parse_delta_seconds(s: &str) -> Result<u32, HeaderError> {
    parse_bounded(s, u64::from(u32::MAX)).map(|v| v as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn via_with_lws_everywhere() {
        let v =
            Via::parse("SIP  / 2.0  / TCP     spindle.example.com   ;  branch  =   z9hG4bK9ikj8")
                .unwrap();
        assert_eq!(v.transport, "TCP");
        assert_eq!(v.branch(), Some("z9hG4bK9ikj8"));
    }

    #[test]
    fn via_empty_params_rejected() {
        assert!(Via::parse("SIP/2.0/UDP 192.0.2.15;;").is_err());
    }

    #[test]
    fn name_addr_forms() {
        let n = NameAddr::parse(r#""J Rosenberg \\\"" <sip:jdrosen@example.com> ; tag = 98asjd8"#)
            .unwrap();
        assert_eq!(n.display.as_deref(), Some(r#"J Rosenberg \""#));
        assert_eq!(n.tag(), Some("98asjd8"));
        let bare = NameAddr::parse("sip:user@example.com;tag=1").unwrap();
        assert_eq!(bare.tag(), Some("1"));
        assert!(NameAddr::parse("sip:user@example.com?Route=x").is_err());
        assert!(NameAddr::parse(r#""unterminated <sip:a@b>"#).is_err());
    }

    #[test]
    fn cseq_and_scalars() {
        assert_eq!(CSeq::parse("0009 INVITE").unwrap().seq, 9);
        assert!(CSeq::parse("36893488147419103232 REGISTER").is_err());
        assert!(parse_max_forwards("300").is_err());
        assert_eq!(parse_max_forwards("0068").unwrap(), 68);
    }

    #[test]
    fn list_split_respects_quotes() {
        let v: Vec<_> = split_list(r#""a, b" <sip:x@y>, <sip:z@w;p=1,2>"#).collect();
        assert_eq!(v.len(), 2);
    }
}
