//! `bgw run`: a gateway on an ephemeral port, Claude Code launched through it.
//!
//! Claude Code gets the terminal: bgw ignores Ctrl-C (the terminal delivers it to
//! claude, which is in the same process group), forwards SIGTERM/SIGHUP, and exits
//! with claude's exit code once claude ends.

use clap::Args;
use std::ffi::OsString;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::CliError;
use super::claude_settings::{session_settings, user_has_settings};
use super::serve::{GatewayArgs, load_routes};
use crate::gateway::{self, auth::SESSION_HEADER};
use crate::providers::Secret;
use crate::route::Routes;
use crate::route::picker::{self, PickerModel};
use crate::store::Store;

/// `bgw run` options.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Model for the `opus` alias, as provider/model
    #[arg(long, value_name = "PROVIDER/MODEL")]
    pub opus: Option<String>,

    /// Model for the `sonnet` alias, as provider/model
    #[arg(long, value_name = "PROVIDER/MODEL")]
    pub sonnet: Option<String>,

    /// Model for the `haiku` alias (and background tasks), as provider/model
    #[arg(long, value_name = "PROVIDER/MODEL")]
    pub haiku: Option<String>,

    /// Model for the `fable` alias, as provider/model
    #[arg(long, value_name = "PROVIDER/MODEL")]
    pub fable: Option<String>,

    /// The session's main model, as provider/model
    #[arg(long, value_name = "PROVIDER/MODEL")]
    pub model: Option<String>,

    /// Port for the gateway (0 picks a free one)
    #[arg(long, default_value_t = 0)]
    pub port: u16,

    /// Charge this session to the stored virtual key NAME (its budgets, team and customer),
    /// without handling its secret
    #[arg(long, value_name = "NAME")]
    pub key: Option<String>,

    /// Stop this session once it has spent this many US dollars (`5`, `$12.50`)
    #[arg(long, value_name = "USD")]
    pub budget: Option<String>,

    /// Run Claude Code in its Amazon Bedrock mode (`CLAUDE_CODE_USE_BEDROCK`), served by bgw:
    /// for setups that require that mode; the models are routed like any others
    #[arg(long, conflicts_with = "vertex")]
    pub bedrock: bool,

    /// Run Claude Code in its Google Vertex AI mode (`CLAUDE_CODE_USE_VERTEX`), served by bgw
    #[arg(long)]
    pub vertex: bool,

    /// The Claude Code executable [default: `claude` on PATH]
    #[arg(long, env = "BGW_CLAUDE_BIN", value_name = "PATH")]
    pub claude_bin: Option<PathBuf>,

    #[command(flatten)]
    pub gateway: GatewayArgs,

    /// Arguments passed to claude unchanged (after `--`)
    #[arg(last = true, value_name = "CLAUDE_ARGS")]
    pub claude_args: Vec<OsString>,
}

