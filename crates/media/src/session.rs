//! One call's audio stream: RTP out and in, RTCP, statistics, DTMF.
//!
//! ```text
//! send_frame(now, pcm) ─▶ encoder ─▶ RTP ─▶ poll_transmit
//! handle_datagram(now, from, bytes) ─▶ latch/SSRC/stats ─▶ jitter buffer
//! poll_playout(now, pcm) ◀─ decoder / FEC / concealment ◀─ jitter buffer
//! handle_timeout(now) ─▶ RTCP SR/RR every ~5 s      poll_event ─▶ DTMF, latch, SSRC change
//! ```
//!
//! Symmetric RTP: the first valid packet from the negotiated peer's address
//! (any port: NATs rewrite ports) latches the stream, and from then on we send
//! to where the peer sends from and drop packets from anyone else. Statistics
//! follow RFC 3550 appendix A (extended sequence numbers, cumulative loss,
//! interarrival jitter A.8); RTT comes from the peer's reception reports
//! (LSR/DLSR). Timestamps advance by one frame per `send_frame` call whether
//! or not a packet goes out (hold, mute), as the RTP clock must.
//!
//! SRTP: when the negotiation keyed the stream ([`Negotiated::srtp`]), every
//! RTP packet and RTCP report we send is protected (SRTCP, RFC 3711 §3.4) and
//! every datagram we receive is unprotected before it is parsed. A datagram
//! from a stranger is dropped before any crypto; one that fails
//! authentication or the replay window is dropped, counted in
//! [`Stats::srtp_rejected`], and never latches the stream.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rtc_rtcp::receiver_report::ReceiverReport;
use rtc_rtcp::reception_report::ReceptionReport;
use rtc_rtcp::sender_report::SenderReport;
use rtc_rtp::header::Header;
use rtc_rtp::packet::Packet;
use shared::marshal::{Marshal, Unmarshal};
use switchboard_codec::{Codec, CodecError, Decoder, Encoder, Settings};

use crate::dtmf::{DtmfFrame, DtmfReceiver, DtmfSender};
use crate::jitter::{JitterBuffer, JitterStats, Playout};
use crate::offer_answer::Negotiated;
use crate::sdp::Direction;
use crate::srtp::{Srtp, SrtpError};

/// Whether the codec's decoder rebuilds a lost frame better when it has the
/// next one (Opus in-band FEC, G.711 interpolation), so the jitter buffer keeps
/// a frame of look-ahead after a loss. G.722's concealment does not use it.
fn looks_ahead(codec: Codec) -> bool {
    matches!(codec, Codec::Opus | Codec::Pcmu | Codec::Pcma)
}

/// A frame whose RMS is under this (about −47 dBFS) is a pause: the jitter
/// buffer may change its delay there unheard.
const QUIET_RMS: f32 = 150.0;

/// Our encoder settings as the peer's fmtp bounds them: no wider audio than
/// its `maxplaybackrate`, no more bits than its `maxaveragebitrate` (RFC 7587
/// allows 6000 to 510000).
fn for_peer(ours: &Settings, n: &Negotiated) -> Settings {
    let mut settings = *ours;
    if let Some(rate) = n.max_playback_rate {
        settings.opus_max_playback_rate = rate;
    }
    if let Some(most) = n.max_average_bitrate {
        settings.opus_bitrate = settings.opus_bitrate.min(most.clamp(6_000, 510_000));
    }
    settings
}

fn is_quiet(frame: &[i16]) -> bool {
    let energy: f32 = frame.iter().map(|s| f32::from(*s) * f32::from(*s)).sum();
    energy < QUIET_RMS * QUIET_RMS * frame.len() as f32
}

/// A datagram to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// Where to.
    pub destination: SocketAddr,
    /// RTP or RTCP.
    pub rtcp: bool,
    /// The bytes.
    pub payload: Vec<u8>,
}

/// Something the caller may want to show or act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaEvent {
    /// A DTMF key arrived (RFC 4733).
    Dtmf(char),
    /// The stream latched onto this peer address.
    Latched(SocketAddr),
    /// The peer changed its SSRC; receive state was reset.
    SsrcChanged(u32),
}

