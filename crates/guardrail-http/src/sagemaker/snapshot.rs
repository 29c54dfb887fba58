//! Resolves an endpoint config and its models into the snapshot an endpoint runs
//! ([`FleetSpec`]), checking everything Guardrail needs to run it.

use guardrail_api::error::messages;
use guardrail_api::generated::sagemaker::ContainerDefinition;
use guardrail_api::generated::sagemaker::{CreateEndpointConfigInput, CreateModelInput};
use guardrail_controller::ImageCatalog;
use guardrail_core::names::{name_key, Arns, ResourceKind};
use guardrail_core::spec::{
    ContainerSpec, FleetSpec, ModelData, S3DataSourceFields, VariantSpec, DEFAULT_STARTUP_TIMEOUT_S,
};
use guardrail_store::Tx;

use super::{invalid, Fail};

/// Reads the config and its models inside a transaction and builds the fleet snapshot.
pub(crate) fn resolve(
    tx: &Tx<'_>,
    arns: &Arns,
    images: &ImageCatalog,
    config_name: &str,
) -> Result<(FleetSpec, CreateEndpointConfigInput), Fail> {
    let row = tx
        .get_resource(ResourceKind::EndpointConfig, &name_key(config_name))?
        .ok_or_else(|| {
            invalid(messages::not_found(
                "endpoint configuration",
                &arns.arn(ResourceKind::EndpointConfig, config_name),
            ))
        })?;
    let config: CreateEndpointConfigInput = serde_json::from_value(row.doc)
        .map_err(|e| invalid(messages::unreadable("endpoint configuration", &e)))?;
    if config.async_inference_config.is_some() {
        return Err(invalid(messages::ASYNC_INFERENCE));
    }
    if config
        .shadow_production_variants
        .as_ref()
        .is_some_and(|s| !s.is_empty())
    {
        return Err(invalid(messages::SHADOW_VARIANTS));
    }
    let mut variants = Vec::new();
    for v in config.production_variants.clone().unwrap_or_default() {
        let vname = v.variant_name.clone().unwrap_or_default();
        if v.serverless_config.is_some() {
            return Err(invalid(messages::serverless_variant(&vname)));
        }
        if v.instance_pools.as_ref().is_some_and(|p| !p.is_empty()) {
            return Err(invalid(messages::instance_pools(&vname)));
        }
        let model_name = v.model_name.clone().unwrap_or_default();
        let model_row = tx
            .get_resource(ResourceKind::Model, &name_key(&model_name))?
            .ok_or_else(|| {
                invalid(messages::not_found(
                    "model",
                    &arns.arn(ResourceKind::Model, &model_name),
                ))
            })?;
        let model: CreateModelInput = serde_json::from_value(model_row.doc)
            .map_err(|e| invalid(messages::unreadable("model", &e)))?;
        let container = model
            .primary_container
            .or_else(|| model.containers.and_then(|c| c.into_iter().next()))
            .ok_or_else(|| invalid(messages::model_without_container(&model_name)))?;
        let model_data = model_data_of(&container).map_err(invalid)?;
        let image = container.image.unwrap_or_default();
        if !images.runs(&image) {
            return Err(invalid(messages::model_image_not_runnable(
                &image,
                &model_name,
            )));
        }
        variants.push(VariantSpec {
            name: vname,
            model_name: model_row.name,
            container: ContainerSpec {
                image,
                environment: container.environment.unwrap_or_default(),
                model_data,
            },
            instance_count: v.initial_instance_count.unwrap_or(1).max(1) as u32,
            weight: v.initial_variant_weight.unwrap_or(1.0),
            instance_type: v.instance_type.clone(),
            startup_timeout_s: v
                .container_startup_health_check_timeout_in_seconds
                .map_or(DEFAULT_STARTUP_TIMEOUT_S, |s| s as u32),
        });
    }
    Ok((
        FleetSpec {
            config_name: row.name,
            variants,
        },
        config,
    ))
}

/// A container's artifacts (`ModelDataUrl` or `ModelDataSource`), or why they are refused.
pub(crate) fn model_data_of(c: &ContainerDefinition) -> Result<Option<ModelData>, String> {
    if c.additional_model_data_sources
        .as_ref()
        .is_some_and(|a| !a.is_empty())
    {
        return Err("AdditionalModelDataSources are not supported by Guardrail.".into());
    }
    let s3 = c
        .model_data_source
        .as_ref()
        .and_then(|s| s.s3_data_source.as_ref());
    let fields = s3.map(|s| S3DataSourceFields {
        s3_uri: s.s3_uri.as_deref().unwrap_or_default(),
        s3_data_type: s.s3_data_type.as_deref().unwrap_or_default(),
        compression_type: s.compression_type.as_deref().unwrap_or_default(),
    });
    ModelData::from_container(c.model_data_url.as_deref(), fields)
}
