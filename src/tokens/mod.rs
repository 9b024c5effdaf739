//! Token counts of the requests bgw sends, without a tokenizer in the binary.
//!
//! `count_tokens` for a target that cannot count for itself is answered by
//! [`chat_request`]: it reads the Chat Completions body bgw would send and adds up what
//! the model is shown, the way OpenAI's cookbook ("How to count tokens with tiktoken")
//! counts a request:
//! - each message costs 3 tokens of framing plus its role and its text; a message `name`
//!   adds 1; tool calls add their name, their arguments and 3 tokens each; the reply is
//!   primed with 3 more;
//! - tool definitions are shown to OpenAI models as a TypeScript namespace
//!   (`namespace functions { // description  type Name = (_: { … }) => any; }`), the form
//!   OpenAI's harmony renderer writes; it is rendered here ([`typescript_tools`]) and
//!   counted with 5 tokens around it (measured: with it, the cookbook's tool example counts
//!   the 101 tokens the API reported);
//! - a structured-output schema is counted as its JSON under a short heading; an image as
//!   765 tokens (a 1,024 × 1,024 image at high detail; the size is not read).
//!
//! Text is counted by [`estimate_text`], which cuts it as o200k_base's pre-tokenizer does
//! and prices each piece from a table measured with the real vocabulary (see `text.rs`).
//! That keeps the 3.6 MB vocabulary, its 50 MB of memory and its 0.2 s load out of the
//! binary; the estimate stays within a few percent of the exact count of the same request
//! (`tests/count_tokens_accuracy.rs` measures it on Claude Code's own requests).
//!
//! OpenAI's gpt-4o, gpt-4.1, o-series and gpt-5 models use o200k_base. gpt-4 and gpt-3.5
//! use cl100k_base, which counts English and code within 3% of it, and text in other
//! scripts 25–80% higher: for them the estimate is low on such text.
//!
//! Open-weight models behind OpenAI-compatible vendors (Llama, Qwen, Mistral, DeepSeek,
//! Kimi, GLM …) have tokenizers of their own, and their chat templates show tools as JSON
//! after an instruction of their own. For them ([`ToolStyle::Json`]) the tools count as
//! their JSON plus 80 tokens of instruction, and the text by the same o200k_base estimate:
//! the current tokenizers of these families (100k–150k BPE vocabularies) count English and
//! code close to it, older 32k SentencePiece ones (Llama 2, early Mistral) 20–30% higher.
//! It is an estimate, good enough to decide when to compact, not an exact count.

mod text;

use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::fmt::Write as _;

use crate::providers::ProviderKind;

pub use text::estimate as estimate_text;
pub use text::milli as estimate_milli;

/// Framing of each message (`<|start|>role<|message|> … <|end|>`), role excluded.
pub const PER_MESSAGE: u64 = 3;
/// The reply is primed with `<|start|>assistant<|message|>`.
pub const REPLY_PRIMER: u64 = 3;
/// Around the rendered tool namespace, for OpenAI models.
pub const TOOLS_FRAMING: u64 = 5;
/// Around each tool call of an assistant message.
pub const PER_TOOL_CALL: u64 = 3;
/// The instruction open-weight chat templates put before their JSON tool list.
pub const JSON_TOOLS_PREAMBLE: u64 = 80;
/// An image of unknown size: 1,024 × 1,024 at high detail (85 + 4 tiles × 170).
pub const IMAGE: u64 = 765;
/// Heading of a structured-output schema.
pub const RESPONSE_FORMAT_HEADING: &str = "# Response Formats\n\n## output\n\n";

/// How a model's prompt shows tool definitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToolStyle {
    /// OpenAI models: a TypeScript namespace.
    TypeScript,
    /// Open-weight models' chat templates: the tools' JSON.
    Json,
}

