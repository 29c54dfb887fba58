//! The router: the live routing tables and the request path.
//!
//! Tables: one immutable snapshot per endpoint behind an `ArcSwap`. The controller replaces an
//! endpoint's table with [`Router::publish`] (one atomic swap: a request keeps the snapshot it
//! read, every later request sees the new one) and removes it with [`Router::unpublish`]; the
//! deployment engine counts a traffic step only once its table is live (docs/deployments.md).
//!
//! Requests: choose a variant by weight (or `TargetVariant`) and an instance by least
//! outstanding requests from the snapshot, forward over a pooled connection, retry once on
//! another instance only when the connection was refused, and report every outcome to the
//! observer (metrics).

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwap;
use bytes::Bytes;
use guardrail_core::routing::{pick_least_outstanding, pick_weighted, RoutingPlan};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use rand::Rng;

use crate::observe::{InvocationObserver, InvocationOutcome, InvocationRecord};
use crate::table::{build, EndpointTable, Target, VariantTable};
use crate::InvokeError;

#[derive(Clone, Debug)]
pub struct RouterConfig {
    /// How long a container may take to answer (SageMaker: 60 s).
    pub invocation_timeout: Duration,
    /// Largest response body accepted from a container (SageMaker: 6 MiB).
    pub max_response_bytes: usize,
    /// Requests one instance may have outstanding; more are refused with back-pressure.
    pub max_concurrency_per_instance: u32,
}

impl Default for RouterConfig {
    fn default() -> Self {
        RouterConfig {
            invocation_timeout: Duration::from_secs(60),
            max_response_bytes: 6 * 1024 * 1024,
            max_concurrency_per_instance: 1024,
        }
    }
}

/// An invocation as the proxy forwards it. Header values are already validated.
#[derive(Debug, Default)]
pub struct InvokeRequest {
    pub body: Bytes,
    pub content_type: Option<String>,
    pub accept: Option<String>,
    pub custom_attributes: Option<String>,
    pub target_variant: Option<String>,
    pub inference_id: Option<String>,
    pub target_container_hostname: Option<String>,
    pub enable_explanations: Option<String>,
}

#[derive(Debug)]
pub struct InvokeResponse {
    pub body: Bytes,
    pub content_type: Option<String>,
    pub custom_attributes: Option<String>,
    pub variant: String,
    pub instance: String,
}

type Tables = HashMap<String, Arc<EndpointTable>>;

pub struct Router {
    tables: ArcSwap<Tables>,
    /// Targets by instance id, reused across table versions. Only touched when publishing.
    registry: Mutex<HashMap<String, Arc<Target>>>,
    client: Client<HttpConnector, Full<Bytes>>,
    config: RouterConfig,
    rotation: AtomicUsize,
    observer: Option<Arc<dyn InvocationObserver>>,
}

impl Router {
    pub fn new(config: RouterConfig) -> Self {
        Self::build(config, None)
    }

    /// A router that reports every routed invocation to `observer` (metrics).
    pub fn with_observer(config: RouterConfig, observer: Arc<dyn InvocationObserver>) -> Self {
        Self::build(config, Some(observer))
    }

