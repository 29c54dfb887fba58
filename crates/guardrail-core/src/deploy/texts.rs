//! The texts of a deployment: VariantStatus entries per phase (docs/deployments.md#describeendpoint-during-an-update catalogue,
//! built from `crate::status`) and the lines of history entries.

use super::engine::Pass;
use super::machine::{BatchStage, Deployment, Outcome, Phase, RollbackStage};
use super::plan::{old_active, PlanKind, PlanStep, StepLabel};
use crate::lifecycle::EndpointRecord;
use crate::status::{self, BakeKind, VariantStatusKind};

fn step_variant(step: &PlanStep, variant: &str) -> (u32, u32, u32) {
    step.variant(variant)
        .map_or((0, 0, 0), |v| (v.green_instances, v.green_total, v.added))
}

/// The capacity phrase of a step: `canary capacity of 1 instance(s)`, `full capacity of 4
/// instance(s)`, `3 instance(s) (step 1 of 4)`, `1 instance(s) (batch 2 of 4)`. Activation
/// names the instances the step adds; bakes name all instances with traffic.
fn capacity(step: &PlanStep, variant: &str, activating: bool) -> String {
    let (g, n, added) = step_variant(step, variant);
    let shown = if activating { added } else { g };
    match step.label {
        StepLabel::Batch { batch, of } => status::batch_capacity(shown, batch, of),
        _ if g >= n => status::full_capacity(n),
        StepLabel::Canary => status::canary_capacity(g),
        StepLabel::Linear { step, of } => status::step_capacity(shown, step, of),
        StepLabel::Full => status::full_capacity(n),
    }
}

/// The green (pending) variant's `VariantStatus` in the current phase.
pub(crate) fn pending_status(
    d: &Deployment,
    variant: &str,
    green_observed: u32,
) -> Option<(VariantStatusKind, String)> {
    let step = |i: usize| d.plan.steps.get(i);
    match &d.phase {
        Phase::Provisioning => Some((
            VariantStatusKind::Creating,
            status::launching_message(d.new_count(variant)),
        )),
        Phase::Shifting { step: i }
        | Phase::Rolling {
            batch: i,
            stage: BatchStage::Activating,
        } => step(*i).map(|s| {
            (
                VariantStatusKind::ActivatingTraffic,
                status::activating_message(&capacity(s, variant, true)),
            )
        }),
        Phase::Baking { step: i, .. }
        | Phase::Rolling {
            batch: i,
            stage: BatchStage::Baking { .. },
        } => step(*i).map(|s| {
            (
                VariantStatusKind::Baking,
                status::baking_message(
                    s.bake_s,
                    BakeKind::WaitInterval,
                    &capacity(s, variant, false),
                ),
            )
        }),
        Phase::TerminationWait { .. } => Some((
            VariantStatusKind::Baking,
            status::baking_message(
                d.plan.termination_wait_s,
                BakeKind::TerminationWait,
                &status::full_capacity(d.new_count(variant)),
            ),
        )),
        Phase::Rolling {
            batch: i,
            stage: BatchStage::Launching,
        } => step(*i).map(|s| {
            (
                VariantStatusKind::Updating,
                status::launching_message(step_variant(s, variant).2),
            )
        }),
        Phase::RollingBack {
            stage: RollbackStage::Drain,
        } if green_observed > 0 => Some((
            VariantStatusKind::Deleting,
            status::terminating_message(green_observed),
        )),
        _ => None,
    }
}

