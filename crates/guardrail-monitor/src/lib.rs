//! Guardrail's monitoring shell around the pure `guardrail-metrics` crate:
//!
//! * [`InvocationRecorder`] — the router's per-request reports, accumulated per second;
//! * the metric store (bounded, in memory) fed once a second from the recorder, from
//!   instance resource samples and from PutMetricData (whose batches are also stored durably
//!   and replayed at start);
//! * the alarm book (durable), evaluated every second, with history;
//! * [`guardrail_controller::AlarmSource`] for the deployment engine, which is woken on every
//!   alarm change;
//! * Prometheus telemetry ([`Telemetry`]).
//!
//! No wire formats here: the HTTP layer converts CloudWatch requests to these calls.

mod alarms;
mod book;
mod custom;
mod publish;
mod recorder;
mod resources;
mod telemetry;
mod tick;

use std::sync::Arc;

use guardrail_controller::Clock;
use guardrail_metrics::{MetricStore, StoreConfig};
use guardrail_store::{Store, StoreError};
use parking_lot::Mutex;
use tokio::sync::watch;

pub use alarms::{AlarmDoc, AlarmTrip};
pub use book::AlarmConfig;
pub use custom::{Datum, DatumValue};
pub use guardrail_store::{AlarmHistoryQuery, AlarmHistoryRow};
pub use recorder::InvocationRecorder;
pub use resources::ProcessLister;
pub use telemetry::Telemetry;

/// Limits and cadence.
#[derive(Clone, Debug)]
pub struct MonitorConfig {
    /// PutMetricAlarm beyond this many alarms fails with `LimitExceeded`.
    pub max_alarms: usize,
    pub metrics: StoreConfig,
}

impl Default for MonitorConfig {
    fn default() -> Self {
        MonitorConfig {
            max_alarms: 5_000,
            metrics: StoreConfig::default(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MonitorError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("The maximum number of alarms ({0}) has been reached.")]
    TooManyAlarms(usize),
    #[error("Alarm {0} not found")]
    AlarmNotFound(String),
    #[error("StateReasonData must be a JSON object")]
    InvalidReasonData,
    #[error("{0}")]
    InvalidMetricData(String),
}

/// The monitoring service. Cheap to clone.
#[derive(Clone)]
pub struct Monitor {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) store: Store,
    pub(crate) clock: Clock,
    pub(crate) config: MonitorConfig,
    pub(crate) metrics: Mutex<MetricStore>,
    pub(crate) alarms: Mutex<std::collections::BTreeMap<String, AlarmDoc>>,
    /// Serialises alarm changes across "persist, then apply" (which awaits the store).
    pub(crate) mutation: tokio::sync::Mutex<()>,
    pub(crate) changes: watch::Sender<u64>,
    pub(crate) recorder: Arc<InvocationRecorder>,
    pub(crate) telemetry: Arc<Telemetry>,
}

impl Monitor {
    /// Loads the alarms and replays the stored custom-metric batches.
    pub async fn open(
        store: Store,
        clock: Clock,
        config: MonitorConfig,
    ) -> Result<Monitor, MonitorError> {
        let docs = store.read(|tx| tx.list_alarms()).await?;
        let batches = store.read(|tx| tx.metric_batches()).await?;
        let mut metrics = MetricStore::new(config.metrics.clone());
        let replayed = custom::replay(&mut metrics, &batches);
        metrics.prune(clock.now());
        let mut alarms = std::collections::BTreeMap::new();
        for (name, doc) in docs {
            match serde_json::from_value::<AlarmDoc>(doc) {
                Ok(d) => {
                    alarms.insert(name, d);
                }
                Err(e) => {
                    tracing::error!(alarm = %name, error = %e, "unreadable stored alarm; skipped")
                }
            }
        }
        tracing::info!(
            alarms = alarms.len(),
            metric_batches = batches.len(),
            datums = replayed,
            "monitor loaded"
        );
        let telemetry = Arc::new(Telemetry::new());
        Ok(Monitor {
            inner: Arc::new(Inner {
                recorder: Arc::new(InvocationRecorder::new(clock.clone())),
                store,
                clock,
                config,
                metrics: Mutex::new(metrics),
                alarms: Mutex::new(alarms),
                mutation: tokio::sync::Mutex::new(()),
                changes: watch::channel(0).0,
                telemetry,
            }),
        })
    }

    /// The router's observer.
    pub fn recorder(&self) -> Arc<InvocationRecorder> {
        self.inner.recorder.clone()
    }

    pub fn telemetry(&self) -> Arc<Telemetry> {
        self.inner.telemetry.clone()
    }

    pub fn clock(&self) -> &Clock {
        &self.inner.clock
    }

    /// Starts the once-a-second tick (flush, sample, prune, evaluate) until `shutdown`.
    pub fn spawn(&self, processes: Arc<dyn ProcessLister>, shutdown: watch::Receiver<bool>) {
        tokio::spawn(tick::run(self.inner.clone(), processes, shutdown));
    }

    /// Runs `f` on the metric store (queries).
    pub fn with_metrics<R>(&self, f: impl FnOnce(&MetricStore) -> R) -> R {
        f(&self.inner.metrics.lock())
    }

    /// Runs one tick now (tests, and before answering a query that must see fresh data).
    pub async fn tick_now(&self) {
        tick::once(&self.inner, None).await;
    }
}

impl guardrail_controller::AlarmSource for Monitor {
    fn views(&self, names: &[String]) -> Vec<guardrail_core::deploy::AlarmView> {
        let alarms = self.inner.alarms.lock();
        names
            .iter()
            .map(|n| match alarms.get(n) {
                Some(doc) => doc.view(),
                None => alarms::missing_view(n),
            })
            .collect()
    }

    fn changes(&self) -> watch::Receiver<u64> {
        self.inner.changes.subscribe()
    }
}

impl Inner {
    pub(crate) fn notify(&self) {
        self.changes.send_modify(|v| *v = v.wrapping_add(1));
    }
}
