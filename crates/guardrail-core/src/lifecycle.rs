//! The endpoint lifecycle outside deployments: create (`Creating` → `InService` | `Failed`),
//! keep every slot filled with a healthy instance, weight and capacity changes
//! (`UpdateEndpointWeightsAndCapacities`), and deletion.
//!
//! [`reconcile`] is level-triggered: it is never told why it runs; it compares the persisted
//! record with what is observed and returns the next record, the actions that move reality
//! towards it, and when it wants to look again. Every action is safe to repeat.

use serde::{Deserialize, Serialize};

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
}

/// The instances of one endpoint config and their per-variant desired state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Fleet {
    pub id: u32,
    pub spec: FleetSpec,
    pub variants: Vec<VariantState>,
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
        EndpointRecord {
            name: name.to_string(),
            status: EndpointStatus::Creating,
            failure_reason: None,
            creation_time: now,
            last_modified_time: now,
            fleet: Fleet {
                id: 0,
                spec,
                variants,
            },
            next_incarnation: 0,
            capacity_change: None,
        }
    }

    fn set_status(&mut self, status: EndpointStatus, now: Timestamp) {
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

/// A failure noticed during this pass, by variant.
struct SlotFailure {
    variant: String,
    detail: String,
    was_ready: bool,
}

/// One reconcile pass for an endpoint outside a deployment.
pub fn reconcile(rec: &EndpointRecord, observed: &[ObservedInstance], now: Timestamp) -> Decision {
    let mut next = rec.clone();
    let mut actions = Vec::new();
    // Instances already stopping are the shell's business until they are gone.
    let active: Vec<&ObservedInstance> = observed
        .iter()
        .filter(|o| o.health != InstanceHealth::Stopping)
        .collect();
    let mine: Vec<&ObservedInstance> = active
        .iter()
        .copied()
        .filter(|o| o.key.fleet == rec.fleet.id)
        .collect();
    // Instances of other fleets are leftovers (e.g. of a cancelled update): stop them.
    for o in active.iter().filter(|o| o.key.fleet != rec.fleet.id) {
        actions.push(Action::Stop { key: o.key.clone() });
    }

    match rec.status {
        EndpointStatus::Deleting => {
            actions.push(Action::Unroute);
            actions.extend(mine.iter().map(|o| Action::Stop { key: o.key.clone() }));
            if observed.is_empty() {
                actions.push(Action::Forget);
            }
            return Decision {
                record: next,
                actions,
                wake_at: None,
            };
        }
        EndpointStatus::Failed => {
            actions.push(Action::Unroute);
            actions.extend(mine.iter().map(|o| Action::Stop { key: o.key.clone() }));
            return Decision {
                record: next,
                actions,
                wake_at: None,
            };
        }
        _ => {}
    }

    // Classify instances: failed ones (incl. missed startup windows) are stopped.
    let mut failures = Vec::new();
    let mut live: Vec<&ObservedInstance> = Vec::new();
    let mut wake_at: Option<Timestamp> = None;
    for o in &mine {
        let timeout_s = rec
            .fleet
            .spec
            .variant(&o.key.variant)
            .map(|v| v.startup_timeout_s)
            .unwrap_or(crate::spec::DEFAULT_STARTUP_TIMEOUT_S);
        let deadline = o.launched_at.plus_secs(i64::from(timeout_s));
        let failure = match &o.health {
            InstanceHealth::Failed { reason, was_ready } => Some((reason.clone(), *was_ready)),
            InstanceHealth::Launching if now >= deadline => Some((
                format!(
                    "instance {} did not answer GET /ping with 200 within {timeout_s} seconds",
                    o.key
                ),
                false,
            )),
            InstanceHealth::Launching => {
                wake_at = min_time(wake_at, deadline);
                None
            }
            InstanceHealth::Ready { .. } | InstanceHealth::Stopping => None,
        };
        match failure {
            Some((detail, was_ready)) => {
                actions.push(Action::Stop { key: o.key.clone() });
                failures.push(SlotFailure {
                    variant: o.key.variant.clone(),
                    detail,
                    was_ready,
                });
            }
            None => live.push(o),
        }
    }

    if rec.status == EndpointStatus::Creating {
        if let Some(f) = failures.first() {
            next.failure_reason = Some(status::create_failed_reason(&f.variant, &f.detail));
            next.set_status(EndpointStatus::Failed, now);
            actions.push(Action::Unroute);
            actions.extend(live.iter().map(|o| Action::Stop { key: o.key.clone() }));
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
            failures.iter().find(|f| !f.was_ready),
        ) {
            next.fleet.variants = change.previous.clone();
            next.failure_reason = Some(status::capacity_rollback_reason(&f.variant, &f.detail));
            next.set_status(EndpointStatus::RollingBack, now);
        }
    }

    // Fill every wanted slot; stop instances in slots no longer wanted.
    let mut all_ready = true;
    for v in &next.fleet.variants {
        for slot in 0..v.desired_count {
            let in_slot: Vec<&&ObservedInstance> = live
                .iter()
                .filter(|o| o.key.variant == v.name && o.key.slot == slot)
                .collect();
            match in_slot.iter().find(|o| o.ready_addr().is_some()) {
                Some(_) => {}
                None if !in_slot.is_empty() => all_ready = false,
                None => {
                    all_ready = false;
                    let key = InstanceKey {
                        fleet: next.fleet.id,
                        variant: v.name.clone(),
                        slot,
                        incarnation: next.next_incarnation,
                    };
                    next.next_incarnation += 1;
                    let timeout_s = rec
                        .fleet
                        .spec
                        .variant(&v.name)
                        .map_or(crate::spec::DEFAULT_STARTUP_TIMEOUT_S, |s| s.startup_timeout_s);
                    wake_at = min_time(wake_at, now.plus_secs(i64::from(timeout_s)));
                    actions.push(Action::Launch { key });
                }
            }
        }
    }
    let surplus: Vec<InstanceKey> = live
        .iter()
        .filter(|o| {
            next.variant_state(&o.key.variant)
                .is_none_or(|v| o.key.slot >= v.desired_count)
        })
        .map(|o| o.key.clone())
        .collect();

    let converged = all_ready && surplus.is_empty();
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
        let surplus_ref = &surplus;
        actions.push(Action::Route(routing_plan(&next, live.iter().copied().filter(|o| !surplus_ref.contains(&o.key)))));
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

fn min_time(a: Option<Timestamp>, b: Timestamp) -> Option<Timestamp> {
    Some(a.map_or(b, |a| a.min(b)))
}

#[cfg(test)]
mod tests;
