//! G.722 (ITU-T G.722, 64 kbit/s mode): 16 kHz wideband audio as two
//! sub-bands split by a 24-tap QMF, the lower band coded with 6-bit and the
//! upper band with 2-bit adaptive differential PCM.
//!
//! Written from the block diagram of the Recommendation; the block names in
//! comments (QUANTL, INVQAL, LOGSCL, SCALEL, UPPOL1/2, UPZERO, FILTEP/Z …)
//! are the Recommendation's. RTP (RFC 3551): payload type 9, and an RTP clock
//! of 8000 Hz although the audio is sampled at 16 kHz.
//!
//! Concealment of a lost frame is the pitch repetition of [`crate::g711::Plc`]
//! running at 16 kHz. The ADPCM state then follows the concealed sound: it is
//! re-encoded from the decoder's own state and the codes decoded, so after a
//! loss the next real frame meets predictors and scale factors that moved on
//! in step, not ones left where the last real frame put them.

// The arithmetic indexes fixed-size state arrays with loop counters bounded by
// those same sizes (and tables through `at`, which cannot go out of range).
#![allow(clippy::indexing_slicing)]

use crate::{Codec, CodecError, Decoder, Encoder};

/// QMF coefficients (half of the symmetric 24-tap filter).
const QMF: [i32; 12] = [3, -11, 12, 32, -210, 951, 3876, -805, 362, -156, 53, -11];
/// Lower-band quantiser decision levels (QUANTL).
const Q6: [i32; 32] = [
    0, 35, 72, 110, 150, 190, 233, 276, 323, 370, 422, 473, 530, 587, 650, 714, 786, 858, 940,
    1023, 1121, 1219, 1339, 1458, 1612, 1765, 1980, 2195, 2557, 2919, 0, 0,
];
/// 6-bit codes for negative (ILN) and positive (ILP) lower-band differences.
const ILN: [i32; 32] = [
    0, 63, 62, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11,
    10, 9, 8, 7, 6, 5, 4, 0,
];
const ILP: [i32; 32] = [
    0, 61, 60, 59, 58, 57, 56, 55, 54, 53, 52, 51, 50, 49, 48, 47, 46, 45, 44, 43, 42, 41, 40, 39,
    38, 37, 36, 35, 34, 33, 32, 0,
];
/// Lower-band log-scale factor multipliers (LOGSCL) and the 4-bit code map.
const WL: [i32; 8] = [-60, -30, 58, 172, 334, 538, 1198, 3042];
const RL42: [i32; 16] = [0, 7, 6, 5, 4, 3, 2, 1, 7, 6, 5, 4, 3, 2, 1, 0];
/// Inverse log table (SCALEL/SCALEH): 2048·2^(i/32).
const ILB: [i32; 32] = [
    2048, 2093, 2139, 2186, 2233, 2282, 2332, 2383, 2435, 2489, 2543, 2599, 2656, 2714, 2774, 2834,
    2896, 2960, 3025, 3091, 3158, 3228, 3298, 3371, 3444, 3520, 3597, 3676, 3756, 3838, 3922, 4008,
];
/// 4-bit lower-band inverse quantiser (INVQAL, used for prediction).
const QM4: [i32; 16] = [
    0, -20456, -12896, -8968, -6288, -4240, -2584, -1200, 20456, 12896, 8968, 6288, 4240, 2584,
    1200, 0,
];
/// 6-bit lower-band inverse quantiser (INVQBL, used for output at 64 kbit/s).
const QM6: [i32; 64] = [
    -136, -136, -136, -136, -24808, -21904, -19008, -16704, -14984, -13512, -12280, -11192, -10232,
    -9360, -8576, -7856, -7192, -6576, -6000, -5456, -4944, -4464, -4008, -3576, -3168, -2776,
    -2400, -2032, -1688, -1360, -1040, -728, 24808, 21904, 19008, 16704, 14984, 13512, 12280,
    11192, 10232, 9360, 8576, 7856, 7192, 6576, 6000, 5456, 4944, 4464, 4008, 3576, 3168, 2776,
    2400, 2032, 1688, 1360, 1040, 728, 432, 136, -432, -136,
];
/// Upper band: 2-bit inverse quantiser, codes, log-scale multipliers.
const QM2: [i32; 4] = [-7408, -1616, 7408, 1616];
const IHN: [i32; 3] = [0, 1, 0];
const IHP: [i32; 3] = [0, 3, 2];
const WH: [i32; 3] = [0, -214, 798];
const RH2: [i32; 4] = [2, 1, 2, 1];

fn sat(v: i32) -> i32 {
    v.clamp(i32::from(i16::MIN), i32::from(i16::MAX))
}

