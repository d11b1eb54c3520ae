//! Access rules through real HTTP: inheritance and restricted sub-trees,
//! lists that keep what a reader may read (in SQL: counts and cursors
//! agree), the walk over every route of the router, capability flags,
//! explanations and reports, groups, roles and managers.

use reqwest::{Client, Method};
use serde_json::{json, Value};
use vellum_app::Role;
use vellum_testkit::{client, error_code, StatusCode, TestApp};

/// Words that appear only inside what `ann`, `bob`, `cara` and anonymous
/// visitors may not read.
const SECRETS: &[&str] = &[
    "SECRET",
    "salaries",
    "payroll",
    "plan-2028",
    "trashed-secret",
    "moved-away",
    "wanted-by-secret",
    "missing-in-hr",
];

struct Tree {
    t: TestApp,
    ann: Client,
    bob: Client,
    cara: Client,
    hana: Client,
    /// A revision of `hr/salaries`.
    secret_revision: i64,
    /// The trash id of `hr/trashed-secret`.
    secret_trash: i64,
    /// One of hana's sessions and one of her API tokens.
    hana_session: i64,
    hana_token: i64,
    /// A comment on `hr/salaries`.
    secret_comment: i64,
    /// A file of `hr/salaries`, and that page's id.
    secret_file: i64,
    secret_page: i64,
}

