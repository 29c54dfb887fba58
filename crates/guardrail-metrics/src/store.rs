//! The bounded in-memory metric store: recording, retention and memory caps. Configuration
//! lives in `config.rs`, queries in `query.rs`, snapshots in `snapshot.rs`.

use crate::config::{series_overhead_bytes, StoreConfig, StoreError};
use crate::distribution::Distribution;
use crate::id::MetricId;
use crate::series::{floor_to, Bucket, Delta, Sample, TierSeries, UnitSeries};
use crate::sketch::Bin;
use crate::stats::StatisticSet;
use crate::unit::Unit;
use crate::Timestamp;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::mem::size_of;

/// What the store currently holds and roughly costs.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct MemoryUsage {
    pub series: usize,
    pub buckets: usize,
    pub bins: usize,
    pub key_bytes: usize,
    /// Approximate heap bytes, bucket arrays counted at their allocated capacity.
    pub approx_bytes: usize,
}

/// The metric store. Pure data: callers pass time in and serialise access themselves.
#[derive(Clone, Debug)]
pub struct MetricStore {
    pub(crate) config: StoreConfig,
    pub(crate) series: BTreeMap<MetricId, Vec<UnitSeries>>,
    pub(crate) n_series: usize,
    pub(crate) n_buckets: usize,
    pub(crate) n_bins: usize,
    pub(crate) key_bytes: usize,
    /// `now` of the last `prune`, in seconds: new series start complete only from there.
    pub(crate) last_prune_s: Option<i64>,
}

fn seconds(ts: Timestamp) -> i64 {
    ts.millis().div_euclid(1000)
}

impl MetricStore {
    pub fn new(config: StoreConfig) -> Self {
        MetricStore {
            config,
            series: BTreeMap::new(),
            n_series: 0,
            n_buckets: 0,
            n_bins: 0,
            key_bytes: 0,
            last_prune_s: None,
        }
    }

    pub fn config(&self) -> &StoreConfig {
        &self.config
    }

    /// Records one sample (`MetricDatum.Value`).
    pub fn record(
        &mut self,
        id: &MetricId,
        ts: Timestamp,
        value: f64,
        unit: Unit,
    ) -> Result<(), StoreError> {
        if !value.is_finite() {
            return Err(StoreError::NonFiniteValue);
        }
        let points = [(value, 1.0)];
        self.add(
            id,
            ts,
            unit,
            &Sample {
                stats: StatisticSet::weighted(value, 1.0),
                points: &points,
            },
        )
    }

    /// Records a `StatisticValues` datum. Percentiles stay available for its period only when
    /// SampleCount is 1 or Minimum equals Maximum (as in CloudWatch).
    pub fn record_statistic_set(
        &mut self,
        id: &MetricId,
        ts: Timestamp,
        set: StatisticSet,
        unit: Unit,
    ) -> Result<(), StoreError> {
        if !set.is_valid() {
            return Err(StoreError::InvalidStatisticSet);
        }
        let exact = [(set.minimum, set.sample_count)];
        let points: &[(f64, f64)] = if set.sample_count == 1.0 || set.minimum == set.maximum {
            &exact
        } else {
            &[]
        };
        self.add(id, ts, unit, &Sample { stats: set, points })
    }

    /// Records a pre-aggregated [`Distribution`] (exact statistics, percentiles to the sketch's
    /// accuracy). An empty distribution records nothing.
    pub fn record_distribution(
        &mut self,
        id: &MetricId,
        ts: Timestamp,
        dist: &Distribution,
        unit: Unit,
    ) -> Result<(), StoreError> {
        let Some(stats) = dist.statistics() else {
            return Ok(());
        };
        let points = dist.points();
        self.add(
            id,
            ts,
            unit,
            &Sample {
                stats,
                points: &points,
            },
        )
    }

