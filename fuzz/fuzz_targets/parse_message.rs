#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| switchboard_sip::fuzzing::parse_round_trip(data));
