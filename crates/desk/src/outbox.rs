//! The outbox: what must reach someone else — an order or a ticket for the
//! people who fulfil it, by webhook or e-mail — kept in SQLite until it is
//! delivered.
//!
//! ```text
//!  wrap-up saved ──▶ enqueue_in (same transaction) ──▶ outbox row: queued
//!                                                        │ ▲
//!  worker (its own connection) ─ outbox_due ─ claim ─────┘ │ retry: attempts + 1,
//!        │                                                 │ next_ms = now + backoff
//!        └─▶ POST / SMTP ─▶ judge_response ─▶ sent (result) │ or failed (reason)
//! ```
//!
//! Design:
//! - **Never lost.** An item is a row written in the transaction that saves
//!   the wrap-up it came from ([`Store::enqueue_in`]); the store runs WAL
//!   with `synchronous = FULL`, so once the operator's save returns, the
//!   item survives `kill -9` and a power cut. Nothing is ever deleted: a
//!   sent item stays as the record of what went where and what came back.
//! - **At most once per key.** The key (`<call_id>/order/webhook`) is
//!   unique in the table: queuing the same thing twice (a wrap-up saved
//!   again after a restart) leaves the first item alone. The key travels
//!   with every attempt (`Idempotency-Key` header, a key-derived
//!   `Message-ID`), so a receiver that saw an attempt whose answer never
//!   reached us (we died between its 200 and our `sent`) drops the repeat.
//!   A worker *claims* an item before sending ([`Store::outbox_claim`]
//!   moves its `next_ms` past the attempt's longest duration), so a second
//!   desk on the same database does not send it at the same time.
//! - **Retried while the receiver is down**, with [`backoff_ms`]: 5 s
//!   doubling to 10 min, jittered so a fleet of desks does not return in
//!   step, and never sooner than the receiver's `Retry-After`. There is no
//!   attempt limit: an order waits for its receiver however long it takes,
//!   and the History tab shows why it waits.
//! - **Failed means a person must look**: the receiver refused the item
//!   itself (a 4xx other than 408/425/429, a permanent SMTP 5xx) or our
//!   configuration is wrong (no token, no SMTP server). Trying again would
//!   not help; [`Store::outbox_requeue`] is the operator's "try again".
//!
//! What the receiver says (status, body, the value kept as the result) is
//! network input: it is read by [`judge_response`] with bounded, checked
//! reads and cleaned like caller text before it is stored or shown.
//!
//! Storage: `kind` is `webhook` or `email`; `target` holds the delivery's
//! fields as JSON (`{"url", "result_field"}` or `{"to", "subject",
//! "body"}`), `auth` the keyring entry's *name* (never the token), and
//! `payload` the JSON as posted.

use std::fmt;

use rusqlite::types::Type;
use rusqlite::{Connection, Transaction, params};
use serde::{Deserialize, Serialize};

use crate::caller_text;
use crate::store::{Store, StoreError};

/// What to deliver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// An HTTP `POST` of the payload as JSON.
    Webhook {
        /// Where to post.
        url: String,
        /// The keyring entry whose secret is sent as a bearer token; the
        /// name only, never the token itself.
        token_entry: Option<String>,
        /// A dotted path into the JSON answer (`ticket.id`) whose value is
        /// kept as the item's result.
        result_field: Option<String>,
    },
    /// An e-mail through the configured SMTP server.
    Email {
        /// The recipient's address.
        to: String,
        /// The subject (any Unicode text).
        subject: String,
        /// The plain-text body (any Unicode text).
        body: String,
    },
    /// A copy of an interaction for the team database (the payload is a
    /// [`crate::team::Interaction`]).
    Team,
    /// A mail built whole by the desk (a reply or forward that threads),
    /// sent through the configured SMTP server as it is.
    Mail {
        /// The envelope sender.
        from: String,
        /// The envelope recipients.
        to: Vec<String>,
        /// RFC 5322 bytes.
        raw: Vec<u8>,
    },
}

impl Delivery {
    /// The word kept in the `kind` column.
    pub fn kind(&self) -> &'static str {
        match self {
            Delivery::Webhook { .. } => "webhook",
            Delivery::Email { .. } => "email",
            Delivery::Mail { .. } => "mail",
            Delivery::Team => "team",
        }
    }

    /// Where it goes, for display: the URL or the address.
    pub fn target(&self) -> &str {
        match self {
            Delivery::Webhook { url, .. } => url,
            Delivery::Email { to, .. } => to,
            Delivery::Mail { to, .. } => to.first().map_or("", String::as_str),
            Delivery::Team => "team database",
        }
    }
}

