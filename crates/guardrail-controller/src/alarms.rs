//! The controller's view of the alarm service: it never evaluates metrics, it reads alarm
//! states (docs/deployments.md#rollback) and wakes up when one changes.

use guardrail_core::deploy::AlarmView;
use guardrail_core::deploy::DeploymentEvent;
use tokio::sync::watch;

pub trait AlarmSource: Send + Sync + 'static {
    /// One view per name; a name the service does not know is reported with `exists: false`.
    fn views(&self, names: &[String]) -> Vec<AlarmView>;
    /// Changes whenever any alarm's state, history or existence changes.
    fn changes(&self) -> watch::Receiver<u64>;
}

/// No alarm service: no views (which never trip), no changes.
pub struct NoAlarms(watch::Sender<u64>);

impl Default for NoAlarms {
    fn default() -> Self {
        NoAlarms(watch::channel(0).0)
    }
}

impl AlarmSource for NoAlarms {
    fn views(&self, _: &[String]) -> Vec<AlarmView> {
        Vec::new()
    }
    fn changes(&self) -> watch::Receiver<u64> {
        self.0.subscribe()
    }
}

/// Told about every deployment history event once it is committed (metrics, logs).
pub trait DeploymentObserver: Send + Sync + 'static {
    /// `mode` is [`guardrail_core::deploy::DeploymentConfig::mode_label`].
    fn on_event(&self, endpoint_name: &str, mode: &str, event: &DeploymentEvent);
}
