//! Page verification: which pages are still true.
//!
//! A page or a folder can have a review policy: an owner and an interval in
//! days. A page's own policy wins; otherwise the nearest folder at or above
//! it with one (`""`, the whole wiki, last). A covered page is due for
//! review `interval` days after it was last verified (or, never verified,
//! after it was created): from [`REVIEW_NOTICE_DAYS`] before that day its
//! state is `due` and its owner is reminded once; from that day on it is
//! `overdue` (the page shows a "needs review" banner) and the owner is
//! reminded once more. Marking the page verified (its owner, or whoever
//! manages it; an edit saved with "verified" ticked counts) starts the
//! interval again, and is kept in the page's review history and the event
//! log. Reminders are notifications of kind `review` (and mail), sent by
//! the hourly `review.remind` job, each once per page, due date and stage.
//!
//! Every read here goes through the reader's permissions: the report lists
//! only pages the reader may read, filtered in SQL.

use std::collections::BTreeMap;

use vellum_core::acl::Level;
use vellum_core::acl::Permissions;
use vellum_core::{Actor, Event, FolderPath, PageId, PagePath, Timestamp, UserId};
use vellum_store::pages::PageRecord;
use vellum_store::reviews::{self as store, PolicyRecord, VerificationRecord};
use vellum_store::{pages, users, Handle, Visible};

use crate::jobs::{Job, JobError};
use crate::notifications::{watched_folders, NOTIFY_QUEUE};
use crate::{App, AppError, AppResult, Code, PageRequest, Paged};

/// How many days before a review is due its page counts as `due` and its
/// owner is reminded (for intervals under four weeks, a quarter of the
/// interval, so a weekly review is not always due).
pub const REVIEW_NOTICE_DAYS: i64 = 7;
const MAX_INTERVAL_DAYS: i64 = 3650;
const DAY_MS: i64 = 86_400_000;
/// How many verifications a page's review history shows.
const HISTORY: i64 = 50;
/// Reminders written per transaction.
const REMIND_BATCH: usize = 200;

pub(crate) const REMIND: &str = "review.remind";

/// Where a review is: not yet due, due soon (within the notice days), or
/// past its day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ReviewState {
    Current,
    Due,
    Overdue,
}

impl ReviewState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Current => "current",
            Self::Due => "due",
            Self::Overdue => "overdue",
        }
    }
}

/// A review policy, as its readers see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewPolicy {
    /// `page` (the page's own) or `folder`.
    pub scope: &'static str,
    /// The page's path, or the folder's (`""`: the whole wiki).
    pub path: String,
    /// The owner's user name (`None`: the owner's account was deleted).
    pub owner: Option<String>,
    pub owner_display: Option<String>,
    pub interval_days: i64,
    pub updated_at: Timestamp,
}

/// One "mark as verified".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerificationView {
    pub by: Option<String>,
    pub by_display: Option<String>,
    pub at: Timestamp,
    pub revision: vellum_core::RevisionId,
    /// Verified by saving an edit with "verified" ticked.
    pub with_edit: bool,
}

/// A page's review: its policy (if any covers it), where it stands, its
/// history, and what the reader may do about it.
#[derive(Debug, Clone)]
pub struct PageReview {
    pub path: PagePath,
    pub title: String,
    pub policy: Option<ReviewPolicy>,
    /// The page's own policy, when it has one (it may differ from the
    /// folder policy a manager is about to replace).
    pub own_policy: bool,
    pub last: Option<VerificationView>,
    pub due_at: Option<Timestamp>,
    pub state: Option<ReviewState>,
    pub history: Vec<VerificationView>,
    pub can_verify: bool,
    pub can_set: bool,
}

