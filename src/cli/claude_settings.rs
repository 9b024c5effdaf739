//! The settings `bgw run` hands Claude Code (`--settings JSON`): its `/model` picker and
//! each model's context window.
//!
//! Claude Code 2.1.330 reads, from any settings source:
//! - `modelPicker.options`: rows `{model, label, description}` added to `/model`; the row's
//!   `model` is the id Claude Code then sends, so bgw lists its own addresses
//!   (`openai/gpt-5`), with no namespace needed (gateway discovery would need one);
//! - `modelSettings.<model>.autoCompactWindow`: the window auto-compact keeps that model
//!   within. Without it Claude Code assumes 1M tokens for a model it does not know (gpt-4o
//!   has 128k) and compacts far too late. It takes 100,000 tokens or more; a model with a
//!   smaller window relies on the gateway's "prompt is too long" answer, which makes Claude
//!   Code compact then.

use serde_json::{Map, Value, json};

use crate::route::picker::PickerModel;

/// Claude Code's floor for `autoCompactWindow`.
pub const MIN_AUTO_COMPACT_WINDOW: u32 = 100_000;

/// The settings object for these models.
pub fn session_settings(models: &[PickerModel]) -> Value {
    let options: Vec<Value> = models
        .iter()
        .map(|m| json!({"model": m.address, "label": m.label, "description": m.description}))
        .collect();
    let mut windows = Map::new();
    for m in models {
        if let Some(w) = m.context_window.filter(|w| *w >= MIN_AUTO_COMPACT_WINDOW) {
            windows.insert(m.address.clone(), json!({ "autoCompactWindow": w }));
        }
    }
    json!({"modelPicker": {"options": options}, "modelSettings": windows})
}

/// Whether the user's own claude arguments already carry `--settings`; Claude Code takes
/// one, so bgw then leaves the picker to gateway discovery.
pub fn user_has_settings(claude_args: &[std::ffi::OsString]) -> bool {
    claude_args.iter().any(|a| {
        let a = a.to_string_lossy();
        a == "--settings" || a.starts_with("--settings=")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(address: &str, window: Option<u32>) -> PickerModel {
        PickerModel {
            provider: "p".into(),
            address: address.into(),
            label: format!("{address} label"),
            description: format!("{address} description"),
            context_window: window,
            max_output: None,
        }
    }

    #[test]
    fn every_model_is_a_picker_row_and_known_windows_bound_auto_compact() {
        let s = session_settings(&[
            model("openai/gpt-4o", Some(128_000)),
            model("mistral/tiny", Some(32_000)),
            model("vllm/mine", None),
        ]);
        assert_eq!(
            s,
            json!({
                "modelPicker": {"options": [
                    {"model": "openai/gpt-4o", "label": "openai/gpt-4o label", "description": "openai/gpt-4o description"},
                    {"model": "mistral/tiny", "label": "mistral/tiny label", "description": "mistral/tiny description"},
                    {"model": "vllm/mine", "label": "vllm/mine label", "description": "vllm/mine description"},
                ]},
                "modelSettings": {"openai/gpt-4o": {"autoCompactWindow": 128_000}},
            })
        );
    }

    #[test]
    fn settings_given_by_the_user_are_noticed_in_both_spellings() {
        let args = |v: &[&str]| {
            v.iter()
                .map(Into::into)
                .collect::<Vec<std::ffi::OsString>>()
        };
        assert!(user_has_settings(&args(&[
            "-p",
            "hi",
            "--settings",
            "s.json"
        ])));
        assert!(user_has_settings(&args(&["--settings={}"])));
        assert!(!user_has_settings(&args(&["-p", "--settings-x"])));
    }
}
