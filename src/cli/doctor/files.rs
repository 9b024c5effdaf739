//! The local part: the data dir, the store in it, its owner, and the modes of the files that
//! hold secrets (the data dir 0700; the redb file, the socket and key files 0600).

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use super::Check;
use crate::route::{Routes, add_key_hint};
use crate::store::logs::LogQuery;
use crate::store::stats::StatsBy;
use crate::store::{KeyRecord, SOCKET_NAME, SecretSource, Store, StoreError, wire};

/// How long the store may take to answer (it counts the log's rows).
const STORE_WAIT: Duration = Duration::from_secs(10);

/// What the local checks found: their lines, and the keys' routes when the store could be read.
pub struct Local {
    pub checks: Vec<Check>,
    pub routes: Option<Routes>,
}

/// What the store says about itself.
struct Summary {
    schema: u64,
    log_rows: u64,
    keys: Vec<KeyRecord>,
}

/// Checks the data dir, the store and the files' modes.
pub fn check(store: &Store) -> Local {
    let dir = store.dir();
    let mut checks = Vec::new();
    let shown = dir.display();
    match fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => {
            checks.push(mode_check(
                "data dir",
                dir,
                meta.permissions().mode(),
                0o700,
            ));
        }
        Ok(_) => {
            checks.push(Check::fail(
                "data dir",
                format!("{shown} is not a directory"),
                Some("point `--data-dir` or BGW_DATA_DIR at a directory".into()),
            ));
            return Local {
                checks,
                routes: None,
            };
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // Nothing is broken: bgw makes it on first use. Making it here would hide that.
            checks.push(Check::warn(
                "data dir",
                format!("{shown} does not exist yet (bgw makes it, 0700, when first used)"),
                Some(format!("add a key: `{}`", add_key_hint("openai"))),
            ));
            return Local {
                checks,
                routes: None,
            };
        }
        Err(e) => {
            checks.push(Check::fail(
                "data dir",
                format!("cannot read {shown}: {e}"),
                Some(format!("check the permissions of {shown}")),
            ));
            return Local {
                checks,
                routes: None,
            };
        }
    }
    // Asked before the store is used: using it starts an owner.
    let running = UnixStream::connect(dir.join(SOCKET_NAME)).is_ok();
    checks.push(Check::pass(
        "store owner",
        if running {
            "running".to_owned()
        } else {
            "not running (bgw starts one when needed; it was started for these checks)".to_owned()
        },
    ));
    let summary = match summarize(store) {
        Ok(s) => s,
        Err(e) => {
            checks.push(store_failure(&e));
            return Local {
                checks,
                routes: None,
            };
        }
    };
    let path = store.path();
    let size = fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    checks.push(Check::pass(
        "store",
        format!(
            "{} (schema {}, protocol {}, {}, {} log rows, {} keys)",
            path.display(),
            summary.schema,
            wire::PROTOCOL,
            bytes(size),
            crate::observe::session::thousands(summary.log_rows),
            summary.keys.len()
        ),
    ));
    for (name, file) in [
        ("store file", path.clone()),
        ("store socket", dir.join(SOCKET_NAME)),
    ] {
        if let Ok(meta) = fs::metadata(&file) {
            checks.push(mode_check(name, &file, meta.permissions().mode(), 0o600));
        }
    }
    for key in &summary.keys {
        if let SecretSource::File(file) = &key.secret {
            let name = format!("key file {}", key.name);
            match fs::metadata(file) {
                Ok(meta) => checks.push(mode_check(
                    &name,
                    Path::new(file),
                    meta.permissions().mode(),
                    0o600,
                )),
                Err(e) => checks.push(Check::fail(
                    name,
                    format!("cannot read {file}: {e}"),
                    Some(format!(
                        "put the file back, or add the key again: `bgw keys add {} --file PATH`",
                        key.provider
                    )),
                )),
            }
        }
    }
    Local {
        checks,
        routes: Some(Routes::new(&summary.keys)),
    }
}

/// The store's schema, rows and keys, or why not, within [`STORE_WAIT`].
fn summarize(store: &Store) -> Result<Summary, StoreError> {
    let store = store.clone();
    let (tx, rx) = mpsc::channel();
    // A thread of its own: a store that hangs must not hang the doctor.
    std::thread::spawn(move || {
        let summary = (|| {
            let schema = store.schema_version()?;
            let keys = store.keys()?;
            let log_rows = store
                .log_stats(&LogQuery::default(), StatsBy::All)?
                .iter()
                .map(|r| r.requests)
                .sum();
            Ok(Summary {
                schema,
                log_rows,
                keys,
            })
        })();
        let _ = tx.send(summary);
    });
    rx.recv_timeout(STORE_WAIT)
        .unwrap_or(Err(StoreError::Timeout(STORE_WAIT)))
}

fn store_failure(e: &StoreError) -> Check {
    let fix = match e {
        StoreError::TooNew { .. } => "run `bgw self-update`".to_owned(),
        StoreError::Busy { .. } | StoreError::Timeout(_) | StoreError::Unreachable { .. } => {
            "end a hung `bgw store-owner` process (bgw starts another), then run `bgw doctor` again"
                .to_owned()
        }
        _ => "see the error; the data dir must be writable by you".to_owned(),
    };
    Check::fail("store", e.to_string(), Some(fix))
}

/// A file or directory that must be private: ✗ when its group or others may read, write or
/// enter it, with the `chmod` that makes it `want`.
fn mode_check(name: &str, path: &Path, mode: u32, want: u32) -> Check {
    let mode = mode & 0o777;
    if mode & 0o077 == 0 {
        return Check::pass(name, format!("{} ({mode:04o})", path.display()));
    }
    Check::fail(
        name,
        format!(
            "{} has mode {mode:04o}: others on this machine can read it ({want:04o} expected)",
            path.display()
        ),
        Some(format!(
            "chmod {want:o} {}",
            shell_word(&path.to_string_lossy())
        )),
    )
}

/// `s` as one shell word, quoted only when it needs to be.
fn shell_word(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+:@%,".contains(c))
    {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// A size in bytes as people read it.
fn bytes(n: u64) -> String {
    const KIB: f64 = 1024.0;
    let f = n as f64;
    if f < KIB {
        format!("{n} B")
    } else if f < KIB * KIB {
        format!("{:.1} KiB", f / KIB)
    } else if f < KIB * KIB * KIB {
        format!("{:.1} MiB", f / KIB / KIB)
    } else {
        format!("{:.1} GiB", f / KIB / KIB / KIB)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_private_dir_passes_and_a_readable_one_fails_with_its_chmod() {
        let p = Path::new("/d/bgw");
        assert_eq!(
            mode_check("data dir", p, 0o40700, 0o700).status,
            super::super::Status::Pass
        );
        let c = mode_check("data dir", p, 0o40750, 0o700);
        assert!(!c.ok);
        assert!(c.detail.contains("0750"), "{}", c.detail);
        assert_eq!(c.fix.as_deref(), Some("chmod 700 /d/bgw"));
        let c = mode_check(
            "store file",
            Path::new("/my data/bgw.redb"),
            0o100604,
            0o600,
        );
        assert_eq!(c.fix.as_deref(), Some("chmod 600 '/my data/bgw.redb'"));
    }

    #[test]
    fn sizes_read_as_people_read_them() {
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(3 * 1024 * 1024), "3.0 MiB");
    }
}
