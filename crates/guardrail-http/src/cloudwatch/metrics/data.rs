//! GetMetricData (cloudwatch-api.md §2.8): MetricStat queries against the store, metric-math
//! expressions over them (see `expr.rs`), and MaxDatapoints paging with NextToken.
//! Paging is in `page.rs`.

use std::collections::HashMap;

use guardrail_api::error::CloudWatchError;
use guardrail_api::generated::cloudwatch::{
    GetMetricDataInput, GetMetricDataOutput, MetricDataQuery,
};
use guardrail_metrics::{
    MetricId, MetricStatQuery, MetricStore, ParseStatisticError, ScanBy, Statistic, Timestamp,
    Unit, MAX_METRIC_STAT_PERIODS,
};

use super::expr::{self, Expr, Series};
use super::page::{self, Cursor, Item};
use super::{metric_id, missing, parse_unit, thousands, time_range, MetricParams};
use crate::cloudwatch::{to_value, Reply};
use crate::AppState;

/// Queries per request.
const MAX_QUERIES: usize = 500;
/// MaxDatapoints when absent.
const DEFAULT_MAX_DATAPOINTS: usize = 100_800;
/// A MetricStat is read in windows of MAX_METRIC_STAT_PERIODS periods; at most this many.
const MAX_WINDOWS: u64 = 1_000;

pub(crate) fn get_metric_data(state: &AppState, input: GetMetricDataInput) -> Reply {
    let plan = plan(&input)?;
    let series = state.monitor.with_metrics(|store| evaluate(store, &plan))?;
    to_value(&page(&plan, &series))
}

fn invalid(msg: String) -> CloudWatchError {
    CloudWatchError::Validation(msg)
}

#[derive(Clone, Debug, PartialEq)]
struct StatQuery {
    metric: MetricId,
    period_s: u32,
    stat: Statistic,
    unit: Option<Unit>,
}

#[derive(Clone, Debug, PartialEq)]
enum Source {
    Stat(StatQuery),
    Expr(Expr),
}

#[derive(Clone, Debug, PartialEq)]
struct Query {
    id: String,
    label: String,
    return_data: bool,
    source: Source,
}

/// A validated GetMetricData request.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Plan {
    queries: Vec<Query>,
    /// Evaluation order: every expression after the queries it reads.
    order: Vec<usize>,
    start: Timestamp,
    end: Timestamp,
    scan_by: ScanBy,
    max_datapoints: usize,
    resume: Cursor,
    /// Ties a NextToken to the request it was issued for.
    fingerprint: u64,
}

