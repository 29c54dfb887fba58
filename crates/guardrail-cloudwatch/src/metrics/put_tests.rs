use super::*;
use guardrail_api::generated::cloudwatch::StatisticSet as WireSet;
use guardrail_api::generated::cloudwatch::{Dimension, EntityMetricData};
use guardrail_api::wire;

/// 2026-11-23T10:00:00Z
const NOW: i64 = 1_795_428_000_000;

fn now() -> Timestamp {
    Timestamp::from_millis(NOW)
}

fn value(v: f64) -> MetricDatum {
    MetricDatum {
        metric_name: Some("Latency".into()),
        value: Some(v),
        ..Default::default()
    }
}

fn input(data: Vec<MetricDatum>) -> PutMetricDataInput {
    PutMetricDataInput {
        namespace: Some("MyApp".into()),
        metric_data: Some(data),
        ..Default::default()
    }
}

fn err(data: Vec<MetricDatum>) -> CloudWatchError {
    to_datums(&input(data), now()).unwrap_err()
}

fn ipv(e: &CloudWatchError) -> &str {
    match e {
        CloudWatchError::InvalidParameterValue(m) => m,
        other => panic!("expected InvalidParameterValue, got {other:?}"),
    }
}

fn ipc(e: &CloudWatchError) -> &str {
    match e {
        CloudWatchError::InvalidParameterCombination(m) => m,
        other => panic!("expected InvalidParameterCombination, got {other:?}"),
    }
}

#[test]
fn valid_datums_become_monitor_datums_with_defaults() {
    let mut a = value(3.5);
    a.dimensions = Some(vec![
        Dimension {
            name: Some("B".into()),
            value: Some("2".into()),
        },
        Dimension {
            name: Some("A".into()),
            value: Some("1".into()),
        },
    ]);
    let b = MetricDatum {
        metric_name: Some("Sizes".into()),
        statistic_values: Some(WireSet {
            sample_count: Some(3.0),
            sum: Some(12.0),
            minimum: Some(1.0),
            maximum: Some(8.0),
        }),
        unit: Some("Bytes".into()),
        timestamp: Some(wire::Timestamp::from_millis(NOW - 3_600_000)),
        storage_resolution: Some(1),
        ..Default::default()
    };
    let c = MetricDatum {
        metric_name: Some("Hist".into()),
        values: Some(vec![1.0, 2.0]),
        counts: Some(vec![3.0, 0.0]),
        ..Default::default()
    };
    let out = to_datums(&input(vec![a, b, c]), now()).unwrap();
    assert_eq!(out.len(), 3);
    assert_eq!(out[0].timestamp, now(), "timestamp defaults to now");
    assert_eq!(out[0].unit, Unit::None, "unit defaults to None");
    assert_eq!(out[0].value, DatumValue::Single(3.5));
    assert_eq!(out[0].metric.dimension("A"), Some("1"));
    assert_eq!(out[0].metric.namespace(), "MyApp");
    assert_eq!(out[1].unit, Unit::Bytes);
    assert_eq!(out[1].timestamp, Timestamp::from_millis(NOW - 3_600_000));
    assert_eq!(
        out[1].value,
        DatumValue::Set(StatisticSet {
            sample_count: 3.0,
            sum: 12.0,
            minimum: 1.0,
            maximum: 8.0
        })
    );
    assert_eq!(
        out[2].value,
        DatumValue::Values {
            values: vec![1.0, 2.0],
            counts: Some(vec![3.0, 0.0])
        }
    );
}

#[test]
fn namespace_and_metric_data_rules() {
    let mut i = input(vec![value(1.0)]);
    i.namespace = Some(":bad".into());
    assert!(ipv(&to_datums(&i, now()).unwrap_err()).contains("parameter Namespace"));

    let mut i = input(vec![]);
    assert_eq!(
        to_datums(&i, now()),
        Err(CloudWatchError::MissingParameter(
            "The parameter MetricData is required.".into()
        ))
    );
    i.metric_data = None;
    assert!(matches!(
        to_datums(&i, now()),
        Err(CloudWatchError::MissingParameter(_))
    ));

    let e = err(vec![value(1.0); 1001]);
    assert_eq!(
        ipv(&e),
        "The collection MetricData must not have a size greater than 1000."
    );
    assert!(to_datums(&input(vec![value(1.0); 1000]), now()).is_ok());

    let mut i = input(vec![value(1.0)]);
    i.namespace = Some("AWS/SageMaker".into());
    assert!(to_datums(&i, now()).is_ok(), "AWS/ namespaces are accepted");
}

#[test]
fn entity_metric_data_is_recorded_and_named() {
    let mut i = input(vec![value(1.0)]);
    let mut bad = value(1.0);
    bad.storage_resolution = Some(5);
    i.entity_metric_data = Some(vec![EntityMetricData {
        entity: None,
        metric_data: Some(vec![value(2.0), bad]),
    }]);
    let e = to_datums(&i, now()).unwrap_err();
    assert!(
        ipv(&e).contains("EntityMetricData.member.1.MetricData.member.2.StorageResolution"),
        "{e}"
    );
    i.entity_metric_data.as_mut().unwrap()[0]
        .metric_data
        .as_mut()
        .unwrap()
        .pop();
    assert_eq!(to_datums(&i, now()).unwrap().len(), 2);
}

