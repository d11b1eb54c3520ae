//! Vellum's use cases. Each public method of [`App`] is one use case: it
//! authorizes the actor through one [`Permissions`] value (`access.rs`),
//! gives list queries the visibility filter from the same value, runs its
//! writes in one unit of work (`uow.rs`: one transaction, typed events
//! appended inside it, effects after commit), and returns domain data.
//! Handlers in the web crate only parse input, call one of these and
//! present the result.
#![forbid(unsafe_code)]

mod access;
mod accounts;
mod admin;
pub mod audit;
mod auth;
mod blobs;
mod comments;
mod edit;
mod effects;
mod error;
mod feed;
mod files;
mod hot;
pub mod jobs;
mod lists;
mod mail;
pub mod model;
mod notifications;
pub mod ports;
mod previews;
mod read;
mod relocate;
mod render;
mod reset;
mod scan;
mod search;
mod sso;
mod tokens;
mod totp;
mod uow;
mod upkeep;
mod validate;
mod verification;
mod worker;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use accounts::{AccountChange, AccountDetail, AccountQuery, SessionView, PLACEHOLDER_USERNAME};
pub use admin::{
    AccessReport, AccessView, ExplainStep, Explanation, GroupView, InheritedRule, ReportRow, RuleView, SettingsChange,
    SiteSettings,
};
pub use audit::{with_request, AuditEntry, AuditQuery, RequestMeta};
pub use auth::{Credentials, LoginStep, NewAccount, NewSession, Session};
pub use blobs::{BlobRead, StorageUrl};
pub use comments::{mentioned_names, CommentCounts, CommentView, MAX_COMMENT_BYTES};
pub use edit::{SaveRequest, MAX_LINKS_PER_PAGE};
pub use error::{sentence, AppError, AppResult, Code, ErrorKind};
pub use files::{FileContent, FileDetail, FileVersionView, FileView, FilesConfig, S3Keys};
pub use hot::{digest_of, DEFAULT_CACHE_BYTES, PAGE_VIEW_COMMENTS};
pub use jobs::{Job, JobError, JobRecord, JobSpec, JobState, QueueStats};
pub use lists::NavLevel;
pub use mail::{EmailMode, MailConfig};
pub use model::*;
pub use notifications::{NotificationView, Notifications, WatchState};
pub use previews::{PreviewSize, PreviewView, Previews, DEFAULT_MAX_PIXELS};
pub use read::{DiffView, Lookup, PageView};
pub use scan::Clamd;
pub use search::{SearchConfig, SearchHit, SearchPage, SearchStatus};
pub use sso::{OidcConfig, SsoDone, SsoStart};
pub use tokens::{ApiToken, Bearer, NewToken, TokenPair, ACCESS_TOKEN_SECONDS};
pub use totp::{code_in_steps, current_code, TotpSetup, TotpStatus};
pub use upkeep::{LinkReport, DEFAULT_TRASH_RETENTION_DAYS};
pub use validate::split_tags;
pub use vellum_core::acl::{Level, Permissions};
pub use vellum_core::{Actor, Role};
use vellum_markup::Renderer;
pub use vellum_search::{Language as SearchLanguage, Sort as SearchSort};
use vellum_store::Store;
pub use vellum_store::{Backend, SqliteDurability, StoreOptions};
pub use verification::{
    PageReview, ReviewPolicy, ReviewQuery, ReviewReport, ReviewRow, ReviewState, ReviewTally, VerificationView,
    REVIEW_NOTICE_DAYS,
};
pub use worker::{Schedule, When, WorkerOptions, Workers};

use crate::ports::{EventBus, LocalBus, MemoryCache};

/// What the services need to know about the deployment.
#[derive(Clone)]
pub struct AppConfig {
    pub database_url: String,
    pub data_dir: PathBuf,
    /// How long a sign-in lasts.
    pub session_ttl: Duration,
    /// The largest page body accepted, in bytes.
    pub max_page_bytes: usize,
    pub store: StoreOptions,
    /// Single sign-on with an OpenID provider, when set up.
    pub oidc: Option<sso::OidcConfig>,
    pub search: SearchConfig,
    /// Notification mail, when set up.
    pub mail: Option<mail::MailConfig>,
    /// The address people reach the wiki at, for links in mail.
    pub public_url: Option<String>,
    /// The time the services go by (tests move it forward).
    pub clock: Clock,
    /// When built-in schedules fire, where the operator chose otherwise
    /// (by schedule name; see `App::schedules`).
    pub schedules: Vec<(String, When)>,
    /// Attachments: where they are stored, how large, which types.
    pub files: FilesConfig,
    /// Bytes of pages, revision texts and link existence kept in memory
    /// for the warm read path (the caches that hold small entries by count
    /// are not included).
    pub cache_bytes: u64,
}

