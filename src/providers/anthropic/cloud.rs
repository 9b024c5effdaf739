//! Anthropic Messages bodies as the company clouds take them: the model goes in the URL, not
//! the body, `anthropic_version` names the cloud's API version, and what only Anthropic's own
//! API serves (context management) is left out, as Claude Code's cloud modes leave it. Bedrock also takes the
//! betas in the body and knows no `stream` field (the method streams). And back: a cloud-shaped
//! body (what Claude Code sends in its Bedrock and Vertex modes) as a Messages body.

use serde_json::value::RawValue;
use std::collections::BTreeMap;

use crate::messages::ApiError;

/// Vertex's version of the Messages API (https://docs.anthropic.com/en/api/claude-on-vertex-ai).
pub const VERTEX_VERSION: &str = "vertex-2023-10-16";
/// Bedrock's (https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-anthropic-claude-messages.html).
pub const BEDROCK_VERSION: &str = "bedrock-2023-05-31";

/// Which cloud a body is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cloud {
    Vertex,
    Bedrock { betas: Vec<String> },
}

type Fields<'a> = BTreeMap<String, &'a RawValue>;

fn fields(body: &[u8]) -> Result<Fields<'_>, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::invalid(format!("the request body is not a JSON object: {e}")))
}

fn write(fields: &Fields<'_>, len: usize) -> Result<Vec<u8>, ApiError> {
    super::super::encode_body(fields, len, "cloud")
}

/// The Messages `body` for `cloud`, and whether it asks for a stream.
pub fn for_cloud(body: &[u8], cloud: &Cloud) -> Result<(Vec<u8>, bool), ApiError> {
    let mut f = fields(body)?;
    f.remove("model");
    // Context management is a first-party beta the clouds do not serve; Claude Code's own
    // cloud modes leave it out too.
    f.remove("context_management");
    let stream = f.get("stream").is_some_and(|v| v.get().trim() == "true");
    let version = match cloud {
        Cloud::Vertex => VERTEX_VERSION,
        Cloud::Bedrock { .. } => BEDROCK_VERSION,
    };
    let version = RawValue::from_string(format!("\"{version}\"")).map_err(invalid)?;
    let betas_raw;
    f.insert("anthropic_version".to_owned(), &version);
    if let Cloud::Bedrock { betas } = cloud {
        f.remove("stream");
        if !betas.is_empty() {
            betas_raw = RawValue::from_string(serde_json::to_string(betas).map_err(invalid)?)
                .map_err(invalid)?;
            f.insert("anthropic_beta".to_owned(), &betas_raw);
        }
        return Ok((write(&f, body.len())?, stream));
    }
    Ok((write(&f, body.len())?, stream))
}

/// A `count_tokens` body for Vertex's `count-tokens:rawPredict`: the model (Vertex's id) in
/// the body, and Vertex's `anthropic_version`.
pub fn vertex_count_body(body: &[u8], model: &str) -> Result<Vec<u8>, ApiError> {
    let mut f = fields(body)?;
    f.remove("context_management");
    let model =
        RawValue::from_string(serde_json::to_string(model).map_err(invalid)?).map_err(invalid)?;
    f.insert("model".to_owned(), &model);
    let version = RawValue::from_string(format!("\"{VERTEX_VERSION}\"")).map_err(invalid)?;
    f.insert("anthropic_version".to_owned(), &version);
    write(&f, body.len())
}

/// A `count_tokens` body as Bedrock's CountTokens takes it: the InvokeModel body it would
/// count (which must name `max_tokens`), in base64, under `input.invokeModel.body`.
pub fn bedrock_count_body(body: &[u8], betas: Vec<String>) -> Result<Vec<u8>, ApiError> {
    use base64::Engine as _;
    let (invoke, _) = for_cloud(body, &Cloud::Bedrock { betas })?;
    let mut f = fields(&invoke)?;
    let one = RawValue::from_string("1".to_owned()).map_err(invalid)?;
    f.entry("max_tokens".to_owned()).or_insert(&one);
    let invoke = write(&f, invoke.len())?;
    let b64 = base64::engine::general_purpose::STANDARD.encode(invoke);
    Ok(format!("{{\"input\":{{\"invokeModel\":{{\"body\":\"{b64}\"}}}}}}").into_bytes())
}

