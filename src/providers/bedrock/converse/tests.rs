//! The Converse wire format both ways, fed with the shapes AWS documents:
//! https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html (request,
//! response, errors) ,
//! https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ConverseStream.html (the
//! stream's events and exceptions) ,
//! https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ContentBlock.html ,
//! https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ToolResultBlock.html ,
//! https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_DocumentBlock.html (name
//! rules) , https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_CachePointBlock.html ,
//! https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_TokenUsage.html ,
//! https://docs.aws.amazon.com/bedrock/latest/userguide/tool-use-inference-call.html (the
//! `top_song` example) ,
//! https://docs.aws.amazon.com/bedrock/latest/userguide/claude-messages-adaptive-thinking.html .
use super::*;
use crate::messages::signature::{Signer, ThinkingKey};
use crate::messages::{ErrorKind, MessagesRequest, StopReason, StreamEvent};
use crate::providers::blocks::MAX_BLOCKS;
use serde_json::{Value, json};
use std::sync::Arc;

const SONNET_45: &str = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";
const SONNET_37: &str = "anthropic.claude-3-7-sonnet-20250219-v1:0";
const OPUS_46: &str = "global.anthropic.claude-opus-4-6-v1";
const HAIKU_3: &str = "anthropic.claude-3-haiku-20240307-v1:0";
const LLAMA: &str = "meta.llama3-1-70b-instruct-v1:0";

fn key() -> Arc<ThinkingKey> {
    Arc::new(ThinkingKey::from_bytes(&[9; 32]))
}

fn signer(model: &str) -> Signer {
    key().signer("bedrock", model)
}

fn encode_for(model: &str, body: Value) -> Value {
    let bytes = serde_json::to_vec(&body).unwrap();
    let req = MessagesRequest::parse(&bytes).unwrap();
    let own = signer(model);
    let out = encode_request(&req, model, Some(&own)).unwrap();
    serde_json::from_slice(&out).unwrap()
}

fn refused(model: &str, body: Value) -> String {
    let bytes = serde_json::to_vec(&body).unwrap();
    let req = MessagesRequest::parse(&bytes).unwrap();
    let err = encode_request(&req, model, None).unwrap_err();
    assert_eq!((err.status, err.kind), (400, ErrorKind::InvalidRequest));
    err.message
}

fn request(messages: Value) -> Value {
    json!({"model": "bedrock/x", "max_tokens": 4096, "messages": messages})
}

fn with_tools(mut body: Value) -> Value {
    body["tools"] = json!([{
        "name": "top_song",
        "description": "Get the most popular song played on a radio station.",
        "input_schema": {"type": "object", "properties": {"sign": {"type": "string"}}, "required": ["sign"]}
    }]);
    body
}

/// Runs `events` (event type, payload) through a translator, then the end of the stream.
fn translate(model: &str, events: &[(&str, Value)]) -> Vec<StreamEvent> {
    let mut t = Translator::new(model, Some(signer(model)));
    let mut out = Vec::new();
    for (kind, payload) in events {
        t.event(kind, &serde_json::to_vec(payload).unwrap(), &mut out);
    }
    t.end(&mut out);
    assert!(t.ended());
    out
}

/// Each event named briefly: `start:text`, `delta:thinking_delta`, `stop`, `message_delta`, …
fn names(events: &[StreamEvent]) -> Vec<String> {
    events
        .iter()
        .map(|e| match e {
            StreamEvent::BlockStart { block, .. } => {
                let v = serde_json::to_value(block).unwrap();
                format!("start:{}", v["type"].as_str().unwrap())
            }
            StreamEvent::BlockDelta { delta, .. } => {
                let v = serde_json::to_value(delta).unwrap();
                format!("delta:{}", v["type"].as_str().unwrap())
            }
            StreamEvent::BlockStop { .. } => "stop".to_owned(),
            other => other.name().to_owned(),
        })
        .collect()
}

/// The message a client assembles from the events.
fn assembled(events: &[StreamEvent]) -> Value {
    let mut acc = crate::messages::MessageAccumulator::new();
    for e in events {
        acc.push(e);
    }
    serde_json::from_slice(&acc.finish().unwrap().to_json()).unwrap()
}

fn error_of(events: &[StreamEvent]) -> &crate::messages::ApiError {
    match events.last() {
        Some(StreamEvent::Error(e)) => e,
        other => panic!("expected an error event last, got {other:?}"),
    }
}

fn metadata(input: u64, output: u64) -> (&'static str, Value) {
    (
        "metadata",
        json!({"usage": {"inputTokens": input, "outputTokens": output, "totalTokens": input + output},
               "metrics": {"latencyMs": 412}, "p": "abcdefghijkl"}),
    )
}

// ---------------------------------------------------------------- request

#[test]
fn a_plain_conversation_maps_system_messages_and_inference_config() {
    let mut body =
        request(json!([{"role": "user", "content": "What is the most popular song on WZPZ?"}]));
    body["system"] = json!("You are terse.");
    body["temperature"] = json!(0.5);
    body["top_p"] = json!(0.9);
    body["stop_sequences"] = json!(["", "END"]);
    assert_eq!(
        encode_for(HAIKU_3, body),
        json!({
            "messages": [{"role": "user", "content": [{"text": "What is the most popular song on WZPZ?"}]}],
            "system": [{"text": "You are terse."}],
            "inferenceConfig": {"maxTokens": 4096, "temperature": 0.5, "topP": 0.9, "stopSequences": ["END"]}
        })
    );
}

#[test]
fn turns_of_one_role_are_merged_and_the_conversation_opens_with_the_user() {
    let sent = encode_for(
        HAIKU_3,
        request(json!([
            {"role": "assistant", "content": "Earlier answer."},
            {"role": "user", "content": "one"},
            {"role": "user", "content": [{"type": "text", "text": "two"}, {"type": "text", "text": "  "}]},
            {"role": "assistant", "content": "a"},
            {"role": "assistant", "content": [{"type": "text", "text": "b  "}]}
        ])),
    );
    assert_eq!(
        sent["messages"],
        json!([
            {"role": "user", "content": [{"text": "(continue)"}]},
            {"role": "assistant", "content": [{"text": "Earlier answer."}]},
            {"role": "user", "content": [{"text": "one"}, {"text": "two"}]},
            {"role": "assistant", "content": [{"text": "a"}, {"text": "b"}]}
        ]),
        "blank text dropped, and a final assistant turn ends without white space"
    );
}

