//! Amazon Bedrock: Claude through InvokeModel (Anthropic's body, the model in the URL, a
//! stream in AWS event-stream framing), every other model through Converse (`converse/`).
//! Signed with SigV4 (`sigv4`, credentials found as the AWS CLI finds them: `credentials`),
//! or with a Bedrock API key as a bearer token.

pub mod converse;
mod converse_stream;
pub mod credentials;
pub mod eventstream;
mod invoke;
mod models;
pub mod sigv4;

pub use converse_stream::ConverseStream;
pub use invoke::{EventStreamFramer, InvokeStream, exception_error};
pub use models::{canonical, is_claude, model_id};

use http::{HeaderName, HeaderValue};

use super::{Prepared, Wire};

/// The `anthropic-beta` flags Bedrock's Claude takes in the body's `anthropic_beta`; it
/// refuses a request with any other (`invalid beta flag`). Those Claude Code sends in its own
/// Bedrock mode, and those AWS documents for Claude on Bedrock.
const BETAS: &[&str] = &[
    "interleaved-thinking-2025-05-14",
    "context-1m-2025-08-07",
    "output-128k-2025-02-19",
    "token-efficient-tools-2025-02-19",
    "fine-grained-tool-streaming-2025-05-14",
    "tool-search-tool-2025-10-19",
    "thinking-token-count-2026-05-13",
    "computer-use-2025-01-24",
];

/// The client's betas as Bedrock takes them: the first-party name of tool search becomes
/// Bedrock's, flags Bedrock does not know are left out.
pub fn betas<'b>(client: impl IntoIterator<Item = &'b str>) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for beta in client {
        let beta = match beta {
            "advanced-tool-use-2025-11-20" => "tool-search-tool-2025-10-19",
            b => b,
        };
        if let Some(known) = BETAS.iter().find(|b| **b == beta) {
            if !out.contains(known) {
                out.push(known);
            }
        }
    }
    out
}

/// The variables the AWS SDKs read for a Bedrock runtime endpoint of one's own
/// (https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html).
const ENDPOINT_VARS: [&str; 2] = ["AWS_ENDPOINT_URL_BEDROCK_RUNTIME", "AWS_ENDPOINT_URL"];

/// The runtime host of `region`, or the endpoint the environment names.
pub fn base_url(region: &str, env: &dyn Fn(&str) -> Option<String>) -> String {
    ENDPOINT_VARS
        .iter()
        .find_map(|v| env(v).filter(|u| !u.trim().is_empty()))
        .unwrap_or_else(|| format!("https://bedrock-runtime.{region}.amazonaws.com"))
}

/// The URL of a request to the model `id` (encoded as one path segment: `:` and the `/` of
/// an ARN).
pub fn url(base: &str, id: &str, wire: Wire, stream: bool) -> String {
    let method = match (wire, stream) {
        (Wire::Converse, false) => "converse",
        (Wire::Converse, true) => "converse-stream",
        (_, false) => "invoke",
        (_, true) => "invoke-with-response-stream",
    };
    format!("{base}/model/{}/{method}", super::encode_path_segment(id))
}

/// The URL of Bedrock's CountTokens for `model` (as written, from a key in `region`): it
/// counts for the foundation model, so an inference profile's prefix is left out.
pub fn count_url(base: &str, model: &str, region: &str) -> String {
    let id = model_id(model, region);
    let foundation = match id.split_once('.') {
        Some((profile, rest)) if rest.starts_with("anthropic.") && !profile.contains(':') => rest,
        _ => id.as_str(),
    };
    format!(
        "{base}/model/{}/count-tokens",
        super::encode_path_segment(foundation)
    )
}

/// The SigV4 headers of a finished request, signed with the AWS credentials found now (the
/// environment, else the shared files' `profile`), for the service `bedrock`.
pub fn sign(
    prepared: &Prepared,
    region: &str,
    profile: Option<&str>,
) -> Result<Vec<(HeaderName, HeaderValue)>, String> {
    let env = |name: &str| std::env::var(name).ok();
    let creds = credentials::resolve(profile, &env, dirs::home_dir().as_deref())
        .map_err(|e| e.to_string())?;
    let headers: Vec<(String, String)> = prepared
        .headers
        .iter()
        .filter_map(|(n, v)| Some((n.as_str().to_owned(), v.to_str().ok()?.to_owned())))
        .collect();
    sigv4::sign(
        &creds,
        region,
        "bedrock",
        "POST",
        &prepared.uri,
        &headers,
        &prepared.body,
        jiff::Timestamp::now(),
    )
    .map_err(|e| format!("cannot sign the request: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_encode_the_model_id_as_one_segment() {
        let base = base_url("us-east-1", &|_| None);
        assert_eq!(base, "https://bedrock-runtime.us-east-1.amazonaws.com");
        assert_eq!(
            url(
                &base,
                "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
                Wire::AnthropicBedrock,
                true
            ),
            "https://bedrock-runtime.us-east-1.amazonaws.com/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/invoke-with-response-stream"
        );
        assert_eq!(
            url(&base, "amazon.nova-pro-v1:0", Wire::Converse, false),
            "https://bedrock-runtime.us-east-1.amazonaws.com/model/amazon.nova-pro-v1%3A0/converse"
        );
        assert!(
            url(
                &base,
                "arn:aws:bedrock:us-east-1:1:inference-profile/x",
                Wire::Converse,
                true
            )
            .ends_with(
                "/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A1%3Ainference-profile%2Fx/converse-stream"
            )
        );
    }

    #[test]
    fn counts_go_to_the_foundation_model() {
        assert_eq!(
            count_url("https://b", "claude-sonnet-4-5", "us-east-1"),
            "https://b/model/anthropic.claude-sonnet-4-5-20250929-v1%3A0/count-tokens"
        );
        assert_eq!(
            count_url(
                "https://b",
                "anthropic.claude-3-5-haiku-20241022-v1:0",
                "eu-west-1"
            ),
            "https://b/model/anthropic.claude-3-5-haiku-20241022-v1%3A0/count-tokens"
        );
    }

    #[test]
    fn only_betas_bedrock_takes_reach_it() {
        // What Claude Code 2.1.330 sends to Anthropic's own API.
        let client = [
            "claude-code-20250219",
            "interleaved-thinking-2025-05-14",
            "context-management-2025-06-27",
            "thinking-token-count-2026-05-13",
            "advanced-tool-use-2025-11-20",
            "interleaved-thinking-2025-05-14",
        ];
        assert_eq!(
            betas(client),
            [
                "interleaved-thinking-2025-05-14",
                "thinking-token-count-2026-05-13",
                "tool-search-tool-2025-10-19"
            ]
        );
    }

    #[test]
    fn the_sdks_endpoint_variable_replaces_the_host() {
        let env = |v: &str| {
            (v == "AWS_ENDPOINT_URL_BEDROCK_RUNTIME").then(|| "http://127.0.0.1:9".to_owned())
        };
        assert_eq!(base_url("eu-west-1", &env), "http://127.0.0.1:9");
    }
}