/// Something to queue.
#[derive(Debug, Clone, PartialEq)]
pub struct NewItem {
    /// The idempotency key, e.g. `<call_id>/order/webhook`; unique in the outbox.
    pub key: String,
    /// The interaction it belongs to.
    pub call_id: Option<String>,
    /// How and where it goes.
    pub delivery: Delivery,
    /// The JSON posted (webhooks); for e-mail kept for the record.
    pub payload: serde_json::Value,
}

/// Where an item stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Waiting for its next attempt (the first, or after a transient failure).
    Queued,
    /// Delivered.
    Sent,
    /// Refused for good, or impossible as configured; waits for a person.
    Failed,
}

impl State {
    /// The word kept in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Queued => "queued",
            State::Sent => "sent",
            State::Failed => "failed",
        }
    }

    fn from_db(s: &str) -> Option<State> {
        Some(match s {
            "queued" => State::Queued,
            "sent" => State::Sent,
            "failed" => State::Failed,
            _ => return None,
        })
    }
}

/// An item as the outbox keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// Row id.
    pub id: i64,
    /// The idempotency key.
    pub key: String,
    /// The interaction it belongs to.
    pub call_id: Option<String>,
    /// How and where it goes.
    pub delivery: Delivery,
    /// The JSON posted.
    pub payload: serde_json::Value,
    /// Where it stands.
    pub state: State,
    /// Attempts made so far (each ends in sent, retry or failed).
    pub attempts: u32,
    /// When it is tried next (Unix ms) while queued.
    pub next_ms: i64,
    /// Why the last attempt did not deliver it.
    pub last_error: Option<String>,
    /// What the receiver answered that is worth keeping (a ticket number).
    pub result: Option<String>,
    /// When it was queued.
    pub created_ms: i64,
    /// When it was delivered.
    pub sent_ms: Option<i64>,
}

/// The `target` column of a webhook.
#[derive(Serialize, Deserialize)]
struct WebhookTarget {
    url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    result_field: Option<String>,
}

/// The `target` column of an e-mail.
#[derive(Serialize, Deserialize)]
struct MailTarget {
    from: String,
    to: Vec<String>,
    /// The bytes, base64 (a forward may carry 8-bit attachments).
    raw: String,
}

#[derive(Serialize, Deserialize)]
struct EmailTarget {
    to: String,
    subject: String,
    body: String,
}

/// A column that holds something this code never writes (a hand edit, a
/// newer Switchboard): reported as SQLite's conversion failure.
#[derive(Debug)]
struct BadColumn(String);

impl fmt::Display for BadColumn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadColumn {}

fn bad(col: usize, e: impl std::error::Error + Send + Sync + 'static) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(col, Type::Text, Box::new(e))
}

const ITEM_COLUMNS: &str = "id, key, call_id, kind, target, payload, auth, state, attempts, \
                            next_ms, last_error, result, created_ms, sent_ms";

fn row_to_item(r: &rusqlite::Row<'_>) -> rusqlite::Result<Item> {
    let kind: String = r.get(3)?;
    let target: String = r.get(4)?;
    let auth: Option<String> = r.get(6)?;
    let delivery = match kind.as_str() {
        "webhook" => {
            let t: WebhookTarget = serde_json::from_str(&target).map_err(|e| bad(4, e))?;
            Delivery::Webhook {
                url: t.url,
                token_entry: auth,
                result_field: t.result_field,
            }
        }
        "email" => {
            let t: EmailTarget = serde_json::from_str(&target).map_err(|e| bad(4, e))?;
            Delivery::Email {
                to: t.to,
                subject: t.subject,
                body: t.body,
            }
        }
        "team" => Delivery::Team,
        "mail" => {
            use base64::Engine as _;
            let t: MailTarget = serde_json::from_str(&target).map_err(|e| bad(4, e))?;
            Delivery::Mail {
                from: t.from,
                to: t.to,
                raw: base64::engine::general_purpose::STANDARD
                    .decode(t.raw.as_bytes())
                    .map_err(|e| bad(4, e))?,
            }
        }
        other => return Err(bad(3, BadColumn(format!("unknown outbox kind {other:?}")))),
    };
    let payload: String = r.get(5)?;
    let state: String = r.get(7)?;
    Ok(Item {
        id: r.get(0)?,
        key: r.get(1)?,
        call_id: r.get(2)?,
        delivery,
        payload: serde_json::from_str(&payload).map_err(|e| bad(5, e))?,
        state: State::from_db(&state)
            .ok_or_else(|| bad(7, BadColumn(format!("unknown outbox state {state:?}"))))?,
        attempts: u32::try_from(r.get::<_, i64>(8)?.max(0)).unwrap_or(u32::MAX),
        next_ms: r.get(9)?,
        last_error: r.get(10)?,
        result: r.get(11)?,
        created_ms: r.get(12)?,
        sent_ms: r.get(13)?,
    })
}

