//! Slot keeping shared by the lifecycle and deployments: which instances of a fleet are
//! live, which failed (exit, unhealthy, missed startup window), which slots need a launch.

use crate::fleet::{InstanceHealth, InstanceKey, ObservedInstance};
use crate::spec::{FleetSpec, DEFAULT_STARTUP_TIMEOUT_S};
use crate::time::Timestamp;

use super::Fleet;

/// A failed instance noticed in this pass; the caller stops it.
#[derive(Clone, Debug)]
pub(crate) struct SlotFailure {
    pub(crate) key: InstanceKey,
    pub(crate) detail: String,
    /// Crashed after passing `/ping` (vs. never became Ready).
    pub(crate) was_ready: bool,
    /// Ran at all (vs. its image or artifacts could not be had).
    pub(crate) started: bool,
}

/// One fleet's instances as seen in this pass.
#[derive(Debug, Default)]
pub(crate) struct FleetObs<'a> {
    /// Launching (within the startup window) or Ready, ordered by (variant, slot).
    pub(crate) live: Vec<&'a ObservedInstance>,
    pub(crate) failed: Vec<SlotFailure>,
    /// Being drained and stopped by the shell.
    pub(crate) stopping: Vec<&'a ObservedInstance>,
}

impl<'a> FleetObs<'a> {
    /// Live instances of a variant, lowest slot first.
    pub(crate) fn live_in<'s>(
        &'s self,
        variant: &'s str,
    ) -> impl Iterator<Item = &'a ObservedInstance> + 's {
        self.live
            .iter()
            .copied()
            .filter(move |o| o.key.variant.eq_ignore_ascii_case(variant))
    }

    /// Ready instances of a variant, lowest slot first.
    pub(crate) fn ready_in<'s>(
        &'s self,
        variant: &'s str,
    ) -> impl Iterator<Item = &'a ObservedInstance> + 's {
        self.live_in(variant).filter(|o| o.ready_addr().is_some())
    }

    pub(crate) fn ready_count(&self, variant: &str) -> u32 {
        count(self.ready_in(variant))
    }

    /// Anything of this fleet still observed (live, failed or stopping).
    pub(crate) fn is_empty(&self) -> bool {
        self.live.is_empty() && self.failed.is_empty() && self.stopping.is_empty()
    }
}

pub(crate) fn count<T>(it: impl Iterator<Item = T>) -> u32 {
    u32::try_from(it.count()).unwrap_or(u32::MAX)
}

pub(crate) fn startup_timeout_s(spec: &FleetSpec, variant: &str) -> u32 {
    spec.variant(variant)
        .map_or(DEFAULT_STARTUP_TIMEOUT_S, |v| v.startup_timeout_s)
}

/// Sorts `fleet`'s observed instances into live, failed and stopping. A Launching instance
/// past its startup window counts as failed; one still inside it asks for a wake-up at its
/// deadline.
pub(crate) fn observe<'a>(
    spec: &FleetSpec,
    fleet: u32,
    observed: &'a [ObservedInstance],
    now: Timestamp,
    wake_at: &mut Option<Timestamp>,
) -> FleetObs<'a> {
    let mut out = FleetObs::default();
    let mut mine: Vec<&ObservedInstance> =
        observed.iter().filter(|o| o.key.fleet == fleet).collect();
    mine.sort_by(|a, b| a.key.cmp(&b.key));
    for o in mine {
        let timeout_s = startup_timeout_s(spec, &o.key.variant);
        let deadline = o.launched_at.plus_secs(i64::from(timeout_s));
        match &o.health {
            InstanceHealth::Stopping => out.stopping.push(o),
            InstanceHealth::Failed {
                reason,
                was_ready,
                started,
            } => out.failed.push(SlotFailure {
                key: o.key.clone(),
                detail: reason.clone(),
                was_ready: *was_ready,
                started: *started,
            }),
            InstanceHealth::Launching if now >= deadline => out.failed.push(SlotFailure {
                key: o.key.clone(),
                detail: format!(
                    "instance {} did not answer GET /ping with 200 within {timeout_s} seconds",
                    o.key
                ),
                was_ready: false,
                started: true,
            }),
            InstanceHealth::Launching => {
                *wake_at = min_time(*wake_at, deadline);
                out.live.push(o);
            }
            InstanceHealth::Ready { .. } => out.live.push(o),
        }
    }
    out
}

/// Result of keeping a fleet's slots filled.
pub(crate) struct Fill {
    pub(crate) launches: Vec<InstanceKey>,
    /// Every kept slot holds a Ready instance.
    pub(crate) all_ready: bool,
}

/// Launches an instance for every slot `0..keep(variant)` that holds no live instance.
/// `refill: false` only reports readiness (a fleet that must not grow back).
pub(crate) fn fill(
    fleet: &Fleet,
    keep: &dyn Fn(&str) -> u32,
    obs: &FleetObs<'_>,
    refill: bool,
    next_incarnation: &mut u32,
    now: Timestamp,
    wake_at: &mut Option<Timestamp>,
) -> Fill {
    let mut launches = Vec::new();
    let mut all_ready = true;
    for v in &fleet.variants {
        for slot in 0..keep(&v.name) {
            let mut in_slot = obs
                .live_in(&v.name)
                .filter(|o| o.key.slot == slot)
                .peekable();
            if in_slot.peek().is_none() {
                all_ready = false;
                if refill {
                    launches.push(InstanceKey {
                        fleet: fleet.id,
                        variant: v.name.clone(),
                        slot,
                        incarnation: *next_incarnation,
                    });
                    *next_incarnation += 1;
                    let timeout_s = startup_timeout_s(&fleet.spec, &v.name);
                    *wake_at = min_time(*wake_at, now.plus_secs(i64::from(timeout_s)));
                }
            } else if !in_slot.any(|o| o.ready_addr().is_some()) {
                all_ready = false;
            }
        }
    }
    Fill {
        launches,
        all_ready,
    }
}

/// Live instances in slots no longer kept (or of variants the fleet no longer has).
pub(crate) fn surplus(
    fleet: &Fleet,
    keep: &dyn Fn(&str) -> u32,
    obs: &FleetObs<'_>,
) -> Vec<InstanceKey> {
    obs.live
        .iter()
        .filter(|o| {
            fleet
                .variants
                .iter()
                .find(|v| v.name.eq_ignore_ascii_case(&o.key.variant))
                .is_none_or(|v| o.key.slot >= keep(&v.name))
        })
        .map(|o| o.key.clone())
        .collect()
}

pub(crate) fn min_time(a: Option<Timestamp>, b: Timestamp) -> Option<Timestamp> {
    Some(a.map_or(b, |a| a.min(b)))
}
