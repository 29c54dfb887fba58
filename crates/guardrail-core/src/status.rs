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

    /// Statuses in which another change is refused with "Cannot update in-progress endpoint".
    pub fn is_in_progress(self) -> bool {
        matches!(
            self,
            EndpointStatus::Creating
                | EndpointStatus::Updating
                | EndpointStatus::RollingBack
                | EndpointStatus::Deleting
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
