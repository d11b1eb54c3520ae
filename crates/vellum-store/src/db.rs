//! The two backends behind one set of repository functions.
//!
//! A [`Store`](crate::Store) holds either a SQLite or a PostgreSQL pool on
//! sqlx's concrete drivers. Repository functions take any [`Handle`] (a
//! pooled [`Conn`] for reads, a [`Tx`] for writes) and run their query with
//! [`with_db!`], which type-checks the same body once per driver: where the
//! SQL text is identical it is written once, and where a backend has a
//! better tool (`= ANY($1)` arrays, `timestamptz`, `jsonb`, row locks) the
//! body picks the text for its [`Backend`].
//!
//! Adding a backend (MySQL/MariaDB, say) means a `Db` variant, its pool and
//! transaction variants, an arm in [`with_db!`], its branch of each
//! backend-specific SQL text, the bind types below for its driver, and a
//! `migrations/<backend>/` directory with the same versions. The compiler
//! then lists every `match` that needs its case.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions, PgRow};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{Postgres, Row, Sqlite, Transaction};
use vellum_core::Timestamp;

pub use crate::group::GroupCommits;
use crate::group::{Gate, SqliteWork};
use crate::{Result, StoreError};

/// Which database engine a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn from_url(url: &str) -> Result<Backend> {
        let scheme = url.split(':').next().unwrap_or_default();
        match scheme {
            "sqlite" => Ok(Backend::Sqlite),
            "postgres" | "postgresql" => Ok(Backend::Postgres),
            _ => Err(StoreError::BadUrl(format!(
                "unsupported scheme `{scheme}`; use sqlite://PATH or postgres://USER@HOST/DB"
            ))),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// SQL text that differs per backend.
pub(crate) struct Sql {
    pub sqlite: &'static str,
    pub postgres: &'static str,
}

impl Sql {
    pub(crate) fn of(&self, backend: Backend) -> &'static str {
        match backend {
            Backend::Sqlite => self.sqlite,
            Backend::Postgres => self.postgres,
        }
    }
}

/// How durable SQLite commits are (PRAGMA synchronous in WAL mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SqliteDurability {
    /// Every commit is on disk before it is acknowledged (`FULL`).
    #[default]
    Full,
    /// Commits reach the disk at checkpoints; a power cut can lose the last
    /// ones, a crash of Vellum cannot (`NORMAL`).
    Normal,
}

/// Pool and connection settings.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Connections per pool (per process). `None`: 8 for SQLite readers,
    /// 24 for PostgreSQL.
    pub max_connections: Option<u32>,
    /// How long a request waits for a free connection before it is answered
    /// "busy" (nothing written).
    pub acquire_timeout: Duration,
    pub sqlite_durability: SqliteDurability,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            max_connections: None,
            acquire_timeout: Duration::from_secs(5),
            sqlite_durability: SqliteDurability::default(),
        }
    }
}

#[derive(Clone)]
pub(crate) enum Pool {
    Sqlite {
        pool: SqlitePool,
        /// SQLite allows one writer at a time; queueing writers here
        /// instead of in SQLite's busy handler keeps them in order and
        /// holds no connection while they wait. Writers that queue behind
        /// each other commit together (see [`Writer`]).
        write_gate: Arc<Gate>,
        /// How long a writer waits for its turn before it is answered busy.
        wait: Duration,
    },
    Postgres(PgPool),
}

