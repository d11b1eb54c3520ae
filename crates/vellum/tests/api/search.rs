//! Search through real HTTP: ranking, typos, every operator and filter,
//! CJK, facets and paging, permission filtering inside the index (a rule
//! change applies at once), the index following edits, moves, deletes and
//! restores, catch-up after a restart, rebuild equivalence, a damaged
//! index, two nodes, and odd input.

use reqwest::Client;
use serde_json::{json, Value};
use vellum_app::Role;
use vellum_testkit::{client, error_code, StatusCode, TestApp};

/// Generous bound for the index to catch up (it takes well under a
/// second; this only turns "never" into a failure).
const WAIT: u64 = 30;

async fn search_as(t: &TestApp, c: &Client, q: &str) -> Value {
    let res = c
        .get(t.url("/api/v1/search"))
        .query(&[("q", q), ("limit", "50")])
        .send()
        .await
        .unwrap();
    let status = res.status();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    assert_eq!(status, StatusCode::OK, "search {q:?}: {body}");
    body
}

async fn search(t: &TestApp, q: &str) -> Value {
    search_as(t, &t.client, q).await
}

fn paths(v: &Value) -> Vec<String> {
    v["items"]
        .as_array()
        .unwrap_or_else(|| panic!("results: {v}"))
        .iter()
        .map(|h| h["path"].as_str().unwrap().to_owned())
        .collect()
}

async fn put(t: &TestApp, path: &str, body: Value) {
    let res = t.put_page(path, body).await;
    assert!(res.status().is_success(), "saving {path}: {}", res.status());
}

/// Replaces the rules on `path` as the administrator.
async fn set_access(t: &TestApp, path: &str, body: Value) {
    let res = t
        .client
        .put(t.url(&format!("/api/v1/access/{path}")))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK, "rules on {path}");
}

/// Another node on `t`'s database with its search index in `dir`,
/// signed in as the administrator.
async fn node_with_index(t: &TestApp, dir: &std::path::Path) -> TestApp {
    let dir = dir.to_owned();
    let b = TestApp::spawn_with(t.db.clone(), move |c| c.search.dir = Some(dir)).await;
    b.login(&b.client, "admin").await;
    b
}

/// Waits until the index has every page saved so far.
async fn indexed(t: &TestApp, c: &Client, q: &str, expect: usize) {
    t.eventually(WAIT, &format!("{q:?} finds {expect}"), || async {
        search_as(t, c, q).await["total"].as_u64() == Some(expect as u64)
    })
    .await;
}

async fn corpus(t: &TestApp) {
    put(t, "ops/rollback", json!({"title": "Rollback", "markdown": "# Rollback\n\nUndo a release with `kubectl rollout undo`.\n\nSee [[ops/deploy]].", "tags": ["ops", "k8s"]})).await;
    put(t, "ops/deploy", json!({"title": "Deploying", "markdown": "## Rolling update\n\nA rolling-update replaces pods one by one. If it fails, do a rollback.\n\nThe setting is `max_surge_pods` on the HTTPServer.", "tags": ["ops"]})).await;
    put(t, "eng/notes", json!({"title": "Engineering notes", "markdown": "Some words: update rolling over the hills; staging servers.\n\nnginx in front.", "tags": ["eng"]})).await;
    put(
        t,
        "eng/apache",
        json!({"title": "Web servers", "markdown": "We run apache here, not the other one.", "tags": ["eng"]}),
    )
    .await;
    put(
        t,
        "intl/zh",
        json!({"title": "数据库迁移指南", "markdown": "本文介绍如何迁移数据库。", "tags": ["intl"]}),
    )
    .await;
    put(
        t,
        "intl/ja",
        json!({"title": "東京タワーの案内", "markdown": "東京タワーは東京にあります。", "tags": ["intl"]}),
    )
    .await;
    put(t, "intl/de", json!({"title": "Häuser und Bücher", "markdown": "Die Häuser stehen am Fluss. Café am Markt.", "tags": ["intl"]})).await;
    indexed(t, &t.client, "tag:ops OR tag:eng OR tag:intl", 7).await;
}

