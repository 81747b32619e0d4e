//! WAV file microphone and speaker.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use switchboard_codec::resample::FrameResampler;

use crate::AudioError;

/// Where a [`WavSource`]'s samples come from.
enum Samples {
    /// 16-bit PCM (what recorders and test material are): a frame's bytes
    /// read at once and converted in place. Sample by sample through hound
    /// this cost a sixth of a call's CPU on the sending side.
    Pcm16 {
        inner: BufReader<File>,
        /// Bytes of the data chunk not yet read.
        left: u64,
        bytes: Vec<u8>,
    },
    /// Any other format, sample by sample through hound.
    Other(hound::WavReader<BufReader<File>>),
}

/// Bytes a [`WavSource`] reads from its file at once.
const READ_BLOCK: usize = 64 * 1024;

/// A WAV file read as a microphone: 20 ms mono frames at a chosen rate.
pub struct WavSource {
    path: PathBuf,
    samples: Samples,
    channels: usize,
    scale: f32,
    float: bool,
    resampler: FrameResampler,
    file_frame: Vec<i16>,
    ended: bool,
}

impl std::fmt::Debug for WavSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WavSource")
            .field("path", &self.path)
            .finish()
    }
}

impl WavSource {
    /// Opens a WAV file (PCM 8/16/24/32-bit or 32-bit float, any channel
    /// count, any rate that is a multiple of 50 Hz) to deliver frames at `rate`.
    pub fn open(path: &Path, rate: u32) -> Result<WavSource, AudioError> {
        let file = File::open(path).map_err(|e| AudioError::Io(path.to_owned(), e))?;
        // A second of CD-rate stereo in a few reads, not one read a frame.
        let reader = hound::WavReader::new(BufReader::with_capacity(READ_BLOCK, file))
            .map_err(|e| AudioError::BadWav(path.to_owned(), e.to_string()))?;
        let spec = reader.spec();
        if spec.channels == 0 {
            return Err(AudioError::BadWav(path.to_owned(), "zero channels".into()));
        }
        let float = match (spec.sample_format, spec.bits_per_sample) {
            (hound::SampleFormat::Float, 32) => true,
            (hound::SampleFormat::Int, 8 | 16 | 24 | 32) => false,
            (f, b) => {
                return Err(AudioError::Unsupported(
                    path.to_owned(),
                    format!("{b}-bit {f:?} samples"),
                ));
            }
        };
        let resampler = FrameResampler::new(spec.sample_rate, rate)
            .map_err(|_| AudioError::Rate(spec.sample_rate, rate))?;
        let scale = if float {
            32768.0
        } else {
            32768.0 / (1u64 << (spec.bits_per_sample - 1)) as f32
        };
        let samples = if !float && spec.bits_per_sample == 16 {
            // hound has read the header: the reader stands at the data.
            Samples::Pcm16 {
                left: u64::from(reader.len()) * 2,
                inner: reader.into_inner(),
                bytes: Vec::new(),
            }
        } else {
            Samples::Other(reader)
        };
        Ok(WavSource {
            path: path.to_owned(),
            channels: usize::from(spec.channels),
            scale,
            float,
            file_frame: vec![0; resampler.input_frame()],
            resampler,
            samples,
            ended: false,
        })
    }

    /// Fills `out` with the next frame; false once the file has ended (the
    /// last partial frame is padded with silence and still returns true).
    pub fn read_frame(&mut self, out: &mut [i16]) -> Result<bool, AudioError> {
        if self.ended {
            out.fill(0);
            return Ok(false);
        }
        let want = self.file_frame.len();
        let got = match &mut self.samples {
            Samples::Pcm16 { inner, left, bytes } => {
                read_pcm16(inner, left, bytes, self.channels, &mut self.file_frame)
                    .map_err(|e| AudioError::BadWav(self.path.clone(), e))?
            }
            Samples::Other(reader) => read_samples(
                reader,
                self.channels,
                self.float,
                self.scale,
                &mut self.file_frame,
            )
            .map_err(|e| AudioError::BadWav(self.path.clone(), e))?,
        };
        if got == 0 {
            self.ended = true;
            out.fill(0);
            return Ok(false);
        }
        if let Some(rest) = self.file_frame.get_mut(got..) {
            rest.fill(0);
        }
        if got < want {
            self.ended = true;
        }
        self.resampler
            .process(&self.file_frame, out)
            .map_err(|e| AudioError::BadWav(self.path.clone(), e.to_string()))?;
        Ok(true)
    }
}

