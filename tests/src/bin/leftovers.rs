//! The test suite's last check: no process it started is still alive.
//!
//! `scripts/test.sh` marks the run by exporting `SWITCHBOARD_TEST_RUN`;
//! every process the tests start inherits the mark in its environment, even
//! one that forked away from its process group (a daemon calling `setsid`).
//! This looks for the mark in every process's `/proc/PID/environ`, leaving
//! out itself and its ancestors (the script and cargo). Each process found
//! is named, then stopped (SIGTERM, two seconds, SIGKILL), and the check
//! fails: a leftover is a bug in the test that started it.

use switchboard_interop::procs::{marked, parent, stop_marked};

const MARK: &str = "SWITCHBOARD_TEST_RUN";

fn main() {
    let Some(run) = std::env::var(MARK).ok().filter(|v| !v.is_empty()) else {
        eprintln!("leftovers: {MARK} is not set; scripts/test.sh sets it");
        std::process::exit(2);
    };
    let left = marked(MARK, &run);
    if left.is_empty() {
        println!("leftovers: no process of this test run is alive");
        return;
    }
    eprintln!(
        "leftovers: {} process(es) started by the tests are still alive:",
        left.len()
    );
    for pid in &left {
        let cmd = std::fs::read(format!("/proc/{pid}/cmdline"))
            .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
            .unwrap_or_default();
        eprintln!("  pid {pid} (parent {:?}): {}", parent(*pid), cmd.trim());
    }
    stop_marked(MARK, &run);
    eprintln!("leftovers: stopped them; the test that started each must stop it itself");
    std::process::exit(1);
}
