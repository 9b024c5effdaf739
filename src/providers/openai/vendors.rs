//! The OpenAI-compatible vendors bgw knows, and the dialect quirks of each.
//!
//! A vendor is a row, not a file: base URL, the key variable people usually have,
//! and the few places where its Chat Completions dialect differs from OpenAI's.
//! Quirks are conservative: a field a vendor is not known to accept is not sent,
//! since several of them answer 400/422 to unknown fields. Sources: PROTOCOLS.md §3.

/// Which request field carries the output-token limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaxTokensField {
    /// Always `max_completion_tokens` (OpenAI's current field).
    MaxCompletionTokens,
    /// Always the older `max_tokens` (vendors that only know it).
    MaxTokens,
    /// `max_completion_tokens` for OpenAI reasoning models (which reject `max_tokens`), else `max_tokens`.
    ByModel,
}

/// How a thinking request reaches the upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReasoningParam {
    /// Never sent.
    None,
    /// `reasoning_effort`, sent only to models known to take it (o-series, gpt-5, gpt-oss).
    Effort,
    /// OpenRouter's `reasoning: {effort}`, which it normalizes across its models.
    OpenRouter,
}

/// Where one upstream's Chat Completions dialect differs from OpenAI's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quirks {
    /// Which field carries `max_tokens`.
    pub max_tokens: MaxTokensField,
    /// Whether `stream_options: {include_usage: true}` is accepted (else usage is taken where it comes).
    pub stream_usage: bool,
    /// Tool call ids must be exactly 9 of `[a-zA-Z0-9]` (Mistral).
    pub short_tool_ids: bool,
    /// Whether `parallel_tool_calls` is accepted.
    pub parallel_tool_calls: bool,
    /// How thinking / effort is sent.
    pub reasoning: ReasoningParam,
    /// Thinking text goes back as `reasoning_content` on assistant turns with tool calls
    /// (DeepSeek's thinking mode answers 400 when it is missing).
    pub echo_reasoning: bool,
    /// Whether the `user` field is accepted.
    pub user_field: bool,
    /// Whether `response_format: {type: "json_schema"}` is accepted (for `output_config.format`).
    pub json_schema: bool,
    /// Whether PDFs are accepted as `file` content parts (OpenAI's vision models; base64 only).
    pub pdf: bool,
}

impl Quirks {
    /// api.openai.com (and Azure OpenAI deployments).
    pub const OPENAI: Quirks = Quirks {
        max_tokens: MaxTokensField::MaxCompletionTokens,
        stream_usage: true,
        short_tool_ids: false,
        parallel_tool_calls: true,
        reasoning: ReasoningParam::Effort,
        echo_reasoning: false,
        user_field: true,
        json_schema: true,
        pdf: true,
    };

    /// A user-added compatible server (vLLM, LM Studio, LiteLLM): only what they all accept.
    pub const GENERIC: Quirks = Quirks {
        max_tokens: MaxTokensField::ByModel,
        stream_usage: true,
        short_tool_ids: false,
        parallel_tool_calls: false,
        reasoning: ReasoningParam::Effort,
        echo_reasoning: false,
        user_field: false,
        json_schema: true,
        pdf: false,
    };
}

/// One OpenAI-compatible vendor.
#[derive(Debug, Clone, Copy)]
pub struct Vendor {
    /// The provider name users write before `/` in a model.
    pub id: &'static str,
    /// Base URL; requests go to `{base_url}/chat/completions`.
    pub base_url: &'static str,
    /// The environment variable that usually holds its key; `None` when keyless (Ollama).
    pub key_env: Option<&'static str>,
    /// Its dialect.
    pub quirks: Quirks,
}

const fn quirks(
    max_tokens: MaxTokensField,
    stream_usage: bool,
    parallel_tool_calls: bool,
) -> Quirks {
    Quirks {
        max_tokens,
        stream_usage,
        short_tool_ids: false,
        parallel_tool_calls,
        reasoning: ReasoningParam::Effort,
        echo_reasoning: false,
        user_field: false,
        json_schema: true,
        pdf: false,
    }
}

