//! Comments: threads, replies, editing and deleting one's own, resolving,
//! mentions, the comment level, and invisibility to those who cannot read
//! the page.

use reqwest::StatusCode;
use serde_json::{json, Value};
use vellum_app::Role;
use vellum_testkit::{client, error_code, TestApp};

async fn post(t: &TestApp, c: &reqwest::Client, path: &str, body: Value) -> (StatusCode, Value) {
    let res = c.post(t.url(path)).json(&body).send().await.unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn get(t: &TestApp, c: &reqwest::Client, path: &str) -> (StatusCode, Value) {
    let res = c.get(t.url(path)).send().await.unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn threads_replies_edits_deletes_and_resolution() {
    let t = TestApp::with_admin().await;
    t.save("team/plan", "# Plan\n\nShip it.").await;
    let ann = t.client_as("ann", Role::Editor).await;
    let bob = t.client_as("bob", Role::Commenter).await;

    let (s, first) = post(
        &t,
        &ann,
        "/api/v1/pages/team/plan/-/comments",
        json!({"markdown": "Is **this** right, @bob? <script>alert(1)</script>"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{first}");
    assert_eq!(first["author"], "ann");
    assert_eq!(first["path"], "team/plan");
    assert!(first["html"].as_str().unwrap().contains("<strong>this</strong>"));
    assert!(
        !first["html"].as_str().unwrap().contains("<script"),
        "sanitized: {}",
        first["html"]
    );
    assert_eq!(first["resolved"], false);
    assert!(first["parent_id"].is_null());
    assert_eq!(first["thread_id"], first["id"]);
    let thread = first["id"].as_i64().unwrap();

    // Replies join the thread, also when replying to a reply.
    let (s, reply) = post(
        &t,
        &bob,
        "/api/v1/pages/team/plan/-/comments",
        json!({"markdown": "Yes.", "parent_id": thread}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(reply["parent_id"], thread);
    let (_, reply2) = post(
        &t,
        &ann,
        "/api/v1/pages/team/plan/-/comments",
        json!({"markdown": "Thanks", "parent_id": reply["id"]}),
    )
    .await;
    assert_eq!(reply2["thread_id"], thread);
    let (_, other) = post(
        &t,
        &bob,
        "/api/v1/pages/team/plan/-/comments",
        json!({"markdown": "Second thread"}),
    )
    .await;

    // The list: threads in order, each followed by its replies; paged.
    let (s, list) = get(&t, &ann, "/api/v1/pages/team/plan/-/comments").await;
    assert_eq!(s, StatusCode::OK);
    let ids: Vec<i64> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect();
    assert_eq!(
        ids,
        vec![
            thread,
            reply["id"].as_i64().unwrap(),
            reply2["id"].as_i64().unwrap(),
            other["id"].as_i64().unwrap()
        ]
    );
    let (_, page1) = get(&t, &ann, "/api/v1/pages/team/plan/-/comments?limit=3").await;
    let cursor = page1["next_cursor"].as_str().unwrap().to_owned();
    let (_, page2) = get(
        &t,
        &ann,
        &format!("/api/v1/pages/team/plan/-/comments?limit=3&cursor={cursor}"),
    )
    .await;
    assert_eq!(page2["items"][0]["id"], other["id"]);
    assert!(page2["next_cursor"].is_null());

    // Edit your own; not someone else's.
    let res = ann
        .patch(t.url(&format!("/api/v1/comments/{thread}")))
        .json(&json!({"markdown": "Is this right?"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let edited: Value = res.json().await.unwrap();
    assert_eq!(edited["markdown"], "Is this right?");
    assert!(edited["edited_at"].is_string());
    let res = bob
        .patch(t.url(&format!("/api/v1/comments/{thread}")))
        .json(&json!({"markdown": "mine now"}))
        .send()
        .await
        .unwrap();
    error_code(res, StatusCode::FORBIDDEN).await;
    // Bad text is refused with the reason.
    let (s, err) = post(
        &t,
        &ann,
        "/api/v1/pages/team/plan/-/comments",
        json!({"markdown": "   "}),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(err["error"]["code"], "invalid_comment");
    let long = "x".repeat(70 * 1024);
    let (s, _) = post(
        &t,
        &ann,
        "/api/v1/pages/team/plan/-/comments",
        json!({"markdown": long}),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, err) = post(
        &t,
        &ann,
        "/api/v1/pages/team/plan/-/comments",
        json!({"markdown": "to nowhere", "parent_id": 987654}),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{err}");

    // Resolve: the thread's starter or an editor; a commenter who did not start it cannot.
    let (s, _) = post(&t, &bob, &format!("/api/v1/comments/{thread}/resolve"), json!({})).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, resolved) = post(
        &t,
        &ann,
        &format!("/api/v1/comments/{}/resolve", reply["id"]),
        json!({}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(resolved["id"], thread, "resolving a reply resolves its thread");
    assert_eq!(resolved["resolved"], true);
    assert_eq!(resolved["resolved_by"], "ann");
    let (_, one) = get(&t, &bob, &format!("/api/v1/comments/{}", reply["id"])).await;
    assert_eq!(one["resolved"], true, "replies show their thread's state");
    let (s, reopened) = post(&t, &ann, &format!("/api/v1/comments/{thread}/reopen"), json!({})).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(reopened["resolved"], false);

    // Delete your own: its text goes, the thread stays.
    let res = bob
        .delete(t.url(&format!("/api/v1/comments/{thread}")))
        .send()
        .await
        .unwrap();
    error_code(res, StatusCode::FORBIDDEN).await;
    let res = bob
        .delete(t.url(&format!("/api/v1/comments/{}", reply["id"])))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let (_, gone) = get(&t, &ann, &format!("/api/v1/comments/{}", reply["id"])).await;
    assert_eq!(gone["deleted"], true);
    assert_eq!(gone["markdown"], "");
    assert!(gone["author"].is_null());
    let res = bob
        .delete(t.url(&format!("/api/v1/comments/{}", reply["id"])))
        .send()
        .await
        .unwrap();
    error_code(res, StatusCode::NOT_FOUND).await;
    // Administrators (who manage everything) may delete anyone's.
    let res = t.delete(&format!("/api/v1/comments/{}", other["id"])).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);

    // Every change is in the event log, and deletions by others in the audit log.
    let actions: Vec<String> = sqlx_actions(&t).await;
    for a in ["comment.added", "comment.edited", "comment.resolved", "comment.deleted"] {
        assert!(actions.iter().any(|x| x == a), "{a} in {actions:?}");
    }
    let (_, audit) = t.json("/api/v1/audit?action=comment.deleted").await;
    assert_eq!(audit["items"].as_array().unwrap().len(), 2);
}

async fn sqlx_actions(t: &TestApp) -> Vec<String> {
    let n =
        t.db.scalar("SELECT COUNT(*) FROM events WHERE target_type = 'comment'")
            .await;
    assert!(n > 0);
    let mut out = Vec::new();
    for a in ["comment.added", "comment.edited", "comment.resolved", "comment.deleted"] {
        if t.db
            .scalar(&format!("SELECT COUNT(*) FROM events WHERE action = '{a}'"))
            .await
            > 0
        {
            out.push(a.to_owned());
        }
    }
    out
}

#[tokio::test]
async fn mentions_name_existing_accounts_and_complete_as_you_type() {
    let t = TestApp::with_admin().await;
    t.save("team/plan", "# Plan").await;
    t.create_user("carol", Role::Viewer).await;
    t.create_user("carl", Role::Viewer).await;
    let (_, c) = post(
        &t,
        &t.client,
        "/api/v1/pages/team/plan/-/comments",
        json!({"markdown": "@carol and @Carl, not @nobody or mail@carol.example"}),
    )
    .await;
    let id = c["id"].as_i64().unwrap();
    let mentioned =
        t.db.scalar(&format!(
            "SELECT COUNT(*) FROM comment_mentions WHERE comment_id = {id}"
        ))
        .await;
    assert_eq!(mentioned, 2);
    let (s, found) = get(&t, &t.client, "/api/v1/mentions?q=car").await;
    assert_eq!(s, StatusCode::OK);
    let names: Vec<&str> = found["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["carl", "carol"]);
    let res = client().get(t.url("/api/v1/mentions?q=car")).send().await.unwrap();
    error_code(res, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn comments_need_the_comment_level_and_are_invisible_without_read() {
    let t = TestApp::with_admin().await;
    t.save("hr/salaries", "# Salaries\n\nSECRET").await;
    t.save("open/notes", "# Notes").await;
    t.create_user("hana", Role::Viewer).await;
    let res = t
        .client
        .put(t.url("/api/v1/access/hr"))
        .json(&json!({"inherit": false, "rules": [{"principal": "user:hana", "level": "comment"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let hana = t.client_as_existing("hana").await;
    let viewer = t.client_as("vic", Role::Viewer).await;

    let (s, secret) = post(
        &t,
        &hana,
        "/api/v1/pages/hr/salaries/-/comments",
        json!({"markdown": "SECRET remark"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "the comment level is enough: {secret}");
    let id = secret["id"].as_i64().unwrap();
    // A viewer may read open pages' comments but not write them.
    let (s, _) = post(
        &t,
        &viewer,
        "/api/v1/pages/open/notes/-/comments",
        json!({"markdown": "hi"}),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = get(&t, &viewer, "/api/v1/pages/open/notes/-/comments").await;
    assert_eq!(s, StatusCode::OK);

    // Outside hr, the restricted comment answers as a missing one, everywhere.
    let (a, body_a) = get(&t, &viewer, &format!("/api/v1/comments/{id}")).await;
    let (b, body_b) = get(&t, &viewer, "/api/v1/comments/987654321").await;
    assert_eq!(
        (a, body_a["error"]["code"].clone()),
        (b, body_b["error"]["code"].clone())
    );
    assert_eq!(a, StatusCode::NOT_FOUND);
    for (method, path) in [
        ("PATCH", format!("/api/v1/comments/{id}")),
        ("DELETE", format!("/api/v1/comments/{id}")),
        ("POST", format!("/api/v1/comments/{id}/resolve")),
        ("POST", format!("/api/v1/comments/{id}/reopen")),
    ] {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let res = viewer
            .request(m, t.url(&path))
            .json(&json!({"markdown": "x"}))
            .send()
            .await
            .unwrap();
        let (code, _) = error_code(res, StatusCode::NOT_FOUND).await;
        assert_eq!(code, "comment_not_found", "{method} {path}");
    }
    let (s, _) = get(&t, &viewer, "/api/v1/pages/hr/salaries/-/comments").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = post(
        &t,
        &viewer,
        "/api/v1/pages/hr/salaries/-/comments",
        json!({"markdown": "x"}),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let html = viewer.get(t.url("/recent")).send().await.unwrap().text().await.unwrap();
    assert!(!html.contains("SECRET"));

    // A comment on a trashed page is gone with it.
    assert_eq!(
        t.delete("/api/v1/pages/hr/salaries").await.status(),
        StatusCode::NO_CONTENT
    );
    let (s, _) = get(&t, &hana, &format!("/api/v1/comments/{id}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_page_shows_its_comments_and_the_forms_work_without_javascript() {
    let t = TestApp::with_admin().await;
    t.save("team/plan", "# Plan\n\nShip it.").await;
    let page = t
        .client
        .get(t.url("/wiki/team/plan"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("id=\"comments\""));
    assert!(page.contains("Start a discussion"));

    let res = t
        .form(
            "/wiki/team/plan/-/comments",
            &[("action", "add"), ("markdown", "First <b>bold</b> *idea*")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let to = res.headers()["location"].to_str().unwrap().to_owned();
    assert!(to.starts_with("/wiki/team/plan#c"), "{to}");
    let id: i64 = to.rsplit("#c").next().unwrap().parse().unwrap();
    let res = t
        .form(
            "/wiki/team/plan/-/comments",
            &[("action", "add"), ("id", &id.to_string()), ("markdown", "A reply")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let page = t
        .client
        .get(t.url("/wiki/team/plan"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("<em>idea</em>"), "{page}");
    assert!(page.contains("A reply"));
    assert!(page.contains("2 comments"));
    assert!(page.contains(">Resolve</button>"));

    // An empty comment: the reason, the page, nothing lost or written.
    let res = t
        .form("/wiki/team/plan/-/comments", &[("action", "add"), ("markdown", "  ")])
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("The comment is empty"));
    let long = "y".repeat(70 * 1024);
    let res = t
        .form(
            "/wiki/team/plan/-/comments",
            &[("action", "edit"), ("id", &id.to_string()), ("markdown", &long)],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        res.text().await.unwrap().contains(&long),
        "the text is kept in the form"
    );

    let res = t
        .form(
            "/wiki/team/plan/-/comments",
            &[("action", "resolve"), ("id", &id.to_string())],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let page = t
        .client
        .get(t.url("/wiki/team/plan"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Resolved thread"));
    assert!(page.contains(">Reopen</button>"));

    // A viewer sees comments but no forms.
    let viewer = t.client_as("vic", Role::Viewer).await;
    let page = viewer
        .get(t.url("/wiki/team/plan"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("A reply"));
    assert!(
        !page.contains("action=\"/wiki/team/plan/-/comments\""),
        "no comment forms for a viewer"
    );
    let res = t
        .browser_post(&viewer, "/wiki/team/plan/-/comments")
        .form(&[("action", "add"), ("markdown", "let me in")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}
