//! The RFC 4317 offer/answer examples (../shared/testdata/sdp-rfc4317): every
//! file parses and prints back, and our answers follow the RFC where our
//! codecs allow (we have no iLBC, H.261 or MPV).

use switchboard_codec::Codec;
use switchboard_media::offer_answer::{LocalMedia, NegotiationError, accept_answer, answer};
use switchboard_media::sdp::{Direction, SessionDescription};
use switchboard_testkit::corpus::testdata_dir;

fn load(name: &str) -> Option<SessionDescription> {
    let dir = testdata_dir()?.join("sdp-rfc4317");
    let bytes = std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    Some(SessionDescription::parse(&bytes).unwrap_or_else(|e| panic!("{name}: {e}")))
}

fn bob() -> LocalMedia {
    LocalMedia::new(
        vec![Codec::Pcmu, Codec::Pcma],
        "192.0.2.20".parse().unwrap(),
        49174,
        2808844564,
    )
}

#[test]
fn every_file_parses_and_prints_back_byte_for_byte() {
    let Some(dir) = testdata_dir() else { return };
    let dir = dir.join("sdp-rfc4317");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("sdp dir") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "sdp") {
            continue;
        }
        let bytes = std::fs::read(&path).expect("read");
        let sd =
            SessionDescription::parse(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(
            sd.to_bytes(),
            bytes,
            "{} does not print back as read",
            path.display()
        );
        n += 1;
    }
    assert_eq!(n, 7, "the seven RFC 4317 files");
}

#[test]
fn section_2_1_audio_and_video_offer_keeps_pcmu_and_rejects_video() {
    let Some(offer) = load("2.1-offer.sdp") else {
        return;
    };
    let Some(rfc_answer) = load("2.1-answer.sdp") else {
        return;
    };
    let (ours, n) = answer(&bob(), &offer).unwrap();
    assert_eq!(n.codec, Codec::Pcmu, "Bob keeps PCMU as in the RFC");
    assert_eq!(n.payload_type, 0);
    assert_eq!(n.direction, Direction::SendRecv);
    assert_eq!(n.remote, None, "the offer names a host, not an address");
    assert_eq!(ours.media.len(), 2, "one m= line per offered line");
    assert_eq!(ours.media[0].formats, rfc_answer.media[0].formats);
    assert_eq!(ours.media[1].kind, "video");
    assert_eq!(ours.media[1].port, 0, "we have no video: rejected");
    // Alice reads the RFC's own answer: PCMU.
    let alice = LocalMedia::new(
        vec![Codec::Pcmu, Codec::Pcma],
        "192.0.2.10".parse().unwrap(),
        49170,
        2890844526,
    );
    assert_eq!(
        accept_answer(&alice, &rfc_answer).unwrap().codec,
        Codec::Pcmu
    );
}

#[test]
fn section_3_1_offer_of_pcmu_and_ilbc_gets_pcmu_from_us() {
    let Some(offer) = load("3.1-offer.sdp") else {
        return;
    };
    let (ours, n) = answer(&bob(), &offer).unwrap();
    // The RFC's Bob picks iLBC; we have no iLBC, so PCMU (also offered) is right.
    assert_eq!(n.codec, Codec::Pcmu);
    assert_eq!(ours.media[0].formats, ["0"]);
}

#[test]
fn section_3_1_hold_answer_is_read_as_recvonly() {
    let Some(offer) = load("3.1-offer.sdp") else {
        return;
    };
    let Some(rfc_answer_2) = load("3.1-answer-2.sdp") else {
        return;
    };
    assert_eq!(
        rfc_answer_2.direction_of(&rfc_answer_2.media[0]),
        Direction::RecvOnly
    );
    // Our own hold of the same stream: a sendonly re-offer gets recvonly back.
    let text = String::from_utf8(offer.to_bytes()).unwrap() + "a=sendonly\r\n";
    let hold = SessionDescription::parse(text.as_bytes()).unwrap();
    let (ours, n) = answer(&bob(), &hold).unwrap();
    assert_eq!(n.direction, Direction::RecvOnly);
    assert_eq!(ours.direction_of(&ours.media[0]), Direction::RecvOnly);
}

#[test]
fn ilbc_only_hold_offer_has_no_codec_in_common() {
    let Some(offer2) = load("3.1-offer-2.sdp") else {
        return;
    };
    assert_eq!(offer2.direction_of(&offer2.media[0]), Direction::SendOnly);
    assert_eq!(
        answer(&bob(), &offer2).unwrap_err(),
        NegotiationError::NoCommonCodec
    );
}

#[test]
fn section_4_3_disabled_video_stays_disabled() {
    let Some(offer) = load("4.3-offer-2.sdp") else {
        return;
    };
    let (ours, n) = answer(&bob(), &offer).unwrap();
    assert_eq!(n.codec, Codec::Pcmu);
    assert_eq!(ours.media[1].port, 0);
    assert_eq!(ours.media[1].kind, "video");
}
