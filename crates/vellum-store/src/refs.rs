//! References between pages (outgoing links, recorded on every save) and
//! tags. Backlinks and pages-by-tag are plain queries over these tables.

use vellum_core::{PageId, PagePath};

use crate::db::{with_db, Handle, Sql, TextList};
use crate::pages::{fetch_visible_pages, page_sql, PageRecord};
use crate::visible::{Visible, VisibleSql};
use crate::{access, Result, StoreError};

/// Replaces a page's outgoing links, in one statement whatever their
/// number; each target keeps its path's scope (see [`crate::access`]).
pub async fn replace_links(h: &mut impl Handle, page: PageId, targets: &[&str]) -> Result<()> {
    with_db!(h, |c| sqlx::query("DELETE FROM page_links WHERE page_id = $1")
        .bind(page.0)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
    if targets.is_empty() {
        return Ok(());
    }
    access::lock_rules_shared(h).await?;
    let scopes = access::scopes_for(h, targets).await?;
    const SQL: Sql = Sql {
        sqlite: "INSERT INTO page_links (page_id, target, target_scope) \
                 SELECT $1, a.value, b.value FROM json_each($2) a JOIN json_each($3) b ON a.key = b.key \
                 WHERE true ON CONFLICT DO NOTHING",
        postgres: "INSERT INTO page_links (page_id, target, target_scope) \
                   SELECT $1, t, s FROM unnest($2::text[], $3::text[]) AS u(t, s) ON CONFLICT DO NOTHING",
    };
    with_db!(h, |c, b| sqlx::query(SQL.of(b))
        .bind(page.0)
        .bind(TextList(targets))
        .bind(TextList(&scopes))
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

const INSERT_TAGS: Sql = Sql {
    sqlite: "INSERT INTO page_tags (page_id, tag) SELECT $1, value FROM json_each($2) WHERE true \
             ON CONFLICT DO NOTHING",
    postgres: "INSERT INTO page_tags (page_id, tag) SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING",
};

async fn insert_pairs(h: &mut impl Handle, sql: &Sql, page: PageId, values: &[&str]) -> Result<()> {
    if values.is_empty() {
        return Ok(());
    }
    with_db!(h, |c, b| sqlx::query(sql.of(b))
        .bind(page.0)
        .bind(TextList(values))
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Visible live pages linking to any of `targets`, by path, after the
/// cursor path.
pub async fn linking_to(
    h: &mut impl Handle,
    targets: &[&str],
    visible: Visible<'_>,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<PageRecord>> {
    if targets.is_empty() {
        return Ok(Vec::new());
    }
    static SQL: VisibleSql = VisibleSql::new(Sql {
        sqlite: page_sql!(
            "pages p WHERE p.deleted_at IS NULL AND p.path > $2 AND {visible p.scope $4} AND EXISTS (SELECT 1 \
             FROM page_links l WHERE l.page_id = p.id AND l.target IN (SELECT value FROM json_each($1))) \
             ORDER BY p.path LIMIT $3"
        ),
        postgres: page_sql!(
            "pages p WHERE p.deleted_at IS NULL AND p.path > $2 AND {visible p.scope $4} AND EXISTS (SELECT 1 \
             FROM page_links l WHERE l.page_id = p.id AND l.target = ANY($1)) ORDER BY p.path LIMIT $3"
        ),
    });
    fetch_visible_pages!(h, SQL, visible, TextList(targets), after.unwrap_or(""), limit)
}

/// The page's link targets, each with whether it leads somewhere now (a
/// live page or a redirect to one). Runs on every page view.
///
/// Two plain indexed queries (the page's links, then which of them exist),
/// rather than one query with `EXISTS`/anti-join subqueries: measured at
/// 100,000 pages, the one-query forms were planned as hash or merge joins
/// over every page whenever PostgreSQL's statistics lagged a growing table
/// (16-400 ms a call), and one form was ten times slower on SQLite 3.46. A
/// list of a page's few targets is an index look-up for any planner.
pub async fn link_targets(h: &mut impl Handle, page: PageId) -> Result<Vec<(PagePath, bool)>> {
    let targets: Vec<String> = with_db!(h, |c| sqlx::query_scalar(
        "SELECT target FROM page_links WHERE page_id = $1 ORDER BY target"
    )
    .bind(page.0)
    .fetch_all(&mut *c)
    .await)?;
    let wanted: Vec<&str> = targets.iter().map(String::as_str).collect();
    let existing = crate::pages::existing_paths(h, &wanted).await?;
    targets
        .iter()
        .map(|t| {
            let path = PagePath::parse(t).map_err(|e| StoreError::Corrupt(format!("link target `{t}`: {e}")))?;
            Ok((path, existing.contains(t)))
        })
        .collect()
}

pub async fn replace_tags(h: &mut impl Handle, page: PageId, tags: &[String]) -> Result<()> {
    with_db!(h, |c| sqlx::query("DELETE FROM page_tags WHERE page_id = $1")
        .bind(page.0)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
    let tags: Vec<&str> = tags.iter().map(String::as_str).collect();
    insert_pairs(h, &INSERT_TAGS, page, &tags).await
}

pub async fn tags_of(h: &mut impl Handle, page: PageId) -> Result<Vec<String>> {
    Ok(with_db!(h, |c| sqlx::query_scalar(
        "SELECT tag FROM page_tags WHERE page_id = $1 ORDER BY tag"
    )
    .bind(page.0)
    .fetch_all(&mut *c)
    .await)?)
}

/// Tags on visible live pages with how many such pages carry each, by
/// tag, after the cursor tag.
pub async fn tag_counts(
    h: &mut impl Handle,
    visible: Visible<'_>,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<(String, i64)>> {
    static SQL: VisibleSql = VisibleSql::both(
        "SELECT t.tag, COUNT(*) FROM page_tags t JOIN pages p ON p.id = t.page_id \
         WHERE p.deleted_at IS NULL AND t.tag > $1 AND {visible p.scope $3} GROUP BY t.tag ORDER BY t.tag LIMIT $2",
    );
    Ok(with_db!(h, |c, b| {
        let q = sqlx::query_as(SQL.of(b, visible))
            .persistent(visible.cache_plan(b))
            .bind(after.unwrap_or(""))
            .bind(limit);
        let q = match visible.param() {
            Some(s) => q.bind(s),
            None => q,
        };
        q.fetch_all(&mut *c).await
    })?)
}

/// Visible live pages with a tag, by path, after the cursor path.
pub async fn pages_with_tag(
    h: &mut impl Handle,
    tag: &str,
    visible: Visible<'_>,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<PageRecord>> {
    static SQL: VisibleSql = VisibleSql::both(page_sql!(
        "page_tags t JOIN pages p ON p.id = t.page_id WHERE t.tag = $1 AND p.deleted_at IS NULL AND p.path > $2 \
         AND {visible p.scope $4} ORDER BY p.path LIMIT $3"
    ));
    fetch_visible_pages!(h, SQL, visible, tag, after.unwrap_or(""), limit)
}
