//! Configuration, layered: built-in defaults, then the TOML file
//! (`--config` or `VELLUM_CONFIG`), then environment variables, then flags.
//! Environment variables and flags are read by clap (a flag wins over its
//! variable); this module merges the result with the file.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use serde::Deserialize;

pub const DEFAULT_LISTEN: &str = "127.0.0.1:3000";
pub const DEFAULT_DATA_DIR: &str = "./vellum-data";

/// The configuration file's shape. Every key is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub listen: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub public_url: Option<String>,
    pub max_page_bytes: Option<usize>,
    /// MiB of pages, texts and compressed page views kept in memory for
    /// fast reads (default 48).
    pub cache_mib: Option<u64>,
    pub session_days: Option<u64>,
    /// Image hosts pages may embed from (`https://images.example.com`).
    pub image_hosts: Option<Vec<String>>,
    #[serde(default)]
    pub database: DatabaseConfig,
    #[serde(default)]
    pub http: HttpConfig,
    #[serde(default)]
    pub rate_limit: RateLimitConfig,
    #[serde(default)]
    pub log: LogConfig,
    /// Single sign-on with an OpenID Connect provider.
    pub oidc: Option<OidcFileConfig>,
    #[serde(default)]
    pub search: SearchFileConfig,
    #[serde(default)]
    pub jobs: JobsFileConfig,
    #[serde(default)]
    pub mail: MailFileConfig,
    #[serde(default)]
    pub files: FilesFileConfig,
}

#[derive(Debug, Default, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct FilesFileConfig {
    /// Where file contents are stored: `file://DIRECTORY` (default: `files/`
    /// in the data directory).
    pub storage: Option<String>,
    /// The largest upload, in MiB (default 1024).
    pub max_upload_mib: Option<u64>,
    /// The types accepted (`image/*`, `application/pdf`, …; default: a
    /// list of documents, images, media and archives).
    pub allowed_types: Option<Vec<String>>,
    /// S3 keys (else the environment's `AWS_ACCESS_KEY_ID` and
    /// `AWS_SECRET_ACCESS_KEY`, or the instance's role).
    pub s3_access_key_id: Option<String>,
    pub s3_secret_access_key: Option<String>,
    /// ClamAV's daemon, to scan every upload: `tcp://HOST:PORT` or
    /// `unix:/PATH`.
    pub clamd: Option<String>,
    /// Images with more pixels than this many million get no preview
    /// (default 50).
    pub preview_max_megapixels: Option<u64>,
    /// Deliver file contents straight from S3: readers who pass the
    /// permission check are redirected to a presigned address valid for
    /// this many seconds (S3 storage only; default off).
    pub signed_url_secs: Option<u64>,
}

#[derive(Debug, Default, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct MailFileConfig {
    /// `smtp://host:port` or `smtps://user:password@host` (better given as
    /// VELLUM_SMTP_URL, to keep the password out of the file).
    pub smtp_url: Option<String>,
    /// The sender: `Wiki <wiki@example.com>`.
    pub from: Option<String>,
    /// Seconds an immediate mail waits for more to put in it (default 60).
    pub batch_seconds: Option<u64>,
    /// The hour (UTC) daily digests go out (default 7).
    pub digest_hour: Option<u32>,
}

#[derive(Debug, Default, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct JobsFileConfig {
    /// Jobs `vellum serve` runs at once (0: none; leave them to `vellum worker`).
    pub workers: Option<usize>,
    /// Jobs `vellum worker` runs at once.
    pub worker_concurrency: Option<usize>,
    /// The queues this process serves (default: all).
    pub queues: Option<Vec<String>>,
    /// When built-in schedules fire, by name: a cron expression (UTC),
    /// `every 10m`, or `off`.
    pub schedules: Option<std::collections::BTreeMap<String, String>>,
}

#[derive(Debug, Default, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct SearchFileConfig {
    /// The wiki's language, for stemming (`english`, `de`, …; `none`).
    pub language: Option<String>,
    /// Where the index lives (default: `search` in the data directory).
    pub dir: Option<PathBuf>,
    /// Indexing buffer in MiB (default 32).
    pub writer_memory_mib: Option<usize>,
}

