//! Blue/green modes end to end: routed shares, bake and termination timings, teardown, final
//! record.

use super::*;
use CapacitySize::{CapacityPercent as Pct, InstanceCount as Count};

fn v1(n: u32) -> FleetSpec {
    spec("cfg-v1", "model:v1", &[("AllTraffic", n, 1.0)])
}

fn v2(n: u32) -> FleetSpec {
    spec("cfg-v2", "model:v2", &[("AllTraffic", n, 1.0)])
}

/// The endpoint ends on the new config with nothing left of the update.
fn assert_succeeded(s: &Sim, green: u32, config: &str) {
    assert_eq!(s.rec.status, EndpointStatus::InService);
    assert!(s.rec.deployment.is_none());
    assert_eq!(s.rec.fleet.id, green);
    assert_eq!(s.rec.fleet.spec.config_name, config);
    assert_eq!(s.rec.endpoint_config_name(), config);
    assert_eq!(s.rec.failure_reason, None);
    assert_eq!(s.outcomes(), vec![Outcome::Succeeded]);
    assert_eq!(
        s.rec.last_deployment.as_ref().map(|f| &f.outcome),
        Some(&Outcome::Succeeded)
    );
    assert!(
        s.obs.iter().all(|o| o.key.fleet == green),
        "only green runs"
    );
    let live = s.live.as_ref().expect("routed");
    assert!(live
        .variants
        .iter()
        .all(|v| v.groups.iter().all(|g| g.fleet == green)));
}

/// Seconds between two instants.
fn secs(a: Timestamp, b: Timestamp) -> i64 {
    (b.0 - a.0) / 1000
}

#[test]
fn no_deployment_config_switches_once_then_stops_blue_at_once() {
    let mut s = Sim::in_service(v1(2));
    s.update(v2(2), DeploymentConfig::plain());
    assert_eq!(s.rec.status, EndpointStatus::Updating);
    assert_eq!(s.rec.endpoint_config_name(), "cfg-v2");
    let green = s.d().green.id;
    assert_eq!(green, s.rec.fleet.id + 1);
    s.step();
    assert_eq!(
        s.live_count(green),
        2,
        "the whole green fleet is provisioned"
    );
    assert_eq!(s.phase(), Phase::Provisioning);
    s.finish();
    assert_eq!(s.green_shares("AllTraffic", green), vec![0.0, 1.0]);
    let switched = s.event_at(EventKind::ActivatingTraffic, 0);
    let torn = s.event_at(EventKind::TearingDown, 0);
    assert_eq!(switched, torn, "no bake, no termination wait");
    assert_eq!(s.stops.len(), 2);
    assert!(s.stops.iter().all(|(t, k)| *t == torn && k.fleet == 0));
    assert_succeeded(&s, green, "cfg-v2");
}

#[test]
fn no_deployment_config_may_change_variant_names_and_weights() {
    let mut s = Sim::in_service(spec("cfg-v1", "model:v1", &[("A", 1, 1.0), ("B", 1, 1.0)]));
    s.update(
        spec("cfg-v2", "model:v2", &[("C", 2, 3.0)]),
        DeploymentConfig::plain(),
    );
    let green = s.d().green.id;
    s.finish();
    let live = s.live.clone().unwrap();
    assert_eq!(live.variants.len(), 1);
    assert_eq!(
        (live.variants[0].name.as_str(), live.variants[0].weight),
        ("C", 3.0)
    );
    assert_succeeded(&s, green, "cfg-v2");
}

#[test]
fn all_at_once_bakes_w_then_waits_t_before_teardown() {
    let mut s = Sim::in_service(v1(3));
    s.update(v2(3), bg(TrafficRouting::AllAtOnce, 300, 120, &[]));
    let green = s.d().green.id;
    s.finish();
    assert_eq!(s.green_shares("AllTraffic", green), vec![0.0, 1.0]);
    let bake = s.event_at(EventKind::Baking, 0);
    let tw = s.event_at(EventKind::TerminationWait, 0);
    let td = s.event_at(EventKind::TearingDown, 0);
    assert_eq!((secs(bake, tw), secs(tw, td)), (300, 120));
    assert!(s.stops.iter().all(|(t, _)| *t == td), "blue stops after T");
    assert_succeeded(&s, green, "cfg-v2");
}

