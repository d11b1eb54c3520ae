//! The warm read path and HTTP caching: every change a page view shows is
//! visible on the next request, on the node that made it and on another
//! node, and a `304` is never the answer for a page whose content or
//! visibility changed.

use reqwest::header::{ACCEPT_ENCODING, ETAG, IF_NONE_MATCH};
use serde_json::json;
use vellum_app::Role;
use vellum_testkit::{client, StatusCode, TestApp};

/// The page's HTML as the client sees it now (after two reads, so the
/// second comes from memory).
async fn view(t: &TestApp, c: &reqwest::Client, path: &str) -> (StatusCode, String) {
    let _ = c.get(t.url(path)).send().await.unwrap();
    let res = c.get(t.url(path)).send().await.unwrap();
    (res.status(), res.text().await.unwrap())
}

/// Access rules that close a path to everyone but the administrator.
fn admin_only() -> serde_json::Value {
    json!({"inherit": false, "rules": [{"principal": "user:admin", "level": "manage"}]})
}

/// A GET with `If-None-Match`.
async fn conditional(t: &TestApp, c: &reqwest::Client, path: &str, etag: &str) -> reqwest::Response {
    c.get(t.url(path)).header(IF_NONE_MATCH, etag).send().await.unwrap()
}

async fn etag_of(t: &TestApp, c: &reqwest::Client, path: &str) -> String {
    let res = c.get(t.url(path)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK, "{path}");
    res.headers()[ETAG].to_str().unwrap().to_owned()
}

