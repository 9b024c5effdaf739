//! The Anthropic Messages shape: bgw's one internal representation.
//!
//! Requests are routed on their `model` alone ([`scan`]), then parsed once, borrowing
//! from the body, by the providers that translate them; every provider decodes into
//! [`event::StreamEvent`]s. Thinking blocks bgw makes carry its own [`signature`], and tool
//! ids it hands out always fit Anthropic's pattern ([`tool_id`]), so a history stays valid
//! when a conversation moves to another provider.

pub mod assemble;
pub mod error;
pub mod event;
pub mod request;
pub mod response;
pub mod scan;
pub mod signature;
pub mod sse;
pub mod tool_id;
pub mod usage;

pub use error::{ApiError, ErrorKind};
pub use event::{BlockStart, Delta, StopReason, StreamEvent};
pub use request::MessagesRequest;
pub use response::{MessageAccumulator, MessageResponse};
pub use usage::Usage;
