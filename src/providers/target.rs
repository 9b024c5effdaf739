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
    pub credential: Credential,
    pub upstream_model: String,
    /// Where in a company cloud: Vertex's project and region, Bedrock's region.
    pub place: Place,
}

impl Target {
    /// `provider/model`, as users address it.
    pub fn address(&self) -> String {
        format!("{}/{}", self.provider, self.upstream_model)
    }

    /// The API key, when the credential is one.
    pub fn secret(&self) -> Option<&Secret> {
        match &self.credential {
            Credential::Key(s) => Some(s),
            _ => None,
        }
    }
}

/// How a target proves who it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// Nothing to send: a keyless upstream, or Anthropic with the client's own login.
    None,
    /// An API key, sent the way the provider takes keys.
    Key(Secret),
    /// A Google service account's key file (its JSON), or, with none, the application-default
    /// credentials found where `gcloud auth application-default login` leaves them.
    Google(Option<Secret>),
    /// AWS credentials found the way the AWS CLI finds them (the environment, then the shared
    /// files' profile), each time a request is signed; nothing of them is stored.
    Aws { profile: Option<String> },
}

/// A company cloud's coordinates for a key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Place {
    /// Vertex's Google Cloud project.
    pub project: Option<String>,
    /// Vertex's location (`us-east5`, `global`) or Bedrock's AWS region (`us-east-1`).
    pub region: Option<String>,
}
