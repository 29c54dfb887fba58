//! Routing decisions. The controller computes a [`RoutingPlan`] (which instances take traffic
//! and with what shares); the proxy materialises it into an immutable table it swaps
//! atomically, and uses the `pick_*` functions here per request.

use serde::{Deserialize, Serialize};

/// Everything the proxy needs to route an endpoint's traffic.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RoutingPlan {
    pub variants: Vec<RouteVariant>,
}

/// One production variant: its traffic weight and the fleets serving it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RouteVariant {
    pub name: String,
    /// `CurrentWeight`; traffic share = weight / Σ weights.
    pub weight: f64,
    /// More than one group only while an update shifts traffic between fleets.
    pub groups: Vec<RouteGroup>,
}

/// The instances of one fleet within a variant, and the fleet's share of the variant.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RouteGroup {
    pub fleet: u32,
    pub config_name: String,
    pub share: f64,
    pub instances: Vec<RouteInstance>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteInstance {
    pub id: String,
    pub addr: String,
}

impl RoutingPlan {
    pub fn instance_ids(&self) -> impl Iterator<Item = &str> {
        self.variants
            .iter()
            .flat_map(|v| v.groups.iter())
            .flat_map(|g| g.instances.iter())
            .map(|i| i.id.as_str())
    }
}

/// Weighted choice: `r` is uniform in `[0, 1)`. Entries whose weight is not positive (or whose
/// target cannot serve, signalled as weight 0 by the caller) never win. `None` when nothing can.
pub fn pick_weighted<I>(weights: I, r: f64) -> Option<usize>
where
    I: IntoIterator<Item = f64>,
    I::IntoIter: Clone,
{
    let it = weights.into_iter();
    let total: f64 = it.clone().filter(|w| *w > 0.0).sum();
    if total <= 0.0 || !total.is_finite() {
        return None;
    }
    let mut point = r.clamp(0.0, 1.0) * total;
    let mut last = None;
    for (i, w) in it.enumerate() {
        if w <= 0.0 {
            continue;
        }
        last = Some(i);
        if point < w {
            return Some(i);
        }
        point -= w;
    }
    // Rounding can leave `point` a hair above the last bucket.
    last
}

/// Index of the entry with the fewest outstanding requests. Ties go to the first tied entry
/// at or after `start`, so callers can rotate `start` to spread equal load.
pub fn pick_least_outstanding(outstanding: &[u32], start: usize) -> Option<usize> {
    let n = outstanding.len();
    if n == 0 {
        return None;
    }
    (0..n)
        .map(|k| (start + k) % n)
        .min_by_key(|&i| outstanding[i])
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn weighted_choice_follows_weights() {
        assert_eq!(pick_weighted([3.0, 1.0], 0.0), Some(0));
        assert_eq!(pick_weighted([3.0, 1.0], 0.74), Some(0));
        assert_eq!(pick_weighted([3.0, 1.0], 0.76), Some(1));
        assert_eq!(pick_weighted([0.0, 1.0], 0.0), Some(1));
        assert_eq!(pick_weighted([0.0, 0.0], 0.5), None);
        assert_eq!(pick_weighted(Vec::<f64>::new(), 0.5), None);
    }

    #[test]
    fn least_outstanding_rotates_ties() {
        assert_eq!(pick_least_outstanding(&[2, 0, 1], 0), Some(1));
        assert_eq!(pick_least_outstanding(&[1, 1, 1], 2), Some(2));
        assert_eq!(pick_least_outstanding(&[], 0), None);
    }

    proptest! {
        #[test]
        fn weighted_never_picks_zero_weight(ws in proptest::collection::vec(0.0f64..5.0, 1..8), r in 0.0f64..1.0) {
            let ws: Vec<f64> = ws.into_iter().map(|w| if w < 1.0 { 0.0 } else { w }).collect();
            match pick_weighted(ws.clone(), r) {
                Some(i) => prop_assert!(ws[i] > 0.0),
                None => prop_assert!(ws.iter().all(|w| *w <= 0.0)),
            }
        }

        #[test]
        fn least_outstanding_is_minimal(cs in proptest::collection::vec(0u32..10, 1..8), s in 0usize..8) {
            let i = pick_least_outstanding(&cs, s).unwrap();
            prop_assert_eq!(cs[i], *cs.iter().min().unwrap());
        }
    }
}
