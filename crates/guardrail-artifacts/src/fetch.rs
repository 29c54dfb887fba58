//! Transfers: S3, S3-compatible stores and local buckets through one `ObjectStore` code path
//! (one store per bucket, built once), `https://` archives through reqwest. Bodies are streamed
//! to disk chunk by chunk; a stream that stalls fails instead of hanging. Failures are turned
//! into [`ArtifactError`]s that say what a user can act on (missing key vs missing bucket vs
//! unreachable endpoint vs credentials).

use std::collections::{BTreeSet, HashMap};
use std::error::Error as StdError;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::{Stream, StreamExt, TryStreamExt};
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::local::LocalFileSystem;
use object_store::path::Path as StorePath;
use object_store::{
    BackoffConfig, ClientConfigKey, ObjectMeta, ObjectStore, ObjectStoreExt, RetryConfig,
};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use crate::error::{ArtifactError, EntryKind, UnsafeReason};
use crate::extract::{ensure_dirs, relative_components, Placement};
use crate::progress::Progress;
use crate::source::{hex, Kind, Location, Parsed};
use crate::{credentials, ModelDataConfig};

/// A body that delivers nothing for this long has failed.
const STALL_TIMEOUT: Duration = Duration::from_secs(120);
/// TCP connect timeout for S3 and https.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Upper bound on a revalidation (HEAD / LIST) before the cached copy is used anyway.
pub(crate) const REVALIDATE_TIMEOUT: Duration = Duration::from_secs(20);

/// What the store said about the data we have: compared to decide whether a cached copy is
/// still current. For a prefix, `etag` is a digest of every object's key, ETag and size.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Version {
    pub(crate) etag: Option<String>,
    pub(crate) size: Option<u64>,
    pub(crate) last_modified: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) objects: Option<u64>,
}

impl Version {
    fn of(meta: &ObjectMeta) -> Self {
        Self {
            etag: meta.e_tag.clone(),
            size: Some(meta.size),
            last_modified: Some(meta.last_modified.to_rfc3339()),
            objects: None,
        }
    }

    /// The ETags when both have one; else size and last-modified where both know them;
    /// else (nothing to compare) unchanged.
    pub(crate) fn same_as(&self, other: &Version) -> bool {
        if let (Some(a), Some(b)) = (&self.etag, &other.etag) {
            return a == b;
        }
        let size = matches!((self.size, other.size), (Some(a), Some(b)) if a != b);
        let modified =
            matches!((&self.last_modified, &other.last_modified), (Some(a), Some(b)) if a != b);
        !(size || modified)
    }
}

pub(crate) struct Fetcher {
    config: ModelDataConfig,
    stores: Mutex<HashMap<String, Arc<dyn ObjectStore>>>,
    http: Result<reqwest::Client, String>,
}

impl Fetcher {
    pub(crate) fn new(config: ModelDataConfig) -> Self {
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .user_agent(concat!("guardrail/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot set up the https client: {}", chain(&e)));
        Self {
            config,
            stores: Mutex::new(HashMap::new()),
            http,
        }
    }

    /// Everything that can be checked without a request: the store (or https client) builds.
    pub(crate) fn check(&self, p: &Parsed) -> Result<(), ArtifactError> {
        match &p.location {
            Location::S3 { bucket, .. } => self.store(p, bucket).map(|_| ()),
            Location::Http { .. } => self.http(p).map(|_| ()),
        }
    }

    fn http(&self, p: &Parsed) -> Result<&reqwest::Client, ArtifactError> {
        self.http.as_ref().map_err(|e| ArtifactError::Config {
            url: p.url.clone(),
            reason: e.clone(),
        })
    }

    fn store(&self, p: &Parsed, bucket: &str) -> Result<Arc<dyn ObjectStore>, ArtifactError> {
        if let Some(s) = self.stores.lock().get(bucket) {
            return Ok(Arc::clone(s));
        }
        let store = self
            .build_store(bucket)
            .map_err(|reason| ArtifactError::Config {
                url: p.url.clone(),
                reason,
            })?;
        Ok(Arc::clone(
            self.stores.lock().entry(bucket.to_owned()).or_insert(store),
        ))
    }

