//! CloudWatch on the shared port, in the three protocols clients use (cloudwatch-api.md §1):
//! awsJson1_0 (`POST /` + `X-Amz-Target: GraniteServiceVersion20100801.<Op>`), awsQuery
//! (`POST /` with a form body, XML out) and rpc-v2-cbor (`POST /service/…/operation/<Op>`).
//! Each request body is turned into the awsJson input, handled once, and the output framed
//! back in the request's protocol. Errors carry `x-amzn-query-error` in every framing.

mod alarms;
mod body;
mod history;
mod metric_alarm;
mod metrics;
mod tokens;

use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use guardrail_api::error::CloudWatchError;
use guardrail_api::generated::cloudwatch::{self as cw, Operation};
use guardrail_api::protocol::{cbor, query, xml};
use guardrail_api::wire::{from_json_body, Validate};
use http::{HeaderMap, HeaderValue, StatusCode};
use serde::de::DeserializeOwned;

use crate::AppState;

/// `X-Amz-Target` prefix of CloudWatch's awsJson1_0 protocol.
pub(crate) const TARGET_PREFIX: &str = "GraniteServiceVersion20100801.";

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Protocol {
    Json,
    Cbor,
    Query,
}

pub(crate) type Reply = Result<serde_json::Value, CloudWatchError>;

/// Serves one CloudWatch request. `op_name` is `None` for awsQuery (the body names it).
pub(crate) async fn serve(
    state: &AppState,
    protocol: Protocol,
    op_name: Option<&str>,
    headers: &HeaderMap,
    body: axum::body::Body,
) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let mut op_for_framing = None;
    let result = async {
        let body = body::read(body, headers).await?;
        let (op, input) = decode(protocol, op_name, &body)?;
        op_for_framing = Some(op);
        let output = dispatch(state, op, input).await?;
        Ok::<_, CloudWatchError>((op, output))
    }
    .await;
    frame(protocol, op_for_framing, &request_id, result)
}

fn unknown_operation(name: &str) -> CloudWatchError {
    CloudWatchError::UnknownOperation(format!(
        "Operation {name} is not supported by Guardrail's CloudWatch service."
    ))
}

/// The operation and its input as the awsJson protocol would carry it.
fn decode(
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
            let value = serde_json::from_slice(text).map_err(|e| {
                CloudWatchError::Malformed(format!("Could not parse the request body: {e}"))
            })?;
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

/// Deserialises and validates (model constraints) an operation's input.
pub(crate) fn parse<T: DeserializeOwned + Validate>(
    input: serde_json::Value,
) -> Result<T, CloudWatchError> {
    let bytes = serde_json::to_vec(&input).map_err(|_| CloudWatchError::Internal)?;
    Ok(from_json_body(&bytes)?)
}

pub(crate) fn to_value<T: serde::Serialize>(v: &T) -> Reply {
    serde_json::to_value(v).map_err(|e| {
        tracing::error!(error = %e, "cannot serialize a response");
        CloudWatchError::Internal
    })
}

pub(crate) fn empty() -> Reply {
    Ok(serde_json::json!({}))
}

async fn dispatch(state: &AppState, op: Operation, input: serde_json::Value) -> Reply {
    match op {
        Operation::PutMetricAlarm => alarms::put_metric_alarm(state, parse(input)?).await,
        Operation::DescribeAlarms => alarms::describe_alarms(state, parse(input)?),
        Operation::DescribeAlarmsForMetric => {
            alarms::describe_alarms_for_metric(state, parse(input)?)
        }
        Operation::DeleteAlarms => alarms::delete_alarms(state, parse(input)?).await,
        Operation::SetAlarmState => alarms::set_alarm_state(state, parse(input)?).await,
        Operation::DescribeAlarmHistory => {
            history::describe_alarm_history(state, parse(input)?).await
        }
        Operation::EnableAlarmActions => alarms::enable_actions(state, parse(input)?, true).await,
        Operation::DisableAlarmActions => alarms::disable_actions(state, parse(input)?).await,
        Operation::PutMetricData => metrics::put_metric_data(state, parse(input)?).await,
        Operation::GetMetricData => metrics::get_metric_data(state, parse(input)?),
        Operation::GetMetricStatistics => metrics::get_metric_statistics(state, parse(input)?),
        Operation::ListMetrics => metrics::list_metrics(state, parse(input)?),
    }
}

pub(crate) fn frame(
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
