//! Who may spend what: virtual keys, teams and customers, budgets and rate limits.

pub mod access;
pub mod admit;
pub mod amount;
pub mod lease;
pub mod meter;
pub mod notice;
pub mod period;
pub mod scope;
pub mod standing;
pub mod vkey;
