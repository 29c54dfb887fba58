use super::*;
use crate::config::{RetentionPolicy, RetentionTier};
use crate::stats::Statistic;

const MIN: i64 = 60_000;
/// 2026-11-23T10:00:00Z
const T0: i64 = 1_795_428_000_000;

fn ts(ms: i64) -> Timestamp {
    Timestamp::from_millis(ms)
}

fn store() -> MetricStore {
    MetricStore::new(StoreConfig::default())
}

fn latency() -> MetricId {
    MetricId::new("AWS/SageMaker", "ModelLatency", [("EndpointName", "ep")]).unwrap()
}

#[test]
fn snapshot_round_trips_through_json() {
    let mut s = store();
    let m = latency();
    let custom = MetricId::new("Custom", "Jobs", [("Queue", "q")]).unwrap();
    for i in 0..500 {
        s.record(
            &m,
            ts(T0 + i * 700),
            f64::from(i as i32 % 97) * 13.0,
            Unit::Microseconds,
        )
        .unwrap();
        s.record(&custom, ts(T0 + i * 700), 1.0, Unit::Count)
            .unwrap();
    }
    s.prune(ts(T0 + MIN));
    let json = serde_json::to_string(&s.to_snapshot()).unwrap();
    let back = MetricStore::from_snapshot(serde_json::from_str(&json).unwrap()).unwrap();
    assert_eq!(back.memory_usage(), s.memory_usage());
    let stats = [Statistic::Sum, Statistic::Average, "p90".parse().unwrap()];
    assert_eq!(
        back.statistics(&m, ts(T0), ts(T0 + 6 * MIN), 60, &stats, None),
        s.statistics(&m, ts(T0), ts(T0 + 6 * MIN), 60, &stats, None)
    );
    assert_eq!(back.last_prune_s, s.last_prune_s);
    crate::store::tests::assert_counters_consistent(&back);
    // Only custom metrics.
    let only_custom = s.to_snapshot_where(|id| !id.namespace().starts_with("AWS/"));
    assert_eq!(only_custom.series_count(), 1);
    // A tampered snapshot is refused.
    let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
    v["series"][0]["tiers"][0]["buckets"][0]["start_s"] = serde_json::json!(i64::MAX);
    let tampered: crate::StoreSnapshot = serde_json::from_value(v).unwrap();
    assert!(matches!(
        MetricStore::from_snapshot(tampered),
        Err(crate::SnapshotError::Invalid(_))
    ));
}

#[test]
fn snapshots_of_another_format_or_policy_are_refused() {
    let mut s = store();
    s.record(&latency(), ts(T0), 1.0, Unit::None).unwrap();
    let mut snap = s.to_snapshot();
    snap.format_version = 2;
    assert_eq!(
        MetricStore::from_snapshot(snap).unwrap_err(),
        SnapshotError::UnsupportedVersion(2)
    );
    let mut snap = s.to_snapshot();
    snap.sketch_relative_accuracy = 0.02;
    assert_eq!(
        MetricStore::from_snapshot(snap).unwrap_err(),
        SnapshotError::SketchMismatch
    );
    let mut snap = s.to_snapshot();
    let tier = |resolution_s| RetentionTier {
        resolution_s,
        retention_s: 3600,
    };
    snap.config.retention = RetentionPolicy::new(vec![tier(1), tier(60)]).unwrap();
    assert!(matches!(
        MetricStore::from_snapshot(snap),
        Err(SnapshotError::Invalid(_))
    ));
}
