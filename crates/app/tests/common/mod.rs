//! What the desk's tests share: a call as the engine reports it.
#![allow(dead_code)] // each test file uses some of these

use switchboard_engine::events::EventKind;

/// Mari Maasikas calls through the `queue` queue, as a PBX would announce
/// her (P-Asserted-Identity over an anonymous From, queue and IVR headers);
/// the SIP Call-ID is `call-CALL@test`.
pub(crate) fn incoming_in_queue(call: u64, queue: &str) -> EventKind {
    EventKind::Incoming {
        call,
        call_id: format!("call-{call}@test"),
        from: "<sip:anonymous@pbx>;tag=1".into(),
        to: "<sip:agent@pbx>".into(),
        headers: vec![
            ("From".into(), "<sip:anonymous@pbx>;tag=1".into()),
            (
                "P-Asserted-Identity".into(),
                "\"Mari Maasikas\" <sip:+3725551234@pbx>".into(),
            ),
            ("X-Queue".into(), queue.into()),
            ("X-IVR-Data".into(), "account=100200300".into()),
        ],
    }
}
