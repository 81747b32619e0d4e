//! What the media tests share: addresses, the test voice, and the
//! correlation that says whether it came out of the other side.
#![allow(dead_code)] // each test file uses some of these

use std::net::SocketAddr;

pub(crate) fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// A voice-like test signal: two partials with a slow amplitude envelope.
pub(crate) fn signal(rate: u32, n: usize) -> Vec<i16> {
    (0..n)
        .map(|i| {
            let t = i as f64 / f64::from(rate);
            let env = 0.55 + 0.45 * (t * 2.0 * std::f64::consts::PI * 1.3).sin();
            let s = (t * 2.0 * std::f64::consts::PI * 310.0).sin()
                + 0.6 * (t * 2.0 * std::f64::consts::PI * 770.0).sin();
            (s * env * 9_000.0) as i16
        })
        .collect()
}

/// Best normalised cross-correlation of `got` against `sent` over lags
/// below `max_lag` samples: (correlation, lag).
pub(crate) fn correlate(sent: &[i16], got: &[i16], max_lag: usize) -> (f64, usize) {
    let mut best = (f64::MIN, 0);
    let len = sent.len().min(got.len()).saturating_sub(max_lag);
    for lag in 0..max_lag {
        let (mut xy, mut xx, mut yy) = (0.0, 0.0, 0.0);
        for i in 0..len {
            let x = f64::from(sent[i]);
            let y = f64::from(got[i + lag]);
            xy += x * y;
            xx += x * x;
            yy += y * y;
        }
        let c = if xx > 0.0 && yy > 0.0 {
            xy / (xx * yy).sqrt()
        } else {
            0.0
        };
        if c > best.0 {
            best = (c, lag);
        }
    }
    best
}
