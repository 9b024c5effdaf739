//! Google's Gemini API behind the Anthropic Messages API: the real `bgw serve` against a
//! mock generativelanguage.googleapis.com on 127.0.0.1, both directions of the translation.
//! Upstream shapes from https://ai.google.dev/api/generate-content and
//! https://ai.google.dev/gemini-api/docs/thought-signatures .
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::{Value, json};
use support::sse::gemini::{chunk, frame, usage};
use support::sse::{self, block, message_delta, names, text_of};
use support::{Bgw, Event, Mock, Reply, assert_contains, expect_error, tool_request};

const KEY: &str = "AIzaSyTest-gemini-0000000000000000000";

fn gateway(mock: &Mock) -> Bgw {
    Bgw::keyed("gemini", Some(KEY), &mock.at("/v1beta"))
}

/// The content blocks a client keeps from these events (what Claude Code sends back).
fn kept_blocks(events: &[Event]) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    let mut json_input = String::new();
    for e in events {
        let v = e.json();
        match e.event.as_str() {
            "content_block_start" => {
                json_input.clear();
                out.push(v["content_block"].clone());
            }
            "content_block_delta" => {
                let b = out.last_mut().unwrap();
                let d = &v["delta"];
                match d["type"].as_str().unwrap() {
                    "text_delta" => {
                        b["text"] = json!(format!(
                            "{}{}",
                            b["text"].as_str().unwrap(),
                            d["text"].as_str().unwrap()
                        ))
                    }
                    "thinking_delta" => {
                        b["thinking"] = json!(format!(
                            "{}{}",
                            b["thinking"].as_str().unwrap(),
                            d["thinking"].as_str().unwrap()
                        ))
                    }
                    "signature_delta" => b["signature"] = d["signature"].clone(),
                    "input_json_delta" => json_input.push_str(d["partial_json"].as_str().unwrap()),
                    other => panic!("unexpected delta {other}"),
                }
            }
            "content_block_stop" => {
                let b = out.last_mut().unwrap();
                if b["type"] == "tool_use" {
                    b["input"] = serde_json::from_str(&json_input).unwrap();
                }
            }
            _ => {}
        }
    }
    out
}

#[tokio::test]
async fn a_streamed_answer_with_thoughts_arrives_as_thinking_then_text() {
    let model = "gemini-2.5-pro";
    let mut upstream = frame(&chunk(
        model,
        json!([{"text": "**Greeting**\n\nA short hello will do.", "thought": true}]),
        None,
        Some(usage(40, 0, 12)),
    ));
    upstream.push_str(&frame(&chunk(
        model,
        json!([{"text": "Hel"}]),
        None,
        Some(usage(40, 1, 12)),
    )));
    upstream.push_str(&frame(&chunk(
        model,
        json!([{"text": "lo."}]),
        Some("STOP"),
        Some(
            json!({"promptTokenCount": 40, "candidatesTokenCount": 2, "thoughtsTokenCount": 12,
                    "cachedContentTokenCount": 32, "totalTokenCount": 54}),
        ),
    )));
    // Frames cut mid-line, across separate writes.
    let mock = Mock::start([Reply::sse(sse::split(
        upstream.as_bytes(),
        &[13, 1, 70, 7, 256],
    ))])
    .await;
    let bgw = gateway(&mock);

    let mut body = support::messages_request("gemini/gemini-2.5-pro", true);
    body["thinking"] = json!({"type": "enabled", "budget_tokens": 2048});
    body["max_tokens"] = json!(200_000);
    let resp = bgw.client().messages(&body).await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("content-type"), Some("text/event-stream"));
    let events = resp.sse().all().await;
    assert_eq!(
        names(&events),
        [
            "message_start",
            "content_block_start",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "content_block_start",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ]
    );
    let start = events[0].json();
    assert_eq!(start["message"]["model"], "gemini/gemini-2.5-pro");
    assert_eq!(start["message"]["usage"]["input_tokens"], 40);
    let thinking = block(&events, 0);
    assert_eq!(
        thinking[0]["content_block"],
        json!({"type": "thinking", "thinking": "", "signature": ""})
    );
    assert_eq!(
        thinking[1]["delta"]["thinking"],
        "**Greeting**\n\nA short hello will do."
    );
    let signature = thinking[2]["delta"]["signature"].as_str().unwrap();
    assert!(
        signature.starts_with("bgw1.gemini.gemini-2.5-pro."),
        "{signature}"
    );
    assert_eq!(text_of(&events, 1), "Hello.");
    let delta = message_delta(&events);
    assert_eq!(delta["delta"]["stop_reason"], "end_turn");
    assert_eq!(
        delta["usage"],
        json!({"input_tokens": 8, "output_tokens": 14, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 32})
    );

    let up = mock.only_request();
    assert_eq!(up.method, "POST");
    assert_eq!(
        up.path,
        "/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse"
    );
    assert_eq!(up.header("x-goog-api-key"), Some(KEY));
    assert!(
        !up.path.contains(KEY) && !up.path.contains("key="),
        "the key stays out of the URL: {}",
        up.path
    );
    assert_eq!(up.header("authorization"), None);
    assert_eq!(up.header("content-type"), Some("application/json"));
    assert_eq!(
        up.json(),
        json!({
            "contents": [{"role": "user", "parts": [{"text": "Say hello."}]}],
            "systemInstruction": {"parts": [{"text": "You are terse."}]},
            "generationConfig": {
                // The catalog's output limit for gemini-2.5-pro caps Claude Code's max_tokens.
                "maxOutputTokens": 65536,
                "thinkingConfig": {"thinkingBudget": 2048, "includeThoughts": true}
            }
        })
    );
}

