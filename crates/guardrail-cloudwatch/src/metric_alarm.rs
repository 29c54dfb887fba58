//! PutMetricAlarm input → the monitor's alarm (CloudWatch's semantic rules,
//! docs/cloudwatch-api.md#putmetricalarm), and a stored alarm → the `MetricAlarm` shape
//! DescribeAlarms returns.

use guardrail_api::error::CloudWatchError;
use guardrail_api::generated::cloudwatch::{
    Dimension, MetricAlarm, MetricDataQuery, PutMetricAlarmInput,
};
use guardrail_api::wire::Timestamp as WireTime;
use guardrail_metrics::{
    math_placeholder_metric, AlarmDefinition, ComparisonOperator, LowSampleCount, MathAlarm,
    MathQuery, MathStat, MetricId, ParseStatisticError, Statistic, TreatMissingData, Unit,
};
use guardrail_monitor::{AlarmConfig, AlarmDoc};

use crate::messages;

/// Longest evaluation range (Period × EvaluationPeriods) below / from one-hour periods.
const MAX_RANGE_SHORT_S: i64 = 86_400;
const MAX_RANGE_LONG_S: i64 = 604_800;

fn missing(name: &str) -> CloudWatchError {
    CloudWatchError::MissingParameter(messages::missing_parameter(name))
}

fn combination(msg: &str) -> CloudWatchError {
    CloudWatchError::InvalidParameterCombination(msg.to_owned())
}

/// The statistic of a single-metric alarm: exactly one of Statistic / ExtendedStatistic.
/// `Ok(None)`: a valid extended statistic Guardrail stores but does not evaluate (tmNN …).
fn statistic(
    statistic: Option<&str>,
    extended: Option<&str>,
) -> Result<Option<Statistic>, CloudWatchError> {
    match (statistic, extended) {
        (Some(_), Some(_)) | (None, None) => Err(combination(messages::STATISTIC_XOR_EXTENDED)),
        (Some(s), None) => Ok(Some(s.parse().map_err(|_| {
            CloudWatchError::InvalidParameterValue(messages::unsupported_value(&s, "Statistic"))
        })?)),
        (None, Some(x)) => match x.parse::<Statistic>() {
            Ok(s @ Statistic::Percentile(_)) => Ok(Some(s)),
            Err(ParseStatisticError::Unsupported(_)) => Ok(None),
            _ => Err(CloudWatchError::InvalidParameterValue(
                messages::unsupported_value(&x, "ExtendedStatistic"),
            )),
        },
    }
}

fn metric_id(
    namespace: &str,
    name: &str,
    dims: Option<&[Dimension]>,
) -> Result<MetricId, CloudWatchError> {
    if namespace.starts_with(':') {
        return Err(CloudWatchError::InvalidParameterValue(
            messages::alarm_namespace_starts_with_colon(namespace),
        ));
    }
    let dims = dims.unwrap_or_default().iter().map(|d| {
        (
            d.name.clone().unwrap_or_default(),
            d.value.clone().unwrap_or_default(),
        )
    });
    MetricId::new(namespace, name, dims)
        .map_err(|e| CloudWatchError::InvalidParameterValue(messages::alarm_invalid_dimensions(&e)))
}

fn unit(u: Option<&str>) -> Result<Option<Unit>, CloudWatchError> {
    u.map(|u| {
        u.parse::<Unit>().map_err(|_| {
            CloudWatchError::InvalidParameterValue(messages::unsupported_value(&u, "Unit"))
        })
    })
    .transpose()
}

/// Where the evaluated metric comes from.
struct Source {
    metric: MetricId,
    statistic: Option<Statistic>,
    period: i64,
    unit: Option<Unit>,
}

