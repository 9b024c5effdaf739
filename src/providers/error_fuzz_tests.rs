//! Any bytes in, an Anthropic error out: the upstream error parsers of every wire, fuzzed.
//!
//! Error bodies as the providers document them are cut at every byte, given multi-byte
//! characters at every position of their message, swept across statuses 0–999, nested deep,
//! filled with huge numbers and mutated by a seeded xorshift generator. Every answer must be
//! a 4xx/5xx Anthropic error whose kind agrees with its status and whose message names the
//! provider. The run is deterministic: a failure prints the exact input.
//!
//! `BGW_FUZZ_ITERATIONS=200000 cargo test --lib error_fuzz` runs the random part longer
//! (default [`DEFAULT_ITERATIONS`] mutated bodies, each sent through all four wires).

use std::sync::Arc;

use super::{Wire, too_long};
use crate::messages::signature::ThinkingKey;
use crate::messages::sse::{SseFrame, SseParser};
use crate::messages::{ApiError, ErrorKind};

/// Each wire, with the provider name it is fuzzed as.
const WIRES: [(Wire, &str); 7] = [
    (Wire::Anthropic, "anthropic"),
    (Wire::OpenAiChat, "groq"),
    (Wire::OpenAiResponses, "openai"),
    (Wire::Gemini, "gemini"),
    (Wire::AnthropicVertex, "vertex"),
    (Wire::AnthropicBedrock, "bedrock"),
    (Wire::Converse, "bedrock"),
];

/// Mutated bodies in the default run (about a second in a debug build).
const DEFAULT_ITERATIONS: u64 = 4_000;

fn iterations() -> u64 {
    std::env::var("BGW_FUZZ_ITERATIONS")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(DEFAULT_ITERATIONS)
}

/// Statuses at and around every class boundary, and the ones providers send.
const STATUSES: &[u16] = &[
    0, 1, 100, 199, 200, 201, 204, 299, 301, 304, 399, 400, 401, 402, 403, 404, 405, 408, 409, 413,
    415, 422, 429, 451, 499, 500, 501, 502, 503, 504, 520, 529, 599, 600, 700, 999, 65535,
];