/// Call-quality statistics of one stream.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Stats {
    /// RTP packets sent.
    pub packets_sent: u64,
    /// Payload octets sent.
    pub octets_sent: u64,
    /// RTP packets received from the peer (duplicates included on plain RTP;
    /// SRTP drops them as replays, in `srtp_rejected`).
    pub packets_received: u64,
    /// Packets expected but never received (RFC 3550 A.3), at least 0.
    pub packets_lost: u64,
    /// Interarrival jitter in milliseconds (RFC 3550 A.8).
    pub jitter_ms: f64,
    /// Round-trip time from RTCP, if measured.
    pub rtt_ms: Option<f64>,
    /// Loss the peer reports for our stream (fraction 0–1), if reported.
    pub remote_loss: Option<f64>,
    /// Datagrams from addresses other than the latched peer (dropped).
    pub strangers: u64,
    /// Malformed datagrams (dropped).
    pub malformed: u64,
    /// SRTP/SRTCP datagrams that failed authentication or were replayed,
    /// or plain ones on a protected stream (dropped).
    pub srtp_rejected: u64,
    /// Frames played from decoded packets.
    pub frames_decoded: u64,
    /// Frames rebuilt or concealed.
    pub frames_concealed: u64,
    /// Jitter buffer counters.
    pub jitter_buffer: JitterStats,
    /// Current playout delay target in milliseconds.
    pub playout_delay_ms: f64,
}

/// What a session needs to start.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// The negotiated stream.
    pub negotiated: Negotiated,
    /// Our SSRC (random).
    pub ssrc: u32,
    /// First sequence number (random).
    pub initial_sequence: u16,
    /// First timestamp (random).
    pub initial_timestamp: u32,
    /// Encoder settings.
    pub settings: Settings,
    /// Wall-clock time at `epoch`, for RTCP NTP timestamps.
    pub wall_at_epoch: Duration,
    /// The `Instant` that `wall_at_epoch` corresponds to.
    pub epoch: Instant,
    /// Seed for RTCP interval randomisation.
    pub seed: u64,
}

/// Errors starting a session.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionError {
    /// The codec could not be created.
    Codec(CodecError),
    /// The SRTP contexts could not be keyed.
    Srtp(SrtpError),
}

impl std::fmt::Display for SessionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SessionError::Codec(e) => write!(f, "cannot start the codec: {e}"),
            SessionError::Srtp(e) => write!(f, "cannot key SRTP: {e}"),
        }
    }
}

impl std::error::Error for SessionError {}

#[derive(Debug, Default)]
struct Receive {
    ssrc: Option<u32>,
    base_seq: u32,
    max_seq: u16,
    cycles: u32,
    received: u64,
    transit: Option<i64>,
    jitter: f64,
    /// For RTCP fraction lost: expected and received at the last report.
    expected_prior: u64,
    received_prior: u64,
    /// Middle 32 bits of the peer's last SR NTP time, and when it arrived.
    last_sr: Option<(u32, Instant)>,
}

impl Receive {
    fn extended_max(&self) -> u64 {
        (u64::from(self.cycles) << 16) | u64::from(self.max_seq)
    }

    fn expected(&self) -> u64 {
        if self.received == 0 {
            return 0;
        }
        self.extended_max()
            .saturating_sub(u64::from(self.base_seq))
            .saturating_add(1)
    }

    fn lost(&self) -> u64 {
        self.expected().saturating_sub(self.received)
    }
}

/// One audio stream of a call.
#[derive(Debug)]
pub struct RtpSession {
    codec: Codec,
    payload_type: u8,
    telephone_event: Option<u8>,
    direction: Direction,
    remote: Option<SocketAddr>,
    rtcp_mux: bool,
    latched: Option<SocketAddr>,
    encoder: Box<dyn Encoder>,
    /// The far end's last three loss reports for our stream, in percent
    /// (newest last): the encoder's redundancy follows their maximum, so one
    /// clean report in a lossy minute does not switch it off.
    loss_reports: [u8; 3],
    decoder: Box<dyn Decoder>,
    ssrc: u32,
    seq: u16,
    ts: u32,
    marker_next: bool,
    muted: bool,
    payload_buf: Vec<u8>,
    silence: Vec<i16>,
    jitter: JitterBuffer,
    rx: Receive,
    dtmf_out: DtmfSender,
    dtmf_in: DtmfReceiver,
    out: VecDeque<Transmit>,
    events: VecDeque<MediaEvent>,
    stats: Stats,
    wall_at_epoch: Duration,
    epoch: Instant,
    next_rtcp: Instant,
    rng: u64,
    sent_since_report: bool,
    srtp: Option<Srtp>,
}

