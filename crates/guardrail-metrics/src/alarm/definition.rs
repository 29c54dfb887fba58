//! What an alarm is: its definition, the enums of its configuration, and validation.

use crate::id::MetricId;
use crate::stats::Statistic;
use crate::unit::Unit;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Longest evaluation range (Period × EvaluationPeriods) for periods under an hour, and above.
const MAX_RANGE_SHORT_PERIOD_S: u64 = 86_400;
const MAX_RANGE_LONG_PERIOD_S: u64 = 604_800;

/// `StateValue`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum StateValue {
    #[serde(rename = "OK")]
    Ok,
    #[serde(rename = "ALARM")]
    Alarm,
    #[serde(rename = "INSUFFICIENT_DATA")]
    InsufficientData,
}

impl StateValue {
    pub const fn as_str(self) -> &'static str {
        match self {
            StateValue::Ok => "OK",
            StateValue::Alarm => "ALARM",
            StateValue::InsufficientData => "INSUFFICIENT_DATA",
        }
    }
}

impl fmt::Display for StateValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

macro_rules! text_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $variant:ident => $text:literal),* $(,)? }) => {
        $(#[$m])*
        #[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name { $($(#[$vm])* #[serde(rename = $text)] $variant,)* }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];
            pub const fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text,)* }
            }
        }

        impl FromStr for $name {
            type Err = AlarmError;
            fn from_str(s: &str) -> Result<Self, AlarmError> {
                $name::ALL.iter().copied().find(|v| v.as_str() == s)
                    .ok_or_else(|| AlarmError::UnknownValue { parameter: stringify!($name), value: s.to_owned() })
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

text_enum!(
    /// `ComparisonOperator`. The anomaly-band operators need `ThresholdMetricId` (metric-math
    /// alarms); Guardrail stores such alarms but does not evaluate them.
    ComparisonOperator {
        GreaterThanOrEqualToThreshold => "GreaterThanOrEqualToThreshold",
        GreaterThanThreshold => "GreaterThanThreshold",
        LessThanThreshold => "LessThanThreshold",
        LessThanOrEqualToThreshold => "LessThanOrEqualToThreshold",
        LessThanLowerOrGreaterThanUpperThreshold => "LessThanLowerOrGreaterThanUpperThreshold",
        LessThanLowerThreshold => "LessThanLowerThreshold",
        GreaterThanUpperThreshold => "GreaterThanUpperThreshold",
    }
);

text_enum!(
    /// `TreatMissingData` (default `missing`).
    #[derive(Default)]
    TreatMissingData {
        #[default]
        Missing => "missing",
        NotBreaching => "notBreaching",
        Breaching => "breaching",
        Ignore => "ignore",
    }
);

text_enum!(
    /// `EvaluateLowSampleCountPercentile`.
    LowSampleCount {
        Evaluate => "evaluate",
        Ignore => "ignore",
    }
);

impl ComparisonOperator {
    /// Whether `value` breaches `threshold`; `None` for the anomaly-band operators.
    pub fn breaches(self, value: f64, threshold: f64) -> Option<bool> {
        use ComparisonOperator::*;
        match self {
            GreaterThanOrEqualToThreshold => Some(value >= threshold),
            GreaterThanThreshold => Some(value > threshold),
            LessThanThreshold => Some(value < threshold),
            LessThanOrEqualToThreshold => Some(value <= threshold),
            _ => None,
        }
    }

    pub fn is_anomaly_band(self) -> bool {
        self.breaches(0.0, 0.0).is_none()
    }

    /// The phrase in reason texts: `greater than or equal to`.
    pub(crate) fn phrase(self) -> &'static str {
        use ComparisonOperator::*;
        match self {
            GreaterThanOrEqualToThreshold => "greater than or equal to",
            GreaterThanThreshold => "greater than",
            LessThanThreshold => "less than",
            LessThanOrEqualToThreshold => "less than or equal to",
            _ => "outside the band of",
        }
    }
}

/// A metric alarm (single metric, `MetricStat`-style).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlarmDefinition {
    pub name: String,
    pub metric: MetricId,
    /// `Statistic` or `ExtendedStatistic` (exactly one, by construction).
    pub statistic: Statistic,
    /// Any integer ≥ 1 (Guardrail extension).
    pub period_s: u32,
    /// N.
    pub evaluation_periods: u32,
    /// M; `None` = N. Whether it was given also selects the reason-text form.
    pub datapoints_to_alarm: Option<u32>,
    pub threshold: f64,
    pub comparison: ComparisonOperator,
    pub treat_missing_data: TreatMissingData,
    pub evaluate_low_sample_count_percentile: Option<LowSampleCount>,
    /// Only data recorded with this unit counts; `None` merges all units.
    pub unit: Option<Unit>,
    /// Stored and echoed; actions are never executed.
    pub actions_enabled: bool,
}

