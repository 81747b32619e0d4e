//! A minimal static SDP offer/answer until the media issue brings real
//! negotiation: one audio stream on a real, bound RTP port, G.711 and
//! telephone-event.

use std::net::IpAddr;

/// Builds the SDP we offer or answer with.
pub(crate) fn static_sdp(ip: IpAddr, rtp_port: u16, session: u64) -> Vec<u8> {
    let family = if ip.is_ipv4() { "IP4" } else { "IP6" };
    format!(
        "v=0\r\n\
o=switchboard {session} 1 IN {family} {ip}\r\n\
s=Switchboard\r\n\
c=IN {family} {ip}\r\n\
t=0 0\r\n\
m=audio {rtp_port} RTP/AVP 0 8 101\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:8 PCMA/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=fmtp:101 0-16\r\n\
a=ptime:20\r\n\
a=sendrecv\r\n"
    )
    .into_bytes()
}
