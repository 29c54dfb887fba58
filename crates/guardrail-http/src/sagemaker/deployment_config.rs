//! Wire-level rules of a `DeploymentConfig` that the model cannot express (docs/sagemaker-api.md
//! docs/sagemaker-api.md#updateendpoint-rules): mutual exclusions, sizes that belong to another routing type, members the model
//! leaves optional but Guardrail needs. Size and timing rules that depend on fleet sizes live
//! in the core's deployment planner.

use guardrail_api::error::messages;
use guardrail_api::generated::sagemaker::{CapacitySize, DeploymentConfig};
use guardrail_core::deploy as core;

use super::{invalid, Fail};

fn must_not_be_null(path: &str) -> Fail {
    invalid(messages::member_must_not_be_null(path))
}

fn check_size(size: &CapacitySize, path: &str) -> Result<(), Fail> {
    if size.r#type.is_none() {
        return Err(must_not_be_null(&format!("{path}.type")));
    }
    if size.value.is_none() {
        return Err(must_not_be_null(&format!("{path}.value")));
    }
    Ok(())
}

pub(crate) fn check_wire(dc: &DeploymentConfig) -> Result<(), Fail> {
    check_required(dc)?;
    if dc.blue_green_update_policy.is_some() && dc.rolling_update_policy.is_some() {
        return Err(invalid(messages::BOTH_POLICIES));
    }
    if let Some(bg) = &dc.blue_green_update_policy {
        let base = "deploymentConfig.blueGreenUpdatePolicy.trafficRoutingConfiguration";
        let Some(t) = &bg.traffic_routing_configuration else {
            return Err(must_not_be_null(base));
        };
        let Some(kind) = t.r#type.as_deref() else {
            return Err(must_not_be_null(&format!("{base}.type")));
        };
        if t.wait_interval_in_seconds.is_none() {
            return Err(must_not_be_null(&format!("{base}.waitIntervalInSeconds")));
        }
        match kind {
            "CANARY" if t.canary_size.is_none() => {
                return Err(invalid(messages::CANARY_SIZE_REQUIRED))
            }
            "LINEAR" if t.linear_step_size.is_none() => {
                return Err(invalid(messages::LINEAR_STEP_REQUIRED))
            }
            _ => {}
        }
        if kind != "CANARY" && t.canary_size.is_some() {
            return Err(invalid(messages::CANARY_SIZE_ONLY_FOR_CANARY));
        }
        if kind != "LINEAR" && t.linear_step_size.is_some() {
            return Err(invalid(messages::LINEAR_STEP_ONLY_FOR_LINEAR));
        }
        if let Some(s) = &t.canary_size {
            check_size(s, &format!("{base}.canarySize"))?;
        }
        if let Some(s) = &t.linear_step_size {
            check_size(s, &format!("{base}.linearStepSize"))?;
        }
    }
    if let Some(r) = &dc.rolling_update_policy {
        let base = "deploymentConfig.rollingUpdatePolicy";
        let Some(batch) = &r.maximum_batch_size else {
            return Err(must_not_be_null(&format!("{base}.maximumBatchSize")));
        };
        check_size(batch, &format!("{base}.maximumBatchSize"))?;
        if r.wait_interval_in_seconds.is_none() {
            return Err(must_not_be_null(&format!("{base}.waitIntervalInSeconds")));
        }
        if let Some(rb) = &r.rollback_maximum_batch_size {
            check_size(rb, &format!("{base}.rollbackMaximumBatchSize"))?;
        }
    }
    Ok(())
}

/// Members the model leaves optional but SageMaker treats as required: checked with the
/// model constraints (stage 1 of docs/sagemaker-api.md#updateendpoint-rules), before the endpoint is even looked up.
pub(crate) fn check_required(dc: &DeploymentConfig) -> Result<(), Fail> {
    if let Some(arc) = &dc.auto_rollback_configuration {
        for (i, a) in arc.alarms.iter().flatten().enumerate() {
            if a.alarm_name.is_none() {
                return Err(must_not_be_null(&format!(
                    "deploymentConfig.autoRollbackConfiguration.alarms.{}.member.alarmName",
                    i + 1
                )));
            }
        }
    }
    Ok(())
}

/// The domain config for the core; run after [`check_wire`].
pub(crate) fn to_core(dc: &DeploymentConfig) -> Result<core::DeploymentConfig, Fail> {
    let size = |s: &CapacitySize| {
        let kind = s.r#type.as_deref().unwrap_or_default();
        let value = s.value.unwrap_or_default().clamp(0, i64::from(u32::MAX)) as u32;
        core::CapacitySize::from_wire(kind, value)
            .ok_or_else(|| invalid(messages::unknown_capacity_type(kind)))
    };
    let secs = |v: Option<i64>| v.map(|v| v.clamp(0, i64::from(u32::MAX)) as u32);
    let blue_green = match &dc.blue_green_update_policy {
        None => None,
        Some(bg) => {
            let t = bg.traffic_routing_configuration.clone().unwrap_or_default();
            let canary = t.canary_size.as_ref().map(size).transpose()?;
            let linear = t.linear_step_size.as_ref().map(size).transpose()?;
            let routing = core::TrafficRouting::from_wire(
                t.r#type.as_deref().unwrap_or_default(),
                canary,
                linear,
            )
            .map_err(invalid)?;
            Some(core::BlueGreenPolicy {
                routing,
                wait_s: secs(t.wait_interval_in_seconds).unwrap_or(0),
                termination_wait_s: secs(bg.termination_wait_in_seconds).unwrap_or(0),
                max_timeout_s: secs(bg.maximum_execution_timeout_in_seconds),
            })
        }
    };
    let rolling = match &dc.rolling_update_policy {
        None => None,
        Some(r) => Some(core::RollingPolicy {
            batch: size(
                r.maximum_batch_size
                    .as_ref()
                    .unwrap_or(&CapacitySize::default()),
            )?,
            wait_s: secs(r.wait_interval_in_seconds).unwrap_or(0),
            max_timeout_s: secs(r.maximum_execution_timeout_in_seconds),
            rollback_batch: r
                .rollback_maximum_batch_size
                .as_ref()
                .map(size)
                .transpose()?,
        }),
    };
    let alarms = dc
        .auto_rollback_configuration
        .iter()
        .flat_map(|a| a.alarms.iter().flatten())
        .filter_map(|a| a.alarm_name.clone())
        .collect();
    core::DeploymentConfig::from_parts(blue_green, rolling, alarms).map_err(invalid)
}