    fn build_store(&self, bucket: &str) -> Result<Arc<dyn ObjectStore>, String> {
        if let Some(dir) = self.config.local_buckets.get(bucket) {
            // Not cached on failure: creating the directory later fixes it.
            if !dir.is_dir() {
                return Err(format!(
                    "local bucket directory {} for \"{bucket}\" does not exist",
                    dir.display()
                ));
            }
            let fs = LocalFileSystem::new_with_prefix(dir).map_err(|e| {
                format!(
                    "local bucket directory {} for \"{bucket}\": {e}",
                    dir.display()
                )
            })?;
            return Ok(Arc::new(fs));
        }
        let mut b = AmazonS3Builder::from_env()
            .with_bucket_name(bucket)
            .with_retry(RetryConfig {
                backoff: BackoffConfig::default(),
                max_retries: 3,
                retry_timeout: Duration::from_secs(30),
            })
            // object_store's default 30 s covers the whole body; a model takes longer. Stalls
            // are caught per chunk instead (STALL_TIMEOUT).
            .with_config(AmazonS3ConfigKey::Client(ClientConfigKey::Timeout), "12h")
            .with_config(
                AmazonS3ConfigKey::Client(ClientConfigKey::ConnectTimeout),
                "10s",
            );
        if !self.config.region.is_empty() {
            b = b.with_region(&self.config.region);
        }
        if let Some(endpoint) = &self.config.s3_endpoint_url {
            let ok = reqwest::Url::parse(endpoint).is_ok_and(|u| {
                matches!(u.scheme(), "http" | "https")
                    && u.host_str().is_some_and(|h| !h.is_empty())
            });
            if !ok {
                return Err(format!(
                    "s3_endpoint_url \"{endpoint}\" is not an http:// or https:// URL"
                ));
            }
            // Both keys: AWS_ENDPOINT_URL_S3 in the environment would win over `endpoint`.
            b = b
                .with_endpoint(endpoint)
                .with_config(AmazonS3ConfigKey::S3Endpoint, endpoint)
                .with_virtual_hosted_style_request(false);
        }
        let endpoint = b
            .get_config_value(&AmazonS3ConfigKey::S3Endpoint)
            .or_else(|| b.get_config_value(&AmazonS3ConfigKey::Endpoint));
        if endpoint
            .as_deref()
            .is_some_and(|e| e.starts_with("http://"))
        {
            b = b.with_allow_http(true);
        }
        let static_keys = self.config.credentials.clone().or_else(|| {
            let env_has_keys = std::env::var("AWS_ACCESS_KEY_ID").is_ok_and(|v| !v.is_empty());
            if env_has_keys {
                None
            } else {
                credentials::from_shared_files(&|k| std::env::var(k).ok())
            }
        });
        let env_has_keys = std::env::var("AWS_ACCESS_KEY_ID").is_ok_and(|v| !v.is_empty());
        if let Some(c) = static_keys {
            b = b
                .with_access_key_id(c.access_key_id)
                .with_secret_access_key(c.secret_access_key);
            if let Some(t) = c.session_token {
                b = b.with_token(t);
            }
        } else if self.config.s3_endpoint_url.is_some() && !env_has_keys {
            // A self-hosted store without keys: send unsigned requests (public buckets) rather
            // than ask the AWS instance-metadata service, which is not there.
            b = b.with_skip_signature(true);
        }
        let s3 = b.build().map_err(|e| chain(&e))?;
        Ok(Arc::new(s3))
    }

    /// The current version of the source (HEAD, or LIST for a prefix), without the body.
    pub(crate) async fn version(&self, p: &Parsed) -> Result<Version, ArtifactError> {
        match &p.location {
            Location::Http { url } => {
                let resp = self
                    .http(p)?
                    .head(url.clone())
                    .send()
                    .await
                    .map_err(|e| http_error(p, &e))?;
                check_status(p, &resp)?;
                Ok(http_version(&resp))
            }
            Location::S3 { bucket, key } => {
                let store = self.store(p, bucket)?;
                match p.kind {
                    Kind::Prefix => Ok(listing_version(&self.list(p, &*store, bucket, key).await?)),
                    Kind::Archive | Kind::Object => {
                        let meta = store.head(&store_path(key)).await;
                        Ok(Version::of(&meta.map_err(|e| self.classify(p, bucket, e))?))
                    }
                }
            }
        }
    }

