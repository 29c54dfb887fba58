//! The persisted deployment: what an accepted UpdateEndpoint is doing, as data. One
//! [`Deployment`] hangs off the endpoint record while the update runs; the transition
//! function is [`super::reconcile`].

use crate::lifecycle::{refuse_change, ChangeKind, StatusRefusal};
use serde::{Deserialize, Serialize};

use super::config::{
    apply_retain, validate_semantics, DeploymentConfig, FleetSizes, RetainOptions,
};
use super::plan::{plan, Plan, PlanKind};
use crate::fleet::InstanceKey;
use crate::lifecycle::{EndpointRecord, Fleet};
use crate::spec::FleetSpec;
use crate::status::{self, EndpointStatus};
use crate::time::Timestamp;

/// The state of one UpdateEndpoint.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Deployment {
    /// Unique per endpoint: the new fleet's id.
    pub id: u32,
    /// Acceptance time (`PendingDeploymentSummary.StartTime`).
    pub start_time: Timestamp,
    pub config: DeploymentConfig,
    pub plan: Plan,
    /// The new (green) fleet; the record's `fleet` is the old (blue) one until success.
    pub green: Fleet,
    /// Fleets left over from a failed rolling rollback (`UpdateRollbackFailed`): served as
    /// part of the old side, never relaunched, stopped with blue.
    #[serde(default)]
    pub stale: Vec<Fleet>,
    /// Started from `UpdateRollbackFailed`: the old side is served as it is (not refilled).
    #[serde(default)]
    pub repair: bool,
    /// Old-side instance count per variant the shares are computed against. The blue fleet's
    /// desired counts normally; for a repair, what was live when the update began.
    #[serde(default)]
    pub old_counts: Vec<(String, u32)>,
    pub phase: Phase,
    /// When `phase` began (`VariantStatus.StartTime`).
    pub phase_since: Timestamp,
    /// `StartTime + MaximumExecutionTimeoutInSeconds`; `None` without a policy.
    pub deadline: Option<Timestamp>,
    /// Green's share of every variant's traffic that the current phase asks for.
    pub shares: Vec<VariantShare>,
    /// Start of the open monitored window; `None` when alarms are not watched.
    pub window_start: Option<Timestamp>,
    /// Why the update is being rolled back.
    pub failure: Option<Cause>,
    /// Set once the update has ended; an update has exactly one.
    pub outcome: Option<Outcome>,
    /// Sequence number of the next history entry.
    pub next_event: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VariantShare {
    pub variant: String,
    /// Green's share of the variant's traffic (before any capacity cap).
    pub green: f64,
    /// The variant's weight as routed: the old weight until the final step, then the new one.
    pub weight: f64,
}

/// Where the update is. Blue/green: Provisioning → (Shifting → Baking)+ → TerminationWait →
/// TearingDown. Rolling: Rolling{batch: Launching → Activating → Baking}+ → TearingDown.
/// Failures: RollingBack → done, or (rolling) Stalled.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Phase {
    /// Launching the whole green fleet; waiting until every instance is Ready.
    Provisioning,
    /// Traffic step `step` (index into the plan) requested; waiting until it is live.
    Shifting {
        step: usize,
    },
    /// Step verified live; baking until `until` (alarms watched).
    Baking {
        step: usize,
        until: Timestamp,
    },
    /// Green holds everything; blue still runs until `until` (alarms watched).
    TerminationWait {
        until: Timestamp,
    },
    /// Blue (and any stale fleet) drains and stops; then success.
    TearingDown,
    /// Rolling batch `batch` (index into the plan).
    Rolling {
        batch: usize,
        stage: BatchStage,
    },
    RollingBack {
        stage: RollbackStage,
    },
    /// A rolling rollback could not restore the old fleet: `UpdateRollbackFailed`, serving
    /// whatever is Ready of every fleet until the next UpdateEndpoint.
    Stalled,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum BatchStage {
    /// The batch's new instances are starting (not monitored).
    Launching,
    /// The batch's share is requested; waiting until it is live (monitored).
    Activating,
    /// Verified; baking until `until` (monitored). Then the batch's old instances stop.
    Baking { until: Timestamp },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum RollbackStage {
    /// Blue/green: every variant's traffic back to blue in one swap; waiting until live.
    Swap,
    /// Rolling: make `old` old-config slots Ready, then move traffic so that only `to` of the
    /// `from` active new instances keep any.
    Restore {
        from: u32,
        to: u32,
        old: u32,
        /// Old instances that failed to start during the rollback; a second failure in
        /// the same slot fails the rollback.
        failed: Vec<InstanceKey>,
    },
    /// Rolling: the round's traffic move is requested; waiting until it is live.
    Return {
        from: u32,
        to: u32,
        old: u32,
        failed: Vec<InstanceKey>,
    },
    /// Traffic is back on the old side; the new fleet drains and stops.
    Drain,
}

/// Why an update failed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Cause {
    Alarm {
        names: Vec<String>,
        /// When the (first) alarm entered `ALARM`, or when its deletion was noticed.
        at: Timestamp,
        /// `Baking (canary, 1 of 4 instance(s))`.
        during: String,
        /// The alarm's `StateReason` (carries the datapoints).
        reason: Option<String>,
        /// The alarms were deleted rather than in `ALARM` (fail closed).
        #[serde(default)]
        deleted: bool,
    },
    Health {
        variant: String,
        config_name: String,
        detail: String,
    },
    Timeout {
        timeout_s: u32,
        at: Timestamp,
    },
}

