//! Server-sent events framing: the parser for upstream streams.
//!
//! Bytes arrive split anywhere (mid-line, mid-UTF-8); frames come out whole.
//!
//! One event (everything up to the blank line that ends it) may hold at most [`MAX_EVENT`]
//! bytes: an upstream that sends more, in one endless line or in endless `data:` lines with
//! no blank line, would otherwise grow the frame in memory without bound. Such an event is
//! dropped and the stream cannot go on: [`SseParser::feed`] says [`EventTooLarge`] from then
//! on, and the decoder ends the client's stream with the error it makes.

use super::{ApiError, ErrorKind};

/// One SSE frame: the `event:` name if any, and its `data:` lines joined with `\n`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SseFrame {
    pub event: Option<String>,
    pub data: String,
}

/// The most bytes one event may hold on the wire, its lines and their newlines included.
/// No real event comes near: the largest are one tool call's input or one image delta,
/// a few MiB at most; 16 MiB bounds what one stream can make bgw hold.
pub const MAX_EVENT: usize = 16 * 1024 * 1024;

/// An upstream event was larger than [`MAX_EVENT`]; it was dropped, and the stream with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventTooLarge;

impl EventTooLarge {
    /// The error the client's stream ends with; `who` names the model or provider, as the
    /// decoders' other stream errors do.
    pub fn to_api_error(self, who: &str) -> ApiError {
        ApiError::new(
            ErrorKind::Api,
            format!(
                "{who}: the upstream sent an event larger than {} MiB (a broken stream); bgw ended the stream there",
                MAX_EVENT / (1024 * 1024)
            ),
        )
    }
}

/// Incremental SSE parser; it writes [`SseFrame`]s, or any frame made from one (a decoder's
/// own frame type, without a second copy).
#[derive(Debug, Default)]
pub struct SseParser {
    line: Vec<u8>,
    event: Option<String>,
    data: String,
    has_data: bool,
    /// Bytes of the event in progress, since the blank line that ended the one before.
    pending: usize,
    /// How many bytes of the last chunk fed ended events (up to its last blank line).
    whole: usize,
    /// An event was too large: everything after is ignored.
    too_large: bool,
}

impl SseParser {
    /// A parser with nothing buffered.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds bytes; every frame completed by them is appended to `out`. Once an event grows
    /// past [`MAX_EVENT`] it is dropped and this (and every later feed) fails; the frames
    /// completed before it are still in `out`.
    pub fn feed(&mut self, chunk: &[u8], out: &mut Vec<SseFrame>) -> Result<(), EventTooLarge> {
        self.feed_into(chunk, out)
    }

    /// As [`SseParser::feed`], into frames of the caller's type (no second copy).
    pub fn feed_into<F: From<SseFrame>>(
        &mut self,
        mut chunk: &[u8],
        out: &mut Vec<F>,
    ) -> Result<(), EventTooLarge> {
        self.whole = 0;
        if self.too_large {
            return Err(EventTooLarge);
        }
        let mut at = 0;
        while let Some(pos) = memchr::memchr(b'\n', chunk) {
            let (head, rest) = chunk.split_at(pos);
            chunk = &rest[1..];
            at += pos + 1;
            self.pending += pos + 1;
            if self.pending > MAX_EVENT {
                return Err(self.drop_event());
            }
            let ended = if self.line.is_empty() {
                self.take_line(head, out)
            } else {
                self.line.extend_from_slice(head);
                let line = std::mem::take(&mut self.line);
                self.take_line(&line, out)
            };
            if ended {
                self.whole = at;
            }
        }
        self.pending += chunk.len();
        if self.pending > MAX_EVENT {
            return Err(self.drop_event());
        }
        self.line.extend_from_slice(chunk);
        Ok(())
    }

    /// How many bytes at the start of the last chunk fed belong to events it ended (up to
    /// and including its last blank line); the rest begins an event still in progress.
    pub fn whole_in_last_chunk(&self) -> usize {
        self.whole
    }

    /// Bytes the parser holds for the event in progress (at most [`MAX_EVENT`]).
    pub fn buffered(&self) -> usize {
        self.line.len() + self.data.len() + self.event.as_ref().map_or(0, String::len)
    }

    /// The upstream closed: a frame left without its blank line still counts.
    pub fn finish(&mut self, out: &mut Vec<SseFrame>) {
        self.finish_into(out);
    }

    /// As [`SseParser::finish`], into frames of the caller's type.
    pub fn finish_into<F: From<SseFrame>>(&mut self, out: &mut Vec<F>) {
        if self.too_large {
            return;
        }
        if !self.line.is_empty() {
            let line = std::mem::take(&mut self.line);
            self.take_line(&line, out);
        }
        self.dispatch(out);
    }

    /// Forgets the event in progress, memory and all, and stops reading.
    fn drop_event(&mut self) -> EventTooLarge {
        self.line = Vec::new();
        self.data = String::new();
        self.event = None;
        self.has_data = false;
        self.pending = 0;
        self.too_large = true;
        EventTooLarge
    }

