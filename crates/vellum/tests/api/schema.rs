//! The SQLite and PostgreSQL schemas must agree: same tables, columns,
//! column kinds, nullability and index names.

use std::collections::BTreeSet;

use sqlx::{AnyConnection, Connection, Row};
use vellum_testkit::{Backend, TestDb};

async fn migrated(backend: Backend) -> (TestDb, AnyConnection) {
    let db = TestDb::new(backend).await;
    let store = vellum_store::Store::connect(&db.url).await.expect("connect");
    store.migrate().await.expect("migrate");
    store.close().await;
    let conn = AnyConnection::connect(&db.url).await.expect("connect again");
    (db, conn)
}

fn kind(sql_type: &str) -> &'static str {
    let t = sql_type.to_ascii_lowercase();
    if t.contains("int") {
        "integer"
    } else if t.contains("text") || t.contains("char") {
        "text"
    } else {
        "other"
    }
}

#[tokio::test]
async fn sqlite_and_postgres_schemas_agree() {
    let (_s, mut sqlite) = migrated(Backend::Sqlite).await;
    let (_p, mut pg) = migrated(Backend::Postgres).await;

    let mut lite_cols = BTreeSet::new();
    let rows = sqlx::query(
        "SELECT m.name, p.name, p.type, p.\"notnull\", p.pk FROM sqlite_master m JOIN pragma_table_info(m.name) p \
         WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'",
    )
    .fetch_all(&mut sqlite)
    .await
    .unwrap();
    for r in rows {
        let (table, col, ty): (String, String, String) = (r.get(0), r.get(1), r.get(2));
        let not_null = r.get::<i64, _>(3) == 1 || r.get::<i64, _>(4) > 0;
        lite_cols.insert((table, col, kind(&ty), not_null));
    }
    let mut pg_cols = BTreeSet::new();
    let rows = sqlx::query(
        "SELECT table_name::text, column_name::text, data_type::text, is_nullable::text FROM information_schema.columns \
         WHERE table_schema = current_schema()",
    )
    .fetch_all(&mut pg)
    .await
    .unwrap();
    for r in rows {
        let (table, col, ty, nullable): (String, String, String, String) = (r.get(0), r.get(1), r.get(2), r.get(3));
        pg_cols.insert((table, col, kind(&ty), nullable == "NO"));
    }
    assert!(lite_cols.len() > 40, "read the SQLite schema");
    assert_eq!(
        lite_cols, pg_cols,
        "columns differ between the SQLite and PostgreSQL migrations"
    );

    let lite_idx: BTreeSet<String> =
        sqlx::query("SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%'")
            .fetch_all(&mut sqlite)
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
    let pg_idx: BTreeSet<String> = sqlx::query(
        "SELECT indexname::text FROM pg_indexes WHERE schemaname = current_schema() AND indexname NOT LIKE '%_pkey'",
    )
    .fetch_all(&mut pg)
    .await
    .unwrap()
    .iter()
    .map(|r| r.get(0))
    .collect();
    assert!(lite_idx.contains("pages_live_path"));
    assert_eq!(
        lite_idx, pg_idx,
        "indexes differ between the SQLite and PostgreSQL migrations"
    );
}

#[tokio::test]
async fn planner_maintenance_runs_and_analyses_changed_tables() {
    let t = vellum_testkit::TestApp::with_admin().await;
    for i in 0..3 {
        t.save(&format!("m/p{i}"), "text").await;
    }
    let analysed = t.app.store().maintain().await.expect("maintenance runs");
    // Three pages are below the change threshold; nothing needs analysing yet.
    assert!(analysed.is_empty(), "{analysed:?}");
    if t.db.backend == Backend::Postgres {
        let mut conn = AnyConnection::connect(&t.db.url).await.unwrap();
        sqlx::raw_sql(
            "INSERT INTO folders (path, parent, created_at) SELECT 'bulk/' || g, 'bulk', 0 FROM generate_series(1, 1500) g",
        )
        .execute(&mut conn)
        .await
        .unwrap();
        conn.close().await.unwrap();
        // The server publishes table statistics up to a second after the
        // writing session goes idle: poll for them (this is not a timing test).
        let mut analysed = Vec::new();
        for _ in 0..40 {
            analysed = t.app.store().maintain().await.unwrap();
            if !analysed.is_empty() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        }
        assert!(analysed.contains(&"folders".to_owned()), "{analysed:?}");
    }
}