/// Error bodies in the shapes the providers document.
const SEEDS: &[&str] = &[
    // OpenAI, https://platform.openai.com/docs/guides/error-codes
    r#"{"error":{"message":"Rate limit reached for gpt-4o in organization org-abc on tokens per min (TPM): Limit 30000, Used 29000, Requested 2000. Please try again in 2s.","type":"tokens","param":null,"code":"rate_limit_exceeded"}}"#,
    r#"{"error":{"message":"You exceeded your current quota, please check your plan and billing details.","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}"#,
    r#"{"error":{"message":"Incorrect API key provided: sk-abc. You can find your API key at https://platform.openai.com/account/api-keys.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}"#,
    r#"{"error":{"message":"The model `gpt-9` does not exist or you do not have access to it.","type":"invalid_request_error","param":null,"code":"model_not_found"}}"#,
    r#"{"error":{"message":"Your organization must be verified to generate reasoning summaries.","type":"invalid_request_error","param":"reasoning.summary","code":"unsupported_value"}}"#,
    // Context windows: OpenAI and Azure, DeepSeek and vLLM, Groq, Mistral.
    r#"{"error":{"message":"This model's maximum context length is 128000 tokens. However, your messages resulted in 130532 tokens. Please reduce the length of the messages.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}"#,
    r#"{"object":"error","message":"This model's maximum context length is 131072 tokens. However, you requested 139162 tokens (130970 in the messages, 8192 in the completion). Please reduce the length of the messages or completion.","type":"BadRequestError","param":null,"code":400}"#,
    r#"{"error":{"message":"Please reduce the length of the messages or completion.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}"#,
    r#"{"object":"error","message":"Prompt contains 40000 tokens and 0 draft tokens, too large for model with 32768 maximum context length","type":"invalid_request_message_error","param":null,"code":"3051"}"#,
    r#"{"error":{"message":"Input too long—maximum context length exceeded","type":"invalid_request_error","param":null,"code":null}}"#,
    // Mistral's 422, OpenRouter, Ollama, Groq, Azure, FastAPI servers.
    r#"{"object":"error","message":{"detail":[{"type":"extra_forbidden","loc":["body","foo"],"msg":"Extra inputs are not permitted","input":1}]},"type":"invalid_request_message_error","param":null,"code":null}"#,
    r#"{"error":{"code":502,"message":"Provider returned error","metadata":{"provider_name":"DeepInfra","raw":"upstream timed out"}},"user_id":"user_1"}"#,
    r#"{"error":"model \"llama3.3\" not found, try pulling it first"}"#,
    r#"{"error":{"message":"Failed to call a function. Please adjust your prompt.","type":"invalid_request_error","code":"tool_use_failed","failed_generation":"<function=Bash>{\"command\": \"ls\"</function>"}}"#,
    r#"{"error":{"message":"The response was filtered due to the prompt triggering Azure OpenAI's content management policy.","type":null,"param":"prompt","code":"content_filter","status":400,"innererror":{"code":"ResponsibleAIPolicyViolation","content_filter_result":{"hate":{"filtered":true,"severity":"high"}}}}}"#,
    r#"{"detail":[{"loc":["body","messages"],"msg":"field required","type":"value_error.missing"}]}"#,
    // Gemini, https://ai.google.dev/gemini-api/docs/troubleshooting
    r#"{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com","metadata":{"service":"generativelanguage.googleapis.com"}}]}}"#,
    r#"{"error":{"code":429,"message":"You exceeded your current quota, please check your plan and billing details.","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[{"quotaMetric":"generativelanguage.googleapis.com/generate_content_free_tier_requests","quotaId":"GenerateRequestsPerMinutePerProjectPerModel-FreeTier","quotaDimensions":{"location":"global","model":"gemini-2.5-pro"},"quotaValue":"5"}]},{"@type":"type.googleapis.com/google.rpc.Help","links":[{"description":"Learn more about Gemini API quotas","url":"https://ai.google.dev/gemini-api/docs/rate-limits"}]},{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"37s"}]}}"#,
    r#"{"error":{"code":400,"message":"The input token count (1200293) exceeds the maximum number of tokens allowed (1048576).","status":"INVALID_ARGUMENT"}}"#,
    r#"[{"error":{"code":503,"message":"The model is overloaded. Please try again later.","status":"UNAVAILABLE"}}]"#,
    r#"{"error":{"code":403,"message":"Your API key was reported as leaked. Please use another API key.","status":"PERMISSION_DENIED"}}"#,
    r#"{"error":{"code":404,"message":"models/gemini-9 is not found for API version v1beta, or is not supported for generateContent.","status":"NOT_FOUND"}}"#,
    r#"{"error":{"code":500,"message":"An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting","status":"INTERNAL"}}"#,
    // Anthropic, https://docs.anthropic.com/en/api/errors
    r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_011CSHoEeqs5C35K2UUqR7Fy"}"#,
    r#"{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 208310 tokens > 200000 maximum"}}"#,
    r#"{"type":"error","error":{"type":"rate_limit_error","message":"This request would exceed the rate limit for your organization of 50 requests per minute."}}"#,
    r#"{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}"#,
    r#"{"message":"User is not authorized to perform: bedrock:InvokeModel"}"#,
    // What proxies and load balancers send, and the empty shapes.
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n",
    "upstream connect error or disconnect/reset before headers. reset reason: connection termination",
    "",
    "   \n",
    "null",
    "{}",
    "[]",
    r#""just a string""#,
    r#"{"error":null}"#,
    r#"{"error":{}}"#,
    r#"{"error":{"message":""}}"#,
    r#"{"error":{"message":"   ","type":"server_error"}}"#,
    r#"{"type":"error","error":{"type":"api_error","message":""}}"#,
    r#"{"type":"error","error":{"type":"api_error","message":" \n "}}"#,
    r#"{"error":{"code":400,"message":"","status":"INVALID_ARGUMENT"}}"#,
];

/// Upstream context-window refusals in each provider's words, for [`too_long::refusal`].
const TOO_LONG: &[&str] = &[
    "This model's maximum context length is 128000 tokens. However, your messages resulted in 130532 tokens. Please reduce the length of the messages.",
    "This model's maximum context length is 131,072 tokens. However, you requested 139,162 tokens (130970 in the messages, 8192 in the completion). Please reduce the length of the messages or completion.",
    "Please reduce the length of the messages or completion.",
    "Prompt contains 40000 tokens and 0 draft tokens, too large for model with 32768 maximum context length",
    "The input token count (1200293) exceeds the maximum number of tokens allowed (1048576).",
    "Input too long—maximum context length is 8192 tokens",
    "Requested token count exceeds the model's maximum context length of 131072 tokens.",
    "context length exceeded",
    "The prompt exceeds the context window of 200000 tokens.",
];