fn insert(db: &Connection, item: &NewItem, now_ms: i64) -> Result<bool, StoreError> {
    let (target, auth) = match &item.delivery {
        Delivery::Webhook {
            url,
            token_entry,
            result_field,
        } => (
            serde_json::to_string(&WebhookTarget {
                url: url.clone(),
                result_field: result_field.clone(),
            }),
            token_entry.as_deref(),
        ),
        Delivery::Email { to, subject, body } => (
            serde_json::to_string(&EmailTarget {
                to: to.clone(),
                subject: subject.clone(),
                body: body.clone(),
            }),
            None,
        ),
        Delivery::Team => (Ok("{}".to_owned()), None),
        Delivery::Mail { from, to, raw } => {
            use base64::Engine as _;
            (
                serde_json::to_string(&MailTarget {
                    from: from.clone(),
                    to: to.clone(),
                    raw: base64::engine::general_purpose::STANDARD.encode(raw),
                }),
                None,
            )
        }
    };
    // Serialising strings and a `Value` cannot fail (no maps with non-string
    // keys); should it, SQLite's conversion error says which column.
    let target = target.map_err(|e| bad(4, e))?;
    let payload = serde_json::to_string(&item.payload).map_err(|e| bad(5, e))?;
    let n = db.execute(
        "INSERT INTO outbox (key, call_id, kind, target, payload, auth, state, attempts, next_ms, created_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'queued', 0, ?7, ?7)
         ON CONFLICT(key) DO NOTHING",
        params![
            item.key,
            item.call_id,
            item.delivery.kind(),
            target,
            payload,
            auth,
            now_ms
        ],
    )?;
    Ok(n == 1)
}

