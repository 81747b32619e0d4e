//! The agent's state as a pure reducer: inputs (what the engine reported,
//! what the operator clicked, the clock) in; the new state and the effects to
//! carry out (commands for the engine, records to save) out. No I/O, no clock
//! of its own: the caller passes `Instant`s, so every rule is testable.
//!
//! ```text
//!  Offline ──SetState(Available)──▶ Available ──Incoming──▶ Ringing ──Answer──▶ InCall
//!     ▲                               ▲  │ SetState(Break)                       │ Ended
//!     └──────SetState(Offline)────────┤  ▼                                       ▼
//!                                     └─ Break{reason}        Available ◀─Save── WrapUp{deadline}
//!                                                                  ▲ (auto, at deadline) │
//!                                                                  └──────────────────────┘
//!  Available / Break / Offline / WrapUp ──Dial──▶ Dialing ──Established──▶ InCall
//!                     ▲ (failed, cancelled: back)    │
//!                     └──────────────────────────────┘
//! ```
//!
//! A call placed from a break or offline returns there after its wrap-up.
//!
//! While the agent is not Available (break, wrap-up, offline, or already on a
//! call when only one line is allowed) a new call is refused with the
//! configured status (486 Busy Here by default) and never offered.

use std::time::{Duration, Instant};

/// Call handle as the engine numbers calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallRef(pub u64);

/// What the agent is doing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgentState {
    /// Not taking calls (logged out of the queue).
    Offline,
    /// Ready for the next call.
    Available,
    /// On a break; `reason` from the configured list.
    Break {
        /// Why (lunch, training, …).
        reason: String,
    },
    /// The operator placed a call: `None` until the phone has it under way.
    /// No call is offered meanwhile.
    Dialing {
        /// Our call, once placed.
        call: Option<CallRef>,
    },
    /// A call is ringing and has been offered.
    Ringing {
        /// The ringing call.
        call: CallRef,
    },
    /// Talking.
    InCall {
        /// The active call.
        call: CallRef,
    },
    /// After-call work: notes and disposition; no call is offered until saved
    /// or, with auto-return, until the deadline.
    WrapUp {
        /// The call being wrapped up.
        call: CallRef,
        /// When after-call work ends.
        deadline: Instant,
    },
}

impl AgentState {
    /// Short name for the UI and logs.
    pub fn name(&self) -> &'static str {
        match self {
            AgentState::Offline => "offline",
            AgentState::Available => "available",
            AgentState::Break { .. } => "break",
            AgentState::Dialing { .. } => "dialing",
            AgentState::Ringing { .. } => "ringing",
            AgentState::InCall { .. } => "in_call",
            AgentState::WrapUp { .. } => "wrap_up",
        }
    }
}

/// The longest after-call work the desk allows (a day).
pub const MAX_WRAP_UP: Duration = Duration::from_secs(24 * 3600);

/// Settings of the after-call-work rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Length of after-call work.
    pub wrap_up: Duration,
    /// Return to Available by itself when wrap-up time runs out (else the
    /// agent stays in wrap-up until Save).
    pub auto_available: bool,
    /// Status for calls that cannot be offered (486 Busy Here; 480, 603 …).
    pub busy_status: u16,
    /// Offer a second call while one is up (call waiting), with a tone in
    /// the operator's ear; answering it holds the first.
    pub call_waiting: bool,
    /// Calls the operator placed get a wrap-up too.
    pub wrap_up_outgoing: bool,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            wrap_up: Duration::from_secs(30),
            auto_available: true,
            busy_status: 486,
            call_waiting: true,
            wrap_up_outgoing: true,
        }
    }
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// The engine reports a new incoming call.
    Incoming(CallRef),
    /// The engine reports that a call is up.
    Established(CallRef),
    /// The engine reports that a call ended (any reason).
    Ended(CallRef),
    /// The operator answers the ringing call.
    Answer,
    /// The operator declines the ringing call.
    Decline,
    /// The operator hangs up the active call.
    Hangup,
    /// The operator dialled (the phone has not placed the call yet).
    Dial,
    /// The phone placed the call the operator dialled.
    Calling(CallRef),
    /// The phone could not place it.
    DialFailed,
    /// The operator saved the wrap-up record.
    SaveWrapUp,
    /// The operator chose a state (Available, Break with a reason, Offline).
    SetState(AgentState),
    /// Time passed (the UI ticks while a deadline is pending).
    Tick,
    /// The operator goes back to a held call (the one in hand is held).
    Switch(CallRef),
    /// An attended transfer to us replaced the call in hand with a new one
    /// (same conversation, new peer).
    Replaced {
        /// The call that ends.
        old: CallRef,
        /// The call that takes its place.
        new: CallRef,
    },
}

