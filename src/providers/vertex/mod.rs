//! Google Cloud's Vertex AI: Gemini models in the Gemini API's own shapes (`gemini/` encodes
//! and decodes them), Claude models in Anthropic's through `rawPredict`; here only what
//! Vertex adds: addresses, Claude's model ids, and the sign-in (`auth`).

pub mod auth;

use super::{Place, Wire};
use crate::messages::ApiError;

/// Vertex's host for a location: `global`'s has no region in its name.
pub fn base_url(region: &str) -> String {
    if region == "global" {
        "https://aiplatform.googleapis.com".to_owned()
    } else {
        format!("https://{region}-aiplatform.googleapis.com")
    }
}

/// Claude models are Anthropic's publisher on Vertex; the rest are Google's.
pub fn is_claude(model: &str) -> bool {
    model.starts_with("claude")
}

/// The URL of a request to `model`: under the project and location, or (`express`, signed
/// in with an API key) Vertex AI express mode's path, which knows no project.
pub fn url(
    base: &str,
    place: &Place,
    model: &str,
    wire: Wire,
    stream: bool,
    express: bool,
) -> Result<String, ApiError> {
    let (publisher, id, method) = if wire == Wire::AnthropicVertex {
        let method = if stream {
            "streamRawPredict"
        } else {
            "rawPredict"
        };
        ("anthropic", claude_id(model), method)
    } else {
        let method = if stream {
            "streamGenerateContent?alt=sse"
        } else {
            "generateContent"
        };
        ("google", model.to_owned(), method)
    };
    if express {
        if publisher == "anthropic" {
            return Err(ApiError::invalid(format!(
                "vertex/{model}: Claude on Vertex needs a service account or application-default credentials, not an API key (express mode serves Gemini models only); add one with `bgw keys add vertex --file key.json --project P --region R`"
            )));
        }
        return Ok(format!("{base}/v1/publishers/google/models/{id}:{method}"));
    }
    let project = place.project.as_deref().ok_or_else(|| {
        ApiError::invalid(
            "the vertex key names no Google Cloud project: re-add it with `bgw keys add vertex --project P --region R`",
        )
    })?;
    let region = place.region.as_deref().unwrap_or("global");
    Ok(format!(
        "{base}/v1/projects/{project}/locations/{region}/publishers/{publisher}/models/{id}:{method}"
    ))
}

/// The URL of Claude's token count on Vertex (the model goes in the body).
pub fn count_url(base: &str, place: &Place) -> Result<String, ApiError> {
    let project = place
        .project
        .as_deref()
        .ok_or_else(|| ApiError::invalid("the vertex key names no Google Cloud project"))?;
    let region = place.region.as_deref().unwrap_or("global");
    Ok(format!(
        "{base}/v1/projects/{project}/locations/{region}/publishers/anthropic/models/count-tokens:rawPredict"
    ))
}

/// Claude's model id on Vertex for a name as users write it: models before the 4.6
/// generation carry an `@date`, later ones are named as on Anthropic's API. An id that has
/// its `@` already, and any name not in the table, pass unchanged; Anthropic's dated form
/// (`claude-sonnet-4-5-20250929`) becomes Vertex's.
pub fn claude_id(model: &str) -> String {
    if model.contains('@') {
        return model.to_owned();
    }
    if let Some((name, date)) = split_date(model) {
        return format!("{name}@{date}");
    }
    match DATED.iter().find(|(name, _)| *name == model) {
        Some((name, date)) => format!("{name}@{date}"),
        None => model.to_owned(),
    }
}

/// `claude-sonnet-4-5-20250929` → (`claude-sonnet-4-5`, `20250929`).
fn split_date(model: &str) -> Option<(&str, &str)> {
    let (name, date) = model.rsplit_once('-')?;
    (date.len() == 8 && date.bytes().all(|b| b.is_ascii_digit())).then_some((name, date))
}

