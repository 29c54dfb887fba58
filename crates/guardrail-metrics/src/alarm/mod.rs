//! CloudWatch metric-alarm evaluation (docs/cloudwatch-api.md#alarm-evaluation): definitions, state, the
//! evaluation function and the history items it produces. Pure: `now` is an argument and the
//! metric data comes from a [`DatapointSource`] (the [`crate::MetricStore`] is one).

mod composite;
mod decide;
mod definition;
mod history;
mod math_alarm;
mod reason;
mod source;

use crate::Timestamp;
use decide::{decide, Slot};
use serde::{Deserialize, Serialize};

pub use composite::{alarm_name, evaluate_composite, ChildState, Rule, RuleError};
pub use definition::{
    AlarmDefinition, AlarmError, ComparisonOperator, LowSampleCount, StateValue, TreatMissingData,
};
pub use history::{
    configuration_update, set_alarm_state, ConfigChange, HistoryItem, HistoryItemType,
};
pub use math_alarm::{
    evaluate_math, math_placeholder_metric, MathAlarm, MathAlarmError, MathQuery, MathSource,
    MathStat,
};
pub use source::{DatapointSource, PeriodValue};

/// An alarm's state as DescribeAlarms shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlarmState {
    pub value: StateValue,
    /// `StateReason`.
    pub reason: String,
    /// `StateReasonData`: JSON text.
    pub reason_data: Option<String>,
    /// `StateUpdatedTimestamp`: state or reason last changed.
    pub updated_at: Timestamp,
    /// `StateTransitionedTimestamp`: `value` last changed.
    pub transitioned_at: Timestamp,
    /// Set by SetAlarmState: evaluations before this instant leave the state alone
    /// (Guardrail's rule: the override holds until `set_time + Period`).
    pub override_until: Option<Timestamp>,
}

impl AlarmState {
    /// A new alarm: `INSUFFICIENT_DATA`, "Unchecked: Initial alarm creation".
    pub fn initial(now: Timestamp) -> Self {
        AlarmState {
            value: StateValue::InsufficientData,
            reason: "Unchecked: Initial alarm creation".to_owned(),
            reason_data: None,
            updated_at: now,
            transitioned_at: now,
            override_until: None,
        }
    }
}

/// What one evaluation concluded.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The data says this state (it may equal the current one: then nothing changes).
    Computed(StateValue),
    /// The rules say keep the current state (`ignore` with no decision, low sample count).
    KeepState,
    /// A SetAlarmState override is still in force.
    Overridden,
    /// SetAlarmState set this state.
    Set(StateValue),
    /// The definition is not evaluable (invalid, or an anomaly-band operator).
    NotEvaluated,
}

/// The result of [`evaluate`] / [`set_alarm_state`]: the new state to store (`None` =
/// unchanged) and the history item to append, if any.
#[derive(Clone, Debug, PartialEq)]
pub struct Evaluation {
    pub outcome: Outcome,
    pub new_state: Option<AlarmState>,
    pub history_item: Option<HistoryItem>,
}

impl Evaluation {
    fn unchanged(outcome: Outcome) -> Self {
        Evaluation {
            outcome,
            new_state: None,
            history_item: None,
        }
    }
}

/// Evaluates `def` at `now`: reads the last N+2 complete periods (the period in progress is
/// ignored) from `source`, applies the M-of-N and TreatMissingData rules, and returns a new
/// state only when the computed `StateValue` differs from `current.value` (a transition, with
/// a `StateUpdate` history item). Never panics; invalid definitions are `NotEvaluated`.
pub fn evaluate<S: DatapointSource + ?Sized>(
    def: &AlarmDefinition,
    current: &AlarmState,
    source: &S,
    now: Timestamp,
) -> Evaluation {
    if current.override_until.is_some_and(|until| now < until) {
        return Evaluation::unchanged(Outcome::Overridden);
    }
    if def.validate().is_err() {
        return Evaluation::unchanged(Outcome::NotEvaluated);
    }
    let (n, m) = (
        def.evaluation_periods as usize,
        def.datapoints_to_alarm() as usize,
    );
    let Some(slots) = window(def, source, now, n + 2) else {
        return Evaluation::unchanged(Outcome::NotEvaluated);
    };
    if let Some(min) = def.min_significant_samples() {
        let newest = slots.last().and_then(|s| s.point);
        if newest.is_some_and(|p| p.sample_count < min) {
            return Evaluation::unchanged(Outcome::KeepState);
        }
    }
    let decision = decide(&slots, n, m, def.treat_missing_data, |v| {
        def.comparison.breaches(v, def.threshold).unwrap_or(false)
    });
    let Some(state) = decision.state else {
        return Evaluation::unchanged(Outcome::KeepState);
    };
    if state == current.value {
        return Evaluation::unchanged(Outcome::Computed(state));
    }
    let new_state = AlarmState {
        value: state,
        reason: reason::text(def, &decision, state),
        reason_data: Some(reason::data(def, &decision, &slots, now)),
        updated_at: now,
        transitioned_at: now,
        override_until: None,
    };
    let item = history::state_update(&def.name, current, &new_state, now);
    Evaluation {
        outcome: Outcome::Computed(state),
        new_state: Some(new_state),
        history_item: Some(item),
    }
}

/// The `periods` complete periods before `now`, oldest first, with the source's datapoints.
fn window<S: DatapointSource + ?Sized>(
    def: &AlarmDefinition,
    source: &S,
    now: Timestamp,
    periods: usize,
) -> Option<Vec<Slot>> {
    let p_ms = i64::from(def.period_s) * 1000;
    let end = now.millis().checked_sub(now.millis().rem_euclid(p_ms))?;
    let start = end.checked_sub(p_ms.checked_mul(periods as i64)?)?;
    let mut slots: Vec<Slot> = (0..periods as i64)
        .map(|i| Slot {
            timestamp: Timestamp::from_millis(start + i * p_ms),
            point: None,
        })
        .collect();
    let points = source.period_values(
        &def.metric,
        def.statistic,
        def.unit,
        def.period_s,
        Timestamp::from_millis(start),
        Timestamp::from_millis(end),
    );
    for p in points {
        let Some(offset) = p.timestamp.millis().checked_sub(start) else {
            continue;
        };
        let aligned =
            offset >= 0 && offset % p_ms == 0 && p.value.is_finite() && p.sample_count.is_finite();
        if let Some(slot) = aligned
            .then(|| slots.get_mut((offset / p_ms) as usize))
            .flatten()
        {
            slot.point.get_or_insert(p);
        }
    }
    Some(slots)
}

#[cfg(test)]
mod tests;
