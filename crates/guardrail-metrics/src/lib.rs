//! Guardrail's metric engine: a bounded in-memory time-series store with CloudWatch semantics
//! (1-second buckets, roll-ups, retention, percentiles from a log-linear sketch) and the
//! CloudWatch metric-alarm evaluation that decides when a deployment must roll back.
//!
//! This crate is **pure**: no I/O, no clock reads, no threads, no tokio. Every function that
//! needs the time takes `now` as an argument, and everything returns data (query results,
//! state transitions, history items) for the shell to persist and serve. It depends on serde,
//! thiserror and `guardrail-core` (for [`Timestamp`]) only — keep it that way.
//!
//! * [`MetricStore`] — record (`record`, `record_statistic_set`, `record_values`), query
//!   (`statistics`, `metric_stat`, `list_metrics`), `prune(now)`, snapshot/restore.
//! * [`alarm`] — [`AlarmDefinition`], [`AlarmState`], [`evaluate`], [`set_alarm_state`],
//!   [`HistoryItem`].
//! * [`math`] — metric-math expressions over time series ([`math::evaluate_expression`]).
//! * [`data`] — GetMetricData's queries evaluated against the store, and its pages.

pub mod alarm;
mod config;
pub mod data;
mod distribution;
mod fmt;
mod id;
pub mod math;
mod query;
mod series;
mod sketch;
mod snapshot;
mod stats;
mod store;
mod unit;

pub use alarm::{
    configuration_update, evaluate, set_alarm_state, AlarmDefinition, AlarmError, AlarmState,
    ComparisonOperator, ConfigChange, DatapointSource, Evaluation, HistoryItem, HistoryItemType,
    LowSampleCount, Outcome, PeriodValue, StateValue, TreatMissingData,
};
pub use alarm::{
    evaluate_composite, evaluate_math, math_placeholder_metric, ChildState, MathAlarm,
    MathAlarmError, MathQuery, MathStat, Rule, RuleError,
};
pub use config::{
    RetentionPolicy, RetentionTier, StoreConfig, StoreError, StoreLimits, BYTES_PER_BIN,
    BYTES_PER_BUCKET,
};
pub use distribution::Distribution;
pub use guardrail_core::time::Timestamp;
pub use id::{Dimension, MetricId, MetricIdError, MAX_DIMENSIONS};
pub use query::{
    Datapoint, DimensionFilter, ListMetricsFilter, MetricStatQuery, MetricStatResult, QueryError,
    ScanBy, MAX_METRIC_STAT_PERIODS, MAX_STATISTICS_DATAPOINTS,
};
pub use sketch::{SKETCH_MAX_BINS_DEFAULT, SKETCH_RELATIVE_ACCURACY};
pub use snapshot::{SnapshotError, StoreSnapshot};
pub use stats::{ParseStatisticError, Percentile, Statistic, StatisticSet};
pub use store::{MemoryUsage, MetricStore};
pub use unit::{ParseUnitError, Unit};
