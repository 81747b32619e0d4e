//! Test signals and what was heard: WAV files written for the agents'
//! microphones, read back from their recordings, and the correlation measures
//! the audio tests judge by.

/// Writes a mono 16-bit WAV with a voice-like test signal (two partials under a
/// slow envelope, with a short pause every second so alignment is unambiguous).
pub fn write_test_signal(path: &std::path::Path, rate: u32, secs: f64) {
    write_test_signal_channels(path, rate, secs, 1);
}

/// A test signal with its own "voice" (`voice` 0 is [`write_test_signal`]'s):
/// other partials and another rhythm, so in a conference each party's
/// signal can be told from the others' by correlation.
pub fn write_test_voice(path: &std::path::Path, rate: u32, secs: f64, voice: u32) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).expect("create test WAV");
    let v = f64::from(voice);
    let (base, partial, beat) = (310.0 + 170.0 * v, 770.0 + 230.0 * v, 1.3 + 0.4 * v);
    let n = (f64::from(rate) * secs) as usize;
    for i in 0..n {
        let t = i as f64 / f64::from(rate);
        let gate = if (t * (1.0 + 0.25 * v)).fract() > 0.85 {
            0.0
        } else {
            1.0
        };
        let env = 0.55 + 0.45 * (t * 2.0 * std::f64::consts::PI * beat).sin();
        let f = base + 40.0 * (t * 2.0 * std::f64::consts::PI * (0.7 + 0.2 * v)).sin();
        let s = (t * 2.0 * std::f64::consts::PI * f).sin()
            + 0.6 * (t * 2.0 * std::f64::consts::PI * partial).sin();
        w.write_sample((s * env * gate * 9_000.0) as i16)
            .expect("write test WAV");
    }
    w.finalize().expect("finish test WAV");
}

/// [`write_test_signal`] with the same signal on every one of `channels`
/// (baresip's file source wants its configured channel count).
pub fn write_test_signal_channels(path: &std::path::Path, rate: u32, secs: f64, channels: u16) {
    let spec = hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).expect("create test WAV");
    let n = (f64::from(rate) * secs) as usize;
    for i in 0..n {
        let t = i as f64 / f64::from(rate);
        let gate = if t.fract() > 0.85 { 0.0 } else { 1.0 };
        let env = 0.55 + 0.45 * (t * 2.0 * std::f64::consts::PI * 1.3).sin();
        let f = 310.0 + 40.0 * (t * 2.0 * std::f64::consts::PI * 0.7).sin();
        let s = (t * 2.0 * std::f64::consts::PI * f).sin()
            + 0.6 * (t * 2.0 * std::f64::consts::PI * 770.0).sin();
        for _ in 0..channels {
            w.write_sample((s * env * gate * 9_000.0) as i16)
                .expect("write test WAV");
        }
    }
    w.finalize().expect("finish test WAV");
}

/// Reads a WAV as mono samples at 8 kHz (decimating 16/48 kHz by whole
/// factors; the test signals stay below 1 kHz) and returns them.
pub fn read_wav_8k(path: &std::path::Path) -> Vec<f64> {
    let mut r = hound::WavReader::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let spec = r.spec();
    let ch = usize::from(spec.channels.max(1));
    let step = (spec.sample_rate / 8000).max(1) as usize;
    let scale = match spec.sample_format {
        hound::SampleFormat::Float => 32768.0,
        hound::SampleFormat::Int => 32768.0 / f64::from(1u32 << (spec.bits_per_sample - 1)),
    };
    let samples: Vec<f64> = match spec.sample_format {
        hound::SampleFormat::Float => r
            .samples::<f32>()
            .map(|s| f64::from(s.unwrap_or(0.0)) * scale)
            .collect(),
        hound::SampleFormat::Int => r
            .samples::<i32>()
            .map(|s| f64::from(s.unwrap_or(0)) * scale)
            .collect(),
    };
    samples
        .chunks(ch)
        .map(|c| c.iter().sum::<f64>() / c.len() as f64)
        .step_by(step)
        .collect()
}

/// Where `sent` shows up in `got`: the lag (in samples, `got` later) with the
/// highest normalised cross-correlation over a two-second window, and that
/// correlation.
pub fn find_in(sent: &[f64], got: &[f64], max_lag: usize) -> (usize, f64) {
    let start = sent.len().min(4000) / 4;
    let len = 16_000.min(sent.len().saturating_sub(start));
    let Some(x) = sent.get(start..start + len) else {
        return (0, 0.0);
    };
    let xx: f64 = x.iter().map(|v| v * v).sum();
    let mut best = (0, f64::MIN);
    for lag in 0..max_lag {
        let Some(y) = got.get(start + lag..start + lag + len) else {
            break;
        };
        let xy: f64 = x.iter().zip(y).map(|(a, b)| a * b).sum();
        let yy: f64 = y.iter().map(|v| v * v).sum();
        let c = if xx > 0.0 && yy > 0.0 {
            xy / (xx * yy).sqrt()
        } else {
            0.0
        };
        if c > best.1 {
            best = (lag, c);
        }
    }
    best
}

/// How much of `sent` is heard in `got`: the share of half-second windows of
/// `sent` (after the first quarter second) that appear somewhere in `got`
/// within `max_lag` samples with a normalised correlation above `threshold`.
/// Each window finds its own lag, so a jitter buffer that once inserted or
/// skipped a frame (shifting everything after it) still counts as heard.
pub fn share_heard(sent: &[f64], got: &[f64], max_lag: usize, threshold: f64) -> f64 {
    let win = 4000;
    let mut heard = 0;
    let mut total = 0;
    let mut start = 2000;
    while start + win <= sent.len() {
        let x = &sent[start..start + win];
        let xx: f64 = x.iter().map(|v| v * v).sum();
        if xx > 1e6 {
            total += 1;
            let found = (0..max_lag).any(|lag| {
                got.get(start + lag..start + lag + win).is_some_and(|y| {
                    let xy: f64 = x.iter().zip(y).map(|(a, b)| a * b).sum();
                    let yy: f64 = y.iter().map(|v| v * v).sum();
                    yy > 0.0 && xy / (xx * yy).sqrt() > threshold
                })
            });
            if found {
                heard += 1;
            }
        }
        start += win;
    }
    if total == 0 {
        0.0
    } else {
        f64::from(heard) / f64::from(total)
    }
}
