//! Comments on pages: threads and replies in Markdown (rendered and
//! sanitized like pages), edited and deleted by their authors, resolved and
//! reopened per thread, with `@name` mentions.
//!
//! Who may do what: reading a page's comments needs read access to the
//! page; writing one needs the comment level; editing needs to be its
//! author (still with the comment level); deleting needs to be its author
//! or to manage the page; resolving and reopening a thread needs to have
//! started it or to edit the page. A comment on a page the caller may not
//! read answers exactly as a comment that does not exist.

use vellum_core::acl::{Level, Permissions};
use vellum_core::{Actor, Event, PagePath, Timestamp, UserId};
use vellum_store::comments::{self as store, CommentRecord, NewComment};
use vellum_store::{pages, users, Handle};

use crate::{App, AppError, AppResult, Code, PageRequest, Paged};

/// The longest comment accepted, in bytes.
pub const MAX_COMMENT_BYTES: usize = 64 * 1024;
/// Mentions per comment that are recorded (the rest are plain text).
const MAX_MENTIONS: usize = 50;

/// A comment as a reader sees it.
#[derive(Debug, Clone)]
pub struct CommentView {
    pub id: i64,
    /// The thread's first comment (its own id when it starts one).
    pub thread_id: i64,
    /// The comment replied to: the thread's first comment, for replies.
    pub parent_id: Option<i64>,
    pub path: PagePath,
    /// The author's user name (`None` once the comment is deleted).
    pub author: Option<String>,
    pub author_display: Option<String>,
    pub markdown: String,
    pub html: String,
    pub created_at: Timestamp,
    pub edited_at: Option<Timestamp>,
    pub deleted: bool,
    /// The thread is resolved.
    pub resolved: bool,
    pub resolved_by: Option<String>,
    pub can_edit: bool,
    pub can_delete: bool,
    pub can_resolve: bool,
}

/// Comments and open threads on a page.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CommentCounts {
    pub comments: i64,
    pub open_threads: i64,
}

pub(crate) fn comment_not_found() -> AppError {
    AppError::new(
        Code::CommentNotFound,
        "There is no such comment (it may have been on a page you cannot read, or the page was deleted).",
    )
}

/// The user names a comment mentions: `@name` after a space, a bracket or
/// the start, up to the first character a user name cannot hold.
pub fn mentioned_names(markdown: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut prev = ' ';
    for (i, c) in markdown.char_indices() {
        if c == '@' && (prev.is_whitespace() || "([{,;:!".contains(prev)) {
            let rest = &markdown[i + 1..];
            let end = rest
                .find(|ch: char| !(ch.is_ascii_alphanumeric() || "_-.".contains(ch)))
                .unwrap_or(rest.len());
            let name = rest[..end].trim_end_matches('.');
            if !name.is_empty() {
                let key = name.to_lowercase();
                if !out.contains(&key) {
                    out.push(key);
                }
            }
        }
        prev = c;
    }
    out.truncate(MAX_MENTIONS);
    out
}

fn check_markdown(markdown: &str) -> AppResult<&str> {
    let text = markdown.trim();
    if text.is_empty() {
        return Err(AppError::invalid(
            Code::InvalidComment,
            "markdown",
            "The comment is empty. Write something, or leave it.",
        ));
    }
    if markdown.len() > MAX_COMMENT_BYTES {
        return Err(AppError::invalid(
            Code::InvalidComment,
            "markdown",
            format!(
                "The comment is {} KiB; a comment may be at most {} KiB. Put long text on a page and link to it.",
                markdown.len().div_ceil(1024),
                MAX_COMMENT_BYTES / 1024
            ),
        ));
    }
    crate::validate::text(text, "markdown")
}

impl App {
    pub(crate) fn comment_view(
        &self,
        actor: &Actor,
        p: &Permissions,
        path: &PagePath,
        c: CommentRecord,
    ) -> CommentView {
        let me = actor.user_id();
        let mine = me.is_some() && c.author_id == me;
        let live = c.deleted_at.is_none();
        let may_comment = p.can(Level::Comment, path.as_str());
        let starts_thread = c.thread_id.is_none();
        CommentView {
            id: c.id,
            thread_id: c.thread(),
            parent_id: c.thread_id,
            path: path.clone(),
            author: live.then(|| c.author_name.clone()).flatten(),
            author_display: live.then(|| c.author_display.clone()).flatten(),
            markdown: c.markdown,
            html: c.html,
            created_at: c.created_at,
            edited_at: c.edited_at,
            deleted: !live,
            resolved: c.resolved_at.is_some(),
            resolved_by: c.resolved_by_name,
            can_edit: live && mine && may_comment,
            can_delete: live && ((mine && may_comment) || p.can(Level::Manage, path.as_str())),
            can_resolve: starts_thread && live && ((mine && may_comment) || p.can(Level::Edit, path.as_str())),
        }
    }

