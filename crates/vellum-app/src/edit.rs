//! Write-side use cases: save (with three-way merge) and revert; moves,
//! deletion and restores are in `relocate.rs`. Each is one unit of work
//! that also records the page's links and tags and states what happened as
//! a typed event. A save answers with
//! exactly the revision it wrote, built from what it wrote, never by reading
//! the page again (which, under concurrency, could describe someone else's
//! revision).

use vellum_core::acl::{Level, Permissions};
use vellum_core::{Actor, Event, PageId, PagePath, RevisionId, RevisionKind, Timestamp, Title};
use vellum_markup::merge::{merge3, MergeOutcome};
use vellum_markup::{Rendered, RENDER_VERSION};
use vellum_store::renders::{self, StoredRender};
use vellum_store::revisions::{self, NewRevision, RevisionRecord};
use vellum_store::{pages, refs, Constraint};

use crate::read::page_not_found;
use crate::render::toc_json;
use crate::uow::UnitOfWork;
use crate::{validate, App, AppError, AppResult, Code, Page, Saved};

/// The most distinct page links one page may hold. Each is a row of the
/// link graph and is checked on every view of the page; past this a page is
/// refused with `too_many_links` before anything is written.
pub const MAX_LINKS_PER_PAGE: usize = 5_000;

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
    pub base_revision: Option<RevisionId>,
    /// Also mark the page verified (its review owner, or someone who
    /// manages it; see `verification.rs`).
    pub verify: bool,
}

pub(crate) fn check_size(app: &App, markdown: &str) -> AppResult<()> {
    let limit = app.config().max_page_bytes;
    if markdown.len() > limit {
        return Err(AppError::new(
            Code::PageTooLarge,
            format!(
                "The page text is {} bytes; the limit is {limit} bytes. Split it into several pages.",
                markdown.len()
            ),
        )
        .with_details(serde_json::json!({ "field": "markdown", "limit": limit, "size": markdown.len() })));
    }
    Ok(())
}

pub(crate) fn check_links(rendered: &Rendered) -> AppResult<()> {
    if rendered.links.len() > MAX_LINKS_PER_PAGE {
        return Err(AppError::new(
            Code::TooManyLinks,
            format!(
                "The page links to {} different pages; the limit is {MAX_LINKS_PER_PAGE}. Split it into several pages.",
                rendered.links.len()
            ),
        )
        .with_details(serde_json::json!({
            "field": "markdown", "limit": MAX_LINKS_PER_PAGE, "links": rendered.links.len()
        })));
    }
    Ok(())
}

fn len_i64(s: &str) -> i64 {
    i64::try_from(s.len()).unwrap_or(i64::MAX)
}

/// Records a page's rendering, its outgoing links and its folder lineage.
async fn record_render_links_and_folders(
    uow: &mut UnitOfWork,
    page: PageId,
    revision: RevisionId,
    path: &PagePath,
    rendered: &Rendered,
) -> AppResult<()> {
    let stored = StoredRender {
        html: rendered.html.clone(),
        toc: toc_json(&rendered.toc),
    };
    renders::store(uow, page, revision, RENDER_VERSION, &stored).await?;
    let targets: Vec<&str> = rendered
        .links
        .iter()
        .map(PagePath::as_str)
        .filter(|t| *t != path.as_str())
        .collect();
    refs::replace_links(uow, page, &targets).await?;
    let names = &rendered.file_names[..rendered.file_names.len().min(MAX_LINKS_PER_PAGE)];
    let ids = &rendered.file_ids[..rendered.file_ids.len().min(MAX_LINKS_PER_PAGE)];
    vellum_store::files::replace_uses(uow, page, names, ids).await?;
    let now = uow.now();
    pages::ensure_folders(uow, &path.folder(), now).await?;
    Ok(())
}

struct NewPage<'a> {
    path: &'a PagePath,
    title: &'a Title,
    markdown: &'a str,
    /// The markdown rendered in stored form.
    rendered: &'a Rendered,
    summary: &'a str,
    tags: &'a [String],
}

/// Inserts a page with its first revision.
async fn insert_page(uow: &mut UnitOfWork, actor: &Actor, p: NewPage<'_>) -> AppResult<(PageId, RevisionId, i64)> {
    let now = uow.now();
    pages::delete_redirect(uow, p.path).await?;
    let page = pages::insert(uow, p.path, p.title, now).await.map_err(|e| match e.unique() {
        Some(Constraint::LivePagePath) => AppError::new(
            Code::EditConflict,
            format!(
                "Someone created a page at “{}” at the same moment. Reload it and edit again; your text is kept in the details.",
                p.path
            ),
        )
        .with_details(serde_json::json!({ "yours": p.markdown })),
        _ => e.into(),
    })?;
    let (rev, number) = revisions::insert(
        uow,
        NewRevision {
            page,
            parent: None,
            author: actor.user_id(),
            now,
            kind: RevisionKind::Create,
            title: p.title,
            markdown: p.markdown,
            summary: p.summary,
            size_delta: len_i64(p.markdown),
        },
    )
    .await?;
    pages::set_current(uow, page, rev, p.title, now).await?;
    record_render_links_and_folders(uow, page, rev, p.path, p.rendered).await?;
    refs::replace_tags(uow, page, p.tags).await?;
    uow.record(Event::PageCreated {
        page,
        path: p.path.clone(),
        revision: rev,
        title: p.title.as_str().to_owned(),
        size: len_i64(p.markdown),
    })
    .await?;
    Ok((page, rev, number))
}

