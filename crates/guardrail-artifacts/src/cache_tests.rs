//! The cache through its public API, with `local_buckets` standing in for S3 (same
//! `ObjectStore` code path as real S3), plus crash debris and an unreachable store.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use flate2::write::GzEncoder;
use flate2::Compression;

use super::*;
use crate::S3Credentials;

/// Every wait in these tests is bounded by this.
const DEADLINE: Duration = Duration::from_secs(60);

struct Env {
    _tmp: tempfile::TempDir,
    bucket: PathBuf,
    root: PathBuf,
    cache: ArtifactCache,
}

fn env() -> Env {
    let tmp = tempfile::tempdir().unwrap();
    let bucket = tmp.path().join("bucket");
    fs::create_dir(&bucket).unwrap();
    let root = tmp.path().join("models");
    let config = ModelDataConfig {
        local_buckets: BTreeMap::from([("models".to_owned(), bucket.clone())]),
        region: "us-east-1".into(),
        ..Default::default()
    };
    let cache = ArtifactCache::new(root.clone(), config).unwrap();
    Env {
        _tmp: tmp,
        bucket,
        root,
        cache,
    }
}

impl Env {
    /// Writes a bucket object atomically (new inode, so the local store's ETag changes).
    fn put(&self, key: &str, bytes: &[u8]) {
        let path = self.bucket.join(key);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        let tmp = path.with_extension("part-upload");
        fs::write(&tmp, bytes).unwrap();
        fs::rename(&tmp, &path).unwrap();
    }
    async fn prepare(&self, source: &ModelSource) -> Result<PathBuf, ArtifactError> {
        tokio::time::timeout(DEADLINE, self.cache.prepare(source))
            .await
            .expect("prepare timed out")
    }
    fn root_entries(&self) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(&self.root)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        let _ = remove_tree(&self.root);
    }
}

pub(crate) fn tar_gz(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::fast()));
    for (name, data) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut h, name, *data).unwrap();
    }
    b.into_inner().unwrap().finish().unwrap()
}

fn archive(url: &str) -> ModelSource {
    ModelSource::Archive { url: url.into() }
}

