//! What happened: per-session totals (the request log comes later).

pub mod session;

pub use session::SessionStats;
