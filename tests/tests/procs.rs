//! The test suite's own process and port rules (tests/src/procs.rs), against
//! real processes: a stopped peer takes its forked children with it, one that
//! ignores SIGTERM is killed, a daemon that left its group is found by its
//! mark, and ports handed out are never ones the kernel gives to port 0.

use std::process::Command;
use std::time::{Duration, Instant};

use switchboard_interop::procs::{
    Guard, alive, free_port, free_ports, group_members, marked, stop_marked,
};

/// Waits (bounded) until `f` holds.
fn eventually(what: &str, f: impl Fn() -> bool) {
    let until = Instant::now() + Duration::from_secs(10);
    while !f() {
        assert!(Instant::now() < until, "{what}: not within 10 s");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn stopping_a_peer_stops_the_children_it_forked() {
    // Like kamailio: a main process and forked workers in one group.
    let mut peer = Guard::spawn(
        Command::new("sh").args(["-c", "sleep 60 & sleep 60 & wait"]),
        "sh",
    );
    let pgid = peer.pid();
    eventually("three processes in the group", || {
        group_members(pgid).len() == 3
    });
    let members = group_members(pgid);
    peer.stop();
    for pid in members {
        assert!(!alive(pid), "pid {pid} of the group outlived the stop");
    }
}

#[test]
fn a_peer_that_ignores_sigterm_is_killed_after_the_grace() {
    let mut peer = Guard::spawn(
        Command::new("sh")
            .args(["-c", "trap '' TERM; echo up; while :; do sleep 1; done"])
            .stdout(std::process::Stdio::piped()),
        "sh",
    );
    let pid = peer.pid();
    // "up" is printed once the trap is set.
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(peer.0.stdout.take().expect("stdout")),
        &mut line,
    )
    .expect("read");
    assert_eq!(line.trim(), "up");
    let started = Instant::now();
    peer.stop();
    assert!(!alive(pid), "still alive after stop");
    assert!(
        started.elapsed() >= Duration::from_secs(4),
        "it was given its grace before SIGKILL"
    );
}

#[test]
fn a_daemon_that_left_its_group_is_found_by_its_mark() {
    let mark = format!("procs-test-{}", std::process::id());
    // Whatever happens below, nothing marked outlives the test.
    struct Sweep(String);
    impl Drop for Sweep {
        fn drop(&mut self) {
            stop_marked("SWITCHBOARD_PROCS_TEST", &self.0);
        }
    }
    let _sweep = Sweep(mark.clone());
    // setsid: the daemon leaves the group its parent was started in; it
    // says its pid once it has (the shell it runs in execs sleep).
    let mut parent = Guard::spawn(
        Command::new("sh")
            .args(["-c", "setsid sh -c 'echo $$; exec sleep 60' &"])
            .env("SWITCHBOARD_PROCS_TEST", &mark)
            .stdout(std::process::Stdio::piped()),
        "sh",
    );
    let group = parent.pid();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(parent.0.stdout.take().expect("stdout")),
        &mut line,
    )
    .expect("read the daemon's pid");
    let daemon: u32 = line.trim().parse().expect("a pid");
    let pgrp = |pid: u32| {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let f: Vec<String> = stat
            .rsplit_once(')')
            .map(|(_, r)| r.split_whitespace().map(str::to_owned).collect())
            .unwrap_or_default();
        f.get(2).and_then(|g| g.parse::<u32>().ok())
    };
    assert_ne!(pgrp(daemon), Some(group), "the daemon left the group");
    // (Its environment may be unreadable for a moment while it execs.)
    eventually("the daemon is found by its mark", || {
        marked("SWITCHBOARD_PROCS_TEST", &mark).contains(&daemon)
    });
    parent.stop();
    assert!(alive(daemon), "the daemon outlived its group");
    // (Its environment may again be unreadable for a moment on a busy machine.)
    eventually(
        "the daemon, and only it, is still found by its mark",
        || marked("SWITCHBOARD_PROCS_TEST", &mark) == [daemon],
    );
    assert_eq!(stop_marked("SWITCHBOARD_PROCS_TEST", &mark), 1);
    assert!(marked("SWITCHBOARD_PROCS_TEST", &mark).is_empty());
}

#[test]
fn free_ports_are_distinct_and_outside_the_ephemeral_range() {
    let range = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .expect("ip_local_port_range");
    let mut it = range.split_whitespace().map(|v| v.parse::<u16>().unwrap());
    let (lo, hi) = (it.next().unwrap(), it.next().unwrap());
    let block = free_ports(22);
    let ports: Vec<u16> = (0..200).map(|_| free_port()).collect();
    for p in &ports {
        assert!(
            !(block..block + 22).contains(p),
            "{p} is inside the block {block}+22 handed out before"
        );
    }
    let distinct: std::collections::BTreeSet<_> = ports.iter().collect();
    assert_eq!(distinct.len(), ports.len(), "a port was handed out twice");
    for p in ports {
        assert!(
            !(lo..=hi).contains(&p),
            "{p} is in the ephemeral range {lo}-{hi}"
        );
    }
}
