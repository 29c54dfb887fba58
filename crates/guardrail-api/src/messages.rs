//! Every message the SageMaker control plane answers with, in one place
//! (docs/sagemaker-api.md#message-catalogue). Clients match on some of them (`Could not find`,
//! `Cannot update in-progress`), so they are written once and tested once; handlers call these
//! instead of formatting text inline.

pub fn not_found(kind: &str, arn: &str) -> String {
    format!("Could not find {kind} \"{arn}\".")
}

pub fn already_exists(kind: &str, arn: &str) -> String {
    format!("Cannot create already existing {kind} \"{arn}\".")
}

pub fn in_progress(arn: &str) -> String {
    format!("Cannot update in-progress endpoint \"{arn}\".")
}

pub fn failed(arn: &str) -> String {
    format!("Cannot update failed endpoint \"{arn}\". Delete it and create it again.")
}

pub fn rollback_failed(arn: &str) -> String {
    format!("Endpoint \"{arn}\" is in UpdateRollbackFailed; call UpdateEndpoint to recover it.")
}

pub fn endpoint_not_found_runtime(name: &str, account: &str) -> String {
    format!("Endpoint {name} of account {account} not found.")
}

pub const INVALID_TOKEN: &str = "Invalid pagination token.";

// --- CreateModel -----------------------------------------------------------------------------

pub const CONTAINERS_BOTH: &str = "Specify PrimaryContainer or Containers, not both.";
pub const CONTAINERS_NEITHER: &str = "Either PrimaryContainer or Containers must be specified.";
pub const CONTAINERS_EMPTY: &str = "Containers must contain one container definition.";
pub const MULTI_CONTAINER: &str =
    "Multi-container models (Containers with more than one element) are not supported by Guardrail.";
pub const MULTI_MODEL: &str = "Container Mode MultiModel is not supported by Guardrail.";
pub const NO_IMAGE: &str =
    "The container definition must specify an Image (ModelPackageName is not supported by Guardrail).";

pub fn image_not_runnable(image: &str) -> String {
    format!(
        "Image \"{image}\" is not configured in Guardrail: add an [images.\"{image}\"] table with its \
         command to the config file, or a [containers] table to run images as containers."
    )
}

// --- endpoint configs and what an endpoint runs ---------------------------------------------

pub fn non_unique_variant(variant: &str) -> String {
    format!("The variant name \"{variant}\" was non-unique within the request.")
}

/// AWS's wording for a missing member the model marks optional but the operation needs.
pub fn member_must_not_be_null(path: &str) -> String {
    format!(
        "1 validation error detected: Value null at '{path}' failed to satisfy constraint: \
         Member must not be null"
    )
}

pub fn unreadable(what: &str, error: &dyn std::fmt::Display) -> String {
    format!("Stored {what} is unreadable: {error}")
}

pub const ASYNC_INFERENCE: &str =
    "Asynchronous inference (AsyncInferenceConfig) is not supported by Guardrail.";
pub const SHADOW_VARIANTS: &str = "Shadow production variants are not supported by Guardrail.";

pub fn serverless_variant(variant: &str) -> String {
    format!("Serverless production variant \"{variant}\" is not supported by Guardrail.")
}

pub fn instance_pools(variant: &str) -> String {
    format!("Instance pools of production variant \"{variant}\" are not supported by Guardrail.")
}

pub fn model_without_container(model: &str) -> String {
    format!("Model \"{model}\" has no container.")
}

pub fn model_image_not_runnable(image: &str, model: &str) -> String {
    format!(
        "Image \"{image}\" of model \"{model}\" is not configured in Guardrail's [images] table \
         and the container backend ([containers]) is off."
    )
}

// --- tags ------------------------------------------------------------------------------------

pub fn resource_not_found(arn: &str) -> String {
    format!("Resource \"{arn}\" does not exist.")
}

pub fn too_many_tags(max: usize, arn: &str, has: usize, adds: usize) -> String {
    format!(
        "A resource can have at most {max} tags; \"{arn}\" has {has} and the request adds {adds}."
    )
}

// --- DeploymentConfig and UpdateEndpoint -------------------------------------------------------

pub const BOTH_POLICIES: &str =
    "DeploymentConfig can contain BlueGreenUpdatePolicy or RollingUpdatePolicy, not both.";
pub const CANARY_SIZE_REQUIRED: &str = "CanarySize is required when Type is CANARY.";
pub const LINEAR_STEP_REQUIRED: &str = "LinearStepSize is required when Type is LINEAR.";
pub const CANARY_SIZE_ONLY_FOR_CANARY: &str = "CanarySize is only valid when Type is CANARY.";
pub const LINEAR_STEP_ONLY_FOR_LINEAR: &str = "LinearStepSize is only valid when Type is LINEAR.";
pub const RETAIN_WITH_DEPLOYMENT_CONFIG: &str =
    "RetainDeploymentConfig cannot be true when DeploymentConfig is specified.";

pub fn unknown_capacity_type(kind: &str) -> String {
    format!("Unknown CapacitySize Type {kind}.")
}
