//! The controller end to end under paused tokio time: a real store on a temp dir, a real
//! router, the process image catalog and artifact cache, and a fake instance backend that
//! records what it was asked to do and lets the test report what instances do (Ready,
//! Exited, Unhealthy). Every wait is bounded by a deadline in (virtual) time; time moves only
//! through tokio's paused clock (`advance`, and auto-advance while the test polls).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use guardrail_artifacts::ArtifactCache;
use guardrail_backend::{
    BackendError, InstanceBackend, InstanceEvent, InstanceId, InstanceSpec, LaunchedInstance,
    Program,
};
use guardrail_controller::{
    Clock, Controller, ControllerConfig, ControllerParts, ImageCatalog, ImageCommand, NoAlarms,
};
use guardrail_core::fleet::InstanceHealth;
use guardrail_core::lifecycle::EndpointRecord;
use guardrail_core::names::name_key;
use guardrail_core::spec::{ContainerSpec, FleetSpec, VariantSpec};
use guardrail_core::status::EndpointStatus;
use guardrail_core::time::Timestamp;
use guardrail_proxy::{InvokeError, InvokeRequest, Router, RouterConfig};
use guardrail_store::{EndpointRow, Store, StoreError};
use http_body_util::Full;
use tokio::sync::{mpsc, watch};

const IMAGE: &str = "guardrail/model:v1";
const VARIANT: &str = "AllTraffic";
/// Long enough that no wait in a test that is not about the startup window comes near it.
const NO_STARTUP_LIMIT_S: u32 = 3600;
/// Bound on every wait, in virtual time.
const WAIT: Duration = Duration::from_secs(30);

// ---------------------------------------------------------------------------------------------
// The fake backend.

#[derive(Clone, Debug, PartialEq, Eq)]
enum Call {
    LaunchBegin(String),
    Launched(String),
    LaunchRefused(String),
    Stop(String),
}

#[derive(Default)]
struct FakeState {
    calls: Vec<Call>,
    specs: Vec<InstanceSpec>,
    running: BTreeSet<String>,
    /// `Some(message)`: every launch fails with it.
    refuse_launches: Option<String>,
    /// Whether the router still routed the endpoint when each stop arrived.
    routed_at_stop: Vec<(String, bool)>,
}

struct FakeBackend {
    state: Mutex<FakeState>,
    /// Launches wait until this is `true`.
    gate: watch::Sender<bool>,
    router: Arc<Router>,
}

impl FakeBackend {
    fn new(router: Arc<Router>) -> Self {
        FakeBackend {
            state: Mutex::new(FakeState::default()),
            gate: watch::channel(true).0,
            router,
        }
    }

    fn state(&self) -> MutexGuard<'_, FakeState> {
        self.state.lock().unwrap()
    }

    fn hold_launches(&self) {
        self.gate.send_replace(false);
    }

    fn release_launches(&self) {
        self.gate.send_replace(true);
    }

    fn calls(&self) -> Vec<Call> {
        self.state().calls.clone()
    }

    fn launched(&self) -> Vec<String> {
        self.calls()
            .into_iter()
            .filter_map(|c| match c {
                Call::LaunchBegin(id) => Some(id),
                _ => None,
            })
            .collect()
    }

    fn stopped(&self) -> Vec<String> {
        self.calls()
            .into_iter()
            .filter_map(|c| match c {
                Call::Stop(id) => Some(id),
                _ => None,
            })
            .collect()
    }
}

#[async_trait::async_trait]
impl InstanceBackend for FakeBackend {
    async fn launch(&self, spec: InstanceSpec) -> Result<LaunchedInstance, BackendError> {
        let id = spec.id.clone();
        {
            let mut s = self.state();
            s.calls.push(Call::LaunchBegin(id.0.clone()));
            s.specs.push(spec.clone());
        }
        let mut gate = self.gate.subscribe();
        let _ = gate.wait_for(|open| *open).await;
        let mut s = self.state();
        if let Some(message) = s.refuse_launches.clone() {
            s.calls.push(Call::LaunchRefused(id.0.clone()));
            let command = match &spec.program {
                Program::Process { command } => command.join(" "),
                Program::Container { image } => image.clone(),
            };
            return Err(BackendError::Spawn {
                command,
                error: std::io::Error::new(std::io::ErrorKind::NotFound, message),
            });
        }
        s.calls.push(Call::Launched(id.0.clone()));
        s.running.insert(id.0.clone());
        let pid = 10_000 + u32::try_from(s.running.len()).unwrap();
        Ok(LaunchedInstance {
            id,
            addr: "127.0.0.1:9".parse().unwrap(),
            pid: Some(pid),
        })
    }