impl RtpSession {
    /// Starts a stream for a negotiated codec at `now`.
    pub fn new(now: Instant, config: SessionConfig) -> Result<RtpSession, SessionError> {
        let n = &config.negotiated;
        let codec = n.codec;
        let settings = for_peer(&config.settings, n);
        let encoder = codec.encoder(&settings).map_err(SessionError::Codec)?;
        let decoder = codec.decoder().map_err(SessionError::Codec)?;
        let mut jitter = JitterBuffer::new(codec.clock_rate(), codec.frame_ticks());
        jitter.set_look_ahead(looks_ahead(codec));
        let srtp = n
            .srtp
            .as_ref()
            .map(Srtp::new)
            .transpose()
            .map_err(SessionError::Srtp)?;
        let mut s = RtpSession {
            codec,
            payload_type: n.payload_type,
            telephone_event: n.telephone_event,
            direction: n.direction,
            remote: n.remote,
            rtcp_mux: n.rtcp_mux,
            latched: None,
            encoder,
            loss_reports: [0; 3],
            decoder,
            ssrc: config.ssrc,
            seq: config.initial_sequence,
            ts: config.initial_timestamp,
            marker_next: true,
            muted: false,
            payload_buf: vec![0; 1500],
            silence: vec![0; codec.frame_samples()],
            jitter,
            rx: Receive::default(),
            dtmf_out: DtmfSender::default(),
            dtmf_in: DtmfReceiver::default(),
            out: VecDeque::new(),
            events: VecDeque::new(),
            stats: Stats::default(),
            wall_at_epoch: config.wall_at_epoch,
            epoch: config.epoch,
            next_rtcp: now,
            rng: config.seed | 1,
            sent_since_report: false,
            srtp,
        };
        s.next_rtcp = now + s.rtcp_interval() / 2;
        Ok(s)
    }

    /// The codec in use.
    pub fn codec(&self) -> Codec {
        self.codec
    }

    /// Samples per frame at the codec's rate (what `send_frame` and `poll_playout` take).
    pub fn frame_samples(&self) -> usize {
        self.codec.frame_samples()
    }

    /// Applies a renegotiated stream (re-INVITE: hold, resume, new address).
    /// A codec change restarts the encoder and decoder. New SRTP keys re-key
    /// the direction whose key changed (the other keeps its rollover counter
    /// and replay window); a negotiation without SRTP turns it off. On error
    /// nothing changes.
    pub fn update(&mut self, n: &Negotiated, settings: &Settings) -> Result<(), SessionError> {
        // The fallible steps first, so that an error changes nothing.
        let codec = if n.codec == self.codec {
            None
        } else {
            let encoder = n
                .codec
                .encoder(&for_peer(settings, n))
                .map_err(SessionError::Codec)?;
            let decoder = n.codec.decoder().map_err(SessionError::Codec)?;
            Some((encoder, decoder))
        };
        match (self.srtp.as_mut(), &n.srtp) {
            (Some(current), Some(keys)) => current.rekey(keys).map_err(SessionError::Srtp)?,
            (None, Some(keys)) => {
                self.srtp = Some(Srtp::new(keys).map_err(SessionError::Srtp)?);
            }
            (_, None) => self.srtp = None,
        }
        if let Some((encoder, decoder)) = codec {
            self.encoder = encoder;
            self.decoder = decoder;
            self.codec = n.codec;
            self.silence = vec![0; n.codec.frame_samples()];
            self.jitter = JitterBuffer::new(n.codec.clock_rate(), n.codec.frame_ticks());
            self.jitter.set_look_ahead(looks_ahead(n.codec));
        }
        if n.remote != self.remote {
            self.latched = None;
        }
        self.payload_type = n.payload_type;
        self.telephone_event = n.telephone_event;
        self.direction = n.direction;
        self.remote = n.remote;
        self.rtcp_mux = n.rtcp_mux;
        Ok(())
    }

