//! SageMaker control-plane operations, one module per resource.

mod deployment_config;
mod endpoint_configs;
mod endpoints;
mod models;
mod snapshot;
mod tags;
mod update;

use guardrail_api::error::ApiError;
use guardrail_api::wire::{from_json_body, Validate};
use guardrail_store::StoreError;
use serde::de::DeserializeOwned;

use crate::AppState;

/// Error inside a handler: an API error, or a store failure that becomes `InternalFailure`
/// (detail logged, never sent).
pub(crate) struct Fail(pub(crate) ApiError);

impl From<ApiError> for Fail {
    fn from(e: ApiError) -> Self {
        Fail(e)
    }
}

impl From<StoreError> for Fail {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, disk = e.is_disk_problem(), "store failure");
        Fail(ApiError::Internal)
    }
}

pub(crate) type Reply = Result<serde_json::Value, Fail>;

/// The List* request members shared by ListModels and ListEndpointConfigs.
pub(crate) struct ResourceQuery<'a> {
    pub(crate) sort_by: Option<&'a str>,
    pub(crate) sort_order: Option<&'a str>,
    pub(crate) name_contains: Option<&'a str>,
    pub(crate) creation_time_before: Option<guardrail_api::wire::Timestamp>,
    pub(crate) creation_time_after: Option<guardrail_api::wire::Timestamp>,
    pub(crate) max_results: Option<i64>,
    pub(crate) next_token: Option<&'a str>,
}

/// Filters, sorts and pages models or endpoint configs.
pub(crate) async fn list_resources(
    state: &AppState,
    kind: guardrail_core::names::ResourceKind,
    q: ResourceQuery<'_>,
) -> Result<crate::list::Page<guardrail_store::ResourceRow>, Fail> {
    use crate::list::{name_contains, page_size, paginate, Item, SortVal};
    let rows = state.store.read(move |tx| tx.list_resources(kind)).await?;
    let sort_by = q.sort_by.unwrap_or("CreationTime");
    let descending = q.sort_order != Some("Ascending");
    let before = q.creation_time_before.map(|t| t.as_millis());
    let after = q.creation_time_after.map(|t| t.as_millis());
    let items = rows
        .into_iter()
        .filter(|r| name_contains(&r.name, q.name_contains))
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
            value: r,
        })
        .collect();
    let fingerprint = format!(
        "{kind:?}|{sort_by}|{descending}|{:?}|{before:?}|{after:?}",
        q.name_contains
    );
    Ok(paginate(
        items,
        descending,
        page_size(q.max_results),
        q.next_token,
        &fingerprint,
    )?)
}

pub(crate) fn invalid(msg: impl Into<String>) -> Fail {
    Fail(ApiError::Validation(msg.into()))
}

fn parse<T: DeserializeOwned + Validate>(body: &[u8]) -> Result<T, Fail> {
    Ok(from_json_body(body).map_err(ApiError::from)?)
}

pub(crate) async fn dispatch(
    state: &AppState,
    op: &str,
    body: &[u8],
) -> Result<serde_json::Value, ApiError> {
    let reply = match op {
        "CreateModel" => models::create(state, parse(body)?).await,
        "DescribeModel" => models::describe(state, parse(body)?).await,
        "ListModels" => models::list(state, parse(body)?).await,
        "DeleteModel" => models::delete(state, parse(body)?).await,
        "CreateEndpointConfig" => endpoint_configs::create(state, parse(body)?).await,
        "DescribeEndpointConfig" => endpoint_configs::describe(state, parse(body)?).await,
        "ListEndpointConfigs" => endpoint_configs::list(state, parse(body)?).await,
        "DeleteEndpointConfig" => endpoint_configs::delete(state, parse(body)?).await,
        "CreateEndpoint" => endpoints::create(state, parse(body)?).await,
        "DescribeEndpoint" => endpoints::describe(state, parse(body)?).await,
        "ListEndpoints" => endpoints::list(state, parse(body)?).await,
        "DeleteEndpoint" => endpoints::delete(state, parse(body)?).await,
        "UpdateEndpoint" => update::update(state, parse(body)?).await,
        "UpdateEndpointWeightsAndCapacities" => {
            endpoints::update_weights_and_capacities(state, parse(body)?).await
        }
        "AddTags" => tags::add(state, parse(body)?).await,
        "ListTags" => tags::list(state, parse(body)?).await,
        "DeleteTags" => tags::delete(state, parse(body)?).await,
        _ => Err(Fail(ApiError::UnknownOperation(format!(
            "Operation SageMaker.{op} is not supported by Guardrail."
        )))),
    };
    reply.map_err(|f| f.0)
}

impl From<Fail> for ApiError {
    fn from(f: Fail) -> Self {
        f.0
    }
}
