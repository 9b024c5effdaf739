//! The real Claude Code CLI: where it is, a HOME it starts in without first-run screens,
//! and a tmux driver for interactive sessions.

use serde_json::json;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The pinned CLI that `scripts/test` installs (`BGW_E2E_CLAUDE`); a missing one fails the
/// test (it never skips: that would be a broken test setup).
pub fn claude_bin() -> PathBuf {
    let path = std::env::var_os("BGW_E2E_CLAUDE").unwrap_or_else(|| {
        panic!("BGW_E2E_CLAUDE is not set: run the tests with `scripts/test`, which installs Claude Code")
    });
    let path = PathBuf::from(path);
    assert!(
        path.is_file(),
        "BGW_E2E_CLAUDE={} is not a file",
        path.display()
    );
    path
}

/// A fresh HOME with onboarding done and `project` trusted, so no first-run screen appears.
pub fn claude_home(project: &Path) -> tempfile::TempDir {
    let home = tempfile::tempdir().unwrap();
    let config = json!({
        "hasCompletedOnboarding": true,
        "projects": {project.to_string_lossy(): {"hasTrustDialogAccepted": true}}
    });
    std::fs::write(home.path().join(".claude.json"), config.to_string()).unwrap();
    home
}

/// How long one one-shot Claude Code run through `bgw run` may take before the test fails.
pub const RUN_LIMIT: Duration = Duration::from_secs(120);

/// Runs `bgw run ARGS…` in `project` with a fresh HOME (onboarding done) and `data_dir` as
/// bgw's state; returns its output.
pub async fn bgw_run(data_dir: &Path, project: &Path, args: &[&str]) -> std::process::Output {
    bgw_run_with_env(data_dir, project, args, &[]).await
}

/// Like [`bgw_run`], with these variables set for bgw and Claude Code (a cloud's
/// credentials, say).
pub async fn bgw_run_with_env(
    data_dir: &Path,
    project: &Path,
    args: &[&str],
    env: &[(&str, &str)],
) -> std::process::Output {
    let home = claude_home(project);
    run_in(home.path(), data_dir, project, args, env).await
}

/// Like [`bgw_run`], with this HOME (where Claude Code keeps conversations, for `--continue`).
pub async fn bgw_run_at_home(
    home: &Path,
    data_dir: &Path,
    project: &Path,
    args: &[&str],
) -> std::process::Output {
    run_in(home, data_dir, project, args, &[]).await
}

/// No `ANTHROPIC_*`, `GEMINI_*` or `CLAUDE_CODE_*` variable of the test's own environment
/// reaches the run, nor its cloud settings (`AWS_*`, `GOOGLE_*`, `CLOUD_ML_*`): only `env`.
async fn run_in(
    home: &Path,
    data_dir: &Path,
    project: &Path,
    args: &[&str],
    env: &[(&str, &str)],
) -> std::process::Output {
    let mut cmd = super::bgw::command(data_dir);
    cmd.arg("run")
        .args(args)
        .current_dir(project)
        .env("HOME", home)
        .env("BGW_CLAUDE_BIN", claude_bin())
        .env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")
        .env_remove("CLAUDE_CONFIG_DIR");
    for (var, _) in std::env::vars() {
        let cloud = ["AWS_", "GOOGLE_", "CLOUD_ML_"]
            .iter()
            .any(|p| var.starts_with(p));
        if var.starts_with("ANTHROPIC_")
            || var.starts_with("GEMINI_")
            || cloud
            || var.starts_with("CLAUDE_CODE_") && var != "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"
        {
            cmd.env_remove(var);
        }
    }
    cmd.envs(env.iter().copied());
    let child = tokio::process::Command::from(cmd)
        .kill_on_drop(true)
        .output();
    tokio::time::timeout(RUN_LIMIT, child)
        .await
        .expect("bgw run finished in time")
        .unwrap()
}

/// `bgw run ARGS` with the real Claude Code in a tmux terminal, in a project directory, with a
/// fresh HOME (onboarding done) and a data dir; bgw's stderr and exit code go to files in that
/// HOME. Started once Claude Code's prompt is up.
pub struct BgwRun {
    pub tmux: Tmux,
    err: PathBuf,
    code: PathBuf,
    _home: tempfile::TempDir,
}

