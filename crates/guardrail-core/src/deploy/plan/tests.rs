//! Table tests of the planner, one per rule of docs/deployments.md.

use super::*;
use crate::deploy::config::BlueGreenPolicy;

fn sizes(name: &str, vs: &[(&str, u32)]) -> FleetSizes {
    FleetSizes {
        config_name: name.into(),
        variants: vs.iter().map(|(n, c)| ((*n).into(), *c)).collect(),
    }
}

fn bg(routing: TrafficRouting, w: u32, t: u32) -> DeploymentConfig {
    DeploymentConfig {
        policy: UpdatePolicy::BlueGreen(BlueGreenPolicy {
            routing,
            wait_s: w,
            termination_wait_s: t,
            max_timeout_s: None,
        }),
        alarms: vec![],
    }
}

fn rolling_cfg(batch: CapacitySize, w: u32, rb: Option<CapacitySize>) -> DeploymentConfig {
    DeploymentConfig {
        policy: UpdatePolicy::Rolling(RollingPolicy {
            batch,
            wait_s: w,
            max_timeout_s: None,
            rollback_batch: rb,
        }),
        alarms: vec![],
    }
}

fn green_counts(p: &Plan, variant: &str) -> Vec<u32> {
    p.steps
        .iter()
        .map(|s| s.variant(variant).unwrap().green_instances)
        .collect()
}

use CapacitySize::{CapacityPercent as Pct, InstanceCount as Count};

#[test]
fn percent_to_instances_table_of_section_3() {
    let table = [
        (33, 3, 1),
        (10, 4, 1),
        (20, 5, 1),
        (25, 8, 2),
        (30, 10, 3),
        (50, 5, 2),
        (50, 1, 1),
    ];
    for (pct, total, want) in table {
        assert_eq!(n(Pct(pct), total), want, "{pct}% of {total}");
    }
    assert_eq!(n(Count(3), 10), 3, "INSTANCE_COUNT is the value");
}

#[test]
fn no_deployment_config_is_one_full_step_without_waits() {
    let p = plan(
        &DeploymentConfig::plain(),
        &sizes("c1", &[("A", 2)]),
        &sizes("c2", &[("B", 3)]),
    );
    assert_eq!(p.kind, PlanKind::BlueGreen);
    assert_eq!(p.steps.len(), 1);
    assert_eq!(p.steps[0].label, StepLabel::Full);
    assert_eq!(p.steps[0].bake_s, 0);
    assert_eq!(
        p.steps[0].variants[0].variant, "B",
        "the new config's variants"
    );
    assert_eq!((p.total_wait_s, p.max_timeout_s), (0, None));
    assert_eq!(p.peak_instances, 5);
}

#[test]
fn all_at_once_waits_w_plus_t() {
    let p = plan(
        &bg(TrafficRouting::AllAtOnce, 300, 120),
        &sizes("c1", &[("A", 4)]),
        &sizes("c2", &[("A", 4)]),
    );
    assert_eq!(green_counts(&p, "A"), vec![4]);
    assert_eq!(p.total_wait_s, 420);
    assert_eq!(p.max_timeout_s, Some(28_800), "default timeout");
    assert_eq!(p.peak_instances, 8, "blue/green runs both fleets");
}

#[test]
fn alarms_only_is_all_at_once_without_waits() {
    let p = plan(
        &DeploymentConfig::alarms_only(vec!["a".into()]),
        &sizes("c1", &[("A", 2)]),
        &sizes("c2", &[("A", 2)]),
    );
    assert_eq!(p.steps.len(), 1);
    assert_eq!((p.steps[0].bake_s, p.total_wait_s), (0, 0));
    assert_eq!(p.max_timeout_s, Some(28_800));
}

#[test]
fn canary_is_c_over_n_then_full_waiting_2w_plus_t() {
    let p = plan(
        &bg(TrafficRouting::Canary(Count(1)), 600, 600),
        &sizes("c1", &[("A", 4)]),
        &sizes("c2", &[("A", 4)]),
    );
    assert_eq!(green_counts(&p, "A"), vec![1, 4]);
    assert_eq!(p.steps[0].label, StepLabel::Canary);
    assert_eq!(p.steps[1].label, StepLabel::Full);
    assert_eq!(p.steps[0].variants[0].share, 0.25);
    assert_eq!(p.steps[0].variants[0].old_active, 3);
    assert_eq!(p.total_wait_s, 1800);
}

#[test]
fn canary_percent_rounds_down_with_minimum_one() {
    let p = plan(
        &bg(TrafficRouting::Canary(Pct(33)), 10, 0),
        &sizes("c1", &[("A", 3)]),
        &sizes("c2", &[("A", 3)]),
    );
    assert_eq!(green_counts(&p, "A"), vec![1, 3]);
}

