//! `guardrail-model-server`: a small model server that speaks the SageMaker container contract
//! (`GET /ping`, `POST /invocations` on `SAGEMAKER_BIND_TO_PORT`) and has fault knobs (latency,
//! error rate, startup delay, failing pings) read from the environment. It is what
//! `guardrail model-server` runs, and what tests, demos and benchmarks launch as a *real*
//! process behind the process backend.
//!
//! It depends on tokio and hyper only; it must not depend on any other Guardrail crate (it plays
//! the customer's container, so it knows nothing of Guardrail's internals).

use std::convert::Infallible;
use std::future::Future;
use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context as _};
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;

/// Header SageMaker passes through untouched in both directions; echoed back by this server.
pub const CUSTOM_ATTRIBUTES: HeaderName =
    HeaderName::from_static("x-amzn-sagemaker-custom-attributes");

/// Port SageMaker containers listen on when the platform does not set `SAGEMAKER_BIND_TO_PORT`.
pub const DEFAULT_PORT: u16 = 8080;

/// Everything the server's behaviour depends on; see [`ModelServerConfig::from_env`].
#[derive(Debug, Clone, PartialEq)]
pub struct ModelServerConfig {
    /// Where [`run`] binds (ignored by [`serve`], which is handed a listener).
    pub addr: SocketAddr,
    /// Reported as `model_version` in every `/invocations` answer.
    pub model_version: String,
    /// Added before answering each `/invocations` request.
    pub latency: Duration,
    /// Fraction (0.0–1.0) of `/invocations` requests answered 500.
    pub error_rate: f64,
    /// `/ping` answers 503 until this long after the server started serving.
    pub startup_delay: Duration,
    /// `/ping` always answers 503.
    pub ping_fail: bool,
}

impl Default for ModelServerConfig {
    fn default() -> Self {
        Self {
            addr: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), DEFAULT_PORT),
            model_version: "v1".to_owned(),
            latency: Duration::ZERO,
            error_rate: 0.0,
            startup_delay: Duration::ZERO,
            ping_fail: false,
        }
    }
}

impl ModelServerConfig {
    /// Reads `SAGEMAKER_BIND_TO_PORT` (default 8080), `MODEL_SERVER_HOST` (default 127.0.0.1),
    /// `MODEL_VERSION` (default `v1`), `LATENCY_MS` (default 0), `ERROR_RATE` (0.0–1.0, default 0),
    /// `STARTUP_DELAY_S` (float seconds, default 0) and `PING_FAIL` (`1`/`true` to fail pings).
    /// Unset and empty variables take the default; malformed ones are an error.
    pub fn from_env() -> anyhow::Result<Self> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// [`ModelServerConfig::from_env`] over any source of variables (tests pass a map rather than
    /// mutate the process environment).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let var = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let mut cfg = Self::default();
        if let Some(v) = var("SAGEMAKER_BIND_TO_PORT") {
            let port = v
                .trim()
                .parse::<u16>()
                .with_context(|| format!("SAGEMAKER_BIND_TO_PORT={v:?} is not a port number"))?;
            cfg.addr.set_port(port);
        }
        if let Some(v) = var("MODEL_SERVER_HOST") {
            let ip = v
                .trim()
                .parse::<IpAddr>()
                .with_context(|| format!("MODEL_SERVER_HOST={v:?} is not an IP address"))?;
            cfg.addr.set_ip(ip);
        }
        if let Some(v) = var("MODEL_VERSION") {
            cfg.model_version = v;
        } else if let Some(v) = read_version_file(var("SM_MODEL_DIR").as_deref())? {
            cfg.model_version = v;
        }
        if let Some(v) = var("LATENCY_MS") {
            let ms = v
                .trim()
                .parse::<u64>()
                .with_context(|| format!("LATENCY_MS={v:?} is not a whole number of ms"))?;
            cfg.latency = Duration::from_millis(ms);
        }
        if let Some(v) = var("ERROR_RATE") {
            let rate = v
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|r| (0.0..=1.0).contains(r));
            let Some(rate) = rate else {
                bail!("ERROR_RATE={v:?} is not a fraction between 0.0 and 1.0");
            };
            cfg.error_rate = rate;
        }
        if let Some(v) = var("STARTUP_DELAY_S") {
            let secs = v.trim().parse::<f64>().ok();
            let Some(delay) = secs.and_then(|s| Duration::try_from_secs_f64(s).ok()) else {
                bail!("STARTUP_DELAY_S={v:?} is not a non-negative number of seconds");
            };
            cfg.startup_delay = delay;
        }
        if let Some(v) = var("PING_FAIL") {
            cfg.ping_fail = match v.trim().to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" => true,
                "0" | "false" | "no" => false,
                _ => bail!("PING_FAIL={v:?} is not 1 or 0"),
            };
        }
        Ok(cfg)
    }
}

