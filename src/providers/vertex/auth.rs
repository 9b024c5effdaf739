//! Google OAuth 2.0 access tokens for Vertex AI.
//!
//! Two kinds of credentials files, found the way Application Default Credentials (ADC) finds
//! them ([`find_adc`]) and told apart by their `type` ([`load`]):
//! - a service-account key (`service_account`): bgw signs a JWT with the key (RS256) and trades
//!   it for a token (the JWT bearer grant);
//! - the file `gcloud auth application-default login` writes (`authorized_user`): bgw trades its
//!   refresh token for a token (the refresh-token grant).
//!
//! [`TokenSource`] caches the token and renews it five minutes before it expires, one request
//! at a time however many callers want it.
//!
//! Sources: <https://developers.google.com/identity/protocols/oauth2/service-account#httprest>,
//! <https://developers.google.com/identity/protocols/oauth2/web-server#offline>,
//! <https://cloud.google.com/docs/authentication/application-default-credentials>.

use std::fmt::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwapOption;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use ring::rand::SystemRandom;
use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::providers::Secret;
use crate::providers::body_excerpt;
use crate::providers::client::UpstreamClient;

/// Google's OAuth 2.0 token endpoint, where `authorized_user` files without a `token_uri` go.
pub const GOOGLE_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";
/// The scope bgw asks for: Vertex AI accepts tokens for all of Google Cloud.
pub const CLOUD_PLATFORM_SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";

const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// Google accepts a JWT valid for at most an hour.
const ASSERTION_LIFETIME_SECS: u64 = 3600;
/// A token is renewed this long before it expires, so none expires on the way to Google.
const REFRESH_MARGIN: Duration = Duration::from_secs(5 * 60);
/// A failed renewal's answer stands this long, so a broken key is not retried by every request.
const RETRY_AFTER: Duration = Duration::from_secs(5);
/// How long one token request may take.
const TOKEN_TIMEOUT: Duration = Duration::from_secs(30);
/// A token answer is a few hundred bytes; anything far larger is not one.
const MAX_TOKEN_ANSWER: usize = 64 * 1024;

const SERVICE_ACCOUNT_FILE: FileKind = FileKind {
    what: "service-account key",
    fix: "download a new JSON key in the Cloud console (IAM & Admin → Service accounts → Keys → Add key)",
};
const AUTHORIZED_USER_FILE: FileKind = FileKind {
    what: "gcloud credentials",
    fix: "run `gcloud auth application-default login` again",
};

/// Why there is no access token; the message says what went wrong and what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// The credentials file cannot be used (not JSON, a field missing, a key ring refuses).
    #[error("{0}")]
    Credentials(String),
    /// Google's token endpoint refused: `error` is its OAuth error code (`invalid_grant`).
    #[error("{message}")]
    Rejected {
        status: u16,
        error: String,
        message: String,
    },
    /// The token endpoint was not reached, did not answer in time, or answered no token.
    #[error("{0}")]
    Unavailable(String),
}

/// A service-account key file; its private key already accepted by ring.
#[derive(Clone)]
pub struct ServiceAccountKey {
    client_email: String,
    private_key_id: Option<String>,
    key: Arc<RsaKeyPair>,
    token_uri: String,
    project_id: Option<String>,
}

impl ServiceAccountKey {
    /// Reads a JSON key file (`"type": "service_account"`) as the Cloud console downloads it.
    pub fn parse(json: &[u8]) -> Result<ServiceAccountKey, AuthError> {
        let file = Fields::parse(json, SERVICE_ACCOUNT_FILE)?;
        file.expect_type("service_account")?;
        let client_email = file.required("client_email")?.to_owned();
        let key = private_key(file.required("private_key")?)?;
        let token_uri = checked_token_uri(file.required("token_uri")?, SERVICE_ACCOUNT_FILE)?;
        Ok(ServiceAccountKey {
            client_email,
            // Google's own libraries treat both as optional; `kid` is only a hint to Google.
            private_key_id: file.optional("private_key_id")?.map(str::to_owned),
            key: Arc::new(key),
            token_uri,
            project_id: file.optional("project_id")?.map(str::to_owned),
        })
    }

    /// The service account's address (`name@project.iam.gserviceaccount.com`).
    pub fn client_email(&self) -> &str {
        &self.client_email
    }

    /// The project the key belongs to (absent from some old key files).
    pub fn project_id(&self) -> Option<&str> {
        self.project_id.as_deref()
    }

    /// The token endpoint the key is traded at.
    pub fn token_uri(&self) -> &str {
        &self.token_uri
    }

    /// The signed JWT asking for a cloud-platform token, issued at `iat` (Unix seconds).
    fn assertion(&self, iat: u64, rng: &SystemRandom) -> Result<String, AuthError> {
        #[derive(Serialize)]
        struct Header<'a> {
            alg: &'static str,
            typ: &'static str,
            #[serde(skip_serializing_if = "Option::is_none")]
            kid: Option<&'a str>,
        }
        #[derive(Serialize)]
        struct Claims<'a> {
            iss: &'a str,
            scope: &'static str,
            aud: &'a str,
            iat: u64,
            exp: u64,
        }
        let header = Header {
            alg: "RS256",
            typ: "JWT",
            kid: self.private_key_id.as_deref(),
        };
        let claims = Claims {
            iss: &self.client_email,
            scope: CLOUD_PLATFORM_SCOPE,
            aud: &self.token_uri,
            iat,
            exp: iat + ASSERTION_LIFETIME_SECS,
        };
        let mut jwt = jwt_part(&header)?;
        jwt.push('.');
        jwt.push_str(&jwt_part(&claims)?);
        let mut signature = vec![0; self.key.public().modulus_len()];
        self.key
            .sign(&RSA_PKCS1_SHA256, rng, jwt.as_bytes(), &mut signature)
            .map_err(|_| {
                AuthError::Credentials(format!(
                    "signing the token request with the key of service account `{}` failed; {}",
                    self.client_email, SERVICE_ACCOUNT_FILE.fix
                ))
            })?;
        jwt.push('.');
        jwt.push_str(&URL_SAFE_NO_PAD.encode(&signature));
        Ok(jwt)
    }
}

/// One base64url (unpadded) JSON part of a JWT.
fn jwt_part(part: &impl Serialize) -> Result<String, AuthError> {
    serde_json::to_vec(part)
        .map(|json| URL_SAFE_NO_PAD.encode(json))
        .map_err(|e| AuthError::Credentials(format!("cannot encode the JWT: {e}")))
}

impl fmt::Debug for ServiceAccountKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceAccountKey")
            .field("client_email", &self.client_email)
            .field("private_key_id", &self.private_key_id)
            .field("private_key", &"***")
            .field("token_uri", &self.token_uri)
            .field("project_id", &self.project_id)
            .finish()
    }
}

/// The user credentials `gcloud auth application-default login` writes.
#[derive(Debug, Clone)]
pub struct AuthorizedUser {
    client_id: String,
    client_secret: Secret,
    refresh_token: Secret,
    quota_project_id: Option<String>,
    token_uri: String,
}

