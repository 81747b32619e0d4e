//! Phones on an emulated network in virtual time: each [`TestPhone`] is the
//! real call-control core with the driver's part played by the test — ports
//! are numbers, media pumps are the orders they would get, events are
//! kept for the assertions.
#![allow(dead_code)] // each test file uses some of these

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use switchboard_engine::events::EventKind;
use switchboard_engine::phone::{Action, BridgeId, MediaOrder, Phone, PhoneConfig, RtpSlot};
use switchboard_engine::{CallId, Command, EndReason, Policy};
use switchboard_media::sdp::Direction;
use switchboard_testkit::{Endpoint, Impairment, NetEm, Sim};

/// Enough virtual time for any exchange here (SIP gives up after 32 s).
pub(crate) const PATIENCE: Duration = Duration::from_secs(40);

/// What a call's media pump would be doing, from the orders it got.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Pump {
    /// The direction agreed last (ours).
    pub(crate) direction: Direction,
    /// The peer hears the hold tune instead of us, and is not heard.
    pub(crate) hold_tone: bool,
    /// The call-waiting tone plays in our ear.
    pub(crate) alert: bool,
    /// In a conference bridge.
    pub(crate) bridge: Option<BridgeId>,
    /// Muted.
    pub(crate) muted: bool,
}

/// A phone: the core and what its driver would have done.
#[derive(Debug)]
pub(crate) struct TestPhone {
    pub(crate) name: &'static str,
    pub(crate) addr: SocketAddr,
    pub(crate) phone: Phone,
    /// Every event, in order.
    pub(crate) events: Vec<EventKind>,
    /// Running pumps.
    pub(crate) pumps: BTreeMap<CallId, Pump>,
    /// The ringer rings.
    pub(crate) ringer: bool,
    /// Answer every incoming call at once (a colleague's phone).
    pub(crate) auto_answer: bool,
    /// Port pairs bound and not yet taken by a pump or released.
    pub(crate) bound: std::collections::BTreeSet<RtpSlot>,
    next_port: u16,
    started: bool,
}

impl TestPhone {
    /// `name` at 10.0.0.`host`:5060 with `policy`.
    pub(crate) fn new(name: &'static str, host: u8, policy: Policy) -> TestPhone {
        Self::configured(name, host, policy, |_| {})
    }

    /// [`TestPhone::new`] with more configuration on top.
    pub(crate) fn configured(
        name: &'static str,
        host: u8,
        policy: Policy,
        more: impl FnOnce(&mut PhoneConfig),
    ) -> TestPhone {
        let addr = SocketAddr::from(([10, 0, 0, host], 5060));
        let mut config = PhoneConfig {
            local: addr,
            advertised: addr,
            user: name.to_owned(),
            display_name: None,
            codecs: Vec::new(),
            policy,
            account: None,
            seed: u64::from(host) * 7919,
            trusted_sources: Vec::new(),
            transfer_allow: Vec::new(),
            register_retry: Default::default(),
        };
        more(&mut config);
        TestPhone {
            name,
            addr,
            phone: Phone::new(config),
            events: Vec::new(),
            pumps: BTreeMap::new(),
            ringer: false,
            auto_answer: false,
            bound: Default::default(),
            next_port: 20_000,
            started: false,
        }
    }

    /// Its SIP URI.
    pub(crate) fn uri(&self) -> String {
        format!("sip:{}@{}", self.name, self.addr)
    }

    /// Gives the core a command.
    pub(crate) fn command(&mut self, now: Instant, c: Command) {
        self.phone.handle_command(now, c);
    }

    /// The last event that matches.
    pub(crate) fn last(&self, pred: impl Fn(&EventKind) -> bool) -> Option<&EventKind> {
        self.events.iter().rev().find(|e| pred(e))
    }

    /// Whether an event matched.
    pub(crate) fn saw(&self, pred: impl Fn(&EventKind) -> bool) -> bool {
        self.last(pred).is_some()
    }

    /// How many events matched.
    pub(crate) fn count(&self, pred: impl Fn(&EventKind) -> bool) -> usize {
        self.events.iter().filter(|e| pred(e)).count()
    }

