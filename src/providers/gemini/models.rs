//! `GET /models` (`models.list`): the models a key may use, for `bgw models`.
//!
//! The answer comes in pages, `{"models":[{"name":"models/gemini-2.5-pro","inputTokenLimit":…,
//! "outputTokenLimit":…,"supportedGenerationMethods":["generateContent",…]},…],
//! "nextPageToken":"…"}`; the list also names embedding and other models that cannot chat,
//! which are left out here.

use serde::Deserialize;

use crate::messages::{ApiError, ErrorKind};

/// The most models Google returns in one page.
const PAGE_SIZE: u32 = 1000;

/// A model the list names, by the id bgw addresses it with (`gemini-2.5-pro`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedModel {
    pub id: String,
    /// `inputTokenLimit`.
    pub context_window: Option<u32>,
    /// `outputTokenLimit`.
    pub max_output: Option<u32>,
}

/// One page of the list: the models that take `generateContent`, and the token of the next
/// page when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelPage {
    pub models: Vec<ListedModel>,
    pub next_page_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListModelsResponse {
    #[serde(default)]
    models: Vec<ModelIn>,
    #[serde(default)]
    next_page_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ModelIn {
    name: String,
    #[serde(default)]
    input_token_limit: Option<u32>,
    #[serde(default)]
    output_token_limit: Option<u32>,
    #[serde(default)]
    supported_generation_methods: Vec<String>,
}

/// The URL of a page of the list under `base` (the API's versioned root, as in
/// [`super::DEFAULT_BASE_URL`]): the first page without `page_token`. The key goes in the
/// `x-goog-api-key` header, never here.
pub fn models_url(base: &str, page_token: Option<&str>) -> String {
    let mut url = format!("{base}/models?pageSize={PAGE_SIZE}");
    if let Some(token) = page_token {
        url.push_str("&pageToken=");
        url.push_str(&query_escaped(token));
    }
    url
}

/// Reads one page of a `models.list` answer.
pub fn model_page(body: &[u8]) -> Result<ModelPage, ApiError> {
    let list: ListModelsResponse = serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            ErrorKind::Api,
            format!(
                "the model list is not in the Gemini shape ({e}): {}",
                crate::providers::body_excerpt(body)
            ),
        )
    })?;
    let models = list
        .models
        .into_iter()
        .filter(|m| {
            m.supported_generation_methods
                .iter()
                .any(|g| g == "generateContent")
        })
        .map(|m| ListedModel {
            id: m
                .name
                .strip_prefix("models/")
                .map(str::to_owned)
                .unwrap_or(m.name),
            context_window: m.input_token_limit,
            max_output: m.output_token_limit,
        })
        .collect();
    Ok(ModelPage {
        models,
        next_page_token: list.next_page_token.filter(|t| !t.is_empty()),
    })
}

/// `s` with every byte outside RFC 3986's unreserved set percent-encoded.
fn query_escaped(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    //! Shape from https://ai.google.dev/api/models#method:-models.list .
    use super::*;

    #[test]
    fn chat_models_are_kept_without_their_prefix_with_their_limits() {
        let body = br#"{"models":[
            {"name":"models/gemini-2.5-pro","version":"2.5","displayName":"Gemini 2.5 Pro",
             "inputTokenLimit":1048576,"outputTokenLimit":65536,
             "supportedGenerationMethods":["generateContent","countTokens","createCachedContent","batchGenerateContent"]},
            {"name":"models/gemini-embedding-001","displayName":"Gemini Embedding 001",
             "inputTokenLimit":2048,"outputTokenLimit":1,
             "supportedGenerationMethods":["embedContent","countTextTokens","countTokens"]},
            {"name":"models/gemini-flash-latest","inputTokenLimit":1048576,
             "supportedGenerationMethods":["generateContent"]}],
            "nextPageToken":"Ch9tb2RlbHMvZ2VtaW5pLTIuNS1mbGFzaA=="}"#;
        let page = model_page(body).unwrap();
        assert_eq!(
            page.models,
            [
                ListedModel {
                    id: "gemini-2.5-pro".into(),
                    context_window: Some(1_048_576),
                    max_output: Some(65_536)
                },
                ListedModel {
                    id: "gemini-flash-latest".into(),
                    context_window: Some(1_048_576),
                    max_output: None
                }
            ]
        );
        assert_eq!(
            page.next_page_token.as_deref(),
            Some("Ch9tb2RlbHMvZ2VtaW5pLTIuNS1mbGFzaA==")
        );
    }

    #[test]
    fn the_last_page_has_no_token_and_an_empty_answer_no_models() {
        let page = model_page(br#"{"models":[],"nextPageToken":""}"#).unwrap();
        assert_eq!((page.models.len(), page.next_page_token), (0, None));
        assert_eq!(model_page(b"{}").unwrap().models.len(), 0);
    }

    #[test]
    fn a_body_that_is_not_a_list_is_an_error_that_quotes_it() {
        let err = model_page(b"<html>Bad Gateway</html>").unwrap_err();
        assert!(err.message.contains("Bad Gateway"), "{}", err.message);
    }

    #[test]
    fn the_page_token_is_escaped_in_the_query() {
        assert_eq!(
            models_url("https://generativelanguage.googleapis.com/v1beta", None),
            "https://generativelanguage.googleapis.com/v1beta/models?pageSize=1000"
        );
        assert_eq!(
            models_url("http://127.0.0.1:9/v1beta", Some("a+b/c==")),
            "http://127.0.0.1:9/v1beta/models?pageSize=1000&pageToken=a%2Bb%2Fc%3D%3D"
        );
    }
}
