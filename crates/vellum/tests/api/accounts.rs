//! Accounts and identity through real HTTP: sign-in protection, password
//! rules, administrators' account management (disable ends everything on
//! every node), self-service, sessions, personal API tokens and their
//! scopes, access and refresh tokens with reuse detection, two-factor
//! sign-in, the audit log, rate limits and trusted proxies.

use std::sync::Arc;
use std::time::Duration;

use reqwest::{Client, StatusCode as S};
use serde_json::{json, Value};
use vellum_app::Role;
use vellum_testkit::{client, error_code, StatusCode, TestApp, TestDb};

async fn post(t: &TestApp, c: &Client, path: &str, body: Value) -> reqwest::Response {
    c.post(t.url(path)).json(&body).send().await.unwrap()
}

async fn get_json(t: &TestApp, c: &Client, path: &str) -> (S, Value) {
    let res = c.get(t.url(path)).send().await.unwrap();
    let s = res.status();
    (s, res.json().await.unwrap_or(Value::Null))
}

fn bearer(t: &TestApp, token: &str, path: &str) -> reqwest::RequestBuilder {
    client().get(t.url(path)).bearer_auth(token)
}

async fn login_as(t: &TestApp, name: &str, password: &str) -> reqwest::Response {
    post(
        t,
        &client(),
        "/api/v1/auth/login",
        json!({"username": name, "password": password}),
    )
    .await
}

