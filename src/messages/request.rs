//! `POST /v1/messages` request, parsed once and borrowed from the body.
//!
//! Fields bgw does not translate (`context_management`, `container`, …) are skipped
//! here; the Anthropic passthrough forwards the original bytes, so nothing is lost there.

use serde::Deserialize;
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use super::ApiError;

/// A Messages API request.
#[derive(Debug, Deserialize)]
pub struct MessagesRequest<'a> {
    #[serde(borrow)]
    pub model: Cow<'a, str>,
    #[serde(default)]
    pub max_tokens: Option<u64>,
    #[serde(borrow)]
    pub messages: Vec<Message<'a>>,
    #[serde(default, borrow)]
    pub system: Option<Content<'a>>,
    #[serde(default, borrow)]
    pub tools: Option<Vec<Tool<'a>>>,
    #[serde(default, borrow)]
    pub tool_choice: Option<ToolChoice<'a>>,
    #[serde(default)]
    pub temperature: Option<f64>,
    #[serde(default)]
    pub top_p: Option<f64>,
    #[serde(default)]
    pub top_k: Option<u64>,
    #[serde(default, borrow)]
    pub stop_sequences: Option<Vec<Cow<'a, str>>>,
    #[serde(default)]
    pub stream: Option<bool>,
    #[serde(default, borrow)]
    pub metadata: Option<Metadata<'a>>,
    #[serde(default)]
    pub thinking: Option<Thinking>,
    #[serde(default, borrow)]
    pub output_config: Option<OutputConfig<'a>>,
    /// The length of the body it was parsed from (a translation's buffer starts that large).
    #[serde(skip)]
    pub body_len: usize,
    /// The body it was parsed from, for a translator that needs what this parse skips
    /// (Bedrock's Converse reads `cache_control` from it).
    #[serde(skip)]
    pub body: &'a [u8],
}

impl<'a> MessagesRequest<'a> {
    /// Parses a request body; the error names the field that is wrong.
    pub fn parse(body: &'a [u8]) -> Result<MessagesRequest<'a>, ApiError> {
        let mut req: MessagesRequest<'a> =
            serde_json::from_slice(body).map_err(|e| ApiError::invalid(describe_json_error(&e)))?;
        req.body_len = body.len();
        req.body = body;
        Ok(req)
    }
}

/// What every request needs before it is routed: its model, as it stands in the body.
#[derive(Debug, Deserialize)]
pub struct RequestHead<'a> {
    /// The model value exactly as it stands in the body (quotes included).
    #[serde(borrow)]
    pub model: &'a RawValue,
}

impl<'a> RequestHead<'a> {
    /// Finds `model` without reading the rest of the body (see [`super::scan`]);
    /// a body the scan cannot read is parsed, for an error that names the problem.
    pub fn parse(body: &'a [u8]) -> Result<RequestHead<'a>, ApiError> {
        if let Some((start, end)) = super::scan::model_span(body) {
            if let Ok(model) = serde_json::from_slice::<&RawValue>(&body[start..end]) {
                return Ok(RequestHead { model });
            }
        }
        serde_json::from_slice(body).map_err(|e| ApiError::invalid(describe_json_error(&e)))
    }

    /// The model name, unescaped.
    pub fn model_name(&self) -> Result<Cow<'a, str>, ApiError> {
        serde_json::from_str::<Cow<'a, str>>(self.model.get()).map_err(|_| {
            ApiError::invalid("`model` must be a string, for example \"openai/gpt-5\"")
        })
    }
}

/// Turns a serde_json error into a message a person can act on.
pub fn describe_json_error(e: &serde_json::Error) -> String {
    if e.is_syntax() || e.is_eof() {
        format!("request body is not valid JSON: {e}")
    } else {
        format!("invalid request body: {e}")
    }
}

/// One turn of the conversation.
#[derive(Debug, Deserialize)]
pub struct Message<'a> {
    pub role: Role,
    #[serde(borrow)]
    pub content: Content<'a>,
}

/// Who speaks. Claude Code also puts `system` turns mid-conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Assistant,
    System,
}

