//! Amazon Bedrock behind the Anthropic Messages API: the real `bgw serve` against a mock
//! `bedrock-runtime.{region}.amazonaws.com` (the key's `--base-url`) that checks each SigV4
//! signature itself and streams AWS event-stream frames one write at a time. Also Claude
//! Code's own Bedrock mode served by bgw (`/bedrock/model/…`), driven by a plain HTTP client.
//!
//! Upstream shapes: https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_InvokeModelWithResponseStream.html ,
//! https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-anthropic-claude-messages.html
//! (the body: no `model`, `anthropic_version: bedrock-2023-05-31`, `anthropic_beta`),
//! https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ConverseStream.html ,
//! https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_InvokeModel.html#API_runtime_InvokeModel_Errors ,
//! https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html ,
//! https://docs.aws.amazon.com/bedrock/latest/userguide/api-keys.html .
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use bytes::Bytes;
use http::HeaderMap;
use serde_json::{Value, json};
use std::time::Duration;
use support::bgw::{Setup, log_rows};
use support::clouds::aws::{
    self, FRAME_GAP, Keys, chunk, claude_events, converse_event, exception, verify_sigv4,
};
use support::clouds::{hermetic, hermetic_command};
use support::mock::{Part, Recorded};
use support::sse::{self, json_fragments, names, one_block_names, text_of};
use support::{
    Bgw, Mock, Reply, assert_contains, expect_error, expect_error_event, messages_request, openai,
    tool_request,
};

/// AWS's documented example credentials (a session's, with its token).
const KEYS: Keys = Keys {
    access_key_id: "AKIAIOSFODNN7EXAMPLE",
    secret_access_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    session_token: Some("IQoJb3JpZ2luX2VjEXAMPLE//////////wEaCXVzLWVhc3QtMSJHMEUCIQC+test"),
};

const SONNET_PATH: &str = "/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0";

/// A gateway whose `bedrock` key signs with `keys` from its environment, in `region`, at `mock`.
fn signed(mock: &Mock, keys: Keys, region: &str) -> Setup {
    let mut setup = hermetic(Bgw::setup())
        .env("AWS_ACCESS_KEY_ID", keys.access_key_id)
        .env("AWS_SECRET_ACCESS_KEY", keys.secret_access_key);
    if let Some(t) = keys.session_token {
        setup = setup.env("AWS_SESSION_TOKEN", t);
    }
    setup.key(&["bedrock", "--region", region, "--base-url", &mock.url()])
}

/// Frames, one write each, [`FRAME_GAP`] apart.
fn parts(frames: impl IntoIterator<Item = Bytes>) -> Vec<Part> {
    let mut out = Vec::new();
    for f in frames {
        if !out.is_empty() {
            out.push(Part::Sleep(FRAME_GAP));
        }
        out.push(Part::Bytes(f));
    }
    out
}

fn chunks(events: &[Value]) -> Vec<Bytes> {
    events.iter().map(chunk).collect()
}

#[test]
fn the_sigv4_verifier_agrees_with_awss_example_and_catches_changes() {
    // AWS's SigV4 test suite, `get-vanilla`: GET / on example.amazonaws.com at
    // 20150830T123600Z, service `service`, us-east-1.
    let keys = Keys {
        access_key_id: "AKIDEXAMPLE",
        secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        session_token: None,
    };
    let request = |path: &str, date: &str| {
        let mut headers = HeaderMap::new();
        headers.insert("host", "example.amazonaws.com".parse().unwrap());
        headers.insert("x-amz-date", date.parse().unwrap());
        headers.insert(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
                .parse()
                .unwrap(),
        );
        Recorded {
            method: "GET".into(),
            path: path.into(),
            headers,
            body: Bytes::new(),
        }
    };
    verify_sigv4(
        &request("/", "20150830T123600Z"),
        &keys,
        "us-east-1",
        "service",
    )
    .unwrap();
    assert!(
        verify_sigv4(
            &request("/x", "20150830T123600Z"),
            &keys,
            "us-east-1",
            "service"
        )
        .is_err()
    );
    assert!(
        verify_sigv4(
            &request("/", "20150830T123601Z"),
            &keys,
            "us-east-1",
            "service"
        )
        .is_err()
    );
    assert!(
        verify_sigv4(
            &request("/", "20150830T123600Z"),
            &keys,
            "eu-west-1",
            "service"
        )
        .is_err()
    );
    // Non-S3 services encode each segment once more: `%3A` is signed as `%253A`.
    assert_eq!(
        aws::canonical_uri(&format!("{SONNET_PATH}/invoke")),
        "/model/us.anthropic.claude-sonnet-4-5-20250929-v1%253A0/invoke"
    );
}

