use serde_json::json;
use vellum_app::Role;
use vellum_testkit::{client, error_code, StatusCode, TestApp};

#[tokio::test]
async fn login_sets_a_strict_cookie_and_logout_ends_the_session() {
    let t = TestApp::spawn().await;
    t.create_user("ada", Role::Editor).await;
    let res = t
        .post_json(
            "/api/v1/auth/login",
            json!({"username": "ADA", "password": "password-ada"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("vellum_session="), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert!(
        !cookie.contains("Secure"),
        "plain-HTTP test server must not mark cookies Secure"
    );
    let (status, me) = t.json("/api/v1/auth/me").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["username"], "ada");
    assert_eq!(me["role"], "editor");
    assert_eq!(me["csrf_token"].as_str().map(str::len), Some(64));

    let res = t.post_json("/api/v1/auth/logout", json!({})).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let (code, _) = error_code(t.get("/api/v1/auth/me").await, StatusCode::UNAUTHORIZED).await;
    assert_eq!(code, "unauthenticated");
}

#[tokio::test]
async fn wrong_password_and_unknown_user_get_the_same_answer() {
    let t = TestApp::spawn().await;
    t.create_user("ada", Role::Editor).await;
    for (u, p) in [("ada", "wrong-password"), ("nobody", "password-nobody")] {
        let res = t
            .post_json("/api/v1/auth/login", json!({"username": u, "password": p}))
            .await;
        let (code, err) = error_code(res, StatusCode::UNAUTHORIZED).await;
        assert_eq!(code, "invalid_credentials");
        assert_eq!(
            err["message"],
            "The user name or password is not right. Check both and try again."
        );
    }
}

#[tokio::test]
async fn anonymous_reading_is_off_by_default_and_an_admin_can_allow_it() {
    let t = TestApp::with_admin().await;
    t.save("open/page", "hello").await;
    let anon = client();
    let res = anon.get(t.url("/api/v1/pages/open/page")).send().await.unwrap();
    let (code, _) = error_code(res, StatusCode::UNAUTHORIZED).await;
    assert_eq!(code, "unauthenticated");

    let res = t
        .client
        .put(t.url("/api/v1/settings"))
        .json(&json!({"anonymous_read": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = anon.get(t.url("/api/v1/pages/open/page")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    // Reading is allowed; writing still needs an account.
    let res = anon
        .put(t.url("/api/v1/pages/open/page"))
        .json(&json!({"markdown": "vandal"}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(res, StatusCode::UNAUTHORIZED).await.0, "unauthenticated");
}

#[tokio::test]
async fn roles_decide_who_may_write_and_administer() {
    let t = TestApp::with_admin().await;
    t.save("doc", "text").await;
    let viewer = t.client_as("vera", Role::Viewer).await;
    let editor = t.client_as("ed", Role::Editor).await;

    assert_eq!(
        viewer.get(t.url("/api/v1/pages/doc")).send().await.unwrap().status(),
        StatusCode::OK
    );
    let res = viewer
        .put(t.url("/api/v1/pages/doc"))
        .json(&json!({"markdown": "changed"}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(res, StatusCode::FORBIDDEN).await.0, "forbidden");
    let res = viewer.delete(t.url("/api/v1/pages/doc")).send().await.unwrap();
    assert_eq!(error_code(res, StatusCode::FORBIDDEN).await.0, "forbidden");

    let res = editor
        .put(t.url("/api/v1/pages/doc"))
        .json(&json!({"markdown": "changed"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = editor
        .put(t.url("/api/v1/settings"))
        .json(&json!({"anonymous_read": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(res, StatusCode::FORBIDDEN).await.0, "forbidden");
    let res = editor
        .post(t.url("/api/v1/users"))
        .json(&json!({"username": "mallory", "password": "long enough", "role": "admin"}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(res, StatusCode::FORBIDDEN).await.0, "forbidden");

    let res = t
        .post_json(
            "/api/v1/users",
            json!({"username": "newbie", "password": "long enough", "role": "viewer"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let res = t
        .post_json(
            "/api/v1/users",
            json!({"username": "NEWBIE", "password": "long enough", "role": "viewer"}),
        )
        .await;
    assert_eq!(error_code(res, StatusCode::CONFLICT).await.0, "username_taken");
}

#[tokio::test]
async fn first_run_setup_creates_one_admin_once() {
    let t = TestApp::spawn().await;
    assert!(t.app.setup_required().await.unwrap());
    let token = t
        .app
        .prepare_setup()
        .await
        .unwrap()
        .expect("a setup token on an empty wiki");

    let res = t.get("/setup?token=not-the-token").await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    let page = t.get(&format!("/setup?token={token}")).await;
    assert_eq!(page.status(), StatusCode::OK);
    let form = [
        ("token", token.as_str()),
        ("username", "root"),
        ("display_name", "Root"),
        ("password", "a long password"),
        ("password_again", "a long password"),
    ];
    let res = t.form("/setup", &form).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], "/wiki/home");
    let (_, me) = t.json("/api/v1/auth/me").await;
    assert_eq!(me["role"], "admin");
    // Setup made a welcome page.
    let (status, home) = t.json("/api/v1/pages/home").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(home["title"], "Welcome to Vellum");

    assert!(!t.app.setup_required().await.unwrap());
    assert_eq!(t.app.prepare_setup().await.unwrap(), None);
    let again = client();
    let res = again.get(t.url(&format!("/setup?token={token}"))).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::CONFLICT, "setup cannot run twice");
}
