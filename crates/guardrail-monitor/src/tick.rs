//! The monitor's heartbeat, just after every whole second: flush the finished seconds of the
//! recorder into the metric store, sample instance resources, prune now and then, and
//! evaluate every alarm (CloudWatch evaluates complete periods only, so evaluating right
//! after the boundary sees the period that just ended).

use std::sync::Arc;
use std::time::Duration;

use guardrail_core::time::Timestamp;
use tokio::sync::watch;

use crate::book::evaluate_locked;
use crate::publish::publish;
use crate::resources::{ProcessLister, ResourceSampler};
use crate::Inner;

/// Past the second boundary, so requests finishing on the boundary are in the recorder.
const AFTER_BOUNDARY: Duration = Duration::from_millis(15);
/// Retention housekeeping cadence (in ticks).
const PRUNE_EVERY: u64 = 60;
/// Alarm history and stored metric batches are kept this long (CloudWatch: two weeks;
/// batches a day more so every replayed datum is still within the store's 15 days).
const HISTORY_RETENTION_MS: i64 = 14 * 86_400_000;
const BATCH_RETENTION_MS: i64 = 15 * 86_400_000;

pub(crate) async fn run(
    inner: Arc<Inner>,
    processes: Arc<dyn ProcessLister>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut sampler = ResourceSampler::default();
    let mut n: u64 = 0;
    loop {
        let now = inner.clock.now();
        let next = Timestamp::from_millis((now.millis().div_euclid(1000) + 1) * 1000);
        let at = inner.clock.instant_at(next) + AFTER_BOUNDARY;
        tokio::select! {
            _ = tokio::time::sleep_until(at) => {}
            _ = shutdown.changed() => return,
        }
        if *shutdown.borrow() {
            return;
        }
        once(&inner, Some((&mut sampler, processes.as_ref()))).await;
        n += 1;
        if n.is_multiple_of(PRUNE_EVERY) {
            housekeeping(&inner).await;
        }
    }
}

/// One tick: flush, sample (when given a sampler), evaluate.
pub(crate) async fn once(
    inner: &Inner,
    sampling: Option<(&mut ResourceSampler, &dyn ProcessLister)>,
) {
    let now = inner.clock.now();
    let (drained, not_served) = inner.recorder.drain(now.millis().div_euclid(1000));
    let processes = sampling.as_ref().map(|(_, l)| l.processes());
    {
        let mut store = inner.metrics.lock();
        publish(&mut store, &inner.telemetry, &drained);
        if let (Some((sampler, _)), Some(list)) = (sampling, processes) {
            sampler.sample(&list, &mut store, &inner.telemetry, now);
        }
        inner.telemetry.metric_store(store.memory_usage());
    }
    for ((endpoint, variant), n) in not_served {
        inner.telemetry.not_served(&endpoint, &variant, n);
    }
    let _serial = inner.mutation.lock().await;
    match evaluate_locked(inner, now, None).await {
        Ok(0) => {}
        Ok(_) => inner.notify(),
        Err(e) => tracing::error!(error = %e, "alarm evaluation could not be stored; will retry"),
    }
}

async fn housekeeping(inner: &Inner) {
    let now = inner.clock.now();
    inner.metrics.lock().prune(now);
    let history_cut = Timestamp::from_millis(now.millis() - HISTORY_RETENTION_MS);
    let batch_cut = Timestamp::from_millis(now.millis() - BATCH_RETENTION_MS);
    let pruned = inner
        .store
        .write(move |tx| {
            Ok::<_, guardrail_store::StoreError>((
                tx.prune_alarm_history(history_cut)?,
                tx.prune_metric_batches(batch_cut)?,
            ))
        })
        .await;
    if let Err(e) = pruned {
        tracing::warn!(error = %e, "pruning alarm history failed");
    }
}