impl BgwRun {
    /// Starts `bgw run ARGS` in `project` on the data dir `data`, with more environment for
    /// Claude Code (`DISPLAY`) where given.
    pub fn start(project: &Path, data: &Path, args: &str, more_env: &[(&str, String)]) -> BgwRun {
        let dir = project.canonicalize().unwrap();
        let home = claude_home(&dir);
        let err = home.path().join("bgw.err");
        let code = home.path().join("bgw.code");
        let run = format!(
            "{} run {args} 2>{}; echo $? >{}",
            super::bgw::bin(),
            err.display(),
            code.display()
        );
        let mut env = vec![
            ("PATH", std::env::var("PATH").unwrap_or_default()),
            ("HOME", home.path().display().to_string()),
            // Claude Code's own temporary files (a pasted image among them) stay in HOME.
            ("CLAUDE_CODE_TMPDIR", home.path().display().to_string()),
            ("TERM", "xterm-256color".to_owned()),
            ("BGW_DATA_DIR", data.display().to_string()),
            ("BGW_CLAUDE_BIN", claude_bin().display().to_string()),
            ("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1".to_owned()),
        ];
        env.extend(more_env.iter().cloned());
        let tmux = Tmux::start(&dir, &env, &run);
        tmux.wait_for("auto mode on", super::STEP);
        BgwRun {
            tmux,
            err,
            code,
            _home: home,
        }
    }

    /// `/exit`; bgw's exit code and stderr once it has ended.
    pub fn exit(&self) -> (String, String) {
        self.tmux.submit("/exit");
        let start = Instant::now();
        while !self.code.exists() {
            assert!(
                start.elapsed() < super::STEP,
                "bgw did not exit:\n{}",
                self.tmux.screen()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        // The shell writes the code file as bgw ends; its stderr file is complete by then.
        std::thread::sleep(Duration::from_millis(200));
        (
            std::fs::read_to_string(&self.code)
                .unwrap()
                .trim()
                .to_owned(),
            std::fs::read_to_string(&self.err).unwrap(),
        )
    }
}

impl Drop for BgwRun {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "screen:\n{}\nbgw stderr: {:?}\nbgw exit: {:?}",
                self.tmux.screen(),
                std::fs::read_to_string(&self.err),
                std::fs::read_to_string(&self.code)
            );
        }
    }
}

/// A detached tmux session on a private server, killed on drop.
pub struct Tmux {
    socket: String,
}

impl Tmux {
    /// Starts `command` (run by `sh -c`) in a 200×50 terminal, in `cwd`, with exactly `env`.
    pub fn start(cwd: &Path, env: &[(&str, String)], command: &str) -> Tmux {
        static SESSIONS: AtomicUsize = AtomicUsize::new(0);
        // One tmux server per session: tests of one process run side by side.
        let socket = format!(
            "bgw-e2e-{}-{}",
            std::process::id(),
            SESSIONS.fetch_add(1, Ordering::SeqCst)
        );
        let tmux = Tmux { socket };
        let mut args: Vec<String> = vec!["-i".into()];
        args.extend(env.iter().map(|(k, v)| format!("{k}={v}")));
        args.extend(["sh".into(), "-c".into(), command.into()]);
        let ok = Command::new("tmux")
            .args(["-L", &tmux.socket, "new-session", "-d", "-s", "e2e"])
            .args(["-x", "200", "-y", "50", "-c"])
            .arg(cwd)
            .arg("env")
            .args(&args)
            .status()
            .expect("tmux runs (Debian package `tmux`)")
            .success();
        assert!(ok, "tmux new-session failed");
        tmux
    }

