//! Tool call ids Anthropic accepts, made from ids it would not.
//!
//! Anthropic requires `tool_use.id` and `tool_result.tool_use_id` to match
//! `^[a-zA-Z0-9_-]+$`, and answers 400 to a history holding any other id. Some
//! OpenAI-compatible vendors name their calls `functions.Write:0` (Kimi, some vLLM builds),
//! and Claude Code sends every id it was given back in later requests, maybe to Anthropic
//! after a `/model` switch. So every id bgw hands to the client passes through
//! [`for_anthropic`], and so does every id it forwards to an Anthropic-format upstream.
//!
//! The mapping is an escape, not a hash: deterministic (a call and its result still pair),
//! and reversible, so [`original`] gives the vendor its own id back when the history returns
//! there. Valid ids are never touched. `functions.Write:0` becomes
//! `bgwx_functions_2EWrite_3A0`: after the `bgwx_` prefix, `[A-Za-z0-9-]` stand for
//! themselves and every other byte (`_` included) is `_` and two hex digits.

use std::borrow::Cow;

const PREFIX: &str = "bgwx_";

/// Whether Anthropic accepts `id` as a tool id.
pub fn is_valid(id: &str) -> bool {
    !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// `id` as Anthropic accepts it: unchanged when valid, else escaped (see the module doc).
pub fn for_anthropic(id: &str) -> Cow<'_, str> {
    if is_valid(id) {
        return Cow::Borrowed(id);
    }
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(PREFIX.len() + id.len() * 2);
    out.push_str(PREFIX);
    for b in id.bytes() {
        if b.is_ascii_alphanumeric() || b == b'-' {
            out.push(char::from(b));
        } else {
            out.push('_');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 15)]));
        }
    }
    Cow::Owned(out)
}

/// The id a vendor gave, from what [`for_anthropic`] made of it; any other id unchanged.
pub fn original(id: &str) -> Cow<'_, str> {
    let Some(body) = id.strip_prefix(PREFIX) else {
        return Cow::Borrowed(id);
    };
    let mut bytes = Vec::with_capacity(body.len());
    let mut rest = body.as_bytes();
    while let Some((&b, tail)) = rest.split_first() {
        if b == b'_' {
            let [hi, lo, ..] = tail else {
                return Cow::Borrowed(id);
            };
            let (Some(hi), Some(lo)) = (hex(*hi), hex(*lo)) else {
                return Cow::Borrowed(id);
            };
            bytes.push((hi << 4) | lo);
            rest = &tail[2..];
        } else if b.is_ascii_alphanumeric() || b == b'-' {
            bytes.push(b);
            rest = tail;
        } else {
            return Cow::Borrowed(id);
        }
    }
    match String::from_utf8(bytes) {
        // A valid id is never escaped, so a valid decoding means `id` was never an escape.
        Ok(decoded) if !is_valid(&decoded) => Cow::Owned(decoded),
        _ => Cow::Borrowed(id),
    }
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_ids_are_kept_as_they_are() {
        for id in [
            "toolu_01A09q90qw90lq917835lq9",
            "call_DdmO9pD3xa9X",
            "a-b_C9",
        ] {
            assert!(matches!(for_anthropic(id), Cow::Borrowed(same) if same == id));
            assert!(matches!(original(id), Cow::Borrowed(same) if same == id));
        }
    }

    #[test]
    fn ids_with_dots_and_colons_are_escaped_consistently_and_reversibly() {
        let mapped = for_anthropic("functions.Write:0");
        assert_eq!(mapped, "bgwx_functions_2EWrite_3A0");
        assert!(is_valid(&mapped));
        assert_eq!(
            for_anthropic("functions.Write:0"),
            mapped,
            "same id, same result"
        );
        assert_ne!(for_anthropic("functions.Write:1"), mapped);
        assert_ne!(for_anthropic("functions:Write.0"), mapped, "no collisions");
        assert_eq!(original(&mapped), "functions.Write:0");
    }

    #[test]
    fn empty_and_non_ascii_ids_round_trip() {
        for id in ["", "call é 1", "a_b.c", "bgwx_.x"] {
            let mapped = for_anthropic(id);
            assert!(is_valid(&mapped), "{mapped}");
            assert_eq!(original(&mapped), id);
        }
    }

    #[test]
    fn ids_that_only_look_escaped_are_not_decoded() {
        // Valid ids that start like an escape, but decode to something valid or malformed.
        for id in ["bgwx_abc", "bgwx_5F", "bgwx__2", "bgwx__ZZ", "bgwx_abc_2"] {
            assert_eq!(original(id), id);
        }
    }
}
