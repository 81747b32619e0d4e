//! Registration (RFC 3261 §10): one binding with the account's registrar,
//! refreshed before it expires, with digest authentication (RFC 3261 §22,
//! [`crate::auth`]) for the account's realm only.
//!
//! A 2xx gives the granted expiry (our Contact's `expires`, else Expires,
//! else what we asked) and a refresh at the later of half of it and 30 s
//! before its end; 401/407 is answered once per challenge (twice rejected
//! credentials fail it); 423 is retried with Min-Expires; anything else, or
//! no answer, fails it ([`Event::RegistrationFailed`]).
//!
//! A failed registration is never left failed: it is tried again after a
//! back-off (RFC 5626 §4.5): `min(max, base·2^failures)` with jitter (a
//! uniform wait between half of it and all of it, so a thousand desks that
//! lost the same registrar do not come back in one burst), or exactly what
//! Retry-After asks (capped at `max`). The event says when;
//! [`UserAgent::register_now`] (the operator's Retry, the network coming
//! back) skips the wait.

use std::time::{Duration, Instant};

use super::router::client_key;
use super::{ALLOW, Account, Event, Owner, Transport, UserAgent};
use crate::auth::{Challenge, DigestClient};
use crate::header::NameAddr;
use crate::message::{Headers, Method, Request, Response, Version};
use crate::uri::{Host, SipUri, Uri};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RegState {
    Idle,
    Registering,
    Registered,
    Unregistering,
    Failed,
}

#[derive(Debug)]
pub(super) struct Registration {
    pub(super) account: Account,
    state: RegState,
    pub(super) call_id: String,
    from_tag: String,
    cseq: u32,
    digest: DigestClient,
    auth_failures: u8,
    expires: u32,
    /// The next REGISTER: the refresh of a binding, or the retry of a failure.
    pub(super) refresh_at: Option<Instant>,
    /// Failures since the last success (the back-off's exponent).
    failures: u32,
}

impl Registration {
    /// When the next REGISTER goes out on its own.
    pub(super) fn next_deadline(&self) -> Option<Instant> {
        self.refresh_at
    }
}

/// How long to wait before trying a failed registration again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The first wait's upper bound is twice this (RFC 5626: 30 s).
    pub base: Duration,
    /// No wait is longer (RFC 5626: 30 min).
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            base: Duration::from_secs(30),
            max: Duration::from_secs(1800),
        }
    }
}

impl Backoff {
    /// The wait after `failures` consecutive failures (at least 1), with
    /// `unit` in [0, 1) choosing where between half and all of the bound.
    pub fn wait(&self, failures: u32, unit: f64) -> Duration {
        let bound = self
            .base
            .saturating_mul(2u32.saturating_pow(failures.min(20)))
            .min(self.max);
        bound.mul_f64(0.5 + 0.5 * unit.clamp(0.0, 1.0))
    }
}

/// When to renew what was granted for `granted` seconds (a binding, a
/// subscription): the later of half of it and 30 s before its end.
pub(super) fn refresh_after(granted: u32) -> Duration {
    Duration::from_secs(u64::from(granted.saturating_sub(granted.min(30)).max(granted / 2)).max(1))
}

/// A response's Retry-After in seconds (its comment and parameters aside).
pub(super) fn retry_after(resp: &Response) -> Option<u32> {
    resp.headers
        .get("Retry-After")
        .and_then(|v| v.split([';', '(']).next())
        .and_then(|v| v.trim().parse::<u32>().ok())
}

impl UserAgent {
    /// Starts registering `account` (and refreshing it before expiry).
    pub fn register(&mut self, now: Instant, account: Account) {
        let call_id = format!("{}@{}", self.token(), self.local_host());
        let from_tag = self.token();
        let digest = DigestClient::new(&account.username, &account.password);
        self.registration = Some(Registration {
            expires: account.expires,
            account,
            state: RegState::Idle,
            call_id,
            from_tag,
            cseq: 0,
            digest,
            auth_failures: 0,
            refresh_at: None,
            failures: 0,
        });
        self.send_register(now, false);
        self.flush_tx();
    }

    /// Tries the account again now, whatever the back-off said (Retry, or
    /// the network is back). Nothing happens without an account or while a
    /// REGISTER is in flight.
    pub fn register_now(&mut self, now: Instant) {
        let Some(r) = self.registration.as_mut() else {
            return;
        };
        if matches!(r.state, RegState::Registering | RegState::Unregistering) {
            return;
        }
        r.refresh_at = None;
        r.auth_failures = 0;
        self.send_register(now, false);
        self.flush_tx();
    }

