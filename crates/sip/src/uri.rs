//! URIs as SIP uses them (RFC 3261 §19.1, RFC 5118 for IPv6 references).
//!
//! `sip:` and `sips:` URIs are parsed into [`SipUri`]; any other scheme that is a
//! syntactically valid absolute URI is kept as [`Uri::Other`] so that a request
//! carrying it can still be answered (416 for a Request-URI, normal processing
//! for From/To/Contact, RFC 4475 §3.3.2 and §3.3.4).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Why a URI could not be parsed. Always the fault of whoever wrote the URI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum UriError {
    /// No `scheme:` prefix, or the scheme has characters a scheme may not have.
    BadScheme,
    /// A character that no part of a URI may carry (white space, `<`, `"` ...).
    BadCharacter,
    /// The host is missing or is neither a host name, an IPv4 address nor a
    /// bracketed IPv6 reference.
    BadHost,
    /// The port is not a number from 0 to 65535.
    BadPort,
    /// A `;` with no parameter name after it, or a malformed parameter.
    BadParameter,
    /// A `%` not followed by two hex digits in the user part.
    BadEscape,
    /// A Request-URI carrying `?headers`, which RFC 3261 §19.1.5 forbids there.
    HeadersInRequestUri,
}

impl fmt::Display for UriError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            UriError::BadScheme => "URI has no valid scheme",
            UriError::BadCharacter => "URI contains a forbidden character",
            UriError::BadHost => "URI host is not a valid host name or IP reference",
            UriError::BadPort => "URI port is out of range",
            UriError::BadParameter => "URI parameter is malformed",
            UriError::BadEscape => "URI contains a malformed %-escape",
            UriError::HeadersInRequestUri => "Request-URI carries ?headers",
        };
        f.write_str(s)
    }
}

impl std::error::Error for UriError {}

/// A host as it appears in a SIP URI or a Via sent-by.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Host {
    /// A DNS name, kept as written (compare with [`Host::eq_ignore_case`]).
    Domain(String),
    /// A dotted-quad IPv4 address.
    Ipv4(Ipv4Addr),
    /// An IPv6 reference; printed with brackets.
    Ipv6(Ipv6Addr),
}

impl Host {
    /// Parses a host: `[v6]`, dotted IPv4, or a host name.
    ///
    /// RFC 5118 §4.10: RFC 3261's ABNF allowed a three-colon form such as
    /// `[2001:db8:::192.0.2.1]`; it is tolerated and read as the two-colon form.
    pub fn parse(s: &str) -> Result<Host, UriError> {
        if let Some(inner) = s.strip_prefix('[') {
            let inner = inner.strip_suffix(']').ok_or(UriError::BadHost)?;
            return parse_v6(inner).map(Host::Ipv6).ok_or(UriError::BadHost);
        }
        if s.is_empty() {
            return Err(UriError::BadHost);
        }
        if s.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
            return s
                .parse::<Ipv4Addr>()
                .map(Host::Ipv4)
                .map_err(|_| UriError::BadHost);
        }
        // hostname = *( domainlabel "." ) toplabel [ "." ]
        let labels = s.strip_suffix('.').unwrap_or(s);
        for label in labels.split('.') {
            let ok = !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-');
            if !ok {
                return Err(UriError::BadHost);
            }
        }
        Ok(Host::Domain(s.to_owned()))
    }

    /// The IP address, when the host is an address literal.
    pub fn ip(&self) -> Option<IpAddr> {
        match self {
            Host::Domain(_) => None,
            Host::Ipv4(a) => Some(IpAddr::V4(*a)),
            Host::Ipv6(a) => Some(IpAddr::V6(*a)),
        }
    }

    /// Host comparison per RFC 3261 §19.1.4: names case-insensitively.
    pub fn eq_ignore_case(&self, other: &Host) -> bool {
        match (self, other) {
            (Host::Domain(a), Host::Domain(b)) => a.eq_ignore_ascii_case(b),
            (a, b) => a == b,
        }
    }
}

impl From<IpAddr> for Host {
    fn from(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(a) => Host::Ipv4(a),
            IpAddr::V6(a) => Host::Ipv6(a),
        }
    }
}

fn parse_v6(inner: &str) -> Option<Ipv6Addr> {
    if let Ok(a) = inner.parse::<Ipv6Addr>() {
        return Some(a);
    }
    // RFC 5118 §4.10 tolerance: exactly one ":::" read as "::".
    if inner.matches(":::").count() == 1 && !inner.contains("::::") {
        return inner.replacen(":::", "::", 1).parse().ok();
    }
    None
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Domain(d) => f.write_str(d),
            Host::Ipv4(a) => write!(f, "{a}"),
            Host::Ipv6(a) => write!(f, "[{a}]"),
        }
    }
}

