//! Completion of values the store knows (provider and key names, log ids), through clap's
//! dynamic completion: the script `bgw completions SHELL` prints asks `COMPLETE=SHELL bgw -- …`
//! for the candidates at each TAB, and [`respond_if_asked`] answers before anything else runs.
//!
//! The data dir is `BGW_DATA_DIR` or the default (a `--data-dir` on the line being completed
//! is not seen); a data dir without a store gives no candidates and is never created.

use std::path::PathBuf;

use clap::CommandFactory;
use clap_complete::engine::CompletionCandidate;
use clap_complete::env::{Bash, Elvish, EnvCompleter, Fish, Powershell, Zsh};
use clap_complete::{CompleteEnv, Shell};

use super::Cli;
use crate::store::logs::LogQuery;
use crate::store::{Store, default_data_dir, file::FILE_NAME};

/// The variable the completion scripts set when they ask bgw for candidates.
pub const VAR: &str = "COMPLETE";

/// How many log ids `bgw logs show <TAB>` offers: the newest.
const LOG_IDS: usize = 20;

/// When a completion script is asking (`COMPLETE` set), prints the candidates and exits.
pub fn respond_if_asked() {
    // The scripts call `bgw` from PATH, so they keep working when bgw is replaced in place.
    CompleteEnv::with_factory(Cli::command)
        .var(VAR)
        .completer("bgw")
        .complete();
}

/// The script that registers bgw's completion with `shell`.
pub fn registration(shell: Shell) -> Vec<u8> {
    let completer: &dyn EnvCompleter = match shell {
        Shell::Bash => &Bash,
        Shell::Elvish => &Elvish,
        Shell::Fish => &Fish,
        Shell::PowerShell => &Powershell,
        Shell::Zsh => &Zsh,
        // Shell is non-exhaustive; a shell clap adds later gets bash's script until bgw knows it.
        _ => &Bash,
    };
    let mut out = Vec::new();
    // Writing to a Vec cannot fail.
    let _ = completer.write_registration(VAR, "bgw", "bgw", "bgw", &mut out);
    if shell == Shell::Zsh {
        // Autoloaded from fpath (where install.sh puts it), the file runs as `_bgw` at the first
        // TAB, defining and binding the completer but completing nothing: this also answers it.
        out.extend_from_slice(ZSH_AUTOLOAD.as_bytes());
    }
    out
}

/// The zsh autoload idiom: call the completer when the file runs as the `_bgw` function.
const ZSH_AUTOLOAD: &str =
    "if [[ \"${funcstack[1]}\" == _bgw ]]; then _clap_dynamic_completer_bgw \"$@\"; fi\n";

/// The store in the data dir the command would use, if it has one.
fn store() -> Option<Store> {
    let dir = std::env::var_os("BGW_DATA_DIR")
        .filter(|d| !d.is_empty())
        .map_or_else(default_data_dir, PathBuf::from);
    if !dir.join(FILE_NAME).is_file() {
        return None;
    }
    Some(match std::env::current_exe() {
        Ok(exe) => Store::shared(dir, exe),
        Err(_) => Store::new(dir),
    })
}

/// Names of the stored keys, each with its provider as help.
pub fn key_names() -> Vec<CompletionCandidate> {
    let keys = store().and_then(|s| s.keys().ok()).unwrap_or_default();
    keys.into_iter()
        .map(|k| CompletionCandidate::new(k.name).help(Some(k.provider.into())))
        .collect()
}

/// Providers that have a stored key (what `--provider` can usefully name).
pub fn configured_providers() -> Vec<CompletionCandidate> {
    let mut names: Vec<String> = store()
        .and_then(|s| s.keys().ok())
        .unwrap_or_default()
        .into_iter()
        .map(|k| k.provider)
        .collect();
    names.sort();
    names.dedup();
    names.into_iter().map(CompletionCandidate::new).collect()
}

/// Every provider bgw knows by name, then those of stored keys it does not (a name of your own).
pub fn provider_names() -> Vec<CompletionCandidate> {
    let mut names: Vec<String> = crate::providers::builtins()
        .map(|b| b.id.to_owned())
        .collect();
    for p in configured_providers() {
        let p = p.get_value().to_string_lossy().into_owned();
        if !names.contains(&p) {
            names.push(p);
        }
    }
    names.into_iter().map(CompletionCandidate::new).collect()
}

/// The newest request ids in the log, each with its provider and model as help.
pub fn log_ids() -> Vec<CompletionCandidate> {
    let query = LogQuery {
        limit: Some(LOG_IDS),
        ..LogQuery::default()
    };
    let rows = store()
        .and_then(|s| s.logs(&query).ok())
        .unwrap_or_default();
    rows.into_iter()
        .map(|r| {
            let help = if r.provider.is_empty() {
                r.requested_model
            } else {
                format!("{}/{}", r.provider, r.upstream_model)
            };
            CompletionCandidate::new(r.id.to_string()).help(Some(help.into()))
        })
        .collect()
}