#[derive(Debug, Default, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct OidcFileConfig {
    pub issuer: String,
    pub client_id: String,
    /// Better given as VELLUM_OIDC_CLIENT_SECRET.
    pub client_secret: Option<String>,
    /// The button says "Sign in with {label}".
    pub label: Option<String>,
    /// Scopes besides `openid` (default: profile, email).
    pub scopes: Option<Vec<String>>,
    /// Make an account on first sign-in (default true).
    pub create_users: Option<bool>,
    /// Role of new accounts no `roles` entry matches (default viewer).
    pub default_role: Option<String>,
    pub username_claim: Option<String>,
    pub groups_claim: Option<String>,
    /// Keep SSO accounts' group memberships equal to the claim's groups.
    pub sync_groups: Option<bool>,
    /// Group claim value → role, e.g. `{ "wiki-admins" = "admin" }`.
    pub roles: Option<toml::Table>,
    /// The order `roles` entries are tried in (default: admin, editor,
    /// commenter, viewer, then custom roles by name).
    pub role_order: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct RateLimitConfig {
    /// On by default.
    pub enabled: Option<bool>,
    /// Sign-in, token and refresh requests per minute per address.
    pub sign_in_per_minute: Option<u32>,
    /// Requests that change something, per minute per client.
    pub write_per_minute: Option<u32>,
    /// Other requests, per minute per client.
    pub read_per_minute: Option<u32>,
}

#[derive(Debug, Default, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    /// Pooled connections per process.
    pub max_connections: Option<u32>,
    /// Seconds a request waits for a free connection before it is answered
    /// "busy" (503, nothing written).
    pub acquire_timeout_secs: Option<u64>,
    /// SQLite only: `full` (default; every acknowledged commit survives a
    /// power cut) or `normal` (faster commits; a power cut can lose the
    /// last ones, a crash of Vellum cannot).
    pub sqlite_synchronous: Option<String>,
}

#[derive(Debug, Default, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// Seconds a client has to send a request's headers; idle keep-alive
    /// connections are closed after the same time.
    pub header_read_timeout_secs: Option<u64>,
    /// Connections open at once.
    pub max_connections: Option<usize>,
    /// Reverse proxies (addresses or networks) whose `X-Forwarded-For`
    /// names the client. Empty: the header is ignored.
    pub trusted_proxies: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// `text` (default) or `json`.
    pub format: Option<String>,
    /// A tracing filter such as `info` or `vellum=debug,tower_http=info`.
    pub level: Option<String>,
}

/// Values given on the command line or in the environment.
#[derive(Debug, Default, Clone, clap::Args)]
pub struct Overrides {
    /// Configuration file (TOML); see `vellum config example`.
    #[arg(long, global = true, env = "VELLUM_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Where Vellum keeps its data (SQLite database, files, indexes).
    #[arg(long, global = true, env = "VELLUM_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// `sqlite://PATH` or `postgres://USER:PASSWORD@HOST:PORT/DB`.
    #[arg(
        long,
        global = true,
        env = "VELLUM_DATABASE_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    pub database_url: Option<String>,
    /// Address and port to listen on.
    #[arg(long, global = true, env = "VELLUM_LISTEN", value_name = "ADDR")]
    pub listen: Option<String>,
    /// The address users reach the wiki at (e.g. https://wiki.example.com);
    /// `https` marks cookies Secure.
    #[arg(long, global = true, env = "VELLUM_PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<String>,
    /// Log format: `text` or `json`.
    #[arg(long, global = true, env = "VELLUM_LOG_FORMAT", value_name = "FORMAT")]
    pub log_format: Option<String>,
    /// SQLite durability: `full` (default) or `normal`; see `vellum config example`.
    #[arg(long, global = true, env = "VELLUM_SQLITE_SYNCHRONOUS", value_name = "MODE")]
    pub sqlite_synchronous: Option<String>,
    /// MiB of pages kept in memory for fast reads; see `vellum config example`.
    #[arg(long, global = true, env = "VELLUM_CACHE_MIB", value_name = "MIB")]
    pub cache_mib: Option<u64>,
    /// Rate limits: `on` (default) or `off` (for load tests).
    #[arg(long, global = true, env = "VELLUM_RATE_LIMIT", value_name = "ON|OFF")]
    pub rate_limit: Option<String>,
    /// Background jobs `vellum serve` runs at once (0: none, for web nodes
    /// beside `vellum worker` processes).
    #[arg(long, global = true, env = "VELLUM_WORKERS", value_name = "N")]
    pub workers: Option<usize>,
    /// The SMTP server for notification mail: `smtp://host:port` or
    /// `smtps://user:password@host`.
    #[arg(
        long,
        global = true,
        env = "VELLUM_SMTP_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    pub smtp_url: Option<String>,
    /// The sender of notification mail, e.g. `Wiki <wiki@example.com>`.
    #[arg(long, global = true, env = "VELLUM_MAIL_FROM", value_name = "ADDRESS")]
    pub mail_from: Option<String>,
    /// Where file contents are stored: `file://DIRECTORY`.
    #[arg(long, global = true, env = "VELLUM_STORAGE_URL", value_name = "URL")]
    pub storage_url: Option<String>,
    /// The OpenID client secret (environment only, so that it stays out of
    /// process listings).
    #[arg(skip = std::env::var("VELLUM_OIDC_CLIENT_SECRET").ok())]
    pub oidc_client_secret: Option<String>,
}

