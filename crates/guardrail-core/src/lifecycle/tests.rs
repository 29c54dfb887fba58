use std::collections::BTreeMap;

use super::*;
use crate::fleet::{InstanceHealth, ObservedInstance};
use crate::spec::{ContainerSpec, FleetSpec, VariantSpec};

fn spec(variants: &[(&str, u32, f64)]) -> FleetSpec {
    FleetSpec {
        config_name: "cfg".into(),
        variants: variants
            .iter()
            .map(|(name, count, weight)| VariantSpec {
                name: (*name).into(),
                model_name: "m".into(),
                container: ContainerSpec {
                    image: "model:v1".into(),
                    environment: BTreeMap::new(),
                    model_data: None,
                },
                instance_count: *count,
                weight: *weight,
                instance_type: Some("ml.m5.large".into()),
                startup_timeout_s: 60,
            })
            .collect(),
    }
}

/// A tiny simulated shell: applies Launch/Stop to an in-memory instance list.
struct Sim {
    rec: EndpointRecord,
    obs: Vec<ObservedInstance>,
    now: Timestamp,
    routes: Vec<RoutingPlan>,
    forgotten: bool,
}

impl Sim {
    fn new(variants: &[(&str, u32, f64)]) -> Self {
        let now = Timestamp(1_000_000);
        Sim {
            rec: EndpointRecord::new("Ep", spec(variants), now),
            obs: Vec::new(),
            now,
            routes: Vec::new(),
            forgotten: false,
        }
    }

    fn step(&mut self) -> Decision {
        let d = reconcile(&self.rec, &self.obs, &[], self.routes.last(), self.now);
        self.rec = d.record.clone();
        for a in &d.actions {
            match a {
                Action::Launch { key } => {
                    assert!(!self.obs.iter().any(|o| &o.key == key), "relaunch of {key}");
                    self.obs.push(ObservedInstance {
                        key: key.clone(),
                        launched_at: self.now,
                        health: InstanceHealth::Launching,
                    })
                }
                Action::Stop { key } => {
                    let o = self
                        .obs
                        .iter_mut()
                        .find(|o| &o.key == key)
                        .expect("stop of unknown instance");
                    assert_ne!(o.health, InstanceHealth::Stopping, "stopped twice: {key}");
                    o.health = InstanceHealth::Stopping;
                }
                Action::Route(p) => self.routes.push(p.clone()),
                Action::Unroute => self.routes.push(RoutingPlan::default()),
                Action::Forget => self.forgotten = true,
                Action::Record(_) => panic!("no deployment, no history"),
            }
        }
        d
    }

    /// The shell finished stopping everything it was asked to stop.
    fn live(&self) -> usize {
        self.obs.iter().filter(|o| o.is_live()).count()
    }

    fn stopped(&mut self) {
        self.obs.retain(|o| o.health != InstanceHealth::Stopping);
    }

    fn ready_all(&mut self) {
        for (i, o) in self.obs.iter_mut().enumerate() {
            if o.health == InstanceHealth::Launching {
                o.health = InstanceHealth::Ready {
                    addr: format!("127.0.0.1:{}", 9000 + i),
                };
            }
        }
    }

    fn fail(&mut self, idx: usize, was_ready: bool) {
        self.obs[idx].health = InstanceHealth::Failed {
            reason: "exited with status 1".into(),
            was_ready,
            started: true,
        };
    }

    fn advance(&mut self, secs: i64) {
        self.now = self.now.plus_secs(secs);
    }

    fn routed(&self) -> usize {
        self.routes.last().map_or(0, |p| p.instance_ids().count())
    }
}

#[test]
fn create_launches_every_instance_then_goes_in_service() {
    let mut s = Sim::new(&[("A", 2, 1.0), ("B", 1, 3.0)]);
    let d = s.step();
    assert_eq!(s.live(), 3);
    assert_eq!(s.rec.status, EndpointStatus::Creating);
    assert_eq!(
        d.wake_at,
        Some(s.now.plus_secs(60)),
        "wakes at the startup deadline"
    );
    assert!(s.routes.is_empty(), "a Creating endpoint is not routed");
    s.ready_all();
    s.advance(1);
    s.step();
    assert_eq!(s.rec.status, EndpointStatus::InService);
    assert_eq!(s.rec.last_modified_time, s.now);
    assert_eq!(s.routed(), 3);
    let weights: Vec<f64> = s
        .routes
        .last()
        .unwrap()
        .variants
        .iter()
        .map(|v| v.weight)
        .collect();
    assert_eq!(weights, vec![1.0, 3.0]);
    // Steady state: nothing new is launched or stopped.
    let d = s.step();
    assert!(d.actions.iter().all(|a| matches!(a, Action::Route(_))));
}

