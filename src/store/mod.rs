//! The one redb file that holds bgw's state.
//!
//! Every table is declared here and no redb type leaves this module. Values are JSON
//! so a record can gain fields without a migration; the schema version in `meta`
//! says when a migration is needed. The file is opened for one operation and closed
//! again, so several bgw processes can take turns (the single-owner server comes later).

pub mod keys;

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use std::fs::{self, OpenOptions};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub use keys::{KeyRecord, SecretSource};

/// `meta`: schema version and other single values.
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
/// `keys`: key name → JSON [`KeyRecord`].
const KEYS: TableDefinition<&str, &[u8]> = TableDefinition::new("keys");
/// `secrets`: bgw's own secrets, raw bytes. Created by the first write that needs it, so
/// readers take its absence as "not made yet".
const SECRETS: TableDefinition<&str, &[u8]> = TableDefinition::new("secrets");
/// The row of `secrets` holding the key that signs thinking blocks.
const THINKING_KEY: &str = "thinking_key";

/// The schema this build writes.
pub const SCHEMA_VERSION: u64 = 1;
const FILE_NAME: &str = "bgw.redb";
/// How long to wait for another bgw process to release the file.
const LOCK_WAIT: Duration = Duration::from_secs(5);

/// What can go wrong with the store, phrased for the person at the terminal.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create the data directory `{path}`: {source}")]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the store `{path}` is busy in another bgw process; try again in a moment")]
    Busy { path: PathBuf },
    #[error("cannot open the store `{path}`: {message}")]
    Open { path: PathBuf, message: String },
    #[error(
        "the store `{path}` was written by a newer bgw (schema {found}, this one knows {SCHEMA_VERSION}); run `bgw self-update`"
    )]
    TooNew { path: PathBuf, found: u64 },
    #[error("store operation failed: {0}")]
    Db(String),
    #[error("a record in the store is damaged: {0}")]
    Corrupt(String),
    #[error("{0}")]
    Conflict(String),
}

fn db_err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Db(e.to_string())
}

/// Opens with `open`, waiting up to [`LOCK_WAIT`] while another bgw process holds the file.
fn wait_for_lock<T>(
    path: &Path,
    open: impl Fn() -> Result<T, redb::DatabaseError>,
) -> Result<T, StoreError> {
    let started = Instant::now();
    loop {
        match open() {
            Ok(db) => return Ok(db),
            Err(redb::DatabaseError::DatabaseAlreadyOpen) if started.elapsed() < LOCK_WAIT => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(redb::DatabaseError::DatabaseAlreadyOpen) => {
                return Err(StoreError::Busy {
                    path: path.to_owned(),
                });
            }
            Err(e) => {
                return Err(StoreError::Open {
                    path: path.to_owned(),
                    message: e.to_string(),
                });
            }
        }
    }
}

/// The default data directory: `$XDG_DATA_HOME/bgw` or the platform's equivalent.
pub fn default_data_dir() -> PathBuf {
    dirs::data_dir()
        .or_else(dirs::home_dir)
        .unwrap_or_else(|| PathBuf::from("."))
        .join("bgw")
}

/// A handle on the data directory; each operation opens the file, works and closes it.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
}

impl Store {
    /// The store in `dir`, created (mode 0700 directory, 0600 file) on first use.
    pub fn new(dir: impl Into<PathBuf>) -> Store {
        Store { dir: dir.into() }
    }

    /// The directory holding the store.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The redb file.
    pub fn path(&self) -> PathBuf {
        self.dir.join(FILE_NAME)
    }

