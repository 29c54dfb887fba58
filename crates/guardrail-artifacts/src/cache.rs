//! The on-disk cache and single-flight.
//!
//! Layout under `root` (`<data_dir>/models`): `<key>/source.json` (the source and the version
//! the store reported) and `<key>/model/` (the extracted, read-only files), `key` being the
//! sha256 of the canonical source. A `<key>` directory only ever appears by one `rename` of a
//! fully written staging directory (`.tmp-…`), so a crash at any point leaves either the old
//! complete entry, no entry, or debris with a `.tmp-`/`.download-`/`.stale-` name that the next
//! start removes. A replaced entry is renamed to `.stale-…` rather than deleted at once: instances
//! launched from it (a container's bind mount, a process reading lazily) keep their files until
//! the next start.
//!
//! One `tokio::sync::Mutex` per key serialises work on a source; a caller that waited while
//! another fetched or revalidated takes that outcome (success or error) instead of repeating it.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use crate::extract::{extract_tar_gz, remove_tree, seal_tree};
use crate::fetch::{Fetcher, Version, REVALIDATE_TIMEOUT};
use crate::source::{Kind, Location, Parsed};
use crate::{ArtifactError, ModelDataConfig, ModelSource};

const RECORD: &str = "source.json";
const MODEL: &str = "model";
const DEBRIS: [&str; 3] = [".tmp-", ".download-", ".stale-"];

/// Counters, for metrics and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ArtifactStats {
    /// Sources fetched and extracted (first time or after a change).
    pub downloads: u64,
    /// `prepare` calls answered from the cache.
    pub reused: u64,
}

/// Model artifacts, fetched once per source and kept under `root`. Cheap to clone.
#[derive(Clone)]
pub struct ArtifactCache {
    inner: Arc<Inner>,
}

struct Inner {
    root: PathBuf,
    limit: u64,
    fetcher: Fetcher,
    slots: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Slot>>>>,
    downloads: AtomicU64,
    reused: AtomicU64,
    nonce: AtomicU64,
}

/// The last outcome for one source and when it was reached.
#[derive(Default)]
struct Slot {
    last: Option<(Instant, Result<(), ArtifactError>)>,
}

/// `<key>/source.json`.
#[derive(Debug, Serialize, Deserialize)]
struct Record {
    source: ModelSource,
    canonical: String,
    #[serde(flatten)]
    version: Version,
    fetched_at_unix: u64,
}

impl std::fmt::Debug for ArtifactCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArtifactCache")
            .field("root", &self.inner.root)
            .finish_non_exhaustive()
    }
}