#[test]
fn partially_ready_endpoint_stays_creating() {
    let mut s = Sim::new(&[("A", 2, 1.0)]);
    s.step();
    s.obs[0].health = InstanceHealth::Ready { addr: "x:1".into() };
    s.step();
    assert_eq!(s.rec.status, EndpointStatus::Creating);
}

#[test]
fn startup_window_expiry_fails_the_create() {
    let mut s = Sim::new(&[("AllTraffic", 2, 1.0)]);
    s.step();
    s.advance(59);
    s.step();
    assert_eq!(s.rec.status, EndpointStatus::Creating);
    s.advance(1);
    s.step();
    assert_eq!(s.rec.status, EndpointStatus::Failed);
    let reason = s.rec.failure_reason.clone().unwrap();
    assert!(reason.starts_with("The primary container for production variant AllTraffic did not pass the ping health check."), "{reason}");
    assert!(reason.contains("within 60 seconds"), "{reason}");
    assert_eq!(s.live(), 0, "every instance is stopped");
}

#[test]
fn an_instance_that_could_not_start_fails_the_create_saying_so() {
    let mut s = Sim::new(&[("AllTraffic", 1, 1.0)]);
    s.step();
    s.obs[0].health = InstanceHealth::Failed {
        reason: "model data s3://b/m.tar.gz: the object does not exist (NoSuchKey)".into(),
        was_ready: false,
        started: false,
    };
    s.step();
    assert_eq!(s.rec.status, EndpointStatus::Failed);
    let reason = s.rec.failure_reason.clone().unwrap();
    assert!(
        reason.starts_with("The primary container for production variant AllTraffic could not be started. (model data s3://b/m.tar.gz"),
        "{reason}"
    );
}

#[test]
fn exit_before_ready_fails_the_create_at_once() {
    let mut s = Sim::new(&[("AllTraffic", 1, 1.0)]);
    s.step();
    s.fail(0, false);
    s.step();
    assert_eq!(s.rec.status, EndpointStatus::Failed);
    assert!(s
        .rec
        .failure_reason
        .as_deref()
        .unwrap()
        .contains("exited with status 1"));
}

#[test]
fn crashed_instance_is_replaced_in_service() {
    let mut s = Sim::new(&[("A", 2, 1.0)]);
    s.step();
    s.ready_all();
    s.step();
    let crashed = s.obs[0].key.clone();
    s.fail(0, true);
    s.step();
    assert_eq!(s.rec.status, EndpointStatus::InService);
    assert_eq!(s.routed(), 1, "the crashed instance left rotation");
    assert_eq!(s.live(), 2);
    let replacement = s
        .obs
        .iter()
        .find(|o| o.health == InstanceHealth::Launching)
        .unwrap();
    assert_eq!(replacement.key.slot, crashed.slot);
    assert!(replacement.key.incarnation > crashed.incarnation);
    s.ready_all();
    s.step();
    assert_eq!(s.routed(), 2);
}

#[test]
fn scale_out_and_in() {
    let mut s = Sim::new(&[("A", 1, 1.0)]);
    s.step();
    s.ready_all();
    s.step();
    // UpdateEndpointWeightsAndCapacities(count 3), as the API layer applies it.
    s.rec.capacity_change = Some(CapacityChange {
        previous: s.rec.fleet.variants.clone(),
        started: s.now,
    });
    s.rec.fleet.variants[0].desired_count = 3;
    s.rec.status = EndpointStatus::Updating;
    s.step();
    assert_eq!(s.live(), 3);
    assert_eq!(s.rec.status, EndpointStatus::Updating);
    assert_eq!(
        s.routed(),
        1,
        "old instance keeps serving while new ones start"
    );
    s.ready_all();
    s.step();
    assert_eq!(s.rec.status, EndpointStatus::InService);
    assert!(s.rec.capacity_change.is_none());
    assert_eq!(s.routed(), 3);

    s.rec.fleet.variants[0].desired_count = 1;
    s.rec.status = EndpointStatus::Updating;
    let d = s.step();
    let route_pos = d
        .actions
        .iter()
        .position(|a| matches!(a, Action::Route(_)))
        .unwrap();
    let first_stop = d
        .actions
        .iter()
        .position(|a| matches!(a, Action::Stop { .. }))
        .unwrap();
    assert!(
        route_pos < first_stop,
        "instances leave rotation before they stop"
    );
    assert_eq!(s.routed(), 1);
    assert_eq!(s.live(), 1);
    assert_eq!(s.rec.status, EndpointStatus::Updating, "still terminating");
    s.step();
    assert_eq!(s.rec.status, EndpointStatus::InService);
}

