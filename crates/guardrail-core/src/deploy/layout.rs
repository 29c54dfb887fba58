//! What each phase wants of the fleets and the router: which slots to keep (and refill), and
//! how to split every variant's traffic. [`Pass::realize`] turns that into launches, stops
//! and a routing table for the instances observed now.

use super::engine::Pass;
use super::machine::{BatchStage, Phase, RollbackStage, VariantShare};
use super::plan::old_active;
use super::route::{self, Side, Split};
use crate::fleet::{InstanceKey, ObservedInstance};
use crate::lifecycle::slots::{self, FleetObs};
use crate::lifecycle::Fleet;
use crate::routing::RoutingPlan;
use crate::time::Timestamp;

/// Which slots of a fleet to keep.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(super) enum Keep {
    /// Every desired slot of every variant.
    Desired,
    /// Slots `0..n` (rolling, single variant).
    Count(u32),
    /// Whatever runs: no launches, no retirement.
    Live,
    /// None: stop everything.
    Nothing,
}

/// The traffic split a phase asks for.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(super) enum SplitKind {
    /// All traffic on the old side.
    Old,
    /// Plan step `i`.
    Step(usize),
    /// `n` new instances active (rolling rollback rounds).
    Green(u32),
    /// All traffic on green.
    Full,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(super) enum Target {
    Split(SplitKind),
    /// Every fleet's Ready instances by Ready count (`UpdateRollbackFailed`).
    Spread,
}

#[derive(Copy, Clone, Debug)]
pub(super) struct Layout {
    pub(super) old: Keep,
    pub(super) old_refill: bool,
    pub(super) green: Keep,
    pub(super) green_refill: bool,
    pub(super) target: Target,
}

/// A layout applied to the instances observed now.
pub(super) struct Realized {
    pub(super) launches: Vec<InstanceKey>,
    pub(super) stops: Vec<InstanceKey>,
    pub(super) route: RoutingPlan,
    /// Some variant's green side lacks the Ready capacity the split asks for.
    pub(super) green_short: bool,
    /// Some variant's old side lacks it.
    pub(super) old_short: bool,
    /// Every kept green slot holds a Ready instance.
    pub(super) green_ready: bool,
    /// Every kept old slot holds a Ready instance.
    pub(super) old_ready: bool,
}

fn keep_fn(fleet: &Fleet, keep: Keep) -> impl Fn(&str) -> u32 + '_ {
    move |v: &str| match keep {
        Keep::Desired => fleet.variant(v).map_or(0, |s| s.desired_count),
        Keep::Count(n) => n,
        Keep::Live | Keep::Nothing => 0,
    }
}

/// Keeps `fleet`'s slots per `keep`: launches and stops into the given lists; whether every
/// kept slot is Ready.
#[allow(clippy::too_many_arguments)]
fn keep_slots(
    fleet: &Fleet,
    obs: &FleetObs<'_>,
    keep: Keep,
    refill: bool,
    inc: &mut u32,
    now: Timestamp,
    wake: &mut Option<Timestamp>,
    launches: &mut Vec<InstanceKey>,
    stops: &mut Vec<InstanceKey>,
) -> bool {
    match keep {
        Keep::Live => true,
        Keep::Nothing => {
            stops.extend(obs.live.iter().map(|o| o.key.clone()));
            true
        }
        Keep::Desired | Keep::Count(_) => {
            let k = keep_fn(fleet, keep);
            let filled = slots::fill(fleet, &k, obs, refill, inc, now, wake);
            launches.extend(filled.launches);
            stops.extend(slots::surplus(fleet, &k, obs));
            filled.all_ready
        }
    }
}

/// Ready instances of a variant that this pass does not stop, lowest slot first.
fn kept_ready<'a>(
    obs: &FleetObs<'a>,
    variant: &str,
    stops: &[InstanceKey],
) -> Vec<&'a ObservedInstance> {
    obs.ready_in(variant)
        .filter(|o| !stops.contains(&o.key))
        .collect()
}

