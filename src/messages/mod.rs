//! The Anthropic Messages shape: bgw's one internal representation.
//!
//! Requests are parsed once, borrowing from the body; every provider encodes
//! from these types and decodes into [`event::StreamEvent`]s.

pub mod error;
pub mod event;
pub mod request;
pub mod response;
pub mod sse;
pub mod usage;

pub use error::{ApiError, ErrorKind};
pub use event::{BlockStart, Delta, StopReason, StreamEvent};
pub use request::MessagesRequest;
pub use response::{MessageAccumulator, MessageResponse};
pub use usage::Usage;
