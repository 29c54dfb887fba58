//! `guardrail-backend`: the instance supervisor. It defines the [`InstanceBackend`] plug-in trait
//! (idempotent verbs keyed by caller-chosen, deterministic [`InstanceId`]s, used as
//! `Arc<dyn InstanceBackend>`), the health prober that turns `GET /ping` results into
//! [`InstanceEvent`]s, the local-process backend ([`ProcessBackend`]): one OS process per
//! instance, in its own process group, with orphan safety across a server crash
//! ([`reap_orphans`]), and the container backend ([`ContainerBackend`]): one container per
//! instance through the Docker Engine API (docker or podman), found again by label after a crash
//! ([`ContainerBackend::remove_leftovers`]). [`CombinedBackend`] sends each instance to the one its [`Program`]
//! needs.
//!
//! It reports facts and takes orders; it decides nothing: no startup window, no restarts, no
//! routing. It must not depend on the other Guardrail crates (core, store, proxy, controller,
//! http) nor on reqwest/axum/rusqlite/kube; the controller depends on it, not the reverse.

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

mod combined;
mod container;
mod gate;
mod orphans;
mod probe;
mod process;

pub use combined::CombinedBackend;
pub use container::{
    ContainerBackend, ContainerConfig, ContainerNetwork, LABEL_INSTANCE, LABEL_OWNER,
};
pub use orphans::reap_orphans;
pub use probe::ProbeConfig;
pub use process::ProcessBackend;

/// Names one instance. Chosen by the caller and deterministic (e.g. derived from endpoint,
/// config and slot), so a restarted controller can find and adopt what it launched.
/// The process backend also uses it as a file name, so it may only contain ASCII letters,
/// digits, `-`, `_` and `.` (and must not start with `.`).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Serialize, Deserialize)]
#[serde(transparent)]
pub struct InstanceId(pub String);

impl fmt::Display for InstanceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for InstanceId {
    fn from(s: &str) -> Self {
        Self(s.to_owned())
    }
}

/// What an instance runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Program {
    /// A local process: program and arguments (an `[images]` entry's `command`); not run
    /// through a shell.
    Process { command: Vec<String> },
    /// A container image, run as SageMaker runs it: `docker run <image> serve`.
    Container { image: String },
}

impl Program {
    /// `"process"` or `"container"`, for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Program::Process { .. } => "process",
            Program::Container { .. } => "container",
        }
    }
}

/// CPU and memory limits of one instance (containers; from the variant's `InstanceType`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Resources {
    pub vcpus: f64,
    pub memory_bytes: u64,
}

/// What to run for one instance.
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceSpec {
    pub id: InstanceId,
    pub program: Program,
    /// The image's env merged with the Model's `Environment` by the caller (model wins).
    /// The backend always adds `SAGEMAKER_BIND_TO_PORT`, which overrides any value given here:
    /// the port is the backend's to choose.
    pub env: BTreeMap<String, String>,
    /// stdout and stderr are appended here; parent directories are created.
    pub log_path: PathBuf,
    /// The extracted model artifacts: mounted read-only at `/opt/ml/model` in a container,
    /// `SM_MODEL_DIR` for a process.
    pub model_dir: Option<PathBuf>,
    /// Limits for a container; processes run unlimited.
    pub resources: Option<Resources>,
    /// Extra labels on a container (endpoint, variant), for people looking at `docker ps`.
    pub labels: BTreeMap<String, String>,
}

/// A launched instance: where it serves and, for process backends, its pid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaunchedInstance {
    pub id: InstanceId,
    pub addr: SocketAddr,
    pub pid: Option<u32>,
}

/// Facts the backend reports about an instance, each at most once per launch. No event is sent
/// for an instance after [`InstanceBackend::stop`] was called for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InstanceEvent {
    /// Passed the configured number of consecutive pings while starting.
    Ready { id: InstanceId, addr: SocketAddr },
    /// Was Ready, then failed the configured number of consecutive pings. Probing stops; the
    /// caller decides whether to stop and replace it.
    Unhealthy { id: InstanceId, reason: String },
    /// The process ended on its own (or was killed by someone else), at any time after launch:
    /// `"exited with status 1"`, `"killed by signal 9"`.
    Exited { id: InstanceId, reason: String },
}

