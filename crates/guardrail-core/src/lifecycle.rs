//! The endpoint lifecycle outside deployments: create (`Creating` → `InService` | `Failed`),
//! keep every slot filled with a healthy instance, weight and capacity changes
//! (`UpdateEndpointWeightsAndCapacities`), and deletion.
//!
//! [`reconcile`] is level-triggered: it is never told why it runs; it compares the persisted
//! record with what is observed and returns the next record, the actions that move reality
//! towards it, and when it wants to look again. Every action is safe to repeat. While an
//! UpdateEndpoint deployment is attached to the record, the pass belongs to [`crate::deploy`];
//! both share the slot keeping of `slots`.

use serde::{Deserialize, Serialize};

use crate::deploy::{AlarmView, Deployment, DeploymentEvent, FinishedDeployment};
use crate::fleet::{InstanceHealth, InstanceKey, ObservedInstance};
use crate::routing::{RouteGroup, RouteInstance, RouteVariant, RoutingPlan};
use crate::spec::FleetSpec;
use crate::status::{self, EndpointStatus};
use crate::time::Timestamp;

/// The persisted state of one endpoint.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EndpointRecord {
    pub name: String,
    pub status: EndpointStatus,
    pub failure_reason: Option<String>,
    pub creation_time: Timestamp,
    pub last_modified_time: Timestamp,
    pub fleet: Fleet,
    /// Next incarnation number for a launched instance; makes instance ids unique.
    pub next_incarnation: u32,
    /// Set while an UpdateEndpointWeightsAndCapacities is converging.
    pub capacity_change: Option<CapacityChange>,
    /// The UpdateEndpoint deployment in progress, or the one that left the endpoint in
    /// `UpdateRollbackFailed` (serving two configs). `fleet` is the blue (old) fleet meanwhile.
    #[serde(default)]
    pub deployment: Option<Box<Deployment>>,
    /// How the last deployment ended (for the outcome API); replaced by the next one.
    #[serde(default)]
    pub last_deployment: Option<FinishedDeployment>,
}

/// The instances of one endpoint config and their per-variant desired state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Fleet {
    pub id: u32,
    pub spec: FleetSpec,
    pub variants: Vec<VariantState>,
    /// When this fleet was first deployed (`DeployedImages.ResolutionTime`); `None` for the
    /// endpoint's first fleet, which uses the endpoint's creation time.
    #[serde(default)]
    pub created_at: Option<Timestamp>,
}

impl Fleet {
    /// A fleet for `spec` with every variant's desired count and weight from it and no
    /// traffic yet.
    pub fn from_spec(id: u32, spec: FleetSpec, created_at: Option<Timestamp>) -> Self {
        let variants = spec
            .variants
            .iter()
            .map(|v| VariantState {
                name: v.name.clone(),
                desired_count: v.instance_count,
                desired_weight: v.weight,
                current_weight: 0.0,
            })
            .collect();
        Fleet {
            id,
            spec,
            variants,
            created_at,
        }
    }