/// One page in the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewRow {
    pub page_id: PageId,
    pub path: PagePath,
    pub title: String,
    pub folder: String,
    pub owner: Option<String>,
    pub owner_id: Option<UserId>,
    pub owner_display: Option<String>,
    pub interval_days: i64,
    pub policy_scope: &'static str,
    pub policy_path: String,
    pub verified_at: Option<Timestamp>,
    pub verified_by: Option<String>,
    pub due_at: Timestamp,
    pub state: ReviewState,
}

/// Counts by state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReviewTally {
    pub current: u64,
    pub due: u64,
    pub overdue: u64,
    pub never: u64,
    pub total: u64,
}

impl ReviewTally {
    fn add(&mut self, r: &ReviewRow) {
        match r.state {
            ReviewState::Current => self.current += 1,
            ReviewState::Due => self.due += 1,
            ReviewState::Overdue => self.overdue += 1,
        }
        if r.verified_at.is_none() {
            self.never += 1;
        }
        self.total += 1;
    }
}

/// What the report asks for.
#[derive(Debug, Clone, Default)]
pub struct ReviewQuery {
    /// `due`, `overdue`, `never`, `current`, `attention` (due, overdue or
    /// never verified) or `all` (the default).
    pub state: Option<String>,
    /// Only pages in this folder and below.
    pub folder: Option<String>,
    /// Only pages this user owns.
    pub owner: Option<String>,
}

/// The report: the pages asked for (a page of them), and counts over
/// every page matching the folder and owner filters, in all, per folder
/// and per owner.
#[derive(Debug, Clone)]
pub struct ReviewReport {
    pub page: Paged<ReviewRow>,
    pub tally: ReviewTally,
    pub by_folder: Vec<(String, ReviewTally)>,
    /// By owner user name (`""`: no owner).
    pub by_owner: Vec<(String, ReviewTally)>,
    pub as_of: Timestamp,
}

fn policy_view(p: &PolicyRecord, path: &PagePath) -> ReviewPolicy {
    ReviewPolicy {
        scope: if p.page_id.is_some() { "page" } else { "folder" },
        path: match &p.folder {
            Some(f) => f.clone(),
            None => path.to_string(),
        },
        owner: p.owner_name.clone(),
        owner_display: p.owner_display.clone(),
        interval_days: p.interval_days,
        updated_at: p.updated_at,
    }
}

fn verification_view(v: &VerificationRecord) -> VerificationView {
    VerificationView {
        by: v.user_name.clone(),
        by_display: v.user_display.clone(),
        at: v.verified_at,
        revision: v.revision,
        with_edit: v.with_edit,
    }
}

/// What a page's review state is computed from: the policies that may
/// govern it and its latest verifications, newest first.
#[derive(Debug, Clone, Default)]
pub(crate) struct ReviewFacts {
    pub policies: Vec<PolicyRecord>,
    pub history: Vec<VerificationRecord>,
}

pub(crate) async fn review_facts(h: &mut impl Handle, page: &PageRecord, history: i64) -> AppResult<ReviewFacts> {
    Ok(ReviewFacts {
        policies: store::policies_for(h, page.id, &watched_folders(&page.path)).await?,
        history: store::verifications(h, page.id, history).await?,
    })
}

/// The policy that governs a page among those that may: its own, else the
/// nearest folder's.
fn governing<'a>(policies: impl IntoIterator<Item = &'a PolicyRecord>, page: PageId) -> Option<&'a PolicyRecord> {
    policies
        .into_iter()
        .filter(|p| p.page_id.is_none_or(|id| id == page))
        .max_by_key(|p| match (&p.page_id, &p.folder) {
            (Some(_), _) => usize::MAX,
            (None, Some(f)) if f.is_empty() => 0,
            (None, Some(f)) => f.len() + 1,
            (None, None) => 0,
        })
}

