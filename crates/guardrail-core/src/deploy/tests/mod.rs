//! Deployment tests on a virtual clock: a simulated shell applies the core's actions to an
//! in-memory instance list and router, and checks the invariants on every pass.

use std::collections::{BTreeMap, BTreeSet};

use super::*;
use crate::fleet::{InstanceHealth, InstanceKey, ObservedInstance};
use crate::lifecycle::{self, Action, Decision, EndpointRecord};
use crate::routing::RoutingPlan;
use crate::spec::{ContainerSpec, FleetSpec, VariantSpec};
use crate::status::EndpointStatus;
use crate::time::Timestamp;

mod blue_green;
mod failures;
mod properties;
mod rolling;
mod validation;
mod views;

pub(super) const T0: Timestamp = Timestamp(1_700_000_000_000);

pub(super) fn spec(config: &str, image: &str, variants: &[(&str, u32, f64)]) -> FleetSpec {
    FleetSpec {
        config_name: config.into(),
        variants: variants
            .iter()
            .map(|(name, count, weight)| VariantSpec {
                name: (*name).into(),
                model_name: "m".into(),
                container: ContainerSpec {
                    image: image.into(),
                    environment: BTreeMap::new(),
                    model_data: None,
                },
                instance_count: *count,
                weight: *weight,
                instance_type: Some("ml.m5.xlarge".into()),
                startup_timeout_s: 60,
            })
            .collect(),
    }
}

pub(super) fn bg(routing: TrafficRouting, w: u32, t: u32, alarms: &[&str]) -> DeploymentConfig {
    DeploymentConfig {
        policy: UpdatePolicy::BlueGreen(BlueGreenPolicy {
            routing,
            wait_s: w,
            termination_wait_s: t,
            max_timeout_s: None,
        }),
        alarms: alarms.iter().map(|a| (*a).to_string()).collect(),
    }
}

pub(super) fn rolling(
    batch: CapacitySize,
    w: u32,
    rollback: Option<CapacitySize>,
    alarms: &[&str],
) -> DeploymentConfig {
    DeploymentConfig {
        policy: UpdatePolicy::Rolling(RollingPolicy {
            batch,
            wait_s: w,
            max_timeout_s: None,
            rollback_batch: rollback,
        }),
        alarms: alarms.iter().map(|a| (*a).to_string()).collect(),
    }
}

pub(super) fn alarm(name: &str, state: AlarmState, last: Option<Timestamp>) -> AlarmView {
    AlarmView {
        name: name.into(),
        state,
        exists: true,
        last_entered_alarm: last,
        reason: Some("Threshold Crossed: 1 out of the last 1 datapoints [5.0 (23/11/26 10:04:00)] was greater than the threshold (1.0).".into()),
        reason_data: Some("{\"version\":\"1.0\"}".into()),
    }
}

/// The simulated shell.
pub(super) struct Sim {
    pub(super) rec: EndpointRecord,
    pub(super) obs: Vec<ObservedInstance>,
    pub(super) now: Timestamp,
    /// The table the router serves.
    pub(super) live: Option<RoutingPlan>,
    /// Every distinct table published, with its time.
    pub(super) routes: Vec<(Timestamp, RoutingPlan)>,
    pub(super) events: Vec<DeploymentEvent>,
    pub(super) alarms: Vec<AlarmView>,
    pub(super) forgotten: bool,
    /// `false`: the router lags and does not apply Route actions.
    pub(super) publish: bool,
    /// Live (non-failed) instances stopped: (time, key, phase of the deployment before).
    pub(super) stops: Vec<(Timestamp, InstanceKey)>,
    /// Since when the live table sends all traffic of every variant to the deployment's green
    /// fleet (reset whenever it does not).
    full_since: Option<Timestamp>,
    launched: BTreeSet<InstanceKey>,
    next_port: u32,
    pub(super) last: Option<Decision>,
}

impl Sim {
    /// An endpoint created from `spec` and InService.
    pub(super) fn in_service(spec: FleetSpec) -> Sim {
        let mut s = Sim {
            rec: EndpointRecord::new("Ep", spec, T0),
            obs: Vec::new(),
            now: T0,
            live: None,
            routes: Vec::new(),
            events: Vec::new(),
            alarms: Vec::new(),
            forgotten: false,
            publish: true,
            stops: Vec::new(),
            full_since: None,
            launched: BTreeSet::new(),
            next_port: 9000,
            last: None,
        };
        s.step();
        s.ready_all();
        s.step();
        assert_eq!(s.rec.status, EndpointStatus::InService);
        s.advance(100);
        s
    }