#[tokio::test]
async fn archive_is_fetched_once_then_reused() {
    let env = env();
    env.put(
        "m1/model.tar.gz",
        &tar_gz(&[("model.bin", b"v1"), ("code/inference.py", b"print(1)")]),
    );
    let src = archive("s3://models/m1/model.tar.gz");

    let dir = env.prepare(&src).await.unwrap();
    assert_eq!(
        dir,
        env.root
            .join(Parsed::new(&src).unwrap().cache_key())
            .join("model")
    );
    assert_eq!(fs::read(dir.join("model.bin")).unwrap(), b"v1");
    assert_eq!(
        fs::read(dir.join("code/inference.py")).unwrap(),
        b"print(1)"
    );
    assert_eq!(
        fs::metadata(dir.join("model.bin"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o444
    );
    assert_eq!(
        env.cache.stats(),
        ArtifactStats {
            downloads: 1,
            reused: 0
        }
    );
    let record: serde_json::Value =
        serde_json::from_slice(&fs::read(dir.parent().unwrap().join("source.json")).unwrap())
            .unwrap();
    assert_eq!(
        record["source"]["Archive"]["url"],
        "s3://models/m1/model.tar.gz"
    );
    assert!(
        record["etag"].is_string()
            && record["size"].is_u64()
            && record["last_modified"].is_string(),
        "{record}"
    );
    let mtime = fs::metadata(dir.join("model.bin"))
        .unwrap()
        .modified()
        .unwrap();

    // Second call: no download, the same files.
    let again = env.prepare(&src).await.unwrap();
    assert_eq!(again, dir);
    assert_eq!(
        env.cache.stats(),
        ArtifactStats {
            downloads: 1,
            reused: 1
        }
    );
    assert_eq!(
        fs::metadata(dir.join("model.bin"))
            .unwrap()
            .modified()
            .unwrap(),
        mtime
    );

    // A new cache on the same root (a restart) reuses it too.
    let config = ModelDataConfig {
        local_buckets: BTreeMap::from([("models".to_owned(), env.bucket.clone())]),
        ..Default::default()
    };
    let restarted = ArtifactCache::new(env.root.clone(), config).unwrap();
    assert_eq!(restarted.prepare(&src).await.unwrap(), dir);
    assert_eq!(
        restarted.stats(),
        ArtifactStats {
            downloads: 0,
            reused: 1
        }
    );
    // Nothing but the one entry under the root.
    assert_eq!(
        env.root_entries(),
        vec![Parsed::new(&src).unwrap().cache_key()]
    );
}

#[tokio::test]
async fn a_changed_etag_fetches_again_and_swaps() {
    let env = env();
    let src = archive("s3://models/m/model.tar.gz");
    env.put("m/model.tar.gz", &tar_gz(&[("model.bin", b"v1")]));
    let dir = env.prepare(&src).await.unwrap();
    assert_eq!(fs::read(dir.join("model.bin")).unwrap(), b"v1");

    env.put(
        "m/model.tar.gz",
        &tar_gz(&[("model.bin", b"v2"), ("extra", b"x")]),
    );
    let dir2 = env.prepare(&src).await.unwrap();
    assert_eq!(dir2, dir, "the model directory keeps its path");
    assert_eq!(fs::read(dir.join("model.bin")).unwrap(), b"v2");
    assert!(dir.join("extra").exists());
    assert_eq!(
        env.cache.stats(),
        ArtifactStats {
            downloads: 2,
            reused: 0
        }
    );
    // The old copy was moved aside (instances may still use it) and goes at the next start.
    let stale: Vec<String> = env
        .root_entries()
        .into_iter()
        .filter(|n| n.starts_with(".stale-"))
        .collect();
    assert_eq!(stale.len(), 1, "{:?}", env.root_entries());
    assert_eq!(
        fs::read(env.root.join(&stale[0]).join("model/model.bin")).unwrap(),
        b"v1"
    );
    ArtifactCache::new(env.root.clone(), ModelDataConfig::default()).unwrap();
    assert_eq!(
        env.root_entries(),
        vec![Parsed::new(&src).unwrap().cache_key()]
    );
}

#[tokio::test]
async fn concurrent_prepares_share_one_fetch() {
    let env = env();
    // Big enough that the fetch takes a moment.
    let big = vec![7u8; 8 << 20];
    env.put("c/model.tar.gz", &tar_gz(&[("big.bin", &big)]));
    let src = archive("s3://models/c/model.tar.gz");
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let cache = env.cache.clone();
        let src = src.clone();
        tasks.spawn(async move { cache.prepare(&src).await });
    }
    let mut dirs = Vec::new();
    while let Some(r) = tokio::time::timeout(DEADLINE, tasks.join_next())
        .await
        .expect("timed out")
    {
        dirs.push(r.unwrap().unwrap());
    }
    assert_eq!(dirs.len(), 8);
    assert!(dirs.iter().all(|d| d == &dirs[0]));
    let stats = env.cache.stats();
    assert_eq!(stats.downloads, 1, "{stats:?}");
    assert_eq!(stats.reused, 7, "{stats:?}");
    assert_eq!(
        fs::metadata(dirs[0].join("big.bin")).unwrap().len(),
        8 << 20
    );
}

#[tokio::test]
async fn concurrent_failures_are_shared_too() {
    let env = env();
    let src = archive("s3://models/nope/model.tar.gz");
    let (a, b) = tokio::join!(env.prepare(&src), env.prepare(&src));
    for r in [a, b] {
        let e = r.unwrap_err();
        assert!(matches!(e, ArtifactError::NotFound { .. }), "{e:?}");
        assert!(
            e.to_string().starts_with("model data s3://models/nope/model.tar.gz: the object does not exist (no such file in local bucket directory"),
            "{e}"
        );
    }
    assert!(env.root_entries().is_empty(), "{:?}", env.root_entries());
}

#[tokio::test]
async fn prefix_and_object_sources() {
    let env = env();
    env.put("p/config.json", b"{}");
    env.put("p/sub/weights.bin", b"w");
    env.put("p/sub/deeper/x", b"x");
    env.put("p-other/ignored", b"no");
    env.put("o/weights.safetensors", b"tensor");

    for url in ["s3://models/p/", "s3://models/p"] {
        let dir = env
            .prepare(&ModelSource::Prefix { url: url.into() })
            .await
            .unwrap();
        assert_eq!(fs::read(dir.join("config.json")).unwrap(), b"{}");
        assert_eq!(fs::read(dir.join("sub/weights.bin")).unwrap(), b"w");
        assert_eq!(fs::read(dir.join("sub/deeper/x")).unwrap(), b"x");
        assert!(!dir.join("ignored").exists() && !dir.join("p-other").exists());
        assert_eq!(
            fs::metadata(dir.join("sub/weights.bin"))
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o444
        );
        assert_eq!(
            fs::metadata(dir.join("sub")).unwrap().permissions().mode() & 0o777,
            0o555
        );
    }
    // Both spellings are one source: one download.
    assert_eq!(env.cache.stats().downloads, 1);

    // A change to one object under the prefix is a change of the prefix.
    env.put("p/sub/weights.bin", b"w2");
    let dir = env
        .prepare(&ModelSource::Prefix {
            url: "s3://models/p/".into(),
        })
        .await
        .unwrap();
    assert_eq!(fs::read(dir.join("sub/weights.bin")).unwrap(), b"w2");
    assert_eq!(env.cache.stats().downloads, 2);

    let dir = env
        .prepare(&ModelSource::Object {
            url: "s3://models/o/weights.safetensors".into(),
        })
        .await
        .unwrap();
    assert_eq!(
        fs::read(dir.join("weights.safetensors")).unwrap(),
        b"tensor"
    );
    assert_eq!(fs::read_dir(&dir).unwrap().count(), 1);

    let e = env
        .prepare(&ModelSource::Prefix {
            url: "s3://models/empty/".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "model data s3://models/empty/: there are no objects under this prefix"
    );
}

#[tokio::test]
async fn unsafe_archives_fail_cleanly_through_prepare() {
    let env = env();
    let mut b = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::fast()));
    let mut h = tar::Header::new_old();
    h.as_old_mut().name[..7].copy_from_slice(b"../evil");
    h.set_size(4);
    h.set_mode(0o644);
    h.set_entry_type(tar::EntryType::Regular);
    h.set_cksum();
    b.append(&h, &b"evil"[..]).unwrap();
    env.put("evil.tar.gz", &b.into_inner().unwrap().finish().unwrap());
    let e = env
        .prepare(&archive("s3://models/evil.tar.gz"))
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "model data s3://models/evil.tar.gz: archive entry \"../evil\" leaves the model directory; refusing to extract"
    );
    env.put("junk.tar.gz", b"this is not gzip");
    let e = env
        .prepare(&archive("s3://models/junk.tar.gz"))
        .await
        .unwrap_err();
    assert!(
        e.to_string()
            .starts_with("model data s3://models/junk.tar.gz: not a gzip-compressed tar archive: "),
        "{e}"
    );
    // No staging directory, download or entry left behind, nothing next to the root.
    assert!(env.root_entries().is_empty(), "{:?}", env.root_entries());
    assert!(!env.root.parent().unwrap().join("evil").exists());
}

