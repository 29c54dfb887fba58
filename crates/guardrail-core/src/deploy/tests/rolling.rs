//! Rolling deployments: batches, old instances stopped only after their batch's bake,
//! rollback in batches or in one swap, rollback failure and repair.

use super::*;
use CapacitySize::InstanceCount as Count;

fn v1(n: u32) -> FleetSpec {
    spec("cfg-v1", "model:v1", &[("AllTraffic", n, 1.0)])
}

fn v2(n: u32) -> FleetSpec {
    spec("cfg-v2", "model:v2", &[("AllTraffic", n, 1.0)])
}

fn batch_phase(s: &Sim, batch: usize, baking: bool) -> bool {
    match s.phase() {
        Phase::Rolling { batch: b, stage } => {
            b == batch
                && matches!(stage, BatchStage::Baking { .. }) == baking
                && !matches!(stage, BatchStage::Launching)
        }
        _ => false,
    }
}

#[test]
fn rolling_four_instances_batch_one_follows_the_section_4_5_table() {
    let mut s = Sim::in_service(v1(4));
    s.update(v2(4), rolling(Count(1), 180, None, &["ep-5xx"]));
    let green = s.d().green.id;
    let mut rows = Vec::new();
    for batch in 0..4 {
        s.drive(|s| batch_phase(s, batch, true));
        // (new running, new active, old running, old active) during the bake.
        rows.push((
            s.live_count(green),
            s.active(green),
            s.live_count(0),
            s.active(0),
        ));
    }
    assert_eq!(
        rows,
        vec![(1, 1, 4, 3), (2, 2, 3, 2), (3, 3, 2, 1), (4, 4, 1, 0)]
    );
    s.finish();
    assert_eq!(
        s.green_shares("AllTraffic", green),
        vec![0.0, 0.25, 0.5, 0.75, 1.0]
    );
    // Old instances stop exactly when their batch's bake ends, one per batch.
    let bakes: Vec<Timestamp> = (0..4).map(|i| s.event_at(EventKind::Baking, i)).collect();
    let stop_times: Vec<Timestamp> = s.stops.iter().map(|(t, _)| *t).collect();
    let ends: Vec<Timestamp> = bakes.iter().map(|b| b.plus_secs(180)).collect();
    assert_eq!(stop_times, ends);
    assert_eq!(s.rec.fleet.id, green);
    assert_eq!(s.rec.status, EndpointStatus::InService);
    assert_eq!(s.outcomes(), vec![Outcome::Succeeded]);
    assert!(s.obs.iter().all(|o| o.key.fleet == green));
}

#[test]
fn peak_running_is_n_plus_b() {
    let mut s = Sim::in_service(v1(4));
    s.update(v2(4), rolling(Count(2), 60, None, &[]));
    let green = s.d().green.id;
    let mut peak = 0;
    for _ in 0..200 {
        if s.rec.deployment.is_none() {
            break;
        }
        s.step();
        peak = peak.max(s.live_count(0) + s.live_count(green));
        s.ready_all();
        s.stopped();
        s.advance(20);
    }
    assert!(s.rec.deployment.is_none());
    assert_eq!(peak, 6);
    assert_eq!(s.rec.fleet.id, green);
}

#[test]
fn rolling_with_different_fleet_sizes_keeps_the_ceiling_of_the_old_share() {
    let mut s = Sim::in_service(v1(3));
    s.update(v2(5), rolling(Count(2), 60, None, &[]));
    let green = s.d().green.id;
    let mut old_active = Vec::new();
    for batch in 0..3 {
        s.drive(|s| batch_phase(s, batch, true));
        old_active.push(s.active(0));
    }
    assert_eq!(old_active, vec![2, 1, 0]);
    s.finish();
    assert_eq!(
        s.green_shares("AllTraffic", green),
        vec![0.0, 0.4, 0.8, 1.0]
    );
    assert_eq!(s.rec.fleet.variants[0].desired_count, 5);
    // One old instance retires at the end of each batch's bake.
    let ends: Vec<Timestamp> = (0..3)
        .map(|i| s.event_at(EventKind::Baking, i).plus_secs(60))
        .collect();
    let stop_times: Vec<Timestamp> = s.stops.iter().map(|(t, _)| *t).collect();
    assert_eq!(stop_times, ends);
}

