//! The controller: Guardrail's I/O shell around the pure core.
//!
//! One task per endpoint, level-triggered: load the record from the store, observe the
//! instances, call [`guardrail_core::lifecycle::reconcile`], **persist the decision before
//! acting**, perform the actions idempotently, sleep until an event or the core's `wake_at`.
//! Instance events from the backend are routed to the owning endpoint's task. No HTTP and
//! no wire formats here.

mod alarms;
mod clock;
mod endpoint_task;
mod images;

pub use alarms::{AlarmSource, DeploymentObserver, NoAlarms};
pub use clock::Clock;
pub use images::{ImageCatalog, ImageCommand};

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use guardrail_artifacts::ArtifactCache;
use guardrail_backend::{InstanceBackend, InstanceEvent};
use guardrail_core::fleet::ObservedInstance;
use guardrail_proxy::Router;
use guardrail_store::Store;
use tokio::sync::{mpsc, watch};

use endpoint_task::{EndpointTask, TaskEvent};

/// Timings of the shell; the defaults follow SageMaker's container contract.
#[derive(Clone, Debug)]
pub struct ControllerConfig {
    /// Bound on waiting for an instance's in-flight requests before stopping it.
    pub drain_timeout: Duration,
    /// SIGTERM → SIGKILL grace.
    pub stop_grace: Duration,
    /// Look again at least this often, whatever happens.
    pub safety_requeue: Duration,
}

impl Default for ControllerConfig {
    fn default() -> Self {
        ControllerConfig {
            drain_timeout: Duration::from_secs(60),
            stop_grace: Duration::from_secs(30),
            safety_requeue: Duration::from_secs(2),
        }
    }
}

pub(crate) struct Shared {
    pub(crate) store: Store,
    pub(crate) backend: Arc<dyn InstanceBackend>,
    pub(crate) router: Arc<Router>,
    pub(crate) images: ImageCatalog,
    pub(crate) artifacts: ArtifactCache,
    /// Set in every instance before the image's and the model's env (e.g. `AWS_REGION`).
    pub(crate) platform_env: BTreeMap<String, String>,
    pub(crate) clock: Clock,
    pub(crate) data_dir: PathBuf,
    pub(crate) config: ControllerConfig,
    pub(crate) alarms: Arc<dyn AlarmSource>,
    pub(crate) deployments: Option<Arc<dyn DeploymentObserver>>,
    /// Endpoint key → its task's inbox.
    pub(crate) tasks: Mutex<HashMap<String, mpsc::UnboundedSender<TaskEvent>>>,
    /// Instance id → owning endpoint key, for routing backend events.
    pub(crate) owners: Mutex<HashMap<String, String>>,
    /// Instance id → its process, for resource metrics.
    pub(crate) processes: Mutex<HashMap<String, InstanceProcess>>,
    /// Instance id → `true` once its launch (artifacts, pull, start) has finished; a stop waits
    /// for it, so nothing starts after it was stopped.
    pub(crate) launches: Mutex<HashMap<String, watch::Receiver<bool>>>,
    /// Endpoint key → the instances its task observed last; read by DescribeEndpoint.
    pub(crate) observed: Mutex<HashMap<String, Vec<ObservedInstance>>>,
    pub(crate) shutdown: watch::Receiver<bool>,
}

/// A running instance's main process (a process, or a container's as the host sees it), for
/// CPU and memory metrics.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstanceProcess {
    pub endpoint_name: String,
    pub variant: String,
    pub pid: u32,
}

/// Handle used by the API layer and the binary.
#[derive(Clone)]
pub struct Controller {
    shared: Arc<Shared>,
}

pub struct ControllerParts {
    pub store: Store,
    pub backend: Arc<dyn InstanceBackend>,
    pub router: Arc<Router>,
    pub images: ImageCatalog,
    /// Where model artifacts (`ModelDataUrl`) are fetched and kept.
    pub artifacts: ArtifactCache,
    /// Env set in every instance under the image's and the model's own.
    pub platform_env: BTreeMap<String, String>,
    pub clock: Clock,
    pub data_dir: PathBuf,
    pub config: ControllerConfig,
    /// Where alarm states come from (the monitor); [`NoAlarms`] without one.
    pub alarms: Arc<dyn AlarmSource>,
    /// Told about every deployment history event (metrics).
    pub deployments: Option<Arc<dyn DeploymentObserver>>,
}

