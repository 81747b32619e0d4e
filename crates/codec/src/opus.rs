//! Opus (RFC 6716, RTP payload RFC 7587) through libopus: 48 kHz mono, 20 ms
//! frames, VoIP application, in-band FEC while the far end reports loss, and
//! deep PLC for what FEC cannot rebuild. libopus is built from source by
//! `opusic-sys` (needs cmake) with its `dred` feature, which compiles in the
//! deep-PLC network, so no system library is required. Offline, 10 % loss in
//! bursts scores 0.09 PESQ higher with it (mean of 16 patterns, 2.59 → 2.68;
//! docs/performance.md); on a clean link decoding takes about 9 % more
//! instructions (callgrind), and each concealed frame about 1.3 M more.
//!
//! Encoding is most of a sending side's CPU (about 1.5 M instructions a frame
//! at complexity 8, callgrind), and digital silence costs SILK as much as
//! speech, so [`OpusEncoder`] resends its settled silence packet instead of
//! encoding zeros (see there). Complexity 8 is a choice of quality over
//! CPU; docs/performance.md has the cost and the PESQ of each complexity.

use crate::{Codec, CodecError, Decoder, Encoder, Settings};

mod libdec;

/// The decoder's complexity: 5 and above conceal lost frames with libopus's
/// deep PLC (a small neural network fed by the frames that arrived) instead of
/// the classic pitch repetition that fades out.
pub const DECODER_COMPLEXITY: u8 = 5;

fn dec_err(code: i32) -> CodecError {
    match code {
        opusic_sys::OPUS_INVALID_PACKET | opusic_sys::OPUS_BUFFER_TOO_SMALL => {
            CodecError::CorruptPayload
        }
        opusic_sys::OPUS_BAD_ARG => CodecError::Library("opus: bad argument"),
        opusic_sys::OPUS_ALLOC_FAIL => CodecError::Library("opus: out of memory"),
        _ => CodecError::Library("opus: decoder failed"),
    }
}

fn lib(e: opus::Error) -> CodecError {
    match e.code() {
        opus::ErrorCode::InvalidPacket | opus::ErrorCode::BufferTooSmall => {
            CodecError::CorruptPayload
        }
        other => CodecError::Library(other.description()),
    }
}

/// Tunes in-band FEC for `percent` loss. FEC costs a quarter of the encoding
/// time and bits that a clean link would rather spend on the voice: on only
/// while there is loss.
fn expect_loss(enc: &mut opus::Encoder, percent: u8) -> Result<(), opus::Error> {
    let percent = percent.min(100);
    enc.set_inband_fec(percent > 0)?;
    enc.set_packet_loss_perc(i32::from(percent))
}

/// Frames of digital silence libopus encodes before [`OpusEncoder`] starts
/// sending its last packet again (100 ms: SILK's gains, LPC and noise-shaping
/// state have settled on silence by then, at both ends).
pub const SILENCE_SETTLE_FRAMES: u32 = 5;

/// Opus encoder tuned for voice.
///
/// Digital silence (a muted microphone, a side with no microphone, a headless
/// agent that only listens) costs SILK as much to encode as speech: about
/// 1.5 M instructions a frame at complexity 8 (callgrind). After
/// [`SILENCE_SETTLE_FRAMES`] frames of zeros the encoder sends the last packet
/// libopus made for them again instead, and runs libopus again from the first
/// frame that is not silent. libopus's state is then the one it had after
/// that packet, which is also where the far end's decoder is: each repeat
/// decodes to silence from silence and leaves it there.
pub struct OpusEncoder {
    inner: opus::Encoder,
    /// The loss the encoder was last told (FEC changes the packets).
    loss_percent: u8,
    /// Consecutive all-zero frames libopus has encoded.
    zero_frames: u32,
    /// The packet for the last of them once settled; empty while not.
    silence: Vec<u8>,
}

impl std::fmt::Debug for OpusEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OpusEncoder")
    }
}

