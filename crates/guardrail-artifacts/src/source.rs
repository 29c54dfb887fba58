//! Strict parsing of model data URLs. Everything a URL can get wrong is caught here, before any
//! transfer, so `CreateModel` can refuse a URL that could never work with a precise message.

use object_store::path::Path as StorePath;
use sha2::{Digest, Sha256};

use crate::{ArtifactError, ModelSource};

/// What to fetch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Archive,
    Prefix,
    Object,
}

/// Where it lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Location {
    /// `key` is a valid object_store path; for a prefix it has no trailing `/` and may be empty
    /// (the whole bucket).
    S3 { bucket: String, key: String },
    /// `https://…`, or `http://` to a loopback address.
    Http { url: reqwest::Url },
}

/// A checked [`ModelSource`].
#[derive(Clone, Debug)]
pub(crate) struct Parsed {
    pub(crate) kind: Kind,
    pub(crate) location: Location,
    /// The URL as given (for messages).
    pub(crate) url: String,
}

impl Parsed {
    pub(crate) fn new(source: &ModelSource) -> Result<Self, ArtifactError> {
        let (kind, url) = match source {
            ModelSource::Archive { url } => (Kind::Archive, url),
            ModelSource::Prefix { url } => (Kind::Prefix, url),
            ModelSource::Object { url } => (Kind::Object, url),
        };
        let invalid = |reason: &str| ArtifactError::InvalidUrl {
            url: url.clone(),
            reason: reason.to_owned(),
        };
        if url.is_empty() {
            return Err(invalid("the URL is empty"));
        }
        // Spaces are legal in S3 keys (an https URL gets them percent-encoded); control
        // characters are legal nowhere.
        if url.chars().any(char::is_control) {
            return Err(invalid("the URL contains control characters"));
        }
        let location = if let Some(rest) = url.strip_prefix("s3://") {
            parse_s3(kind, rest).map_err(|r| invalid(&r))?
        } else if url.starts_with("https://") || url.starts_with("http://") {
            if kind != Kind::Archive {
                return Err(invalid(
                    "only s3:// URLs are supported for S3Prefix sources and uncompressed S3Object sources",
                ));
            }
            parse_http(url).map_err(|r| invalid(&r))?
        } else {
            return Err(invalid(
                "unsupported URL: model data must be an s3://bucket/key URL (or an https:// URL for a model.tar.gz)",
            ));
        };
        Ok(Self {
            kind,
            location,
            url: url.clone(),
        })
    }

    /// One spelling per distinct source (`s3://b/p` and `s3://b/p/` are the same prefix).
    pub(crate) fn canonical(&self) -> String {
        let kind = match self.kind {
            Kind::Archive => "archive",
            Kind::Prefix => "prefix",
            Kind::Object => "object",
        };
        match &self.location {
            Location::S3 { bucket, key } => format!("{kind} s3://{bucket}/{key}"),
            Location::Http { url } => format!("{kind} {url}"),
        }
    }

    /// The cache directory name: sha256 (hex) of [`Self::canonical`].
    pub(crate) fn cache_key(&self) -> String {
        let digest = Sha256::digest(self.canonical().as_bytes());
        hex(&digest)
    }

