//! What the user agent refuses: the RFC 3261 §8.2 checks on a new request,
//! and the destinations it never sends to.
//!
//! Before them, outside a dialog, a request from a source that is not
//! trusted ([`super::Config::trusted`], module `trust`) is refused with
//! **403** Forbidden, whatever it asks: a scanner learns nothing.
//!
//! [`UserAgent::precheck`] runs after the router has matched retransmissions,
//! ACK and CANCEL to their transactions (so those never get here) and has
//! opened a server transaction, so that a retransmitted refused request gets
//! the same answer. The checks, in this order, the first that fails giving
//! the answer:
//!
//! 1. The version is not SIP/2.0: **505** Version Not Supported.
//! 2. §8.2.1 method inspection: a method we do not know: **501** Not
//!    Implemented; one we know but do not serve (REGISTER, SUBSCRIBE,
//!    MESSAGE, PUBLISH, PRACK): **405** Method Not Allowed, with `Allow`.
//! 3. §8.2.2.1 To and Request-URI: a Request-URI that is not `sip:`/`sips:`:
//!    **416** Unsupported URI Scheme; outside a dialog (no To tag), a user
//!    part that is not ours, or an INVITE with no user part: **404** Not Found.
//! 4. §8.2.2.3 Require: an option tag we do not support (all but
//!    `replaces`): **420** Bad Extension, with `Unsupported` naming them.
//! 5. §8.2.3 content processing: a body we cannot read: **415** Unsupported
//!    Media Type, with `Accept` and `Accept-Encoding: identity`. We read
//!    `application/sdp`; in INFO also `application/dtmf-relay` and
//!    `application/dtmf`; in NOTIFY `message/sipfrag` and
//!    `application/dialog-info+xml`; outside INVITE a body
//!    without Content-Type passes.
//! 6. An INVITE whose `Accept` leaves out SDP (`application/sdp`,
//!    `application/*`, `*/*`): **406** Not Acceptable.
//!
//! [`refusal_headers`] adds the headers named above to the refusal.
//!
//! On the way out, [`is_forbidden_destination`] keeps us from sending to a
//! broadcast, multicast or unspecified address (RFC 4475 §3.3.10): a call
//! there is refused with [`super::UaError::ForbiddenDestination`], anything
//! else to such an address is dropped.

use std::net::IpAddr;

use super::{ALLOW, SUPPORTED_EXT, UserAgent};
use crate::message::{Method, Request, Version};
use crate::uri::Uri;

/// A broadcast, multicast or unspecified address: never a destination.
pub(super) fn is_forbidden_destination(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => a.is_broadcast() || a.is_unspecified() || a.is_multicast(),
        IpAddr::V6(a) => a.is_unspecified() || a.is_multicast(),
    }
}

/// The headers a refusal with `status` (from [`UserAgent::precheck`])
/// carries: `Allow` with 405, `Accept` with 415, `Unsupported` with 420.
pub(super) fn refusal_headers(req: &Request, status: u16) -> Vec<(&'static str, String)> {
    match status {
        405 => vec![("Allow", ALLOW.to_owned())],
        415 => vec![
            (
                "Accept",
                if req.method == Method::Info {
                    "application/sdp, application/dtmf-relay, application/dtmf"
                } else {
                    "application/sdp"
                }
                .to_owned(),
            ),
            ("Accept-Encoding", "identity".to_owned()),
        ],
        420 => {
            let unsupported: Vec<&str> = req
                .headers
                .list("Require")
                .filter(|t| {
                    !t.is_empty() && !SUPPORTED_EXT.iter().any(|s| s.eq_ignore_ascii_case(t))
                })
                .collect();
            vec![("Unsupported", unsupported.join(", "))]
        }
        _ => vec![],
    }
}

impl UserAgent {
    /// RFC 3261 §8.2 checks, in its order. Returns the status to answer with.
    pub(super) fn precheck(&self, req: &Request) -> Option<u16> {
        if req.version != Version::SIP_2_0 {
            return Some(505);
        }
        // §8.2.1 method inspection.
        match req.method {
            Method::Extension(_) => return Some(501),
            Method::Register
            | Method::Subscribe
            | Method::Message
            | Method::Publish
            | Method::Prack => {
                return Some(405);
            }
            _ => {}
        }
        // §8.2.2.1 To and Request-URI.
        let Uri::Sip(uri) = &req.uri else {
            return Some(416);
        };
        let in_dialog = req.to().ok().is_some_and(|t| t.tag().is_some());
        if !in_dialog {
            match uri.user_unescaped() {
                Some(user) if user != self.config.user => return Some(404),
                // A call must name whom it is for; OPTIONS to the host
                // alone is a keep-alive ping (§11) and is answered.
                None if req.method == Method::Invite => return Some(404),
                _ => {}
            }
        }
        // §8.2.2.3 Require.
        let unknown_required = req
            .headers
            .list("Require")
            .any(|t| !t.is_empty() && !SUPPORTED_EXT.iter().any(|s| s.eq_ignore_ascii_case(t)));
        if unknown_required && req.method != Method::Ack && req.method != Method::Cancel {
            return Some(420);
        }
        // §8.2.3 content processing.
        if !req.body.is_empty() {
            let ct = req.headers.get("Content-Type").unwrap_or("");
            let mime = ct.split(';').next().unwrap_or("").trim();
            let ok = mime.eq_ignore_ascii_case("application/sdp")
                || (req.method == Method::Info
                    && (mime.eq_ignore_ascii_case("application/dtmf-relay")
                        || mime.eq_ignore_ascii_case("application/dtmf")))
                || (req.method == Method::Notify
                    && (mime.eq_ignore_ascii_case("message/sipfrag")
                        || mime.eq_ignore_ascii_case(super::DIALOG_INFO)))
                || req.method != Method::Invite && mime.is_empty();
            if !ok {
                return Some(415);
            }
        }
        if req.method == Method::Invite && req.headers.count("Accept") > 0 {
            let sdp_ok = req.headers.list("Accept").any(|a| {
                let m = a.split(';').next().unwrap_or("").trim();
                m.eq_ignore_ascii_case("application/sdp")
                    || m == "*/*"
                    || m.eq_ignore_ascii_case("application/*")
            });
            if !sdp_ok {
                return Some(406);
            }
        }
        None
    }
}
