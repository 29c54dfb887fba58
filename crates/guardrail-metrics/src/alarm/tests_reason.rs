//! Exact StateReason / StateReasonData texts and history items.

use super::*;

fn at(iso_minute: i64) -> Timestamp {
    Timestamp::from_millis(iso_minute)
}

/// Evaluates from OK (or `from`) and returns the new state.
fn transition(d: &AlarmDefinition, from: StateValue, pts: &[PeriodValue], now: i64) -> AlarmState {
    let mut state = AlarmState::initial(Timestamp::from_millis(0));
    state.value = from;
    evaluate(d, &state, pts, Timestamp::from_millis(now))
        .new_state
        .expect("a transition")
}

#[test]
fn m_of_n_form_single_datapoint_as_in_the_brief() {
    let d = def(1, Some(1), TreatMissingData::Missing);
    // 23/11/26 10:04:00, evaluated at 10:05:01.
    let ts = T0 + 4 * MIN;
    let s = transition(&d, StateValue::Ok, &[pv(ts, 5.0, 3.0)], ts + MIN + 1_000);
    assert_eq!(
        s.reason,
        "Threshold Crossed: 1 out of the last 1 datapoints [5.0 (23/11/26 10:04:00)] was greater than the threshold (1.0) (minimum 1 datapoint for OK -> ALARM transition)."
    );
}

#[test]
fn m_of_n_form_two_of_three_as_in_the_reference() {
    let d = def(3, Some(2), TreatMissingData::Missing);
    let pts = [
        pv(T0 - 2 * MIN, 0.5, 1.0),
        pv(T0 - MIN, 3.0, 1.0),
        pv(T0, 5.0, 3.0),
    ];
    let s = transition(&d, StateValue::Ok, &pts, T0 + MIN + 30_000);
    assert_eq!(
        s.reason,
        "Threshold Crossed: 2 out of the last 3 datapoints [5.0 (23/11/26 10:00:00), 3.0 (23/11/26 09:59:00)] were greater than the threshold (1.0) (minimum 2 datapoints for OK -> ALARM transition)."
    );
    let data: serde_json::Value = serde_json::from_str(s.reason_data.as_deref().unwrap()).unwrap();
    assert_eq!(data["startDate"], "2026-11-23T09:58:00.000+0000");
    assert_eq!(data["queryDate"], "2026-11-23T10:01:30.000+0000");
    assert_eq!(data["recentDatapoints"], serde_json::json!([0.5, 3.0, 5.0]));
    assert_eq!(
        data["evaluatedDatapoints"][0]["timestamp"],
        "2026-11-23T10:00:00.000+0000"
    );
    assert_eq!(data["evaluatedDatapoints"][0]["sampleCount"], 3.0);
    assert_eq!(data["evaluatedDatapoints"].as_array().unwrap().len(), 3);
}

#[test]
fn ok_direction_reproduces_an_observed_aws_reason() {
    // AWS: N = M = 2, GreaterThanThreshold 40, evaluated 2021-04-13T16:06:38.066Z.
    let mut d = def(2, Some(2), TreatMissingData::Missing);
    d.statistic = Statistic::Average;
    d.threshold = 40.0;
    let t1603 = 1_618_329_780_000;
    let pts = [
        pv(t1603, 0.01575357001274824, 1.0),
        pv(t1603 + MIN, 0.01758096118768056, 1.0),
    ];
    let s = transition(&d, StateValue::Alarm, &pts, 1_618_329_998_066);
    assert_eq!(
        s.reason,
        "Threshold Crossed: 2 out of the last 2 datapoints [0.01758096118768056 (13/04/21 16:04:00), 0.01575357001274824 (13/04/21 16:03:00)] were not greater than the threshold (40.0) (minimum 1 datapoint for ALARM -> OK transition)."
    );
}

#[test]
fn plain_form_reproduces_an_observed_aws_reason_and_data() {
    // AWS: StatusCheckFailed_System, Minimum, GreaterThanOrEqualToThreshold 1, unit Count, N = 1.
    let mut d = def(1, None, TreatMissingData::Missing);
    d.statistic = Statistic::Minimum;
    d.comparison = ComparisonOperator::GreaterThanOrEqualToThreshold;
    d.unit = Some(Unit::Count);
    let t0908 = 1_680_858_480_000; // 2023-04-07T09:08:00Z
    let s = transition(
        &d,
        StateValue::Alarm,
        &[pv(t0908, 0.0, 1.0)],
        1_680_858_555_917,
    );
    assert_eq!(s.reason, "Threshold Crossed: 1 datapoint [0.0 (07/04/23 09:08:00)] was not greater than or equal to the threshold (1.0).");
    assert_eq!(
        s.reason_data.as_deref(),
        Some(
            r#"{"version":"1.0","queryDate":"2023-04-07T09:09:15.917+0000","startDate":"2023-04-07T09:08:00.000+0000","unit":"Count","statistic":"Minimum","period":60,"recentDatapoints":[0.0],"threshold":1.0,"evaluatedDatapoints":[{"timestamp":"2023-04-07T09:08:00.000+0000","sampleCount":1.0,"value":0.0}]}"#
        )
    );
}

