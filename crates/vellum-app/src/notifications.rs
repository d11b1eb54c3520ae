//! Watchlists and the in-app notification centre.
//!
//! Every page change and comment enqueues a fan-out job in its own unit of
//! work (`uow.rs`), so a committed change always reaches its watchers and a
//! rolled-back one never does. The job (kind `notify.fanout`) finds who to
//! tell (watchers of the page and of every folder above it; for a comment,
//! also the thread's participants and whoever it mentions), keeps only
//! those who may read the page now, and writes one notification per
//! recipient and event (idempotent: the job may run twice). Lists check
//! again when read, so a page whose access was taken away since drops out
//! of its notifications at once.

use vellum_core::acl::Level;
use vellum_core::{Actor, Event, FolderPath, PageId, PagePath, Scopes, Timestamp, UserId};
use vellum_store::notifications::{self as store, NewNotification};
use vellum_store::{events, pages, users, Handle};

use crate::jobs::{Job, JobError, JobSpec};
use crate::{App, AppError, AppResult, Code, PageRequest, Paged};

pub(crate) const FANOUT: &str = "notify.fanout";
pub(crate) const NOTIFY_QUEUE: &str = "notify";

/// The job that tells watchers about `event`, or `None` for events that
/// notify nobody.
pub(crate) fn fanout_job(event: &Event, seq: i64) -> Option<JobSpec> {
    match event {
        Event::PageCreated { .. }
        | Event::PageEdited { .. }
        | Event::PageReverted { .. }
        | Event::PageMoved { .. }
        | Event::PageRestored { .. }
        | Event::CommentAdded { .. } => Some(
            JobSpec::new(FANOUT, serde_json::json!({ "seq": seq }))
                .queue(NOTIFY_QUEUE)
                .attempts(5),
        ),
        _ => None,
    }
}

/// The folders whose watchers hear of a change at `path`: the whole wiki
/// (`""`) and each folder down to the page's own.
pub(crate) fn watched_folders(path: &PagePath) -> Vec<String> {
    std::iter::once(String::new())
        .chain(path.folder().lineage().into_iter().map(|f| f.as_str().to_owned()))
        .collect()
}

/// What a user watches about one page.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WatchState {
    /// The page itself.
    pub page: bool,
    /// The nearest watched folder at or above it (`""`: the whole wiki).
    pub folder: Option<String>,
}

/// A notification, as its recipient sees it.
#[derive(Debug, Clone)]
pub struct NotificationView {
    pub id: i64,
    /// `edit`, `comment`, `reply` or `mention`.
    pub kind: String,
    pub path: PagePath,
    pub title: String,
    pub actor: Option<String>,
    pub actor_display: Option<String>,
    pub comment_id: Option<i64>,
    pub created_at: Timestamp,
    pub read: bool,
}

/// A page of notifications, with the unread count of all of them.
#[derive(Debug, Clone)]
pub struct Notifications {
    pub page: Paged<NotificationView>,
    pub unread: i64,
}

fn signed_in(actor: &Actor) -> AppResult<UserId> {
    actor.user_id().ok_or_else(crate::access::sign_in)
}

impl App {
    pub(crate) fn register_notification_jobs(&self) {
        self.register_job(FANOUT, NOTIFY_QUEUE, |app: App, job: Job| async move {
            let seq = job.payload["seq"]
                .as_i64()
                .ok_or_else(|| JobError::Permanent(format!("the payload names no event: {}", job.payload)))?;
            app.fan_out(seq).await.map(|_| ()).map_err(JobError::from)
        });
    }

