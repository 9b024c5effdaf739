//! AWS credentials and region found the way the AWS CLI finds them, read afresh on every call.
//!
//! Precedence (<https://docs.aws.amazon.com/cli/latest/userguide/cli-chap-configure.html>):
//! a profile named explicitly (bgw's `profile` setting, like the CLI's `--profile`) is used
//! alone; otherwise `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`/`AWS_SESSION_TOKEN` come
//! first, even when `AWS_PROFILE` is set, as in the CLI. Then the profile (`AWS_PROFILE`,
//! else `default`) in the shared credentials file (`AWS_SHARED_CREDENTIALS_FILE`, else
//! `~/.aws/credentials`, sections `[NAME]`), then in the config file (`AWS_CONFIG_FILE`, else
//! `~/.aws/config`, sections `[profile NAME]` and `[default]`). Profiles that get credentials
//! by SSO, an assumed role or a helper program are reported, not run.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::sigv4::Credentials;
use crate::providers::Secret;

/// Why no credentials could be found; never carries a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialsError {
    #[error(
        "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or add a [{profile}] profile with aws_access_key_id and aws_secret_access_key to ~/.aws/credentials, or store a Bedrock API key with `bgw keys add bedrock --value …` (looked in: {})",
        show(.searched)
    )]
    NotFound {
        profile: String,
        searched: Vec<PathBuf>,
    },
    #[error(
        "AWS profile `{profile}` not found (looked in: {}): add a [{profile}] section to ~/.aws/credentials or a [profile {profile}] section to ~/.aws/config, or name an existing profile",
        show(.searched)
    )]
    ProfileNotFound {
        profile: String,
        searched: Vec<PathBuf>,
    },
    #[error(
        "AWS profile `{profile}` has no aws_access_key_id and aws_secret_access_key (looked in: {}): add them, or store a Bedrock API key with `bgw keys add bedrock --value …`",
        show(.searched)
    )]
    NoKeys {
        profile: String,
        searched: Vec<PathBuf>,
    },
    #[error(
        "{present} is set but {missing} is not: set both, or unset {present} to use ~/.aws/credentials"
    )]
    PartialEnv {
        present: &'static str,
        missing: &'static str,
    },
    #[error(
        "AWS profile `{profile}` in {} has {present} but no {missing}: add it",
        .path.display()
    )]
    PartialProfile {
        profile: String,
        path: PathBuf,
        present: &'static str,
        missing: &'static str,
    },
    #[error(
        "AWS profile `{profile}` in {} gets its credentials through `{key}` (SSO, an assumed role or a helper program), which bgw does not run: export short-term keys with `aws configure export-credentials --profile {profile} --format env`, or store a Bedrock API key with `bgw keys add bedrock --value …`",
        .path.display()
    )]
    Unsupported {
        profile: String,
        path: PathBuf,
        key: String,
    },
    #[error("could not read {}: {reason}", .path.display())]
    Unreadable { path: PathBuf, reason: String },
}

fn show(paths: &[PathBuf]) -> String {
    if paths.is_empty() {
        return "no file: the home directory is unknown".to_owned();
    }
    let mut out = String::new();
    for (i, path) in paths.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        let _ = write!(out, "{}", path.display());
    }
    out
}

/// Config-file keys of profiles whose credentials come from SSO or an assumed role; in
/// the AWS CLI these win over the credentials file.
const BEFORE_FILE_KEYS: [&str; 5] = [
    "role_arn",
    "web_identity_token_file",
    "sso_session",
    "sso_start_url",
    "login_session",
];

