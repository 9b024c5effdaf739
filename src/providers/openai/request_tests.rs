//! Request encoding, checked against the Chat Completions request shape documented at
//! https://platform.openai.com/docs/api-reference/chat/create and
//! https://platform.openai.com/docs/guides/function-calling , with vendor rules from
//! https://docs.mistral.ai/api/ (tool call ids) and https://openrouter.ai/docs/api-reference/overview .
use super::*;
use crate::messages::ErrorKind;
use crate::messages::signature::ThinkingKey;
use crate::providers::openai::vendors::vendor;
use serde_json::{Value, json};

fn encode_with(body: &str, model: &str, quirks: &Quirks, stream: bool) -> Value {
    let req = MessagesRequest::parse(body.as_bytes()).unwrap();
    let bytes = encode_request(&req, model, quirks, stream).unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

fn encode(body: &str) -> Value {
    encode_with(body, "gpt-4.1", &Quirks::OPENAI, false)
}

/// A request with these messages and nothing else.
fn with_messages(messages: &str) -> String {
    format!(r#"{{"model":"openai/gpt-4.1","max_tokens":100,"messages":{messages}}}"#)
}

#[test]
fn system_string_becomes_the_first_system_message() {
    let v = encode(
        r#"{"model":"m","max_tokens":10,"system":"Be brief.","messages":[{"role":"user","content":"hi"}]}"#,
    );
    assert_eq!(
        v["messages"],
        json!([{"role":"system","content":"Be brief."},{"role":"user","content":"hi"}])
    );
}

#[test]
fn system_blocks_are_joined_and_cache_control_ignored() {
    let v = encode(
        r#"{"model":"m","system":[{"type":"text","text":"x-anthropic-billing-header: cc_version=2.1"},{"type":"text","text":"You are Claude Code.","cache_control":{"type":"ephemeral"}}],"messages":[{"role":"user","content":"hi"}]}"#,
    );
    assert_eq!(
        v["messages"][0],
        json!({"role":"system","content":"x-anthropic-billing-header: cc_version=2.1\n\nYou are Claude Code."})
    );
    assert!(!v.to_string().contains("cache_control"));
}

#[test]
fn mid_conversation_system_messages_stay_in_place() {
    let v = encode(&with_messages(
        r#"[{"role":"user","content":"a"},{"role":"assistant","content":"b"},
            {"role":"system","content":[{"type":"text","text":"Reminder one."},{"type":"text","text":"Two.","cache_control":{"type":"ephemeral"}}]},
            {"role":"user","content":"c"}]"#,
    ));
    assert_eq!(
        v["messages"],
        json!([
            {"role":"user","content":"a"},
            {"role":"assistant","content":"b"},
            {"role":"system","content":"Reminder one.\n\nTwo."},
            {"role":"user","content":"c"}
        ])
    );
}

#[test]
fn images_become_image_url_parts() {
    let v = encode(&with_messages(
        r#"[{"role":"user","content":[
            {"type":"text","text":"What is this?"},
            {"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}},
            {"type":"image","source":{"type":"url","url":"https://example.com/a.jpg"}}]}]"#,
    ));
    assert_eq!(
        v["messages"][0]["content"],
        json!([
            {"type":"text","text":"What is this?"},
            {"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}},
            {"type":"image_url","image_url":{"url":"https://example.com/a.jpg"}}
        ])
    );
}

