//! Write-side use cases: save (with three-way merge), revert, move, delete
//! and restore. Each is one transaction that also records the page's links
//! and tags and appends its event; caches are invalidated after commit.

use vellum_core::access::Action;
use vellum_core::{Actor, PagePath, Title};
use vellum_markup::merge::{merge3, MergeOutcome};
use vellum_markup::Rendered;
use vellum_store::events::{self, NewEvent};
use vellum_store::revisions::{self, NewRevision};
use vellum_store::{pages, refs, AnyConnection, StoreError};

use crate::validate;
use crate::{now_ms, App, AppError, AppResult, ErrorKind, Saved};

/// An edit as the editor sent it.
#[derive(Debug, Clone, Default)]
pub struct SaveRequest {
    /// Defaults to the current title (or one derived from the path).
    pub title: Option<String>,
    pub markdown: String,
    pub summary: Option<String>,
    /// Replaces the page's tags when given.
    pub tags: Option<Vec<String>>,
    /// The revision the editor started from. When another edit landed
    /// since, the two are merged; without it the save overwrites.
    pub base_revision: Option<i64>,
}

#[allow(clippy::too_many_arguments)]
pub(crate) async fn append_event(
    conn: &mut AnyConnection,
    actor: &Actor,
    action: &str,
    target_type: &str,
    target_id: Option<i64>,
    target_path: Option<&str>,
    revision_id: Option<i64>,
    details: &str,
) -> AppResult<i64> {
    Ok(events::append(
        conn,
        NewEvent {
            now: now_ms(),
            actor_id: actor.user_id().map(|u| u.0),
            action,
            target_type,
            target_id,
            target_path,
            revision_id,
            details,
        },
    )
    .await?)
}

pub(crate) fn check_size(app: &App, markdown: &str) -> AppResult<()> {
    let limit = app.config().max_page_bytes;
    if markdown.len() > limit {
        return Err(AppError::new(
            ErrorKind::TooLarge,
            "page_too_large",
            format!(
                "the page text is {} bytes; the limit is {limit} bytes. Split it into several pages",
                markdown.len()
            ),
        )
        .with_details(serde_json::json!({ "field": "markdown", "limit": limit, "size": markdown.len() })));
    }
    Ok(())
}

fn len_i64(s: &str) -> i64 {
    i64::try_from(s.len()).unwrap_or(i64::MAX)
}

/// Records a page's rendering, its outgoing links and its folder lineage.
async fn record_render_links_and_folders(
    conn: &mut AnyConnection,
    page_id: i64,
    revision_id: i64,
    path: &PagePath,
    rendered: &Rendered,
) -> AppResult<()> {
    App::store_render(conn, page_id, revision_id, rendered).await?;
    let targets: Vec<&str> = rendered
        .links
        .iter()
        .map(|p| p.as_str())
        .filter(|t| *t != path.as_str())
        .collect();
    refs::replace_links(conn, page_id, &targets).await?;
    ensure_folders(conn, path).await
}

async fn ensure_folders(conn: &mut AnyConnection, path: &PagePath) -> AppResult<()> {
    let lineage = path.folder().lineage();
    let pairs: Vec<(String, String)> = lineage
        .iter()
        .map(|f| {
            (
                f.as_str().to_owned(),
                f.parent().map(|p| p.as_str().to_owned()).unwrap_or_default(),
            )
        })
        .collect();
    let refs: Vec<(&str, &str)> = pairs.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    pages::ensure_folders(conn, &refs, now_ms()).await?;
    Ok(())
}

/// Gives the page `path`, which must be free of live pages; a redirect
/// there gives way. `hint` tells the user what to do when it is taken.
async fn claim_path(conn: &mut AnyConnection, page_id: i64, path: &PagePath, now: i64, hint: &str) -> AppResult<()> {
    let taken = || {
        AppError::conflict("path_taken", format!("a page already lives at `{path}`; {hint}"))
            .with_details(serde_json::json!({ "field": "to", "path": path.as_str() }))
    };
    if pages::by_path(conn, path.as_str()).await?.is_some() {
        return Err(taken());
    }
    pages::delete_redirect(conn, path.as_str()).await?;
    pages::set_path(conn, page_id, path.as_str(), path.folder().as_str(), now)
        .await
        .map_err(|e| match e {
            StoreError::Unique(_) => taken(),
            other => other.into(),
        })
}

struct NewPage<'a> {
    path: &'a PagePath,
    title: &'a str,
    markdown: &'a str,
    /// The markdown rendered in stored form.
    rendered: &'a Rendered,
    summary: &'a str,
    tags: &'a [String],
}

