//! Which changes an endpoint's status allows, and `UpdateEndpointWeightsAndCapacities` as a
//! decision: the new record to store, or why not (docs/sagemaker-api.md, "Changing a running
//! endpoint").

use super::{CapacityChange, EndpointRecord};
use crate::status::EndpointStatus;
use crate::time::Timestamp;

/// A change requested of a running endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeKind {
    /// `UpdateEndpoint`: also the way out of `UpdateRollbackFailed`.
    Update,
    /// `UpdateEndpointWeightsAndCapacities`.
    WeightsAndCapacities,
}

/// Why the status refuses a change; the API layer words it with the endpoint's ARN.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusRefusal {
    InProgress,
    Failed,
    RollbackFailed,
}

/// The one rule for every change: `InService` allows all; `UpdateRollbackFailed` only an
/// `UpdateEndpoint` (which repairs it); `Failed` nothing; any status in progress nothing.
pub fn refuse_change(status: EndpointStatus, kind: ChangeKind) -> Option<StatusRefusal> {
    match status {
        EndpointStatus::InService => None,
        EndpointStatus::Failed => Some(StatusRefusal::Failed),
        EndpointStatus::UpdateRollbackFailed => match kind {
            ChangeKind::Update => None,
            ChangeKind::WeightsAndCapacities => Some(StatusRefusal::RollbackFailed),
        },
        _ => Some(StatusRefusal::InProgress),
    }
}

/// One entry of `DesiredWeightsAndCapacities`.
#[derive(Clone, Debug, PartialEq)]
pub struct DesiredVariant {
    pub variant: String,
    pub weight: Option<f64>,
    pub instance_count: Option<i64>,
}

/// Why `UpdateEndpointWeightsAndCapacities` is refused.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ChangeError {
    #[error("endpoint status does not allow the change: {0:?}")]
    Status(StatusRefusal),
    /// A `ValidationException` with this message.
    #[error("{0}")]
    Invalid(String),
}

/// The record after `UpdateEndpointWeightsAndCapacities`: weights and at most one variant's
/// count changed, status `Updating`; a count change remembers what to restore if the new
/// instances cannot start. Checks run in SageMaker's order: unique names, known variants,
/// status, then each entry.
pub fn change_weights_and_capacities(
    rec: &EndpointRecord,
    wanted: &[DesiredVariant],
    now: Timestamp,
) -> Result<EndpointRecord, ChangeError> {
    let mut seen: Vec<&str> = Vec::new();
    for w in wanted {
        if seen.contains(&w.variant.as_str()) {
            return Err(ChangeError::Invalid(format!(
                "The variant name \"{}\" was non-unique within the request.",
                w.variant
            )));
        }
        seen.push(&w.variant);
    }
    let missing: Vec<String> = seen
        .iter()
        .filter(|v| rec.variant_state(v).is_none())
        .map(|v| format!("\"{v}\""))
        .collect();
    if !missing.is_empty() {
        return Err(ChangeError::Invalid(format!(
            "The variant name(s) {} is/are not present within endpoint configuration \"{}\".",
            missing.join(", "),
            rec.fleet.spec.config_name
        )));
    }
    if let Some(refusal) = refuse_change(rec.status, ChangeKind::WeightsAndCapacities) {
        return Err(ChangeError::Status(refusal));
    }
    let mut next = rec.clone();
    let mut count_changes = 0;
    for w in wanted {
        let name = &w.variant;
        if w.weight.is_none() && w.instance_count.is_none() {
            return Err(ChangeError::Invalid(format!(
                "DesiredWeight or DesiredInstanceCount must be specified for variant \"{name}\"."
            )));
        }
        if w.instance_count == Some(0) {
            return Err(ChangeError::Invalid(format!(
                "DesiredInstanceCount must be at least 1 for instance-based variant \"{name}\"."
            )));
        }
        let v = next
            .fleet
            .variants
            .iter_mut()
            .find(|v| v.name.eq_ignore_ascii_case(name))
            .expect("every name was checked above");
        if let Some(weight) = w.weight {
            v.desired_weight = weight;
        }
        if let Some(count) = w.instance_count {
            let count = u32::try_from(count.max(1)).unwrap_or(u32::MAX);
            if count != v.desired_count {
                count_changes += 1;
                v.desired_count = count;
            }
        }
    }
    if count_changes > 1 {
        return Err(ChangeError::Invalid(
            "Only one variant's DesiredInstanceCount can be changed per request.".into(),
        ));
    }
    if next.fleet.variants.iter().all(|v| v.desired_weight <= 0.0) {
        return Err(ChangeError::Invalid(
            "The sum of the variant weights must be greater than 0.".into(),
        ));
    }
    next.capacity_change = (count_changes > 0).then(|| CapacityChange {
        previous: rec.fleet.variants.clone(),
        started: now,
    });
    next.failure_reason = None;
    next.status = EndpointStatus::Updating;
    next.last_modified_time = now;
    Ok(next)
}
