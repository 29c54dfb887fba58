//! Metric-math alarms: an alarm whose datapoints are the values of one expression over
//! `MetricStat` inputs (`"e1 = 100 * m1 / m2"`). Each evaluation window is computed by building
//! a [`Plan`] — exactly what GetMetricData evaluates — and the expression's per-period values
//! then go through the same M-of-N / TreatMissingData rules as a single-metric alarm's
//! datapoints ([`super::evaluate`]). Pure: the store and `now` are arguments.

use serde::{Deserialize, Serialize};

use super::{evaluate, AlarmDefinition, AlarmState, DatapointSource, Evaluation, PeriodValue};
use crate::data::{Plan, PlanBuilder, Query, Source, StatSource};
use crate::math::Expression;
use crate::{MetricId, MetricStore, Statistic, Timestamp, Unit};

/// One `MetricStat` input of a math alarm.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MathStat {
    pub metric: MetricId,
    pub period_s: u32,
    pub stat: Statistic,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<Unit>,
}

/// One query of a math alarm: exactly one of `stat` / `expression`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MathQuery {
    pub id: String,
    pub return_data: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stat: Option<MathStat>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression: Option<String>,
}

/// The queries of a metric-math alarm, as stored (the [`Plan`] is rebuilt from them).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MathAlarm {
    pub queries: Vec<MathQuery>,
}

/// Why queries do not make an evaluable math alarm.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MathAlarmError {
    #[error("exactly one query must have ReturnData set to true")]
    ReturnData,
    #[error("the returned query must be an expression over MetricStat queries")]
    NotAnExpression,
    #[error("the expression {id} is not valid: {message}")]
    Expression { id: String, message: String },
    #[error("{0}")]
    Plan(String),
    #[error("the MetricStat queries must all have the same Period")]
    MixedPeriods,
}

impl MathAlarm {
    /// Checks the queries and returns the alarm's period (the inputs' `Period`).
    pub fn validate(&self) -> Result<u32, MathAlarmError> {
        self.plan().map(|(_, _, p)| p)
    }

    /// The plan, the index of the returned expression, and the period.
    pub fn plan(&self) -> Result<(Plan, usize, u32), MathAlarmError> {
        let returned: Vec<usize> = (0..self.queries.len())
            .filter(|i| self.queries[*i].return_data)
            .collect();
        let [ret] = returned.as_slice() else {
            return Err(MathAlarmError::ReturnData);
        };
        if self.queries[*ret].expression.is_none() {
            return Err(MathAlarmError::NotAnExpression);
        }
        let mut periods: Vec<u32> = Vec::new();
        let mut b = PlanBuilder::default();
        for q in &self.queries {
            let source = match (&q.stat, &q.expression) {
                (Some(s), None) => {
                    periods.push(s.period_s);
                    Source::Stat(StatSource {
                        metric: s.metric.clone(),
                        period_s: s.period_s,
                        stat: s.stat,
                        unit: s.unit,
                    })
                }
                (None, Some(text)) => Source::Expression(Expression::parse(text).map_err(|e| {
                    MathAlarmError::Expression {
                        id: q.id.clone(),
                        message: e.to_string(),
                    }
                })?),
                _ => return Err(MathAlarmError::NotAnExpression),
            };
            b.push(Query {
                id: q.id.clone(),
                label: q.id.clone(),
                return_data: q.return_data,
                source,
            })
            .map_err(|e| MathAlarmError::Plan(e.to_string()))?;
        }
        let plan = b.build().map_err(|e| MathAlarmError::Plan(e.to_string()))?;
        let period = *periods.first().ok_or(MathAlarmError::NotAnExpression)?;
        if periods.iter().any(|p| *p != period) {
            return Err(MathAlarmError::MixedPeriods);
        }
        Ok((plan, *ret, period))
    }
}

/// The returned expression's values per period, read by evaluating the plan over the window
/// the alarm evaluator asks for. A period whose expression has no value (an input missing, a
/// division by zero) is missing, like a period without samples.
pub struct MathSource<'a> {
    pub store: &'a MetricStore,
    pub plan: &'a Plan,
    pub returned: usize,
}

impl DatapointSource for MathSource<'_> {
    fn period_values(
        &self,
        _: &MetricId,
        _: Statistic,
        _: Option<Unit>,
        _: u32,
        start: Timestamp,
        end: Timestamp,
    ) -> Vec<PeriodValue> {
        let Ok(series) = self.plan.evaluate(self.store, start, end) else {
            return Vec::new();
        };
        series
            .get(self.returned)
            .into_iter()
            .flatten()
            .map(|(t, v)| PeriodValue {
                timestamp: *t,
                value: *v,
                sample_count: 1.0,
            })
            .collect()
    }
}

/// Evaluates a math alarm at `now`: `def` carries the thresholds, N, M, TreatMissingData and
/// the period (its metric and statistic are not read); the datapoints are `math`'s returned
/// expression. An alarm whose queries no longer form a plan is not evaluated.
pub fn evaluate_math(
    def: &AlarmDefinition,
    math: &MathAlarm,
    current: &AlarmState,
    store: &MetricStore,
    now: Timestamp,
) -> Evaluation {
    match math.plan() {
        Ok((plan, returned, _)) => {
            let source = MathSource {
                store,
                plan: &plan,
                returned,
            };
            evaluate(def, current, &source, now)
        }
        Err(_) => Evaluation::unchanged(super::Outcome::NotEvaluated),
    }
}

/// The identity a math alarm's definition carries (never read from the store).
pub fn math_placeholder_metric(alarm: &str) -> MetricId {
    MetricId::new(
        "Guardrail/MetricMath",
        alarm.chars().take(255).collect::<String>(),
        Vec::<(String, String)>::new(),
    )
    .unwrap_or_else(|_| {
        MetricId::new(
            "Guardrail/MetricMath",
            "alarm",
            Vec::<(String, String)>::new(),
        )
        .expect("constant metric id is valid")
    })
}

#[cfg(test)]
#[path = "math_alarm_tests.rs"]
mod tests;
