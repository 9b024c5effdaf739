//! A conversation that moves between providers mid-way (`/model`), end to end: DeepSeek
//! reasons and calls a tool through bgw, then Claude Code sends the whole history to Claude on
//! Anthropic, and back to DeepSeek. Upstream shapes from
//! https://api-docs.deepseek.com/guides/thinking_mode ("Tool Calls") and
//! https://docs.anthropic.com/en/docs/build-with-claude/extended-thinking .
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::{Value, json};
use support::sse::block;
use support::{Bgw, Event, Mock, Reply, anthropic, openai};

const DEEPSEEK: &str = "deepseek-v4-pro";
const CLAUDE: &str = "claude-sonnet-4-5";
const REASONING: &str = "The user wants the files listed. I will run ls.";

/// DeepSeek's streamed answer: reasoning, then one tool call, in the chunk shapes of its docs.
fn deepseek_tool_call() -> Reply {
    let mut s = openai::frame(&openai::chunk(
        DEEPSEEK,
        json!({"role": "assistant", "content": null, "reasoning_content": ""}),
        None,
    ));
    for piece in ["The user wants the files listed.", " I will run ls."] {
        s.push_str(&openai::frame(&openai::chunk(
            DEEPSEEK,
            json!({"content": null, "reasoning_content": piece}),
            None,
        )));
    }
    s.push_str(&openai::tool_start(DEEPSEEK, 0, "call_00_Ls9mQ2", "Bash"));
    s.push_str(&openai::tool_args(DEEPSEEK, 0, r#"{"command":"ls"}"#));
    s.push_str(&openai::end(DEEPSEEK, "tool_calls", 120, 30));
    Reply::sse([s])
}

/// The thinking block and the tool_use block the client was given, as Claude Code keeps them.
fn assistant_blocks(events: &[Event]) -> (Value, Value) {
    let thinking = block(events, 0);
    assert_eq!(thinking[0]["content_block"]["type"], "thinking");
    let delta = |kind: &str, field: &str| -> String {
        thinking
            .iter()
            .filter(|v| v["delta"]["type"] == kind)
            .map(|v| v["delta"][field].as_str().unwrap().to_owned())
            .collect()
    };
    let signature = delta("signature_delta", "signature");
    assert!(
        signature.starts_with("bgw1.deepseek.deepseek-v4-pro."),
        "{signature}"
    );
    let tool = block(events, 1);
    assert_eq!(tool[0]["content_block"]["type"], "tool_use");
    (
        json!({"type": "thinking", "thinking": delta("thinking_delta", "thinking"), "signature": signature}),
        json!({"type": "tool_use", "id": tool[0]["content_block"]["id"], "name": "Bash", "input": {"command": "ls"}}),
    )
}

/// The history Claude Code sends after the switch: the DeepSeek turn, then the tool result.
fn history(model: &str, thinking: &Value, tool_use: &Value) -> Value {
    json!({
        "model": model,
        "max_tokens": 32000,
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "List the files."}]},
            {"role": "assistant", "content": [thinking, tool_use]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": tool_use["id"], "content": "a.txt\nb.txt"}]}
        ],
        "thinking": {"type": "adaptive"},
        "output_config": {"effort": "high"},
        "context_management": {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]}
    })
}

#[tokio::test]
async fn a_deepseek_tool_turn_then_claude_then_deepseek_again_is_accepted_by_each() {
    let deepseek = Mock::start([
        deepseek_tool_call(),
        openai::reply(DEEPSEEK, "Two files.", 200, 5),
    ])
    .await;
    let claude = Mock::start([anthropic::reply(CLAUDE, "There are two files.")]).await;
    let bgw = Bgw::setup()
        .provider("deepseek", Some("sk-deepseek-test-0000"), &deepseek.url())
        .provider("anthropic", Some("sk-ant-test-000000"), &claude.url())
        .start();

    // 1. DeepSeek reasons and calls a tool; bgw signs the reasoning.
    let mut first = support::tool_request(&format!("deepseek/{DEEPSEEK}"), true);
    first["messages"][0]["content"][0]["text"] = json!("List the files.");
    let events = bgw.client().events(&first).await;
    let (thinking, tool_use) = assistant_blocks(&events);
    assert_eq!(thinking["thinking"], REASONING);

    // 2. `/model` to Claude: the same history goes to Anthropic.
    let resp = bgw
        .client()
        .messages(&history(
            &format!("anthropic/{CLAUDE}"),
            &thinking,
            &tool_use,
        ))
        .await;
    assert_eq!(resp.status, 200, "{}", bgw.stderr());
    let sent = claude.only_request().json();
    assert_eq!(sent["model"], CLAUDE);
    assert_eq!(
        sent["messages"][1]["content"],
        json!([tool_use]),
        "DeepSeek's reasoning is not Claude's: its block is dropped, the call stays"
    );
    assert_eq!(
        sent["messages"][2]["content"][0]["tool_use_id"],
        tool_use["id"]
    );
    assert!(
        sent.get("thinking").is_none() && sent.get("context_management").is_none(),
        "the last tool turn no longer starts with thinking, so thinking is off: {sent}"
    );
    assert_eq!(sent["output_config"], json!({"effort": "high"}));

    // 3. `/model` back to DeepSeek: its own reasoning goes back with the tool call.
    let resp = bgw
        .client()
        .messages(&history(
            &format!("deepseek/{DEEPSEEK}"),
            &thinking,
            &tool_use,
        ))
        .await;
    assert_eq!(resp.status, 200, "{}", bgw.stderr());
    let asked = deepseek.requests();
    let again = asked.last().unwrap().json();
    let assistant = &again["messages"][1];
    assert_eq!(assistant["role"], "assistant");
    assert_eq!(assistant["tool_calls"][0]["id"], "call_00_Ls9mQ2");
    assert_eq!(assistant["reasoning_content"], REASONING);
}
