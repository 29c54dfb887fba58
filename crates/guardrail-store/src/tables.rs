//! Typed access to the tables, one method per query. Documents are JSON text columns; the
//! columns beside them exist for lookups and ordering.

use guardrail_core::lifecycle::EndpointRecord;
use guardrail_core::names::ResourceKind;
use guardrail_core::time::Timestamp;
use rusqlite::{params, OptionalExtension};

use crate::StoreError;

/// A model or endpoint config: its identity plus the request document as it was sent.
#[derive(Clone, Debug, PartialEq)]
pub struct ResourceRow {
    pub kind: ResourceKind,
    pub key: String,
    pub name: String,
    pub arn: String,
    pub created: Timestamp,
    /// Creation order; breaks ties when sorting.
    pub seq: i64,
    pub doc: serde_json::Value,
}

#[derive(Clone, Debug, PartialEq)]
pub struct EndpointRow {
    pub key: String,
    pub name: String,
    pub arn: String,
    pub seq: i64,
    pub record: EndpointRecord,
    /// API-level documents (e.g. LastDeploymentConfig as sent), owned by the HTTP layer.
    pub extra: serde_json::Value,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

/// One entry of an update's history, as the core recorded it.
#[derive(Clone, Debug, PartialEq)]
pub struct DeploymentEventRow {
    pub endpoint_key: String,
    pub deployment_id: i64,
    pub seq: i64,
    pub at: Timestamp,
    pub doc: serde_json::Value,
}

/// One open transaction.
pub struct Tx<'a> {
    pub(crate) tx: &'a rusqlite::Transaction<'a>,
}

fn kind_str(kind: ResourceKind) -> &'static str {
    match kind {
        ResourceKind::Model => "Model",
        ResourceKind::EndpointConfig => "EndpointConfig",
        ResourceKind::Endpoint => "Endpoint",
    }
}

impl<'a> Tx<'a> {
    pub(crate) fn new(tx: &'a rusqlite::Transaction<'a>) -> Self {
        Tx { tx }
    }

    /// The next value of a named, durable counter (starts at 1).
    pub fn next_seq(&self, name: &str) -> Result<i64, StoreError> {
        Ok(self.tx.query_row(
            "INSERT INTO counters(name, value) VALUES (?1, 1)
             ON CONFLICT(name) DO UPDATE SET value = value + 1 RETURNING value",
            params![name],
            |r| r.get(0),
        )?)
    }

    /// Inserts a model or endpoint config; `false` if one with that key exists.
    pub fn insert_resource(&self, row: &ResourceRow) -> Result<bool, StoreError> {
        let n = self.tx.execute(
            "INSERT INTO resources(kind, key, name, arn, created_ms, seq, doc)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO NOTHING",
            params![
                kind_str(row.kind),
                row.key,
                row.name,
                row.arn,
                row.created.millis(),
                row.seq,
                serde_json::to_string(&row.doc)?
            ],
        )?;
        Ok(n == 1)
    }

    pub fn get_resource(
        &self,
        kind: ResourceKind,
        key: &str,
    ) -> Result<Option<ResourceRow>, StoreError> {
        let row = self
            .tx
            .query_row(
                "SELECT key, name, arn, created_ms, seq, doc FROM resources WHERE kind = ?1 AND key = ?2",
                params![kind_str(kind), key],
                |r| raw_resource(kind, r),
            )
            .optional()?;
        row.map(parse_resource).transpose()
    }

    pub fn list_resources(&self, kind: ResourceKind) -> Result<Vec<ResourceRow>, StoreError> {
        let mut stmt = self.tx.prepare(
            "SELECT key, name, arn, created_ms, seq, doc FROM resources WHERE kind = ?1 ORDER BY seq",
        )?;
        let rows = stmt.query_map(params![kind_str(kind)], |r| raw_resource(kind, r))?;
        rows.map(|r| parse_resource(r?)).collect()
    }

    /// Deletes a resource and its tags; `false` if it did not exist.
    pub fn delete_resource(&self, kind: ResourceKind, key: &str) -> Result<bool, StoreError> {
        let Some(row) = self.get_resource(kind, key)? else {
            return Ok(false);
        };
        self.tx.execute(
            "DELETE FROM resources WHERE kind = ?1 AND key = ?2",
            params![kind_str(kind), key],
        )?;
        self.tx
            .execute("DELETE FROM tags WHERE arn = ?1", params![row.arn])?;
        Ok(true)
    }

    /// Inserts an endpoint; `false` if one with that key exists.
    pub fn insert_endpoint(&self, row: &EndpointRow) -> Result<bool, StoreError> {
        let n = self.tx.execute(
            "INSERT INTO endpoints(key, name, arn, created_ms, seq, record, extra)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO NOTHING",
            params![
                row.key,
                row.name,
                row.arn,
                row.record.creation_time.millis(),
                row.seq,
                serde_json::to_string(&row.record)?,
                serde_json::to_string(&row.extra)?
            ],
        )?;
        Ok(n == 1)
    }

    /// Replaces an existing endpoint's record and extra document.
    pub fn update_endpoint(&self, row: &EndpointRow) -> Result<bool, StoreError> {
        let n = self.tx.execute(
            "UPDATE endpoints SET record = ?2, extra = ?3 WHERE key = ?1",
            params![
                row.key,
                serde_json::to_string(&row.record)?,
                serde_json::to_string(&row.extra)?
            ],
        )?;
        Ok(n == 1)
    }

    /// Compare-and-set: replaces the record only if it still equals `expected`, so a
    /// controller pass never overwrites a change the API committed meanwhile.
    pub fn update_endpoint_if(
        &self,
        row: &EndpointRow,
        expected: &EndpointRecord,
    ) -> Result<bool, StoreError> {
        match self.get_endpoint(&row.key)? {
            Some(current) if &current.record == expected => self.update_endpoint(row),
            _ => Ok(false),
        }
    }

