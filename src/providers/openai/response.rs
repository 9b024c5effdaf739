//! A whole (non-streamed) Chat Completions response → Anthropic [`MessageResponse`].

use serde::Deserialize;
use serde::de::{Deserializer, IgnoredAny, SeqAccess, Visitor};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::fmt;

use super::error::WireError;
use crate::messages::event::{new_message_id, new_tool_id};
use crate::messages::response::{ContentOut, empty_object};
use crate::messages::signature::Signer;
use crate::messages::{ApiError, ErrorKind, MessageResponse, StopReason, Usage, tool_id};

/// OpenAI `usage`, with the cache fields of OpenAI, xAI and DeepSeek.
#[derive(Debug, Default, Clone, Copy, Deserialize)]
pub(super) struct WireUsage {
    #[serde(default)]
    pub prompt_tokens: u64,
    #[serde(default)]
    pub completion_tokens: u64,
    #[serde(default)]
    pub prompt_tokens_details: Option<PromptDetails>,
    /// DeepSeek's name for cached prompt tokens.
    #[serde(default)]
    pub prompt_cache_hit_tokens: Option<u64>,
}

#[derive(Debug, Default, Clone, Copy, Deserialize)]
pub(super) struct PromptDetails {
    #[serde(default)]
    pub cached_tokens: Option<u64>,
}

impl WireUsage {
    /// Anthropic counts: `prompt_tokens` includes cached tokens, Anthropic's `input_tokens` does not.
    pub fn to_anthropic(self) -> Usage {
        let cached = self
            .prompt_tokens_details
            .and_then(|d| d.cached_tokens)
            .or(self.prompt_cache_hit_tokens)
            .unwrap_or(0)
            .min(self.prompt_tokens);
        Usage {
            cache_creation: None,
            input_tokens: self.prompt_tokens - cached,
            output_tokens: self.completion_tokens,
            cache_creation_input_tokens: 0,
            cache_read_input_tokens: cached,
        }
    }
}

/// Maps `finish_reason`; `saw_tool_call` turns a vendor's `stop` into `tool_use`.
///
/// `length` and `content_filter` win over tool calls: they mean the calls may be cut short,
/// and Claude Code must not run a half-written call as if it were complete.
pub(super) fn stop_reason(finish_reason: Option<&str>, saw_tool_call: bool) -> StopReason {
    match finish_reason {
        Some("length") => StopReason::MaxTokens,
        Some("content_filter") => StopReason::Refusal,
        _ if saw_tool_call => StopReason::ToolUse,
        Some("tool_calls" | "function_call") => StopReason::ToolUse,
        _ => StopReason::EndTurn,
    }
}

#[derive(Deserialize)]
struct ChatResponse<'a> {
    #[serde(default, borrow)]
    choices: FirstChoice<Choice<'a>>,
    #[serde(default)]
    usage: Option<WireUsage>,
    #[serde(default, borrow)]
    error: Option<WireError<'a>>,
    /// Azure's prompt filter verdicts; present with empty `choices` when the prompt was filtered.
    #[serde(default, borrow)]
    prompt_filter_results: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct Choice<'a> {
    #[serde(default, borrow)]
    message: Option<ResponseMessage<'a>>,
    #[serde(default, borrow)]
    finish_reason: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct ResponseMessage<'a> {
    #[serde(default, borrow)]
    content: Option<&'a RawValue>,
    #[serde(default, borrow)]
    reasoning_content: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    reasoning: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    refusal: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    tool_calls: Option<Vec<ToolCall<'a>>>,
}

#[derive(Deserialize)]
struct ToolCall<'a> {
    #[serde(default, borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    function: FunctionCall<'a>,
}

#[derive(Deserialize)]
struct FunctionCall<'a> {
    #[serde(borrow)]
    name: Cow<'a, str>,
    #[serde(default, borrow)]
    arguments: Option<Cow<'a, str>>,
}

/// A content part (Mistral and some vLLM models answer with a list).
#[derive(Deserialize)]
struct ContentPart<'a> {
    #[serde(rename = "type", default, borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    text: Option<Cow<'a, str>>,
}

/// The first element of an array (only `n = 1` is ever requested); `null` or `[]` is `None`.
pub(super) struct FirstChoice<T>(pub Option<T>);

