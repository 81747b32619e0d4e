//! Sound-card input and output through cpal, behind lock-free rings.
//!
//! ```text
//!  cpal input callback ──▶ rtrb ring (mono i16) ──▶ DeviceIo::read   (engine, every 20 ms)
//!  DeviceIo::write ──▶ rtrb ring (mono i16) ──▶ cpal output callback
//! ```
//!
//! The callbacks only convert samples and move them through the rings: no
//! lock, no allocation, no logging. An overrun (the engine did not read in
//! time) drops the newest input; an underrun (nothing to play) plays silence;
//! both are counted in atomics. cpal streams are not `Send` on every platform,
//! so they live on their own thread, which holds them until the `DeviceIo` is
//! dropped. A stream error (a headset unplugged) sets a flag the engine polls to
//! reopen the default device.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use cpal::{FromSample, Sample, SizedSample};

use crate::AudioError;

/// Counters shared with the audio callbacks.
#[derive(Debug, Default)]
pub struct Counters {
    /// Output callbacks that found too few samples (silence played).
    pub underruns: AtomicU64,
    /// Input samples dropped because the ring was full.
    pub overruns: AtomicU64,
    /// Buffer under- or overruns the sound system reported and recovered
    /// from by itself (a glitch, not a lost device).
    pub xruns: AtomicU64,
    /// A stream reported an error it does not recover from (device gone).
    pub failed: AtomicBool,
}

impl Counters {
    /// Sorts a stream error: glitches the backend recovers from by itself
    /// are counted; anything else means the device must be reopened.
    fn stream_error(&self, e: &cpal::Error) {
        use cpal::ErrorKind;
        match e.kind() {
            ErrorKind::Xrun => {
                self.xruns.fetch_add(1, Ordering::Relaxed);
            }
            // The stream keeps running in both cases.
            ErrorKind::DeviceChanged | ErrorKind::RealtimeDenied => {}
            _ => self.failed.store(true, Ordering::Relaxed),
        }
    }
}

/// An open input/output device pair.
pub struct DeviceIo {
    input: Option<rtrb::Consumer<i16>>,
    output: Option<rtrb::Producer<i16>>,
    in_rate: u32,
    out_rate: u32,
    names: (String, String),
    counters: Arc<Counters>,
    stop: Option<std::sync::mpsc::Sender<()>>,
}

impl std::fmt::Debug for DeviceIo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceIo")
            .field("input", &self.names.0)
            .field("output", &self.names.1)
            .field("in_rate", &self.in_rate)
            .field("out_rate", &self.out_rate)
            .finish()
    }
}

/// A device as listed for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceInfo {
    /// Human-readable name (what `--mic-device` / the settings match).
    pub name: String,
    /// It can record.
    pub input: bool,
    /// It can play.
    pub output: bool,
}

/// ALSA plugins that are not a place to hear or speak (rate converters,
/// channel mixers, the null device): not offered to the operator.
const NOT_DEVICES: &[&str] = &[
    "Discard all samples",
    "Rate Converter Plugin",
    "Plugin using Speex DSP",
    "Plugin for channel",
    "JACK Audio Connection Kit",
    "Open Sound System",
];

/// Every device the default host offers that an operator could choose.
pub fn list_devices() -> Vec<DeviceInfo> {
    let host = cpal::default_host();
    let Ok(devices) = host.devices() else {
        return Vec::new();
    };
    devices
        .filter_map(|d| {
            let name = d.description().ok()?.name().to_owned();
            if NOT_DEVICES.iter().any(|n| name.starts_with(n)) {
                return None;
            }
            Some(DeviceInfo {
                name,
                input: d.supports_input(),
                output: d.supports_output(),
            })
        })
        .collect()
}

fn find(host: &cpal::Host, name: Option<&str>, input: bool) -> Result<cpal::Device, AudioError> {
    let default = || {
        if input {
            host.default_input_device()
        } else {
            host.default_output_device()
        }
    };
    let Some(wanted) = name else {
        return default().ok_or_else(|| AudioError::Device("no default audio device".into()));
    };
    let devices = host
        .devices()
        .map_err(|e| AudioError::Device(format!("cannot list audio devices: {e}")))?;
    for d in devices {
        let ok = if input {
            d.supports_input()
        } else {
            d.supports_output()
        };
        let matches = d
            .description()
            .map(|desc| desc.name().to_lowercase().contains(&wanted.to_lowercase()))
            .unwrap_or(false);
        if ok && matches {
            return Ok(d);
        }
    }
    Err(AudioError::Device(format!(
        "no audio device named {wanted:?}"
    )))
}

/// Ring capacity: 400 ms of mono 48 kHz.
const RING: usize = 19_200;