/// Where SageMaker puts the model artifacts inside a container (`ModelDataUrl`, extracted).
pub const CONTAINER_MODEL_DIR: &str = "/opt/ml/model";

/// A `VERSION` file in the model directory (`SM_MODEL_DIR`, else `/opt/ml/model`) names the
/// model version when `MODEL_VERSION` is not set: a test can tell from the answers which
/// artifacts an instance was given.
fn read_version_file(model_dir: Option<&str>) -> anyhow::Result<Option<String>> {
    let path = std::path::Path::new(model_dir.unwrap_or(CONTAINER_MODEL_DIR)).join("VERSION");
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(Some(text.trim().to_owned()).filter(|v| !v.is_empty())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// Binds `cfg.addr` and serves until SIGTERM or SIGINT; then stops accepting, lets in-flight
/// requests finish and returns `Ok(())` (so the process exits 0).
pub async fn run(cfg: ModelServerConfig) -> anyhow::Result<()> {
    // Signal handlers first: a SIGTERM that arrives right after the port opens must be graceful.
    let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    let listener = TcpListener::bind(cfg.addr)
        .await
        .with_context(|| format!("binding {}", cfg.addr))?;
    let shutdown = async move {
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM: draining"),
            _ = int.recv() => tracing::info!("SIGINT: draining"),
        }
    };
    serve(listener, cfg, shutdown).await
}

/// Serves on an already-bound listener until `shutdown` completes, then stops accepting, closes
/// idle keep-alive connections, waits for in-flight requests and returns. `cfg.addr` is ignored.
pub async fn serve(
    listener: TcpListener,
    cfg: ModelServerConfig,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let local = listener
        .local_addr()
        .context("reading the listener's address")?;
    tracing::info!(
        addr = %local,
        model_version = %cfg.model_version,
        latency_ms = cfg.latency.as_millis() as u64,
        error_rate = cfg.error_rate,
        startup_delay_s = cfg.startup_delay.as_secs_f64(),
        ping_fail = cfg.ping_fail,
        "model server listening"
    );
    let state = Arc::new(State::new(cfg));
    let (stop_tx, stop_rx) = watch::channel(());
    let mut conns = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _peer)) => stream,
                    Err(e) => {
                        // Typically EMFILE; back off a little instead of spinning.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        continue;
                    }
                };
                // Small request/response pairs: do not let Nagle hold the answer back.
                let _ = stream.set_nodelay(true);
                conns.spawn(serve_connection(stream, state.clone(), stop_rx.clone()));
            }
            // Reap finished connection tasks so the set does not grow with every connection.
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    drop(listener);
    let _ = stop_tx.send(());
    while conns.join_next().await.is_some() {}
    tracing::info!("model server stopped");
    Ok(())
}

/// One keep-alive HTTP/1 connection; on stop, finishes the request in flight and closes.
async fn serve_connection(
    stream: tokio::net::TcpStream,
    state: Arc<State>,
    mut stop: watch::Receiver<()>,
) {
    let svc = hyper::service::service_fn(move |req| handle(state.clone(), req));
    // The timer arms hyper's header-read timeout (30 s): a client that opens a connection and
    // sends nothing cannot hold it forever.
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .keep_alive(true)
        .serve_connection(TokioIo::new(stream), svc);
    tokio::pin!(conn);
    let result = tokio::select! {
        res = conn.as_mut() => res,
        _ = stop.changed() => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = result {
        tracing::debug!(error = %e, "connection ended with an error");
    }
}

/// Per-server state shared by all connections; built once so requests allocate only their answer.
struct State {
    cfg: ModelServerConfig,
    ready_at: Instant,
    pid: u32,
    /// `model_version` as a JSON string literal, escaped once.
    version_json: String,
    /// The host name as a JSON string literal: in a container, its id prefix, which names the
    /// instance where the pid (1) does not.
    host_json: String,
}

impl State {
    fn new(cfg: ModelServerConfig) -> Self {
        let version_json =
            serde_json::to_string(&cfg.model_version).expect("a string always serializes");
        Self {
            ready_at: Instant::now() + cfg.startup_delay,
            pid: std::process::id(),
            version_json,
            host_json: serde_json::to_string(&host_name()).expect("a string always serializes"),
            cfg,
        }
    }
}

/// The kernel's host name for this process's UTS namespace (empty if unreadable).
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_default()
}

type Resp = Response<Full<Bytes>>;

async fn handle(state: Arc<State>, req: Request<Incoming>) -> Result<Resp, Infallible> {
    let resp = match (req.method(), req.uri().path()) {
        (&Method::GET, "/ping") => ping(&state),
        (&Method::POST, "/invocations") => invoke(&state, req).await,
        _ => plain(StatusCode::NOT_FOUND, "not found"),
    };
    Ok(resp)
}

