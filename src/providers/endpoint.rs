//! Endpoints: where a target's request goes and how it signs in. A plain key is a header
//! set with the rest ([`key_headers`]); a cloud's sign-in needs the finished request and may
//! wait on the network ([`authorize`]): a Google access token, fetched and cached, or an AWS
//! signature over the body.

use http::{HeaderName, HeaderValue};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use super::client::UpstreamClient;
use super::{
    Credential, Inbound, Prepared, ProviderKind, Secret, Target, Wire, azure, bedrock, gemini,
    vertex,
};
use crate::messages::{ApiError, ErrorKind};

/// The URL of `target`'s request in `wire`; `stream`, when the encoding read it, picks a
/// streaming method where the path says so (Gemini, Vertex, Bedrock).
pub fn uri(
    target: &Target,
    wire: Wire,
    inbound: &Inbound<'_>,
    stream: Option<bool>,
) -> Result<String, ApiError> {
    let base = target.base_url.as_str();
    let model = target.upstream_model.as_str();
    let stream = stream.unwrap_or(false);
    Ok(match target.kind {
        ProviderKind::Anthropic => {
            let query = inbound.query.map(|q| format!("?{q}")).unwrap_or_default();
            format!("{base}/v1/messages{query}")
        }
        ProviderKind::Azure => azure::url(base, model),
        ProviderKind::OpenAi | ProviderKind::OpenAiCompat => match wire {
            Wire::OpenAiResponses => format!("{base}/responses"),
            _ => format!("{base}/chat/completions"),
        },
        ProviderKind::Gemini => format!("{base}{}", gemini::path(model, stream)?),
        ProviderKind::Vertex => {
            let express = matches!(target.credential, Credential::Key(_));
            vertex::url(base, &target.place, model, wire, stream, express)?
        }
        ProviderKind::Bedrock => {
            let region = target.place.region.as_deref().unwrap_or("us-east-1");
            bedrock::url(base, &bedrock::model_id(model, region), wire, stream)
        }
    })
}

/// The headers a plain key (or the client's own Anthropic login) goes in.
pub fn key_headers(
    target: &Target,
    wire: Wire,
    inbound: &Inbound<'_>,
    headers: &mut Vec<(HeaderName, HeaderValue)>,
) -> Result<(), ApiError> {
    if wire == Wire::AnthropicBedrock {
        // InvokeModel answers a stream in event-stream framing, a whole answer in JSON.
        headers.push((
            http::header::ACCEPT,
            HeaderValue::from_static("application/json"),
        ));
    }
    let Some(secret) = target.secret() else {
        // A Claude login or key belongs to Anthropic: never hand it to another host.
        if target.kind == ProviderKind::Anthropic && target.provider.is_anthropic() {
            headers.extend(inbound.client_auth.clone());
        }
        return Ok(());
    };
    let (name, value) = match target.kind {
        ProviderKind::Anthropic => (HeaderName::from_static("x-api-key"), secret.clone()),
        ProviderKind::Azure => (HeaderName::from_static("api-key"), secret.clone()),
        // The key goes in a header, never in the URL (which ends up in logs).
        ProviderKind::Gemini | ProviderKind::Vertex => {
            (HeaderName::from_static("x-goog-api-key"), secret.clone())
        }
        ProviderKind::OpenAi | ProviderKind::OpenAiCompat | ProviderKind::Bedrock => (
            http::header::AUTHORIZATION,
            Secret::new(format!("Bearer {}", secret.expose())),
        ),
    };
    headers.push((name, secret_value(target, &value)?));
    Ok(())
}

/// Signs the finished request in with a cloud's own credential: a Google access token (from
/// `auth`'s cache, fetched when missing or near its expiry), or an AWS SigV4 signature over
/// the body. Other targets are left as they are.
pub async fn authorize(
    prepared: &mut Prepared,
    target: &Target,
    auth: &CloudAuth,
) -> Result<(), ApiError> {
    match &target.credential {
        Credential::Google(key) => {
            let token = auth.google_token(target, key.as_ref()).await?;
            let bearer = Secret::new(format!("Bearer {}", token.expose()));
            prepared
                .headers
                .push((http::header::AUTHORIZATION, secret_value(target, &bearer)?));
            Ok(())
        }
        Credential::Aws { profile } => {
            let region = target.place.region.as_deref().ok_or_else(|| {
                sign_in_error(format!(
                    "the bedrock key `{}` names no AWS region: re-add it with `bgw keys add bedrock --region us-east-1`",
                    key_name(target)
                ))
            })?;
            let signed = bedrock::sign(prepared, region, profile.as_deref()).map_err(|why| {
                sign_in_error(format!(
                    "{}: the key `{}` cannot sign the request: {why}",
                    target.provider,
                    key_name(target)
                ))
            })?;
            prepared.headers.extend(signed);
            Ok(())
        }
        Credential::None | Credential::Key(_) => Ok(()),
    }
}

