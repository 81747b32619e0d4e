//! The offer/answer model (RFC 3264) for one audio stream.
//!
//! [`offer`] describes what we can do; [`answer`] answers a peer's offer
//! (one `m=` line per offered line, in order; the first usable audio stream is
//! accepted, every other line is rejected with port 0); [`accept_answer`] reads
//! the peer's answer to our offer. All three give a [`Negotiated`] stream from
//! our point of view: which codec and payload type to send, where, in which
//! direction, and whether RFC 4733 telephone events are on.
//!
//! Directions follow RFC 3264 §6.1: an offer of `sendonly` is answered
//! `recvonly`, `recvonly` with `sendonly`, `inactive` with `inactive`; our own
//! wish (hold) narrows what we answer. `c=0.0.0.0` (RFC 2543 hold) is read as
//! the peer not wanting to receive.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use switchboard_codec::Codec;

use crate::sdp::{Attribute, Connection, Direction, Media, Origin, SessionDescription};

/// Our side of the negotiation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalMedia {
    /// Codecs in preference order.
    pub codecs: Vec<Codec>,
    /// The address RTP is reachable at.
    pub address: IpAddr,
    /// The RTP port (RTCP on port + 1 unless rtcp-mux).
    pub port: u16,
    /// Our direction wish: `SendRecv`, or `SendOnly` when we hold the peer.
    pub direction: Direction,
    /// Payload type for telephone-event in our offers.
    pub telephone_event_pt: u8,
    /// Payload type for Opus in our offers.
    pub opus_pt: u8,
    /// `o=` session id, fixed for the call.
    pub session_id: u64,
    /// `o=` version, increased for each new description we send.
    pub version: u64,
}

impl LocalMedia {
    /// Defaults for a call: sendrecv, telephone-event 101, Opus 111.
    pub fn new(codecs: Vec<Codec>, address: IpAddr, port: u16, session_id: u64) -> LocalMedia {
        LocalMedia {
            codecs,
            address,
            port,
            direction: Direction::SendRecv,
            telephone_event_pt: 101,
            opus_pt: 111,
            session_id,
            version: 1,
        }
    }
}

/// The agreed audio stream, from our point of view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negotiated {
    /// The codec both sides use.
    pub codec: Codec,
    /// Its payload type on the wire.
    pub payload_type: u8,
    /// RFC 4733 telephone-event payload type, if both support it.
    pub telephone_event: Option<u8>,
    /// Where to send RTP: an IP address and port, or `None` when the peer
    /// gave no usable address (hold with 0.0.0.0, or a host name we do not resolve).
    pub remote: Option<SocketAddr>,
    /// Our direction.
    pub direction: Direction,
    /// Packet time in ms (20 unless the peer asks otherwise).
    pub ptime: u32,
    /// RTP and RTCP share one port.
    pub rtcp_mux: bool,
    /// The peer's Opus `maxplaybackrate` (RFC 7587), if it gave one.
    pub max_playback_rate: Option<u32>,
}

/// The `maxplaybackrate` of an Opus fmtp line.
fn max_playback_rate(m: &Media, pt: u8) -> Option<u32> {
    m.fmtp(pt)?.split(';').find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("maxplaybackrate")
            .then(|| v.trim().parse().ok())
            .flatten()
    })
}

/// Why no audio stream could be agreed (the UA answers 488 then).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NegotiationError {
    /// The description has no audio stream with a non-zero port.
    NoAudio,
    /// No offered codec is one we have.
    NoCommonCodec,
}

impl fmt::Display for NegotiationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NegotiationError::NoAudio => f.write_str("no audio stream offered"),
            NegotiationError::NoCommonCodec => f.write_str("no codec in common"),
        }
    }
}

impl std::error::Error for NegotiationError {}

fn origin(local: &LocalMedia) -> Origin {
    Origin {
        username: "-".to_owned(),
        session_id: local.session_id.to_string(),
        version: local.version,
        address: Connection::ip(local.address),
    }
}

fn rtpmap_line(codec: Codec, pt: u8) -> Attribute {
    let ch = codec
        .sdp_channels()
        .map(|c| format!("/{c}"))
        .unwrap_or_default();
    Attribute::value(
        "rtpmap",
        format!("{pt} {}/{}{ch}", codec.encoding_name(), codec.clock_rate()),
    )
}

fn codec_attributes(codec: Codec, pt: u8, out: &mut Vec<Attribute>) {
    out.push(rtpmap_line(codec, pt));
    if codec == Codec::Opus {
        // We decode FEC and want wideband voice; stereo is never needed.
        out.push(Attribute::value(
            "fmtp",
            format!("{pt} useinbandfec=1;maxplaybackrate=16000;stereo=0;sprop-stereo=0"),
        ));
    }
}

fn session(local: &LocalMedia, media: Vec<Media>) -> SessionDescription {
    SessionDescription {
        origin: origin(local),
        name: "Switchboard".to_owned(),
        connection: Some(Connection::ip(local.address)),
        bandwidth: Vec::new(),
        timing: "0 0".to_owned(),
        attributes: Vec::new(),
        media,
    }
}