impl<'a> Pass<'a> {
    pub(super) fn layout(&self, phase: &Phase) -> Layout {
        let last = self.d.plan.steps.len().saturating_sub(1);
        let both = |target| Layout {
            old: Keep::Desired,
            old_refill: true,
            green: Keep::Desired,
            green_refill: true,
            target,
        };
        match phase {
            Phase::Provisioning => both(Target::Split(SplitKind::Old)),
            Phase::Shifting { step } | Phase::Baking { step, .. } => {
                both(Target::Split(SplitKind::Step(*step)))
            }
            Phase::TerminationWait { .. } => both(Target::Split(SplitKind::Step(last))),
            Phase::TearingDown => Layout {
                old: Keep::Nothing,
                ..both(Target::Split(SplitKind::Full))
            },
            Phase::Rolling { batch, stage } => {
                let v = self
                    .d
                    .green
                    .variants
                    .first()
                    .map(|v| v.name.as_str())
                    .unwrap_or("");
                let g = |i: usize| {
                    self.d
                        .plan
                        .steps
                        .get(i)
                        .and_then(|s| s.variant(v))
                        .map_or(0, |s| s.green_instances)
                };
                let old_running = match batch.checked_sub(1) {
                    None => self.d.old_count(v),
                    Some(p) => old_active(self.d.old_count(v), g(p), self.d.new_count(v)),
                };
                let target = match (stage, batch.checked_sub(1)) {
                    (BatchStage::Launching, None) => SplitKind::Old,
                    (BatchStage::Launching, Some(p)) => SplitKind::Step(p),
                    _ => SplitKind::Step(*batch),
                };
                Layout {
                    old: Keep::Count(old_running),
                    old_refill: true,
                    green: Keep::Count(g(*batch)),
                    green_refill: true,
                    target: Target::Split(target),
                }
            }
            Phase::RollingBack { stage } => {
                let (old, green, target) = match stage {
                    RollbackStage::Swap => (Keep::Desired, Keep::Live, SplitKind::Old),
                    RollbackStage::Restore { from, old, .. } => (
                        Keep::Count(*old),
                        Keep::Count(*from),
                        SplitKind::Green(*from),
                    ),
                    RollbackStage::Return { from, to, old, .. } => {
                        (Keep::Count(*old), Keep::Count(*from), SplitKind::Green(*to))
                    }
                    RollbackStage::Drain => (Keep::Desired, Keep::Nothing, SplitKind::Old),
                };
                Layout {
                    old,
                    old_refill: true,
                    green,
                    green_refill: false,
                    target: Target::Split(target),
                }
            }
            Phase::Stalled => Layout {
                old: Keep::Live,
                old_refill: false,
                green: Keep::Live,
                green_refill: false,
                target: Target::Spread,
            },
        }
    }

    /// Green's share, green instances and old instances of `variant` under `kind`.
    pub(super) fn split(&self, kind: SplitKind, variant: &str) -> Split {
        let n_new = self.d.new_count(variant);
        let n_old = self.d.old_count(variant);
        let green = |g: u32| Split {
            share: if n_new == 0 {
                1.0
            } else {
                f64::from(g.min(n_new)) / f64::from(n_new)
            },
            green_active: g.min(n_new),
            old_active: old_active(n_old, g, n_new),
        };
        match kind {
            SplitKind::Old => Split {
                share: 0.0,
                green_active: 0,
                // A repair returns traffic to whatever of the old side is Ready.
                old_active: if self.d.repair {
                    self.old_ready(variant)
                } else {
                    n_old
                },
            },
            SplitKind::Step(i) => match self.d.plan.steps.get(i).and_then(|s| s.variant(variant)) {
                Some(sv) => Split {
                    share: sv.share,
                    green_active: sv.green_instances,
                    old_active: old_active(n_old, sv.green_instances, sv.green_total),
                },
                None => green(0),
            },
            SplitKind::Green(g) => green(g),
            SplitKind::Full => green(n_new),
        }
    }

    /// Whether `kind` gives green every variant's whole traffic (then the new config's
    /// variants and weights are routed).
    pub(super) fn is_full(&self, kind: SplitKind) -> bool {
        match kind {
            SplitKind::Old => false,
            SplitKind::Full => true,
            SplitKind::Step(i) => self.d.plan.steps.get(i).is_some_and(|s| s.is_full()),
            SplitKind::Green(g) => self.d.green.variants.iter().all(|v| g >= v.desired_count),
        }
    }

    fn routed_weight(&self, variant: &str, full: bool) -> f64 {
        let green = self.d.green.variant(variant).map(|v| v.desired_weight);
        let blue = self.rec.fleet.variant(variant).map(|v| v.desired_weight);
        let stale = self
            .d
            .stale
            .iter()
            .find_map(|f| f.variant(variant).map(|v| v.desired_weight));
        let first = if full { green.or(blue) } else { blue.or(green) };
        first.or(stale).unwrap_or(1.0)
    }