/// When a review falls due, and where it stands at `now`.
fn due(created: Timestamp, interval_days: i64, last: Option<Timestamp>, now: Timestamp) -> (Timestamp, ReviewState) {
    let basis = last.unwrap_or(created).as_millis();
    let due_at = basis.saturating_add(interval_days.saturating_mul(DAY_MS));
    let notice = (REVIEW_NOTICE_DAYS * DAY_MS).min(interval_days.saturating_mul(DAY_MS) / 4);
    let state = if now.as_millis() >= due_at {
        ReviewState::Overdue
    } else if now.as_millis() >= due_at - notice {
        ReviewState::Due
    } else {
        ReviewState::Current
    };
    (Timestamp::from_millis(due_at), state)
}

/// Whether folder `f` (`""`: the whole wiki) holds the page at `path`.
fn folder_holds(f: &str, path: &PagePath) -> bool {
    f.is_empty() || path.as_str().strip_prefix(f).is_some_and(|rest| rest.starts_with('/'))
}

fn check_interval(days: i64) -> AppResult<i64> {
    if (1..=MAX_INTERVAL_DAYS).contains(&days) {
        Ok(days)
    } else {
        Err(AppError::invalid(
            Code::InvalidReview,
            "interval_days",
            format!("A review interval of {days} days is out of range. Choose 1 to {MAX_INTERVAL_DAYS} days (90 is a common choice)."),
        ))
    }
}

fn parse_folder(raw: &str) -> AppResult<FolderPath> {
    Ok(FolderPath::parse(raw.trim_matches('/'))?)
}

fn cannot_set(actor: &Actor) -> AppError {
    match actor {
        Actor::Anonymous => crate::access::sign_in(),
        Actor::User { .. } => crate::access::forbidden(
            "Only administrators, and those who manage a page or folder, can set its review owner and interval.".into(),
        ),
    }
}

impl App {
    pub(crate) fn register_review_jobs(&self) {
        self.register_job(REMIND, NOTIFY_QUEUE, |app: App, _job: Job| async move {
            let sent = app.send_review_reminders().await.map_err(JobError::from)?;
            if sent > 0 {
                tracing::info!(reminders = sent, "review reminders sent");
            }
            Ok(())
        });
    }

    /// The owner named in a policy change: an enabled account that may
    /// read `node` (a page path, or a folder's).
    async fn review_owner(&self, h: &mut impl Handle, raw: &str, node: &str, page: bool) -> AppResult<UserId> {
        let name = crate::validate::single_line(raw.trim(), "owner")?;
        let user = users::by_username_key(h, &name.to_lowercase())
            .await?
            .filter(|u| u.disabled_at.is_none() && u.username != crate::PLACEHOLDER_USERNAME)
            .ok_or_else(|| {
                AppError::invalid(
                    Code::InvalidReview,
                    "owner",
                    format!("There is no active account “{name}” to own the review. Name an existing user."),
                )
            })?;
        let actor = Actor::User {
            id: user.id,
            name: user.username.clone(),
            role: user.role,
            scopes: vellum_core::Scopes::ALL,
        };
        let perms = self.permissions(&actor).await?;
        let reads = if page {
            perms.can(Level::Read, node)
        } else {
            perms.may_read_within(&parse_folder(node)?)
        };
        if !reads {
            return Err(AppError::invalid(
                Code::InvalidReview,
                "owner",
                format!("{} may not read this, so cannot review it. Give them access first, or name someone who can read it.", user.username),
            ));
        }
        Ok(user.id)
    }

    /// The page's review as `actor` sees it (see the module comment).
    pub async fn page_review(&self, actor: &Actor, raw_path: &str) -> AppResult<PageReview> {
        let path = PagePath::parse(raw_path)?;
        let perms = self.permissions(actor).await?;
        let mut conn = self.0.store.read().await?;
        let page = self.live_page(actor, &perms, &mut conn, &path).await?;
        self.review_of(&mut conn, actor, &perms, &page, HISTORY).await
    }