    /// Who is (not) reachable, for messages: `bucket "x"` or `host "h"`.
    pub(crate) fn target(&self) -> String {
        match &self.location {
            Location::S3 { bucket, .. } => format!("bucket \"{bucket}\""),
            Location::Http { url } => format!("host \"{}\"", url.host_str().unwrap_or_default()),
        }
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

fn parse_s3(kind: Kind, rest: &str) -> Result<Location, String> {
    let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return Err("the bucket name is empty (expected s3://bucket/key)".into());
    }
    if bucket.len() > 255
        || !bucket
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
    {
        return Err(format!("\"{bucket}\" is not a valid bucket name"));
    }
    let key = match kind {
        Kind::Archive | Kind::Object => {
            if key.is_empty() {
                return Err("the object key is empty (expected s3://bucket/key)".into());
            }
            if key.ends_with('/') {
                return Err(
                    "the object key ends with \"/\": that names a prefix, not an object".into(),
                );
            }
            key
        }
        Kind::Prefix => key.strip_suffix('/').unwrap_or(key),
    };
    if !key.is_empty() {
        check_key(key)?;
    }
    Ok(Location::S3 {
        bucket: bucket.to_owned(),
        key: key.to_owned(),
    })
}

/// The key must be a plain `a/b/c` path: no empty, `.` or `..` segments (S3 would accept them,
/// but they cannot be mapped onto files safely, and object_store rejects them too).
fn check_key(key: &str) -> Result<(), String> {
    for segment in key.split('/') {
        match segment {
            "" => {
                return Err(format!(
                    "the key \"{key}\" has an empty path segment (\"//\" or a leading \"/\")"
                ))
            }
            "." | ".." => {
                return Err(format!(
                    "the key \"{key}\" has a \"{segment}\" path segment"
                ))
            }
            _ => {}
        }
    }
    StorePath::parse(key).map_err(|e| format!("the key \"{key}\" is not usable: {e}"))?;
    Ok(())
}

fn parse_http(raw: &str) -> Result<Location, String> {
    let url = reqwest::Url::parse(raw).map_err(|e| format!("not a valid URL: {e}"))?;
    let Some(host) = url.host_str().filter(|h| !h.is_empty()) else {
        return Err("the URL has no host".into());
    };
    if !url.username().is_empty() || url.password().is_some() {
        return Err("the URL must not carry a user name or password".into());
    }
    if url.scheme() == "http" {
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let loopback = bare.eq_ignore_ascii_case("localhost")
            || bare
                .parse::<std::net::IpAddr>()
                .is_ok_and(|a| a.is_loopback());
        if !loopback {
            return Err("plain http:// is only allowed to a loopback address; use https://".into());
        }
    }
    if url.path().is_empty() || url.path() == "/" {
        return Err("the URL names no file (expected https://host/path/model.tar.gz)".into());
    }
    Ok(Location::Http { url })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn archive(url: &str) -> Result<Parsed, ArtifactError> {
        Parsed::new(&ModelSource::Archive { url: url.into() })
    }
    fn prefix(url: &str) -> Result<Parsed, ArtifactError> {
        Parsed::new(&ModelSource::Prefix { url: url.into() })
    }
    fn object(url: &str) -> Result<Parsed, ArtifactError> {
        Parsed::new(&ModelSource::Object { url: url.into() })
    }
    fn s3(p: &Parsed) -> (&str, &str) {
        match &p.location {
            Location::S3 { bucket, key } => (bucket, key),
            Location::Http { .. } => panic!("not s3"),
        }
    }
    fn err(r: Result<Parsed, ArtifactError>) -> String {
        match r {
            Err(e @ ArtifactError::InvalidUrl { .. }) => e.to_string(),
            other => panic!("expected InvalidUrl, got {other:?}"),
        }
    }

    #[test]
    fn s3_urls() {
        assert_eq!(
            s3(&archive("s3://b/k/model.tar.gz").unwrap()),
            ("b", "k/model.tar.gz")
        );
        assert_eq!(
            s3(&object("s3://my-bucket/x.bin").unwrap()),
            ("my-bucket", "x.bin")
        );
        assert_eq!(s3(&prefix("s3://b/p/q/").unwrap()), ("b", "p/q"));
        assert_eq!(s3(&prefix("s3://b/p/q").unwrap()), ("b", "p/q"));
        assert_eq!(s3(&prefix("s3://b/").unwrap()), ("b", ""));
        assert_eq!(s3(&prefix("s3://b").unwrap()), ("b", ""));
        // Same prefix, same cache entry; different kinds, different entries.
        assert_eq!(
            prefix("s3://b/p/").unwrap().cache_key(),
            prefix("s3://b/p").unwrap().cache_key()
        );
        assert_ne!(
            object("s3://b/p").unwrap().cache_key(),
            archive("s3://b/p").unwrap().cache_key()
        );
        assert_eq!(archive("s3://b/k").unwrap().cache_key().len(), 64);
    }

    #[test]
    fn bad_s3_urls() {
        assert!(err(archive("s3:///k")).contains("bucket name is empty"));
        assert!(err(archive("s3://b")).contains("object key is empty"));
        assert!(err(archive("s3://b/")).contains("object key is empty"));
        assert!(err(object("s3://b/dir/")).contains("names a prefix"));
        assert!(err(archive("s3://b/a/../x.tar.gz")).contains("\"..\" path segment"));
        assert!(err(prefix("s3://b/a//x/")).contains("empty path segment"));
        assert!(err(archive("s3://b/./x")).contains("\".\" path segment"));
        assert!(err(archive("s3://bu cket/x")).contains("not a valid bucket name"));
        assert_eq!(
            s3(&archive("s3://b/my model 100%.tar.gz").unwrap()),
            ("b", "my model 100%.tar.gz")
        );
        assert!(err(archive("s3://b/a\tb")).contains("control"));
        assert!(err(archive("s3://b\u{7f}/x")).contains("control"));
        assert!(err(archive("s3://b!x/k")).contains("not a valid bucket name"));
        let e = err(archive("gs://b/k"));
        assert!(e.starts_with("model data gs://b/k: unsupported URL"), "{e}");
        assert!(err(archive("")).contains("empty"));
        assert!(err(archive("S3://b/k")).contains("unsupported"));
        assert!(err(archive("file:///etc/passwd")).contains("unsupported"));
    }

    #[test]
    fn http_urls() {
        assert!(archive("https://example.com/m/model.tar.gz").is_ok());
        assert!(archive("http://127.0.0.1:8000/model.tar.gz").is_ok());
        assert!(archive("http://localhost/model.tar.gz").is_ok());
        assert!(archive("http://[::1]:9/model.tar.gz").is_ok());
        assert!(err(archive("http://example.com/model.tar.gz")).contains("loopback"));
        assert!(err(archive("https://u:p@example.com/model.tar.gz")).contains("password"));
        assert!(err(archive("https://example.com/")).contains("names no file"));
        assert!(err(archive("https://")).contains("not a valid URL"));
        assert!(err(prefix("https://example.com/p/")).contains("only s3://"));
        assert!(err(object("https://example.com/x.bin")).contains("only s3://"));
    }
}
