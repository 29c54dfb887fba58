//! One endpoint's reconcile loop.

use std::collections::BTreeMap;
use std::sync::Arc;

use guardrail_artifacts::ModelSource;
use guardrail_backend::{InstanceEvent, InstanceId, InstanceSpec};
use guardrail_core::fleet::{InstanceHealth, InstanceKey, ObservedInstance};
use guardrail_core::lifecycle::{reconcile, Action, EndpointRecord};
use guardrail_core::routing::RoutingPlan;
use guardrail_core::spec::{ModelData, ModelDataPacking};
use guardrail_core::status::EndpointStatus;
use guardrail_store::StoreError;
use tokio::sync::{mpsc, watch};

use crate::{lock, Shared};

pub(crate) enum TaskEvent {
    /// Something changed in the store; look again.
    Nudge,
    Instance(InstanceEvent),
    /// Its image or artifacts could not be had: the instance never ran.
    LaunchFailed {
        id: InstanceId,
        reason: String,
    },
    /// The shell finished draining and stopping an instance.
    Stopped(InstanceKey),
}

pub(crate) struct EndpointTask {
    shared: Arc<Shared>,
    key: String,
    inbox: mpsc::UnboundedReceiver<TaskEvent>,
    observed: BTreeMap<InstanceKey, ObservedInstance>,
    /// Instance id → key, for events.
    ids: BTreeMap<String, InstanceKey>,
    published: Option<RoutingPlan>,
    /// The endpoint's name as created (metric dimensions), known after the first pass.
    name: String,
    /// Whether the last pass watched alarms: then alarm changes wake the task at once.
    watching_alarms: bool,
    /// Consecutive failures to become Ready, per slot (fleet, variant, slot): the next launch
    /// into that slot waits [`relaunch_delay`] first, so an image that cannot be pulled or
    /// artifacts that are gone do not relaunch in a hot loop.
    startup_failures: BTreeMap<(u32, String, u32), u32>,
}

enum Pass {
    /// Sleep until this instant (or an event).
    WaitUntil(Option<guardrail_core::time::Timestamp>),
    /// The store changed under us; run again at once.
    Retry,
    /// The endpoint is gone; end the task.
    Done,
}

impl EndpointTask {
    pub(crate) fn new(
        shared: Arc<Shared>,
        key: String,
        inbox: mpsc::UnboundedReceiver<TaskEvent>,
    ) -> Self {
        EndpointTask {
            shared,
            key,
            inbox,
            observed: BTreeMap::new(),
            ids: BTreeMap::new(),
            published: None,
            watching_alarms: false,
            startup_failures: BTreeMap::new(),
            name: String::new(),
        }
    }

    pub(crate) async fn run(mut self) {
        let mut shutdown = self.shared.shutdown.clone();
        let mut alarm_changes = self.shared.alarms.changes();
        let mut alarms_gone = false;
        loop {
            if *shutdown.borrow() {
                break;
            }
            let wake = match self.pass().await {
                Ok(Pass::Done) => break,
                Ok(Pass::Retry) => continue,
                Ok(Pass::WaitUntil(t)) => t,
                Err(e) => {
                    tracing::error!(endpoint = %self.key, error = %e, "reconcile failed; will retry");
                    None
                }
            };
            let mut deadline = tokio::time::Instant::now() + self.shared.config.safety_requeue;
            if let Some(t) = wake {
                deadline = deadline.min(self.shared.clock.instant_at(t));
            }
            tokio::select! {
                ev = self.inbox.recv() => match ev {
                    Some(ev) => { self.apply(ev); self.drain_inbox(); }
                    None => break,
                },
                _ = tokio::time::sleep_until(deadline) => {}
                _ = shutdown.changed() => {}
                // A tripped alarm must roll back within milliseconds, not at the next wake.
                r = alarm_changes.changed(), if self.watching_alarms && !alarms_gone => {
                    alarms_gone = r.is_err();
                }
            }
        }
        // `Controller::nudge` sends under the same lock: a nudge that reached this inbox before
        // the entry is gone (e.g. CreateEndpoint reusing the name of the endpoint this task just
        // deleted) is seen here and gets a task of its own; any later one starts a task itself.
        let raced = {
            let mut tasks = lock(&self.shared.tasks);
            tasks.remove(&self.key);
            self.inbox.try_recv().is_ok()
        };
        lock(&self.shared.observed).remove(&self.key);
        if raced && !*self.shared.shutdown.borrow() {
            crate::Controller {
                shared: self.shared.clone(),
            }
            .nudge(&self.key);
        }
    }