impl Pool {
    pub(crate) fn backend(&self) -> Backend {
        match self {
            Pool::Sqlite { .. } => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    pub(crate) async fn connect(url: &str, opts: &StoreOptions) -> Result<Pool> {
        /// SQLITE_BUSY and its extended codes (the low byte is 5).
        fn is_sqlite_busy(code: Option<&str>) -> bool {
            code.and_then(|c| c.parse::<i32>().ok()).is_some_and(|c| c & 0xff == 5)
        }
        match Backend::from_url(url)? {
            Backend::Sqlite => {
                let synchronous = match opts.sqlite_durability {
                    SqliteDurability::Full => SqliteSynchronous::Full,
                    SqliteDurability::Normal => SqliteSynchronous::Normal,
                };
                let connect = SqliteConnectOptions::from_str(url)
                    .map_err(|e| StoreError::BadUrl(e.to_string()))?
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(synchronous)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(5));
                // Several processes opening a new database at once race to
                // switch it to WAL, which takes an exclusive lock and does not
                // wait for it: the losers see "database is locked" (5) and
                // try again shortly.
                let mut tries = 0;
                let pool = loop {
                    let attempt = SqlitePoolOptions::new()
                        .max_connections(opts.max_connections.unwrap_or(8))
                        .min_connections(1)
                        .acquire_timeout(opts.acquire_timeout)
                        .connect_with(connect.clone())
                        .await;
                    match attempt {
                        Err(sqlx::Error::Database(e)) if tries < 50 && is_sqlite_busy(e.code().as_deref()) => {
                            tries += 1;
                            tokio::time::sleep(Duration::from_millis(20 + 10 * tries)).await;
                        }
                        other => break other?,
                    }
                };
                Ok(Pool::Sqlite {
                    pool,
                    write_gate: Arc::new(Gate::default()),
                    wait: opts.acquire_timeout,
                })
            }
            Backend::Postgres => {
                let connect = PgConnectOptions::from_str(url).map_err(|e| StoreError::BadUrl(e.to_string()))?;
                let pool = PgPoolOptions::new()
                    .max_connections(opts.max_connections.unwrap_or(24))
                    .acquire_timeout(opts.acquire_timeout)
                    .connect_with(connect)
                    .await?;
                Ok(Pool::Postgres(pool))
            }
        }
    }

    pub(crate) async fn acquire(&self) -> Result<Conn> {
        Ok(Conn(match self {
            Pool::Sqlite { pool, .. } => ConnInner::Sqlite(pool.acquire().await?),
            Pool::Postgres(pool) => ConnInner::Postgres(pool.acquire().await?),
        }))
    }

    pub(crate) async fn begin(&self) -> Result<Tx> {
        match self {
            Pool::Sqlite { pool, write_gate, wait } => {
                let work = write_gate.enter(pool, *wait).await?;
                Ok(Tx {
                    inner: TxInner::Sqlite(work),
                })
            }
            Pool::Postgres(pool) => Ok(Tx {
                inner: TxInner::Postgres(pool.begin().await?),
            }),
        }
    }

    pub(crate) async fn close(&self) {
        match self {
            Pool::Sqlite { pool, .. } => pool.close().await,
            Pool::Postgres(pool) => pool.close().await,
        }
    }

    /// SQLite's group commits so far (zeros on PostgreSQL).
    pub(crate) fn group_commits(&self) -> GroupCommits {
        match self {
            Pool::Sqlite { write_gate, .. } => write_gate.stats(),
            Pool::Postgres(_) => GroupCommits::default(),
        }
    }

    pub(crate) fn postgres(&self) -> Option<&PgPool> {
        match self {
            Pool::Postgres(pool) => Some(pool),
            Pool::Sqlite { .. } => None,
        }
    }
}

enum ConnInner {
    Sqlite(PoolConnection<Sqlite>),
    Postgres(PoolConnection<Postgres>),
}

/// A pooled connection for reads.
pub struct Conn(ConnInner);

enum TxInner {
    Sqlite(SqliteWork),
    Postgres(Transaction<'static, Postgres>),
}

/// A write transaction. Dropping it without [`Tx::commit`] rolls back.
pub struct Tx {
    inner: TxInner,
}

impl Tx {
    /// Commits; on SQLite, returns once the group this transaction joined
    /// has committed (so the change is durable when this returns).
    pub async fn commit(self) -> Result<()> {
        match self.inner {
            TxInner::Sqlite(work) => work.commit().await,
            TxInner::Postgres(tx) => Ok(tx.commit().await?),
        }
    }

    pub fn backend(&self) -> Backend {
        match self.inner {
            TxInner::Sqlite(_) => Backend::Sqlite,
            TxInner::Postgres(_) => Backend::Postgres,
        }
    }
}

pub(crate) mod sealed {
    use super::{PgConnection, SqliteConnection};