    /// The page's review without its history (the latest verification
    /// only): what every page view shows.
    pub async fn page_review_summary(&self, actor: &Actor, raw_path: &str) -> AppResult<PageReview> {
        let path = PagePath::parse(raw_path)?;
        let perms = self.permissions(actor).await?;
        let mut conn = self.0.store.read().await?;
        let page = self.live_page(actor, &perms, &mut conn, &path).await?;
        self.review_of(&mut conn, actor, &perms, &page, 1).await
    }

    async fn review_of(
        &self,
        h: &mut impl Handle,
        actor: &Actor,
        perms: &Permissions,
        page: &PageRecord,
        history: i64,
    ) -> AppResult<PageReview> {
        let facts = review_facts(h, page, history).await?;
        Ok(self.review_from(&facts, actor, perms, page))
    }

    /// A page's review state for `actor`, from what was read about it
    /// (no I/O: page views keep the facts in memory).
    pub(crate) fn review_from(
        &self,
        facts: &ReviewFacts,
        actor: &Actor,
        perms: &Permissions,
        page: &PageRecord,
    ) -> PageReview {
        let ReviewFacts { policies, history } = facts;
        let policy = governing(policies, page.id);
        let last = history.first();
        let (due_at, state) = match policy {
            Some(p) => {
                let (d, s) = due(
                    page.created_at,
                    p.interval_days,
                    last.map(|v| v.verified_at),
                    self.now(),
                );
                (Some(d), Some(s))
            }
            None => (None, None),
        };
        let manages = perms.can(Level::Manage, page.path.as_str());
        let owns = policy.is_some_and(|p| p.owner_id.is_some() && p.owner_id == actor.user_id());
        PageReview {
            path: page.path.clone(),
            title: page.title.to_string(),
            policy: policy.map(|p| policy_view(p, &page.path)),
            own_policy: policies.iter().any(|p| p.page_id == Some(page.id)),
            last: last.map(verification_view),
            due_at,
            state,
            history: history.iter().map(verification_view).collect(),
            can_verify: policy.is_some() && (owns || manages),
            can_set: manages && actor.user_id().is_some(),
        }
    }

    /// Sets the page's own review policy (`owner` defaults to the actor).
    pub async fn set_page_review(
        &self,
        actor: &Actor,
        raw_path: &str,
        owner: Option<&str>,
        interval_days: i64,
    ) -> AppResult<PageReview> {
        let path = PagePath::parse(raw_path)?;
        let perms = self.permissions(actor).await?;
        let mut uow = self.begin(actor.user_id()).await?;
        let page = self.live_page(actor, &perms, &mut uow, &path).await?;
        if !perms.can(Level::Manage, page.path.as_str()) || actor.user_id().is_none() {
            return Err(cannot_set(actor));
        }
        let days = check_interval(interval_days)?;
        let owner_name = owner
            .map(str::to_owned)
            .or_else(|| actor.name().map(str::to_owned))
            .unwrap_or_default();
        let owner = self
            .review_owner(&mut uow, &owner_name, page.path.as_str(), true)
            .await?;
        let now = uow.now();
        store::set_page_policy(&mut uow, page.id, Some(owner), days, now).await?;
        uow.record(Event::ReviewPolicySet {
            page: Some(page.id),
            path: page.path.to_string(),
            owner: Some(owner),
            interval_days: u32::try_from(days).ok(),
        })
        .await?;
        let review = self.review_of(&mut uow, actor, &perms, &page, HISTORY).await?;
        uow.commit().await?;
        Ok(review)
    }

    /// Removes the page's own review policy (a folder's may still cover it).
    pub async fn clear_page_review(&self, actor: &Actor, raw_path: &str) -> AppResult<PageReview> {
        let path = PagePath::parse(raw_path)?;
        let perms = self.permissions(actor).await?;
        let mut uow = self.begin(actor.user_id()).await?;
        let page = self.live_page(actor, &perms, &mut uow, &path).await?;
        if !perms.can(Level::Manage, page.path.as_str()) || actor.user_id().is_none() {
            return Err(cannot_set(actor));
        }
        if store::delete_page_policy(&mut uow, page.id).await? {
            uow.record(Event::ReviewPolicySet {
                page: Some(page.id),
                path: page.path.to_string(),
                owner: None,
                interval_days: None,
            })
            .await?;
        }
        let review = self.review_of(&mut uow, actor, &perms, &page, HISTORY).await?;
        uow.commit().await?;
        Ok(review)
    }

