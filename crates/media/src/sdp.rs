//! SDP (RFC 8866) session descriptions: parse and print.
//!
//! The model keeps every line it does not interpret (bandwidth, attributes,
//! unknown media) so a description prints back as it came, and offer/answer
//! can echo rejected streams faithfully. Parsing is strict about structure
//! (`x=value` lines, `v=0` first, numeric ports) and lenient about order of
//! session-level lines, as real peers are.

use std::fmt;
use std::net::IpAddr;

/// What is wrong with a session description (always the sender's fault).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SdpError {
    /// The body is not UTF-8 text.
    NotText,
    /// The first line is not `v=0`.
    MissingVersion,
    /// A line is not `<letter>=<value>`; the 1-based line number.
    BadLine(usize),
    /// The `o=` line is missing or malformed.
    BadOrigin,
    /// A `c=` line is malformed.
    BadConnection(usize),
    /// An `m=` line is malformed.
    BadMedia(usize),
    /// A media stream with a port but no connection address anywhere.
    NoConnection,
}

impl fmt::Display for SdpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SdpError::NotText => f.write_str("SDP body is not UTF-8 text"),
            SdpError::MissingVersion => f.write_str("SDP does not start with v=0"),
            SdpError::BadLine(n) => write!(f, "SDP line {n} is not <type>=<value>"),
            SdpError::BadOrigin => f.write_str("SDP o= line missing or malformed"),
            SdpError::BadConnection(n) => write!(f, "SDP c= line {n} malformed"),
            SdpError::BadMedia(n) => write!(f, "SDP m= line {n} malformed"),
            SdpError::NoConnection => f.write_str("SDP media stream without a c= address"),
        }
    }
}

impl std::error::Error for SdpError {}

/// `o=` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// User name (`-` when none).
    pub username: String,
    /// Session id (kept as text: peers send numbers beyond 64 bits).
    pub session_id: String,
    /// Session version; incremented by each new offer.
    pub version: u64,
    /// Network type, address type and address.
    pub address: Connection,
}

/// `c=` line: `IN IP4 192.0.2.1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// `IP4` or `IP6`.
    pub addr_type: String,
    /// An address or a host name (RFC 4317 examples use names).
    pub address: String,
}

impl Connection {
    /// A connection line for an IP address.
    pub fn ip(ip: IpAddr) -> Connection {
        Connection {
            addr_type: if ip.is_ipv4() { "IP4" } else { "IP6" }.to_owned(),
            address: ip.to_string(),
        }
    }

    /// The address as an IP, if it is one (multicast TTL suffixes removed).
    pub fn ip_addr(&self) -> Option<IpAddr> {
        self.address.split('/').next()?.parse().ok()
    }

    /// RFC 2543 hold: `c=IN IP4 0.0.0.0`.
    pub fn is_hold_address(&self) -> bool {
        self.ip_addr().is_some_and(|ip| ip.is_unspecified())
    }

    fn parse(v: &str) -> Option<Connection> {
        let mut it = v.split_ascii_whitespace();
        let (net, ty, addr) = (it.next()?, it.next()?, it.next()?);
        if net != "IN" || it.next().is_some() || !(ty == "IP4" || ty == "IP6") {
            return None;
        }
        Some(Connection {
            addr_type: ty.to_owned(),
            address: addr.to_owned(),
        })
    }
}

impl fmt::Display for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IN {} {}", self.addr_type, self.address)
    }
}

/// `a=name[:value]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    /// Name (`rtpmap`, `sendonly` ...).
    pub name: String,
    /// Value after the colon, if any.
    pub value: Option<String>,
}

impl Attribute {
    /// A flag attribute.
    pub fn flag(name: &str) -> Attribute {
        Attribute {
            name: name.to_owned(),
            value: None,
        }
    }

    /// A valued attribute.
    pub fn value(name: &str, value: impl Into<String>) -> Attribute {
        Attribute {
            name: name.to_owned(),
            value: Some(value.into()),
        }
    }
}

/// Media direction (RFC 3264 §5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Send and receive.
    SendRecv,
    /// Only send (the offerer puts the peer on hold).
    SendOnly,
    /// Only receive.
    RecvOnly,
    /// Neither.
    Inactive,
}

impl Direction {
    /// The attribute name.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }

    /// How the other side sees this direction.
    pub fn reversed(self) -> Direction {
        match self {
            Direction::SendOnly => Direction::RecvOnly,
            Direction::RecvOnly => Direction::SendOnly,
            d => d,
        }
    }

