//! Schema migrations, kept per backend under `migrations/{sqlite,postgres}/`
//! with matching version numbers. Each runs in its own transaction and is
//! recorded with a checksum, so an edited migration is caught, not re-run.
//!
//! Several processes may start at once against one empty database (a
//! deployment of N nodes): on PostgreSQL the runner holds an advisory lock
//! for the whole run, so one process migrates and the others find the work
//! done; on SQLite `BEGIN IMMEDIATE` serialises them the same way.

use sha2::{Digest, Sha256};
use vellum_core::Timestamp;

use crate::db::{with_db, Backend, Pool};
use crate::{Result, StoreError};

#[derive(Debug, Clone, Copy)]
pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

const SQLITE: &[Migration] = &[
    Migration {
        version: 1,
        name: "init",
        sql: include_str!("../migrations/sqlite/0001_init.sql"),
    },
    Migration {
        version: 2,
        name: "access",
        sql: include_str!("../migrations/sqlite/0002_access.sql"),
    },
    Migration {
        version: 3,
        name: "accounts",
        sql: include_str!("../migrations/sqlite/0003_accounts.sql"),
    },
    Migration {
        version: 4,
        name: "totp_replay",
        sql: include_str!("../migrations/sqlite/0004_totp_replay.sql"),
    },
    Migration {
        version: 5,
        name: "jobs",
        sql: include_str!("../migrations/sqlite/0005_jobs.sql"),
    },
    Migration {
        version: 6,
        name: "comments",
        sql: include_str!("../migrations/sqlite/0006_comments.sql"),
    },
    Migration {
        version: 7,
        name: "notifications",
        sql: include_str!("../migrations/sqlite/0007_notifications.sql"),
    },
    Migration {
        version: 8,
        name: "mail",
        sql: include_str!("../migrations/sqlite/0008_mail.sql"),
    },
    Migration {
        version: 9,
        name: "verification",
        sql: include_str!("../migrations/sqlite/0009_verification.sql"),
    },
    Migration {
        version: 10,
        name: "files",
        sql: include_str!("../migrations/sqlite/0010_files.sql"),
    },
    Migration {
        version: 11,
        name: "file_previews",
        sql: include_str!("../migrations/sqlite/0011_file_previews.sql"),
    },
    Migration {
        version: 12,
        name: "jobs_next",
        sql: include_str!("../migrations/sqlite/0012_jobs_next.sql"),
    },
];

const POSTGRES: &[Migration] = &[
    Migration {
        version: 1,
        name: "init",
        sql: include_str!("../migrations/postgres/0001_init.sql"),
    },
    Migration {
        version: 2,
        name: "access",
        sql: include_str!("../migrations/postgres/0002_access.sql"),
    },
    Migration {
        version: 3,
        name: "accounts",
        sql: include_str!("../migrations/postgres/0003_accounts.sql"),
    },
    Migration {
        version: 4,
        name: "totp_replay",
        sql: include_str!("../migrations/postgres/0004_totp_replay.sql"),
    },
    Migration {
        version: 5,
        name: "jobs",
        sql: include_str!("../migrations/postgres/0005_jobs.sql"),
    },
    Migration {
        version: 6,
        name: "comments",
        sql: include_str!("../migrations/postgres/0006_comments.sql"),
    },
    Migration {
        version: 7,
        name: "notifications",
        sql: include_str!("../migrations/postgres/0007_notifications.sql"),
    },
    Migration {
        version: 8,
        name: "mail",
        sql: include_str!("../migrations/postgres/0008_mail.sql"),
    },
    Migration {
        version: 9,
        name: "verification",
        sql: include_str!("../migrations/postgres/0009_verification.sql"),
    },
    Migration {
        version: 10,
        name: "files",
        sql: include_str!("../migrations/postgres/0010_files.sql"),
    },
    Migration {
        version: 11,
        name: "file_previews",
        sql: include_str!("../migrations/postgres/0011_file_previews.sql"),
    },
    Migration {
        version: 12,
        name: "jobs_next",
        sql: include_str!("../migrations/postgres/0012_jobs_next.sql"),
    },
];

/// An arbitrary constant naming Vellum's migration lock among a
/// database's advisory locks.
const MIGRATION_LOCK: i64 = 0x7665_6c6c_756d;

pub fn migrations(backend: Backend) -> &'static [Migration] {
    match backend {
        Backend::Sqlite => SQLITE,
        Backend::Postgres => POSTGRES,
    }
}

fn checksum(sql: &str) -> String {
    hex::encode(Sha256::digest(sql.as_bytes()))
}

const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS vellum_migrations (\
     version BIGINT PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at BIGINT NOT NULL)";

/// Applies every pending migration in one transaction, so a failed
/// upgrade leaves the schema as it was.
pub(crate) async fn run(pool: &Pool) -> Result<Vec<i64>> {
    let backend = pool.backend();
    let mut tx = pool.begin().await?;
    if backend == Backend::Postgres {
        // Held until commit: a second process waits here, then finds the
        // migrations applied.
        with_db!(&mut tx, |c| sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(MIGRATION_LOCK)
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected()))?;
    }
    with_db!(&mut tx, |c| sqlx::query(CREATE_TABLE)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
    let applied: Vec<(i64, String)> = with_db!(&mut tx, |c| sqlx::query_as(
        "SELECT version, checksum FROM vellum_migrations ORDER BY version"
    )
    .fetch_all(&mut *c)
    .await)?;

    let known = migrations(backend).last().map_or(0, |m| m.version);
    if let Some((newest, _)) = applied.last() {
        if *newest > known {
            return Err(StoreError::Migration(format!(
                "the database is at schema version {newest}, newer than this binary knows ({known}); run a newer Vellum"
            )));
        }
    }
    let mut ran = Vec::new();
    for m in migrations(backend) {
        let sum = checksum(m.sql);
        if let Some((_, old)) = applied.iter().find(|(v, _)| *v == m.version) {
            if *old != sum {
                return Err(StoreError::Migration(format!(
                    "migration {} ({}) was changed after it was applied; restore its original text and add a new migration instead",
                    m.version, m.name
                )));
            }
            continue;
        }
        with_db!(&mut tx, |c| sqlx::raw_sql(m.sql)
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected()))
        .map_err(|e| StoreError::Migration(format!("migration {} ({}): {e}", m.version, m.name)))?;
        with_db!(&mut tx, |c| sqlx::query(
            "INSERT INTO vellum_migrations (version, name, checksum, applied_at) VALUES ($1, $2, $3, $4)"
        )
        .bind(m.version)
        .bind(m.name)
        .bind(&sum)
        .bind(Timestamp::now().as_millis())
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
        ran.push(m.version);
    }
    tx.commit().await?;
    Ok(ran)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backends_carry_the_same_migration_versions() {
        let s: Vec<_> = SQLITE.iter().map(|m| (m.version, m.name)).collect();
        let p: Vec<_> = POSTGRES.iter().map(|m| (m.version, m.name)).collect();
        assert_eq!(s, p);
        assert!(s.windows(2).all(|w| w[0].0 < w[1].0), "versions ascend");
    }
}
