//! The model server over a real socket on 127.0.0.1 (port 0), driven by a raw hyper client.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use guardrail_model_server::{serve, ModelServerConfig};
use http_body_util::{BodyExt as _, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::{timeout, Instant};

/// Every wait in these tests is bounded by this.
const DEADLINE: Duration = Duration::from_secs(10);

struct Server {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<anyhow::Result<()>>,
}

impl Server {
    async fn start(cfg: ModelServerConfig) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(serve(listener, cfg, async move {
            let _ = rx.await;
        }));
        Self {
            addr,
            stop: Some(tx),
            task,
        }
    }

    /// Triggers the graceful shutdown and waits (bounded) for `serve` to return.
    async fn shutdown(mut self) {
        let _ = self.stop.take().unwrap().send(());
        timeout(DEADLINE, &mut self.task)
            .await
            .expect("serve returns after shutdown")
            .unwrap()
            .unwrap();
    }
}

async fn connect(addr: SocketAddr) -> SendRequest<Full<Bytes>> {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(conn);
    sender
}

struct Answer {
    status: StatusCode,
    headers: hyper::HeaderMap,
    body: Bytes,
}

async fn send(sender: &mut SendRequest<Full<Bytes>>, req: Request<Full<Bytes>>) -> Answer {
    timeout(DEADLINE, async {
        sender.ready().await.unwrap();
        let resp = sender.send_request(req).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        Answer {
            status,
            headers,
            body,
        }
    })
    .await
    .expect("answer within the deadline")
}

fn get(path: &str) -> Request<Full<Bytes>> {
    Request::get(path)
        .header("host", "localhost")
        .body(Full::default())
        .unwrap()
}

fn post(path: &str) -> hyper::http::request::Builder {
    Request::post(path).header("host", "localhost")
}

async fn one(addr: SocketAddr, req: Request<Full<Bytes>>) -> Answer {
    send(&mut connect(addr).await, req).await
}

fn json(body: &Bytes) -> serde_json::Value {
    serde_json::from_slice(body).unwrap_or_else(|e| panic!("{e}: {body:?}"))
}

#[tokio::test]
async fn ping_is_200_with_an_empty_body_when_healthy() {
    let server = Server::start(ModelServerConfig::default()).await;
    let a = one(server.addr, get("/ping")).await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(a.body.is_empty());
    server.shutdown().await;
}

#[tokio::test]
async fn invocations_report_version_pid_size_and_content_type() {
    let cfg = ModelServerConfig {
        model_version: "v\"2".into(),
        ..Default::default()
    };
    let server = Server::start(cfg).await;
    let mut c = connect(server.addr).await;
    let req = post("/invocations")
        .header("content-type", "text/csv")
        .header("x-amzn-sagemaker-custom-attributes", "trace=abc")
        .body(Full::new(Bytes::from_static(b"1,2,3\n4,5,6")))
        .unwrap();
    let a = send(&mut c, req).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.headers["content-type"], "application/json");
    assert_eq!(a.headers["x-amzn-sagemaker-custom-attributes"], "trace=abc");
    assert_eq!(
        json(&a.body),
        serde_json::json!({
            "model_version": "v\"2",
            "pid": std::process::id(),
            "host": std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap().trim(),
            "bytes": 11,
            "content_type": "text/csv",
        })
    );

    // Same keep-alive connection; no content type, no custom attributes.
    let req = post("/invocations").body(Full::default()).unwrap();
    let a = send(&mut c, req).await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(a
        .headers
        .get("x-amzn-sagemaker-custom-attributes")
        .is_none());
    let v = json(&a.body);
    assert_eq!(v["bytes"], 0);
    assert_eq!(v["content_type"], serde_json::Value::Null);
    server.shutdown().await;
}

#[tokio::test]
async fn anything_else_is_404() {
    let server = Server::start(ModelServerConfig::default()).await;
    let mut c = connect(server.addr).await;
    for req in [
        get("/invocations"),
        get("/"),
        get("/ping/x"),
        post("/ping").body(Full::default()).unwrap(),
    ] {
        assert_eq!(send(&mut c, req).await.status, StatusCode::NOT_FOUND);
    }
    server.shutdown().await;
}

