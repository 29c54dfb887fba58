//! Phase transitions: each needs new evidence (instances Ready, a table live, a timer run
//! out) and moves the deployment one phase on.

use super::alarms;
use super::engine::Pass;
use super::machine::Cause;
use super::machine::{BatchStage, Outcome, Phase, RollbackStage};
use super::plan::old_active;
use crate::status::EndpointStatus;

impl Pass<'_> {
    /// One transition if the evidence allows it.
    pub(super) fn advance(&mut self) -> bool {
        let now = self.now;
        if let Some(from) = self.d.window_start {
            let to = self.window_end().map_or(now, |end| end.min(now));
            let trip = alarms::tripped(&self.d.config.alarms, self.alarms, from, to, now);
            if !trip.is_empty() {
                self.rollback_alarm(trip);
                return true;
            }
        }
        if self.timed_out() {
            let cause = Cause::Timeout {
                timeout_s: self.d.plan.max_timeout_s.unwrap_or_default(),
                at: self.d.deadline.unwrap_or(now),
            };
            self.rollback(cause, Vec::new());
            return true;
        }
        let guarded = self.d.config.is_guarded();
        match self.d.phase.clone() {
            Phase::Provisioning => {
                if !self.realized().green_ready {
                    return false;
                }
                self.d.window_start = guarded.then_some(now);
                self.enter(Phase::Shifting { step: 0 });
            }
            Phase::Shifting { step } => {
                if !self.verified(false) {
                    return false;
                }
                let bake = self.d.plan.steps.get(step).map_or(0, |s| s.bake_s);
                self.enter(Phase::Baking {
                    step,
                    until: now.plus_secs(i64::from(bake)),
                });
            }
            Phase::Baking { step, until } => {
                if until > now {
                    return false;
                }
                if step + 1 < self.plan_len() {
                    self.enter(Phase::Shifting { step: step + 1 });
                } else {
                    let t = i64::from(self.d.plan.termination_wait_s);
                    self.enter(Phase::TerminationWait {
                        until: until.plus_secs(t),
                    });
                }
            }
            Phase::TerminationWait { until } => {
                if until > now {
                    return false;
                }
                self.d.window_start = None;
                self.enter(Phase::TearingDown);
            }
            Phase::TearingDown => {
                if !self.blue.is_empty() || self.stale.iter().any(|s| !s.is_empty()) {
                    return false;
                }
                self.finish(Outcome::Succeeded);
            }
            Phase::Rolling { batch, stage } => return self.advance_rolling(batch, stage),
            Phase::RollingBack { stage } => return self.advance_rollback(stage),
            Phase::Stalled => return false,
        }
        true
    }

    pub(super) fn advance_rolling(&mut self, batch: usize, stage: BatchStage) -> bool {
        let now = self.now;
        match stage {
            BatchStage::Launching => {
                if !self.realized().green_ready {
                    return false;
                }
                self.d.window_start = self.d.config.is_guarded().then_some(now);
                self.enter(Phase::Rolling {
                    batch,
                    stage: BatchStage::Activating,
                });
            }
            BatchStage::Activating => {
                if !self.verified(false) {
                    return false;
                }
                let bake = self.d.plan.steps.get(batch).map_or(0, |s| s.bake_s);
                self.enter(Phase::Rolling {
                    batch,
                    stage: BatchStage::Baking {
                        until: now.plus_secs(i64::from(bake)),
                    },
                });
            }
            BatchStage::Baking { until } => {
                if until > now {
                    return false;
                }
                // The batch's old instances stop now (the next layout keeps fewer).
                self.d.window_start = None;
                if batch + 1 < self.plan_len() {
                    self.enter(Phase::Rolling {
                        batch: batch + 1,
                        stage: BatchStage::Launching,
                    });
                } else {
                    self.enter(Phase::TearingDown);
                }
            }
        }
        true
    }

    pub(super) fn advance_rollback(&mut self, stage: RollbackStage) -> bool {
        match stage {
            RollbackStage::Swap => {
                if self.d.repair {
                    let empty = self
                        .rec
                        .fleet
                        .variants
                        .iter()
                        .any(|v| self.old_ready(&v.name) == 0);
                    if empty {
                        // Nothing of the old side can take the traffic back: keep serving both.
                        let missing: u32 = self
                            .rec
                            .fleet
                            .variants
                            .iter()
                            .map(|v| {
                                self.d
                                    .old_count(&v.name)
                                    .saturating_sub(self.old_ready(&v.name))
                            })
                            .sum();
                        self.stall(missing.max(1));
                        return true;
                    }
                }
                if !self.verified(true) {
                    return false;
                }
                self.enter(Phase::RollingBack {
                    stage: RollbackStage::Drain,
                });
            }
            RollbackStage::Restore {
                from,
                to,
                old,
                failed,
            } => {
                if !self.realized().old_ready {
                    return false;
                }
                self.enter(Phase::RollingBack {
                    stage: RollbackStage::Return {
                        from,
                        to,
                        old,
                        failed,
                    },
                });
            }
            RollbackStage::Return {
                to, old, failed, ..
            } => {
                if !self.verified(true) {
                    return false;
                }
                if to == 0 {
                    self.enter(Phase::RollingBack {
                        stage: RollbackStage::Drain,
                    });
                } else {
                    let v = self.rolling_variant();
                    let r = self.d.plan.rollback_batch.unwrap_or(to).max(1);
                    let next_to = to - r.min(to);
                    let need = old_active(self.d.old_count(&v), next_to, self.d.new_count(&v));
                    let next_old = if next_to == 0 {
                        self.d.old_count(&v)
                    } else {
                        old.max(need)
                    };
                    self.enter(Phase::RollingBack {
                        stage: RollbackStage::Restore {
                            from: to,
                            to: next_to,
                            old: next_old,
                            failed,
                        },
                    });
                }
            }
            RollbackStage::Drain => {
                if !self.green.is_empty() {
                    return false;
                }
                let cause = self.cause();
                if self.stale.iter().any(|s| !s.live.is_empty()) {
                    // A repair rolled back onto a side that still mixes configs.
                    self.rec
                        .set_status(EndpointStatus::UpdateRollbackFailed, self.now);
                    self.end_stalled(Outcome::RolledBack { cause });
                } else {
                    self.finish(Outcome::RolledBack { cause });
                }
            }
        }
        true
    }
}
