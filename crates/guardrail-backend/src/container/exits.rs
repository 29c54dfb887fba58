//! Notices container exits: the engine's `die` events for this owner's containers (filtered by
//! label by the engine, by action here), plus a sweep
//! every few seconds (and after every reconnect of the event stream) for anything an event did
//! not report.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Weak};
use std::time::Duration;

use bollard::query_parameters::EventsOptions;
use futures::StreamExt as _;

use super::{Inner, Instance, LABEL_OWNER};

const SWEEP_EVERY: Duration = Duration::from_secs(5);
const RECONNECT_AFTER: Duration = Duration::from_secs(1);

/// Runs until the backend is dropped.
pub(super) async fn watch(inner: Weak<Inner>) {
    loop {
        let Some(strong) = inner.upgrade() else {
            return;
        };
        let docker = strong.engine.docker().clone();
        let filters = HashMap::from([
            ("type".to_string(), vec!["container".to_string()]),
            (
                "label".to_string(),
                vec![format!("{LABEL_OWNER}={}", strong.owner)],
            ),
        ]);
        drop(strong);
        let mut events = docker.events(Some(EventsOptions {
            filters: Some(filters),
            ..Default::default()
        }));
        let mut sweep = tokio::time::interval(SWEEP_EVERY);
        loop {
            tokio::select! {
                event = events.next() => match event {
                    Some(Ok(message)) => {
                        // Not filtered by the engine: podman 4.3 matches no `event=die` filter.
                        if !matches!(message.action.as_deref(), Some("die" | "died")) {
                            continue;
                        }
                        let Some(actor) = message.actor else { continue };
                        let Some(container) = actor.id else { continue };
                        let Some(inner) = inner.upgrade() else { return };
                        if let Some(inst) = find(&inner, &container) {
                            // The event's exit code (Docker: exitCode, podman: containerExitCode)
                            // is there before inspect catches up; inspect adds the OOM kill.
                            let code = actor.attributes.as_ref().and_then(|a| {
                                a.get("exitCode").or_else(|| a.get("containerExitCode"))
                            }).and_then(|c| c.parse::<i64>().ok());
                            let reason = match inner.engine.exit_reason(&container).await {
                                Some(r) if code.is_none() || r.contains("out of memory") => r,
                                _ => super::engine::describe_exit(code, false, None),
                            };
                            inst.mark_exited(format!("container {reason}"));
                        }
                    }
                    Some(Err(e)) => {
                        tracing::warn!(error = %e, "container event stream failed; reconnecting");
                        break;
                    }
                    None => {
                        tracing::warn!("container event stream ended; reconnecting");
                        break;
                    }
                },
                _ = sweep.tick() => {
                    let Some(inner) = inner.upgrade() else { return };
                    sweep_once(&inner).await;
                }
            }
        }
        tokio::time::sleep(RECONNECT_AFTER).await;
    }
}

/// Marks every started, not-stopping instance whose container no longer runs.
async fn sweep_once(inner: &Arc<Inner>) {
    let watched: Vec<Arc<Instance>> = inner
        .instances
        .lock()
        .values()
        .filter(|i| {
            i.started.load(std::sync::atomic::Ordering::SeqCst)
                && !i.stopping.load(std::sync::atomic::Ordering::SeqCst)
                && !i.has_exited()
        })
        .cloned()
        .collect();
    if watched.is_empty() {
        return;
    }
    let running: HashSet<String> = match inner.engine.containers_of(&inner.owner, true).await {
        Ok(ids) => ids.into_iter().collect(),
        Err(e) => {
            tracing::warn!(error = %e, "cannot list containers");
            return;
        }
    };
    for inst in watched {
        if !running.contains(&inst.container) {
            if let Some(reason) = inner.engine.exit_reason(&inst.container).await {
                inst.mark_exited(format!("container {reason}"));
            }
        }
    }
}

fn find(inner: &Inner, container: &str) -> Option<Arc<Instance>> {
    inner
        .instances
        .lock()
        .values()
        .find(|i| i.container == container || container.starts_with(&i.container))
        .cloned()
}
