//! What differs between SQLite and PostgreSQL: connection setup, row locks
//! and write serialisation. Everything else is shared SQL.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::AnyPoolOptions;
use sqlx::{AnyConnection, Executor};
use tokio::sync::Mutex;

use crate::{Result, Store, StoreError};

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

    pub(crate) fn of(conn: &AnyConnection) -> Backend {
        if conn.backend_name().eq_ignore_ascii_case("sqlite") {
            Backend::Sqlite
        } else {
            Backend::Postgres
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// ` FOR UPDATE` where the engine has row locks. SQLite needs none: its
/// writers are serialised by the store's write gate.
pub(crate) fn for_update(conn: &AnyConnection) -> &'static str {
    match Backend::of(conn) {
        Backend::Sqlite => "",
        Backend::Postgres => " FOR UPDATE",
    }
}

/// Serialises event appends on PostgreSQL so that sequence numbers become
/// visible in order (a change-feed follower reading `seq > n` never skips a
/// row that commits late). Held only until the transaction commits.
pub(crate) async fn lock_event_log(conn: &mut AnyConnection) -> Result<()> {
    if Backend::of(conn) == Backend::Postgres {
        sqlx::query("SELECT pg_advisory_xact_lock(7243)")
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

pub(crate) async fn connect(url: &str) -> Result<Store> {
    sqlx::any::install_default_drivers();
    let backend = Backend::from_url(url)?;
    let options = sqlx::any::AnyConnectOptions::from_str(&with_create_mode(url, backend))
        .map_err(|e| StoreError::BadUrl(e.to_string()))?;
    let pool = match backend {
        Backend::Sqlite => {
            AnyPoolOptions::new()
                .max_connections(8)
                .min_connections(1)
                .acquire_timeout(Duration::from_secs(10))
                .after_connect(|conn, _meta| {
                    Box::pin(async move {
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                             PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;",
                        )
                        .await?;
                        Ok(())
                    })
                })
                .connect_with(options)
                .await?
        }
        Backend::Postgres => {
            AnyPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(options)
                .await?
        }
    };
    let write_gate = (backend == Backend::Sqlite).then(|| Arc::new(Mutex::new(())));
    Ok(Store {
        pool,
        backend,
        write_gate,
    })
}

/// SQLite URLs open read-write-create unless the caller chose a mode.
fn with_create_mode(url: &str, backend: Backend) -> String {
    if backend == Backend::Sqlite && !url.contains("mode=") {
        let sep = if url.contains('?') { '&' } else { '?' };
        format!("{url}{sep}mode=rwc")
    } else {
        url.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_schemes() {
        assert_eq!(Backend::from_url("sqlite://x.db").ok(), Some(Backend::Sqlite));
        assert_eq!(Backend::from_url("postgres://u@h/db").ok(), Some(Backend::Postgres));
        assert!(Backend::from_url("mysql://h/db").is_err());
        assert_eq!(
            with_create_mode("sqlite://a.db", Backend::Sqlite),
            "sqlite://a.db?mode=rwc"
        );
        assert_eq!(
            with_create_mode("sqlite://a.db?mode=ro", Backend::Sqlite),
            "sqlite://a.db?mode=ro"
        );
    }
}