    /// A connection of one of the drivers.
    pub enum Db<'a> {
        Sqlite(&'a mut SqliteConnection),
        Postgres(&'a mut PgConnection),
    }

    pub trait Sealed {
        fn db(&mut self) -> Db<'_>;
    }
}
pub(crate) use sealed::Db;

/// Something repository functions can run queries on: a [`Conn`], a
/// [`Tx`], or a service's unit of work wrapping a [`Tx`].
pub trait Handle: sealed::Sealed + Send {}

impl sealed::Sealed for Conn {
    fn db(&mut self) -> Db<'_> {
        match &mut self.0 {
            ConnInner::Sqlite(c) => Db::Sqlite(c),
            ConnInner::Postgres(c) => Db::Postgres(c),
        }
    }
}
impl Handle for Conn {}

impl sealed::Sealed for Tx {
    fn db(&mut self) -> Db<'_> {
        match &mut self.inner {
            TxInner::Sqlite(work) => Db::Sqlite(work.connection()),
            TxInner::Postgres(tx) => Db::Postgres(tx),
        }
    }
}

impl Handle for Tx {}

/// Lets a wrapper around a [`Tx`] (a unit of work) be used as a handle.
pub trait AsTx: Send {
    fn tx(&mut self) -> &mut Tx;
}

impl<T: AsTx> sealed::Sealed for T {
    fn db(&mut self) -> Db<'_> {
        sealed::Sealed::db(self.tx())
    }
}
impl<T: AsTx> Handle for T {}

/// Runs `$body` with `$c` bound to the concrete connection (and `$b` to
/// its [`Backend`]); the body is compiled once per driver.
macro_rules! with_db {
    ($handle:expr, |$c:ident, $b:ident| $body:expr) => {
        match $crate::db::sealed::Sealed::db($handle) {
            $crate::db::Db::Sqlite($c) => {
                let $b = $crate::Backend::Sqlite;
                let _ = $b;
                $body
            }
            $crate::db::Db::Postgres($c) => {
                let $b = $crate::Backend::Postgres;
                let _ = $b;
                $body
            }
        }
    };
    ($handle:expr, |$c:ident| $body:expr) => {
        $crate::db::with_db!($handle, |$c, _backend| $body)
    };
}
pub(crate) use with_db;

// ---------------------------------------------------------------------------
// Values that bind differently per backend.

/// A point in time as a query parameter: milliseconds on SQLite,
/// `timestamptz` on PostgreSQL.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DbTime(pub Timestamp);

fn offset_date_time(t: Timestamp) -> time::OffsetDateTime {
    let nanos = i128::from(t.as_millis()) * 1_000_000;
    time::OffsetDateTime::from_unix_timestamp_nanos(nanos).unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
}

fn timestamp_of(t: time::OffsetDateTime) -> Timestamp {
    let ms = t.unix_timestamp_nanos() / 1_000_000;
    Timestamp::from_millis(i64::try_from(ms).unwrap_or(i64::MAX))
}

impl sqlx::Type<Sqlite> for DbTime {
    fn type_info() -> sqlx::sqlite::SqliteTypeInfo {
        <i64 as sqlx::Type<Sqlite>>::type_info()
    }
}

impl<'q> sqlx::Encode<'q, Sqlite> for DbTime {
    fn encode_by_ref(
        &self,
        buf: &mut Vec<sqlx::sqlite::SqliteArgumentValue<'q>>,
    ) -> std::result::Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
        <i64 as sqlx::Encode<'q, Sqlite>>::encode_by_ref(&self.0.as_millis(), buf)
    }
}

impl sqlx::Type<Postgres> for DbTime {
    fn type_info() -> sqlx::postgres::PgTypeInfo {
        <time::OffsetDateTime as sqlx::Type<Postgres>>::type_info()
    }
}

impl sqlx::Encode<'_, Postgres> for DbTime {
    fn encode_by_ref(
        &self,
        buf: &mut sqlx::postgres::PgArgumentBuffer,
    ) -> std::result::Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
        <time::OffsetDateTime as sqlx::Encode<'_, Postgres>>::encode_by_ref(&offset_date_time(self.0), buf)
    }
}

/// A list of texts as one parameter: a `text[]` on PostgreSQL (used with
/// `= ANY($n)` or `unnest($n)`), a JSON array on SQLite (used with
/// `json_each($n)`). One parameter whatever the length, so no list can run
/// into a bound-parameter limit and every length shares one statement.
pub(crate) struct TextList<'a, S = &'a str>(pub &'a [S]);

impl<S: AsRef<str>> sqlx::Type<Sqlite> for TextList<'_, S> {
    fn type_info() -> sqlx::sqlite::SqliteTypeInfo {
        <String as sqlx::Type<Sqlite>>::type_info()
    }
}

impl<'q, S: AsRef<str>> sqlx::Encode<'q, Sqlite> for TextList<'_, S> {
    fn encode_by_ref(
        &self,
        buf: &mut Vec<sqlx::sqlite::SqliteArgumentValue<'q>>,
    ) -> std::result::Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
        let items: Vec<&str> = self.0.iter().map(AsRef::as_ref).collect();
        let json = serde_json::to_string(&items)?;
        <String as sqlx::Encode<'q, Sqlite>>::encode(json, buf)
    }
}

