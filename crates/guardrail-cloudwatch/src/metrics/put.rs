//! PutMetricData (docs/cloudwatch-api.md#putmetricdata): every datum is validated into a monitor [`Datum`]
//! before anything is recorded, so one bad datum rejects the whole call.

use guardrail_api::error::CloudWatchError;
use guardrail_api::generated::cloudwatch::{MetricDatum, PutMetricDataInput};
use guardrail_metrics::{StatisticSet, Timestamp, Unit};
use guardrail_monitor::{Datum, DatumValue, MonitorError};

use super::{fmt_num, metric_id, missing, parse_unit, to_engine_ts, MetricParams};
use crate::{empty, Reply};
use crate::{messages, CloudWatch};

/// Datums per call (MetricData and EntityMetricData together).
const MAX_DATUMS: usize = 1000;
/// `Values` per datum.
const MAX_VALUES: usize = 150;
const TWO_WEEKS_MS: i64 = 14 * 86_400_000;
const TWO_HOURS_MS: i64 = 2 * 3_600_000;

pub(crate) async fn put_metric_data(service: &CloudWatch, input: PutMetricDataInput) -> Reply {
    let now = service.monitor.clock().now();
    let datums = to_datums(&input, now)?;
    service
        .monitor
        .put_metric_data(datums)
        .await
        .map_err(monitor_error)?;
    empty()
}

fn monitor_error(e: MonitorError) -> CloudWatchError {
    match e {
        // Everything else was validated: the store refused a new series (its cap).
        MonitorError::InvalidMetricData(m) => {
            CloudWatchError::LimitExceeded(messages::metric_data_not_recorded(&m))
        }
        MonitorError::Store(e) => {
            tracing::error!(error = %e, "cannot store metric data");
            CloudWatchError::Internal
        }
        other => {
            tracing::error!(error = %other, "unexpected monitor failure in PutMetricData");
            CloudWatchError::Internal
        }
    }
}

fn invalid(msg: String) -> CloudWatchError {
    CloudWatchError::InvalidParameterValue(msg)
}

/// Validates every datum of the call (in order; the first violation is reported) and returns
/// them ready to record. `now` defaults missing timestamps and bounds given ones.
pub(super) fn to_datums(
    input: &PutMetricDataInput,
    now: Timestamp,
) -> Result<Vec<Datum>, CloudWatchError> {
    let namespace = input
        .namespace
        .as_deref()
        .ok_or_else(|| missing("Namespace"))?;
    if namespace.starts_with(':') {
        return Err(invalid(messages::namespace_starts_with_colon(
            namespace,
            "Namespace",
        )));
    }
    let plain = input.metric_data.as_deref().unwrap_or_default();
    let entity: Vec<(usize, &[MetricDatum])> = input
        .entity_metric_data
        .as_deref()
        .unwrap_or_default()
        .iter()
        .enumerate()
        .map(|(i, e)| (i + 1, e.metric_data.as_deref().unwrap_or_default()))
        .collect();
    let total = plain.len() + entity.iter().map(|(_, d)| d.len()).sum::<usize>();
    if total == 0 {
        return Err(missing("MetricData"));
    }
    if total > MAX_DATUMS {
        return Err(invalid(messages::collection_too_large(
            "MetricData",
            MAX_DATUMS,
        )));
    }
    let mut out = Vec::with_capacity(total);
    for (i, d) in plain.iter().enumerate() {
        out.push(datum(
            d,
            namespace,
            &format!("MetricData.member.{}", i + 1),
            now,
        )?);
    }
    for (e, datums) in entity {
        for (i, d) in datums.iter().enumerate() {
            let prefix = format!("EntityMetricData.member.{e}.MetricData.member.{}", i + 1);
            out.push(datum(d, namespace, &prefix, now)?);
        }
    }
    Ok(out)
}

/// CloudWatch's accepted magnitudes: |v| ≤ 2^360 and, unless zero, |v| ≥ 2^-260.
fn in_range(v: f64) -> bool {
    let (max, min) = (2f64.powi(360), 2f64.powi(-260));
    let a = v.abs();
    v.is_finite() && a <= max && (a == 0.0 || a >= min)
}

fn check_number(v: f64, param: &str) -> Result<f64, CloudWatchError> {
    if in_range(v) {
        Ok(v)
    } else if !v.is_finite() {
        // Normally caught before deserialisation (`non_finite`); CloudWatch's wording.
        let spelled = guardrail_api::protocol::cbor::non_finite_name(v);
        Err(invalid(messages::invalid_value(&spelled, param)))
    } else {
        Err(invalid(messages::number_out_of_range(&fmt_num(v), param)))
    }
}

