//! # switchboard-codec — voice codecs behind one pair of traits
//!
//! ```text
//!  20 ms PCM (i16, codec rate) ──▶ Encoder::encode ──▶ RTP payload
//!  RTP payload ──▶ Decoder::decode ──▶ PCM      lost frame ──▶ Decoder::conceal / recover
//! ```
//!
//! - [`g711`]: µ-law and A-law, bit-exact with the ITU-T G.191 reference, with
//!   pitch-repetition concealment ([`g711::Plc`]) that interpolates towards the
//!   next frame when the jitter buffer already holds it.
//! - [`g722`]: G.722 at 64 kbit/s (16 kHz wideband), written from the
//!   Recommendation; concealment is `Plc`'s at 16 kHz, and the ADPCM state is
//!   re-encoded from the concealed sound so it stays in step.
//! - [`opus`](mod@opus): libopus (built from source by `opusic-sys`, with deep
//!   PLC); the encoder through the `opus` crate, the decoder called directly
//!   (the crate's only unsafe code) so its complexity can switch deep PLC on;
//!   48 kHz mono, 20 ms, encoder complexity configurable; in-band FEC while the
//!   far end reports loss ([`Encoder::set_loss_percent`]); concealment (deep
//!   PLC) and FEC recovery come from libopus.
//!
//! How concealment was tuned: `examples/loss_sim.rs` runs a codec over a WAV
//! with a loss pattern (random or Gilbert-Elliott bursts, seeded) and
//! `scripts/loss-sim.sh` scores it with PESQ over voices and seeds; each choice
//! in `g711::Plc` carries the figure that decided it (docs/performance.md).
//!
//! Every encoder and decoder is built once per call and allocates nothing
//! afterwards: buffers are the caller's. The media crate chooses the codec from
//! SDP and feeds frames of [`Codec::frame_samples`] samples.
#![deny(unsafe_code)]
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)
)]

use std::fmt;

pub mod g711;
pub mod g722;
pub mod opus;
pub mod resample;

/// The codecs Switchboard speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    /// G.711 µ-law.
    Pcmu,
    /// G.711 A-law.
    Pcma,
    /// G.722 at 64 kbit/s, 16 kHz wideband.
    G722,
    /// Opus, wideband voice (RFC 7587).
    Opus,
}

impl Codec {
    /// All codecs in the default preference order.
    pub const ALL: [Codec; 4] = [Codec::Opus, Codec::G722, Codec::Pcmu, Codec::Pcma];

    /// The SDP encoding name (`a=rtpmap`).
    pub fn encoding_name(self) -> &'static str {
        match self {
            Codec::Pcmu => "PCMU",
            Codec::Pcma => "PCMA",
            Codec::G722 => "G722",
            Codec::Opus => "opus",
        }
    }

    /// The RTP clock rate written in SDP (Opus always says 48000; G.722 says
    /// 8000 for historical reasons although it samples at 16 kHz, RFC 3551).
    pub fn clock_rate(self) -> u32 {
        match self {
            Codec::Pcmu | Codec::Pcma | Codec::G722 => 8000,
            Codec::Opus => 48000,
        }
    }

    /// Channels as written in `a=rtpmap` (Opus is always `/2` there, RFC 7587).
    pub fn sdp_channels(self) -> Option<u8> {
        match self {
            Codec::Opus => Some(2),
            _ => None,
        }
    }

    /// The PCM sample rate the codec works at.
    pub fn sample_rate(self) -> u32 {
        match self {
            Codec::Pcmu | Codec::Pcma => 8000,
            Codec::G722 => 16000,
            Codec::Opus => 48000,
        }
    }

    /// The static RTP payload type (RFC 3551), if any.
    pub fn static_payload_type(self) -> Option<u8> {
        match self {
            Codec::Pcmu => Some(0),
            Codec::Pcma => Some(8),
            Codec::G722 => Some(9),
            Codec::Opus => None,
        }
    }

    /// Samples in one 20 ms frame at [`Codec::sample_rate`].
    pub fn frame_samples(self) -> usize {
        (self.sample_rate() / 50) as usize
    }

    /// RTP timestamp units per 20 ms frame.
    pub fn frame_ticks(self) -> u32 {
        self.clock_rate() / 50
    }

    /// Reads a codec from its configuration or SDP name (case-insensitive).
    pub fn from_name(name: &str) -> Option<Codec> {
        match name.to_ascii_lowercase().as_str() {
            "pcmu" | "g711u" | "ulaw" => Some(Codec::Pcmu),
            "pcma" | "g711a" | "alaw" => Some(Codec::Pcma),
            "g722" => Some(Codec::G722),
            "opus" => Some(Codec::Opus),
            _ => None,
        }
    }

    /// A fresh encoder.
    pub fn encoder(self, settings: &Settings) -> Result<Box<dyn Encoder>, CodecError> {
        Ok(match self {
            Codec::Pcmu => Box::new(g711::G711Encoder::new(g711::Law::Mu)),
            Codec::Pcma => Box::new(g711::G711Encoder::new(g711::Law::A)),
            Codec::G722 => Box::new(g722::G722Encoder::new()),
            Codec::Opus => Box::new(opus::OpusEncoder::new(settings)?),
        })
    }

    /// A fresh decoder.
    pub fn decoder(self) -> Result<Box<dyn Decoder>, CodecError> {
        Ok(match self {
            Codec::Pcmu => Box::new(g711::G711Decoder::new(g711::Law::Mu)),
            Codec::Pcma => Box::new(g711::G711Decoder::new(g711::Law::A)),
            Codec::G722 => Box::new(g722::G722Decoder::new()),
            Codec::Opus => Box::new(opus::OpusDecoder::new()?),
        })
    }
}

