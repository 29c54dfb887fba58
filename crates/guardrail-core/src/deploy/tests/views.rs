//! DescribeEndpoint during and outside deployments (docs/deployments.md#describeendpoint-during-an-update).

use super::*;
use crate::lifecycle::CapacityChange;
use crate::status::VariantStatusKind;
use CapacitySize::{CapacityPercent as Pct, InstanceCount as Count};

fn v1(n: u32) -> FleetSpec {
    spec("cfg-v1", "model:v1", &[("AllTraffic", n, 1.0)])
}

fn v2(n: u32) -> FleetSpec {
    spec("cfg-v2", "model:v2", &[("AllTraffic", n, 1.0)])
}

fn view(s: &Sim) -> EndpointView {
    describe(&s.rec, &s.obs, s.now)
}

fn pending_status(s: &Sim) -> Option<(VariantStatusKind, String)> {
    view(s).pending?.variants[0]
        .status
        .clone()
        .map(|st| (st.status, st.message))
}

fn top_status(s: &Sim) -> Option<(VariantStatusKind, String)> {
    view(s).variants[0]
        .status
        .clone()
        .map(|st| (st.status, st.message))
}

#[test]
fn canary_bake_snapshot_matches_section_9() {
    let mut s = Sim::in_service(v1(4));
    let start = s.now;
    s.update(
        v2(4),
        bg(TrafficRouting::Canary(Count(1)), 600, 600, &["ep-5xx"]),
    );
    s.drive(|s| matches!(s.phase(), Phase::Baking { step: 0, .. }));
    let verified = s.d().phase_since;
    let v = view(&s);
    assert_eq!(v.status, EndpointStatus::Updating);
    assert_eq!(v.endpoint_config_name, "cfg-v2");
    let top = &v.variants[0];
    assert_eq!(
        (top.name.as_str(), top.current_weight, top.desired_weight),
        ("AllTraffic", 0.75, 1.0)
    );
    assert_eq!(
        (top.current_instance_count, top.desired_instance_count),
        (4, 4)
    );
    assert_eq!(top.deployed_images[0].specified_image, "model:v1");
    assert_eq!(top.status, None);
    let pending = v.pending.expect("PendingDeploymentSummary");
    assert_eq!(pending.endpoint_config_name, "cfg-v2");
    assert_eq!(pending.start_time, start);
    let p = &pending.variants[0];
    assert_eq!((p.current_weight, p.desired_weight), (0.25, 1.0));
    assert_eq!((p.current_instance_count, p.desired_instance_count), (4, 4));
    assert_eq!(p.instance_type.as_deref(), Some("ml.m5.xlarge"));
    assert_eq!(p.deployed_images[0].specified_image, "model:v2");
    assert_eq!(p.deployed_images[0].resolution_time, start);
    assert_eq!(
        p.status,
        Some(VariantStatusView {
            status: VariantStatusKind::Baking,
            message: "Baking for 600 seconds (WaitIntervalInSeconds) with traffic enabled on canary capacity of 1 instance(s).".into(),
            start_time: verified,
        })
    );
}

