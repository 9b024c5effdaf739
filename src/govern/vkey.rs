//! Virtual keys: making their secrets, recognising them, and what each may use.

use crate::store::vkeys::VirtualKey;

/// What every virtual key's secret starts with.
pub const PREFIX: &str = "bgw-vk-";

/// Characters of a secret after its prefix: base 62, so it survives any header or shell.
const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/// 32 characters of base 62: 190 bits from the OS.
const SECRET_CHARS: usize = 32;

/// A new secret, `bgw-vk-` and 32 base-62 characters drawn from the OS (190 bits).
pub fn new_secret() -> Result<String, String> {
    let mut out = String::with_capacity(PREFIX.len() + SECRET_CHARS);
    out.push_str(PREFIX);
    while out.len() < PREFIX.len() + SECRET_CHARS {
        let mut bytes = [0u8; 64];
        getrandom::fill(&mut bytes)
            .map_err(|e| format!("the OS gave no randomness for a key ({e})"))?;
        // 248 = 4 × 62: bytes above it are dropped so every character is equally likely.
        for b in bytes.into_iter().filter(|&b| b < 248) {
            if out.len() == PREFIX.len() + SECRET_CHARS {
                break;
            }
            out.push(char::from(ALPHABET[usize::from(b % 62)]));
        }
    }
    Ok(out)
}

/// The hash the store keeps of a secret: SHA-256, hex.
///
/// A slow password hash (bcrypt, Argon2) protects secrets people choose, which are few
/// enough to guess one by one. These are 190 random bits: no guess list exists, so a fast
/// hash is as safe, and it lets every request be checked in a microsecond.
pub fn hash(secret: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, secret.as_bytes());
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// The last four characters of a secret, shown to tell keys apart.
pub fn hint(secret: &str) -> String {
    let n = secret.chars().count();
    secret.chars().skip(n.saturating_sub(4)).collect()
}

/// Whether a credential a client sent is a virtual key (rather than a provider's).
pub fn looks_like(credential: &str) -> bool {
    credential.starts_with(PREFIX)
}

/// Whether `key` may use `model` of `provider` (its `--models` and `--providers` lists).
pub fn allows(key: &VirtualKey, provider: &str, model: &str) -> bool {
    let provider_ok = key.providers.is_empty() || key.providers.iter().any(|p| p == provider);
    let model_ok = key.models.is_empty()
        || key
            .models
            .iter()
            .any(|pattern| model_matches(pattern, provider, model));
    provider_ok && model_ok
}

/// `openai/*`, `anthropic/claude-sonnet-4-5`, `*`, or a bare Claude name (Anthropic's).
fn model_matches(pattern: &str, provider: &str, model: &str) -> bool {
    let (p, m) = match pattern.split_once('/') {
        Some((p, m)) => (p, m),
        None if pattern == "*" => ("*", "*"),
        None => ("anthropic", pattern),
    };
    glob(p, provider) && glob(m, model)
}

/// `*` matches any run of characters; everything else itself.
fn glob(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((head, rest)) => {
            let Some(tail) = text.strip_prefix(head) else {
                return false;
            };
            (0..=tail.len())
                .filter(|&i| tail.is_char_boundary(i))
                .any(|i| glob(rest, &tail[i..]))
        }
    }
}

/// What `key` may use, for the message refusing something else.
pub fn describe_allowed(key: &VirtualKey) -> String {
    let mut parts = Vec::new();
    if !key.models.is_empty() {
        parts.push(format!("models {}", key.models.join(", ")));
    }
    if !key.providers.is_empty() {
        parts.push(format!("providers {}", key.providers.join(", ")));
    }
    if parts.is_empty() {
        "any model".to_owned()
    } else {
        parts.join("; ")
    }
}

/// Checks a name for a virtual key, team or customer: 1–64 letters, digits, `.`, `_`, `-`, `@`.
pub fn check_name(what: &str, name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{name}` is not a valid {what} name: use 1 to 64 letters, digits, `.`, `_`, `-` or `@`"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(models: &[&str], providers: &[&str]) -> VirtualKey {
        VirtualKey {
            name: "alice".into(),
            hash: String::new(),
            hint: String::new(),
            team: None,
            customer: None,
            models: models.iter().map(|s| s.to_string()).collect(),
            providers: providers.iter().map(|s| s.to_string()).collect(),
            expires_ms: None,
            disabled: false,
            created_ms: 0,
            rotated_ms: None,
        }
    }

    #[test]
    fn secrets_are_long_random_and_prefixed() {
        let a = new_secret().unwrap();
        let b = new_secret().unwrap();
        assert_ne!(a, b);
        assert!(a.starts_with("bgw-vk-") && a.len() == 39, "{a}");
        assert!(a[7..].bytes().all(|c| c.is_ascii_alphanumeric()));
        assert_eq!(hash(&a).len(), 64);
        assert_eq!(hint(&a), &a[35..]);
    }

    #[test]
    fn model_lists_take_globs_and_bare_claude_names() {
        let k = key(&["openai/*", "claude-sonnet-4-5"], &[]);
        assert!(allows(&k, "openai", "gpt-5"));
        assert!(allows(&k, "anthropic", "claude-sonnet-4-5"));
        assert!(!allows(&k, "anthropic", "claude-opus-4-5"));
        assert!(!allows(&k, "groq", "gpt-5"));
        let k = key(&["groq/llama-*-versatile"], &[]);
        assert!(allows(&k, "groq", "llama-3.3-70b-versatile"));
        assert!(!allows(&k, "groq", "llama-3.3-70b-specdec"));
    }

    #[test]
    fn provider_lists_narrow_as_well() {
        let k = key(&[], &["openai", "groq"]);
        assert!(allows(&k, "groq", "anything"));
        assert!(!allows(&k, "anthropic", "claude-sonnet-4-5"));
        assert_eq!(describe_allowed(&k), "providers openai, groq");
        assert_eq!(describe_allowed(&key(&[], &[])), "any model");
    }

    #[test]
    fn names_are_plain() {
        assert!(check_name("team", "eng-eu_2").is_ok());
        assert!(check_name("team", "a b").is_err());
        assert!(check_name("team", "").is_err());
        assert!(check_name("team", "a/b").is_err());
    }
}
