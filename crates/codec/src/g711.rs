//! G.711 µ-law and A-law (ITU-T G.711), bit-exact with the ITU-T G.191
//! reference for all 65,536 linear inputs, and packet-loss concealment by
//! pitch-period repetition in the manner of G.711 Appendix I.

use crate::{Codec, CodecError, Decoder, Encoder};

/// Encodes one 16-bit linear sample to an A-law code.
pub fn linear_to_alaw(sample: i16) -> u8 {
    // 13-bit magnitude with one's complement for negatives, as the reference does.
    let mut ix: i32 = if sample < 0 {
        i32::from(!sample) >> 4
    } else {
        i32::from(sample) >> 4
    };
    if ix > 15 {
        let mut exp = 1;
        while ix > 16 + 15 {
            ix >>= 1;
            exp += 1;
        }
        ix -= 16;
        ix += exp << 4;
    }
    if sample >= 0 {
        ix |= 0x80;
    }
    // The low 8 bits are the code; the XOR inverts the even bits (G.711 §3).
    (ix ^ 0x55) as u8
}

/// Decodes an A-law code to a 16-bit linear sample.
pub fn alaw_to_linear(code: u8) -> i16 {
    let ix = i32::from(code ^ 0x55) & 0x7f;
    let exp = ix >> 4;
    let mut mant = ix & 0x0f;
    if exp > 0 {
        mant += 16;
    }
    mant = (mant << 4) + 8;
    if exp > 1 {
        mant <<= exp - 1;
    }
    let v = if code > 127 { mant } else { -mant };
    v as i16
}

/// Encodes one 16-bit linear sample to a µ-law code.
pub fn linear_to_ulaw(sample: i16) -> u8 {
    // 14-bit magnitude (one's complement for negatives) plus the bias of 33.
    let mag: i32 = if sample < 0 {
        i32::from(!sample) >> 2
    } else {
        i32::from(sample) >> 2
    };
    let abs = (mag + 33).min(0x1fff);
    let mut i = abs >> 6;
    let mut seg = 1;
    while i != 0 {
        seg += 1;
        i >>= 1;
    }
    let high = 8 - seg;
    let low = 0x0f - ((abs >> seg) & 0x0f);
    let mut out = (high << 4) | low;
    if sample >= 0 {
        out |= 0x80;
    }
    out as u8
}

/// Decodes a µ-law code to a 16-bit linear sample.
pub fn ulaw_to_linear(code: u8) -> i16 {
    let sign: i32 = if code < 0x80 { -1 } else { 1 };
    let m = i32::from(!code);
    let exp = (m >> 4) & 0x07;
    let seg = exp + 1;
    let mant = m & 0x0f;
    let step = 4 << seg;
    (sign * ((0x80 << exp) + step * mant + step / 2 - 4 * 33)) as i16
}

/// Which G.711 law.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Law {
    /// µ-law (PCMU, North America and Japan).
    Mu,
    /// A-law (PCMA, Europe and most of the world).
    A,
}

/// G.711 encoder for one law.
#[derive(Debug)]
pub struct G711Encoder {
    law: Law,
}

impl G711Encoder {
    /// A new encoder.
    pub fn new(law: Law) -> G711Encoder {
        G711Encoder { law }
    }
}

impl Encoder for G711Encoder {
    fn codec(&self) -> Codec {
        match self.law {
            Law::Mu => Codec::Pcmu,
            Law::A => Codec::Pcma,
        }
    }

    fn encode(&mut self, pcm: &[i16], out: &mut [u8]) -> Result<usize, CodecError> {
        if out.len() < pcm.len() {
            return Err(CodecError::OutputTooSmall);
        }
        let f = match self.law {
            Law::Mu => linear_to_ulaw,
            Law::A => linear_to_alaw,
        };
        for (o, s) in out.iter_mut().zip(pcm) {
            *o = f(*s);
        }
        Ok(pcm.len())
    }
}

/// G.711 decoder with concealment.
#[derive(Debug)]
pub struct G711Decoder {
    law: Law,
    plc: Plc,
}