    /// The users `markdown` mentions, as ids (unknown names are text).
    async fn mentions(&self, h: &mut impl Handle, markdown: &str) -> AppResult<Vec<UserId>> {
        let mut ids = Vec::new();
        for name in mentioned_names(markdown) {
            if let Some(u) = users::by_username_key(h, &name).await? {
                if !ids.contains(&u.id) {
                    ids.push(u.id);
                }
            }
        }
        Ok(ids)
    }

    /// A comment and the live page it is on, if the actor may read it.
    async fn readable_comment(
        &self,
        p: &Permissions,
        h: &mut impl Handle,
        id: i64,
    ) -> AppResult<(CommentRecord, PagePath)> {
        let Some(c) = store::get(h, id).await? else {
            return Err(comment_not_found());
        };
        match pages::by_id(h, c.page_id).await? {
            Some(page) if page.deleted_at.is_none() && p.can(Level::Read, page.path.as_str()) => Ok((c, page.path)),
            _ => Err(comment_not_found()),
        }
    }

    /// One comment, if the actor may read its page.
    pub async fn comment(&self, actor: &Actor, id: i64) -> AppResult<CommentView> {
        let perms = self.permissions(actor).await?;
        let mut conn = self.0.store.read().await?;
        let (c, path) = self.readable_comment(&perms, &mut conn, id).await?;
        Ok(self.comment_view(actor, &perms, &path, c))
    }

    /// Accounts whose name or display name contains `q`, for `@` completion
    /// (signed-in users only; enabled accounts; at most 10).
    pub async fn mention_suggestions(&self, actor: &Actor, q: &str) -> AppResult<Vec<(String, String)>> {
        if actor.user_id().is_none() {
            return Err(crate::access::sign_in());
        }
        let q = crate::validate::single_line(q, "q")?.trim().trim_start_matches('@');
        let filter = users::UserFilter {
            text: (!q.is_empty()).then_some(q),
            role: None,
            disabled: Some(false),
        };
        let mut conn = self.0.store.read().await?;
        let mut found = users::list(&mut conn, &filter, None, 50).await?;
        // Names that start with what was typed first.
        let key = q.to_lowercase();
        found.sort_by_key(|u| (!u.username.to_lowercase().starts_with(&key), u.username.to_lowercase()));
        Ok(found
            .into_iter()
            .take(10)
            .map(|u| (u.username, u.display_name))
            .collect())
    }

    /// A page's comments, threads in order, each followed by its replies.
    pub async fn comments(&self, actor: &Actor, raw_path: &str, req: &PageRequest) -> AppResult<Paged<CommentView>> {
        let path = PagePath::parse(raw_path)?;
        let perms = self.permissions(actor).await?;
        let mut conn = self.0.store.read().await?;
        let page = self.live_page(actor, &perms, &mut conn, &path).await?;
        let after = match req.cursor.as_deref() {
            None => None,
            Some(c) => {
                let bad = || {
                    AppError::new(
                        Code::InvalidCursor,
                        "The cursor is not one this list gave; start again.",
                    )
                };
                let (t, i) = c.split_once(':').ok_or_else(bad)?;
                Some((t.parse().map_err(|_| bad())?, i.parse().map_err(|_| bad())?))
            }
        };
        let rows = store::of_page(&mut conn, page.id, after, req.fetch()?).await?;
        let items = rows
            .into_iter()
            .map(|c| self.comment_view(actor, &perms, &page.path, c))
            .collect();
        Ok(Paged::from_rows(items, req.limit()?, |c: &CommentView| {
            format!("{}:{}", c.thread_id, c.id)
        }))
    }

    /// Comments and open threads on a page the actor may read.
    pub async fn comment_counts(&self, actor: &Actor, raw_path: &str) -> AppResult<CommentCounts> {
        let path = PagePath::parse(raw_path)?;
        let perms = self.permissions(actor).await?;
        let mut conn = self.0.store.read().await?;
        let page = self.live_page(actor, &perms, &mut conn, &path).await?;
        let (comments, open_threads) = store::counts(&mut conn, page.id).await?;
        Ok(CommentCounts { comments, open_threads })
    }

    /// Comments on a page (a reply when `parent` names a comment of it).
    pub async fn add_comment(
        &self,
        actor: &Actor,
        raw_path: &str,
        markdown: &str,
        parent: Option<i64>,
    ) -> AppResult<CommentView> {
        let path = PagePath::parse(raw_path)?;
        let text = check_markdown(markdown)?;
        let perms = self.permissions(actor).await?;
        let Some(author) = actor.user_id() else {
            return Err(crate::access::sign_in());
        };
        let rendered = self.render_stored_form(text).await?;
        let mut uow = self.begin(Some(author)).await?;
        let page = self.live_page(actor, &perms, &mut uow, &path).await?;
        self.need_level(actor, &perms, Level::Comment, &page.path)?;
        let thread = match parent {
            None => None,
            Some(pid) => {
                let parent = store::get(&mut uow, pid).await?.filter(|c| c.page_id == page.id);
                match parent {
                    Some(c) if c.deleted_at.is_none() || c.thread_id.is_none() => Some(c.thread()),
                    _ => {
                        return Err(AppError::invalid(
                            Code::InvalidComment,
                            "parent_id",
                            "There is no such comment on this page to reply to.",
                        ))
                    }
                }
            }
        };
        let mentions = self.mentions(&mut uow, text).await?;
        let now = uow.now();
        let id = store::insert(
            &mut uow,
            &NewComment {
                page: page.id,
                thread,
                author,
                markdown: text,
                html: &rendered.html,
                mentions: &mentions,
            },
            now,
        )
        .await?;
        uow.record(Event::CommentAdded {
            comment: id,
            thread,
            page: page.id,
            path: page.path.clone(),
            mentions,
        })
        .await?;
        let row = store::get(&mut uow, id).await?.ok_or_else(comment_not_found)?;
        uow.commit().await?;
        Ok(self.comment_view(actor, &perms, &page.path, row))
    }