/// What to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Ask the engine to answer.
    Answer(CallRef),
    /// Ask the engine to refuse a call with a status (it is never offered).
    Reject(CallRef, u16),
    /// Ask the engine to hang up.
    Hangup(CallRef),
    /// Show the wrap-up form for this call.
    OpenWrapUp(CallRef),
    /// The state changed (for the status bar and the history of states).
    StateChanged(&'static str),
    /// A second call waits while one is up: show it, sound the tone.
    CallWaiting(CallRef),
    /// No call waits any more: stop the tone.
    WaitingOver,
}

/// The agent, its policy and its current state.
#[derive(Debug, Clone)]
pub struct Agent {
    state: AgentState,
    policy: Policy,
    /// A second call offered while in a call.
    waiting: Option<CallRef>,
    /// Calls on hold behind the one in hand, oldest first.
    held: Vec<CallRef>,
    /// The state the operator dialled from (to go back to: a break stays a break).
    before_dial: Option<AgentState>,
    /// The call the operator placed, while it lasts.
    placed: Option<CallRef>,
}

impl Agent {
    /// A new agent, offline.
    pub fn new(policy: Policy) -> Agent {
        Agent {
            state: AgentState::Offline,
            policy,
            waiting: None,
            held: Vec::new(),
            before_dial: None,
            placed: None,
        }
    }

    /// Where after-call work (or a call placed from a break) returns to: a
    /// break or offline the operator dialled from, else Available.
    fn after_work(&mut self) -> AgentState {
        match self.before_dial.take() {
            Some(s @ (AgentState::Break { .. } | AgentState::Offline)) => s,
            _ => AgentState::Available,
        }
    }

    /// Whether `call` is the one the operator placed.
    pub fn placed(&self) -> Option<CallRef> {
        self.placed
    }

    /// New after-call-work rules (from the settings screen); a wrap-up in
    /// progress keeps its deadline.
    pub fn set_policy(&mut self, policy: Policy) {
        self.policy = policy;
    }

    /// The agent's state.
    pub fn state(&self) -> &AgentState {
        &self.state
    }

    /// The call waiting to be answered while one is up.
    pub fn waiting(&self) -> Option<CallRef> {
        self.waiting
    }

    /// Calls on hold behind the one in hand.
    pub fn held(&self) -> &[CallRef] {
        &self.held
    }

    /// The wrap-up time left at `now`, if in wrap-up.
    pub fn wrap_up_left(&self, now: Instant) -> Option<Duration> {
        match &self.state {
            AgentState::WrapUp { deadline, .. } => Some(deadline.saturating_duration_since(now)),
            _ => None,
        }
    }

    /// The next moment a `Tick` can change something, if any.
    pub fn next_deadline(&self) -> Option<Instant> {
        match &self.state {
            AgentState::WrapUp { deadline, .. } if self.policy.auto_available => Some(*deadline),
            _ => None,
        }
    }

    fn set(&mut self, state: AgentState, out: &mut Vec<Effect>) {
        if state != self.state {
            self.state = state;
            out.push(Effect::StateChanged(self.state.name()));
        }
    }

    /// Whether the call in hand was placed from a break or offline (no
    /// second call is offered beside it).
    fn on_break_call(&self) -> bool {
        matches!(
            self.before_dial,
            Some(AgentState::Break { .. } | AgentState::Offline)
        )
    }

    /// Applies one input at `now`; returns the effects in order.
    pub fn apply(&mut self, now: Instant, input: Input) -> Vec<Effect> {
        let ended = match input {
            Input::Ended(c) => Some(c),
            _ => None,
        };
        let out = self.step(now, input);
        if let Some(c) = ended
            && self.placed == Some(c)
        {
            // The call the operator placed is over, whatever became of it.
            self.placed = None;
        }
        // Where to return to matters only while the placed call or its
        // wrap-up lasts.
        if self.placed.is_none()
            && !matches!(
                self.state,
                AgentState::WrapUp { .. } | AgentState::Dialing { .. }
            )
        {
            self.before_dial = None;
        }
        out
    }