impl AuthorizedUser {
    /// Reads an `"type": "authorized_user"` file.
    pub fn parse(json: &[u8]) -> Result<AuthorizedUser, AuthError> {
        let file = Fields::parse(json, AUTHORIZED_USER_FILE)?;
        file.expect_type("authorized_user")?;
        let token_uri = match file.optional("token_uri")? {
            Some(uri) => checked_token_uri(uri, AUTHORIZED_USER_FILE)?,
            None => GOOGLE_TOKEN_URI.to_owned(),
        };
        Ok(AuthorizedUser {
            client_id: file.required("client_id")?.to_owned(),
            client_secret: Secret::new(file.required("client_secret")?.to_owned()),
            refresh_token: Secret::new(file.required("refresh_token")?.to_owned()),
            quota_project_id: file.optional("quota_project_id")?.map(str::to_owned),
            token_uri,
        })
    }

    /// The project billed for quota (`gcloud auth application-default set-quota-project`).
    pub fn quota_project_id(&self) -> Option<&str> {
        self.quota_project_id.as_deref()
    }
}

/// Credentials bgw can trade for an access token.
#[derive(Debug, Clone)]
pub enum Credentials {
    /// A service-account key file.
    ServiceAccount(ServiceAccountKey),
    /// A `gcloud auth application-default login` file.
    AuthorizedUser(AuthorizedUser),
}

impl Credentials {
    /// The project named by the credentials themselves (a service-account key's).
    pub fn project_id(&self) -> Option<&str> {
        match self {
            Credentials::ServiceAccount(key) => key.project_id(),
            Credentials::AuthorizedUser(_) => None,
        }
    }

    /// The project to bill for quota (`x-goog-user-project`), when the file names one.
    pub fn quota_project_id(&self) -> Option<&str> {
        match self {
            Credentials::ServiceAccount(_) => None,
            Credentials::AuthorizedUser(user) => user.quota_project_id(),
        }
    }

    /// Whose credentials these are, for error messages.
    fn describe(&self) -> String {
        match self {
            Credentials::ServiceAccount(key) => format!("service account `{}`", key.client_email),
            Credentials::AuthorizedUser(_) => {
                "the gcloud user credentials (`gcloud auth application-default login`)".to_owned()
            }
        }
    }
}

/// Reads a credentials file of either kind, by its `type`.
pub fn load(json: &[u8]) -> Result<Credentials, AuthError> {
    let kind = Fields::parse(json, FileKind::ANY)?
        .optional("type")?
        .map(str::to_owned);
    match kind.as_deref() {
        Some("service_account") => ServiceAccountKey::parse(json).map(Credentials::ServiceAccount),
        Some("authorized_user") => AuthorizedUser::parse(json).map(Credentials::AuthorizedUser),
        Some(other) if UNSUPPORTED_TYPES.contains(&other) => Err(AuthError::Credentials(format!(
            "bgw cannot use `{other}` credentials yet; {}",
            FileKind::ANY.fix
        ))),
        Some(other) => Err(AuthError::Credentials(format!(
            "the credentials file has an unknown `type` {:?}; {}",
            shorten(other),
            FileKind::ANY.fix
        ))),
        None => Err(AuthError::Credentials(format!(
            "the credentials file has no `type` (\"service_account\" or \"authorized_user\"); {}",
            FileKind::ANY.fix
        ))),
    }
}

/// ADC file types bgw does not speak: workload/workforce identity federation, impersonation.
const UNSUPPORTED_TYPES: [&str; 3] = [
    "external_account",
    "external_account_authorized_user",
    "impersonated_service_account",
];

/// The credentials file ADC would read, without the metadata server: the file named by
/// `GOOGLE_APPLICATION_CREDENTIALS` (returned even if missing, so the caller can say the variable
/// is wrong), else `application_default_credentials.json` in gcloud's configuration directory
/// (`$CLOUDSDK_CONFIG` when set, as gcloud writes it there, else `~/.config/gcloud`) if present.
pub fn find_adc(env: &impl Fn(&str) -> Option<String>, home: Option<&Path>) -> Option<PathBuf> {
    let set = |name: &str| env(name).filter(|v| !v.is_empty());
    if let Some(path) = set("GOOGLE_APPLICATION_CREDENTIALS") {
        return Some(PathBuf::from(path));
    }
    let config_dir = match set("CLOUDSDK_CONFIG") {
        Some(dir) => PathBuf::from(dir),
        None if cfg!(windows) => PathBuf::from(set("APPDATA")?).join("gcloud"),
        None => home?.join(".config").join("gcloud"),
    };
    let file = config_dir.join("application_default_credentials.json");
    file.is_file().then_some(file)
}

/// Where a [`TokenSource`] reads the time: the system's, or a test's.
pub trait Clock: Send + Sync {
    /// Monotonic time, for expiry.
    fn now(&self) -> Instant;
    /// Seconds since the Unix epoch, for the JWT's `iat`.
    fn unix_seconds(&self) -> u64;
}

/// The system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn unix_seconds(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    }
}

/// Access tokens for one set of credentials: cached, renewed by one request at a time.
#[derive(Clone)]
pub struct TokenSource {
    inner: Arc<Inner>,
}

struct Inner {
    credentials: Credentials,
    client: UpstreamClient,
    clock: Arc<dyn Clock>,
    rng: SystemRandom,
    timeout: Duration,
    cached: ArcSwapOption<Cached>,
    failure: ArcSwapOption<Failure>,
    /// Held by the one caller renewing the token (never on the path of a fresh token).
    renewing: tokio::sync::Mutex<()>,
}

struct Cached {
    token: Secret,
    expires_at: Instant,
    renew_at: Instant,
}

struct Failure {
    at: Instant,
    error: AuthError,
}

impl TokenSource {
    /// A token source on the system clock.
    pub fn new(credentials: Credentials, client: UpstreamClient) -> TokenSource {
        TokenSource::with_clock(credentials, client, Arc::new(SystemClock))
    }

    /// A token source reading the time from `clock`.
    pub fn with_clock(
        credentials: Credentials,
        client: UpstreamClient,
        clock: Arc<dyn Clock>,
    ) -> TokenSource {
        TokenSource::build(credentials, client, clock, TOKEN_TIMEOUT)
    }

    fn build(
        credentials: Credentials,
        client: UpstreamClient,
        clock: Arc<dyn Clock>,
        timeout: Duration,
    ) -> TokenSource {
        TokenSource {
            inner: Arc::new(Inner {
                credentials,
                client,
                clock,
                rng: SystemRandom::new(),
                timeout,
                cached: ArcSwapOption::empty(),
                failure: ArcSwapOption::empty(),
                renewing: tokio::sync::Mutex::new(()),
            }),
        }
    }

    /// The credentials tokens are made from.
    pub fn credentials(&self) -> &Credentials {
        &self.inner.credentials
    }

