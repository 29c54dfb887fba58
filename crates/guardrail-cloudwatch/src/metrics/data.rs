//! GetMetricData (docs/cloudwatch-api.md#getmetricdata): the wire request validated into a
//! [`guardrail_metrics::data::Plan`] (MetricStat queries and metric-math expressions over
//! them), evaluated against the store by `guardrail-metrics`, and the page selected by
//! MaxDatapoints and NextToken framed back (`page.rs`).

use guardrail_api::error::CloudWatchError;
use guardrail_api::generated::cloudwatch::{
    GetMetricDataInput, GetMetricDataOutput, MetricDataQuery,
};
use guardrail_metrics::data::{
    periods_spanned, Cursor, Plan, PlanBuilder, PlanError, Query, Source, StatSource,
    MAX_SPAN_PERIODS,
};
use guardrail_metrics::math::{self, Expression, Series};
use guardrail_metrics::{MetricStore, ParseStatisticError, ScanBy, Statistic, Timestamp};

use super::page;
use super::{metric_id, missing, parse_unit, thousands, time_range, MetricParams, RangeRule};
use crate::{messages, to_value, CloudWatch, Reply};

/// Queries per request.
const MAX_QUERIES: usize = 500;
/// MaxDatapoints when absent.
const DEFAULT_MAX_DATAPOINTS: usize = 100_800;

pub(crate) fn get_metric_data(service: &CloudWatch, input: GetMetricDataInput) -> Reply {
    let request = request(&input)?;
    let series = service
        .monitor
        .with_metrics(|store| evaluate(store, &request))?;
    to_value(&output(&request, &series))
}

fn invalid(msg: String) -> CloudWatchError {
    CloudWatchError::Validation(msg)
}

/// A validated GetMetricData request.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Request {
    plan: Plan,
    start: Timestamp,
    end: Timestamp,
    scan_by: ScanBy,
    max_datapoints: usize,
    resume: Cursor,
    /// Ties a NextToken to the request it was issued for.
    fingerprint: u64,
}

fn stat_source(
    q: &MetricDataQuery,
    p: &str,
    start: Timestamp,
    end: Timestamp,
) -> Result<StatSource, CloudWatchError> {
    let Some(ms) = &q.metric_stat else {
        return Err(missing(&format!("{p}.MetricStat")));
    };
    let m = ms
        .metric
        .as_ref()
        .ok_or_else(|| missing(&format!("{p}.MetricStat.Metric")))?;
    let metric = metric_id(
        m.namespace.as_deref(),
        m.metric_name.as_deref(),
        m.dimensions.as_deref(),
        &MetricParams::prefixed(&format!("{p}.MetricStat.Metric.")),
        invalid,
    )?;
    let period = ms
        .period
        .ok_or_else(|| missing(&format!("{p}.MetricStat.Period")))?;
    let period_s = u32::try_from(period)
        .ok()
        .filter(|v| *v >= 1)
        .ok_or_else(|| {
            invalid(messages::invalid_period(
                &period,
                &format!("{p}.MetricStat.Period"),
            ))
        })?;
    let stat_text = ms
        .stat
        .as_deref()
        .ok_or_else(|| missing(&format!("{p}.MetricStat.Stat")))?;
    let stat = stat_text.parse::<Statistic>().map_err(|e| match e {
        ParseStatisticError::Unsupported(_) => invalid(messages::unsupported_stat(stat_text, p)),
        ParseStatisticError::Invalid(_) => invalid(messages::not_a_valid_statistic(
            stat_text,
            &format!("{p}.MetricStat.Stat"),
        )),
    })?;
    let unit = parse_unit(ms.unit.as_deref(), &format!("{p}.MetricStat.Unit"), invalid)?;
    let periods = periods_spanned(start, end, period_s);
    if periods > MAX_SPAN_PERIODS {
        return Err(invalid(messages::too_many_periods(
            p,
            &thousands(periods),
            period_s,
            &thousands(MAX_SPAN_PERIODS),
        )));
    }
    Ok(StatSource {
        metric,
        period_s,
        stat,
        unit,
    })
}