/// Inserts a page with its first revision; returns the page id.
async fn insert_page(conn: &mut AnyConnection, actor: &Actor, p: NewPage<'_>) -> AppResult<i64> {
    let now = now_ms();
    pages::delete_redirect(conn, p.path.as_str()).await?;
    let page_id = pages::insert(conn, p.path.as_str(), p.path.folder().as_str(), p.title, now)
        .await
        .map_err(|e| match e {
            StoreError::Unique(_) => AppError::conflict(
                "edit_conflict",
                format!(
                    "a page was created at `{}` at the same moment; reload it and edit again",
                    p.path
                ),
            ),
            other => other.into(),
        })?;
    let rev = revisions::insert(
        conn,
        NewRevision {
            page_id,
            parent_id: None,
            author_id: actor.user_id().map(|u| u.0),
            now,
            kind: "create",
            title: p.title,
            markdown: p.markdown,
            summary: p.summary,
            size_delta: len_i64(p.markdown),
        },
    )
    .await?;
    pages::set_current(conn, page_id, rev, p.title, now).await?;
    record_render_links_and_folders(conn, page_id, rev, p.path, p.rendered).await?;
    refs::replace_tags(conn, page_id, p.tags).await?;
    let details = serde_json::json!({ "title": p.title, "size": p.markdown.len() }).to_string();
    append_event(
        conn,
        actor,
        "page.created",
        "page",
        Some(page_id),
        Some(p.path.as_str()),
        Some(rev),
        &details,
    )
    .await?;
    Ok(page_id)
}

/// The text of the page setup creates at `home`.
pub(crate) const WELCOME: &str = include_str!("welcome.md");

pub(crate) async fn create_welcome_page(conn: &mut AnyConnection, actor: &Actor, rendered: &Rendered) -> AppResult<()> {
    let path = PagePath::parse("home")?;
    if pages::by_path(conn, path.as_str()).await?.is_some() {
        return Ok(());
    }
    let page = NewPage {
        path: &path,
        title: "Welcome to Vellum",
        markdown: WELCOME,
        rendered,
        summary: "Created by setup",
        tags: &["vellum".to_owned()],
    };
    insert_page(conn, actor, page).await?;
    Ok(())
}

impl App {
    /// Whether the actor may create or edit the page at a path (to decide
    /// before showing an editor).
    pub async fn check_write(&self, actor: &Actor, raw_path: &str) -> AppResult<()> {
        let path = PagePath::parse(raw_path)?;
        self.authorize(actor, Action::WritePage(&path)).await
    }

    /// Creates or edits the page at a path.
    pub async fn save_page(&self, actor: &Actor, raw_path: &str, req: SaveRequest) -> AppResult<Saved> {
        self.save(actor, raw_path, req, "edit").await
    }

