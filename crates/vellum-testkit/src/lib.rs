//! Test fixtures: a real Vellum server on a free loopback port, backed by a
//! fresh database, with HTTP clients that keep cookies.
//!
//! The backend comes from `VELLUM_TEST_BACKEND` (`sqlite`, the default, or
//! `postgres`). PostgreSQL tests create a database of their own on
//! `VELLUM_TEST_PG_URL` (default `postgres://postgres@127.0.0.1:5432/test`)
//! and drop it afterwards. An unreachable PostgreSQL fails the test: it is
//! never skipped silently.
#![forbid(unsafe_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use reqwest::{Client, RequestBuilder, Response};
use serde_json::Value;
use sqlx::Connection;
use vellum_app::{App, AppConfig, NewAccount, Role};

pub use reqwest::StatusCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn from_env() -> Backend {
        match std::env::var("VELLUM_TEST_BACKEND").as_deref() {
            Ok("postgres") => Backend::Postgres,
            Ok("sqlite") | Err(_) => Backend::Sqlite,
            Ok(other) => panic!("VELLUM_TEST_BACKEND is `{other}`; use `sqlite` or `postgres`"),
        }
    }
}

pub fn pg_admin_url() -> String {
    std::env::var("VELLUM_TEST_PG_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

fn random_suffix() -> String {
    let mut b = [0u8; 8];
    getrandom::getrandom(&mut b).expect("random bytes");
    hex::encode(b)
}

async fn pg_admin() -> sqlx::PgConnection {
    let admin = pg_admin_url();
    sqlx::PgConnection::connect(&admin)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL at {admin} is required for VELLUM_TEST_BACKEND=postgres: {e}"))
}

/// A fresh, empty database; removed on drop.
pub struct TestDb {
    pub url: String,
    pub backend: Backend,
    pub dir: PathBuf,
    pg_name: Option<String>,
}

impl TestDb {
    pub async fn new(backend: Backend) -> TestDb {
        let suffix = random_suffix();
        let dir = std::env::temp_dir().join(format!("vellum-test-{suffix}"));
        std::fs::create_dir_all(&dir).expect("create a temporary directory");
        match backend {
            Backend::Sqlite => TestDb {
                url: format!("sqlite://{}", dir.join("vellum.db").display()),
                backend,
                dir,
                pg_name: None,
            },
            Backend::Postgres => {
                let name = format!("vellum_test_{suffix}");
                let mut conn = pg_admin().await;
                sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .await
                    .expect("create a test database");
                let _ = conn.close().await;
                let admin = pg_admin_url();
                let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b).to_owned();
                TestDb {
                    url: format!("{base}/{name}"),
                    backend,
                    dir,
                    pg_name: Some(name),
                }
            }
        }
    }
}

impl TestDb {
    /// Runs SQL on the test database directly (to set up a state the API
    /// cannot make, such as a stale stored rendering); returns rows affected.
    pub async fn execute(&self, sql: &str) -> u64 {
        match self.backend {
            Backend::Sqlite => {
                let mut c = sqlx::SqliteConnection::connect(&self.url).await.expect("connect");
                sqlx::query(sql).execute(&mut c).await.expect(sql).rows_affected()
            }
            Backend::Postgres => {
                let mut c = sqlx::PgConnection::connect(&self.url).await.expect("connect");
                sqlx::query(sql).execute(&mut c).await.expect(sql).rows_affected()
            }
        }
    }

    /// Runs SQL and says whether the database accepted it.
    pub async fn try_execute(&self, sql: &str) -> Result<u64, String> {
        match self.backend {
            Backend::Sqlite => {
                let mut c = sqlx::SqliteConnection::connect(&self.url).await.expect("connect");
                sqlx::query(sql)
                    .execute(&mut c)
                    .await
                    .map(|r| r.rows_affected())
                    .map_err(|e| e.to_string())
            }
            Backend::Postgres => {
                let mut c = sqlx::PgConnection::connect(&self.url).await.expect("connect");
                sqlx::query(sql)
                    .execute(&mut c)
                    .await
                    .map(|r| r.rows_affected())
                    .map_err(|e| e.to_string())
            }
        }
    }

    /// A time `ms` milliseconds after the Unix epoch, as an SQL literal of
    /// this backend's time columns.
    pub fn time_literal_ms(&self, ms: i64) -> String {
        match self.backend {
            Backend::Sqlite => ms.to_string(),
            Backend::Postgres => format!("to_timestamp({ms} / 1000.0)"),
        }
    }

    /// The one integer a query selects.
    pub async fn scalar(&self, sql: &str) -> i64 {
        match self.backend {
            Backend::Sqlite => {
                let mut c = sqlx::SqliteConnection::connect(&self.url).await.expect("connect");
                sqlx::query_scalar(sql).fetch_one(&mut c).await.expect(sql)
            }
            Backend::Postgres => {
                let mut c = sqlx::PgConnection::connect(&self.url).await.expect("connect");
                sqlx::query_scalar(sql).fetch_one(&mut c).await.expect(sql)
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
        if let Some(name) = self.pg_name.take() {
            // Drop runs outside async context; use a small runtime of its own.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .ok()?;
                rt.block_on(async {
                    let mut conn = sqlx::PgConnection::connect(&pg_admin_url()).await.ok()?;
                    sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&mut conn)
                        .await
                        .ok()?;
                    conn.close().await.ok()
                })
            })
            .join();
        }
    }
}

