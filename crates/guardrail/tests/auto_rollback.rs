//! End-to-end automatic rollback: the real binary, real model-server instances, CloudWatch
//! alarms over the same port (awsJson1_0), load through the whole update. The alarm trips
//! either from real traffic metrics (a v2 that answers 500s) or by SetAlarmState; the update
//! must roll back with no failed invocation other than the model's own errors.

mod common;

use std::time::{Duration, Instant};

use common::load::{Load, Sample};
use common::*;
use serde_json::{json, Value};

fn fresh_server() -> (tempfile::TempDir, Server) {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    (dir, server)
}

/// `name` on v1 (`n` instances) plus a config `name-c2` whose model is v2 with `env`.
fn setup(server: &Server, name: &str, n: u32, v2_env: Value) {
    server.create_endpoint(name, &image("v1"), json!({}), n);
    server.ok(
        "CreateModel",
        json!({"ModelName": format!("{name}-m2"), "PrimaryContainer": {"Image": image("v2"), "Environment": v2_env}}),
    );
    server.ok(
        "CreateEndpointConfig",
        json!({"EndpointConfigName": format!("{name}-c2"), "ProductionVariants": [{
            "VariantName": "AllTraffic", "ModelName": format!("{name}-m2"),
            "InitialInstanceCount": n, "InstanceType": "ml.m5.large"}]}),
    );
    server.wait_serving(name, Duration::from_secs(30));
}

fn put_alarm(server: &Server, alarm: Value) {
    server.cw_ok("PutMetricAlarm", alarm);
}

/// Starts the update, waits (bounded) until it ended, keeps loading a moment, returns the
/// samples and the final DescribeEndpoint. `during` runs once green serves traffic.
fn update_and_wait(
    server: &Server,
    name: &str,
    dc: Value,
    during: impl FnOnce(&Load),
) -> (Vec<Sample>, Value) {
    let load = Load::start(&server.url, name, 4);
    server.wait_for("load running", Duration::from_secs(10), || {
        load.count() > 50
    });
    server.ok(
        "UpdateEndpoint",
        json!({"EndpointName": name, "EndpointConfigName": format!("{name}-c2"), "DeploymentConfig": dc}),
    );
    during(&load);
    let mut describe = Value::Null;
    server.wait_for("update finished", Duration::from_secs(120), || {
        describe = server.ok("DescribeEndpoint", json!({"EndpointName": name}));
        describe["EndpointStatus"] != "Updating"
    });
    let settle = load.count() + 200;
    server.wait_for("post-update load", Duration::from_secs(10), || {
        load.count() > settle
    });
    (load.stop(), describe)
}

fn wait_green_serving(server: &Server, load: &Load) {
    server.wait_for("green serving", Duration::from_secs(60), || {
        load.samples_since(Duration::ZERO)
            .iter()
            .any(|s| s.version == "v2" || s.status == 424)
    });
}

/// When `alarm` last entered ALARM, by its history (epoch ms, server clock).
fn entered_alarm_ms(server: &Server, alarm: &str) -> i64 {
    let history = server.cw_ok(
        "DescribeAlarmHistory",
        json!({"AlarmName": alarm, "HistoryItemType": "StateUpdate"}),
    );
    history["AlarmHistoryItems"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| {
            i["HistorySummary"]
                .as_str()
                .unwrap_or("")
                .ends_with("to ALARM")
        })
        .filter_map(|i| i["Timestamp"].as_f64())
        .map(|t| (t * 1000.0).round() as i64)
        .max()
        .unwrap_or_else(|| panic!("no transition of {alarm} into ALARM: {history}"))
}

fn assert_rolled_back(describe: &Value, name: &str, alarm: &str) {
    assert_eq!(describe["EndpointStatus"], "InService", "{describe}");
    assert_eq!(
        describe["EndpointConfigName"],
        format!("{name}-c"),
        "{describe}"
    );
    let reason = describe["FailureReason"].as_str().unwrap_or_default();
    assert!(
        reason.contains(alarm),
        "FailureReason names the alarm: {reason}"
    );
}

