//! The AWS event-stream framing (`application/vnd.amazon.eventstream`) of Bedrock's streams.
//!
//! A message is, big-endian: `u32 total_len | u32 headers_len | u32 prelude_crc | headers |
//! payload | u32 message_crc`, both CRCs CRC-32/IEEE (the prelude's over its first 8 bytes,
//! the message's over everything before it). <https://docs.aws.amazon.com/lexv2/latest/dg/event-stream-encoding.html>
//!
//! [`Decoder`] takes the body as it arrives, split anywhere, and never holds more than one
//! unfinished message (at most [`MAX_MESSAGE_LEN`]) beyond the chunk just fed.

use bytes::{Buf, Bytes, BytesMut};

/// The largest message accepted; Bedrock's chunks are a few KB (AWS SDKs allow 16 MiB payloads).
pub const MAX_MESSAGE_LEN: u32 = 16 * 1024 * 1024;

/// Prelude (total length, headers length, prelude CRC).
const PRELUDE_LEN: usize = 12;
/// Prelude plus the trailing message CRC: the size of a message with no headers and no payload.
const OVERHEAD: u32 = 16;

/// A header's value; the ten types of the format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderValue {
    Bool(bool),
    Byte(i8),
    Short(i16),
    Int(i32),
    Long(i64),
    Bytes(Bytes),
    String(String),
    /// Milliseconds since the Unix epoch.
    Timestamp(i64),
    Uuid([u8; 16]),
}

impl HeaderValue {
    /// The text of a string header.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            HeaderValue::String(s) => Some(s),
            _ => None,
        }
    }
}

/// One decoded message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// In wire order.
    pub headers: Vec<(String, HeaderValue)>,
    pub payload: Bytes,
}

impl Message {
    /// The first header of this name.
    pub fn header(&self, name: &str) -> Option<&HeaderValue> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, value)| value)
    }

    /// `:message-type`: `event`, `exception` or `error`.
    pub fn message_type(&self) -> Option<&str> {
        self.header(":message-type")?.as_str()
    }

    /// `:event-type` of an event (`chunk`, `contentBlockDelta`, …).
    pub fn event_type(&self) -> Option<&str> {
        self.header(":event-type")?.as_str()
    }

    /// `:exception-type` of an exception (`throttlingException`, …).
    pub fn exception_type(&self) -> Option<&str> {
        self.header(":exception-type")?.as_str()
    }

    /// `:content-type` of the payload.
    pub fn content_type(&self) -> Option<&str> {
        self.header(":content-type")?.as_str()
    }
}

/// Why an event stream could not be decoded; the stream cannot be resumed after one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error(
        "event stream: prelude checksum mismatch (CRC32 {actual:#010x}, frame says {expected:#010x}): the stream is corrupt"
    )]
    PreludeCrc { expected: u32, actual: u32 },
    #[error(
        "event stream: message checksum mismatch (CRC32 {actual:#010x}, frame says {expected:#010x}): the stream is corrupt"
    )]
    MessageCrc { expected: u32, actual: u32 },
    #[error("event stream: a message of {0} bytes is shorter than the 16-byte minimum")]
    TooShort(u32),
    #[error("event stream: a message of {len} bytes is over the {max}-byte limit")]
    TooLong { len: u32, max: u32 },
    #[error(
        "event stream: headers of {headers_len} bytes do not fit in a message of {total_len} bytes"
    )]
    HeadersTooLong { headers_len: u32, total_len: u32 },
    #[error("event stream: header `{name}` has unknown value type {type_id}")]
    UnknownHeaderType { name: String, type_id: u8 },
    #[error("event stream: a header runs past the end of the headers section ({what})")]
    TruncatedHeader { what: String },
    #[error("event stream: the {what} is not valid UTF-8")]
    NotUtf8 { what: String },
    #[error(
        "event stream: the body ended inside a message ({buffered} bytes of an unfinished message left over)"
    )]
    Truncated { buffered: usize },
}

/// Splits a byte stream into messages, checking every length and checksum.
#[derive(Debug, Default)]
pub struct Decoder {
    buf: BytesMut,
    /// Total length of the message being buffered, once its prelude has been checked.
    pending: Option<u32>,
    /// The first error; the framing is lost after it, so every later call repeats it.
    failed: Option<DecodeError>,
}