/// Splits `host[:port]`, honouring IPv6 brackets (RFC 5118 §4.3/§4.4).
pub(crate) fn parse_hostport(s: &str) -> Result<(Host, Option<u16>), UriError> {
    let (host, port) = if s.starts_with('[') {
        let end = s.find(']').ok_or(UriError::BadHost)?;
        let (h, rest) = s.split_at(end + 1);
        match rest {
            "" => (h, None),
            _ => (h, Some(rest.strip_prefix(':').ok_or(UriError::BadHost)?)),
        }
    } else {
        match s.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        }
    };
    let host = Host::parse(host)?;
    let port = match port {
        None => None,
        Some(p) => {
            if p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()) {
                return Err(UriError::BadPort);
            }
            Some(p.parse::<u16>().map_err(|_| UriError::BadPort)?)
        }
    };
    Ok((host, port))
}

/// A `sip:` or `sips:` URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipUri {
    /// `sips:` rather than `sip:`.
    pub secure: bool,
    /// The user part, still %-escaped as written.
    pub user: Option<String>,
    /// The password part, still %-escaped as written.
    pub password: Option<String>,
    /// Host.
    pub host: Host,
    /// Explicit port.
    pub port: Option<u16>,
    /// URI parameters in order: name and optional value, as written.
    pub params: Vec<(String, Option<String>)>,
    /// The `?headers` component, raw, without the `?`.
    pub headers: Option<String>,
}

impl SipUri {
    /// A plain `sip:user@host[:port]` URI.
    pub fn new(user: Option<&str>, host: Host, port: Option<u16>) -> SipUri {
        SipUri {
            secure: false,
            user: user.map(str::to_owned),
            password: None,
            host,
            port,
            params: Vec::new(),
            headers: None,
        }
    }

    /// The value of a URI parameter (`None` if absent; `Some(None)` for a flag).
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_deref())
    }

    /// Adds or replaces a parameter.
    pub fn set_param(&mut self, name: &str, value: Option<&str>) {
        self.params.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.params
            .push((name.to_owned(), value.map(str::to_owned)));
    }

    /// The user part with %-escapes decoded (RFC 3261 §19.1.4 compares this way).
    /// Escapes are validated at parse time; invalid UTF-8 is replaced.
    pub fn user_unescaped(&self) -> Option<String> {
        self.user.as_deref().map(unescape)
    }

    /// The transport parameter, lower-cased (`udp` when absent for `sip:`).
    pub fn transport(&self) -> String {
        match self.param("transport") {
            Some(Some(t)) => t.to_ascii_lowercase(),
            _ if self.secure => "tls".to_owned(),
            _ => "udp".to_owned(),
        }
    }

    fn parse_rest(secure: bool, rest: &str, request_line: bool) -> Result<SipUri, UriError> {
        if rest
            .bytes()
            .any(|b| b <= b' ' || b == 0x7f || b"<>\"{}|\\^`".contains(&b))
        {
            // '[' and ']' are allowed (IPv6 references, param-unreserved).
            return Err(UriError::BadCharacter);
        }
        // userinfo ends at the first '@': '@' may not appear unescaped in it, while
        // '?', ';' and ',' may (RFC 4475 §3.1.1.2 and §3.1.1.9).
        let (userinfo, hostpart) = match rest.find('@') {
            Some(i) => {
                let (u, h) = rest.split_at(i);
                (Some(u), h.get(1..).unwrap_or(""))
            }
            None => (None, rest),
        };
        let (user, password) = match userinfo {
            None => (None, None),
            Some(ui) => {
                let (u, p) = match ui.split_once(':') {
                    Some((u, p)) => (u, Some(p)),
                    None => (ui, None),
                };
                if u.is_empty() {
                    return Err(UriError::BadCharacter);
                }
                check_escapes(u)?;
                if let Some(p) = p {
                    check_escapes(p)?;
                }
                (Some(u.to_owned()), p.map(str::to_owned))
            }
        };
        let (before_headers, headers) = match hostpart.split_once('?') {
            Some((a, h)) => (a, Some(h)),
            None => (hostpart, None),
        };
        if request_line && headers.is_some() {
            return Err(UriError::HeadersInRequestUri);
        }
        let mut parts = before_headers.split(';');
        let hostport = parts.next().unwrap_or("");
        let (host, port) = parse_hostport(hostport)?;
        let mut params = Vec::new();
        for p in parts {
            let (n, v) = match p.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (p, None),
            };
            if n.is_empty() || !n.bytes().all(is_paramchar) {
                return Err(UriError::BadParameter);
            }
            if let Some(v) = v
                && (v.is_empty() || !v.bytes().all(is_paramchar))
            {
                return Err(UriError::BadParameter);
            }
            check_escapes(n)?;
            params.push((n.to_owned(), v.map(str::to_owned)));
        }
        Ok(SipUri {
            secure,
            user,
            password,
            host,
            port,
            params,
            headers: headers.map(str::to_owned),
        })
    }
}

fn is_paramchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-_.!~*'()%[]/:&+$".contains(&b)
}

