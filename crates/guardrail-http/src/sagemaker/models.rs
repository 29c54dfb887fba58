//! CreateModel, DescribeModel, ListModels, DeleteModel.

use guardrail_api::error::messages;
use guardrail_api::generated::sagemaker::{
    CreateModelInput, CreateModelOutput, DeleteModelInput, DescribeModelInput, DescribeModelOutput,
    ListModelsInput, ListModelsOutput, ModelSummary,
};
use guardrail_api::wire::Timestamp;
use guardrail_core::names::{name_key, ResourceKind};
use guardrail_store::ResourceRow;

use super::{invalid, Fail, Reply};
use crate::awsjson::to_value;
use crate::AppState;

pub(crate) async fn create(state: &AppState, mut input: CreateModelInput) -> Reply {
    let name = input.model_name.clone().unwrap_or_default();
    let containers = match (&input.primary_container, &input.containers) {
        (Some(_), Some(_)) => {
            return Err(invalid(messages::CONTAINERS_BOTH));
        }
        (None, None) => return Err(invalid(messages::CONTAINERS_NEITHER)),
        (Some(c), None) => vec![c.clone()],
        (None, Some(cs)) if cs.len() == 1 => cs.clone(),
        (None, Some(cs)) if cs.is_empty() => return Err(invalid(messages::CONTAINERS_EMPTY)),
        (None, Some(_)) => return Err(invalid(messages::MULTI_CONTAINER)),
    };
    for c in &containers {
        if c.mode.as_deref() == Some("MultiModel") {
            return Err(invalid(messages::MULTI_MODEL));
        }
        let Some(image) = c.image.as_deref() else {
            return Err(invalid(messages::NO_IMAGE));
        };
        if !state.controller.images().runs(image) {
            return Err(invalid(messages::image_not_runnable(image)));
        }
        if let Some(data) = super::snapshot::model_data_of(c).map_err(invalid)? {
            state.controller.check_model_data(&data).map_err(invalid)?;
        }
    }
    let tags = super::tags::from_wire(input.tags.take());
    let arn = state.arns.arn(ResourceKind::Model, &name);
    let now = state.controller.clock().now();
    let row_arn = arn.clone();
    let doc = to_value(&input).map_err(Fail)?;
    state
        .store
        .write(move |tx| {
            let row = ResourceRow {
                kind: ResourceKind::Model,
                key: name_key(&name),
                name,
                arn: row_arn.clone(),
                created: now,
                seq: tx.next_seq("resource")?,
                doc,
            };
            if !tx.insert_resource(&row)? {
                return Err(invalid(messages::already_exists("model", &row_arn)));
            }
            tx.add_tags(&row_arn, &tags)?;
            Ok(())
        })
        .await?;
    to_value(&CreateModelOutput {
        model_arn: Some(arn),
    })
    .map_err(Fail)
}

pub(crate) async fn describe(state: &AppState, input: DescribeModelInput) -> Reply {
    let row = get(state, input.model_name.as_deref().unwrap_or_default()).await?;
    let sent: CreateModelInput = serde_json::from_value(row.doc).map_err(|e| {
        tracing::error!(error = %e, "stored model document is unreadable");
        Fail(guardrail_api::error::ApiError::Internal)
    })?;
    to_value(&DescribeModelOutput {
        model_name: Some(row.name),
        model_arn: Some(row.arn),
        primary_container: sent.primary_container,
        containers: sent.containers,
        inference_execution_config: sent.inference_execution_config,
        execution_role_arn: sent.execution_role_arn,
        vpc_config: sent.vpc_config,
        enable_network_isolation: sent.enable_network_isolation,
        creation_time: Some(Timestamp::from_millis(row.created.millis())),
        ..Default::default()
    })
    .map_err(Fail)
}

pub(crate) async fn get(state: &AppState, name: &str) -> Result<ResourceRow, Fail> {
    let key = name_key(name);
    let arn = state.arns.arn(ResourceKind::Model, name);
    state
        .store
        .read(move |tx| {
            tx.get_resource(ResourceKind::Model, &key)?
                .ok_or_else(|| invalid(messages::not_found("model", &arn)))
        })
        .await
}

pub(crate) async fn delete(state: &AppState, input: DeleteModelInput) -> Reply {
    let name = input.model_name.unwrap_or_default();
    let arn = state.arns.arn(ResourceKind::Model, &name);
    state
        .store
        .write(move |tx| {
            if tx.delete_resource(ResourceKind::Model, &name_key(&name))? {
                Ok(serde_json::json!({}))
            } else {
                Err(invalid(messages::not_found("model", &arn)))
            }
        })
        .await
}

pub(crate) async fn list(state: &AppState, input: ListModelsInput) -> Reply {
    let page = super::list_resources(
        state,
        ResourceKind::Model,
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
        .map(|r| ModelSummary {
            model_name: Some(r.name),
            model_arn: Some(r.arn),
            creation_time: Some(Timestamp::from_millis(r.created.millis())),
        })
        .collect();
    to_value(&ListModelsOutput {
        models: Some(items),
        next_token: page.next_token,
    })
    .map_err(Fail)
}