impl ToolStyle {
    /// The style for a model at a provider of `kind` (`model` as the upstream names it).
    pub fn for_model(kind: ProviderKind, model: &str) -> ToolStyle {
        let base = model
            .rsplit('/')
            .next()
            .unwrap_or(model)
            .to_ascii_lowercase();
        let openai_family = ["gpt-", "chatgpt-", "codex-", "o1", "o3", "o4", "ft:gpt-"]
            .iter()
            .any(|p| base.starts_with(p));
        if matches!(kind, ProviderKind::OpenAi | ProviderKind::Azure) || openai_family {
            ToolStyle::TypeScript
        } else {
            ToolStyle::Json
        }
    }
}

#[derive(Deserialize)]
struct ChatBody<'a> {
    #[serde(borrow)]
    messages: Vec<ChatMessage<'a>>,
    #[serde(default, borrow)]
    tools: Vec<&'a RawValue>,
    #[serde(default, borrow)]
    response_format: Option<ResponseFormat<'a>>,
}

#[derive(Deserialize)]
struct ChatMessage<'a> {
    #[serde(borrow)]
    role: Cow<'a, str>,
    #[serde(default, borrow)]
    content: Option<ChatContent<'a>>,
    #[serde(default, borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    tool_calls: Vec<ToolCall<'a>>,
    #[serde(default, borrow)]
    reasoning_content: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ChatContent<'a> {
    Text(#[serde(borrow)] Cow<'a, str>),
    Parts(#[serde(borrow)] Vec<Part<'a>>),
}

#[derive(Deserialize)]
struct Part<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(default, borrow)]
    text: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct ToolCall<'a> {
    #[serde(borrow)]
    function: CallFunction<'a>,
}

#[derive(Deserialize)]
struct CallFunction<'a> {
    #[serde(borrow)]
    name: Cow<'a, str>,
    #[serde(borrow)]
    arguments: Cow<'a, str>,
}

#[derive(Deserialize)]
struct ResponseFormat<'a> {
    #[serde(default, borrow)]
    json_schema: Option<JsonSchema<'a>>,
}

#[derive(Deserialize)]
struct JsonSchema<'a> {
    #[serde(default, borrow)]
    schema: Option<&'a RawValue>,
}

/// One tool of a Chat Completions `tools` list.
#[derive(Deserialize)]
struct ToolDef {
    function: FunctionDef,
}

#[derive(Deserialize)]
struct FunctionDef {
    name: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    parameters: Option<Value>,
}

/// The estimated prompt tokens of a Chat Completions request body (see the module comment).
pub fn chat_request(body: &[u8], style: ToolStyle) -> Result<u64, serde_json::Error> {
    let body: ChatBody<'_> = serde_json::from_slice(body)?;
    // Thousandths of a token, rounded once at the end.
    let mut n = REPLY_PRIMER * 1000;
    let whole = |tokens: u64| tokens * 1000;
    for m in &body.messages {
        n += whole(PER_MESSAGE) + text::milli(&m.role);
        match &m.content {
            Some(ChatContent::Text(t)) => n += text::milli(t),
            Some(ChatContent::Parts(parts)) => {
                for p in parts {
                    n += match (p.kind.as_ref(), &p.text) {
                        ("text", Some(t)) => text::milli(t),
                        ("image_url", _) => whole(IMAGE),
                        _ => 0,
                    };
                }
            }
            None => {}
        }
        if let Some(name) = &m.name {
            n += whole(1) + text::milli(name);
        }
        if let Some(r) = &m.reasoning_content {
            n += text::milli(r);
        }
        for c in &m.tool_calls {
            n += whole(PER_TOOL_CALL)
                + text::milli(&c.function.name)
                + text::milli(&c.function.arguments);
        }
    }
    if !body.tools.is_empty() {
        n += match style {
            ToolStyle::TypeScript => {
                let tools = body
                    .tools
                    .iter()
                    .map(|t| serde_json::from_str::<ToolDef>(t.get()).map(|t| t.function))
                    .collect::<Result<Vec<_>, _>>()?;
                whole(TOOLS_FRAMING) + text::milli(&typescript_tools(&tools_view(&tools)))
            }
            ToolStyle::Json => {
                whole(JSON_TOOLS_PREAMBLE)
                    + body
                        .tools
                        .iter()
                        .map(|t| whole(1) + text::milli(t.get()))
                        .sum::<u64>()
            }
        };
    }
    if let Some(schema) = body
        .response_format
        .and_then(|f| f.json_schema)
        .and_then(|s| s.schema)
    {
        n += text::milli(RESPONSE_FORMAT_HEADING) + text::milli(schema.get());
    }
    Ok((n + 500) / 1000)
}

