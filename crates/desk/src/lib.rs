//! # switchboard-desk — the agent's domain
//!
//! ```text
//!  phone events ─┐   ┌──────────── workspace::Workspace ────────────┐   ┌─▶ phone commands
//!  operator Ops ─┼──▶│ agent::Agent · calls · work list · wrap-ups   │───┤   (answer, dial, hold …)
//!  clock ticks  ─┘   │ missed calls · notices · today's figures      │   └─▶ CRM lookups
//!                    │ script runs · practice scores                 │
//!                    └──────── store::Store (SQLite, WAL) ───────────┘
//!  INVITE headers + header rules ─▶ context::caller_card ─▶ the caller card
//!                                   (caller_text::clean on every value)
//!  what the operator types ─▶ dialplan::DialPlan ─▶ a SIP URI
//!  directory files, LDAP results ─▶ directory::Directory ─▶ search without diacritics
//! ```
//!
//! Nothing here knows about egui or sockets: the desktop and the CLI feed it
//! and carry out what it returns. A screen renders the [`workspace`] and
//! hands it the operator's operations; every rule that is not about pixels
//! (which call is in hand, the wrap-up queue, held and consult bookkeeping,
//! history and figures) is here, tested without a window.
//!
//! - [`workspace`]: the operator's workspace as a reducer.
//! - [`agent`]: agent states (Available, Break, Dialing, Ringing, In call,
//!   Wrap-up, Offline) and the rules for offering calls and after-call work.
//! - [`dialplan`]: numbers, extensions and addresses as typed, to SIP URIs.
//! - [`directory`]: the company directory and its search.
//! - [`knowledge`]: the knowledge base, Markdown articles searched as the
//!   operator types (SQLite FTS5, without diacritics) and suggested from
//!   the call's context.
//! - [`time`]: local times for display.
//! - [`context`]: who calls and why, from the INVITE before answering.
//! - [`caller_text`]: caller-supplied text cleaned (controls, bidi and
//!   invisible characters out, one line, capped) before it is shown,
//!   stored or sent on.
//! - [`crm`]: the caller's CRM record by URL template (pure: URL and fields;
//!   the desktop fetches on a worker thread).
//! - [`script`]: call scripts, the standard questions asked in order and
//!   what the answers decide (a checked graph, run answer by answer).
//! - [`practice`]: the practice line's scenarios and a trainee's score.
//! - [`form`]: order and ticket forms — fields, repeating lines, totals,
//!   checks, and what a saved form sends (webhook, e-mail).
//! - [`tickets`]: the caller's open tickets by URL template.
//! - [`config`]: the TOML file shared by the desktop and the headless agent.
//! - [`outbox`]: orders and tickets on their way to whoever fulfils them
//!   (webhook, e-mail), kept in the store until delivered, once per key.
//! - [`store`]: durable data; a note being typed is a draft saved on change,
//!   so a crash loses nothing that was on screen.
#![deny(unsafe_code)]
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)
)]

pub mod agent;
/// Caller-supplied text made safe ([`switchboard_text`], shared with the mail crate).
pub use switchboard_text as caller_text;
pub mod config;
pub mod context;
pub mod crm;
pub mod dialplan;
pub mod directory;
pub mod email;
pub mod form;
pub mod knowledge;
pub mod outbox;
pub mod practice;
pub mod script;
pub mod store;
pub mod team;
pub mod tickets;
pub mod time;
pub mod workspace;
