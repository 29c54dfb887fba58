//! Math-alarm evaluation with a virtual clock: the error-rate guardrail
//! `e1 = 100 * m1 / m2 > 1` over `Invocation5XXErrors` and `Invocations`.

use super::*;
use crate::alarm::{ComparisonOperator, StateValue, TreatMissingData};
use crate::StoreConfig;

const T0: i64 = 1_795_428_000_000;

fn metric(name: &str) -> MetricId {
    MetricId::new(
        "AWS/SageMaker",
        name,
        [("EndpointName", "ep"), ("VariantName", "AllTraffic")],
    )
    .unwrap()
}

fn stat(id: &str, name: &str) -> MathQuery {
    MathQuery {
        id: id.into(),
        return_data: false,
        stat: Some(MathStat {
            metric: metric(name),
            period_s: 10,
            stat: Statistic::Sum,
            unit: None,
        }),
        expression: None,
    }
}

fn error_rate() -> MathAlarm {
    MathAlarm {
        queries: vec![
            stat("m1", "Invocation5XXErrors"),
            stat("m2", "Invocations"),
            MathQuery {
                id: "e1".into(),
                return_data: true,
                stat: None,
                expression: Some("100*m1/m2".into()),
            },
        ],
    }
}

fn def(n: u32) -> AlarmDefinition {
    let mut d = AlarmDefinition::new(
        "rate",
        math_placeholder_metric("rate"),
        Statistic::Sum,
        10,
        n,
        1.0,
        ComparisonOperator::GreaterThanThreshold,
    );
    d.treat_missing_data = TreatMissingData::NotBreaching;
    d
}

/// `requests` per second for 10 s from `at`, `errors` of them 5XX.
fn traffic(store: &mut MetricStore, at: i64, requests: u32, errors: u32) {
    for s in 0..10 {
        for i in 0..requests {
            let t = Timestamp::from_millis(at + s * 1000);
            store
                .record(&metric("Invocations"), t, 1.0, Unit::None)
                .unwrap();
            let e = if i < errors { 1.0 } else { 0.0 };
            store
                .record(&metric("Invocation5XXErrors"), t, e, Unit::None)
                .unwrap();
        }
    }
}

#[test]
fn validation_and_period() {
    assert_eq!(error_rate().validate(), Ok(10));
    let mut m = error_rate();
    m.queries[2].return_data = false;
    assert_eq!(m.validate(), Err(MathAlarmError::ReturnData));
    let mut m = error_rate();
    m.queries[2].expression = Some("100*m1/m3".into());
    assert!(matches!(m.validate(), Err(MathAlarmError::Plan(_))));
    let mut m = error_rate();
    m.queries[1].stat.as_mut().unwrap().period_s = 60;
    assert_eq!(m.validate(), Err(MathAlarmError::MixedPeriods));
}

#[test]
fn error_rate_alarm_follows_the_expression() {
    let mut store = MetricStore::new(StoreConfig::default());
    let math = error_rate();
    let d = def(1);
    let mut state = AlarmState::initial(Timestamp::from_millis(T0));
    // 0 % errors in [T0, T0+10 s)
    traffic(&mut store, T0, 10, 0);
    let e = evaluate_math(
        &d,
        &math,
        &state,
        &store,
        Timestamp::from_millis(T0 + 10_500),
    );
    state = e.new_state.expect("-> OK");
    assert_eq!(state.value, StateValue::Ok);
    // 20 % errors in the next period: ALARM once it is complete, not before
    traffic(&mut store, T0 + 10_000, 10, 2);
    let e = evaluate_math(
        &d,
        &math,
        &state,
        &store,
        Timestamp::from_millis(T0 + 19_000),
    );
    assert_eq!(e.new_state, None, "the period in progress does not count");
    let e = evaluate_math(
        &d,
        &math,
        &state,
        &store,
        Timestamp::from_millis(T0 + 20_100),
    );
    state = e.new_state.expect("-> ALARM");
    assert_eq!(state.value, StateValue::Alarm);
    assert!(state.reason.contains("[20.0 ("), "{}", state.reason);
    // no traffic: the expression has no value → missing; once the whole range (N + 2
    // periods) is missing, notBreaching → OK
    let e = evaluate_math(
        &d,
        &math,
        &state,
        &store,
        Timestamp::from_millis(T0 + 30_100),
    );
    assert_eq!(e.new_state, None, "the newest present point still breaches");
    let e = evaluate_math(
        &d,
        &math,
        &state,
        &store,
        Timestamp::from_millis(T0 + 50_100),
    );
    assert_eq!(e.new_state.expect("-> OK").value, StateValue::Ok);
}

#[test]
fn m_of_n_applies_to_expression_values() {
    let mut store = MetricStore::new(StoreConfig::default());
    let math = error_rate();
    let mut d = def(3);
    d.datapoints_to_alarm = Some(2);
    let state = AlarmState::initial(Timestamp::from_millis(T0));
    traffic(&mut store, T0, 10, 5);
    traffic(&mut store, T0 + 10_000, 10, 0);
    let e = evaluate_math(
        &d,
        &math,
        &state,
        &store,
        Timestamp::from_millis(T0 + 30_100),
    );
    assert_eq!(
        e.new_state.unwrap().value,
        StateValue::Ok,
        "1 of 3 breaching"
    );
    traffic(&mut store, T0 + 30_000, 10, 5);
    let e = evaluate_math(
        &d,
        &math,
        &state,
        &store,
        Timestamp::from_millis(T0 + 40_100),
    );
    assert_eq!(
        e.new_state.unwrap().value,
        StateValue::Alarm,
        "2 of 3 breaching"
    );
}
