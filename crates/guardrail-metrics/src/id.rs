//! Metric identity: namespace + metric name + the exact (sorted) dimension set.

use serde::{Deserialize, Serialize};

/// Most dimensions a metric may carry (PutMetricData, PutMetricAlarm).
pub const MAX_DIMENSIONS: usize = 30;
const MAX_NAME_CHARS: usize = 255;
const MAX_DIMENSION_VALUE_CHARS: usize = 1024;

/// One `{Name, Value}` pair.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Dimension {
    pub name: String,
    pub value: String,
}

/// A metric's identity. Two metrics are the same iff namespace, name and the *whole* dimension
/// set are equal (CloudWatch treats each dimension combination as a separate metric). The
/// dimensions are kept sorted (by name, then value; a name may repeat with different values),
/// so equality and ordering are structural.
/// The unit is not part of the identity; the store keeps one series per (identity, unit).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "RawMetricId")]
pub struct MetricId {
    namespace: String,
    metric_name: String,
    dimensions: Vec<Dimension>,
}

/// Why a metric identity was refused; the API layer maps these to `InvalidParameterValue`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MetricIdError {
    #[error("namespace must be 1-255 characters and must not start with ':'")]
    Namespace,
    #[error("metric name must be 1-255 characters")]
    MetricName,
    #[error("at most {MAX_DIMENSIONS} dimensions are allowed")]
    TooManyDimensions,
    #[error("dimension names must be 1-255 characters and values 1-1024 characters")]
    Dimension,
}

#[derive(Deserialize)]
struct RawMetricId {
    namespace: String,
    metric_name: String,
    dimensions: Vec<Dimension>,
}

impl TryFrom<RawMetricId> for MetricId {
    type Error = MetricIdError;
    fn try_from(raw: RawMetricId) -> Result<Self, Self::Error> {
        MetricId::new(
            raw.namespace,
            raw.metric_name,
            raw.dimensions.into_iter().map(|d| (d.name, d.value)),
        )
    }
}

fn chars_within(s: &str, max: usize) -> bool {
    !s.is_empty() && s.chars().count() <= max
}

impl MetricId {
    /// Validates and normalises (sorts the dimensions by name).
    pub fn new<N, V>(
        namespace: impl Into<String>,
        metric_name: impl Into<String>,
        dimensions: impl IntoIterator<Item = (N, V)>,
    ) -> Result<Self, MetricIdError>
    where
        N: Into<String>,
        V: Into<String>,
    {
        let namespace = namespace.into();
        if !chars_within(&namespace, MAX_NAME_CHARS) || namespace.starts_with(':') {
            return Err(MetricIdError::Namespace);
        }
        let metric_name = metric_name.into();
        if !chars_within(&metric_name, MAX_NAME_CHARS) {
            return Err(MetricIdError::MetricName);
        }
        let mut dims: Vec<Dimension> = dimensions
            .into_iter()
            .map(|(n, v)| Dimension {
                name: n.into(),
                value: v.into(),
            })
            .collect();
        if dims.len() > MAX_DIMENSIONS {
            return Err(MetricIdError::TooManyDimensions);
        }
        if dims.iter().any(|d| {
            !chars_within(&d.name, MAX_NAME_CHARS)
                || !chars_within(&d.value, MAX_DIMENSION_VALUE_CHARS)
        }) {
            return Err(MetricIdError::Dimension);
        }
        // CloudWatch accepts a name repeated with different values (`B=1`, `B=2`): both pairs
        // belong to the identity. An identical pair given twice counts once.
        dims.sort();
        dims.dedup();
        Ok(MetricId {
            namespace,
            metric_name,
            dimensions: dims,
        })
    }

    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    pub fn metric_name(&self) -> &str {
        &self.metric_name
    }

    /// Sorted by name.
    pub fn dimensions(&self) -> &[Dimension] {
        &self.dimensions
    }

    /// The value of one dimension, if present (the smallest, if the name repeats).
    pub fn dimension(&self, name: &str) -> Option<&str> {
        self.dimensions
            .iter()
            .find(|d| d.name == name)
            .map(|d| d.value.as_str())
    }

    /// Whether the identity has dimension `name`, with `value` if given (a repeated name
    /// matches on any of its values).
    pub fn has_dimension(&self, name: &str, value: Option<&str>) -> bool {
        self.dimensions
            .iter()
            .any(|d| d.name == name && value.is_none_or(|v| v == d.value))
    }

    /// Heap bytes held by the strings of this identity (for memory accounting).
    pub(crate) fn heap_bytes(&self) -> usize {
        self.namespace.len()
            + self.metric_name.len()
            + self
                .dimensions
                .iter()
                .map(|d| d.name.len() + d.value.len() + std::mem::size_of::<Dimension>())
                .sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dimensions_are_sorted_so_order_of_input_does_not_matter() {
        let a = MetricId::new(
            "AWS/SageMaker",
            "Invocations",
            [("VariantName", "v"), ("EndpointName", "e")],
        );
        let b = MetricId::new(
            "AWS/SageMaker",
            "Invocations",
            [("EndpointName", "e"), ("VariantName", "v")],
        );
        assert_eq!(a, b);
        let a = a.unwrap();
        assert_eq!(a.dimensions()[0].name, "EndpointName");
        assert_eq!(a.dimension("VariantName"), Some("v"));
        assert_eq!(a.dimension("Missing"), None);
    }

    #[test]
    fn invalid_identities_are_refused() {
        let none: [(&str, &str); 0] = [];
        assert_eq!(MetricId::new("", "m", none), Err(MetricIdError::Namespace));
        assert_eq!(
            MetricId::new(":x", "m", none),
            Err(MetricIdError::Namespace)
        );
        assert_eq!(
            MetricId::new("ns", "", none),
            Err(MetricIdError::MetricName)
        );
        assert_eq!(
            MetricId::new("ns", "m", [("a", "")]),
            Err(MetricIdError::Dimension)
        );
        let repeated = MetricId::new("ns", "m", [("a", "2"), ("a", "1"), ("a", "2")]).unwrap();
        assert_eq!(repeated.dimensions().len(), 2, "identical pairs collapse");
        assert_eq!(repeated.dimension("a"), Some("1"));
        assert!(repeated.has_dimension("a", Some("2")) && repeated.has_dimension("a", None));
        assert!(!repeated.has_dimension("a", Some("3")));
        let many = (0..31).map(|i| (format!("d{i}"), "v".to_string()));
        assert_eq!(
            MetricId::new("ns", "m", many),
            Err(MetricIdError::TooManyDimensions)
        );
    }
}
