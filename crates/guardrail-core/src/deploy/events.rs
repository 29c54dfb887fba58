//! The durable history of a deployment: one entry per transition, shaped for a timeline API
//! (`guardrail watch`, the outcome extension). The core emits them as
//! [`crate::lifecycle::Action::Record`]; the shell appends them to a store table.

use serde::{Deserialize, Serialize};

use super::alarms::AlarmEvidence;
use super::machine::Outcome;
use crate::time::Timestamp;

/// What happened.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventKind {
    /// The accepted update starts (provisioning green, or the first rolling batch).
    Started,
    /// A rolling batch's new instances are launching.
    LaunchingBatch,
    /// A traffic step (or batch) is requested from the router.
    ActivatingTraffic,
    /// The step is live; its bake starts.
    Baking,
    /// Green holds everything; the termination wait starts.
    TerminationWait,
    /// The old fleet is drained and stopped.
    TearingDown,
    /// A failure was detected; traffic returns to the old fleet.
    RollbackStarted,
    /// Rolling rollback: old-config capacity is being restored.
    RestoringCapacity,
    /// Rolling rollback: a batch of traffic returns to the old fleet.
    ReturningTraffic,
    /// Traffic is back on the old fleet; the new fleet is drained and stopped.
    DrainingNew,
    /// The update ended; `outcome` says how.
    Finished,
}

/// Which side of the update a fleet is on.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FleetRole {
    /// The fleet serving before the update (blue).
    Old,
    /// The fleet of the new config (green).
    New,
    /// Left over from a failed rollback; served with the old side.
    Stale,
}

/// Green's share of one variant at the time of the entry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShareSnapshot {
    pub variant: String,
    pub green_share: f64,
}

/// Instance counts of one fleet's variant at the time of the entry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FleetSnapshot {
    pub fleet: u32,
    pub role: FleetRole,
    pub config_name: String,
    pub variant: String,
    pub ready: u32,
    pub desired: u32,
}

/// One history entry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeploymentEvent {
    pub deployment: u32,
    /// 0, 1, 2 … within the deployment; `(deployment, seq)` is unique.
    pub seq: u32,
    pub at: Timestamp,
    pub kind: EventKind,
    /// `canary`, `linear step 2 of 4`, `batch 1 of 4`, `termination wait` … when it applies.
    pub step: Option<String>,
    /// Human-readable line (the VariantStatus message where one exists).
    pub message: String,
    pub shares: Vec<ShareSnapshot>,
    pub fleets: Vec<FleetSnapshot>,
    /// FailureReason text for rollbacks and failures.
    pub reason: Option<String>,
    /// Alarms that tripped, with their reasons and datapoints.
    pub alarms: Vec<AlarmEvidence>,
    /// Set on `Finished`.
    pub outcome: Option<Outcome>,
}