/// The text of the page setup creates at `home`.
pub(crate) const WELCOME: &str = include_str!("welcome.md");

pub(crate) async fn create_welcome_page(uow: &mut UnitOfWork, actor: &Actor, rendered: &Rendered) -> AppResult<()> {
    let path = PagePath::parse("home")?;
    if pages::by_path(uow, &path).await?.is_some() {
        return Ok(());
    }
    let title = Title::parse("Welcome to Vellum")?;
    let page = NewPage {
        path: &path,
        title: &title,
        markdown: WELCOME,
        rendered,
        summary: "Created by setup",
        tags: &["vellum".to_owned()],
    };
    insert_page(uow, actor, page).await?;
    Ok(())
}

/// What a save does besides an ordinary edit.
#[derive(Debug, Clone, Copy)]
enum Mode {
    Edit,
    Revert { to: RevisionId },
}

/// The page as this save left it, built from what the save wrote.
struct Written<'a> {
    page: PageId,
    path: &'a PagePath,
    title: Title,
    revision: RevisionId,
    number: i64,
    markdown: String,
    rendered: &'a Rendered,
    tags: Vec<String>,
    created_at: Timestamp,
    updated_at: Timestamp,
    updated_by: Option<String>,
}

impl App {
    /// Whether the actor may create or edit the page at a path (to decide
    /// before showing an editor).
    pub async fn check_write(&self, actor: &Actor, raw_path: &str) -> AppResult<PagePath> {
        let path = PagePath::parse(raw_path)?;
        let perms = self.permissions(actor).await?;
        self.need_edit(actor, &perms, &path)?;
        Ok(path)
    }

    /// Creates or edits the page at a path.
    pub async fn save_page(&self, actor: &Actor, raw_path: &str, req: SaveRequest) -> AppResult<Saved> {
        self.save(actor, raw_path, req, Mode::Edit).await
    }

    /// Finishes a save's reply inside its unit of work: which of the page's
    /// links lead nowhere, as the page will be served.
    async fn reply(&self, uow: &mut UnitOfWork, perms: &Permissions, w: Written<'_>) -> AppResult<Page> {
        let missing: Vec<PagePath> = refs::link_targets(uow, w.page)
            .await?
            .into_iter()
            .filter(|(target, exists)| !exists || !perms.can(Level::Read, target.as_str()))
            .map(|(target, _)| target)
            .collect();
        let updated_by_name = match &w.updated_by {
            Some(name) => vellum_store::users::by_username_key(uow, &name.to_lowercase())
                .await?
                .map(|u| u.display_name),
            None => None,
        };
        let served = Self::serve_with_missing(&w.rendered.html, w.rendered.toc.clone().into(), &missing, Some(w.page));
        Ok(Page {
            id: w.page,
            path: w.path.clone(),
            title: w.title,
            revision: w.revision,
            revision_number: w.number,
            markdown: Some(w.markdown),
            html: served.html,
            toc: served.toc,
            tags: w.tags,
            created_at: w.created_at,
            updated_at: w.updated_at,
            updated_by: w.updated_by,
            updated_by_name,
        })
    }