#[tokio::test]
async fn claude_streams_through_invoke_with_response_stream_signed_with_sigv4() {
    let events = claude_events(&["Hello", " from Bedrock."], 25, 9);
    let frames = chunks(&events);
    // A long pause after the first delta: the client must see it before the rest is sent.
    let mut steps = parts(frames[..3].to_vec());
    steps.push(Part::Sleep(Duration::from_millis(400)));
    steps.extend(parts(frames[3..].to_vec()));
    let mock = aws::verifying(KEYS, "us-east-1", vec![aws::stream_parts(steps)]).await;
    let bgw = signed(&mock, KEYS, "us-east-1").start();

    let betas = "interleaved-thinking-2025-05-14,fine-grained-tool-streaming-2025-05-14";
    let resp = bgw
        .client()
        .post_json_with(
            "/v1/messages",
            &[
                ("anthropic-beta", betas),
                ("anthropic-version", "2023-06-01"),
            ],
            &messages_request("bedrock/claude-sonnet-4-5", true),
        )
        .await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("content-type"), Some("text/event-stream"));
    let mut stream = resp.sse();
    let mut seen = Vec::new();
    while let Some(e) = stream.next().await {
        let delta = e.event == "content_block_delta";
        seen.push(e);
        if delta {
            break;
        }
    }
    assert!(
        mock.chunks_sent() <= 3,
        "the first delta arrived only after {} frames were sent",
        mock.chunks_sent()
    );
    seen.extend(stream.rest().await);
    assert_eq!(names(&seen), one_block_names(2), "{seen:#?}");
    assert_eq!(text_of(&seen, 0), "Hello from Bedrock.");
    assert_eq!(seen[0].json()["message"]["usage"]["input_tokens"], 25);
    assert_eq!(sse::message_delta(&seen)["usage"]["output_tokens"], 9);

    let req = mock.only_request();
    assert_eq!(req.method, "POST");
    assert_eq!(
        req.path,
        format!("{SONNET_PATH}/invoke-with-response-stream")
    );
    verify_sigv4(&req, &KEYS, "us-east-1", "bedrock").unwrap();
    assert_eq!(req.header("x-amz-security-token"), KEYS.session_token);
    assert_eq!(req.header("content-type"), Some("application/json"));
    let body = req.json();
    assert_eq!(body.get("model"), None, "{body}");
    assert_eq!(body.get("stream"), None, "{body}");
    assert_eq!(body["anthropic_version"], "bedrock-2023-05-31");
    assert_eq!(
        body["anthropic_beta"],
        json!([
            "interleaved-thinking-2025-05-14",
            "fine-grained-tool-streaming-2025-05-14"
        ])
    );
    assert_eq!(body["messages"][0]["content"][0]["text"], "Say hello.");

    let row = &log_rows(bgw.data_dir(), 1)[0];
    assert_eq!(row["provider"], "bedrock", "{row}");
    assert_eq!(row["usage"]["input_tokens"], 25, "{row}");
    assert_eq!(row["usage"]["output_tokens"], 9, "{row}");
}

#[tokio::test]
async fn a_whole_answer_comes_from_invoke() {
    let reply = support::anthropic::reply("claude-sonnet-4-5-20250929", "Hello, whole.")
        .header("X-Amzn-Bedrock-Input-Token-Count", "2095")
        .header("X-Amzn-Bedrock-Output-Token-Count", "503");
    let mock = aws::verifying(KEYS, "us-east-1", vec![reply]).await;
    let bgw = signed(&mock, KEYS, "us-east-1").start();

    let resp = bgw.client().hello("bedrock/claude-sonnet-4-5", false).await;
    assert_eq!(resp.status, 200);
    let body = resp.json().await;
    assert_eq!(body["content"][0]["text"], "Hello, whole.");
    assert_eq!(body["usage"]["output_tokens"], 503);

    let req = mock.only_request();
    assert_eq!(req.path, format!("{SONNET_PATH}/invoke"));
    let body = req.json();
    assert_eq!(body.get("stream"), None);
    assert_eq!(body.get("anthropic_beta"), None, "no betas were asked for");
    assert_eq!(body["anthropic_version"], "bedrock-2023-05-31");
}