impl Decoder {
    /// A decoder at the start of a stream.
    pub fn new() -> Decoder {
        Decoder::default()
    }

    /// Takes the next bytes of the body and appends the messages they complete to `out`;
    /// messages before a corrupt one are still appended.
    pub fn feed(&mut self, chunk: &[u8], out: &mut Vec<Message>) -> Result<(), DecodeError> {
        if let Some(err) = &self.failed {
            return Err(err.clone());
        }
        self.buf.extend_from_slice(chunk);
        loop {
            match self.next_message() {
                Ok(Some(message)) => out.push(message),
                Ok(None) => return Ok(()),
                Err(err) => {
                    self.buf = BytesMut::new();
                    self.pending = None;
                    self.failed = Some(err.clone());
                    return Err(err);
                }
            }
        }
    }

    /// The body ended: an error if a message was left unfinished (or decoding had failed).
    pub fn finish(&self) -> Result<(), DecodeError> {
        if let Some(err) = &self.failed {
            return Err(err.clone());
        }
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::Truncated {
                buffered: self.buf.len(),
            })
        }
    }

    /// Bytes held for a message not yet complete.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    fn next_message(&mut self) -> Result<Option<Message>, DecodeError> {
        let total = match self.pending {
            Some(total) => total,
            None => {
                let Some(prelude) = self.buf.get(..PRELUDE_LEN) else {
                    return Ok(None);
                };
                let total = check_prelude(prelude)?;
                self.pending = Some(total);
                total
            }
        };
        let total_len = total as usize;
        if self.buf.len() < total_len {
            return Ok(None);
        }
        self.pending = None;
        let frame = self.buf.split_to(total_len).freeze();
        decode_frame(frame).map(Some)
    }
}

fn be_u32(bytes: &[u8]) -> u32 {
    let mut word = [0u8; 4];
    word.copy_from_slice(&bytes[..4]);
    u32::from_be_bytes(word)
}

/// The message's total length, once the prelude's checksum and lengths hold up.
fn check_prelude(prelude: &[u8]) -> Result<u32, DecodeError> {
    let expected = be_u32(&prelude[8..12]);
    let actual = crc32fast::hash(&prelude[..8]);
    if expected != actual {
        return Err(DecodeError::PreludeCrc { expected, actual });
    }
    let total_len = be_u32(&prelude[0..4]);
    let headers_len = be_u32(&prelude[4..8]);
    if total_len < OVERHEAD {
        return Err(DecodeError::TooShort(total_len));
    }
    if total_len > MAX_MESSAGE_LEN {
        return Err(DecodeError::TooLong {
            len: total_len,
            max: MAX_MESSAGE_LEN,
        });
    }
    if headers_len > total_len - OVERHEAD {
        return Err(DecodeError::HeadersTooLong {
            headers_len,
            total_len,
        });
    }
    Ok(total_len)
}

/// A whole message whose prelude was checked.
fn decode_frame(frame: Bytes) -> Result<Message, DecodeError> {
    let crc_at = frame.len() - 4;
    let expected = be_u32(&frame[crc_at..]);
    let actual = crc32fast::hash(&frame[..crc_at]);
    if expected != actual {
        return Err(DecodeError::MessageCrc { expected, actual });
    }
    let headers_end = PRELUDE_LEN + be_u32(&frame[4..8]) as usize;
    let headers = decode_headers(frame.slice(PRELUDE_LEN..headers_end))?;
    Ok(Message {
        headers,
        payload: frame.slice(headers_end..crc_at),
    })
}