fn query(
    q: &MetricDataQuery,
    n: usize,
    start: Timestamp,
    end: Timestamp,
) -> Result<Query, CloudWatchError> {
    let p = format!("MetricDataQueries.member.{n}");
    let id = q.id.as_deref().ok_or_else(|| missing(&format!("{p}.Id")))?;
    if !math::is_id(id) {
        return Err(invalid(messages::invalid_query_id(id, &p)));
    }
    let (source, default_label) = match (&q.metric_stat, &q.expression) {
        (Some(_), Some(_)) => return Err(invalid(messages::stat_and_expression(&p))),
        (None, None) => return Err(invalid(messages::stat_or_expression(&p))),
        (Some(_), None) => {
            let s = stat_source(q, &p, start, end)?;
            let label = s.metric.metric_name().to_owned();
            (Source::Stat(s), label)
        }
        (None, Some(text)) => {
            let e = Expression::parse(text)
                .map_err(|e| invalid(messages::unevaluable_expression(text, &p, &e)))?;
            (Source::Expression(e), id.to_owned())
        }
    };
    Ok(Query {
        id: id.to_owned(),
        label: q.label.clone().unwrap_or(default_label),
        return_data: q.return_data.unwrap_or(true),
        source,
    })
}

/// A plan rule violation, named as the request's members.
fn plan_error(e: PlanError, raw: &[MetricDataQuery]) -> CloudWatchError {
    invalid(match e {
        PlanError::NoReference { query, .. } => {
            let text = raw
                .get(query)
                .and_then(|q| q.expression.as_deref())
                .unwrap_or_default();
            messages::expression_without_reference(text, query + 1)
        }
        PlanError::DuplicateId { query, id } => messages::duplicate_query_id(&id, query + 1),
        PlanError::BadReference { query, reference } => {
            messages::unknown_reference(query + 1, &reference)
        }
        PlanError::Cycle { id } => messages::reference_cycle(&id),
    })
}

/// Validates a GetMetricData request: each query in turn, then how they refer to each other.
pub(super) fn request(input: &GetMetricDataInput) -> Result<Request, CloudWatchError> {
    let raw = input
        .metric_data_queries
        .as_deref()
        .filter(|q| !q.is_empty())
        .ok_or_else(|| missing("MetricDataQueries"))?;
    if raw.len() > MAX_QUERIES {
        return Err(invalid(messages::collection_too_large(
            "MetricDataQueries",
            MAX_QUERIES,
        )));
    }
    let (start, end) = time_range(
        input.start_time.as_ref(),
        input.end_time.as_ref(),
        RangeRule::Data,
    )?;
    let mut builder = PlanBuilder::default();
    for (i, q) in raw.iter().enumerate() {
        builder
            .push(query(q, i + 1, start, end)?)
            .map_err(|e| plan_error(e, raw))?;
    }
    let plan = builder.build().map_err(|e| plan_error(e, raw))?;
    let scan_by = match input.scan_by.as_deref() {
        None | Some("TimestampDescending") => ScanBy::TimestampDescending,
        Some("TimestampAscending") => ScanBy::TimestampAscending,
        Some(other) => return Err(invalid(messages::invalid_scan_by(other))),
    };
    let max_datapoints = match input.max_datapoints {
        None => DEFAULT_MAX_DATAPOINTS,
        Some(m) => usize::try_from(m)
            .ok()
            .filter(|m| *m >= 1)
            .ok_or_else(|| invalid(messages::invalid_max_datapoints(&m)))?,
    };
    let returned = || plan.queries().iter().filter(|q| q.return_data);
    let fingerprint = page::fingerprint(returned().map(|q| q.id.as_str()), start, end, scan_by);
    let resume = match input.next_token.as_deref() {
        None => Cursor::default(),
        Some(t) => page::decode_token(t, fingerprint, returned().count())?,
    };
    Ok(Request {
        plan,
        start,
        end,
        scan_by,
        max_datapoints,
        resume,
        fingerprint,
    })
}

/// Every query's series (ascending), indexed like the request's queries.
pub(super) fn evaluate(store: &MetricStore, r: &Request) -> Result<Vec<Series>, CloudWatchError> {
    r.plan
        .evaluate(store, r.start, r.end)
        .map_err(|e| invalid(messages::unanswerable_query(&e)))
}

/// The page of results the request's cursor and MaxDatapoints select.
pub(super) fn output(r: &Request, series: &[Series]) -> GetMetricDataOutput {
    page::output(
        r.plan.page(series, r.resume, r.scan_by, r.max_datapoints),
        r.fingerprint,
    )
}

#[cfg(test)]
#[path = "data_tests.rs"]
mod tests;
