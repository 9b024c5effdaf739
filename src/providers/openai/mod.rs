//! OpenAI Chat Completions, and every vendor that speaks it.
//!
//! Both directions of the wire format, with Anthropic Messages as the inside shape:
//! - [`encode_request`]: a parsed Anthropic request → a `POST /chat/completions` body;
//! - [`decode_response`]: a whole completion → an Anthropic message;
//! - [`ChatStream`]: a completion stream → Anthropic SSE, chunk by chunk;
//! - [`error_message`] and [`model_ids`]: error bodies and `GET /models` lists;
//! - [`responses`]: the same for OpenAI's Responses API, used for its reasoning models.
//!
//! Vendors differ in a few fields only; those differences are [`Quirks`], one row per vendor
//! in [`vendors::VENDORS`]. Reasoning (`reasoning_content`, `reasoning`) comes back as
//! thinking blocks with a bgw signature ([`crate::messages::signature`]); in the history such
//! a block goes back only to the model that wrote it, and only where the vendor wants it
//! (DeepSeek). Tool call ids reach the client in Anthropic's pattern
//! ([`crate::messages::tool_id`]) and return to the vendor as it gave them. What is lost on
//! the way: Anthropic's thinking, `top_k`, `cache_control`, server tools, and PDF documents
//! (replaced by a note).

mod error;
mod request;
mod response;
mod responses;
mod stream;
pub mod vendors;

use serde::Deserialize;
use std::borrow::Cow;

use crate::messages::{ApiError, ErrorKind};

pub use error::{error_message, upstream_error};
pub use request::{encode_request, encode_request_with};
pub use response::{decode_response, decode_response_with};
pub use responses::{
    ResponsesStream, decode_responses_body, encode_responses_request, refuses_reasoning_summaries,
};
pub use stream::ChatStream;
pub use vendors::{MaxTokensField, Quirks, ReasoningParam};

/// OpenAI's own API.
pub const OPENAI_BASE_URL: &str = "https://api.openai.com/v1";

/// Whether OpenAI's own API serves `model` through the Responses API ([`responses`]): its
/// reasoning models (o-series, gpt-5…), whose reasoning only that API shows.
pub fn uses_responses_api(model: &str) -> bool {
    request::is_openai_reasoning_model(model)
}

#[derive(Deserialize)]
struct ModelList<'a> {
    #[serde(borrow)]
    data: Vec<ModelEntry<'a>>,
}

#[derive(Deserialize)]
struct ModelEntry<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
}

/// The model ids of an OpenAI-style `GET /models` answer (`{"object":"list","data":[{"id":…}]}`).
pub fn model_ids(body: &[u8]) -> Result<Vec<String>, ApiError> {
    serde_json::from_slice::<ModelList<'_>>(body)
        .map(|list| list.data.into_iter().map(|m| m.id.into_owned()).collect())
        .map_err(|e| {
            ApiError::new(
                ErrorKind::Api,
                format!(
                    "the model list is not in the OpenAI shape ({e}): {}",
                    super::body_excerpt(body)
                ),
            )
        })
}

#[cfg(test)]
mod tests {
    //! Shape from https://platform.openai.com/docs/api-reference/models/list .
    use super::*;

    #[test]
    fn model_ids_are_read_from_the_list() {
        let body = br#"{"object":"list","data":[{"id":"gpt-5","object":"model","created":1686935002,"owned_by":"openai"},{"id":"o3-mini","object":"model","created":1,"owned_by":"system"}]}"#;
        assert_eq!(model_ids(body).unwrap(), ["gpt-5", "o3-mini"]);
    }

    #[test]
    fn a_body_without_data_is_an_error_that_quotes_it() {
        let err = model_ids(br#"{"error":{"message":"bad key"}}"#).unwrap_err();
        assert!(err.message.contains("bad key"), "{}", err.message);
    }
}
