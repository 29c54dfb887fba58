//! The one catalogue of statuses and the texts users see (FailureReason, VariantStatus
//! messages). Keeping them here keeps wording consistent across the API and the timeline.

use serde::{Deserialize, Serialize};

/// SageMaker's `EndpointStatus` values that Guardrail enters.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EndpointStatus {
    Creating,
    InService,
    Updating,
    RollingBack,
    UpdateRollbackFailed,
    Deleting,
    Failed,
}

impl EndpointStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            EndpointStatus::Creating => "Creating",
            EndpointStatus::InService => "InService",
            EndpointStatus::Updating => "Updating",
            EndpointStatus::RollingBack => "RollingBack",
            EndpointStatus::UpdateRollbackFailed => "UpdateRollbackFailed",
            EndpointStatus::Deleting => "Deleting",
            EndpointStatus::Failed => "Failed",
        }
    }

    /// Whether InvokeEndpoint is served in this status.
    pub fn serves_traffic(self) -> bool {
        matches!(
            self,
            EndpointStatus::InService
                | EndpointStatus::Updating
                | EndpointStatus::RollingBack
                | EndpointStatus::UpdateRollbackFailed
        )
    }
}

/// `VariantStatus.Status` values.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum VariantStatusKind {
    Creating,
    Updating,
    Deleting,
    ActivatingTraffic,
    Baking,
}

impl VariantStatusKind {
    pub fn as_str(self) -> &'static str {
        match self {
            VariantStatusKind::Creating => "Creating",
            VariantStatusKind::Updating => "Updating",
            VariantStatusKind::Deleting => "Deleting",
            VariantStatusKind::ActivatingTraffic => "ActivatingTraffic",
            VariantStatusKind::Baking => "Baking",
        }
    }
}

pub fn launching_message(n: u32) -> String {
    format!("Launching {n} instance(s).")
}

pub fn scaling_out_message(n: u32) -> String {
    format!("Scaling out desired instance count to {n}.")
}

pub fn terminating_message(n: u32) -> String {
    format!("Terminating {n} instance(s).")
}

/// AWS's wording for an endpoint whose containers never passed `/ping`, plus what Guardrail
/// knows about the failed instance.
pub fn create_failed_reason(variant: &str, detail: &str) -> String {
    truncate_reason(format!(
        "The primary container for production variant {variant} did not pass the ping health check. \
         Please check CloudWatch logs for this endpoint. ({detail})"
    ))
}

/// An endpoint whose container could not even be started: its image could not be pulled or
/// started, or its model artifacts could not be fetched.
pub fn start_failed_reason(variant: &str, detail: &str) -> String {
    truncate_reason(format!(
        "The primary container for production variant {variant} could not be started. ({detail})"
    ))
}

pub fn capacity_rollback_reason(variant: &str, detail: &str) -> String {
    truncate_reason(format!(
        "Capacity change rolled back: a new instance of production variant {variant} did not pass \
         the ping health check. ({detail})"
    ))
}

/// FailureReason is limited to 1024 characters by the model.
pub fn truncate_reason(mut s: String) -> String {
    const MAX: usize = 1024;
    if s.chars().count() > MAX {
        s = s.chars().take(MAX - 1).collect();
        s.push('…');
    }
    s
}

// ---- Deployments (docs/deployments.md#outcomes, #describeendpoint-during-an-update) ----

/// `canary capacity of 1 instance(s)`.
pub fn canary_capacity(n: u32) -> String {
    format!("canary capacity of {n} instance(s)")
}

/// `full capacity of 4 instance(s)`.
pub fn full_capacity(n: u32) -> String {
    format!("full capacity of {n} instance(s)")
}

/// `3 instance(s) (step 1 of 4)`.
pub fn step_capacity(n: u32, step: u32, of: u32) -> String {
    format!("{n} instance(s) (step {step} of {of})")
}

/// `1 instance(s) (batch 2 of 4)`.
pub fn batch_capacity(n: u32, batch: u32, of: u32) -> String {
    format!("{n} instance(s) (batch {batch} of {of})")
}