#[tokio::test]
async fn a_signature_aws_refuses_is_a_403_whose_message_says_what_to_fix() {
    // The mock knows another secret: every signature bgw makes is wrong to it.
    let other = Keys {
        secret_access_key: "another-secret-0000000000000000000000000",
        ..KEYS
    };
    let mock = aws::verifying(other, "us-east-1", vec![]).await;
    let bgw = signed(&mock, KEYS, "us-east-1").start();
    let resp = bgw.client().hello("bedrock/claude-sonnet-4-5", true).await;
    let message = expect_error(resp, 403, "permission_error").await;
    assert_contains(&message, "signature we calculated does not match");
    assert_contains(&message, "/login does not change");
    assert_eq!(mock.requests().len(), 1, "a refusal is not retried");
}

#[tokio::test]
async fn no_aws_credentials_is_a_403_that_says_where_bgw_looked() {
    let mock = Mock::start([]).await;
    // No AWS variables and an empty home: nothing to sign with.
    let bgw = hermetic(Bgw::setup())
        .key(&[
            "bedrock",
            "--region",
            "us-east-1",
            "--base-url",
            &mock.url(),
        ])
        .start();
    let resp = bgw.client().hello("bedrock/claude-sonnet-4-5", false).await;
    // A 403, whose message Claude Code shows (a 401 it shows only as "Invalid API key").
    let message = expect_error(resp, 403, "permission_error").await;
    assert_contains(&message, "the key `bedrock`");
    assert_contains(&message, "AWS_ACCESS_KEY_ID");
    assert_contains(&message, "/login does not change");
    assert!(mock.requests().is_empty());
}

#[tokio::test]
async fn a_corrupt_frame_after_content_ends_the_stream_with_an_error_and_bgw_serves_on() {
    let events = claude_events(&["Hel", "lo."], 25, 9);
    let mut frames = chunks(&events);
    // The fourth frame (the second delta) arrives with its message CRC broken.
    let mut broken = frames[3].to_vec();
    let at = broken.len() - 1;
    broken[at] ^= 0x01;
    frames[3] = Bytes::from(broken);
    let mock = aws::verifying(
        KEYS,
        "us-east-1",
        vec![
            aws::stream(frames),
            aws::stream(chunks(&claude_events(&["Fine again."], 25, 3))),
        ],
    )
    .await;
    let bgw = signed(&mock, KEYS, "us-east-1").start();

    let events = bgw.client().hello_events("bedrock/claude-sonnet-4-5").await;
    assert_eq!(text_of(&events, 0), "Hel");
    let message = expect_error_event(&events, "api_error", "corrupt");
    assert_contains(&message, "bedrock");

    let events = bgw.client().hello_events("bedrock/claude-sonnet-4-5").await;
    assert_eq!(names(&events), one_block_names(1));
    assert_eq!(text_of(&events, 0), "Fine again.");
}

#[tokio::test]
async fn a_corrupt_second_frame_before_content_is_retried_unseen() {
    let events = claude_events(&["Hello."], 25, 3);
    let mut frames = chunks(&events);
    // The content_block_start frame's prelude CRC is broken: nothing was shown yet.
    let mut broken = frames[1].to_vec();
    broken[9] ^= 0x80;
    frames[1] = Bytes::from(broken);
    let mock = aws::verifying(
        KEYS,
        "us-east-1",
        vec![aws::stream(frames), aws::stream(chunks(&events))],
    )
    .await;
    let bgw = signed(&mock, KEYS, "us-east-1").start();
    let events = bgw.client().hello_events("bedrock/claude-sonnet-4-5").await;
    assert_eq!(names(&events), one_block_names(1), "{events:#?}");
    assert_eq!(text_of(&events, 0), "Hello.");
    assert_eq!(mock.requests().len(), 2);
}

