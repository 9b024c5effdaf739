//! One conformance matrix for every provider: the same scenarios (rows) run against each
//! provider's mock upstream (columns) through the real `bgw serve`, and one test prints the
//! table and fails on any ✗. A scenario a provider cannot take is listed in its entry with
//! why (`n/a`), so a gap shows as a cell, never as a missing test.
//!
//! A new provider is one more entry in [`providers`]; its mock answers come from the module
//! of its wire format under `tests/support/conformance/`. Each column runs its own mock and
//! gateways (`--max-attempts 1`, so an error is seen as the upstream gave it, not hidden by
//! a retry), all its cells at once.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;
// Loaded here only, not from `support/mod.rs`: the other test binaries need none of it.
#[path = "support/conformance/mod.rs"]
mod wire;

use serde_json::{Value, json};
use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;
use support::mock::Recorded;
use support::sse::{self, Event};
use support::{Bgw, Client, Mock, Reply};
use wire::{Scenario, anthropic, bedrock, chat, gemini, responses};

/// Where a provider's wire puts the image of a tool result.
enum Image {
    /// It carries it: this finds it in the body bgw sent upstream.
    Carried(fn(&Value) -> Result<(), String>),
    /// bgw refuses the request before sending it, with an error holding this text.
    Refused(&'static str),
}

/// The signature of a thinking block the client gets.
enum Signature {
    /// The upstream's own, passed through unchanged.
    Upstream(&'static str),
    /// bgw's, for reasoning it translated: `bgw1.PROVIDER.MODEL.…`.
    Bgw(&'static str),
}

/// What the client is told to wait after the upstream's 429.
enum Retry {
    /// This many seconds, in `retry-after`.
    After(&'static str),
    /// The upstream gives no hint, so bgw has none to pass on (why, for the table's notes).
    NoHint(&'static str),
}

/// One column: a provider, how to reach its mock, what it answers and what to expect.
struct Provider {
    /// The column's header.
    column: &'static str,
    /// What the column is, for the legend.
    name: &'static str,
    /// The model the client asks for.
    model: &'static str,
    /// The `bgw keys add` arguments of a key calling the mock at this URL (`dir` holds any
    /// file the key needs).
    key: fn(&str, &Path) -> Vec<String>,
    /// The header that signs a request in, and its value.
    auth: (&'static str, &'static str),
    /// The path (and query) of the upstream request, streamed or not.
    path: fn(bool) -> String,
    /// The mock's answer to each scenario.
    answer: fn(Scenario) -> Reply,
    image: Image,
    /// `None` exactly when thinking is `n/a`.
    signature: Option<Signature>,
    /// The upstream signs its tool calls (Gemini's `thoughtSignature`): bgw carries the
    /// signature in an empty thinking block before them (src/providers/gemini/mod.rs).
    signed_calls: bool,
    retry: Retry,
    /// The scenarios this provider cannot take, each with why.
    not_applicable: &'static [(Scenario, &'static str)],
}

impl Provider {
    fn not_applicable(&self, s: Scenario) -> Option<&'static str> {
        self.not_applicable
            .iter()
            .find(|(n, _)| *n == s)
            .map(|(_, why)| *why)
    }
}

fn args(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| (*s).to_owned()).collect()
}

const BEDROCK_NO_HINT: &str =
    "Bedrock's ThrottlingException carries no retry hint (no header, nothing in the body)";

/// The columns.
fn providers() -> Vec<Provider> {
    vec![
        Provider {
            column: "oai-chat",
            name: "OpenAI Chat Completions",
            model: "openai/gpt-4o",
            key: |mock, _| {
                args(&[
                    "openai",
                    "--value",
                    "sk-test-conformance-0000",
                    "--base-url",
                    &format!("{mock}/v1"),
                ])
            },
            auth: ("authorization", "Bearer sk-test-conformance-0000"),
            path: |_| "/v1/chat/completions".into(),
            answer: |s| chat::answer(chat::Flavor::OpenAi, s),
            image: Image::Carried(chat::image_sent),
            signature: None,
            signed_calls: false,
            retry: Retry::After(wire::RETRY_SECS),
            not_applicable: &[(
                Scenario::Thinking,
                "OpenAI's Chat Completions returns no reasoning text, only a count of reasoning tokens (its reasoning models go through the Responses API: see oai-resp)",
            )],
        },
        Provider {
            column: "oai-resp",
            name: "OpenAI Responses API",
            model: "openai/gpt-5",
            key: |mock, _| {
                args(&[
                    "openai",
                    "--value",
                    "sk-test-conformance-0000",
                    "--base-url",
                    &format!("{mock}/v1"),
                ])
            },
            auth: ("authorization", "Bearer sk-test-conformance-0000"),
            path: |_| "/v1/responses".into(),
            answer: responses::answer,
            image: Image::Carried(responses::image_sent),
            signature: Some(Signature::Bgw("bgw1.openai.gpt-5.")),
            signed_calls: false,
            retry: Retry::After(wire::RETRY_SECS),
            not_applicable: &[],
        },
        Provider {
            column: "az-chat",
            name: "Azure OpenAI deployment (Chat Completions)",
            model: "azure/gpt-4o",
            key: |mock, _| {
                args(&[
                    "azure",
                    "--value",
                    "azure-test-conformance",
                    "--base-url",
                    mock,
                ])
            },
            auth: ("api-key", "azure-test-conformance"),
            path: |_| "/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21".into(),
            answer: |s| chat::answer(chat::Flavor::Azure, s),
            image: Image::Carried(chat::image_sent),
            signature: None,
            signed_calls: false,
            retry: Retry::After(wire::RETRY_SECS),
            not_applicable: &[(
                Scenario::Thinking,
                "Azure OpenAI deployments are spoken to in Chat Completions, which returns no reasoning text",
            )],
        },
        Provider {
            column: "az-claude",
            name: "Claude on Azure AI Foundry",
            model: "azure/claude-sonnet-4-5",
            key: |mock, _| {
                args(&[
                    "azure",
                    "--value",
                    "azure-test-conformance",
                    "--base-url",
                    mock,
                ])
            },
            auth: ("api-key", "azure-test-conformance"),
            path: |_| "/anthropic/v1/messages".into(),
            answer: |s| anthropic::answer(anthropic::Flavor::Foundry, s),
            image: Image::Carried(anthropic::image_sent),
            signature: Some(Signature::Upstream(anthropic::SIGNATURE)),
            signed_calls: false,
            retry: Retry::After(wire::RETRY_SECS),
            not_applicable: &[],
        },
        Provider {
            column: "anthropic",
            name: "Anthropic Messages API",
            model: "anthropic/claude-sonnet-4-5",
            key: |mock, _| {
                args(&[
                    "anthropic",
                    "--value",
                    "sk-ant-test-conformance",
                    "--base-url",
                    mock,
                ])
            },
            auth: ("x-api-key", "sk-ant-test-conformance"),
            path: |_| "/v1/messages".into(),
            answer: |s| anthropic::answer(anthropic::Flavor::Anthropic, s),
            image: Image::Carried(anthropic::image_sent),
            signature: Some(Signature::Upstream(anthropic::SIGNATURE)),
            signed_calls: false,
            retry: Retry::After(wire::RETRY_SECS),
            not_applicable: &[],
        },
        Provider {
            column: "gemini",
            name: "Gemini API",
            model: "gemini/gemini-2.5-pro",
            key: |mock, _| {
                args(&[
                    "gemini",
                    "--value",
                    "AIzaSyTest-conformance-000000000000000",
                    "--base-url",
                    &format!("{mock}/v1beta"),
                ])
            },
            auth: ("x-goog-api-key", "AIzaSyTest-conformance-000000000000000"),
            path: |stream| {
                if stream {
                    "/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse".into()
                } else {
                    "/v1beta/models/gemini-2.5-pro:generateContent".into()
                }
            },
            answer: |s| gemini::answer(gemini::Flavor::Api, s),
            image: Image::Carried(gemini::image_sent),
            signature: Some(Signature::Bgw("bgw1.gemini.gemini-2.5-pro.")),
            signed_calls: true,
            // The fixture's RetryInfo asks for 27.5 s: rounded up.
            retry: Retry::After("28"),
            not_applicable: &[],
        },
        Provider {
            column: "vx-gemini",
            name: "Gemini on Vertex AI (express mode, API key)",
            model: "vertex/gemini-2.5-pro",
            key: |mock, _| {
                args(&[
                    "vertex",
                    "--value",
                    "AQ.Ab8RN6test-conformance-express",
                    "--base-url",
                    mock,
                ])
            },
            auth: ("x-goog-api-key", "AQ.Ab8RN6test-conformance-express"),
            path: |stream| {
                if stream {
                    "/v1/publishers/google/models/gemini-2.5-pro:streamGenerateContent?alt=sse"
                        .into()
                } else {
                    "/v1/publishers/google/models/gemini-2.5-pro:generateContent".into()
                }
            },
            answer: |s| gemini::answer(gemini::Flavor::Vertex, s),
            image: Image::Carried(gemini::image_sent),
            signature: Some(Signature::Bgw("bgw1.vertex.gemini-2.5-pro.")),
            signed_calls: true,
            retry: Retry::After(wire::RETRY_SECS),
            not_applicable: &[],
        },
        Provider {
            column: "vx-claude",
            name: "Claude on Vertex AI (service account, rawPredict)",
            model: "vertex/claude-sonnet-4-5",
            key: |mock, dir| {
                // The test key, its tokens fetched from the mock.
                let mut key: Value =
                    serde_json::from_str(&wire::fixture("vertex/service_account.json")).unwrap();
                key["token_uri"] = json!(format!("{mock}/token"));
                let file = dir.join("service_account.json");
                std::fs::write(&file, key.to_string()).unwrap();
                args(&[
                    "vertex",
                    "--name",
                    "vx",
                    "--file",
                    file.to_str().unwrap(),
                    "--project",
                    "p",
                    "--region",
                    "us-east5",
                    "--base-url",
                    mock,
                ])
            },
            auth: ("authorization", "Bearer ya29.test"),
            path: |stream| {
                format!(
                    "/v1/projects/p/locations/us-east5/publishers/anthropic/models/claude-sonnet-4-5@20250929:{}",
                    if stream {
                        "streamRawPredict"
                    } else {
                        "rawPredict"
                    }
                )
            },
            answer: |s| anthropic::answer(anthropic::Flavor::Vertex, s),
            image: Image::Carried(anthropic::image_sent),
            signature: Some(Signature::Upstream(anthropic::SIGNATURE)),
            signed_calls: false,
            retry: Retry::After(wire::RETRY_SECS),
            not_applicable: &[],
        },
        Provider {
            column: "bd-claude",
            name: "Claude on Bedrock (InvokeModel, API key)",
            model: "bedrock/claude-sonnet-4-5",
            key: |mock, _| {
                args(&[
                    "bedrock",
                    "--value",
                    "ABSKtest",
                    "--region",
                    "us-east-1",
                    "--base-url",
                    mock,
                ])
            },
            auth: ("authorization", "Bearer ABSKtest"),
            path: |stream| {
                format!(
                    "/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/{}",
                    if stream {
                        "invoke-with-response-stream"
                    } else {
                        "invoke"
                    }
                )
            },
            answer: bedrock::invoke,
            image: Image::Carried(bedrock::invoke_image_sent),
            signature: Some(Signature::Upstream(anthropic::SIGNATURE)),
            signed_calls: false,
            retry: Retry::NoHint(BEDROCK_NO_HINT),
            not_applicable: &[],
        },
        Provider {
            column: "bd-conv",
            name: "Bedrock Converse (Amazon Nova Pro, API key)",
            model: "bedrock/amazon.nova-pro-v1:0",
            key: |mock, _| {
                args(&[
                    "bedrock",
                    "--value",
                    "ABSKtest",
                    "--region",
                    "us-east-1",
                    "--base-url",
                    mock,
                ])
            },
            auth: ("authorization", "Bearer ABSKtest"),
            path: |stream| {
                format!(
                    "/model/amazon.nova-pro-v1%3A0/{}",
                    if stream {
                        "converse-stream"
                    } else {
                        "converse"
                    }
                )
            },
            answer: bedrock::converse,
            image: Image::Carried(bedrock::converse_image_sent),
            signature: Some(Signature::Bgw("bgw1.bedrock.amazon.nova-pro-v1:0.")),
            signed_calls: false,
            retry: Retry::NoHint(BEDROCK_NO_HINT),
            not_applicable: &[],
        },
        Provider {
            column: "groq",
            name: "Groq (an OpenAI-compatible vendor)",
            model: "groq/llama-3.3-70b-versatile",
            key: |mock, _| {
                args(&[
                    "groq",
                    "--value",
                    "gsk_test_conformance_0000",
                    "--base-url",
                    &format!("{mock}/openai/v1"),
                ])
            },
            auth: ("authorization", "Bearer gsk_test_conformance_0000"),
            path: |_| "/openai/v1/chat/completions".into(),
            answer: |s| chat::answer(chat::Flavor::Groq, s),
            // The catalog knows Llama 3.3 70B reads text only.
            image: Image::Refused("`groq/llama-3.3-70b-versatile` cannot read images"),
            signature: Some(Signature::Bgw("bgw1.groq.llama-3.3-70b-versatile.")),
            signed_calls: false,
            retry: Retry::After(wire::RETRY_SECS),
            not_applicable: &[],
        },
    ]
}

/// The request of a scenario, for `model`; its user text carries the scenario's marker.
fn request(s: Scenario, model: &str) -> Value {
    let stream = s != Scenario::Text;
    let mut body = support::messages_request(model, stream);
    body["messages"][0]["content"][0]["text"] = json!(format!("Say hello. {}", s.marker()));
    match s {
        Scenario::ToolCall | Scenario::ParallelTools => {
            body["tools"] = support::tool_request(model, stream)["tools"].clone();
            body["tools"].as_array_mut().unwrap().push(json!({
                "name": "Read", "description": "Read a file",
                "input_schema": {"type": "object", "properties": {"file_path": {"type": "string"}}, "required": ["file_path"]}
            }));
        }
        Scenario::ToolResultImage => {
            body["tools"] = support::tool_request(model, stream)["tools"].clone();
            body["messages"] = json!([
                {"role": "user", "content": [{"type": "text", "text": format!("Take a screenshot. {}", s.marker())}]},
                {"role": "assistant", "content": [{"type": "tool_use", "id": wire::TOOL_USE_ID, "name": "Bash",
                    "input": {"command": "screenshot out.png"}}]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": wire::TOOL_USE_ID, "content": [
                    {"type": "text", "text": "Saved out.png"},
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": wire::PNG}}
                ]}]}
            ]);
        }
        Scenario::Thinking => {
            body["max_tokens"] = json!(4096);
            body["thinking"] = json!({"type": "enabled", "budget_tokens": 2048});
        }
        _ => {}
    }
    body
}

