//! `bgw keys`: add, list and remove provider keys.

use clap::{ArgGroup, Args, Subcommand};
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
        name: String,
    },
    /// Virtual keys: the keys bgw gives its own callers, each with its models, budget and expiry
    #[command(subcommand)]
    Virtual(super::virtual_keys::VirtualCommand),
}

/// `bgw keys add` options.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("source").args(["value", "env", "stdin"]).multiple(false)))]
pub struct AddArgs {
    /// Provider: anthropic, openai, azure, groq, mistral, deepseek, xai, openrouter,
    /// together, fireworks, cerebras, perplexity, ollama, or a name of your own with --compat
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

    /// Read the key from standard input (stored in the data file)
    #[arg(long)]
    pub stdin: bool,

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
    let secret = secret_source(&args, keyless_ok, provider.as_str())?;
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
    let rec = KeyRecord {
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
        let mut line = String::new();
        stdin
            .lock()
            .read_line(&mut line)
            .map_err(|e| CliError::new(format!("cannot read the key from standard input: {e}")))?;
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
