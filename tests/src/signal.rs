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
/// factors; the test signals stay below 1 kHz) and returns them. A file that
/// cannot be opened or decoded to its end fails the test, naming the file and
/// the error: a truncated recording is a finding, not silence.
pub fn read_wav_8k(path: &std::path::Path) -> Vec<f64> {
    decode_wav_8k(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// [`read_wav_8k`], with the error returned rather than raised.
fn decode_wav_8k(path: &std::path::Path) -> Result<Vec<f64>, String> {
    let mut r = hound::WavReader::open(path).map_err(|e| e.to_string())?;
    let spec = r.spec();
    let ch = usize::from(spec.channels.max(1));
    let step = (spec.sample_rate / 8000).max(1) as usize;
    let scale = match spec.sample_format {
        hound::SampleFormat::Float => 32768.0,
        hound::SampleFormat::Int => 32768.0 / f64::from(1u32 << (spec.bits_per_sample - 1)),
    };
    let declared = r.len() as usize;
    let samples: Vec<f64> = match spec.sample_format {
        hound::SampleFormat::Float => r
            .samples::<f32>()
            .enumerate()
            .map(|(i, s)| {
                s.map(|v| f64::from(v) * scale)
                    .map_err(|e| format!("sample {i} of {declared}: {e}"))
            })
            .collect::<Result<_, _>>()?,
        hound::SampleFormat::Int => r
            .samples::<i32>()
            .enumerate()
            .map(|(i, s)| {
                s.map(|v| f64::from(v) * scale)
                    .map_err(|e| format!("sample {i} of {declared}: {e}"))
            })
            .collect::<Result<_, _>>()?,
    };
    Ok(samples
        .chunks(ch)
        .map(|c| c.iter().sum::<f64>() / c.len() as f64)
        .step_by(step)
        .collect())
}

/// [`read_wav_8k`] of a recording another program is still finishing (baresip
/// writes its WAV header when the call is torn down, after it reported the
/// call closed): waits until the file decodes completely with at least one
/// sample, then returns it; fails after `timeout` with the last error.
pub fn read_finished_wav_8k(path: &std::path::Path, timeout: std::time::Duration) -> Vec<f64> {
    let until = std::time::Instant::now() + timeout;
    loop {
        let why = match decode_wav_8k(path) {
            Ok(x) if !x.is_empty() => return x,
            Ok(_) => "no samples yet".to_owned(),
            Err(e) => e,
        };
        assert!(
            std::time::Instant::now() < until,
            "{}: not a finished WAV after {timeout:?}: {why}",
            path.display()
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
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

/// The windows [`heard_windows`] judges: a quarter second at 8 kHz. Long
/// enough that a normalised correlation above 0.9 cannot happen by chance
/// between a test signal and anything but itself (2000 samples of two
/// partials under an envelope), short enough that a few seconds of a call
/// make [`MIN_WINDOWS`] and that one lost packet (20 ms) does not miss one.
pub const WINDOW: usize = 2000;

/// The fewest windows a verdict of [`Heard`] stands on (two seconds): over
/// fewer, "all but one" and "most" cannot be told apart.
pub const MIN_WINDOWS: usize = 8;

/// How far the lag may move from one window to the next (±200 ms): a
/// jitter buffer that grows or shrinks on a busy machine shifts what is
/// heard by frames at a time.
pub const TRACK: usize = 1600;

/// One window of what was said, judged by [`heard_windows`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    /// Its first sample in `said`.
    pub start: usize,
    /// Where it matched best in `got` (`got` later by this many samples).
    pub lag: usize,
    /// The best normalised correlation found.
    pub corr: f64,
    /// Whether that is above the threshold.
    pub heard: bool,
    /// Heard as two halves at different lags (the delay changed inside
    /// the window); `corr` is then the weaker half's.
    pub split: bool,
}

/// What of a stretch of speech was heard, a [`WINDOW`] at a time.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Heard {
    /// The windows judged (those with sound in them), in order.
    pub windows: Vec<Window>,
}

impl Heard {
    /// How many windows were judged.
    pub fn judged(&self) -> usize {
        self.windows.len()
    }

    /// How many of them were heard.
    pub fn heard(&self) -> usize {
        self.windows.iter().filter(|w| w.heard).count()
    }

    /// How many were not.
    pub fn missed(&self) -> usize {
        self.judged() - self.heard()
    }

    /// The share heard, 0..1 (0 when nothing was judged).
    pub fn share(&self) -> f64 {
        if self.windows.is_empty() {
            0.0
        } else {
            self.heard() as f64 / self.judged() as f64
        }
    }

    /// The lag of the last window heard: where what was said is in `got`
    /// now (for aligning a later stretch of the recording).
    pub fn last_lag(&self) -> Option<usize> {
        self.windows.iter().rev().find(|w| w.heard).map(|w| w.lag)
    }

    /// Passes when at least [`MIN_WINDOWS`] were judged and at most one in
    /// eight was missed: speech a listener follows, with at most a glitch
    /// every two seconds. One-way audio, a wrong codec or rate, a stretch
    /// muted or held by mistake miss far more.
    pub fn assert_heard(&self, what: &str) {
        assert!(
            self.judged() >= MIN_WINDOWS,
            "{what}: only {} windows to judge (need {MIN_WINDOWS}): {self}",
            self.judged()
        );
        assert!(self.missed() * 8 <= self.judged(), "{what}: {self}");
    }

    /// Passes when at least [`MIN_WINDOWS`] were judged and at least half
    /// were heard: for audio played to a sound card and recorded back from
    /// its monitor. Both the playback and the recorder run through a sound
    /// server that a machine with every core busy (the loaded runs of the
    /// suite) starves now and then: each skip breaks a window or two and
    /// moves the delay by tens of milliseconds. A window is heard only at a
    /// correlation no other stream reaches, so a card that plays nothing,
    /// the wrong stream or at the wrong rate still misses every window.
    /// Glitch-free playback under load is a benchmark's question.
    pub fn assert_heard_through_a_sound_card(&self, what: &str) {
        assert!(
            self.judged() >= MIN_WINDOWS,
            "{what}: only {} windows to judge (need {MIN_WINDOWS}): {self}",
            self.judged()
        );
        assert!(self.heard() * 2 >= self.judged(), "{what}: {self}");
    }

    /// Passes when at least [`MIN_WINDOWS`] were judged and none was heard.
    pub fn assert_not_heard(&self, what: &str) {
        assert!(
            self.judged() >= MIN_WINDOWS,
            "{what}: only {} windows to judge (need {MIN_WINDOWS}): {self}",
            self.judged()
        );
        assert_eq!(self.heard(), 0, "{what}: {self}");
    }
}

impl std::fmt::Display for Heard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} of {} windows heard (correlation@lag:",
            self.heard(),
            self.judged()
        )?;
        for w in &self.windows {
            write!(
                f,
                " {}{:.2}@{}{}",
                if w.heard { "" } else { "!" },
                w.corr,
                w.lag,
                if w.split { "(split)" } else { "" }
            )?;
        }
        write!(f, ")")
    }
}

