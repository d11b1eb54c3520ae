//! Reads never write: stale stored renderings are refreshed off the request
//! path, and a broken page is an internal error, not a stored empty page.

use vellum_testkit::{StatusCode, TestApp};

#[tokio::test]
async fn many_views_after_a_renderer_upgrade_all_succeed() {
    let t = TestApp::with_admin().await;
    for i in 0..12 {
        t.save(
            &format!("p/{i}"),
            &format!("# Page {i}\n\n```rust\nfn f() {{}}\n```\n\n[[p/{}]]", i + 1),
        )
        .await;
    }
    // As after a release that changes the HTML: every stored rendering is
    // of an older renderer.
    let stale = t.db.execute("UPDATE page_renders SET renderer = renderer - 1").await;
    assert_eq!(stale, 12);
    // More concurrent views than the SQLite pool has connections (8).
    let mut views = Vec::new();
    for round in 0..4 {
        for i in 0..12 {
            let client = t.client.clone();
            let url = if round % 2 == 0 {
                t.url(&format!("/wiki/p/{i}"))
            } else {
                t.url(&format!("/api/v1/pages/p/{i}"))
            };
            views.push(tokio::spawn(async move {
                let res = client.get(url).send().await.unwrap();
                (res.status(), res.text().await.unwrap())
            }));
        }
    }
    for (i, v) in views.into_iter().enumerate() {
        let (status, body) = v.await.unwrap();
        assert_eq!(status, StatusCode::OK, "view {i}: {body}");
        assert!(body.contains("Page "), "view {i} shows the page");
    }
    // The refreshed renderings are stored in the background (bounded wait).
    let mut left = -1;
    for _ in 0..200 {
        left =
            t.db.scalar("SELECT COUNT(*) FROM page_renders WHERE renderer < (SELECT MAX(renderer) FROM page_renders)")
                .await;
        if left == 0 && t.db.scalar("SELECT COUNT(DISTINCT renderer) FROM page_renders").await == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert_eq!(left, 0, "every stale rendering was stored again");
}

#[tokio::test]
async fn a_page_whose_current_revision_is_missing_is_an_internal_error() {
    let t = TestApp::with_admin().await;
    t.save("broken", "text").await;
    t.db.execute("DELETE FROM page_renders").await;
    t.db.execute("UPDATE pages SET current_revision_id = 987654 WHERE path = 'broken'")
        .await;
    let res = t.get("/api/v1/pages/broken").await;
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "internal");
    assert_eq!(t.get("/wiki/broken").await.status(), StatusCode::INTERNAL_SERVER_ERROR);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(
        t.db.scalar("SELECT COUNT(*) FROM page_renders").await,
        0,
        "nothing was stored for the broken page"
    );
}
