//! A programmable upstream: an HTTP/1.1 server on 127.0.0.1:0 (tokio + hyper).
//!
//! Every request is recorded (method, path and query, headers, body). Replies are
//! scripted per test, in order: a whole body, a stream written as a sequence of byte
//! chunks with optional pauses (each chunk goes out as its own write, so a test can
//! split SSE frames anywhere), a hang that never answers, or a stream cut off without
//! its end. The mock also notices when the client (bgw) hangs up in the middle of a
//! stream, which is how the cancellation tests see that bgw closed its upstream request.

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Request, Response, StatusCode};
use http_body::{Body, Frame};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::{Notify, mpsc};
use tokio::task::AbortHandle;

/// One request the mock received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    /// Path and query, as sent (`/v1/messages?beta=true`).
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Recorded {
    /// The value of a header, as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body parsed as JSON (panics with the body when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("upstream request body is not JSON ({e}): {}", self.text()))
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One step of a streamed reply.
#[derive(Debug, Clone)]
pub enum Part {
    /// Write these bytes (one body frame, flushed on its own).
    Bytes(Bytes),
    /// Wait this long before the next step.
    Sleep(Duration),
    /// Cut the connection here: the body never ends properly (no last chunk).
    Abort,
    /// Send nothing more and never end.
    Hang,
}

/// A scripted reply.
#[derive(Debug, Clone)]
pub enum Reply {
    /// A whole body.
    Full {
        status: u16,
        headers: Vec<(String, String)>,
        body: Bytes,
    },
    /// A body written step by step; it ends cleanly after the last step unless a step says otherwise.
    Stream {
        status: u16,
        headers: Vec<(String, String)>,
        parts: Vec<Part>,
    },
    /// Never answer (not even headers).
    Hang,
}

/// The pause put between the chunks of [`Reply::sse`], so each chunk is its own TCP write.
pub const CHUNK_GAP: Duration = Duration::from_millis(2);

impl Reply {
    /// A JSON body with this status.
    pub fn json(status: u16, body: &Value) -> Reply {
        Reply::Full {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: Bytes::from(serde_json::to_vec(body).unwrap()),
        }
    }

    /// A body of any content type.
    pub fn body(status: u16, content_type: &str, body: impl Into<Bytes>) -> Reply {
        Reply::Full {
            status,
            headers: vec![("content-type".into(), content_type.into())],
            body: body.into(),
        }
    }

    /// A 200 `text/event-stream` written as these chunks, [`CHUNK_GAP`] apart.
    pub fn sse<I, B>(chunks: I) -> Reply
    where
        I: IntoIterator<Item = B>,
        B: Into<Bytes>,
    {
        let mut parts = Vec::new();
        for c in chunks {
            if !parts.is_empty() {
                parts.push(Part::Sleep(CHUNK_GAP));
            }
            parts.push(Part::Bytes(c.into()));
        }
        Reply::sse_parts(parts)
    }

    /// A 200 `text/event-stream` of these steps, as given.
    pub fn sse_parts(parts: Vec<Part>) -> Reply {
        Reply::Stream {
            status: 200,
            headers: vec![
                ("content-type".into(), "text/event-stream".into()),
                ("cache-control".into(), "no-cache".into()),
            ],
            parts,
        }
    }

    /// The same reply with one more header.
    pub fn header(mut self, name: &str, value: &str) -> Reply {
        match &mut self {
            Reply::Full { headers, .. } | Reply::Stream { headers, .. } => {
                headers.push((name.into(), value.into()));
            }
            Reply::Hang => {}
        }
        self
    }
}

/// Answers a request from what it asks, once the scripted replies are used up.
pub type Responder = Arc<dyn Fn(&Recorded) -> Reply + Send + Sync>;

#[derive(Default)]
struct State {
    requests: Mutex<Vec<Recorded>>,
    replies: Mutex<VecDeque<Reply>>,
    responder: Mutex<Option<Responder>>,
    /// Streams whose client went away before the stream ended.
    hangups: AtomicUsize,
    /// Streams that reached their end with the client still there.
    completed: AtomicUsize,
    /// Chunks written by all streams so far.
    chunks_sent: AtomicUsize,
    changed: Notify,
    tasks: Mutex<Vec<AbortHandle>>,
}

/// A mock upstream; stops (and drops every connection) when dropped.
pub struct Mock {
    addr: SocketAddr,
    state: Arc<State>,
}

impl Mock {
    /// Starts a mock with these replies queued, answered in order.
    pub async fn start(replies: impl IntoIterator<Item = Reply>) -> Mock {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(State::default());
        state.replies.lock().unwrap().extend(replies);
        let accept_state = Arc::clone(&state);
        let accept = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let conn_state = Arc::clone(&accept_state);
                let task = tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let state = Arc::clone(&conn_state);
                        async move { Ok::<_, Infallible>(answer(state, req).await) }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
                accept_state.tasks.lock().unwrap().push(task.abort_handle());
            }
        });
        state.tasks.lock().unwrap().push(accept.abort_handle());
        Mock { addr, state }
    }

    /// Starts a mock that answers each request by calling `respond` with it (for clients,
    /// like an interactive Claude Code, whose requests come in no fixed order).
    pub async fn answering(respond: impl Fn(&Recorded) -> Reply + Send + Sync + 'static) -> Mock {
        let mock = Mock::start([]).await;
        *mock.state.responder.lock().unwrap() = Some(Arc::new(respond));
        mock
    }

    /// Answers each request by calling `respond` with it from now on, once the scripted
    /// replies are used up (for a responder that needs the mock's own URL).
    pub fn respond_with(&self, respond: impl Fn(&Recorded) -> Reply + Send + Sync + 'static) {
        *self.state.responder.lock().unwrap() = Some(Arc::new(respond));
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// This mock's URL followed by `path` (`/v1`, `/openai/v1`).
    pub fn at(&self, path: &str) -> String {
        format!("{}{path}", self.url())
    }

    /// Queues one more reply.
    pub fn push(&self, reply: Reply) {
        self.state.replies.lock().unwrap().push_back(reply);
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.state.requests.lock().unwrap().clone()
    }

    /// The only request received (panics if there were none or several).
    pub fn only_request(&self) -> Recorded {
        let all = self.requests();
        assert_eq!(
            all.len(),
            1,
            "expected exactly one upstream request, got {all:#?}"
        );
        all.into_iter().next().unwrap()
    }

    /// Streams whose client hung up before the end.
    pub fn hangups(&self) -> usize {
        self.state.hangups.load(Ordering::SeqCst)
    }

    /// Streams that ran to their end.
    pub fn completed(&self) -> usize {
        self.state.completed.load(Ordering::SeqCst)
    }

    /// Chunks written so far by all streams.
    pub fn chunks_sent(&self) -> usize {
        self.state.chunks_sent.load(Ordering::SeqCst)
    }

    /// Waits until a stream's client hangs up; the time it took, or `None` after `limit`.
    pub async fn wait_for_hangup(&self, limit: Duration) -> Option<Duration> {
        let start = Instant::now();
        loop {
            let notified = self.state.changed.notified();
            if self.hangups() > 0 {
                return Some(start.elapsed());
            }
            let left = limit.checked_sub(start.elapsed())?;
            let _ = tokio::time::timeout(left, notified).await;
        }
    }
}