    /// A folder's own review policy (`""`: the whole wiki), if it has one.
    pub async fn folder_review(&self, actor: &Actor, raw_folder: &str) -> AppResult<Option<ReviewPolicy>> {
        let folder = parse_folder(raw_folder)?;
        let perms = self.permissions(actor).await?;
        self.need_read_within(actor, &perms, &folder)?;
        let mut conn = self.0.store.read().await?;
        Ok(store::folder_policy(&mut conn, folder.as_str())
            .await?
            .map(|p| ReviewPolicy {
                scope: "folder",
                path: folder.as_str().to_owned(),
                owner: p.owner_name.clone(),
                owner_display: p.owner_display.clone(),
                interval_days: p.interval_days,
                updated_at: p.updated_at,
            }))
    }

    /// Sets (`Some`) or removes (`None`) a folder's review policy; it
    /// covers every page below that has none of its own.
    pub async fn set_folder_review(
        &self,
        actor: &Actor,
        raw_folder: &str,
        policy: Option<(Option<&str>, i64)>,
    ) -> AppResult<Option<ReviewPolicy>> {
        let folder = parse_folder(raw_folder)?;
        let perms = self.permissions(actor).await?;
        if actor.user_id().is_none() || self.need_manage(actor, &perms, folder.as_str()).is_err() {
            if !perms.may_read_within(&folder) {
                self.need_read_within(actor, &perms, &folder)?;
            }
            return Err(cannot_set(actor));
        }
        let mut uow = self.begin(actor.user_id()).await?;
        let (owner, days) = match policy {
            Some((owner, days)) => {
                let days = check_interval(days)?;
                let owner_name = owner
                    .map(str::to_owned)
                    .or_else(|| actor.name().map(str::to_owned))
                    .unwrap_or_default();
                let owner = self.review_owner(&mut uow, &owner_name, folder.as_str(), false).await?;
                let now = uow.now();
                store::set_folder_policy(&mut uow, folder.as_str(), Some(owner), days, now).await?;
                (Some(owner), Some(days))
            }
            None => {
                if !store::delete_folder_policy(&mut uow, folder.as_str()).await? {
                    return Ok(None);
                }
                (None, None)
            }
        };
        uow.record(Event::ReviewPolicySet {
            page: None,
            path: folder.as_str().to_owned(),
            owner,
            interval_days: days.and_then(|d| u32::try_from(d).ok()),
        })
        .await?;
        uow.commit().await?;
        self.folder_review(actor, folder.as_str()).await
    }

    /// Marks the page verified as of its current revision.
    pub async fn verify_page(&self, actor: &Actor, raw_path: &str) -> AppResult<PageReview> {
        let path = PagePath::parse(raw_path)?;
        let perms = self.permissions(actor).await?;
        let mut uow = self.begin(actor.user_id()).await?;
        let page = self.live_page(actor, &perms, &mut uow, &path).await?;
        self.record_verification(&mut uow, actor, &perms, &page, page.current_revision, false)
            .await?;
        let review = self.review_of(&mut uow, actor, &perms, &page, HISTORY).await?;
        uow.commit().await?;
        Ok(review)
    }

