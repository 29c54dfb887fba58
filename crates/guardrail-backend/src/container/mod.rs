//! The container backend: each instance is one container, run through the Docker Engine API
//! (docker, or podman's Docker-compatible service) the way SageMaker runs inference containers:
//! `docker run <image> serve`, listening on 8080 (published on a free loopback port, or
//! `SAGEMAKER_BIND_TO_PORT` with host networking), model artifacts read-only at
//! `/opt/ml/model`, CPU and memory limited by the instance type (docs/containers.md).
//!
//! Safety nets:
//! - [`InstanceBackend::stop`]: the engine's stop (SIGTERM, SIGKILL after the grace period),
//!   then the container is removed.
//! - Exits are noticed from the engine's `die` events, and by a periodic sweep in case an event
//!   was missed (e.g. the event stream broke).
//! - Every container carries the label `guardrail.owner=<this server's data dir>`: after a crash
//!   the next start removes what is left ([`ContainerBackend::remove_leftovers`]) and never
//!   touches another server's containers.

mod engine;
mod exits;
mod registry_auth;

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bollard::Docker;
use futures::StreamExt as _;
use parking_lot::Mutex;
use tokio::io::AsyncWriteExt as _;
use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::watch;
use tokio::task::AbortHandle;

use crate::gate::EventGate;
use crate::probe::{run_prober, ProbeConfig};
use crate::process::{append_log, free_port, open_log, valid_id};
use crate::{
    BackendError, InstanceBackend, InstanceEvent, InstanceId, InstanceSpec, LaunchedInstance,
    Program,
};

use engine::Engine;

/// Label naming the Guardrail server (its data dir) that owns a container.
pub const LABEL_OWNER: &str = "guardrail.owner";
/// Label naming the instance a container runs.
pub const LABEL_INSTANCE: &str = "guardrail.instance";

/// How long stop waits beyond the grace period for the engine to report the container gone.
const KILL_WAIT: Duration = Duration::from_secs(10);

/// How instances are reached.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ContainerNetwork {
    /// Container port 8080 published on a free port of 127.0.0.1 (the default).
    #[default]
    Publish,
    /// The host's network namespace; the container binds `SAGEMAKER_BIND_TO_PORT`.
    Host,
}

/// `[containers]` of the config file.
#[derive(Clone, Debug)]
pub struct ContainerConfig {
    /// `unix:///…`, `tcp://…` or `http://…`; `None`: `$DOCKER_HOST`, else the local Docker socket.
    pub engine: Option<String>,
    pub network: ContainerNetwork,
    /// Names this server (e.g. a hash of its data dir); every container carries it as a label.
    pub owner: String,
}

/// Runs each instance as a container; see the module docs.
#[derive(Clone)]
pub struct ContainerBackend {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    engine: Engine,
    network: ContainerNetwork,
    owner: String,
    events: UnboundedSender<InstanceEvent>,
    probe: ProbeConfig,
    instances: Mutex<HashMap<InstanceId, Arc<Instance>>>,
    /// One launch at a time per id (pulls may take minutes; other ids must not wait).
    launching: Mutex<HashMap<InstanceId, Arc<tokio::sync::Mutex<()>>>>,
    exits: Mutex<Option<AbortHandle>>,
}

/// One launched container, shared by the map, `stop`, the exit watcher and the prober.
pub(crate) struct Instance {
    id: InstanceId,
    /// Where it serves; the pid is filled in once the engine started it.
    launched: Mutex<LaunchedInstance>,
    container: String,
    log_path: PathBuf,
    gate: Arc<EventGate>,
    exited_tx: watch::Sender<Option<String>>,
    exited: watch::Receiver<Option<String>>,
    /// Set once the engine started it: before that the sweep must not call it dead.
    started: AtomicBool,
    stopping: AtomicBool,
    tasks: Mutex<Vec<AbortHandle>>,
}

impl crate::Tracked for Instance {
    fn is_live(&self) -> bool {
        !self.has_exited() && !self.stopping.load(Ordering::SeqCst)
    }
}

impl Instance {
    fn has_exited(&self) -> bool {
        self.exited.borrow().is_some()
    }