    async fn save(&self, actor: &Actor, raw_path: &str, req: SaveRequest, mode: Mode) -> AppResult<Saved> {
        let path = PagePath::parse(raw_path)?;
        let perms = self.permissions(actor).await?;
        self.need_edit(actor, &perms, &path)?;
        validate::text(&req.markdown, "markdown")?;
        check_size(self, &req.markdown)?;
        let title = match req.title.as_deref() {
            Some(t) => Some(Title::parse(validate::single_line(t, "title")?)?),
            None => None,
        };
        let summary = validate::summary(req.summary.as_deref().unwrap_or_default())?;
        let tags = req.tags.as_deref().map(validate::tags).transpose()?;
        // Render before taking the write lock; only a merge renders again.
        let pre_rendered = self.render_stored_form(&req.markdown).await?;
        check_links(&pre_rendered)?;
        let author_name = actor.name().map(str::to_owned);
        let verify = req.verify;

        let mut uow = self.begin(actor.user_id()).await?;
        let Some(page) = pages::lock_by_path(&mut uow, &path).await? else {
            if req.base_revision.is_some() {
                return Err(AppError::new(
                    Code::PageGone,
                    format!(
                        "The page at “{path}” was moved or deleted after you started editing. Your text is kept in the details: save it as a new page or elsewhere."
                    ),
                )
                .with_details(serde_json::json!({ "yours": req.markdown })));
            }
            // Without a title, a page that opens with `# Heading` is named
            // by it; otherwise by its path.
            let title = match title {
                Some(t) => t,
                None => vellum_markup::split_leading_heading(&pre_rendered.html, &pre_rendered.toc)
                    .and_then(|(heading, _)| Title::parse(heading).ok())
                    .map_or_else(|| Title::parse(&path.default_title()), Ok)?,
            };
            let tags = tags.unwrap_or_default();
            let new = NewPage {
                path: &path,
                title: &title,
                markdown: &req.markdown,
                rendered: &pre_rendered,
                summary: &summary,
                tags: &tags,
            };
            let (page, revision, number) = insert_page(&mut uow, actor, new).await?;
            let now = uow.now();
            let reply = self
                .reply(
                    &mut uow,
                    &perms,
                    Written {
                        page,
                        path: &path,
                        title,
                        revision,
                        number,
                        markdown: req.markdown,
                        rendered: &pre_rendered,
                        tags,
                        created_at: now,
                        updated_at: now,
                        updated_by: author_name,
                    },
                )
                .await?;
            if verify {
                self.verify_with_save(&mut uow, actor, &perms, page, revision).await?;
            }
            uow.commit().await?;
            return Ok(Saved {
                page: reply,
                created: true,
                merged: false,
            });
        };

        let current = revisions::by_id(&mut uow, page.current_revision)
            .await?
            .ok_or_else(|| AppError::bug(format!("page {} has no current revision", page.id)))?;
        let mut merged = false;
        let mut new_title = title.unwrap_or_else(|| current.title.clone());
        let text = match req.base_revision {
            None => req.markdown.clone(),
            Some(base) if base == current.id => req.markdown.clone(),
            Some(base) => {
                let base_rev = match revisions::by_id(&mut uow, base).await? {
                    Some(r) if r.page == page.id => r,
                    _ => {
                        return Err(AppError::invalid(
                            Code::InvalidBaseRevision,
                            "base_revision",
                            format!("Revision {base} is not a revision of “{path}”. Send the revision you started editing from."),
                        ))
                    }
                };
                if new_title == base_rev.title {
                    new_title = current.title.clone();
                }
                self.merge(&path, &base_rev, &req.markdown, &current)
                    .await?
                    .inspect(|_| merged = true)
                    .unwrap_or_else(|| req.markdown.clone())
            }
        };

        let old_tags = refs::tags_of(&mut uow, page.id).await?;
        let tags_changed = tags.as_ref().is_some_and(|t| *t != old_tags);
        let tags_now = tags.clone().unwrap_or_else(|| old_tags.clone());
        if text == current.markdown && new_title == current.title {
            // Nothing new to keep: no revision. The reply is the current
            // revision, whose text is the one sent.
            if tags_changed {
                refs::replace_tags(&mut uow, page.id, &tags_now).await?;
                uow.record(Event::PageTagsChanged {
                    page: page.id,
                    path: path.clone(),
                    from: old_tags,
                    to: tags_now.clone(),
                })
                .await?;
            }
            let reply = self
                .reply(
                    &mut uow,
                    &perms,
                    Written {
                        page: page.id,
                        path: &path,
                        title: current.title.clone(),
                        revision: current.id,
                        number: current.number,
                        markdown: current.markdown.clone(),
                        rendered: &pre_rendered,
                        tags: tags_now,
                        created_at: page.created_at,
                        updated_at: page.updated_at,
                        updated_by: current.author_name.clone(),
                    },
                )
                .await?;
            if verify {
                self.verify_with_save(&mut uow, actor, &perms, page.id, current.id)
                    .await?;
            }
            uow.commit().await?;
            return Ok(Saved {
                page: reply,
                created: false,
                merged,
            });
        }

        let kind = match mode {
            Mode::Revert { .. } => RevisionKind::Revert,
            Mode::Edit if merged => RevisionKind::Merge,
            Mode::Edit => RevisionKind::Edit,
        };
        let now = uow.now();
        let (rev, number) = revisions::insert(
            &mut uow,
            NewRevision {
                page: page.id,
                parent: Some(current.id),
                author: actor.user_id(),
                now,
                kind,
                title: &new_title,
                markdown: &text,
                summary: &summary,
                size_delta: len_i64(&text) - current.size,
            },
        )
        .await?;
        pages::set_current(&mut uow, page.id, rev, &new_title, now).await?;
        let rendered = if text == req.markdown {
            pre_rendered
        } else {
            let r = self.render_stored_form(&text).await?;
            check_links(&r)?;
            r
        };
        record_render_links_and_folders(&mut uow, page.id, rev, &path, &rendered).await?;
        if tags_changed {
            refs::replace_tags(&mut uow, page.id, &tags_now).await?;
        }
        let title_changed = new_title != current.title;
        let event = match mode {
            Mode::Revert { to } => Event::PageReverted {
                page: page.id,
                path: path.clone(),
                revision: rev,
                reverted_to: to,
                size: len_i64(&text),
                title_changed,
            },
            Mode::Edit => Event::PageEdited {
                page: page.id,
                path: path.clone(),
                revision: rev,
                size: len_i64(&text),
                merged,
                title_changed,
                tags_changed,
                base_revision: req.base_revision,
            },
        };
        uow.record(event).await?;
        let reply = self
            .reply(
                &mut uow,
                &perms,
                Written {
                    page: page.id,
                    path: &path,
                    title: new_title,
                    revision: rev,
                    number,
                    markdown: text,
                    rendered: &rendered,
                    tags: tags_now,
                    created_at: page.created_at,
                    updated_at: now,
                    updated_by: author_name,
                },
            )
            .await?;
        if verify {
            self.verify_with_save(&mut uow, actor, &perms, page.id, rev).await?;
        }
        uow.commit().await?;
        Ok(Saved {
            page: reply,
            created: false,
            merged,
        })
    }