/// Finds AWS credentials: environment, then the shared credentials file, then the config
/// file; `profile` is an explicitly named profile, which skips the environment.
pub fn resolve(
    profile: Option<&str>,
    env: &impl Fn(&str) -> Option<String>,
    home: Option<&Path>,
) -> Result<Credentials, CredentialsError> {
    let var = |name: &str| env(name).filter(|v| !v.trim().is_empty());
    if profile.is_none() {
        if let Some(creds) = from_env(&var)? {
            return Ok(creds);
        }
    }
    let named = profile.map(str::to_owned).or_else(|| var("AWS_PROFILE"));
    let name = named.clone().unwrap_or_else(|| "default".to_owned());

    let mut searched = Vec::new();
    let mut found_section = false;
    let mut in_file = |path: Option<PathBuf>, config: bool| -> Result<_, CredentialsError> {
        let Some(path) = path else { return Ok(None) };
        searched.push(path.clone());
        let Some(text) = read(&path)? else {
            return Ok(None);
        };
        let section = if config {
            config_section(&text, &name)
        } else {
            section(&text, |s| s == name)
        };
        found_section |= section.is_some();
        Ok(section.map(|s| (path, s)))
    };
    let credentials_file = in_file(credentials_path(&var, home), false)?;
    let config_file = in_file(config_path(&var, home), true)?;

    if let Some((path, section)) = &config_file {
        if let Some(key) = BEFORE_FILE_KEYS.iter().find(|k| get(section, k).is_some()) {
            return Err(unsupported(&name, path, key));
        }
    }
    if let Some((path, section)) = &credentials_file {
        if let Some(creds) = from_section(section, &name, path)? {
            return Ok(creds);
        }
    }
    // As in the CLI, a helper program ranks after the credentials file's keys, before the config's.
    for (path, section) in credentials_file.iter().chain(&config_file) {
        if get(section, "credential_process").is_some() {
            return Err(unsupported(&name, path, "credential_process"));
        }
    }
    if let Some((path, section)) = &config_file {
        if let Some(creds) = from_section(section, &name, path)? {
            return Ok(creds);
        }
    }
    Err(if found_section {
        CredentialsError::NoKeys {
            profile: name,
            searched,
        }
    } else if named.is_some() {
        CredentialsError::ProfileNotFound {
            profile: name,
            searched,
        }
    } else {
        CredentialsError::NotFound {
            profile: name,
            searched,
        }
    })
}

