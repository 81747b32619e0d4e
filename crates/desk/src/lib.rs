//! # switchboard-desk — the agent's domain
//!
//! ```text
//!  engine events ─┐                      ┌─▶ engine commands (answer, reject 486 …)
//!  UI commands  ──┼─▶ agent::Agent ──────┤
//!  clock ticks  ──┘   (pure reducer)     └─▶ UI effects (open wrap-up, state changed)
//!  INVITE headers + header rules ─▶ context::caller_card ─▶ the caller card
//!  store::Store (SQLite, WAL): history, wrap-up notes and their drafts, contacts
//! ```
//!
//! Nothing here knows about egui or sockets: the desktop and the CLI feed it
//! and carry out what it returns.
//!
//! - [`agent`]: agent states (Available, Break, Ringing, In call, Wrap-up,
//!   Offline) and the rules for offering calls and after-call work.
//! - [`context`]: who calls and why, from the INVITE before answering.
//! - [`crm`]: the caller's CRM record by URL template (pure: URL and fields;
//!   the desktop fetches on a worker thread).
//! - [`config`]: the TOML file shared by the desktop and the headless agent.
//! - [`store`]: durable data; a note being typed is a draft saved on change,
//!   so a crash loses nothing that was on screen.
#![deny(unsafe_code)]
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)
)]

pub mod agent;
pub mod config;
pub mod context;
pub mod crm;
pub mod dialplan;
pub mod directory;
pub mod store;
pub mod time;
pub mod workspace;