    /// Whether media flows out.
    pub fn sends(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::SendOnly)
    }

    /// Whether media flows in.
    pub fn receives(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::RecvOnly)
    }

    /// Both sides' wishes combined: what may flow is what both allow.
    pub fn intersect(self, other: Direction) -> Direction {
        match (
            self.sends() && other.sends(),
            self.receives() && other.receives(),
        ) {
            (true, true) => Direction::SendRecv,
            (true, false) => Direction::SendOnly,
            (false, true) => Direction::RecvOnly,
            (false, false) => Direction::Inactive,
        }
    }

    fn parse(s: &str) -> Option<Direction> {
        Some(match s {
            "sendrecv" => Direction::SendRecv,
            "sendonly" => Direction::SendOnly,
            "recvonly" => Direction::RecvOnly,
            "inactive" => Direction::Inactive,
            _ => return None,
        })
    }
}

/// One `m=` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Media {
    /// `audio`, `video` ...
    pub kind: String,
    /// Port; 0 rejects or disables the stream.
    pub port: u16,
    /// `/count` after the port, if present.
    pub port_count: Option<u16>,
    /// `RTP/AVP`, `RTP/SAVP` ...
    pub proto: String,
    /// Formats (payload types for RTP), in preference order.
    pub formats: Vec<String>,
    /// Media-level `c=`.
    pub connection: Option<Connection>,
    /// `b=` lines, verbatim.
    pub bandwidth: Vec<String>,
    /// Attributes in order.
    pub attributes: Vec<Attribute>,
}

/// An rtpmap entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpMap {
    /// Payload type.
    pub payload_type: u8,
    /// Encoding name as written.
    pub encoding: String,
    /// Clock rate.
    pub clock_rate: u32,
    /// Channels, if written.
    pub channels: Option<u8>,
}

impl Media {
    /// The first attribute with this name.
    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.name == name)
    }

    /// Whether a flag or valued attribute with this name is present.
    pub fn has_attribute(&self, name: &str) -> bool {
        self.attribute(name).is_some()
    }

    /// The direction attribute at media level, if any.
    pub fn direction_attribute(&self) -> Option<Direction> {
        self.attributes.iter().rev().find_map(|a| {
            a.value
                .is_none()
                .then(|| Direction::parse(&a.name))
                .flatten()
        })
    }

    /// The rtpmap of a payload type: from `a=rtpmap`, or the static table (RFC 3551).
    pub fn rtpmap(&self, pt: u8) -> Option<RtpMap> {
        for a in self.attributes.iter().filter(|a| a.name == "rtpmap") {
            let Some(v) = &a.value else { continue };
            let Some((num, rest)) = v.split_once(' ') else {
                continue;
            };
            if num.trim().parse::<u8>().ok() != Some(pt) {
                continue;
            }
            let mut parts = rest.trim().split('/');
            let encoding = parts.next()?.to_owned();
            let clock_rate = parts.next()?.trim().parse().ok()?;
            let channels = parts.next().and_then(|c| c.trim().parse().ok());
            return Some(RtpMap {
                payload_type: pt,
                encoding,
                clock_rate,
                channels,
            });
        }
        let (encoding, clock_rate) = match pt {
            0 => ("PCMU", 8000),
            3 => ("GSM", 8000),
            8 => ("PCMA", 8000),
            9 => ("G722", 8000),
            18 => ("G729", 8000),
            _ => return None,
        };
        Some(RtpMap {
            payload_type: pt,
            encoding: encoding.to_owned(),
            clock_rate,
            channels: None,
        })
    }

    /// The `a=fmtp` parameters of a payload type, as written.
    pub fn fmtp(&self, pt: u8) -> Option<&str> {
        self.attributes
            .iter()
            .filter(|a| a.name == "fmtp")
            .filter_map(|a| a.value.as_deref())
            .find_map(|v| {
                let (num, rest) = v.split_once(' ')?;
                (num.trim().parse::<u8>().ok() == Some(pt)).then_some(rest.trim())
            })
    }

    /// `a=ptime` in milliseconds.
    pub fn ptime(&self) -> Option<u32> {
        self.attribute("ptime")?
            .value
            .as_deref()?
            .trim()
            .parse()
            .ok()
    }

    /// The payload types as numbers (non-numeric formats skipped).
    pub fn payload_types(&self) -> impl Iterator<Item = u8> + '_ {
        self.formats.iter().filter_map(|f| f.parse().ok())
    }
}

