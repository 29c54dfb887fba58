//! Registry credentials for pulls, from the usual Docker/Podman auth files: `$REGISTRY_AUTH_FILE`,
//! `$XDG_RUNTIME_DIR/containers/auth.json`, `$DOCKER_CONFIG/config.json`,
//! `~/.docker/config.json` — the first that has an `auths` entry for the image's registry.
//! Credential helpers (`credsStore`) are not run.

use std::path::PathBuf;

use base64::Engine as _;
use bollard::auth::DockerCredentials;

/// Docker Hub's key in auth files.
const DOCKER_HUB: &str = "https://index.docker.io/v1/";

pub(super) fn credentials_for(image: &str) -> Option<DockerCredentials> {
    let registry = registry_of(image);
    auth_files()
        .into_iter()
        .filter_map(|path| std::fs::read_to_string(path).ok())
        .find_map(|text| from_auth_file(&text, &registry))
}

/// The registry host of an image reference (`docker.io` when none is named).
pub(super) fn registry_of(image: &str) -> String {
    match image.split_once('/') {
        Some((first, _)) if first.contains('.') || first.contains(':') || first == "localhost" => {
            first.to_string()
        }
        _ => "docker.io".to_string(),
    }
}

fn auth_files() -> Vec<PathBuf> {
    let env = |k: &str| std::env::var_os(k).map(PathBuf::from);
    let mut files = Vec::new();
    files.extend(env("REGISTRY_AUTH_FILE"));
    files.extend(env("XDG_RUNTIME_DIR").map(|d| d.join("containers/auth.json")));
    files.extend(env("DOCKER_CONFIG").map(|d| d.join("config.json")));
    files.extend(env("HOME").map(|d| d.join(".docker/config.json")));
    files
}

/// The `auths` entry for `registry` (keys may be bare hosts or URLs).
pub(super) fn from_auth_file(text: &str, registry: &str) -> Option<DockerCredentials> {
    let doc: serde_json::Value = serde_json::from_str(text).ok()?;
    let auths = doc.get("auths")?.as_object()?;
    let (key, entry) = auths.iter().find(|(key, _)| {
        let host = key
            .trim_start_matches("https://")
            .trim_start_matches("http://")
            .split('/')
            .next()
            .unwrap_or_default();
        host == registry
            || (registry == "docker.io"
                && (key.as_str() == DOCKER_HUB || host == "index.docker.io"))
    })?;
    let auth = entry.get("auth")?.as_str()?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(auth)
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (user, password) = decoded.split_once(':')?;
    Some(DockerCredentials {
        username: Some(user.to_string()),
        password: Some(password.to_string()),
        serveraddress: Some(key.clone()),
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registries_are_read_from_the_reference() {
        assert_eq!(registry_of("python:3.11"), "docker.io");
        assert_eq!(registry_of("library/python"), "docker.io");
        assert_eq!(registry_of("localhost/guardrail-test/x:1"), "localhost");
        assert_eq!(
            registry_of("registry.example.com/team/model:2"),
            "registry.example.com"
        );
        assert_eq!(registry_of("127.0.0.1:5000/m"), "127.0.0.1:5000");
        assert_eq!(
            registry_of("123456789012.dkr.ecr.us-east-1.amazonaws.com/m:1"),
            "123456789012.dkr.ecr.us-east-1.amazonaws.com"
        );
    }

    #[test]
    fn credentials_come_from_the_matching_auths_entry() {
        let file = r#"{"auths": {
            "registry.example.com": {"auth": "dXNlcjpwYXNz"},
            "https://index.docker.io/v1/": {"auth": "aHViOnNlY3JldA=="}
        }}"#;
        let c = from_auth_file(file, "registry.example.com").unwrap();
        assert_eq!(c.username.as_deref(), Some("user"));
        assert_eq!(c.password.as_deref(), Some("pass"));
        let hub = from_auth_file(file, "docker.io").unwrap();
        assert_eq!(hub.username.as_deref(), Some("hub"));
        assert!(from_auth_file(file, "other.example.com").is_none());
        assert!(from_auth_file("not json", "docker.io").is_none());
    }
}
