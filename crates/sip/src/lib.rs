//! # switchboard-sip — a sans-IO SIP user agent core
//!
//! Placeholder docs; see the full overview below once all modules land.
#![forbid(unsafe_code)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic))]

pub mod header;
pub mod message;
pub mod uri;