/// `content` (and `system`): a plain string or a list of blocks.
#[derive(Debug)]
pub enum Content<'a> {
    Text(Cow<'a, str>),
    Blocks(Vec<Block<'a>>),
}

impl<'a> Content<'a> {
    /// The text of all text blocks, joined with blank lines.
    pub fn joined_text(&self) -> Cow<'_, str> {
        match self {
            Content::Text(t) => Cow::Borrowed(t.as_ref()),
            Content::Blocks(blocks) => {
                let texts: Vec<&str> = blocks
                    .iter()
                    .filter_map(|b| match b {
                        Block::Text { text } => Some(text.as_ref()),
                        _ => None,
                    })
                    .collect();
                if texts.len() == 1 {
                    Cow::Borrowed(texts[0])
                } else {
                    Cow::Owned(texts.join("\n\n"))
                }
            }
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Content<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StringOrSeq::<Block<'a>>(PhantomData))
            .map(|v| match v {
                Either::Str(s) => Content::Text(s),
                Either::Seq(b) => Content::Blocks(b),
            })
    }
}

/// A content block. Unknown block types are kept by name so a translator can refuse or drop them knowingly.
#[derive(Debug)]
pub enum Block<'a> {
    Text {
        text: Cow<'a, str>,
    },
    Image {
        source: Source<'a>,
    },
    Document {
        source: Source<'a>,
        title: Option<Cow<'a, str>>,
    },
    ToolUse {
        id: Cow<'a, str>,
        name: Cow<'a, str>,
        /// The tool input object, exactly as sent.
        input: &'a RawValue,
    },
    ToolResult {
        tool_use_id: Cow<'a, str>,
        content: ToolResultContent<'a>,
        is_error: bool,
    },
    Thinking {
        thinking: Cow<'a, str>,
        signature: Option<Cow<'a, str>>,
    },
    RedactedThinking {
        data: Cow<'a, str>,
    },
    /// Any other block type (`server_tool_use`, `web_search_tool_result`, …).
    Other {
        kind: Cow<'a, str>,
    },
}

/// What a `tool_result` carries: text, or blocks that may hold images.
#[derive(Debug)]
pub enum ToolResultContent<'a> {
    Empty,
    Text(Cow<'a, str>),
    Blocks(Vec<Block<'a>>),
}

/// Where an image or document comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source<'a> {
    Base64 {
        media_type: Cow<'a, str>,
        data: Cow<'a, str>,
    },
    Url {
        url: Cow<'a, str>,
    },
    /// A plain-text document.
    Text {
        data: Cow<'a, str>,
    },
    /// Anything else (`file`, `content`): kept by kind so translators can name it in an error.
    Other {
        kind: Cow<'a, str>,
    },
}

/// Every field any block type may carry; read flat, then sorted into [`Block`]. Avoids
/// serde's buffering of internally tagged enums, which would copy every string.
#[derive(Deserialize)]
struct RawBlock<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(default, borrow)]
    text: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    input: Option<&'a RawValue>,
    #[serde(default, borrow)]
    tool_use_id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    content: Option<ToolResultRaw<'a>>,
    #[serde(default)]
    is_error: Option<bool>,
    #[serde(default, borrow)]
    source: Option<RawSource<'a>>,
    #[serde(default, borrow)]
    title: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    thinking: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    signature: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    data: Option<Cow<'a, str>>,
}

struct ToolResultRaw<'a>(ToolResultContent<'a>);

impl<'de: 'a, 'a> Deserialize<'de> for ToolResultRaw<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StringOrSeq::<Block<'a>>(PhantomData))
            .map(|v| match v {
                Either::Str(s) => ToolResultRaw(ToolResultContent::Text(s)),
                Either::Seq(b) => ToolResultRaw(ToolResultContent::Blocks(b)),
            })
    }
}

#[derive(Deserialize)]
struct RawSource<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(default, borrow)]
    media_type: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    data: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    url: Option<Cow<'a, str>>,
}

