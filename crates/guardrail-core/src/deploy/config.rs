//! The domain form of `DeploymentConfig` (docs/sagemaker-api.md#endpoints) and the semantic rules of
//! docs/sagemaker-api.md#updateendpoint-rules that depend on policies and fleet sizes.
//!
//! The types cannot hold the wire's illegal combinations (both policies, a canary size on a
//! LINEAR config, …): the HTTP layer rejects those while converting, with the helpers at the
//! bottom of this file, which return the catalogue's exact messages.

use serde::{Deserialize, Serialize};

use crate::lifecycle::Fleet;
use crate::spec::FleetSpec;

/// `MaximumExecutionTimeoutInSeconds` when the request omits it.
pub const DEFAULT_MAX_TIMEOUT_S: u32 = 28_800;

/// `CapacitySize`: a number of instances or a percentage of a variant's fleet.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CapacitySize {
    InstanceCount(u32),
    CapacityPercent(u32),
}

impl CapacitySize {
    /// From the wire's `{Type, Value}`; `None` for an unknown type (the model's enum check
    /// rejects those before).
    pub fn from_wire(kind: &str, value: u32) -> Option<CapacitySize> {
        match kind {
            "INSTANCE_COUNT" => Some(CapacitySize::InstanceCount(value)),
            "CAPACITY_PERCENT" => Some(CapacitySize::CapacityPercent(value)),
            _ => None,
        }
    }
}

/// `TrafficRoutingConfiguration.Type` with the size that belongs to it.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TrafficRouting {
    AllAtOnce,
    Canary(CapacitySize),
    Linear(CapacitySize),
}

impl TrafficRouting {
    /// From the wire's type and sizes, with docs/sagemaker-api.md#updateendpoint-rules's messages for a missing size
    /// or a size given for another type.
    pub fn from_wire(
        kind: &str,
        canary: Option<CapacitySize>,
        linear: Option<CapacitySize>,
    ) -> Result<TrafficRouting, String> {
        let routing = match kind {
            "ALL_AT_ONCE" => TrafficRouting::AllAtOnce,
            "CANARY" => TrafficRouting::Canary(
                canary.ok_or_else(|| "CanarySize is required when Type is CANARY.".to_string())?,
            ),
            "LINEAR" => TrafficRouting::Linear(
                linear
                    .ok_or_else(|| "LinearStepSize is required when Type is LINEAR.".to_string())?,
            ),
            other => return Err(format!("Unknown TrafficRoutingConfiguration type {other}.")),
        };
        if kind != "CANARY" && canary.is_some() {
            return Err("CanarySize is only valid when Type is CANARY.".into());
        }
        if kind != "LINEAR" && linear.is_some() {
            return Err("LinearStepSize is only valid when Type is LINEAR.".into());
        }
        Ok(routing)
    }
}

/// `BlueGreenUpdatePolicy`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BlueGreenPolicy {
    pub routing: TrafficRouting,
    /// `WaitIntervalInSeconds` (W): the bake after every traffic step.
    pub wait_s: u32,
    /// `TerminationWaitInSeconds` (T), default 0.
    pub termination_wait_s: u32,
    /// `MaximumExecutionTimeoutInSeconds` as sent; [`DEFAULT_MAX_TIMEOUT_S`] when `None`.
    pub max_timeout_s: Option<u32>,
}

/// `RollingUpdatePolicy`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RollingPolicy {
    /// `MaximumBatchSize`.
    pub batch: CapacitySize,
    /// `WaitIntervalInSeconds`: the bake after every batch.
    pub wait_s: u32,
    pub max_timeout_s: Option<u32>,
    /// `RollbackMaximumBatchSize`; `None` = blue/green-style rollback.
    pub rollback_batch: Option<CapacitySize>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum UpdatePolicy {
    /// No `DeploymentConfig`: provision green, one verified switch, tear blue down.
    Plain,
    BlueGreen(BlueGreenPolicy),
    Rolling(RollingPolicy),
}

/// The effective deployment configuration of one update.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeploymentConfig {
    pub policy: UpdatePolicy,
    /// `AutoRollbackConfiguration.Alarms[].AlarmName`; empty = no auto-rollback.
    pub alarms: Vec<String>,
}

