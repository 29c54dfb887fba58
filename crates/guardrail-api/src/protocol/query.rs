//! awsQuery requests: an `application/x-www-form-urlencoded` body (`Action=PutMetricAlarm&
//! Version=2010-08-01&AlarmName=a&Dimensions.member.1.Name=EndpointName&…`) → the JSON object
//! the awsJson protocols carry for the same input.
//!
//! Key conventions (botocore's `QuerySerializer`): structures `Outer.Inner`, lists
//! `Name.member.N` (1-based; `Name.N` when flattened; the element's `locationName` replaces
//! `member`), maps `Name.entry.N.key` / `.value`, and `Name=` (empty, no elements) for an empty
//! list. Decoding walks the input shape and looks keys up, so parameters the shape does not
//! name are ignored, as AWS ignores them.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;

use serde_json::{Map, Number, Value};

use super::shapes::{Kind, ListShape, MapShape, StructShape};
use super::MAX_DEPTH;
use crate::wire::Timestamp;

/// Why an awsQuery body could not be turned into an input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// No (or an empty) `Action` parameter.
    #[error("The request must contain the parameter Action")]
    MissingAction,
    /// A value that does not parse as its member's type.
    #[error("Value '{value}' for parameter {param} is not a valid {expected}")]
    InvalidValue {
        /// The full parameter name, e.g. `MetricData.member.1.Value`.
        param: String,
        /// The value as sent (cut to 256 characters).
        value: String,
        /// `integer`, `double`, `boolean` or `timestamp`.
        expected: &'static str,
    },
    /// Structures nested deeper than [`MAX_DEPTH`].
    #[error("Parameter {param} is nested too deeply")]
    TooDeep {
        /// The parameter prefix at the limit.
        param: String,
    },
}

impl QueryError {
    /// The awsQuery error code to answer with (`Sender` fault, HTTP 400).
    pub fn code(&self) -> &'static str {
        match self {
            QueryError::MissingAction => "MissingAction",
            QueryError::InvalidValue { .. } | QueryError::TooDeep { .. } => "InvalidParameterValue",
        }
    }
}

/// A parsed awsQuery body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryRequest {
    /// The operation name.
    pub action: String,
    /// The API version the client asked for (`2010-08-01`), if any.
    pub version: Option<String>,
    /// Every other parameter, decoded; a repeated name keeps its last value.
    pub params: BTreeMap<String, String>,
}

impl QueryRequest {
    /// Parses a form body (percent-decoding and `+` as space; invalid UTF-8 is replaced).
    pub fn parse(body: &[u8]) -> Result<Self, QueryError> {
        let mut action = None;
        let mut version = None;
        let mut params = BTreeMap::new();
        for (k, v) in form_urlencoded::parse(body) {
            match k.as_ref() {
                "Action" => action = Some(v.into_owned()),
                "Version" => version = Some(v.into_owned()),
                _ => {
                    params.insert(k.into_owned(), v.into_owned());
                }
            }
        }
        let action = action
            .filter(|a| !a.is_empty())
            .ok_or(QueryError::MissingAction)?;
        Ok(QueryRequest {
            action,
            version,
            params,
        })
    }

    /// The parameters as the JSON object of the input `shape` (scalars converted by type,
    /// timestamps to epoch seconds).
    pub fn to_json(&self, shape: &StructShape) -> Result<Value, QueryError> {
        Decoder {
            params: &self.params,
        }
        .structure(shape, "", 0)
        .map(Value::Object)
    }
}

struct Decoder<'a> {
    params: &'a BTreeMap<String, String>,
}

