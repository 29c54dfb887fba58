//! End-to-end deployments: the real binary, real model-server instances, continuous load
//! through the whole update. Every mode must finish with zero failed invocations and the right
//! version sequence (v1 only → mixed → v2 only).

mod common;

use std::time::{Duration, Instant};

use common::load::{failures, version_runs, Load, Sample};
use common::*;
use serde_json::{json, Value};

/// A server on its own temp data dir (the dir lives as long as the returned guard).
fn fresh_server() -> (tempfile::TempDir, Server) {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    (dir, server)
}

/// Creates `name` on v1 with `n` instances and a v2 config `name-c2` (same variant name).
fn setup(server: &Server, name: &str, n: u32) {
    server.create_endpoint(name, &image("v1"), json!({}), n);
    server.ok(
        "CreateModel",
        json!({"ModelName": format!("{name}-m2"), "PrimaryContainer": {"Image": image("v2")}}),
    );
    server.ok(
        "CreateEndpointConfig",
        json!({"EndpointConfigName": format!("{name}-c2"), "ProductionVariants": [{
            "VariantName": "AllTraffic", "ModelName": format!("{name}-m2"),
            "InitialInstanceCount": n, "InstanceType": "ml.m5.large"}]}),
    );
    server.wait_serving(name, Duration::from_secs(30));
}

struct Run {
    samples: Vec<Sample>,
    wall: Duration,
    statuses: Vec<String>,
    describe: Value,
}

/// Runs one update under load and waits (bounded) until the endpoint is InService again.
fn update_under_load(server: &Server, name: &str, deployment_config: Option<Value>) -> Run {
    let load = Load::start(&server.url, name, 4);
    server.wait_for("load running", Duration::from_secs(10), || {
        load.count() > 50
    });
    let mut body = json!({"EndpointName": name, "EndpointConfigName": format!("{name}-c2")});
    if let Some(dc) = deployment_config {
        body["DeploymentConfig"] = dc;
    }
    let start = Instant::now();
    server.ok("UpdateEndpoint", body);
    let mut statuses = Vec::new();
    let mut describe = Value::Null;
    server.wait_for("update finished", Duration::from_secs(120), || {
        describe = server.ok("DescribeEndpoint", json!({"EndpointName": name}));
        for v in describe["PendingDeploymentSummary"]["ProductionVariants"]
            .as_array()
            .into_iter()
            .flatten()
        {
            if let Some(s) = v["VariantStatus"][0]["Status"].as_str() {
                if statuses.last().map(String::as_str) != Some(s) {
                    statuses.push(s.to_string());
                }
            }
        }
        describe["EndpointStatus"] != "Updating"
    });
    let wall = start.elapsed();
    // Keep loading briefly after the end so "v2 only" is observed.
    let settle = load.count() + 200;
    server.wait_for("post-update load", Duration::from_secs(10), || {
        load.count() > settle
    });
    let samples = load.stop();
    Run {
        samples,
        wall,
        statuses,
        describe,
    }
}

fn report(mode: &str, run: &Run) {
    println!(
        "deployment-report mode={mode} invocations={} failed={} wall_s={:.2} statuses={:?} versions={:?}",
        run.samples.len(),
        failures(&run.samples).len(),
        run.wall.as_secs_f64(),
        run.statuses,
        version_runs(&run.samples).len()
    );
}

fn assert_zero_failures_and_v1_to_v2(run: &Run) {
    let failed = failures(&run.samples);
    assert!(
        failed.is_empty(),
        "{} failed invocations, first: {:?}",
        failed.len(),
        failed.first()
    );
    let runs = version_runs(&run.samples);
    assert_eq!(runs.first().map(String::as_str), Some("v1"), "{runs:?}");
    assert_eq!(runs.last().map(String::as_str), Some("v2"), "{runs:?}");
    let tail: Vec<&str> = run
        .samples
        .iter()
        .rev()
        .take(100)
        .map(|s| s.version.as_str())
        .collect();
    assert!(
        tail.iter().all(|v| *v == "v2"),
        "v2 only at the end: {tail:?}"
    );
    assert_eq!(run.describe["EndpointStatus"], "InService");
    assert!(run.describe.get("PendingDeploymentSummary").is_none());
    assert!(
        run.describe.get("FailureReason").is_none(),
        "{}",
        run.describe
    );
}

