//! CreateEndpoint, DescribeEndpoint, ListEndpoints, DeleteEndpoint,
//! UpdateEndpointWeightsAndCapacities.

use guardrail_api::error::messages;
use guardrail_api::generated::sagemaker::{
    CreateEndpointInput, CreateEndpointOutput, DeleteEndpointInput, DeployedImage,
    DescribeEndpointInput, DescribeEndpointOutput, EndpointSummary, ListEndpointsInput,
    ListEndpointsOutput, PendingDeploymentSummary, PendingProductionVariantSummary,
    ProductionVariantStatus, ProductionVariantSummary, UpdateEndpointWeightsAndCapacitiesInput,
    UpdateEndpointWeightsAndCapacitiesOutput,
};
use guardrail_api::wire::Timestamp;
use guardrail_core::deploy::VariantView;
use guardrail_core::lifecycle::{
    change_weights_and_capacities, ChangeError, DesiredVariant, EndpointRecord, StatusRefusal,
};
use guardrail_core::names::{name_key, ResourceKind};
use guardrail_core::status::EndpointStatus;
use guardrail_store::EndpointRow;

use super::{invalid, snapshot, Fail, Reply};
use crate::awsjson::to_value;
use crate::list::{name_contains, page_size, paginate, Item, SortVal};
use crate::AppState;

fn ts(t: guardrail_core::time::Timestamp) -> Option<Timestamp> {
    Some(Timestamp::from_millis(t.millis()))
}

pub(crate) async fn create(state: &AppState, mut input: CreateEndpointInput) -> Reply {
    let name = input.endpoint_name.clone().unwrap_or_default();
    let config_name = input.endpoint_config_name.clone().unwrap_or_default();
    let tags = super::tags::from_wire(input.tags.take());
    if let Some(dc) = &input.deployment_config {
        super::deployment_config::check_wire(dc)?;
        let cfg = super::deployment_config::to_core(dc)?;
        cfg.check_alarms_exist(|a| state.monitor.alarm_exists(a))
            .map_err(invalid)?;
    }
    let extra = serde_json::json!({ "DeploymentConfig": input.deployment_config });
    let arn = state.arns.arn(ResourceKind::Endpoint, &name);
    let arns = state.arns.clone();
    let images = state.controller.images().clone();
    let now = state.controller.clock().now();
    let key = name_key(&name);
    let row_arn = arn.clone();
    let row_key = key.clone();
    let limits = state.limits;
    state
        .store
        .write(move |tx| {
            if tx.get_endpoint(&row_key)?.is_some() {
                return Err(invalid(messages::already_exists("endpoint", &row_arn)));
            }
            let (spec, _) = snapshot::resolve(tx, &arns, &images, &config_name)?;
            let (other_endpoints, other_instances) = crate::limits::others(tx, &row_key)?;
            limits.check(crate::limits::Demand {
                other_endpoints,
                other_instances,
                endpoint_instances: spec.total_instances(),
                creates: true,
            })?;
            let row = EndpointRow {
                key: row_key,
                name: name.clone(),
                arn: row_arn.clone(),
                seq: tx.next_seq("resource")?,
                record: EndpointRecord::new(&name, spec, now),
                extra,
            };
            tx.insert_endpoint(&row)?;
            tx.add_tags(&row_arn, &tags)?;
            Ok(())
        })
        .await?;
    state.controller.nudge(&key);
    to_value(&CreateEndpointOutput {
        endpoint_arn: Some(arn),
    })
    .map_err(Fail)
}

pub(crate) async fn get(state: &AppState, name: &str) -> Result<EndpointRow, Fail> {
    let key = name_key(name);
    let arn = state.arns.arn(ResourceKind::Endpoint, name);
    state
        .store
        .read(move |tx| {
            tx.get_endpoint(&key)?
                .ok_or_else(|| invalid(messages::not_found("endpoint", &arn)))
        })
        .await
}