fn check_escapes(s: &str) -> Result<(), UriError> {
    let b = s.as_bytes();
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c == b'%' {
            let ok = b.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit);
            if !ok {
                return Err(UriError::BadEscape);
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    Ok(())
}

/// Decodes %-escapes; a `%00` stays a NUL character and never truncates.
pub fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c == b'%'
            && let (Some(h), Some(l)) = (
                b.get(i + 1).and_then(|x| (*x as char).to_digit(16)),
                b.get(i + 2).and_then(|x| (*x as char).to_digit(16)),
            )
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(c);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl fmt::Display for SipUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.secure { "sips:" } else { "sip:" })?;
        if let Some(u) = &self.user {
            f.write_str(u)?;
            if let Some(p) = &self.password {
                write!(f, ":{p}")?;
            }
            f.write_str("@")?;
        }
        write!(f, "{}", self.host)?;
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        for (n, v) in &self.params {
            match v {
                Some(v) => write!(f, ";{n}={v}")?,
                None => write!(f, ";{n}")?,
            }
        }
        if let Some(h) = &self.headers {
            write!(f, "?{h}")?;
        }
        Ok(())
    }
}

/// Any URI that may appear in SIP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Uri {
    /// `sip:` or `sips:`.
    Sip(SipUri),
    /// Another scheme (`tel:`, `http:`, `isbn:` ...), kept verbatim.
    Other {
        /// The scheme, as written.
        scheme: String,
        /// Everything after the colon.
        rest: String,
    },
}

impl Uri {
    /// Parses a URI found inside a header (`?headers` allowed).
    pub fn parse(s: &str) -> Result<Uri, UriError> {
        Self::parse_inner(s, false)
    }

    /// Parses a Request-URI: stricter, no `?headers` (RFC 3261 §19.1.5).
    pub fn parse_request_uri(s: &str) -> Result<Uri, UriError> {
        Self::parse_inner(s, true)
    }

    fn parse_inner(s: &str, request_line: bool) -> Result<Uri, UriError> {
        let (scheme, rest) = s.split_once(':').ok_or(UriError::BadScheme)?;
        let mut sb = scheme.bytes();
        let first_alpha = sb.next().is_some_and(|b| b.is_ascii_alphabetic());
        if !first_alpha || !sb.all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b)) {
            return Err(UriError::BadScheme);
        }
        if scheme.eq_ignore_ascii_case("sip") {
            return SipUri::parse_rest(false, rest, request_line).map(Uri::Sip);
        }
        if scheme.eq_ignore_ascii_case("sips") {
            return SipUri::parse_rest(true, rest, request_line).map(Uri::Sip);
        }
        if rest.is_empty()
            || rest
                .bytes()
                .any(|b| b <= b' ' || b == 0x7f || b"<>\"{}|\\^`".contains(&b))
        {
            return Err(UriError::BadCharacter);
        }
        Ok(Uri::Other {
            scheme: scheme.to_owned(),
            rest: rest.to_owned(),
        })
    }

    /// The SIP URI, if this is one.
    pub fn as_sip(&self) -> Option<&SipUri> {
        match self {
            Uri::Sip(u) => Some(u),
            Uri::Other { .. } => None,
        }
    }
}

impl fmt::Display for Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Uri::Sip(u) => write!(f, "{u}"),
            Uri::Other { scheme, rest } => write!(f, "{scheme}:{rest}"),
        }
    }
}

impl From<SipUri> for Uri {
    fn from(u: SipUri) -> Self {
        Uri::Sip(u)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_plain_and_ipv6_uris() {
        let u = Uri::parse("sip:alice@[2001:db8::10]:5070;transport=tcp").unwrap();
        let s = u.as_sip().unwrap();
        assert_eq!(s.host, Host::Ipv6("2001:db8::10".parse().unwrap()));
        assert_eq!(s.port, Some(5070));
        assert_eq!(s.transport(), "tcp");
        assert_eq!(u.to_string(), "sip:alice@[2001:db8::10]:5070;transport=tcp");
    }

    #[test]
    fn ipv6_port_ambiguity_is_read_as_address() {
        let u = Uri::parse("sip:[2001:db8::10:5070]").unwrap();
        assert_eq!(u.as_sip().unwrap().port, None);
    }

    #[test]
    fn unbracketed_ipv6_is_rejected() {
        assert!(Uri::parse_request_uri("sip:user@2001:db8::10").is_err());
    }

    #[test]
    fn request_uri_rejects_headers_and_brackets() {
        assert_eq!(
            Uri::parse_request_uri("sip:user@example.com?Route=%3Csip:x%3E"),
            Err(UriError::HeadersInRequestUri)
        );
        assert!(Uri::parse_request_uri("<sip:user@example.com>").is_err());
    }

    #[test]
    fn escaped_nul_does_not_truncate() {
        let u = Uri::parse("sip:null-%00-null@example.com").unwrap();
        assert_eq!(
            u.as_sip().unwrap().user_unescaped().unwrap(),
            "null-\0-null"
        );
    }
}