/// One atomic switch: no request sent after the first v2 answer *arrived* was answered by v1
/// (requests already routed to v1 when the table swapped may still finish after it).
fn assert_atomic_switch(samples: &[Sample]) {
    let first_v2 = samples
        .iter()
        .filter(|s| s.version == "v2")
        .map(|s| s.done)
        .min()
        .unwrap();
    let late_v1: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.version == "v1" && s.at > first_v2)
        .collect();
    assert!(
        late_v1.is_empty(),
        "v1 answered after the switch: {:?}",
        late_v1.first()
    );
}

/// Fraction of v2 answers in the `window` after v2 first appears.
fn early_v2_share(samples: &[Sample], window: Duration) -> f64 {
    let Some(first) = samples.iter().find(|s| s.version == "v2") else {
        return 0.0;
    };
    let slice: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.at >= first.at && s.at < first.at + window)
        .collect();
    slice.iter().filter(|s| s.version == "v2").count() as f64 / slice.len().max(1) as f64
}

/// Keeps the load going a little after the end (so the final version is observed), stops it,
/// prints the figures and asserts that no invocation failed.
fn finish_load(server: &Server, load: Load, mode: &str) -> Vec<Sample> {
    let settle = load.count() + 200;
    server.wait_for("load after the end", Duration::from_secs(10), || {
        load.count() > settle
    });
    let samples = load.stop();
    println!(
        "deployment-report mode={mode} invocations={} failed={}",
        samples.len(),
        failures(&samples).len()
    );
    assert!(
        failures(&samples).is_empty(),
        "{:?}",
        failures(&samples).first()
    );
    samples
}

#[test]
fn plain_update_switches_all_at_once_without_errors() {
    let (_dir, server) = fresh_server();
    setup(&server, "plain", 2);
    let run = update_under_load(&server, "plain", None);
    report("none", &run);
    assert_zero_failures_and_v1_to_v2(&run);
    assert_atomic_switch(&run.samples);
    assert_eq!(run.describe["EndpointConfigName"], "plain-c2");
}

#[test]
fn all_at_once_bakes_then_tears_down_blue() {
    let (_dir, server) = fresh_server();
    setup(&server, "aao", 2);
    let dc = json!({"BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 1}, "TerminationWaitInSeconds": 1}});
    let run = update_under_load(&server, "aao", Some(dc.clone()));
    report("ALL_AT_ONCE", &run);
    assert_zero_failures_and_v1_to_v2(&run);
    assert_atomic_switch(&run.samples);
    assert!(
        run.statuses.contains(&"Baking".to_string()),
        "{:?}",
        run.statuses
    );
    assert!(
        run.wall >= Duration::from_secs(2),
        "bake + termination wait: {:?}",
        run.wall
    );
    assert_eq!(run.describe["LastDeploymentConfig"], dc);
}

#[test]
fn canary_shifts_a_quarter_then_everything() {
    let (_dir, server) = fresh_server();
    setup(&server, "canary", 4);
    let dc = json!({"BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": {"Type": "CANARY", "WaitIntervalInSeconds": 2, "CanarySize": {"Type": "INSTANCE_COUNT", "Value": 1}}}});
    let run = update_under_load(&server, "canary", Some(dc));
    report("CANARY", &run);
    assert_zero_failures_and_v1_to_v2(&run);
    let share = early_v2_share(&run.samples, Duration::from_millis(1500));
    assert!(
        (0.1..0.45).contains(&share),
        "canary share of v2 during the bake: {share}"
    );
    assert!(
        run.statuses.contains(&"Baking".to_string()),
        "{:?}",
        run.statuses
    );
}

#[test]
fn linear_steps_in_quarters() {
    let (_dir, server) = fresh_server();
    setup(&server, "linear", 4);
    let dc = json!({"BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": {"Type": "LINEAR", "WaitIntervalInSeconds": 1, "LinearStepSize": {"Type": "CAPACITY_PERCENT", "Value": 25}}}});
    let run = update_under_load(&server, "linear", Some(dc));
    report("LINEAR", &run);
    assert_zero_failures_and_v1_to_v2(&run);
    let share = early_v2_share(&run.samples, Duration::from_millis(800));
    assert!(
        (0.1..0.45).contains(&share),
        "first linear step share of v2: {share}"
    );
    assert!(
        run.wall >= Duration::from_secs(4),
        "four bakes of 1 s: {:?}",
        run.wall
    );
}

#[test]
fn rolling_replaces_four_instances_one_at_a_time() {
    let (_dir, server) = fresh_server();
    setup(&server, "rolling", 4);
    let dc = json!({"RollingUpdatePolicy": {"MaximumBatchSize": {"Type": "INSTANCE_COUNT", "Value": 1}, "WaitIntervalInSeconds": 1}});
    let run = update_under_load(&server, "rolling", Some(dc));
    report("ROLLING", &run);
    assert_zero_failures_and_v1_to_v2(&run);
    let share = early_v2_share(&run.samples, Duration::from_millis(800));
    assert!(
        (0.1..0.45).contains(&share),
        "first batch share of v2: {share}"
    );
}

