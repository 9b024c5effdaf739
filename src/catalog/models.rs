//! The rows of the catalog, one model per line, grouped by provider.
//!
//! Each group names the pages its numbers were read from (on `PRICES_TAKEN`). `None` as a
//! price means it could not be confirmed from the provider's own pages; `po` rows have a
//! confirmed input and output price but no confirmed cache price (cache tokens then bill at
//! the input price, which may overstate, never understate).

use super::{ModelInfo, Price};

const ANTH: &str = "anthropic";
const OAI: &str = "openai";
const GROQ: &str = "groq";
const DSEEK: &str = "deepseek";
const XAI: &str = "xai";
const PPLX: &str = "perplexity";
const CBRS: &str = "cerebras";
const TOGR: &str = "together";
const FIRE: &str = "fireworks";
const OPRT: &str = "openrouter";
const OLLM: &str = "ollama";
const GEM: &str = "gemini";

/// Flags: text only, reasoning, vision (image input), or both.
const TEXT: u8 = 0;
const R: u8 = 1;
const V: u8 = 2;
const RV: u8 = R | V;

/// Local models cost nothing per token: zero is the true price, not an unknown one.
const FREE: Option<Price> = p(0.0, 0.0, 0.0, 0.0);

const fn m(
    provider: &'static str,
    id: &'static str,
    display_name: &'static str,
    context_window: u32,
    max_output: u32,
    price: Option<Price>,
    flags: u8,
) -> ModelInfo {
    ModelInfo {
        provider,
        id,
        display_name,
        context_window,
        max_output,
        price,
        reasoning: flags & R != 0,
        vision: flags & V != 0,
    }
}

/// Input, output, cache read and cache write (5-minute) prices.
const fn p(input: f64, output: f64, cache_read: f64, cache_write: f64) -> Option<Price> {
    Some(Price {
        input,
        output,
        cache_read: Some(cache_read),
        cache_write: Some(cache_write),
        cache_write_1h: None,
    })
}

/// A Claude model's prices: as [`p`], and 1-hour cache writes at twice the input price, as
/// Anthropic's pricing page sets them for every model.
const fn pa(input: f64, output: f64, cache_read: f64, cache_write: f64) -> Option<Price> {
    Some(Price {
        input,
        output,
        cache_read: Some(cache_read),
        cache_write: Some(cache_write),
        cache_write_1h: Some(input * 2.0),
    })
}

/// Input, output and cache read prices; no separate cache-write price.
const fn pr(input: f64, output: f64, cache_read: f64) -> Option<Price> {
    Some(Price {
        input,
        output,
        cache_read: Some(cache_read),
        cache_write: None,
        cache_write_1h: None,
    })
}

/// Input and output prices only.
const fn po(input: f64, output: f64) -> Option<Price> {
    Some(Price {
        input,
        output,
        cache_read: None,
        cache_write: None,
        cache_write_1h: None,
    })
}

