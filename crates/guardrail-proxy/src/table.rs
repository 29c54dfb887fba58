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

#[cfg(test)]
mod tests {
    use super::*;
    use guardrail_core::routing::{RouteGroup, RouteInstance, RouteVariant};

    fn group(config: &str, share: f64, instances: &[(&str, &str)]) -> RouteGroup {
        RouteGroup {
            fleet: 0,
            config_name: config.to_string(),
            share,
            instances: instances
                .iter()
                .map(|(id, addr)| RouteInstance {
                    id: id.to_string(),
                    addr: addr.to_string(),
                })
                .collect(),
        }
    }

    fn plan(variants: Vec<(&str, f64, Vec<RouteGroup>)>) -> RoutingPlan {
        RoutingPlan {
            variants: variants
                .into_iter()
                .map(|(name, weight, groups)| RouteVariant {
                    name: name.to_string(),
                    weight,
                    groups,
                })
                .collect(),
        }
    }

    #[test]
    fn targets_are_reused_by_id_until_their_address_or_config_changes() {
        let mut registry = HashMap::new();
        let p = plan(vec![(
            "A",
            1.0,
            vec![group(
                "c1",
                1.0,
                &[("i0", "127.0.0.1:1000"), ("i1", "127.0.0.1:1001")],
            )],
        )]);
        let first = build("Ep", &p, &mut registry);
        let i0 = first.variants[0].groups[0].targets[0].clone();
        let _in_flight = i0.begin();

        let again = build("Ep", &p, &mut registry);
        let same = &again.variants[0].groups[0].targets[0];
        assert!(
            Arc::ptr_eq(&i0, same),
            "same id, address and config: same target"
        );
        assert_eq!(same.outstanding(), 1, "the count survives a new table");

        let moved = plan(vec![(
            "A",
            1.0,
            vec![group("c1", 1.0, &[("i0", "127.0.0.1:2000")])],
        )]);
        let t = build("Ep", &moved, &mut registry).variants[0].groups[0].targets[0].clone();
        assert!(!Arc::ptr_eq(&i0, &t));
        assert_eq!((t.addr.port(), t.outstanding()), (2000, 0));
        assert_eq!(t.uri, "http://127.0.0.1:2000/invocations");

        let reconfigured = plan(vec![(
            "A",
            1.0,
            vec![group("c2", 1.0, &[("i0", "127.0.0.1:2000")])],
        )]);
        let t2 = build("Ep", &reconfigured, &mut registry).variants[0].groups[0].targets[0].clone();
        assert!(!Arc::ptr_eq(&t, &t2));
        assert_eq!(&*t2.config, "c2");
        assert!(Arc::ptr_eq(&registry["i0"], &t2));
    }

    #[test]
    fn unparsable_addresses_are_left_out() {
        let mut registry = HashMap::new();
        let p = plan(vec![(
            "A",
            1.0,
            vec![group(
                "c",
                1.0,
                &[("bad", "localhost"), ("ok", "127.0.0.1:1")],
            )],
        )]);
        let t = build("Ep", &p, &mut registry);
        let ids: Vec<&str> = t.variants[0].groups[0]
            .targets
            .iter()
            .map(|t| t.id.as_str())
            .collect();
        assert_eq!(ids, ["ok"]);
        assert!(!registry.contains_key("bad"));
    }

    #[test]
    fn variants_and_fleets_without_instances_take_no_traffic() {
        let mut registry = HashMap::new();
        let p = plan(vec![
            (
                "A",
                2.0,
                vec![
                    group(
                        "blue",
                        0.75,
                        &[("b0", "127.0.0.1:1"), ("b1", "127.0.0.1:2")],
                    ),
                    group("green", 0.25, &[]),
                    group("idle", 0.0, &[("x0", "127.0.0.1:3")]),
                ],
            ),
            ("B", 1.0, vec![group("c", 1.0, &[])]),
        ]);
        let t = build("Ep", &p, &mut registry);
        assert_eq!(t.name, "Ep");
        let (a, b) = (&t.variants[0], &t.variants[1]);
        assert_eq!(a.effective_weight(), 2.0);
        assert_eq!(b.effective_weight(), 0.0, "no ready instance: weight 0");
        assert_eq!(a.groups[0].effective_share(), 0.75);
        assert_eq!(a.groups[1].effective_share(), 0.0);
        assert_eq!(a.groups[2].effective_share(), 0.0);
        assert_eq!(a.serving_instances, 2, "only fleets with a share count");
        assert_eq!(b.serving_instances, 0);
    }

    #[test]
    fn in_flight_guards_count_outstanding_requests() {
        let t = Arc::new(Target::new("i", "127.0.0.1:1".parse().unwrap(), "c".into()));
        let (g1, g2) = (t.begin(), t.begin());
        assert_eq!(t.outstanding(), 2);
        drop(g1);
        assert_eq!(t.outstanding(), 1);
        drop(g2);
        assert_eq!(t.outstanding(), 0);
    }
}
