//! The real `bgw` binary: keys added with `bgw keys add`, then `bgw serve --port 0`.
//!
//! Each gateway gets its own temp data dir and port, so tests run in parallel. The child
//! is killed when the [`Bgw`] is dropped; its stderr is kept for failure messages.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use super::STEP;
use super::client::Client;

/// The binary under test.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_bgw")
}

/// A `bgw` command with its data dir set and no settings leaking in from the environment.
pub fn command(data_dir: &Path) -> Command {
    let mut cmd = Command::new(bin());
    cmd.env("BGW_DATA_DIR", data_dir)
        .env("NO_COLOR", "1")
        .env_remove("BGW_HOST")
        .env_remove("BGW_PORT")
        .env_remove("BGW_MAX_BODY_MB")
        .env_remove("BGW_UPSTREAM_TIMEOUT")
        .stdin(Stdio::null());
    cmd
}

/// A data dir being prepared for a gateway.
pub struct Setup {
    dir: tempfile::TempDir,
    serve_args: Vec<String>,
    /// Variables set (or, `None`, removed) for `bgw keys add` and `bgw serve`.
    envs: Vec<(String, Option<String>)>,
}

/// Applies `envs` to `cmd`: each set, or removed when its value is `None`.
fn apply_env(cmd: &mut Command, envs: &[(String, Option<String>)]) {
    for (name, value) in envs {
        match value {
            Some(v) => cmd.env(name, v),
            None => cmd.env_remove(name),
        };
    }
}

impl Setup {
    /// Runs `bgw keys add ARGS…` in this data dir; panics with its stderr if it fails.
    pub fn key(self, args: &[&str]) -> Setup {
        let mut cmd = command(self.dir.path());
        apply_env(&mut cmd, &self.envs);
        let out = cmd.arg("keys").arg("add").args(args).output().unwrap();
        assert!(
            out.status.success(),
            "`bgw keys add {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
        self
    }

    /// Adds a key for `provider` (with `--value` when given) that calls `base_url`.
    pub fn provider(self, provider: &str, key: Option<&str>, base_url: &str) -> Setup {
        let mut args = vec![provider];
        if let Some(k) = key {
            args.extend(["--value", k]);
        }
        args.extend(["--base-url", base_url]);
        self.key(&args)
    }

    /// Adds a provider of the user's own, speaking `dialect` (`--compat`), at `base_url`.
    pub fn compat(self, name: &str, dialect: &str, key: Option<&str>, base_url: &str) -> Setup {
        let mut args = vec![name, "--compat", dialect];
        if let Some(k) = key {
            args.extend(["--value", k]);
        }
        args.extend(["--base-url", base_url]);
        self.key(&args)
    }

    /// Adds `bgw serve` options (`--upstream-timeout 1`, `--max-body-mb 1`).
    pub fn serve_args(mut self, args: &[&str]) -> Setup {
        self.serve_args.extend(args.iter().map(|s| s.to_string()));
        self
    }

    /// Sets `name` to `value` in the environment of the `bgw keys add` and `bgw serve` that
    /// follow (AWS credentials, a Google project).
    pub fn env(mut self, name: &str, value: &str) -> Setup {
        self.envs.push((name.to_owned(), Some(value.to_owned())));
        self
    }

    /// Removes `name` from the environment of the `bgw keys add` and `bgw serve` that follow.
    pub fn env_remove(mut self, name: &str) -> Setup {
        self.envs.push((name.to_owned(), None));
        self
    }

    /// The data dir being prepared.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Starts `bgw serve --port 0` and waits for the line that names its port.
    pub fn start(self) -> Bgw {
        let mut bgw = Bgw::serve_with_env(self.dir.path(), &self.serve_args, &self.envs);
        bgw.dir = Some(self.dir);
        bgw
    }
}

impl Bgw {
    /// Starts `bgw serve --port 0 ARGS…` on the data dir `dir`, which it does not own (several
    /// gateways may share one), and waits for the line that names its port.
    pub fn serve_at(dir: &Path, serve_args: &[String]) -> Bgw {
        Bgw::serve_with_env(dir, serve_args, &[])
    }

