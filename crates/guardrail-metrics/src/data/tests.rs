use super::*;
use crate::math::Series;
use crate::{MetricStore, ScanBy, StoreConfig, Timestamp, MAX_METRIC_STAT_PERIODS};

/// 2026-11-23T10:00:00Z
const T0: i64 = 1_795_428_000_000;
const MIN: i64 = 60_000;

fn ts(ms: i64) -> Timestamp {
    Timestamp::from_millis(ms)
}

fn metric(name: &str) -> MetricId {
    MetricId::new("AWS/SageMaker", name, [("EndpointName", "ep")]).unwrap()
}

fn stat(id: &str, name: &str, stat: Statistic) -> Query {
    Query {
        id: id.into(),
        label: name.into(),
        return_data: true,
        source: Source::Stat(StatSource {
            metric: metric(name),
            period_s: 60,
            stat,
            unit: None,
        }),
    }
}

fn expression(id: &str, text: &str) -> Query {
    Query {
        id: id.into(),
        label: id.into(),
        return_data: true,
        source: Source::Expression(Expression::parse(text).unwrap()),
    }
}

fn hidden(q: Query) -> Query {
    Query {
        return_data: false,
        ..q
    }
}

fn plan(queries: Vec<Query>) -> Result<Plan, PlanError> {
    let mut b = PlanBuilder::default();
    for q in queries {
        b.push(q)?;
    }
    b.build()
}

/// Errors in minutes 0, 1, 3 (1, 2, 0 of them); invocations in minutes 0-3 (4 each).
fn store() -> MetricStore {
    let mut s = MetricStore::new(StoreConfig::default());
    let at = |m: i64| ts(T0 + m * MIN + 1000);
    for m in 0..4 {
        for _ in 0..4 {
            s.record(&metric("Invocations"), at(m), 1.0, Unit::None)
                .unwrap();
        }
    }
    for (m, n) in [(0, 1), (1, 2), (3, 0)] {
        s.record_values(
            &metric("Errors"),
            at(m),
            &[1.0, 0.0],
            Some(&[f64::from(n), 1.0]),
            Unit::None,
        )
        .unwrap();
    }
    s
}

fn minutes(s: &Series) -> Vec<i64> {
    s.iter().map(|(t, _)| (t.millis() - T0) / MIN).collect()
}

fn values(s: &Series) -> Vec<f64> {
    s.iter().map(|(_, v)| *v).collect()
}

#[test]
fn expressions_are_evaluated_after_what_they_read() {
    let p = plan(vec![
        expression("twice", "rate * 2"),
        expression("rate", "100*(e/i)"),
        hidden(stat("e", "Errors", Statistic::Sum)),
        hidden(stat("i", "Invocations", Statistic::Sum)),
    ])
    .unwrap();
    let series = p.evaluate(&store(), ts(T0), ts(T0 + 5 * MIN)).unwrap();
    assert_eq!(series.len(), 4, "indexed like the queries");
    assert_eq!(minutes(&series[1]), [0, 1, 3]);
    assert_eq!(values(&series[1]), [25.0, 50.0, 0.0]);
    assert_eq!(values(&series[0]), [50.0, 100.0, 0.0]);
    assert_eq!(minutes(&series[3]), [0, 1, 2, 3]);

    let page = p.page(&series, Cursor::default(), ScanBy::TimestampAscending, 100);
    let ids: Vec<&str> = page.results.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["twice", "rate"], "hidden inputs are not returned");
    assert!(page.results.iter().all(|r| r.complete));
    assert_eq!(page.next, None);
}

#[test]
fn plan_errors_name_the_first_offending_query() {
    let e = |queries| plan(queries).unwrap_err();
    assert_eq!(
        e(vec![
            stat("m1", "Errors", Statistic::Sum),
            expression("x", "1 + 2")
        ]),
        PlanError::NoReference {
            query: 1,
            id: "x".into()
        }
    );
    assert_eq!(
        e(vec![
            stat("m1", "Errors", Statistic::Sum),
            stat("m1", "Errors", Statistic::Sum),
            expression("x", "1 + 2"),
        ]),
        PlanError::DuplicateId {
            query: 1,
            id: "m1".into()
        }
    );
    assert_eq!(
        e(vec![
            stat("m1", "Errors", Statistic::Sum),
            expression("e", "m1 / nope")
        ]),
        PlanError::BadReference {
            query: 1,
            reference: "nope".into()
        }
    );
    assert_eq!(
        e(vec![expression("a", "a + 1")]),
        PlanError::BadReference {
            query: 0,
            reference: "a".into()
        }
    );
    assert!(matches!(
        e(vec![expression("a", "b + 1"), expression("b", "a * 2")]),
        PlanError::Cycle { .. }
    ));
}

#[test]
fn long_ranges_are_read_in_windows() {
    let q = Query {
        source: Source::Stat(StatSource {
            metric: metric("Invocations"),
            period_s: 1,
            stat: Statistic::SampleCount,
            unit: None,
        }),
        ..stat("m1", "Invocations", Statistic::SampleCount)
    };
    let p = plan(vec![q]).unwrap();
    // 2 days at 1-second periods: 172 800 periods, two store windows.
    let (start, end) = (ts(T0 - 2 * 86_400_000 + 500), ts(T0 + 3 * MIN + 1500));
    assert!(periods_spanned(start, end, 1) > MAX_METRIC_STAT_PERIODS);
    let series = p.evaluate(&store(), start, end).unwrap();
    assert_eq!(series[0].len(), 4);
    assert_eq!(series[0][3].0, ts(T0 + 3 * MIN + 1000));
}

#[test]
fn periods_spanned_counts_aligned_period_starts() {
    assert_eq!(periods_spanned(ts(T0), ts(T0 + 5 * MIN), 60), 5);
    assert_eq!(periods_spanned(ts(T0 + 1), ts(T0 + 5 * MIN), 60), 5);
    assert_eq!(periods_spanned(ts(T0 + 1), ts(T0 + 5 * MIN + 1), 60), 6);
    assert_eq!(periods_spanned(ts(T0), ts(T0 + 1500), 1), 2);
    assert_eq!(MAX_SPAN_PERIODS, 100_800_000);
}

#[test]
fn evaluation_reports_store_refusals() {
    let mut q = stat("m1", "Errors", Statistic::Sum);
    if let Source::Stat(s) = &mut q.source {
        s.period_s = 0;
    }
    let p = plan(vec![q]).unwrap();
    assert_eq!(
        p.evaluate(&store(), ts(T0), ts(T0 + MIN)),
        Err(DataError::Query(crate::QueryError::InvalidPeriod))
    );
}
