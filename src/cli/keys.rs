//! `bgw keys`: add, list and remove provider keys.

use clap::{ArgGroup, Args, Subcommand};
use clap_complete::ArgValueCandidates;
use std::io::{BufRead, IsTerminal};
use std::process::ExitCode;

use super::CliError;
use super::output::{emit, table, warn};
use crate::providers::{ProviderId, ProviderKind, builtin};
use crate::route::{add_key_hint, picker};
use crate::store::{KeyRecord, SecretSource, Store};

/// `bgw keys` subcommands.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Add a key for a provider
    ///
    /// A key given with --value or --stdin is stored in bgw's data file, which only
    /// your user can read (mode 0600), as the AWS CLI and gh store theirs. --env stores
    /// only the variable's name and reads it each time, so nothing secret is written
    /// to disk and rotating the variable needs no re-add: prefer it.
    Add(AddArgs),
    /// List keys (never prints a secret)
    List,
    /// Remove a key by name
    Rm {
        /// The key's name, as `bgw keys list` shows it
        #[arg(add = ArgValueCandidates::new(super::complete::key_names))]
        name: String,
    },
    /// Virtual keys: the keys bgw gives its own callers, each with its models, budget and expiry
    #[command(subcommand)]
    Virtual(super::virtual_keys::VirtualCommand),
}

/// `bgw keys add` options.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("source").args(["value", "env", "stdin", "file"]).multiple(false)))]
pub struct AddArgs {
    /// Provider: anthropic, openai, azure, gemini, vertex, bedrock, groq, mistral, deepseek,
    /// xai, openrouter, together, fireworks, cerebras, perplexity, ollama, or a name of your
    /// own with --compat
    #[arg(add = ArgValueCandidates::new(super::complete::provider_names))]
    pub provider: String,

    /// Name of this key [default: the provider name]
    #[arg(long)]
    pub name: Option<String>,

    /// The key itself (stored in the data file; prefer --env)
    #[arg(long, value_name = "SECRET")]
    pub value: Option<String>,

    /// Read the key from this environment variable each time it is used
    #[arg(long, value_name = "VAR")]
    pub env: Option<String>,

    /// Read the key from standard input (stored in the data file); for vertex, a service
    /// account's JSON key
    #[arg(long)]
    pub stdin: bool,

    /// vertex: a service account's JSON key file, read each time it is used (only its path
    /// is stored). Without --file, --value or --stdin, vertex uses the application-default
    /// credentials (`gcloud auth application-default login`) and bedrock the AWS
    /// credentials of the environment or of --profile
    #[arg(long, value_name = "PATH")]
    pub file: Option<std::path::PathBuf>,

    /// vertex: the Google Cloud project [default: the key file's]
    #[arg(long, value_name = "PROJECT")]
    pub project: Option<String>,

    /// vertex: the location (`us-east5`, `global`) [default: global]; bedrock: the AWS region
    /// [default: AWS_REGION, or the profile's]
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,

    /// bedrock: the profile of ~/.aws/credentials to sign with [default: AWS_PROFILE, or
    /// default] (the environment's AWS_ACCESS_KEY_ID comes first, as in the AWS CLI)
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,

    /// Base URL of the API (required for azure and --compat)
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,

    /// Share of requests this key takes among the provider's keys (any scale: 70 and 30, or
    /// 0.7 and 0.3); 0 keeps it for failover only
    #[arg(long, default_value_t = 1.0, value_name = "W")]
    pub weight: f64,

    /// Use this key only for these models (comma-separated)
    #[arg(long, value_delimiter = ',', value_name = "A,B")]
    pub models: Vec<String>,

    /// For a provider of your own: the API it speaks (openai or anthropic)
    #[arg(long, value_name = "API", value_parser = ["openai", "anthropic"])]
    pub compat: Option<String>,
}

/// Runs a `bgw keys` subcommand.
pub fn run(store: &Store, cmd: KeysCommand) -> Result<ExitCode, CliError> {
    match cmd {
        KeysCommand::Add(args) => add(store, args),
        KeysCommand::List => list(store),
        KeysCommand::Virtual(cmd) => super::virtual_keys::run(store, cmd),
        KeysCommand::Rm { name } => {
            if store.remove_key(&name)? {
                eprintln!("removed key `{name}`");
                Ok(ExitCode::SUCCESS)
            } else {
                Err(CliError::new(format!("no key named `{name}`"))
                    .hint("`bgw keys list` shows the names")
                    .code(1))
            }
        }
    }
}

