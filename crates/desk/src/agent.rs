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
//! ```
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
            AgentState::Ringing { .. } => "ringing",
            AgentState::InCall { .. } => "in_call",
            AgentState::WrapUp { .. } => "wrap_up",
        }
    }
}

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
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            wrap_up: Duration::from_secs(30),
            auto_available: true,
            busy_status: 486,
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
    /// The operator saved the wrap-up record.
    SaveWrapUp,
    /// The operator chose a state (Available, Break with a reason, Offline).
    SetState(AgentState),
    /// Time passed (the UI ticks while a deadline is pending).
    Tick,
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
}

/// The agent, its policy and its current state.
#[derive(Debug, Clone)]
pub struct Agent {
    state: AgentState,
    policy: Policy,
}

impl Agent {
    /// A new agent, offline.
    pub fn new(policy: Policy) -> Agent {
        Agent {
            state: AgentState::Offline,
            policy,
        }
    }

    /// The current state.
    pub fn state(&self) -> &AgentState {
        &self.state
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

    /// Applies one input at `now`; returns the effects in order.
    pub fn apply(&mut self, now: Instant, input: Input) -> Vec<Effect> {
        let mut out = Vec::new();
        match (self.state.clone(), input) {
            (AgentState::Available, Input::Incoming(call)) => {
                self.set(AgentState::Ringing { call }, &mut out);
            }
            (_, Input::Incoming(call)) => {
                out.push(Effect::Reject(call, self.policy.busy_status));
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
            (AgentState::InCall { call }, Input::Ended(c)) if c == call => {
                out.push(Effect::OpenWrapUp(call));
                let deadline = now + self.policy.wrap_up;
                self.set(AgentState::WrapUp { call, deadline }, &mut out);
            }
            (AgentState::WrapUp { .. }, Input::SaveWrapUp) => {
                self.set(AgentState::Available, &mut out);
            }
            (AgentState::WrapUp { deadline, .. }, Input::Tick)
                if self.policy.auto_available && now >= deadline =>
            {
                self.set(AgentState::Available, &mut out);
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
