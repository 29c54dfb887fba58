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

/// `S3ModelDataSource` as the API sends it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct S3DataSourceFields<'a> {
    pub s3_uri: &'a str,
    pub s3_data_type: &'a str,
    pub compression_type: &'a str,
}

impl ModelData {
    /// A container's artifacts from its `ModelDataUrl` or `ModelDataSource.S3DataSource`
    /// (at most one); the message of a `ValidationException` when the combination is not one
    /// SageMaker accepts.
    pub fn from_container(
        model_data_url: Option<&str>,
        source: Option<S3DataSourceFields<'_>>,
    ) -> Result<Option<ModelData>, String> {
        match (model_data_url, source) {
            (Some(_), Some(_)) => {
                Err("Only one of ModelDataUrl or ModelDataSource may be specified.".into())
            }
            (None, None) => Ok(None),
            (Some(url), None) => Ok(Some(ModelData {
                url: url.to_string(),
                packing: ModelDataPacking::Archive,
            })),
            (None, Some(s)) => {
                let packing = match (s.s3_data_type, s.compression_type) {
                    ("S3Object", "Gzip") => ModelDataPacking::Archive,
                    ("S3Object", "None") => ModelDataPacking::Object,
                    ("S3Prefix", "None") => ModelDataPacking::Prefix,
                    ("S3Prefix", "Gzip") => {
                        return Err(
                            "CompressionType must be None when S3DataType is S3Prefix.".into()
                        )
                    }
                    (t, c) => {
                        return Err(format!(
                            "Unsupported combination of S3DataType {t} and CompressionType {c}."
                        ))
                    }
                };
                if packing == ModelDataPacking::Prefix && !s.s3_uri.ends_with('/') {
                    return Err(format!(
                        "S3Uri {} must end with a '/' when S3DataType is S3Prefix.",
                        s.s3_uri
                    ));
                }
                Ok(Some(ModelData {
                    url: s.s3_uri.to_string(),
                    packing,
                }))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src<'a>(uri: &'a str, t: &'a str, c: &'a str) -> Option<S3DataSourceFields<'a>> {
        Some(S3DataSourceFields {
            s3_uri: uri,
            s3_data_type: t,
            compression_type: c,
        })
    }

    #[test]
    fn model_data_comes_from_the_url_or_the_source() {
        let archive = ModelData::from_container(Some("s3://b/m.tar.gz"), None).unwrap();
        assert_eq!(archive.unwrap().packing, ModelDataPacking::Archive);
        assert_eq!(ModelData::from_container(None, None), Ok(None));
        let cases = [
            (
                "s3://b/m.tar.gz",
                "S3Object",
                "Gzip",
                ModelDataPacking::Archive,
            ),
            (
                "s3://b/weights.bin",
                "S3Object",
                "None",
                ModelDataPacking::Object,
            ),
            (
                "s3://b/model/",
                "S3Prefix",
                "None",
                ModelDataPacking::Prefix,
            ),
        ];
        for (uri, t, c, packing) in cases {
            let got = ModelData::from_container(None, src(uri, t, c))
                .unwrap()
                .unwrap();
            assert_eq!((got.url.as_str(), got.packing), (uri, packing));
        }
    }

    #[test]
    fn contradictory_model_data_is_refused() {
        let both = ModelData::from_container(Some("s3://b/m"), src("s3://b/m", "S3Object", "Gzip"));
        assert!(both.unwrap_err().contains("Only one of"));
        let e = ModelData::from_container(None, src("s3://b/p/", "S3Prefix", "Gzip")).unwrap_err();
        assert!(e.contains("CompressionType must be None"), "{e}");
        let e = ModelData::from_container(None, src("s3://b/p", "S3Prefix", "None")).unwrap_err();
        assert!(e.contains("must end with a '/'"), "{e}");
    }
}