    async fn stop(&self, id: &InstanceId, _grace: Duration) -> Result<(), BackendError> {
        let endpoint = id.0.split('.').next().unwrap_or_default().to_string();
        let routed = self.router.is_routed(&endpoint);
        let mut s = self.state();
        s.calls.push(Call::Stop(id.0.clone()));
        s.routed_at_stop.push((id.0.clone(), routed));
        s.running.remove(&id.0);
        Ok(())
    }

    fn running(&self) -> Vec<InstanceId> {
        self.state()
            .running
            .iter()
            .map(|id| InstanceId(id.clone()))
            .collect()
    }

    async fn stop_all(&self, grace: Duration) {
        for id in self.running() {
            let _ = self.stop(&id, grace).await;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The harness.

struct Harness {
    _dir: tempfile::TempDir,
    data_dir: PathBuf,
    store: Store,
    backend: Arc<FakeBackend>,
    router: Arc<Router>,
    controller: Controller,
    events: mpsc::UnboundedSender<InstanceEvent>,
    _shutdown: watch::Sender<bool>,
}

fn images() -> ImageCatalog {
    ImageCatalog::new(HashMap::from([(
        IMAGE.to_string(),
        ImageCommand {
            command: vec!["/opt/model/serve".into(), "--port-from-env".into()],
            env: BTreeMap::from([
                ("IMAGE_ONLY".to_string(), "image".to_string()),
                ("OVERRIDDEN".to_string(), "image".to_string()),
            ]),
        },
    )]))
}

fn fleet_spec(name: &str, instances: u32, startup_timeout_s: u32) -> FleetSpec {
    FleetSpec {
        config_name: format!("{name}-config"),
        variants: vec![VariantSpec {
            name: VARIANT.to_string(),
            model_name: "model".to_string(),
            container: ContainerSpec {
                image: IMAGE.to_string(),
                environment: BTreeMap::from([("OVERRIDDEN".to_string(), "model".to_string())]),
                model_data: None,
            },
            instance_count: instances,
            weight: 1.0,
            instance_type: Some("ml.m5.large".to_string()),
            startup_timeout_s,
        }],
    }
}

/// Inserts the endpoint's row as CreateEndpoint does (guardrail-http `endpoints::create`).
async fn insert_endpoint(store: &Store, name: &str, spec: FleetSpec, now: Timestamp) -> String {
    let key = name_key(name);
    let name = name.to_string();
    let row_key = key.clone();
    store
        .write(move |tx| {
            let row = EndpointRow {
                key: row_key.clone(),
                name: name.clone(),
                arn: format!("arn:aws:sagemaker:us-east-1:123456789012:endpoint/{row_key}"),
                seq: tx.next_seq("resource")?,
                record: EndpointRecord::new(&name, spec, now),
                extra: serde_json::json!({ "DeploymentConfig": null }),
            };
            assert!(
                tx.insert_endpoint(&row)?,
                "endpoint {row_key} already exists"
            );
            Ok::<(), StoreError>(())
        })
        .await
        .unwrap();
    key
}

impl Harness {
    async fn new() -> Harness {
        Harness::with_stored(&[]).await
    }

    /// A controller started over a store that already holds these endpoints (name, count).
    async fn with_stored(endpoints: &[(&str, u32)]) -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let data_dir = dir.path().to_path_buf();
        let store = Store::open(&data_dir.join("guardrail.db")).unwrap();
        let clock = Clock::starting_at(Timestamp::from_millis(1_700_000_000_000));
        for (name, count) in endpoints {
            insert_endpoint(
                &store,
                name,
                fleet_spec(name, *count, NO_STARTUP_LIMIT_S),
                clock.now(),
            )
            .await;
        }
        let router = Arc::new(Router::new(RouterConfig {
            // Paused time jumps while real sockets are in flight; keep the proxy's own
            // timeout out of the way.
            invocation_timeout: Duration::from_secs(24 * 3600),
            ..RouterConfig::default()
        }));
        let backend = Arc::new(FakeBackend::new(router.clone()));
        let artifacts = ArtifactCache::new(data_dir.join("models"), Default::default()).unwrap();
        let (events, events_rx) = mpsc::unbounded_channel();
        let (shutdown, shutdown_rx) = watch::channel(false);
        let parts = ControllerParts {
            store: store.clone(),
            backend: backend.clone(),
            router: router.clone(),
            images: images(),
            artifacts,
            platform_env: BTreeMap::from([("AWS_REGION".to_string(), "us-east-1".to_string())]),
            clock,
            data_dir: data_dir.clone(),
            config: ControllerConfig::default(),
            alarms: Arc::new(NoAlarms::default()),
            deployments: None,
        };
        let controller = Controller::start(parts, events_rx, shutdown_rx)
            .await
            .unwrap();
        Harness {
            _dir: dir,
            data_dir,
            store,
            backend,
            router,
            controller,
            events,
            _shutdown: shutdown,
        }
    }

    /// CreateEndpoint: the row, then a nudge.
    async fn create(&self, name: &str, instances: u32, startup_timeout_s: u32) -> String {
        let now = self.controller.clock().now();
        let key = insert_endpoint(
            &self.store,
            name,
            fleet_spec(name, instances, startup_timeout_s),
            now,
        )
        .await;
        self.controller.nudge(&key);
        key
    }

    /// DeleteEndpoint: status Deleting in the store, then a nudge.
    async fn delete(&self, key: &str) {
        let now = self.controller.clock().now();
        let k = key.to_string();
        self.store
            .write(move |tx| {
                let mut row = tx.get_endpoint(&k)?.expect("endpoint exists");
                row.record.status = EndpointStatus::Deleting;
                row.record.last_modified_time = now;
                tx.update_endpoint(&row)?;
                Ok::<(), StoreError>(())
            })
            .await
            .unwrap();
        self.controller.nudge(key);
    }

    async fn row(&self, key: &str) -> Option<EndpointRow> {
        let k = key.to_string();
        self.store
            .read(move |tx| tx.get_endpoint(&k))
            .await
            .unwrap()
    }

    async fn record(&self, key: &str) -> EndpointRecord {
        self.row(key).await.expect("endpoint row").record
    }

    async fn status(&self, key: &str) -> Option<EndpointStatus> {
        self.row(key).await.map(|r| r.record.status)
    }

    async fn wait_status(&self, key: &str, want: EndpointStatus) -> EndpointRecord {
        eventually(&format!("{key} in status {want:?}"), || async move {
            self.status(key).await == Some(want)
        })
        .await;
        self.record(key).await
    }

    async fn wait_launches(&self, n: usize) -> Vec<String> {
        eventually(&format!("{n} launches"), || async move {
            self.backend.launched().len() >= n
        })
        .await;
        self.backend.launched()
    }

    /// The instance answers `/ping`: a server that answers every invocation with its id, and
    /// the backend's Ready event with its address.
    async fn ready(&self, id: &str) {
        let addr = upstream_answering(id).await;
        self.events
            .send(InstanceEvent::Ready {
                id: InstanceId(id.to_string()),
                addr,
            })
            .unwrap();
    }

    fn exited(&self, id: &str, reason: &str) {
        self.events
            .send(InstanceEvent::Exited {
                id: InstanceId(id.to_string()),
                reason: reason.to_string(),
            })
            .unwrap();
    }

    fn unhealthy(&self, id: &str) {
        self.events
            .send(InstanceEvent::Unhealthy {
                id: InstanceId(id.to_string()),
                reason: "failed 3 consecutive pings".to_string(),
            })
            .unwrap();
    }

    fn health(&self, key: &str, id: &str) -> Option<InstanceHealth> {
        self.controller
            .observed(key)
            .into_iter()
            .find(|o| o.key.instance_id(key) == id)
            .map(|o| o.health)
    }

    /// Invokes the endpoint `n` times through the router; the instance ids that answered.
    async fn invoke_many(&self, key: &str, n: usize) -> Vec<String> {
        let mut answered = Vec::new();
        for _ in 0..n {
            let resp = self
                .router
                .invoke(
                    key,
                    InvokeRequest {
                        body: Bytes::from_static(b"{}"),
                        ..InvokeRequest::default()
                    },
                )
                .await
                .expect("invocation served");
            // The body is the answering server's own id: the router's bookkeeping and the
            // socket it actually used agree.
            assert_eq!(
                resp.body,
                resp.instance.as_bytes(),
                "answered by another server"
            );
            answered.push(resp.instance);
        }
        answered
    }
}

/// Polls `cond` until it holds, in steps of paused time, failing after [`WAIT`].
async fn eventually<F, Fut>(what: &str, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let polled = tokio::time::timeout(WAIT, async {
        while !cond().await {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    assert!(polled.is_ok(), "timed out waiting for {what}");
}

/// [`eventually`] for a condition that needs no I/O.
async fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    eventually(what, || std::future::ready(cond())).await;
}

/// Checks that `cond` holds at every step for `span` of paused time.
async fn throughout<F, Fut>(what: &str, span: Duration, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let end = tokio::time::Instant::now() + span;
    while tokio::time::Instant::now() < end {
        assert!(cond().await, "no longer true: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A SageMaker container stand-in on 127.0.0.1 that answers every request with `body`.
async fn upstream_answering(body: &str) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let body = Bytes::from(body.to_string());
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let body = body.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |_req| {
                    let body = body.clone();
                    async move { Ok::<_, Infallible>(http::Response::new(Full::new(body))) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    addr
}

fn id(endpoint: &str, slot: u32, incarnation: u32) -> String {
    format!("{endpoint}.f0.alltraffic.s{slot}.i{incarnation}")
}

// ---------------------------------------------------------------------------------------------
// The tests.

#[tokio::test(start_paused = true)]
async fn create_launches_every_instance_and_serves_once_all_are_ready() {
    let h = &Harness::new().await;
    let key = h.create("Ep", 2, NO_STARTUP_LIMIT_S).await;
    let key = key.as_str();
    assert_eq!(key, "ep");

    let launched = h.wait_launches(2).await;
    assert_eq!(launched, vec![id("ep", 0, 0), id("ep", 1, 1)]);
    // The decision was persisted before acting: the incarnations are taken in the store.
    let record = h.record(key).await;
    assert_eq!(record.status, EndpointStatus::Creating);
    assert_eq!(record.next_incarnation, 2);

    // What was launched: the [images] command, platform env < image env < model env, the
    // instance's log file under the data dir, labels naming the endpoint.
    let spec = h.backend.state().specs[0].clone();
    assert_eq!(
        spec.program,
        Program::Process {
            command: vec!["/opt/model/serve".into(), "--port-from-env".into()]
        }
    );
    assert_eq!(spec.env["AWS_REGION"], "us-east-1");
    assert_eq!(spec.env["IMAGE_ONLY"], "image");
    assert_eq!(spec.env["OVERRIDDEN"], "model");
    assert_eq!(
        spec.log_path,
        h.data_dir
            .join("logs/ep")
            .join(format!("{}.log", id("ep", 0, 0)))
    );
    assert_eq!(spec.labels["guardrail.endpoint"], "Ep");
    assert_eq!(spec.labels["guardrail.variant"], VARIANT);
    assert_eq!(spec.model_dir, None);
    assert_eq!(spec.resources, None, "process instances run unlimited");

    // One instance Ready is not enough for a new endpoint: still Creating, not routed.
    h.ready(&launched[0]).await;
    wait_until("the first instance observed Ready", || {
        matches!(
            h.health(key, &launched[0]),
            Some(InstanceHealth::Ready { .. })
        )
    })
    .await;
    throughout(
        "Creating and unrouted with one of two Ready",
        WAIT / 10,
        || async move {
            h.status(key).await == Some(EndpointStatus::Creating) && !h.router.is_routed(key)
        },
    )
    .await;
    assert!(matches!(
        h.router.invoke(key, InvokeRequest::default()).await,
        Err(InvokeError::EndpointNotFound(_))
    ));

    h.ready(&launched[1]).await;
    let record = h.wait_status(key, EndpointStatus::InService).await;
    assert_eq!(record.failure_reason, None);
    assert_eq!(record.fleet.variants[0].current_weight, 1.0);
    wait_until("the endpoint routed", || h.router.is_routed(key)).await;

    let answered: BTreeSet<String> = h.invoke_many(key, 20).await.into_iter().collect();
    assert_eq!(answered, launched.iter().cloned().collect::<BTreeSet<_>>());

    let mut processes = h.controller.instance_processes();
    processes.sort_by_key(|p| p.pid);
    assert_eq!(processes.len(), 2);
    assert!(processes
        .iter()
        .all(|p| p.endpoint_name == "Ep" && p.variant == VARIANT));
    assert!(h.backend.stopped().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_failed_instance_is_replaced_and_traffic_never_reaches_it_again() {
    let h = &Harness::new().await;
    let key = h.create("ep", 2, NO_STARTUP_LIMIT_S).await;
    let key = key.as_str();
    let first = h.wait_launches(2).await;
    for i in &first {
        h.ready(i).await;
    }
    h.wait_status(key, EndpointStatus::InService).await;
    wait_until("the endpoint routed", || h.router.is_routed(key)).await;

    // The dead instance's server keeps answering (with its id), so a request routed to it
    // would show in the answers rather than be retried elsewhere.
    let dead = first[0].clone();
    h.exited(&dead, "exited with status 137");
    let replacement = id("ep", 0, 2);
    wait_until("a replacement launched and the dead one stopped", || {
        h.backend.launched().contains(&replacement) && h.backend.stopped().contains(&dead)
    })
    .await;
    let answered = h.invoke_many(key, 40).await;
    assert!(
        answered.iter().all(|a| *a == first[1]),
        "only the survivor serves: {answered:?}"
    );
    wait_until("the dead instance forgotten by the router", || {
        h.router.target(&dead).is_none()
    })
    .await;

    // An InService endpoint stays InService while a slot is refilled.
    let record = h.record(key).await;
    assert_eq!(record.status, EndpointStatus::InService);
    assert_eq!(record.failure_reason, None);

    h.ready(&replacement).await;
    wait_until("the replacement Ready", || {
        matches!(
            h.health(key, &replacement),
            Some(InstanceHealth::Ready { .. })
        )
    })
    .await;
    let answered: BTreeSet<String> = h.invoke_many(key, 40).await.into_iter().collect();
    assert_eq!(
        answered,
        BTreeSet::from([first[1].clone(), replacement.clone()])
    );

    // Failing its pings is handled like an exit.
    h.unhealthy(&first[1]);
    let replacement2 = id("ep", 1, 3);
    wait_until("the unhealthy instance replaced", || {
        h.backend.launched().contains(&replacement2) && h.backend.stopped().contains(&first[1])
    })
    .await;
    let answered = h.invoke_many(key, 20).await;
    assert!(answered.iter().all(|a| *a == replacement), "{answered:?}");
    assert_eq!(h.status(key).await, Some(EndpointStatus::InService));
    assert_eq!(
        h.backend.running().len(),
        2,
        "stopped instances are not running"
    );
}

#[tokio::test(start_paused = true)]
async fn an_instance_that_never_passes_ping_fails_the_endpoint_when_its_window_ends() {
    let h = &Harness::new().await;
    let key = h.create("ep", 1, 60).await;
    let key = key.as_str();
    let launched = h.wait_launches(1).await;
    let created = h.record(key).await.creation_time;

    // Just inside the window: still Creating.
    tokio::time::advance(Duration::from_secs(59)).await;
    throughout(
        "Creating inside the startup window",
        Duration::from_millis(500),
        || async move { h.status(key).await == Some(EndpointStatus::Creating) },
    )
    .await;
    assert!(h.backend.stopped().is_empty());

    // Past it: Failed, with AWS's reason and Guardrail's detail, and the instance stopped.
    tokio::time::advance(Duration::from_secs(1)).await;
    let record = h.wait_status(key, EndpointStatus::Failed).await;
    let reason = record.failure_reason.expect("FailureReason");
    assert!(
        reason.contains(&format!(
            "production variant {VARIANT} did not pass the ping health check"
        )),
        "{reason}"
    );
    assert!(reason.contains("within 60 seconds"), "{reason}");
    // The record's times come from the paused clock.
    let elapsed = record.last_modified_time.millis() - created.millis();
    assert!((60_000..61_000).contains(&elapsed), "{elapsed} ms");
    wait_until("the instance stopped", || h.backend.stopped() == launched).await;
    assert!(!h.router.is_routed(key));
    assert_eq!(
        h.backend.launched().len(),
        1,
        "a failed create relaunches nothing"
    );
}

#[tokio::test(start_paused = true)]
async fn a_launch_the_backend_refuses_fails_the_endpoint_as_not_started() {
    let h = &Harness::new().await;
    h.backend.state().refuse_launches = Some("no such file or directory".to_string());
    let key = h.create("ep", 1, NO_STARTUP_LIMIT_S).await;
    let key = key.as_str();

    let record = h.wait_status(key, EndpointStatus::Failed).await;
    let reason = record.failure_reason.expect("FailureReason");
    assert!(
        reason.contains(&format!(
            "The primary container for production variant {VARIANT} could not be started."
        )),
        "{reason}"
    );
    assert!(
        reason.contains("could not start: failed to spawn `/opt/model/serve --port-from-env`"),
        "{reason}"
    );
    assert!(reason.contains("no such file or directory"), "{reason}");
    assert!(!reason.contains("ping health check"), "{reason}");

    // The reason is in the instance's log too.
    let instance = id("ep", 0, 0);
    let log = std::fs::read_to_string(h.data_dir.join("logs/ep").join(format!("{instance}.log")))
        .expect("instance log");
    assert!(
        log.contains("guardrail: could not start: failed to spawn"),
        "{log}"
    );

    assert_eq!(h.backend.launched(), vec![instance]);
    assert!(h.backend.running().is_empty());
    assert!(!h.router.is_routed(key));
}

#[tokio::test(start_paused = true)]
async fn delete_unroutes_stops_every_instance_and_forgets_the_endpoint() {
    let h = &Harness::new().await;
    let key = h.create("ep", 3, NO_STARTUP_LIMIT_S).await;
    let key = key.as_str();
    let launched = h.wait_launches(3).await;
    for i in &launched {
        h.ready(i).await;
    }
    h.wait_status(key, EndpointStatus::InService).await;
    wait_until("the endpoint routed", || h.router.is_routed(key)).await;
    h.invoke_many(key, 3).await;

    h.delete(key).await;
    eventually("the endpoint row deleted", || async move {
        h.row(key).await.is_none()
    })
    .await;

    let stopped: BTreeSet<String> = h.backend.stopped().into_iter().collect();
    assert_eq!(stopped, launched.iter().cloned().collect::<BTreeSet<_>>());
    assert!(h.backend.running().is_empty());
    // Out of rotation before any instance was stopped.
    assert!(
        h.backend.state().routed_at_stop.iter().all(|(_, r)| !r),
        "{:?}",
        h.backend.state().routed_at_stop
    );
    assert!(!h.router.is_routed(key));
    assert!(matches!(
        h.router.invoke(key, InvokeRequest::default()).await,
        Err(InvokeError::EndpointNotFound(_))
    ));
    for i in &launched {
        assert!(
            h.router.target(i).is_none(),
            "{i} still known to the router"
        );
    }
    wait_until("the endpoint's task gone", || {
        h.controller.observed(key).is_empty()
    })
    .await;
    assert!(h.controller.instance_processes().is_empty());
    assert_eq!(
        h.backend.launched().len(),
        3,
        "nothing relaunched while deleting"
    );
}

#[tokio::test(start_paused = true)]
async fn a_stop_waits_for_the_launch_in_flight() {
    let h = &Harness::new().await;
    h.backend.hold_launches();
    let key = h.create("ep", 1, NO_STARTUP_LIMIT_S).await;
    let key = key.as_str();
    let instance = h.wait_launches(1).await.remove(0);

    h.delete(key).await;
    // (Or already stopped, if the stop did not wait: the check below reports that.)
    wait_until("the instance Stopping", || {
        h.health(key, &instance) == Some(InstanceHealth::Stopping)
            || !h.backend.stopped().is_empty()
    })
    .await;
    // Well past the drain timeout: the stop is still waiting for the launch.
    throughout(
        "no stop before the launch finished",
        Duration::from_secs(90),
        || async move { h.backend.stopped().is_empty() },
    )
    .await;
    assert!(
        h.row(key).await.is_some(),
        "forgotten with an instance unaccounted for"
    );

    h.backend.release_launches();
    eventually("the endpoint row deleted", || async move {
        h.row(key).await.is_none()
    })
    .await;
    assert_eq!(
        h.backend.calls(),
        vec![
            Call::LaunchBegin(instance.clone()),
            Call::Launched(instance.clone()),
            Call::Stop(instance),
        ]
    );
    assert!(
        h.backend.running().is_empty(),
        "an instance was left running"
    );
}

#[tokio::test(start_paused = true)]
async fn stored_endpoints_are_resumed_at_start() {
    let h = &Harness::with_stored(&[("one", 1), ("two", 2)]).await;
    let launched: BTreeSet<String> = h.wait_launches(3).await.into_iter().collect();
    assert_eq!(
        launched,
        BTreeSet::from([id("one", 0, 0), id("two", 0, 0), id("two", 1, 1)])
    );
    for i in &launched {
        h.ready(i).await;
    }
    h.wait_status("one", EndpointStatus::InService).await;
    h.wait_status("two", EndpointStatus::InService).await;
}

#[tokio::test(start_paused = true)]
async fn the_clock_moves_with_paused_time() {
    let t0 = Timestamp::from_millis(1_700_000_000_000);
    let clock = Clock::starting_at(t0);
    assert_eq!(clock.now(), t0);
    tokio::time::advance(Duration::from_secs(90)).await;
    assert_eq!(clock.now(), t0.plus_secs(90));
    let now = tokio::time::Instant::now();
    assert_eq!(
        clock.instant_at(t0.plus_secs(100)),
        now + Duration::from_secs(10)
    );
    assert_eq!(clock.instant_at(t0), now, "a time in the past is now");
}

/// When a replacement instance of an InService endpoint cannot be started (image pull or
/// spawn fails at once, missing artifacts), the next launch into that slot waits (1 s, 2 s, …
/// 30 s) instead of looping at full speed (before the backoff: ~350 launches in 2 s of wall
/// time, each an fsynced store write, a backend launch and a new log file).
///
/// The test spins for one second of wall time without letting virtual time move: with the
/// backoff the controller waits on a timer and launches at most a few times.
#[tokio::test(start_paused = true)]
async fn a_replacement_that_cannot_start_is_not_relaunched_in_a_hot_loop() {
    let h = &Harness::new().await;
    let key = h.create("ep", 1, NO_STARTUP_LIMIT_S).await;
    let key = key.as_str();
    let launched = h.wait_launches(1).await;
    h.ready(&launched[0]).await;
    h.wait_status(key, EndpointStatus::InService).await;

    h.backend.state().refuse_launches = Some("pull access denied".into());
    h.exited(&launched[0], "exited with status 1");
    let start = std::time::Instant::now();
    while start.elapsed() < Duration::from_secs(1) {
        tokio::task::yield_now().await;
    }
    let launches = h.backend.launched().len();
    let logs = std::fs::read_dir(h.data_dir.join("logs/ep")).map_or(0, |d| d.count());
    assert!(
        launches <= 5,
        "{launches} launches and {logs} log files in 1 s of wall time, 0 s of virtual time"
    );
}
