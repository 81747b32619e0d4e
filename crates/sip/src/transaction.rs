//! Transactions (RFC 3261 §17, with the INVITE server changes of RFC 6026).
//!
//! Four machines — client INVITE, client non-INVITE, server INVITE, server
//! non-INVITE — share one shape: inputs through `handle_*`, retransmissions
//! queued for [`Transaction::poll_transmit`], the next deadline from
//! [`Transaction::poll_timeout`]. Timers are data ([`Timer`]), never sleeps.
//! On a reliable transport the retransmission timers (A, E, G) are never set
//! and the wait timers (D, I, J, K) are zero, as §17 says.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// RFC 3261 T1: round-trip estimate.
pub const T1: Duration = Duration::from_millis(500);
/// RFC 3261 T2: longest retransmit interval for non-INVITE requests and INVITE responses.
pub const T2: Duration = Duration::from_secs(4);
/// RFC 3261 T4: longest time a message stays in the network.
pub const T4: Duration = Duration::from_secs(5);

/// The transaction timers of RFC 3261 Table 4 and RFC 6026.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timer {
    /// INVITE request retransmit interval (UDP only), starts at T1 and doubles.
    A,
    /// INVITE transaction timeout: 64·T1 with no final response.
    B,
    /// Wait time for response retransmits after a non-2xx final (32 s on UDP).
    D,
    /// Non-INVITE request retransmit interval (UDP only), doubling up to T2.
    E,
    /// Non-INVITE transaction timeout: 64·T1.
    F,
    /// INVITE non-2xx final response retransmit interval (UDP only).
    G,
    /// Wait time for the ACK to a non-2xx final response: 64·T1.
    H,
    /// Wait time for ACK retransmits once confirmed (T4 on UDP).
    I,
    /// Wait time for non-INVITE request retransmits after the final response (64·T1 on UDP).
    J,
    /// Wait time for non-INVITE response retransmits (T4 on UDP).
    K,
    /// RFC 6026: how long an accepted INVITE server transaction absorbs retransmitted INVITEs.
    L,
    /// RFC 6026: how long an accepted INVITE client transaction passes 2xx retransmits up.
    M,
}

const TIMERS: [Timer; 12] = [
    Timer::A,
    Timer::B,
    Timer::D,
    Timer::E,
    Timer::F,
    Timer::G,
    Timer::H,
    Timer::I,
    Timer::J,
    Timer::K,
    Timer::L,
    Timer::M,
];

/// A small table of deadlines, one slot per [`Timer`].
#[derive(Debug, Clone, Default)]
pub struct Timers([Option<Instant>; 12]);

impl Timers {
    fn slot(t: Timer) -> usize {
        TIMERS.iter().position(|x| *x == t).unwrap_or(0)
    }
    /// Arms a timer.
    pub fn set(&mut self, t: Timer, at: Instant) {
        if let Some(s) = self.0.get_mut(Self::slot(t)) {
            *s = Some(at);
        }
    }
    /// Disarms a timer.
    pub fn stop(&mut self, t: Timer) {
        if let Some(s) = self.0.get_mut(Self::slot(t)) {
            *s = None;
        }
    }
    /// The earliest deadline.
    pub fn next(&self) -> Option<Instant> {
        self.0.iter().flatten().min().copied()
    }
    /// Removes and returns every timer due at `now`, earliest first.
    pub fn expired(&mut self, now: Instant) -> Vec<Timer> {
        let mut due: Vec<(Instant, Timer)> = Vec::new();
        for (slot, t) in self.0.iter_mut().zip(TIMERS) {
            if let Some(at) = *slot
                && at <= now
            {
                due.push((at, t));
                *slot = None;
            }
        }
        due.sort_by_key(|(at, _)| *at);
        due.into_iter().map(|(_, t)| t).collect()
    }
}

