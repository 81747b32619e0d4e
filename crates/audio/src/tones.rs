//! Call-progress and feedback tones, generated frame by frame.
//!
//! Each [`Tone`] is a cadence of segments (one or two frequencies, or
//! silence) that repeats or ends; [`ToneGenerator`] renders it at any sample
//! rate into 20 ms frames with phase-continuous oscillators and a 5 ms ramp
//! at every on/off edge, so nothing clicks in a headset. Cadences follow ETSI
//! practice (ES 201 970 / ITU-T E.180 supplement: 425 Hz in most of Europe,
//! including Estonia and Slovenia).

use std::f64::consts::PI;

/// One segment of a cadence.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Segment {
    /// Frequencies in Hz (0 for none: silence).
    pub freqs: (f64, f64),
    /// Duration in milliseconds.
    pub ms: u32,
}

const fn on(f: f64, ms: u32) -> Segment {
    Segment {
        freqs: (f, 0.0),
        ms,
    }
}

const fn off(ms: u32) -> Segment {
    Segment {
        freqs: (0.0, 0.0),
        ms,
    }
}

/// A tone: segments, and whether they repeat.
#[derive(Debug, Clone, PartialEq)]
pub struct Tone {
    /// The cadence.
    pub segments: Vec<Segment>,
    /// Repeat forever (ringback) or play once (a DTMF key).
    pub repeat: bool,
    /// Peak level, 0..=1 of full scale.
    pub level: f32,
}

impl Tone {
    /// Ringback heard by a caller while the far end rings: 425 Hz, 1 s on, 4 s off.
    pub fn ringback() -> Tone {
        Tone {
            segments: vec![on(425.0, 1000), off(4000)],
            repeat: true,
            level: 0.25,
        }
    }

    /// The local ring of an incoming call on the ringer device: a two-tone
    /// trill, 1.5 s on, 3 s off (loud enough to hear beside the desk).
    pub fn ring() -> Tone {
        Tone {
            segments: vec![
                Segment {
                    freqs: (800.0, 1000.0),
                    ms: 1500,
                },
                off(3000),
            ],
            repeat: true,
            level: 0.5,
        }
    }

    /// The headset test: 523 Hz (C5), 600 ms on, 400 ms off — easy to hear,
    /// and a steady level for the microphone meter when it loops back.
    pub fn test() -> Tone {
        Tone {
            segments: vec![on(523.0, 600), off(400)],
            repeat: true,
            level: 0.3,
        }
    }

    /// What a held caller hears instead of the operator: a soft rising
    /// A-major arpeggio every two seconds (so they know the line is alive).
    pub fn on_hold() -> Tone {
        Tone {
            segments: vec![on(440.0, 250), on(554.37, 250), on(659.25, 400), off(1100)],
            repeat: true,
            level: 0.12,
        }
    }

    /// Call waiting, played into an active call: 425 Hz, 200 ms twice, then 5 s quiet.
    pub fn call_waiting() -> Tone {
        Tone {
            segments: vec![on(425.0, 200), off(200), on(425.0, 200), off(5000)],
            repeat: true,
            level: 0.15,
        }
    }

    /// Busy: 425 Hz, 500 ms on, 500 ms off.
    pub fn busy() -> Tone {
        Tone {
            segments: vec![on(425.0, 500), off(500)],
            repeat: true,
            level: 0.25,
        }
    }

    /// Feedback for a pressed DTMF key: its two frequencies for 100 ms, quietly.
    pub fn dtmf(key: char) -> Option<Tone> {
        let (low, high) = dtmf_freqs(key)?;
        Some(Tone {
            segments: vec![Segment {
                freqs: (low, high),
                ms: 100,
            }],
            repeat: false,
            level: 0.1,
        })
    }
}

/// The row and column frequencies of a DTMF key (ITU-T Q.23).
pub fn dtmf_freqs(key: char) -> Option<(f64, f64)> {
    let (row, col) = match key.to_ascii_uppercase() {
        '1' => (0, 0),
        '2' => (0, 1),
        '3' => (0, 2),
        'A' => (0, 3),
        '4' => (1, 0),
        '5' => (1, 1),
        '6' => (1, 2),
        'B' => (1, 3),
        '7' => (2, 0),
        '8' => (2, 1),
        '9' => (2, 2),
        'C' => (2, 3),
        '*' => (3, 0),
        '0' => (3, 1),
        '#' => (3, 2),
        'D' => (3, 3),
        _ => return None,
    };
    let rows = [697.0, 770.0, 852.0, 941.0];
    let cols = [1209.0, 1336.0, 1477.0, 1633.0];
    Some((*rows.get(row)?, *cols.get(col)?))
}

