//! Colleagues' lines watched for the busy lamp (BLF): one dialog-event
//! subscription ([`switchboard_sip::ua::UserAgent::subscribe`]) per target,
//! through the account's registrar, and what each line shows.
//!
//! - `Watch` names a line as the desk knows it (a number, or a SIP URI); a
//!   number is the registrar's `sip:NUMBER@domain`. Watching needs an
//!   account: until it registers, the line waits (no error: a desk
//!   without a PBX shows no lamps) and is subscribed when the first
//!   `Registered` comes (and again, from scratch, when the account changes).
//!   Without an account a SIP URI with an address is subscribed directly.
//! - Each NOTIFY's dialog-info is read with a real XML parser
//!   ([`switchboard_sip::dialog_info`]) into the line's [`Lamp`]; a change
//!   of what it shows is one `presence` event (idle / ringing / busy); a
//!   partial document after a lost one refreshes the subscription, whose
//!   NOTIFY brings the full state. A
//!   body that does not parse is reported once as `presence_failed` with the
//!   parser's words and leaves the lamp as it was.
//! - A subscription the PBX refuses (489, 403 …) is `presence_failed`
//!   without a retry: the desk shows the line without a lamp and says why.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use switchboard_sip::dialog_info::{Applied, DialogInfo, Lamp, LineState};
use switchboard_sip::ua::{DEFAULT_SUBSCRIPTION_EXPIRES, SubscriptionHandle, Watch};
use switchboard_sip::uri::Uri;

use super::{Phone, Registration};
use crate::error::CommandError;
use crate::events::EventKind;

/// One watched line.
#[derive(Debug, Default)]
pub(super) struct Watched {
    /// Its subscription, once the account lets us subscribe.
    handle: Option<SubscriptionHandle>,
    lamp: Lamp,
    /// What was last reported.
    shown: Option<LineState>,
}

/// Every watched line, by the target the desk named.
#[derive(Debug, Default)]
pub(super) struct Presence {
    lines: BTreeMap<String, Watched>,
    by_handle: HashMap<SubscriptionHandle, String>,
}

impl Phone {
    /// The SIP URI a watched target names: a URI as is, a number at the
    /// registrar's domain.
    fn watch_uri(&self, target: &str) -> Result<Uri, CommandError> {
        let t = target.trim();
        let lower = t.to_ascii_lowercase();
        if lower.starts_with("sip:") || lower.starts_with("sips:") {
            return Uri::parse(t).map_err(|_| CommandError::BadTarget(t.to_owned()));
        }
        match &self.registration {
            Registration::Active(..) => self.target_uri(t, crate::CallId(0)),
            _ => Err(CommandError::NoAccount),
        }
    }

    /// Starts watching `target` (a second `Watch` of the same one is a no-op).
    pub(super) fn watch(&mut self, now: Instant, target: &str) -> Result<(), CommandError> {
        let target = target.trim().to_owned();
        if target.is_empty() {
            return Err(CommandError::BadTarget(target));
        }
        if self.presence.lines.contains_key(&target) {
            return Ok(());
        }
        self.presence
            .lines
            .insert(target.clone(), Watched::default());
        let subscribed = self.subscribe_line(now, &target);
        if subscribed.is_err() {
            // Not watched: a later Watch of it tries again.
            self.presence.lines.remove(&target);
        }
        subscribed
    }

    /// Stops watching `target`.
    pub(super) fn unwatch(&mut self, now: Instant, target: &str) {
        if let Some(w) = self.presence.lines.remove(target.trim())
            && let Some(h) = w.handle
        {
            self.presence.by_handle.remove(&h);
            self.ua.unsubscribe(now, h);
        }
    }