/// Fills `frame` with mono samples from 16-bit PCM (each the mean of its
/// channels); how many it filled (fewer at the end of the data).
fn read_pcm16(
    inner: &mut BufReader<File>,
    left: &mut u64,
    bytes: &mut Vec<u8>,
    channels: usize,
    frame: &mut [i16],
) -> Result<usize, String> {
    let per = channels * 2;
    let whole = usize::try_from(*left).unwrap_or(usize::MAX) / per * per;
    let n = (frame.len() * per).min(whole);
    bytes.resize(n, 0);
    let mut filled = 0;
    while filled < n {
        let Some(rest) = bytes.get_mut(filled..n) else {
            break;
        };
        match inner.read(rest) {
            Ok(0) => {
                return Err(format!(
                    "the file ends {} bytes before its data chunk does",
                    *left - filled as u64
                ));
            }
            Ok(k) => filled += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.to_string()),
        }
    }
    *left -= n as u64;
    let data = bytes.get(..n).unwrap_or(&[]);
    let mut got = 0;
    if channels == 1 {
        for (slot, b) in frame.iter_mut().zip(data.chunks_exact(2)) {
            *slot = le16(b);
            got += 1;
        }
        return Ok(got);
    }
    for (slot, sample) in frame.iter_mut().zip(data.chunks_exact(per)) {
        let sum: i32 = sample.chunks_exact(2).map(|b| i32::from(le16(b))).sum();
        // As the sample-by-sample path: the mean, truncated toward zero.
        *slot = (sum as f32 / channels as f32).clamp(-32768.0, 32767.0) as i16;
        got += 1;
    }
    Ok(got)
}

/// One little-endian 16-bit sample from a two-byte chunk.
fn le16(b: &[u8]) -> i16 {
    i16::from_le_bytes([
        b.first().copied().unwrap_or(0),
        b.get(1).copied().unwrap_or(0),
    ])
}

/// [`read_pcm16`] for the other formats, through hound.
fn read_samples(
    reader: &mut hound::WavReader<BufReader<File>>,
    channels: usize,
    float: bool,
    scale: f32,
    frame: &mut [i16],
) -> Result<usize, String> {
    let mut got = 0;
    let want = frame.len();
    {
        while got < want {
            let mut acc = 0f32;
            let mut n = 0;
            for _ in 0..channels {
                let s = if float {
                    reader.samples::<f32>().next().map(|r| r.map(|v| v * scale))
                } else {
                    reader
                        .samples::<i32>()
                        .next()
                        .map(|r| r.map(|v| v as f32 * scale))
                };
                match s {
                    Some(Ok(v)) => {
                        acc += v;
                        n += 1;
                    }
                    Some(Err(e)) => return Err(e.to_string()),
                    None => break,
                }
            }
            if n == 0 {
                break;
            }
            if let Some(slot) = frame.get_mut(got) {
                *slot = (acc / n as f32).clamp(-32768.0, 32767.0) as i16;
            }
            got += 1;
        }
    }
    Ok(got)
}

/// A WAV file written as a speaker: 16-bit mono at the rate it is given frames in.
pub struct WavSink {
    path: PathBuf,
    writer: Option<hound::WavWriter<std::io::BufWriter<File>>>,
    samples: u64,
}

impl std::fmt::Debug for WavSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WavSink")
            .field("path", &self.path)
            .field("samples", &self.samples)
            .finish()
    }
}

impl WavSink {
    /// Creates (or truncates) the file.
    pub fn create(path: &Path, rate: u32) -> Result<WavSink, AudioError> {
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: rate,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let writer = hound::WavWriter::create(path, spec).map_err(|e| match e {
            hound::Error::IoError(io) => AudioError::Io(path.to_owned(), io),
            other => AudioError::BadWav(path.to_owned(), other.to_string()),
        })?;
        Ok(WavSink {
            path: path.to_owned(),
            writer: Some(writer),
            samples: 0,
        })
    }

    /// Appends one frame.
    pub fn write_frame(&mut self, frame: &[i16]) -> Result<(), AudioError> {
        let Some(w) = self.writer.as_mut() else {
            return Ok(());
        };
        let mut i16w = w.get_i16_writer(u32::try_from(frame.len()).unwrap_or(0));
        for s in frame {
            i16w.write_sample(*s);
        }
        i16w.flush()
            .map_err(|e| AudioError::BadWav(self.path.clone(), e.to_string()))?;
        self.samples += frame.len() as u64;
        Ok(())
    }

    /// Samples written so far.
    pub fn samples(&self) -> u64 {
        self.samples
    }

    /// Writes the header's final lengths and closes the file.
    pub fn finish(&mut self) -> Result<(), AudioError> {
        match self.writer.take() {
            Some(w) => w
                .finalize()
                .map_err(|e| AudioError::BadWav(self.path.clone(), e.to_string())),
            None => Ok(()),
        }
    }
}

