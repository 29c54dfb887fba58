//! Table tests of the evaluation rules (docs/cloudwatch-api.md#alarm-evaluation), reason texts and history.

use super::*;
use crate::{MetricId, Statistic, Unit};

const MIN: i64 = 60_000;
/// 2026-11-23T10:00:00Z
const T0: i64 = 1_795_428_000_000;

fn metric() -> MetricId {
    MetricId::new(
        "AWS/SageMaker",
        "Invocation5XXErrors",
        [("EndpointName", "ep"), ("VariantName", "AllTraffic")],
    )
    .unwrap()
}

fn def(n: u32, m: Option<u32>, treat: TreatMissingData) -> AlarmDefinition {
    let mut d = AlarmDefinition::new(
        "ep-5xx",
        metric(),
        Statistic::Sum,
        60,
        n,
        1.0,
        ComparisonOperator::GreaterThanThreshold,
    );
    d.datapoints_to_alarm = m;
    d.treat_missing_data = treat;
    d
}

fn pv(ts: i64, value: f64, sample_count: f64) -> PeriodValue {
    PeriodValue {
        timestamp: Timestamp::from_millis(ts),
        value,
        sample_count,
    }
}

/// `pattern` oldest → newest over the R = N + 2 periods that end at T0 (`0` ok, `X` breaching,
/// `-` missing); evaluation happens 5 s into the next period.
fn points(pattern: &str) -> (Vec<PeriodValue>, Timestamp) {
    let cells: Vec<&str> = pattern.split_whitespace().collect();
    let r = cells.len() as i64;
    let pts = cells
        .iter()
        .enumerate()
        .filter_map(|(i, c)| {
            let ts = T0 - (r - i as i64) * MIN;
            match *c {
                "0" => Some(pv(ts, 0.0, 10.0)),
                "X" => Some(pv(ts, 5.0, 10.0)),
                _ => None,
            }
        })
        .collect();
    (pts, Timestamp::from_millis(T0 + 5_000))
}

fn outcome(d: &AlarmDefinition, pattern: &str, current: StateValue) -> Outcome {
    let (pts, now) = points(pattern);
    let mut state = AlarmState::initial(Timestamp::from_millis(T0 - 3_600_000));
    state.value = current;
    evaluate(d, &state, pts.as_slice(), now).outcome
}

#[derive(Copy, Clone, Debug, PartialEq)]
enum E {
    Ok,
    Alarm,
    Insufficient,
    Keep,
}

fn expect(e: E) -> Outcome {
    match e {
        E::Ok => Outcome::Computed(StateValue::Ok),
        E::Alarm => Outcome::Computed(StateValue::Alarm),
        E::Insufficient => Outcome::Computed(StateValue::InsufficientData),
        E::Keep => Outcome::KeepState,
    }
}

/// Columns: missing / ignore / breaching / notBreaching, as in the reference table.
fn check_row(n: u32, m: Option<u32>, pattern: &str, want: [E; 4]) {
    let treats = [
        TreatMissingData::Missing,
        TreatMissingData::Ignore,
        TreatMissingData::Breaching,
        TreatMissingData::NotBreaching,
    ];
    for (treat, want) in treats.into_iter().zip(want) {
        // From two different current states, so "keep" and "computed = current" are told apart.
        for current in [StateValue::Ok, StateValue::Alarm] {
            assert_eq!(
                outcome(&def(n, m, treat), pattern, current),
                expect(want),
                "N={n} M={m:?} {pattern} {treat}"
            );
        }
    }
}

macro_rules! vectors {
    ($($name:ident: $n:expr, $m:expr, $pattern:literal => [$a:ident, $b:ident, $c:ident, $d:ident];)*) => {
        $(
            #[test]
            fn $name() {
                check_row($n, $m, $pattern, [E::$a, E::$b, E::$c, E::$d]);
            }
        )*
    };
}

