//! `bench --flood`: the headless agent under a flood of OPTIONS with fresh
//! branches (a scanner, a broken PBX), at rising rates, one run each: how
//! many were answered, what it cost in CPU, how far its memory grew. The
//! bounded test with the call's audio is `tests/tests/hostile_network.rs`.

use std::net::UdpSocket;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use switchboard_interop::{Agent, free_port, proc_usage};

/// Requests a second, each run ten seconds.
const RATES: [u64; 3] = [5_000, 10_000, 20_000];

fn options(to: &str, from: std::net::SocketAddr, n: u64) -> String {
    format!(
        "OPTIONS sip:service@{to} SIP/2.0\r\nVia: SIP/2.0/UDP {from};branch=z9hG4bK-f{n:x};rport\r\n\
         Max-Forwards: 70\r\nFrom: <sip:flood@{from}>;tag={n:x}\r\nTo: <sip:service@{to}>\r\n\
         Call-ID: f{n:x}@bench\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
    )
}

/// One run at `rate` for ten seconds; prints a row.
fn run_at(rate: u64) {
    let bind = format!("127.0.0.1:{}", free_port());
    let mut agent = Agent::start(&[
        "--bind",
        &bind,
        "--user",
        "service",
        "--no-devices",
        "listen",
    ]);
    agent.wait_for("listening", Duration::from_secs(10));
    let sock = UdpSocket::bind("127.0.0.1:0").expect("bind");
    sock.set_read_timeout(Some(Duration::from_millis(100)))
        .expect("timeout");
    let from = sock.local_addr().expect("addr");
    let answered = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let (sock, answered, stop) = (
            sock.try_clone().expect("clone"),
            answered.clone(),
            stop.clone(),
        );
        std::thread::spawn(move || {
            let mut buf = [0u8; 2048];
            while !stop.load(Ordering::Relaxed) {
                if let Ok(n) = sock.recv(&mut buf)
                    && buf.get(..12) == Some(b"SIP/2.0 200 ")
                {
                    let _ = n;
                    answered.fetch_add(1, Ordering::Relaxed);
                }
            }
        })
    };
    let before = proc_usage(agent.pid());
    let start = Instant::now();
    let total = rate * 10;
    for n in 0..total {
        let due = start + Duration::from_nanos(n * 1_000_000_000 / rate);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let _ = sock.send_to(options(&bind, from, n).as_bytes(), &bind);
    }
    let sent_in = start.elapsed();
    std::thread::sleep(Duration::from_secs(1));
    let after = proc_usage(agent.pid());
    stop.store(true, Ordering::Relaxed);
    let _ = reader.join();
    agent.terminate();
    let _ = agent.wait_exit(Duration::from_secs(10));
    println!(
        "| {rate}/s for {:.1} s | {} of {total} answered | {:.2} s CPU a second | RSS {:.1} → {:.1} MB (peak {:.1}) |",
        sent_in.as_secs_f64(),
        answered.load(Ordering::Relaxed),
        (after.cpu_secs - before.cpu_secs) / sent_in.as_secs_f64(),
        before.rss_kb as f64 / 1024.0,
        after.rss_kb as f64 / 1024.0,
        after.peak_kb as f64 / 1024.0,
    );
}

pub(crate) fn run() {
    println!("| flood | answered | agent CPU | agent memory |");
    println!("|---|---|---|---|");
    for rate in RATES {
        run_at(rate);
    }
}