    /// An access token with at least five minutes to live, fetched only when the cached one
    /// is older; while one caller renews it, the others wait for that one request (or, if the
    /// old token has not expired yet, keep using it).
    pub async fn token(&self) -> Result<Secret, AuthError> {
        let inner = &*self.inner;
        let now = inner.clock.now();
        if let Some(token) = inner.fresh(now) {
            return Ok(token);
        }
        let _renewing = match inner.renewing.try_lock() {
            Ok(guard) => guard,
            Err(_) => {
                if let Some(token) = inner.unexpired(now) {
                    return Ok(token);
                }
                inner.renewing.lock().await
            }
        };
        let now = inner.clock.now();
        // The renewal this caller waited for may have succeeded, or failed a moment ago.
        if let Some(token) = inner.fresh(now) {
            return Ok(token);
        }
        if let Some(error) = inner.recent_failure(now) {
            return inner.unexpired(now).ok_or(error);
        }
        match inner.fetch(now).await {
            Ok(cached) => {
                let token = cached.token.clone();
                inner.cached.store(Some(Arc::new(cached)));
                inner.failure.store(None);
                Ok(token)
            }
            Err(error) => {
                let now = inner.clock.now();
                inner.failure.store(Some(Arc::new(Failure {
                    at: now,
                    error: error.clone(),
                })));
                inner.unexpired(now).ok_or(error)
            }
        }
    }
}

impl fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSource")
            .field("credentials", &self.inner.credentials)
            .finish_non_exhaustive()
    }
}

impl Inner {
    /// The cached token, if it need not be renewed yet.
    fn fresh(&self, now: Instant) -> Option<Secret> {
        self.cached
            .load()
            .as_ref()
            .filter(|c| now < c.renew_at)
            .map(|c| c.token.clone())
    }

    /// The cached token, if it has not expired.
    fn unexpired(&self, now: Instant) -> Option<Secret> {
        self.cached
            .load()
            .as_ref()
            .filter(|c| now < c.expires_at)
            .map(|c| c.token.clone())
    }

    fn recent_failure(&self, now: Instant) -> Option<AuthError> {
        self.failure
            .load()
            .as_ref()
            .filter(|f| now.saturating_duration_since(f.at) < RETRY_AFTER)
            .map(|f| f.error.clone())
    }

    /// Asks the token endpoint for a new token; `started` dates its lifetime.
    async fn fetch(&self, started: Instant) -> Result<Cached, AuthError> {
        let (uri, form) = match &self.credentials {
            Credentials::ServiceAccount(key) => {
                let assertion = key.assertion(self.clock.unix_seconds(), &self.rng)?;
                let form =
                    form_encode(&[("grant_type", JWT_BEARER_GRANT), ("assertion", &assertion)]);
                (key.token_uri.as_str(), form)
            }
            Credentials::AuthorizedUser(user) => {
                let form = form_encode(&[
                    ("grant_type", "refresh_token"),
                    ("client_id", &user.client_id),
                    ("client_secret", user.client_secret.expose()),
                    ("refresh_token", user.refresh_token.expose()),
                ]);
                (user.token_uri.as_str(), form)
            }
        };
        let (status, body) = match tokio::time::timeout(
            self.timeout,
            post_form(&self.client, uri, form),
        )
        .await
        {
            Ok(answer) => answer?,
            Err(_) => {
                return Err(AuthError::Unavailable(format!(
                    "Google's token endpoint ({uri}) did not answer within {:?}; check the network (or proxy) between bgw and Google",
                    self.timeout
                )));
            }
        };
        let (token, expires_in) = read_token_answer(status, &body, &self.credentials)?;
        let lifetime = Duration::from_secs(expires_in);
        // A token granted for less than twice the margin is renewed halfway, not at once.
        let margin = REFRESH_MARGIN.min(lifetime / 2);
        Ok(Cached {
            token,
            expires_at: started + lifetime,
            renew_at: started + (lifetime - margin),
        })
    }
}

/// POSTs a form; the answer's status and body.
async fn post_form(
    client: &UpstreamClient,
    uri: &str,
    form: String,
) -> Result<(u16, Bytes), AuthError> {
    let request = http::Request::post(uri)
        .header(
            http::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .header(http::header::ACCEPT, "application/json")
        .body(Full::new(Bytes::from(form)))
        .map_err(|e| AuthError::Credentials(format!("`token_uri` {uri} is not a URL: {e}")))?;
    let response = client.request(request).await.map_err(|e| {
        AuthError::Unavailable(format!(
            "cannot reach Google's token endpoint ({uri}): {}; check the network (or proxy) between bgw and Google",
            innermost_cause(&e)
        ))
    })?;
    let status = response.status().as_u16();
    let body = Limited::new(response.into_body(), MAX_TOKEN_ANSWER)
        .collect()
        .await
        .map_err(|e| {
            AuthError::Unavailable(format!(
                "the answer of Google's token endpoint ({uri}) could not be read: {e}"
            ))
        })?
        .to_bytes();
    Ok((status, body))
}

/// The innermost cause ("Connection refused (os error 111)"), which says the most.
fn innermost_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = e;
    while let Some(source) = cause.source() {
        cause = source;
    }
    cause.to_string()
}

/// A token answer's access token and lifetime in seconds, or what Google said instead.
fn read_token_answer(
    status: u16,
    body: &[u8],
    credentials: &Credentials,
) -> Result<(Secret, u64), AuthError> {
    #[derive(Deserialize)]
    struct Granted {
        access_token: String,
        expires_in: Option<u64>,
        token_type: Option<String>,
    }
    #[derive(Deserialize)]
    struct Refused {
        error: String,
        error_description: Option<String>,
    }
    if (200..300).contains(&status) {
        // The body holds a token: say what is wrong with it, never show it.
        let granted: Granted = serde_json::from_slice(body).map_err(|e| {
            AuthError::Unavailable(format!(
                "Google's token endpoint answered {status} with no usable token ({e})"
            ))
        })?;
        if granted.access_token.is_empty() {
            return Err(AuthError::Unavailable(format!(
                "Google's token endpoint answered {status} with an empty access token"
            )));
        }
        if let Some(kind) = granted
            .token_type
            .filter(|t| !t.eq_ignore_ascii_case("bearer"))
        {
            return Err(AuthError::Unavailable(format!(
                "Google's token endpoint answered a {:?} token, not a Bearer token",
                shorten(&kind)
            )));
        }
        // Google always says; its tokens last an hour.
        let expires_in = granted.expires_in.unwrap_or(3600);
        return Ok((Secret::new(granted.access_token), expires_in));
    }
    match serde_json::from_slice::<Refused>(body) {
        Ok(refused) => {
            let said = match &refused.error_description {
                Some(d) if !d.is_empty() => format!("{}: {d}", refused.error),
                _ => refused.error.clone(),
            };
            let advice = advice(
                credentials,
                &refused.error,
                refused.error_description.as_deref().unwrap_or(""),
            );
            Err(AuthError::Rejected {
                status,
                message: format!(
                    "Google refused an access token for {} ({status} {said}); {advice}",
                    credentials.describe()
                ),
                error: refused.error,
            })
        }
        Err(_) => Err(AuthError::Unavailable(format!(
            "Google's token endpoint answered {status}: {}{}",
            body_excerpt(body),
            if status >= 500 {
                "; try again later"
            } else {
                ""
            }
        ))),
    }
}