pub(crate) async fn describe(state: &AppState, input: DescribeEndpointInput) -> Reply {
    let row = get(state, input.endpoint_name.as_deref().unwrap_or_default()).await?;
    let observed = state.controller.observed(&row.key);
    let now = state.controller.clock().now();
    let view = guardrail_core::deploy::describe(&row.record, &observed, now);
    let last_deployment_config = row
        .extra
        .get("DeploymentConfig")
        .filter(|v| !v.is_null())
        .and_then(|v| serde_json::from_value(v.clone()).ok());
    let pending = view.pending.map(|p| PendingDeploymentSummary {
        endpoint_config_name: Some(p.endpoint_config_name),
        start_time: ts(p.start_time),
        production_variants: Some(
            p.variants
                .into_iter()
                .map(|v| {
                    let Summary {
                        summary: s,
                        instance_type,
                    } = variant_summary(v);
                    PendingProductionVariantSummary {
                        variant_name: s.variant_name,
                        deployed_images: s.deployed_images,
                        current_weight: s.current_weight,
                        desired_weight: s.desired_weight,
                        current_instance_count: s.current_instance_count,
                        desired_instance_count: s.desired_instance_count,
                        variant_status: s.variant_status,
                        instance_type,
                        ..Default::default()
                    }
                })
                .collect(),
        ),
        ..Default::default()
    });
    to_value(&DescribeEndpointOutput {
        endpoint_name: Some(row.name.clone()),
        endpoint_arn: Some(row.arn.clone()),
        endpoint_config_name: Some(view.endpoint_config_name),
        production_variants: Some(
            view.variants
                .into_iter()
                .map(|v| variant_summary(v).summary)
                .collect(),
        ),
        endpoint_status: Some(view.status.as_str().to_string()),
        failure_reason: view.failure_reason,
        creation_time: ts(row.record.creation_time),
        last_modified_time: ts(row.record.last_modified_time),
        last_deployment_config,
        pending_deployment_summary: pending,
        ..Default::default()
    })
    .map_err(Fail)
}

/// A variant summary plus the pending-only instance type.
struct Summary {
    summary: ProductionVariantSummary,
    instance_type: Option<String>,
}

fn variant_summary(v: VariantView) -> Summary {
    Summary {
        instance_type: v.instance_type,
        summary: ProductionVariantSummary {
            variant_name: Some(v.name),
            deployed_images: Some(
                v.deployed_images
                    .into_iter()
                    .map(|d| DeployedImage {
                        specified_image: Some(d.specified_image),
                        resolved_image: Some(d.resolved_image),
                        resolution_time: ts(d.resolution_time),
                    })
                    .collect(),
            ),
            current_weight: Some(v.current_weight),
            desired_weight: Some(v.desired_weight),
            current_instance_count: Some(i64::from(v.current_instance_count)),
            desired_instance_count: Some(i64::from(v.desired_instance_count)),
            variant_status: v.status.map(|st| {
                vec![ProductionVariantStatus {
                    status: Some(st.status.as_str().to_string()),
                    status_message: Some(st.message),
                    start_time: ts(st.start_time),
                }]
            }),
            ..Default::default()
        },
    }
}

pub(crate) async fn delete(state: &AppState, input: DeleteEndpointInput) -> Reply {
    let name = input.endpoint_name.unwrap_or_default();
    let key = name_key(&name);
    let arn = state.arns.arn(ResourceKind::Endpoint, &name);
    let now = state.controller.clock().now();
    let k = key.clone();
    state
        .store
        .write(move |tx| {
            let mut row = tx
                .get_endpoint(&k)?
                .ok_or_else(|| invalid(messages::not_found("endpoint", &arn)))?;
            // Accepted in every state: in Creating/Updating it cancels the work in progress.
            if row.record.status != EndpointStatus::Deleting {
                row.record.status = EndpointStatus::Deleting;
                row.record.last_modified_time = now;
                tx.update_endpoint(&row)?;
            }
            Ok::<(), Fail>(())
        })
        .await?;
    state.controller.nudge(&key);
    Ok(serde_json::json!({}))
}