    fn open(&self) -> Result<Database, StoreError> {
        let path = self.path();
        if !self.dir.exists() {
            fs::create_dir_all(&self.dir).map_err(|source| StoreError::CreateDir {
                path: self.dir.clone(),
                source,
            })?;
            // Keys may be stored here: only the user may look inside.
            let _ = fs::set_permissions(&self.dir, fs::Permissions::from_mode(0o700));
        }
        if !path.exists() {
            OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o600)
                .open(&path)
                .map_err(|e| StoreError::Open {
                    path: path.clone(),
                    message: e.to_string(),
                })?;
        }
        let db = wait_for_lock(&path, || Database::create(&path))?;
        self.check_schema(&db)?;
        Ok(db)
    }

    /// Opens for reading without writing a byte (running gateways watch the file's
    /// modification time to notice key changes); `None` when there is no store yet.
    fn open_read(&self) -> Result<Option<redb::ReadOnlyDatabase>, StoreError> {
        let path = self.path();
        if !path.exists() {
            return Ok(None);
        }
        wait_for_lock(&path, || Database::builder().open_read_only(&path)).map(Some)
    }

    fn check_schema(&self, db: &Database) -> Result<(), StoreError> {
        let tx = db.begin_write().map_err(db_err)?;
        {
            let mut meta = tx.open_table(META).map_err(db_err)?;
            let found = meta
                .get("schema_version")
                .map_err(db_err)?
                .map(|v| v.value());
            match found {
                Some(v) if v > SCHEMA_VERSION => {
                    return Err(StoreError::TooNew {
                        path: self.path(),
                        found: v,
                    });
                }
                Some(_) => {}
                None => {
                    meta.insert("schema_version", SCHEMA_VERSION)
                        .map_err(db_err)?;
                }
            }
            tx.open_table(KEYS).map_err(db_err)?;
        }
        tx.commit().map_err(db_err)
    }

    /// The install's 32-byte key for signing thinking blocks
    /// ([`crate::messages::signature`]): read if present, else made once and kept.
    pub fn thinking_key(&self) -> Result<[u8; 32], StoreError> {
        if let Some(key) = self.read_thinking_key()? {
            return Ok(key);
        }
        let db = self.open()?;
        let tx = db.begin_write().map_err(db_err)?;
        let key = {
            let mut table = tx.open_table(SECRETS).map_err(db_err)?;
            // Another process may have made it since the read above.
            let existing = table
                .get(THINKING_KEY)
                .map_err(db_err)?
                .and_then(|v| <[u8; 32]>::try_from(v.value()).ok());
            match existing {
                Some(key) => key,
                None => {
                    let mut key = [0u8; 32];
                    getrandom::fill(&mut key)
                        .map_err(|e| StoreError::Db(format!("no randomness for a new key: {e}")))?;
                    table.insert(THINKING_KEY, key.as_slice()).map_err(db_err)?;
                    key
                }
            }
        };
        tx.commit().map_err(db_err)?;
        Ok(key)
    }

    /// The thinking key if the file holds a well-formed one; never writes.
    fn read_thinking_key(&self) -> Result<Option<[u8; 32]>, StoreError> {
        let Some(db) = self.open_read()? else {
            return Ok(None);
        };
        let tx = db.begin_read().map_err(db_err)?;
        let table = match tx.open_table(SECRETS) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => return Err(db_err(e)),
        };
        Ok(table
            .get(THINKING_KEY)
            .map_err(db_err)?
            .and_then(|v| <[u8; 32]>::try_from(v.value()).ok()))
    }

    /// The schema version recorded in the file.
    pub fn schema_version(&self) -> Result<u64, StoreError> {
        drop(self.open()?);
        let Some(db) = self.open_read()? else {
            return Ok(0);
        };
        let tx = db.begin_read().map_err(db_err)?;
        let meta = tx.open_table(META).map_err(db_err)?;
        Ok(meta
            .get("schema_version")
            .map_err(db_err)?
            .map(|v| v.value())
            .unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reading_does_not_change_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        store.schema_version().unwrap();
        let before = fs::read(store.path()).unwrap();
        let modified = fs::metadata(store.path()).unwrap().modified().unwrap();
        std::thread::sleep(Duration::from_millis(20));
        store.keys().unwrap();
        assert_eq!(fs::read(store.path()).unwrap(), before);
        assert_eq!(
            fs::metadata(store.path()).unwrap().modified().unwrap(),
            modified
        );
    }

    #[test]
    fn the_thinking_key_is_made_once_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().join("data"));
        let first = store.thinking_key().unwrap();
        assert_ne!(first, [0; 32]);
        assert_eq!(store.thinking_key().unwrap(), first);
        assert_eq!(
            Store::new(dir.path().join("data")).thinking_key().unwrap(),
            first
        );
        // Reading it again writes nothing: running gateways watch the file for key changes.
        let modified = fs::metadata(store.path()).unwrap().modified().unwrap();
        std::thread::sleep(Duration::from_millis(20));
        store.thinking_key().unwrap();
        assert_eq!(
            fs::metadata(store.path()).unwrap().modified().unwrap(),
            modified
        );
    }

    #[test]
    fn a_store_made_before_the_thinking_key_gets_one_and_keeps_its_keys() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        store.schema_version().unwrap();
        assert_eq!(store.read_thinking_key().unwrap(), None);
        let key = store.thinking_key().unwrap();
        assert_eq!(store.read_thinking_key().unwrap(), Some(key));
        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    }

    #[test]
    fn a_store_that_cannot_be_written_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("file");
        fs::write(&blocker, b"").unwrap();
        // The data dir would have to be inside a regular file: it cannot be made.
        assert!(Store::new(blocker.join("bgw")).thinking_key().is_err());
    }

    #[test]
    fn new_store_is_private_and_versioned() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().join("data"));
        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
        let mode = fs::metadata(store.path()).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let mode = fs::metadata(store.dir()).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
    }
}