/// The resolved configuration.
#[derive(Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub database_url: String,
    pub public_url: Option<String>,
    pub max_page_bytes: usize,
    pub cache_bytes: u64,
    pub session_days: u64,
    pub image_hosts: Vec<String>,
    pub store: vellum_app::StoreOptions,
    pub http: vellum_web::ServerLimits,
    pub trusted_proxies: Vec<vellum_web::IpNet>,
    pub rate_limits: Option<vellum_web::RateLimits>,
    pub oidc: Option<vellum_app::OidcConfig>,
    pub search: vellum_app::SearchConfig,
    pub log: LogConfig,
    pub jobs: JobsConfig,
    pub mail: Option<vellum_app::MailConfig>,
    pub files: vellum_app::FilesConfig,
}

/// How this process runs background jobs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobsConfig {
    /// Jobs `vellum serve` runs at once (0: none).
    pub serve_workers: usize,
    /// Jobs `vellum worker` runs at once.
    pub worker_concurrency: usize,
    /// Queues served (empty: all).
    pub queues: Vec<String>,
    /// Schedule overrides by name (checked: each parses).
    pub schedules: Vec<(String, String)>,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("data_dir", &self.data_dir)
            .field("database_url", &vellum_app::redact_url(&self.database_url))
            .field("public_url", &self.public_url)
            .field("max_page_bytes", &self.max_page_bytes)
            .field("cache_bytes", &self.cache_bytes)
            .field("session_days", &self.session_days)
            .field("image_hosts", &self.image_hosts)
            .field("store", &self.store)
            .field("http", &self.http)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("rate_limits", &self.rate_limits)
            .field("oidc", &self.oidc)
            .field("search", &self.search)
            .field("jobs", &self.jobs)
            .field("mail", &self.mail)
            .finish()
    }
}