fn limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl Store {
    /// Queues an item, due at once; an item with the same key already
    /// there is left as it is (returns false).
    pub fn enqueue(&self, item: &NewItem, now_ms: i64) -> Result<bool, StoreError> {
        insert(&self.db, item, now_ms)
    }

    /// The same, inside a transaction the caller holds (the wrap-up is
    /// saved and its items queued in one transaction: both or neither).
    pub fn enqueue_in(
        tx: &Transaction<'_>,
        item: &NewItem,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        insert(tx, item, now_ms)
    }

    /// Queued items whose time has come, the longest waiting first.
    pub fn outbox_due(&self, now_ms: i64, n: usize) -> Result<Vec<Item>, StoreError> {
        let mut st = self.db.prepare(&format!(
            "SELECT {ITEM_COLUMNS} FROM outbox WHERE state = 'queued' AND next_ms <= ?1
             ORDER BY next_ms, id LIMIT ?2"
        ))?;
        let rows = st.query_map(params![now_ms, limit(n)], row_to_item)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Takes a due item for one attempt: moves its next try to `until_ms`
    /// (past the attempt's longest duration) if it is still queued and due
    /// at `now_ms`. False when another worker took it first, or it is no
    /// longer due. A worker that dies mid-attempt leaves the item queued;
    /// it is tried again at `until_ms`.
    pub fn outbox_claim(&self, id: i64, now_ms: i64, until_ms: i64) -> Result<bool, StoreError> {
        let n = self.db.execute(
            "UPDATE outbox SET next_ms = ?3 WHERE id = ?1 AND state = 'queued' AND next_ms <= ?2",
            params![id, now_ms, until_ms],
        )?;
        Ok(n == 1)
    }

    /// Records a delivery (and what the receiver answered worth keeping).
    /// An item already sent is left as it is.
    pub fn outbox_sent(
        &self,
        id: i64,
        now_ms: i64,
        result: Option<&str>,
    ) -> Result<(), StoreError> {
        self.db.execute(
            "UPDATE outbox SET state = 'sent', attempts = attempts + 1, sent_ms = ?2, result = ?3,
                last_error = NULL
             WHERE id = ?1 AND state != 'sent'",
            params![id, now_ms, result],
        )?;
        Ok(())
    }

    /// Records an attempt that may succeed later: attempts + 1, tried again
    /// at `next_ms`, with why. Only a queued item changes.
    pub fn outbox_retry(&self, id: i64, next_ms: i64, error: &str) -> Result<(), StoreError> {
        self.db.execute(
            "UPDATE outbox SET attempts = attempts + 1, next_ms = ?2, last_error = ?3
             WHERE id = ?1 AND state = 'queued'",
            params![id, next_ms, error],
        )?;
        Ok(())
    }

    /// Records an attempt that cannot succeed as things are: attempts + 1,
    /// failed, with why. Only a queued item changes.
    pub fn outbox_failed(&self, id: i64, error: &str) -> Result<(), StoreError> {
        self.db.execute(
            "UPDATE outbox SET state = 'failed', attempts = attempts + 1, last_error = ?2
             WHERE id = ?1 AND state = 'queued'",
            params![id, error],
        )?;
        Ok(())
    }

    /// Items of one interaction, oldest first (shown on the wrap-up and in History).
    pub fn outbox_for_call(&self, call_id: &str) -> Result<Vec<Item>, StoreError> {
        let mut st = self.db.prepare(&format!(
            "SELECT {ITEM_COLUMNS} FROM outbox WHERE call_id = ?1 ORDER BY created_ms, id"
        ))?;
        let rows = st.query_map(params![call_id], row_to_item)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Every item not yet sent (queued or failed), oldest first.
    pub fn outbox_pending(&self) -> Result<Vec<Item>, StoreError> {
        let mut st = self.db.prepare(&format!(
            "SELECT {ITEM_COLUMNS} FROM outbox WHERE state != 'sent' ORDER BY created_ms, id"
        ))?;
        let rows = st.query_map([], row_to_item)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Items delivered after `since_ms` (their `sent_ms` later than it), in
    /// the order they were delivered: what to announce since the last look.
    pub fn outbox_sent_since(&self, since_ms: i64) -> Result<Vec<Item>, StoreError> {
        let mut st = self.db.prepare(&format!(
            "SELECT {ITEM_COLUMNS} FROM outbox WHERE state = 'sent' AND sent_ms > ?1
             ORDER BY sent_ms, id"
        ))?;
        let rows = st.query_map(params![since_ms], row_to_item)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// One item by its key.
    pub fn outbox_item(&self, key: &str) -> Result<Option<Item>, StoreError> {
        let mut st = self
            .db
            .prepare(&format!("SELECT {ITEM_COLUMNS} FROM outbox WHERE key = ?1"))?;
        let mut rows = st.query_map(params![key], row_to_item)?;
        Ok(rows.next().transpose()?)
    }

    /// A failed (or waiting) item tried again now: queued, due at `now_ms`.
    /// Its attempts and last reason stay until the next attempt. A sent
    /// item is left as it is. (Waking an item a worker is sending right now
    /// may send it twice; the receiver drops the repeat by its key.)
    pub fn outbox_requeue(&self, id: i64, now_ms: i64) -> Result<(), StoreError> {
        self.db.execute(
            "UPDATE outbox SET state = 'queued', next_ms = ?2 WHERE id = ?1 AND state != 'sent'",
            params![id, now_ms],
        )?;
        Ok(())
    }
}

/// How long to wait between attempts: `base_ms` after the first failure,
/// doubling after each one to at most `cap_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The wait after the first failure, ms.
    pub base_ms: i64,
    /// The longest wait, ms (jitter never goes past it).
    pub cap_ms: i64,
}

/// The longest `Retry-After` honoured, s: a receiver (or a broken proxy)
/// asking for days would shelve an order silently.
pub const MAX_RETRY_AFTER_S: u64 = 3600;

impl Backoff {
    /// 5 s doubling to 10 min.
    pub const STANDARD: Backoff = Backoff {
        base_ms: 5_000,
        cap_ms: 600_000,
    };

    /// The wait after `attempts` failures (0 counts as 1), ±20 % jitter from
    /// `seed`, capped; a receiver's `Retry-After` (s, at most
    /// [`MAX_RETRY_AFTER_S`]) wins when longer.
    pub fn delay_ms(&self, attempts: u32, retry_after_s: Option<u64>, seed: u64) -> i64 {
        let cap = self.cap_ms.max(1);
        let doublings = attempts.saturating_sub(1).min(62);
        let plain = self
            .base_ms
            .max(1)
            .saturating_mul(1_i64 << doublings)
            .min(cap);
        // -200 ..= +200 per mille.
        let jitter = i64::try_from(mix(seed) % 401).unwrap_or(0) - 200;
        let jittered = plain
            .saturating_add(plain.saturating_mul(jitter) / 1000)
            .clamp(1, cap);
        let asked = retry_after_s
            .map(|s| s.min(MAX_RETRY_AFTER_S))
            .and_then(|s| i64::try_from(s).ok())
            .map_or(0, |s| s.saturating_mul(1000));
        jittered.max(asked)
    }
}

/// SplitMix64's finaliser: neighbouring seeds (item ids) spread over the range.
fn mix(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Back-off after `attempts` failures: 5 s doubling to at most 10 min, with
/// ±20 % jitter from `seed`; a receiver's Retry-After (s) wins when longer.
pub fn backoff_ms(attempts: u32, retry_after_s: Option<u64>, seed: u64) -> i64 {
    Backoff::STANDARD.delay_ms(attempts, retry_after_s, seed)
}

/// The longest receiver text kept (a reason, a result), in characters.
pub const MAX_REMOTE_TEXT: usize = 200;

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Delivered; the value of the result field, if asked for and found.
    Sent {
        /// What the receiver answered worth keeping.
        result: Option<String>,
    },
    /// Not delivered, may be later (the receiver is down or busy).
    Retry {
        /// Why, for the History tab.
        reason: String,
        /// The receiver's `Retry-After`, s.
        retry_after_s: Option<u64>,
    },
    /// Refused, or impossible as configured: a person must look.
    Failed {
        /// Why.
        reason: String,
    },
}

/// Judges a webhook's answer: 2xx sent (with `result_field`'s value from a
/// JSON body), 408, 425, 429 and 5xx retried (honouring `Retry-After`),
/// anything else failed with the status and the body's first line.
pub fn judge_response(
    status: u16,
    retry_after: Option<&str>,
    body: &str,
    result_field: Option<&str>,
) -> Verdict {
    let reason = || match first_line(body) {
        Some(line) => format!("HTTP {status}: {line}"),
        None => format!("HTTP {status}"),
    };
    match status {
        200..=299 => Verdict::Sent {
            result: result_field.and_then(|path| {
                let v: serde_json::Value = serde_json::from_str(body).ok()?;
                json_field(&v, path)
            }),
        },
        408 | 425 | 429 | 500..=599 => Verdict::Retry {
            reason: reason(),
            retry_after_s: retry_after.and_then(parse_retry_after),
        },
        _ => Verdict::Failed { reason: reason() },
    }
}

/// A `Retry-After` in seconds (`120`). The HTTP-date form is not read:
/// the item then waits its own back-off.
pub fn parse_retry_after(v: &str) -> Option<u64> {
    let v = v.trim();
    if v.is_empty() || v.len() > 12 || !v.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    v.parse().ok()
}

/// The first non-blank line of a receiver's text, cleaned and capped.
pub fn first_line(text: &str) -> Option<String> {
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .map(|l| caller_text::clean(l, MAX_REMOTE_TEXT))
        .filter(|l| !l.is_empty())
}

/// The value at a dotted path (`ticket.id`, `items.0.sku`) of a JSON
/// answer, as text (strings as they are, numbers and booleans printed,
/// objects and arrays as compact JSON), cleaned and capped; none for null
/// or a missing field.
pub fn json_field(v: &serde_json::Value, path: &str) -> Option<String> {
    use serde_json::Value;
    let mut at = v;
    for part in path.split('.') {
        at = match at {
            Value::Object(m) => m.get(part)?,
            Value::Array(a) => a.get(part.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    let text = match at {
        Value::Null => return None,
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    Some(caller_text::clean(&text, MAX_REMOTE_TEXT)).filter(|s| !s.is_empty())
}

/// The `Message-ID` of the e-mail with idempotency key `key`,
/// `<escaped-key@switchboard>`: the same key gives the same id, so a
/// receiver can drop a repeat. Characters outside RFC 5322's `atext` (and
/// `=` and `.`) are written `=XX` per byte, so different keys never share
/// an id; a key too long for a header line keeps its first part and a hash
/// of the whole.
pub fn message_id(key: &str) -> String {
    const MAX: usize = 120;
    let mut left = String::new();
    for b in key.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$%&'*+-/?^_`{|}~".contains(&b) {
            left.push(char::from(b));
        } else {
            left.push_str(&format!("={b:02X}"));
        }
    }
    if left.len() > MAX {
        // FNV-1a: stable across builds and platforms (std's hasher is not).
        let hash = key.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        // `left` is ASCII, so any byte index is a character boundary.
        left.truncate(MAX - 17);
        left.push_str(&format!("-{hash:016x}"));
    }
    format!("<{left}@switchboard>")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn webhook(key: &str) -> NewItem {
        NewItem {
            key: key.into(),
            call_id: Some("c1".into()),
            delivery: Delivery::Webhook {
                url: "https://fulfil.example/orders".into(),
                token_entry: Some("fulfil".into()),
                result_field: Some("ticket.id".into()),
            },
            payload: json!({"item": "Kohvimasin", "qty": 2}),
        }
    }

    fn email(key: &str) -> NewItem {
        NewItem {
            key: key.into(),
            call_id: Some("c1".into()),
            delivery: Delivery::Email {
                to: "ladu@example.test".into(),
                subject: "Tellimus – заказ".into(),
                body: "Kohvimasin × 2\nКофемашина".into(),
            },
            payload: json!({"item": "Kohvimasin"}),
        }
    }

    #[test]
    fn the_same_key_queued_twice_is_one_item_as_it_was_first() {
        let s = Store::in_memory().unwrap();
        assert!(s.enqueue(&webhook("c1/order/webhook"), 100).unwrap());
        let mut again = webhook("c1/order/webhook");
        again.payload = json!({"item": "something else"});
        assert!(!s.enqueue(&again, 200).unwrap());
        let items = s.outbox_for_call("c1").unwrap();
        assert_eq!(items.len(), 1);
        let it = &items[0];
        assert_eq!(it.payload, json!({"item": "Kohvimasin", "qty": 2}));
        assert_eq!(it.created_ms, 100);
        assert_eq!(it.delivery, webhook("x").delivery, "read back as written");
        assert_eq!((it.state, it.attempts, it.next_ms), (State::Queued, 0, 100));
        s.enqueue(&email("c1/order/email"), 150).unwrap();
        let e = s.outbox_item("c1/order/email").unwrap().unwrap();
        assert_eq!(e.delivery, email("x").delivery);
        assert_eq!(e.delivery.target(), "ladu@example.test");
    }

    #[test]
    fn items_queued_in_a_rolled_back_transaction_are_not_there() {
        let mut s = Store::in_memory().unwrap();
        {
            let tx = s.db.transaction().unwrap();
            assert!(Store::enqueue_in(&tx, &webhook("a"), 1).unwrap());
            // Dropped: rolled back, like a wrap-up whose save failed.
        }
        assert!(s.outbox_pending().unwrap().is_empty());
        let tx = s.db.transaction().unwrap();
        Store::enqueue_in(&tx, &webhook("a"), 1).unwrap();
        tx.commit().unwrap();
        assert_eq!(s.outbox_pending().unwrap().len(), 1);
    }

    #[test]
    fn an_item_goes_from_queued_through_retries_to_sent_or_failed_and_back() {
        let s = Store::in_memory().unwrap();
        s.enqueue(&webhook("k1"), 1_000).unwrap();
        s.enqueue(&email("k2"), 1_001).unwrap();
        assert!(s.outbox_due(999, 10).unwrap().is_empty(), "not yet due");
        let due = s.outbox_due(2_000, 10).unwrap();
        assert_eq!(
            due.iter().map(|i| i.key.as_str()).collect::<Vec<_>>(),
            ["k1", "k2"]
        );
        assert_eq!(s.outbox_due(2_000, 1).unwrap().len(), 1, "limited");

        // Claimed once only; the claim holds it back until the lease ends.
        let id = due[0].id;
        assert!(s.outbox_claim(id, 2_000, 32_000).unwrap());
        assert!(!s.outbox_claim(id, 2_000, 32_000).unwrap(), "taken");
        assert_eq!(s.outbox_due(2_000, 10).unwrap().len(), 1);

        s.outbox_retry(id, 7_000, "connection refused").unwrap();
        let it = s.outbox_item("k1").unwrap().unwrap();
        assert_eq!(it.state, State::Queued);
        assert_eq!((it.attempts, it.next_ms), (1, 7_000));
        assert_eq!(it.last_error.as_deref(), Some("connection refused"));
        s.outbox_retry(id, 17_000, "HTTP 503").unwrap();
        s.outbox_sent(id, 17_500, Some("T-1042")).unwrap();
        let it = s.outbox_item("k1").unwrap().unwrap();
        assert_eq!(it.state, State::Sent);
        assert_eq!(it.attempts, 3);
        assert_eq!(
            (it.sent_ms, it.result.as_deref()),
            (Some(17_500), Some("T-1042"))
        );
        assert_eq!(it.last_error, None);
        assert_eq!(
            s.outbox_sent_since(17_499).unwrap(),
            std::slice::from_ref(&it)
        );
        assert!(
            s.outbox_sent_since(17_500).unwrap().is_empty(),
            "announced once"
        );
        // A sent item is done: nothing moves it again.
        s.outbox_retry(id, 99, "late").unwrap();
        s.outbox_failed(id, "late").unwrap();
        s.outbox_requeue(id, 99).unwrap();
        s.outbox_sent(id, 99, None).unwrap();
        assert_eq!(s.outbox_item("k1").unwrap().unwrap(), it);

        let k2 = s.outbox_item("k2").unwrap().unwrap().id;
        s.outbox_failed(k2, "no SMTP server configured").unwrap();
        let it = s.outbox_item("k2").unwrap().unwrap();
        assert_eq!((it.state, it.attempts), (State::Failed, 1));
        assert!(
            s.outbox_due(i64::MAX, 10).unwrap().is_empty(),
            "failed is not due"
        );
        assert_eq!(
            s.outbox_pending()
                .unwrap()
                .iter()
                .map(|i| i.key.as_str())
                .collect::<Vec<_>>(),
            ["k2"]
        );
        s.outbox_requeue(k2, 50_000).unwrap();
        let it = s.outbox_item("k2").unwrap().unwrap();
        assert_eq!(
            (it.state, it.next_ms, it.attempts),
            (State::Queued, 50_000, 1)
        );
        assert_eq!(s.outbox_due(50_000, 10).unwrap()[0].id, k2);
        assert_eq!(s.outbox_for_call("c1").unwrap().len(), 2);
        assert!(s.outbox_for_call("c2").unwrap().is_empty());
    }

    #[test]
    fn a_row_this_code_never_writes_is_an_error_not_a_panic() {
        let s = Store::in_memory().unwrap();
        s.enqueue(&webhook("k"), 1).unwrap();
        s.db.execute("UPDATE outbox SET state = 'lost'", [])
            .unwrap();
        let e = s.outbox_pending().unwrap_err();
        assert!(e.to_string().contains("lost"), "{e}");
        s.db.execute("UPDATE outbox SET state = 'queued', target = '{'", [])
            .unwrap();
        assert!(s.outbox_due(1, 1).is_err());
    }

    #[test]
    fn backoff_doubles_from_five_seconds_to_ten_minutes_with_bounded_jitter() {
        let b = Backoff::STANDARD;
        for attempts in 1..=20_u32 {
            let plain = (5_000_i64 << (attempts - 1).min(20)).min(600_000);
            let mut seen = (i64::MAX, i64::MIN);
            for seed in 0..500 {
                let d = b.delay_ms(attempts, None, seed);
                assert!(
                    d >= plain * 8 / 10 && d <= (plain * 12 / 10).min(600_000),
                    "attempt {attempts} seed {seed}: {d} ms"
                );
                seen = (seen.0.min(d), seen.1.max(d));
            }
            assert!(seen.1 - seen.0 > plain / 8, "jitter spreads: {seen:?}");
        }
        assert_eq!(
            backoff_ms(0, None, 7),
            backoff_ms(1, None, 7),
            "0 counts as 1"
        );
        assert!(backoff_ms(u32::MAX, None, 1) <= 600_000, "no overflow");
        let mean = |a| (0..1000).map(|s| backoff_ms(a, None, s)).sum::<i64>() / 1000;
        assert!(
            mean(2) > mean(1) * 18 / 10 && mean(3) > mean(2) * 18 / 10,
            "doubles"
        );
    }

    #[test]
    fn a_longer_retry_after_wins_a_shorter_one_does_not_and_days_are_capped() {
        assert_eq!(backoff_ms(1, Some(60), 3), 60_000);
        assert!(
            backoff_ms(10, Some(1), 3) >= 480_000,
            "shorter: our back-off"
        );
        assert_eq!(backoff_ms(1, Some(86_400 * 365), 3), 3_600_000);
        assert_eq!(backoff_ms(1, Some(u64::MAX), 3), 3_600_000);
        let fast = Backoff {
            base_ms: 50,
            cap_ms: 100,
        };
        assert!(fast.delay_ms(1, None, 9) <= 60);
        assert_eq!(fast.delay_ms(1, Some(1), 9), 1_000);
    }

    #[test]
    fn answers_are_judged_by_status_and_the_result_field_is_read_from_json() {
        let body = r#"{"ticket":{"id":"T-1042","lines":[{"sku":17}]}}"#;
        assert_eq!(
            judge_response(201, None, body, Some("ticket.id")),
            Verdict::Sent {
                result: Some("T-1042".into())
            }
        );
        assert_eq!(
            judge_response(200, None, body, Some("ticket.lines.0.sku")),
            Verdict::Sent {
                result: Some("17".into())
            }
        );
        for (body, field) in [
            (body, Some("ticket.nope")),
            ("<html>", Some("id")),
            (body, None),
        ] {
            assert_eq!(
                judge_response(200, None, body, field),
                Verdict::Sent { result: None },
                "delivered all the same"
            );
        }
        for status in [408, 425, 429, 500, 502, 503, 599] {
            assert!(
                matches!(judge_response(status, Some("7"), "", None),
                    Verdict::Retry { retry_after_s: Some(7), ref reason } if reason == &format!("HTTP {status}")),
                "{status}"
            );
        }
        assert_eq!(
            judge_response(400, None, "\n  missing field qty \nat line 2", None),
            Verdict::Failed {
                reason: "HTTP 400: missing field qty".into()
            }
        );
        for status in [301, 401, 403, 404, 422, 100, 0, 999] {
            assert!(
                matches!(
                    judge_response(status, None, "", None),
                    Verdict::Failed { .. }
                ),
                "{status}"
            );
        }
        // The receiver's text is cleaned and capped before it is kept.
        let Verdict::Failed { reason } = judge_response(
            400,
            None,
            &format!("\u{1b}[31m{}\u{202e}", "x".repeat(10_000)),
            None,
        ) else {
            panic!("a 400 fails")
        };
        assert!(reason.chars().count() <= 220 && !reason.contains(['\u{1b}', '\u{202e}']));
    }

    #[test]
    fn retry_after_is_read_as_seconds_only() {
        assert_eq!(parse_retry_after(" 120 "), Some(120));
        for v in [
            "",
            "-1",
            "1.5",
            "Wed, 21 Oct 2015 07:28:00 GMT",
            "99999999999999999999",
        ] {
            assert_eq!(parse_retry_after(v), None, "{v:?}");
        }
    }

    #[test]
    fn message_ids_are_the_same_for_the_same_key_and_differ_otherwise() {
        assert_eq!(
            message_id("call-1@test/order/email"),
            "<call-1=40test/order/email@switchboard>"
        );
        assert_ne!(message_id("a.b"), message_id("a=2Eb"));
        let long = "ä\r\n".repeat(500);
        let id = message_id(&long);
        assert_eq!(id, message_id(&long));
        assert_ne!(id, message_id(&format!("{long}x")));
        assert!(
            id.len() < 140 && id.is_ascii() && !id.contains(['\r', '\n', ' ']),
            "{id}"
        );
    }
}
