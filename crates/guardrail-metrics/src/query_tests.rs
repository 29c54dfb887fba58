use super::*;
use crate::config::{RetentionPolicy, StoreConfig, StoreLimits};

const MIN: i64 = 60_000;
const H: i64 = 3_600_000;
/// 2026-11-23T10:00:00Z
const T0: i64 = 1_795_428_000_000;

fn ts(ms: i64) -> Timestamp {
    Timestamp::from_millis(ms)
}

fn latency() -> MetricId {
    MetricId::new(
        "AWS/SageMaker",
        "ModelLatency",
        [("EndpointName", "ep"), ("VariantName", "AllTraffic")],
    )
    .unwrap()
}

fn store() -> MetricStore {
    MetricStore::new(StoreConfig::default())
}

const ALL: [Statistic; 5] = [
    Statistic::SampleCount,
    Statistic::Average,
    Statistic::Sum,
    Statistic::Minimum,
    Statistic::Maximum,
];

#[test]
fn statistics_per_aligned_period_with_empty_periods_omitted() {
    let mut s = store();
    let m = latency();
    for (offset, v) in [
        (0, 1.0),
        (10_000, 3.0),
        (59_999, 8.0),
        (2 * MIN + 5_000, 4.0),
    ] {
        s.record(&m, ts(T0 + offset), v, Unit::Microseconds)
            .unwrap();
    }
    let dps = s
        .statistics(&m, ts(T0), ts(T0 + 3 * MIN), 60, &ALL, None)
        .unwrap();
    assert_eq!(dps.len(), 2, "the empty minute is omitted");
    let d = &dps[0];
    assert_eq!(d.timestamp, ts(T0));
    assert_eq!(d.unit, Unit::Microseconds);
    assert_eq!(
        (d.sample_count, d.sum, d.average, d.minimum, d.maximum),
        (Some(3.0), Some(12.0), Some(4.0), Some(1.0), Some(8.0))
    );
    assert!(d.extended.is_empty());
    assert_eq!(dps[1].timestamp, ts(T0 + 2 * MIN));
    // Only requested statistics are present.
    let only_sum = s
        .statistics(&m, ts(T0), ts(T0 + MIN), 60, &[Statistic::Sum], None)
        .unwrap();
    assert_eq!(
        (
            only_sum[0].sum,
            only_sum[0].average,
            only_sum[0].sample_count
        ),
        (Some(12.0), None, None)
    );
}

#[test]
fn start_is_rounded_down_to_the_period_and_end_is_exclusive() {
    let mut s = store();
    let m = latency();
    s.record(&m, ts(T0 + 5_000), 1.0, Unit::None).unwrap();
    s.record(&m, ts(T0 + MIN), 2.0, Unit::None).unwrap();
    // Start inside the first period: that whole period is reported.
    let dps = s
        .statistics(
            &m,
            ts(T0 + 30_000),
            ts(T0 + MIN),
            60,
            &[Statistic::Sum],
            None,
        )
        .unwrap();
    assert_eq!(dps.iter().map(|d| d.sum).collect::<Vec<_>>(), [Some(1.0)]);
    // End exactly at a period start excludes it; one ms later includes it.
    let dps = s
        .statistics(&m, ts(T0), ts(T0 + MIN + 1), 60, &[Statistic::Sum], None)
        .unwrap();
    assert_eq!(dps.len(), 2);
}

#[test]
fn query_errors() {
    let s = store();
    let m = latency();
    assert_eq!(
        s.statistics(&m, ts(T0), ts(T0), 60, &ALL, None),
        Err(QueryError::InvalidTimeRange)
    );
    assert_eq!(
        s.statistics(&m, ts(T0), ts(T0 + MIN), 0, &ALL, None),
        Err(QueryError::InvalidPeriod)
    );
    assert_eq!(
        s.statistics(&m, ts(T0), ts(T0 + 1441 * 1000), 1, &ALL, None),
        Err(QueryError::TooManyDatapoints {
            requested: 1441,
            max: 1440
        })
    );
    assert!(s
        .statistics(&m, ts(T0), ts(T0 + 1440 * 1000), 1, &ALL, None)
        .unwrap()
        .is_empty());
}

