//! Claude Code: found where `bgw run` finds it, its version, and whether bgw's tests drive that
//! version (the one `scripts/test` installs).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::Check;

/// The test script, read at build time: its `CLAUDE_CODE_VERSION=` is the version tested.
const TEST_SCRIPT: &str = include_str!("../../../scripts/test");
/// How long `claude --version` may take.
const WAIT: Duration = Duration::from_secs(5);

/// The Claude Code version bgw's end-to-end tests run (`CLAUDE_CODE_VERSION` in `scripts/test`).
pub fn tested_version() -> &'static str {
    TEST_SCRIPT
        .lines()
        .find_map(|l| l.trim().strip_prefix("CLAUDE_CODE_VERSION="))
        .map_or("unknown", str::trim)
}

/// The Claude Code check, for the `claude` that `bgw run` would start.
pub fn check() -> Check {
    let explicit = std::env::var_os("BGW_CLAUDE_BIN")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from);
    let path = match crate::cli::run::find_claude(explicit.as_deref()) {
        Ok(p) => p,
        Err(e) => return Check::fail("claude code", e.message, e.hint),
    };
    let tested = tested_version();
    match version(&path) {
        Ok(v) if v == tested => Check::pass(
            "claude code",
            format!("{} {v} (the version bgw is tested with)", path.display()),
        ),
        Ok(v) => Check::warn(
            "claude code",
            format!(
                "{} {v}: bgw is tested with {tested}; it likely works, untried",
                path.display()
            ),
            Some(format!(
                "if something misbehaves, try the tested version: `npm install -g @anthropic-ai/claude-code@{tested}`"
            )),
        ),
        Err(why) => Check::fail(
            "claude code",
            format!("{}: {why}", path.display()),
            Some("reinstall Claude Code (`npm install -g @anthropic-ai/claude-code`), or point BGW_CLAUDE_BIN at it".into()),
        ),
    }
}

/// The version `claude --version` prints (`2.1.330 (Claude Code)` → `2.1.330`).
fn version(path: &Path) -> Result<String, String> {
    let mut child = Command::new(path)
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run it: {e}"))?;
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() > WAIT => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "`--version` gave no answer within {} s",
                    WAIT.as_secs()
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(format!("lost track of it: {e}")),
        }
    };
    let mut out = String::new();
    if let Some(mut stdout) = child.stdout.take() {
        let _ = stdout.read_to_string(&mut out);
    }
    if !status.success() {
        return Err(format!("`--version` failed ({status})"));
    }
    parse_version(&out).ok_or_else(|| format!("`--version` printed no version: {:?}", out.trim()))
}

fn parse_version(out: &str) -> Option<String> {
    let word = out.split_whitespace().next()?;
    let word = word.strip_prefix('v').unwrap_or(word);
    word.chars()
        .next()
        .is_some_and(|c| c.is_ascii_digit())
        .then(|| word.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tested_version_is_read_from_the_test_script() {
        let v = tested_version();
        let parts: Vec<&str> = v.split('.').collect();
        assert_eq!(parts.len(), 3, "{v}");
        assert!(parts.iter().all(|p| p.parse::<u32>().is_ok()), "{v}");
    }

    #[test]
    fn the_version_is_the_first_word() {
        assert_eq!(
            parse_version("2.1.330 (Claude Code)\n").as_deref(),
            Some("2.1.330")
        );
        assert_eq!(parse_version("v1.0.0").as_deref(), Some("1.0.0"));
        assert_eq!(parse_version("Claude Code"), None);
        assert_eq!(parse_version(""), None);
    }
}
