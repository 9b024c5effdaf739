//! Stored settings of the request log: whether content is kept, and for how long rows are.

use serde::{Deserialize, Serialize};

use super::file::File;
use super::{Store, StoreError};

/// The `settings` row holding the log's settings.
const LOG_SETTINGS: &str = "log";

/// Days rows are kept unless the user says otherwise.
pub const DEFAULT_RETENTION_DAYS: u32 = 30;

/// How the request log behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    /// Keep each request's body and response (`bgw serve --no-content` overrides per gateway).
    #[serde(default = "yes")]
    pub content: bool,
    /// Rows older than this many days are deleted; `None` keeps them all.
    #[serde(default = "default_retention")]
    pub retention_days: Option<u32>,
}

fn yes() -> bool {
    true
}

fn default_retention() -> Option<u32> {
    Some(DEFAULT_RETENTION_DAYS)
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            content: true,
            retention_days: default_retention(),
        }
    }
}

impl Settings {
    fn decode(bytes: Option<Vec<u8>>) -> Result<Settings, StoreError> {
        match bytes {
            None => Ok(Settings::default()),
            Some(b) => serde_json::from_slice(&b)
                .map_err(|e| StoreError::Corrupt(format!("the log settings: {e}"))),
        }
    }

    /// The settings in an open file (the owner's view).
    pub(super) fn read(file: &File) -> Result<Settings, StoreError> {
        Settings::decode(file.get("settings", LOG_SETTINGS)?)
    }
}

impl Store {
    /// The request log's settings.
    pub fn log_settings(&self) -> Result<Settings, StoreError> {
        Settings::decode(self.get("settings", LOG_SETTINGS)?)
    }

    /// Replaces the request log's settings; running gateways pick them up.
    pub fn set_log_settings(&self, settings: &Settings) -> Result<(), StoreError> {
        let value = serde_json::to_vec(settings).map_err(super::db_err)?;
        self.put("settings", LOG_SETTINGS, value, false).map(|_| ())
    }
}
