//! Sample-rate conversion of 20 ms frames (device or file rate ↔ codec rate)
//! with rubato's synchronous FFT resampler. Equal rates pass through untouched.
//! Buffers are allocated at construction; `process` allocates nothing.

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Resampler as _};

use crate::CodecError;

/// Converts mono 20 ms frames from one rate to another.
pub struct FrameResampler {
    inner: Option<Fft<f32>>,
    blocks: usize,
    input: Vec<f32>,
    output: Vec<f32>,
    in_frame: usize,
    out_frame: usize,
}

impl std::fmt::Debug for FrameResampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrameResampler")
            .field("in_frame", &self.in_frame)
            .field("out_frame", &self.out_frame)
            .finish()
    }
}

impl FrameResampler {
    /// A converter from `from` Hz to `to` Hz for 20 ms frames (both rates must
    /// be multiples of 50 Hz).
    pub fn new(from: u32, to: u32) -> Result<FrameResampler, CodecError> {
        if from == 0 || to == 0 || !from.is_multiple_of(50) || !to.is_multiple_of(50) {
            return Err(CodecError::Library("sample rate not a multiple of 50 Hz"));
        }
        let in_frame = (from / 50) as usize;
        let out_frame = (to / 50) as usize;
        // The FFT resampler delays by half a block, so a 20 ms frame is cut into
        // blocks of about 2 ms of output (both sides whole numbers of samples).
        let blocks = block_count(in_frame, out_frame, (to / 100).max(8) as usize);
        let inner = if from == to {
            None
        } else {
            Some(
                Fft::<f32>::new(
                    from as usize,
                    to as usize,
                    in_frame / blocks,
                    1,
                    FixedSync::Both,
                )
                .map_err(|_| CodecError::Library("resampler rejected the rates"))?,
            )
        };
        Ok(FrameResampler {
            blocks,
            inner,
            input: vec![0.0; in_frame],
            output: vec![0.0; out_frame * 2],
            in_frame,
            out_frame,
        })
    }

    /// Samples per input frame.
    pub fn input_frame(&self) -> usize {
        self.in_frame
    }

    /// Samples per output frame.
    pub fn output_frame(&self) -> usize {
        self.out_frame
    }

    /// Delay the conversion adds, in output samples.
    pub fn delay(&self) -> usize {
        self.inner.as_ref().map_or(0, |r| r.output_delay())
    }

    /// Converts one frame (`input_frame()` samples) into `output_frame()` samples.
    pub fn process(&mut self, input: &[i16], output: &mut [i16]) -> Result<(), CodecError> {
        if input.len() != self.in_frame {
            return Err(CodecError::BadFrameSize(input.len()));
        }
        let Some(out) = output.get_mut(..self.out_frame) else {
            return Err(CodecError::OutputTooSmall);
        };
        let Some(r) = self.inner.as_mut() else {
            out.copy_from_slice(input);
            return Ok(());
        };
        for (d, s) in self.input.iter_mut().zip(input) {
            *d = f32::from(*s) / 32768.0;
        }
        let (bin, bout) = (self.in_frame / self.blocks, self.out_frame / self.blocks);
        let mut produced_total = 0;
        for k in 0..self.blocks {
            let src = self
                .input
                .get(k * bin..(k + 1) * bin)
                .ok_or(CodecError::Library("resampler input"))?;
            let dst = self
                .output
                .get_mut(k * bout..)
                .ok_or(CodecError::Library("resampler output"))?;
            let cap = dst.len();
            let a = InterleavedSlice::new(src, 1, bin)
                .map_err(|_| CodecError::Library("resampler input"))?;
            let mut b = InterleavedSlice::new_mut(dst, 1, cap)
                .map_err(|_| CodecError::Library("resampler output"))?;
            let (_, produced) = r
                .process_into_buffer(&a, &mut b, None)
                .map_err(|_| CodecError::Library("resampling failed"))?;
            produced_total += produced;
        }
        for (i, o) in out.iter_mut().enumerate() {
            let v = if i < produced_total {
                self.output.get(i).copied().unwrap_or(0.0)
            } else {
                0.0
            };
            *o = (v * 32768.0).clamp(-32768.0, 32767.0) as i16;
        }
        Ok(())
    }
}

/// The most blocks a frame can be cut into with whole-sample blocks on both
/// sides and at least `min_out` output samples per block.
fn block_count(in_frame: usize, out_frame: usize, min_out: usize) -> usize {
    let (mut a, mut b) = (in_frame, out_frame);
    while b != 0 {
        (a, b) = (b, a % b);
    }
    (1..=a)
        .rev()
        .find(|k| a % k == 0 && out_frame / k >= min_out)
        .unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tone_keeps_its_frequency_and_level_across_rates() {
        for (from, to) in [
            (48_000, 8_000),
            (8_000, 48_000),
            (16_000, 48_000),
            (44_100, 8_000),
        ] {
            let mut r = FrameResampler::new(from, to).unwrap();
            let (fi, fo) = (r.input_frame(), r.output_frame());
            let mut out_all = Vec::new();
            let mut out = vec![0i16; fo];
            for k in 0..50 {
                let frame: Vec<i16> = (0..fi)
                    .map(|i| {
                        let t = (k * fi + i) as f64 / f64::from(from);
                        ((t * 2.0 * std::f64::consts::PI * 1000.0).sin() * 10_000.0) as i16
                    })
                    .collect();
                r.process(&frame, &mut out).unwrap();
                out_all.extend_from_slice(&out);
            }
            // Zero crossings of a 1 kHz tone over the last half second: ~1000.
            let tail = &out_all[out_all.len() / 2..];
            let crossings = tail.windows(2).filter(|w| (w[0] < 0) != (w[1] < 0)).count();
            assert!(
                (980..=1020).contains(&crossings),
                "{from}->{to}: {crossings}"
            );
            let rms = (tail.iter().map(|s| f64::from(*s).powi(2)).sum::<f64>() / tail.len() as f64)
                .sqrt();
            assert!((6_500.0..7_600.0).contains(&rms), "{from}->{to}: rms {rms}");
        }
    }

    #[test]
    fn equal_rates_pass_through_and_bad_rates_are_refused() {
        let mut r = FrameResampler::new(8000, 8000).unwrap();
        let input: Vec<i16> = (0..160).map(|i| i as i16).collect();
        let mut out = vec![0; 160];
        r.process(&input, &mut out).unwrap();
        assert_eq!(input, out);
        assert_eq!(r.delay(), 0);
        assert!(FrameResampler::new(8001, 8000).is_err());
        assert_eq!(
            r.process(&input[..10], &mut out),
            Err(CodecError::BadFrameSize(10))
        );
    }
}