/// Runs Claude Code through a fresh gateway.
pub fn run(store: &Store, args: RunArgs) -> Result<ExitCode, CliError> {
    let mut settings = args.gateway.settings()?;
    if let Some(name) = &args.key {
        let key = store.virtual_key(name)?.ok_or_else(|| {
            CliError::new(format!("no virtual key `{name}`"))
                .hint(format!("make it with `bgw keys virtual create {name}`, or see them with `bgw keys virtual list`"))
        })?;
        crate::govern::access::check_usable(&key, crate::store::now_ms())
            .map_err(|e| CliError::new(e.message.trim_start_matches("bgw: ").to_owned()))?;
        settings.default_key = Some(name.clone());
    }
    if let Some(budget) = &args.budget {
        let amount = crate::govern::amount::Nanodollars::parse(budget)
            .map_err(|e| CliError::new(format!("`--budget`: {e}")))?;
        if amount.0 == 0 {
            return Err(CliError::new("`--budget` must be more than $0"));
        }
        settings.session_budget = Some(amount);
    }
    let routes = load_routes(store)?;
    // In a cloud mode Claude Code's own models are that cloud's ids (bgw routes them there).
    let anthropic_usable = if args.bedrock {
        routes.is_usable("bedrock")
    } else if args.vertex {
        routes.is_usable("vertex")
    } else {
        routes.is_usable("anthropic") || has_claude_credential()
    };
    let tiers = tier_env(&args, anthropic_usable);
    for (_, model) in &tiers {
        check_model(&routes, model)?;
    }
    // Routing rules read `tier` of the models the tiers were given.
    settings.tiers = [
        ("sonnet", &args.sonnet),
        ("opus", &args.opus),
        ("haiku", &args.haiku),
        ("fable", &args.fable),
    ]
    .into_iter()
    .filter_map(|(tier, model)| model.clone().map(|m| (tier, m)))
    .collect();
    let targets: Vec<&str> = tiers.iter().map(|(_, m)| m.as_str()).collect();
    let mut models = picker::models(&routes, &store.pricing()?, &targets);
    if !anthropic_usable {
        // Claude's own models would only fail without a key or login.
        models.retain(|m| m.provider != "anthropic");
    }
    let own_settings = user_has_settings(&args.claude_args);
    if own_settings {
        eprintln!(
            "bgw: your --settings replaces bgw's /model list; gateway discovery lists the models instead, without their context windows"
        );
    }
    let claude = find_claude(args.claude_bin.as_deref())?;
    let token = Secret::new(random_token()?);
    settings.session_token = Some(token.clone());
    // One session's gateway serves one Claude Code: a single thread keeps its hops
    // shortest (about 20 µs less per request than two workers in the load benchmark)
    // and its footprint smallest.
    let rt = super::runtime(0)?;
    rt.block_on(async move {
        let running = gateway::start(
            SocketAddr::new(Ipv4Addr::LOCALHOST.into(), args.port),
            store.clone(),
            settings,
        )
        .await
        .map_err(CliError::new)?;
        let addr = running.addr;

        let mut cmd = tokio::process::Command::new(&claude);
        if own_settings {
            cmd.env("CLAUDE_CODE_ENABLE_GATEWAY_MODEL_DISCOVERY", "1");
        } else {
            // The picker rows carry bgw's own addresses, so discovery (which would list
            // each model a second time, under `claude/…`) stays off.
            cmd.arg("--settings")
                .arg(session_settings(&models).to_string());
        }
        cmd.args(&args.claude_args)
            .env("ANTHROPIC_BASE_URL", format!("http://{addr}"))
            .env("ANTHROPIC_CUSTOM_HEADERS", custom_headers(&token));
        for (var, value) in cloud_mode_env(&args, &addr) {
            cmd.env(var, value);
        }
        for (var, model) in &tiers {
            cmd.env(var, model);
            if let Some(m) = named(&models, var, model) {
                cmd.env(format!("{var}_NAME"), &m.label)
                    .env(format!("{var}_DESCRIPTION"), &m.description);
            }
        }
        if !has_claude_credential() {
            // Without any credential Claude Code refuses to start; the session token
            // serves as one (it is never forwarded upstream).
            cmd.env("ANTHROPIC_AUTH_TOKEN", token.expose());
        }
        let mut child = cmd.spawn().map_err(|e| {
            CliError::new(format!("cannot start `{}`: {e}", claude.display()))
                .hint("check that Claude Code is installed, or point `BGW_CLAUDE_BIN` at it")
        })?;
        let status = wait_child(&mut child).await;
        let gw = running.stop().await;
        eprintln!("{}", super::serve::session_line(&gw, store).await);
        let code = match status {
            Ok(s) => exit_code(s),
            Err(e) => {
                return Err(CliError::new(format!("lost track of claude: {e}")));
            }
        };
        Ok(ExitCode::from(code))
    })
}

