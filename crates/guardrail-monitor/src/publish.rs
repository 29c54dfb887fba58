//! Turns drained invocation accumulators into `AWS/SageMaker` metrics (both dimension sets)
//! and Prometheus counters.

use guardrail_core::time::Timestamp;
use guardrail_metrics::{MetricId, MetricStore, StatisticSet, Unit};

use crate::recorder::{Accum, Drained};
use crate::telemetry::Telemetry;

pub(crate) const NAMESPACE: &str = "AWS/SageMaker";

/// Records one drained accumulator under `{EndpointName, VariantName}` and
/// `{EndpointName, VariantName, EndpointConfigName}`.
pub(crate) fn publish(store: &mut MetricStore, telemetry: &Telemetry, drained: &[Drained]) {
    for (second, endpoint, variant, config, a) in drained {
        telemetry.invocations(endpoint, variant, config, a);
        let ts = Timestamp::from_millis(second * 1000);
        let two = [
            ("EndpointName", endpoint.as_str()),
            ("VariantName", variant.as_str()),
        ];
        let three = [
            ("EndpointName", endpoint.as_str()),
            ("VariantName", variant.as_str()),
            ("EndpointConfigName", config.as_str()),
        ];
        for metric in METRICS {
            for dims in [&two[..], &three[..]] {
                if dims.iter().any(|(_, v)| v.is_empty()) {
                    continue;
                }
                let Ok(id) = MetricId::new(NAMESPACE, metric.name, dims.iter().copied()) else {
                    continue;
                };
                if let Err(e) = (metric.record)(store, &id, ts, a) {
                    tracing::warn!(metric = metric.name, error = %e, "metric not recorded");
                }
            }
        }
    }
}

type RecordFn =
    fn(&mut MetricStore, &MetricId, Timestamp, &Accum) -> Result<(), guardrail_metrics::StoreError>;

struct Metric {
    name: &'static str,
    record: RecordFn,
}

/// 0/1 per request: `count` ones among `n` requests.
fn zero_one(
    s: &mut MetricStore,
    id: &MetricId,
    ts: Timestamp,
    n: u64,
    ones: u64,
) -> Result<(), guardrail_metrics::StoreError> {
    let counts = [(n - ones) as f64, ones as f64];
    s.record_values(id, ts, &[0.0, 1.0], Some(&counts), Unit::None)
}

const METRICS: &[Metric] = &[
    Metric {
        name: "Invocations",
        record: |s, id, ts, a| {
            s.record_values(id, ts, &[1.0], Some(&[a.invocations as f64]), Unit::None)
        },
    },
    Metric {
        name: "Invocation4XXErrors",
        record: |s, id, ts, a| zero_one(s, id, ts, a.invocations, a.errors_4xx),
    },
    Metric {
        name: "Invocation5XXErrors",
        record: |s, id, ts, a| zero_one(s, id, ts, a.invocations, a.errors_5xx),
    },
    Metric {
        name: "InvocationModelErrors",
        record: |s, id, ts, a| zero_one(s, id, ts, a.invocations, a.model_errors),
    },
    Metric {
        name: "InvocationsPerInstance",
        record: |s, id, ts, a| {
            let n = a.invocations as f64;
            let mean = a.per_instance / n;
            let set = StatisticSet {
                sample_count: n,
                sum: a.per_instance,
                minimum: mean,
                maximum: mean,
            };
            s.record_statistic_set(id, ts, set, Unit::None)
        },
    },
    Metric {
        name: "ModelLatency",
        record: |s, id, ts, a| s.record_distribution(id, ts, &a.model_latency, Unit::Microseconds),
    },
    Metric {
        name: "OverheadLatency",
        record: |s, id, ts, a| {
            s.record_distribution(id, ts, &a.overhead_latency, Unit::Microseconds)
        },
    },
];