/// `Activating traffic on canary capacity of 1 instance(s).`
pub fn activating_message(capacity: &str) -> String {
    format!("Activating traffic on {capacity}.")
}

/// Which configured wait a bake is.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum BakeKind {
    WaitInterval,
    TerminationWait,
}

/// `Baking for 600 seconds (WaitIntervalInSeconds) with traffic enabled on canary capacity of
/// 1 instance(s).`
pub fn baking_message(secs: u32, kind: BakeKind, capacity: &str) -> String {
    let which = match kind {
        BakeKind::WaitInterval => "WaitIntervalInSeconds",
        BakeKind::TerminationWait => "TerminationWaitInSeconds",
    };
    format!("Baking for {secs} seconds ({which}) with traffic enabled on {capacity}.")
}

/// Where an update was when it failed: `Baking (canary, 1 of 4 instance(s))`.
pub fn during_text(phase: &str, label: &str, green: u32, total: u32) -> String {
    format!("{phase} ({label}, {green} of {total} instance(s))")
}

/// The cause of a failed update without the "rolled back" framing; used inside the
/// rollback-failed text.
pub fn alarm_cause(names: &[String], at: &str, during: &str, deleted: bool) -> String {
    if deleted {
        format!(
            "CloudWatch alarm(s) {} were deleted during {during} (noticed at {at})",
            names.join(", ")
        )
    } else {
        format!(
            "CloudWatch alarm(s) {} entered ALARM at {at} during {during}",
            names.join(", ")
        )
    }
}

pub fn health_cause(variant: &str, config_name: &str) -> String {
    format!(
        "the primary container for production variant {variant} (endpoint configuration {config_name}) did not pass the ping health check"
    )
}

pub fn timeout_cause(timeout_s: u32, at: &str) -> String {
    format!("MaximumExecutionTimeoutInSeconds ({timeout_s}) expired at {at}")
}

/// `Update rolled back: CloudWatch alarm(s) ep-5xx entered ALARM at … during Baking (canary,
/// 1 of 4 instance(s)): Threshold Crossed: …`
pub fn alarm_rollback_reason(cause: &str, reason: Option<&str>) -> String {
    truncate_reason(match reason {
        Some(r) if !r.is_empty() => format!("Update rolled back: {cause}: {r}"),
        _ => format!("Update rolled back: {cause}."),
    })
}

/// `Update rolled back: the primary container for production variant AllTraffic (endpoint
/// configuration cfg-v2) did not pass the ping health check. Please check the instance logs
/// for this endpoint.` plus what Guardrail knows about the instance.
pub fn health_rollback_reason(variant: &str, config_name: &str, detail: &str) -> String {
    truncate_reason(format!(
        "Update rolled back: {}. Please check the instance logs for this endpoint. ({detail})",
        health_cause(variant, config_name)
    ))
}

/// `Update rolled back: MaximumExecutionTimeoutInSeconds (1800) expired at …Z.`
pub fn timeout_rollback_reason(timeout_s: u32, at: &str) -> String {
    truncate_reason(format!(
        "Update rolled back: {}.",
        timeout_cause(timeout_s, at)
    ))
}

/// `Update failed (…) and the rollback failed: 2 instance(s) of endpoint configuration cfg-v1
/// did not pass the ping health check. The endpoint is serving with instances of cfg-v1 and
/// cfg-v2; call UpdateEndpoint to recover.`
pub fn rollback_failed_reason(
    cause: &str,
    failed: u32,
    old_config: &str,
    new_config: &str,
) -> String {
    truncate_reason(format!(
        "Update failed ({cause}) and the rollback failed: {failed} instance(s) of endpoint configuration {old_config} did not pass the ping health check. The endpoint is serving with instances of {old_config} and {new_config}; call UpdateEndpoint to recover."
    ))
}

/// `3 instance(s)` (a rolling rollback round).
pub fn instances_capacity(n: u32) -> String {
    format!("{n} instance(s)")
}