    fn build(config: RouterConfig, observer: Option<Arc<dyn InvocationObserver>>) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(Duration::from_secs(2)));
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(256)
            .build(connector);
        Router {
            tables: ArcSwap::from_pointee(HashMap::new()),
            registry: Mutex::new(HashMap::new()),
            client,
            config,
            rotation: AtomicUsize::new(0),
            observer,
        }
    }

    /// Atomically replaces the table of one endpoint. Requests already routed keep the
    /// snapshot they read; every request that starts after this returns sees the new one.
    pub fn publish(&self, endpoint_key: &str, endpoint_name: &str, plan: &RoutingPlan) {
        let mut registry = self.registry.lock().unwrap_or_else(|p| p.into_inner());
        let table = Arc::new(build(endpoint_name, plan, &mut registry));
        self.tables.rcu(|old| {
            let mut next = Tables::clone(old);
            next.insert(endpoint_key.to_string(), table.clone());
            next
        });
    }

    /// Removes an endpoint from routing: from now on it answers "not found".
    pub fn unpublish(&self, endpoint_key: &str) {
        self.tables.rcu(|old| {
            let mut next = Tables::clone(old);
            next.remove(endpoint_key);
            next
        });
    }

    /// The proxy's handle on an instance, for draining: its outstanding count.
    pub fn target(&self, instance_id: &str) -> Option<Arc<Target>> {
        let registry = self.registry.lock().unwrap_or_else(|p| p.into_inner());
        registry.get(instance_id).cloned()
    }

    /// Drops an instance the controller has stopped.
    pub fn forget_target(&self, instance_id: &str) {
        let mut registry = self.registry.lock().unwrap_or_else(|p| p.into_inner());
        registry.remove(instance_id);
    }

    pub fn is_routed(&self, endpoint_key: &str) -> bool {
        self.tables.load().contains_key(endpoint_key)
    }

    pub async fn invoke(
        &self,
        endpoint_key: &str,
        req: InvokeRequest,
    ) -> Result<InvokeResponse, InvokeError> {
        let started = std::time::Instant::now();
        let mut table = self
            .tables
            .load()
            .get(endpoint_key)
            .cloned()
            .ok_or_else(|| InvokeError::EndpointNotFound(endpoint_key.to_string()))?;
        let mut v = match self.choose_variant(&table, req.target_variant.as_deref()) {
            Ok(v) => v,
            Err(e) => {
                // Nothing can take it (no variant has a ready instance): not served, and
                // counted as such, like the same answer after refused connects.
                if let (Some(observer), InvokeError::NoHealthyInstance { variant, .. }) =
                    (&self.observer, &e)
                {
                    observer.observe(&InvocationRecord {
                        endpoint: &table.name,
                        variant,
                        config: "",
                        outcome: InvocationOutcome::NotServed,
                        model_latency: None,
                        total: started.elapsed(),
                        serving_instances: 0,
                    });
                }
                return Err(e);
            }
        };
        let mut tried: Option<Arc<Target>> = None;
        let mut sent: Option<(Arc<Target>, std::time::Instant)> = None;
        let result = loop {
            let variant = &table.variants[v];
            let target = match self.choose_target(&table, variant, tried.as_deref()) {
                Ok(t) => t,
                Err(e) => break Err(e),
            };
            sent = Some((target.clone(), std::time::Instant::now()));
            match self.forward(&target, variant, &req).await {
                Err(Attempt::ConnectFailed) if tried.is_none() => {
                    tracing::warn!(instance = %target.id, "connect failed; retrying on another instance");
                    tried = Some(target);
                    // The retry reads the live table: a connect that timed out took seconds,
                    // and instances of the first snapshot may have been stopped meanwhile.
                    let name = table.variants[v].name.clone();
                    if let Some(live) = self.tables.load().get(endpoint_key).cloned() {
                        if let Some(i) = live.variants.iter().position(|x| x.name == name) {
                            (table, v) = (live, i);
                        }
                    }
                }
                Err(Attempt::ConnectFailed) => {
                    sent = None;
                    break Err(InvokeError::NoHealthyInstance {
                        endpoint: table.name.clone(),
                        variant: variant.name.clone(),
                    });
                }
                Err(Attempt::Failed(e)) => break Err(e),
                Ok(resp) => break Ok(resp),
            }
        };
        let variant = &table.variants[v];
        if let Some(observer) = &self.observer {
            let model_latency = sent.as_ref().map(|(_, at)| at.elapsed());
            let outcome = match &result {
                Ok(_) => InvocationOutcome::Success,
                Err(InvokeError::ModelStatus { status, .. }) => {
                    InvocationOutcome::ModelStatus(*status)
                }
                Err(InvokeError::ModelFailed { .. } | InvokeError::ResponseTooLarge { .. }) => {
                    InvocationOutcome::ModelFailed
                }
                Err(_) => InvocationOutcome::NotServed,
            };
            let served = outcome != InvocationOutcome::NotServed;
            observer.observe(&InvocationRecord {
                endpoint: &table.name,
                variant: &variant.name,
                config: match (&sent, served) {
                    (Some((t, _)), true) => &t.config,
                    _ => "",
                },
                outcome,
                model_latency: model_latency.filter(|_| served),
                total: started.elapsed(),
                serving_instances: variant.serving_instances,
            });
        }
        result
    }

    /// The index of the variant that takes the request.
    fn choose_variant(
        &self,
        table: &EndpointTable,
        target_variant: Option<&str>,
    ) -> Result<usize, InvokeError> {
        if let Some(name) = target_variant {
            // TargetVariant overrides weights, even a weight of 0.
            return table
                .variants
                .iter()
                .position(|v| v.name == name)
                .ok_or_else(|| InvokeError::UnknownVariant {
                    endpoint: table.name.clone(),
                    variant: name.to_string(),
                });
        }
        let r: f64 = rand::thread_rng().gen();
        let i = pick_weighted(table.variants.iter().map(VariantTable::effective_weight), r)
            .ok_or_else(|| InvokeError::NoHealthyInstance {
                endpoint: table.name.clone(),
                variant: table
                    .variants
                    .first()
                    .map(|v| v.name.clone())
                    .unwrap_or_default(),
            })?;
        Ok(i)
    }

    fn choose_target(
        &self,
        table: &EndpointTable,
        variant: &VariantTable,
        exclude: Option<&Target>,
    ) -> Result<Arc<Target>, InvokeError> {
        let no_instance = || InvokeError::NoHealthyInstance {
            endpoint: table.name.clone(),
            variant: variant.name.clone(),
        };
        let candidates: Vec<&Arc<Target>> = match exclude {
            // First try: a fleet by its share, then an instance within it.
            None => {
                let r: f64 = rand::thread_rng().gen();
                let g = pick_weighted(variant.groups.iter().map(|g| g.effective_share()), r)
                    .ok_or_else(no_instance)?;
                variant.groups[g].targets.iter().collect()
            }
            // The retry after a refused connection: any other instance of the variant, so a
            // fleet whose only instance just died does not fail the request.
            Some(x) => variant
                .groups
                .iter()
                .flat_map(|g| g.targets.iter())
                .filter(|t| t.id != x.id)
                .collect(),
        };
        let counts: Vec<u32> = candidates.iter().map(|t| t.outstanding()).collect();
        let start = self.rotation.fetch_add(1, Ordering::Relaxed);
        let i = pick_least_outstanding(&counts, start).ok_or_else(no_instance)?;
        if counts[i] >= self.config.max_concurrency_per_instance {
            return Err(InvokeError::Overloaded {
                endpoint: table.name.clone(),
                variant: variant.name.clone(),
            });
        }
        Ok(candidates[i].clone())
    }

    async fn forward(
        &self,
        target: &Arc<Target>,
        variant: &VariantTable,
        req: &InvokeRequest,
    ) -> Result<InvokeResponse, Attempt> {
        let _in_flight = target.begin();
        let mut builder = http::Request::post(target.uri.clone());
        for (name, value) in [
            (http::header::CONTENT_TYPE.as_str(), &req.content_type),
            (http::header::ACCEPT.as_str(), &req.accept),
            ("x-amzn-sagemaker-custom-attributes", &req.custom_attributes),
            ("x-amzn-sagemaker-inference-id", &req.inference_id),
            (
                "x-amzn-sagemaker-target-container-hostname",
                &req.target_container_hostname,
            ),
            (
                "x-amzn-sagemaker-enable-explanations",
                &req.enable_explanations,
            ),
        ] {
            if let Some(v) = value {
                builder = builder.header(name, v.as_str());
            }
        }
        let request = builder
            .body(Full::new(req.body.clone()))
            .map_err(|e| self.model_failed(target, variant, e.to_string(), false))?;

        // One deadline for the whole answer, head and body together.
        let deadline = tokio::time::Instant::now() + self.config.invocation_timeout;
        let response = match tokio::time::timeout_at(deadline, self.client.request(request)).await {
            Err(_) => return Err(self.model_failed(target, variant, "timed out".into(), true)),
            Ok(Err(e)) if e.is_connect() => return Err(Attempt::ConnectFailed),
            Ok(Err(e)) => {
                // A pooled connection can die with its process just as a request is written
                // on it. If the instance no longer accepts connections it is gone and no
                // answer can come, so the request is treated like a refused connect.
                if instance_is_gone(target.addr).await {
                    return Err(Attempt::ConnectFailed);
                }
                return Err(self.model_failed(target, variant, e.to_string(), false));
            }
            Ok(Ok(r)) => r,
        };
        let (parts, body) = response.into_parts();
        let limit = self.config.max_response_bytes;
        let body =
            match tokio::time::timeout_at(deadline, Limited::new(body, limit).collect()).await {
                Err(_) => return Err(self.model_failed(target, variant, "timed out".into(), true)),
                Ok(Ok(b)) => b.to_bytes(),
                Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => {
                    return Err(Attempt::Failed(InvokeError::ResponseTooLarge {
                        variant: variant.name.clone(),
                        instance: target.id.clone(),
                        limit,
                    }))
                }
                Ok(Err(e)) => return Err(self.model_failed(target, variant, e.to_string(), false)),
            };
        if !parts.status.is_success() {
            return Err(Attempt::Failed(InvokeError::ModelStatus {
                variant: variant.name.clone(),
                instance: target.id.clone(),
                status: parts.status.as_u16(),
                body,
            }));
        }
        let header = |name: &str| {
            parts
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        Ok(InvokeResponse {
            body,
            content_type: header("content-type"),
            custom_attributes: header("x-amzn-sagemaker-custom-attributes"),
            variant: variant.name.clone(),
            instance: target.id.clone(),
        })
    }

    fn model_failed(
        &self,
        target: &Target,
        variant: &VariantTable,
        detail: String,
        timed_out: bool,
    ) -> Attempt {
        Attempt::Failed(InvokeError::ModelFailed {
            variant: variant.name.clone(),
            instance: target.id.clone(),
            detail,
            timed_out,
        })
    }
}

/// Whether nothing listens at `addr` any more (connect refused within a short bound).
async fn instance_is_gone(addr: std::net::SocketAddr) -> bool {
    matches!(
        tokio::time::timeout(Duration::from_millis(200), tokio::net::TcpStream::connect(addr)).await,
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused
    )
}

enum Attempt {
    /// Nothing reached the instance; another may be tried.
    ConnectFailed,
    Failed(InvokeError),
}