/// Judges the part `judge` (sample range) of `said` against `got` one
/// [`WINDOW`] at a time: a window is heard when somewhere in `got`, `lags`
/// samples later, it matches with a normalised correlation above
/// `threshold`. The first window heard is looked for over all of `lags`;
/// each later one within [`TRACK`] of the last lag found (so an adapting
/// jitter buffer is followed, and a window is not "found" in some other
/// part of the call). Windows of `said` without sound (RMS under 100) are
/// not judged.
pub fn heard_windows(
    said: &[f64],
    judge: std::ops::Range<usize>,
    got: &[f64],
    lags: std::ops::Range<usize>,
    threshold: f64,
) -> Heard {
    // Energy of got[a..a + len] from prefix sums.
    let mut prefix = Vec::with_capacity(got.len() + 1);
    prefix.push(0.0);
    let mut acc = 0.0;
    for v in got {
        acc += v * v;
        prefix.push(acc);
    }
    let energy = |a: usize, len: usize| prefix[a + len] - prefix[a];
    // The lag in `range` where said[at..at + len] matches `got` best, and how well.
    let best_at = |at: usize, len: usize, range: std::ops::Range<usize>| {
        let x = &said[at..at + len];
        let xx: f64 = x.iter().map(|v| v * v).sum();
        let mut best = (range.start, 0.0);
        for lag in range {
            let Some(y) = got.get(at + lag..at + lag + len) else {
                break;
            };
            let yy = energy(at + lag, len);
            if yy <= 0.0 || xx <= 0.0 {
                continue;
            }
            let xy: f64 = x.iter().zip(y).map(|(a, b)| a * b).sum();
            let c = xy / (xx * yy).sqrt();
            if c > best.1 {
                best = (lag, c);
            }
        }
        best
    };
    let mut heard = Heard::default();
    let mut last: Option<usize> = None;
    let mut start = judge.start;
    while start + WINDOW <= judge.end.min(said.len()) {
        let x = &said[start..start + WINDOW];
        let xx: f64 = x.iter().map(|v| v * v).sum();
        if xx > 100.0 * 100.0 * WINDOW as f64 {
            let range = match last {
                Some(l) => l.saturating_sub(TRACK).max(lags.start)..(l + TRACK + 1).min(lags.end),
                None => lags.clone(),
            };
            let (lag, corr) = best_at(start, WINDOW, range.clone());
            let mut w = Window {
                start,
                lag,
                corr,
                heard: corr > threshold,
                split: false,
            };
            if !w.heard {
                // The delay may have changed inside this window (a jitter
                // buffer adapting, a sound card catching up after an
                // underrun): then each half is heard at a lag of its own.
                let half = WINDOW / 2;
                let (l1, c1) = best_at(start, half, range.clone());
                let (l2, c2) = best_at(start + half, half, range);
                if c1 > threshold && c2 > threshold && l1 != l2 {
                    w = Window {
                        start,
                        lag: l2,
                        corr: c1.min(c2),
                        heard: true,
                        split: true,
                    };
                }
            }
            if w.heard {
                last = Some(w.lag);
            }
            heard.windows.push(w);
        }
        start += WINDOW;
    }
    heard
}