#[test]
fn a_tool_loop_becomes_tool_use_and_tool_result_with_the_tool_declared() {
    let body = with_tools(request(json!([
        {"role": "user", "content": "What is the most popular song on WZPZ?"},
        {"role": "assistant", "content": [
            {"type": "text", "text": "Let me look."},
            {"type": "tool_use", "id": "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q", "name": "top_song", "input": {"sign": "WZPZ"}}
        ]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q", "content": "Elemental Hotel"},
            {"type": "text", "text": "Thanks"}
        ]}
    ])));
    let mut body = body;
    body["tool_choice"] = json!({"type": "auto"});
    let sent = encode_for(SONNET_45, body);
    assert_eq!(
        sent["messages"][1],
        json!({"role": "assistant", "content": [
            {"text": "Let me look."},
            {"toolUse": {"toolUseId": "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q", "name": "top_song", "input": {"sign": "WZPZ"}}}
        ]})
    );
    assert_eq!(
        sent["messages"][2],
        json!({"role": "user", "content": [
            {"toolResult": {"toolUseId": "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q", "content": [{"text": "Elemental Hotel"}]}},
            {"text": "Thanks"}
        ]})
    );
    assert_eq!(
        sent["toolConfig"],
        json!({
            "tools": [{"toolSpec": {
                "name": "top_song",
                "description": "Get the most popular song played on a radio station.",
                "inputSchema": {"json": {"type": "object", "properties": {"sign": {"type": "string"}}, "required": ["sign"]}}
            }}],
            "toolChoice": {"auto": {}}
        })
    );
}

#[test]
fn tool_choice_any_and_tool_map_to_their_converse_forms() {
    let choice = |c: Value| {
        let mut body = with_tools(request(json!([{"role": "user", "content": "hi"}])));
        body["tool_choice"] = c;
        encode_for(SONNET_45, body)["toolConfig"]["toolChoice"].clone()
    };
    assert_eq!(choice(json!({"type": "any"})), json!({"any": {}}));
    assert_eq!(
        choice(json!({"type": "tool", "name": "top_song"})),
        json!({"tool": {"name": "top_song"}})
    );
    assert_eq!(choice(json!({"type": "auto"})), json!({"auto": {}}));
    let mut body = with_tools(request(json!([{"role": "user", "content": "hi"}])));
    body["tool_choice"] = json!({"type": "tool"});
    assert!(refused(SONNET_45, body).contains("`name`"));
}

#[test]
fn without_tools_offered_the_historys_calls_and_results_are_text() {
    // Converse refuses toolUse/toolResult blocks without a toolConfig, and has no "none".
    let history = json!([
        {"role": "user", "content": "Song?"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "top_song", "input": {"sign": "WZPZ"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "Elemental Hotel"}]}
    ]);
    let expected = json!([
        {"role": "user", "content": [{"text": "Song?"}]},
        {"role": "assistant", "content": [{"text": "(tool call: top_song {\"sign\":\"WZPZ\"})"}]},
        {"role": "user", "content": [{"text": "(tool result: top_song) Elemental Hotel"}]}
    ]);
    let sent = encode_for(SONNET_45, request(history.clone()));
    assert_eq!(sent["messages"], expected);
    assert!(sent.get("toolConfig").is_none());
    let mut none = with_tools(request(history));
    none["tool_choice"] = json!({"type": "none"});
    let sent = encode_for(SONNET_45, none);
    assert_eq!(sent["messages"], expected);
    assert!(sent.get("toolConfig").is_none(), "`none` offers no tool");
}

#[test]
fn an_image_in_a_tool_result_is_encoded_and_an_error_result_has_status_error() {
    let png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";
    let body = with_tools(request(json!([
        {"role": "user", "content": "Screenshot?"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_2", "name": "top_song", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_2", "is_error": true, "content": [
            {"type": "text", "text": "partial"},
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": png}}
        ]}]}
    ])));
    let sent = encode_for(SONNET_45, body.clone());
    assert_eq!(
        sent["messages"][2]["content"][0],
        json!({"toolResult": {"toolUseId": "toolu_2", "status": "error", "content": [
            {"text": "partial"},
            {"image": {"format": "png", "source": {"bytes": png}}}
        ]}})
    );
    // Models other than Claude and Nova take neither `status` nor images in results: the
    // image follows the results, the error is said in words.
    let sent = encode_for(LLAMA, body);
    assert_eq!(
        sent["messages"][2]["content"],
        json!([
            {"toolResult": {"toolUseId": "toolu_2", "content": [{"text": "Error:"}, {"text": "partial"}]}},
            {"text": "The top_song call returned this as well:"},
            {"image": {"format": "png", "source": {"bytes": png}}}
        ])
    );
}

#[test]
fn images_by_url_or_of_other_types_are_refused_with_a_remedy() {
    let url = request(json!([{"role": "user", "content": [
        {"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}}
    ]}]));
    assert!(refused(SONNET_45, url).contains("attach the image itself"));
    let heic = request(json!([{"role": "user", "content": [
        {"type": "image", "source": {"type": "base64", "media_type": "image/heic", "data": "AAAA"}}
    ]}]));
    assert!(refused(SONNET_45, heic).contains("`image/heic`"));
}

#[test]
fn pdf_documents_get_a_valid_distinct_name_and_a_text_beside_them() {
    let pdf = |title: Value| {
        json!({"type": "document", "title": title,
        "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0xLjQ="}})
    };
    let sent = encode_for(
        SONNET_45,
        request(json!([{"role": "user", "content": [
            pdf(json!("Q3 report.final.pdf")),
            pdf(json!("Q3 report.final.pdf")),
            pdf(json!("***")),
        ]}])),
    );
    let content = &sent["messages"][0]["content"];
    let doc = |i: usize| content[i]["document"].clone();
    assert_eq!(
        doc(0),
        json!({"format": "pdf", "name": "Q3 report final pdf", "source": {"bytes": "JVBERi0xLjQ="}})
    );
    assert_eq!(doc(1)["name"], "Q3 report final pdf (2)");
    assert_eq!(doc(2)["name"], "document");
    assert_eq!(
        content[3],
        json!({"text": "(document attached)"}),
        "a message with a document needs a text block"
    );
    let url = request(json!([{"role": "user", "content": [
        {"type": "document", "source": {"type": "url", "url": "https://example.com/a.pdf"}}
    ]}]));
    assert!(refused(SONNET_45, url).contains("attach the file itself"));
}

#[test]
fn cache_control_becomes_a_cache_point_after_its_block() {
    let mut body = with_tools(request(json!([
        {"role": "user", "content": [
            {"type": "text", "text": "context"},
            {"type": "text", "text": "question", "cache_control": {"type": "ephemeral"}}
        ]}
    ])));
    body["system"] = json!([
        {"type": "text", "text": "You are Claude Code.", "cache_control": {"type": "ephemeral", "ttl": "1h"}},
        {"type": "text", "text": "Project notes."}
    ]);
    body["tools"][0]["cache_control"] = json!({"type": "ephemeral"});
    let sent = encode_for(SONNET_45, body.clone());
    assert_eq!(
        sent["system"],
        json!([
            {"text": "You are Claude Code."},
            {"cachePoint": {"type": "default", "ttl": "1h"}},
            {"text": "Project notes."}
        ])
    );
    assert_eq!(
        sent["messages"][0]["content"],
        json!([{"text": "context"}, {"text": "question"}, {"cachePoint": {"type": "default"}}])
    );
    assert_eq!(
        sent["toolConfig"]["tools"][1],
        json!({"cachePoint": {"type": "default"}})
    );
    // Claude 3.7 caches, but for five minutes only.
    let sent = encode_for(SONNET_37, body.clone());
    assert_eq!(
        sent["system"][1],
        json!({"cachePoint": {"type": "default"}})
    );
    // Models without prompt caching get no cache points at all.
    let text = encode_for(LLAMA, body).to_string();
    assert!(!text.contains("cachePoint"), "{text}");
}