/// A body in a cloud's shape (no `model`, `anthropic_version`, Bedrock's `anthropic_beta`)
/// as a Messages body for `model`, streamed or not as the cloud's method says; the betas it
/// carried are returned for the `anthropic-beta` header.
pub fn from_cloud(
    body: &[u8],
    model: &str,
    stream: bool,
) -> Result<(Vec<u8>, Vec<String>), ApiError> {
    let mut f = fields(body)?;
    f.remove("anthropic_version");
    let betas: Vec<String> = match f.remove("anthropic_beta") {
        Some(raw) => serde_json::from_str(raw.get())
            .map_err(|_| ApiError::invalid("`anthropic_beta` must be a list of strings"))?,
        None => Vec::new(),
    };
    let model =
        RawValue::from_string(serde_json::to_string(model).map_err(invalid)?).map_err(invalid)?;
    f.insert("model".to_owned(), &model);
    let stream_raw = RawValue::from_string(stream.to_string()).map_err(invalid)?;
    f.insert("stream".to_owned(), &stream_raw);
    Ok((write(&f, body.len())?, betas))
}

fn invalid(e: serde_json::Error) -> ApiError {
    ApiError::invalid(format!("cannot rewrite the request body: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn parsed(body: &[u8]) -> Value {
        serde_json::from_slice(body).unwrap()
    }

    const BODY: &str = r#"{"model":"claude-sonnet-4-5","max_tokens":100,"stream":true,"messages":[{"role":"user","content":"hi"}]}"#;

    #[test]
    fn vertex_bodies_lose_the_model_and_name_vertexs_version() {
        let (body, stream) = for_cloud(BODY.as_bytes(), &Cloud::Vertex).unwrap();
        assert!(stream);
        assert_eq!(
            parsed(&body),
            json!({"anthropic_version": "vertex-2023-10-16", "max_tokens": 100, "stream": true,
                   "messages": [{"role": "user", "content": "hi"}]})
        );
    }

    #[test]
    fn bedrock_bodies_carry_the_betas_and_no_stream_field() {
        let cloud = Cloud::Bedrock {
            betas: vec!["interleaved-thinking-2025-05-14".into()],
        };
        let (body, stream) = for_cloud(BODY.as_bytes(), &cloud).unwrap();
        assert!(stream);
        assert_eq!(
            parsed(&body),
            json!({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 100,
                   "anthropic_beta": ["interleaved-thinking-2025-05-14"],
                   "messages": [{"role": "user", "content": "hi"}]})
        );
    }

    #[test]
    fn context_management_stays_with_anthropic() {
        let body =
            br#"{"model":"m","max_tokens":1,"messages":[],"context_management":{"edits":[]}}"#;
        let (body, stream) = for_cloud(body, &Cloud::Vertex).unwrap();
        assert!(!stream);
        assert_eq!(
            parsed(&body),
            json!({"anthropic_version": "vertex-2023-10-16", "max_tokens": 1, "messages": []})
        );
    }

    #[test]
    fn count_bodies_take_each_clouds_shape() {
        use base64::Engine as _;
        let count =
            br#"{"model":"vertex/claude-sonnet-4-5","messages":[{"role":"user","content":"hi"}]}"#;
        assert_eq!(
            parsed(&vertex_count_body(count, "claude-sonnet-4-5@20250929").unwrap()),
            json!({"model": "claude-sonnet-4-5@20250929", "anthropic_version": "vertex-2023-10-16",
                   "messages": [{"role": "user", "content": "hi"}]})
        );
        let wrapped =
            parsed(&bedrock_count_body(count, vec!["context-1m-2025-08-07".into()]).unwrap());
        let inner = base64::engine::general_purpose::STANDARD
            .decode(wrapped["input"]["invokeModel"]["body"].as_str().unwrap())
            .unwrap();
        assert_eq!(
            parsed(&inner),
            json!({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 1,
                   "anthropic_beta": ["context-1m-2025-08-07"],
                   "messages": [{"role": "user", "content": "hi"}]})
        );
    }

    #[test]
    fn a_cloud_body_becomes_a_messages_body() {
        let cloud = br#"{"anthropic_version":"bedrock-2023-05-31","anthropic_beta":["a","b"],"max_tokens":5,"messages":[]}"#;
        let (body, betas) =
            from_cloud(cloud, "us.anthropic.claude-sonnet-4-5-20250929-v1:0", true).unwrap();
        assert_eq!(betas, ["a", "b"]);
        assert_eq!(
            parsed(&body),
            json!({"model": "us.anthropic.claude-sonnet-4-5-20250929-v1:0", "stream": true,
                   "max_tokens": 5, "messages": []})
        );
    }

    #[test]
    fn a_body_that_is_no_object_is_refused() {
        assert!(for_cloud(b"[1,2]", &Cloud::Vertex).is_err());
        assert!(from_cloud(br#"{"anthropic_beta":"x"}"#, "m", false).is_err());
    }
}
