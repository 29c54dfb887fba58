//! Against a real S3-compatible server: moto's server mode (`moto_server`, from `moto[server]`
//! in the project's venv). Objects are uploaded with object_store itself, then fetched through
//! the public API: archive (content equal, reuse, ETag change), prefix, object, the not-found
//! and no-such-bucket messages, an unsafe key under a prefix, and the server going away (cached
//! copy kept, uncached source unreachable). A missing venv or moto_server FAILS this test.

mod common;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::tar_gz;
use guardrail_artifacts::{
    ArtifactCache, ArtifactError, EntryKind, ModelDataConfig, ModelSource, S3Credentials,
    UnsafeReason,
};
use object_store::aws::AmazonS3Builder;
use object_store::path::Path as StorePath;
use object_store::{ObjectStoreExt, PutPayload};

const DEADLINE: Duration = Duration::from_secs(60);
const BUCKET: &str = "models";

/// The moto process; killed when dropped, also while a failed assertion unwinds.
struct Moto {
    child: Option<Child>,
    endpoint: String,
    log: PathBuf,
}

impl Moto {
    fn start(log_dir: &Path) -> Self {
        let venv = match std::env::var_os("GUARDRAIL_VENV") {
            Some(v) => PathBuf::from(v),
            None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv"),
        };
        let bin = venv.join("bin/moto_server");
        assert!(
            bin.is_file(),
            "{} not found: this test needs moto's server mode in the project's venv; run scripts/setup.sh \
             (it installs tests/python/requirements.txt, which has moto[server]) or set GUARDRAIL_VENV",
            bin.display()
        );
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = log_dir.join("moto.log");
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new(&bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start {}: {e} (run scripts/setup.sh)", bin.display())
            });
        let mut moto = Moto {
            child: Some(child),
            endpoint: format!("http://127.0.0.1:{port}"),
            log,
        };
        moto.wait_ready();
        moto
    }

    fn wait_ready(&mut self) {
        let started = Instant::now();
        let client = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .unwrap();
        loop {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!(
                    "moto_server exited ({status}) before answering:\n{}",
                    self.log_text()
                );
            }
            if client
                .get(format!("{}/", self.endpoint))
                .send()
                .is_ok_and(|r| r.status().is_success())
            {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "moto_server did not answer within 30 s:\n{}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `PUT path` exactly as given (no dot-segment normalisation); returns the status line.
fn raw_put(endpoint: &str, path: &str, body: &[u8]) -> String {
    use std::io::{BufRead, BufReader, Write};
    let addr = endpoint.trim_start_matches("http://");
    let mut conn = std::net::TcpStream::connect(addr).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let head = format!(
        "PUT {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    conn.write_all(head.as_bytes()).unwrap();
    conn.write_all(body).unwrap();
    let mut status = String::new();
    BufReader::new(conn).read_line(&mut status).unwrap();
    status
}

async fn prepare(cache: &ArtifactCache, source: &ModelSource) -> Result<PathBuf, ArtifactError> {
    tokio::time::timeout(DEADLINE, cache.prepare(source))
        .await
        .expect("prepare timed out")
}

// Several worker threads: the blocking readiness probe and reqwest's blocking client run here.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moto_s3_end_to_end() {
    let tmp = tempfile::tempdir().unwrap();
    let mut moto = tokio::task::block_in_place(|| Moto::start(tmp.path()));
    let endpoint = moto.endpoint.clone();

    // moto accepts any keys; explicit ones keep the AWS credential chain (and the instance
    // metadata service) out of the test.
    let creds = S3Credentials {
        access_key_id: "testing".into(),
        secret_access_key: "testing".into(),
        session_token: None,
    };
    let http = reqwest::Client::new();
    let created = http
        .put(format!("{endpoint}/{BUCKET}"))
        .send()
        .await
        .unwrap();
    assert!(
        created.status().is_success(),
        "CreateBucket: {}",
        created.status()
    );
    let store = AmazonS3Builder::new()
        .with_endpoint(&endpoint)
        .with_allow_http(true)
        .with_bucket_name(BUCKET)
        .with_region("us-east-1")
        .with_access_key_id("testing")
        .with_secret_access_key("testing")
        .build()
        .unwrap();
    let put = |key: &'static str, body: Vec<u8>| {
        let store = &store;
        async move {
            store
                .put(&StorePath::parse(key).unwrap(), PutPayload::from(body))
                .await
                .unwrap();
        }
    };
    put(
        "m1/model.tar.gz",
        tar_gz(&[
            ("model.bin", b"moto v1"),
            ("code/inference.py", b"print('hi')"),
        ]),
    )
    .await;
    put("pfx/config.json", b"{\"a\":1}".to_vec()).await;
    put("pfx/sub/weights.bin", vec![9u8; 300_000]).await;
    put("pfx/sub/", Vec::new()).await; // a "directory marker", as consoles create
    put("obj/weights.safetensors", b"tensor".to_vec()).await;
    // A key with a ".." segment (S3 allows it; object_store cannot even name it, and URL
    // libraries normalise it away: a raw request).
    let status = tokio::task::block_in_place(|| {
        raw_put(&endpoint, &format!("/{BUCKET}/bad/%2E%2E/evil"), b"evil")
    });
    assert!(status.starts_with("HTTP/1.1 200"), "raw PUT: {status}");

    let config = ModelDataConfig {
        s3_endpoint_url: Some(endpoint.clone()),
        region: "us-east-1".into(),
        credentials: Some(creds),
        ..Default::default()
    };
    let cache = ArtifactCache::new(tmp.path().join("models"), config).unwrap();

    // Archive: extracted content equals what was uploaded; a second prepare reuses it.
    let archive = ModelSource::Archive {
        url: format!("s3://{BUCKET}/m1/model.tar.gz"),
    };
    cache.check(&archive).unwrap();
    let dir = prepare(&cache, &archive).await.unwrap();
    assert_eq!(std::fs::read(dir.join("model.bin")).unwrap(), b"moto v1");
    assert_eq!(
        std::fs::read(dir.join("code/inference.py")).unwrap(),
        b"print('hi')"
    );
    assert_eq!(prepare(&cache, &archive).await.unwrap(), dir);
    assert_eq!(cache.stats().downloads, 1);

    // Keys with characters object_store would otherwise percent-encode name the same object.
    put("odd/v1 100%{x}.tar.gz", tar_gz(&[("odd.bin", b"odd")])).await;
    let odd = ModelSource::Archive {
        url: format!("s3://{BUCKET}/odd/v1 100%{{x}}.tar.gz"),
    };
    let odd_dir = prepare(&cache, &odd).await.unwrap();
    assert_eq!(std::fs::read(odd_dir.join("odd.bin")).unwrap(), b"odd");
    assert_eq!(cache.stats().downloads, 2);

    // Re-uploaded: a new ETag, fetched again.
    put("m1/model.tar.gz", tar_gz(&[("model.bin", b"moto v2")])).await;
    prepare(&cache, &archive).await.unwrap();
    assert_eq!(std::fs::read(dir.join("model.bin")).unwrap(), b"moto v2");
    assert_eq!(cache.stats().downloads, 3);

    // Prefix: every object, the marker skipped.
    let prefix = ModelSource::Prefix {
        url: format!("s3://{BUCKET}/pfx/"),
    };
    let pdir = prepare(&cache, &prefix).await.unwrap();
    assert_eq!(
        std::fs::read(pdir.join("config.json")).unwrap(),
        b"{\"a\":1}"
    );
    assert_eq!(
        std::fs::read(pdir.join("sub/weights.bin")).unwrap(),
        vec![9u8; 300_000]
    );
    let mut names: Vec<String> = std::fs::read_dir(&pdir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["config.json", "sub"]);

    // Object.
    let object = ModelSource::Object {
        url: format!("s3://{BUCKET}/obj/weights.safetensors"),
    };
    let odir = prepare(&cache, &object).await.unwrap();
    assert_eq!(
        std::fs::read(odir.join("weights.safetensors")).unwrap(),
        b"tensor"
    );

    // Missing object and missing bucket: the messages users see.
    let missing = ModelSource::Archive {
        url: format!("s3://{BUCKET}/nope/model.tar.gz"),
    };
    let e = prepare(&cache, &missing).await.unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "model data s3://{BUCKET}/nope/model.tar.gz: the object does not exist (NoSuchKey)"
        )
    );
    let no_bucket = ModelSource::Archive {
        url: "s3://no-such-bucket/model.tar.gz".into(),
    };
    let e = prepare(&cache, &no_bucket).await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "model data s3://no-such-bucket/model.tar.gz: bucket \"no-such-bucket\" does not exist (NoSuchBucket)"
    );
    let e = prepare(
        &cache,
        &ModelSource::Prefix {
            url: format!("s3://{BUCKET}/empty/"),
        },
    )
    .await
    .unwrap_err();
    assert!(matches!(e, ArtifactError::EmptyPrefix { .. }), "{e:?}");

    // The ".." key under a prefix is refused, and nothing lands outside.
    let bad = ModelSource::Prefix {
        url: format!("s3://{BUCKET}/bad/"),
    };
    let e = prepare(&cache, &bad).await.unwrap_err();
    match &e {
        ArtifactError::UnsafeEntry {
            kind: EntryKind::ObjectKey,
            reason: UnsafeReason::LeavesModelDir,
            ..
        } => {}
        other => panic!("expected an unsafe object key, got {other:?}"),
    }
    assert!(
        e.to_string()
            .ends_with("leaves the model directory; refusing to extract"),
        "{e}"
    );
    assert!(!tmp.path().join("models/evil").exists() && !tmp.path().join("evil").exists());

    // The server goes away: cached sources still work, an uncached one is unreachable.
    moto.stop();
    assert_eq!(prepare(&cache, &archive).await.unwrap(), dir);
    assert_eq!(std::fs::read(dir.join("model.bin")).unwrap(), b"moto v2");
    let e = prepare(
        &cache,
        &ModelSource::Archive {
            url: format!("s3://{BUCKET}/other.tar.gz"),
        },
    )
    .await
    .unwrap_err();
    assert!(matches!(e, ArtifactError::Unreachable { .. }), "{e:?}");
    let want = format!("model data s3://{BUCKET}/other.tar.gz: bucket \"{BUCKET}\" at {endpoint} is not reachable: ");
    assert!(e.to_string().starts_with(&want), "{e}");
}
