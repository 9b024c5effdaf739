//! The Gemini wire format both ways, fed with fixtures in the shapes Google documents:
//! https://ai.google.dev/api/generate-content (request, response, `usageMetadata`) ,
//! https://ai.google.dev/gemini-api/docs/thinking (`thinkingConfig`, thought summaries) ,
//! https://ai.google.dev/gemini-api/docs/thought-signatures (where signatures sit, the
//! `skip_thought_signature_validator` value) ,
//! https://ai.google.dev/gemini-api/docs/function-calling (`functionResponse`, modes) ,
//! https://ai.google.dev/gemini-api/docs/troubleshooting (error statuses) ,
//! https://github.com/google-gemini/gemini-cli/issues/6678 (the too-long wording).
use super::error::seconds;
use super::schema::{legacy_parameters, without_schema_keyword};
use super::*;
use crate::messages::signature::{Signer, ThinkingKey};
use crate::messages::sse::SseParser;
use crate::messages::{ErrorKind, MessagesRequest};
use crate::providers::StreamDecoder;
use serde_json::value::RawValue;
use serde_json::{Value, json};
use std::borrow::Cow;
use std::sync::Arc;

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/gemini/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn key() -> Arc<ThinkingKey> {
    Arc::new(ThinkingKey::from_bytes(&[6; 32]))
}

fn signer(model: &str) -> Signer {
    key().signer("gemini", model)
}

/// The request body sent to `model` for this Anthropic request, as JSON.
fn encode_for(model: &str, body: Value) -> Value {
    let bytes = serde_json::to_vec(&body).unwrap();
    let req = MessagesRequest::parse(&bytes).unwrap();
    let own = signer(model);
    let out = encode_request(&req, model, Some(&own)).unwrap();
    serde_json::from_slice(&out).unwrap()
}

fn encode(body: Value) -> Value {
    encode_for("gemini-2.5-pro", body)
}

fn request(messages: Value) -> Value {
    json!({"model": "gemini/gemini-2.5-pro", "max_tokens": 1000, "messages": messages})
}

/// Feeds `input` in pieces of `piece` bytes, then EOF; the Anthropic events as JSON.
fn decode(model: &str, input: &[u8], piece: usize) -> Vec<Value> {
    let mut d = GeminiStream::new(&format!("gemini/{model}"), Some(signer(model)));
    let mut out = Vec::new();
    for p in input.chunks(piece) {
        d.feed(p, &mut out);
    }
    d.finish(&mut out);
    assert!(d.done());
    parse_sse(&out)
}

fn parse_sse(bytes: &[u8]) -> Vec<Value> {
    let mut parser = SseParser::new();
    let mut frames = Vec::new();
    parser.feed(bytes, &mut frames).unwrap();
    parser.finish(&mut frames);
    frames
        .into_iter()
        .map(|f| {
            let v: Value = serde_json::from_str(&f.data).unwrap();
            assert_eq!(f.event.as_deref(), v["type"].as_str());
            v
        })
        .collect()
}

fn types(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| match e["type"].as_str().unwrap() {
            "content_block_start" => {
                format!("start:{}", e["content_block"]["type"].as_str().unwrap())
            }
            "content_block_delta" => format!("delta:{}", e["delta"]["type"].as_str().unwrap()),
            other => other.to_owned(),
        })
        .collect()
}

/// The assistant content the client keeps from these events (what Claude Code sends back).
fn blocks(events: &[Value]) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    for e in events {
        match e["type"].as_str().unwrap() {
            "content_block_start" => out.push(e["content_block"].clone()),
            "content_block_delta" => {
                let block = out.last_mut().unwrap();
                let d = &e["delta"];
                match d["type"].as_str().unwrap() {
                    "text_delta" => {
                        let t = format!(
                            "{}{}",
                            block["text"].as_str().unwrap(),
                            d["text"].as_str().unwrap()
                        );
                        block["text"] = json!(t);
                    }
                    "thinking_delta" => {
                        let t = format!(
                            "{}{}",
                            block["thinking"].as_str().unwrap(),
                            d["thinking"].as_str().unwrap()
                        );
                        block["thinking"] = json!(t);
                    }
                    "signature_delta" => block["signature"] = d["signature"].clone(),
                    "input_json_delta" => {
                        let prev = block
                            .get("json")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_owned();
                        block["json"] =
                            json!(format!("{prev}{}", d["partial_json"].as_str().unwrap()));
                    }
                    other => panic!("unexpected delta {other}"),
                }
            }
            _ => {}
        }
    }
    for b in &mut out {
        if let Some(j) = b.as_object_mut().and_then(|o| o.remove("json")) {
            b["input"] = serde_json::from_str(j.as_str().unwrap()).unwrap();
        }
    }
    out
}

fn message_delta(events: &[Value]) -> Value {
    events
        .iter()
        .find(|e| e["type"] == "message_delta")
        .cloned()
        .unwrap_or_else(|| panic!("no message_delta in {events:#?}"))
}

// ---------------------------------------------------------------------------------------------
// Encoding