#[test]
fn insufficient_data_reproduces_an_observed_aws_reason_and_data() {
    // AWS: N = 5, Average, threshold 5, no data, evaluated 2023-08-04T12:31:29.591Z.
    let mut d = def(5, None, TreatMissingData::Missing);
    d.statistic = Statistic::Average;
    d.threshold = 5.0;
    let s = transition(&d, StateValue::Ok, &[], 1_691_152_289_591);
    assert_eq!(s.value, StateValue::InsufficientData);
    assert_eq!(s.reason, "Insufficient Data: 5 datapoints were unknown.");
    assert_eq!(
        s.reason_data.as_deref(),
        Some(
            r#"{"version":"1.0","queryDate":"2023-08-04T12:31:29.591+0000","statistic":"Average","period":60,"recentDatapoints":[],"threshold":5.0,"evaluatedDatapoints":[{"timestamp":"2023-08-04T12:30:00.000+0000"},{"timestamp":"2023-08-04T12:29:00.000+0000"},{"timestamp":"2023-08-04T12:28:00.000+0000"},{"timestamp":"2023-08-04T12:27:00.000+0000"},{"timestamp":"2023-08-04T12:26:00.000+0000"}]}"#
        )
    );
    // Partly known: "- - - - X" with N = M = 3.
    let d = def(3, None, TreatMissingData::Missing);
    let s = transition(&d, StateValue::Ok, &[pv(T0 - MIN, 5.0, 1.0)], T0);
    assert_eq!(s.reason, "Insufficient Data: 2 datapoints were unknown.");
}

#[test]
fn filled_missing_data_texts() {
    let d = def(1, None, TreatMissingData::NotBreaching);
    let s = transition(&d, StateValue::Alarm, &[], T0);
    assert_eq!(s.reason, "Threshold Crossed: no datapoints were received for 1 period and 1 missing datapoint was treated as [NonBreaching].");
    let d = def(2, None, TreatMissingData::Breaching);
    let s = transition(&d, StateValue::Ok, &[], T0);
    assert_eq!(s.reason, "Threshold Crossed: no datapoints were received for 2 periods and 2 missing datapoints were treated as [Breaching].");
    // ALARM from fillers alone while the one real point is fine.
    let d = def(3, Some(2), TreatMissingData::Breaching);
    let s = transition(&d, StateValue::Ok, &[pv(T0 - MIN, 0.0, 1.0)], T0);
    assert_eq!(s.reason, "Threshold Crossed: 1 datapoint was received for 3 periods and 2 missing datapoints were treated as [Breaching].");
    // Real points agreeing with the state are listed.
    let d = def(3, Some(3), TreatMissingData::Breaching);
    let s = transition(&d, StateValue::Ok, &[pv(T0 - MIN, 5.0, 1.0)], T0);
    assert_eq!(
        s.reason,
        "Threshold Crossed: 1 out of the last 3 datapoints [5.0 (23/11/26 09:59:00)] was greater than the threshold (1.0) and 2 missing datapoints were treated as [Breaching] (minimum 3 datapoints for OK -> ALARM transition)."
    );
    let data: serde_json::Value = serde_json::from_str(s.reason_data.as_deref().unwrap()).unwrap();
    let evaluated = data["evaluatedDatapoints"].as_array().unwrap();
    assert_eq!(evaluated.len(), 3);
    assert_eq!(
        evaluated[0],
        serde_json::json!({"timestamp": "2026-11-23T09:59:00.000+0000", "sampleCount": 1.0, "value": 5.0})
    );
    assert_eq!(
        evaluated[2],
        serde_json::json!({"timestamp": "2026-11-23T09:57:00.000+0000"})
    );
}