impl Config {
    pub fn load(o: &Overrides) -> anyhow::Result<Config> {
        let file = match &o.config {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        Self::merge(file, o)
    }

    pub fn merge(file: FileConfig, o: &Overrides) -> anyhow::Result<Config> {
        let listen_raw = o
            .listen
            .clone()
            .or(file.listen)
            .unwrap_or_else(|| DEFAULT_LISTEN.to_owned());
        let listen: SocketAddr = listen_raw
            .parse()
            .with_context(|| format!("`listen` is `{listen_raw}`; give an address and port such as 127.0.0.1:3000"))?;
        let data_dir = o
            .data_dir
            .clone()
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
        let database_url = match o.database_url.clone().or(file.database_url) {
            Some(url) => url,
            None => format!("sqlite://{}", data_dir.join("vellum.db").display()),
        };
        if !(database_url.starts_with("sqlite:")
            || database_url.starts_with("postgres:")
            || database_url.starts_with("postgresql:"))
        {
            bail!(
                "`database_url` must start with sqlite:// or postgres:// (got `{}`)",
                vellum_app::redact_url(&database_url)
            );
        }
        let max_page_bytes = file
            .max_page_bytes
            .unwrap_or(vellum_app::AppConfig::DEFAULT_MAX_PAGE_BYTES);
        if max_page_bytes == 0 || max_page_bytes > 16 * 1024 * 1024 {
            bail!("`max_page_bytes` must be between 1 and 16777216 (16 MiB)");
        }
        let cache_mib = o
            .cache_mib
            .or(file.cache_mib)
            .unwrap_or(vellum_app::DEFAULT_CACHE_BYTES / (1024 * 1024));
        if !(1..=65536).contains(&cache_mib) {
            bail!("`cache_mib` must be between 1 and 65536 (got {cache_mib})");
        }
        let mut log = file.log;
        if let Some(f) = &o.log_format {
            log.format = Some(f.clone());
        }
        if let Some(f) = &log.format {
            if f != "text" && f != "json" {
                bail!("the log format is `text` or `json` (got `{f}`)");
            }
        }
        let mut store = vellum_app::StoreOptions::default();
        if let Some(n) = file.database.max_connections {
            if n == 0 || n > 1000 {
                bail!("`database.max_connections` must be between 1 and 1000 (got {n})");
            }
            store.max_connections = Some(n);
        }
        if let Some(s) = file.database.acquire_timeout_secs {
            if s == 0 || s > 600 {
                bail!("`database.acquire_timeout_secs` must be between 1 and 600 (got {s})");
            }
            store.acquire_timeout = std::time::Duration::from_secs(s);
        }
        let synchronous = o.sqlite_synchronous.clone().or(file.database.sqlite_synchronous);
        store.sqlite_durability = match synchronous.as_deref() {
            None | Some("full") => vellum_app::SqliteDurability::Full,
            Some("normal") => vellum_app::SqliteDurability::Normal,
            Some(other) => bail!("`database.sqlite_synchronous` is `full` or `normal` (got `{other}`)"),
        };
        let mut http = vellum_web::ServerLimits::default();
        if let Some(s) = file.http.header_read_timeout_secs {
            if s == 0 || s > 3600 {
                bail!("`http.header_read_timeout_secs` must be between 1 and 3600 (got {s})");
            }
            http.header_read_timeout = std::time::Duration::from_secs(s);
        }
        if let Some(n) = file.http.max_connections {
            if n == 0 || n > 1_000_000 {
                bail!("`http.max_connections` must be between 1 and 1000000 (got {n})");
            }
            http.max_connections = n;
        }
        let trusted_proxies = file
            .http
            .trusted_proxies
            .unwrap_or_default()
            .iter()
            .map(|p| vellum_web::IpNet::parse(p).map_err(|e| anyhow::anyhow!("`http.trusted_proxies`: {e}")))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let enabled = match o.rate_limit.as_deref() {
            None => file.rate_limit.enabled.unwrap_or(true),
            Some("on") => true,
            Some("off") => false,
            Some(other) => bail!("`--rate-limit` / VELLUM_RATE_LIMIT is `on` or `off` (got `{other}`)"),
        };
        let d = vellum_web::RateLimits::DEFAULT;
        let per_minute = |v: Option<u32>, default: u32, key: &str| -> anyhow::Result<u32> {
            match v {
                Some(0) => bail!("`rate_limit.{key}` must be at least 1 (turn limits off with enabled = false)"),
                Some(n) => Ok(n),
                None => Ok(default),
            }
        };
        let rate_limits = if enabled {
            Some(vellum_web::RateLimits {
                sign_in_per_minute: per_minute(
                    file.rate_limit.sign_in_per_minute,
                    d.sign_in_per_minute,
                    "sign_in_per_minute",
                )?,
                write_per_minute: per_minute(file.rate_limit.write_per_minute, d.write_per_minute, "write_per_minute")?,
                read_per_minute: per_minute(file.rate_limit.read_per_minute, d.read_per_minute, "read_per_minute")?,
            })
        } else {
            None
        };
        let public_url = o
            .public_url
            .clone()
            .or(file.public_url)
            .map(|u| u.trim_end_matches('/').to_owned());
        let oidc = match file.oidc {
            None => None,
            Some(f) => Some(oidc_config(f, public_url.as_deref(), o.oidc_client_secret.clone())?),
        };
        let mut search = vellum_app::SearchConfig::default();
        if let Some(l) = &file.search.language {
            search.language = vellum_app::SearchLanguage::parse(l).with_context(|| {
                let known: Vec<&str> = vellum_app::SearchLanguage::ALL.iter().map(|l| l.as_str()).collect();
                format!("`search.language` is `{l}`; use one of {}", known.join(", "))
            })?;
        }
        search.dir = file.search.dir.clone();
        if let Some(m) = file.search.writer_memory_mib {
            if !(15..=4096).contains(&m) {
                bail!("`search.writer_memory_mib` must be between 15 and 4096 (got {m})");
            }
            search.writer_memory = m * 1024 * 1024;
        }
        let serve_workers = o.workers.or(file.jobs.workers).unwrap_or(4);
        if serve_workers > 256 {
            bail!("`jobs.workers` / VELLUM_WORKERS must be between 0 and 256 (got {serve_workers})");
        }
        let worker_concurrency = file.jobs.worker_concurrency.unwrap_or(16);
        if !(1..=256).contains(&worker_concurrency) {
            bail!("`jobs.worker_concurrency` must be between 1 and 256 (got {worker_concurrency})");
        }
        let known = vellum_app::App::schedule_names();
        let mut schedules = Vec::new();
        for (name, when) in file.jobs.schedules.unwrap_or_default() {
            if !known.contains(&name) {
                bail!(
                    "`jobs.schedules` names `{name}`, which is not a schedule; the schedules are {}",
                    known.join(", ")
                );
            }
            if let Err(e) = vellum_app::When::parse(&when) {
                bail!("`jobs.schedules.\"{name}\"`: {e}");
            }
            schedules.push((name, when));
        }
        let jobs = JobsConfig {
            serve_workers,
            worker_concurrency,
            queues: file.jobs.queues.unwrap_or_default(),
            schedules,
        };
        let smtp_url = o.smtp_url.clone().or(file.mail.smtp_url);
        let mail_from = o.mail_from.clone().or(file.mail.from);
        let mail = match (smtp_url, mail_from) {
            (None, None) => None,
            (Some(_), None) => bail!(
                "mail needs a sender too: set VELLUM_MAIL_FROM (or `mail.from`), e.g. \"Wiki <wiki@example.com>\""
            ),
            (None, Some(_)) => bail!(
                "mail needs an SMTP server too: set VELLUM_SMTP_URL (or `mail.smtp_url`), e.g. smtp://127.0.0.1:25"
            ),
            (Some(url), Some(from)) => {
                let mut m = vellum_app::MailConfig::new(url, from);
                if let Some(s) = file.mail.batch_seconds {
                    if !(1..=86_400).contains(&s) {
                        bail!("`mail.batch_seconds` must be between 1 and 86400 (got {s})");
                    }
                    m.batch = std::time::Duration::from_secs(s);
                }
                if let Some(h) = file.mail.digest_hour {
                    m.digest_hour = h;
                }
                m.check().map_err(|e| anyhow::anyhow!("mail: {e}"))?;
                Some(m)
            }
        };
        let mut files = vellum_app::FilesConfig::default();
        if let Some(url) = o.storage_url.clone().or(file.files.storage.clone()) {
            files.storage = Some(
                vellum_app::StorageUrl::parse(&url)
                    .map_err(|e| anyhow::anyhow!("`files.storage` / VELLUM_STORAGE_URL: {e}"))?,
            );
        }
        if let Some(mib) = file.files.max_upload_mib {
            if !(1..=1024 * 1024).contains(&mib) {
                bail!("`files.max_upload_mib` must be between 1 and 1048576 (got {mib})");
            }
            files.max_bytes = mib * 1024 * 1024;
        }
        files.s3_keys = match (
            file.files.s3_access_key_id.clone(),
            file.files.s3_secret_access_key.clone(),
        ) {
            (Some(access_key_id), Some(secret_access_key)) => Some(vellum_app::S3Keys {
                access_key_id,
                secret_access_key,
            }),
            (None, None) => None,
            _ => bail!("`files.s3_access_key_id` and `files.s3_secret_access_key` go together; give both or neither"),
        };
        if let Some(c) = &file.files.clamd {
            files.clamd = Some(vellum_app::Clamd::parse(c).map_err(|e| anyhow::anyhow!("`files.clamd`: {e}"))?);
        }
        if let Some(mp) = file.files.preview_max_megapixels {
            if !(1..=1000).contains(&mp) {
                bail!("`files.preview_max_megapixels` must be between 1 and 1000 (got {mp})");
            }
            files.max_pixels = mp * 1_000_000;
        }
        if let Some(secs) = file.files.signed_url_secs {
            if !(1..=604_800).contains(&secs) {
                bail!("`files.signed_url_secs` must be between 1 and 604800 (seven days, S3's limit; got {secs})");
            }
            if !matches!(files.storage, Some(vellum_app::StorageUrl::S3 { .. })) {
                bail!("`files.signed_url_secs` needs S3 storage (`files.storage = \"s3://…\"`); local files are always delivered by Vellum");
            }
            files.signed_url_secs = Some(secs);
        }
        if let Some(types) = file.files.allowed_types.clone() {
            if let Some(bad) = types.iter().find(|t| !t.contains('/') || t.trim() != t.as_str()) {
                bail!("`files.allowed_types` holds `{bad}`; write types as `image/png` or `image/*`");
            }
            files.allowed_types = types;
        }
        Ok(Config {
            files,
            mail,
            jobs,
            search,
            trusted_proxies,
            rate_limits,
            oidc,
            listen,
            data_dir,
            database_url,
            public_url,
            max_page_bytes,
            cache_bytes: cache_mib * 1024 * 1024,
            session_days: file.session_days.unwrap_or(30).clamp(1, 3650),
            image_hosts: file.image_hosts.unwrap_or_default(),
            store,
            http,
            log,
        })
    }

    pub fn app_config(&self) -> vellum_app::AppConfig {
        let mut c = vellum_app::AppConfig::new(self.database_url.clone(), self.data_dir.clone());
        c.max_page_bytes = self.max_page_bytes;
        c.cache_bytes = self.cache_bytes;
        c.session_ttl = std::time::Duration::from_secs(self.session_days * 24 * 3600);
        c.store = self.store.clone();
        c.oidc = self.oidc.clone();
        c.search = self.search.clone();
        c.mail = self.mail.clone();
        c.public_url = self.public_url.clone();
        c.files = self.files.clone();
        c.schedules = self
            .jobs
            .schedules
            .iter()
            .filter_map(|(name, when)| Some((name.clone(), vellum_app::When::parse(when).ok()?)))
            .collect();
        c
    }

    pub fn server_limits(&self) -> vellum_web::ServerLimits {
        self.http.clone()
    }

    /// The address to print in links (the setup link).
    pub fn base_url(&self) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.listen))
    }
}