    /// Publishes the exit once: `running()` drops it, the prober ends, `Exited` goes out
    /// (unless stop closed the gate first).
    fn mark_exited(&self, reason: String) {
        if self.has_exited() {
            return;
        }
        self.exited_tx.send_replace(Some(reason.clone()));
        append_log(
            &self.log_path,
            &format!("guardrail: instance {} {reason}", self.id),
        );
        tracing::info!(instance = %self.id, container = %self.container, "{reason}");
        self.gate.close(Some(InstanceEvent::Exited {
            id: self.id.clone(),
            reason,
        }));
        for task in self.tasks.lock().drain(..) {
            task.abort();
        }
    }
}

impl ContainerBackend {
    /// Connects to the engine (checking that it answers) and starts watching container exits.
    pub async fn connect(
        config: ContainerConfig,
        events: UnboundedSender<InstanceEvent>,
        probe: ProbeConfig,
    ) -> Result<Self, BackendError> {
        let engine = Engine::connect(config.engine.as_deref()).await?;
        let inner = Arc::new(Inner {
            engine,
            network: config.network,
            owner: config.owner,
            events,
            probe,
            instances: Mutex::new(HashMap::new()),
            launching: Mutex::new(HashMap::new()),
            exits: Mutex::new(None),
        });
        let watcher = tokio::spawn(exits::watch(Arc::downgrade(&inner)));
        *inner.exits.lock() = Some(watcher.abort_handle());
        Ok(Self { inner })
    }

    /// Where the engine is (for messages).
    pub fn engine(&self) -> &str {
        self.inner.engine.address()
    }

    /// Removes every container of this owner, running or not: what a crashed run left behind.
    /// Call before the first launch. Returns how many were removed.
    pub async fn remove_leftovers(&self) -> Result<usize, BackendError> {
        let engine = &self.inner.engine;
        let leftovers = engine.containers_of(&self.inner.owner, false).await?;
        for container in &leftovers {
            tracing::warn!(container = %container, "removing a container left by a previous run");
        }
        // All at once: the endpoints come back only after this.
        let removals = leftovers.iter().map(|c| engine.remove(c));
        futures::future::try_join_all(removals).await?;
        Ok(leftovers.len())
    }

    async fn start_instance(
        &self,
        spec: InstanceSpec,
        image: String,
    ) -> Result<LaunchedInstance, BackendError> {
        let inner = &self.inner;
        let id = spec.id.clone();
        let log_path = spec.log_path.clone();
        open_log(&log_path).map_err(|error| BackendError::LogFile {
            path: log_path.clone(),
            error,
        })?;
        append_log(
            &log_path,
            &format!("guardrail: launching instance {id}: image {image}"),
        );
        inner.engine.ensure_image(&image, &log_path).await?;

        let port = free_port().map_err(BackendError::NoFreePort)?;
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let name = engine::container_name(&inner.owner, &id);
        let body = engine::create_body(
            &spec,
            &image,
            inner.network,
            &inner.owner,
            port,
            inner.engine.host_cpus(),
        );
        let container = inner.engine.create(&name, body).await?;

        let gate = Arc::new(EventGate::new(inner.events.clone()));
        let (exited_tx, exited_rx) = watch::channel(None);
        let instance = Arc::new(Instance {
            id: id.clone(),
            launched: Mutex::new(LaunchedInstance {
                id: id.clone(),
                addr,
                pid: None,
            }),
            container: container.clone(),
            log_path: log_path.clone(),
            gate: gate.clone(),
            exited_tx,
            exited: exited_rx.clone(),
            started: AtomicBool::new(false),
            stopping: AtomicBool::new(false),
            tasks: Mutex::new(Vec::new()),
        });
        // Registered before it starts, so a `die` event right after the start finds it.
        inner.instances.lock().insert(id.clone(), instance.clone());
        if let Err(e) = inner.engine.start(&container).await {
            inner.instances.lock().remove(&id);
            let _ = inner.engine.remove(&container).await;
            append_log(&log_path, &format!("guardrail: {e}"));
            return Err(e);
        }
        instance.started.store(true, Ordering::SeqCst);
        let pid = inner.engine.main_pid(&container).await;
        let logs = tokio::spawn(follow_logs(
            inner.engine.docker().clone(),
            container.clone(),
            log_path.clone(),
        ));
        let prober = tokio::spawn(run_prober(
            id.clone(),
            addr,
            inner.probe.clone(),
            gate,
            exited_rx,
        ));
        instance
            .tasks
            .lock()
            .extend([logs.abort_handle(), prober.abort_handle()]);
        // It may have died before the exit watcher knew it.
        if let Some(reason) = inner.engine.exit_reason(&container).await {
            instance.mark_exited(reason);
        }
        tracing::info!(instance = %id, %container, ?pid, %addr, %image, "launched container");
        let mut launched = instance.launched.lock();
        launched.pid = pid;
        Ok(launched.clone())
    }
}

