//! One [`InstanceBackend`] over the process backend and, when configured, the container
//! backend: each instance goes to the backend its [`Program`] needs, and later verbs for that id
//! go to the same one.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

use crate::{
    BackendError, ContainerBackend, InstanceBackend, InstanceId, InstanceSpec, LaunchedInstance,
    ProcessBackend, Program,
};

#[derive(Clone)]
pub struct CombinedBackend {
    process: ProcessBackend,
    container: Option<ContainerBackend>,
    /// Which backend each launched id went to (ids never move between backends).
    placed: Arc<Mutex<HashMap<InstanceId, Placement>>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Placement {
    Process,
    Container,
}

impl CombinedBackend {
    pub fn new(process: ProcessBackend, container: Option<ContainerBackend>) -> Self {
        Self {
            process,
            container,
            placed: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    fn backend(&self, placement: Placement) -> Option<&dyn InstanceBackend> {
        match placement {
            Placement::Process => Some(&self.process),
            Placement::Container => self.container.as_ref().map(|c| c as &dyn InstanceBackend),
        }
    }
}

#[async_trait::async_trait]
impl InstanceBackend for CombinedBackend {
    async fn launch(&self, spec: InstanceSpec) -> Result<LaunchedInstance, BackendError> {
        let placement = match spec.program {
            Program::Process { .. } => Placement::Process,
            Program::Container { .. } => Placement::Container,
        };
        let Some(backend) = self.backend(placement) else {
            return Err(BackendError::WrongProgram {
                id: spec.id,
                kind: "container",
            });
        };
        self.placed.lock().insert(spec.id.clone(), placement);
        backend.launch(spec).await
    }

    async fn stop(&self, id: &InstanceId, grace: Duration) -> Result<(), BackendError> {
        let placement = self.placed.lock().get(id).copied();
        let Some(backend) = placement.and_then(|p| self.backend(p)) else {
            return Ok(());
        };
        backend.stop(id, grace).await?;
        // A relaunch of the id meanwhile placed it again (and may be running): keep that.
        let mut placed = self.placed.lock();
        if !backend.running().contains(id) {
            placed.remove(id);
        }
        Ok(())
    }

    fn running(&self) -> Vec<InstanceId> {
        let mut ids = self.process.running();
        if let Some(c) = &self.container {
            ids.extend(c.running());
        }
        ids.sort();
        ids
    }

    async fn stop_all(&self, grace: Duration) {
        match &self.container {
            Some(c) => {
                tokio::join!(self.process.stop_all(grace), c.stop_all(grace));
            }
            None => self.process.stop_all(grace).await,
        }
    }
}