#[test]
fn tool_use_becomes_tool_calls_with_the_raw_input_as_arguments() {
    let v = encode(&with_messages(
        r#"[{"role":"user","content":"list"},
            {"role":"assistant","content":[{"type":"text","text":"Listing."},{"type":"tool_use","id":"toolu_01A","name":"Bash","input":{ "command" : "ls -la" }}]},
            {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_01A","content":"a\nb"}]}]"#,
    ));
    assert_eq!(
        v["messages"][1],
        json!({"role":"assistant","content":"Listing.","tool_calls":[
            {"id":"toolu_01A","type":"function","function":{"name":"Bash","arguments":"{ \"command\" : \"ls -la\" }"}}]})
    );
    assert_eq!(
        v["messages"][2],
        json!({"role":"tool","tool_call_id":"toolu_01A","content":"a\nb"})
    );
}

#[test]
fn consecutive_assistant_messages_merge_into_one() {
    let v = encode(&with_messages(
        r#"[{"role":"user","content":"go"},
            {"role":"assistant","content":[{"type":"thinking","thinking":"hm","signature":"sig"},{"type":"text","text":"One."}]},
            {"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"Read","input":{"file_path":"a"}},{"type":"tool_use","id":"t2","name":"Read","input":{"file_path":"b"}}]},
            {"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"A"},{"type":"tool_result","tool_use_id":"t2","content":"B"}]}]"#,
    ));
    let m = v["messages"].as_array().unwrap();
    assert_eq!(m.len(), 4);
    assert_eq!(m[1]["content"], "One.");
    assert_eq!(m[1]["tool_calls"].as_array().unwrap().len(), 2);
    assert!(
        m[1].get("reasoning_content").is_none(),
        "thinking is dropped for OpenAI"
    );
}

#[test]
fn tool_results_come_first_in_order_then_the_user_text() {
    let v = encode(&with_messages(
        r#"[{"role":"user","content":"go"},
            {"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"A","input":{}},{"type":"tool_use","id":"t2","name":"B","input":{}}]},
            {"role":"user","content":[
                {"type":"text","text":"and then?"},
                {"type":"tool_result","tool_use_id":"t1","content":[{"type":"text","text":"one"},{"type":"text","text":"two"}]},
                {"type":"tool_result","tool_use_id":"t2","content":"bad path","is_error":true}]}]"#,
    ));
    assert_eq!(
        v["messages"].as_array().unwrap()[2..],
        [
            json!({"role":"tool","tool_call_id":"t1","content":"one\n\ntwo"}),
            json!({"role":"tool","tool_call_id":"t2","content":"Error: bad path"}),
            json!({"role":"user","content":"and then?"})
        ]
    );
}

#[test]
fn error_results_already_saying_error_are_not_prefixed_twice() {
    let v = encode(&with_messages(
        r#"[{"role":"user","content":"go"},{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"A","input":{}}]},
            {"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"Error: exit code 1","is_error":true}]}]"#,
    ));
    assert_eq!(v["messages"][2]["content"], "Error: exit code 1");
}

#[test]
fn image_results_put_text_in_the_tool_message_and_images_in_a_user_message() {
    let v = encode(&with_messages(
        r#"[{"role":"user","content":"shot"},{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"Screenshot","input":{}}]},
            {"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":[
                {"type":"text","text":"Captured."},
                {"type":"image","source":{"type":"base64","media_type":"image/jpeg","data":"/9j/4A=="}}]}]}]"#,
    ));
    assert_eq!(
        v["messages"].as_array().unwrap()[2..],
        [
            json!({"role":"tool","tool_call_id":"t1","content":"Captured."}),
            json!({"role":"user","content":[
                {"type":"text","text":"The image output of tool call t1:"},
                {"type":"image_url","image_url":{"url":"data:image/jpeg;base64,/9j/4A=="}}]})
        ]
    );
}

#[test]
fn pdfs_become_file_parts_named_by_their_title() {
    let v = encode(&with_messages(
        r#"[{"role":"user","content":[
            {"type":"document","title":"Q3 report","source":{"type":"base64","media_type":"application/pdf","data":"JVBERi0xLjQ="}},
            {"type":"text","text":"Summarize it."}]}]"#,
    ));
    assert_eq!(
        v["messages"][0]["content"],
        json!([
            {"type":"file","file":{"filename":"Q3 report.pdf","file_data":"data:application/pdf;base64,JVBERi0xLjQ="}},
            {"type":"text","text":"Summarize it."}
        ])
    );
}