async fn put(t: &TestApp, c: &Client, path: &str, body: Value) -> (StatusCode, Value) {
    let res = c.put(t.url(path)).json(&body).send().await.unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn get(t: &TestApp, c: &Client, path: &str) -> (StatusCode, Value) {
    let res = c.get(t.url(path)).send().await.unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

fn paths(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .unwrap_or_else(|| panic!("a list: {list}"))
        .iter()
        .map(|p| p["path"].as_str().unwrap().to_owned())
        .collect()
}

/// The wiki of the examples: public pages, an HR area only its group may
/// read (with one page open to every signed-in user), and links between
/// them.
async fn tree() -> Tree {
    let t = TestApp::with_admin().await;
    let ann = t.client_as("ann", Role::Viewer).await;
    let bob = t.client_as("bob", Role::Editor).await;
    let cara = t.client_as("cara", Role::Commenter).await;
    let hana = t.client_as("hana", Role::Viewer).await;
    let c = &t.client;
    assert_eq!(t.post_json("/api/v1/groups", json!({"name": "HR"})).await.status(), 201);
    let res = c.put(t.url("/api/v1/groups/hr/members/hana")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let (s, _) = put(&t, c, "/api/v1/settings", json!({"anonymous_read": true})).await;
    assert_eq!(s, 200);
    let (s, body) = put(
        &t,
        c,
        "/api/v1/access/hr",
        json!({"inherit": false, "rules": [{"principal": "group:hr", "level": "edit"}]}),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    let (s, _) = put(
        &t,
        c,
        "/api/v1/access/hr/holidays",
        json!({"rules": [{"principal": "authenticated", "level": "read"}]}),
    )
    .await;
    assert_eq!(s, 200);

    t.save(
        "public/welcome",
        "# Welcome\n\nSee [[hr/salaries]], [[hr/missing-in-hr]] and [[public/wanted-here]].",
    )
    .await;
    t.save("public/lonely-target", "Only a secret page links here.").await;
    let salaries = t
        .put_page(
            "hr/salaries",
            json!({"title": "SECRET salaries", "markdown": "SECRET numbers. [[public/welcome]] [[public/lonely-target]] [[hr/plan-2028]] [[public/wanted-by-secret]]", "tags": ["payroll"]}),
        )
        .await;
    let salaries: Value = salaries.json().await.unwrap();
    t.save("hr/holidays", "# Holidays\n\nEveryone gets them.").await;
    t.save("hr/trashed-secret", "SECRET and deleted.").await;
    let (_, trashed) = t.json("/api/v1/pages/hr/trashed-secret").await;
    assert_eq!(t.delete("/api/v1/pages/hr/trashed-secret").await.status(), 204);
    t.save("hr/moved-away", "SECRET, moved.").await;
    let res = t
        .post_json("/api/v1/pages/hr/moved-away/-/move", json!({"to": "hr/moved-away-2"}))
        .await;
    assert_eq!(res.status(), 200);
    let (_, sessions) = get(&t, &hana, "/api/v1/auth/sessions").await;
    let res = hana
        .post(t.url("/api/v1/tokens"))
        .json(&json!({"name": "hana's", "scopes": ["read"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let token: Value = res.json().await.unwrap();
    let res = hana
        .post(t.url("/api/v1/pages/hr/salaries/-/comments"))
        .json(&json!({"markdown": "SECRET comment about payroll"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let comment: Value = res.json().await.unwrap();
    // A file on the secret page.
    let res = t
        .browser_post(c, "/api/v1/pages/hr/salaries/-/files?name=salaries.txt")
        .body("SECRET figures")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let file: Value = res.json().await.unwrap();
    // Reviews: the secret page has its own, its folder one, the wiki one.
    for (path, owner) in [
        ("/api/v1/pages/hr/salaries/-/verification", "hana"),
        ("/api/v1/folders/hr/-/verification", "hana"),
        ("/api/v1/folders/-/verification", "admin"),
    ] {
        let (s, body) = put(&t, c, path, json!({"owner": owner, "interval_days": 30})).await;
        assert_eq!(s, 200, "{path}: {body}");
    }
    Tree {
        secret_file: file["id"].as_i64().unwrap(),
        secret_page: salaries["id"].as_i64().unwrap(),
        secret_comment: comment["id"].as_i64().unwrap(),
        hana_session: sessions["items"][0]["id"].as_i64().unwrap(),
        hana_token: token["id"].as_i64().unwrap(),
        ann,
        bob,
        cara,
        hana,
        secret_revision: salaries["revision"].as_i64().unwrap(),
        secret_trash: trashed["id"].as_i64().unwrap(),
        t,
    }
}

fn assert_no_secret(what: &str, body: &str) {
    for s in SECRETS {
        assert!(!body.contains(s), "{what} shows “{s}”:\n{body}");
    }
}

#[tokio::test]
async fn a_restricted_area_is_closed_to_everyone_outside_it() {
    let tr = tree().await;
    let t = &tr.t;
    // Members read and edit; nobody else reads, whatever their role.
    let (s, page) = get(t, &tr.hana, "/api/v1/pages/hr/salaries").await;
    assert_eq!(s, 200);
    assert_eq!(page["can"]["edit"], true);
    let (s, _) = put(
        t,
        &tr.hana,
        "/api/v1/pages/hr/salaries",
        json!({"markdown": "SECRET v2"}),
    )
    .await;
    assert_eq!(s, 200);
    for c in [&tr.ann, &tr.bob, &tr.cara] {
        let res = c.get(t.url("/api/v1/pages/hr/salaries")).send().await.unwrap();
        let (code, err) = error_code(res, StatusCode::NOT_FOUND).await;
        assert_eq!(code, "page_not_found");
        assert!(
            !err.to_string().contains("SECRET"),
            "the refusal names only the path asked for: {err}"
        );
        let (s, _) = put(t, c, "/api/v1/pages/hr/salaries", json!({"markdown": "mine now"})).await;
        assert_eq!(s, 404, "a write where one may not read answers as a read does");
    }
    // Anonymous visitors (the wiki is open to them) are asked to sign in.
    let res = client().get(t.url("/api/v1/pages/hr/salaries")).send().await.unwrap();
    assert_eq!(error_code(res, StatusCode::UNAUTHORIZED).await.0, "unauthenticated");
    let (s, _) = get(t, &client(), "/api/v1/pages/public/welcome").await;
    assert_eq!(s, 200);
    // The page open to every signed-in user, inside the closed area.
    let (s, _) = get(t, &tr.ann, "/api/v1/pages/hr/holidays").await;
    assert_eq!(s, 200);
    let (s, _) = put(t, &tr.ann, "/api/v1/pages/hr/holidays", json!({"markdown": "x"})).await;
    assert_eq!(s, 403, "ann may read here but not edit");
    let (s, _) = get(t, &client(), "/api/v1/pages/hr/holidays").await;
    assert_eq!(s, 401);
    // A new page in the area takes the area's rules at once.
    let (s, _) = put(
        t,
        &tr.hana,
        "/api/v1/pages/hr/new-SECRET",
        json!({"markdown": "SECRET"}),
    )
    .await;
    assert_eq!(s, 201);
    let (s, _) = get(t, &tr.bob, "/api/v1/pages/hr/new-secret").await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn lists_keep_only_what_the_reader_may_read_in_sql() {
    let tr = tree().await;
    let t = &tr.t;
    for (who, c) in [("ann", &tr.ann), ("bob", &tr.bob), ("anonymous", &client())] {
        for list in [
            "/api/v1/pages",
            "/api/v1/folders",
            "/api/v1/folders/hr",
            "/api/v1/folders/public",
            "/api/v1/tags",
            "/api/v1/tags/payroll",
            "/api/v1/recent-changes",
            "/api/v1/recent-changes?user=admin",
            "/api/v1/trash",
            "/api/v1/wanted",
            "/api/v1/orphans",
            "/api/v1/pages/public/welcome/-/backlinks",
            "/api/v1/pages/public/lonely-target/-/backlinks",
        ] {
            let res = c.get(t.url(list)).send().await.unwrap();
            let body = res.text().await.unwrap();
            assert_no_secret(&format!("{list} for {who}"), &body);
        }
    }
    // Counts and cursors are those of what the reader sees: ann sees one
    // page in hr (holidays), and paging by one never ends on a hidden row.
    let (_, root) = get(t, &tr.ann, "/api/v1/folders").await;
    let hr = root["folders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "hr")
        .cloned();
    assert_eq!(hr.unwrap()["page_count"], 1, "{root}");
    let (_, root) = get(t, &tr.hana, "/api/v1/folders").await;
    let hr = root["folders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "hr")
        .cloned();
    assert_eq!(hr.unwrap()["page_count"], 3, "{root}");
    let (_, root) = get(t, &client(), "/api/v1/folders").await;
    assert!(
        !root["folders"].as_array().unwrap().iter().any(|f| f["path"] == "hr"),
        "anonymous visitors see no hr folder: {root}"
    );
    let mut seen = Vec::new();
    let mut url = "/api/v1/pages?limit=1".to_owned();
    loop {
        let (s, page) = get(t, &tr.ann, &url).await;
        assert_eq!(s, 200);
        assert_eq!(
            page["items"].as_array().unwrap().len(),
            1,
            "a full page before the end: {page}"
        );
        seen.extend(paths(&page));
        match page["next_cursor"].as_str() {
            Some(c) => url = format!("/api/v1/pages?limit=1&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(
        seen,
        ["hr/holidays", "public/lonely-target", "public/welcome"],
        "every page ann may read, once"
    );
    // Orphans and wanted pages count links from readable pages only.
    let (_, orphans) = get(t, &tr.ann, "/api/v1/orphans").await;
    assert!(
        paths(&orphans).contains(&"public/lonely-target".to_owned()),
        "{orphans}"
    );
    let (_, orphans) = get(t, &tr.hana, "/api/v1/orphans").await;
    assert!(
        !paths(&orphans).contains(&"public/lonely-target".to_owned()),
        "{orphans}"
    );
    let (_, wanted) = get(t, &tr.ann, "/api/v1/wanted").await;
    assert_eq!(wanted["items"], json!([{"path": "public/wanted-here", "links": 1}]));
    let (_, wanted) = get(t, &tr.hana, "/api/v1/wanted").await;
    let w = paths(&wanted);
    assert!(
        w.contains(&"hr/plan-2028".to_owned()) && w.contains(&"hr/missing-in-hr".to_owned()),
        "{wanted}"
    );
    let (_, tags) = get(t, &tr.hana, "/api/v1/tags").await;
    assert_eq!(tags["items"], json!([{"tag": "payroll", "count": 1}]));
    let (_, tags) = get(t, &tr.ann, "/api/v1/tags").await;
    assert_eq!(tags["items"], json!([]));
}

#[tokio::test]
async fn links_to_pages_one_may_not_read_look_like_links_to_missing_pages() {
    let tr = tree().await;
    let t = &tr.t;
    let (_, page) = get(t, &tr.ann, "/api/v1/pages/public/welcome").await;
    let html = page["html"].as_str().unwrap();
    assert!(
        html.contains("href=\"/wiki/hr/salaries\" class=\"wikilink missing\""),
        "{html}"
    );
    assert!(html.contains("href=\"/wiki/hr/missing-in-hr\" class=\"wikilink missing\""));
    let (_, page) = get(t, &tr.hana, "/api/v1/pages/public/welcome").await;
    assert!(page["html"]
        .as_str()
        .unwrap()
        .contains("href=\"/wiki/hr/salaries\" class=\"wikilink\""));
    // The preview says the same.
    let res = tr
        .ann
        .post(t.url("/api/v1/render"))
        .json(&json!({"markdown": "[[hr/salaries]] [[hr/no-such]]"}))
        .send()
        .await
        .unwrap();
    let html = res.json::<Value>().await.unwrap()["html"].as_str().unwrap().to_owned();
    assert_eq!(html.matches("wikilink missing").count(), 2, "{html}");
}

/// Fills a route template with the values of one case.
fn fill(template: &str, path: &str, id: i64, tag: &str, name: &str) -> String {
    let mut out = template.to_owned();
    for (hole, value) in [
        ("{*path}", path.to_owned()),
        ("{id}", id.to_string()),
        ("{page}", id.to_string()),
        ("{version}", "1".to_owned()),
        ("{tag}", tag.to_owned()),
        ("{name}", name.to_owned()),
        ("{username}", "ann".to_owned()),
    ] {
        out = out.replace(hole, &value);
    }
    assert!(!out.contains('{'), "the walk does not know how to fill {template}");
    out
}

/// A response with the values of the case written out, so two cases can
/// be compared.
async fn answer(t: &TestApp, c: &Client, method: Method, url: &str, replace: &[(&str, &str)]) -> (u16, String) {
    let mut req = c.request(method.clone(), t.url(url));
    if url.starts_with("/api/") {
        if method != Method::GET && method != Method::DELETE {
            req = req.json(
                &json!({"markdown": "x", "to": "public/moved-here", "revision": 1, "inherit": true, "rules": []}),
            );
        }
    } else if method != Method::GET {
        req = req
            .header("origin", format!("http://{}", t.addr))
            .header("sec-fetch-site", "same-origin")
            .form(&[("markdown", "x"), ("to", "public/moved-here"), ("action", "save")]);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let mut headers: Vec<String> = res
        .headers()
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "date" | "content-length" | "set-cookie" | "x-request-id"))
        .map(|(k, v)| format!("{k}: {}", v.to_str().unwrap_or("?")))
        .collect();
    headers.sort();
    let mut body = res.text().await.unwrap();
    body = format!("{}\n{body}", headers.join("\n"));
    for (from, to) in replace {
        body = body.replace(from, to);
    }
    (status, body)
}

#[tokio::test]
async fn every_route_answers_the_same_for_a_restricted_thing_and_a_missing_one() {
    let tr = tree().await;
    let t = &tr.t;
    let routes = vellum_web::route_table();
    assert!(routes.len() > 40, "the router lists its routes: {routes:?}");
    let anonymous = client();
    let people: [(&str, &Client); 4] = [
        ("ann", &tr.ann),
        ("bob", &tr.bob),
        ("cara", &tr.cara),
        ("anonymous", &anonymous),
    ];
    let mut checked = 0;
    for route in &routes {
        if ["/assets/{name}", "/healthz", "/readyz", "/api/v1/openapi.json"].contains(&route.as_str()) {
            continue;
        }
        let has_holes = route.contains('{');
        for (who, c) in people {
            for method in [Method::GET, Method::POST, Method::PUT, Method::DELETE] {
                if !has_holes {
                    // A list or form: nothing restricted shows.
                    if method == Method::GET {
                        let (_, body) = answer(t, c, method.clone(), route, &[]).await;
                        assert_no_secret(&format!("GET {route} for {who}"), &body);
                        checked += 1;
                    }
                    continue;
                }
                // The same request for something restricted that exists,
                // and for something that does not: the same answer.
                // Something of that kind the walker may not see: a
                // revision of a restricted page, someone else's session
                // or token, a restricted page in the trash.
                let id = if route.contains("/sessions/") {
                    tr.hana_session
                } else if route.contains("/tokens/") {
                    tr.hana_token
                } else if route.contains("/comments/") {
                    tr.secret_comment
                } else if route.starts_with("/embed/") {
                    tr.secret_page
                } else if route.contains("/files/") {
                    tr.secret_file
                } else {
                    tr.secret_revision
                };
                // A file's name is the secret file's for file routes.
                let name = if route.contains("{name}") && (route.contains("/files/") || route.starts_with("/embed/")) {
                    "salaries.txt"
                } else {
                    "HR"
                };
                let real = fill(route, "hr/salaries", id, "payroll", name);
                let real_trash = fill(route, "hr/salaries", tr.secret_trash, "payroll", "HR");
                let none = fill(
                    route,
                    "hr/no-such-page",
                    987_654_321,
                    "no-such-tag",
                    if name == "HR" { "no-such-group" } else { "salaries.txt" },
                );
                let (rev, trash) = (id.to_string(), tr.secret_trash.to_string());
                let replace = [
                    ("hr/no-such-page", "X"),
                    ("hr/salaries", "X"),
                    ("hr%2Fno-such-page", "X"),
                    ("hr%2Fsalaries", "X"),
                    ("987654321", "N"),
                    (rev.as_str(), "N"),
                    (trash.as_str(), "N"),
                    ("no-such-tag", "T"),
                    ("payroll", "T"),
                    ("no-such-group", "G"),
                    ("HR", "G"),
                ];
                let a = answer(t, c, method.clone(), &real, &replace).await;
                let b = answer(t, c, method.clone(), &none, &replace).await;
                assert_eq!(
                    a, b,
                    "{method} {route} for {who}: a restricted thing and a missing one differ"
                );
                if route.contains("trash") {
                    let a = answer(t, c, method.clone(), &real_trash, &replace).await;
                    assert_eq!(a, b, "{method} {route} (a trash id) for {who}");
                }
                assert!(a.0 < 500, "{method} {route} for {who}: {}", a.0);
                assert_no_secret(&format!("{method} {route} for {who}"), &a.1);
                checked += 1;
            }
        }
    }
    assert!(checked > 200, "walked {checked} requests");
    // Nothing was changed by all that.
    let (s, page) = get(t, &tr.hana, "/api/v1/pages/hr/salaries").await;
    assert_eq!(s, 200);
    assert!(page["markdown"].as_str().unwrap().starts_with("SECRET numbers"));
}

#[tokio::test]
async fn the_sidebar_cache_is_per_permission_set_and_revocation_is_immediate() {
    let tr = tree().await;
    let t = &tr.t;
    // Hana's view caches the HR folder with her pages in it.
    let res = tr.hana.get(t.url("/wiki/hr/holidays")).send().await.unwrap();
    let html = res.text().await.unwrap();
    assert!(html.contains("SECRET salaries"), "hana's sidebar lists it");
    let res = tr.ann.get(t.url("/wiki/hr/holidays")).send().await.unwrap();
    let html = res.text().await.unwrap();
    assert_no_secret("ann's page view after hana's", &html);
    // Take hana out of the group: her very next request is refused, on
    // this node and on another one.
    let other = t.another_node().await;
    other.login(&other.client, "hana").await;
    let (s, _) = get(&other, &other.client, "/api/v1/pages/hr/salaries").await;
    assert_eq!(s, 200);
    let res = t.delete("/api/v1/groups/hr/members/hana").await;
    assert_eq!(res.status(), 200);
    let (s, _) = get(t, &tr.hana, "/api/v1/pages/hr/salaries").await;
    assert_eq!(s, 404);
    let res = tr.hana.get(t.url("/wiki/hr/holidays")).send().await.unwrap();
    assert_no_secret("hana's sidebar after leaving the group", &res.text().await.unwrap());
    let mut refused = false;
    for _ in 0..100 {
        let (s, _) = get(&other, &other.client, "/api/v1/pages/hr/salaries").await;
        if s == 404 {
            refused = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(refused, "the other node follows the change feed");
}

#[tokio::test]
async fn trash_restore_and_moves_respect_both_places() {
    let tr = tree().await;
    let t = &tr.t;
    // Ann does not see the HR page in the trash, and restoring it by id
    // answers as an id that is not there.
    let (_, trash) = get(t, &tr.ann, "/api/v1/trash").await;
    assert!(paths(&trash).is_empty(), "{trash}");
    let res = tr
        .bob
        .post(t.url(&format!("/api/v1/trash/{}/restore", tr.secret_trash)))
        .json(&json!({"to": "public/stolen"}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(res, StatusCode::NOT_FOUND).await.0, "not_in_trash");
    // Hana sees it and may restore it where she may edit (not elsewhere).
    let (_, trash) = get(t, &tr.hana, "/api/v1/trash").await;
    assert_eq!(trash["items"][0]["can_restore"], true, "{trash}");
    let res = tr
        .hana
        .post(t.url(&format!("/api/v1/trash/{}/restore", tr.secret_trash)))
        .json(&json!({"to": "public/out-of-hr"}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(res, StatusCode::FORBIDDEN).await.0, "forbidden");
    let res = tr
        .hana
        .post(t.url(&format!("/api/v1/trash/{}/restore", tr.secret_trash)))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // Bob (an editor) may not move a public page into HR.
    t.save("public/plan", "A plan.").await;
    let res = tr
        .bob
        .post(t.url("/api/v1/pages/public/plan/-/move"))
        .json(&json!({"to": "hr/plan"}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(res, StatusCode::FORBIDDEN).await.0, "forbidden");
    // A page moved into HR takes HR's rules, and its old address leads
    // nowhere for those outside.
    let res = t
        .post_json("/api/v1/pages/public/plan/-/move", json!({"to": "hr/plan"}))
        .await;
    assert_eq!(res.status(), 200);
    let (s, _) = get(t, &tr.bob, "/api/v1/pages/public/plan").await;
    assert_eq!(s, 404, "the redirect into HR leads nowhere for bob");
    let (s, _) = get(t, &tr.bob, "/api/v1/pages/hr/plan").await;
    assert_eq!(s, 404);
    let (_, changes) = get(t, &tr.bob, "/api/v1/recent-changes").await;
    assert!(!changes.to_string().contains("hr/plan"), "{changes}");
}

#[tokio::test]
async fn capability_flags_match_what_the_service_allows() {
    let tr = tree().await;
    let t = &tr.t;
    let (_, page) = get(t, &tr.ann, "/api/v1/pages/public/welcome").await;
    assert_eq!(
        page["can"],
        json!({"comment": false, "edit": false, "move": false, "delete": false, "manage_access": false})
    );
    let (_, page) = get(t, &tr.cara, "/api/v1/pages/public/welcome").await;
    assert_eq!(page["can"]["comment"], true);
    assert_eq!(page["can"]["edit"], false);
    let (_, page) = get(t, &tr.bob, "/api/v1/pages/public/welcome").await;
    assert_eq!(page["can"]["edit"], true);
    assert_eq!(page["can"]["manage_access"], false);
    let (_, page) = get(t, &t.client, "/api/v1/pages/public/welcome").await;
    assert_eq!(page["can"]["manage_access"], true);
    // The HTML offers the same: no Move or Delete for a viewer; the trash
    // is listed for readers, restoring only where they may edit.
    let html = tr
        .ann
        .get(t.url("/wiki/public/welcome"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !html.contains("/-/move") && !html.contains("/-/delete") && !html.contains("/-/edit"),
        "{html}"
    );
    assert!(html.contains("href=\"/trash\""));
    let html = tr
        .bob
        .get(t.url("/wiki/public/welcome"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("/-/move") && html.contains("/-/delete") && !html.contains("href=\"/access/"));
    let html = t.get("/wiki/public/welcome").await.text().await.unwrap();
    assert!(
        html.contains("href=\"/access/public/welcome\""),
        "admins get the access tab"
    );
}

#[tokio::test]
async fn explain_and_report_show_why_and_what() {
    let tr = tree().await;
    let t = &tr.t;
    let (s, e) = t.json("/api/v1/access/hr/salaries/-/explain?user=hana").await;
    assert_eq!(s, 200, "{e}");
    assert_eq!(e["level"], "edit");
    assert_eq!(
        e["steps"],
        json!([
            {"node": "hr", "kind": "stops_inheriting"},
            {"node": "hr", "kind": "rule", "principal": "group:HR", "level": "edit"},
        ])
    );
    let (_, e) = t.json("/api/v1/access/hr/holidays/-/explain?user=ann").await;
    assert_eq!(e["level"], "read");
    let (_, e) = t.json("/api/v1/access/public/welcome/-/explain?user=bob").await;
    assert_eq!(e["level"], "edit");
    assert_eq!(e["steps"][0]["principal"], "role:editor");
    let (_, e) = t.json("/api/v1/access/-/explain?user=admin").await;
    assert_eq!(e["steps"], json!([{"kind": "administrator", "level": "manage"}]));
    let res = t.get("/api/v1/access/hr/-/explain?user=nobody").await;
    assert_eq!(error_code(res, StatusCode::NOT_FOUND).await.0, "user_not_found");

    let (s, r) = t.json("/api/v1/access-report?user=ann").await;
    assert_eq!(s, 200, "{r}");
    let scope = |r: &Value, name: &str| {
        r["scopes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["scope"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("{name} in {r}"))
    };
    assert_eq!(scope(&r, "hr")["level"], "none");
    assert_eq!(scope(&r, "hr")["pages"], 2, "salaries and the moved page");
    assert_eq!(scope(&r, "hr/holidays")["level"], "read");
    assert_eq!(scope(&r, "")["level"], "read");
    let (_, r) = t.json("/api/v1/access-report?group=hr").await;
    assert_eq!(scope(&r, "hr")["level"], "edit");
    assert_eq!(
        scope(&r, "")["level"],
        "none",
        "the group itself is given nothing site-wide"
    );
    let res = t.get("/api/v1/access-report?user=hana&format=csv").await;
    assert_eq!(res.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = res.text().await.unwrap();
    assert!(csv.starts_with("path,title,level\r\n"), "{csv}");
    assert!(csv.contains("hr/salaries,SECRET salaries,edit\r\n"), "{csv}");
    assert!(csv.contains("public/welcome,Welcome,read\r\n"), "{csv}");
    // Only administrators get reports.
    let (s, _) = get(t, &tr.bob, "/api/v1/access-report?user=ann").await;
    assert_eq!(s, 403);
}

#[tokio::test]
async fn managers_manage_their_folder_and_nothing_else() {
    let tr = tree().await;
    let t = &tr.t;
    let mgr = t.client_as("mgr", Role::Viewer).await;
    let (s, _) = put(
        t,
        &t.client,
        "/api/v1/access/eng",
        json!({"rules": [{"principal": "user:mgr", "level": "manage"}]}),
    )
    .await;
    assert_eq!(s, 200);
    let (s, view) = put(
        t,
        &mgr,
        "/api/v1/access/eng/drafts",
        json!({"inherit": false, "rules": [{"principal": "user:mgr", "level": "manage"}, {"principal": "user:bob", "level": "read"}]}),
    )
    .await;
    assert_eq!(s, 200, "{view}");
    assert_eq!(view["inherit"], false);
    let (s, _) = put(t, &mgr, "/api/v1/access/hr", json!({"rules": []})).await;
    assert_eq!(s, 404, "mgr may not even read hr");
    let (s, _) = put(t, &mgr, "/api/v1/access/public", json!({"rules": []})).await;
    assert_eq!(s, 403);
    let (s, _) = put(t, &mgr, "/api/v1/access", json!({"rules": []})).await;
    assert_eq!(s, 403, "only administrators manage the whole wiki");
    let (s, _) = get(t, &mgr, "/api/v1/access/eng/drafts/-/explain?user=bob").await;
    assert_eq!(s, 200);
    // Bob reads eng/drafts but may not edit there any more.
    t.save("eng/drafts/idea", "An idea.").await;
    let (s, _) = get(t, &tr.bob, "/api/v1/pages/eng/drafts/idea").await;
    assert_eq!(s, 200);
    let (s, _) = put(t, &tr.bob, "/api/v1/pages/eng/drafts/idea", json!({"markdown": "mine"})).await;
    assert_eq!(s, 403);
    let (s, _) = get(t, &tr.ann, "/api/v1/pages/eng/drafts/idea").await;
    assert_eq!(s, 404);
    // Removing the rules reopens the sub-tree.
    let (s, _) = put(t, &mgr, "/api/v1/access/eng/drafts", json!({"rules": []})).await;
    assert_eq!(s, 200);
    let (s, _) = get(t, &tr.ann, "/api/v1/pages/eng/drafts/idea").await;
    assert_eq!(s, 200);
}

#[tokio::test]
async fn bad_rules_are_refused_with_reasons_and_change_nothing() {
    let tr = tree().await;
    let t = &tr.t;
    for (body, code) in [
        (
            json!({"rules": [{"principal": "user:nobody", "level": "read"}]}),
            "invalid_principal",
        ),
        (
            json!({"rules": [{"principal": "group:nope", "level": "read"}]}),
            "invalid_principal",
        ),
        (
            json!({"rules": [{"principal": "role:admin", "level": "read"}]}),
            "invalid_principal",
        ),
        (
            json!({"rules": [{"principal": "everyone", "level": "read"}]}),
            "invalid_principal",
        ),
        (
            json!({"rules": [{"principal": "user:ann", "level": "read"}, {"principal": "user:ANN", "level": "edit"}]}),
            "invalid_rules",
        ),
        (
            json!({"rules": [{"principal": "user:ann", "level": "admin"}]}),
            "invalid_body",
        ),
        (
            json!({"rules": [{"principal": "user:a\u{0}nn", "level": "read"}]}),
            "invalid_text",
        ),
    ] {
        let res = t
            .client
            .put(t.url("/api/v1/access/hr"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(
            error_code(res, StatusCode::UNPROCESSABLE_ENTITY).await.0,
            code,
            "{body}"
        );
    }
    let res = t
        .client
        .put(t.url("/api/v1/access"))
        .json(&json!({"inherit": false, "rules": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(res, StatusCode::UNPROCESSABLE_ENTITY).await.0,
        "invalid_rules"
    );
    let (_, hr) = t.json("/api/v1/access/hr").await;
    assert_eq!(hr["inherit"], false);
    assert_eq!(hr["rules"], json!([{"principal": "group:HR", "level": "edit"}]));
}

#[tokio::test]
async fn custom_roles_and_groups_come_and_go_with_their_rules() {
    let tr = tree().await;
    let t = &tr.t;
    let res = t.post_json("/api/v1/roles", json!({"name": "auditor"})).await;
    assert_eq!(res.status(), 201);
    let res = t.post_json("/api/v1/roles", json!({"name": "auditor"})).await;
    assert_eq!(error_code(res, StatusCode::CONFLICT).await.0, "role_taken");
    let res = t.post_json("/api/v1/roles", json!({"name": "Bad Name"})).await;
    assert_eq!(
        error_code(res, StatusCode::UNPROCESSABLE_ENTITY).await.0,
        "invalid_role"
    );
    let aud = t.client_as("aud", Role::parse("auditor").unwrap()).await;
    // A custom role grants nothing until a rule names it.
    let (s, _) = get(t, &aud, "/api/v1/pages/public/welcome").await;
    assert_eq!(s, 200, "anyone may read the public part");
    let (s, _) = get(t, &aud, "/api/v1/pages/hr/salaries").await;
    assert_eq!(s, 404);
    let (s, _) = put(
        t,
        &t.client,
        "/api/v1/access/hr/salaries",
        json!({"rules": [{"principal": "role:auditor", "level": "read"}]}),
    )
    .await;
    assert_eq!(s, 200);
    let (s, _) = get(t, &aud, "/api/v1/pages/hr/salaries").await;
    assert_eq!(s, 200);
    let res = t.delete("/api/v1/roles/auditor").await;
    assert_eq!(error_code(res, StatusCode::CONFLICT).await.0, "role_in_use");
    let res = t.delete("/api/v1/roles/editor").await;
    assert_eq!(error_code(res, StatusCode::CONFLICT).await.0, "role_in_use");
    let (_, roles) = t.json("/api/v1/roles").await;
    let names: Vec<&str> = roles["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["admin", "commenter", "editor", "viewer", "auditor"]);

    // Deleting a group takes its rules: hr/ keeps only "does not inherit".
    let (_, g) = t.json("/api/v1/groups/hr").await;
    assert_eq!(g["members"], json!(["hana"]));
    assert_eq!(t.delete("/api/v1/groups/HR").await.status(), 204);
    let (_, hr) = t.json("/api/v1/access/hr").await;
    assert_eq!(hr["rules"], json!([]));
    let (s, _) = get(t, &tr.hana, "/api/v1/pages/hr/salaries").await;
    assert_eq!(s, 404);
    let res = t.get("/api/v1/groups/hr").await;
    assert_eq!(error_code(res, StatusCode::NOT_FOUND).await.0, "group_not_found");
    let res = t.post_json("/api/v1/groups", json!({"name": "a/b"})).await;
    assert_eq!(
        error_code(res, StatusCode::UNPROCESSABLE_ENTITY).await.0,
        "invalid_group_name"
    );
}

#[tokio::test]
async fn the_access_pages_work_without_javascript() {
    let tr = tree().await;
    let t = &tr.t;
    let html = t.get("/access/hr").await.text().await.unwrap();
    assert!(html.contains("value=\"group:HR\""), "{html}");
    assert!(
        !html.contains("name=\"inherit\" value=\"on\" checked"),
        "hr stops inheriting"
    );
    // Add a rule with the form: the existing row, plus one blank row filled.
    let res = t
        .form(
            "/access/hr",
            &[
                ("principal", "group:HR"),
                ("level", "edit"),
                ("principal", "user:ann"),
                ("level", "read"),
                ("principal", ""),
                ("level", "read"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let (s, _) = get(t, &tr.ann, "/api/v1/pages/hr/salaries").await;
    assert_eq!(s, 200, "ann may read now");
    let html = t.get("/access/hr?explain=ann").await.text().await.unwrap();
    assert!(html.contains("<strong>ann</strong> may read here."), "{html}");
    // Viewers get no access page; the folder page offers it to managers.
    let res = tr.bob.get(t.url("/access/public")).send().await.unwrap();
    assert_eq!(res.status(), 403);
    let html = t.get("/folders/public").await.text().await.unwrap();
    assert!(html.contains("href=\"/access/public\""), "{html}");
    for page in [
        "/admin/groups",
        "/admin/groups/hr",
        "/admin/roles",
        "/admin/access-report?user=ann",
    ] {
        let res = t.get(page).await;
        assert_eq!(res.status(), 200, "{page}");
    }
}
