use super::*;
use crate::config::*;
use crate::series::Bucket;
use crate::sketch::Bin;

const H: i64 = 3_600_000;
/// 2026-11-23T10:00:00Z
const T0: i64 = 1_795_428_000_000;

fn ts(ms: i64) -> Timestamp {
    Timestamp::from_millis(ms)
}

fn id(name: &str) -> MetricId {
    MetricId::new("Custom/Test", name, [("Host", "a")]).unwrap()
}

/// Recounts buckets and bins by walking the store; must equal the incremental counters.
pub(crate) fn assert_counters_consistent(s: &MetricStore) {
    let tiers = || {
        s.series
            .values()
            .flat_map(|l| l.iter())
            .flat_map(|u| u.tiers.iter())
    };
    let buckets: usize = tiers().map(|t| t.buckets.len()).sum();
    let bins: usize = tiers()
        .flat_map(|t| t.buckets.iter())
        .map(|b| b.sketch.len())
        .sum();
    let series: usize = s.series.values().map(Vec::len).sum();
    assert_eq!((s.n_series, s.n_buckets, s.n_bins), (series, buckets, bins));
    assert_eq!(
        s.key_bytes,
        s.series.keys().map(MetricId::heap_bytes).sum::<usize>()
    );
}

#[test]
fn bucket_and_bin_sizes_match_the_documented_figures() {
    assert_eq!(std::mem::size_of::<Bucket>(), BYTES_PER_BUCKET);
    assert_eq!(std::mem::size_of::<Bin>(), BYTES_PER_BIN);
}

#[test]
fn default_limits_bound_memory() {
    let c = StoreConfig::default();
    let bound = c.limits.max_memory_bytes(&c.retention);
    // 10 000 series × ~0.4 KiB + 8 MiB names + 1 M buckets × 64 B × 2 (slack) + 4 M bins × 16 B.
    assert_eq!(series_overhead_bytes(4), 360);
    assert_eq!(
        bound,
        10_000 * 360 + (8 << 20) + 2 * 64_000_000 + 64_000_000
    );
    assert!(bound < 210_000_000, "{bound}");
}

#[test]
fn a_sample_lands_in_every_tier() {
    let mut s = MetricStore::new(StoreConfig::default());
    s.record(&id("m"), ts(T0 + 1_234), 5.0, Unit::Count)
        .unwrap();
    let series = &s.series[&id("m")][0];
    let starts: Vec<i64> = series.tiers.iter().map(|t| t.buckets[0].start_s).collect();
    let sec = (T0 + 1_234) / 1000;
    assert_eq!(
        starts,
        [sec, sec - sec % 60, sec - sec % 300, sec - sec % 3600]
    );
    assert_eq!(s.memory_usage().buckets, 4);
    assert_counters_consistent(&s);
}

#[test]
fn the_three_put_metric_data_forms() {
    let mut s = MetricStore::new(StoreConfig::default());
    let m = id("m");
    s.record(&m, ts(T0), 1.0, Unit::None).unwrap();
    s.record_statistic_set(
        &m,
        ts(T0),
        StatisticSet {
            sample_count: 4.0,
            sum: 20.0,
            minimum: 2.0,
            maximum: 8.0,
        },
        Unit::None,
    )
    .unwrap();
    s.record_values(
        &m,
        ts(T0),
        &[10.0, 0.0, 3.0],
        Some(&[2.0, 0.0, 1.0]),
        Unit::None,
    )
    .unwrap();
    let b = &s.series[&m][0].tiers[0].buckets[0];
    assert_eq!(
        b.stats,
        StatisticSet {
            sample_count: 8.0,
            sum: 44.0,
            minimum: 1.0,
            maximum: 10.0
        }
    );
    // The statistic set (min ≠ max, count 4) is not in the sketch: percentiles unavailable.
    assert!(!b.sketch.covers(b.stats.sample_count));
    assert_eq!(
        s.record(&m, ts(T0), f64::NAN, Unit::None),
        Err(StoreError::NonFiniteValue)
    );
    assert_eq!(
        s.record_values(&m, ts(T0), &[1.0], Some(&[1.0, 2.0]), Unit::None),
        Err(StoreError::InvalidValuesCounts)
    );
    assert_eq!(
        s.record_values(&m, ts(T0), &[1.0], Some(&[-1.0]), Unit::None),
        Err(StoreError::InvalidValuesCounts)
    );
    assert_eq!(
        s.record_values(&m, ts(T0), &[], None, Unit::None),
        Err(StoreError::InvalidValuesCounts)
    );
    let bad = StatisticSet {
        sample_count: 1.0,
        sum: 1.0,
        minimum: 3.0,
        maximum: 2.0,
    };
    assert_eq!(
        s.record_statistic_set(&m, ts(T0), bad, Unit::None),
        Err(StoreError::InvalidStatisticSet)
    );
    // All-zero counts record nothing.
    s.record_values(&id("zero"), ts(T0), &[1.0], Some(&[0.0]), Unit::None)
        .unwrap();
    assert!(!s.series.contains_key(&id("zero")));
    // A statistic set with min == max stays percentile-capable.
    s.record_statistic_set(
        &id("same"),
        ts(T0),
        StatisticSet::weighted(7.0, 5.0),
        Unit::None,
    )
    .unwrap();
    let b = &s.series[&id("same")][0].tiers[0].buckets[0];
    assert!(b.sketch.covers(5.0));
    assert_counters_consistent(&s);
}

