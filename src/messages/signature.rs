//! Signatures on the thinking blocks bgw makes, so it knows them again.
//!
//! Anthropic signs its own thinking blocks and refuses any it did not sign; reasoning from
//! OpenAI-format upstreams (`reasoning_content`, `reasoning`) comes with no signature at all.
//! When a conversation moves between providers (`/model`), the whole history goes to the new
//! one, and bgw must tell its own blocks apart: they are dropped for Anthropic, and handed back
//! only to the provider and model that wrote them (DeepSeek needs its reasoning back in tool
//! loops).
//!
//! A bgw signature reads `bgw1.{provider}.{model}.{mac}`:
//! - `bgw1.` can never begin an Anthropic signature (those are base64, which has no `.`);
//! - `provider` is the provider id (`[a-z0-9_-]`, no dots), `model` the upstream model as sent
//!   (it may hold dots, slashes or colons: it is everything up to the last dot);
//! - `mac` is HMAC-SHA256, base64url without padding, over `bgw1`, the provider and the model
//!   (each length-prefixed) and then the thinking text, keyed with the install's 32-byte
//!   secret ([`crate::store::Store::thinking_key`]).
//!
//! A block may also carry bytes the upstream needs back with it (OpenAI's Responses API gives its
//! reasoning as an item id and `encrypted_content`, to be returned in later requests; Anthropic's
//! thinking blocks have nowhere else to keep them). Such a signature reads
//! `bgw1.{provider}.{model}.{mac}~{carried}`: `carried` is those bytes in unpadded base64url, and
//! the MAC (its input starting `bgw1c` instead of `bgw1`) covers them after the thinking text,
//! followed by their length, so they cannot be changed or moved into the text unnoticed. It still
//! starts `bgw1.`, so everything that tells bgw's blocks from Anthropic's sees it as bgw's.
//!
//! The MAC says who wrote a block; it is not a secret-keeping device: the thinking text is in
//! the client's hands anyway. It only keeps bgw from handing one model's words to another as
//! that model's own reasoning.

use ring::hmac;
use std::fmt;
use std::sync::Arc;

/// What every bgw signature starts with.
pub const PREFIX: &str = "bgw1.";
/// The MAC's length once encoded (32 bytes in unpadded base64url).
const MAC_CHARS: usize = 43;
/// Between the MAC and the bytes a signature carries (not in the base64url alphabet).
const CARRY: char = '~';

/// The provider and upstream model a signed thinking block came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Origin<'s> {
    pub provider: &'s str,
    pub model: &'s str,
}

/// Whether `signature` is one of bgw's (valid or not): such blocks never go to Anthropic.
pub fn is_bgw(signature: &str) -> bool {
    signature.starts_with(PREFIX)
}

/// The install's key for signing thinking blocks.
#[derive(Clone)]
pub struct ThinkingKey(hmac::Key);

impl fmt::Debug for ThinkingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ThinkingKey(…)")
    }
}

impl ThinkingKey {
    /// Bytes in a key.
    pub const LEN: usize = 32;

    /// The key made of these bytes (as kept in the store).
    pub fn from_bytes(bytes: &[u8; Self::LEN]) -> ThinkingKey {
        ThinkingKey(hmac::Key::new(hmac::HMAC_SHA256, bytes))
    }

    /// A key for this process only: blocks it signs are not recognised after a restart.
    pub fn random() -> ThinkingKey {
        ThinkingKey::from_bytes(&random_bytes())
    }

    /// The signature of `thinking` as written by `model` of `provider`.
    pub fn sign(&self, provider: &str, model: &str, thinking: &str) -> String {
        let mut mac = self.start(provider, model);
        mac.update(thinking);
        mac.finish()
    }

    /// The signature of `thinking` as written by `model` of `provider`, carrying `carried`.
    pub fn sign_carrying(
        &self,
        provider: &str,
        model: &str,
        thinking: &str,
        carried: &[u8],
    ) -> String {
        let mut mac = self.start_carrying(provider, model);
        mac.update(thinking);
        mac.finish_carrying(carried)
    }

