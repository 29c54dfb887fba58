//! The CloudWatch evaluation algorithm of docs/cloudwatch-api.md#alarm-evaluation on one window of periods.
//!
//! ```text
//! real = datapoints present in the range (oldest → newest)
//! if len(real) >= N:        evaluate the N most recent real points
//! elif T == breaching:      all real points + (N - len(real)) breaching fillers
//! elif T == notBreaching:   all real points + (N - len(real)) non-breaching fillers
//! else:  # missing | ignore
//!     if len(real) == 0:                 missing → INSUFFICIENT_DATA ; ignore → keep state
//!     elif breaching(real) >= M:         ALARM
//!     elif any non-breaching in real:    OK
//!     elif T == missing and age(oldest breaching real point) >= M:   ALARM
//!     else:                              missing → INSUFFICIENT_DATA ; ignore → keep state
//! evaluate(points) = ALARM if breaching(points) >= M else OK;  the newest period has age 1
//! ```

use super::{PeriodValue, StateValue, TreatMissingData};
use crate::Timestamp;

/// One period of the evaluation window.
#[derive(Copy, Clone, Debug, PartialEq)]
pub(crate) struct Slot {
    pub(crate) timestamp: Timestamp,
    pub(crate) point: Option<PeriodValue>,
}

/// A period that took part in the decision.
#[derive(Copy, Clone, Debug, PartialEq)]
pub(crate) struct Evaluated {
    pub(crate) timestamp: Timestamp,
    /// `None`: a missing period (a filler, or unknown).
    pub(crate) point: Option<PeriodValue>,
    /// For real points: whether it breaches.
    pub(crate) breaching: bool,
}

/// Which rule decided — the reason text depends on it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Rule {
    /// N or more real points: the N most recent were evaluated.
    Full,
    /// Fewer than N real points, the rest filled per `breaching` / `notBreaching`.
    Filled { fillers: usize, breaching: bool },
    /// `missing`/`ignore` with too few real points, decided on those alone.
    Partial,
    /// `missing`: the oldest breaching point is at least M periods old ("premature alarm").
    Premature,
    /// Nothing to decide on: `missing` → INSUFFICIENT_DATA, `ignore` → keep the state.
    Unknown { unknown: usize },
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Decision {
    /// `None`: keep the current state.
    pub(crate) state: Option<StateValue>,
    pub(crate) rule: Rule,
    /// Newest first.
    pub(crate) evaluated: Vec<Evaluated>,
}

pub(crate) fn decide(
    slots: &[Slot],
    n: usize,
    m: usize,
    treat: TreatMissingData,
    breaches: impl Fn(f64) -> bool,
) -> Decision {
    let window = slots.len();
    // (index in window, point, breaching), oldest → newest.
    let real: Vec<(usize, PeriodValue, bool)> = slots
        .iter()
        .enumerate()
        .filter_map(|(i, s)| s.point.map(|p| (i, p, breaches(p.value))))
        .collect();
    let as_evaluated = |r: &(usize, PeriodValue, bool)| Evaluated {
        timestamp: slots[r.0].timestamp,
        point: Some(r.1),
        breaching: r.2,
    };
    // The newest missing periods, to fill the evaluated set up to N.
    let newest_missing = |count: usize| -> Vec<Evaluated> {
        slots
            .iter()
            .rev()
            .filter(|s| s.point.is_none())
            .take(count)
            .map(|s| Evaluated {
                timestamp: s.timestamp,
                point: None,
                breaching: false,
            })
            .collect()
    };
    let with_missing = |fill: usize| -> Vec<Evaluated> {
        let mut e: Vec<Evaluated> = real.iter().map(as_evaluated).collect();
        e.extend(newest_missing(fill));
        e.sort_by_key(|e| std::cmp::Reverse(e.timestamp));
        e
    };
    let verdict = |breaching: usize| {
        if breaching >= m {
            StateValue::Alarm
        } else {
            StateValue::Ok
        }
    };
    let real_breaching = real.iter().filter(|r| r.2).count();

    if real.len() >= n {
        let evaluated: Vec<Evaluated> = real[real.len() - n..]
            .iter()
            .rev()
            .map(as_evaluated)
            .collect();
        let b = evaluated.iter().filter(|e| e.breaching).count();
        return Decision {
            state: Some(verdict(b)),
            rule: Rule::Full,
            evaluated,
        };
    }
    let fillers = n - real.len();
    match treat {
        TreatMissingData::Breaching | TreatMissingData::NotBreaching => {
            let breaching = treat == TreatMissingData::Breaching;
            let b = real_breaching + if breaching { fillers } else { 0 };
            Decision {
                state: Some(verdict(b)),
                rule: Rule::Filled { fillers, breaching },
                evaluated: with_missing(fillers),
            }
        }
        TreatMissingData::Missing | TreatMissingData::Ignore => {
            let undecided = if treat == TreatMissingData::Missing {
                Some(StateValue::InsufficientData)
            } else {
                None
            };
            let (state, rule) = if real.is_empty() {
                (undecided, Rule::Unknown { unknown: n })
            } else if real_breaching >= m {
                (Some(StateValue::Alarm), Rule::Partial)
            } else if real.iter().any(|r| !r.2) {
                (Some(StateValue::Ok), Rule::Partial)
            } else if treat == TreatMissingData::Missing
                && real.first().is_some_and(|r| window - r.0 >= m)
            {
                // Every real point breaches here, so the oldest real point is the oldest breaching one.
                (Some(StateValue::Alarm), Rule::Premature)
            } else {
                (undecided, Rule::Unknown { unknown: fillers })
            };
            Decision {
                state,
                rule,
                evaluated: with_missing(fillers),
            }
        }
    }
}
