//! Instance faults under load: an instance that crashes or hangs is replaced while the
//! endpoint keeps serving. Figures are printed (`instance-fault-report …`): failed requests in
//! the 5 s after the fault and afterwards.

mod common;

use std::time::Duration;

use common::load::{Load, Sample};
use common::*;
use serde_json::json;

fn model_pids(data: &std::path::Path) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir(data.join("instances")) else {
        return Vec::new();
    };
    let mut pids: Vec<u32> = entries
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "pid"))
        .filter_map(|e| std::fs::read(e.path()).ok())
        .filter_map(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .filter_map(|v| v["pid"].as_u64().map(|p| p as u32))
        .filter(|p| alive(*p))
        .collect();
    pids.sort_unstable();
    pids
}

fn ready_count(server: &Server, name: &str) -> u64 {
    let d = server.ok("DescribeEndpoint", json!({"EndpointName": name}));
    d["ProductionVariants"][0]["CurrentInstanceCount"]
        .as_u64()
        .unwrap_or(0)
}

/// Failed samples sent in `[from, to)` and their share of all samples sent then.
fn failed_between(samples: &[Sample], from: Duration, to: Duration) -> (usize, usize) {
    let window: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.at >= from && s.at < to)
        .collect();
    let failed = window.iter().filter(|s| s.status != 200).count();
    (failed, window.len())
}

#[test]
fn a_crashed_instance_is_replaced_with_almost_no_failed_requests() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start(&data);
    server.create_endpoint("crashy", "model:v1", json!({}), 2);
    server.wait_serving("crashy", Duration::from_secs(30));
    let before = model_pids(&data);
    assert_eq!(before.len(), 2, "{before:?}");

    let load = Load::start(&server.url, "crashy", 4);
    server.wait_for("load running", Duration::from_secs(10), || {
        load.count() > 200
    });
    signal(before[0], "KILL");
    let killed_at = load.started.elapsed();
    server.wait_for("replacement ready", Duration::from_secs(30), || {
        let now = model_pids(&data);
        now.len() == 2 && !now.contains(&before[0]) && ready_count(&server, "crashy") == 2
    });
    assert_eq!(server.status("crashy"), "InService");
    // Keep loading past the 5 s window so "afterwards" has data.
    let until = killed_at + Duration::from_secs(6);
    server.wait_for("post-fault load", Duration::from_secs(20), || {
        load.started.elapsed() > until
    });
    let samples = load.stop();
    let after_start = killed_at + Duration::from_secs(5);
    let (early, early_n) = failed_between(&samples, killed_at, after_start);
    let (late, late_n) = failed_between(&samples, after_start, Duration::MAX);
    println!(
        "instance-fault-report fault=crash requests_5s={early_n} failed_5s={early} ({:.3} %) requests_after={late_n} failed_after={late}",
        100.0 * early as f64 / early_n.max(1) as f64
    );
    assert!(
        (early as f64) < 0.01 * early_n as f64,
        "{early} of {early_n} failed in the 5 s after the crash"
    );
    assert_eq!(late, 0, "no failures once the crash is absorbed");
}

#[test]
fn a_hung_instance_is_taken_out_and_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start(&data);
    server.create_endpoint("hung", "model:v1", json!({}), 2);
    server.wait_serving("hung", Duration::from_secs(30));
    let before = model_pids(&data);
    assert_eq!(before.len(), 2, "{before:?}");

    let load = Load::start(&server.url, "hung", 4);
    server.wait_for("load running", Duration::from_secs(10), || {
        load.count() > 200
    });
    // SIGSTOP: the process is alive but answers nothing, neither /ping nor invocations.
    signal(before[0], "STOP");
    let hung_at = load.started.elapsed();
    server.wait_for("hung instance replaced", Duration::from_secs(60), || {
        let now = model_pids(&data);
        now.iter().filter(|p| **p != before[0]).count() == 2 && ready_count(&server, "hung") == 2
    });
    let replaced_after = load.started.elapsed() - hung_at;
    assert_eq!(server.status("hung"), "InService");
    signal(before[0], "CONT");
    let settle = load.count() + 500;
    server.wait_for("post-fault load", Duration::from_secs(30), || {
        load.count() > settle
    });
    let samples = load.stop();
    let (failed, n) = failed_between(&samples, hung_at, Duration::MAX);
    // Requests that reached the hung process before it was taken out wait for their timeout;
    // every other request is served by the healthy instance.
    println!(
        "instance-fault-report fault=hang replaced_after_s={:.1} requests={n} failed={failed}",
        replaced_after.as_secs_f64()
    );
    assert!(
        failed <= 8,
        "only requests already on the hung instance may fail: {failed} of {n}"
    );
    let tail_failed = samples
        .iter()
        .rev()
        .take(300)
        .filter(|s| s.status != 200)
        .count();
    assert_eq!(tail_failed, 0, "the endpoint serves normally afterwards");
    assert!(!alive(before[0]) || !model_pids(&data).contains(&before[0]));
}
