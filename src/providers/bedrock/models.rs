//! Bedrock's model ids for the names users write: `claude-sonnet-4-5` is
//! `us.anthropic.claude-sonnet-4-5-20250929-v1:0` from a US region. Claude models from the 4
//! generation on are served through cross-region inference profiles only, so a bare name gets
//! the profile of the key's region's geography (`us.`, `eu.`, `apac.`, else `global.`); a name
//! with a profile prefix keeps it (`global.claude-sonnet-4-6`), and a full id (or an ARN)
//! passes unchanged.
//! Ids: https://docs.aws.amazon.com/bedrock/latest/userguide/models-supported.html and
//! https://docs.aws.amazon.com/bedrock/latest/userguide/inference-profiles-support.html

/// Inference-profile prefixes Bedrock defines.
const PROFILES: &[&str] = &["global", "us", "eu", "apac", "jp", "au", "ca", "us-gov"];

/// Claude models whose Bedrock ids carry a date and a version.
const DATED: &[(&str, &str)] = &[
    ("claude-opus-4-5", "claude-opus-4-5-20251101-v1:0"),
    ("claude-sonnet-4-5", "claude-sonnet-4-5-20250929-v1:0"),
    ("claude-haiku-4-5", "claude-haiku-4-5-20251001-v1:0"),
    ("claude-opus-4-1", "claude-opus-4-1-20250805-v1:0"),
    ("claude-opus-4", "claude-opus-4-20250514-v1:0"),
    ("claude-sonnet-4", "claude-sonnet-4-20250514-v1:0"),
    ("claude-3-7-sonnet", "claude-3-7-sonnet-20250219-v1:0"),
    ("claude-3-5-haiku", "claude-3-5-haiku-20241022-v1:0"),
    // The 4.6 generation dropped the date; Opus 4.6 alone kept a version suffix.
    ("claude-opus-4-6", "claude-opus-4-6-v1"),
];

/// Claude models are Anthropic's on Bedrock (`anthropic.…`, with or without a profile).
pub fn is_claude(model: &str) -> bool {
    let bare = strip_profile(model).0;
    bare.starts_with("claude") || bare.starts_with("anthropic.")
}

/// The Bedrock model id for `model` as written, from a key in `region`.
pub fn model_id(model: &str, region: &str) -> String {
    if model.starts_with("arn:") || !is_claude(model) {
        return model.to_owned();
    }
    let (bare, profile) = strip_profile(model);
    if bare.starts_with("anthropic.") {
        return model.to_owned();
    }
    let name = strip_date(bare);
    let id = DATED
        .iter()
        .find(|(n, _)| *n == name)
        .map_or_else(|| name.to_owned(), |(_, id)| (*id).to_owned());
    let profile = profile.unwrap_or_else(|| geography(region));
    format!("{profile}.anthropic.{id}")
}

/// The name a catalog knows a Claude model by
/// (`us.anthropic.claude-sonnet-4-5-20250929-v1:0` → `claude-sonnet-4-5`).
pub fn canonical(model: &str) -> &str {
    let bare = strip_profile(model).0;
    let bare = bare.strip_prefix("anthropic.").unwrap_or(bare);
    let bare = bare.split(':').next().unwrap_or(bare);
    let bare = match bare.rsplit_once('-') {
        Some((name, v))
            if v.len() >= 2 && v.starts_with('v') && v[1..].bytes().all(|b| b.is_ascii_digit()) =>
        {
            name
        }
        _ => bare,
    };
    strip_date(bare)
}

/// The inference profile of a region's geography.
fn geography(region: &str) -> &'static str {
    if region.starts_with("us-gov-") {
        "us-gov"
    } else if region.starts_with("us-") {
        "us"
    } else if region.starts_with("eu-") {
        "eu"
    } else if region.starts_with("ap-") {
        "apac"
    } else {
        "global"
    }
}

fn strip_profile(model: &str) -> (&str, Option<&str>) {
    match model.split_once('.') {
        Some((p, rest)) if PROFILES.contains(&p) => {
            (rest, PROFILES.iter().copied().find(|x| *x == p))
        }
        _ => (model, None),
    }
}

/// `claude-sonnet-4-5-20250929` → `claude-sonnet-4-5`.
fn strip_date(model: &str) -> &str {
    match model.rsplit_once('-') {
        Some((name, date)) if date.len() == 8 && date.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => model,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_map_to_the_regions_inference_profile() {
        assert_eq!(
            model_id("claude-sonnet-4-5", "us-east-1"),
            "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
        );
        assert_eq!(
            model_id("claude-haiku-4-5", "eu-west-1"),
            "eu.anthropic.claude-haiku-4-5-20251001-v1:0"
        );
        assert_eq!(
            model_id("claude-opus-4-6", "ap-northeast-1"),
            "apac.anthropic.claude-opus-4-6-v1"
        );
        assert_eq!(
            model_id("claude-sonnet-4-6", "sa-east-1"),
            "global.anthropic.claude-sonnet-4-6"
        );
        assert_eq!(
            model_id("claude-sonnet-4-5-20250929", "us-west-2"),
            "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
        );
    }

    #[test]
    fn a_written_profile_is_kept_and_full_ids_pass() {
        assert_eq!(
            model_id("global.claude-sonnet-4-6", "us-east-1"),
            "global.anthropic.claude-sonnet-4-6"
        );
        for id in [
            "global.anthropic.claude-sonnet-4-6",
            "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
            "anthropic.claude-3-5-haiku-20241022-v1:0",
            "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc",
            "amazon.nova-pro-v1:0",
            "us.meta.llama3-3-70b-instruct-v1:0",
        ] {
            assert_eq!(model_id(id, "us-east-1"), id);
        }
    }

    #[test]
    fn claude_is_told_from_other_models() {
        assert!(is_claude("claude-sonnet-4-5"));
        assert!(is_claude("us.anthropic.claude-sonnet-4-5-20250929-v1:0"));
        assert!(!is_claude("amazon.nova-pro-v1:0"));
        assert!(!is_claude("us.amazon.nova-pro-v1:0"));
    }

    #[test]
    fn canonical_names_are_the_catalogs() {
        assert_eq!(
            canonical("us.anthropic.claude-sonnet-4-5-20250929-v1:0"),
            "claude-sonnet-4-5"
        );
        assert_eq!(
            canonical("global.anthropic.claude-opus-4-6-v1"),
            "claude-opus-4-6"
        );
        assert_eq!(canonical("claude-sonnet-4-6"), "claude-sonnet-4-6");
        assert_eq!(canonical("global.claude-sonnet-4-6"), "claude-sonnet-4-6");
    }
}