    /// Marks the page just saved verified as of `revision`, in the save's
    /// unit of work (refused, and the save with it, when the actor may
    /// not verify it).
    async fn verify_with_save(
        &self,
        uow: &mut UnitOfWork,
        actor: &Actor,
        perms: &Permissions,
        page: PageId,
        revision: RevisionId,
    ) -> AppResult<()> {
        let record = pages::by_id(uow, page)
            .await?
            .ok_or_else(|| AppError::bug(format!("page {page} vanished inside its own save")))?;
        self.record_verification(uow, actor, perms, &record, revision, true)
            .await
    }

    /// Merges `yours` (edited from `base`) with `current`: the merged text,
    /// `None` when nothing needed merging, or the conflict error.
    async fn merge(
        &self,
        path: &PagePath,
        base: &RevisionRecord,
        yours: &str,
        current: &RevisionRecord,
    ) -> AppResult<Option<String>> {
        let (b, y, c) = (base.markdown.clone(), yours.to_owned(), current.markdown.clone());
        match self.cpu(move || merge3(&b, &y, &c)).await? {
            MergeOutcome::Clean(text) => Ok(Some(text)),
            MergeOutcome::Conflict { merged_with_markers } => Err(AppError::new(
                Code::EditConflict,
                format!(
                    "Someone else changed the same part of “{path}” since you started editing (revision {} is now current). Nothing was saved: your text is kept. Combine it with theirs, then save on top of revision {}.",
                    current.number, current.number
                ),
            )
            .with_details(serde_json::json!({
                "base_revision": base.id,
                "current_revision": current.id,
                "current_revision_number": current.number,
                "yours": yours,
                "theirs": current.markdown,
                "merged_with_markers": merged_with_markers,
            }))),
        }
    }

    /// Saves an old revision's text and title as a new revision.
    pub async fn revert(
        &self,
        actor: &Actor,
        raw_path: &str,
        revision: RevisionId,
        summary: Option<&str>,
    ) -> AppResult<Saved> {
        let path = PagePath::parse(raw_path)?;
        let perms = self.permissions(actor).await?;
        self.need_edit(actor, &perms, &path)?;
        let (page, old) = {
            let mut conn = self.0.store.read().await?;
            let page = pages::by_path(&mut conn, &path)
                .await?
                .ok_or_else(|| page_not_found(&path))?;
            let old = match revisions::by_id(&mut conn, revision).await? {
                Some(r) if r.page == page.id => r,
                _ => {
                    return Err(AppError::new(
                        Code::RevisionNotFound,
                        format!("Revision {revision} is not a revision of “{path}”."),
                    ))
                }
            };
            (page, old)
        };
        let note = format!("Reverted to revision {}", old.number);
        let summary = match summary.map(str::trim).filter(|s| !s.is_empty()) {
            Some(s) => format!("{note}: {s}"),
            None => note,
        };
        let req = SaveRequest {
            title: Some(old.title.as_str().to_owned()),
            markdown: old.markdown,
            summary: Some(summary),
            tags: None,
            // Revert on top of the revision the reverter saw, so a save
            // that landed since is merged or reported, never lost.
            base_revision: Some(page.current_revision),
            verify: false,
        };
        self.save(actor, path.as_str(), req, Mode::Revert { to: revision })
            .await
    }
}
