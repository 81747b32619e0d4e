//! Encodes a WAV (mono, codec rate), drops every Nth frame, decodes with
//! concealment and writes the result: `loss_sim CODEC IN.wav OUT.wav N [fec]`.
use switchboard_codec::{Codec, Settings};

fn main() {
    let a: Vec<String> = std::env::args().collect();
    let codec = Codec::from_name(&a[1]).expect("codec");
    let mut r = hound::WavReader::open(&a[2]).expect("in");
    let pcm: Vec<i16> = r.samples::<i16>().map(|s| s.unwrap()).collect();
    // N: lose every Nth frame; rP: lose P percent at random (seeded).
    let (every, random): (usize, f64) = match a[4].strip_prefix('r') {
        Some(p) => (0, p.parse::<f64>().unwrap() / 100.0),
        None => (a[4].parse().unwrap(), 0.0),
    };
    // LOSS_SEED varies the random pattern (a 12 s clip has only ~18 losses).
    let mut seed: u64 = std::env::var("LOSS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5EED);
    let mut unit = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed >> 11) as f64 / (1u64 << 53) as f64
    };
    let fec = a.get(5).is_some();
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: codec.sample_rate(),
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(&a[3], spec).unwrap();
    let mut enc = codec.encoder(&Settings::default()).unwrap();
    let mut dec = codec.decoder().unwrap();
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
    let mut out = vec![0i16; n];
    for (i, p) in frames.iter().enumerate() {
        let lost = (every > 0 && i % every == every - 1) || (random > 0.0 && unit() < random);
        if lost {
            if fec && i + 1 < frames.len() {
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
}