/// What the mock answers: a token to Vertex's sign-in, else the scenario the request names.
fn respond(answer: fn(Scenario) -> Reply, req: &Recorded) -> Reply {
    if req.path == "/token" {
        return Reply::json(
            200,
            &json!({"access_token": "ya29.test", "expires_in": 3600, "token_type": "Bearer"}),
        );
    }
    match Scenario::marked(&req.body) {
        Some(s) => answer(s),
        None => Reply::json(
            500,
            &json!({"error": {"message": "mock: the request names no conformance scenario"}}),
        ),
    }
}

/// What the client got.
struct Got {
    status: u16,
    content_type: String,
    retry_after: Option<String>,
    /// A JSON answer.
    body: Option<Value>,
    /// A streamed answer.
    events: Vec<Event>,
}

impl Got {
    async fn read(resp: support::Response) -> Got {
        let status = resp.status;
        let content_type = resp.header("content-type").unwrap_or("").to_owned();
        let retry_after = resp.header("retry-after").map(str::to_owned);
        let (body, events) = if content_type.starts_with("text/event-stream") {
            (None, resp.sse().all().await)
        } else {
            (Some(resp.json().await), Vec::new())
        };
        Got {
            status,
            content_type,
            retry_after,
            body,
            events,
        }
    }
}

