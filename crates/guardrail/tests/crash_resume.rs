//! kill -9 the server at a random point of a LINEAR update, restart it on the same data dir,
//! and check the update reaches the outcome it would have reached without the crash (v2 in
//! service), with no orphaned instances. Seeds are printed so a failure can be replayed with
//! `GUARDRAIL_CRASH_SEED=<seed>`.

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::json;

fn model_pids(data: &std::path::Path) -> Vec<u32> {
    let dir = data.join("instances");
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .filter_map(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .filter_map(|v| v["pid"].as_u64().map(|p| p as u32))
        .collect()
}

#[test]
fn linear_update_survives_kill_9_at_random_points() {
    let runs: u64 = 10;
    let base_seed = seed_from_env("GUARDRAIL_CRASH_SEED");
    for run in 0..runs {
        let seed = base_seed.wrapping_add(run.wrapping_mul(0x9E37_79B9_7F4A_7C15)) | 1;
        let seed_printed = seed;
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let mut server = Server::start(&data);
        server.create_endpoint("lin", "model:v1", json!({}), 4);
        server.ok(
            "CreateModel",
            json!({"ModelName": "lin-m2", "PrimaryContainer": {"Image": "model:v2"}}),
        );
        server.ok(
            "CreateEndpointConfig",
            json!({"EndpointConfigName": "lin-c2", "ProductionVariants": [{"VariantName": "AllTraffic", "ModelName": "lin-m2", "InitialInstanceCount": 4, "InstanceType": "ml.m5.large"}]}),
        );
        server.wait_serving("lin", Duration::from_secs(30));
        server.ok(
            "UpdateEndpoint",
            json!({"EndpointName": "lin", "EndpointConfigName": "lin-c2", "DeploymentConfig": {"BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": {"Type": "LINEAR", "WaitIntervalInSeconds": 1, "LinearStepSize": {"Type": "INSTANCE_COUNT", "Value": 1}}, "TerminationWaitInSeconds": 1}}}),
        );
        // The update takes ~6 s (provision + 4 bakes + T); crash anywhere in it.
        let delay = Duration::from_millis(Rng(seed).next() % 6000);
        std::thread::sleep(delay); // the crash point itself, not a wait for state
        let before = model_pids(&data);
        server.kill9();
        println!("crash-run {run}: seed={seed_printed} killed after {delay:?}");

        let start = Instant::now();
        let server = Server::start(&data);
        server.wait_for("old instances gone", Duration::from_secs(10), || {
            before.iter().all(|p| !alive(*p))
        });
        let mut last = serde_json::Value::Null;
        server.wait_for(
            &format!("run {run} (seed {seed_printed}) converges"),
            Duration::from_secs(60),
            || {
                last = server.ok("DescribeEndpoint", json!({"EndpointName": "lin"}));
                last["EndpointStatus"] == "InService"
                    && last["ProductionVariants"][0]["CurrentInstanceCount"] == 4
            },
        );
        println!(
            "crash-run {run}: recovered to InService in {:?}",
            start.elapsed()
        );
        assert_eq!(
            last["EndpointConfigName"], "lin-c2",
            "seed {seed_printed}: {last}"
        );
        assert!(
            last.get("FailureReason").is_none(),
            "seed {seed_printed}: {last}"
        );
        for _ in 0..20 {
            let (status, body, _) = server.invoke("lin", "{}");
            assert_eq!(status, 200, "seed {seed_printed}: {body}");
            assert_eq!(body["model_version"], "v2", "seed {seed_printed}");
        }
    }
}
