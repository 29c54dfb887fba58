//! One series = one metric identity + unit; it holds one bucket list per retention tier
//! (1 s, 60 s, 5 min, 1 h by default). Every sample is added to all tiers at once, so a
//! roll-up is always complete for the time its tier still retains.

use crate::sketch::Sketch;
use crate::stats::StatisticSet;
use crate::unit::Unit;
use crate::Timestamp;
use std::collections::VecDeque;

/// What one recorded datum contributes: its exact aggregate and the (value, count) pairs the
/// sketch can use (empty when the datum was a StatisticSet with distinct min and max).
pub(crate) struct Sample<'a> {
    pub(crate) stats: StatisticSet,
    pub(crate) points: &'a [(f64, f64)],
}

/// The aggregate of all samples whose timestamps fall in `[start_s, start_s + resolution)`.
/// 64 bytes inline (see `BYTES_PER_BUCKET`) plus 16 bytes per sketch bin on the heap.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Bucket {
    pub(crate) start_s: i64,
    pub(crate) stats: StatisticSet,
    pub(crate) sketch: Sketch,
}

/// The buckets of one tier, sorted by start, plus the time from which they are complete
/// (older data was pruned or evicted; data for earlier buckets is no longer accepted).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct TierSeries {
    pub(crate) buckets: VecDeque<Bucket>,
    pub(crate) complete_from_s: i64,
}

/// Buckets and bins a change added (+) or removed.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Delta {
    pub(crate) buckets: usize,
    pub(crate) bins: usize,
}

impl TierSeries {
    pub(crate) fn new(complete_from_s: i64) -> Self {
        TierSeries {
            buckets: VecDeque::new(),
            complete_from_s,
        }
    }

    /// Adds `sample` to the bucket starting at `start_s` (already aligned to the tier).
    pub(crate) fn add(&mut self, start_s: i64, sample: &Sample<'_>, max_bins: usize) -> Delta {
        // Fast path: the newest bucket (samples mostly arrive in time order).
        let found = match self.buckets.back() {
            Some(b) if b.start_s == start_s => Ok(self.buckets.len() - 1),
            Some(b) if b.start_s < start_s => Err(self.buckets.len()),
            _ => self.buckets.binary_search_by_key(&start_s, |b| b.start_s),
        };
        let mut delta = Delta::default();
        let i = match found {
            Ok(i) => {
                self.buckets[i].stats.merge(&sample.stats);
                i
            }
            Err(i) => {
                self.buckets.insert(
                    i,
                    Bucket {
                        start_s,
                        stats: sample.stats,
                        sketch: Sketch::default(),
                    },
                );
                delta.buckets = 1;
                i
            }
        };
        let sketch = &mut self.buckets[i].sketch;
        for (v, c) in sample.points {
            delta.bins += sketch.add(*v, *c, max_bins);
        }
        delta
    }

    /// Index of the first bucket starting at or after `from_s`.
    pub(crate) fn first_at_or_after(&self, from_s: i64) -> usize {
        self.buckets.partition_point(|b| b.start_s < from_s)
    }

    /// Drops buckets starting before `cutoff_s` and moves `complete_from_s` up to it.
    pub(crate) fn drop_before(&mut self, cutoff_s: i64) -> Delta {
        let mut delta = Delta::default();
        while self.buckets.front().is_some_and(|b| b.start_s < cutoff_s) {
            if let Some(b) = self.buckets.pop_front() {
                delta.buckets += 1;
                delta.bins += b.sketch.len();
            }
        }
        self.complete_from_s = self.complete_from_s.max(cutoff_s);
        // Give memory back after a large prune.
        if self.buckets.capacity() > 64 && self.buckets.capacity() > 4 * self.buckets.len() {
            self.buckets.shrink_to(2 * self.buckets.len());
        }
        delta
    }

    /// Evicts the oldest bucket (memory cap); the tier is complete only after it from now on.
    pub(crate) fn evict_front(&mut self, resolution_s: i64) -> Delta {
        match self.buckets.pop_front() {
            Some(b) => {
                self.complete_from_s = self.complete_from_s.max(b.start_s + resolution_s);
                Delta {
                    buckets: 1,
                    bins: b.sketch.len(),
                }
            }
            None => Delta::default(),
        }
    }
}

/// All tiers of one (metric, unit).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct UnitSeries {
    pub(crate) unit: Unit,
    pub(crate) tiers: Vec<TierSeries>,
    /// Newest sample timestamp seen (ListMetrics' `RecentlyActive` and two-week rule).
    pub(crate) last_timestamp: Timestamp,
}

impl UnitSeries {
    pub(crate) fn is_empty(&self) -> bool {
        self.tiers.iter().all(|t| t.buckets.is_empty())
    }
}

/// `x` rounded down to a multiple of `step` (> 0), also for negative `x` (saturating at the
/// very bottom of the i64 range).
pub(crate) fn floor_to(x: i64, step: i64) -> i64 {
    x.saturating_sub(x.rem_euclid(step))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(v: f64) -> (StatisticSet, [(f64, f64); 1]) {
        (StatisticSet::weighted(v, 1.0), [(v, 1.0)])
    }

    #[test]
    fn buckets_stay_sorted_with_out_of_order_samples() {
        let mut t = TierSeries::new(i64::MIN);
        for s in [10, 30, 20, 30, 0] {
            let (stats, points) = sample(s as f64);
            t.add(
                s,
                &Sample {
                    stats,
                    points: &points,
                },
                512,
            );
        }
        let starts: Vec<i64> = t.buckets.iter().map(|b| b.start_s).collect();
        assert_eq!(starts, [0, 10, 20, 30]);
        assert_eq!(t.buckets[3].stats.sample_count, 2.0);
        assert_eq!(t.first_at_or_after(15), 2);
        let d = t.drop_before(20);
        assert_eq!(
            d,
            Delta {
                buckets: 2,
                bins: 2
            }
        );
        assert_eq!(t.complete_from_s, 20);
        assert_eq!(
            t.evict_front(10),
            Delta {
                buckets: 1,
                bins: 1
            }
        );
        assert_eq!(t.complete_from_s, 30);
    }

    #[test]
    fn floor_to_handles_negative_times() {
        assert_eq!(floor_to(61, 60), 60);
        assert_eq!(floor_to(-1, 60), -60);
        assert_eq!(floor_to(120, 60), 120);
    }
}