    fn drain_inbox(&mut self) {
        while let Ok(ev) = self.inbox.try_recv() {
            self.apply(ev);
        }
    }

    /// Folds an event into the observed state.
    fn apply(&mut self, ev: TaskEvent) {
        let now = self.shared.clock.now();
        match ev {
            TaskEvent::Nudge => {}
            TaskEvent::Stopped(key) => {
                if let Some(o) = self.observed.remove(&key) {
                    let id = o.key.instance_id(&self.key);
                    self.ids.remove(&id);
                    lock(&self.shared.owners).remove(&id);
                    lock(&self.shared.processes).remove(&id);
                    self.shared.router.forget_target(&id);
                }
            }
            TaskEvent::Instance(_) | TaskEvent::LaunchFailed { .. } => {
                let (id, health) = match ev {
                    TaskEvent::Instance(InstanceEvent::Ready { id, addr }) => (
                        id,
                        InstanceHealth::Ready {
                            addr: addr.to_string(),
                        },
                    ),
                    TaskEvent::Instance(
                        InstanceEvent::Unhealthy { id, reason }
                        | InstanceEvent::Exited { id, reason },
                    ) => (
                        id,
                        InstanceHealth::Failed {
                            reason,
                            was_ready: false,
                            started: true,
                        },
                    ),
                    TaskEvent::LaunchFailed { id, reason } => (
                        id,
                        InstanceHealth::Failed {
                            reason,
                            was_ready: false,
                            started: false,
                        },
                    ),
                    TaskEvent::Nudge | TaskEvent::Stopped(_) => return,
                };
                let Some(key) = self.ids.get(&id.0).cloned() else {
                    return;
                };
                let failure_text = match &health {
                    InstanceHealth::Failed { reason, .. } => self.describe_failure(&key, reason),
                    _ => String::new(),
                };
                let slot = (key.fleet, key.variant.clone(), key.slot);
                match &health {
                    InstanceHealth::Ready { .. } => {
                        self.startup_failures.remove(&slot);
                    }
                    InstanceHealth::Failed { .. } => {
                        let never_ready = self
                            .observed
                            .get(&key)
                            .is_some_and(|o| o.health == InstanceHealth::Launching);
                        if never_ready {
                            *self.startup_failures.entry(slot).or_default() += 1;
                        }
                    }
                    _ => {}
                }
                let Some(o) = self.observed.get_mut(&key) else {
                    return;
                };
                o.health = match (&o.health, health) {
                    // A stopping instance's exit is expected; a failed one stays failed.
                    (InstanceHealth::Stopping, _) | (InstanceHealth::Failed { .. }, _) => return,
                    (InstanceHealth::Launching, h @ InstanceHealth::Ready { .. }) => h,
                    (InstanceHealth::Ready { .. }, InstanceHealth::Ready { .. }) => return,
                    (prev, InstanceHealth::Failed { started, .. }) => InstanceHealth::Failed {
                        was_ready: matches!(prev, InstanceHealth::Ready { .. }),
                        reason: failure_text,
                        started,
                    },
                    (_, h) => h,
                };
                tracing::info!(endpoint = %self.key, instance = %key, health = ?o.health, at = now.millis(), "instance health changed");
            }
        }
    }

    fn describe_failure(&self, key: &InstanceKey, reason: &str) -> String {
        format!(
            "instance {} {reason}; log: {}",
            key,
            self.log_path(&key.instance_id(&self.key)).display()
        )
    }

    fn log_path(&self, instance_id: &str) -> std::path::PathBuf {
        self.shared
            .data_dir
            .join("logs")
            .join(&self.key)
            .join(format!("{instance_id}.log"))
    }

