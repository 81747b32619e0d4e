//! The loss pattern the offline studies (`loss_sim`, `dred_sim`) share.
//!
//! LOSS is `N` (every Nth frame), `rP` (P percent at random) or `bP` (P
//! percent in Gilbert-Elliott bursts of four frames on average, as the
//! bench's relay loses them). `LOSS_SEED` varies the pattern; `LOSS_RELAY=1`
//! draws as the bench's relay does (one more number per packet it forwards,
//! for the delay), so `LOSS_SEED=s` loses the very packets the bench's relay
//! loses with seed `s` (`0x5EED + 7919·k`, made odd).

/// Which of `frames` frames are lost under `spec`.
pub(crate) fn lost_frames(spec: &str, frames: usize) -> Vec<bool> {
    let mut seed: u64 = std::env::var("LOSS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5EED)
        .max(1);
    let mut unit = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed >> 11) as f64 / (1u64 << 53) as f64
    };
    let relay = std::env::var_os("LOSS_RELAY").is_some();
    let mut bad = false;
    (0..frames)
        .map(|i| {
            let lost = if let Some(p) = spec.strip_prefix('r') {
                unit() < p.parse::<f64>().expect("loss percent") / 100.0
            } else if let Some(p) = spec.strip_prefix('b') {
                // Into the bad state with p·q/(1−p), out with q = 1/4 per frame.
                let p = p.parse::<f64>().expect("loss percent") / 100.0;
                let back = 0.25;
                bad = if bad {
                    unit() >= back
                } else {
                    unit() < p * back / (1.0 - p)
                };
                bad
            } else {
                let every: usize = spec.parse().expect("loss spec: N, rP or bP");
                i % every == every - 1
            };
            if relay && !lost {
                unit();
            }
            lost
        })
        .collect()
}