    async fn save(&self, actor: &Actor, raw_path: &str, req: SaveRequest, kind: &str) -> AppResult<Saved> {
        let path = PagePath::parse(raw_path)?;
        self.authorize(actor, Action::WritePage(&path)).await?;
        check_size(self, &req.markdown)?;
        let title = req.title.as_deref().map(Title::parse).transpose()?;
        let summary = validate::summary(req.summary.as_deref().unwrap_or_default())?;
        let tags = req.tags.as_deref().map(validate::tags).transpose()?;
        // Render before taking the write lock; only a merge renders again.
        let pre_rendered = self.render_stored_form(&req.markdown).await?;

        let mut tx = self.0.store.begin().await?;
        let Some(page) = pages::lock_by_path(&mut tx, path.as_str()).await? else {
            if req.base_revision.is_some() {
                return Err(AppError::conflict(
                    "page_gone",
                    format!("the page at `{path}` was moved or deleted after you started editing; your text is kept in the details"),
                )
                .with_details(serde_json::json!({ "yours": req.markdown })));
            }
            let default_title = path.default_title();
            let title = title.as_ref().map_or(default_title.as_str(), Title::as_str);
            let new = NewPage {
                path: &path,
                title,
                markdown: &req.markdown,
                rendered: &pre_rendered,
                summary: &summary,
                tags: tags.as_deref().unwrap_or(&[]),
            };
            insert_page(&mut tx, actor, new).await?;
            tx.commit().await?;
            self.forget_nav(&path);
            let page = self.page(actor, path.as_str()).await?;
            return Ok(Saved {
                page,
                created: true,
                merged: false,
            });
        };

        let current = revisions::by_id(&mut tx, page.current_revision_id)
            .await?
            .ok_or_else(|| {
                AppError::internal(std::io::Error::other(format!(
                    "page {} has no current revision",
                    page.id
                )))
            })?;
        let mut merged = false;
        let mut kind = kind;
        let mut new_title = title.map(Title::into_string).unwrap_or_else(|| current.title.clone());
        let text = match req.base_revision {
            None => req.markdown.clone(),
            Some(base) if base == current.id => req.markdown.clone(),
            Some(base) => {
                let base_rev = match revisions::by_id(&mut tx, base).await? {
                    Some(r) if r.page_id == page.id => r,
                    _ => {
                        return Err(AppError::invalid(
                            "invalid_base_revision",
                            "base_revision",
                            format!("revision {base} is not a revision of `{path}`"),
                        ))
                    }
                };
                if new_title == base_rev.title {
                    new_title = current.title.clone();
                }
                match merge3(&base_rev.markdown, &req.markdown, &current.markdown) {
                    MergeOutcome::Clean(text) => {
                        merged = true;
                        kind = "merge";
                        text
                    }
                    MergeOutcome::Conflict { merged_with_markers } => {
                        return Err(AppError::conflict(
                            "edit_conflict",
                            format!(
                                "someone else changed the same lines of `{path}` since revision {base}; \
                                 your text is kept: combine it with theirs and save again with base_revision {}",
                                current.id
                            ),
                        )
                        .with_details(serde_json::json!({
                            "base_revision": base,
                            "current_revision": current.id,
                            "yours": req.markdown,
                            "theirs": current.markdown,
                            "merged_with_markers": merged_with_markers,
                        })));
                    }
                }
            }
        };

        let now = now_ms();
        let old_tags = refs::tags_of(&mut tx, page.id).await?;
        let tags_changed = tags.as_ref().is_some_and(|t| *t != old_tags);
        if text == current.markdown && new_title == current.title {
            if tags_changed {
                let tags = tags.unwrap_or_default();
                refs::replace_tags(&mut tx, page.id, &tags).await?;
                let details = serde_json::json!({ "from": old_tags, "to": tags }).to_string();
                append_event(
                    &mut tx,
                    actor,
                    "page.tags_changed",
                    "page",
                    Some(page.id),
                    Some(path.as_str()),
                    None,
                    &details,
                )
                .await?;
                tx.commit().await?;
            }
            let page = self.page(actor, path.as_str()).await?;
            return Ok(Saved {
                page,
                created: false,
                merged,
            });
        }
        let rev = revisions::insert(
            &mut tx,
            NewRevision {
                page_id: page.id,
                parent_id: Some(current.id),
                author_id: actor.user_id().map(|u| u.0),
                now,
                kind,
                title: &new_title,
                markdown: &text,
                summary: &summary,
                size_delta: len_i64(&text) - current.size,
            },
        )
        .await?;
        pages::set_current(&mut tx, page.id, rev, &new_title, now).await?;
        let rendered = if text == req.markdown {
            pre_rendered
        } else {
            self.render_stored_form(&text).await?
        };
        record_render_links_and_folders(&mut tx, page.id, rev, &path, &rendered).await?;
        if let Some(tags) = &tags {
            refs::replace_tags(&mut tx, page.id, tags).await?;
        }
        let action = if kind == "revert" {
            "page.reverted"
        } else {
            "page.edited"
        };
        let details = serde_json::json!({
            "size": text.len(),
            "merged": merged,
            "base_revision": req.base_revision,
            "tags_changed": tags_changed,
        })
        .to_string();
        append_event(
            &mut tx,
            actor,
            action,
            "page",
            Some(page.id),
            Some(path.as_str()),
            Some(rev),
            &details,
        )
        .await?;
        tx.commit().await?;
        let page = self.page(actor, path.as_str()).await?;
        Ok(Saved {
            page,
            created: false,
            merged,
        })
    }

    /// Saves an old revision's text and title as a new revision.
    pub async fn revert(
        &self,
        actor: &Actor,
        raw_path: &str,
        revision: i64,
        summary: Option<&str>,
    ) -> AppResult<Saved> {
        let path = PagePath::parse(raw_path)?;
        self.authorize(actor, Action::WritePage(&path)).await?;
        let mut conn = self.0.store.read().await?;
        let page = pages::by_path(&mut conn, path.as_str())
            .await?
            .ok_or_else(|| AppError::not_found("page_not_found", format!("there is no page at `{path}`")))?;
        let old = match revisions::by_id(&mut conn, revision).await? {
            Some(r) if r.page_id == page.id => r,
            _ => {
                return Err(AppError::not_found(
                    "revision_not_found",
                    format!("revision {revision} is not a revision of `{path}`"),
                ))
            }
        };
        drop(conn);
        let note = format!("Reverted to revision {revision}");
        let summary = match summary.map(str::trim).filter(|s| !s.is_empty()) {
            Some(s) => format!("{note}: {s}"),
            None => note,
        };
        let req = SaveRequest {
            title: Some(old.title),
            markdown: old.markdown,
            summary: Some(summary),
            tags: None,
            base_revision: None,
        };
        self.save(actor, path.as_str(), req, "revert").await
    }

