//! Read side of the store: GetMetricStatistics, GetMetricData's MetricStat, ListMetrics.
//!
//! Periods are aligned to multiples of `Period` since the epoch. A period is reported iff its
//! start lies in `[align_down(start), end)`: the period containing `start` is included whole
//! (CloudWatch rounds StartTime down), `end` is exclusive. Periods without data are omitted.
//! Each period is read from the finest retention tier whose resolution divides the period and
//! that still holds complete data for it.

use crate::config::RetentionTier;
use crate::id::MetricId;
use crate::series::{floor_to, UnitSeries};
use crate::sketch::{Sketch, SketchMerger};
use crate::stats::{Percentile, Statistic, StatisticSet};
use crate::store::MetricStore;
use crate::unit::Unit;
use crate::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::btree_map::Entry;
use std::collections::BTreeMap;

/// GetMetricStatistics' limit on datapoints per call.
pub const MAX_STATISTICS_DATAPOINTS: u64 = 1_440;
/// GetMetricData's default `MaxDatapoints`; a MetricStat query spans at most this many periods.
pub const MAX_METRIC_STAT_PERIODS: u64 = 100_800;
const TWO_WEEKS_MS: i64 = 14 * 86_400_000;
const THREE_HOURS_MS: i64 = 3 * 3_600_000;

/// Order of GetMetricData results.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ScanBy {
    #[default]
    TimestampDescending,
    TimestampAscending,
}

/// One GetMetricStatistics datapoint; only the requested statistics are `Some`/present.
#[derive(Clone, Debug, PartialEq)]
pub struct Datapoint {
    /// Start of the period.
    pub timestamp: Timestamp,
    pub unit: Unit,
    pub sample_count: Option<f64>,
    pub average: Option<f64>,
    pub sum: Option<f64>,
    pub minimum: Option<f64>,
    pub maximum: Option<f64>,
    /// Requested percentiles that are available for this period (`ExtendedStatistics`).
    pub extended: Vec<(Percentile, f64)>,
}

/// A ListMetrics dimension filter: the metric must have this dimension (with this value).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DimensionFilter {
    pub name: String,
    pub value: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListMetricsFilter {
    pub namespace: Option<String>,
    pub metric_name: Option<String>,
    /// The metric must have all of these; it may have more.
    pub dimensions: Vec<DimensionFilter>,
    /// `RecentlyActive: PT3H` — a sample timestamped within 3 h before `now`.
    pub recently_active: bool,
}

/// GetMetricData `MetricStat` query.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricStatQuery {
    pub metric: MetricId,
    pub period_s: u32,
    pub stat: Statistic,
    /// Only data with this unit; `None` merges all units of the metric.
    pub unit: Option<Unit>,
    pub start: Timestamp,
    pub end: Timestamp,
    pub scan_by: ScanBy,
}

/// Timestamps (period starts) and values, ordered per `ScanBy`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MetricStatResult {
    pub timestamps: Vec<Timestamp>,
    pub values: Vec<f64>,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("the period must be at least 1 second")]
    InvalidPeriod,
    #[error("the end time must be after the start time")]
    InvalidTimeRange,
    #[error("the request spans {requested} periods; at most {max} are allowed")]
    TooManyDatapoints { requested: u64, max: u64 },
}

/// The aggregate of one period.
pub(crate) struct PeriodAgg {
    pub(crate) start_s: i64,
    pub(crate) stats: StatisticSet,
    pub(crate) sketch: Option<Sketch>,
}

/// Period starts `[first_s, end_s)` for a query, validated.
pub(crate) fn period_range(
    start: Timestamp,
    end: Timestamp,
    period_s: u32,
    max_periods: u64,
) -> Result<(i64, i64), QueryError> {
    if period_s == 0 {
        return Err(QueryError::InvalidPeriod);
    }
    if end <= start {
        return Err(QueryError::InvalidTimeRange);
    }
    let p = i64::from(period_s);
    let first_s = floor_to(start.millis().div_euclid(1000), p);
    let end_s = -(-end.millis()).div_euclid(1000); // ceil
    let periods = (end_s - first_s + p - 1).div_euclid(p) as u64;
    if periods > max_periods {
        return Err(QueryError::TooManyDatapoints {
            requested: periods,
            max: max_periods,
        });
    }
    Ok((first_s, end_s))
}

