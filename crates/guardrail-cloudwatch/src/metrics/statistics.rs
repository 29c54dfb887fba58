//! GetMetricStatistics (docs/cloudwatch-api.md#getmetricstatistics).

use std::collections::BTreeMap;

use guardrail_api::error::CloudWatchError;
use guardrail_api::generated::cloudwatch::{
    Datapoint as WireDatapoint, GetMetricStatisticsInput, GetMetricStatisticsOutput,
};
use guardrail_metrics::{
    MetricId, MetricStore, ParseStatisticError, Percentile, QueryError, Statistic, Timestamp, Unit,
};

use super::{
    metric_id, missing, parse_unit, thousands, time_range, to_wire_ts, MetricParams, RangeRule,
};
use crate::{messages, CloudWatch};
use crate::{to_value, Reply};

pub(crate) fn get_metric_statistics(
    service: &CloudWatch,
    input: GetMetricStatisticsInput,
) -> Reply {
    let request = parse(&input)?;
    let output = service
        .monitor
        .with_metrics(|store| answer(store, &request))?;
    to_value(&output)
}

/// A validated GetMetricStatistics request.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct StatisticsRequest {
    id: MetricId,
    start: Timestamp,
    end: Timestamp,
    period_s: u32,
    /// The basic statistics and percentiles asked for, in request order.
    stats: Vec<Statistic>,
    /// How each requested percentile was spelled (the output map's keys).
    percentile_names: Vec<(Percentile, String)>,
    unit: Option<Unit>,
}

fn invalid(msg: String) -> CloudWatchError {
    CloudWatchError::InvalidParameterValue(msg)
}

pub(super) fn parse(
    input: &GetMetricStatisticsInput,
) -> Result<StatisticsRequest, CloudWatchError> {
    let id = metric_id(
        input.namespace.as_deref(),
        input.metric_name.as_deref(),
        input.dimensions.as_deref(),
        &MetricParams::prefixed(""),
        invalid,
    )?;
    let basic = input.statistics.as_deref().unwrap_or_default();
    let extended = input.extended_statistics.as_deref().unwrap_or_default();
    if !basic.is_empty() && !extended.is_empty() {
        return Err(CloudWatchError::InvalidParameterCombination(
            messages::STATISTICS_AND_EXTENDED.into(),
        ));
    }
    if basic.is_empty() && extended.is_empty() {
        return Err(CloudWatchError::InvalidParameterCombination(
            messages::STATISTICS_OR_EXTENDED.into(),
        ));
    }
    let mut stats = Vec::with_capacity(basic.len() + extended.len());
    for (i, name) in basic.iter().enumerate() {
        match name.parse::<Statistic>() {
            Ok(s) if !s.is_percentile() => stats.push(s),
            _ => {
                return Err(invalid(messages::not_a_valid_statistic(
                    name,
                    &format!("Statistics.member.{}", i + 1),
                )))
            }
        }
    }
    let mut percentile_names: Vec<(Percentile, String)> = Vec::new();
    for (i, name) in extended.iter().enumerate() {
        let param = format!("ExtendedStatistics.member.{}", i + 1);
        match name.parse::<Statistic>() {
            Ok(s @ Statistic::Percentile(p)) => {
                if !percentile_names.iter().any(|(seen, _)| *seen == p) {
                    percentile_names.push((p, name.clone()));
                    stats.push(s);
                }
            }
            Err(ParseStatisticError::Unsupported(_)) => {
                return Err(invalid(messages::percentiles_only(name, &param)))
            }
            _ => {
                return Err(invalid(messages::not_a_valid_extended_statistic(
                    name, &param,
                )))
            }
        }
    }
    let (start, end) = time_range(
        input.start_time.as_ref(),
        input.end_time.as_ref(),
        RangeRule::Statistics,
    )?;
    let period = input.period.ok_or_else(|| missing("Period"))?;
    let period_s = u32::try_from(period)
        .ok()
        .filter(|p| *p >= 1)
        .ok_or_else(|| invalid(messages::invalid_period(&period, "Period")))?;
    let unit = parse_unit(input.unit.as_deref(), "Unit", invalid)?;
    Ok(StatisticsRequest {
        id,
        start,
        end,
        period_s,
        stats,
        percentile_names,
        unit,
    })
}

