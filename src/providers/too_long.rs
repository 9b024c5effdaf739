//! Upstream "context too long" refusals, told the way Anthropic tells them.
//!
//! Claude Code compacts the conversation when a request is refused as too long. Anthropic
//! says `prompt is too long: N tokens > M maximum` (an `invalid_request_error`), and Claude
//! Code reads N and M from that sentence to see how far over it is. Other providers word it
//! their own way; the wordings below are those their APIs send, as quoted in public issue
//! threads:
//! - OpenAI, Azure, DeepSeek, vLLM: `This model's maximum context length is M tokens.
//!   However, your messages resulted in N tokens.` or `… you requested N tokens (P in the
//!   messages, C in the completion).`, with code `context_length_exceeded`;
//! - Groq: code `context_length_exceeded`, `Please reduce the length of the messages or
//!   completion.` (no numbers);
//! - Mistral: `Prompt contains N tokens …, too large for model with M maximum context length`;
//! - Gemini: `The input token count (N) exceeds the maximum number of tokens allowed (M).`
//!   (status `INVALID_ARGUMENT`).

use crate::messages::{ApiError, ErrorKind};

/// Anthropic's error for an upstream message that refuses the request as too long, or `None`
/// when the message says something else. `code` is the upstream's error code, if any.
pub fn refusal(provider: &str, message: &str, code: Option<&str>) -> Option<ApiError> {
    let lower = message.to_ascii_lowercase();
    let says_too_long = code == Some("context_length_exceeded")
        || [
            "maximum context length",
            "context length exceeded",
            "context_length_exceeded",
            "reduce the length of the messages",
            "too large for model with",
            "exceeds the context window",
            "exceeds the maximum number of tokens allowed",
        ]
        .iter()
        .any(|p| lower.contains(p));
    if !says_too_long {
        return None;
    }
    let limit = number_after(&lower, "maximum context length is")
        .or_else(|| number_before(&lower, "maximum context length"))
        .or_else(|| number_after(&lower, "tokens allowed ("));
    let actual = number_after(&lower, "you requested")
        .or_else(|| number_after(&lower, "resulted in"))
        .or_else(|| number_after(&lower, "prompt contains"))
        .or_else(|| number_after(&lower, "input token count ("));
    let text = match (actual, limit) {
        (Some(n), Some(m)) if n > m => format!("prompt is too long: {n} tokens > {m} maximum"),
        _ => format!("prompt is too long for {provider}: {}", message.trim()),
    };
    Some(ApiError::new(ErrorKind::InvalidRequest, text))
}

/// Anthropic's own refusal of a prompt over the window, wherever Claude answers and whatever
/// surrounds it: `prompt is too long: N tokens > M maximum` (N > M), written exactly so, since
/// Claude Code reads both numbers from it; `None` for any other message.
pub fn anthropic_sentence(message: &str) -> Option<ApiError> {
    const PHRASE: &str = "prompt is too long:";
    // Found in the lowercased copy: ASCII lowercasing keeps every byte offset.
    let at = message.to_ascii_lowercase().find(PHRASE)?;
    let rest = message[at + PHRASE.len()..].trim_start();
    let (actual, rest) = leading_number(rest)?;
    let rest = rest.trim_start().strip_prefix("tokens")?.trim_start();
    let (limit, rest) = leading_number(rest.strip_prefix('>')?.trim_start())?;
    if !rest.trim_start().starts_with("maximum") || actual <= limit {
        return None;
    }
    Some(ApiError::new(
        ErrorKind::InvalidRequest,
        format!("prompt is too long: {actual} tokens > {limit} maximum"),
    ))
}

/// The digits `text` starts with, as a number, and what follows them.
fn leading_number(text: &str) -> Option<(u64, &str)> {
    let end = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    Some((text[..end].parse().ok()?, &text[end..]))
}

