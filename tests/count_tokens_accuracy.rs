//! `count_tokens` for OpenAI models, against the exact count of what bgw sends them.
//!
//! The reference is OpenAI's cookbook method ("How to count tokens with tiktoken") applied
//! to bgw's own Chat Completions body: the exact o200k_base tokenizer (`tiktoken-rs`), 3
//! tokens per message plus its role and text, 3 to prime the reply, and the tools as the
//! TypeScript namespace OpenAI models are shown, plus 5. Both halves are first checked
//! against the cookbook's own examples, whose counts the OpenAI API confirmed. Then the
//! real `bgw serve` answers `count_tokens` for `openai/gpt-5` and `openai/gpt-4o` on Claude
//! Code's captured requests, a prose-only request and a code-heavy one, and each answer
//! must be within 15% of the reference.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use bgw::messages::MessagesRequest;
use bgw::providers::openai::{Quirks, encode_request};
use bgw::tokens::{self, FunctionView};
use serde_json::{Value, json};
use support::{Bgw, Mock};
use tiktoken_rs::CoreBPE;

fn bpe() -> &'static CoreBPE {
    tiktoken_rs::o200k_base_singleton()
}

fn exact(text: &str) -> u64 {
    bpe().encode_ordinary(text).len() as u64
}

/// The cookbook's count of a Chat Completions body, with the exact tokenizer.
fn reference(body: &Value) -> u64 {
    let mut n = 3; // every reply is primed with <|start|>assistant<|message|>
    for m in body["messages"].as_array().unwrap() {
        n += 3 + exact(m["role"].as_str().unwrap());
        match &m["content"] {
            Value::String(s) => n += exact(s),
            Value::Array(parts) => {
                for p in parts {
                    n += match p["type"].as_str() {
                        Some("text") => exact(p["text"].as_str().unwrap()),
                        Some("image_url") => tokens::IMAGE,
                        _ => 0,
                    };
                }
            }
            _ => {}
        }
        if let Some(name) = m["name"].as_str() {
            n += 1 + exact(name);
        }
        if let Some(r) = m["reasoning_content"].as_str() {
            n += exact(r);
        }
        for call in m["tool_calls"].as_array().into_iter().flatten() {
            let f = &call["function"];
            n += 3 + exact(f["name"].as_str().unwrap()) + exact(f["arguments"].as_str().unwrap());
        }
    }
    if let Some(tools) = body["tools"].as_array().filter(|t| !t.is_empty()) {
        let functions: Vec<FunctionView<'_>> = tools
            .iter()
            .map(|t| FunctionView {
                name: t["function"]["name"].as_str().unwrap(),
                description: t["function"]["description"].as_str(),
                parameters: t["function"].get("parameters"),
            })
            .collect();
        n += 5 + exact(&tokens::typescript_tools(&functions));
    }
    if let Some(schema) = body["response_format"]["json_schema"].get("schema") {
        n += exact(tokens::RESPONSE_FORMAT_HEADING) + exact(&schema.to_string());
    }
    n
}

#[test]
fn the_reference_counts_the_cookbooks_examples_as_the_openai_api_did() {
    // Section 6: gpt-4o, messages with names; the API reported 124 prompt tokens.
    let messages = json!({"messages": [
        {"role": "system", "content": "You are a helpful, pattern-following assistant that translates corporate jargon into plain English."},
        {"role": "system", "name": "example_user", "content": "New synergies will help drive top-line growth."},
        {"role": "system", "name": "example_assistant", "content": "Things working well together will increase revenue."},
        {"role": "system", "name": "example_user", "content": "Let's circle back when we have more bandwidth to touch base on opportunities for increased leverage."},
        {"role": "system", "name": "example_assistant", "content": "Let's talk later when we're less busy about how to do better."},
        {"role": "user", "content": "This late pivot means we don't have time to boil the ocean for the client deliverable."}
    ]});
    assert_eq!(reference(&messages), 124);
    // Section 7: gpt-4o with one tool; the API reported 101 prompt tokens.
    let with_tool = json!({
        "messages": [
            {"role": "system", "content": "You are a helpful assistant that can answer to questions about the weather."},
            {"role": "user", "content": "What's the weather like in San Francisco?"}
        ],
        "tools": [{"type": "function", "function": {
            "name": "get_current_weather",
            "description": "Get the current weather in a given location",
            "parameters": {
                "type": "object",
                "properties": {
                    "location": {"type": "string", "description": "The city and state, e.g. San Francisco, CA"},
                    "unit": {"type": "string", "description": "The unit of temperature to return", "enum": ["celsius", "fahrenheit"]}
                },
                "required": ["location"]
            }
        }}]
    });
    assert_eq!(reference(&with_tool), 101);
}

/// A request of one prose text, asked as a question.
fn prose_request() -> Value {
    let prose = include_str!("fixtures/count_tokens/prose.txt");
    json!({
        "model": "claude-sonnet-4-5",
        "max_tokens": 1024,
        "messages": [
            {"role": "user", "content": format!("Summarise this story in two sentences.\n\n{prose}")},
            {"role": "assistant", "content": "A lighthouse keeper's daughter keeps her father's ledger of passing ships and learns to predict their arrivals. The harbour master, proven wrong, hires her to help plan the growing port."},
            {"role": "user", "content": "Now tell it again from the harbour master's side, in the same length as the original."}
        ]
    })
}