    /// Streams a single archive (or object) to `file`, which is created.
    pub(crate) async fn download_file(
        &self,
        p: &Parsed,
        file: &Path,
        limit: u64,
    ) -> Result<Version, ArtifactError> {
        let mut out = create_file(p, file).await?;
        let version = match &p.location {
            Location::Http { url } => {
                let resp = self
                    .http(p)?
                    .get(url.clone())
                    .send()
                    .await
                    .map_err(|e| http_error(p, &e))?;
                check_status(p, &resp)?;
                let version = http_version(&resp);
                let mut progress = Progress::start(&p.url, resp.content_length());
                let stream = resp.bytes_stream().map_err(|e| http_error(p, &e));
                write_stream(p, stream, &mut out, &mut progress, limit).await?;
                progress.finish();
                version
            }
            Location::S3 { bucket, key } => {
                let store = self.store(p, bucket)?;
                let got = store
                    .get(&store_path(key))
                    .await
                    .map_err(|e| self.classify(p, bucket, e))?;
                let version = Version::of(&got.meta);
                if got.meta.size > limit {
                    return Err(ArtifactError::TooLarge {
                        url: p.url.clone(),
                        limit,
                    });
                }
                let mut progress = Progress::start(&p.url, Some(got.meta.size));
                let stream = got.into_stream().map_err(|e| self.classify(p, bucket, e));
                write_stream(p, stream, &mut out, &mut progress, limit).await?;
                progress.finish();
                version
            }
        };
        out.sync_all()
            .await
            .map_err(|e| io(p, "saving the download", e))?;
        Ok(version)
    }

    /// Copies every object under the prefix into `dest` (an existing empty directory), keys
    /// relative to the prefix becoming paths.
    pub(crate) async fn download_prefix(
        &self,
        p: &Parsed,
        dest: &Path,
        limit: u64,
    ) -> Result<Version, ArtifactError> {
        let Location::S3 { bucket, key } = &p.location else {
            return Err(ArtifactError::InvalidUrl {
                url: p.url.clone(),
                reason: "a prefix must be an s3:// URL".into(),
            });
        };
        let store = self.store(p, bucket)?;
        let listing = self.list(p, &*store, bucket, key).await?;
        let total: u64 = listing.iter().map(|(_, m)| m.size).sum();
        if total > limit {
            return Err(ArtifactError::TooLarge {
                url: p.url.clone(),
                limit,
            });
        }
        let mut progress = Progress::start(&p.url, Some(total));
        let mut fetched = Vec::with_capacity(listing.len());
        for (rel, listed) in &listing {
            let comps = relative_components(std::ffi::OsStr::new(&rel.join("/")))
                .map_err(|reason| unsafe_key(p, rel, reason))?;
            let (leaf, parents) = comps
                .split_last()
                .ok_or_else(|| unsafe_key(p, rel, UnsafeReason::BadName))?;
            let (root, parents, shown) = (dest.to_path_buf(), parents.to_vec(), rel.join("/"));
            let parent = tokio::task::spawn_blocking(move || ensure_dirs(&root, &parents))
                .await
                .map_err(|e| io(p, "creating directories", std::io::Error::other(e)))?
                .map_err(|e| match e {
                    Placement::Unsafe(reason) => unsafe_key(p, rel, reason),
                    Placement::Io(e) => io(p, &format!("creating the directory of \"{shown}\""), e),
                })?;
            let path = parent.join(leaf);
            let mut out = match create_file(p, &path).await {
                Err(ArtifactError::Io { source, .. })
                    if source.kind() == std::io::ErrorKind::AlreadyExists =>
                {
                    return Err(unsafe_key(p, rel, UnsafeReason::Conflict));
                }
                other => other?,
            };
            let got = store
                .get(&listed.location)
                .await
                .map_err(|e| self.classify(p, bucket, e))?;
            fetched.push((rel.join("/"), Version::of(&got.meta)));
            let stream = got.into_stream().map_err(|e| self.classify(p, bucket, e));
            write_stream(p, stream, &mut out, &mut progress, limit).await?;
            out.sync_all()
                .await
                .map_err(|e| io(p, "saving the download", e))?;
        }
        progress.finish();
        Ok(prefix_version(fetched.iter().map(|(k, v)| (k.as_str(), v))))
    }