#[tokio::test]
async fn a_function_call_and_its_thought_signature_go_round_the_client() {
    let model = "gemini-3-pro-preview";
    const SIG: &str = "CiQBcsjafDNqE6bXd4mZBk7vhc1ps2Kkq8sbjIXHJcGRmIo1OOgKYAFyyNp8";
    let first = frame(&chunk(
        model,
        json!([{"functionCall": {"name": "Bash", "args": {"command": "ls"}}, "thoughtSignature": SIG}]),
        Some("STOP"),
        Some(usage(900, 10, 60)),
    ));
    let second = frame(&chunk(
        model,
        json!([{"text": "Two files."}]),
        Some("STOP"),
        Some(usage(950, 3, 0)),
    ));
    let mock = Mock::start([Reply::sse([first]), Reply::sse([second])]).await;
    let bgw = gateway(&mock);

    let mut body = tool_request("gemini/gemini-3-pro-preview", true);
    let events = bgw.client().events(&body).await;
    let kept = kept_blocks(&events);
    // No thoughts were shown: an empty thinking block holds the signature, then the call.
    assert_eq!(kept.len(), 2, "{kept:#?}");
    assert_eq!(
        (kept[0]["type"].as_str(), kept[0]["thinking"].as_str()),
        (Some("thinking"), Some(""))
    );
    assert_eq!(kept[1]["type"], "tool_use");
    assert_eq!(kept[1]["input"], json!({"command": "ls"}));
    assert_eq!(message_delta(&events)["delta"]["stop_reason"], "tool_use");

    let call_id = kept[1]["id"].clone();
    body["messages"] = json!([
        body["messages"][0].clone(),
        {"role": "assistant", "content": kept},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call_id, "content": "a.txt\nb.txt"}]}
    ]);
    let events = bgw.client().events(&body).await;
    assert_eq!(text_of(&events, 0), "Two files.");

    let requests = mock.requests();
    assert_eq!(requests.len(), 2);
    let sent = requests[1].json();
    assert_eq!(
        sent["contents"],
        json!([
            {"role": "user", "parts": [{"text": "Say hello."}]},
            {"role": "model", "parts": [{"functionCall": {"name": "Bash", "args": {"command": "ls"}}, "thoughtSignature": SIG}]},
            {"role": "user", "parts": [{"functionResponse": {"name": "Bash", "response": {"output": "a.txt\nb.txt"}}}]}
        ])
    );
    assert_eq!(
        sent["tools"][0]["functionDeclarations"][0]["parametersJsonSchema"],
        json!({"type": "object", "properties": {"command": {"type": "string"}, "timeout": {"type": "number"}},
               "required": ["command"], "additionalProperties": false})
    );
}