/// Characters of two, three and four bytes (and one that is two code points).
const WIDE: &[&str] = &["é", "—", "中", "🦀", "👩‍💻"];

/// Numbers no upstream should send.
const HUGE: &[&str] = &[
    "18446744073709551616",
    "99999999999999999999999999999999999999",
    "-1",
    "65536",
    "4294967296",
    "1e999",
    "-0",
    "4e2",
    "400.0",
    "1.7976931348623157e308",
];

/// Pieces that steer mutations towards the parsers' branches.
const DICTIONARY: &[&[u8]] = &[
    b"\"error\":",
    b"{\"error\":{\"message\":\"",
    b"\"message\":",
    b"\"type\":\"error\"",
    b"\"status\":\"INVALID_ARGUMENT\"",
    b"\"status\":\"RESOURCE_EXHAUSTED\"",
    b"\"code\":\"context_length_exceeded\"",
    b"\"code\":\"insufficient_quota\"",
    b"\"code\":429",
    b"\"reason\":\"API_KEY_INVALID\"",
    b"{\"@type\":\"type.googleapis.com/google.rpc.RetryInfo\",\"retryDelay\":\"1e308s\"}",
    b"\"retryDelay\":\"",
    b"maximum context length is ",
    b"maximum context length",
    b"too large for model with ",
    b"tokens allowed (",
    b"input token count (",
    b"you requested ",
    b"resulted in ",
    b"prompt contains ",
    b"\\u0000",
    b"\\ud800",
    b"\\\"",
    b"\"",
    b"[",
    b"]",
    b"{",
    b"}",
    b",",
    b":",
    b"null",
    b"\xff",
    b"\xc3",
    b"\xe4\xb8",
    b"\xf0\x9f\xa6",
];

/// xorshift64: a few lines, the same sequence on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A number in `0..n` (`n` > 0).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }

    fn status(&mut self) -> u16 {
        if self.below(2) == 0 {
            self.pick(STATUSES)
        } else {
            self.below(1000) as u16
        }
    }
}

/// What is wrong with `err` as the answer to an upstream error of `provider`, if anything.
fn fault(err: &ApiError, provider: &str) -> Option<String> {
    if !(400..=599).contains(&err.status) {
        return Some(format!("status {} is not an error status", err.status));
    }
    if ErrorKind::from_status(err.status) != err.kind {
        return Some(format!(
            "kind {} does not go with status {}",
            err.kind.as_str(),
            err.status
        ));
    }
    let expected = serde_json::json!({
        "type": "error",
        "error": {"type": err.kind.as_str(), "message": err.message},
    });
    match serde_json::from_slice::<serde_json::Value>(&err.to_json()) {
        Ok(v) if v == expected => {}
        Ok(v) => return Some(format!("to_json gave {v}")),
        Err(e) => return Some(format!("to_json is not JSON: {e}")),
    }
    if !says_who_and_what(&err.message, provider) {
        return Some("the message does not name the provider, or says nothing".to_owned());
    }
    None
}

/// The message names `provider` and says something after it; or it is Anthropic's own
/// too-long sentence, which Claude Code reads as it is and which must stay exact.
fn says_who_and_what(message: &str, provider: &str) -> bool {
    let said = |prefix: &str| {
        message
            .strip_prefix(prefix)
            .is_some_and(|rest| !rest.trim().is_empty())
    };
    said(&format!("{provider}: "))
        || said(&format!("{provider}/"))
        || said(&format!("prompt is too long for {provider}: "))
        || anthropics_too_long_sentence(message)
}

/// `prompt is too long: N tokens > M maximum`, with N > M.
fn anthropics_too_long_sentence(message: &str) -> bool {
    let numbers = message
        .strip_prefix("prompt is too long: ")
        .and_then(|rest| rest.strip_suffix(" maximum"))
        .and_then(|rest| rest.split_once(" tokens > "))
        .and_then(|(n, m)| Some((n.parse::<u64>().ok()?, m.parse::<u64>().ok()?)));
    numbers.is_some_and(|(n, m)| n > m)
}

