//! Versioned schema migrations, applied in order inside one transaction each. The version
//! lives in `PRAGMA user_version`. Never edit a shipped migration; append a new one.

use crate::StoreError;

const MIGRATIONS: &[&str] = &[
    // 1: models and endpoint configs share one table; endpoints hold their core record.
    r#"
    CREATE TABLE resources (
        kind       TEXT    NOT NULL,
        key        TEXT    NOT NULL,
        name       TEXT    NOT NULL,
        arn        TEXT    NOT NULL,
        created_ms INTEGER NOT NULL,
        seq        INTEGER NOT NULL,
        doc        TEXT    NOT NULL,
        PRIMARY KEY (kind, key)
    );
    CREATE TABLE endpoints (
        key        TEXT    PRIMARY KEY,
        name       TEXT    NOT NULL,
        arn        TEXT    NOT NULL,
        created_ms INTEGER NOT NULL,
        seq        INTEGER NOT NULL,
        record     TEXT    NOT NULL,
        extra      TEXT    NOT NULL
    );
    CREATE TABLE tags (
        arn   TEXT    NOT NULL,
        seq   INTEGER NOT NULL,
        key   TEXT    NOT NULL,
        value TEXT    NOT NULL,
        PRIMARY KEY (arn, key)
    );
    CREATE TABLE counters (
        name  TEXT PRIMARY KEY,
        value INTEGER NOT NULL
    );
    "#,
    // 2: the durable per-update history (timeline): one row per deployment transition.
    r#"
    CREATE TABLE deployment_events (
        endpoint_key  TEXT    NOT NULL,
        deployment_id INTEGER NOT NULL,
        seq           INTEGER NOT NULL,
        at_ms         INTEGER NOT NULL,
        doc           TEXT    NOT NULL,
        PRIMARY KEY (endpoint_key, deployment_id, seq)
    );
    "#,
    // 3: the alarm service: alarm documents (configuration + state), their history, and the
    // PutMetricData batches that custom metrics are rebuilt from after a restart.
    r#"
    CREATE TABLE alarms (
        name       TEXT    PRIMARY KEY,
        doc        TEXT    NOT NULL
    );
    CREATE TABLE alarm_history (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        alarm_name TEXT    NOT NULL,
        at_ms      INTEGER NOT NULL,
        item_type  TEXT    NOT NULL,
        summary    TEXT    NOT NULL,
        data       TEXT    NOT NULL
    );
    CREATE INDEX alarm_history_by_time ON alarm_history(at_ms);
    CREATE TABLE metric_batches (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        at_ms      INTEGER NOT NULL,
        doc        TEXT    NOT NULL
    );
    "#,
];

pub(crate) fn migrate(conn: &mut rusqlite::Connection) -> Result<(), StoreError> {
    let current: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let known = MIGRATIONS.len() as i64;
    if current > known {
        return Err(StoreError::TooNew {
            found: current,
            known,
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
        tracing::info!(version = i + 1, "applied store migration");
    }
    Ok(())
}
