//! The container backend against a real engine (podman's Docker-compatible service, set up by
//! `scripts/setup.sh`) with the test image `scripts/test-images.sh` builds from the built-in
//! model server. The engine is `$GUARDRAIL_TEST_ENGINE`, else `unix:///run/podman/podman.sock`;
//! an engine that does not answer fails the tests (it never skips them).
//!
//! Every wait is bounded by a deadline.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::Duration;

use bollard::query_parameters::{
    InspectContainerOptions, KillContainerOptions, ListContainersOptions,
};
use bollard::Docker;
use bytes::Bytes;
use common::{fast_probe, http, DEADLINE};
use guardrail_backend::{
    BackendError, ContainerBackend, ContainerConfig, ContainerNetwork, InstanceBackend,
    InstanceEvent, InstanceId, InstanceSpec, Program, Resources, LABEL_INSTANCE, LABEL_OWNER,
};
use http_body_util::Full;
use hyper::{Request, StatusCode};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};
use tokio::time::timeout;

const IMAGE: &str = "localhost/guardrail-test/model-server:latest";

fn engine_address() -> String {
    std::env::var("GUARDRAIL_TEST_ENGINE")
        .unwrap_or_else(|_| "unix:///run/podman/podman.sock".to_string())
}

struct Harness {
    dir: tempfile::TempDir,
    owner: String,
    backend: ContainerBackend,
    events: UnboundedReceiver<InstanceEvent>,
    docker: Docker,
    _cleanup: Cleanup,
}

impl Harness {
    async fn new(network: ContainerNetwork) -> Self {
        let owner = format!("test{:016x}", rand_u64());
        Self::with_owner(owner, network).await
    }

    async fn with_owner(owner: String, network: ContainerNetwork) -> Self {
        let (tx, events) = unbounded_channel();
        let config = ContainerConfig {
            engine: Some(engine_address()),
            network,
            owner: owner.clone(),
        };
        let backend = ContainerBackend::connect(config, tx, fast_probe())
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "no container engine: {e}; run scripts/setup.sh (it starts podman's service)"
                )
            });
        let docker = Docker::connect_with_host(&engine_address()).unwrap();
        Self {
            dir: tempfile::tempdir().unwrap(),
            _cleanup: Cleanup {
                docker: docker.clone(),
                owner: owner.clone(),
            },
            owner,
            backend,
            events,
            docker,
        }
    }

    fn spec(&self, id: &str, env: &[(&str, &str)]) -> InstanceSpec {
        InstanceSpec {
            id: InstanceId::from(id),
            program: Program::Container {
                image: IMAGE.into(),
            },
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            log_path: self.dir.path().join("logs").join(format!("{id}.log")),
            model_dir: None,
            resources: None,
            labels: BTreeMap::from([("guardrail.endpoint".to_string(), "test".to_string())]),
        }
    }

    async fn next_event(&mut self) -> InstanceEvent {
        match timeout(DEADLINE, self.events.recv()).await {
            Ok(Some(event)) => event,
            Ok(None) => panic!("event channel closed"),
            Err(_) => panic!("no event within {DEADLINE:?}"),
        }
    }

    fn log(&self, id: &str) -> String {
        std::fs::read_to_string(self.dir.path().join("logs").join(format!("{id}.log")))
            .unwrap_or_default()
    }

    /// Containers of this harness's owner (all states), as (id, instance label).
    async fn containers(&self) -> Vec<(String, String)> {
        let filters = HashMap::from([(
            "label".to_string(),
            vec![format!("{LABEL_OWNER}={}", self.owner)],
        )]);
        let listed = self
            .docker
            .list_containers(Some(ListContainersOptions {
                all: true,
                filters: Some(filters),
                ..Default::default()
            }))
            .await
            .unwrap();
        listed
            .into_iter()
            .map(|c| {
                let label = c
                    .labels
                    .unwrap_or_default()
                    .get(LABEL_INSTANCE)
                    .cloned()
                    .unwrap_or_default();
                (c.id.unwrap_or_default(), label)
            })
            .collect()
    }

    async fn container_of(&self, id: &str) -> String {
        let all = self.containers().await;
        all.into_iter()
            .find(|(_, label)| label == id)
            .map(|(c, _)| c)
            .unwrap_or_else(|| panic!("no container for {id}"))
    }
}

