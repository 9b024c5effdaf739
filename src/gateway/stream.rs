//! A streamed response translated as hyper pulls it: no task, no channel.
//!
//! Each poll reads what the upstream has, runs it through the provider's decoder
//! and hands the SSE bytes straight to the client connection. While the upstream
//! is silent a `ping` is written every interval (Claude Code gives up on a stream
//! silent for minutes); when the client goes away hyper drops this body, and with
//! it the upstream response, which cancels the upstream request.

use bytes::Bytes;
use http_body::{Body, Frame};
use hyper::body::Incoming;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::{Instant, Sleep};

use super::Gateway;
use super::spend::Spend;
use crate::messages::{ApiError, ErrorKind, StreamEvent, Usage};
use crate::observe::{Answer, Pending};
use crate::providers::StreamDecoder;
use crate::providers::Target;
use crate::store::logs::LoggedError;

/// An upstream stream as the attempt that got it hands it over: the rest of its body, its
/// decoder, and what was decoded (not yet sent) while its content was awaited.
pub struct Upstream {
    pub body: Incoming,
    pub decoder: Box<dyn StreamDecoder>,
    pub held: Vec<u8>,
    pub ended: bool,
}

/// The body of a translated stream.
pub struct TranslatedBody {
    gateway: Arc<Gateway>,
    target: Target,
    decoder: Box<dyn StreamDecoder>,
    upstream: Incoming,
    /// Decoded before the response began, sent first.
    held: Vec<u8>,
    ping: Pin<Box<Sleep>>,
    silent: Duration,
    ended: bool,
    ok: bool,
    recorded: bool,
    /// The log row in the making, and a copy of what the client was sent (when kept).
    pending: Option<Pending>,
    sent: Vec<u8>,
    /// An `error` event the client was sent (by the decoder or by us).
    error: Option<LoggedError>,
    /// The request's budgets, charged when it ends.
    spend: Spend,
    /// The text of the deltas sent, kept while budgets count the request: a stream the
    /// client cuts is charged for the output it got, which the provider never reports.
    sent_text: Vec<u8>,
}

impl TranslatedBody {
    /// A body that sends what `upstream` holds, then translates the rest of it.
    pub fn new(
        gateway: Arc<Gateway>,
        target: Target,
        upstream: Upstream,
        pending: Option<Pending>,
        spend: Spend,
    ) -> TranslatedBody {
        let every = gateway.settings.ping_interval;
        TranslatedBody {
            gateway,
            target,
            decoder: upstream.decoder,
            upstream: upstream.body,
            held: upstream.held,
            ping: Box::pin(tokio::time::sleep(every)),
            silent: Duration::ZERO,
            ended: upstream.ended,
            ok: true,
            recorded: false,
            pending,
            sent: Vec::new(),
            error: None,
            spend,
            sent_text: Vec::new(),
        }
    }

    /// What the request used: as the provider reported it, or, for a stream cut before the
    /// provider said, its input as estimated and the output the client got.
    fn usage(&self) -> Usage {
        let mut usage = self.decoder.usage();
        // Cut by the client, or by the provider (a broken or silent stream): the provider's
        // own count may never have come.
        if (!self.ended || !self.ok) && self.spend.is_metered() {
            if usage.total_input() == 0 {
                usage.input_tokens = self.spend.input_estimate();
            }
            let text = String::from_utf8_lossy(&self.sent_text);
            usage.output_tokens = usage.output_tokens.max(crate::tokens::estimate_text(&text));
        }
        usage
    }

    fn record(&mut self) {
        if !self.recorded {
            self.recorded = true;
            let usage = self.usage();
            let (provider, model) = (&self.target.provider, &self.target.upstream_model);
            let cost = self.spend.settle(provider, model, &usage);
            self.gateway
                .stats
                .record(provider, model, &usage, self.ok && self.ended);
            if let Some(mut p) = self.pending.take() {
                p.charged(cost);
                let error = self.error.take().or_else(|| {
                    (!self.ended).then(|| LoggedError {
                        kind: "client_closed".into(),
                        message: "the client closed the connection before the answer ended".into(),
                    })
                });
                let answer = if p.keeps_content() {
                    Answer::Sse(std::mem::take(&mut self.sent))
                } else {
                    Answer::None
                };
                self.gateway
                    .log_finished(p.finish(200, error, usage, answer));
            }
        }
    }

    /// Notes what was sent for the log: the first byte's time, a copy, an error event; and
    /// for the budgets, the text of its deltas.
    fn note_sent(&mut self, out: &[u8]) {
        if self.spend.is_metered() {
            delta_text(out, &mut self.sent_text);
        }
        let Some(p) = self.pending.as_mut() else {
            return;
        };
        p.first_byte();
        if p.keeps_content() {
            self.sent.extend_from_slice(out);
        }
        if self.error.is_none() {
            self.error = error_event(out);
        }
    }