#[tokio::test]
async fn a_throttling_exception_before_content_moves_to_the_next_key() {
    let throttled = aws::stream(vec![
        chunk(&claude_events(&[], 25, 0)[0]),
        exception(
            "throttlingException",
            "Too many requests, please wait before trying again.",
        ),
    ]);
    let a = aws::verifying(KEYS, "us-east-1", vec![throttled]).await;
    let b = aws::verifying(
        KEYS,
        "us-west-2",
        vec![aws::stream(chunks(&claude_events(&["From b."], 25, 3)))],
    )
    .await;
    let bgw = hermetic(Bgw::setup())
        .env("AWS_ACCESS_KEY_ID", KEYS.access_key_id)
        .env("AWS_SECRET_ACCESS_KEY", KEYS.secret_access_key)
        .env("AWS_SESSION_TOKEN", KEYS.session_token.unwrap())
        .key(&[
            "bedrock",
            "--name",
            "a",
            "--region",
            "us-east-1",
            "--base-url",
            &a.url(),
            "--weight",
            "1000000",
        ])
        .key(&[
            "bedrock",
            "--name",
            "b",
            "--region",
            "us-west-2",
            "--base-url",
            &b.url(),
        ])
        .start();

    let events = bgw.client().hello_events("bedrock/claude-sonnet-4-5").await;
    assert_eq!(names(&events), one_block_names(1), "{events:#?}");
    assert_eq!(text_of(&events, 0), "From b.");
    assert_eq!(a.requests().len(), 1);
    // Each key signs for its own region (the mock for b checks us-west-2).
    assert_eq!(
        b.only_request().path,
        format!("{SONNET_PATH}/invoke-with-response-stream")
    );
    let row = &log_rows(bgw.data_dir(), 1)[0];
    let attempts = row["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 2, "{row}");
    assert_eq!(attempts[0]["key"], "a");
    assert_contains(attempts[0]["error"].as_str().unwrap(), "Too many requests");
    assert_eq!(attempts[1]["key"], "b");
}

#[tokio::test]
async fn a_throttling_exception_with_no_attempt_left_is_a_429() {
    let throttled = aws::stream(vec![exception(
        "throttlingException",
        "Too many requests, please wait before trying again.",
    )]);
    let mock = aws::verifying(KEYS, "us-east-1", vec![throttled]).await;
    let bgw = signed(&mock, KEYS, "us-east-1")
        .serve_args(&["--max-attempts", "1"])
        .start();
    let resp = bgw.client().hello("bedrock/claude-sonnet-4-5", true).await;
    let message = expect_error(resp, 429, "rate_limit_error").await;
    assert_contains(&message, "Too many requests");
}

#[tokio::test]
async fn bedrocks_error_answers_become_anthropics() {
    let mock = aws::verifying(
        KEYS,
        "us-east-1",
        vec![
            aws::error(
                400,
                "ValidationException",
                "Input is too long for requested model.",
            ),
            aws::error(
                404,
                "ResourceNotFoundException",
                "The provided model identifier is invalid.",
            ),
            aws::error(
                429,
                "ThrottlingException",
                "Too many requests, please wait before trying again.",
            ),
        ],
    )
    .await;
    // One attempt: a 429 is otherwise retried once the key has cooled down.
    let bgw = signed(&mock, KEYS, "us-east-1")
        .serve_args(&["--max-attempts", "1"])
        .start();
    let client = bgw.client();

    // Claude Code compacts the conversation on Anthropic's "prompt is too long".
    let message = expect_error(
        client.hello("bedrock/claude-sonnet-4-5", true).await,
        400,
        "invalid_request_error",
    )
    .await;
    assert_contains(&message, "prompt is too long");
    assert_contains(&message, "Input is too long for requested model.");

    let message = expect_error(
        client.hello("bedrock/claude-sonnet-4-5", false).await,
        404,
        "not_found_error",
    )
    .await;
    assert_contains(&message, "model identifier is invalid");
    assert_contains(&message, "inference profile");

    let message = expect_error(
        client.hello("bedrock/claude-sonnet-4-5", true).await,
        429,
        "rate_limit_error",
    )
    .await;
    assert_contains(&message, "Too many requests");
}

/// ConverseStream's events for a text answer, as documented (usage in `metadata`, after
/// `messageStop`).
fn converse_text(pieces: &[&str]) -> Vec<Bytes> {
    let mut frames = vec![converse_event(
        "messageStart",
        &json!({"role": "assistant"}),
    )];
    for p in pieces {
        frames.push(converse_event(
            "contentBlockDelta",
            &json!({"contentBlockIndex": 0, "delta": {"text": p}}),
        ));
    }
    frames.extend([
        converse_event("contentBlockStop", &json!({"contentBlockIndex": 0})),
        converse_event("messageStop", &json!({"stopReason": "end_turn"})),
        converse_event(
            "metadata",
            &json!({"usage": {"inputTokens": 12, "outputTokens": 4, "totalTokens": 16},
                    "metrics": {"latencyMs": 321}}),
        ),
    ]);
    frames
}

#[tokio::test]
async fn other_models_stream_through_converse_stream() {
    let mock = aws::verifying(
        KEYS,
        "us-east-1",
        vec![aws::stream(converse_text(&["Hel", "lo."]))],
    )
    .await;
    let bgw = signed(&mock, KEYS, "us-east-1").start();

    let events = bgw
        .client()
        .hello_events("bedrock/amazon.nova-pro-v1:0")
        .await;
    assert_eq!(names(&events), one_block_names(2), "{events:#?}");
    assert_eq!(text_of(&events, 0), "Hello.");
    let delta = sse::message_delta(&events);
    assert_eq!(delta["delta"]["stop_reason"], "end_turn");
    assert_eq!(delta["usage"]["output_tokens"], 4);

    let req = mock.only_request();
    assert_eq!(req.path, "/model/amazon.nova-pro-v1%3A0/converse-stream");
    verify_sigv4(&req, &KEYS, "us-east-1", "bedrock").unwrap();
    let body = req.json();
    assert_eq!(body.get("model"), None);
    assert_eq!(body["system"][0]["text"], "You are terse.");
    assert_eq!(body["messages"][0]["role"], "user");
    assert_eq!(body["messages"][0]["content"][0]["text"], "Say hello.");
    assert!(
        body["inferenceConfig"]["maxTokens"].as_u64().unwrap() > 0,
        "{body}"
    );

    let row = &log_rows(bgw.data_dir(), 1)[0];
    assert_eq!(row["usage"]["input_tokens"], 12, "{row}");
    assert_eq!(row["usage"]["output_tokens"], 4, "{row}");
}

#[tokio::test]
async fn a_converse_tool_call_arrives_as_a_tool_use_block() {
    let frames = vec![
        converse_event("messageStart", &json!({"role": "assistant"})),
        converse_event(
            "contentBlockDelta",
            &json!({"contentBlockIndex": 0, "delta": {"text": "Listing."}}),
        ),
        converse_event("contentBlockStop", &json!({"contentBlockIndex": 0})),
        converse_event(
            "contentBlockStart",
            &json!({"contentBlockIndex": 1, "start": {"toolUse": {
                "toolUseId": "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q", "name": "Bash"}}}),
        ),
        converse_event(
            "contentBlockDelta",
            &json!({"contentBlockIndex": 1, "delta": {"toolUse": {"input": "{\"comm"}}}),
        ),
        converse_event(
            "contentBlockDelta",
            &json!({"contentBlockIndex": 1, "delta": {"toolUse": {"input": "and\": \"ls -la\"}"}}}),
        ),
        converse_event("contentBlockStop", &json!({"contentBlockIndex": 1})),
        converse_event("messageStop", &json!({"stopReason": "tool_use"})),
        converse_event(
            "metadata",
            &json!({"usage": {"inputTokens": 310, "outputTokens": 41, "totalTokens": 351},
                    "metrics": {"latencyMs": 777}}),
        ),
    ];
    let mock = aws::verifying(KEYS, "us-east-1", vec![aws::stream(frames)]).await;
    let bgw = signed(&mock, KEYS, "us-east-1").start();

    let events = bgw
        .client()
        .events(&tool_request("bedrock/amazon.nova-pro-v1:0", true))
        .await;
    assert_eq!(text_of(&events, 0), "Listing.");
    let start = &sse::block(&events, 1)[0];
    assert_eq!(
        start["content_block"],
        json!({"type": "tool_use", "id": "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q", "name": "Bash", "input": {}})
    );
    let input: Value = serde_json::from_str(&json_fragments(&events, 1).concat()).unwrap();
    assert_eq!(input, json!({"command": "ls -la"}));
    assert_eq!(
        sse::message_delta(&events)["delta"]["stop_reason"],
        "tool_use"
    );

    let body = mock.only_request().json();
    let spec = &body["toolConfig"]["tools"][0]["toolSpec"];
    assert_eq!(spec["name"], "Bash");
    assert_eq!(spec["description"], "Run a shell command");
    assert_eq!(
        spec["inputSchema"]["json"]["properties"]["command"],
        json!({"type": "string"})
    );
}

#[tokio::test]
async fn an_api_key_is_a_bearer_token_and_no_signature() {
    const API_KEY: &str = "ABSKQmVkcm9ja0FQSUtleS1leGFtcGxlLWF0LTEyMzQ1Njc4OTAxMg==";
    let mock = Mock::start([support::anthropic::reply(
        "claude-sonnet-4-5-20250929",
        "Hello, key.",
    )])
    .await;
    let bgw = hermetic(Bgw::setup())
        // Credentials in the environment are not used with an API key.
        .env("AWS_ACCESS_KEY_ID", KEYS.access_key_id)
        .env("AWS_SECRET_ACCESS_KEY", KEYS.secret_access_key)
        .key(&[
            "bedrock",
            "--value",
            API_KEY,
            "--region",
            "us-west-2",
            "--base-url",
            &mock.url(),
        ])
        .start();
    let resp = bgw.client().hello("bedrock/claude-sonnet-4-5", false).await;
    assert_eq!(resp.status, 200);
    let req = mock.only_request();
    assert_eq!(req.path, format!("{SONNET_PATH}/invoke"));
    assert_eq!(
        req.header("authorization"),
        Some(format!("Bearer {API_KEY}").as_str())
    );
    assert_eq!(req.header("x-amz-date"), None);
    assert_eq!(req.header("x-amz-security-token"), None);
}

#[tokio::test]
async fn the_sdks_endpoint_variable_replaces_the_regional_host() {
    let mock = Mock::start([support::anthropic::reply(
        "claude-haiku-4-5-20251001",
        "Hello via the endpoint variable.",
    )])
    .await;
    let bgw = hermetic(Bgw::setup())
        .env("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", &mock.url())
        .key(&[
            "bedrock",
            "--value",
            "ABSK-test-key-0000000000",
            "--region",
            "eu-west-1",
        ])
        .start();
    let resp = bgw.client().hello("bedrock/claude-haiku-4-5", false).await;
    assert_eq!(resp.status, 200);
    let body = resp.json().await;
    assert_eq!(
        body["content"][0]["text"],
        "Hello via the endpoint variable."
    );
    // eu-west-1 takes the EU inference profile.
    assert_eq!(
        mock.only_request().path,
        "/model/eu.anthropic.claude-haiku-4-5-20251001-v1%3A0/invoke"
    );
}

/// Runs `bgw keys add ARGS…` in a fresh data dir with no cloud settings from the machine;
/// its exit status and stderr.
fn keys_add(args: &[&str], env: &[(&str, &str)]) -> (bool, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let mut cmd = support::bgw::command(dir.path());
    hermetic_command(&mut cmd, &home);
    cmd.envs(env.iter().copied());
    let out = cmd.arg("keys").arg("add").args(args).output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        dir,
    )
}

