//! `bgw logs show ID`: one request whole.

use std::process::ExitCode;

use serde_json::Value;

use super::{emit, time};
use crate::cli::CliError;
use crate::cli::format::{secs, thousands, usd};
use crate::store::Store;
use crate::store::logs::{Content, LogQuery, LogRow, RequestId};

/// Prints the request `id` (or the one request whose id starts so).
pub fn run(store: &Store, id: &str, json: bool) -> Result<ExitCode, CliError> {
    let row = find(store, id)?;
    let content = if row.has_content {
        store.log_content(row.id)?
    } else {
        None
    };
    if json {
        let mut v = serde_json::to_value(&row)
            .map_err(|e| CliError::new(format!("cannot write the row as JSON: {e}")))?;
        if let Value::Object(map) = &mut v {
            let (request, response) = match &content {
                Some(c) => (as_json(&c.request), as_json(&c.response)),
                None => (Value::Null, Value::Null),
            };
            map.insert("request".into(), request);
            map.insert("response".into(), response);
        }
        emit(&format!("{v}\n"))?;
    } else {
        emit(&describe(&row, content.as_ref()))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The row whose id is `text` or starts with it.
fn find(store: &Store, text: &str) -> Result<LogRow, CliError> {
    let t = text.trim();
    let valid = !t.is_empty()
        && t.len() <= 26
        && t.bytes()
            .all(|b| b.is_ascii_alphanumeric() && !matches!(b.to_ascii_uppercase(), b'U'));
    if !valid {
        return Err(CliError::new(format!(
            "`{text}` is not a request id; ids are 26 letters and digits (`bgw logs` shows their start)"
        )));
    }
    let ids = store.ids_with_prefix(t)?;
    let id = match ids.as_slice() {
        [] => {
            return Err(CliError::new(format!("no request has an id starting `{t}`"))
                .hint("`bgw logs` lists recent requests; rows older than the retention (`bgw logs settings`) are deleted")
                .code(1));
        }
        [one] => *one,
        many => {
            let list: Vec<String> = many.iter().map(RequestId::to_string).collect();
            return Err(CliError::new(format!(
                "`{t}` starts {} request ids: {}",
                if many.len() >= 10 {
                    "at least 10".to_owned()
                } else {
                    many.len().to_string()
                },
                list.join(", ")
            ))
            .hint("give more characters of the id"));
        }
    };
    let at = id.time_ms();
    let rows = store.logs(&LogQuery {
        since_ms: Some(at),
        until_ms: Some(at.saturating_add(1)),
        ..LogQuery::default()
    })?;
    rows.into_iter().find(|r| r.id == id).ok_or_else(|| {
        CliError::new(format!(
            "request {id} went while it was read (deleted by retention)"
        ))
        .code(1)
    })
}

/// JSON text as JSON, anything else as a string.
fn as_json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()))
}

/// JSON pretty-printed, anything else as it is.
fn pretty(text: &str) -> String {
    match serde_json::from_str::<Value>(text) {
        Ok(v) => serde_json::to_string_pretty(&v).unwrap_or_else(|_| text.to_owned()),
        Err(_) => text.to_owned(),
    }
}

/// The request as a person reads it.
pub fn describe(row: &LogRow, content: Option<&Content>) -> String {
    let mut out = String::new();
    let mut field = |name: &str, value: String| {
        out.push_str(&format!("{name:<11}{value}\n"));
    };
    let t = time::Utc::from_ms(row.id.time_ms());
    field("id", row.id.to_string());
    field(
        "time",
        format!("{}.{:03} UTC", t.full(), row.id.time_ms() % 1000),
    );
    field("session", row.session.clone().unwrap_or_else(|| "-".into()));
    field("run", row.run.clone());
    if let Some(c) = &row.caller {
        let parts: Vec<String> = [
            ("key", &c.key),
            ("team", &c.team),
            ("customer", &c.customer),
        ]
        .into_iter()
        .filter_map(|(what, v)| v.as_ref().map(|v| format!("{what} {v}")))
        .collect();
        field("caller", parts.join(", "));
    }
    let target = if row.provider.is_empty() {
        "no provider chosen".to_owned()
    } else {
        format!("{}/{}", row.provider, row.upstream_model)
    };
    field("model", format!("{} → {target}", row.requested_model));
    field("key", row.key.clone().unwrap_or_else(|| "-".into()));
    let status = match &row.error {
        Some(e) if row.status < 400 => {
            format!("{} then broken off: {}: {}", row.status, e.kind, e.message)
        }
        Some(e) => format!("{} {}: {}", row.status, e.kind, e.message),
        None => row.status.to_string(),
    };
    field("status", status);
    field("stream", if row.stream { "yes" } else { "no" }.into());
    let u = &row.usage;
    field(
        "tokens",
        format!(
            "{} in, {} out, {} cache read, {} cache write",
            thousands(u.input_tokens),
            thousands(u.output_tokens),
            thousands(u.cache_read_input_tokens),
            thousands(u.cache_creation_input_tokens)
        ),
    );
    let cost = match row.cost {
        Some(c) => usd(c),
        None if row.failed() => "-".into(),
        None => format!(
            "unknown (no price for {}/{}; set one with `bgw models price set {}/{} --input … --output …`)",
            row.provider, row.upstream_model, row.provider, row.upstream_model
        ),
    };
    field("cost", cost);
    field(
        "latency",
        format!(
            "first byte {}, total {}",
            row.first_byte_us.map_or_else(|| "-".into(), secs),
            secs(row.total_us)
        ),
    );
    if !row.attempts.is_empty() {
        out.push_str("\nattempts\n");
        for (i, a) in row.attempts.iter().enumerate() {
            let mut line = format!(
                "  {}. {}/{}  key {}  {}  {}",
                i + 1,
                a.provider,
                a.model,
                a.key.as_deref().unwrap_or("-"),
                a.status
                    .map_or_else(|| "not reached".into(), |s| s.to_string()),
                secs(a.duration_us)
            );
            if let Some(e) = &a.error {
                line.push_str(&format!("  {e}"));
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
    }
    match content {
        Some(c) => {
            out.push_str("\nrequest\n");
            out.push_str(pretty(&c.request).trim_end());
            out.push_str("\n\nresponse\n");
            out.push_str(pretty(&c.response).trim_end());
            out.push('\n');
        }
        None => {
            out.push_str("\ncontent not kept (logging of content is off)\n");
        }
    }
    out
}
