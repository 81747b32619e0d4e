//! Placing a call: the target parsed, the next hop found (the registrar
//! when registered, else the target's host, resolved by the driver) and an
//! RTP port bound, then the INVITE. A call placed for a consultation or for
//! a transferor is linked to that call as it goes out; one that cannot be
//! placed is reported (and, for a transferor, answered 503).

use std::net::SocketAddr;
use std::time::Instant;

use switchboard_sip::ua::Transport;
use switchboard_sip::uri::Uri;

use super::register::transport_given;

use super::call::{Call, Link, Phase};
use super::offer::Session;
use super::{Action, LookupFor, LookupId, Phone, Registration, RtpSlot, SlotFor};
use crate::CallId;
use crate::error::CommandError;
use crate::events::EventKind;

/// A call being placed: waiting for its next hop and its RTP port.
#[derive(Debug)]
pub(super) struct Placement {
    /// The target as given (reported in `calling`).
    target: String,
    uri: Uri,
    headers: Vec<(String, String)>,
    purpose: Purpose,
    hop: Option<(Transport, SocketAddr)>,
    port: Option<u16>,
}

/// Why we place a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Purpose {
    /// Asked for.
    Plain,
    /// The consultation for an attended transfer of that (held) call.
    Consultation(CallId),
    /// The peer of that call asked us to (we are being transferred).
    ForTransferor(CallId),
}

impl Purpose {
    pub(super) fn failure(&self, target: &str) -> String {
        match self {
            Purpose::Plain => format!("call {target}"),
            Purpose::Consultation(c) => format!("consult {target} {c}"),
            Purpose::ForTransferor(_) => format!("transfer to {target}"),
        }
    }
}

impl Phone {
    /// Places a call to `target` (a SIP URI): finds the next hop (the
    /// registrar when registered, else the target's host, resolved) and a
    /// port, then sends the INVITE. A call that cannot be placed is
    /// reported as `purpose` says, now or when the step that fails answers.
    pub(super) fn place(
        &mut self,
        now: Instant,
        target: &str,
        headers: Vec<(String, String)>,
        purpose: Purpose,
    ) {
        let sip = Uri::parse(target.trim())
            .ok()
            .and_then(|u| u.as_sip().cloned().map(|s| (u, s)));
        let Some((uri, sip)) = sip else {
            self.placement_failed(
                now,
                purpose,
                target,
                CommandError::BadTarget(target.to_owned()),
            );
            return;
        };
        let transport = Transport::of_uri(&sip);
        let slot = RtpSlot(self.new_id());
        let hop = match &self.registration {
            // A sips: target is never sent through a registrar reached in clear.
            Registration::Active(a, _)
                if transport == Transport::Tls && a.transport != Transport::Tls =>
            {
                self.placement_failed(
                    now,
                    purpose,
                    target,
                    CommandError::NeedsTls(target.to_owned()),
                );
                return;
            }
            // Registered: the registrar is our outbound proxy.
            Registration::Active(a, _) => Some((a.transport, a.registrar_addr)),
            _ => {
                let port = sip.port.unwrap_or(transport.default_port());
                match sip.host.ip() {
                    Some(ip) => Some((transport, SocketAddr::new(ip, port))),
                    None => {
                        let id = LookupId(self.new_id());
                        self.lookups.insert(id, LookupFor::Placement(slot));
                        self.out.push(Action::Lookup {
                            id,
                            host: sip.host.to_string(),
                            port: sip.port,
                            transport,
                            transport_given: transport_given(&sip),
                        });
                        None
                    }
                }
            }
        };
        self.slots.insert(
            slot,
            SlotFor::Placement(Box::new(Placement {
                target: target.to_owned(),
                uri,
                headers,
                purpose,
                hop,
                port: None,
            })),
        );
        self.out.push(Action::BindRtp(slot));
    }

