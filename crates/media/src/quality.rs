//! A MOS estimate from call statistics: the ITU-T G.107 E-model, reduced to
//! what a phone measures (codec, packet loss, one-way delay), as a live
//! quality figure for the operator — not a replacement for PESQ.

use switchboard_codec::Codec;

/// Equipment impairment `Ie` and packet-loss robustness `Bpl` per codec
/// (G.113 Appendix I values for G.711 with concealment; Opus and G.722 are
/// wideband and robust, taken from published E-model extensions, scaled to
/// the narrowband R range).
fn impairment(codec: Codec) -> (f64, f64) {
    match codec {
        Codec::Pcmu | Codec::Pcma => (0.0, 25.1),
        Codec::G722 => (0.0, 25.0),
        Codec::Opus => (0.0, 30.0),
    }
}

/// MOS (1.0–4.5) for a call with this codec, loss (0–1) and one-way delay.
pub fn mos_estimate(codec: Codec, loss: f64, one_way_delay_ms: f64) -> f64 {
    let (ie, bpl) = impairment(codec);
    let ppl = (loss.clamp(0.0, 1.0)) * 100.0;
    let ie_eff = ie + (95.0 - ie) * ppl / (ppl + bpl);
    let d = one_way_delay_ms.max(0.0);
    // Delay impairment (G.107 simplified): grows past ~177 ms.
    let id = 0.024 * d + if d > 177.3 { 0.11 * (d - 177.3) } else { 0.0 };
    let r = (93.2 - id - ie_eff).clamp(0.0, 100.0);
    let mos = 1.0 + 0.035 * r + 7.0e-6 * r * (r - 60.0) * (100.0 - r);
    mos.clamp(1.0, 4.5)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_short_calls_score_high_and_loss_and_delay_lower_it() {
        let clean = mos_estimate(Codec::Pcmu, 0.0, 20.0);
        assert!(clean > 4.3, "{clean}");
        let lossy = mos_estimate(Codec::Pcmu, 0.05, 20.0);
        assert!(lossy < clean - 0.4, "{lossy}");
        let far = mos_estimate(Codec::Pcmu, 0.0, 400.0);
        assert!(far < 3.7, "{far}");
        assert!(
            mos_estimate(Codec::Opus, 0.05, 20.0) > lossy,
            "Opus takes loss better"
        );
        assert_eq!(mos_estimate(Codec::Pcmu, 1.0, 10_000.0), 1.0);
    }
}