fn oidc_config(
    f: OidcFileConfig,
    public_url: Option<&str>,
    secret: Option<String>,
) -> anyhow::Result<vellum_app::OidcConfig> {
    use vellum_app::Role;
    let issuer = url::Url::parse(&f.issuer).map_err(|e| anyhow::anyhow!("`oidc.issuer` is not a URL: {e}"))?;
    if !matches!(issuer.scheme(), "https" | "http") {
        bail!("`oidc.issuer` is an https:// address");
    }
    if issuer.scheme() == "http" && !matches!(issuer.host_str(), Some("127.0.0.1" | "localhost" | "[::1]")) {
        bail!("`oidc.issuer` must use https:// (plain http is accepted only for a provider on this machine)");
    }
    if f.client_id.trim().is_empty() {
        bail!("`oidc.client_id` is empty: give the client id the provider assigned to Vellum");
    }
    let Some(public_url) = public_url else {
        bail!("single sign-on needs `public_url`, the address the provider sends people back to");
    };
    let mut c = vellum_app::OidcConfig::new(
        &f.issuer,
        f.client_id.trim(),
        &format!("{public_url}/login/sso/callback"),
    );
    c.client_secret = secret.or(f.client_secret).filter(|s| !s.is_empty());
    if let Some(l) = f.label.filter(|l| !l.trim().is_empty()) {
        c.label = l.trim().to_owned();
    }
    if let Some(s) = f.scopes {
        c.scopes = s;
    }
    c.create_users = f.create_users.unwrap_or(true);
    let role = |r: &str, key: &str| Role::parse(r).map_err(|e| anyhow::anyhow!("`oidc.{key}`: {e}"));
    if let Some(r) = &f.default_role {
        c.default_role = role(r, "default_role")?;
    }
    if let Some(u) = f.username_claim {
        c.username_claim = u;
    }
    if let Some(g) = f.groups_claim {
        c.groups_claim = g;
    }
    c.sync_groups = f.sync_groups.unwrap_or(false);
    let mut roles = Vec::new();
    for (group, r) in f.roles.unwrap_or_default() {
        let Some(r) = r.as_str() else {
            bail!("`oidc.roles.{group}` is a role name in quotes, e.g. \"editor\"");
        };
        let r = role(r, &format!("roles.{group}"))?;
        roles.push((group, r));
    }
    let order = f.role_order.unwrap_or_default();
    let rank = |r: &Role| -> (usize, String) {
        let named = order.iter().position(|o| o == r.as_str());
        let builtin = [Role::Admin, Role::Editor, Role::Commenter, Role::Viewer]
            .iter()
            .position(|b| b == r);
        (
            named.unwrap_or(order.len() + builtin.unwrap_or(4)),
            r.as_str().to_owned(),
        )
    };
    roles.sort_by_key(|(_, r)| rank(r));
    c.roles = roles;
    Ok(c)
}