impl ArtifactCache {
    /// `root` is `<data_dir>/models`; created if missing. Leftover partial downloads/extractions
    /// from a crash are removed here.
    pub fn new(root: PathBuf, config: ModelDataConfig) -> Result<Self, ArtifactError> {
        let cache_err = |action: &str, e: io::Error| ArtifactError::Cache {
            root: root.clone(),
            action: action.into(),
            source: e.into(),
        };
        std::fs::create_dir_all(&root).map_err(|e| cache_err("creating the directory", e))?;
        for entry in std::fs::read_dir(&root).map_err(|e| cache_err("listing the directory", e))? {
            let entry = entry.map_err(|e| cache_err("listing the directory", e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = entry.path();
            let debris = DEBRIS.iter().any(|d| name.starts_with(d));
            let incomplete = !debris && is_key(&name) && read_record(&path).is_none();
            if debris || incomplete {
                tracing::info!(path = %path.display(), "removing leftover model data from an earlier run");
                remove_tree(&path)
                    .map_err(|e| cache_err(&format!("removing {}", path.display()), e))?;
            }
        }
        let limit = config.model_byte_limit();
        Ok(Self {
            inner: Arc::new(Inner {
                root,
                limit,
                fetcher: Fetcher::new(config),
                slots: Mutex::new(HashMap::new()),
                downloads: AtomicU64::new(0),
                reused: AtomicU64::new(0),
                nonce: AtomicU64::new(0),
            }),
        })
    }

    /// Parses and checks a URL without fetching (used at CreateModel time to reject what can
    /// never work, e.g. an unconfigured scheme).
    pub fn check(&self, source: &ModelSource) -> Result<(), ArtifactError> {
        let parsed = Parsed::new(source)?;
        self.inner.fetcher.check(&parsed)
    }

    /// Fetches (once per source: concurrent callers for the same source share one download; a
    /// later call reuses the extracted directory) and returns the directory that holds the
    /// extracted model. A cached copy is revalidated with one HEAD (LIST for a prefix): reused
    /// if the ETag is unchanged or the store cannot be asked, fetched again if it changed.
    pub async fn prepare(&self, source: &ModelSource) -> Result<PathBuf, ArtifactError> {
        let parsed = Parsed::new(source)?;
        self.inner.fetcher.check(&parsed)?;
        let key = parsed.cache_key();
        let dir = self.inner.root.join(&key);
        let model = dir.join(MODEL);
        let slot = Arc::clone(self.inner.slots.lock().entry(key.clone()).or_default());

        let arrived = Instant::now();
        let mut slot = slot.lock().await;
        if let Some((at, outcome)) = &slot.last {
            if *at >= arrived {
                // Someone fetched or revalidated while we waited: share their outcome.
                return match outcome {
                    Ok(()) => {
                        self.inner.reused.fetch_add(1, Ordering::Relaxed);
                        Ok(model)
                    }
                    Err(e) => Err(e.clone()),
                };
            }
        }
        let outcome = self.refresh(&parsed, source, &key, &dir).await;
        slot.last = Some((Instant::now(), outcome.clone()));
        outcome.map(|()| model)
    }

    /// Counters since this cache was created.
    pub fn stats(&self) -> ArtifactStats {
        ArtifactStats {
            downloads: self.inner.downloads.load(Ordering::Relaxed),
            reused: self.inner.reused.load(Ordering::Relaxed),
        }
    }

    /// The cache directory (`<data_dir>/models`).
    pub fn root(&self) -> &Path {
        &self.inner.root
    }

    /// Reuse the cached copy if it is current (or cannot be checked), else fetch.
    async fn refresh(
        &self,
        p: &Parsed,
        source: &ModelSource,
        key: &str,
        dir: &Path,
    ) -> Result<(), ArtifactError> {
        let record = {
            let dir = dir.to_path_buf();
            tokio::task::spawn_blocking(move || read_record(&dir))
                .await
                .ok()
                .flatten()
        };
        if let Some(record) = record {
            match tokio::time::timeout(REVALIDATE_TIMEOUT, self.inner.fetcher.version(p)).await {
                Ok(Ok(current)) if current.same_as(&record.version) => {
                    tracing::debug!(url = %p.url, "model data unchanged; using the cached copy");
                    self.inner.reused.fetch_add(1, Ordering::Relaxed);
                    return Ok(());
                }
                Ok(Ok(current)) => tracing::info!(
                    url = %p.url,
                    cached_etag = ?record.version.etag,
                    current_etag = ?current.etag,
                    "model data changed; fetching it again"
                ),
                Ok(Err(e)) => {
                    tracing::warn!(url = %p.url, error = %e, "cannot check model data for changes; using the cached copy");
                    self.inner.reused.fetch_add(1, Ordering::Relaxed);
                    return Ok(());
                }
                Err(_) => {
                    tracing::warn!(
                        url = %p.url,
                        "no answer within {} s when checking model data for changes; using the cached copy",
                        REVALIDATE_TIMEOUT.as_secs()
                    );
                    self.inner.reused.fetch_add(1, Ordering::Relaxed);
                    return Ok(());
                }
            }
        }
        self.fetch(p, source, key, dir).await?;
        self.inner.downloads.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Fetches into a staging directory and renames it into place.
    async fn fetch(
        &self,
        p: &Parsed,
        source: &ModelSource,
        key: &str,
        dir: &Path,
    ) -> Result<(), ArtifactError> {
        let nonce = self.nonce();
        let stage = self.inner.root.join(format!(".tmp-{key}-{nonce}"));
        let download = self.inner.root.join(format!(".download-{key}-{nonce}"));
        let result = self.fetch_into(p, source, &stage, &download).await;
        let _ = blocking(move || remove_tree(&download)).await;
        if let Err(e) = result {
            let _ = blocking(move || remove_tree(&stage)).await;
            return Err(e);
        }
        let io_err = |action: &str, e: io::Error| ArtifactError::Io {
            url: p.url.clone(),
            action: action.into(),
            source: e.into(),
        };
        if tokio::fs::symlink_metadata(dir).await.is_ok() {
            let stale = self.inner.root.join(format!(".stale-{key}-{nonce}"));
            tokio::fs::rename(dir, &stale)
                .await
                .map_err(|e| io_err("moving the previous copy aside", e))?;
            tracing::info!(path = %stale.display(), "previous copy of the model kept until the next start (instances may still use it)");
        }
        tokio::fs::rename(&stage, dir)
            .await
            .map_err(|e| io_err("moving the model into place", e))?;
        tracing::info!(url = %p.url, path = %dir.join(MODEL).display(), "model data ready");
        Ok(())
    }

    async fn fetch_into(
        &self,
        p: &Parsed,
        source: &ModelSource,
        stage: &Path,
        download: &Path,
    ) -> Result<(), ArtifactError> {
        let io_err = |action: &str, e: io::Error| ArtifactError::Io {
            url: p.url.clone(),
            action: action.into(),
            source: e.into(),
        };
        let model = stage.join(MODEL);
        tokio::fs::create_dir_all(&model)
            .await
            .map_err(|e| io_err("creating the model directory", e))?;
        let limit = self.inner.limit;
        let fetcher = &self.inner.fetcher;
        let version = match p.kind {
            Kind::Archive => {
                let version = fetcher.download_file(p, download, limit).await?;
                let (archive, dest, url) = (download.to_path_buf(), model.clone(), p.url.clone());
                let extracted = blocking(move || {
                    extract_tar_gz(&archive, &dest, limit).map_err(|e| e.with_url(&url))
                })
                .await
                .map_err(|e| io_err("extracting", e))??;
                tracing::info!(url = %p.url, files = extracted.files, bytes = extracted.bytes, "model archive extracted");
                version
            }
            Kind::Prefix => fetcher.download_prefix(p, &model, limit).await?,
            Kind::Object => {
                let Location::S3 { key, .. } = &p.location else {
                    unreachable!("an Object source is always s3 (source.rs)")
                };
                let name = key.rsplit('/').next().unwrap_or(key);
                fetcher.download_file(p, &model.join(name), limit).await?
            }
        };
        if p.kind != Kind::Archive {
            let dest = model.clone();
            blocking(move || seal_tree(&dest))
                .await
                .and_then(|r| r)
                .map_err(|e| io_err("making the model read-only", e))?;
        }
        #[allow(clippy::disallowed_methods)] // a note for people reading source.json, not logic
        let record = Record {
            source: source.clone(),
            canonical: p.canonical(),
            version,
            fetched_at_unix: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
        };
        let json = serde_json::to_vec_pretty(&record).expect("a record always serialises");
        let path = stage.join(RECORD);
        blocking(move || write_synced(&path, &json))
            .await
            .and_then(|r| r)
            .map_err(|e| io_err("writing source.json", e))
    }

    #[allow(clippy::disallowed_methods)] // uniqueness of a temp name, not a time
    fn nonce(&self) -> String {
        let n = self.inner.nonce.fetch_add(1, Ordering::Relaxed);
        let t = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        format!("{}-{t}-{n}", std::process::id())
    }
}

/// A cache key is 64 lowercase hex digits.
fn is_key(name: &str) -> bool {
    name.len() == 64
        && name
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The record of a complete `<key>` directory, or None if it is not complete.
fn read_record(dir: &Path) -> Option<Record> {
    if !std::fs::symlink_metadata(dir.join(MODEL)).is_ok_and(|m| m.is_dir()) {
        return None;
    }
    let bytes = std::fs::read(dir.join(RECORD)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

fn write_synced(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write;
    let mut f = std::fs::File::create(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

/// `spawn_blocking`, with a panic or cancellation turned into an io error.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> io::Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(io::Error::other)
}

#[cfg(test)]
#[path = "cache_tests.rs"]
mod tests;