/// A metric-math alarm: evaluable only when it is one `MetricStat` query.
/// The query named by `ThresholdMetricId` (an anomaly band) does not count as the alarm's
/// metric.
fn math_source(
    queries: &[MetricDataQuery],
    threshold_metric_id: Option<&str>,
) -> Result<Option<Source>, CloudWatchError> {
    let returned: Vec<&MetricDataQuery> = queries
        .iter()
        .filter(|q| q.return_data.unwrap_or(true))
        .filter(|q| threshold_metric_id.is_none_or(|t| q.id.as_deref() != Some(t)))
        .collect();
    if returned.len() != 1 {
        return Err(CloudWatchError::Validation(
            messages::METRICS_ONE_RETURNED.into(),
        ));
    }
    for (i, q) in queries.iter().enumerate() {
        if q.metric_stat.is_some() == q.expression.is_some() {
            return Err(CloudWatchError::Validation(
                messages::metrics_stat_xor_expression(i + 1),
            ));
        }
    }
    if queries.len() != 1 {
        return Ok(None);
    }
    let Some(stat) = &queries[0].metric_stat else {
        return Ok(None);
    };
    let m = stat.metric.clone().unwrap_or_default();
    let (Some(ns), Some(name)) = (m.namespace.as_deref(), m.metric_name.as_deref()) else {
        return Err(missing("Metrics.member.1.MetricStat.Metric.MetricName"));
    };
    let stat_name = stat.stat.as_deref().unwrap_or_default();
    let parsed = match stat_name.parse::<Statistic>() {
        Ok(s) => Some(s),
        Err(ParseStatisticError::Unsupported(_)) => None,
        Err(_) => {
            return Err(CloudWatchError::InvalidParameterValue(
                messages::unsupported_value(&stat_name, "Metrics.member.1.MetricStat.Stat"),
            ))
        }
    };
    Ok(Some(Source {
        metric: metric_id(ns, name, m.dimensions.as_deref())?,
        statistic: parsed,
        period: stat.period.unwrap_or_default(),
        unit: unit(stat.unit.as_deref())?,
    }))
}

/// A metric-math alarm Guardrail evaluates: one returned `Expression` over `MetricStat`
/// queries of one Period and statistics it computes. `Ok(None)`: stored, not evaluated
/// (functions, an anomaly band, other statistics).
fn math_alarm(
    queries: &[MetricDataQuery],
    threshold_metric_id: Option<&str>,
) -> Result<Option<(MathAlarm, u32)>, CloudWatchError> {
    if threshold_metric_id.is_some() || !queries.iter().any(|q| q.expression.is_some()) {
        return Ok(None);
    }
    let mut out = Vec::with_capacity(queries.len());
    for (i, q) in queries.iter().enumerate() {
        let id = q.id.clone().unwrap_or_default();
        let stat = match &q.metric_stat {
            Some(ms) => {
                let m = ms.metric.clone().unwrap_or_default();
                let (Some(ns), Some(name)) = (m.namespace.as_deref(), m.metric_name.as_deref())
                else {
                    return Err(missing(&format!(
                        "Metrics.member.{}.MetricStat.Metric.MetricName",
                        i + 1
                    )));
                };
                let Ok(stat) = ms.stat.as_deref().unwrap_or_default().parse::<Statistic>() else {
                    return Ok(None);
                };
                Some(MathStat {
                    metric: metric_id(ns, name, m.dimensions.as_deref())?,
                    period_s: u32::try_from(ms.period.unwrap_or_default()).unwrap_or(0),
                    stat,
                    unit: unit(ms.unit.as_deref())?,
                })
            }
            None => None,
        };
        out.push(MathQuery {
            id,
            return_data: q.return_data.unwrap_or(true),
            stat,
            expression: q.expression.clone(),
        });
    }
    let math = MathAlarm { queries: out };
    match math.validate() {
        Ok(period) if period >= 1 => Ok(Some((math, period))),
        Ok(_) => Ok(None),
        Err(guardrail_metrics::MathAlarmError::Expression { .. }) => Ok(None),
        Err(e) => Err(CloudWatchError::Validation(messages::invalid_metric_math(
            &e,
        ))),
    }
}

