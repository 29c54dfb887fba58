//! The engine calls the backend needs, with errors that say what failed where, and the pure
//! translation of an [`InstanceSpec`] into a container definition.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use bollard::errors::Error as DockerError;
use bollard::models::{ContainerCreateBody, HostConfig, PortBinding};
use bollard::query_parameters::{
    CreateContainerOptions, CreateImageOptions, InspectContainerOptions, ListContainersOptions,
    RemoveContainerOptions, StopContainerOptions,
};
use bollard::Docker;
use futures::StreamExt as _;
use tokio::time::Instant;

use super::{ContainerNetwork, LABEL_INSTANCE, LABEL_OWNER};
use crate::process::append_log;
use crate::{BackendError, InstanceId, InstanceSpec};

/// The port SageMaker containers serve on.
pub(super) const CONTAINER_PORT: u16 = 8080;
/// Where SageMaker puts the model artifacts.
pub(super) const MODEL_DIR: &str = "/opt/ml/model";
/// Engine calls other than pulls and stops answer within this.
const CALL_TIMEOUT: Duration = Duration::from_secs(120);
/// A pull that reports nothing for this long has stalled and fails.
const PULL_STALL: Duration = Duration::from_secs(120);
/// How often pull progress is logged.
const PROGRESS_EVERY: Duration = Duration::from_secs(5);

pub(super) struct Engine {
    docker: Docker,
    address: String,
    host_cpus: f64,
}

impl Engine {
    /// Connects, agrees on an API version and reads the host's CPU count (limits are clamped to
    /// it: engines refuse more CPUs than the host has).
    pub(super) async fn connect(address: Option<&str>) -> Result<Self, BackendError> {
        let address = address
            .map(str::to_string)
            .or_else(|| std::env::var("DOCKER_HOST").ok())
            .unwrap_or_else(|| "unix:///var/run/docker.sock".to_string());
        let fail = |message: String| BackendError::Engine {
            engine: address.clone(),
            action: "connect".into(),
            message,
        };
        let docker = Docker::connect_with_host(&address)
            .map_err(|e| fail(e.to_string()))?
            .with_timeout(CALL_TIMEOUT);
        let docker = tokio::time::timeout(CALL_TIMEOUT, docker.negotiate_version())
            .await
            .map_err(|_| fail(format!("no answer within {CALL_TIMEOUT:?}")))?
            .map_err(|e| fail(format!("{e} (is the engine running? for podman: `podman system service --time=0 {address}`)")))?;
        let info = docker.info().await.map_err(|e| fail(e.to_string()))?;
        let host_cpus = info.ncpu.filter(|n| *n > 0).unwrap_or(1) as f64;
        Ok(Self {
            docker,
            address,
            host_cpus,
        })
    }

    pub(super) fn address(&self) -> &str {
        &self.address
    }

    pub(super) fn docker(&self) -> &Docker {
        &self.docker
    }

    pub(super) fn host_cpus(&self) -> f64 {
        self.host_cpus
    }

    fn error(&self, action: impl Into<String>, e: DockerError) -> BackendError {
        BackendError::Engine {
            engine: self.address.clone(),
            action: action.into(),
            message: server_message(&e),
        }
    }