#[test]
fn rolling_rollback_returns_traffic_in_batches() {
    let mut s = Sim::in_service(v1(4));
    s.update(v2(4), rolling(Count(1), 60, Some(Count(1)), &["ep-5xx"]));
    let green = s.d().green.id;
    s.alarms = vec![alarm("ep-5xx", AlarmState::Ok, None)];
    s.drive(|s| batch_phase(s, 2, true));
    s.alarms = vec![alarm("ep-5xx", AlarmState::Alarm, Some(s.now))];
    let mut new_running = Vec::new();
    s.drive(|s| {
        s.rec.deployment.is_none()
            || matches!(
                s.phase(),
                Phase::RollingBack {
                    stage: RollbackStage::Drain
                }
            )
    });
    s.finish();
    for e in &s.events {
        if e.kind == EventKind::ReturningTraffic {
            new_running.push(e.fleets.iter().find(|f| f.fleet == green).map(|f| f.ready));
        }
    }
    assert_eq!(
        s.green_shares("AllTraffic", green),
        vec![0.0, 0.25, 0.5, 0.75, 0.5, 0.25, 0.0]
    );
    assert_eq!(
        new_running,
        vec![Some(3), Some(2), Some(1)],
        "one new instance per round"
    );
    assert_eq!(s.rec.fleet.id, 0);
    assert_eq!(s.rec.fleet.variants[0].desired_count, 4);
    assert_eq!(s.ready_count(0), 4);
    assert_eq!(s.rec.status, EndpointStatus::InService);
    assert!(s
        .rec
        .failure_reason
        .as_deref()
        .unwrap()
        .starts_with("Update rolled back: CloudWatch alarm(s) ep-5xx entered ALARM at"));
    assert!(s.kinds().contains(&EventKind::RestoringCapacity));
}

#[test]
fn rolling_rollback_without_a_batch_size_is_one_swap() {
    let mut s = Sim::in_service(v1(4));
    s.update(v2(4), rolling(Count(1), 60, None, &[]));
    let green = s.d().green.id;
    s.drive(|s| batch_phase(s, 1, true));
    s.crash(green, 1);
    s.step();
    assert!(
        matches!(
            s.phase(),
            Phase::RollingBack {
                stage: RollbackStage::Restore {
                    from: 2,
                    to: 0,
                    old: 4,
                    ..
                }
            }
        ),
        "{:?}",
        s.phase()
    );
    assert_eq!(s.live_count(0), 4, "old capacity is relaunched first");
    s.finish();
    // While old capacity returns, the crashed slot's share is capped onto the old fleet.
    assert_eq!(
        s.green_shares("AllTraffic", green),
        vec![0.0, 0.25, 0.5, 0.25, 0.0]
    );
    assert_eq!(s.rec.fleet.id, 0);
    assert_eq!(s.rec.status, EndpointStatus::InService);
    assert!(s
        .rec
        .failure_reason
        .as_deref()
        .unwrap()
        .contains("did not pass the ping health check"));
}

/// Rolls out 3 of 4 batches, fails, and makes the old config unable to start again.
fn stalled_sim() -> Sim {
    let mut s = Sim::in_service(v1(4));
    s.update(v2(4), rolling(Count(1), 60, None, &["ep-5xx"]));
    s.drive(|s| batch_phase(s, 2, true));
    s.alarms = vec![alarm("ep-5xx", AlarmState::Alarm, Some(s.now))];
    s.step();
    assert!(matches!(s.phase(), Phase::RollingBack { .. }));
    // The old instances relaunched for slots 2 and 3 fail to start, twice.
    for _ in 0..2 {
        for o in &mut s.obs {
            if o.key.fleet == 0 && o.health == InstanceHealth::Launching {
                o.health = InstanceHealth::Failed {
                    reason: "exited with status 1".into(),
                    was_ready: false,
                    started: true,
                };
            }
        }
        s.step();
        s.stopped();
    }
    s
}