impl Decoder<'_> {
    /// Parameters whose names start with `prefix`, in name order.
    fn with_prefix<'p>(&'p self, prefix: &'p str) -> impl Iterator<Item = &'p String> + 'p {
        self.params
            .range::<str, _>((Bound::Included(prefix), Bound::Unbounded))
            .map(|(k, _)| k)
            .take_while(move |k| k.starts_with(prefix))
    }

    /// The distinct element segments after `prefix` (`"1"`, `"2"`, …), ordered by index; `0`
    /// and non-numeric segments are not elements (ignored like any unknown parameter).
    fn indices(&self, prefix: &str) -> Vec<String> {
        let mut found = BTreeSet::new();
        for k in self.with_prefix(prefix) {
            let seg = k[prefix.len()..].split('.').next().unwrap_or_default();
            if seg.is_empty() || !seg.bytes().all(|b| b.is_ascii_digit()) {
                continue;
            }
            // Digits only, so the parse fails only on overflow: order those last.
            let n = seg.parse::<u128>().unwrap_or(u128::MAX);
            if n > 0 {
                found.insert((n, seg.to_owned()));
            }
        }
        found.into_iter().map(|(_, s)| s).collect()
    }

    fn check_depth(depth: usize, key: &str) -> Result<(), QueryError> {
        if depth >= MAX_DEPTH {
            return Err(QueryError::TooDeep {
                param: key.to_owned(),
            });
        }
        Ok(())
    }

    fn structure(
        &self,
        shape: &StructShape,
        prefix: &str,
        depth: usize,
    ) -> Result<Map<String, Value>, QueryError> {
        let mut obj = Map::new();
        for m in shape.members {
            let key = format!("{prefix}{}", m.wire_name());
            if let Some(v) = self.value(m.kind, &key, m.flattened, depth)? {
                obj.insert(m.name.to_owned(), v);
            }
        }
        Ok(obj)
    }

    /// The value at `key`, `None` when no parameter carries it.
    fn value(
        &self,
        kind: &Kind,
        key: &str,
        flattened: bool,
        depth: usize,
    ) -> Result<Option<Value>, QueryError> {
        match kind {
            Kind::Structure(s) => {
                let prefix = format!("{key}.");
                if self.with_prefix(&prefix).next().is_none() {
                    return Ok(None);
                }
                Self::check_depth(depth, key)?;
                Ok(Some(Value::Object(self.structure(
                    s,
                    &prefix,
                    depth + 1,
                )?)))
            }
            Kind::List(l) => self.list(l, key, flattened, depth),
            Kind::Map(m) => self.map(m, key, flattened, depth),
            scalar => self
                .params
                .get(key)
                .map(|raw| scalar_value(scalar, key, raw))
                .transpose(),
        }
    }

    fn empty_marker(&self, key: &str) -> bool {
        self.params.get(key).is_some_and(String::is_empty)
    }

    fn list(
        &self,
        l: &ListShape,
        key: &str,
        flattened: bool,
        depth: usize,
    ) -> Result<Option<Value>, QueryError> {
        let items = if flattened {
            format!("{key}.")
        } else {
            format!("{key}.{}.", l.element_name())
        };
        let segs = self.indices(&items);
        if segs.is_empty() {
            return Ok(self.empty_marker(key).then(|| Value::Array(Vec::new())));
        }
        Self::check_depth(depth, key)?;
        let mut out = Vec::with_capacity(segs.len());
        for seg in segs {
            let k = format!("{items}{seg}");
            if let Some(v) = self.value(l.member, &k, flattened_kind(l.member), depth + 1)? {
                out.push(v);
            }
        }
        Ok(Some(Value::Array(out)))
    }

    fn map(
        &self,
        m: &MapShape,
        key: &str,
        flattened: bool,
        depth: usize,
    ) -> Result<Option<Value>, QueryError> {
        let entries = if flattened {
            format!("{key}.")
        } else {
            format!("{key}.entry.")
        };
        let segs = self.indices(&entries);
        if segs.is_empty() {
            return Ok(self.empty_marker(key).then(|| Value::Object(Map::new())));
        }
        Self::check_depth(depth, key)?;
        let mut out = Map::new();
        for seg in segs {
            let base = format!("{entries}{seg}.");
            // An entry without a key cannot be placed in the object; skip it.
            let Some(k) = self.params.get(&format!("{base}{}", m.key_name)) else {
                continue;
            };
            let vkey = format!("{base}{}", m.value_name);
            if let Some(v) = self.value(m.value, &vkey, flattened_kind(m.value), depth + 1)? {
                out.insert(k.clone(), v);
            }
        }
        Ok(Some(Value::Object(out)))
    }
}

/// Whether a list element or map value is itself a flattened aggregate.
fn flattened_kind(kind: &Kind) -> bool {
    match kind {
        Kind::List(l) => l.flattened,
        Kind::Map(m) => m.flattened,
        _ => false,
    }
}

fn scalar_value(kind: &Kind, key: &str, raw: &str) -> Result<Value, QueryError> {
    let invalid = |expected| QueryError::InvalidValue {
        param: key.to_owned(),
        value: raw.chars().take(256).collect(),
        expected,
    };
    match kind {
        Kind::Integer | Kind::Long => raw
            .parse::<i64>()
            .map(Value::from)
            .map_err(|_| invalid("integer")),
        // NaN and the infinities become the strings awsJson carries them as ("NaN",
        // "Infinity", "-Infinity"), so the service answers them as it answers JSON.
        Kind::Double => match raw.parse::<f64>() {
            Ok(f) if !f.is_finite() => {
                Ok(Value::String(super::cbor::non_finite_name(f).to_owned()))
            }
            Ok(f) => Number::from_f64(f)
                .map(Value::Number)
                .ok_or_else(|| invalid("double")),
            Err(_) => Err(invalid("double")),
        },
        Kind::Boolean => {
            if raw.eq_ignore_ascii_case("true") {
                Ok(Value::Bool(true))
            } else if raw.eq_ignore_ascii_case("false") {
                Ok(Value::Bool(false))
            } else {
                Err(invalid("boolean"))
            }
        }
        // ISO-8601 as botocore sends it; epoch seconds accepted too.
        Kind::Timestamp => Timestamp::parse(raw)
            .and_then(|t| Number::from_f64(t.as_secs_f64()))
            .map(Value::Number)
            .ok_or_else(|| invalid("timestamp")),
        // Strings, and blobs: base64 in both awsQuery and JSON.
        _ => Ok(Value::String(raw.to_owned())),
    }
}
