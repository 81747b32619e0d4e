#![no_main]
// a=crypto values (RFC 4568): what parses prints back to the same.
libfuzzer_sys::fuzz_target!(|data: &[u8]| switchboard_media::fuzzing::crypto_attribute(data));