#[test]
fn canary_count_follows_the_section_4_3_table() {
    let mut s = Sim::in_service(v1(4));
    let start = s.now;
    s.update(
        v2(4),
        bg(TrafficRouting::Canary(Count(1)), 600, 600, &["ep-5xx"]),
    );
    let green = s.d().green.id;
    // During the canary bake: 1 green instance and 3 blue instances take traffic.
    s.drive(|s| matches!(s.phase(), Phase::Baking { step: 0, .. }));
    assert_eq!((s.active(green), s.active(0)), (1, 3));
    assert_eq!(
        s.live_count(0),
        4,
        "the deactivated blue instance keeps running"
    );
    assert_eq!(s.live_count(green), 4);
    // After the full shift: all 4 blue instances still run, none takes traffic.
    s.drive(|s| matches!(s.phase(), Phase::Baking { step: 1, .. }));
    assert_eq!((s.active(green), s.active(0), s.live_count(0)), (4, 0, 4));
    s.finish();
    assert_eq!(s.green_shares("AllTraffic", green), vec![0.0, 0.25, 1.0]);
    let bake0 = s.event_at(EventKind::Baking, 0);
    let act1 = s.event_at(EventKind::ActivatingTraffic, 1);
    let bake1 = s.event_at(EventKind::Baking, 1);
    let tw = s.event_at(EventKind::TerminationWait, 0);
    let td = s.event_at(EventKind::TearingDown, 0);
    assert_eq!(secs(bake0, act1), 600, "canary bake");
    assert_eq!(secs(bake1, tw), 600, "final bake");
    assert_eq!(secs(tw, td), 600, "termination wait");
    assert!(secs(start, td) >= 1800);
    assert_eq!(s.stops.len(), 4);
    assert_succeeded(&s, green, "cfg-v2");
    assert_eq!(
        s.kinds(),
        vec![
            EventKind::Started,
            EventKind::ActivatingTraffic,
            EventKind::Baking,
            EventKind::ActivatingTraffic,
            EventKind::Baking,
            EventKind::TerminationWait,
            EventKind::TearingDown,
            EventKind::Finished,
        ]
    );
}

#[test]
fn canary_percent_is_sized_by_the_rounding_rule() {
    let mut s = Sim::in_service(v1(3));
    s.update(v2(3), bg(TrafficRouting::Canary(Pct(33)), 60, 0, &[]));
    let green = s.d().green.id;
    s.finish();
    assert_eq!(
        s.green_shares("AllTraffic", green),
        vec![0.0, 0.333333, 1.0]
    );
    assert_succeeded(&s, green, "cfg-v2");
}

#[test]
fn linear_thirty_percent_of_ten_has_an_uneven_last_step() {
    let mut s = Sim::in_service(v1(10));
    s.update(v2(10), bg(TrafficRouting::Linear(Pct(30)), 60, 30, &[]));
    let green = s.d().green.id;
    s.drive(|s| matches!(s.phase(), Phase::Baking { step: 1, .. }));
    assert_eq!((s.active(green), s.active(0)), (6, 4));
    s.finish();
    assert_eq!(
        s.green_shares("AllTraffic", green),
        vec![0.0, 0.3, 0.6, 0.9, 1.0]
    );
    let bakes: Vec<Timestamp> = (0..4).map(|i| s.event_at(EventKind::Baking, i)).collect();
    assert!(
        bakes.windows(2).all(|w| secs(w[0], w[1]) == 60),
        "W after every step"
    );
    let td = s.event_at(EventKind::TearingDown, 0);
    assert_eq!(secs(bakes[3], td), 90, "final bake W then T");
    assert_succeeded(&s, green, "cfg-v2");
}

