//! `bgw doctor`: one screen that says whether this setup works and, where it does not, the
//! command that fixes it. Each check is a line; `--json` gives the same checks to scripts.
//!
//! The checks: the data dir and the store ([`files`]), each provider key against its
//! provider ([`keys`]), Claude Code ([`claude`]) and the models used without a price
//! ([`prices`]). No check prints a secret: every line is scrubbed of the keys' values.

pub mod claude;
pub mod files;
pub mod keys;
pub mod prices;

use clap::Args;
use serde::Serialize;
use std::process::ExitCode;

use super::CliError;
use super::output::emit;
use crate::store::Store;

/// `bgw doctor` options.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// The checks as one JSON object (`{"ok": …, "checks": [{name, status, ok, detail, fix}]}`)
    #[arg(long)]
    pub json: bool,
}

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Works.
    Pass,
    /// Works, with something worth knowing (an untested Claude Code, a model with no price).
    Warn,
    /// Does not work: the setup needs the fix.
    Fail,
}

impl Status {
    fn mark(self) -> &'static str {
        match self {
            Status::Pass => "✓",
            Status::Warn => "!",
            Status::Fail => "✗",
        }
    }
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// What was checked (`data dir`, `key openai`, `claude code`).
    pub name: String,
    pub status: Status,
    /// False only for [`Status::Fail`]: a warning does not fail the doctor.
    pub ok: bool,
    /// What was found.
    pub detail: String,
    /// The command or step that fixes it.
    pub fix: Option<String>,
}

impl Check {
    /// A check that passed.
    pub fn pass(name: impl Into<String>, detail: impl Into<String>) -> Check {
        Check::new(name, Status::Pass, detail, None)
    }

    /// A warning, with what to do about it.
    pub fn warn(name: impl Into<String>, detail: impl Into<String>, fix: Option<String>) -> Check {
        Check::new(name, Status::Warn, detail, fix)
    }

    /// A failure, with its fix.
    pub fn fail(name: impl Into<String>, detail: impl Into<String>, fix: Option<String>) -> Check {
        Check::new(name, Status::Fail, detail, fix)
    }

    fn new(
        name: impl Into<String>,
        status: Status,
        detail: impl Into<String>,
        fix: Option<String>,
    ) -> Check {
        Check {
            name: name.into(),
            status,
            ok: status != Status::Fail,
            detail: detail.into(),
            fix,
        }
    }

    /// The same check with every one of `secrets` replaced by `***` (an error body may echo a
    /// key back; a doctor's report is pasted into issues).
    fn scrubbed(mut self, secrets: &[String]) -> Check {
        for s in secrets.iter().filter(|s| s.len() >= 4) {
            self.detail = self.detail.replace(s.as_str(), "***");
            self.fix = self.fix.map(|f| f.replace(s.as_str(), "***"));
        }
        self
    }
}

/// The whole report, as `--json` prints it.
#[derive(Debug, Serialize)]
struct Report<'a> {
    ok: bool,
    checks: &'a [Check],
}

/// Runs every check; exit code 0 when none failed, 1 otherwise.
pub fn run(store: &Store, args: DoctorArgs) -> Result<ExitCode, CliError> {
    let rt = super::runtime(super::shared_workers())?;
    // Claude Code is asked for its version while the store and the providers are checked.
    let claude = std::thread::spawn(claude::check);
    let local = files::check(store);
    let mut checks = local.checks;
    let mut secrets = Vec::new();
    if let Some(routes) = &local.routes {
        // The log is read while the providers answer.
        let prices = std::thread::spawn({
            let store = store.clone();
            move || prices::check(&store)
        });
        let (key_checks, key_secrets) = rt.block_on(keys::check(routes));
        checks.extend(key_checks);
        secrets = key_secrets;
        checks.extend(prices.join().unwrap_or_else(|_| {
            vec![Check::fail(
                "prices",
                "the check stopped unexpectedly",
                None,
            )]
        }));
    }
    checks.push(
        claude
            .join()
            .unwrap_or_else(|_| Check::fail("claude code", "the check stopped unexpectedly", None)),
    );
    let checks: Vec<Check> = checks.into_iter().map(|c| c.scrubbed(&secrets)).collect();
    let ok = checks.iter().all(|c| c.ok);
    let text = if args.json {
        let mut t = serde_json::to_string_pretty(&Report {
            ok,
            checks: &checks,
        })
        .map_err(|e| CliError::new(format!("cannot write the report as JSON: {e}")))?;
        t.push('\n');
        t
    } else {
        render(&checks)
    };
    emit(&text)?;
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The checks as lines for a person: mark, name, what was found, and the fix below it.
fn render(checks: &[Check]) -> String {
    let width = checks
        .iter()
        .map(|c| c.name.chars().count())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for c in checks {
        let pad = " ".repeat(width - c.name.chars().count());
        out.push_str(&format!(
            "{} {}{pad}  {}\n",
            c.status.mark(),
            c.name,
            c.detail
        ));
        if let Some(fix) = &c.fix {
            out.push_str(&format!("  {}  fix: {fix}\n", " ".repeat(width)));
        }
    }
    let count = |s: Status| checks.iter().filter(|c| c.status == s).count();
    let warnings = count(Status::Warn);
    out.push_str(&format!(
        "{} passed, {warnings} warning{}, {} failed\n",
        count(Status::Pass),
        if warnings == 1 { "" } else { "s" },
        count(Status::Fail)
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_warning_is_ok_and_a_failure_is_not() {
        assert!(Check::warn("w", "d", None).ok);
        assert!(!Check::fail("f", "d", None).ok);
        assert!(Check::pass("p", "d").ok);
    }

    #[test]
    fn a_secret_echoed_in_a_detail_or_fix_is_replaced() {
        let c = Check::fail(
            "key openai",
            "Incorrect API key provided: sk-SECRET-1234",
            Some("not sk-SECRET-1234".into()),
        )
        .scrubbed(&["sk-SECRET-1234".into()]);
        assert_eq!(c.detail, "Incorrect API key provided: ***");
        assert_eq!(c.fix.as_deref(), Some("not ***"));
    }

    #[test]
    fn lines_are_aligned_with_the_fix_under_the_detail() {
        let text = render(&[
            Check::pass("data dir", "/d (0700)"),
            Check::fail("key x", "revoked", Some("bgw keys add x".into())),
        ]);
        assert_eq!(
            text,
            "✓ data dir  /d (0700)\n✗ key x     revoked\n            fix: bgw keys add x\n1 passed, 0 warnings, 1 failed\n"
        );
    }
}
