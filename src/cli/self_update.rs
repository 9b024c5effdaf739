//! `bgw self-update`: replace this binary with the newest release, checksum verified.
//!
//! Releases live at one location (a directory of files: `manifest.json`, `SHA256SUMS`, one
//! `bgw-VERSION-TARGET.tar.gz` per platform; `dist/build.sh` writes it). `install.sh` installs
//! from there and leaves a receipt naming the binary and the location; only a binary with a
//! receipt is replaced, so one that a package manager or `cargo install` put in place is left to
//! what installed it.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use serde::{Deserialize, Serialize};

use super::CliError;

/// Where releases are published unless `BGW_INSTALL_URL` or the install receipt says otherwise.
pub const RELEASE_URL: &str = "https://github.com/bgw-dev/bgw/releases/latest/download";

/// This build's version.
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// `bgw self-update` options.
#[derive(Debug, Args)]
pub struct SelfUpdateArgs {
    /// Only say whether a newer release exists; change nothing
    #[arg(long)]
    pub check: bool,
}

/// What `install.sh` leaves behind: which binary it installed, from where.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Receipt {
    /// The installed binary's path.
    pub binary: PathBuf,
    /// The release location it came from.
    pub url: String,
    #[serde(default)]
    pub version: Option<String>,
}

impl Receipt {
    /// The receipt's path: `$XDG_CONFIG_HOME/bgw/install.json`, else `~/.config/bgw/…`, on
    /// every Unix (install.sh computes the same in sh).
    pub fn path() -> Option<PathBuf> {
        let base = match std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
            Some(dir) => PathBuf::from(dir),
            None => dirs::home_dir()?.join(".config"),
        };
        Some(base.join("bgw").join("install.json"))
    }

    fn read(path: &Path) -> Option<Receipt> {
        let text = std::fs::read_to_string(path).ok()?;
        serde_json::from_str(&text).ok()
    }

    fn write(&self, path: &Path) -> std::io::Result<()> {
        let text = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        std::fs::write(path, text + "\n")
    }
}

/// The release target for this machine, as release files name it: Linux builds are musl.
pub fn release_target() -> Option<&'static str> {
    match (std::env::consts::OS, std::env::consts::ARCH) {
        ("linux", "x86_64") => Some("x86_64-unknown-linux-musl"),
        ("linux", "aarch64") => Some("aarch64-unknown-linux-musl"),
        ("macos", "x86_64") => Some("x86_64-apple-darwin"),
        ("macos", "aarch64") => Some("aarch64-apple-darwin"),
        _ => None,
    }
}

/// Runs `bgw self-update`.
pub fn run(args: SelfUpdateArgs) -> Result<ExitCode, CliError> {
    let exe = std::env::current_exe()
        .and_then(|p| p.canonicalize())
        .map_err(|e| CliError::new(format!("cannot tell where this bgw is: {e}")))?;
    let receipt_path = Receipt::path().ok_or_else(|| {
        CliError::new("cannot find the home directory, where install.sh leaves its receipt")
            .hint("set HOME or XDG_CONFIG_HOME")
    })?;
    let receipt = Receipt::read(&receipt_path)
        .filter(|r| r.binary.canonicalize().is_ok_and(|b| b == exe))
        .ok_or_else(|| not_installed_by_script(&exe))?;
    let url = std::env::var("BGW_INSTALL_URL")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| receipt.url.clone());
    let url = url.trim_end_matches('/').to_owned();
    let target = release_target().ok_or_else(|| {
        CliError::new(format!(
            "there is no bgw release for {} on {}",
            std::env::consts::OS,
            std::env::consts::ARCH
        ))
        .hint("build from source: cargo build --release")
    })?;
    let updater = self_update::backends::manifest::Update::configure()
        .manifest_url(format!("{url}/manifest.json"))
        .bin_name("bgw")
        .target(target)
        .current_version(VERSION)
        .bin_install_path(&exe)
        .show_download_progress(!args.check && std::io::stderr().is_terminal())
        .show_output(false)
        .no_confirm(true)
        .build()
        .map_err(|e| failed(&url, e))?;

    if args.check {
        return match updater.is_update_available().map_err(|e| failed(&url, e))? {
            Some(release) => {
                println!(
                    "bgw {} is out (this is {VERSION}); `bgw self-update` installs it",
                    release.version()
                );
                Ok(ExitCode::SUCCESS)
            }
            None => {
                println!("bgw {VERSION} is the newest release");
                Ok(ExitCode::SUCCESS)
            }
        };
    }

    let status = updater.update().map_err(|e| failed(&url, e))?;
    if status.is_updated() {
        let updated = Receipt {
            version: Some(status.version().to_owned()),
            url: receipt.url,
            ..receipt
        };
        // The binary is replaced; a stale receipt only misstates the version, so say so and go on.
        if let Err(e) = updated.write(&receipt_path) {
            super::output::warn(&format!("could not update {}: {e}", receipt_path.display()));
        }
        println!(
            "bgw updated: {VERSION} → {} at {} (sha256 checked)",
            status.version(),
            exe.display()
        );
    } else {
        println!("bgw {VERSION} is the newest release");
    }
    Ok(ExitCode::SUCCESS)
}

fn not_installed_by_script(exe: &Path) -> CliError {
    CliError::new(format!(
        "{} was not installed by bgw's install.sh, so bgw leaves updating it to whatever installed \
         it (a package manager, cargo install, a build from source)",
        exe.display()
    ))
    .hint(format!(
        "update it the way you installed it, or switch to the installer: curl -fsSL \
         {RELEASE_URL}/install.sh | sh"
    ))
}

fn failed(url: &str, e: self_update::errors::Error) -> CliError {
    use self_update::errors::Error;
    match e {
        Error::ChecksumMismatch { .. } => CliError::new(format!(
            "the download from {url} does not match its published sha256, so nothing was \
             replaced: {e}"
        ))
        .hint("try again later; if it persists, the release location is broken or tampered with"),
        Error::NoReleaseFound { .. } => CliError::new(format!(
            "{url} has no bgw release for {}",
            release_target().unwrap_or("this platform")
        )),
        Error::InstallPathNotWritable { .. } => {
            CliError::new(format!("cannot replace the binary: {e}"))
                .hint("run bgw self-update as the user that installed it")
        }
        other => CliError::new(format!("self-update from {url} failed: {other}"))
            .hint("check the network, or point BGW_INSTALL_URL at a mirror of the releases"),
    }
}
