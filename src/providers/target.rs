//! One resolved upstream: which provider, where, with which credential and model.

use super::openai::Quirks;
use super::{ProviderId, ProviderKind, Secret};

/// Where one attempt of a request goes.
#[derive(Debug, Clone)]
pub struct Target {
    pub provider: ProviderId,
    pub kind: ProviderKind,
    pub quirks: Quirks,
    pub base_url: String,
    /// The key's name, for logs; never the secret.
    pub key_name: Option<String>,
    pub secret: Option<Secret>,
    pub upstream_model: String,
}

impl Target {
    /// `provider/model`, as users address it.
    pub fn address(&self) -> String {
        format!("{}/{}", self.provider, self.upstream_model)
    }
}
