//! Keys from the shared AWS files (`~/.aws/credentials`, `~/.aws/config`), which
//! `AmazonS3Builder::from_env` does not read. Only static keys of one profile are supported
//! (no `credential_process`, SSO or role chaining); the format is simple enough that a
//! dependency would be bigger than the parser.

use std::path::PathBuf;

use crate::S3Credentials;

/// The keys of the selected profile (`AWS_PROFILE`, else `default`): the credentials file
/// (`AWS_SHARED_CREDENTIALS_FILE`, else `~/.aws/credentials`) first, then the config file
/// (`AWS_CONFIG_FILE`, else `~/.aws/config`), as the AWS CLI reads them. `env` is the process
/// environment in production (a parameter so tests need not touch it).
pub(crate) fn from_shared_files(env: &dyn Fn(&str) -> Option<String>) -> Option<S3Credentials> {
    let var = |k: &str| env(k).filter(|v| !v.is_empty());
    let profile = var("AWS_PROFILE").unwrap_or_else(|| "default".to_owned());
    let home = var("HOME").map(PathBuf::from);
    let in_home = |rel: &str| home.as_ref().map(|h| h.join(rel));

    let credentials_file = var("AWS_SHARED_CREDENTIALS_FILE")
        .map(PathBuf::from)
        .or_else(|| in_home(".aws/credentials"));
    if let Some(text) = credentials_file.and_then(|p| std::fs::read_to_string(p).ok()) {
        if let Some(c) = parse_profile(&text, &profile) {
            return Some(c);
        }
    }
    let config_file = var("AWS_CONFIG_FILE")
        .map(PathBuf::from)
        .or_else(|| in_home(".aws/config"));
    let text = config_file.and_then(|p| std::fs::read_to_string(p).ok())?;
    // The config file names sections `[profile x]`, except `[default]`.
    let section = if profile == "default" {
        profile
    } else {
        format!("profile {profile}")
    };
    parse_profile(&text, &section)
}

/// The static keys in section `[section]` of an AWS INI file, if it has both halves.
pub(crate) fn parse_profile(text: &str, section: &str) -> Option<S3Credentials> {
    let mut in_section = false;
    let (mut key_id, mut secret, mut token) = (None, None, None);
    for line in text.lines() {
        // Indented lines continue a nested setting (`s3 =` …); they never hold keys.
        if line.starts_with([' ', '\t']) {
            continue;
        }
        let line = line.trim();
        if line.is_empty() || line.starts_with(['#', ';']) {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            in_section = name.split_whitespace().collect::<Vec<_>>().join(" ") == section;
            continue;
        }
        if !in_section {
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        let v = v.trim().to_owned();
        match k.trim().to_ascii_lowercase().as_str() {
            "aws_access_key_id" => key_id = Some(v),
            "aws_secret_access_key" => secret = Some(v),
            "aws_session_token" => token = Some(v),
            _ => {}
        }
    }
    match (key_id, secret) {
        (Some(access_key_id), Some(secret_access_key))
            if !access_key_id.is_empty() && !secret_access_key.is_empty() =>
        {
            Some(S3Credentials {
                access_key_id,
                secret_access_key,
                session_token: token.filter(|t| !t.is_empty()),
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const FILE: &str = "\
# comment
[default]
aws_access_key_id = AKIDDEFAULT
aws_secret_access_key=secretdefault

[work]
aws_access_key_id = AKIDWORK
s3 =
  aws_access_key_id = NESTED
aws_secret_access_key = secretwork
aws_session_token = tok
; trailing comment
[half]
aws_access_key_id = ONLYID
";

    #[test]
    fn parses_profiles() {
        let d = parse_profile(FILE, "default").unwrap();
        assert_eq!(
            (d.access_key_id.as_str(), d.secret_access_key.as_str()),
            ("AKIDDEFAULT", "secretdefault")
        );
        assert_eq!(d.session_token, None);
        let w = parse_profile(FILE, "work").unwrap();
        assert_eq!(w.access_key_id, "AKIDWORK");
        assert_eq!(w.session_token.as_deref(), Some("tok"));
        assert!(parse_profile(FILE, "half").is_none());
        assert!(parse_profile(FILE, "missing").is_none());
    }

    #[test]
    fn files_and_profiles_from_env() {
        let dir = tempfile::tempdir().unwrap();
        let creds = dir.path().join("creds");
        let config = dir.path().join("config");
        std::fs::write(&creds, FILE).unwrap();
        std::fs::write(
            &config,
            "[profile other]\naws_access_key_id = CFG\naws_secret_access_key = s\n",
        )
        .unwrap();
        let vars: HashMap<&str, String> = HashMap::from([
            ("AWS_SHARED_CREDENTIALS_FILE", creds.display().to_string()),
            ("AWS_CONFIG_FILE", config.display().to_string()),
        ]);
        let env = |profile: Option<&str>| {
            let mut v = vars.clone();
            if let Some(p) = profile {
                v.insert("AWS_PROFILE", p.to_owned());
            }
            move |k: &str| v.get(k).cloned()
        };
        assert_eq!(
            from_shared_files(&env(None)).unwrap().access_key_id,
            "AKIDDEFAULT"
        );
        assert_eq!(
            from_shared_files(&env(Some("work"))).unwrap().access_key_id,
            "AKIDWORK"
        );
        assert_eq!(
            from_shared_files(&env(Some("other")))
                .unwrap()
                .access_key_id,
            "CFG"
        );
        assert!(from_shared_files(&env(Some("nope"))).is_none());
        // HOME fallback.
        std::fs::create_dir(dir.path().join(".aws")).unwrap();
        std::fs::write(dir.path().join(".aws/credentials"), FILE).unwrap();
        let home = dir.path().display().to_string();
        let env = move |k: &str| (k == "HOME").then(|| home.clone());
        assert_eq!(
            from_shared_files(&env).unwrap().access_key_id,
            "AKIDDEFAULT"
        );
    }
}