impl<T> Default for FirstChoice<T> {
    fn default() -> Self {
        FirstChoice(None)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for FirstChoice<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = FirstChoice<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an array of choices")
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(FirstChoice(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let first = seq.next_element()?;
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(FirstChoice(first))
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

/// Decodes a Chat Completions body; `model` in the result is `requested_model`. Thinking
/// blocks are left unsigned (see [`decode_response_with`]).
pub fn decode_response(body: &[u8], requested_model: &str) -> Result<MessageResponse, ApiError> {
    decode_response_with(body, requested_model, None)
}

/// Decodes a Chat Completions body; `model` in the result is `requested_model`, and `signer`
/// signs the thinking block made of the upstream's reasoning.
pub fn decode_response_with(
    body: &[u8],
    requested_model: &str,
    signer: Option<&Signer>,
) -> Result<MessageResponse, ApiError> {
    let parsed: ChatResponse<'_> = serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            ErrorKind::Api,
            format!(
                "{requested_model}: the upstream answered with a body that is not a chat completion ({e}): {}",
                super::super::body_excerpt(body)
            ),
        )
    })?;
    if let Some(err) = &parsed.error {
        return Err(err.to_api_error(requested_model));
    }
    let usage = parsed.usage.unwrap_or_default().to_anthropic();
    let Some(choice) = parsed.choices.0 else {
        if parsed.prompt_filter_results.is_some() {
            // Azure filtered the answer away and said so only in filter results.
            return Ok(message(
                requested_model,
                Vec::new(),
                StopReason::Refusal,
                usage,
            ));
        }
        return Err(ApiError::new(
            ErrorKind::Api,
            format!("{requested_model}: the upstream response has no choices"),
        ));
    };
    let mut content = Vec::new();
    let mut saw_tool_call = false;
    if let Some(msg) = choice.message {
        let thinking = msg
            .reasoning_content
            .or(msg.reasoning)
            .filter(|t| !t.is_empty());
        if let Some(thinking) = thinking {
            content.push(ContentOut::Thinking {
                signature: signer.map(|s| s.sign(&thinking)).unwrap_or_default(),
                thinking: thinking.into_owned(),
            });
        }
        let text = msg.content.map(content_text).unwrap_or_default();
        let text = if text.is_empty() {
            msg.refusal.map(Cow::into_owned).unwrap_or_default()
        } else {
            text
        };
        if !text.is_empty() {
            content.push(ContentOut::Text { text });
        }
        for call in msg.tool_calls.into_iter().flatten() {
            saw_tool_call = true;
            content.push(ContentOut::ToolUse {
                id: call
                    .id
                    .filter(|id| !id.is_empty())
                    .map_or_else(new_tool_id, |id| tool_id::for_anthropic(&id).into_owned()),
                name: call.function.name.into_owned(),
                input: tool_input(call.function.arguments.as_deref().unwrap_or("")),
            });
        }
    }
    let stop = stop_reason(choice.finish_reason.as_deref(), saw_tool_call);
    Ok(message(requested_model, content, stop, usage))
}

fn message(
    model: &str,
    content: Vec<ContentOut>,
    stop: StopReason,
    usage: Usage,
) -> MessageResponse {
    MessageResponse {
        id: new_message_id(),
        kind: "message",
        role: "assistant",
        model: model.to_owned(),
        content,
        stop_reason: Some(stop),
        stop_sequence: None,
        usage,
    }
}

/// `content` as text: a string, or the text parts of a list (thinking parts are not answer text).
fn content_text(raw: &RawValue) -> String {
    if let Ok(s) = serde_json::from_str::<Cow<'_, str>>(raw.get()) {
        return s.into_owned();
    }
    let Ok(parts) = serde_json::from_str::<Vec<ContentPart<'_>>>(raw.get()) else {
        return String::new();
    };
    parts
        .into_iter()
        .filter(|p| matches!(p.kind.as_deref(), None | Some("text")))
        .filter_map(|p| p.text)
        .collect()
}

/// The tool input object from an `arguments` string. Empty or invalid JSON gives `{}`; a
/// string holding an object (double-encoded by some vendors) is unwrapped.
pub(super) fn tool_input(arguments: &str) -> Box<RawValue> {
    let trimmed = arguments.trim();
    if trimmed.starts_with('{') {
        if let Ok(raw) = serde_json::from_str::<&RawValue>(trimmed) {
            return raw.to_owned();
        }
    } else if trimmed.starts_with('"') {
        if let Ok(inner) = serde_json::from_str::<String>(trimmed) {
            if inner.trim_start().starts_with('{') {
                if let Ok(raw) = RawValue::from_string(inner) {
                    return raw;
                }
            }
        }
    }
    empty_object()
}