    /// Where `thinking` came from, if `signature` is bgw's and was made for exactly this text
    /// with this key; `None` for Anthropic's signatures, empty ones and anything tampered with.
    pub fn verify<'s>(&self, signature: &'s str, thinking: &str) -> Option<Origin<'s>> {
        self.verify_carried(signature, thinking)
            .map(|(origin, _)| origin)
    }

    /// As [`ThinkingKey::verify`], with the bytes the signature carries (`None` inside when it
    /// is the plain form, which carries nothing).
    pub fn verify_carried<'s>(
        &self,
        signature: &'s str,
        thinking: &str,
    ) -> Option<(Origin<'s>, Option<Vec<u8>>)> {
        let rest = signature.strip_prefix(PREFIX)?;
        let (provider, rest) = rest.split_once('.')?;
        let (model, tail) = rest.rsplit_once('.')?;
        let (mac, carried) = match tail.split_once(CARRY) {
            Some((mac, encoded)) => (mac, Some(base64url_decode(encoded)?)),
            None => (tail, None),
        };
        if provider.is_empty() || model.is_empty() || mac.len() != MAC_CHARS {
            return None;
        }
        let expected = match &carried {
            Some(bytes) => {
                let full = self.sign_carrying(provider, model, thinking, bytes);
                let end = full.rfind(CARRY)?;
                full.get(end - MAC_CHARS..end)?.to_owned()
            }
            None => {
                let full = self.sign(provider, model, thinking);
                full.get(full.len() - MAC_CHARS..)?.to_owned()
            }
        };
        same(expected.as_bytes(), mac.as_bytes()).then_some((Origin { provider, model }, carried))
    }

    /// A MAC to be fed the thinking text piece by piece (a stream), then finished.
    pub fn start(&self, provider: &str, model: &str) -> ThinkingMac {
        self.begin(b"bgw1", provider, model)
    }

    /// As [`ThinkingKey::start`], for a signature that will carry bytes
    /// ([`ThinkingMac::finish_carrying`]).
    pub fn start_carrying(&self, provider: &str, model: &str) -> ThinkingMac {
        self.begin(b"bgw1c", provider, model)
    }

    fn begin(&self, domain: &'static [u8], provider: &str, model: &str) -> ThinkingMac {
        let mut ctx = hmac::Context::with_key(&self.0);
        ctx.update(domain);
        for field in [provider, model] {
            ctx.update(&(field.len() as u64).to_be_bytes());
            ctx.update(field.as_bytes());
        }
        let mut head = String::with_capacity(PREFIX.len() + provider.len() + model.len() + 2);
        head.push_str(PREFIX);
        head.push_str(provider);
        head.push('.');
        head.push_str(model);
        head.push('.');
        ThinkingMac {
            ctx,
            head,
            carrying: domain != b"bgw1",
        }
    }

    /// A signer for the thinking of `model` served by `provider`.
    pub fn signer(self: &Arc<Self>, provider: &str, model: &str) -> Signer {
        Signer {
            key: Arc::clone(self),
            provider: provider.to_owned(),
            model: model.to_owned(),
        }
    }
}

/// A signature in the making: thinking text goes in as it streams.
#[derive(Clone)]
pub struct ThinkingMac {
    ctx: hmac::Context,
    head: String,
    /// Started with [`ThinkingKey::start_carrying`].
    carrying: bool,
}

impl fmt::Debug for ThinkingMac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ThinkingMac").field(&self.head).finish()
    }
}

impl ThinkingMac {
    /// Adds the next piece of thinking text.
    pub fn update(&mut self, thinking: &str) {
        self.ctx.update(thinking.as_bytes());
    }

    /// The signature of all the text fed in (carrying nothing, if started to carry).
    pub fn finish(self) -> String {
        if self.carrying {
            return self.finish_carrying(&[]);
        }
        let mut out = self.head;
        base64url(self.ctx.sign().as_ref(), &mut out);
        out
    }

    /// The signature of all the text fed in, carrying `carried`; a MAC begun with
    /// [`ThinkingKey::start`] cannot carry anything and gives the plain signature.
    pub fn finish_carrying(mut self, carried: &[u8]) -> String {
        if !self.carrying {
            let mut out = self.head;
            base64url(self.ctx.sign().as_ref(), &mut out);
            return out;
        }
        self.ctx.update(carried);
        self.ctx.update(&(carried.len() as u64).to_be_bytes());
        let mut out = self.head;
        base64url(self.ctx.sign().as_ref(), &mut out);
        out.push(CARRY);
        base64url(carried, &mut out);
        out
    }
}

/// Signs, and recognises, the thinking of one model at one provider.
#[derive(Clone)]
pub struct Signer {
    key: Arc<ThinkingKey>,
    provider: String,
    model: String,
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signer({}/{})", self.provider, self.model)
    }
}

impl Signer {
    /// The signature for a whole thinking text.
    pub fn sign(&self, thinking: &str) -> String {
        self.key.sign(&self.provider, &self.model, thinking)
    }

    /// A signature to be fed a streamed thinking text.
    pub fn start(&self) -> ThinkingMac {
        self.key.start(&self.provider, &self.model)
    }