/// The time the services go by: the system clock, plus an offset that only
/// tests set (to see what a wiki looks like 90 days on without waiting).
/// Clones share the offset.
#[derive(Clone, Default)]
pub struct Clock(Arc<std::sync::atomic::AtomicI64>);

impl Clock {
    pub fn now(&self) -> vellum_core::Timestamp {
        let offset = self.0.load(std::sync::atomic::Ordering::Relaxed);
        vellum_core::Timestamp::from_millis(vellum_core::Timestamp::now().as_millis().saturating_add(offset))
    }

    /// Moves this clock (and every clone of it) forward.
    pub fn advance(&self, by: Duration) {
        let ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.0.fetch_add(ms, std::sync::atomic::Ordering::Relaxed);
    }
}

impl std::fmt::Debug for AppConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppConfig")
            .field("database_url", &redact_url(&self.database_url))
            .field("data_dir", &self.data_dir)
            .field("session_ttl", &self.session_ttl)
            .field("max_page_bytes", &self.max_page_bytes)
            .field("store", &self.store)
            .field("oidc", &self.oidc)
            .field("search", &self.search)
            .field("mail", &self.mail)
            .field("public_url", &self.public_url)
            .finish_non_exhaustive()
    }
}

impl AppConfig {
    pub const DEFAULT_MAX_PAGE_BYTES: usize = 1024 * 1024;
    pub const DEFAULT_SESSION_TTL: Duration = Duration::from_secs(30 * 24 * 3600);

    pub fn new(database_url: impl Into<String>, data_dir: impl Into<PathBuf>) -> Self {
        AppConfig {
            database_url: database_url.into(),
            data_dir: data_dir.into(),
            session_ttl: Self::DEFAULT_SESSION_TTL,
            max_page_bytes: Self::DEFAULT_MAX_PAGE_BYTES,
            store: StoreOptions::default(),
            oidc: None,
            search: SearchConfig::default(),
            mail: None,
            public_url: None,
            clock: Clock::default(),
            schedules: Vec::new(),
            files: FilesConfig::default(),
            cache_bytes: hot::DEFAULT_CACHE_BYTES,
        }
    }
}

/// Replaces the password in a URL's user-info with `***`, for logs.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, tail) = match rest.find(['/', '?', '#']) {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or_default();
            if userinfo.contains(':') {
                format!("{scheme}://{user}:***@{host}{tail}")
            } else {
                format!("{scheme}://{user}@{host}{tail}")
            }
        }
        None => url.to_owned(),
    }
}

/// The application: cheap to clone, shared by every request.
#[derive(Clone)]
pub struct App(Arc<Inner>);

struct Inner {
    store: Store,
    config: AppConfig,
    renderer: Arc<Renderer>,
    renders: render::Renders,
    /// Sidebar levels by folder, one per set of readable scopes.
    /// Invalidated by events; the time to live is only a safety net should
    /// the change feed stall.
    nav: MemoryCache<vellum_core::FolderPath, Arc<lists::NavVariants>>,
    /// Sessions by token hash (`None`: no live session for that token).
    /// Tagged with the access generation they were read in (`access.rs`).
    sessions: MemoryCache<String, (u64, Option<Session>)>,
    access: access::AccessCache,
    /// The warm read path (`hot.rs`).
    hot: hot::Hot,
    tokens: tokens::TokenCache,
    /// The OpenID provider's endpoints and keys, when SSO is set up.
    sso: Option<sso::SsoRuntime>,
    bus: Arc<dyn EventBus>,
    /// Bounds the CPU-heavy work running at once (see `render.rs`).
    cpu: tokio::sync::Semaphore,
    tasks: Mutex<Vec<tokio::task::JoinHandle<()>>>,
    render_queue: Mutex<Option<tokio::sync::mpsc::Receiver<render::RenderJob>>>,
    search: search::SearchState,
    jobs: jobs::Registry,
    mailer: Option<mail::Mailer>,
    blobs: blobs::Blobs,
    /// Unread notification counts for the header, by user; briefly
    /// stale at most (notifications are written by jobs on any node).
    unread: MemoryCache<vellum_core::UserId, i64>,
}

/// A safety net for caches that events keep current.
const CACHE_TTL: Duration = Duration::from_secs(60);
/// How stale the header's unread count may be.
const UNREAD_TTL: Duration = Duration::from_secs(15);

