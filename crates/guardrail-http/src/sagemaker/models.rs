//! CreateModel, DescribeModel, ListModels, DeleteModel.

use guardrail_api::error::messages;
use guardrail_api::generated::sagemaker::{
    CreateModelInput, CreateModelOutput, DeleteModelInput, DescribeModelInput, DescribeModelOutput,
    ListModelsInput, ListModelsOutput, ModelSummary,
};
use guardrail_api::wire::Timestamp;
use guardrail_core::names::{name_key, ResourceKind};
use guardrail_store::{ResourceRow, Tag};

use super::{invalid, Fail, Reply};
use crate::awsjson::to_value;
use crate::list::{name_contains, page_size, paginate, Item, SortVal};
use crate::AppState;

pub(crate) async fn create(state: &AppState, mut input: CreateModelInput) -> Reply {
    let name = input.model_name.clone().unwrap_or_default();
    let containers = match (&input.primary_container, &input.containers) {
        (Some(_), Some(_)) => {
            return Err(invalid("Specify PrimaryContainer or Containers, not both."));
        }
        (None, None) => return Err(invalid("Either PrimaryContainer or Containers must be specified.")),
        (Some(c), None) => vec![c.clone()],
        (None, Some(cs)) if cs.len() == 1 => cs.clone(),
        (None, Some(cs)) if cs.is_empty() => {
            return Err(invalid("Containers must contain one container definition."))
        }
        (None, Some(_)) => {
            return Err(invalid(
                "Multi-container models (Containers with more than one element) are not supported by Guardrail.",
            ))
        }
    };
    for c in &containers {
        if c.mode.as_deref() == Some("MultiModel") {
            return Err(invalid(
                "Container Mode MultiModel is not supported by Guardrail.",
            ));
        }
        let Some(image) = c.image.as_deref() else {
            return Err(invalid(
                "The container definition must specify an Image (ModelPackageName is not supported by Guardrail).",
            ));
        };
        if state.controller.images().get(image).is_none() {
            return Err(invalid(format!(
                "Image \"{image}\" is not configured in Guardrail: add an [images.\"{image}\"] table with its command to the config file."
            )));
        }
    }
    let tags: Vec<Tag> = input
        .tags
        .take()
        .unwrap_or_default()
        .into_iter()
        .map(|t| Tag {
            key: t.key.unwrap_or_default(),
            value: t.value.unwrap_or_default(),
        })
        .collect();
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
    let rows = state
        .store
        .read(|tx| tx.list_resources(ResourceKind::Model))
        .await?;
    let sort_by = input.sort_by.as_deref().unwrap_or("CreationTime");
    let descending = input.sort_order.as_deref() != Some("Ascending");
    let before = input.creation_time_before.map(|t| t.as_millis());
    let after = input.creation_time_after.map(|t| t.as_millis());
    let items = rows
        .into_iter()
        .filter(|r| name_contains(&r.name, input.name_contains.as_deref()))
        .filter(|r| before.is_none_or(|b| r.created.millis() < b))
        .filter(|r| after.is_none_or(|a| r.created.millis() >= a))
        .map(|r| Item {
            sort: if sort_by == "Name" {
                SortVal::Str(r.key.clone())
            } else {
                SortVal::Num(r.created.millis())
            },
            name_key: r.key.clone(),
            seq: r.seq,
            value: ModelSummary {
                model_name: Some(r.name),
                model_arn: Some(r.arn),
                creation_time: Some(Timestamp::from_millis(r.created.millis())),
            },
        })
        .collect();
    let fingerprint = format!(
        "models|{sort_by}|{descending}|{:?}|{before:?}|{after:?}",
        input.name_contains
    );
    let page = paginate(
        items,
        descending,
        page_size(input.max_results),
        input.next_token.as_deref(),
        &fingerprint,
    )?;
    to_value(&ListModelsOutput {
        models: Some(page.items),
        next_token: page.next_token,
    })
    .map_err(Fail)
}