#[test]
fn failed_scale_out_rolls_back() {
    let mut s = Sim::new(&[("A", 1, 1.0)]);
    s.step();
    s.ready_all();
    s.step();
    s.rec.capacity_change = Some(CapacityChange {
        previous: s.rec.fleet.variants.clone(),
        started: s.now,
    });
    s.rec.fleet.variants[0].desired_count = 2;
    s.rec.status = EndpointStatus::Updating;
    s.step();
    s.fail(1, false);
    s.step();
    assert_eq!(
        s.rec.status,
        EndpointStatus::InService,
        "reverted and converged"
    );
    assert_eq!(s.rec.fleet.variants[0].desired_count, 1);
    assert!(s
        .rec
        .failure_reason
        .as_deref()
        .unwrap()
        .starts_with("Capacity change rolled back"));
    assert_eq!(s.live(), 1);
}

#[test]
fn weight_change_applies_in_one_pass() {
    let mut s = Sim::new(&[("A", 1, 1.0), ("B", 1, 1.0)]);
    s.step();
    s.ready_all();
    s.step();
    s.rec.fleet.variants[1].desired_weight = 0.0;
    s.rec.status = EndpointStatus::Updating;
    s.step();
    assert_eq!(s.rec.status, EndpointStatus::InService);
    assert_eq!(s.rec.fleet.variants[1].current_weight, 0.0);
    assert_eq!(s.routes.last().unwrap().variants[1].weight, 0.0);
}

#[test]
fn delete_stops_everything_then_forgets() {
    let mut s = Sim::new(&[("A", 2, 1.0)]);
    s.step();
    s.ready_all();
    s.step();
    s.rec.status = EndpointStatus::Deleting;
    let d = s.step();
    assert_eq!(d.actions.first(), Some(&Action::Unroute));
    assert_eq!(s.live(), 0);
    s.step();
    assert!(!s.forgotten, "forgets only once nothing is observed");
    s.stopped();
    s.step();
    assert!(s.forgotten);
}

#[test]
fn leftover_instances_of_other_fleets_are_stopped() {
    let mut s = Sim::new(&[("A", 1, 1.0)]);
    s.obs.push(ObservedInstance {
        key: InstanceKey {
            fleet: 7,
            variant: "A".into(),
            slot: 0,
            incarnation: 0,
        },
        launched_at: s.now,
        health: InstanceHealth::Launching,
    });
    s.step();
    assert!(s
        .obs
        .iter()
        .filter(|o| o.is_live())
        .all(|o| o.key.fleet == 0));
    assert!(s
        .obs
        .iter()
        .any(|o| o.key.fleet == 7 && o.health == InstanceHealth::Stopping));
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Ev {
        Ready(usize),
        Crash(usize),
        Advance(i64),
        Scale(u32),
        Stopped,
    }

    fn ev() -> impl Strategy<Value = Ev> {
        prop_oneof![
            4 => (0usize..8).prop_map(Ev::Ready),
            1 => (0usize..8).prop_map(Ev::Crash),
            1 => (1i64..90).prop_map(Ev::Advance),
            1 => (1u32..4).prop_map(Ev::Scale),
            1 => Just(Ev::Stopped),
        ]
    }

    proptest! {
        /// Whatever happens: only Ready instances are routed, no slot runs two live
        /// instances, the record never holds more than one status, and reconcile never panics.
        #[test]
        fn invariants_hold(count in 1u32..4, events in proptest::collection::vec(ev(), 0..40)) {
            let mut s = Sim::new(&[("A", count, 1.0)]);
            s.step();
            for e in events {
                match e {
                    Ev::Ready(i) if i < s.obs.len() && s.obs[i].health == InstanceHealth::Launching => {
                        s.obs[i].health = InstanceHealth::Ready { addr: format!("a:{i}") };
                    }
                    Ev::Stopped => s.stopped(),
                    Ev::Crash(i) if i < s.obs.len() && s.obs[i].is_live() => {
                        let was_ready = s.obs[i].ready_addr().is_some();
                        s.fail(i, was_ready);
                    }
                    Ev::Advance(secs) => s.advance(secs),
                    Ev::Scale(n) if s.rec.status == EndpointStatus::InService => {
                        s.rec.capacity_change = Some(CapacityChange { previous: s.rec.fleet.variants.clone(), started: s.now });
                        s.rec.fleet.variants[0].desired_count = n;
                        s.rec.status = EndpointStatus::Updating;
                    }
                    _ => {}
                }
                s.step();
                if let Some(plan) = s.routes.last() {
                    for id in plan.instance_ids() {
                        let routed_ready = s.obs.iter().any(|o| o.key.instance_id("ep") == id && o.ready_addr().is_some());
                        prop_assert!(routed_ready, "routed {id} is not ready");
                    }
                }
                let mut slots: Vec<(u32, u32)> = s.obs.iter().filter(|o| o.is_live()).map(|o| (o.key.fleet, o.key.slot)).collect();
                slots.sort();
                let before = slots.len();
                slots.dedup();
                prop_assert_eq!(before, slots.len(), "two live instances in one slot");
                if s.rec.status == EndpointStatus::Failed {
                    prop_assert_eq!(s.live(), 0);
                }
            }
        }
    }
}