    /// Reads what the upstream has already sent after the answer (usually only the end
    /// of its body), without waiting: an upstream body read to its end lets the pool
    /// reuse the connection, which saves a TCP and TLS handshake on the next request.
    fn drain_upstream(&mut self, cx: &mut Context<'_>) {
        for _ in 0..8 {
            match Pin::new(&mut self.upstream).poll_frame(cx) {
                Poll::Ready(Some(Ok(_))) => continue,
                Poll::Ready(_) | Poll::Pending => return,
            }
        }
    }

    fn fail(&mut self, kind: ErrorKind, message: String, out: &mut Vec<u8>) {
        self.ok = false;
        self.ended = true;
        out.extend_from_slice(&ApiError::new(kind, message).to_sse());
    }
}

impl Body for TranslatedBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        let mut out = std::mem::take(&mut this.held);
        while !this.ended && out.is_empty() {
            match Pin::new(&mut this.upstream).poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => {
                    this.silent = Duration::ZERO;
                    let every = this.gateway.settings.ping_interval;
                    this.ping.as_mut().reset(Instant::now() + every);
                    if let Some(data) = frame.data_ref() {
                        this.decoder.feed(data, &mut out);
                    }
                    // The answer is whole: end now, even if the upstream keeps its
                    // connection open.
                    this.ended = this.decoder.done();
                }
                Poll::Ready(None) => {
                    this.decoder.finish(&mut out);
                    this.ended = true;
                }
                Poll::Ready(Some(Err(e))) => {
                    let message = format!(
                        "{}: the connection broke mid-stream: {e}",
                        this.target.provider
                    );
                    this.fail(ErrorKind::Api, message, &mut out);
                }
                Poll::Pending => {
                    if this.ping.as_mut().poll(cx).is_pending() {
                        return Poll::Pending;
                    }
                    let every = this.gateway.settings.ping_interval;
                    this.silent += every;
                    let limit = this.gateway.settings.upstream_timeout;
                    if this.silent >= limit {
                        let message = format!(
                            "{}: the stream was silent for {} s",
                            this.target.provider,
                            limit.as_secs()
                        );
                        this.fail(ErrorKind::Timeout, message, &mut out);
                    } else {
                        StreamEvent::Ping.write_sse(&mut out);
                        this.ping.as_mut().reset(Instant::now() + every);
                    }
                }
            }
        }
        // The last bytes are noted before the row is made: a stream whose end came in the
        // same upstream frame as the rest was logged without its answer (regression).
        if !out.is_empty() {
            this.note_sent(&out);
        }
        if this.ended {
            this.drain_upstream(cx);
            this.record();
        }
        if out.is_empty() {
            Poll::Ready(None)
        } else {
            Poll::Ready(Some(Ok(Frame::data(Bytes::from(out)))))
        }
    }

    fn is_end_stream(&self) -> bool {
        false
    }
}

/// Appends the text of each delta in `out` (text, thinking, tool input), as it stands in the
/// JSON (escapes and all: close enough to count its tokens).
fn delta_text(out: &[u8], text: &mut Vec<u8>) {
    for key in [
        &b"\"text\":\""[..],
        b"\"thinking\":\"",
        b"\"partial_json\":\"",
    ] {
        for at in memchr::memmem::find_iter(out, key) {
            let rest = &out[at + key.len()..];
            let mut end = 0;
            while end < rest.len() && rest[end] != b'"' {
                end += if rest[end] == b'\\' { 2 } else { 1 };
            }
            text.extend_from_slice(&rest[..end.min(rest.len())]);
        }
    }
}

/// The error an `error` event in `out` carries, if there is one.
pub fn error_event(out: &[u8]) -> Option<LoggedError> {
    let at = memchr::memmem::find(out, b"event: error\n")?;
    let rest = &out[at..];
    let data = memchr::memmem::find(rest, b"data: ")? + 6;
    let end = memchr::memchr(b'\n', &rest[data..]).map_or(rest.len(), |e| data + e);
    let v: serde_json::Value = serde_json::from_slice(&rest[data..end]).ok()?;
    let e = v.get("error")?;
    Some(LoggedError {
        kind: e.get("type")?.as_str()?.to_owned(),
        message: e
            .get("message")
            .and_then(|m| m.as_str())
            .unwrap_or("")
            .to_owned(),
    })
}

impl Drop for TranslatedBody {
    /// The client went away before the end: count the request as failed.
    fn drop(&mut self) {
        if !self.ended {
            self.ok = false;
        }
        self.record();
    }
}