    pub(super) fn place_if_ready(&mut self, now: Instant, slot: RtpSlot) {
        let ready = matches!(
            self.slots.get(&slot),
            Some(SlotFor::Placement(p)) if p.hop.is_some() && p.port.is_some()
        );
        if !ready {
            return;
        }
        let Some(SlotFor::Placement(p)) = self.slots.remove(&slot) else {
            unreachable!("the slot was just matched as a ready placement");
        };
        let (Some(hop), Some(port)) = (p.hop, p.port) else {
            unreachable!("a ready placement has its hop and port");
        };
        let secure = hop.0 == Transport::Tls;
        if !secure && self.policy.srtp == crate::SrtpPolicy::Mandatory {
            self.out.push(Action::ReleaseRtp(slot));
            self.placement_failed(
                now,
                p.purpose,
                &p.target,
                CommandError::SrtpNeedsTls(p.target.clone()),
            );
            return;
        }
        let session = Session::outgoing(self.local_media(port, secure));
        let placed = self.ua.call(
            now,
            p.uri.clone(),
            hop,
            session.local_sdp().to_vec(),
            &p.headers,
        );
        let handle = match placed {
            Ok(h) => h,
            Err(e) => {
                self.out.push(Action::ReleaseRtp(slot));
                self.placement_failed(now, p.purpose, &p.target, CommandError::from(e));
                return;
            }
        };
        let id = CallId::from(handle);
        let call_id = self.ua.sip_call_id(handle).unwrap_or_default().to_owned();
        let link = match p.purpose {
            Purpose::Plain => Link::Alone,
            Purpose::Consultation(of) => Link::ConsultationFor(of),
            Purpose::ForTransferor(from) => Link::PlacedFor(from),
        };
        self.calls.insert(
            id,
            Call::new(call_id.clone(), true, slot, session, Phase::Dialling, link),
        );
        self.out.emit(EventKind::Calling {
            call: id,
            call_id,
            target: p.target.clone(),
        });
        match p.purpose {
            Purpose::Plain => {}
            Purpose::Consultation(of) => self.out.emit(EventKind::Consulting {
                call: of,
                consult: id,
            }),
            Purpose::ForTransferor(from) => self.out.emit(EventKind::Transferred {
                call: from,
                new_call: id,
                target: p.target,
            }),
        }
    }

    pub(super) fn give_up_placement(&mut self, now: Instant, slot: RtpSlot, e: CommandError) {
        let Some(SlotFor::Placement(p)) = self.slots.remove(&slot) else {
            return;
        };
        self.lookups.retain(|_, l| *l != LookupFor::Placement(slot));
        if p.port.is_some() {
            self.out.push(Action::ReleaseRtp(slot));
        }
        self.placement_failed(now, p.purpose, &p.target, e);
    }

    /// The one place a call that could not be placed is reported.
    fn placement_failed(&mut self, now: Instant, purpose: Purpose, target: &str, e: CommandError) {
        if let Purpose::ForTransferor(from) = purpose {
            // The transferor hears that we could not (RFC 3515 §2.4.5).
            let _ = self.ua.notify_transfer(now, from.into(), 503);
        }
        self.out.fail(purpose.failure(target), e);
    }

    /// The next hop's address came (or did not).
    pub(super) fn placement_resolved(
        &mut self,
        now: Instant,
        slot: RtpSlot,
        addr: Result<(Transport, SocketAddr), String>,
    ) {
        let Some(SlotFor::Placement(p)) = self.slots.get_mut(&slot) else {
            // Given up meanwhile.
            return;
        };
        match addr {
            Ok(hop) => {
                // NAPTR may have chosen the transport (a URI that named none).
                p.hop = Some(hop);
                self.place_if_ready(now, slot);
            }
            Err(error) => {
                let host = p
                    .uri
                    .as_sip()
                    .map(|s| s.host.to_string())
                    .unwrap_or_default();
                self.give_up_placement(now, slot, CommandError::Resolve { host, error });
            }
        }
    }
}

impl Placement {
    pub(super) fn set_port(&mut self, port: u16) {
        self.port = Some(port);
    }

    /// Its RTP port is bound.
    pub(super) fn has_port(&self) -> bool {
        self.port.is_some()
    }
}