impl OpusEncoder {
    /// A mono VoIP encoder with FEC tuned for `settings.expected_loss_percent`.
    pub fn new(settings: &Settings) -> Result<OpusEncoder, CodecError> {
        let mut inner = opus::Encoder::new(48_000, opus::Channels::Mono, opus::Application::Voip)
            .map_err(lib)?;
        inner
            .set_complexity(i32::from(settings.opus_complexity.min(10)))
            .map_err(lib)?;
        inner
            .set_bitrate(opus::Bitrate::Bits(
                i32::try_from(settings.opus_bitrate).unwrap_or(32_000),
            ))
            .map_err(lib)?;
        // FEC from the first frame (the first RTCP report comes after about
        // five seconds); `set_loss_percent` then follows the far end's reports.
        expect_loss(&mut inner, settings.expected_loss_percent).map_err(lib)?;
        inner.set_signal(opus::Signal::Voice).map_err(lib)?;
        // Wideband voice (we ask peers for maxplaybackrate=16000): every bit
        // goes to 0–8 kHz, the encoder stays in SILK mode where in-band FEC
        // (LBRR) exists.
        let bandwidth = match settings.opus_max_playback_rate {
            0..=8_000 => opus::Bandwidth::Narrowband,
            8_001..=12_000 => opus::Bandwidth::Mediumband,
            _ => opus::Bandwidth::Wideband,
        };
        inner.set_max_bandwidth(bandwidth).map_err(lib)?;
        Ok(OpusEncoder {
            inner,
            loss_percent: settings.expected_loss_percent,
            zero_frames: 0,
            silence: Vec::new(),
        })
    }

    /// Forgets the silence packet: the next silent frames go through libopus.
    fn unsettle(&mut self) {
        self.zero_frames = 0;
        self.silence.clear();
    }
}

impl Encoder for OpusEncoder {
    fn codec(&self) -> Codec {
        Codec::Opus
    }

    fn set_loss_percent(&mut self, percent: u8) {
        if percent == self.loss_percent {
            return;
        }
        // Errors keep the previous setting.
        if expect_loss(&mut self.inner, percent).is_ok() {
            self.loss_percent = percent;
            // A silence packet made with the old FEC setting is not what
            // libopus would send now.
            self.unsettle();
        }
    }

    fn encode(&mut self, pcm: &[i16], out: &mut [u8]) -> Result<usize, CodecError> {
        if pcm.len() != Codec::Opus.frame_samples() {
            return Err(CodecError::BadFrameSize(pcm.len()));
        }
        if !pcm.iter().all(|&s| s == 0) {
            if self.zero_frames > 0 {
                self.unsettle();
            }
            return self.inner.encode(pcm, out).map_err(lib);
        }
        if !self.silence.is_empty() {
            let dst = out
                .get_mut(..self.silence.len())
                .ok_or(CodecError::OutputTooSmall)?;
            dst.copy_from_slice(&self.silence);
            return Ok(self.silence.len());
        }
        let n = self.inner.encode(pcm, out).map_err(lib)?;
        self.zero_frames += 1;
        if self.zero_frames >= SILENCE_SETTLE_FRAMES {
            self.silence
                .extend_from_slice(out.get(..n).unwrap_or_default());
        }
        Ok(n)
    }
}

/// Opus decoder with libopus concealment (deep PLC) and FEC recovery.
pub struct OpusDecoder {
    inner: libdec::LibDecoder,
}

impl std::fmt::Debug for OpusDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OpusDecoder")
    }
}

impl OpusDecoder {
    /// A mono decoder at 48 kHz with [`DECODER_COMPLEXITY`].
    pub fn new() -> Result<OpusDecoder, CodecError> {
        OpusDecoder::with_complexity(DECODER_COMPLEXITY)
    }

    /// A mono decoder at 48 kHz with the given complexity (0–10).
    pub fn with_complexity(complexity: u8) -> Result<OpusDecoder, CodecError> {
        let mut inner = libdec::LibDecoder::new().map_err(dec_err)?;
        inner
            .set_complexity(i32::from(complexity.min(10)))
            .map_err(dec_err)?;
        Ok(OpusDecoder { inner })
    }
}

