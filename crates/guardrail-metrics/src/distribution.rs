//! A pre-aggregated distribution: what a recorder accumulates over one second before handing
//! it to the store in one call (exact statistics, percentiles from the same sketch the store
//! keeps), so the request path never touches the store itself.

use crate::sketch::{value_of, Sketch, SKETCH_MAX_BINS_DEFAULT};
use crate::stats::StatisticSet;

/// Samples summarised as exact `StatisticSet` plus a percentile sketch.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Distribution {
    stats: Option<StatisticSet>,
    sketch: Sketch,
}

impl Distribution {
    /// Adds one sample; non-finite values are ignored (they are never valid metric data).
    pub fn add(&mut self, value: f64) {
        if !value.is_finite() {
            return;
        }
        let one = StatisticSet::weighted(value, 1.0);
        match &mut self.stats {
            Some(s) => s.merge(&one),
            None => self.stats = Some(one),
        }
        self.sketch.add(value, 1.0, SKETCH_MAX_BINS_DEFAULT);
    }

    /// The exact statistics, `None` when empty.
    pub fn statistics(&self) -> Option<StatisticSet> {
        self.stats
    }

    /// `(representative value, count)` per sketch bin; re-adding them lands in the same bins.
    pub fn points(&self) -> Vec<(f64, f64)> {
        self.sketch
            .bins()
            .iter()
            .map(|b| (value_of(b.key), b.count))
            .collect()
    }
}
