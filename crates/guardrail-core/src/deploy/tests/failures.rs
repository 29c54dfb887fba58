//! Blue/green failure paths: green health, alarms (in ALARM, blips, pre-existing, deleted),
//! timeout, cancellation.

use super::*;
use crate::lifecycle::StatusRefusal;
use CapacitySize::InstanceCount as Count;

fn v1(n: u32) -> FleetSpec {
    spec("cfg-v1", "model:v1", &[("AllTraffic", n, 1.0)])
}

fn v2(n: u32) -> FleetSpec {
    spec("cfg-v2", "model:v2", &[("AllTraffic", n, 1.0)])
}

fn canary(alarms: &[&str]) -> DeploymentConfig {
    bg(TrafficRouting::Canary(Count(1)), 600, 600, alarms)
}

/// The endpoint is back on the old config, InService, with the failure kept.
fn assert_rolled_back(s: &Sim, reason_prefix: &str) {
    assert_eq!(s.rec.status, EndpointStatus::InService);
    assert!(s.rec.deployment.is_none());
    assert_eq!(s.rec.fleet.id, 0);
    assert_eq!(s.rec.endpoint_config_name(), "cfg-v1");
    let reason = s.rec.failure_reason.clone().expect("FailureReason set");
    assert!(reason.starts_with(reason_prefix), "{reason}");
    let outcomes = s.outcomes();
    assert_eq!(outcomes.len(), 1);
    assert!(
        matches!(outcomes[0], Outcome::RolledBack { .. }),
        "{outcomes:?}"
    );
    assert!(s.obs.iter().all(|o| o.key.fleet == 0), "green is gone");
    assert!(
        s.stops.iter().all(|(_, k)| k.fleet != 0),
        "blue was never stopped"
    );
    let live = s.live.as_ref().unwrap();
    assert!(live
        .variants
        .iter()
        .all(|v| v.groups.iter().all(|g| g.fleet == 0)));
}

/// Traffic is back on blue in the very pass that noticed the failure.
fn assert_traffic_on_blue(s: &Sim) {
    let live = s.live.as_ref().unwrap();
    for v in &live.variants {
        assert!(v.groups.iter().all(|g| g.fleet == 0), "{live:?}");
    }
}

#[test]
fn green_that_never_becomes_ready_fails_the_update() {
    let mut s = Sim::in_service(v1(2));
    s.update(v2(2), canary(&[]));
    s.step();
    s.advance(59);
    s.step();
    assert_eq!(s.phase(), Phase::Provisioning);
    s.advance(1);
    s.step();
    assert!(matches!(s.phase(), Phase::RollingBack { .. }));
    assert_eq!(
        s.rec.status,
        EndpointStatus::Updating,
        "Updating during rollback"
    );
    assert_eq!(s.rec.endpoint_config_name(), "cfg-v2");
    s.finish();
    assert_rolled_back(
        &s,
        "Update rolled back: the primary container for production variant AllTraffic (endpoint configuration cfg-v2) did not pass the ping health check. Please check the instance logs for this endpoint. (instance f1/AllTraffic/s0/i",
    );
}

#[test]
fn green_crash_during_a_bake_rolls_back_in_one_swap() {
    let mut s = Sim::in_service(v1(4));
    s.update(v2(4), canary(&[]));
    let green = s.d().green.id;
    s.drive(|s| matches!(s.phase(), Phase::Baking { step: 1, .. }));
    s.crash(green, 2);
    s.step();
    assert_traffic_on_blue(&s);
    s.finish();
    assert_eq!(
        s.green_shares("AllTraffic", green),
        vec![0.0, 0.25, 1.0, 0.0]
    );
    assert_rolled_back(&s, "Update rolled back: the primary container for production variant AllTraffic (endpoint configuration cfg-v2) did not pass the ping health check.");
    assert!(s
        .rec
        .failure_reason
        .as_deref()
        .unwrap()
        .contains("exited with status 137"));
}