macro_rules! ensure {
    ($cond:expr, $($why:tt)+) => {
        if !$cond {
            return Err(format!($($why)+));
        }
    };
}

/// A streamed answer, put together as a client does.
struct Streamed {
    content: Vec<Value>,
    stop_reason: Value,
    output_tokens: Option<u64>,
}

/// Puts a stream together, checking Anthropic's event grammar on the way: `message_start`
/// first, blocks numbered from 0 one at a time (start, deltas, stop), one `message_delta`
/// after the last block, `message_stop` last, no `error`.
fn assemble(events: &[Event]) -> Result<Streamed, String> {
    let events = sse::without_pings(events);
    let names = sse::names(&events);
    if let Some(e) = events.iter().find(|e| e.event == "error") {
        return Err(format!("error event: {}", e.data));
    }
    ensure!(
        names.first() == Some(&"message_start") && names.last() == Some(&"message_stop"),
        "the stream is not message_start … message_stop: {names:?}"
    );
    let start: Value = serde_json::from_str(&events[0].data).map_err(|e| e.to_string())?;
    ensure!(
        start["message"]["role"] == "assistant" && start["message"]["content"] == json!([]),
        "message_start: {start}"
    );
    let mut content: Vec<Value> = Vec::new();
    let mut open = false;
    let mut input = String::new();
    let mut delta: Option<Value> = None;
    for e in &events[1..events.len() - 1] {
        let v: Value = serde_json::from_str(&e.data)
            .map_err(|err| format!("`{}` is not JSON ({err}): {}", e.event, e.data))?;
        ensure!(
            delta.is_none(),
            "`{}` after message_delta: {names:?}",
            e.event
        );
        let index = v["index"].as_u64().map(|i| i as usize);
        match e.event.as_str() {
            "content_block_start" => {
                ensure!(!open, "a block started while another was open: {v}");
                ensure!(index == Some(content.len()), "block out of order: {v}");
                content.push(v["content_block"].clone());
                open = true;
                input.clear();
            }
            "content_block_delta" => {
                ensure!(open && index == Some(content.len() - 1), "stray delta: {v}");
                let block = content.last_mut().unwrap();
                let d = &v["delta"];
                let append = |block: &mut Value, field: &str, piece: &Value| {
                    let was = block[field].as_str().unwrap_or("").to_owned();
                    block[field] = json!(was + piece.as_str().unwrap_or(""));
                };
                match d["type"].as_str().unwrap_or("") {
                    "text_delta" if block["type"] == "text" => append(block, "text", &d["text"]),
                    "thinking_delta" if block["type"] == "thinking" => {
                        append(block, "thinking", &d["thinking"])
                    }
                    "signature_delta" if block["type"] == "thinking" => {
                        append(block, "signature", &d["signature"])
                    }
                    "input_json_delta" if block["type"] == "tool_use" => {
                        input.push_str(d["partial_json"].as_str().unwrap_or(""))
                    }
                    _ => return Err(format!("a delta its block cannot take: {v}")),
                }
            }
            "content_block_stop" => {
                ensure!(open && index == Some(content.len() - 1), "stray stop: {v}");
                open = false;
                let block = content.last_mut().unwrap();
                if block["type"] == "tool_use" {
                    ensure!(
                        block["input"] == json!({}),
                        "a tool_use starts with input {{}}: {block}"
                    );
                    block["input"] = if input.is_empty() {
                        json!({})
                    } else {
                        serde_json::from_str(&input)
                            .map_err(|e| format!("tool input {input:?} is not JSON: {e}"))?
                    };
                }
            }
            "message_delta" => {
                ensure!(!open, "message_delta inside a block");
                delta = Some(v);
            }
            other => return Err(format!("unexpected event `{other}`")),
        }
    }
    let delta = delta.ok_or_else(|| format!("no message_delta: {names:?}"))?;
    Ok(Streamed {
        content,
        stop_reason: delta["delta"]["stop_reason"].clone(),
        output_tokens: delta["usage"]["output_tokens"].as_u64(),
    })
}