/// Which of the four machines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Client INVITE (§17.1.1).
    ClientInvite,
    /// Client non-INVITE (§17.1.2).
    ClientNonInvite,
    /// Server INVITE (§17.2.1, RFC 6026).
    ServerInvite,
    /// Server non-INVITE (§17.2.2).
    ServerNonInvite,
}

/// Transaction state (names from RFC 3261 figures 5–8 and RFC 6026).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Client INVITE sent, nothing heard.
    Calling,
    /// Client non-INVITE sent, or server non-INVITE received, nothing final yet.
    Trying,
    /// A provisional response was received or sent.
    Proceeding,
    /// A non-2xx final response was received or sent (or any final for non-INVITE).
    Completed,
    /// RFC 6026: a 2xx to an INVITE was received or sent.
    Accepted,
    /// Server INVITE: the ACK for a non-2xx final arrived.
    Confirmed,
    /// Done; the transaction may be removed.
    Terminated,
}

/// What a transaction tells its user when a timer or message changes things.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxEvent {
    /// Timer B or F fired: no final response (the TU treats it as 408).
    Timeout,
    /// Timer H fired: the ACK for our non-2xx final never came.
    NoAck,
}

/// What to do with a response a client transaction received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseAction {
    /// Pass it to the transaction user.
    Deliver,
    /// A retransmission the transaction already handled (ACK re-sent if needed).
    Absorb,
}

/// One transaction. The owner keeps the destination and drains
/// [`Transaction::poll_transmit`] after every input.
#[derive(Debug)]
pub struct Transaction {
    kind: Kind,
    state: State,
    reliable: bool,
    /// The request (client) as sent, for retransmission.
    request: Vec<u8>,
    /// Client INVITE: the ACK built for a non-2xx final.
    ack: Option<Vec<u8>>,
    /// Server: the last response sent, for retransmission.
    last_response: Option<Vec<u8>>,
    timers: Timers,
    interval: Duration,
    outbox: VecDeque<Vec<u8>>,
    events: VecDeque<TxEvent>,
}

impl Transaction {
    /// Starts a client transaction: the request goes out at once.
    pub fn client(kind: Kind, now: Instant, request: Vec<u8>, reliable: bool) -> Transaction {
        let mut t = Transaction {
            kind,
            state: State::Trying,
            reliable,
            request: request.clone(),
            ack: None,
            last_response: None,
            timers: Timers::default(),
            interval: T1,
            outbox: VecDeque::from([request]),
            events: VecDeque::new(),
        };
        match kind {
            Kind::ClientInvite => {
                t.state = State::Calling;
                if !reliable {
                    t.timers.set(Timer::A, now + T1);
                }
                t.timers.set(Timer::B, now + 64 * T1);
            }
            _ => {
                if !reliable {
                    t.timers.set(Timer::E, now + T1);
                }
                t.timers.set(Timer::F, now + 64 * T1);
            }
        }
        t
    }

