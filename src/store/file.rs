//! The redb file itself, as its owner sees it: opening, the schema, the config tables.
//!
//! Only the owning process (see [`super::owner`]) holds a [`File`]; everyone else reaches
//! it through the socket. Config tables map a name to bytes (JSON for records, raw for
//! secrets), so a record can gain fields without a migration.

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use std::fs::{self, OpenOptions};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::{SCHEMA_VERSION, StoreError, db_err};

/// `meta`: schema version and other single values.
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");

/// The config tables: name → bytes. Anything else a client names is refused.
pub const CONFIG_TABLES: &[&str] = &[
    "keys", "secrets", "prices", "settings", "vkeys", "budgets", "groups", "routes",
];

/// The owner's page cache.
const CACHE_BYTES: usize = 32 * 1024 * 1024;

/// The file's name in the data directory.
pub const FILE_NAME: &str = "bgw.redb";

/// An open store file.
pub struct File {
    pub(super) db: Database,
    path: PathBuf,
}

/// Whether the file could be had.
pub enum Opened {
    Mine(File),
    /// Another process holds it.
    Taken,
}

impl File {
    /// Opens (creating, private) the store in `dir`; [`Opened::Taken`] when another process has it.
    pub fn open(dir: &Path) -> Result<Opened, StoreError> {
        make_private_dir(dir)?;
        let path = dir.join(FILE_NAME);
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
        // redb caches up to 1 GiB by default; a laptop's background process needs far less.
        let db = match Database::builder()
            .set_cache_size(CACHE_BYTES)
            .create(&path)
        {
            Ok(db) => db,
            Err(redb::DatabaseError::DatabaseAlreadyOpen) => return Ok(Opened::Taken),
            Err(e) => {
                return Err(StoreError::Open {
                    path,
                    message: e.to_string(),
                });
            }
        };
        let file = File { db, path };
        file.prepare()?;
        Ok(Opened::Mine(file))
    }

    /// Checks the schema version and makes every table, so readers never meet a missing one.
    fn prepare(&self) -> Result<(), StoreError> {
        let tx = self.db.begin_write().map_err(db_err)?;
        {
            let mut meta = tx.open_table(META).map_err(db_err)?;
            let found = meta
                .get("schema_version")
                .map_err(db_err)?
                .map(|v| v.value());
            match found {
                Some(v) if v > SCHEMA_VERSION => {
                    return Err(StoreError::TooNew {
                        path: self.path.clone(),
                        found: v,
                    });
                }
                Some(v) if v == SCHEMA_VERSION => {}
                // Version 2 indexed each row apart; version 3 keeps lists of ids.
                Some(2) => {
                    super::log_index::migrate(&tx)?;
                    meta.insert("schema_version", SCHEMA_VERSION)
                        .map_err(db_err)?;
                }
                // Versions 3 and 4 kept chunks by hash and by key: their tables stay, read and
                // pruned as they were, and the new ones are made below. Version 1 had the same
                // config tables; 5 had no ledger, virtual keys or budgets (made below too).
                _ => {
                    meta.insert("schema_version", SCHEMA_VERSION)
                        .map_err(db_err)?;
                }
            }
            for name in CONFIG_TABLES {
                tx.open_table(config_table(name)).map_err(db_err)?;
            }
            super::logs::create_tables(&tx)?;
            super::content::create_tables(&tx)?;
            super::ledger::create_tables(&tx)?;
        }
        tx.commit().map_err(db_err)
    }

    /// The schema version recorded in the file.
    pub fn schema_version(&self) -> Result<u64, StoreError> {
        let tx = self.db.begin_read().map_err(db_err)?;
        let meta = tx.open_table(META).map_err(db_err)?;
        Ok(meta
            .get("schema_version")
            .map_err(db_err)?
            .map(|v| v.value())
            .unwrap_or(0))
    }

    /// Every row of a config table.
    pub fn list(&self, table: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let def = config_table(checked(table)?);
        let tx = self.db.begin_read().map_err(db_err)?;
        let t = tx.open_table(def).map_err(db_err)?;
        let mut out = Vec::new();
        for row in t.iter().map_err(db_err)? {
            let (k, v) = row.map_err(db_err)?;
            out.push((k.value().to_owned(), v.value().to_vec()));
        }
        Ok(out)
    }

    /// One row of a config table.
    pub fn get(&self, table: &str, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let def = config_table(checked(table)?);
        let tx = self.db.begin_read().map_err(db_err)?;
        let t = tx.open_table(def).map_err(db_err)?;
        Ok(t.get(key).map_err(db_err)?.map(|v| v.value().to_vec()))
    }

    /// Writes a row; with `if_absent`, only when the key is new. Says whether it wrote.
    pub fn put(
        &self,
        table: &str,
        key: &str,
        value: &[u8],
        if_absent: bool,
    ) -> Result<bool, StoreError> {
        let def = config_table(checked(table)?);
        let tx = self.db.begin_write().map_err(db_err)?;
        let wrote = {
            let mut t = tx.open_table(def).map_err(db_err)?;
            if if_absent && t.get(key).map_err(db_err)?.is_some() {
                false
            } else {
                t.insert(key, value).map_err(db_err)?;
                true
            }
        };
        tx.commit().map_err(db_err)?;
        Ok(wrote)
    }

