//! Token usage as Anthropic reports it.

use serde::{Deserialize, Deserializer, Serialize};

/// Token counts; `input_tokens` excludes cache reads and writes, as Anthropic counts them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    #[serde(default, deserialize_with = "zero_if_null")]
    pub input_tokens: u64,
    #[serde(default, deserialize_with = "zero_if_null")]
    pub output_tokens: u64,
    #[serde(default, deserialize_with = "zero_if_null")]
    pub cache_creation_input_tokens: u64,
    #[serde(default, deserialize_with = "zero_if_null")]
    pub cache_read_input_tokens: u64,
    /// How the cache writes split by lifetime (Anthropic bills 1-hour writes higher).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_creation: Option<CacheCreation>,
}

/// Cache writes by lifetime, as Anthropic reports them beside `cache_creation_input_tokens`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheCreation {
    #[serde(default, deserialize_with = "zero_if_null")]
    pub ephemeral_5m_input_tokens: u64,
    #[serde(default, deserialize_with = "zero_if_null")]
    pub ephemeral_1h_input_tokens: u64,
}

impl Usage {
    /// Cache writes of the 1-hour lifetime (part of `cache_creation_input_tokens`).
    pub fn cache_write_1h(&self) -> u64 {
        self.cache_creation
            .map_or(0, |c| c.ephemeral_1h_input_tokens)
            .min(self.cache_creation_input_tokens)
    }

    /// Every prompt token, cached or not.
    pub fn total_input(&self) -> u64 {
        self.input_tokens
            .saturating_add(self.cache_creation_input_tokens)
            .saturating_add(self.cache_read_input_tokens)
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
        if later.cache_creation.is_some() {
            self.cache_creation = later.cache_creation;
        }
    }
}

/// Some servers send `null` for a count they do not know; that is 0, not a broken usage.
fn zero_if_null<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    Ok(Option::<u64>::deserialize(d)?.unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_counts_read_as_zero() {
        let u: Usage = serde_json::from_str(
            r#"{"input_tokens":5,"cache_read_input_tokens":null,"output_tokens":2}"#,
        )
        .unwrap();
        assert_eq!(
            (u.input_tokens, u.cache_read_input_tokens, u.output_tokens),
            (5, 0, 2)
        );
    }
}
