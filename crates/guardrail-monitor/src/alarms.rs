//! The alarm book: every alarm's configuration and state, kept in memory for reads and written
//! to the store before any change is applied (a crash loses no acknowledged change).

use guardrail_core::deploy::{AlarmState as CoreState, AlarmView};
use guardrail_core::time::Timestamp;
use guardrail_metrics::{
    AlarmDefinition, AlarmState, HistoryItem, HistoryItemType, MathAlarm, StateValue,
};
use serde::{Deserialize, Serialize};

/// The most recent transition into `ALARM`: deployments catch blips from it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlarmTrip {
    pub at: Timestamp,
    pub reason: String,
    pub reason_data: Option<String>,
}

/// One alarm as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlarmDoc {
    pub name: String,
    /// The PutMetricAlarm request as the API layer accepted it (echoed by DescribeAlarms).
    pub config: serde_json::Value,
    /// `None`: stored but not evaluated (e.g. an anomaly band), or a composite alarm. A
    /// metric-math alarm's definition carries its thresholds, N, M and period.
    pub definition: Option<AlarmDefinition>,
    /// A metric-math alarm's queries (its datapoints are the returned expression's values).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub math: Option<MathAlarm>,
    /// A composite alarm's `AlarmRule` (the `config` is the PutCompositeAlarm request).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub composite: Option<String>,
    pub actions_enabled: bool,
    pub state: AlarmState,
    /// `AlarmConfigurationUpdatedTimestamp`.
    pub config_updated: Timestamp,
    pub last_alarm: Option<AlarmTrip>,
}

impl AlarmDoc {
    /// Whether this is a composite alarm.
    pub fn is_composite(&self) -> bool {
        self.composite.is_some()
    }

    /// Applies a state change, remembering transitions into `ALARM`.
    pub(crate) fn set_state(&mut self, state: AlarmState) {
        if state.value == StateValue::Alarm && self.state.value != StateValue::Alarm {
            self.last_alarm = Some(AlarmTrip {
                at: state.transitioned_at,
                reason: state.reason.clone(),
                reason_data: state.reason_data.clone(),
            });
        }
        self.state = state;
    }

    pub(crate) fn view(&self) -> AlarmView {
        let (reason, reason_data) = match &self.last_alarm {
            Some(t) => (t.reason.clone(), t.reason_data.clone()),
            None => (self.state.reason.clone(), self.state.reason_data.clone()),
        };
        AlarmView {
            name: self.name.clone(),
            state: match self.state.value {
                StateValue::Ok => CoreState::Ok,
                StateValue::Alarm => CoreState::Alarm,
                StateValue::InsufficientData => CoreState::InsufficientData,
            },
            exists: true,
            last_entered_alarm: self.last_alarm.as_ref().map(|t| t.at),
            reason: Some(reason),
            reason_data,
        }
    }
}

/// The view of an alarm that does not exist (deleted while watched: fail closed).
pub(crate) fn missing_view(name: &str) -> AlarmView {
    AlarmView {
        name: name.to_owned(),
        state: CoreState::InsufficientData,
        exists: false,
        last_entered_alarm: None,
        reason: Some(format!("Alarm {name} does not exist")),
        reason_data: None,
    }
}

/// A ConfigurationUpdate item for an alarm without an evaluable definition.
pub(crate) fn plain_configuration_update(
    name: &str,
    verb: &str,
    kind: &str,
    config: &serde_json::Value,
    now: Timestamp,
) -> HistoryItem {
    let member = format!("{}Alarm", verb);
    HistoryItem {
        alarm_name: name.to_owned(),
        timestamp: now,
        item_type: HistoryItemType::ConfigurationUpdate,
        summary: format!("Alarm \"{name}\" {verb}"),
        data: serde_json::json!({"version": "1.0", "type": kind, member: config}).to_string(),
    }
}