async fn audit(t: &TestApp, query: &str) -> Vec<Value> {
    let (s, body) = get_json(t, &t.client, &format!("/api/v1/audit?limit=500&{query}")).await;
    assert_eq!(s, 200, "{body}");
    body["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn failed_sign_ins_lock_with_growing_delays_and_the_same_answer_for_unknown_names() {
    let t = TestApp::with_admin().await;
    t.create_user("ann", Role::Editor).await;
    for (name, i) in [("ann", 0), ("nobody", 1)] {
        // Five failures are answered as failures, the same for an unknown
        // name as for a wrong password.
        let mut messages = Vec::new();
        for _ in 0..5 {
            let res = login_as(&t, name, "wrong password").await;
            let (code, err) = error_code(res, StatusCode::UNAUTHORIZED).await;
            assert_eq!(code, "invalid_credentials");
            messages.push(err["message"].clone());
        }
        assert!(messages.windows(2).all(|w| w[0] == w[1]));
        // Then the name is locked: 429 with Retry-After, and not even the
        // right password gets in meanwhile.
        let res = login_as(&t, name, &format!("password-{name}")).await;
        assert_eq!(res.status(), 429, "{name} (case {i})");
        let wait: u64 = res.headers()["retry-after"].to_str().unwrap().parse().unwrap();
        assert_eq!(wait, 1);
        assert_eq!(error_code(res, StatusCode::TOO_MANY_REQUESTS).await.0, "rate_limited");
        tokio::time::sleep(Duration::from_millis(1100)).await;
        // One more failure doubles the lock.
        let res = login_as(&t, name, "wrong password").await;
        assert_eq!(res.status(), 401);
        let res = login_as(&t, name, "wrong password").await;
        assert_eq!(res.status(), 429);
        assert_eq!(res.headers()["retry-after"], "2");
    }
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let res = login_as(&t, "ann", "password-ann").await;
    assert_eq!(
        res.status(),
        200,
        "after the lock, the right password works and clears the count"
    );
    let res = login_as(&t, "ann", "wrong password").await;
    assert_eq!(res.status(), 401, "the count started again");
    // All of it is in the audit log, with the address.
    let failed = audit(&t, "action=auth.sign_in_failed").await;
    // Six per name (five, then one after the first lock), and the last one.
    assert_eq!(failed.len(), 13, "{failed:?}");
    assert_eq!(failed[0]["target"], "user:ann");
    assert_eq!(failed[0]["ip"], "127.0.0.1");
    let locked = audit(&t, "action=auth.locked").await;
    assert!(locked.iter().any(|e| e["target"] == "user:ann"), "{locked:?}");
    assert!(locked.iter().any(|e| e["target"] == "user:nobody"), "{locked:?}");
    let signed_in = audit(&t, "action=auth.signed_in&actor=ann").await;
    assert_eq!(signed_in.len(), 1);
}

#[tokio::test]
async fn many_failures_from_one_address_lock_the_address() {
    let t = TestApp::with_admin().await;
    t.create_user("bea", Role::Editor).await;
    for i in 0..20 {
        let res = login_as(&t, &format!("user{i}"), "wrong password").await;
        assert_eq!(res.status(), 401, "attempt {i}");
    }
    let res = login_as(&t, "bea", "password-bea").await;
    assert_eq!(res.status(), 429, "the address is locked, whatever the name");
    assert!(audit(&t, "action=auth.locked")
        .await
        .iter()
        .any(|e| e["target"] == "ip:127.0.0.1"));
}

#[tokio::test]
async fn passwords_are_checked_against_common_ones() {
    let t = TestApp::with_admin().await;
    for (password, why) in [
        ("password", "common"),
        ("trustno1", "common"),
        ("Baseball", "common"),
        ("ann", "short"),
    ] {
        let res = t
            .post_json(
                "/api/v1/users",
                json!({"username": "ann", "password": password, "role": "viewer"}),
            )
            .await;
        let (code, _) = error_code(res, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(code, "invalid_password", "{password} ({why})");
    }
    let res = t
        .post_json(
            "/api/v1/users",
            json!({"username": "carol", "password": "Carol", "role": "viewer"}),
        )
        .await;
    assert_eq!(res.status(), 422);
    let res = t
        .post_json(
            "/api/v1/users",
            json!({"username": "carol", "password": "carolcarol", "role": "viewer", "email": "not an address"}),
        )
        .await;
    assert_eq!(
        error_code(res, StatusCode::UNPROCESSABLE_ENTITY).await.0,
        "invalid_email"
    );
    let res = t
        .post_json(
            "/api/v1/users",
            json!({"username": "carol", "password": "a long passphrase", "role": "commenter", "email": "c@example.com", "display_name": "Carol C."}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["role"], "commenter");
    assert_eq!(body["display_name"], "Carol C.");
}

#[tokio::test]
async fn disabling_an_account_ends_its_sessions_and_tokens_on_every_node() {
    let t = TestApp::with_admin().await;
    let other = t.another_node().await;
    t.create_user("dan", Role::Editor).await;
    // A session on the other node, a personal token, and an access token.
    other.login(&other.client, "dan").await;
    let res = post(
        &other,
        &other.client,
        "/api/v1/tokens",
        json!({"name": "ci", "scopes": ["write"]}),
    )
    .await;
    assert_eq!(res.status(), 201);
    let pat = res.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned();
    let res = post(
        &t,
        &client(),
        "/api/v1/auth/token",
        json!({"username": "dan", "password": "password-dan"}),
    )
    .await;
    let pair: Value = res.json().await.unwrap();
    let jwt = pair["access_token"].as_str().unwrap().to_owned();
    for (label, res) in [
        (
            "session",
            other.client.get(other.url("/api/v1/auth/me")).send().await.unwrap(),
        ),
        ("token", bearer(&other, &pat, "/api/v1/auth/me").send().await.unwrap()),
        (
            "access token",
            bearer(&other, &jwt, "/api/v1/auth/me").send().await.unwrap(),
        ),
    ] {
        assert_eq!(res.status(), 200, "{label} works before");
    }
    let res = t
        .client
        .patch(t.url("/api/v1/users/dan"))
        .json(&json!({"disabled": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap()["disabled"], true);
    // Everything stops at once here, and on the other node as soon as its
    // change feed has the change.
    let mut stopped = false;
    for _ in 0..100 {
        let a = other
            .client
            .get(other.url("/api/v1/auth/me"))
            .send()
            .await
            .unwrap()
            .status();
        let b = bearer(&other, &pat, "/api/v1/auth/me").send().await.unwrap().status();
        let c = bearer(&other, &jwt, "/api/v1/auth/me").send().await.unwrap().status();
        if a == 401 && b == 401 && c == 401 {
            stopped = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(stopped, "the other node still lets dan in");
    let res = bearer(&t, &pat, "/api/v1/pages").send().await.unwrap();
    assert_eq!(error_code(res, StatusCode::UNAUTHORIZED).await.0, "invalid_token");
    let res = login_as(&t, "dan", "password-dan").await;
    assert_eq!(res.status(), 401, "a disabled account cannot sign in");
    let res = post(
        &t,
        &client(),
        "/api/v1/auth/refresh",
        json!({"refresh_token": pair["refresh_token"]}),
    )
    .await;
    assert_eq!(res.status(), 401);
    // Enabled again: signing in works; the old credentials stay dead.
    let res = t
        .client
        .patch(t.url("/api/v1/users/dan"))
        .json(&json!({"disabled": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(login_as(&t, "dan", "password-dan").await.status(), 200);
    assert_eq!(bearer(&t, &pat, "/api/v1/auth/me").send().await.unwrap().status(), 401);
    assert_eq!(bearer(&t, &jwt, "/api/v1/auth/me").send().await.unwrap().status(), 401);
}

#[tokio::test]
async fn administrators_manage_accounts() {
    let t = TestApp::with_admin().await;
    for (name, role) in [("ann", Role::Viewer), ("bob", Role::Editor), ("cleo", Role::Editor)] {
        t.create_user(name, role).await;
    }
    let (_, list) = get_json(&t, &t.client, "/api/v1/users?role=editor").await;
    let names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["bob", "cleo"]);
    let (_, list) = get_json(&t, &t.client, "/api/v1/users?q=LE").await;
    assert_eq!(list["items"][0]["username"], "cleo");
    // Role, display name and e-mail.
    let res = t
        .client
        .patch(t.url("/api/v1/users/ann"))
        .json(&json!({"role": "editor", "display_name": "Ann Lee", "email": "ann@example.com"}))
        .send()
        .await
        .unwrap();
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        (body["role"].as_str(), body["display_name"].as_str()),
        (Some("editor"), Some("Ann Lee"))
    );
    let ann = t.client_as_existing("ann").await;
    let res = ann
        .put(t.url("/api/v1/pages/notes"))
        .json(&json!({"markdown": "Ann's notes"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "the new role applies at once");
    // Display names are what pages, history and recent changes show.
    let (_, page) = t.json("/api/v1/pages/notes").await;
    assert_eq!(
        (page["updated_by"].as_str(), page["updated_by_name"].as_str()),
        (Some("ann"), Some("Ann Lee"))
    );
    let (_, history) = t.json("/api/v1/pages/notes/-/revisions").await;
    assert_eq!(history["items"][0]["author_name"], "Ann Lee");
    let (_, recent) = t.json("/api/v1/recent-changes").await;
    assert_eq!(recent["items"][0]["user_name"], "Ann Lee");
    let html = t.get("/wiki/notes").await.text().await.unwrap();
    assert!(html.contains(">Ann Lee</a>"), "{html}");
    // A password reset ends the account's sessions.
    let res = post(
        &t,
        &t.client,
        "/api/v1/users/ann/password",
        json!({"password": "a new long password"}),
    )
    .await;
    assert_eq!(res.status(), 204);
    assert_eq!(ann.get(t.url("/api/v1/auth/me")).send().await.unwrap().status(), 401);
    assert_eq!(login_as(&t, "ann", "password-ann").await.status(), 401);
    assert_eq!(login_as(&t, "ann", "a new long password").await.status(), 200);
    // One enabled administrator always remains.
    let res = t
        .client
        .patch(t.url("/api/v1/users/admin"))
        .json(&json!({"role": "editor"}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(res, StatusCode::CONFLICT).await.0, "last_admin");
    let res = t.delete("/api/v1/users/admin").await;
    assert_eq!(error_code(res, StatusCode::FORBIDDEN).await.0, "forbidden");
    // Deleting credits the work to the placeholder and removes the account.
    let res = t.delete("/api/v1/users/ann").await;
    assert_eq!(res.status(), 204);
    let (_, history) = t.json("/api/v1/pages/notes/-/revisions").await;
    assert_eq!(history["items"][0]["author"], "deleted-user");
    assert_eq!(history["items"][0]["author_name"], "Deleted user");
    let res = t.get("/api/v1/users/ann").await;
    assert_eq!(error_code(res, StatusCode::NOT_FOUND).await.0, "user_not_found");
    let (_, list) = t.json("/api/v1/users").await;
    assert!(
        !list.to_string().contains("deleted-user"),
        "the placeholder is not listed: {list}"
    );
    assert_eq!(login_as(&t, "deleted-user", "").await.status(), 401);
    // Only administrators.
    let bob = t.client_as_existing("bob").await;
    let res = bob.get(t.url("/api/v1/users")).send().await.unwrap();
    assert_eq!(res.status(), 403);
    let res = bob
        .patch(t.url("/api/v1/users/cleo"))
        .json(&json!({"disabled": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
}

#[tokio::test]
async fn people_manage_their_own_account_and_sessions() {
    let t = TestApp::with_admin().await;
    t.create_user("eve", Role::Editor).await;
    let laptop = t.client_as_existing("eve").await;
    let phone = t.client_as_existing("eve").await;
    let res = laptop
        .patch(t.url("/api/v1/auth/me"))
        .json(&json!({"display_name": "  Eve   Adams ", "email": "eve@example.com"}))
        .send()
        .await
        .unwrap();
    let me: Value = res.json().await.unwrap();
    assert_eq!(me["display_name"], "Eve Adams");
    assert_eq!(me["email"], "eve@example.com");
    let (_, sessions) = get_json(&t, &laptop, "/api/v1/auth/sessions").await;
    let items = sessions["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    let current: Vec<bool> = items.iter().map(|s| s["current"].as_bool().unwrap()).collect();
    assert_eq!(current.iter().filter(|c| **c).count(), 1);
    let other = items.iter().find(|s| s["current"] == false).unwrap()["id"]
        .as_i64()
        .unwrap();
    assert_eq!(items[0]["ip"], "127.0.0.1");
    // End the phone's session from the laptop.
    let res = laptop
        .delete(t.url(&format!("/api/v1/auth/sessions/{other}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(phone.get(t.url("/api/v1/auth/me")).send().await.unwrap().status(), 401);
    let res = laptop
        .delete(t.url(&format!("/api/v1/auth/sessions/{other}")))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(res, StatusCode::NOT_FOUND).await.0, "session_not_found");
    // Changing the password: the wrong current one changes nothing; the
    // right one ends the other sessions and keeps this one.
    let phone = t.client_as_existing("eve").await;
    let res = post(
        &t,
        &laptop,
        "/api/v1/auth/password",
        json!({"current_password": "nope", "new_password": "another long one"}),
    )
    .await;
    assert_eq!(
        error_code(res, StatusCode::UNPROCESSABLE_ENTITY).await.0,
        "invalid_password"
    );
    let res = post(
        &t,
        &laptop,
        "/api/v1/auth/password",
        json!({"current_password": "password-eve", "new_password": "12345678"}),
    )
    .await;
    assert_eq!(
        error_code(res, StatusCode::UNPROCESSABLE_ENTITY).await.0,
        "invalid_password"
    );
    let res = post(
        &t,
        &laptop,
        "/api/v1/auth/password",
        json!({"current_password": "password-eve", "new_password": "another long one"}),
    )
    .await;
    assert_eq!(res.status(), 204);
    assert_eq!(laptop.get(t.url("/api/v1/auth/me")).send().await.unwrap().status(), 200);
    assert_eq!(phone.get(t.url("/api/v1/auth/me")).send().await.unwrap().status(), 401);
    assert_eq!(login_as(&t, "eve", "another long one").await.status(), 200);
}

#[tokio::test]
async fn personal_tokens_have_scopes_an_expiry_and_a_last_use() {
    let t = TestApp::with_admin().await;
    t.create_user("fay", Role::Editor).await;
    let fay = t.client_as_existing("fay").await;
    t.save("doc", "A page.").await;
    let make = |scopes: Value, expires: Value| {
        let fay = fay.clone();
        let url = t.url("/api/v1/tokens");
        async move {
            fay.post(url)
                .json(&json!({"name": "script", "scopes": scopes, "expires_at": expires}))
                .send()
                .await
                .unwrap()
        }
    };
    let res = make(json!(["read"]), json!("2999-01-01")).await;
    assert_eq!(res.status(), 201);
    let read: Value = res.json().await.unwrap();
    let read_token = read["token"].as_str().unwrap().to_owned();
    assert!(read_token.starts_with("vlm_"));
    assert_eq!(read["scopes"], json!(["read"]));
    let write_token = make(json!(["write"]), Value::Null).await.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    // Read scope reads but does not write; write scope writes.
    assert_eq!(
        bearer(&t, &read_token, "/api/v1/pages/doc")
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let res = client()
        .put(t.url("/api/v1/pages/doc"))
        .bearer_auth(&read_token)
        .json(&json!({"markdown": "changed"}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(res, StatusCode::FORBIDDEN).await.0, "forbidden");
    let res = client()
        .put(t.url("/api/v1/pages/doc"))
        .bearer_auth(&write_token)
        .json(&json!({"markdown": "changed"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let (s, _) = get_json(&t, &client(), "/api/v1/auth/me").await;
    assert_eq!(s, 401);
    let res = bearer(&t, &write_token, "/api/v1/auth/me").send().await.unwrap();
    assert_eq!(res.json::<Value>().await.unwrap()["scopes"], json!(["read", "write"]));
    // A token cannot make tokens, and an admin's read token cannot
    // administer.
    let res = client()
        .post(t.url("/api/v1/tokens"))
        .bearer_auth(&write_token)
        .json(&json!({"name": "x", "scopes": ["read"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(res, StatusCode::FORBIDDEN).await.0, "forbidden");
    let res = post(
        &t,
        &t.client,
        "/api/v1/tokens",
        json!({"name": "ro", "scopes": ["read"]}),
    )
    .await;
    let admin_ro = res.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned();
    assert_eq!(
        bearer(&t, &admin_ro, "/api/v1/users").send().await.unwrap().status(),
        403
    );
    assert_eq!(
        bearer(&t, &admin_ro, "/api/v1/pages/doc")
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    // Bad requests.
    for (body, code) in [
        (json!({"name": "x", "scopes": ["delete"]}), "invalid_scopes"),
        (json!({"name": "x", "scopes": []}), "invalid_scopes"),
        (
            json!({"name": "x", "scopes": ["read"], "expires_at": "2001-01-01"}),
            "invalid_expiry",
        ),
        (
            json!({"name": "x", "scopes": ["read"], "expires_at": "soon"}),
            "invalid_expiry",
        ),
        (json!({"name": "", "scopes": ["read"]}), "invalid_name"),
    ] {
        let res = post(&t, &fay, "/api/v1/tokens", body.clone()).await;
        assert_eq!(
            error_code(res, StatusCode::UNPROCESSABLE_ENTITY).await.0,
            code,
            "{body}"
        );
    }
    // Listing shows last use and never the token itself.
    let (_, list) = get_json(&t, &fay, "/api/v1/tokens").await;
    assert!(!list.to_string().contains(&read_token[4..]));
    let listed = list["items"].as_array().unwrap().clone();
    assert_eq!(listed.len(), 2);
    assert!(listed.iter().all(|x| x["last_used_at"].is_string()), "{list}");
    // A token stops working when it expires, even while cached.
    let soon = time::OffsetDateTime::now_utc() + time::Duration::seconds(2);
    let soon = soon.format(&time::format_description::well_known::Rfc3339).unwrap();
    let res = make(json!(["read"]), json!(soon)).await;
    assert_eq!(res.status(), 201);
    let brief = res.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned();
    assert_eq!(
        bearer(&t, &brief, "/api/v1/pages/doc").send().await.unwrap().status(),
        200
    );
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let res = bearer(&t, &brief, "/api/v1/pages/doc").send().await.unwrap();
    assert_eq!(error_code(res, StatusCode::UNAUTHORIZED).await.0, "invalid_token");
    // Revoked tokens stop at once; others' tokens cannot be revoked.
    let write_id = listed.iter().find(|x| x["scopes"] == json!(["read", "write"])).unwrap()["id"]
        .as_i64()
        .unwrap();
    let res = t
        .client_as("gus", Role::Editor)
        .await
        .delete(t.url(&format!("/api/v1/tokens/{write_id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(res, StatusCode::NOT_FOUND).await.0, "token_not_found");
    let res = fay
        .delete(t.url(&format!("/api/v1/tokens/{write_id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let res = bearer(&t, &write_token, "/api/v1/pages/doc").send().await.unwrap();
    assert_eq!(error_code(res, StatusCode::UNAUTHORIZED).await.0, "invalid_token");
    // Nonsense credentials are refused, never taken as anonymous.
    for bad in ["vlm_nope", "a.b.c", "plain"] {
        let res = bearer(&t, bad, "/api/v1/pages/doc").send().await.unwrap();
        assert_eq!(
            error_code(res, StatusCode::UNAUTHORIZED).await.0,
            "invalid_token",
            "{bad}"
        );
    }
    let res = client()
        .get(t.url("/api/v1/pages/doc"))
        .header("authorization", "Basic Zm9vOmJhcg==")
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(res, StatusCode::UNAUTHORIZED).await.0, "invalid_token");
    // The audit log has the token's life.
    let created = audit(&t, "action=token.created&actor=fay").await;
    assert_eq!(created.len(), 3);
    assert_eq!(audit(&t, "action=token.revoked").await.len(), 1);
}

#[tokio::test]
async fn access_tokens_refresh_once_and_reuse_revokes_the_family() {
    let t = TestApp::with_admin().await;
    t.create_user("hal", Role::Editor).await;
    let res = post(
        &t,
        &client(),
        "/api/v1/auth/token",
        json!({"username": "hal", "password": "password-hal"}),
    )
    .await;
    assert_eq!(res.status(), 200);
    let first: Value = res.json().await.unwrap();
    assert_eq!(first["token_type"], "Bearer");
    assert_eq!(first["expires_in"], 900);
    let access = first["access_token"].as_str().unwrap();
    let (s, me) = {
        let res = bearer(&t, access, "/api/v1/auth/me").send().await.unwrap();
        (res.status(), res.json::<Value>().await.unwrap())
    };
    assert_eq!((s, me["username"].as_str()), (S::OK, Some("hal")));
    // A tampered token is refused.
    let mut forged = access.to_owned();
    forged.pop();
    forged.push(if access.ends_with('A') { 'B' } else { 'A' });
    assert_eq!(
        bearer(&t, &forged, "/api/v1/auth/me").send().await.unwrap().status(),
        401
    );
    // Refresh: a new pair; the old refresh token is used up.
    let res = post(
        &t,
        &client(),
        "/api/v1/auth/refresh",
        json!({"refresh_token": first["refresh_token"]}),
    )
    .await;
    assert_eq!(res.status(), 200);
    let second: Value = res.json().await.unwrap();
    assert_ne!(second["refresh_token"], first["refresh_token"]);
    let access2 = second["access_token"].as_str().unwrap();
    assert_eq!(
        bearer(&t, access2, "/api/v1/auth/me").send().await.unwrap().status(),
        200
    );
    // Someone replays the first refresh token: the whole family ends.
    let res = post(
        &t,
        &client(),
        "/api/v1/auth/refresh",
        json!({"refresh_token": first["refresh_token"]}),
    )
    .await;
    assert_eq!(error_code(res, StatusCode::UNAUTHORIZED).await.0, "invalid_token");
    let res = post(
        &t,
        &client(),
        "/api/v1/auth/refresh",
        json!({"refresh_token": second["refresh_token"]}),
    )
    .await;
    assert_eq!(
        res.status(),
        401,
        "the newer refresh token of the family is revoked too"
    );
    assert_eq!(
        bearer(&t, access2, "/api/v1/auth/me").send().await.unwrap().status(),
        401
    );
    assert_eq!(
        bearer(&t, access, "/api/v1/auth/me").send().await.unwrap().status(),
        401
    );
    assert_eq!(audit(&t, "action=auth.refresh_reused").await.len(), 1);
    // A fresh sign-in starts a new family.
    let res = post(
        &t,
        &client(),
        "/api/v1/auth/token",
        json!({"username": "hal", "password": "password-hal"}),
    )
    .await;
    let third: Value = res.json().await.unwrap();
    assert_eq!(
        bearer(&t, third["access_token"].as_str().unwrap(), "/api/v1/auth/me")
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    for junk in ["", "nodot", "a.b"] {
        let res = post(&t, &client(), "/api/v1/auth/refresh", json!({"refresh_token": junk})).await;
        assert_eq!(res.status(), 401, "{junk:?}");
    }
    let res = post(
        &t,
        &client(),
        "/api/v1/auth/token",
        json!({"username": "hal", "password": "nope"}),
    )
    .await;
    assert_eq!(error_code(res, StatusCode::UNAUTHORIZED).await.0, "invalid_credentials");
}

#[tokio::test]
async fn two_factor_sign_in_with_codes_and_recovery_codes() {
    let t = TestApp::with_admin().await;
    t.create_user("ivy", Role::Editor).await;
    let ivy = t.client_as_existing("ivy").await;
    let res = post(&t, &ivy, "/api/v1/auth/totp", json!({})).await;
    assert_eq!(res.status(), 200);
    let setup: Value = res.json().await.unwrap();
    let secret = setup["secret"].as_str().unwrap().to_owned();
    assert!(setup["url"]
        .as_str()
        .unwrap()
        .starts_with("otpauth://totp/Vellum:ivy?secret="));
    let wrong = if vellum_app::current_code(&secret).unwrap() == "000000" {
        "111111"
    } else {
        "000000"
    };
    let res = post(&t, &ivy, "/api/v1/auth/totp/confirm", json!({"code": wrong})).await;
    assert_eq!(
        error_code(res, StatusCode::UNPROCESSABLE_ENTITY).await.0,
        "invalid_code"
    );
    let code = vellum_app::current_code(&secret).unwrap();
    let res = post(&t, &ivy, "/api/v1/auth/totp/confirm", json!({"code": code})).await;
    assert_eq!(res.status(), 200);
    let codes: Vec<String> = res.json::<Value>().await.unwrap()["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(codes.len(), 10);
    // The password alone is not enough any more.
    let res = login_as(&t, "ivy", "password-ivy").await;
    assert_eq!(error_code(res, StatusCode::UNAUTHORIZED).await.0, "totp_required");
    let res = post(
        &t,
        &client(),
        "/api/v1/auth/login",
        json!({"username": "ivy", "password": "password-ivy", "totp": "12345"}),
    )
    .await;
    assert_eq!(error_code(res, StatusCode::UNAUTHORIZED).await.0, "invalid_totp");
    let used = vellum_app::current_code(&secret).unwrap();
    let res = post(
        &t,
        &client(),
        "/api/v1/auth/login",
        json!({"username": "ivy", "password": "password-ivy", "totp": used}),
    )
    .await;
    assert_eq!(res.status(), 200);
    // The same code does not sign in twice (RFC 6238 §5.2), on any node.
    let other = t.another_node().await;
    let res = post(
        &other,
        &client(),
        "/api/v1/auth/login",
        json!({"username": "ivy", "password": "password-ivy", "totp": used}),
    )
    .await;
    assert_eq!(error_code(res, StatusCode::UNAUTHORIZED).await.0, "invalid_totp");
    // A recovery code works once, however it is typed.
    let spaced = codes[0].to_uppercase().replace('-', " ");
    let res = post(
        &t,
        &client(),
        "/api/v1/auth/token",
        json!({"username": "ivy", "password": "password-ivy", "totp": spaced}),
    )
    .await;
    assert_eq!(res.status(), 200);
    let res = post(
        &t,
        &client(),
        "/api/v1/auth/token",
        json!({"username": "ivy", "password": "password-ivy", "totp": codes[0]}),
    )
    .await;
    assert_eq!(error_code(res, StatusCode::UNAUTHORIZED).await.0, "invalid_totp");
    let (_, status) = get_json(&t, &ivy, "/api/v1/auth/totp").await;
    assert_eq!(
        status,
        json!({"enabled": true, "recovery_codes_left": 9, "required": false})
    );
    // The browser signs in in two steps.
    let browser = client();
    let res = t
        .browser_post(&browser, "/login")
        .form(&[("username", "ivy"), ("password", "password-ivy"), ("next", "/wiki/x")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    let ticket = html
        .split("name=\"ticket\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap()
        .to_owned();
    let res = t
        .browser_post(&browser, "/login/code")
        .form(&[("ticket", ticket.as_str()), ("code", "999999"), ("next", "/wiki/x")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    // The next step's code (the current one was used above).
    let code = vellum_app::code_in_steps(&secret, 1).unwrap();
    let res = t
        .browser_post(&browser, "/login/code")
        .form(&[
            ("ticket", ticket.as_str()),
            ("code", code.as_str()),
            ("next", "/wiki/x"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/wiki/x");
    assert_eq!(
        browser.get(t.url("/api/v1/auth/me")).send().await.unwrap().status(),
        200
    );
    // A forged ticket gets nowhere.
    let res = t
        .browser_post(&client(), "/login/code")
        .form(&[("ticket", "x.y.z"), ("code", code.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    // Turning it off needs the password; an administrator can reset it.
    let res = post(&t, &ivy, "/api/v1/auth/totp/disable", json!({"password": "wrong"})).await;
    assert_eq!(res.status(), 422);
    let res = t.delete("/api/v1/users/ivy/totp").await;
    assert_eq!(res.status(), 204);
    assert_eq!(login_as(&t, "ivy", "password-ivy").await.status(), 200);
    let kinds: Vec<String> = audit(&t, "action=auth.")
        .await
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect();
    for k in ["auth.totp_enabled", "auth.recovery_code_used", "auth.totp_reset"] {
        assert!(kinds.contains(&k.to_owned()), "{k} in {kinds:?}");
    }
}

#[tokio::test]
async fn administrators_can_require_two_factor_sign_in() {
    let t = TestApp::with_admin().await;
    t.create_user("jo", Role::Editor).await;
    let res = t
        .client
        .put(t.url("/api/v1/settings"))
        .json(&json!({"require_totp": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.json::<Value>().await.unwrap()["require_totp"], true);
    let jo = t.client_as_existing("jo").await;
    let res = jo.get(t.url("/api/v1/pages")).send().await.unwrap();
    assert_eq!(
        error_code(res, StatusCode::FORBIDDEN).await.0,
        "totp_enrollment_required"
    );
    let res = jo.get(t.url("/wiki/anything")).send().await.unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/account/two-factor");
    let res = jo.get(t.url("/account/two-factor")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let res = post(
        &t,
        &client(),
        "/api/v1/auth/token",
        json!({"username": "jo", "password": "password-jo"}),
    )
    .await;
    assert_eq!(
        error_code(res, StatusCode::FORBIDDEN).await.0,
        "totp_enrollment_required"
    );
    // Once set up, all is open again.
    let setup: Value = post(&t, &jo, "/api/v1/auth/totp", json!({}))
        .await
        .json()
        .await
        .unwrap();
    let code = vellum_app::current_code(setup["secret"].as_str().unwrap()).unwrap();
    assert_eq!(
        post(&t, &jo, "/api/v1/auth/totp/confirm", json!({"code": code}))
            .await
            .status(),
        200
    );
    assert_eq!(jo.get(t.url("/api/v1/pages")).send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn the_audit_log_records_security_actions_and_cannot_be_altered() {
    let t = TestApp::with_admin().await;
    t.create_user("kim", Role::Editor).await;
    let _kim = t.client_as_existing("kim").await;
    t.save("a", "A page.").await;
    t.post_json("/api/v1/pages/a/-/move", json!({"to": "b"})).await;
    t.delete("/api/v1/pages/b").await;
    t.post_json("/api/v1/groups", json!({"name": "ops"})).await;
    t.client
        .put(t.url("/api/v1/groups/ops/members/kim"))
        .send()
        .await
        .unwrap();
    t.client
        .put(t.url("/api/v1/access/ops"))
        .json(&json!({"rules": [{"principal": "group:ops", "level": "edit"}]}))
        .send()
        .await
        .unwrap();
    t.client
        .put(t.url("/api/v1/settings"))
        .json(&json!({"anonymous_read": true}))
        .send()
        .await
        .unwrap();
    t.client
        .patch(t.url("/api/v1/users/kim"))
        .json(&json!({"disabled": true}))
        .send()
        .await
        .unwrap();
    t.get("/api/v1/access-report?user=kim&format=csv").await;
    let all = audit(&t, "").await;
    let actions: Vec<&str> = all.iter().map(|e| e["action"].as_str().unwrap()).collect();
    for a in [
        "auth.signed_in",
        "user.created",
        "page.moved",
        "page.deleted",
        "group.created",
        "group.member_added",
        "access.changed",
        "user.updated",
        "session.ended",
        "export",
    ] {
        assert!(actions.contains(&a), "{a} is audited: {actions:?}");
    }
    assert!(!actions.contains(&"page.created"), "page edits are history, not audit");
    let moved = all.iter().find(|e| e["action"] == "page.moved").unwrap();
    assert_eq!(moved["actor"], "admin");
    assert_eq!(moved["target"], "a → b");
    assert_eq!(moved["ip"], "127.0.0.1");
    assert!(moved["user_agent"].is_string() || moved["user_agent"].is_null());
    // Newest first, with paging and filters.
    let ids: Vec<i64> = all.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]));
    let (_, first) = t.json("/api/v1/audit?limit=2").await;
    let (_, next) = t
        .json(&format!(
            "/api/v1/audit?limit=2&cursor={}",
            first["next_cursor"].as_str().unwrap()
        ))
        .await;
    assert_eq!(next["items"][0]["id"].as_i64().unwrap(), ids[2]);
    let kims: Vec<Value> = audit(&t, "actor=kim").await;
    assert!(
        kims.iter().all(|e| e["action"] == "auth.signed_in"),
        "kim only signed in: {kims:?}"
    );
    assert!(audit(&t, "since=2999-01-01").await.is_empty());
    let res = t.get("/api/v1/audit?since=yesterday").await;
    assert_eq!(error_code(res, StatusCode::BAD_REQUEST).await.0, "invalid_query");
    // Only administrators read it; nothing changes it.
    let res = t
        .client_as("lee", Role::Editor)
        .await
        .get(t.url("/api/v1/audit"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    for method in [reqwest::Method::PUT, reqwest::Method::DELETE, reqwest::Method::PATCH] {
        let res = t
            .client
            .request(method.clone(), t.url("/api/v1/audit"))
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 405, "{method}");
    }
    assert!(
        t.db.try_execute("UPDATE audit_log SET actor_name = 'someone else'")
            .await
            .is_err(),
        "the database refuses to change an entry"
    );
    // Retention: entries past it go at the next maintenance.
    t.client
        .put(t.url("/api/v1/settings"))
        .json(&json!({"audit_retention_days": 30}))
        .send()
        .await
        .unwrap();
    let before = audit(&t, "").await.len();
    t.db.execute(&format!(
        "INSERT INTO audit_log (at, action, details) VALUES ({}, 'old.thing', '{{}}')",
        t.db.time_literal_ms(1000)
    ))
    .await;
    assert_eq!(audit(&t, "action=old.thing").await.len(), 1);
    t.app.remove_expired().await.unwrap();
    assert!(audit(&t, "action=old.thing").await.is_empty());
    assert!(audit(&t, "").await.len() >= before, "recent entries stay");
    let res = t
        .client
        .put(t.url("/api/v1/settings"))
        .json(&json!({"audit_retention_days": 0}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
}

#[tokio::test]
async fn rate_limits_answer_429_and_forwarded_addresses_count_only_from_trusted_proxies() {
    let db = Arc::new(TestDb::new(vellum_testkit::Backend::from_env()).await);
    let web = vellum_web::WebOptions {
        trusted_proxies: vec![vellum_web::IpNet::parse("127.0.0.1").unwrap()],
        rate_limits: Some(vellum_web::RateLimits {
            sign_in_per_minute: 3,
            write_per_minute: 100,
            read_per_minute: 5,
        }),
        ..Default::default()
    };
    let t = TestApp::spawn_full(db.clone(), |_| {}, web, vellum_web::ServerLimits::default()).await;
    let from = |ip: &str| {
        client()
            .get(t.url("/healthz"))
            .header("x-forwarded-for", format!("6.6.6.6, {ip}"))
    };
    for i in 0..5 {
        assert_eq!(from("9.9.9.9").send().await.unwrap().status(), 200, "request {i}");
    }
    let res = from("9.9.9.9").send().await.unwrap();
    assert_eq!(res.status(), 429);
    assert!(res.headers()["retry-after"].to_str().unwrap().parse::<u64>().unwrap() >= 1);
    assert_eq!(
        from("8.8.8.8").send().await.unwrap().status(),
        200,
        "another client behind the proxy"
    );
    let res = client()
        .get(t.url("/api/v1/pages"))
        .header("x-forwarded-for", "9.9.9.9")
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(res, StatusCode::TOO_MANY_REQUESTS).await.0, "rate_limited");
    // Sign-in is stricter, and counted by address.
    t.create_user("mo", Role::Editor).await;
    for _ in 0..3 {
        let res = client()
            .post(t.url("/api/v1/auth/login"))
            .header("x-forwarded-for", "7.7.7.7")
            .json(&json!({"username": "mo", "password": "password-mo"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    }
    let res = client()
        .post(t.url("/api/v1/auth/login"))
        .header("x-forwarded-for", "7.7.7.7")
        .json(&json!({"username": "mo", "password": "password-mo"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429);
    // The audit log names the forwarded address.
    let n =
        t.db.scalar("SELECT COUNT(*) FROM audit_log WHERE ip = '7.7.7.7' AND action = 'auth.signed_in'")
            .await;
    assert_eq!(n, 3);
    // The HTML pages show the refusal in the site's frame.
    let res = client()
        .get(t.url("/login"))
        .header("x-forwarded-for", "9.9.9.9")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429);
    assert!(res.text().await.unwrap().contains("Too many attempts"));

    // Without trusted proxies the header is ignored: every request above
    // would have come from 127.0.0.1.
    let web = vellum_web::WebOptions {
        rate_limits: Some(vellum_web::RateLimits {
            sign_in_per_minute: 3,
            write_per_minute: 100,
            read_per_minute: 2,
        }),
        ..Default::default()
    };
    let u = TestApp::spawn_full(db, |_| {}, web, vellum_web::ServerLimits::default()).await;
    for ip in ["1.1.1.1", "2.2.2.2"] {
        let res = client()
            .get(u.url("/healthz"))
            .header("x-forwarded-for", ip)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    }
    let res = client()
        .get(u.url("/healthz"))
        .header("x-forwarded-for", "3.3.3.3")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429, "the forged header did not make a new client");
}