#[test]
fn green_crash_during_bake_rolls_back_to_blue_without_errors() {
    let (_dir, server) = fresh_server();
    setup(&server, "rb", 2);
    let load = Load::start(&server.url, "rb", 4);
    server.wait_for("load running", Duration::from_secs(10), || {
        load.count() > 50
    });
    server.ok(
        "UpdateEndpoint",
        json!({"EndpointName": "rb", "EndpointConfigName": "rb-c2", "DeploymentConfig": {"BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": {"Type": "CANARY", "WaitIntervalInSeconds": 30, "CanarySize": {"Type": "INSTANCE_COUNT", "Value": 1}}}}}),
    );
    // Learn a v2 instance from live traffic during the canary bake, then crash it.
    let mut v2 = None;
    server.wait_for("a v2 answer", Duration::from_secs(30), || {
        let (_, body, _) = server.invoke("rb", "{}");
        if body["model_version"] == "v2" {
            v2 = Some(instance_of(&body));
        }
        v2.is_some()
    });
    crash_instance(&v2.unwrap());
    let mut d = Value::Null;
    server.wait_for("rolled back", Duration::from_secs(30), || {
        d = server.ok("DescribeEndpoint", json!({"EndpointName": "rb"}));
        d["EndpointStatus"] == "InService"
    });
    // Requests in flight on the killed instance are retried on another instance once the
    // proxy sees the process gone, so nothing fails.
    let samples = finish_load(&server, load, "rollback-green-crash");
    assert_eq!(d["EndpointConfigName"], "rb-c");
    let reason = d["FailureReason"].as_str().unwrap_or_default();
    assert!(reason.starts_with("Update rolled back"), "{reason}");
    let tail: Vec<&str> = samples
        .iter()
        .rev()
        .take(100)
        .map(|s| s.version.as_str())
        .collect();
    assert!(tail.iter().all(|v| *v == "v1"), "back on v1: {tail:?}");
}

#[test]
fn rolling_rollback_in_batches_after_a_green_crash_without_errors() {
    let (_dir, server) = fresh_server();
    setup(&server, "rrb", 4);
    let load = Load::start(&server.url, "rrb", 4);
    server.wait_for("load running", Duration::from_secs(10), || {
        load.count() > 50
    });
    server.ok(
        "UpdateEndpoint",
        json!({"EndpointName": "rrb", "EndpointConfigName": "rrb-c2", "DeploymentConfig": {"RollingUpdatePolicy": {
            "MaximumBatchSize": {"Type": "INSTANCE_COUNT", "Value": 1}, "WaitIntervalInSeconds": 2,
            "RollbackMaximumBatchSize": {"Type": "INSTANCE_COUNT", "Value": 1}}}}),
    );
    // Wait until two new instances serve (batch 2), then crash one of them.
    let mut v2s = std::collections::HashSet::new();
    server.wait_for(
        "two v2 instances answering",
        Duration::from_secs(30),
        || {
            let (_, body, _) = server.invoke("rrb", "{}");
            if body["model_version"] == "v2" {
                v2s.insert(instance_of(&body));
            }
            v2s.len() >= 2
        },
    );
    crash_instance(v2s.iter().next().unwrap());
    let mut d = Value::Null;
    server.wait_for("rolled back", Duration::from_secs(60), || {
        d = server.ok("DescribeEndpoint", json!({"EndpointName": "rrb"}));
        d["EndpointStatus"] != "Updating"
    });
    let samples = finish_load(&server, load, "rolling-rollback");
    assert_eq!(d["EndpointStatus"], "InService", "{d}");
    assert_eq!(d["EndpointConfigName"], "rrb-c", "{d}");
    assert!(
        d["FailureReason"]
            .as_str()
            .unwrap_or_default()
            .starts_with("Update rolled back"),
        "{d}"
    );
    // The fourth old instance may still be starting when the status turns InService (noted as
    // a known gap); it must be serving shortly after.
    server.wait_serving("rrb", Duration::from_secs(30));
    let tail: Vec<&str> = samples
        .iter()
        .rev()
        .take(100)
        .map(|s| s.version.as_str())
        .collect();
    assert!(tail.iter().all(|v| *v == "v1"), "back on v1: {tail:?}");
}