/// Our offer: every codec we have, in preference order, plus telephone-event.
pub fn offer(local: &LocalMedia) -> SessionDescription {
    let mut formats = Vec::new();
    let mut attributes = Vec::new();
    for &c in &local.codecs {
        let pt = c.static_payload_type().unwrap_or(local.opus_pt);
        formats.push(pt.to_string());
        codec_attributes(c, pt, &mut attributes);
    }
    formats.push(local.telephone_event_pt.to_string());
    attributes.push(Attribute::value(
        "rtpmap",
        format!("{} telephone-event/8000", local.telephone_event_pt),
    ));
    attributes.push(Attribute::value(
        "fmtp",
        format!("{} 0-16", local.telephone_event_pt),
    ));
    attributes.push(Attribute::value("ptime", "20"));
    attributes.push(Attribute::flag(local.direction.as_str()));
    session(
        local,
        vec![Media {
            kind: "audio".to_owned(),
            port: local.port,
            port_count: None,
            proto: "RTP/AVP".to_owned(),
            formats,
            connection: None,
            bandwidth: Vec::new(),
            attributes,
        }],
    )
}

fn is_rtp_audio(m: &Media) -> bool {
    m.kind == "audio" && m.port != 0 && (m.proto == "RTP/AVP" || m.proto == "RTP/AVPF")
}

/// The peer's payload type for a codec, if it offers it.
fn find_codec(m: &Media, codec: Codec) -> Option<u8> {
    m.payload_types().find(|&pt| {
        m.rtpmap(pt).is_some_and(|map| {
            map.encoding.eq_ignore_ascii_case(codec.encoding_name())
                && map.clock_rate == codec.clock_rate()
        })
    })
}

fn find_telephone_event(m: &Media) -> Option<u8> {
    m.payload_types().find(|&pt| {
        m.rtpmap(pt).is_some_and(|map| {
            map.encoding.eq_ignore_ascii_case("telephone-event") && map.clock_rate == 8000
        })
    })
}

/// The direction a peer's description asks for (c=0.0.0.0 means it will not receive).
fn peer_direction(sd: &SessionDescription, m: &Media) -> Direction {
    let d = sd.direction_of(m);
    if sd
        .connection_for(m)
        .is_some_and(Connection::is_hold_address)
    {
        d.intersect(Direction::SendOnly)
    } else {
        d
    }
}

fn remote_of(sd: &SessionDescription, m: &Media) -> Option<SocketAddr> {
    let ip = sd.connection_for(m)?.ip_addr()?;
    (!ip.is_unspecified() && m.port != 0).then(|| SocketAddr::new(ip, m.port))
}

fn rejected(m: &Media) -> Media {
    Media {
        kind: m.kind.clone(),
        port: 0,
        port_count: None,
        proto: m.proto.clone(),
        formats: m.formats.clone(),
        connection: None,
        bandwidth: Vec::new(),
        attributes: Vec::new(),
    }
}

/// Answers an offer. Errors when no audio stream can be accepted.
pub fn answer(
    local: &LocalMedia,
    offer: &SessionDescription,
) -> Result<(SessionDescription, Negotiated), NegotiationError> {
    let mut media = Vec::new();
    let mut agreed = None;
    let mut any_audio = false;
    for m in &offer.media {
        if agreed.is_some() || !is_rtp_audio(m) {
            media.push(rejected(m));
            continue;
        }
        any_audio = true;
        let choice = local
            .codecs
            .iter()
            .find_map(|&c| find_codec(m, c).map(|pt| (c, pt)));
        let Some((codec, pt)) = choice else {
            media.push(rejected(m));
            continue;
        };
        let te = find_telephone_event(m);
        let direction = local
            .direction
            .intersect(peer_direction(offer, m).reversed());
        let rtcp_mux = m.has_attribute("rtcp-mux");
        let mut formats = vec![pt.to_string()];
        let mut attributes = Vec::new();
        codec_attributes(codec, pt, &mut attributes);
        if let Some(te) = te {
            formats.push(te.to_string());
            attributes.push(Attribute::value(
                "rtpmap",
                format!("{te} telephone-event/8000"),
            ));
            attributes.push(Attribute::value("fmtp", format!("{te} 0-16")));
        }
        attributes.push(Attribute::value("ptime", "20"));
        if rtcp_mux {
            attributes.push(Attribute::flag("rtcp-mux"));
        }
        attributes.push(Attribute::flag(direction.as_str()));
        media.push(Media {
            kind: "audio".to_owned(),
            port: local.port,
            port_count: None,
            proto: m.proto.clone(),
            formats,
            connection: None,
            bandwidth: Vec::new(),
            attributes,
        });
        agreed = Some(Negotiated {
            codec,
            payload_type: pt,
            telephone_event: te,
            remote: remote_of(offer, m),
            direction,
            ptime: m.ptime().unwrap_or(20),
            rtcp_mux,
            max_playback_rate: (codec == Codec::Opus)
                .then(|| max_playback_rate(m, pt))
                .flatten(),
        });
    }
    match agreed {
        Some(n) => Ok((session(local, media), n)),
        None if any_audio => Err(NegotiationError::NoCommonCodec),
        None => Err(NegotiationError::NoAudio),
    }
}