impl Controller {
    /// Starts the controller: routes backend events and resumes every stored endpoint.
    pub async fn start(
        parts: ControllerParts,
        events: mpsc::UnboundedReceiver<InstanceEvent>,
        shutdown: watch::Receiver<bool>,
    ) -> Result<Controller, guardrail_store::StoreError> {
        let shared = Arc::new(Shared {
            store: parts.store,
            backend: parts.backend,
            router: parts.router,
            images: parts.images,
            artifacts: parts.artifacts,
            platform_env: parts.platform_env,
            clock: parts.clock,
            data_dir: parts.data_dir,
            config: parts.config,
            alarms: parts.alarms,
            deployments: parts.deployments,
            tasks: Mutex::new(HashMap::new()),
            owners: Mutex::new(HashMap::new()),
            observed: Mutex::new(HashMap::new()),
            processes: Mutex::new(HashMap::new()),
            launches: Mutex::new(HashMap::new()),
            shutdown,
        });
        tokio::spawn(route_instance_events(shared.clone(), events));
        let controller = Controller { shared };
        let rows = controller
            .shared
            .store
            .read(|tx| tx.list_endpoints())
            .await?;
        tracing::info!(endpoints = rows.len(), "resuming endpoints from the store");
        for row in rows {
            controller.nudge(&row.key);
        }
        Ok(controller)
    }

    /// Tells the endpoint's task to look again (starting the task if needed). Call after
    /// every committed change to an endpoint.
    pub fn nudge(&self, endpoint_key: &str) {
        let mut tasks = lock(&self.shared.tasks);
        if let Some(tx) = tasks.get(endpoint_key) {
            if tx.send(TaskEvent::Nudge).is_ok() {
                return;
            }
        }
        let (tx, rx) = mpsc::unbounded_channel();
        tasks.insert(endpoint_key.to_string(), tx);
        let task = EndpointTask::new(self.shared.clone(), endpoint_key.to_string(), rx);
        tokio::spawn(task.run());
    }

    /// The instances of an endpoint as last observed (empty if none).
    pub fn observed(&self, endpoint_key: &str) -> Vec<ObservedInstance> {
        lock(&self.shared.observed)
            .get(endpoint_key)
            .cloned()
            .unwrap_or_default()
    }

    /// Every instance process currently running.
    pub fn instance_processes(&self) -> Vec<InstanceProcess> {
        lock(&self.shared.processes).values().cloned().collect()
    }

    pub fn images(&self) -> &ImageCatalog {
        &self.shared.images
    }

    /// Whether a model's artifacts can be fetched at all (scheme, bucket, configured
    /// mappings), without fetching them: what CreateModel can refuse up front.
    pub fn check_model_data(&self, data: &guardrail_core::spec::ModelData) -> Result<(), String> {
        self.shared
            .artifacts
            .check(&endpoint_task::model_source(data))
            .map_err(|e| e.to_string())
    }

    pub fn clock(&self) -> &Clock {
        &self.shared.clock
    }

    /// Waits (bounded) for every endpoint task and every launch in flight to finish after
    /// shutdown was signalled, so that stopping all instances afterwards reaches them.
    pub async fn wait_stopped(&self, deadline: Duration) {
        let start = tokio::time::Instant::now();
        while start.elapsed() < deadline {
            if lock(&self.shared.tasks).values().all(|t| t.is_closed())
                && lock(&self.shared.launches).is_empty()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn route_instance_events(
    shared: Arc<Shared>,
    mut events: mpsc::UnboundedReceiver<InstanceEvent>,
) {
    while let Some(event) = events.recv().await {
        let id = match &event {
            InstanceEvent::Ready { id, .. }
            | InstanceEvent::Unhealthy { id, .. }
            | InstanceEvent::Exited { id, .. } => id.0.clone(),
        };
        let owner = lock(&shared.owners).get(&id).cloned();
        let Some(owner) = owner else {
            tracing::debug!(instance = %id, "event for an instance nobody owns");
            continue;
        };
        if let Some(tx) = lock(&shared.tasks).get(&owner) {
            let _ = tx.send(TaskEvent::Instance(event));
        }
    }
}

/// Locks a std mutex, ignoring poisoning: the guarded maps stay consistent per operation.
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