/// The bytes as a Rust byte string, cut when long.
fn shown(body: &[u8]) -> String {
    let text = body.escape_ascii().to_string();
    match text.get(..2000) {
        Some(head) if head.len() < text.len() => format!("{head}… ({} bytes)", body.len()),
        _ => text,
    }
}

/// Sends `body` with `status` through every wire; fails on the first bad answer.
fn check_all(status: u16, body: &[u8]) {
    for (wire, provider) in WIRES {
        check(wire, provider, status, body);
    }
}

fn check(wire: Wire, provider: &str, status: u16, body: &[u8]) {
    let mut headers = http::HeaderMap::new();
    if matches!(wire, Wire::AnthropicBedrock | Wire::Converse) && status == 429 {
        headers.insert(
            "x-amzn-errortype",
            http::HeaderValue::from_static("ThrottlingException"),
        );
    }
    let err = wire.upstream_error(provider, status, &headers, body);
    if let Some(fault) = fault(&err, provider) {
        panic!(
            "{wire:?} as `{provider}`, status {status}, body b\"{}\": {fault}\n  got {err:?}",
            shown(body)
        );
    }
}

/// The byte span of the first `"message":"…"` (or `"error":"…"`) string's text.
fn message_span(body: &str) -> Option<std::ops::Range<usize>> {
    let start = ["\"message\":\"", "\"error\":\""]
        .iter()
        .find_map(|key| body.find(key).map(|i| i + key.len()))?;
    let bytes = body.as_bytes();
    let mut end = start;
    while end < bytes.len() && bytes[end] != b'"' {
        end += if bytes[end] == b'\\' { 2 } else { 1 };
    }
    (end <= bytes.len()).then_some(start..end)
}

/// Up to four random edits: bit flips, random bytes, cuts, wide and half characters, huge
/// numbers, repeats and dictionary pieces.
fn mutate(rng: &mut Rng, body: &mut Vec<u8>) {
    for _ in 0..=rng.below(4) {
        let at = rng.below(body.len() + 1);
        match rng.below(11) {
            0 => {
                let bit = rng.below(8);
                if let Some(b) = body.get_mut(at) {
                    *b ^= 1 << bit;
                }
            }
            1 => {
                let byte = rng.next() as u8;
                if let Some(b) = body.get_mut(at) {
                    *b = byte;
                }
            }
            2 => {
                let n = rng.below(8) + 1;
                let bytes: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
                body.splice(at..at, bytes);
            }
            3 => {
                let end = (at + rng.below(32)).min(body.len());
                body.drain(at..end);
            }
            4 => body.truncate(at),
            5 => {
                let wide = rng.pick(WIDE).as_bytes();
                body.splice(at..at, wide.iter().copied());
            }
            6 => {
                // The first bytes of a character, never its last: invalid UTF-8.
                let wide = rng.pick(&WIDE[1..]).as_bytes();
                let n = rng.below(wide.len() - 1) + 1;
                body.splice(at..at, wide[..n].iter().copied());
            }
            7 => {
                let huge = rng.pick(HUGE).as_bytes();
                let digits = body[at..].iter().position(u8::is_ascii_digit);
                if let Some(start) = digits.map(|d| at + d) {
                    let len = body[start..]
                        .iter()
                        .take_while(|b| b.is_ascii_digit())
                        .count();
                    body.splice(start..start + len, huge.iter().copied());
                }
            }
            8 => {
                let end = (at + rng.below(64)).min(body.len());
                let copy = body[at..end].to_vec();
                body.splice(at..at, copy);
            }
            9 => {
                let n = rng.below(64);
                *body = (0..n).map(|_| rng.next() as u8).collect();
            }
            _ => {
                let piece = rng.pick(DICTIONARY);
                body.splice(at..at, piece.iter().copied());
            }
        }
    }
}

#[test]
fn every_status_from_0_to_999_is_an_anthropic_error() {
    // Each status with two seeds (their turns spread by the step of 7), and each seed with
    // every status in [`STATUSES`].
    for status in 0..=999_u16 {
        let n = usize::from(status);
        check_all(status, SEEDS[n % SEEDS.len()].as_bytes());
        check_all(status, SEEDS[(n * 7 + 3) % SEEDS.len()].as_bytes());
    }
    for seed in SEEDS {
        for &status in STATUSES {
            check_all(status, seed.as_bytes());
        }
    }
}

