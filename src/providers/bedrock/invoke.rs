//! InvokeModel's stream for Claude: AWS event-stream messages, each `chunk` carrying one
//! Anthropic event's JSON in base64, unwrapped and passed through as the SSE Anthropic's API
//! sends; an exception message becomes the Anthropic error it stands for.

use base64::Engine as _;
use serde::Deserialize;

use super::eventstream::{self, Message};
use crate::messages::{ApiError, ErrorKind, Usage};
use crate::providers::StreamDecoder;
use crate::providers::anthropic::PassthroughStream;
use crate::providers::framed::{Frame, Framer, FramingError};

/// Cuts an event-stream into frames: an event's name is its `:event-type`, an exception's its
/// `:exception-type`.
#[derive(Debug, Default)]
pub struct EventStreamFramer {
    decoder: eventstream::Decoder,
    messages: Vec<Message>,
}

impl Framer for EventStreamFramer {
    fn feed(&mut self, chunk: &[u8], out: &mut Vec<Frame>) -> Result<(), FramingError> {
        let fed = self.decoder.feed(chunk, &mut self.messages);
        for m in self.messages.drain(..) {
            out.push(frame(&m)?);
        }
        fed.map_err(|e| FramingError::Corrupt(e.to_string()))
    }

    fn finish(&mut self, _out: &mut Vec<Frame>) -> Result<(), FramingError> {
        self.decoder
            .finish()
            .map_err(|e| FramingError::Corrupt(e.to_string()))
    }
}

fn frame(m: &Message) -> Result<Frame, FramingError> {
    let exception = m.message_type() != Some("event");
    let name = if exception {
        m.exception_type()
            .or(m.header(":error-code").and_then(|v| v.as_str()))
    } else {
        m.event_type()
    };
    let data = std::str::from_utf8(&m.payload)
        .map_err(|_| FramingError::Corrupt("a message's payload is not UTF-8".into()))?;
    Ok(Frame {
        name: name.map(str::to_owned),
        data: data.to_owned(),
        exception,
    })
}

/// The Anthropic error an event-stream exception stands for.
pub fn exception_error(provider: &str, exception: &str, payload: &str) -> ApiError {
    // The exceptions are the HTTP errors of the same names, sent inside the stream.
    let (status, kind) = match exception {
        "throttlingException" => (429, "ThrottlingException"),
        "serviceUnavailableException" => (503, "ServiceUnavailableException"),
        "validationException" => (400, "ValidationException"),
        "modelTimeoutException" => (408, "ModelTimeoutException"),
        "modelStreamErrorException" => (424, "ModelStreamErrorException"),
        _ => (500, "InternalServerException"),
    };
    super::converse::upstream_error(provider, status, Some(kind), payload.as_bytes())
}

#[derive(Deserialize)]
struct Chunk<'a> {
    #[serde(borrow)]
    bytes: &'a str,
}

#[derive(Deserialize)]
struct EventType<'a> {
    #[serde(rename = "type", borrow)]
    kind: &'a str,
}

/// Decodes InvokeModelWithResponseStream's answer into Anthropic SSE bytes.
#[derive(Debug)]
pub struct InvokeStream {
    provider: String,
    framer: EventStreamFramer,
    frames: Vec<Frame>,
    inner: PassthroughStream,
    stopped: bool,
}

impl InvokeStream {
    /// A decoder of `provider`'s stream (named in its errors).
    pub fn new(provider: &str) -> InvokeStream {
        InvokeStream {
            provider: provider.to_owned(),
            framer: EventStreamFramer::default(),
            frames: Vec::new(),
            inner: PassthroughStream::new(provider),
            stopped: false,
        }
    }

    fn fail(&mut self, err: ApiError, out: &mut Vec<u8>) {
        if !self.stopped && !self.inner.done() {
            out.extend_from_slice(&err.to_sse());
        }
        self.stopped = true;
    }

    fn take(&mut self, fed: Result<(), FramingError>, out: &mut Vec<u8>) {
        // Taken out and put back, so its memory serves the next feed too.
        let mut frames = std::mem::take(&mut self.frames);
        for frame in frames.drain(..) {
            if self.stopped {
                break;
            }
            if frame.exception {
                let name = frame.name.as_deref().unwrap_or("internalServerException");
                let err = exception_error(&self.provider, name, &frame.data);
                self.fail(err, out);
                continue;
            }
            if frame.name.as_deref() != Some("chunk") {
                continue;
            }
            match unwrap_chunk(&frame.data) {
                Ok(sse) => self.inner.feed(&sse, out),
                Err(why) => {
                    let err = ApiError::new(
                        ErrorKind::Api,
                        format!(
                            "{}: Bedrock sent a stream chunk bgw cannot read ({why})",
                            self.provider
                        ),
                    );
                    self.fail(err, out);
                }
            }
        }
        self.frames = frames;
        if let Err(e) = fed {
            let err = e.to_api_error(&self.provider);
            self.fail(err, out);
        }
    }
}

