//! The SQLite and PostgreSQL schemas must agree: same tables, columns,
//! column kinds, nullability, index names, uniqueness and indexed columns.
//! Needs both databases, so it runs in the PostgreSQL pass of the suite.

use std::collections::BTreeSet;

use sqlx::{Connection, PgConnection, Row, SqliteConnection};
use vellum_testkit::{Backend, TestDb};

/// Indexes only one backend has, on purpose.
const BACKEND_ONLY_INDEXES: &[&str] = &[
    // PostgreSQL's change feed reads in (tx_id, seq) order; SQLite's in seq order.
    "events_feed",
];

async fn migrated(backend: Backend) -> TestDb {
    let db = TestDb::new(backend).await;
    let store = vellum_store::Store::connect(&db.url).await.expect("connect");
    store.migrate().await.expect("migrate");
    store.close().await;
    db
}

/// A column's kind, in words both backends share.
fn sqlite_kind(declared: &str) -> &'static str {
    let t = declared.to_ascii_uppercase();
    if t == "INTEGER_MS" {
        "time"
    } else if t == "JSON_TEXT" {
        "json"
    } else if t.contains("INT") {
        "integer"
    } else if t.contains("TEXT") {
        "text"
    } else if t == "BOOLEAN" {
        "boolean"
    } else {
        "other"
    }
}

fn pg_kind(data_type: &str) -> &'static str {
    match data_type {
        "timestamp with time zone" => "time",
        "jsonb" => "json",
        "bigint" | "integer" => "integer",
        "text" => "text",
        "boolean" => "boolean",
        _ => "other",
    }
}

type Columns = BTreeSet<(String, String, &'static str, bool)>;
type Indexes = BTreeSet<(String, bool, Vec<String>)>;

async fn sqlite_schema(url: &str) -> (Columns, Indexes) {
    let mut c = SqliteConnection::connect(url).await.unwrap();
    let mut cols = BTreeSet::new();
    let rows = sqlx::query(
        "SELECT m.name, p.name, p.type, p.\"notnull\", p.pk FROM sqlite_master m JOIN pragma_table_info(m.name) p \
         WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\'",
    )
    .fetch_all(&mut c)
    .await
    .unwrap();
    for r in rows {
        let (table, col, ty): (String, String, String) = (r.get(0), r.get(1), r.get(2));
        let not_null = r.get::<i64, _>(3) == 1 || r.get::<i64, _>(4) > 0;
        cols.insert((table, col, sqlite_kind(&ty), not_null));
    }
    let mut idx = BTreeSet::new();
    let rows = sqlx::query(
        "SELECT m.name, l.\"unique\" FROM sqlite_master m JOIN pragma_index_list(m.tbl_name) l ON l.name = m.name \
         WHERE m.type = 'index' AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\'",
    )
    .fetch_all(&mut c)
    .await
    .unwrap();
    for r in rows {
        let name: String = r.get(0);
        let unique = r.get::<i64, _>(1) == 1;
        let columns: Vec<String> = sqlx::query_scalar("SELECT name FROM pragma_index_info($1) ORDER BY seqno")
            .bind(&name)
            .fetch_all(&mut c)
            .await
            .unwrap();
        idx.insert((name, unique, columns));
    }
    (cols, idx)
}

async fn pg_schema(url: &str) -> (Columns, Indexes) {
    let mut c = PgConnection::connect(url).await.unwrap();
    let mut cols = BTreeSet::new();
    let rows = sqlx::query(
        "SELECT table_name::text, column_name::text, data_type::text, is_nullable::text FROM information_schema.columns \
         WHERE table_schema = current_schema()",
    )
    .fetch_all(&mut c)
    .await
    .unwrap();
    for r in rows {
        let (table, col, ty, nullable): (String, String, String, String) = (r.get(0), r.get(1), r.get(2), r.get(3));
        cols.insert((table, col, pg_kind(&ty), nullable == "NO"));
    }
    let mut idx = BTreeSet::new();
    let rows = sqlx::query(
        "SELECT i.relname::text, x.indisunique, \
                ARRAY(SELECT a.attname::text FROM unnest(x.indkey) WITH ORDINALITY k(attnum, n) \
                      JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum ORDER BY k.n) \
         FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_namespace ns ON ns.oid = i.relnamespace \
         WHERE ns.nspname = current_schema() AND NOT x.indisprimary",
    )
    .fetch_all(&mut c)
    .await
    .unwrap();
    for r in rows {
        let name: String = r.get(0);
        if BACKEND_ONLY_INDEXES.contains(&name.as_str()) {
            continue;
        }
        idx.insert((name, r.get(1), r.get(2)));
    }
    (cols, idx)
}

#[tokio::test]
async fn sqlite_and_postgres_schemas_agree() {
    if Backend::from_env() != Backend::Postgres {
        eprintln!("the schema comparison runs in the PostgreSQL pass (VELLUM_TEST_BACKEND=postgres)");
        return;
    }
    let lite = migrated(Backend::Sqlite).await;
    let pg = migrated(Backend::Postgres).await;
    let (lite_cols, lite_idx) = sqlite_schema(&lite.url).await;
    let (pg_cols, pg_idx) = pg_schema(&pg.url).await;

    assert!(lite_cols.len() > 60, "read the SQLite schema: {lite_cols:?}");
    assert!(
        lite_cols.iter().all(|(_, _, kind, _)| *kind != "other"),
        "every SQLite column has a known kind: {lite_cols:?}"
    );
    assert!(
        lite_cols
            .iter()
            .any(|(t, c, k, _)| t == "pages" && c == "created_at" && *k == "time"),
        "times are times"
    );
    let only_lite: Vec<_> = lite_cols.difference(&pg_cols).collect();
    let only_pg: Vec<_> = pg_cols.difference(&lite_cols).collect();
    assert!(
        only_lite.is_empty() && only_pg.is_empty(),
        "columns differ:\n only in SQLite: {only_lite:?}\n only in PostgreSQL: {only_pg:?}"
    );

    assert!(lite_idx.iter().any(|(n, u, _)| n == "pages_live_path" && *u));
    let only_lite: Vec<_> = lite_idx.difference(&pg_idx).collect();
    let only_pg: Vec<_> = pg_idx.difference(&lite_idx).collect();
    assert!(
        only_lite.is_empty() && only_pg.is_empty(),
        "indexes differ:\n only in SQLite: {only_lite:?}\n only in PostgreSQL: {only_pg:?}"
    );

    // The store names unique violations from this table on both backends.
    for &(_, name, _table, columns) in vellum_store::UNIQUE_INDEXES {
        let wanted: Vec<String> = columns.iter().map(|c| (*c).to_owned()).collect();
        assert!(
            lite_idx.contains(&(name.to_string(), true, wanted.clone())),
            "{name} is not a unique index on {wanted:?}"
        );
    }
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
        t.db.execute(
            "INSERT INTO folders (path, parent, created_at) SELECT 'bulk/' || g, 'bulk', now() FROM generate_series(1, 1500) g",
        )
        .await;
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
