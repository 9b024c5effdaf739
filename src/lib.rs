//! bgw: a gateway that lets Claude Code use any model from any provider.
//!
//! Map: `cli` (one file per subcommand) → `gateway` (HTTP server and the request path)
//! → `route` (which targets serve a request, in order: rules, weights, health, sessions)
//! → `providers` (one wire format each, and the resolved upstream, `Target`),
//! with `messages` (the Anthropic shape used inside), `store` (the redb file),
//! `catalog` (known models, windows, prices), `tokens` (prompt token estimates),
//! `govern` (virtual keys, budgets, rate limits) and `observe` (what happened).

pub mod catalog;
pub mod cli;
pub mod gateway;
pub mod govern;
pub mod messages;
pub mod observe;
pub mod providers;
pub mod route;
pub mod store;
pub mod tokens;
