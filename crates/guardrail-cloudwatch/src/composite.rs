//! PutCompositeAlarm (docs/cloudwatch-api.md) and the `CompositeAlarm` shape DescribeAlarms returns.
//! The rule grammar and its evaluation are `guardrail_metrics::Rule` / `evaluate_composite`;
//! the monitor evaluates composites in the tick, after the metric alarms.

use std::collections::{HashMap, HashSet};

use guardrail_api::error::CloudWatchError;
use guardrail_api::generated::cloudwatch::{CompositeAlarm, PutCompositeAlarmInput};
use guardrail_api::wire::Timestamp as WireTime;
use guardrail_metrics::Rule;
use guardrail_monitor::{AlarmConfig, AlarmDoc};

use super::alarms::monitor_error;
use super::{empty, Reply};
use crate::{messages, CloudWatch};

fn validation(msg: String) -> CloudWatchError {
    CloudWatchError::Validation(msg)
}

pub(crate) async fn put_composite_alarm(
    service: &CloudWatch,
    input: PutCompositeAlarmInput,
) -> Reply {
    let name = input.alarm_name.clone().ok_or_else(|| {
        CloudWatchError::MissingParameter(messages::missing_parameter("AlarmName"))
    })?;
    let rule_text = input.alarm_rule.clone().ok_or_else(|| {
        CloudWatchError::MissingParameter(messages::missing_parameter("AlarmRule"))
    })?;
    let rule = Rule::parse(&rule_text).map_err(|e| validation(messages::invalid_alarm_rule(&e)))?;
    let alarms = service.monitor.alarms();
    let by_name: HashMap<&str, &AlarmDoc> = alarms.iter().map(|d| (d.name.as_str(), d)).collect();
    if by_name
        .get(name.as_str())
        .is_some_and(|d| !d.is_composite())
    {
        return Err(validation(messages::composite_replaces_metric_alarm(&name)));
    }
    let missing: Vec<&str> = rule
        .names()
        .into_iter()
        .filter(|n| *n != name && !by_name.contains_key(n))
        .collect();
    if !missing.is_empty() {
        return Err(validation(messages::rule_alarms_do_not_exist(&missing)));
    }
    if creates_cycle(&name, &rule, &by_name) {
        return Err(validation(messages::composite_cycle(&name)));
    }
    let actions_enabled = input.actions_enabled.unwrap_or(true);
    let mut config = input.clone();
    config.tags = None;
    service
        .monitor
        .put_alarm(AlarmConfig {
            name,
            config: serde_json::to_value(&config).map_err(|_| CloudWatchError::Internal)?,
            definition: None,
            math: None,
            composite: Some(rule_text),
            actions_enabled,
        })
        .await
        .map_err(monitor_error)?;
    empty()
}

/// Whether `name`'s rule reaches `name` again through the composites it reads.
fn creates_cycle(name: &str, rule: &Rule, alarms: &HashMap<&str, &AlarmDoc>) -> bool {
    let mut seen: HashSet<String> = HashSet::new();
    let mut stack: Vec<String> = rule.names().iter().map(|n| n.to_string()).collect();
    while let Some(n) = stack.pop() {
        if n == name {
            return true;
        }
        if !seen.insert(n.clone()) {
            continue;
        }
        if let Some(r) = alarms
            .get(n.as_str())
            .and_then(|d| d.composite.as_deref())
            .and_then(|t| Rule::parse(t).ok())
        {
            stack.extend(r.names().iter().map(|s| s.to_string()));
        }
    }
    false
}

fn wire_time(t: guardrail_core::time::Timestamp) -> WireTime {
    WireTime::from_millis(t.millis())
}

/// The DescribeAlarms view of a stored composite alarm.
pub(crate) fn render(doc: &AlarmDoc, arn: String) -> CompositeAlarm {
    let cfg: PutCompositeAlarmInput =
        serde_json::from_value(doc.config.clone()).unwrap_or_default();
    CompositeAlarm {
        alarm_name: Some(doc.name.clone()),
        alarm_arn: Some(arn),
        alarm_description: cfg.alarm_description,
        alarm_rule: doc.composite.clone(),
        alarm_configuration_updated_timestamp: Some(wire_time(doc.config_updated)),
        actions_enabled: Some(doc.actions_enabled),
        ok_actions: Some(cfg.ok_actions.unwrap_or_default()),
        alarm_actions: Some(cfg.alarm_actions.unwrap_or_default()),
        insufficient_data_actions: Some(cfg.insufficient_data_actions.unwrap_or_default()),
        state_value: Some(doc.state.value.as_str().to_owned()),
        state_reason: Some(doc.state.reason.clone()),
        state_reason_data: doc.state.reason_data.clone(),
        state_updated_timestamp: Some(wire_time(doc.state.updated_at)),
        state_transitioned_timestamp: Some(wire_time(doc.state.transitioned_at)),
        actions_suppressor: cfg.actions_suppressor,
        actions_suppressor_wait_period: cfg.actions_suppressor_wait_period,
        actions_suppressor_extension_period: cfg.actions_suppressor_extension_period,
        action_configuration: cfg.action_configuration,
        ..Default::default()
    }
}