/// Validates a PutMetricAlarm and builds what the monitor stores.
pub(crate) fn to_alarm_config(input: &PutMetricAlarmInput) -> Result<AlarmConfig, CloudWatchError> {
    let name = input
        .alarm_name
        .clone()
        .ok_or_else(|| missing("AlarmName"))?;
    if !name.is_ascii() {
        return Err(CloudWatchError::InvalidParameterValue(
            messages::ALARM_NAME_NOT_ASCII.into(),
        ));
    }
    let single_metric_members = input.metric_name.is_some()
        || input.namespace.is_some()
        || input.statistic.is_some()
        || input.extended_statistic.is_some()
        || input.dimensions.is_some()
        || input.period.is_some()
        || input.unit.is_some();
    let mut math = None;
    let source = match &input.metrics {
        Some(_) if single_metric_members => {
            return Err(combination(messages::METRICS_WITH_SINGLE_METRIC_MEMBERS))
        }
        Some(queries) => {
            let single = math_source(queries, input.threshold_metric_id.as_deref())?;
            match math_alarm(queries, input.threshold_metric_id.as_deref())? {
                Some((m, period)) => {
                    math = Some(m);
                    Some(Source {
                        metric: math_placeholder_metric(&name),
                        statistic: Some(Statistic::Sum),
                        period: i64::from(period),
                        unit: None,
                    })
                }
                None => single,
            }
        }
        None => {
            let namespace = input
                .namespace
                .as_deref()
                .ok_or_else(|| missing("Namespace"))?;
            let metric = input
                .metric_name
                .as_deref()
                .ok_or_else(|| missing("MetricName"))?;
            let statistic = statistic(
                input.statistic.as_deref(),
                input.extended_statistic.as_deref(),
            )?;
            let period = input.period.ok_or_else(|| missing("Period"))?;
            Some(Source {
                metric: metric_id(namespace, metric, input.dimensions.as_deref())?,
                statistic,
                period,
                unit: unit(input.unit.as_deref())?,
            })
        }
    };
    let n = input
        .evaluation_periods
        .ok_or_else(|| missing("EvaluationPeriods"))?;
    let m = input.datapoints_to_alarm;
    if m.is_some_and(|m| m > n) {
        return Err(CloudWatchError::Validation(
            messages::datapoints_exceed_periods(m.unwrap_or_default(), n),
        ));
    }
    if let Some(s) = &source {
        let max = if s.period < 3600 {
            MAX_RANGE_SHORT_S
        } else {
            MAX_RANGE_LONG_S
        };
        if s.period.saturating_mul(n) > max {
            return Err(CloudWatchError::Validation(
                messages::evaluation_range_too_long(s.period, n, max),
            ));
        }
    }
    let operator_text = input.comparison_operator.as_deref().unwrap_or_default();
    let comparison: ComparisonOperator = operator_text
        .parse()
        .map_err(|_| missing("ComparisonOperator"))?;
    if comparison.is_anomaly_band() && input.threshold_metric_id.is_none() {
        return Err(CloudWatchError::Validation(
            messages::anomaly_operator_without_threshold_metric(operator_text),
        ));
    }
    let threshold = match (input.threshold, &input.threshold_metric_id) {
        (Some(t), _) => t,
        (None, Some(_)) => 0.0,
        (None, None) => return Err(missing("Threshold")),
    };
    let treat: TreatMissingData = match input.treat_missing_data.as_deref() {
        None => TreatMissingData::Missing,
        Some(t) => t.parse().map_err(|_| {
            CloudWatchError::Validation(messages::unsupported_treat_missing_data(t))
        })?,
    };
    let low_sample = input
        .evaluate_low_sample_count_percentile
        .as_deref()
        .map(|v| {
            v.parse::<LowSampleCount>()
                .map_err(|_| CloudWatchError::Validation(messages::unsupported_low_sample_count(v)))
        })
        .transpose()?;
    let actions_enabled = input.actions_enabled.unwrap_or(true);
    let definition = match source {
        Some(Source {
            metric,
            statistic: Some(statistic),
            period,
            unit,
        }) if !comparison.is_anomaly_band() => {
            let mut def = AlarmDefinition::new(
                name.clone(),
                metric,
                statistic,
                u32::try_from(period).unwrap_or(u32::MAX),
                u32::try_from(n).unwrap_or(u32::MAX),
                threshold,
                comparison,
            );
            def.datapoints_to_alarm = m.map(|m| u32::try_from(m).unwrap_or(u32::MAX));
            def.treat_missing_data = treat;
            def.evaluate_low_sample_count_percentile = low_sample;
            def.unit = unit;
            def.actions_enabled = actions_enabled;
            def.validate()
                .map_err(|e| CloudWatchError::Validation(messages::invalid_alarm_definition(&e)))?;
            Some(def)
        }
        _ => None,
    };
    let mut config = input.clone();
    config.tags = None;
    Ok(AlarmConfig {
        name,
        config: serde_json::to_value(&config).map_err(|_| CloudWatchError::Internal)?,
        math: if definition.is_some() { math } else { None },
        definition,
        composite: None,
        actions_enabled,
    })
}

