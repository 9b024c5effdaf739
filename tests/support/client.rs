//! A small HTTP/1.1 client for talking to the gateway under test.
//!
//! One connection per request, so a test can hang up on one stream (drop the socket
//! mid-response) without touching anything else. Responses are read incrementally;
//! every wait is bounded by [`STEP`] so a broken gateway fails a test instead of hanging it.

use bytes::Bytes;
use http::{HeaderMap, Method, Request};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpStream;
use tokio::task::JoinHandle;

use super::sse::{Event, EventParser};
use super::{STEP, messages_request};

/// A client for one gateway.
#[derive(Debug, Clone, Copy)]
pub struct Client {
    port: u16,
}

impl Client {
    /// A client for the gateway on this local port.
    pub fn new(port: u16) -> Client {
        Client { port }
    }

    /// `POST path` with a JSON body.
    pub async fn post_json(&self, path: &str, body: &Value) -> Response {
        self.send(Method::POST, path, &[], serde_json::to_vec(body).unwrap())
            .await
    }

    /// `POST path` with a JSON body and extra headers.
    pub async fn post_json_with(
        &self,
        path: &str,
        headers: &[(&str, &str)],
        body: &Value,
    ) -> Response {
        self.send(
            Method::POST,
            path,
            headers,
            serde_json::to_vec(body).unwrap(),
        )
        .await
    }

    /// `POST /v1/messages` with a JSON body.
    pub async fn messages(&self, body: &Value) -> Response {
        self.post_json("/v1/messages", body).await
    }

    /// `POST /v1/messages` with a JSON body; every SSE event of the answer.
    pub async fn events(&self, body: &Value) -> Vec<Event> {
        self.messages(body).await.sse().all().await
    }

    /// `POST /v1/messages` with the small [`messages_request`] ("Say hello.") for `model`.
    pub async fn hello(&self, model: &str, stream: bool) -> Response {
        self.messages(&messages_request(model, stream)).await
    }

    /// The streamed [`hello`](Client::hello) for `model`: every SSE event of the answer.
    pub async fn hello_events(&self, model: &str) -> Vec<Event> {
        self.events(&messages_request(model, true)).await
    }

    /// `POST path` with a body sent as given and these headers.
    pub async fn post(
        &self,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> Response {
        self.send(Method::POST, path, headers, body).await
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> Response {
        self.send(Method::GET, path, &[], Vec::new()).await
    }

    /// Any request. `content-type: application/json` is added when the body is not empty
    /// and the caller set none.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> Response {
        let body: Bytes = body.into();
        let stream = tokio::time::timeout(STEP, TcpStream::connect(("127.0.0.1", self.port)))
            .await
            .expect("connecting to bgw timed out")
            .expect("cannot connect to bgw");
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .unwrap();
        let conn = tokio::spawn(async move {
            let _ = conn.await;
        });
        let mut req = Request::builder().method(method).uri(path);
        if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
            req = req.header("host", format!("127.0.0.1:{}", self.port));
        }
        let has_type = headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("content-type"));
        if !body.is_empty() && !has_type {
            req = req.header("content-type", "application/json");
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req.body(Full::new(body)).unwrap();
        let resp = tokio::time::timeout(STEP, sender.send_request(req))
            .await
            .expect("bgw sent no response headers in time")
            .expect("request to bgw failed");
        let (parts, body) = resp.into_parts();
        Response {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body,
            conn,
        }
    }
}

/// A response whose body has not been read yet.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: HeaderMap,
    body: Incoming,
    conn: JoinHandle<()>,
}

impl Response {
    /// A response header, as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The whole body.
    pub async fn bytes(self) -> Bytes {
        let b = tokio::time::timeout(STEP, self.body.collect())
            .await
            .expect("the response body did not end in time")
            .expect("the response body broke")
            .to_bytes();
        self.conn.abort();
        b
    }

    /// The whole body as text.
    pub async fn text(self) -> String {
        String::from_utf8(self.bytes().await.to_vec()).unwrap()
    }

    /// The whole body as JSON (panics with the text when it is not JSON).
    pub async fn json(self) -> Value {
        let text = self.text().await;
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("response is not JSON ({e}): {text}"))
    }

    /// The body as a stream of SSE events, read as they arrive.
    pub fn sse(self) -> SseStream {
        SseStream {
            body: Some(self.body),
            parser: EventParser::default(),
            pending: std::collections::VecDeque::new(),
            raw: Vec::new(),
            conn: self.conn,
        }
    }
}

/// An SSE response read event by event.
#[derive(Debug)]
pub struct SseStream {
    body: Option<Incoming>,
    parser: EventParser,
    pending: std::collections::VecDeque<Event>,
    raw: Vec<u8>,
    conn: JoinHandle<()>,
}

impl SseStream {
    /// The next event; `None` once the body has ended.
    pub async fn next(&mut self) -> Option<Event> {
        loop {
            if let Some(e) = self.pending.pop_front() {
                return Some(e);
            }
            let body = self.body.as_mut()?;
            let frame = tokio::time::timeout(STEP, body.frame())
                .await
                .expect("no SSE event arrived in time");
            match frame {
                Some(Ok(frame)) => {
                    if let Some(data) = frame.data_ref() {
                        self.raw.extend_from_slice(data);
                        self.pending.extend(self.parser.feed(data));
                    }
                }
                Some(Err(e)) => panic!("the SSE body broke: {e}"),
                None => {
                    self.body = None;
                    self.pending.extend(self.parser.finish());
                }
            }
        }
    }

    /// Every remaining event, until the body ends.
    pub async fn rest(&mut self) -> Vec<Event> {
        let mut all = Vec::new();
        while let Some(e) = self.next().await {
            all.push(e);
        }
        all
    }

    /// Every event of the response (reads it to the end).
    pub async fn all(mut self) -> Vec<Event> {
        self.rest().await
    }

    /// Every byte read so far, as sent.
    pub fn raw(&self) -> &[u8] {
        &self.raw
    }

    /// Drops the connection at once, in the middle of the response.
    pub fn hang_up(mut self) {
        self.body = None;
        self.conn.abort();
    }
}