impl Drop for WavSink {
    fn drop(&mut self) {
        let _ = self.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("switchboard-audio-{}-{name}", std::process::id()))
    }

    /// A 16-bit stereo WAV of (left, right) pairs.
    fn write_stereo16(path: &Path, rate: u32, pairs: &[(i16, i16)]) {
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: rate,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::create(path, spec).unwrap();
        for (l, r) in pairs {
            w.write_sample(*l).unwrap();
            w.write_sample(*r).unwrap();
        }
        w.finalize().unwrap();
    }

    #[test]
    fn stereo_48k_file_reads_as_mono_8k_frames_and_writes_back() {
        let src = temp("in.wav");
        let tone: Vec<(i16, i16)> = (0..48_000)
            .map(|i| {
                let v = ((i as f64 / 48_000.0 * 2.0 * std::f64::consts::PI * 500.0).sin() * 8000.0)
                    as i16;
                (v, v)
            })
            .collect();
        write_stereo16(&src, 48_000, &tone);
        let mut mic = WavSource::open(&src, 8000).unwrap();
        let dst = temp("out.wav");
        let mut spk = WavSink::create(&dst, 8000).unwrap();
        let mut frame = [0i16; 160];
        let mut frames = 0;
        while mic.read_frame(&mut frame).unwrap() {
            spk.write_frame(&frame).unwrap();
            frames += 1;
        }
        assert_eq!(frames, 50, "one second of 20 ms frames");
        spk.finish().unwrap();
        let r = hound::WavReader::open(&dst).unwrap();
        assert_eq!(r.spec().sample_rate, 8000);
        assert_eq!(r.len(), 8000);
        let _ = std::fs::remove_file(src);
        let _ = std::fs::remove_file(dst);
    }

    #[test]
    fn sixteen_bit_frames_are_the_mean_of_the_channels_to_the_last_sample() {
        let src = temp("pcm16.wav");
        // 1.5 frames: the last frame is half data, half silence.
        let pairs: Vec<(i16, i16)> = (0..240)
            .map(|i: i32| {
                let l = (i * 263 % 65_536 - 32_768) as i16;
                let r = (-(i * 97) % 32_000) as i16 + 1;
                (l, r)
            })
            .chain([(i16::MIN, i16::MIN), (i16::MAX, i16::MAX), (-3, 0)])
            .collect();
        write_stereo16(&src, 8000, &pairs);
        let mut mic = WavSource::open(&src, 8000).unwrap();
        let mut got = Vec::new();
        let mut frame = [0i16; 160];
        while mic.read_frame(&mut frame).unwrap() {
            got.extend_from_slice(&frame);
        }
        let want: Vec<i16> = pairs
            .iter()
            .map(|(l, r)| ((i32::from(*l) + i32::from(*r)) as f32 / 2.0) as i16)
            .collect();
        assert_eq!(got.len(), 320, "two frames, the second padded");
        assert_eq!(&got[..want.len()], &want[..]);
        assert!(got[want.len()..].iter().all(|s| *s == 0));
        assert_eq!(
            want[want.len() - 1],
            -1,
            "-1.5 truncates toward zero, as before"
        );

        // A file cut short inside its data says so.
        let bytes = std::fs::read(&src).unwrap();
        let cut = temp("pcm16-cut.wav");
        std::fs::write(&cut, &bytes[..bytes.len() - 100]).unwrap();
        let mut mic = WavSource::open(&cut, 8000).unwrap();
        let mut e = None;
        for _ in 0..3 {
            if let Err(err) = mic.read_frame(&mut frame) {
                e = Some(err);
                break;
            }
        }
        let e = e.expect("the cut is noticed");
        assert!(e.to_string().contains("before its data chunk"), "{e}");
        let _ = std::fs::remove_file(src);
        let _ = std::fs::remove_file(cut);
    }

    #[test]
    fn mono_sixteen_bit_reads_back_sample_for_sample_across_read_blocks() {
        let src = temp("mono16.wav");
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: 8000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        // Longer than three read blocks, and not a whole number of frames.
        let n = READ_BLOCK * 3 / 2 + 77;
        let samples: Vec<i16> = (0..n)
            .map(|i| match i % 1000 {
                0 => i16::MIN,
                1 => i16::MAX,
                _ => ((i as i64 * 7919) % 65_536 - 32_768) as i16,
            })
            .collect();
        let mut w = hound::WavWriter::create(&src, spec).unwrap();
        for s in &samples {
            w.write_sample(*s).unwrap();
        }
        w.finalize().unwrap();
        let mut mic = WavSource::open(&src, 8000).unwrap();
        let mut got = Vec::new();
        let mut frame = [0i16; 160];
        while mic.read_frame(&mut frame).unwrap() {
            got.extend_from_slice(&frame);
        }
        assert_eq!(got.len(), n.div_ceil(160) * 160);
        assert_eq!(&got[..n], &samples[..]);
        assert!(got[n..].iter().all(|s| *s == 0), "the last frame is padded");
        let _ = std::fs::remove_file(src);
    }

    #[test]
    fn broken_files_give_clear_errors() {
        let p = temp("broken.wav");
        std::fs::write(&p, b"RIFF\x10\x00\x00\x00WAVEjunkjunk").unwrap();
        let e = WavSource::open(&p, 8000).unwrap_err();
        assert!(e.to_string().contains("not a readable WAV"), "{e}");
        let missing = WavSource::open(Path::new("/nonexistent/x.wav"), 8000).unwrap_err();
        assert!(matches!(missing, AudioError::Io(..)), "{missing}");
        let _ = std::fs::remove_file(p);
    }
}
