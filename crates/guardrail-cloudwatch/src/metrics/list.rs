//! ListMetrics (docs/cloudwatch-api.md#listmetrics): up to 500 metrics per page, in the store's order; the
//! NextToken carries the last identity returned, so metrics appearing between pages do not
//! shift the listing.

use guardrail_api::error::CloudWatchError;
use guardrail_api::generated::cloudwatch::{ListMetricsInput, ListMetricsOutput};
use guardrail_metrics::{DimensionFilter, ListMetricsFilter, MetricId, MetricStore, Timestamp};

use super::{missing, wire_metric};
use crate::{messages, CloudWatch};
use crate::{to_value, tokens, Reply};

/// Metrics per page.
const PAGE_SIZE: usize = 500;
const TOKEN_KIND: &str = "metrics";

pub(crate) fn list_metrics(service: &CloudWatch, input: ListMetricsInput) -> Reply {
    let now = service.monitor.clock().now();
    let output = service
        .monitor
        .with_metrics(|store| list(store, &input, now, PAGE_SIZE))?;
    to_value(&output)
}

/// The store filter a request describes.
pub(super) fn filter(input: &ListMetricsInput) -> Result<ListMetricsFilter, CloudWatchError> {
    let dimensions = input
        .dimensions
        .as_deref()
        .unwrap_or_default()
        .iter()
        .enumerate()
        .map(|(i, d)| {
            Ok(DimensionFilter {
                name: d
                    .name
                    .clone()
                    .ok_or_else(|| missing(&format!("Dimensions.member.{}.Name", i + 1)))?,
                value: d.value.clone(),
            })
        })
        .collect::<Result<Vec<_>, CloudWatchError>>()?;
    let recently_active = match input.recently_active.as_deref() {
        None => false,
        Some("PT3H") => true,
        Some(other) => {
            return Err(CloudWatchError::InvalidParameterValue(
                messages::invalid_recently_active(other),
            ))
        }
    };
    Ok(ListMetricsFilter {
        namespace: input.namespace.clone(),
        metric_name: input.metric_name.clone(),
        dimensions,
        recently_active,
    })
}

