//! The monitor shell against a real store on disk: alarms, their state and history, and custom
//! metrics survive a reopen; the controller's views follow SetAlarmState and deletion.

use guardrail_controller::{AlarmSource, Clock};
use guardrail_core::deploy::AlarmState as CoreState;
use guardrail_core::time::Timestamp;
use guardrail_metrics::{
    AlarmDefinition, ComparisonOperator, MetricId, StateValue, Statistic, Unit,
};
use guardrail_monitor::{
    AlarmConfig, AlarmHistoryQuery, Datum, DatumValue, Monitor, MonitorConfig,
};
use guardrail_store::Store;

fn metric() -> MetricId {
    MetricId::new("Custom/Test", "Errors", [("Host", "a")]).unwrap()
}

fn alarm(name: &str) -> AlarmConfig {
    let def = AlarmDefinition::new(
        name,
        metric(),
        Statistic::Sum,
        1,
        1,
        1.0,
        ComparisonOperator::GreaterThanOrEqualToThreshold,
    );
    AlarmConfig {
        name: name.into(),
        config: serde_json::json!({"AlarmName": name}),
        definition: Some(def),
        math: None,
        composite: None,
        actions_enabled: true,
    }
}

async fn open(dir: &std::path::Path) -> Monitor {
    let store = Store::open(&dir.join("db")).unwrap();
    Monitor::open(store, Clock::system(), MonitorConfig::default())
        .await
        .unwrap()
}

#[tokio::test]
async fn alarms_state_history_and_custom_metrics_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let m = open(dir.path()).await;
    assert!(m.put_alarm(alarm("a1")).await.unwrap());
    assert!(
        !m.put_alarm(alarm("a1")).await.unwrap(),
        "second put replaces"
    );
    m.set_alarm_state("a1", StateValue::Alarm, "forced", Some("{\"k\":1}"))
        .await
        .unwrap();
    let now = m.clock().now();
    m.put_metric_data(vec![Datum {
        metric: metric(),
        timestamp: now,
        value: DatumValue::Single(5.0),
        unit: Unit::Count,
    }])
    .await
    .unwrap();
    drop(m);

    let m = open(dir.path()).await;
    let alarms = m.alarms();
    assert_eq!(alarms.len(), 1);
    assert_eq!(alarms[0].state.value, StateValue::Alarm);
    assert_eq!(alarms[0].state.reason, "forced");
    let history = m
        .alarm_history(AlarmHistoryQuery {
            alarm_name: Some("a1".into()),
            ascending: true,
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    let summaries: Vec<&str> = history.iter().map(|h| h.summary.as_str()).collect();
    assert_eq!(
        summaries,
        [
            "Alarm \"a1\" created",
            "Alarm \"a1\" updated",
            "Alarm updated from INSUFFICIENT_DATA to ALARM"
        ]
    );
    let sum = m.with_metrics(|s| {
        use guardrail_metrics::alarm::DatapointSource;
        let start = Timestamp::from_millis(now.millis() - now.millis().rem_euclid(1000));
        s.period_values(
            &metric(),
            Statistic::Sum,
            None,
            1,
            start,
            start.plus_secs(1),
        )
    });
    assert_eq!(sum.len(), 1);
    assert_eq!(sum[0].value, 5.0);
}

#[tokio::test]
async fn views_report_blips_and_deleted_alarms() {
    let dir = tempfile::tempdir().unwrap();
    let m = open(dir.path()).await;
    let mut changes = m.changes();
    m.put_alarm(alarm("b1")).await.unwrap();
    m.set_alarm_state("b1", StateValue::Alarm, "blip", None)
        .await
        .unwrap();
    m.set_alarm_state("b1", StateValue::Ok, "back", None)
        .await
        .unwrap();
    assert!(changes.has_changed().unwrap(), "changes are announced");
    let views = m.views(&["b1".to_string(), "nope".to_string()]);
    assert_eq!(views[0].state, CoreState::Ok);
    assert!(views[0].exists);
    assert!(
        views[0].last_entered_alarm.is_some(),
        "the blip is remembered"
    );
    assert_eq!(views[0].reason.as_deref(), Some("blip"));
    assert!(!views[1].exists);
    changes.mark_unchanged();
    m.delete_alarms(&["b1".to_string(), "nope".to_string()])
        .await
        .unwrap();
    assert!(changes.has_changed().unwrap());
    assert!(!m.views(&["b1".to_string()])[0].exists);
}

#[tokio::test]
async fn set_alarm_state_on_a_missing_alarm_or_with_bad_data_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let m = open(dir.path()).await;
    assert!(m
        .set_alarm_state("missing", StateValue::Alarm, "x", None)
        .await
        .is_err());
    m.put_alarm(alarm("c1")).await.unwrap();
    assert!(m
        .set_alarm_state("c1", StateValue::Alarm, "x", Some("[1]"))
        .await
        .is_err());
    assert_eq!(m.alarms()[0].state.value, StateValue::InsufficientData);
}
