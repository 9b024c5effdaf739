//! Each provider key, tried with the cheapest call that proves it: the provider's model list
//! (never a paid completion), or for the clouds the sign-in alone. All keys at once, each
//! within [`KEY_WAIT`].

use std::time::{Duration, Instant};

use super::Check;
use crate::cli::models::{ListError, list_models};
use crate::providers::client::{UpstreamClient, client};
use crate::providers::vertex::auth as google;
use crate::providers::{Credential, ProviderKind, Target};
use crate::route::{Provider, Routes, add_key_hint};
use crate::store::{KeyRecord, SecretSource};

/// How long one key's check may take.
const KEY_WAIT: Duration = Duration::from_secs(5);

/// One line per key, and the secrets seen (for the report to scrub).
pub async fn check(routes: &Routes) -> (Vec<Check>, Vec<String>) {
    let keys: Vec<(Provider, KeyRecord)> = routes
        .providers()
        .flat_map(|p| p.keys.iter().map(move |k| (p.clone(), k.clone())))
        .collect();
    if keys.is_empty() {
        return (
            vec![Check::warn(
                "keys",
                "no provider keys: requests go to Anthropic with Claude Code's own login",
                Some(format!(
                    "to use another provider, add its key: `{}`",
                    add_key_hint("openai")
                )),
            )],
            Vec::new(),
        );
    }
    let http = match client() {
        Ok(h) => h,
        Err(e) => {
            return (
                vec![Check::fail("keys", format!("no HTTP client: {e}"), None)],
                Vec::new(),
            );
        }
    };
    let mut secrets = Vec::new();
    let mut tasks = Vec::new();
    for (provider, key) in keys {
        let name = if key.name == provider.id {
            format!("key {}", key.name)
        } else {
            format!("key {} ({})", key.name, provider.id)
        };
        let target = match target_of(routes, &provider, &key) {
            Ok(t) => t,
            Err(check) => {
                tasks.push(tokio::spawn(async move { check.named(name) }));
                continue;
            }
        };
        secrets.extend(secret_of(&target));
        let http = http.clone();
        tasks.push(tokio::spawn(async move {
            let probe = probe(&http, &provider, &key, &target);
            match tokio::time::timeout(KEY_WAIT, probe).await {
                Ok(check) => check.named(name),
                Err(_) => Check::fail(
                    name,
                    format!(
                        "no answer from {} within {} s",
                        origin(&target.base_url),
                        KEY_WAIT.as_secs()
                    ),
                    Some("check the base URL (`bgw keys list`) and your network".into()),
                ),
            }
        }));
    }
    let mut checks = Vec::with_capacity(tasks.len());
    for t in tasks {
        checks.push(
            t.await
                .unwrap_or_else(|_| Check::fail("key", "the check stopped unexpectedly", None)),
        );
    }
    (checks, secrets)
}

impl Check {
    fn named(mut self, name: String) -> Check {
        self.name = name;
        self
    }
}

/// The target this key serves, or the check that says why it cannot serve any.
fn target_of(routes: &Routes, provider: &Provider, key: &KeyRecord) -> Result<Target, Check> {
    if let (SecretSource::Env(var), Err(_)) = (&key.secret, key.secret.resolve()) {
        return Err(Check::fail(
            "",
            format!("the environment variable `{var}` is not set"),
            Some(format!(
                "set {var} in the environment bgw runs in (`export {var}=…`), or store the key: `bgw keys rm {}`, then `bgw keys add {}{} --stdin`",
                key.name,
                provider.id,
                if key.name == provider.id {
                    String::new()
                } else {
                    format!(" --name {}", key.name)
                }
            )),
        ));
    }
    // A key limited to some models serves the first of them; any model name does otherwise.
    let model = key.models.first().map_or("m", String::as_str);
    let plan = routes.plan(&format!("{}/{model}", provider.id), Some(&key.name));
    match plan {
        Ok(plan) => plan
            .into_iter()
            .find(|t| t.key_name.as_deref() == Some(key.name.as_str()))
            .ok_or_else(|| Check::fail("", "no route uses this key", None)),
        Err(e) => Err(Check::fail(
            "",
            e.problem,
            Some(e.fix.unwrap_or_else(|| add_key_hint(&provider.id))),
        )),
    }
}

/// The secret a target sends, to be kept out of the report.
fn secret_of(target: &Target) -> Option<String> {
    match &target.credential {
        Credential::Key(s) | Credential::Google(Some(s)) => Some(s.expose().to_owned()),
        _ => None,
    }
}

/// Tries the key: the model list, or the cloud's sign-in.
async fn probe(
    http: &UpstreamClient,
    provider: &Provider,
    key: &KeyRecord,
    target: &Target,
) -> Check {
    match (&target.credential, target.kind) {
        (Credential::Google(json), _) => {
            google_sign_in(http, json.as_ref().map(|s| s.expose())).await
        }
        (Credential::Aws { profile }, _) => aws_credentials(profile.as_deref()),
        (Credential::Key(_), ProviderKind::Vertex) => Check::warn(
            "",
            "a Vertex AI express-mode API key: not tried (no free call proves it)",
            None,
        ),
        // Claude Code's own login goes through: bgw holds nothing to try.
        (Credential::None, ProviderKind::Anthropic) => Check::pass(
            "",
            format!(
                "sends Claude Code's own login to {} (nothing of bgw's to try)",
                origin(&target.base_url)
            ),
        ),
        (Credential::Key(_), ProviderKind::Bedrock) => Check::warn(
            "",
            "a Bedrock API key: not tried (AWS is not called; no free call proves it)",
            None,
        ),
        _ => model_list(http, provider, key, target).await,
    }
}