#[test]
fn a_v2_answering_500s_trips_its_alarm_during_the_canary_bake_and_rolls_back() {
    let (_dir, server) = fresh_server();
    setup(&server, "e5xx", 2, json!({"ERROR_RATE": "1.0"}));
    put_alarm(
        &server,
        json!({"AlarmName": "e5xx-errors", "Namespace": "AWS/SageMaker", "MetricName": "Invocation5XXErrors",
               "Dimensions": [{"Name": "EndpointName", "Value": "e5xx"}, {"Name": "VariantName", "Value": "AllTraffic"}],
               "Statistic": "Sum", "Period": 1, "EvaluationPeriods": 1, "Threshold": 1.0,
               "ComparisonOperator": "GreaterThanOrEqualToThreshold", "TreatMissingData": "notBreaching"}),
    );
    let dc = json!({"BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": {"Type": "CANARY", "WaitIntervalInSeconds": 60,
                        "CanarySize": {"Type": "INSTANCE_COUNT", "Value": 1}}},
                    "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": "e5xx-errors"}]}});
    let mut wall0 = 0;
    let (samples, describe) = update_and_wait(&server, "e5xx", dc, |load| {
        wall0 = load.started_wall_ms;
    });
    assert_rolled_back(&describe, "e5xx", "e5xx-errors");
    // The only failures are the v2 model's own 500s (ModelError, 424); nothing else failed.
    let other: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.status != 200 && s.status != 424)
        .collect();
    assert!(other.is_empty(), "non-model failures: {:?}", other.first());
    let model_errors = samples.iter().filter(|s| s.status == 424).count();
    assert!(model_errors > 0, "the canary served some requests");
    let tail: Vec<&str> = samples
        .iter()
        .rev()
        .take(100)
        .map(|s| s.version.as_str())
        .collect();
    assert!(
        tail.iter().all(|v| *v == "v1"),
        "v1 only after the rollback: {tail:?}"
    );
    println!(
        "auto-rollback-report case=5xx-canary invocations={} model_errors={model_errors} other_failures=0",
        samples.len()
    );
    let tripped_ms = entered_alarm_ms(&server, "e5xx-errors");
    let last_green_ms = samples
        .iter()
        .filter(|s| s.status == 424)
        .map(|s| wall0 + s.done.as_millis() as i64)
        .max()
        .unwrap();
    println!(
        "auto-rollback-report case=5xx-canary alarm_to_last_green_ms={}",
        last_green_ms - tripped_ms
    );
}

#[test]
fn set_alarm_state_rolls_back_a_linear_update_with_zero_failures() {
    let (_dir, server) = fresh_server();
    setup(&server, "lin", 4, json!({}));
    put_alarm(
        &server,
        json!({"AlarmName": "lin-guard", "Namespace": "Custom/Tests", "MetricName": "Guard",
               "Statistic": "Sum", "Period": 1, "EvaluationPeriods": 1, "Threshold": 1.0,
               "ComparisonOperator": "GreaterThanOrEqualToThreshold", "TreatMissingData": "notBreaching"}),
    );
    let dc = json!({"BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": {"Type": "LINEAR", "WaitIntervalInSeconds": 30,
                        "LinearStepSize": {"Type": "CAPACITY_PERCENT", "Value": 25}}},
                    "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": "lin-guard"}]}});
    let mut tripped_at = Duration::ZERO;
    let (samples, describe) = update_and_wait(&server, "lin", dc, |load| {
        wait_green_serving(&server, load);
        server.cw_ok(
            "SetAlarmState",
            json!({"AlarmName": "lin-guard", "StateValue": "ALARM", "StateReason": "test trip"}),
        );
        tripped_at = load.started.elapsed();
    });
    assert_rolled_back(&describe, "lin", "lin-guard");
    let failed: Vec<&Sample> = samples.iter().filter(|s| s.status != 200).collect();
    assert!(
        failed.is_empty(),
        "{} failed, first {:?}",
        failed.len(),
        failed.first()
    );
    let last_green = samples
        .iter()
        .filter(|s| s.version == "v2")
        .map(|s| s.done)
        .max()
        .unwrap();
    let latency = last_green.saturating_sub(tripped_at);
    println!(
        "auto-rollback-report case=linear-set-alarm-state invocations={} last_green_after_trip_ms={}",
        samples.len(),
        latency.as_millis()
    );
    assert!(
        latency < Duration::from_secs(2),
        "green still served {latency:?} after the trip"
    );
}

