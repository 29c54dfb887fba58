//! The parts of a botocore `service-2.json` model that code generation reads.
//!
//! Structure members keep the model's order (it is the order of generated fields and of
//! reported violations), so they are read into a `Vec`, not a map.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::Number;

/// A whole service model.
#[derive(Debug, Deserialize)]
pub struct Model {
    /// Service metadata.
    pub metadata: Metadata,
    /// Operations by name.
    pub operations: BTreeMap<String, Operation>,
    /// Shapes by name.
    pub shapes: BTreeMap<String, Shape>,
}

/// Service metadata.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    /// e.g. `2017-07-24`.
    pub api_version: String,
    /// Legacy single protocol, e.g. `json`, `rest-json`, `smithy-rpc-v2-cbor`.
    pub protocol: String,
    /// Every protocol the service speaks.
    #[serde(default)]
    pub protocols: Vec<String>,
    /// e.g. `SageMaker`.
    pub service_id: String,
    /// SigV4 service name.
    #[serde(default)]
    pub signing_name: Option<String>,
    /// `X-Amz-Target` prefix of JSON protocols.
    #[serde(default)]
    pub target_prefix: Option<String>,
    /// Host prefix.
    pub endpoint_prefix: String,
    /// `1.0` / `1.1` for awsJson.
    #[serde(default)]
    pub json_version: Option<String>,
    /// XML namespace of awsQuery / restXml responses.
    #[serde(default)]
    pub xml_namespace: Option<String>,
}

/// One operation.
#[derive(Debug, Deserialize)]
pub struct Operation {
    /// Operation name.
    pub name: String,
    /// HTTP binding.
    #[serde(default)]
    pub http: Option<Http>,
    /// Input shape.
    #[serde(default)]
    pub input: Option<ShapeRef>,
    /// Output shape.
    #[serde(default)]
    pub output: Option<ShapeRef>,
    /// Modeled errors.
    #[serde(default)]
    pub errors: Vec<ShapeRef>,
}

/// HTTP binding of an operation.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Http {
    /// e.g. `POST`.
    pub method: String,
    /// e.g. `/endpoints/{EndpointName}/invocations`.
    pub request_uri: String,
    /// Success status when not 200.
    #[serde(default)]
    pub response_code: Option<u16>,
}

/// A reference to a shape from an operation.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShapeRef {
    /// Shape name.
    pub shape: String,
    /// awsQuery `<OpResult>` wrapper element.
    #[serde(default)]
    pub result_wrapper: Option<String>,
}

/// A member of a structure, or the member/key/value of a list or map.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Member {
    /// Target shape.
    pub shape: String,
    /// REST binding: `header`, `uri`, `querystring`, `headers`, `statusCode`.
    #[serde(default)]
    pub location: Option<String>,
    /// Header / label / query name (or XML name).
    #[serde(default)]
    pub location_name: Option<String>,
    /// awsQuery/XML: this reference to a list or map is flattened (no `member` / `entry`).
    #[serde(default)]
    pub flattened: bool,
}

/// One shape.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Shape {
    /// `structure`, `list`, `map`, `string`, `integer`, `long`, `float`, `double`, `boolean`,
    /// `timestamp`, `blob`.
    #[serde(rename = "type")]
    pub ty: String,
    /// Structure members in model order.
    #[serde(default)]
    pub members: Members,
    /// Required structure members.
    #[serde(default)]
    pub required: Vec<String>,
    /// List element.
    #[serde(default)]
    pub member: Option<Member>,
    /// Map key.
    #[serde(default)]
    pub key: Option<Member>,
    /// Map value.
    #[serde(default)]
    pub value: Option<Member>,
    /// Minimum length / size / value.
    #[serde(default)]
    pub min: Option<Number>,
    /// Maximum length / size / value.
    #[serde(default)]
    pub max: Option<Number>,
    /// Java regular expression.
    #[serde(default)]
    pub pattern: Option<String>,
    /// Allowed string values.
    #[serde(default, rename = "enum")]
    pub enum_values: Option<Vec<String>>,
    /// An error shape.
    #[serde(default)]
    pub exception: bool,
    /// Error details (`code`, `httpStatusCode`, `senderFault`).
    #[serde(default)]
    pub error: Option<ErrorInfo>,
    /// A server-side error.
    #[serde(default)]
    pub fault: bool,
    /// Values must not appear in messages.
    #[serde(default)]
    pub sensitive: bool,
    /// An event stream (structure of events).
    #[serde(default)]
    pub eventstream: bool,
    /// A streaming blob.
    #[serde(default)]
    pub streaming: bool,
    /// REST payload member.
    #[serde(default)]
    pub payload: Option<String>,
    /// Exactly one member may be set.
    #[serde(default)]
    pub union: bool,
    /// awsQuery/XML: a list or map without its `member` / `entry` level.
    #[serde(default)]
    pub flattened: bool,
}

impl Shape {
    /// `min` as an integer (length, size or integer bound).
    pub fn min_int(&self) -> anyhow::Result<Option<i64>> {
        int_bound(self.min.as_ref())
    }

    /// `max` as an integer.
    pub fn max_int(&self) -> anyhow::Result<Option<i64>> {
        int_bound(self.max.as_ref())
    }
}

fn int_bound(n: Option<&Number>) -> anyhow::Result<Option<i64>> {
    match n {
        None => Ok(None),
        Some(n) => match n.as_i64() {
            Some(v) => Ok(Some(v)),
            None => match n.as_f64() {
                Some(f) if f.fract() == 0.0 && f.abs() < 9.0e18 => Ok(Some(f as i64)),
                _ => anyhow::bail!("bound {n} is not an integer"),
            },
        },
    }
}

/// The `error` trait of an error shape.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorInfo {
    /// awsQuery error code.
    #[serde(default)]
    pub code: Option<String>,
    /// HTTP status.
    #[serde(default)]
    pub http_status_code: Option<u16>,
    /// Caller's fault.
    #[serde(default)]
    pub sender_fault: bool,
}

/// Structure members in model order.
#[derive(Debug, Default)]
pub struct Members(pub Vec<(String, Member)>);

impl<'de> Deserialize<'de> for Members {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Members;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map of members")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, Member>()? {
                    out.push((k, v));
                }
                Ok(Members(out))
            }
        }
        deserializer.deserialize_map(V)
    }
}

impl Model {
    /// Parses a model from JSON text.
    pub fn from_json(text: &str) -> anyhow::Result<Self> {
        Ok(serde_json::from_str(text)?)
    }

    /// A shape by name, or an error naming it.
    pub fn shape(&self, name: &str) -> anyhow::Result<&Shape> {
        self.shapes
            .get(name)
            .ok_or_else(|| anyhow::anyhow!("shape {name} is not in the model"))
    }
}