#[test]
fn the_system_prompt_becomes_the_system_instruction_and_turns_get_gemini_roles() {
    let sent = encode(json!({
        "model": "gemini/gemini-2.5-pro", "max_tokens": 1000,
        "system": [{"type": "text", "text": "x-anthropic-billing-header: cc_version=2.1"}, {"type": "text", "text": "You are terse.", "cache_control": {"type": "ephemeral"}}],
        "messages": [
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": [{"type": "text", "text": "Hello."}]},
            {"role": "user", "content": [{"type": "text", "text": "Bye"}]}
        ]
    }));
    assert_eq!(
        sent["systemInstruction"],
        json!({"parts": [{"text": "x-anthropic-billing-header: cc_version=2.1\n\nYou are terse."}]})
    );
    assert_eq!(
        sent["contents"],
        json!([
            {"role": "user", "parts": [{"text": "Hi"}]},
            {"role": "model", "parts": [{"text": "Hello."}]},
            {"role": "user", "parts": [{"text": "Bye"}]}
        ])
    );
    assert_eq!(sent["generationConfig"], json!({"maxOutputTokens": 1000}));
    assert!(sent.get("tools").is_none() && sent.get("toolConfig").is_none());
}

#[test]
fn mid_conversation_system_turns_are_user_text_in_place_after_open_calls() {
    let sent = encode(request(json!([
        {"role": "user", "content": "List files"},
        {"role": "system", "content": [{"type": "text", "text": "<system-reminder>Plan mode is off.</system-reminder>", "cache_control": {"type": "ephemeral"}}]},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {"command": "ls"}}]},
        {"role": "system", "content": "The user changed directory."},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "a.txt"}]}
    ])));
    assert_eq!(
        sent["contents"],
        json!([
            {"role": "user", "parts": [{"text": "List files"}, {"text": "<system-reminder>Plan mode is off.</system-reminder>"}]},
            {"role": "model", "parts": [{"functionCall": {"name": "Bash", "args": {"command": "ls"}}}]},
            {"role": "user", "parts": [
                {"functionResponse": {"name": "Bash", "response": {"output": "a.txt"}}},
                {"text": "The user changed directory."}
            ]}
        ])
    );
}

#[test]
fn images_and_pdfs_become_inline_data_and_urls_file_data() {
    let sent = encode(request(json!([{"role": "user", "content": [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
        {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.JPG?size=2"}},
        {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0xLjQ="}, "title": "spec"},
        {"type": "document", "source": {"type": "url", "url": "https://example.com/paper.pdf"}},
        {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "plain words"}, "title": "notes.txt"},
        {"type": "text", "text": "What are these?"}
    ]}])));
    assert_eq!(
        sent["contents"][0]["parts"],
        json!([
            {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}},
            {"fileData": {"mimeType": "image/jpeg", "fileUri": "https://example.com/cat.JPG?size=2"}},
            {"inlineData": {"mimeType": "application/pdf", "data": "JVBERi0xLjQ="}},
            {"fileData": {"mimeType": "application/pdf", "fileUri": "https://example.com/paper.pdf"}},
            {"text": "notes.txt\n\nplain words"},
            {"text": "What are these?"}
        ])
    );
}

#[test]
fn an_image_url_of_unknown_type_is_refused_naming_the_fix() {
    let bytes = serde_json::to_vec(&request(json!([{"role": "user", "content": [
        {"type": "image", "source": {"type": "url", "url": "https://example.com/render?id=7"}}
    ]}])))
    .unwrap();
    let req = MessagesRequest::parse(&bytes).unwrap();
    let err = encode_request(&req, "gemini-2.5-pro", None).unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidRequest);
    assert!(
        err.message.contains("attach the image itself"),
        "{}",
        err.message
    );
}

#[test]
fn a_tool_loop_sends_calls_and_named_responses_with_errors_and_images() {
    let sent = encode(json!({
        "model": "gemini/gemini-2.5-pro", "max_tokens": 1000,
        "tools": [
            {"name": "Read", "description": "Read a file", "input_schema": {"$schema": "http://json-schema.org/draft-07/schema#", "type": "object", "properties": {"file_path": {"type": "string"}}, "required": ["file_path"], "additionalProperties": false}},
            {"name": "Bash", "input_schema": {"type": "object", "properties": {"command": {"type": "string"}}}},
            {"type": "web_search_20250305", "name": "web_search", "max_uses": 5}
        ],
        "messages": [
            {"role": "user", "content": "Look at the screenshot and run ls"},
            {"role": "assistant", "content": [
                {"type": "text", "text": "Both at once."},
                {"type": "tool_use", "id": "toolu_A", "name": "Read", "input": {"file_path": "/shot.png"}},
                {"type": "tool_use", "id": "toolu_B", "name": "Bash", "input": {"command": "ls"}}
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_A", "content": [{"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBOR"}}]},
                {"type": "tool_result", "tool_use_id": "toolu_B", "content": [{"type": "text", "text": "ls: permission denied"}], "is_error": true},
                {"type": "text", "text": "Go on."}
            ]}
        ]
    }));
    assert_eq!(
        sent["contents"],
        json!([
            {"role": "user", "parts": [{"text": "Look at the screenshot and run ls"}]},
            {"role": "model", "parts": [
                {"text": "Both at once."},
                {"functionCall": {"name": "Read", "args": {"file_path": "/shot.png"}}},
                {"functionCall": {"name": "Bash", "args": {"command": "ls"}}}
            ]},
            {"role": "user", "parts": [
                {"functionResponse": {"name": "Read", "response": {"output": "(no output)"}}},
                {"functionResponse": {"name": "Bash", "response": {"error": "ls: permission denied"}}},
                {"text": "The Read call returned this as well:"},
                {"inlineData": {"mimeType": "image/png", "data": "iVBOR"}},
                {"text": "Go on."}
            ]}
        ])
    );
    // Gemini 2.5 takes the schema as JSON Schema, all but `$schema`; server tools are dropped.
    assert_eq!(
        sent["tools"],
        json!([{"functionDeclarations": [
            {"name": "Read", "description": "Read a file", "parametersJsonSchema": {"type": "object", "properties": {"file_path": {"type": "string"}}, "required": ["file_path"], "additionalProperties": false}},
            {"name": "Bash", "parametersJsonSchema": {"type": "object", "properties": {"command": {"type": "string"}}}}
        ]}])
    );
}