#[cfg(test)]
mod tests {
    //! Shapes from https://platform.openai.com/docs/api-reference/chat/object ,
    //! https://api-docs.deepseek.com/guides/thinking_mode ,
    //! https://learn.microsoft.com/en-us/azure/ai-foundry/openai/concepts/content-filter .
    use super::*;
    use serde_json::json;

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!(
            "{}/tests/fixtures/openai/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn decode_json(body: &[u8]) -> serde_json::Value {
        let msg = decode_response(body, "openai/gpt-5").unwrap();
        assert!(msg.id.starts_with("msg_"));
        let mut v: serde_json::Value = serde_json::from_slice(&msg.to_json()).unwrap();
        v["id"] = json!("msg_X");
        v
    }

    #[test]
    fn tool_calls_become_tool_use_blocks_after_the_text() {
        assert_eq!(
            decode_json(&fixture("response_tool_calls.json")),
            json!({
                "id":"msg_X","type":"message","role":"assistant","model":"openai/gpt-5",
                "content":[
                    {"type":"text","text":"Let me look at both files."},
                    {"type":"tool_use","id":"call_DdmO9pD3xa9XTPNJ32zg2hcA","name":"Read","input":{"file_path":"/src/main.rs"}},
                    {"type":"tool_use","id":"call_ABaYnv5b1DzWEA3dQ1nn2wZ2","name":"Read","input":{"file_path":"/src/lib.rs"}}
                ],
                "stop_reason":"tool_use","stop_sequence":null,
                "usage":{"input_tokens":1036,"output_tokens":57,"cache_creation_input_tokens":0,"cache_read_input_tokens":1024}
            })
        );
    }

    #[test]
    fn plain_text_answer_ends_the_turn() {
        let body = br#"{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-4.1","choices":[{"index":0,"message":{"role":"assistant","content":"Hello!","refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":2,"total_tokens":11}}"#;
        let v = decode_json(body);
        assert_eq!(v["content"], json!([{"type":"text","text":"Hello!"}]));
        assert_eq!(v["stop_reason"], "end_turn");
        assert_eq!(v["usage"]["input_tokens"], 9);
        assert_eq!(v["usage"]["cache_read_input_tokens"], 0);
    }

    #[test]
    fn finish_reasons_map_to_stop_reasons() {
        assert_eq!(stop_reason(Some("stop"), false), StopReason::EndTurn);
        assert_eq!(stop_reason(Some("length"), false), StopReason::MaxTokens);
        assert_eq!(stop_reason(Some("tool_calls"), false), StopReason::ToolUse);
        assert_eq!(
            stop_reason(Some("function_call"), false),
            StopReason::ToolUse
        );
        assert_eq!(
            stop_reason(Some("content_filter"), false),
            StopReason::Refusal
        );
        assert_eq!(stop_reason(None, false), StopReason::EndTurn);
        // Vendors that say `stop` while calling tools (OpenRouter, Ollama).
        assert_eq!(stop_reason(Some("stop"), true), StopReason::ToolUse);
        assert_eq!(stop_reason(Some("length"), true), StopReason::MaxTokens);
    }

    #[test]
    fn deepseek_reasoning_becomes_a_leading_thinking_block_with_empty_signature() {
        let v = decode_json(&fixture("response_reasoning.json"));
        assert_eq!(
            v["content"],
            json!([
                {"type":"thinking","thinking":"9.11 has 11 hundredths, 9.8 has 80 hundredths.","signature":""},
                {"type":"text","text":"9.8 is greater."}
            ])
        );
        // DeepSeek reports cache hits in its own field.
        assert_eq!(v["usage"]["cache_read_input_tokens"], 64);
        assert_eq!(v["usage"]["input_tokens"], 36);
    }

