//! OpenAI Chat Completions, as OpenAI, Azure OpenAI and Groq speak it
//! (https://platform.openai.com/docs/api-reference/chat-streaming ; Azure's additions:
//! https://learn.microsoft.com/en-us/azure/ai-foundry/openai/concepts/content-filter ; Groq's:
//! https://console.groq.com/docs/openai and https://console.groq.com/docs/reasoning).

use bytes::Bytes;
use serde_json::{Value, json};

use super::{
    AFTER_THOUGHT, BASH_ARGS, IMAGE_ANSWER, PNG, READ_ARGS, REFUSAL_START, RETRY_SECS, Scenario,
    TEST_ARGS, TEXT, TEXT_PIECES, THOUGHT_PIECES, TOOL_USE_ID, fragments, stream_of,
};
use crate::support::mock::Reply;
use crate::support::sse::{azure, openai};

/// Whose Chat Completions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// api.openai.com: usage in a last `choices: []` chunk.
    OpenAi,
    /// An Azure OpenAI deployment: a first chunk of prompt filter results, per-choice
    /// filter results, a filter-only chunk after the finish.
    Azure,
    /// Groq: usage in `x_groq` of the finish chunk, parsed reasoning in `delta.reasoning`.
    Groq,
}

impl Flavor {
    fn model(self) -> &'static str {
        match self {
            Flavor::OpenAi | Flavor::Azure => "gpt-4o-2024-08-06",
            Flavor::Groq => "llama-3.3-70b-versatile",
        }
    }

    fn chunk(self, delta: Value, finish: Option<&str>) -> String {
        match self {
            Flavor::Azure => azure::chunk(delta, finish),
            Flavor::OpenAi | Flavor::Groq => {
                openai::frame(&openai::chunk(self.model(), delta, finish))
            }
        }
    }

    /// A stream of these deltas ending with `finish`, framed as this flavor frames it.
    fn stream(self, deltas: Vec<Value>, finish: &str) -> Reply {
        let mut frames = Vec::new();
        if self == Flavor::Azure {
            frames.push(azure::prompt_filter_chunk());
        }
        frames.push(self.chunk(json!({"role": "assistant", "content": ""}), None));
        frames.extend(deltas.into_iter().map(|d| self.chunk(d, None)));
        match self {
            Flavor::OpenAi => {
                frames.push(openai::finish(self.model(), finish));
                frames.push(openai::usage(self.model(), 20, 5, 0));
            }
            Flavor::Azure => {
                frames.push(azure::chunk(json!({}), Some(finish)));
                frames.push(azure::trailing_filter_chunk());
                frames.push(azure::usage(20, 5));
            }
            Flavor::Groq => {
                let mut last = openai::chunk(self.model(), json!({}), Some(finish));
                last["x_groq"] = json!({"id": "req_01jbd6g2qdfw2adyrt2az8hz4w", "usage": {
                    "queue_time": 0.02, "prompt_tokens": 20, "prompt_time": 0.003,
                    "completion_tokens": 5, "completion_time": 0.04, "total_tokens": 25, "total_time": 0.043}});
                frames.push(openai::frame(&last));
            }
        }
        frames.push(openai::DONE.to_owned());
        stream_of(
            "text/event-stream",
            frames.into_iter().map(Bytes::from).collect(),
        )
    }
}

/// The first fragment of tool call `index`, then the rest of its arguments.
fn tool_call(index: u32, id: &str, name: &str, args: &str) -> Vec<Value> {
    let mut deltas = vec![
        json!({"tool_calls": [{"index": index, "id": id, "type": "function",
        "function": {"name": name, "arguments": ""}}]}),
    ];
    deltas.extend(
        fragments(args)
            .into_iter()
            .map(|f| json!({"tool_calls": [{"index": index, "function": {"arguments": f}}]})),
    );
    deltas
}

fn texts(pieces: &[&str]) -> Vec<Value> {
    pieces.iter().map(|p| json!({"content": p})).collect()
}