#[test]
fn calls_left_unanswered_get_a_response_and_results_of_forgotten_calls_become_text() {
    let sent = encode(request(json!([
        {"role": "user", "content": "go"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {"command": "sleep 99"}}]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_gone", "content": "old output"},
            {"type": "text", "text": "[Request interrupted by user]"}
        ]}
    ])));
    assert_eq!(
        sent["contents"][2],
        json!({"role": "user", "parts": [
            {"functionResponse": {"name": "Bash", "response": {"error": "(no result was recorded for this tool call)"}}},
            {"text": "Result of an earlier tool call: old output"},
            {"text": "[Request interrupted by user]"}
        ]})
    );
}

#[test]
fn consecutive_turns_of_one_role_merge() {
    let sent = encode(request(json!([
        {"role": "user", "content": "one"},
        {"role": "user", "content": [{"type": "text", "text": "two"}]},
        {"role": "assistant", "content": "three"},
        {"role": "assistant", "content": [{"type": "thinking", "thinking": "unsigned", "signature": ""}, {"type": "text", "text": "four"}]},
        {"role": "user", "content": "five"}
    ])));
    assert_eq!(
        sent["contents"],
        json!([
            {"role": "user", "parts": [{"text": "one"}, {"text": "two"}]},
            {"role": "model", "parts": [{"text": "three"}, {"text": "four"}]},
            {"role": "user", "parts": [{"text": "five"}]}
        ])
    );
}

