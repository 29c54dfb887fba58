//! Failures and endings: a failed green instance or old relaunch, alarm trips, timeouts,
//! rollbacks, `UpdateRollbackFailed`, success; and the history entries they leave.

use super::alarms::AlarmEvidence;
use super::engine::{finished, Pass};
use super::events::{DeploymentEvent, EventKind, FleetRole, FleetSnapshot, ShareSnapshot};
use super::machine::{BatchStage, Cause, Outcome, Phase, RollbackStage};
use super::plan::{old_active, PlanKind};
use super::texts;
use crate::lifecycle::{self, slots::FleetObs};
use crate::status::{self, EndpointStatus};

impl Pass<'_> {
    pub(super) fn on_failures(&mut self) {
        if self.forward() {
            if let Some(f) = self.green.failed.first() {
                let cause = Cause::Health {
                    variant: f.key.variant.clone(),
                    config_name: self.d.green.spec.config_name.clone(),
                    detail: f.detail.clone(),
                };
                self.rollback(cause, Vec::new());
                return;
            }
        }
        // Rolling rollback: an old slot whose instance fails to start twice fails it.
        let (old, mut failed) = match &self.d.phase {
            Phase::RollingBack {
                stage:
                    RollbackStage::Restore { old, failed, .. }
                    | RollbackStage::Return { old, failed, .. },
            } => (*old, failed.clone()),
            _ => return,
        };
        let mut twice = false;
        for f in self
            .blue
            .failed
            .iter()
            .filter(|f| !f.was_ready && f.key.slot < old)
        {
            if failed.contains(&f.key) {
                continue;
            }
            twice |= failed
                .iter()
                .any(|k| k.slot == f.key.slot && k.variant == f.key.variant);
            failed.push(f.key.clone());
        }
        if let Phase::RollingBack {
            stage:
                RollbackStage::Restore { failed: list, .. } | RollbackStage::Return { failed: list, .. },
        } = &mut self.d.phase
        {
            *list = failed;
        }
        if twice {
            let v = self.rolling_variant();
            let missing = old.saturating_sub(self.blue.ready_count(&v));
            self.stall(missing.max(1));
        }
    }

    pub(super) fn cause(&self) -> Cause {
        self.d.failure.clone().unwrap_or(Cause::Timeout {
            timeout_s: 0,
            at: self.now,
        })
    }

    /// `Baking (canary, 1 of 4 instance(s))` for the current phase.
    pub(super) fn during(&self) -> String {
        let (kind, step) = match &self.d.phase {
            Phase::Shifting { step } => ("ActivatingTraffic", Some(*step)),
            Phase::Baking { step, .. } => ("Baking", Some(*step)),
            Phase::TerminationWait { .. } => ("Baking", None),
            Phase::Rolling { batch, stage } => match stage {
                BatchStage::Launching => ("Updating", Some(*batch)),
                BatchStage::Activating => ("ActivatingTraffic", Some(*batch)),
                BatchStage::Baking { .. } => ("Baking", Some(*batch)),
            },
            _ => ("Creating", None),
        };
        let (label, green, total) = match step.and_then(|i| self.d.plan.steps.get(i)) {
            Some(s) => (
                s.label.text(),
                s.variants.iter().map(|v| v.green_instances).sum(),
                s.variants.iter().map(|v| v.green_total).sum(),
            ),
            None if matches!(self.d.phase, Phase::TerminationWait { .. }) => {
                let n: u32 = self.d.green.variants.iter().map(|v| v.desired_count).sum();
                ("termination wait".to_string(), n, n)
            }
            None => {
                let n: u32 = self.d.green.variants.iter().map(|v| v.desired_count).sum();
                ("provisioning".to_string(), 0, n)
            }
        };
        status::during_text(kind, &label, green, total)
    }

    pub(super) fn rollback_alarm(&mut self, trip: Vec<AlarmEvidence>) {
        // Real ALARM states are the better evidence; deleted alarms only when alone.
        let alarmed: Vec<&AlarmEvidence> = trip.iter().filter(|e| e.exists).collect();
        let deleted = alarmed.is_empty();
        let named: Vec<&AlarmEvidence> = if deleted {
            trip.iter().collect()
        } else {
            alarmed
        };
        let Some(first) = named.iter().min_by_key(|e| e.at).copied().cloned() else {
            return;
        };
        let cause = Cause::Alarm {
            names: named.iter().map(|e| e.name.clone()).collect(),
            at: first.at,
            during: self.during(),
            reason: if deleted { None } else { first.reason },
            deleted,
        };
        self.rollback(cause, trip);
    }

    /// A failure: FailureReason set, alarms no longer watched, traffic returns to the old side.
    pub(super) fn rollback(&mut self, cause: Cause, evidence: Vec<AlarmEvidence>) {
        let reason = cause.failure_reason();
        self.rec.failure_reason = Some(reason.clone());
        self.rec.last_modified_time = self.now;
        self.d.window_start = None;
        self.d.failure = Some(cause);
        let stage = if self.d.repair || self.d.plan.kind == PlanKind::BlueGreen {
            RollbackStage::Swap
        } else {
            let v = self.rolling_variant();
            let (from, old_running) = match &self.d.phase {
                Phase::Rolling { batch, stage } => {
                    let prev = batch.checked_sub(1);
                    let old_running = match prev {
                        None => self.d.old_count(&v),
                        Some(p) => old_active(
                            self.d.old_count(&v),
                            self.green_after(Some(p), &v),
                            self.d.new_count(&v),
                        ),
                    };
                    let from = match stage {
                        BatchStage::Launching => self.green_after(prev, &v),
                        _ => self.green_after(Some(*batch), &v),
                    };
                    (from, old_running)
                }
                _ => (0, self.d.old_count(&v)),
            };
            let to = match self.d.plan.rollback_batch {
                None => 0,
                Some(r) => from - r.max(1).min(from),
            };
            let old = if to == 0 {
                self.d.old_count(&v)
            } else {
                old_running.max(old_active(self.d.old_count(&v), to, self.d.new_count(&v)))
            };
            RollbackStage::Restore {
                from,
                to,
                old,
                failed: Vec::new(),
            }
        };
        self.set_phase(Phase::RollingBack { stage });
        let msg = format!("Rolling back: {}.", self.cause().summary());
        self.record(EventKind::RollbackStarted, msg, Some(reason), evidence);
    }

    /// The rolling rollback cannot restore the old fleet: `UpdateRollbackFailed`.
    pub(super) fn stall(&mut self, failed: u32) {
        let cause = self.cause();
        let reason = status::rollback_failed_reason(
            &cause.summary(),
            failed,
            &self.rec.fleet.spec.config_name,
            &self.d.green.spec.config_name,
        );
        self.rec.failure_reason = Some(reason.clone());
        self.rec
            .set_status(EndpointStatus::UpdateRollbackFailed, self.now);
        self.end_stalled(Outcome::RollbackFailed {
            cause,
            detail: reason,
        });
    }

    pub(super) fn end_stalled(&mut self, outcome: Outcome) {
        self.d.outcome = Some(outcome.clone());
        self.d.window_start = None;
        self.set_phase(Phase::Stalled);
        self.rec.last_deployment = Some(finished(&self.rec, &self.d, outcome.clone(), self.now));
        let msg = texts::outcome_message(&self.rec, &self.d, &outcome);
        let reason = self.rec.failure_reason.clone();
        self.record_outcome(msg, reason, outcome);
    }

    /// The update ended; the endpoint is back to one fleet.
    pub(super) fn finish(&mut self, outcome: Outcome) {
        let now = self.now;
        self.d.outcome = Some(outcome.clone());
        self.d.window_start = None;
        self.rec.last_deployment = Some(finished(&self.rec, &self.d, outcome.clone(), now));
        let msg = texts::outcome_message(&self.rec, &self.d, &outcome);
        let reason = self.rec.failure_reason.clone();
        self.record_outcome(msg, reason, outcome.clone());
        if outcome == Outcome::Succeeded {
            let mut green = self.d.green.clone();
            for v in &mut green.variants {
                v.current_weight = v.desired_weight;
            }
            self.rec.fleet = green;
            self.rec.failure_reason = None;
        }
        self.rec.set_status(EndpointStatus::InService, now);
        self.rec.last_modified_time = now;
        self.done = true;
    }

    pub(super) fn set_phase(&mut self, phase: Phase) {
        self.d.phase = phase;
        self.d.phase_since = self.now;
        self.d.shares = self.target_shares();
    }

    /// Enters `phase` and records it.
    pub(super) fn enter(&mut self, phase: Phase) {
        self.set_phase(phase);
        let kind = match &self.d.phase {
            Phase::Provisioning => EventKind::Started,
            Phase::Shifting { .. } => EventKind::ActivatingTraffic,
            Phase::Baking { .. } => EventKind::Baking,
            Phase::TerminationWait { .. } => EventKind::TerminationWait,
            Phase::TearingDown => EventKind::TearingDown,
            Phase::Rolling { stage, .. } => match stage {
                BatchStage::Launching => EventKind::LaunchingBatch,
                BatchStage::Activating => EventKind::ActivatingTraffic,
                BatchStage::Baking { .. } => EventKind::Baking,
            },
            Phase::RollingBack { stage } => match stage {
                RollbackStage::Swap => EventKind::RollbackStarted,
                RollbackStage::Restore { .. } => EventKind::RestoringCapacity,
                RollbackStage::Return { .. } => EventKind::ReturningTraffic,
                RollbackStage::Drain => EventKind::DrainingNew,
            },
            Phase::Stalled => EventKind::Finished,
        };
        let msg = texts::phase_message(self);
        self.record(kind, msg, None, Vec::new());
    }

    pub(super) fn record_outcome(
        &mut self,
        message: String,
        reason: Option<String>,
        outcome: Outcome,
    ) {
        self.record(EventKind::Finished, message, reason, Vec::new());
        if let Some(last) = self.records.last_mut() {
            last.outcome = Some(outcome);
        }
    }

    pub(super) fn record(
        &mut self,
        kind: EventKind,
        message: String,
        reason: Option<String>,
        alarms: Vec<AlarmEvidence>,
    ) {
        let shares = self
            .d
            .shares
            .iter()
            .map(|s| ShareSnapshot {
                variant: s.variant.clone(),
                green_share: s.green,
            })
            .collect();
        let mut fleets = Vec::new();
        let mut add = |fleet: &lifecycle::Fleet, role: FleetRole, obs: &FleetObs<'_>| {
            for v in &fleet.variants {
                fleets.push(FleetSnapshot {
                    fleet: fleet.id,
                    role,
                    config_name: fleet.spec.config_name.clone(),
                    variant: v.name.clone(),
                    ready: obs.ready_count(&v.name),
                    desired: v.desired_count,
                });
            }
        };
        add(&self.rec.fleet, FleetRole::Old, &self.blue);
        add(&self.d.green, FleetRole::New, &self.green);
        for (f, obs) in self.d.stale.iter().zip(&self.stale) {
            add(f, FleetRole::Stale, obs);
        }
        // The start is dated by acceptance, whenever the first pass runs.
        let at = if kind == EventKind::Started {
            self.d.start_time
        } else {
            self.now
        };
        self.records.push(DeploymentEvent {
            deployment: self.d.id,
            seq: self.d.next_event,
            at,
            kind,
            step: texts::step_text(&self.d),
            message,
            shares,
            fleets,
            reason,
            alarms,
            outcome: None,
        });
        self.d.next_event += 1;
    }
}
