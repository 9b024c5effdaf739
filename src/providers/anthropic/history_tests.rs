//! Histories switched onto Anthropic, in the Messages request shape of
//! https://docs.anthropic.com/en/api/messages (thinking and tool blocks as in
//! https://docs.anthropic.com/en/docs/build-with-claude/extended-thinking , "Preserving
//! thinking blocks"), holding what other providers wrote through bgw.
use super::*;
use crate::messages::request::RequestHead;
use crate::messages::signature::ThinkingKey;
use crate::providers::anthropic::prepare_body;
use serde_json::{Value, json};

/// An Anthropic signature, as the API returns them (base64).
const CLAUDE_SIG: &str =
    "EqQBCkgIARABGAIiQL2Zs1o9AbC+/xYzQ2ZkNGVhZmMtN2M4Yy00NjU0LWI5ZTctZDNkNWE4YzEwNTEy";

fn prepared(body: &str, model: &str) -> Vec<u8> {
    let head = RequestHead::parse(body.as_bytes()).unwrap();
    prepare_body(body.as_bytes(), &head, model)
}

fn prepared_json(body: &str, model: &str) -> Value {
    serde_json::from_slice(&prepared(body, model)).unwrap()
}

fn deepseek_signature(thinking: &str) -> String {
    ThinkingKey::from_bytes(&[3; 32]).sign("deepseek", "deepseek-v4-pro", thinking)
}

/// A Claude Code body: the DeepSeek turn (reasoning, a tool call, its result) then the
/// switch to Claude, asked with adaptive thinking and thinking-clearing context edits.
fn switched_from_deepseek(last_user: &str) -> String {
    let sig = deepseek_signature("I should list the files.");
    format!(
        r#"{{"model":"claude-sonnet-4-5","max_tokens":32000,"stream":true,
"system":[{{"type":"text","text":"You are Claude Code."}}],
"messages":[
 {{"role":"user","content":[{{"type":"text","text":"List the files."}}]}},
 {{"role":"assistant","content":[{{"type":"thinking","thinking":"I should list the files.","signature":"{sig}"}},{{"type":"tool_use","id":"call_00_abc","name":"Bash","input":{{"command":"ls"}}}}]}},
 {{"role":"user","content":[{{"type":"tool_result","tool_use_id":"call_00_abc","content":"a.txt\nb.txt"}}{last_user}]}}
],
"thinking":{{"type":"adaptive"}},"output_config":{{"effort":"high"}},
"context_management":{{"edits":[{{"type":"clear_thinking_20251015","keep":"all"}}]}}}}"#
    )
}

#[test]
fn a_history_without_foreign_blocks_is_forwarded_byte_for_byte() {
    // Claude's own thinking (signed by Anthropic), tool ids Anthropic made, odd spacing.
    let body = format!(
        r#"{{"model" : "anthropic/claude-sonnet-4-5", "messages":[
 {{"role":"user","content":"List the files."}},
 {{"role":"assistant","content":[{{"type":"thinking","thinking":"ls it","signature":"{CLAUDE_SIG}"}},{{"type":"redacted_thinking","data":"EmwKAhgBEgy3va3pzix"}},{{"type":"tool_use","id":"toolu_01A09q90qw90lq917835lq9","name":"Bash","input":{{"command":"ls","id":"x.y"}}}}]}},
 {{"role":"user","content":[{{"type":"tool_result","tool_use_id":"toolu_01A09q90qw90lq917835lq9","content":"the \"signature\": \"\" and \"id\":\"a.b\" as text"}}]}}],
 "thinking":{{"type":"enabled","budget_tokens":2048}},"max_tokens":4096}}"#
    );
    let head = RequestHead::parse(body.as_bytes()).unwrap();
    let out = prepared(&body, "claude-sonnet-4-5");
    assert_eq!(
        out,
        crate::providers::anthropic::rewrite_model(body.as_bytes(), &head, "claude-sonnet-4-5"),
        "only the model changes"
    );
    // The scan fires on the tool input's `"id":"x.y"`; the parse finds nothing to mend.
    assert!(needs_mending(body.as_bytes()));
    assert_eq!(mend(body.as_bytes(), "claude-sonnet-4-5"), None);
}

