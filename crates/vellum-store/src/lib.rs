//! Storage: the one place that talks SQL.
//!
//! Vellum keeps everything in one relational database, SQLite (embedded
//! default) or PostgreSQL (scaled out). Both sit behind the same interface:
//! repository functions in the modules below that take a
//! `&mut AnyConnection`, so the same call works on a pooled connection
//! ([`Store::read`]) or inside a write transaction ([`Store::begin`]).
//!
//! The SQL text is shared: both engines accept `$1` placeholders, `RETURNING`
//! and `ON CONFLICT`, and every column is `BIGINT` or `TEXT` so values decode
//! the same way through sqlx's `Any` driver. What differs per backend lives
//! in [`backend`] (connection setup, row locks, write serialisation) and in
//! `migrations/{sqlite,postgres}/`, which carry the same versions.
//!
//! Adding a backend: a migrations directory with the same versions, a
//! [`Backend`] variant, and its branches in `backend.rs`; then run the
//! integration suite against it.
#![forbid(unsafe_code)]

mod backend;
pub mod events;
mod migrate;
pub mod pages;
pub mod refs;
pub mod revisions;
pub mod sessions;
pub mod settings;
pub mod users;

use std::ops::{Deref, DerefMut};
use std::sync::Arc;

pub use backend::Backend;
pub use migrate::{migrations, Migration};
use sqlx::pool::PoolConnection;
pub use sqlx::AnyConnection;
use sqlx::{Any, AnyPool, Transaction};
use tokio::sync::{Mutex, OwnedMutexGuard};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the database URL is not valid: {0}")]
    BadUrl(String),
    #[error("unique constraint `{0}` violated")]
    Unique(String),
    #[error("migration failed: {0}")]
    Migration(String),
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &err {
            if db.is_unique_violation() {
                return StoreError::Unique(db.constraint().unwrap_or_default().to_owned());
            }
        }
        StoreError::Database(err)
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A handle on the database; cheap to clone.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// SQLite allows one writer at a time; queueing writers here instead of
    /// in SQLite's busy handler keeps deferred transactions from failing with
    /// SQLITE_BUSY when two of them try to upgrade to a write lock.
    write_gate: Option<Arc<Mutex<()>>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("backend", &self.backend).finish()
    }
}

/// How often `vellum serve` runs [`Store::maintain`].
pub const MAINTENANCE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(30);

/// A pooled connection for reads.
pub struct Conn(PoolConnection<Any>);

/// A write transaction. Dropping it without [`Tx::commit`] rolls back.
pub struct Tx {
    tx: Transaction<'static, Any>,
    _gate: Option<OwnedMutexGuard<()>>,
}

impl Store {
    /// Connects to `sqlite://…` or `postgres://…`; SQLite files are created
    /// when missing.
    pub async fn connect(url: &str) -> Result<Store> {
        backend::connect(url).await
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Applies pending migrations; returns the versions applied now.
    pub async fn migrate(&self) -> Result<Vec<i64>> {
        let mut conn = self.pool.acquire().await?;
        migrate::run(&mut conn, self.backend).await
    }

    pub async fn read(&self) -> Result<Conn> {
        Ok(Conn(self.pool.acquire().await?))
    }

    pub async fn begin(&self) -> Result<Tx> {
        let gate = match &self.write_gate {
            Some(gate) => Some(gate.clone().lock_owned().await),
            None => None,
        };
        // SQLite: take the write lock at BEGIN, so a writer outside the gate
        // (another process, such as `vellum user create`) makes this wait
        // for the busy timeout instead of failing the upgrade of a deferred
        // transaction with SQLITE_BUSY_SNAPSHOT.
        let tx = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        };
        Ok(Tx { tx, _gate: gate })
    }

    /// Checks that the database answers (used by health checks).
    pub async fn ping(&self) -> Result<()> {
        let mut conn = self.read().await?;
        sqlx::query("SELECT 1").execute(&mut *conn).await?;
        Ok(())
    }

    /// Keeps the query planner's statistics current; `vellum serve` calls
    /// it every [`MAINTENANCE_INTERVAL`].
    ///
    /// PostgreSQL: `ANALYZE` of the tables with more than `max(1000, 10 %)`
    /// rows changed since their last analysis. Vellum does not rely on
    /// autovacuum for this: with statistics missing or stale (autovacuum off,
    /// or lagging a bulk import), the planner took partial indexes over every
    /// page for small and scanned them on each page view (measured: page
    /// creation fell from 260 to 70 pages/s by 40,000 pages). SQLite:
    /// `PRAGMA optimize`, which analyses only what needs it.
    pub async fn maintain(&self) -> Result<Vec<String>> {
        match self.backend {
            Backend::Sqlite => {
                // `optimize` may write (ANALYZE): queue behind the writers.
                let mut tx = self.begin().await?;
                sqlx::query("PRAGMA optimize").execute(&mut *tx).await?;
                tx.commit().await?;
                Ok(Vec::new())
            }
            Backend::Postgres => {
                let mut conn = self.read().await?;
                let stale: Vec<String> = sqlx::query(
                    "SELECT relname::text FROM pg_stat_user_tables WHERE schemaname = current_schema() \
                     AND n_mod_since_analyze > GREATEST(1000, n_live_tup / 10) ORDER BY relname",
                )
                .fetch_all(&mut *conn)
                .await?
                .iter()
                .map(|r| sqlx::Row::try_get(r, 0))
                .collect::<Result<_, sqlx::Error>>()?;
                for table in &stale {
                    // Names come from the catalogue; quote them anyway.
                    sqlx::query(&format!("ANALYZE \"{}\"", table.replace('"', "\"\"")))
                        .execute(&mut *conn)
                        .await?;
                }
                Ok(stale)
            }
        }
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

impl Tx {
    pub async fn commit(self) -> Result<()> {
        self.tx.commit().await?;
        Ok(())
    }
}

impl Deref for Conn {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        &self.0
    }
}
impl DerefMut for Conn {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.0
    }
}
impl Deref for Tx {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        &self.tx
    }
}
impl DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }
}

/// `$start, $start+1, …` for an `IN (…)` list of `n` values.
pub(crate) fn placeholders(start: usize, n: usize) -> String {
    (start..start + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    #[test]
    fn placeholder_lists() {
        assert_eq!(super::placeholders(2, 3), "$2, $3, $4");
        assert_eq!(super::placeholders(1, 0), "");
    }
}
