//! UpdateEndpoint: validation in docs/sagemaker-api.md#updateendpoint-rules's order, then one transaction that
//! attaches the deployment (plan included) to the endpoint record. The controller runs it.

use guardrail_api::error::messages;
use guardrail_api::generated::sagemaker::{
    DeploymentConfig as WireDeploymentConfig, UpdateEndpointInput, UpdateEndpointOutput,
};
use guardrail_core::deploy::{
    begin_update, BeginError, DeploymentConfig, RetainOptions, VariantProperty,
};
use guardrail_core::names::{name_key, ResourceKind};

use super::deployment_config::{check_wire, to_core};
use super::endpoints::refusal;
use super::{invalid, snapshot, Fail, Reply};
use crate::awsjson::to_value;
use crate::AppState;
use guardrail_core::lifecycle::{refuse_change, ChangeKind};

pub(crate) async fn update(state: &AppState, input: UpdateEndpointInput) -> Reply {
    let name = input.endpoint_name.clone().unwrap_or_default();
    let key = name_key(&name);
    let arn = state.arns.arn(ResourceKind::Endpoint, &name);
    let arns = state.arns.clone();
    let images = state.controller.images().clone();
    let now = state.controller.clock().now();
    let retain = RetainOptions {
        retain_all_variant_properties: input.retain_all_variant_properties.unwrap_or(false),
        exclude: input
            .exclude_retained_variant_properties
            .iter()
            .flatten()
            .filter_map(|p| match p.variant_property_type.as_deref() {
                Some("DesiredInstanceCount") => Some(VariantProperty::DesiredInstanceCount),
                Some("DesiredWeight") => Some(VariantProperty::DesiredWeight),
                Some("DataCaptureConfig") => Some(VariantProperty::DataCaptureConfig),
                _ => None,
            })
            .collect(),
    };
    if let Some(dc) = &input.deployment_config {
        super::deployment_config::check_required(dc)?;
    }
    let k = key.clone();
    let out_arn = arn.clone();
    let monitor = state.monitor.clone();
    let limits = state.limits;
    state
        .store
        .write(move |tx| {
            let mut row = tx
                .get_endpoint(&k)?
                .ok_or_else(|| invalid(messages::not_found("endpoint", &arn)))?;
            let config_name = input.endpoint_config_name.clone().unwrap_or_default();
            let (spec, _) = snapshot::resolve(tx, &arns, &images, &config_name)?;
            if let Some(r) = refuse_change(row.record.status, ChangeKind::Update) {
                return Err(refusal(r, &arn));
            }
            let (effective, cfg) = effective_config(&input, &row.extra)?;
            let alarms = cfg.clone();
            row.record =
                begin_update(&row.record, spec, cfg, retain, now).map_err(|e| match e {
                    BeginError::Status(r) => refusal(r, &arn),
                    BeginError::Invalid(m) => invalid(m),
                })?;
            let (other_endpoints, other_instances) = crate::limits::others(tx, &k)?;
            limits.check(crate::limits::Demand {
                other_endpoints,
                other_instances,
                endpoint_instances: row.record.desired_instances(),
                creates: false,
            })?;
            // docs/sagemaker-api.md#updateendpoint-rules checks alarm existence after the other semantic rules.
            alarms
                .check_alarms_exist(|a| monitor.alarm_exists(a))
                .map_err(invalid)?;
            row.extra["DeploymentConfig"] = serde_json::to_value(effective).unwrap_or_default();
            tx.update_endpoint(&row)?;
            Ok::<(), Fail>(())
        })
        .await?;
    state.controller.nudge(&key);
    to_value(&UpdateEndpointOutput {
        endpoint_arn: Some(out_arn),
    })
    .map_err(Fail)
}

/// The DeploymentConfig this update runs with (as sent, for LastDeploymentConfig) and its
/// domain form: explicit, retained from the last update, or none (plain blue/green).
fn effective_config(
    input: &UpdateEndpointInput,
    extra: &serde_json::Value,
) -> Result<(Option<WireDeploymentConfig>, DeploymentConfig), Fail> {
    let retained = input.retain_deployment_config.unwrap_or(false);
    // docs/sagemaker-api.md#updateendpoint-rules's table order: the config's own rules (e.g. both policies) before the Retain rule.
    if let Some(dc) = &input.deployment_config {
        check_wire(dc)?;
    }
    let wire = match (&input.deployment_config, retained) {
        (Some(_), true) => return Err(invalid(messages::RETAIN_WITH_DEPLOYMENT_CONFIG)),
        (Some(dc), false) => Some(dc.clone()),
        (None, true) => extra
            .get("DeploymentConfig")
            .filter(|v| !v.is_null())
            .and_then(|v| serde_json::from_value::<WireDeploymentConfig>(v.clone()).ok()),
        (None, false) => None,
    };
    match &wire {
        None => Ok((None, DeploymentConfig::plain())),
        Some(dc) => {
            check_wire(dc)?;
            let cfg = to_core(dc)?;
            Ok((wire, cfg))
        }
    }
}
