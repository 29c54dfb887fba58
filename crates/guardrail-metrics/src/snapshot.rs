//! Snapshot/restore of the whole store (serde), so the shell can persist custom metrics across
//! restarts. The snapshot is opaque: serialise it with any serde format.

use crate::config::StoreConfig;
use crate::id::MetricId;
use crate::series::{Bucket, TierSeries, UnitSeries};
use crate::sketch::{Bin, Sketch, SKETCH_RELATIVE_ACCURACY};
use crate::stats::StatisticSet;
use crate::store::MetricStore;
use crate::unit::Unit;
use crate::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

const FORMAT_VERSION: u32 = 1;

/// Everything the store holds, including its configuration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoreSnapshot {
    format_version: u32,
    sketch_relative_accuracy: f64,
    config: StoreConfig,
    last_prune_s: Option<i64>,
    series: Vec<SeriesSnapshot>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct SeriesSnapshot {
    metric: MetricId,
    unit: Unit,
    last_timestamp: Timestamp,
    tiers: Vec<TierSnapshot>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct TierSnapshot {
    complete_from_s: i64,
    buckets: Vec<BucketSnapshot>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct BucketSnapshot {
    start_s: i64,
    stats: StatisticSet,
    /// (key, count) pairs of the sketch.
    bins: Vec<(i32, f64)>,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SnapshotError {
    #[error("snapshot format {0} is not supported")]
    UnsupportedVersion(u32),
    #[error("snapshot was taken with a different sketch accuracy")]
    SketchMismatch,
    #[error("invalid snapshot: {0}")]
    Invalid(&'static str),
}

impl StoreSnapshot {
    /// Number of series in the snapshot.
    pub fn series_count(&self) -> usize {
        self.series.len()
    }
}

impl MetricStore {
    /// The whole store.
    pub fn to_snapshot(&self) -> StoreSnapshot {
        self.to_snapshot_where(|_| true)
    }

    /// Only the metrics `keep` accepts — e.g. custom metrics, not router-published ones.
    pub fn to_snapshot_where(&self, keep: impl Fn(&MetricId) -> bool) -> StoreSnapshot {
        let series = self
            .series
            .iter()
            .filter(|(id, _)| keep(id))
            .flat_map(|(id, list)| {
                list.iter().map(move |s| SeriesSnapshot {
                    metric: id.clone(),
                    unit: s.unit,
                    last_timestamp: s.last_timestamp,
                    tiers: s
                        .tiers
                        .iter()
                        .map(|t| TierSnapshot {
                            complete_from_s: t.complete_from_s,
                            buckets: t
                                .buckets
                                .iter()
                                .map(|b| BucketSnapshot {
                                    start_s: b.start_s,
                                    stats: b.stats,
                                    bins: b
                                        .sketch
                                        .bins()
                                        .iter()
                                        .map(|b| (b.key, b.count))
                                        .collect(),
                                })
                                .collect(),
                        })
                        .collect(),
                })
            })
            .collect();
        StoreSnapshot {
            format_version: FORMAT_VERSION,
            sketch_relative_accuracy: SKETCH_RELATIVE_ACCURACY,
            config: self.config.clone(),
            last_prune_s: self.last_prune_s,
            series,
        }
    }

    /// Rebuilds a store (with the snapshot's configuration), validating every bucket. If the
    /// data exceeds the bucket caps the oldest buckets are evicted as usual.
    pub fn from_snapshot(snapshot: StoreSnapshot) -> Result<MetricStore, SnapshotError> {
        use SnapshotError::Invalid;
        if snapshot.format_version != FORMAT_VERSION {
            return Err(SnapshotError::UnsupportedVersion(snapshot.format_version));
        }
        if snapshot.sketch_relative_accuracy != SKETCH_RELATIVE_ACCURACY {
            return Err(SnapshotError::SketchMismatch);
        }
        let mut store = MetricStore::new(snapshot.config);
        store.last_prune_s = snapshot.last_prune_s;
        let tiers = store.config.retention.tiers().to_vec();
        let max_bins = store.config.limits.max_bins_per_bucket;
        let mut map: BTreeMap<MetricId, Vec<UnitSeries>> = BTreeMap::new();
        for s in snapshot.series {
            if s.tiers.len() != tiers.len() {
                return Err(Invalid("tier count differs from the retention policy"));
            }
            let mut unit_series = UnitSeries {
                unit: s.unit,
                tiers: Vec::with_capacity(tiers.len()),
                last_timestamp: s.last_timestamp,
            };
            for (t, cfg) in s.tiers.into_iter().zip(&tiers) {
                let res = i64::from(cfg.resolution_s);
                let mut tier = TierSeries::new(t.complete_from_s);
                let mut prev = None;
                for b in t.buckets {
                    let sketch = Sketch::from_bins(
                        b.bins
                            .into_iter()
                            .map(|(key, count)| Bin { key, count })
                            .collect(),
                    )
                    .ok_or(Invalid("sketch bins must be sorted, unique and positive"))?;
                    let ordered = prev.is_none_or(|p| p < b.start_s);
                    if !ordered
                        || b.start_s.rem_euclid(res) != 0
                        || !b.stats.is_valid()
                        || sketch.len() > max_bins
                    {
                        return Err(Invalid(
                            "buckets must be sorted, aligned, valid and within the bin cap",
                        ));
                    }
                    prev = Some(b.start_s);
                    store.n_buckets += 1;
                    store.n_bins += sketch.len();
                    tier.buckets.push_back(Bucket {
                        start_s: b.start_s,
                        stats: b.stats,
                        sketch,
                    });
                }
                unit_series.tiers.push(tier);
            }
            let list = map.entry(s.metric).or_default();
            if list.iter().any(|u| u.unit == unit_series.unit) {
                return Err(Invalid("a (metric, unit) series appears twice"));
            }
            list.push(unit_series);
            store.n_series += 1;
        }
        store.key_bytes = map.keys().map(MetricId::heap_bytes).sum();
        let limits = store.config.limits;
        if store.n_series > limits.max_series || store.key_bytes > limits.max_key_bytes {
            return Err(Invalid("more series than the configured limits allow"));
        }
        store.series = map;
        store.enforce_caps();
        Ok(store)
    }
}

#[cfg(test)]
#[path = "snapshot_tests.rs"]
mod tests;
