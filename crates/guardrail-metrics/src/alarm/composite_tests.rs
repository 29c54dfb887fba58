use super::*;

const T0: i64 = 1_795_428_000_000;

fn ts(ms: i64) -> Timestamp {
    Timestamp::from_millis(T0 + ms)
}

fn child(name: &str, value: StateValue, at: i64) -> ChildState {
    ChildState {
        name: name.into(),
        value,
        transitioned_at: ts(at),
    }
}

fn st<'a>(pairs: &'a [(&'a str, StateValue)]) -> impl Fn(&str) -> Option<StateValue> + 'a {
    move |n| pairs.iter().find(|(k, _)| *k == n).map(|(_, v)| *v)
}

#[test]
fn grammar_as_aws_documents_it() {
    use StateValue::*;
    let r = Rule::parse(r#"ALARM("a") OR ALARM(b)"#).unwrap();
    assert_eq!(r.names(), ["a", "b"]);
    assert!(r.eval(&st(&[("a", Ok), ("b", Alarm)])));
    assert!(!r.eval(&st(&[("a", Ok), ("b", Ok)])));
    let r = Rule::parse(r#"ALARM(a) AND NOT OK("b")"#).unwrap();
    assert!(r.eval(&st(&[("a", Alarm), ("b", InsufficientData)])));
    assert!(!r.eval(&st(&[("a", Alarm), ("b", Ok)])));
    // AND binds tighter than OR; parentheses override
    let r = Rule::parse("ALARM(a) OR ALARM(b) AND ALARM(c)").unwrap();
    assert!(r.eval(&st(&[("a", Alarm)])));
    let r = Rule::parse("(ALARM(a) OR ALARM(b)) AND ALARM(c)").unwrap();
    assert!(!r.eval(&st(&[("a", Alarm)])));
    assert!(Rule::parse("TRUE").unwrap().eval(&st(&[])));
    assert!(!Rule::parse("FALSE OR NOT TRUE").unwrap().eval(&st(&[])));
    let r = Rule::parse(
        "INSUFFICIENT_DATA(\"arn:aws:cloudwatch:us-east-1:123456789012:alarm:my alarm\")",
    )
    .unwrap();
    assert_eq!(r.names(), ["my alarm"]);
    assert!(r.eval(&st(&[("my alarm", InsufficientData)])));
    assert!(!r.eval(&st(&[])), "an unknown alarm is in no state");
    for bad in [
        "",
        "ALARM(a",
        "ALARM()",
        "ALARM a",
        "alarm(a)",
        "ALARM(a) XOR ALARM(b)",
        "ALARM(a))",
        "NOT",
    ] {
        assert!(Rule::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn composite_follows_its_children_and_names_the_trigger() {
    let rule = Rule::parse("ALARM(a) OR ALARM(b)").unwrap();
    let initial = AlarmState::initial(ts(0));
    let kids = [
        child("a", StateValue::Ok, 100),
        child("b", StateValue::Ok, 200),
    ];
    let e = evaluate_composite("c", &rule, &initial, &kids, ts(1000));
    let ok = e.new_state.expect("INSUFFICIENT_DATA -> OK");
    assert_eq!(ok.value, StateValue::Ok);
    assert_eq!(
        e.history_item.unwrap().summary,
        "Alarm updated from INSUFFICIENT_DATA to OK"
    );
    // nothing changes while the rule's result stays
    assert_eq!(
        evaluate_composite("c", &rule, &ok, &kids, ts(2000)).new_state,
        None
    );
    let kids = [
        child("a", StateValue::Ok, 100),
        child("b", StateValue::Alarm, 2500),
    ];
    let e = evaluate_composite("c", &rule, &ok, &kids, ts(3000));
    let alarm = e.new_state.unwrap();
    assert_eq!(alarm.value, StateValue::Alarm);
    assert!(
        alarm.reason.starts_with("b transitioned to ALARM at "),
        "{}",
        alarm.reason
    );
    assert!(alarm.reason_data.unwrap().contains("\"triggeringAlarms\""));
    assert_eq!(
        e.history_item.unwrap().summary,
        "Alarm updated from OK to ALARM"
    );
}

#[test]
fn set_alarm_state_on_a_composite_holds_until_a_child_changes() {
    let rule = Rule::parse("ALARM(a)").unwrap();
    let mut forced = AlarmState::initial(ts(0));
    forced.value = StateValue::Alarm;
    forced.updated_at = ts(5000);
    forced.override_until = Some(ts(6000));
    let kids = [child("a", StateValue::Ok, 100)];
    let e = evaluate_composite("c", &rule, &forced, &kids, ts(60_000));
    assert_eq!(e.outcome, Outcome::Overridden);
    let kids = [child("a", StateValue::Ok, 7000)];
    let e = evaluate_composite("c", &rule, &forced, &kids, ts(8000));
    assert_eq!(e.new_state.unwrap().value, StateValue::Ok);
}