/// A whole session description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionDescription {
    /// `o=`.
    pub origin: Origin,
    /// `s=` (a single space or `-` when empty, as RFC 8866 asks; kept as given).
    pub name: String,
    /// Session-level `c=`.
    pub connection: Option<Connection>,
    /// Session-level `b=` lines.
    pub bandwidth: Vec<String>,
    /// `t=` (normally `0 0`).
    pub timing: String,
    /// Session-level attributes.
    pub attributes: Vec<Attribute>,
    /// Media sections in order.
    pub media: Vec<Media>,
}

impl SessionDescription {
    /// Parses a description.
    pub fn parse(body: &[u8]) -> Result<SessionDescription, SdpError> {
        let text = std::str::from_utf8(body).map_err(|_| SdpError::NotText)?;
        let mut lines = text
            .split('\n')
            .map(|l| l.strip_suffix('\r').unwrap_or(l))
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty());
        match lines.next() {
            Some((_, "v=0")) => {}
            _ => return Err(SdpError::MissingVersion),
        }
        let mut origin = None;
        let mut sd = SessionDescription {
            origin: Origin {
                username: String::new(),
                session_id: String::new(),
                version: 0,
                address: Connection {
                    addr_type: String::new(),
                    address: String::new(),
                },
            },
            name: String::new(),
            connection: None,
            bandwidth: Vec::new(),
            timing: "0 0".to_owned(),
            attributes: Vec::new(),
            media: Vec::new(),
        };
        for (i, line) in lines {
            let n = i + 1;
            let (ty, value) = line.split_once('=').ok_or(SdpError::BadLine(n))?;
            if ty.len() != 1 {
                return Err(SdpError::BadLine(n));
            }
            let in_media = !sd.media.is_empty();
            match ty {
                "o" if !in_media => origin = Some(parse_origin(value).ok_or(SdpError::BadOrigin)?),
                "s" if !in_media => sd.name = value.to_owned(),
                "t" if !in_media => sd.timing = value.to_owned(),
                "c" => {
                    let c = Connection::parse(value).ok_or(SdpError::BadConnection(n))?;
                    match sd.media.last_mut() {
                        Some(m) => m.connection = Some(c),
                        None => sd.connection = Some(c),
                    }
                }
                "b" => match sd.media.last_mut() {
                    Some(m) => m.bandwidth.push(value.to_owned()),
                    None => sd.bandwidth.push(value.to_owned()),
                },
                "a" => {
                    let a = match value.split_once(':') {
                        Some((name, v)) => Attribute::value(name, v),
                        None => Attribute::flag(value),
                    };
                    match sd.media.last_mut() {
                        Some(m) => m.attributes.push(a),
                        None => sd.attributes.push(a),
                    }
                }
                "m" => sd
                    .media
                    .push(parse_media(value).ok_or(SdpError::BadMedia(n))?),
                // i=, u=, e=, p=, r=, z=, k= carry nothing a softphone uses.
                _ => {}
            }
        }
        sd.origin = origin.ok_or(SdpError::BadOrigin)?;
        for m in &sd.media {
            if m.port != 0 && m.connection.is_none() && sd.connection.is_none() {
                return Err(SdpError::NoConnection);
            }
        }
        Ok(sd)
    }

    /// The connection address that applies to a media section.
    pub fn connection_for<'a>(&'a self, m: &'a Media) -> Option<&'a Connection> {
        m.connection.as_ref().or(self.connection.as_ref())
    }

    /// The direction of a media section (media level, else session level, else sendrecv).
    pub fn direction_of(&self, m: &Media) -> Direction {
        m.direction_attribute()
            .or_else(|| {
                self.attributes.iter().rev().find_map(|a| {
                    a.value
                        .is_none()
                        .then(|| Direction::parse(&a.name))
                        .flatten()
                })
            })
            .unwrap_or(Direction::SendRecv)
    }

    /// Prints with CRLF line ends.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.to_string().into_bytes()
    }
}

fn parse_origin(v: &str) -> Option<Origin> {
    let f: Vec<&str> = v.split_ascii_whitespace().collect();
    let [user, id, version, net, ty, addr] = f.as_slice() else {
        return None;
    };
    if !id.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let address = Connection::parse(&format!("{net} {ty} {addr}"))?;
    Some(Origin {
        username: (*user).to_owned(),
        session_id: (*id).to_owned(),
        version: version.parse().ok()?,
        address,
    })
}

fn parse_media(v: &str) -> Option<Media> {
    let mut it = v.split_ascii_whitespace();
    let kind = it.next()?.to_owned();
    let port_field = it.next()?;
    let (port, port_count) = match port_field.split_once('/') {
        Some((p, c)) => (p.parse().ok()?, Some(c.parse().ok()?)),
        None => (port_field.parse().ok()?, None),
    };
    let proto = it.next()?.to_owned();
    let formats: Vec<String> = it.map(str::to_owned).collect();
    if formats.is_empty() {
        return None;
    }
    Some(Media {
        kind,
        port,
        port_count,
        proto,
        formats,
        connection: None,
        bandwidth: Vec::new(),
        attributes: Vec::new(),
    })
}

