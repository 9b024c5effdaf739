//! What happened: the request log writer, and per-session totals.

pub mod chunker;
pub mod log;
pub mod session;

pub use log::{Answer, Finished, Pending, RequestLog};
pub use session::SessionStats;