/// What to do about an OAuth error code from Google's token endpoint.
fn advice(credentials: &Credentials, error: &str, description: &str) -> &'static str {
    let service_account = matches!(credentials, Credentials::ServiceAccount(_));
    match error {
        "invalid_grant" if service_account => {
            // Google: "Invalid JWT: Token must be a short-lived token (60 minutes) and in a
            // reasonable timeframe. Check your iat and exp values in the JWT claim."
            if description.contains("timeframe") {
                "this machine's clock is off: set it right (enable NTP), then try again"
            } else if description.contains("Signature") {
                "the key was deleted or disabled: check it in the Cloud console (IAM & Admin → Service accounts → Keys) or create a new one"
            } else {
                "the key was deleted or disabled, the service account was deleted, or this machine's clock is off: check the key in the Cloud console (IAM & Admin → Service accounts → Keys) and the clock"
            }
        }
        "invalid_grant" => {
            "the refresh token expired or was revoked (a password change, a session limit, or `gcloud auth application-default revoke`): run `gcloud auth application-default login` again"
        }
        "invalid_client" | "unauthorized_client" | "disabled_client" if service_account => {
            "the service account is disabled or deleted: check it in the Cloud console (IAM & Admin → Service accounts)"
        }
        "invalid_client" | "unauthorized_client" | "disabled_client" => {
            "the OAuth client in the file is not accepted: run `gcloud auth application-default login` again"
        }
        "invalid_scope" => {
            "the cloud-platform scope was refused: check the organization's policies for these credentials"
        }
        _ => "check the credentials file, or create new credentials",
    }
}

/// `application/x-www-form-urlencoded`: everything but RFC 3986's unreserved characters as `%XX`.
fn form_encode(pairs: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(pairs.iter().map(|(k, v)| k.len() + v.len() + 2).sum());
    for (i, (name, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        percent_encode(name, &mut out);
        out.push('=');
        percent_encode(value, &mut out);
    }
    out
}

fn percent_encode(s: &str, out: &mut String) {
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
}

/// Which credentials file is being read, for its error messages.
#[derive(Clone, Copy)]
struct FileKind {
    what: &'static str,
    fix: &'static str,
}

impl FileKind {
    const ANY: FileKind = FileKind {
        what: "credentials",
        fix: "point GOOGLE_APPLICATION_CREDENTIALS at a service-account key file, or run `gcloud auth application-default login`",
    };
}

/// A credentials file's top-level fields; errors name the field, never show a value.
struct Fields {
    map: Map<String, Value>,
    kind: FileKind,
}

impl Fields {
    fn parse(json: &[u8], kind: FileKind) -> Result<Fields, AuthError> {
        match serde_json::from_slice::<Value>(json) {
            Ok(Value::Object(map)) => Ok(Fields { map, kind }),
            // serde_json's syntax errors give a line and column, not the text.
            Ok(_) => Err(AuthError::Credentials(format!(
                "the {} file is not a JSON object; {}",
                kind.what, kind.fix
            ))),
            Err(e) => Err(AuthError::Credentials(format!(
                "the {} file is not valid JSON ({e}); {}",
                kind.what, kind.fix
            ))),
        }
    }

    fn optional(&self, name: &str) -> Result<Option<&str>, AuthError> {
        match self.map.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(AuthError::Credentials(format!(
                "`{name}` in the {} file is not a string; {}",
                self.kind.what, self.kind.fix
            ))),
        }
    }

    fn required(&self, name: &str) -> Result<&str, AuthError> {
        match self.optional(name)? {
            Some(s) if !s.trim().is_empty() => Ok(s),
            _ => Err(AuthError::Credentials(format!(
                "the {} file has no `{name}`; {}",
                self.kind.what, self.kind.fix
            ))),
        }
    }

    fn expect_type(&self, want: &str) -> Result<(), AuthError> {
        match self.optional("type")? {
            Some(t) if t == want => Ok(()),
            Some(t) => Err(AuthError::Credentials(format!(
                "the {} file has `type` {:?}, not {want:?}; {}",
                self.kind.what,
                shorten(t),
                self.kind.fix
            ))),
            None => Err(AuthError::Credentials(format!(
                "the {} file has no `type` (expected {want:?}); {}",
                self.kind.what, self.kind.fix
            ))),
        }
    }
}

/// A PKCS#8 PEM RSA key, as Google's key files hold it, accepted by ring.
fn private_key(pem: &str) -> Result<RsaKeyPair, AuthError> {
    const BEGIN: &str = "-----BEGIN PRIVATE KEY-----";
    const END: &str = "-----END PRIVATE KEY-----";
    let refuse = |why: &str| {
        AuthError::Credentials(format!(
            "`private_key` in the service-account key file {why}; {}",
            SERVICE_ACCOUNT_FILE.fix
        ))
    };
    if pem.contains("-----BEGIN RSA PRIVATE KEY-----") {
        return Err(AuthError::Credentials(format!(
            "`private_key` in the service-account key file is a PKCS#1 key (`BEGIN RSA PRIVATE KEY`) but Google's key files hold PKCS#8 (`BEGIN PRIVATE KEY`): convert it with `openssl pkcs8 -topk8 -nocrypt`, or {}",
            SERVICE_ACCOUNT_FILE.fix
        )));
    }
    if pem.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") {
        return Err(refuse("is encrypted, and bgw has no passphrase for it"));
    }
    let body = pem
        .split_once(BEGIN)
        .and_then(|(_, rest)| rest.split_once(END))
        .map(|(body, _)| body)
        .ok_or_else(|| refuse("is not a PEM private key (`-----BEGIN PRIVATE KEY-----`)"))?;
    // Keys pasted through an environment variable sometimes keep `\n` as two characters.
    let base64: String = body
        .replace("\\n", "")
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    let der = STANDARD
        .decode(base64)
        .map_err(|_| refuse("is not valid base64 between its PEM lines"))?;
    RsaKeyPair::from_pkcs8(&der).map_err(|e| {
        refuse(&format!(
            "is not an RSA key bgw can sign with (ring: {e}; it takes 2048–4096-bit RSA keys in PKCS#8)"
        ))
    })
}

/// `token_uri`, if it is https (or http to this machine, for tests and local proxies): the
/// request carries a signed grant or a refresh token.
fn checked_token_uri(uri: &str, kind: FileKind) -> Result<String, AuthError> {
    let parsed: http::Uri = uri.parse().map_err(|_| {
        AuthError::Credentials(format!(
            "`token_uri` in the {} file is not a URL; {}",
            kind.what, kind.fix
        ))
    })?;
    let loopback = matches!(parsed.host(), Some("127.0.0.1" | "localhost" | "[::1]"));
    match parsed.scheme_str() {
        Some("https") => Ok(uri.to_owned()),
        Some("http") if loopback => Ok(uri.to_owned()),
        _ => Err(AuthError::Credentials(format!(
            "`token_uri` in the {} file must be an https:// URL (it is {:?}); {}",
            kind.what,
            shorten(uri),
            kind.fix
        ))),
    }
}