fn read_file(path: &Path) -> anyhow::Result<FileConfig> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the configuration file {}", path.display()))?;
    parse(&text).with_context(|| format!("in the configuration file {}", path.display()))
}

pub fn parse(text: &str) -> anyhow::Result<FileConfig> {
    Ok(toml::from_str(text)?)
}

/// A commented example configuration (`vellum config example`).
pub const EXAMPLE: &str = r#"# Vellum configuration. Every key is optional; the values shown are the
# defaults. Environment variables and command-line flags override this file:
# VELLUM_LISTEN / --listen, VELLUM_DATA_DIR / --data-dir,
# VELLUM_DATABASE_URL / --database-url, VELLUM_PUBLIC_URL / --public-url,
# VELLUM_LOG_FORMAT / --log-format, VELLUM_SQLITE_SYNCHRONOUS / --sqlite-synchronous,
# VELLUM_RATE_LIMIT / --rate-limit (on or off), VELLUM_WORKERS / --workers,
# VELLUM_SMTP_URL / --smtp-url, VELLUM_MAIL_FROM / --mail-from.

# Address and port to listen on.
listen = "127.0.0.1:3000"

# Where Vellum keeps its data: the SQLite database (by default), uploaded
# files and search indexes.
data_dir = "./vellum-data"

# The database. Default: a SQLite file in the data directory. For several
# web nodes use PostgreSQL, e.g. "postgres://vellum:PASSWORD@db:5432/vellum".
# database_url = "sqlite://./vellum-data/vellum.db"

# The address people use to reach the wiki. Used in links the server prints;
# an https:// address also marks cookies Secure.
# public_url = "https://wiki.example.com"

# The largest page text accepted, in bytes (1 MiB).
max_page_bytes = 1048576

# MiB of memory for fast reads: recently read pages with their rendering,
# revision texts, link targets' existence, and compressed page views. A
# page read again is then served without the database. Also VELLUM_CACHE_MIB.
cache_mib = 48

# How many days a sign-in lasts.
session_days = 30

# Hosts that pages may embed images from, besides the wiki itself. Empty:
# a page cannot make its readers' browsers contact other sites.
# image_hosts = ["https://images.example.com"]

[database]
# Pooled connections per process (default 8 for SQLite, 24 for PostgreSQL).
# max_connections = 24
# Seconds a request waits for a free connection before it is answered
# "busy" (503 with Retry-After; nothing is written).
acquire_timeout_secs = 5
# SQLite only. "full": every acknowledged save survives a power cut.
# "normal": faster saves; a power cut (not a crash) can lose the last ones.
sqlite_synchronous = "full"