#[test]
fn prune_drops_expired_buckets_per_tier_and_empty_series() {
    let mut s = MetricStore::new(StoreConfig::default());
    s.record(&id("old"), ts(T0), 1.0, Unit::None).unwrap();
    s.record(&id("new"), ts(T0 + 4 * H), 1.0, Unit::None)
        .unwrap();
    s.prune(ts(T0 + 4 * H));
    let old = &s.series[&id("old")][0];
    assert!(
        old.tiers[0].buckets.is_empty(),
        "1-s data older than 3 h is gone"
    );
    assert_eq!(
        old.tiers[1].buckets.len(),
        1,
        "the 60-s roll-up is kept 15 days"
    );
    assert_eq!(old.tiers[0].complete_from_s, (T0 + H) / 1000);
    // Late data older than the 1-s horizon goes only to the roll-ups.
    s.record(&id("old"), ts(T0 + 1_000), 2.0, Unit::None)
        .unwrap();
    assert!(s.series[&id("old")][0].tiers[0].buckets.is_empty());
    assert_eq!(
        s.series[&id("old")][0].tiers[1].buckets[0]
            .stats
            .sample_count,
        2.0
    );
    s.prune(ts(T0 + 456 * 24 * H));
    assert!(s.series.is_empty());
    assert_eq!(
        s.memory_usage(),
        MemoryUsage {
            series: 0,
            buckets: 0,
            bins: 0,
            key_bytes: 0,
            approx_bytes: 0
        }
    );
    // After a prune a brand-new series refuses data beyond every tier's retention.
    s.record(&id("ancient"), ts(T0), 1.0, Unit::None).unwrap();
    assert!(s.series.is_empty());
}

#[test]
fn series_cap_refuses_new_series_but_not_new_data() {
    let limits = StoreLimits {
        max_series: 2,
        ..StoreLimits::default()
    };
    let mut s = MetricStore::new(StoreConfig {
        limits,
        ..StoreConfig::default()
    });
    s.record(&id("a"), ts(T0), 1.0, Unit::None).unwrap();
    s.record(&id("a"), ts(T0), 1.0, Unit::Count).unwrap(); // a second unit is a second series
    assert_eq!(
        s.record(&id("b"), ts(T0), 1.0, Unit::None),
        Err(StoreError::SeriesLimit(2))
    );
    s.record(&id("a"), ts(T0 + 1_000), 1.0, Unit::None).unwrap();
    assert_eq!(s.memory_usage().series, 2);
}

