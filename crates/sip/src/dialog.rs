//! Dialogs (RFC 3261 §12): identity, route set, CSeq and remote target.

use crate::header::NameAddr;
use crate::message::{Request, Response};
use crate::uri::Uri;

/// Identifies a dialog from our side: Call-ID, our tag, the peer's tag.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DialogId {
    /// Call-ID.
    pub call_id: String,
    /// Our tag (From tag as UAC, To tag as UAS).
    pub local_tag: String,
    /// The peer's tag.
    pub remote_tag: String,
}

/// The state RFC 3261 §12.1 keeps per dialog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dialog {
    /// Identity.
    pub id: DialogId,
    /// Our URI with our tag (From of our requests).
    pub local: NameAddr,
    /// The peer's URI with its tag (To of our requests).
    pub remote: NameAddr,
    /// Where in-dialog requests go (the peer's Contact); refreshed by target-refresh requests.
    pub remote_target: Uri,
    /// Route set, in the order our requests carry it.
    pub route_set: Vec<String>,
    /// Our last CSeq number.
    pub local_seq: u32,
    /// The peer's last CSeq number, if it has sent one.
    pub remote_seq: Option<u32>,
}

fn contact_uri(headers: &crate::message::Headers) -> Option<Uri> {
    headers
        .list("Contact")
        .next()
        .and_then(|c| NameAddr::parse(c).ok())
        .map(|n| n.uri)
}

impl Dialog {
    /// UAC side: from the INVITE we sent and a 1xx/2xx with a To tag (§12.1.2).
    pub fn from_uac(req: &Request, resp: &Response) -> Option<Dialog> {
        let to = resp.to().ok()?;
        let from = req.from().ok()?;
        let remote_tag = to.tag()?.to_owned();
        let local_tag = from.tag()?.to_owned();
        let mut route_set: Vec<String> = resp
            .headers
            .list("Record-Route")
            .map(str::to_owned)
            .collect();
        route_set.reverse();
        Some(Dialog {
            id: DialogId {
                call_id: req.call_id().to_owned(),
                local_tag,
                remote_tag,
            },
            local: from,
            remote: to,
            remote_target: contact_uri(&resp.headers).unwrap_or_else(|| req.uri.clone()),
            route_set,
            local_seq: req.cseq().ok()?.seq,
            remote_seq: None,
        })
    }

    /// UAS side: from a received INVITE and the To tag we chose (§12.1.1).
    pub fn from_uas(req: &Request, local_tag: &str) -> Option<Dialog> {
        let from = req.from().ok()?;
        let mut to = req.to().ok()?;
        to.params.set("tag", Some(local_tag));
        Some(Dialog {
            id: DialogId {
                call_id: req.call_id().to_owned(),
                local_tag: local_tag.to_owned(),
                // RFC 2543 peers may send no From tag; the empty tag still identifies the dialog.
                remote_tag: from.tag().unwrap_or("").to_owned(),
            },
            local: to,
            remote: from,
            remote_target: contact_uri(&req.headers)?,
            route_set: req
                .headers
                .list("Record-Route")
                .map(str::to_owned)
                .collect(),
            local_seq: 0,
            remote_seq: Some(req.cseq().ok()?.seq),
        })
    }

    /// Next CSeq for a new in-dialog request.
    pub fn next_seq(&mut self) -> u32 {
        self.local_seq = self.local_seq.wrapping_add(1).max(1);
        self.local_seq
    }

    /// Checks and records the CSeq of an in-dialog request (§12.2.2):
    /// lower than the last one is out of order (answer 500).
    pub fn accept_remote_seq(&mut self, seq: u32) -> bool {
        match self.remote_seq {
            Some(last) if seq < last => false,
            _ => {
                self.remote_seq = Some(seq);
                true
            }
        }
    }

    /// Takes the peer's new Contact from a target-refresh request or response.
    pub fn refresh_target(&mut self, headers: &crate::message::Headers) {
        if let Some(u) = contact_uri(headers) {
            self.remote_target = u;
        }
    }

    /// Request-URI and Route values for a new in-dialog request (§12.2.1.1):
    /// loose routing when the first route has `lr`, strict routing otherwise.
    pub fn request_target(&self) -> (Uri, Vec<String>) {
        let first_lr = self.route_set.first().and_then(|r| NameAddr::parse(r).ok());
        match first_lr {
            Some(na) if na.uri.as_sip().is_some_and(|u| u.param("lr").is_none()) => {
                let mut routes: Vec<String> = self.route_set.iter().skip(1).cloned().collect();
                routes.push(format!("<{}>", self.remote_target));
                (na.uri, routes)
            }
            _ => (self.remote_target.clone(), self.route_set.clone()),
        }
    }

    /// The URI whose host and port the next hop is (first route, else remote target).
    pub fn next_hop_uri(&self) -> Uri {
        self.route_set
            .first()
            .and_then(|r| NameAddr::parse(r).ok())
            .map(|n| n.uri)
            .unwrap_or_else(|| self.remote_target.clone())
    }
}