    pub fn variant(&self, name: &str) -> Option<&VariantState> {
        self.variants
            .iter()
            .find(|v| v.name.eq_ignore_ascii_case(name))
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VariantState {
    pub name: String,
    pub desired_count: u32,
    pub desired_weight: f64,
    pub current_weight: f64,
}

/// What to restore if a capacity change cannot become healthy.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CapacityChange {
    pub previous: Vec<VariantState>,
    pub started: Timestamp,
}

/// What the shell must do, in order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Action {
    /// Start an instance for this slot (idempotent per key).
    Launch { key: InstanceKey },
    /// Publish this routing table (the shell skips a table equal to the live one).
    Route(RoutingPlan),
    /// Remove the endpoint from the router: it answers "not found" from now on.
    Unroute,
    /// Take the instance out of rotation, drain it, stop it, and stop reporting it.
    Stop { key: InstanceKey },
    /// Delete the endpoint record: nothing of it is running any more.
    Forget,
    /// Append this entry to the deployment's durable history (timeline). The shell should
    /// write it in the same transaction as the decision's record; `(deployment, seq)` is
    /// unique, so writing it twice is harmless.
    Record(Box<DeploymentEvent>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Decision {
    pub record: EndpointRecord,
    pub actions: Vec<Action>,
    pub wake_at: Option<Timestamp>,
}

impl EndpointRecord {
    /// A new endpoint in `Creating`, about to launch its first fleet.
    pub fn new(name: &str, spec: FleetSpec, now: Timestamp) -> Self {
        EndpointRecord {
            name: name.to_string(),
            status: EndpointStatus::Creating,
            failure_reason: None,
            creation_time: now,
            last_modified_time: now,
            fleet: Fleet::from_spec(0, spec, None),
            next_incarnation: 0,
            capacity_change: None,
            deployment: None,
            last_deployment: None,
        }
    }

    /// `EndpointConfigName` as DescribeEndpoint shows it (docs/deployments.md#describeendpoint-during-an-update): the new config
    /// while an update runs and after a failed rollback, the serving config otherwise.
    /// Instances this endpoint wants running: its fleet's desired counts, plus the new fleet's
    /// while an update runs (blue/green holds both).
    pub fn desired_instances(&self) -> u32 {
        let fleet = |f: &Fleet| f.variants.iter().map(|v| v.desired_count).sum::<u32>();
        fleet(&self.fleet) + self.deployment.as_deref().map_or(0, |d| fleet(&d.green))
    }

    pub fn endpoint_config_name(&self) -> &str {
        match &self.deployment {
            Some(d) => &d.green.spec.config_name,
            None => &self.fleet.spec.config_name,
        }
    }

    /// The fleet an instance key belongs to: the serving (blue) fleet, the deployment's new
    /// fleet, or a fleet left over from a failed rollback. The shell launches an instance
    /// with `fleet_by_id(key.fleet).spec`.
    pub fn fleet_by_id(&self, id: u32) -> Option<&Fleet> {
        if self.fleet.id == id {
            return Some(&self.fleet);
        }
        let d = self.deployment.as_deref()?;
        if d.green.id == id {
            return Some(&d.green);
        }
        d.stale.iter().find(|f| f.id == id)
    }

    /// The highest fleet (and deployment) id used so far, for choosing the next one.
    pub(crate) fn max_fleet_id(&self) -> u32 {
        let mut id = self.fleet.id;
        if let Some(last) = &self.last_deployment {
            id = id.max(last.id);
        }
        if let Some(d) = &self.deployment {
            id = id.max(d.green.id);
            id = d.stale.iter().map(|f| f.id).fold(id, u32::max);
        }
        id
    }

    pub(crate) fn set_status(&mut self, status: EndpointStatus, now: Timestamp) {
        if self.status != status {
            self.status = status;
            self.last_modified_time = now;
        }
    }

    pub fn variant_state(&self, name: &str) -> Option<&VariantState> {
        self.fleet
            .variants
            .iter()
            .find(|v| v.name.eq_ignore_ascii_case(name))
    }
}

/// One reconcile pass. Endpoints with a deployment (UpdateEndpoint in progress, or an
/// `UpdateRollbackFailed` endpoint serving two configs) are handled by
/// [`crate::deploy::reconcile`]; `alarms` and `live` matter only there.
///
/// `live` is the routing plan the router serves now (the shell's last published plan; `None`
/// after a restart): deployments advance a traffic step only once it is live.
pub fn reconcile(
    rec: &EndpointRecord,
    observed: &[ObservedInstance],
    alarms: &[AlarmView],
    live: Option<&RoutingPlan>,
    now: Timestamp,
) -> Decision {
    if rec.deployment.is_some() {
        return crate::deploy::reconcile(rec, observed, alarms, live, now);
    }
    reconcile_fleet(rec, observed, now)
}

/// The pass of an endpoint being deleted: out of the router, every instance stopped, the
/// record forgotten once nothing is observed any more.
pub(crate) fn delete_pass(rec: &EndpointRecord, observed: &[ObservedInstance]) -> Decision {
    let mut actions = vec![Action::Unroute];
    actions.extend(
        observed
            .iter()
            .filter(|o| o.health != InstanceHealth::Stopping)
            .map(|o| Action::Stop { key: o.key.clone() }),
    );
    if observed.is_empty() {
        actions.push(Action::Forget);
    }
    Decision {
        record: rec.clone(),
        actions,
        wake_at: None,
    }
}

/// The single-fleet pass: create, keep slots filled, weight and capacity changes.
pub(crate) fn reconcile_fleet(
    rec: &EndpointRecord,
    observed: &[ObservedInstance],
    now: Timestamp,
) -> Decision {
    if rec.status == EndpointStatus::Deleting {
        return delete_pass(rec, observed);
    }
    let mut next = rec.clone();
    let mut actions = Vec::new();
    // Instances of other fleets are leftovers (e.g. of a cancelled update): stop them.
    // Instances already stopping are the shell's business until they are gone.
    for o in observed
        .iter()
        .filter(|o| o.key.fleet != rec.fleet.id && o.health != InstanceHealth::Stopping)
    {
        actions.push(Action::Stop { key: o.key.clone() });
    }
    let mut wake_at: Option<Timestamp> = None;
    let obs = slots::observe(&rec.fleet.spec, rec.fleet.id, observed, now, &mut wake_at);

    if rec.status == EndpointStatus::Failed {
        actions.push(Action::Unroute);
        actions.extend(obs.live.iter().map(|o| Action::Stop { key: o.key.clone() }));
        actions.extend(
            obs.failed
                .iter()
                .map(|f| Action::Stop { key: f.key.clone() }),
        );
        return Decision {
            record: next,
            actions,
            wake_at: None,
        };
    }

    // Failed instances (incl. missed startup windows) are stopped.
    actions.extend(
        obs.failed
            .iter()
            .map(|f| Action::Stop { key: f.key.clone() }),
    );

    if rec.status == EndpointStatus::Creating {
        if let Some(f) = obs.failed.first() {
            next.failure_reason = Some(if f.started {
                status::create_failed_reason(&f.key.variant, &f.detail)
            } else {
                status::start_failed_reason(&f.key.variant, &f.detail)
            });
            next.set_status(EndpointStatus::Failed, now);
            actions.push(Action::Unroute);
            actions.extend(obs.live.iter().map(|o| Action::Stop { key: o.key.clone() }));
            return Decision {
                record: next,
                actions,
                wake_at: None,
            };
        }
    }

    // A capacity change whose new instances cannot start is reverted (status RollingBack).
    if rec.status == EndpointStatus::Updating {
        if let (Some(change), Some(f)) = (
            &rec.capacity_change,
            obs.failed.iter().find(|f| !f.was_ready),
        ) {
            next.fleet.variants = change.previous.clone();
            next.failure_reason = Some(status::capacity_rollback_reason(&f.key.variant, &f.detail));
            next.set_status(EndpointStatus::RollingBack, now);
        }
    }

    // Fill every wanted slot; stop instances in slots no longer wanted.
    let fleet = next.fleet.clone();
    let keep = |v: &str| fleet.variant(v).map_or(0, |v| v.desired_count);
    let filled = slots::fill(
        &fleet,
        &keep,
        &obs,
        true,
        &mut next.next_incarnation,
        now,
        &mut wake_at,
    );
    actions.extend(
        filled
            .launches
            .into_iter()
            .map(|key| Action::Launch { key }),
    );
    let surplus = slots::surplus(&fleet, &keep, &obs);

    let converged = filled.all_ready && surplus.is_empty();
    match next.status {
        EndpointStatus::Creating if converged => next.set_status(EndpointStatus::InService, now),
        EndpointStatus::Updating | EndpointStatus::RollingBack if converged => {
            next.capacity_change = None;
            next.set_status(EndpointStatus::InService, now);
        }
        _ => {}
    }
    if next.status.serves_traffic() {
        for v in &mut next.fleet.variants {
            v.current_weight = v.desired_weight;
        }
        actions.push(Action::Route(routing_plan(
            &next,
            obs.live
                .iter()
                .copied()
                .filter(|o| !surplus.contains(&o.key)),
        )));
    }
    // Surplus instances leave rotation (the Route above) before they are stopped.
    actions.extend(surplus.into_iter().map(|key| Action::Stop { key }));

    Decision {
        record: next,
        actions,
        wake_at,
    }
}

/// The routing table for a single-fleet endpoint: every Ready instance, variant weights as
/// currently applied.
pub fn routing_plan<'a>(
    rec: &EndpointRecord,
    instances: impl Iterator<Item = &'a ObservedInstance> + Clone,
) -> RoutingPlan {
    RoutingPlan {
        variants: rec
            .fleet
            .variants
            .iter()
            .map(|v| RouteVariant {
                name: v.name.clone(),
                weight: v.current_weight,
                groups: vec![RouteGroup {
                    fleet: rec.fleet.id,
                    config_name: rec.fleet.spec.config_name.clone(),
                    share: 1.0,
                    instances: instances
                        .clone()
                        .filter(|o| o.key.fleet == rec.fleet.id && o.key.variant == v.name)
                        .filter_map(|o| {
                            o.ready_addr().map(|addr| RouteInstance {
                                id: o.key.instance_id(&crate::names::name_key(&rec.name)),
                                addr: addr.to_string(),
                            })
                        })
                        .collect(),
                }],
            })
            .collect(),
    }
}

mod changes;
pub(crate) mod slots;

pub use changes::{
    change_weights_and_capacities, refuse_change, ChangeError, ChangeKind, DesiredVariant,
    StatusRefusal,
};

#[cfg(test)]
mod tests;
