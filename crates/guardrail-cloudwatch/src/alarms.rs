//! Alarm operations: PutMetricAlarm, DescribeAlarms(ForMetric), DeleteAlarms, SetAlarmState,
//! Enable/DisableAlarmActions (docs/cloudwatch-api.md).

use guardrail_api::error::CloudWatchError;
use guardrail_api::generated::cloudwatch::{
    DeleteAlarmsInput, DescribeAlarmsForMetricInput, DescribeAlarmsForMetricOutput,
    DescribeAlarmsInput, DescribeAlarmsOutput, DisableAlarmActionsInput, EnableAlarmActionsInput,
    PutMetricAlarmInput, SetAlarmStateInput,
};
use guardrail_metrics::StateValue;
use guardrail_monitor::{AlarmDoc, MonitorError};

use super::metric_alarm::{render, to_alarm_config};
use super::{empty, to_value, tokens, Reply};
use crate::{messages, CloudWatch};

/// DescribeAlarms' page size when MaxRecords is absent (Guardrail's rule).
const DEFAULT_MAX_RECORDS: usize = 50;

pub(crate) fn monitor_error(e: MonitorError) -> CloudWatchError {
    match e {
        MonitorError::Store(e) => {
            tracing::error!(error = %e, disk = e.is_disk_problem(), "store failure");
            CloudWatchError::Internal
        }
        MonitorError::TooManyAlarms(_) => CloudWatchError::LimitExceeded(e.to_string()),
        MonitorError::AlarmNotFound(_) => CloudWatchError::ResourceNotFound(e.to_string()),
        MonitorError::InvalidReasonData => {
            CloudWatchError::InvalidFormat(messages::REASON_DATA_NOT_AN_OBJECT.into())
        }
        MonitorError::InvalidMetricData(m) => CloudWatchError::InvalidParameterValue(m),
    }
}

pub(crate) async fn put_metric_alarm(service: &CloudWatch, input: PutMetricAlarmInput) -> Reply {
    let cfg = to_alarm_config(&input)?;
    service
        .monitor
        .put_alarm(cfg)
        .await
        .map_err(monitor_error)?;
    empty()
}

/// CloudWatch: without `AlarmTypes`, only metric alarms are returned.
fn wants_metric_alarms(types: Option<&[String]>) -> bool {
    types.is_none_or(|t| t.is_empty() || t.iter().any(|t| t == "MetricAlarm"))
}

fn wants_composite_alarms(types: Option<&[String]>) -> bool {
    types.is_some_and(|t| t.iter().any(|t| t == "CompositeAlarm"))
}

fn has_action_prefix(doc: &AlarmDoc, prefix: &str) -> bool {
    ["OKActions", "AlarmActions", "InsufficientDataActions"]
        .iter()
        .filter_map(|k| doc.config.get(k).and_then(|v| v.as_array()))
        .flatten()
        .filter_map(|v| v.as_str())
        .any(|a| a.starts_with(prefix))
}

pub(crate) fn describe_alarms(service: &CloudWatch, input: DescribeAlarmsInput) -> Reply {
    if input.alarm_names.is_some() && input.alarm_name_prefix.is_some() {
        return Err(CloudWatchError::InvalidParameterCombination(
            messages::NAMES_AND_PREFIX.into(),
        ));
    }
    let after = input
        .next_token
        .as_deref()
        .map(|t| tokens::decode("alarms", t))
        .transpose()?;
    let limit = input
        .max_records
        .map_or(DEFAULT_MAX_RECORDS, |m| m.clamp(1, 100) as usize);
    let state_filter = input.state_value.as_deref();
    let (metric, composite) = (
        wants_metric_alarms(input.alarm_types.as_deref()),
        wants_composite_alarms(input.alarm_types.as_deref()),
    );
    let mut matching: Vec<AlarmDoc> = if metric || composite {
        service
            .monitor
            .alarms()
            .into_iter()
            .filter(|d| if d.is_composite() { composite } else { metric })
            .filter(|d| {
                input
                    .alarm_names
                    .as_ref()
                    .is_none_or(|names| names.contains(&d.name))
            })
            .filter(|d| {
                input
                    .alarm_name_prefix
                    .as_deref()
                    .is_none_or(|p| d.name.starts_with(p))
            })
            .filter(|d| state_filter.is_none_or(|s| d.state.value.as_str() == s))
            .filter(|d| {
                input
                    .action_prefix
                    .as_deref()
                    .is_none_or(|p| has_action_prefix(d, p))
            })
            .filter(|d| after.as_deref().is_none_or(|a| d.name.as_str() > a))
            .collect()
    } else {
        Vec::new()
    };
    let next_token = (matching.len() > limit).then(|| {
        matching.truncate(limit);
        tokens::encode("alarms", &matching[limit - 1].name)
    });
    to_value(&DescribeAlarmsOutput {
        metric_alarms: Some(
            matching
                .iter()
                .filter(|d| !d.is_composite())
                .map(|d| render(d, service.arns.alarm(&d.name)))
                .collect(),
        ),
        composite_alarms: Some(
            matching
                .iter()
                .filter(|d| d.is_composite())
                .map(|d| super::composite::render(d, service.arns.alarm(&d.name)))
                .collect(),
        ),
        log_alarms: None,
        next_token,
    })
}