#[async_trait::async_trait]
impl InstanceBackend for ContainerBackend {
    async fn launch(&self, spec: InstanceSpec) -> Result<LaunchedInstance, BackendError> {
        if !valid_id(&spec.id) {
            return Err(BackendError::InvalidId(spec.id));
        }
        let Program::Container { image } = &spec.program else {
            return Err(BackendError::WrongProgram {
                kind: spec.program.kind(),
                id: spec.id,
            });
        };
        let image = image.clone();
        let lock = self
            .inner
            .launching
            .lock()
            .entry(spec.id.clone())
            .or_default()
            .clone();
        let _one_at_a_time = lock.lock().await;
        let existing = self.inner.instances.lock().get(&spec.id).cloned();
        if let Some(inst) = existing {
            if !inst.has_exited() && !inst.stopping.load(Ordering::SeqCst) {
                return Ok(inst.launched.lock().clone());
            }
            // Exited or being stopped: make sure the old container is gone before its name is
            // used again.
            self.stop(&spec.id, Duration::from_secs(0)).await?;
        }
        self.start_instance(spec, image).await
    }

    async fn stop(&self, id: &InstanceId, grace: Duration) -> Result<(), BackendError> {
        let Some(inst) = self.inner.instances.lock().get(id).cloned() else {
            return Ok(());
        };
        inst.stopping.store(true, Ordering::SeqCst);
        inst.gate.close(None);
        let engine = &self.inner.engine;
        if !inst.has_exited() {
            tracing::info!(instance = %id, container = %inst.container, ?grace, "stopping container");
            let stopped =
                tokio::time::timeout(grace + KILL_WAIT, engine.stop(&inst.container, grace)).await;
            match stopped {
                Ok(result) => result?,
                Err(_) => {
                    return Err(BackendError::StopTimeout {
                        id: id.clone(),
                        pid: inst.launched.lock().pid.unwrap_or(0),
                        waited: grace + KILL_WAIT,
                    })
                }
            }
        }
        engine.remove(&inst.container).await?;
        inst.mark_exited("stopped".into());
        crate::forget_launch(&mut self.inner.instances.lock(), id, &inst);
        Ok(())
    }

    fn running(&self) -> Vec<InstanceId> {
        crate::live_ids(&self.inner.instances.lock())
    }

    async fn stop_all(&self, grace: Duration) {
        let ids: Vec<InstanceId> = self.inner.instances.lock().keys().cloned().collect();
        crate::stop_concurrently(self, ids, grace).await;
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(watcher) = self.exits.lock().take() {
            watcher.abort();
        }
    }
}

/// Copies the container's stdout and stderr into the instance's log file until it ends.
async fn follow_logs(docker: Docker, container: String, log_path: PathBuf) {
    let options = bollard::query_parameters::LogsOptions {
        follow: true,
        stdout: true,
        stderr: true,
        ..Default::default()
    };
    let mut file = match tokio::fs::OpenOptions::new()
        .append(true)
        .open(&log_path)
        .await
    {
        Ok(f) => f,
        Err(e) => {
            tracing::warn!(log = %log_path.display(), error = %e, "cannot open the instance log");
            return;
        }
    };
    let mut logs = docker.logs(&container, Some(options));
    while let Some(chunk) = logs.next().await {
        match chunk {
            Ok(output) => {
                if file.write_all(&output.into_bytes()).await.is_err() {
                    return;
                }
            }
            Err(e) => {
                tracing::debug!(%container, error = %e, "log stream ended");
                return;
            }
        }
    }
}
