//! Server-sent events framing: the parser for upstream streams.
//!
//! Bytes arrive split anywhere (mid-line, mid-UTF-8); frames come out whole.

/// One SSE frame: the `event:` name if any, and its `data:` lines joined with `\n`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SseFrame {
    pub event: Option<String>,
    pub data: String,
}

/// The longest line kept; an upstream that sends more without a newline loses that
/// line (its stream then ends in an error) instead of growing memory without bound.
const MAX_LINE: usize = 16 * 1024 * 1024;

/// Incremental SSE parser.
#[derive(Debug, Default)]
pub struct SseParser {
    line: Vec<u8>,
    /// Dropping the rest of an over-long line.
    skipping: bool,
    event: Option<String>,
    data: String,
    has_data: bool,
}

impl SseParser {
    /// A parser with nothing buffered.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds bytes; every frame completed by them is appended to `out`.
    pub fn feed(&mut self, mut chunk: &[u8], out: &mut Vec<SseFrame>) {
        while let Some(pos) = chunk.iter().position(|&b| b == b'\n') {
            let (head, rest) = chunk.split_at(pos);
            chunk = &rest[1..];
            if std::mem::take(&mut self.skipping) {
                continue;
            }
            if self.line.is_empty() {
                self.take_line(head, out);
            } else {
                self.line.extend_from_slice(head);
                let line = std::mem::take(&mut self.line);
                self.take_line(&line, out);
            }
        }
        if !self.skipping {
            self.line.extend_from_slice(chunk);
            if self.line.len() > MAX_LINE {
                self.line = Vec::new();
                self.skipping = true;
            }
        }
    }

    /// The upstream closed: a frame left without its blank line still counts.
    pub fn finish(&mut self, out: &mut Vec<SseFrame>) {
        if !self.line.is_empty() {
            let line = std::mem::take(&mut self.line);
            self.take_line(&line, out);
        }
        self.dispatch(out);
    }

    fn take_line(&mut self, line: &[u8], out: &mut Vec<SseFrame>) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            self.dispatch(out);
            return;
        }
        if line[0] == b':' {
            return;
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
    }

    fn dispatch(&mut self, out: &mut Vec<SseFrame>) {
        if self.has_data {
            out.push(SseFrame {
                event: self.event.take(),
                data: std::mem::take(&mut self.data),
            });
        }
        self.event = None;
        self.has_data = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_in_pieces(input: &str, piece: usize) -> Vec<SseFrame> {
        let mut p = SseParser::new();
        let mut out = Vec::new();
        for chunk in input.as_bytes().chunks(piece) {
            p.feed(chunk, &mut out);
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
    fn an_endless_line_is_dropped_not_kept() {
        let mut p = SseParser::new();
        let mut out = Vec::new();
        let junk = vec![b'x'; 1024 * 1024];
        for _ in 0..17 {
            p.feed(&junk, &mut out);
        }
        assert!(p.line.len() <= MAX_LINE);
        p.feed(b"\ndata: after\n\n", &mut out);
        assert_eq!(
            out,
            vec![SseFrame {
                event: None,
                data: "after".into()
            }]
        );
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
