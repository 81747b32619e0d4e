//! `cargo bench -p switchboard-codec --bench opus_cost`: what one Opus frame
//! costs to encode (and decode) with the settings a call uses, and with each
//! of them changed alone — where the sending side's CPU goes (issue 18).
//!
//! The signal is 30 s of a synthetic voice (a gliding pitch with formant-like
//! harmonics and pauses), fed as 48 kHz to a 48 kHz encoder (as a call does
//! today) or as 16 kHz to a 16 kHz one, then 30 s of digital silence. Prints
//! µs per 20 ms frame, the median of five passes; asserts nothing.

use std::time::Instant;

const SECS: usize = 30;

fn voice(rate: usize) -> Vec<i16> {
    let n = rate * SECS;
    let mut out = Vec::with_capacity(n);
    let mut phase = 0f64;
    for i in 0..n {
        let t = i as f64 / rate as f64;
        // Talk 1.2 s, pause 0.4 s.
        let talking = (t % 1.6) < 1.2;
        let f0 = 110.0 + 40.0 * (t * 0.7).sin();
        phase += 2.0 * std::f64::consts::PI * f0 / rate as f64;
        let mut v = 0.0;
        for (k, a) in [
            (1.0, 1.0),
            (2.0, 0.6),
            (3.0, 0.5),
            (5.0, 0.3),
            (8.0, 0.15),
            (13.0, 0.08),
        ] {
            v += a * (phase * k).sin();
        }
        let s = if talking { v * 3000.0 } else { 0.0 };
        out.push(s.clamp(-32768.0, 32767.0) as i16);
    }
    out
}

struct Config {
    name: &'static str,
    rate: u32,
    complexity: i32,
    fec: bool,
}

fn encoder(c: &Config) -> opus::Encoder {
    let mut e =
        opus::Encoder::new(c.rate, opus::Channels::Mono, opus::Application::Voip).expect("encoder");
    e.set_complexity(c.complexity).expect("complexity");
    // The bitrate a call uses.
    let bitrate =
        i32::try_from(switchboard_codec::Settings::default().opus_bitrate).expect("bitrate");
    e.set_bitrate(opus::Bitrate::Bits(bitrate))
        .expect("bitrate");
    e.set_inband_fec(c.fec).expect("fec");
    e.set_packet_loss_perc(5).expect("loss");
    e.set_signal(opus::Signal::Voice).expect("signal");
    e.set_max_bandwidth(opus::Bandwidth::Wideband)
        .expect("bandwidth");
    e
}

fn main() {
    let configs = [
        Config {
            name: "as a call today: 48 kHz in, complexity 8, FEC on",
            rate: 48_000,
            complexity: 8,
            fec: true,
        },
        Config {
            name: "FEC off",
            rate: 48_000,
            complexity: 8,
            fec: false,
        },
        Config {
            name: "complexity 5",
            rate: 48_000,
            complexity: 5,
            fec: true,
        },
        Config {
            name: "complexity 10 (libopus default)",
            rate: 48_000,
            complexity: 10,
            fec: true,
        },
        Config {
            name: "complexity 6",
            rate: 48_000,
            complexity: 6,
            fec: true,
        },
        Config {
            name: "complexity 6, FEC off",
            rate: 48_000,
            complexity: 6,
            fec: false,
        },
        Config {
            name: "complexity 4",
            rate: 48_000,
            complexity: 4,
            fec: true,
        },
        Config {
            name: "complexity 4, FEC off",
            rate: 48_000,
            complexity: 4,
            fec: false,
        },
        Config {
            name: "complexity 2",
            rate: 48_000,
            complexity: 2,
            fec: true,
        },
        Config {
            name: "16 kHz in",
            rate: 16_000,
            complexity: 8,
            fec: true,
        },
        Config {
            name: "16 kHz in, FEC off",
            rate: 16_000,
            complexity: 8,
            fec: false,
        },
    ];
    let sig48 = voice(48_000);
    let sig16 = voice(16_000);
    let mut packet = [0u8; 1500];
    for c in &configs {
        let (sig, frame) = if c.rate == 48_000 {
            (&sig48, 960)
        } else {
            (&sig16, 320)
        };
        let frames = sig.len() / frame;
        let mut passes = Vec::new();
        let mut bytes = 0usize;
        for _ in 0..5 {
            let mut e = encoder(c);
            let t = Instant::now();
            bytes = 0;
            for f in sig.chunks_exact(frame) {
                bytes += e.encode(f, &mut packet).expect("encode");
            }
            passes.push(t.elapsed().as_secs_f64() * 1e6 / frames as f64);
        }
        passes.sort_by(f64::total_cmp);
        let mut d = opus::Decoder::new(c.rate, opus::Channels::Mono).expect("decoder");
        let mut e = encoder(c);
        let mut pcm = vec![0i16; frame];
        let packets: Vec<Vec<u8>> = sig
            .chunks_exact(frame)
            .map(|f| {
                let n = e.encode(f, &mut packet).expect("encode");
                packet[..n].to_vec()
            })
            .collect();
        let t = Instant::now();
        for p in &packets {
            d.decode(p, &mut pcm, false).expect("decode");
        }
        let dec = t.elapsed().as_secs_f64() * 1e6 / frames as f64;
        println!(
            "{:50} encode {:6.1} µs/frame ({:.2} % of a core), decode {:5.1} µs/frame, {:.1} kbit/s",
            c.name,
            passes[2],
            passes[2] / 20_000.0 * 100.0,
            dec,
            bytes as f64 * 8.0 / SECS as f64 / 1000.0
        );
    }
    // Digital silence (a muted or absent microphone): libopus alone, and the
    // call's encoder, which resends its settled silence packet.
    let zeros = vec![0i16; 48_000 * SECS];
    let frames = zeros.len() / 960;
    let fec_off = configs
        .iter()
        .find(|c| c.name == "FEC off")
        .expect("the FEC-off configuration");
    let mut lib = encoder(fec_off);
    let t = Instant::now();
    for f in zeros.chunks_exact(960) {
        lib.encode(f, &mut packet).expect("encode");
    }
    let lib_us = t.elapsed().as_secs_f64() * 1e6 / frames as f64;
    let settings = switchboard_codec::Settings {
        expected_loss_percent: 0,
        ..Default::default()
    };
    let mut ours = switchboard_codec::opus::OpusEncoder::new(&settings).expect("encoder");
    let t = Instant::now();
    for f in zeros.chunks_exact(960) {
        switchboard_codec::Encoder::encode(&mut ours, f, &mut packet).expect("encode");
    }
    let ours_us = t.elapsed().as_secs_f64() * 1e6 / frames as f64;
    println!(
        "{:50} encode {lib_us:6.1} µs/frame",
        "digital silence, libopus (FEC off)"
    );
    println!(
        "{:50} encode {ours_us:6.1} µs/frame",
        "digital silence, the call's encoder"
    );
}