    /// Subscribes a watched line if the account is registered (else it
    /// waits for [`Phone::subscribe_waiting`]).
    fn subscribe_line(&mut self, now: Instant, target: &str) -> Result<(), CommandError> {
        let dest = match &self.registration {
            Registration::Active(account, _) if self.ua.is_registered() => {
                Some((account.transport, account.registrar_addr))
            }
            Registration::None => None,
            // Registering, or the registrar not resolved yet: wait for it.
            _ => return Ok(()),
        };
        let uri = match (dest, self.watch_uri(target)) {
            (_, Ok(u)) => u,
            // A number without an account waits for one.
            (None, Err(CommandError::NoAccount)) => return Ok(()),
            (_, Err(e)) => return Err(e),
        };
        let Some(sip) = uri.as_sip().cloned() else {
            return Err(CommandError::BadTarget(target.to_owned()));
        };
        // Without an account, straight to the URI's address (a lab, a peer
        // called directly), as calls go.
        let dest = match dest {
            Some(d) => d,
            None => {
                let transport = switchboard_sip::ua::Transport::of_uri(&sip);
                // A host name waits for an account (the desk may set one
                // after its first watches).
                let Some(ip) = sip.host.ip() else {
                    return Ok(());
                };
                (
                    transport,
                    std::net::SocketAddr::new(ip, sip.port.unwrap_or(transport.default_port())),
                )
            }
        };
        let handle = self.ua.subscribe(
            now,
            Watch {
                target: sip,
                dest,
                expires: DEFAULT_SUBSCRIPTION_EXPIRES,
            },
        );
        self.presence.by_handle.insert(handle, target.to_owned());
        if let Some(w) = self.presence.lines.get_mut(target) {
            w.handle = Some(handle);
            w.lamp.restart();
        }
        Ok(())
    }

    /// The account registered: lines waiting for it are subscribed now.
    pub(super) fn subscribe_waiting(&mut self, now: Instant) {
        let waiting: Vec<String> = self
            .presence
            .lines
            .iter()
            .filter(|(_, w)| w.handle.is_none())
            .map(|(t, _)| t.clone())
            .collect();
        for target in waiting {
            if let Err(e) = self.subscribe_line(now, &target) {
                self.out.emit(EventKind::PresenceFailed {
                    target,
                    status: None,
                    reason: e.to_string(),
                    retry_in_s: None,
                });
            }
        }
    }

    /// The account changed (or moved to another of the registrar's
    /// servers): every subscription is dropped, and each lamp is unknown
    /// until the new registration subscribes it again.
    pub(super) fn presence_account_changed(&mut self, now: Instant) {
        let handles: Vec<SubscriptionHandle> =
            self.presence.by_handle.drain().map(|(h, _)| h).collect();
        for h in handles {
            self.ua.unsubscribe(now, h);
        }
        let mut unknown = Vec::new();
        for (target, w) in self.presence.lines.iter_mut() {
            w.handle = None;
            w.lamp = Lamp::default();
            if w.shown.take().is_some() {
                unknown.push(target.clone());
            }
        }
        for target in unknown {
            self.out.emit(EventKind::PresenceFailed {
                target,
                status: None,
                reason: "the account changed: subscribed again once it registers".into(),
                retry_in_s: Some(1),
            });
        }
    }

    /// A NOTIFY's body for subscription `h`.
    pub(super) fn presence_notified(&mut self, now: Instant, h: SubscriptionHandle, body: &[u8]) {
        let Some(target) = self.presence.by_handle.get(&h).cloned() else {
            return;
        };
        let info = match DialogInfo::parse(body) {
            Ok(i) => i,
            Err(e) => {
                self.out.emit(EventKind::PresenceFailed {
                    target,
                    status: None,
                    reason: e.to_string(),
                    retry_in_s: Some(0),
                });
                return;
            }
        };
        let Some(w) = self.presence.lines.get_mut(&target) else {
            return;
        };
        match w.lamp.apply(&info) {
            Applied::Old => return,
            Applied::Taken => {}
            // A NOTIFY was lost: what the lamp shows may be stale until the
            // refresh's NOTIFY brings the full state.
            Applied::Gap => self.ua.refresh_subscription(now, h),
        }
        let Some(w) = self.presence.lines.get_mut(&target) else {
            return;
        };
        let line = w.lamp.line();
        if w.shown != Some(line) {
            w.shown = Some(line);
            self.out.emit(EventKind::Presence {
                target,
                state: line.as_str(),
            });
        }
    }

    /// Subscription `h` failed (retried later, or never when `retry_in_s` is `None`).
    pub(super) fn presence_failed(
        &mut self,
        h: SubscriptionHandle,
        status: Option<u16>,
        reason: String,
        retry_in_s: Option<u64>,
    ) {
        let Some(target) = self.presence.by_handle.get(&h).cloned() else {
            return;
        };
        if let Some(w) = self.presence.lines.get_mut(&target) {
            // Whatever the lamp showed is not known any more.
            w.shown = None;
        }
        self.out.emit(EventKind::PresenceFailed {
            target,
            status,
            reason,
            retry_in_s,
        });
    }
}