impl DeploymentConfig {
    /// The mode as metrics label it: `none`, `all_at_once`, `canary`, `linear`, `rolling`.
    pub fn mode_label(&self) -> &'static str {
        match &self.policy {
            UpdatePolicy::Plain => "none",
            UpdatePolicy::BlueGreen(b) => match b.routing {
                TrafficRouting::AllAtOnce => "all_at_once",
                TrafficRouting::Canary(_) => "canary",
                TrafficRouting::Linear(_) => "linear",
            },
            UpdatePolicy::Rolling(_) => "rolling",
        }
    }

    /// UpdateEndpoint without a `DeploymentConfig` (or with nothing to retain).
    pub fn plain() -> Self {
        DeploymentConfig {
            policy: UpdatePolicy::Plain,
            alarms: Vec::new(),
        }
    }

    /// Guardrail's rule for a config with only `AutoRollbackConfiguration`: ALL_AT_ONCE with
    /// W = 0, T = 0, alarms watched.
    pub fn alarms_only(alarms: Vec<String>) -> Self {
        DeploymentConfig {
            policy: UpdatePolicy::BlueGreen(BlueGreenPolicy {
                routing: TrafficRouting::AllAtOnce,
                wait_s: 0,
                termination_wait_s: 0,
                max_timeout_s: None,
            }),
            alarms,
        }
    }

    /// Builds the config from the wire's parts (already converted); refuses both policies at
    /// once with the catalogue's message. Neither policy: alarms only, or plain without alarms.
    pub fn from_parts(
        blue_green: Option<BlueGreenPolicy>,
        rolling: Option<RollingPolicy>,
        alarms: Vec<String>,
    ) -> Result<DeploymentConfig, String> {
        let policy = match (blue_green, rolling) {
            (Some(_), Some(_)) => {
                return Err("DeploymentConfig can contain BlueGreenUpdatePolicy or RollingUpdatePolicy, not both.".into())
            }
            (Some(bg), None) => UpdatePolicy::BlueGreen(bg),
            (None, Some(r)) => UpdatePolicy::Rolling(r),
            (None, None) => return Ok(DeploymentConfig::alarms_only(alarms)),
        };
        Ok(DeploymentConfig { policy, alarms })
    }

    /// Whether a guardrail policy is used (alarms, bakes, timeout, same variant names).
    pub fn is_guarded(&self) -> bool {
        !matches!(self.policy, UpdatePolicy::Plain)
    }

    /// The effective `MaximumExecutionTimeoutInSeconds`; `None` without a policy.
    pub fn max_timeout_s(&self) -> Option<u32> {
        match &self.policy {
            UpdatePolicy::Plain => None,
            UpdatePolicy::BlueGreen(p) => Some(p.max_timeout_s.unwrap_or(DEFAULT_MAX_TIMEOUT_S)),
            UpdatePolicy::Rolling(p) => Some(p.max_timeout_s.unwrap_or(DEFAULT_MAX_TIMEOUT_S)),
        }
    }

    /// The `CloudWatch alarm(s) not found: a, b.` check, for the HTTP layer, which knows which
    /// alarms exist.
    pub fn check_alarms_exist(&self, exists: impl Fn(&str) -> bool) -> Result<(), String> {
        let missing: Vec<&str> = self
            .alarms
            .iter()
            .map(String::as_str)
            .filter(|a| !exists(a))
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "CloudWatch alarm(s) not found: {}.",
                missing.join(", ")
            ))
        }
    }
}

/// A variant property that `ExcludeRetainedVariantProperties` can name.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum VariantProperty {
    DesiredInstanceCount,
    DesiredWeight,
    /// Accepted, no effect (AWS: "not currently supported").
    DataCaptureConfig,
}

/// `RetainAllVariantProperties` and `ExcludeRetainedVariantProperties` (docs/deployments.md#retain-flags).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetainOptions {
    pub retain_all_variant_properties: bool,
    /// Ignored when `retain_all_variant_properties` is false.
    pub exclude: Vec<VariantProperty>,
}

/// docs/deployments.md#retain-flags: with `RetainAllVariantProperties`, variants present in both configs keep
/// the endpoint's current desired count and weight unless excluded; new variants use the
/// config's values. The result's counts are N_new for sizing.
pub fn apply_retain(current: &Fleet, mut new: FleetSpec, retain: &RetainOptions) -> FleetSpec {
    if !retain.retain_all_variant_properties {
        return new;
    }
    let keep_count = !retain
        .exclude
        .contains(&VariantProperty::DesiredInstanceCount);
    let keep_weight = !retain.exclude.contains(&VariantProperty::DesiredWeight);
    for v in &mut new.variants {
        let Some(cur) = current
            .variants
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(&v.name))
        else {
            continue;
        };
        if keep_count {
            v.instance_count = cur.desired_count;
        }
        if keep_weight {
            v.weight = cur.desired_weight;
        }
    }
    new
}

