//! A real cpal path: play a tone to the default output and record it back
//! from the default input. `scripts/test.sh` provides these headless with a
//! PulseAudio null sink whose monitor is the default source.

use std::time::{Duration, Instant};

use switchboard_audio::Level;
use switchboard_audio::device::{DeviceIo, list_devices};

fn open() -> Option<DeviceIo> {
    match DeviceIo::open(None, None) {
        Ok(d) => Some(d),
        Err(e) => {
            let required = std::env::var_os("SWITCHBOARD_REQUIRE_AUDIO").is_some();
            assert!(
                !required,
                "no audio device although the test command set one up: {e}"
            );
            switchboard_testkit::skip(&format!(
                "no audio device ({e}); run scripts/headless-audio.sh"
            ));
            None
        }
    }
}

#[test]
fn a_tone_played_to_the_output_comes_back_on_the_input() {
    let Some(mut dev) = open() else { return };
    assert!(!list_devices().is_empty());
    let (out_rate, in_rate) = (dev.output_rate(), dev.input_rate());
    let frame_out = (out_rate / 50) as usize;
    let frame_in = (in_rate / 50) as usize;
    let mut tone = vec![0i16; frame_out];
    let mut rec = vec![0i16; frame_in];
    let mut recorded = Vec::new();
    let start = Instant::now();
    let mut k = 0usize;
    // Capture through the pulse plugin starts late: play 4 s, judge the last second.
    while start.elapsed() < Duration::from_secs(4) {
        for (i, s) in tone.iter_mut().enumerate() {
            let t = (k * frame_out + i) as f64 / f64::from(out_rate);
            *s = ((t * 2.0 * std::f64::consts::PI * 1000.0).sin() * 12_000.0) as i16;
        }
        k += 1;
        dev.write(&tone, frame_out * 6);
        let due = start + Duration::from_millis(20 * k as u64);
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
        while dev.available() >= frame_in {
            dev.read(&mut rec, frame_in * 10);
            recorded.extend_from_slice(&rec);
        }
    }
    assert!(!dev.failed(), "the device was lost while playing");
    let tail = &recorded[recorded.len().saturating_sub(in_rate as usize)..];
    let level = Level::of(tail);
    assert!(
        level.rms_dbfs() > -30.0,
        "recorded level {} dBFS",
        level.rms_dbfs()
    );
    let crossings = tail.windows(2).filter(|w| (w[0] < 0) != (w[1] < 0)).count();
    let seconds = tail.len() as f64 / f64::from(in_rate);
    let freq = crossings as f64 / 2.0 / seconds;
    assert!((950.0..1050.0).contains(&freq), "recorded {freq} Hz");
    eprintln!(
        "devices {:?}: {freq:.0} Hz at {:.1} dBFS, underruns {}, xruns {}",
        dev.names(),
        level.rms_dbfs(),
        dev.counters()
            .underruns
            .load(std::sync::atomic::Ordering::Relaxed),
        dev.counters()
            .xruns
            .load(std::sync::atomic::Ordering::Relaxed)
    );
}

#[test]
fn a_device_that_does_not_exist_is_a_clear_error() {
    let e = DeviceIo::open(Some("no such headset 4711"), None).unwrap_err();
    assert!(e.to_string().contains("no such headset 4711"), "{e}");
}