fn tools_view(tools: &[FunctionDef]) -> Vec<FunctionView<'_>> {
    tools
        .iter()
        .map(|f| FunctionView {
            name: &f.name,
            description: f.description.as_deref(),
            parameters: f.parameters.as_ref(),
        })
        .collect()
}

/// One function as [`typescript_tools`] renders it.
#[derive(Debug, Clone, Copy)]
pub struct FunctionView<'a> {
    pub name: &'a str,
    pub description: Option<&'a str>,
    /// The JSON Schema of the arguments.
    pub parameters: Option<&'a Value>,
}

/// Tool definitions as OpenAI models are shown them: a TypeScript namespace, each function
/// under its description as `//` lines, its JSON Schema as the type of its one argument.
pub fn typescript_tools(functions: &[FunctionView<'_>]) -> String {
    let mut out = String::from("namespace functions {\n\n");
    for f in functions {
        for line in f.description.unwrap_or_default().lines() {
            let _ = writeln!(out, "// {line}");
        }
        match f.parameters {
            Some(p) => {
                let _ = writeln!(out, "type {} = (_: {}) => any;\n", f.name, ts_type(p, ""));
            }
            None => {
                let _ = writeln!(out, "type {} = () => any;\n", f.name);
            }
        }
    }
    out.push_str("} // namespace functions");
    out
}

/// A JSON Schema as a TypeScript type; nested objects are indented by four spaces.
fn ts_type(schema: &Value, indent: &str) -> String {
    if let Some(variants) = schema.get("oneOf").and_then(Value::as_array) {
        let mut out = String::new();
        for v in variants {
            let _ = write!(out, "\n{indent} | {}", ts_type(v, &format!("{indent}   ")));
            if let Some(d) = v.get("description").and_then(Value::as_str) {
                let _ = write!(out, " // {d}");
            }
        }
        return out;
    }
    match schema.get("type") {
        Some(Value::Array(types)) => types
            .iter()
            .filter_map(Value::as_str)
            .map(|t| if t == "integer" { "number" } else { t })
            .collect::<Vec<_>>()
            .join(" | "),
        Some(Value::String(t)) => match t.as_str() {
            "object" => ts_object(schema, indent),
            "string" => match schema.get("enum").and_then(Value::as_array) {
                Some(values) if !values.is_empty() => values
                    .iter()
                    .filter_map(Value::as_str)
                    .map(|v| format!("\"{v}\""))
                    .collect::<Vec<_>>()
                    .join(" | "),
                _ => "string".to_owned(),
            },
            "number" | "integer" => "number".to_owned(),
            "boolean" => "boolean".to_owned(),
            "array" => match schema.get("items") {
                Some(items) => format!("{}[]", ts_type(items, indent)),
                None => "Array<any>".to_owned(),
            },
            _ => "any".to_owned(),
        },
        _ => "any".to_owned(),
    }
}

fn ts_object(schema: &Value, indent: &str) -> String {
    let mut out = String::new();
    if let Some(d) = schema.get("description").and_then(Value::as_str) {
        let _ = writeln!(out, "{indent}// {d}");
    }
    out.push_str("{\n");
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let props = schema.get("properties").and_then(Value::as_object);
    for (key, prop) in props.into_iter().flatten() {
        if let Some(title) = prop.get("title").and_then(Value::as_str) {
            let _ = writeln!(out, "{indent}// {title}\n{indent}//");
        }
        if let Some(d) = prop.get("description").and_then(Value::as_str) {
            let _ = writeln!(out, "{indent}// {d}");
        }
        if let Some(examples) = prop.get("examples").and_then(Value::as_array) {
            if !examples.is_empty() {
                let _ = writeln!(out, "{indent}// Examples:");
                for e in examples.iter().filter_map(Value::as_str) {
                    let _ = writeln!(out, "{indent}// - \"{e}\"");
                }
            }
        }
        let optional = if required.contains(&key.as_str()) {
            ""
        } else {
            "?"
        };
        let ty = ts_type(prop, &format!("{indent}    "));
        let _ = write!(out, "{indent}{key}{optional}: {ty},");
        match prop.get("default") {
            Some(Value::String(d)) if prop.get("enum").is_none() => {
                let _ = write!(out, " // default: \"{d}\"");
            }
            Some(Value::String(d)) => {
                let _ = write!(out, " // default: {d}");
            }
            Some(d) => {
                let _ = write!(out, " // default: {d}");
            }
            None => {}
        }
        out.push('\n');
    }
    let _ = write!(out, "{indent}}}");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tools_render_as_a_typescript_namespace() {
        let params = json!({
            "type": "object",
            "properties": {
                "location": {"type": "string", "description": "The city and state, e.g. San Francisco, CA"},
                "unit": {"type": "string", "description": "The unit of temperature to return", "enum": ["celsius", "fahrenheit"]},
                "days": {"type": "array", "items": {"type": "integer"}, "default": 1}
            },
            "required": ["location"]
        });
        let rendered = typescript_tools(&[
            FunctionView {
                name: "get_current_weather",
                description: Some("Get the current weather in a given location"),
                parameters: Some(&params),
            },
            FunctionView {
                name: "now",
                description: None,
                parameters: None,
            },
        ]);
        assert_eq!(
            rendered,
            "namespace functions {\n\n\
             // Get the current weather in a given location\n\
             type get_current_weather = (_: {\n\
             days?: number[], // default: 1\n\
             // The city and state, e.g. San Francisco, CA\n\
             location: string,\n\
             // The unit of temperature to return\n\
             unit?: \"celsius\" | \"fahrenheit\",\n\
             }) => any;\n\n\
             type now = () => any;\n\n\
             } // namespace functions"
        );
    }

    #[test]
    fn nested_objects_are_indented() {
        let params = json!({"type": "object", "properties": {
            "todos": {"type": "array", "items": {"type": "object", "properties": {
                "content": {"type": "string", "minLength": 1}
            }, "required": ["content"]}}
        }, "required": ["todos"]});
        assert_eq!(
            ts_type(&params, ""),
            "{\ntodos: {\n    content: string,\n    }[],\n}"
        );
    }

    #[test]
    fn open_weight_models_see_tools_as_json() {
        assert_eq!(
            ToolStyle::for_model(ProviderKind::OpenAiCompat, "llama-3.3-70b-versatile"),
            ToolStyle::Json
        );
        assert_eq!(
            ToolStyle::for_model(ProviderKind::OpenAiCompat, "openai/gpt-5"),
            ToolStyle::TypeScript
        );
        assert_eq!(
            ToolStyle::for_model(ProviderKind::OpenAi, "my-finetune"),
            ToolStyle::TypeScript
        );
    }

    #[test]
    fn a_request_counts_messages_tools_and_the_primer() {
        let body = br#"{"model":"gpt-5","messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"Hello there"}]}"#;
        // o200k_base: 3 + system 1 + 4, 3 + user 1 + 2, primer 3 = 17; the text is estimated
        // at 7.3 tokens rather than 6.
        assert_eq!(chat_request(body, ToolStyle::TypeScript).unwrap(), 18);
    }
}