#[tokio::test]
async fn a_whole_answer_comes_back_as_an_anthropic_message() {
    let model = "gemini-2.5-flash";
    let mock = Mock::start([Reply::json(
        200,
        &chunk(
            model,
            json!([{"text": "Hello."}]),
            Some("STOP"),
            Some(usage(11, 2, 0)),
        ),
    )])
    .await;
    let bgw = gateway(&mock);
    let resp = bgw.client().hello("gemini/gemini-2.5-flash", false).await;
    assert_eq!(resp.status, 200);
    let body = resp.json().await;
    assert_eq!(body["content"], json!([{"type": "text", "text": "Hello."}]));
    assert_eq!(body["model"], "gemini/gemini-2.5-flash");
    assert_eq!(body["stop_reason"], "end_turn");
    assert_eq!(body["usage"]["input_tokens"], 11);
    assert_eq!(body["usage"]["output_tokens"], 2);
    assert_eq!(
        mock.only_request().path,
        "/v1beta/models/gemini-2.5-flash:generateContent"
    );
}

#[tokio::test]
async fn googles_errors_reach_the_client_as_anthropic_errors() {
    let mock = Mock::start([
        Reply::json(
            429,
            &json!({"error": {"code": 429, "message": "Resource has been exhausted (e.g. check quota).", "status": "RESOURCE_EXHAUSTED"}}),
        ),
        Reply::json(
            400,
            &json!({"error": {"code": 400, "message": "The input token count (1200293) exceeds the maximum number of tokens allowed (1048576).", "status": "INVALID_ARGUMENT"}}),
        ),
    ])
    .await;
    // Each request tried once, by a gateway of its own: how one failure reads.
    let once = || {
        Bgw::setup()
            .provider("gemini", Some(KEY), &mock.at("/v1beta"))
            .serve_args(&["--max-attempts", "1"])
            .start()
    };
    let message = expect_error(
        once().client().hello("gemini/gemini-2.5-pro", true).await,
        429,
        "rate_limit_error",
    )
    .await;
    assert_contains(&message, "gemini: Resource has been exhausted");
    let message = expect_error(
        once().client().hello("gemini/gemini-2.5-pro", true).await,
        400,
        "invalid_request_error",
    )
    .await;
    assert_eq!(
        message,
        "prompt is too long: 1200293 tokens > 1048576 maximum"
    );
}

#[tokio::test]
async fn without_a_key_the_error_names_the_command_that_adds_one() {
    let bgw = Bgw::start_bare();
    let message = expect_error(
        bgw.client().hello("gemini/gemini-2.5-pro", true).await,
        401,
        "authentication_error",
    )
    .await;
    assert_contains(&message, "bgw keys add gemini --env GEMINI_API_KEY");
}

#[tokio::test]
async fn a_quota_errors_retry_delay_reaches_the_client_as_retry_after() {
    // Google sends no `retry-after` header: the delay is a `google.rpc.RetryInfo` in the body.
    let body = json!({"error": {
        "code": 429,
        "message": "You exceeded your current quota, please check your plan and billing details.",
        "status": "RESOURCE_EXHAUSTED",
        "details": [
            {"@type": "type.googleapis.com/google.rpc.QuotaFailure",
             "violations": [{"quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
                             "quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier"}]},
            {"@type": "type.googleapis.com/google.rpc.Help",
             "links": [{"description": "Learn more about Gemini API quotas",
                        "url": "https://ai.google.dev/gemini-api/docs/rate-limits"}]},
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "30s"}
        ]
    }});
    let mock = Mock::start([Reply::json(429, &body)]).await;
    let bgw = gateway(&mock);
    let resp = bgw.client().hello("gemini/gemini-2.5-pro", true).await;
    assert_eq!(resp.header("retry-after"), Some("30"));
    let message = expect_error(resp, 429, "rate_limit_error").await;
    assert_contains(&message, "gemini: You exceeded your current quota");
    assert_eq!(
        mock.requests().len(),
        1,
        "one target: nothing to fail over to"
    );
}

#[tokio::test]
async fn a_refused_key_is_an_authentication_error_that_says_why() {
    // Google answers PERMISSION_DENIED for a leaked or restricted key, or a project without
    // the API; another key is the fix, so bgw reports it as Anthropic's authentication error
    // (status 401), Google's message kept.
    let mock = Mock::start([Reply::json(
        403,
        &json!({"error": {"code": 403,
            "message": "Your API key was reported as leaked. Please use another API key.",
            "status": "PERMISSION_DENIED"}}),
    )])
    .await;
    let bgw = gateway(&mock);
    let resp = bgw.client().hello("gemini/gemini-2.5-pro", true).await;
    assert_eq!(resp.header("retry-after"), None);
    let message = expect_error(resp, 401, "authentication_error").await;
    assert_eq!(
        message,
        "gemini: Your API key was reported as leaked. Please use another API key."
    );
}
