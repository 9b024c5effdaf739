//! ConverseStream's answer: AWS event-stream framing around Converse's events, through the
//! shared framed decoder.

use super::EventStreamFramer;
use super::converse::Translator;
use crate::messages::signature::Signer;
use crate::messages::{StreamEvent, Usage};
use crate::providers::framed::{Frame, Framed, FramingError, Translate};

/// Decodes a ConverseStream answer into Anthropic SSE bytes.
pub type ConverseStream = Framed<EventStreamFramer, Events>;

impl ConverseStream {
    /// A decoder for a response to `requested_model`; `signer` signs its thinking blocks.
    pub fn new(requested_model: &str, signer: Option<Signer>) -> ConverseStream {
        Framed::with(
            EventStreamFramer::default(),
            Events {
                translator: Translator::new(requested_model, signer),
                model: requested_model.to_owned(),
                broken: false,
            },
        )
    }
}

/// Converse's translator, taking the framer's frames; a broken framing ends it once.
#[derive(Debug)]
pub struct Events {
    translator: Translator,
    model: String,
    broken: bool,
}

impl Translate for Events {
    fn frame(&mut self, frame: &Frame, _last: bool, out: &mut Vec<StreamEvent>) {
        if self.broken {
            return;
        }
        let name = frame.name.as_deref().unwrap_or_default();
        if frame.exception {
            self.translator.exception(name, frame.data.as_bytes(), out);
        } else {
            self.translator.event(name, frame.data.as_bytes(), out);
        }
    }

    fn broken(&mut self, error: &FramingError, out: &mut Vec<StreamEvent>) {
        if !self.broken && !self.translator.ended() {
            out.push(StreamEvent::Error(error.to_api_error(&self.model)));
        }
        self.broken = true;
    }

    fn end(&mut self, out: &mut Vec<StreamEvent>) {
        if !self.broken {
            self.translator.end(out);
        }
    }

    fn usage(&self) -> Usage {
        self.translator.usage()
    }

    fn ended(&self) -> bool {
        self.broken || self.translator.ended()
    }
}
