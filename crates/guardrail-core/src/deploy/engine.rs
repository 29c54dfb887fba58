//! The deployment's transition function: one level-triggered pass over the persisted
//! deployment, the observed instances, the watched alarms and the live routing table.
//!
//! A pass (1) sorts instances by fleet and stops failed ones, (2) turns failures into
//! rollbacks (a green instance failing before the update is committed; an old instance
//! failing twice to start during a rolling rollback), (3) advances the phase as far as the
//! evidence allows — alarms first, then the timeout, then timers and verifications — and
//! (4) emits what the final phase wants: launches, the routing table, stops, history entries.

use super::alarms::AlarmView;
use super::events::{DeploymentEvent, EventKind, ShareSnapshot};
use super::layout::Realized;
use super::machine::{BatchStage, Deployment, FinishedDeployment, Outcome, Phase, RollbackStage};
use super::{route, texts};
use crate::fleet::{InstanceHealth, InstanceKey, ObservedInstance};
use crate::lifecycle::slots::{self, FleetObs};
use crate::lifecycle::{self, Action, Decision, EndpointRecord};
use crate::routing::RoutingPlan;
use crate::status::EndpointStatus;
use crate::time::Timestamp;

/// Transitions one pass may take (each needs new evidence, so a handful suffices).
const MAX_TRANSITIONS: usize = 32;
/// Alarms are re-checked at least this often while a window is open.
const ALARM_RECHECK_MS: i64 = 1_000;
/// After requesting a table, look again this soon to verify it is live.
const VERIFY_SOON_MS: i64 = 10;

/// One reconcile pass of an endpoint with a deployment attached.
pub fn reconcile(
    rec: &EndpointRecord,
    observed: &[ObservedInstance],
    alarms: &[AlarmView],
    live: Option<&RoutingPlan>,
    now: Timestamp,
) -> Decision {
    let Some(d) = rec.deployment.as_deref() else {
        return lifecycle::reconcile_fleet(rec, observed, now);
    };
    if rec.status == EndpointStatus::Deleting {
        return cancel(rec, d, observed, now);
    }
    Pass::new(rec, d.clone(), observed, alarms, live, now).run(observed)
}

/// DeleteEndpoint during an update (docs/deployments.md#cancellation): the update ends `Cancelled`, both
/// fleets drain and stop, the record is forgotten.
fn cancel(
    rec: &EndpointRecord,
    d: &Deployment,
    observed: &[ObservedInstance],
    now: Timestamp,
) -> Decision {
    let mut next = rec.clone();
    let mut records = Vec::new();
    if d.outcome.is_none() {
        let mut d = d.clone();
        d.outcome = Some(Outcome::Cancelled);
        let ev = DeploymentEvent {
            deployment: d.id,
            seq: d.next_event,
            at: now,
            kind: EventKind::Finished,
            step: None,
            message: "Update cancelled by DeleteEndpoint; every fleet is drained and stopped."
                .into(),
            shares: d
                .shares
                .iter()
                .map(|s| ShareSnapshot {
                    variant: s.variant.clone(),
                    green_share: s.green,
                })
                .collect(),
            fleets: Vec::new(),
            reason: None,
            alarms: Vec::new(),
            outcome: Some(Outcome::Cancelled),
        };
        d.next_event += 1;
        records.push(Action::Record(Box::new(ev)));
        next.last_deployment = Some(finished(rec, &d, Outcome::Cancelled, now));
        next.deployment = Some(Box::new(d));
    }
    let mut decision = lifecycle::delete_pass(&next, observed);
    records.append(&mut decision.actions);
    decision.actions = records;
    decision
}

pub(super) fn finished(
    rec: &EndpointRecord,
    d: &Deployment,
    outcome: Outcome,
    now: Timestamp,
) -> FinishedDeployment {
    FinishedDeployment {
        id: d.id,
        start_time: d.start_time,
        end_time: now,
        from_config: rec.fleet.spec.config_name.clone(),
        to_config: d.green.spec.config_name.clone(),
        outcome,
    }
}

/// The working state of one pass.
pub(super) struct Pass<'a> {
    /// The next record; its `deployment` is `d` again at the end.
    pub(super) rec: EndpointRecord,
    pub(super) d: Deployment,
    pub(super) alarms: &'a [AlarmView],
    pub(super) live: Option<&'a RoutingPlan>,
    pub(super) now: Timestamp,
    pub(super) blue: FleetObs<'a>,
    pub(super) green: FleetObs<'a>,
    /// Aligned with `d.stale`.
    pub(super) stale: Vec<FleetObs<'a>>,
    pub(super) stops: Vec<InstanceKey>,
    pub(super) records: Vec<DeploymentEvent>,
    pub(super) wake_at: Option<Timestamp>,
    /// The update ended this pass and the deployment is detached.
    pub(super) done: bool,
}

