//! Scenarios on a virtual clock (no sleeps): the shell's loop — record traffic, evaluate every
//! second, store the new state, append history — driven by a plain integer clock.

use guardrail_metrics::*;

/// 2026-11-23T10:00:00Z
const T0: i64 = 1_795_428_000_000;

struct Alarm {
    def: AlarmDefinition,
    state: AlarmState,
    history: Vec<HistoryItem>,
}

impl Alarm {
    fn new(def: AlarmDefinition, now: Timestamp) -> Self {
        Alarm {
            def,
            state: AlarmState::initial(now),
            history: Vec::new(),
        }
    }

    fn apply(&mut self, e: Evaluation) {
        if let Some(s) = e.new_state {
            self.state = s;
        }
        self.history.extend(e.history_item);
    }

    fn tick(&mut self, store: &MetricStore, now: Timestamp) {
        let e = evaluate(&self.def, &self.state, store, now);
        self.apply(e);
    }

    fn transitions(&self) -> Vec<(i64, &str)> {
        self.history
            .iter()
            .map(|h| ((h.timestamp.millis() - T0) / 1000, h.summary.as_str()))
            .collect()
    }
}

fn errors_metric() -> MetricId {
    MetricId::new(
        "AWS/SageMaker",
        "Invocation5XXErrors",
        [("EndpointName", "ep"), ("VariantName", "AllTraffic")],
    )
    .unwrap()
}

#[test]
fn five_xx_count_alarm_goes_ok_alarm_ok_as_datapoints_arrive() {
    let mut store = MetricStore::new(StoreConfig::default());
    let metric = errors_metric();
    let mut def = AlarmDefinition::new(
        "ep-5xx",
        metric.clone(),
        Statistic::Sum,
        10,
        3,
        1.0,
        ComparisonOperator::GreaterThanOrEqualToThreshold,
    );
    def.datapoints_to_alarm = Some(2);
    def.treat_missing_data = TreatMissingData::NotBreaching;
    let mut alarm = Alarm::new(def, Timestamp::from_millis(T0 - 1_000));

    for second in 0..200_i64 {
        // Five requests per second until t = 150 s; one of them fails during [60 s, 90 s).
        if second < 150 {
            for request in 0..5 {
                let failed = (60..90).contains(&second) && request == 0;
                let at = Timestamp::from_millis(T0 + second * 1000 + request * 150);
                store
                    .record(&metric, at, if failed { 1.0 } else { 0.0 }, Unit::None)
                    .unwrap();
            }
        }
        let now = Timestamp::from_millis(T0 + second * 1000 + 500);
        if second == 130 {
            // A forced blip, as tests force rollbacks: holds for one period, then recomputed.
            let e = set_alarm_state(
                &alarm.def,
                &alarm.state,
                StateValue::Alarm,
                "forced by test",
                None,
                now,
            )
            .unwrap();
            alarm.apply(e);
        }
        alarm.tick(&store, now);
        if second % 60 == 0 {
            store.prune(now);
        }
    }

    assert_eq!(
        alarm.transitions(),
        [
            (0, "Alarm updated from INSUFFICIENT_DATA to OK"),
            (80, "Alarm updated from OK to ALARM"),
            (110, "Alarm updated from ALARM to OK"),
            (130, "Alarm updated from OK to ALARM"),
            (140, "Alarm updated from ALARM to OK"),
        ]
    );
    let alarm_item: serde_json::Value = serde_json::from_str(&alarm.history[1].data).unwrap();
    assert_eq!(
        alarm_item["newState"]["stateReason"],
        "Threshold Crossed: 2 out of the last 3 datapoints [10.0 (23/11/26 10:01:10), 10.0 (23/11/26 10:01:00)] were greater than or equal to the threshold (1.0) (minimum 2 datapoints for OK -> ALARM transition)."
    );
    assert_eq!(
        alarm_item["newState"]["stateReasonData"]["evaluatedDatapoints"][0]["sampleCount"],
        50.0
    );
    assert_eq!(alarm_item["oldState"]["stateValue"], "OK");
    // No traffic after 150 s: notBreaching keeps it OK.
    assert_eq!(alarm.state.value, StateValue::Ok);
}

#[test]
fn p99_latency_alarm_on_one_second_periods() {
    let mut store = MetricStore::new(StoreConfig::default());
    let metric = MetricId::new(
        "AWS/SageMaker",
        "ModelLatency",
        [
            ("EndpointConfigName", "cfg-new"),
            ("EndpointName", "ep"),
            ("VariantName", "AllTraffic"),
        ],
    )
    .unwrap();
    let mut def = AlarmDefinition::new(
        "ep-new-latency",
        metric.clone(),
        "p99".parse().unwrap(),
        1,
        2,
        100_000.0,
        ComparisonOperator::GreaterThanThreshold,
    );
    def.unit = Some(Unit::Microseconds);
    def.treat_missing_data = TreatMissingData::Missing;
    let mut alarm = Alarm::new(def, Timestamp::from_millis(T0));

    for second in 0..30_i64 {
        let slow = (10..13).contains(&second);
        // 200 requests per second; during the slow seconds 5 % take 400 ms.
        let values: Vec<f64> = (0..200)
            .map(|i| {
                if slow && i % 20 == 0 {
                    400_000.0
                } else {
                    8_000.0 + f64::from(i) * 10.0
                }
            })
            .collect();
        store
            .record_values(
                &metric,
                Timestamp::from_millis(T0 + second * 1000),
                &values,
                None,
                Unit::Microseconds,
            )
            .unwrap();
        // Data with another unit does not count for this alarm.
        store
            .record(
                &metric,
                Timestamp::from_millis(T0 + second * 1000),
                9e9,
                Unit::Milliseconds,
            )
            .unwrap();
        alarm.tick(&store, Timestamp::from_millis(T0 + second * 1000 + 999));
    }
    assert_eq!(
        alarm.transitions(),
        // Second 0 is still in progress at the first tick, so the first OK comes at 1.
        [
            (1, "Alarm updated from INSUFFICIENT_DATA to OK"),
            (12, "Alarm updated from OK to ALARM"),
            (14, "Alarm updated from ALARM to OK")
        ]
    );
    let reason = &alarm.history[1];
    assert!(
        reason.data.contains(r#""statistic":"p99""#)
            && reason.data.contains(r#""unit":"Microseconds""#),
        "{}",
        reason.data
    );
}

#[test]
fn missing_data_alarm_waits_for_evidence_and_keeps_ignore_state() {
    let store = MetricStore::new(StoreConfig::default());
    let metric = errors_metric();
    let mut def = AlarmDefinition::new(
        "quiet",
        metric,
        Statistic::Average,
        1,
        3,
        0.5,
        ComparisonOperator::GreaterThanThreshold,
    );
    let mut missing = Alarm::new(def.clone(), Timestamp::from_millis(T0));
    def.treat_missing_data = TreatMissingData::Ignore;
    let mut ignore = Alarm::new(def, Timestamp::from_millis(T0));
    for second in 0..10 {
        let now = Timestamp::from_millis(T0 + second * 1000);
        missing.tick(&store, now);
        ignore.tick(&store, now);
    }
    // missing: INSUFFICIENT_DATA → INSUFFICIENT_DATA is no transition; ignore keeps it too.
    assert!(missing.history.is_empty() && ignore.history.is_empty());
    assert_eq!(missing.state.reason, "Unchecked: Initial alarm creation");
}
