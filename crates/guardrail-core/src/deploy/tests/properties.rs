//! Property tests: random configurations and random event orders. The simulated shell
//! asserts on every pass that routed shares sum to 1 per variant, only Ready instances are
//! routed, launches never reuse a key, stops target observed running instances, history
//! entries are contiguous, and blue is never stopped before green held 100 % for T.

use proptest::prelude::*;

use super::*;
use CapacitySize::{CapacityPercent as Pct, InstanceCount as Count};

#[derive(Clone, Debug)]
enum Ev {
    Ready(usize),
    ReadyAll,
    Crash(usize),
    Advance(i64),
    Alarm(AlarmState),
    Blip,
    DeleteAlarm,
    Stopped,
    RouterLag(bool),
    DeleteEndpoint,
}

fn ev() -> impl Strategy<Value = Ev> {
    prop_oneof![
        4 => (0usize..16).prop_map(Ev::Ready),
        3 => Just(Ev::ReadyAll),
        1 => (0usize..16).prop_map(Ev::Crash),
        4 => prop_oneof![3 => 1i64..50, 1 => 50i64..400].prop_map(Ev::Advance),
        1 => prop_oneof![Just(AlarmState::Ok), Just(AlarmState::Alarm), Just(AlarmState::InsufficientData)].prop_map(Ev::Alarm),
        1 => Just(Ev::Blip),
        1 => Just(Ev::DeleteAlarm),
        3 => Just(Ev::Stopped),
        1 => any::<bool>().prop_map(Ev::RouterLag),
    ]
}

fn size() -> impl Strategy<Value = CapacitySize> {
    prop_oneof![
        (1u32..3).prop_map(Count),
        (10u32..51).prop_map(Pct),
        (1u32..100).prop_map(Pct)
    ]
}

fn config() -> impl Strategy<Value = DeploymentConfig> {
    let alarms = prop_oneof![Just(vec![]), Just(vec!["a".to_string()])];
    let w = 0u32..400;
    let t = 0u32..300;
    let policy = prop_oneof![
        Just(UpdatePolicy::Plain),
        (w.clone(), t.clone()).prop_map(|(w, t)| UpdatePolicy::BlueGreen(BlueGreenPolicy {
            routing: TrafficRouting::AllAtOnce,
            wait_s: w,
            termination_wait_s: t,
            max_timeout_s: None,
        })),
        (size(), w.clone(), t.clone()).prop_map(|(c, w, t)| UpdatePolicy::BlueGreen(
            BlueGreenPolicy {
                routing: TrafficRouting::Canary(c),
                wait_s: w,
                termination_wait_s: t,
                max_timeout_s: Some(3600),
            }
        )),
        (size(), w.clone(), t).prop_map(|(s, w, t)| UpdatePolicy::BlueGreen(BlueGreenPolicy {
            routing: TrafficRouting::Linear(s),
            wait_s: w,
            termination_wait_s: t,
            max_timeout_s: None,
        })),
        (size(), w, proptest::option::of(size())).prop_map(|(b, w, rb)| UpdatePolicy::Rolling(
            RollingPolicy {
                batch: b,
                wait_s: w,
                max_timeout_s: Some(7200),
                rollback_batch: rb,
            }
        )),
    ];
    (policy, alarms).prop_map(|(policy, alarms)| {
        let alarms = if matches!(policy, UpdatePolicy::Plain) {
            vec![]
        } else {
            alarms
        };
        DeploymentConfig { policy, alarms }
    })
}

/// The update has ended: detached, stalled, or the endpoint is gone.
fn ended(s: &Sim) -> bool {
    s.forgotten
        || s.rec
            .deployment
            .as_ref()
            .is_none_or(|d| d.outcome.is_some() && d.is_stalled())
}

fn apply(s: &mut Sim, e: &Ev) {
    match e {
        Ev::Ready(i) => {
            if let Some(o) = s.obs.get_mut(*i) {
                if o.health == InstanceHealth::Launching {
                    o.health = InstanceHealth::Ready {
                        addr: format!("10.0.0.{i}:{}", 8000 + o.key.incarnation),
                    };
                }
            }
        }
        Ev::ReadyAll => s.ready_all(),
        Ev::Crash(i) => {
            if let Some(o) = s.obs.get_mut(*i) {
                if o.is_live() {
                    let was_ready = o.ready_addr().is_some();
                    o.health = InstanceHealth::Failed {
                        reason: "crashed".into(),
                        was_ready,
                        started: true,
                    };
                }
            }
        }
        Ev::Advance(secs) => s.advance(*secs),
        Ev::Alarm(state) => {
            let last = (*state == AlarmState::Alarm).then_some(s.now);
            s.alarms = vec![alarm("a", *state, last)];
        }
        Ev::Blip => s.alarms = vec![alarm("a", AlarmState::Ok, Some(s.now))],
        Ev::DeleteAlarm => {
            let mut a = alarm("a", AlarmState::Ok, None);
            a.exists = false;
            s.alarms = vec![a];
        }
        Ev::Stopped => s.stopped(),
        Ev::RouterLag(lag) => s.publish = !lag,
        Ev::DeleteEndpoint => {
            if s.rec.status != EndpointStatus::Deleting {
                s.rec.status = EndpointStatus::Deleting;
            }
        }
    }
}