/// The AWS region: `AWS_REGION`, `AWS_DEFAULT_REGION`, then the profile's `region` in the
/// config file (profile as in [`resolve`]); `None` when none is set or the file is unreadable.
pub fn region(
    env: &impl Fn(&str) -> Option<String>,
    home: Option<&Path>,
    profile: Option<&str>,
) -> Option<String> {
    let var = |name: &str| {
        env(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    if let Some(region) = var("AWS_REGION").or_else(|| var("AWS_DEFAULT_REGION")) {
        return Some(region);
    }
    let name = profile
        .map(str::to_owned)
        .or_else(|| var("AWS_PROFILE"))
        .unwrap_or_else(|| "default".to_owned());
    let text = read(&config_path(&var, home)?).ok()??;
    let section = config_section(&text, &name)?;
    get(&section, "region").map(str::to_owned)
}

fn from_env(
    var: &impl Fn(&str) -> Option<String>,
) -> Result<Option<Credentials>, CredentialsError> {
    let Some(access_key_id) = var("AWS_ACCESS_KEY_ID") else {
        return Ok(None);
    };
    let Some(secret) = var("AWS_SECRET_ACCESS_KEY") else {
        return Err(CredentialsError::PartialEnv {
            present: "AWS_ACCESS_KEY_ID",
            missing: "AWS_SECRET_ACCESS_KEY",
        });
    };
    // AWS_SECURITY_TOKEN is the older name the CLI still reads.
    let token = var("AWS_SESSION_TOKEN").or_else(|| var("AWS_SECURITY_TOKEN"));
    Ok(Some(Credentials {
        access_key_id: access_key_id.trim().to_owned(),
        secret_access_key: Secret::new(secret.trim().to_owned()),
        session_token: token.map(|t| Secret::new(t.trim().to_owned())),
    }))
}

fn from_section(
    section: &Section,
    profile: &str,
    path: &Path,
) -> Result<Option<Credentials>, CredentialsError> {
    let key_id = get(section, "aws_access_key_id");
    let secret = get(section, "aws_secret_access_key");
    let partial = |present, missing| CredentialsError::PartialProfile {
        profile: profile.to_owned(),
        path: path.to_owned(),
        present,
        missing,
    };
    match (key_id, secret) {
        (None, None) => Ok(None),
        (Some(_), None) => Err(partial("aws_access_key_id", "aws_secret_access_key")),
        (None, Some(_)) => Err(partial("aws_secret_access_key", "aws_access_key_id")),
        (Some(key_id), Some(secret)) => {
            let token =
                get(section, "aws_session_token").or_else(|| get(section, "aws_security_token"));
            Ok(Some(Credentials {
                access_key_id: key_id.to_owned(),
                secret_access_key: Secret::new(secret.to_owned()),
                session_token: token.map(|t| Secret::new(t.to_owned())),
            }))
        }
    }
}

fn unsupported(profile: &str, path: &Path, key: &str) -> CredentialsError {
    CredentialsError::Unsupported {
        profile: profile.to_owned(),
        path: path.to_owned(),
        key: key.to_owned(),
    }
}

fn credentials_path(var: &impl Fn(&str) -> Option<String>, home: Option<&Path>) -> Option<PathBuf> {
    file_path(var("AWS_SHARED_CREDENTIALS_FILE"), home, "credentials")
}

fn config_path(var: &impl Fn(&str) -> Option<String>, home: Option<&Path>) -> Option<PathBuf> {
    file_path(var("AWS_CONFIG_FILE"), home, "config")
}

/// The file a variable names (`~/` meaning the home directory), else `~/.aws/<file>`.
fn file_path(named: Option<String>, home: Option<&Path>, file: &str) -> Option<PathBuf> {
    match (named, home) {
        (Some(named), Some(home)) => Some(match named.strip_prefix("~/") {
            Some(rest) => home.join(rest),
            None => PathBuf::from(named),
        }),
        (Some(named), None) => Some(PathBuf::from(named)),
        (None, Some(home)) => Some(home.join(".aws").join(file)),
        (None, None) => None,
    }
}

/// The file's text; `None` when it does not exist.
fn read(path: &Path) -> Result<Option<String>, CredentialsError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(CredentialsError::Unreadable {
            path: path.to_owned(),
            reason: e.to_string(),
        }),
    }
}

/// One INI section's `key = value` pairs, keys lowercased, in file order.
type Section = Vec<(String, String)>;

/// The last value of `key` (a later line overrides an earlier one); empty counts as unset.
fn get<'a>(section: &'a Section, key: &str) -> Option<&'a str> {
    section
        .iter()
        .rev()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

/// A profile in the config file: `[profile NAME]`, or `[default]` for the default one.
fn config_section(text: &str, profile: &str) -> Option<Section> {
    section(text, |header| {
        let mut words = header.split_whitespace();
        match (words.next(), words.next(), words.next()) {
            (Some("profile"), Some(name), None) => name == profile,
            (Some("default"), None, None) => profile == "default",
            _ => false,
        }
    })
}

/// The pairs of every section whose header `wanted` accepts, merged; `None` if there is none.
///
/// INI as the AWS CLI reads it: `#` and `;` start comment lines (and comments after a value,
/// when preceded by whitespace); lines indented deeper than the key before them continue
/// its value (nested settings such as `s3 =`) and are skipped; key names are case-insensitive.
fn section(text: &str, wanted: impl Fn(&str) -> bool) -> Option<Section> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut found: Option<Section> = None;
    let mut inside = false;
    // Indentation of the last key line: lines indented deeper continue its value.
    let mut key_indent: Option<usize> = None;
    for raw in text.lines() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(header) = line.strip_prefix('[') {
            inside = match header.split_once(']') {
                Some((name, _)) => wanted(name.trim()),
                None => false,
            };
            if inside && found.is_none() {
                found = Some(Vec::new());
            }
            key_indent = None;
            continue;
        }
        let indent = raw.len() - raw.trim_start().len();
        if key_indent.is_some_and(|key| indent > key) {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        key_indent = Some(indent);
        if let Some(pairs) = found.as_mut().filter(|_| inside) {
            pairs.push((
                key.trim().to_ascii_lowercase(),
                strip_comment(value).trim().to_owned(),
            ));
        }
    }
    found
}