impl InstanceEvent {
    pub fn id(&self) -> &InstanceId {
        match self {
            Self::Ready { id, .. } | Self::Unhealthy { id, .. } | Self::Exited { id, .. } => id,
        }
    }
}

/// Why a backend could not do what it was asked.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error("instance id {0:?} is not usable: use ASCII letters, digits, '-', '_' and '.', not starting with '.'")]
    InvalidId(InstanceId),
    #[error("instance {0} has an empty command")]
    EmptyCommand(InstanceId),
    #[error("instance {id} runs a {kind}, which this backend does not run")]
    WrongProgram { id: InstanceId, kind: &'static str },
    #[error("cannot pull image {image}: {message}")]
    Pull { image: String, message: String },
    #[error("container engine at {engine}: cannot {action}: {message}")]
    Engine {
        engine: String,
        action: String,
        message: String,
    },
    #[error("no free loopback port: {0}")]
    NoFreePort(io::Error),
    #[error("cannot open log file {path}: {error}")]
    LogFile { path: PathBuf, error: io::Error },
    #[error("failed to spawn `{command}`: {error}")]
    Spawn { command: String, error: io::Error },
    #[error("cannot record instance {id} in {path}: {error}")]
    PidFile {
        id: InstanceId,
        path: PathBuf,
        error: io::Error,
    },
    #[error("instance {id} (pid {pid}) was still running {waited:?} after SIGKILL")]
    StopTimeout {
        id: InstanceId,
        pid: u32,
        waited: Duration,
    },
}

/// An instance supervisor. Every verb is idempotent and keyed by [`InstanceId`]; readiness,
/// health and exits arrive as [`InstanceEvent`]s on the channel the backend was built with.
#[async_trait::async_trait]
pub trait InstanceBackend: Send + Sync {
    /// Starts the instance and its health prober. Launching an id that is still running returns
    /// the running instance unchanged (whatever `spec` says); an id that exited is launched anew.
    async fn launch(&self, spec: InstanceSpec) -> Result<LaunchedInstance, BackendError>;

    /// SIGTERM to the instance's process group, SIGKILL after `grace`; returns once the process
    /// is gone. Stopping an unknown or already stopped id is a no-op.
    async fn stop(&self, id: &InstanceId, grace: Duration) -> Result<(), BackendError>;

    /// Instances launched and neither exited nor being stopped, in id order.
    fn running(&self) -> Vec<InstanceId>;

    /// [`InstanceBackend::stop`] for every instance, concurrently; errors are logged.
    async fn stop_all(&self, grace: Duration);
}

/// [`InstanceBackend::stop`] for each id, concurrently; errors are logged (`stop_all`).
pub(crate) async fn stop_concurrently<B>(backend: &B, ids: Vec<InstanceId>, grace: Duration)
where
    B: InstanceBackend + Clone + 'static,
{
    let mut stops = tokio::task::JoinSet::new();
    for id in ids {
        let backend = backend.clone();
        stops.spawn(async move {
            if let Err(e) = backend.stop(&id, grace).await {
                tracing::error!(instance = %id, error = %e, "stop failed");
            }
        });
    }
    while stops.join_next().await.is_some() {}
}

/// A launched instance as a backend's map holds it: live until it exited or is being stopped.
pub(crate) trait Tracked {
    fn is_live(&self) -> bool;
}

/// The live ids of a backend's map, sorted ([`InstanceBackend::running`]).
pub(crate) fn live_ids<T: Tracked>(
    instances: &std::collections::HashMap<InstanceId, std::sync::Arc<T>>,
) -> Vec<InstanceId> {
    let mut ids: Vec<InstanceId> = instances
        .iter()
        .filter(|(_, inst)| inst.is_live())
        .map(|(id, _)| id.clone())
        .collect();
    ids.sort();
    ids
}

/// Removes this very launch of `id` once it is stopped: a concurrent relaunch may already have
/// replaced it under the same id, and that one stays.
pub(crate) fn forget_launch<T>(
    instances: &mut std::collections::HashMap<InstanceId, std::sync::Arc<T>>,
    id: &InstanceId,
    launch: &std::sync::Arc<T>,
) {
    if instances
        .get(id)
        .is_some_and(|cur| std::sync::Arc::ptr_eq(cur, launch))
    {
        instances.remove(id);
    }
}
