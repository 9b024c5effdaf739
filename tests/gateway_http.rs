//! The gateway's HTTP surface, end to end: paths, methods, limits and the errors that
//! tell the person what to do. The real `bgw serve` runs against mocks on 127.0.0.1.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use http::Method;
use serde_json::{Value, json};
use support::{Bgw, Mock, Reply, assert_contains, expect_error, messages_request, openai};

const MODEL: &str = "gpt-4o-mini";

async fn openai_gateway(mock: &Mock, serve_args: &[&str]) -> Bgw {
    Bgw::setup()
        .provider("openai", Some("sk-test-openai-000000"), &mock.at("/v1"))
        .serve_args(serve_args)
        .start()
}

#[tokio::test]
async fn health_answers_ok() {
    let bgw = Bgw::start_bare();
    let resp = bgw.client().get("/health").await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.json().await, json!({"status": "ok"}));
}

#[tokio::test]
async fn models_list_has_the_anthropic_shape() {
    let mock = Mock::start([]).await;
    let bgw = Bgw::setup()
        .provider("openai", Some("sk-test-openai-000000"), &mock.at("/v1"))
        .key(&[
            "myvllm",
            "--compat",
            "openai",
            "--base-url",
            &mock.at("/v1"),
            "--models",
            "qwen3-coder",
        ])
        .start();
    let resp = bgw.client().get("/v1/models?limit=1000").await;
    assert_eq!(resp.status, 200);
    let page = resp.json().await;
    let data = page["data"].as_array().unwrap();
    assert!(!data.is_empty(), "{page}");
    for m in data {
        assert_eq!(m["type"], "model", "{m}");
        assert!(m["id"].as_str().is_some_and(|s| !s.is_empty()), "{m}");
        assert!(
            m["display_name"].as_str().is_some_and(|s| !s.is_empty()),
            "{m}"
        );
        assert!(
            m["created_at"].as_str().is_some_and(|s| s.ends_with('Z')),
            "{m}"
        );
    }
    let ids: Vec<&str> = data.iter().map(|m| m["id"].as_str().unwrap()).collect();
    // Claude Code's discovery keeps only ids that contain `claude` or `anthropic`.
    for id in &ids {
        let lower = id.to_lowercase();
        assert!(
            lower.contains("claude") || lower.contains("anthropic"),
            "{id}"
        );
    }
    // Anthropic models are listed bare (a client login may pass through), others as
    // claude/provider/model.
    assert!(ids.contains(&"claude-sonnet-4-5"), "{ids:?}");
    assert!(ids.contains(&"claude/openai/gpt-5"), "{ids:?}");
    assert!(
        ids.contains(&"claude/myvllm/qwen3-coder"),
        "a key's --models are listed: {ids:?}"
    );
    assert!(
        !ids.iter().any(|id| id.contains("groq/")),
        "providers without a key are not listed: {ids:?}"
    );
    let gpt5 = data
        .iter()
        .find(|m| m["id"] == "claude/openai/gpt-5")
        .unwrap();
    assert_eq!(gpt5["display_name"], "GPT-5 · openai");
    assert!(
        gpt5["description"]
            .as_str()
            .is_some_and(|d| d.starts_with("openai/gpt-5 · ") && d.contains(" context")),
        "{gpt5}"
    );
    assert_eq!(page["has_more"], false);
    assert_eq!(page["first_id"], data[0]["id"]);
    assert_eq!(page["last_id"], data[data.len() - 1]["id"]);
    assert!(
        mock.requests().is_empty(),
        "listing models asks no upstream"
    );
}

#[tokio::test]
async fn a_model_picked_from_the_list_reaches_its_provider() {
    let mock = Mock::start([Reply::json(
        200,
        &openai::completion("gpt-4.1", "Hi.", "stop", openai::usage_object(10, 2, 0)),
    )])
    .await;
    let bgw = openai_gateway(&mock, &[]).await;
    let resp = bgw.client().hello("claude/openai/gpt-4.1", false).await;
    assert_eq!(resp.status, 200);
    let body = resp.json().await;
    assert_eq!(
        body["model"], "claude/openai/gpt-4.1",
        "the id Claude Code sent"
    );
    assert_eq!(mock.requests()[0].json()["model"], "gpt-4.1");
}

