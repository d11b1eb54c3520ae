//! Single sign-on against a real OpenID provider (`oidc-provider` from npm,
//! `e2e/oidc-provider.mjs`) on loopback: the whole browser round trip
//! (Vellum → provider login and consent → Vellum's callback), account
//! creation, claims to role and groups, linking, refusals.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use vellum_app::{OidcConfig, Role};
use vellum_testkit::{client, error_code, TestApp, TestDb};

struct Provider {
    child: Child,
    issuer: String,
    accounts: PathBuf,
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.accounts);
    }
}

impl Provider {
    fn set_accounts(&self, accounts: &Value) {
        std::fs::write(&self.accounts, accounts.to_string()).expect("write the accounts");
    }
}

fn e2e_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../e2e")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// Starts the provider, allowed to send people back to `redirect`.
fn start_provider(redirect: &str, accounts: &Value) -> Provider {
    let dir = e2e_dir();
    assert!(
        dir.join("node_modules/oidc-provider").exists(),
        "the OpenID provider for this test is not installed: run `(cd e2e && npm ci)` (.ci/run does)"
    );
    let port = free_port();
    let file = std::env::temp_dir().join(format!("vellum-oidc-{port}-{}.json", std::process::id()));
    std::fs::write(&file, accounts.to_string()).expect("write the accounts");
    let mut child = Command::new("node")
        .arg(dir.join("oidc-provider.mjs"))
        .arg(port.to_string())
        .arg(redirect)
        .env("OIDC_ACCOUNTS_FILE", &file)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("node runs (install Node.js)");
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    out.read_line(&mut line).expect("the provider starts");
    assert_eq!(line.trim(), "ready", "the provider did not start");
    // Keep reading, so that the provider never writes into a closed pipe.
    std::thread::spawn(move || {
        let mut sink = String::new();
        while out.read_line(&mut sink).is_ok_and(|n| n > 0) {
            sink.clear();
        }
    });
    Provider {
        child,
        issuer: format!("http://127.0.0.1:{port}"),
        accounts: file,
    }
}

/// A Vellum server with single sign-on through a fresh provider.
async fn sso_app(accounts: Value, tune: impl FnOnce(&mut OidcConfig)) -> (TestApp, Provider) {
    let db = Arc::new(TestDb::new(vellum_testkit::Backend::from_env()).await);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let redirect = format!("{base}/login/sso/callback");
    let provider = start_provider(&redirect, &accounts);
    let mut oidc = OidcConfig::new(&provider.issuer, "vellum", &redirect);
    oidc.client_secret = Some("vellum-test-secret".into());
    oidc.label = "Test ID".into();
    oidc.scopes = vec!["profile".into(), "email".into(), "groups".into()];
    tune(&mut oidc);
    let t = TestApp::spawn_listening(
        listener,
        db,
        |c| c.oidc = Some(oidc),
        vellum_web::WebOptions::default(),
        vellum_web::ServerLimits::default(),
    )
    .await;
    (t, provider)
}

fn attr<'a>(html: &'a str, before: &str) -> Option<&'a str> {
    let start = html.find(before)? + before.len();
    let end = html[start..].find('"')?;
    Some(&html[start..start + end])
}