[http]
# Seconds a client has to send a request's headers; idle keep-alive
# connections are closed after the same time.
header_read_timeout_secs = 10
# Connections open at once; more wait to be accepted.
max_connections = 1024
# Reverse proxies whose X-Forwarded-For header names the client (for the
# audit log and rate limits). Empty: the header is ignored, and the address
# connecting to Vellum is the client's. Behind nginx on the same host:
# trusted_proxies = ["127.0.0.1", "::1"]
trusted_proxies = []

[rate_limit]
# Requests per minute per client (an address, or a signed-in session or
# token); over it, requests are answered 429 with Retry-After.
enabled = true
# Sign-in, token and refresh requests, per address.
sign_in_per_minute = 30
# Requests that change something.
write_per_minute = 600
# Everything else.
read_per_minute = 6000

# Single sign-on with an OpenID Connect provider (Keycloak, Authentik,
# Okta, Entra ID, Google, ...): uncomment to add a "Sign in with ..."
# button beside the password form. Register Vellum at the provider as a
# confidential client with the redirect URI {public_url}/login/sso/callback
# (public_url above is required). Give the secret in the environment as
# VELLUM_OIDC_CLIENT_SECRET rather than here.
# [oidc]
# issuer = "https://id.example.com/realms/main"
# client_id = "vellum"
# label = "Example ID"
# scopes = ["profile", "email", "groups"]
# # Make an account on first sign-in; otherwise only accounts an
# # administrator made (linked by verified e-mail address) can sign in.
# create_users = true
# default_role = "viewer"
# username_claim = "preferred_username"
# groups_claim = "groups"
# # Keep SSO accounts' memberships of Vellum groups equal to the claim.
# sync_groups = false
# # Provider groups that decide the role at each sign-in (highest wins).
# [oidc.roles]
# wiki-admins = "admin"
# writers = "editor"

[search]
# The wiki's language: search finds other forms of a word in it
# ("deploying" finds "deployed"). english, german, french, spanish,
# portuguese, italian, dutch, swedish, norwegian, danish, finnish, russian,
# or none. Words of every language (Chinese and Japanese too) are found
# either way. Changing it rebuilds the index at the next start.
language = "english"
# dir = "/var/lib/vellum/search"   # default: search/ in the data directory
# writer_memory_mib = 64          # indexing buffer; more makes rebuilds faster

[jobs]
# Background jobs (upkeep, mail, thumbnails) are rows in the database, run
# by workers. `vellum serve` runs this many at once (0: none, for web nodes
# when separate `vellum worker` processes do the work).
workers = 4
# Jobs one `vellum worker` process runs at once.
worker_concurrency = 16
# The queues this process serves (default: all of them).
# queues = ["default", "upkeep"]

# When the built-in schedules fire (each once across all processes): a cron
# expression in UTC (minute hour day month weekday, optionally seconds
# first, or @hourly / @daily), "every 10m" (s, m, h, d), or "off".
# [jobs.schedules]
# "report.broken_links" = "0 3 * * *"
# "upkeep.trash" = "every 6h"

[mail]
# Notification mail (and, later, password resets). Off unless both are set.
# Give the server as VELLUM_SMTP_URL rather than here if it has a password.
# smtp_url = "smtp://127.0.0.1:25"        # or smtps://user:password@mail.example.com
# from = "Wiki <wiki@example.com>"
# Seconds an "immediate" mail waits, so that a burst of changes is one mail.
batch_seconds = 60
# The hour (UTC) daily digests go out.
digest_hour = 7

[files]
# Where attachments are stored (each content once, by its SHA-256). Also
# VELLUM_STORAGE_URL. Default: the `files` directory in the data directory.
# storage = "file:///var/lib/vellum/files"
# storage = "s3://my-wiki-files/vellum?region=eu-west-1"
# storage = "s3://wiki?region=us-east-1&endpoint=http://127.0.0.1:9000"  # S3-compatible
# Keys for S3, if not from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or the
# instance's role:
# s3_access_key_id = "..."
# s3_secret_access_key = "..."
# The largest upload, in MiB.
max_upload_mib = 1024
# Scan every upload with ClamAV's daemon (infected files are refused and
# recorded in the audit log; if clamd cannot be reached, uploads are refused).
# clamd = "tcp://127.0.0.1:3310"        # or "unix:/run/clamav/clamd.ctl"
# The types accepted, decided from each file's bytes (default: documents,
# images, audio, video, text and archives; never programs).
# allowed_types = ["image/*", "application/pdf", "text/*"]
# Images get previews (320 and 1600 pixels, upright, without the original's
# metadata such as its location); larger images than this get none.
preview_max_megapixels = 50
# With S3 storage: send readers (after the permission check) straight to S3
# by a presigned address valid this many seconds, instead of through Vellum.
# signed_url_secs = 300