/// Root mean square of `x` (0 for nothing).
pub fn rms(x: &[f64]) -> f64 {
    (x.iter().map(|v| v * v).sum::<f64>() / x.len().max(1) as f64).sqrt()
}

/// Wall-clock Unix time in seconds: the clock of the events' `ts`,
/// `mic_start` and `speaker_start`.
pub fn wall_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Sleeps until wall-clock time `t` (Unix seconds; at once if it has
/// passed). For letting media flow for a span counted from the event that
/// started it — what is then analysed is placed by the events' times and
/// the measured lag, never by how long the test slept.
pub fn sleep_until_wall(t: f64) {
    let left = t - wall_now();
    if left > 0.0 {
        std::thread::sleep(std::time::Duration::from_secs_f64(left));
    }
}

/// The 8 kHz sample a stream that started at `start` (Unix s) is at, at
/// time `t` (0 before it started).
pub fn sample_at(start: f64, t: f64) -> usize {
    ((t - start).max(0.0) * 8000.0) as usize
}

/// A live recording of a PulseAudio source with `parec` (8 kHz mono,
/// read from its standard output as it comes), so a test waits on what
/// has been recorded so far — a clock that runs with the sound server —
/// rather than sleeping. Stopped with its process group when dropped.
#[derive(Debug)]
pub struct Capture {
    /// Stops parec when dropped.
    _child: crate::Guard,
    samples: std::sync::Arc<std::sync::Mutex<Vec<f64>>>,
    /// The wall-clock time of the first sample (Unix s), from when the
    /// first samples arrived.
    t0: f64,
}

impl Capture {
    /// Records `device` (e.g. `switchboard_null.monitor`) of the sound
    /// server the environment names, plus `env` (`PULSE_SERVER` …); waits
    /// until samples flow (bounded).
    pub fn start(device: &str, env: &[(&str, &str)]) -> Capture {
        crate::require("parec");
        let mut cmd = std::process::Command::new("parec");
        cmd.args([
            &format!("--device={device}"),
            "--format=s16le",
            "--rate=8000",
            "--channels=1",
            "--latency-msec=20",
        ])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = crate::Guard::spawn(&mut cmd, "parec (pulseaudio-utils)");
        let mut out = child.0.stdout.take().expect("parec stdout");
        let samples = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = samples.clone();
        std::thread::spawn(move || {
            use std::io::Read;
            let mut buf = [0u8; 1600];
            let mut odd: Option<u8> = None;
            loop {
                let n = match out.read(&mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                let mut bytes: Vec<u8> = odd.take().into_iter().collect();
                bytes.extend_from_slice(buf.get(..n).unwrap_or(&[]));
                if bytes.len() % 2 == 1 {
                    odd = bytes.pop();
                }
                let mut s = sink.lock().unwrap_or_else(|e| e.into_inner());
                s.extend(
                    bytes
                        .chunks_exact(2)
                        .map(|b| f64::from(i16::from_le_bytes([b[0], b[1]]))),
                );
            }
        });
        let mut c = Capture {
            _child: child,
            samples,
            t0: 0.0,
        };
        let n = c.wait_until("parec records", std::time::Duration::from_secs(10), |x| {
            x.len() >= 800
        });
        c.t0 = wall_now() - n as f64 / 8000.0;
        c
    }

    /// The wall-clock time (Unix s, the events' clock) of the first sample,
    /// give or take the recorder's latency (tens of milliseconds).
    pub fn started_at(&self) -> f64 {
        self.t0
    }

    /// The sample recorded at wall-clock time `t` (Unix s, the events'
    /// clock), give or take the recorder's latency (tens of milliseconds).
    pub fn sample_of(&self, t: f64) -> usize {
        sample_at(self.t0, t)
    }

    /// What has been recorded so far.
    pub fn samples(&self) -> Vec<f64> {
        self.samples
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// How many samples have been recorded so far.
    pub fn len(&self) -> usize {
        self.samples.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Whether nothing has been recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Waits until `done` holds for what has been recorded so far; returns
    /// how many samples there were then. Fails after `timeout`, saying
    /// `what` was awaited.
    pub fn wait_until(
        &self,
        what: &str,
        timeout: std::time::Duration,
        done: impl Fn(&[f64]) -> bool,
    ) -> usize {
        let until = std::time::Instant::now() + timeout;
        loop {
            {
                let s = self.samples.lock().unwrap_or_else(|e| e.into_inner());
                if done(&s) {
                    return s.len();
                }
            }
            assert!(
                std::time::Instant::now() < until,
                "{what}: not within {timeout:?} ({} samples recorded)",
                self.len()
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }

    /// Waits until `n` samples have been recorded (bounded: the recording
    /// runs in real time, so `n` samples take n / 8000 s, plus 10 s).
    pub fn wait_len(&self, n: usize) {
        let secs = n as f64 / 8000.0 + 10.0;
        self.wait_until(
            &format!("{n} samples recorded"),
            std::time::Duration::from_secs_f64(secs),
            |x| x.len() >= n,
        );
    }

    /// Stops recording; returns everything recorded.
    pub fn stop(self) -> Vec<f64> {
        let samples = self.samples.clone();
        // Dropping the guard stops parec; its output then ends.
        drop(self);
        let s = samples.lock().unwrap_or_else(|e| e.into_inner());
        s.clone()
    }
}

/// Share of a window's energy at `freq` (Goertzel), 0..1.
pub fn tone_share(x: &[f64], freq: f64, rate: f64) -> f64 {
    let k = 2.0 * (2.0 * std::f64::consts::PI * freq / rate).cos();
    let (mut s1, mut s2) = (0.0, 0.0);
    for &v in x {
        let s0 = v + k * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    let power = s1 * s1 + s2 * s2 - k * s1 * s2;
    let energy: f64 = x.iter().map(|v| v * v).sum();
    if energy <= 0.0 {
        0.0
    } else {
        2.0 * power / (energy * x.len() as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn voice(n: u32, secs: f64) -> Vec<f64> {
        let path = crate::temp_dir("signal").join(format!("voice-{n}.wav"));
        write_test_voice(&path, 8000, secs, n);
        read_wav_8k(&path)
    }

    /// `said` delayed by `first` samples, and from sample `at` on by `then`.
    fn delayed(said: &[f64], first: usize, at: usize, then: usize) -> Vec<f64> {
        let mut got = vec![0.0; first];
        got.extend_from_slice(&said[..at]);
        got.extend(std::iter::repeat_n(0.0, then - first));
        got.extend_from_slice(&said[at..]);
        got
    }

    #[test]
    fn a_delay_that_changes_inside_a_window_is_still_heard() {
        let said = voice(0, 4.0);
        // 20 ms more delay from the middle of the fifth window on.
        let got = delayed(&said, 800, 4 * WINDOW + WINDOW / 2, 960);
        let h = heard_windows(&said, WINDOW..said.len() - WINDOW, &got, 0..2000, 0.9);
        assert!(h.judged() >= MIN_WINDOWS, "{h}");
        assert_eq!(h.missed(), 0, "{h}");
        assert!(h.windows.iter().any(|w| w.split), "{h}");
        assert_eq!(h.last_lag(), Some(960), "{h}");
        h.assert_heard("a delayed copy");
    }

    #[test]
    fn another_voice_and_silence_are_not_heard() {
        let said = voice(0, 4.0);
        let other = voice(1, 4.0);
        let h = heard_windows(&said, WINDOW..said.len() - WINDOW, &other, 0..2000, 0.6);
        assert_eq!(h.heard(), 0, "another voice: {h}");
        h.assert_not_heard("another voice");
        let silence = vec![0.0; said.len() + 2000];
        heard_windows(&said, WINDOW..said.len() - WINDOW, &silence, 0..2000, 0.6)
            .assert_not_heard("silence");
    }
}