impl DeviceIo {
    /// Opens the named devices (a case-insensitive substring of the name), or
    /// the defaults.
    pub fn open(input: Option<&str>, output: Option<&str>) -> Result<DeviceIo, AudioError> {
        let input = input.map(str::to_owned);
        let output = output.map(str::to_owned);
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
        let counters = Arc::new(Counters::default());
        let c2 = counters.clone();
        std::thread::Builder::new()
            .name("switchboard-audio".into())
            .spawn(move || {
                let opened = open_streams(input.as_deref(), output.as_deref(), &c2);
                match opened {
                    Ok((streams, io)) => {
                        let _ = ready_tx.send(Ok(io));
                        // Hold the streams until the DeviceIo is dropped.
                        let _ = stop_rx.recv();
                        drop(streams);
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                    }
                }
            })
            .map_err(|e| AudioError::Device(format!("cannot start the audio thread: {e}")))?;
        let opened = ready_rx
            .recv()
            .map_err(|_| AudioError::Device("the audio thread stopped".into()))??;
        Ok(DeviceIo {
            input: Some(opened.input),
            output: Some(opened.output),
            in_rate: opened.in_rate,
            out_rate: opened.out_rate,
            names: opened.names,
            counters,
            stop: Some(stop_tx),
        })
    }

    /// The input device's sample rate.
    pub fn input_rate(&self) -> u32 {
        self.in_rate
    }

    /// The output device's sample rate.
    pub fn output_rate(&self) -> u32 {
        self.out_rate
    }

    /// The devices' names (input, output).
    pub fn names(&self) -> (&str, &str) {
        (&self.names.0, &self.names.1)
    }

    /// Samples waiting from the microphone.
    pub fn available(&self) -> usize {
        self.input.as_ref().map_or(0, |c| c.slots())
    }

    /// Takes `out.len()` microphone samples (padding with silence if the device
    /// has not delivered that many yet); returns how many were real. If more
    /// than `max_backlog` samples wait, the oldest are dropped first so the
    /// delay stays bounded when the card's clock runs faster than ours.
    pub fn read(&mut self, out: &mut [i16], max_backlog: usize) -> usize {
        let Some(c) = self.input.as_mut() else {
            out.fill(0);
            return 0;
        };
        let waiting = c.slots();
        if waiting > max_backlog + out.len() {
            let drop_n = waiting - max_backlog - out.len();
            if let Ok(chunk) = c.read_chunk(drop_n) {
                chunk.commit_all();
            }
        }
        let n = c.slots().min(out.len());
        let mut got = 0;
        if let Ok(chunk) = c.read_chunk(n) {
            let (a, b) = chunk.as_slices();
            for (o, s) in out.iter_mut().zip(a.iter().chain(b.iter())) {
                *o = *s;
                got += 1;
            }
            chunk.commit_all();
        }
        if let Some(rest) = out.get_mut(got..) {
            rest.fill(0);
        }
        got
    }

    /// Queues samples for the speaker; returns how many fitted. If more than
    /// `max_queued` samples are already waiting, the frame is dropped (the card
    /// runs slower than our clock).
    pub fn write(&mut self, frame: &[i16], max_queued: usize) -> usize {
        let Some(p) = self.output.as_mut() else {
            return 0;
        };
        let queued = RING - p.slots();
        if queued > max_queued {
            return 0;
        }
        let n = p.slots().min(frame.len());
        let mut put = 0;
        if let Ok(mut chunk) = p.write_chunk(n) {
            let (a, b) = chunk.as_mut_slices();
            for (d, s) in a.iter_mut().chain(b.iter_mut()).zip(frame) {
                *d = *s;
                put += 1;
            }
            chunk.commit_all();
        }
        put
    }

    /// Whether a stream failed (the device went away).
    pub fn failed(&self) -> bool {
        self.counters.failed.load(Ordering::Relaxed)
    }

    /// The shared counters.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }
}