    /// Pulls `image` unless the engine has it, logging progress to the instance log.
    pub(super) async fn ensure_image(&self, image: &str, log: &Path) -> Result<(), BackendError> {
        match self.docker.inspect_image(image).await {
            Ok(_) => return Ok(()),
            Err(e) if status_of(&e) == Some(404) => {}
            Err(e) => return Err(self.error(format!("inspect image {image}"), e)),
        }
        tracing::info!(%image, "image not present: pulling");
        append_log(log, &format!("guardrail: pulling image {image}"));
        let options = CreateImageOptions {
            from_image: Some(image.to_string()),
            ..Default::default()
        };
        let credentials = super::registry_auth::credentials_for(image);
        let mut progress = self.docker.create_image(Some(options), None, credentials);
        let mut last = Instant::now();
        loop {
            // A pull that stops making progress must end: the instance's launch (and any stop
            // waiting for it) depends on it.
            let item = match tokio::time::timeout(PULL_STALL, progress.next()).await {
                Ok(Some(item)) => item,
                Ok(None) => break,
                Err(_) => {
                    return Err(BackendError::Pull {
                        image: image.to_string(),
                        message: format!("no progress for {PULL_STALL:?}"),
                    })
                }
            };
            let info = item.map_err(|e| BackendError::Pull {
                image: image.to_string(),
                message: server_message(&e),
            })?;
            if let Some(detail) = info.error_detail {
                return Err(BackendError::Pull {
                    image: image.to_string(),
                    message: detail.message.unwrap_or_else(|| "unknown error".into()),
                });
            }
            if last.elapsed() >= PROGRESS_EVERY {
                last = Instant::now();
                let status = info.status.unwrap_or_default();
                tracing::info!(%image, %status, "pulling");
                append_log(log, &format!("guardrail: pulling {image}: {status}"));
            }
        }
        append_log(log, &format!("guardrail: pulled image {image}"));
        Ok(())
    }

    /// Creates the container (removing a stale one of the same name first); returns its id.
    pub(super) async fn create(
        &self,
        name: &str,
        body: ContainerCreateBody,
    ) -> Result<String, BackendError> {
        self.remove(name).await?;
        let options = CreateContainerOptions {
            name: Some(name.to_string()),
            ..Default::default()
        };
        let created = self
            .docker
            .create_container(Some(options), body)
            .await
            .map_err(|e| self.error("create the container", e))?;
        Ok(created.id)
    }

    pub(super) async fn start(&self, container: &str) -> Result<(), BackendError> {
        self.docker
            .start_container(container, None)
            .await
            .map_err(|e| self.error("start the container", e))
    }

    /// SIGTERM, then SIGKILL after `grace` (the engine's stop); a gone container is stopped.
    pub(super) async fn stop(&self, container: &str, grace: Duration) -> Result<(), BackendError> {
        let options = StopContainerOptions {
            t: Some(grace.as_secs().min(i32::MAX as u64) as i32),
            ..Default::default()
        };
        let docker = self.docker.clone().with_timeout(grace + CALL_TIMEOUT);
        match docker.stop_container(container, Some(options)).await {
            Ok(()) => Ok(()),
            // 304: already stopped; 404: already gone.
            Err(e) if matches!(status_of(&e), Some(304 | 404)) => Ok(()),
            Err(e) => Err(self.error("stop the container", e)),
        }
    }

    /// Removes the container, killing it if it still runs; a gone container is removed.
    pub(super) async fn remove(&self, container: &str) -> Result<(), BackendError> {
        let options = RemoveContainerOptions {
            force: true,
            v: true,
            ..Default::default()
        };
        match self.docker.remove_container(container, Some(options)).await {
            Ok(()) => Ok(()),
            Err(e) if status_of(&e) == Some(404) => Ok(()),
            Err(e) => Err(self.error(format!("remove container {container}"), e)),
        }
    }

    /// The container's main process as the host sees it (for CPU and memory metrics); `None`
    /// when the engine does not say (e.g. a remote engine).
    pub(super) async fn main_pid(&self, container: &str) -> Option<u32> {
        let inspected = self
            .docker
            .inspect_container(container, None::<InspectContainerOptions>)
            .await
            .ok()?;
        let pid = inspected.state?.pid?;
        u32::try_from(pid).ok().filter(|p| *p > 0)
    }

    /// Why the container is not running, or `None` while it runs (or cannot be inspected).
    pub(super) async fn exit_reason(&self, container: &str) -> Option<String> {
        let inspected = match self
            .docker
            .inspect_container(container, None::<InspectContainerOptions>)
            .await
        {
            Ok(i) => i,
            Err(e) if status_of(&e) == Some(404) => {
                return Some("container disappeared from the engine".into())
            }
            Err(_) => return None,
        };
        let state = inspected.state?;
        if state.running == Some(true) {
            return None;
        }
        Some(describe_exit(
            state.exit_code,
            state.oom_killed == Some(true),
            state.error.as_deref(),
        ))
    }

