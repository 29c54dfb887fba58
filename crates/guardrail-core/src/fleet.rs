//! Observed state: the instances the shell is running for an endpoint, as the core sees them.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::time::Timestamp;

/// Identifies one instance process. Deterministic, so a restarted controller can name what it
/// launched before; `incarnation` grows whenever a slot is refilled.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct InstanceKey {
    pub fleet: u32,
    pub variant: String,
    pub slot: u32,
    pub incarnation: u32,
}

impl InstanceKey {
    /// The backend id: unique per Guardrail data dir, safe as a file name.
    pub fn instance_id(&self, endpoint_key: &str) -> String {
        format!(
            "{endpoint_key}.f{}.{}.s{}.i{}",
            self.fleet,
            self.variant.to_ascii_lowercase(),
            self.slot,
            self.incarnation
        )
    }
}

impl fmt::Display for InstanceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "f{}/{}/s{}/i{}",
            self.fleet, self.variant, self.slot, self.incarnation
        )
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum InstanceHealth {
    /// Started, `/ping` not yet passed.
    Launching,
    /// Passed `/ping`; may take traffic.
    Ready { addr: String },
    /// Exited, became unhealthy, or missed its startup window. `was_ready` tells a crash
    /// after start from a failure to start; `started` is false when it never ran at all (its
    /// image or model artifacts could not be had).
    Failed {
        reason: String,
        was_ready: bool,
        #[serde(default = "yes")]
        started: bool,
    },
    /// Out of rotation, draining or being stopped; no longer counts for any slot.
    Stopping,
}

fn yes() -> bool {
    true
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ObservedInstance {
    pub key: InstanceKey,
    pub launched_at: Timestamp,
    pub health: InstanceHealth,
}

impl ObservedInstance {
    pub fn ready_addr(&self) -> Option<&str> {
        match &self.health {
            InstanceHealth::Ready { addr } => Some(addr),
            _ => None,
        }
    }

    /// Launching or Ready: holds its slot.
    pub fn is_live(&self) -> bool {
        matches!(
            self.health,
            InstanceHealth::Launching | InstanceHealth::Ready { .. }
        )
    }
}
