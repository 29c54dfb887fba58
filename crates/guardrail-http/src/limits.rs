//! Resource limits from the config (`[limits]`): admission checks that answer
//! `ResourceLimitExceeded` (SageMaker's code for quota errors) instead of overcommitting the
//! machine. `None` = unlimited.

use guardrail_api::error::ApiError;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Limits {
    pub max_endpoints: Option<usize>,
    pub max_instances_per_endpoint: Option<u32>,
    /// Instances over all endpoints, counting both fleets of an update in progress.
    pub max_instances: Option<u32>,
}

/// What the endpoint would want after the request, and what everything else wants.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Demand {
    /// Endpoints that exist besides the one in the request.
    pub(crate) other_endpoints: usize,
    /// Instances the other endpoints want.
    pub(crate) other_instances: u32,
    /// Instances the endpoint in the request would want.
    pub(crate) endpoint_instances: u32,
    /// Whether the request creates the endpoint.
    pub(crate) creates: bool,
}

fn exceeded(what: &str, key: &str, limit: u64, unit: &str, current: u64, delta: u64) -> ApiError {
    ApiError::ResourceLimitExceeded(format!(
        "The Guardrail limit '{what}' ({key} in [limits]) is {limit} {unit}, with current utilization of {current} {unit} and a request delta of {delta} {unit}. Raise the limit in the server's configuration."
    ))
}

impl Limits {
    pub(crate) fn check(&self, d: Demand) -> Result<(), ApiError> {
        if let Some(max) = self.max_endpoints {
            if d.creates && d.other_endpoints + 1 > max {
                return Err(exceeded(
                    "number of endpoints",
                    "max_endpoints",
                    max as u64,
                    "Endpoints",
                    d.other_endpoints as u64,
                    1,
                ));
            }
        }
        if let Some(max) = self.max_instances_per_endpoint {
            if d.endpoint_instances > max {
                return Err(exceeded(
                    "instances per endpoint",
                    "max_instances_per_endpoint",
                    u64::from(max),
                    "Instances",
                    0,
                    u64::from(d.endpoint_instances),
                ));
            }
        }
        if let Some(max) = self.max_instances {
            let total = u64::from(d.other_instances) + u64::from(d.endpoint_instances);
            if total > u64::from(max) {
                return Err(exceeded(
                    "instances in total",
                    "max_instances",
                    u64::from(max),
                    "Instances",
                    u64::from(d.other_instances),
                    u64::from(d.endpoint_instances),
                ));
            }
        }
        Ok(())
    }
}

/// Endpoints other than `key` and the instances they want.
pub(crate) fn others(
    tx: &guardrail_store::Tx<'_>,
    key: &str,
) -> Result<(usize, u32), guardrail_store::StoreError> {
    let rows = tx.list_endpoints()?;
    let others: Vec<_> = rows.iter().filter(|r| r.key != key).collect();
    Ok((
        others.len(),
        others.iter().map(|r| r.record.desired_instances()).sum(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demand(other_endpoints: usize, other_instances: u32, endpoint_instances: u32) -> Demand {
        Demand {
            other_endpoints,
            other_instances,
            endpoint_instances,
            creates: true,
        }
    }

    #[test]
    fn unlimited_by_default() {
        assert!(Limits::default()
            .check(demand(10_000, 1_000_000, 1_000))
            .is_ok());
    }

    #[test]
    fn each_limit_refuses_one_over_and_accepts_the_limit() {
        let l = Limits {
            max_endpoints: Some(2),
            max_instances_per_endpoint: Some(3),
            max_instances: Some(5),
        };
        assert!(l.check(demand(1, 2, 3)).is_ok());
        let e = l.check(demand(2, 0, 1)).unwrap_err();
        assert_eq!(e.code(), "ResourceLimitExceeded");
        assert!(e.message().contains("max_endpoints"), "{e}");
        assert!(l
            .check(demand(0, 0, 4))
            .unwrap_err()
            .message()
            .contains("max_instances_per_endpoint"));
        assert!(l
            .check(demand(1, 3, 3))
            .unwrap_err()
            .message()
            .contains("max_instances in"));
        let update = Demand {
            creates: false,
            ..demand(2, 0, 1)
        };
        assert!(
            l.check(update).is_ok(),
            "updates do not count as a new endpoint"
        );
    }
}