    /// Mutes or unmutes the microphone (silence is still sent, so the peer's
    /// jitter buffer and NAT bindings stay alive).
    pub fn set_muted(&mut self, muted: bool) {
        self.muted = muted;
    }

    /// Queues DTMF keys to send as RFC 4733 events; returns how many were valid.
    /// Without a negotiated telephone-event nothing is queued.
    pub fn send_dtmf(&mut self, keys: &str, ms: u32) -> usize {
        if self.telephone_event.is_none() {
            return 0;
        }
        self.dtmf_out.queue(keys, ms)
    }

    /// Whether telephone events were negotiated.
    pub fn has_telephone_event(&self) -> bool {
        self.telephone_event.is_some()
    }

    fn destination(&self) -> Option<SocketAddr> {
        self.latched.or(self.remote)
    }

    /// One microphone frame (`frame_samples()` samples at the codec rate).
    pub fn send_frame(&mut self, _now: Instant, pcm: &[i16]) {
        let ticks = self.codec.frame_ticks();
        let frame_ts = self.ts;
        self.ts = self.ts.wrapping_add(ticks);
        let dest = match self.destination() {
            Some(d) if self.direction.sends() => d,
            _ => {
                self.marker_next = true;
                return;
            }
        };
        match self.dtmf_out.next_frame(8000 / 50) {
            DtmfFrame::Audio => {}
            DtmfFrame::Gap => return,
            DtmfFrame::Event {
                payload,
                marker,
                start_ts,
            } => {
                let Some(pt) = self.telephone_event else {
                    return;
                };
                let ts = start_ts.unwrap_or(frame_ts);
                if start_ts.is_none() {
                    self.dtmf_out.started_at(frame_ts);
                }
                // Telephone events count in 8 kHz units; Opus's clock is 48 kHz.
                let scale = self.codec.clock_rate() / 8000;
                let mut p = payload;
                p.duration = u16::try_from(u32::from(p.duration) * scale).unwrap_or(u16::MAX);
                self.push_rtp(dest, pt, ts, marker, &p.to_bytes());
                return;
            }
        }
        let input = if self.muted || pcm.len() != self.silence.len() {
            &self.silence[..]
        } else {
            pcm
        };
        let mut buf = std::mem::take(&mut self.payload_buf);
        let encoded = self.encoder.encode(input, &mut buf);
        if let Ok(n) = encoded {
            let marker = std::mem::take(&mut self.marker_next);
            if let Some(payload) = buf.get(..n) {
                self.push_rtp(dest, self.payload_type, frame_ts, marker, payload);
            }
        }
        self.payload_buf = buf;
    }

    fn push_rtp(&mut self, dest: SocketAddr, pt: u8, ts: u32, marker: bool, payload: &[u8]) {
        let packet = Packet {
            header: Header {
                version: 2,
                marker,
                payload_type: pt,
                sequence_number: self.seq,
                timestamp: ts,
                ssrc: self.ssrc,
                ..Header::default()
            },
            payload: Bytes::copy_from_slice(payload),
        };
        self.seq = self.seq.wrapping_add(1);
        let Ok(bytes) = packet.marshal() else {
            return;
        };
        let Some(wire) = self.protect(false, &bytes) else {
            return;
        };
        self.stats.packets_sent += 1;
        self.stats.octets_sent += payload.len() as u64;
        self.sent_since_report = true;
        self.out.push_back(Transmit {
            destination: dest,
            rtcp: false,
            payload: wire,
        });
    }

    /// Our packet as it goes on the wire: SRTP/SRTCP-protected when keyed.
    fn protect(&mut self, rtcp: bool, plain: &[u8]) -> Option<Vec<u8>> {
        let Some(srtp) = self.srtp.as_mut() else {
            return Some(plain.to_vec());
        };
        let protected = if rtcp {
            srtp.protect_rtcp(plain)
        } else {
            srtp.protect_rtp(plain)
        };
        // Only a key used for 2^48 packets or a crypto provider failure gets here.
        debug_assert!(
            protected.is_ok(),
            "protecting our own packet failed: {protected:?}"
        );
        protected.ok()
    }

