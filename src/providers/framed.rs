//! The one stream decoder of every translated wire format: a [`Framer`] cuts the upstream's
//! bytes into frames (SSE, or AWS event-stream messages), a [`Translate`] state machine turns
//! each frame into Anthropic events, and [`Framed`] joins the two and writes the events as SSE.
//!
//! A translator does no I/O and knows nothing of framing; a framer knows nothing of what the
//! frames mean. A new wire format is a translator; a new framing is a framer.

use std::fmt;

use crate::messages::sse::{EventTooLarge, MAX_EVENT, SseFrame, SseParser};
use crate::messages::{ApiError, ErrorKind, StreamEvent, Usage};

use super::StreamDecoder;

/// One upstream event, whatever framed it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Frame {
    /// The event's name: SSE's `event:` line, event-stream's `:event-type` (or
    /// `:exception-type` for an exception).
    pub name: Option<String>,
    /// The event's data: SSE's `data:` lines, an event-stream message's payload.
    pub data: String,
    /// The upstream reports a failure in this frame (an event-stream `exception` or `error`).
    pub exception: bool,
}

impl From<SseFrame> for Frame {
    fn from(f: SseFrame) -> Frame {
        Frame {
            name: f.event,
            data: f.data,
            exception: false,
        }
    }
}

/// Why the upstream's bytes could not be cut into frames; the stream cannot go on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FramingError {
    /// One event was larger than [`MAX_EVENT`].
    TooLarge,
    /// The bytes break the framing's rules (a checksum, a length).
    Corrupt(String),
}

impl FramingError {
    /// The error the client's stream ends with; `who` names the model, as the translators'
    /// other stream errors do.
    pub fn to_api_error(&self, who: &str) -> ApiError {
        match self {
            FramingError::TooLarge => EventTooLarge.to_api_error(who),
            FramingError::Corrupt(why) => ApiError::new(
                ErrorKind::Api,
                format!(
                    "{who}: the upstream's stream is corrupt ({why}); bgw ended the stream there"
                ),
            ),
        }
    }
}

impl fmt::Display for FramingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FramingError::TooLarge => write!(f, "an event larger than {MAX_EVENT} bytes"),
            FramingError::Corrupt(why) => f.write_str(why),
        }
    }
}

/// Cuts a byte stream, split anywhere, into whole frames.
pub trait Framer: Send + fmt::Debug {
    /// Appends the frames `chunk` completes to `out`; after an error nothing more is framed.
    fn feed(&mut self, chunk: &[u8], out: &mut Vec<Frame>) -> Result<(), FramingError>;
    /// The upstream closed: appends a last frame left open, or says it was cut.
    fn finish(&mut self, out: &mut Vec<Frame>) -> Result<(), FramingError>;
}

/// Server-sent events.
#[derive(Debug, Default)]
pub struct SseFramer {
    parser: SseParser,
}

impl Framer for SseFramer {
    fn feed(&mut self, chunk: &[u8], out: &mut Vec<Frame>) -> Result<(), FramingError> {
        self.parser
            .feed_into(chunk, out)
            .map_err(|EventTooLarge| FramingError::TooLarge)
    }

    fn finish(&mut self, out: &mut Vec<Frame>) -> Result<(), FramingError> {
        self.parser.finish_into(out);
        Ok(())
    }
}

/// A pure state machine from one wire format's events to Anthropic events.
pub trait Translate: Send + fmt::Debug {
    /// Takes one frame. `last`: the connection closed with it (it may be torn, and a frame
    /// that does not parse is then the stream's cut end, reported by [`Translate::end`]).
    fn frame(&mut self, frame: &Frame, last: bool, out: &mut Vec<StreamEvent>);
    /// The framing broke: the response fails, unless it had ended.
    fn broken(&mut self, error: &FramingError, out: &mut Vec<StreamEvent>);
    /// The upstream closed: closes what is open, or reports the stream as cut short.
    fn end(&mut self, out: &mut Vec<StreamEvent>);
    /// Usage reported so far, in Anthropic terms.
    fn usage(&self) -> Usage;
    /// Whether the response is complete or failed.
    fn ended(&self) -> bool;
}

/// A framer and a translator: an upstream stream in, Anthropic SSE out.
#[derive(Debug)]
pub struct Framed<F, T> {
    framer: F,
    frames: Vec<Frame>,
    events: Vec<StreamEvent>,
    /// The translator, for tests that look at its state.
    pub translator: T,
}

impl<F: Framer, T: Translate> Framed<F, T> {
    /// Joins `framer` and `translator`.
    pub fn with(framer: F, translator: T) -> Self {
        Framed {
            framer,
            frames: Vec::new(),
            events: Vec::new(),
            translator,
        }
    }

    fn translate(&mut self, fed: Result<(), FramingError>, last: bool, out: &mut Vec<u8>) {
        for frame in self.frames.drain(..) {
            self.translator.frame(&frame, last, &mut self.events);
        }
        if let Err(e) = fed {
            self.translator.broken(&e, &mut self.events);
        }
        for event in self.events.drain(..) {
            event.write_sse(out);
        }
    }
}

impl<F: Framer, T: Translate> StreamDecoder for Framed<F, T> {
    fn feed(&mut self, chunk: &[u8], out: &mut Vec<u8>) {
        let fed = self.framer.feed(chunk, &mut self.frames);
        self.translate(fed, false, out);
    }

    fn finish(&mut self, out: &mut Vec<u8>) {
        let fed = self.framer.finish(&mut self.frames);
        self.translate(fed, true, out);
        self.translator.end(&mut self.events);
        for event in self.events.drain(..) {
            event.write_sse(out);
        }
    }

    fn usage(&self) -> Usage {
        self.translator.usage()
    }

    fn done(&self) -> bool {
        self.translator.ended()
    }
}
