#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| switchboard_sip::fuzzing::stream_framing(data));