#[test]
fn keys_add_bedrock_needs_a_region_and_keeps_profile_to_aws_credentials() {
    let (ok, err, _) = keys_add(&["bedrock"], &[]);
    assert!(!ok);
    assert_contains(&err, "a bedrock key needs an AWS region");
    assert_contains(&err, "--region us-east-1");

    // The region may come from the environment, as for the AWS CLI.
    let (ok, err, _) = keys_add(&["bedrock"], &[("AWS_REGION", "eu-central-1")]);
    assert!(ok, "{err}");

    let (ok, err, _) = keys_add(
        &[
            "bedrock",
            "--value",
            "ABSK-x-0000000000000",
            "--profile",
            "dev",
            "--region",
            "us-east-1",
        ],
        &[],
    );
    assert!(!ok);
    assert_contains(&err, "`--profile` signs with AWS credentials");

    let (ok, err, _) = keys_add(
        &[
            "openai",
            "--value",
            "sk-test-0000000000000",
            "--profile",
            "dev",
        ],
        &[],
    );
    assert!(!ok);
    assert_contains(&err, "`--profile` is for bedrock keys, not `openai`");

    let (ok, err, _) = keys_add(&["bedrock", "--project", "p", "--region", "us-east-1"], &[]);
    assert!(!ok);
    assert_contains(&err, "`--project` is for vertex keys");
}