/// The variables that put Claude Code in its Bedrock or Vertex mode, pointed at bgw
/// (found by experiment with Claude Code 2.1.330: it asks for `{base}/model/ID/invoke…` and
/// `{base}/projects/P/locations/R/publishers/anthropic/models/ID:rawPredict…`, and sends
/// `ANTHROPIC_CUSTOM_HEADERS` and `ANTHROPIC_AUTH_TOKEN` as in its usual mode). The region
/// and project the user set are kept; they only shape the paths bgw reads.
fn cloud_mode_env(args: &RunArgs, addr: &SocketAddr) -> Vec<(&'static str, String)> {
    let set = |v: &str| std::env::var(v).ok().filter(|s| !s.trim().is_empty());
    if args.bedrock {
        vec![
            ("CLAUDE_CODE_USE_BEDROCK", "1".to_owned()),
            (
                "ANTHROPIC_BEDROCK_BASE_URL",
                format!("http://{addr}/bedrock"),
            ),
            ("CLAUDE_CODE_SKIP_BEDROCK_AUTH", "1".to_owned()),
            (
                "AWS_REGION",
                set("AWS_REGION").unwrap_or_else(|| "us-east-1".to_owned()),
            ),
        ]
    } else if args.vertex {
        vec![
            ("CLAUDE_CODE_USE_VERTEX", "1".to_owned()),
            (
                "ANTHROPIC_VERTEX_BASE_URL",
                format!("http://{addr}/vertex/v1"),
            ),
            ("CLAUDE_CODE_SKIP_VERTEX_AUTH", "1".to_owned()),
            (
                "ANTHROPIC_VERTEX_PROJECT_ID",
                set("ANTHROPIC_VERTEX_PROJECT_ID").unwrap_or_else(|| "bgw".to_owned()),
            ),
            (
                "CLOUD_ML_REGION",
                set("CLOUD_ML_REGION").unwrap_or_else(|| "global".to_owned()),
            ),
        ]
    } else {
        Vec::new()
    }
}

/// The picker model a tier variable names, for the tier's row in `/model`.
fn named<'m>(models: &'m [PickerModel], var: &str, model: &str) -> Option<&'m PickerModel> {
    if var == "ANTHROPIC_MODEL" {
        return None;
    }
    let address = picker::address(model);
    let address = address.strip_suffix("[1m]").unwrap_or(address);
    models.iter().find(|m| m.address == address)
}

/// The `ANTHROPIC_*` variables for the tiers given.
///
/// Without `--model`, the session starts on the first tier given (sonnet, then
/// opus, then haiku, then fable): `bgw run --sonnet openai/gpt-5` means "use gpt-5", not
/// "keep Claude Code's default model and map sonnet".
fn tier_env(args: &RunArgs, anthropic_usable: bool) -> Vec<(&'static str, String)> {
    let tiers = [
        ("ANTHROPIC_DEFAULT_SONNET_MODEL", "sonnet", &args.sonnet),
        ("ANTHROPIC_DEFAULT_OPUS_MODEL", "opus", &args.opus),
        ("ANTHROPIC_DEFAULT_HAIKU_MODEL", "haiku", &args.haiku),
        ("ANTHROPIC_DEFAULT_FABLE_MODEL", "fable", &args.fable),
    ];
    let given = |m: &Option<String>| m.as_ref().map(|m| m.trim().to_owned());
    let main = given(&args.model).or_else(|| tiers.iter().find_map(|(_, _, m)| given(m)));
    let mut env = Vec::new();
    let mut filled = Vec::new();
    for (var, alias, model) in tiers {
        match (given(model), &main) {
            (Some(m), _) => env.push((var, m)),
            // Without Anthropic, a tier left to Claude Code's default (haiku runs
            // titles and the Explore agent) would fail: it uses the session's model.
            (None, Some(m)) if !anthropic_usable => {
                env.push((var, m.clone()));
                filled.push(alias);
            }
            (None, _) => {}
        }
    }
    if let (false, Some(m)) = (filled.is_empty(), &main) {
        eprintln!(
            "bgw: {} → {m} (no Anthropic key or Claude login for Claude's own models)",
            filled.join(", ")
        );
    }
    if let Some(m) = main {
        env.push(("ANTHROPIC_MODEL", m));
    }
    env
}

/// Refuses to start a session whose named models cannot be routed.
fn check_model(routes: &Routes, model: &str) -> Result<(), CliError> {
    let e = match routes.resolve(model) {
        Ok(_) => return Ok(()),
        Err(e) => e,
    };
    let err = CliError::new(format!("cannot route `{model}`: {}", e.problem));
    Err(match e.fix {
        Some(fix) => err.hint(format!("run `{fix}`")),
        None => err,
    })
}

/// Existing custom headers (if the user has any) plus the session header.
fn custom_headers(token: &Secret) -> String {
    let mine = format!("{SESSION_HEADER}: {}", token.expose());
    match std::env::var("ANTHROPIC_CUSTOM_HEADERS") {
        Ok(existing) if !existing.trim().is_empty() => format!("{}\n{mine}", existing.trim_end()),
        _ => mine,
    }
}