    /// Checks that `actor` may verify `page`, then records it (the save of
    /// an edit with "verified" ticked comes here too, in its own unit of
    /// work).
    pub(crate) async fn record_verification(
        &self,
        uow: &mut crate::uow::UnitOfWork,
        actor: &Actor,
        perms: &Permissions,
        page: &PageRecord,
        revision: vellum_core::RevisionId,
        with_edit: bool,
    ) -> AppResult<()> {
        let review = self.review_of(uow, actor, perms, page, 1).await?;
        if review.policy.is_none() {
            return Err(AppError::new(
                Code::NoReview,
                format!(
                    "The page “{}” has no review owner or interval, so there is nothing to verify. Someone who manages it can set one.",
                    page.path
                ),
            ));
        }
        if !review.can_verify {
            return Err(crate::access::forbidden(
                "Only the page's review owner, or someone who manages the page, can mark it verified.".into(),
            ));
        }
        let now = uow.now();
        store::insert_verification(uow, page.id, actor.user_id(), revision, with_edit, now).await?;
        uow.record(Event::PageVerified {
            page: page.id,
            path: page.path.clone(),
            revision,
            with_edit,
        })
        .await?;
        Ok(())
    }

    /// Every covered page the reader may read, with its review state.
    async fn review_rows(&self, h: &mut impl Handle, visible: Visible<'_>) -> AppResult<Vec<ReviewRow>> {
        let pages = store::covered_pages(h, visible).await?;
        if pages.is_empty() {
            return Ok(Vec::new());
        }
        let policies = store::all_policies(h).await?;
        let by_page: BTreeMap<PageId, &PolicyRecord> =
            policies.iter().filter_map(|p| p.page_id.map(|id| (id, p))).collect();
        let folders: Vec<&PolicyRecord> = policies.iter().filter(|p| p.folder.is_some()).collect();
        let latest = store::latest_verifications(h).await?;
        let now = self.now();
        let mut rows = Vec::with_capacity(pages.len());
        for page in pages {
            let policy = match by_page.get(&page.id) {
                Some(p) => Some(*p),
                None => governing(
                    folders
                        .iter()
                        .copied()
                        .filter(|p| p.folder.as_deref().is_some_and(|f| folder_holds(f, &page.path))),
                    page.id,
                ),
            };
            let Some(policy) = policy else { continue };
            let last = latest.get(&page.id);
            let (due_at, state) = due(page.created_at, policy.interval_days, last.map(|v| v.verified_at), now);
            let view = policy_view(policy, &page.path);
            rows.push(ReviewRow {
                page_id: page.id,
                owner_id: policy.owner_id,
                folder: page.path.folder().as_str().to_owned(),
                title: page.title.to_string(),
                owner: policy.owner_name.clone(),
                owner_display: policy.owner_display.clone(),
                interval_days: policy.interval_days,
                policy_scope: view.scope,
                policy_path: view.path,
                verified_at: last.map(|v| v.verified_at),
                verified_by: last.and_then(|v| v.user_name.clone()),
                due_at,
                state,
                path: page.path,
            });
        }
        rows.sort_by(|a, b| (a.due_at, a.path.as_str()).cmp(&(b.due_at, b.path.as_str())));
        Ok(rows)
    }