fn wire_time(t: guardrail_core::time::Timestamp) -> WireTime {
    WireTime::from_millis(t.millis())
}

/// The DescribeAlarms view of a stored alarm.
pub(crate) fn render(doc: &AlarmDoc, arn: String) -> MetricAlarm {
    let cfg: PutMetricAlarmInput = serde_json::from_value(doc.config.clone()).unwrap_or_default();
    let evaluation_state =
        (doc.definition.is_none() && cfg.metrics.is_some()).then(|| "EVALUATION_ERROR".to_owned());
    MetricAlarm {
        alarm_name: Some(doc.name.clone()),
        alarm_arn: Some(arn),
        alarm_description: cfg.alarm_description,
        alarm_configuration_updated_timestamp: Some(wire_time(doc.config_updated)),
        actions_enabled: Some(doc.actions_enabled),
        ok_actions: Some(cfg.ok_actions.unwrap_or_default()),
        alarm_actions: Some(cfg.alarm_actions.unwrap_or_default()),
        insufficient_data_actions: Some(cfg.insufficient_data_actions.unwrap_or_default()),
        state_value: Some(doc.state.value.as_str().to_owned()),
        state_reason: Some(doc.state.reason.clone()),
        state_reason_data: doc.state.reason_data.clone(),
        state_updated_timestamp: Some(wire_time(doc.state.updated_at)),
        state_transitioned_timestamp: Some(wire_time(doc.state.transitioned_at)),
        metric_name: cfg.metric_name,
        namespace: cfg.namespace,
        statistic: cfg.statistic,
        extended_statistic: cfg.extended_statistic,
        // Both lists are always present (`[]` for the other kind of alarm): clients index them.
        dimensions: Some(cfg.dimensions.unwrap_or_default()),
        period: cfg.period,
        unit: cfg.unit,
        evaluation_periods: cfg.evaluation_periods,
        datapoints_to_alarm: cfg.datapoints_to_alarm,
        threshold: cfg.threshold,
        comparison_operator: cfg.comparison_operator,
        treat_missing_data: Some(cfg.treat_missing_data.unwrap_or_else(|| "missing".into())),
        evaluate_low_sample_count_percentile: cfg.evaluate_low_sample_count_percentile,
        metrics: Some(cfg.metrics.unwrap_or_default()),
        threshold_metric_id: cfg.threshold_metric_id,
        evaluation_state,
        evaluation_window: cfg.evaluation_window,
        warm_up_configuration: cfg.warm_up_configuration,
        evaluation_criteria: cfg.evaluation_criteria,
        evaluation_interval: cfg.evaluation_interval,
        action_configuration: cfg.action_configuration,
    }
}