fn add(store: &Store, args: AddArgs) -> Result<ExitCode, CliError> {
    let provider = ProviderId::parse(&args.provider).map_err(CliError::new)?;
    if provider.as_str() == picker::NAMESPACE {
        return Err(CliError::new(format!(
            "`{provider}` cannot name a provider: Claude Code's /model picker lists models as `{provider}/PROVIDER/MODEL`"
        ))
        .hint("choose another name with `--compat` (say `my-claude`)"));
    }
    let known = builtin(provider.as_str());
    if known.is_some() && args.compat.is_some() {
        return Err(CliError::new(format!(
            "`{provider}` is a built-in provider; `--compat` is for providers of your own"
        ))
        .hint(format!("run `{}`", add_key_hint(provider.as_str()))));
    }
    let existing_compat = store
        .keys()?
        .into_iter()
        .find(|k| k.provider == provider.as_str())
        .and_then(|k| k.compat);
    let compat = args.compat.clone().or(existing_compat);
    if known.is_none() && compat.is_none() {
        return Err(CliError::new(format!("unknown provider `{provider}`")).hint(format!(
            "for an OpenAI-compatible server (vLLM, LM Studio, a company proxy) run `bgw keys add {provider} --compat openai --base-url URL --env KEY_VAR`"
        )));
    }
    let base_url = match &args.base_url {
        Some(u) => Some(check_url(u)?),
        None => None,
    };
    let needs_base = compat.is_some() || known.is_some_and(|b| b.kind == ProviderKind::Azure);
    if needs_base && base_url.is_none() {
        return Err(CliError::new(format!("`{provider}` needs `--base-url`")).hint(format!(
            "for example `{}`",
            if compat.is_some() {
                format!("bgw keys add {provider} --compat openai --base-url http://localhost:8000/v1")
            } else {
                add_key_hint(provider.as_str())
            }
        )));
    }
    // Anthropic with its own base URL and no key passes the user's Claude login through.
    let keyless_ok = compat.is_some()
        || known.is_some_and(|b| b.key_env.is_none())
        || (provider.as_str() == "anthropic" && base_url.is_some());
    let kind = known.map(|b| b.kind);
    let cloud = cloud_settings(&args, kind, provider.as_str())?;
    let secret = match &cloud {
        Some(c) => c.secret.clone(),
        None => secret_source(&args, keyless_ok, provider.as_str())?,
    };
    if let SecretSource::Env(var) = &secret {
        if std::env::var(var).map_or(true, |v| v.trim().is_empty()) {
            warn(&format!(
                "`{var}` is not set in this shell; bgw reads it whenever the key is used, so set it where bgw runs"
            ));
        }
    }
    // `--models openai/gpt-5` means the model `gpt-5` of this provider.
    let own_prefix = format!("{provider}/");
    let models: Vec<String> = args
        .models
        .iter()
        .map(|m| m.trim())
        .map(|m| m.strip_prefix(own_prefix.as_str()).unwrap_or(m).to_owned())
        .filter(|m| !m.is_empty())
        .collect();
    let name = args.name.clone().unwrap_or_else(|| provider.to_string());
    if name.trim().is_empty() || name.chars().any(char::is_whitespace) {
        return Err(CliError::new(
            "`--name` must be non-empty and without spaces",
        ));
    }
    if !(args.weight.is_finite() && args.weight >= 0.0) {
        return Err(CliError::new(format!(
            "`--weight {}`: a weight is a number of 0 or more",
            args.weight
        )));
    }
    let (project, region) = cloud.map(|c| (c.project, c.region)).unwrap_or_default();
    let rec = KeyRecord {
        project,
        region,
        profile: args.profile.clone(),
        name: name.clone(),
        provider: provider.to_string(),
        compat,
        secret,
        base_url,
        weight: args.weight,
        models,
        created_at: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
    };
    store.add_key(&rec)?;
    eprintln!(
        "added key `{name}` for `{provider}` ({}); use it with models named `{provider}/MODEL`",
        rec.secret.describe()
    );
    Ok(ExitCode::SUCCESS)
}

