//! History that Anthropic would refuse, found by a byte scan and mended.
//!
//! After a `/model` switch, Claude Code sends Anthropic a conversation partly written by other
//! providers through bgw. Three things in it make Anthropic answer 400:
//! - thinking blocks it did not sign: bgw's (`bgw1.…`, see [`crate::messages::signature`]) or
//!   empty signatures (other gateways, older bgw);
//! - tool ids outside `^[a-zA-Z0-9_-]+$` (`functions.Write:0` from some vendors);
//! - with `thinking` on, a final assistant turn holding `tool_use` that does not start with a
//!   thinking block ("Expected `thinking` or `redacted_thinking`, but found `text`…"), which
//!   dropping the foreign thinking can cause.
//!
//! Most requests hold none of this, and the passthrough must stay a byte copy for them: so
//! [`needs_mending`] only scans bytes (every `"signature"`, `"id"` and `"tool_use_id"` key and
//! the string after it), and the body is parsed only when it finds something. Mending then
//! drops those thinking blocks (and an assistant message left empty), escapes the bad ids
//! with [`tool_id::for_anthropic`] (a `tool_use` and its `tool_result` still pair), and turns
//! `thinking` off (with the `clear_thinking` context edits that need it) when the final tool
//! turn no longer starts with thinking: the request then succeeds without thinking instead of
//! failing. Every value not changed is written back byte for byte, in its place.

use memchr::memmem::Finder;
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::fmt;
use std::sync::OnceLock;

use crate::messages::{signature, tool_id};

/// Whether the body may hold history Anthropic refuses; never parses. A false alarm only
/// costs a parse that changes nothing.
///
/// Two SIMD substring searches (memchr's `memmem`) find `"signature"`, and `id"`, which ends
/// both `"id"` and `"tool_use_id"`; the string after each key is read in place. On the 50 KB
/// Claude Code request that is about 3 µs (`anthropic_passthrough_body` in
/// benches/translate.rs). Keys inside string values never match: their quotes are escaped.
pub fn needs_mending(body: &[u8]) -> bool {
    static KEYS: OnceLock<[Finder<'static>; 2]> = OnceLock::new();
    // `id"` ends both `"id"` and `"tool_use_id"`: one pass finds both.
    let [signature, id] =
        KEYS.get_or_init(|| [&b"\"signature\""[..], b"id\""].map(|k| Finder::new(k).into_owned()));
    let foreign_signature = signature.find_iter(body).any(|at| {
        string_value(&body[at + signature.needle().len()..])
            .is_some_and(|v| v.is_empty() || v.starts_with(b"bgw1."))
    });
    foreign_signature
        || id.find_iter(body).any(|at| {
            let key = &body[..at];
            (key.ends_with(b"\"") || key.ends_with(b"\"tool_use_"))
                && string_value(&body[at + id.needle().len()..]).is_some_and(|v| {
                    v.is_empty()
                        || !v
                            .iter()
                            .all(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'-')
                })
        })
}

/// The raw bytes of the string after `:` (escapes left as they are), if a string follows.
fn string_value(after_key: &[u8]) -> Option<&[u8]> {
    let ws = |b: &u8| matches!(b, b' ' | b'\t' | b'\n' | b'\r');
    let mut rest = after_key;
    while rest.first().is_some_and(ws) {
        rest = &rest[1..];
    }
    let mut rest = rest.strip_prefix(b":")?;
    while rest.first().is_some_and(ws) {
        rest = &rest[1..];
    }
    let rest = rest.strip_prefix(b"\"")?;
    // An escape counts as a byte outside the id pattern, which is what the caller needs.
    let end = rest.iter().position(|&b| b == b'"')?;
    Some(&rest[..end])
}

/// The mended body with `model` set to `upstream_model`; `None` when there is nothing to mend
/// (or the body is not shaped as expected: then it goes as it is, for Anthropic's own error).
pub fn mend(body: &[u8], upstream_model: &str) -> Option<Vec<u8>> {
    let mut top: Object<'_> = serde_json::from_slice(body).ok()?;
    let messages: Vec<&RawValue> = serde_json::from_str(top.get("messages")?.get()).ok()?;
    let mut changed = false;
    let mut kept: Vec<(Piece<'_>, Turn)> = Vec::with_capacity(messages.len());
    for raw in messages {
        match mend_message(raw) {
            Mended::Same(turn) => kept.push((Piece::Raw(raw), turn)),
            Mended::Changed(json, turn) => {
                changed = true;
                kept.push((Piece::Built(json), turn));
            }
            Mended::Dropped => changed = true,
        }
    }
    if !changed {
        return None;
    }
    if thinking_on(&top) && !final_tool_turn_starts_with_thinking(kept.iter().map(|(_, t)| t)) {
        top.remove("thinking");
        drop_clear_thinking_edits(&mut top);
    }
    let mut list = String::with_capacity(body.len());
    list.push('[');
    for (i, (piece, _)) in kept.iter().enumerate() {
        if i > 0 {
            list.push(',');
        }
        list.push_str(piece.as_str());
    }
    list.push(']');
    top.set("messages", Piece::Built(list));
    top.set("model", Piece::Built(json_string(upstream_model)));
    let mut out = String::with_capacity(body.len());
    top.write(&mut out);
    Some(out.into_bytes())
}

/// What the thinking rule needs to know of a message as it will be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Turn {
    assistant: bool,
    has_tool_use: bool,
    starts_with_thinking: bool,
}

enum Mended {
    Same(Turn),
    Changed(String, Turn),
    Dropped,
}

#[derive(Deserialize)]
struct Role<'a> {
    #[serde(default, borrow)]
    role: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct BlockHead<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(default, borrow)]
    signature: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    tool_use_id: Option<Cow<'a, str>>,
}

