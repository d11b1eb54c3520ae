use serde_json::{json, Value};
use vellum_testkit::{StatusCode, TestApp};

fn paths(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|p| p["path"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn backlinks_wanted_and_orphans_follow_the_links() {
    let t = TestApp::with_admin().await;
    t.save("a", "Links to [[b]] and [[Not Yet|later]] and [md](/wiki/c).")
        .await;
    t.save("b", "Back to [[a]].").await;
    t.save("c", "No links.").await;
    t.save("lonely", "Nobody links here.").await;

    let (_, back) = t.json("/api/v1/pages/b/-/backlinks").await;
    assert_eq!(paths(&back["items"]), ["a"]);
    let (_, back) = t.json("/api/v1/pages/c/-/backlinks").await;
    assert_eq!(paths(&back["items"]), ["a"], "markdown links to /wiki/ count too");

    let (_, wanted) = t.json("/api/v1/wanted").await;
    assert_eq!(wanted["items"], json!([{"path": "not-yet", "links": 1}]));
    let (_, a) = t.json("/api/v1/pages/a").await;
    let html = a["html"].as_str().unwrap();
    assert!(html.contains("class=\"wikilink missing\""), "{html}");

    // Creating the wanted page removes it from the list and restyles the link
    // on the page that links to it (its cached HTML is invalidated).
    t.save("not-yet", "Here now.").await;
    let (_, wanted) = t.json("/api/v1/wanted").await;
    assert_eq!(wanted["items"], json!([]));
    let (_, a) = t.json("/api/v1/pages/a").await;
    assert!(!a["html"].as_str().unwrap().contains("missing"), "{}", a["html"]);

    let (_, orphans) = t.json("/api/v1/orphans").await;
    assert_eq!(paths(&orphans["items"]), ["lonely"]);

    // Deleting a page turns links to it into wanted ones again.
    t.delete("/api/v1/pages/b").await;
    let (_, wanted) = t.json("/api/v1/wanted").await;
    assert_eq!(wanted["items"], json!([{"path": "b", "links": 1}]));
    let (_, a) = t.json("/api/v1/pages/a").await;
    assert!(
        a["html"]
            .as_str()
            .unwrap()
            .contains("href=\"/wiki/b\" class=\"wikilink missing\""),
        "{}",
        a["html"]
    );
}

#[tokio::test]
async fn tags_count_and_list_pages() {
    let t = TestApp::with_admin().await;
    t.put_page("x", json!({"markdown": "x", "tags": ["Ops", "runbook"]}))
        .await;
    t.put_page("y", json!({"markdown": "y", "tags": ["ops"]})).await;
    t.put_page("z", json!({"markdown": "z", "tags": ["ops"]})).await;
    t.delete("/api/v1/pages/z").await;
    let (_, tags) = t.json("/api/v1/tags").await;
    assert_eq!(
        tags["items"],
        json!([{"tag": "ops", "count": 2}, {"tag": "runbook", "count": 1}])
    );
    let (_, first) = t.json("/api/v1/tags?limit=1").await;
    assert_eq!(first["items"], json!([{"tag": "ops", "count": 2}]));
    let (_, second) = t
        .json(&format!(
            "/api/v1/tags?limit=1&cursor={}",
            first["next_cursor"].as_str().unwrap()
        ))
        .await;
    assert_eq!(second["items"], json!([{"tag": "runbook", "count": 1}]));
    assert!(second["next_cursor"].is_null());
    let (status, ops) = t.json("/api/v1/tags/ops").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(paths(&ops["items"]), ["x", "y"]);
    // Changing only the tags is recorded without a new revision.
    let (_, before) = t.json("/api/v1/pages/y").await;
    let res = t.put_page("y", json!({"markdown": "y", "tags": []})).await;
    let after: Value = res.json().await.unwrap();
    assert_eq!(after["revision"], before["revision"]);
    assert_eq!(after["tags"], json!([]));
    let (_, changes) = t.json("/api/v1/recent-changes?limit=1").await;
    assert_eq!(changes["items"][0]["action"], "page.tags_changed");
}

#[tokio::test]
async fn recent_changes_site_wide_and_per_user() {
    let t = TestApp::with_admin().await;
    let bob = t.client_as("bob", vellum_app::Role::Editor).await;
    t.save("one", "first").await;
    bob.put(t.url("/api/v1/pages/one"))
        .json(&json!({"markdown": "first, longer", "summary": "more words"}))
        .send()
        .await
        .unwrap();
    t.post_json("/api/v1/pages/one/-/move", json!({"to": "uno"})).await;
    t.delete("/api/v1/pages/uno").await;

    let (_, all) = t.json("/api/v1/recent-changes").await;
    let items = all["items"].as_array().unwrap();
    let actions: Vec<_> = items.iter().map(|c| c["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["page.deleted", "page.moved", "page.edited", "page.created"]);
    assert_eq!(items[2]["user"], "bob");
    assert_eq!(items[2]["summary"], "more words");
    assert_eq!(items[2]["size_delta"], 8);
    assert_eq!(items[1]["from"], "one");
    assert_eq!(items[1]["path"], "uno");
    assert_eq!(items[1]["details"]["from"], "one");
    assert_eq!(items[1]["details"]["to"], "uno");
    assert_eq!(items[0]["title"], "One", "a deletion names the page it removed");
    assert!(items[0]["at"].as_str().unwrap().ends_with('Z'));

    let (_, bobs) = t.json("/api/v1/recent-changes?user=bob").await;
    assert_eq!(bobs["items"].as_array().unwrap().len(), 1);
    let (_, first) = t.json("/api/v1/recent-changes?limit=3").await;
    let cursor = first["next_cursor"].as_str().unwrap();
    let (_, rest) = t.json(&format!("/api/v1/recent-changes?limit=3&cursor={cursor}")).await;
    assert_eq!(rest["items"][0]["action"], "page.created");
    assert!(rest["next_cursor"].is_null());
    let (status, _) = t.json("/api/v1/recent-changes?user=nobody").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn rendering_is_sanitized_and_previewable() {
    let t = TestApp::with_admin().await;
    t.save("exists", "x").await;
    let md = "# Title\n\n<script>alert(1)</script>\n\n<img src=x onerror=alert(2)>\n\n[x](javascript:alert(3))\n\n\
              - [x] done\n- [ ] todo\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n~~old~~ https://example.com\n\n\
              Note[^1]\n\n[^1]: A footnote.\n\n[[exists]] [[missing page]]\n";
    let res = t.post_json("/api/v1/render", json!({"markdown": md})).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    let html = body["html"].as_str().unwrap();
    for bad in ["<script", "onerror", "javascript:"] {
        assert!(!html.contains(bad), "{bad} survived: {html}");
    }
    for good in [
        "<table>",
        "<del>old</del>",
        "type=\"checkbox\"",
        "href=\"https://example.com\"",
        "footnote",
        "href=\"/wiki/exists\" class=\"wikilink\"",
        "href=\"/wiki/missing-page\" class=\"wikilink missing\"",
    ] {
        assert!(html.contains(good), "{good} missing: {html}");
    }
    assert_eq!(body["toc"][0]["text"], "Title");
    // The stored page renders the same way.
    let page = t.save("xss", md).await;
    assert!(!page["html"].as_str().unwrap().contains("<script"));
}

#[tokio::test]
async fn stored_renderings_are_derived_and_remade_when_thrown_away() {
    let t = TestApp::with_admin().await;
    t.save("target", "x").await;
    let before = t.save("source", "# Head\n\nTo [[target]] and [[nowhere]].").await;
    let gone = t.db.execute("DELETE FROM page_renders").await;
    assert_eq!(gone, 2, "one stored rendering per page");
    // The HTML view reads no Markdown with the page; it must fetch the text to render again.
    let html = t.get("/wiki/target").await.text().await.unwrap();
    assert!(html.contains("<p>x</p>"), "{html}");
    let (_, after) = t.json("/api/v1/pages/source").await;
    assert_eq!(after["html"], before["html"]);
    assert_eq!(after["toc"], before["toc"]);
    // The renderings are stored again by the background writer, not by the
    // readers: wait for it (bounded).
    let mut count = 0;
    for _ in 0..100 {
        count = t.db.scalar("SELECT COUNT(*) FROM page_renders").await;
        if count == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(count, 2, "the viewed pages' renderings were stored again");
}