#[test]
fn a_pdf_a_tool_read_goes_in_the_user_message_after_the_tool_message() {
    let v = encode(&with_messages(
        r#"[{"role":"user","content":"read it"},{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"Read","input":{"file_path":"/a.pdf"}}]},
            {"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":[
                {"type":"document","source":{"type":"base64","media_type":"application/pdf","data":"JVBERi0xLjQ="}}]}]}]"#,
    ));
    assert_eq!(
        v["messages"].as_array().unwrap()[2..],
        [
            json!({"role":"tool","tool_call_id":"t1","content":"(the output is the image in the next message)"}),
            json!({"role":"user","content":[
                {"type":"text","text":"The image output of tool call t1:"},
                {"type":"file","file":{"filename":"document.pdf","file_data":"data:application/pdf;base64,JVBERi0xLjQ="}}]})
        ]
    );
}

#[test]
fn empty_tool_results_get_a_placeholder() {
    let v = encode(&with_messages(
        r#"[{"role":"user","content":"go"},{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"A","input":{}}]},
            {"role":"user","content":[{"type":"tool_result","tool_use_id":"t1"}]}]"#,
    ));
    assert_eq!(v["messages"][2]["content"], "(no output)");
}

#[test]
fn a_call_without_a_result_gets_one_so_openai_accepts_the_history() {
    let v = encode(&with_messages(
        r#"[{"role":"user","content":"go"},{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"A","input":{}}]},
            {"role":"user","content":"never mind"}]"#,
    ));
    assert_eq!(v["messages"][2]["role"], "tool");
    assert_eq!(v["messages"][2]["tool_call_id"], "t1");
    assert_eq!(
        v["messages"][3],
        json!({"role":"user","content":"never mind"})
    );
}

#[test]
fn a_system_message_between_a_call_and_its_result_waits_for_the_result() {
    let v = encode(&with_messages(
        r#"[{"role":"user","content":"go"},{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"A","input":{}}]},
            {"role":"system","content":"note"},
            {"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"ok"},{"type":"text","text":"next"}]}]"#,
    ));
    let roles: Vec<_> = v["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["user", "assistant", "tool", "system", "user"]);
}

#[test]
fn assistant_turns_split_by_a_system_message_keep_calls_answered_in_order() {
    let v = encode(&with_messages(
        r#"[{"role":"user","content":"go"},{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"A","input":{}}]},
            {"role":"system","content":"note"},
            {"role":"assistant","content":"more"},{"role":"user","content":"ok"}]"#,
    ));
    let roles: Vec<_> = v["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(
        roles,
        ["user", "assistant", "tool", "system", "assistant", "user"]
    );
}

#[test]
fn thinking_redacted_and_unknown_blocks_are_dropped() {
    let v = encode(&with_messages(
        r#"[{"role":"user","content":"q"},
            {"role":"assistant","content":[{"type":"thinking","thinking":"t","signature":"s"},{"type":"redacted_thinking","data":"xx"},
              {"type":"server_tool_use","id":"srv","name":"web_search","input":{}},{"type":"text","text":"answer"}]},
            {"role":"user","content":[{"type":"web_search_tool_result","tool_use_id":"srv","content":[]},{"type":"text","text":"ok"}]}]"#,
    ));
    assert_eq!(
        v["messages"],
        json!([{"role":"user","content":"q"},{"role":"assistant","content":"answer"},{"role":"user","content":"ok"}])
    );
}

#[test]
fn empty_user_content_never_makes_an_empty_message() {
    let v = encode(&with_messages(
        r#"[{"role":"user","content":""},{"role":"user","content":[{"type":"text","text":""}]},
            {"role":"user","content":[]},{"role":"assistant","content":[{"type":"thinking","thinking":"x","signature":"s"}]},
            {"role":"user","content":"real"}]"#,
    ));
    assert_eq!(v["messages"], json!([{"role":"user","content":"real"}]));
}

#[test]
fn a_request_with_nothing_to_send_is_refused() {
    let req = MessagesRequest::parse(br#"{"model":"m","messages":[{"role":"user","content":""}]}"#)
        .unwrap();
    let err = encode_request(&req, "gpt-4.1", &Quirks::OPENAI, false).unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidRequest);
}