/// Where a cloud key's credential comes from, and where in the cloud it works.
struct CloudKey {
    secret: SecretSource,
    project: Option<String>,
    region: Option<String>,
}

/// The settings of a vertex or bedrock key, checked now; `None` for other providers (which
/// take none of the cloud flags).
fn cloud_settings(
    args: &AddArgs,
    kind: Option<ProviderKind>,
    provider: &str,
) -> Result<Option<CloudKey>, CliError> {
    let only = |flag: &str, set: bool, what: &str| -> Result<(), CliError> {
        if set {
            return Err(CliError::new(format!(
                "`--{flag}` is for {what} keys, not `{provider}`"
            )));
        }
        Ok(())
    };
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let home = dirs::home_dir();
    match kind {
        Some(ProviderKind::Vertex) => {
            only("profile", args.profile.is_some(), "bedrock")?;
            let (secret, json) = match (&args.file, &args.value, args.stdin, &args.env) {
                (Some(path), ..) => {
                    let path = std::path::absolute(path).map_err(|e| {
                        CliError::new(format!("cannot use `{}`: {e}", path.display()))
                    })?;
                    let json = std::fs::read_to_string(&path).map_err(|e| {
                        CliError::new(format!("cannot read `{}`: {e}", path.display()))
                    })?;
                    (SecretSource::File(path.display().to_string()), Some(json))
                }
                (None, None, false, None) => (SecretSource::Ambient, None),
                _ => {
                    let s = secret_source(args, false, provider)?;
                    let json = s
                        .resolve()
                        .ok()
                        .flatten()
                        .filter(|v| v.trim_start().starts_with('{'));
                    (s, json)
                }
            };
            let mut project = args.project.clone();
            if let Some(json) = &json {
                let creds = crate::providers::vertex::auth::load(json.as_bytes()).map_err(|e| {
                    CliError::new(format!("this is not a key bgw can sign in with: {e}"))
                })?;
                project = project.or_else(|| creds.project_id().map(str::to_owned));
            }
            if matches!(secret, SecretSource::Ambient) {
                let adc = crate::providers::vertex::auth::find_adc(&env, home.as_deref());
                if adc.is_none() {
                    warn(
                        "no application-default credentials found; run `gcloud auth application-default login` where bgw runs, or add a service account's key with `--file key.json`",
                    );
                }
                project = project
                    .or_else(|| env("GOOGLE_CLOUD_PROJECT"))
                    .or_else(|| env("CLOUDSDK_CORE_PROJECT"));
            }
            let express = json.is_none() && !matches!(secret, SecretSource::Ambient);
            if project.is_none() && !express {
                return Err(CliError::new("a vertex key needs a Google Cloud project")
                    .hint("add `--project PROJECT_ID`"));
            }
            let region = Some(args.region.clone().unwrap_or_else(|| "global".to_owned()));
            Ok(Some(CloudKey {
                secret,
                project,
                region,
            }))
        }
        Some(ProviderKind::Bedrock) => {
            only("project", args.project.is_some(), "vertex")?;
            only("file", args.file.is_some(), "vertex")?;
            let keyed = args.value.is_some() || args.env.is_some() || args.stdin;
            if keyed && args.profile.is_some() {
                return Err(CliError::new(
                    "`--profile` signs with AWS credentials; a Bedrock API key (`--value`, `--env`, `--stdin`) needs none",
                ));
            }
            let secret = if keyed {
                secret_source(args, false, provider)?
            } else {
                SecretSource::Ambient
            };
            let region = args.region.clone().or_else(|| {
                crate::providers::bedrock::credentials::region(
                    &env,
                    home.as_deref(),
                    args.profile.as_deref(),
                )
            });
            let Some(region) = region else {
                return Err(CliError::new("a bedrock key needs an AWS region")
                    .hint("add `--region us-east-1` (or set AWS_REGION)"));
            };
            if !keyed {
                let found = crate::providers::bedrock::credentials::resolve(
                    args.profile.as_deref(),
                    &env,
                    home.as_deref(),
                );
                if let Err(e) = found {
                    warn(&format!(
                        "{e}; bgw looks for them whenever it signs a request, so set them where bgw runs"
                    ));
                }
            }
            Ok(Some(CloudKey {
                secret,
                project: None,
                region: Some(region),
            }))
        }
        _ => {
            only("file", args.file.is_some(), "vertex")?;
            only("project", args.project.is_some(), "vertex")?;
            only("region", args.region.is_some(), "vertex and bedrock")?;
            only("profile", args.profile.is_some(), "bedrock")?;
            Ok(None)
        }
    }
}

