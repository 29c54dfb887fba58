//! awsJson1_1 framing: success and error responses.

use axum::response::{IntoResponse, Response};
use guardrail_api::error::ApiError;
use http::{HeaderValue, StatusCode};

const CONTENT_TYPE: &str = "application/x-amz-json-1.1";

pub(crate) fn respond(request_id: &str, result: Result<serde_json::Value, ApiError>) -> Response {
    let (status, body) = match result {
        Ok(v) => (StatusCode::OK, v),
        Err(e) => {
            if matches!(e, ApiError::Internal) {
                tracing::error!(request_id, "internal failure answered");
            } else {
                tracing::debug!(request_id, code = e.code(), message = %e, "request rejected");
            }
            (
                StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST),
                serde_json::json!({"__type": e.code(), "message": e.message()}),
            )
        }
    };
    let mut resp = (status, body.to_string()).into_response();
    let h = resp.headers_mut();
    h.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static(CONTENT_TYPE),
    );
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert("x-amzn-requestid", v);
    }
    resp
}

/// Serializes an output shape; absent optional members are omitted by the generated types.
pub(crate) fn to_value<T: serde::Serialize>(v: &T) -> Result<serde_json::Value, ApiError> {
    serde_json::to_value(v).map_err(|e| {
        tracing::error!(error = %e, "cannot serialize a response");
        ApiError::Internal
    })
}