    /// The handle of the newest incoming call.
    pub(crate) fn incoming(&self) -> Option<CallId> {
        self.events.iter().rev().find_map(|e| match e {
            EventKind::Incoming { call, .. } => Some(*call),
            _ => None,
        })
    }

    /// The handle of the newest call we placed.
    pub(crate) fn calling(&self) -> Option<CallId> {
        self.events.iter().rev().find_map(|e| match e {
            EventKind::Calling { call, .. } => Some(*call),
            _ => None,
        })
    }

    /// Whether `call` is established (and not ended).
    pub(crate) fn up(&self, call: CallId) -> bool {
        self.saw(|e| matches!(e, EventKind::Established { call: c, .. } if *c == call))
            && !self.ended(call)
    }

    /// Whether `call` ended.
    pub(crate) fn ended(&self, call: CallId) -> bool {
        self.saw(|e| matches!(e, EventKind::Ended { call: c, .. } if *c == call))
    }

    /// Why `call` ended.
    pub(crate) fn end_reason(&self, call: CallId) -> Option<EndReason> {
        self.events.iter().find_map(|e| match e {
            EventKind::Ended {
                call: c, reason, ..
            } if *c == call => Some(*reason),
            _ => None,
        })
    }

    /// The last hold state reported for `call`: (we hold, they hold us).
    pub(crate) fn held(&self, call: CallId) -> (bool, bool) {
        self.events
            .iter()
            .rev()
            .find_map(|e| match e {
                EventKind::Held {
                    call: c,
                    local,
                    remote,
                } if *c == call => Some((*local, *remote)),
                _ => None,
            })
            .unwrap_or((false, false))
    }

    /// Ports in use: bound and waiting, or a pump's. Nothing is left over
    /// when no call is.
    pub(crate) fn ports_in_use(&self) -> usize {
        self.bound.len() + self.pumps.len()
    }

    /// Commands that failed: (command, error).
    pub(crate) fn failures(&self) -> Vec<(String, String)> {
        self.events
            .iter()
            .filter_map(|e| match e {
                EventKind::CommandFailed { command, error } => {
                    Some((command.clone(), error.to_string()))
                }
                _ => None,
            })
            .collect()
    }

    fn act(&mut self, now: Instant, a: Action) -> Option<(SocketAddr, Vec<u8>)> {
        match a {
            Action::Transmit(t) => return Some((t.destination, t.payload)),
            Action::Emit(kind) => {
                let answer = match &kind {
                    EventKind::Incoming { call, .. } if self.auto_answer => Some(*call),
                    _ => None,
                };
                self.events.push(kind);
                if let Some(call) = answer {
                    self.phone.handle_command(now, Command::Answer { call });
                }
            }
            Action::Lookup { id, host, .. } => {
                self.phone
                    .handle_lookup(now, id, Err(format!("no DNS here for {host}")));
            }
            Action::BindRtp(slot) => {
                assert!(
                    self.bound.insert(slot),
                    "{}: slot {slot:?} bound twice",
                    self.name
                );
                self.next_port += 2;
                let port = self.next_port;
                self.phone.handle_rtp(now, slot, Ok(port));
            }
            Action::ReleaseRtp(slot) => {
                assert!(
                    self.bound.remove(&slot),
                    "{}: released {slot:?}, which was not bound",
                    self.name
                );
            }
            Action::StartMedia {
                call,
                negotiated,
                slot,
                ..
            } => {
                assert!(
                    self.bound.remove(&slot),
                    "{}: media on {slot:?}, which was not bound",
                    self.name
                );
                self.pumps.insert(
                    call,
                    Pump {
                        direction: negotiated.direction,
                        hold_tone: false,
                        alert: false,
                        bridge: None,
                        muted: false,
                    },
                );
            }
            Action::Media { call, order } => {
                let Some(p) = self.pumps.get_mut(&call) else {
                    panic!(
                        "{}: an order for call {call}, which has no pump: {order:?}",
                        self.name
                    );
                };
                match order {
                    MediaOrder::Update(n) => p.direction = n.direction,
                    MediaOrder::HoldTone(on) => p.hold_tone = on,
                    MediaOrder::Alert(on) => p.alert = on,
                    MediaOrder::Conference(b) => p.bridge = b,
                    MediaOrder::Mute(m) => p.muted = m,
                    _ => {}
                }
            }
            Action::Ended(ended) => {
                self.pumps.remove(&ended.call);
                self.events.push(ended.event(Default::default()));
            }
            Action::Ringer(on) => self.ringer = on,
            _ => {}
        }
        None
    }
}

