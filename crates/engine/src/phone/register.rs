//! The account: its registrar resolved (by the driver, when it is a name)
//! and registered with the UA; a registrar that cannot be used is a
//! `registration_failed` event, and `Register` tries again.

use std::net::SocketAddr;
use std::time::Instant;

use switchboard_sip::ua::{Account, Backoff, Cidr, Transport};
use switchboard_sip::uri::{SipUri, Uri};

use super::{Action, LookupFor, LookupId, Phone};
use crate::events::EventKind;
use crate::{AccountConfig, EngineError};

/// The account and how far its registration got.
#[derive(Debug, Default)]
pub(super) enum Registration {
    /// None configured.
    #[default]
    None,
    /// Its registrar is being resolved.
    Resolving(AccountConfig, LookupId),
    /// Registering or registered (the UA knows which).
    Active(Box<Account>, AccountConfig),
    /// Its registrar could not be resolved: `Register` tries again.
    Unresolved(AccountConfig),
}

impl Registration {
    pub(super) fn config(&self) -> Option<&AccountConfig> {
        match self {
            Registration::None => None,
            Registration::Resolving(c, _)
            | Registration::Active(_, c)
            | Registration::Unresolved(c) => Some(c),
        }
    }
}

/// Whether a URI names its transport (`sips:` or `;transport=`): then RFC
/// 3263's NAPTR step, which would choose one, is skipped.
pub(super) fn transport_given(sip: &SipUri) -> bool {
    sip.secure || sip.param("transport").is_some()
}

/// The registrar's URI and transport; an error when it is not a SIP URI.
pub fn registrar_uri(a: &AccountConfig) -> Result<(SipUri, Transport), EngineError> {
    let uri = Uri::parse(a.registrar.trim())
        .map_err(|_| EngineError::BadRegistrar(a.registrar.clone()))?;
    let sip = uri
        .as_sip()
        .cloned()
        .ok_or_else(|| EngineError::BadRegistrar(a.registrar.clone()))?;
    let transport = Transport::of_uri(&sip);
    Ok((sip, transport))
}

pub(super) fn account_at(
    a: &AccountConfig,
    sip: SipUri,
    addr: SocketAddr,
    transport: Transport,
    retry: Backoff,
) -> Account {
    Account {
        retry,
        registrar: sip,
        registrar_addr: addr,
        transport,
        username: a.username.clone(),
        password: a.password.clone(),
        realm: a.realm.clone(),
        expires: a.expires,
    }
}

impl Phone {
    /// Registers the configured account: resolves its registrar (a failure
    /// is a `registration_failed` event, and the lookup is tried again
    /// after the back-off) and starts the REGISTER.
    pub(super) fn register_configured(&mut self, now: Instant) {
        let Some(cfg) = self.registration.config().cloned() else {
            return;
        };
        let (sip, transport) = match registrar_uri(&cfg) {
            Ok(r) => r,
            Err(e) => {
                self.registration = Registration::Unresolved(cfg);
                self.unresolved(now, e.to_string());
                return;
            }
        };
        let port = sip.port.unwrap_or(transport.default_port());
        match sip.host.ip() {
            Some(ip) => {
                let at = SocketAddr::new(ip, port);
                let account = account_at(&cfg, sip, at, transport, self.register_retry);
                self.activate(now, cfg, account);
            }
            None => {
                let id = LookupId(self.new_id());
                self.lookups.insert(id, LookupFor::Registrar);
                self.out.push(Action::Lookup {
                    id,
                    host: sip.host.to_string(),
                    port: sip.port,
                    transport,
                    transport_given: transport_given(&sip),
                });
                self.registration = Registration::Resolving(cfg, id);
            }
        }
    }

    /// Registers `account` (resolved) and trusts its registrar.
    fn activate(&mut self, now: Instant, cfg: AccountConfig, account: Account) {
        self.resolve_at = None;
        self.resolve_failures = 0;
        match &self.registration {
            // The same registrar again (Retry): the UA keeps its binding state.
            Registration::Active(a, c) if **a == account && *c == cfg => {
                self.ua.register_now(now);
            }
            _ => {
                self.ua.register(now, account.clone());
                self.registration = Registration::Active(Box::new(account), cfg);
            }
        }
        self.update_trust();
    }

    /// The registrar could not be used: say so, and look it up again later.
    pub(super) fn unresolved(&mut self, now: Instant, reason: String) {
        self.resolve_failures = self.resolve_failures.saturating_add(1);
        let unit = self.random_unit();
        let wait = self.register_retry.wait(self.resolve_failures, unit);
        self.resolve_at = Some(now + wait);
        self.update_trust();
        self.out.emit(EventKind::RegistrationFailed {
            status: None,
            reason,
            retry_in_s: Some(wait.as_secs().max(1)),
        });
    }

    /// Tells the UA whom to trust: with an account under
    /// [`crate::Policy::trust_registrar`], the registrar and the configured
    /// sources (nothing else, not even while the registrar is unresolved);
    /// otherwise the configured sources, or anyone when there are none.
    pub(super) fn update_trust(&mut self) {
        let mut list = self.trusted_sources.clone();
        let with_account = self.registration.config().is_some();
        if self.policy.trust_registrar && with_account {
            if let Registration::Active(a, _) = &self.registration {
                list.push(Cidr::host(a.registrar_addr.ip()));
            }
            self.ua.set_trusted(Some(list));
        } else if list.is_empty() {
            self.ua.set_trusted(None);
        } else {
            self.ua.set_trusted(Some(list));
        }
    }

    pub(super) fn registrar_resolved(
        &mut self,
        now: Instant,
        id: LookupId,
        targets: Result<Vec<(Transport, SocketAddr)>, String>,
    ) {
        let Registration::Resolving(cfg, expected) = std::mem::take(&mut self.registration) else {
            return;
        };
        if expected != id {
            self.registration = Registration::Resolving(cfg, expected);
            return;
        }
        match (registrar_uri(&cfg), targets) {
            (Ok((sip, _)), Ok(mut targets)) if !targets.is_empty() => {
                let (transport, addr) = targets.remove(0);
                self.registrar_alternates = targets;
                let account = account_at(&cfg, sip, addr, transport, self.register_retry);
                self.activate(now, cfg, account);
            }
            (Err(e), _) => {
                self.registration = Registration::Unresolved(cfg);
                self.unresolved(now, e.to_string());
            }
            (Ok((sip, _)), Err(e)) => {
                self.registration = Registration::Unresolved(cfg);
                self.unresolved(now, format!("cannot resolve {}: {e}", sip.host));
            }
            (Ok((sip, _)), Ok(_)) => {
                self.registration = Registration::Unresolved(cfg);
                self.unresolved(now, format!("{} has no address", sip.host));
            }
        }
    }

    /// The registrar did not answer, said 503 or could not be reached: the
    /// next of its servers (SRV), at once, if there is one: its address.
    pub(super) fn fail_over(&mut self, now: Instant, status: Option<u16>) -> Option<SocketAddr> {
        if !matches!(status, None | Some(408 | 503)) || self.registrar_alternates.is_empty() {
            return None;
        }
        let Registration::Active(_, cfg) = &self.registration else {
            return None;
        };
        let cfg = cfg.clone();
        let (sip, _) = registrar_uri(&cfg).ok()?;
        let (transport, addr) = self.registrar_alternates.remove(0);
        let account = account_at(&cfg, sip, addr, transport, self.register_retry);
        // The lamps' subscriptions follow the account to the next server.
        self.presence_account_changed(now);
        self.activate(now, cfg, account);
        Some(addr)
    }
}
