//! Evaluating a [`Plan`]: MetricStat queries read from the store (in windows it accepts),
//! expressions computed over them in the plan's order.

use std::collections::HashMap;

use super::{Plan, Source, StatSource};
use crate::math::{evaluate_expression, MathError, Series};
use crate::query::{MetricStatQuery, QueryError, ScanBy, MAX_METRIC_STAT_PERIODS};
use crate::series::floor_to;
use crate::store::MetricStore;
use crate::Timestamp;

/// Windows of [`MAX_METRIC_STAT_PERIODS`] periods one MetricStat is read in, at most.
const MAX_WINDOWS: u64 = 1_000;
/// The most periods of its `Period` a MetricStat may span between start and end.
pub const MAX_SPAN_PERIODS: u64 = MAX_WINDOWS * MAX_METRIC_STAT_PERIODS;

/// Why a plan could not be evaluated.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DataError {
    #[error(transparent)]
    Query(#[from] QueryError),
    #[error(transparent)]
    Math(#[from] MathError),
}

/// Start of the period containing `ms`, in seconds.
fn first_period_s(ms: i64, period_s: i64) -> i64 {
    floor_to(ms.div_euclid(1000), period_s)
}

/// How many periods of `period_s` (≥ 1) seconds start in `[align_down(start), end)`.
pub fn periods_spanned(start: Timestamp, end: Timestamp, period_s: u32) -> u64 {
    let p = i64::from(period_s);
    let first = first_period_s(start.millis(), p);
    let end_s = -(-end.millis()).div_euclid(1000);
    u64::try_from((end_s - first + p - 1).div_euclid(p)).unwrap_or(0)
}

/// One MetricStat over `[start, end)`, ascending, read in windows the store accepts.
fn stat_series(
    store: &MetricStore,
    q: &StatSource,
    start: Timestamp,
    end: Timestamp,
) -> Result<Series, QueryError> {
    if q.period_s == 0 {
        return Err(QueryError::InvalidPeriod);
    }
    let p = i64::from(q.period_s);
    let window_ms = i64::try_from(MAX_METRIC_STAT_PERIODS)
        .unwrap_or(i64::MAX)
        .saturating_mul(p)
        .saturating_mul(1000);
    let mut out = Series::new();
    let mut from = start;
    let mut window_start = first_period_s(start.millis(), p).saturating_mul(1000);
    while from < end {
        let to = Timestamp::from_millis(window_start.saturating_add(window_ms).min(end.millis()));
        let r = store.metric_stat(&MetricStatQuery {
            metric: q.metric.clone(),
            period_s: q.period_s,
            stat: q.stat,
            unit: q.unit,
            start: from,
            end: to,
            scan_by: ScanBy::TimestampAscending,
        })?;
        out.extend(r.timestamps.iter().copied().zip(r.values.iter().copied()));
        window_start = to.millis();
        from = to;
    }
    Ok(out)
}

impl Plan {
    /// Every query's series over `[start, end)` (ascending), indexed like [`Plan::queries`].
    pub fn evaluate(
        &self,
        store: &MetricStore,
        start: Timestamp,
        end: Timestamp,
    ) -> Result<Vec<Series>, DataError> {
        let index: HashMap<&str, usize> = self
            .queries
            .iter()
            .enumerate()
            .map(|(i, q)| (q.id.as_str(), i))
            .collect();
        let mut results: Vec<Option<Series>> = vec![None; self.queries.len()];
        for &i in &self.order {
            let series = match &self.queries[i].source {
                Source::Stat(s) => stat_series(store, s, start, end)?,
                Source::Expression(e) => {
                    let inputs: HashMap<&str, &Series> = e
                        .refs()
                        .into_iter()
                        .filter_map(|id| Some((id, results[*index.get(id)?].as_ref()?)))
                        .collect();
                    evaluate_expression(e, &inputs)?
                }
            };
            results[i] = Some(series);
        }
        Ok(results.into_iter().map(Option::unwrap_or_default).collect())
    }
}