/// Goes through the provider as a browser would: its login page (any
/// name works there), its consent page, and back to Vellum. Answers
/// Vellum's response to the callback.
async fn through_provider(t: &TestApp, browser: &Client, login: &str, next: &str) -> reqwest::Response {
    let res = browser
        .get(t.url(&format!("/login/sso?next={next}")))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "the sign-in starts with a redirect"
    );
    let mut url = reqwest::Url::parse(res.headers()["location"].to_str().unwrap()).unwrap();
    assert!(
        url.query().unwrap().contains("code_challenge_method=S256"),
        "PKCE: {url}"
    );
    let callback = t.url("/login/sso/callback");
    let mut res = browser.get(url.clone()).send().await.unwrap();
    for _ in 0..12 {
        if res.status().is_redirection() {
            url = url.join(res.headers()["location"].to_str().unwrap()).unwrap();
            if url.as_str().starts_with(&callback) {
                return browser.get(url).send().await.unwrap();
            }
            res = browser.get(url.clone()).send().await.unwrap();
            continue;
        }
        assert_eq!(res.status(), StatusCode::OK, "the provider shows a page");
        let html = res.text().await.unwrap();
        let action = attr(&html, "action=\"").expect("a form at the provider");
        let prompt = attr(&html, "name=\"prompt\" value=\"").expect("the provider's prompt");
        url = url.join(action).unwrap();
        let form: Vec<(&str, &str)> = match prompt {
            "login" => vec![("prompt", "login"), ("login", login), ("password", "anything")],
            other => vec![("prompt", other)],
        };
        res = browser.post(url.clone()).form(&form).send().await.unwrap();
    }
    panic!("the provider never sent the browser back");
}

async fn me(t: &TestApp, browser: &Client) -> Value {
    let res = browser.get(t.url("/api/v1/auth/me")).send().await.unwrap();
    assert_eq!(res.status(), 200, "signed in");
    res.json().await.unwrap()
}

