//! Store configuration: retention tiers, memory caps and the per-item byte figures.

use crate::id::MetricId;
use crate::series::{TierSeries, UnitSeries};
use crate::sketch::SKETCH_MAX_BINS_DEFAULT;
use serde::{Deserialize, Serialize};
use std::mem::size_of;

/// Inline size of one bucket: start (8) + StatisticSet (32) + sketch `Vec` header (24).
pub const BYTES_PER_BUCKET: usize = 64;
/// Heap size of one sketch bin: key (4, padded to 8) + count (8).
pub const BYTES_PER_BIN: usize = 16;

/// Longest retention a tier may have (100 years), so time arithmetic cannot overflow.
const MAX_RETENTION_S: u64 = 100 * 366 * 86_400;

/// One resolution and how long it is kept.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetentionTier {
    pub resolution_s: u32,
    pub retention_s: u64,
}

/// The resolutions kept, finest first; each a multiple of the previous one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Vec<RetentionTier>", into = "Vec<RetentionTier>")]
pub struct RetentionPolicy {
    tiers: Vec<RetentionTier>,
}

impl RetentionPolicy {
    /// CloudWatch's own: 1 s for 3 h, 60 s for 15 days, 5 min for 63 days, 1 h for 455 days.
    pub fn cloudwatch() -> Self {
        const DAY: u64 = 86_400;
        let t = |resolution_s, retention_s| RetentionTier {
            resolution_s,
            retention_s,
        };
        RetentionPolicy {
            tiers: vec![
                t(1, 3 * 3600),
                t(60, 15 * DAY),
                t(300, 63 * DAY),
                t(3600, 455 * DAY),
            ],
        }
    }

    /// 1–8 tiers, resolutions strictly increasing and each a multiple of the previous,
    /// retentions between 1 s and 100 years.
    pub fn new(tiers: Vec<RetentionTier>) -> Result<Self, StoreError> {
        let ok = !tiers.is_empty()
            && tiers.len() <= 8
            && tiers
                .iter()
                .all(|t| t.resolution_s > 0 && (1..=MAX_RETENTION_S).contains(&t.retention_s))
            && tiers.windows(2).all(|w| {
                w[1].resolution_s > w[0].resolution_s && w[1].resolution_s % w[0].resolution_s == 0
            });
        if ok {
            Ok(RetentionPolicy { tiers })
        } else {
            Err(StoreError::InvalidConfig(
                "retention tiers: 1-8, increasing resolutions, each a multiple of the previous, retention 1 s to 100 years",
            ))
        }
    }

    pub fn tiers(&self) -> &[RetentionTier] {
        &self.tiers
    }
}

impl Default for RetentionPolicy {
    fn default() -> Self {
        Self::cloudwatch()
    }
}

impl TryFrom<Vec<RetentionTier>> for RetentionPolicy {
    type Error = StoreError;
    fn try_from(tiers: Vec<RetentionTier>) -> Result<Self, Self::Error> {
        RetentionPolicy::new(tiers)
    }
}

impl From<RetentionPolicy> for Vec<RetentionTier> {
    fn from(p: RetentionPolicy) -> Self {
        p.tiers
    }
}

/// Hard caps that bound memory (see [`StoreLimits::max_memory_bytes`]).
///
/// Figures: a bucket is 64 bytes inline plus 16 bytes per sketch bin; a series costs ~360
/// bytes plus its name strings. Measured: a 0/1 error metric uses ~1.2 bins per bucket
/// (~115 bytes per bucket all-in), a latency metric at 200 requests/s ~100 bins per 1-s bucket
/// (~1.7 KB). A metric active for the full retention holds 61 464 buckets (10 800 + 21 600 +
/// 18 144 + 10 920). The defaults (10 000 series, 8 MiB of names, 1 M buckets, 4 M bins)
/// bound the store to ~195 MiB.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreLimits {
    /// Series = (metric identity, unit). A new series beyond this is refused.
    pub max_series: usize,
    /// Bytes of identity strings over all series. A new series beyond this is refused.
    pub max_key_bytes: usize,
    /// Buckets over all series and tiers; beyond it the *oldest* buckets are evicted.
    pub max_buckets: usize,
    /// Sketch bins over all buckets; beyond it the oldest buckets are evicted.
    pub max_bins: usize,
    /// Bins per sketch; beyond it the lowest bins collapse (see the sketch's error bound).
    pub max_bins_per_bucket: usize,
}

impl Default for StoreLimits {
    fn default() -> Self {
        StoreLimits {
            max_series: 10_000,
            max_key_bytes: 8 << 20,
            max_buckets: 1_000_000,
            max_bins: 4_000_000,
            max_bins_per_bucket: SKETCH_MAX_BINS_DEFAULT,
        }
    }
}

/// Approximate fixed cost of one series besides its buckets: identity, map entry, tier headers.
pub(crate) fn series_overhead_bytes(tiers: usize) -> usize {
    size_of::<MetricId>()
        + size_of::<Vec<UnitSeries>>()
        + size_of::<UnitSeries>()
        + tiers * size_of::<TierSeries>()
        + 64 // B-tree node slack and allocation headers
}

impl StoreLimits {
    /// Upper bound of the store's heap use under these limits: series overhead, identity
    /// strings, buckets (counting up to 2× bucket-array slack from `VecDeque` growth) and bins.
    pub fn max_memory_bytes(&self, policy: &RetentionPolicy) -> usize {
        self.max_series * series_overhead_bytes(policy.tiers().len())
            + self.max_key_bytes
            + 2 * self.max_buckets * BYTES_PER_BUCKET
            + self.max_bins * BYTES_PER_BIN
    }
}

/// Retention policy and caps.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreConfig {
    pub retention: RetentionPolicy,
    pub limits: StoreLimits,
}

/// Why a datum was refused. The API layer maps these to `InvalidParameterValue` /
/// `LimitExceeded`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("values must be finite numbers")]
    NonFiniteValue,
    #[error("a StatisticSet needs SampleCount > 0, finite values and Minimum <= Maximum")]
    InvalidStatisticSet,
    #[error("Values must not be empty and Counts must match Values in length and be >= 0")]
    InvalidValuesCounts,
    #[error("the store holds the maximum of {0} metric series")]
    SeriesLimit(usize),
    #[error("invalid store configuration: {0}")]
    InvalidConfig(&'static str),
}
