//! Amazon Bedrock: Claude through InvokeModel (Anthropic's events, each wrapped in an AWS
//! event-stream `chunk`,
//! https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_InvokeModelWithResponseStream.html)
//! and every other model through Converse
//! (https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html ,
//! https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ConverseStream.html):
//! each event its own event-stream message whose `:event-type` names it. Errors are
//! `{"message"}` with the exception's name in `x-amzn-ErrorType`; a throttled request gets no
//! hint of when to come back.

use base64::Engine as _;
use bgw::providers::bedrock::eventstream;
use bytes::Bytes;
use serde_json::{Value, json};

use super::anthropic;
use super::{
    AFTER_THOUGHT, BASH_ARGS, IMAGE_ANSWER, PNG, READ_ARGS, REFUSAL_START, Scenario, TEST_ARGS,
    TEXT, TEXT_PIECES, THOUGHT_PIECES, TOOL_USE_ID, any_node, fragments, stream_of,
};
use crate::support::mock::Reply;

const EVENT_STREAM: &str = "application/vnd.amazon.eventstream";
/// The signature Bedrock gives Claude's reasoning.
pub const REASONING_SIGNATURE: &str =
    "ErcBCkgIBRABGAIiQMhWeoGTsvmaNkC4M5dkqD3cnVxJ7j0WFUnoGbfRFGpnhE0iR8oyhj7o";

/// One event-stream message carrying an event.
fn message(event_type: &str, payload: &Value) -> Bytes {
    Bytes::from(eventstream::encode(
        &[
            (":event-type", event_type),
            (":content-type", "application/json"),
            (":message-type", "event"),
        ],
        payload.to_string().as_bytes(),
    ))
}

/// A Bedrock error: `status`, `{"message"}`, the exception in `x-amzn-ErrorType`.
fn error(status: u16, exception: &str, message: &str) -> Reply {
    Reply::json(status, &json!({"message": message})).header(
        "x-amzn-ErrorType",
        &format!("{exception}:http://internal.amazon.com/coral/com.amazon.bedrock/"),
    )
}

fn throttled() -> Reply {
    error(
        429,
        "ThrottlingException",
        "Too many tokens, please wait before trying again.",
    )
}

fn internal() -> Reply {
    error(
        500,
        "InternalServerException",
        "The system encountered an unexpected error during processing. Try your request again.",
    )
}

/// What InvokeModel answers for Claude to `scenario`.
pub fn invoke(scenario: Scenario) -> Reply {
    let id = "msg_bdrk_01Gtv4EDyTWGk2RUShVzv8Hz";
    if let Some(events) = anthropic::events(scenario, id) {
        let last = events.len() - 1;
        let frames = events
            .into_iter()
            .enumerate()
            .map(|(i, mut e)| {
                if i == last {
                    // The final `message_stop` carries Bedrock's own count.
                    e["amazon-bedrock-invocationMetrics"] = json!({"inputTokenCount": 20,
                        "outputTokenCount": 5, "invocationLatency": 812, "firstByteLatency": 301});
                }
                let bytes = base64::engine::general_purpose::STANDARD.encode(e.to_string());
                message(
                    "chunk",
                    &json!({"bytes": bytes, "p": "abcdefghijklmnopqrstuvwxyzABCDEFGH"}),
                )
            })
            .collect();
        return stream_of(EVENT_STREAM, frames);
    }
    match scenario {
        Scenario::Text => Reply::json(200, &anthropic::message(id))
            .header("x-amzn-bedrock-input-token-count", "20")
            .header("x-amzn-bedrock-output-token-count", "5"),
        // Claude on Bedrock words an overlong prompt as Anthropic does.
        Scenario::ContextOverflow => error(400, "ValidationException", anthropic::TOO_LONG),
        Scenario::RateLimit => throttled(),
        Scenario::ServerError => internal(),
        other => unreachable!("{other:?} is streamed"),
    }
}

/// InvokeModel's body is Anthropic's: the image stays in the tool result.
pub fn invoke_image_sent(body: &Value) -> Result<(), String> {
    anthropic::image_sent(body)
}