/// The blue (top-level) variant's `VariantStatus` in the current phase.
pub(crate) fn top_status(
    d: &Deployment,
    variant: &str,
    blue_observed: u32,
    blue_stopping: u32,
    old_ready: u32,
) -> Option<(VariantStatusKind, String)> {
    let n_old = d.old_count(variant);
    match &d.phase {
        Phase::TearingDown if blue_observed > 0 => Some((
            VariantStatusKind::Deleting,
            status::terminating_message(blue_observed),
        )),
        Phase::Rolling { .. } if blue_stopping > 0 => Some((
            VariantStatusKind::Deleting,
            status::terminating_message(blue_stopping),
        )),
        Phase::RollingBack {
            stage: RollbackStage::Swap,
        } => Some((
            VariantStatusKind::ActivatingTraffic,
            status::activating_message(&status::full_capacity(n_old)),
        )),
        Phase::RollingBack {
            stage: RollbackStage::Return { to, .. },
        } => {
            let active = old_active(n_old, *to, d.new_count(variant));
            let phrase = if active >= n_old {
                status::full_capacity(n_old)
            } else {
                status::instances_capacity(active)
            };
            Some((
                VariantStatusKind::ActivatingTraffic,
                status::activating_message(&phrase),
            ))
        }
        Phase::RollingBack {
            stage: RollbackStage::Restore { old, .. },
        } if *old > old_ready => Some((
            VariantStatusKind::Updating,
            status::launching_message(old - old_ready),
        )),
        _ => None,
    }
}

/// The step label of the current phase for history entries.
pub(super) fn step_text(d: &Deployment) -> Option<String> {
    match &d.phase {
        Phase::Shifting { step } | Phase::Baking { step, .. } => {
            d.plan.steps.get(*step).map(|s| s.label.text())
        }
        Phase::Rolling { batch, .. } => d.plan.steps.get(*batch).map(|s| s.label.text()),
        Phase::TerminationWait { .. } => Some("termination wait".into()),
        _ => None,
    }
}

/// The history line for the phase just entered: the first variant's status message.
pub(super) fn phase_message(p: &Pass<'_>) -> String {
    let d = &p.d;
    let first = d
        .green
        .variants
        .first()
        .map(|v| v.name.clone())
        .unwrap_or_default();
    let green_observed = crate::lifecycle::slots::count(p.green.live.iter())
        + crate::lifecycle::slots::count(p.green.stopping.iter());
    let blue_observed = crate::lifecycle::slots::count(p.blue.live.iter())
        + crate::lifecycle::slots::count(p.blue.stopping.iter());
    let blue_stopping = crate::lifecycle::slots::count(p.blue.stopping.iter());
    if let Some((_, m)) = pending_status(d, &first, green_observed) {
        return m;
    }
    if let Some((_, m)) = top_status(d, &first, blue_observed, blue_stopping, p.old_ready(&first)) {
        return m;
    }
    match &d.phase {
        Phase::TearingDown => status::terminating_message(blue_observed),
        Phase::RollingBack {
            stage: RollbackStage::Drain,
        } => "Traffic is back on the old fleet; the new fleet is drained and stopped.".into(),
        Phase::RollingBack { .. } => "Rolling back.".into(),
        _ => String::new(),
    }
}

pub(super) fn started_message(rec: &EndpointRecord, d: &Deployment) -> String {
    let mode = match (&d.config.policy, d.plan.kind) {
        (super::config::UpdatePolicy::Plain, _) => "blue/green, no DeploymentConfig".to_string(),
        (_, PlanKind::Rolling) => "rolling".to_string(),
        (_, PlanKind::BlueGreen) => "blue/green".to_string(),
    };
    format!(
        "Update from endpoint configuration {} to {} started ({mode}; {} step(s); {} second(s) of configured waits).",
        rec.fleet.spec.config_name,
        d.green.spec.config_name,
        d.plan.steps.len(),
        d.plan.total_wait_s
    )
}

pub(super) fn outcome_message(rec: &EndpointRecord, d: &Deployment, outcome: &Outcome) -> String {
    let (old, new) = (&rec.fleet.spec.config_name, &d.green.spec.config_name);
    match outcome {
        Outcome::Succeeded => format!("Update succeeded; endpoint configuration {new} serves all traffic."),
        Outcome::RolledBack { cause } => format!(
            "Update rolled back ({}); endpoint configuration {old} serves all traffic.",
            cause.summary()
        ),
        Outcome::RollbackFailed { cause, .. } => format!(
            "Update failed ({}) and the rollback failed; the endpoint serves instances of {old} and {new}.",
            cause.summary()
        ),
        Outcome::Cancelled => "Update cancelled by DeleteEndpoint.".into(),
    }
}