#[test]
fn percentiles_come_from_the_sketch_within_one_percent() {
    let mut s = store();
    let m = latency();
    let values: Vec<f64> = (1..=1000).map(|i| f64::from(i) * 100.0).collect();
    for (i, v) in values.iter().enumerate() {
        s.record(&m, ts(T0 + (i as i64 % 60) * 1000), *v, Unit::Microseconds)
            .unwrap();
    }
    let p = |t: &str| t.parse::<Statistic>().unwrap();
    let dps = s
        .statistics(
            &m,
            ts(T0),
            ts(T0 + MIN),
            60,
            &[p("p50"), p("p99"), p("p99.9"), p("p100")],
            None,
        )
        .unwrap();
    let got: Vec<(String, f64)> = dps[0]
        .extended
        .iter()
        .map(|(p, v)| (p.to_string(), *v))
        .collect();
    for ((name, v), want) in got.iter().zip([50_000.0, 99_000.0, 99_900.0, 100_000.0]) {
        assert!((v - want).abs() <= 0.01 * want, "{name}: {v} vs {want}");
    }
    assert_eq!(got[3].1, 100_000.0, "p100 is the exact maximum");
    // The 60 one-second buckets merged give the same answer as the 60-s roll-up.
    let one_minute = MetricStatQuery {
        metric: m.clone(),
        period_s: 60,
        stat: p("p99"),
        unit: None,
        start: ts(T0),
        end: ts(T0 + MIN),
        scan_by: ScanBy::TimestampAscending,
    };
    assert_eq!(s.metric_stat(&one_minute).unwrap().values, [got[1].1]);
}

#[test]
fn percentiles_are_omitted_for_statistic_set_data() {
    let mut s = store();
    let m = latency();
    s.record_statistic_set(
        &m,
        ts(T0),
        StatisticSet {
            sample_count: 3.0,
            sum: 6.0,
            minimum: 1.0,
            maximum: 3.0,
        },
        Unit::None,
    )
    .unwrap();
    let p99: Statistic = "p99".parse().unwrap();
    let dps = s
        .statistics(&m, ts(T0), ts(T0 + MIN), 60, &[Statistic::Sum, p99], None)
        .unwrap();
    assert_eq!((dps[0].sum, dps[0].extended.len()), (Some(6.0), 0));
}

#[test]
fn units_are_reported_separately_unless_one_is_asked_for() {
    let mut s = store();
    let m = latency();
    s.record(&m, ts(T0), 1.0, Unit::Milliseconds).unwrap();
    s.record(&m, ts(T0), 1000.0, Unit::Microseconds).unwrap();
    let dps = s
        .statistics(&m, ts(T0), ts(T0 + MIN), 60, &[Statistic::Sum], None)
        .unwrap();
    assert_eq!(
        dps.iter().map(|d| (d.unit, d.sum)).collect::<Vec<_>>(),
        [
            (Unit::Microseconds, Some(1000.0)),
            (Unit::Milliseconds, Some(1.0))
        ]
    );
    let ms = s
        .statistics(
            &m,
            ts(T0),
            ts(T0 + MIN),
            60,
            &[Statistic::Sum],
            Some(Unit::Milliseconds),
        )
        .unwrap();
    assert_eq!(ms.len(), 1);
    let q = MetricStatQuery {
        metric: m,
        period_s: 60,
        stat: Statistic::SampleCount,
        unit: None,
        start: ts(T0),
        end: ts(T0 + MIN),
        scan_by: ScanBy::TimestampDescending,
    };
    assert_eq!(
        s.metric_stat(&q).unwrap().values,
        [2.0],
        "MetricStat merges units"
    );
}

#[test]
fn dimensions_must_match_exactly() {
    let mut s = store();
    s.record(&latency(), ts(T0), 1.0, Unit::None).unwrap();
    let fewer = MetricId::new("AWS/SageMaker", "ModelLatency", [("EndpointName", "ep")]).unwrap();
    assert!(s
        .statistics(&fewer, ts(T0), ts(T0 + MIN), 60, &ALL, None)
        .unwrap()
        .is_empty());
}

#[test]
fn metric_stat_orders_by_scan_by() {
    let mut s = store();
    let m = latency();
    for i in 0..3 {
        s.record(&m, ts(T0 + i * MIN), f64::from(i as i32), Unit::None)
            .unwrap();
    }
    let mut q = MetricStatQuery {
        metric: m,
        period_s: 60,
        stat: Statistic::Maximum,
        unit: None,
        start: ts(T0),
        end: ts(T0 + 3 * MIN),
        scan_by: ScanBy::default(),
    };
    let r = s.metric_stat(&q).unwrap();
    assert_eq!(r.timestamps, [ts(T0 + 2 * MIN), ts(T0 + MIN), ts(T0)]);
    assert_eq!(r.values, [2.0, 1.0, 0.0]);
    q.scan_by = ScanBy::TimestampAscending;
    assert_eq!(s.metric_stat(&q).unwrap().values, [0.0, 1.0, 2.0]);
}