#[test]
fn alarm_during_the_canary_bake_rolls_back_and_names_alarm_and_time() {
    let mut s = Sim::in_service(v1(4));
    s.update(v2(4), canary(&["ep-5xx", "ep-latency"]));
    s.alarms = vec![
        alarm("ep-5xx", AlarmState::Ok, None),
        alarm("ep-latency", AlarmState::InsufficientData, None),
    ];
    s.drive(|s| matches!(s.phase(), Phase::Baking { step: 0, .. }));
    s.advance(100);
    s.step();
    assert!(
        matches!(s.phase(), Phase::Baking { step: 0, .. }),
        "OK / INSUFFICIENT_DATA never trip"
    );
    let at = s.now;
    s.alarms[0] = alarm("ep-5xx", AlarmState::Alarm, Some(at));
    s.step();
    assert_traffic_on_blue(&s);
    let expected = format!(
        "Update rolled back: CloudWatch alarm(s) ep-5xx entered ALARM at {} during Baking (canary, 1 of 4 instance(s)): Threshold Crossed: 1 out of the last 1 datapoints",
        at.rfc3339()
    );
    let rb = s
        .events
        .iter()
        .find(|e| e.kind == EventKind::RollbackStarted)
        .unwrap();
    assert_eq!(rb.alarms.len(), 1, "the evidence is recorded");
    assert_eq!(
        rb.alarms[0].reason_data.as_deref(),
        Some("{\"version\":\"1.0\"}")
    );
    s.finish();
    assert_rolled_back(&s, &expected);
    match &s.outcomes()[0] {
        Outcome::RolledBack {
            cause: Cause::Alarm { names, at: t, .. },
        } => assert_eq!((names.clone(), *t), (vec!["ep-5xx".to_string()], at)),
        o => panic!("{o:?}"),
    }
}

#[test]
fn a_blip_inside_the_window_trips_though_the_alarm_is_ok_again() {
    let mut s = Sim::in_service(v1(2));
    s.update(v2(2), canary(&["ep-5xx"]));
    s.alarms = vec![alarm("ep-5xx", AlarmState::Ok, None)];
    s.drive(|s| matches!(s.phase(), Phase::Baking { step: 1, .. }));
    s.advance(30);
    // SetAlarmState(ALARM) 5 s ago, re-evaluated to OK before the engine looked.
    let blip = s.now.plus_secs(-5);
    s.alarms = vec![alarm("ep-5xx", AlarmState::Ok, Some(blip))];
    s.step();
    assert_traffic_on_blue(&s);
    s.finish();
    assert_rolled_back(
        &s,
        &format!(
            "Update rolled back: CloudWatch alarm(s) ep-5xx entered ALARM at {} during Baking (full, 2 of 2 instance(s))",
            blip.rfc3339()
        ),
    );
}

#[test]
fn a_blip_before_the_window_opened_does_not_trip() {
    let mut s = Sim::in_service(v1(2));
    let before = s.now.plus_secs(-10);
    s.alarms = vec![alarm("ep-5xx", AlarmState::Ok, Some(before))];
    s.update(v2(2), canary(&["ep-5xx"]));
    let green = s.d().green.id;
    s.finish();
    assert_eq!(s.rec.fleet.id, green);
    assert_eq!(s.outcomes(), vec![Outcome::Succeeded]);
}

#[test]
fn an_alarm_already_in_alarm_when_the_window_opens_trips_at_once() {
    let mut s = Sim::in_service(v1(2));
    let since = s.now.plus_secs(-60);
    s.alarms = vec![alarm("ep-5xx", AlarmState::Alarm, Some(since))];
    s.update(v2(2), canary(&["ep-5xx"]));
    let green = s.d().green.id;
    s.step();
    assert_eq!(
        s.phase(),
        Phase::Provisioning,
        "not watched while provisioning"
    );
    s.ready_fleet(green);
    s.step();
    assert!(
        matches!(s.phase(), Phase::RollingBack { .. }),
        "{:?}",
        s.phase()
    );
    assert_eq!(
        s.green_shares("AllTraffic", green),
        vec![0.0],
        "green never took traffic"
    );
    s.finish();
    assert_rolled_back(
        &s,
        &format!(
            "Update rolled back: CloudWatch alarm(s) ep-5xx entered ALARM at {} during ActivatingTraffic (canary, 1 of 2 instance(s))",
            since.rfc3339()
        ),
    );
}

