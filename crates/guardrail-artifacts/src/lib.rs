//! `guardrail-artifacts`: a Model's artifacts (`ModelDataUrl`, or `ModelDataSource.S3DataSource`)
//! fetched once, checked and extracted into Guardrail's data dir, so every instance of the model
//! gets the same read-only directory (mounted at `/opt/ml/model` in containers, `SM_MODEL_DIR`
//! for processes).
//!
//! Why a crate of its own: model data is untrusted input (an archive anyone with `CreateModel`
//! names) that is unpacked on the host, and multi-GB downloads must neither sit in memory nor
//! leave half-written directories that later look complete. Everything that touches the network
//! or the file system for model data lives here, behind [`ArtifactCache`]. It depends on no other
//! Guardrail crate; the controller calls [`ArtifactCache::check`] at `CreateModel` time and
//! [`ArtifactCache::prepare`] before launching instances.
//!
//! Modules: `source` (strict URL parsing), `credentials` (the shared AWS credentials file),
//! `fetch` (object_store / reqwest transfers), `extract` (safe tar.gz extraction), `cache` (the
//! on-disk cache and single-flight), `error` (user-facing errors).

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

mod cache;
mod credentials;
mod error;
mod extract;
mod fetch;
mod progress;
mod source;

pub use cache::{ArtifactCache, ArtifactStats};
pub use error::{ArtifactError, EntryKind, UnsafeReason};

/// Extracted-size limit when [`ModelDataConfig::max_model_bytes`] is `None`: 100 GiB.
pub const DEFAULT_MAX_MODEL_BYTES: u64 = 100 << 30;

/// `[model_data]` of the config file.
#[derive(Clone, Debug, Default)]
pub struct ModelDataConfig {
    /// S3-compatible endpoint (MinIO, Ceph, moto…); None = AWS's own endpoint for `region`.
    pub s3_endpoint_url: Option<String>,
    /// bucket → local directory: s3://my-models/a/b.tar.gz is read from /srv/models/a/b.tar.gz
    /// (air-gapped machines).
    pub local_buckets: BTreeMap<String, PathBuf>,
    /// Region for S3 requests (Guardrail's configured region).
    pub region: String,
    /// Explicit S3 keys. None = the standard AWS chain: `AWS_ACCESS_KEY_ID`/… in the
    /// environment, then the shared credentials file (`AWS_SHARED_CREDENTIALS_FILE` or
    /// `~/.aws/credentials`, profile `AWS_PROFILE` or `default`; `~/.aws/config` as the CLI
    /// does), then web identity, container and instance credentials.
    pub credentials: Option<S3Credentials>,
    /// Upper bound on the bytes one model may occupy once extracted (all files together); an
    /// archive that would exceed it (a gzip bomb, or simply too big) fails cleanly before the
    /// excess is written. None = [`DEFAULT_MAX_MODEL_BYTES`].
    pub max_model_bytes: Option<u64>,
}

impl ModelDataConfig {
    pub(crate) fn model_byte_limit(&self) -> u64 {
        self.max_model_bytes.unwrap_or(DEFAULT_MAX_MODEL_BYTES)
    }
}

/// Static S3 keys. `Debug` does not show the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct S3Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

impl fmt::Debug for S3Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// Where a model's files come from, as the SageMaker API describes them.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ModelSource {
    /// One gzip-compressed tar archive (ModelDataUrl; S3Object + Gzip): s3://… or https://…
    Archive { url: String },
    /// Every object under an S3 prefix, uncompressed, copied as they are (S3Prefix + None).
    Prefix { url: String },
    /// One uncompressed object (S3Object + None), placed in the model dir under its own file
    /// name.
    Object { url: String },
}

impl ModelSource {
    /// The URL as the user gave it.
    pub fn url(&self) -> &str {
        match self {
            ModelSource::Archive { url }
            | ModelSource::Prefix { url }
            | ModelSource::Object { url } => url,
        }
    }
}