impl Drop for DeviceIo {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

struct Opened {
    input: rtrb::Consumer<i16>,
    output: rtrb::Producer<i16>,
    in_rate: u32,
    out_rate: u32,
    names: (String, String),
}

fn open_streams(
    input: Option<&str>,
    output: Option<&str>,
    counters: &Arc<Counters>,
) -> Result<((cpal::Stream, cpal::Stream), Opened), AudioError> {
    let host = cpal::default_host();
    let in_dev = find(&host, input, true)?;
    let out_dev = find(&host, output, false)?;
    let name = |d: &cpal::Device| {
        d.description()
            .map(|x| x.name().to_owned())
            .unwrap_or_else(|_| "?".into())
    };
    let names = (name(&in_dev), name(&out_dev));
    let in_cfg = in_dev
        .default_input_config()
        .map_err(|e| AudioError::Device(format!("{}: {e}", names.0)))?;
    let out_cfg = out_dev
        .default_output_config()
        .map_err(|e| AudioError::Device(format!("{}: {e}", names.1)))?;
    let (in_prod, in_cons) = rtrb::RingBuffer::<i16>::new(RING);
    let (out_prod, out_cons) = rtrb::RingBuffer::<i16>::new(RING);
    let in_rate = in_cfg.sample_rate();
    let out_rate = out_cfg.sample_rate();
    let in_stream = build_input(&in_dev, in_cfg, in_prod, counters.clone())
        .map_err(|e| AudioError::Device(format!("{}: {e}", names.0)))?;
    let out_stream = build_output(&out_dev, out_cfg, out_cons, counters.clone())
        .map_err(|e| AudioError::Device(format!("{}: {e}", names.1)))?;
    in_stream
        .play()
        .map_err(|e| AudioError::Device(format!("{}: {e}", names.0)))?;
    out_stream
        .play()
        .map_err(|e| AudioError::Device(format!("{}: {e}", names.1)))?;
    Ok((
        (in_stream, out_stream),
        Opened {
            input: in_cons,
            output: out_prod,
            in_rate,
            out_rate,
            names,
        },
    ))
}

fn build_input(
    dev: &cpal::Device,
    cfg: cpal::SupportedStreamConfig,
    prod: rtrb::Producer<i16>,
    counters: Arc<Counters>,
) -> Result<cpal::Stream, cpal::Error> {
    let format = cfg.sample_format();
    let config: cpal::StreamConfig = cfg.into();
    match format {
        cpal::SampleFormat::F32 => input_stream::<f32>(dev, config, prod, counters),
        cpal::SampleFormat::I32 => input_stream::<i32>(dev, config, prod, counters),
        cpal::SampleFormat::U16 => input_stream::<u16>(dev, config, prod, counters),
        _ => input_stream::<i16>(dev, config, prod, counters),
    }
}

fn build_output(
    dev: &cpal::Device,
    cfg: cpal::SupportedStreamConfig,
    cons: rtrb::Consumer<i16>,
    counters: Arc<Counters>,
) -> Result<cpal::Stream, cpal::Error> {
    let format = cfg.sample_format();
    let config: cpal::StreamConfig = cfg.into();
    match format {
        cpal::SampleFormat::F32 => output_stream::<f32>(dev, config, cons, counters),
        cpal::SampleFormat::I32 => output_stream::<i32>(dev, config, cons, counters),
        cpal::SampleFormat::U16 => output_stream::<u16>(dev, config, cons, counters),
        _ => output_stream::<i16>(dev, config, cons, counters),
    }
}

fn input_stream<T>(
    dev: &cpal::Device,
    config: cpal::StreamConfig,
    mut prod: rtrb::Producer<i16>,
    counters: Arc<Counters>,
) -> Result<cpal::Stream, cpal::Error>
where
    T: SizedSample + Send + 'static,
    i16: FromSample<T>,
{
    let ch = usize::from(config.channels.max(1));
    let err_counters = counters.clone();
    dev.build_input_stream(
        config,
        move |data: &[T], _: &cpal::InputCallbackInfo| {
            for frame in data.chunks(ch) {
                let sum: i32 = frame.iter().map(|s| i32::from(i16::from_sample(*s))).sum();
                let mono = (sum / frame.len().max(1) as i32) as i16;
                if prod.push(mono).is_err() {
                    counters.overruns.fetch_add(1, Ordering::Relaxed);
                }
            }
        },
        move |e| err_counters.stream_error(&e),
        None,
    )
}

fn output_stream<T>(
    dev: &cpal::Device,
    config: cpal::StreamConfig,
    mut cons: rtrb::Consumer<i16>,
    counters: Arc<Counters>,
) -> Result<cpal::Stream, cpal::Error>
where
    T: SizedSample + FromSample<i16> + Send + 'static,
{
    let ch = usize::from(config.channels.max(1));
    let err_counters = counters.clone();
    dev.build_output_stream(
        config,
        move |data: &mut [T], _: &cpal::OutputCallbackInfo| {
            let mut short = false;
            for frame in data.chunks_mut(ch) {
                let s = match cons.pop() {
                    Ok(s) => s,
                    Err(_) => {
                        short = true;
                        0
                    }
                };
                let v = T::from_sample(s);
                for o in frame.iter_mut() {
                    *o = v;
                }
            }
            if short {
                counters.underruns.fetch_add(1, Ordering::Relaxed);
            }
        },
        move |e| err_counters.stream_error(&e),
        None,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_xrun_is_counted_and_does_not_lose_the_device() {
        let c = Counters::default();
        c.stream_error(&cpal::ErrorKind::Xrun.into());
        c.stream_error(&cpal::ErrorKind::Xrun.into());
        assert_eq!(c.xruns.load(Ordering::Relaxed), 2);
        assert!(!c.failed.load(Ordering::Relaxed));
        c.stream_error(&cpal::ErrorKind::DeviceNotAvailable.into());
        assert!(c.failed.load(Ordering::Relaxed));
    }

    #[test]
    fn a_backend_error_means_the_device_is_reopened() {
        let c = Counters::default();
        c.stream_error(&cpal::ErrorKind::BackendError.into());
        assert!(c.failed.load(Ordering::Relaxed));
    }
}
