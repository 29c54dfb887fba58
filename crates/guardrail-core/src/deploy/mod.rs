//! Deployments: everything that happens after UpdateEndpoint is accepted
//! (docs/deployments.md): blue/green with ALL_AT_ONCE / CANARY / LINEAR traffic shifting, bakes
//! and termination wait, rolling batches, alarm-driven rollback, timeouts, cancellation.
//!
//! * [`config`] — the domain `DeploymentConfig` and the semantic rules of docs/sagemaker-api.md#updateendpoint-rules;
//! * [`plan`] — sizes and steps as data ([`plan::plan`], [`plan::n`]);
//! * [`machine`] — the persisted [`Deployment`] and [`begin_update`];
//! * [`reconcile`] — the transition function the lifecycle delegates to while a deployment is
//!   attached to the endpoint record;
//! * [`describe`] — DescribeEndpoint's view, with and without a deployment;
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
