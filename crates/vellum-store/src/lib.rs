//! Storage: the one place that talks SQL.
//!
//! Vellum keeps everything in one relational database, SQLite (embedded
//! default) or PostgreSQL (scaled out). Services see this crate's
//! interface only: [`Store`] to open a [`Conn`] or a [`Tx`], and the
//! repository functions in the modules below, which take any [`Handle`] and
//! return domain types (`PagePath`, `Title`, `PageId`, [`vellum_core::Timestamp`]
//! …), never sqlx types. How the two backends sit behind it, and how to add
//! a third, is in [`db`].
//!
//! Per backend: `migrations/{sqlite,postgres}/` carry the same versions; a
//! test checks that the schemas agree. PostgreSQL stores times as
//! `timestamptz` and JSON as `jsonb`; SQLite as integer milliseconds and
//! text.
#![forbid(unsafe_code)]

pub mod access;
pub mod audit;
pub mod comments;
pub mod db;
mod error;
pub mod events;
pub mod feed;
pub mod files;
mod group;
pub mod jobs;
mod migrate;
pub mod notifications;
pub mod pages;
pub mod refs;
pub mod renders;
pub mod reviews;
pub mod revisions;
pub mod search;
pub mod sessions;
pub mod settings;
pub mod setup;
pub mod throttle;
pub mod tokens;
pub mod users;
mod visible;

pub use db::{AsTx, Backend, Conn, GroupCommits, Handle, SqliteDurability, StoreOptions, Tx};
pub use error::{Constraint, StoreError, UNIQUE_INDEXES};
pub use migrate::{migrations, Migration};
pub use visible::Visible;

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A handle on the database; cheap to clone.
#[derive(Clone)]
pub struct Store {
    pool: db::Pool,
    bell: std::sync::Arc<feed::FeedBell>,
    /// Background tasks owned by the store (feed wake-ups).
    tasks: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("backend", &self.backend()).finish()
    }
}

/// How often `vellum serve` runs [`Store::maintain`].
pub const MAINTENANCE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(30);

impl Store {
    /// Connects to `sqlite://…` or `postgres://…`; SQLite files are created
    /// when missing.
    pub async fn connect(url: &str) -> Result<Store> {
        Self::connect_with(url, &StoreOptions::default()).await
    }

    pub async fn connect_with(url: &str, opts: &StoreOptions) -> Result<Store> {
        Ok(Store {
            pool: db::Pool::connect(url, opts).await?,
            bell: Default::default(),
            tasks: Default::default(),
        })
    }

    pub fn backend(&self) -> Backend {
        self.pool.backend()
    }

    /// Applies pending migrations; returns the versions applied now. Safe
    /// to run from several processes at once.
    pub async fn migrate(&self) -> Result<Vec<i64>> {
        migrate::run(&self.pool).await
    }

    /// A pooled connection for reads.
    pub async fn read(&self) -> Result<Conn> {
        self.pool.acquire().await
    }

    /// A write transaction (on SQLite, after the writers before it).
    pub async fn begin(&self) -> Result<Tx> {
        self.pool.begin().await
    }

    /// How SQLite's write transactions were grouped into commits (writers
    /// queued behind each other commit together; zeros on PostgreSQL).
    pub fn group_commits(&self) -> db::GroupCommits {
        self.pool.group_commits()
    }

    /// Checks that the database answers (used by health checks).
    pub async fn ping(&self) -> Result<()> {
        let mut conn = self.read().await?;
        db::with_db!(&mut conn, |c| sqlx::query("SELECT 1")
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected()))?;
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
        match self.backend() {
            Backend::Sqlite => {
                // `optimize` may write (ANALYZE): queue behind the writers.
                let mut tx = self.begin().await?;
                db::with_db!(&mut tx, |c| sqlx::query("PRAGMA optimize")
                    .execute(&mut *c)
                    .await
                    .map(|r| r.rows_affected()))?;
                tx.commit().await?;
                Ok(Vec::new())
            }
            Backend::Postgres => {
                let mut conn = self.read().await?;
                let stale: Vec<String> = db::with_db!(&mut conn, |c| sqlx::query_scalar(
                    "SELECT relname::text FROM pg_stat_user_tables WHERE schemaname = current_schema() \
                     AND n_mod_since_analyze > GREATEST(1000, n_live_tup / 10) ORDER BY relname",
                )
                .fetch_all(&mut *c)
                .await)?;
                for table in &stale {
                    // Names come from the catalogue; quote them anyway.
                    let sql = format!("ANALYZE \"{}\"", table.replace('"', "\"\""));
                    db::with_db!(&mut conn, |c| sqlx::query(&sql)
                        .execute(&mut *c)
                        .await
                        .map(|r| r.rows_affected()))?;
                }
                Ok(stale)
            }
        }
    }

    pub async fn close(&self) {
        if let Ok(mut tasks) = self.tasks.lock() {
            for t in tasks.drain(..) {
                t.abort();
            }
        }
        self.pool.close().await;
    }
}
