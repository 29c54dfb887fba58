//! What users see of an endpoint and its deployment: DescribeEndpoint's variant summaries and
//! `PendingDeploymentSummary` (docs/deployments.md#describeendpoint-during-an-update).

use serde::{Deserialize, Serialize};

use super::machine::Deployment;
use super::texts;
use crate::fleet::{InstanceHealth, ObservedInstance};
use crate::lifecycle::{EndpointRecord, Fleet};
use crate::status::{self, EndpointStatus, VariantStatusKind};
use crate::time::Timestamp;

/// DescribeEndpoint's view of an endpoint.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EndpointView {
    pub status: EndpointStatus,
    /// The new config during an update and after a failed rollback; the serving one otherwise.
    pub endpoint_config_name: String,
    pub failure_reason: Option<String>,
    /// `ProductionVariants`: the blue (serving) fleet.
    pub variants: Vec<VariantView>,
    /// `PendingDeploymentSummary`: the green fleet while an update runs.
    pub pending: Option<PendingView>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PendingView {
    pub endpoint_config_name: String,
    pub start_time: Timestamp,
    pub variants: Vec<VariantView>,
}

/// `ProductionVariantSummary` / `PendingProductionVariantSummary`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VariantView {
    pub name: String,
    pub current_weight: f64,
    pub desired_weight: f64,
    pub current_instance_count: u32,
    pub desired_instance_count: u32,
    pub deployed_images: Vec<DeployedImageView>,
    /// Only in the pending summary.
    pub instance_type: Option<String>,
    /// Omitted (`None`) outside updates and capacity changes.
    pub status: Option<VariantStatusView>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeployedImageView {
    pub specified_image: String,
    pub resolved_image: String,
    pub resolution_time: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VariantStatusView {
    pub status: VariantStatusKind,
    pub message: String,
    pub start_time: Timestamp,
}

fn images(rec: &EndpointRecord, fleet: &Fleet, variant: &str) -> Vec<DeployedImageView> {
    fleet
        .spec
        .variant(variant)
        .map(|s| DeployedImageView {
            specified_image: s.container.image.clone(),
            resolved_image: s.container.image.clone(),
            resolution_time: fleet.created_at.unwrap_or(rec.creation_time),
        })
        .into_iter()
        .collect()
}

fn count<'a>(
    observed: &'a [ObservedInstance],
    fleet: u32,
    variant: &'a str,
) -> impl Iterator<Item = &'a ObservedInstance> {
    observed
        .iter()
        .filter(move |o| o.key.fleet == fleet && o.key.variant.eq_ignore_ascii_case(variant))
}

fn ready(observed: &[ObservedInstance], fleet: u32, variant: &str) -> u32 {
    crate::lifecycle::slots::count(
        count(observed, fleet, variant).filter(|o| o.ready_addr().is_some()),
    )
}

/// DescribeEndpoint's variants and pending summary (docs/deployments.md#describeendpoint-during-an-update). Outside deployments
/// it is exactly what the single-fleet describe has always shown.
pub fn describe(
    rec: &EndpointRecord,
    observed: &[ObservedInstance],
    now: Timestamp,
) -> EndpointView {
    let _ = now; // Everything shown is persisted or observed; kept for callers' symmetry.
    match rec.deployment.as_deref() {
        Some(d) if d.is_stalled() => stalled(rec, d, observed),
        Some(d) if d.outcome.is_none() => updating(rec, d, observed),
        _ => EndpointView {
            status: rec.status,
            endpoint_config_name: rec.fleet.spec.config_name.clone(),
            failure_reason: rec.failure_reason.clone(),
            variants: rec
                .fleet
                .variants
                .iter()
                .map(|v| single_fleet_variant(rec, v, observed))
                .collect(),
            pending: None,
        },
    }
}

/// One variant of a single-fleet endpoint (Creating, InService, capacity changes, Deleting).
fn single_fleet_variant(
    rec: &EndpointRecord,
    v: &crate::lifecycle::VariantState,
    observed: &[ObservedInstance],
) -> VariantView {
    let mine = || count(observed, rec.fleet.id, &v.name);
    let ready = crate::lifecycle::slots::count(mine().filter(|o| o.ready_addr().is_some()));
    let live = crate::lifecycle::slots::count(mine().filter(|o| o.is_live()));
    let entry = |status, message, start_time| {
        Some(VariantStatusView {
            status,
            message,
            start_time,
        })
    };
    let in_progress = matches!(
        rec.status,
        EndpointStatus::Updating | EndpointStatus::RollingBack
    );
    let vstatus = match rec.status {
        EndpointStatus::Creating => entry(
            VariantStatusKind::Creating,
            status::launching_message(v.desired_count),
            rec.creation_time,
        ),
        _ if in_progress && live > v.desired_count => entry(
            VariantStatusKind::Deleting,
            status::terminating_message(live - v.desired_count),
            rec.last_modified_time,
        ),
        _ if in_progress && ready < v.desired_count => entry(
            VariantStatusKind::Updating,
            status::scaling_out_message(v.desired_count),
            rec.last_modified_time,
        ),
        _ => None,
    };
    VariantView {
        name: v.name.clone(),
        current_weight: v.current_weight,
        desired_weight: v.desired_weight,
        current_instance_count: ready,
        desired_instance_count: v.desired_count,
        deployed_images: images(rec, &rec.fleet, &v.name),
        instance_type: None,
        status: vstatus,
    }
}