    /// Changes the text of one's own comment.
    pub async fn edit_comment(&self, actor: &Actor, id: i64, markdown: &str) -> AppResult<CommentView> {
        let text = check_markdown(markdown)?;
        let perms = self.permissions(actor).await?;
        let rendered = self.render_stored_form(text).await?;
        let mut uow = self.begin(actor.user_id()).await?;
        let (c, path) = self.readable_comment(&perms, &mut uow, id).await?;
        let view = self.comment_view(actor, &perms, &path, c.clone());
        if view.deleted {
            return Err(comment_not_found());
        }
        if !view.can_edit {
            return Err(crate::access::forbidden(
                "Only its author can change a comment (and only while they may comment on the page).".into(),
            ));
        }
        let mentions = self.mentions(&mut uow, text).await?;
        let now = uow.now();
        store::update(&mut uow, id, text, &rendered.html, &mentions, now).await?;
        uow.record(Event::CommentEdited {
            comment: id,
            page: c.page_id,
            path: path.clone(),
            mentions,
        })
        .await?;
        let row = store::get(&mut uow, id).await?.ok_or_else(comment_not_found)?;
        uow.commit().await?;
        Ok(self.comment_view(actor, &perms, &path, row))
    }

    /// Deletes one's own comment (or any, for those who manage the page).
    pub async fn delete_comment(&self, actor: &Actor, id: i64) -> AppResult<()> {
        let perms = self.permissions(actor).await?;
        let mut uow = self.begin(actor.user_id()).await?;
        let (c, path) = self.readable_comment(&perms, &mut uow, id).await?;
        let view = self.comment_view(actor, &perms, &path, c.clone());
        if view.deleted {
            return Err(comment_not_found());
        }
        if !view.can_delete {
            return Err(crate::access::forbidden(
                "Only its author, or someone who manages the page, can delete a comment.".into(),
            ));
        }
        let now = uow.now();
        store::delete(&mut uow, id, now).await?;
        uow.record(Event::CommentDeleted {
            comment: id,
            page: c.page_id,
            path,
        })
        .await?;
        uow.commit().await
    }

    /// Resolves (or reopens) the thread a comment belongs to.
    pub async fn resolve_comment(&self, actor: &Actor, id: i64, resolved: bool) -> AppResult<CommentView> {
        let perms = self.permissions(actor).await?;
        let mut uow = self.begin(actor.user_id()).await?;
        let (c, path) = self.readable_comment(&perms, &mut uow, id).await?;
        let thread = store::get(&mut uow, c.thread()).await?.ok_or_else(comment_not_found)?;
        let view = self.comment_view(actor, &perms, &path, thread.clone());
        if !view.can_resolve {
            return Err(crate::access::forbidden(
                "Only whoever started the thread, or someone who may edit the page, can resolve or reopen it.".into(),
            ));
        }
        if view.resolved != resolved {
            let now = uow.now();
            let by = if resolved { actor.user_id() } else { None };
            store::set_resolved(&mut uow, thread.id, by, now).await?;
            uow.record(Event::CommentResolved {
                thread: thread.id,
                page: c.page_id,
                path: path.clone(),
                resolved,
            })
            .await?;
        }
        let row = store::get(&mut uow, thread.id).await?.ok_or_else(comment_not_found)?;
        uow.commit().await?;
        Ok(self.comment_view(actor, &perms, &path, row))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_are_names_after_an_at_sign_that_starts_a_word() {
        assert_eq!(mentioned_names("@ann and @Bob."), vec!["ann", "bob"]);
        assert_eq!(mentioned_names("ask (@sam_x) or @sam_x again"), vec!["sam_x"]);
        assert_eq!(mentioned_names("mail ann@example.com"), Vec::<String>::new());
        assert_eq!(mentioned_names("@ alone, @@double"), Vec::<String>::new());
        assert_eq!(mentioned_names("@a.b-c, done"), vec!["a.b-c"]);
        // User names are ASCII: the name ends where they cannot go on.
        assert_eq!(mentioned_names("héllo @zoë"), vec!["zo"]);
    }
}
