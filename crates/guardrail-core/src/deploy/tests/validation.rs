//! Acceptance: the semantic rules and messages of docs/sagemaker-api.md#updateendpoint-rules, the wire helpers, the
//! Retain rules of docs/deployments.md#retain-flags, and what `begin_update` stores.

use super::*;
use CapacitySize::{CapacityPercent as Pct, InstanceCount as Count};

fn v1(n: u32) -> FleetSpec {
    spec("cfg-v1", "model:v1", &[("AllTraffic", n, 1.0)])
}

fn v2(n: u32) -> FleetSpec {
    spec("cfg-v2", "model:v2", &[("AllTraffic", n, 1.0)])
}

#[test]
fn semantic_rules_answer_with_the_catalogue_messages() {
    let old = FleetSizes::of_spec(&v1(4));
    let new = FleetSizes::of_spec(&v2(4));
    let check = |cfg: DeploymentConfig| validate_semantics(&cfg, &old, &new).err();
    assert_eq!(
        check(bg(TrafficRouting::Canary(Pct(60)), 1, 0, &[])).as_deref(),
        Some("CanarySize must be between 1 and 50 percent; got 60.")
    );
    assert_eq!(
        check(bg(TrafficRouting::Linear(Pct(5)), 1, 0, &[])).as_deref(),
        Some("LinearStepSize must be between 10 and 50 percent; got 5.")
    );
    assert_eq!(
        check(rolling(Pct(60), 1, None, &[])).as_deref(),
        Some("MaximumBatchSize must be between 5 and 50 percent; got 60.")
    );
    assert_eq!(
        check(rolling(Count(1), 1, Some(Pct(150)), &[])).as_deref(),
        Some("RollbackMaximumBatchSize must be between 1 and 100 percent; got 150.")
    );
    assert_eq!(
        check(bg(TrafficRouting::Canary(Count(3)), 1, 0, &[])).as_deref(),
        Some("CanarySize of 3 instance(s) exceeds 50% of the 4 instance(s) of variant \"AllTraffic\".")
    );
    assert_eq!(
        check(rolling(Count(1), 1, Some(Count(99)), &[])),
        None,
        "clamped"
    );
    let mut slow = bg(TrafficRouting::Canary(Count(1)), 600, 600, &[]);
    if let UpdatePolicy::BlueGreen(p) = &mut slow.policy {
        p.max_timeout_s = Some(1200);
    }
    assert_eq!(
        check(slow).as_deref(),
        Some("MaximumExecutionTimeoutInSeconds (1200) must be greater than the total wait time of this deployment (1800 seconds).")
    );
    let two = FleetSizes::of_spec(&spec("cfg-v2", "m", &[("A", 2, 1.0), ("B", 2, 1.0)]));
    assert_eq!(
        validate_semantics(&rolling(Count(1), 1, None, &[]), &old, &two).err().as_deref(),
        Some("RollingUpdatePolicy is not supported for endpoints with more than one production variant.")
    );
    let renamed = FleetSizes::of_spec(&spec("c2", "m", &[("Other", 4, 1.0)]));
    let old_c1 = FleetSizes::of_spec(&spec("c1", "m", &[("AllTraffic", 4, 1.0)]));
    assert_eq!(
        validate_semantics(&DeploymentConfig::alarms_only(vec!["a".into()]), &old_c1, &renamed).err().as_deref(),
        Some("With a DeploymentConfig, endpoint configuration \"c2\" must have the same production variants as the current configuration \"c1\" (AllTraffic).")
    );
    assert_eq!(
        validate_semantics(&DeploymentConfig::plain(), &old_c1, &renamed),
        Ok(()),
        "names may differ without a DeploymentConfig"
    );
    assert_eq!(
        check(bg(TrafficRouting::Canary(Count(1)), 3600, 3600, &[])),
        None,
        "default timeout 28800 > 10800"
    );
}

