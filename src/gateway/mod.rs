//! The HTTP server: paths, the `/v1/messages` pipeline, Anthropic error shapes, SSE.

pub mod auth;
pub mod body;
pub mod count_tokens;
pub mod messages;
pub mod models;
pub mod router;
pub mod stream;

use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::messages::signature::ThinkingKey;
use crate::observe::{Finished, RequestLog, SessionStats};
use crate::providers::client::UpstreamClient;
use crate::route::{Routes, Secret};
use crate::store::Store;

/// How long a request waits for changed keys to be read before it uses the old ones.
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
    /// How often a `ping` is written while a stream's upstream is silent.
    pub ping_interval: Duration,
    /// Refuse requests addressed to a non-loopback host name (DNS rebinding) or sent by
    /// a browser (`Origin`): a web page must not spend the user's keys.
    pub loopback_only: bool,
    /// Write a row for every request (`--no-log` turns it off).
    pub request_log: bool,
    /// Never keep request and response bodies, whatever the stored setting says.
    pub no_content: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            session_token: None,
            max_body: 32 * 1024 * 1024,
            upstream_timeout: Duration::from_secs(600),
            ping_interval: Duration::from_secs(10),
            loopback_only: true,
            request_log: true,
            no_content: false,
        }
    }
}

/// Everything a request needs, shared by all connections.
pub struct Gateway {
    routes: RwLock<Arc<Routes>>,
    /// Where keys come from; watched so `bgw keys add` reaches a running gateway.
    store: Option<Store>,
    /// Set by the store watcher when keys, prices or settings changed; the next request reloads.
    config_changed: Arc<AtomicBool>,
    pub client: UpstreamClient,
    pub settings: Settings,
    pub stats: SessionStats,
    /// Signs the thinking blocks bgw makes and recognises them when they come back.
    pub thinking: Arc<ThinkingKey>,
    /// The request log, when there is a store and it is on.
    pub log: Option<RequestLog>,
}

impl Gateway {
    /// A gateway over the keys in `store` (or fixed `routes` when there is no store).
    pub fn new(
        store: Option<Store>,
        routes: Routes,
        client: UpstreamClient,
        settings: Settings,
        thinking: ThinkingKey,
    ) -> Arc<Gateway> {
        let config_changed = Arc::new(AtomicBool::new(false));
        if let Some(store) = &store {
            let flag = Arc::clone(&config_changed);
            store.watch_config(move |_| {
                flag.store(true, Ordering::Release);
                true
            });
        }
        let log = match &store {
            Some(store) if settings.request_log => {
                Some(RequestLog::start(store, !settings.no_content))
            }
            _ => None,
        };
        Arc::new(Gateway {
            routes: RwLock::new(Arc::new(routes)),
            store,
            config_changed,
            client,
            settings,
            stats: SessionStats::default(),
            thinking: Arc::new(thinking),
            log,
        })
    }

    /// The routing snapshot, re-read first if the store's config changed since the last look.
    pub async fn fresh_routes(&self) -> Arc<Routes> {
        if let Some(store) = &self.store {
            if self.config_changed.swap(false, Ordering::AcqRel) {
                let store = store.clone();
                let read = tokio::task::spawn_blocking(move || {
                    Ok::<_, crate::store::StoreError>((
                        store.keys()?,
                        store.log_settings()?,
                        store.pricing()?,
                    ))
                });
                // While the store changes owner the read may take a moment; the request goes
                // on with the routes it has rather than wait.
                match tokio::time::timeout(RELOAD_WAIT, read).await {
                    Ok(Ok(Ok((keys, log_settings, pricing)))) => {
                        self.set_routes(Routes::new(&keys));
                        self.stats.set_pricing(pricing);
                        if let Some(log) = &self.log {
                            log.set_content(log_settings.content && !self.settings.no_content);
                        }
                    }
                    // Keep what we have; look again on the next request.
                    _ => self.config_changed.store(true, Ordering::Release),
                }
            }
        }
        self.routes()
    }

    /// Hands a finished request to the log (never waits).
    pub fn log_finished(&self, finished: Finished) {
        if let Some(log) = &self.log {
            log.submit(finished);
        }
    }

    /// The current routing snapshot (cheap: one `Arc` clone, no lock held after).
    pub fn routes(&self) -> Arc<Routes> {
        match self.routes.read() {
            Ok(r) => Arc::clone(&r),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Replaces the routing snapshot (after keys change).
    pub fn set_routes(&self, routes: Routes) {
        let next = Arc::new(routes);
        match self.routes.write() {
            Ok(mut r) => *r = next,
            Err(poisoned) => *poisoned.into_inner() = next,
        }
    }
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

/// Binds `addr` and serves the keys of `store` until [`Running::stop`].
pub async fn start(addr: SocketAddr, store: Store, settings: Settings) -> Result<Running, String> {
    let keys = {
        let store = store.clone();
        tokio::task::spawn_blocking(move || store.keys())
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?
    };
    let thinking = load_thinking_key(&store).await;
    let log_settings = {
        let store = store.clone();
        tokio::task::spawn_blocking(move || store.log_settings())
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?
    };
    let pricing = {
        let store = store.clone();
        tokio::task::spawn_blocking(move || store.pricing())
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?
    };
    let client = crate::providers::client::client()?;
    let listener = bind(addr).await?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let gateway = Gateway::new(Some(store), Routes::new(&keys), client, settings, thinking);
    if let Some(log) = &gateway.log {
        log.set_content(log_settings.content && !gateway.settings.no_content);
    }
    gateway.stats.set_pricing(pricing);
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