    /// The visible screen.
    pub fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket, "capture-pane", "-p", "-t", "e2e"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Types `text` literally into the prompt, waits until the prompt shows it, then presses
    /// Enter after a short pause (as a person would: Claude Code's input treats an Enter that
    /// comes with the text as part of a paste).
    pub fn submit(&self, text: &str) {
        // The prompt line is `❯`, a space of some kind, then the text.
        let shown = |screen: &str| {
            screen
                .lines()
                .any(|l| l.starts_with('❯') && l.trim_end().ends_with(text))
        };
        // Keys sent while the screen is being redrawn (at start-up, after a dialog) can be
        // lost: retype until the prompt shows the text.
        for attempt in 0..5 {
            self.wait_for("❯", Duration::from_secs(60));
            if attempt > 0 {
                self.keys(&["C-u"]);
            }
            self.keys(&["-l", text]);
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(3) {
                if shown(&self.screen()) {
                    std::thread::sleep(Duration::from_millis(300));
                    self.keys(&["Enter"]);
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        panic!("the prompt never showed {text:?}:\n{}", self.screen());
    }

    /// Pastes `text` as a terminal does: from a tmux buffer, wrapped in bracketed-paste marks
    /// (Claude Code turns on bracketed paste, and takes a pasted image path as an image).
    pub fn paste(&self, text: &str) {
        let tmux = |args: &[&str]| {
            let ok = Command::new("tmux")
                .args(["-L", &self.socket])
                .args(args)
                .status()
                .unwrap()
                .success();
            assert!(ok, "tmux {args:?} failed");
        };
        tmux(&["set-buffer", "-b", "e2e-paste", "--", text]);
        tmux(&["paste-buffer", "-p", "-d", "-b", "e2e-paste", "-t", "e2e"]);
    }

    /// Sends tmux key names (`Escape`, `Down`, `Enter`) or `-l TEXT`.
    pub fn keys(&self, keys: &[&str]) {
        let ok = Command::new("tmux")
            .args(["-L", &self.socket, "send-keys", "-t", "e2e"])
            .args(keys)
            .status()
            .unwrap()
            .success();
        assert!(ok, "tmux send-keys {keys:?} failed");
    }

    /// Waits until the screen shows `needle`; fails with the screen after `limit`.
    pub fn wait_for(&self, needle: &str, limit: Duration) -> String {
        self.wait_for_any(&[needle], limit).1
    }

    /// Waits until the screen shows one of `needles`; which one, and the screen.
    pub fn wait_for_any(&self, needles: &[&str], limit: Duration) -> (usize, String) {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if let Some(i) = needles.iter().position(|n| screen.contains(n)) {
                return (i, screen);
            }
            assert!(
                start.elapsed() < limit,
                "the screen never showed any of {needles:?} within {limit:?}:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        // The server is gone already when the session's command has ended.
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .stderr(std::process::Stdio::null())
            .status();
    }
}

/// A private X display (Xvfb) whose clipboard holds a PNG, offered by xclip as `image/png`,
/// as after taking a screenshot; both processes are ended on drop.
pub struct Clipboard {
    /// The `DISPLAY` to give Claude Code (`:N`).
    pub display: String,
    xvfb: Child,
    xclip: Option<Child>,
}

impl Clipboard {
    /// Starts Xvfb on a free display and puts the PNG file `png` on its clipboard.
    pub fn with_png(png: &Path) -> Clipboard {
        // Xvfb picks a free display itself and writes its number to `-displayfd`.
        let mut xvfb = Command::new("Xvfb")
            .args([
                "-displayfd",
                "1",
                "-nolisten",
                "tcp",
                "-screen",
                "0",
                "320x240x24",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("Xvfb runs (Debian package `xvfb`)");
        let mut number = String::new();
        BufReader::new(xvfb.stdout.take().unwrap())
            .read_line(&mut number)
            .unwrap();
        let mut clipboard = Clipboard {
            display: format!(":{}", number.trim()),
            xvfb,
            xclip: None,
        };
        assert!(clipboard.display.len() > 1, "Xvfb gave no display number");
        // Ready when the clipboard offers the image, as Claude Code asks for it; an xclip
        // that could not take the clipboard (it has exited) is started again.
        let start = Instant::now();
        loop {
            let running = match clipboard.xclip.as_mut() {
                Some(xclip) => xclip.try_wait().unwrap().is_none(),
                None => false,
            };
            if !running {
                clipboard.xclip = Some(clipboard.offer(png));
            }
            std::thread::sleep(Duration::from_millis(100));
            let targets = clipboard.xclip_out("TARGETS");
            if String::from_utf8_lossy(&targets.stdout).contains("image/png") {
                return clipboard;
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "the clipboard of {} never offered image/png: {}",
                clipboard.display,
                String::from_utf8_lossy(&targets.stderr).trim()
            );
        }
    }

    /// `xclip -i`, kept in the foreground (`-quiet`): it serves the selection until killed.
    fn offer(&self, png: &Path) -> Child {
        Command::new("xclip")
            .args(["-quiet", "-selection", "clipboard", "-t", "image/png", "-i"])
            .arg(png)
            .env("DISPLAY", &self.display)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("xclip runs (Debian package `xclip`)")
    }

    /// What the clipboard gives for `target`, read as Claude Code reads it.
    pub fn xclip_out(&self, target: &str) -> std::process::Output {
        Command::new("xclip")
            .args(["-selection", "clipboard", "-o", "-t", target])
            .env("DISPLAY", &self.display)
            .output()
            .unwrap()
    }
}

impl Drop for Clipboard {
    fn drop(&mut self) {
        if let Some(mut xclip) = self.xclip.take() {
            let _ = xclip.kill();
            let _ = xclip.wait();
        }
        // SIGTERM, so Xvfb removes its socket and lock; SIGKILL if it lingers.
        let _ = Command::new("kill")
            .arg(self.xvfb.id().to_string())
            .status();
        let start = Instant::now();
        while matches!(self.xvfb.try_wait(), Ok(None)) {
            if start.elapsed() > Duration::from_secs(3) {
                let _ = self.xvfb.kill();
                let _ = self.xvfb.wait();
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