    /// The review report (see [`ReviewQuery`]), only of pages the actor may
    /// read, soonest due first.
    pub async fn review_report(&self, actor: &Actor, q: &ReviewQuery, req: &PageRequest) -> AppResult<ReviewReport> {
        let perms = self.permissions(actor).await?;
        self.need_any_read(actor, &perms)?;
        let state = q
            .state
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .unwrap_or("all");
        let keep: fn(&ReviewRow) -> bool = match state {
            "all" => |_| true,
            "due" => |r| r.state == ReviewState::Due,
            "overdue" => |r| r.state == ReviewState::Overdue,
            "current" => |r| r.state == ReviewState::Current,
            "never" => |r| r.verified_at.is_none(),
            "attention" => |r| r.state != ReviewState::Current || r.verified_at.is_none(),
            other => {
                return Err(AppError::invalid(
                    Code::InvalidReview,
                    "state",
                    format!(
                        "There is no review state “{}”. Use due, overdue, never, current, attention or all.",
                        other.chars().take(40).collect::<String>()
                    ),
                ))
            }
        };
        let folder = match q.folder.as_deref().map(str::trim).filter(|f| !f.is_empty()) {
            Some(f) => Some(parse_folder(f)?),
            None => None,
        };
        let owner = q
            .owner
            .as_deref()
            .map(str::trim)
            .filter(|o| !o.is_empty())
            .map(str::to_lowercase);
        let limit = req.limit()?;
        let after = match req.text_cursor()? {
            Some(c) => Some(
                c.split_once(':')
                    .and_then(|(ms, path)| Some((ms.parse::<i64>().ok()?, path.to_owned())))
                    .ok_or_else(|| {
                        AppError::invalid(
                            Code::InvalidRequest,
                            "cursor",
                            "The cursor is not one this list gave out. Start again without it.",
                        )
                    })?,
            ),
            None => None,
        };
        let mut conn = self.0.store.read().await?;
        let rows = self.review_rows(&mut conn, crate::access::visible(&perms)).await?;
        drop(conn);
        let mut tally = ReviewTally::default();
        let mut by_folder: BTreeMap<String, ReviewTally> = BTreeMap::new();
        let mut by_owner: BTreeMap<String, ReviewTally> = BTreeMap::new();
        let mut items = Vec::new();
        for r in rows {
            if folder.as_ref().is_some_and(|f| !folder_holds(f.as_str(), &r.path)) {
                continue;
            }
            if owner
                .as_ref()
                .is_some_and(|o| r.owner.as_deref().map(str::to_lowercase).as_ref() != Some(o))
            {
                continue;
            }
            tally.add(&r);
            by_folder.entry(r.folder.clone()).or_default().add(&r);
            by_owner.entry(r.owner.clone().unwrap_or_default()).or_default().add(&r);
            let past_cursor = after
                .as_ref()
                .is_none_or(|(ms, path)| (r.due_at.as_millis(), r.path.as_str()) > (*ms, path.as_str()));
            if keep(&r) && past_cursor && items.len() <= limit {
                items.push(r);
            }
        }
        Ok(ReviewReport {
            page: Paged::from_rows(items, limit, |r: &ReviewRow| {
                format!("{}:{}", r.due_at.as_millis(), r.path)
            }),
            tally,
            by_folder: by_folder.into_iter().collect(),
            by_owner: by_owner.into_iter().collect(),
            as_of: self.now(),
        })
    }

    /// Every row of the report (for CSV export), with the same filters.
    pub async fn review_report_all(&self, actor: &Actor, q: &ReviewQuery) -> AppResult<Vec<ReviewRow>> {
        let mut out = Vec::new();
        let mut req = PageRequest {
            cursor: None,
            limit: Some(PageRequest::MAX_LIMIT),
        };
        loop {
            let report = self.review_report(actor, q, &req).await?;
            out.extend(report.page.items);
            match report.page.next_cursor {
                Some(c) => req.cursor = Some(c),
                None => return Ok(out),
            }
        }
    }