/// At most 80 characters of a value from a file, for an error message.
fn shorten(s: &str) -> String {
    s.chars().take(80).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::signature::{RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    /// A 2048-bit RSA key made with `openssl genpkey` for these tests, in a fake key file of
    /// project `bgw-test`; it opens nothing at Google.
    const KEY_FILE: &[u8] = include_bytes!("../../../tests/fixtures/vertex/service_account.json");
    /// The same kind of file with a PKCS#1 (`BEGIN RSA PRIVATE KEY`) key.
    const PKCS1_KEY_FILE: &[u8] =
        include_bytes!("../../../tests/fixtures/vertex/service_account_pkcs1.json");
    const EMAIL: &str = "bgw-test@bgw-test.iam.gserviceaccount.com";
    const KEY_ID: &str = "0123456789abcdef0123456789abcdef01234567";

    /// The key file with `field` set to `value` (or removed, for `Value::Null`).
    fn key_file_with(field: &str, value: Value) -> Vec<u8> {
        let mut file: Value = serde_json::from_slice(KEY_FILE).unwrap();
        match value {
            Value::Null => file.as_object_mut().unwrap().remove(field),
            value => file.as_object_mut().unwrap().insert(field.into(), value),
        };
        serde_json::to_vec(&file).unwrap()
    }

    fn key_for(token_uri: &str) -> ServiceAccountKey {
        ServiceAccountKey::parse(&key_file_with("token_uri", token_uri.into())).unwrap()
    }

    fn b64url_json(part: &str) -> Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
    }

    /// Checks a JWT as Google does: the signature under the key's public half, then the claims.
    fn check_jwt(jwt: &str, public_key: &[u8], token_uri: &str) -> Result<Value, String> {
        let parts: Vec<&str> = jwt.split('.').collect();
        let [header, claims, signature] = parts[..] else {
            return Err("Invalid JWT: not three parts".into());
        };
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| "Invalid JWT: signature is not base64url".to_owned())?;
        UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, public_key)
            .verify(format!("{header}.{claims}").as_bytes(), &signature)
            .map_err(|_| "Invalid JWT Signature.".to_owned())?;
        let header = b64url_json(header);
        if header != serde_json::json!({"alg": "RS256", "typ": "JWT", "kid": KEY_ID}) {
            return Err(format!("unexpected header {header}"));
        }
        let claims = b64url_json(claims);
        let ok = claims["iss"] == EMAIL
            && claims["scope"] == CLOUD_PLATFORM_SCOPE
            && claims["aud"] == token_uri
            && claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap() == 3600;
        if ok {
            Ok(claims)
        } else {
            Err(format!("unexpected claims {claims}"))
        }
    }

    /// Time that moves only when a test says so.
    struct FakeClock {
        start: Instant,
        elapsed: Mutex<Duration>,
    }

    const UNIX_START: u64 = 1_750_000_000;

    impl FakeClock {
        fn new() -> Arc<FakeClock> {
            Arc::new(FakeClock {
                start: Instant::now(),
                elapsed: Mutex::new(Duration::ZERO),
            })
        }
        fn advance(&self, by: Duration) {
            *self.elapsed.lock().unwrap() += by;
        }
    }

    impl Clock for FakeClock {
        fn now(&self) -> Instant {
            self.start + *self.elapsed.lock().unwrap()
        }
        fn unix_seconds(&self) -> u64 {
            UNIX_START + self.elapsed.lock().unwrap().as_secs()
        }
    }

    type Form = Vec<(String, String)>;
    /// The mock's answer to the `n`th request (from 1): status and JSON body.
    type Respond = Arc<dyn Fn(usize, &Form) -> (u16, String) + Send + Sync>;

    /// A token endpoint on 127.0.0.1 that counts and records the forms POSTed to it.
    struct Mock {
        uri: String,
        hits: Arc<AtomicUsize>,
        forms: Arc<Mutex<Vec<Form>>>,
    }

    impl Mock {
        fn hits(&self) -> usize {
            self.hits.load(Ordering::SeqCst)
        }
        fn field(&self, request: usize, name: &str) -> Option<String> {
            let forms = self.forms.lock().unwrap();
            forms[request]
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
        }
    }

    fn form_decode(body: &str) -> Form {
        let decode = |s: &str| {
            let bytes = s.as_bytes();
            let mut out = Vec::new();
            let mut i = 0;
            while i < bytes.len() {
                match bytes[i] {
                    b'%' => {
                        out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
                        i += 3;
                    }
                    b'+' => {
                        out.push(b' ');
                        i += 1;
                    }
                    b => {
                        out.push(b);
                        i += 1;
                    }
                }
            }
            String::from_utf8(out).unwrap()
        };
        body.split('&')
            .map(|pair| {
                let (k, v) = pair.split_once('=').unwrap();
                (decode(k), decode(v))
            })
            .collect()
    }

    async fn mock(respond: Respond, delay: Duration) -> Mock {
        mock_at(|_| respond, delay).await
    }

    /// A mock whose answers depend on its own URL (`aud` must be it).
    async fn mock_at(respond: impl FnOnce(&str) -> Respond, delay: Duration) -> Mock {
        use hyper::server::conn::http1;
        use hyper_util::rt::TokioIo;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let uri = format!("http://{}/token", listener.local_addr().unwrap());
        let respond = respond(&uri);
        let hits = Arc::new(AtomicUsize::new(0));
        let forms = Arc::new(Mutex::new(Vec::new()));
        let (h, f) = (Arc::clone(&hits), Arc::clone(&forms));
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let (hits, forms, respond) = (Arc::clone(&h), Arc::clone(&f), Arc::clone(&respond));
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(
                        move |req: http::Request<hyper::body::Incoming>| {
                            let (hits, forms, respond) =
                                (Arc::clone(&hits), Arc::clone(&forms), Arc::clone(&respond));
                            async move {
                                assert_eq!(req.method(), http::Method::POST);
                                assert_eq!(
                                    req.headers()[http::header::CONTENT_TYPE],
                                    "application/x-www-form-urlencoded"
                                );
                                let body = req.into_body().collect().await.unwrap().to_bytes();
                                let form = form_decode(std::str::from_utf8(&body).unwrap());
                                let n = hits.fetch_add(1, Ordering::SeqCst) + 1;
                                forms.lock().unwrap().push(form.clone());
                                tokio::time::sleep(delay).await;
                                let (status, json) = respond(n, &form);
                                Ok::<_, std::convert::Infallible>(
                                    http::Response::builder()
                                        .status(status)
                                        .header("content-type", "application/json")
                                        .body(Full::new(Bytes::from(json)))
                                        .unwrap(),
                                )
                            }
                        },
                    );
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Mock { uri, hits, forms }
    }

    /// Google's answer to a good request, as documented:
    /// {"access_token":"…","expires_in":3599,"token_type":"Bearer"}; the token names the request.
    fn granted(n: usize) -> (u16, String) {
        let body = serde_json::json!({
            "access_token": format!("ya29.test-token-{n}"),
            "expires_in": 3599,
            "token_type": "Bearer",
        });
        (200, body.to_string())
    }

    /// Google's token endpoint for service accounts: grants a token to a valid JWT only.
    fn google_for(key: &ServiceAccountKey) -> Respond {
        let public_key = key.key.public().as_ref().to_vec();
        let token_uri = key.token_uri.clone();
        Arc::new(move |n, form: &Form| {
            let field = |name: &str| {
                form.iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.as_str())
            };
            if field("grant_type") != Some(JWT_BEARER_GRANT) {
                return (400, r#"{"error":"unsupported_grant_type"}"#.to_owned());
            }
            match check_jwt(field("assertion").unwrap_or(""), &public_key, &token_uri) {
                Ok(_) => granted(n),
                Err(why) => (
                    400,
                    serde_json::json!({"error": "invalid_grant", "error_description": why})
                        .to_string(),
                ),
            }
        })
    }

    fn client() -> UpstreamClient {
        crate::providers::client::client().unwrap()
    }

    /// A service-account token source against a mock Google, on a fake clock.
    async fn service_account_source(delay: Duration) -> (TokenSource, Mock, Arc<FakeClock>) {
        let google = mock_at(|uri| google_for(&key_for(uri)), delay).await;
        let key = key_for(&google.uri);
        let clock = FakeClock::new();
        let source = TokenSource::with_clock(
            Credentials::ServiceAccount(key),
            client(),
            Arc::clone(&clock) as Arc<dyn Clock>,
        );
        (source, google, clock)
    }

    #[test]
    fn a_key_file_from_the_console_is_read() {
        let key = ServiceAccountKey::parse(KEY_FILE).unwrap();
        assert_eq!(key.client_email(), EMAIL);
        assert_eq!(key.private_key_id.as_deref(), Some(KEY_ID));
        assert_eq!(key.project_id(), Some("bgw-test"));
        assert_eq!(key.token_uri(), GOOGLE_TOKEN_URI);
        assert_eq!(key.key.public().modulus_len(), 256, "a 2048-bit key");
    }

    #[test]
    fn the_jwt_has_googles_header_and_claims_and_an_rs256_signature() {
        // https://developers.google.com/identity/protocols/oauth2/service-account#httprest
        let key = ServiceAccountKey::parse(KEY_FILE).unwrap();
        let jwt = key.assertion(UNIX_START, &SystemRandom::new()).unwrap();
        let public_key = key.key.public().as_ref();
        let claims = check_jwt(&jwt, public_key, GOOGLE_TOKEN_URI).unwrap();
        assert_eq!(
            claims,
            serde_json::json!({
                "iss": EMAIL,
                "scope": "https://www.googleapis.com/auth/cloud-platform",
                "aud": "https://oauth2.googleapis.com/token",
                "iat": UNIX_START,
                "exp": UNIX_START + 3600,
            })
        );
        assert!(!jwt.contains('='), "base64url without padding");
        // The check is real: a JWT whose claims were changed after signing fails it.
        let mut parts: Vec<String> = jwt.split('.').map(str::to_owned).collect();
        let forged = serde_json::json!({"iss": "someone-else@example.com", "scope": CLOUD_PLATFORM_SCOPE,
            "aud": GOOGLE_TOKEN_URI, "iat": UNIX_START, "exp": UNIX_START + 3600});
        parts[1] = URL_SAFE_NO_PAD.encode(forged.to_string());
        assert_eq!(
            check_jwt(&parts.join("."), public_key, GOOGLE_TOKEN_URI),
            Err("Invalid JWT Signature.".to_owned())
        );
    }

    #[test]
    fn the_grant_type_is_form_encoded_as_in_googles_example() {
        // https://developers.google.com/identity/protocols/oauth2/service-account#makingrequest
        assert_eq!(
            form_encode(&[("grant_type", JWT_BEARER_GRANT), ("assertion", "a.b-c_d")]),
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=a.b-c_d"
        );
        assert_eq!(form_encode(&[("t", "1//0g a+b")]), "t=1%2F%2F0g%20a%2Bb");
    }

    #[tokio::test]
    async fn the_first_call_fetches_and_the_next_is_served_from_the_cache() {
        let (source, google, clock) = service_account_source(Duration::ZERO).await;
        assert_eq!(source.token().await.unwrap().expose(), "ya29.test-token-1");
        assert_eq!(google.hits(), 1);
        assert_eq!(
            google.field(0, "grant_type").as_deref(),
            Some(JWT_BEARER_GRANT)
        );
        clock.advance(Duration::from_secs(1800));
        assert_eq!(source.token().await.unwrap().expose(), "ya29.test-token-1");
        assert_eq!(google.hits(), 1, "a fresh token needs no request");
    }

    #[tokio::test]
    async fn the_token_is_renewed_once_less_than_five_minutes_remain() {
        let (source, google, clock) = service_account_source(Duration::ZERO).await;
        source.token().await.unwrap();
        // The token lives 3599 s: renewed from 3299 s on.
        clock.advance(Duration::from_secs(3298));
        assert_eq!(source.token().await.unwrap().expose(), "ya29.test-token-1");
        assert_eq!(google.hits(), 1);
        clock.advance(Duration::from_secs(2));
        assert_eq!(source.token().await.unwrap().expose(), "ya29.test-token-2");
        assert_eq!(google.hits(), 2);
        // The new JWT is dated by the clock.
        let jwt = google.field(1, "assertion").unwrap();
        let claims = b64url_json(jwt.split('.').nth(1).unwrap());
        assert_eq!(claims["iat"], UNIX_START + 3300);
        assert_eq!(source.token().await.unwrap().expose(), "ya29.test-token-2");
        assert_eq!(google.hits(), 2);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn ten_concurrent_callers_share_one_request() {
        let (source, google, _clock) = service_account_source(Duration::from_millis(200)).await;
        let mut callers = tokio::task::JoinSet::new();
        for _ in 0..10 {
            let source = source.clone();
            callers.spawn(async move { source.token().await });
        }
        let tokens: Vec<String> = callers
            .join_all()
            .await
            .into_iter()
            .map(|t| t.unwrap().expose().to_owned())
            .collect();
        assert_eq!(tokens, vec!["ya29.test-token-1"; 10]);
        assert_eq!(google.hits(), 1);
    }

    #[tokio::test]
    async fn invalid_grant_says_what_google_said_and_what_to_do() {
        let refuse: Respond = Arc::new(|_, _: &Form| {
            (
                400,
                r#"{"error":"invalid_grant","error_description":"Invalid JWT Signature."}"#
                    .to_owned(),
            )
        });
        let google = mock(refuse, Duration::ZERO).await;
        let source = TokenSource::new(Credentials::ServiceAccount(key_for(&google.uri)), client());
        let error = source.token().await.unwrap_err();
        let AuthError::Rejected {
            status,
            error: code,
            message,
        } = &error
        else {
            panic!("{error:?}");
        };
        assert_eq!((*status, code.as_str()), (400, "invalid_grant"));
        assert!(message.contains(EMAIL), "{message}");
        assert!(message.contains("Invalid JWT Signature."), "{message}");
        assert!(message.contains("deleted or disabled"), "{message}");

        // Google's wording for a JWT dated outside its window points at the clock.
        let skewed = serde_json::json!({"error": "invalid_grant", "error_description":
            "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim."});
        let credentials = Credentials::ServiceAccount(key_for(&google.uri));
        let error =
            read_token_answer(400, skewed.to_string().as_bytes(), &credentials).unwrap_err();
        assert!(error.to_string().contains("clock is off"), "{error}");
    }

    #[tokio::test]
    async fn a_failed_renewal_keeps_the_unexpired_token_and_is_not_retried_at_once() {
        let failing = Arc::new(AtomicBool::new(false));
        let f = Arc::clone(&failing);
        let respond: Respond = Arc::new(move |n, _: &Form| {
            if f.load(Ordering::SeqCst) {
                (503, "<html>unavailable</html>".to_owned())
            } else {
                granted(n)
            }
        });
        let google = mock(respond, Duration::ZERO).await;
        let clock = FakeClock::new();
        let source = TokenSource::with_clock(
            Credentials::ServiceAccount(key_for(&google.uri)),
            client(),
            Arc::clone(&clock) as Arc<dyn Clock>,
        );
        assert_eq!(source.token().await.unwrap().expose(), "ya29.test-token-1");
        failing.store(true, Ordering::SeqCst);
        clock.advance(Duration::from_secs(3400));
        assert_eq!(source.token().await.unwrap().expose(), "ya29.test-token-1");
        assert_eq!(google.hits(), 2, "the renewal was tried");
        assert_eq!(source.token().await.unwrap().expose(), "ya29.test-token-1");
        assert_eq!(google.hits(), 2, "not again within a few seconds");
        clock.advance(Duration::from_secs(300));
        let error = source.token().await.unwrap_err();
        assert_eq!(google.hits(), 3);
        assert!(
            matches!(&error, AuthError::Unavailable(m) if m.contains("503") && m.contains("try again later")),
            "{error:?}"
        );
        failing.store(false, Ordering::SeqCst);
        clock.advance(RETRY_AFTER);
        assert_eq!(source.token().await.unwrap().expose(), "ya29.test-token-4");
    }

    #[tokio::test]
    async fn gcloud_user_credentials_use_the_refresh_token_grant() {
        // https://developers.google.com/identity/protocols/oauth2/web-server#offline
        let google = mock(Arc::new(|n, _: &Form| granted(n)), Duration::ZERO).await;
        let file = serde_json::json!({
            "account": "",
            "client_id": "764086051850-test.apps.googleusercontent.com",
            "client_secret": "d-FL95Q19q7MQmFpd7hHD0Ty",
            "quota_project_id": "bgw-test",
            "refresh_token": "1//0gTEST-refresh/token",
            "type": "authorized_user",
            "universe_domain": "googleapis.com",
            "token_uri": google.uri,
        });
        let credentials = load(file.to_string().as_bytes()).unwrap();
        assert_eq!(credentials.quota_project_id(), Some("bgw-test"));
        assert_eq!(credentials.project_id(), None);
        let source = TokenSource::new(credentials, client());
        assert_eq!(source.token().await.unwrap().expose(), "ya29.test-token-1");
        let sent: Vec<(String, String)> = google.forms.lock().unwrap()[0].clone();
        let expected: Vec<(String, String)> = [
            ("grant_type", "refresh_token"),
            ("client_id", "764086051850-test.apps.googleusercontent.com"),
            ("client_secret", "d-FL95Q19q7MQmFpd7hHD0Ty"),
            ("refresh_token", "1//0gTEST-refresh/token"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(sent, expected);
    }

    #[test]
    fn gcloud_user_credentials_go_to_google_unless_the_file_says_otherwise() {
        let file = br#"{"type":"authorized_user","client_id":"c","client_secret":"s","refresh_token":"r"}"#;
        let user = AuthorizedUser::parse(file).unwrap();
        assert_eq!(user.token_uri, "https://oauth2.googleapis.com/token");
        assert_eq!(user.quota_project_id(), None);
        let missing = br#"{"type":"authorized_user","client_id":"c","client_secret":"s"}"#;
        let error = AuthorizedUser::parse(missing).unwrap_err().to_string();
        assert!(error.contains("`refresh_token`"), "{error}");
        assert!(
            error.contains("gcloud auth application-default login"),
            "{error}"
        );
    }

    #[test]
    fn an_expired_refresh_token_says_to_log_in_again() {
        let file = br#"{"type":"authorized_user","client_id":"c","client_secret":"s","refresh_token":"r"}"#;
        let credentials = load(file).unwrap();
        let body = br#"{"error":"invalid_grant","error_description":"Token has been expired or revoked."}"#;
        let error = read_token_answer(400, body, &credentials)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("Token has been expired or revoked."),
            "{error}"
        );
        assert!(
            error.contains("run `gcloud auth application-default login` again"),
            "{error}"
        );
    }

    #[tokio::test]
    async fn a_silent_token_endpoint_times_out_with_a_clear_error() {
        let google = mock(Arc::new(|n, _: &Form| granted(n)), Duration::from_secs(10)).await;
        let source = TokenSource::build(
            Credentials::ServiceAccount(key_for(&google.uri)),
            client(),
            Arc::new(SystemClock),
            Duration::from_millis(200),
        );
        let error = source.token().await.unwrap_err();
        assert!(
            matches!(&error, AuthError::Unavailable(m) if m.contains("did not answer within 200ms")),
            "{error:?}"
        );
    }

    #[tokio::test]
    async fn an_unreachable_token_endpoint_says_so() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let uri = format!("http://{}/token", listener.local_addr().unwrap());
        drop(listener);
        let source = TokenSource::new(Credentials::ServiceAccount(key_for(&uri)), client());
        let error = source.token().await.unwrap_err();
        assert!(
            matches!(&error, AuthError::Unavailable(m) if m.starts_with("cannot reach Google's token endpoint")),
            "{error:?}"
        );
    }

    #[test]
    fn a_success_answer_without_a_bearer_token_is_refused_without_showing_it() {
        let credentials = load(KEY_FILE).unwrap();
        let odd = br#"{"access_token":"ya29.secret-value","expires_in":3599,"token_type":"MAC"}"#;
        let error = read_token_answer(200, odd, &credentials)
            .unwrap_err()
            .to_string();
        assert!(error.contains("not a Bearer token"), "{error}");
        assert!(!error.contains("secret-value"), "{error}");
        let bad = br#"{"access_token":"ya29.secret-value","expires_in":"soon"}"#;
        let error = read_token_answer(200, bad, &credentials)
            .unwrap_err()
            .to_string();
        assert!(!error.contains("secret-value"), "{error}");
    }

    #[test]
    fn adc_looks_at_the_variable_then_gclouds_config_directory() {
        // https://cloud.google.com/docs/authentication/application-default-credentials#search_order
        let home = tempfile::tempdir().unwrap();
        let sdk_config = tempfile::tempdir().unwrap();
        let env_of = |vars: &'static [(&'static str, &'static str)], sdk: Option<PathBuf>| {
            move |name: &str| {
                if name == "CLOUDSDK_CONFIG" {
                    if let Some(dir) = &sdk {
                        return Some(dir.display().to_string());
                    }
                }
                vars.iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        let well_known = home
            .path()
            .join(".config/gcloud/application_default_credentials.json");
        let in_sdk_config = sdk_config
            .path()
            .join("application_default_credentials.json");

        // Nothing yet.
        assert_eq!(find_adc(&env_of(&[], None), Some(home.path())), None);
        assert_eq!(find_adc(&env_of(&[], None), None), None);

        std::fs::create_dir_all(well_known.parent().unwrap()).unwrap();
        std::fs::write(&well_known, "{}").unwrap();
        assert_eq!(
            find_adc(&env_of(&[], None), Some(home.path())),
            Some(well_known.clone())
        );
        // An empty variable counts as unset.
        let empty = env_of(&[("GOOGLE_APPLICATION_CREDENTIALS", "")], None);
        assert_eq!(
            find_adc(&empty, Some(home.path())),
            Some(well_known.clone())
        );

        // CLOUDSDK_CONFIG moves gcloud's directory: ~/.config/gcloud is then not gcloud's.
        let sdk = Some(sdk_config.path().to_owned());
        assert_eq!(find_adc(&env_of(&[], sdk.clone()), Some(home.path())), None);
        std::fs::write(&in_sdk_config, "{}").unwrap();
        assert_eq!(
            find_adc(&env_of(&[], sdk.clone()), Some(home.path())),
            Some(in_sdk_config.clone())
        );

        // GOOGLE_APPLICATION_CREDENTIALS wins, even naming a file that is not there.
        let explicit = env_of(
            &[("GOOGLE_APPLICATION_CREDENTIALS", "/nowhere/key.json")],
            sdk,
        );
        assert_eq!(
            find_adc(&explicit, Some(home.path())),
            Some(PathBuf::from("/nowhere/key.json"))
        );
    }

    #[test]
    fn load_tells_the_kinds_apart_and_names_what_it_cannot_use() {
        assert!(matches!(load(KEY_FILE), Ok(Credentials::ServiceAccount(_))));
        assert_eq!(load(KEY_FILE).unwrap().project_id(), Some("bgw-test"));
        let external = br#"{"type":"external_account","audience":"//iam.googleapis.com/x"}"#;
        let error = load(external).unwrap_err().to_string();
        assert!(error.contains("`external_account`"), "{error}");
        let error = load(br#"{"client_email":"x"}"#).unwrap_err().to_string();
        assert!(error.contains("no `type`"), "{error}");
        let error = load(b"not json").unwrap_err().to_string();
        assert!(error.contains("not valid JSON"), "{error}");
        let error = load(b"[1]").unwrap_err().to_string();
        assert!(error.contains("not a JSON object"), "{error}");
        let error = ServiceAccountKey::parse(br#"{"type":"authorized_user"}"#)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains(r#"`type` "authorized_user", not "service_account""#),
            "{error}"
        );
    }

    #[test]
    fn a_pkcs1_key_is_refused_with_how_to_convert_it() {
        let error = ServiceAccountKey::parse(PKCS1_KEY_FILE)
            .unwrap_err()
            .to_string();
        assert!(error.contains("PKCS#1"), "{error}");
        assert!(error.contains("openssl pkcs8 -topk8 -nocrypt"), "{error}");
        assert!(
            error.contains("-nocrypt`, or download a new JSON key"),
            "{error}"
        );
        assert!(!error.contains("MII"), "no key material: {error}");
    }

    #[test]
    fn missing_or_mistyped_fields_are_named_and_no_key_material_is_shown() {
        for field in ["client_email", "private_key", "token_uri"] {
            let error = ServiceAccountKey::parse(&key_file_with(field, Value::Null))
                .unwrap_err()
                .to_string();
            assert!(error.contains(&format!("no `{field}`")), "{error}");
            assert!(error.contains("download a new JSON key"), "{error}");
        }
        let error = ServiceAccountKey::parse(&key_file_with("client_email", 5.into()))
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("`client_email` in the service-account key file is not a string"),
            "{error}"
        );
        // A key ring cannot read: base64 that is no RSA key.
        let garbage = "-----BEGIN PRIVATE KEY-----\nMIIBVQIBADANBgkqhkiG9w0BAQEFAASCAT8wggE7\n-----END PRIVATE KEY-----\n";
        let error = ServiceAccountKey::parse(&key_file_with("private_key", garbage.into()))
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("not an RSA key bgw can sign with"),
            "{error}"
        );
        assert!(!error.contains("MII"), "{error}");
        let error = ServiceAccountKey::parse(&key_file_with("private_key", "hunter2".into()))
            .unwrap_err()
            .to_string();
        assert!(error.contains("not a PEM private key"), "{error}");
        assert!(!error.contains("hunter2"), "{error}");
        // Optional fields may be absent.
        let key = ServiceAccountKey::parse(&key_file_with("project_id", Value::Null)).unwrap();
        assert_eq!(key.project_id(), None);
    }

    #[test]
    fn a_key_pasted_with_literal_backslash_n_still_reads() {
        let file: Value = serde_json::from_slice(KEY_FILE).unwrap();
        let pem = file["private_key"].as_str().unwrap().replace('\n', "\\n");
        assert!(ServiceAccountKey::parse(&key_file_with("private_key", pem.into())).is_ok());
    }

    #[test]
    fn token_uri_must_be_https_except_to_this_machine() {
        let error = ServiceAccountKey::parse(&key_file_with(
            "token_uri",
            "http://example.com/token".into(),
        ))
        .unwrap_err()
        .to_string();
        assert!(error.contains("must be an https:// URL"), "{error}");
        assert!(
            ServiceAccountKey::parse(&key_file_with(
                "token_uri",
                "http://127.0.0.1:9/token".into()
            ))
            .is_ok()
        );
        assert!(
            ServiceAccountKey::parse(&key_file_with(
                "token_uri",
                "https://oauth2.example.com/t".into()
            ))
            .is_ok()
        );
    }

    #[tokio::test]
    async fn debug_output_shows_no_secret() {
        let file: Value = serde_json::from_slice(KEY_FILE).unwrap();
        let pem = file["private_key"].as_str().unwrap();
        let key_body: String = pem.lines().nth(1).unwrap().to_owned();
        let key = ServiceAccountKey::parse(KEY_FILE).unwrap();
        let user = AuthorizedUser::parse(
            br#"{"type":"authorized_user","client_id":"c","client_secret":"the-client-secret","refresh_token":"the-refresh-token"}"#,
        )
        .unwrap();
        let google = mock(Arc::new(|n, _: &Form| granted(n)), Duration::ZERO).await;
        let source = TokenSource::new(Credentials::ServiceAccount(key_for(&google.uri)), client());
        let token = source.token().await.unwrap();
        let printed = [
            format!("{key:?}"),
            format!("{:?}", Credentials::ServiceAccount(key.clone())),
            format!("{user:?}"),
            format!("{:?}", Credentials::AuthorizedUser(user.clone())),
            format!("{source:?}"),
            format!("{token:?}"),
        ];
        for p in &printed {
            for secret in [
                key_body.as_str(),
                "MII",
                "the-client-secret",
                "the-refresh-token",
                "ya29",
            ] {
                assert!(!p.contains(secret), "{p} shows {secret}");
            }
        }
        assert!(
            printed[0].contains(EMAIL),
            "identity stays visible: {}",
            printed[0]
        );
    }
}