    /// Ids of this owner's containers (only the running ones when `running_only`).
    pub(super) async fn containers_of(
        &self,
        owner: &str,
        running_only: bool,
    ) -> Result<Vec<String>, BackendError> {
        let mut filters = HashMap::new();
        filters.insert("label".to_string(), vec![format!("{LABEL_OWNER}={owner}")]);
        let options = ListContainersOptions {
            all: !running_only,
            filters: Some(filters),
            ..Default::default()
        };
        let listed = self
            .docker
            .list_containers(Some(options))
            .await
            .map_err(|e| self.error("list containers", e))?;
        Ok(listed.into_iter().filter_map(|c| c.id).collect())
    }
}

/// The HTTP status of an engine error, if it was one.
pub(super) fn status_of(e: &DockerError) -> Option<u16> {
    match e {
        DockerError::DockerResponseServerError { status_code, .. } => Some(*status_code),
        _ => None,
    }
}

/// The engine's own words when it gave some.
fn server_message(e: &DockerError) -> String {
    match e {
        DockerError::DockerResponseServerError { message, .. } => message.trim().to_string(),
        other => other.to_string(),
    }
}

/// Reads like the process backend's reasons, plus what only an engine knows.
pub(super) fn describe_exit(code: Option<i64>, oom_killed: bool, error: Option<&str>) -> String {
    if oom_killed {
        return "was killed: out of memory (the instance type's memory limit)".into();
    }
    let mut reason = match code {
        Some(c) if c > 128 && c < 160 => {
            format!("exited with status {c} (killed by signal {})", c - 128)
        }
        Some(c) => format!("exited with status {c}"),
        None => "exited".into(),
    };
    if let Some(error) = error.filter(|e| !e.is_empty()) {
        reason.push_str(": ");
        reason.push_str(error);
    }
    reason
}

/// `guardrail-<owner prefix>-<instance id>`: unique per server and instance, a valid name.
pub(super) fn container_name(owner: &str, id: &InstanceId) -> String {
    let short: String = owner.chars().take(8).collect();
    format!("guardrail-{short}-{id}")
}

