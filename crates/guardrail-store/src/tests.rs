use guardrail_core::lifecycle::EndpointRecord;
use guardrail_core::names::ResourceKind;
use guardrail_core::spec::FleetSpec;
use guardrail_core::time::Timestamp;

use super::*;

fn model(key: &str, seq: i64) -> ResourceRow {
    ResourceRow {
        kind: ResourceKind::Model,
        key: key.into(),
        name: key.to_uppercase(),
        arn: format!("arn:aws:sagemaker:us-east-1:1:model/{key}"),
        created: Timestamp(seq * 1000),
        seq,
        doc: serde_json::json!({"ModelName": key}),
    }
}

#[tokio::test]
async fn resources_round_trip_and_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.db");
    let store = Store::open(&path).unwrap();
    let inserted: bool = store
        .write(|tx| tx.insert_resource(&model("m1", 1)))
        .await
        .unwrap();
    assert!(inserted);
    let again: bool = store
        .write(|tx| tx.insert_resource(&model("m1", 2)))
        .await
        .unwrap();
    assert!(!again, "duplicate key is refused");
    drop(store);

    let store = Store::open(&path).unwrap();
    let got = store
        .read(|tx| tx.get_resource(ResourceKind::Model, "m1"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got, model("m1", 1));
    assert!(store
        .read(|tx| tx.get_resource(ResourceKind::EndpointConfig, "m1"))
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn failed_closure_rolls_back() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("g.db")).unwrap();
    let r: Result<(), StoreError> = store
        .write(|tx| {
            tx.insert_resource(&model("m1", 1))?;
            Err(StoreError::Join("boom".into()))
        })
        .await;
    assert!(r.is_err());
    let all = store
        .read(|tx| tx.list_resources(ResourceKind::Model))
        .await
        .unwrap();
    assert!(all.is_empty(), "nothing half-written");
}

#[tokio::test]
async fn tags_keep_order_and_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("g.db")).unwrap();
    let t = |k: &str, v: &str| Tag {
        key: k.into(),
        value: v.into(),
    };
    let tags = store
        .write(move |tx| {
            tx.add_tags("arn:x", &[t("a", "1"), t("b", "2")])?;
            tx.add_tags("arn:x", &[t("a", "3"), t("c", "4")])?;
            tx.delete_tags("arn:x", &["b".into(), "zz".into()])?;
            tx.tags("arn:x")
        })
        .await
        .unwrap();
    assert_eq!(tags, vec![t("a", "3"), t("c", "4")]);
}

#[tokio::test]
async fn endpoints_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("g.db")).unwrap();
    let record = EndpointRecord::new(
        "Ep",
        FleetSpec {
            config_name: "c".into(),
            variants: vec![],
        },
        Timestamp(5),
    );
    let row = EndpointRow {
        key: "ep".into(),
        name: "Ep".into(),
        arn: "arn:ep".into(),
        seq: 1,
        record,
        extra: serde_json::json!({}),
    };
    let r2 = row.clone();
    store
        .write(move |tx| tx.insert_endpoint(&r2))
        .await
        .unwrap();
    let mut changed = row.clone();
    changed.record.failure_reason = Some("x".into());
    let c2 = changed.clone();
    assert!(store
        .write(move |tx| tx.update_endpoint(&c2))
        .await
        .unwrap());
    let got = store.read(|tx| tx.get_endpoint("ep")).await.unwrap();
    assert_eq!(got, Some(changed));
    assert!(store.write(|tx| tx.delete_endpoint("ep")).await.unwrap());
    assert!(store
        .read(|tx| tx.list_endpoints())
        .await
        .unwrap()
        .is_empty());
}

#[test]
fn migrations_are_versioned() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.db");
    Store::open(&path).unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    let v: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(v, 3);
    conn.pragma_update(None, "user_version", 99).unwrap();
    drop(conn);
    assert!(matches!(
        Store::open(&path),
        Err(StoreError::TooNew { found: 99, .. })
    ));
}

#[tokio::test]
async fn deployment_history_is_ordered_per_update() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("g.db")).unwrap();
    let events = store
        .write(|tx| {
            tx.append_deployment_event("ep", 2, Timestamp(20), &serde_json::json!({"step": "b"}))?;
            tx.append_deployment_event("ep", 1, Timestamp(10), &serde_json::json!({"step": "a"}))?;
            let s = tx.append_deployment_event(
                "ep",
                2,
                Timestamp(30),
                &serde_json::json!({"step": "c"}),
            )?;
            assert_eq!(s, 2);
            tx.append_deployment_event("other", 1, Timestamp(5), &serde_json::json!({}))?;
            tx.deployment_events("ep")
        })
        .await
        .unwrap();
    let steps: Vec<_> = events
        .iter()
        .map(|e| {
            (
                e.deployment_id,
                e.seq,
                e.doc["step"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        steps,
        vec![(1, 1, "a".into()), (2, 1, "b".into()), (2, 2, "c".into())]
    );
}
