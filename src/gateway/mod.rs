//! The HTTP server: paths, the `/v1/messages` pipeline, Anthropic error shapes, SSE.

pub mod auth;
pub mod body;
pub mod count_tokens;
pub mod messages;
pub mod models;
pub mod router;

use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::observe::SessionStats;
use crate::providers::client::UpstreamClient;
use crate::route::{Routes, Secret};

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
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            session_token: None,
            max_body: 32 * 1024 * 1024,
            upstream_timeout: Duration::from_secs(600),
            ping_interval: Duration::from_secs(10),
        }
    }
}

/// Everything a request needs, shared by all connections.
pub struct Gateway {
    routes: RwLock<Arc<Routes>>,
    pub client: UpstreamClient,
    pub settings: Settings,
    pub stats: SessionStats,
}

impl Gateway {
    /// A gateway over these routes.
    pub fn new(routes: Routes, client: UpstreamClient, settings: Settings) -> Arc<Gateway> {
        Arc::new(Gateway {
            routes: RwLock::new(Arc::new(routes)),
            client,
            settings,
            stats: SessionStats::default(),
        })
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