    #[test]
    fn deepseek_reasoning_gets_a_bgw_signature_when_signed() {
        let key = std::sync::Arc::new(crate::messages::signature::ThinkingKey::from_bytes(
            &[4; 32],
        ));
        let signer = key.signer("deepseek", "deepseek-v4-pro");
        let msg = decode_response_with(
            &fixture("response_reasoning.json"),
            "deepseek/deepseek-v4-pro",
            Some(&signer),
        )
        .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&msg.to_json()).unwrap();
        let thinking = v["content"][0]["thinking"].as_str().unwrap();
        let signature = v["content"][0]["signature"].as_str().unwrap();
        assert_eq!(thinking, "9.11 has 11 hundredths, 9.8 has 80 hundredths.");
        assert!(signer.wrote(signature, thinking), "{signature}");
        assert!(!signer.wrote(signature, "9.8 is greater."));
    }

    #[test]
    fn tool_call_ids_outside_anthropics_pattern_are_escaped() {
        // Kimi K2's `functions.NAME:INDEX` ids
        // (https://github.com/MoonshotAI/Kimi-K2/blob/main/docs/tool_call_guidance.md).
        let body = br#"{"choices":[{"message":{"role":"assistant","content":"","tool_calls":[{"id":"functions.Bash:0","type":"function","function":{"name":"Bash","arguments":"{\"command\":\"ls\"}"}}]},"finish_reason":"tool_calls"}]}"#;
        let v = decode_json(body);
        assert_eq!(v["content"][0]["id"], "bgwx_functions_2EBash_3A0");
        assert_eq!(v["content"][0]["input"], json!({"command":"ls"}));
    }

    #[test]
    fn openrouter_reasoning_field_is_read_too() {
        let body = br#"{"choices":[{"message":{"role":"assistant","content":"ok","reasoning":"hmm"},"finish_reason":"stop"}]}"#;
        assert_eq!(
            decode_json(body)["content"][0],
            json!({"type":"thinking","thinking":"hmm","signature":""})
        );
    }

    #[test]
    fn bad_or_empty_arguments_become_an_empty_object() {
        assert_eq!(tool_input("").get(), "{}");
        assert_eq!(tool_input("{\"a\":").get(), "{}");
        assert_eq!(tool_input("[1]").get(), "{}");
        assert_eq!(tool_input(" {\"a\":1} ").get(), "{\"a\":1}");
        assert_eq!(tool_input("\"{\\\"a\\\":1}\"").get(), "{\"a\":1}");
    }

    #[test]
    fn missing_tool_ids_are_invented_and_stop_becomes_tool_use() {
        let body = br#"{"choices":[{"message":{"role":"assistant","content":null,"tool_calls":[{"type":"function","function":{"name":"Bash","arguments":"{\"command\":\"ls\"}"}}]},"finish_reason":"stop"}]}"#;
        let v = decode_json(body);
        assert!(
            v["content"][0]["id"]
                .as_str()
                .unwrap()
                .starts_with("toolu_")
        );
        assert_eq!(v["content"][0]["input"], json!({"command":"ls"}));
        assert_eq!(v["stop_reason"], "tool_use");
    }

    #[test]
    fn azure_filtered_prompt_with_no_choices_is_a_refusal() {
        let v = decode_json(&fixture("response_azure_filtered.json"));
        assert_eq!(v["content"], json!([]));
        assert_eq!(v["stop_reason"], "refusal");
        assert_eq!(v["usage"]["input_tokens"], 25);
    }

    #[test]
    fn azure_filter_fields_beside_a_normal_answer_are_ignored() {
        let v = decode_json(&fixture("response_azure.json"));
        assert_eq!(v["content"], json!([{"type":"text","text":"Paris."}]));
        assert_eq!(v["stop_reason"], "end_turn");
    }

    #[test]
    fn list_content_keeps_only_text_parts() {
        let body = br#"{"choices":[{"message":{"role":"assistant","content":[{"type":"thinking","thinking":[{"type":"text","text":"x"}]},{"type":"text","text":"a"},{"type":"text","text":"b"}]},"finish_reason":"stop"}]}"#;
        assert_eq!(
            decode_json(body)["content"],
            json!([{"type":"text","text":"ab"}])
        );
    }

    #[test]
    fn refusal_text_is_shown() {
        let body = br#"{"choices":[{"message":{"role":"assistant","content":null,"refusal":"I can't help with that."},"finish_reason":"stop"}]}"#;
        assert_eq!(
            decode_json(body)["content"][0]["text"],
            "I can't help with that."
        );
    }

    #[test]
    fn error_bodies_and_garbage_are_errors() {
        let err = decode_response(&fixture("error_429.json"), "openai/gpt-5").unwrap_err();
        assert_eq!(err.kind, ErrorKind::RateLimit);
        assert!(err.message.starts_with("openai/gpt-5: Rate limit reached"));
        let err = decode_response(b"<html>oops</html>", "m").unwrap_err();
        assert_eq!(err.kind, ErrorKind::Api);
        assert!(err.message.contains("<html>oops</html>"));
        let err = decode_response(br#"{"choices":[]}"#, "m").unwrap_err();
        assert!(err.message.contains("no choices"));
    }

    #[test]
    fn cached_tokens_never_exceed_prompt_tokens() {
        let u = WireUsage {
            prompt_tokens: 10,
            completion_tokens: 1,
            prompt_tokens_details: Some(PromptDetails {
                cached_tokens: Some(50),
            }),
            prompt_cache_hit_tokens: None,
        };
        assert_eq!(u.to_anthropic().input_tokens, 0);
        assert_eq!(u.to_anthropic().cache_read_input_tokens, 10);
    }
}