/// One page of matching metrics after the request's NextToken.
pub(super) fn list(
    store: &MetricStore,
    input: &ListMetricsInput,
    now: Timestamp,
    page_size: usize,
) -> Result<ListMetricsOutput, CloudWatchError> {
    let filter = filter(input)?;
    let after: Option<MetricId> = input
        .next_token
        .as_deref()
        .map(|t| {
            let pos = tokens::decode(TOKEN_KIND, t)?;
            serde_json::from_str::<MetricId>(&pos).map_err(|_| crate::tokens::invalid())
        })
        .transpose()?;
    let all = store.list_metrics(&filter, now);
    let start = after.map_or(0, |a| all.partition_point(|id| *id <= a));
    let rest = &all[start..];
    let page = &rest[..rest.len().min(page_size)];
    let next_token = if rest.len() > page.len() {
        match page.last().map(serde_json::to_string) {
            Some(Ok(pos)) => Some(tokens::encode(TOKEN_KIND, &pos)),
            Some(Err(e)) => {
                tracing::error!(error = %e, "cannot encode a ListMetrics position");
                return Err(CloudWatchError::Internal);
            }
            None => None,
        }
    } else {
        None
    };
    Ok(ListMetricsOutput {
        metrics: Some(page.iter().map(wire_metric).collect()),
        next_token,
        owning_accounts: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use guardrail_api::generated::cloudwatch::DimensionFilter as WireFilter;
    use guardrail_metrics::{StoreConfig, Unit};

    /// 2026-11-23T10:00:00Z
    const NOW: i64 = 1_795_428_000_000;
    const H: i64 = 3_600_000;

    fn now() -> Timestamp {
        Timestamp::from_millis(NOW)
    }

    fn store() -> MetricStore {
        let mut s = MetricStore::new(StoreConfig::default());
        let put = |s: &mut MetricStore, ns: &str, name: &str, dims: &[(&str, &str)], at: i64| {
            let id = MetricId::new(ns, name, dims.iter().copied()).unwrap();
            s.record(&id, Timestamp::from_millis(at), 1.0, Unit::None)
                .unwrap();
        };
        put(
            &mut s,
            "AWS/SageMaker",
            "Invocations",
            &[("EndpointName", "a"), ("VariantName", "v")],
            NOW,
        );
        put(
            &mut s,
            "AWS/SageMaker",
            "Invocations",
            &[("EndpointName", "b"), ("VariantName", "v")],
            NOW - 4 * H,
        );
        put(
            &mut s,
            "AWS/SageMaker",
            "ModelLatency",
            &[("EndpointName", "a")],
            NOW,
        );
        put(&mut s, "MyApp", "Latency", &[], NOW);
        s
    }

    fn names(out: &ListMetricsOutput) -> Vec<String> {
        out.metrics
            .as_ref()
            .unwrap()
            .iter()
            .map(|m| {
                let dims: Vec<String> = m
                    .dimensions
                    .as_ref()
                    .unwrap()
                    .iter()
                    .map(|d| {
                        format!(
                            "{}={}",
                            d.name.as_deref().unwrap(),
                            d.value.as_deref().unwrap()
                        )
                    })
                    .collect();
                format!(
                    "{}/{}[{}]",
                    m.namespace.as_deref().unwrap(),
                    m.metric_name.as_deref().unwrap(),
                    dims.join(",")
                )
            })
            .collect()
    }

    #[test]
    fn filters_by_namespace_name_dimensions_and_activity() {
        let s = store();
        let all = list(&s, &ListMetricsInput::default(), now(), 500).unwrap();
        assert_eq!(names(&all).len(), 4);
        assert_eq!(all.next_token, None);

        let i = ListMetricsInput {
            namespace: Some("AWS/SageMaker".into()),
            dimensions: Some(vec![WireFilter {
                name: Some("VariantName".into()),
                value: None,
            }]),
            ..Default::default()
        };
        assert_eq!(
            names(&list(&s, &i, now(), 500).unwrap()),
            [
                "AWS/SageMaker/Invocations[EndpointName=a,VariantName=v]",
                "AWS/SageMaker/Invocations[EndpointName=b,VariantName=v]"
            ]
        );
        let i = ListMetricsInput {
            dimensions: Some(vec![WireFilter {
                name: Some("EndpointName".into()),
                value: Some("a".into()),
            }]),
            metric_name: Some("ModelLatency".into()),
            ..Default::default()
        };
        assert_eq!(
            names(&list(&s, &i, now(), 500).unwrap()),
            ["AWS/SageMaker/ModelLatency[EndpointName=a]"]
        );
        let i = ListMetricsInput {
            namespace: Some("AWS/SageMaker".into()),
            recently_active: Some("PT3H".into()),
            ..Default::default()
        };
        assert_eq!(names(&list(&s, &i, now(), 500).unwrap()).len(), 2);
        let i = ListMetricsInput {
            namespace: Some("Nope".into()),
            ..Default::default()
        };
        let json = serde_json::to_value(list(&s, &i, now(), 500).unwrap()).unwrap();
        assert_eq!(json, serde_json::json!({"Metrics": []}));
    }

    #[test]
    fn pages_continue_after_the_last_identity() {
        let s = store();
        let p1 = list(&s, &ListMetricsInput::default(), now(), 3).unwrap();
        assert_eq!(names(&p1).len(), 3);
        let i = ListMetricsInput {
            next_token: p1.next_token,
            ..Default::default()
        };
        let p2 = list(&s, &i, now(), 3).unwrap();
        assert_eq!(names(&p2), ["MyApp/Latency[]"]);
        assert_eq!(p2.next_token, None);

        for bad in [
            "zzz".to_string(),
            tokens::encode("alarms", "x"),
            tokens::encode(TOKEN_KIND, "{}"),
        ] {
            let i = ListMetricsInput {
                next_token: Some(bad.clone()),
                ..Default::default()
            };
            assert!(
                matches!(
                    list(&s, &i, now(), 3),
                    Err(CloudWatchError::InvalidNextToken(_))
                ),
                "{bad}"
            );
        }
    }
}
