//! Where an alarm's datapoints come from.

use crate::id::MetricId;
use crate::query::period_range;
use crate::stats::Statistic;
use crate::store::MetricStore;
use crate::unit::Unit;
use crate::Timestamp;
use serde::{Deserialize, Serialize};

/// The alarm statistic of one period, and how many samples it summarises.
#[derive(Copy, Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PeriodValue {
    /// Start of the period.
    pub timestamp: Timestamp,
    pub value: f64,
    pub sample_count: f64,
}

/// Supplies an alarm's datapoints.
pub trait DatapointSource {
    /// `statistic` of `metric` for each period of `period_s` seconds starting in
    /// `[start, end)` (both aligned to the period) that has data, in any order. Data recorded
    /// with another unit than `unit` (if given) does not count.
    fn period_values(
        &self,
        metric: &MetricId,
        statistic: Statistic,
        unit: Option<Unit>,
        period_s: u32,
        start: Timestamp,
        end: Timestamp,
    ) -> Vec<PeriodValue>;
}

impl DatapointSource for MetricStore {
    fn period_values(
        &self,
        metric: &MetricId,
        statistic: Statistic,
        unit: Option<Unit>,
        period_s: u32,
        start: Timestamp,
        end: Timestamp,
    ) -> Vec<PeriodValue> {
        let Ok(range) = period_range(start, end, period_s, u64::MAX) else {
            return Vec::new();
        };
        self.merged_periods(metric, unit, range, period_s, statistic.is_percentile())
            .iter()
            .filter_map(|a| {
                Some(PeriodValue {
                    timestamp: Timestamp::from_millis(a.start_s.saturating_mul(1000)),
                    value: statistic.value_of(&a.stats, a.sketch.as_ref())?,
                    sample_count: a.stats.sample_count,
                })
            })
            .collect()
    }
}

/// Fixed datapoints (tests, replays): every point in `[start, end)`, whatever is asked.
impl DatapointSource for [PeriodValue] {
    fn period_values(
        &self,
        _: &MetricId,
        _: Statistic,
        _: Option<Unit>,
        _: u32,
        start: Timestamp,
        end: Timestamp,
    ) -> Vec<PeriodValue> {
        self.iter()
            .filter(|p| p.timestamp >= start && p.timestamp < end)
            .copied()
            .collect()
    }
}