/// What `flavor` answers to `scenario`. Thinking is Groq's `reasoning` field (also
/// OpenRouter's; DeepSeek's is `reasoning_content`): OpenAI and Azure send no reasoning text
/// in Chat Completions, so the matrix skips those cells.
pub fn answer(flavor: Flavor, scenario: Scenario) -> Reply {
    let model = flavor.model();
    match scenario {
        Scenario::Text => match flavor {
            Flavor::Azure => Reply::json(200, &azure::completion(TEXT, 20, 5)),
            _ => openai::reply(model, TEXT, 20, 5),
        },
        Scenario::Stream => flavor.stream(texts(&TEXT_PIECES), "stop"),
        Scenario::ToolCall => flavor.stream(
            tool_call(0, "call_q1w2e3r4t5y6", "Bash", BASH_ARGS),
            "tool_calls",
        ),
        Scenario::ParallelTools => {
            let mut deltas = tool_call(0, "call_read00000001", "Read", READ_ARGS);
            deltas.extend(tool_call(1, "call_bash00000002", "Bash", TEST_ARGS));
            flavor.stream(deltas, "tool_calls")
        }
        Scenario::ToolResultImage => flavor.stream(texts(&[IMAGE_ANSWER]), "stop"),
        Scenario::Thinking => {
            let mut deltas: Vec<Value> = THOUGHT_PIECES
                .iter()
                .map(|p| json!({"reasoning": p}))
                .collect();
            deltas.push(json!({"content": AFTER_THOUGHT}));
            flavor.stream(deltas, "stop")
        }
        // https://platform.openai.com/docs/api-reference/chat/object: `content_filter` when
        // content was omitted by a flag from the content filters.
        Scenario::Refusal => flavor.stream(texts(&[REFUSAL_START]), "content_filter"),
        Scenario::ContextOverflow => {
            let error = match flavor {
                // Groq's own wording (no numbers), with OpenAI's code.
                Flavor::Groq => json!({"error": {
                    "message": "Please reduce the length of the messages or completion.",
                    "type": "invalid_request_error", "param": "messages", "code": "context_length_exceeded"}}),
                _ => openai::error(
                    "This model's maximum context length is 128000 tokens. However, your messages resulted in 130532 tokens. Please reduce the length of the messages.",
                    "invalid_request_error",
                    Some("context_length_exceeded"),
                ),
            };
            Reply::json(400, &error)
        }
        Scenario::RateLimit => {
            let error = match flavor {
                Flavor::Azure => json!({"error": {"code": "429",
                    "message": "Requests to the ChatCompletions_Create Operation under Azure OpenAI API version 2024-10-21 have exceeded token rate limit of your current OpenAI S0 pricing tier. Please retry after 7 seconds. Please go here: https://aka.ms/oai/quotaincrease if you would like to further increase the default rate limit."}}),
                Flavor::Groq => openai::error(
                    "Rate limit reached for model `llama-3.3-70b-versatile` in organization `org_01hq` service tier `on_demand` on tokens per minute (TPM): Limit 6000, Used 5820, Requested 900. Please try again in 7s.",
                    "tokens",
                    Some("rate_limit_exceeded"),
                ),
                Flavor::OpenAi => {
                    serde_json::from_str(&super::fixture("openai/error_429.json")).unwrap()
                }
            };
            Reply::json(429, &error).header("retry-after", RETRY_SECS)
        }
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

/// Where the image of the tool result went: Chat Completions takes no image in a `tool`
/// message, so bgw answers the call in text and sends the image in a `user` message after it.
pub fn image_sent(body: &Value) -> Result<(), String> {
    let messages = body["messages"].as_array().ok_or("no `messages`")?;
    let tool = messages
        .iter()
        .position(|m| m["role"] == "tool" && m["tool_call_id"] == TOOL_USE_ID)
        .ok_or_else(|| format!("no `tool` message answers {TOOL_USE_ID}"))?;
    let url = format!("data:image/png;base64,{PNG}");
    let image = messages.iter().position(|m| {
        m["role"] == "user"
            && m["content"]
                .as_array()
                .is_some_and(|parts| parts.iter().any(|p| p["image_url"]["url"] == url))
    });
    match image {
        Some(at) if at > tool => Ok(()),
        Some(_) => Err("the image goes before the tool message".into()),
        None => Err("no user message carries the image as an `image_url` data URL".into()),
    }
}
