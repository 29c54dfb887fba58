//! In-process handler harness: the whole HTTP app (`guardrail_http::app`) over a real store on a
//! temp dir, a real controller, router and monitor — no socket, no server process. A request is
//! one `tower::ServiceExt::oneshot` call, so handler tests run in milliseconds and can look at
//! the store directly. Instances are never launched here (no image runs); tests that need
//! running instances belong to `crates/guardrail/tests`.
#![allow(dead_code, unreachable_pub)] // each test file uses a different subset

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Body;
use guardrail_artifacts::ArtifactCache;
use guardrail_backend::{CombinedBackend, ProbeConfig, ProcessBackend};
use guardrail_controller::{
    Clock, Controller, ControllerConfig, ControllerParts, ImageCatalog, ImageCommand,
};
use guardrail_monitor::{Monitor, MonitorConfig};
use guardrail_proxy::{Router, RouterConfig};
use guardrail_store::Store;
use http::{Request, StatusCode};
use http_body_util::BodyExt as _;
use serde_json::Value;
use tokio::sync::{mpsc, watch};
use tower::ServiceExt as _;

pub struct Harness {
    pub app: axum::Router,
    pub store: Store,
    _dir: tempfile::TempDir,
    _shutdown: watch::Sender<bool>,
}

/// One answer: status, headers and the body parsed as JSON (`Null` when it is not JSON).
pub struct Answer {
    pub status: StatusCode,
    pub headers: http::HeaderMap,
    pub json: Value,
}

impl Harness {
    /// A fresh app with one process image, `model:v1`, configured (never started here).
    pub async fn new() -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("guardrail.db")).unwrap();
        let clock = Clock::system();
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let backend = Arc::new(CombinedBackend::new(
            ProcessBackend::new(dir.path().to_path_buf(), events_tx, ProbeConfig::default()),
            None,
        ));
        let monitor = Monitor::open(store.clone(), clock.clone(), MonitorConfig::default())
            .await
            .unwrap();
        let router = Arc::new(Router::new(RouterConfig::default()));
        let images = ImageCatalog::new(HashMap::from([(
            "model:v1".to_string(),
            ImageCommand {
                command: vec!["/bin/false".into()],
                env: Default::default(),
            },
        )]));
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let controller = Controller::start(
            ControllerParts {
                store: store.clone(),
                backend,
                router: router.clone(),
                images,
                artifacts: ArtifactCache::new(dir.path().join("models"), Default::default())
                    .unwrap(),
                platform_env: Default::default(),
                clock,
                data_dir: dir.path().to_path_buf(),
                config: ControllerConfig::default(),
                alarms: Arc::new(monitor.clone()),
                deployments: None,
            },
            events_rx,
            shutdown_rx,
        )
        .await
        .unwrap();
        let state = guardrail_http::AppState::new(guardrail_http::AppParts {
            store: store.clone(),
            controller,
            router,
            monitor,
            limits: Default::default(),
            region: "us-east-1".into(),
            account_id: "123456789012".into(),
            auth: Default::default(),
        });
        Harness {
            app: guardrail_http::app(state),
            store,
            _dir: dir,
            _shutdown: shutdown_tx,
        }
    }

    /// Sends one request through the whole app.
    pub async fn send(&self, req: Request<Body>) -> Answer {
        let resp = self.app.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Answer {
            status,
            headers,
            json,
        }
    }

    /// A SageMaker control-plane call as boto3 frames it (awsJson1_1).
    pub async fn sagemaker(&self, op: &str, input: Value) -> Answer {
        let req = Request::post("/")
            .header("x-amz-target", format!("SageMaker.{op}"))
            .header("content-type", "application/x-amz-json-1.1")
            .body(Body::from(input.to_string()))
            .unwrap();
        self.send(req).await
    }

    /// A CloudWatch call as current boto3 frames it (awsJson1_0).
    pub async fn cloudwatch(&self, op: &str, input: Value) -> Answer {
        let req = Request::post("/")
            .header(
                "x-amz-target",
                format!("GraniteServiceVersion20100801.{op}"),
            )
            .header("content-type", "application/x-amz-json-1.0")
            .body(Body::from(input.to_string()))
            .unwrap();
        self.send(req).await
    }

    /// InvokeEndpoint as the runtime client frames it.
    pub async fn invoke(&self, endpoint: &str, body: &str) -> Answer {
        let req = Request::post(format!("/endpoints/{endpoint}/invocations"))
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        self.send(req).await
    }
}