/// A value without a trailing ` # comment` or ` ; comment`.
fn strip_comment(value: &str) -> &str {
    let bytes = value.as_bytes();
    for (i, pair) in bytes.windows(2).enumerate() {
        if pair[0].is_ascii_whitespace() && matches!(pair[1], b'#' | b';') {
            return &value[..i];
        }
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    // Example keys from the AWS documentation.
    const KEY_ID: &str = "AKIAIOSFODNN7EXAMPLE";
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name: &str| map.get(name).cloned()
    }

    fn home_with(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(".aws")).unwrap();
        for (name, text) in files {
            std::fs::write(dir.path().join(".aws").join(name), text).unwrap();
        }
        dir
    }

    fn keys(id: &str, secret: &str, token: Option<&str>) -> Credentials {
        Credentials {
            access_key_id: id.into(),
            secret_access_key: Secret::new(secret.into()),
            session_token: token.map(|t| Secret::new(t.into())),
        }
    }

    const CREDENTIALS: &str = "\
# written by `aws configure`
[default]
  aws_access_key_id = AKIDDEFAULT
  aws_secret_access_key = secret/default+key

; a second profile, oddly spaced
  [ work ]
AWS_ACCESS_KEY_ID=AKIDWORK   # the work account
aws_secret_access_key =secret-work ; rotated in May
aws_session_token=token-work
s3 =
  max_concurrent_requests = 10
";

    #[test]
    fn environment_variables_come_first_even_with_aws_profile_set() {
        let home = home_with(&[("credentials", CREDENTIALS)]);
        let vars = env(&[
            ("AWS_ACCESS_KEY_ID", KEY_ID),
            ("AWS_SECRET_ACCESS_KEY", SECRET),
            ("AWS_SESSION_TOKEN", "tok"),
            ("AWS_PROFILE", "work"),
        ]);
        assert_eq!(
            resolve(None, &vars, Some(home.path())).unwrap(),
            keys(KEY_ID, SECRET, Some("tok"))
        );
    }

    #[test]
    fn an_explicit_profile_beats_the_environment() {
        let home = home_with(&[("credentials", CREDENTIALS)]);
        let vars = env(&[
            ("AWS_ACCESS_KEY_ID", KEY_ID),
            ("AWS_SECRET_ACCESS_KEY", SECRET),
        ]);
        assert_eq!(
            resolve(Some("work"), &vars, Some(home.path())).unwrap(),
            keys("AKIDWORK", "secret-work", Some("token-work"))
        );
    }

    #[test]
    fn legacy_security_token_variable_is_read() {
        let vars = env(&[
            ("AWS_ACCESS_KEY_ID", KEY_ID),
            ("AWS_SECRET_ACCESS_KEY", SECRET),
            ("AWS_SECURITY_TOKEN", "old-style"),
        ]);
        assert_eq!(
            resolve(None, &vars, None).unwrap().session_token,
            Some(Secret::new("old-style".into()))
        );
    }

    #[test]
    fn key_id_without_secret_in_the_environment_is_an_error_without_the_value() {
        let err = resolve(None, &env(&[("AWS_ACCESS_KEY_ID", KEY_ID)]), None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not: set both, or unset AWS_ACCESS_KEY_ID to use ~/.aws/credentials"
        );
    }

    #[test]
    fn default_profile_of_the_credentials_file() {
        let home = home_with(&[("credentials", CREDENTIALS)]);
        assert_eq!(
            resolve(None, &env(&[]), Some(home.path())).unwrap(),
            keys("AKIDDEFAULT", "secret/default+key", None)
        );
    }

    #[test]
    fn aws_profile_picks_the_section_with_comments_case_and_nested_values_handled() {
        let home = home_with(&[("credentials", CREDENTIALS)]);
        assert_eq!(
            resolve(None, &env(&[("AWS_PROFILE", "work")]), Some(home.path())).unwrap(),
            keys("AKIDWORK", "secret-work", Some("token-work"))
        );
    }

    #[test]
    fn aws_shared_credentials_file_names_another_file_with_tilde_expanded() {
        let home = home_with(&[]);
        std::fs::write(
            home.path().join("creds.ini"),
            "[default]\naws_access_key_id=AKIDOTHER\naws_secret_access_key=other\n",
        )
        .unwrap();
        let vars = env(&[("AWS_SHARED_CREDENTIALS_FILE", "~/creds.ini")]);
        assert_eq!(
            resolve(None, &vars, Some(home.path()))
                .unwrap()
                .access_key_id,
            "AKIDOTHER"
        );
    }

    const CONFIG: &str = "\
[default]
region = eu-west-1

