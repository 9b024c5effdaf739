//! Claude Code's own requests (captured from the real CLI in tests/fixtures/claude_code/,
//! plus a synthetic one with thinking and parallel calls) encoded for OpenAI.
use super::*;
use serde_json::{Value, json};

/// What any Claude Code request must look like once encoded for OpenAI.
fn check_claude_code_request(body: &[u8]) -> Value {
    #[derive(serde::Deserialize)]
    struct Encoded<'a> {
        #[serde(default, borrow)]
        tools: Vec<EncodedTool<'a>>,
    }
    #[derive(serde::Deserialize)]
    struct EncodedTool<'a> {
        #[serde(borrow)]
        function: EncodedFunction<'a>,
    }
    #[derive(serde::Deserialize)]
    struct EncodedFunction<'a> {
        name: &'a str,
        #[serde(borrow)]
        parameters: &'a RawValue,
    }
    let req = MessagesRequest::parse(body).unwrap();
    let bytes = encode_request(&req, "gpt-5", &Quirks::OPENAI, true).unwrap();
    let encoded: Encoded<'_> = serde_json::from_slice(&bytes).unwrap();
    let custom: Vec<_> = req
        .tools
        .iter()
        .flatten()
        .filter(|t| t.is_custom())
        .collect();
    assert_eq!(encoded.tools.len(), custom.len());
    for (out, inp) in encoded.tools.iter().zip(&custom) {
        assert_eq!(out.function.name, inp.name);
        assert_eq!(
            out.function.parameters.get(),
            inp.input_schema.unwrap().get(),
            "schema of {} kept byte for byte",
            inp.name
        );
    }
    let text = String::from_utf8(bytes).unwrap();
    for gone in [
        "\"thinking\":",
        "\"signature\":",
        "\"cache_control\":",
        "\"context_management\":",
        "\"output_config\":",
        "\"defer_loading\":",
        "\"top_k\":",
    ] {
        assert!(!text.contains(gone), "{gone} leaked into the OpenAI body");
    }
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["model"], "gpt-5");
    assert_eq!(v["messages"][0]["role"], "system");
    assert!(v.get("temperature").is_none());
    assert!(v["user"].as_str().is_none_or(|u| u.len() <= 64));
    v
}

#[test]
fn claude_code_like_request_is_encoded_for_openai() {
    let body = std::fs::read(format!(
        "{}/tests/fixtures/openai/claude_code_like_request.json",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let v = check_claude_code_request(&body);
    assert_eq!(v["tools"].as_array().unwrap().len(), 12);
    let roles: Vec<_> = v["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(
        roles,
        [
            "system",
            "user",
            "assistant",
            "tool",
            "tool",
            "system",
            "assistant",
            "tool",
            "user"
        ]
    );
    assert!(
        v["messages"][0]["content"]
            .as_str()
            .unwrap()
            .contains("You are Claude Code")
    );
    assert!(
        v["messages"][5]["content"]
            .as_str()
            .unwrap()
            .contains("TodoWrite")
    );
    assert_eq!(v["messages"][2]["tool_calls"].as_array().unwrap().len(), 2);
    assert_eq!(v["reasoning_effort"], "medium");
    assert_eq!(v["max_completion_tokens"], 32000);
    assert_eq!(v["tool_choice"], "auto");
    assert_eq!(v["stream_options"], json!({"include_usage":true}));
    assert!(v["user"].as_str().unwrap().starts_with("bgw-"));
}

fn claude_code_capture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/claude_code/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn captured_claude_code_first_turn_is_encoded_for_openai() {
    let v = check_claude_code_request(&claude_code_capture("request_first_turn.json"));
    assert_eq!(v["tools"].as_array().unwrap().len(), 12);
    let roles: Vec<_> = v["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    // The system prompt, the user turn, then Claude Code's mid-conversation environment message.
    assert_eq!(roles, ["system", "user", "system"]);
    assert!(
        v["messages"][2]["content"]
            .as_str()
            .unwrap()
            .starts_with("# Environment")
    );
    assert_eq!(v["reasoning_effort"], "medium");
    assert_eq!(v["max_completion_tokens"], 128000);
}

#[test]
fn captured_claude_code_tool_result_turn_is_encoded_for_openai() {
    let v = check_claude_code_request(&claude_code_capture("request_tool_result.json"));
    let m = v["messages"].as_array().unwrap();
    let roles: Vec<_> = m.iter().map(|m| m["role"].as_str().unwrap()).collect();
    assert_eq!(roles, ["system", "user", "system", "assistant", "tool"]);
    let call = &m[3]["tool_calls"][0];
    assert_eq!(m[4]["tool_call_id"], call["id"]);
    let args: Value =
        serde_json::from_str(call["function"]["arguments"].as_str().unwrap()).unwrap();
    assert!(args.is_object());
}

#[test]
fn captured_claude_code_requests_without_tool_search_and_for_titles_encode() {
    let v = check_claude_code_request(&claude_code_capture(
        "request_first_turn_no_tool_search.json",
    ));
    assert_eq!(v["tools"].as_array().unwrap().len(), 21);
    let v = check_claude_code_request(&claude_code_capture("request_title_generation.json"));
    assert!(v.get("tools").is_none());
    assert_eq!(
        v["response_format"],
        json!({"type":"json_schema","json_schema":{"name":"output","schema":
            {"type":"object","properties":{"title":{"type":"string"}},"required":["title"],"additionalProperties":false}}})
    );
}
