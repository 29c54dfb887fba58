//! Guardrail's data plane. The controller publishes a [`guardrail_core::routing::RoutingPlan`]
//! per endpoint; the [`Router`] turns it into an immutable table and swaps it in atomically,
//! so the request path reads a snapshot without locks. Per request: pick a variant by weight
//! (or `TargetVariant`), a fleet by share, an instance by fewest outstanding requests, then
//! forward over a pooled connection. A request that never reached an instance (connect
//! refused, or a pooled connection whose process has died and no longer accepts connections)
//! is retried once on another instance; nothing else is retried.
//!
//! No control-plane logic and no wire-protocol framing here: errors are [`InvokeError`]
//! values that `guardrail-api` maps to AWS errors.

mod forward;
mod observe;
mod table;

pub use forward::{InvokeRequest, InvokeResponse, Router, RouterConfig};
pub use observe::{InvocationObserver, InvocationOutcome, InvocationRecord};
pub use table::Target;

use bytes::Bytes;

/// Why an invocation failed, with who is at fault.
#[derive(Debug, thiserror::Error)]
pub enum InvokeError {
    /// The endpoint does not exist or does not serve traffic in its status (caller's fault).
    #[error("endpoint {0} not found")]
    EndpointNotFound(String),
    /// `TargetVariant` names no variant of the endpoint (caller's fault).
    #[error("target variant {variant} is not present in endpoint {endpoint}")]
    UnknownVariant { endpoint: String, variant: String },
    /// Nothing reached a container: no ready instance, or every connect was refused.
    /// Safe for the client to retry.
    #[error("no healthy instance for variant {variant} of endpoint {endpoint}")]
    NoHealthyInstance { endpoint: String, variant: String },
    /// Per-instance concurrency limit reached everywhere; nothing reached a container.
    #[error("instances of variant {variant} are at their concurrency limit")]
    Overloaded { endpoint: String, variant: String },
    /// The container answered non-2xx (model's fault).
    #[error("container answered {status}")]
    ModelStatus {
        variant: String,
        instance: String,
        status: u16,
        body: Bytes,
    },
    /// The container timed out or dropped the connection mid-request (model's fault).
    #[error("container failed: {detail}")]
    ModelFailed {
        variant: String,
        instance: String,
        detail: String,
        timed_out: bool,
    },
    /// The container's answer exceeds the response limit (model's fault).
    #[error("container response larger than {limit} bytes")]
    ResponseTooLarge {
        variant: String,
        instance: String,
        limit: usize,
    },
}
