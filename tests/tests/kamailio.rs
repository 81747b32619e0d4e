//! kamailio as a registrar with digest auth on 127.0.0.1.

use std::time::Duration;

use switchboard_interop::{Agent, Kamailio};

/// kamailio, its port and its log.
fn start_kamailio_logged() -> (Kamailio, u16, std::path::PathBuf) {
    let k = Kamailio::start();
    let (port, log) = (k.port, k.log.clone());
    (k, port, log)
}

fn start_kamailio() -> (Kamailio, u16) {
    let (k, port, _) = start_kamailio_logged();
    (k, port)
}

#[test]
fn registers_refreshes_and_unregisters_with_digest_auth() {
    let (_k, kport) = start_kamailio();
    let registrar = format!("sip:127.0.0.1:{kport}");
    let bind = String::from("127.0.0.1:0"); // the kernel picks; kamailio learns it from REGISTER
    let mut agent = Agent::start_with_env(
        &[
            "--bind",
            &bind,
            "--registrar",
            &registrar,
            "--username",
            "alice",
            "--expires",
            "4",
            "register",
        ],
        &[("SWITCHBOARD_PASSWORD", "secret")],
    );
    let first = agent.wait_for("registered", Duration::from_secs(10));
    assert_eq!(first["expires"], 4);
    // Refreshed before expiry (at half the lifetime here).
    agent.wait_for("registered", Duration::from_secs(6));
    agent.terminate();
    agent.wait_for("unregistered", Duration::from_secs(10));
    assert_eq!(agent.wait_exit(Duration::from_secs(10)), 0);
}

#[test]
fn wrong_password_gives_a_clear_registration_failed_event() {
    let (_k, kport) = start_kamailio();
    let registrar = format!("sip:127.0.0.1:{kport}");
    let bind = String::from("127.0.0.1:0"); // the kernel picks; kamailio learns it from REGISTER
    let mut agent = Agent::start_with_env(
        &[
            "--bind",
            &bind,
            "--registrar",
            &registrar,
            "--username",
            "alice",
            "register",
        ],
        &[("SWITCHBOARD_PASSWORD", "wrong")],
    );
    let failed = agent.wait_for("registration_failed", Duration::from_secs(10));
    assert_eq!(failed["status"], 401);
    assert!(
        failed["reason"]
            .as_str()
            .unwrap_or("")
            .contains("credentials rejected"),
        "{failed}"
    );
    // The agent stays up and tries again later (the password may be fixed
    // on the PBX's side), not in a tight loop: the first wait is 30–60 s.
    keeps_retrying(&mut agent, &failed);
    assert_eq!(agent.count("registered"), 0);
}

/// The failure schedules a retry within the default back-off, and the
/// agent is still running (an agent that registers does not give up).
fn keeps_retrying(agent: &mut Agent, failed: &serde_json::Value) {
    let retry = failed["retry_in_s"].as_u64().unwrap_or(0);
    assert!((30..=60).contains(&retry), "{failed}");
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        switchboard_interop::procs::alive(agent.pid()),
        "the agent gave up after one failure"
    );
    agent.terminate();
}

#[test]
fn a_challenge_for_a_foreign_realm_is_not_answered() {
    let (_k, kport) = start_kamailio();
    let registrar = format!("sip:127.0.0.1:{kport}");
    let bind = String::from("127.0.0.1:0"); // the kernel picks; kamailio learns it from REGISTER
    let mut agent = Agent::start_with_env(
        &[
            "--bind",
            &bind,
            "--registrar",
            &registrar,
            "--username",
            "alice",
            "--realm",
            "pbx.example.com",
            "register",
        ],
        &[("SWITCHBOARD_PASSWORD", "secret")],
    );
    let failed = agent.wait_for("registration_failed", Duration::from_secs(10));
    assert!(
        failed["reason"].as_str().unwrap_or("").contains("realm"),
        "{failed}"
    );
    keeps_retrying(&mut agent, &failed);
}

/// An agent registered at `k` as `user`, listening for calls.
fn registered_listener(k: &Kamailio, user: &str) -> Agent {
    registered_listener_with(k, user, &[])
}

/// [`registered_listener`] with more `listen` options (`--auto-answer`).
fn registered_listener_with(k: &Kamailio, user: &str, extra: &[&str]) -> Agent {
    let mut agent = k.agent(user, &[&["listen"][..], extra].concat());
    agent.wait_for("registered", Duration::from_secs(10));
    agent
}

/// An agent registered at `k` as `user` that calls `target` once registered
/// (and goes along when its peer transfers it: the callers here are
/// transferred on purpose; the agent's default is to refuse).
fn registered_caller(k: &Kamailio, user: &str, target: &str) -> Agent {
    k.agent(user, &["--transfer-policy", "accept", "call", target])
}

