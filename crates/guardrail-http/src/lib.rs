//! Guardrail's HTTP front: one port serving the SageMaker control plane (awsJson1_1,
//! `POST /` + `X-Amz-Target: SageMaker.<Op>`), the runtime (`POST /endpoints/{name}/invocations`)
//! and `GET /healthz`. Protocol framing and dispatch live here; shapes and the error table come
//! from `guardrail-api`, behaviour from the controller and the core. CloudWatch requests are
//! recognised here and served by `guardrail-cloudwatch`.

pub mod auth;
mod awsjson;
mod limits;
mod list;
mod runtime;
mod sagemaker;

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use guardrail_api::error::ApiError;
use guardrail_controller::Controller;
use guardrail_core::names::Arns;
use guardrail_proxy::Router;
use guardrail_store::Store;
// `crate::cloudwatch`: the service, its protocols and its framing (also of auth rejections).
use guardrail_cloudwatch as cloudwatch;

/// Largest control-plane request body accepted (SageMaker documents none; generous).
pub const MAX_CONTROL_BODY: usize = 1024 * 1024;
/// SageMaker's InvokeEndpoint payload limit.
pub const MAX_INVOKE_BODY: usize = 6 * 1024 * 1024;

pub use limits::Limits;

pub struct AppParts {
    pub store: Store,
    pub controller: Controller,
    pub router: Arc<Router>,
    pub monitor: guardrail_monitor::Monitor,
    pub limits: Limits,
    pub region: String,
    pub account_id: String,
    /// SigV4 keys and the `/metrics` token; the default checks nothing.
    pub auth: auth::AuthConfig,
}

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

/// The shared server state behind [`AppState`].
pub struct Inner {
    pub(crate) store: Store,
    pub(crate) controller: Controller,
    pub(crate) router: Arc<Router>,
    pub(crate) monitor: guardrail_monitor::Monitor,
    pub(crate) limits: Limits,
    pub(crate) arns: Arns,
    pub(crate) auth: auth::Auth,
    cloudwatch: cloudwatch::CloudWatch,
}

impl AppState {
    pub fn new(p: AppParts) -> Self {
        let arns = Arns::new(&p.region, &p.account_id);
        AppState(Arc::new(Inner {
            cloudwatch: cloudwatch::CloudWatch::new(p.monitor.clone(), arns.clone()),
            arns,
            auth: auth::Auth::new(p.auth, &p.region),
            store: p.store,
            controller: p.controller,
            router: p.router,
            monitor: p.monitor,
            limits: p.limits,
        }))
    }
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

pub fn app(state: AppState) -> axum::Router {
    let runtime = axum::Router::new()
        .route("/endpoints/{name}/invocations", post(invoke))
        // Checked against Content-Length before buffering, plus a cap on streamed bodies;
        // the handler answers SageMaker's error instead of axum's plain 413.
        .layer(DefaultBodyLimit::disable());
    let router = axum::Router::new()
        .route("/", post(control_plane))
        .route("/healthz", get(|| async { "ok" }))
        .route("/metrics", get(prometheus))
        .route(
            "/service/GraniteServiceVersion20100801/operation/{op}",
            post(cloudwatch_cbor),
        )
        .layer(DefaultBodyLimit::disable())
        .merge(runtime)
        .fallback(fallback);
    // Authentication runs before every handler (and the fallback) when configured.
    let router = if state.auth.active() {
        router.layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::authenticate,
        ))
    } else {
        router
    };
    router.with_state(state)
}

async fn control_plane(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    // One classification of `POST /` for dispatch and for authentication.
    if let auth::Surface::CloudWatch(protocol) = auth::Surface::of("/", &headers) {
        let op = headers
            .get("x-amz-target")
            .and_then(|v| v.to_str().ok())
            .and_then(|t| t.strip_prefix(cloudwatch::TARGET_PREFIX))
            .map(str::to_owned);
        return state
            .cloudwatch
            .serve(protocol, op.as_deref(), &headers, body)
            .await;
    }
    let request_id = uuid::Uuid::new_v4().to_string();
    let result = async {
        let target = headers
            .get("x-amz-target")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let Some(op) = target.strip_prefix("SageMaker.") else {
            return Err(ApiError::UnknownOperation(if target.is_empty() {
                "Missing X-Amz-Target header.".to_string()
            } else {
                format!("Unknown operation {target}.")
            }));
        };
        let body = read_limited(body, &headers, MAX_CONTROL_BODY)
            .await
            .map_err(|limit| {
                ApiError::PayloadTooLarge(format!(
                    "Request body is larger than the {limit}-byte limit."
                ))
            })?;
        sagemaker::dispatch(&state, op, &body).await
    }
    .await;
    awsjson::respond(&request_id, result)
}

async fn cloudwatch_cbor(
    State(state): State<AppState>,
    Path(op): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    state
        .cloudwatch
        .serve(cloudwatch::Protocol::Cbor, Some(&op), &headers, body)
        .await
}

/// Prometheus text exposition of Guardrail's own figures.
async fn prometheus(State(state): State<AppState>) -> Response {
    (
        [(
            http::header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.monitor.telemetry().render(),
    )
        .into_response()
}

async fn invoke(
    State(state): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    runtime::invoke(&state, &name, &headers, body).await
}

async fn fallback() -> Response {
    let body = serde_json::json!({"message": "Unknown path. Guardrail serves POST / (SageMaker control plane) and POST /endpoints/{name}/invocations."});
    (
        StatusCode::NOT_FOUND,
        [
            ("x-amzn-ErrorType", "UnknownOperationException"),
            ("content-type", "application/json"),
        ],
        body.to_string(),
    )
        .into_response()
}

/// Reads a body, refusing (by `Content-Length` first, then while streaming) anything larger
/// than `limit` bytes. `Err` carries the limit.
pub(crate) async fn read_limited(
    body: Body,
    headers: &HeaderMap,
    limit: usize,
) -> Result<Bytes, usize> {
    let declared = headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        discard(body).await;
        return Err(limit);
    }
    axum::body::to_bytes(body, limit).await.map_err(|_| limit)
}

/// Reads and drops an oversized body (bounded in bytes and time) before the error is sent:
/// a client still writing its body would otherwise see the connection reset instead of the
/// answer (the "lingering close" web servers do).
async fn discard(body: Body) {
    use http_body_util::BodyExt;
    const MAX_DRAIN: usize = 16 * 1024 * 1024;
    let mut body = body;
    let mut drained = 0usize;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    while drained < MAX_DRAIN {
        match tokio::time::timeout_at(deadline, body.frame()).await {
            Ok(Some(Ok(frame))) => {
                drained += frame.data_ref().map_or(0, |d| d.len());
            }
            _ => break,
        }
    }
}
