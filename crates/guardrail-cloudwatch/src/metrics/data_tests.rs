use super::*;
use guardrail_api::generated::cloudwatch::{Dimension, Metric, MetricDataResult, MetricStat};
use guardrail_api::wire;
use guardrail_metrics::{MetricId, StoreConfig, Unit};

/// 2026-11-23T10:00:00Z
const T0: i64 = 1_795_428_000_000;
const MIN: i64 = 60_000;

fn stat(id: &str, name: &str, s: &str) -> MetricDataQuery {
    MetricDataQuery {
        id: Some(id.into()),
        metric_stat: Some(MetricStat {
            metric: Some(Metric {
                namespace: Some("AWS/SageMaker".into()),
                metric_name: Some(name.into()),
                dimensions: Some(vec![Dimension {
                    name: Some("EndpointName".into()),
                    value: Some("ep".into()),
                }]),
            }),
            period: Some(60),
            stat: Some(s.into()),
            unit: None,
        }),
        ..Default::default()
    }
}

fn expression(id: &str, text: &str) -> MetricDataQuery {
    MetricDataQuery {
        id: Some(id.into()),
        expression: Some(text.into()),
        ..Default::default()
    }
}

fn input(queries: Vec<MetricDataQuery>) -> GetMetricDataInput {
    GetMetricDataInput {
        metric_data_queries: Some(queries),
        start_time: Some(wire::Timestamp::from_millis(T0)),
        end_time: Some(wire::Timestamp::from_millis(T0 + 5 * MIN)),
        ..Default::default()
    }
}

fn metric(name: &str) -> MetricId {
    MetricId::new("AWS/SageMaker", name, [("EndpointName", "ep")]).unwrap()
}