fn at<const N: usize>(t: &[i32; N], i: i32) -> i32 {
    usize::try_from(i)
        .ok()
        .and_then(|i| t.get(i))
        .copied()
        .unwrap_or(0)
}

/// The adaptive predictor and scale factor of one sub-band.
#[derive(Debug, Clone, Default)]
struct Band {
    s: i32,
    sp: i32,
    sz: i32,
    r: [i32; 3],
    a: [i32; 3],
    ap: [i32; 3],
    p: [i32; 3],
    d: [i32; 7],
    b: [i32; 7],
    bp: [i32; 7],
    sg: [i32; 7],
    nb: i32,
    det: i32,
}

impl Band {
    fn new(det: i32) -> Band {
        Band {
            det,
            ..Band::default()
        }
    }

    /// Log-scale factor adaptation and scaling (LOGSCL/SCALEL or LOGSCH/SCALEH).
    fn adapt_scale(&mut self, w: i32, limit: i32, shift: i32) {
        let nb = ((self.nb * 127) >> 7) + w;
        self.nb = nb.clamp(0, limit);
        let wd1 = (self.nb >> 6) & 31;
        let wd2 = shift - (self.nb >> 11);
        let wd3 = if wd2 < 0 {
            at(&ILB, wd1) << -wd2
        } else {
            at(&ILB, wd1) >> wd2
        };
        self.det = wd3 << 2;
    }

    /// Block 4: reconstruction, pole and zero predictor adaptation, prediction.
    fn predict(&mut self, d: i32) {
        // RECONS, PARREC
        self.d[0] = d;
        self.r[0] = sat(self.s + d);
        self.p[0] = sat(self.sz + d);
        // UPPOL2
        for i in 0..3 {
            self.sg[i] = self.p[i] >> 15;
        }
        let wd1 = sat(self.a[1] << 2);
        let wd2 = if self.sg[0] == self.sg[1] { -wd1 } else { wd1 }.min(32767);
        let mut wd3 = if self.sg[0] == self.sg[2] { 128 } else { -128 };
        wd3 += wd2 >> 7;
        wd3 += (self.a[2] * 32512) >> 15;
        self.ap[2] = wd3.clamp(-12288, 12288);
        // UPPOL1
        self.sg[0] = self.p[0] >> 15;
        self.sg[1] = self.p[1] >> 15;
        let wd1 = if self.sg[0] == self.sg[1] { 192 } else { -192 };
        let wd2 = (self.a[1] * 32640) >> 15;
        let lim = sat(15360 - self.ap[2]);
        self.ap[1] = sat(wd1 + wd2).clamp(-lim, lim);
        // UPZERO
        let step = if d == 0 { 0 } else { 128 };
        self.sg[0] = d >> 15;
        for i in 1..7 {
            self.sg[i] = self.d[i] >> 15;
            let wd2 = if self.sg[i] == self.sg[0] {
                step
            } else {
                -step
            };
            let wd3 = (self.b[i] * 32640) >> 15;
            self.bp[i] = sat(wd2 + wd3);
        }
        // DELAYA
        for i in (1..7).rev() {
            self.d[i] = self.d[i - 1];
            self.b[i] = self.bp[i];
        }
        for i in (1..3).rev() {
            self.r[i] = self.r[i - 1];
            self.p[i] = self.p[i - 1];
            self.a[i] = self.ap[i];
        }
        // FILTEP
        let wd1 = (self.a[1] * sat(self.r[1] + self.r[1])) >> 15;
        let wd2 = (self.a[2] * sat(self.r[2] + self.r[2])) >> 15;
        self.sp = sat(wd1 + wd2);
        // FILTEZ
        let mut sz = 0;
        for i in (1..7).rev() {
            sz += (self.b[i] * sat(self.d[i] + self.d[i])) >> 15;
        }
        self.sz = sat(sz);
        // PREDIC
        self.s = sat(self.sp + self.sz);
    }
}

/// G.722 encoder at 64 kbit/s.
#[derive(Debug)]
pub struct G722Encoder {
    x: [i32; 24],
    low: Band,
    high: Band,
}

impl Default for G722Encoder {
    fn default() -> Self {
        Self::new()
    }
}

impl G722Encoder {
    /// A fresh encoder.
    pub fn new() -> G722Encoder {
        G722Encoder {
            x: [0; 24],
            low: Band::new(32),
            high: Band::new(8),
        }
    }