/// A running server (one node) and a cookie-keeping client.
pub struct TestApp {
    pub addr: SocketAddr,
    pub app: App,
    pub client: Client,
    server: tokio::task::JoinHandle<()>,
    pub db: Arc<TestDb>,
}

/// Server logs go to the test's output, filtered by `VELLUM_LOG`
/// (default: warnings and errors).
fn init_logging() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let filter = std::env::var("VELLUM_LOG").unwrap_or_else(|_| "warn".into());
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_test_writer()
            .try_init();
    });
}

/// Workers for tests: they look often and retry soon, so tests do not wait
/// on the production intervals; no built-in schedules.
pub fn quick_workers() -> vellum_app::WorkerOptions {
    vellum_app::WorkerOptions {
        concurrency: 4,
        queues: Vec::new(),
        lease: std::time::Duration::from_secs(5),
        poll: std::time::Duration::from_millis(50),
        grace: std::time::Duration::from_millis(300),
        schedules: false,
        retry_base: std::time::Duration::from_millis(50),
    }
}

/// A client that keeps cookies and does not follow redirects.
pub fn client() -> Client {
    Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("http client")
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_on(Backend::from_env()).await
    }

    pub async fn spawn_on(backend: Backend) -> TestApp {
        Self::spawn_with(Arc::new(TestDb::new(backend).await), |_| {}).await
    }

    /// A server on `db` with its configuration adjusted by `tune`.
    pub async fn spawn_with(db: Arc<TestDb>, tune: impl FnOnce(&mut AppConfig)) -> TestApp {
        Self::spawn_full(
            db,
            tune,
            vellum_web::WebOptions::default(),
            vellum_web::ServerLimits::default(),
        )
        .await
    }

    /// A server with every part of its configuration chosen.
    pub async fn spawn_full(
        db: Arc<TestDb>,
        tune: impl FnOnce(&mut AppConfig),
        web: vellum_web::WebOptions,
        limits: vellum_web::ServerLimits,
    ) -> TestApp {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a free port");
        Self::spawn_listening(listener, db, tune, web, limits).await
    }

    /// Like `spawn_full` on a listener the caller bound (to know the
    /// server's address before configuring it).
    pub async fn spawn_listening(
        listener: tokio::net::TcpListener,
        db: Arc<TestDb>,
        tune: impl FnOnce(&mut AppConfig),
        web: vellum_web::WebOptions,
        limits: vellum_web::ServerLimits,
    ) -> TestApp {
        init_logging();
        let mut config = AppConfig::new(db.url.clone(), db.dir.clone());
        // Each node its own search index, as each process has its own.
        static NODES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NODES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        config.search.dir = Some(db.dir.join(format!("search-{n}")));
        tune(&mut config);
        let app = App::open(config)
            .await
            .unwrap_or_else(|e| panic!("open the app: {} {:?}", e.message, e.source));
        app.start();
        let addr = listener.local_addr().expect("local address");
        let service = vellum_web::service(app.clone(), web);
        let server = tokio::spawn(async move {
            let _ = vellum_web::serve(listener, service, limits, std::future::pending()).await;
        });
        TestApp {
            addr,
            app,
            client: client(),
            server,
            db,
        }
    }

    /// Another node serving the same database (for PostgreSQL, a second
    /// process in all but name: its own pool, caches and feed follower).
    pub async fn another_node(&self) -> TestApp {
        Self::spawn_with(self.db.clone(), |_| {}).await
    }

    /// A server with an administrator `admin` signed in on `self.client`.
    pub async fn with_admin() -> TestApp {
        let t = Self::spawn().await;
        t.create_user("admin", Role::Admin).await;
        t.login(&t.client, "admin").await;
        t
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Creates an account whose password is `password-{name}`.
    pub async fn create_user(&self, name: &str, role: Role) {
        let password = format!("password-{name}");
        let account = NewAccount {
            username: name,
            display_name: None,
            password: &password,
            role,
            email: None,
        };
        self.app
            .create_user(None, account)
            .await
            .unwrap_or_else(|e| panic!("create user: {}", e.message));
    }

    pub async fn login(&self, client: &Client, name: &str) {
        let res = client
            .post(self.url("/api/v1/auth/login"))
            .json(&serde_json::json!({ "username": name, "password": format!("password-{name}") }))
            .send()
            .await
            .expect("login request");
        assert_eq!(res.status(), StatusCode::OK, "login as {name}");
    }

    /// A new client signed in as an existing user (password
    /// `password-{name}`).
    pub async fn client_as_existing(&self, name: &str) -> Client {
        let c = client();
        self.login(&c, name).await;
        c
    }

    /// A new client signed in as a new user with `role`.
    pub async fn client_as(&self, name: &str, role: Role) -> Client {
        self.create_user(name, role).await;
        let c = client();
        self.login(&c, name).await;
        c
    }

    /// The body of `path` fetched by `client` (an HTML page, say), as text.
    pub async fn text_as(&self, client: &Client, path: &str) -> String {
        let res = client.get(self.url(path)).send().await.expect("request");
        res.text().await.expect("a text body")
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client.get(self.url(path)).send().await.expect("GET")
    }

    pub async fn put_page(&self, path: &str, body: Value) -> Response {
        self.client
            .put(self.url(&format!("/api/v1/pages/{path}")))
            .json(&body)
            .send()
            .await
            .expect("PUT")
    }

    pub async fn post_json(&self, path: &str, body: Value) -> Response {
        self.client.post(self.url(path)).json(&body).send().await.expect("POST")
    }

    pub async fn delete(&self, path: &str) -> Response {
        self.client.delete(self.url(path)).send().await.expect("DELETE")
    }

    /// A form post as a browser sends it from one of this site's pages
    /// (with `Origin` and `Sec-Fetch-Site: same-origin`).
    pub fn browser_post(&self, client: &Client, path: &str) -> RequestBuilder {
        client
            .post(self.url(path))
            .header("origin", format!("http://{}", self.addr))
            .header("sec-fetch-site", "same-origin")
    }

    /// Posts a form from `self.client` as a browser would.
    pub async fn form(&self, path: &str, fields: &[(&str, &str)]) -> Response {
        self.browser_post(&self.client, path)
            .form(fields)
            .send()
            .await
            .expect("form POST")
    }

    /// Creates or edits a page and returns its JSON, asserting success.
    pub async fn save(&self, path: &str, markdown: &str) -> Value {
        let res = self.put_page(path, serde_json::json!({ "markdown": markdown })).await;
        let status = res.status();
        let body: Value = res.json().await.expect("JSON body");
        assert!(status.is_success(), "saving {path}: {status} {body}");
        body
    }

    pub async fn json(&self, path: &str) -> (StatusCode, Value) {
        let res = self.get(path).await;
        let status = res.status();
        (status, res.json().await.unwrap_or(Value::Null))
    }
}

impl TestApp {
    /// Stops this node as a process would stop (its server, background
    /// work and search index closed); the database stays.
    pub async fn stop(mut self) {
        self.server.abort();
        let _ = (&mut self.server).await;
        self.app.shutdown().await;
    }

    /// Waits until `check` holds (polling), panicking after `seconds`:
    /// for what arrives in the background (the search index follows the
    /// change feed). Not a speed limit: a generous bound on "never".
    pub async fn eventually<F, Fut>(&self, seconds: u64, what: &str, mut check: F)
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
        loop {
            if check().await {
                return;
            }
            assert!(std::time::Instant::now() < deadline, "never happened: {what}");
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Asserts the API error format and returns the code and error object.
pub async fn error_code(res: Response, status: StatusCode) -> (String, Value) {
    assert_eq!(res.status(), status, "status");
    let body: Value = res.json().await.expect("error body is JSON");
    let code = body["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error code in {body}"))
        .to_owned();
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(!message.is_empty(), "message in {body}");
    assert!(
        message.chars().next().is_some_and(char::is_uppercase) && message.ends_with(['.', '?', '!']),
        "the message is a sentence: {message}"
    );
    assert!(
        code.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
        "snake_case code {code}"
    );
    (code, body["error"].clone())
}
