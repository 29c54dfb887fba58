//! Guardrail's HTTP front: one port serving the SageMaker control plane (awsJson1_1,
//! `POST /` + `X-Amz-Target: SageMaker.<Op>`), the runtime (`POST /endpoints/{name}/invocations`)
//! and `GET /healthz`. Protocol framing and dispatch live here; shapes and the error table come
//! from `guardrail-api`, behaviour from the controller and the core.

mod awsjson;
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

/// Largest control-plane request body accepted (SageMaker documents none; generous).
pub const MAX_CONTROL_BODY: usize = 1024 * 1024;
/// SageMaker's InvokeEndpoint payload limit.
pub const MAX_INVOKE_BODY: usize = 6 * 1024 * 1024;

pub struct AppParts {
    pub store: Store,
    pub controller: Controller,
    pub router: Arc<Router>,
    pub region: String,
    pub account_id: String,
}

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

/// The shared server state behind [`AppState`].
pub struct Inner {
    pub(crate) store: Store,
    pub(crate) controller: Controller,
    pub(crate) router: Arc<Router>,
    pub(crate) arns: Arns,
}

impl AppState {
    pub fn new(p: AppParts) -> Self {
        AppState(Arc::new(Inner {
            arns: Arns::new(&p.region, &p.account_id),
            store: p.store,
            controller: p.controller,
            router: p.router,
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
    axum::Router::new()
        .route("/", post(control_plane))
        .route("/healthz", get(|| async { "ok" }))
        .layer(DefaultBodyLimit::disable())
        .merge(runtime)
        .fallback(fallback)
        .with_state(state)
}

async fn control_plane(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
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
        return Err(limit);
    }
    axum::body::to_bytes(body, limit).await.map_err(|_| limit)
}