impl<'a> Pass<'a> {
    pub(super) fn new(
        rec: &EndpointRecord,
        d: Deployment,
        observed: &'a [ObservedInstance],
        alarms: &'a [AlarmView],
        live: Option<&'a RoutingPlan>,
        now: Timestamp,
    ) -> Self {
        let mut wake_at = None;
        let blue = slots::observe(&rec.fleet.spec, rec.fleet.id, observed, now, &mut wake_at);
        let green = slots::observe(&d.green.spec, d.green.id, observed, now, &mut wake_at);
        let stale = d
            .stale
            .iter()
            .map(|f| slots::observe(&f.spec, f.id, observed, now, &mut wake_at))
            .collect();
        let mut next = rec.clone();
        next.deployment = None;
        Pass {
            rec: next,
            d,
            alarms,
            live,
            now,
            blue,
            green,
            stale,
            stops: Vec::new(),
            records: Vec::new(),
            wake_at,
            done: false,
        }
    }

    pub(super) fn run(mut self, observed: &'a [ObservedInstance]) -> Decision {
        // Instances of fleets this endpoint no longer has are leftovers.
        let mut ids = vec![self.rec.fleet.id, self.d.green.id];
        ids.extend(self.d.stale.iter().map(|f| f.id));
        for o in observed {
            if !ids.contains(&o.key.fleet) && o.health != InstanceHealth::Stopping {
                self.stops.push(o.key.clone());
            }
        }
        // A stale fleet with nothing left running is forgotten.
        let mut i = 0;
        while i < self.d.stale.len() {
            if self.stale[i].is_empty() {
                self.d.stale.remove(i);
                self.stale.remove(i);
            } else {
                i += 1;
            }
        }
        if self.d.repair && self.d.old_counts.is_empty() {
            // A repair shifts traffic away from what actually runs.
            self.d.old_counts = self
                .rec
                .fleet
                .variants
                .iter()
                .map(|v| (v.name.clone(), self.old_live(&v.name)))
                .collect();
        }
        if self.d.next_event == 0 {
            let msg = texts::started_message(&self.rec, &self.d);
            self.record(EventKind::Started, msg, None, Vec::new());
        }
        let failed: Vec<InstanceKey> = self
            .blue
            .failed
            .iter()
            .chain(&self.green.failed)
            .chain(self.stale.iter().flat_map(|s| &s.failed))
            .map(|f| f.key.clone())
            .collect();
        self.stops.extend(failed);
        self.on_failures();
        for _ in 0..MAX_TRANSITIONS {
            if self.done || !self.advance() {
                break;
            }
        }
        if self.done {
            return self.finish_decision(observed);
        }
        self.emit()
    }

    // ---- queries ----

    pub(super) fn plan_len(&self) -> usize {
        self.d.plan.steps.len()
    }

    /// Green instances active after plan step `i` (`None` = before the first step).
    pub(super) fn green_after(&self, i: Option<usize>, variant: &str) -> u32 {
        i.and_then(|i| self.d.plan.steps.get(i))
            .and_then(|s| s.variant(variant))
            .map_or(0, |v| v.green_instances)
    }

    /// The single rolling variant (rolling is single-variant by validation).
    pub(super) fn rolling_variant(&self) -> String {
        self.d
            .green
            .variants
            .first()
            .map(|v| v.name.clone())
            .unwrap_or_default()
    }

    pub(super) fn old_live(&self, variant: &str) -> u32 {
        slots::count(self.blue.live_in(variant))
            + self
                .stale
                .iter()
                .map(|s| slots::count(s.live_in(variant)))
                .sum::<u32>()
    }

    pub(super) fn old_ready(&self, variant: &str) -> u32 {
        self.blue.ready_count(variant)
            + self
                .stale
                .iter()
                .map(|s| s.ready_count(variant))
                .sum::<u32>()
    }

    /// Before the point of no return: a failure, an alarm or the timeout rolls back.
    pub(super) fn forward(&self) -> bool {
        self.d.outcome.is_none()
            && matches!(
                self.d.phase,
                Phase::Provisioning
                    | Phase::Shifting { .. }
                    | Phase::Baking { .. }
                    | Phase::TerminationWait { .. }
                    | Phase::Rolling { .. }
            )
    }