    /// Writes the notifications of event `seq` (see the module comment).
    pub(crate) async fn fan_out(&self, seq: i64) -> AppResult<u64> {
        let mut uow = self.begin(None).await?;
        let Some((event, actor)) = events::by_seq(&mut uow, seq).await? else {
            return Ok(0); // purged with its page since
        };
        let (page_id, comment) = match &event {
            Event::PageCreated { page, .. }
            | Event::PageEdited { page, .. }
            | Event::PageReverted { page, .. }
            | Event::PageMoved { page, .. }
            | Event::PageRestored { page, .. } => (*page, None),
            Event::CommentAdded {
                page,
                comment,
                thread,
                mentions,
                ..
            } => (*page, Some((*comment, *thread, mentions.clone()))),
            _ => return Ok(0),
        };
        let Some(page) = pages::by_id(&mut uow, page_id)
            .await?
            .filter(|p| p.deleted_at.is_none())
        else {
            return Ok(0);
        };
        let now = uow.now();
        if let (Event::PageCreated { .. }, Some(author)) = (&event, actor) {
            if store::watch_created(&mut uow, author).await? {
                store::watch_page(&mut uow, author, page.id, now).await?;
                uow.record(Event::WatchChanged {
                    user: author,
                    target: page.path.to_string(),
                    folder: false,
                    watching: true,
                })
                .await?;
            }
        }
        // Who hears, and as what (a mention outranks a reply, which
        // outranks a comment on a watched page).
        let mut recipients: Vec<(UserId, &'static str)> = Vec::new();
        let mut add = |user: UserId, kind: &'static str| match recipients.iter_mut().find(|(u, _)| *u == user) {
            Some(_) => {}
            None => recipients.push((user, kind)),
        };
        let watchers = store::watchers(&mut uow, page.id, &watched_folders(&page.path)).await?;
        match &comment {
            None => watchers.into_iter().for_each(|u| add(u, "edit")),
            Some((_, thread, mentions)) => {
                mentions.iter().for_each(|u| add(*u, "mention"));
                if let Some(t) = thread {
                    store::thread_participants(&mut uow, *t)
                        .await?
                        .into_iter()
                        .for_each(|u| add(u, "reply"));
                }
                watchers.into_iter().for_each(|u| add(u, "comment"));
            }
        }
        let mut written = 0;
        for (user, kind) in recipients {
            if Some(user) == actor || !self.may_read_as(&mut uow, user, &page.path).await? {
                continue;
            }
            let n = NewNotification {
                user,
                kind,
                page: page.id,
                actor,
                comment: comment.as_ref().map(|(c, _, _)| *c),
                event_seq: seq,
            };
            if store::insert(&mut uow, &n, now).await? {
                written += 1;
                self.queue_mail(&mut uow, user).await?;
            }
        }
        uow.commit().await?;
        Ok(written)
    }

    /// Whether the (enabled) account `user` may read `path` now.
    pub(crate) async fn may_read_as(&self, h: &mut impl Handle, user: UserId, path: &PagePath) -> AppResult<bool> {
        let Some(u) = users::by_id(h, user).await?.filter(|u| u.disabled_at.is_none()) else {
            return Ok(false);
        };
        let actor = Actor::User {
            id: u.id,
            name: u.username,
            role: u.role,
            scopes: Scopes::ALL,
        };
        Ok(self.permissions(&actor).await?.can(Level::Read, path.as_str()))
    }

    /// Watches (or stops watching) a page the actor may read.
    pub async fn watch_page(&self, actor: &Actor, raw_path: &str, on: bool) -> AppResult<WatchState> {
        let user = signed_in(actor)?;
        let path = PagePath::parse(raw_path)?;
        let perms = self.permissions(actor).await?;
        let mut uow = self.begin(Some(user)).await?;
        let page = self.live_page(actor, &perms, &mut uow, &path).await?;
        let now = uow.now();
        if on {
            store::watch_page(&mut uow, user, page.id, now).await?;
        } else {
            store::unwatch_page(&mut uow, user, page.id).await?;
        }
        uow.record(Event::WatchChanged {
            user,
            target: page.path.to_string(),
            folder: false,
            watching: on,
        })
        .await?;
        let state = self.watch_state_of(&mut uow, user, page.id, &page.path).await?;
        uow.commit().await?;
        Ok(state)
    }

    /// Watches (or stops watching) a folder and everything below it; `""`
    /// is the whole wiki. The actor must be able to read something there.
    pub async fn watch_folder(&self, actor: &Actor, raw_folder: &str, on: bool) -> AppResult<bool> {
        let user = signed_in(actor)?;
        let folder = FolderPath::parse(raw_folder.trim_matches('/'))?;
        let perms = self.permissions(actor).await?;
        self.need_read_within(actor, &perms, &folder)?;
        let mut uow = self.begin(Some(user)).await?;
        let now = uow.now();
        if on {
            store::watch_folder(&mut uow, user, folder.as_str(), now).await?;
        } else {
            store::unwatch_folder(&mut uow, user, folder.as_str()).await?;
        }
        uow.record(Event::WatchChanged {
            user,
            target: folder.as_str().to_owned(),
            folder: true,
            watching: on,
        })
        .await?;
        let watching = store::watches_folder(&mut uow, user, folder.as_str()).await?;
        uow.commit().await?;
        Ok(watching)
    }

    /// Whether the actor watches the folder itself (`""`: the whole wiki).
    pub async fn folder_watched(&self, actor: &Actor, raw_folder: &str) -> AppResult<bool> {
        let user = signed_in(actor)?;
        let folder = FolderPath::parse(raw_folder.trim_matches('/'))?;
        let perms = self.permissions(actor).await?;
        self.need_read_within(actor, &perms, &folder)?;
        let mut conn = self.0.store.read().await?;
        Ok(store::watches_folder(&mut conn, user, folder.as_str()).await?)
    }