    async fn pass(&mut self) -> Result<Pass, StoreError> {
        let key = self.key.clone();
        let Some(row) = self
            .shared
            .store
            .read(move |tx| tx.get_endpoint(&key))
            .await?
        else {
            // Deleted (or never committed): stop anything we still run.
            self.shared.router.unpublish(&self.key);
            if self
                .observed
                .values()
                .all(|o| o.health == InstanceHealth::Stopping)
            {
                return Ok(Pass::Done);
            }
            let keys: Vec<InstanceKey> = self
                .observed
                .values()
                .filter(|o| o.health != InstanceHealth::Stopping)
                .map(|o| o.key.clone())
                .collect();
            for k in keys {
                self.stop(k);
            }
            return Ok(Pass::WaitUntil(None));
        };
        let now = self.shared.clock.now();
        self.name.clone_from(&row.name);
        let observed: Vec<ObservedInstance> = self.observed.values().cloned().collect();
        // `published` is what the router serves: deployments advance a traffic step only once
        // it is live (set → verify). Alarm views come from the alarm service.
        let watched = guardrail_core::deploy::watched_alarms(&row.record);
        self.watching_alarms = watched.is_some();
        let views = match &watched {
            Some((names, _)) => self.shared.alarms.views(names),
            None => Vec::new(),
        };
        let decision = reconcile(&row.record, &observed, &views, self.published.as_ref(), now);
        if decision.record != row.record {
            // Persist the transition, and the history entries it produced, before acting on it.
            let mut next = row.clone();
            next.record = decision.record.clone();
            let expected = row.record.clone();
            let mut history = Vec::new();
            for action in &decision.actions {
                if let Action::Record(event) = action {
                    let doc = serde_json::to_value(event).map_err(StoreError::from)?;
                    history.push((i64::from(event.deployment), event.at, doc));
                }
            }
            let endpoint_key = self.key.clone();
            let committed = self
                .shared
                .store
                .write(move |tx| {
                    if !tx.update_endpoint_if(&next, &expected)? {
                        return Ok::<bool, StoreError>(false);
                    }
                    for (deployment, at, doc) in &history {
                        tx.append_deployment_event(&endpoint_key, *deployment, *at, doc)?;
                    }
                    Ok(true)
                })
                .await?;
            if !committed {
                return Ok(Pass::Retry);
            }
            if decision.record.status != row.record.status {
                tracing::info!(endpoint = %row.name, from = row.record.status.as_str(), to = decision.record.status.as_str(), reason = ?decision.record.failure_reason, "endpoint status changed");
            }
        }
        for action in decision.actions {
            match action {
                Action::Launch { key } => self.launch(&decision.record, key).await,
                Action::Route(plan) => {
                    if self.published.as_ref() != Some(&plan) {
                        self.shared.router.publish(&self.key, &row.name, &plan);
                        self.published = Some(plan);
                    }
                }
                Action::Unroute => {
                    if self.published.take().is_some() || self.shared.router.is_routed(&self.key) {
                        self.shared.router.unpublish(&self.key);
                    }
                }
                Action::Stop { key } => self.stop(key),
                // Already stored with the record above.
                Action::Record(event) => {
                    if let Some(observer) = &self.shared.deployments {
                        let mode = row
                            .record
                            .deployment
                            .as_deref()
                            .or(decision.record.deployment.as_deref())
                            .map_or("none", |d| d.config.mode_label());
                        observer.on_event(&row.name, mode, &event);
                    }
                    tracing::info!(endpoint = %row.name, deployment = event.deployment, seq = event.seq, kind = ?event.kind, message = %event.message, reason = ?event.reason, "deployment event");
                }
                Action::Forget => {
                    let key = self.key.clone();
                    let gone = self
                        .shared
                        .store
                        .write(move |tx| {
                            tx.delete_endpoint_if_status(&key, EndpointStatus::Deleting)
                        })
                        .await?;
                    if gone {
                        tracing::info!(endpoint = %row.name, "endpoint deleted");
                        self.shared.router.unpublish(&self.key);
                        self.publish_observed();
                        return Ok(Pass::Done);
                    }
                    return Ok(Pass::Retry);
                }
            }
        }
        self.publish_observed();
        Ok(Pass::WaitUntil(decision.wake_at))
    }

