//! The practice line of `switchboard --demo` over real SIP and RTP on
//! loopback: a simulated caller rings the desk's engine with the headers a
//! PBX would send, speaks the request generated into assets/practice, and
//! the next caller rings after the first call ends and is transferred to a
//! simulated colleague, who takes the call.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use switchboard::practice::{self, COLLEAGUES, Pacing};
use switchboard_engine::EndReason;
use switchboard_engine::events::EventKind;
use switchboard_engine::{Command, Engine, EngineConfig};
use switchboard_interop::{WINDOW, heard_windows, read_wav_8k, sleep_until_wall, temp_dir};

#[test]
fn a_practice_caller_rings_with_queue_headers_and_speaks() {
    let callers = practice::callers();
    let dir = temp_dir("practice");
    let heard = dir.join("desk-heard.wav");
    let (desk, mut events) = Engine::start(EngineConfig {
        speaker: Some(heard.clone()),
        ..EngineConfig::headless(SocketAddr::from(([127, 0, 0, 1], 0)), "agent")
    })
    .expect("desk engine");
    let bind = desk.local_addr();
    let line = practice::start(
        bind,
        "agent",
        &dir.join("voices"),
        Pacing {
            gap: Duration::from_millis(500),
            longest_call: Duration::from_secs(30),
            after_transfer: Duration::from_secs(2),
        },
    )
    .expect("practice line");

    // The next event that `pick`s (with its time), within 15 s.
    let mut next_event = |what: &str, pick: &dyn Fn(&EventKind) -> bool| {
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            match events.try_recv() {
                Ok(ev) if pick(&ev.kind) => return ev,
                Ok(_) => {}
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
        panic!("no {what} within 15 s");
    };
    let header = |ev: &EventKind, name: &str| -> Option<String> {
        let EventKind::Incoming { headers, .. } = ev else {
            return None;
        };
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };

    let first = next_event("first call", &|k| matches!(k, EventKind::Incoming { .. })).kind;
    assert_eq!(
        header(&first, "X-Queue").as_deref(),
        Some(callers[0].queue.as_str())
    );
    assert_eq!(
        header(&first, "X-Practice-Scenario").as_deref(),
        Some(callers[0].scenario.as_str()),
        "the desk knows which scenario to score"
    );
    assert_eq!(
        header(&first, "X-IVR-Data").as_deref(),
        Some(callers[0].ivr.as_str())
    );
    let pai = header(&first, "P-Asserted-Identity").unwrap_or_default();
    assert!(
        pai.contains(callers[0].name.as_str()) && pai.contains(callers[0].number.as_str()),
        "{pai}"
    );
    let EventKind::Incoming { call, .. } = first else {
        unreachable!()
    };
    assert!(desk.send(Command::Answer { call }));
    let media = next_event("media", &|k| matches!(k, EventKind::MediaStarted { .. }));
    // The caller's words take about 14 s; listen to the first five, from
    // when the desk's media started.
    sleep_until_wall(media.ts + 5.0);
    assert!(desk.send(Command::Hangup { call }));
    next_event("end of the first call", &|k| {
        matches!(k, EventKind::Ended { .. })
    });

    // The desk heard the caller's recorded speech: its first four seconds
    // (the call lasted five), a quarter second at a time (the quiet ones
    // between words are not judged). The line talks Opus, which keeps how
    // speech sounds rather than its waveform: a quarter second heard
    // correlates 0.85 to 0.95 with what was said; another practice voice
    // scores under 0.4 in most (one in fifteen higher), so it would miss
    // far more than one window in eight.
    let said = read_wav_8k(&dir.join("voices").join(&callers[0].file));
    let got = read_wav_8k(&heard);
    let h = heard_windows(&said, WINDOW..4 * 8000, &got, 0..16_000, 0.6);
    eprintln!("the desk hears the practice caller: {h}");
    h.assert_heard("the desk hears the practice caller");

    // The next caller rings after the gap; the operator puts them through
    // to a simulated colleague, who answers.
    let second = next_event("second call", &|k| matches!(k, EventKind::Incoming { .. })).kind;
    assert_eq!(
        header(&second, "X-Queue").as_deref(),
        Some(callers[1].queue.as_str())
    );
    let EventKind::Incoming { call, .. } = second else {
        unreachable!()
    };
    assert!(desk.send(Command::Answer { call }));
    next_event("media", &|k| matches!(k, EventKind::MediaStarted { .. }));
    assert_eq!(line.extensions.len(), COLLEAGUES.len());
    let billing = line.extensions[0].clone();
    assert_eq!(
        (
            billing.label.as_str(),
            billing.extension.as_str(),
            billing.colleague
        ),
        ("Billing (practice)", "201", true)
    );
    assert!(desk.send(Command::Transfer {
        call,
        target: billing.uri
    }));
    let done = next_event("the end of the transfer", &|k| {
        matches!(k, EventKind::TransferProgress { done: true, .. })
    })
    .kind;
    assert!(
        matches!(done, EventKind::TransferProgress { status: 200, .. }),
        "the colleague took the call: {done:?}"
    );
    let EventKind::Ended { reason, .. } = next_event("the operator's leg ends", &|k| {
        matches!(k, EventKind::Ended { .. })
    })
    .kind
    else {
        unreachable!()
    };
    assert_eq!(reason, EndReason::LocalHangup);
    // A caller put through talks with the colleague a little, hangs up,
    // and the next practice caller rings (not after the longest call).
    let third = next_event("third call", &|k| matches!(k, EventKind::Incoming { .. })).kind;
    assert_eq!(
        header(&third, "X-Practice-Scenario").as_deref(),
        Some(callers[2].scenario.as_str())
    );
    drop(line);
    let _ = desk.send(Command::Shutdown);
    desk.join();
}

/// With no account, the practice line's colleagues and customer are
/// dialable by extension: the operator declines a practice caller, dials
/// `300`, and the practice customer answers.
#[test]
fn the_practice_customer_and_colleagues_are_dialled_by_extension() {
    use switchboard::Intent;
    use switchboard_desk::agent::AgentState;
    use switchboard_desk::workspace::Op;
    let dir = temp_dir("practice-dial");
    let args = common::desk_args(&dir.join("none-yet.toml"), &dir, &["--demo"]);
    // The named file need not exist for this test; its absence is a notice.
    let mut s = switchboard::startup::start(&args, switchboard::Wake::none());
    let engine = s.engine.take().expect("engine");
    let mut events = s.events.take().expect("events");
    let mut desk = s.desk;
    for (ext, user) in [
        ("201", "billing@"),
        ("202", "supervisor@"),
        ("300", "customer@"),
    ] {
        let uri = desk
            .workspace()
            .dial_plan()
            .resolve(ext)
            .unwrap_or_else(|e| panic!("{ext}: {e}"))
            .uri;
        assert!(uri.contains(user), "{ext} → {uri}");
    }
    let mut pump = |desk: &mut switchboard::DeskApp,
                    what: &str,
                    done: &dyn Fn(&switchboard::DeskApp) -> bool| {
        let until = Instant::now() + Duration::from_secs(15);
        while Instant::now() < until {
            for c in desk.take_commands() {
                assert!(engine.send(c));
            }
            while let Ok(ev) = events.try_recv() {
                desk.handle_event(Instant::now(), &ev.kind);
            }
            desk.tick(Instant::now());
            if done(desk) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("{what}: not within 15 s ({:?})", desk.agent_state());
    };
    // The first practice caller rings at once; the operator declines.
    pump(&mut desk, "a practice caller rings", &|d| {
        matches!(d.agent_state(), AgentState::Ringing { .. })
    });
    desk.apply(Instant::now(), Intent::Op(Op::Decline));
    pump(&mut desk, "declined", &|d| {
        d.agent_state() == &AgentState::Available
    });
    desk.apply(
        Instant::now(),
        Intent::Dial {
            input: "300".into(),
            name: None,
        },
    );
    pump(&mut desk, "the practice customer answers", &|d| {
        matches!(d.agent_state(), AgentState::InCall { .. })
    });
    let who = desk.workspace().in_hand().map(|c| c.who().to_owned());
    assert_eq!(
        who.as_deref(),
        Some("Customer Mari (practice)"),
        "named from the directory"
    );
    desk.apply(Instant::now(), Intent::Op(Op::Hangup));
    pump(&mut desk, "wrap-up", &|d| {
        matches!(d.agent_state(), AgentState::WrapUp { .. })
    });
    drop(s.practice.take());
    let _ = engine.send(Command::Shutdown);
    engine.join();
}