pub(crate) fn describe_alarms_for_metric(
    service: &CloudWatch,
    input: DescribeAlarmsForMetricInput,
) -> Reply {
    let dims = |v: &Option<Vec<guardrail_api::generated::cloudwatch::Dimension>>| {
        let mut d: Vec<(String, String)> = v
            .iter()
            .flatten()
            .map(|d| {
                (
                    d.name.clone().unwrap_or_default(),
                    d.value.clone().unwrap_or_default(),
                )
            })
            .collect();
        d.sort();
        d
    };
    let want_dims = input.dimensions.as_ref().map(|_| dims(&input.dimensions));
    let alarms = service
        .monitor
        .alarms()
        .into_iter()
        .filter(|d| !d.is_composite())
        .filter_map(|d| {
            let cfg: PutMetricAlarmInput = serde_json::from_value(d.config.clone()).ok()?;
            let same = cfg.metric_name == input.metric_name
                && cfg.namespace == input.namespace
                && input
                    .statistic
                    .as_ref()
                    .is_none_or(|s| cfg.statistic.as_ref() == Some(s))
                && input
                    .extended_statistic
                    .as_ref()
                    .is_none_or(|s| cfg.extended_statistic.as_ref() == Some(s))
                && input.period.is_none_or(|p| cfg.period == Some(p))
                && input
                    .unit
                    .as_ref()
                    .is_none_or(|u| cfg.unit.as_ref() == Some(u))
                && want_dims
                    .as_ref()
                    .is_none_or(|w| *w == dims(&cfg.dimensions));
            same.then(|| render(&d, service.arns.alarm(&d.name)))
        })
        .collect();
    to_value(&DescribeAlarmsForMetricOutput {
        metric_alarms: Some(alarms),
    })
}

pub(crate) async fn delete_alarms(service: &CloudWatch, input: DeleteAlarmsInput) -> Reply {
    let names = input.alarm_names.unwrap_or_default();
    service
        .monitor
        .delete_alarms(&names)
        .await
        .map_err(monitor_error)?;
    empty()
}

pub(crate) async fn set_alarm_state(service: &CloudWatch, input: SetAlarmStateInput) -> Reply {
    let name = input.alarm_name.unwrap_or_default();
    let value = match input.state_value.as_deref() {
        Some("OK") => StateValue::Ok,
        Some("ALARM") => StateValue::Alarm,
        Some("INSUFFICIENT_DATA") => StateValue::InsufficientData,
        other => {
            return Err(CloudWatchError::Validation(
                messages::state_value_not_in_enum(other.unwrap_or_default()),
            ))
        }
    };
    if let Some(data) = input.state_reason_data.as_deref() {
        if serde_json::from_str::<serde_json::Value>(data).is_err() {
            return Err(CloudWatchError::InvalidFormat(
                messages::REASON_DATA_NOT_JSON.into(),
            ));
        }
    }
    service
        .monitor
        .set_alarm_state(
            &name,
            value,
            input.state_reason.as_deref().unwrap_or_default(),
            input.state_reason_data.as_deref(),
        )
        .await
        .map_err(monitor_error)?;
    empty()
}

pub(crate) async fn enable_actions(
    service: &CloudWatch,
    input: EnableAlarmActionsInput,
    enabled: bool,
) -> Reply {
    let names = input.alarm_names.unwrap_or_default();
    service
        .monitor
        .set_actions_enabled(&names, enabled)
        .await
        .map_err(monitor_error)?;
    empty()
}

pub(crate) async fn disable_actions(
    service: &CloudWatch,
    input: DisableAlarmActionsInput,
) -> Reply {
    let input = EnableAlarmActionsInput {
        alarm_names: input.alarm_names,
    };
    enable_actions(service, input, false).await
}
