//! A bounded, mergeable log-linear histogram (the DDSketch mapping) for percentiles.
//!
//! A value `v > 0` falls into bin `i = ceil(ln v / ln γ)`, covering `(γ^(i-1), γ^i]`, with
//! `γ = (1 + α) / (1 - α)`; the bin answers with `2γ^i / (γ + 1)`, which is within a relative
//! error of `α` of every value in the bin. Negative values use mirrored keys, zero its own bin,
//! so key order equals value order. With `α = 1 %` there are ~115 bins per decade.
//!
//! **Error bound:** a percentile is the nearest-rank sample (the smallest sample `x` with at
//! least `p %` of the samples `≤ x`), reported within ±1 % relative error (and clamped into the
//! exact `[Minimum, Maximum]`, so `p0`/`p100` are exact). Each sketch holds at most `max_bins`
//! bins (default 512, which spans a dynamic range of γ^512 ≈ 2.8·10⁴ at full accuracy); beyond
//! that the *lowest* bins are collapsed upward, so the bound still holds for every percentile
//! whose sample lies above the collapsed bins (high percentiles — the ones alarms use) and low
//! percentiles may be over-estimated.

use crate::stats::Percentile;

/// α: the relative accuracy of every percentile (1 %).
pub const SKETCH_RELATIVE_ACCURACY: f64 = 0.01;
/// Default bin cap per sketch (each bin is 16 bytes).
pub const SKETCH_MAX_BINS_DEFAULT: usize = 512;

const GAMMA: f64 = (1.0 + SKETCH_RELATIVE_ACCURACY) / (1.0 - SKETCH_RELATIVE_ACCURACY);
/// Keys of positive values are `i + OFFSET ≥ 1`; the whole f64 range fits (|i| ≤ ~37 300).
const OFFSET: i32 = 40_000;

fn ln_gamma() -> f64 {
    GAMMA.ln()
}

/// One histogram bin: the key (see module docs) and its (possibly fractional) weight.
#[derive(Copy, Clone, Debug, PartialEq)]
pub(crate) struct Bin {
    pub(crate) key: i32,
    pub(crate) count: f64,
}

/// Bins sorted by key, keys unique, counts > 0.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Sketch {
    bins: Vec<Bin>,
}

pub(crate) fn key_of(v: f64) -> i32 {
    if v == 0.0 {
        return 0;
    }
    let idx = (v.abs().ln() / ln_gamma()).ceil();
    // Clamp: subnormals share the lowest bin (their answers are clamped to the exact min/max).
    let idx = idx.clamp(f64::from(1 - OFFSET), f64::from(OFFSET)) as i32;
    let key = idx + OFFSET;
    if v > 0.0 {
        key
    } else {
        -key
    }
}

pub(crate) fn value_of(key: i32) -> f64 {
    if key == 0 {
        return 0.0;
    }
    let idx = f64::from(key.abs() - OFFSET);
    let magnitude = (idx * ln_gamma() - ((GAMMA + 1.0) / 2.0).ln())
        .exp()
        .min(f64::MAX);
    if key > 0 {
        magnitude
    } else {
        -magnitude
    }
}

impl Sketch {
    pub(crate) fn len(&self) -> usize {
        self.bins.len()
    }

    pub(crate) fn bins(&self) -> &[Bin] {
        &self.bins
    }

    /// Rebuilds from stored bins; `None` unless sorted, unique and with positive finite counts.
    pub(crate) fn from_bins(bins: Vec<Bin>) -> Option<Self> {
        let ok = bins.iter().all(|b| b.count.is_finite() && b.count > 0.0)
            && bins.windows(2).all(|w| w[0].key < w[1].key);
        ok.then_some(Sketch { bins })
    }

    /// Adds `count` samples of `v`; returns how many bins were added (0 or 1). At `max_bins`
    /// the lowest bin is folded into its neighbour first.
    pub(crate) fn add(&mut self, v: f64, count: f64, max_bins: usize) -> usize {
        if count <= 0.0 {
            return 0;
        }
        let key = key_of(v);
        match self.bins.binary_search_by_key(&key, |b| b.key) {
            Ok(i) => {
                self.bins[i].count += count;
                0
            }
            Err(0) if self.bins.len() >= max_bins.max(1) => {
                // Below every bin: collapse into the lowest one.
                self.bins[0].count += count;
                0
            }
            Err(i) if self.bins.len() >= max_bins.max(1) => {
                // Fold the lowest bin into the next-lowest (which may be the new one); the
                // remove-then-insert keeps the allocation as it is.
                let lowest = self.bins.remove(0);
                self.bins.insert(i - 1, Bin { key, count });
                self.bins[0].count += lowest.count;
                0
            }
            Err(i) => {
                self.bins.reserve_exact(1);
                self.bins.insert(i, Bin { key, count });
                1
            }
        }
    }

    /// Total weight of all bins.
    pub(crate) fn total(&self) -> f64 {
        self.bins.iter().map(|b| b.count).sum()
    }

    /// Whether this sketch saw (within float rounding) all `sample_count` samples.
    pub(crate) fn covers(&self, sample_count: f64) -> bool {
        let total = self.total();
        (total - sample_count).abs() <= 1e-9 * sample_count.abs().max(1.0)
    }

    /// Nearest-rank percentile, clamped into `[min, max]`; `None` for an empty sketch.
    pub(crate) fn percentile(&self, p: Percentile, min: f64, max: f64) -> Option<f64> {
        let total = self.total();
        if self.bins.is_empty() || total <= 0.0 {
            return None;
        }
        match p.hundredths() {
            0 => return Some(min),
            10_000 => return Some(max),
            _ => {}
        }
        let rank = f64::from(p.hundredths()) * total / 10_000.0;
        let tolerance = 1e-12 * total;
        let mut cumulative = 0.0;
        let mut key = self.bins[self.bins.len() - 1].key;
        for b in &self.bins {
            cumulative += b.count;
            if cumulative + tolerance >= rank {
                key = b.key;
                break;
            }
        }
        Some(value_of(key).clamp(min, max))
    }
}

/// Accumulates bins of several sketches (query time; no bin cap) into one.
#[derive(Default)]
pub(crate) struct SketchMerger {
    bins: Vec<Bin>,
}

impl SketchMerger {
    pub(crate) fn add(&mut self, s: &Sketch) {
        self.bins.extend_from_slice(&s.bins);
    }

    pub(crate) fn finish(mut self) -> Sketch {
        self.bins.sort_unstable_by_key(|b| b.key);
        let mut out: Vec<Bin> = Vec::with_capacity(self.bins.len());
        for b in self.bins {
            match out.last_mut() {
                Some(last) if last.key == b.key => last.count += b.count,
                _ => out.push(b),
            }
        }
        Sketch { bins: out }
    }
}

#[cfg(test)]
#[path = "sketch_tests.rs"]
mod tests;
