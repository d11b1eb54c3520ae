use serde_json::{json, Value};
use vellum_testkit::{error_code, StatusCode, TestApp};

#[tokio::test]
async fn create_read_edit_a_page() {
    let t = TestApp::with_admin().await;
    let res = t
        .put_page(
            "Engineering/Run Books/Deploy",
            json!({"title": "Déploiement 🚀", "markdown": "# Steps\n\nRun it.", "tags": ["Ops", "deploy"], "summary": "first"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(res.headers()["location"], "/api/v1/pages/engineering/run-books/deploy");
    let created: Value = res.json().await.unwrap();
    assert_eq!(created["path"], "engineering/run-books/deploy");
    assert_eq!(created["title"], "Déploiement 🚀");
    assert_eq!(created["tags"], json!(["deploy", "ops"]));
    let rev1 = created["revision"].as_i64().unwrap();

    let (status, page) = t.json("/api/v1/pages/engineering/run-books/deploy").await;
    assert_eq!(status, StatusCode::OK);
    for field in ["path", "title", "revision", "markdown", "html", "tags", "updated_at"] {
        assert!(!page[field].is_null(), "GET lacks {field}: {page}");
    }
    assert_eq!(page["markdown"], "# Steps\n\nRun it.");
    assert!(page["html"].as_str().unwrap().contains("<h1>"), "{}", page["html"]);
    assert_eq!(page["toc"][0]["text"], "Steps");

    let res = t
        .put_page(
            "engineering/run-books/deploy",
            json!({"markdown": "# Steps\n\nRun it twice.", "base_revision": rev1}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let edited: Value = res.json().await.unwrap();
    assert!(edited["revision"].as_i64().unwrap() > rev1);
    assert_eq!(edited["title"], "Déploiement 🚀", "title kept when not given");
    assert_eq!(edited["tags"], json!(["deploy", "ops"]), "tags kept when not given");

    // Saving the same text again makes no new revision.
    let again = t.save("engineering/run-books/deploy", "# Steps\n\nRun it twice.").await;
    assert_eq!(again["revision"], edited["revision"]);
    let (_, history) = t.json("/api/v1/pages/engineering/run-books/deploy/-/revisions").await;
    assert_eq!(history["items"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn title_defaults_from_the_path() {
    let t = TestApp::with_admin().await;
    let page = t.save("team/release-notes", "x").await;
    assert_eq!(page["title"], "Release notes");
}

#[tokio::test]
async fn folders_list_children_at_any_depth() {
    let t = TestApp::with_admin().await;
    t.save("eng", "the eng page").await;
    t.save("eng/runbooks/deploy", "d").await;
    t.save("eng/runbooks/rollback", "r").await;
    t.save("eng/onboarding", "o").await;
    t.save("hr/policies/leave", "l").await;

    let (_, root) = t.json("/api/v1/folders").await;
    let names: Vec<_> = root["folders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["eng", "hr"]);
    assert_eq!(root["folders"][0]["page_count"], 3);
    assert_eq!(root["pages"][0]["path"], "eng");

    let (_, eng) = t.json("/api/v1/folders/eng").await;
    assert_eq!(eng["path"], "eng");
    assert_eq!(eng["page"]["path"], "eng", "the folder's own page");
    assert_eq!(eng["folders"][0]["path"], "eng/runbooks");
    let pages: Vec<_> = eng["pages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["path"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(pages, ["eng/onboarding"]);

    let (_, runbooks) = t.json("/api/v1/folders/eng/runbooks").await;
    assert_eq!(runbooks["pages"].as_array().unwrap().len(), 2);
    let (_, first) = t.json("/api/v1/folders/eng/runbooks?limit=1").await;
    assert_eq!(first["pages"][0]["path"], "eng/runbooks/deploy");
    let cursor = first["next_cursor"].as_str().unwrap();
    let (_, second) = t
        .json(&format!("/api/v1/folders/eng/runbooks?limit=1&cursor={cursor}"))
        .await;
    assert_eq!(second["pages"][0]["path"], "eng/runbooks/rollback");
    assert!(second["next_cursor"].is_null());
    // hr exists only as a prefix of hr/policies/leave.
    let (status, hr) = t.json("/api/v1/folders/hr").await;
    assert_eq!(status, StatusCode::OK);
    assert!(hr["page"].is_null());
}

#[tokio::test]
async fn all_pages_paginate_with_a_cursor() {
    let t = TestApp::with_admin().await;
    for i in 0..5 {
        t.save(&format!("p{i}"), "x").await;
    }
    let mut seen = Vec::new();
    let mut url = "/api/v1/pages?limit=2".to_owned();
    loop {
        let (status, page) = t.json(&url).await;
        assert_eq!(status, StatusCode::OK);
        for item in page["items"].as_array().unwrap() {
            seen.push(item["path"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(c) => url = format!("/api/v1/pages?limit=2&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen, ["p0", "p1", "p2", "p3", "p4"]);
}

#[tokio::test]
async fn move_leaves_a_redirect_and_links_keep_working() {
    let t = TestApp::with_admin().await;
    t.save("guides/setup", "Setup guide").await;
    t.save("index", "Read [[guides/setup]] first.").await;
    let res = t
        .post_json(
            "/api/v1/pages/guides/setup/-/move",
            json!({"to": "handbook/Getting Started"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let moved: Value = res.json().await.unwrap();
    assert_eq!(moved["path"], "handbook/getting-started");

    let (status, old) = t.json("/api/v1/pages/guides/setup").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(old["path"], "handbook/getting-started");
    assert_eq!(old["redirected_from"], "guides/setup");

    // The linking page's link still leads somewhere: not styled as missing.
    let (_, index) = t.json("/api/v1/pages/index").await;
    let html = index["html"].as_str().unwrap();
    assert!(
        html.contains("href=\"/wiki/guides/setup\"") && !html.contains("missing"),
        "{html}"
    );
    // Backlinks of the new path include pages linking to the old one.
    let (_, back) = t.json("/api/v1/pages/handbook/getting-started/-/backlinks").await;
    assert_eq!(back["items"][0]["path"], "index");
    // The HTML view of the old path redirects to the new one.
    let res = t.get("/wiki/guides/setup").await;
    assert_eq!(res.status(), StatusCode::PERMANENT_REDIRECT);
    assert!(res.headers()["location"]
        .to_str()
        .unwrap()
        .starts_with("/wiki/handbook/getting-started"));

    t.save("taken", "x").await;
    let res = t
        .post_json("/api/v1/pages/handbook/getting-started/-/move", json!({"to": "taken"}))
        .await;
    assert_eq!(error_code(res, StatusCode::CONFLICT).await.0, "path_taken");
    let res = t
        .post_json(
            "/api/v1/pages/handbook/getting-started/-/move",
            json!({"to": "bad?path"}),
        )
        .await;
    assert_eq!(
        error_code(res, StatusCode::UNPROCESSABLE_ENTITY).await.0,
        "invalid_path"
    );
    // A new page may take over the old path; the redirect gives way.
    let res = t.put_page("guides/setup", json!({"markdown": "new page here"})).await;
    assert_eq!(res.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn delete_to_trash_and_restore() {
    let t = TestApp::with_admin().await;
    t.save("notes/old", "keep me").await;
    assert_eq!(
        t.delete("/api/v1/pages/notes/old").await.status(),
        StatusCode::NO_CONTENT
    );
    let res = t.get("/api/v1/pages/notes/old").await;
    let (code, err) = error_code(res, StatusCode::NOT_FOUND).await;
    assert_eq!(code, "page_not_found");
    assert_eq!(err["details"]["in_trash"], true);
    assert_eq!(
        error_code(t.delete("/api/v1/pages/notes/old").await, StatusCode::NOT_FOUND)
            .await
            .0,
        "page_not_found"
    );

    let (_, trash) = t.json("/api/v1/trash").await;
    let id = trash["items"][0]["id"].as_i64().unwrap();
    assert_eq!(trash["items"][0]["path"], "notes/old");

    // Someone created a new page at the same path meanwhile.
    t.save("notes/old", "a newer page").await;
    let res = t.post_json(&format!("/api/v1/trash/{id}/restore"), json!({})).await;
    assert_eq!(error_code(res, StatusCode::CONFLICT).await.0, "path_taken");
    let res = t
        .post_json(
            &format!("/api/v1/trash/{id}/restore"),
            json!({"to": "notes/old-restored"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let (_, page) = t.json("/api/v1/pages/notes/old-restored").await;
    assert_eq!(page["markdown"], "keep me");
    let (_, trash) = t.json("/api/v1/trash").await;
    assert_eq!(trash["items"], json!([]));
    let res = t.post_json(&format!("/api/v1/trash/{id}/restore"), json!({})).await;
    assert_eq!(error_code(res, StatusCode::NOT_FOUND).await.0, "not_in_trash");
}

#[tokio::test]
async fn concurrent_edits_of_different_lines_all_land() {
    let t = TestApp::with_admin().await;
    let lines: Vec<String> = (0..12).map(|i| format!("line {i}")).collect();
    let page = t.save("busy", &lines.join("\n\n")).await;
    let base = page["revision"].as_i64().unwrap();
    let mut tasks = Vec::new();
    for i in 0..12 {
        let client = t.client.clone();
        let url = t.url("/api/v1/pages/busy");
        let mut mine = lines.clone();
        mine[i] = format!("line {i} edited");
        tasks.push(tokio::spawn(async move {
            client
                .put(url)
                .json(&json!({"markdown": mine.join("\n\n"), "base_revision": base}))
                .send()
                .await
                .unwrap()
                .status()
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap(), StatusCode::OK, "every non-overlapping edit merges");
    }
    let (_, page) = t.json("/api/v1/pages/busy").await;
    let text = page["markdown"].as_str().unwrap();
    for i in 0..12 {
        assert!(text.contains(&format!("line {i} edited")), "edit {i} lost: {text}");
    }
    let (_, history) = t.json("/api/v1/pages/busy/-/revisions?limit=100").await;
    assert_eq!(history["items"].as_array().unwrap().len(), 13);
    // Every save's reply named a distinct revision: its own.
}