#[test]
fn variant_status_follows_every_canary_phase() {
    let mut s = Sim::in_service(v1(4));
    s.update(v2(4), bg(TrafficRouting::Canary(Count(1)), 600, 600, &[]));
    s.step();
    assert_eq!(
        pending_status(&s),
        Some((
            VariantStatusKind::Creating,
            "Launching 4 instance(s).".into()
        ))
    );
    assert_eq!(view(&s).pending.unwrap().variants[0].current_weight, 0.0);
    s.publish = false;
    s.ready_all();
    s.step();
    assert_eq!(
        pending_status(&s),
        Some((
            VariantStatusKind::ActivatingTraffic,
            "Activating traffic on canary capacity of 1 instance(s).".into()
        ))
    );
    s.publish = true;
    s.drive(|s| s.phase() == Phase::Shifting { step: 1 });
    assert_eq!(
        pending_status(&s),
        Some((
            VariantStatusKind::ActivatingTraffic,
            "Activating traffic on full capacity of 4 instance(s).".into()
        ))
    );
    s.drive(|s| matches!(s.phase(), Phase::Baking { step: 1, .. }));
    assert_eq!(
        pending_status(&s).unwrap().1,
        "Baking for 600 seconds (WaitIntervalInSeconds) with traffic enabled on full capacity of 4 instance(s)."
    );
    let v = view(&s);
    assert_eq!(
        (
            v.variants[0].current_weight,
            v.pending.unwrap().variants[0].current_weight
        ),
        (0.0, 1.0)
    );
    s.drive(|s| matches!(s.phase(), Phase::TerminationWait { .. }));
    assert_eq!(
        pending_status(&s).unwrap().1,
        "Baking for 600 seconds (TerminationWaitInSeconds) with traffic enabled on full capacity of 4 instance(s)."
    );
    let Phase::TerminationWait { until } = s.phase() else {
        unreachable!()
    };
    s.advance_to(until);
    s.step();
    assert_eq!(s.phase(), Phase::TearingDown);
    assert_eq!(
        top_status(&s),
        Some((
            VariantStatusKind::Deleting,
            "Terminating 4 instance(s).".into()
        ))
    );
    s.finish();
    let v = view(&s);
    assert_eq!(v.pending, None);
    assert_eq!(v.endpoint_config_name, "cfg-v2");
    assert_eq!(v.variants[0].status, None);
    assert_eq!(v.variants[0].deployed_images[0].specified_image, "model:v2");
}

#[test]
fn linear_and_rolling_messages_name_step_and_batch() {
    let mut s = Sim::in_service(v1(10));
    s.update(v2(10), bg(TrafficRouting::Linear(Pct(30)), 60, 0, &[]));
    s.publish = false;
    s.drive(|s| s.phase() == Phase::Shifting { step: 0 });
    assert_eq!(
        pending_status(&s).unwrap().1,
        "Activating traffic on 3 instance(s) (step 1 of 4)."
    );
    s.publish = true;
    s.drive(|s| matches!(s.phase(), Phase::Baking { step: 1, .. }));
    assert_eq!(
        pending_status(&s).unwrap().1,
        "Baking for 60 seconds (WaitIntervalInSeconds) with traffic enabled on 6 instance(s) (step 2 of 4)."
    );

    let mut s = Sim::in_service(v1(4));
    s.update(v2(4), rolling(Count(1), 180, None, &[]));
    s.step();
    assert_eq!(
        pending_status(&s),
        Some((
            VariantStatusKind::Updating,
            "Launching 1 instance(s).".into()
        ))
    );
    s.drive(|s| {
        matches!(
            s.phase(),
            Phase::Rolling {
                batch: 1,
                stage: BatchStage::Baking { .. }
            }
        )
    });
    s.publish = false;
    s.drive(|s| {
        matches!(
            s.phase(),
            Phase::Rolling {
                batch: 2,
                stage: BatchStage::Launching
            }
        )
    });
    s.drive(|s| {
        matches!(
            s.phase(),
            Phase::Rolling {
                batch: 2,
                stage: BatchStage::Activating
            }
        )
    });
    assert_eq!(
        pending_status(&s).unwrap().1,
        "Activating traffic on 1 instance(s) (batch 3 of 4)."
    );
}

#[test]
fn rollback_shows_traffic_returning_then_the_old_config() {
    let mut s = Sim::in_service(v1(2));
    s.update(v2(2), bg(TrafficRouting::AllAtOnce, 60, 0, &["a"]));
    s.alarms = vec![alarm("a", AlarmState::Ok, None)];
    s.drive(|s| matches!(s.phase(), Phase::Baking { .. }));
    s.alarms = vec![alarm("a", AlarmState::Alarm, Some(s.now))];
    s.publish = false;
    s.step();
    let v = view(&s);
    assert_eq!(v.status, EndpointStatus::Updating);
    assert!(
        v.failure_reason.is_some(),
        "set once the failure is detected"
    );
    assert_eq!(
        top_status(&s),
        Some((
            VariantStatusKind::ActivatingTraffic,
            "Activating traffic on full capacity of 2 instance(s).".into()
        ))
    );
    s.publish = true;
    s.finish();
    let v = view(&s);
    assert_eq!(
        (v.status, v.endpoint_config_name.as_str()),
        (EndpointStatus::InService, "cfg-v1")
    );
    assert!(v.failure_reason.is_some());
    assert_eq!(v.pending, None);
}

