//! Resource limits from `[limits]`: admission refuses with `ResourceLimitExceeded` and changes
//! nothing; per-instance concurrency answers a retryable `ServiceUnavailable` instead of
//! queueing without bound, and the server keeps serving.

mod common;

use std::time::Duration;

use common::*;
use serde_json::json;

const LIMITS: &str = r#"
[limits]
max_endpoints = 2
max_instances_per_endpoint = 2
max_instances = 3
max_concurrent_invocations_per_instance = 2
"#;

fn config(server: &Server, name: &str, image: &str, count: u32, env: serde_json::Value) {
    server.ok(
        "CreateModel",
        json!({"ModelName": format!("{name}-m"), "PrimaryContainer": {"Image": image, "Environment": env}}),
    );
    server.ok(
        "CreateEndpointConfig",
        json!({"EndpointConfigName": format!("{name}-c"), "ProductionVariants": [{
            "VariantName": "AllTraffic", "ModelName": format!("{name}-m"),
            "InitialInstanceCount": count, "InstanceType": "ml.m5.large"}]}),
    );
}

fn expect_limit(server: &Server, op: &str, body: serde_json::Value, key: &str) {
    let (status, v) = server.call(op, body);
    assert_eq!(status, 400, "{v}");
    assert_eq!(v["__type"], "ResourceLimitExceeded", "{v}");
    assert!(v["message"].as_str().unwrap_or("").contains(key), "{v}");
}

#[test]
fn limits_refuse_endpoints_and_instances_and_shed_excess_concurrency() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with_config(&dir.path().join("data"), LIMITS);
    config(&server, "big", "model:v1", 3, json!({}));
    expect_limit(
        &server,
        "CreateEndpoint",
        json!({"EndpointName": "big", "EndpointConfigName": "big-c"}),
        "max_instances_per_endpoint",
    );
    let (status, _) = server.call("DescribeEndpoint", json!({"EndpointName": "big"}));
    assert_eq!(status, 400, "a refused CreateEndpoint leaves nothing");

    config(&server, "a", "model:v1", 2, json!({"LATENCY_MS": "300"}));
    server.ok(
        "CreateEndpoint",
        json!({"EndpointName": "a", "EndpointConfigName": "a-c"}),
    );
    config(&server, "b", "model:v1", 2, json!({}));
    expect_limit(
        &server,
        "CreateEndpoint",
        json!({"EndpointName": "b", "EndpointConfigName": "b-c"}),
        "max_instances",
    );
    config(&server, "c", "model:v1", 1, json!({}));
    server.ok(
        "CreateEndpoint",
        json!({"EndpointName": "c", "EndpointConfigName": "c-c"}),
    );
    config(&server, "d", "model:v1", 1, json!({}));
    expect_limit(
        &server,
        "CreateEndpoint",
        json!({"EndpointName": "d", "EndpointConfigName": "d-c"}),
        "max_endpoints",
    );
    server.wait_serving("a", Duration::from_secs(30));
    server.wait_serving("c", Duration::from_secs(30));
    // Scaling "c" to 2 would need 4 instances in total.
    expect_limit(
        &server,
        "UpdateEndpointWeightsAndCapacities",
        json!({"EndpointName": "c", "DesiredWeightsAndCapacities": [{"VariantName": "AllTraffic", "DesiredInstanceCount": 2}]}),
        "max_instances",
    );
    let d = server.ok("DescribeEndpoint", json!({"EndpointName": "c"}));
    assert_eq!(d["ProductionVariants"][0]["DesiredInstanceCount"], 1, "{d}");

    // Two instances × two concurrent requests: a burst of 12 slow requests gets some 503s
    // (retryable), never anything else, and the endpoint keeps answering afterwards.
    let url = format!("{}/endpoints/a/invocations", server.url);
    let handles: Vec<_> = (0..12)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || {
                reqwest::blocking::Client::new()
                    .post(url)
                    .header("content-type", "application/json")
                    .body("{}")
                    .timeout(Duration::from_secs(30))
                    .send()
                    .map(|r| {
                        (
                            r.status().as_u16(),
                            r.headers()
                                .get("x-amzn-errortype")
                                .map(|v| v.to_str().unwrap_or("").to_string()),
                        )
                    })
                    .unwrap_or((0, None))
            })
        })
        .collect();
    let results: Vec<(u16, Option<String>)> =
        handles.into_iter().map(|h| h.join().unwrap()).collect();
    let ok = results.iter().filter(|r| r.0 == 200).count();
    let shed = results.iter().filter(|r| r.0 == 503).count();
    println!("limits-report burst=12 ok={ok} shed_503={shed} results={results:?}");
    assert_eq!(ok + shed, 12, "only 200 or 503: {results:?}");
    assert!(ok >= 4, "{results:?}");
    assert!(
        shed >= 1,
        "the burst exceeded 2 × 2 concurrent requests: {results:?}"
    );
    let (status, body, _) = server.invoke("a", "{}");
    assert_eq!(status, 200, "{body}");
}