fn query_error(e: QueryError) -> CloudWatchError {
    match e {
        QueryError::TooManyDatapoints { requested, max } => {
            CloudWatchError::InvalidParameterCombination(messages::too_many_datapoints(
                &thousands(requested),
                &thousands(max),
            ))
        }
        QueryError::InvalidTimeRange => invalid(messages::START_NOT_BEFORE_END.into()),
        QueryError::InvalidPeriod => invalid(messages::PERIOD_BELOW_ONE_SECOND.into()),
    }
}

pub(super) fn answer(
    store: &MetricStore,
    r: &StatisticsRequest,
) -> Result<GetMetricStatisticsOutput, CloudWatchError> {
    let points = store
        .statistics(&r.id, r.start, r.end, r.period_s, &r.stats, r.unit)
        .map_err(query_error)?;
    let want_extended = !r.percentile_names.is_empty();
    let datapoints = points
        .into_iter()
        .map(|d| WireDatapoint {
            timestamp: Some(to_wire_ts(d.timestamp)),
            sample_count: d.sample_count,
            average: d.average,
            sum: d.sum,
            minimum: d.minimum,
            maximum: d.maximum,
            unit: Some(d.unit.as_str().to_owned()),
            extended_statistics: want_extended.then(|| {
                d.extended
                    .iter()
                    .filter_map(|(p, v)| {
                        let name = r.percentile_names.iter().find(|(q, _)| q == p)?;
                        Some((name.1.clone(), *v))
                    })
                    .collect::<BTreeMap<String, f64>>()
            }),
        })
        .collect();
    Ok(GetMetricStatisticsOutput {
        label: Some(r.id.metric_name().to_owned()),
        datapoints: Some(datapoints),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use guardrail_api::generated::cloudwatch::Dimension;
    use guardrail_api::wire;
    use guardrail_metrics::StoreConfig;

    /// 2026-11-23T10:00:00Z
    const T0: i64 = 1_795_428_000_000;
    const MIN: i64 = 60_000;

    fn input(stats: &[&str], extended: &[&str]) -> GetMetricStatisticsInput {
        let list = |l: &[&str]| (!l.is_empty()).then(|| l.iter().map(|s| s.to_string()).collect());
        GetMetricStatisticsInput {
            namespace: Some("AWS/SageMaker".into()),
            metric_name: Some("ModelLatency".into()),
            dimensions: Some(vec![Dimension {
                name: Some("EndpointName".into()),
                value: Some("ep".into()),
            }]),
            start_time: Some(wire::Timestamp::from_millis(T0)),
            end_time: Some(wire::Timestamp::from_millis(T0 + 3 * MIN)),
            period: Some(60),
            statistics: list(stats),
            extended_statistics: list(extended),
            unit: None,
        }
    }

    fn store_with_data() -> MetricStore {
        let mut s = MetricStore::new(StoreConfig::default());
        let id = MetricId::new("AWS/SageMaker", "ModelLatency", [("EndpointName", "ep")]).unwrap();
        for (offset, v) in [
            (0, 1.0),
            (10_000, 3.0),
            (59_999, 8.0),
            (2 * MIN + 5_000, 4.0),
        ] {
            s.record(
                &id,
                Timestamp::from_millis(T0 + offset),
                v,
                Unit::Microseconds,
            )
            .unwrap();
        }
        s
    }

    #[test]
    fn output_has_label_and_only_requested_statistics() {
        let r = parse(&input(&["Average", "Maximum"], &[])).unwrap();
        let out = answer(&store_with_data(), &r).unwrap();
        assert_eq!(out.label.as_deref(), Some("ModelLatency"));
        let dps = out.datapoints.as_ref().unwrap();
        assert_eq!(dps.len(), 2, "the empty minute is omitted");
        let d = &dps[0];
        assert_eq!(d.timestamp, Some(wire::Timestamp::from_millis(T0)));
        assert_eq!(d.average, Some(4.0));
        assert_eq!(d.maximum, Some(8.0));
        assert_eq!((d.sum, d.sample_count, d.minimum), (None, None, None));
        assert_eq!(d.unit.as_deref(), Some("Microseconds"));
        assert!(d.extended_statistics.is_none());
        let r = parse(&input(&[], &["p99", "p50.0"])).unwrap();
        let out = answer(&store_with_data(), &r).unwrap();
        let d = &out.datapoints.as_ref().unwrap()[0];
        assert_eq!(d.average, None);
        let ext = d.extended_statistics.as_ref().unwrap();
        assert_eq!(
            ext.keys().collect::<Vec<_>>(),
            ["p50.0", "p99"],
            "keys are spelled as requested"
        );
        let json = serde_json::to_value(&out).unwrap();
        assert_eq!(
            json["Datapoints"][1]["Timestamp"],
            serde_json::json!(1_795_428_120.0)
        );
        assert!(json["Datapoints"][0].get("Sum").is_none());
        assert!(json["Datapoints"][0]["ExtendedStatistics"]["p99"].is_number());
    }

    #[test]
    fn no_data_gives_an_empty_list_and_no_extended_map_unless_asked() {
        let r = parse(&input(&["Sum"], &[])).unwrap();
        let out = answer(&MetricStore::new(StoreConfig::default()), &r).unwrap();
        assert_eq!(out.datapoints, Some(vec![]));
        let out = answer(&store_with_data(), &r).unwrap();
        assert!(out.datapoints.unwrap()[0].extended_statistics.is_none());
        let json =
            serde_json::to_value(answer(&MetricStore::new(StoreConfig::default()), &r).unwrap())
                .unwrap();
        assert_eq!(json["Datapoints"], serde_json::json!([]));
    }

    #[test]
    fn statistics_rules() {
        assert_eq!(
            parse(&input(&[], &[])),
            Err(CloudWatchError::InvalidParameterCombination(
                "Must specify either Statistics or ExtendedStatistics".into()
            ))
        );
        assert!(parse(&input(&[], &["p99.9"])).is_ok());
        assert_eq!(
            parse(&input(&["Sum"], &["p99"])),
            Err(CloudWatchError::InvalidParameterCombination(
                "Statistics and ExtendedStatistics cannot both be specified.".into()
            ))
        );
        let e = parse(&input(&[], &["tm99"])).unwrap_err();
        assert!(
            matches!(&e, CloudWatchError::InvalidParameterValue(m)
                if m.starts_with("The value tm99 for parameter ExtendedStatistics.member.1 is not supported")),
            "{e:?}"
        );
        for bad in ["Sum", "p101", "x"] {
            let e = parse(&input(&[], &["p50", bad])).unwrap_err();
            assert!(
                matches!(&e, CloudWatchError::InvalidParameterValue(m)
                    if m.contains("ExtendedStatistics.member.2 is not a valid extended statistic")),
                "{bad}: {e:?}"
            );
        }
    }

    #[test]
    fn time_period_and_unit_rules() {
        let same_second = |start_ms: i64, end_ms: i64| {
            let mut i = input(&["Sum"], &[]);
            i.start_time = Some(wire::Timestamp::from_millis(start_ms));
            i.end_time = Some(wire::Timestamp::from_millis(end_ms));
            parse(&i).map(|_| ())
        };
        let refused = Err(CloudWatchError::InvalidParameterValue(
            "The parameter StartTime must be less than the parameter EndTime.".into(),
        ));
        assert_eq!(same_second(T0, T0), refused);
        assert_eq!(same_second(T0 + 100, T0 + 900), refused, "same second");
        assert_eq!(same_second(T0 + 1000, T0), refused);
        assert_eq!(same_second(T0 + 900, T0 + 1000), Ok(()));
        let mut i = input(&["Sum"], &[]);
        i.period = Some(7);
        assert_eq!(
            parse(&i).unwrap().period_s,
            7,
            "any period >= 1 (Guardrail)"
        );
        i.period = Some(0);
        assert!(parse(&i).is_err());
        let mut i = input(&["Sum"], &[]);
        i.unit = Some("Seconds".into());
        let r = parse(&i).unwrap();
        assert_eq!(r.unit, Some(Unit::Seconds));
        let out = answer(&store_with_data(), &r).unwrap();
        assert_eq!(out.datapoints, Some(vec![]), "other units are not returned");
    }

    #[test]
    fn more_than_1440_datapoints_is_refused() {
        let mut i = input(&["Sum"], &[]);
        i.period = Some(1);
        i.end_time = Some(wire::Timestamp::from_millis(T0 + 1440 * 1000));
        let r = parse(&i).unwrap();
        assert!(answer(&store_with_data(), &r).is_ok());
        i.end_time = Some(wire::Timestamp::from_millis(T0 + 1441 * 1000));
        let r = parse(&i).unwrap();
        assert_eq!(
            answer(&store_with_data(), &r),
            Err(CloudWatchError::InvalidParameterCombination(
                "You have requested up to 1,441 datapoints, which exceeds the limit of 1,440. \
                 You may reduce the datapoints requested by increasing Period, or decreasing \
                 the time range."
                    .into()
            ))
        );
    }
}
