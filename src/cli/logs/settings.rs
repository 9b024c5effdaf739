//! `bgw logs settings`: whether content is kept, and for how long rows are.

use std::process::ExitCode;

use super::{OnOff, Retention, SettingsArgs, emit};
use crate::cli::CliError;
use crate::store::Store;
use crate::store::settings::Settings;

/// Prints the settings, changed first as `args` say.
pub fn run(store: &Store, args: &SettingsArgs, json: bool) -> Result<ExitCode, CliError> {
    let mut s = store.log_settings()?;
    let change = args.content.is_some() || args.retention.is_some();
    if let Some(c) = args.content {
        s.content = c == OnOff::On;
    }
    if let Some(Retention(days)) = args.retention {
        s.retention_days = days;
    }
    if change {
        store.set_log_settings(&s)?;
        eprintln!("request log settings saved; running gateways use them at once");
    }
    if json {
        let v = serde_json::json!({"content": s.content, "retention_days": s.retention_days});
        emit(&format!("{v}\n"))?;
    } else {
        emit(&describe_settings(&s))?;
    }
    Ok(ExitCode::SUCCESS)
}

fn describe_settings(s: &Settings) -> String {
    let content = if s.content {
        "on   (each request's body and response are kept; `bgw serve --no-content` keeps none for one gateway)"
    } else {
        "off  (rows only: model, tokens, cost, timings; no bodies)"
    };
    let retention = match s.retention_days {
        Some(1) => "1 day".to_owned(),
        Some(d) => format!("{d} days"),
        None => "forever".to_owned(),
    };
    format!("content    {content}\nretention  {retention}\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_read_plainly() {
        let text = describe_settings(&Settings {
            content: false,
            retention_days: None,
        });
        assert_eq!(
            text,
            "content    off  (rows only: model, tokens, cost, timings; no bodies)\nretention  forever\n"
        );
    }
}
