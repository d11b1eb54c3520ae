//! Vellum's use cases. Each public method of [`App`] is one use case: it
//! authorizes the actor through [`vellum_core::access::authorize`], runs in
//! one transaction, appends its event in that transaction, and invalidates
//! derived caches after commit. Handlers in the web crate only parse input,
//! call one of these and present the result.
#![forbid(unsafe_code)]

mod auth;
mod edit;
mod error;
pub mod model;
mod read;
mod render;
mod validate;

use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

pub use auth::{NewAccount, NewSession, Session};
pub use edit::SaveRequest;
pub use error::{AppError, AppResult, ErrorKind};
pub use model::*;
pub use read::{DiffView, Lookup, NavLevel};
pub use validate::split_tags;
pub use vellum_core::access::Policy;
use vellum_core::access::{authorize, Action};
pub use vellum_core::{Actor, Role};
use vellum_markup::Renderer;
pub use vellum_store::Backend;
use vellum_store::{settings, Store};

/// What the services need to know about the deployment.
#[derive(Clone)]
pub struct AppConfig {
    pub database_url: String,
    pub data_dir: PathBuf,
    /// How long a sign-in lasts.
    pub session_ttl: Duration,
    /// The largest page body accepted, in bytes.
    pub max_page_bytes: usize,
}

impl std::fmt::Debug for AppConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppConfig")
            .field("database_url", &redact_url(&self.database_url))
            .field("data_dir", &self.data_dir)
            .field("session_ttl", &self.session_ttl)
            .field("max_page_bytes", &self.max_page_bytes)
            .finish()
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
    renderer: Renderer,
    revisions: render::RevisionCache,
    /// Sidebar levels by folder path; dropped on local writes below them
    /// and after a few seconds (writes on other nodes).
    nav: moka::sync::Cache<String, Arc<NavLevel>>,
    sessions: moka::sync::Cache<String, Option<Session>>,
    policy: RwLock<(Policy, Instant)>,
}

/// How long a node trusts its copy of site settings and sessions before
/// reading them again (other nodes may have changed them).
const SETTINGS_TTL: Duration = Duration::from_secs(5);
const SESSION_CACHE_TTL: Duration = Duration::from_secs(30);
const ANONYMOUS_READ: &str = "anonymous_read";

impl App {
    /// Connects to the database and applies pending migrations.
    pub async fn open(config: AppConfig) -> AppResult<App> {
        let store = Store::connect(&config.database_url).await.map_err(|e| match e {
            vellum_store::StoreError::BadUrl(m) => AppError::new(ErrorKind::BadRequest, "bad_database_url", m),
            other => AppError::internal(other),
        })?;
        store.migrate().await?;
        Ok(Self::with_store(store, config))
    }

    pub fn with_store(store: Store, config: AppConfig) -> App {
        App(Arc::new(Inner {
            store,
            config,
            renderer: Renderer::new(),
            revisions: render::RevisionCache::new(),
            nav: moka::sync::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(SETTINGS_TTL)
                .build(),
            sessions: moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(SESSION_CACHE_TTL)
                .build(),
            policy: RwLock::new((Policy::default(), Instant::now() - SETTINGS_TTL * 2)),
        }))
    }

    pub fn store(&self) -> &Store {
        &self.0.store
    }

    pub fn config(&self) -> &AppConfig {
        &self.0.config
    }

    pub fn renderer(&self) -> &Renderer {
        &self.0.renderer
    }

    /// The site-wide access settings, re-read every few seconds.
    pub async fn policy(&self) -> AppResult<Policy> {
        if let Ok(guard) = self.0.policy.read() {
            if guard.1.elapsed() < SETTINGS_TTL {
                return Ok(guard.0);
            }
        }
        let mut conn = self.0.store.read().await?;
        let anonymous_read = settings::get(&mut conn, ANONYMOUS_READ).await?.as_deref() == Some("true");
        let policy = Policy { anonymous_read };
        if let Ok(mut guard) = self.0.policy.write() {
            *guard = (policy, Instant::now());
        }
        Ok(policy)
    }

    /// The single authorization check every use case goes through.
    pub(crate) async fn authorize(&self, actor: &Actor, action: Action<'_>) -> AppResult<()> {
        let policy = self.policy().await?;
        Ok(authorize(actor, action, policy)?)
    }

    /// The site settings, for administrators.
    pub async fn site_settings(&self, actor: &Actor) -> AppResult<Policy> {
        self.authorize(actor, Action::Administer).await?;
        self.policy().await
    }

    /// Whether anonymous visitors may read (an administrator's setting).
    pub async fn set_anonymous_read(&self, actor: &Actor, allowed: bool) -> AppResult<()> {
        self.authorize(actor, Action::Administer).await?;
        let mut tx = self.0.store.begin().await?;
        settings::set(&mut tx, ANONYMOUS_READ, if allowed { "true" } else { "false" }).await?;
        let details = serde_json::json!({ "anonymous_read": allowed }).to_string();
        edit::append_event(&mut tx, actor, "settings.changed", "site", None, None, None, &details).await?;
        tx.commit().await?;
        if let Ok(mut guard) = self.0.policy.write() {
            guard.1 = Instant::now() - SETTINGS_TTL * 2;
        }
        Ok(())
    }
}

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Milliseconds since the epoch as RFC 3339 (UTC).
pub fn format_time(ms: i64) -> String {
    let nanos = i128::from(ms) * 1_000_000;
    time::OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
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

    #[test]
    fn times_are_rfc3339() {
        assert_eq!(format_time(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_time(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
    }
}