    fn publish_observed(&self) {
        lock(&self.shared.observed)
            .insert(self.key.clone(), self.observed.values().cloned().collect());
    }

    async fn launch(&mut self, record: &EndpointRecord, key: InstanceKey) {
        let now = self.shared.clock.now();
        let id = key.instance_id(&self.key);
        let health = match self.instance_spec(record, &key, &id) {
            Err(reason) => InstanceHealth::Failed {
                reason,
                was_ready: false,
                started: false,
            },
            Ok((spec, model_data)) => {
                lock(&self.shared.owners).insert(id.clone(), self.key.clone());
                let failures = self
                    .startup_failures
                    .get(&(key.fleet, key.variant.clone(), key.slot))
                    .copied()
                    .unwrap_or(0);
                let delay = relaunch_delay(failures);
                self.start_launch(spec, model_data, key.variant.clone(), delay);
                InstanceHealth::Launching
            }
        };
        tracing::info!(endpoint = %self.key, instance = %id, ?health, "launched instance");
        self.ids.insert(id, key.clone());
        self.observed.insert(
            key.clone(),
            ObservedInstance {
                key,
                launched_at: now,
                health,
            },
        );
    }

    /// Fetches the artifacts and starts the instance in the background (a download or an image
    /// pull may take minutes; the endpoint keeps reconciling meanwhile). A failure comes back as
    /// the instance's exit, with the reason.
    fn start_launch(
        &self,
        mut spec: InstanceSpec,
        model_data: Option<ModelSource>,
        variant: String,
        delay: std::time::Duration,
    ) {
        let shared = self.shared.clone();
        let inbox = lock(&shared.tasks).get(&self.key).cloned();
        let endpoint_name = self.name.clone();
        let id = spec.id.0.clone();
        let (done_tx, done_rx) = watch::channel(false);
        lock(&shared.launches).insert(id.clone(), done_rx.clone());
        tokio::spawn(async move {
            if !delay.is_zero() {
                tracing::warn!(instance = %id, ?delay, "the slot's last instance never became ready; waiting before the next launch");
                tokio::time::sleep(delay).await;
            }
            let launched = async {
                if let Some(source) = &model_data {
                    let dir = shared
                        .artifacts
                        .prepare(source)
                        .await
                        .map_err(|e| e.to_string())?;
                    spec.model_dir = Some(dir);
                }
                let log_path = spec.log_path.clone();
                shared
                    .backend
                    .launch(spec)
                    .await
                    .map_err(|e| format!("could not start: {e}"))
                    .inspect_err(|reason| append_log(&log_path, reason))
            }
            .await;
            match launched {
                Ok(launched) => {
                    if let Some(pid) = launched.pid {
                        let process = crate::InstanceProcess {
                            endpoint_name,
                            variant,
                            pid,
                        };
                        lock(&shared.processes).insert(id.clone(), process);
                    }
                }
                Err(reason) => {
                    tracing::warn!(instance = %id, %reason, "launch failed");
                    if let Some(inbox) = inbox {
                        let id = InstanceId(id.clone());
                        let _ = inbox.send(TaskEvent::LaunchFailed { id, reason });
                    }
                }
            }
            let _ = done_tx.send(true);
            let mut launches = lock(&shared.launches);
            if launches
                .get(&id)
                .is_some_and(|rx| rx.same_channel(&done_rx))
            {
                launches.remove(&id);
            }
        });
    }