/// One datum; `p` is its query-protocol name, e.g. `MetricData.member.3`.
fn datum(
    d: &MetricDatum,
    namespace: &str,
    p: &str,
    now: Timestamp,
) -> Result<Datum, CloudWatchError> {
    let metric = metric_id(
        Some(namespace),
        Some(
            d.metric_name
                .as_deref()
                .ok_or_else(|| missing(&format!("{p}.MetricName")))?,
        ),
        d.dimensions.as_deref(),
        &MetricParams::prefixed(&format!("{p}.")),
        invalid,
    )?;
    let value = datum_value(d, p)?;
    let unit = parse_unit(d.unit.as_deref(), &format!("{p}.Unit"), invalid)?.unwrap_or(Unit::None);
    if let Some(r) = d.storage_resolution {
        if r != 1 && r != 60 {
            return Err(invalid(messages::invalid_storage_resolution(&r, p)));
        }
    }
    let timestamp = match &d.timestamp {
        None => now,
        Some(t) => {
            let t = to_engine_ts(t);
            if t.millis() < now.millis() - TWO_WEEKS_MS || t.millis() > now.millis() + TWO_HOURS_MS
            {
                return Err(invalid(messages::timestamp_out_of_range(p)));
            }
            t
        }
    };
    Ok(Datum {
        metric,
        timestamp,
        value,
        unit,
    })
}

/// Exactly one of `Value`, `StatisticValues`, `Values` (+ `Counts`).
fn datum_value(d: &MetricDatum, p: &str) -> Result<DatumValue, CloudWatchError> {
    let given: Vec<&str> = [
        ("Value", d.value.is_some()),
        ("StatisticValues", d.statistic_values.is_some()),
        ("Values", d.values.is_some()),
    ]
    .iter()
    .filter(|(_, on)| *on)
    .map(|(n, _)| *n)
    .collect();
    if d.counts.is_some() && d.values.is_none() {
        return Err(CloudWatchError::InvalidParameterCombination(
            messages::counts_without_values(p),
        ));
    }
    match given.as_slice() {
        [] => Err(CloudWatchError::InvalidParameterCombination(
            messages::no_datum_value(p),
        )),
        [a, b] => Err(CloudWatchError::InvalidParameterCombination(
            messages::two_datum_values(p, a, b),
        )),
        [_, _, _] => Err(CloudWatchError::InvalidParameterCombination(
            messages::three_datum_values(p),
        )),
        _ => {
            if let Some(v) = d.value {
                return Ok(DatumValue::Single(check_number(v, &format!("{p}.Value"))?));
            }
            if let Some(s) = &d.statistic_values {
                return statistic_set(s, p).map(DatumValue::Set);
            }
            values(d, p)
        }
    }
}

fn statistic_set(
    s: &guardrail_api::generated::cloudwatch::StatisticSet,
    p: &str,
) -> Result<StatisticSet, CloudWatchError> {
    let member = |v: Option<f64>, name: &str| {
        let param = format!("{p}.StatisticValues.{name}");
        check_number(v.ok_or_else(|| missing(&param))?, &param)
    };
    let set = StatisticSet {
        sample_count: member(s.sample_count, "SampleCount")?,
        sum: member(s.sum, "Sum")?,
        minimum: member(s.minimum, "Minimum")?,
        maximum: member(s.maximum, "Maximum")?,
    };
    if set.sample_count <= 0.0 {
        return Err(invalid(messages::non_positive_sample_count(
            &fmt_num(set.sample_count),
            p,
        )));
    }
    if set.minimum > set.maximum {
        return Err(invalid(messages::minimum_above_maximum(p)));
    }
    Ok(set)
}

fn values(d: &MetricDatum, p: &str) -> Result<DatumValue, CloudWatchError> {
    let values = d.values.as_deref().unwrap_or_default();
    if values.is_empty() {
        return Err(invalid(messages::empty_values(p)));
    }
    if values.len() > MAX_VALUES {
        return Err(invalid(messages::collection_too_large(
            &format!("{p}.Values"),
            MAX_VALUES,
        )));
    }
    for (i, v) in values.iter().enumerate() {
        check_number(*v, &format!("{p}.Values.member.{}", i + 1))?;
    }
    if let Some(counts) = &d.counts {
        if counts.len() != values.len() {
            return Err(invalid(messages::values_counts_size_mismatch(p)));
        }
        for (i, c) in counts.iter().enumerate() {
            let param = format!("{p}.Counts.member.{}", i + 1);
            check_number(*c, &param)?;
            if *c < 0.0 {
                return Err(invalid(messages::negative_count(&fmt_num(*c), &param)));
            }
        }
    }
    Ok(DatumValue::Values {
        values: values.to_vec(),
        counts: d.counts.clone(),
    })
}

#[cfg(test)]
#[path = "put_tests.rs"]
mod tests;
