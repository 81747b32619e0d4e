//! Transfer both ways (RFC 3515, RFC 5589), consultation, Replaces
//! (RFC 3891) and the local three-way conference.
//!
//! - **Blind** (we are the transferor): REFER to the peer; our leg ends when
//!   the target answers the peer, and a failed transfer gives the caller
//!   back to us (resumed).
//! - **Attended**: the caller is held and a consultation call placed (after
//!   the peer agreed to the hold, so the caller never hears the
//!   consultation); completing sends REFER with Replaces naming the
//!   consultation's dialog, and both our legs end on success.
//! - **Being transferred** (REFER to us): by [`TransferPolicy`] — accepted
//!   and dialled at once, asked about (`transfer_requested`), or refused
//!   with 603. The REFER itself is always answered at once (202); the
//!   operator's answer follows as NOTIFY.
//! - **Replaces to us**: an INVITE that replaces the call in hand is
//!   answered at once and that call ends; one naming a held call is
//!   refused (that caller would hear the operator's other conversation).
//! - **Conference**: the pumps of two calls share a bridge; either can be
//!   hung up, and the other goes on alone.

use std::time::Instant;

use switchboard_sip::ua::escape_header_value;
use switchboard_sip::uri::{SipUri, Uri};

use super::call::{Link, Phase};
use super::hold::{Hold, Turn};
use super::{Action, BridgeId, MediaOrder, Phone, Purpose};
use crate::error::CommandError;
use crate::events::EventKind;
use crate::{CallId, TransferPolicy};

/// Our REFER on a call, under way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transfer {
    /// To a target: the caller comes back to us if it fails.
    Blind,
    /// Replacing our consultation call: both our legs end on success.
    Attended {
        /// The consultation call.
        consult: CallId,
    },
}

/// What the peer asked when it referred us to another party.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferRequest {
    /// Whom to call.
    pub target: String,
    /// The Replaces header the new INVITE carries (attended transfer).
    pub replaces: Option<String>,
    /// Referred-By, passed on.
    pub referred_by: Option<String>,
}

impl Phone {
    /// A transfer target as typed: a SIP URI as is; a number becomes
    /// `sip:NUMBER@` the registrar's domain, or the host of `call`'s peer.
    pub(super) fn target_uri(&self, target: &str, call: CallId) -> Result<Uri, CommandError> {
        let t = target.trim();
        let bad = || CommandError::BadTarget(t.to_owned());
        let lower = t.to_ascii_lowercase();
        if lower.starts_with("sip:") || lower.starts_with("sips:") {
            return Uri::parse(t).map_err(|_| bad());
        }
        let dialable = !t.is_empty()
            && t.chars().all(|c| {
                c.is_ascii_alphanumeric() || matches!(c, '+' | '*' | '#' | '.' | '-' | '_')
            });
        if !dialable {
            return Err(bad());
        }
        let (host, port) = match &self.registration {
            super::Registration::Active(a, _) => (a.registrar.host.clone(), a.registrar.port),
            _ => {
                let peer = self
                    .ua
                    .remote_uri(call.into())
                    .and_then(|u| u.as_sip().cloned())
                    .ok_or(CommandError::NoPeerForNumber)?;
                (peer.host, peer.port)
            }
        };
        let user = t.trim_start_matches('+');
        let user = if t.starts_with('+') {
            format!("+{user}")
        } else {
            user.to_owned()
        };
        Ok(Uri::Sip(SipUri::new(Some(&user), host, port)))
    }

    // ------------------------------------------------------------ transferor

    pub(super) fn transfer(
        &mut self,
        now: Instant,
        call: CallId,
        target: &str,
    ) -> Result<(), CommandError> {
        self.call(call)?;
        let uri = self.target_uri(target, call)?;
        self.ua.refer(now, call.into(), &uri)?;
        self.call_mut(call)?.call.transfer = Some(Transfer::Blind);
        Ok(())
    }

    /// Consult: hold the caller first, then call the target once the peer
    /// agreed (or at once if it cannot be told now).
    pub(super) fn consult(
        &mut self,
        now: Instant,
        call: CallId,
        target: &str,
    ) -> Result<(), CommandError> {
        let uri = self.target_uri(target, call)?.to_string();
        let mut c = self.with_media(call)?;
        if let Err(e) = c.hold(now) {
            c.out.fail(format!("hold {call}"), e);
        }
        match &mut c.call.hold {
            // The peer's answer comes first, then the consultation call.
            Hold::Holding {
                turn: Turn::Sent,
                then_consult,
                ..
            } => {
                *then_consult = Some(uri);
                Ok(())
            }
            // Held here already; the peer hears of it when it can.
            _ => {
                self.consult_now(now, call, &uri);
                Ok(())
            }
        }
    }

    /// Places the consultation call for held `call`.
    pub(super) fn consult_now(&mut self, now: Instant, call: CallId, target: &str) {
        self.place(now, target, Vec::new(), Purpose::Consultation(call));
    }