#[test]
fn a_deleted_alarm_fails_closed() {
    let mut s = Sim::in_service(v1(2));
    s.update(v2(2), canary(&["ep-5xx"]));
    s.alarms = vec![alarm("ep-5xx", AlarmState::Ok, None)];
    s.drive(|s| matches!(s.phase(), Phase::TerminationWait { .. }));
    s.advance(10);
    s.alarms[0].exists = false;
    s.step();
    assert_traffic_on_blue(&s);
    s.finish();
    assert_rolled_back(
        &s,
        &format!(
            "Update rolled back: CloudWatch alarm(s) ep-5xx were deleted during Baking (termination wait, 2 of 2 instance(s)) (noticed at {}).",
            s.event_at(EventKind::RollbackStarted, 0).rfc3339()
        ),
    );
}

#[test]
fn an_alarm_without_a_view_is_not_evidence() {
    // The shell passes no alarm views until the alarm service exists.
    let mut s = Sim::in_service(v1(2));
    s.update(v2(2), canary(&["ep-5xx"]));
    let green = s.d().green.id;
    s.finish();
    assert_eq!(s.rec.fleet.id, green);
}

#[test]
fn an_alarm_after_the_last_window_does_not_roll_back() {
    let mut s = Sim::in_service(v1(2));
    s.update(v2(2), canary(&["ep-5xx"]));
    s.alarms = vec![alarm("ep-5xx", AlarmState::Ok, None)];
    s.drive(|s| matches!(s.phase(), Phase::TerminationWait { .. }));
    let Phase::TerminationWait { until } = s.phase() else {
        unreachable!()
    };
    // The engine looks late: the alarm fired after T had ended.
    s.advance_to(until.plus_secs(5));
    s.alarms = vec![alarm("ep-5xx", AlarmState::Alarm, Some(until.plus_secs(2)))];
    s.step();
    assert_eq!(s.phase(), Phase::TearingDown);
    s.finish();
    assert_eq!(s.outcomes(), vec![Outcome::Succeeded]);
}

#[test]
fn timeout_rolls_back_and_names_the_deadline() {
    let mut s = Sim::in_service(v1(2));
    let mut cfg = canary(&[]);
    if let UpdatePolicy::BlueGreen(p) = &mut cfg.policy {
        p.termination_wait_s = 0;
        p.max_timeout_s = Some(1201);
    }
    let start = s.now;
    s.update(v2(2), cfg);
    let green = s.d().green.id;
    s.step();
    s.advance(50); // green is slow to start
    s.ready_fleet(green);
    s.drive(|s| {
        s.rec
            .deployment
            .as_ref()
            .is_none_or(|d| d.failure.is_some())
    });
    assert_eq!(
        s.now,
        start.plus_secs(1201),
        "expires during the final bake"
    );
    assert_traffic_on_blue(&s);
    s.finish();
    assert_rolled_back(
        &s,
        &format!(
            "Update rolled back: MaximumExecutionTimeoutInSeconds (1201) expired at {}.",
            start.plus_secs(1201).rfc3339()
        ),
    );
}

#[test]
fn a_window_that_ends_exactly_at_the_deadline_succeeds() {
    let mut s = Sim::in_service(v1(2));
    let mut cfg = canary(&[]);
    if let UpdatePolicy::BlueGreen(p) = &mut cfg.policy {
        p.max_timeout_s = Some(1800);
        p.termination_wait_s = 599;
    }
    let start = s.now;
    s.update(v2(2), cfg);
    let green = s.d().green.id;
    s.step();
    s.advance(1);
    s.ready_fleet(green);
    s.finish();
    assert_eq!(s.event_at(EventKind::TearingDown, 0), start.plus_secs(1800));
    assert_eq!(
        s.rec.fleet.id, green,
        "T ended at the deadline, not after it"
    );
}