#[tokio::test]
async fn models_list_pages_with_limit_and_after_id() {
    let mock = Mock::start([]).await;
    let bgw = openai_gateway(&mock, &[]).await;
    let client = bgw.client();
    let all: Vec<Value> = client.get("/v1/models?limit=1000").await.json().await["data"]
        .as_array()
        .unwrap()
        .clone();
    assert!(all.len() >= 5, "need a few models to page through: {all:?}");

    let mut walked: Vec<Value> = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let path = match &after {
            Some(id) => format!("/v1/models?limit=2&after_id={}", id.replace('/', "%2F")),
            None => "/v1/models?limit=2".to_owned(),
        };
        let page = client.get(&path).await.json().await;
        let data = page["data"].as_array().unwrap();
        assert!(!data.is_empty() && data.len() <= 2, "{page}");
        assert_eq!(page["first_id"], data[0]["id"], "{page}");
        assert_eq!(page["last_id"], data[data.len() - 1]["id"], "{page}");
        walked.extend(data.iter().cloned());
        assert_eq!(page["has_more"], walked.len() < all.len(), "{page}");
        if page["has_more"] == false {
            break;
        }
        after = Some(page["last_id"].as_str().unwrap().to_owned());
    }
    assert_eq!(walked, all, "pages of 2 put together are the whole list");
}

#[tokio::test]
async fn models_limit_out_of_range_is_a_400() {
    let bgw = Bgw::start_bare();
    let msg = expect_error(
        bgw.client().get("/v1/models?limit=0").await,
        400,
        "invalid_request_error",
    )
    .await;
    assert_contains(&msg, "`limit`");
}

#[tokio::test]
async fn one_model_is_served_under_its_id_and_unknown_ones_are_404() {
    let bgw = Bgw::start_bare();
    let client = bgw.client();
    let first = client.get("/v1/models?limit=1").await.json().await["data"][0].clone();
    let id = first["id"].as_str().unwrap();
    let one = client.get(&format!("/v1/models/{id}")).await;
    assert_eq!(one.status, 200);
    assert_eq!(one.json().await, first);
    let msg = expect_error(
        client.get("/v1/models/no-such-model").await,
        404,
        "not_found_error",
    )
    .await;
    assert_contains(&msg, "no-such-model");
}

#[tokio::test]
async fn the_anthropic_prefix_serves_the_same_api() {
    let mock = Mock::start([openai::reply(MODEL, "Hello.", 12, 3)]).await;
    let bgw = openai_gateway(&mock, &[]).await;
    let client = bgw.client();

    let resp = client
        .post_json(
            "/anthropic/v1/messages",
            &messages_request(&format!("openai/{MODEL}"), false),
        )
        .await;
    assert_eq!(resp.status, 200);
    let body = resp.json().await;
    assert_eq!(body["content"], json!([{"type": "text", "text": "Hello."}]));
    assert_eq!(mock.only_request().path, "/v1/chat/completions");

    let models = client.get("/anthropic/v1/models").await;
    assert_eq!(models.status, 200);
    assert!(
        models.json().await["data"]
            .as_array()
            .is_some_and(|d| !d.is_empty())
    );
    let health = client.get("/anthropic/health").await;
    assert_eq!(health.status, 200);
}

#[tokio::test]
async fn a_body_over_max_body_mb_is_a_413() {
    let mock = Mock::start([]).await;
    let bgw = openai_gateway(&mock, &["--max-body-mb", "1"]).await;
    let mut req = messages_request(&format!("openai/{MODEL}"), false);
    req["messages"][0]["content"][0]["text"] = Value::String("x".repeat(1024 * 1024 + 1));
    let resp = bgw.client().messages(&req).await;
    let msg = expect_error(resp, 413, "request_too_large").await;
    assert_contains(&msg, "--max-body-mb");
    assert!(mock.requests().is_empty());
}

#[tokio::test]
async fn a_body_just_under_max_body_mb_is_accepted() {
    let mock = Mock::start([openai::reply(MODEL, "ok", 300_000, 1)]).await;
    let bgw = openai_gateway(&mock, &["--max-body-mb", "1"]).await;
    let mut req = messages_request(&format!("openai/{MODEL}"), false);
    req["messages"][0]["content"][0]["text"] = Value::String("x".repeat(1000 * 1000));
    let resp = bgw.client().messages(&req).await;
    assert_eq!(resp.status, 200);
    assert_eq!(mock.requests().len(), 1);
}

#[tokio::test]
async fn malformed_json_is_a_400_that_says_so() {
    let mock = Mock::start([]).await;
    let bgw = openai_gateway(&mock, &[]).await;
    let resp = bgw
        .client()
        .post(
            "/v1/messages",
            &[],
            r#"{"model": "openai/gpt-4o-mini", "messages": ["#,
        )
        .await;
    let msg = expect_error(resp, 400, "invalid_request_error").await;
    assert_contains(&msg, "not valid JSON");
    assert!(mock.requests().is_empty());
}

#[tokio::test]
async fn a_missing_messages_field_is_a_400_naming_it() {
    let mock = Mock::start([]).await;
    let bgw = openai_gateway(&mock, &[]).await;
    let resp = bgw
        .client()
        .messages(&json!({"model": format!("openai/{MODEL}"), "max_tokens": 10}))
        .await;
    let msg = expect_error(resp, 400, "invalid_request_error").await;
    assert_contains(&msg, "`messages`");
    assert!(mock.requests().is_empty());
}