impl<'a> RawSource<'a> {
    fn into_source<E: de::Error>(self) -> Result<Source<'a>, E> {
        match self.kind.as_ref() {
            "base64" => Ok(Source::Base64 {
                media_type: self
                    .media_type
                    .ok_or_else(|| E::missing_field("source.media_type"))?,
                data: self.data.ok_or_else(|| E::missing_field("source.data"))?,
            }),
            "url" => Ok(Source::Url {
                url: self.url.ok_or_else(|| E::missing_field("source.url"))?,
            }),
            "text" => Ok(Source::Text {
                data: self.data.ok_or_else(|| E::missing_field("source.data"))?,
            }),
            _ => Ok(Source::Other { kind: self.kind }),
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Block<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = RawBlock::deserialize(d)?;
        let need = |v: Option<Cow<'a, str>>, field: &'static str| {
            v.ok_or_else(|| de::Error::missing_field(field))
        };
        Ok(match raw.kind.as_ref() {
            "text" => Block::Text {
                text: need(raw.text, "text")?,
            },
            "image" => Block::Image {
                source: raw
                    .source
                    .ok_or_else(|| de::Error::missing_field("source"))?
                    .into_source()?,
            },
            "document" => Block::Document {
                source: raw
                    .source
                    .ok_or_else(|| de::Error::missing_field("source"))?
                    .into_source()?,
                title: raw.title,
            },
            "tool_use" => Block::ToolUse {
                id: need(raw.id, "id")?,
                name: need(raw.name, "name")?,
                input: raw.input.ok_or_else(|| de::Error::missing_field("input"))?,
            },
            "tool_result" => Block::ToolResult {
                tool_use_id: need(raw.tool_use_id, "tool_use_id")?,
                content: raw.content.map_or(ToolResultContent::Empty, |c| c.0),
                is_error: raw.is_error.unwrap_or(false),
            },
            "thinking" => Block::Thinking {
                thinking: raw.thinking.unwrap_or_default(),
                signature: raw.signature,
            },
            "redacted_thinking" => Block::RedactedThinking {
                data: need(raw.data, "data")?,
            },
            _ => Block::Other { kind: raw.kind },
        })
    }
}

/// A tool the model may call.
#[derive(Debug, Deserialize)]
pub struct Tool<'a> {
    #[serde(borrow)]
    pub name: Cow<'a, str>,
    /// Kept as the client wrote it: Claude Code's descriptions are a third of its
    /// request, and most targets take them unchanged, so they are never unescaped.
    #[serde(default, borrow)]
    pub description: Option<JsonString<'a>>,
    /// The JSON Schema, untouched: most targets take it as is.
    #[serde(default, borrow)]
    pub input_schema: Option<&'a RawValue>,
    /// Set on Anthropic server tools (`web_search_20250305`, …); absent or `custom` on client tools.
    #[serde(rename = "type", default, borrow)]
    pub kind: Option<Cow<'a, str>>,
}

impl Tool<'_> {
    /// Whether this is a client tool with a schema (server tools run only on Anthropic).
    pub fn is_custom(&self) -> bool {
        matches!(self.kind.as_deref(), None | Some("custom")) && self.input_schema.is_some()
    }
}

/// A JSON string kept exactly as written (quotes and escapes included); it is written
/// back verbatim, and unescaped only when something needs its text.
#[derive(Debug, Clone, Copy)]
pub struct JsonString<'a>(&'a RawValue);

impl<'a> JsonString<'a> {
    /// The JSON token, quotes included.
    pub fn raw(&self) -> &'a RawValue {
        self.0
    }

    /// The text, unescaped.
    pub fn text(&self) -> Cow<'a, str> {
        serde_json::from_str::<Cow<'a, str>>(self.0.get()).unwrap_or_default()
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for JsonString<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = <&'a RawValue>::deserialize(d)?;
        if raw.get().starts_with('"') {
            Ok(JsonString(raw))
        } else {
            Err(de::Error::invalid_type(
                de::Unexpected::Other(raw.get()),
                &"a string",
            ))
        }
    }
}

impl serde::Serialize for JsonString<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

/// `tool_choice`.
#[derive(Debug, Deserialize)]
pub struct ToolChoice<'a> {
    #[serde(rename = "type", borrow)]
    pub kind: Cow<'a, str>,
    #[serde(default, borrow)]
    pub name: Option<Cow<'a, str>>,
    #[serde(default)]
    pub disable_parallel_tool_use: Option<bool>,
}