#[test]
fn thinking_takes_the_form_each_claude_model_takes() {
    let thinking = |model: &str, thinking: Value, effort: Option<&str>| {
        let mut body = request(json!([{"role": "user", "content": "hi"}]));
        body["thinking"] = thinking;
        if let Some(e) = effort {
            body["output_config"] = json!({"effort": e});
        }
        encode_for(model, body)
            .get("additionalModelRequestFields")
            .cloned()
    };
    let enabled = json!({"type": "enabled", "budget_tokens": 2048});
    assert_eq!(
        thinking(SONNET_45, enabled.clone(), None),
        Some(json!({"thinking": {"type": "enabled", "budget_tokens": 2048}}))
    );
    // https://docs.aws.amazon.com/bedrock/latest/userguide/claude-messages-adaptive-thinking.html:
    // adaptive from Claude 4.6 on, with the effort beside it.
    assert_eq!(
        thinking(OPUS_46, enabled, Some("medium")),
        Some(json!({"thinking": {"type": "adaptive"}, "output_config": {"effort": "medium"}}))
    );
    assert_eq!(
        thinking(SONNET_37, json!({"type": "adaptive"}), Some("low")),
        Some(json!({"thinking": {"type": "enabled", "budget_tokens": 2048}})),
        "models before 4.6 take a budget"
    );
    assert_eq!(
        thinking(
            SONNET_37,
            json!({"type": "enabled", "budget_tokens": 50000}),
            None
        ),
        Some(json!({"thinking": {"type": "enabled", "budget_tokens": 4095}})),
        "the budget stays below max_tokens"
    );
    assert_eq!(thinking(SONNET_45, json!({"type": "disabled"}), None), None);
    assert_eq!(
        thinking(
            HAIKU_3,
            json!({"type": "enabled", "budget_tokens": 2048}),
            None
        ),
        None
    );
    assert_eq!(
        thinking(
            LLAMA,
            json!({"type": "enabled", "budget_tokens": 2048}),
            None
        ),
        None
    );
}

#[test]
fn top_k_and_betas_go_to_claude_only() {
    let mut body = request(json!([{"role": "user", "content": "hi"}]));
    body["top_k"] = json!(40);
    let bytes = serde_json::to_vec(&body).unwrap();
    let req = MessagesRequest::parse(&bytes).unwrap();
    let betas = [
        "context-1m-2025-08-07",
        "claude-code-20250219",
        "oauth-2025-04-20",
    ];
    let sent: Value =
        serde_json::from_slice(&encode_request_with(&req, SONNET_45, None, &betas).unwrap())
            .unwrap();
    assert_eq!(
        sent["additionalModelRequestFields"],
        json!({"top_k": 40, "anthropic_beta": ["context-1m-2025-08-07"]})
    );
    let sent: Value =
        serde_json::from_slice(&encode_request_with(&req, LLAMA, None, &betas).unwrap()).unwrap();
    assert!(sent.get("additionalModelRequestFields").is_none());
}

/// A thinking block as bgw gave it to the client for a Bedrock reasoning block.
fn own_thinking(model: &str, text: &str, carried: &Carried) -> Value {
    let signature = signer(model).sign_carrying(text, &carried.to_bytes());
    json!({"type": "thinking", "thinking": text, "signature": signature})
}

#[test]
fn only_this_models_own_reasoning_is_replayed_as_bedrock_gave_it() {
    let sig = Carried::Signature("EqQBCkgIARABGAIiQL2Zs1o9".into());
    let redacted = Carried::Redacted("c2VjcmV0".into());
    let mut body = with_tools(request(json!([
        {"role": "user", "content": "Song?"},
        {"role": "assistant", "content": [
            own_thinking(SONNET_45, "Use the tool.", &sig),
            own_thinking(SONNET_45, "", &redacted),
            own_thinking(SONNET_37, "Another model's.", &sig),
            {"type": "thinking", "thinking": "Anthropic's.", "signature": "ErUBCkYIBRgCIkA="},
            {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix"},
            {"type": "tool_use", "id": "toolu_3", "name": "top_song", "input": {"sign": "WZPZ"}}
        ]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_3", "content": "Elemental Hotel"}]}
    ])));
    body["thinking"] = json!({"type": "enabled", "budget_tokens": 2048});
    let sent = encode_for(SONNET_45, body.clone());
    assert_eq!(
        sent["messages"][1]["content"],
        json!([
            {"reasoningContent": {"reasoningText": {"text": "Use the tool.", "signature": "EqQBCkgIARABGAIiQL2Zs1o9"}}},
            {"reasoningContent": {"redactedContent": "c2VjcmV0"}},
            {"toolUse": {"toolUseId": "toolu_3", "name": "top_song", "input": {"sign": "WZPZ"}}}
        ])
    );
    assert_eq!(
        sent["additionalModelRequestFields"]["thinking"]["type"],
        "enabled"
    );
    // For Claude 3.7 only the block it wrote itself goes back.
    let sent = encode_for(SONNET_37, body);
    assert_eq!(
        sent["messages"][1]["content"][0],
        json!({"reasoningContent": {"reasoningText": {"text": "Another model's.", "signature": "EqQBCkgIARABGAIiQL2Zs1o9"}}})
    );
    // A loop whose turn started with reasoning from elsewhere: dropped, and as Claude refuses
    // thinking for a loop whose turn does not start with its reasoning, the request goes without.
    let mut other = with_tools(request(json!([
        {"role": "user", "content": "Song?"},
        {"role": "assistant", "content": [
            {"type": "thinking", "thinking": "Anthropic's.", "signature": "ErUBCkYIBRgCIkA="},
            {"type": "tool_use", "id": "toolu_3", "name": "top_song", "input": {}}
        ]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_3", "content": "x"}]}
    ])));
    other["thinking"] = json!({"type": "enabled", "budget_tokens": 2048});
    let sent = encode_for(SONNET_45, other);
    assert_eq!(
        sent["messages"][1]["content"],
        json!([{"toolUse": {"toolUseId": "toolu_3", "name": "top_song", "input": {}}}])
    );
    assert!(
        sent.get("additionalModelRequestFields").is_none(),
        "thinking is off for a loop whose reasoning was dropped: {sent}"
    );
}

#[test]
fn later_steps_of_a_tool_loop_need_no_reasoning_of_their_own() {
    // Without interleaved thinking Claude reasons once, at the start of its turn: the loop's
    // later steps are bare calls, and thinking stays on as long as the first step has its
    // reasoning.
    let loop_with = |first_step: Value| {
        let mut body = with_tools(request(json!([
            {"role": "user", "content": "Songs on WZPZ and WKRP?"},
            {"role": "assistant", "content": [first_step, {"type": "tool_use", "id": "toolu_1", "name": "top_song", "input": {"sign": "WZPZ"}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "a"},
                                         {"type": "text", "text": "<system-reminder>x</system-reminder>"}]},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_2", "name": "top_song", "input": {"sign": "WKRP"}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_2", "content": "b"}]}
        ])));
        body["thinking"] = json!({"type": "enabled", "budget_tokens": 2048});
        encode_for(SONNET_45, body)
            .get("additionalModelRequestFields")
            .cloned()
    };
    let own = own_thinking(
        SONNET_45,
        "Two lookups.",
        &Carried::Signature("EqQB".into()),
    );
    assert_eq!(
        loop_with(own),
        Some(json!({"thinking": {"type": "enabled", "budget_tokens": 2048}}))
    );
    let foreign =
        json!({"type": "thinking", "thinking": "Two lookups.", "signature": "ErUBCkYIBRgCIkA="});
    assert_eq!(loop_with(foreign), None);
}

