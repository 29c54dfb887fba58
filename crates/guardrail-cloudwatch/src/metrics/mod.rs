//! The CloudWatch metric operations (docs/cloudwatch-api.md): PutMetricData,
//! GetMetricStatistics, GetMetricData and ListMetrics over the monitor's metric store.
//!
//! Each operation is split into pure steps over the wire input (validation into engine types,
//! the query against a `&MetricStore`, output shaping) and a thin handler that reads the clock
//! and the monitor; the pure steps carry the unit tests. What is computed — statistics,
//! GetMetricData's queries and metric math, pages — is `guardrail-metrics`'; the steps here
//! only translate between it and the wire.

mod data;
mod list;
mod page;
mod put;
mod statistics;

pub(crate) use data::get_metric_data;
pub(crate) use list::list_metrics;
pub(crate) use put::put_metric_data;
pub(crate) use statistics::get_metric_statistics;

use guardrail_api::error::CloudWatchError;
use guardrail_api::generated::cloudwatch as cw;
use guardrail_api::wire;
use guardrail_metrics::{MetricId, MetricIdError, Timestamp, Unit, MAX_DIMENSIONS};

use crate::messages;

/// The error code a rule violation is reported under (GetMetricData reports everything as
/// `ValidationError`, the other operations as `InvalidParameterValue`).
type Invalid = fn(String) -> CloudWatchError;

fn to_engine_ts(t: &wire::Timestamp) -> Timestamp {
    Timestamp::from_millis(t.as_millis())
}

fn to_wire_ts(t: Timestamp) -> wire::Timestamp {
    wire::Timestamp::from_millis(t.millis())
}

/// `StartTime`/`EndTime`: both required, start strictly before end.
/// Which operation's wording a bad time range gets.
#[derive(Copy, Clone)]
enum RangeRule {
    /// GetMetricStatistics: `InvalidParameterValue`, one message.
    Statistics,
    /// GetMetricData: `ValidationError`, one message for an end before the start and one
    /// for equal times.
    Data,
}

/// StartTime and EndTime. CloudWatch compares them in whole seconds: times within the same
/// second are equal.
fn time_range(
    start: Option<&wire::Timestamp>,
    end: Option<&wire::Timestamp>,
    rule: RangeRule,
) -> Result<(Timestamp, Timestamp), CloudWatchError> {
    let start = to_engine_ts(start.ok_or_else(|| missing("StartTime"))?);
    let end = to_engine_ts(end.ok_or_else(|| missing("EndTime"))?);
    let (s, e) = (
        start.millis().div_euclid(1000),
        end.millis().div_euclid(1000),
    );
    match rule {
        RangeRule::Statistics if e <= s => Err(CloudWatchError::InvalidParameterValue(
            messages::START_NOT_BEFORE_END.into(),
        )),
        RangeRule::Data if e < s => Err(CloudWatchError::Validation(
            messages::END_BEFORE_START.into(),
        )),
        RangeRule::Data if e == s => Err(CloudWatchError::Validation(
            messages::START_EQUALS_END.into(),
        )),
        _ => Ok((start, end)),
    }
}

fn missing(param: &str) -> CloudWatchError {
    CloudWatchError::MissingParameter(messages::missing_parameter(param))
}

/// A number as CloudWatch messages show it: plain for ordinary magnitudes, else scientific.
fn fmt_num(v: f64) -> String {
    let a = v.abs();
    if v.is_finite() && a != 0.0 && !(1e-6..1e16).contains(&a) {
        format!("{v:e}")
    } else {
        format!("{v}")
    }
}

/// `1441` → `1,441`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Query-protocol names of a metric's members, e.g. `Namespace` or
/// `MetricDataQueries.member.2.MetricStat.Metric.Namespace`.
struct MetricParams {
    namespace: String,
    metric_name: String,
    dimensions: String,
}

impl MetricParams {
    /// Members named `<prefix>Namespace`, `<prefix>MetricName`, `<prefix>Dimensions`.
    fn prefixed(prefix: &str) -> Self {
        MetricParams {
            namespace: format!("{prefix}Namespace"),
            metric_name: format!("{prefix}MetricName"),
            dimensions: format!("{prefix}Dimensions"),
        }
    }
}

/// Validates and builds a metric identity, naming the offending parameter on failure.
fn metric_id(
    namespace: Option<&str>,
    metric_name: Option<&str>,
    dimensions: Option<&[cw::Dimension]>,
    params: &MetricParams,
    invalid: Invalid,
) -> Result<MetricId, CloudWatchError> {
    let namespace = namespace.ok_or_else(|| missing(&params.namespace))?;
    if namespace.starts_with(':') {
        return Err(invalid(messages::namespace_starts_with_colon(
            namespace,
            &params.namespace,
        )));
    }
    let metric_name = metric_name.ok_or_else(|| missing(&params.metric_name))?;
    let dimensions = dimensions.unwrap_or_default();
    let dp = &params.dimensions;
    if dimensions.len() > MAX_DIMENSIONS {
        return Err(invalid(messages::collection_too_large(dp, MAX_DIMENSIONS)));
    }
    let mut pairs: Vec<(&str, &str)> = Vec::with_capacity(dimensions.len());
    for (i, d) in dimensions.iter().enumerate() {
        let n = i + 1;
        let name = d
            .name
            .as_deref()
            .ok_or_else(|| missing(&format!("{dp}.member.{n}.Name")))?;
        let value = d
            .value
            .as_deref()
            .ok_or_else(|| missing(&format!("{dp}.member.{n}.Value")))?;
        pairs.push((name, value));
    }
    MetricId::new(namespace, metric_name, pairs.iter().copied()).map_err(|e| {
        invalid(match e {
            MetricIdError::Namespace => messages::invalid_namespace(namespace, &params.namespace),
            MetricIdError::MetricName => {
                messages::invalid_metric_name(metric_name, &params.metric_name)
            }
            MetricIdError::TooManyDimensions => messages::collection_too_large(dp, MAX_DIMENSIONS),
            MetricIdError::Dimension => messages::invalid_dimensions(dp),
        })
    })
}

