//! Test fixtures: a real Vellum server on a free loopback port, backed by a
//! fresh database, with an HTTP client that keeps cookies.
//!
//! The backend comes from `VELLUM_TEST_BACKEND` (`sqlite`, the default, or
//! `postgres`). PostgreSQL tests create a database of their own on
//! `VELLUM_TEST_PG_URL` (default `postgres://postgres@127.0.0.1:5432/test`)
//! and drop it afterwards. An unreachable PostgreSQL fails the test: it is
//! never skipped silently.
#![forbid(unsafe_code)]

use std::net::SocketAddr;
use std::path::PathBuf;

use reqwest::{Client, Response};
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

/// A fresh, empty database; removed on drop.
pub struct TestDb {
    pub url: String,
    pub backend: Backend,
    dir: PathBuf,
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
                sqlx::any::install_default_drivers();
                let admin = pg_admin_url();
                let name = format!("vellum_test_{suffix}");
                let mut conn = sqlx::AnyConnection::connect(&admin).await.unwrap_or_else(|e| {
                    panic!("PostgreSQL at {admin} is required for VELLUM_TEST_BACKEND=postgres: {e}")
                });
                sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .await
                    .expect("create a test database");
                let _ = conn.close().await;
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

impl Drop for TestDb {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
        if let Some(name) = self.pg_name.take() {
            // Drop runs outside async context; use a small runtime of its own.
            let admin = pg_admin_url();
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .ok()?;
                rt.block_on(async {
                    let mut conn = sqlx::AnyConnection::connect(&admin).await.ok()?;
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

/// A running server and a cookie-keeping client.
pub struct TestApp {
    pub addr: SocketAddr,
    pub app: App,
    pub client: Client,
    server: tokio::task::JoinHandle<()>,
    pub db: TestDb,
}

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
        let db = TestDb::new(backend).await;
        let config = AppConfig::new(db.url.clone(), std::env::temp_dir());
        let app = App::open(config)
            .await
            .unwrap_or_else(|e| panic!("open the app: {} {:?}", e.message, e.source));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a free port");
        let addr = listener.local_addr().expect("local address");
        let router = vellum_web::router(app.clone(), vellum_web::WebOptions::default());
        let server = tokio::spawn(async move {
            let _ = vellum_web::serve(listener, router, std::future::pending()).await;
        });
        TestApp {
            addr,
            app,
            client: client(),
            server,
            db,
        }
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

    /// A new client signed in as a new user with `role`.
    pub async fn client_as(&self, name: &str, role: Role) -> Client {
        self.create_user(name, role).await;
        let c = client();
        self.login(&c, name).await;
        c
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

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Asserts the API error format and returns the code.
pub async fn error_code(res: Response, status: StatusCode) -> (String, Value) {
    assert_eq!(res.status(), status, "status");
    let body: Value = res.json().await.expect("error body is JSON");
    let code = body["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error code in {body}"))
        .to_owned();
    assert!(
        body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()),
        "message in {body}"
    );
    assert!(
        code.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
        "snake_case code {code}"
    );
    (code, body["error"].clone())
}