#[test]
fn the_common_case_is_not_even_parsed() {
    let body = br#"{"model":"claude-x","messages":[{"role":"user","content":"hi"},{"role":"assistant","content":[{"type":"thinking","thinking":"t","signature":"EqQBCkgIARAB+/="},{"type":"tool_use","id":"toolu_1","name":"A","input":{}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"ok"}]}]}"#;
    assert!(!needs_mending(body));
}

#[test]
fn a_bgw_signed_deepseek_thinking_block_is_dropped_and_thinking_turned_off_mid_tool_loop() {
    let body = switched_from_deepseek("");
    assert!(needs_mending(body.as_bytes()));
    let sent = prepared_json(&body, "claude-sonnet-4-5");
    assert_eq!(
        sent["messages"][1]["content"],
        json!([{"type":"tool_use","id":"call_00_abc","name":"Bash","input":{"command":"ls"}}]),
        "the DeepSeek reasoning is gone, the call stays"
    );
    assert_eq!(
        sent["messages"][2]["content"][0]["tool_use_id"],
        "call_00_abc"
    );
    // The last assistant turn holds tool_use without leading thinking: Anthropic would answer
    // 400 with thinking on, so thinking, and the edit that needs it, are off.
    assert!(sent.get("thinking").is_none(), "{sent}");
    assert!(sent.get("context_management").is_none(), "{sent}");
    // Everything else stays as the client wrote it.
    assert_eq!(sent["output_config"], json!({"effort":"high"}));
    assert_eq!(sent["system"][0]["text"], "You are Claude Code.");
    assert_eq!(sent["max_tokens"], 32000);
    assert_eq!(sent["stream"], true);
    assert_eq!(sent["model"], "claude-sonnet-4-5");
}