/// Why an alarm definition (or SetAlarmState input) was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AlarmError {
    #[error("Period must be at least 1 second")]
    InvalidPeriod,
    #[error("EvaluationPeriods must be at least 1")]
    InvalidEvaluationPeriods,
    #[error("DatapointsToAlarm ({m}) must be between 1 and EvaluationPeriods ({n})")]
    InvalidDatapointsToAlarm { m: u32, n: u32 },
    #[error("Period * EvaluationPeriods ({range_s} s) must not exceed {max_s} s")]
    RangeTooLong { range_s: u64, max_s: u64 },
    #[error("Threshold must be a finite number")]
    InvalidThreshold,
    #[error("the comparison operator {0} needs ThresholdMetricId and is not evaluated")]
    UnsupportedOperator(ComparisonOperator),
    #[error("Option {value} is not supported for parameter {parameter}")]
    UnknownValue {
        parameter: &'static str,
        value: String,
    },
    #[error("StateReasonData must be a JSON object")]
    InvalidReasonData,
}

impl AlarmDefinition {
    /// A definition with CloudWatch's defaults: M = N, `missing`, no unit, actions enabled.
    pub fn new(
        name: impl Into<String>,
        metric: MetricId,
        statistic: Statistic,
        period_s: u32,
        evaluation_periods: u32,
        threshold: f64,
        comparison: ComparisonOperator,
    ) -> Self {
        AlarmDefinition {
            name: name.into(),
            metric,
            statistic,
            period_s,
            evaluation_periods,
            datapoints_to_alarm: None,
            threshold,
            comparison,
            treat_missing_data: TreatMissingData::Missing,
            evaluate_low_sample_count_percentile: None,
            unit: None,
            actions_enabled: true,
        }
    }

    /// M (DatapointsToAlarm, defaulting to N).
    pub fn datapoints_to_alarm(&self) -> u32 {
        self.datapoints_to_alarm.unwrap_or(self.evaluation_periods)
    }

    /// The checks of docs/cloudwatch-api.md#putmetricalarm that concern evaluation.
    pub fn validate(&self) -> Result<(), AlarmError> {
        let (n, m) = (self.evaluation_periods, self.datapoints_to_alarm());
        if self.period_s == 0 {
            return Err(AlarmError::InvalidPeriod);
        }
        if n == 0 {
            return Err(AlarmError::InvalidEvaluationPeriods);
        }
        if m == 0 || m > n {
            return Err(AlarmError::InvalidDatapointsToAlarm { m, n });
        }
        let range_s = u64::from(self.period_s) * u64::from(n);
        let max_s = if self.period_s < 3600 {
            MAX_RANGE_SHORT_PERIOD_S
        } else {
            MAX_RANGE_LONG_PERIOD_S
        };
        if range_s > max_s {
            return Err(AlarmError::RangeTooLong { range_s, max_s });
        }
        if !self.threshold.is_finite() {
            return Err(AlarmError::InvalidThreshold);
        }
        if self.comparison.is_anomaly_band() {
            return Err(AlarmError::UnsupportedOperator(self.comparison));
        }
        Ok(())
    }

    /// Samples a percentile datapoint needs to be significant (`EvaluateLowSampleCountPercentile`):
    /// 10/(1−p) for p > 0.5, 10/p otherwise.
    pub(crate) fn min_significant_samples(&self) -> Option<f64> {
        match (self.statistic, self.evaluate_low_sample_count_percentile) {
            (Statistic::Percentile(p), Some(LowSampleCount::Ignore)) => {
                let p = p.fraction();
                Some(if p > 0.5 { 10.0 / (1.0 - p) } else { 10.0 / p })
            }
            _ => None,
        }
    }
}