    /// Green's share and the routed weight of every green variant in the current phase.
    pub(super) fn target_shares(&self) -> Vec<VariantShare> {
        let target = self.layout(&self.d.phase).target;
        self.d
            .green
            .variants
            .iter()
            .map(|v| {
                let (green, full) = match target {
                    Target::Split(kind) => (self.split(kind, &v.name).share, self.is_full(kind)),
                    Target::Spread => {
                        let g = f64::from(self.green.ready_count(&v.name));
                        let all = g + f64::from(self.old_ready(&v.name));
                        (if all > 0.0 { g / all } else { 0.0 }, false)
                    }
                };
                VariantShare {
                    variant: v.name.clone(),
                    green,
                    weight: self.routed_weight(&v.name, full),
                }
            })
            .collect()
    }

    pub(super) fn realize(
        &self,
        layout: &Layout,
        inc: &mut u32,
        wake: &mut Option<Timestamp>,
    ) -> Realized {
        let now = self.now;
        let mut launches = Vec::new();
        let mut stops = Vec::new();
        let old_ready = if self.d.repair {
            self.retain_old_side(layout.old, &mut stops);
            true
        } else {
            keep_slots(
                &self.rec.fleet,
                &self.blue,
                layout.old,
                layout.old_refill,
                inc,
                now,
                wake,
                &mut launches,
                &mut stops,
            )
        };
        let green_ready = keep_slots(
            &self.d.green,
            &self.green,
            layout.green,
            layout.green_refill,
            inc,
            now,
            wake,
            &mut launches,
            &mut stops,
        );
        let kept = |obs: &FleetObs<'a>, v: &str| kept_ready(obs, v, &stops);
        let green_side = |v: &str| Side {
            fleet: self.d.green.id,
            config_name: &self.d.green.spec.config_name,
            ready: kept(&self.green, v),
        };
        let old_sides = |v: &str| -> Vec<Side<'_>> {
            std::iter::once(Side {
                fleet: self.rec.fleet.id,
                config_name: &self.rec.fleet.spec.config_name,
                ready: kept(&self.blue, v),
            })
            .chain(self.d.stale.iter().zip(&self.stale).map(|(f, obs)| Side {
                fleet: f.id,
                config_name: &f.spec.config_name,
                ready: kept(obs, v),
            }))
            .collect()
        };
        let mut route = RoutingPlan::default();
        let (mut green_short, mut old_short) = (false, false);
        match layout.target {
            Target::Split(kind) => {
                let full = self.is_full(kind);
                let names: Vec<&str> = if full {
                    self.d
                        .green
                        .variants
                        .iter()
                        .map(|v| v.name.as_str())
                        .collect()
                } else {
                    self.rec
                        .fleet
                        .variants
                        .iter()
                        .map(|v| v.name.as_str())
                        .collect()
                };
                for v in names {
                    let routed = route::split_variant(
                        &self.rec.name,
                        v,
                        self.routed_weight(v, full),
                        self.split(kind, v),
                        &green_side(v),
                        &old_sides(v),
                    );
                    green_short |= routed.green_short;
                    old_short |= routed.old_short;
                    route.variants.push(routed.variant);
                }
            }
            Target::Spread => {
                let mut names: Vec<&str> = Vec::new();
                let fleets = std::iter::once(&self.rec.fleet)
                    .chain(std::iter::once(&self.d.green))
                    .chain(&self.d.stale);
                for f in fleets {
                    for v in &f.variants {
                        if !names.iter().any(|n| n.eq_ignore_ascii_case(&v.name)) {
                            names.push(&v.name);
                        }
                    }
                }
                for v in names {
                    let mut sides = old_sides(v);
                    sides.insert(1, green_side(v));
                    route.variants.push(route::spread_variant(
                        &self.rec.name,
                        v,
                        self.routed_weight(v, false),
                        &sides,
                    ));
                }
            }
        }
        Realized {
            launches,
            stops,
            route,
            green_short,
            old_short,
            green_ready,
            old_ready,
        }
    }

    /// A repair's old side (blue and stale fleets) is served as it is: never refilled; when a
    /// layout keeps fewer, blue instances (lowest slots first) are kept before stale ones.
    fn retain_old_side(&self, keep: Keep, stops: &mut Vec<InstanceKey>) {
        let all = || {
            self.blue
                .live
                .iter()
                .chain(self.stale.iter().flat_map(|s| s.live.iter()))
        };
        match keep {
            Keep::Desired | Keep::Live => {}
            Keep::Nothing => stops.extend(all().map(|o| o.key.clone())),
            Keep::Count(n) => {
                let limit = usize::try_from(n).unwrap_or(usize::MAX);
                for v in &self.rec.fleet.variants {
                    let ranked: Vec<&&ObservedInstance> = all()
                        .filter(|o| o.key.variant.eq_ignore_ascii_case(&v.name))
                        .collect();
                    stops.extend(ranked.into_iter().skip(limit).map(|o| o.key.clone()));
                }
            }
        }
    }
}
