//! Tables of the alarm service: alarm documents, alarm history, and custom-metric batches.
//! The documents are opaque JSON owned by `guardrail-monitor`.

use guardrail_core::time::Timestamp;
use rusqlite::params;

use crate::tables::Tx;
use crate::StoreError;

/// One DescribeAlarmHistory row.
#[derive(Clone, Debug, PartialEq)]
pub struct AlarmHistoryRow {
    pub id: i64,
    pub alarm_name: String,
    pub at: Timestamp,
    pub item_type: String,
    pub summary: String,
    pub data: String,
}

/// Which history rows to read: all filters are optional; `after_id` continues a page.
#[derive(Clone, Debug, Default)]
pub struct AlarmHistoryQuery {
    pub alarm_name: Option<String>,
    pub item_type: Option<String>,
    /// Inclusive.
    pub start: Option<Timestamp>,
    /// Inclusive.
    pub end: Option<Timestamp>,
    pub ascending: bool,
    /// Rows strictly beyond this id in the scan order.
    pub after_id: Option<i64>,
    pub limit: usize,
}

impl Tx<'_> {
    /// Creates or replaces an alarm document.
    pub fn put_alarm(&self, name: &str, doc: &serde_json::Value) -> Result<(), StoreError> {
        self.tx.execute(
            "INSERT INTO alarms(name, doc) VALUES (?1, ?2)
             ON CONFLICT(name) DO UPDATE SET doc = excluded.doc",
            params![name, serde_json::to_string(doc)?],
        )?;
        Ok(())
    }

    pub fn delete_alarm(&self, name: &str) -> Result<bool, StoreError> {
        Ok(self
            .tx
            .execute("DELETE FROM alarms WHERE name = ?1", params![name])?
            > 0)
    }

    /// Every alarm document, by name.
    pub fn list_alarms(&self) -> Result<Vec<(String, serde_json::Value)>, StoreError> {
        let mut stmt = self
            .tx
            .prepare("SELECT name, doc FROM alarms ORDER BY name")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        rows.map(|r| {
            let (name, doc) = r?;
            Ok((name, serde_json::from_str(&doc)?))
        })
        .collect()
    }

    pub fn append_alarm_history(
        &self,
        alarm_name: &str,
        at: Timestamp,
        item_type: &str,
        summary: &str,
        data: &str,
    ) -> Result<i64, StoreError> {
        self.tx.execute(
            "INSERT INTO alarm_history(alarm_name, at_ms, item_type, summary, data)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![alarm_name, at.millis(), item_type, summary, data],
        )?;
        Ok(self.tx.last_insert_rowid())
    }

    /// History rows matching `q`, in time order (ties by insertion order).
    pub fn alarm_history(&self, q: &AlarmHistoryQuery) -> Result<Vec<AlarmHistoryRow>, StoreError> {
        let (order, cmp) = if q.ascending {
            ("ASC", ">")
        } else {
            ("DESC", "<")
        };
        let sql = format!(
            "SELECT id, alarm_name, at_ms, item_type, summary, data FROM alarm_history
             WHERE (?1 IS NULL OR alarm_name = ?1)
               AND (?2 IS NULL OR item_type = ?2)
               AND (?3 IS NULL OR at_ms >= ?3)
               AND (?4 IS NULL OR at_ms <= ?4)
               AND (?5 IS NULL OR id {cmp} ?5)
             ORDER BY id {order} LIMIT ?6"
        );
        let mut stmt = self.tx.prepare(&sql)?;
        let rows = stmt.query_map(
            params![
                q.alarm_name,
                q.item_type,
                q.start.map(|t| t.millis()),
                q.end.map(|t| t.millis()),
                q.after_id,
                q.limit as i64
            ],
            |r| {
                Ok(AlarmHistoryRow {
                    id: r.get(0)?,
                    alarm_name: r.get(1)?,
                    at: Timestamp::from_millis(r.get(2)?),
                    item_type: r.get(3)?,
                    summary: r.get(4)?,
                    data: r.get(5)?,
                })
            },
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Drops history older than `before` (two-week retention).
    pub fn prune_alarm_history(&self, before: Timestamp) -> Result<usize, StoreError> {
        Ok(self.tx.execute(
            "DELETE FROM alarm_history WHERE at_ms < ?1",
            params![before.millis()],
        )?)
    }

    /// Appends one PutMetricData batch (already validated) for replay after a restart.
    pub fn append_metric_batch(
        &self,
        at: Timestamp,
        doc: &serde_json::Value,
    ) -> Result<(), StoreError> {
        self.tx.execute(
            "INSERT INTO metric_batches(at_ms, doc) VALUES (?1, ?2)",
            params![at.millis(), serde_json::to_string(doc)?],
        )?;
        Ok(())
    }

    /// Every stored batch, oldest first.
    pub fn metric_batches(&self) -> Result<Vec<(Timestamp, serde_json::Value)>, StoreError> {
        let mut stmt = self
            .tx
            .prepare("SELECT at_ms, doc FROM metric_batches ORDER BY id")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?;
        rows.map(|r| {
            let (at, doc) = r?;
            Ok((Timestamp::from_millis(at), serde_json::from_str(&doc)?))
        })
        .collect()
    }

    /// Drops batches received before `before` (past the store's retention).
    pub fn prune_metric_batches(&self, before: Timestamp) -> Result<usize, StoreError> {
        Ok(self.tx.execute(
            "DELETE FROM metric_batches WHERE at_ms < ?1",
            params![before.millis()],
        )?)
    }
}
