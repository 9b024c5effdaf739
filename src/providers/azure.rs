//! Azure: OpenAI deployments, and Claude served by Azure AI Foundry.
//!
//! Only addressing lives here; the wire formats are OpenAI's and Anthropic's.
//! The model name is the deployment name; names starting with `claude` go to
//! Foundry's Anthropic Messages endpoint.

/// The dated data-plane version used when the base URL names none.
pub const DEFAULT_API_VERSION: &str = "2024-10-21";

/// Which Azure API a model is served by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AzureApi {
    /// Claude on Foundry: `{resource}/anthropic/v1/messages`.
    FoundryAnthropic,
    /// OpenAI chat completions on a deployment.
    OpenAiChat,
}

/// Claude deployments speak Anthropic's API; everything else OpenAI's.
pub fn api_for(deployment: &str) -> AzureApi {
    if deployment.starts_with("claude") {
        AzureApi::FoundryAnthropic
    } else {
        AzureApi::OpenAiChat
    }
}

/// The URL for a request to `deployment` under the resource `base_url`.
///
/// `base_url` is the resource (`https://NAME.openai.azure.com`), optionally with
/// `?api-version=…`; a base ending in `/openai/v1` uses the v1 API (model in the body),
/// one ending in `/anthropic` is taken as Foundry's Anthropic base.
pub fn url(base_url: &str, deployment: &str) -> String {
    let (base, query) = match base_url.split_once('?') {
        Some((b, q)) => (b.trim_end_matches('/'), Some(q)),
        None => (base_url.trim_end_matches('/'), None),
    };
    match api_for(deployment) {
        AzureApi::FoundryAnthropic => {
            if base.ends_with("/anthropic") {
                format!("{base}/v1/messages")
            } else {
                format!("{base}/anthropic/v1/messages")
            }
        }
        AzureApi::OpenAiChat => {
            if base.ends_with("/openai/v1") {
                return format!("{base}/chat/completions");
            }
            let version = query
                .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("api-version=")))
                .unwrap_or(DEFAULT_API_VERSION);
            format!(
                "{base}/openai/deployments/{}/chat/completions?api-version={version}",
                encode_path_segment(deployment)
            )
        }
    }
}

use super::encode_path_segment;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openai_deployments_use_the_dated_path() {
        assert_eq!(
            url("https://res.openai.azure.com/", "gpt-4o"),
            "https://res.openai.azure.com/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21"
        );
        assert_eq!(
            url(
                "https://res.openai.azure.com?api-version=2025-04-01-preview",
                "o3"
            ),
            "https://res.openai.azure.com/openai/deployments/o3/chat/completions?api-version=2025-04-01-preview"
        );
    }

    #[test]
    fn v1_base_keeps_the_model_in_the_body() {
        assert_eq!(
            url("https://res.openai.azure.com/openai/v1", "gpt-5"),
            "https://res.openai.azure.com/openai/v1/chat/completions"
        );
    }

    #[test]
    fn claude_deployments_go_to_foundry_messages() {
        assert_eq!(
            url("https://res.services.ai.azure.com", "claude-haiku-4-5"),
            "https://res.services.ai.azure.com/anthropic/v1/messages"
        );
        assert_eq!(
            url(
                "https://res.services.ai.azure.com/anthropic/",
                "claude-haiku-4-5"
            ),
            "https://res.services.ai.azure.com/anthropic/v1/messages"
        );
    }
}
