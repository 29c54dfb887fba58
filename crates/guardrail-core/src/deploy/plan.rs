//! The plan of an update as data (docs/deployments.md): which share of every variant's
//! traffic the green (new) fleet holds after each step, how long each step bakes, and what the
//! update waits and costs in total. Computed once at acceptance, stored with the deployment
//! and shown to users.

use serde::{Deserialize, Serialize};

use super::config::{
    CapacitySize, DeploymentConfig, FleetSizes, RollingPolicy, TrafficRouting, UpdatePolicy,
};

/// docs/deployments.md#sizes, Guardrail's rule: instances for a size against a fleet of `total`.
pub fn n(size: CapacitySize, total: u32) -> u32 {
    match size {
        CapacitySize::InstanceCount(v) => v,
        CapacitySize::CapacityPercent(p) => {
            let exact = u64::from(total) * u64::from(p) / 100;
            u32::try_from(exact).unwrap_or(u32::MAX).max(1)
        }
    }
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PlanKind {
    BlueGreen,
    Rolling,
}

/// What a step is called in VariantStatus messages, FailureReasons and the timeline.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum StepLabel {
    /// The first CANARY step.
    Canary,
    /// LINEAR step `step` of `of` (1-based).
    Linear { step: u32, of: u32 },
    /// The step that moves everything: ALL_AT_ONCE, plain, CANARY's second step.
    Full,
    /// ROLLING batch `batch` of `of` (1-based).
    Batch { batch: u32, of: u32 },
}

impl StepLabel {
    /// `canary`, `linear step 2 of 4`, `full`, `batch 1 of 4`.
    pub fn text(self) -> String {
        match self {
            StepLabel::Canary => "canary".into(),
            StepLabel::Linear { step, of } => format!("linear step {step} of {of}"),
            StepLabel::Full => "full".into(),
            StepLabel::Batch { batch, of } => format!("batch {batch} of {of}"),
        }
    }
}

/// One variant after a step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepVariant {
    pub variant: String,
    /// Green (new-config) instances taking traffic after the step.
    pub green_instances: u32,
    /// N_new of the variant.
    pub green_total: u32,
    /// Green's share of the variant's traffic: `green_instances / green_total`.
    pub share: f64,
    /// Blue (old-config) instances still taking traffic: `ceil(N_old × (1 − share))`.
    pub old_active: u32,
    /// Green instances newly activated by this step (a rolling batch's size).
    pub added: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlanStep {
    pub label: StepLabel,
    /// Seconds of bake (alarms watched) after the step is verified live.
    pub bake_s: u32,
    pub variants: Vec<StepVariant>,
}

impl PlanStep {
    pub fn variant(&self, name: &str) -> Option<&StepVariant> {
        self.variants
            .iter()
            .find(|v| v.variant.eq_ignore_ascii_case(name))
    }