    pub(super) fn update(&mut self, spec: FleetSpec, cfg: DeploymentConfig) {
        self.rec = begin_update(&self.rec, spec, cfg, RetainOptions::default(), self.now)
            .expect("update accepted");
    }

    pub(super) fn d(&self) -> &Deployment {
        self.rec.deployment.as_deref().expect("a deployment")
    }

    pub(super) fn phase(&self) -> Phase {
        self.d().phase.clone()
    }

    fn green_id(&self) -> Option<u32> {
        self.rec.deployment.as_ref().map(|d| d.green.id)
    }

    pub(super) fn step(&mut self) -> Decision {
        let d = lifecycle::reconcile(
            &self.rec,
            &self.obs,
            &self.alarms,
            self.live.as_ref(),
            self.now,
        );
        let blue_id = self.rec.fleet.id;
        // DeleteEndpoint stops both fleets at once; otherwise blue waits for green.
        let deploying = self
            .rec
            .deployment
            .as_ref()
            .filter(|_| self.rec.status != EndpointStatus::Deleting)
            .map(|d| (d.plan.kind, d.plan.termination_wait_s));
        let green_id = self.green_id();
        self.rec = d.record.clone();
        for a in &d.actions {
            match a {
                Action::Launch { key } => {
                    assert!(
                        self.launched.insert(key.clone()),
                        "launch of a used key {key}"
                    );
                    assert!(
                        self.rec.fleet_by_id(key.fleet).is_some(),
                        "launch for unknown fleet {key}"
                    );
                    self.obs.push(ObservedInstance {
                        key: key.clone(),
                        launched_at: self.now,
                        health: InstanceHealth::Launching,
                    });
                }
                Action::Stop { key } => {
                    let o = self
                        .obs
                        .iter_mut()
                        .find(|o| &o.key == key)
                        .unwrap_or_else(|| panic!("stop of unobserved instance {key}"));
                    assert_ne!(o.health, InstanceHealth::Stopping, "stopped twice: {key}");
                    // Launching past its startup window counts as failed (every spec: 60 s).
                    let expired = o.health == InstanceHealth::Launching
                        && self.now >= o.launched_at.plus_secs(60);
                    if o.is_live() && !expired {
                        if let (Some((plan::PlanKind::BlueGreen, t)), true) =
                            (deploying, key.fleet == blue_id)
                        {
                            let since = self.full_since.unwrap_or_else(|| {
                                panic!("blue instance {key} stopped before green held 100 %")
                            });
                            assert!(
                                self.now >= since.plus_secs(i64::from(t)),
                                "blue instance {key} stopped {} ms after green held 100 %, T = {t} s",
                                self.now.0 - since.0
                            );
                        }
                        self.stops.push((self.now, key.clone()));
                    }
                    o.health = InstanceHealth::Stopping;
                }
                Action::Route(p) => {
                    self.check_route(p);
                    if self.publish && self.live.as_ref() != Some(p) {
                        self.routes.push((self.now, p.clone()));
                        self.live = Some(p.clone());
                        let all_green = green_id.is_some_and(|g| {
                            p.variants
                                .iter()
                                .all(|v| v.groups.iter().all(|gr| gr.fleet == g || gr.share <= 0.0))
                        });
                        if all_green {
                            self.full_since.get_or_insert(self.now);
                        } else {
                            self.full_since = None;
                        }
                    }
                }
                Action::Unroute => self.live = None,
                Action::Forget => self.forgotten = true,
                Action::Record(e) => {
                    if let Some(prev) = self.events.last() {
                        if prev.deployment == e.deployment {
                            assert_eq!(e.seq, prev.seq + 1, "history entries are contiguous");
                        }
                    }
                    self.events.push((**e).clone());
                }
            }
        }
        self.last = Some(d.clone());
        d
    }

    /// Shares sum to 1 per variant and only Ready instances are listed.
    fn check_route(&self, p: &RoutingPlan) {
        for v in &p.variants {
            let sum: f64 = v.groups.iter().map(|g| g.share).sum();
            assert!(
                (sum - 1.0).abs() < 1e-9,
                "variant {} shares sum to {sum}",
                v.name
            );
            for g in &v.groups {
                for i in &g.instances {
                    let ready = self.obs.iter().any(|o| {
                        o.key.instance_id("ep") == i.id && o.ready_addr() == Some(i.addr.as_str())
                    });
                    assert!(ready, "routed {} is not Ready", i.id);
                }
            }
        }
    }

    pub(super) fn ready_all(&mut self) {
        for o in &mut self.obs {
            if o.health == InstanceHealth::Launching {
                o.health = InstanceHealth::Ready {
                    addr: format!("127.0.0.1:{}", self.next_port),
                };
                self.next_port += 1;
            }
        }
    }