async fn audit(t: &TestApp, query: &str) -> Vec<Value> {
    let (_, body) = t.json(&format!("/api/v1/audit?{query}")).await;
    body["items"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn sso_round_trip_makes_the_account_and_follows_its_claims() {
    let accounts = json!({"ann": {"name": "Ann Lee", "email": "ann@example.test", "groups": ["eng", "wiki-writers", "nobody-made-this"]}});
    let (t, provider) = sso_app(accounts, |c| {
        c.roles = vec![("wiki-writers".into(), Role::Editor)];
        c.sync_groups = true;
    })
    .await;
    t.create_user("admin", Role::Admin).await;
    t.login(&t.client, "admin").await;
    assert_eq!(
        t.post_json("/api/v1/groups", json!({"name": "eng"})).await.status(),
        201
    );
    assert_eq!(
        t.post_json("/api/v1/groups", json!({"name": "ops"})).await.status(),
        201
    );
    // The sign-in page offers the provider beside the password form.
    let page = client()
        .get(t.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Sign in with Test ID") && page.contains("name=\"password\""),
        "{page}"
    );

    let browser = client();
    let res = through_provider(&t, &browser, "ann", "/wiki/start").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        res.headers()["location"],
        "/wiki/start",
        "back where the user was going"
    );
    let who = me(&t, &browser).await;
    assert_eq!(who["username"], "ann");
    assert_eq!(who["display_name"], "Ann Lee");
    assert_eq!(who["role"], "editor", "the group claim decided the role: {who}");
    let (_, user) = t.json("/api/v1/users/ann").await;
    assert_eq!(user["email"], "ann@example.test");
    let groups: Vec<&str> = user["groups"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(groups, ["eng"], "only groups that exist in Vellum: {user}");
    assert_eq!(audit(&t, "action=user.created_by_sso").await.len(), 1);
    let signed_in = audit(&t, "action=auth.signed_in&actor=ann").await;
    assert_eq!(signed_in[0]["details"]["via"], "single sign-on", "{signed_in:?}");
    // An SSO account has no password: the password form does not open it.
    let res = client()
        .post(t.url("/api/v1/auth/login"))
        .json(&json!({"username": "ann", "password": "anything"}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(res, StatusCode::UNAUTHORIZED).await.0, "invalid_credentials");

    // Next sign-in: the same account, with the claims as they are now.
    provider.set_accounts(&json!({"ann": {"name": "Ann Lee", "email": "ann@example.test", "groups": ["ops"]}}));
    let again = client();
    let res = through_provider(&t, &again, "ann", "/").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let who = me(&t, &again).await;
    assert_eq!(who["username"], "ann", "not a second account");
    assert_eq!(who["role"], "viewer", "no mapped group: the default role");
    let (_, user) = t.json("/api/v1/users/ann").await;
    assert_eq!(user["groups"], json!(["ops"]));
    let (_, list) = t.json("/api/v1/users?q=ann").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);

    // A local account keeps signing in with its password beside SSO.
    t.create_user("local", Role::Editor).await;
    let local = client();
    t.login(&local, "local").await;
    assert_eq!(me(&t, &local).await["username"], "local");

    // Disabled: the provider's word no longer opens the wiki.
    let res = t
        .client
        .patch(t.url("/api/v1/users/ann"))
        .json(&json!({"disabled": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(again.get(t.url("/api/v1/auth/me")).send().await.unwrap().status(), 401);
    let res = through_provider(&t, &client(), "ann", "/").await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(res.text().await.unwrap().contains("disabled"));
}

#[tokio::test]
async fn sso_refuses_forged_or_foreign_callbacks() {
    let (t, _provider) = sso_app(json!({}), |_| {}).await;
    // A callback with no sign-in started in this browser.
    let res = client()
        .get(t.url("/login/sso/callback?code=abc&state=def"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(res.text().await.unwrap().contains("Start again"));
    // A sign-in started here but finished with another state.
    let browser = client();
    let res = browser.get(t.url("/login/sso")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let res = browser
        .get(t.url("/login/sso/callback?code=abc&state=forged"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    // The right state but a code the provider never issued.
    let res = browser.get(t.url("/login/sso")).send().await.unwrap();
    let location = reqwest::Url::parse(res.headers()["location"].to_str().unwrap()).unwrap();
    let state = location
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    let res = browser
        .get(t.url(&format!("/login/sso/callback?code=made-up&state={state}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(res.text().await.unwrap().contains("did not accept"));
    // An answer from another provider (RFC 9207).
    let res = browser
        .get(t.url(&format!(
            "/login/sso/callback?code=x&state={state}&iss=https%3A%2F%2Fevil.example"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    // The provider said no.
    let res = browser
        .get(t.url("/login/sso/callback?error=access_denied"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(res.text().await.unwrap().contains("cancelled"));
    // Nobody was signed in by any of it.
    assert_eq!(
        browser.get(t.url("/api/v1/auth/me")).send().await.unwrap().status(),
        401
    );
}

#[tokio::test]
async fn without_account_creation_only_accounts_an_administrator_made_can_sign_in() {
    let accounts = json!({
        "bo": {"email": "bo@example.test"},
        "cy": {"email": "cy@example.test", "email_verified": false},
        "stranger": {"email": "stranger@example.test"}
    });
    let (t, _provider) = sso_app(accounts, |c| c.create_users = false).await;
    t.create_user("admin", Role::Admin).await;
    t.login(&t.client, "admin").await;
    for (name, email) in [("robert", "BO@example.test"), ("cyril", "cy@example.test")] {
        let res = t
            .post_json(
                "/api/v1/users",
                json!({"username": name, "password": "a long password", "role": "editor", "email": email}),
            )
            .await;
        assert_eq!(res.status(), 201);
    }
    // Linked by the verified e-mail address, once; then by subject.
    for _ in 0..2 {
        let browser = client();
        let res = through_provider(&t, &browser, "bo", "/").await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert_eq!(me(&t, &browser).await["username"], "robert");
    }
    assert_eq!(audit(&t, "action=user.linked_to_sso").await.len(), 1);
    // An address the provider has not verified links nothing.
    let res = through_provider(&t, &client(), "cy", "/").await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = through_provider(&t, &client(), "stranger", "/").await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(res.text().await.unwrap().contains("no account"));
    let (_, list) = t.json("/api/v1/users").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 3, "nobody was made: {list}");
}

#[tokio::test]
async fn a_wiki_without_sso_has_no_sso_pages() {
    let t = TestApp::spawn().await;
    assert_eq!(client().get(t.url("/login/sso")).send().await.unwrap().status(), 404);
    assert_eq!(
        client()
            .get(t.url("/login/sso/callback?code=a&state=b"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    let page = client()
        .get(t.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!page.contains("Sign in with"));
}
