//! Errors. Their `Display` becomes an endpoint's `FailureReason`, read by someone who sees
//! nothing else, so every message names the model data URL and says what was wrong with it.

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;

/// Why fetching or extracting model data failed. `Clone`, so callers that waited on one shared
/// fetch all get its error.
#[derive(Clone, Debug, thiserror::Error)]
pub enum ArtifactError {
    /// The URL can never work (bad syntax, unsupported scheme, missing key…).
    #[error("model data {url}: {reason}")]
    InvalidUrl { url: String, reason: String },
    /// The S3 client could not be configured (e.g. a malformed `s3_endpoint_url`).
    #[error("model data {url}: cannot configure S3 access: {reason}")]
    Config { url: String, reason: String },
    /// The object (or, over https, the resource) does not exist.
    #[error("model data {url}: the object does not exist ({code})")]
    NotFound { url: String, code: String },
    /// The bucket does not exist.
    #[error("model data {url}: bucket \"{bucket}\" does not exist (NoSuchBucket)")]
    NoSuchBucket { url: String, bucket: String },
    /// An `S3Prefix` source with nothing under it.
    #[error("model data {url}: there are no objects under this prefix")]
    EmptyPrefix { url: String },
    /// The store refused our credentials or the access.
    #[error("model data {url}: access denied: {detail}")]
    AccessDenied { url: String, detail: String },
    /// No AWS credentials could be found or obtained.
    #[error("model data {url}: no usable AWS credentials (set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, a shared credentials file, or [model_data] credentials): {detail}")]
    Credentials { url: String, detail: String },
    /// The bucket's endpoint or the https host could not be reached.
    #[error("model data {url}: {target} is not reachable: {detail}")]
    Unreachable {
        url: String,
        target: String,
        detail: String,
    },
    /// Any other failure of the transfer (an unexpected status, a broken or stalled stream…).
    #[error("model data {url}: download failed: {detail}")]
    Download { url: String, detail: String },
    /// The bytes are not a gzip-compressed tar archive at all.
    #[error("model data {url}: not a gzip-compressed tar archive: {detail}")]
    NotAnArchive { url: String, detail: String },
    /// A gzip-compressed tar archive that breaks off or is damaged part-way.
    #[error("model data {url}: the archive is corrupt or truncated: {detail}")]
    CorruptArchive { url: String, detail: String },
    /// An archive entry or object key that would write (or point) outside the model directory,
    /// or that is not a plain file, directory or link.
    #[error("model data {url}: {kind} \"{entry}\" {reason}; refusing to extract")]
    UnsafeEntry {
        url: String,
        kind: EntryKind,
        entry: String,
        reason: UnsafeReason,
    },
    /// The extracted model would exceed the configured size limit.
    #[error("model data {url}: the model exceeds the size limit of {} once extracted; refusing to extract", human_bytes(*limit))]
    TooLarge { url: String, limit: u64 },
    /// A local file-system failure while storing the model.
    #[error("model data {url}: local disk error while {action}: {source}")]
    Io {
        url: String,
        action: String,
        source: Arc<io::Error>,
    },
    /// The cache directory itself could not be set up.
    #[error("model artifact cache {}: {action}: {source}", root.display())]
    Cache {
        root: PathBuf,
        action: String,
        source: Arc<io::Error>,
    },
}

/// What an [`ArtifactError::UnsafeEntry`] names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryKind {
    ArchiveEntry,
    ObjectKey,
}

impl fmt::Display for EntryKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EntryKind::ArchiveEntry => "archive entry",
            EntryKind::ObjectKey => "object key",
        })
    }
}

/// Why an entry was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UnsafeReason {
    /// `/etc/x`.
    AbsolutePath,
    /// `../x`, `a/../../x`, or any other `..` component.
    LeavesModelDir,
    /// A symbolic link whose target is absolute.
    SymlinkAbsolute { target: String },
    /// A symbolic link whose target resolves outside the model directory.
    SymlinkEscapes { target: String },
    /// A hard link whose target is absolute or outside the model directory.
    HardlinkEscapes { target: String },
    /// A hard link to something that is not a regular file extracted before it.
    HardlinkTarget { target: String },
    /// The entry's parent is a symbolic link (writing through it could land anywhere).
    ThroughSymlink,
    /// A file where a directory is needed, or the reverse.
    Conflict,
    /// Character/block device, fifo, sparse file or an unknown type.
    UnsupportedType { kind: String },
    /// Not a usable relative name (empty component, `.`, trailing `/` on a file…).
    BadName,
}

impl fmt::Display for UnsafeReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UnsafeReason::AbsolutePath => f.write_str("is an absolute path"),
            UnsafeReason::LeavesModelDir => f.write_str("leaves the model directory"),
            UnsafeReason::SymlinkAbsolute { target } => {
                write!(f, "is a symbolic link to the absolute path \"{target}\"")
            }
            UnsafeReason::SymlinkEscapes { target } => {
                write!(
                    f,
                    "is a symbolic link to \"{target}\", which leaves the model directory"
                )
            }
            UnsafeReason::HardlinkEscapes { target } => {
                write!(
                    f,
                    "is a hard link to \"{target}\", which leaves the model directory"
                )
            }
            UnsafeReason::HardlinkTarget { target } => write!(
                f,
                "is a hard link to \"{target}\", which is not a regular file earlier in the archive"
            ),
            UnsafeReason::ThroughSymlink => f.write_str("lies under a symbolic link"),
            UnsafeReason::Conflict => {
                f.write_str("clashes with an earlier entry (file vs directory)")
            }
            UnsafeReason::UnsupportedType { kind } => {
                write!(f, "is a {kind}, which a model may not contain")
            }
            UnsafeReason::BadName => f.write_str("is not a usable relative file name"),
        }
    }
}

/// `1.5 GiB`-style sizes for messages.
pub(crate) fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["bytes", "KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} bytes");
    }
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if v.fract() == 0.0 {
        format!("{v:.0} {}", UNITS[unit])
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_sizes() {
        assert_eq!(human_bytes(10), "10 bytes");
        assert_eq!(human_bytes(1024), "1 KiB");
        assert_eq!(human_bytes(100 << 30), "100 GiB");
        assert_eq!(human_bytes(1536 << 20), "1.5 GiB");
    }

    #[test]
    fn messages_name_the_url() {
        let e = ArtifactError::UnsafeEntry {
            url: "s3://b/k/model.tar.gz".into(),
            kind: EntryKind::ArchiveEntry,
            entry: "../evil".into(),
            reason: UnsafeReason::LeavesModelDir,
        };
        assert_eq!(
            e.to_string(),
            "model data s3://b/k/model.tar.gz: archive entry \"../evil\" leaves the model directory; refusing to extract"
        );
        let e = ArtifactError::NotFound {
            url: "s3://b/k/model.tar.gz".into(),
            code: "NoSuchKey".into(),
        };
        assert_eq!(
            e.to_string(),
            "model data s3://b/k/model.tar.gz: the object does not exist (NoSuchKey)"
        );
    }
}