#[test]
fn delete_endpoint_cancels_the_update_and_stops_both_fleets() {
    let mut s = Sim::in_service(v1(2));
    s.update(v2(2), canary(&[]));
    let green = s.d().green.id;
    s.drive(|s| matches!(s.phase(), Phase::Baking { step: 0, .. }));
    // DeleteEndpoint, as the API applies it.
    s.rec.status = EndpointStatus::Deleting;
    let d = s.step();
    assert!(matches!(d.actions.first(), Some(Action::Record(_))));
    assert!(d.actions.contains(&Action::Unroute));
    assert_eq!(s.live_count(0) + s.live_count(green), 0);
    assert_eq!(s.outcomes(), vec![Outcome::Cancelled]);
    s.step();
    assert_eq!(s.outcomes().len(), 1, "one outcome");
    assert!(!s.forgotten);
    s.stopped();
    s.step();
    assert!(s.forgotten);
}

#[test]
fn another_update_is_refused_while_one_runs() {
    let mut s = Sim::in_service(v1(2));
    s.update(v2(2), canary(&[]));
    let err = begin_update(
        &s.rec,
        v2(2),
        DeploymentConfig::plain(),
        RetainOptions::default(),
        s.now,
    )
    .unwrap_err();
    assert_eq!(err, BeginError::Status(StatusRefusal::InProgress));
}

#[test]
fn the_next_update_clears_the_failure_reason() {
    let mut s = Sim::in_service(v1(2));
    s.update(v2(2), canary(&[]));
    s.step();
    s.advance(60);
    s.finish();
    assert!(s.rec.failure_reason.is_some());
    s.update(v2(2), DeploymentConfig::plain());
    assert_eq!(s.rec.failure_reason, None);
    assert_eq!(s.rec.last_modified_time, s.now);
    s.finish();
    assert_eq!(s.rec.fleet.spec.config_name, "cfg-v2");
}

#[test]
fn multi_variant_rollback_returns_every_variant_in_one_swap() {
    let old = spec("cfg-v1", "model:v1", &[("A", 2, 1.0), ("B", 4, 1.0)]);
    let new = spec("cfg-v2", "model:v2", &[("A", 2, 1.0), ("B", 4, 1.0)]);
    let mut s = Sim::in_service(old);
    s.update(new, bg(TrafficRouting::Linear(Count(1)), 60, 0, &["a"]));
    let green = s.d().green.id;
    s.alarms = vec![alarm("a", AlarmState::Ok, None)];
    s.drive(|s| matches!(s.phase(), Phase::Baking { step: 1, .. }));
    assert_eq!(
        watched_alarms(&s.rec),
        Some((
            vec!["a".to_string()],
            s.event_at(EventKind::ActivatingTraffic, 0)
        ))
    );
    s.alarms = vec![alarm("a", AlarmState::Alarm, Some(s.now))];
    s.step();
    assert_traffic_on_blue(&s);
    assert_eq!(watched_alarms(&s.rec), None, "not watched during rollback");
    s.finish();
    assert_eq!(s.green_shares("A", green), vec![0.0, 0.5, 1.0, 0.0]);
    assert_eq!(s.green_shares("B", green), vec![0.0, 0.25, 0.5, 0.0]);
    assert_rolled_back(
        &s,
        "Update rolled back: CloudWatch alarm(s) a entered ALARM at",
    );
    let rb = s
        .events
        .iter()
        .find(|e| e.kind == EventKind::RollbackStarted)
        .unwrap();
    assert_eq!(rb.step, None);
    assert!(rb.reason.is_some());
    let green_b = rb
        .fleets
        .iter()
        .find(|f| f.fleet == green && f.variant == "B")
        .unwrap();
    assert_eq!(
        (green_b.ready, green_b.desired, green_b.role),
        (4, 4, FleetRole::New)
    );
    assert_eq!(
        s.events[0].at,
        s.rec.last_deployment.as_ref().unwrap().start_time
    );
}