    /// Starts a server transaction for a received request.
    pub fn server(kind: Kind, reliable: bool) -> Transaction {
        Transaction {
            kind,
            state: if kind == Kind::ServerInvite {
                State::Proceeding
            } else {
                State::Trying
            },
            reliable,
            request: Vec::new(),
            ack: None,
            last_response: None,
            timers: Timers::default(),
            interval: T1,
            outbox: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// Which machine this is.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// Current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// Whether the transaction is finished and may be dropped.
    pub fn is_terminated(&self) -> bool {
        self.state == State::Terminated
    }

    /// Client: a response arrived. `ack` builds the ACK for a non-2xx final
    /// of an INVITE (called at most once).
    pub fn handle_response(
        &mut self,
        now: Instant,
        status: u16,
        ack: impl FnOnce() -> Vec<u8>,
    ) -> ResponseAction {
        let provisional = status < 200;
        let success = (200..300).contains(&status);
        match (self.kind, self.state) {
            (Kind::ClientInvite, State::Calling | State::Proceeding) => {
                self.timers.stop(Timer::A);
                if provisional {
                    self.state = State::Proceeding;
                } else if success {
                    self.timers.stop(Timer::B);
                    self.state = State::Accepted;
                    self.timers.set(Timer::M, now + 64 * T1);
                } else {
                    self.timers.stop(Timer::B);
                    let a = ack();
                    self.outbox.push_back(a.clone());
                    self.ack = Some(a);
                    self.state = State::Completed;
                    let d = if self.reliable {
                        Duration::ZERO
                    } else {
                        Duration::from_secs(32)
                    };
                    self.timers.set(Timer::D, now + d);
                }
                ResponseAction::Deliver
            }
            (Kind::ClientInvite, State::Completed) => {
                if !provisional
                    && !success
                    && let Some(a) = &self.ack
                {
                    self.outbox.push_back(a.clone());
                }
                ResponseAction::Absorb
            }
            // RFC 6026 §8.4: 2xx retransmissions go to the TU (it re-sends the ACK).
            (Kind::ClientInvite, State::Accepted) if success => ResponseAction::Deliver,
            (Kind::ClientNonInvite, State::Trying | State::Proceeding) => {
                if provisional {
                    self.state = State::Proceeding;
                } else {
                    self.timers.stop(Timer::E);
                    self.timers.stop(Timer::F);
                    self.state = State::Completed;
                    let k = if self.reliable { Duration::ZERO } else { T4 };
                    self.timers.set(Timer::K, now + k);
                }
                ResponseAction::Deliver
            }
            _ => ResponseAction::Absorb,
        }
    }

    /// Server: the same request arrived again; re-send the last response.
    pub fn handle_retransmitted_request(&mut self) {
        if let Some(r) = &self.last_response
            && matches!(self.state, State::Proceeding | State::Completed)
        {
            self.outbox.push_back(r.clone());
        }
    }

    /// Server INVITE: the ACK for our non-2xx final arrived.
    pub fn handle_ack(&mut self, now: Instant) {
        if self.kind == Kind::ServerInvite && self.state == State::Completed {
            self.timers.stop(Timer::G);
            self.timers.stop(Timer::H);
            self.state = State::Confirmed;
            let i = if self.reliable { Duration::ZERO } else { T4 };
            self.timers.set(Timer::I, now + i);
        }
    }

    /// Server: the TU sends a response through the transaction.
    pub fn send_response(&mut self, now: Instant, status: u16, bytes: Vec<u8>) {
        if matches!(
            self.state,
            State::Completed | State::Confirmed | State::Terminated | State::Accepted
        ) {
            return;
        }
        self.outbox.push_back(bytes.clone());
        self.last_response = Some(bytes);
        match self.kind {
            Kind::ServerInvite if status >= 300 => {
                self.state = State::Completed;
                if !self.reliable {
                    self.interval = T1;
                    self.timers.set(Timer::G, now + T1);
                }
                self.timers.set(Timer::H, now + 64 * T1);
            }
            Kind::ServerInvite if status >= 200 => {
                // RFC 6026: the UA core retransmits the 2xx; we absorb INVITE retransmits.
                self.state = State::Accepted;
                self.timers.set(Timer::L, now + 64 * T1);
            }
            Kind::ServerNonInvite if status >= 200 => {
                self.state = State::Completed;
                let j = if self.reliable {
                    Duration::ZERO
                } else {
                    64 * T1
                };
                self.timers.set(Timer::J, now + j);
            }
            Kind::ServerNonInvite => self.state = State::Proceeding,
            _ => {}
        }
    }

    /// Fires every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        for t in self.timers.expired(now) {
            match t {
                Timer::A if self.state == State::Calling => {
                    self.outbox.push_back(self.request.clone());
                    self.interval *= 2;
                    self.timers.set(Timer::A, now + self.interval);
                }
                Timer::E if matches!(self.state, State::Trying | State::Proceeding) => {
                    self.outbox.push_back(self.request.clone());
                    self.interval = if self.state == State::Proceeding {
                        T2
                    } else {
                        (self.interval * 2).min(T2)
                    };
                    self.timers.set(Timer::E, now + self.interval);
                }
                Timer::G if self.state == State::Completed => {
                    if let Some(r) = &self.last_response {
                        self.outbox.push_back(r.clone());
                    }
                    self.interval = (self.interval * 2).min(T2);
                    self.timers.set(Timer::G, now + self.interval);
                }
                Timer::B | Timer::F => {
                    if matches!(
                        self.state,
                        State::Calling | State::Trying | State::Proceeding
                    ) {
                        self.events.push_back(TxEvent::Timeout);
                    }
                    self.terminate();
                }
                Timer::H => {
                    self.events.push_back(TxEvent::NoAck);
                    self.terminate();
                }
                Timer::D | Timer::I | Timer::J | Timer::K | Timer::L | Timer::M => self.terminate(),
                _ => {}
            }
        }
    }