vectors! {
    // N = M = 3 (reference docs/cloudwatch-api.md#alarm-evaluation, left table).
    vector_n3_m3_ok_gap_x_gap_x: 3, None, "0 - X - X" => [Ok, Ok, Ok, Ok];
    vector_n3_m3_ok_then_all_missing: 3, None, "0 - - - -" => [Ok, Ok, Ok, Ok];
    vector_n3_m3_all_missing: 3, None, "- - - - -" => [Insufficient, Keep, Alarm, Ok];
    vector_n3_m3_ok_x_x_gap_x: 3, None, "0 X X - X" => [Alarm, Alarm, Alarm, Alarm];
    vector_n3_m3_only_newest_breaching: 3, None, "- - - - X" => [Insufficient, Keep, Alarm, Ok];
    vector_n3_m3_only_oldest_breaching_premature_alarm: 3, None, "X - - - -" => [Alarm, Keep, Alarm, Ok];
    // N = 3, M = 2 (reference docs/cloudwatch-api.md#alarm-evaluation, right table).
    vector_n3_m2_ok_gap_x_gap_x: 3, Some(2), "0 - X - X" => [Alarm, Alarm, Alarm, Alarm];
    vector_n3_m2_ok_ok_x_ok_x: 3, Some(2), "0 0 X 0 X" => [Alarm, Alarm, Alarm, Alarm];
    vector_n3_m2_ok_gap_x_gap_gap: 3, Some(2), "0 - X - -" => [Ok, Ok, Alarm, Ok];
    vector_n3_m2_only_newest_ok: 3, Some(2), "- - - - 0" => [Ok, Ok, Alarm, Ok];
    vector_n3_m2_only_newest_breaching: 3, Some(2), "- - - - X" => [Insufficient, Keep, Alarm, Ok];
    // Further combinations the rules describe.
    rule_n3_m2_premature_alarm_at_age_m: 3, Some(2), "- - - X -" => [Alarm, Keep, Alarm, Ok];
    rule_n3_m2_two_recent_breaching_points_alarm_without_fill: 3, Some(2), "- - - X X" => [Alarm, Alarm, Alarm, Alarm];
    rule_n3_m3_two_breaching_too_few_and_too_recent: 3, None, "- - - X X" => [Insufficient, Keep, Alarm, Ok];
    rule_n3_m3_two_breaching_oldest_age_3: 3, None, "- - X X -" => [Alarm, Keep, Alarm, Ok];
    rule_n3_m1_one_breaching_is_enough: 3, Some(1), "- - - - X" => [Alarm, Alarm, Alarm, Alarm];
    rule_n3_m3_n_real_points_ignore_missing_data: 3, None, "X - X - X" => [Alarm, Alarm, Alarm, Alarm];
    rule_n3_m3_uses_only_the_n_most_recent_real_points: 3, None, "X 0 X X X" => [Alarm, Alarm, Alarm, Alarm];
    rule_n3_m3_old_ok_point_outside_the_newest_n: 3, None, "0 X X X -" => [Alarm, Alarm, Alarm, Alarm];
    rule_n1_lookback_finds_a_point_two_periods_back: 1, None, "X - -" => [Alarm, Alarm, Alarm, Alarm];
    rule_n1_all_missing: 1, None, "- - -" => [Insufficient, Keep, Alarm, Ok];
    rule_n1_newest_ok: 1, None, "- - 0" => [Ok, Ok, Ok, Ok];
    rule_n2_m1_mixed_real_points: 2, Some(1), "- 0 - X" => [Alarm, Alarm, Alarm, Alarm];
    rule_n4_m2_only_breaching_fillers_reach_m: 4, Some(2), "- - - 0 - X" => [Ok, Ok, Alarm, Ok];
    rule_n4_m3_one_ok_among_few: 4, Some(3), "- - X 0 - X" => [Ok, Ok, Alarm, Ok];
}