#[tokio::test]
async fn startup_delay_holds_ping_at_503() {
    let delay = Duration::from_millis(400);
    let started = Instant::now();
    let server = Server::start(ModelServerConfig {
        startup_delay: delay,
        ..Default::default()
    })
    .await;
    let mut c = connect(server.addr).await;
    assert_eq!(
        send(&mut c, get("/ping")).await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    let deadline = Instant::now() + DEADLINE;
    loop {
        let status = send(&mut c, get("/ping")).await.status;
        if status == StatusCode::OK {
            break;
        }
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(Instant::now() < deadline, "ping never turned 200");
        tokio::time::sleep(Duration::from_millis(20)).await; // polling interval, not a wait for state
    }
    assert!(started.elapsed() >= delay);
    server.shutdown().await;
}

#[tokio::test]
async fn ping_fail_is_always_503() {
    let server = Server::start(ModelServerConfig {
        ping_fail: true,
        ..Default::default()
    })
    .await;
    let mut c = connect(server.addr).await;
    for _ in 0..3 {
        let a = send(&mut c, get("/ping")).await;
        assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE);
    }
    // Invocations still work: only health is broken.
    let req = post("/invocations").body(Full::default()).unwrap();
    assert_eq!(send(&mut c, req).await.status, StatusCode::OK);
    server.shutdown().await;
}

#[tokio::test]
async fn error_rate_one_fails_every_invocation_with_a_text_body() {
    let server = Server::start(ModelServerConfig {
        error_rate: 1.0,
        ..Default::default()
    })
    .await;
    let mut c = connect(server.addr).await;
    for _ in 0..3 {
        let req = post("/invocations").body(Full::default()).unwrap();
        let a = send(&mut c, req).await;
        assert_eq!(a.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(a.body, "injected error (ERROR_RATE=1)");
    }
    assert_eq!(send(&mut c, get("/ping")).await.status, StatusCode::OK);
    server.shutdown().await;
}

#[tokio::test]
async fn error_rate_is_a_fraction() {
    let server = Server::start(ModelServerConfig {
        error_rate: 0.5,
        ..Default::default()
    })
    .await;
    let mut c = connect(server.addr).await;
    let mut errors = 0;
    for _ in 0..400 {
        let req = post("/invocations").body(Full::default()).unwrap();
        if send(&mut c, req).await.status == StatusCode::INTERNAL_SERVER_ERROR {
            errors += 1;
        }
    }
    // Binomial(400, 0.5): sd = 10, so this window is ±8 sd.
    assert!((120..=280).contains(&errors), "{errors} errors out of 400");
    server.shutdown().await;
}

#[tokio::test]
async fn latency_is_added_to_invocations_only() {
    let latency = Duration::from_millis(250);
    let server = Server::start(ModelServerConfig {
        latency,
        ..Default::default()
    })
    .await;
    let mut c = connect(server.addr).await;
    let t = Instant::now();
    let req = post("/invocations").body(Full::default()).unwrap();
    assert_eq!(send(&mut c, req).await.status, StatusCode::OK);
    assert!(t.elapsed() >= latency, "{:?}", t.elapsed());
    let t = Instant::now();
    assert_eq!(send(&mut c, get("/ping")).await.status, StatusCode::OK);
    assert!(t.elapsed() < latency, "{:?}", t.elapsed());
    server.shutdown().await;
}

#[tokio::test]
async fn shutdown_finishes_in_flight_requests_then_stops_accepting() {
    let server = Server::start(ModelServerConfig {
        latency: Duration::from_millis(1000),
        ..Default::default()
    })
    .await;
    let addr = server.addr;
    // An idle keep-alive connection must not hold the shutdown up.
    let mut idle = connect(addr).await;
    assert_eq!(send(&mut idle, get("/ping")).await.status, StatusCode::OK);

    let mut busy = connect(addr).await;
    let in_flight = tokio::spawn(async move {
        let req = post("/invocations").body(Full::default()).unwrap();
        send(&mut busy, req).await.status
    });
    // Ordering precondition, not a wait for state: the request must have reached the server
    // (nothing observable tells the client that) before the shutdown; 200 ms is ample for a
    // loopback write and leaves 800 ms of the injected latency in flight.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let t = Instant::now();
    server.shutdown().await;
    assert_eq!(in_flight.await.unwrap(), StatusCode::OK);
    assert!(t.elapsed() < Duration::from_secs(5));
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "listener closed after shutdown"
    );
}
