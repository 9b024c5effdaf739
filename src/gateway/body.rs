//! The response body: one buffer, or frames handed over as soon as they are translated.

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::stream::TranslatedBody;

/// A gateway response body.
pub enum GatewayBody {
    Full(Option<Bytes>),
    /// A stream translated as the client reads it.
    Stream(Box<TranslatedBody>),
    /// A stream reframed for Claude Code's Bedrock mode.
    Reframed(Box<super::cloud_modes::EventStreamBody>),
}

impl GatewayBody {
    /// A body of these bytes.
    pub fn full(bytes: impl Into<Bytes>) -> GatewayBody {
        GatewayBody::Full(Some(bytes.into()))
    }
}

impl Body for GatewayBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match self.get_mut() {
            GatewayBody::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            GatewayBody::Stream(body) => Pin::new(body.as_mut()).poll_frame(cx),
            GatewayBody::Reframed(body) => Pin::new(body.as_mut()).poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, GatewayBody::Full(None))
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            GatewayBody::Full(Some(b)) => SizeHint::with_exact(b.len() as u64),
            GatewayBody::Full(None) => SizeHint::with_exact(0),
            GatewayBody::Stream(_) | GatewayBody::Reframed(_) => SizeHint::default(),
        }
    }
}