#[test]
fn tool_ids_go_back_as_bedrock_gave_them_and_odd_ones_pair_by_hash() {
    let long = "call_".repeat(20);
    let sent = encode_for(
        SONNET_45,
        with_tools(request(json!([
            {"role": "user", "content": "x"},
            {"role": "assistant", "content": [
                {"type": "tool_use", "id": "bgwx_functions_2Etop_5Fsong_3A0", "name": "top_song", "input": {}},
                {"type": "tool_use", "id": long, "name": "top_song", "input": {}}
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "bgwx_functions_2Etop_5Fsong_3A0", "content": "a"},
                {"type": "tool_result", "tool_use_id": long, "content": "b"}
            ]}
        ]))),
    );
    let calls = &sent["messages"][1]["content"];
    let results = &sent["messages"][2]["content"];
    assert_eq!(calls[0]["toolUse"]["toolUseId"], "functions.top_song:0");
    assert_eq!(
        results[0]["toolResult"]["toolUseId"],
        "functions.top_song:0"
    );
    let hashed = calls[1]["toolUse"]["toolUseId"].as_str().unwrap();
    assert!(
        hashed.starts_with("bgwh_") && hashed.len() <= 64,
        "{hashed}"
    );
    assert_eq!(results[1]["toolResult"]["toolUseId"], hashed);
}

#[test]
fn open_calls_are_answered_orphan_results_are_text_and_system_turns_wait_for_results() {
    let sent = encode_for(
        SONNET_45,
        with_tools(request(json!([
            {"role": "user", "content": "x"},
            {"role": "assistant", "content": [
                {"type": "tool_use", "id": "toolu_a", "name": "top_song", "input": {}},
                {"type": "tool_use", "id": "toolu_b", "name": "top_song", "input": {}}
            ]},
            {"role": "system", "content": "Reminder: be brief."},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_a", "content": "a"},
                {"type": "tool_result", "tool_use_id": "toolu_gone", "content": "old"}
            ]}
        ]))),
    );
    assert_eq!(
        sent["messages"][2]["content"],
        json!([
            {"toolResult": {"toolUseId": "toolu_a", "content": [{"text": "a"}]}},
            {"toolResult": {"toolUseId": "toolu_b", "status": "error", "content": [{"text": "(no result was recorded for this tool call)"}]}},
            {"text": "Reminder: be brief."},
            {"text": "(result of an earlier tool call) old"}
        ])
    );
}

#[test]
fn a_request_with_nothing_to_send_is_refused() {
    let msg = refused(
        SONNET_45,
        request(json!([{"role": "user", "content": [{"type": "text", "text": " "}]}])),
    );
    assert!(msg.contains("no message with content"), "{msg}");
}

// ---------------------------------------------------------------- whole responses

#[test]
fn a_whole_text_answer_decodes_with_its_usage() {
    let body = json!({
        "output": {"message": {"role": "assistant", "content": [{"text": "Hello! How can I help?"}]}},
        "stopReason": "end_turn",
        "usage": {"inputTokens": 12, "outputTokens": 7, "totalTokens": 2519,
                  "cacheReadInputTokens": 2000, "cacheWriteInputTokens": 500,
                  "cacheDetails": [{"ttl": "1h", "inputTokens": 500}]},
        "metrics": {"latencyMs": 302}
    });
    let msg = decode_body(body.to_string().as_bytes(), "bedrock/claude", None).unwrap();
    let v: Value = serde_json::from_slice(&msg.to_json()).unwrap();
    assert_eq!(v["model"], "bedrock/claude");
    assert_eq!(
        v["content"],
        json!([{"type": "text", "text": "Hello! How can I help?"}])
    );
    assert_eq!(v["stop_reason"], "end_turn");
    assert_eq!(
        v["usage"],
        json!({"input_tokens": 12, "output_tokens": 7, "cache_creation_input_tokens": 500,
               "cache_read_input_tokens": 2000,
               "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 500}})
    );
}

#[test]
fn the_documented_tool_use_answer_decodes_to_a_tool_use_block() {
    // https://docs.aws.amazon.com/bedrock/latest/userguide/tool-use-inference-call.html
    let body = json!({
        "output": {"message": {"role": "assistant", "content": [{"toolUse": {
            "toolUseId": "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q", "name": "top_song", "input": {"sign": "WZPZ"}
        }}]}},
        "stopReason": "tool_use",
        "usage": {"inputTokens": 375, "outputTokens": 54, "totalTokens": 429},
        "metrics": {"latencyMs": 1000}
    });
    let msg = decode_body(body.to_string().as_bytes(), "m", None).unwrap();
    let v: Value = serde_json::from_slice(&msg.to_json()).unwrap();
    assert_eq!(
        v["content"],
        json!([{"type": "tool_use", "id": "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q", "name": "top_song", "input": {"sign": "WZPZ"}}])
    );
    assert_eq!(v["stop_reason"], "tool_use");
}

#[test]
fn reasoning_decodes_to_signed_thinking_that_goes_back_to_the_same_model_unchanged() {
    let body = json!({
        "output": {"message": {"role": "assistant", "content": [
            {"reasoningContent": {"reasoningText": {"text": "WZPZ is a call sign.", "signature": "EqQBCkgIARAB"}}},
            {"toolUse": {"toolUseId": "tooluse_1", "name": "top_song", "input": {"sign": "WZPZ"}}}
        ]}},
        "stopReason": "tool_use",
        "usage": {"inputTokens": 5, "outputTokens": 9, "totalTokens": 14},
        "metrics": {"latencyMs": 1}
    });
    let own = signer(SONNET_45);
    let msg = decode_body(body.to_string().as_bytes(), "m", Some(&own)).unwrap();
    let v: Value = serde_json::from_slice(&msg.to_json()).unwrap();
    let thinking = &v["content"][0];
    assert_eq!(thinking["thinking"], "WZPZ is a call sign.");
    let signature = thinking["signature"].as_str().unwrap();
    assert!(signature.starts_with("bgw1.bedrock."), "{signature}");
    // The client sends the turn back: Bedrock gets its own reasoning and signature.
    let mut next = with_tools(request(json!([
        {"role": "user", "content": "Song?"},
        {"role": "assistant", "content": v["content"]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "tooluse_1", "content": "x"}]}
    ])));
    next["thinking"] = json!({"type": "enabled", "budget_tokens": 1024});
    let sent = encode_for(SONNET_45, next);
    assert_eq!(
        sent["messages"][1]["content"][0],
        json!({"reasoningContent": {"reasoningText": {"text": "WZPZ is a call sign.", "signature": "EqQBCkgIARAB"}}})
    );
}