#[test]
fn comparison_operators_at_the_threshold_boundary() {
    use ComparisonOperator::*;
    let cases = [
        (GreaterThanThreshold, [false, false, true]),
        (GreaterThanOrEqualToThreshold, [false, true, true]),
        (LessThanThreshold, [true, false, false]),
        (LessThanOrEqualToThreshold, [true, true, false]),
    ];
    for (op, want) in cases {
        for (value, breach) in [0.999_999, 1.0, 1.000_001].into_iter().zip(want) {
            let mut d = def(1, None, TreatMissingData::Missing);
            d.comparison = op;
            let pts = [pv(T0 - MIN, value, 1.0)];
            let got = evaluate(
                &d,
                &AlarmState::initial(Timestamp::from_millis(0)),
                &pts[..],
                Timestamp::from_millis(T0),
            )
            .outcome;
            let want = if breach {
                StateValue::Alarm
            } else {
                StateValue::Ok
            };
            assert_eq!(got, Outcome::Computed(want), "{op} {value}");
        }
    }
}

#[test]
fn anomaly_band_operators_are_refused_and_not_evaluated() {
    let mut d = def(1, None, TreatMissingData::Breaching);
    d.comparison = ComparisonOperator::LessThanLowerOrGreaterThanUpperThreshold;
    assert_eq!(
        d.validate(),
        Err(AlarmError::UnsupportedOperator(d.comparison))
    );
    let e = evaluate(
        &d,
        &AlarmState::initial(Timestamp::from_millis(0)),
        &[][..],
        Timestamp::from_millis(T0),
    );
    assert_eq!(
        e,
        Evaluation {
            outcome: Outcome::NotEvaluated,
            new_state: None,
            history_item: None
        }
    );
}

#[test]
fn validation_follows_the_reference_limits() {
    let mut d = def(3, Some(4), TreatMissingData::Missing);
    assert_eq!(
        d.validate(),
        Err(AlarmError::InvalidDatapointsToAlarm { m: 4, n: 3 })
    );
    d.datapoints_to_alarm = Some(0);
    assert!(d.validate().is_err());
    d.datapoints_to_alarm = None;
    d.period_s = 0;
    assert_eq!(d.validate(), Err(AlarmError::InvalidPeriod));
    d.period_s = 60;
    d.evaluation_periods = 1441; // 86 460 s > 1 day
    assert_eq!(
        d.validate(),
        Err(AlarmError::RangeTooLong {
            range_s: 86_460,
            max_s: 86_400
        })
    );
    d.period_s = 3600;
    d.evaluation_periods = 168; // 7 days exactly
    assert_eq!(d.validate(), Ok(()));
    d.period_s = 1;
    d.evaluation_periods = 5;
    d.threshold = f64::NAN;
    assert_eq!(d.validate(), Err(AlarmError::InvalidThreshold));
    assert_eq!("notBreaching".parse(), Ok(TreatMissingData::NotBreaching));
    assert!("sometimes".parse::<TreatMissingData>().is_err());
}

#[test]
fn only_complete_periods_count_and_the_period_in_progress_is_ignored() {
    let d = def(1, None, TreatMissingData::Missing);
    // A breaching point in the current (incomplete) period [T0, T0+60s).
    let pts = [pv(T0, 5.0, 1.0), pv(T0 - MIN, 0.0, 1.0)];
    let e = evaluate(
        &d,
        &AlarmState::initial(Timestamp::from_millis(0)),
        &pts[..],
        Timestamp::from_millis(T0 + 59_999),
    );
    assert_eq!(e.outcome, Outcome::Computed(StateValue::Ok));
    // At T0 + 60 s that period is complete.
    let e = evaluate(
        &d,
        &AlarmState::initial(Timestamp::from_millis(0)),
        &pts[..],
        Timestamp::from_millis(T0 + MIN),
    );
    assert_eq!(e.outcome, Outcome::Computed(StateValue::Alarm));
}

