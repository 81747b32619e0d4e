//! The network goes away and comes back: in a private network namespace,
//! kamailio listens on 10.77.0.1, an address on `lo`; removing the address
//! leaves no route to it (the link to the PBX is gone), adding it back
//! restores it. The registration fails at once instead of after a timeout,
//! and registers again as soon as the way to the registrar is back, not
//! after its 30-60 s back-off.

use std::process::Command;
use std::time::{Duration, Instant};

use switchboard_interop::{Agent, Kamailio, enter_private_netns};

const PBX: std::net::Ipv4Addr = std::net::Ipv4Addr::new(10, 77, 0, 1);

/// `ip addr add|del 10.77.0.1/32 dev lo`.
fn address(op: &str) {
    let ok = Command::new("ip")
        .args(["addr", op, "10.77.0.1/32", "dev", "lo"])
        .status()
        .expect("run ip");
    assert!(ok.success(), "ip addr {op}");
}

#[test]
fn registration_comes_back_with_the_network_not_after_the_back_off() {
    enter_private_netns();
    address("add");
    let kamailio = Kamailio::start_at(PBX, switchboard_interop::procs::free_port());
    let registrar = kamailio.uri();
    let mut agent = Agent::start_with_env(
        &[
            "--bind",
            "0.0.0.0:0",
            "--registrar",
            &registrar,
            "--username",
            "alice",
            "--expires",
            "10",
            "--register-retry",
            "30",
            "register",
        ],
        &[("SWITCHBOARD_PASSWORD", "secret")],
    );
    agent.wait_for("registered", Duration::from_secs(10));
    address("del");
    // The refresh (at 5 s) cannot be sent: it fails then, not 32 s later.
    let failed = agent.wait_for("registration_failed", Duration::from_secs(15));
    let retry = failed["retry_in_s"].as_u64().unwrap_or(0);
    assert!(retry >= 30, "the back-off stands: {failed}");
    assert!(
        failed["reason"]
            .as_str()
            .unwrap_or("")
            .contains("cannot send"),
        "{failed}"
    );
    let back = Instant::now();
    address("add");
    agent.wait_for("registered", Duration::from_secs(10));
    let took = back.elapsed();
    eprintln!("registered again {took:?} after the network came back (back-off was {retry} s)");
    assert!(
        took < Duration::from_secs(retry / 2),
        "registered with the network, not with the back-off: {took:?}"
    );
    drop(agent);
    drop(kamailio);
}