    /// [`Bgw::serve_at`] with these variables set (or, `None`, removed).
    fn serve_with_env(dir: &Path, serve_args: &[String], envs: &[(String, Option<String>)]) -> Bgw {
        let mut cmd = command(dir);
        apply_env(&mut cmd, envs);
        let mut child = cmd
            .args(["serve", "--port", "0"])
            .args(serve_args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let (port_tx, port_rx) = mpsc::channel::<u16>();
        let thread_log = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                // `http://127.0.0.1:PORT`, or another host with `--host`.
                let address = line
                    .strip_prefix("bgw: listening on http://")
                    .and_then(|rest| rest.split_whitespace().next());
                if let Some((_, port)) = address.and_then(|a| a.rsplit_once(':')) {
                    let port: String = port.chars().take_while(char::is_ascii_digit).collect();
                    if let Ok(p) = port.parse() {
                        let _ = port_tx.send(p);
                    }
                }
                let mut log = thread_log.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        let mut bgw = Bgw {
            child,
            port: 0,
            log,
            data_dir: dir.to_owned(),
            dir: None,
        };
        match port_rx.recv_timeout(STEP) {
            Ok(p) => bgw.port = p,
            Err(_) => {
                let _ = bgw.child.kill();
                let _ = bgw.child.wait();
                std::thread::sleep(std::time::Duration::from_millis(50));
                panic!(
                    "`bgw serve` did not say where it listens; stderr:\n{}",
                    bgw.stderr()
                );
            }
        }
        bgw
    }
}

/// A running `bgw serve`.
pub struct Bgw {
    child: Child,
    pub port: u16,
    log: Arc<Mutex<String>>,
    data_dir: std::path::PathBuf,
    /// The data dir, when this gateway made it (removed with it).
    dir: Option<tempfile::TempDir>,
}

impl Bgw {
    /// A fresh data dir with no keys.
    pub fn setup() -> Setup {
        Setup {
            dir: tempfile::tempdir().unwrap(),
            serve_args: Vec::new(),
            envs: Vec::new(),
        }
    }

    /// A gateway with one key for `provider` (its `--value` when given) that calls `base_url`.
    pub fn keyed(provider: &str, key: Option<&str>, base_url: &str) -> Bgw {
        Bgw::setup().provider(provider, key, base_url).start()
    }

    /// A gateway with no keys at all.
    pub fn start_bare() -> Bgw {
        Bgw::setup().start()
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// A client for this gateway.
    pub fn client(&self) -> Client {
        Client::new(self.port)
    }

    /// The gateway's data dir (for `bgw keys add` while it runs).
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The process id of `bgw serve`.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Asks the gateway to stop (SIGTERM) and waits for it; its stderr then.
    pub fn terminate(mut self) -> String {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
        // The stderr reader thread ends at EOF, just after the exit.
        std::thread::sleep(std::time::Duration::from_millis(100));
        self.stderr()
    }

    /// What the gateway wrote to stderr so far.
    pub fn stderr(&self) -> String {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for Bgw {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The pid of the `bgw store-owner` serving `dir`, waiting for one to exist.
pub fn owner_pid(dir: &Path) -> u32 {
    let deadline = Instant::now() + STEP;
    let dir = dir.to_str().unwrap();
    loop {
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
                continue;
            };
            let args: Vec<String> = cmdline
                .split(|&b| b == 0)
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect();
            if args.iter().any(|a| a == "store-owner") && args.iter().any(|a| a == dir) {
                return pid;
            }
        }
        assert!(Instant::now() < deadline, "no store owner runs for {dir}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The request log's rows (`bgw logs --json`) once there are `n` of them (rows are written a
/// moment after the answer), newest first.
pub fn log_rows(dir: &Path, n: usize) -> Vec<serde_json::Value> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let out = command(dir).args(["logs", "--json"]).output().unwrap();
        let rows: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        if rows.len() >= n {
            return rows;
        }
        assert!(
            Instant::now() < deadline,
            "{} rows, not {n}: {rows:?}",
            rows.len()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
