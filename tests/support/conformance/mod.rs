//! The mock upstreams of the conformance matrix (tests/conformance.rs), one module per wire
//! format: what each provider answers to each [`Scenario`], written as the provider documents
//! it and streamed event by event (each event its own write), and where each format carries
//! the image of a tool result in the request bgw sent.
//!
//! Every mock answers the same content (the constants below), so one check per scenario
//! holds for every provider. The request names its scenario with a marker in its user text
//! ([`Scenario::marker`]), which survives every translation, so one mock answers every
//! scenario at once, in any order.

pub mod anthropic;
pub mod bedrock;
pub mod chat;
pub mod gemini;
pub mod responses;

use bytes::Bytes;
use serde_json::Value;

use crate::support::mock::{CHUNK_GAP, Part, Reply};

/// One row of the matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scenario {
    /// A whole (non-streamed) text answer.
    Text,
    /// A streamed text answer.
    Stream,
    /// One tool call, its arguments streamed in fragments where the format does so.
    ToolCall,
    /// Two tool calls in one answer.
    ParallelTools,
    /// A request whose tool result holds an image; a streamed text answer.
    ToolResultImage,
    /// Visible reasoning streamed before the answer, with a signature.
    Thinking,
    /// The provider's refusal or content filter.
    Refusal,
    /// The provider's "prompt too long" error.
    ContextOverflow,
    /// The provider's 429, with its hint of when to come back.
    RateLimit,
    /// The provider's 500.
    ServerError,
}

impl Scenario {
    /// Every scenario, in the order of the table's rows.
    pub const ALL: [Scenario; 10] = [
        Scenario::Text,
        Scenario::Stream,
        Scenario::ToolCall,
        Scenario::ParallelTools,
        Scenario::ToolResultImage,
        Scenario::Thinking,
        Scenario::Refusal,
        Scenario::ContextOverflow,
        Scenario::RateLimit,
        Scenario::ServerError,
    ];

    /// The row's name in the table.
    pub fn title(self) -> &'static str {
        match self {
            Scenario::Text => "text (whole answer)",
            Scenario::Stream => "streamed text",
            Scenario::ToolCall => "streamed tool call",
            Scenario::ParallelTools => "parallel tool calls",
            Scenario::ToolResultImage => "tool result with an image",
            Scenario::Thinking => "thinking + signature",
            Scenario::Refusal => "refusal / content filter",
            Scenario::ContextOverflow => "context overflow",
            Scenario::RateLimit => "429 with retry hint",
            Scenario::ServerError => "upstream 500",
        }
    }

    fn id(self) -> &'static str {
        match self {
            Scenario::Text => "text",
            Scenario::Stream => "stream",
            Scenario::ToolCall => "tool-call",
            Scenario::ParallelTools => "parallel-tools",
            Scenario::ToolResultImage => "tool-result-image",
            Scenario::Thinking => "thinking",
            Scenario::Refusal => "refusal",
            Scenario::ContextOverflow => "context-overflow",
            Scenario::RateLimit => "rate-limit",
            Scenario::ServerError => "server-error",
        }
    }

    /// The text put in the request's user turn to name this scenario.
    pub fn marker(self) -> String {
        format!("[conformance:{}]", self.id())
    }

    /// The scenario a request to a mock names, if any.
    pub fn marked(body: &[u8]) -> Option<Scenario> {
        let text = String::from_utf8_lossy(body);
        Scenario::ALL
            .into_iter()
            .find(|s| text.contains(&s.marker()))
    }
}

/// The text of every text answer.
pub const TEXT: &str = "Hello from the upstream.";
/// The same text as the streams send it.
pub const TEXT_PIECES: [&str; 3] = ["Hel", "lo from ", "the upstream."];
/// The arguments of the single tool call (`Bash`).
pub const BASH_ARGS: &str = r#"{"command":"ls -la /tmp","timeout":30000}"#;
/// The parallel calls: `Read` with these arguments, then `Bash` with these.
pub const READ_ARGS: &str = r#"{"file_path":"/src/main.rs"}"#;
pub const TEST_ARGS: &str = r#"{"command":"cargo test"}"#;
/// The sizes argument fragments are cut to, where a format streams them.
pub const FRAGMENT_SIZES: [usize; 4] = [1, 9, 4, 13];
/// The answer to the request with the image.
pub const IMAGE_ANSWER: &str = "A red dot.";
/// The reasoning of the thinking scenario, as streamed, and the answer after it.
pub const THOUGHT_PIECES: [&str; 2] = ["The user wants ", "a greeting."];
pub const AFTER_THOUGHT: &str = "Hello.";
/// What a refusal says before it stops.
pub const REFUSAL_START: &str = "I can";
/// A 1×1 PNG, as the tool result's image (base64).
pub const PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==";
/// The id of the tool call the image is the result of.
pub const TOOL_USE_ID: &str = "toolu_01A09q90qw90lq917835lq9";
/// The seconds a 429 asks to wait, where the format says it in a header or in seconds.
pub const RETRY_SECS: &str = "7";

/// The whole reasoning text.
pub fn thought() -> String {
    THOUGHT_PIECES.concat()
}

/// `args` cut into the fragments a stream sends.
pub fn fragments(args: &str) -> Vec<String> {
    crate::support::sse::fragments(args, &FRAGMENT_SIZES)
}

/// JSON text as a value (for formats that carry arguments as objects).
pub fn object(args: &str) -> Value {
    serde_json::from_str(args).unwrap()
}

/// A 200 stream of `content_type`, each frame its own write, [`CHUNK_GAP`] apart.
pub fn stream_of(content_type: &str, frames: Vec<Bytes>) -> Reply {
    let mut parts = Vec::new();
    for f in frames {
        if !parts.is_empty() {
            parts.push(Part::Sleep(CHUNK_GAP));
        }
        parts.push(Part::Bytes(f));
    }
    Reply::Stream {
        status: 200,
        headers: vec![("content-type".into(), content_type.into())],
        parts,
    }
}

/// SSE text holding several events, cut after each event (`\n\n` or `\r\n\r\n`), so that a
/// stream built from the helpers in `support::sse` goes out event by event.
pub fn events_of(sse: &str) -> Vec<Bytes> {
    let mut out = Vec::new();
    let mut rest = sse;
    while !rest.is_empty() {
        let end = [
            rest.find("\r\n\r\n").map(|i| i + 4),
            rest.find("\n\n").map(|i| i + 2),
        ]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(rest.len());
        out.push(Bytes::copy_from_slice(&rest.as_bytes()[..end]));
        rest = &rest[end..];
    }
    out
}

/// A tests/fixtures file, as text.
pub fn fixture(path: &str) -> String {
    let full = format!("{}/tests/fixtures/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
}

/// Walks `v` depth first; true when `found` holds for some node.
pub fn any_node(v: &Value, found: &dyn Fn(&Value) -> bool) -> bool {
    if found(v) {
        return true;
    }
    match v {
        Value::Array(items) => items.iter().any(|i| any_node(i, found)),
        Value::Object(map) => map.values().any(|i| any_node(i, found)),
        _ => false,
    }
}
