//! Notification mail against a real SMTP server on loopback (aiosmtpd,
//! from PyPI, started here): one mail per burst, daily digests, the
//! content, and unsubscribing from the mail's own link.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use vellum_app::{MailConfig, Role, WorkerOptions};
use vellum_testkit::{client, Backend, TestApp, TestDb};

/// An aiosmtpd server writing what it receives into a maildir.
struct Smtp {
    child: Child,
    port: u16,
    maildir: PathBuf,
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The Python with aiosmtpd: `VELLUM_TEST_PYTHON` (`.ci/run` makes a
/// virtual environment for it), else `python3`.
fn python() -> String {
    std::env::var("VELLUM_TEST_PYTHON").unwrap_or_else(|_| "python3".into())
}

async fn smtp(dir: &Path) -> Smtp {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let maildir = dir.join(format!("maildir-{port}"));
    let child = Command::new(python())
        .args([
            "-m",
            "aiosmtpd",
            "-n",
            "-l",
            &format!("127.0.0.1:{port}"),
            "-c",
            "aiosmtpd.handlers.Mailbox",
        ])
        .arg(&maildir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start aiosmtpd (pip install aiosmtpd, or run .ci/run, which sets VELLUM_TEST_PYTHON)");
    let mut s = Smtp { child, port, maildir };
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return s;
        }
        if let Ok(Some(status)) = s.child.try_wait() {
            let mut err = String::new();
            if let Some(mut e) = s.child.stderr.take() {
                use std::io::Read;
                let _ = e.read_to_string(&mut err);
            }
            panic!(
                "aiosmtpd exited ({status}): {err}\nInstall it (pip install aiosmtpd==1.4.6) and point VELLUM_TEST_PYTHON at that Python"
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("aiosmtpd did not start listening on {port}");
}

/// The mails received so far, as raw text.
fn mails(s: &Smtp) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(s.maildir.join("new")) else {
        return Vec::new();
    };
    let mut out: Vec<(std::time::SystemTime, String)> = entries
        .flatten()
        .map(|e| {
            (
                e.metadata().and_then(|m| m.modified()).unwrap_or(std::time::UNIX_EPOCH),
                std::fs::read_to_string(e.path()).unwrap_or_default(),
            )
        })
        .collect();
    out.sort();
    out.into_iter().map(|(_, m)| m).collect()
}

/// Undoes quoted-printable soft breaks and `=3D`, enough to read links.
fn unfold(mail: &str) -> String {
    mail.replace("=\r\n", "").replace("=\n", "").replace("=3D", "=")
}

fn quick() -> WorkerOptions {
    vellum_testkit::quick_workers()
}

#[tokio::test]
async fn a_burst_of_edits_is_one_mail_with_both_bodies_and_an_unsubscribe_link_that_works() {
    let db = Arc::new(TestDb::new(Backend::from_env()).await);
    let server = smtp(&db.dir).await;
    let port = server.port;
    let t = TestApp::spawn_with(db.clone(), move |c| {
        let mut m = MailConfig::new(format!("smtp://127.0.0.1:{port}"), "Team wiki <wiki@example.com>");
        m.batch = Duration::from_secs(1);
        c.mail = Some(m);
        c.public_url = Some("http://wiki.example".into());
    })
    .await;
    t.create_user("admin", Role::Admin).await;
    t.login(&t.client, "admin").await;
    let ann = t.client_as("ann", Role::Editor).await;
    let res = t
        .client
        .patch(t.url("/api/v1/users/ann"))
        .json(&json!({"email": "ann@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let workers = t.app.start_workers(quick());
    t.save("ops/release", "# Release\n\nv1").await;
    t.eventually(30, "the creation's fan-out ran", || async {
        t.db.scalar("SELECT COUNT(*) FROM jobs").await == 0
    })
    .await;
    let res = ann
        .put(t.url("/api/v1/pages/ops/release/-/watch"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let (_, settings) = t.json("/api/v1/notifications/settings").await;
    assert_eq!(settings["mail_enabled"], true);

    // A burst: five edits within the batching window.
    for i in 2..=6 {
        t.save("ops/release", &format!("# Release\n\nv{i}")).await;
    }
    t.eventually(30, "the mail arrived", || async { !mails(&server).is_empty() })
        .await;
    // Nothing else is on its way (the mail job is done and nothing waits).
    t.eventually(30, "the queue is empty", || async {
        t.db.scalar("SELECT COUNT(*) FROM jobs").await == 0
    })
    .await;
    let got = mails(&server);
    assert_eq!(got.len(), 1, "one mail for the burst: {got:#?}");
    let mail = unfold(&got[0]);
    assert!(mail.contains("To: ann <ann@example.com>"), "{mail}");
    assert!(
        mail.contains("From: \"Team wiki\" <wiki@example.com>") || mail.contains("From: Team wiki <wiki@example.com>"),
        "{mail}"
    );
    assert!(mail.contains("Subject: Release: 5 changes by admin"), "{mail}");
    assert!(mail.contains("Content-Type: text/plain"), "{mail}");
    assert!(mail.contains("Content-Type: text/html"), "{mail}");
    assert!(mail.contains("http://wiki.example/wiki/ops/release"), "{mail}");
    assert!(
        mail.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"),
        "{mail}"
    );
    let start = mail
        .find("http://wiki.example/notifications/unsubscribe?token=")
        .expect("an unsubscribe link");
    let link: String = mail[start..]
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != '>' && *c != '"' && *c != '<')
        .collect();
    // The notifications are marked mailed: the next burst starts afresh.
    assert_eq!(
        t.db.scalar("SELECT COUNT(*) FROM notifications WHERE mailed_at IS NOT NULL")
            .await,
        5
    );

    // One click from the mail program (no session, no browser headers).
    let token = link.split("token=").nth(1).unwrap().to_owned();
    let res = client()
        .post(t.url(&format!("/notifications/unsubscribe?token={token}")))
        .form(&[("List-Unsubscribe", "One-Click")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap().contains("No more notification mail for"));
    let res = ann.get(t.url("/api/v1/notifications/settings")).send().await.unwrap();
    assert_eq!(res.json::<serde_json::Value>().await.unwrap()["email"], "off");
    // A forged token changes nothing.
    let res = client()
        .post(t.url("/notifications/unsubscribe?token=eyJhbGciOiJIUzI1NiJ9.e30.forged"))
        .form(&[("List-Unsubscribe", "One-Click")])
        .send()
        .await
        .unwrap();
    assert_ne!(res.status(), StatusCode::OK);
    // Unsubscribed: notifications still come, mail does not.
    t.save("ops/release", "# Release\n\nv7").await;
    t.eventually(30, "the notification is there", || async {
        t.db.scalar("SELECT COUNT(*) FROM notifications").await == 6
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(mails(&server).len(), 1);
    workers.stop().await;
}

#[tokio::test]
async fn daily_digests_wait_for_their_hour_and_then_gather_the_day() {
    let db = Arc::new(TestDb::new(Backend::from_env()).await);
    let server = smtp(&db.dir).await;
    let port = server.port;
    let t = TestApp::spawn_with(db.clone(), move |c| {
        let mut m = MailConfig::new(format!("smtp://127.0.0.1:{port}"), "wiki@example.com");
        m.batch = Duration::from_secs(1);
        m.digest_hour = 7;
        c.mail = Some(m);
        c.public_url = Some("http://wiki.example".into());
    })
    .await;
    t.create_user("admin", Role::Admin).await;
    t.login(&t.client, "admin").await;
    let dee = t.client_as("dee", Role::Editor).await;
    t.client
        .patch(t.url("/api/v1/users/dee"))
        .json(&json!({"email": "dee@example.com"}))
        .send()
        .await
        .unwrap();
    let res = dee
        .put(t.url("/api/v1/notifications/settings"))
        .json(&json!({"email": "daily"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = dee
        .put(t.url("/api/v1/notifications/settings"))
        .json(&json!({"email": "hourly"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let res = dee.put(t.url("/api/v1/folders/-/watch")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let workers = t.app.start_workers(quick());
    t.save("a/one", "# One").await;
    t.save("b/two", "# Two").await;
    t.eventually(30, "the digest is queued for its hour", || async {
        t.db.scalar("SELECT COUNT(*) FROM jobs WHERE kind = 'mail.notifications'")
            .await
            == 1
            && t.db
                .scalar("SELECT COUNT(*) FROM jobs WHERE kind = 'notify.fanout'")
                .await
                == 0
    })
    .await;
    // The job waits for the next 07:00 UTC.
    let now_ms = vellum_core::Timestamp::now().as_millis();
    let day = 86_400_000;
    let seven = now_ms.div_euclid(day) * day + 7 * 3_600_000;
    let expected = if seven > now_ms { seven } else { seven + day };
    let run_at =
        t.db.scalar(&match t.db.backend {
            Backend::Sqlite => "SELECT run_at FROM jobs WHERE kind = 'mail.notifications'".to_owned(),
            Backend::Postgres => {
                "SELECT (EXTRACT(EPOCH FROM run_at) * 1000)::bigint FROM jobs WHERE kind = 'mail.notifications'"
                    .to_owned()
            }
        })
        .await;
    assert_eq!(run_at, expected, "the digest goes out at the digest hour");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(mails(&server).is_empty(), "nothing before the hour");
    // The hour comes (the clock is the job's run_at, moved here).
    t.db.execute(&format!(
        "UPDATE jobs SET run_at = {} WHERE kind = 'mail.notifications'",
        t.db.time_literal_ms(now_ms - 1000)
    ))
    .await;
    t.eventually(30, "the digest arrived", || async { !mails(&server).is_empty() })
        .await;
    let mail = unfold(&mails(&server)[0]);
    // The two fan-outs may run in either order: either page comes first.
    assert!(
        mail.contains("Subject: 2 pages: One and 1 more") || mail.contains("Subject: 2 pages: Two and 1 more"),
        "{mail}"
    );
    assert!(mail.contains("http://wiki.example/wiki/a/one") && mail.contains("http://wiki.example/wiki/b/two"));
    workers.stop().await;
}

#[tokio::test]
async fn a_forgotten_password_is_reset_from_a_mailed_link_once() {
    let db = Arc::new(TestDb::new(Backend::from_env()).await);
    let server = smtp(&db.dir).await;
    let port = server.port;
    let t = TestApp::spawn_with(db.clone(), move |c| {
        c.mail = Some(MailConfig::new(format!("smtp://127.0.0.1:{port}"), "wiki@example.com"));
        c.public_url = Some("http://wiki.example".into());
    })
    .await;
    t.create_user("admin", Role::Admin).await;
    t.login(&t.client, "admin").await;
    let eve = t.client_as("eve", Role::Editor).await;
    t.client
        .patch(t.url("/api/v1/users/eve"))
        .json(&json!({"email": "Eve@Example.com"}))
        .send()
        .await
        .unwrap();
    let workers = t.app.start_workers(quick());
    // The same answer for an account, an unknown name and an address.
    let ask = |login: &'static str| {
        let url = t.url("/api/v1/auth/password-reset");
        async move {
            let res = client()
                .post(url)
                .json(&json!({ "login": login }))
                .send()
                .await
                .unwrap();
            (res.status(), res.text().await.unwrap())
        }
    };
    let (a, body_a) = ask("nobody-here").await;
    let (b, body_b) = ask("eve@example.com").await;
    assert_eq!((a, &body_a), (b, &body_b));
    assert_eq!(a, StatusCode::ACCEPTED);
    ask("eve").await; // asked twice: still one link on its way
    t.eventually(30, "the reset mail arrived", || async { !mails(&server).is_empty() })
        .await;
    t.eventually(30, "the queue is empty", || async {
        t.db.scalar("SELECT COUNT(*) FROM jobs WHERE queue = 'mail'").await == 0
    })
    .await;
    let got = mails(&server);
    assert!(got.len() <= 2, "{got:#?}");
    let mail = unfold(got.last().unwrap());
    assert!(mail.contains("To: eve <Eve@Example.com>"), "{mail}");
    assert!(mail.contains("Subject: Set a new password"));
    let start = mail.find("http://wiki.example/reset-password?token=").expect("a link");
    let token: String = mail[start..]
        .split("token=")
        .nth(1)
        .unwrap()
        .chars()
        .take_while(|c| c.is_ascii_hexdigit())
        .collect();
    assert_eq!(token.len(), 64);
    assert_eq!(
        t.db.scalar(&format!(
            "SELECT COUNT(*) FROM password_resets WHERE token_hash = '{token}'"
        ))
        .await,
        0,
        "only the token's hash is stored"
    );
    // A weak password is refused and the link still works.
    let confirm = |password: &'static str| {
        let url = t.url("/api/v1/auth/password-reset/confirm");
        let token = token.clone();
        async move {
            client()
                .post(url)
                .json(&json!({ "token": token, "password": password }))
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(confirm("short").await, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(confirm("a brand new passphrase").await, StatusCode::NO_CONTENT);
    assert_eq!(
        confirm("yet another passphrase").await,
        StatusCode::UNAUTHORIZED,
        "once only"
    );
    // Eve's old session ended; the new password signs in.
    let res = eve.get(t.url("/api/v1/auth/me")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = client()
        .post(t.url("/api/v1/auth/login"))
        .json(&json!({"username": "eve", "password": "a brand new passphrase"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let (_, audit) = t.json("/api/v1/audit?action=auth.password_reset").await;
    assert!(!audit["items"].as_array().unwrap().is_empty());
    // The pages: the request form and the new-password form.
    let page = client()
        .get(t.url("/reset-password"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Mail me a link"));
    let page = client()
        .get(t.url("/reset-password?token=0000"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Set a new password"));
    let res = client()
        .post(t.url("/reset-password"))
        .form(&[
            ("action", "set"),
            ("token", "0000"),
            ("password", "whatever passphrase"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(res.text().await.unwrap().contains("not valid any more"));
    workers.stop().await;
}

#[tokio::test]
async fn without_mail_a_reset_says_to_ask_an_administrator() {
    let t = TestApp::spawn().await;
    let res = client()
        .post(t.url("/api/v1/auth/password-reset"))
        .json(&json!({"login": "anyone"}))
        .send()
        .await
        .unwrap();
    let (code, err) = vellum_testkit::error_code(res, StatusCode::CONFLICT).await;
    assert_eq!(code, "mail_unavailable");
    assert!(err["message"].as_str().unwrap().contains("administrator"));
}

/// The harness's burst: a thousand edits to a watched folder make one
/// digest mail per watcher.
#[tokio::test]
async fn a_thousand_edits_to_a_watched_folder_make_one_digest_per_watcher() {
    let db = Arc::new(TestDb::new(Backend::from_env()).await);
    let server = smtp(&db.dir).await;
    let port = server.port;
    let t = TestApp::spawn_with(db.clone(), move |c| {
        let mut m = MailConfig::new(format!("smtp://127.0.0.1:{port}"), "wiki@example.com");
        m.batch = Duration::from_secs(1);
        c.mail = Some(m);
        c.public_url = Some("http://wiki.example".into());
    })
    .await;
    t.create_user("admin", Role::Admin).await;
    t.login(&t.client, "admin").await;
    let workers = t.app.start_workers(quick());
    for name in ["wa", "wb", "wc"] {
        let c = t.client_as(name, Role::Viewer).await;
        t.client
            .patch(t.url(&format!("/api/v1/users/{name}")))
            .json(&json!({"email": format!("{name}@example.com")}))
            .send()
            .await
            .unwrap();
        let res = c
            .put(t.url("/api/v1/notifications/settings"))
            .json(&json!({"email": "daily"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let res = c.put(t.url("/api/v1/folders/big/-/watch")).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
    }
    for i in 0..1000 {
        t.save(
            &format!("big/page-{}", i % 10),
            &format!("# Page {}\n\nedit {i}", i % 10),
        )
        .await;
    }
    t.eventually(120, "every fan-out ran", || async {
        t.db.scalar("SELECT COUNT(*) FROM jobs WHERE kind = 'notify.fanout'")
            .await
            == 0
    })
    .await;
    assert_eq!(t.db.scalar("SELECT COUNT(*) FROM notifications").await, 3000);
    assert_eq!(
        t.db.scalar("SELECT COUNT(*) FROM jobs WHERE kind = 'mail.notifications'")
            .await,
        3,
        "one waiting digest per watcher"
    );
    t.db.execute(&format!(
        "UPDATE jobs SET run_at = {} WHERE kind = 'mail.notifications'",
        t.db.time_literal_ms(vellum_core::Timestamp::now().as_millis() - 1000)
    ))
    .await;
    t.eventually(60, "three digests", || async { mails(&server).len() == 3 })
        .await;
    t.eventually(60, "the mail queue is empty", || async {
        t.db.scalar("SELECT COUNT(*) FROM jobs WHERE kind = 'mail.notifications'")
            .await
            == 0
    })
    .await;
    assert_eq!(mails(&server).len(), 3);
    let mail = unfold(&mails(&server)[0]);
    assert!(mail.contains("Subject: 10 pages:"), "{mail}");
    assert!(mail.contains("100 changes by admin"), "{mail}");
    assert_eq!(
        t.db.scalar("SELECT COUNT(*) FROM notifications WHERE mailed_at IS NULL")
            .await,
        0
    );
    workers.stop().await;
}
