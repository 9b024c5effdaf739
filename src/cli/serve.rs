//! `bgw serve`: the gateway for any Anthropic Messages client.

use clap::Args;
use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

use super::CliError;
use crate::gateway::{self, Settings};
use crate::route::Routes;
use crate::store::Store;

/// Options shared by `serve` and `run`.
#[derive(Debug, Clone, Args)]
pub struct GatewayArgs {
    /// Largest request body accepted, in MiB
    #[arg(
        long,
        env = "BGW_MAX_BODY_MB",
        default_value_t = 32,
        value_name = "MIB"
    )]
    pub max_body_mb: usize,

    /// Seconds an upstream may stay silent before the request fails
    #[arg(
        long,
        env = "BGW_UPSTREAM_TIMEOUT",
        default_value_t = 600,
        value_name = "SECS"
    )]
    pub upstream_timeout: u64,

    /// Seconds a streamed answer's first event may take before the next target is tried
    #[arg(
        long,
        env = "BGW_FIRST_BYTE_TIMEOUT",
        default_value_t = 60,
        value_name = "SECS"
    )]
    pub first_byte_timeout: u64,

    /// Tries of one request across all its targets (retries and fallbacks together)
    #[arg(long, env = "BGW_MAX_ATTEMPTS", default_value_t = 4, value_name = "N")]
    pub max_attempts: u32,

    /// Log requests without their bodies (the request and the response)
    #[arg(long, env = "BGW_NO_CONTENT")]
    pub no_content: bool,

    /// Keep no request log at all (`bgw logs` will not see this gateway's requests)
    #[arg(long, env = "BGW_NO_LOG", conflicts_with = "no_content")]
    pub no_log: bool,
}

impl GatewayArgs {
    /// The gateway settings these options give.
    pub fn settings(&self) -> Result<Settings, CliError> {
        if self.max_body_mb == 0 {
            return Err(CliError::new("`--max-body-mb` must be at least 1"));
        }
        if self.upstream_timeout == 0 {
            return Err(CliError::new(
                "`--upstream-timeout` must be at least 1 second",
            ));
        }
        if self.first_byte_timeout == 0 || self.max_attempts == 0 {
            return Err(CliError::new(
                "`--first-byte-timeout` and `--max-attempts` must be at least 1",
            ));
        }
        let timeout = Duration::from_secs(self.upstream_timeout);
        Ok(Settings {
            first_byte_timeout: Duration::from_secs(self.first_byte_timeout).min(timeout),
            max_attempts: self.max_attempts,
            max_body: self.max_body_mb.saturating_mul(1024 * 1024),
            upstream_timeout: timeout,
            ping_interval: Settings::default().ping_interval.min(timeout),
            request_log: !self.no_log,
            no_content: self.no_content,
            ..Settings::default()
        })
    }
}

/// `bgw serve` options.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on
    #[arg(long, env = "BGW_HOST", default_value = "127.0.0.1")]
    pub host: IpAddr,

    /// Port to listen on (0 picks a free one)
    #[arg(long, env = "BGW_PORT", default_value_t = 8080)]
    pub port: u16,

    /// Serve requests without a virtual key too (as anonymous callers), even once virtual
    /// keys exist or on a non-loopback `--host`
    #[arg(long)]
    pub allow_anonymous: bool,

    #[command(flatten)]
    pub gateway: GatewayArgs,
}

/// Loads the routing table from the store.
pub fn load_routes(store: &Store) -> Result<Routes, CliError> {
    Ok(Routes::new(&store.keys()?))
}

/// Runs the gateway until Ctrl-C or SIGTERM.
pub fn run(store: &Store, args: ServeArgs) -> Result<ExitCode, CliError> {
    let mut settings = args.gateway.settings()?;
    settings.loopback_only = args.host.is_loopback();
    settings.require_key = !args.allow_anonymous;
    if !args.host.is_loopback() {
        if args.allow_anonymous {
            super::output::warn(&format!(
                "listening on {} with `--allow-anonymous`: anything that can reach this port can spend your keys",
                args.host
            ));
        } else if store.virtual_keys()?.is_empty() {
            return Err(CliError::new(format!(
                "refusing to listen on {} without virtual keys: anything that can reach the port could spend your provider keys",
                args.host
            ))
            .hint("create one per caller (`bgw keys virtual create alice`), or accept anyone with `--allow-anonymous`"));
        }
    }
    let rt = super::runtime(super::shared_workers())?;
    rt.block_on(async move {
        let running = gateway::start(
            SocketAddr::new(args.host, args.port),
            store.clone(),
            settings,
        )
        .await
        .map_err(CliError::new)?;
        let addr = running.addr;
        eprintln!("bgw: listening on http://{addr}  (ANTHROPIC_BASE_URL=http://{addr})");
        wait_for_stop_signal().await;
        let gw = running.stop().await;
        eprintln!("{}", session_line(&gw, store).await);
        Ok(ExitCode::SUCCESS)
    })
}