/// Variant names and instance counts of one fleet: what sizing and validation need.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FleetSizes {
    pub config_name: String,
    pub variants: Vec<(String, u32)>,
}

impl FleetSizes {
    /// A running fleet: its current desired counts (which UpdateEndpointWeightsAndCapacities
    /// may have changed since the config was deployed).
    pub fn of_fleet(f: &Fleet) -> Self {
        FleetSizes {
            config_name: f.spec.config_name.clone(),
            variants: f
                .variants
                .iter()
                .map(|v| (v.name.clone(), v.desired_count))
                .collect(),
        }
    }

    /// A config's counts (after the Retain rules when it is the new fleet).
    pub fn of_spec(s: &FleetSpec) -> Self {
        FleetSizes {
            config_name: s.config_name.clone(),
            variants: s
                .variants
                .iter()
                .map(|v| (v.name.clone(), v.instance_count))
                .collect(),
        }
    }

    pub fn count(&self, variant: &str) -> Option<u32> {
        self.variants
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(variant))
            .map(|(_, c)| *c)
    }

    fn same_names(&self, other: &FleetSizes) -> bool {
        self.variants.len() == other.variants.len()
            && self.variants.iter().all(|(n, _)| other.count(n).is_some())
    }
}

fn check_percent(field: &str, size: CapacitySize, lo: u32, hi: u32) -> Result<(), String> {
    match size {
        CapacitySize::CapacityPercent(p) if p < lo || p > hi => Err(format!(
            "{field} must be between {lo} and {hi} percent; got {p}."
        )),
        _ => Ok(()),
    }
}

fn check_count(field: &str, size: CapacitySize, new: &FleetSizes) -> Result<(), String> {
    let CapacitySize::InstanceCount(v) = size else {
        return Ok(());
    };
    for (name, n) in &new.variants {
        if v > (n / 2).max(1) {
            return Err(format!(
                "{field} of {v} instance(s) exceeds 50% of the {n} instance(s) of variant \"{name}\"."
            ));
        }
    }
    Ok(())
}

/// The semantic rules of docs/sagemaker-api.md#updateendpoint-rules that concern the policy and fleet sizes, in the
/// table's order; `new` holds the counts after the Retain rules. Wire-shape rules (both
/// policies, sizes for another type) and alarm existence are checked while converting.
pub fn validate_semantics(
    cfg: &DeploymentConfig,
    old: &FleetSizes,
    new: &FleetSizes,
) -> Result<(), String> {
    let sized: Vec<(&str, CapacitySize)> = match &cfg.policy {
        UpdatePolicy::Plain => return Ok(()),
        UpdatePolicy::BlueGreen(p) => match p.routing {
            TrafficRouting::AllAtOnce => vec![],
            TrafficRouting::Canary(s) => vec![("CanarySize", s)],
            TrafficRouting::Linear(s) => vec![("LinearStepSize", s)],
        },
        UpdatePolicy::Rolling(p) => vec![("MaximumBatchSize", p.batch)],
    };
    for (field, size) in &sized {
        let (lo, hi) = match *field {
            "CanarySize" => (1, 50),
            "LinearStepSize" => (10, 50),
            _ => (5, 50),
        };
        check_percent(field, *size, lo, hi)?;
    }
    if let UpdatePolicy::Rolling(RollingPolicy {
        rollback_batch: Some(rb),
        ..
    }) = &cfg.policy
    {
        check_percent("RollbackMaximumBatchSize", *rb, 1, 100)?;
    }
    for (field, size) in &sized {
        check_count(field, *size, new)?;
    }
    let timeout = cfg.max_timeout_s().unwrap_or(DEFAULT_MAX_TIMEOUT_S);
    let total = super::plan::plan(cfg, old, new).total_wait_s;
    if u64::from(timeout) <= total {
        return Err(format!(
            "MaximumExecutionTimeoutInSeconds ({timeout}) must be greater than the total wait time of this deployment ({total} seconds)."
        ));
    }
    if matches!(cfg.policy, UpdatePolicy::Rolling(_))
        && (old.variants.len() > 1 || new.variants.len() > 1)
    {
        return Err(
            "RollingUpdatePolicy is not supported for endpoints with more than one production variant."
                .into(),
        );
    }
    if !old.same_names(new) {
        let names: Vec<&str> = old.variants.iter().map(|(n, _)| n.as_str()).collect();
        return Err(format!(
            "With a DeploymentConfig, endpoint configuration \"{}\" must have the same production variants as the current configuration \"{}\" ({}).",
            new.config_name,
            old.config_name,
            names.join(", ")
        ));
    }
    Ok(())
}