[log]
# "text" for people, "json" for log collectors.
format = "text"
# A filter: "info", "debug", or per module, e.g. "info,vellum_web=debug".
level = "info"
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_parses_and_gives_the_defaults() {
        let file = parse(EXAMPLE).expect("the example parses");
        let c = Config::merge(file, &Overrides::default()).expect("the example is valid");
        assert_eq!(c.listen.to_string(), DEFAULT_LISTEN);
        assert_eq!(c.data_dir, PathBuf::from(DEFAULT_DATA_DIR));
        assert_eq!(c.database_url, "sqlite://./vellum-data/vellum.db");
        assert_eq!(c.max_page_bytes, 1_048_576);
        assert_eq!(c.session_days, 30);
    }

    #[test]
    fn layers_override_in_order() {
        let file = parse("listen = \"127.0.0.1:4000\"\ndata_dir = \"/srv/wiki\"").unwrap();
        let c = Config::merge(file, &Overrides::default()).unwrap();
        assert_eq!(c.listen.port(), 4000);
        assert_eq!(c.database_url, "sqlite:///srv/wiki/vellum.db");
        let file = parse("listen = \"127.0.0.1:4000\"").unwrap();
        let o = Overrides {
            listen: Some("0.0.0.0:5000".into()),
            ..Overrides::default()
        };
        assert_eq!(Config::merge(file, &o).unwrap().listen.port(), 5000);
    }

    #[test]
    fn bad_values_are_explained_and_secrets_hidden() {
        let err = parse("colour = \"red\"").unwrap_err();
        assert!(format!("{err:#}").contains("colour"));
        let o = Overrides {
            listen: Some("nonsense".into()),
            ..Overrides::default()
        };
        assert!(format!("{:#}", Config::merge(FileConfig::default(), &o).unwrap_err()).contains("127.0.0.1:3000"));
        let o = Overrides {
            database_url: Some("mysql://u:hunter2@h/db".into()),
            ..Overrides::default()
        };
        let err = format!("{:#}", Config::merge(FileConfig::default(), &o).unwrap_err());
        assert!(err.contains("postgres://") && !err.contains("hunter2"), "{err}");
        let o = Overrides {
            database_url: Some("postgres://u:hunter2@h/db".into()),
            ..Overrides::default()
        };
        let c = Config::merge(FileConfig::default(), &o).unwrap();
        assert!(!format!("{c:?}").contains("hunter2"));
    }

    #[test]
    fn previews_and_signed_addresses_are_checked() {
        let merge = |toml: &str| Config::merge(parse(toml).unwrap(), &Overrides::default());
        let c = merge("[files]\npreview_max_megapixels = 12\n").unwrap();
        assert_eq!(c.files.max_pixels, 12_000_000);
        assert_eq!(c.files.signed_url_secs, None);
        let err = format!("{:#}", merge("[files]\npreview_max_megapixels = 0\n").unwrap_err());
        assert!(err.contains("between 1 and 1000"), "{err}");
        let err = format!("{:#}", merge("[files]\nsigned_url_secs = 60\n").unwrap_err());
        assert!(err.contains("needs S3 storage"), "{err}");
        let c = merge("[files]\nstorage = \"s3://wiki?region=eu-west-1\"\nsigned_url_secs = 60\n").unwrap();
        assert_eq!(c.files.signed_url_secs, Some(60));
        let err = format!(
            "{:#}",
            merge("[files]\nstorage = \"s3://wiki\"\nsigned_url_secs = 999999\n").unwrap_err()
        );
        assert!(err.contains("seven days"), "{err}");
    }

    #[test]
    fn schedules_take_cron_expressions_periods_or_off() {
        let file = parse(
            "[jobs.schedules]\n\"report.broken_links\" = \"0 3 * * *\"\n\"upkeep.trash\" = \"off\"\n\"review.remind\" = \"every 15m\"\n",
        )
        .unwrap();
        let c = Config::merge(file, &Overrides::default()).unwrap();
        let app = c.app_config();
        assert_eq!(app.schedules.len(), 3);
        assert!(app
            .schedules
            .iter()
            .any(|(n, w)| n == "upkeep.trash" && matches!(w, vellum_app::When::Off)));
        for (toml, says) in [
            ("[jobs.schedules]\n\"upkeep.nonsense\" = \"@daily\"\n", "not a schedule"),
            (
                "[jobs.schedules]\n\"upkeep.trash\" = \"at noon\"\n",
                "not a cron expression",
            ),
        ] {
            let err = format!(
                "{:#}",
                Config::merge(parse(toml).unwrap(), &Overrides::default()).unwrap_err()
            );
            assert!(err.contains(says), "{err}");
        }
    }
}