/// The container definition of an instance (SageMaker's contract; docs/containers.md).
pub(super) fn create_body(
    spec: &InstanceSpec,
    image: &str,
    network: ContainerNetwork,
    owner: &str,
    host_port: u16,
    host_cpus: f64,
) -> ContainerCreateBody {
    let bind_port = match network {
        ContainerNetwork::Publish => CONTAINER_PORT,
        ContainerNetwork::Host => host_port,
    };
    let mut env = spec.env.clone();
    env.insert("SAGEMAKER_BIND_TO_PORT".into(), bind_port.to_string());
    let mut labels: HashMap<String, String> = spec.labels.clone().into_iter().collect();
    labels.insert(LABEL_OWNER.into(), owner.into());
    labels.insert(LABEL_INSTANCE.into(), spec.id.to_string());
    let mut host = HostConfig {
        binds: spec
            .model_dir
            .as_ref()
            .map(|dir| vec![format!("{}:{MODEL_DIR}:ro", dir.display())]),
        memory: spec
            .resources
            .map(|r| i64::try_from(r.memory_bytes).unwrap_or(i64::MAX)),
        nano_cpus: spec
            .resources
            .map(|r| (r.vcpus.min(host_cpus) * 1e9).round() as i64),
        ..Default::default()
    };
    let mut exposed = None;
    match network {
        ContainerNetwork::Publish => {
            let port = format!("{CONTAINER_PORT}/tcp");
            let binding = PortBinding {
                host_ip: Some("127.0.0.1".into()),
                host_port: Some(host_port.to_string()),
            };
            host.port_bindings = Some(HashMap::from([(port.clone(), Some(vec![binding]))]));
            exposed = Some(vec![port]);
        }
        ContainerNetwork::Host => host.network_mode = Some("host".into()),
    }
    ContainerCreateBody {
        image: Some(image.to_string()),
        cmd: Some(vec!["serve".into()]),
        env: Some(env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
        labels: Some(labels),
        exposed_ports: exposed,
        host_config: Some(host),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    use super::*;
    use crate::{Program, Resources};

    fn spec() -> InstanceSpec {
        InstanceSpec {
            id: InstanceId::from("ep-v1-0"),
            program: Program::Container {
                image: "my/model:1".into(),
            },
            env: BTreeMap::from([
                ("A".to_string(), "1".to_string()),
                ("SAGEMAKER_BIND_TO_PORT".to_string(), "1".to_string()),
            ]),
            log_path: PathBuf::from("/tmp/x.log"),
            model_dir: Some(PathBuf::from("/data/models/abc/model")),
            resources: Some(Resources {
                vcpus: 4.0,
                memory_bytes: 8 << 30,
            }),
            labels: BTreeMap::from([("guardrail.endpoint".to_string(), "ep".to_string())]),
        }
    }

    #[test]
    fn a_published_container_follows_the_sagemaker_contract() {
        let body = create_body(
            &spec(),
            "my/model:1",
            ContainerNetwork::Publish,
            "own",
            41000,
            2.0,
        );
        assert_eq!(body.cmd, Some(vec!["serve".to_string()]));
        let env = body.env.unwrap();
        assert!(
            env.contains(&"SAGEMAKER_BIND_TO_PORT=8080".to_string()),
            "{env:?}"
        );
        assert!(env.contains(&"A=1".to_string()));
        let labels = body.labels.unwrap();
        assert_eq!(labels[LABEL_OWNER], "own");
        assert_eq!(labels[LABEL_INSTANCE], "ep-v1-0");
        assert_eq!(labels["guardrail.endpoint"], "ep");
        let host = body.host_config.unwrap();
        assert_eq!(
            host.binds,
            Some(vec!["/data/models/abc/model:/opt/ml/model:ro".to_string()])
        );
        assert_eq!(host.memory, Some(8 << 30));
        // 4 vCPUs asked, the host has 2: the engine would refuse more.
        assert_eq!(host.nano_cpus, Some(2_000_000_000));
        let bindings = host.port_bindings.unwrap();
        let b = bindings["8080/tcp"].as_ref().unwrap();
        assert_eq!(b[0].host_ip.as_deref(), Some("127.0.0.1"));
        assert_eq!(b[0].host_port.as_deref(), Some("41000"));
        assert_eq!(host.network_mode, None);
    }

    #[test]
    fn a_host_network_container_binds_the_given_port() {
        let mut s = spec();
        s.model_dir = None;
        s.resources = None;
        let body = create_body(&s, "my/model:1", ContainerNetwork::Host, "own", 41000, 2.0);
        assert!(body
            .env
            .unwrap()
            .contains(&"SAGEMAKER_BIND_TO_PORT=41000".to_string()));
        let host = body.host_config.unwrap();
        assert_eq!(host.network_mode.as_deref(), Some("host"));
        assert_eq!(host.port_bindings, None);
        assert_eq!(host.binds, None);
        assert_eq!((host.memory, host.nano_cpus), (None, None));
    }

    #[test]
    fn exits_read_like_the_process_backend() {
        assert_eq!(describe_exit(Some(1), false, None), "exited with status 1");
        assert_eq!(
            describe_exit(Some(137), false, None),
            "exited with status 137 (killed by signal 9)"
        );
        assert!(describe_exit(Some(137), true, None).contains("out of memory"));
        assert_eq!(
            describe_exit(Some(127), false, Some("exec: \"serve\": not found")),
            "exited with status 127: exec: \"serve\": not found"
        );
    }

    #[test]
    fn names_are_unique_per_server_and_valid() {
        let n = container_name("0123456789abcdef", &InstanceId::from("ep-v1-0"));
        assert_eq!(n, "guardrail-01234567-ep-v1-0");
    }
}