    fn classify(&self, p: &Parsed, bucket: &str, e: object_store::Error) -> ArtifactError {
        let local_dir = self.config.local_buckets.get(bucket).map(PathBuf::as_path);
        let target = match (&self.config.s3_endpoint_url, self.config.region.as_str()) {
            (Some(endpoint), _) => format!("bucket \"{bucket}\" at {endpoint}"),
            (None, "") => format!("bucket \"{bucket}\""),
            (None, region) => format!("bucket \"{bucket}\" in {region}"),
        };
        classify(local_dir, target, p, bucket, e)
    }

    /// Every object under `key` (a prefix; empty = the whole bucket) with its path relative to
    /// the prefix, sorted; directory markers (`dir/` keys of size 0) left out.
    async fn list(
        &self,
        p: &Parsed,
        store: &dyn ObjectStore,
        bucket: &str,
        key: &str,
    ) -> Result<Vec<(Vec<String>, ObjectMeta)>, ArtifactError> {
        let prefix = (!key.is_empty()).then(|| store_path(key));
        let metas: Vec<ObjectMeta> = store
            .list(prefix.as_ref())
            .try_collect()
            .await
            .map_err(|e| self.classify(p, bucket, e))?;
        let mut out: Vec<(Vec<String>, ObjectMeta)> = Vec::with_capacity(metas.len());
        for meta in metas {
            let rel: Vec<String> = match &prefix {
                Some(pre) => match meta.location.prefix_match(pre) {
                    Some(parts) => parts.map(|part| part.as_ref().to_owned()).collect(),
                    None => continue,
                },
                None => meta
                    .location
                    .parts()
                    .map(|part| part.as_ref().to_owned())
                    .collect(),
            };
            if !rel.is_empty() {
                out.push((rel, meta));
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        // Every proper prefix of a key is a directory; an empty object there is a marker.
        let dirs: BTreeSet<Vec<String>> = out
            .iter()
            .flat_map(|(rel, _)| (1..rel.len()).map(|n| rel[..n].to_vec()))
            .collect();
        out.retain(|(rel, meta)| !(meta.size == 0 && dirs.contains(rel)));
        if out.is_empty() {
            return Err(ArtifactError::EmptyPrefix { url: p.url.clone() });
        }
        Ok(out)
    }
}

/// The object_store path of a key that source.rs checked. `parse` keeps the key as it is
/// (`from_iter` would percent-encode characters such as `%` and name another object).
fn store_path(key: &str) -> StorePath {
    StorePath::parse(key).unwrap_or_else(|_| StorePath::from_iter(key.split('/')))
}

fn listing_version(listing: &[(Vec<String>, ObjectMeta)]) -> Version {
    let versions: Vec<(String, Version)> = listing
        .iter()
        .map(|(rel, m)| (rel.join("/"), Version::of(m)))
        .collect();
    prefix_version(versions.iter().map(|(k, v)| (k.as_str(), v)))
}

/// One version for a whole prefix: a digest of the (key, ETag, size) list.
fn prefix_version<'a>(objects: impl Iterator<Item = (&'a str, &'a Version)>) -> Version {
    let mut objects: Vec<_> = objects.collect();
    objects.sort_by(|a, b| a.0.cmp(b.0));
    let mut h = Sha256::new();
    let mut size = 0u64;
    for (key, v) in &objects {
        h.update(key.as_bytes());
        h.update([0]);
        h.update(v.etag.as_deref().unwrap_or("-").as_bytes());
        h.update([0]);
        h.update(v.size.unwrap_or(0).to_le_bytes());
        size += v.size.unwrap_or(0);
    }
    Version {
        etag: Some(format!("list-{}", hex(&h.finalize()))),
        size: Some(size),
        last_modified: objects
            .iter()
            .filter_map(|(_, v)| v.last_modified.clone())
            .max(),
        objects: Some(objects.len() as u64),
    }
}

async fn create_file(p: &Parsed, path: &Path) -> Result<tokio::fs::File, ArtifactError> {
    tokio::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .await
        .map_err(|e| io(p, &format!("creating {}", path.display()), e))
}

/// Writes the body to `out`, bounded by `limit` over the whole download, failing on a stall.
async fn write_stream(
    p: &Parsed,
    stream: impl Stream<Item = Result<Bytes, ArtifactError>>,
    out: &mut tokio::fs::File,
    progress: &mut Progress,
    limit: u64,
) -> Result<(), ArtifactError> {
    let mut stream = std::pin::pin!(stream);
    loop {
        let next = tokio::time::timeout(STALL_TIMEOUT, stream.next())
            .await
            .map_err(|_| ArtifactError::Download {
                url: p.url.clone(),
                detail: format!(
                    "no data for {} s after {} bytes",
                    STALL_TIMEOUT.as_secs(),
                    progress.done()
                ),
            })?;
        let Some(chunk) = next else { break };
        let chunk = chunk?;
        if progress.done().saturating_add(chunk.len() as u64) > limit {
            return Err(ArtifactError::TooLarge {
                url: p.url.clone(),
                limit,
            });
        }
        out.write_all(&chunk)
            .await
            .map_err(|e| io(p, "writing the download", e))?;
        progress.add(chunk.len() as u64);
    }
    out.flush()
        .await
        .map_err(|e| io(p, "writing the download", e))
}

fn io(p: &Parsed, action: &str, source: std::io::Error) -> ArtifactError {
    ArtifactError::Io {
        url: p.url.clone(),
        action: action.to_owned(),
        source: source.into(),
    }
}

fn unsafe_key(p: &Parsed, rel: &[String], reason: UnsafeReason) -> ArtifactError {
    ArtifactError::UnsafeEntry {
        url: p.url.clone(),
        kind: EntryKind::ObjectKey,
        entry: rel.join("/"),
        reason,
    }
}

fn http_version(resp: &reqwest::Response) -> Version {
    let header = |name: reqwest::header::HeaderName| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    Version {
        etag: header(reqwest::header::ETAG),
        size: resp.content_length(),
        last_modified: header(reqwest::header::LAST_MODIFIED),
        objects: None,
    }
}

fn check_status(p: &Parsed, resp: &reqwest::Response) -> Result<(), ArtifactError> {
    let status = resp.status();
    let shown = format!(
        "HTTP {} {}",
        status.as_u16(),
        status.canonical_reason().unwrap_or("")
    );
    let shown = shown.trim_end().to_owned();
    match status.as_u16() {
        200..=299 => Ok(()),
        404 | 410 => Err(ArtifactError::NotFound {
            url: p.url.clone(),
            code: shown,
        }),
        401 | 403 => Err(ArtifactError::AccessDenied {
            url: p.url.clone(),
            detail: format!("the server answered {shown}"),
        }),
        _ => Err(ArtifactError::Download {
            url: p.url.clone(),
            detail: format!("the server answered {shown}"),
        }),
    }
}

fn http_error(p: &Parsed, e: &reqwest::Error) -> ArtifactError {
    if e.is_connect() || (e.is_timeout() && !e.is_body()) {
        ArtifactError::Unreachable {
            url: p.url.clone(),
            target: p.target(),
            detail: root_cause(e),
        }
    } else {
        ArtifactError::Download {
            url: p.url.clone(),
            detail: chain(e),
        }
    }
}

/// Maps an object_store failure to what the user should know.
fn classify(
    local_dir: Option<&Path>,
    target: String,
    p: &Parsed,
    bucket: &str,
    e: object_store::Error,
) -> ArtifactError {
    let url = p.url.clone();
    let text = chain(&e);
    let code = xml_tag(&text, "Code");
    if code.as_deref() == Some("NoSuchBucket") {
        return ArtifactError::NoSuchBucket {
            url,
            bucket: bucket.to_owned(),
        };
    }
    match e {
        object_store::Error::NotFound { .. } => {
            let code = code.unwrap_or_else(|| match local_dir {
                Some(dir) => format!("no such file in local bucket directory {}", dir.display()),
                None => "NoSuchKey".to_owned(),
            });
            ArtifactError::NotFound { url, code }
        }
        object_store::Error::PermissionDenied { .. }
        | object_store::Error::Unauthenticated { .. } => {
            let detail = match (code, xml_tag(&text, "Message")) {
                (Some(c), Some(m)) => format!("{c}: {m}"),
                (Some(c), None) => c,
                _ => root_cause(&e),
            };
            ArtifactError::AccessDenied { url, detail }
        }
        object_store::Error::InvalidPath { source } => {
            let key = match &source {
                object_store::path::Error::BadSegment { path, .. }
                | object_store::path::Error::EmptySegment { path } => path.clone(),
                other => other.to_string(),
            };
            let reason = if key.split('/').any(|s| s == "..") {
                UnsafeReason::LeavesModelDir
            } else {
                UnsafeReason::BadName
            };
            ArtifactError::UnsafeEntry {
                url,
                kind: EntryKind::ObjectKey,
                entry: key,
                reason,
            }
        }
        e => {
            // The instance / container metadata services and STS: getting credentials failed.
            if [
                "169.254.169.254",
                "169.254.170.2",
                "AssumeRoleWithWebIdentity",
            ]
            .iter()
            .any(|s| text.contains(s))
            {
                return ArtifactError::Credentials {
                    url,
                    detail: root_cause(&e),
                };
            }
            if let Some(kind) = http_kind(&e) {
                use object_store::client::HttpErrorKind as K;
                if matches!(kind, K::Connect | K::Timeout | K::Request) {
                    return ArtifactError::Unreachable {
                        url,
                        target,
                        detail: root_cause(&e),
                    };
                }
            }
            let detail = match (code, xml_tag(&text, "Message")) {
                (Some(c), Some(m)) => format!("{c}: {m}"),
                (Some(c), None) => c,
                _ => text,
            };
            ArtifactError::Download { url, detail }
        }
    }
}

fn http_kind(e: &(dyn StdError + 'static)) -> Option<object_store::client::HttpErrorKind> {
    let mut cur: Option<&(dyn StdError + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(h) = err.downcast_ref::<object_store::client::HttpError>() {
            return Some(h.kind());
        }
        cur = err.source();
    }
    None
}

/// `a: b: c` over the whole source chain, skipping repeats (many layers echo their source).
pub(crate) fn chain(e: &(dyn StdError + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cur: Option<&(dyn StdError + 'static)> = Some(e);
    while let Some(err) = cur {
        let s = err.to_string();
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
        cur = err.source();
    }
    parts.join(": ")
}

/// The innermost error's message (e.g. `Connection refused (os error 111)`).
fn root_cause(e: &(dyn StdError + 'static)) -> String {
    let mut cur: &(dyn StdError + 'static) = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

/// `<Code>NoSuchKey</Code>` → `NoSuchKey`, from an S3 error body quoted in a message.
fn xml_tag(text: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let start = text.find(&open)? + open.len();
    let end = text[start..].find(&format!("</{tag}>"))? + start;
    let v = text[start..end].trim();
    (!v.is_empty()).then(|| v.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_comparison() {
        let v = |e: Option<&str>, s: Option<u64>, m: Option<&str>| Version {
            etag: e.map(str::to_owned),
            size: s,
            last_modified: m.map(str::to_owned),
            objects: None,
        };
        assert!(v(Some("a"), Some(1), None).same_as(&v(Some("a"), Some(2), None)));
        assert!(!v(Some("a"), None, None).same_as(&v(Some("b"), None, None)));
        assert!(!v(None, Some(1), Some("t")).same_as(&v(None, Some(2), Some("t"))));
        assert!(!v(None, Some(1), Some("t")).same_as(&v(None, Some(1), Some("u"))));
        assert!(v(None, None, None).same_as(&v(None, Some(1), None)));
    }

    #[test]
    fn xml_codes() {
        let text = "Server returned non-2xx status code: 404 Not Found: <?xml version=\"1.0\"?><Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist</Message></Error>";
        assert_eq!(xml_tag(text, "Code").as_deref(), Some("NoSuchBucket"));
        assert_eq!(
            xml_tag(text, "Message").as_deref(),
            Some("The specified bucket does not exist")
        );
        assert_eq!(xml_tag("nothing", "Code"), None);
    }
}