    fn terminate(&mut self) {
        self.state = State::Terminated;
        self.timers = Timers::default();
    }

    /// Next datagram to (re)send to the transaction's peer.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.outbox.pop_front()
    }

    /// Next event for the transaction user.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<TxEvent> {
        self.events.pop_front()
    }

    /// The earliest deadline.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(t: &mut Transaction) -> usize {
        std::iter::from_fn(|| t.poll_transmit()).count()
    }

    #[test]
    fn invite_retransmits_on_timer_a_until_timer_b() {
        let start = Instant::now();
        let mut t = Transaction::client(Kind::ClientInvite, start, b"INVITE".to_vec(), false);
        let mut sent = drain(&mut t);
        while let Some(at) = t.poll_timeout() {
            t.handle_timeout(at);
            sent += drain(&mut t);
        }
        // Sent at 0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5 s: 7 times before B at 32 s.
        assert_eq!(sent, 7);
        assert_eq!(t.poll_event(), Some(TxEvent::Timeout));
        assert!(t.is_terminated());
    }

    #[test]
    fn non_invite_caps_interval_at_t2() {
        let start = Instant::now();
        let mut t = Transaction::client(Kind::ClientNonInvite, start, b"BYE".to_vec(), false);
        let mut times = vec![];
        while let Some(at) = t.poll_timeout() {
            t.handle_timeout(at);
            if drain(&mut t) > 0 {
                times.push(at - start);
            }
        }
        let gaps: Vec<_> = times.windows(2).map(|w| w[1] - w[0]).collect();
        assert!(gaps.iter().all(|g| *g <= T2));
        assert_eq!(t.poll_event(), Some(TxEvent::Timeout));
    }

    #[test]
    fn reliable_transport_never_retransmits() {
        let start = Instant::now();
        let mut t = Transaction::client(Kind::ClientInvite, start, b"INVITE".to_vec(), true);
        assert_eq!(drain(&mut t), 1);
        let at = t.poll_timeout().unwrap();
        assert_eq!(at - start, 64 * T1);
        t.handle_timeout(at);
        assert_eq!(drain(&mut t), 0);
    }

    #[test]
    fn non_2xx_final_is_acked_and_retransmits_reacked() {
        let now = Instant::now();
        let mut t = Transaction::client(Kind::ClientInvite, now, b"INVITE".to_vec(), false);
        drain(&mut t);
        assert_eq!(
            t.handle_response(now, 486, || b"ACK".to_vec()),
            ResponseAction::Deliver
        );
        assert_eq!(t.poll_transmit().as_deref(), Some(&b"ACK"[..]));
        assert_eq!(
            t.handle_response(now, 486, || unreachable!()),
            ResponseAction::Absorb
        );
        assert_eq!(t.poll_transmit().as_deref(), Some(&b"ACK"[..]));
    }
}