    /// Whether this model at this provider wrote `thinking` (its signature verifies as ours).
    pub fn wrote(&self, signature: &str, thinking: &str) -> bool {
        self.key.verify(signature, thinking)
            == Some(Origin {
                provider: &self.provider,
                model: &self.model,
            })
    }

    /// A signature to be fed a streamed thinking text, then to carry bytes.
    pub fn start_carrying(&self) -> ThinkingMac {
        self.key.start_carrying(&self.provider, &self.model)
    }

    /// The signature for a whole thinking text, carrying `carried`.
    pub fn sign_carrying(&self, thinking: &str, carried: &[u8]) -> String {
        self.key
            .sign_carrying(&self.provider, &self.model, thinking, carried)
    }

    /// The bytes `signature` carries, if this model at this provider wrote `thinking` and
    /// the signature carries any.
    pub fn carried(&self, signature: &str, thinking: &str) -> Option<Vec<u8>> {
        let (origin, carried) = self.key.verify_carried(signature, thinking)?;
        (origin.provider == self.provider && origin.model == self.model)
            .then_some(carried)
            .flatten()
    }
}

/// Compares without stopping at the first difference.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Appends `bytes` in base64url without padding.
pub(crate) fn base64url(bytes: &[u8], out: &mut String) {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | (u32::from(b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
        }
    }
}

/// Bytes from unpadded base64url; `None` for anything else (padding, other alphabets, a
/// length no encoding gives).
fn base64url_decode(text: &str) -> Option<Vec<u8>> {
    fn value(c: u8) -> Option<u32> {
        Some(u32::from(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            _ => return None,
        }))
    }
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    for chunk in text.as_bytes().chunks(4) {
        if chunk.len() == 1 {
            return None;
        }
        let mut n = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            n |= value(c)? << (18 - 6 * i);
        }
        for i in 0..chunk.len() - 1 {
            out.push((n >> (16 - 8 * i)) as u8);
        }
    }
    Some(out)
}

