//! The HTTP server: paths, the `/v1/messages` pipeline, Anthropic error shapes, SSE.

pub mod attempt;
pub mod auth;
pub mod body;
pub mod cloud_modes;
pub mod config;
pub mod count_tokens;
pub mod messages;
pub mod models;
pub mod router;
pub mod routing;
pub mod spend;
pub mod stream;

use arc_swap::ArcSwap;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};

use crate::govern::admit::Rule;
use crate::govern::amount::Nanodollars;
use crate::govern::lease::Leases;
use crate::govern::meter::Account;
use crate::govern::period::{Limit, Period};
use crate::govern::scope::{BudgetId, Scope};
use crate::messages::signature::ThinkingKey;
use crate::observe::{Finished, RequestLog, SessionStats};
use crate::providers::Secret;
use crate::providers::client::UpstreamClient;
use crate::providers::endpoint::CloudAuth;
use crate::route::health::Health;
use crate::route::sticky::Sticky;
use crate::store::budgets::BudgetRecord;
use crate::store::{Store, Watch};
use config::Config;

/// How long a request waits for a changed config to be read before it uses the old one.
const RELOAD_WAIT: Duration = Duration::from_millis(500);

/// Gateway settings fixed at start.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Requests must carry this secret (set by `bgw run`).
    pub session_token: Option<Secret>,
    /// Largest request body accepted, in bytes.
    pub max_body: usize,
    /// How long an upstream may stay silent (before headers, or mid-stream).
    pub upstream_timeout: Duration,
    /// How long a streamed answer's first event may take (from the request being sent)
    /// before the attempt fails and the next target is tried.
    pub first_byte_timeout: Duration,
    /// Tries of one request across all its targets.
    pub max_attempts: u32,
    /// How often a `ping` is written while a stream's upstream is silent.
    pub ping_interval: Duration,
    /// Refuse requests addressed to a non-loopback host name (DNS rebinding) or sent by
    /// a browser (`Origin`): a web page must not spend the user's keys.
    pub loopback_only: bool,
    /// Write a row for every request (`--no-log` turns it off).
    pub request_log: bool,
    /// Never keep request and response bodies, whatever the stored setting says.
    pub no_content: bool,
    /// Requests without a credential of their own are this virtual key's (`bgw run --key`).
    pub default_key: Option<String>,
    /// Once any virtual key exists, refuse requests that present none (`bgw serve`).
    pub require_key: bool,
    /// What this gateway's session may spend in all (`bgw run --budget`).
    pub session_budget: Option<Nanodollars>,
    /// The models `bgw run` gave Claude Code's tiers (`sonnet` → `openai/gpt-5`), which
    /// routing rules read as `tier`.
    pub tiers: Vec<(&'static str, String)>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            session_token: None,
            max_body: 32 * 1024 * 1024,
            upstream_timeout: Duration::from_secs(600),
            first_byte_timeout: Duration::from_secs(60),
            max_attempts: 4,
            ping_interval: Duration::from_secs(10),
            loopback_only: true,
            request_log: true,
            no_content: false,
            default_key: None,
            require_key: false,
            session_budget: None,
            tiers: Vec::new(),
        }
    }
}

/// Everything a request needs, shared by all connections.
pub struct Gateway {
    config: ArcSwap<Config>,
    /// Config changes heard from the store, and snapshots built since (a request arriving
    /// between the two waits a moment for the new one: a key added reaches it at once).
    heard: AtomicU64,
    built: AtomicU64,
    rebuilt: Notify,
    store: Option<Store>,
    pub client: UpstreamClient,
    pub settings: Settings,
    pub stats: SessionStats,
    /// Signs the thinking blocks bgw makes and recognises them when they come back.
    pub thinking: Arc<ThinkingKey>,
    /// The request log, when there is a store and it is on.
    pub log: Option<RequestLog>,
    /// This gateway's slices of the budgets it enforces.
    pub leases: Leases,
    /// The budget of this session (`bgw run --budget`), kept here alone.
    pub session: Option<Arc<Rule>>,
    /// Provider keys cooling down after a 429, targets skipped after failures.
    pub health: Health,
    /// The key (or target) each Claude Code session is kept on.
    pub sticky: Sticky,
    /// Base URLs of the `openai` provider that answered 404 to the Responses API: Chat
    /// Completions serves them.
    pub chat_only: std::sync::Mutex<std::collections::HashSet<String>>,
    /// Google access tokens, cached per credential; AWS signing.
    pub cloud_auth: CloudAuth,
}

impl Gateway {
    /// A gateway over the config in `store` (or a fixed `config` when there is no store).
    pub fn new(
        store: Option<Store>,
        config: Config,
        client: UpstreamClient,
        settings: Settings,
        thinking: ThinkingKey,
    ) -> Arc<Gateway> {
        let log = match &store {
            Some(store) if settings.request_log => {
                Some(RequestLog::start(store, !settings.no_content))
            }
            _ => None,
        };
        let leases = match &store {
            Some(store) => Leases::start(store),
            None => Leases::local_only(),
        };
        let run = log.as_ref().map_or("gateway", |l| l.run()).to_owned();
        let session = settings
            .session_budget
            .map(|limit| session_rule(&leases, &run, limit));
        let gateway = Arc::new(Gateway {
            config: ArcSwap::from_pointee(config),
            heard: AtomicU64::new(0),
            built: AtomicU64::new(0),
            rebuilt: Notify::new(),
            store,
            cloud_auth: CloudAuth::new(client.clone()),
            client,
            settings,
            stats: SessionStats::default(),
            thinking: Arc::new(thinking),
            log,
            leases,
            session,
            health: Health::default(),
            sticky: Sticky::default(),
            chat_only: Default::default(),
        });
        if let Some(store) = &gateway.store {
            let me: Weak<Gateway> = Arc::downgrade(&gateway);
            store.watch_config_acking(move |event| match me.upgrade() {
                Some(gw) => {
                    gw.heard_of(event);
                    true
                }
                // The gateway is gone: stop watching.
                None => false,
            });
        }
        gateway
            .stats
            .set_pricing((*gateway.config.load().pricing).clone());
        gateway
    }