fn decode_headers(mut section: Bytes) -> Result<Vec<(String, HeaderValue)>, DecodeError> {
    let mut headers = Vec::new();
    while section.has_remaining() {
        let name_len = usize::from(section.get_u8());
        let name = take(&mut section, name_len, || "header name".to_owned())?;
        let name = String::from_utf8(name.to_vec()).map_err(|_| DecodeError::NotUtf8 {
            what: "name of a header".to_owned(),
        })?;
        let what = |part: &str| format!("{part} of header `{name}`");
        let type_id = take(&mut section, 1, || what("value type"))?[0];
        let value = match type_id {
            0 => HeaderValue::Bool(true),
            1 => HeaderValue::Bool(false),
            2 => HeaderValue::Byte(i8::from_be_bytes(fixed(&mut section, || what("value"))?)),
            3 => HeaderValue::Short(i16::from_be_bytes(fixed(&mut section, || what("value"))?)),
            4 => HeaderValue::Int(i32::from_be_bytes(fixed(&mut section, || what("value"))?)),
            5 => HeaderValue::Long(i64::from_be_bytes(fixed(&mut section, || what("value"))?)),
            6 | 7 => {
                let len = u16::from_be_bytes(fixed(&mut section, || what("value length"))?);
                let bytes = take(&mut section, usize::from(len), || what("value"))?;
                if type_id == 6 {
                    HeaderValue::Bytes(bytes)
                } else {
                    let text =
                        String::from_utf8(bytes.to_vec()).map_err(|_| DecodeError::NotUtf8 {
                            what: what("value"),
                        })?;
                    HeaderValue::String(text)
                }
            }
            8 => HeaderValue::Timestamp(i64::from_be_bytes(fixed(&mut section, || what("value"))?)),
            9 => HeaderValue::Uuid(fixed(&mut section, || what("value"))?),
            _ => return Err(DecodeError::UnknownHeaderType { name, type_id }),
        };
        headers.push((name, value));
    }
    Ok(headers)
}

/// The next `len` bytes of the headers section, or which part was cut off.
fn take(
    section: &mut Bytes,
    len: usize,
    what: impl FnOnce() -> String,
) -> Result<Bytes, DecodeError> {
    if section.remaining() < len {
        return Err(DecodeError::TruncatedHeader { what: what() });
    }
    Ok(section.split_to(len))
}

fn fixed<const N: usize>(
    section: &mut Bytes,
    what: impl FnOnce() -> String,
) -> Result<[u8; N], DecodeError> {
    let bytes = take(section, N, what)?;
    let mut out = [0u8; N];
    out.copy_from_slice(&bytes);
    Ok(out)
}