/// Whether Claude Code will find a credential of its own (env key, helper, or login).
fn has_claude_credential() -> bool {
    let set = |v: &str| std::env::var(v).is_ok_and(|s| !s.trim().is_empty());
    if set("ANTHROPIC_API_KEY") || set("ANTHROPIC_AUTH_TOKEN") || set("CLAUDE_CODE_OAUTH_TOKEN") {
        return true;
    }
    let config_dir = std::env::var_os("CLAUDE_CONFIG_DIR")
        .map(PathBuf::from)
        .or_else(|| dirs::home_dir().map(|h| h.join(".claude")));
    if let Some(dir) = &config_dir {
        if dir.join(".credentials.json").is_file() {
            return true;
        }
    }
    // A login kept in the macOS keychain leaves its account in the global config.
    let global = std::env::var_os("CLAUDE_CONFIG_DIR")
        .map(|d| PathBuf::from(d).join(".claude.json"))
        .or_else(|| dirs::home_dir().map(|h| h.join(".claude.json")));
    global
        .and_then(|p| std::fs::read_to_string(p).ok())
        .is_some_and(|text| text.contains("\"oauthAccount\"") || text.contains("\"primaryApiKey\""))
}

/// Claude Code: `explicit` (`--claude-bin`, BGW_CLAUDE_BIN) when given, else `claude` on PATH.
pub(crate) fn find_claude(explicit: Option<&Path>) -> Result<PathBuf, CliError> {
    if let Some(p) = explicit {
        return if p.is_file() {
            Ok(p.to_owned())
        } else {
            Err(CliError::new(format!(
                "`{}` (from `--claude-bin` or BGW_CLAUDE_BIN) is not a file",
                p.display()
            )))
        };
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join("claude"))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            CliError::new("`claude` is not on PATH")
                .hint("install Claude Code (`npm install -g @anthropic-ai/claude-code`), or set `BGW_CLAUDE_BIN` to its path")
        })
}

/// Waits for claude, ignoring Ctrl-C (claude handles it) and passing on SIGTERM and SIGHUP.
async fn wait_child(
    child: &mut tokio::process::Child,
) -> std::io::Result<std::process::ExitStatus> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut int = signal(SignalKind::interrupt())?;
    let mut term = signal(SignalKind::terminate())?;
    let mut hup = signal(SignalKind::hangup())?;
    loop {
        tokio::select! {
            status = child.wait() => return status,
            _ = int.recv() => {}
            _ = term.recv() => forward(child, "TERM"),
            _ = hup.recv() => forward(child, "HUP"),
        }
    }
}

fn forward(child: &tokio::process::Child, signal: &str) {
    if let Some(pid) = child.id() {
        // std has no kill(2) with a signal number; `kill` is on every unix.
        let _ = std::process::Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(pid.to_string())
            .status();
    }
}

fn exit_code(status: std::process::ExitStatus) -> u8 {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(c), _) => u8::try_from(c).unwrap_or(1),
        (None, Some(sig)) => u8::try_from(128 + sig).unwrap_or(1),
        _ => 1,
    }
}

/// The per-run secret; without randomness from the OS there is no safe one, so no session.
///
/// It is shaped as a JWT whose audience is `claude-gateway` (unsigned: its third part is 192
/// random bits, which only this gateway checks, as a whole). Given to Claude Code as its
/// `ANTHROPIC_AUTH_TOKEN`, that audience is what makes it read a gateway's usage-limit
/// headers and warn before a budget runs out (Claude Code 2.1.330 reads `aud` without
/// checking any signature); as a plain header it is just a long secret.
fn random_token() -> Result<String, CliError> {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).map_err(|e| {
        CliError::new(format!(
            "cannot make a session secret: the OS gave no randomness ({e})"
        ))
    })?;
    let mut token = String::new();
    crate::messages::signature::base64url(br#"{"alg":"none","typ":"JWT"}"#, &mut token);
    token.push('.');
    crate::messages::signature::base64url(br#"{"aud":"claude-gateway","iss":"bgw"}"#, &mut token);
    token.push('.');
    crate::messages::signature::base64url(&bytes, &mut token);
    Ok(token)
}