fn ping(state: &State) -> Resp {
    if state.cfg.ping_fail || Instant::now() < state.ready_at {
        return empty(StatusCode::SERVICE_UNAVAILABLE);
    }
    empty(StatusCode::OK)
}

async fn invoke(state: &State, req: Request<Incoming>) -> Resp {
    let (parts, mut body) = req.into_parts();
    // Count the body without buffering it.
    let mut bytes = 0usize;
    while let Some(frame) = body.frame().await {
        match frame {
            Ok(frame) => bytes += frame.data_ref().map_or(0, Bytes::len),
            Err(e) => return plain(StatusCode::BAD_REQUEST, &format!("reading body: {e}")),
        }
    }
    if !state.cfg.latency.is_zero() {
        tokio::time::sleep(state.cfg.latency).await;
    }
    let error_rate = state.cfg.error_rate;
    if error_rate > 0.0 && rand::random::<f64>() < error_rate {
        return plain(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("injected error (ERROR_RATE={error_rate})"),
        );
    }
    let content_type = parts
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let mut out = Vec::with_capacity(112 + state.version_json.len() + state.host_json.len());
    let _ = write!(
        out,
        r#"{{"model_version":{},"pid":{},"host":{},"bytes":{},"content_type":"#,
        state.version_json, state.pid, state.host_json, bytes
    );
    match content_type {
        Some(ct) => serde_json::to_writer(&mut out, ct).expect("writing to a Vec cannot fail"),
        None => out.extend_from_slice(b"null"),
    }
    out.push(b'}');
    let mut resp = Response::new(Full::new(Bytes::from(out)));
    let headers = resp.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Some(attrs) = parts.headers.get(&CUSTOM_ATTRIBUTES) {
        headers.insert(CUSTOM_ATTRIBUTES, attrs.clone());
    }
    resp
}

fn empty(status: StatusCode) -> Resp {
    let mut resp = Response::new(Full::new(Bytes::new()));
    *resp.status_mut() = status;
    resp
}

fn plain(status: StatusCode, text: &str) -> Resp {
    let mut resp = Response::new(Full::new(Bytes::copy_from_slice(text.as_bytes())));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn cfg(vars: &[(&str, &str)]) -> anyhow::Result<ModelServerConfig> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ModelServerConfig::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_follow_the_container_contract() {
        let c = cfg(&[]).unwrap();
        assert_eq!(c, ModelServerConfig::default());
        assert_eq!(c.addr, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(c.model_version, "v1");
    }

    #[test]
    fn every_knob_is_read() {
        let c = cfg(&[
            ("SAGEMAKER_BIND_TO_PORT", "9001"),
            ("MODEL_SERVER_HOST", "0.0.0.0"),
            ("MODEL_VERSION", "v2"),
            ("LATENCY_MS", "25"),
            ("ERROR_RATE", "0.1"),
            ("STARTUP_DELAY_S", "1.5"),
            ("PING_FAIL", "1"),
        ])
        .unwrap();
        assert_eq!(c.addr, "0.0.0.0:9001".parse().unwrap());
        assert_eq!(c.model_version, "v2");
        assert_eq!(c.latency, Duration::from_millis(25));
        assert_eq!(c.error_rate, 0.1);
        assert_eq!(c.startup_delay, Duration::from_millis(1500));
        assert!(c.ping_fail);
    }

    #[test]
    fn the_model_dir_names_the_version_unless_model_version_is_set() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("VERSION"), "v7\n").unwrap();
        let d = dir.path().to_str().unwrap();
        assert_eq!(cfg(&[("SM_MODEL_DIR", d)]).unwrap().model_version, "v7");
        let c = cfg(&[("SM_MODEL_DIR", d), ("MODEL_VERSION", "v2")]).unwrap();
        assert_eq!(c.model_version, "v2");
        let empty = tempfile::tempdir().unwrap();
        let e = empty.path().to_str().unwrap();
        assert_eq!(cfg(&[("SM_MODEL_DIR", e)]).unwrap().model_version, "v1");
    }

    #[test]
    fn empty_values_take_the_default() {
        let c = cfg(&[("SAGEMAKER_BIND_TO_PORT", ""), ("PING_FAIL", "")]).unwrap();
        assert_eq!(c, ModelServerConfig::default());
    }

    #[test]
    fn malformed_values_are_rejected() {
        for (k, v) in [
            ("SAGEMAKER_BIND_TO_PORT", "eighty"),
            ("SAGEMAKER_BIND_TO_PORT", "70000"),
            ("MODEL_SERVER_HOST", "localhost:1"),
            ("LATENCY_MS", "-1"),
            ("ERROR_RATE", "1.5"),
            ("ERROR_RATE", "NaN"),
            ("STARTUP_DELAY_S", "-2"),
            ("PING_FAIL", "maybe"),
        ] {
            let err = cfg(&[(k, v)]).expect_err(k);
            assert!(err.to_string().contains(k), "{k}={v}: {err}");
        }
    }
}