    /// When the account is tried again after a failure, if it is waiting.
    pub fn registration_retry_at(&self) -> Option<Instant> {
        self.registration
            .as_ref()
            .filter(|r| r.state == RegState::Failed)
            .and_then(|r| r.refresh_at)
    }

    /// The refresh or retry, when it is due.
    pub(super) fn registration_due(&mut self, now: Instant) {
        if let Some(r) = self.registration.as_mut()
            && r.refresh_at.is_some_and(|d| d <= now)
        {
            r.refresh_at = None;
            if r.state == RegState::Failed {
                r.auth_failures = 0;
            }
            self.send_register(now, false);
        }
    }

    /// Removes our binding (Expires: 0).
    pub fn unregister(&mut self, now: Instant) {
        let registered = self
            .registration
            .as_ref()
            .is_some_and(|r| matches!(r.state, RegState::Registered | RegState::Registering));
        if registered {
            self.send_register(now, true);
            self.flush_tx();
        }
    }

    /// Whether a binding is currently in place.
    pub fn is_registered(&self) -> bool {
        self.registration
            .as_ref()
            .is_some_and(|r| r.state == RegState::Registered)
    }

    /// Whether a REGISTER is in flight or a binding is in place (shutdown waits for this).
    pub fn registration_active(&self) -> bool {
        self.registration.as_ref().is_some_and(|r| {
            matches!(
                r.state,
                RegState::Registering | RegState::Registered | RegState::Unregistering
            )
        })
    }

    pub(super) fn send_register(&mut self, now: Instant, unregister: bool) {
        let branch = self.branch();
        let cnonce = self.token();
        let contact = {
            let Some(r) = &self.registration else { return };
            self.contact(r.account.transport)
        };
        let via_t = self
            .registration
            .as_ref()
            .map(|r| r.account.transport)
            .unwrap_or(Transport::Udp);
        let via = self.via(via_t, &branch);
        let ua = self.config.user_agent.clone();
        let Some(r) = self.registration.as_mut() else {
            return;
        };
        r.cseq += 1;
        r.state = if unregister {
            RegState::Unregistering
        } else {
            RegState::Registering
        };
        let a = &r.account;
        let aor = SipUri::new(Some(&a.username), a.registrar.host.clone(), None);
        let ruri = Uri::Sip(SipUri {
            user: None,
            password: None,
            params: Vec::new(),
            headers: None,
            ..a.registrar.clone()
        });
        let mut h = Headers::new();
        h.push("Via", via);
        h.push("Max-Forwards", "70");
        h.push("From", format!("<{aor}>;tag={}", r.from_tag));
        h.push("To", format!("<{aor}>"));
        h.push("Call-ID", r.call_id.clone());
        h.push("CSeq", format!("{} REGISTER", r.cseq));
        h.push("Contact", contact);
        h.push(
            "Expires",
            if unregister {
                "0".to_owned()
            } else {
                r.expires.to_string()
            },
        );
        h.push("Allow", ALLOW);
        h.push("User-Agent", ua);
        if let Some(cred) = r.digest.credentials("REGISTER", &ruri.to_string(), &cnonce) {
            h.push("Authorization", cred.to_string());
        }
        h.push("Content-Length", "0");
        let req = Request {
            method: Method::Register,
            uri: ruri,
            version: Version::SIP_2_0,
            headers: h,
            body: Vec::new(),
        };
        let dest = (a.transport, a.registrar_addr);
        self.start_client(
            now,
            client_key(&branch, &Method::Register),
            req,
            dest,
            Owner::Register,
        );
    }

    /// The registration failed (`retry_after`: what the registrar asked):
    /// report it and schedule the retry.
    pub(super) fn registration_failed(
        &mut self,
        now: Instant,
        status: Option<u16>,
        reason: String,
    ) {
        self.registration_failed_after(now, status, reason, None);
    }

    fn registration_failed_after(
        &mut self,
        now: Instant,
        status: Option<u16>,
        reason: String,
        retry_after: Option<u32>,
    ) {
        let unit = (self.random() >> 11) as f64 / (1u64 << 53) as f64;
        let Some(r) = self.registration.as_mut() else {
            return;
        };
        let was_unregistering = r.state == RegState::Unregistering;
        r.state = RegState::Failed;
        r.refresh_at = None;
        if was_unregistering {
            self.events.push_back(Event::Unregistered);
            return;
        }
        r.failures = r.failures.saturating_add(1);
        let backoff = r.account.retry;
        let wait = match retry_after {
            Some(s) => Duration::from_secs(u64::from(s.max(1))).min(backoff.max),
            None => backoff.wait(r.failures, unit),
        };
        r.refresh_at = Some(now + wait);
        self.events.push_back(Event::RegistrationFailed {
            status,
            reason,
            retry_in: Some(wait),
        });
    }