/// Aggregates the buckets of `series` (merged) into periods `[first_s, end_s)`, ascending.
pub(crate) fn aggregate(
    series: &[&UnitSeries],
    tiers: &[RetentionTier],
    (first_s, end_s): (i64, i64),
    period_s: u32,
    want_sketch: bool,
) -> Vec<PeriodAgg> {
    let p = i64::from(period_s);
    let mut acc: BTreeMap<i64, (StatisticSet, SketchMerger)> = BTreeMap::new();
    let compatible: Vec<usize> = (0..tiers.len())
        .filter(|i| period_s % tiers[*i].resolution_s == 0)
        .collect();
    for s in series {
        for (tier_idx, from, to) in tier_runs(s, &compatible, first_s, end_s, p) {
            let tier = &s.tiers[tier_idx];
            for b in tier
                .buckets
                .range(tier.first_at_or_after(from)..)
                .take_while(|b| b.start_s < to)
            {
                match acc.entry(floor_to(b.start_s, p)) {
                    Entry::Vacant(e) => {
                        let mut merger = SketchMerger::default();
                        if want_sketch {
                            merger.add(&b.sketch);
                        }
                        e.insert((b.stats, merger));
                    }
                    Entry::Occupied(mut e) => {
                        let (stats, merger) = e.get_mut();
                        stats.merge(&b.stats);
                        if want_sketch {
                            merger.add(&b.sketch);
                        }
                    }
                }
            }
        }
    }
    acc.into_iter()
        .map(|(start_s, (stats, merger))| PeriodAgg {
            start_s,
            stats,
            sketch: want_sketch.then(|| merger.finish()),
        })
        .collect()
}

/// Which tier serves which period starts: the finest compatible tier complete for the period;
/// periods no tier holds completely come from the tier that reaches furthest back.
fn tier_runs(
    s: &UnitSeries,
    compatible: &[usize],
    first_s: i64,
    end_s: i64,
    p: i64,
) -> Vec<(usize, i64, i64)> {
    let mut runs = Vec::new();
    let mut upper = end_s;
    let lower_bound = |cf: i64| {
        if cf <= first_s {
            first_s
        } else {
            -floor_to(-cf, p)
        }
    };
    for &t in compatible {
        let lo = lower_bound(s.tiers[t].complete_from_s);
        if lo < upper {
            runs.push((t, lo, upper));
            upper = lo;
        }
    }
    if first_s < upper {
        if let Some(&t) = compatible
            .iter()
            .min_by_key(|t| s.tiers[**t].complete_from_s)
        {
            runs.push((t, first_s, upper));
        }
    }
    runs
}