    /// Whether a datagram from `source` may be ours, without latching.
    fn plausible_source(&self, source: SocketAddr) -> bool {
        match self.latched {
            Some(l) => l == source,
            None => self.remote.is_none_or(|r| r.ip() == source.ip()),
        }
    }

    /// Unprotects a datagram on a keyed stream (`None`: dropped and counted);
    /// passes it through on a plain one.
    fn unprotect<'a>(&mut self, rtcp: bool, data: &'a [u8]) -> Option<Cow<'a, [u8]>> {
        let Some(srtp) = self.srtp.as_mut() else {
            return Some(Cow::Borrowed(data));
        };
        let plain = if rtcp {
            srtp.unprotect_rtcp(data)
        } else {
            srtp.unprotect_rtp(data)
        };
        match plain {
            Ok(p) => Some(Cow::Owned(p)),
            Err(SrtpError::Malformed) => {
                self.stats.malformed += 1;
                None
            }
            Err(_) => {
                self.stats.srtp_rejected += 1;
                None
            }
        }
    }

    /// A datagram arrived on the RTP port (or the RTCP port: both are accepted).
    pub fn handle_datagram(&mut self, now: Instant, source: SocketAddr, data: &[u8]) {
        // RFC 5761 demultiplexing: RTCP packet types 192–223 in the second byte.
        if data.get(1).is_some_and(|b| (192..=223).contains(b)) {
            self.handle_rtcp(now, source, data);
            return;
        }
        if self.srtp.is_some() && !self.plausible_source(source) {
            // No crypto (nor per-SSRC crypto state) for strangers.
            self.stats.strangers += 1;
            return;
        }
        let Some(plain) = self.unprotect(false, data) else {
            return;
        };
        let mut buf = &plain[..];
        let Ok(packet) = Packet::unmarshal(&mut buf) else {
            self.stats.malformed += 1;
            return;
        };
        if packet.header.version != 2 {
            self.stats.malformed += 1;
            return;
        }
        if !self.accept_source(source) {
            self.stats.strangers += 1;
            return;
        }
        let h = &packet.header;
        if self.rx.ssrc != Some(h.ssrc) {
            if self.rx.ssrc.is_some() {
                self.events.push_back(MediaEvent::SsrcChanged(h.ssrc));
                self.jitter.reset();
            }
            self.rx = Receive {
                ssrc: Some(h.ssrc),
                base_seq: u32::from(h.sequence_number),
                max_seq: h.sequence_number,
                ..Receive::default()
            };
        }
        self.update_sequence(h.sequence_number);
        self.stats.packets_received += 1;
        if Some(h.payload_type) == self.telephone_event {
            if let Some(key) = self.dtmf_in.receive(h.timestamp, &packet.payload) {
                self.events.push_back(MediaEvent::Dtmf(key));
            }
            return;
        }
        if h.payload_type != self.payload_type {
            // Comfort noise or a codec we did not agree on: ignore.
            return;
        }
        self.update_jitter(now, h.timestamp);
        if self.direction.receives() {
            self.jitter.push(now, h.timestamp, packet.payload);
        }
    }

    fn accept_source(&mut self, source: SocketAddr) -> bool {
        match self.latched {
            Some(l) => l == source,
            None => {
                let ok = self.remote.is_none_or(|r| r.ip() == source.ip());
                if ok {
                    self.latched = Some(source);
                    self.events.push_back(MediaEvent::Latched(source));
                }
                ok
            }
        }
    }

    fn update_sequence(&mut self, seq: u16) {
        let rx = &mut self.rx;
        if rx.received == 0 {
            rx.max_seq = seq;
            return self.count_received();
        }
        let delta = seq.wrapping_sub(rx.max_seq);
        if delta != 0 && delta < 0x8000 {
            if seq < rx.max_seq {
                rx.cycles += 1;
            }
            rx.max_seq = seq;
        }
        self.count_received();
    }

    fn count_received(&mut self) {
        self.rx.received += 1;
        self.stats.packets_lost = self.rx.lost();
    }

    fn update_jitter(&mut self, now: Instant, ts: u32) {
        let rate = f64::from(self.codec.clock_rate());
        let arrival = (now.saturating_duration_since(self.epoch).as_secs_f64() * rate) as i64;
        let transit = arrival - i64::from(ts);
        if let Some(prev) = self.rx.transit {
            let d = (transit - prev).unsigned_abs() as f64;
            // Timestamp jumps are not jitter.
            if d < rate {
                self.rx.jitter += (d - self.rx.jitter) / 16.0;
            }
        }
        self.rx.transit = Some(transit);
        self.stats.jitter_ms = self.rx.jitter / rate * 1000.0;
    }

    /// One speaker frame for the period starting at `now`; returns the samples written
    /// (always `frame_samples()` when `out` is large enough).
    pub fn poll_playout(&mut self, now: Instant, out: &mut [i16]) -> usize {
        let n = self.codec.frame_samples();
        let Some(frame) = out.get_mut(..n) else {
            return 0;
        };
        let result = match self.jitter.pop(now) {
            Playout::Silence => {
                frame.fill(0);
                self.jitter.set_quiet(true);
                return n;
            }
            Playout::Decode(p) => {
                self.stats.frames_decoded += 1;
                self.decoder.decode(&p, frame)
            }
            Playout::Recover(next) => {
                self.stats.frames_concealed += 1;
                self.decoder.recover(&next, frame)
            }
            Playout::Conceal => {
                self.stats.frames_concealed += 1;
                self.decoder.conceal(frame)
            }
        };
        match result {
            Ok(got) if got == n => {}
            Ok(got) => {
                // A peer packet of another duration: pad or cut to one frame.
                if let Some(rest) = frame.get_mut(got.min(n)..) {
                    rest.fill(0);
                }
            }
            Err(_) => {
                self.stats.malformed += 1;
                if self.decoder.conceal(frame).is_err() {
                    frame.fill(0);
                }
            }
        }
        self.jitter.set_quiet(is_quiet(frame));
        n
    }

    fn rtcp_interval(&mut self) -> Duration {
        // 5 s randomised to 0.5–1.5× (RFC 3550 §6.3.1).
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        let f = 0.5 + (self.rng % 1000) as f64 / 1000.0;
        Duration::from_secs_f64(5.0 * f)
    }

    fn ntp(&self, now: Instant) -> u64 {
        let wall = self.wall_at_epoch + now.saturating_duration_since(self.epoch);
        let secs = wall.as_secs() + 2_208_988_800;
        let frac = (u64::from(wall.subsec_nanos()) << 32) / 1_000_000_000;
        (secs << 32) | frac
    }

    /// The next time [`RtpSession::handle_timeout`] must run.
    #[must_use]
    pub fn poll_timeout(&self) -> Instant {
        self.next_rtcp
    }

    /// Sends RTCP when due.
    pub fn handle_timeout(&mut self, now: Instant) {
        if now < self.next_rtcp {
            return;
        }
        self.next_rtcp = now + self.rtcp_interval();
        let Some(dest) = self.destination() else {
            return;
        };
        let dest = if self.rtcp_mux {
            dest
        } else {
            SocketAddr::new(dest.ip(), dest.port().wrapping_add(1))
        };
        let reports: Vec<ReceptionReport> = self.reception_report(now).into_iter().collect();
        let packet: Box<dyn rtc_rtcp::packet::Packet> = if self.sent_since_report {
            let ntp = self.ntp(now);
            Box::new(SenderReport {
                ssrc: self.ssrc,
                ntp_time: ntp,
                rtp_time: self.ts,
                packet_count: self.stats.packets_sent as u32,
                octet_count: self.stats.octets_sent as u32,
                reports,
                ..SenderReport::default()
            })
        } else {
            Box::new(ReceiverReport {
                ssrc: self.ssrc,
                reports,
                ..ReceiverReport::default()
            })
        };
        self.sent_since_report = false;
        if let Some(wire) = rtc_rtcp::packet::marshal(&[packet])
            .ok()
            .and_then(|bytes| self.protect(true, &bytes))
        {
            self.out.push_back(Transmit {
                destination: dest,
                rtcp: true,
                payload: wire,
            });
        }
    }

    fn reception_report(&mut self, now: Instant) -> Option<ReceptionReport> {
        let ssrc = self.rx.ssrc?;
        let expected = self.rx.expected();
        let expected_interval = expected.saturating_sub(self.rx.expected_prior);
        let received_interval = self.rx.received.saturating_sub(self.rx.received_prior);
        self.rx.expected_prior = expected;
        self.rx.received_prior = self.rx.received;
        let lost_interval = expected_interval.saturating_sub(received_interval);
        let fraction = (lost_interval << 8)
            .checked_div(expected_interval)
            .map_or(0, |f| f.min(255) as u8);
        let (lsr, dlsr) = match self.rx.last_sr {
            Some((lsr, at)) => {
                let d = now.saturating_duration_since(at).as_secs_f64() * 65536.0;
                (lsr, d as u32)
            }
            None => (0, 0),
        };
        Some(ReceptionReport {
            ssrc,
            fraction_lost: fraction,
            total_lost: self.rx.lost().min(0x7f_ffff) as u32,
            last_sequence_number: self.rx.extended_max() as u32,
            jitter: self.rx.jitter as u32,
            last_sender_report: lsr,
            delay: dlsr,
        })
    }

    /// An RTCP datagram (on the RTCP port, or multiplexed).
    pub fn handle_rtcp(&mut self, now: Instant, source: SocketAddr, data: &[u8]) {
        if self.latched.is_some_and(|l| l.ip() != source.ip()) {
            self.stats.strangers += 1;
            return;
        }
        let unlatched_stranger =
            self.latched.is_none() && self.remote.is_some_and(|r| r.ip() != source.ip());
        if self.srtp.is_some() && unlatched_stranger {
            // No crypto (nor per-SSRC crypto state) for strangers.
            self.stats.strangers += 1;
            return;
        }
        let Some(plain) = self.unprotect(true, data) else {
            return;
        };
        let mut buf = &plain[..];
        let Ok(packets) = rtc_rtcp::packet::unmarshal(&mut buf) else {
            self.stats.malformed += 1;
            return;
        };
        let now_ntp32 = ((self.ntp(now) >> 16) & 0xffff_ffff) as u32;
        for p in packets {
            let any = p.as_any();
            let reports: &[ReceptionReport] = if let Some(sr) = any.downcast_ref::<SenderReport>() {
                self.rx.last_sr = Some((((sr.ntp_time >> 16) & 0xffff_ffff) as u32, now));
                &sr.reports
            } else if let Some(rr) = any.downcast_ref::<ReceiverReport>() {
                &rr.reports
            } else {
                &[]
            };
            for r in reports.iter().filter(|r| r.ssrc == self.ssrc) {
                self.stats.remote_loss = Some(f64::from(r.fraction_lost) / 256.0);
                // Fraction lost is in 1/256: in percent, rounded up.
                let percent = (u16::from(r.fraction_lost) * 100).div_ceil(256) as u8;
                self.loss_reports.rotate_left(1);
                if let Some(newest) = self.loss_reports.last_mut() {
                    *newest = percent;
                }
                let worst = self.loss_reports.iter().copied().max().unwrap_or(0);
                self.encoder.set_loss_percent(worst);
                if r.last_sender_report != 0 {
                    let rtt = now_ntp32
                        .wrapping_sub(r.last_sender_report)
                        .wrapping_sub(r.delay);
                    if rtt < 0x8000_0000 {
                        self.stats.rtt_ms = Some(f64::from(rtt) / 65536.0 * 1000.0);
                    }
                }
            }
        }
    }

    /// The next datagram to send.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.out.pop_front()
    }

    /// The next event.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<MediaEvent> {
        self.events.pop_front()
    }

    /// Statistics so far.
    pub fn stats(&self) -> Stats {
        let mut s = self.stats;
        s.jitter_buffer = self.jitter.stats();
        s.playout_delay_ms = self.jitter.target_delay().as_secs_f64() * 1000.0;
        s
    }

    /// The jitter buffer's current playout delay target.
    pub fn playout_delay(&self) -> Duration {
        self.jitter.target_delay()
    }

    /// Where RTP currently goes (the latched address once latched).
    pub fn peer(&self) -> Option<SocketAddr> {
        self.destination()
    }
}