    fn step(&mut self, now: Instant, input: Input) -> Vec<Effect> {
        let mut out = Vec::new();
        match (self.state.clone(), input) {
            (AgentState::Available, Input::Incoming(call)) => {
                self.set(AgentState::Ringing { call }, &mut out);
            }
            (AgentState::InCall { .. }, Input::Incoming(call))
                if self.policy.call_waiting && self.waiting.is_none() && !self.on_break_call() =>
            {
                self.waiting = Some(call);
                out.push(Effect::CallWaiting(call));
            }
            (_, Input::Incoming(call)) => {
                out.push(Effect::Reject(call, self.policy.busy_status));
            }
            (
                s @ (AgentState::Available
                | AgentState::Break { .. }
                | AgentState::Offline
                | AgentState::WrapUp { .. }),
                Input::Dial,
            ) => {
                self.before_dial = Some(s);
                self.set(AgentState::Dialing { call: None }, &mut out);
            }
            (AgentState::Dialing { call: None }, Input::Calling(c)) => {
                self.placed = Some(c);
                self.state = AgentState::Dialing { call: Some(c) };
            }
            (AgentState::Dialing { call: None }, Input::DialFailed) => {
                let back = self.before_dial.take().unwrap_or(AgentState::Available);
                self.set(back, &mut out);
            }
            (AgentState::Dialing { call: None }, Input::Hangup) => {
                // Given up before the phone had it: back where it was (the
                // workspace hangs the call up should it still arrive).
                let back = self.before_dial.take().unwrap_or(AgentState::Available);
                self.set(back, &mut out);
            }
            (AgentState::Dialing { call: Some(c) }, Input::Hangup) => {
                out.push(Effect::Hangup(c));
            }
            (AgentState::Dialing { call: Some(c) }, Input::Established(e)) if c == e => {
                self.set(AgentState::InCall { call: c }, &mut out);
            }
            (AgentState::Dialing { call: Some(c) }, Input::Ended(e)) if c == e => {
                // Never connected: nothing to wrap up.
                self.placed = None;
                let back = self.before_dial.take().unwrap_or(AgentState::Available);
                self.set(back, &mut out);
            }
            (AgentState::InCall { call }, Input::Ended(c))
                if c == call
                    && self.placed == Some(c)
                    && !self.policy.wrap_up_outgoing
                    && self.held.is_empty()
                    && self.waiting.is_none() =>
            {
                self.placed = None;
                let back = match self.before_dial.take() {
                    Some(
                        s @ (AgentState::WrapUp { .. }
                        | AgentState::Break { .. }
                        | AgentState::Offline),
                    ) => s,
                    _ => AgentState::Available,
                };
                self.set(back, &mut out);
            }
            (AgentState::InCall { .. }, Input::Answer) if self.waiting.is_some() => {
                if let Some(w) = self.waiting {
                    out.push(Effect::Answer(w));
                }
            }
            (AgentState::InCall { .. }, Input::Decline) if self.waiting.is_some() => {
                if let Some(w) = self.waiting.take() {
                    out.push(Effect::Reject(w, 603));
                    out.push(Effect::WaitingOver);
                }
            }
            (AgentState::InCall { call }, Input::Established(c)) if self.waiting == Some(c) => {
                // The engine holds the first call as it answers the second.
                self.waiting = None;
                self.held.push(call);
                self.state = AgentState::InCall { call: c };
                out.push(Effect::WaitingOver);
            }
            (_, Input::Ended(c)) if self.waiting == Some(c) => {
                self.waiting = None;
                out.push(Effect::WaitingOver);
            }
            (AgentState::InCall { .. }, Input::Ended(c)) if self.held.contains(&c) => {
                // A held caller hung up: the conversation with them is over
                // and gets its wrap-up (filled in beside the call in hand).
                self.held.retain(|h| *h != c);
                out.push(Effect::OpenWrapUp(c));
            }
            (AgentState::InCall { call }, Input::Ended(c))
                if c == call && self.held.is_empty() && self.waiting.is_some() =>
            {
                // The waiting call now rings as any call does; the wrap-up of
                // the ended one opens beside it.
                out.push(Effect::OpenWrapUp(call));
                if let Some(w) = self.waiting.take() {
                    self.set(AgentState::Ringing { call: w }, &mut out);
                }
            }
            (AgentState::InCall { call }, Input::Ended(c))
                if c == call && !self.held.is_empty() =>
            {
                // The held call comes back to hand (still on hold until resumed).
                out.push(Effect::OpenWrapUp(call));
                if let Some(next) = self.held.pop() {
                    self.state = AgentState::InCall { call: next };
                }
            }
            (AgentState::InCall { call }, Input::Switch(c)) if self.held.contains(&c) => {
                self.held.retain(|h| *h != c);
                self.held.push(call);
                self.state = AgentState::InCall { call: c };
            }
            (AgentState::Ringing { call }, Input::Answer) => out.push(Effect::Answer(call)),
            (AgentState::Ringing { call }, Input::Decline) => {
                out.push(Effect::Reject(call, 603));
            }
            (AgentState::Ringing { call }, Input::Established(c)) if c == call => {
                self.set(AgentState::InCall { call }, &mut out);
            }
            (AgentState::Ringing { call }, Input::Ended(c)) if c == call => {
                // Missed or declined: straight back to Available, nothing to wrap up.
                self.set(AgentState::Available, &mut out);
            }
            (AgentState::InCall { call }, Input::Hangup) => out.push(Effect::Hangup(call)),
            (AgentState::InCall { call }, Input::Replaced { old, new }) if call == old => {
                // No wrap-up: the conversation goes on.
                self.state = AgentState::InCall { call: new };
            }
            (AgentState::InCall { .. }, Input::Replaced { old, new })
                if self.held.contains(&old) =>
            {
                // A held conversation goes on on another call, still held.
                for h in &mut self.held {
                    if *h == old {
                        *h = new;
                    }
                }
            }
            (AgentState::InCall { call }, Input::Ended(c)) if c == call => {
                if self.placed == Some(c) {
                    self.placed = None;
                }
                out.push(Effect::OpenWrapUp(call));
                let deadline = now
                    .checked_add(self.policy.wrap_up)
                    .unwrap_or(now + MAX_WRAP_UP);
                self.set(AgentState::WrapUp { call, deadline }, &mut out);
            }
            (AgentState::WrapUp { .. }, Input::SaveWrapUp) => {
                let next = self.after_work();
                self.set(next, &mut out);
            }
            (AgentState::WrapUp { deadline, .. }, Input::Tick)
                if self.policy.auto_available && now >= deadline =>
            {
                let next = self.after_work();
                self.set(next, &mut out);
            }
            // A state chosen by the operator applies only when no call is in hand.
            (
                AgentState::Offline | AgentState::Available | AgentState::Break { .. },
                Input::SetState(s),
            ) if matches!(
                s,
                AgentState::Offline | AgentState::Available | AgentState::Break { .. }
            ) =>
            {
                self.set(s, &mut out);
            }
            // Going on break or offline from wrap-up counts as finishing it.
            (AgentState::WrapUp { .. }, Input::SetState(s))
                if matches!(s, AgentState::Offline | AgentState::Break { .. }) =>
            {
                self.before_dial = None;
                self.set(s, &mut out);
            }
            _ => {}
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent() -> (Agent, Instant) {
        let mut a = Agent::new(Policy::default());
        let t = Instant::now();
        a.apply(t, Input::SetState(AgentState::Available));
        (a, t)
    }

    #[test]
    fn call_waiting_offers_a_second_call_and_answering_it_holds_the_first() {
        let (mut a, t) = agent();
        let (c1, c2, c3) = (CallRef(1), CallRef(2), CallRef(3));
        a.apply(t, Input::Incoming(c1));
        a.apply(t, Input::Answer);
        a.apply(t, Input::Established(c1));
        assert_eq!(a.apply(t, Input::Incoming(c2)), [Effect::CallWaiting(c2)]);
        // Only one call waits; a third is busy.
        assert_eq!(a.apply(t, Input::Incoming(c3)), [Effect::Reject(c3, 486)]);
        assert_eq!(a.apply(t, Input::Answer), [Effect::Answer(c2)]);
        assert_eq!(a.apply(t, Input::Established(c2)), [Effect::WaitingOver]);
        assert_eq!(a.state(), &AgentState::InCall { call: c2 });
        assert_eq!(a.held(), [c1]);
        // Back to the first; then the second hangs up while held: its
        // wrap-up opens, the first stays in hand (no state change).
        a.apply(t, Input::Switch(c1));
        assert_eq!(a.state(), &AgentState::InCall { call: c1 });
        assert_eq!(a.held(), [c2]);
        assert_eq!(a.apply(t, Input::Ended(c2)), [Effect::OpenWrapUp(c2)]);
        assert_eq!(a.state(), &AgentState::InCall { call: c1 });
        assert!(a.held().is_empty());
        // The first call ends: wrap-up as usual.
        assert_eq!(
            a.apply(t, Input::Ended(c1)),
            [Effect::OpenWrapUp(c1), Effect::StateChanged("wrap_up")]
        );
    }

    #[test]
    fn a_waiting_call_rings_when_the_call_in_hand_ends() {
        let (mut a, t) = agent();
        let (c1, c2) = (CallRef(1), CallRef(2));
        a.apply(t, Input::Incoming(c1));
        a.apply(t, Input::Answer);
        a.apply(t, Input::Established(c1));
        a.apply(t, Input::Incoming(c2));
        assert_eq!(
            a.apply(t, Input::Ended(c1)),
            [Effect::OpenWrapUp(c1), Effect::StateChanged("ringing")]
        );
        assert_eq!(a.state(), &AgentState::Ringing { call: c2 });
        assert_eq!(a.apply(t, Input::Answer), [Effect::Answer(c2)]);
    }

    #[test]
    fn a_waiting_call_can_be_declined_or_give_up_and_off_the_policy_is_busy() {
        let (mut a, t) = agent();
        let (c1, c2) = (CallRef(1), CallRef(2));
        a.apply(t, Input::Incoming(c1));
        a.apply(t, Input::Answer);
        a.apply(t, Input::Established(c1));
        a.apply(t, Input::Incoming(c2));
        assert_eq!(
            a.apply(t, Input::Decline),
            [Effect::Reject(c2, 603), Effect::WaitingOver]
        );
        a.apply(t, Input::Incoming(c2));
        assert_eq!(a.apply(t, Input::Ended(c2)), [Effect::WaitingOver]);
        assert_eq!(a.waiting(), None);
        a.set_policy(Policy {
            call_waiting: false,
            ..Policy::default()
        });
        assert_eq!(a.apply(t, Input::Incoming(c2)), [Effect::Reject(c2, 486)]);
    }

    #[test]
    fn a_replaced_call_goes_on_without_a_wrap_up() {
        let (mut a, t) = agent();
        let (c1, c2) = (CallRef(1), CallRef(2));
        a.apply(t, Input::Incoming(c1));
        a.apply(t, Input::Answer);
        a.apply(t, Input::Established(c1));
        assert!(a.apply(t, Input::Replaced { old: c1, new: c2 }).is_empty());
        assert_eq!(a.state(), &AgentState::InCall { call: c2 });
        // The old call's end is not the end of the conversation.
        assert!(a.apply(t, Input::Ended(c1)).is_empty());
        assert_eq!(a.apply(t, Input::Hangup), [Effect::Hangup(c2)]);
    }

    #[test]
    fn a_call_is_offered_answered_wrapped_up_and_the_agent_is_available_again() {
        let (mut a, t) = agent();
        let c = CallRef(7);
        assert_eq!(
            a.apply(t, Input::Incoming(c)),
            [Effect::StateChanged("ringing")]
        );
        assert_eq!(a.apply(t, Input::Answer), [Effect::Answer(c)]);
        a.apply(t, Input::Established(c));
        assert_eq!(a.state(), &AgentState::InCall { call: c });
        assert_eq!(a.apply(t, Input::Hangup), [Effect::Hangup(c)]);
        let fx = a.apply(t, Input::Ended(c));
        assert_eq!(fx[0], Effect::OpenWrapUp(c));
        assert_eq!(a.wrap_up_left(t), Some(Duration::from_secs(30)));
        assert_eq!(
            a.apply(t, Input::SaveWrapUp),
            [Effect::StateChanged("available")]
        );
    }

    #[test]
    fn no_call_is_offered_during_wrap_up_break_or_offline() {
        let (mut a, t) = agent();
        a.apply(t, Input::Incoming(CallRef(1)));
        a.apply(t, Input::Established(CallRef(1)));
        a.apply(t, Input::Ended(CallRef(1)));
        assert_eq!(
            a.apply(t, Input::Incoming(CallRef(2))),
            [Effect::Reject(CallRef(2), 486)],
            "wrap-up"
        );
        a.apply(
            t,
            Input::SetState(AgentState::Break {
                reason: "lunch".into(),
            }),
        );
        assert_eq!(a.state().name(), "break");
        assert_eq!(
            a.apply(t, Input::Incoming(CallRef(3))),
            [Effect::Reject(CallRef(3), 486)]
        );
        a.apply(t, Input::SetState(AgentState::Offline));
        assert_eq!(
            a.apply(t, Input::Incoming(CallRef(4))),
            [Effect::Reject(CallRef(4), 486)]
        );
    }

    #[test]
    fn wrap_up_returns_to_available_by_itself_at_the_deadline_when_configured() {
        let (mut a, t) = agent();
        a.apply(t, Input::Incoming(CallRef(1)));
        a.apply(t, Input::Established(CallRef(1)));
        a.apply(t, Input::Ended(CallRef(1)));
        assert_eq!(a.next_deadline(), Some(t + Duration::from_secs(30)));
        assert!(a.apply(t + Duration::from_secs(29), Input::Tick).is_empty());
        assert_eq!(
            a.apply(t + Duration::from_secs(30), Input::Tick),
            [Effect::StateChanged("available")]
        );
        // Manual return: the agent stays in wrap-up until Save.
        let mut m = Agent::new(Policy {
            auto_available: false,
            ..Policy::default()
        });
        m.apply(t, Input::SetState(AgentState::Available));
        m.apply(t, Input::Incoming(CallRef(2)));
        m.apply(t, Input::Established(CallRef(2)));
        m.apply(t, Input::Ended(CallRef(2)));
        assert!(
            m.apply(t + Duration::from_secs(600), Input::Tick)
                .is_empty()
        );
        assert_eq!(m.state().name(), "wrap_up");
    }

    #[test]
    fn a_placed_call_is_wrapped_up_and_a_break_stays_a_break() {
        let (mut a, t) = agent();
        let c = CallRef(9);
        assert_eq!(a.apply(t, Input::Dial), [Effect::StateChanged("dialing")]);
        // Nobody is offered a call while the operator dials.
        assert_eq!(
            a.apply(t, Input::Incoming(CallRef(10))),
            [Effect::Reject(CallRef(10), 486)]
        );
        a.apply(t, Input::Calling(c));
        assert_eq!(a.state(), &AgentState::Dialing { call: Some(c) });
        assert_eq!(a.placed(), Some(c));
        assert_eq!(
            a.apply(t, Input::Established(c)),
            [Effect::StateChanged("in_call")]
        );
        assert_eq!(
            a.apply(t, Input::Ended(c)),
            [Effect::OpenWrapUp(c), Effect::StateChanged("wrap_up")]
        );
        a.apply(t, Input::SaveWrapUp);
        assert_eq!(a.state(), &AgentState::Available);

        // From a break: the call, its wrap-up, and the break again.
        let lunch = AgentState::Break {
            reason: "Lunch".into(),
        };
        a.apply(t, Input::SetState(lunch.clone()));
        a.apply(t, Input::Dial);
        a.apply(t, Input::Calling(CallRef(11)));
        a.apply(t, Input::Established(CallRef(11)));
        a.apply(t, Input::Ended(CallRef(11)));
        a.apply(t, Input::SaveWrapUp);
        assert_eq!(a.state(), &lunch);
    }

    #[test]
    fn a_placed_call_that_fails_or_is_cancelled_goes_back_to_where_it_was() {
        let (mut a, t) = agent();
        a.apply(t, Input::Dial);
        assert_eq!(
            a.apply(t, Input::DialFailed),
            [Effect::StateChanged("available")]
        );
        a.apply(t, Input::Dial);
        a.apply(t, Input::Calling(CallRef(1)));
        assert_eq!(a.apply(t, Input::Hangup), [Effect::Hangup(CallRef(1))]);
        assert_eq!(
            a.apply(t, Input::Ended(CallRef(1))),
            [Effect::StateChanged("available")],
            "never connected: no wrap-up"
        );
        // Without wrap-ups for placed calls, the agent is back at once; a
        // call placed during after-call work returns to it.
        a.set_policy(Policy {
            wrap_up_outgoing: false,
            ..Policy::default()
        });
        a.apply(t, Input::Incoming(CallRef(2)));
        a.apply(t, Input::Established(CallRef(2)));
        a.apply(t, Input::Ended(CallRef(2)));
        let wrap = a.state().clone();
        assert_eq!(wrap.name(), "wrap_up");
        a.apply(t, Input::Dial);
        a.apply(t, Input::Calling(CallRef(3)));
        a.apply(t, Input::Established(CallRef(3)));
        assert_eq!(
            a.apply(t, Input::Ended(CallRef(3))),
            [Effect::StateChanged("wrap_up")]
        );
        assert_eq!(a.state(), &wrap);
    }

    #[test]
    fn a_dial_given_up_before_the_phone_has_it_and_no_second_call_during_a_break_call() {
        let (mut a, t) = agent();
        a.apply(t, Input::Dial);
        assert_eq!(
            a.apply(t, Input::Hangup),
            [Effect::StateChanged("available")]
        );
        // A call placed from a break offers no waiting call beside it.
        let lunch = AgentState::Break {
            reason: "Lunch".into(),
        };
        a.apply(t, Input::SetState(lunch.clone()));
        a.apply(t, Input::Dial);
        a.apply(t, Input::Calling(CallRef(1)));
        a.apply(t, Input::Established(CallRef(1)));
        assert_eq!(
            a.apply(t, Input::Incoming(CallRef(2))),
            [Effect::Reject(CallRef(2), 486)]
        );
        a.apply(t, Input::Ended(CallRef(1)));
        a.apply(t, Input::SaveWrapUp);
        assert_eq!(a.state(), &lunch);
        // Back from the break, a call in hand gets call waiting again, and a
        // later wrap-up returns to Available, not to the old break.
        a.apply(t, Input::SetState(AgentState::Available));
        a.apply(t, Input::Incoming(CallRef(3)));
        a.apply(t, Input::Established(CallRef(3)));
        assert_eq!(
            a.apply(t, Input::Incoming(CallRef(4))),
            [Effect::CallWaiting(CallRef(4))]
        );
        a.apply(t, Input::Ended(CallRef(4)));
        a.apply(t, Input::Ended(CallRef(3)));
        a.apply(t, Input::SaveWrapUp);
        assert_eq!(a.state(), &AgentState::Available);
    }

    #[test]
    fn a_held_call_taken_over_by_another_stays_held_under_its_new_handle() {
        let (mut a, t) = agent();
        let (c1, c2, c3) = (CallRef(1), CallRef(2), CallRef(3));
        a.apply(t, Input::Incoming(c1));
        a.apply(t, Input::Established(c1));
        a.apply(t, Input::Incoming(c2));
        a.apply(t, Input::Answer);
        a.apply(t, Input::Established(c2));
        assert_eq!(a.held(), [c1]);
        a.apply(t, Input::Replaced { old: c1, new: c3 });
        assert_eq!(a.held(), [c3]);
        assert!(
            a.apply(t, Input::Ended(c1)).is_empty(),
            "the old leg's end is nothing"
        );
        assert_eq!(a.apply(t, Input::Ended(c3)), [Effect::OpenWrapUp(c3)]);
    }

    #[test]
    fn a_missed_call_needs_no_wrap_up_and_a_state_change_waits_for_the_call() {
        let (mut a, t) = agent();
        a.apply(t, Input::Incoming(CallRef(1)));
        assert!(
            a.apply(t, Input::SetState(AgentState::Offline)).is_empty(),
            "cannot log out with a call ringing"
        );
        a.apply(t, Input::Ended(CallRef(1)));
        assert_eq!(a.state(), &AgentState::Available);
        a.apply(t, Input::Incoming(CallRef(2)));
        assert_eq!(
            a.apply(t, Input::Decline),
            [Effect::Reject(CallRef(2), 603)]
        );
    }
}
