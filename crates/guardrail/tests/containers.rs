//! The real binary with the container backend on (podman's Docker-compatible service, set up
//! by `scripts/setup.sh`; images from `scripts/test-images.sh`): failures name their cause,
//! artifacts reach the container read-only, instance types limit it, a crashed container is
//! replaced. Prints `container-report …` lines (start-to-ready time, memory per instance against
//! the process backend). Every wait is bounded.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};

const SERVER_IMAGE: &str = "localhost/guardrail-test/model-server:latest";
/// The model server with `MODEL_VERSION=v1` (container mode's `image("v1")`, whatever the mode).
const V1: &str = "localhost/guardrail-test/model:v1";

/// A server with `[containers]` and a local bucket `models` at `<tmp>/bucket`.
fn container_server() -> (tempfile::TempDir, Server) {
    let dir = tempfile::tempdir().unwrap();
    let bucket = dir.path().join("bucket");
    std::fs::create_dir_all(&bucket).unwrap();
    // The stand-alone model server (what the container images run) as a process image too, so
    // the footprint compares like with like.
    let model_server = Path::new(BIN).with_file_name("guardrail-model-server");
    let extra = format!(
        "[containers]\nengine = \"{}\"\n[model_data.local_buckets]\n\"models\" = \"{}\"\n\
         [images.\"model-server:process\"]\ncommand = [\"{}\"]\n",
        engine_address(),
        bucket.display(),
        model_server.display()
    );
    let server = Server::start_with_config(&dir.path().join("data"), &extra);
    (dir, server)
}

/// Writes `files` as a gzip-compressed tar at `<bucket>/<key>` (with the system's `tar`).
fn put_archive(dir: &Path, key: &str, files: &[(&str, &str)]) {
    let src = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(src.path().join(name), text).unwrap();
    }
    let dest = dir.join("bucket").join(key);
    std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
    let status = std::process::Command::new("tar")
        .arg("-C")
        .arg(src.path())
        .arg("-czf")
        .arg(&dest)
        .arg(".")
        .status()
        .unwrap();
    assert!(status.success());
}

fn create(server: &Server, name: &str, container: Value, instance_type: &str, count: u32) {
    server.ok(
        "CreateModel",
        json!({"ModelName": format!("{name}-m"), "PrimaryContainer": container}),
    );
    server.ok(
        "CreateEndpointConfig",
        json!({"EndpointConfigName": format!("{name}-c"), "ProductionVariants": [{
            "VariantName": "AllTraffic", "ModelName": format!("{name}-m"),
            "InitialInstanceCount": count, "InstanceType": instance_type}]}),
    );
    server.ok(
        "CreateEndpoint",
        json!({"EndpointName": name, "EndpointConfigName": format!("{name}-c")}),
    );
}

/// Waits (bounded) until the endpoint leaves `Creating`/`Updating`; returns its description.
fn settle(server: &Server, name: &str) -> Value {
    let mut d = Value::Null;
    server.wait_for(&format!("{name} settled"), Duration::from_secs(90), || {
        d = server.ok("DescribeEndpoint", json!({"EndpointName": name}));
        !matches!(
            d["EndpointStatus"].as_str(),
            Some("Creating" | "Updating" | "RollingBack")
        )
    });
    d
}

/// `VmRSS` of a process, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn ppid(pid: u32) -> u32 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    stat.rfind(')')
        .and_then(|i| stat[i + 1..].split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0)
}

/// The engine's view of a container: (main pid, memory limit, NanoCpus).
fn inspect(container: &str) -> (u32, i64, i64) {
    let id = container.to_string();
    with_engine(async move |docker| {
        let c = docker
            .inspect_container(
                &id,
                None::<bollard::query_parameters::InspectContainerOptions>,
            )
            .await
            .unwrap();
        let host = c.host_config.unwrap();
        (
            c.state.and_then(|s| s.pid).unwrap_or(0) as u32,
            host.memory.unwrap_or(0),
            host.nano_cpus.unwrap_or(0),
        )
    })
}