[profile cfg]
region = us-west-2
aws_access_key_id = AKIDCONFIG
aws_secret_access_key = secret-config

[cfg]
aws_access_key_id = AKIDIGNORED
aws_secret_access_key = ignored

[profile sso]
sso_session = my-sso
sso_account_id = 111122223333

[profile proc]
credential_process = /usr/local/bin/get-creds
";

    #[test]
    fn config_file_profiles_are_profile_name_sections() {
        let home = home_with(&[("config", CONFIG)]);
        assert_eq!(
            resolve(Some("cfg"), &env(&[]), Some(home.path())).unwrap(),
            keys("AKIDCONFIG", "secret-config", None),
            "`[cfg]` without `profile` is not a profile in the config file"
        );
    }

    #[test]
    fn the_credentials_file_beats_the_config_file() {
        let home = home_with(&[
            (
                "credentials",
                "[cfg]\naws_access_key_id=AKIDFILE\naws_secret_access_key=s\n",
            ),
            ("config", CONFIG),
        ]);
        assert_eq!(
            resolve(Some("cfg"), &env(&[]), Some(home.path()))
                .unwrap()
                .access_key_id,
            "AKIDFILE"
        );
    }

    #[test]
    fn aws_config_file_names_another_config() {
        let home = home_with(&[]);
        let path = home.path().join("my-config");
        std::fs::write(&path, CONFIG).unwrap();
        let vars = env(&[
            ("AWS_CONFIG_FILE", path.to_str().unwrap()),
            ("AWS_PROFILE", "cfg"),
        ]);
        assert_eq!(
            resolve(None, &vars, Some(home.path()))
                .unwrap()
                .access_key_id,
            "AKIDCONFIG"
        );
        assert_eq!(
            region(&vars, Some(home.path()), None).as_deref(),
            Some("us-west-2")
        );
    }

    #[test]
    fn sso_and_process_profiles_are_reported_with_a_way_out() {
        let home = home_with(&[("config", CONFIG)]);
        let err = resolve(Some("sso"), &env(&[]), Some(home.path())).unwrap_err();
        assert!(
            matches!(&err, CredentialsError::Unsupported { key, .. } if key == "sso_session"),
            "{err:?}"
        );
        assert!(
            err.to_string()
                .contains("aws configure export-credentials --profile sso --format env"),
            "{err}"
        );
        let err = resolve(Some("proc"), &env(&[]), Some(home.path())).unwrap_err();
        assert!(
            matches!(&err, CredentialsError::Unsupported { key, .. } if key == "credential_process"),
            "{err:?}"
        );
    }

    #[test]
    fn nothing_anywhere_says_what_to_do() {
        let home = home_with(&[]);
        let err = resolve(None, &env(&[]), Some(home.path())).unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or add a [default] profile"), "{text}");
        assert!(text.contains("bgw keys add bedrock"), "{text}");
        assert!(
            text.contains(&home.path().join(".aws/credentials").display().to_string()),
            "{text}"
        );
        assert_eq!(
            resolve(None, &env(&[]), None).unwrap_err().to_string(),
            "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or add a [default] profile with aws_access_key_id and aws_secret_access_key to ~/.aws/credentials, or store a Bedrock API key with `bgw keys add bedrock --value …` (looked in: no file: the home directory is unknown)"
        );
    }

    #[test]
    fn a_named_profile_that_does_not_exist_is_not_replaced_by_another() {
        let home = home_with(&[("credentials", CREDENTIALS)]);
        let vars = env(&[
            ("AWS_ACCESS_KEY_ID", KEY_ID),
            ("AWS_SECRET_ACCESS_KEY", SECRET),
        ]);
        let err = resolve(Some("nope"), &vars, Some(home.path())).unwrap_err();
        assert!(
            matches!(&err, CredentialsError::ProfileNotFound { profile, .. } if profile == "nope"),
            "{err:?}"
        );
        let err = resolve(None, &env(&[("AWS_PROFILE", "nope")]), Some(home.path())).unwrap_err();
        assert!(
            matches!(err, CredentialsError::ProfileNotFound { .. }),
            "{err:?}"
        );
    }

    #[test]
    fn a_profile_without_keys_or_with_half_of_them_is_an_error_without_secrets() {
        let home = home_with(&[
            (
                "credentials",
                "[half]\naws_secret_access_key = s3cr3t-value\n",
            ),
            ("config", CONFIG),
        ]);
        let err = resolve(Some("half"), &env(&[]), Some(home.path())).unwrap_err();
        assert!(
            matches!(
                &err,
                CredentialsError::PartialProfile {
                    missing: "aws_access_key_id",
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(!err.to_string().contains("s3cr3t"), "{err}");
        // `[default]` in the config holds only a region.
        let err = resolve(None, &env(&[]), Some(home.path())).unwrap_err();
        assert!(matches!(err, CredentialsError::NoKeys { .. }), "{err:?}");
    }

    #[test]
    fn an_unreadable_file_is_reported() {
        let home = home_with(&[]);
        std::fs::create_dir(home.path().join(".aws/credentials")).unwrap();
        let err = resolve(None, &env(&[]), Some(home.path())).unwrap_err();
        assert!(
            matches!(err, CredentialsError::Unreadable { .. }),
            "{err:?}"
        );
        assert!(err.to_string().starts_with("could not read "), "{err}");
    }

    #[test]
    fn files_are_read_on_every_call() {
        let home = home_with(&[("credentials", CREDENTIALS)]);
        assert_eq!(
            resolve(None, &env(&[]), Some(home.path()))
                .unwrap()
                .access_key_id,
            "AKIDDEFAULT"
        );
        std::fs::write(
            home.path().join(".aws/credentials"),
            "[default]\naws_access_key_id=AKIDROTATED\naws_secret_access_key=new\n",
        )
        .unwrap();
        assert_eq!(
            resolve(None, &env(&[]), Some(home.path()))
                .unwrap()
                .access_key_id,
            "AKIDROTATED"
        );
    }

    #[test]
    fn region_from_the_environment_then_the_config_profile() {
        let home = home_with(&[("config", CONFIG)]);
        let h = Some(home.path());
        let both = env(&[
            ("AWS_REGION", "ap-south-1"),
            ("AWS_DEFAULT_REGION", "us-east-2"),
        ]);
        assert_eq!(region(&both, h, Some("cfg")).as_deref(), Some("ap-south-1"));
        let default_only = env(&[("AWS_DEFAULT_REGION", "us-east-2")]);
        assert_eq!(region(&default_only, h, None).as_deref(), Some("us-east-2"));
        assert_eq!(region(&env(&[]), h, None).as_deref(), Some("eu-west-1"));
        assert_eq!(
            region(&env(&[]), h, Some("cfg")).as_deref(),
            Some("us-west-2")
        );
        let profile = env(&[("AWS_PROFILE", "cfg")]);
        assert_eq!(region(&profile, h, None).as_deref(), Some("us-west-2"));
        assert_eq!(region(&env(&[]), h, Some("sso")), None);
        assert_eq!(region(&env(&[]), None, None), None);
    }
}