/// A ConverseStream answer: `messageStart`, these events, `messageStop` with `stop`, and
/// `metadata` with the usage (after the stop, as Bedrock sends it).
fn converse_stream(blocks: Vec<(&str, Value)>, stop: &str) -> Reply {
    let mut frames = vec![message(
        "messageStart",
        &json!({"p": "abcd", "role": "assistant"}),
    )];
    frames.extend(blocks.iter().map(|(name, payload)| message(name, payload)));
    frames.push(message(
        "messageStop",
        &json!({"p": "abcdefgh", "stopReason": stop}),
    ));
    frames.push(message(
        "metadata",
        &json!({"p": "abc", "usage": {"inputTokens": 20, "outputTokens": 5, "totalTokens": 25},
            "metrics": {"latencyMs": 412}}),
    ));
    stream_of(EVENT_STREAM, frames)
}

fn text_block(index: u32, pieces: &[&str]) -> Vec<(&'static str, Value)> {
    let mut events: Vec<(&str, Value)> = pieces
        .iter()
        .map(|p| {
            (
                "contentBlockDelta",
                json!({"contentBlockIndex": index, "delta": {"text": p}, "p": "ab"}),
            )
        })
        .collect();
    events.push((
        "contentBlockStop",
        json!({"contentBlockIndex": index, "p": "abcde"}),
    ));
    events
}

fn tool_block(index: u32, id: &str, name: &str, args: &str) -> Vec<(&'static str, Value)> {
    let mut events = vec![(
        "contentBlockStart",
        json!({"contentBlockIndex": index, "start": {"toolUse": {"toolUseId": id, "name": name}}, "p": "abc"}),
    )];
    events.extend(fragments(args).into_iter().map(|f| {
        (
            "contentBlockDelta",
            json!({"contentBlockIndex": index, "delta": {"toolUse": {"input": f}}, "p": "a"}),
        )
    }));
    events.push(("contentBlockStop", json!({"contentBlockIndex": index})));
    events
}

/// What Converse answers to `scenario`.
pub fn converse(scenario: Scenario) -> Reply {
    match scenario {
        Scenario::Text => Reply::json(
            200,
            &json!({"output": {"message": {"role": "assistant", "content": [{"text": TEXT}]}},
                "stopReason": "end_turn",
                "usage": {"inputTokens": 20, "outputTokens": 5, "totalTokens": 25},
                "metrics": {"latencyMs": 412}}),
        ),
        Scenario::Stream => converse_stream(text_block(0, &TEXT_PIECES), "end_turn"),
        Scenario::ToolCall => converse_stream(
            tool_block(0, "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q", "Bash", BASH_ARGS),
            "tool_use",
        ),
        Scenario::ParallelTools => {
            let mut blocks = tool_block(0, "tooluse_Read0000000000000000", "Read", READ_ARGS);
            blocks.extend(tool_block(
                1,
                "tooluse_Bash0000000000000000",
                "Bash",
                TEST_ARGS,
            ));
            converse_stream(blocks, "tool_use")
        }
        Scenario::ToolResultImage => converse_stream(text_block(0, &[IMAGE_ANSWER]), "end_turn"),
        // Reasoning streams as `reasoningContent` deltas: its text, then its signature.
        Scenario::Thinking => {
            let mut blocks: Vec<(&str, Value)> = THOUGHT_PIECES
                .iter()
                .map(|p| {
                    (
                        "contentBlockDelta",
                        json!({"contentBlockIndex": 0, "delta": {"reasoningContent": {"text": p}}}),
                    )
                })
                .collect();
            blocks.push((
                "contentBlockDelta",
                json!({"contentBlockIndex": 0, "delta": {"reasoningContent": {"signature": REASONING_SIGNATURE}}}),
            ));
            blocks.push(("contentBlockStop", json!({"contentBlockIndex": 0})));
            blocks.extend(text_block(1, &[AFTER_THOUGHT]));
            converse_stream(blocks, "end_turn")
        }
        Scenario::Refusal => converse_stream(text_block(0, &[REFUSAL_START]), "content_filtered"),
        Scenario::ContextOverflow => error(
            400,
            "ValidationException",
            "Input is too long for requested model.",
        ),
        Scenario::RateLimit => throttled(),
        Scenario::ServerError => internal(),
    }
}

/// Where the image of the tool result went in a Converse body: inside the `toolResult`'s
/// content, as PNG bytes.
pub fn converse_image_sent(body: &Value) -> Result<(), String> {
    let kept = any_node(body, &|v| {
        v["toolResult"]["toolUseId"] == TOOL_USE_ID
            && v["toolResult"]["content"].as_array().is_some_and(|c| {
                c.iter()
                    .any(|b| b["image"] == json!({"format": "png", "source": {"bytes": PNG}}))
            })
    });
    if kept {
        Ok(())
    } else {
        Err("no `toolResult` holds the image as `{format: png, source: {bytes}}`".into())
    }
}