impl Endpoint for TestPhone {
    fn addr(&self) -> SocketAddr {
        self.addr
    }

    fn poll_transmit(&mut self, now: Instant) -> Option<(SocketAddr, Vec<u8>)> {
        if !self.started {
            self.started = true;
            self.phone.start(now);
        }
        while let Some(a) = self.phone.poll_action() {
            if let Some(t) = self.act(now, a) {
                return Some(t);
            }
        }
        None
    }

    fn handle_datagram(&mut self, now: Instant, from: SocketAddr, payload: &[u8]) {
        self.phone
            .handle_datagram(now, switchboard_sip::ua::Transport::Udp, from, payload);
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.phone.handle_timeout(now);
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.phone.poll_timeout()
    }
}

/// The phones on a network with `impairment`, seeded.
pub(crate) fn network(seed: u64, impairment: Impairment, phones: Vec<TestPhone>) -> Sim<TestPhone> {
    let mut sim = Sim::new(NetEm::new(seed, impairment), phones);
    sim.run_for(Duration::from_millis(1));
    sim
}

/// A clean link: 1 ms each way.
pub(crate) fn clean(phones: Vec<TestPhone>) -> Sim<TestPhone> {
    network(
        1,
        Impairment {
            delay: Duration::from_millis(1),
            ..Impairment::default()
        },
        phones,
    )
}

/// A bad link: 40 ms ± 30 ms (packets overtake each other) and 10 % loss.
pub(crate) fn lossy() -> Impairment {
    Impairment {
        delay: Duration::from_millis(40),
        jitter: Duration::from_millis(30),
        loss: 0.10,
        duplicate: 0.02,
    }
}

/// Phone `from` calls phone `to`, which answers; both handles once both
/// sides are up.
pub(crate) fn connect(sim: &mut Sim<TestPhone>, from: usize, to: usize) -> (CallId, CallId) {
    let target = sim.nodes[to].uri();
    let before = sim.nodes[to].incoming();
    let now = sim.now();
    sim.nodes[from].command(
        now,
        Command::Call {
            target,
            headers: Vec::new(),
        },
    );
    assert!(
        sim.run_until(PATIENCE, |n| n[to].incoming() != before),
        "{} never rang: {:?}",
        sim.nodes[to].name,
        sim.nodes[from].events
    );
    let callee = sim.nodes[to].incoming().expect("it rang");
    let caller = sim.nodes[from].calling().expect("a call was placed");
    if !sim.nodes[to].auto_answer {
        let now = sim.now();
        sim.nodes[to].command(now, Command::Answer { call: callee });
    }
    assert!(
        sim.run_until(PATIENCE, |n| n[from].up(caller) && n[to].up(callee)),
        "the call never came up: {:?} / {:?}",
        sim.nodes[from].events,
        sim.nodes[to].events
    );
    (caller, callee)
}

/// Runs until `pred` holds; panics with both sides' events if it does not.
pub(crate) fn until(sim: &mut Sim<TestPhone>, what: &str, pred: impl FnMut(&[TestPhone]) -> bool) {
    if !sim.run_until(PATIENCE, pred) {
        let log: Vec<String> = sim
            .nodes
            .iter()
            .map(|n| format!("{}: {:#?}", n.name, n.events))
            .collect();
        panic!("{what} did not happen:\n{}", log.join("\n"));
    }
}

/// A headless phone's policy with `ask` or `reject` for transfers.
pub(crate) fn headless() -> Policy {
    Policy::headless()
}

/// The desktop's policy (one call in hand).
pub(crate) fn desktop() -> Policy {
    Policy::desktop()
}
