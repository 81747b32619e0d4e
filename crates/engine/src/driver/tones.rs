//! The engine's own sounds, each on a thread of its own paced by the clock:
//! the ringer, ringback while our call rings, the headset test. Each runs
//! until its flag is cleared (or its time limit passes).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::{Duration, Instant};

use switchboard_audio::device::DeviceIo;
use switchboard_audio::tones::{Tone, ToneGenerator};
use tokio::sync::mpsc;

use crate::DeviceNames;
use crate::events::{EngineEvent, EventKind};

type Events = mpsc::Sender<EngineEvent>;

/// A sound playing on its own thread; stops when dropped.
#[derive(Debug)]
pub(super) struct Playing(Arc<AtomicBool>);

impl Drop for Playing {
    fn drop(&mut self) {
        self.0.store(false, Relaxed);
    }
}

/// Opens sound devices for a tone of the engine's own; a failure is
/// reported as an `audio_device` event, prefixed with `what`.
fn open_or_report(
    input: Option<&str>,
    output: Option<&str>,
    events: &Events,
    what: &str,
) -> Option<DeviceIo> {
    match DeviceIo::open(input, output) {
        Ok(io) => Some(io),
        Err(e) => {
            let _ = events.try_send(EngineEvent::now(EventKind::AudioDevice {
                call: None,
                message: format!("{what}: {e}"),
            }));
            None
        }
    }
}

/// Plays `tone` on `io`'s output in 20 ms frames, paced by the clock, until
/// `flag` is cleared (or `limit` passes); `tick` runs after each frame with
/// its number (the headset test reads the microphone there).
fn tone_loop(
    io: &mut DeviceIo,
    tone: Tone,
    flag: &AtomicBool,
    limit: Option<Duration>,
    mut tick: impl FnMut(&mut DeviceIo, u32),
) {
    let rate = io.output_rate();
    let mut tone = ToneGenerator::new(tone, rate);
    let mut frame = vec![0i16; (rate / 50) as usize];
    let start = Instant::now();
    let mut k = 0u32;
    while flag.load(Relaxed) && limit.is_none_or(|l| start.elapsed() < l) {
        tone.fill(&mut frame);
        io.write(&frame, frame.len() * 5);
        k += 1;
        tick(io, k);
        let due = start + Duration::from_millis(20 * u64::from(k));
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
    }
}

fn spawn(name: &str, body: impl FnOnce(Arc<AtomicBool>) + Send + 'static) -> Playing {
    let flag = Arc::new(AtomicBool::new(true));
    let f = flag.clone();
    let _ = std::thread::Builder::new()
        .name(name.into())
        .spawn(move || body(f));
    Playing(flag)
}

/// The ring cadence on the ringer device; a separate headset rings too,
/// softly in the ear, so an operator wearing it hears the call either way.
pub(super) fn ring(devices: &DeviceNames, ringer: Option<&str>, events: &Events) -> Vec<Playing> {
    let mut outputs = vec![(ringer.map(str::to_owned), Tone::ring())];
    if ringer.is_some() && ringer != devices.output.as_deref() {
        let mut soft = Tone::ring();
        soft.level = 0.2;
        outputs.push((devices.output.clone(), soft));
    }
    outputs
        .into_iter()
        .map(|(device, tone)| {
            let events = events.clone();
            spawn("switchboard-ringer", move |flag| {
                if let Some(mut io) =
                    open_or_report(None, device.as_deref(), &events, "cannot ring")
                {
                    tone_loop(&mut io, tone, &flag, None, |_, _| {});
                }
            })
        })
        .collect()
}

/// Ringback on the headset while our call rings (we have no early media to
/// play instead); three minutes at most.
pub(super) fn ringback(devices: &DeviceNames, events: &Events) -> Playing {
    let output = devices.output.clone();
    let events = events.clone();
    spawn("switchboard-ringback", move |flag| {
        if let Some(mut io) = open_or_report(None, output.as_deref(), &events, "ringback") {
            tone_loop(
                &mut io,
                Tone::ringback(),
                &flag,
                Some(Duration::from_secs(180)),
                |_, _| {},
            );
        }
    })
}

/// The headset test: a tone on the output, the microphone's level as
/// `mic_test` events (the loudest 20 ms frame of each 100 ms), for a
/// minute at most.
pub(super) fn device_test(names: DeviceNames, events: &Events) -> Playing {
    let events = events.clone();
    spawn("switchboard-device-test", move |flag| {
        let Some(mut io) = open_or_report(
            names.input.as_deref(),
            names.output.as_deref(),
            &events,
            "headset test",
        ) else {
            return;
        };
        let (input, output) = {
            let (i, o) = io.names();
            (i.to_owned(), o.to_owned())
        };
        let mut mic = vec![0i16; (io.input_rate() / 50) as usize];
        let mut loudest = -120f32;
        tone_loop(
            &mut io,
            Tone::test(),
            &flag,
            Some(Duration::from_secs(60)),
            |io, k| {
                let backlog = mic.len() * 10;
                loop {
                    let n = io.read(&mut mic, backlog);
                    if let Some(got) = mic.get(..n).filter(|g| !g.is_empty()) {
                        loudest = loudest.max(switchboard_audio::Level::of(got).rms_dbfs());
                    }
                    if n < mic.len() {
                        break;
                    }
                }
                if k.is_multiple_of(5) {
                    let _ = events.try_send(EngineEvent::now(EventKind::MicTest {
                        mic_dbfs: loudest,
                        input: input.clone(),
                        output: output.clone(),
                    }));
                    loudest = -120.0;
                }
            },
        );
    })
}