#[test]
fn every_seed_cut_at_every_byte_is_an_anthropic_error() {
    for seed in SEEDS {
        let bytes = seed.as_bytes();
        for cut in 0..=bytes.len() {
            check_all(STATUSES[cut % STATUSES.len()], &bytes[..cut]);
        }
    }
}

#[test]
fn wide_characters_anywhere_in_the_message_are_an_anthropic_error() {
    for seed in SEEDS {
        let Some(span) = message_span(seed) else {
            continue;
        };
        for at in span.clone().filter(|&i| seed.is_char_boundary(i)) {
            for (i, wide) in WIDE.iter().enumerate() {
                let body = format!("{}{wide}{}", &seed[..at], &seed[at..]);
                // 400, 413 and 422 are read for a context-window refusal; 429 and 503 are not.
                let status = [400, 413, 422, 429, 503][(at + i) % 5];
                check_all(status, body.as_bytes());
            }
        }
        // Half a character, at every position of the message: invalid UTF-8.
        for at in span {
            let mut body = seed.as_bytes().to_vec();
            body.splice(at..at, "中".as_bytes()[..2].iter().copied());
            check_all(400, &body);
        }
    }
}

#[test]
fn wide_characters_anywhere_in_a_too_long_message_are_read_or_kept() {
    for text in TOO_LONG {
        for at in (0..=text.len()).filter(|&i| text.is_char_boundary(i)) {
            for wide in WIDE
                .iter()
                .chain(&["1", ",", " ", "(", "9999999999999999999999"])
            {
                let message = format!("{}{wide}{}", &text[..at], &text[at..]);
                for code in [None, Some("context_length_exceeded")] {
                    if let Some(err) = too_long::refusal("groq", &message, code) {
                        if let Some(fault) = fault(&err, "groq") {
                            panic!("refusal of {message:?} ({code:?}): {fault}\n  got {err:?}");
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn deep_nesting_and_huge_numbers_are_an_anthropic_error() {
    for depth in [1, 127, 128, 129, 1_000, 100_000] {
        let open = |s: &str| s.repeat(depth);
        let nested = format!("{}{}", open("["), open("]"));
        let bodies = [
            open("["),
            open("{\"error\":"),
            format!("{}1{}", open("{\"error\":"), open("}")),
            format!("{{\"error\":{{\"message\":{nested}}}}}"),
            format!("{{\"error\":{nested}}}"),
            format!("{{\"message\":\"x\",\"extra\":{nested}}}"),
            format!(
                "{{\"error\":{{\"code\":400,\"message\":\"m\",\"status\":\"INVALID_ARGUMENT\",\"details\":[{{\"metadata\":{nested}}}]}}}}"
            ),
            format!("[{{\"error\":{nested}}}]"),
            format!(
                "{{\"type\":\"error\",\"error\":{{\"type\":\"x\",\"message\":\"m\",\"more\":{nested}}}}}"
            ),
        ];
        // The deepest bodies are half a megabyte: one status is enough for them.
        let statuses: &[u16] = if depth > 1_000 {
            &[400]
        } else {
            &[0, 400, 429, 500, 999]
        };
        for body in &bodies {
            for &status in statuses {
                check_all(status, body.as_bytes());
            }
        }
    }
    for huge in HUGE {
        let bodies = [
            format!(
                "{{\"error\":{{\"code\":{huge},\"message\":\"m\",\"status\":\"UNAVAILABLE\"}}}}"
            ),
            format!(
                "{{\"error\":{{\"code\":429,\"message\":\"m\",\"status\":\"RESOURCE_EXHAUSTED\",\"details\":[{{\"@type\":\"type.googleapis.com/google.rpc.RetryInfo\",\"retryDelay\":\"{huge}s\"}}]}}}}"
            ),
            format!("{{\"error\":{{\"message\":\"m\",\"type\":\"tokens\",\"code\":{huge}}}}}"),
            format!(
                "{{\"error\":{{\"message\":\"This model's maximum context length is {huge} tokens. However, you requested {huge} tokens.\",\"code\":\"context_length_exceeded\"}}}}"
            ),
            format!(
                "{{\"error\":{{\"code\":400,\"message\":\"The input token count ({huge}) exceeds the maximum number of tokens allowed (1).\",\"status\":\"INVALID_ARGUMENT\"}}}}"
            ),
        ];
        for body in &bodies {
            for status in [0, 200, 400, 429, 503, 999] {
                check_all(status, body.as_bytes());
            }
        }
    }
}

#[test]
fn randomly_mutated_bodies_are_an_anthropic_error() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for _ in 0..iterations() {
        let mut body = rng.pick(SEEDS).as_bytes().to_vec();
        mutate(&mut rng, &mut body);
        check_all(rng.status(), &body);
    }
}

/// Upstream streams that fail part-way, one list per wire.
fn stream_seeds(wire: Wire) -> Vec<Vec<u8>> {
    match wire {
        Wire::AnthropicBedrock => vec![bedrock_invoke_seed()],
        Wire::Converse => vec![converse_seed()],
        Wire::Anthropic | Wire::AnthropicVertex => sse_seeds(Wire::Anthropic),
        _ => sse_seeds(wire),
    }
    .into_iter()
    .collect()
}

/// An InvokeModel stream: a chunk, then a throttling exception.
fn bedrock_invoke_seed() -> Vec<u8> {
    use crate::providers::bedrock::eventstream::encode;
    use base64::Engine as _;
    let start = r#"{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","content":[],"model":"claude-x","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":10,"output_tokens":1}}}"#;
    let b64 = base64::engine::general_purpose::STANDARD.encode(start);
    let mut out = encode(
        &[(":event-type", "chunk"), (":message-type", "event")],
        format!("{{\"bytes\":\"{b64}\"}}").as_bytes(),
    );
    out.extend(encode(
        &[
            (":exception-type", "throttlingException"),
            (":message-type", "exception"),
        ],
        br#"{"message":"Too many requests, please wait before trying again."}"#,
    ));
    out
}

/// A ConverseStream: the message starts, some text, then the model's stream fails.
fn converse_seed() -> Vec<u8> {
    use crate::providers::bedrock::eventstream::encode;
    let event = |name: &str, json: &str| {
        encode(
            &[(":event-type", name), (":message-type", "event")],
            json.as_bytes(),
        )
    };
    let mut out = event("messageStart", r#"{"role":"assistant","p":"abcd"}"#);
    out.extend(event(
        "contentBlockDelta",
        r#"{"contentBlockIndex":0,"delta":{"text":"Hel"},"p":"ab"}"#,
    ));
    out.extend(encode(
        &[
            (":exception-type", "modelStreamErrorException"),
            (":message-type", "exception"),
        ],
        br#"{"message":"The model stream failed.","originalStatusCode":500}"#,
    ));
    out
}

fn sse_seeds(wire: Wire) -> Vec<Vec<u8>> {
    let seeds: &[&str] = match wire {
        Wire::Anthropic => &[
            "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"model\":\"claude-x\",\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":10,\"output_tokens\":1}}}\n\nevent: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n",
        ],
        Wire::OpenAiChat => &[
            "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Hel\"},\"finish_reason\":null}]}\n\ndata: {\"error\":{\"message\":\"The server had an error while processing your request. Sorry about that!\",\"type\":\"server_error\",\"param\":null,\"code\":null}}\n\n",
            "data: {\"id\":\"gen-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"provider\":\"p\",\"error\":{\"code\":502,\"message\":\"Provider disconnected\"},\"choices\":[{\"index\":0,\"delta\":{\"content\":\"\"},\"finish_reason\":\"error\"}]}\n\n",
            "data: {\"error\":\"model runner has unexpectedly stopped\"}\n\n",
        ],
        Wire::OpenAiResponses => &[
            "event: response.created\ndata: {\"type\":\"response.created\",\"sequence_number\":0,\"response\":{\"id\":\"resp_1\",\"object\":\"response\",\"created_at\":1,\"status\":\"in_progress\",\"model\":\"gpt-5\",\"output\":[],\"usage\":null}}\n\nevent: error\ndata: {\"type\":\"error\",\"code\":\"ERR_SOMETHING\",\"message\":\"Something went wrong\",\"param\":null,\"sequence_number\":1}\n\n",
            "event: response.failed\ndata: {\"type\":\"response.failed\",\"sequence_number\":2,\"response\":{\"id\":\"resp_1\",\"object\":\"response\",\"status\":\"failed\",\"model\":\"gpt-5\",\"output\":[],\"error\":{\"code\":\"server_error\",\"message\":\"The model failed to generate a response.\"},\"usage\":null}}\n\n",
        ],
        Wire::Gemini => &[
            "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Hi\"}],\"role\":\"model\"},\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":5,\"candidatesTokenCount\":1,\"totalTokenCount\":6},\"modelVersion\":\"gemini-2.5-flash\"}\r\n\r\ndata: {\"error\":{\"code\":503,\"message\":\"The model is overloaded. Please try again later.\",\"status\":\"UNAVAILABLE\"}}\r\n\r\n",
            "data: {\"error\":{\"code\":429,\"message\":\"Resource has been exhausted (e.g. check quota).\",\"status\":\"RESOURCE_EXHAUSTED\",\"details\":[{\"@type\":\"type.googleapis.com/google.rpc.RetryInfo\",\"retryDelay\":\"1e999s\"}]}}\r\n\r\n",
        ],
        _ => &[],
    };
    seeds.iter().map(|s| s.as_bytes().to_vec()).collect()
}

/// Decodes `chunks` as a stream of `provider` on `wire`; every event bgw writes must be a JSON
/// frame of its own type, an `error` one in Anthropic's shape, and the last one must end it.
fn check_stream(wire: Wire, provider: &str, chunks: &[&[u8]]) {
    let key = Arc::new(ThinkingKey::from_bytes(&[7; ThinkingKey::LEN]));
    let model = format!("{provider}/some-model");
    let mut decoder = wire.stream_decoder(provider, &model, key.signer(provider, "some-model"));
    let mut out = Vec::new();
    for chunk in chunks {
        decoder.feed(chunk, &mut out);
    }
    decoder.finish(&mut out);
    if wire.is_anthropic() {
        // A passthrough: the upstream's own bytes go out; only a panic would be wrong.
        return;
    }
    let mut frames: Vec<SseFrame> = Vec::new();
    let mut sse = SseParser::new();
    sse.feed(&out, &mut frames).unwrap();
    sse.finish(&mut frames);
    let input: Vec<u8> = chunks.concat();
    let fail = |why: String| -> ! {
        panic!(
            "{wire:?} stream b\"{}\": {why}\n  wrote {}",
            shown(&input),
            String::from_utf8_lossy(&out)
        )
    };
    for frame in &frames {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&frame.data) else {
            fail(format!("frame {frame:?} is not JSON"));
        };
        if frame.event.as_deref() != v["type"].as_str() {
            fail(format!("frame {frame:?} names another type"));
        }
        if frame.event.as_deref() == Some("error") {
            let message = v["error"]["message"].as_str().unwrap_or_default();
            if v["error"]["type"].as_str().is_none() || !says_who_and_what(message, provider) {
                fail(format!(
                    "error {frame:?} is not an Anthropic error from {provider}"
                ));
            }
        }
    }
    let last = frames.last().and_then(|f| f.event.as_deref());
    if !matches!(last, Some("message_stop" | "error")) {
        fail(format!("the stream ends with {last:?}"));
    }
}

#[test]
fn streams_failing_anywhere_end_in_an_anthropic_error() {
    for (wire, provider) in WIRES {
        for seed in stream_seeds(wire) {
            let bytes = seed.as_slice();
            for cut in 0..=bytes.len() {
                check_stream(wire, provider, &[&bytes[..cut]]);
            }
            for piece in [1, 2, 3, 7] {
                let chunks: Vec<&[u8]> = bytes.chunks(piece).collect();
                check_stream(wire, provider, &chunks);
            }
        }
    }
    let mut rng = Rng(0xD1B5_4A32_D192_ED03);
    for _ in 0..iterations() / 4 {
        let (wire, provider) = rng.pick(&WIRES);
        let seeds = stream_seeds(wire);
        let mut bytes = seeds[rng.below(seeds.len())].clone();
        mutate(&mut rng, &mut bytes);
        let mut chunks = Vec::new();
        let mut rest = bytes.as_slice();
        while !rest.is_empty() {
            let (head, tail) = rest.split_at(rng.below(rest.len()) + 1);
            chunks.push(head);
            rest = tail;
        }
        check_stream(wire, provider, &chunks);
    }
}