/// A coding session: source files read by tool calls (this crate's own estimator, so the
/// test needs no file another change could move), an edit, a diff.
fn code_request() -> Value {
    let text_rs = include_str!("../src/tokens/text.rs");
    let cargo_toml = include_str!("../Cargo.toml");
    let edit = json!({
        "file_path": "/repo/src/tokens/text.rs",
        "old_string": "pub fn estimate(text: &str) -> u64 {",
        "new_string": "#[must_use]\npub fn estimate(text: &str) -> u64 {"
    });
    let diff = "diff --git a/src/lib.rs b/src/lib.rs\n@@ -1,4 +1,5 @@\n-pub mod catalog;\n+pub mod catalog;\n+pub mod tokens;\n pub mod cli;\n";
    let python = "```python\nimport json, sys\n\ndef main(path: str) -> int:\n    with open(path) as f:\n        data = json.load(f)\n    for i, row in enumerate(data[\"rows\"]):\n        if row.get(\"status\") != \"ok\":\n            print(f\"{i}: {row!r}\", file=sys.stderr)\n    return 0\n\nif __name__ == \"__main__\":\n    sys.exit(main(sys.argv[1]))\n```";
    json!({
        "model": "claude-sonnet-4-5",
        "max_tokens": 32000,
        "system": [{"type": "text", "text": "You are a coding agent. Read files before editing them."}],
        "tools": [
            {"name": "Read", "description": "Reads a file from the local filesystem.", "input_schema": {
                "type": "object", "properties": {
                    "file_path": {"type": "string", "description": "The absolute path to the file to read"},
                    "offset": {"type": "number", "description": "The line number to start reading from"},
                    "limit": {"type": "number", "description": "The number of lines to read"}
                }, "required": ["file_path"], "additionalProperties": false}},
            {"name": "Edit", "description": "Performs exact string replacements in files.", "input_schema": {
                "type": "object", "properties": {
                    "file_path": {"type": "string", "description": "The absolute path to the file to modify"},
                    "old_string": {"type": "string", "description": "The text to replace"},
                    "new_string": {"type": "string", "description": "The text to replace it with"},
                    "replace_all": {"type": "boolean", "default": false, "description": "Replace all occurences of old_string"}
                }, "required": ["file_path", "old_string", "new_string"], "additionalProperties": false}}
        ],
        "messages": [
            {"role": "user", "content": "Why would the token estimate round a single word up? Check text.rs and the crate's dependencies."},
            {"role": "assistant", "content": [
                {"type": "text", "text": "I'll read the estimator and the manifest."},
                {"type": "tool_use", "id": "toolu_01", "name": "Read", "input": {"file_path": "/repo/src/tokens/text.rs"}},
                {"type": "tool_use", "id": "toolu_02", "name": "Read", "input": {"file_path": "/repo/Cargo.toml"}}
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_01", "content": text_rs},
                {"type": "tool_result", "tool_use_id": "toolu_02", "content": cargo_toml}
            ]},
            {"role": "assistant", "content": [
                {"type": "text", "text": format!("The estimate should be used. A script to find bad rows in the log:\n\n{python}")},
                {"type": "tool_use", "id": "toolu_03", "name": "Edit", "input": edit}
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_03", "content": diff}
            ]}
        ]
    })
}

/// Claude Code's captured requests, and the two above.
fn requests() -> Vec<(String, Value)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/claude_code");
    let mut out: Vec<(String, Value)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.extension().is_some_and(|e| e == "json")
                && p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("request_"))
        })
        .map(|p| {
            let name = p.file_stem().unwrap().to_string_lossy().into_owned();
            (
                name,
                serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap(),
            )
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(
        out.iter().any(|(n, _)| n == "request_first_turn"),
        "the 50 KB Claude Code request is missing from {dir}"
    );
    out.push(("prose".into(), prose_request()));
    out.push(("code".into(), code_request()));
    out
}

#[tokio::test]
async fn count_tokens_for_openai_models_is_within_15_percent_of_the_exact_count() {
    let mock = Mock::start([]).await;
    let bgw = Bgw::setup()
        .provider("openai", Some("sk-test-openai-000000"), &mock.at("/v1"))
        .start();
    let client = bgw.client();
    let mut report = String::new();
    let mut worst = 0f64;
    for (name, request) in requests() {
        let bytes = serde_json::to_vec(&request).unwrap();
        for model in ["gpt-5", "gpt-4o"] {
            let parsed = MessagesRequest::parse(&bytes).unwrap();
            let sent = encode_request(&parsed, model, &Quirks::OPENAI, false).unwrap();
            let want = reference(&serde_json::from_slice(&sent).unwrap());

            let mut asked = request.clone();
            asked["model"] = json!(format!("openai/{model}"));
            asked.as_object_mut().unwrap().remove("max_tokens");
            let resp = client.post_json("/v1/messages/count_tokens", &asked).await;
            assert_eq!(resp.status, 200, "{name} {model}");
            let got = resp.json().await["input_tokens"].as_u64().unwrap();

            let error = (got as f64 - want as f64) / want as f64 * 100.0;
            worst = worst.max(error.abs());
            report.push_str(&format!(
                "{name:<40} {model:<7} {:>7} bytes  exact {want:>6}  answer {got:>6}  {error:+5.1}%\n",
                bytes.len()
            ));
        }
    }
    eprintln!("{report}");
    assert!(worst <= 15.0, "an answer is off by {worst:.1}%:\n{report}");
    assert!(
        mock.requests().is_empty(),
        "nothing is sent upstream to count"
    );
}