fn updating(rec: &EndpointRecord, d: &Deployment, observed: &[ObservedInstance]) -> EndpointView {
    let full = !d.shares.is_empty() && d.shares.iter().all(|s| s.green >= 1.0);
    let share_of = |v: &str| d.shares.iter().find(|s| s.variant.eq_ignore_ascii_case(v));
    let variants = rec
        .fleet
        .variants
        .iter()
        .map(|v| {
            let (green, weight) = share_of(&v.name)
                .map_or((if full { 1.0 } else { 0.0 }, v.desired_weight), |s| {
                    (s.green, s.weight)
                });
            let mut ready_n = ready(observed, rec.fleet.id, &v.name);
            let mut imgs = images(rec, &rec.fleet, &v.name);
            for f in &d.stale {
                ready_n += ready(observed, f.id, &v.name);
                imgs.extend(images(rec, f, &v.name));
            }
            let blue_stopping = crate::lifecycle::slots::count(
                count(observed, rec.fleet.id, &v.name)
                    .filter(|o| o.health == InstanceHealth::Stopping),
            );
            let blue_all = crate::lifecycle::slots::count(count(observed, rec.fleet.id, &v.name));
            VariantView {
                name: v.name.clone(),
                current_weight: weight * (1.0 - green),
                desired_weight: v.desired_weight,
                current_instance_count: ready_n,
                desired_instance_count: v.desired_count,
                deployed_images: imgs,
                instance_type: None,
                status: texts::top_status(d, &v.name, blue_all, blue_stopping, ready_n).map(
                    |(status, message)| VariantStatusView {
                        status,
                        message,
                        start_time: d.phase_since,
                    },
                ),
            }
        })
        .collect();
    let pending = d
        .green
        .variants
        .iter()
        .map(|v| {
            let (green, weight) =
                share_of(&v.name).map_or((0.0, v.desired_weight), |s| (s.green, s.weight));
            let green_observed =
                crate::lifecycle::slots::count(count(observed, d.green.id, &v.name));
            VariantView {
                name: v.name.clone(),
                current_weight: weight * green,
                desired_weight: v.desired_weight,
                current_instance_count: ready(observed, d.green.id, &v.name),
                desired_instance_count: v.desired_count,
                deployed_images: images(rec, &d.green, &v.name),
                instance_type: d
                    .green
                    .spec
                    .variant(&v.name)
                    .and_then(|s| s.instance_type.clone()),
                status: texts::pending_status(d, &v.name, green_observed).map(
                    |(status, message)| VariantStatusView {
                        status,
                        message,
                        start_time: d.phase_since,
                    },
                ),
            }
        })
        .collect();
    EndpointView {
        status: rec.status,
        endpoint_config_name: d.green.spec.config_name.clone(),
        failure_reason: rec.failure_reason.clone(),
        variants,
        pending: Some(PendingView {
            endpoint_config_name: d.green.spec.config_name.clone(),
            start_time: d.start_time,
            variants: pending,
        }),
    }
}

/// `UpdateRollbackFailed`: the variants count the Ready instances of every config and list
/// every image; no pending summary.
fn stalled(rec: &EndpointRecord, d: &Deployment, observed: &[ObservedInstance]) -> EndpointView {
    let fleets: Vec<&Fleet> = std::iter::once(&rec.fleet)
        .chain(std::iter::once(&d.green))
        .chain(&d.stale)
        .collect();
    let mut names: Vec<&str> = Vec::new();
    for f in &fleets {
        for v in &f.variants {
            if !names.iter().any(|n| n.eq_ignore_ascii_case(&v.name)) {
                names.push(&v.name);
            }
        }
    }
    let variants = names
        .into_iter()
        .map(|name| {
            let state = d.green.variant(name).or_else(|| rec.fleet.variant(name));
            let weight = state.map_or(1.0, |s| s.desired_weight);
            VariantView {
                name: name.to_string(),
                current_weight: weight,
                desired_weight: weight,
                current_instance_count: fleets.iter().map(|f| ready(observed, f.id, name)).sum(),
                desired_instance_count: state.map_or(0, |s| s.desired_count),
                deployed_images: fleets.iter().flat_map(|f| images(rec, f, name)).collect(),
                instance_type: None,
                status: None,
            }
        })
        .collect();
    EndpointView {
        status: rec.status,
        endpoint_config_name: d.green.spec.config_name.clone(),
        failure_reason: rec.failure_reason.clone(),
        variants,
        pending: None,
    }
}