impl fmt::Display for Codec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Codec::Pcmu => "pcmu",
            Codec::Pcma => "pcma",
            Codec::G722 => "g722",
            Codec::Opus => "opus",
        })
    }
}

/// Encoder settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// Opus complexity 0–10 (CPU against quality).
    pub opus_complexity: u8,
    /// Opus target bitrate in bit/s. 64 kbit/s by default (about 55 used
    /// for wideband voice, 71 on the wire with headers: less than G.711's 80):
    /// offline over two voices and eight seeds it scores 4.41 at 3 % loss and
    /// 2.75 in bursts against 4.30 and 2.69 at 48 kbit/s, since in-band FEC
    /// and the voice share the bits (docs/performance.md). A peer's
    /// `maxaveragebitrate` lowers it.
    pub opus_bitrate: u32,
    /// Expected packet loss in percent (tunes Opus FEC).
    pub expected_loss_percent: u8,
    /// The highest audio frequency worth coding for the peer, from its Opus
    /// `maxplaybackrate` (8000 → narrowband, 12000 → mediumband, 16000 and
    /// above → wideband, our ceiling for voice).
    pub opus_max_playback_rate: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            opus_complexity: 8,
            opus_bitrate: 64_000,
            expected_loss_percent: 5,
            opus_max_playback_rate: 16_000,
        }
    }
}

/// What went wrong in a codec.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CodecError {
    /// Our bug: the output buffer cannot hold one frame.
    OutputTooSmall,
    /// Our bug: the input is not one frame of the codec's size.
    BadFrameSize(usize),
    /// The peer sent a payload the decoder cannot read.
    CorruptPayload,
    /// The codec library refused its configuration.
    Library(&'static str),
}

impl fmt::Display for CodecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CodecError::OutputTooSmall => f.write_str("output buffer too small for one frame"),
            CodecError::BadFrameSize(n) => write!(f, "{n} samples is not one codec frame"),
            CodecError::CorruptPayload => f.write_str("corrupt payload"),
            CodecError::Library(what) => write!(f, "codec library error: {what}"),
        }
    }
}

impl std::error::Error for CodecError {}

/// Turns PCM frames into payloads.
pub trait Encoder: Send + fmt::Debug {
    /// Which codec this is.
    fn codec(&self) -> Codec;
    /// Encodes one frame (`codec().frame_samples()` samples); returns the payload length.
    fn encode(&mut self, pcm: &[i16], out: &mut [u8]) -> Result<usize, CodecError>;
    /// The loss the far end reports for this stream (RTCP), in percent:
    /// an encoder with redundancy (Opus in-band FEC) sends it only while
    /// there is loss, sized to it. Others ignore it.
    fn set_loss_percent(&mut self, percent: u8) {
        let _ = percent;
    }
}

/// Turns payloads into PCM frames and conceals lost ones.
pub trait Decoder: Send + fmt::Debug {
    /// Which codec this is.
    fn codec(&self) -> Codec;
    /// Decodes one payload; returns the number of samples written.
    fn decode(&mut self, payload: &[u8], out: &mut [i16]) -> Result<usize, CodecError>;
    /// Fills `out` (one frame) for a frame that never arrived.
    fn conceal(&mut self, out: &mut [i16]) -> Result<usize, CodecError>;
    /// Rebuilds a lost frame from the redundancy in the packet after it
    /// (Opus in-band FEC); codecs without redundancy conceal.
    fn recover(&mut self, next_payload: &[u8], out: &mut [i16]) -> Result<usize, CodecError> {
        let _ = next_payload;
        self.conceal(out)
    }
}
