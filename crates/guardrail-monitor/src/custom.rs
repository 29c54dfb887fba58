//! PutMetricData: validated datums are stored durably as one batch, then recorded; at start
//! the batches are replayed (the metric store itself lives in memory).

use guardrail_core::time::Timestamp;
use guardrail_metrics::{MetricId, MetricStore, StatisticSet, StoreError as MetricError, Unit};
use guardrail_store::StoreError;
use serde::{Deserialize, Serialize};

use crate::{Monitor, MonitorError};

/// A datum's value: exactly one of `Value`, `StatisticValues`, `Values` (+ `Counts`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum DatumValue {
    Single(f64),
    Set(StatisticSet),
    Values {
        values: Vec<f64>,
        counts: Option<Vec<f64>>,
    },
}

/// One validated `MetricDatum`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Datum {
    pub metric: MetricId,
    pub timestamp: Timestamp,
    pub value: DatumValue,
    pub unit: Unit,
}

fn record(store: &mut MetricStore, d: &Datum) -> Result<(), MetricError> {
    match &d.value {
        DatumValue::Single(v) => store.record(&d.metric, d.timestamp, *v, d.unit),
        DatumValue::Set(s) => store.record_statistic_set(&d.metric, d.timestamp, *s, d.unit),
        DatumValue::Values { values, counts } => {
            store.record_values(&d.metric, d.timestamp, values, counts.as_deref(), d.unit)
        }
    }
}

/// Records every datum of the stored batches; returns how many were recorded.
pub(crate) fn replay(store: &mut MetricStore, batches: &[(Timestamp, serde_json::Value)]) -> usize {
    let mut n = 0;
    for (_, doc) in batches {
        match serde_json::from_value::<Vec<Datum>>(doc.clone()) {
            Ok(datums) => {
                for d in &datums {
                    if record(store, d).is_ok() {
                        n += 1;
                    }
                }
            }
            Err(e) => tracing::error!(error = %e, "unreadable stored metric batch; skipped"),
        }
    }
    n
}

impl Monitor {
    /// Stores the batch durably, then records it. A datum the store refuses (series cap)
    /// fails the call after the durable write; the datums before it are kept.
    pub async fn put_metric_data(&self, datums: Vec<Datum>) -> Result<(), MonitorError> {
        if datums.is_empty() {
            return Ok(());
        }
        let inner = &self.inner;
        let now = inner.clock.now();
        let doc = serde_json::to_value(&datums).map_err(StoreError::from)?;
        inner
            .store
            .write(move |tx| tx.append_metric_batch(now, &doc))
            .await?;
        let mut store = inner.metrics.lock();
        for d in &datums {
            record(&mut store, d).map_err(|e| MonitorError::InvalidMetricData(e.to_string()))?;
        }
        Ok(())
    }
}