impl MetricStore {
    fn unit_series<'a>(&'a self, id: &MetricId, unit: Option<Unit>) -> Vec<&'a UnitSeries> {
        self.series
            .get(id)
            .map(|l| {
                l.iter()
                    .filter(|s| unit.is_none_or(|u| s.unit == u))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Period aggregates of one metric with all its matching units merged (alarms, MetricStat).
    pub(crate) fn merged_periods(
        &self,
        id: &MetricId,
        unit: Option<Unit>,
        range: (i64, i64),
        period_s: u32,
        want_sketch: bool,
    ) -> Vec<PeriodAgg> {
        aggregate(
            &self.unit_series(id, unit),
            self.config.retention.tiers(),
            range,
            period_s,
            want_sketch,
        )
    }

    /// GetMetricStatistics: datapoints of `id` (exact dimension match) for periods in
    /// `[start, end)`, with the requested statistics. Without `unit`, each unit the metric was
    /// recorded with yields its own datapoints (as CloudWatch does). Sorted by time, then unit.
    pub fn statistics(
        &self,
        id: &MetricId,
        start: Timestamp,
        end: Timestamp,
        period_s: u32,
        stats: &[Statistic],
        unit: Option<Unit>,
    ) -> Result<Vec<Datapoint>, QueryError> {
        let range = period_range(start, end, period_s, MAX_STATISTICS_DATAPOINTS)?;
        let want_sketch = stats.iter().any(|s| s.is_percentile());
        let mut out = Vec::new();
        for s in self.unit_series(id, unit) {
            for agg in aggregate(
                &[s],
                self.config.retention.tiers(),
                range,
                period_s,
                want_sketch,
            ) {
                out.push(datapoint(&agg, s.unit, stats));
            }
        }
        out.sort_by_key(|d| (d.timestamp, d.unit));
        Ok(out)
    }

    /// GetMetricData `MetricStat`: one value per period with data (periods whose percentile is
    /// unavailable are skipped), ordered per `scan_by`.
    pub fn metric_stat(&self, q: &MetricStatQuery) -> Result<MetricStatResult, QueryError> {
        let range = period_range(q.start, q.end, q.period_s, MAX_METRIC_STAT_PERIODS)?;
        let mut points: Vec<(Timestamp, f64)> = self
            .merged_periods(&q.metric, q.unit, range, q.period_s, q.stat.is_percentile())
            .iter()
            .filter_map(|a| {
                Some((
                    Timestamp::from_millis(a.start_s.saturating_mul(1000)),
                    q.stat.value_of(&a.stats, a.sketch.as_ref())?,
                ))
            })
            .collect();
        if q.scan_by == ScanBy::TimestampDescending {
            points.reverse();
        }
        Ok(MetricStatResult {
            timestamps: points.iter().map(|p| p.0).collect(),
            values: points.iter().map(|p| p.1).collect(),
        })
    }

    /// ListMetrics: matching metrics (each identity once), sorted. Metrics whose newest sample
    /// is more than two weeks before `now` are not listed.
    pub fn list_metrics(&self, filter: &ListMetricsFilter, now: Timestamp) -> Vec<MetricId> {
        let oldest = now.plus_millis(-if filter.recently_active {
            THREE_HOURS_MS
        } else {
            TWO_WEEKS_MS
        });
        self.series
            .iter()
            .filter(|(id, list)| {
                filter
                    .namespace
                    .as_deref()
                    .is_none_or(|n| n == id.namespace())
                    && filter
                        .metric_name
                        .as_deref()
                        .is_none_or(|n| n == id.metric_name())
                    && filter
                        .dimensions
                        .iter()
                        .all(|f| id.has_dimension(&f.name, f.value.as_deref()))
                    && list.iter().any(|s| s.last_timestamp >= oldest)
            })
            .map(|(id, _)| id.clone())
            .collect()
    }
}

fn datapoint(agg: &PeriodAgg, unit: Unit, stats: &[Statistic]) -> Datapoint {
    let pick = |s: Statistic| {
        stats
            .contains(&s)
            .then(|| s.value_of(&agg.stats, None))
            .flatten()
    };
    let mut extended: Vec<(Percentile, f64)> = stats
        .iter()
        .filter_map(|s| match s {
            Statistic::Percentile(p) => Some((*p, s.value_of(&agg.stats, agg.sketch.as_ref())?)),
            _ => None,
        })
        .collect();
    extended.dedup_by_key(|e| e.0);
    Datapoint {
        timestamp: Timestamp::from_millis(agg.start_s.saturating_mul(1000)),
        unit,
        sample_count: pick(Statistic::SampleCount),
        average: pick(Statistic::Average),
        sum: pick(Statistic::Sum),
        minimum: pick(Statistic::Minimum),
        maximum: pick(Statistic::Maximum),
        extended,
    }
}

#[cfg(test)]
#[path = "query_tests.rs"]
mod tests;