fn is_query_id(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Floor `ms` to whole seconds that are a multiple of `period_s`, in seconds.
fn first_period_s(ms: i64, period_s: i64) -> i64 {
    ms.div_euclid(1000).div_euclid(period_s) * period_s
}

fn periods_spanned(start: Timestamp, end: Timestamp, period_s: u32) -> u64 {
    let p = i64::from(period_s);
    let first = first_period_s(start.millis(), p);
    let end_s = -(-end.millis()).div_euclid(1000);
    u64::try_from((end_s - first + p - 1).div_euclid(p)).unwrap_or(0)
}

fn stat_query(
    q: &MetricDataQuery,
    p: &str,
    start: Timestamp,
    end: Timestamp,
) -> Result<StatQuery, CloudWatchError> {
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
            invalid(format!(
                "The value {period} for parameter {p}.MetricStat.Period is invalid: it must be \
                 a whole number of seconds, at least 1."
            ))
        })?;
    let stat_text = ms
        .stat
        .as_deref()
        .ok_or_else(|| missing(&format!("{p}.MetricStat.Stat")))?;
    let stat = stat_text.parse::<Statistic>().map_err(|e| match e {
        ParseStatisticError::Unsupported(_) => invalid(format!(
            "The value {stat_text} for parameter {p}.MetricStat.Stat is not supported: \
             Guardrail computes SampleCount, Average, Sum, Minimum, Maximum and percentiles \
             (pNN.NN)."
        )),
        ParseStatisticError::Invalid(_) => invalid(format!(
            "The value {stat_text} for parameter {p}.MetricStat.Stat is not a valid statistic."
        )),
    })?;
    let unit = parse_unit(ms.unit.as_deref(), &format!("{p}.MetricStat.Unit"), invalid)?;
    let windows = periods_spanned(start, end, period_s).div_ceil(MAX_METRIC_STAT_PERIODS);
    if windows > MAX_WINDOWS {
        return Err(invalid(format!(
            "{p}.MetricStat spans {} periods of {period_s} s between StartTime and EndTime; at \
             most {} are supported. Increase the Period or shorten the time range.",
            thousands(periods_spanned(start, end, period_s)),
            thousands(MAX_WINDOWS * MAX_METRIC_STAT_PERIODS)
        )));
    }
    Ok(StatQuery {
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
    if !is_query_id(id) {
        return Err(invalid(format!(
            "The value {id} for parameter {p}.Id is invalid: an Id must start with a lowercase \
             letter and contain only letters, digits and underscores."
        )));
    }
    let (source, default_label) = match (&q.metric_stat, &q.expression) {
        (Some(_), Some(_)) => {
            return Err(invalid(format!(
                "The parameters {p}.MetricStat and {p}.Expression are mutually exclusive and \
                 you have specified both."
            )))
        }
        (None, None) => {
            return Err(invalid(format!(
                "Exactly one of the parameters {p}.MetricStat and {p}.Expression must be \
                 specified."
            )))
        }
        (Some(_), None) => {
            let s = stat_query(q, &p, start, end)?;
            let label = s.metric.metric_name().to_owned();
            (Source::Stat(s), label)
        }
        (None, Some(text)) => {
            let e = expr::parse(text).map_err(|e| {
                invalid(format!(
                    "The expression {text:?} in {p}.Expression cannot be evaluated: {}.",
                    e.0
                ))
            })?;
            if e.refs().is_empty() {
                return Err(invalid(format!(
                    "The expression {text:?} in {p}.Expression must refer to at least one other \
                     query by its Id."
                )));
            }
            (Source::Expr(e), id.to_owned())
        }
    };
    Ok(Query {
        id: id.to_owned(),
        label: q.label.clone().unwrap_or(default_label),
        return_data: q.return_data.unwrap_or(true),
        source,
    })
}

/// Orders the queries so that each expression comes after what it reads; refuses unknown
/// references and cycles.
fn evaluation_order(queries: &[Query]) -> Result<Vec<usize>, CloudWatchError> {
    let index: HashMap<&str, usize> = queries
        .iter()
        .enumerate()
        .map(|(i, q)| (q.id.as_str(), i))
        .collect();
    let mut deps: Vec<Vec<usize>> = Vec::with_capacity(queries.len());
    for (i, q) in queries.iter().enumerate() {
        let mut d = Vec::new();
        if let Source::Expr(e) = &q.source {
            for r in e.refs() {
                match index.get(r) {
                    Some(j) if *j != i => d.push(*j),
                    _ => {
                        return Err(invalid(format!(
                            "The expression in MetricDataQueries.member.{}.Expression refers to \
                             {r}, which is not the Id of another query in this request.",
                            i + 1
                        )))
                    }
                }
            }
        }
        deps.push(d);
    }
    // Iterative depth-first search: 0 = new, 1 = on the stack, 2 = done.
    let mut state = vec![0u8; queries.len()];
    let mut order = Vec::with_capacity(queries.len());
    for root in 0..queries.len() {
        if state[root] != 0 {
            continue;
        }
        let mut stack: Vec<(usize, usize)> = vec![(root, 0)];
        state[root] = 1;
        while let Some((node, next)) = stack.last_mut() {
            let node = *node;
            if let Some(&dep) = deps[node].get(*next) {
                *next += 1;
                match state[dep] {
                    0 => {
                        state[dep] = 1;
                        stack.push((dep, 0));
                    }
                    1 => {
                        return Err(invalid(format!(
                            "The expressions of MetricDataQueries refer to each other in a \
                             cycle through {}.",
                            queries[dep].id
                        )))
                    }
                    _ => {}
                }
            } else {
                state[node] = 2;
                order.push(node);
                stack.pop();
            }
        }
    }
    Ok(order)
}

/// Validates a GetMetricData request into a plan.
pub(super) fn plan(input: &GetMetricDataInput) -> Result<Plan, CloudWatchError> {
    let raw = input
        .metric_data_queries
        .as_deref()
        .filter(|q| !q.is_empty())
        .ok_or_else(|| missing("MetricDataQueries"))?;
    if raw.len() > MAX_QUERIES {
        return Err(invalid(format!(
            "The collection MetricDataQueries must not have a size greater than {MAX_QUERIES}."
        )));
    }
    let (start, end) = time_range(input.start_time.as_ref(), input.end_time.as_ref(), invalid)?;
    let mut queries: Vec<Query> = Vec::with_capacity(raw.len());
    for (i, q) in raw.iter().enumerate() {
        let q = query(q, i + 1, start, end)?;
        if queries.iter().any(|seen| seen.id == q.id) {
            return Err(invalid(format!(
                "The value {} for parameter MetricDataQueries.member.{}.Id is invalid: Ids must \
                 be unique within a request.",
                q.id,
                i + 1
            )));
        }
        queries.push(q);
    }
    let order = evaluation_order(&queries)?;
    let scan_by = match input.scan_by.as_deref() {
        None | Some("TimestampDescending") => ScanBy::TimestampDescending,
        Some("TimestampAscending") => ScanBy::TimestampAscending,
        Some(other) => {
            return Err(invalid(format!(
                "The value {other} for parameter ScanBy is invalid: valid values are \
                 TimestampDescending and TimestampAscending."
            )))
        }
    };
    let max_datapoints = match input.max_datapoints {
        None => DEFAULT_MAX_DATAPOINTS,
        Some(m) => usize::try_from(m).ok().filter(|m| *m >= 1).ok_or_else(|| {
            invalid(format!(
                "The value {m} for parameter MaxDatapoints is invalid: it must be at least 1."
            ))
        })?,
    };
    let fingerprint = page::fingerprint(
        queries
            .iter()
            .filter(|q| q.return_data)
            .map(|q| q.id.as_str()),
        start,
        end,
        scan_by,
    );
    let returned = queries.iter().filter(|q| q.return_data).count();
    let resume = match input.next_token.as_deref() {
        None => Cursor::default(),
        Some(t) => page::decode_token(t, fingerprint, returned)?,
    };
    Ok(Plan {
        queries,
        order,
        start,
        end,
        scan_by,
        max_datapoints,
        resume,
        fingerprint,
    })
}

/// One MetricStat over `[start, end)`, ascending, read in windows the store accepts.
fn stat_series(
    store: &MetricStore,
    q: &StatQuery,
    start: Timestamp,
    end: Timestamp,
) -> Result<Series, CloudWatchError> {
    let p = i64::from(q.period_s);
    let window_ms = i64::try_from(MAX_METRIC_STAT_PERIODS)
        .unwrap_or(i64::MAX)
        .saturating_mul(p)
        .saturating_mul(1000);
    let mut out = Series::new();
    let mut from = start;
    let mut window_start = first_period_s(start.millis(), p).saturating_mul(1000);
    while from < end {
        let to = Timestamp::from_millis(window_start.saturating_add(window_ms).min(end.millis()));
        let r = store
            .metric_stat(&MetricStatQuery {
                metric: q.metric.clone(),
                period_s: q.period_s,
                stat: q.stat,
                unit: q.unit,
                start: from,
                end: to,
                scan_by: ScanBy::TimestampAscending,
            })
            .map_err(|e| invalid(format!("The query cannot be answered: {e}.")))?;
        out.extend(
            r.timestamps
                .iter()
                .map(|t| t.millis())
                .zip(r.values.iter().copied()),
        );
        window_start = to.millis();
        from = to;
    }
    Ok(out)
}

static EMPTY: Series = Vec::new();

/// Every query's series (ascending), indexed like `plan.queries`.
pub(super) fn evaluate(store: &MetricStore, plan: &Plan) -> Result<Vec<Series>, CloudWatchError> {
    let index: HashMap<&str, usize> = plan
        .queries
        .iter()
        .enumerate()
        .map(|(i, q)| (q.id.as_str(), i))
        .collect();
    let mut results: Vec<Option<Series>> = vec![None; plan.queries.len()];
    for &i in &plan.order {
        let series = match &plan.queries[i].source {
            Source::Stat(s) => stat_series(store, s, plan.start, plan.end)?,
            Source::Expr(e) => {
                let lookup = |id: &str| -> &Series {
                    index
                        .get(id)
                        .and_then(|j| results[*j].as_ref())
                        .unwrap_or(&EMPTY)
                };
                match e.eval(&lookup) {
                    expr::Value::Series(s) => s,
                    // Unreachable: expressions refer to at least one series.
                    expr::Value::Scalar(_) => Series::new(),
                }
            }
        };
        results[i] = Some(series);
    }
    Ok(results.into_iter().map(Option::unwrap_or_default).collect())
}

/// The page of results the plan's cursor and MaxDatapoints select.
pub(super) fn page(plan: &Plan, series: &[Series]) -> GetMetricDataOutput {
    let items: Vec<Item<'_>> = plan
        .queries
        .iter()
        .zip(series)
        .filter(|(q, _)| q.return_data)
        .map(|(q, s)| Item {
            id: &q.id,
            label: &q.label,
            points: s,
        })
        .collect();
    page::page(
        &items,
        plan.resume,
        plan.scan_by,
        plan.max_datapoints,
        plan.fingerprint,
    )
}

#[cfg(test)]
#[path = "data_tests.rs"]
mod tests;