/// The end-of-session line: this gateway's rows in the request log, totalled. Without a log
/// (`--no-log`), or when the store cannot answer, the gateway's own counts.
pub async fn session_line(gw: &std::sync::Arc<gateway::Gateway>, store: &Store) -> String {
    // Charges still on their way to the ledger are written first, so the budgets say all.
    let charging = std::sync::Arc::clone(gw);
    let _ =
        tokio::task::spawn_blocking(move || charging.leases.flush(Duration::from_secs(5))).await;
    let budgets = {
        let (gw, store) = (std::sync::Arc::clone(gw), store.clone());
        tokio::task::spawn_blocking(move || budget_line(&gw, &store))
            .await
            .ok()
            .flatten()
    };
    let line = requests_line(gw, store).await;
    match budgets {
        Some(b) => format!("{line}\n{b}"),
        None => line,
    }
}

/// Where the budgets this session was charged to stand: its own (`--budget`) and those of
/// its virtual key, team, customer and the global one; `⚠` past a warning threshold.
fn budget_line(gw: &gateway::Gateway, store: &Store) -> Option<String> {
    use crate::govern::standing::Standing;
    let config = gw.current_config();
    let caller = gw
        .settings
        .default_key
        .as_deref()
        .and_then(|name| config.access.by_name(name))
        .map(|k| crate::govern::access::caller_of(k))
        .unwrap_or_default();
    let now = crate::store::now_ms();
    let mut standings: Vec<Standing> = Vec::new();
    if let Some(rule) = &gw.session {
        for mut s in Standing::of(rule, now) {
            s.spent = gw.leases.known(&s.account).map_or(0, |(spent, _)| spent);
            standings.push(s);
        }
    }
    let shared: Vec<Standing> = config
        .budgets
        .chain(None, &caller, "", None)
        .iter()
        .flat_map(|rule| Standing::of(rule, now))
        .filter(|s| s.meter.metric == crate::govern::meter::Metric::Usd)
        .collect();
    if !shared.is_empty() {
        let states = store
            .accounts(shared.iter().map(|s| s.account.clone()).collect())
            .ok()?;
        for (mut s, state) in shared.into_iter().zip(states) {
            s.spent = state.spent;
            standings.push(s);
        }
    }
    if standings.is_empty() {
        return None;
    }
    let parts: Vec<String> = standings
        .iter()
        .map(|s| {
            let mark = if s.warns() { " ⚠" } else { "" };
            format!(
                "{} {} of {} ({:.0}%){mark}",
                s.rule.record.id,
                s.amount(s.spent),
                s.limit_text(),
                s.used() * 100.0
            )
        })
        .collect();
    Some(format!("bgw: budgets: {}", parts.join(", ")))
}

/// The session's requests, tokens, cost and providers, from its rows in the request log.
async fn requests_line(gw: &std::sync::Arc<gateway::Gateway>, store: &Store) -> String {
    let Some(log) = &gw.log else {
        return gw.stats.totals().summary_line();
    };
    let run = log.run().to_owned();
    let store = store.clone();
    let flushing = std::sync::Arc::clone(gw);
    let unwritten = tokio::task::spawn_blocking(move || {
        flushing
            .log
            .as_ref()
            .map_or(0, |l| l.flush(Duration::from_secs(10)))
    })
    .await
    .unwrap_or(0);
    let trouble = log.trouble();
    let stats = tokio::task::spawn_blocking(move || {
        let query = crate::store::logs::LogQuery {
            run: Some(run),
            ..Default::default()
        };
        store.log_stats(&query, crate::store::stats::StatsBy::Provider)
    })
    .await;
    match stats {
        Ok(Ok(rows)) if unwritten == 0 => {
            crate::observe::session::Totals::from_stats(&rows).summary_line()
        }
        _ => {
            let why = trouble.unwrap_or_else(|| "the store did not answer".into());
            format!(
                "{}\nbgw: {unwritten} request(s) could not be written to the request log: {why}",
                gw.stats.totals().summary_line()
            )
        }
    }
}

async fn wait_for_stop_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let term = signal(SignalKind::terminate());
    match term {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
