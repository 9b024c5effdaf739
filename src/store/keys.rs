//! Provider keys: where each secret comes from, never printed.

use serde::{Deserialize, Serialize};
use std::fmt;

use super::{Store, StoreError, db_err};

/// Where a key's secret comes from.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SecretSource {
    /// Stored in the file (entered with `--value` or `--stdin`).
    Value(String),
    /// Read from this environment variable each time it is used.
    Env(String),
    /// The upstream needs no key (Ollama, a local vLLM).
    None,
    /// Read from this file each time it is used (a Vertex service account's key file).
    File(String),
    /// The cloud's own credentials, found where its CLI finds them each time they are used:
    /// Google's application-default credentials, or the AWS environment and profile.
    Ambient,
}

impl fmt::Debug for SecretSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretSource::Value(v) => write!(f, "Value(…{})", last4(v)),
            SecretSource::Env(var) => write!(f, "Env({var})"),
            SecretSource::None => f.write_str("None"),
            SecretSource::File(path) => write!(f, "File({path})"),
            SecretSource::Ambient => f.write_str("Ambient"),
        }
    }
}

impl SecretSource {
    /// The secret now: stored, read from the environment, or none.
    pub fn resolve(&self) -> Result<Option<String>, String> {
        match self {
            SecretSource::Value(v) => Ok(Some(v.clone())),
            SecretSource::Env(var) => match std::env::var(var) {
                Ok(v) if !v.trim().is_empty() => Ok(Some(v.trim().to_owned())),
                _ => Err(format!("the environment variable `{var}` is not set")),
            },
            SecretSource::File(path) => read_key_file(path).map(Some),
            SecretSource::None | SecretSource::Ambient => Ok(None),
        }
    }

    /// How `bgw keys list` describes the source.
    pub fn describe(&self) -> String {
        match self {
            SecretSource::Value(_) => "stored".to_owned(),
            SecretSource::Env(var) => format!("env {var}"),
            SecretSource::None => "none".to_owned(),
            SecretSource::File(path) => format!("file {path}"),
            SecretSource::Ambient => "cloud default".to_owned(),
        }
    }

    /// The last four characters of the secret, for telling keys apart.
    pub fn hint(&self) -> String {
        if matches!(self, SecretSource::File(_)) {
            // A key file is a whole document; its last characters tell nothing.
            return "-".to_owned();
        }
        match self.resolve() {
            // A key file's JSON stored whole (`--stdin`) is no better told by its end.
            Ok(Some(v)) if v.trim_start().starts_with('{') => "-".to_owned(),
            Ok(Some(v)) => format!("…{}", last4(&v)),
            Ok(None) => "-".to_owned(),
            Err(_) => "(unset)".to_owned(),
        }
    }
}

/// A key file's text, read again only when the file changed (its size or modification time):
/// the file is a key's secret each request uses, and a request must not wait on reading it.
fn read_key_file(path: &str) -> Result<String, String> {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock, PoisonError};
    type Seen = (std::time::SystemTime, u64, String);
    static READ: OnceLock<Mutex<HashMap<String, Seen>>> = OnceLock::new();
    let meta =
        std::fs::metadata(path).map_err(|e| format!("cannot read the key file `{path}`: {e}"))?;
    let stamp = (meta.modified().unwrap_or(std::time::UNIX_EPOCH), meta.len());
    let read = READ.get_or_init(Mutex::default);
    if let Some((when, len, text)) = read
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(path)
    {
        if (*when, *len) == stamp {
            return Ok(text.clone());
        }
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the key file `{path}`: {e}"))?;
    if text.trim().is_empty() {
        return Err(format!("the key file `{path}` is empty"));
    }
    read.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(path.to_owned(), (stamp.0, stamp.1, text.clone()));
    Ok(text)
}

fn last4(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    if chars.len() < 12 {
        // Too short to show any part of it safely.
        return "****".to_owned();
    }
    chars[chars.len() - 4..].iter().collect()
}