#[test]
fn linear_twenty_percent_of_five_is_five_steps() {
    let mut s = Sim::in_service(v1(5));
    s.update(v2(5), bg(TrafficRouting::Linear(Pct(20)), 10, 0, &[]));
    let green = s.d().green.id;
    s.finish();
    assert_eq!(
        s.green_shares("AllTraffic", green),
        vec![0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    );
    assert_succeeded(&s, green, "cfg-v2");
}

#[test]
fn variants_move_in_lockstep_with_old_weights_until_the_final_step() {
    let old = spec("cfg-v1", "model:v1", &[("A", 4, 1.0), ("B", 8, 3.0)]);
    let new = spec("cfg-v2", "model:v2", &[("A", 4, 2.0), ("B", 8, 2.0)]);
    let mut s = Sim::in_service(old);
    s.update(new, bg(TrafficRouting::Linear(Count(2)), 30, 0, &[]));
    let green = s.d().green.id;
    s.finish();
    assert_eq!(s.green_shares("A", green), vec![0.0, 0.5, 1.0]);
    assert_eq!(s.green_shares("B", green), vec![0.0, 0.25, 0.5, 0.75, 1.0]);
    for (_, p) in &s.routes {
        let w: Vec<f64> = p.variants.iter().map(|v| v.weight).collect();
        let full = p
            .variants
            .iter()
            .all(|v| v.groups.iter().all(|g| g.fleet == green));
        assert_eq!(w, if full { vec![2.0, 2.0] } else { vec![1.0, 3.0] });
    }
    assert_succeeded(&s, green, "cfg-v2");
}

#[test]
fn a_step_counts_only_once_the_router_serves_it() {
    let mut s = Sim::in_service(v1(2));
    s.update(v2(2), bg(TrafficRouting::Canary(Count(1)), 60, 0, &[]));
    s.publish = false;
    s.drive(|s| s.phase() == Phase::Shifting { step: 0 });
    for _ in 0..5 {
        s.advance(30);
        let d = s.step();
        assert_eq!(s.phase(), Phase::Shifting { step: 0 }, "not live, no bake");
        assert!(
            d.wake_at.is_some_and(|t| t <= s.now.plus_millis(10)),
            "looks again soon"
        );
    }
    s.publish = true;
    s.step(); // the router takes the table
    assert_eq!(s.phase(), Phase::Shifting { step: 0 });
    let verified = s.now;
    s.step();
    assert_eq!(
        s.phase(),
        Phase::Baking {
            step: 0,
            until: verified.plus_secs(60)
        },
        "the bake timer starts at verification"
    );
}

#[test]
fn a_blue_instance_that_dies_during_the_update_is_replaced() {
    let mut s = Sim::in_service(v1(2));
    s.update(v2(2), bg(TrafficRouting::Canary(Count(1)), 60, 0, &[]));
    let green = s.d().green.id;
    s.drive(|s| matches!(s.phase(), Phase::Baking { step: 0, .. }));
    s.crash(0, 0);
    s.step();
    assert!(
        matches!(s.phase(), Phase::Baking { step: 0, .. }),
        "the update goes on"
    );
    assert_eq!(s.live_count(0), 2, "the slot was refilled");
    s.finish();
    assert_succeeded(&s, green, "cfg-v2");
}

#[test]
fn a_restart_resumes_from_the_persisted_step() {
    let mut s = Sim::in_service(v1(4));
    s.update(v2(4), bg(TrafficRouting::Canary(Count(1)), 600, 0, &[]));
    let green = s.d().green.id;
    s.drive(|s| matches!(s.phase(), Phase::Baking { step: 0, .. }));
    // The controller restarts: the router table is rebuilt from nothing, time has moved on
    // past the bake's end.
    s.live = None;
    s.advance(900);
    s.step();
    assert_eq!(
        s.phase(),
        Phase::Shifting { step: 1 },
        "an expired bake ends at once"
    );
    s.finish();
    assert_eq!(s.green_shares("AllTraffic", green), vec![0.0, 0.25, 1.0]);
    assert_succeeded(&s, green, "cfg-v2");
}

#[test]
fn retained_properties_size_the_new_fleet() {
    let mut s = Sim::in_service(v1(2));
    // UpdateEndpointWeightsAndCapacities set the desired count to 4 earlier.
    s.rec.fleet.variants[0].desired_count = 4;
    s.drive(|s| s.ready_count(0) == 4);
    let retain = RetainOptions {
        retain_all_variant_properties: true,
        exclude: vec![VariantProperty::DesiredWeight],
    };
    let rec = begin_update(
        &s.rec,
        spec("cfg-v2", "model:v2", &[("AllTraffic", 1, 5.0)]),
        bg(TrafficRouting::Canary(Count(2)), 10, 0, &[]),
        retain,
        s.now,
    )
    .expect("canary of 2 fits the retained 4 instances");
    let d = rec.deployment.as_deref().unwrap();
    assert_eq!(d.green.variants[0].desired_count, 4, "count retained");
    assert_eq!(
        d.green.variants[0].desired_weight, 5.0,
        "weight from the config"
    );
    assert_eq!(d.plan.steps[0].variants[0].share, 0.5);
}