    /// Deletes the endpoint only if it is (still) in `status`.
    pub fn delete_endpoint_if_status(
        &self,
        key: &str,
        status: guardrail_core::status::EndpointStatus,
    ) -> Result<bool, StoreError> {
        match self.get_endpoint(key)? {
            Some(current) if current.record.status == status => self.delete_endpoint(key),
            _ => Ok(false),
        }
    }

    pub fn get_endpoint(&self, key: &str) -> Result<Option<EndpointRow>, StoreError> {
        let row = self
            .tx
            .query_row(
                "SELECT key, name, arn, seq, record, extra FROM endpoints WHERE key = ?1",
                params![key],
                raw_endpoint,
            )
            .optional()?;
        row.map(parse_endpoint).transpose()
    }

    pub fn list_endpoints(&self) -> Result<Vec<EndpointRow>, StoreError> {
        let mut stmt = self
            .tx
            .prepare("SELECT key, name, arn, seq, record, extra FROM endpoints ORDER BY seq")?;
        let rows = stmt.query_map([], raw_endpoint)?;
        rows.map(|r| parse_endpoint(r?)).collect()
    }

    /// Deletes an endpoint and its tags; `false` if it did not exist.
    pub fn delete_endpoint(&self, key: &str) -> Result<bool, StoreError> {
        let Some(row) = self.get_endpoint(key)? else {
            return Ok(false);
        };
        self.tx
            .execute("DELETE FROM endpoints WHERE key = ?1", params![key])?;
        self.tx
            .execute("DELETE FROM tags WHERE arn = ?1", params![row.arn])?;
        Ok(true)
    }

    /// Appends a history entry to an endpoint's update; returns its sequence number.
    pub fn append_deployment_event(
        &self,
        endpoint_key: &str,
        deployment_id: i64,
        at: Timestamp,
        doc: &serde_json::Value,
    ) -> Result<i64, StoreError> {
        let seq: i64 = self.tx.query_row(
            "SELECT COALESCE(MAX(seq), 0) + 1 FROM deployment_events
             WHERE endpoint_key = ?1 AND deployment_id = ?2",
            params![endpoint_key, deployment_id],
            |r| r.get(0),
        )?;
        self.tx.execute(
            "INSERT INTO deployment_events(endpoint_key, deployment_id, seq, at_ms, doc)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                endpoint_key,
                deployment_id,
                seq,
                at.millis(),
                serde_json::to_string(doc)?
            ],
        )?;
        Ok(seq)
    }

    /// The history of every update of an endpoint, oldest first.
    pub fn deployment_events(
        &self,
        endpoint_key: &str,
    ) -> Result<Vec<DeploymentEventRow>, StoreError> {
        let mut stmt = self.tx.prepare(
            "SELECT deployment_id, seq, at_ms, doc FROM deployment_events
             WHERE endpoint_key = ?1 ORDER BY deployment_id, seq",
        )?;
        let rows = stmt.query_map(params![endpoint_key], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, String>(3)?,
            ))
        })?;
        rows.map(|r| {
            let (deployment_id, seq, at, doc) = r?;
            Ok(DeploymentEventRow {
                endpoint_key: endpoint_key.to_string(),
                deployment_id,
                seq,
                at: Timestamp::from_millis(at),
                doc: serde_json::from_str(&doc)?,
            })
        })
        .collect()
    }

    /// Tags of a resource in insertion order.
    pub fn tags(&self, arn: &str) -> Result<Vec<Tag>, StoreError> {
        let mut stmt = self
            .tx
            .prepare("SELECT key, value FROM tags WHERE arn = ?1 ORDER BY seq")?;
        let rows = stmt.query_map(params![arn], |r| {
            Ok(Tag {
                key: r.get(0)?,
                value: r.get(1)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Adds tags; an existing key keeps its position and takes the new value.
    pub fn add_tags(&self, arn: &str, tags: &[Tag]) -> Result<(), StoreError> {
        for t in tags {
            let seq = self.next_seq("tag")?;
            self.tx.execute(
                "INSERT INTO tags(arn, seq, key, value) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(arn, key) DO UPDATE SET value = excluded.value",
                params![arn, seq, t.key, t.value],
            )?;
        }
        Ok(())
    }

    pub fn delete_tags(&self, arn: &str, keys: &[String]) -> Result<(), StoreError> {
        for k in keys {
            self.tx.execute(
                "DELETE FROM tags WHERE arn = ?1 AND key = ?2",
                params![arn, k],
            )?;
        }
        Ok(())
    }
}

type RawResource = (ResourceKind, String, String, String, i64, i64, String);

fn raw_resource(kind: ResourceKind, r: &rusqlite::Row<'_>) -> rusqlite::Result<RawResource> {
    Ok((
        kind,
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
    ))
}

fn parse_resource(raw: RawResource) -> Result<ResourceRow, StoreError> {
    let (kind, key, name, arn, created, seq, doc) = raw;
    Ok(ResourceRow {
        kind,
        key,
        name,
        arn,
        created: Timestamp::from_millis(created),
        seq,
        doc: serde_json::from_str(&doc)?,
    })
}

type RawEndpoint = (String, String, String, i64, String, String);

fn raw_endpoint(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawEndpoint> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
    ))
}

fn parse_endpoint(raw: RawEndpoint) -> Result<EndpointRow, StoreError> {
    let (key, name, arn, seq, record, extra) = raw;
    Ok(EndpointRow {
        key,
        name,
        arn,
        seq,
        record: serde_json::from_str(&record)?,
        extra: serde_json::from_str(&extra)?,
    })
}