/// A 200 stream, put together.
fn streamed(got: &Got) -> Result<Streamed, String> {
    ensure!(
        got.status == 200 && got.content_type.starts_with("text/event-stream"),
        "HTTP {} `{}`: {}",
        got.status,
        got.content_type,
        got.body.as_ref().map(Value::to_string).unwrap_or_default()
    );
    let s = assemble(&got.events)?;
    ensure!(
        s.output_tokens.is_some(),
        "message_delta has no usage.output_tokens"
    );
    Ok(s)
}

/// An Anthropic error answer with a status `status_ok` accepts and one of `kinds`; its message.
fn error_answer(got: &Got, status_ok: fn(u16) -> bool, kinds: &[&str]) -> Result<String, String> {
    let body = got
        .body
        .as_ref()
        .ok_or_else(|| format!("HTTP {} and a stream, not an error", got.status))?;
    ensure!(
        status_ok(got.status) && got.content_type == "application/json",
        "HTTP {} `{}`: {body}",
        got.status,
        got.content_type
    );
    ensure!(
        body["type"] == "error" && kinds.iter().any(|k| body["error"]["type"] == *k),
        "not an error of type {kinds:?}: {body}"
    );
    body["error"]["message"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("an error without a message: {body}"))
}

fn tool_use(block: &Value, name: &str, args: &str) -> Result<(), String> {
    ensure!(
        block["type"] == "tool_use"
            && block["name"] == name
            && block["input"] == wire::object(args),
        "expected tool_use {name} {args}, got {block}"
    );
    let id = block["id"].as_str().unwrap_or("");
    ensure!(
        !id.is_empty()
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'),
        "a tool_use id Claude Code refuses: {id:?}"
    );
    Ok(())
}