    /// Replaces a row only if it still holds `expected` (`None`: absent); `value` `None`
    /// removes it. Says whether it did: a read-modify-write that lost a race tries again.
    pub fn swap(
        &self,
        table: &str,
        key: &str,
        expected: Option<&[u8]>,
        value: Option<&[u8]>,
    ) -> Result<bool, StoreError> {
        let def = config_table(checked(table)?);
        let tx = self.db.begin_write().map_err(db_err)?;
        let swapped = {
            let mut t = tx.open_table(def).map_err(db_err)?;
            let current = t.get(key).map_err(db_err)?.map(|v| v.value().to_vec());
            if current.as_deref() != expected {
                false
            } else {
                match value {
                    Some(v) => {
                        t.insert(key, v).map_err(db_err)?;
                    }
                    None => {
                        t.remove(key).map_err(db_err)?;
                    }
                }
                true
            }
        };
        tx.commit().map_err(db_err)?;
        Ok(swapped)
    }

    /// Removes a row; says whether it existed.
    pub fn remove(&self, table: &str, key: &str) -> Result<bool, StoreError> {
        let def = config_table(checked(table)?);
        let tx = self.db.begin_write().map_err(db_err)?;
        let existed = {
            let mut t = tx.open_table(def).map_err(db_err)?;
            t.remove(key).map_err(db_err)?.is_some()
        };
        tx.commit().map_err(db_err)?;
        Ok(existed)
    }
}

fn config_table(name: &str) -> TableDefinition<'_, &'static str, &'static [u8]> {
    TableDefinition::new(name)
}

fn checked(table: &str) -> Result<&str, StoreError> {
    if CONFIG_TABLES.contains(&table) {
        Ok(table)
    } else {
        Err(StoreError::Db(format!("no config table `{table}`")))
    }
}

/// Makes `dir` if it is missing, private from the start (mode 0700: keys live here), and
/// fails when it cannot be made private. A directory that exists is left as its owner set it
/// (`bgw doctor` says when others can read it).
pub fn make_private_dir(dir: &Path) -> Result<(), StoreError> {
    if dir.exists() {
        return Ok(());
    }
    let create_err = |source| StoreError::CreateDir {
        path: dir.to_owned(),
        source,
    };
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(create_err)?;
    // The mode given at creation passes through the umask, which only ever removes bits;
    // set it again so a strange umask cannot leave it unusable, and check it holds.
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(create_err)?;
    let mode = fs::metadata(dir).map_err(create_err)?.permissions().mode() & 0o777;
    if mode != 0o700 {
        return Err(create_err(std::io::Error::other(format!(
            "its mode is {mode:o}, not 700 (a file system without Unix permissions?); choose another data dir with `--data-dir` or BGW_DATA_DIR"
        ))));
    }
    Ok(())
}

/// The store file in `dir`, opened by a test that knows no owner holds it.
#[cfg(test)]
pub fn open_in_test(dir: &Path) -> File {
    match File::open(dir) {
        Ok(Opened::Mine(f)) => f,
        Ok(Opened::Taken) => panic!("another process holds the store in {}", dir.display()),
        Err(e) => panic!("cannot open the store in {}: {e}", dir.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_data_dir_is_made_private_with_its_parents() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("a").join("b");
        make_private_dir(&data).unwrap();
        let mode = fs::metadata(&data).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        // One that exists is the user's: left as it is.
        fs::set_permissions(&data, fs::Permissions::from_mode(0o750)).unwrap();
        make_private_dir(&data).unwrap();
        let mode = fs::metadata(&data).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o750);
    }

    fn open(dir: &Path) -> File {
        open_in_test(dir)
    }

    #[test]
    fn a_schema_2_file_keeps_its_indexed_rows_when_opened() {
        let dir = tempfile::tempdir().unwrap();
        let old: TableDefinition<(&str, u128), ()> = TableDefinition::new("log_by_provider");
        {
            let f = open(dir.path());
            let tx = f.db.begin_write().unwrap();
            tx.open_table(META)
                .unwrap()
                .insert("schema_version", 2)
                .unwrap();
            tx.open_table(old).unwrap().insert(("groq", 7), ()).unwrap();
            tx.commit().unwrap();
        }
        let f = open(dir.path());
        assert_eq!(f.schema_version().unwrap(), SCHEMA_VERSION);
        let tx = f.db.begin_read().unwrap();
        assert!(tx.open_table(old).is_err());
        let mut ids = Vec::new();
        super::super::log_index::walk(
            &tx,
            super::super::log_index::Field::Provider,
            "groq",
            (0, u128::MAX),
            false,
            |id| {
                ids.push(id);
                Ok(true)
            },
        )
        .unwrap();
        assert_eq!(ids, [7]);
    }

    #[test]
    fn a_schema_3_file_is_marked_current_when_opened_and_keeps_its_rows() {
        let dir = tempfile::tempdir().unwrap();
        let log: TableDefinition<u128, &[u8]> = TableDefinition::new("log");
        {
            let f = open(dir.path());
            let tx = f.db.begin_write().unwrap();
            tx.open_table(META)
                .unwrap()
                .insert("schema_version", 3)
                .unwrap();
            tx.open_table(log)
                .unwrap()
                .insert(7, b"{}".as_slice())
                .unwrap();
            tx.commit().unwrap();
        }
        let f = open(dir.path());
        assert_eq!(f.schema_version().unwrap(), SCHEMA_VERSION);
        let tx = f.db.begin_read().unwrap();
        assert!(tx.open_table(log).unwrap().get(7).unwrap().is_some());
    }
}