fn mend_message(raw: &RawValue) -> Mended {
    let assistant = serde_json::from_str::<Role<'_>>(raw.get())
        .ok()
        .and_then(|r| r.role)
        .is_some_and(|r| r == "assistant");
    let mut turn = Turn {
        assistant,
        has_tool_use: false,
        starts_with_thinking: false,
    };
    let Ok(mut message) = serde_json::from_str::<Object<'_>>(raw.get()) else {
        return Mended::Same(turn);
    };
    // String content (or none): nothing to mend.
    let Some(blocks) = message
        .get("content")
        .and_then(|c| serde_json::from_str::<Vec<&RawValue>>(c.get()).ok())
    else {
        return Mended::Same(turn);
    };
    let mut changed = false;
    let mut kept: Vec<Piece<'_>> = Vec::with_capacity(blocks.len());
    for block in blocks {
        let Ok(head) = serde_json::from_str::<BlockHead<'_>>(block.get()) else {
            kept.push(Piece::Raw(block));
            continue;
        };
        let bad_id =
            |id: &Option<Cow<'_, str>>| id.as_deref().is_some_and(|i| !tool_id::is_valid(i));
        let piece = match head.kind.as_ref() {
            "thinking" if foreign_signature(head.signature.as_deref()) => {
                changed = true;
                continue;
            }
            "tool_use" if bad_id(&head.id) => {
                remap(block, "id", head.id.as_deref().unwrap_or_default())
            }
            "tool_result" if bad_id(&head.tool_use_id) => remap(
                block,
                "tool_use_id",
                head.tool_use_id.as_deref().unwrap_or_default(),
            ),
            _ => None,
        };
        if kept.is_empty() {
            turn.starts_with_thinking =
                matches!(head.kind.as_ref(), "thinking" | "redacted_thinking");
        }
        turn.has_tool_use |= head.kind == "tool_use";
        match piece {
            Some(built) => {
                changed = true;
                kept.push(built);
            }
            None => kept.push(Piece::Raw(block)),
        }
    }
    if !changed {
        return Mended::Same(turn);
    }
    if kept.is_empty() && assistant {
        return Mended::Dropped;
    }
    let mut list = String::from("[");
    for (i, piece) in kept.iter().enumerate() {
        if i > 0 {
            list.push(',');
        }
        list.push_str(piece.as_str());
    }
    list.push(']');
    message.set("content", Piece::Built(list));
    let mut out = String::with_capacity(raw.get().len());
    message.write(&mut out);
    Mended::Changed(out, turn)
}

/// A thinking block Anthropic did not sign: bgw's own, or no signature at all.
fn foreign_signature(signature: Option<&str>) -> bool {
    signature.is_none_or(|s| s.is_empty() || signature::is_bgw(s))
}

/// The block with `key`'s id escaped for Anthropic.
fn remap<'a>(block: &'a RawValue, key: &str, id: &str) -> Option<Piece<'a>> {
    let mut object: Object<'_> = serde_json::from_str(block.get()).ok()?;
    object.set(key, Piece::Built(json_string(&tool_id::for_anthropic(id))));
    let mut out = String::with_capacity(block.get().len() + 16);
    object.write(&mut out);
    Some(Piece::Built(out))
}