#[test]
fn one_second_periods() {
    let mut d = def(3, Some(2), TreatMissingData::NotBreaching);
    d.period_s = 1;
    let pts = [pv(T0 - 2_000, 5.0, 1.0), pv(T0 - 1_000, 7.0, 1.0)];
    let state = AlarmState::initial(Timestamp::from_millis(0));
    let e = evaluate(&d, &state, &pts[..], Timestamp::from_millis(T0 + 300));
    assert_eq!(e.outcome, Outcome::Computed(StateValue::Alarm));
    let alarm = e.new_state.unwrap();
    // The N + 2 lookback still sees both points a second later …
    let e = evaluate(&d, &alarm, &pts[..], Timestamp::from_millis(T0 + 3_000));
    assert_eq!(e.outcome, Outcome::Computed(StateValue::Alarm));
    // … one more second and only one remains: 1 breaching + 2 non-breaching fillers → OK.
    let e = evaluate(&d, &alarm, &pts[..], Timestamp::from_millis(T0 + 4_000));
    assert_eq!(e.outcome, Outcome::Computed(StateValue::Ok));
    assert_eq!(
        e.history_item.unwrap().summary,
        "Alarm updated from ALARM to OK"
    );
}

#[test]
fn low_sample_count_percentile_ignore_keeps_state() {
    let mut d = def(1, None, TreatMissingData::Missing);
    d.statistic = "p99".parse().unwrap();
    d.evaluate_low_sample_count_percentile = Some(LowSampleCount::Ignore);
    let state = AlarmState::initial(Timestamp::from_millis(0));
    let now = Timestamp::from_millis(T0);
    // p99 needs 10 / (1 - 0.99) = 1000 samples.
    let few = [pv(T0 - MIN, 5.0, 999.0)];
    assert_eq!(
        evaluate(&d, &state, &few[..], now).outcome,
        Outcome::KeepState
    );
    let enough = [pv(T0 - MIN, 5.0, 1000.0)];
    assert_eq!(
        evaluate(&d, &state, &enough[..], now).outcome,
        Outcome::Computed(StateValue::Alarm)
    );
    // p10 needs 10 / 0.1 = 100.
    d.statistic = "p10".parse().unwrap();
    assert_eq!(
        evaluate(&d, &state, &[pv(T0 - MIN, 5.0, 99.0)][..], now).outcome,
        Outcome::KeepState
    );
    d.evaluate_low_sample_count_percentile = Some(LowSampleCount::Evaluate);
    assert_eq!(
        evaluate(&d, &state, &few[..], now).outcome,
        Outcome::Computed(StateValue::Alarm)
    );
}

#[test]
fn unchanged_state_yields_no_new_state_or_history() {
    let d = def(1, None, TreatMissingData::Missing);
    let mut state = AlarmState::initial(Timestamp::from_millis(0));
    state.value = StateValue::Alarm;
    let e = evaluate(
        &d,
        &state,
        &[pv(T0 - MIN, 5.0, 1.0)][..],
        Timestamp::from_millis(T0),
    );
    assert_eq!(
        e,
        Evaluation {
            outcome: Outcome::Computed(StateValue::Alarm),
            new_state: None,
            history_item: None
        }
    );
}

#[test]
fn unit_is_not_a_source_filter_for_fixed_points_but_is_reported() {
    let mut d = def(1, None, TreatMissingData::Missing);
    d.unit = Some(Unit::Count);
    let e = evaluate(
        &d,
        &AlarmState::initial(Timestamp::from_millis(0)),
        &[pv(T0 - MIN, 5.0, 1.0)][..],
        Timestamp::from_millis(T0),
    );
    assert!(e
        .new_state
        .unwrap()
        .reason_data
        .unwrap()
        .contains(r#""unit":"Count""#));
}

#[path = "tests_reason.rs"]
mod reason_and_history;
