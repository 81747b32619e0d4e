//! The caller's open tickets (IT help desks), looked up while the call
//! rings, by URL template exactly as the CRM record is ([`crate::crm`]: the
//! same placeholders, the same percent-encoding of caller values, http and
//! https only). The answer is a JSON list of tickets (or an object holding
//! one at a dotted path); each gives a number, a title and a status.
//!
//! Pure: [`Tickets::url_for`] builds the request, [`parse_tickets`] reads
//! the answer; the desktop fetches on a worker thread with the timeout.

use std::time::Duration;

use crate::caller_text::clean;
use crate::context::CallerCard;
use crate::crm::{Crm, CrmError};

/// Longest value kept from a ticket field.
const MAX_VALUE: usize = 120;
/// Most tickets shown.
const MAX_TICKETS: usize = 20;

/// `[desk.tickets]` after checking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tickets {
    lookup: Crm,
    /// Dotted path to the list (None: the answer is the list).
    pub list: Option<String>,
    /// The fields of a ticket: number, title, status (dotted paths).
    pub fields: [String; 3],
}

/// One open ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticket {
    /// Its number (`T-88`).
    pub id: String,
    /// What it is about.
    pub title: String,
    /// Its status (`open`, `waiting for the customer`).
    pub status: String,
}

impl Tickets {
    /// Checks the URL template.
    pub fn new(
        template: &str,
        list: Option<String>,
        fields: [String; 3],
        timeout: Duration,
    ) -> Result<Tickets, CrmError> {
        Ok(Tickets {
            lookup: Crm::new(template, None, Vec::new(), timeout)?,
            list,
            fields,
        })
    }

    /// The lookup URL for this caller.
    pub fn url_for(&self, card: &CallerCard, call_id: &str) -> String {
        self.lookup.url_for(card, call_id)
    }

    /// How long a lookup may take.
    pub fn timeout(&self) -> Duration {
        self.lookup.timeout
    }

    /// The tickets in an answer.
    pub fn parse(&self, body: &str) -> Result<Vec<Ticket>, CrmError> {
        parse_tickets(body, self.list.as_deref(), &self.fields)
    }
}

fn at<'a>(v: &'a serde_json::Value, path: &str) -> Option<&'a serde_json::Value> {
    path.split('.')
        .filter(|p| !p.is_empty())
        .try_fold(v, |v, key| v.get(key))
}

fn scalar(v: Option<&serde_json::Value>) -> String {
    let s = match v {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Number(n)) => n.to_string(),
        Some(serde_json::Value::Bool(b)) => b.to_string(),
        _ => String::new(),
    };
    clean(&s, MAX_VALUE)
}

/// The tickets in `body`: the list at `list` (or the whole answer), each
/// ticket's `fields` (number, title, status); entries without a number are
/// skipped; at most twenty.
pub fn parse_tickets(
    body: &str,
    list: Option<&str>,
    fields: &[String; 3],
) -> Result<Vec<Ticket>, CrmError> {
    let doc: serde_json::Value =
        serde_json::from_str(body).map_err(|e| CrmError::NotJson(e.to_string()))?;
    let items = match list {
        Some(p) => at(&doc, p),
        None => Some(&doc),
    }
    .and_then(serde_json::Value::as_array)
    .ok_or_else(|| CrmError::NotJson("no list of tickets".into()))?;
    let [id, title, status] = fields;
    Ok(items
        .iter()
        .map(|t| Ticket {
            id: scalar(at(t, id)),
            title: scalar(at(t, title)),
            status: scalar(at(t, status)),
        })
        .filter(|t| !t.id.is_empty())
        .take(MAX_TICKETS)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields() -> [String; 3] {
        ["id".into(), "subject".into(), "state.name".into()]
    }

    #[test]
    fn tickets_are_read_from_a_list_at_a_path_and_hostile_values_cleaned() {
        let body = r#"{"data":{"tickets":[
            {"id":"T-88","subject":"Laptop does not connect","state":{"name":"open"}},
            {"subject":"no number"},
            {"id":1043,"subject":"Printer\u202e jammed","state":{"name":"waiting"}}]}}"#;
        let t = parse_tickets(body, Some("data.tickets"), &fields()).unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!(t[0].id, "T-88");
        assert_eq!(t[0].status, "open");
        assert_eq!(t[1].id, "1043");
        assert!(
            !t[1].title.contains('\u{202e}'),
            "bidi controls are cleaned out"
        );
        assert!(parse_tickets("[]", None, &fields()).unwrap().is_empty());
        assert!(matches!(
            parse_tickets("{\"a\":1}", None, &fields()),
            Err(CrmError::NotJson(_))
        ));
        assert!(matches!(
            parse_tickets("<html>", None, &fields()),
            Err(CrmError::NotJson(_))
        ));
    }

    #[test]
    fn the_url_template_is_checked_and_caller_values_encoded_as_for_the_crm() {
        assert!(Tickets::new("file:///x", None, fields(), Duration::from_secs(1)).is_err());
        let t = Tickets::new(
            "http://helpdesk.example/api/tickets?phone={number}",
            None,
            fields(),
            Duration::from_secs(1),
        )
        .unwrap();
        let card = CallerCard {
            number: "+372 555&x=1".into(),
            ..CallerCard::default()
        };
        assert_eq!(
            t.url_for(&card, "c"),
            "http://helpdesk.example/api/tickets?phone=%2B372%20555%26x%3D1"
        );
    }
}