#[test]
fn members_keep_their_order_and_untouched_values_their_bytes() {
    let body = switched_from_deepseek("");
    let out = String::from_utf8(prepared(&body, "claude-sonnet-4-5")).unwrap();
    let at = |needle: &str| {
        out.find(needle)
            .unwrap_or_else(|| panic!("{needle} in {out}"))
    };
    assert!(at(r#""model":"claude-sonnet-4-5""#) < at(r#""max_tokens":32000"#));
    assert!(at(r#""max_tokens":32000"#) < at(r#""messages":["#));
    assert!(at(r#""messages":["#) < at(r#""output_config":{"effort":"high"}"#));
    assert!(out.contains(
        r#"{"type":"tool_result","tool_use_id":"call_00_abc","content":"a.txt\nb.txt"}"#
    ));
}

#[test]
fn thinking_stays_on_when_the_final_tool_turn_is_claudes_own() {
    // DeepSeek wrote an earlier turn; the last tool turn is Claude's and starts with thinking.
    let body = switched_from_deepseek("");
    let body = body.replacen(
        r#"]}
],"#,
        &format!(
            r#"]}},
 {{"role":"assistant","content":[{{"type":"thinking","thinking":"Now read a.txt.","signature":"{CLAUDE_SIG}"}},{{"type":"tool_use","id":"toolu_02","name":"Read","input":{{"file_path":"a.txt"}}}}]}},
 {{"role":"user","content":[{{"type":"tool_result","tool_use_id":"toolu_02","content":"hello"}}]}}
],"#
        ),
        1,
    );
    let sent = prepared_json(&body, "claude-sonnet-4-5");
    assert_eq!(sent["messages"][1]["content"][0]["type"], "tool_use");
    assert_eq!(sent["messages"][3]["content"][0]["signature"], CLAUDE_SIG);
    assert_eq!(sent["thinking"], json!({"type":"adaptive"}));
    assert_eq!(
        sent["context_management"],
        json!({"edits":[{"type":"clear_thinking_20251015","keep":"all"}]})
    );
}

#[test]
fn thinking_stays_on_when_the_last_assistant_turn_has_no_tool_use() {
    let sig = deepseek_signature("Greeting.");
    let body = format!(
        r#"{{"model":"claude-opus-4-7","messages":[{{"role":"user","content":"hi"}},{{"role":"assistant","content":[{{"type":"thinking","thinking":"Greeting.","signature":"{sig}"}},{{"type":"text","text":"Hello!"}}]}},{{"role":"user","content":"bye"}}],"thinking":{{"type":"adaptive"}}}}"#
    );
    let sent = prepared_json(&body, "claude-opus-4-7");
    assert_eq!(
        sent["messages"][1]["content"],
        json!([{"type":"text","text":"Hello!"}])
    );
    assert_eq!(sent["thinking"], json!({"type":"adaptive"}));
}

#[test]
fn unsigned_thinking_is_dropped_with_the_assistant_message_it_leaves_empty() {
    // Thinking with an empty signature (older bgw, other gateways) in its own message, as a
    // client may split blocks over consecutive assistant messages.
    let body = r#"{"model":"claude-x","messages":[{"role":"user","content":"q"},{"role":"assistant","content":[{"type":"thinking","thinking":"hm","signature":""}]},{"role":"assistant","content":[{"type":"text","text":"a"}]},{"role":"user","content":"more"}]}"#;
    let sent = prepared_json(body, "claude-x");
    assert_eq!(
        sent["messages"],
        json!([
            {"role":"user","content":"q"},
            {"role":"assistant","content":[{"type":"text","text":"a"}]},
            {"role":"user","content":"more"}
        ])
    );
}

#[test]
fn tool_ids_outside_anthropics_pattern_are_mapped_the_same_in_call_and_result() {
    let body = r#"{"model":"claude-x","messages":[
 {"role":"user","content":"write it"},
 {"role":"assistant","content":[{"type":"tool_use","id":"functions.Write:0","name":"Write","input":{"file_path":"a","content":"b"}},{"type":"tool_use","id":"functions.Read:1","name":"Read","input":{"file_path":"a"}}]},
 {"role":"user","content":[{"type":"tool_result","tool_use_id":"functions.Write:0","content":"ok"},{"type":"tool_result","tool_use_id":"functions.Read:1","content":"b"}]}]}"#;
    let sent = prepared_json(body, "claude-x");
    let calls = &sent["messages"][1]["content"];
    let results = &sent["messages"][2]["content"];
    assert_eq!(calls[0]["id"], "bgwx_functions_2EWrite_3A0");
    assert_eq!(calls[1]["id"], "bgwx_functions_2ERead_3A1");
    assert_eq!(results[0]["tool_use_id"], calls[0]["id"]);
    assert_eq!(results[1]["tool_use_id"], calls[1]["id"]);
    assert_eq!(calls[0]["input"], json!({"file_path":"a","content":"b"}));
    // The same mapping the OpenAI decoders use, so ids bgw handed out never change.
    assert_eq!(calls[0]["id"], *tool_id::for_anthropic("functions.Write:0"));
}

#[test]
fn the_scan_reads_keys_with_spaces_and_ignores_quoted_text() {
    assert!(needs_mending(br#"{"signature" : "bgw1.deepseek.m.x"}"#));
    assert!(needs_mending(br#"{"signature":""}"#));
    assert!(needs_mending(br#"{"tool_use_id": "a:b"}"#));
    assert!(needs_mending(br#"{"id":""}"#));
    assert!(!needs_mending(br#"{"signature":"EqQBCkgIARAB"}"#));
    assert!(!needs_mending(br#"{"id":"toolu_01-x"}"#));
    // Keys inside string values are escaped, so they are not keys.
    assert!(!needs_mending(
        br#"{"text":"\"signature\":\"\" \"id\":\"a.b\""}"#
    ));
    // `id` as a schema property name, or a value in a list, is not an id string.
    assert!(!needs_mending(
        br#"{"properties":{"id":{"type":"string"}},"required":["id"]}"#
    ));
}

#[test]
fn a_body_of_unexpected_shape_goes_as_it_is() {
    let body = r#"{"model":"claude-x","messages":"nope","signature":""}"#;
    assert!(needs_mending(body.as_bytes()));
    assert_eq!(mend(body.as_bytes(), "claude-x"), None);
    assert_eq!(prepared(body, "claude-x"), body.as_bytes());
}

#[test]
fn thinking_rule_sees_consecutive_assistant_messages_as_one_turn() {
    let t = |assistant, has_tool_use, starts_with_thinking| Turn {
        assistant,
        has_tool_use,
        starts_with_thinking,
    };
    let ok = |turns: &[Turn]| final_tool_turn_starts_with_thinking(turns.iter());
    assert!(ok(&[t(true, true, true), t(false, false, false)]));
    assert!(!ok(&[t(true, true, false), t(false, false, false)]));
    // Thinking, then text+tool_use in a second message: one turn that starts with thinking.
    assert!(ok(&[
        t(true, false, true),
        t(true, true, false),
        t(false, false, false)
    ]));
    assert!(ok(&[t(true, false, false), t(false, false, false)]));
    assert!(ok(&[t(false, false, false)]));
}
