//! G.711 against the ITU-T G.191 (STL) exhaustive sweep: every 16-bit input's
//! code and every code's decoded value must match the reference bit for bit.

use std::path::Path;

use switchboard_codec::g711::{alaw_to_linear, linear_to_alaw, linear_to_ulaw, ulaw_to_linear};
use switchboard_testkit::corpus::testdata_dir;

fn words(path: &Path) -> Vec<i16> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(
        bytes.len(),
        65536 * 2,
        "{} is not a 64 Ki-word sweep",
        path.display()
    );
    bytes
        .chunks_exact(2)
        .map(|c| i16::from_le_bytes([c[0], c[1]]))
        .collect()
}

fn check(encode: fn(i16) -> u8, decode: fn(u8) -> i16, codes: &str, decoded: &str) {
    let Some(dir) = testdata_dir() else { return };
    let dir = dir.join("g711/itu-t-g191-stl");
    let input = words(&dir.join("sweep.src"));
    assert_eq!(input.first(), Some(&i16::MIN), "sweep starts at -32768");
    let want_codes = words(&dir.join(codes));
    let want_lin = words(&dir.join(decoded));
    let mut code_mismatch = Vec::new();
    let mut lin_mismatch = Vec::new();
    for ((x, code), lin) in input.iter().zip(&want_codes).zip(&want_lin) {
        let got = encode(*x);
        if u16::from(got) != (*code as u16 & 0xff) {
            code_mismatch.push((*x, got, *code));
        }
        if decode(got) != *lin {
            lin_mismatch.push((*x, decode(got), *lin));
        }
    }
    assert!(
        code_mismatch.is_empty(),
        "{} of 65536 codes differ from {codes}; first: {:?}",
        code_mismatch.len(),
        code_mismatch.first()
    );
    assert!(
        lin_mismatch.is_empty(),
        "{} of 65536 decoded values differ from {decoded}; first: {:?}",
        lin_mismatch.len(),
        lin_mismatch.first()
    );
}

#[test]
fn mu_law_matches_the_itu_reference_for_all_65536_inputs() {
    check(linear_to_ulaw, ulaw_to_linear, "sweep-r.u", "sweep-r.u-u");
}

#[test]
fn a_law_matches_the_itu_reference_for_all_65536_inputs() {
    check(linear_to_alaw, alaw_to_linear, "sweep-r.a", "sweep-r.a-a");
}

#[test]
fn decode_tables_match_the_published_tsv() {
    let Some(dir) = testdata_dir() else { return };
    let text = std::fs::read_to_string(dir.join("g711/g711-decode-tables.tsv")).expect("tsv");
    let mut rows = 0;
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let cols: Vec<&str> = line.split('\t').collect();
        let Some(code) = cols.first().and_then(|c| parse_code(c)) else {
            continue; // header row
        };
        let alaw: i16 = cols[1].trim().parse().expect("A-law column");
        let ulaw: i16 = cols[2].trim().parse().expect("mu-law column");
        assert_eq!(alaw_to_linear(code), alaw, "A-law code {code:#04x}");
        assert_eq!(ulaw_to_linear(code), ulaw, "mu-law code {code:#04x}");
        rows += 1;
    }
    assert_eq!(rows, 256);
}

fn parse_code(s: &str) -> Option<u8> {
    let s = s.trim();
    u8::from_str_radix(s.strip_prefix("0x").unwrap_or(s), 16).ok()
}