#[test]
fn text_documents_become_text_with_their_title() {
    let v = encode(&with_messages(
        r#"[{"role":"user","content":[
            {"type":"document","source":{"type":"text","media_type":"text/plain","data":"file body"},"title":"notes.txt"},
            {"type":"document","source":{"type":"url","url":"https://example.com/a.pdf"}}]}]"#,
    ));
    assert_eq!(
        v["messages"][0]["content"][0]["text"],
        "notes.txt\n\nfile body"
    );
    // A PDF by URL cannot be sent (bgw refuses such a request before it gets here).
    assert!(
        v["messages"][0]["content"][1]["text"]
            .as_str()
            .unwrap()
            .contains("omitted")
    );
}

const TOOLS: &str = r#""tools":[
    {"name":"Bash","description":"Run a command","input_schema":{"$schema":"http://json-schema.org/draft-07/schema#","type":"object","properties":{"command":{"type":"string"}},"required":["command"],"additionalProperties":false},"cache_control":{"type":"ephemeral"}},
    {"type":"web_search_20250305","name":"web_search","max_uses":5},
    {"type":"custom","name":"NoDesc","input_schema":{"type":"object"}}]"#;

#[test]
fn custom_tools_are_functions_with_the_schema_byte_for_byte_and_server_tools_dropped() {
    let body = format!(r#"{{"model":"m","messages":[{{"role":"user","content":"x"}}],{TOOLS}}}"#);
    let req = MessagesRequest::parse(body.as_bytes()).unwrap();
    let bytes = encode_request(&req, "gpt-4.1", &Quirks::OPENAI, false).unwrap();
    let text = String::from_utf8(bytes).unwrap();
    assert!(text.contains(r#""parameters":{"$schema":"http://json-schema.org/draft-07/schema#","type":"object","properties":{"command":{"type":"string"}},"required":["command"],"additionalProperties":false}"#));
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        v["tools"],
        json!([
            {"type":"function","function":{"name":"Bash","description":"Run a command","parameters":
                {"$schema":"http://json-schema.org/draft-07/schema#","type":"object","properties":{"command":{"type":"string"}},"required":["command"],"additionalProperties":false}}},
            {"type":"function","function":{"name":"NoDesc","parameters":{"type":"object"}}}
        ])
    );
}

fn tool_choice(choice: &str, quirks: &Quirks) -> Value {
    let body = format!(
        r#"{{"model":"m","messages":[{{"role":"user","content":"x"}}],{TOOLS},"tool_choice":{choice}}}"#
    );
    encode_with(&body, "gpt-4.1", quirks, false)
}

#[test]
fn tool_choice_maps_to_openai_modes() {
    let q = &Quirks::OPENAI;
    assert_eq!(tool_choice(r#"{"type":"auto"}"#, q)["tool_choice"], "auto");
    assert_eq!(
        tool_choice(r#"{"type":"any"}"#, q)["tool_choice"],
        "required"
    );
    assert_eq!(tool_choice(r#"{"type":"none"}"#, q)["tool_choice"], "none");
    assert_eq!(
        tool_choice(r#"{"type":"tool","name":"Bash"}"#, q)["tool_choice"],
        json!({"type":"function","function":{"name":"Bash"}})
    );
}

#[test]
fn disable_parallel_tool_use_sends_parallel_tool_calls_false_only_where_accepted() {
    let choice = r#"{"type":"auto","disable_parallel_tool_use":true}"#;
    assert_eq!(
        tool_choice(choice, &Quirks::OPENAI)["parallel_tool_calls"],
        false
    );
    let cerebras = vendor("cerebras").unwrap().quirks;
    assert!(
        tool_choice(choice, &cerebras)
            .get("parallel_tool_calls")
            .is_none()
    );
    assert!(
        tool_choice(r#"{"type":"auto"}"#, &Quirks::OPENAI)
            .get("parallel_tool_calls")
            .is_none()
    );
}

#[test]
fn without_tools_there_is_no_tool_choice_nor_parallel_flag() {
    let v = encode(
        r#"{"model":"m","messages":[{"role":"user","content":"x"}],"tools":[{"type":"web_search_20250305","name":"web_search"}],"tool_choice":{"type":"any","disable_parallel_tool_use":true}}"#,
    );
    for field in ["tools", "tool_choice", "parallel_tool_calls"] {
        assert!(v.get(field).is_none(), "{field} sent without tools");
    }
}

#[test]
fn sampling_stop_and_user_pass_through() {
    let v = encode(
        r#"{"model":"m","max_tokens":64,"messages":[{"role":"user","content":"x"}],"temperature":0.3,"top_p":0.9,"top_k":40,
            "stop_sequences":["a","b","c","d","e"],"metadata":{"user_id":"u-123"}}"#,
    );
    assert_eq!(v["temperature"], 0.3);
    assert_eq!(v["top_p"], 0.9);
    assert!(v.get("top_k").is_none());
    assert_eq!(v["stop"], json!(["a", "b", "c", "d"]));
    assert_eq!(v["user"], "u-123");
    assert_eq!(v["max_completion_tokens"], 64);
    assert!(v.get("max_tokens").is_none());
    assert!(v.get("stream").is_none());
}

#[test]
fn a_long_claude_code_user_id_is_hashed_within_64_chars() {
    let id = format!(
        "user_{}_account__session_{}",
        "a".repeat(64),
        "0b0a4c1e-5f0e-4d7a-9a40-3f7d5d2c9e11"
    );
    let body = format!(
        r#"{{"model":"m","messages":[{{"role":"user","content":"x"}}],"metadata":{{"user_id":"{id}"}}}}"#
    );
    let a = encode(&body)["user"].as_str().unwrap().to_owned();
    assert!(a.len() <= 64 && a.starts_with("bgw-"), "{a}");
    assert_eq!(encode(&body)["user"], a.as_str(), "stable across requests");
    let mistral = vendor("mistral").unwrap().quirks;
    assert!(
        encode_with(&body, "mistral-large-latest", &mistral, false)
            .get("user")
            .is_none()
    );
}

#[test]
fn max_tokens_field_follows_the_quirks_and_the_model() {
    let body = r#"{"model":"m","max_tokens":500,"messages":[{"role":"user","content":"x"}]}"#;
    let groq = vendor("groq").unwrap().quirks;
    let mistral = vendor("mistral").unwrap().quirks;
    assert_eq!(
        encode_with(body, "llama-3.3-70b-versatile", &groq, false)["max_completion_tokens"],
        500
    );
    assert_eq!(
        encode_with(body, "mistral-large-latest", &mistral, false)["max_tokens"],
        500
    );
    let generic = |model| encode_with(body, model, &Quirks::GENERIC, false);
    assert_eq!(generic("Qwen/Qwen3-8B")["max_tokens"], 500);
    assert_eq!(generic("gpt-5-mini")["max_completion_tokens"], 500);
    assert!(generic("gpt-5-mini").get("max_tokens").is_none());
}

#[test]
fn reasoning_models_get_no_sampling_parameters() {
    let body =
        r#"{"model":"m","messages":[{"role":"user","content":"x"}],"temperature":1,"top_p":0.95}"#;
    for model in [
        "gpt-5",
        "o3-mini",
        "o4-mini-2025-04-16",
        "o1",
        "openai/gpt-5.1",
    ] {
        let v = encode_with(body, model, &Quirks::OPENAI, false);
        assert!(
            v.get("temperature").is_none() && v.get("top_p").is_none(),
            "{model}"
        );
    }
    assert_eq!(
        encode_with(body, "gpt-5-chat-latest", &Quirks::OPENAI, false)["temperature"],
        1.0
    );
}

#[test]
fn openai_reasoning_families_are_recognized() {
    for m in [
        "o1",
        "o1-mini",
        "o3",
        "o3-pro",
        "o4-mini",
        "gpt-5",
        "gpt-5-mini",
        "gpt-5.1-codex",
        "openai/gpt-5",
    ] {
        assert!(is_openai_reasoning_model(m), "{m}");
    }
    for m in [
        "gpt-4o",
        "gpt-4.1",
        "omni-moderation",
        "o1x",
        "gpt-5-chat-latest",
        "llama-3.3-70b",
    ] {
        assert!(!is_openai_reasoning_model(m), "{m}");
    }
}

fn effort(thinking: &str, model: &str, quirks: &Quirks) -> Value {
    let body = format!(
        r#"{{"model":"m","max_tokens":32000,"messages":[{{"role":"user","content":"x"}}],{thinking}}}"#
    );
    let v = encode_with(&body, model, quirks, false);
    v.get("reasoning_effort").cloned().unwrap_or(Value::Null)
}

#[test]
fn thinking_budget_and_effort_map_to_reasoning_effort_buckets() {
    let q = &Quirks::OPENAI;
    let enabled = |b: u32| format!(r#""thinking":{{"type":"enabled","budget_tokens":{b}}}"#);
    assert_eq!(effort(&enabled(1024), "gpt-5", q), "low");
    assert_eq!(effort(&enabled(4096), "gpt-5", q), "medium");
    assert_eq!(effort(&enabled(16383), "gpt-5", q), "medium");
    assert_eq!(effort(&enabled(31999), "gpt-5", q), "high");
    assert_eq!(
        effort(r#""thinking":{"type":"adaptive"}"#, "gpt-5", q),
        "medium"
    );
    assert_eq!(
        effort(
            r#""thinking":{"type":"adaptive"},"output_config":{"effort":"low"}"#,
            "gpt-5",
            q
        ),
        "low"
    );
    assert_eq!(
        effort(r#""output_config":{"effort":"max"}"#, "o3", q),
        "high"
    );
    assert_eq!(
        effort(r#""thinking":{"type":"disabled"}"#, "gpt-5", q),
        Value::Null
    );
    assert_eq!(
        effort(&enabled(8000), "gpt-4.1", q),
        Value::Null,
        "non-reasoning model"
    );
    assert_eq!(
        effort(
            &enabled(8000),
            "openai/gpt-oss-120b",
            &vendor("groq").unwrap().quirks
        ),
        "medium"
    );
    assert_eq!(
        effort(&enabled(8000), "grok-4", &vendor("xai").unwrap().quirks),
        Value::Null
    );
}

#[test]
fn openrouter_gets_its_reasoning_object() {
    let body = r#"{"model":"m","messages":[{"role":"user","content":"x"}],"thinking":{"type":"enabled","budget_tokens":2048}}"#;
    let v = encode_with(
        body,
        "anthropic/claude-sonnet-4.5",
        &vendor("openrouter").unwrap().quirks,
        false,
    );
    assert_eq!(v["reasoning"], json!({"effort":"low"}));
    assert!(v.get("reasoning_effort").is_none());
}

#[test]
fn streaming_asks_for_usage_where_the_vendor_accepts_it() {
    let body = r#"{"model":"m","messages":[{"role":"user","content":"x"}],"stream":true}"#;
    let v = encode_with(body, "gpt-5", &Quirks::OPENAI, true);
    assert_eq!(v["stream"], true);
    assert_eq!(v["stream_options"], json!({"include_usage":true}));
    let v = encode_with(
        body,
        "mistral-small-latest",
        &vendor("mistral").unwrap().quirks,
        true,
    );
    assert_eq!(v["stream"], true);
    assert!(v.get("stream_options").is_none());
}

#[test]
fn mistral_tool_ids_are_nine_alphanumerics_in_calls_and_results_alike() {
    let body = with_messages(
        r#"[{"role":"user","content":"go"},
            {"role":"assistant","content":[{"type":"tool_use","id":"toolu_01XyZabc","name":"A","input":{}},{"type":"tool_use","id":"D681PevKs","name":"B","input":{}}]},
            {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_01XyZabc","content":"1"},{"type":"tool_result","tool_use_id":"D681PevKs","content":"2"}]}]"#,
    );
    let mistral = vendor("mistral").unwrap().quirks;
    let v = encode_with(&body, "mistral-large-latest", &mistral, false);
    let mapped = v["messages"][1]["tool_calls"][0]["id"].as_str().unwrap();
    assert_eq!(mapped.len(), 9);
    assert!(mapped.bytes().all(|b| b.is_ascii_alphanumeric()));
    assert_eq!(v["messages"][2]["tool_call_id"], mapped);
    assert_eq!(
        v["messages"][1]["tool_calls"][1]["id"], "D681PevKs",
        "valid ids are kept"
    );
    assert_eq!(v["messages"][3]["tool_call_id"], "D681PevKs");
    let again = encode_with(&body, "mistral-large-latest", &mistral, false);
    assert_eq!(
        again["messages"][1]["tool_calls"][0]["id"], mapped,
        "deterministic"
    );
    assert_ne!(
        upstream_tool_id("toolu_a", &mistral),
        upstream_tool_id("toolu_b", &mistral)
    );
}

#[test]
fn overlong_tool_ids_are_hashed_for_openai() {
    let long = "x".repeat(100);
    let id = upstream_tool_id(&long, &Quirks::OPENAI);
    assert!(id.len() <= 64 && id.starts_with("call_"));
    assert_eq!(upstream_tool_id("toolu_01A", &Quirks::OPENAI), "toolu_01A");
}

/// The key of this install, and the signer for a target's thinking.
fn key() -> std::sync::Arc<ThinkingKey> {
    std::sync::Arc::new(ThinkingKey::from_bytes(&[5; 32]))
}

fn encode_for(body: &str, provider: &str, model: &str) -> Value {
    let req = MessagesRequest::parse(body.as_bytes()).unwrap();
    let quirks = vendor(provider).map_or(Quirks::OPENAI, |v| v.quirks);
    let own = key().signer(provider, model);
    let bytes = encode_request_with(&req, model, &quirks, false, Some(&own)).unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// A DeepSeek tool loop as Claude Code sends it back: the assistant turn that called a tool
/// (thinking signed by bgw for `signer_model`), the result, the answer, a new question.
/// Shapes from https://api-docs.deepseek.com/guides/thinking_mode ("Tool Calls").
fn deepseek_tool_loop(signer_provider: &str, signer_model: &str) -> String {
    let sign = |t: &str| key().sign(signer_provider, signer_model, t);
    with_messages(&format!(
        r#"[{{"role":"user","content":"What is in a.txt?"}},
            {{"role":"assistant","content":[{{"type":"thinking","thinking":"Read the file.","signature":"{}"}},{{"type":"tool_use","id":"call_00_r","name":"Read","input":{{"file_path":"a.txt"}}}}]}},
            {{"role":"user","content":[{{"type":"tool_result","tool_use_id":"call_00_r","content":"hello"}}]}},
            {{"role":"assistant","content":[{{"type":"thinking","thinking":"It says hello.","signature":"{}"}},{{"type":"text","text":"It says hello."}}]}},
            {{"role":"user","content":"Thanks. And 2+2?"}},
            {{"role":"assistant","content":[{{"type":"thinking","thinking":"Four.","signature":"{}"}},{{"type":"text","text":"4"}}]}},
            {{"role":"user","content":"ok"}}]"#,
        sign("Read the file."),
        sign("It says hello."),
        sign("Four.")
    ))
}

#[test]
fn deepseek_gets_its_own_reasoning_back_on_every_assistant_message_of_a_tool_loop() {
    let v = encode_for(
        &deepseek_tool_loop("deepseek", "deepseek-v4-pro"),
        "deepseek",
        "deepseek-v4-pro",
    );
    let m = &v["messages"];
    assert_eq!(m[1]["tool_calls"][0]["id"], "call_00_r");
    assert_eq!(m[1]["reasoning_content"], "Read the file.");
    assert_eq!(m[2]["role"], "tool");
    // Between two user messages with a tool call, every assistant message carries it.
    assert_eq!(m[3]["reasoning_content"], "It says hello.");
    // A plain question and answer: DeepSeek ignores reasoning there, so none is sent.
    assert_eq!(m[5]["content"], "4");
    assert!(m[5].get("reasoning_content").is_none(), "{m}");
}

#[test]
fn deepseek_never_gets_another_models_thinking_as_its_own() {
    // Written by another DeepSeek model, by another provider, by Claude, or unsigned.
    for (provider, model) in [
        ("deepseek", "deepseek-v4-flash"),
        ("openrouter", "deepseek-v4-pro"),
    ] {
        let v = encode_for(
            &deepseek_tool_loop(provider, model),
            "deepseek",
            "deepseek-v4-pro",
        );
        let sent = v["messages"].to_string();
        assert!(!sent.contains("Read the file."), "{sent}");
        // DeepSeek still needs the field on the tool loop's turns (400 without it).
        assert_eq!(v["messages"][1]["reasoning_content"], NO_REASONING);
        assert_eq!(v["messages"][3]["reasoning_content"], NO_REASONING);
    }
    let claude = r#"[{"role":"user","content":"go"},
        {"role":"assistant","content":[{"type":"thinking","thinking":"plan","signature":"EqQBCkgIARABGAIiQL2Zs1o9"},{"type":"redacted_thinking","data":"EmwKAhgB"},{"type":"tool_use","id":"toolu_01","name":"A","input":{}}]},
        {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_01","content":"ok"}]}]"#;
    for history in [
        claude.to_owned(),
        claude.replace("EqQBCkgIARABGAIiQL2Zs1o9", ""),
    ] {
        let v = encode_for(&with_messages(&history), "deepseek", "deepseek-v4-pro");
        assert_eq!(v["messages"][1]["reasoning_content"], NO_REASONING);
        assert!(!v["messages"].to_string().contains("plan"));
    }
}

#[test]
fn openai_gets_no_thinking_at_all_not_even_its_own() {
    let claude = with_messages(
        r#"[{"role":"user","content":"go"},
        {"role":"assistant","content":[{"type":"thinking","thinking":"plan","signature":"EqQBCkgIARABGAIiQL2Zs1o9"},{"type":"tool_use","id":"toolu_01","name":"A","input":{}}]},
        {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_01","content":"ok"}]}]"#,
    );
    let v = encode_for(&claude, "openai", "gpt-5");
    assert!(v["messages"][1].get("reasoning_content").is_none());
    assert!(!v.to_string().contains("plan"), "{v}");
    let own = deepseek_tool_loop("openai", "gpt-5");
    let v = encode_for(&own, "openai", "gpt-5");
    assert!(!v.to_string().contains("Read the file."), "{v}");
}

#[test]
fn tool_ids_bgw_escaped_for_anthropic_go_back_to_the_vendor_as_it_gave_them() {
    let body = with_messages(
        r#"[{"role":"user","content":"go"},
            {"role":"assistant","content":[{"type":"tool_use","id":"bgwx_functions_2EWrite_3A0","name":"Write","input":{}}]},
            {"role":"user","content":[{"type":"tool_result","tool_use_id":"bgwx_functions_2EWrite_3A0","content":"ok"}]}]"#,
    );
    let v = encode(&body);
    assert_eq!(v["messages"][1]["tool_calls"][0]["id"], "functions.Write:0");
    assert_eq!(v["messages"][2]["tool_call_id"], "functions.Write:0");
    // Mistral's 9-character ids are made from the vendor's id, the same for call and result.
    let v = encode_with(
        &body,
        "mistral-large-latest",
        &vendor("mistral").unwrap().quirks,
        false,
    );
    assert_eq!(
        v["messages"][1]["tool_calls"][0]["id"],
        *upstream_tool_id("functions.Write:0", &vendor("mistral").unwrap().quirks)
    );
    assert_eq!(
        v["messages"][2]["tool_call_id"],
        v["messages"][1]["tool_calls"][0]["id"]
    );
}

#[test]
fn structured_output_is_skipped_where_json_schema_is_refused() {
    let body = r#"{"model":"m","messages":[{"role":"user","content":"x"}],"output_config":{"format":{"type":"json_schema","schema":{"type":"object"}}}}"#;
    assert_eq!(encode(body)["response_format"]["type"], "json_schema");
    let deepseek = vendor("deepseek").unwrap().quirks;
    assert!(
        encode_with(body, "deepseek-chat", &deepseek, false)
            .get("response_format")
            .is_none()
    );
}
