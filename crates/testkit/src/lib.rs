//! # switchboard-testkit — what Switchboard's tests stand on
//!
//! - [`VirtualClock`]: an `Instant` that only moves when a test moves it, so a
//!   32-second Timer B runs in microseconds.
//! - [`NetEm`]: a seeded network emulator between sans-IO endpoints: delay,
//!   jitter, loss, duplication and reordering, with every datagram's fate
//!   decided by a deterministic PRNG so a failing seed replays exactly.
//! - [`Sim`]: sans-IO endpoints on a [`NetEm`], driven in virtual time —
//!   the one run loop every conversation test shares.
//! - [`corpus`]: loaders for `../shared/testdata` (RFC 4475/5118 torture
//!   messages in wire form) that skip loudly when the data is absent, and
//!   fail instead under `SWITCHBOARD_REQUIRE_TESTDATA` (as `scripts/test.sh`
//!   runs them).
//! - [`skip`]: a skip printed past the harness's capture and counted again
//!   when the test binary exits.
//!
//! Dev-dependency only: nothing here ships in a binary.
//!
//! ```text
//!   endpoint A ──send(at, from, to, bytes)──▶ NetEm ──deliver(at)──▶ endpoint B
//!        ▲                                      │ loss / dup / jitter / reorder
//!        └──────── clock.advance_to(next deadline or next delivery) ◀┘
//! ```
#![deny(unsafe_code)] // one atexit(3) call in skip.rs

pub mod corpus;
mod sim;
mod skip;

pub use skip::{skip, skipped};

pub use sim::{Endpoint, Sim};

use std::collections::BinaryHeap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// A clock that moves only when told to.
#[derive(Debug, Clone, Copy)]
pub struct VirtualClock {
    now: Instant,
}

impl Default for VirtualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl VirtualClock {
    /// Starts at an arbitrary fixed point (the process's first read of the
    /// real clock; only differences ever matter).
    pub fn new() -> VirtualClock {
        VirtualClock {
            now: Instant::now(),
        }
    }

    /// The current virtual time.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Moves forward by `d`.
    pub fn advance(&mut self, d: Duration) {
        self.now += d;
    }

    /// Moves forward to `t` (never backwards).
    pub fn advance_to(&mut self, t: Instant) {
        if t > self.now {
            self.now = t;
        }
    }
}

/// SplitMix64: small, seeded, good enough to decide packet fates.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// Seeds the generator.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A float in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Impairments applied to every datagram.
#[derive(Debug, Clone, Copy, Default)]
pub struct Impairment {
    /// Fixed one-way delay.
    pub delay: Duration,
    /// Uniform extra delay in [0, jitter): reorders packets closer than this.
    pub jitter: Duration,
    /// Probability a datagram is lost.
    pub loss: f64,
    /// Probability a datagram is delivered twice.
    pub duplicate: f64,
}

/// A datagram in flight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Datagram {
    /// When it arrives.
    pub at: Instant,
    /// Sender.
    pub from: SocketAddr,
    /// Receiver.
    pub to: SocketAddr,
    /// Payload.
    pub payload: Vec<u8>,
    seq: u64,
}

impl Ord for Datagram {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        // Earliest first from a max-heap; ties keep send order.
        other.at.cmp(&self.at).then(other.seq.cmp(&self.seq))
    }
}

impl PartialOrd for Datagram {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// Counters of what the emulator did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NetStats {
    /// Datagrams handed to [`NetEm::send`].
    pub sent: u64,
    /// Dropped by loss or by a drop rule.
    pub lost: u64,
    /// Extra copies made.
    pub duplicated: u64,
    /// Delivered.
    pub delivered: u64,
}

/// A predicate that drops chosen datagrams, e.g. "the first ACK".
pub type DropRule = Box<dyn FnMut(&Datagram) -> bool>;

/// A seeded network emulator.
pub struct NetEm {
    rng: Rng,
    impairment: Impairment,
    queue: BinaryHeap<Datagram>,
    seq: u64,
    stats: NetStats,
    drop_rules: Vec<DropRule>,
    /// Every datagram sent, in send order (for assertions on the wire).
    pub log: Vec<Datagram>,
}