    /// Encodes two 16 kHz samples into one byte.
    fn encode_pair(&mut self, s0: i16, s1: i16) -> u8 {
        // Transmit QMF: keep 24 samples, compute the two sub-band samples.
        self.x.copy_within(2.., 0);
        self.x[22] = i32::from(s0);
        self.x[23] = i32::from(s1);
        let (mut odd, mut even) = (0i32, 0i32);
        for i in 0..12 {
            odd += self.x[2 * i] * QMF[i];
            even += self.x[2 * i + 1] * QMF[11 - i];
        }
        let xlow = (even + odd) >> 14;
        let xhigh = (even - odd) >> 14;

        // Lower band: SUBTRA, QUANTL
        let el = sat(xlow - self.low.s);
        let mag = if el >= 0 { el } else { -(el + 1) };
        let mut i = 1;
        while i < 30 && mag >= (Q6[i] * self.low.det) >> 12 {
            i += 1;
        }
        let ilow = if el < 0 { ILN[i] } else { ILP[i] };
        // INVQAL, LOGSCL, SCALEL, block 4
        let ril = ilow >> 2;
        let dlow = (self.low.det * at(&QM4, ril)) >> 15;
        self.low.adapt_scale(at(&WL, at(&RL42, ril)), 18432, 8);
        self.low.predict(dlow);

        // Upper band: SUBTRA, QUANTH
        let eh = sat(xhigh - self.high.s);
        let mag = if eh >= 0 { eh } else { -(eh + 1) };
        let mih = if mag >= (564 * self.high.det) >> 12 {
            2
        } else {
            1
        };
        let ihigh = if eh < 0 { IHN[mih] } else { IHP[mih] };
        // INVQAH, LOGSCH, SCALEH, block 4
        let dhigh = (self.high.det * at(&QM2, ihigh)) >> 15;
        self.high.adapt_scale(at(&WH, at(&RH2, ihigh)), 22528, 10);
        self.high.predict(dhigh);

        ((ihigh << 6) | ilow) as u8
    }
}

impl Encoder for G722Encoder {
    fn codec(&self) -> Codec {
        Codec::G722
    }

    fn encode(&mut self, pcm: &[i16], out: &mut [u8]) -> Result<usize, CodecError> {
        if !pcm.len().is_multiple_of(2) {
            return Err(CodecError::BadFrameSize(pcm.len()));
        }
        let n = pcm.len() / 2;
        if out.len() < n {
            return Err(CodecError::OutputTooSmall);
        }
        for (o, pair) in out.iter_mut().zip(pcm.chunks_exact(2)) {
            *o = self.encode_pair(pair[0], pair[1]);
        }
        Ok(n)
    }
}

/// G.722 decoder at 64 kbit/s.
#[derive(Debug)]
pub struct G722Decoder {
    x: [i32; 24],
    low: Band,
    high: Band,
    plc: crate::g711::Plc,
    /// The last 24 samples played, as an encoder's transmit QMF would hold
    /// them: the start of a re-encoding after a loss.
    played: [i32; 24],
}

impl Default for G722Decoder {
    fn default() -> Self {
        Self::new()
    }
}

impl G722Decoder {
    /// A fresh decoder.
    pub fn new() -> G722Decoder {
        G722Decoder {
            x: [0; 24],
            low: Band::new(32),
            high: Band::new(8),
            plc: crate::g711::Plc::with_rate(16_000),
            played: [0; 24],
        }
    }

    fn remember_played(&mut self, frame: &[i16]) {
        let n = frame.len().min(24);
        self.played.copy_within(n.., 0);
        for (d, s) in self.played[24 - n..]
            .iter_mut()
            .zip(&frame[frame.len() - n..])
        {
            *d = i32::from(*s);
        }
    }

    fn decode_byte(&mut self, code: u8) -> (i16, i16) {
        let code = i32::from(code);
        let ilow = code & 0x3f;
        let ihigh = (code >> 6) & 0x03;
        // Lower band: INVQBL (6-bit, output), RECONS, LIMIT
        let rlow = (self.low.s + ((self.low.det * at(&QM6, ilow)) >> 15)).clamp(-16384, 16383);
        // INVQAL (4-bit, prediction), LOGSCL, SCALEL, block 4
        let ril = ilow >> 2;
        let dlow = (self.low.det * at(&QM4, ril)) >> 15;
        self.low.adapt_scale(at(&WL, at(&RL42, ril)), 18432, 8);
        self.low.predict(dlow);
        // Upper band: INVQAH, RECONS, LIMIT, LOGSCH, SCALEH, block 4
        let dhigh = (self.high.det * at(&QM2, ihigh)) >> 15;
        let rhigh = (dhigh + self.high.s).clamp(-16384, 16383);
        self.high.adapt_scale(at(&WH, at(&RH2, ihigh)), 22528, 10);
        self.high.predict(dhigh);
        // Receive QMF
        self.x.copy_within(2.., 0);
        self.x[22] = rlow + rhigh;
        self.x[23] = rlow - rhigh;
        let (mut out1, mut out2) = (0i32, 0i32);
        for i in 0..12 {
            out2 += self.x[2 * i] * QMF[i];
            out1 += self.x[2 * i + 1] * QMF[11 - i];
        }
        (sat(out1 >> 11) as i16, sat(out2 >> 11) as i16)
    }
}