    /// Takes one line; whether it was the blank line that ends an event.
    fn take_line<F: From<SseFrame>>(&mut self, line: &[u8], out: &mut Vec<F>) -> bool {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            self.dispatch(out);
            return true;
        }
        if line[0] == b':' {
            return false;
        }
        let text = String::from_utf8_lossy(line);
        let (field, value) = match text.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (text.as_ref(), ""),
        };
        match field {
            "event" => self.event = Some(value.to_owned()),
            "data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(value);
                self.has_data = true;
            }
            _ => {}
        }
        false
    }

    fn dispatch<F: From<SseFrame>>(&mut self, out: &mut Vec<F>) {
        if self.has_data {
            out.push(F::from(SseFrame {
                event: self.event.take(),
                data: std::mem::take(&mut self.data),
            }));
        }
        self.event = None;
        self.has_data = false;
        self.pending = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_in_pieces(input: &str, piece: usize) -> Vec<SseFrame> {
        let mut p = SseParser::new();
        let mut out = Vec::new();
        for chunk in input.as_bytes().chunks(piece) {
            assert_eq!(p.feed(chunk, &mut out), Ok(()));
        }
        p.finish(&mut out);
        out
    }

    #[test]
    fn frames_survive_any_split() {
        let input = "event: message_start\r\ndata: {\"a\":1}\r\n\r\n: keepalive comment\n\ndata: {\"b\":\ndata: 2}\n\ndata: [DONE]\n\n";
        let expected = [
            SseFrame {
                event: Some("message_start".into()),
                data: "{\"a\":1}".into(),
            },
            SseFrame {
                event: None,
                data: "{\"b\":\n2}".into(),
            },
            SseFrame {
                event: None,
                data: "[DONE]".into(),
            },
        ];
        for piece in 1..=input.len() {
            let got = parse_in_pieces(input, piece);
            assert_eq!(got, expected, "piece size {piece}");
        }
    }

    #[test]
    fn many_data_lines_join_with_newlines() {
        let lines: Vec<String> = (0..1000).map(|i| format!("line {i}")).collect();
        let mut input = String::from("event: content_block_delta\n");
        for l in &lines {
            input.push_str(&format!("data: {l}\n"));
        }
        input.push('\n');
        assert_eq!(
            parse_in_pieces(&input, 4096),
            vec![SseFrame {
                event: Some("content_block_delta".into()),
                data: lines.join("\n"),
            }]
        );
    }

    #[test]
    fn endless_data_lines_without_a_blank_line_stay_bounded_and_fail() {
        let mut p = SseParser::new();
        let mut out = Vec::new();
        assert_eq!(p.feed(b"data: {\"first\":1}\n\n", &mut out), Ok(()));
        // 40 MiB of one-byte `data:` lines, in 64 KiB chunks, and never a blank line.
        let chunk = b"data: x\n".repeat(8 * 1024);
        let mut failed_at = None;
        for n in 0..640 {
            let fed = p.feed(&chunk, &mut out);
            assert!(p.buffered() <= MAX_EVENT, "{} bytes held", p.buffered());
            if fed.is_err() && failed_at.is_none() {
                failed_at = Some(n);
            }
            if failed_at.is_some() {
                assert_eq!(fed, Err(EventTooLarge), "the failure sticks");
                assert_eq!(p.buffered(), 0, "the event is dropped");
            }
        }
        // The event fails as soon as it passes the limit: after 256 full chunks.
        assert_eq!(failed_at, Some(256));
        p.finish(&mut out);
        assert_eq!(
            out,
            vec![SseFrame {
                event: None,
                data: "{\"first\":1}".into()
            }],
            "the frame before stays, the too-large one is gone"
        );
    }

    #[test]
    fn an_endless_line_is_too_large_an_event() {
        let mut p = SseParser::new();
        let mut out = Vec::new();
        let junk = vec![b'x'; 1024 * 1024];
        let fed: Vec<_> = (0..17).map(|_| p.feed(&junk, &mut out)).collect();
        assert!(fed[..16].iter().all(Result::is_ok));
        assert_eq!(fed[16], Err(EventTooLarge));
        assert_eq!(p.buffered(), 0);
        assert_eq!(p.feed(b"\ndata: after\n\n", &mut out), Err(EventTooLarge));
        assert!(out.is_empty(), "nothing after the broken event is read");
    }

    #[test]
    fn an_event_of_exactly_the_limit_still_passes() {
        let mut p = SseParser::new();
        let mut out = Vec::new();
        let mut event = b"data: ".to_vec();
        event.resize(MAX_EVENT - 2, b'y');
        event.extend_from_slice(b"\n\n");
        assert_eq!(p.feed(&event, &mut out), Ok(()));
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].data.len(), MAX_EVENT - 2 - "data: ".len());
        assert_eq!(p.feed(b"data: next\n\n", &mut out), Ok(()));
        assert_eq!(
            out[1].data, "next",
            "the count starts again at each blank line"
        );
    }

    #[test]
    fn the_whole_events_of_a_chunk_are_told_apart_from_the_one_in_progress() {
        let mut p = SseParser::new();
        let mut out = Vec::new();
        let chunk = b"data: a\n\ndata: b\n\ndata: c";
        assert_eq!(p.feed(chunk, &mut out), Ok(()));
        assert_eq!(p.whole_in_last_chunk(), "data: a\n\ndata: b\n\n".len());
        assert_eq!(p.feed(b"\n", &mut out), Ok(()));
        assert_eq!(p.whole_in_last_chunk(), 0, "no blank line yet");
        assert_eq!(p.feed(b"\n", &mut out), Ok(()));
        assert_eq!(p.whole_in_last_chunk(), 1);
        assert_eq!(out.len(), 3);
    }

    #[test]
    fn unterminated_last_frame_is_kept() {
        assert_eq!(
            parse_in_pieces("data: x", 3),
            vec![SseFrame {
                event: None,
                data: "x".into()
            }]
        );
    }
}
