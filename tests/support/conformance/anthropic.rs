//! Anthropic's Messages API, as Anthropic, Claude on Azure AI Foundry and Claude on Vertex AI
//! answer it (https://docs.anthropic.com/en/api/messages ,
//! https://docs.anthropic.com/en/docs/build-with-claude/streaming ,
//! https://docs.claude.com/en/api/errors), and the events Bedrock's InvokeModel wraps
//! (`bedrock.rs`).

use bytes::Bytes;
use serde_json::{Value, json};

use super::{
    AFTER_THOUGHT, BASH_ARGS, IMAGE_ANSWER, PNG, READ_ARGS, REFUSAL_START, RETRY_SECS, Scenario,
    TEST_ARGS, TEXT, TEXT_PIECES, THOUGHT_PIECES, TOOL_USE_ID, any_node, fragments, stream_of,
};
use crate::support::mock::Reply;

/// The model the answers name.
pub const MODEL: &str = "claude-sonnet-4-5-20250929";
/// The signature of the thinking block (as in Anthropic's extended-thinking examples); a
/// passthrough must hand it back unchanged.
pub const SIGNATURE: &str = "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds1R5DDFnkq0ufzxvRvmwOqN8Nz0dCisNeFbNHmNd+S6WgjI8t0x1HP0Nh9ekqLo8+WrK+wJL1s9sV9hcJKJB+pVlDD4UKmB6DC7tVfv0zYPWAWOqVf0zaEAgcpWYTpaF8zmgqJN6qLbLTf5q8hq7DvqOMV1S8TA3kPuRQDBEyMqmR8gOF4XPO5lP";

/// Who serves the Messages API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    Anthropic,
    /// Claude on Azure AI Foundry: Anthropic's answers and errors.
    Foundry,
    /// Claude on Vertex AI: the model's answers and errors are Anthropic's, but Google's front
    /// end (sign-in, quota) answers in `google.rpc.Status`
    /// (https://cloud.google.com/vertex-ai/generative-ai/docs/partner-models/claude).
    Vertex,
}

impl Flavor {
    fn message_id(self) -> &'static str {
        match self {
            Flavor::Vertex => "msg_vrtx_01HkVaJbUh7kQzMB2mnGUBBt",
            _ => "msg_01XFDUDYJgAACzvnptvVoYEL",
        }
    }
}

fn message_start(id: &str) -> Value {
    json!({"type": "message_start", "message": {"id": id, "type": "message", "role": "assistant",
        "model": MODEL, "content": [], "stop_reason": null, "stop_sequence": null,
        "usage": {"input_tokens": 20, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0, "output_tokens": 1}}})
}

fn text_block(index: u32, pieces: &[&str]) -> Vec<Value> {
    let mut events = vec![
        json!({"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}}),
    ];
    events.extend(pieces.iter().map(|p| {
        json!({"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": p}})
    }));
    events.push(json!({"type": "content_block_stop", "index": index}));
    events
}

fn tool_block(index: u32, id: &str, name: &str, args: &str) -> Vec<Value> {
    let mut events = vec![json!({"type": "content_block_start", "index": index,
        "content_block": {"type": "tool_use", "id": id, "name": name, "input": {}}})];
    events.extend(fragments(args).into_iter().map(|f| {
        json!({"type": "content_block_delta", "index": index, "delta": {"type": "input_json_delta", "partial_json": f}})
    }));
    events.push(json!({"type": "content_block_stop", "index": index}));
    events
}

fn thinking_block(index: u32) -> Vec<Value> {
    let mut events = vec![json!({"type": "content_block_start", "index": index,
        "content_block": {"type": "thinking", "thinking": "", "signature": ""}})];
    events.extend(THOUGHT_PIECES.iter().map(|p| {
        json!({"type": "content_block_delta", "index": index, "delta": {"type": "thinking_delta", "thinking": p}})
    }));
    events.push(json!({"type": "content_block_delta", "index": index,
        "delta": {"type": "signature_delta", "signature": SIGNATURE}}));
    events.push(json!({"type": "content_block_stop", "index": index}));
    events
}

/// A whole stream: `message_start`, a `ping`, the blocks, `message_delta` with `stop`,
/// `message_stop`.
fn around(id: &str, blocks: Vec<Value>, stop: &str) -> Vec<Value> {
    let mut events = vec![message_start(id), json!({"type": "ping"})];
    events.extend(blocks);
    events.push(
        json!({"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": null},
        "usage": {"output_tokens": 5}}),
    );
    events.push(json!({"type": "message_stop"}));
    events
}