pub(crate) async fn list(state: &AppState, input: ListEndpointsInput) -> Reply {
    let rows = state.store.read(|tx| tx.list_endpoints()).await?;
    let sort_by = input.sort_by.as_deref().unwrap_or("CreationTime");
    let descending = input.sort_order.as_deref() != Some("Ascending");
    let millis = |t: &Option<Timestamp>| t.map(|t| t.as_millis());
    let (cb, ca) = (
        millis(&input.creation_time_before),
        millis(&input.creation_time_after),
    );
    let (mb, ma) = (
        millis(&input.last_modified_time_before),
        millis(&input.last_modified_time_after),
    );
    let items = rows
        .into_iter()
        .filter(|r| name_contains(&r.name, input.name_contains.as_deref()))
        .filter(|r| {
            let (c, m) = (
                r.record.creation_time.millis(),
                r.record.last_modified_time.millis(),
            );
            cb.is_none_or(|b| c < b)
                && ca.is_none_or(|a| c >= a)
                && mb.is_none_or(|b| m < b)
                && ma.is_none_or(|a| m >= a)
        })
        .filter(|r| {
            input
                .status_equals
                .as_deref()
                .is_none_or(|s| s == r.record.status.as_str())
        })
        .map(|r| Item {
            sort: match sort_by {
                "Name" => SortVal::Str(r.key.clone()),
                "Status" => SortVal::Str(r.record.status.as_str().to_string()),
                _ => SortVal::Num(r.record.creation_time.millis()),
            },
            name_key: r.key.clone(),
            seq: r.seq,
            value: EndpointSummary {
                endpoint_name: Some(r.name.clone()),
                endpoint_arn: Some(r.arn.clone()),
                creation_time: ts(r.record.creation_time),
                last_modified_time: ts(r.record.last_modified_time),
                endpoint_status: Some(r.record.status.as_str().to_string()),
            },
        })
        .collect();
    let fingerprint = format!(
        "endpoints|{sort_by}|{descending}|{:?}|{cb:?}|{ca:?}|{mb:?}|{ma:?}|{:?}",
        input.name_contains, input.status_equals
    );
    let page = paginate(
        items,
        descending,
        page_size(input.max_results),
        input.next_token.as_deref(),
        &fingerprint,
    )?;
    to_value(&ListEndpointsOutput {
        endpoints: Some(page.items),
        next_token: page.next_token,
    })
    .map_err(Fail)
}

/// The answer to a change the endpoint's status refuses (the rule is the core's).
pub(crate) fn refusal(refusal: StatusRefusal, arn: &str) -> Fail {
    invalid(match refusal {
        StatusRefusal::InProgress => messages::in_progress(arn),
        StatusRefusal::Failed => messages::failed(arn),
        StatusRefusal::RollbackFailed => messages::rollback_failed(arn),
    })
}

pub(crate) async fn update_weights_and_capacities(
    state: &AppState,
    input: UpdateEndpointWeightsAndCapacitiesInput,
) -> Reply {
    let name = input.endpoint_name.unwrap_or_default();
    let key = name_key(&name);
    let arn = state.arns.arn(ResourceKind::Endpoint, &name);
    let wanted: Vec<DesiredVariant> = input
        .desired_weights_and_capacities
        .unwrap_or_default()
        .into_iter()
        .map(|w| DesiredVariant {
            variant: w.variant_name.unwrap_or_default(),
            weight: w.desired_weight,
            instance_count: w.desired_instance_count,
        })
        .collect();
    let now = state.controller.clock().now();
    let limits = state.limits;
    let k = key.clone();
    let out_arn = arn.clone();
    state
        .store
        .write(move |tx| {
            let mut row = tx
                .get_endpoint(&k)?
                .ok_or_else(|| invalid(messages::not_found("endpoint", &arn)))?;
            row.record =
                change_weights_and_capacities(&row.record, &wanted, now).map_err(|e| match e {
                    ChangeError::Status(r) => refusal(r, &arn),
                    ChangeError::Invalid(m) => invalid(m),
                })?;
            let (other_endpoints, other_instances) = crate::limits::others(tx, &k)?;
            limits.check(crate::limits::Demand {
                other_endpoints,
                other_instances,
                endpoint_instances: row.record.desired_instances(),
                creates: false,
            })?;
            tx.update_endpoint(&row)?;
            Ok::<(), Fail>(())
        })
        .await?;
    state.controller.nudge(&key);
    to_value(&UpdateEndpointWeightsAndCapacitiesOutput {
        endpoint_arn: Some(out_arn),
    })
    .map_err(Fail)
}