#[test]
fn rolling_rollback_that_cannot_restore_the_old_fleet_ends_update_rollback_failed() {
    let mut s = stalled_sim();
    let green = s.d().green.id;
    assert_eq!(s.rec.status, EndpointStatus::UpdateRollbackFailed);
    assert_eq!(s.phase(), Phase::Stalled);
    assert_eq!(s.rec.endpoint_config_name(), "cfg-v2");
    let reason = s.rec.failure_reason.clone().unwrap();
    assert!(
        reason.starts_with("Update failed (CloudWatch alarm(s) ep-5xx entered ALARM at"),
        "{reason}"
    );
    assert!(reason.ends_with("and the rollback failed: 2 instance(s) of endpoint configuration cfg-v1 did not pass the ping health check. The endpoint is serving with instances of cfg-v1 and cfg-v2; call UpdateEndpoint to recover."), "{reason}");
    assert!(matches!(
        s.outcomes().as_slice(),
        [Outcome::RollbackFailed { .. }]
    ));
    // Still serving, with what is Ready of both configs, and nothing relaunched.
    s.advance(600);
    let d = s.step();
    assert!(!d.actions.iter().any(|a| matches!(a, Action::Launch { .. })));
    assert_eq!((s.active(0), s.active(green)), (2, 3));
    assert_eq!(s.outcomes().len(), 1);
    // The same: only UpdateEndpoint (not the weights API) is allowed from here.
    assert_eq!(
        begin_update(
            &s.rec,
            v2(4),
            DeploymentConfig::plain(),
            RetainOptions::default(),
            T0
        )
        .map(|_| ()),
        Ok(())
    );
}

#[test]
fn an_update_repairs_an_update_rollback_failed_endpoint() {
    let mut s = stalled_sim();
    let stuck = s.d().green.id;
    s.update(
        spec("cfg-v3", "model:v3", &[("AllTraffic", 2, 1.0)]),
        bg(TrafficRouting::Canary(Count(1)), 30, 0, &[]),
    );
    assert_eq!(s.rec.status, EndpointStatus::Updating);
    let green = s.d().green.id;
    assert!(green > stuck);
    assert_eq!(s.d().stale.len(), 1);
    s.finish();
    assert_eq!(s.rec.status, EndpointStatus::InService);
    assert_eq!(s.rec.fleet.id, green);
    assert_eq!(s.rec.fleet.spec.config_name, "cfg-v3");
    assert_eq!(s.rec.failure_reason, None);
    assert!(
        s.obs.iter().all(|o| o.key.fleet == green),
        "old and stuck fleets are gone"
    );
    assert_eq!(s.green_shares("AllTraffic", green), vec![0.0, 0.5, 1.0]);
}

#[test]
fn a_rolling_repair_also_works() {
    let mut s = stalled_sim();
    s.update(v2(4), rolling(Count(2), 30, None, &[]));
    let green = s.d().green.id;
    s.finish();
    assert_eq!(s.rec.status, EndpointStatus::InService);
    assert_eq!(s.rec.fleet.id, green);
    assert!(s.obs.iter().all(|o| o.key.fleet == green));
}

#[test]
fn a_failed_repair_keeps_the_endpoint_update_rollback_failed() {
    let mut s = stalled_sim();
    s.update(v2(4), bg(TrafficRouting::AllAtOnce, 30, 0, &[]));
    let green = s.d().green.id;
    s.step();
    s.advance(60); // the repair's instances never start
    s.finish();
    assert_eq!(s.rec.status, EndpointStatus::UpdateRollbackFailed);
    assert!(s.d().is_stalled());
    assert_eq!(s.live_count(green), 0);
    assert!(s
        .rec
        .failure_reason
        .as_deref()
        .unwrap()
        .starts_with("Update rolled back: the primary container"));
    // And it can still be repaired.
    s.update(v2(2), DeploymentConfig::plain());
    let last = s.d().green.id;
    s.finish();
    assert_eq!(
        (s.rec.status, s.rec.fleet.id),
        (EndpointStatus::InService, last)
    );
}

#[test]
fn rollback_batch_in_percent_is_sized_against_the_old_fleet() {
    let mut s = Sim::in_service(v1(4));
    s.update(
        v2(4),
        rolling(Count(1), 60, Some(CapacitySize::CapacityPercent(50)), &[]),
    );
    assert_eq!(s.d().plan.rollback_batch, Some(2));
    let green = s.d().green.id;
    s.drive(|s| batch_phase(s, 2, true));
    s.crash(green, 0);
    s.finish();
    // 3 new instances were active; they go back in rounds of 2: 3 → 1 → 0.
    let rounds = s
        .kinds()
        .iter()
        .filter(|k| **k == EventKind::ReturningTraffic)
        .count();
    assert_eq!(rounds, 2);
    assert_eq!(s.rec.fleet.id, 0);
    assert_eq!(s.ready_count(0), 4);
}