/// An optional `StandardUnit`.
fn parse_unit(
    unit: Option<&str>,
    param: &str,
    invalid: Invalid,
) -> Result<Option<Unit>, CloudWatchError> {
    unit.map(|u| {
        u.parse::<Unit>()
            .map_err(|_| invalid(messages::invalid_value(&u, param)))
    })
    .transpose()
}

/// The wire form of a metric identity.
fn wire_metric(id: &MetricId) -> cw::Metric {
    cw::Metric {
        namespace: Some(id.namespace().to_owned()),
        metric_name: Some(id.metric_name().to_owned()),
        dimensions: Some(
            id.dimensions()
                .iter()
                .map(|d| cw::Dimension {
                    name: Some(d.name.clone()),
                    value: Some(d.value.clone()),
                })
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dim(n: &str, v: &str) -> cw::Dimension {
        cw::Dimension {
            name: Some(n.into()),
            value: Some(v.into()),
        }
    }

    #[test]
    fn numbers_and_counts_format_like_cloudwatch_messages() {
        assert_eq!(thousands(1441), "1,441");
        assert_eq!(thousands(100_800), "100,800");
        assert_eq!(thousands(1_000_000), "1,000,000");
        assert_eq!(thousands(999), "999");
        assert_eq!(fmt_num(5.0), "5");
        assert_eq!(fmt_num(0.25), "0.25");
        assert_eq!(fmt_num(1e300), "1e300");
        assert_eq!(fmt_num(f64::NAN), "NaN");
    }

    #[test]
    fn metric_identity_errors_name_the_parameter() {
        let p = MetricParams::prefixed("MetricData.member.2.");
        // A name may repeat with different values (CloudWatch accepts it).
        let dims = [dim("a", "1"), dim("b", "2"), dim("a", "3")];
        let id = metric_id(
            Some("ns"),
            Some("m"),
            Some(&dims),
            &p,
            CloudWatchError::InvalidParameterValue,
        )
        .expect("repeated name");
        assert_eq!(id.dimensions().len(), 3);

        let e = metric_id(
            Some(":ns"),
            Some("m"),
            None,
            &MetricParams::prefixed(""),
            CloudWatchError::Validation,
        )
        .unwrap_err();
        assert!(matches!(e, CloudWatchError::Validation(m) if m.contains("parameter Namespace")));

        let many: Vec<_> = (0..31).map(|i| dim(&format!("d{i}"), "v")).collect();
        let e = metric_id(
            Some("ns"),
            Some("m"),
            Some(&many),
            &p,
            CloudWatchError::InvalidParameterValue,
        )
        .unwrap_err();
        assert_eq!(
            e,
            CloudWatchError::InvalidParameterValue(
                "The collection MetricData.member.2.Dimensions must not have a size greater than 30."
                    .into()
            )
        );

        let no_value = [cw::Dimension {
            name: Some("a".into()),
            value: None,
        }];
        let e = metric_id(
            Some("ns"),
            Some("m"),
            Some(&no_value),
            &p,
            CloudWatchError::InvalidParameterValue,
        )
        .unwrap_err();
        assert_eq!(e, missing("MetricData.member.2.Dimensions.member.1.Value"));
    }

    #[test]
    fn identity_is_normalised_and_round_trips_to_the_wire() {
        let dims = [dim("VariantName", "v"), dim("EndpointName", "e")];
        let id = metric_id(
            Some("AWS/SageMaker"),
            Some("Invocations"),
            Some(&dims),
            &MetricParams::prefixed(""),
            CloudWatchError::InvalidParameterValue,
        )
        .unwrap();
        let m = wire_metric(&id);
        assert_eq!(m.namespace.as_deref(), Some("AWS/SageMaker"));
        assert_eq!(
            m.dimensions.unwrap(),
            vec![dim("EndpointName", "e"), dim("VariantName", "v")]
        );
        assert_eq!(
            parse_unit(
                Some("Bytes/Second"),
                "Unit",
                CloudWatchError::InvalidParameterValue
            ),
            Ok(Some(Unit::BytesPerSecond))
        );
        assert!(parse_unit(
            Some("bytes"),
            "Unit",
            CloudWatchError::InvalidParameterValue
        )
        .is_err());
    }
}
