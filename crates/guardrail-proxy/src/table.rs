//! The immutable routing snapshot and its construction from a plan.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use guardrail_core::routing::RoutingPlan;

/// One instance as the proxy sees it. The same `Arc<Target>` is reused across table
/// versions, so its outstanding-request count survives a swap (needed for draining).
#[derive(Debug)]
pub struct Target {
    pub id: String,
    pub addr: SocketAddr,
    /// The endpoint config of the instance's fleet (a metric dimension).
    pub config: Arc<str>,
    pub(crate) uri: http::Uri,
    outstanding: AtomicU32,
}

impl Target {
    pub(crate) fn new(id: &str, addr: SocketAddr, config: Arc<str>) -> Self {
        let uri = format!("http://{addr}/invocations")
            .parse()
            .expect("socket address forms a valid URI");
        Target {
            id: id.to_string(),
            addr,
            config,
            uri,
            outstanding: AtomicU32::new(0),
        }
    }

    pub fn outstanding(&self) -> u32 {
        self.outstanding.load(Ordering::Acquire)
    }

    pub(crate) fn begin(self: &Arc<Self>) -> InFlight {
        self.outstanding.fetch_add(1, Ordering::AcqRel);
        InFlight(self.clone())
    }
}

/// Decrements the outstanding count when the request ends, however it ends.
pub(crate) struct InFlight(Arc<Target>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.outstanding.fetch_sub(1, Ordering::AcqRel);
    }
}

#[derive(Debug)]
pub(crate) struct EndpointTable {
    pub(crate) name: String,
    pub(crate) variants: Vec<VariantTable>,
}

#[derive(Debug)]
pub(crate) struct VariantTable {
    pub(crate) name: String,
    pub(crate) weight: f64,
    pub(crate) groups: Vec<GroupTable>,
    /// Instances in groups that take traffic (`InvocationsPerInstance`).
    pub(crate) serving_instances: usize,
}

#[derive(Debug)]
pub(crate) struct GroupTable {
    pub(crate) share: f64,
    pub(crate) targets: Vec<Arc<Target>>,
}

impl VariantTable {
    /// A variant with no ready instance cannot serve: its weight counts as zero.
    pub(crate) fn effective_weight(&self) -> f64 {
        if self.groups.iter().any(|g| !g.targets.is_empty()) {
            self.weight
        } else {
            0.0
        }
    }
}

impl GroupTable {
    pub(crate) fn effective_share(&self) -> f64 {
        if self.targets.is_empty() {
            0.0
        } else {
            self.share
        }
    }
}

/// Builds a table from a plan, reusing known targets by id.
pub(crate) fn build(
    name: &str,
    plan: &RoutingPlan,
    registry: &mut HashMap<String, Arc<Target>>,
) -> EndpointTable {
    let variants = plan
        .variants
        .iter()
        .map(|v| {
            let groups: Vec<GroupTable> = v
                .groups
                .iter()
                .map(|g| GroupTable {
                    share: g.share,
                    targets: g
                        .instances
                        .iter()
                        .filter_map(|i| {
                            let addr: SocketAddr = match i.addr.parse() {
                                Ok(a) => a,
                                Err(_) => {
                                    tracing::error!(instance = %i.id, addr = %i.addr, "unroutable instance address");
                                    return None;
                                }
                            };
                            let fresh = || Arc::new(Target::new(&i.id, addr, g.config_name.as_str().into()));
                            let t = registry
                                .entry(i.id.clone())
                                .and_modify(|t| {
                                    if t.addr != addr || *t.config != *g.config_name {
                                        *t = fresh();
                                    }
                                })
                                .or_insert_with(fresh);
                            Some(t.clone())
                        })
                        .collect(),
                })
                .collect();
            let serving_instances = groups
                .iter()
                .filter(|g| g.share > 0.0)
                .map(|g| g.targets.len())
                .sum();
            VariantTable {
                name: v.name.clone(),
                weight: v.weight,
                groups,
                serving_instances,
            }
        })
        .collect();
    EndpointTable {
        name: name.to_string(),
        variants,
    }
}
