//! StateReason texts and StateReasonData JSON, in CloudWatch's formats.
//!
//! Texts (Guardrail's catalogue, modelled on observed AWS texts):
//! * M-of-N form (DatapointsToAlarm given): `Threshold Crossed: 2 out of the last 3 datapoints
//!   [5.0 (23/11/26 10:00:00), 3.0 (23/11/26 09:59:00)] were greater than the threshold (1.0)
//!   (minimum 2 datapoints for OK -> ALARM transition).` — the listed points are those that
//!   agree with the new state, newest first; the OK direction says `was not greater than …`
//!   and `(minimum N-M+1 datapoints for ALARM -> OK transition)`.
//! * Plain form (DatapointsToAlarm omitted): `Threshold Crossed: 1 datapoint [5.0 (…)] was
//!   greater than the threshold (1.0).`
//! * Missing data filled: `Threshold Crossed: no datapoints were received for 3 periods and 3
//!   missing datapoints were treated as [Breaching].`, or with real points that agree with the
//!   state `… [list] were … the threshold (1.0) and 2 missing datapoints were treated as
//!   [NonBreaching] (minimum …)`, or when none agree `1 datapoint was received for 3 periods
//!   and 2 missing datapoints were treated as [Breaching].`
//! * INSUFFICIENT_DATA: `Insufficient Data: 3 datapoints were unknown.`

use super::decide::{Decision, Evaluated, Rule, Slot};
use super::{AlarmDefinition, StateValue};
use crate::fmt::{iso_millis, java_double, json_array, reason_date, JsonObject};
use crate::Timestamp;

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

fn was_were(n: usize) -> &'static str {
    if n == 1 {
        "was"
    } else {
        "were"
    }
}

fn point_list(points: &[&Evaluated]) -> String {
    let items: Vec<String> = points
        .iter()
        .filter_map(|e| {
            e.point
                .map(|p| format!("{} ({})", java_double(p.value), reason_date(e.timestamp)))
        })
        .collect();
    format!("[{}]", items.join(", "))
}

/// The StateReason for a transition to `state` (`Alarm`, `Ok` or `InsufficientData`).
pub(crate) fn text(def: &AlarmDefinition, d: &Decision, state: StateValue) -> String {
    let n = def.evaluation_periods as usize;
    let m = def.datapoints_to_alarm() as usize;
    if state == StateValue::InsufficientData {
        let unknown = match d.rule {
            Rule::Unknown { unknown } => unknown,
            _ => n,
        };
        return format!(
            "Insufficient Data: {} {} unknown.",
            plural(unknown, "datapoint"),
            was_were(unknown)
        );
    }
    let alarm = state == StateValue::Alarm;
    let real: Vec<&Evaluated> = d.evaluated.iter().filter(|e| e.point.is_some()).collect();
    let agreeing: Vec<&Evaluated> = real
        .iter()
        .copied()
        .filter(|e| e.breaching == alarm)
        .collect();
    let c = agreeing.len();
    let comparison = format!(
        "{} {}{} the threshold ({})",
        was_were(c),
        if alarm { "" } else { "not " },
        def.comparison.phrase(),
        java_double(def.threshold)
    );
    let minimum = if alarm {
        format!(
            "(minimum {} for OK -> ALARM transition)",
            plural(m, "datapoint")
        )
    } else {
        format!(
            "(minimum {} for ALARM -> OK transition)",
            plural(n - m + 1, "datapoint")
        )
    };
    if let Rule::Filled { fillers, breaching } = d.rule {
        let treated = format!(
            "{} missing {} {} treated as [{}]",
            fillers,
            if fillers == 1 {
                "datapoint"
            } else {
                "datapoints"
            },
            was_were(fillers),
            if breaching {
                "Breaching"
            } else {
                "NonBreaching"
            }
        );
        return if real.is_empty() {
            format!(
                "Threshold Crossed: no datapoints were received for {} and {treated}.",
                plural(n, "period")
            )
        } else if c == 0 {
            let k = real.len();
            format!(
                "Threshold Crossed: {} {} received for {} and {treated}.",
                plural(k, "datapoint"),
                was_were(k),
                plural(n, "period")
            )
        } else {
            format!("Threshold Crossed: {c} out of the last {n} datapoints {} {comparison} and {treated} {minimum}.", point_list(&agreeing))
        };
    }
    if def.datapoints_to_alarm.is_some() {
        format!(
            "Threshold Crossed: {c} out of the last {} datapoints {} {comparison} {minimum}.",
            real.len(),
            point_list(&agreeing)
        )
    } else {
        format!(
            "Threshold Crossed: {} {} {comparison}.",
            plural(c, "datapoint"),
            point_list(&agreeing)
        )
    }
}

/// StateReasonData: `{"version":"1.0","queryDate":…,"startDate":…,"unit":…,"statistic":…,
/// "period":…,"recentDatapoints":[…],"threshold":…,"evaluatedDatapoints":[…]}`.
/// `recentDatapoints` are all datapoints of the fetched range, oldest first, and `startDate` is
/// the oldest one's period (both omitted/empty without data); `evaluatedDatapoints` are the N
/// periods that were evaluated, newest first, missing ones with their timestamp only.
pub(crate) fn data(def: &AlarmDefinition, d: &Decision, slots: &[Slot], now: Timestamp) -> String {
    let recent: Vec<&Slot> = slots.iter().filter(|s| s.point.is_some()).collect();
    let mut json = JsonObject::default()
        .str("version", "1.0")
        .str("queryDate", &iso_millis(now));
    if let Some(first) = recent.first() {
        json = json.str("startDate", &iso_millis(first.timestamp));
    }
    if let Some(unit) = def.unit {
        json = json.str("unit", unit.as_str());
    }
    let evaluated = d.evaluated.iter().map(|e| {
        let o = JsonObject::default().str("timestamp", &iso_millis(e.timestamp));
        match e.point {
            Some(p) => o.num("sampleCount", p.sample_count).num("value", p.value),
            None => o,
        }
        .finish()
    });
    json.str("statistic", &def.statistic.to_string())
        .raw("period", &def.period_s.to_string())
        .raw(
            "recentDatapoints",
            &json_array(
                recent
                    .iter()
                    .filter_map(|s| s.point.map(|p| java_double(p.value))),
            ),
        )
        .num("threshold", def.threshold)
        .raw("evaluatedDatapoints", &json_array(evaluated))
        .finish()
}
