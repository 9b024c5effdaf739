//! Google's Gemini API, as the Gemini API and Vertex AI serve it
//! (https://ai.google.dev/api/generate-content ,
//! https://cloud.google.com/vertex-ai/generative-ai/docs/model-reference/inference ): each
//! streamed `data:` a whole `GenerateContentResponse` holding only the new parts; function
//! calls arrive whole; errors are `google.rpc.Status`.

use bytes::Bytes;
use serde_json::{Value, json};

use super::{
    AFTER_THOUGHT, BASH_ARGS, IMAGE_ANSWER, PNG, READ_ARGS, REFUSAL_START, RETRY_SECS, Scenario,
    TEST_ARGS, TEXT, TEXT_PIECES, fixture, object, stream_of, thought,
};
use crate::support::mock::Reply;
use crate::support::sse::gemini::{chunk, error, frame, usage};

const MODEL: &str = "gemini-2.5-pro";
/// The thought signature of the first function call of a turn (thinking models send one).
const THOUGHT_SIGNATURE: &str = "CiQBcsjafDNqE6bXd4mZBk7vhc1ps2Kkq8sbjIXHJcGRmIo1OOgKYAFyyNp8";

/// Who serves the Gemini API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// generativelanguage.googleapis.com.
    Api,
    /// Vertex AI.
    Vertex,
}

/// A stream of chunks of these parts; the last chunk carries `finish` and the usage.
fn stream(parts: Vec<Value>, finish: &str) -> Reply {
    let last = parts.len() - 1;
    let frames = parts
        .into_iter()
        .enumerate()
        .map(|(i, p)| {
            let end = i == last;
            let finish = end.then_some(finish);
            Bytes::from(frame(&chunk(
                MODEL,
                p,
                finish,
                Some(usage(20, if end { 5 } else { 1 }, 0)),
            )))
        })
        .collect();
    stream_of("text/event-stream", frames)
}

fn texts(pieces: &[&str]) -> Vec<Value> {
    pieces.iter().map(|p| json!([{"text": p}])).collect()
}

/// What `flavor` answers to `scenario`.
pub fn answer(flavor: Flavor, scenario: Scenario) -> Reply {
    match scenario {
        Scenario::Text => Reply::json(
            200,
            &chunk(
                MODEL,
                json!([{"text": TEXT}]),
                Some("STOP"),
                Some(usage(20, 5, 0)),
            ),
        ),
        Scenario::Stream => stream(texts(&TEXT_PIECES), "STOP"),
        // A function call's finish reason is `STOP`, as for text.
        Scenario::ToolCall => stream(
            vec![
                json!([{"functionCall": {"name": "Bash", "args": object(BASH_ARGS)},
                "thoughtSignature": THOUGHT_SIGNATURE}]),
            ],
            "STOP",
        ),
        Scenario::ParallelTools => stream(
            vec![json!([
                {"functionCall": {"name": "Read", "args": object(READ_ARGS)}, "thoughtSignature": THOUGHT_SIGNATURE},
                {"functionCall": {"name": "Bash", "args": object(TEST_ARGS)}}
            ])],
            "STOP",
        ),
        Scenario::ToolResultImage => stream(texts(&[IMAGE_ANSWER]), "STOP"),
        // Thought summaries are parts marked `thought: true` (`includeThoughts`).
        Scenario::Thinking => stream(
            vec![
                json!([{"text": thought(), "thought": true}]),
                json!([{"text": AFTER_THOUGHT}]),
            ],
            "STOP",
        ),
        // A blocked answer ends with a chunk of no parts, `finishReason: SAFETY`.
        Scenario::Refusal => stream(vec![json!([{"text": REFUSAL_START}]), json!([])], "SAFETY"),
        Scenario::ContextOverflow => Reply::json(
            400,
            &match flavor {
                Flavor::Api => {
                    serde_json::from_str(&fixture("gemini/error_400_too_long.json")).unwrap()
                }
                Flavor::Vertex => error(
                    400,
                    "INVALID_ARGUMENT",
                    "The input token count (2100000) exceeds the maximum number of tokens allowed (1048576).",
                ),
            },
        ),
        Scenario::RateLimit => Reply::json(
            429,
            &match flavor {
                // Its `RetryInfo` asks for 27.5 s.
                Flavor::Api => serde_json::from_str(&fixture("gemini/error_429.json")).unwrap(),
                Flavor::Vertex => json!({"error": {"code": 429,
                    "message": "Resource exhausted. Please try again later. Please refer to https://cloud.google.com/vertex-ai/generative-ai/docs/error-code-429 for more details.",
                    "status": "RESOURCE_EXHAUSTED",
                    "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": format!("{RETRY_SECS}s")}]}}),
            },
        ),
        Scenario::ServerError => Reply::json(
            500,
            &error(
                500,
                "INTERNAL",
                "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting",
            ),
        ),
    }
}

/// Where the image of the tool result went: in the user turn answering the call, after the
/// `functionResponse`, as an `inlineData` part.
pub fn image_sent(body: &Value) -> Result<(), String> {
    let contents = body["contents"].as_array().ok_or("no `contents`")?;
    let turn = contents
        .iter()
        .find(|c| {
            c["parts"]
                .as_array()
                .is_some_and(|p| p.iter().any(|p| p["functionResponse"]["name"] == "Bash"))
        })
        .ok_or("no turn holds a `functionResponse` for Bash")?;
    if turn["role"] != "user" {
        return Err(format!(
            "the function response is in a `{}` turn",
            turn["role"]
        ));
    }
    let parts = turn["parts"].as_array().unwrap();
    let response = parts
        .iter()
        .position(|p| p.get("functionResponse").is_some())
        .unwrap();
    let image = parts.iter().position(|p| {
        p["inlineData"] == json!({"mimeType": "image/png", "data": PNG})
            || p["functionResponse"]["parts"]
                .as_array()
                .is_some_and(|inner| {
                    inner
                        .iter()
                        .any(|q| q["inlineData"] == json!({"mimeType": "image/png", "data": PNG}))
                })
    });
    match image {
        Some(at) if at >= response => Ok(()),
        Some(_) => Err("the image goes before the function response".into()),
        None => Err(format!("no `inlineData` part with the image in {turn}")),
    }
}
