use serde_json::json;
use vellum_app::Role;
use vellum_testkit::{client, StatusCode, TestApp};

/// The CSRF token of the first form on a page.
pub fn csrf_of(html: &str) -> String {
    let marker = "name=\"_csrf\" value=\"";
    let start = html.find(marker).unwrap_or_else(|| panic!("no CSRF field in {html}")) + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

#[tokio::test]
async fn page_view_shows_content_navigation_and_toc() {
    let t = TestApp::with_admin().await;
    t.save(
        "eng/runbooks/deploy",
        "# Deploy\n\n## Prepare\n\ntext\n\n## Release\n\nSee [[eng/runbooks/rollback]].",
    )
    .await;
    t.put_page("eng/runbooks/deploy", json!({"markdown": "# Deploy\n\n## Prepare\n\ntext\n\n## Release\n\nSee [[eng/runbooks/rollback]].", "tags": ["ops"]})).await;
    let res = t.get("/wiki/eng/runbooks/deploy").await;
    assert_eq!(res.status(), StatusCode::OK);
    let h = res.headers().clone();
    assert!(h["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("script-src 'self'"));
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["cache-control"], "private, no-cache");
    let body = t.get("/wiki/eng/runbooks/deploy").await.text().await.unwrap();
    assert!(body.contains("<title>Deploy · Vellum</title>"), "title");
    assert!(
        body.contains("href=\"#prepare\"") && body.contains("href=\"#release\""),
        "table of contents"
    );
    assert!(
        body.contains("href=\"/wiki/eng/runbooks/deploy/-/edit\""),
        "edit link for an editor"
    );
    assert!(body.contains("class=\"wikilink missing\""), "missing link styled");
    assert!(body.contains("href=\"/folders/eng/runbooks\""), "breadcrumb");
    assert!(body.contains("href=\"/tags/ops\""), "tag link");
    assert!(
        body.contains("aria-current=\"page\""),
        "current page marked in the tree"
    );

    let res = t.get("/wiki/eng/runbooks/rollback").await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let body = res.text().await.unwrap();
    assert!(body.contains("Create this page") && body.contains("/wiki/eng/runbooks/rollback/-/edit"));
    // Non-canonical addresses redirect to the normalised path.
    let res = t.get("/wiki/Eng/Runbooks/Deploy").await;
    assert_eq!(res.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(res.headers()["location"], "/wiki/eng/runbooks/deploy");
}

#[tokio::test]
async fn anonymous_visitors_are_sent_to_sign_in_and_back() {
    let t = TestApp::spawn().await;
    t.create_user("ada", Role::Editor).await;
    let anon = client();
    let res = anon.get(t.url("/wiki/some/page")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], "/login?next=%2Fwiki%2Fsome%2Fpage");
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.starts_with("vellum_csrf=") && cookie.contains("HttpOnly"),
        "{cookie}"
    );

    let form_page = anon.get(t.url("/login?next=/wiki/some/page")).send().await.unwrap();
    assert!(
        form_page.headers().get("set-cookie").is_none(),
        "the token cookie is issued once"
    );
    let csrf = csrf_of(&form_page.text().await.unwrap());
    // Without the token the form is refused.
    let res = anon
        .post(t.url("/login"))
        .form(&[("username", "ada"), ("password", "password-ada")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = anon
        .post(t.url("/login"))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("username", "ada"),
            ("password", "wrong"),
            ("next", "/wiki/some/page"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("the user name or password is not right"));
    let res = anon
        .post(t.url("/login"))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("username", "ada"),
            ("password", "password-ada"),
            ("next", "/wiki/some/page"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], "/wiki/some/page");
    // The anonymous token no longer works once signed in.
    let res = anon
        .post(t.url("/logout"))
        .form(&[("_csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // An off-site `next` is ignored.
    let anon = client();
    let csrf = csrf_of(&anon.get(t.url("/login")).send().await.unwrap().text().await.unwrap());
    let res = anon
        .post(t.url("/login"))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("username", "ada"),
            ("password", "password-ada"),
            ("next", "//evil.example/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["location"], "/");
}

#[tokio::test]
async fn edit_form_previews_saves_and_refuses_forged_posts() {
    let t = TestApp::with_admin().await;
    let form_page = t.get("/wiki/notes/today/-/edit").await.text().await.unwrap();
    assert!(form_page.contains("Create <code>notes/today</code>"));
    let csrf = csrf_of(&form_page);

    let preview = t
        .client
        .post(t.url("/wiki/notes/today/-/edit"))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("action", "preview"),
            ("title", "Today"),
            ("markdown", "**bold** text"),
            ("summary", ""),
            ("tags", ""),
            ("base_revision", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(preview.status(), StatusCode::OK);
    let body = preview.text().await.unwrap();
    assert!(body.contains("<strong>bold</strong>"), "rendered preview");
    assert!(body.contains("**bold** text</textarea>"), "text kept in the editor");
    assert_eq!(
        t.json("/api/v1/pages/notes/today").await.0,
        StatusCode::NOT_FOUND,
        "preview saves nothing"
    );

    let forged = t
        .client
        .post(t.url("/wiki/notes/today/-/edit"))
        .form(&[
            ("_csrf", "forged"),
            ("action", "save"),
            ("title", "Today"),
            ("markdown", "evil"),
        ])
        .send()
        .await
        .unwrap();
    let body = forged.text().await.unwrap();
    assert!(
        body.contains("Your session changed") && body.contains("evil</textarea>"),
        "text shown again, not saved"
    );
    assert_eq!(t.json("/api/v1/pages/notes/today").await.0, StatusCode::NOT_FOUND);

    let res = t
        .client
        .post(t.url("/wiki/notes/today/-/edit"))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("action", "save"),
            ("title", "Today"),
            ("markdown", "first"),
            ("summary", "start"),
            ("tags", "daily, Notes"),
            ("base_revision", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], "/wiki/notes/today");
    let (_, page) = t.json("/api/v1/pages/notes/today").await;
    assert_eq!(page["tags"], json!(["daily", "notes"]));
    let base = page["revision"].to_string();

    // Someone else edits the same line; the form shows both sides and keeps ours.
    t.put_page(
        "notes/today",
        json!({"markdown": "theirs", "base_revision": page["revision"]}),
    )
    .await;
    let res = t
        .client
        .post(t.url("/wiki/notes/today/-/edit"))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("action", "save"),
            ("title", "Today"),
            ("markdown", "mine"),
            ("summary", ""),
            ("tags", ""),
            ("base_revision", base.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let body = res.text().await.unwrap();
    assert!(
        body.contains("mine</textarea>") && body.contains("theirs</textarea>"),
        "{body}"
    );

    // Other forms without a valid token are refused outright.
    let res = t
        .client
        .post(t.url("/wiki/notes/today/-/delete"))
        .form(&[("_csrf", "nope")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        t.json("/api/v1/pages/notes/today").await.0,
        StatusCode::OK,
        "not deleted"
    );
}

#[tokio::test]
async fn history_diff_move_and_lists_render() {
    let t = TestApp::with_admin().await;
    let one = t.save("doc", "alpha beta\n").await;
    let two = t.save("doc", "alpha gamma\n").await;
    let history = t.get("/wiki/doc/-/history").await.text().await.unwrap();
    assert!(history.contains(&format!("/revisions/{}", one["revision"])));
    let diff = t
        .get(&format!(
            "/wiki/doc/-/diff?from={}&to={}",
            one["revision"], two["revision"]
        ))
        .await;
    assert_eq!(diff.status(), StatusCode::OK);
    let diff = diff.text().await.unwrap();
    assert!(
        diff.contains("<mark>gamma</mark>") || diff.contains("<mark>gamma"),
        "{diff}"
    );

    let form = t.get("/wiki/doc/-/move").await.text().await.unwrap();
    let csrf = csrf_of(&form);
    let res = t
        .client
        .post(t.url("/wiki/doc/-/move"))
        .form(&[("_csrf", csrf.as_str()), ("to", "archive/doc")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], "/wiki/archive/doc");

    for (path, needle) in [
        ("/recent", "moved"),
        ("/pages", "archive/doc"),
        ("/folders", "archive"),
        ("/folders/archive", "/wiki/archive/doc"),
        ("/tags", "Tags"),
        ("/trash", "The trash is empty"),
        ("/wanted", "Wanted pages"),
        ("/orphans", "archive/doc"),
        (&format!("/revisions/{}", one["revision"]), "old revision"),
        ("/admin", "Visitors who are not signed in may read pages"),
    ] {
        let res = t.get(path).await;
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        let body = res.text().await.unwrap();
        assert!(body.contains(needle), "{path} lacks {needle}");
    }
    let res = t.get("/assets/style.css").await;
    assert_eq!(res.headers()["content-type"], "text/css; charset=utf-8");
    let res = t.get("/assets/highlight.css").await;
    assert!(res.text().await.unwrap().contains('{'));
}