/// Errors in minutes 0, 1, 3 (1, 2, 0 of them); invocations in minutes 0-3 (4 each).
fn store() -> MetricStore {
    let mut s = MetricStore::new(StoreConfig::default());
    let at = |m: i64| Timestamp::from_millis(T0 + m * MIN + 1000);
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

fn run(i: &GetMetricDataInput) -> Result<GetMetricDataOutput, CloudWatchError> {
    let r = request(i)?;
    let series = evaluate(&store(), &r)?;
    Ok(output(&r, &series))
}

fn validation(e: CloudWatchError) -> String {
    match e {
        CloudWatchError::Validation(m) => m,
        other => panic!("expected ValidationError, got {other:?}"),
    }
}

fn ms(r: &MetricDataResult) -> Vec<i64> {
    r.timestamps
        .as_ref()
        .unwrap()
        .iter()
        .map(|t| t.as_millis())
        .collect()
}

#[test]
fn metric_stat_defaults_descending_with_metric_name_label() {
    let out = run(&input(vec![stat("m1", "Invocations", "Sum")])).unwrap();
    let r = &out.metric_data_results.as_ref().unwrap()[0];
    assert_eq!(r.id.as_deref(), Some("m1"));
    assert_eq!(r.label.as_deref(), Some("Invocations"));
    assert_eq!(r.status_code.as_deref(), Some("Complete"));
    assert_eq!(ms(r), [T0 + 3 * MIN, T0 + 2 * MIN, T0 + MIN, T0]);
    assert_eq!(r.values.as_deref(), Some(&[4.0, 4.0, 4.0, 4.0][..]));
    assert_eq!(out.next_token, None);
    let json = serde_json::to_value(&out).unwrap();
    assert_eq!(json["Messages"], serde_json::json!([]));
    assert_eq!(
        json["MetricDataResults"][0]["Messages"],
        serde_json::json!([])
    );
    assert!(json.get("NextToken").is_none());

    let mut i = input(vec![stat("m1", "Invocations", "Sum")]);
    i.scan_by = Some("TimestampAscending".into());
    let out = run(&i).unwrap();
    assert_eq!(
        ms(&out.metric_data_results.unwrap()[0]),
        [T0, T0 + MIN, T0 + 2 * MIN, T0 + 3 * MIN]
    );
}

#[test]
fn expressions_combine_aligned_points_and_return_data_hides_inputs() {
    let mut e = stat("e", "Errors", "Sum");
    e.return_data = Some(false);
    let mut i = stat("i", "Invocations", "Sum");
    i.return_data = Some(false);
    let mut rate = expression("rate", "100*(e/i)");
    rate.label = Some("Error rate".into());
    let mut inp = input(vec![rate, e, i, expression("twice", "rate * 2")]);
    inp.scan_by = Some("TimestampAscending".into());
    let out = run(&inp).unwrap();
    let results = out.metric_data_results.unwrap();
    assert_eq!(
        results.len(),
        2,
        "inputs with ReturnData false are not returned"
    );
    assert_eq!(results[0].label.as_deref(), Some("Error rate"));
    assert_eq!(ms(&results[0]), [T0, T0 + MIN, T0 + 3 * MIN]);
    assert_eq!(results[0].values.as_deref(), Some(&[25.0, 50.0, 0.0][..]));
    assert_eq!(results[1].id.as_deref(), Some("twice"));
    assert_eq!(
        results[1].label.as_deref(),
        Some("twice"),
        "expression label = Id"
    );
    assert_eq!(results[1].values.as_deref(), Some(&[50.0, 100.0, 0.0][..]));

    let out = run(&input(vec![
        stat("m1", "Errors", "Sum"),
        stat("m2", "Invocations", "Sum"),
        expression("r", "m1/m2"),
        expression("pct", "m1*100"),
    ]))
    .unwrap();
    let results = out.metric_data_results.unwrap();
    assert_eq!(results.len(), 4);
    assert_eq!(results[2].values.as_deref(), Some(&[0.0, 0.5, 0.25][..]));
    assert_eq!(results[3].values.as_deref(), Some(&[0.0, 200.0, 100.0][..]));
}

#[test]
fn query_rules_are_validation_errors() {
    let cases: Vec<(Vec<MetricDataQuery>, &str)> = vec![
        (
            vec![stat("M1", "Errors", "Sum")],
            "MetricDataQueries.member.1.Id is invalid",
        ),
        (
            vec![stat("1m", "Errors", "Sum")],
            "MetricDataQueries.member.1.Id is invalid",
        ),
        (
            vec![stat("m1", "Errors", "Sum"), stat("m1", "Errors", "Sum")],
            "MetricDataQueries.member.2.Id is invalid: Ids must be unique",
        ),
        (
            vec![MetricDataQuery {
                expression: Some("m1".into()),
                ..stat("m2", "Errors", "Sum")
            }],
            "The parameters MetricDataQueries.member.1.MetricStat and \
             MetricDataQueries.member.1.Expression are mutually exclusive",
        ),
        (
            vec![MetricDataQuery {
                id: Some("m1".into()),
                ..Default::default()
            }],
            "Exactly one of the parameters MetricDataQueries.member.1.MetricStat",
        ),
        (
            vec![stat("m1", "Errors", "Total")],
            "The value Total for parameter MetricDataQueries.member.1.MetricStat.Stat is not a \
             valid statistic.",
        ),
        (
            vec![stat("m1", "Errors", "tm99")],
            "MetricDataQueries.member.1.MetricStat.Stat is not supported",
        ),
        (
            vec![stat("m1", "Errors", "Sum"), expression("e", "m1 / nope")],
            "refers to nope, which is not the Id of another query",
        ),
        (
            vec![expression("a", "b + 1"), expression("b", "a * 2")],
            "cycle",
        ),
        (vec![expression("a", "a + 1")], "refers to a"),
        (vec![expression("a", "1 + 2")], "must refer to at least one"),
        (
            vec![expression("a", "SUM(METRICS())")],
            "The function SUM is not supported",
        ),
    ];
    for (queries, needle) in cases {
        let e = validation(request(&input(queries)).unwrap_err());
        assert!(e.contains(needle), "{needle}: {e}");
    }
    let too_many: Vec<_> = (0..501)
        .map(|i| stat(&format!("m{i}"), "Errors", "Sum"))
        .collect();
    assert!(validation(request(&input(too_many)).unwrap_err()).contains("greater than 500"));
    let many: Vec<_> = (0..500)
        .map(|i| stat(&format!("m{i}"), "Errors", "p99"))
        .collect();
    assert!(request(&input(many)).is_ok());
}

#[test]
fn request_rules() {
    let mut i = input(vec![stat("m1", "Errors", "Sum")]);
    i.end_time = i.start_time;
    assert_eq!(
        validation(request(&i).unwrap_err()),
        "The parameter StartTime must not equal parameter EndTime."
    );
    let start_ms = i.start_time.unwrap().as_millis();
    i.start_time = Some(wire::Timestamp::from_millis(start_ms + 100));
    i.end_time = Some(wire::Timestamp::from_millis(start_ms + 900));
    assert_eq!(
        validation(request(&i).unwrap_err()),
        "The parameter StartTime must not equal parameter EndTime.",
        "within the same second"
    );
    i.end_time = Some(wire::Timestamp::from_millis(start_ms - 1000));
    assert_eq!(
        validation(request(&i).unwrap_err()),
        "The parameter EndTime must be greater than StartTime."
    );
    let mut i = input(vec![stat("m1", "Errors", "Sum")]);
    i.max_datapoints = Some(0);
    assert!(validation(request(&i).unwrap_err()).contains("MaxDatapoints"));
    let mut i = input(vec![]);
    assert!(matches!(
        request(&i),
        Err(CloudWatchError::MissingParameter(_))
    ));
    i.metric_data_queries = None;
    assert!(matches!(
        request(&i),
        Err(CloudWatchError::MissingParameter(_))
    ));
    // Period 1 over 20 years is more than the windows allow; over a year it is fine.
    let mut q = stat("m1", "Errors", "Sum");
    q.metric_stat.as_mut().unwrap().period = Some(1);
    let mut i = input(vec![q]);
    i.start_time = Some(wire::Timestamp::from_millis(T0 - 20 * 365 * 86_400_000));
    assert!(validation(request(&i).unwrap_err()).contains("Increase the Period"));
    i.start_time = Some(wire::Timestamp::from_millis(T0 - 365 * 86_400_000));
    assert!(request(&i).is_ok());
}

#[test]
fn long_ranges_are_read_in_windows() {
    let mut q = stat("m1", "Invocations", "SampleCount");
    q.metric_stat.as_mut().unwrap().period = Some(1);
    let mut i = input(vec![q]);
    // 2 days at 1-second periods: 172 800 periods, two store windows.
    i.start_time = Some(wire::Timestamp::from_millis(T0 - 2 * 86_400_000 + 500));
    i.end_time = Some(wire::Timestamp::from_millis(T0 + 3 * MIN + 1500));
    let out = run(&i).unwrap();
    let r = &out.metric_data_results.unwrap()[0];
    assert_eq!(ms(r).len(), 4);
    assert_eq!(ms(r)[0], T0 + 3 * MIN + 1000);
}

#[test]
fn max_datapoints_pages_with_next_token() {
    let mk = |token: Option<String>| {
        let mut i = input(vec![
            stat("a", "Invocations", "Sum"),
            stat("b", "Errors", "Sum"),
            stat("c", "Nothing", "Sum"),
        ]);
        i.max_datapoints = Some(3);
        i.next_token = token;
        i
    };
    let p1 = run(&mk(None)).unwrap();
    let r1 = p1.metric_data_results.unwrap();
    assert_eq!(r1.len(), 1);
    assert_eq!(r1[0].status_code.as_deref(), Some("PartialData"));
    assert_eq!(ms(&r1[0]), [T0 + 3 * MIN, T0 + 2 * MIN, T0 + MIN]);
    let t1 = p1.next_token.expect("a NextToken");

    let p2 = run(&mk(Some(t1.clone()))).unwrap();
    let r2 = p2.metric_data_results.unwrap();
    assert_eq!(r2.len(), 2);
    assert_eq!(r2[0].id.as_deref(), Some("a"));
    assert_eq!(ms(&r2[0]), [T0]);
    assert_eq!(r2[0].status_code.as_deref(), Some("Complete"));
    assert_eq!(r2[1].id.as_deref(), Some("b"));
    assert_eq!(ms(&r2[1]), [T0 + 3 * MIN, T0 + MIN]);
    assert_eq!(r2[1].status_code.as_deref(), Some("PartialData"));
    let t2 = p2.next_token.expect("a second NextToken");

    let p3 = run(&mk(Some(t2))).unwrap();
    let r3 = p3.metric_data_results.unwrap();
    assert_eq!(r3.len(), 2);
    assert_eq!(ms(&r3[0]), [T0]);
    assert_eq!(r3[1].id.as_deref(), Some("c"));
    assert_eq!(
        r3[1].timestamps,
        Some(vec![]),
        "empty results are still listed"
    );
    assert_eq!(r3[1].values, Some(vec![]));
    assert_eq!(r3[1].status_code.as_deref(), Some("Complete"));
    assert_eq!(p3.next_token, None);

    // A token from another request, or garbage, is InvalidNextToken.
    let mut other = mk(Some(t1));
    other.scan_by = Some("TimestampAscending".into());
    assert!(matches!(
        request(&other),
        Err(CloudWatchError::InvalidNextToken(_))
    ));
    for bad in [
        "garbage",
        &crate::tokens::encode("alarms", "0||0"),
        &crate::tokens::encode("metricdata", "9|x|0"),
    ] {
        assert!(
            matches!(
                request(&mk(Some(bad.to_string()))),
                Err(CloudWatchError::InvalidNextToken(_))
            ),
            "{bad}"
        );
    }
}

#[test]
fn exact_budget_stops_before_the_next_query_with_data() {
    let mut i = input(vec![
        stat("a", "Invocations", "Sum"),
        stat("c", "Nothing", "Sum"),
        stat("b", "Errors", "Sum"),
    ]);
    i.max_datapoints = Some(4);
    let p1 = run(&i).unwrap();
    let r1 = p1.metric_data_results.unwrap();
    assert_eq!(r1.len(), 2, "a complete, c (empty) complete");
    assert_eq!(r1[0].status_code.as_deref(), Some("Complete"));
    assert_eq!(r1[1].id.as_deref(), Some("c"));
    i.next_token = p1.next_token;
    assert!(i.next_token.is_some());
    let p2 = run(&i).unwrap();
    let r2 = p2.metric_data_results.unwrap();
    assert_eq!(r2.len(), 1);
    assert_eq!(r2[0].id.as_deref(), Some("b"));
    assert_eq!(ms(&r2[0]).len(), 3);
    assert_eq!(p2.next_token, None);
}