/// The built-in vendors, in the order `bgw keys list` shows them.
pub static VENDORS: &[Vendor] = &[
    Vendor {
        id: "groq",
        base_url: "https://api.groq.com/openai/v1",
        key_env: Some("GROQ_API_KEY"),
        quirks: Quirks {
            user_field: true,
            ..quirks(MaxTokensField::MaxCompletionTokens, true, true)
        },
    },
    Vendor {
        id: "mistral",
        base_url: "https://api.mistral.ai/v1",
        key_env: Some("MISTRAL_API_KEY"),
        // Mistral refuses unknown fields (422 "Extra inputs are not permitted").
        quirks: Quirks {
            short_tool_ids: true,
            reasoning: ReasoningParam::None,
            ..quirks(MaxTokensField::MaxTokens, false, true)
        },
    },
    Vendor {
        id: "deepseek",
        base_url: "https://api.deepseek.com",
        key_env: Some("DEEPSEEK_API_KEY"),
        // Only `json_object` response formats.
        quirks: Quirks {
            echo_reasoning: true,
            json_schema: false,
            reasoning: ReasoningParam::None,
            ..quirks(MaxTokensField::MaxTokens, true, false)
        },
    },
    Vendor {
        id: "xai",
        base_url: "https://api.x.ai/v1",
        key_env: Some("XAI_API_KEY"),
        // Most grok models answer 400 to `reasoning_effort`; they reason on their own.
        quirks: Quirks {
            user_field: true,
            reasoning: ReasoningParam::None,
            ..quirks(MaxTokensField::MaxCompletionTokens, true, true)
        },
    },
    Vendor {
        id: "openrouter",
        base_url: "https://openrouter.ai/api/v1",
        key_env: Some("OPENROUTER_API_KEY"),
        quirks: Quirks {
            user_field: true,
            reasoning: ReasoningParam::OpenRouter,
            ..quirks(MaxTokensField::MaxTokens, true, true)
        },
    },
    Vendor {
        id: "together",
        base_url: "https://api.together.xyz/v1",
        key_env: Some("TOGETHER_API_KEY"),
        quirks: quirks(MaxTokensField::MaxTokens, false, false),
    },
    Vendor {
        id: "fireworks",
        base_url: "https://api.fireworks.ai/inference/v1",
        key_env: Some("FIREWORKS_API_KEY"),
        quirks: quirks(MaxTokensField::MaxTokens, false, false),
    },
    Vendor {
        id: "cerebras",
        base_url: "https://api.cerebras.ai/v1",
        key_env: Some("CEREBRAS_API_KEY"),
        // 400 on `parallel_tool_calls`.
        quirks: quirks(MaxTokensField::MaxCompletionTokens, false, false),
    },
    Vendor {
        id: "perplexity",
        base_url: "https://api.perplexity.ai",
        key_env: Some("PERPLEXITY_API_KEY"),
        quirks: Quirks {
            reasoning: ReasoningParam::None,
            ..quirks(MaxTokensField::MaxTokens, false, false)
        },
    },
    Vendor {
        id: "ollama",
        base_url: "http://localhost:11434/v1",
        key_env: None,
        quirks: quirks(MaxTokensField::MaxTokens, true, false),
    },
];

/// The built-in vendor of this name.
pub fn vendor(id: &str) -> Option<&'static Vendor> {
    VENDORS.iter().find(|v| v.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_vendor_is_found_by_name_and_names_are_unique() {
        for v in VENDORS {
            assert_eq!(vendor(v.id).map(|f| f.base_url), Some(v.base_url));
            assert!(!v.base_url.ends_with('/'), "{} base URL ends with /", v.id);
        }
        let mut ids: Vec<_> = VENDORS.iter().map(|v| v.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), VENDORS.len());
        assert!(vendor("nope").is_none());
    }

    #[test]
    fn the_documented_rows_are_there() {
        let ids: Vec<_> = VENDORS.iter().map(|v| v.id).collect();
        assert_eq!(
            ids,
            [
                "groq",
                "mistral",
                "deepseek",
                "xai",
                "openrouter",
                "together",
                "fireworks",
                "cerebras",
                "perplexity",
                "ollama"
            ]
        );
    }

    #[test]
    fn ollama_is_local_and_keyless() {
        let o = vendor("ollama").unwrap();
        assert_eq!(o.base_url, "http://localhost:11434/v1");
        assert_eq!(o.key_env, None);
    }

    #[test]
    fn mistral_needs_short_tool_ids_and_no_stream_options() {
        let q = vendor("mistral").unwrap().quirks;
        assert!(q.short_tool_ids);
        assert!(!q.stream_usage);
        assert!(!q.user_field);
    }

    #[test]
    fn deepseek_echoes_reasoning_and_takes_no_json_schema() {
        let q = vendor("deepseek").unwrap().quirks;
        assert!(q.echo_reasoning && !q.json_schema);
    }

    #[test]
    fn cerebras_gets_no_parallel_tool_calls() {
        assert!(!vendor("cerebras").unwrap().quirks.parallel_tool_calls);
    }
}
