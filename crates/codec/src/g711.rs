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
/// Correlation window for the pitch search (10 ms: the pitch where the loss
/// begins; 20 ms scored 0.06 lower at 3 % loss offline).
const CORR_LEN: usize = 80;
/// Cross-fade length when speech resumes after a loss (4 ms).
const RESUME_OLA: usize = 32;
/// Samples of loss before attenuation starts (10 ms) and until silence
/// (160 ms). G.711 Appendix I mutes at 60 ms; in bursts of four frames on
/// average (the bench's bursts profile) fading over 160 ms scored 2.60
/// against 2.44 offline, with no change at 3 % random loss
/// (`scripts/loss-sim.sh`, docs/performance.md).
const FADE_START: usize = 80;
const MUTE_AT: usize = 1280;

/// The sample `before` samples ahead of `next[0]` in `next` extended backward
/// by repeating its first period `p`. Where one repetition meets the next
/// (between `next[p - 1]` and `next[0]`), a quarter period is cross-faded with
/// the signal one period later, which continues `next[p - 1]` smoothly, so a
/// period that is not a whole number of samples does not click.
fn backward(next: &[i16], p: usize, before: usize) -> f32 {
    let p = p.max(1);
    let at = |i: usize| f32::from(next.get(i).copied().unwrap_or(0));
    let idx = (p - before % p) % p;
    let ola = (p / 4).max(1);
    if idx < ola {
        let w = (idx as f32 + 0.5) / ola as f32;
        at(idx) * w + at(idx + p) * (1.0 - w)
    } else {
        at(idx)
    }
}