#[tokio::test]
async fn the_size_limit_applies_to_downloads_and_extraction() {
    let tmp = tempfile::tempdir().unwrap();
    let bucket = tmp.path().join("b");
    fs::create_dir(&bucket).unwrap();
    fs::write(
        bucket.join("bomb.tar.gz"),
        tar_gz(&[("zeros", &vec![0u8; 4 << 20])]),
    )
    .unwrap();
    fs::create_dir(bucket.join("p")).unwrap();
    fs::write(bucket.join("p/big"), vec![1u8; 2 << 20]).unwrap();
    let config = ModelDataConfig {
        local_buckets: BTreeMap::from([("b".to_owned(), bucket)]),
        max_model_bytes: Some(1 << 20),
        ..Default::default()
    };
    let root = tmp.path().join("models");
    let cache = ArtifactCache::new(root.clone(), config).unwrap();
    let e = cache
        .prepare(&archive("s3://b/bomb.tar.gz"))
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "model data s3://b/bomb.tar.gz: the model exceeds the size limit of 1 MiB once extracted; refusing to extract"
    );
    let e = cache
        .prepare(&ModelSource::Prefix {
            url: "s3://b/p/".into(),
        })
        .await
        .unwrap_err();
    assert!(matches!(e, ArtifactError::TooLarge { .. }), "{e:?}");
    assert_eq!(fs::read_dir(&root).unwrap().count(), 0);
}

#[tokio::test]
async fn crash_debris_is_removed_at_start() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("models");
    let complete = root.join("a".repeat(64));
    fs::create_dir_all(complete.join("model")).unwrap();
    let record = Record {
        source: archive("s3://b/k"),
        canonical: "archive s3://b/k".into(),
        version: Version::default(),
        fetched_at_unix: 0,
    };
    fs::write(
        complete.join("source.json"),
        serde_json::to_vec(&record).unwrap(),
    )
    .unwrap();
    let half = root.join("b".repeat(64));
    fs::create_dir_all(half.join("model")).unwrap();
    for debris in [".tmp-x-1", ".stale-y-2"] {
        fs::create_dir_all(root.join(debris).join("model/sub")).unwrap();
        fs::write(root.join(debris).join("model/sub/f"), b"x").unwrap();
        seal_tree(&root.join(debris).join("model")).unwrap();
    }
    fs::File::create(root.join(".download-z-3"))
        .unwrap()
        .write_all(b"partial")
        .unwrap();
    fs::write(root.join("unrelated.txt"), b"kept").unwrap();

    ArtifactCache::new(root.clone(), ModelDataConfig::default()).unwrap();
    let mut left: Vec<String> = fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, vec!["a".repeat(64), "unrelated.txt".to_owned()]);
}