/// The number right after `phrase` (commas allowed), as in "length is 128,000 tokens".
fn number_after(text: &str, phrase: &str) -> Option<u64> {
    // Split, not sliced by index: the upstream's text may hold any character.
    let (_, rest) = text.split_once(phrase)?;
    let digits: String = rest
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == ',')
        .filter(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// The number right before `phrase`, as in "with 32768 maximum context length".
fn number_before(text: &str, phrase: &str) -> Option<u64> {
    let (head, _) = text.split_once(phrase)?;
    // The last run of digits and commas; split on characters, so a multi-byte one before it
    // (`long—32768`) is never cut in half.
    let number = head
        .trim_end()
        .rsplit(|c: char| !(c.is_ascii_digit() || c == ','))
        .next()?;
    number.replace(',', "").parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn said(message: &str, code: Option<&str>) -> Option<String> {
        refusal("openai", message, code).map(|e| {
            assert_eq!((e.status, e.kind), (400, ErrorKind::InvalidRequest));
            e.message
        })
    }

    #[test]
    fn openai_messages_over_the_window_read_as_anthropics_sentence() {
        assert_eq!(
            said(
                "This model's maximum context length is 128000 tokens. However, your messages resulted in 130532 tokens. Please reduce the length of the messages.",
                Some("context_length_exceeded"),
            )
            .as_deref(),
            Some("prompt is too long: 130532 tokens > 128000 maximum")
        );
    }

    #[test]
    fn the_total_requested_counts_when_the_completion_tips_it_over() {
        assert_eq!(
            said(
                "This model's maximum context length is 131072 tokens. However, you requested 139162 tokens (130970 in the messages, 8192 in the completion). Please reduce the length of the messages or completion.",
                None,
            )
            .as_deref(),
            Some("prompt is too long: 139162 tokens > 131072 maximum")
        );
    }

    #[test]
    fn mistral_puts_the_limit_before_the_phrase() {
        assert_eq!(
            said(
                "Prompt contains 40000 tokens and 0 draft tokens, too large for model with 32768 maximum context length",
                None,
            )
            .as_deref(),
            Some("prompt is too long: 40000 tokens > 32768 maximum")
        );
    }

    #[test]
    fn gemini_names_both_numbers_in_parentheses() {
        // https://github.com/google-gemini/gemini-cli/issues/6678
        assert_eq!(
            said(
                "The input token count (1200293) exceeds the maximum number of tokens allowed (1048576).",
                None,
            )
            .as_deref(),
            Some("prompt is too long: 1200293 tokens > 1048576 maximum")
        );
    }

    #[test]
    fn without_numbers_the_providers_words_are_kept_behind_the_phrase_claude_code_knows() {
        assert_eq!(
            said(
                "Please reduce the length of the messages or completion.",
                Some("context_length_exceeded"),
            )
            .as_deref(),
            Some(
                "prompt is too long for openai: Please reduce the length of the messages or completion."
            )
        );
    }

    #[test]
    fn a_multibyte_character_before_the_phrase_does_not_panic() {
        // Regression: `number_before` sliced one byte past the em dash and panicked.
        assert_eq!(
            said("Input too long—maximum context length exceeded", None).as_deref(),
            Some("prompt is too long for openai: Input too long—maximum context length exceeded")
        );
        assert_eq!(
            said(
                "Prompt contains 40000 tokens, too large for model with—32768 maximum context length",
                None,
            )
            .as_deref(),
            Some("prompt is too long: 40000 tokens > 32768 maximum")
        );
        for c in ["é", "中", "🦀"] {
            let message = format!("too large for model with{c}maximum context length");
            assert!(said(&message, None).is_some_and(|m| m.ends_with(&message)));
        }
    }

    #[test]
    fn anthropics_sentence_is_kept_exactly_wherever_it_stands() {
        // https://docs.claude.com/en/api/errors : a 400 `invalid_request_error`.
        let e = anthropic_sentence("prompt is too long: 208310 tokens > 200000 maximum").unwrap();
        assert_eq!((e.status, e.kind), (400, ErrorKind::InvalidRequest));
        assert_eq!(
            e.message,
            "prompt is too long: 208310 tokens > 200000 maximum"
        );
        assert_eq!(
            anthropic_sentence(r#"{"message":"Prompt is too long: 3 tokens > 2 maximum."}"#)
                .map(|e| e.message)
                .as_deref(),
            Some("prompt is too long: 3 tokens > 2 maximum")
        );
    }

    #[test]
    fn anything_short_of_the_whole_sentence_is_not_it() {
        for message in [
            "prompt is too long",
            "prompt is too long: 208310 tokens",
            "prompt is too long: 208310 tokens > 200000",
            "prompt is too long: 2 tokens > 3 maximum",
            "max_tokens: 999999 > 64000",
        ] {
            assert!(anthropic_sentence(message).is_none(), "{message}");
        }
    }

    #[test]
    fn other_errors_are_not_mistaken_for_it() {
        assert_eq!(said("Invalid value for 'temperature'", None), None);
        assert_eq!(said("Rate limit reached for gpt-4o", None), None);
    }
}