#[tokio::test]
async fn every_change_a_page_view_shows_is_visible_on_the_next_request() {
    let t = TestApp::with_admin().await;
    let c = &t.client;
    t.save("docs/guide", "# Guide\n\nFirst words. See [[docs/later]].")
        .await;
    let (s, html) = view(&t, c, "/wiki/docs/guide").await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("First words"));
    assert!(
        html.contains("href=\"/wiki/docs/later\" class=\"wikilink missing\""),
        "{html}"
    );

    // An edit.
    t.save("docs/guide", "# Guide\n\nSecond words. See [[docs/later]].")
        .await;
    let (_, html) = view(&t, c, "/wiki/docs/guide").await;
    assert!(html.contains("Second words") && !html.contains("First words"));

    // The link target comes to exist, then goes away again.
    t.save("docs/later", "Here now.").await;
    let (_, html) = view(&t, c, "/wiki/docs/guide").await;
    assert!(html.contains("href=\"/wiki/docs/later\" class=\"wikilink\""), "{html}");
    assert_eq!(
        t.delete("/api/v1/pages/docs/later").await.status(),
        StatusCode::NO_CONTENT
    );
    let (_, html) = view(&t, c, "/wiki/docs/guide").await;
    assert!(
        html.contains("href=\"/wiki/docs/later\" class=\"wikilink missing\""),
        "{html}"
    );

    // Tags.
    let res = t
        .put_page(
            "docs/guide",
            json!({"markdown": "# Guide\n\nSecond words. See [[docs/later]].", "tags": ["runbook-tag"]}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let (_, html) = view(&t, c, "/wiki/docs/guide").await;
    assert!(html.contains("runbook-tag"));

    // A comment.
    let res = t
        .post_json(
            "/api/v1/pages/docs/guide/-/comments",
            json!({"markdown": "A cached remark"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let (_, html) = view(&t, c, "/wiki/docs/guide").await;
    assert!(html.contains("A cached remark"));

    // Watching.
    let res = c.put(t.url("/api/v1/pages/docs/guide/-/watch")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let (_, html) = view(&t, c, "/wiki/docs/guide").await;
    assert!(html.contains("value=\"unwatch\""));
    let res = c
        .delete(t.url("/api/v1/pages/docs/guide/-/watch"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let (_, html) = view(&t, c, "/wiki/docs/guide").await;
    assert!(html.contains("value=\"watch\""));

    // A move: the old address sends the reader on, the new one shows it.
    let res = t
        .post_json("/api/v1/pages/docs/guide/-/move", json!({"to": "docs/handbook"}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let (s, html) = view(&t, c, "/wiki/docs/handbook").await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("Second words"));
    let (_, page) = t.json("/api/v1/pages/docs/guide").await;
    assert_eq!(page["path"], "docs/handbook");

    // A delete, then a restore.
    assert_eq!(
        t.delete("/api/v1/pages/docs/handbook").await.status(),
        StatusCode::NO_CONTENT
    );
    let (s, _) = view(&t, c, "/wiki/docs/handbook").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, trash) = t.json("/api/v1/trash").await;
    let item = trash["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["path"] == "docs/handbook")
        .unwrap_or_else(|| panic!("{trash}"));
    let res = t
        .post_json(&format!("/api/v1/trash/{}/restore", item["id"]), json!({}))
        .await;
    assert_eq!(res.status(), StatusCode::OK, "{}", res.text().await.unwrap());
    let (s, html) = view(&t, c, "/wiki/docs/handbook").await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("Second words"));
}

#[tokio::test]
async fn an_access_rule_applies_to_cached_pages_at_once() {
    let t = TestApp::with_admin().await;
    let ann = t.client_as("ann", Role::Viewer).await;
    t.save("team/plan", "# Plan\n\nOpen for now. [[team/secret]]").await;
    t.save("team/secret", "Hidden soon.").await;
    let (s, html) = view(&t, &ann, "/wiki/team/plan").await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("href=\"/wiki/team/secret\" class=\"wikilink\""));
    let etag = etag_of(&t, &ann, "/wiki/team/plan").await;
    assert_eq!(
        conditional(&t, &ann, "/wiki/team/plan", &etag).await.status(),
        StatusCode::NOT_MODIFIED
    );

    // Closing the secret page restyles the link for ann (and changes the
    // validator); closing the plan hides it.
    let res = t
        .client
        .put(t.url("/api/v1/access/team/secret"))
        .json(&admin_only())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = conditional(&t, &ann, "/wiki/team/plan", &etag).await;
    assert_eq!(res.status(), StatusCode::OK, "a link's visibility changed: no 304");
    let html = res.text().await.unwrap();
    assert!(
        html.contains("href=\"/wiki/team/secret\" class=\"wikilink missing\""),
        "{html}"
    );
    let res = t
        .client
        .put(t.url("/api/v1/access/team/plan"))
        .json(&admin_only())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = conditional(&t, &ann, "/wiki/team/plan", &etag).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert!(!res.text().await.unwrap().contains("Open for now"));
    let res = ann
        .get(t.url("/api/v1/pages/team/plan"))
        .header(IF_NONE_MATCH, "*")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn page_views_answer_304_until_something_they_show_changes() {
    let t = TestApp::with_admin().await;
    let c = &t.client;
    t.save("notes/day", "# Day\n\nMorning.").await;
    let etag = etag_of(&t, c, "/wiki/notes/day").await;
    assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");
    let res = conditional(&t, c, "/wiki/notes/day", &etag).await;
    assert_eq!(res.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(res.headers()[ETAG].to_str().unwrap(), etag);
    assert!(res.text().await.unwrap().is_empty(), "a 304 has no body");
    // Weak comparison, and lists.
    let weak = format!("W/{etag}");
    assert_eq!(
        conditional(&t, c, "/wiki/notes/day", &weak).await.status(),
        StatusCode::NOT_MODIFIED
    );
    let list = format!("\"other\", {etag}");
    assert_eq!(
        conditional(&t, c, "/wiki/notes/day", &list).await.status(),
        StatusCode::NOT_MODIFIED
    );

    // Each of these changes what the page shows.
    let mut seen = vec![etag.clone()];
    let mut expect_new = async |what: &str| {
        let res = conditional(&t, c, "/wiki/notes/day", seen.last().unwrap()).await;
        assert_eq!(res.status(), StatusCode::OK, "after {what}");
        let now = res.headers()[ETAG].to_str().unwrap().to_owned();
        assert!(!seen.contains(&now), "after {what}: {now} was used before");
        seen.push(now);
    };
    t.save("notes/day", "# Day\n\nEvening.").await;
    expect_new("an edit").await;
    let res = t
        .post_json("/api/v1/pages/notes/day/-/comments", json!({"markdown": "Nice day"}))
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    expect_new("a comment").await;
    t.save("notes/tomorrow", "Another page in the folder.").await;
    expect_new("a new page in the sidebar").await;
    let res = c.put(t.url("/api/v1/pages/notes/day/-/watch")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    expect_new("watching").await;
    let res = c
        .put(t.url("/api/v1/pages/notes/day/-/verification"))
        .json(&json!({"owner": "admin", "interval_days": 30}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    expect_new("a review policy").await;

    // Another reader never gets the admin's validator answered 304.
    let ann = t.client_as("ann", Role::Viewer).await;
    let last = seen.last().unwrap().clone();
    assert_eq!(
        conditional(&t, &ann, "/wiki/notes/day", &last).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn compressed_page_views_are_tagged_by_encoding_and_revalidate() {
    let t = TestApp::with_admin().await;
    let c = &t.client;
    let text = format!("# Long\n\n{}", "A sentence that repeats itself nicely. ".repeat(200));
    t.save("long", &text).await;
    let plain = etag_of(&t, c, "/wiki/long").await;
    for round in 0..2 {
        let res = c
            .get(t.url("/wiki/long"))
            .header(ACCEPT_ENCODING, "gzip")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()["content-encoding"], "gzip", "round {round}");
        let tagged = res.headers()[ETAG].to_str().unwrap().to_owned();
        assert_eq!(tagged, format!("{}-gzip\"", plain.trim_end_matches('"')));
        let zipped = res.bytes().await.unwrap();
        let mut body = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&zipped[..]), &mut body).unwrap();
        assert!(body.contains("A sentence that repeats itself nicely."));
        let res = c
            .get(t.url("/wiki/long"))
            .header(ACCEPT_ENCODING, "gzip")
            .header(IF_NONE_MATCH, &tagged)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::NOT_MODIFIED);
    }
    // A client that refuses gzip gets the plain bytes.
    let res = c
        .get(t.url("/wiki/long"))
        .header(ACCEPT_ENCODING, "gzip;q=0")
        .send()
        .await
        .unwrap();
    assert!(res.headers().get("content-encoding").is_none());
}

#[tokio::test]
async fn api_reads_carry_validators() {
    let t = TestApp::with_admin().await;
    let c = &t.client;
    t.save("api/doc", "Version one.").await;
    for path in [
        "/api/v1/pages/api/doc",
        "/api/v1/pages",
        "/api/v1/folders/api",
        "/api/v1/pages/api/doc/-/revisions",
    ] {
        let etag = etag_of(&t, c, path).await;
        let res = conditional(&t, c, path, &etag).await;
        assert_eq!(res.status(), StatusCode::NOT_MODIFIED, "{path}");
        assert!(res.text().await.unwrap().is_empty());
    }
    let etag = etag_of(&t, c, "/api/v1/pages/api/doc").await;
    t.save("api/doc", "Version two.").await;
    let res = conditional(&t, c, "/api/v1/pages/api/doc", &etag).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["markdown"], "Version two.");
}

#[tokio::test]
async fn another_node_shows_every_change_and_never_answers_304_for_a_changed_page() {
    let a = TestApp::with_admin().await;
    let b = a.another_node().await;
    b.login(&b.client, "admin").await;
    a.create_user("ann", Role::Viewer).await;
    let ann_b = client();
    b.login(&ann_b, "ann").await;
    a.save("shared/page", "# Shared\n\nOne. [[shared/other]]").await;
    let (s, html) = view(&b, &b.client, "/wiki/shared/page").await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("One."));
    let etag_b = etag_of(&b, &b.client, "/wiki/shared/page").await;
    let _ = view(&b, &ann_b, "/wiki/shared/page").await;

    // Each change on A shows on B once B's change feed has it, and B's
    // validator from before never gets a 304 after.
    let eventually = async |what: &str, check: &dyn Fn(&str) -> bool, who: &reqwest::Client| {
        b.eventually(10, what, || async {
            let res = who.get(b.url("/wiki/shared/page")).send().await.unwrap();
            check(&res.text().await.unwrap())
        })
        .await;
    };
    a.save("shared/page", "# Shared\n\nTwo. [[shared/other]]").await;
    eventually("the edit on node B", &|h| h.contains("Two."), &b.client).await;
    assert_eq!(
        conditional(&b, &b.client, "/wiki/shared/page", &etag_b).await.status(),
        StatusCode::OK
    );

    a.save("shared/other", "Exists now.").await;
    eventually(
        "the link target's creation on node B",
        &|h| h.contains("href=\"/wiki/shared/other\" class=\"wikilink\""),
        &b.client,
    )
    .await;

    let res = a
        .client
        .put(a.url("/api/v1/access/shared"))
        .json(&admin_only())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    b.eventually(10, "the access rule on node B", || async {
        ann_b.get(b.url("/wiki/shared/page")).send().await.unwrap().status() == StatusCode::NOT_FOUND
    })
    .await;

    let res = a
        .post_json("/api/v1/pages/shared/page/-/move", json!({"to": "shared/moved"}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    b.eventually(10, "the move on node B", || async {
        let res = b.client.get(b.url("/api/v1/pages/shared/page")).send().await.unwrap();
        let body: serde_json::Value = res.json().await.unwrap();
        body["path"] == "shared/moved"
    })
    .await;
    assert_eq!(
        a.delete("/api/v1/pages/shared/moved").await.status(),
        StatusCode::NO_CONTENT
    );
    b.eventually(10, "the delete on node B", || async {
        b.client.get(b.url("/wiki/shared/moved")).send().await.unwrap().status() == StatusCode::NOT_FOUND
    })
    .await;
}
