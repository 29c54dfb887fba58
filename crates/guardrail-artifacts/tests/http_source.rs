//! `http://` (loopback) archives through reqwest, against a tiny std-only HTTP server in this
//! test: download + extraction, reuse by ETag, a changed ETag, 404, an unreachable host, a body
//! that is not an archive, and a server that errors on HEAD (cached copy kept).

mod common;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::tar_gz;
use guardrail_artifacts::{
    ArtifactCache, ArtifactError, ArtifactStats, ModelDataConfig, ModelSource,
};

const DEADLINE: Duration = Duration::from_secs(60);

#[derive(Default)]
struct State {
    files: Mutex<HashMap<String, (Vec<u8>, String)>>,
    gets: AtomicUsize,
    heads: AtomicUsize,
    broken: AtomicBool,
}

/// Serves `State::files` by path, one request per connection; `broken` answers 503.
fn start_server() -> (String, Arc<State>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let state = Arc::new(State::default());
    let st = Arc::clone(&state);
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { continue };
            let st = Arc::clone(&st);
            std::thread::spawn(move || {
                let _ = handle(conn, &st);
            });
        }
    });
    (base, state)
}

fn handle(mut conn: TcpStream, st: &State) -> std::io::Result<()> {
    conn.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 16 << 10 {
        if conn.read(&mut byte)? == 0 {
            return Ok(());
        }
        head.push(byte[0]);
    }
    let text = String::from_utf8_lossy(&head);
    let mut first = text.lines().next().unwrap_or("").split_whitespace();
    let (method, path) = (first.next().unwrap_or(""), first.next().unwrap_or(""));
    let counter = if method == "HEAD" {
        &st.heads
    } else {
        &st.gets
    };
    counter.fetch_add(1, Ordering::SeqCst);
    let file = st.files.lock().unwrap().get(path).cloned();
    let (status, body, etag) = match file {
        _ if st.broken.load(Ordering::SeqCst) => ("503 Service Unavailable", Vec::new(), None),
        Some((body, etag)) => ("200 OK", body, Some(etag)),
        None => ("404 Not Found", b"not here".to_vec(), None),
    };
    let mut resp = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    if let Some(e) = etag {
        resp.push_str(&format!("ETag: \"{e}\"\r\n"));
    }
    resp.push_str("\r\n");
    conn.write_all(resp.as_bytes())?;
    if method != "HEAD" {
        conn.write_all(&body)?;
    }
    conn.flush()
}

async fn prepare(cache: &ArtifactCache, url: &str) -> Result<std::path::PathBuf, ArtifactError> {
    let src = ModelSource::Archive {
        url: url.to_owned(),
    };
    tokio::time::timeout(DEADLINE, cache.prepare(&src))
        .await
        .expect("prepare timed out")
}

#[tokio::test]
async fn http_archives() {
    let (base, st) = start_server();
    let tmp = tempfile::tempdir().unwrap();
    let cache = ArtifactCache::new(tmp.path().join("models"), ModelDataConfig::default()).unwrap();
    let url = format!("{base}/models/model.tar.gz");
    let put = |path: &str, body: Vec<u8>, etag: &str| {
        st.files
            .lock()
            .unwrap()
            .insert(path.to_owned(), (body, etag.to_owned()));
    };

    put(
        "/models/model.tar.gz",
        tar_gz(&[("model.bin", b"http v1"), ("cfg/a.json", b"{}")]),
        "e1",
    );
    let dir = prepare(&cache, &url).await.unwrap();
    assert_eq!(std::fs::read(dir.join("model.bin")).unwrap(), b"http v1");
    assert_eq!(std::fs::read(dir.join("cfg/a.json")).unwrap(), b"{}");
    assert_eq!(st.gets.load(Ordering::SeqCst), 1);

    // Reused: one HEAD, no second GET.
    assert_eq!(prepare(&cache, &url).await.unwrap(), dir);
    assert_eq!(
        (
            st.gets.load(Ordering::SeqCst),
            st.heads.load(Ordering::SeqCst)
        ),
        (1, 1)
    );
    assert_eq!(
        cache.stats(),
        ArtifactStats {
            downloads: 1,
            reused: 1
        }
    );

    // A new ETag: fetched again.
    put(
        "/models/model.tar.gz",
        tar_gz(&[("model.bin", b"http v2")]),
        "e2",
    );
    prepare(&cache, &url).await.unwrap();
    assert_eq!(std::fs::read(dir.join("model.bin")).unwrap(), b"http v2");
    assert_eq!(st.gets.load(Ordering::SeqCst), 2);

    // The server errors on HEAD: the cached copy is used.
    st.broken.store(true, Ordering::SeqCst);
    assert_eq!(prepare(&cache, &url).await.unwrap(), dir);
    assert_eq!(std::fs::read(dir.join("model.bin")).unwrap(), b"http v2");
    assert_eq!(
        cache.stats(),
        ArtifactStats {
            downloads: 2,
            reused: 2
        }
    );
    // …but a source never fetched fails with the status.
    let e = prepare(&cache, &format!("{base}/other.tar.gz"))
        .await
        .unwrap_err();
    assert_eq!(e.to_string(), format!("model data {base}/other.tar.gz: download failed: the server answered HTTP 503 Service Unavailable"));
    st.broken.store(false, Ordering::SeqCst);

    let e = prepare(&cache, &format!("{base}/missing.tar.gz"))
        .await
        .unwrap_err();
    assert!(matches!(e, ArtifactError::NotFound { .. }), "{e:?}");
    assert_eq!(
        e.to_string(),
        format!("model data {base}/missing.tar.gz: the object does not exist (HTTP 404 Not Found)")
    );

    put("/page.tar.gz", b"<html>a login page</html>".to_vec(), "p");
    let e = prepare(&cache, &format!("{base}/page.tar.gz"))
        .await
        .unwrap_err();
    assert!(
        e.to_string().starts_with(&format!(
            "model data {base}/page.tar.gz: not a gzip-compressed tar archive: "
        )),
        "{e}"
    );

    // Nothing listens on this port.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let gone = format!("http://127.0.0.1:{port}/model.tar.gz");
    let e = prepare(&cache, &gone).await.unwrap_err();
    assert!(matches!(e, ArtifactError::Unreachable { .. }), "{e:?}");
    assert!(
        e.to_string().starts_with(&format!(
            "model data {gone}: host \"127.0.0.1\" is not reachable: "
        )),
        "{e}"
    );

    // Only the model (and its previous copy, kept until the next start): failures left
    // nothing behind.
    let mut left: Vec<String> = std::fs::read_dir(tmp.path().join("models"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left.len(), 2, "{left:?}");
    assert!(
        left[0].starts_with(".stale-") && left[1].len() == 64,
        "{left:?}"
    );
    // Sealed read-only trees are removed by the cache's owner with write bits restored.
    make_writable(tmp.path());
}

fn make_writable(dir: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    for entry in walk(dir) {
        if entry.symlink_metadata().is_ok_and(|m| m.is_dir()) {
            let _ = std::fs::set_permissions(&entry, std::fs::Permissions::from_mode(0o755));
        }
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = vec![dir.to_path_buf()];
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                out.extend(walk(&e.path()));
            }
        }
    }
    out
}
