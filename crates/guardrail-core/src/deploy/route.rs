//! Routing tables during a deployment (docs/deployments.md#traffic-and-capacity): per variant one group per fleet,
//! green holding share *f* on its first `green_active` Ready instances and the old side
//! `1 − f` on its first `old_active`. A fleet short of Ready capacity gets its share capped
//! by `ready / required`; the remainder goes to the other side. Only Ready instances are
//! ever listed. A step counts as done only when the router serves it (set → verify).

use crate::fleet::ObservedInstance;
use crate::names::name_key;
use crate::routing::{RouteGroup, RouteInstance, RouteVariant, RoutingPlan};

const EPS: f64 = 1e-9;

/// What a phase asks of one variant.
#[derive(Copy, Clone, Debug, PartialEq)]
pub(crate) struct Split {
    /// Green's share of the variant's traffic.
    pub(crate) share: f64,
    /// Green instances that carry it.
    pub(crate) green_active: u32,
    /// Old-side instances that carry the rest.
    pub(crate) old_active: u32,
}

/// The Ready instances of one fleet for one variant, in preference order.
pub(crate) struct Side<'a> {
    pub(crate) fleet: u32,
    pub(crate) config_name: &'a str,
    pub(crate) ready: Vec<&'a ObservedInstance>,
}

/// One variant's routing, and whether either side lacked the capacity the split asks for.
pub(crate) struct Routed {
    pub(crate) variant: RouteVariant,
    pub(crate) green_short: bool,
    pub(crate) old_short: bool,
}

fn listed(endpoint_key: &str, ready: &[&ObservedInstance], n: usize) -> Vec<RouteInstance> {
    ready
        .iter()
        .take(n)
        .filter_map(|o| {
            o.ready_addr().map(|addr| RouteInstance {
                id: o.key.instance_id(endpoint_key),
                addr: addr.to_string(),
            })
        })
        .collect()
}