/// The tool calls of an answer; where the upstream signs its calls, after the empty thinking
/// block that carries the signature back.
fn calls<'a>(p: &Provider, s: &'a Streamed) -> Result<&'a [Value], String> {
    if !p.signed_calls {
        return Ok(&s.content);
    }
    let Some(Signature::Bgw(prefix)) = p.signature else {
        return Err("signed calls need a signature of bgw's".into());
    };
    let carrier = s.content.first().ok_or("no blocks")?;
    ensure!(
        carrier["type"] == "thinking"
            && carrier["thinking"] == ""
            && carrier["signature"]
                .as_str()
                .is_some_and(|sig| sig.starts_with(prefix)),
        "the calls' signature is not carried before them: {:?}",
        s.content
    );
    Ok(&s.content[1..])
}

fn text_only(s: &Streamed, text: &str) -> Result<(), String> {
    ensure!(
        s.content == [json!({"type": "text", "text": text})],
        "expected one text block {text:?}, got {:?}",
        s.content
    );
    ensure!(
        s.stop_reason == "end_turn",
        "stop_reason {}, not end_turn",
        s.stop_reason
    );
    Ok(())
}

/// One cell's verdict: `Ok(note)` passes.
type Verdict = Result<Option<String>, String>;

/// Checks what the client got (and what went upstream) against the scenario.
fn check(s: Scenario, p: &Provider, got: &Got, sent: &[Recorded]) -> Verdict {
    let stream = s != Scenario::Text;
    if let (Scenario::ToolResultImage, Image::Refused(needle)) = (s, &p.image) {
        let message = error_answer(got, |st| st == 400, &["invalid_request_error"])?;
        ensure!(message.contains(needle), "{message:?} lacks {needle:?}");
        ensure!(sent.is_empty(), "the request went upstream anyway");
        return Ok(Some(format!("refused before sending: {message}")));
    }
    ensure!(
        sent.len() == 1,
        "{} upstream requests, not 1: {:?}",
        sent.len(),
        sent.iter().map(|r| r.path.as_str()).collect::<Vec<_>>()
    );
    let up = &sent[0];
    let path = (p.path)(stream);
    ensure!(up.path == path, "upstream path {}, not {path}", up.path);
    let (header, value) = p.auth;
    ensure!(
        up.header(header) == Some(value),
        "upstream `{header}` is {:?}, not {value:?}",
        up.header(header)
    );
    match s {
        Scenario::Text => {
            let body = got.body.as_ref().ok_or("a stream, not JSON")?;
            ensure!(
                got.status == 200 && got.content_type == "application/json",
                "HTTP {} `{}`: {body}",
                got.status,
                got.content_type
            );
            ensure!(
                body["type"] == "message"
                    && body["role"] == "assistant"
                    && body["id"].as_str().is_some_and(|id| id.starts_with("msg_")),
                "not an Anthropic message: {body}"
            );
            ensure!(
                body["content"] == json!([{"type": "text", "text": wire::TEXT}])
                    && body["stop_reason"] == "end_turn",
                "content or stop_reason: {body}"
            );
            ensure!(
                body["usage"]["input_tokens"].is_u64() && body["usage"]["output_tokens"].is_u64(),
                "usage: {body}"
            );
        }
        Scenario::Stream => text_only(&streamed(got)?, wire::TEXT)?,
        Scenario::ToolCall => {
            let s = streamed(got)?;
            let calls = calls(p, &s)?;
            ensure!(calls.len() == 1, "blocks: {:?}", s.content);
            tool_use(&calls[0], "Bash", wire::BASH_ARGS)?;
            ensure!(s.stop_reason == "tool_use", "stop_reason {}", s.stop_reason);
        }
        Scenario::ParallelTools => {
            let s = streamed(got)?;
            let calls = calls(p, &s)?;
            ensure!(calls.len() == 2, "blocks: {:?}", s.content);
            tool_use(&calls[0], "Read", wire::READ_ARGS)?;
            tool_use(&calls[1], "Bash", wire::TEST_ARGS)?;
            ensure!(
                calls[0]["id"] != calls[1]["id"],
                "both calls have the id {}",
                calls[0]["id"]
            );
            ensure!(s.stop_reason == "tool_use", "stop_reason {}", s.stop_reason);
        }
        Scenario::ToolResultImage => {
            text_only(&streamed(got)?, wire::IMAGE_ANSWER)?;
            let Image::Carried(found) = p.image else {
                unreachable!("refusals are checked above")
            };
            found(&up.json()).map_err(|why| format!("upstream request: {why}"))?;
        }
        Scenario::Thinking => {
            let s = streamed(got)?;
            ensure!(s.content.len() == 2, "blocks: {:?}", s.content);
            let (thinking, text) = (&s.content[0], &s.content[1]);
            ensure!(
                thinking["type"] == "thinking" && thinking["thinking"] == wire::thought(),
                "not the thinking block: {thinking}"
            );
            let signature = thinking["signature"].as_str().unwrap_or("");
            match &p.signature {
                Some(Signature::Upstream(sig)) => ensure!(
                    signature == *sig,
                    "the upstream's signature was not passed through: {signature:?}"
                ),
                Some(Signature::Bgw(prefix)) => ensure!(
                    signature.starts_with(prefix) && signature.len() > prefix.len(),
                    "signature {signature:?} is not bgw's `{prefix}…`"
                ),
                None => return Err("no signature expected for a thinking cell".into()),
            }
            ensure!(
                *text == json!({"type": "text", "text": wire::AFTER_THOUGHT}),
                "not the answer after the thinking: {text}"
            );
            ensure!(s.stop_reason == "end_turn", "stop_reason {}", s.stop_reason);
        }
        Scenario::Refusal => {
            let s = streamed(got)?;
            ensure!(
                s.stop_reason == "refusal",
                "stop_reason {}, not refusal ({:?})",
                s.stop_reason,
                s.content
            );
        }
        Scenario::ContextOverflow => {
            let message = error_answer(got, |st| st == 400, &["invalid_request_error"])?;
            ensure!(
                message.starts_with("prompt is too long"),
                "Claude Code compacts on `prompt is too long…`, not {message:?}"
            );
        }
        Scenario::RateLimit => {
            error_answer(got, |st| st == 429, &["rate_limit_error"])?;
            match p.retry {
                Retry::After(secs) => ensure!(
                    got.retry_after.as_deref() == Some(secs),
                    "retry-after {:?}, not {secs}",
                    got.retry_after
                ),
                Retry::NoHint(why) => {
                    if let Some(r) = &got.retry_after {
                        ensure!(
                            r.parse::<u64>().is_ok_and(|n| n > 0),
                            "retry-after {r:?} is not whole seconds"
                        );
                    }
                    return Ok(Some(format!("no retry-after: {why}")));
                }
            }
        }
        Scenario::ServerError => {
            let message = error_answer(
                got,
                |st| (500..=599).contains(&st),
                &["api_error", "overloaded_error"],
            )?;
            ensure!(
                !message.is_empty(),
                "the error says nothing ({} {})",
                got.status,
                message
            );
        }
    }
    Ok(None)
}

