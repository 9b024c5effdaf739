//! OpenAI's Responses API, for its reasoning models
//! (https://platform.openai.com/docs/api-reference/responses-streaming ,
//! https://platform.openai.com/docs/api-reference/responses/object for `incomplete_details`).

use serde_json::{Value, json};

use super::{
    AFTER_THOUGHT, BASH_ARGS, IMAGE_ANSWER, PNG, READ_ARGS, REFUSAL_START, RETRY_SECS, Scenario,
    TEST_ARGS, TEXT, TEXT_PIECES, THOUGHT_PIECES, TOOL_USE_ID, events_of, fixture, fragments,
    stream_of,
};
use crate::support::mock::Reply;
use crate::support::sse::{openai, responses};

const MODEL: &str = "gpt-5-2025-08-07";
/// The encrypted reasoning `include: ["reasoning.encrypted_content"]` returns.
const ENCRYPTED: &str = "gAAAAABosfDEn8Xw3rT0l2Jz6q-kVYgF1pZ0bqY4c2hT9mXe_PqR7sUvWxYz01234567890AbCdEfGhIjKlMnOpQrStUvWxYz==";

/// `response.created`, these output items, then `last` (`response.completed` unless given).
fn stream(items: &[String], last: Option<String>) -> Reply {
    let mut sse = responses::created(MODEL);
    for i in items {
        sse.push_str(i);
    }
    sse.push_str(&last.unwrap_or_else(|| responses::completed(20, 5, 0)));
    stream_of("text/event-stream", events_of(&sse))
}

/// What OpenAI's Responses API answers to `scenario`.
pub fn answer(scenario: Scenario) -> Reply {
    match scenario {
        Scenario::Text => responses::answer(MODEL, TEXT, false, 20, 5),
        Scenario::Stream => stream(&[responses::text(0, "msg_text", &TEXT_PIECES)], None),
        Scenario::ToolCall => stream(
            &[responses::function_call(
                0,
                "fc_bash",
                "call_q1w2e3r4t5y6",
                "Bash",
                &fragments(BASH_ARGS),
            )],
            None,
        ),
        Scenario::ParallelTools => stream(
            &[
                responses::function_call(
                    0,
                    "fc_read",
                    "call_read00000001",
                    "Read",
                    &fragments(READ_ARGS),
                ),
                responses::function_call(
                    1,
                    "fc_bash",
                    "call_bash00000002",
                    "Bash",
                    &fragments(TEST_ARGS),
                ),
            ],
            None,
        ),
        Scenario::ToolResultImage => {
            stream(&[responses::text(0, "msg_img", &[IMAGE_ANSWER])], None)
        }
        Scenario::Thinking => stream(
            &[
                responses::reasoning(0, "rs_thinking", &THOUGHT_PIECES, ENCRYPTED),
                responses::text(1, "msg_after", &[AFTER_THOUGHT]),
            ],
            None,
        ),
        // The content filter stops a response as `incomplete`, reason `content_filter`.
        Scenario::Refusal => stream(
            &[responses::text(0, "msg_refused", &[REFUSAL_START])],
            Some(responses::event(
                &json!({"type": "response.incomplete", "response": {
                "id": "resp_e2e", "object": "response", "status": "incomplete",
                "incomplete_details": {"reason": "content_filter"},
                "usage": {"input_tokens": 20, "input_tokens_details": {"cached_tokens": 0},
                          "output_tokens": 2, "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 22}}}),
            )),
        ),
        Scenario::ContextOverflow => Reply::json(
            400,
            &json!({"error": {"message": "Your input exceeds the context window of this model. Please adjust your input and try again.",
                "type": "invalid_request_error", "param": "input", "code": "context_length_exceeded"}}),
        ),
        Scenario::RateLimit => Reply::json(
            429,
            &serde_json::from_str::<Value>(&fixture("openai/error_429.json")).unwrap(),
        )
        .header("retry-after", RETRY_SECS),
        Scenario::ServerError => Reply::json(
            500,
            &openai::error(
                "The server had an error while processing your request. Sorry about that!",
                "server_error",
                None,
            ),
        ),
    }
}

/// Where the image of the tool result went: a `function_call_output` whose output is a list
/// of parts, the image an `input_image`.
pub fn image_sent(body: &Value) -> Result<(), String> {
    let input = body["input"].as_array().ok_or("no `input`")?;
    let output = input
        .iter()
        .find(|i| i["type"] == "function_call_output" && i["call_id"] == TOOL_USE_ID)
        .ok_or_else(|| format!("no `function_call_output` answers {TOOL_USE_ID}"))?;
    let url = format!("data:image/png;base64,{PNG}");
    let parts = output["output"]
        .as_array()
        .ok_or_else(|| format!("the output is not a list of parts: {output}"))?;
    if parts
        .iter()
        .any(|p| p["type"] == "input_image" && p["image_url"] == url)
    {
        Ok(())
    } else {
        Err(format!("no `input_image` with the data URL in {output}"))
    }
}
