//! SageMaker control-plane operations, one module per resource.

mod deployment_config;
mod endpoint_configs;
mod endpoints;
mod models;
mod snapshot;
mod tags;

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
