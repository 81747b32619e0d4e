//! A user agent on testkit's emulated network: the UA and the events it
//! reported, for `switchboard_testkit::Sim` to drive.
#![allow(dead_code)] // each test file uses some of this

use std::net::SocketAddr;
use std::time::Instant;

use switchboard_sip::ua::{Event, Transport, UserAgent};
use switchboard_testkit::Endpoint;

/// How a softphone answers an offered SDP.
pub(crate) type Answerer = fn(&[u8]) -> Vec<u8>;

/// A UA, its address and everything it reported.
#[derive(Debug)]
pub(crate) struct Agent {
    pub(crate) ua: UserAgent,
    pub(crate) addr: SocketAddr,
    pub(crate) events: Vec<Event>,
    /// Answers the peer's re-offers at once, as a softphone would.
    pub(crate) answer_reoffers: Option<Answerer>,
}

impl Agent {
    pub(crate) fn new(ua: UserAgent, addr: SocketAddr) -> Agent {
        Agent {
            ua,
            addr,
            events: Vec::new(),
            answer_reoffers: None,
        }
    }

    /// Takes what the UA reported (answering re-offers if told to); whether
    /// there was anything.
    fn drain_events(&mut self, now: Instant) -> bool {
        let mut any = false;
        while let Some(e) = self.ua.poll_event() {
            any = true;
            if let (Event::Reoffer { call, offer }, Some(answer)) = (&e, self.answer_reoffers) {
                self.ua
                    .answer_reoffer(now, *call, Ok(answer(offer)))
                    .expect("a re-offer just reported can be answered");
            }
            self.events.push(e);
        }
        any
    }
}

impl Endpoint for Agent {
    fn addr(&self) -> SocketAddr {
        self.addr
    }

    fn poll_transmit(&mut self, now: Instant) -> Option<(SocketAddr, Vec<u8>)> {
        loop {
            if let Some(t) = self.ua.poll_transmit() {
                return Some((t.destination, t.payload));
            }
            if !self.drain_events(now) {
                return None;
            }
        }
    }

    fn handle_datagram(&mut self, now: Instant, from: SocketAddr, payload: &[u8]) {
        self.ua.handle_datagram(now, Transport::Udp, from, payload);
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.ua.handle_timeout(now);
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.ua.poll_timeout()
    }
}