    pub(super) fn register_response(&mut self, now: Instant, resp: &Response) {
        let status = resp.status;
        if status < 200 {
            return;
        }
        let Some(r) = self.registration.as_mut() else {
            return;
        };
        if resp.call_id() != r.call_id {
            // The answer to a registration since replaced (a new account):
            // it must not move the new one's state.
            return;
        }
        let unregistering = r.state == RegState::Unregistering;
        match status {
            200..=299 => {
                r.auth_failures = 0;
                r.failures = 0;
                if unregistering {
                    r.state = RegState::Idle;
                    self.events.push_back(Event::Unregistered);
                    return;
                }
                // Granted expiry: our Contact's expires param, else Expires, else what we asked.
                let ours = format!(
                    "{}:{}",
                    Host::from(self.config.advertised.ip()),
                    self.config.advertised.port()
                );
                let granted = resp
                    .headers
                    .list("Contact")
                    .filter_map(|c| NameAddr::parse(c).ok())
                    .find(|n| {
                        n.uri.as_sip().is_some_and(|u| {
                            format!("{}:{}", u.host, u.port.unwrap_or(5060)) == ours
                        })
                    })
                    .and_then(|n| {
                        n.param("expires")
                            .flatten()
                            .and_then(|e| e.parse::<u32>().ok())
                    })
                    .or_else(|| {
                        resp.headers
                            .get("Expires")
                            .and_then(|e| e.trim().parse().ok())
                    })
                    .unwrap_or(r.expires);
                r.state = RegState::Registered;
                r.refresh_at = Some(now + refresh_after(granted));
                self.events
                    .push_back(Event::Registered { expires: granted });
            }
            401 | 407 => {
                let header = if status == 407 {
                    "Proxy-Authenticate"
                } else {
                    "WWW-Authenticate"
                };
                let realm = r
                    .account
                    .realm
                    .clone()
                    .unwrap_or_else(|| r.account.registrar.host.to_string());
                let Some(ch) = Challenge::best(resp.headers.get_all(header)) else {
                    self.registration_failed(
                        now,
                        Some(status),
                        "no supported digest challenge".to_owned(),
                    );
                    return;
                };
                if ch.realm != realm {
                    self.registration_failed(
                        now,
                        Some(status),
                        format!(
                            "challenge for realm \"{}\", not the account's realm \"{realm}\"",
                            ch.realm
                        ),
                    );
                    return;
                }
                let had_credentials = r.digest.challenge().is_some();
                let stale = ch.stale;
                r.digest.set_challenge(ch);
                if had_credentials && !stale {
                    r.auth_failures += 1;
                }
                if r.auth_failures >= 2 {
                    self.registration_failed(now, Some(status), "credentials rejected".to_owned());
                    return;
                }
                self.send_register(now, unregistering);
            }
            423 => {
                let min = resp
                    .headers
                    .get("Min-Expires")
                    .and_then(|m| m.trim().parse::<u32>().ok());
                match min {
                    Some(m) if m > r.expires => {
                        r.expires = m;
                        self.send_register(now, unregistering);
                    }
                    _ => self.registration_failed(
                        now,
                        Some(423),
                        "interval too brief without usable Min-Expires".to_owned(),
                    ),
                }
            }
            _ => {
                let reason = resp.reason.clone();
                self.registration_failed_after(now, Some(status), reason, retry_after(resp));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Backoff;
    use std::time::Duration;

    #[test]
    fn backoff_doubles_from_the_base_up_to_the_cap_with_jitter_below_the_bound() {
        let b = Backoff::default();
        let s = Duration::from_secs;
        assert_eq!(b.wait(1, 0.0), s(30));
        assert_eq!(b.wait(1, 1.0), s(60));
        assert_eq!(b.wait(2, 1.0), s(120));
        assert_eq!(b.wait(5, 1.0), s(960));
        assert_eq!(b.wait(6, 1.0), s(1800), "capped at 30 min");
        assert_eq!(b.wait(u32::MAX, 1.0), s(1800));
        assert_eq!(b.wait(40, 0.0), s(900), "jitter keeps at least half");
    }
}