#[test]
fn an_image_that_cannot_be_pulled_fails_the_endpoint_with_its_reason() {
    let (_dir, server) = container_server();
    create(
        &server,
        "nopull",
        json!({"Image": "localhost/guardrail-test/does-not-exist:1"}),
        "ml.m5.large",
        1,
    );
    let d = settle(&server, "nopull");
    assert_eq!(d["EndpointStatus"], "Failed", "{d}");
    let reason = d["FailureReason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("cannot pull image localhost/guardrail-test/does-not-exist:1"),
        "{reason}"
    );
}

#[test]
fn an_update_to_an_image_that_cannot_run_rolls_back_with_its_reason() {
    let (_dir, server) = container_server();
    create(&server, "upd", json!({"Image": V1}), "ml.m5.large", 1);
    assert_eq!(settle(&server, "upd")["EndpointStatus"], "InService");
    server.ok(
        "CreateModel",
        json!({"ModelName": "upd-bad", "PrimaryContainer": {"Image": "localhost/guardrail-test/does-not-exist:2"}}),
    );
    server.ok(
        "CreateEndpointConfig",
        json!({"EndpointConfigName": "upd-c2", "ProductionVariants": [{
            "VariantName": "AllTraffic", "ModelName": "upd-bad",
            "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}]}),
    );
    server.ok(
        "UpdateEndpoint",
        json!({"EndpointName": "upd", "EndpointConfigName": "upd-c2"}),
    );
    let d = settle(&server, "upd");
    assert_eq!(d["EndpointStatus"], "InService", "{d}");
    assert_eq!(
        d["EndpointConfigName"], "upd-c",
        "back on the old config: {d}"
    );
    let reason = d["FailureReason"].as_str().unwrap_or_default();
    assert!(reason.contains("cannot pull image"), "{reason}");
    let (status, body, _) = server.invoke("upd", "{}");
    assert_eq!((status, body["model_version"].as_str()), (200, Some("v1")));
}

#[test]
fn artifacts_reach_the_container_read_only_and_the_instance_type_limits_it() {
    let (dir, server) = container_server();
    put_archive(dir.path(), "art/model.tar.gz", &[("VERSION", "art-7\n")]);
    let started = Instant::now();
    create(
        &server,
        "art",
        json!({"Image": SERVER_IMAGE, "ModelDataUrl": "s3://models/art/model.tar.gz"}),
        "ml.t2.medium",
        1,
    );
    let d = settle(&server, "art");
    let ready_ms = started.elapsed().as_millis();
    assert_eq!(
        d["EndpointStatus"],
        "InService",
        "{d}\n{}",
        server.log_tail()
    );
    let (status, body, _) = server.invoke("art", "{}");
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["model_version"], "art-7",
        "the model dir is /opt/ml/model"
    );

    let containers = instance_containers(&server.data_dir);
    assert_eq!(containers.len(), 1);
    let (pid, memory, nano_cpus) = inspect(&containers[0]);
    assert_eq!(memory, 4 << 30, "ml.t2.medium: 4 GiB");
    let host_cpus = std::thread::available_parallelism().map_or(1, |n| n.get()) as i64;
    assert_eq!(nano_cpus, 2_000_000_000.min(host_cpus * 1_000_000_000));
    // The extracted copy is kept once per source in the data dir, read-only.
    let models = server.data_dir.join("models");
    let version = walk(&models)
        .into_iter()
        .find(|p| p.ends_with("model/VERSION"))
        .expect("extracted VERSION under <data_dir>/models");
    assert!(std::fs::metadata(&version)
        .unwrap()
        .permissions()
        .readonly());
    // Instance log: Guardrail's lines and the container's own output.
    let logs = walk(&server.data_dir.join("logs"));
    let log = std::fs::read_to_string(&logs[0]).unwrap();
    assert!(log.contains("model server listening"), "{log}");
    println!(
        "container-report case=start-to-ready ms={ready_ms} (CreateEndpoint → InService, 1 container, artifacts from a local bucket) container_rss_kib={} conmon_rss_kib={}",
        rss_kib(pid),
        rss_kib(ppid(pid))
    );
}

#[test]
fn broken_artifacts_fail_the_endpoint_with_the_url_and_the_cause() {
    let (dir, server) = container_server();
    let bucket = dir.path().join("bucket");
    std::fs::create_dir_all(bucket.join("bad")).unwrap();
    std::fs::write(bucket.join("bad/model.tar.gz"), b"this is not gzip").unwrap();
    create(
        &server,
        "corrupt",
        json!({"Image": SERVER_IMAGE, "ModelDataUrl": "s3://models/bad/model.tar.gz"}),
        "ml.m5.large",
        1,
    );
    create(
        &server,
        "missing",
        json!({"Image": SERVER_IMAGE, "ModelDataUrl": "s3://models/nope/model.tar.gz"}),
        "ml.m5.large",
        1,
    );
    for (name, cause) in [("corrupt", "gzip"), ("missing", "does not exist")] {
        let d = settle(&server, name);
        assert_eq!(d["EndpointStatus"], "Failed", "{d}");
        let reason = d["FailureReason"].as_str().unwrap_or_default();
        assert!(
            reason.contains("model data s3://models/") && reason.contains(cause),
            "{name}: {reason}"
        );
    }
    assert!(instance_containers(&server.data_dir).is_empty());
}

#[test]
fn a_crashed_container_is_replaced_while_the_endpoint_keeps_serving() {
    let (_dir, server) = container_server();
    create(&server, "crash", json!({"Image": V1}), "ml.m5.large", 2);
    assert_eq!(settle(&server, "crash")["EndpointStatus"], "InService");
    let before = instance_containers(&server.data_dir);
    assert_eq!(before.len(), 2);
    let (_, body, _) = server.invoke("crash", "{}");
    crash_container(body["host"].as_str().expect("the container's host name"));
    let mut failed = 0;
    server.wait_for("a replacement container", Duration::from_secs(60), || {
        let (status, _, _) = server.invoke("crash", "{}");
        failed += usize::from(status != 200);
        let now = instance_containers(&server.data_dir);
        now.len() == 2 && now.iter().any(|c| !before.contains(c))
    });
    let d = server.ok("DescribeEndpoint", json!({"EndpointName": "crash"}));
    assert_eq!(d["EndpointStatus"], "InService", "{d}");
    assert_eq!(
        failed, 0,
        "requests failed while the container was replaced"
    );
}

/// Memory of one instance: the stand-alone model server as a process against the same binary in
/// a container (its process plus the engine's per-container monitor, conmon). Figures only.
#[test]
fn footprint_of_a_container_instance_against_a_process() {
    assert!(
        Path::new(BIN)
            .with_file_name("guardrail-model-server")
            .exists(),
        "build it first: cargo build -p guardrail-model-server --bin guardrail-model-server"
    );
    let (_dir, server) = container_server();
    let process = json!({"Image": "model-server:process"});
    create(&server, "proc", process, "ml.m5.large", 1);
    create(&server, "ctr", json!({"Image": V1}), "ml.m5.large", 1);
    assert_eq!(settle(&server, "proc")["EndpointStatus"], "InService");
    assert_eq!(settle(&server, "ctr")["EndpointStatus"], "InService");
    let (_, p, _) = server.invoke("proc", "{}");
    let process_pid = p["pid"].as_u64().unwrap() as u32;
    let container = instance_containers(&server.data_dir)[0].clone();
    let (pid, _, _) = inspect(&container);
    let (process, inner, conmon) = (rss_kib(process_pid), rss_kib(pid), rss_kib(ppid(pid)));
    assert!(process > 0 && inner > 0, "RSS readable");
    let exe = std::fs::read_link(format!("/proc/{process_pid}/exe")).unwrap_or_default();
    println!(
        "container-report case=memory process_rss_kib={process} ({}) container_rss_kib={inner} conmon_rss_kib={conmon} overhead_kib={}",
        exe.display(),
        (inner + conmon) as i64 - process as i64
    );
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}