/// Reads the answer to our offer.
pub fn accept_answer(
    local: &LocalMedia,
    answer: &SessionDescription,
) -> Result<Negotiated, NegotiationError> {
    let m = answer
        .media
        .iter()
        .find(|m| is_rtp_audio(m))
        .ok_or(NegotiationError::NoAudio)?;
    // The answer should carry one codec; take the first one we have, in its order.
    let (codec, pt) = m
        .payload_types()
        .find_map(|pt| {
            let map = m.rtpmap(pt)?;
            local
                .codecs
                .iter()
                .find(|c| {
                    map.encoding.eq_ignore_ascii_case(c.encoding_name())
                        && map.clock_rate == c.clock_rate()
                })
                .map(|&c| (c, pt))
        })
        .ok_or(NegotiationError::NoCommonCodec)?;
    Ok(Negotiated {
        codec,
        payload_type: pt,
        telephone_event: find_telephone_event(m),
        remote: remote_of(answer, m),
        direction: local
            .direction
            .intersect(peer_direction(answer, m).reversed()),
        ptime: m.ptime().unwrap_or(20),
        rtcp_mux: m.has_attribute("rtcp-mux"),
        max_playback_rate: (codec == Codec::Opus)
            .then(|| max_playback_rate(m, pt))
            .flatten(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local(codecs: &[Codec]) -> LocalMedia {
        LocalMedia::new(codecs.to_vec(), "192.0.2.10".parse().unwrap(), 40000, 77)
    }

    #[test]
    fn two_switchboards_agree_on_opus_with_dtmf() {
        let a = local(&[Codec::Opus, Codec::Pcmu]);
        let b = LocalMedia::new(
            vec![Codec::Opus, Codec::Pcma],
            "192.0.2.20".parse().unwrap(),
            50000,
            5,
        );
        let o = offer(&a);
        let reparsed = SessionDescription::parse(&o.to_bytes()).unwrap();
        let (ans, nb) = answer(&b, &reparsed).unwrap();
        assert_eq!(nb.codec, Codec::Opus);
        assert_eq!(nb.payload_type, 111);
        assert_eq!(nb.telephone_event, Some(101));
        assert_eq!(nb.remote, Some("192.0.2.10:40000".parse().unwrap()));
        let na = accept_answer(&a, &SessionDescription::parse(&ans.to_bytes()).unwrap()).unwrap();
        assert_eq!(na.codec, Codec::Opus);
        assert_eq!(na.remote, Some("192.0.2.20:50000".parse().unwrap()));
        assert_eq!(na.direction, Direction::SendRecv);
        assert!(ans.to_string().contains("useinbandfec=1"));
        assert_eq!(na.max_playback_rate, Some(16000), "ours, read by the peer");
    }

    #[test]
    fn a_narrowband_opus_peer_is_noticed() {
        let text = "v=0\r\no=- 1 1 IN IP4 192.0.2.9\r\ns=-\r\nc=IN IP4 192.0.2.9\r\nt=0 0\r\n\
                    m=audio 5000 RTP/AVP 96\r\na=rtpmap:96 opus/48000/2\r\n\
                    a=fmtp:96 maxplaybackrate=8000; useinbandfec=1\r\n";
        let offer = SessionDescription::parse(text.as_bytes()).unwrap();
        let (_, n) = answer(&local(&[Codec::Opus]), &offer).unwrap();
        assert_eq!(
            n.payload_type, 96,
            "the peer's dynamic payload type is used"
        );
        assert_eq!(n.max_playback_rate, Some(8000));
    }

    #[test]
    fn hold_offers_are_answered_with_the_reverse_direction() {
        let mut a = local(&[Codec::Pcmu]);
        a.direction = Direction::SendOnly;
        let b = local(&[Codec::Pcmu]);
        let (ans, nb) = answer(&b, &offer(&a)).unwrap();
        assert_eq!(nb.direction, Direction::RecvOnly);
        assert!(ans.to_string().contains("a=recvonly"));
        let na = accept_answer(&a, &ans).unwrap();
        assert_eq!(na.direction, Direction::SendOnly);
        // An inactive offer gets an inactive answer.
        a.direction = Direction::Inactive;
        assert_eq!(
            answer(&b, &offer(&a)).unwrap().1.direction,
            Direction::Inactive
        );
    }

    #[test]
    fn no_common_codec_is_an_error() {
        let a = local(&[Codec::Opus]);
        let b = local(&[Codec::Pcma]);
        assert_eq!(
            answer(&b, &offer(&a)).unwrap_err(),
            NegotiationError::NoCommonCodec
        );
    }
}