/// Claude models whose Vertex ids carry a snapshot date
/// (https://docs.anthropic.com/en/api/claude-on-vertex-ai, "API model names").
const DATED: &[(&str, &str)] = &[
    ("claude-opus-4-5", "20251101"),
    ("claude-sonnet-4-5", "20250929"),
    ("claude-haiku-4-5", "20251001"),
    ("claude-opus-4-1", "20250805"),
    ("claude-opus-4", "20250514"),
    ("claude-sonnet-4", "20250514"),
    ("claude-3-7-sonnet", "20250219"),
    ("claude-3-5-haiku", "20241022"),
    ("claude-3-haiku", "20240307"),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn place(project: &str, region: &str) -> Place {
        Place {
            project: Some(project.into()),
            region: Some(region.into()),
        }
    }

    #[test]
    fn claude_ids_are_vertex_ids() {
        assert_eq!(claude_id("claude-sonnet-4-5"), "claude-sonnet-4-5@20250929");
        assert_eq!(claude_id("claude-haiku-4-5"), "claude-haiku-4-5@20251001");
        assert_eq!(
            claude_id("claude-sonnet-4-5-20250929"),
            "claude-sonnet-4-5@20250929"
        );
        assert_eq!(claude_id("claude-opus-4-6"), "claude-opus-4-6");
        assert_eq!(claude_id("claude-sonnet-4-6"), "claude-sonnet-4-6");
        assert_eq!(
            claude_id("claude-opus-4-1@20250805"),
            "claude-opus-4-1@20250805"
        );
    }

    #[test]
    fn hosts_are_regional_or_global() {
        assert_eq!(
            base_url("us-east5"),
            "https://us-east5-aiplatform.googleapis.com"
        );
        assert_eq!(base_url("global"), "https://aiplatform.googleapis.com");
    }

    #[test]
    fn urls_name_project_location_publisher_and_method() {
        let base = base_url("us-east5");
        let p = place("acme", "us-east5");
        assert_eq!(
            url(&base, &p, "gemini-2.5-pro", Wire::Gemini, true, false).unwrap(),
            "https://us-east5-aiplatform.googleapis.com/v1/projects/acme/locations/us-east5/publishers/google/models/gemini-2.5-pro:streamGenerateContent?alt=sse"
        );
        assert_eq!(
            url(
                &base,
                &p,
                "claude-sonnet-4-5",
                Wire::AnthropicVertex,
                false,
                false
            )
            .unwrap(),
            "https://us-east5-aiplatform.googleapis.com/v1/projects/acme/locations/us-east5/publishers/anthropic/models/claude-sonnet-4-5@20250929:rawPredict"
        );
        let g = place("acme", "global");
        assert_eq!(
            url(
                &base_url("global"),
                &g,
                "claude-opus-4-6",
                Wire::AnthropicVertex,
                true,
                false
            )
            .unwrap(),
            "https://aiplatform.googleapis.com/v1/projects/acme/locations/global/publishers/anthropic/models/claude-opus-4-6:streamRawPredict"
        );
    }

    #[test]
    fn express_mode_has_no_project_and_no_claude() {
        let base = base_url("global");
        assert_eq!(
            url(
                &base,
                &Place::default(),
                "gemini-2.5-flash",
                Wire::Gemini,
                false,
                true
            )
            .unwrap(),
            "https://aiplatform.googleapis.com/v1/publishers/google/models/gemini-2.5-flash:generateContent"
        );
        let err = url(
            &base,
            &Place::default(),
            "claude-sonnet-4-5",
            Wire::AnthropicVertex,
            false,
            true,
        )
        .unwrap_err();
        assert!(err.message.contains("express mode"), "{}", err.message);
    }

    #[test]
    fn a_key_without_a_project_says_how_to_add_one() {
        let err = url(
            &base_url("global"),
            &Place::default(),
            "gemini-2.5-pro",
            Wire::Gemini,
            false,
            false,
        )
        .unwrap_err();
        assert!(err.message.contains("--project"), "{}", err.message);
    }
}
