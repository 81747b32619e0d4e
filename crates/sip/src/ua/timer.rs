//! A call's own deadlines, as data: one [`CallTimer`] per kind, one
//! [`CallTimers`] table per call (the shape of the transaction timers in
//! [`crate::transaction::Timers`], and of quinn-proto's `TimerTable`).
//!
//! [`UserAgent::poll_timeout`] is the earliest of the transactions'
//! deadlines (timers A–M stay with their transactions), the registration
//! refresh and each call's [`CallTimers::next`];
//! [`UserAgent::handle_timeout`] takes each call's
//! [`CallTimers::expired`] and runs them: 2xx re-sends and give-ups first,
//! then lingering calls are dropped, then transfers given up, then glare
//! retries sent.
//!
//! [`UserAgent::poll_timeout`]: super::UserAgent::poll_timeout
//! [`UserAgent::handle_timeout`]: super::UserAgent::handle_timeout

use std::time::Instant;

/// One kind of deadline a call can have; at most one of each is armed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CallTimer {
    /// UAS: re-send our 2xx to the INVITE. The UAS core, not the
    /// transaction, retransmits it until the ACK comes: first T1 after it was
    /// sent, then doubling up to T2 (RFC 3261 §13.3.1.4). Never armed on a
    /// reliable transport.
    OkResend = 0,
    /// UAS: 64·T1 after our 2xx to the INVITE and still no ACK: stop
    /// re-sending, send BYE (the session is not established) and end the call
    /// as a timeout (RFC 3261 §13.3.1.4).
    OkGiveUp = 1,
    /// [`CallTimer::OkResend`] for our 2xx to the peer's re-INVITE: the same
    /// duty for the session's later offers.
    ReofferOkResend = 2,
    /// [`CallTimer::OkGiveUp`] for our 2xx to the peer's re-INVITE.
    ReofferOkGiveUp = 3,
    /// An ended call is kept to absorb retransmissions (a 2xx gets its ACK
    /// again, a BYE its 200 from the server transaction), then dropped with
    /// its dialog: 64·T1 after it ended, 32·T1 after the final response to our
    /// BYE, at once when the BYE timed out.
    Linger = 4,
    /// Our re-INVITE was refused with 491 (glare, RFC 3261 §14.1): send it
    /// again now. Armed 2.1–4 s after the 491 when we own the Call-ID, 0–2 s
    /// otherwise, and 100 ms more each time the peer's own offer still waits
    /// for our answer. Only acted on in an established call; stopped (and
    /// the offer dropped) when the call ends.
    GlareRetry = 5,
    /// Our REFER's transfer has not reported its end (a NOTIFY with a final
    /// status) in `REFER_PATIENCE` (90 s): it is taken as failed (408).
    /// Armed while the transfer is not done.
    ReferPatience = 6,
    /// UAS: an incoming call has rung for [`super::Config::ring_timeout`]
    /// and nobody answered: refuse it with 480 and free the line (an INVITE
    /// that is never cancelled must not hold it for ever).
    RingTimeout = 7,
}

impl CallTimer {
    /// Every timer, in slot order (the discriminants).
    const ALL: [CallTimer; 8] = [
        CallTimer::OkResend,
        CallTimer::OkGiveUp,
        CallTimer::ReofferOkResend,
        CallTimer::ReofferOkGiveUp,
        CallTimer::Linger,
        CallTimer::GlareRetry,
        CallTimer::ReferPatience,
        CallTimer::RingTimeout,
    ];

    /// The re-send and give-up timers of our 2xx to the INVITE.
    pub(super) const OK: [CallTimer; 2] = [CallTimer::OkResend, CallTimer::OkGiveUp];

    /// The re-send and give-up timers of our 2xx to the peer's re-INVITE.
    pub(super) const REOFFER_OK: [CallTimer; 2] =
        [CallTimer::ReofferOkResend, CallTimer::ReofferOkGiveUp];
}

/// A call's deadlines, one slot per [`CallTimer`].
#[derive(Debug, Clone, Default)]
pub(super) struct CallTimers([Option<Instant>; CallTimer::ALL.len()]);

impl CallTimers {
    fn slot(&mut self, t: CallTimer) -> &mut Option<Instant> {
        self.0
            .get_mut(t as usize)
            .expect("CallTimer discriminants number the slots 0..ALL.len() (tested)")
    }

    /// Arms a timer (again, if it was armed).
    pub(super) fn set(&mut self, t: CallTimer, at: Instant) {
        *self.slot(t) = Some(at);
    }

    /// Disarms a timer.
    pub(super) fn stop(&mut self, t: CallTimer) {
        *self.slot(t) = None;
    }

    /// The earliest deadline.
    pub(super) fn next(&self) -> Option<Instant> {
        self.0.iter().flatten().min().copied()
    }

    /// Disarms and returns every timer due at `now` with its deadline,
    /// earliest first.
    pub(super) fn expired(
        &mut self,
        now: Instant,
    ) -> impl Iterator<Item = (CallTimer, Instant)> + use<> {
        let mut due: Vec<(CallTimer, Instant)> = Vec::new();
        for (slot, t) in self.0.iter_mut().zip(CallTimer::ALL) {
            if let Some(at) = *slot
                && at <= now
            {
                due.push((t, at));
                *slot = None;
            }
        }
        due.sort_by_key(|(_, at)| *at);
        due.into_iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn every_timer_has_its_own_slot() {
        for (i, t) in CallTimer::ALL.into_iter().enumerate() {
            assert_eq!(t as usize, i, "{t:?}");
        }
    }

    #[test]
    fn next_is_the_earliest_and_expired_disarms_what_is_due() {
        let t0 = Instant::now();
        let s = Duration::from_secs(1);
        let mut timers = CallTimers::default();
        assert_eq!(timers.next(), None);
        timers.set(CallTimer::Linger, t0 + 3 * s);
        timers.set(CallTimer::OkGiveUp, t0 + 2 * s);
        timers.set(CallTimer::GlareRetry, t0 + 5 * s);
        timers.set(CallTimer::OkResend, t0 + 9 * s);
        timers.stop(CallTimer::OkResend);
        assert_eq!(timers.next(), Some(t0 + 2 * s));
        assert_eq!(timers.expired(t0 + s).count(), 0);
        let due: Vec<_> = timers.expired(t0 + 3 * s).collect();
        assert_eq!(
            due,
            [
                (CallTimer::OkGiveUp, t0 + 2 * s),
                (CallTimer::Linger, t0 + 3 * s)
            ]
        );
        assert_eq!(timers.next(), Some(t0 + 5 * s));
        assert_eq!(timers.expired(t0 + 3 * s).count(), 0);
    }
}
