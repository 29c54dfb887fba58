//! sagemaker-runtime InvokeEndpoint (restJson1): header binding, limits, forwarding through
//! the router, and the mapping of data-plane failures to SageMaker's runtime errors.

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use guardrail_api::error::{messages, RuntimeError};
use guardrail_api::generated::runtime::InvokeEndpointInput;
use guardrail_api::wire::{validate_input, validation_message, Blob};
use guardrail_core::names::name_key;
use guardrail_proxy::{InvokeError, InvokeRequest};
use http::{HeaderMap, HeaderValue, StatusCode};

use crate::{read_limited, AppState, MAX_INVOKE_BODY};

/// The longest container message copied into `OriginalMessage`.
const MAX_ORIGINAL_MESSAGE: usize = 4096;

pub(crate) async fn invoke(
    state: &AppState,
    name: &str,
    headers: &HeaderMap,
    body: Body,
) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let result = invoke_inner(state, name, headers, body, &request_id).await;
    let mut resp = match result {
        Ok(r) => r,
        Err(e) => error_response(&e),
    };
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        resp.headers_mut().insert("x-amzn-requestid", v);
    }
    resp
}

fn header(headers: &HeaderMap, name: &str) -> Result<Option<String>, RuntimeError> {
    match headers.get(name) {
        None => Ok(None),
        Some(v) => v.to_str().map(|s| Some(s.to_string())).map_err(|_| {
            RuntimeError::Validation(format!(
                "1 validation error detected: Value at '{name}' failed to satisfy constraint: Member must contain only visible ASCII characters"
            ))
        }),
    }
}

async fn invoke_inner(
    state: &AppState,
    name: &str,
    headers: &HeaderMap,
    body: Body,
    request_id: &str,
) -> Result<Response, RuntimeError> {
    let input = InvokeEndpointInput {
        endpoint_name: Some(name.to_string()),
        body: Some(Blob(Vec::new())), // size is checked below, without copying the payload
        content_type: header(headers, "content-type")?,
        accept: header(headers, "accept")?,
        custom_attributes: header(headers, "x-amzn-sagemaker-custom-attributes")?,
        target_model: header(headers, "x-amzn-sagemaker-target-model")?,
        target_variant: header(headers, "x-amzn-sagemaker-target-variant")?,
        target_container_hostname: header(headers, "x-amzn-sagemaker-target-container-hostname")?,
        inference_id: header(headers, "x-amzn-sagemaker-inference-id")?,
        enable_explanations: header(headers, "x-amzn-sagemaker-enable-explanations")?,
        inference_component_name: header(headers, "x-amzn-sagemaker-inference-component")?,
        session_id: header(headers, "x-amzn-sagemaker-session-id")?,
        ..Default::default()
    };
    validate_input(&input).map_err(|v| RuntimeError::Validation(validation_message(&v)))?;
    for (what, value) in [
        ("TargetModel (multi-model endpoints)", &input.target_model),
        ("InferenceComponentName", &input.inference_component_name),
        ("SessionId (stateful sessions)", &input.session_id),
    ] {
        if value.is_some() {
            return Err(RuntimeError::Validation(format!(
                "{what} is not supported by Guardrail."
            )));
        }
    }
    let body: Bytes = read_limited(body, headers, MAX_INVOKE_BODY)
        .await
        .map_err(|_| {
            RuntimeError::Validation(format!("Request {request_id} has oversize body."))
        })?;

    let req = InvokeRequest {
        body,
        content_type: input.content_type,
        accept: input.accept,
        custom_attributes: input.custom_attributes,
        target_variant: input.target_variant,
        inference_id: input.inference_id,
        target_container_hostname: input.target_container_hostname,
        enable_explanations: input.enable_explanations,
    };
    let out = state
        .router
        .invoke(&name_key(name), req)
        .await
        .map_err(|e| to_runtime_error(state, name, e))?;

    let mut resp = (StatusCode::OK, out.body).into_response();
    let h = resp.headers_mut();
    if let Some(ct) = out
        .content_type
        .and_then(|v| HeaderValue::from_str(&v).ok())
    {
        h.insert(http::header::CONTENT_TYPE, ct);
    }
    if let Ok(v) = HeaderValue::from_str(&out.variant) {
        h.insert("x-amzn-invoked-production-variant", v);
    }
    if let Some(ca) = out
        .custom_attributes
        .and_then(|v| HeaderValue::from_str(&v).ok())
    {
        h.insert("x-amzn-sagemaker-custom-attributes", ca);
    }
    Ok(resp)
}

fn to_runtime_error(state: &AppState, name: &str, e: InvokeError) -> RuntimeError {
    let log_stream_arn = state.arns.log_group(name);
    match e {
        InvokeError::EndpointNotFound(_) => RuntimeError::Validation(
            messages::endpoint_not_found_runtime(name, &state.arns.account),
        ),
        InvokeError::UnknownVariant { variant, .. } => RuntimeError::Validation(format!(
            "Target variant \"{variant}\" is not present in endpoint \"{name}\"."
        )),
        InvokeError::NoHealthyInstance { variant, .. } => RuntimeError::ServiceUnavailable(
            format!("No healthy instance is available for variant \"{variant}\" of endpoint \"{name}\"."),
        ),
        InvokeError::Overloaded { variant, .. } => RuntimeError::ServiceUnavailable(format!(
            "Every instance of variant \"{variant}\" of endpoint \"{name}\" is at its concurrency limit; retry."
        )),
        InvokeError::ModelStatus {
            status,
            body,
            instance,
            ..
        } => {
            let text = String::from_utf8_lossy(&body[..body.len().min(MAX_ORIGINAL_MESSAGE)]).into_owned();
            let side = if status < 500 { "client" } else { "server" };
            RuntimeError::Model {
                message: format!(
                    "Received {side} error ({status}) from primary with message \"{text}\". See the log of instance {instance} for more information."
                ),
                original_status: Some(status),
                original_message: Some(text),
                log_stream_arn,
            }
        }
        InvokeError::ModelFailed {
            instance,
            detail,
            timed_out,
            ..
        } => RuntimeError::Model {
            message: if timed_out {
                format!("Received server error (0) from primary with message \"Your invocation timed out while waiting for a response from container primary. Review the latency metrics for each container in Amazon CloudWatch, resolve the issue, and try again.\". See the log of instance {instance} for more information.")
            } else {
                format!("Received server error (0) from primary with message \"The connection to container primary failed: {detail}\". See the log of instance {instance} for more information.")
            },
            original_status: None,
            original_message: None,
            log_stream_arn,
        },
        InvokeError::ResponseTooLarge { instance, limit, .. } => RuntimeError::Model {
            message: format!(
                "Received server error (0) from primary with message \"The response from container primary is larger than the {limit}-byte limit.\". See the log of instance {instance} for more information."
            ),
            original_status: None,
            original_message: None,
            log_stream_arn,
        },
    }
}

pub(crate) fn error_response(e: &RuntimeError) -> Response {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = (status, e.body().to_string()).into_response();
    let h = resp.headers_mut();
    h.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert("x-amzn-errortype", HeaderValue::from_static(e.error_type()));
    resp
}