    /// Whether green holds all traffic of every variant after this step.
    pub fn is_full(&self) -> bool {
        self.variants
            .iter()
            .all(|v| v.green_instances >= v.green_total)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub kind: PlanKind,
    pub steps: Vec<PlanStep>,
    /// T (blue/green); 0 for rolling.
    pub termination_wait_s: u32,
    /// Sum of all configured waits (docs/deployments.md#plans table).
    pub total_wait_s: u64,
    /// The effective `MaximumExecutionTimeoutInSeconds`; `None` without a policy.
    pub max_timeout_s: Option<u32>,
    /// Most instances running at once.
    pub peak_instances: u32,
    /// Rolling: old instances restored per rollback batch; `None` = blue/green-style rollback.
    pub rollback_batch: Option<u32>,
}

fn ceil_div(a: u32, b: u32) -> u32 {
    if b == 0 {
        0
    } else {
        a.div_ceil(b)
    }
}

fn share(green: u32, total: u32) -> f64 {
    if total == 0 {
        1.0
    } else {
        f64::from(green) / f64::from(total)
    }
}

/// `ceil(N_old × (1 − green/N_new))`, exactly, in integers.
pub fn old_active(n_old: u32, green: u32, n_new: u32) -> u32 {
    if n_new == 0 || green >= n_new {
        return 0;
    }
    let rest = u64::from(n_new - green);
    u32::try_from((u64::from(n_old) * rest).div_ceil(u64::from(n_new))).unwrap_or(u32::MAX)
}

/// Builds the steps when variant v's green count after step i (1-based) is `green(v, i)`;
/// `k` steps in lockstep.
fn steps(
    old: &FleetSizes,
    new: &FleetSizes,
    k: u32,
    bake_s: u32,
    label: impl Fn(u32) -> StepLabel,
    green: impl Fn(u32, u32) -> u32,
) -> Vec<PlanStep> {
    (1..=k)
        .map(|i| PlanStep {
            label: label(i),
            bake_s,
            variants: new
                .variants
                .iter()
                .map(|(name, n_new)| {
                    let g = green(*n_new, i).min(*n_new);
                    let before = if i == 1 {
                        0
                    } else {
                        green(*n_new, i - 1).min(*n_new)
                    };
                    let n_old = old.count(name).unwrap_or(0);
                    StepVariant {
                        variant: name.clone(),
                        green_instances: g,
                        green_total: *n_new,
                        share: share(g, *n_new),
                        old_active: old_active(n_old, g, *n_new),
                        added: g - before.min(g),
                    }
                })
                .collect(),
        })
        .collect()
}

/// docs/deployments.md#plans: the plan for `cfg` moving from `old` to `new` (counts after Retain).
pub fn plan(cfg: &DeploymentConfig, old: &FleetSizes, new: &FleetSizes) -> Plan {
    let both: u32 = old.variants.iter().map(|(_, c)| c).sum::<u32>()
        + new.variants.iter().map(|(_, c)| c).sum::<u32>();
    let blue_green = |steps: Vec<PlanStep>, t: u32, max: Option<u32>| {
        let waits: u64 = steps.iter().map(|s| u64::from(s.bake_s)).sum();
        Plan {
            kind: PlanKind::BlueGreen,
            total_wait_s: waits + u64::from(t),
            steps,
            termination_wait_s: t,
            max_timeout_s: max,
            peak_instances: both,
            rollback_batch: None,
        }
    };
    let full = |bake_s| steps(old, new, 1, bake_s, |_| StepLabel::Full, |n, _| n);
    match &cfg.policy {
        UpdatePolicy::Plain => blue_green(full(0), 0, None),
        UpdatePolicy::BlueGreen(p) => {
            let w = p.wait_s;
            let steps = match p.routing {
                TrafficRouting::AllAtOnce => full(w),
                TrafficRouting::Canary(c) => {
                    let mut s = steps(old, new, 1, w, |_| StepLabel::Canary, |n, _| n_of(c, n));
                    s.extend(full(w));
                    s
                }
                TrafficRouting::Linear(size) => {
                    let k = new
                        .variants
                        .iter()
                        .map(|(_, n)| ceil_div(*n, n_of(size, *n)))
                        .max()
                        .unwrap_or(1)
                        .max(1);
                    steps(
                        old,
                        new,
                        k,
                        w,
                        |i| StepLabel::Linear { step: i, of: k },
                        |n, i| i.saturating_mul(n_of(size, n)),
                    )
                }
            };
            blue_green(steps, p.termination_wait_s, cfg.max_timeout_s())
        }
        UpdatePolicy::Rolling(p) => rolling(p, old, new, cfg.max_timeout_s()),
    }
}

/// `n(size, N)` but never 0 for a non-empty fleet and never more than N.
fn n_of(size: CapacitySize, total: u32) -> u32 {
    n(size, total).clamp(1, total.max(1))
}

fn rolling(p: &RollingPolicy, old: &FleetSizes, new: &FleetSizes, max: Option<u32>) -> Plan {
    let k = new
        .variants
        .iter()
        .map(|(_, n)| ceil_div(*n, n_of(p.batch, *n)))
        .max()
        .unwrap_or(1)
        .max(1);
    let steps = steps(
        old,
        new,
        k,
        p.wait_s,
        |i| StepLabel::Batch { batch: i, of: k },
        |n, i| i.saturating_mul(n_of(p.batch, n)),
    );
    // Peak: during batch i the old instances of batch i−1 still run next to batch i's.
    let mut peak = 0;
    for (i, step) in steps.iter().enumerate() {
        let running: u32 = step
            .variants
            .iter()
            .map(|v| {
                let n_old = old.count(&v.variant).unwrap_or(0);
                let old_running = match i {
                    0 => n_old,
                    _ => steps[i - 1]
                        .variant(&v.variant)
                        .map_or(n_old, |prev| prev.old_active),
                };
                old_running + v.green_instances
            })
            .sum();
        peak = peak.max(running);
    }
    let n_old: u32 = old.variants.iter().map(|(_, c)| c).sum();
    let rollback_batch = p.rollback_batch.and_then(|rb| {
        let r = n(rb, n_old).min(n_old);
        let whole = matches!(rb, CapacitySize::CapacityPercent(pct) if pct >= 100);
        (!whole && r < n_old).then_some(r.max(1))
    });
    Plan {
        kind: PlanKind::Rolling,
        total_wait_s: u64::from(k) * u64::from(p.wait_s),
        steps,
        termination_wait_s: 0,
        max_timeout_s: max,
        peak_instances: peak,
        rollback_batch,
    }
}

#[cfg(test)]
mod tests;