impl G711Decoder {
    /// A new decoder.
    pub fn new(law: Law) -> G711Decoder {
        G711Decoder {
            law,
            plc: Plc::new(),
        }
    }
}

impl Decoder for G711Decoder {
    fn codec(&self) -> Codec {
        match self.law {
            Law::Mu => Codec::Pcmu,
            Law::A => Codec::Pcma,
        }
    }

    fn decode(&mut self, payload: &[u8], out: &mut [i16]) -> Result<usize, CodecError> {
        if out.len() < payload.len() {
            return Err(CodecError::OutputTooSmall);
        }
        let f = match self.law {
            Law::Mu => ulaw_to_linear,
            Law::A => alaw_to_linear,
        };
        let n = payload.len();
        for (o, c) in out.iter_mut().zip(payload) {
            *o = f(*c);
        }
        if let Some(frame) = out.get_mut(..n) {
            self.plc.good_frame(frame);
        }
        Ok(n)
    }

    fn conceal(&mut self, out: &mut [i16]) -> Result<usize, CodecError> {
        self.plc.conceal(out);
        Ok(out.len())
    }

    fn recover(&mut self, next_payload: &[u8], out: &mut [i16]) -> Result<usize, CodecError> {
        let f = match self.law {
            Law::Mu => ulaw_to_linear,
            Law::A => alaw_to_linear,
        };
        let mut next = [0i16; 960];
        let n = next_payload.len().min(next.len());
        for (o, c) in next.iter_mut().zip(next_payload) {
            *o = f(*c);
        }
        self.plc.interpolate(next.get(..n).unwrap_or(&[]), out);
        Ok(out.len())
    }
}

/// History kept for concealment: 48.75 ms at 8 kHz (enough for three periods
/// of the lowest pitch searched).
const HIST: usize = 390;
/// Pitch search range at 8 kHz: 66–400 Hz.
const PITCH_MIN: usize = 20;
const PITCH_MAX: usize = 120;
/// Correlation window for the pitch search (20 ms).
const CORR_LEN: usize = 160;
/// Cross-fade length when speech resumes after a loss (4 ms).
const RESUME_OLA: usize = 32;
/// Samples of loss before attenuation starts (10 ms) and until silence (60 ms).
const FADE_START: usize = 80;
const MUTE_AT: usize = 480;

/// Pitch-period repetition concealment for narrowband PCM (8 kHz).
///
/// On the first lost frame it finds the pitch period of the last 20 ms by
/// normalised autocorrelation, then repeats the last period (one period for the
/// first 10 ms, then cycling through up to three to avoid a metallic buzz),
/// cross-fading at the joins; after 10 ms the output fades linearly and is
/// silent from 60 ms. When speech resumes, the first 4 ms of the new frame are
/// cross-faded with the continued synthetic signal. Everything lives in fixed
/// arrays: nothing is allocated after construction.
#[derive(Debug)]
pub struct Plc {
    hist: [i16; HIST * 2],
    /// Samples per 8 kHz sample: 1 at 8 kHz, 2 at 16 kHz.
    k: usize,
    /// Consecutive concealed samples (0: the last frame was good).
    lost: usize,
    pitch: usize,
    /// Position inside the repeated segment.
    pos: usize,
    /// How many periods the repeated segment holds (1..=3).
    periods: usize,
}

impl Default for Plc {
    fn default() -> Self {
        Self::new()
    }
}

impl Plc {
    /// Empty history (silence), for 8 kHz audio.
    pub fn new() -> Plc {
        Plc::with_rate(8000)
    }

    /// Empty history for 8 kHz or 16 kHz audio (other rates are treated as 16 kHz).
    pub fn with_rate(rate: u32) -> Plc {
        let k = if rate <= 8000 { 1 } else { 2 };
        Plc {
            k,
            hist: [0; HIST * 2],
            lost: 0,
            pitch: PITCH_MIN * k,
            pos: 0,
            periods: 1,
        }
    }