/// A cell of the table.
enum Cell {
    Pass(Option<String>),
    Fail(String),
    NotApplicable(&'static str),
}

/// Runs one scenario against one provider's gateway.
async fn run_cell(p: Arc<Provider>, s: Scenario, client: Client, mock: Arc<Mock>) -> Verdict {
    let resp = client.messages(&request(s, p.model)).await;
    let got = Got::read(resp).await;
    let sent: Vec<Recorded> = mock
        .requests()
        .into_iter()
        .filter(|r| Scenario::marked(&r.body) == Some(s))
        .collect();
    check(s, &p, &got, &sent)
}

/// The message of a task that panicked.
fn panic_message(e: tokio::task::JoinError) -> String {
    match e.try_into_panic() {
        Ok(p) => p
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_else(|| "panicked".into()),
        Err(e) => e.to_string(),
    }
}

/// Runs every scenario against one provider: its mock, a gateway for the rate limit (a 429
/// cools the key down) and one for the rest, all cells at once.
async fn run_column(p: Arc<Provider>) -> Vec<Cell> {
    let answer = p.answer;
    let mock = Arc::new(Mock::answering(move |req| respond(answer, req)).await);
    let files = tempfile::tempdir().unwrap();
    let key = (p.key)(&mock.url(), files.path());
    let (main, limited) = tokio::task::spawn_blocking(move || {
        let key: Vec<&str> = key.iter().map(String::as_str).collect();
        let once = ["--max-attempts", "1"];
        let main = Bgw::setup().key(&key).serve_args(&once).start();
        let limited = Bgw::serve_at(main.data_dir(), &args(&once));
        (main, limited)
    })
    .await
    .unwrap();
    let mut tasks = Vec::new();
    for s in Scenario::ALL {
        if let Some(why) = p.not_applicable(s) {
            tasks.push(Err(why));
            continue;
        }
        let gateway = if s == Scenario::RateLimit {
            &limited
        } else {
            &main
        };
        let task = tokio::spawn(run_cell(
            Arc::clone(&p),
            s,
            gateway.client(),
            Arc::clone(&mock),
        ));
        tasks.push(Ok(task));
    }
    let mut cells = Vec::new();
    for t in tasks {
        cells.push(match t {
            Err(why) => Cell::NotApplicable(why),
            Ok(task) => match task.await {
                Ok(Ok(note)) => Cell::Pass(note),
                Ok(Err(why)) => Cell::Fail(why),
                Err(e) => Cell::Fail(panic_message(e)),
            },
        });
    }
    // Gateways stop (and their data dirs go) off the runtime's threads.
    tokio::task::spawn_blocking(move || drop((main, limited, files)))
        .await
        .unwrap();
    cells
}

/// The table: scenarios down, providers across; then every note, n/a and failure in full.
fn render(providers: &[Arc<Provider>], columns: &[Vec<Cell>]) -> String {
    let title_width = Scenario::ALL
        .iter()
        .map(|s| s.title().chars().count())
        .max()
        .unwrap();
    let widths: Vec<usize> = providers.iter().map(|p| p.column.len().max(3)).collect();
    let mut out = String::new();
    let _ = write!(out, "{:title_width$}", "");
    for (p, w) in providers.iter().zip(&widths) {
        let _ = write!(out, " | {:w$}", p.column);
    }
    out.push('\n');
    let _ = write!(out, "{}", "-".repeat(title_width));
    for w in &widths {
        let _ = write!(out, "-+-{}", "-".repeat(*w));
    }
    out.push('\n');
    let mut notes = Vec::new();
    for (row, s) in Scenario::ALL.iter().enumerate() {
        let _ = write!(out, "{:title_width$}", s.title());
        for ((p, w), column) in providers.iter().zip(&widths).zip(columns) {
            let (mark, note) = match &column[row] {
                Cell::Pass(None) => ("✓", None),
                Cell::Pass(Some(n)) => ("✓*", Some(format!("✓* {n}"))),
                Cell::NotApplicable(why) => ("n/a", Some(format!("n/a {why}"))),
                Cell::Fail(why) => ("✗", Some(format!("✗ {why}"))),
            };
            let pad = w.saturating_sub(mark.chars().count());
            let _ = write!(out, " | {mark}{}", " ".repeat(pad));
            if let Some(n) = note {
                notes.push(format!("  {} × {}: {n}", p.column, s.title()));
            }
        }
        out.push('\n');
    }
    out.push_str("\ncolumns:\n");
    for p in providers {
        let _ = writeln!(out, "  {:10} {} (`{}`)", p.column, p.name, p.model);
    }
    if !notes.is_empty() {
        out.push_str("\nnotes:\n");
        for n in notes {
            out.push_str(&n);
            out.push('\n');
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_provider_answers_every_scenario_as_anthropic_would() {
    let providers: Vec<Arc<Provider>> = providers().into_iter().map(Arc::new).collect();
    for p in &providers {
        // The thinking cell's expectation and its n/a go together.
        assert_eq!(
            p.signature.is_none(),
            p.not_applicable(Scenario::Thinking).is_some(),
            "{}: a signature to expect exactly when thinking applies",
            p.column
        );
    }
    let tasks: Vec<_> = providers
        .iter()
        .map(|p| tokio::spawn(run_column(Arc::clone(p))))
        .collect();
    let mut columns = Vec::new();
    for t in tasks {
        columns.push(match t.await {
            Ok(cells) => cells,
            Err(e) => {
                let why = format!("the column did not run: {}", panic_message(e));
                Scenario::ALL
                    .iter()
                    .map(|_| Cell::Fail(why.clone()))
                    .collect()
            }
        });
    }
    let table = render(&providers, &columns);
    println!(
        "\nconformance matrix (✓ pass, ✓* pass with a note, n/a not applicable, ✗ fail)\n\n{table}"
    );
    let failed = columns
        .iter()
        .flatten()
        .filter(|c| matches!(c, Cell::Fail(_)))
        .count();
    assert_eq!(failed, 0, "{failed} cells failed:\n{table}");
}