/// `metadata`.
#[derive(Debug, Deserialize)]
pub struct Metadata<'a> {
    #[serde(default, borrow)]
    pub user_id: Option<Cow<'a, str>>,
}

/// `thinking`: enabled with a budget, adaptive, or disabled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Thinking {
    Enabled {
        #[serde(default)]
        budget_tokens: Option<u64>,
    },
    Adaptive,
    Disabled,
}

/// `output_config`: `effort` and `format` matter to translators.
#[derive(Debug, Deserialize)]
pub struct OutputConfig<'a> {
    #[serde(default, borrow)]
    pub effort: Option<Cow<'a, str>>,
    /// Structured output, `{"type":"json_schema","schema":{…}}`, kept raw for translators.
    #[serde(default, borrow)]
    pub format: Option<&'a RawValue>,
}

enum Either<'a, T> {
    Str(Cow<'a, str>),
    Seq(Vec<T>),
}

struct StringOrSeq<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for StringOrSeq<T> {
    type Value = Either<'de, T>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string or an array of content blocks")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Either::Str(Cow::Borrowed(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Either::Str(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Either::Str(Cow::Owned(v)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element()? {
            out.push(item);
        }
        Ok(Either::Seq(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_string_and_block_content() {
        let body = br#"{"model":"openai/gpt-5","max_tokens":10,"messages":[
            {"role":"user","content":"hi"},
            {"role":"assistant","content":[{"type":"text","text":"a"},{"type":"tool_use","id":"toolu_1","name":"Bash","input":{"command":"ls"}}]},
            {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"out","is_error":true}]},
            {"role":"system","content":[{"type":"text","text":"mid","cache_control":{"type":"ephemeral"}}]}
        ]}"#;
        let req = MessagesRequest::parse(body).unwrap();
        assert_eq!(req.model, "openai/gpt-5");
        assert_eq!(req.messages.len(), 4);
        assert_eq!(req.messages[3].role, Role::System);
        match &req.messages[1].content {
            Content::Blocks(b) => match &b[1] {
                Block::ToolUse { input, .. } => assert_eq!(input.get(), r#"{"command":"ls"}"#),
                other => panic!("unexpected {other:?}"),
            },
            other => panic!("unexpected {other:?}"),
        }
        match &req.messages[2].content {
            Content::Blocks(b) => match &b[0] {
                Block::ToolResult {
                    content, is_error, ..
                } => {
                    assert!(*is_error);
                    assert!(matches!(content, ToolResultContent::Text(t) if t == "out"));
                }
                other => panic!("unexpected {other:?}"),
            },
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn strings_without_escapes_are_borrowed() {
        let body = br#"{"model":"m","messages":[{"role":"user","content":"plain"}]}"#;
        let req = MessagesRequest::parse(body).unwrap();
        assert!(matches!(
            &req.messages[0].content,
            Content::Text(Cow::Borrowed("plain"))
        ));
    }

    #[test]
    fn malformed_json_names_the_problem() {
        let err =
            MessagesRequest::parse(br#"{"model":"m","messages":[{"role":"user"}]}"#).unwrap_err();
        assert!(
            err.message.contains("missing field `content`"),
            "{}",
            err.message
        );
        let err = MessagesRequest::parse(b"{\"model\": ").unwrap_err();
        assert!(err.message.contains("not valid JSON"), "{}", err.message);
    }

    #[test]
    fn head_reads_model_without_parsing_messages() {
        let body = br#"{"messages":[{"anything":1}],"model":"claude-sonnet-4-5","stream":true}"#;
        let head = RequestHead::parse(body).unwrap();
        assert_eq!(head.model_name().unwrap(), "claude-sonnet-4-5");
    }

    #[test]
    fn unknown_blocks_are_kept_by_kind() {
        let body = br#"{"model":"m","messages":[{"role":"assistant","content":[{"type":"server_tool_use","id":"x","name":"web_search","input":{}}]}]}"#;
        let req = MessagesRequest::parse(body).unwrap();
        assert!(
            matches!(&req.messages[0].content, Content::Blocks(b) if matches!(&b[0], Block::Other { kind } if kind == "server_tool_use"))
        );
    }
}