    /// Records a decoded frame (smoothing the join if it follows a loss).
    pub fn good_frame(&mut self, frame: &mut [i16]) {
        if self.lost > 0 {
            // 4 ms (longer fades measured worse with PESQ on speech).
            let ola = RESUME_OLA * self.k;
            let n = ola.min(frame.len());
            for i in 0..n {
                let synth = f32::from(self.next_synthetic());
                let w = (i as f32 + 0.5) / n as f32;
                if let Some(s) = frame.get_mut(i) {
                    *s = (synth * (1.0 - w) + f32::from(*s) * w) as i16;
                }
            }
            self.lost = 0;
        }
        self.push_history(frame);
    }

    /// Fills `out` for one lost frame when the frame after it is known: the
    /// past is extended forward by pitch repetition, the next frame backward
    /// (its first pitch period repeated), and the two are cross-faded across
    /// the gap, so both joins are smooth. After a longer loss, or without the
    /// next frame, this is plain [`Plc::conceal`].
    pub fn interpolate(&mut self, next: &[i16], out: &mut [i16]) {
        if self.lost > 0 || next.len() < (PITCH_MAX * self.k) || out.is_empty() {
            self.conceal(out);
            return;
        }
        self.pitch = self.find_pitch();
        self.periods = 1;
        self.pos = 0;
        let p = self.pitch;
        let len = out.len();
        for (i, o) in out.iter_mut().enumerate() {
            let fwd = f32::from(self.next_synthetic());
            // The gap ends where `next` starts: sample i lies (len - i) before it.
            let back_idx = (i as isize - len as isize).rem_euclid(p as isize) as usize;
            let bwd = f32::from(next.get(back_idx).copied().unwrap_or(0));
            let w = (i as f32 + 0.5) / len as f32;
            *o = (fwd * (1.0 - w) + bwd * w) as i16;
        }
        // The rebuilt frame joins both neighbours: treat it as received.
        self.lost = 0;
        self.push_history(out);
    }

    /// Fills `out` with concealment for lost samples.
    pub fn conceal(&mut self, out: &mut [i16]) {
        if self.lost == 0 {
            self.pitch = self.find_pitch();
            self.periods = 1;
            self.pos = 0;
        }
        for o in out.iter_mut() {
            if self.lost == (FADE_START * self.k) {
                // After 10 ms repeat more history so the sound is less tonal.
                self.periods = 3.min((HIST * self.k) / self.pitch);
            }
            let s = f32::from(self.next_synthetic());
            let gain = if self.lost < (FADE_START * self.k) {
                1.0
            } else if self.lost >= (MUTE_AT * self.k) {
                0.0
            } else {
                1.0 - (self.lost - (FADE_START * self.k)) as f32
                    / ((MUTE_AT * self.k) - (FADE_START * self.k)) as f32
            };
            *o = (s * gain) as i16;
            self.lost += 1;
        }
        // The repeated segment stays what it was when the loss began (synthetic
        // output is never pushed into history); after a long loss the old voice
        // is forgotten so a resumed frame does not fade in from it.
        if self.lost >= (MUTE_AT * self.k) {
            self.hist = [0; HIST * 2];
        }
    }

    /// The next sample of the repeated segment (the last `pitch * periods` samples
    /// of history at the time the loss began), with a short cross-fade at the wrap.
    fn next_synthetic(&mut self) -> i16 {
        let seg = self.pitch * self.periods;
        let start = (HIST * self.k) - seg;
        let idx = start + self.pos % seg;
        let mut v = f32::from(self.hist.get(idx).copied().unwrap_or(0));
        // Overlap-add over a quarter period at the wrap point.
        let ola = (self.pitch / 4).max(1);
        let p = self.pos % seg;
        if self.pos >= seg && p < ola {
            let prev_idx = (HIST * self.k) - ola + p;
            let prev = f32::from(self.hist.get(prev_idx).copied().unwrap_or(0));
            let w = (p as f32 + 0.5) / ola as f32;
            v = prev * (1.0 - w) + v * w;
        }
        self.pos += 1;
        v as i16
    }