impl fmt::Display for SessionDescription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let o = &self.origin;
        write!(
            f,
            "v=0\r\no={} {} {} {}\r\ns={}\r\n",
            o.username, o.session_id, o.version, o.address, self.name
        )?;
        if let Some(c) = &self.connection {
            write!(f, "c={c}\r\n")?;
        }
        for b in &self.bandwidth {
            write!(f, "b={b}\r\n")?;
        }
        write!(f, "t={}\r\n", self.timing)?;
        write_attributes(f, &self.attributes)?;
        for m in &self.media {
            write!(f, "m={} {}", m.kind, m.port)?;
            if let Some(c) = m.port_count {
                write!(f, "/{c}")?;
            }
            write!(f, " {}", m.proto)?;
            for fmt_ in &m.formats {
                write!(f, " {fmt_}")?;
            }
            f.write_str("\r\n")?;
            if let Some(c) = &m.connection {
                write!(f, "c={c}\r\n")?;
            }
            for b in &m.bandwidth {
                write!(f, "b={b}\r\n")?;
            }
            write_attributes(f, &m.attributes)?;
        }
        Ok(())
    }
}

fn write_attributes(f: &mut fmt::Formatter<'_>, attrs: &[Attribute]) -> fmt::Result {
    for a in attrs {
        match &a.value {
            Some(v) => write!(f, "a={}:{v}\r\n", a.name)?,
            None => write!(f, "a={}\r\n", a.name)?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const OFFER: &str = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n\
        m=audio 4000 RTP/AVP 111 0 101\r\na=rtpmap:111 opus/48000/2\r\n\
        a=fmtp:111 useinbandfec=1; maxplaybackrate=16000\r\na=rtpmap:101 telephone-event/8000\r\n\
        a=fmtp:101 0-16\r\na=ptime:20\r\na=sendonly\r\na=rtcp-mux\r\n";

    #[test]
    fn parses_and_prints_back() {
        let sd = SessionDescription::parse(OFFER.as_bytes()).unwrap();
        let m = &sd.media[0];
        assert_eq!(m.port, 4000);
        assert_eq!(m.payload_types().collect::<Vec<_>>(), [111, 0, 101]);
        let opus = m.rtpmap(111).unwrap();
        assert_eq!(
            (opus.encoding.as_str(), opus.clock_rate, opus.channels),
            ("opus", 48000, Some(2))
        );
        assert_eq!(m.rtpmap(0).unwrap().encoding, "PCMU", "static payload type");
        assert_eq!(m.fmtp(111), Some("useinbandfec=1; maxplaybackrate=16000"));
        assert_eq!(m.ptime(), Some(20));
        assert_eq!(sd.direction_of(m), Direction::SendOnly);
        assert!(m.has_attribute("rtcp-mux"));
        assert_eq!(sd.to_string(), OFFER);
    }

    #[test]
    fn rejects_broken_descriptions() {
        assert_eq!(
            SessionDescription::parse(b"o=x\r\n"),
            Err(SdpError::MissingVersion)
        );
        assert_eq!(
            SessionDescription::parse(b"v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nm=audio x RTP/AVP 0\r\n"),
            Err(SdpError::BadMedia(4))
        );
        assert_eq!(
            SessionDescription::parse(b"v=0\r\ns=-\r\nt=0 0\r\n"),
            Err(SdpError::BadOrigin)
        );
        assert_eq!(
            SessionDescription::parse(b"v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nm=audio 5 RTP/AVP 0\r\n"),
            Err(SdpError::NoConnection)
        );
        assert_eq!(
            SessionDescription::parse(&[0xff, 0xfe]),
            Err(SdpError::NotText)
        );
        assert_eq!(
            SessionDescription::parse(b"v=0\r\ngarbage\r\n"),
            Err(SdpError::BadLine(2))
        );
    }

    #[test]
    fn hold_address_and_direction_rules() {
        let c = Connection::parse("IN IP4 0.0.0.0").unwrap();
        assert!(c.is_hold_address());
        assert_eq!(Direction::SendOnly.reversed(), Direction::RecvOnly);
        assert_eq!(
            Direction::SendRecv.intersect(Direction::RecvOnly),
            Direction::RecvOnly
        );
        assert_eq!(
            Direction::SendOnly.intersect(Direction::SendOnly),
            Direction::SendOnly
        );
    }
}