#[test]
fn exactly_one_value_form() {
    let mut d = value(1.0);
    d.values = Some(vec![1.0]);
    assert_eq!(
        ipc(&err(vec![value(1.0), d])),
        "The parameters MetricData.member.2.Value and MetricData.member.2.Values are \
         mutually exclusive and you have specified both."
    );

    let mut d = value(1.0);
    d.statistic_values = Some(WireSet::default());
    d.values = Some(vec![1.0]);
    assert!(ipc(&err(vec![d])).contains("all three"));

    let mut d = value(1.0);
    d.value = None;
    assert!(ipc(&err(vec![d])).starts_with(
        "At least one of the parameters MetricData.member.1.Value, \
         MetricData.member.1.StatisticValues and MetricData.member.1.Values"
    ));

    let mut d = value(1.0);
    d.counts = Some(vec![1.0]);
    assert!(ipc(&err(vec![d])).contains("MetricData.member.1.Counts"));
}

#[test]
fn values_and_counts_rules() {
    let d = |values: Vec<f64>, counts: Option<Vec<f64>>| MetricDatum {
        metric_name: Some("m".into()),
        values: Some(values),
        counts,
        ..Default::default()
    };
    assert!(ipv(&err(vec![d(vec![1.0, 2.0], Some(vec![1.0]))])).contains("same size"));
    assert!(ipv(&err(vec![d(vec![1.0; 151], None)])).contains("greater than 150"));
    assert!(to_datums(&input(vec![d(vec![1.0; 150], None)]), now()).is_ok());
    assert!(ipv(&err(vec![d(vec![], None)])).contains("MetricData.member.1.Values"));
    assert!(ipv(&err(vec![d(vec![1.0, 2.0], Some(vec![1.0, -1.0]))]))
        .contains("MetricData.member.1.Counts.member.2"));
    assert!(ipv(&err(vec![d(vec![1.0, 1e300], None)]))
        .contains("The value 1e300 for parameter MetricData.member.1.Values.member.2"));
}

#[test]
fn statistic_values_rules() {
    let d = |n: Option<f64>, sum: Option<f64>, min: f64, max: f64| MetricDatum {
        metric_name: Some("m".into()),
        statistic_values: Some(WireSet {
            sample_count: n,
            sum,
            minimum: Some(min),
            maximum: Some(max),
        }),
        ..Default::default()
    };
    assert_eq!(
        err(vec![d(Some(1.0), None, 1.0, 1.0)]),
        CloudWatchError::MissingParameter(
            "The parameter MetricData.member.1.StatisticValues.Sum is required.".into()
        )
    );
    assert!(ipv(&err(vec![d(Some(0.0), Some(0.0), 1.0, 1.0)]))
        .contains("MetricData.member.1.StatisticValues.SampleCount"));
    assert!(ipv(&err(vec![d(Some(2.0), Some(3.0), 2.0, 1.0)]))
        .contains("StatisticValues.Minimum must be less than or equal"));
}

#[test]
fn value_range_is_cloudwatchs() {
    let max = 2f64.powi(360);
    let min = 2f64.powi(-260);
    for ok in [0.0, -0.0, 1.0, -1.0, max, -max, min, -min, 1e100] {
        assert!(to_datums(&input(vec![value(ok)]), now()).is_ok(), "{ok}");
    }
    for bad in [
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        max * 2.0,
        -max * 2.0,
        min / 2.0,
        1e-300,
    ] {
        let e = err(vec![value(bad)]);
        assert!(
            ipv(&e).contains("parameter MetricData.member.1.Value is invalid"),
            "{bad}: {e}"
        );
    }
}

#[test]
fn unit_resolution_and_timestamp_rules() {
    let mut d = value(1.0);
    d.unit = Some("Furlongs".into());
    assert_eq!(
        ipv(&err(vec![d])),
        "The value Furlongs for parameter MetricData.member.1.Unit is invalid."
    );
    for (r, ok) in [(1, true), (60, true), (5, false), (0, false), (120, false)] {
        let mut d = value(1.0);
        d.storage_resolution = Some(r);
        assert_eq!(to_datums(&input(vec![d]), now()).is_ok(), ok, "{r}");
    }
    let at = |offset_ms: i64| {
        let mut d = value(1.0);
        d.timestamp = Some(wire::Timestamp::from_millis(NOW + offset_ms));
        to_datums(&input(vec![value(0.0), value(0.0), d]), now())
    };
    assert!(at(-TWO_WEEKS_MS).is_ok());
    assert!(at(TWO_HOURS_MS).is_ok());
    assert_eq!(
        ipv(&at(-TWO_WEEKS_MS - 1000).unwrap_err()),
        "The parameter MetricData.member.3.Timestamp must specify a time no more than two \
         weeks in the past and two hours in the future."
    );
    assert!(at(TWO_HOURS_MS + 1000).is_err());
}

#[test]
fn repeated_dimension_names_and_missing_name() {
    let mut d = value(1.0);
    d.dimensions = Some(vec![
        Dimension {
            name: Some("A".into()),
            value: Some("1".into()),
        },
        Dimension {
            name: Some("A".into()),
            value: Some("2".into()),
        },
    ]);
    // CloudWatch accepts a name repeated with different values; both pairs are kept.
    let out = to_datums(&input(vec![d]), now()).expect("repeated dimension name");
    assert_eq!(out[0].metric.dimensions().len(), 2);
    let mut d = value(1.0);
    d.metric_name = None;
    assert_eq!(
        err(vec![value(1.0), d]),
        CloudWatchError::MissingParameter(
            "The parameter MetricData.member.2.MetricName is required.".into()
        )
    );
}

#[test]
fn store_full_is_limit_exceeded() {
    let e = monitor_error(MonitorError::InvalidMetricData(
        "the store holds the maximum of 10 metric series".into(),
    ));
    assert!(matches!(e, CloudWatchError::LimitExceeded(_)));
}