    /// Reminds owners of reviews that are coming up or due, once per page,
    /// due date and stage; answers how many reminders went out.
    pub async fn send_review_reminders(&self) -> AppResult<u64> {
        let rows: Vec<(PageId, UserId, Timestamp, &str)> = {
            let mut conn = self.0.store.read().await?;
            self.review_rows(&mut conn, Visible::All)
                .await?
                .into_iter()
                .filter_map(|r| {
                    let stage = match r.state {
                        ReviewState::Current => return None,
                        ReviewState::Due => "ahead",
                        ReviewState::Overdue => "due",
                    };
                    Some((r.page_id, r.owner_id?, r.due_at, stage))
                })
                .collect()
        };
        let mut sent = 0;
        for batch in rows.chunks(REMIND_BATCH) {
            let mut uow = self.begin(None).await?;
            let now = uow.now();
            for &(page_id, owner, due_at, stage) in batch {
                let Some(page) = pages::by_id(&mut uow, page_id)
                    .await?
                    .filter(|p| p.deleted_at.is_none())
                else {
                    continue;
                };
                if !self.may_read_as(&mut uow, owner, &page.path).await?
                    || !store::mark_reminded(&mut uow, page.id, due_at, stage, now).await?
                {
                    continue;
                }
                let seq = uow
                    .record(Event::ReviewReminded {
                        page: page.id,
                        path: page.path.clone(),
                        owner,
                        due_at,
                        stage: stage.to_owned(),
                    })
                    .await?;
                let n = vellum_store::notifications::NewNotification {
                    user: owner,
                    kind: "review",
                    page: page.id,
                    actor: None,
                    comment: None,
                    event_seq: seq,
                };
                if vellum_store::notifications::insert(&mut uow, &n, now).await? {
                    self.queue_mail(&mut uow, owner).await?;
                    sent += 1;
                }
            }
            uow.commit().await?;
        }
        Ok(sent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(page: Option<i64>, folder: Option<&str>, days: i64) -> PolicyRecord {
        PolicyRecord {
            page_id: page.map(PageId),
            folder: folder.map(str::to_owned),
            owner_id: Some(UserId(1)),
            owner_name: Some("ann".into()),
            owner_display: None,
            interval_days: days,
            updated_at: Timestamp::from_millis(0),
        }
    }

    #[test]
    fn the_page_policy_wins_then_the_nearest_folder() {
        let all = [
            policy(None, Some(""), 365),
            policy(None, Some("ops"), 90),
            policy(None, Some("ops/runbooks"), 30),
            policy(Some(7), None, 10),
        ];
        assert_eq!(governing(&all, PageId(7)).unwrap().interval_days, 10);
        assert_eq!(governing(&all[..3], PageId(7)).unwrap().interval_days, 30);
        assert_eq!(governing(&all[..2], PageId(7)).unwrap().interval_days, 90);
        assert_eq!(governing(&all[..1], PageId(7)).unwrap().interval_days, 365);
        // Another page's own policy governs nothing here.
        assert_eq!(governing(&all, PageId(8)).unwrap().interval_days, 30);
    }

    #[test]
    fn a_folder_holds_what_is_below_it_only() {
        let p = PagePath::parse("ops/runbooks/rollback").unwrap();
        assert!(folder_holds("", &p));
        assert!(folder_holds("ops", &p));
        assert!(folder_holds("ops/runbooks", &p));
        assert!(!folder_holds("op", &p));
        assert!(!folder_holds("ops/run", &p));
        assert!(!folder_holds("ops/runbooks/rollback", &p));
    }

    #[test]
    fn reviews_come_due_after_the_interval_with_notice_before() {
        let day = |d: i64| Timestamp::from_millis(d * DAY_MS);
        // Never verified: counted from creation.
        assert_eq!(due(day(0), 90, None, day(10)), (day(90), ReviewState::Current));
        assert_eq!(due(day(0), 90, None, day(83)).1, ReviewState::Due);
        assert_eq!(due(day(0), 90, None, day(82)).1, ReviewState::Current);
        assert_eq!(due(day(0), 90, None, day(90)).1, ReviewState::Overdue);
        // Verified on day 100: due again on day 190.
        assert_eq!(
            due(day(0), 90, Some(day(100)), day(120)),
            (day(190), ReviewState::Current)
        );
        assert_eq!(due(day(0), 90, Some(day(100)), day(200)).1, ReviewState::Overdue);
        // A short interval gets a quarter of itself as notice.
        assert_eq!(due(day(0), 4, None, day(2)).1, ReviewState::Current);
        assert_eq!(due(day(0), 4, None, day(3)).1, ReviewState::Due);
        assert_eq!(due(day(0), 4, None, day(4)).1, ReviewState::Overdue);
    }
}