/// The Google token sources of the running gateway, one per credential, so a token is
/// fetched once an hour, not once a request.
pub struct CloudAuth {
    client: UpstreamClient,
    google: Mutex<HashMap<u64, Arc<vertex::auth::TokenSource>>>,
}

impl CloudAuth {
    /// Token sources that fetch through `client`.
    pub fn new(client: UpstreamClient) -> CloudAuth {
        CloudAuth {
            client,
            google: Mutex::new(HashMap::new()),
        }
    }

    async fn google_token(
        &self,
        target: &Target,
        key: Option<&Secret>,
    ) -> Result<Secret, ApiError> {
        let source = self.google_source(key).map_err(|why| {
            sign_in_error(format!(
                "{}: the key `{}` cannot sign in to Google Cloud: {why}",
                target.provider,
                key_name(target)
            ))
        })?;
        source.token().await.map_err(|e| {
            let message = format!(
                "{}: no Google access token for the key `{}`: {e}",
                target.provider,
                key_name(target)
            );
            match e {
                // Google was not reached: another target may be, and a later try may.
                vertex::auth::AuthError::Unavailable(_) => {
                    ApiError::new(ErrorKind::Api, message).with_status(502)
                }
                _ => sign_in_error(message),
            }
        })
    }

    /// The token source of this key (its JSON), or of the application-default credentials
    /// (their file, as it is now), made once: a request costs a hash, or a `stat`, not a read.
    fn google_source(
        &self,
        key: Option<&Secret>,
    ) -> Result<Arc<vertex::auth::TokenSource>, String> {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        let adc = match key {
            Some(k) => {
                k.expose().hash(&mut hasher);
                None
            }
            None => {
                let env = |name: &str| std::env::var(name).ok();
                let path = vertex::auth::find_adc(&env, dirs::home_dir().as_deref()).ok_or(
                    "no application-default credentials: run `gcloud auth application-default login`, or add a service account's key with `bgw keys add vertex --file key.json`",
                )?;
                let meta = std::fs::metadata(&path)
                    .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
                (&path, meta.modified().ok(), meta.len()).hash(&mut hasher);
                Some(path)
            }
        };
        let id = hasher.finish();
        let mut sources = self.google.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(source) = sources.get(&id) {
            return Ok(Arc::clone(source));
        }
        let json = match &adc {
            Some(path) => std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?,
            None => key.map(|k| k.expose().to_owned()).unwrap_or_default(),
        };
        let credentials = vertex::auth::load(json.as_bytes()).map_err(|e| e.to_string())?;
        let source = Arc::new(vertex::auth::TokenSource::new(
            credentials,
            self.client.clone(),
        ));
        sources.insert(id, Arc::clone(&source));
        Ok(source)
    }
}

/// The error for a cloud credential that cannot sign in. A 403, not a 401: Claude Code shows a
/// 403's message, but a 401 only as "Invalid API key · Please run /login", and its login does
/// not change bgw's keys.
fn sign_in_error(message: String) -> ApiError {
    ApiError::new(
        ErrorKind::Permission,
        format!("{message} (a key of bgw's: Claude Code's /login does not change it)"),
    )
}

/// The key's name, for messages.
fn key_name(target: &Target) -> &str {
    target.key_name.as_deref().unwrap_or("?")
}

/// A credential as a header value, marked sensitive (never logged by hyper).
fn secret_value(target: &Target, secret: &Secret) -> Result<HeaderValue, ApiError> {
    let mut v = HeaderValue::from_str(secret.expose()).map_err(|_| {
        ApiError::new(
            ErrorKind::Authentication,
            format!(
                "the key `{}` for `{}` holds characters an HTTP header cannot carry; re-add it with `bgw keys add`",
                target.key_name.as_deref().unwrap_or("?"),
                target.provider
            ),
        )
    })?;
    v.set_sensitive(true);
    Ok(v)
}