#[tokio::test]
async fn an_unreachable_store_keeps_the_cached_copy() {
    // A port nothing listens on: bind, note the port, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("models");
    let config = ModelDataConfig {
        s3_endpoint_url: Some(format!("http://127.0.0.1:{port}")),
        region: "us-east-1".into(),
        credentials: Some(S3Credentials {
            access_key_id: "AKID".into(),
            secret_access_key: "secret".into(),
            session_token: None,
        }),
        ..Default::default()
    };
    let cache = ArtifactCache::new(root.clone(), config).unwrap();
    let src = archive("s3://remote/m/model.tar.gz");

    // Nothing cached: the error says the bucket is not reachable.
    let e = tokio::time::timeout(DEADLINE, cache.prepare(&src))
        .await
        .unwrap()
        .unwrap_err();
    assert!(matches!(e, ArtifactError::Unreachable { .. }), "{e:?}");
    let want = format!("model data s3://remote/m/model.tar.gz: bucket \"remote\" at http://127.0.0.1:{port} is not reachable: ");
    assert!(e.to_string().starts_with(&want), "{e}");

    // Seed the cache as an earlier run would have left it; the failed HEAD keeps it in use.
    let dir = root.join(Parsed::new(&src).unwrap().cache_key());
    fs::create_dir_all(dir.join("model")).unwrap();
    fs::write(dir.join("model/model.bin"), b"cached").unwrap();
    let record = Record {
        source: src.clone(),
        canonical: Parsed::new(&src).unwrap().canonical(),
        version: Version {
            etag: Some("\"abc\"".into()),
            ..Default::default()
        },
        fetched_at_unix: 0,
    };
    fs::write(
        dir.join("source.json"),
        serde_json::to_vec(&record).unwrap(),
    )
    .unwrap();
    let got = tokio::time::timeout(DEADLINE, cache.prepare(&src))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(fs::read(got.join("model.bin")).unwrap(), b"cached");
    assert_eq!(
        cache.stats(),
        ArtifactStats {
            downloads: 0,
            reused: 1
        }
    );
}

#[test]
fn check_rejects_what_can_never_work() {
    let env = env();
    assert!(env
        .cache
        .check(&archive("s3://models/m/model.tar.gz"))
        .is_ok());
    assert!(env
        .cache
        .check(&archive("s3://any-bucket/m/model.tar.gz"))
        .is_ok());
    assert!(env
        .cache
        .check(&archive("https://example.com/model.tar.gz"))
        .is_ok());
    let e = env
        .cache
        .check(&archive("ftp://h/model.tar.gz"))
        .unwrap_err();
    assert!(
        e.to_string()
            .starts_with("model data ftp://h/model.tar.gz: unsupported URL"),
        "{e}"
    );
    assert!(env
        .cache
        .check(&ModelSource::Prefix {
            url: "https://h/p/".into()
        })
        .is_err());

    // A local bucket whose directory is missing is a configuration error.
    let tmp = tempfile::tempdir().unwrap();
    let config = ModelDataConfig {
        local_buckets: BTreeMap::from([("gone".to_owned(), tmp.path().join("missing"))]),
        ..Default::default()
    };
    let cache = ArtifactCache::new(tmp.path().join("models"), config).unwrap();
    let e = cache.check(&archive("s3://gone/k.tar.gz")).unwrap_err();
    assert!(matches!(e, ArtifactError::Config { .. }), "{e:?}");
    // A malformed endpoint is caught at check time too.
    let config = ModelDataConfig {
        s3_endpoint_url: Some("not a url".into()),
        ..Default::default()
    };
    let cache = ArtifactCache::new(tmp.path().join("models2"), config).unwrap();
    let e = cache.check(&archive("s3://b/k.tar.gz")).unwrap_err();
    assert!(matches!(e, ArtifactError::Config { .. }), "{e:?}");
}

#[test]
fn the_cache_is_shareable() {
    fn assert_shareable<T: Clone + Send + Sync + 'static>() {}
    assert_shareable::<ArtifactCache>();
    assert_shareable::<ArtifactError>();
}