    fn push_history(&mut self, frame: &[i16]) {
        let hl = HIST * self.k;
        let n = frame.len().min(hl);
        if let Some(h) = self.hist.get_mut(..hl) {
            h.copy_within(n.., 0);
            if let (Some(dst), Some(src)) = (h.get_mut(hl - n..), frame.get(frame.len() - n..)) {
                dst.copy_from_slice(src);
            }
        }
    }

    /// Pitch period (in samples) maximising the normalised autocorrelation of
    /// the last 20 ms against the signal one period earlier.
    fn find_pitch(&self) -> usize {
        let end = HIST * self.k;
        let Some(target) = self.hist.get(end - (CORR_LEN * self.k)..end) else {
            return PITCH_MIN * self.k;
        };
        let mut best = ((PITCH_MIN * self.k), f32::MIN);
        for lag in (PITCH_MIN * self.k)..=(PITCH_MAX * self.k) {
            let Some(cand) = self.hist.get(end - (CORR_LEN * self.k) - lag..end - lag) else {
                break;
            };
            let (mut xy, mut yy) = (0f32, 0f32);
            for (x, y) in target.iter().zip(cand) {
                let (x, y) = (f32::from(*x), f32::from(*y));
                xy += x * y;
                yy += y * y;
            }
            let score = if yy > 0.0 { xy / yy.sqrt() } else { 0.0 };
            if score > best.1 {
                best = (lag, score);
            }
        }
        best.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_codes() {
        assert_eq!(linear_to_ulaw(0), 0xff);
        assert_eq!(linear_to_ulaw(-1), 0x7f);
        assert_eq!(linear_to_alaw(0), 0xd5);
        assert_eq!(ulaw_to_linear(0xff), 0);
        assert_eq!(alaw_to_linear(0xd5), 8);
    }

    #[test]
    fn a_single_loss_between_known_frames_is_interpolated_closely() {
        // A 150 Hz tone gliding in amplitude: forward repetition alone drifts,
        // interpolation meets the next frame.
        let sig = |n: usize| {
            let amp = 4000.0 + 20.0 * n as f32;
            ((n as f32 * 2.0 * std::f32::consts::PI * 150.0 / 8000.0).sin() * amp) as i16
        };
        let frame = |k: usize| -> Vec<i16> { (0..160).map(|i| sig(k * 160 + i)).collect() };
        let err = |interp: bool| {
            let mut plc = Plc::new();
            for k in 0..3 {
                plc.good_frame(&mut frame(k));
            }
            let mut out = [0i16; 160];
            if interp {
                plc.interpolate(&frame(4), &mut out);
            } else {
                plc.conceal(&mut out);
            }
            let truth = frame(3);
            out.iter()
                .zip(&truth)
                .map(|(a, b)| (f32::from(*a) - f32::from(*b)).abs())
                .sum::<f32>()
                / 160.0
        };
        let (forward, both) = (err(false), err(true));
        assert!(both < forward, "interpolation {both} vs forward {forward}");
        assert!(both < 1200.0, "mean error {both}");
    }

    #[test]
    fn concealment_continues_a_voiced_signal_then_fades() {
        // 200 Hz tone: period 40 samples at 8 kHz.
        let tone =
            |n: usize| ((n as f32 * 2.0 * std::f32::consts::PI / 40.0).sin() * 8000.0) as i16;
        let mut plc = Plc::new();
        let mut n = 0;
        for _ in 0..3 {
            let mut f: Vec<i16> = (0..160).map(|i| tone(n + i)).collect();
            plc.good_frame(&mut f);
            n += 160;
        }
        assert_eq!(plc.find_pitch() % 40, 0, "pitch of a 200 Hz tone");
        let mut lost = [0i16; 160];
        plc.conceal(&mut lost);
        // The first 10 ms of concealment continue the tone closely.
        let err: f32 = (0..80)
            .map(|i| (f32::from(lost[i]) - f32::from(tone(n + i))).abs())
            .sum::<f32>()
            / 80.0;
        assert!(err < 800.0, "mean error {err}");
        // After 60 ms of loss the output is silent.
        let mut more = [0i16; 160];
        for _ in 0..3 {
            plc.conceal(&mut more);
        }
        assert!(more.iter().all(|s| *s == 0), "muted after 60 ms");
    }
}
