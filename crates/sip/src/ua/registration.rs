//! Registration (RFC 3261 §10): one binding with the account's registrar,
//! refreshed before it expires, with digest authentication (RFC 3261 §22,
//! [`crate::auth`]) for the account's realm only.
//!
//! A 2xx gives the granted expiry (our Contact's `expires`, else Expires,
//! else what we asked) and a refresh at the later of half of it and 30 s
//! before its end; 401/407 is answered once per challenge (twice rejected
//! credentials fail it); 423 is retried with Min-Expires; anything else, or
//! no answer, fails it ([`Event::RegistrationFailed`]).

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
    pub(super) refresh_at: Option<Instant>,
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
        });
        self.send_register(now, false);
        self.flush_tx();
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

    pub(super) fn registration_failed(&mut self, status: Option<u16>, reason: String) {
        if let Some(r) = self.registration.as_mut() {
            let was_unregistering = r.state == RegState::Unregistering;
            r.state = RegState::Failed;
            r.refresh_at = None;
            if was_unregistering {
                self.events.push_back(Event::Unregistered);
                return;
            }
        }
        self.events
            .push_back(Event::RegistrationFailed { status, reason });
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
                let refresh =
                    u64::from(granted.saturating_sub(granted.min(30)).max(granted / 2)).max(1);
                r.refresh_at = Some(now + Duration::from_secs(refresh));
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
                        Some(status),
                        "no supported digest challenge".to_owned(),
                    );
                    return;
                };
                if ch.realm != realm {
                    self.registration_failed(
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
                    self.registration_failed(Some(status), "credentials rejected".to_owned());
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
                        Some(423),
                        "interval too brief without usable Min-Expires".to_owned(),
                    ),
                }
            }
            _ => self.registration_failed(Some(status), resp.reason.clone()),
        }
    }
}