#[test]
fn stop_reasons_map_to_anthropics() {
    let stop = |reason: &str, content: Value, fields: Value| {
        let body = json!({
            "output": {"message": {"role": "assistant", "content": content}},
            "stopReason": reason,
            "usage": {"inputTokens": 1, "outputTokens": 1, "totalTokens": 2},
            "metrics": {"latencyMs": 1},
            "additionalModelResponseFields": fields
        });
        decode_body(body.to_string().as_bytes(), "bedrock/m", None)
    };
    let text = json!([{"text": "Hi"}]);
    let reason = |r: Result<crate::messages::MessageResponse, crate::messages::ApiError>| {
        let msg = r.unwrap();
        (msg.stop_reason, msg.stop_sequence)
    };
    assert_eq!(
        reason(stop("max_tokens", text.clone(), json!(null))),
        (Some(StopReason::MaxTokens), None)
    );
    assert_eq!(
        reason(stop(
            "stop_sequence",
            text.clone(),
            json!({"stop_sequence": "END"})
        )),
        (Some(StopReason::StopSequence), Some("END".to_owned()))
    );
    assert_eq!(
        reason(stop(
            "model_context_window_exceeded",
            text.clone(),
            json!(null)
        )),
        (Some(StopReason::MaxTokens), None),
        "an answer that filled the window is cut short"
    );
    for refusal in ["guardrail_intervened", "content_filtered"] {
        let msg = stop(refusal, json!([]), json!(null)).unwrap();
        assert_eq!(msg.stop_reason, Some(StopReason::Refusal));
        let v: Value = serde_json::from_slice(&msg.to_json()).unwrap();
        assert!(
            v["content"][0]["text"].as_str().unwrap().contains(refusal),
            "an empty refusal says why: {v}"
        );
    }
    let err = stop("model_context_window_exceeded", json!([]), json!(null)).unwrap_err();
    assert_eq!((err.status, err.kind), (400, ErrorKind::InvalidRequest));
    assert!(
        err.message.starts_with("prompt is too long"),
        "{}",
        err.message
    );
    for malformed in ["malformed_model_output", "malformed_tool_use"] {
        let err = stop(malformed, text.clone(), json!(null)).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Api);
        assert!(
            err.message.contains(malformed) && err.message.contains("retry"),
            "{}",
            err.message
        );
    }
    let err = stop("malformed_tool_use", text, json!(null)).unwrap_err();
    assert!(
        err.message.contains("malformed tool call"),
        "{}",
        err.message
    );
}

