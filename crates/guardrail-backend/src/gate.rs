//! The per-launch event gate shared by every backend and the prober.

use parking_lot::Mutex;
use tokio::sync::mpsc::UnboundedSender;

use crate::InstanceEvent;

/// Serialises an instance's events and ends them: once closed (by `stop` or by the exit), no
/// further event for this launch goes out, so a late `Ready` can never follow `Exited`.
pub(crate) struct EventGate {
    events: UnboundedSender<InstanceEvent>,
    open: Mutex<bool>,
}

impl EventGate {
    pub(crate) fn new(events: UnboundedSender<InstanceEvent>) -> Self {
        Self {
            events,
            open: Mutex::new(true),
        }
    }

    /// Sends unless closed; returns whether the gate is still open.
    pub(crate) fn send(&self, event: InstanceEvent) -> bool {
        let open = self.open.lock();
        if *open {
            // The receiver may be gone during shutdown; nothing to do about it.
            let _ = self.events.send(event);
        }
        *open
    }

    /// Sends `last` if still open, then closes.
    pub(crate) fn close(&self, last: Option<InstanceEvent>) {
        let mut open = self.open.lock();
        if let (true, Some(event)) = (*open, last) {
            let _ = self.events.send(event);
        }
        *open = false;
    }
}