impl Decoder for OpusDecoder {
    fn codec(&self) -> Codec {
        Codec::Opus
    }

    fn decode(&mut self, payload: &[u8], out: &mut [i16]) -> Result<usize, CodecError> {
        if payload.is_empty() {
            return Err(CodecError::CorruptPayload);
        }
        self.inner.decode(payload, out, false).map_err(dec_err)
    }

    fn conceal(&mut self, out: &mut [i16]) -> Result<usize, CodecError> {
        self.inner.decode(&[], out, false).map_err(dec_err)
    }

    fn recover(&mut self, next_payload: &[u8], out: &mut [i16]) -> Result<usize, CodecError> {
        if next_payload.is_empty() {
            return self.conceal(out);
        }
        self.inner.decode(next_payload, out, true).map_err(dec_err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_keeps_a_tone_and_conceals() {
        let mut enc = OpusEncoder::new(&Settings::default()).unwrap();
        let mut dec = OpusDecoder::new().unwrap();
        let frame = Codec::Opus.frame_samples();
        let mut pcm = vec![0i16; frame];
        let mut payload = [0u8; 1500];
        let mut out = vec![0i16; frame];
        let mut energy_in = 0f64;
        let mut energy_out = 0f64;
        for k in 0..50 {
            for (i, s) in pcm.iter_mut().enumerate() {
                let t = (k * frame + i) as f32 / 48_000.0;
                *s = ((t * 440.0 * 2.0 * std::f32::consts::PI).sin() * 10_000.0) as i16;
            }
            let n = enc.encode(&pcm, &mut payload).unwrap();
            assert!(n > 0 && n < 400, "payload {n} bytes");
            let m = dec.decode(&payload[..n], &mut out).unwrap();
            assert_eq!(m, frame);
            if k > 10 {
                energy_in += pcm.iter().map(|s| f64::from(*s).powi(2)).sum::<f64>();
                energy_out += out.iter().map(|s| f64::from(*s).powi(2)).sum::<f64>();
            }
        }
        let ratio = energy_out / energy_in;
        assert!((0.7..1.3).contains(&ratio), "energy ratio {ratio}");
        assert_eq!(dec.conceal(&mut out).unwrap(), frame);
        assert_eq!(
            dec.decode(&[0xff, 0xff, 0xff], &mut out),
            Err(CodecError::CorruptPayload)
        );
    }

    /// A voiced test sound at 48 kHz: 180 Hz with harmonics, slowly varying.
    fn voice(n: usize) -> i16 {
        let t = n as f32 / 48_000.0;
        let w = 2.0 * std::f32::consts::PI * 180.0 * t;
        let env = 0.6 + 0.4 * (2.0 * std::f32::consts::PI * 3.0 * t).sin();
        ((w.sin() * 6000.0 + (2.0 * w).sin() * 3000.0 + (3.0 * w).sin() * 1500.0) * env) as i16
    }

    /// Error of a lost frame rebuilt from the next packet, with the far end
    /// reporting `loss` percent to the encoder.
    fn rebuilt_error(loss: u8) -> f64 {
        let mut enc = OpusEncoder::new(&Settings::default()).unwrap();
        enc.set_loss_percent(loss);
        let mut dec = OpusDecoder::new().unwrap();
        let frame = Codec::Opus.frame_samples();
        let packets: Vec<Vec<u8>> = (0..40)
            .map(|k| {
                let pcm: Vec<i16> = (0..frame).map(|i| voice(k * frame + i)).collect();
                let mut p = vec![0u8; 1500];
                let n = enc.encode(&pcm, &mut p).unwrap();
                p.truncate(n);
                p
            })
            .collect();
        let mut out = vec![0i16; frame];
        let mut err = 0f64;
        for (k, p) in packets.iter().enumerate().take(39) {
            if k % 5 == 4 {
                dec.recover(&packets[k + 1], &mut out).unwrap();
                // The decoder's output lags its input by a few ms: compare
                // energy envelopes, not samples.
                let truth: f64 = (0..frame)
                    .map(|i| f64::from(voice(k * frame + i)).powi(2))
                    .sum();
                let got: f64 = out.iter().map(|s| f64::from(*s).powi(2)).sum();
                err += ((got.sqrt() - truth.sqrt()) / truth.sqrt()).abs();
            } else {
                dec.decode(p, &mut out).unwrap();
            }
        }
        err
    }

    /// Decodes `packets` with a fresh decoder into one signal.
    fn decode_all(packets: &[Vec<u8>]) -> Vec<i16> {
        let mut dec = OpusDecoder::new().unwrap();
        let frame = Codec::Opus.frame_samples();
        let mut out = vec![0i16; frame * packets.len()];
        for (p, o) in packets.iter().zip(out.chunks_exact_mut(frame)) {
            assert_eq!(dec.decode(p, o).unwrap(), frame);
        }
        out
    }

    #[test]
    fn silence_is_sent_again_without_encoding_and_speech_resumes_clean() {
        // One second of voice, two of digital silence (a muted microphone),
        // one of voice: once through the encoder as a call uses it, and once
        // with every frame through libopus (what the far end would hear if
        // the encoder never reused its silence packet).
        let frame = Codec::Opus.frame_samples();
        let (talk, quiet) = (50, 100);
        let input: Vec<Vec<i16>> = (0..2 * talk + quiet)
            .map(|k| {
                if (talk..talk + quiet).contains(&k) {
                    vec![0; frame]
                } else {
                    (0..frame).map(|i| voice(k * frame + i)).collect()
                }
            })
            .collect();
        let mut ours = OpusEncoder::new(&Settings::default()).unwrap();
        let mut full = OpusEncoder::new(&Settings::default()).unwrap();
        let mut sent = Vec::new();
        let mut reference = Vec::new();
        for pcm in &input {
            let mut p = vec![0u8; 1500];
            let n = ours.encode(pcm, &mut p).unwrap();
            p.truncate(n);
            sent.push(p);
            let mut q = vec![0u8; 1500];
            let n = full.inner.encode(pcm, &mut q).unwrap();
            q.truncate(n);
            reference.push(q);
        }
        // On the wire: once settled, the same packet over and over.
        let settled = talk + SILENCE_SETTLE_FRAMES as usize;
        let repeated = &sent[settled - 1];
        assert!(!repeated.is_empty());
        assert!(
            sent[settled..talk + quiet].iter().all(|p| p == repeated),
            "silence after settling is one packet repeated"
        );
        assert_ne!(sent[talk + quiet], *repeated, "speech is encoded again");

        let heard = decode_all(&sent);
        let truth = decode_all(&reference);
        // The far end hears silence while the microphone is silent.
        let quiet_peak = heard[(settled * frame)..((talk + quiet) * frame)]
            .iter()
            .map(|s| s.unsigned_abs())
            .max()
            .unwrap();
        assert!(
            quiet_peak <= 64,
            "silence decodes to a peak of {quiet_peak}"
        );
        // When the voice comes back it is what libopus alone would have made:
        // no click at the join, no jump in level.
        let back = (talk + quiet) * frame;
        let energy = |x: &[i16]| x.iter().map(|s| f64::from(*s).powi(2)).sum::<f64>();
        // Closeness to the voice itself (at the decoder's delay), against
        // libopus alone: two encoders need not make the same bits.
        let said: Vec<i16> = input.concat();
        let snr = |x: &[i16]| {
            (0..frame)
                .map(|lag| {
                    let n = x.len() - back - frame;
                    let (mut sig, mut err) = (0f64, 0f64);
                    for i in back..back + n {
                        let (a, b) = (f64::from(said[i]), f64::from(x[i + lag]));
                        sig += a * a;
                        err += (a - b) * (a - b);
                    }
                    10.0 * (sig / err.max(1.0)).log10()
                })
                .fold(f64::MIN, f64::max)
        };
        let (snr_heard, snr_truth) = (snr(&heard), snr(&truth));
        let onset = back..back + 3 * frame;
        let level = energy(&heard[onset.clone()]) / energy(&truth[onset.clone()]);
        let jump = |x: &[i16]| {
            x.windows(2)
                .map(|w| (i32::from(w[1]) - i32::from(w[0])).abs())
                .max()
                .unwrap()
        };
        let (j_heard, j_truth) = (jump(&heard[onset.clone()]), jump(&truth[onset]));
        eprintln!(
            "snr {snr_heard:.1} / {snr_truth:.1} dB, onset level {level:.3}, jumps {j_heard} / {j_truth}, quiet peak {quiet_peak}"
        );
        assert!(
            snr_heard >= snr_truth - 1.0,
            "resumed voice at {snr_heard:.1} dB SNR, libopus alone {snr_truth:.1} dB"
        );
        assert!((0.8..1.25).contains(&level), "onset level ×{level:.2}");
        assert!(
            j_heard <= j_truth + j_truth / 5,
            "step at the onset {j_heard}, libopus alone {j_truth}"
        );
    }

    #[test]
    fn fec_follows_the_reported_loss() {
        // With loss reported, a lost frame comes back from the next packet's
        // redundancy; on a clean link there is none and it is concealed, which
        // fades the voice.
        let (clean, lossy) = (rebuilt_error(0), rebuilt_error(10));
        assert!(
            lossy < clean * 0.75,
            "with FEC {lossy:.3}, without {clean:.3}"
        );
    }

    /// Speech (a practice caller, 8 kHz) at 48 kHz in 20 ms frames.
    fn speech() -> Vec<Vec<i16>> {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../assets/practice/ana.wav");
        let mut r = hound::WavReader::open(path).unwrap();
        let narrow: Vec<i16> = r.samples::<i16>().map(|s| s.unwrap()).collect();
        let mut up = crate::resample::FrameResampler::new(8_000, 48_000).unwrap();
        narrow
            .chunks_exact(160)
            .map(|f| {
                let mut wide = vec![0i16; 960];
                up.process(f, &mut wide).unwrap();
                wide
            })
            .collect()
    }

    /// The level a decoder of `complexity` keeps in the last frame of
    /// four-frame bursts (80 ms into the loss), summed where the lost speech
    /// was voiced, and the lost speech's own.
    fn level_late_in_a_burst(complexity: u8) -> (f64, f64) {
        let mut enc = OpusEncoder::new(&Settings::default()).unwrap();
        let mut dec = OpusDecoder::with_complexity(complexity).unwrap();
        let mut out = vec![0i16; Codec::Opus.frame_samples()];
        let energy = |f: &[i16]| f.iter().map(|s| f64::from(*s).powi(2)).sum::<f64>().sqrt();
        let (mut kept, mut lost) = (0f64, 0f64);
        for (k, pcm) in speech().iter().enumerate() {
            let mut p = vec![0u8; 1500];
            let n = enc.encode(pcm, &mut p).unwrap();
            if k % 15 >= 11 {
                dec.conceal(&mut out).unwrap();
                if k % 15 == 14 && energy(pcm) > 5_000.0 {
                    kept += energy(&out);
                    lost += energy(pcm);
                }
            } else {
                dec.decode(&p[..n], &mut out).unwrap();
            }
        }
        (kept, lost)
    }

    #[test]
    fn deep_plc_carries_the_voice_through_a_burst() {
        // Classic concealment repeats the last pitch period and has faded it
        // to about a tenth by the fourth lost frame; deep PLC (decoder
        // complexity 5) goes on speaking, at about a quarter. Without deep PLC
        // built in, both are the same.
        let (classic, lost) = level_late_in_a_burst(0);
        let (deep, _) = level_late_in_a_burst(DECODER_COMPLEXITY);
        assert!(
            deep > classic * 1.6 && deep < lost,
            "80 ms into a burst: deep PLC {deep:.0}, classic {classic:.0}, lost speech {lost:.0}"
        );
    }
}