impl Decoder for G722Decoder {
    fn codec(&self) -> Codec {
        Codec::G722
    }

    fn decode(&mut self, payload: &[u8], out: &mut [i16]) -> Result<usize, CodecError> {
        let n = payload.len() * 2;
        if out.len() < n {
            return Err(CodecError::OutputTooSmall);
        }
        for (pair, c) in out.chunks_exact_mut(2).zip(payload) {
            let (a, b) = self.decode_byte(*c);
            pair[0] = a;
            pair[1] = b;
        }
        if let Some(frame) = out.get_mut(..n) {
            self.plc.good_frame(frame);
            self.remember_played(frame);
        }
        Ok(n)
    }

    fn conceal(&mut self, out: &mut [i16]) -> Result<usize, CodecError> {
        // Pitch repetition on the 16 kHz output, as for G.711. Then the
        // concealed sound is encoded by an encoder that starts from this
        // decoder's ADPCM state, and its codes are decoded (output unused):
        // the predictors, scale factors and QMF move on with the sound the
        // listener heard, as the far encoder's moved on with the lost one, so
        // the next real frame is not decoded from a state 20 ms stale.
        self.plc.conceal(out);
        let mut shadow = G722Encoder {
            x: self.played,
            low: self.low.clone(),
            high: self.high.clone(),
        };
        for pair in out.chunks_exact(2) {
            let code = shadow.encode_pair(pair[0], pair[1]);
            let _ = self.decode_byte(code);
        }
        self.remember_played(out);
        Ok(out.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(freq: f64, n: usize, amp: f64) -> Vec<i16> {
        (0..n)
            .map(|i| ((i as f64 / 16_000.0 * 2.0 * std::f64::consts::PI * freq).sin() * amp) as i16)
            .collect()
    }

    /// Signal-to-noise ratio of `got` against `sent` at the best small delay.
    fn snr(sent: &[i16], got: &[i16]) -> (f64, usize) {
        let mut best = (f64::MIN, 0);
        for lag in 0..64 {
            let (mut sig, mut err) = (0f64, 0f64);
            for i in 2000..sent.len() - 64 {
                let x = f64::from(sent[i]);
                let y = f64::from(got[i + lag]);
                sig += x * x;
                err += (x - y) * (x - y);
            }
            let v = 10.0 * (sig / err.max(1.0)).log10();
            if v > best.0 {
                best = (v, lag);
            }
        }
        best
    }

    fn round_trip(input: &[i16]) -> Vec<i16> {
        let mut enc = G722Encoder::new();
        let mut dec = G722Decoder::new();
        let mut out = Vec::new();
        let mut payload = [0u8; 160];
        let mut frame = [0i16; 320];
        for f in input.chunks_exact(320) {
            let n = enc.encode(f, &mut payload).unwrap();
            assert_eq!(n, 160, "64 kbit/s: one byte per two samples");
            dec.decode(&payload, &mut frame).unwrap();
            out.extend_from_slice(&frame);
        }
        out
    }

    #[test]
    fn tones_in_both_sub_bands_survive_coding() {
        for freq in [300.0, 1000.0, 3000.0, 6000.0] {
            let input = tone(freq, 16_000, 8000.0);
            let out = round_trip(&input);
            let (snr, _) = snr(&input, &out);
            assert!(snr > 20.0, "{freq} Hz: SNR {snr:.1} dB");
        }
    }

    #[test]
    fn a_sweep_comes_out_22_samples_later() {
        // A chirp is unambiguous in time: the two QMFs delay by 22 samples in all.
        let input: Vec<i16> = (0..16_000)
            .map(|i| {
                let t = i as f64 / 16_000.0;
                ((2.0 * std::f64::consts::PI * (200.0 * t + 1500.0 * t * t)).sin() * 6000.0) as i16
            })
            .collect();
        let out = round_trip(&input);
        let (snr, lag) = snr(&input, &out);
        assert_eq!(lag, 22);
        assert!(snr > 15.0, "SNR {snr:.1} dB");
    }

    #[test]
    fn silence_stays_silent_and_concealment_fades() {
        let out = round_trip(&vec![0i16; 3200]);
        assert!(out.iter().all(|s| s.abs() < 16), "idle noise");
        let mut dec = G722Decoder::new();
        let mut enc = G722Encoder::new();
        let mut p = [0u8; 160];
        let mut f = [0i16; 320];
        enc.encode(&tone(500.0, 320, 8000.0), &mut p).unwrap();
        dec.decode(&p, &mut f).unwrap();
        for _ in 0..9 {
            dec.conceal(&mut f).unwrap();
        }
        assert!(f.iter().all(|s| *s == 0), "silent from 160 ms of loss");
    }
}