#[test]
fn state_update_history_item() {
    let d = def(1, None, TreatMissingData::Missing);
    let old = AlarmState::initial(at(T0 - 3_600_000));
    let e = evaluate(&d, &old, &[pv(T0 - MIN, 5.0, 1.0)][..], at(T0 + 1_500));
    let item = e.history_item.unwrap();
    assert_eq!(item.alarm_name, "ep-5xx");
    assert_eq!(item.item_type, HistoryItemType::StateUpdate);
    assert_eq!(item.timestamp, at(T0 + 1_500));
    assert_eq!(
        item.summary,
        "Alarm updated from INSUFFICIENT_DATA to ALARM"
    );
    let data: serde_json::Value = serde_json::from_str(&item.data).unwrap();
    assert_eq!(data["version"], "1.0");
    assert_eq!(
        data["oldState"],
        serde_json::json!({"stateValue": "INSUFFICIENT_DATA", "stateReason": "Unchecked: Initial alarm creation"})
    );
    assert_eq!(data["newState"]["stateValue"], "ALARM");
    assert_eq!(data["newState"]["stateReason"], "Threshold Crossed: 1 datapoint [5.0 (23/11/26 09:59:00)] was greater than the threshold (1.0).");
    assert_eq!(data["newState"]["stateReasonData"]["period"], 60);
    let new = e.new_state.unwrap();
    assert_eq!(
        (new.updated_at, new.transitioned_at, new.override_until),
        (at(T0 + 1_500), at(T0 + 1_500), None)
    );
}

#[test]
fn set_alarm_state_holds_until_the_next_evaluation_after_one_period() {
    let d = def(1, None, TreatMissingData::Missing);
    let ok_points = [pv(T0 - MIN, 0.0, 1.0), pv(T0, 0.0, 1.0)];
    let mut ok = AlarmState::initial(at(0));
    ok.value = StateValue::Ok;
    let set_at = at(T0 + 10_000);
    let e = set_alarm_state(
        &d,
        &ok,
        StateValue::Alarm,
        "test rollback",
        Some(r#"{"by":"test"}"#),
        set_at,
    )
    .unwrap();
    assert_eq!(e.outcome, Outcome::Set(StateValue::Alarm));
    let forced = e.new_state.unwrap();
    assert_eq!(forced.override_until, Some(at(T0 + 70_000)));
    let item = e.history_item.unwrap();
    assert_eq!(item.summary, "Alarm updated from OK to ALARM");
    let data: serde_json::Value = serde_json::from_str(&item.data).unwrap();
    assert_eq!(data["newState"]["stateReasonData"]["by"], "test");
    // Still forced just before set + Period …
    let e = evaluate(&d, &forced, &ok_points[..], at(T0 + 69_999));
    assert_eq!(e.outcome, Outcome::Overridden);
    assert!(e.new_state.is_none());
    // … recomputed from data at set + Period, with a transition back.
    let e = evaluate(&d, &forced, &ok_points[..], at(T0 + 70_000));
    assert_eq!(e.outcome, Outcome::Computed(StateValue::Ok));
    assert_eq!(
        e.history_item.unwrap().summary,
        "Alarm updated from ALARM to OK"
    );
    // Setting the same value changes the reason only: no history item.
    let e = set_alarm_state(&d, &ok, StateValue::Ok, "again", None, set_at).unwrap();
    assert!(e.history_item.is_none());
    let same = e.new_state.unwrap();
    assert_eq!(
        (same.reason.as_str(), same.transitioned_at, same.updated_at),
        ("again", ok.transitioned_at, set_at)
    );
    // StateReasonData must be a JSON object.
    assert_eq!(
        set_alarm_state(&d, &ok, StateValue::Alarm, "x", Some("{nope"), set_at),
        Err(AlarmError::InvalidReasonData)
    );
}

#[test]
fn configuration_update_history_item() {
    let mut d = def(3, Some(2), TreatMissingData::NotBreaching);
    d.statistic = "p99".parse().unwrap();
    d.unit = Some(Unit::Microseconds);
    let item = configuration_update(&d, ConfigChange::Created, at(T0));
    assert_eq!(item.item_type, HistoryItemType::ConfigurationUpdate);
    assert_eq!(item.summary, "Alarm \"ep-5xx\" created");
    let data: serde_json::Value = serde_json::from_str(&item.data).unwrap();
    assert_eq!(data["type"], "Create");
    let alarm = &data["createdAlarm"];
    assert_eq!(alarm["extendedStatistic"], "p99");
    assert_eq!(
        alarm["dimensions"][0],
        serde_json::json!({"name": "EndpointName", "value": "ep"})
    );
    assert_eq!(alarm["datapointsToAlarm"], 2);
    assert_eq!(alarm["unit"], "Microseconds");
    assert_eq!(alarm["treatMissingData"], "notBreaching");
    assert_eq!(
        configuration_update(&d, ConfigChange::Deleted, at(T0)).summary,
        "Alarm \"ep-5xx\" deleted"
    );
}