#[test]
fn bucket_cap_evicts_the_oldest_data_first() {
    let one_tier = RetentionPolicy::new(vec![RetentionTier {
        resolution_s: 1,
        retention_s: 3600,
    }])
    .unwrap();
    let limits = StoreLimits {
        max_buckets: 160,
        ..StoreLimits::default()
    };
    let mut s = MetricStore::new(StoreConfig {
        retention: one_tier,
        limits,
    });
    for i in 0..200 {
        // Two series interleaved; series "b" lags 50 s behind.
        s.record(&id("a"), ts(T0 + i * 1000), 1.0, Unit::None)
            .unwrap();
        s.record(&id("b"), ts(T0 - 50_000 + i * 1000), 1.0, Unit::None)
            .unwrap();
    }
    let usage = s.memory_usage();
    assert!(usage.buckets <= 160, "{usage:?}");
    let front = |n: &str| s.series[&id(n)][0].tiers[0].buckets[0].start_s;
    // Everything older than the cut-off went, across both series.
    let newest_a = (T0 + 199_000) / 1000;
    assert!(
        front("a") > newest_a - 160 && front("b") > front("a") - 60,
        "{} {}",
        front("a"),
        front("b")
    );
    assert!(s.series[&id("a")][0].tiers[0].complete_from_s > T0 / 1000);
    assert_counters_consistent(&s);
}

#[test]
fn bin_cap_evicts_too() {
    let limits = StoreLimits {
        max_bins: 1_000,
        ..StoreLimits::default()
    };
    let mut s = MetricStore::new(StoreConfig {
        limits,
        ..StoreConfig::default()
    });
    for i in 0..2_000 {
        s.record(
            &id("lat"),
            ts(T0 + i * 10),
            1.0 + f64::from(i as i32),
            Unit::Microseconds,
        )
        .unwrap();
    }
    assert!(s.memory_usage().bins <= 1_000);
    assert_counters_consistent(&s);
}

#[test]
fn retention_policy_validation() {
    let t = |resolution_s, retention_s| RetentionTier {
        resolution_s,
        retention_s,
    };
    assert!(RetentionPolicy::new(vec![t(1, 10), t(60, 100)]).is_ok());
    assert!(RetentionPolicy::new(vec![]).is_err());
    assert!(RetentionPolicy::new(vec![t(1, 10), t(90, 100), t(120, 1000)]).is_err());
    assert!(RetentionPolicy::new(vec![t(60, 10), t(60, 100)]).is_err());
    assert!(RetentionPolicy::new(vec![t(0, 10)]).is_err());
    assert!(RetentionPolicy::new(vec![t(1, u64::MAX)]).is_err());
    assert_eq!(RetentionPolicy::default(), RetentionPolicy::cloudwatch());
}

#[test]
fn extreme_timestamps_do_not_overflow() {
    let mut s = MetricStore::new(StoreConfig::default());
    for ms in [i64::MIN, i64::MIN + 1, -1, i64::MAX] {
        s.record(&id("edge"), ts(ms), 1.0, Unit::None).unwrap();
        s.prune(ts(ms));
    }
    let all = [crate::Statistic::Sum];
    let _ = s.statistics(&id("edge"), ts(i64::MIN), ts(i64::MAX), 3600, &all, None);
    let _ = s.statistics(
        &id("edge"),
        ts(i64::MAX - 5_000),
        ts(i64::MAX),
        1,
        &all,
        None,
    );
    assert_counters_consistent(&s);
}

#[test]
fn a_distribution_records_exact_statistics_and_close_percentiles() {
    use crate::alarm::DatapointSource;
    use crate::stats::Statistic;
    let mut store = MetricStore::new(StoreConfig::default());
    let id = MetricId::new("AWS/SageMaker", "ModelLatency", [("EndpointName", "ep")]).unwrap();
    let mut dist = crate::Distribution::default();
    for v in 1..=1000 {
        dist.add(f64::from(v));
    }
    let t = Timestamp::from_millis(1_700_000_000_000);
    store
        .record_distribution(&id, t, &dist, Unit::Microseconds)
        .unwrap();
    let p99: Statistic = "p99".parse().unwrap();
    let got = store.period_values(&id, p99, None, 1, t, t.plus_secs(1));
    assert_eq!(got.len(), 1);
    assert!(
        (got[0].value - 990.0).abs() <= 990.0 * 0.011,
        "{}",
        got[0].value
    );
    let sum = store.period_values(&id, Statistic::Sum, None, 1, t, t.plus_secs(1));
    assert_eq!(sum[0].value, 500_500.0);
    assert_eq!(sum[0].sample_count, 1000.0);
}
