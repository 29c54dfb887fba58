//! The three protocols: a request body → the operation and its awsJson input, and an answer
//! (output or error) → the response in the request's protocol.

use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use guardrail_api::error::CloudWatchError;
use guardrail_api::generated::cloudwatch::{self as cw, Operation};
use guardrail_api::protocol::{cbor, query, xml};
use http::{HeaderValue, StatusCode};

use crate::messages;

/// The protocol a CloudWatch request arrived in (and is answered in).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// awsJson1_0.
    Json,
    /// rpc-v2-cbor.
    Cbor,
    /// awsQuery (form in, XML out).
    Query,
}

fn unknown_operation(name: &str) -> CloudWatchError {
    CloudWatchError::UnknownOperation(messages::unknown_operation(name))
}

/// The operation and its input as the awsJson protocol would carry it.
pub(crate) fn decode(
    protocol: Protocol,
    op_name: Option<&str>,
    body: &[u8],
) -> Result<(Operation, serde_json::Value), CloudWatchError> {
    let op_of = |name: &str| Operation::from_name(name).ok_or_else(|| unknown_operation(name));
    match protocol {
        Protocol::Json => {
            let op = op_of(op_name.unwrap_or_default())?;
            let text: &[u8] = if body.iter().all(u8::is_ascii_whitespace) {
                b"{}"
            } else {
                body
            };
            let value = serde_json::from_slice(text)
                .map_err(|e| CloudWatchError::Malformed(messages::unparsable_body(&e)))?;
            Ok((op, value))
        }
        Protocol::Cbor => {
            let op = op_of(op_name.unwrap_or_default())?;
            let value = cbor::decode(body, cw::input_shape(op))
                .map_err(|e| CloudWatchError::Malformed(e.to_string()))?;
            Ok((op, value))
        }
        Protocol::Query => {
            let form = query::QueryRequest::parse(body).map_err(query_error)?;
            let op = op_of(&form.action)?;
            let value = form.to_json(cw::input_shape(op)).map_err(query_error)?;
            Ok((op, value))
        }
    }
}

fn query_error(e: query::QueryError) -> CloudWatchError {
    match e {
        query::QueryError::MissingAction => CloudWatchError::UnknownOperation(e.to_string()),
        other => CloudWatchError::InvalidParameterValue(other.to_string()),
    }
}

/// The response to a request in `protocol`: the operation's output, or an error (`op` is the
/// operation, when known, for the log). Also frames the HTTP front's authentication
/// rejections of CloudWatch requests.
pub fn frame(
    protocol: Protocol,
    op: Option<Operation>,
    request_id: &str,
    result: Result<(Operation, serde_json::Value), CloudWatchError>,
) -> Response {
    let (status, content_type, body, error) = match result {
        Ok((op, output)) => {
            let (ct, body) = match protocol {
                Protocol::Json => (
                    "application/x-amz-json-1.0",
                    output.to_string().into_bytes(),
                ),
                Protocol::Cbor => (
                    "application/cbor",
                    match cw::output_shape(op) {
                        Some(shape) => cbor::encode(&output, shape),
                        None => cbor::EMPTY_MAP.to_vec(),
                    },
                ),
                Protocol::Query => (
                    "text/xml",
                    xml::response(
                        cw::XML_NAMESPACE,
                        &op.to_string(),
                        cw::output_shape(op).map(|s| (&output, s)),
                        request_id,
                    )
                    .into_bytes(),
                ),
            };
            (StatusCode::OK, ct, body, None)
        }
        Err(e) => {
            if e == CloudWatchError::Internal {
                tracing::error!(request_id, ?op, "internal failure answered");
            } else {
                tracing::debug!(request_id, ?op, code = e.query_code(), message = %e, "request rejected");
            }
            let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST);
            let message = e.to_string();
            let (ct, body) = match protocol {
                Protocol::Json => (
                    "application/x-amz-json-1.0",
                    serde_json::json!({"__type": e.type_id(), "message": message})
                        .to_string()
                        .into_bytes(),
                ),
                Protocol::Cbor => ("application/cbor", cbor::error(&e.type_id(), &message)),
                Protocol::Query => {
                    let fault = if e.status() >= 500 {
                        xml::Fault::Receiver
                    } else {
                        xml::Fault::Sender
                    };
                    (
                        "text/xml",
                        xml::error(
                            cw::XML_NAMESPACE,
                            e.query_code(),
                            &message,
                            fault,
                            request_id,
                        )
                        .into_bytes(),
                    )
                }
            };
            (status, ct, body, Some(e))
        }
    };
    let mut resp = (status, Bytes::from(body)).into_response();
    let h = resp.headers_mut();
    h.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static(content_type),
    );
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert("x-amzn-requestid", v);
    }
    if protocol == Protocol::Cbor {
        h.insert("smithy-protocol", HeaderValue::from_static("rpc-v2-cbor"));
    }
    if let Some(e) = error {
        if let Ok(v) = HeaderValue::from_str(&e.query_error_header()) {
            h.insert("x-amzn-query-error", v);
        }
    }
    resp
}