#[test]
fn old_ranges_are_served_from_roll_ups() {
    let mut s = store();
    let m = latency();
    for i in 0..120 {
        s.record(&m, ts(T0 + i * 1000), 1.0, Unit::None).unwrap();
    }
    s.prune(ts(T0 + 5 * H));
    let range = (ts(T0), ts(T0 + 2 * MIN));
    let per_minute = s
        .statistics(&m, range.0, range.1, 60, &[Statistic::SampleCount], None)
        .unwrap();
    assert_eq!(
        per_minute
            .iter()
            .map(|d| d.sample_count)
            .collect::<Vec<_>>(),
        [Some(60.0), Some(60.0)]
    );
    let per_two = s
        .statistics(&m, range.0, range.1, 120, &[Statistic::SampleCount], None)
        .unwrap();
    assert_eq!(per_two[0].sample_count, Some(120.0));
    // 1-s and 30-s periods need the 1-s tier, which no longer holds that time.
    assert!(s
        .statistics(&m, range.0, range.1, 30, &ALL, None)
        .unwrap()
        .is_empty());
    assert!(s
        .statistics(&m, range.0, range.1, 1, &ALL, None)
        .unwrap()
        .is_empty());
}

#[test]
fn a_period_is_read_from_the_finest_complete_tier() {
    // Evict the oldest 1-s buckets; the 60-s roll-up still has the whole first minute.
    let limits = StoreLimits {
        max_buckets: 100,
        ..StoreLimits::default()
    };
    let mut s = MetricStore::new(StoreConfig {
        retention: RetentionPolicy::cloudwatch(),
        limits,
    });
    let m = latency();
    for i in 0..120 {
        s.record(&m, ts(T0 + i * 1000), 1.0, Unit::None).unwrap();
    }
    let first_kept = s.series[&m][0].tiers[0].buckets[0].start_s;
    assert!(first_kept > T0 / 1000, "1-s data was evicted");
    let dps = s
        .statistics(
            &m,
            ts(T0),
            ts(T0 + 2 * MIN),
            60,
            &[Statistic::SampleCount],
            None,
        )
        .unwrap();
    assert_eq!(
        dps.iter().map(|d| d.sample_count).collect::<Vec<_>>(),
        [Some(60.0), Some(60.0)]
    );
    // With 1-s periods only the 1-s tier fits: what it still has is returned.
    let dps = s
        .statistics(
            &m,
            ts(T0),
            ts(T0 + 2 * MIN),
            1,
            &[Statistic::SampleCount],
            None,
        )
        .unwrap();
    assert_eq!(dps.len() as i64, T0 / 1000 + 120 - first_kept);
}

#[test]
fn list_metrics_filters() {
    let mut s = store();
    let ep = |e: &str, cfg: Option<&str>| {
        let mut dims = vec![
            ("EndpointName", e.to_string()),
            ("VariantName", "AllTraffic".to_string()),
        ];
        if let Some(c) = cfg {
            dims.push(("EndpointConfigName", c.to_string()));
        }
        MetricId::new("AWS/SageMaker", "Invocations", dims).unwrap()
    };
    s.record(&ep("a", None), ts(T0), 1.0, Unit::None).unwrap();
    s.record(&ep("a", None), ts(T0), 1.0, Unit::Count).unwrap();
    s.record(&ep("a", Some("cfg-2")), ts(T0), 1.0, Unit::None)
        .unwrap();
    s.record(&ep("b", None), ts(T0 - 4 * H), 1.0, Unit::None)
        .unwrap();
    let other = MetricId::new("Custom", "Jobs", [("Queue", "q")]).unwrap();
    s.record(&other, ts(T0 - 15 * 24 * H), 1.0, Unit::None)
        .unwrap();
    let now = ts(T0 + 1000);
    let list = |f: ListMetricsFilter| s.list_metrics(&f, now);
    assert_eq!(
        list(ListMetricsFilter::default()).len(),
        3,
        "each identity once; >2 weeks old not listed"
    );
    let dim = |name: &str, value: Option<&str>| DimensionFilter {
        name: name.into(),
        value: value.map(Into::into),
    };
    assert_eq!(
        list(ListMetricsFilter {
            dimensions: vec![dim("EndpointName", Some("a"))],
            ..Default::default()
        })
        .len(),
        2
    );
    assert_eq!(
        list(ListMetricsFilter {
            dimensions: vec![dim("EndpointConfigName", None)],
            ..Default::default()
        }),
        [ep("a", Some("cfg-2"))]
    );
    assert_eq!(
        list(ListMetricsFilter {
            recently_active: true,
            ..Default::default()
        })
        .len(),
        2
    );
    assert_eq!(
        list(ListMetricsFilter {
            namespace: Some("Custom".into()),
            ..Default::default()
        })
        .len(),
        0
    );
    assert_eq!(
        list(ListMetricsFilter {
            metric_name: Some("Invocations".into()),
            ..Default::default()
        })
        .len(),
        3
    );
}
