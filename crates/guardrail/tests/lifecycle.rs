//! End-to-end: the real binary, real model-server instances, over HTTP on loopback.

mod common;

use std::collections::HashSet;
use std::time::Duration;

use common::*;
use serde_json::json;

#[test]
fn endpoint_serves_invocations_and_replaces_a_crashed_instance() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start(&data);
    server.create_endpoint("ep1", "model:v1", json!({"MODEL_VERSION": "v7"}), 2);
    assert_eq!(server.status("ep1"), "Creating");
    server.wait_status("ep1", "InService", Duration::from_secs(30));

    let mut pids = HashSet::new();
    for _ in 0..20 {
        let (status, body, headers) = server.invoke("ep1", r#"{"x":1}"#);
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            body["model_version"], "v7",
            "model env overrides the image env"
        );
        assert_eq!(headers["x-amzn-invoked-production-variant"], "AllTraffic");
        pids.insert(body["pid"].as_u64().unwrap() as u32);
    }
    assert_eq!(pids.len(), 2, "both instances take traffic");

    let victim = *pids.iter().next().unwrap();
    signal(victim, "KILL");
    server.wait_for("a replacement instance", Duration::from_secs(30), || {
        let d = server.ok("DescribeEndpoint", json!({"EndpointName": "ep1"}));
        let (_, body, _) = server.invoke("ep1", "{}");
        d["ProductionVariants"][0]["CurrentInstanceCount"] == 2
            && body["pid"]
                .as_u64()
                .is_some_and(|p| !pids.contains(&(p as u32)))
    });
    assert_eq!(server.status("ep1"), "InService");
    for _ in 0..30 {
        let (status, body, _) = server.invoke("ep1", "{}");
        assert_eq!(status, 200, "{body}");
    }
}

#[test]
fn restart_resumes_endpoints_and_leaves_no_orphans() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut server = Server::start(&data);
    server.create_endpoint("ep2", "model:v1", json!({}), 1);
    server.wait_status("ep2", "InService", Duration::from_secs(30));
    let (_, body, _) = server.invoke("ep2", "{}");
    let first_pid = body["pid"].as_u64().unwrap() as u32;

    // kill -9: the instance must not outlive the server's next start.
    server.kill9();
    let server2 = Server::start(&data);
    server2.wait_for("orphan gone", Duration::from_secs(10), || !alive(first_pid));
    server2.wait_serving("ep2", Duration::from_secs(30));
    let (status, body, _) = server2.invoke("ep2", "{}");
    assert_eq!(status, 200, "{body}");
    let second_pid = body["pid"].as_u64().unwrap() as u32;
    assert_ne!(first_pid, second_pid);

    // SIGTERM: graceful stop, exit 0, instances stopped.
    let mut server2 = server2;
    assert_eq!(server2.terminate(), Some(0));
    assert!(!alive(second_pid), "instance stopped with the server");
    let server3 = Server::start(&data);
    server3.wait_serving("ep2", Duration::from_secs(30));
    let (status, _, _) = server3.invoke("ep2", "{}");
    assert_eq!(status, 200);
}

#[test]
fn failing_ping_makes_the_endpoint_failed_and_delete_removes_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start(&data);
    // A process that exits at once fails the create without waiting for the window.
    server.create_endpoint(
        "ep3",
        "model:v1",
        json!({"SAGEMAKER_BIND_TO_PORT_IGNORED": "1", "STARTUP_DELAY_S": "not-a-number"}),
        1,
    );
    server.wait_status("ep3", "Failed", Duration::from_secs(30));
    let d = server.ok("DescribeEndpoint", json!({"EndpointName": "ep3"}));
    let reason = d["FailureReason"].as_str().unwrap();
    assert!(
        reason.contains("did not pass the ping health check"),
        "{reason}"
    );
    let (status, body, headers) = server.invoke("ep3", "{}");
    assert_eq!(status, 400, "{body}");
    assert_eq!(headers["x-amzn-errortype"], "ValidationError");

    server.ok("DeleteEndpoint", json!({"EndpointName": "ep3"}));
    server.wait_for("endpoint gone", Duration::from_secs(20), || {
        server
            .call("DescribeEndpoint", json!({"EndpointName": "ep3"}))
            .0
            == 400
    });
    let (_, err) = server.call("DescribeEndpoint", json!({"EndpointName": "ep3"}));
    assert_eq!(err["__type"], "ValidationException");
    assert_eq!(
        err["message"],
        "Could not find endpoint \"arn:aws:sagemaker:us-east-1:123456789012:endpoint/ep3\"."
    );
}

#[test]
fn model_errors_and_unknown_endpoints_use_sagemaker_errors() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start(&data);
    server.create_endpoint("ep4", "model:v1", json!({"ERROR_RATE": "1"}), 1);
    server.wait_status("ep4", "InService", Duration::from_secs(30));
    let (status, body, headers) = server.invoke("ep4", "{}");
    assert_eq!(status, 424, "{body}");
    assert!(headers["x-amzn-errortype"]
        .to_str()
        .unwrap()
        .starts_with("ModelError"));
    assert_eq!(body["OriginalStatusCode"], 500);

    let (status, body, _) = server.invoke("nope", "{}");
    assert_eq!(status, 400);
    assert_eq!(
        body["message"],
        "Endpoint nope of account 123456789012 not found."
    );

    let (status, body) = server.call("NoSuchOp", json!({}));
    assert_eq!(status, 400);
    assert_eq!(body["__type"], "UnknownOperationException");
}