#[test]
fn keys_list_never_shows_a_bedrock_api_key() {
    const API_KEY: &str = "ABSKQmVkcm9ja0FQSUtleS1zZWNyZXQtdmFsdWUtOTk5OTk5";
    let (ok, err, dir) = keys_add(
        &["bedrock", "--value", API_KEY, "--region", "us-east-1"],
        &[],
    );
    assert!(ok, "{err}");
    assert!(!err.contains(API_KEY), "{err}");
    let out = support::bgw::command(dir.path())
        .args(["keys", "list"])
        .output()
        .unwrap();
    let shown = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{shown}");
    assert_contains(&shown, "bedrock");
    assert!(!shown.contains(&API_KEY[..20]), "{shown}");
}

/// A Claude Code request in Bedrock's shape: no `model`, Bedrock's version, betas in the body.
fn bedrock_body() -> Value {
    json!({
        "anthropic_version": "bedrock-2023-05-31",
        "anthropic_beta": ["claude-code-20250219", "interleaved-thinking-2025-05-14"],
        "max_tokens": 1024,
        "system": [{"type": "text", "text": "You are terse."}],
        "messages": [{"role": "user", "content": [{"type": "text", "text": "Say hello."}]}]
    })
}

#[tokio::test]
async fn claude_codes_bedrock_mode_gets_event_stream_frames_from_any_provider() {
    let openai_mock = Mock::start([Reply::sse([
        openai::role("gpt-4o"),
        openai::text("gpt-4o", "Hello"),
        openai::text("gpt-4o", " from GPT."),
        openai::finish("gpt-4o", "stop"),
        openai::usage("gpt-4o", 14, 5, 0),
        openai::DONE.to_owned(),
    ])])
    .await;
    let bgw = Bgw::setup()
        .provider(
            "openai",
            Some("sk-test-openai-000000"),
            &openai_mock.at("/v1"),
        )
        .start();

    let resp = bgw
        .client()
        .post_json(
            "/bedrock/model/openai%2Fgpt-4o/invoke-with-response-stream",
            &bedrock_body(),
        )
        .await;
    assert_eq!(resp.status, 200);
    assert_eq!(
        resp.header("content-type"),
        Some("application/vnd.amazon.eventstream")
    );
    let body = resp.bytes().await;
    let messages = aws::decode(&body);
    let events: Vec<Value> = messages.iter().map(aws::unwrap_chunk).collect();
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .filter(|k| *k != "ping")
        .collect();
    assert_eq!(kinds, one_block_names(2));
    let text: String = events
        .iter()
        .filter(|e| e["type"] == "content_block_delta")
        .map(|e| e["delta"]["text"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(text, "Hello from GPT.");

    let req = openai_mock.only_request().json();
    assert_eq!(req["model"], "gpt-4o");
    assert_eq!(req["stream"], true);
    assert_eq!(req["messages"][1]["content"], "Say hello.");

    let row = &log_rows(bgw.data_dir(), 1)[0];
    assert_eq!(row["provider"], "openai", "{row}");
}

#[tokio::test]
async fn claude_codes_bedrock_mode_with_a_bare_id_goes_to_bedrock() {
    let upstream = Mock::start([support::anthropic::reply(
        "claude-sonnet-4-5-20250929",
        "Hello, relayed.",
    )])
    .await;
    let bgw = hermetic(Bgw::setup())
        .key(&[
            "bedrock",
            "--value",
            "ABSK-test-key-0000000000",
            "--region",
            "us-east-1",
            "--base-url",
            &upstream.url(),
        ])
        .start();
    // The AWS SDK sends the id's `:` as `%3A`.
    let resp = bgw
        .client()
        .post_json(&format!("/bedrock{SONNET_PATH}/invoke"), &bedrock_body())
        .await;
    assert_eq!(resp.status, 200);
    let body = resp.json().await;
    assert_eq!(body["content"][0]["text"], "Hello, relayed.");

    let req = upstream.only_request();
    assert_eq!(req.path, format!("{SONNET_PATH}/invoke"));
    let sent = req.json();
    assert_eq!(sent["anthropic_version"], "bedrock-2023-05-31");
    // Only the betas Bedrock takes: it refuses a flag it does not know (`claude-code-…`).
    assert_eq!(
        sent["anthropic_beta"],
        json!(["interleaved-thinking-2025-05-14"])
    );
    assert_eq!(sent.get("model"), None);
}

#[tokio::test]
async fn claude_codes_bedrock_mode_gets_bedrock_shaped_errors() {
    let openai_mock = Mock::start([Reply::json(
        400,
        &openai::error(
            "Invalid 'messages[1].content': string too long.",
            "invalid_request_error",
            None,
        ),
    )])
    .await;
    let bgw = Bgw::setup()
        .provider(
            "openai",
            Some("sk-test-openai-000000"),
            &openai_mock.at("/v1"),
        )
        .start();
    let client = bgw.client();

    let resp = client
        .post_json(
            "/bedrock/model/openai%2Fgpt-4o/invoke-with-response-stream",
            &bedrock_body(),
        )
        .await;
    assert_eq!(resp.status, 400);
    assert_eq!(resp.header("x-amzn-errortype"), Some("ValidationException"));
    let body = resp.json().await;
    assert_contains(body["message"].as_str().unwrap(), "string too long");
    assert_eq!(body.as_object().unwrap().len(), 1, "{body}");

    // A provider bgw has no key for.
    let resp = client
        .post_json(
            "/bedrock/model/mistral%2Fmistral-large-latest/invoke",
            &bedrock_body(),
        )
        .await;
    // Claude Code retries a Bedrock 403 for minutes: bgw's own refusal is a request error.
    assert_eq!(resp.status, 400);
    assert_eq!(resp.header("x-amzn-errortype"), Some("ValidationException"));
    let body = resp.json().await;
    assert_contains(
        body["message"].as_str().unwrap(),
        "no key for provider `mistral`",
    );

    // Bedrock's control plane: Claude Code asks which inference profiles exist.
    let resp = client
        .get("/bedrock/inference-profiles?type=SYSTEM_DEFINED")
        .await;
    assert_eq!(resp.status, 200);
    let body = resp.json().await;
    assert!(body["inferenceProfileSummaries"].is_array(), "{body}");

    let rows = log_rows(bgw.data_dir(), 1);
    assert!(
        rows.iter().any(|r| r["status"] == 400),
        "the refused request is in the log: {rows:?}"
    );
}

/// Bedrock's CountTokens (https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_CountTokens.html):
/// `POST /model/{foundation model}/count-tokens` with the InvokeModel body in base64 under
/// `input.invokeModel.body`, answered `{"inputTokens": N}`, signed like any request.
#[tokio::test]
async fn a_token_count_for_claude_is_bedrocks_own() {
    use base64::Engine as _;
    let mock = Mock::start([Reply::json(200, &json!({"inputTokens": 1234}))]).await;
    let bgw = signed(&mock, KEYS, "us-east-1").start();
    let resp = bgw
        .client()
        .post_json(
            "/v1/messages/count_tokens",
            &json!({"model": "bedrock/claude-sonnet-4-5",
                    "messages": [{"role": "user", "content": "How many tokens is this?"}]}),
        )
        .await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.json().await, json!({"input_tokens": 1234}));
    let req = mock.only_request();
    assert_eq!(
        req.path,
        "/model/anthropic.claude-sonnet-4-5-20250929-v1%3A0/count-tokens"
    );
    verify_sigv4(&req, &KEYS, "us-east-1", "bedrock").unwrap();
    let sent = req.json();
    let invoke = base64::engine::general_purpose::STANDARD
        .decode(sent["input"]["invokeModel"]["body"].as_str().unwrap())
        .unwrap();
    let invoke: Value = serde_json::from_slice(&invoke).unwrap();
    assert_eq!(invoke["anthropic_version"], "bedrock-2023-05-31");
    assert_eq!(invoke["max_tokens"], 1);
    assert_eq!(invoke.get("model"), None);
    assert_eq!(invoke["messages"][0]["content"], "How many tokens is this?");
}

#[tokio::test]
async fn a_count_bedrock_refuses_is_estimated() {
    let mock = Mock::start([aws::error(
        400,
        "ValidationException",
        "The provided model doesn't support counting tokens.",
    )])
    .await;
    let bgw = signed(&mock, KEYS, "us-east-1").start();
    let resp = bgw
        .client()
        .post_json(
            "/v1/messages/count_tokens",
            &json!({"model": "bedrock/claude-sonnet-4-5",
                    "messages": [{"role": "user", "content": "How many tokens is this?"}]}),
        )
        .await;
    assert_eq!(resp.status, 200);
    let n = resp.json().await["input_tokens"].as_u64().unwrap();
    assert!((5..40).contains(&n), "{n}");
    assert_eq!(mock.requests().len(), 1);
}