    pub(crate) async fn watch_state_of(
        &self,
        h: &mut impl Handle,
        user: UserId,
        page: PageId,
        path: &PagePath,
    ) -> AppResult<WatchState> {
        let (page, folder) = store::watching(h, user, page, &watched_folders(path)).await?;
        Ok(WatchState { page, folder })
    }

    /// What the actor watches about the page (nothing for visitors).
    pub async fn watch_state(&self, actor: &Actor, raw_path: &str) -> AppResult<WatchState> {
        let Some(user) = actor.user_id() else {
            return Ok(WatchState::default());
        };
        let path = PagePath::parse(raw_path)?;
        let perms = self.permissions(actor).await?;
        let mut conn = self.0.store.read().await?;
        let page = self.live_page(actor, &perms, &mut conn, &path).await?;
        self.watch_state_of(&mut conn, user, page.id, &page.path).await
    }

    /// The actor's notifications, newest first, about pages they may read.
    pub async fn notifications(&self, actor: &Actor, unread_only: bool, req: &PageRequest) -> AppResult<Notifications> {
        let user = signed_in(actor)?;
        let perms = self.permissions(actor).await?;
        let visible = crate::access::visible(&perms);
        let mut conn = self.0.store.read().await?;
        let rows = store::list(&mut conn, user, visible, unread_only, req.id_cursor()?, req.fetch()?).await?;
        let unread = store::unread(&mut conn, user, visible).await?;
        let items = rows
            .into_iter()
            .map(|n| NotificationView {
                id: n.id,
                kind: n.kind,
                path: n.path,
                title: n.title,
                actor: n.actor_name,
                actor_display: n.actor_display,
                comment_id: n.comment_id,
                created_at: n.created_at,
                read: n.read_at.is_some(),
            })
            .collect();
        Ok(Notifications {
            page: Paged::from_rows(items, req.limit()?, |n: &NotificationView| n.id.to_string()),
            unread,
        })
    }

    /// The unread count for the page header (signed in; cached for a few
    /// seconds per user, and forgotten when they mark notifications read).
    pub async fn unread_badge(&self, actor: &Actor) -> AppResult<i64> {
        use crate::ports::Cache as _;
        let Some(user) = actor.user_id() else {
            return Ok(0);
        };
        if let Some(n) = self.0.unread.get(&user) {
            return Ok(n);
        }
        let perms = self.permissions(actor).await?;
        let mut conn = self.0.store.read().await?;
        let n = store::unread(&mut conn, user, crate::access::visible(&perms)).await?;
        self.0.unread.insert(user, n);
        Ok(n)
    }

    /// Marks notifications read (`None`: all of them); answers how many
    /// are still unread.
    pub async fn mark_notifications_read(&self, actor: &Actor, ids: Option<&[i64]>) -> AppResult<i64> {
        let user = signed_in(actor)?;
        if ids.is_some_and(|i| i.len() > 1000) {
            return Err(AppError::invalid(
                Code::InvalidRequest,
                "ids",
                "Mark at most 1,000 notifications at once, or all of them with {\"all\": true}.",
            ));
        }
        let perms = self.permissions(actor).await?;
        let mut uow = self.begin(Some(user)).await?;
        let now = uow.now();
        store::mark_read(&mut uow, user, ids, now).await?;
        let unread = store::unread(&mut uow, user, crate::access::visible(&perms)).await?;
        uow.commit().await?;
        {
            use crate::ports::Cache as _;
            self.0.unread.insert(user, unread);
        }
        Ok(unread)
    }

    /// Whether the actor watches the pages they create.
    pub async fn watch_created(&self, actor: &Actor) -> AppResult<bool> {
        let user = signed_in(actor)?;
        let mut conn = self.0.store.read().await?;
        Ok(store::watch_created(&mut conn, user).await?)
    }

    pub async fn set_watch_created(&self, actor: &Actor, on: bool) -> AppResult<bool> {
        let user = signed_in(actor)?;
        let mut uow = self.begin(Some(user)).await?;
        store::set_watch_created(&mut uow, user, on).await?;
        uow.commit().await?;
        Ok(on)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_is_heard_in_the_whole_wiki_and_each_folder_above_it() {
        let p = PagePath::parse("eng/ops/deploy").unwrap();
        assert_eq!(watched_folders(&p), vec!["", "eng", "eng/ops"]);
        let top = PagePath::parse("home").unwrap();
        assert_eq!(watched_folders(&top), vec![""]);
    }
}