    /// Moves a page to a new path, leaving a redirect at the old one.
    pub async fn move_page(&self, actor: &Actor, raw_from: &str, raw_to: &str) -> AppResult<crate::Page> {
        let from = PagePath::parse(raw_from)?;
        let to = PagePath::parse(raw_to).map_err(|e| AppError::invalid("invalid_path", "to", e.to_string()))?;
        self.authorize(actor, Action::WritePage(&from)).await?;
        self.authorize(actor, Action::WritePage(&to)).await?;
        if from == to {
            return Err(AppError::invalid(
                "same_path",
                "to",
                "the page already lives at that path",
            ));
        }
        let mut tx = self.0.store.begin().await?;
        let page = pages::lock_by_path(&mut tx, from.as_str())
            .await?
            .ok_or_else(|| AppError::not_found("page_not_found", format!("there is no page at `{from}`")))?;
        let now = now_ms();
        claim_path(&mut tx, page.id, &to, now, "move or delete it first").await?;
        pages::put_redirect(&mut tx, from.as_str(), page.id, now).await?;
        ensure_folders(&mut tx, &to).await?;
        let details = serde_json::json!({ "from": from.as_str(), "to": to.as_str() }).to_string();
        append_event(
            &mut tx,
            actor,
            "page.moved",
            "page",
            Some(page.id),
            Some(to.as_str()),
            None,
            &details,
        )
        .await?;
        tx.commit().await?;
        self.forget_nav(&from);
        self.forget_nav(&to);
        self.page(actor, to.as_str()).await
    }

    /// Moves a page to the trash.
    pub async fn delete_page(&self, actor: &Actor, raw_path: &str) -> AppResult<()> {
        let path = PagePath::parse(raw_path)?;
        self.authorize(actor, Action::WritePage(&path)).await?;
        let mut tx = self.0.store.begin().await?;
        let page = pages::lock_by_path(&mut tx, path.as_str())
            .await?
            .ok_or_else(|| AppError::not_found("page_not_found", format!("there is no page at `{path}`")))?;
        pages::trash(&mut tx, page.id, actor.user_id().map(|u| u.0), now_ms()).await?;
        let details = serde_json::json!({ "title": page.title }).to_string();
        append_event(
            &mut tx,
            actor,
            "page.deleted",
            "page",
            Some(page.id),
            Some(path.as_str()),
            None,
            &details,
        )
        .await?;
        tx.commit().await?;
        self.forget_nav(&path);
        Ok(())
    }

    /// Brings a page back from the trash, at its old path or at `to`.
    pub async fn restore_page(&self, actor: &Actor, page_id: i64, to: Option<&str>) -> AppResult<crate::Page> {
        let mut tx = self.0.store.begin().await?;
        let page = pages::by_id(&mut tx, page_id)
            .await?
            .filter(|p| p.deleted_at.is_some())
            .ok_or_else(|| AppError::not_found("not_in_trash", format!("page {page_id} is not in the trash")))?;
        let target = match to.map(str::trim).filter(|t| !t.is_empty()) {
            Some(t) => PagePath::parse(t).map_err(|e| AppError::invalid("invalid_path", "to", e.to_string()))?,
            None => PagePath::from_trusted(page.path.clone()),
        };
        self.authorize(actor, Action::WritePage(&target)).await?;
        let now = now_ms();
        claim_path(&mut tx, page.id, &target, now, "restore this one to another path").await?;
        pages::untrash(&mut tx, page.id, now).await?;
        ensure_folders(&mut tx, &target).await?;
        let details = serde_json::json!({ "from": page.path, "to": target.as_str() }).to_string();
        append_event(
            &mut tx,
            actor,
            "page.restored",
            "page",
            Some(page.id),
            Some(target.as_str()),
            None,
            &details,
        )
        .await?;
        tx.commit().await?;
        self.forget_nav(&target);
        if target.as_str() != page.path {
            self.forget_nav(&PagePath::from_trusted(page.path.clone()));
        }
        self.page(actor, target.as_str()).await
    }
}
