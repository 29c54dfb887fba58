//! Deployments: everything that happens after UpdateEndpoint is accepted
//! (docs/deployments.md): blue/green with ALL_AT_ONCE / CANARY / LINEAR traffic shifting, bakes
//! and termination wait, rolling batches, alarm-driven rollback, timeouts, cancellation.
//!
//! Accepting an update:
//! * [`config`] — the domain `DeploymentConfig` and its semantic rules
//!   (docs/sagemaker-api.md#updateendpoint-rules), the Retain flags;
//! * [`plan`] — sizes and steps as data ([`plan::plan`], [`plan::n`]);
//! * [`machine`] — the persisted [`Deployment`] (phases, outcome) and [`begin_update`].
//!
//! Running it, one level-triggered pass at a time ([`reconcile`], in `engine`):
//! * `transitions` — each phase moves on only on new evidence (instances Ready, a routing
//!   table live, a timer run out);
//! * `layout` — what a phase wants of the fleets: slots to keep and refill, each variant's
//!   traffic split, turned into launches, stops and a routing table;
//! * `route` — the routing tables of a deployment, capped by Ready capacity;
//! * [`alarms`] — whether a watched alarm trips the current window;
//! * `outcomes` — failed instances, trips, timeouts, rollbacks (blue/green and in batches),
//!   `UpdateRollbackFailed`, success.
//!
//! What users see:
//! * `view` — DescribeEndpoint's variants and `PendingDeploymentSummary`;
//! * `texts` — the status and history wording (built from [`crate::status`]);
//! * [`events`] — the durable history ([`crate::lifecycle::Action::Record`]).
//!
//! Like the rest of the core this is pure: time, instances, alarms and the live routing table
//! come in as arguments; launches, routing tables, stops and history entries go out as data.

pub mod alarms;
pub mod config;
mod engine;
pub mod events;
mod layout;
pub mod machine;
mod outcomes;
pub mod plan;
mod route;
mod texts;
mod transitions;
mod view;

pub use alarms::{AlarmEvidence, AlarmState, AlarmView};
pub use config::{
    apply_retain, validate_semantics, BlueGreenPolicy, CapacitySize, DeploymentConfig, FleetSizes,
    RetainOptions, RollingPolicy, TrafficRouting, UpdatePolicy, VariantProperty,
};
pub use engine::reconcile;
pub use events::{DeploymentEvent, EventKind, FleetRole, FleetSnapshot, ShareSnapshot};
pub use machine::{
    begin_update, BatchStage, BeginError, Cause, Deployment, FinishedDeployment, Outcome, Phase,
    RollbackStage, VariantShare,
};
pub use plan::{Plan, PlanKind, PlanStep, StepLabel, StepVariant};
pub use view::{
    describe, DeployedImageView, EndpointView, PendingView, VariantStatusView, VariantView,
};

use crate::lifecycle::EndpointRecord;
use crate::time::Timestamp;

/// What the shell must report alarms for: the watched names and the start of the open
/// monitored window (read alarm history from there). `None` when nothing is watched now.
pub fn watched_alarms(rec: &EndpointRecord) -> Option<(Vec<String>, Timestamp)> {
    let d = rec.deployment.as_deref()?;
    let since = d.window_start?;
    (!d.config.alarms.is_empty()).then(|| (d.config.alarms.clone(), since))
}

#[cfg(test)]
mod tests;
