//! The Anthropic Messages shape: bgw's one internal representation.
//!
//! Requests are routed on their `model` alone ([`scan`]), then parsed once, borrowing
//! from the body, by the providers that translate them; every provider decodes into
//! [`event::StreamEvent`]s.

pub mod error;
pub mod event;
pub mod request;
pub mod response;
pub mod scan;
pub mod sse;
pub mod usage;

pub use error::{ApiError, ErrorKind};
pub use event::{BlockStart, Delta, StopReason, StreamEvent};
pub use request::MessagesRequest;
pub use response::{MessageAccumulator, MessageResponse};
pub use usage::Usage;