fn desired(variant: &str, weight: Option<f64>, count: Option<i64>) -> DesiredVariant {
    DesiredVariant {
        variant: variant.into(),
        weight,
        instance_count: count,
    }
}

fn in_service(variants: &[(&str, u32, f64)]) -> EndpointRecord {
    let mut rec = EndpointRecord::new("Ep", spec(variants), Timestamp(1_000_000));
    rec.status = EndpointStatus::InService;
    rec
}

#[test]
fn weights_and_capacities_change_one_count_and_any_weights() {
    let rec = in_service(&[("A", 2, 1.0), ("B", 1, 1.0)]);
    let now = Timestamp(2_000_000);
    let wanted = [
        desired("a", Some(3.0), Some(4)),
        desired("B", Some(0.5), None),
    ];
    let next = change_weights_and_capacities(&rec, &wanted, now).unwrap();
    assert_eq!(next.status, EndpointStatus::Updating);
    assert_eq!(next.last_modified_time, now);
    let a = next.variant_state("A").unwrap();
    assert_eq!((a.desired_count, a.desired_weight), (4, 3.0));
    assert_eq!(next.variant_state("B").unwrap().desired_weight, 0.5);
    let change = next.capacity_change.expect("a count changed: restorable");
    assert_eq!(change.previous, rec.fleet.variants);
    // Weights only: nothing to restore.
    let weights = change_weights_and_capacities(&rec, &[desired("B", Some(2.0), None)], now);
    assert!(weights.unwrap().capacity_change.is_none());
}

#[test]
fn weights_and_capacities_refusals_name_the_rule() {
    let rec = in_service(&[("A", 2, 1.0), ("B", 1, 1.0)]);
    let now = Timestamp(2_000_000);
    let invalid = |wanted: &[DesiredVariant]| match change_weights_and_capacities(&rec, wanted, now)
    {
        Err(ChangeError::Invalid(m)) => m,
        other => panic!("expected a refusal, got {other:?}"),
    };
    assert!(
        invalid(&[desired("A", Some(1.0), None), desired("A", None, Some(2))])
            .contains("was non-unique")
    );
    assert!(invalid(&[desired("C", Some(1.0), None)]).contains("\"C\" is/are not present"));
    assert!(invalid(&[desired("A", None, None)]).contains("must be specified"));
    assert!(invalid(&[desired("A", None, Some(0))]).contains("at least 1"));
    assert!(
        invalid(&[desired("A", None, Some(3)), desired("B", None, Some(3))])
            .contains("Only one variant")
    );
    assert!(
        invalid(&[desired("A", Some(0.0), None), desired("B", Some(0.0), None)])
            .contains("greater than 0")
    );
    for (status, refusal) in [
        (EndpointStatus::Updating, StatusRefusal::InProgress),
        (EndpointStatus::Creating, StatusRefusal::InProgress),
        (EndpointStatus::Failed, StatusRefusal::Failed),
        (
            EndpointStatus::UpdateRollbackFailed,
            StatusRefusal::RollbackFailed,
        ),
    ] {
        let mut r = rec.clone();
        r.status = status;
        let got = change_weights_and_capacities(&r, &[desired("A", Some(1.0), None)], now);
        assert_eq!(got, Err(ChangeError::Status(refusal)), "{status:?}");
    }
    // UpdateEndpoint is the way out of UpdateRollbackFailed.
    assert_eq!(
        refuse_change(EndpointStatus::UpdateRollbackFailed, ChangeKind::Update),
        None
    );
}