impl Cause {
    /// The cause without framing, for the rollback-failed text.
    pub fn summary(&self) -> String {
        match self {
            Cause::Alarm {
                names,
                at,
                during,
                deleted,
                ..
            } => status::alarm_cause(names, &at.rfc3339(), during, *deleted),
            Cause::Health {
                variant,
                config_name,
                ..
            } => status::health_cause(variant, config_name),
            Cause::Timeout { timeout_s, at } => status::timeout_cause(*timeout_s, &at.rfc3339()),
        }
    }

    /// The `FailureReason` of an update rolled back for this cause (docs/deployments.md#outcomes).
    pub fn failure_reason(&self) -> String {
        match self {
            Cause::Alarm { reason, .. } => {
                status::alarm_rollback_reason(&self.summary(), reason.as_deref())
            }
            Cause::Health {
                variant,
                config_name,
                detail,
            } => status::health_rollback_reason(variant, config_name, detail),
            Cause::Timeout { timeout_s, at } => {
                status::timeout_rollback_reason(*timeout_s, &at.rfc3339())
            }
        }
    }
}

/// How an update ended (docs/deployments.md#outcomes).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Outcome {
    Succeeded,
    RolledBack { cause: Cause },
    RollbackFailed { cause: Cause, detail: String },
    Cancelled,
}

/// The last finished deployment of an endpoint.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FinishedDeployment {
    pub id: u32,
    pub start_time: Timestamp,
    pub end_time: Timestamp,
    pub from_config: String,
    pub to_config: String,
    pub outcome: Outcome,
}

/// Why UpdateEndpoint cannot start.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum BeginError {
    /// The endpoint's status does not allow an update; the HTTP layer answers with the
    /// refusal's message, which needs the ARN.
    #[error("endpoint status does not allow UpdateEndpoint: {0:?}")]
    Status(StatusRefusal),
    /// A semantic rule of docs/sagemaker-api.md#updateendpoint-rules; the message is the catalogue's.
    #[error("{0}")]
    Invalid(String),
}

impl Deployment {
    pub fn kind(&self) -> PlanKind {
        self.plan.kind
    }

    /// N_old of a variant for share computations.
    pub fn old_count(&self, variant: &str) -> u32 {
        self.old_counts
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(variant))
            .map_or(0, |(_, c)| *c)
    }

    /// N_new of a variant.
    pub fn new_count(&self, variant: &str) -> u32 {
        self.green.variant(variant).map_or(0, |v| v.desired_count)
    }

    pub fn green_share(&self, variant: &str) -> f64 {
        self.shares
            .iter()
            .find(|s| s.variant.eq_ignore_ascii_case(variant))
            .map_or(0.0, |s| s.green)
    }

    /// Whether the update has ended in `UpdateRollbackFailed` (the deployment stays attached
    /// because the endpoint serves its fleets).
    pub fn is_stalled(&self) -> bool {
        matches!(self.phase, Phase::Stalled)
    }
}

/// UpdateEndpoint accepted (docs/deployments.md#life-of-an-update): applies the Retain rules, checks the semantic
/// rules of docs/sagemaker-api.md#updateendpoint-rules, plans, and returns the record to store in the same
/// transaction: status `Updating`, `LastModifiedTime` = now, `FailureReason` cleared, the
/// deployment attached. The first reconcile pass starts executing it.
pub fn begin_update(
    rec: &EndpointRecord,
    new_spec: FleetSpec,
    cfg: DeploymentConfig,
    retain: RetainOptions,
    now: Timestamp,
) -> Result<EndpointRecord, BeginError> {
    if let Some(refusal) = refuse_change(rec.status, ChangeKind::Update) {
        return Err(BeginError::Status(refusal));
    }
    let spec = apply_retain(&rec.fleet, new_spec, &retain);
    let old = FleetSizes::of_fleet(&rec.fleet);
    let new = FleetSizes::of_spec(&spec);
    validate_semantics(&cfg, &old, &new).map_err(BeginError::Invalid)?;
    let plan = plan(&cfg, &old, &new);
    let id = rec.max_fleet_id() + 1;
    let (stale, repair) = match rec.deployment.as_deref() {
        Some(prev) => {
            let mut stale = prev.stale.clone();
            stale.push(prev.green.clone());
            (stale, true)
        }
        None => (Vec::new(), false),
    };
    let phase = match plan.kind {
        PlanKind::BlueGreen => Phase::Provisioning,
        PlanKind::Rolling => Phase::Rolling {
            batch: 0,
            stage: BatchStage::Launching,
        },
    };
    let deadline = plan.max_timeout_s.map(|s| now.plus_secs(i64::from(s)));
    let green = Fleet::from_spec(id, spec, Some(now));
    let shares = green
        .variants
        .iter()
        .map(|v| VariantShare {
            variant: v.name.clone(),
            green: 0.0,
            weight: rec
                .fleet
                .variant(&v.name)
                .map_or(v.desired_weight, |b| b.desired_weight),
        })
        .collect();
    let mut next = rec.clone();
    next.deployment = Some(Box::new(Deployment {
        id,
        start_time: now,
        config: cfg,
        plan,
        green,
        stale,
        repair,
        // A repair counts what is live at its first pass (see `super::engine`).
        old_counts: if repair { Vec::new() } else { old.variants },
        phase,
        phase_since: now,
        deadline,
        shares,
        window_start: None,
        failure: None,
        outcome: None,
        next_event: 0,
    }));
    next.status = EndpointStatus::Updating;
    next.last_modified_time = now;
    next.failure_reason = None;
    next.capacity_change = None;
    Ok(next)
}
