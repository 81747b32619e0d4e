//! Encodes a WAV (mono, codec rate), loses frames, decodes with concealment
//! and writes the result: `loss_sim CODEC IN.wav OUT.wav LOSS [fec]`.
//!
//! LOSS is `N` (every Nth frame), `rP` (P percent at random) or `bP` (P percent
//! in Gilbert-Elliott bursts of four frames on average, as the bench's relay
//! loses them). `LOSS_SEED` varies the pattern. With `fec`, a single lost
//! frame whose successor arrived is rebuilt with `Decoder::recover` (Opus FEC,
//! or G.711 interpolation: what a jitter buffer one frame deep can offer).
//! `LOSS_RELAY=1` draws the pattern as the bench's relay does, so a bench
//! run's seed (`0x5EED + 7919·k`, odd) can be replayed here.
//! `OPUS_COMPLEXITY`, `OPUS_BITRATE` and `OPUS_LOSS` set the encoder as a call
//! would; `OPUS_DEC_COMPLEXITY` the decoder.
//! `scripts/loss-sim.sh` runs it over voices and seeds and scores it with PESQ.
use switchboard_codec::{Codec, Settings};

#[path = "common/pattern.rs"]
mod pattern;

fn main() {
    let a: Vec<String> = std::env::args().collect();
    if a.len() < 5 {
        eprintln!("usage: loss_sim CODEC IN.wav OUT.wav LOSS [fec]");
        std::process::exit(2);
    }
    let codec = Codec::from_name(&a[1]).expect("codec");
    let mut r = hound::WavReader::open(&a[2]).expect("in");
    let pcm: Vec<i16> = r.samples::<i16>().map(|s| s.unwrap()).collect();
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: codec.sample_rate(),
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(&a[3], spec).unwrap();
    // OPUS_COMPLEXITY tries another encoder complexity.
    let mut settings = Settings::default();
    if let Some(c) = std::env::var("OPUS_COMPLEXITY")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        settings.opus_complexity = c;
    }
    // OPUS_BITRATE tries another Opus bitrate (bit/s).
    if let Some(b) = std::env::var("OPUS_BITRATE")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        settings.opus_bitrate = b;
    }
    let mut enc = codec.encoder(&settings).unwrap();
    // OPUS_LOSS: the loss the far end reports (RTCP), as a call sets it.
    if let Some(p) = std::env::var("OPUS_LOSS").ok().and_then(|v| v.parse().ok()) {
        enc.set_loss_percent(p);
    }
    // OPUS_DEC_COMPLEXITY: the decoder's complexity (5 and up: deep PLC).
    let mut dec = match std::env::var("OPUS_DEC_COMPLEXITY")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        Some(c) if codec == Codec::Opus => {
            Box::new(switchboard_codec::opus::OpusDecoder::with_complexity(c).unwrap())
                as Box<dyn switchboard_codec::Decoder>
        }
        _ => codec.decoder().unwrap(),
    };
    let n = codec.frame_samples();
    let frames: Vec<Vec<u8>> = pcm
        .chunks_exact(n)
        .map(|f| {
            let mut b = vec![0u8; 1500];
            let k = enc.encode(f, &mut b).unwrap();
            b.truncate(k);
            b
        })
        .collect();
    // The loss pattern, decided before decoding so `fec` can look ahead.
    let lost = pattern::lost_frames(&a[4], frames.len());
    let fec = a.get(5).is_some();
    // LOSS_SILENCE_AFTER=N: after N frames lost in a row play zeros instead of
    // concealing (what a jitter buffer that takes a long gap for a pause does).
    let silence_after: Option<usize> = std::env::var("LOSS_SILENCE_AFTER")
        .ok()
        .and_then(|v| v.parse().ok());
    let mut run = 0usize;
    let mut out = vec![0i16; n];
    for (i, p) in frames.iter().enumerate() {
        run = if lost[i] { run + 1 } else { 0 };
        if lost[i] && silence_after.is_some_and(|k| run > k) {
            out.fill(0);
        } else if lost[i] {
            let next_here = i + 1 < frames.len() && !lost[i + 1];
            if fec && next_here {
                dec.recover(&frames[i + 1], &mut out).unwrap();
            } else {
                dec.conceal(&mut out).unwrap();
            }
        } else {
            dec.decode(p, &mut out).unwrap();
        }
        for s in &out {
            w.write_sample(*s).unwrap();
        }
    }
    w.finalize().unwrap();
    let lost_n = lost.iter().filter(|l| **l).count();
    eprintln!(
        "{} of {} frames lost ({:.1} %)",
        lost_n,
        frames.len(),
        100.0 * lost_n as f64 / frames.len().max(1) as f64
    );
}