#[test]
fn two_registered_agents_call_through_the_proxy_and_the_callee_hangs_up() {
    let (_k, kport, log) = start_kamailio_logged();
    let wait = Duration::from_secs(10);
    let mut bob = registered_listener(&_k, "bob");
    // The proxy challenges the INVITE with 407; the caller answers it and is routed to bob.
    let mut alice = registered_caller(&_k, "alice", &format!("sip:bob@127.0.0.1:{kport}"));
    alice.wait_for("registered", wait);
    let inc = bob.wait_for("incoming", wait);
    assert!(
        inc["from"].as_str().unwrap_or("").contains("alice"),
        "{inc}"
    );
    alice.wait_for("ringing", wait);
    bob.command("answer");
    bob.wait_for("established", wait);
    alice.wait_for("established", wait);
    // The callee's BYE follows the Record-Route set back through the proxy.
    bob.command("hangup");
    let ended = alice.wait_for("ended", wait);
    assert_eq!(ended["reason"], "remote_hangup", "{ended}");
    assert_eq!(bob.wait_for("ended", wait)["reason"], "local_hangup");
    assert_eq!(alice.wait_exit(wait), 0, "a completed call exits 0");
    let log = std::fs::read_to_string(&log).unwrap_or_default();
    let challenged = log.find("INVITE challenged sip:alice@");
    let accepted = log.find("INVITE ok sip:alice@");
    assert!(
        challenged.is_some() && accepted > challenged,
        "the INVITE must pass the proxy's 407 challenge; kamailio log:\n{log}"
    );
}

#[test]
fn a_call_through_the_proxy_is_cancelled_while_ringing() {
    let (_k, kport) = start_kamailio();
    let wait = Duration::from_secs(10);
    let mut bob = registered_listener(&_k, "bob");
    let mut alice = registered_caller(&_k, "alice", &format!("sip:bob@127.0.0.1:{kport}"));
    bob.wait_for("incoming", wait);
    alice.wait_for("ringing", wait);
    alice.command("hangup");
    assert_eq!(alice.wait_for("ended", wait)["reason"], "cancelled");
    assert_eq!(bob.wait_for("ended", wait)["reason"], "remote_cancelled");
    assert_eq!(bob.count("established"), 0);
}

#[test]
fn a_call_to_an_unregistered_user_fails_with_404() {
    let (_k, kport) = start_kamailio();
    let wait = Duration::from_secs(10);
    let mut alice = registered_caller(&_k, "alice", &format!("sip:nobody@127.0.0.1:{kport}"));
    let ended = alice.wait_for("ended", wait);
    assert_eq!(ended["reason"], "rejected", "{ended}");
    assert_eq!(ended["status"], 404, "{ended}");
    assert_ne!(alice.wait_exit(wait), 0);
}

#[test]
fn a_blind_transfer_by_extension_goes_through_the_proxy() {
    let (_k, kport) = start_kamailio();
    let wait = Duration::from_secs(10);
    let mut carol = registered_listener_with(&_k, "carol", &["--auto-answer"]);
    let mut bob = registered_listener_with(&_k, "bob", &["--auto-answer"]);
    let mut alice = registered_caller(&_k, "alice", &format!("sip:bob@127.0.0.1:{kport}"));
    alice.wait_for("established", wait);
    let call = bob.wait_for("established", wait)["call"].as_u64().unwrap();
    // The operator types just the extension: it is dialled at the registrar.
    bob.command(&format!("transfer carol {call}"));
    let t = alice.wait_for("transferred", wait);
    assert_eq!(t["target"], format!("sip:carol@127.0.0.1:{kport}"), "{t}");
    let inc = carol.wait_for("incoming", wait);
    assert!(
        inc["from"].as_str().unwrap_or("").contains("alice"),
        "{inc}"
    );
    carol.wait_for("established", wait);
    assert_eq!(bob.transfer_status(), 200);
    assert_eq!(bob.wait_for("ended", wait)["reason"], "local_hangup");
    alice.command(&format!("hangup {}", t["new_call"]));
    assert_eq!(alice.wait_exit(wait), 0);
}

#[test]
fn an_attended_transfer_with_replaces_goes_through_the_proxy() {
    let (_k, kport) = start_kamailio();
    let wait = Duration::from_secs(10);
    let mut carol = registered_listener_with(&_k, "carol", &["--auto-answer"]);
    let mut bob = registered_listener_with(&_k, "bob", &["--auto-answer"]);
    let mut alice = registered_caller(&_k, "alice", &format!("sip:bob@127.0.0.1:{kport}"));
    alice.wait_for("established", wait);
    let call = bob.wait_for("established", wait)["call"].as_u64().unwrap();
    bob.command(&format!("consult carol {call}"));
    let consult = bob.wait_for("consulting", wait)["consult"]
        .as_u64()
        .unwrap();
    let first = carol.wait_for("established", wait)["call"]
        .as_u64()
        .unwrap();
    bob.command(&format!("complete-transfer {call} {consult}"));
    // Carol's consultation with Bob is replaced by Alice, through the proxy.
    let r = carol.wait_for("replaced", wait);
    assert_eq!(r["old"].as_u64(), Some(first), "{r}");
    assert_eq!(bob.transfer_status(), 200);
    let t = alice.wait_for("transferred", wait);
    alice.command(&format!("hangup {}", t["new_call"]));
    assert_eq!(alice.wait_exit(wait), 0);
}
