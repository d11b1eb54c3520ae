//! Schema migrations, kept per backend under `migrations/{sqlite,postgres}/`
//! with matching version numbers. Each runs in its own transaction and is
//! recorded with a checksum, so an edited migration is caught, not re-run.

use sha2::{Digest, Sha256};
use sqlx::{AnyConnection, Connection, Row};

use crate::{Backend, Result, StoreError};

#[derive(Debug, Clone, Copy)]
pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

const SQLITE: &[Migration] = &[Migration {
    version: 1,
    name: "init",
    sql: include_str!("../migrations/sqlite/0001_init.sql"),
}];

const POSTGRES: &[Migration] = &[Migration {
    version: 1,
    name: "init",
    sql: include_str!("../migrations/postgres/0001_init.sql"),
}];

pub fn migrations(backend: Backend) -> &'static [Migration] {
    match backend {
        Backend::Sqlite => SQLITE,
        Backend::Postgres => POSTGRES,
    }
}

fn checksum(sql: &str) -> String {
    hex::encode(Sha256::digest(sql.as_bytes()))
}

pub(crate) async fn run(conn: &mut AnyConnection, backend: Backend) -> Result<Vec<i64>> {
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS vellum_migrations (\
         version BIGINT PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at BIGINT NOT NULL)",
    )
    .execute(&mut *conn)
    .await?;
    let applied: Vec<(i64, String)> = sqlx::query("SELECT version, checksum FROM vellum_migrations")
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect::<Result<_, sqlx::Error>>()?;
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
        if let Some((newest, _)) = applied.iter().max_by_key(|(v, _)| *v) {
            if *newest > m.version {
                return Err(StoreError::Migration(format!(
                    "migration {} is older than the applied migration {newest}",
                    m.version
                )));
            }
        }
        let mut tx = conn.begin().await?;
        sqlx::raw_sql(m.sql)
            .execute(&mut *tx)
            .await
            .map_err(|e| StoreError::Migration(format!("migration {} ({}): {e}", m.version, m.name)))?;
        sqlx::query("INSERT INTO vellum_migrations (version, name, checksum, applied_at) VALUES ($1, $2, $3, $4)")
            .bind(m.version)
            .bind(m.name)
            .bind(sum)
            .bind(now_ms())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        ran.push(m.version);
    }
    if let Some((newest, _)) = applied.iter().max_by_key(|(v, _)| *v) {
        let known = migrations(backend).last().map_or(0, |m| m.version);
        if *newest > known {
            return Err(StoreError::Migration(format!(
                "the database is at schema version {newest}, newer than this binary knows ({known}); run a newer Vellum"
            )));
        }
    }
    Ok(ran)
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
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