    /// What to launch for `key`, and the artifacts it needs first.
    fn instance_spec(
        &self,
        record: &EndpointRecord,
        key: &InstanceKey,
        id: &str,
    ) -> Result<(InstanceSpec, Option<ModelSource>), String> {
        // During an update the key may belong to the new (green) fleet.
        let variant = record
            .fleet_by_id(key.fleet)
            .and_then(|f| f.spec.variant(&key.variant))
            .ok_or_else(|| format!("variant {} is not in the endpoint's config", key.variant))?;
        let container = &variant.container;
        let (program, image_env) = self
            .shared
            .images
            .program(&container.image, &container.environment)
            .ok_or_else(|| {
                format!(
                    "image {} is no longer configured in [images] and [containers] is off",
                    container.image
                )
            })?;
        let mut env = self.shared.platform_env.clone();
        env.extend(image_env);
        let labels = BTreeMap::from([
            ("guardrail.endpoint".to_string(), self.name.clone()),
            ("guardrail.variant".to_string(), key.variant.clone()),
        ]);
        let spec = InstanceSpec {
            id: InstanceId(id.to_string()),
            program,
            env,
            log_path: self.log_path(id),
            model_dir: None,
            resources: self
                .shared
                .images
                .resources(variant.instance_type.as_deref()),
            labels,
        };
        Ok((spec, container.model_data.as_ref().map(model_source)))
    }

    /// Out of the observed slots at once; drain and stop in the background, then report.
    fn stop(&mut self, key: InstanceKey) {
        let Some(o) = self.observed.get_mut(&key) else {
            return;
        };
        if o.health == InstanceHealth::Stopping {
            return;
        }
        o.health = InstanceHealth::Stopping;
        let shared = self.shared.clone();
        let id = key.instance_id(&self.key);
        let inbox = lock(&shared.tasks).get(&self.key).cloned();
        tokio::spawn(async move {
            // A launch still in flight finishes first, so it cannot start the instance after
            // this stop.
            let launching = lock(&shared.launches).get(&id).cloned();
            if let Some(mut done) = launching {
                let _ = done.wait_for(|d| *d).await;
            }
            drain(&shared, &id).await;
            if let Err(e) = shared
                .backend
                .stop(&InstanceId(id.clone()), shared.config.stop_grace)
                .await
            {
                tracing::warn!(instance = %id, error = %e, "stopping instance failed");
            }
            if let Some(inbox) = inbox {
                let _ = inbox.send(TaskEvent::Stopped(key));
            }
        });
    }
}

/// Waits until no request is in flight to the instance (it is already out of rotation),
/// bounded by the drain timeout.
async fn drain(shared: &Shared, id: &str) {
    let Some(target) = shared.router.target(id) else {
        return;
    };
    let deadline = tokio::time::Instant::now() + shared.config.drain_timeout;
    while target.outstanding() > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

/// The core's description of a model's artifacts, as the artifact cache takes it.
pub(crate) fn model_source(data: &ModelData) -> ModelSource {
    let url = data.url.clone();
    match data.packing {
        ModelDataPacking::Archive => ModelSource::Archive { url },
        ModelDataPacking::Prefix => ModelSource::Prefix { url },
        ModelDataPacking::Object => ModelSource::Object { url },
    }
}

/// A line of Guardrail's own in an instance's log (best effort: the log is for people).
fn append_log(path: &std::path::Path, line: &str) {
    use std::io::Write as _;
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path);
    if let Ok(mut f) = file {
        let _ = writeln!(f, "guardrail: {line}");
    }
}

/// How long a slot waits before launching again after `failures` consecutive instances that
/// never became Ready: none the first time, then 1 s, 2 s, 4 s … up to 30 s (within the
/// shortest startup window SageMaker allows, 60 s).
fn relaunch_delay(failures: u32) -> std::time::Duration {
    match failures {
        0 => std::time::Duration::ZERO,
        n => std::time::Duration::from_secs((1u64 << (n - 1).min(5)).min(30)),
    }
}

#[cfg(test)]
mod tests {
    use super::relaunch_delay;
    use std::time::Duration;

    #[test]
    fn relaunches_back_off_to_thirty_seconds() {
        let secs: Vec<u64> = (0..8).map(|n| relaunch_delay(n).as_secs()).collect();
        assert_eq!(secs, [0, 1, 2, 4, 8, 16, 30, 30]);
        assert_eq!(relaunch_delay(u32::MAX), Duration::from_secs(30));
    }
}