    pub(super) fn complete_transfer(
        &mut self,
        now: Instant,
        call: CallId,
        consult: CallId,
    ) -> Result<(), CommandError> {
        self.call(call)?;
        let replaces = self
            .ua
            .replaces_for(consult.into())
            .ok_or(CommandError::ConsultNotUp)?;
        let target = self
            .ua
            .remote_uri(consult.into())
            .ok_or(CommandError::ConsultNotUp)?;
        let text = format!("{target}?Replaces={}", escape_header_value(&replaces));
        let refer_to = Uri::parse(&text).map_err(|_| CommandError::BadTarget(text))?;
        self.ua.refer(now, call.into(), &refer_to)?;
        self.call_mut(call)?.call.transfer = Some(Transfer::Attended { consult });
        Ok(())
    }

    pub(super) fn cancel_consult(
        &mut self,
        now: Instant,
        consult: CallId,
    ) -> Result<(), CommandError> {
        let original = self
            .call(consult)?
            .link
            .consultation_for()
            .ok_or(CommandError::NotConsultation)?;
        let _ = self.ua.hangup(now, consult.into());
        self.call_mut(original)?.resume(now)
    }

    /// A report on our transfer of `call`.
    pub(super) fn transfer_progress(
        &mut self,
        now: Instant,
        call: CallId,
        status: u16,
        done: bool,
    ) {
        self.out
            .emit(EventKind::TransferProgress { call, status, done });
        if !done {
            return;
        }
        let Ok(mut c) = self.call_mut(call) else {
            return;
        };
        let transfer = c.call.transfer.take();
        if (200..300).contains(&status) {
            // They talk to each other now: our legs end (RFC 5589 §6, §7).
            let _ = c.ua.hangup(now, call.into());
            if let Some(Transfer::Attended { consult }) = transfer {
                let _ = self.ua.hangup(now, consult.into());
            }
        } else if transfer == Some(Transfer::Blind) && c.call.hold.held_here() {
            // A failed blind transfer gives the caller back to us.
            if let Err(e) = c.resume(now) {
                c.out.fail(format!("resume {call}"), e);
            }
        }
    }

    // ------------------------------------------------------------ conference

    /// Joins two calls into a conference mixed here; held ones are resumed.
    pub(super) fn conference(
        &mut self,
        now: Instant,
        call: CallId,
        other: CallId,
    ) -> Result<(), CommandError> {
        if call == other {
            return Err(CommandError::ConferenceNeedsTwo);
        }
        for c in [call, other] {
            if self.with_media(c)?.call.link.conference().is_some() {
                return Err(CommandError::InConference);
            }
        }
        let bridge = BridgeId(self.new_id());
        for (c, o) in [(call, other), (other, call)] {
            let mut m = self.call_mut(c)?;
            m.call.link = Link::Conference {
                with: o,
                bridge,
                consultation_for: m.call.link.consultation_for(),
            };
            m.order(MediaOrder::Conference(Some(bridge)));
            if m.call.hold.wants_held()
                && let Err(e) = m.resume(now)
            {
                m.out.fail(format!("resume {c}"), e);
            }
        }
        self.out.emit(EventKind::Conference {
            call,
            other,
            on: true,
        });
        Ok(())
    }

    /// `call` leaves its conference (it ends): the other goes on alone.
    pub(super) fn leave_conference(&mut self, call: CallId) {
        let Some(c) = self.calls.get_mut(&call) else {
            return;
        };
        let Some((other, _)) = c.link.conference() else {
            return;
        };
        c.link = c.link.without_conference();
        if let Ok(mut o) = self.call_mut(other) {
            o.call.link = o.call.link.without_conference();
            o.order(MediaOrder::Conference(None));
        }
        self.out.emit(EventKind::Conference {
            call,
            other,
            on: false,
        });
    }

    // ------------------------------------------------------------ transferee

    /// The peer of `call` asks us to call another party.
    pub(super) fn referred(&mut self, now: Instant, call: CallId, request: TransferRequest) {
        let refusal = if self.policy.transfer == TransferPolicy::Reject {
            Some((603, "the transfer policy is reject".to_owned()))
        } else if !target_allowed(&self.transfer_allow, &request.target) {
            Some((
                403,
                "the target is not on the transfer allow-list".to_owned(),
            ))
        } else {
            None
        };
        if let Some((status, reason)) = refusal {
            let _ = self.ua.reject_refer(now, call.into(), status);
            self.out.emit(EventKind::TransferRefused {
                call,
                target: request.target,
                reason,
            });
            return;
        }
        // Accepted at once under both other policies (the REFER must not
        // wait for a person); with Ask the operator's answer follows as
        // NOTIFY: the call, or 603.
        if let Err(e) = self.ua.accept_refer(now, call.into()) {
            self.out
                .fail(format!("transfer on call {call}"), CommandError::from(e));
            return;
        }
        if self.policy.transfer == TransferPolicy::Accept {
            self.place_for_transferor(now, call, request);
            return;
        }
        let target = request.target.clone();
        match self.call_mut(call) {
            Ok(c) => c.call.referral = Some(request),
            Err(_) => debug_assert!(
                false,
                "the UA referred call {call}, which the core never had"
            ),
        }
        self.out.emit(EventKind::TransferRequested { call, target });
    }