    /// Records a `Values` (+ optional `Counts`, default 1 each) datum. Zero counts are skipped.
    pub fn record_values(
        &mut self,
        id: &MetricId,
        ts: Timestamp,
        values: &[f64],
        counts: Option<&[f64]>,
        unit: Unit,
    ) -> Result<(), StoreError> {
        if values.is_empty() || counts.is_some_and(|c| c.len() != values.len()) {
            return Err(StoreError::InvalidValuesCounts);
        }
        if values.iter().any(|v| !v.is_finite()) {
            return Err(StoreError::NonFiniteValue);
        }
        if counts.is_some_and(|c| c.iter().any(|c| !c.is_finite() || *c < 0.0)) {
            return Err(StoreError::InvalidValuesCounts);
        }
        let points: Vec<(f64, f64)> = values
            .iter()
            .enumerate()
            .map(|(i, v)| (*v, counts.map_or(1.0, |c| c[i])))
            .filter(|(_, c)| *c > 0.0)
            .collect();
        let Some(stats) = points
            .iter()
            .map(|(v, c)| StatisticSet::weighted(*v, *c))
            .reduce(|mut a, b| {
                a.merge(&b);
                a
            })
        else {
            return Ok(()); // every count was zero: nothing to record
        };
        self.add(
            id,
            ts,
            unit,
            &Sample {
                stats,
                points: &points,
            },
        )
    }

    /// Where a brand-new tier starts being complete: the last prune's horizon.
    fn initial_complete_from(&self, tier: usize) -> i64 {
        let t = self.config.retention.tiers()[tier];
        match self.last_prune_s {
            Some(now) => floor_to(
                now.saturating_sub(t.retention_s as i64),
                i64::from(t.resolution_s),
            ),
            None => i64::MIN,
        }
    }

    fn add(
        &mut self,
        id: &MetricId,
        ts: Timestamp,
        unit: Unit,
        sample: &Sample<'_>,
    ) -> Result<(), StoreError> {
        let sec = seconds(ts);
        let tiers = self.config.retention.tiers();
        let max_bins = self.config.limits.max_bins_per_bucket;
        let existing = self
            .series
            .get(id)
            .and_then(|v| v.iter().position(|s| s.unit == unit));
        if existing.is_none() {
            // Create only if some tier still accepts this time, and only within the caps.
            let accepted = (0..tiers.len()).any(|i| {
                floor_to(sec, i64::from(tiers[i].resolution_s)) >= self.initial_complete_from(i)
            });
            if !accepted {
                return Ok(());
            }
            let new_key = !self.series.contains_key(id);
            let key_bytes = if new_key { id.heap_bytes() } else { 0 };
            let limits = self.config.limits;
            if self.n_series >= limits.max_series
                || self.key_bytes + key_bytes > limits.max_key_bytes
            {
                return Err(StoreError::SeriesLimit(limits.max_series));
            }
            let fresh = UnitSeries {
                unit,
                tiers: (0..tiers.len())
                    .map(|i| TierSeries::new(self.initial_complete_from(i)))
                    .collect(),
                last_timestamp: ts,
            };
            self.series.entry(id.clone()).or_default().push(fresh);
            self.n_series += 1;
            self.key_bytes += key_bytes;
        }
        let list = self.series.get_mut(id).expect("series exists");
        let series = list
            .iter_mut()
            .find(|s| s.unit == unit)
            .expect("unit series exists");
        series.last_timestamp = series.last_timestamp.max(ts);
        let mut delta = Delta::default();
        for (tier, cfg) in series.tiers.iter_mut().zip(tiers) {
            let start = floor_to(sec, i64::from(cfg.resolution_s));
            if start >= tier.complete_from_s {
                let d = tier.add(start, sample, max_bins);
                delta.buckets += d.buckets;
                delta.bins += d.bins;
            }
        }
        self.n_buckets += delta.buckets;
        self.n_bins += delta.bins;
        self.enforce_caps();
        Ok(())
    }

