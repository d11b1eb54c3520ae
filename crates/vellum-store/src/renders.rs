//! Stored renderings of each page's current revision (derived data).

use vellum_core::{PageId, RevisionId};

use crate::db::{with_db, Handle};
use crate::Result;

/// A stored rendering: HTML and the table of contents as JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRender {
    pub html: String,
    pub toc: serde_json::Value,
}

/// Stores (replaces) the rendering of a page's revision, unless a newer
/// revision's rendering is stored already (a late background refresh must
/// not overwrite a save's).
pub async fn store(
    h: &mut impl Handle,
    page: PageId,
    revision: RevisionId,
    renderer: i64,
    render: &StoredRender,
) -> Result<()> {
    with_db!(h, |c| sqlx::query(
        "INSERT INTO page_renders (page_id, revision_id, renderer, html, toc) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (page_id) DO UPDATE SET revision_id = excluded.revision_id, renderer = excluded.renderer, \
         html = excluded.html, toc = excluded.toc \
         WHERE page_renders.revision_id <= excluded.revision_id",
    )
    .bind(page.0)
    .bind(revision.0)
    .bind(renderer)
    .bind(&render.html)
    .bind(sqlx::types::Json(&render.toc))
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// What showing a page needs, in one query: the live page at a path, the
/// author of its current revision, its stored rendering when that is of the
/// current revision and renderer version, and (when asked) its text.
#[derive(Debug, Clone)]
pub struct CurrentView {
    pub page: crate::pages::PageRecord,
    pub author_name: Option<String>,
    /// The author's display name.
    pub author_display: Option<String>,
    pub render: Option<StoredRender>,
    /// `None` unless asked for: showing a page needs only its rendering,
    /// and the text is the largest value in the row (on PostgreSQL an
    /// out-of-line TOAST fetch).
    pub markdown: Option<String>,
    /// The current revision's number within the page; `None` when the
    /// revision row is missing (it never should be).
    pub revision_number: Option<i64>,
}

pub async fn current_view(
    h: &mut impl Handle,
    path: &vellum_core::PagePath,
    renderer: i64,
    with_text: bool,
) -> Result<Option<CurrentView>> {
    use crate::db::Columns;
    macro_rules! view_sql {
        ($text:literal) => {
            crate::pages::page_sql!(
                with $text;
                "pages p LEFT JOIN revisions r ON r.id = p.current_revision_id \
                 LEFT JOIN users u ON u.id = r.author_id \
                 LEFT JOIN page_renders rd ON rd.page_id = p.id AND rd.revision_id = p.current_revision_id \
                 AND rd.renderer = $2 WHERE p.path = $1 AND p.deleted_at IS NULL"
            )
        };
    }
    const WITH_TEXT: &str =
        view_sql!(", r.id AS rev_id, r.number AS rev_number, r.markdown, u.username AS author_name, u.display_name AS author_display, \
         rd.html, rd.toc");
    const WITHOUT_TEXT: &str = view_sql!(
        ", r.id AS rev_id, r.number AS rev_number, NULL AS markdown, u.username AS author_name, \
         u.display_name AS author_display, rd.html, rd.toc"
    );
    let sql = if with_text { WITH_TEXT } else { WITHOUT_TEXT };
    with_db!(h, |c| {
        let Some(r) = sqlx::query(sql)
            .bind(path.as_str())
            .bind(renderer)
            .fetch_optional(&mut *c)
            .await?
        else {
            return Ok(None);
        };
        let html = r.opt_text("html")?;
        let render = match html {
            Some(html) => Some(StoredRender {
                html,
                toc: r.json("toc")?,
            }),
            None => None,
        };
        Ok(Some(CurrentView {
            page: crate::pages::PageRecord::decode(&r)?,
            author_name: r.opt_text("author_name")?,
            author_display: r.opt_text("author_display")?,
            render,
            markdown: r.opt_text("markdown")?,
            revision_number: r.opt_int("rev_number")?,
        }))
    })
}
