//! GetMetricData's computation, pure: a validated set of queries ([`Plan`]: MetricStat queries
//! and metric-math expressions over them, each expression after what it reads), evaluated
//! against a [`MetricStore`] over a time range, and the page of results that a [`Cursor`] and a
//! point budget select. It lives here, not in the CloudWatch service, so that the alarm
//! evaluator can evaluate a metric-math alarm's queries exactly as GetMetricData does; the
//! service only turns wire requests into [`Query`]s and [`Page`]s into wire answers.
//!
//! [`MetricStore`]: crate::MetricStore

mod eval;
mod page;

use std::collections::HashMap;

use crate::math::Expression;
use crate::{MetricId, Statistic, Unit};

pub use eval::{periods_spanned, DataError, MAX_SPAN_PERIODS};
pub use page::{Cursor, Page, QueryResult};

/// A `MetricStat`: one statistic of one metric per period.
#[derive(Clone, Debug, PartialEq)]
pub struct StatSource {
    pub metric: MetricId,
    pub period_s: u32,
    pub stat: Statistic,
    /// Only data with this unit; `None` merges all units of the metric.
    pub unit: Option<Unit>,
}

/// Where a query's series comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum Source {
    Stat(StatSource),
    /// Metric math over the series of other queries (by id).
    Expression(Expression),
}

/// One query of a request.
#[derive(Clone, Debug, PartialEq)]
pub struct Query {
    /// Unique within the plan; see [`crate::math::is_id`].
    pub id: String,
    pub label: String,
    /// Whether the query's series is part of the answer (or only an input of expressions).
    pub return_data: bool,
    pub source: Source,
}

/// Why queries do not form a plan. `query` is the index of the offending query in the order
/// the queries were pushed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("the expression of query {id} refers to no other query")]
    NoReference { query: usize, id: String },
    #[error("the id {id} is used by more than one query")]
    DuplicateId { query: usize, id: String },
    #[error("query {query} refers to {reference}, which is not the id of another query")]
    BadReference { query: usize, reference: String },
    #[error("the expressions refer to each other in a cycle through {id}")]
    Cycle { id: String },
}

/// Collects queries one at a time, checking each as it comes (so the first offending query
/// is the one reported), then orders them.
#[derive(Debug, Default)]
pub struct PlanBuilder {
    queries: Vec<Query>,
}

impl PlanBuilder {
    /// Adds a query: an expression must read at least one query, and ids must be unique.
    pub fn push(&mut self, q: Query) -> Result<(), PlanError> {
        let query = self.queries.len();
        if let Source::Expression(e) = &q.source {
            if e.refs().is_empty() {
                return Err(PlanError::NoReference { query, id: q.id });
            }
        }
        if self.queries.iter().any(|seen| seen.id == q.id) {
            return Err(PlanError::DuplicateId { query, id: q.id });
        }
        self.queries.push(q);
        Ok(())
    }

    /// Orders the queries so that each expression comes after what it reads; refuses
    /// references to unknown ids (or to the expression itself) and cycles.
    pub fn build(self) -> Result<Plan, PlanError> {
        let order = evaluation_order(&self.queries)?;
        Ok(Plan {
            queries: self.queries,
            order,
        })
    }
}

/// A validated set of queries, ready to evaluate.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    queries: Vec<Query>,
    /// Evaluation order: every expression after the queries it reads.
    order: Vec<usize>,
}

impl Plan {
    /// The queries, in the order they were pushed.
    pub fn queries(&self) -> &[Query] {
        &self.queries
    }
}

fn evaluation_order(queries: &[Query]) -> Result<Vec<usize>, PlanError> {
    let index: HashMap<&str, usize> = queries
        .iter()
        .enumerate()
        .map(|(i, q)| (q.id.as_str(), i))
        .collect();
    let mut deps: Vec<Vec<usize>> = Vec::with_capacity(queries.len());
    for (i, q) in queries.iter().enumerate() {
        let mut d = Vec::new();
        if let Source::Expression(e) = &q.source {
            for r in e.refs() {
                match index.get(r) {
                    Some(j) if *j != i => d.push(*j),
                    _ => {
                        return Err(PlanError::BadReference {
                            query: i,
                            reference: r.to_owned(),
                        })
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
                        return Err(PlanError::Cycle {
                            id: queries[dep].id.clone(),
                        })
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

#[cfg(test)]
mod tests;