    pub(super) fn accept_transfer(
        &mut self,
        now: Instant,
        call: CallId,
    ) -> Result<(), CommandError> {
        let request = self
            .call_mut(call)?
            .call
            .referral
            .take()
            .ok_or(CommandError::NoTransferRequest)?;
        self.place_for_transferor(now, call, request);
        Ok(())
    }

    pub(super) fn reject_transfer(
        &mut self,
        now: Instant,
        call: CallId,
    ) -> Result<(), CommandError> {
        self.call_mut(call)?
            .call
            .referral
            .take()
            .ok_or(CommandError::NoTransferRequest)?;
        Ok(self.ua.notify_transfer(now, call.into(), 603)?)
    }

    /// Calls the transfer target for the peer of `from`.
    fn place_for_transferor(&mut self, now: Instant, from: CallId, request: TransferRequest) {
        let mut headers = Vec::new();
        if let Some(r) = request.replaces {
            headers.push(("Replaces".to_owned(), r));
        }
        if let Some(b) = request.referred_by {
            headers.push(("Referred-By".to_owned(), b));
        }
        self.place(now, &request.target, headers, Purpose::ForTransferor(from));
    }

    /// Tells the transferor how our call for it goes.
    pub(super) fn report_to_transferor(&mut self, now: Instant, new_call: CallId, status: u16) {
        let Some(c) = self.calls.get_mut(&new_call) else {
            return;
        };
        let Link::PlacedFor(from) = c.link else {
            return;
        };
        if status >= 200 {
            c.link = Link::Alone;
        }
        let _ = self.ua.notify_transfer(now, from.into(), status);
    }

    // ------------------------------------------------------------ Replaces

    /// An INVITE replaces `old`: answered at once if `old` is the call in
    /// hand, and `old` ends; refused (603) if `old` is held.
    pub(super) fn replaced(
        &mut self,
        now: Instant,
        old: CallId,
        new: CallId,
        call_id: String,
        headers: Vec<(String, String)>,
    ) {
        let in_hand = self
            .calls
            .get(&old)
            .is_some_and(|c| c.media_started && !c.hold.wants_held());
        if !in_hand {
            let _ = self.ua.reject(now, new.into(), 603);
            if let Some(c) = self.calls.remove(&new) {
                self.out.push(Action::ReleaseRtp(c.slot));
            }
            return;
        }
        let sdp = match self.call(new) {
            Ok(c) => c.session.local_sdp().to_vec(),
            Err(_) => return,
        };
        if let Err(e) = self.ua.answer(now, new.into(), sdp) {
            self.out
                .fail(format!("replace {old}"), CommandError::from(e));
            return;
        }
        if let Some(c) = self.calls.get_mut(&new) {
            c.phase = Phase::Answered;
        }
        self.out.emit(EventKind::Replaced {
            old,
            new,
            call_id,
            headers,
        });
        let _ = self.ua.hangup(now, old.into());
    }
}

/// Whether `target` may be called for a peer's transfer: any target when
/// the list is empty, else one that matches a pattern (`*` any run of
/// characters, `?` one; letters compared without case; URI parameters after
/// `;` are not part of the match).
pub(crate) fn target_allowed(allow: &[String], target: &str) -> bool {
    let bare = target.split(';').next().unwrap_or(target).to_lowercase();
    allow.is_empty()
        || allow.iter().any(|p| {
            glob(
                &p.trim().to_lowercase().chars().collect::<Vec<_>>(),
                &bare.chars().collect::<Vec<_>>(),
            )
        })
}

/// `*`/`?` matching, iteratively with one backtrack point (linear in
/// practice, never exponential on a hostile target).
fn glob(p: &[char], t: &[char]) -> bool {
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(c) if *c == '?' || Some(c) == t.get(ti) => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p.get(pi..)
        .is_some_and(|rest| rest.iter().all(|c| *c == '*'))
}

#[cfg(test)]
mod allow_tests {
    use super::target_allowed;

    #[test]
    fn targets_match_the_allow_list_patterns() {
        let allow = vec!["sip:*@pbx.example.com".to_owned(), "sip:1???@*".to_owned()];
        assert!(target_allowed(&[], "sip:+900555123@evil.example"));
        assert!(target_allowed(&allow, "sip:carol@PBX.example.com"));
        assert!(target_allowed(
            &allow,
            "sip:carol@pbx.example.com;transport=tcp"
        ));
        assert!(target_allowed(&allow, "sip:1234@10.0.0.1"));
        assert!(!target_allowed(&allow, "sip:12345@10.0.0.1"));
        assert!(!target_allowed(
            &allow,
            "sip:+900555123@pbx.example.com.evil"
        ));
        assert!(!target_allowed(&allow, "sip:+900555123@evil.example"));
        let hostile = format!("sip:{}@x", "a".repeat(10_000));
        assert!(!target_allowed(
            &["sip:*a*a*a*a*a*b@*".to_owned()],
            &hostile
        ));
    }
}