#[derive(Deserialize)]
struct TypeOnly<'a> {
    #[serde(rename = "type", default, borrow)]
    kind: Option<Cow<'a, str>>,
}

/// Whether the request asks for thinking (`enabled` or `adaptive`).
fn thinking_on(top: &Object<'_>) -> bool {
    top.get("thinking")
        .and_then(|t| serde_json::from_str::<TypeOnly<'_>>(t.get()).ok())
        .and_then(|t| t.kind)
        .is_some_and(|k| k != "disabled")
}

/// Anthropic's rule with thinking on: when the last assistant turn (consecutive assistant
/// messages count as one, as Anthropic merges them) holds `tool_use`, it must start with a
/// thinking block.
fn final_tool_turn_starts_with_thinking<'t>(
    turns: impl DoubleEndedIterator<Item = &'t Turn>,
) -> bool {
    let mut last_turn: Vec<&Turn> = turns
        .rev()
        .skip_while(|t| !t.assistant)
        .take_while(|t| t.assistant)
        .collect();
    last_turn.reverse();
    let has_tool_use = last_turn.iter().any(|t| t.has_tool_use);
    !has_tool_use || last_turn.first().is_some_and(|t| t.starts_with_thinking)
}

/// Removes the context-management edits that only work with thinking on
/// (`clear_thinking_…`); the whole field if no edit is left.
fn drop_clear_thinking_edits(top: &mut Object<'_>) {
    let Some(raw) = top.get("context_management") else {
        return;
    };
    let Ok(mut cm) = serde_json::from_str::<Object<'_>>(raw.get()) else {
        return;
    };
    let Some(edits) = cm
        .get("edits")
        .and_then(|e| serde_json::from_str::<Vec<&RawValue>>(e.get()).ok())
    else {
        return;
    };
    let before = edits.len();
    let kept: Vec<&RawValue> = edits
        .into_iter()
        .filter(|e| {
            !serde_json::from_str::<TypeOnly<'_>>(e.get())
                .ok()
                .and_then(|t| t.kind)
                .is_some_and(|k| k.starts_with("clear_thinking"))
        })
        .collect();
    if kept.len() == before {
        return;
    }
    if kept.is_empty() {
        top.remove("context_management");
        return;
    }
    let list = format!(
        "[{}]",
        kept.iter().map(|e| e.get()).collect::<Vec<_>>().join(",")
    );
    cm.set("edits", Piece::Built(list));
    let mut out = String::new();
    cm.write(&mut out);
    top.set("context_management", Piece::Built(out));
}

fn json_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_owned())
}

/// A JSON value: as written in the body, or built anew.
enum Piece<'a> {
    Raw(&'a RawValue),
    Built(String),
}

impl Piece<'_> {
    fn as_str(&self) -> &str {
        match self {
            Piece::Raw(raw) => raw.get(),
            Piece::Built(s) => s,
        }
    }
}

/// A JSON object's members in their order, each value kept as written until replaced.
struct Object<'a> {
    members: Vec<(Cow<'a, str>, Piece<'a>)>,
}

impl<'a> Object<'a> {
    fn get(&self, key: &str) -> Option<&'a RawValue> {
        self.members.iter().find_map(|(k, v)| match v {
            Piece::Raw(raw) if k == key => Some(*raw),
            _ => None,
        })
    }

    fn set(&mut self, key: &str, value: Piece<'a>) {
        match self.members.iter_mut().find(|(k, _)| k == key) {
            Some((_, v)) => *v = value,
            None => self.members.push((Cow::Owned(key.to_owned()), value)),
        }
    }

    fn remove(&mut self, key: &str) {
        self.members.retain(|(k, _)| k != key);
    }

    fn write(&self, out: &mut String) {
        out.push('{');
        for (i, (key, value)) in self.members.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&json_string(key));
            out.push(':');
            out.push_str(value.as_str());
        }
        out.push('}');
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Object<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ObjectVisitor;
        impl<'de> Visitor<'de> for ObjectVisitor {
            type Value = Object<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut members = Vec::with_capacity(map.size_hint().unwrap_or(8));
                while let Some((Key(k), v)) = map.next_entry::<Key<'de>, &'de RawValue>()? {
                    members.push((k, Piece::Raw(v)));
                }
                Ok(Object { members })
            }
        }
        d.deserialize_map(ObjectVisitor)
    }
}

/// An object key, borrowed from the body unless it holds escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Key<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

#[cfg(test)]
#[path = "history_tests.rs"]
mod tests;