#[test]
fn set_alarm_state_rolls_back_a_rolling_update_in_batches() {
    let (_dir, server) = fresh_server();
    setup(&server, "roll", 4, json!({}));
    put_alarm(
        &server,
        json!({"AlarmName": "roll-guard", "Namespace": "Custom/Tests", "MetricName": "Guard",
               "Statistic": "Sum", "Period": 1, "EvaluationPeriods": 1, "Threshold": 1.0,
               "ComparisonOperator": "GreaterThanOrEqualToThreshold", "TreatMissingData": "notBreaching"}),
    );
    let dc = json!({"RollingUpdatePolicy": {"MaximumBatchSize": {"Type": "INSTANCE_COUNT", "Value": 1},
                        "WaitIntervalInSeconds": 30,
                        "RollbackMaximumBatchSize": {"Type": "INSTANCE_COUNT", "Value": 1}},
                    "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": "roll-guard"}]}});
    let started = Instant::now();
    let (samples, describe) = update_and_wait(&server, "roll", dc, |load| {
        wait_green_serving(&server, load);
        server.cw_ok(
            "SetAlarmState",
            json!({"AlarmName": "roll-guard", "StateValue": "ALARM", "StateReason": "test trip"}),
        );
    });
    assert_rolled_back(&describe, "roll", "roll-guard");
    server.wait_serving("roll", Duration::from_secs(30));
    let failed: Vec<&Sample> = samples.iter().filter(|s| s.status != 200).collect();
    assert!(
        failed.is_empty(),
        "{} failed, first {:?}",
        failed.len(),
        failed.first()
    );
    println!(
        "auto-rollback-report case=rolling-set-alarm-state invocations={} wall_s={:.2}",
        samples.len(),
        started.elapsed().as_secs_f64()
    );
}

/// Alarm → traffic back on blue, over ten runs: from the alarm history's transition into
/// ALARM (server clock) to the finish of the last request green answered (client clock; same
/// machine). Reported, not asserted tightly (timings belong in reports, not assertions).
#[test]
fn alarm_to_rollback_latency_over_ten_runs() {
    let (_dir, server) = fresh_server();
    let mut latencies_ms = Vec::new();
    for run in 0..10 {
        let name = format!("lat{run}");
        setup(&server, &name, 1, json!({}));
        let alarm = format!("{name}-guard");
        put_alarm(
            &server,
            json!({"AlarmName": alarm, "Namespace": "Custom/Tests", "MetricName": "Guard",
                   "Statistic": "Sum", "Period": 1, "EvaluationPeriods": 1, "Threshold": 1.0,
                   "ComparisonOperator": "GreaterThanOrEqualToThreshold", "TreatMissingData": "notBreaching"}),
        );
        let dc = json!({"BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": {"Type": "CANARY", "WaitIntervalInSeconds": 60,
                            "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 50}}},
                        "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": alarm}]}});
        let mut wall0 = 0;
        let (samples, describe) = update_and_wait(&server, &name, dc, |load| {
            wait_green_serving(&server, load);
            // Let green serve a moment so the trip lands mid-traffic.
            let seen = load.count() + 100;
            server.wait_for("traffic", Duration::from_secs(10), || load.count() > seen);
            server.cw_ok(
                "SetAlarmState",
                json!({"AlarmName": alarm, "StateValue": "ALARM", "StateReason": "latency run"}),
            );
            wall0 = load.started_wall_ms;
        });
        assert_rolled_back(&describe, &name, &alarm);
        let failed = samples.iter().filter(|s| s.status != 200).count();
        assert_eq!(failed, 0, "run {run}: failed invocations");
        let tripped_ms = entered_alarm_ms(&server, &alarm);
        let last_green_ms = samples
            .iter()
            .filter(|s| s.version == "v2")
            .map(|s| wall0 + s.done.as_millis() as i64)
            .max()
            .unwrap();
        latencies_ms.push(last_green_ms - tripped_ms);
    }
    let mut sorted = latencies_ms.clone();
    sorted.sort_unstable();
    println!(
        "auto-rollback-report case=alarm-to-blue runs={} min_ms={} median_ms={} max_ms={} all_ms={latencies_ms:?}",
        sorted.len(),
        sorted[0],
        sorted[sorted.len() / 2],
        sorted[sorted.len() - 1]
    );
    assert!(
        sorted[sorted.len() - 1] < 1000,
        "traffic must be back on blue well within a second: {latencies_ms:?}"
    );
}