    /// Drops data older than each tier's retention (relative to `now`), and series left with
    /// no data. Call it periodically (e.g. once a minute); queries do not prune.
    pub fn prune(&mut self, now: Timestamp) {
        let now_s = seconds(now);
        self.last_prune_s = Some(now_s);
        let tiers = self.config.retention.tiers();
        let mut freed = Delta::default();
        let mut removed_series = 0;
        let mut removed_key_bytes = 0;
        self.series.retain(|id, list| {
            for s in list.iter_mut() {
                for (tier, cfg) in s.tiers.iter_mut().zip(tiers) {
                    let cutoff = floor_to(
                        now_s.saturating_sub(cfg.retention_s as i64),
                        i64::from(cfg.resolution_s),
                    );
                    let d = tier.drop_before(cutoff);
                    freed.buckets += d.buckets;
                    freed.bins += d.bins;
                }
            }
            let before = list.len();
            list.retain(|s| !s.is_empty());
            removed_series += before - list.len();
            if list.is_empty() {
                removed_key_bytes += id.heap_bytes();
                false
            } else {
                true
            }
        });
        self.n_buckets -= freed.buckets;
        self.n_bins -= freed.bins;
        self.n_series -= removed_series;
        self.key_bytes -= removed_key_bytes;
    }

    /// Over a cap: evict the buckets whose data *ends* earliest store-wide (ties: finer tier
    /// first, so a roll-up outlives the fine buckets it covers) down to 15/16 of the caps, so
    /// eviction runs in batches. Recent data — what alarms read — goes last.
    pub(crate) fn enforce_caps(&mut self) {
        let limits = self.config.limits;
        if self.n_buckets <= limits.max_buckets && self.n_bins <= limits.max_bins {
            return;
        }
        let low_buckets = limits.max_buckets - limits.max_buckets / 16;
        let low_bins = limits.max_bins - limits.max_bins / 16;
        let resolutions: Vec<i64> = self
            .config
            .retention
            .tiers()
            .iter()
            .map(|t| i64::from(t.resolution_s))
            .collect();
        let mut tiers: Vec<(usize, &mut TierSeries)> = self
            .series
            .values_mut()
            .flat_map(|list| list.iter_mut())
            .flat_map(|s| s.tiers.iter_mut().enumerate())
            .collect();
        let mut heap: BinaryHeap<Reverse<(i64, usize, usize)>> = tiers
            .iter()
            .enumerate()
            .filter_map(|(i, (tier_idx, t))| {
                t.buckets
                    .front()
                    .map(|b| Reverse((b.start_s + resolutions[*tier_idx], *tier_idx, i)))
            })
            .collect();
        while self.n_buckets > low_buckets || self.n_bins > low_bins {
            let Some(Reverse((_, tier_idx, i))) = heap.pop() else {
                break;
            };
            let t = &mut tiers[i].1;
            let d = t.evict_front(resolutions[tier_idx]);
            self.n_buckets -= d.buckets;
            self.n_bins -= d.bins;
            if let Some(b) = t.buckets.front() {
                heap.push(Reverse((b.start_s + resolutions[tier_idx], tier_idx, i)));
            }
        }
    }

    /// Counts and approximate heap bytes (walks the series, not the buckets).
    pub fn memory_usage(&self) -> MemoryUsage {
        let tiers = self.config.retention.tiers().len();
        let bucket_slots: usize = self
            .series
            .values()
            .flat_map(|l| l.iter())
            .flat_map(|s| s.tiers.iter())
            .map(|t| t.buckets.capacity())
            .sum();
        MemoryUsage {
            series: self.n_series,
            buckets: self.n_buckets,
            bins: self.n_bins,
            key_bytes: self.key_bytes,
            approx_bytes: self.n_series * series_overhead_bytes(tiers)
                + self.key_bytes
                + bucket_slots * size_of::<Bucket>()
                + self.n_bins * size_of::<Bin>(),
        }
    }
}

#[cfg(test)]
#[path = "store_tests.rs"]
pub(crate) mod tests;