#[tokio::test]
async fn words_rank_typos_forgive_and_operators_filter() {
    let t = TestApp::with_admin().await;
    corpus(&t).await;

    // Title beats body.
    let r = search(&t, "rollback").await;
    assert_eq!(paths(&r)[0], "ops/rollback", "{r}");
    assert_eq!(r["total"], 2);
    // A phrase beats the same words scattered.
    let r = search(&t, "rolling update").await;
    assert_eq!(paths(&r)[0], "ops/deploy", "{r}");
    assert!(paths(&r).contains(&"eng/notes".to_owned()));
    assert_eq!(paths(&search(&t, "\"rolling update\"").await), ["ops/deploy"]);
    // One typo, and two in a long word.
    assert_eq!(paths(&search(&t, "rollbak").await)[0], "ops/rollback");
    assert_eq!(paths(&search(&t, "enginering").await), ["eng/notes"]);
    // Stemming: other forms of a word.
    assert!(paths(&search(&t, "deploy").await).contains(&"ops/deploy".to_owned()));
    // Prefixes, exclusion, OR.
    assert_eq!(paths(&search(&t, "apach*").await), ["eng/apache"]);
    let r = paths(&search(&t, "rolling -staging").await);
    assert!(
        r.contains(&"ops/deploy".to_owned()) && !r.contains(&"eng/notes".to_owned()),
        "{r:?}"
    );
    let mut r = paths(&search(&t, "nginx OR apache").await);
    r.sort();
    assert_eq!(r, ["eng/apache", "eng/notes"]);
    // Fields.
    assert_eq!(paths(&search(&t, "title:rollback").await), ["ops/rollback"]);
    assert_eq!(search(&t, "tag:k8s").await["total"], 1);
    let mut r = paths(&search(&t, "path:ops").await);
    r.sort();
    assert_eq!(r, ["ops/deploy", "ops/rollback"]);
    assert_eq!(search(&t, "rollback path:eng").await["total"], 0);
    assert_eq!(search(&t, "author:admin tag:eng").await["total"], 2);
    assert_eq!(search(&t, "author:nobody").await["total"], 0);
    assert_eq!(search(&t, "updated:>2000-01-01 tag:intl").await["total"], 3);
    assert_eq!(search(&t, "updated:<2000-01-01").await["total"], 0);
    // Identifiers by their parts.
    assert_eq!(paths(&search(&t, "rolling-update").await)[0], "ops/deploy");
    assert_eq!(paths(&search(&t, "max_surge_pods").await), ["ops/deploy"]);
    assert_eq!(paths(&search(&t, "surge").await), ["ops/deploy"]);
    assert_eq!(paths(&search(&t, "HTTPServer").await), ["ops/deploy"]);
    assert!(paths(&search(&t, "server").await).contains(&"ops/deploy".to_owned()));
    assert_eq!(paths(&search(&t, "ops/rollback kubectl").await), ["ops/rollback"]);
    // CJK and accents.
    assert_eq!(paths(&search(&t, "数据库").await), ["intl/zh"]);
    assert_eq!(paths(&search(&t, "迁移").await), ["intl/zh"]);
    assert_eq!(paths(&search(&t, "タワー").await), ["intl/ja"]);
    assert_eq!(paths(&search(&t, "hauser").await), ["intl/de"]);
    assert_eq!(paths(&search(&t, "cafe").await), ["intl/de"]);

    // Snippets with highlights, facets over every result.
    let r = search(&t, "rollback").await;
    let hit = &r["items"][1];
    assert_eq!(hit["path"], "ops/deploy");
    let snippet = hit["snippet"].as_str().unwrap();
    let [a, b] = [
        hit["highlights"][0][0].as_u64().unwrap(),
        hit["highlights"][0][1].as_u64().unwrap(),
    ];
    assert_eq!(snippet[a as usize..b as usize].to_lowercase(), "rollback", "{hit}");
    let r = search(&t, "tag:ops OR tag:eng").await;
    assert_eq!(
        r["facets"]["folders"],
        json!([{"value": "eng", "count": 2}, {"value": "ops", "count": 2}])
    );
    assert_eq!(r["facets"]["tags"][0], json!({"value": "eng", "count": 2}));

    // Paging and sorting.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut q = vec![
            ("q", "tag:ops OR tag:eng OR tag:intl".to_owned()),
            ("limit", "3".to_owned()),
        ];
        if let Some(c) = &cursor {
            q.push(("cursor", c.clone()));
        }
        let page: Value = t
            .client
            .get(t.url("/api/v1/search"))
            .query(&q)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(page["total"], 7);
        seen.extend(paths(&page));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 7);
    // Update times are kept to the second: edit in a later one.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    put(
        &t,
        "eng/apache",
        json!({"title": "Web servers", "markdown": "We run apache here. Updated.", "tags": ["eng"]}),
    )
    .await;
    t.eventually(WAIT, "the edit is indexed", || async {
        paths(&search(&t, "apache updated").await) == ["eng/apache"]
    })
    .await;
    let page: Value = t
        .client
        .get(t.url("/api/v1/search"))
        .query(&[("q", "tag:eng OR tag:ops"), ("sort", "updated")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(paths(&page)[0], "eng/apache");

    // Did you mean.
    let r = search(&t, "rolbaxk").await;
    assert_eq!(r["total"], 0);
    assert_eq!(r["did_you_mean"], "rollback");

    // Title completion.
    let (s, body) = t.json("/api/v1/search/titles?q=rollb").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(body["items"][0], json!({"path": "ops/rollback", "title": "Rollback"}));
    let (_, body) = t.json("/api/v1/search/titles?q=web%20ser").await;
    assert_eq!(body["items"][0]["path"], "eng/apache");
}

#[tokio::test]
async fn odd_queries_get_a_result_or_a_clear_message() {
    let t = TestApp::with_admin().await;
    corpus(&t).await;
    let long = "word ".repeat(300);
    let many = (0..40).map(|i| format!("w{i}")).collect::<Vec<_>>().join(" ");
    for q in [
        "the",
        "a an the of",
        "\"unbalanced",
        "(rollback",
        "rollback)",
        "-",
        "*",
        "OR",
        "-rollback",
        "🎉",
        "\u{7}x\u{1}",
        "title:",
        "tag:",
        "path:/",
        "((((((((",
        "\"\"",
        "-(a b)",
        "a OR OR b",
        "名",
        "x*",
        "std::vec",
    ] {
        let res = t
            .client
            .get(t.url("/api/v1/search"))
            .query(&[("q", q)])
            .send()
            .await
            .unwrap();
        let status = res.status();
        assert!(
            status == StatusCode::OK || status == StatusCode::UNPROCESSABLE_ENTITY,
            "{q:?} answered {status}"
        );
        if status != StatusCode::OK {
            let (code, _) = error_code(res, StatusCode::UNPROCESSABLE_ENTITY).await;
            assert_eq!(code, "invalid_search", "{q:?}");
        }
    }
    for q in ["", "   ", long.as_str(), many.as_str(), "updated:yesterday"] {
        let res = t
            .client
            .get(t.url("/api/v1/search"))
            .query(&[("q", q)])
            .send()
            .await
            .unwrap();
        let (code, _) = error_code(res, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(code, "invalid_search", "{q:?}");
    }
    let res = t
        .client
        .get(t.url("/api/v1/search?q=x&cursor=bogus"))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(res, StatusCode::BAD_REQUEST).await.0, "invalid_cursor");
    let res = t
        .client
        .get(t.url("/api/v1/search?q=x&sort=sideways"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(res, StatusCode::UNPROCESSABLE_ENTITY).await.0,
        "invalid_search"
    );
    let res = t
        .client
        .get(t.url("/api/v1/search?q=x&limit=1000"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(res, StatusCode::UNPROCESSABLE_ENTITY).await.0,
        "invalid_limit"
    );
    // The HTML page shows the same message, not an error page.
    let res = t.get("/search?q=updated%3Ayesterday").await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("is not one search understands"));
}

#[tokio::test]
async fn a_reader_never_finds_what_they_cannot_read_and_rule_changes_apply_at_once() {
    let t = TestApp::with_admin().await;
    let viewer = t.client_as("vic", Role::Viewer).await;
    corpus(&t).await;
    put(&t, "hr/salaries", json!({"title": "Salaries rollback plan", "markdown": "Confidential payroll rollback.", "tags": ["secret-tag"]})).await;
    put(
        &t,
        "hr/open/handbook",
        json!({"title": "Handbook", "markdown": "Public payroll questions.", "tags": ["hr"]}),
    )
    .await;
    set_access(
        &t,
        "hr",
        json!({"inherit": false, "rules": [{"principal": "role:editor", "level": "edit"}]}),
    )
    .await;
    set_access(
        &t,
        "hr/open",
        json!({"inherit": false, "rules": [{"principal": "authenticated", "level": "read"}]}),
    )
    .await;
    indexed(&t, &t.client, "payroll", 2).await;

    // The viewer: no hit, count, facet or suggestion from hr/salaries.
    let r = search_as(&t, &viewer, "payroll").await;
    assert_eq!(paths(&r), ["hr/open/handbook"]);
    assert_eq!(r["total"], 1);
    let r = search_as(&t, &viewer, "rollback").await;
    assert_eq!(r["total"], 2, "{r}");
    assert!(!r.to_string().contains("alaries"));
    let r = search_as(&t, &viewer, "tag:secret-tag").await;
    assert_eq!(r["total"], 0);
    assert_eq!(r["facets"]["tags"], json!([]));
    let r = search_as(&t, &viewer, "path:hr").await;
    assert_eq!(paths(&r), ["hr/open/handbook"]);
    assert!(!r["facets"].to_string().contains("secret"));
    let titles: Value = viewer
        .get(t.url("/api/v1/search/titles?q=salar"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(titles["items"], json!([]));
    let html = viewer
        .get(t.url("/search?q=payroll"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!html.contains("alaries") && html.contains("Handbook"));
    // Anonymous visitors are asked to sign in (the wiki is not public).
    let res = client().get(t.url("/api/v1/search?q=payroll")).send().await.unwrap();
    assert_eq!(error_code(res, StatusCode::UNAUTHORIZED).await.0, "unauthenticated");

    // Opening hr to viewers applies to the next search, without re-indexing.
    set_access(&t, "hr", json!({"inherit": true, "rules": []})).await;
    t.eventually(WAIT, "the rule change reaches the viewer", || async {
        search_as(&t, &viewer, "payroll").await["total"] == 2
    })
    .await;
    // And closing it again.
    set_access(
        &t,
        "hr",
        json!({"inherit": false, "rules": [{"principal": "role:editor", "level": "edit"}]}),
    )
    .await;
    t.eventually(WAIT, "the closed folder is hidden again", || async {
        search_as(&t, &viewer, "payroll").await["total"] == 1
    })
    .await;
    // A page with its own rule inside an open folder.
    put(
        &t,
        "ops/private",
        json!({"title": "Private ops", "markdown": "kubectl secrets here."}),
    )
    .await;
    set_access(
        &t,
        "ops/private",
        json!({"inherit": false, "rules": [{"principal": "user:admin", "level": "manage"}]}),
    )
    .await;
    indexed(&t, &t.client, "kubectl", 2).await;
    assert_eq!(paths(&search_as(&t, &viewer, "kubectl").await), ["ops/rollback"]);
}

#[tokio::test]
async fn the_index_follows_edits_moves_deletes_and_restores() {
    let t = TestApp::with_admin().await;
    t.save("notes/alpha", "zebra crossing").await;
    indexed(&t, &t.client, "zebra", 1).await;
    t.save("notes/alpha", "giraffe crossing").await;
    indexed(&t, &t.client, "giraffe", 1).await;
    assert_eq!(search(&t, "zebra").await["total"], 0);
    let res = t
        .post_json("/api/v1/pages/notes/alpha/-/move", json!({"to": "archive/alpha"}))
        .await;
    assert!(res.status().is_success(), "{}", res.status());
    t.eventually(WAIT, "the move is indexed", || async {
        paths(&search(&t, "giraffe").await) == ["archive/alpha"]
    })
    .await;
    assert_eq!(search(&t, "giraffe path:notes").await["total"], 0);
    let res = t.delete("/api/v1/pages/archive/alpha").await;
    assert!(res.status().is_success());
    indexed(&t, &t.client, "giraffe", 0).await;
    let (_, trash) = t.json("/api/v1/trash").await;
    let id = trash["items"][0]["id"].as_i64().unwrap();
    let res = t.post_json(&format!("/api/v1/trash/{id}/restore"), json!({})).await;
    assert!(res.status().is_success(), "{}", res.status());
    indexed(&t, &t.client, "giraffe", 1).await;
    let (s, status) = t.json("/api/v1/search/status").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(status["pages"], 1, "{status}");
    assert_eq!(status["lag_events"], 0, "{status}");
    assert_eq!(status["language"], "english");
}

/// Queries whose answers must not depend on how the index was built.
const PROBES: &[&str] = &[
    "rollback",
    "rolling update",
    "tag:ops OR tag:intl",
    "数据库",
    "deploy*",
    "-rollback tag:eng",
    "path:intl",
];

async fn answers(t: &TestApp) -> Vec<Value> {
    let mut out = Vec::new();
    for q in PROBES {
        let mut r = search(t, q).await;
        for h in r["items"].as_array_mut().unwrap() {
            h.as_object_mut().unwrap().remove("updated_at");
        }
        out.push(r);
    }
    out
}

#[tokio::test]
async fn a_rebuilt_index_answers_as_the_incremental_one() {
    let t = TestApp::with_admin().await;
    corpus(&t).await;
    t.save("ops/deploy", "Deploying, revised: a rollback happens.").await;
    let res = t.delete("/api/v1/pages/intl/ja").await;
    assert!(res.status().is_success());
    indexed(&t, &t.client, "tag:intl", 2).await;
    indexed(&t, &t.client, "revised", 1).await;
    let before = answers(&t).await;
    let n = t.app.reindex(&|_, _| {}).await.unwrap();
    assert_eq!(n, 6, "the corpus's live pages");
    let after = answers(&t).await;
    for (b, a) in before.iter().zip(&after) {
        assert_eq!(a, b);
    }
}

#[tokio::test]
async fn a_stopped_node_catches_up_and_a_damaged_index_is_rebuilt() {
    let t = TestApp::with_admin().await;
    let dir = t.db.dir.join("search-kept");
    let b = node_with_index(&t, &dir).await;
    t.save("a/one", "marmalade").await;
    indexed(&b, &b.client, "marmalade", 1).await;
    b.stop().await;

    // Edits while it is down, made on the other node.
    t.save("a/two", "marmalade toast").await;
    t.save("a/one", "jam").await;
    let b = node_with_index(&t, &dir).await;
    indexed(&b, &b.client, "marmalade", 1).await;
    indexed(&b, &b.client, "jam", 1).await;
    b.stop().await;

    // Garbage in place of the index: rebuilt on start, not a crash.
    for entry in std::fs::read_dir(&dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_file() {
            std::fs::write(&p, b"not an index").unwrap();
        }
    }
    let b = node_with_index(&t, &dir).await;
    indexed(&b, &b.client, "marmalade OR jam", 2).await;
    // A missing index too.
    b.stop().await;
    std::fs::remove_dir_all(&dir).unwrap();
    let b = node_with_index(&t, &dir).await;
    indexed(&b, &b.client, "marmalade OR jam", 2).await;
}

#[tokio::test]
async fn every_node_sees_an_edit_made_on_any_node() {
    let a = TestApp::with_admin().await;
    let b = a.another_node().await;
    b.login(&b.client, "admin").await;
    a.save("x/on-a", "quokka").await;
    b.save("x/on-b", "quokka wombat").await;
    indexed(&a, &a.client, "quokka", 2).await;
    indexed(&b, &b.client, "quokka", 2).await;
    indexed(&a, &a.client, "wombat", 1).await;
}

#[tokio::test]
async fn the_search_page_works_without_javascript() {
    let t = TestApp::with_admin().await;
    corpus(&t).await;
    // An exact path jumps to the page.
    let res = t.get("/search?q=ops/rollback").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], "/wiki/ops/rollback");
    // Words search, with highlights, facets and the syntax help.
    let html = t.get("/search?q=rollback").await.text().await.unwrap();
    assert!(html.contains("<mark>"), "{html}");
    assert!(html.contains("href=\"/wiki/ops/rollback\""));
    assert!(html.contains("tag%3Aops") || html.contains("tag:ops"));
    assert!(html.contains("Search syntax"));
    // A title, typed in the header box, finds the page one folder down.
    let html = t.get("/search?q=Rollback").await.text().await.unwrap();
    assert!(html.find("/wiki/ops/rollback").is_some());
    let html = t.get("/search?q=rolbaxk").await.text().await.unwrap();
    assert!(html.contains("Did you mean"));
    let res = t.get("/assets/suggest.js").await;
    assert_eq!(res.status(), StatusCode::OK);
}
