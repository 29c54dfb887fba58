//! Desired state: what an endpoint should run. An endpoint keeps its own snapshot of its
//! config and models, so deleting either later changes nothing about a running endpoint.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The SageMaker default window for `/ping` to pass after start (AWS docs: 4 minutes).
pub const DEFAULT_STARTUP_TIMEOUT_S: u32 = 240;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ContainerSpec {
    pub image: String,
    /// The model's container `Environment`; applied over the image's own env.
    pub environment: BTreeMap<String, String>,
    /// The model's artifacts (`ModelDataUrl` / `ModelDataSource`); absent in records written
    /// before artifacts were supported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_data: Option<ModelData>,
}

/// Where a model's artifacts come from and how they are packed (docs/containers.md).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelData {
    /// `s3://bucket/key` or `https://…`.
    pub url: String,
    pub packing: ModelDataPacking,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ModelDataPacking {
    /// One `.tar.gz` archive, extracted (`ModelDataUrl`; `S3Object` + `Gzip`).
    Archive,
    /// Every object under the prefix, as they are (`S3Prefix` + `None`).
    Prefix,
    /// One object, as it is (`S3Object` + `None`).
    Object,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VariantSpec {
    pub name: String,
    pub model_name: String,
    pub container: ContainerSpec,
    pub instance_count: u32,
    pub weight: f64,
    pub instance_type: Option<String>,
    pub startup_timeout_s: u32,
}

/// One endpoint config resolved against its models at the moment it was deployed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FleetSpec {
    pub config_name: String,
    pub variants: Vec<VariantSpec>,
}

impl FleetSpec {
    pub fn variant(&self, name: &str) -> Option<&VariantSpec> {
        self.variants
            .iter()
            .find(|v| v.name.eq_ignore_ascii_case(name))
    }

    pub fn total_instances(&self) -> u32 {
        self.variants.iter().map(|v| v.instance_count).sum()
    }
}
