//! CreateEndpointConfig, DescribeEndpointConfig, ListEndpointConfigs, DeleteEndpointConfig.

use guardrail_api::error::{messages, ApiError};
use guardrail_api::generated::sagemaker::{
    CreateEndpointConfigInput, CreateEndpointConfigOutput, DeleteEndpointConfigInput,
    DescribeEndpointConfigInput, DescribeEndpointConfigOutput, EndpointConfigSummary,
    ListEndpointConfigsInput, ListEndpointConfigsOutput,
};
use guardrail_api::wire::Timestamp;
use guardrail_core::names::{name_key, ResourceKind};
use guardrail_store::ResourceRow;

use super::{invalid, Fail, Reply};
use crate::awsjson::to_value;
use crate::AppState;

pub(crate) async fn create(state: &AppState, mut input: CreateEndpointConfigInput) -> Reply {
    let name = input.endpoint_config_name.clone().unwrap_or_default();
    let variants = input.production_variants.clone().unwrap_or_default();
    let mut seen: Vec<String> = Vec::new();
    for (i, v) in variants.iter().enumerate() {
        let vname = v.variant_name.clone().unwrap_or_default();
        if seen.contains(&name_key(&vname)) {
            return Err(invalid(messages::non_unique_variant(&vname)));
        }
        seen.push(name_key(&vname));
        if v.initial_instance_count.is_none() && v.serverless_config.is_none() {
            return Err(invalid(messages::member_must_not_be_null(&format!(
                "productionVariants.{}.member.initialInstanceCount",
                i + 1
            ))));
        }
    }
    let model_names: Vec<String> = variants
        .iter()
        .filter_map(|v| v.model_name.clone())
        .collect();
    let tags = super::tags::from_wire(input.tags.take());
    let arn = state.arns.arn(ResourceKind::EndpointConfig, &name);
    let arns = state.arns.clone();
    let now = state.controller.clock().now();
    let doc = to_value(&input).map_err(Fail)?;
    let row_arn = arn.clone();
    state
        .store
        .write(move |tx| {
            for m in &model_names {
                if tx
                    .get_resource(ResourceKind::Model, &name_key(m))?
                    .is_none()
                {
                    return Err(invalid(messages::not_found(
                        "model",
                        &arns.arn(ResourceKind::Model, m),
                    )));
                }
            }
            let row = ResourceRow {
                kind: ResourceKind::EndpointConfig,
                key: name_key(&name),
                name,
                arn: row_arn.clone(),
                created: now,
                seq: tx.next_seq("resource")?,
                doc,
            };
            if !tx.insert_resource(&row)? {
                return Err(invalid(messages::already_exists(
                    "endpoint configuration",
                    &row_arn,
                )));
            }
            tx.add_tags(&row_arn, &tags)?;
            Ok(())
        })
        .await?;
    to_value(&CreateEndpointConfigOutput {
        endpoint_config_arn: Some(arn),
    })
    .map_err(Fail)
}

pub(crate) async fn get(state: &AppState, name: &str) -> Result<ResourceRow, Fail> {
    let key = name_key(name);
    let arn = state.arns.arn(ResourceKind::EndpointConfig, name);
    state
        .store
        .read(move |tx| {
            tx.get_resource(ResourceKind::EndpointConfig, &key)?
                .ok_or_else(|| invalid(messages::not_found("endpoint configuration", &arn)))
        })
        .await
}

pub(crate) fn parse_doc(row: &ResourceRow) -> Result<CreateEndpointConfigInput, Fail> {
    serde_json::from_value(row.doc.clone()).map_err(|e| {
        tracing::error!(error = %e, config = %row.name, "stored endpoint config is unreadable");
        Fail(ApiError::Internal)
    })
}

pub(crate) async fn describe(state: &AppState, input: DescribeEndpointConfigInput) -> Reply {
    let row = get(
        state,
        input.endpoint_config_name.as_deref().unwrap_or_default(),
    )
    .await?;
    let sent = parse_doc(&row)?;
    to_value(&DescribeEndpointConfigOutput {
        endpoint_config_name: Some(row.name),
        endpoint_config_arn: Some(row.arn),
        production_variants: sent.production_variants,
        data_capture_config: sent.data_capture_config,
        kms_key_id: sent.kms_key_id,
        creation_time: Some(Timestamp::from_millis(row.created.millis())),
        async_inference_config: sent.async_inference_config,
        explainer_config: sent.explainer_config,
        shadow_production_variants: sent.shadow_production_variants,
        execution_role_arn: sent.execution_role_arn,
        vpc_config: sent.vpc_config,
        enable_network_isolation: sent.enable_network_isolation,
        ..Default::default()
    })
    .map_err(Fail)
}

pub(crate) async fn delete(state: &AppState, input: DeleteEndpointConfigInput) -> Reply {
    // Allowed even while an endpoint uses the config: endpoints keep their own snapshot, and
    // the SageMaker SDK deletes the config before the endpoint.
    let name = input.endpoint_config_name.unwrap_or_default();
    let arn = state.arns.arn(ResourceKind::EndpointConfig, &name);
    state
        .store
        .write(move |tx| {
            if tx.delete_resource(ResourceKind::EndpointConfig, &name_key(&name))? {
                Ok(serde_json::json!({}))
            } else {
                Err(invalid(messages::not_found("endpoint configuration", &arn)))
            }
        })
        .await
}

pub(crate) async fn list(state: &AppState, input: ListEndpointConfigsInput) -> Reply {
    let page = super::list_resources(
        state,
        ResourceKind::EndpointConfig,
        super::ResourceQuery {
            sort_by: input.sort_by.as_deref(),
            sort_order: input.sort_order.as_deref(),
            name_contains: input.name_contains.as_deref(),
            creation_time_before: input.creation_time_before,
            creation_time_after: input.creation_time_after,
            max_results: input.max_results,
            next_token: input.next_token.as_deref(),
        },
    )
    .await?;
    let items = page
        .items
        .into_iter()
        .map(|r| EndpointConfigSummary {
            endpoint_config_name: Some(r.name),
            endpoint_config_arn: Some(r.arn),
            creation_time: Some(Timestamp::from_millis(r.created.millis())),
        })
        .collect();
    to_value(&ListEndpointConfigsOutput {
        endpoint_configs: Some(items),
        next_token: page.next_token,
    })
    .map_err(Fail)
}