#[tokio::test]
async fn a_missing_model_is_a_400_naming_it() {
    let bgw = Bgw::start_bare();
    let resp = bgw
        .client()
        .messages(&json!({"max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}))
        .await;
    let msg = expect_error(resp, 400, "invalid_request_error").await;
    assert_contains(&msg, "`model`");
}

#[tokio::test]
async fn an_unknown_provider_is_a_400_naming_it_and_the_fix() {
    let bgw = Bgw::start_bare();
    let resp = bgw.client().hello("nope/some-model", false).await;
    let msg = expect_error(resp, 400, "invalid_request_error").await;
    assert_contains(&msg, "unknown provider `nope`");
    assert_contains(&msg, "bgw keys add nope --compat openai --base-url URL");
}

#[tokio::test]
async fn a_provider_without_a_key_is_a_401_with_the_command_that_adds_one() {
    let bgw = Bgw::start_bare();
    let client = bgw.client();
    let resp = client.hello("groq/llama-3.3-70b-versatile", false).await;
    assert_eq!(
        resp.header("x-should-retry"),
        Some("false"),
        "a missing key will not appear by retrying"
    );
    let msg = expect_error(resp, 401, "authentication_error").await;
    assert_contains(&msg, "`bgw keys add groq --env GROQ_API_KEY`");

    let resp = client.hello("openai/gpt-5", true).await;
    let msg = expect_error(resp, 401, "authentication_error").await;
    assert_contains(&msg, "`bgw keys add openai --env OPENAI_API_KEY`");

    let resp = client.hello("azure/gpt-4o", false).await;
    let msg = expect_error(resp, 401, "authentication_error").await;
    assert_contains(
        &msg,
        "bgw keys add azure --env AZURE_OPENAI_API_KEY --base-url",
    );
}

#[tokio::test]
async fn anthropic_without_a_key_or_a_client_credential_is_a_401_saying_how_to_fix_it() {
    let bgw = Bgw::start_bare();
    let resp = bgw.client().hello("claude-sonnet-4-5", false).await;
    let msg = expect_error(resp, 401, "authentication_error").await;
    assert_contains(&msg, "`bgw keys add anthropic --env ANTHROPIC_API_KEY`");
    assert_contains(&msg, "/login");
}

#[tokio::test]
async fn count_tokens_for_an_openai_model_is_estimated_locally() {
    let mock = Mock::start([]).await;
    let bgw = openai_gateway(&mock, &[]).await;
    let req = json!({
        "model": format!("openai/{MODEL}"),
        "system": "You are terse.",
        "messages": [{"role": "user", "content": "Hello there"}]
    });
    let resp = bgw
        .client()
        .post_json("/v1/messages/count_tokens", &req)
        .await;
    assert_eq!(resp.status, 200);
    let body = resp.json().await;
    // The estimate of the Chat Completions body; o200k_base counts 17: 3 and a role token per
    // message, 6 of text, 3 for the reply (tests/count_tokens_accuracy.rs measures the estimate).
    assert_eq!(body, json!({"input_tokens": 18}));
    assert!(
        mock.requests().is_empty(),
        "no upstream is asked to count for OpenAI"
    );
}

#[tokio::test]
async fn count_tokens_grows_with_the_request() {
    let bgw = Bgw::setup()
        .key(&["openai", "--value", "sk-test-openai-000000"])
        .start();
    let client = bgw.client();
    let count = |text: String| json!({"model": "openai/gpt-5", "messages": [{"role": "user", "content": text}]});
    let small = client
        .post_json("/v1/messages/count_tokens", &count("hi".into()))
        .await
        .json()
        .await;
    let large = client
        .post_json("/v1/messages/count_tokens", &count("word ".repeat(4000)))
        .await
        .json()
        .await;
    let (small, large) = (
        small["input_tokens"].as_u64().unwrap(),
        large["input_tokens"].as_u64().unwrap(),
    );
    assert!(
        small > 0 && large > small + 4000,
        "small {small}, large {large}"
    );
}

#[tokio::test]
async fn a_wrong_method_on_messages_is_a_405() {
    let bgw = Bgw::start_bare();
    let client = bgw.client();
    let msg = expect_error(
        client.get("/v1/messages").await,
        405,
        "invalid_request_error",
    )
    .await;
    assert_contains(&msg, "use POST");
    let resp = client
        .send(Method::PUT, "/v1/messages/count_tokens", &[], "{}")
        .await;
    expect_error(resp, 405, "invalid_request_error").await;
}

#[tokio::test]
async fn an_unknown_path_is_a_404_anthropic_error() {
    let bgw = Bgw::start_bare();
    let msg = expect_error(
        bgw.client().get("/v1/completions").await,
        404,
        "not_found_error",
    )
    .await;
    assert_contains(&msg, "/v1/completions");
    assert_contains(&msg, "POST /v1/messages");
}
