//! `bgw completions SHELL`: prints the shell's completion script (the same bytes as
//! `completions/` in the source tree), which asks bgw for candidates at each TAB.

use std::process::ExitCode;

use clap::Args;
use clap_complete::Shell;

use super::CliError;

/// Arguments of `bgw completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for
    #[arg(value_enum)]
    pub shell: Shell,
}

/// Writes the script to stdout.
pub fn run(args: CompletionsArgs) -> Result<ExitCode, CliError> {
    let script = super::generate::completion(args.shell);
    super::output::emit(&String::from_utf8_lossy(&script))?;
    Ok(ExitCode::SUCCESS)
}