/// A failed test must not leave containers behind: removes every container of its owner.
struct Cleanup {
    docker: Docker,
    owner: String,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let docker = self.docker.clone();
        let owner = self.owner.clone();
        let cleanup = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let filters =
                    HashMap::from([("label".to_string(), vec![format!("{LABEL_OWNER}={owner}")])]);
                let options = ListContainersOptions {
                    all: true,
                    filters: Some(filters),
                    ..Default::default()
                };
                let Ok(listed) = docker.list_containers(Some(options)).await else {
                    return;
                };
                for id in listed.into_iter().filter_map(|c| c.id) {
                    let force = bollard::query_parameters::RemoveContainerOptions {
                        force: true,
                        ..Default::default()
                    };
                    let _ = docker.remove_container(&id, Some(force)).await;
                }
            });
        });
        let _ = cleanup.join();
    }
}

/// A random number: std's hasher keys are seeded randomly per process.
fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    h.finish()
}

async fn invoke(addr: std::net::SocketAddr) -> serde_json::Value {
    let req = Request::post("/invocations")
        .header("host", "localhost")
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from_static(b"{\"x\":1}")))
        .unwrap();
    let (status, body) = http(addr, req).await;
    assert_eq!(status, StatusCode::OK, "{body:?}");
    serde_json::from_slice(&body).unwrap()
}

fn write_model(dir: &Path, version: &str) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("VERSION"), version).unwrap();
}

#[tokio::test]
async fn a_container_serves_the_contract_with_its_artifacts_labels_and_limits() {
    let mut h = Harness::new(ContainerNetwork::Publish).await;
    let model = h.dir.path().join("model");
    write_model(&model, "from-s3");
    let mut spec = h.spec("c-ready", &[("LATENCY_MS", "0")]);
    spec.model_dir = Some(model.clone());
    spec.resources = Some(Resources {
        vcpus: 1.0,
        memory_bytes: 256 << 20,
    });
    let launched = h.backend.launch(spec.clone()).await.unwrap();
    assert!(launched.addr.ip().is_loopback());
    let event = h.next_event().await;
    assert_eq!(
        event,
        InstanceEvent::Ready {
            id: InstanceId::from("c-ready"),
            addr: launched.addr
        },
        "log: {}",
        h.log("c-ready")
    );
    assert_eq!(h.backend.running(), vec![InstanceId::from("c-ready")]);
    // Launching a running id again returns it unchanged.
    assert_eq!(h.backend.launch(spec).await.unwrap().addr, launched.addr);

    let answer = invoke(launched.addr).await;
    assert_eq!(
        answer["model_version"], "from-s3",
        "the artifacts are mounted"
    );

    let container = h.container_of("c-ready").await;
    let inspected = h
        .docker
        .inspect_container(&container, None::<InspectContainerOptions>)
        .await
        .unwrap();
    let host = inspected.host_config.unwrap();
    assert_eq!(host.memory, Some(256 << 20));
    assert_eq!(host.nano_cpus, Some(1_000_000_000));
    let config = inspected.config.unwrap();
    assert_eq!(config.cmd, Some(vec!["serve".to_string()]));
    let env = config.env.unwrap();
    assert!(
        env.contains(&"SAGEMAKER_BIND_TO_PORT=8080".to_string()),
        "{env:?}"
    );
    let mounts = inspected.mounts.unwrap();
    let mount = mounts
        .iter()
        .find(|m| m.destination.as_deref() == Some("/opt/ml/model"))
        .expect("model dir mounted");
    assert_eq!(mount.rw, Some(false), "the model dir is read-only");
    assert!(
        launched
            .pid
            .is_some_and(|p| Path::new(&format!("/proc/{p}")).exists()),
        "the host pid of the container's process: {:?}",
        launched.pid
    );

    h.backend
        .stop(&InstanceId::from("c-ready"), Duration::from_secs(5))
        .await
        .unwrap();
    assert!(h.backend.running().is_empty());
    assert!(
        h.containers().await.is_empty(),
        "stopped containers are removed"
    );
    assert!(
        h.log("c-ready").contains("model server listening"),
        "the container's output is in the instance log: {}",
        h.log("c-ready")
    );
    // No event after stop.
    assert!(timeout(Duration::from_millis(300), h.events.recv())
        .await
        .is_err());
}