/// Every model bgw knows, grouped by provider.
// One row per line reads as a table; rustfmt would stack each call's arguments vertically.
#[rustfmt::skip]
pub static MODELS: &[ModelInfo] = &[
    // anthropic: https://platform.claude.com/docs/en/about-claude/pricing (prices; cache write
    // is the 5-minute tier, 1-hour writes are 2× input) and
    // https://platform.claude.com/docs/en/models/overview with each model's page https://platform.claude.com/docs/en/models/<model>/overview (windows).
    // Opus 4.7: window from https://docs.aws.amazon.com/bedrock/latest/userguide/model-card-anthropic-claude-opus-4-7.md
    // Opus 4.5: window from https://aspire.dev/reference/api/csharp/aspire.hosting.foundry/anthropic/fields
    // Opus 4.1 is retired on the Claude API (still served by Bedrock and Google Cloud).
    // Haiku 5.5 is priced by prompt length (5x above 100K tokens), which `Price` cannot hold.
    m(ANTH, "claude-fable-5-1", "Claude Fable 5.1", 1_000_000, 128_000, pa(10.0, 50.0, 0.25, 12.5), RV),
    m(ANTH, "claude-opus-5-5", "Claude Opus 5.5", 1_000_000, 128_000, pa(4.0, 20.0, 0.2, 5.0), RV),
    m(ANTH, "claude-opus-5", "Claude Opus 5", 1_000_000, 128_000, pa(5.0, 25.0, 0.5, 6.25), RV),
    m(ANTH, "claude-opus-4-8", "Claude Opus 4.8", 1_000_000, 128_000, pa(5.0, 25.0, 0.5, 6.25), RV),
    m(ANTH, "claude-opus-4-7", "Claude Opus 4.7", 1_000_000, 128_000, pa(5.0, 25.0, 0.5, 6.25), RV),
    m(ANTH, "claude-opus-4-6", "Claude Opus 4.6", 1_000_000, 128_000, pa(5.0, 25.0, 0.5, 6.25), RV),
    m(ANTH, "claude-opus-4-5", "Claude Opus 4.5", 200_000, 64_000, pa(5.0, 25.0, 0.5, 6.25), RV),
    m(ANTH, "claude-opus-4-1", "Claude Opus 4.1", 200_000, 32_000, pa(15.0, 75.0, 1.5, 18.75), RV),
    m(ANTH, "claude-sonnet-5-5", "Claude Sonnet 5.5", 1_000_000, 128_000, pa(2.0, 10.0, 0.2, 2.5), RV),
    m(ANTH, "claude-sonnet-5", "Claude Sonnet 5", 1_000_000, 128_000, pa(2.0, 10.0, 0.2, 2.5), RV),
    m(ANTH, "claude-sonnet-4-6", "Claude Sonnet 4.6", 1_000_000, 128_000, pa(3.0, 15.0, 0.3, 3.75), RV),
    m(ANTH, "claude-sonnet-4-5", "Claude Sonnet 4.5", 200_000, 64_000, pa(3.0, 15.0, 0.3, 3.75), RV),
    m(ANTH, "claude-haiku-5-5", "Claude Haiku 5.5", 1_000_000, 128_000, None, RV),
    m(ANTH, "claude-haiku-4-5", "Claude Haiku 4.5", 200_000, 64_000, pa(1.0, 5.0, 0.1, 1.25), RV),
    // openai: https://developers.openai.com/api/docs/models (GPT-6 and GPT-5.6 lines),
    // https://developers.openai.com/api/docs/models/compare (GPT-6 Astra cache prices),
    // https://developers.openai.com/api/docs/models/gpt-5-mini and .../gpt-5-codex (GPT-5),
    // https://platform.openai.com/docs/pricing (GPT-4.1, GPT-4o, o3-mini, o4-mini).
    // Prompts above 272K input tokens bill at higher rates on the GPT-6 line; not modelled.
    m(OAI, "gpt-6-astra", "GPT-6 Astra", 1_050_000, 128_000, p(10.0, 50.0, 1.0, 12.5), RV),
    m(OAI, "gpt-6.1-sol", "GPT-6.1 Sol", 1_050_000, 128_000, po(2.0, 10.0), RV),
    m(OAI, "gpt-6.1-terra", "GPT-6.1 Terra", 1_050_000, 128_000, po(1.0, 5.0), RV),
    m(OAI, "gpt-6-luna", "GPT-6 Luna", 1_050_000, 128_000, po(0.1, 0.5), RV),
    m(OAI, "gpt-5.6-sol", "GPT-5.6 Sol", 1_050_000, 128_000, po(4.0, 20.0), RV),
    m(OAI, "gpt-5.6", "GPT-5.6 Sol", 1_050_000, 128_000, po(4.0, 20.0), RV),
    m(OAI, "gpt-5.6-terra", "GPT-5.6 Terra", 1_050_000, 128_000, po(2.0, 12.0), RV),
    m(OAI, "gpt-5.6-luna", "GPT-5.6 Luna", 1_050_000, 128_000, po(0.2, 1.2), RV),
    m(OAI, "gpt-5.1", "GPT-5.1", 400_000, 128_000, po(1.25, 10.0), RV),
    m(OAI, "gpt-5", "GPT-5", 400_000, 128_000, pr(1.25, 10.0, 0.125), RV),
    m(OAI, "gpt-5-mini", "GPT-5 mini", 400_000, 128_000, pr(0.25, 2.0, 0.025), RV),
    m(OAI, "gpt-5-nano", "GPT-5 nano", 400_000, 128_000, po(0.05, 0.4), RV),
    m(OAI, "gpt-4.1", "GPT-4.1", 1_047_576, 32_768, pr(2.0, 8.0, 0.5), V),
    m(OAI, "gpt-4.1-mini", "GPT-4.1 mini", 1_047_576, 32_768, pr(0.4, 1.6, 0.1), V),
    m(OAI, "gpt-4o", "GPT-4o", 128_000, 16_384, pr(2.5, 10.0, 1.25), V),
    m(OAI, "gpt-4o-mini", "GPT-4o mini", 128_000, 16_384, pr(0.15, 0.6, 0.075), V),
    m(OAI, "o3", "o3", 200_000, 100_000, None, RV),
    m(OAI, "o4-mini", "o4-mini", 200_000, 100_000, po(1.1, 4.4), RV),
    m(OAI, "o3-mini", "o3-mini", 200_000, 100_000, pr(1.1, 4.4, 0.55), R),
    // gemini: https://ai.google.dev/gemini-api/docs/pricing (Standard tier, prompts up to 200K
    // tokens; read 2026-11-24 through copies quoting it) and
    // https://ai.google.dev/gemini-api/docs/models (windows: 1,048,576 in, 65,536 out).
    // Prompts above 200K tokens bill at higher rates on the Pro models (not modelled); cache
    // prices were confirmed for 3 Flash only. 3.1 Flash-Lite and 3.5 Flash are left out until
    // their numbers are confirmed.
    m(GEM, "gemini-3.1-pro-preview", "Gemini 3.1 Pro", 1_048_576, 65_536, po(2.0, 12.0), RV),
    m(GEM, "gemini-3-pro-preview", "Gemini 3 Pro", 1_048_576, 65_536, po(2.0, 12.0), RV),
    m(GEM, "gemini-3-flash-preview", "Gemini 3 Flash", 1_048_576, 65_536, pr(0.5, 3.0, 0.05), RV),
    m(GEM, "gemini-2.5-pro", "Gemini 2.5 Pro", 1_048_576, 65_536, po(1.25, 10.0), RV),
    m(GEM, "gemini-2.5-flash", "Gemini 2.5 Flash", 1_048_576, 65_536, po(0.3, 2.5), RV),
    m(GEM, "gemini-2.5-flash-lite", "Gemini 2.5 Flash-Lite", 1_048_576, 65_536, po(0.1, 0.4), RV),
    // groq: https://console.groq.com/docs/models (ids, windows, output caps, prices).
    m(GROQ, "llama-3.3-70b-versatile", "Llama 3.3 70B", 131_072, 32_768, po(0.59, 0.79), TEXT),
    m(GROQ, "llama-3.1-8b-instant", "Llama 3.1 8B", 131_072, 131_072, po(0.05, 0.08), TEXT),
    m(GROQ, "openai/gpt-oss-120b", "GPT-OSS 120B", 131_072, 65_536, po(0.15, 0.6), R),
    // deepseek: https://api-docs.deepseek.com/quick_start/pricing. `deepseek-chat` and
    // `deepseek-reasoner` were retired on 2026-07-24 in favour of the V4 ids below; V4 prices
    // were not confirmed on DeepSeek's own page (and a rise was announced), so they are unknown.
    m(DSEEK, "deepseek-v4-pro", "DeepSeek V4 Pro", 1_048_576, 384_000, None, R),
    m(DSEEK, "deepseek-v4-flash", "DeepSeek V4 Flash", 1_048_576, 384_000, None, R),
    // xai: https://docs.x.ai/developers/grok-4-7 and https://docs.x.ai/developers/models.
    // Grok 4.7 lists no output cap; prompts of 200K tokens and more bill at double (not modelled).
    m(XAI, "grok-4.7", "Grok 4.7", 500_000, 500_000, po(2.0, 6.0), RV),
    m(XAI, "grok-4.3", "Grok 4.3", 1_000_000, 1_000_000, po(1.25, 2.5), RV),
    // perplexity: https://docs.perplexity.ai/getting-started/pricing. Requests also carry a
    // per-request search fee that `Price` cannot hold, so the price is left unknown.
    m(PPLX, "sonar", "Sonar", 128_000, 128_000, None, TEXT),
    m(PPLX, "sonar-pro", "Sonar Pro", 200_000, 8_000, None, TEXT),
    // cerebras: https://inference-docs.cerebras.ai/models/overview (131K on paid tiers, 65K on
    // the free tier); published prices disagree between sources, so unknown.
    m(CBRS, "gpt-oss-120b", "GPT-OSS 120B", 131_072, 131_072, None, R),
    // together: https://docs.together.ai/docs/serverless-models (window is the model's own).
    m(TOGR, "openai/gpt-oss-120b", "GPT-OSS 120B", 131_072, 131_072, None, R),
    // fireworks: https://fireworks.ai/models/fireworks/gpt-oss-120b (window is the model's own).
    m(FIRE, "accounts/fireworks/models/gpt-oss-120b", "GPT-OSS 120B", 131_072, 131_072, None, R),
    // openrouter: https://openrouter.ai/models; windows are the upstream model's. OpenRouter's
    // own prices were not confirmed here, so they are unknown.
    m(OPRT, "anthropic/claude-sonnet-4.5", "Claude Sonnet 4.5", 200_000, 64_000, None, RV),
    m(OPRT, "openai/gpt-5", "GPT-5", 400_000, 128_000, None, RV),
    m(OPRT, "openai/gpt-oss-120b", "GPT-OSS 120B", 131_072, 131_072, None, R),
    // ollama: https://ollama.com/library (windows). Local inference: zero per token, by design.
    m(OLLM, "gpt-oss:20b", "GPT-OSS 20B", 131_072, 131_072, FREE, R),
    m(OLLM, "gpt-oss:120b", "GPT-OSS 120B", 131_072, 131_072, FREE, R),
    m(OLLM, "qwen3-coder:30b", "Qwen3 Coder 30B", 262_144, 262_144, FREE, TEXT),
];
