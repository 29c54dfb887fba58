//! The durable store: the single source of truth the controller reconciles from.
//!
//! SQLite in WAL mode with `synchronous=FULL`, so every committed write survives a crash or
//! power loss before the API answers. All access goes through [`Store::write`] /
//! [`Store::read`], which run one transaction on a blocking thread. Only this crate may use
//! rusqlite.

mod migrations;
mod monitoring;
mod tables;

use std::path::Path;
use std::sync::{Arc, Mutex};

pub use monitoring::{AlarmHistoryQuery, AlarmHistoryRow};
pub use tables::{DeploymentEventRow, EndpointRow, ResourceRow, Tag, Tx};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("stored document is not valid: {0}")]
    Corrupt(#[from] serde_json::Error),
    #[error("the store's schema version {found} is newer than this build knows ({known})")]
    TooNew { found: i64, known: i64 },
    #[error("store task failed: {0}")]
    Join(String),
}

impl StoreError {
    /// Whether the error means the store is out of space (SQLITE_FULL) or read-only.
    pub fn is_disk_problem(&self) -> bool {
        matches!(
            self,
            StoreError::Sqlite(rusqlite::Error::SqliteFailure(e, _))
                if matches!(e.code, rusqlite::ErrorCode::DiskFull | rusqlite::ErrorCode::ReadOnly | rusqlite::ErrorCode::SystemIoFailure)
        )
    }
}

#[derive(Clone)]
pub struct Store {
    // One connection: SQLite serialises writers anyway, and the control plane is not hot.
    conn: Arc<Mutex<rusqlite::Connection>>,
}

impl Store {
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let mut conn = rusqlite::Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        migrations::migrate(&mut conn)?;
        Ok(Store {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// Runs `f` in one transaction on a blocking thread; commits only if it returns `Ok`.
    pub async fn write<R, E, F>(&self, f: F) -> Result<R, E>
    where
        F: FnOnce(&Tx<'_>) -> Result<R, E> + Send + 'static,
        R: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = conn.lock().unwrap_or_else(|p| p.into_inner());
            let tx = guard.transaction().map_err(StoreError::from)?;
            let wrapped = Tx::new(&tx);
            let out = f(&wrapped)?;
            tx.commit().map_err(StoreError::from)?;
            Ok(out)
        })
        .await
        .map_err(|e| E::from(StoreError::Join(e.to_string())))?
    }

    /// Read-only access; same transaction discipline (a rolled-back transaction).
    pub async fn read<R, E, F>(&self, f: F) -> Result<R, E>
    where
        F: FnOnce(&Tx<'_>) -> Result<R, E> + Send + 'static,
        R: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = conn.lock().unwrap_or_else(|p| p.into_inner());
            let tx = guard.transaction().map_err(StoreError::from)?;
            f(&Tx::new(&tx))
        })
        .await
        .map_err(|e| E::from(StoreError::Join(e.to_string())))?
    }
}

#[cfg(test)]
mod tests;
