//! Token usage as Anthropic reports it.

use serde::{Deserialize, Serialize};

/// Token counts; `input_tokens` excludes cache reads and writes, as Anthropic counts them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    #[serde(default)]
    pub input_tokens: u64,
    #[serde(default)]
    pub output_tokens: u64,
    #[serde(default)]
    pub cache_creation_input_tokens: u64,
    #[serde(default)]
    pub cache_read_input_tokens: u64,
}

impl Usage {
    /// Every prompt token, cached or not.
    pub fn total_input(&self) -> u64 {
        self.input_tokens + self.cache_creation_input_tokens + self.cache_read_input_tokens
    }

    /// Takes the non-zero fields of a later report (usage in `message_delta` is cumulative).
    pub fn merge_from(&mut self, later: &Usage) {
        if later.input_tokens > 0 {
            self.input_tokens = later.input_tokens;
        }
        if later.output_tokens > 0 {
            self.output_tokens = later.output_tokens;
        }
        if later.cache_creation_input_tokens > 0 {
            self.cache_creation_input_tokens = later.cache_creation_input_tokens;
        }
        if later.cache_read_input_tokens > 0 {
            self.cache_read_input_tokens = later.cache_read_input_tokens;
        }
    }
}