#[test]
fn update_rollback_failed_counts_both_configs() {
    let mut s = Sim::in_service(v1(2));
    s.update(v2(2), rolling(Count(1), 60, None, &[]));
    s.drive(|s| {
        matches!(
            s.phase(),
            Phase::Rolling {
                batch: 1,
                stage: BatchStage::Launching
            }
        )
    });
    let green = s.d().green.id;
    s.crash(green, 0);
    s.step();
    for _ in 0..2 {
        for o in &mut s.obs {
            if o.key.fleet == 0 && o.health == InstanceHealth::Launching {
                o.health = InstanceHealth::Failed {
                    reason: "exited".into(),
                    was_ready: false,
                    started: true,
                };
            }
        }
        s.step();
        s.stopped();
    }
    // Green slot 0 crashed (replaced? no: a failing update does not refill green).
    assert_eq!(s.rec.status, EndpointStatus::UpdateRollbackFailed);
    let v = view(&s);
    assert_eq!(v.endpoint_config_name, "cfg-v2");
    assert_eq!(v.pending, None);
    let images: Vec<&str> = v.variants[0]
        .deployed_images
        .iter()
        .map(|i| i.specified_image.as_str())
        .collect();
    assert_eq!(images, vec!["model:v1", "model:v2"]);
    assert_eq!(
        v.variants[0].current_instance_count, 1,
        "1 old Ready, the new one crashed"
    );
}

/// Outside deployments the view is what `variant_summary` in the HTTP layer computes.
#[test]
fn single_fleet_views_match_the_lifecycle() {
    let mut s = Sim::in_service(v1(2));
    let fresh = EndpointRecord::new("Ep", v1(2), T0);
    let v = describe(&fresh, &[], T0);
    assert_eq!(v.status, EndpointStatus::Creating);
    assert_eq!(
        v.variants[0].status,
        Some(VariantStatusView {
            status: VariantStatusKind::Creating,
            message: "Launching 2 instance(s).".into(),
            start_time: T0,
        })
    );
    assert_eq!(
        (
            v.variants[0].current_weight,
            v.variants[0].current_instance_count
        ),
        (0.0, 0)
    );
    assert_eq!(v.variants[0].deployed_images[0].resolution_time, T0);

    let v = view(&s);
    assert_eq!(v.variants[0].status, None);
    assert_eq!(
        (
            v.variants[0].current_weight,
            v.variants[0].current_instance_count
        ),
        (1.0, 2)
    );
    assert_eq!(v.endpoint_config_name, "cfg-v1");

    // Scale out to 3.
    s.rec.capacity_change = Some(CapacityChange {
        previous: s.rec.fleet.variants.clone(),
        started: s.now,
    });
    s.rec.fleet.variants[0].desired_count = 3;
    s.rec.status = EndpointStatus::Updating;
    s.rec.last_modified_time = s.now;
    s.step();
    assert_eq!(
        top_status(&s),
        Some((
            VariantStatusKind::Updating,
            "Scaling out desired instance count to 3.".into()
        ))
    );
    s.ready_all();
    s.step();
    assert_eq!(top_status(&s), None);
    // Scale in to 1: the surplus is Stopping (not live), so the count converges at once.
    s.rec.fleet.variants[0].desired_count = 1;
    s.rec.status = EndpointStatus::Updating;
    let v = view(&s);
    assert_eq!(
        v.variants[0].status.as_ref().map(|st| st.message.as_str()),
        Some("Terminating 2 instance(s).")
    );
}