/// The provider's model list with this key, and how long it took.
async fn model_list(
    http: &UpstreamClient,
    provider: &Provider,
    key: &KeyRecord,
    target: &Target,
) -> Check {
    let started = Instant::now();
    let listed = list_models(http, target, KEY_WAIT).await;
    let ms = started.elapsed().as_millis();
    let at = origin(&target.base_url);
    let replace = format!(
        "`bgw keys rm {}`, then `{}`",
        key.name,
        add_key_hint(&provider.id)
    );
    match listed {
        Ok(models) => Check::pass(
            "",
            format!("{} models listed by {at} in {ms} ms", models.len()),
        ),
        Err(ListError::Status { status, message }) if status == 401 || status == 403 => {
            let fix = match &key.secret {
                SecretSource::Env(var) => {
                    format!("put a valid key in {var}, or replace the key: {replace}")
                }
                _ => format!("replace the key: {replace}"),
            };
            Check::fail(
                "",
                format!("revoked or wrong key: {at} answered {status}: {message}"),
                Some(fix),
            )
        }
        Err(ListError::Status { status, message }) => Check::fail(
            "",
            format!("{at} answered {status} to the model list: {message}"),
            Some("check the base URL (`bgw keys list`); the provider may be having trouble".into()),
        ),
        Err(ListError::Unreachable { why, .. }) => Check::fail(
            "",
            format!("cannot reach {at}: {why}"),
            Some(format!(
                "check that {at} is running and reachable, or fix the base URL: {replace}"
            )),
        ),
        Err(ListError::Timeout { secs, .. }) => Check::fail(
            "",
            format!("no answer from {at} within {secs} s"),
            Some("check the base URL (`bgw keys list`) and your network".into()),
        ),
        Err(e @ (ListError::InvalidUrl(_) | ListError::Body(_))) => Check::fail(
            "",
            format!("{at}: {e}"),
            Some(format!("check the base URL: {replace}")),
        ),
    }
}

/// Signs in to Google with a key file (or the application-default credentials): an access
/// token fetched proves the credentials, and costs nothing.
async fn google_sign_in(http: &UpstreamClient, key_file: Option<&str>) -> Check {
    let fix = "run `gcloud auth application-default login`, or add a service account's key: `bgw keys add vertex --file key.json --project PROJECT --region us-east5`";
    let json = match key_file {
        Some(j) => j.to_owned(),
        None => {
            let env = |name: &str| std::env::var(name).ok();
            let Some(path) = google::find_adc(&env, dirs::home_dir().as_deref()) else {
                return Check::fail("", "no application-default credentials", Some(fix.into()));
            };
            match std::fs::read_to_string(&path) {
                Ok(j) => j,
                Err(e) => {
                    return Check::fail(
                        "",
                        format!("cannot read {}: {e}", path.display()),
                        Some(fix.into()),
                    );
                }
            }
        }
    };
    let credentials = match google::load(json.as_bytes()) {
        Ok(c) => c,
        Err(e) => return Check::fail("", e.to_string(), Some(fix.into())),
    };
    let who = match &credentials {
        google::Credentials::ServiceAccount(k) => format!("service account {}", k.client_email()),
        google::Credentials::AuthorizedUser(_) => "application-default user credentials".into(),
    };
    let started = Instant::now();
    match google::TokenSource::new(credentials, http.clone())
        .token()
        .await
    {
        Ok(_) => Check::pass(
            "",
            format!(
                "signed in to Google as {who} in {} ms (sign-in only: the model list needs other rights)",
                started.elapsed().as_millis()
            ),
        ),
        Err(e) => Check::fail("", format!("{who}: {e}"), Some(fix.into())),
    }
}

/// Finds AWS credentials as a Bedrock request would, and says where they came from; AWS is
/// not called (the cheapest call that proves them is still one AWS may bill or log).
fn aws_credentials(profile: Option<&str>) -> Check {
    let env = |name: &str| std::env::var(name).ok();
    let set = |name: &str| env(name).is_some_and(|v| !v.trim().is_empty());
    match crate::providers::bedrock::credentials::resolve(profile, &env, dirs::home_dir().as_deref())
    {
        Ok(_) => {
            let source = if profile.is_none() && set("AWS_ACCESS_KEY_ID") {
                "the environment (AWS_ACCESS_KEY_ID)".to_owned()
            } else {
                let name = profile
                    .map(str::to_owned)
                    .or_else(|| env("AWS_PROFILE").filter(|v| !v.trim().is_empty()))
                    .unwrap_or_else(|| "default".into());
                format!("the profile `{name}` in ~/.aws")
            };
            Check::pass(
                "",
                format!("AWS credentials found in {source} (sign-in only: AWS is not called)"),
            )
        }
        Err(e) => Check::fail(
            "",
            e.to_string(),
            Some("run `aws configure`, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY where bgw runs".into()),
        ),
    }
}

/// `scheme://host[:port]` of a URL: enough to say where, never a path, query or user part
/// (which may carry a key).
pub(crate) fn origin(url: &str) -> String {
    match url.parse::<http::Uri>() {
        Ok(uri) => {
            let host = uri.host().unwrap_or("?");
            let port = uri.port().map(|p| format!(":{p}")).unwrap_or_default();
            format!("{}://{host}{port}", uri.scheme_str().unwrap_or("http"))
        }
        Err(_) => "(an invalid URL)".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_origin_has_no_path_query_or_user() {
        assert_eq!(
            origin("https://user:pw@api.example.com:8443/v1?key=abc"),
            "https://api.example.com:8443"
        );
        assert_eq!(origin("http://127.0.0.1:9/v1"), "http://127.0.0.1:9");
        assert_eq!(origin("not a url"), "(an invalid URL)");
    }
}