impl std::fmt::Debug for NetEm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetEm")
            .field("impairment", &self.impairment)
            .field("in_flight", &self.queue.len())
            .field("stats", &self.stats)
            .finish()
    }
}

impl NetEm {
    /// A network with the given impairment and PRNG seed.
    pub fn new(seed: u64, impairment: Impairment) -> NetEm {
        NetEm {
            rng: Rng::new(seed),
            impairment,
            queue: BinaryHeap::new(),
            seq: 0,
            stats: NetStats::default(),
            drop_rules: Vec::new(),
            log: Vec::new(),
        }
    }

    /// A perfect network with 1 ms delay.
    pub fn clean(seed: u64) -> NetEm {
        Self::new(
            seed,
            Impairment {
                delay: Duration::from_millis(1),
                ..Impairment::default()
            },
        )
    }

    /// Adds a rule; a datagram for which it returns true is dropped.
    pub fn drop_when(&mut self, rule: impl FnMut(&Datagram) -> bool + 'static) {
        self.drop_rules.push(Box::new(rule));
    }

    /// Changes the impairment from now on.
    pub fn set_impairment(&mut self, impairment: Impairment) {
        self.impairment = impairment;
    }

    /// Sends a datagram at `now`.
    pub fn send(&mut self, now: Instant, from: SocketAddr, to: SocketAddr, payload: Vec<u8>) {
        self.stats.sent += 1;
        let mut d = Datagram {
            at: now,
            from,
            to,
            payload,
            seq: self.seq,
        };
        self.seq += 1;
        self.log.push(d.clone());
        let mut dropped = false;
        for rule in &mut self.drop_rules {
            if rule(&d) {
                dropped = true;
            }
        }
        if dropped || self.rng.unit() < self.impairment.loss {
            self.stats.lost += 1;
            return;
        }
        let copies = if self.rng.unit() < self.impairment.duplicate {
            self.stats.duplicated += 1;
            2
        } else {
            1
        };
        for _ in 0..copies {
            let jitter = self.impairment.jitter.as_secs_f64() * self.rng.unit();
            d.at = now + self.impairment.delay + Duration::from_secs_f64(jitter);
            d.seq = self.seq;
            self.seq += 1;
            self.queue.push(d.clone());
        }
    }

    /// When the next datagram arrives.
    pub fn next_delivery(&self) -> Option<Instant> {
        self.queue.peek().map(|d| d.at)
    }

    /// Pops the next datagram due at or before `now`.
    pub fn deliver(&mut self, now: Instant) -> Option<Datagram> {
        if self.queue.peek().is_some_and(|d| d.at <= now) {
            self.stats.delivered += 1;
            self.queue.pop()
        } else {
            None
        }
    }

    /// Counters.
    pub fn stats(&self) -> NetStats {
        self.stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loss_is_seeded_and_close_to_the_rate() {
        let clock = VirtualClock::new();
        let a: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let run = |seed| {
            let mut n = NetEm::new(
                seed,
                Impairment {
                    loss: 0.1,
                    ..Impairment::default()
                },
            );
            for _ in 0..10_000 {
                n.send(clock.now(), a, a, vec![0]);
            }
            n.stats().lost
        };
        assert_eq!(run(7), run(7));
        let lost = run(7);
        assert!((800..1200).contains(&lost), "lost {lost}");
    }

    #[test]
    fn jitter_reorders_and_delivery_is_time_ordered() {
        let mut clock = VirtualClock::new();
        let a: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let mut n = NetEm::new(
            1,
            Impairment {
                delay: Duration::from_millis(10),
                jitter: Duration::from_millis(50),
                ..Impairment::default()
            },
        );
        for i in 0..50u8 {
            n.send(clock.now(), a, a, vec![i]);
            clock.advance(Duration::from_millis(5));
        }
        let mut got = Vec::new();
        let mut last = clock.now() - Duration::from_secs(10);
        while let Some(t) = n.next_delivery() {
            clock.advance_to(t);
            let d = n.deliver(clock.now()).unwrap();
            assert!(d.at >= last);
            last = d.at;
            got.push(d.payload[0]);
        }
        assert_eq!(got.len(), 50);
        assert!(
            got.windows(2).any(|w| w[0] > w[1]),
            "no reordering happened"
        );
    }
}