/// One message with string headers, as Bedrock sends them (for tests and mock upstreams).
///
/// Parts beyond the format's limits are cut to fit: a name to 255 bytes, a value to 65,535
/// bytes (both at a character boundary), the payload to what [`MAX_MESSAGE_LEN`] leaves.
pub fn encode(headers: &[(&str, &str)], payload: &[u8]) -> Vec<u8> {
    let mut head = Vec::new();
    for (name, value) in headers {
        let name = cut(name, usize::from(u8::MAX));
        let value = cut(value, usize::from(u16::MAX));
        head.push(u8::try_from(name.len()).unwrap_or(u8::MAX));
        head.extend_from_slice(name.as_bytes());
        head.push(7);
        head.extend_from_slice(&u16::try_from(value.len()).unwrap_or(u16::MAX).to_be_bytes());
        head.extend_from_slice(value.as_bytes());
    }
    let room = (MAX_MESSAGE_LEN as usize).saturating_sub(head.len() + OVERHEAD as usize);
    let payload = &payload[..payload.len().min(room)];
    let total = OVERHEAD as usize + head.len() + payload.len();
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(&u32::try_from(total).unwrap_or(u32::MAX).to_be_bytes());
    out.extend_from_slice(&u32::try_from(head.len()).unwrap_or(u32::MAX).to_be_bytes());
    let prelude_crc = crc32fast::hash(&out);
    out.extend_from_slice(&prelude_crc.to_be_bytes());
    out.extend_from_slice(&head);
    out.extend_from_slice(payload);
    let message_crc = crc32fast::hash(&out);
    out.extend_from_slice(&message_crc.to_be_bytes());
    out
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
fn cut(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    // Vectors written by AWS for botocore's decoder tests:
    // https://github.com/boto/botocore/blob/0e6e2404b85dc336dd2889814e089bde7d1a4c55/tests/unit/test_eventstream.py
    // (the AWS docs describe the format but print no example bytes).
    const EMPTY_MESSAGE: &[u8] = b"\x00\x00\x00\x10\x00\x00\x00\x00\x05\xc2H\xeb}\x98\xc8\xff";
    const PAYLOAD_ONE_STR_HEADER: &[u8] = b"\x00\x00\x00=\x00\x00\x00 \x07\xfd\x83\x96\x0ccontent-type\x07\x00\x10application/json{'foo':'bar'}\x8d\x9c\x08\xb1";
    const ALL_HEADERS_TYPES: &[u8] = b"\x00\x00\x00\x62\x00\x00\x00\x52\x03\xb5\xcb\x9c\
        \x010\x00\x011\x01\x012\x02\x02\x013\x03\x00\x03\
        \x014\x04\x00\x00\x00\x04\x015\x05\x00\x00\x00\x00\x00\x00\x00\x05\
        \x016\x06\x00\x05bytes\x017\x07\x00\x04utf8\
        \x018\x08\x00\x00\x00\x00\x00\x00\x00\x08\x019\x090123456789abcdef\
        \x63\x35\x36\x71";
    const INT8_HEADER: &[u8] =
        b"\x00\x00\x00\x17\x00\x00\x00\x07)\x86\x01X\x04byte\x02\xff\xc2\xf8i\xdc";
    const INT64_HEADER: &[u8] = b"\x00\x00\x00\x1e\x00\x00\x00\x0e]J\xdb\x8d\x04long\x05\xff\xff\xff\xff\xff\xff\xff\xffK\xc22\xda";
    const ERROR_EVENT_MESSAGE: &[u8] = b"\x00\x00\x00\x52\x00\x00\x00\x42\xbf\x23\x63\x7e\
        \x0d:message-type\x07\x00\x05error\
        \x0b:error-code\x07\x00\x04code\
        \x0e:error-message\x07\x00\x07message\
        \x6b\x6c\xea\x3d";
    // Same file: the checksums match, the headers length does not fit the message.
    const INVALID_HEADERS_LENGTH: &[u8] = b"\x00\x00\x00\x3d\xff\x00\x01\x02\x15\x83\xf5\xc2\
        \x0ccontent-type\x07\x00\x10application/json{'foo':'bar'}\x2f\x37\x7f\x5d";
    // Same file: a payload byte changed, message CRC left as it was.
    const CORRUPTED_PAYLOAD: &[u8] =
        b"\x00\x00\x00\x1d\x00\x00\x00\x00\xfdR\x8cZ{'foo':'bar'\x8d\xc3e96";

    fn decode_all(bytes: &[u8]) -> Result<Vec<Message>, DecodeError> {
        let mut decoder = Decoder::new();
        let mut out = Vec::new();
        decoder.feed(bytes, &mut out)?;
        decoder.finish()?;
        Ok(out)
    }

    fn one(bytes: &[u8]) -> Message {
        let mut messages = decode_all(bytes).unwrap();
        assert_eq!(messages.len(), 1);
        messages.remove(0)
    }

    #[test]
    fn aws_vector_with_a_string_header_and_a_payload() {
        let m = one(PAYLOAD_ONE_STR_HEADER);
        assert_eq!(
            m.headers,
            [(
                "content-type".to_owned(),
                HeaderValue::String("application/json".into())
            )]
        );
        assert_eq!(&m.payload[..], b"{'foo':'bar'}");
    }

    #[test]
    fn aws_vector_empty_message() {
        let m = one(EMPTY_MESSAGE);
        assert!(m.headers.is_empty());
        assert!(m.payload.is_empty());
    }

    #[test]
    fn aws_vector_with_every_header_type() {
        let m = one(ALL_HEADERS_TYPES);
        let expected = [
            ("0", HeaderValue::Bool(true)),
            ("1", HeaderValue::Bool(false)),
            ("2", HeaderValue::Byte(2)),
            ("3", HeaderValue::Short(3)),
            ("4", HeaderValue::Int(4)),
            ("5", HeaderValue::Long(5)),
            ("6", HeaderValue::Bytes(Bytes::from_static(b"bytes"))),
            ("7", HeaderValue::String("utf8".into())),
            ("8", HeaderValue::Timestamp(8)),
            ("9", HeaderValue::Uuid(*b"0123456789abcdef")),
        ];
        let expected: Vec<(String, HeaderValue)> = expected
            .into_iter()
            .map(|(n, v)| (n.to_owned(), v))
            .collect();
        assert_eq!(m.headers, expected);
        assert!(m.payload.is_empty());
    }

    #[test]
    fn aws_vectors_negative_integers_are_signed() {
        assert_eq!(
            one(INT8_HEADER).header("byte"),
            Some(&HeaderValue::Byte(-1))
        );
        assert_eq!(
            one(INT64_HEADER).header("long"),
            Some(&HeaderValue::Long(-1))
        );
    }

    #[test]
    fn aws_vector_error_message_headers() {
        let m = one(ERROR_EVENT_MESSAGE);
        assert_eq!(m.message_type(), Some("error"));
        assert_eq!(
            m.header(":error-code").and_then(HeaderValue::as_str),
            Some("code")
        );
        assert_eq!(m.event_type(), None);
    }

    #[test]
    fn aws_vector_headers_length_past_the_message_is_refused() {
        assert_eq!(
            decode_all(INVALID_HEADERS_LENGTH),
            Err(DecodeError::HeadersTooLong {
                headers_len: 0xff00_0102,
                total_len: 0x3d
            })
        );
    }

    #[test]
    fn aws_vector_corrupted_payload_is_a_message_crc_error() {
        assert!(matches!(
            decode_all(CORRUPTED_PAYLOAD),
            Err(DecodeError::MessageCrc { .. })
        ));
    }

    fn bedrock_chunk(payload: &str) -> Vec<u8> {
        encode(
            &[
                (":event-type", "chunk"),
                (":content-type", "application/json"),
                (":message-type", "event"),
            ],
            payload.as_bytes(),
        )
    }

    #[test]
    fn encode_matches_the_aws_vector() {
        assert_eq!(
            encode(&[("content-type", "application/json")], b"{'foo':'bar'}"),
            PAYLOAD_ONE_STR_HEADER
        );
        assert_eq!(encode(&[], b""), EMPTY_MESSAGE);
    }

    #[test]
    fn round_trip_with_accessors() {
        let m = one(&bedrock_chunk(r#"{"bytes":"eyJ0eXBlIjoicGluZyJ9"}"#));
        assert_eq!(m.message_type(), Some("event"));
        assert_eq!(m.event_type(), Some("chunk"));
        assert_eq!(m.content_type(), Some("application/json"));
        assert_eq!(m.exception_type(), None);
        assert_eq!(&m.payload[..], br#"{"bytes":"eyJ0eXBlIjoicGluZyJ9"}"#);

        let e = one(&encode(
            &[
                (":message-type", "exception"),
                (":exception-type", "throttlingException"),
            ],
            br#"{"message":"Too many requests"}"#,
        ));
        assert_eq!(e.message_type(), Some("exception"));
        assert_eq!(e.exception_type(), Some("throttlingException"));
    }

    fn stream() -> (Vec<u8>, Vec<Message>) {
        let mut bytes = Vec::new();
        let mut expected = Vec::new();
        for payload in [r#"{"a":1}"#, "", r#"{"b":"two"}"#] {
            let frame = bedrock_chunk(payload);
            expected.push(one(&frame));
            bytes.extend_from_slice(&frame);
        }
        bytes.extend_from_slice(ALL_HEADERS_TYPES);
        expected.push(one(ALL_HEADERS_TYPES));
        (bytes, expected)
    }

    #[test]
    fn several_messages_in_one_chunk() {
        let (bytes, expected) = stream();
        assert_eq!(decode_all(&bytes).unwrap(), expected);
    }

    #[test]
    fn byte_at_a_time_gives_the_same_messages() {
        let (bytes, expected) = stream();
        let mut decoder = Decoder::new();
        let mut out = Vec::new();
        for b in &bytes {
            decoder.feed(std::slice::from_ref(b), &mut out).unwrap();
        }
        decoder.finish().unwrap();
        assert_eq!(out, expected);
    }

    #[test]
    fn every_split_point_gives_the_same_messages() {
        let (bytes, expected) = stream();
        for cut in 0..=bytes.len() {
            let mut decoder = Decoder::new();
            let mut out = Vec::new();
            decoder.feed(&bytes[..cut], &mut out).unwrap();
            decoder.feed(&bytes[cut..], &mut out).unwrap();
            decoder.finish().unwrap();
            assert_eq!(out, expected, "split at {cut}");
        }
    }

    #[test]
    fn flipped_payload_bit_is_a_message_crc_error_and_earlier_messages_survive() {
        let good = bedrock_chunk(r#"{"a":1}"#);
        let mut bad = bedrock_chunk(r#"{"b":2}"#);
        let at = bad.len() - 6;
        bad[at] ^= 0x01;
        let mut decoder = Decoder::new();
        let mut out = Vec::new();
        let err = decoder
            .feed(&[good.as_slice(), bad.as_slice()].concat(), &mut out)
            .unwrap_err();
        assert!(matches!(err, DecodeError::MessageCrc { .. }), "{err}");
        assert_eq!(out.len(), 1, "the message before the corrupt one is kept");
        // The framing is lost: later input repeats the error rather than guessing.
        assert_eq!(decoder.feed(&good, &mut out), Err(err.clone()));
        assert_eq!(decoder.finish(), Err(err));
        assert_eq!(decoder.buffered(), 0);
    }

    #[test]
    fn flipped_prelude_byte_is_a_prelude_crc_error_as_soon_as_the_prelude_arrives() {
        let mut frame = bedrock_chunk(r#"{"a":1}"#);
        frame[2] ^= 0x40;
        let mut decoder = Decoder::new();
        let err = decoder.feed(&frame[..12], &mut Vec::new()).unwrap_err();
        assert!(matches!(err, DecodeError::PreludeCrc { .. }), "{err}");
        assert!(err.to_string().contains("prelude checksum mismatch"));
    }

    /// A prelude with a correct checksum for the given lengths.
    fn prelude(total_len: u32, headers_len: u32) -> Vec<u8> {
        let mut p = Vec::new();
        p.extend_from_slice(&total_len.to_be_bytes());
        p.extend_from_slice(&headers_len.to_be_bytes());
        let crc = crc32fast::hash(&p);
        p.extend_from_slice(&crc.to_be_bytes());
        p
    }

    #[test]
    fn bad_lengths_are_refused_from_the_prelude_alone() {
        let feed = |bytes: &[u8]| Decoder::new().feed(bytes, &mut Vec::new());
        assert_eq!(feed(&prelude(15, 0)), Err(DecodeError::TooShort(15)));
        assert_eq!(
            feed(&prelude(MAX_MESSAGE_LEN + 1, 0)),
            Err(DecodeError::TooLong {
                len: MAX_MESSAGE_LEN + 1,
                max: MAX_MESSAGE_LEN
            })
        );
        assert_eq!(
            feed(&prelude(40, 25)),
            Err(DecodeError::HeadersTooLong {
                headers_len: 25,
                total_len: 40
            })
        );
        // The largest allowed message is waited for, not refused.
        assert_eq!(feed(&prelude(MAX_MESSAGE_LEN, 0)), Ok(()));
    }

    /// A message with this raw headers section and correct checksums.
    fn with_raw_headers(headers: &[u8]) -> Vec<u8> {
        let total = u32::try_from(16 + headers.len()).unwrap();
        let mut frame = prelude(total, u32::try_from(headers.len()).unwrap());
        frame.extend_from_slice(headers);
        let crc = crc32fast::hash(&frame);
        frame.extend_from_slice(&crc.to_be_bytes());
        frame
    }

    #[test]
    fn unknown_header_type_is_named() {
        let err = decode_all(&with_raw_headers(b"\x04name\x0a")).unwrap_err();
        assert_eq!(
            err,
            DecodeError::UnknownHeaderType {
                name: "name".into(),
                type_id: 10
            }
        );
        assert_eq!(
            err.to_string(),
            "event stream: header `name` has unknown value type 10"
        );
    }

    #[test]
    fn truncated_headers_say_which_part_is_missing() {
        let cases: [(&[u8], &str); 5] = [
            (b"\x05ab", "header name"),
            (b"\x02ab", "value type of header `ab`"),
            (b"\x02ab\x04\x00\x00", "value of header `ab`"),
            (b"\x02ab\x07\x00", "value length of header `ab`"),
            (b"\x02ab\x07\x00\x05abc", "value of header `ab`"),
        ];
        for (headers, what) in cases {
            assert_eq!(
                decode_all(&with_raw_headers(headers)),
                Err(DecodeError::TruncatedHeader { what: what.into() }),
                "{headers:?}"
            );
        }
        assert_eq!(
            decode_all(&with_raw_headers(b"\x02ab\x07\x00\x02\xff\xfe")),
            Err(DecodeError::NotUtf8 {
                what: "value of header `ab`".into()
            })
        );
    }

    #[test]
    fn finish_reports_an_unfinished_message() {
        let frame = bedrock_chunk(r#"{"a":1}"#);
        let mut decoder = Decoder::new();
        let mut out = Vec::new();
        decoder.feed(&frame[..frame.len() - 1], &mut out).unwrap();
        assert!(out.is_empty());
        assert_eq!(
            decoder.finish(),
            Err(DecodeError::Truncated {
                buffered: frame.len() - 1
            })
        );
        // A few bytes, less than a prelude, are an unfinished message too.
        let mut decoder = Decoder::new();
        decoder.feed(&frame[..5], &mut out).unwrap();
        assert_eq!(
            decoder.finish(),
            Err(DecodeError::Truncated { buffered: 5 })
        );
    }

    #[test]
    fn the_buffer_holds_only_the_unfinished_message() {
        let (bytes, _) = stream();
        let last = bedrock_chunk(r#"{"tail":true}"#);
        let mut decoder = Decoder::new();
        let mut out = Vec::new();
        decoder
            .feed(&[bytes.as_slice(), &last[..20]].concat(), &mut out)
            .unwrap();
        assert_eq!(out.len(), 4);
        assert_eq!(decoder.buffered(), 20);
    }

    #[test]
    fn encode_cuts_overlong_parts_to_fit() {
        let long_name = "n".repeat(300);
        let long_value = "é".repeat(40_000); // 80,000 bytes
        let m = one(&encode(&[(&long_name, &long_value)], b"p"));
        let (name, value) = &m.headers[0];
        assert_eq!(name.len(), 255);
        let value = value.as_str().unwrap();
        assert_eq!(value.len(), 65_534, "cut at a character boundary");
        assert_eq!(&m.payload[..], b"p");
    }

    /// A small deterministic generator for the fuzz loops.
    struct XorShift(u64);
    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
        fn bytes(&mut self, len: usize) -> Vec<u8> {
            (0..len).map(|_| self.next() as u8).collect()
        }
    }

    /// Feeds `bytes` in random chunks; any outcome but a panic is fine.
    fn feed_randomly(rng: &mut XorShift, bytes: &[u8]) -> Result<Vec<Message>, DecodeError> {
        let mut decoder = Decoder::new();
        let mut out = Vec::new();
        let mut rest = bytes;
        while !rest.is_empty() {
            let n = 1 + rng.below(rest.len());
            decoder.feed(&rest[..n], &mut out)?;
            rest = &rest[n..];
            assert!(decoder.buffered() <= MAX_MESSAGE_LEN as usize + n);
        }
        decoder.finish().map(|()| out)
    }

    #[test]
    fn random_bytes_never_panic() {
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
        for _ in 0..2_000 {
            let len = rng.below(200);
            let bytes = rng.bytes(len);
            let _ = feed_randomly(&mut rng, &bytes);
        }
    }

    #[test]
    fn random_headers_with_valid_checksums_never_panic() {
        // Past both CRCs, so the header parser itself meets the garbage.
        let mut rng = XorShift(0x2545_F491_4F6C_DD1D);
        let mut decoded = 0;
        for _ in 0..5_000 {
            let len = rng.below(64);
            let mut headers = rng.bytes(len);
            // Mostly valid-looking: small name lengths and known types, sometimes not.
            if let Some(first) = headers.first_mut() {
                *first %= 8;
            }
            if headers.len() > 9 {
                let type_at = 1 + usize::from(headers[0]);
                headers[type_at] %= 11;
            }
            decoded += usize::from(feed_randomly(&mut rng, &with_raw_headers(&headers)).is_ok());
        }
        assert!(decoded > 0, "some random header sections should decode");
    }

    #[test]
    fn random_bit_flips_of_a_valid_stream_are_errors_not_panics() {
        let (bytes, _) = stream();
        let mut rng = XorShift(0xD1B5_4A32_D192_ED03);
        for _ in 0..2_000 {
            let mut corrupt = bytes.clone();
            let at = rng.below(corrupt.len());
            corrupt[at] ^= 1 << rng.below(8);
            assert!(feed_randomly(&mut rng, &corrupt).is_err(), "flip at {at}");
        }
    }
}
