//! Offline study of Opus DRED against bursts: `dred_sim IN.wav OUT.wav LOSS LOOKAHEAD DRED_FRAMES`.
//!
//! Encodes a 48 kHz mono WAV as a call did when this was written
//! (complexity 8, `OPUS_BITRATE` default 48 kbit/s, wideband, in-band FEC
//! `OPUS_FEC` on, for `OPUS_LOSS` percent, default 10) with DRED of
//! `DRED_FRAMES` 10-ms frames (0: off), loses frames as `loss_sim` does
//! (`bP`, `LOSS_SEED`, `LOSS_RELAY`), and decodes with a jitter buffer
//! `LOOKAHEAD` frames deep: a lost frame whose successor arrived is rebuilt
//! from its LBRR; one whose first arrived successor is further ahead, but
//! within the look-ahead, from that packet's DRED; otherwise deep PLC.
//! Prints the frames each way took and the encoder's µs a frame.
#![allow(unsafe_code)]

use opusic_sys as ffi;

#[path = "common/pattern.rs"]
mod pattern;
use std::time::Instant;

fn env(name: &str, default: i32) -> i32 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let a: Vec<String> = std::env::args().collect();
    if a.len() < 6 {
        eprintln!("usage: dred_sim IN.wav OUT.wav LOSS LOOKAHEAD DRED_FRAMES");
        std::process::exit(2);
    }
    let mut r = hound::WavReader::open(&a[1]).expect("in");
    let pcm: Vec<i16> = r.samples::<i16>().map(|s| s.unwrap()).collect();
    let look: usize = a[4].parse().unwrap();
    let dred_frames: i32 = a[5].parse().unwrap();
    let loss_pc = env("OPUS_LOSS", 10);
    const N: usize = 960;
    let mut err = 0;
    let enc = unsafe { ffi::opus_encoder_create(48_000, 1, ffi::OPUS_APPLICATION_VOIP, &mut err) };
    assert!(!enc.is_null() && err == 0);
    unsafe {
        ffi::opus_encoder_ctl(enc, ffi::OPUS_SET_COMPLEXITY_REQUEST, 8);
        ffi::opus_encoder_ctl(
            enc,
            ffi::OPUS_SET_BITRATE_REQUEST,
            env("OPUS_BITRATE", 48_000),
        );
        ffi::opus_encoder_ctl(enc, ffi::OPUS_SET_INBAND_FEC_REQUEST, env("OPUS_FEC", 1));
        ffi::opus_encoder_ctl(enc, ffi::OPUS_SET_PACKET_LOSS_PERC_REQUEST, loss_pc);
        ffi::opus_encoder_ctl(enc, ffi::OPUS_SET_SIGNAL_REQUEST, ffi::OPUS_SIGNAL_VOICE);
        ffi::opus_encoder_ctl(
            enc,
            ffi::OPUS_SET_MAX_BANDWIDTH_REQUEST,
            ffi::OPUS_BANDWIDTH_WIDEBAND,
        );
        if dred_frames > 0 {
            let rc = ffi::opus_encoder_ctl(enc, ffi::OPUS_SET_DRED_DURATION_REQUEST, dred_frames);
            assert_eq!(rc, 0, "DRED duration");
        }
    }
    let t = Instant::now();
    let frames: Vec<Vec<u8>> = pcm
        .chunks_exact(N)
        .map(|f| {
            let mut b = vec![0u8; 1500];
            let k = unsafe { ffi::opus_encode(enc, f.as_ptr(), N as i32, b.as_mut_ptr(), 1500) };
            assert!(k > 0);
            b.truncate(k as usize);
            b
        })
        .collect();
    let enc_us = t.elapsed().as_secs_f64() * 1e6 / frames.len() as f64;
    let bytes: usize = frames.iter().map(Vec::len).sum();
    let lost = pattern::lost_frames(&a[3], frames.len());
    let dec = unsafe { ffi::opus_decoder_create(48_000, 1, &mut err) };
    unsafe { ffi::opus_decoder_ctl(dec, ffi::OPUS_SET_COMPLEXITY_REQUEST, 5) };
    let dred_dec = unsafe { ffi::opus_dred_decoder_create(&mut err) };
    let dred = unsafe { ffi::opus_dred_alloc(&mut err) };
    assert!(!dec.is_null() && !dred_dec.is_null() && !dred.is_null());
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 48_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(&a[2], spec).unwrap();
    let mut out = vec![0i16; N];
    // Whether packet `j` carries DRED that reaches back to frame `i`.
    let parses_dred = |f: &[u8], i: usize, j: usize| {
        let mut end = 0;
        let got = unsafe {
            ffi::opus_dred_parse(
                dred_dec,
                dred,
                f.as_ptr(),
                f.len() as i32,
                dred_frames * 480,
                48_000,
                &mut end,
                0,
            )
        };
        let offset = ((j - i) * N) as i32;
        if std::env::var_os("DRED_DEBUG").is_some() {
            eprintln!("frame {i}: packet {j} parse {got} end {end} offset {offset}");
        }
        got > 0 && offset <= got
    };
    let (mut by_fec, mut by_dred, mut by_plc) = (0, 0, 0);
    for i in 0..frames.len() {
        // Decodes packet `f` (its LBRR for the frame before it with `fec` 1).
        let mut decode = |f: &[u8], fec: i32| unsafe {
            ffi::opus_decode(
                dec,
                f.as_ptr(),
                f.len() as i32,
                out.as_mut_ptr(),
                N as i32,
                fec,
            )
        };
        let n = if !lost[i] {
            decode(&frames[i], 0)
        } else {
            let next = (i + 1..=(i + look).min(frames.len() - 1)).find(|&j| !lost[j]);
            match next {
                Some(j) if j == i + 1 => {
                    by_fec += 1;
                    decode(&frames[j], 1)
                }
                Some(j) if dred_frames > 0 && parses_dred(&frames[j], i, j) => {
                    by_dred += 1;
                    let offset = ((j - i) * N) as i32;
                    unsafe {
                        ffi::opus_decoder_dred_decode(dec, dred, offset, out.as_mut_ptr(), N as i32)
                    }
                }
                _ => {
                    by_plc += 1;
                    unsafe {
                        ffi::opus_decode(dec, std::ptr::null(), 0, out.as_mut_ptr(), N as i32, 0)
                    }
                }
            }
        };
        assert_eq!(n, N as i32, "frame {i}");
        for s in &out {
            w.write_sample(*s).unwrap();
        }
    }
    w.finalize().unwrap();
    eprintln!(
        "lost {} · lbrr {by_fec} dred {by_dred} plc {by_plc} · encode {enc_us:.0} µs/frame · {:.1} kbit/s",
        lost.iter().filter(|l| **l).count(),
        bytes as f64 * 8.0 / (frames.len() as f64 * 0.02) / 1000.0
    );
}