#[test]
fn wire_helpers_give_the_catalogue_messages() {
    assert_eq!(
        TrafficRouting::from_wire("CANARY", None, None),
        Err("CanarySize is required when Type is CANARY.".into())
    );
    assert_eq!(
        TrafficRouting::from_wire("LINEAR", None, None),
        Err("LinearStepSize is required when Type is LINEAR.".into())
    );
    assert_eq!(
        TrafficRouting::from_wire("CANARY", Some(Count(1)), Some(Count(1))),
        Err("LinearStepSize is only valid when Type is LINEAR.".into())
    );
    assert_eq!(
        TrafficRouting::from_wire("ALL_AT_ONCE", Some(Count(1)), None),
        Err("CanarySize is only valid when Type is CANARY.".into())
    );
    assert_eq!(
        TrafficRouting::from_wire("LINEAR", None, Some(Pct(10))),
        Ok(TrafficRouting::Linear(Pct(10)))
    );
    assert_eq!(CapacitySize::from_wire("CAPACITY_PERCENTAGE", 5), None);
    let both = DeploymentConfig::from_parts(
        Some(BlueGreenPolicy {
            routing: TrafficRouting::AllAtOnce,
            wait_s: 0,
            termination_wait_s: 0,
            max_timeout_s: None,
        }),
        Some(RollingPolicy {
            batch: Count(1),
            wait_s: 0,
            max_timeout_s: None,
            rollback_batch: None,
        }),
        vec![],
    );
    assert_eq!(
        both,
        Err(
            "DeploymentConfig can contain BlueGreenUpdatePolicy or RollingUpdatePolicy, not both."
                .into()
        )
    );
    assert_eq!(
        DeploymentConfig::from_parts(None, None, vec!["a".into()]),
        Ok(DeploymentConfig::alarms_only(vec!["a".into()]))
    );
    let cfg =
        DeploymentConfig::alarms_only(vec!["ep-5xx".into(), "ep-latency".into(), "ok".into()]);
    assert_eq!(
        cfg.check_alarms_exist(|a| a == "ok"),
        Err("CloudWatch alarm(s) not found: ep-5xx, ep-latency.".into())
    );
}

#[test]
fn retain_rules_of_section_12() {
    let mut cur = crate::lifecycle::Fleet::from_spec(
        0,
        spec("c1", "m", &[("A", 2, 1.0), ("B", 1, 1.0)]),
        None,
    );
    cur.variants[0].desired_count = 5;
    cur.variants[0].desired_weight = 7.0;
    let new = spec("c2", "m", &[("A", 3, 2.0), ("C", 4, 4.0)]);
    let counts = |s: &FleetSpec| -> Vec<(u32, f64)> {
        s.variants
            .iter()
            .map(|v| (v.instance_count, v.weight))
            .collect()
    };
    let off = apply_retain(&cur, new.clone(), &RetainOptions::default());
    assert_eq!(
        counts(&off),
        vec![(3, 2.0), (4, 4.0)],
        "flag false: config values"
    );
    let all = RetainOptions {
        retain_all_variant_properties: true,
        exclude: vec![],
    };
    assert_eq!(
        counts(&apply_retain(&cur, new.clone(), &all)),
        vec![(5, 7.0), (4, 4.0)]
    );
    let except_count = RetainOptions {
        retain_all_variant_properties: true,
        exclude: vec![
            VariantProperty::DesiredInstanceCount,
            VariantProperty::DataCaptureConfig,
        ],
    };
    assert_eq!(
        counts(&apply_retain(&cur, new.clone(), &except_count)),
        vec![(3, 7.0), (4, 4.0)]
    );
    let ignored = RetainOptions {
        retain_all_variant_properties: false,
        exclude: vec![VariantProperty::DesiredWeight],
    };
    assert_eq!(
        counts(&apply_retain(&cur, new, &ignored)),
        vec![(3, 2.0), (4, 4.0)]
    );
}

#[test]
fn begin_update_sets_the_acceptance_state() {
    let mut s = Sim::in_service(v1(2));
    s.rec.failure_reason = Some("old failure".into());
    let at = s.now.plus_secs(5);
    let rec = begin_update(
        &s.rec,
        v2(2),
        DeploymentConfig::plain(),
        RetainOptions::default(),
        at,
    )
    .unwrap();
    assert_eq!(rec.status, EndpointStatus::Updating);
    assert_eq!(rec.last_modified_time, at);
    assert_eq!(rec.failure_reason, None);
    assert_eq!(rec.endpoint_config_name(), "cfg-v2");
    assert_eq!(rec.fleet.spec.config_name, "cfg-v1", "blue keeps serving");
    let d = rec.deployment.as_deref().unwrap();
    assert_eq!((d.start_time, d.deadline), (at, None));
    assert!(rec.fleet_by_id(d.green.id).is_some());
    let bad = begin_update(
        &s.rec,
        v2(2),
        bg(TrafficRouting::Canary(Count(2)), 1, 0, &[]),
        RetainOptions::default(),
        at,
    );
    assert_eq!(
        bad,
        Err(BeginError::Invalid(
            "CanarySize of 2 instance(s) exceeds 50% of the 2 instance(s) of variant \"AllTraffic\".".into()
        ))
    );
    assert_eq!(watched_alarms(&rec), None);
}
