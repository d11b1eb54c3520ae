use serde_json::json;
use vellum_app::Role;
use vellum_testkit::{client, StatusCode, TestApp};

#[tokio::test]
async fn page_view_shows_content_navigation_and_toc() {
    let t = TestApp::with_admin().await;
    let md = "# Deploy\n\n## Prepare\n\ntext\n\n## Release\n\nSee [[eng/runbooks/rollback]].";
    t.put_page("eng/runbooks/deploy", json!({"markdown": md, "tags": ["ops"]}))
        .await;
    t.save("eng/runbooks/checklist", "items").await;
    let res = t.get("/wiki/eng/runbooks/deploy").await;
    assert_eq!(res.status(), StatusCode::OK);
    let h = res.headers().clone();
    assert!(h["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("script-src 'self'"));
    assert!(
        h["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("img-src 'self' data: blob:;"),
        "images only from the wiki itself by default"
    );
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["cache-control"], "private, no-cache");
    assert!(h.get("x-powered-by").is_none());
    let body = res.text().await.unwrap();
    assert!(body.contains("<title>Deploy · Vellum</title>"), "title");
    assert!(
        body.contains("href=\"#prepare\"") && body.contains("href=\"#release\""),
        "table of contents"
    );
    assert!(
        body.contains("href=\"/wiki/eng/runbooks/deploy/-/edit\""),
        "edit link for an editor"
    );
    assert!(
        body.contains("href=\"/wiki/eng/runbooks/rollback\" class=\"wikilink missing\""),
        "missing link styled"
    );
    assert!(body.contains("href=\"/folders/eng/runbooks\""), "breadcrumb");
    assert!(body.contains("href=\"/tags/ops\""), "tag link");
    assert!(
        body.contains("href=\"/wiki/eng/runbooks/deploy\" aria-current=\"page\""),
        "current page marked in the tree"
    );
    assert!(
        body.contains("href=\"/wiki/eng/runbooks/checklist\">Checklist</a>"),
        "sibling listed in the tree"
    );
    assert!(body.contains(">revision 1</a>"), "per-page revision number");

    let res = t.get("/wiki/eng/runbooks/rollback").await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let body = res.text().await.unwrap();
    assert!(body.contains("Create this page") && body.contains("/wiki/eng/runbooks/rollback/-/edit"));
    // Non-canonical addresses redirect to the normalised path, sub-pages too.
    let res = t.get("/wiki/Eng/Runbooks/Deploy").await;
    assert_eq!(res.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(res.headers()["location"], "/wiki/eng/runbooks/deploy");
    let res = t.get("/wiki/Eng/Runbooks/Deploy/-/history").await;
    assert_eq!(res.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(res.headers()["location"], "/wiki/eng/runbooks/deploy/-/history");
    let res = t.get("/wiki/eng/runbooks/deploy/-/nonsense").await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn viewers_are_not_offered_what_they_cannot_do() {
    let t = TestApp::with_admin().await;
    t.save("doc", "text").await;
    let viewer = t.client_as("vera", Role::Viewer).await;
    let body = viewer
        .get(t.url("/wiki/doc"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(body.contains("/wiki/doc/-/history"), "history is offered");
    for action in ["/wiki/doc/-/edit", "/wiki/doc/-/move", "/wiki/doc/-/delete", "/access/"] {
        assert!(!body.contains(action), "a viewer is offered {action}");
    }
    // The trash is offered because the service lets readers see it; what
    // they may not do there (restore) is not offered.
    assert!(body.contains("href=\"/trash\""));
    t.save("gone", "text").await;
    assert_eq!(t.delete("/api/v1/pages/gone").await.status(), 204);
    let res = viewer.get(t.url("/trash")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let trash = res.text().await.unwrap();
    assert!(trash.contains("<code>gone</code>"), "{trash}");
    assert!(!trash.contains("/restore"), "a viewer is offered restore: {trash}");
}

#[tokio::test]
async fn anonymous_visitors_are_sent_to_sign_in_and_back() {
    let t = TestApp::spawn().await;
    t.create_user("ada", Role::Editor).await;
    let anon = client();
    for (from, next) in [
        ("/wiki/some/page", "%2Fwiki%2Fsome%2Fpage"),
        ("/wiki/some/page/-/history", "%2Fwiki%2Fsome%2Fpage%2F-%2Fhistory"),
    ] {
        let res = anon.get(t.url(from)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{from}");
        assert_eq!(res.headers()["location"], format!("/login?next={next}"));
    }

    let res = t
        .browser_post(&anon, "/login")
        .form(&[("username", "ada"), ("password", "wrong"), ("next", "/wiki/some/page")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("The user name or password is not right"));
    let res = t
        .browser_post(&anon, "/login")
        .form(&[
            ("username", "ada"),
            ("password", "password-ada"),
            ("next", "/wiki/some/page"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], "/wiki/some/page");
    // An off-site or disguised `next` is not followed.
    for next in [
        "//evil.example/",
        "/\t/evil.example",
        "/\\evil.example",
        "https://evil.example/",
    ] {
        let c = client();
        let res = t
            .browser_post(&c, "/login")
            .form(&[("username", "ada"), ("password", "password-ada"), ("next", next)])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{next:?}");
        assert_eq!(res.headers()["location"], "/", "{next:?}");
    }
}

#[tokio::test]
async fn forms_from_other_sites_or_without_browser_headers_are_refused() {
    let t = TestApp::with_admin().await;
    t.save("notes/keep", "keep me").await;
    let post = |headers: &'static [(&'static str, &'static str)]| {
        let mut r = t.client.post(t.url("/wiki/notes/keep/-/delete")).form(&[("x", "y")]);
        for (k, v) in headers {
            r = r.header(*k, *v);
        }
        r
    };
    for headers in [
        &[("sec-fetch-site", "cross-site")][..],
        &[("sec-fetch-site", "same-site")][..],
        &[("origin", "https://evil.example")][..],
        &[][..],
        &[("x-csrf-token", "forged")][..],
    ] {
        let res = post(headers).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{headers:?}");
        assert!(res.text().await.unwrap().contains("was refused"));
        assert_eq!(
            t.json("/api/v1/pages/notes/keep").await.0,
            StatusCode::OK,
            "not deleted"
        );
    }
    // Scripts send the session's token in a header.
    let (_, me) = t.json("/api/v1/auth/me").await;
    let res = t
        .client
        .post(t.url("/wiki/notes/keep/-/delete"))
        .header("x-csrf-token", me["csrf_token"].as_str().unwrap())
        .form(&[("x", "y")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(t.json("/api/v1/pages/notes/keep").await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn edit_form_previews_saves_and_keeps_text_it_cannot_save() {
    let t = TestApp::with_admin().await;
    let form_page = t.get("/wiki/notes/today/-/edit").await.text().await.unwrap();
    assert!(form_page.contains("Create <code>notes/today</code>"));

    let preview = t
        .form(
            "/wiki/notes/today/-/edit",
            &[
                ("action", "preview"),
                ("title", "Today"),
                ("markdown", "**bold** text"),
                ("summary", ""),
                ("tags", ""),
                ("base_revision", ""),
            ],
        )
        .await;
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
        .header("sec-fetch-site", "cross-site")
        .form(&[("action", "save"), ("title", "Today"), ("markdown", "evil-text")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let body = forged.text().await.unwrap();
    assert!(
        body.contains("was not saved") && body.contains("evil-text</textarea>"),
        "text shown again, not saved"
    );
    assert_eq!(t.json("/api/v1/pages/notes/today").await.0, StatusCode::NOT_FOUND);

    let res = t
        .form(
            "/wiki/notes/today/-/edit",
            &[
                ("action", "save"),
                ("title", "Today"),
                ("markdown", "first"),
                ("summary", "start"),
                ("tags", "daily, Notes"),
                ("base_revision", ""),
            ],
        )
        .await;
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
        .form(
            "/wiki/notes/today/-/edit",
            &[
                ("action", "save"),
                ("title", "Today"),
                ("markdown", "mine"),
                ("summary", ""),
                ("tags", ""),
                ("base_revision", base.as_str()),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let body = res.text().await.unwrap();
    assert!(body.contains("mine</pre>") && body.contains("theirs</pre>"), "{body}");
    assert!(
        body.contains("&#60;&#60;&#60;&#60;&#60;&#60;&#60; ours\nmine\n=======\ntheirs\n"),
        "{body}"
    );

    // Signed out while editing: the text comes back, with a note.
    let signed_out = client();
    let res = t
        .browser_post(&signed_out, "/wiki/notes/today/-/edit")
        .form(&[("action", "save"), ("title", "Today"), ("markdown", "late-words")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let body = res.text().await.unwrap();
    assert!(body.contains("late-words</textarea>") && body.contains("not signed in"));
}

#[tokio::test]
async fn history_diff_move_and_lists_render() {
    let t = TestApp::with_admin().await;
    let one = t.save("doc", "alpha beta\n").await;
    let two = t.save("doc", "alpha gamma\n").await;
    t.put_page(
        "tagged",
        json!({"markdown": "[[wanted-target]]", "tags": ["needle-tag"]}),
    )
    .await;
    let history = t.get("/wiki/doc/-/history").await.text().await.unwrap();
    assert!(history.contains(&format!("/revisions/{}\">1</a>", one["revision"])));
    assert!(history.contains(&format!("/revisions/{}\">2</a>", two["revision"])));
    let diff = t
        .get(&format!(
            "/wiki/doc/-/diff?from={}&to={}",
            one["revision"], two["revision"]
        ))
        .await;
    assert_eq!(diff.status(), StatusCode::OK);
    let diff = diff.text().await.unwrap();
    assert!(diff.contains("<mark>gamma</mark>"), "{diff}");

    let res = t.form("/wiki/doc/-/move", &[("to", "archive/doc")]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], "/wiki/archive/doc");

    for (path, needle) in [
        ("/recent", "from <code>doc</code>"),
        ("/pages", "archive/doc"),
        ("/folders", "href=\"/folders/archive\""),
        ("/folders/archive", "/wiki/archive/doc"),
        ("/tags", "needle-tag"),
        ("/tags/needle-tag", "/wiki/tagged"),
        ("/trash", "The trash is empty"),
        ("/wanted", "/wiki/wanted-target"),
        ("/orphans", "archive/doc"),
        (&format!("/revisions/{}", one["revision"]), "old revision (1)"),
        ("/admin", "Visitors who are not signed in may read pages"),
    ] {
        let res = t.get(path).await;
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        let body = res.text().await.unwrap();
        assert!(body.contains(needle), "{path} lacks {needle}");
    }
    // Pages link assets by fingerprinted names, served immutable; the
    // plain names answer too, revalidated.
    let home = t.get("/pages").await.text().await.unwrap();
    for (stem, ext, needle) in [
        ("style", "css", "--"),
        ("highlight", "css", "syntax-highlighting"),
        ("suggest", "js", "function"),
    ] {
        let start = home
            .find(&format!("/assets/{stem}."))
            .unwrap_or_else(|| panic!("no {stem} link in {home}"));
        let end = start + home[start..].find('"').unwrap();
        let href = &home[start..end];
        assert!(
            href.ends_with(&format!(".{ext}")) && href.len() > format!("/assets/{stem}..{ext}").len() + 8,
            "{href}"
        );
        let res = t.get(href).await;
        assert_eq!(res.status(), StatusCode::OK, "{href}");
        assert_eq!(res.headers()["cache-control"], "public, max-age=31536000, immutable");
        let etag = res.headers()["etag"].to_str().unwrap().to_owned();
        assert!(res.text().await.unwrap().contains(needle), "{href}");
        let res = t.get(&format!("/assets/{stem}.{ext}")).await;
        assert_eq!(res.headers()["cache-control"], "public, no-cache");
        let again = t
            .client
            .get(t.url(href))
            .header("if-none-match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    }
    let res = t.get("/assets/style.css").await;
    assert_eq!(res.headers()["content-type"], "text/css; charset=utf-8");
    assert_eq!(
        t.get("/assets/style.0123456789ab.css").await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn revert_asks_first_then_saves_a_new_revision() {
    let t = TestApp::with_admin().await;
    let one = t.save("doc", "first words\n").await;
    t.save("doc", "second words\n").await;
    let confirm = t.get(&format!("/wiki/doc/-/revert?revision={}", one["revision"])).await;
    assert_eq!(confirm.status(), StatusCode::OK);
    let body = confirm.text().await.unwrap();
    assert!(
        body.contains("Revert <a href=\"/wiki/doc\">Doc</a> to revision 1?"),
        "{body}"
    );
    let (_, page) = t.json("/api/v1/pages/doc").await;
    assert_eq!(page["markdown"], "second words\n", "asking changes nothing");
    let rev = one["revision"].to_string();
    let res = t
        .form("/wiki/doc/-/revert", &[("revision", rev.as_str()), ("summary", "back")])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, page) = t.json("/api/v1/pages/doc").await;
    assert_eq!(page["markdown"], "first words\n");
    assert_eq!(page["revision_number"], 3);
}

#[tokio::test]
async fn error_pages_keep_the_visitors_chrome() {
    let t = TestApp::with_admin().await;
    for path in [
        "/no/such/address",
        "/wiki/a/-/nonsense",
        "/revisions/999999",
        "/wiki/x%3Fy",
    ] {
        let res = t.get(path).await;
        assert!(res.status().is_client_error(), "{path}: {}", res.status());
        let body = res.text().await.unwrap();
        assert!(
            body.contains("<a href=\"/account\" title=\"Your account\">admin</a>"),
            "{path} lost the user's name"
        );
        assert!(body.contains("href=\"/admin\""), "{path} lost the admin link");
    }
}

#[tokio::test]
async fn the_front_door_says_where_the_setup_link_is() {
    let t = TestApp::spawn().await;
    let body = t.get("/").await.text().await.unwrap();
    assert!(body.contains("setup?token="), "{body}");
    t.create_user("ada", Role::Editor).await;
    let res = t.get("/").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], "/wiki/home");
}

#[tokio::test]
async fn a_conflict_offers_both_versions_combined_and_cannot_overwrite_unseen() {
    let t = TestApp::with_admin().await;
    let base = t.save("plan", "intro\n\nstep one\n\nstep two\n").await;
    let base_rev = base["revision"].to_string();
    // Someone else changes step one and the intro; we change step one too.
    t.put_page(
        "plan",
        json!({"markdown": "INTRO\n\nstep one (theirs)\n\nstep two\n", "base_revision": base["revision"]}),
    )
    .await;
    let res = t
        .form(
            "/wiki/plan/-/edit",
            &[
                ("action", "save"),
                ("title", "Plan"),
                ("markdown", "intro\n\nstep one (mine)\n\nstep two\n"),
                ("base_revision", base_rev.as_str()),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let body = res.text().await.unwrap();
    assert!(body.contains("Someone else saved this page while you were editing"));
    assert!(!body.contains(" autofocus"), "the explanation is not scrolled away");
    // The editor starts from the combined text: their clean change (INTRO)
    // is in it, and both sides of the clash between markers.
    let editor = body.split("name=\"markdown\"").nth(1).unwrap();
    let editor = editor.split("</textarea>").next().unwrap();
    assert!(editor.contains("INTRO"), "{editor}");
    assert!(
        editor.contains("&#60;&#60;&#60;&#60;&#60;&#60;&#60; ours") && editor.contains("step one (mine)"),
        "{editor}"
    );
    assert!(editor.contains("step one (theirs)") && editor.contains("&#62;&#62;&#62;&#62;&#62;&#62;&#62; theirs"));
    // Both versions are shown side by side.
    assert!(body.contains("<h3>Your version</h3>") && body.contains("Their version (revision 2, now current)"));
    let (_, now) = t.json("/api/v1/pages/plan").await;
    let current = now["revision"].to_string();
    assert!(body.contains(&format!("name=\"base_revision\" value=\"{current}\"")));

    // Saving the markers unchanged is caught; resolving them saves.
    let merged = "INTRO\n\n<<<<<<< ours\nstep one (mine)\n=======\nstep one (theirs)\n>>>>>>> theirs\n\nstep two\n";
    let res = t
        .form(
            "/wiki/plan/-/edit",
            &[
                ("action", "save"),
                ("title", "Plan"),
                ("markdown", merged),
                ("base_revision", current.as_str()),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("still has conflict markers"));
    let res = t
        .form(
            "/wiki/plan/-/edit",
            &[
                ("action", "save"),
                ("title", "Plan"),
                ("markdown", "INTRO\n\nstep one (both)\n\nstep two\n"),
                ("base_revision", current.as_str()),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, page) = t.json("/api/v1/pages/plan").await;
    assert_eq!(page["markdown"], "INTRO\n\nstep one (both)\n\nstep two\n");
}

#[tokio::test]
async fn a_title_is_shown_once_and_new_pages_take_it_from_their_heading() {
    let t = TestApp::with_admin().await;
    // No title given: the opening heading names the page.
    let page = t
        .save("guides/setup", "# Setting up a laptop\n\nInstall things.\n")
        .await;
    assert_eq!(page["title"], "Setting up a laptop");
    let html = t.get("/wiki/guides/setup").await.text().await.unwrap();
    assert_eq!(html.matches("Setting up a laptop</h1>").count(), 1, "{html}");
    assert!(html.contains("<p>Install things.</p>"));
    // A heading that differs from the title stays.
    t.put_page(
        "guides/other",
        json!({"markdown": "# Background\n\ntext", "title": "Other"}),
    )
    .await;
    let html = t.get("/wiki/guides/other").await.text().await.unwrap();
    assert!(html.contains(">Other</h1>") && html.contains("Background</h1>"));
    // The API keeps the page's HTML whole.
    let (_, api) = t.json("/api/v1/pages/guides/setup").await;
    assert!(api["html"].as_str().unwrap().contains("Setting up a laptop</h1>"));
}

#[tokio::test]
async fn empty_lists_show_a_sentence_not_an_empty_table() {
    let t = TestApp::with_admin().await;
    for path in ["/trash", "/recent?user=admin"] {
        let body = t.get(path).await.text().await.unwrap();
        assert!(!body.contains("<table"), "{path} shows an empty table");
        assert!(body.contains("class=\"v-note\""), "{path} says it is empty");
    }
}