/// Pitch-period repetition concealment for narrowband PCM (8 kHz).
///
/// On the first lost frame it finds the pitch period of the last 10 ms by
/// normalised autocorrelation, then repeats the last period (one period for the
/// first 10 ms, then cycling through two, and from 20 ms three, to avoid a
/// metallic buzz), cross-fading at the joins; after 10 ms the output fades linearly and is
/// silent from 160 ms. When speech resumes, the first 4 ms of the new frame are
/// cross-faded with the continued synthetic signal at the gain it had reached.
/// When the frame after a loss is already known ([`Plc::interpolate`]), the
/// lost frame — a single one, or the last of a burst — is cross-faded into that
/// frame extended backward, so the join meets the real signal. Everything lives
/// in fixed arrays: nothing is allocated after construction.
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
            // The synthetic side at the gain the concealment had reached, so a
            // resume after a faded burst does not jump back to full level.
            let g = self.gain();
            for i in 0..n {
                let synth = f32::from(self.next_synthetic()) * g;
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
    /// the gap, so both joins are smooth. As the last frame of a longer loss,
    /// the concealment so far is cross-faded into the next frame the same way.
    /// Without a usable next frame this is plain [`Plc::conceal`].
    pub fn interpolate(&mut self, next: &[i16], out: &mut [i16]) {
        if next.len() < (PITCH_MAX * self.k) || out.is_empty() {
            self.conceal(out);
            return;
        }
        if self.lost > 0 {
            // The end of a burst: the concealment so far is the forward side.
            self.conceal(out);
        } else {
            // A single loss: the last period repeated, from its start.
            self.pitch = self.find_pitch();
            self.periods = 1;
            self.pos = 0;
            for o in out.iter_mut() {
                *o = self.next_synthetic();
            }
        }
        // Cross-faded into `next` extended backward: the gap ends where
        // `next` starts, so sample i lies (len - i) before it.
        let p = self.pitch;
        let len = out.len();
        for (i, o) in out.iter_mut().enumerate() {
            let bwd = backward(next, p, len - i);
            let w = (i as f32 + 0.5) / len as f32;
            *o = (f32::from(*o) * (1.0 - w) + bwd * w) as i16;
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
            // After 10 ms repeat more history so the sound is less tonal: two
            // periods, then three (one step at a time scored 0.04 better offline).
            if self.lost == (FADE_START * self.k) {
                self.periods = 2.min((HIST * self.k) / self.pitch);
            }
            if self.lost == (2 * FADE_START * self.k) {
                self.periods = 3.min((HIST * self.k) / self.pitch);
            }
            let s = f32::from(self.next_synthetic());
            let gain = self.gain();
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

    /// The concealment's gain after `lost` samples of loss: full for the
    /// first 10 ms, then a linear fade to silence at 60 ms.
    fn gain(&self) -> f32 {
        let (start, mute) = (FADE_START * self.k, MUTE_AT * self.k);
        if self.lost < start {
            1.0
        } else if self.lost >= mute {
            0.0
        } else {
            1.0 - (self.lost - start) as f32 / (mute - start) as f32
        }
    }

    /// The next sample of the repeated segment (the last `pitch * periods` samples
    /// of history at the time the loss began), with a short cross-fade at the wrap.
    fn next_synthetic(&mut self) -> i16 {
        let seg = (self.pitch * self.periods).max(1);
        let end = HIST * self.k;
        let start = end.saturating_sub(seg);
        let p = self.pos % seg;
        let at = |i: usize| f32::from(self.hist.get(i).copied().unwrap_or(0));
        let mut v = at(start + p);
        // The segment's last quarter period is cross-faded into the quarter
        // period before its start, which leads into `hist[start]` (where the
        // repetition goes on): the wrap is then as smooth as the signal itself
        // (G.711 Appendix I's overlap-add).
        let ola = (self.pitch / 4).max(1).min(start);
        if p + ola >= seg {
            let j = p + ola - seg;
            let w = (j as f32 + 0.5) / ola as f32;
            v = v * (1.0 - w) + at(start - ola + j) * w;
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
    /// the last 10 ms against the signal one period earlier.
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
        // It fades: each later frame is quieter, and after 160 ms of loss
        // the output is silent.
        let peak = |f: &[i16]| f.iter().map(|s| s.unsigned_abs()).max().unwrap_or(0);
        let mut last = peak(&lost);
        let mut more = [0i16; 160];
        for _ in 0..8 {
            plc.conceal(&mut more);
            assert!(peak(&more) < last, "fading: {} after {last}", peak(&more));
            last = peak(&more);
        }
        assert!(more.iter().all(|s| *s == 0), "muted from 160 ms");
    }

    /// A voiced sound whose period is not a whole number of samples (149.5 Hz
    /// at 8 kHz, three harmonics), as speech is: repetition cannot be exact.
    fn voiced(rate: usize, n: usize) -> i16 {
        let t = n as f32 / rate as f32;
        let w = 2.0 * std::f32::consts::PI * 149.5 * t;
        (w.sin() * 5000.0 + (2.0 * w).sin() * 2500.0 + (3.0 * w + 0.7).sin() * 1200.0) as i16
    }

    /// The largest sample-to-sample step of a signal.
    fn max_step(x: &[i16]) -> f32 {
        x.windows(2)
            .map(|w| (f32::from(w[1]) - f32::from(w[0])).abs())
            .fold(0.0, f32::max)
    }

    /// Plays `frames` frames of [`voiced`] through a Plc, losing those in
    /// `lost`; with `look_ahead`, a lost frame whose successor arrived is
    /// interpolated. Returns what was played.
    fn play(rate: usize, frames: usize, lost: &[usize], look_ahead: bool) -> Vec<i16> {
        let len = rate / 50;
        let frame =
            |k: usize| -> Vec<i16> { (0..len).map(|i| voiced(rate, k * len + i)).collect() };
        let mut plc = Plc::with_rate(rate as u32);
        let mut out = Vec::new();
        for k in 0..frames {
            let mut f = frame(k);
            if lost.contains(&k) {
                if look_ahead && !lost.contains(&(k + 1)) {
                    plc.interpolate(&frame(k + 1), &mut f);
                } else {
                    plc.conceal(&mut f);
                }
            } else {
                plc.good_frame(&mut f);
            }
            out.extend_from_slice(&f);
        }
        out
    }

    /// No click at any join. A click here is a sample-to-sample step more than
    /// 1.5 times the largest step of the real signal: the joins (loss start,
    /// the repeated periods' wraps, the resume, both ends of an interpolated
    /// frame) must be no sharper than the sound itself.
    #[test]
    fn no_click_at_any_join() {
        for rate in [8000, 16000] {
            let truth: Vec<i16> = (0..rate / 50 * 12).map(|n| voiced(rate, n)).collect();
            let limit = 1.5 * max_step(&truth);
            // Single losses, a burst of three and one of seven (faded and
            // muted), each forward-concealed and interpolated.
            let patterns: [&[usize]; 3] = [&[3, 6], &[3, 4, 5], &[2, 3, 4, 5, 6, 7, 8]];
            for lost in patterns {
                for look_ahead in [false, true] {
                    let out = play(rate, 12, lost, look_ahead);
                    let step = max_step(&out);
                    let at = out
                        .windows(2)
                        .position(|w| (f32::from(w[1]) - f32::from(w[0])).abs() == step);
                    assert!(
                        step <= limit,
                        "{rate} Hz, lost {lost:?}, look-ahead {look_ahead}: step {step} > {limit} at {at:?}"
                    );
                }
            }
        }
    }

    /// No gain jump after a burst: the resume ramps from the level the
    /// concealment had faded to, and the concealment is never louder than the
    /// sound before it. The level is the peak over the last 8 ms (more than a
    /// period), every millisecond; a jump is a level more than 6 dB (twice)
    /// above the one a millisecond before, on a steady sound.
    #[test]
    fn no_gain_jump_after_a_burst() {
        for rate in [8000, 16000] {
            // Six frames lost (60–180 ms): faded to about a quarter.
            let out = play(rate, 14, &[3, 4, 5, 6, 7, 8], false);
            let ms = rate / 1000;
            let level: Vec<f32> = (8..out.len() / ms)
                .map(|t| {
                    out[(t - 8) * ms..t * ms]
                        .iter()
                        .map(|s| f32::from(*s).abs())
                        .fold(0.0, f32::max)
                })
                .collect();
            // level[i] ends at i + 8 ms.
            let before = level[60 - 8];
            for (i, pair) in level.windows(2).enumerate().skip(60 - 8).take(140) {
                let t = i + 9;
                assert!(
                    pair[1] <= 2.0 * pair[0],
                    "{rate} Hz: {:.0} at {t} ms after {:.0}",
                    pair[1],
                    pair[0]
                );
                assert!(
                    pair[1] <= 1.12 * before,
                    "{rate} Hz: {:.0} at {t} ms, louder than {before:.0} before the loss",
                    pair[1]
                );
            }
            // Faded during the burst, and back at the real level after it.
            assert!(
                level[180 - 8] < 0.4 * before,
                "{rate} Hz: faded to {}",
                level[180 - 8]
            );
            let tail = level.last().copied().unwrap_or(0.0);
            assert!(
                tail > 0.9 * before,
                "{rate} Hz: resumed at {tail} of {before}"
            );
        }
    }
}