#[test]
fn one_instance_variant_canaries_with_its_whole_fleet() {
    let p = plan(
        &bg(TrafficRouting::Canary(Pct(50)), 10, 0),
        &sizes("c1", &[("A", 1)]),
        &sizes("c2", &[("A", 1)]),
    );
    assert_eq!(green_counts(&p, "A"), vec![1, 1]);
}

#[test]
fn linear_steps_of_s_with_smaller_last_step() {
    let p = plan(
        &bg(TrafficRouting::Linear(Pct(30)), 60, 30),
        &sizes("c1", &[("A", 10)]),
        &sizes("c2", &[("A", 10)]),
    );
    assert_eq!(green_counts(&p, "A"), vec![3, 6, 9, 10]);
    let shares: Vec<f64> = p.steps.iter().map(|s| s.variants[0].share).collect();
    assert_eq!(shares, vec![0.3, 0.6, 0.9, 1.0]);
    assert_eq!(p.steps[3].label, StepLabel::Linear { step: 4, of: 4 });
    assert_eq!(
        p.steps[3].variants[0].added, 1,
        "the last step may be smaller"
    );
    assert_eq!(p.total_wait_s, 4 * 60 + 30, "k·W + T");
}

#[test]
fn linear_n5_at_20_percent_is_five_steps_of_one() {
    let p = plan(
        &bg(TrafficRouting::Linear(Pct(20)), 10, 0),
        &sizes("c1", &[("A", 5)]),
        &sizes("c2", &[("A", 5)]),
    );
    assert_eq!(green_counts(&p, "A"), vec![1, 2, 3, 4, 5]);
}

#[test]
fn linear_variants_move_in_lockstep_and_stay_at_full() {
    let p = plan(
        &bg(TrafficRouting::Linear(Count(2)), 10, 0),
        &sizes("c1", &[("A", 4), ("B", 8)]),
        &sizes("c2", &[("A", 4), ("B", 8)]),
    );
    assert_eq!(green_counts(&p, "A"), vec![2, 4, 4, 4]);
    assert_eq!(green_counts(&p, "B"), vec![2, 4, 6, 8]);
    assert!(p.steps[3].is_full());
    assert!(!p.steps[1].is_full());
}

#[test]
fn rolling_batches_of_b_wait_k_w_and_peak_n_plus_b() {
    let p = plan(
        &rolling_cfg(Count(1), 180, None),
        &sizes("c1", &[("A", 4)]),
        &sizes("c2", &[("A", 4)]),
    );
    assert_eq!(p.kind, PlanKind::Rolling);
    assert_eq!(green_counts(&p, "A"), vec![1, 2, 3, 4]);
    let old: Vec<u32> = p.steps.iter().map(|s| s.variants[0].old_active).collect();
    assert_eq!(old, vec![3, 2, 1, 0]);
    assert_eq!(p.total_wait_s, 720);
    assert_eq!(p.peak_instances, 5);
    assert_eq!(p.rollback_batch, None);
    assert_eq!(p.steps[1].label, StepLabel::Batch { batch: 2, of: 4 });
}

#[test]
fn rolling_with_different_fleet_sizes_keeps_ceil_of_old_share() {
    let p = plan(
        &rolling_cfg(Count(2), 10, None),
        &sizes("c1", &[("A", 3)]),
        &sizes("c2", &[("A", 5)]),
    );
    assert_eq!(green_counts(&p, "A"), vec![2, 4, 5]);
    let old: Vec<u32> = p.steps.iter().map(|s| s.variants[0].old_active).collect();
    // ceil(3 × 3/5) = 2, ceil(3 × 1/5) = 1, 0.
    assert_eq!(old, vec![2, 1, 0]);
    assert_eq!(p.peak_instances, 6, "2 old + 4 new during batch 2");
}

#[test]
fn rollback_batch_is_sized_against_the_old_fleet_and_clamped() {
    let old = sizes("c1", &[("A", 4)]);
    let new = sizes("c2", &[("A", 4)]);
    let r = |rb| plan(&rolling_cfg(Count(1), 0, Some(rb)), &old, &new).rollback_batch;
    assert_eq!(r(Count(1)), Some(1));
    assert_eq!(r(Pct(50)), Some(2));
    assert_eq!(r(Count(9)), None, "≥ N_old: blue/green-style");
    assert_eq!(r(Pct(100)), None, "100 %: blue/green-style");
}

#[test]
fn old_active_is_exact_ceiling() {
    assert_eq!(old_active(4, 1, 4), 3);
    assert_eq!(old_active(3, 1, 5), 3);
    assert_eq!(old_active(10, 3, 10), 7);
    assert_eq!(old_active(4, 4, 4), 0);
    assert_eq!(old_active(4, 0, 4), 4);
}