    pub(super) fn ready_fleet(&mut self, fleet: u32) {
        for o in &mut self.obs {
            if o.key.fleet == fleet && o.health == InstanceHealth::Launching {
                o.health = InstanceHealth::Ready {
                    addr: format!("127.0.0.1:{}", self.next_port),
                };
                self.next_port += 1;
            }
        }
    }

    pub(super) fn crash(&mut self, fleet: u32, slot: u32) {
        let o = self
            .obs
            .iter_mut()
            .find(|o| o.key.fleet == fleet && o.key.slot == slot && o.is_live())
            .expect("a live instance in that slot");
        let was_ready = o.ready_addr().is_some();
        o.health = InstanceHealth::Failed {
            reason: "exited with status 137".into(),
            was_ready,
            started: true,
        };
    }

    /// The shell finished draining and stopping.
    pub(super) fn stopped(&mut self) {
        self.obs.retain(|o| o.health != InstanceHealth::Stopping);
    }

    pub(super) fn advance(&mut self, secs: i64) {
        self.now = self.now.plus_secs(secs);
    }

    pub(super) fn advance_to(&mut self, t: Timestamp) {
        if t > self.now {
            self.now = t;
        }
    }

    pub(super) fn live_count(&self, fleet: u32) -> usize {
        self.obs
            .iter()
            .filter(|o| o.key.fleet == fleet && o.is_live())
            .count()
    }

    pub(super) fn ready_count(&self, fleet: u32) -> usize {
        self.obs
            .iter()
            .filter(|o| o.key.fleet == fleet && o.ready_addr().is_some())
            .count()
    }

    /// Runs passes like the shell would with instant instances: every launch becomes Ready,
    /// every stop completes, and time jumps to the next wake-up when a pass changed nothing.
    /// Stops when `until` holds.
    pub(super) fn drive(&mut self, until: impl Fn(&Sim) -> bool) {
        for _ in 0..10_000 {
            if until(self) {
                return;
            }
            let before = self.rec.clone();
            let routes = self.routes.len();
            let d = self.step();
            let busy = d
                .actions
                .iter()
                .any(|a| matches!(a, Action::Launch { .. } | Action::Stop { .. }));
            let changed = d.record != before || busy || self.routes.len() != routes;
            self.ready_all();
            self.stopped();
            if !changed {
                match d.wake_at {
                    Some(t) if t > self.now => self.now = t,
                    _ => self.advance(1),
                }
            }
        }
        panic!(
            "did not converge; phase {:?}",
            self.rec.deployment.as_ref().map(|d| &d.phase)
        );
    }

    /// Drives until no deployment is attached (or it stalled).
    pub(super) fn finish(&mut self) {
        self.drive(|s| s.rec.deployment.as_ref().is_none_or(|d| d.is_stalled()));
    }

    /// Green's share of `variant` in each distinct published table, consecutive duplicates
    /// removed, for tables while `green` existed.
    pub(super) fn green_shares(&self, variant: &str, green: u32) -> Vec<f64> {
        let mut out: Vec<f64> = Vec::new();
        for (_, p) in &self.routes {
            let Some(v) = p
                .variants
                .iter()
                .find(|v| v.name.eq_ignore_ascii_case(variant))
            else {
                continue;
            };
            let s: f64 = v
                .groups
                .iter()
                .filter(|g| g.fleet == green)
                .map(|g| g.share)
                .sum();
            let s = (s * 1e6).round() / 1e6;
            if out.last() != Some(&s) {
                out.push(s);
            }
        }
        out
    }

    /// Time of the first history entry of `kind` (after `after`).
    pub(super) fn event_at(&self, kind: EventKind, nth: usize) -> Timestamp {
        self.events
            .iter()
            .filter(|e| e.kind == kind)
            .nth(nth)
            .unwrap_or_else(|| panic!("no {kind:?} #{nth} in {:#?}", self.kinds()))
            .at
    }

    pub(super) fn kinds(&self) -> Vec<EventKind> {
        self.events.iter().map(|e| e.kind).collect()
    }

    pub(super) fn outcomes(&self) -> Vec<Outcome> {
        self.events
            .iter()
            .filter_map(|e| e.outcome.clone())
            .collect()
    }

    /// Number of Ready old/new instances that carry traffic in the live table.
    pub(super) fn active(&self, fleet: u32) -> usize {
        self.live.as_ref().map_or(0, |p| {
            p.variants
                .iter()
                .flat_map(|v| &v.groups)
                .filter(|g| g.fleet == fleet)
                .map(|g| g.instances.len())
                .sum()
        })
    }
}