impl<S: AsRef<str>> sqlx::Type<Postgres> for TextList<'_, S> {
    fn type_info() -> sqlx::postgres::PgTypeInfo {
        <Vec<String> as sqlx::Type<Postgres>>::type_info()
    }
}

impl<S: AsRef<str>> sqlx::Encode<'_, Postgres> for TextList<'_, S> {
    fn encode_by_ref(
        &self,
        buf: &mut sqlx::postgres::PgArgumentBuffer,
    ) -> std::result::Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
        let items: Vec<&str> = self.0.iter().map(AsRef::as_ref).collect();
        <&[&str] as sqlx::Encode<'_, Postgres>>::encode_by_ref(&items.as_slice(), buf)
    }
}

// ---------------------------------------------------------------------------
// Reading rows into domain types.

/// Typed access to a row's columns, once per driver; records decode through
/// it (`FooRecord::decode(&row)`) whichever backend the row came from.
pub(crate) trait Columns {
    fn int(&self, col: &str) -> Result<i64>;
    fn opt_int(&self, col: &str) -> Result<Option<i64>>;
    fn text(&self, col: &str) -> Result<String>;
    fn opt_text(&self, col: &str) -> Result<Option<String>>;
    fn flag(&self, col: &str) -> Result<bool>;
    fn time(&self, col: &str) -> Result<Timestamp>;
    fn opt_time(&self, col: &str) -> Result<Option<Timestamp>>;
    fn json(&self, col: &str) -> Result<serde_json::Value>;
    /// A JSON column decoded straight into `T`.
    fn json_as<T: serde::de::DeserializeOwned>(&self, col: &str) -> Result<T>;

    fn id<T: From<i64>>(&self, col: &str) -> Result<T> {
        self.int(col).map(T::from)
    }

    fn opt_id<T: From<i64>>(&self, col: &str) -> Result<Option<T>> {
        Ok(self.opt_int(col)?.map(T::from))
    }

    /// A column whose text parses into a domain type.
    fn parsed<T, E: std::fmt::Display>(&self, col: &str, parse: impl FnOnce(&str) -> Result<T, E>) -> Result<T> {
        let raw = self.text(col)?;
        parse(&raw).map_err(|e| StoreError::Corrupt(format!("column `{col}` holds `{raw}`, which is not valid: {e}")))
    }
}

macro_rules! columns_for {
    ($row:ty, $time:ty, $to_ts:expr) => {
        impl Columns for $row {
            fn int(&self, col: &str) -> Result<i64> {
                Ok(self.try_get(col)?)
            }
            fn opt_int(&self, col: &str) -> Result<Option<i64>> {
                Ok(self.try_get(col)?)
            }
            fn text(&self, col: &str) -> Result<String> {
                Ok(self.try_get(col)?)
            }
            fn opt_text(&self, col: &str) -> Result<Option<String>> {
                Ok(self.try_get(col)?)
            }
            fn flag(&self, col: &str) -> Result<bool> {
                Ok(self.try_get(col)?)
            }
            fn time(&self, col: &str) -> Result<Timestamp> {
                let t: $time = self.try_get(col)?;
                Ok($to_ts(t))
            }
            fn opt_time(&self, col: &str) -> Result<Option<Timestamp>> {
                let t: Option<$time> = self.try_get(col)?;
                Ok(t.map($to_ts))
            }
            fn json(&self, col: &str) -> Result<serde_json::Value> {
                let v: sqlx::types::Json<serde_json::Value> = self.try_get(col)?;
                Ok(v.0)
            }
            fn json_as<T: serde::de::DeserializeOwned>(&self, col: &str) -> Result<T> {
                let v: sqlx::types::Json<T> = self.try_get(col)?;
                Ok(v.0)
            }
        }
    };
}

columns_for!(SqliteRow, i64, Timestamp::from_millis);
columns_for!(PgRow, time::OffsetDateTime, timestamp_of);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_schemes() {
        assert_eq!(Backend::from_url("sqlite://x.db").ok(), Some(Backend::Sqlite));
        assert_eq!(Backend::from_url("postgres://u@h/db").ok(), Some(Backend::Postgres));
        assert!(Backend::from_url("mysql://h/db").is_err());
    }

    #[test]
    fn times_convert_both_ways() {
        let t = Timestamp::from_millis(1_700_000_000_123);
        assert_eq!(timestamp_of(offset_date_time(t)), t);
    }
}