/// 32 random bytes from the OS; should it have none, the clock and process id, which still
/// make this process's key its own.
fn random_bytes() -> [u8; ThinkingKey::LEN] {
    let mut b = [0u8; ThinkingKey::LEN];
    if getrandom::fill(&mut b).is_err() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let seed = nanos.to_le_bytes();
        let pid = std::process::id().to_le_bytes();
        let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, &seed), &pid);
        b.copy_from_slice(tag.as_ref());
    }
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> Arc<ThinkingKey> {
        Arc::new(ThinkingKey::from_bytes(&[7; 32]))
    }

    #[test]
    fn a_signature_names_its_provider_and_model_and_verifies() {
        let sig = key().sign("deepseek", "deepseek-v4-pro", "Compare 9.11 and 9.8.");
        assert!(sig.starts_with("bgw1.deepseek.deepseek-v4-pro."), "{sig}");
        assert_eq!(
            sig.len(),
            "bgw1.deepseek.deepseek-v4-pro.".len() + MAC_CHARS
        );
        assert_eq!(
            key().verify(&sig, "Compare 9.11 and 9.8."),
            Some(Origin {
                provider: "deepseek",
                model: "deepseek-v4-pro"
            })
        );
    }

    #[test]
    fn models_with_dots_slashes_and_colons_round_trip() {
        for model in ["anthropic/claude-sonnet-4.5", "llama3.2:latest", "a.b.c"] {
            let sig = key().sign("openrouter", model, "t");
            assert_eq!(key().verify(&sig, "t").map(|o| o.model), Some(model));
        }
    }

    #[test]
    fn tampered_text_signature_or_key_does_not_verify() {
        let sig = key().sign("deepseek", "deepseek-v4-pro", "plan");
        assert_eq!(key().verify(&sig, "plan!"), None, "other text");
        let other = sig.replace("deepseek-v4-pro", "deepseek-v4-flash");
        assert_eq!(key().verify(&other, "plan"), None, "other model");
        let other = sig.replacen("bgw1.deepseek", "bgw1.xai", 1);
        assert_eq!(key().verify(&other, "plan"), None, "other provider");
        let mut flipped = sig.clone();
        let last = flipped.pop().unwrap();
        flipped.push(if last == 'A' { 'B' } else { 'A' });
        assert_eq!(key().verify(&flipped, "plan"), None, "changed MAC");
        let stranger = ThinkingKey::from_bytes(&[8; 32]);
        assert_eq!(stranger.verify(&sig, "plan"), None, "another install");
    }

    #[test]
    fn anthropic_and_empty_signatures_are_not_bgw_and_never_verify() {
        let anthropic = "EqQBCkgIARABGAIiQL2Zs1o9AbC+/xYz==";
        assert!(!is_bgw(anthropic) && !is_bgw(""));
        assert_eq!(key().verify(anthropic, "x"), None);
        assert_eq!(key().verify("", "x"), None);
        assert_eq!(key().verify("bgw1.", "x"), None);
        assert_eq!(key().verify("bgw1.p..", "x"), None);
    }

    #[test]
    fn a_streamed_mac_equals_the_whole_text_signature() {
        let k = key();
        let mut mac = k.start("xai", "grok-4");
        for piece in ["The user", " greets", " me."] {
            mac.update(piece);
        }
        assert_eq!(mac.finish(), k.sign("xai", "grok-4", "The user greets me."));
    }

    #[test]
    fn a_signer_recognises_only_its_own_model() {
        let k = key();
        let ds = k.signer("deepseek", "deepseek-v4-pro");
        let sig = ds.sign("plan");
        assert!(ds.wrote(&sig, "plan"));
        assert!(
            !k.signer("deepseek", "deepseek-v4-flash")
                .wrote(&sig, "plan")
        );
        assert!(
            !k.signer("my-deepseek", "deepseek-v4-pro")
                .wrote(&sig, "plan")
        );
    }

    #[test]
    fn base64url_matches_rfc_4648_vectors() {
        for (input, want) in [
            ("", ""),
            ("f", "Zg"),
            ("fo", "Zm8"),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg"),
            ("fooba", "Zm9vYmE"),
            ("foobar", "Zm9vYmFy"),
        ] {
            let mut out = String::new();
            base64url(input.as_bytes(), &mut out);
            assert_eq!(out, want);
        }
        let mut out = String::new();
        base64url(&[0xfb, 0xff], &mut out);
        assert_eq!(out, "-_8");
    }

    #[test]
    fn a_carrying_signature_gives_back_its_bytes_and_detects_tampering() {
        let k = key();
        let carried = b"rs_68af\ngAAAAABo+/enc==";
        let sig = k.sign_carrying("openai", "gpt-5.1", "Plan the edit.", carried);
        assert!(sig.starts_with("bgw1.openai.gpt-5.1."), "{sig}");
        assert!(is_bgw(&sig));
        let signer = k.signer("openai", "gpt-5.1");
        assert!(signer.wrote(&sig, "Plan the edit."));
        assert_eq!(
            signer.carried(&sig, "Plan the edit.").as_deref(),
            Some(&carried[..])
        );
        assert_eq!(signer.carried(&sig, "Plan the edit!"), None, "other text");
        assert_eq!(
            k.signer("openai", "gpt-5").carried(&sig, "Plan the edit."),
            None
        );
        // Other carried bytes under the same MAC.
        let (head, _) = sig.split_once(CARRY).unwrap();
        let mut forged = format!("{head}{CARRY}");
        base64url(b"rs_other\nxyz", &mut forged);
        assert!(!signer.wrote(&forged, "Plan the edit."));
        // The MAC alone, as a plain signature.
        assert!(!signer.wrote(head, "Plan the edit."));
        // Empty thinking (OpenAI may give reasoning without a summary) still carries.
        let sig = signer.sign_carrying("", b"x");
        assert_eq!(signer.carried(&sig, "").as_deref(), Some(&b"x"[..]));
    }

    #[test]
    fn a_streamed_carrying_mac_equals_the_whole_text_signature() {
        let k = key();
        let mut mac = k.start_carrying("openai", "o3");
        for piece in ["a", "b"] {
            mac.update(piece);
        }
        assert_eq!(
            mac.finish_carrying(b"id\nenc"),
            k.sign_carrying("openai", "o3", "ab", b"id\nenc")
        );
        assert_eq!(
            k.signer("openai", "o3")
                .carried(&k.sign("openai", "o3", "ab"), "ab"),
            None,
            "a plain signature carries nothing"
        );
    }

    #[test]
    fn base64url_decoding_inverts_encoding() {
        for input in [&b""[..], b"f", b"fo", b"foo", b"foob", b"\xfb\xff\x00"] {
            let mut enc = String::new();
            base64url(input, &mut enc);
            assert_eq!(base64url_decode(&enc).as_deref(), Some(input));
        }
        assert_eq!(base64url_decode("Zg=="), None);
        assert_eq!(base64url_decode("Z"), None);
        assert_eq!(base64url_decode("a+b/"), None);
    }

    #[test]
    fn random_keys_differ() {
        assert_ne!(random_bytes(), random_bytes());
    }
}
