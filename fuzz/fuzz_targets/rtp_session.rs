#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| switchboard_media::fuzzing::session_datagrams(data));