/// One provider key as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyRecord {
    /// Unique name (defaults to the provider name).
    pub name: String,
    /// The provider it belongs to, as written before `/` in model names.
    pub provider: String,
    /// For user-added providers: the wire format they speak (`openai` or `anthropic`).
    #[serde(default)]
    pub compat: Option<String>,
    pub secret: SecretSource,
    #[serde(default)]
    pub base_url: Option<String>,
    /// Share of requests among this provider's keys.
    #[serde(default = "one")]
    pub weight: f64,
    /// Vertex's Google Cloud project.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// Vertex's location or Bedrock's AWS region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The AWS shared-credentials profile a Bedrock key signs with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// Only these models use this key; empty means all.
    #[serde(default)]
    pub models: Vec<String>,
    /// Seconds since the Unix epoch.
    #[serde(default)]
    pub created_at: u64,
}

fn one() -> f64 {
    1.0
}

impl Store {
    /// Every key, sorted by provider then name.
    pub fn keys(&self) -> Result<Vec<KeyRecord>, StoreError> {
        let mut out = Vec::new();
        for (name, value) in self.list("keys")? {
            let rec: KeyRecord = serde_json::from_slice(&value)
                .map_err(|e| StoreError::Corrupt(format!("key `{name}`: {e}")))?;
            out.push(rec);
        }
        out.sort_by(|a, b| (&a.provider, &a.name).cmp(&(&b.provider, &b.name)));
        Ok(out)
    }

    /// Adds a key; a key of the same name is refused.
    pub fn add_key(&self, rec: &KeyRecord) -> Result<(), StoreError> {
        let value = serde_json::to_vec(rec).map_err(db_err)?;
        if self.put("keys", &rec.name, value, true)? {
            Ok(())
        } else {
            Err(StoreError::Conflict(format!(
                "a key named `{}` exists already; remove it with `bgw keys rm {}` or choose another `--name`",
                rec.name, rec.name
            )))
        }
    }

    /// Removes a key; says whether it existed.
    pub fn remove_key(&self, name: &str) -> Result<bool, StoreError> {
        self.remove("keys", name)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_key_file_is_read_again_when_it_changes_and_its_loss_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key.json");
        std::fs::write(&path, r#"{"type":"service_account"}"#).unwrap();
        let source = SecretSource::File(path.display().to_string());
        assert_eq!(
            source.resolve().unwrap().as_deref(),
            Some(r#"{"type":"service_account"}"#)
        );
        std::fs::write(&path, r#"{"type":"authorized_user","x":1}"#).unwrap();
        assert_eq!(
            source.resolve().unwrap().as_deref(),
            Some(r#"{"type":"authorized_user","x":1}"#)
        );
        std::fs::remove_file(&path).unwrap();
        assert!(
            source
                .resolve()
                .unwrap_err()
                .contains("cannot read the key file")
        );
        std::fs::write(&path, "  \n").unwrap();
        assert!(source.resolve().unwrap_err().contains("is empty"));
    }

    use super::*;

    fn rec(name: &str, provider: &str) -> KeyRecord {
        KeyRecord {
            project: None,
            region: None,
            profile: None,
            name: name.into(),
            provider: provider.into(),
            compat: None,
            secret: SecretSource::Value("sk-test-0123456789abcd".into()),
            base_url: None,
            weight: 1.0,
            models: vec![],
            created_at: 0,
        }
    }

    #[test]
    fn keys_round_trip_and_names_are_unique() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        store.add_key(&rec("openai", "openai")).unwrap();
        store.add_key(&rec("azure-eu", "azure")).unwrap();
        let err = store.add_key(&rec("openai", "openai")).unwrap_err();
        assert!(err.to_string().contains("exists already"));
        let names: Vec<_> = store.keys().unwrap().into_iter().map(|k| k.name).collect();
        assert_eq!(names, ["azure-eu", "openai"]);
        assert!(store.remove_key("openai").unwrap());
        assert!(!store.remove_key("openai").unwrap());
        assert_eq!(store.keys().unwrap().len(), 1);
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let s = SecretSource::Value("sk-secret-value-1234".into());
        assert_eq!(format!("{s:?}"), "Value(…1234)");
        assert_eq!(s.hint(), "…1234");
        assert_eq!(SecretSource::Value("short".into()).hint(), "…****");
    }

    #[test]
    fn a_stored_json_key_is_hinted_like_a_key_file() {
        let json = "{\n  \"type\": \"service_account\",\n  \"client_email\": \"a@b.iam\"\n}\n";
        assert_eq!(SecretSource::Value(json.into()).hint(), "-");
    }
}
