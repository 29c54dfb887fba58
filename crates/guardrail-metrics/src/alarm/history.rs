//! DescribeAlarmHistory items, SetAlarmState, and configuration-update entries.

use super::{AlarmDefinition, AlarmError, AlarmState, Evaluation, Outcome, StateValue};
use crate::fmt::{is_json_object, java_double, json_array, JsonObject};
use crate::Timestamp;
use serde::{Deserialize, Serialize};

/// `HistoryItemType`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum HistoryItemType {
    ConfigurationUpdate,
    StateUpdate,
    Action,
}

impl HistoryItemType {
    pub const fn as_str(self) -> &'static str {
        match self {
            HistoryItemType::ConfigurationUpdate => "ConfigurationUpdate",
            HistoryItemType::StateUpdate => "StateUpdate",
            HistoryItemType::Action => "Action",
        }
    }
}

/// One DescribeAlarmHistory entry (`AlarmType` is always `MetricAlarm`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HistoryItem {
    pub alarm_name: String,
    pub timestamp: Timestamp,
    pub item_type: HistoryItemType,
    /// `HistorySummary`, e.g. `Alarm updated from OK to ALARM`.
    pub summary: String,
    /// `HistoryData`: JSON text.
    pub data: String,
}

fn state_json(s: &AlarmState) -> String {
    let o = JsonObject::default()
        .str("stateValue", s.value.as_str())
        .str("stateReason", &s.reason);
    match &s.reason_data {
        Some(data) => o.raw("stateReasonData", data),
        None => o,
    }
    .finish()
}

/// The `StateUpdate` item of a transition from `old` to `new`:
/// `{"version":"1.0","oldState":{…},"newState":{"stateValue":…,"stateReason":…,"stateReasonData":{…}}}`.
pub(crate) fn state_update(
    alarm_name: &str,
    old: &AlarmState,
    new: &AlarmState,
    now: Timestamp,
) -> HistoryItem {
    HistoryItem {
        alarm_name: alarm_name.to_owned(),
        timestamp: now,
        item_type: HistoryItemType::StateUpdate,
        summary: format!("Alarm updated from {} to {}", old.value, new.value),
        data: JsonObject::default()
            .str("version", "1.0")
            .raw("oldState", &state_json(old))
            .raw("newState", &state_json(new))
            .finish(),
    }
}

/// SetAlarmState: sets the state now; it holds until the first evaluation at or after
/// `now + Period`. `reason_data`, if given, must be a JSON object (else `InvalidReasonData`,
/// which the API reports as `InvalidFormat`). A history item is written only when the
/// `StateValue` changes; otherwise just the reason and `updated_at` change.
pub fn set_alarm_state(
    def: &AlarmDefinition,
    current: &AlarmState,
    value: StateValue,
    reason: &str,
    reason_data: Option<&str>,
    now: Timestamp,
) -> Result<Evaluation, AlarmError> {
    if reason_data.is_some_and(|d| !is_json_object(d)) {
        return Err(AlarmError::InvalidReasonData);
    }
    let changed = value != current.value;
    let new_state = AlarmState {
        value,
        reason: reason.to_owned(),
        reason_data: reason_data.map(str::to_owned),
        updated_at: now,
        transitioned_at: if changed {
            now
        } else {
            current.transitioned_at
        },
        override_until: Some(now.plus_secs(i64::from(def.period_s.max(1)))),
    };
    let history_item = changed.then(|| state_update(&def.name, current, &new_state, now));
    Ok(Evaluation {
        outcome: Outcome::Set(value),
        new_state: Some(new_state),
        history_item,
    })
}

/// What happened to an alarm's configuration.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConfigChange {
    Created,
    Updated,
    Deleted,
}

impl AlarmDefinition {
    /// The metric part of the configuration as history data shows it (camelCase members).
    pub fn configuration_json(&self) -> String {
        let dims = self.metric.dimensions().iter().map(|d| {
            JsonObject::default()
                .str("name", &d.name)
                .str("value", &d.value)
                .finish()
        });
        let mut o = JsonObject::default()
            .str("alarmName", &self.name)
            .str("namespace", self.metric.namespace())
            .str("metricName", self.metric.metric_name())
            .raw("dimensions", &json_array(dims));
        o = if self.statistic.is_percentile() {
            o.str("extendedStatistic", &self.statistic.to_string())
        } else {
            o.str("statistic", &self.statistic.to_string())
        };
        o = o.raw("period", &self.period_s.to_string());
        if let Some(unit) = self.unit {
            o = o.str("unit", unit.as_str());
        }
        o = o
            .raw("evaluationPeriods", &self.evaluation_periods.to_string())
            .raw("datapointsToAlarm", &self.datapoints_to_alarm().to_string())
            .raw("threshold", &java_double(self.threshold))
            .str("comparisonOperator", self.comparison.as_str())
            .str("treatMissingData", self.treat_missing_data.as_str());
        if let Some(e) = self.evaluate_low_sample_count_percentile {
            o = o.str("evaluateLowSampleCountPercentile", e.as_str());
        }
        o.raw(
            "actionsEnabled",
            if self.actions_enabled {
                "true"
            } else {
                "false"
            },
        )
        .finish()
    }
}

/// The `ConfigurationUpdate` item: summary `Alarm "ep-5xx" created` / `updated` / `deleted`,
/// data `{"version":"1.0","type":"Create","createdAlarm":{…}}` (`Update`/`updatedAlarm`,
/// `Delete`/`deletedAlarm`).
pub fn configuration_update(
    def: &AlarmDefinition,
    change: ConfigChange,
    now: Timestamp,
) -> HistoryItem {
    let (verb, kind, member) = match change {
        ConfigChange::Created => ("created", "Create", "createdAlarm"),
        ConfigChange::Updated => ("updated", "Update", "updatedAlarm"),
        ConfigChange::Deleted => ("deleted", "Delete", "deletedAlarm"),
    };
    HistoryItem {
        alarm_name: def.name.clone(),
        timestamp: now,
        item_type: HistoryItemType::ConfigurationUpdate,
        summary: format!("Alarm \"{}\" {verb}", def.name),
        data: JsonObject::default()
            .str("version", "1.0")
            .str("type", kind)
            .raw(member, &def.configuration_json())
            .finish(),
    }
}
