//! Skips that cannot be missed.
//!
//! A test that cannot run here (no shared test data, no sound card) calls
//! [`skip`]: the line goes straight to the process's stderr, past the test
//! harness's output capture, so `cargo test` shows it without `--nocapture`;
//! and when the test binary exits, a count of every skip it made is printed
//! after the harness's own `test result:` line. The harness still reports
//! such a test as `ok` — which is why `scripts/test.sh` sets the `REQUIRE`
//! variables that turn every skip into a failure.

use std::io::Write;
use std::sync::{Mutex, Once};

static SKIPPED: Mutex<Vec<String>> = Mutex::new(Vec::new());
static AT_EXIT: Once = Once::new();

/// Records that the running test is skipped because of `why`, and says so
/// on stderr now and again when the binary exits.
pub fn skip(why: &str) {
    let test = std::thread::current().name().unwrap_or("a test").to_owned();
    let line = format!("{test}: {why}");
    // Straight to fd 2: `eprintln!` inside a test is captured and dropped on success.
    let _ = writeln!(std::io::stderr().lock(), "\n*** SKIPPED {line} ***");
    if let Ok(mut s) = SKIPPED.lock() {
        s.push(line);
    }
    AT_EXIT.call_once(register_report);
}

/// How many tests of this binary have skipped so far.
pub fn skipped() -> usize {
    SKIPPED.lock().map(|s| s.len()).unwrap_or(0)
}

#[allow(unsafe_code)]
fn register_report() {
    // SAFETY: atexit(3) with a plain `extern "C"` function that takes no
    // arguments; it only locks a static and writes to stderr.
    unsafe {
        libc::atexit(report);
    }
}

extern "C" fn report() {
    let Ok(s) = SKIPPED.lock() else { return };
    let mut err = std::io::stderr().lock();
    let _ = writeln!(
        err,
        "\n*** {} test(s) in {} SKIPPED, not passed:",
        s.len(),
        std::env::args().next().unwrap_or_default()
    );
    for line in s.iter() {
        let _ = writeln!(err, "***   {line}");
    }
}