#[tokio::test]
async fn a_container_killed_from_outside_is_reported_and_can_be_relaunched() {
    let mut h = Harness::new(ContainerNetwork::Publish).await;
    let spec = h.spec("c-kill", &[]);
    h.backend.launch(spec.clone()).await.unwrap();
    assert!(matches!(h.next_event().await, InstanceEvent::Ready { .. }));
    let container = h.container_of("c-kill").await;
    h.docker
        .kill_container(
            &container,
            Some(KillContainerOptions {
                signal: "SIGKILL".into(),
            }),
        )
        .await
        .unwrap();
    // The fast prober may notice first (Unhealthy); the engine's `die` must still follow.
    let mut event = h.next_event().await;
    if matches!(event, InstanceEvent::Unhealthy { .. }) {
        event = h.next_event().await;
    }
    match event {
        InstanceEvent::Exited { id, reason } => {
            assert_eq!(id, InstanceId::from("c-kill"));
            assert!(
                reason.contains("137") || reason.contains("signal 9"),
                "{reason}"
            );
        }
        other => panic!("expected Exited, got {other:?}"),
    }
    assert!(h.backend.running().is_empty());
    // Relaunch under the same id (the old container is removed first).
    let again = h.backend.launch(spec).await.unwrap();
    assert!(matches!(h.next_event().await, InstanceEvent::Ready { .. }));
    invoke(again.addr).await;
    h.backend.stop_all(Duration::from_secs(5)).await;
    assert!(h.containers().await.is_empty());
}

#[tokio::test]
async fn a_container_that_exits_at_start_reports_its_status() {
    let mut h = Harness::new(ContainerNetwork::Publish).await;
    // The model server refuses a malformed knob and exits 1.
    h.backend
        .launch(h.spec("c-bad", &[("ERROR_RATE", "lots")]))
        .await
        .unwrap();
    match h.next_event().await {
        InstanceEvent::Exited { reason, .. } => {
            assert!(reason.contains("exited with status 1"), "{reason}")
        }
        other => panic!("expected Exited, got {other:?}"),
    }
    assert!(
        h.log("c-bad").contains("ERROR_RATE"),
        "the container's error is in the log: {}",
        h.log("c-bad")
    );
    h.backend.stop_all(Duration::from_secs(1)).await;
    assert!(h.containers().await.is_empty());
}

#[tokio::test]
async fn an_image_that_cannot_be_pulled_fails_the_launch_clearly() {
    let h = Harness::new(ContainerNetwork::Publish).await;
    let mut spec = h.spec("c-nope", &[]);
    spec.program = Program::Container {
        image: "localhost/guardrail-test/does-not-exist:1".into(),
    };
    let err = timeout(DEADLINE, h.backend.launch(spec))
        .await
        .expect("a failed pull ends within the deadline")
        .unwrap_err();
    assert!(matches!(err, BackendError::Pull { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("cannot pull image localhost/guardrail-test/does-not-exist:1"),
        "{err}"
    );
    assert!(h.backend.running().is_empty());
    assert!(h.containers().await.is_empty());
}

#[tokio::test]
async fn host_networking_binds_sagemaker_bind_to_port() {
    let mut h = Harness::new(ContainerNetwork::Host).await;
    // With the host's network the server must listen where Guardrail expects it, on loopback.
    let launched = h
        .backend
        .launch(h.spec("c-host", &[("MODEL_SERVER_HOST", "127.0.0.1")]))
        .await
        .unwrap();
    assert!(
        matches!(h.next_event().await, InstanceEvent::Ready { .. }),
        "{}",
        h.log("c-host")
    );
    invoke(launched.addr).await;
    h.backend.stop_all(Duration::from_secs(5)).await;
    assert!(h.containers().await.is_empty());
}

/// A server that crashed left its containers running: the next start with the same owner
/// removes them, and leaves another owner's alone.
#[tokio::test]
async fn leftovers_of_a_crashed_run_are_removed_by_owner() {
    let mut crashed = Harness::new(ContainerNetwork::Publish).await;
    crashed
        .backend
        .launch(crashed.spec("c-left", &[]))
        .await
        .unwrap();
    assert!(matches!(
        crashed.next_event().await,
        InstanceEvent::Ready { .. }
    ));
    let mut bystander = Harness::new(ContainerNetwork::Publish).await;
    bystander
        .backend
        .launch(bystander.spec("c-other", &[]))
        .await
        .unwrap();
    assert!(matches!(
        bystander.next_event().await,
        InstanceEvent::Ready { .. }
    ));

    // The "crash": the backend goes away without stopping anything.
    let owner = crashed.owner.clone();
    drop(crashed.backend);
    let restarted = Harness::with_owner(owner, ContainerNetwork::Publish).await;
    assert_eq!(restarted.containers().await.len(), 1);
    assert_eq!(restarted.backend.remove_leftovers().await.unwrap(), 1);
    assert!(restarted.containers().await.is_empty());
    assert_eq!(bystander.containers().await.len(), 1, "not ours: untouched");
    bystander.backend.stop_all(Duration::from_secs(5)).await;
}