fn secret_source(
    args: &AddArgs,
    keyless_ok: bool,
    provider: &str,
) -> Result<SecretSource, CliError> {
    if let Some(v) = &args.value {
        let v = v.trim();
        if v.is_empty() {
            return Err(CliError::new("`--value` is empty"));
        }
        return Ok(SecretSource::Value(v.to_owned()));
    }
    if let Some(var) = &args.env {
        let valid = !var.is_empty()
            && !var.starts_with(|c: char| c.is_ascii_digit())
            && var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(CliError::new(format!(
                "`{var}` is not an environment variable name; give the variable's name, not its value"
            )));
        }
        return Ok(SecretSource::Env(var.clone()));
    }
    if args.stdin {
        let stdin = std::io::stdin();
        if stdin.is_terminal() {
            eprintln!("paste the key, then press Enter:");
        }
        let unreadable = |e: std::io::Error| {
            CliError::new(format!("cannot read the key from standard input: {e}"))
        };
        let mut lock = stdin.lock();
        let mut line = String::new();
        lock.read_line(&mut line).map_err(unreadable)?;
        // A service account's JSON key spans many lines: read on until the JSON is whole.
        if line.trim_start().starts_with('{') {
            while serde_json::from_str::<serde::de::IgnoredAny>(&line).is_err() {
                if lock.read_line(&mut line).map_err(unreadable)? == 0 {
                    break;
                }
            }
        }
        let v = line.trim();
        if v.is_empty() {
            return Err(CliError::new("standard input held no key"));
        }
        return Ok(SecretSource::Value(v.to_owned()));
    }
    if keyless_ok {
        return Ok(SecretSource::None);
    }
    Err(
        CliError::new(format!("say where the key for `{provider}` comes from")).hint(format!(
            "run `{}` (or use `--value`, `--stdin`)",
            add_key_hint(provider)
        )),
    )
}

fn check_url(u: &str) -> Result<String, CliError> {
    let trimmed = u.trim().trim_end_matches('/');
    let rest = trimmed
        .strip_prefix("https://")
        .or_else(|| trimmed.strip_prefix("http://"));
    match rest {
        Some(host)
            if !host.is_empty()
                && !host.starts_with('/')
                && trimmed.parse::<http::Uri>().is_ok() =>
        {
            Ok(trimmed.to_owned())
        }
        _ => Err(CliError::new(format!(
            "`{u}` is not a base URL; it must start with http:// or https:// and name a host"
        ))),
    }
}

fn list(store: &Store) -> Result<ExitCode, CliError> {
    let keys = store.keys()?;
    if keys.is_empty() {
        eprintln!("no keys yet; add one with `bgw keys add openai --env OPENAI_API_KEY`");
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<Vec<String>> = keys
        .iter()
        .map(|k| {
            vec![
                k.name.clone(),
                k.provider.clone(),
                k.secret.describe(),
                k.secret.hint(),
                k.base_url.clone().unwrap_or_else(|| "-".into()),
                k.weight.to_string(),
                if k.models.is_empty() {
                    "all".into()
                } else {
                    k.models.join(",")
                },
            ]
        })
        .collect();
    emit(&table(
        &[
            "NAME", "PROVIDER", "SOURCE", "KEY", "BASE URL", "WEIGHT", "MODELS",
        ],
        &rows,
    ))?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_must_name_a_host() {
        assert_eq!(
            check_url("https://x.openai.azure.com/").unwrap(),
            "https://x.openai.azure.com"
        );
        assert!(check_url("x.openai.azure.com").is_err());
        assert!(check_url("https://").is_err());
    }
}