/// A `chunk` payload (`{"bytes":"<base64 event JSON>"}`) as one SSE event.
fn unwrap_chunk(payload: &str) -> Result<Vec<u8>, String> {
    let chunk: Chunk<'_> = serde_json::from_str(payload).map_err(|e| e.to_string())?;
    let json = base64::engine::general_purpose::STANDARD
        .decode(chunk.bytes)
        .map_err(|e| format!("its bytes are not base64: {e}"))?;
    let event: EventType<'_> = serde_json::from_slice(&json).map_err(|e| e.to_string())?;
    let mut out = Vec::with_capacity(json.len() + event.kind.len() + 16);
    out.extend_from_slice(b"event: ");
    out.extend_from_slice(event.kind.as_bytes());
    // A `data:` line each: JSON may be laid out on several lines (never inside a string).
    for line in json.split(|b| *b == b'\n') {
        out.extend_from_slice(b"\ndata: ");
        out.extend_from_slice(line);
    }
    out.extend_from_slice(b"\n\n");
    Ok(out)
}

impl StreamDecoder for InvokeStream {
    fn feed(&mut self, chunk: &[u8], out: &mut Vec<u8>) {
        let fed = self.framer.feed(chunk, &mut self.frames);
        self.take(fed, out);
    }

    fn finish(&mut self, out: &mut Vec<u8>) {
        let fed = self.framer.finish(&mut self.frames);
        self.take(fed, out);
        if !self.stopped {
            self.inner.finish(out);
        }
    }

    fn usage(&self) -> Usage {
        self.inner.usage()
    }

    fn done(&self) -> bool {
        self.stopped || self.inner.done()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(event: &str) -> Vec<u8> {
        let b64 = base64::engine::general_purpose::STANDARD.encode(event);
        eventstream::encode(
            &[
                (":event-type", "chunk"),
                (":content-type", "application/json"),
                (":message-type", "event"),
            ],
            format!("{{\"bytes\":\"{b64}\",\"p\":\"abc\"}}").as_bytes(),
        )
    }

    fn decode(bytes: &[u8], piece: usize) -> String {
        let mut d = InvokeStream::new("bedrock");
        let mut out = Vec::new();
        for p in bytes.chunks(piece) {
            d.feed(p, &mut out);
        }
        d.finish(&mut out);
        String::from_utf8(out).unwrap()
    }

    const EVENTS: [&str; 6] = [
        r#"{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude","content":[],"stop_reason":null,"usage":{"input_tokens":12,"output_tokens":1}}}"#,
        r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
        r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}"#,
        r#"{"type":"content_block_stop","index":0}"#,
        r#"{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":5}}"#,
        r#"{"type":"message_stop","amazon-bedrock-invocationMetrics":{"inputTokenCount":12,"outputTokenCount":5}}"#,
    ];

    #[test]
    fn chunks_become_the_anthropic_events_they_carry_however_split() {
        let bytes: Vec<u8> = EVENTS.iter().flat_map(|e| chunk(e)).collect();
        for piece in [1, 7, 64, bytes.len()] {
            let sse = decode(&bytes, piece);
            assert!(
                sse.starts_with("event: message_start\ndata: {\"type\":\"message_start\""),
                "{sse}"
            );
            assert!(sse.contains("event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}\n\n"));
            assert!(sse.ends_with("event: message_stop\ndata: {\"type\":\"message_stop\",\"amazon-bedrock-invocationMetrics\":{\"inputTokenCount\":12,\"outputTokenCount\":5}}\n\n"));
            assert!(!sse.contains("event: error"), "{sse}");
        }
        let mut d = InvokeStream::new("bedrock");
        d.feed(&bytes, &mut Vec::new());
        assert_eq!((d.usage().input_tokens, d.usage().output_tokens), (12, 5));
    }

    #[test]
    fn an_exception_ends_the_stream_with_its_error() {
        let mut bytes = chunk(EVENTS[0]);
        bytes.extend(eventstream::encode(
            &[
                (":message-type", "exception"),
                (":exception-type", "throttlingException"),
            ],
            br#"{"message":"Too many requests, please wait before trying again."}"#,
        ));
        let sse = decode(&bytes, 5);
        assert!(sse.contains("event: error"), "{sse}");
        assert!(sse.contains("rate_limit_error"), "{sse}");
        assert!(sse.contains("Too many requests"), "{sse}");
    }

    #[test]
    fn a_corrupt_frame_is_an_error_event_not_a_panic() {
        let mut bytes = chunk(EVENTS[0]);
        let last = bytes.len() - 6;
        bytes[last] ^= 0x40;
        let sse = decode(&bytes, 3);
        assert!(sse.contains("event: error"), "{sse}");
        assert!(sse.contains("corrupt"), "{sse}");
    }

    #[test]
    fn a_stream_cut_before_message_stop_says_so() {
        let bytes: Vec<u8> = EVENTS[..3].iter().flat_map(|e| chunk(e)).collect();
        let sse = decode(&bytes, 16);
        assert!(sse.contains("event: error"), "{sse}");
    }
}
