//! # switchboard-audio — where call audio comes from and goes to
//!
//! ```text
//!  WAV file / (headset) ──▶ Source::read_frame ──▶ 20 ms PCM at the codec rate ──▶ media
//!  media ──▶ 20 ms PCM ──▶ Sink::write_frame ──▶ WAV file / (headset)
//! ```
//!
//! Sources and sinks deliver and take 20 ms mono frames at a rate chosen by
//! the caller (the codec's), converting from the file's own rate and channel
//! count. The engine paces them in real time, one frame per 20 ms tick, so a
//! file behaves like a device: what the speaker file holds is what a headset
//! would have played, silence and concealment included.
//!
//! - [`device`]: sound cards through cpal (headset, speakers), behind lock-free rings.
//! - [`wav`]: file microphone and speaker (hound).
//! - [`tones`]: ringback, ring, call waiting, busy and DTMF feedback.
//! - [`Level`]: a peak/RMS level meter per direction.
#![deny(unsafe_code)]
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)
)]

use std::fmt;
use std::path::PathBuf;

pub mod device;
pub mod tones;
pub mod wav;

/// What went wrong with an audio file or device.
#[derive(Debug)]
#[non_exhaustive]
pub enum AudioError {
    /// The file could not be opened or created.
    Io(PathBuf, std::io::Error),
    /// The file is not a WAV file we can read (the user's file is at fault).
    BadWav(PathBuf, String),
    /// The file's format is valid but not supported (e.g. 8-bit A-law WAV).
    Unsupported(PathBuf, String),
    /// The rate cannot be converted.
    Rate(u32, u32),
    /// A sound device could not be found or opened.
    Device(String),
}

impl fmt::Display for AudioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AudioError::Io(p, e) => write!(f, "{}: {e}", p.display()),
            AudioError::BadWav(p, e) => write!(f, "{}: not a readable WAV file ({e})", p.display()),
            AudioError::Unsupported(p, e) => {
                write!(f, "{}: unsupported WAV format ({e})", p.display())
            }
            AudioError::Rate(a, b) => write!(f, "cannot convert {a} Hz to {b} Hz"),
            AudioError::Device(e) => write!(f, "audio device: {e}"),
        }
    }
}

impl std::error::Error for AudioError {}

/// Peak and RMS level of recent frames (for meters), in dBFS.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Level {
    /// Peak of the last frame, 0..=1.
    pub peak: f32,
    /// RMS of the last frame, 0..=1.
    pub rms: f32,
}

impl Level {
    /// Measures one frame.
    pub fn of(frame: &[i16]) -> Level {
        if frame.is_empty() {
            return Level::default();
        }
        let mut peak = 0f32;
        let mut sum = 0f64;
        for s in frame {
            let v = f32::from(*s) / 32768.0;
            peak = peak.max(v.abs());
            sum += f64::from(v * v);
        }
        Level {
            peak,
            rms: (sum / frame.len() as f64).sqrt() as f32,
        }
    }

    /// RMS in dBFS (−120 for silence).
    pub fn rms_dbfs(&self) -> f32 {
        if self.rms <= 1e-6 {
            -120.0
        } else {
            20.0 * self.rms.log10()
        }
    }
}
