//! Guardrail's CloudWatch service, in the three protocols clients use (docs/cloudwatch-api.md#protocols):
//! awsJson1_0 (`POST /` + `X-Amz-Target: GraniteServiceVersion20100801.<Op>`), awsQuery
//! (`POST /` with a form body, XML out) and rpc-v2-cbor (`POST /service/…/operation/<Op>`).
//! Each request body is turned into the awsJson input, handled once, and the output framed
//! back in the request's protocol. Errors carry `x-amzn-query-error` in every framing.
//!
//! A crate of its own so that the HTTP front only routes to it, and so that its handlers stay
//! thin: parse the wire input, call one decision in `guardrail-metrics` (queries, metric math)
//! or `guardrail-monitor` (alarms, recording), frame the answer.

mod alarms;
mod body;
mod composite;
mod history;
mod messages;
mod metric_alarm;
mod metrics;
mod non_finite;
mod protocol;
mod tokens;

use guardrail_api::error::CloudWatchError;
use guardrail_api::generated::cloudwatch::Operation;
use guardrail_api::wire::{from_json_body, Validate};
use guardrail_core::names::Arns;
use guardrail_monitor::Monitor;
use http::HeaderMap;
use serde::de::DeserializeOwned;

pub use protocol::{frame, Protocol};

/// `X-Amz-Target` prefix of CloudWatch's awsJson1_0 protocol.
pub const TARGET_PREFIX: &str = "GraniteServiceVersion20100801.";

type Reply = Result<serde_json::Value, CloudWatchError>;

/// The CloudWatch service over the monitor's alarms and metric store. Alarm ARNs are built
/// with `arns`.
pub struct CloudWatch {
    monitor: Monitor,
    arns: Arns,
}

impl CloudWatch {
    pub fn new(monitor: Monitor, arns: Arns) -> Self {
        CloudWatch { monitor, arns }
    }

    /// Serves one CloudWatch request. `op_name` is `None` for awsQuery (the body names it).
    pub async fn serve(
        &self,
        protocol: Protocol,
        op_name: Option<&str>,
        headers: &HeaderMap,
        body: axum::body::Body,
    ) -> axum::response::Response {
        let request_id = uuid::Uuid::new_v4().to_string();
        let mut op_for_framing = None;
        let result = async {
            let body = body::read(body, headers).await?;
            let (op, input) = protocol::decode(protocol, op_name, &body)?;
            non_finite::reject(
                &input,
                guardrail_api::generated::cloudwatch::input_shape(op),
            )?;
            op_for_framing = Some(op);
            let output = self.dispatch(op, input).await?;
            Ok::<_, CloudWatchError>((op, output))
        }
        .await;
        frame(protocol, op_for_framing, &request_id, result)
    }

    async fn dispatch(&self, op: Operation, input: serde_json::Value) -> Reply {
        match op {
            Operation::PutMetricAlarm => alarms::put_metric_alarm(self, parse(input)?).await,
            Operation::PutCompositeAlarm => {
                composite::put_composite_alarm(self, parse(input)?).await
            }
            Operation::DescribeAlarms => alarms::describe_alarms(self, parse(input)?),
            Operation::DescribeAlarmsForMetric => {
                alarms::describe_alarms_for_metric(self, parse(input)?)
            }
            Operation::DeleteAlarms => alarms::delete_alarms(self, parse(input)?).await,
            Operation::SetAlarmState => alarms::set_alarm_state(self, parse(input)?).await,
            Operation::DescribeAlarmHistory => {
                history::describe_alarm_history(self, parse(input)?).await
            }
            Operation::EnableAlarmActions => {
                alarms::enable_actions(self, parse(input)?, true).await
            }
            Operation::DisableAlarmActions => alarms::disable_actions(self, parse(input)?).await,
            Operation::PutMetricData => metrics::put_metric_data(self, parse(input)?).await,
            Operation::GetMetricData => metrics::get_metric_data(self, parse(input)?),
            Operation::GetMetricStatistics => metrics::get_metric_statistics(self, parse(input)?),
            Operation::ListMetrics => metrics::list_metrics(self, parse(input)?),
        }
    }
}

/// Deserialises and validates (model constraints) an operation's input.
fn parse<T: DeserializeOwned + Validate>(input: serde_json::Value) -> Result<T, CloudWatchError> {
    let bytes = serde_json::to_vec(&input).map_err(|_| CloudWatchError::Internal)?;
    Ok(from_json_body(&bytes)?)
}

fn to_value<T: serde::Serialize>(v: &T) -> Reply {
    serde_json::to_value(v).map_err(|e| {
        tracing::error!(error = %e, "cannot serialize a response");
        CloudWatchError::Internal
    })
}

fn empty() -> Reply {
    Ok(serde_json::json!({}))
}
