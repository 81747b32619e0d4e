//! The account: its registrar resolved (by the driver, when it is a name)
//! and registered with the UA; a registrar that cannot be used is a
//! `registration_failed` event, and `Register` tries again.

use std::net::SocketAddr;
use std::time::Instant;

use switchboard_sip::ua::{Account, Transport};
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
) -> Account {
    Account {
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
    /// is a `registration_failed` event) and starts the REGISTER.
    pub(super) fn register_configured(&mut self, now: Instant) {
        let Some(cfg) = self.registration.config().cloned() else {
            return;
        };
        let (sip, transport) = match registrar_uri(&cfg) {
            Ok(r) => r,
            Err(e) => {
                self.registration = Registration::Unresolved(cfg);
                self.out.emit(EventKind::RegistrationFailed {
                    status: None,
                    reason: e.to_string(),
                });
                return;
            }
        };
        let port = sip.port.unwrap_or(5060);
        match sip.host.ip() {
            Some(ip) => {
                let account = account_at(&cfg, sip, SocketAddr::new(ip, port), transport);
                self.ua.register(now, account.clone());
                self.registration = Registration::Active(Box::new(account), cfg);
            }
            None => {
                let id = LookupId(self.new_id());
                self.lookups.insert(id, LookupFor::Registrar);
                self.out.push(Action::Lookup {
                    id,
                    host: sip.host.to_string(),
                    port,
                });
                self.registration = Registration::Resolving(cfg, id);
            }
        }
    }

    pub(super) fn registrar_resolved(
        &mut self,
        now: Instant,
        id: LookupId,
        addr: Result<SocketAddr, String>,
    ) {
        let Registration::Resolving(cfg, expected) = std::mem::take(&mut self.registration) else {
            return;
        };
        if expected != id {
            self.registration = Registration::Resolving(cfg, expected);
            return;
        }
        let parsed = registrar_uri(&cfg);
        match (parsed, addr) {
            (Ok((sip, transport)), Ok(addr)) => {
                let account = account_at(&cfg, sip, addr, transport);
                self.ua.register(now, account.clone());
                self.registration = Registration::Active(Box::new(account), cfg);
            }
            (Err(e), _) => {
                self.registration = Registration::Unresolved(cfg);
                self.out.emit(EventKind::RegistrationFailed {
                    status: None,
                    reason: e.to_string(),
                });
            }
            (Ok((sip, _)), Err(e)) => {
                self.registration = Registration::Unresolved(cfg);
                self.out.emit(EventKind::RegistrationFailed {
                    status: None,
                    reason: format!("cannot resolve {}: {e}", sip.host),
                });
            }
        }
    }
}