fn rolling_config() -> impl Strategy<Value = DeploymentConfig> {
    (
        size(),
        0u32..300,
        proptest::option::of(size()),
        any::<bool>(),
    )
        .prop_map(|(b, w, rb, watched)| DeploymentConfig {
            policy: UpdatePolicy::Rolling(RollingPolicy {
                batch: b,
                wait_s: w,
                max_timeout_s: None,
                rollback_batch: rb,
            }),
            alarms: if watched { vec!["a".into()] } else { vec![] },
        })
}

/// One random run: the update is accepted (or the case is skipped), random events happen,
/// then time runs out; exactly one outcome must result.
fn run_case(
    n_old: u32,
    n_new: u32,
    two_variants: bool,
    cfg: DeploymentConfig,
    events: &[Ev],
    delete_at: Option<usize>,
) -> Result<(), TestCaseError> {
    let variants = |n: u32| {
        if two_variants {
            vec![("A", n, 1.0), ("B", n.max(2) - 1, 2.0)]
        } else {
            vec![("A", n, 1.0)]
        }
    };
    let mut s = Sim::in_service(spec("c1", "m:1", &variants(n_old)));
    s.alarms = vec![alarm("a", AlarmState::Ok, None)];
    let accepted = begin_update(
        &s.rec,
        spec("c2", "m:2", &variants(n_new)),
        cfg,
        RetainOptions::default(),
        s.now,
    );
    let Ok(rec) = accepted else { return Ok(()) };
    s.rec = rec;
    s.step();
    for (i, e) in events.iter().enumerate() {
        apply(
            &mut s,
            if delete_at == Some(i) {
                &Ev::DeleteEndpoint
            } else {
                e
            },
        );
        if s.forgotten {
            break;
        }
        s.step();
        prop_assert!(
            s.outcomes().len() <= 1,
            "more than one outcome: {:?}",
            s.outcomes()
        );
        prop_assert!(
            matches!(
                s.rec.status,
                EndpointStatus::Updating
                    | EndpointStatus::InService
                    | EndpointStatus::UpdateRollbackFailed
                    | EndpointStatus::Deleting
            ),
            "status {:?}",
            s.rec.status
        );
    }
    // Time runs past any deadline; instances start and stop normally.
    s.publish = true;
    for _ in 0..400 {
        if ended(&s) {
            break;
        }
        s.step();
        s.ready_all();
        s.stopped();
        s.advance(120);
    }
    prop_assert!(
        ended(&s),
        "no outcome: {:?} {:?}",
        s.rec.status,
        s.rec.deployment.as_ref().map(|d| &d.phase)
    );
    prop_assert_eq!(s.outcomes().len(), 1, "outcomes {:?}", s.outcomes());
    if s.rec.status == EndpointStatus::Deleting {
        // Deleted during or after the update: everything stops, then the record goes.
        for _ in 0..5 {
            s.step();
            s.stopped();
        }
        prop_assert!(s.forgotten);
    } else if s.rec.deployment.is_none() && !s.forgotten {
        prop_assert_eq!(s.rec.status, EndpointStatus::InService);
        // One fleet remains.
        s.step();
        let fleet = s.rec.fleet.id;
        prop_assert!(s
            .obs
            .iter()
            .all(|o| o.key.fleet == fleet || o.health == InstanceHealth::Stopping));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn every_update_ends_in_exactly_one_outcome(
        n_old in 1u32..5,
        n_new in 1u32..5,
        two_variants in any::<bool>(),
        cfg in config(),
        events in proptest::collection::vec(ev(), 0..60),
        delete_at in proptest::option::weighted(0.15, 0usize..60),
    ) {
        run_case(n_old, n_new, two_variants, cfg, &events, delete_at)?;
    }

    #[test]
    fn every_rolling_update_ends_in_exactly_one_outcome(
        n_old in 1u32..7,
        n_new in 1u32..7,
        cfg in rolling_config(),
        events in proptest::collection::vec(ev(), 0..80),
        delete_at in proptest::option::weighted(0.1, 0usize..80),
    ) {
        run_case(n_old, n_new, false, cfg, &events, delete_at)?;
    }
}