/// Renders a tone at a sample rate.
#[derive(Debug, Clone)]
pub struct ToneGenerator {
    tone: Tone,
    rate: f64,
    segment: usize,
    /// Samples played in the current segment.
    pos: u64,
    phase: (f64, f64),
    done: bool,
}

impl ToneGenerator {
    /// Starts `tone` at `rate` Hz.
    pub fn new(tone: Tone, rate: u32) -> ToneGenerator {
        let done = tone.segments.is_empty();
        ToneGenerator {
            tone,
            rate: f64::from(rate.max(1)),
            segment: 0,
            pos: 0,
            phase: (0.0, 0.0),
            done,
        }
    }

    /// Whether a non-repeating tone has finished.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Fills `out` with the next samples (silence once done).
    pub fn fill(&mut self, out: &mut [i16]) {
        let ramp = self.rate * 0.005;
        for o in out.iter_mut() {
            if self.done {
                *o = 0;
                continue;
            }
            let Some(seg) = self.tone.segments.get(self.segment).copied() else {
                self.done = true;
                *o = 0;
                continue;
            };
            let len = (f64::from(seg.ms) * self.rate / 1000.0) as u64;
            let (f1, f2) = seg.freqs;
            let v = if f1 <= 0.0 && f2 <= 0.0 {
                0.0
            } else {
                let t = self.pos as f64;
                let edge = (t.min((len.saturating_sub(self.pos)) as f64) / ramp).min(1.0);
                let a = self.phase.0.sin();
                let b = if f2 > 0.0 { self.phase.1.sin() } else { 0.0 };
                let parts = if f2 > 0.0 { 0.5 } else { 1.0 };
                (a + b) * parts * edge
            };
            self.phase.0 = (self.phase.0 + 2.0 * PI * f1 / self.rate) % (2.0 * PI);
            self.phase.1 = (self.phase.1 + 2.0 * PI * f2 / self.rate) % (2.0 * PI);
            *o = (v * f64::from(self.tone.level) * 32767.0) as i16;
            self.pos += 1;
            if self.pos >= len {
                self.pos = 0;
                self.segment += 1;
                if self.segment >= self.tone.segments.len() {
                    if self.tone.repeat {
                        self.segment = 0;
                    } else {
                        self.done = true;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(tone: Tone, rate: u32, ms: u32) -> Vec<i16> {
        let mut g = ToneGenerator::new(tone, rate);
        let mut out = vec![0i16; (rate * ms / 1000) as usize];
        g.fill(&mut out);
        out
    }

    /// Energy of `freq` in `x` (Goertzel), normalised to the signal energy.
    fn share(x: &[i16], rate: u32, freq: f64) -> f64 {
        let w = 2.0 * PI * freq / f64::from(rate);
        let (mut s1, mut s2) = (0.0, 0.0);
        for v in x {
            let s = f64::from(*v) + 2.0 * w.cos() * s1 - s2;
            s2 = s1;
            s1 = s;
        }
        let power = s1 * s1 + s2 * s2 - 2.0 * w.cos() * s1 * s2;
        let energy: f64 = x.iter().map(|v| f64::from(*v).powi(2)).sum();
        power / (energy * x.len() as f64 / 2.0).max(1.0)
    }

    #[test]
    fn ringback_is_425_hz_for_a_second_then_quiet() {
        let x = render(Tone::ringback(), 8000, 5000);
        let on = &x[400..7600];
        assert!(share(on, 8000, 425.0) > 0.9, "425 Hz dominates");
        assert!(x[8400..39_000].iter().all(|s| *s == 0), "4 s of quiet");
        // It starts again after five seconds, with no click: a 5 ms ramp.
        let again = render(Tone::ringback(), 8000, 5010);
        assert!(again[40_000..40_010].iter().all(|s| s.abs() < 2000));
    }

    #[test]
    fn dtmf_feedback_has_both_frequencies_and_ends() {
        let (low, high) = dtmf_freqs('5').unwrap();
        assert_eq!((low, high), (770.0, 1336.0));
        let mut g = ToneGenerator::new(Tone::dtmf('5').unwrap(), 16_000);
        let mut x = vec![0i16; 1600];
        g.fill(&mut x);
        assert!(share(&x, 16_000, low) > 0.3 && share(&x, 16_000, high) > 0.3);
        let mut rest = vec![1i16; 320];
        g.fill(&mut rest);
        assert!(g.is_done() && rest.iter().all(|s| *s == 0));
        assert!(Tone::dtmf('x').is_none());
    }

    #[test]
    fn cadences_have_the_expected_lengths() {
        let total = |t: &Tone| t.segments.iter().map(|s| s.ms).sum::<u32>();
        assert_eq!(total(&Tone::ringback()), 5000);
        assert_eq!(total(&Tone::busy()), 1000);
        assert_eq!(total(&Tone::call_waiting()), 5600);
        assert!(Tone::ring().repeat);
    }
}
