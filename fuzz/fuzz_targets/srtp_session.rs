#![no_main]
// Arbitrary datagrams into an SRTP-keyed RTP session: nothing panics.
libfuzzer_sys::fuzz_target!(|data: &[u8]| switchboard_media::fuzzing::srtp_session_datagrams(data));
