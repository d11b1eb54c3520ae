//! Several nodes on one database (two servers in this process, each with
//! its own pool, caches and change-feed follower): what one does, the other
//! sees.

use std::time::Duration;

use serde_json::json;
use vellum_app::{NewAccount, Role};
use vellum_testkit::{client, StatusCode, TestApp};

/// Polls `check` until it holds, for at most a few seconds (nodes learn of
/// each other's changes through the change feed, not at once).
async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    for _ in 0..200 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("{what} did not happen within 5 s");
}

#[tokio::test]
async fn signing_out_on_one_node_ends_the_session_on_every_node() {
    let a = TestApp::spawn().await;
    let b = a.another_node().await;
    a.create_user("ada", Role::Editor).await;
    let res = client()
        .post(a.url("/api/v1/auth/login"))
        .json(&json!({"username": "ada", "password": "password-ada"}))
        .send()
        .await
        .unwrap();
    let cookie = res.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let me = async |node: &TestApp| {
        reqwest::Client::new()
            .get(node.url("/api/v1/auth/me"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap()
            .status()
    };
    // Both nodes know (and cache) the session.
    for _ in 0..3 {
        assert_eq!(me(&a).await, StatusCode::OK);
        assert_eq!(me(&b).await, StatusCode::OK);
    }
    let res = reqwest::Client::new()
        .post(a.url("/api/v1/auth/logout"))
        .header("cookie", &cookie)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        me(&a).await,
        StatusCode::UNAUTHORIZED,
        "at once on the node that signed out"
    );
    // On the other node, as soon as its change feed delivers the event
    // (a cache lifetime is 60 s: this is not the cache expiring).
    eventually("node B refusing the ended session", async || {
        me(&b).await == StatusCode::UNAUTHORIZED
    })
    .await;
}

#[tokio::test]
async fn a_renamed_page_shows_its_new_title_in_every_nodes_sidebar() {
    let a = TestApp::with_admin().await;
    let b = a.another_node().await;
    b.login(&b.client, "admin").await;
    a.save("team/alpha", "x").await;
    a.save("team/beta", "y").await;
    let page = b.get("/wiki/team/beta").await.text().await.unwrap();
    assert!(page.contains(">Alpha</a>"), "B caches the sidebar");
    a.put_page("team/alpha", json!({"markdown": "x", "title": "Renamed Alpha"}))
        .await;
    // Same node: at once.
    let page = a.get("/wiki/team/beta").await.text().await.unwrap();
    assert!(
        page.contains(">Renamed Alpha</a>"),
        "the editing node's sidebar is current"
    );
    eventually("node B's sidebar showing the new title", async || {
        b.get("/wiki/team/beta")
            .await
            .text()
            .await
            .unwrap()
            .contains(">Renamed Alpha</a>")
    })
    .await;
    // A new page appears in the other node's sidebar too.
    a.save("team/gamma", "z").await;
    eventually("node B's sidebar listing the new page", async || {
        b.get("/wiki/team/beta")
            .await
            .text()
            .await
            .unwrap()
            .contains("/wiki/team/gamma")
    })
    .await;
}

#[tokio::test]
async fn a_settings_change_on_one_node_applies_on_the_other() {
    let a = TestApp::with_admin().await;
    let b = a.another_node().await;
    a.save("open", "hello").await;
    let anon = client();
    assert_eq!(
        anon.get(b.url("/api/v1/pages/open")).send().await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    let res = a
        .client
        .put(a.url("/api/v1/settings"))
        .json(&json!({"anonymous_read": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    eventually("node B letting anonymous visitors read", async || {
        anon.get(b.url("/api/v1/pages/open")).send().await.unwrap().status() == StatusCode::OK
    })
    .await;
}

#[tokio::test]
async fn every_nodes_setup_link_works_until_one_is_used() {
    let a = TestApp::spawn().await;
    let b = a.another_node().await;
    let token_a = a.app.prepare_setup().await.unwrap().expect("a setup token");
    let token_b = b.app.prepare_setup().await.unwrap().expect("a setup token");
    assert_ne!(token_a, token_b);
    // Node B's link, opened on node A.
    assert_eq!(a.get(&format!("/setup?token={token_b}")).await.status(), StatusCode::OK);
    assert_eq!(b.get(&format!("/setup?token={token_a}")).await.status(), StatusCode::OK);
    let res = a
        .form(
            "/setup",
            &[
                ("token", token_b.as_str()),
                ("username", "root"),
                ("display_name", ""),
                ("password", "a long password"),
                ("password_again", "a long password"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    // Both links are used up now.
    for (node, token) in [(&a, &token_a), (&b, &token_b), (&b, &token_a)] {
        assert_eq!(
            client()
                .get(node.url(&format!("/setup?token={token}")))
                .send()
                .await
                .unwrap()
                .status(),
            StatusCode::CONFLICT
        );
    }
}

#[tokio::test]
async fn parallel_setups_make_exactly_one_administrator() {
    let a = TestApp::spawn().await;
    let b = a.another_node().await;
    let tokens = [
        a.app.prepare_setup().await.unwrap().unwrap(),
        b.app.prepare_setup().await.unwrap().unwrap(),
    ];
    let mut tasks = Vec::new();
    for i in 0..6 {
        let app = if i % 2 == 0 { a.app.clone() } else { b.app.clone() };
        let token = tokens[i % 2].clone();
        tasks.push(tokio::spawn(async move {
            let name = format!("root{i}");
            app.complete_setup(
                &token,
                NewAccount {
                    username: &name,
                    display_name: None,
                    password: "a long password",
                    role: Role::Admin,
                    email: None,
                },
            )
            .await
            .map(|_| ())
            .map_err(|e| e.code)
        }));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(()) => ok += 1,
            Err(code) => assert!(
                matches!(code, vellum_app::Code::SetupDone | vellum_app::Code::InvalidSetupToken),
                "a losing setup fails cleanly, not with {code:?}"
            ),
        }
    }
    assert_eq!(ok, 1, "exactly one setup succeeded");
    assert_eq!(a.db.scalar("SELECT COUNT(*) FROM users").await, 1);
    assert_eq!(
        a.db.scalar("SELECT COUNT(*) FROM pages WHERE path = 'home'").await,
        1,
        "one welcome page"
    );
}