    /// The end of the monitored span if the current phase's timer closes it.
    pub(super) fn window_end(&self) -> Option<Timestamp> {
        match &self.d.phase {
            Phase::Baking { step, until } if step + 1 == self.plan_len() => {
                Some(until.plus_secs(i64::from(self.d.plan.termination_wait_s)))
            }
            Phase::TerminationWait { until } => Some(*until),
            Phase::Rolling {
                stage: BatchStage::Baking { until },
                ..
            } => Some(*until),
            _ => None,
        }
    }

    /// The current phase's timer.
    pub(super) fn phase_timer(&self) -> Option<Timestamp> {
        match &self.d.phase {
            Phase::Baking { until, .. } | Phase::TerminationWait { until } => Some(*until),
            Phase::Rolling {
                stage: BatchStage::Baking { until },
                ..
            } => Some(*until),
            _ => None,
        }
    }

    pub(super) fn timed_out(&self) -> bool {
        let Some(deadline) = self.d.deadline else {
            return false;
        };
        if !self.forward() || self.now < deadline {
            return false;
        }
        // A timer that ran out before the deadline moves on first; its successor is judged
        // on the next round.
        !self
            .phase_timer()
            .is_some_and(|t| t <= self.now && t <= deadline)
    }

    pub(super) fn realized(&self) -> Realized {
        let mut inc = self.rec.next_incarnation;
        let mut wake = None;
        self.realize(&self.layout(&self.d.phase), &mut inc, &mut wake)
    }

    pub(super) fn verified(&self, old_side: bool) -> bool {
        let r = self.realized();
        let short = if old_side { r.old_short } else { r.green_short };
        !short && route::is_live(self.live, &r.route)
    }

    // ---- output ----

    pub(super) fn record_actions(&mut self) -> Vec<Action> {
        std::mem::take(&mut self.records)
            .into_iter()
            .map(|e| Action::Record(Box::new(e)))
            .collect()
    }

    /// The update ended this pass: the endpoint is a single fleet again, so the rest of the
    /// pass is the lifecycle's (routing, replacing, stopping leftovers).
    pub(super) fn finish_decision(mut self, observed: &[ObservedInstance]) -> Decision {
        let mut actions = self.record_actions();
        let mut decision = lifecycle::reconcile_fleet(&self.rec, observed, self.now);
        actions.append(&mut decision.actions);
        decision.actions = actions;
        decision
    }

    pub(super) fn emit(mut self) -> Decision {
        let layout = self.layout(&self.d.phase);
        let mut inc = self.rec.next_incarnation;
        let mut wake = self.wake_at;
        let r = self.realize(&layout, &mut inc, &mut wake);
        self.rec.next_incarnation = inc;
        let now = self.now;
        if let Some(t) = self.phase_timer() {
            wake = slots::min_time(wake, t);
        }
        if let (true, Some(deadline)) = (self.forward(), self.d.deadline) {
            wake = slots::min_time(wake, deadline);
        }
        if self.d.window_start.is_some() && !self.d.config.alarms.is_empty() {
            wake = slots::min_time(wake, now.plus_millis(ALARM_RECHECK_MS));
        }
        let verifying = match &self.d.phase {
            Phase::Shifting { .. }
            | Phase::Rolling {
                stage: BatchStage::Activating,
                ..
            } => Some(r.green_short),
            Phase::RollingBack {
                stage: RollbackStage::Swap | RollbackStage::Return { .. },
            } => Some(r.old_short),
            _ => None,
        };
        if verifying == Some(false) && !route::is_live(self.live, &r.route) {
            wake = slots::min_time(wake, now.plus_millis(VERIFY_SOON_MS));
        }
        let mut actions = self.record_actions();
        actions.extend(r.launches.into_iter().map(|key| Action::Launch { key }));
        actions.push(Action::Route(r.route));
        let mut stops = std::mem::take(&mut self.stops);
        stops.extend(r.stops);
        let mut seen = Vec::new();
        for key in stops {
            if !seen.contains(&key) {
                seen.push(key.clone());
                actions.push(Action::Stop { key });
            }
        }
        let mut record = self.rec;
        record.deployment = Some(Box::new(self.d));
        Decision {
            record,
            actions,
            wake_at: wake,
        }
    }
}