impl App {
    /// Connects to the database and applies pending migrations.
    pub async fn open(config: AppConfig) -> AppResult<App> {
        let store = Store::connect_with(&config.database_url, &config.store)
            .await
            .map_err(|e| match e {
                vellum_store::StoreError::BadUrl(m) => AppError::new(Code::InvalidRequest, m),
                other => AppError::internal(other),
            })?;
        store.migrate().await.map_err(AppError::internal)?;
        Ok(Self::with_store(store, config))
    }

    pub fn with_store(store: Store, config: AppConfig) -> App {
        let (renders, render_queue) = render::Renders::new();
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        let sso = config.oidc.is_some().then(sso::SsoRuntime::new);
        let mailer = config.mail.as_ref().and_then(mail::Mailer::new);
        let blobs = blobs::Blobs::open(
            &config
                .files
                .storage
                .clone()
                .unwrap_or_else(|| StorageUrl::Local(config.data_dir.join("files"))),
            config.files.s3_keys.as_ref(),
        );
        let cache_bytes = config.cache_bytes;
        let app = App(Arc::new(Inner {
            store,
            config,
            renderer: Arc::new(Renderer::new()),
            renders,
            nav: MemoryCache::new(10_000, Some(CACHE_TTL)),
            sessions: MemoryCache::new(100_000, Some(CACHE_TTL)),
            access: access::AccessCache::new(),
            hot: hot::Hot::new(cache_bytes - cache_bytes / 8),
            tokens: tokens::TokenCache::new(),
            sso,
            bus: Arc::new(LocalBus::new(4096)),
            cpu: tokio::sync::Semaphore::new(cores.max(2)),
            tasks: Mutex::new(Vec::new()),
            render_queue: Mutex::new(Some(render_queue)),
            search: search::SearchState::default(),
            jobs: jobs::Registry::default(),
            mailer,
            blobs,
            unread: MemoryCache::new(100_000, Some(UNREAD_TTL)),
        }));
        app.register_builtin_jobs();
        app.register_notification_jobs();
        app.register_review_jobs();
        app.register_file_jobs();
        app.register_preview_jobs();
        app.register_mail_jobs();
        app.register_reset_jobs();
        app
    }

    /// Starts this process's background work: the change-feed follower
    /// (and, on PostgreSQL, its wake-ups between processes), the writer
    /// of refreshed renderings, and the search indexer. Call once, from inside the runtime.
    pub fn start(&self) {
        self.start_following();
        if let Ok(mut tasks) = self.0.tasks.lock() {
            tasks.extend(self.start_search());
        }
    }

    /// The background work a process without a search index needs (a
    /// `vellum worker`): the change feed, so that its caches (permissions
    /// above all) follow every change, and the writer of renderings.
    pub fn start_following(&self) {
        self.0.store.start_feed_signals();
        let mut tasks = match self.0.tasks.lock() {
            Ok(t) => t,
            Err(_) => return,
        };
        tasks.push(tokio::spawn(feed::follow(self.clone())));
        if let Some(rx) = self.0.render_queue.lock().ok().and_then(|mut q| q.take()) {
            tasks.push(tokio::spawn(render::store_renderings(self.clone(), rx)));
        }
    }

    /// Stops the background work and closes the database.
    pub async fn shutdown(&self) {
        let tasks: Vec<_> = match self.0.tasks.lock() {
            Ok(mut t) => t.drain(..).collect(),
            Err(_) => Vec::new(),
        };
        for t in &tasks {
            t.abort();
        }
        for t in tasks {
            let _ = t.await;
        }
        self.close_search();
        self.0.store.close().await;
    }

    pub fn store(&self) -> &Store {
        &self.0.store
    }

    pub fn config(&self) -> &AppConfig {
        &self.0.config
    }

    /// The time now, by the configured clock.
    pub fn now(&self) -> vellum_core::Timestamp {
        self.0.config.clock.now()
    }

    pub fn renderer(&self) -> &Renderer {
        &self.0.renderer
    }

    /// Committed events from every node, in commit order.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Arc<ports::Published>> {
        self.0.bus.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_redacted_for_logs() {
        assert_eq!(
            redact_url("postgres://vellum:s3cret@db:5432/wiki"),
            "postgres://vellum:***@db:5432/wiki"
        );
        assert_eq!(redact_url("postgres://vellum@db/wiki"), "postgres://vellum@db/wiki");
        assert_eq!(
            redact_url("sqlite://./vellum-data/vellum.db"),
            "sqlite://./vellum-data/vellum.db"
        );
        assert_eq!(redact_url("postgres://u:p@ss@h/db?x=1"), "postgres://u:***@h/db?x=1");
        let cfg = AppConfig::new("postgres://a:hunter2@h/db", "/tmp");
        assert!(!format!("{cfg:?}").contains("hunter2"));
    }
}
