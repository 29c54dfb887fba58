//! What the router reports about every invocation it routed, for metrics. The observer is
//! called once per request on the request path, so implementations must be cheap and never
//! block (the monitor only adds to per-second accumulators).

use std::time::Duration;

/// How a routed invocation ended.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum InvocationOutcome {
    /// The container answered 2xx.
    Success,
    /// The container answered this non-2xx status.
    ModelStatus(u16),
    /// The container timed out, dropped the connection, or its answer was too large.
    ModelFailed,
    /// Guardrail itself could not serve it (no ready instance, every instance at its limit):
    /// nothing reached a container.
    NotServed,
}

/// One routed invocation.
#[derive(Debug)]
pub struct InvocationRecord<'a> {
    pub endpoint: &'a str,
    pub variant: &'a str,
    /// The endpoint config of the fleet that served it (empty when `NotServed`).
    pub config: &'a str,
    pub outcome: InvocationOutcome,
    /// From sending to the container to its full response; `None` when nothing was sent.
    pub model_latency: Option<Duration>,
    /// Time spent in the router in total.
    pub total: Duration,
    /// Instances of the variant taking traffic when the request was routed.
    pub serving_instances: usize,
}

pub trait InvocationObserver: Send + Sync + 'static {
    fn observe(&self, record: &InvocationRecord<'_>);
}