/// The events of a streamed scenario (`None` for the others).
pub fn events(scenario: Scenario, message_id: &str) -> Option<Vec<Value>> {
    Some(match scenario {
        Scenario::Stream => around(message_id, text_block(0, &TEXT_PIECES), "end_turn"),
        Scenario::ToolCall => around(
            message_id,
            tool_block(0, "toolu_01T1x1fJ34qAmk2tNTrN7Up6", "Bash", BASH_ARGS),
            "tool_use",
        ),
        Scenario::ParallelTools => {
            let mut blocks = tool_block(0, "toolu_01Read0000000000000000", "Read", READ_ARGS);
            blocks.extend(tool_block(
                1,
                "toolu_01Bash0000000000000000",
                "Bash",
                TEST_ARGS,
            ));
            around(message_id, blocks, "tool_use")
        }
        Scenario::ToolResultImage => around(message_id, text_block(0, &[IMAGE_ANSWER]), "end_turn"),
        Scenario::Thinking => {
            let mut blocks = thinking_block(0);
            blocks.extend(text_block(1, &[AFTER_THOUGHT]));
            around(message_id, blocks, "end_turn")
        }
        // Claude 4 models stop a refused answer with `stop_reason: "refusal"`
        // (https://docs.anthropic.com/en/docs/test-and-evaluate/strengthen-guardrails/handle-streaming-refusals).
        Scenario::Refusal => around(message_id, text_block(0, &[REFUSAL_START]), "refusal"),
        _ => return None,
    })
}

/// The whole text answer.
pub fn message(id: &str) -> Value {
    json!({"id": id, "type": "message", "role": "assistant", "model": MODEL,
        "content": [{"type": "text", "text": TEXT}], "stop_reason": "end_turn", "stop_sequence": null,
        "usage": {"input_tokens": 20, "output_tokens": 5, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}})
}

/// Anthropic's error body.
pub fn error(kind: &str, message: &str) -> Value {
    json!({"type": "error", "error": {"type": kind, "message": message}, "request_id": "req_011CSHoEeqs5C35K2UUqR7Fy"})
}

/// Anthropic's words for a prompt over the window.
pub const TOO_LONG: &str = "prompt is too long: 208310 tokens > 200000 maximum";

/// What `flavor` answers to `scenario`.
pub fn answer(flavor: Flavor, scenario: Scenario) -> Reply {
    let id = flavor.message_id();
    if let Some(events) = events(scenario, id) {
        let frames = events
            .iter()
            .map(|e| {
                Bytes::from(format!(
                    "event: {}\ndata: {e}\n\n",
                    e["type"].as_str().unwrap()
                ))
            })
            .collect();
        return stream_of("text/event-stream", frames);
    }
    match scenario {
        Scenario::Text => Reply::json(200, &message(id)),
        Scenario::ContextOverflow => Reply::json(400, &error("invalid_request_error", TOO_LONG)),
        // Vertex's quota is Google's front end: `RESOURCE_EXHAUSTED`, its delay in `RetryInfo`
        // (https://cloud.google.com/apis/design/errors#error_details).
        Scenario::RateLimit if flavor == Flavor::Vertex => Reply::json(
            429,
            &json!({"error": {"code": 429,
                "message": "Quota exceeded for aiplatform.googleapis.com/online_prediction_input_tokens_per_minute_per_base_model with base model: anthropic-claude-sonnet-4-5. Please submit a quota increase request.",
                "status": "RESOURCE_EXHAUSTED",
                "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": format!("{RETRY_SECS}s")}]}}),
        ),
        Scenario::RateLimit => Reply::json(
            429,
            &error(
                "rate_limit_error",
                "This request would exceed the rate limit for your organization of 30,000 input tokens per minute.",
            ),
        )
        .header("retry-after", RETRY_SECS),
        Scenario::ServerError => Reply::json(500, &error("api_error", "Internal server error")),
        other => unreachable!("{other:?} is streamed"),
    }
}

/// Where the image of the tool result went: an Anthropic body keeps it inside the
/// `tool_result` block, as it came.
pub fn image_sent(body: &Value) -> Result<(), String> {
    let kept = any_node(body, &|v| {
        v["type"] == "tool_result"
            && v["tool_use_id"] == TOOL_USE_ID
            && v["content"].as_array().is_some_and(|c| {
                c.iter().any(|b| {
                    b["type"] == "image"
                        && b["source"]
                            == json!({"type": "base64", "media_type": "image/png", "data": PNG})
                })
            })
    });
    if kept {
        Ok(())
    } else {
        Err("no `tool_result` holds the image block".into())
    }
}