    /// The store watcher heard `event` (on its own thread): builds the new config snapshot,
    /// or gives back budget room another gateway needs.
    fn heard_of(&self, event: Watch) {
        match event {
            Watch::Config => self.rebuild(),
            Watch::Reconnected => {
                self.leases.owner_changed();
                self.rebuild();
            }
            Watch::Recall {
                accounts,
                from,
                epoch,
            } => self.leases.answer_recall(&accounts, from, epoch),
            Watch::Rows(_) => {}
        }
    }

    fn rebuild(&self) {
        let Some(store) = &self.store else {
            return;
        };
        let heard = self.heard.fetch_add(1, Ordering::AcqRel) + 1;
        // While the store changes owner a read may fail; a few tries, then the old config
        // stays until the next change.
        for _ in 0..5 {
            if let Ok(config) = Config::load(store) {
                self.stats.set_pricing((*config.pricing).clone());
                let before = self.config.swap(Arc::new(config));
                // A limit may be lower now: room granted under the old one goes back.
                if !before.budgets.same_as(&self.config.load().budgets) {
                    self.leases.budgets_changed();
                }
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        self.built.fetch_max(heard, Ordering::AcqRel);
        self.rebuilt.notify_waiters();
    }

    /// The config snapshot; when a change was heard and is still being read, waits a moment
    /// for it, so a change made just before the request applies to it.
    pub async fn config(&self) -> Arc<Config> {
        let deadline = tokio::time::Instant::now() + RELOAD_WAIT;
        loop {
            let rebuilt = self.rebuilt.notified();
            tokio::pin!(rebuilt);
            rebuilt.as_mut().enable();
            if self.built.load(Ordering::Acquire) >= self.heard.load(Ordering::Acquire) {
                break;
            }
            if tokio::time::timeout_at(deadline, rebuilt).await.is_err() {
                break;
            }
        }
        self.config.load_full()
    }

    /// The snapshot as it is, without waiting for a change being read.
    pub fn current_config(&self) -> Arc<Config> {
        self.config.load_full()
    }

    /// Hands a finished request to the log (never waits).
    pub fn log_finished(&self, finished: Finished) {
        if let Some(log) = &self.log {
            log.submit(finished);
        }
    }
}

/// The rule of a session's budget, its whole room held by this gateway.
fn session_rule(leases: &Leases, run: &str, limit: Nanodollars) -> Arc<Rule> {
    let mut record = BudgetRecord::new(BudgetId::new(Scope::Session, run), crate::store::now_ms());
    record.money = Some(Limit {
        amount: limit,
        period: Period::Total,
    });
    let rule = Rule::new(record);
    for (meter, key, limit) in &rule.meters {
        let window = rule.window(meter.period, crate::store::now_ms());
        leases.set_local(
            Account {
                meter: key.clone(),
                window: window.start_ms,
            },
            *limit,
        );
    }
    Arc::new(rule)
}

/// Accepts connections until `shutdown` turns true.
pub async fn serve(
    listener: TcpListener,
    gateway: Arc<Gateway>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.changed() => break,
        };
        let (stream, _peer) = match accepted {
            Ok(a) => a,
            // Out of file descriptors and the like: wait a little rather than spin.
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let gateway = Arc::clone(&gateway);
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let gateway = Arc::clone(&gateway);
                async move { Ok::<_, std::convert::Infallible>(router::handle(gateway, req).await) }
            });
            let _ = http1::Builder::new()
                .timer(TokioTimer::new())
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// Binds `addr`, with a message that says what to do when the port is taken.
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, String> {
    TcpListener::bind(addr).await.map_err(|e| {
        if e.kind() == std::io::ErrorKind::AddrInUse {
            format!("cannot listen on {addr}: the port is in use; choose another with `--port`")
        } else {
            format!("cannot listen on {addr}: {e}")
        }
    })
}

/// The install's thinking key; when the store cannot keep one (a read-only data dir), a key
/// for this process, so bgw keeps working and only forgets its blocks across restarts.
async fn load_thinking_key(store: &Store) -> ThinkingKey {
    let store = store.clone();
    match tokio::task::spawn_blocking(move || store.thinking_key()).await {
        Ok(Ok(bytes)) => ThinkingKey::from_bytes(&bytes),
        _ => ThinkingKey::random(),
    }
}

/// A gateway serving in the background.
pub struct Running {
    pub gateway: Arc<Gateway>,
    pub addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

/// Binds `addr` and serves the config of `store` until [`Running::stop`].
pub async fn start(addr: SocketAddr, store: Store, settings: Settings) -> Result<Running, String> {
    let config = {
        let store = store.clone();
        tokio::task::spawn_blocking(move || Config::load(&store))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?
    };
    let thinking = load_thinking_key(&store).await;
    let client = crate::providers::client::client()?;
    let listener = bind(addr).await?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let gateway = Gateway::new(Some(store), config, client, settings, thinking);
    let (stop, stopped) = watch::channel(false);
    let task = tokio::spawn(serve(listener, Arc::clone(&gateway), stopped));
    Ok(Running {
        gateway,
        addr,
        stop,
        task,
    })
}

impl Running {
    /// Stops accepting connections and waits for the accept loop to end.
    pub async fn stop(self) -> Arc<Gateway> {
        let _ = self.stop.send(true);
        let _ = self.task.await;
        self.gateway
    }
}