#[test]
fn tool_choice_becomes_the_function_calling_mode() {
    let with_choice = |choice: Value| {
        let mut body = request(json!([{"role": "user", "content": "hi"}]));
        body["tools"] = json!([{"name": "Bash", "input_schema": {"type": "object", "properties": {"command": {"type": "string"}}}}]);
        body["tool_choice"] = choice;
        encode(body)["toolConfig"].clone()
    };
    assert_eq!(
        with_choice(json!({"type": "auto"})),
        json!({"functionCallingConfig": {"mode": "AUTO"}})
    );
    assert_eq!(
        with_choice(json!({"type": "any"})),
        json!({"functionCallingConfig": {"mode": "ANY"}})
    );
    assert_eq!(
        with_choice(json!({"type": "tool", "name": "Bash", "disable_parallel_tool_use": true})),
        json!({"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["Bash"]}})
    );
    assert_eq!(
        with_choice(json!({"type": "none"})),
        json!({"functionCallingConfig": {"mode": "NONE"}})
    );
    // No tools, no tool config.
    let mut body = request(json!([{"role": "user", "content": "hi"}]));
    body["tool_choice"] = json!({"type": "any"});
    assert!(encode(body).get("toolConfig").is_none());
}

#[test]
fn sampling_stop_sequences_and_structured_output_go_in_the_generation_config() {
    let mut body = request(json!([{"role": "user", "content": "title?"}]));
    body["temperature"] = json!(0.2);
    body["top_p"] = json!(0.9);
    body["top_k"] = json!(40);
    body["stop_sequences"] = json!(["a", "b", "c", "d", "e", "f"]);
    body["output_config"] = json!({"format": {"type": "json_schema", "schema": {"$schema": "x", "type": "object", "properties": {"title": {"type": "string"}}}}});
    let config = encode(body.clone())["generationConfig"].clone();
    assert_eq!(
        config,
        json!({
            "maxOutputTokens": 1000, "temperature": 0.2, "topP": 0.9, "topK": 40,
            "stopSequences": ["a", "b", "c", "d", "e"],
            "responseMimeType": "application/json",
            "responseJsonSchema": {"type": "object", "properties": {"title": {"type": "string"}}}
        })
    );
    let old = encode_for("gemini-2.0-flash", body)["generationConfig"].clone();
    assert_eq!(
        old["responseSchema"],
        json!({"type": "OBJECT", "properties": {"title": {"type": "STRING"}}})
    );
}

#[test]
fn thinking_maps_to_a_budget_on_2_5_and_a_level_on_3() {
    let config = |model: &str, thinking: Value, effort: Option<&str>| {
        let mut body = request(json!([{"role": "user", "content": "hi"}]));
        if !thinking.is_null() {
            body["thinking"] = thinking;
        }
        if let Some(e) = effort {
            body["output_config"] = json!({"effort": e});
        }
        encode_for(model, body)["generationConfig"]
            .get("thinkingConfig")
            .cloned()
            .unwrap_or(Value::Null)
    };
    let budget = |n: i64| json!({"thinkingBudget": n, "includeThoughts": true});
    let level = |l: &str| json!({"thinkingLevel": l, "includeThoughts": true});
    let enabled = |b: u64| json!({"type": "enabled", "budget_tokens": b});
    // 2.5: the budget, clamped to the model's range; effort buckets; adaptive is dynamic.
    assert_eq!(
        config("gemini-2.5-pro", enabled(31_999), None),
        budget(31_999)
    );
    assert_eq!(
        config("gemini-2.5-pro", enabled(64_000), None),
        budget(32_768)
    );
    assert_eq!(
        config("gemini-2.5-flash", enabled(31_999), None),
        budget(24_576)
    );
    assert_eq!(
        config("gemini-2.5-flash-lite", enabled(100), None),
        budget(512)
    );
    assert_eq!(
        config("gemini-2.5-pro", json!({"type": "adaptive"}), None),
        budget(-1)
    );
    assert_eq!(
        config("gemini-2.5-pro", json!({"type": "adaptive"}), Some("low")),
        budget(2_048)
    );
    assert_eq!(
        config(
            "gemini-2.5-flash",
            json!({"type": "adaptive"}),
            Some("medium")
        ),
        budget(8_192)
    );
    assert_eq!(
        config(
            "gemini-2.5-flash",
            json!({"type": "adaptive"}),
            Some("high")
        ),
        budget(-1)
    );
    assert_eq!(
        config("gemini-2.5-pro", json!({"type": "adaptive"}), Some("max")),
        budget(32_768)
    );
    // Off: Flash stops thinking; Pro cannot, so nothing is sent; absent says nothing.
    assert_eq!(
        config("gemini-2.5-flash", json!({"type": "disabled"}), None),
        json!({"thinkingBudget": 0})
    );
    assert_eq!(
        config("gemini-2.5-pro", json!({"type": "disabled"}), None),
        Value::Null
    );
    assert_eq!(config("gemini-2.5-pro", Value::Null, None), Value::Null);
    // 3: levels; a level the model lacks moves up.
    assert_eq!(
        config(
            "gemini-3-pro-preview",
            json!({"type": "adaptive"}),
            Some("high")
        ),
        level("HIGH")
    );
    assert_eq!(
        config(
            "gemini-3-pro-preview",
            json!({"type": "adaptive"}),
            Some("medium")
        ),
        level("HIGH")
    );
    assert_eq!(
        config(
            "gemini-3.1-pro-preview",
            json!({"type": "adaptive"}),
            Some("medium")
        ),
        level("MEDIUM")
    );
    assert_eq!(
        config("gemini-3-flash-preview", enabled(2_000), None),
        level("LOW")
    );
    assert_eq!(
        config("gemini-3-flash-preview", enabled(10_000), None),
        level("MEDIUM")
    );
    assert_eq!(
        config("gemini-3-flash-preview", enabled(31_999), None),
        level("HIGH")
    );
    assert_eq!(
        config("gemini-3-flash-preview", json!({"type": "adaptive"}), None),
        json!({"includeThoughts": true})
    );
    assert_eq!(
        config("gemini-3-flash-preview", json!({"type": "disabled"}), None),
        json!({"thinkingLevel": "MINIMAL"})
    );
    assert_eq!(
        config("gemini-3-pro-preview", json!({"type": "disabled"}), None),
        json!({"thinkingLevel": "LOW"})
    );
    // Before 2.5 there is no thinking to configure.
    assert_eq!(
        config("gemini-2.0-flash", enabled(8_000), None),
        Value::Null
    );
}

#[test]
fn models_before_2_5_get_a_cleaned_openapi_schema() {
    let mut body = request(json!([{"role": "user", "content": "hi"}]));
    body["tools"] = json!([
        {"name": "Edit", "description": "Edit a file", "input_schema": {
            "$schema": "http://json-schema.org/draft-07/schema#",
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "file_path": {"type": "string", "format": "uri"},
                "mode": {"const": "replace"},
                "count": {"type": ["integer", "null"], "exclusiveMinimum": 0},
                "when": {"type": "string", "format": "date-time"},
                "edits": {"type": "array", "items": {"$ref": "#/$defs/edit"}},
                "target": {"oneOf": [{"type": "string"}, {"type": "number"}]},
                "meta": {"allOf": [{"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}, {"properties": {"b": {"type": "boolean"}}}]}
            },
            "required": ["file_path", "missing"],
            "$defs": {"edit": {"type": "object", "properties": {"old": {"type": "string"}, "new": {"type": "string"}}, "required": ["old"], "additionalProperties": false}}
        }},
        {"name": "Noop", "input_schema": {"type": "object", "properties": {}}}
    ]);
    let sent = encode_for("gemini-2.0-flash", body);
    assert_eq!(
        sent["tools"][0]["functionDeclarations"],
        json!([
            {"name": "Edit", "description": "Edit a file", "parameters": {
                "type": "OBJECT",
                "properties": {
                    "file_path": {"type": "STRING"},
                    "mode": {"enum": ["replace"], "type": "STRING"},
                    "count": {"type": "INTEGER", "nullable": true},
                    "when": {"type": "STRING", "format": "date-time"},
                    "edits": {"type": "ARRAY", "items": {"type": "OBJECT", "properties": {"old": {"type": "STRING"}, "new": {"type": "STRING"}}, "required": ["old"]}},
                    "target": {"anyOf": [{"type": "STRING"}, {"type": "NUMBER"}]},
                    "meta": {"type": "OBJECT", "properties": {"a": {"type": "STRING"}, "b": {"type": "BOOLEAN"}}, "required": ["a"]}
                },
                "required": ["file_path"]
            }},
            {"name": "Noop"}
        ])
    );
}

#[test]
fn only_the_top_level_schema_keyword_goes_and_the_rest_keeps_its_order() {
    let raw = RawValue::from_string(
        r#"{"type":"object","$schema":"http://json-schema.org/draft-07/schema#","properties":{"z":{"type":"string","description":"a \"$schema\" word"},"a":{"type":"number"}},"required":["z"]}"#
            .to_owned(),
    )
    .unwrap();
    assert_eq!(
        without_schema_keyword(&raw).get(),
        r#"{"type":"object","properties":{"z":{"type":"string","description":"a \"$schema\" word"},"a":{"type":"number"}},"required":["z"]}"#
    );
    let plain = RawValue::from_string(r#"{"type":"object"}"#.to_owned()).unwrap();
    assert!(matches!(without_schema_keyword(&plain), Cow::Borrowed(_)));
}

#[test]
fn a_recursive_definition_is_cut_short_not_expanded_forever() {
    // A tree whose node refers to itself from ten properties: inlined fully it would have
    // 10^8 nodes at the depth limit.
    let props: serde_json::Map<String, Value> = (0..10)
        .map(|i| (format!("c{i}"), json!({"$ref": "#/$defs/node"})))
        .collect();
    let schema = json!({
        "type": "object",
        "properties": {"root": {"$ref": "#/$defs/node"}},
        "$defs": {"node": {"type": "object", "properties": props}}
    });
    let raw = serde_json::value::to_raw_value(&schema).unwrap();
    let cleaned = legacy_parameters(&raw).unwrap();
    let size = cleaned.to_string().len();
    assert!(size < 200_000, "{size} bytes");
    assert_eq!(cleaned["properties"]["root"]["type"], "OBJECT");
}

#[test]
fn the_url_path_says_whether_to_stream_and_refuses_odd_model_names() {
    assert_eq!(
        path("gemini-2.5-pro", true).unwrap(),
        "/models/gemini-2.5-pro:streamGenerateContent?alt=sse"
    );
    assert_eq!(
        path("models/gemini-2.5-flash", false).unwrap(),
        "/models/gemini-2.5-flash:generateContent"
    );
    for bad in ["../files", "gemini 2", "a?key=x", "", "a/b"] {
        assert!(path(bad, true).is_err(), "{bad}");
    }
}

// ---------------------------------------------------------------------------------------------
// Thought signatures, both ways

/// The next request of a conversation whose last assistant turn is `assistant` (blocks as
/// the client kept them), its calls answered.
fn next_request(model: &str, assistant: Vec<Value>) -> Value {
    let results: Vec<Value> = assistant
        .iter()
        .filter(|b| b["type"] == "tool_use")
        .map(|b| json!({"type": "tool_result", "tool_use_id": b["id"], "content": "done"}))
        .collect();
    let mut messages = vec![
        json!({"role": "user", "content": "Read both files"}),
        json!({"role": "assistant", "content": assistant}),
    ];
    if results.is_empty() {
        messages.push(json!({"role": "user", "content": "thanks"}));
    } else {
        messages.push(json!({"role": "user", "content": results}));
    }
    encode_for(
        model,
        json!({"model": format!("gemini/{model}"), "max_tokens": 100, "messages": messages}),
    )
}

#[test]
fn a_signed_function_call_turn_streams_thinking_then_calls_and_its_signature_comes_back() {
    let model = "gemini-3-pro-preview";
    let events = decode(model, &fixture("stream_function_calls_signed.sse"), 4096);
    assert_eq!(
        types(&events),
        [
            "message_start",
            "start:thinking",
            "delta:thinking_delta",
            "delta:signature_delta",
            "content_block_stop",
            "start:tool_use",
            "delta:input_json_delta",
            "content_block_stop",
            "start:tool_use",
            "delta:input_json_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ]
    );
    let content = blocks(&events);
    assert_eq!(
        content[0]["thinking"],
        "**Reading the files**\n\nI should look at both."
    );
    let signature = content[0]["signature"].as_str().unwrap();
    assert!(
        signature.starts_with("bgw1.gemini.gemini-3-pro-preview."),
        "{signature}"
    );
    assert!(signer(model).wrote(signature, content[0]["thinking"].as_str().unwrap()));
    assert_eq!(content[1]["name"], "Read");
    assert_eq!(content[1]["input"], json!({"file_path": "/src/main.rs"}));
    assert_eq!(content[2]["input"], json!({"file_path": "/src/lib.rs"}));
    let (a, b) = (
        content[1]["id"].as_str().unwrap(),
        content[2]["id"].as_str().unwrap(),
    );
    assert!(a.starts_with("toolu_") && b.starts_with("toolu_") && a != b);
    let delta = message_delta(&events);
    assert_eq!(delta["delta"]["stop_reason"], "tool_use");
    assert_eq!(delta["usage"]["output_tokens"], 54);

    // The next request: the signature back on the first call, no thought text, names on the
    // responses.
    let sent = next_request(model, content);
    assert_eq!(
        sent["contents"][1],
        json!({"role": "model", "parts": [
            {"functionCall": {"name": "Read", "args": {"file_path": "/src/main.rs"}},
             "thoughtSignature": "CiQBcsjafDNqE6bXd4mZBk7vhc1ps2Kkq8sbjIXHJcGRmIo1OOgKYAFyyNp8X9Ya9Pz0Bv6qVE2AmSgHzvFcd0Gg9YcA"},
            {"functionCall": {"name": "Read", "args": {"file_path": "/src/lib.rs"}}}
        ]})
    );
    assert_eq!(
        sent["contents"][2]["parts"][1],
        json!({"functionResponse": {"name": "Read", "response": {"output": "done"}}})
    );
}

#[test]
fn a_text_signature_on_the_last_chunk_rides_after_the_text_and_returns_to_it() {
    let model = "gemini-3-flash-preview";
    let events = decode(model, &fixture("stream_text_signed_last.sse"), 7);
    assert_eq!(
        types(&events),
        [
            "message_start",
            "start:text",
            "delta:text_delta",
            "delta:text_delta",
            "content_block_stop",
            "start:thinking",
            "delta:signature_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ]
    );
    let content = blocks(&events);
    assert_eq!(content[0]["text"], "The answer is 42.");
    assert_eq!(content[1]["thinking"], "");
    let sent = next_request(model, content);
    assert_eq!(
        sent["contents"][1],
        json!({"role": "model", "parts": [
            {"text": "The answer is 42.", "thoughtSignature": "EjQKMgEMOdbHvZ6Xn0a1cM1q2n8Yt6qkHh3n4oA8s+Ue/7c5y1N0eQ=="}
        ]})
    );
}

#[test]
fn a_signature_on_a_call_without_thoughts_gets_an_empty_thinking_block_before_it() {
    let model = "gemini-2.5-flash";
    let msg = decode_body(
        &fixture("response_function_call.json"),
        "gemini/gemini-2.5-flash",
        Some(&signer(model)),
    )
    .unwrap();
    let v: Value = serde_json::from_slice(&msg.to_json()).unwrap();
    let content = v["content"].as_array().unwrap().clone();
    assert_eq!(content.len(), 3, "{v}");
    assert_eq!(content[0]["type"], "thinking");
    assert_eq!(content[0]["thinking"], "");
    assert_eq!(
        content[1],
        json!({"type": "text", "text": "I'll list the directory."})
    );
    assert_eq!(content[2]["type"], "tool_use");
    assert_eq!(content[2]["input"], json!({"command": "ls -la"}));
    assert_eq!(v["stop_reason"], "tool_use");
    assert_eq!(
        v["usage"],
        json!({"input_tokens": 812, "output_tokens": 71, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0})
    );
    let sent = next_request(model, content);
    assert_eq!(
        sent["contents"][1]["parts"],
        json!([
            {"text": "I'll list the directory.", "thoughtSignature": "Cp8BAXLI2nw5d0w"},
            {"functionCall": {"name": "Bash", "args": {"command": "ls -la"}}}
        ])
    );
}

#[test]
fn thinking_from_another_model_or_provider_or_with_a_bad_signature_is_dropped() {
    let model = "gemini-3-pro-preview";
    let events = decode(model, &fixture("stream_function_calls_signed.sse"), 4096);
    let mut content = blocks(&events);
    // The same turn, but its thinking block reaches another Gemini model, or is tampered with.
    for (to, tamper) in [("gemini-2.5-pro", false), (model, true)] {
        let mut c = content.clone();
        if tamper {
            c[0]["thinking"] = json!("I should look at one.");
        }
        let sent = next_request(to, c);
        let parts = sent["contents"][1]["parts"].as_array().unwrap();
        let sigs: Vec<&Value> = parts
            .iter()
            .filter_map(|p| p.get("thoughtSignature"))
            .collect();
        if to.starts_with("gemini-3") {
            assert_eq!(sigs, [&json!(SKIP_SIGNATURE)], "{sent}");
        } else {
            assert!(sigs.is_empty(), "{sent}");
        }
        assert!(!sent.to_string().contains("I should look"), "{sent}");
    }
    // Anthropic's thinking (and anything unsigned or redacted) never reaches Gemini.
    content[0] = json!({"type": "thinking", "thinking": "Claude's plan", "signature": "EqQBCkgIARABGAIiQL2Zs1o9=="});
    content.insert(1, json!({"type": "redacted_thinking", "data": "xyz"}));
    let sent = next_request(model, content);
    assert!(!sent.to_string().contains("Claude's plan"), "{sent}");
    assert_eq!(
        sent["contents"][1]["parts"][0]["thoughtSignature"],
        SKIP_SIGNATURE
    );
}

#[test]
fn gemini_3_gets_the_documented_stand_in_on_the_first_call_of_each_turn_from_another_model() {
    let history = json!([
        {"role": "user", "content": "go"},
        {"role": "assistant", "content": [
            {"type": "text", "text": "Two calls."},
            {"type": "tool_use", "id": "call_1", "name": "Bash", "input": {"command": "a"}},
            {"type": "tool_use", "id": "call_2", "name": "Bash", "input": {"command": "b"}}
        ]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "call_1", "content": "A"},
            {"type": "tool_result", "tool_use_id": "call_2", "content": "B"}
        ]},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "call_3", "name": "Bash", "input": {"command": "c"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "call_3", "content": "C"}]}
    ]);
    let sent = encode_for("gemini-3-pro-preview", request(history.clone()));
    let signatures = |sent: &Value| -> Vec<Value> {
        sent["contents"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["role"] == "model")
            .flat_map(|c| c["parts"].as_array().unwrap().clone())
            .map(|p| p.get("thoughtSignature").cloned().unwrap_or(Value::Null))
            .collect()
    };
    assert_eq!(
        signatures(&sent),
        [
            Value::Null,
            json!(SKIP_SIGNATURE),
            Value::Null,
            json!(SKIP_SIGNATURE)
        ]
    );
    // Gemini 2.5 does not need them.
    let sent = encode(request(history));
    assert!(signatures(&sent).iter().all(Value::is_null));
}

#[test]
fn ids_gemini_gives_its_calls_go_back_to_it() {
    let body = br#"{"candidates":[{"content":{"role":"model","parts":[{"functionCall":{"id":"fc.7:x","name":"Bash","args":{"command":"pwd"}}}]},"finishReason":"STOP"}]}"#;
    let model = "gemini-3-flash-preview";
    let msg = decode_body(body, "gemini/gemini-3-flash-preview", Some(&signer(model))).unwrap();
    let v: Value = serde_json::from_slice(&msg.to_json()).unwrap();
    let id = v["content"][0]["id"].as_str().unwrap();
    assert!(tool_id::is_valid(id) && id.starts_with("toolu_gm_"), "{id}");
    let sent = next_request(model, v["content"].as_array().unwrap().clone());
    assert_eq!(
        sent["contents"][1]["parts"][0]["functionCall"]["id"],
        "fc.7:x"
    );
    assert_eq!(
        sent["contents"][2]["parts"][0]["functionResponse"]["id"],
        "fc.7:x"
    );
}

// ---------------------------------------------------------------------------------------------
// Decoding

#[test]
fn thoughts_then_text_stream_the_same_whatever_the_split() {
    let input = fixture("stream_thoughts_text.sse");
    let whole = decode("gemini-2.5-pro", &input, 4096);
    for piece in [1, 7] {
        let mut split = decode("gemini-2.5-pro", &input, piece);
        // Message ids differ per decoder; nothing else may.
        split[0]["message"]["id"] = whole[0]["message"]["id"].clone();
        assert_eq!(split, whole, "split at {piece}");
    }
    assert_eq!(
        types(&whole),
        [
            "message_start",
            "start:thinking",
            "delta:thinking_delta",
            "delta:thinking_delta",
            "delta:signature_delta",
            "content_block_stop",
            "start:text",
            "delta:text_delta",
            "delta:text_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ]
    );
    let start = &whole[0]["message"];
    assert_eq!(start["model"], "gemini/gemini-2.5-pro");
    assert_eq!(start["usage"]["input_tokens"], 1200);
    let content = blocks(&whole);
    let thinking =
        "**Greeting the user**\n\nThe user wants a short hello. I will keep it to two words.";
    assert_eq!(content[0]["thinking"], thinking);
    assert!(signer("gemini-2.5-pro").wrote(content[0]["signature"].as_str().unwrap(), thinking));
    assert_eq!(content[1], json!({"type": "text", "text": "Hello, world."}));
    let delta = message_delta(&whole);
    assert_eq!(
        delta["delta"],
        json!({"stop_reason": "end_turn", "stop_sequence": null})
    );
    // promptTokenCount includes the cached tokens; thoughts count as output.
    assert_eq!(
        delta["usage"],
        json!({"input_tokens": 176, "output_tokens": 100, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 1024})
    );
    // Thought text never goes back; the turn's text does.
    let sent = next_request("gemini-2.5-pro", content);
    assert_eq!(
        sent["contents"][1],
        json!({"role": "model", "parts": [{"text": "Hello, world."}]})
    );
}

#[test]
fn max_tokens_ends_the_message_with_max_tokens() {
    let events = decode("gemini-2.5-pro", &fixture("stream_max_tokens.sse"), 5);
    assert_eq!(message_delta(&events)["delta"]["stop_reason"], "max_tokens");
    assert_eq!(message_delta(&events)["usage"]["output_tokens"], 16);
    assert_eq!(
        blocks(&events),
        [json!({"type": "text", "text": "A long story begins and goes"})]
    );
}

#[test]
fn an_error_mid_stream_ends_it_with_an_error_event_of_its_kind() {
    let events = decode("gemini-2.5-pro", &fixture("stream_error_midstream.sse"), 3);
    let last = events.last().unwrap();
    assert_eq!(last["type"], "error");
    assert_eq!(last["error"]["type"], "overloaded_error");
    assert_eq!(
        last["error"]["message"],
        "gemini/gemini-2.5-pro: The model is overloaded. Please try again later."
    );
    assert!(!types(&events).contains(&"message_stop".to_owned()));
}

#[test]
fn a_stream_cut_before_its_finish_reason_is_an_error() {
    let input = fixture("stream_thoughts_text.sse");
    let cut = &input[..input.len() - 200];
    let events = decode("gemini-2.5-pro", cut, 64);
    assert_eq!(events.last().unwrap()["type"], "error");
    assert!(
        events.last().unwrap()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("ended before")
    );
}

#[test]
fn a_safety_stop_is_a_refusal_that_says_why() {
    let events = decode("gemini-2.5-flash", &fixture("stream_safety.sse"), 11);
    assert_eq!(message_delta(&events)["delta"]["stop_reason"], "refusal");
    let content = blocks(&events);
    assert_eq!(content[0]["text"], "I can");
    assert_eq!(
        content[1]["text"],
        "(Gemini stopped this answer: finish reason SAFETY.)"
    );
}

#[test]
fn a_blocked_prompt_is_a_refusal_that_names_the_block_reason() {
    let msg = decode_body(
        &fixture("response_prompt_blocked.json"),
        "gemini/gemini-2.5-flash",
        None,
    )
    .unwrap();
    let v: Value = serde_json::from_slice(&msg.to_json()).unwrap();
    assert_eq!(v["stop_reason"], "refusal");
    assert_eq!(
        v["content"],
        json!([{"type": "text", "text": "(Gemini refused the prompt: block reason PROHIBITED_CONTENT.)"}])
    );
    assert_eq!(v["usage"]["input_tokens"], 9);
}

#[test]
fn a_malformed_function_call_ends_the_turn_with_googles_message() {
    let body = br#"{"candidates":[{"content":{"role":"model","parts":[]},"finishReason":"MALFORMED_FUNCTION_CALL","finishMessage":"Malformed function call: print(default_api.Bash(command='ls'"}]}"#;
    let msg = decode_body(body, "gemini/gemini-2.5-pro", None).unwrap();
    let v: Value = serde_json::from_slice(&msg.to_json()).unwrap();
    assert_eq!(v["stop_reason"], "end_turn");
    assert_eq!(
        v["content"][0]["text"],
        "(Gemini stopped this answer: finish reason MALFORMED_FUNCTION_CALL: Malformed function call: print(default_api.Bash(command='ls'.)"
    );
}

#[test]
fn a_body_that_is_not_a_response_is_an_error_quoting_it() {
    let err = decode_body(b"<html>502</html>", "gemini/gemini-2.5-pro", None).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Api);
    assert!(err.message.contains("<html>502</html>"), "{}", err.message);
}

// ---------------------------------------------------------------------------------------------
// Errors

#[test]
fn google_statuses_map_to_anthropic_kinds() {
    let err = upstream_error("gemini", 429, &fixture("error_429.json"));
    assert_eq!((err.status, err.kind), (429, ErrorKind::RateLimit));
    assert_eq!(err.retry_after, Some(28));
    assert_eq!(
        err.message,
        "gemini: You exceeded your current quota, please check your plan and billing details."
    );

    let err = upstream_error("gemini", 400, &fixture("error_400_api_key.json"));
    assert_eq!((err.status, err.kind), (401, ErrorKind::Authentication));

    let err = upstream_error("gemini", 400, &fixture("error_400_schema.json"));
    assert_eq!((err.status, err.kind), (400, ErrorKind::InvalidRequest));
    assert!(
        err.message
            .starts_with("gemini: Invalid JSON payload received."),
        "{}",
        err.message
    );

    let err = upstream_error("gemini", 404, &fixture("error_404_model.json"));
    assert_eq!((err.status, err.kind), (404, ErrorKind::NotFound));

    let err = upstream_error("gemini", 403, &fixture("error_403.json"));
    assert_eq!((err.status, err.kind), (401, ErrorKind::Authentication));
    assert_eq!(
        err.message,
        "gemini: Your API key was reported as leaked. Please use another API key."
    );

    let err = upstream_error(
        "gemini",
        503,
        br#"{"error":{"code":503,"message":"The model is overloaded.","status":"UNAVAILABLE"}}"#,
    );
    assert_eq!((err.status, err.kind), (503, ErrorKind::Overloaded));

    let err = upstream_error(
        "gemini",
        500,
        br#"[{"error":{"code":500,"message":"Internal error encountered.","status":"INTERNAL"}}]"#,
    );
    assert_eq!((err.status, err.kind), (500, ErrorKind::Api));
    assert_eq!(err.message, "gemini: Internal error encountered.");

    let err = upstream_error("gemini", 502, b"Bad Gateway");
    assert_eq!((err.status, err.kind), (500, ErrorKind::Api));
    assert_eq!(err.message, "gemini: Bad Gateway");
}

#[test]
fn a_prompt_over_the_window_reads_as_anthropics_so_claude_code_compacts() {
    let err = upstream_error("gemini", 400, &fixture("error_400_too_long.json"));
    assert_eq!((err.status, err.kind), (400, ErrorKind::InvalidRequest));
    assert_eq!(
        err.message,
        "prompt is too long: 1200293 tokens > 1048576 maximum"
    );
}

#[test]
fn durations_round_up_to_whole_seconds() {
    assert_eq!(seconds("30s"), Some(30));
    assert_eq!(seconds("1.5s"), Some(2));
    assert_eq!(seconds("0s"), Some(0));
    assert_eq!(seconds("soon"), None);
}