#[test]
fn a_body_that_is_not_a_converse_response_is_an_api_error() {
    let err = decode_body(br#"{"hello":"world"}"#, "bedrock/m", None).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Api);
    assert!(
        err.message.contains("not a Converse response"),
        "{}",
        err.message
    );
    assert!(decode_body(b"<html>", "bedrock/m", None).is_err());
}

// ---------------------------------------------------------------- streams

#[test]
fn a_streamed_text_answer_sends_message_delta_only_once_the_usage_is_known() {
    let model = SONNET_45;
    let mut t = Translator::new("bedrock/claude", Some(signer(model)));
    let mut out = Vec::new();
    let mut step = |kind: &str, payload: Value, out: &mut Vec<StreamEvent>| {
        let before = out.len();
        t.event(kind, &serde_json::to_vec(&payload).unwrap(), out);
        names(&out[before..])
    };
    assert_eq!(
        step(
            "messageStart",
            json!({"role": "assistant", "p": "abcd"}),
            &mut out
        ),
        ["message_start"]
    );
    assert_eq!(
        step(
            "contentBlockDelta",
            json!({"contentBlockIndex": 0, "delta": {"text": "Hel"}, "p": "ab"}),
            &mut out
        ),
        ["start:text", "delta:text_delta"]
    );
    assert_eq!(
        step(
            "contentBlockDelta",
            json!({"contentBlockIndex": 0, "delta": {"text": "lo"}}),
            &mut out
        ),
        ["delta:text_delta"]
    );
    assert_eq!(
        step(
            "contentBlockStop",
            json!({"contentBlockIndex": 0}),
            &mut out
        ),
        ["stop"]
    );
    assert_eq!(
        step(
            "messageStop",
            json!({"stopReason": "end_turn", "p": "abcdefgh"}),
            &mut out
        ),
        Vec::<String>::new(),
        "message_delta waits for the usage"
    );
    let (kind, payload) = metadata(25, 2);
    assert_eq!(
        step(kind, payload, &mut out),
        ["message_delta", "message_stop"]
    );
    assert!(t.ended());
    assert_eq!((t.usage().input_tokens, t.usage().output_tokens), (25, 2));
    let msg = assembled(&out);
    assert_eq!(msg["content"], json!([{"type": "text", "text": "Hello"}]));
    assert_eq!(msg["usage"]["input_tokens"], 25);
    let mut after = Vec::new();
    t.end(&mut after);
    t.event(
        "contentBlockDelta",
        br#"{"contentBlockIndex":0,"delta":{"text":"x"}}"#,
        &mut after,
    );
    assert!(after.is_empty(), "nothing after the end: {after:?}");
}

#[test]
fn a_tool_call_streamed_in_fragments_becomes_input_json_deltas() {
    let events = translate(
        "bedrock/claude",
        &[
            ("messageStart", json!({"role": "assistant"})),
            (
                "contentBlockDelta",
                json!({"contentBlockIndex": 0, "delta": {"text": "Checking."}}),
            ),
            ("contentBlockStop", json!({"contentBlockIndex": 0})),
            (
                "contentBlockStart",
                json!({"contentBlockIndex": 1, "start": {"toolUse": {"toolUseId": "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q", "name": "top_song"}}}),
            ),
            (
                "contentBlockDelta",
                json!({"contentBlockIndex": 1, "delta": {"toolUse": {"input": "{\"si"}}}),
            ),
            (
                "contentBlockDelta",
                json!({"contentBlockIndex": 1, "delta": {"toolUse": {"input": "gn\": \"WZPZ\"}"}}}),
            ),
            ("contentBlockStop", json!({"contentBlockIndex": 1})),
            ("messageStop", json!({"stopReason": "tool_use"})),
            metadata(10, 20),
        ],
    );
    assert_eq!(
        names(&events),
        [
            "message_start",
            "start:text",
            "delta:text_delta",
            "stop",
            "start:tool_use",
            "delta:input_json_delta",
            "delta:input_json_delta",
            "stop",
            "message_delta",
            "message_stop"
        ]
    );
    let msg = assembled(&events);
    assert_eq!(
        msg["content"][1],
        json!({"type": "tool_use", "id": "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q", "name": "top_song", "input": {"sign": "WZPZ"}})
    );
    assert_eq!(msg["stop_reason"], "tool_use");
}

#[test]
fn parallel_tool_calls_become_consecutive_blocks_with_their_own_ids() {
    let call = |i: u64, id: &str, input: &str| {
        vec![
            (
                "contentBlockStart",
                json!({"contentBlockIndex": i, "start": {"toolUse": {"toolUseId": id, "name": "top_song"}}}),
            ),
            (
                "contentBlockDelta",
                json!({"contentBlockIndex": i, "delta": {"toolUse": {"input": input}}}),
            ),
            ("contentBlockStop", json!({"contentBlockIndex": i})),
        ]
    };
    let mut events = vec![("messageStart", json!({"role": "assistant"}))];
    events.extend(call(3, "tooluse_a", r#"{"sign":"WZPZ"}"#));
    events.extend(call(7, "tooluse_b.1:x", r#"{"sign":"WKRP"}"#));
    events.push(("messageStop", json!({"stopReason": "end_turn"})));
    events.push(metadata(1, 1));
    let out = translate("m", &events);
    let starts: Vec<usize> = out
        .iter()
        .filter_map(|e| match e {
            StreamEvent::BlockStart { index, .. } => Some(*index),
            _ => None,
        })
        .collect();
    assert_eq!(
        starts,
        [0, 1],
        "Bedrock's indexes 3 and 7 are Anthropic's 0 and 1"
    );
    let msg = assembled(&out);
    assert_eq!(msg["content"][0]["id"], "tooluse_a");
    assert_eq!(
        msg["content"][1]["id"], "bgwx_tooluse_5Fb_2E1_3Ax",
        "an id Anthropic refuses is escaped (and restored on the way back)"
    );
    assert_eq!(msg["content"][1]["input"], json!({"sign": "WKRP"}));
    assert_eq!(msg["stop_reason"], "tool_use", "a call was made");
}

#[test]
fn streamed_reasoning_ends_with_a_signature_carrying_bedrocks() {
    let model = SONNET_45;
    let events = translate(
        model,
        &[
            ("messageStart", json!({"role": "assistant"})),
            (
                "contentBlockDelta",
                json!({"contentBlockIndex": 0, "delta": {"reasoningContent": {"text": "Think"}}}),
            ),
            (
                "contentBlockDelta",
                json!({"contentBlockIndex": 0, "delta": {"reasoningContent": {"text": "ing."}}}),
            ),
            (
                "contentBlockDelta",
                json!({"contentBlockIndex": 0, "delta": {"reasoningContent": {"signature": "EqQBCkgIARAB"}}}),
            ),
            ("contentBlockStop", json!({"contentBlockIndex": 0})),
            (
                "contentBlockDelta",
                json!({"contentBlockIndex": 1, "delta": {"reasoningContent": {"redactedContent": "c2VjcmV0"}}}),
            ),
            ("contentBlockStop", json!({"contentBlockIndex": 1})),
            (
                "contentBlockDelta",
                json!({"contentBlockIndex": 2, "delta": {"text": "Done."}}),
            ),
            ("contentBlockStop", json!({"contentBlockIndex": 2})),
            ("messageStop", json!({"stopReason": "end_turn"})),
            metadata(3, 4),
        ],
    );
    assert_eq!(
        names(&events),
        [
            "message_start",
            "start:thinking",
            "delta:thinking_delta",
            "delta:thinking_delta",
            "delta:signature_delta",
            "stop",
            "start:thinking",
            "delta:signature_delta",
            "stop",
            "start:text",
            "delta:text_delta",
            "stop",
            "message_delta",
            "message_stop"
        ]
    );
    let msg = assembled(&events);
    let own = signer(model);
    let carried = |i: usize| {
        let block = &msg["content"][i];
        own.carried(
            block["signature"].as_str().unwrap(),
            block["thinking"].as_str().unwrap(),
        )
    };
    assert_eq!(msg["content"][0]["thinking"], "Thinking.");
    assert_eq!(carried(0), Some(b"s:EqQBCkgIARAB".to_vec()));
    assert_eq!(msg["content"][1]["thinking"], "");
    assert_eq!(carried(1), Some(b"r:c2VjcmV0".to_vec()));
    assert_eq!(
        signer(SONNET_37).carried(
            msg["content"][0]["signature"].as_str().unwrap(),
            "Thinking."
        ),
        None
    );
}

#[test]
fn a_stream_without_metadata_still_ends_and_one_cut_before_message_stop_fails() {
    let events = translate(
        "m",
        &[
            ("messageStart", json!({"role": "assistant"})),
            (
                "contentBlockDelta",
                json!({"contentBlockIndex": 0, "delta": {"text": "Hi"}}),
            ),
            ("messageStop", json!({"stopReason": "max_tokens"})),
        ],
    );
    assert_eq!(
        names(&events),
        [
            "message_start",
            "start:text",
            "delta:text_delta",
            "stop",
            "message_delta",
            "message_stop"
        ]
    );
    assert!(matches!(
        &events[4],
        StreamEvent::MessageDelta {
            stop_reason: Some(StopReason::MaxTokens),
            ..
        }
    ));
    let events = translate(
        "m",
        &[
            ("messageStart", json!({"role": "assistant"})),
            (
                "contentBlockDelta",
                json!({"contentBlockIndex": 0, "delta": {"text": "Hi"}}),
            ),
        ],
    );
    let err = error_of(&events);
    assert_eq!(err.kind, ErrorKind::Api);
    assert!(err.message.contains("ended before"), "{}", err.message);
}

#[test]
fn stream_exceptions_become_error_events_of_the_matching_type() {
    let cases = [
        (
            "throttlingException",
            json!({"message": "Too many tokens, please wait before trying again."}),
            ErrorKind::RateLimit,
        ),
        (
            "serviceUnavailableException",
            json!({"message": "Service unavailable."}),
            ErrorKind::Overloaded,
        ),
        (
            "internalServerException",
            json!({"message": "Internal error."}),
            ErrorKind::Api,
        ),
        (
            "modelTimeoutException",
            json!({"message": "Model timed out."}),
            ErrorKind::Timeout,
        ),
        (
            "validationException",
            json!({"message": "Malformed input request."}),
            ErrorKind::InvalidRequest,
        ),
        (
            "modelStreamErrorException",
            json!({"message": "Model error.", "originalStatusCode": 429, "originalMessage": "Rate exceeded"}),
            ErrorKind::RateLimit,
        ),
        (
            "modelStreamErrorException",
            json!({"message": "Model error."}),
            ErrorKind::Api,
        ),
        ("someNewException", json!({}), ErrorKind::Api),
    ];
    for (kind, payload, expected) in cases {
        let mut t = Translator::new("bedrock/claude", None);
        let mut out = Vec::new();
        t.event("messageStart", b"{}", &mut out);
        t.exception(kind, payload.to_string().as_bytes(), &mut out);
        let err = error_of(&out);
        assert_eq!(err.kind, expected, "{kind}");
        assert_eq!(err.status, expected.status(), "{kind}");
        assert!(
            err.message.starts_with("bedrock/claude: "),
            "{}",
            err.message
        );
        assert!(t.ended());
    }
    // An exception delivered as an event of the stream union reads the same.
    let events = translate(
        "m",
        &[("throttlingException", json!({"message": "slow down"}))],
    );
    assert_eq!(error_of(&events).kind, ErrorKind::RateLimit);
    // A prompt over the window, told in the words Claude Code compacts on.
    let mut t = Translator::new("m", None);
    let mut out = Vec::new();
    t.exception(
        "validationException",
        br#"{"message":"Input is too long for requested model."}"#,
        &mut out,
    );
    let err = error_of(&out);
    assert_eq!(err.kind, ErrorKind::InvalidRequest);
    assert!(
        err.message.starts_with("prompt is too long"),
        "{}",
        err.message
    );
}

#[test]
fn a_prompt_over_the_window_is_an_error_before_any_content() {
    let events = translate(
        "bedrock/claude",
        &[
            ("messageStart", json!({"role": "assistant"})),
            (
                "messageStop",
                json!({"stopReason": "model_context_window_exceeded"}),
            ),
            metadata(200_000, 0),
        ],
    );
    assert_eq!(names(&events), ["message_start", "error"]);
    let err = error_of(&events);
    assert_eq!((err.status, err.kind), (400, ErrorKind::InvalidRequest));
    assert!(
        err.message.starts_with("prompt is too long"),
        "{}",
        err.message
    );
}

#[test]
fn malformed_output_in_a_stream_is_an_error_event() {
    let events = translate(
        "m",
        &[
            ("messageStart", json!({"role": "assistant"})),
            (
                "contentBlockStart",
                json!({"contentBlockIndex": 0, "start": {"toolUse": {"toolUseId": "t1", "name": "top_song"}}}),
            ),
            (
                "contentBlockDelta",
                json!({"contentBlockIndex": 0, "delta": {"toolUse": {"input": "{\"sign"}}}),
            ),
            ("messageStop", json!({"stopReason": "malformed_tool_use"})),
            metadata(1, 1),
        ],
    );
    let err = error_of(&events);
    assert_eq!(err.kind, ErrorKind::Api);
    assert!(
        err.message.contains("malformed tool call"),
        "{}",
        err.message
    );
}

#[test]
fn unknown_keys_and_unknown_events_are_ignored() {
    let events = translate(
        "m",
        &[
            (
                "messageStart",
                json!({"role": "assistant", "p": "abcdefghijklmnopqrstuvwxyzABCDEFGH"}),
            ),
            ("somethingNew", json!({"whatever": [1, 2, 3]})),
            (
                "contentBlockDelta",
                json!({"contentBlockIndex": 0, "delta": {"text": "ok", "future": true}, "p": "xy"}),
            ),
            (
                "contentBlockStop",
                json!({"contentBlockIndex": 0, "p": "abc"}),
            ),
            (
                "messageStop",
                json!({"stopReason": "end_turn", "additionalModelResponseFields": {"x": 1}, "p": "q"}),
            ),
            (
                "metadata",
                json!({"usage": {"inputTokens": 1, "outputTokens": 1, "totalTokens": 2}, "metrics": {"latencyMs": 1}, "trace": {}, "p": "z"}),
            ),
        ],
    );
    assert_eq!(
        assembled(&events)["content"],
        json!([{"type": "text", "text": "ok"}])
    );
}

#[test]
fn a_new_block_index_closes_the_open_block_and_kinds_never_mix() {
    let events = translate(
        "m",
        &[
            (
                "contentBlockDelta",
                json!({"contentBlockIndex": 0, "delta": {"text": "a"}}),
            ),
            // No stop for block 0: block 1 closes it.
            (
                "contentBlockDelta",
                json!({"contentBlockIndex": 1, "delta": {"text": "b"}}),
            ),
            // Reasoning under the text's index: a block of its own.
            (
                "contentBlockDelta",
                json!({"contentBlockIndex": 1, "delta": {"reasoningContent": {"text": "r"}}}),
            ),
            ("contentBlockStop", json!({"contentBlockIndex": 9})),
            ("messageStop", json!({"stopReason": "end_turn"})),
        ],
    );
    assert_eq!(
        names(&events),
        [
            "message_start",
            "start:text",
            "delta:text_delta",
            "stop",
            "start:text",
            "delta:text_delta",
            "stop",
            "start:thinking",
            "delta:thinking_delta",
            "delta:signature_delta",
            "stop",
            "message_delta",
            "message_stop"
        ]
    );
}

#[test]
fn odd_and_broken_input_never_panics() {
    let good: Vec<(&str, Value)> = vec![
        ("messageStart", json!({"role": "assistant"})),
        (
            "contentBlockStart",
            json!({"contentBlockIndex": 0, "start": {"toolUse": {"toolUseId": "t", "name": "n"}}}),
        ),
        (
            "contentBlockDelta",
            json!({"contentBlockIndex": 0, "delta": {"toolUse": {"input": "{\"a\":\"é\"}"}}}),
        ),
        ("contentBlockStop", json!({"contentBlockIndex": 0})),
        (
            "contentBlockDelta",
            json!({"contentBlockIndex": 1, "delta": {"reasoningContent": {"text": "中文"}}}),
        ),
        ("messageStop", json!({"stopReason": "tool_use"})),
        metadata(1, 2),
    ];
    // Every payload cut at every byte: each ends as an error or a message, never a panic.
    for (i, (kind, payload)) in good.iter().enumerate() {
        let bytes = serde_json::to_vec(payload).unwrap();
        for cut in 0..bytes.len() {
            let mut t = Translator::new("m", Some(signer("m")));
            let mut out = Vec::new();
            for (k, p) in &good[..i] {
                t.event(k, &serde_json::to_vec(p).unwrap(), &mut out);
            }
            t.event(kind, &bytes[..cut], &mut out);
            t.end(&mut out);
            assert!(t.ended());
            assert!(
                matches!(
                    out.last(),
                    Some(StreamEvent::Error(_) | StreamEvent::MessageStop)
                ),
                "{kind} cut at {cut}: {out:?}"
            );
        }
    }
    // Wrong types, huge indexes, events out of order, bytes that are not UTF-8.
    let odd: Vec<(&str, &[u8])> = vec![
        (
            "contentBlockStop",
            br#"{"contentBlockIndex":18446744073709551615}"#,
        ),
        (
            "contentBlockDelta",
            br#"{"contentBlockIndex":-1,"delta":{"text":"x"}}"#,
        ),
        (
            "contentBlockDelta",
            br#"{"contentBlockIndex":0,"delta":{"text":5}}"#,
        ),
        (
            "contentBlockDelta",
            br#"{"contentBlockIndex":0,"delta":null}"#,
        ),
        ("messageStop", br#"{"stopReason":null}"#),
        ("metadata", br#"{"usage":{"inputTokens":"many"}}"#),
        ("contentBlockDelta", b"\xff\xfe{"),
        (
            "metadata",
            br#"{"usage":{"inputTokens":1,"cacheDetails":[{"ttl":7}]}}"#,
        ),
    ];
    for (kind, payload) in odd {
        let mut t = Translator::new("m", None);
        let mut out = Vec::new();
        t.event(kind, payload, &mut out);
        t.event("messageStop", br#"{"stopReason":"end_turn"}"#, &mut out);
        t.end(&mut out);
        assert!(t.ended(), "{kind} {payload:?}");
    }
    // Tool input for a call that never started: the response fails rather than lose a call.
    let events = translate(
        "m",
        &[(
            "contentBlockDelta",
            json!({"contentBlockIndex": 0, "delta": {"toolUse": {"input": "{}"}}}),
        )],
    );
    assert!(error_of(&events).message.contains("never started"));
}

#[test]
fn too_many_blocks_end_the_response_with_an_error() {
    let mut t = Translator::new("m", None);
    let mut out = Vec::new();
    for i in 0..=(MAX_BLOCKS as u64) {
        let payload = json!({"contentBlockIndex": i, "delta": {"text": "x"}});
        t.event(
            "contentBlockDelta",
            &serde_json::to_vec(&payload).unwrap(),
            &mut out,
        );
    }
    assert!(t.ended());
    assert!(error_of(&out).message.contains("content blocks"));
}

// ---------------------------------------------------------------- errors

#[test]
fn http_errors_map_by_their_error_type() {
    let err = |status: u16, kind: Option<&str>, body: &str| {
        upstream_error("bedrock", status, kind, body.as_bytes())
    };
    let e = err(
        429,
        Some("ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/"),
        r#"{"message":"Too many requests, please wait before trying again."}"#,
    );
    assert_eq!((e.status, e.kind), (429, ErrorKind::RateLimit));
    assert_eq!(
        e.message,
        "bedrock: Too many requests, please wait before trying again."
    );
    let e = err(
        503,
        Some("ServiceUnavailableException"),
        r#"{"message":"Bedrock is unable to process your request."}"#,
    );
    assert_eq!((e.status, e.kind), (503, ErrorKind::Overloaded));
    let e = err(
        408,
        Some("ModelTimeoutException"),
        r#"{"message":"Model has timed out."}"#,
    );
    assert_eq!((e.status, e.kind), (408, ErrorKind::Timeout));
    let e = err(
        424,
        Some("ModelErrorException"),
        r#"{"message":"The model failed.","originalStatusCode":500}"#,
    );
    assert_eq!((e.status, e.kind), (500, ErrorKind::Api));
    let e = err(
        404,
        Some("ResourceNotFoundException"),
        r#"{"message":"Could not resolve the foundation model."}"#,
    );
    assert_eq!((e.status, e.kind), (404, ErrorKind::NotFound));
    assert!(e.message.contains("inference profile"), "{}", e.message);
    let e = err(
        500,
        Some("InternalServerException"),
        r#"{"message":"oops"}"#,
    );
    assert_eq!((e.status, e.kind), (500, ErrorKind::Api));
    let e = err(
        400,
        Some("ServiceQuotaExceededException"),
        r#"{"message":"quota"}"#,
    );
    assert_eq!(
        (e.status, e.kind, e.should_retry),
        (429, ErrorKind::RateLimit, Some(false))
    );
    let e = err(
        400,
        Some("ValidationException"),
        r#"{"message":"Invocation of model ID anthropic.claude-sonnet-4-5-20250929-v1:0 with on-demand throughput isn't supported."}"#,
    );
    assert_eq!((e.status, e.kind), (400, ErrorKind::InvalidRequest));
    assert!(e.message.contains("`us.`"), "{}", e.message);
}

#[test]
fn credential_and_access_refusals_stay_403_and_say_login_will_not_help() {
    let e = upstream_error(
        "bedrock",
        403,
        Some("AccessDeniedException"),
        br#"{"message":"You don't have access to the model with the specified model ID."}"#,
    );
    assert_eq!((e.status, e.kind), (403, ErrorKind::Permission));
    assert!(
        e.message.contains("Bedrock console") && e.message.contains("/login does not"),
        "{}",
        e.message
    );
    let e = upstream_error(
        "bedrock",
        403,
        Some("UnrecognizedClientException"),
        br#"{"Message":"The security token included in the request is invalid."}"#,
    );
    assert_eq!((e.status, e.kind), (403, ErrorKind::Permission));
    assert!(
        e.message
            .starts_with("bedrock: The security token included in the request is invalid."),
        "{}",
        e.message
    );
    assert!(e.message.contains("credentials"), "{}", e.message);
    let e = upstream_error(
        "bedrock",
        403,
        None,
        br#"{"message":"Authentication failed"}"#,
    );
    assert_eq!((e.status, e.kind), (403, ErrorKind::Permission));
    assert!(e.message.contains("/login does not"), "{}", e.message);
}

#[test]
fn a_prompt_over_the_window_reads_as_anthropics_too_long_error() {
    let e = upstream_error(
        "bedrock",
        400,
        Some("ValidationException"),
        br#"{"message":"prompt is too long: 210536 tokens > 200000 maximum"}"#,
    );
    assert_eq!((e.status, e.kind), (400, ErrorKind::InvalidRequest));
    assert_eq!(
        e.message,
        "prompt is too long: 210536 tokens > 200000 maximum"
    );
    let e = upstream_error(
        "bedrock",
        400,
        Some("ValidationException"),
        br#"{"message":"Input is too long for requested model."}"#,
    );
    assert_eq!(
        e.message,
        "prompt is too long for bedrock: Input is too long for requested model."
    );
    // Anthropic's other wording (input and max_tokens together) is not a prompt too long.
    let e = upstream_error(
        "bedrock",
        400,
        Some("ValidationException"),
        br#"{"message":"input length and `max_tokens` exceed context limit: 187254 + 20000 > 200000, decrease input length or `max_tokens` and try again"}"#,
    );
    assert!(
        e.message.starts_with("bedrock: input length"),
        "{}",
        e.message
    );
}

#[test]
fn error_bodies_of_any_shape_keep_a_sane_status_and_a_message() {
    for status in [0, 200, 302, 400, 401, 403, 404, 429, 500, 503, 599, 700] {
        for body in [
            &b""[..],
            b"not json",
            br#"{"message":null}"#,
            br#"[1,2]"#,
            b"\xff",
        ] {
            let e = upstream_error("bedrock", status, None, body);
            assert!(
                (400..=599).contains(&e.status),
                "{status} {body:?}: {}",
                e.status
            );
            assert!(e.message.starts_with("bedrock: "), "{}", e.message);
        }
    }
    let e = upstream_error(
        "bedrock",
        400,
        None,
        br#"{"__type":"com.amazon.coral.validate#ValidationException","message":"bad"}"#,
    );
    assert_eq!((e.status, e.kind), (400, ErrorKind::InvalidRequest));
}

// ---------------------------------------------------------------- shared

#[test]
fn model_families_follow_the_ids() {
    let f = Family::of;
    assert!(f(SONNET_45).long_cache && f(SONNET_45).thinking && !f(SONNET_45).adaptive);
    assert!(f(OPUS_46).adaptive);
    assert!(f("anthropic.claude-opus-4-7").adaptive);
    assert!(
        f("anthropic.claude-mythos-preview").adaptive,
        "a newer naming"
    );
    assert!(f(SONNET_37).caching && f(SONNET_37).thinking && !f(SONNET_37).long_cache);
    assert!(f("anthropic.claude-3-5-haiku-20241022-v1:0").caching);
    assert!(!f("anthropic.claude-3-5-sonnet-20241022-v2:0").caching);
    assert!(!f(HAIKU_3).caching && !f(HAIKU_3).thinking && f(HAIKU_3).anthropic);
    assert!(!f("anthropic.claude-v2:1").thinking);
    assert!(f("arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-sonnet-4-20250514-v1:0").thinking);
    let nova = f("us.amazon.nova-pro-v1:0");
    assert!(nova.caching && nova.rich_tool_results && !nova.anthropic);
    assert_eq!(f(LLAMA), Family::default());
}