impl Drop for Mock {
    fn drop(&mut self) {
        for t in self.state.tasks.lock().unwrap().drain(..) {
            t.abort();
        }
    }
}

/// A port nothing listens on (bound, then released).
pub fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

async fn answer(state: Arc<State>, req: Request<Incoming>) -> Response<MockBody> {
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    let recorded = Recorded {
        method: parts.method.to_string(),
        path: parts
            .uri
            .path_and_query()
            .map_or_else(|| parts.uri.path().to_owned(), |pq| pq.as_str().to_owned()),
        headers: parts.headers,
        body,
    };
    state.requests.lock().unwrap().push(recorded.clone());
    state.changed.notify_waiters();
    let reply = state.replies.lock().unwrap().pop_front();
    let responder = state.responder.lock().unwrap().clone();
    let reply = reply.or_else(|| responder.map(|r| r(&recorded)));
    let reply = reply.unwrap_or_else(|| {
        Reply::json(
            500,
            &serde_json::json!({"error": {"message": "mock: no reply scripted for this request", "type": "server_error", "param": null, "code": null}}),
        )
    });
    match reply {
        Reply::Full {
            status,
            headers,
            body,
        } => respond(status, &headers, MockBody::Full(Some(body))),
        Reply::Stream {
            status,
            headers,
            parts,
        } => {
            let (tx, rx) = mpsc::channel(1);
            tokio::spawn(produce(Arc::clone(&state), parts, tx));
            respond(status, &headers, MockBody::Channel(rx))
        }
        Reply::Hang => std::future::pending().await,
    }
}

fn respond(status: u16, headers: &[(String, String)], body: MockBody) -> Response<MockBody> {
    let mut resp = Response::new(body);
    *resp.status_mut() = StatusCode::from_u16(status).unwrap();
    for (k, v) in headers {
        resp.headers_mut().append(
            HeaderName::from_bytes(k.as_bytes()).unwrap(),
            HeaderValue::from_str(v).unwrap(),
        );
    }
    resp
}

/// Writes a stream's steps; notes whether the client stayed to the end.
async fn produce(
    state: Arc<State>,
    parts: Vec<Part>,
    tx: mpsc::Sender<Result<Bytes, std::io::Error>>,
) {
    let hung_up = |state: &State| {
        state.hangups.fetch_add(1, Ordering::SeqCst);
        state.changed.notify_waiters();
    };
    for part in parts {
        match part {
            Part::Bytes(b) => {
                if tx.send(Ok(b)).await.is_err() {
                    return hung_up(&state);
                }
                state.chunks_sent.fetch_add(1, Ordering::SeqCst);
            }
            Part::Sleep(d) => {
                tokio::select! {
                    _ = tokio::time::sleep(d) => {}
                    _ = tx.closed() => return hung_up(&state),
                }
            }
            Part::Abort => {
                let _ = tx
                    .send(Err(std::io::Error::other("mock: connection cut")))
                    .await;
                state.completed.fetch_add(1, Ordering::SeqCst);
                state.changed.notify_waiters();
                return;
            }
            Part::Hang => {
                tx.closed().await;
                return hung_up(&state);
            }
        }
    }
    drop(tx);
    state.completed.fetch_add(1, Ordering::SeqCst);
    state.changed.notify_waiters();
}

/// The mock's response body: whole, or fed by a stream's producer.
pub enum MockBody {
    Full(Option<Bytes>),
    Channel(mpsc::Receiver<Result<Bytes, std::io::Error>>),
}

impl Body for MockBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        match self.get_mut() {
            MockBody::Full(b) => Poll::Ready(b.take().map(|b| Ok(Frame::data(b)))),
            MockBody::Channel(rx) => rx.poll_recv(cx).map(|m| m.map(|r| r.map(Frame::data))),
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, MockBody::Full(None))
    }

    fn size_hint(&self) -> http_body::SizeHint {
        match self {
            MockBody::Full(Some(b)) => http_body::SizeHint::with_exact(b.len() as u64),
            MockBody::Full(None) => http_body::SizeHint::with_exact(0),
            MockBody::Channel(_) => http_body::SizeHint::default(),
        }
    }
}
