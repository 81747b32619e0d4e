//! [`Sim`]: sans-IO endpoints on one [`NetEm`], driven in virtual time.
//!
//! Every test of a whole conversation needs the same loop: move what each
//! endpoint wants to send onto the network, deliver what is due, fire what
//! timers are due, jump the clock to the next thing that happens. It lives
//! here once; an endpoint only says how it sends, receives and waits
//! ([`Endpoint`]).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::{NetEm, VirtualClock};

/// A sans-IO machine as the simulator drives it.
pub trait Endpoint {
    /// Its address on the emulated network.
    fn addr(&self) -> SocketAddr;
    /// The next datagram it sends: destination and payload. An endpoint
    /// handles its other outputs (events, requests to the outside) here too.
    fn poll_transmit(&mut self, now: Instant) -> Option<(SocketAddr, Vec<u8>)>;
    /// A datagram for it arrived.
    fn handle_datagram(&mut self, now: Instant, from: SocketAddr, payload: &[u8]);
    /// Time passed (its deadline, or later).
    fn handle_timeout(&mut self, now: Instant);
    /// Its next deadline.
    fn poll_timeout(&self) -> Option<Instant>;
}

/// Endpoints on a network, with a clock that jumps.
#[derive(Debug)]
pub struct Sim<E> {
    /// Virtual time.
    pub clock: VirtualClock,
    /// The network between the endpoints.
    pub net: NetEm,
    /// The endpoints.
    pub nodes: Vec<E>,
}

/// Steps a run takes at most (each moves the clock or delivers something):
/// a conversation that never goes quiet fails instead of hanging.
const MAX_STEPS: usize = 200_000;

impl<E: Endpoint> Sim<E> {
    /// `nodes` on `net`, the clock at an arbitrary start.
    pub fn new(net: NetEm, nodes: Vec<E>) -> Sim<E> {
        Sim {
            clock: VirtualClock::new(),
            net,
            nodes,
        }
    }

    /// Now, in virtual time.
    pub fn now(&self) -> Instant {
        self.clock.now()
    }

    /// Moves every datagram the endpoints want to send onto the network.
    pub fn flush(&mut self) {
        let now = self.clock.now();
        for node in &mut self.nodes {
            let from = node.addr();
            while let Some((to, payload)) = node.poll_transmit(now) {
                self.net.send(now, from, to, payload);
            }
        }
    }

    /// One step: deliver what is due, fire what timers are due.
    fn step(&mut self) {
        let now = self.clock.now();
        while let Some(d) = self.net.deliver(now) {
            if let Some(node) = self.nodes.iter_mut().find(|n| n.addr() == d.to) {
                node.handle_datagram(now, d.from, &d.payload);
            }
        }
        for node in &mut self.nodes {
            if node.poll_timeout().is_some_and(|t| t <= now) {
                node.handle_timeout(now);
            }
        }
        self.flush();
    }

    /// The next moment something happens: a delivery or a deadline.
    fn next_event(&self) -> Option<Instant> {
        std::iter::once(self.net.next_delivery())
            .chain(self.nodes.iter().map(|n| n.poll_timeout()))
            .flatten()
            .min()
    }

    /// Runs for `d` of virtual time.
    pub fn run_for(&mut self, d: Duration) {
        self.run_until(d, |_| false);
    }

    /// Runs until `done` holds (checked after every step) or `limit` of
    /// virtual time passes; whether it held.
    pub fn run_until(&mut self, limit: Duration, mut done: impl FnMut(&[E]) -> bool) -> bool {
        let end = self.clock.now() + limit;
        self.flush();
        for _ in 0..MAX_STEPS {
            if done(&self.nodes) {
                return true;
            }
            match self.next_event() {
                Some(t) if t <= end => {
                    self.clock.advance_to(t);
                    self.step();
                }
                _ => {
                    self.clock.advance_to(end);
                    self.step();
                    return done(&self.nodes);
                }
            }
        }
        panic!("the endpoints never went quiet within {limit:?} of virtual time");
    }
}