fn as_usize(n: u32) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// Splits one variant between the green side and the old side (blue first, then any stale
/// fleet).
pub(crate) fn split_variant(
    endpoint: &str,
    name: &str,
    weight: f64,
    split: Split,
    green: &Side<'_>,
    old: &[Side<'_>],
) -> Routed {
    let key = name_key(endpoint);
    let f = split.share.clamp(0.0, 1.0);
    let g_ready = green.ready.len();
    let old_ready: Vec<&ObservedInstance> =
        old.iter().flat_map(|s| s.ready.iter().copied()).collect();
    let o_ready = old_ready.len();
    let (g_want, o_want) = (as_usize(split.green_active), as_usize(split.old_active));
    let cap = |want: usize, ready: usize, share: f64| -> (f64, usize) {
        if share <= EPS || want == 0 {
            (0.0, 0)
        } else {
            let take = ready.min(want);
            (share * take as f64 / want as f64, take)
        }
    };
    let (gs0, mut g_list) = cap(g_want, g_ready, f);
    let (os0, mut o_list) = cap(o_want, o_ready, 1.0 - f);
    let green_short = f > EPS && gs0 < f - EPS;
    let old_short = 1.0 - f > EPS && os0 < 1.0 - f - EPS;
    let (mut gs, mut os) = (gs0, os0);
    if green_short && o_ready > 0 {
        os += f - gs0;
        o_list = o_ready;
    }
    if old_short && g_ready > 0 {
        gs += 1.0 - f - os0;
        g_list = g_ready;
    }
    let total = gs + os;
    if total > EPS {
        gs /= total;
        os /= total;
    } else {
        // Nothing Ready on either side: keep the nominal split; the proxy answers
        // ServiceUnavailable for a variant without instances.
        gs = f;
        os = 1.0 - f;
    }
    let mut groups = Vec::new();
    if gs > EPS {
        groups.push(RouteGroup {
            fleet: green.fleet,
            config_name: green.config_name.to_string(),
            share: gs,
            instances: listed(&key, &green.ready, g_list),
        });
    }
    if os > EPS {
        // The old side's share spreads over its listed instances, fleet by fleet.
        let mut left = o_list;
        let mut parts = Vec::new();
        for side in old {
            let n = side.ready.len().min(left);
            left -= n;
            parts.push((side, n));
        }
        let listed_total: usize = parts.iter().map(|(_, n)| n).sum();
        if listed_total == 0 {
            if let Some(first) = old.first() {
                groups.push(RouteGroup {
                    fleet: first.fleet,
                    config_name: first.config_name.to_string(),
                    share: os,
                    instances: Vec::new(),
                });
            }
        } else {
            for (side, n) in parts.into_iter().filter(|(_, n)| *n > 0) {
                groups.push(RouteGroup {
                    fleet: side.fleet,
                    config_name: side.config_name.to_string(),
                    share: os * n as f64 / listed_total as f64,
                    instances: listed(&key, &side.ready, n),
                });
            }
        }
    }
    Routed {
        variant: RouteVariant {
            name: name.to_string(),
            weight,
            groups,
        },
        green_short,
        old_short,
    }
}

/// Every fleet's Ready instances, each fleet weighted by its Ready count (the endpoint serves
/// a mix after a failed rollback).
pub(crate) fn spread_variant(
    endpoint: &str,
    name: &str,
    weight: f64,
    sides: &[Side<'_>],
) -> RouteVariant {
    let key = name_key(endpoint);
    let total: usize = sides.iter().map(|s| s.ready.len()).sum();
    let groups = if total == 0 {
        sides
            .first()
            .map(|s| RouteGroup {
                fleet: s.fleet,
                config_name: s.config_name.to_string(),
                share: 1.0,
                instances: Vec::new(),
            })
            .into_iter()
            .collect()
    } else {
        sides
            .iter()
            .filter(|s| !s.ready.is_empty())
            .map(|s| RouteGroup {
                fleet: s.fleet,
                config_name: s.config_name.to_string(),
                share: s.ready.len() as f64 / total as f64,
                instances: listed(&key, &s.ready, s.ready.len()),
            })
            .collect()
    };
    RouteVariant {
        name: name.to_string(),
        weight,
        groups,
    }
}

/// `(fleet, share)` of the groups that take traffic, sorted.
fn shares(v: &RouteVariant) -> Vec<(u32, f64)> {
    let mut out: Vec<(u32, f64)> = v
        .groups
        .iter()
        .filter(|g| g.share > EPS)
        .map(|g| (g.fleet, g.share))
        .collect();
    out.sort_by_key(|(f, _)| *f);
    out
}

/// Whether the router serves `want`'s weights and shares (instance lists may differ: a
/// replaced instance does not undo a verified step).
pub(crate) fn is_live(live: Option<&RoutingPlan>, want: &RoutingPlan) -> bool {
    let Some(live) = live else { return false };
    live.variants.len() == want.variants.len()
        && want.variants.iter().all(|w| {
            live.variants.iter().any(|l| {
                l.name == w.name && (l.weight - w.weight).abs() <= EPS && {
                    let (a, b) = (shares(l), shares(w));
                    a.len() == b.len()
                        && a.iter()
                            .zip(&b)
                            .all(|(x, y)| x.0 == y.0 && (x.1 - y.1).abs() <= EPS)
                }
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::{InstanceHealth, InstanceKey};
    use crate::time::Timestamp;

    fn inst(fleet: u32, slot: u32) -> ObservedInstance {
        ObservedInstance {
            key: InstanceKey {
                fleet,
                variant: "A".into(),
                slot,
                incarnation: slot,
            },
            launched_at: Timestamp(0),
            health: InstanceHealth::Ready {
                addr: format!("127.0.0.1:{}", 9000 + fleet * 100 + slot),
            },
        }
    }

    fn route(split: Split, green: &[ObservedInstance], blue: &[ObservedInstance]) -> Routed {
        let g = Side {
            fleet: 1,
            config_name: "c2",
            ready: green.iter().collect(),
        };
        let b = Side {
            fleet: 0,
            config_name: "c1",
            ready: blue.iter().collect(),
        };
        split_variant("ep", "A", 1.0, split, &g, &[b])
    }

    fn group(r: &Routed, fleet: u32) -> Option<(f64, usize)> {
        r.variant
            .groups
            .iter()
            .find(|g| g.fleet == fleet)
            .map(|g| (g.share, g.instances.len()))
    }

    #[test]
    fn canary_split_lists_c_green_and_n_minus_c_blue() {
        let green: Vec<_> = (0..4).map(|s| inst(1, s)).collect();
        let blue: Vec<_> = (0..4).map(|s| inst(0, s)).collect();
        let split = Split {
            share: 0.25,
            green_active: 1,
            old_active: 3,
        };
        let r = route(split, &green, &blue);
        assert_eq!(group(&r, 1), Some((0.25, 1)));
        assert_eq!(group(&r, 0), Some((0.75, 3)));
        assert!(!r.green_short && !r.old_short);
    }

    #[test]
    fn short_blue_capacity_is_capped_and_the_rest_goes_to_green() {
        let green: Vec<_> = (0..4).map(|s| inst(1, s)).collect();
        let blue: Vec<_> = (0..2).map(|s| inst(0, s)).collect();
        let split = Split {
            share: 0.25,
            green_active: 1,
            old_active: 3,
        };
        let r = route(split, &green, &blue);
        assert!(r.old_short);
        assert_eq!(group(&r, 0), Some((0.5, 2)), "0.75 × 2/3");
        assert_eq!(
            group(&r, 1),
            Some((0.5, 4)),
            "green takes the remainder on all its capacity"
        );
    }

    #[test]
    fn a_side_without_ready_instances_gives_everything_to_the_other() {
        let green: Vec<_> = (0..4).map(|s| inst(1, s)).collect();
        let split = Split {
            share: 0.5,
            green_active: 2,
            old_active: 2,
        };
        let r = route(split, &green, &[]);
        assert_eq!(group(&r, 1), Some((1.0, 4)));
        assert_eq!(group(&r, 0), None);
    }

    #[test]
    fn nothing_ready_keeps_nominal_shares_without_instances() {
        let split = Split {
            share: 0.5,
            green_active: 2,
            old_active: 2,
        };
        let r = route(split, &[], &[]);
        assert_eq!(group(&r, 1), Some((0.5, 0)));
        assert_eq!(group(&r, 0), Some((0.5, 0)));
    }

    #[test]
    fn verification_compares_weights_and_shares_not_instances() {
        let green: Vec<_> = (0..4).map(|s| inst(1, s)).collect();
        let blue: Vec<_> = (0..4).map(|s| inst(0, s)).collect();
        let split = Split {
            share: 0.25,
            green_active: 1,
            old_active: 3,
        };
        let want = RoutingPlan {
            variants: vec![route(split, &green, &blue).variant],
        };
        assert!(!is_live(None, &want));
        assert!(is_live(Some(&want), &want));
        let mut other = want.clone();
        other.variants[0].groups[1].instances.pop();
        assert!(is_live(Some(&other), &want), "instance lists may differ");
        other.variants[0].groups[0].share = 0.5;
        assert!(!is_live(Some(&other), &want));
    }
}
