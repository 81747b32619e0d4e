#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| switchboard_media::fuzzing::sdp_round_trip(data));
