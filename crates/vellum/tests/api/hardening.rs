//! Regression tests for what an attack run found (issue 7), on both
//! backends: each asserts the behaviour a user or an attacker would see.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use vellum_app::Role;
use vellum_testkit::{client, error_code, StatusCode, TestApp};

fn links_to_missing_pages(n: usize) -> String {
    (0..n).map(|i| format!("[[nowhere/{i}]]")).collect::<Vec<_>>().join(" ")
}

#[tokio::test]
async fn a_page_with_thousands_of_missing_links_renders_and_stays_readable() {
    let t = TestApp::with_admin().await;
    let md = links_to_missing_pages(vellum_app::MAX_LINKS_PER_PAGE);
    let res = t.post_json("/api/v1/render", json!({ "markdown": md })).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    let html = body["html"].as_str().unwrap();
    assert_eq!(
        html.matches("class=\"wikilink missing\"").count(),
        vellum_app::MAX_LINKS_PER_PAGE
    );

    t.save("many/links", &md).await;
    let (status, page) = t.json("/api/v1/pages/many/links").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        page["html"].as_str().unwrap().matches("wikilink missing").count(),
        vellum_app::MAX_LINKS_PER_PAGE
    );
    assert_eq!(t.get("/wiki/many/links").await.status(), StatusCode::OK);

    // One more link than allowed is refused before anything is written.
    let too_many = links_to_missing_pages(vellum_app::MAX_LINKS_PER_PAGE + 1);
    let res = t.put_page("many/more", json!({ "markdown": too_many })).await;
    let (code, err) = error_code(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(code, "too_many_links");
    assert_eq!(err["details"]["limit"], vellum_app::MAX_LINKS_PER_PAGE);
    assert_eq!(t.json("/api/v1/pages/many/more").await.0, StatusCode::NOT_FOUND);
    let res = t.post_json("/api/v1/render", json!({ "markdown": too_many })).await;
    assert_eq!(
        error_code(res, StatusCode::UNPROCESSABLE_ENTITY).await.0,
        "too_many_links"
    );
}

#[tokio::test]
async fn heavy_renders_do_not_stall_the_server() {
    let t = TestApp::with_admin().await;
    // A big page: thousands of links, a huge code block, many tables.
    let mut md = links_to_missing_pages(4_000);
    md.push_str("\n\n```rust\n");
    md.push_str(&"fn f(x: u32) -> u32 { x.wrapping_mul(31).rotate_left(3) }\n".repeat(8_000));
    md.push_str("```\n\n");
    md.push_str(&"| a | b | c |\n|---|---|---|\n| 1 | 2 | 3 |\n\n".repeat(2_000));
    let md = Arc::new(md);
    let order = Arc::new(tokio::sync::Mutex::new(Vec::new()));
    let mut heavy = Vec::new();
    for i in 0..4 {
        let (c, url, md, order) = (t.client.clone(), t.url("/api/v1/render"), md.clone(), order.clone());
        heavy.push(tokio::spawn(async move {
            let res = c.post(url).json(&json!({ "markdown": *md })).send().await.unwrap();
            order.lock().await.push(format!("render {i}"));
            res.status()
        }));
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    let res = client().get(t.url("/healthz")).send().await.unwrap();
    order.lock().await.push("healthz".into());
    assert_eq!(res.status(), StatusCode::OK);
    for h in heavy {
        assert_eq!(h.await.unwrap(), StatusCode::OK);
    }
    let order = order.lock().await.clone();
    assert_ne!(
        order.last().map(String::as_str),
        Some("healthz"),
        "the health check waited for every heavy render: {order:?}"
    );
}

#[tokio::test]
async fn fifty_concurrent_editors_all_succeed_and_each_reply_is_their_own_revision() {
    let t = TestApp::with_admin().await;
    t.save("shared", "start").await;
    let mut tasks = Vec::new();
    for i in 0..50 {
        let (c, base) = (t.client.clone(), t.url(""));
        tasks.push(tokio::spawn(async move {
            // Half edit one page (overwriting), half create pages of their own.
            let (path, text) = if i % 2 == 0 {
                ("shared".to_owned(), format!("version {i}"))
            } else {
                (format!("own/{i}"), format!("page {i}"))
            };
            let res = c
                .put(format!("{base}/api/v1/pages/{path}"))
                .json(&json!({ "markdown": text }))
                .send()
                .await
                .unwrap();
            let status = res.status();
            let body: Value = res.json().await.unwrap();
            (status, text, body)
        }));
    }
    let mut revisions = std::collections::BTreeSet::new();
    for task in tasks {
        let (status, text, body) = task.await.unwrap();
        assert!(status.is_success(), "{status} {body}");
        assert_eq!(body["markdown"], text, "the reply describes this request's revision");
        assert!(
            revisions.insert(body["revision"].as_i64().unwrap()),
            "two replies named one revision"
        );
    }
    let (_, history) = t.json("/api/v1/pages/shared/-/revisions?limit=100").await;
    assert_eq!(
        history["items"].as_array().unwrap().len(),
        26,
        "every edit of the shared page was kept"
    );
}

#[tokio::test]
async fn a_busy_database_answers_503_with_retry_after_and_writes_nothing() {
    let db = Arc::new(vellum_testkit::TestDb::new(vellum_testkit::Backend::from_env()).await);
    let t = TestApp::spawn_with(db, |c| {
        c.store.max_connections = Some(2);
        c.store.acquire_timeout = Duration::from_millis(300);
    })
    .await;
    t.create_user("admin", Role::Admin).await;
    t.login(&t.client, "admin").await;
    // Hold every way to write: the write lock (SQLite) or every pooled
    // connection (PostgreSQL).
    let held_tx = t.app.store().begin().await.unwrap();
    let mut held_conns = Vec::new();
    if t.db.backend == vellum_testkit::Backend::Postgres {
        while let Ok(c) = t.app.store().read().await {
            held_conns.push(c);
        }
    }
    let res = t.put_page("while-busy", json!({ "markdown": "x" })).await;
    assert_eq!(
        res.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned()),
        Some("1".into())
    );
    let (code, _) = error_code(res, StatusCode::SERVICE_UNAVAILABLE).await;
    assert_eq!(code, "busy");
    drop(held_tx);
    drop(held_conns);
    assert_eq!(
        t.json("/api/v1/pages/while-busy").await.0,
        StatusCode::NOT_FOUND,
        "nothing was written"
    );
    assert_eq!(
        t.put_page("while-busy", json!({ "markdown": "x" })).await.status(),
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn nul_and_control_characters_are_refused_everywhere_without_a_500() {
    let t = TestApp::with_admin().await;
    t.save("doc", "text").await;
    let writes = [
        json!({"markdown": "a\u{0}b"}),
        json!({"markdown": "ok", "summary": "a\u{0}b"}),
        json!({"markdown": "ok", "title": "a\u{0}b"}),
        json!({"markdown": "ok", "tags": ["a\u{0}b"]}),
        json!({"markdown": "a\u{1b}[31mred"}),
    ];
    for body in writes {
        for path in ["doc", "new-page"] {
            let res = t.put_page(path, body.clone()).await;
            let (code, _) = error_code(res, StatusCode::UNPROCESSABLE_ENTITY).await;
            assert!(
                code == "invalid_text" || code == "invalid_title" || code == "invalid_tag",
                "{code} for {body}"
            );
        }
    }
    assert_eq!(t.json("/api/v1/pages/new-page").await.0, StatusCode::NOT_FOUND);
    let (_, doc) = t.json("/api/v1/pages/doc").await;
    assert_eq!(doc["markdown"], "text");
    let reads = [
        "/api/v1/pages?cursor=%00",
        "/api/v1/recent-changes?user=%00",
        "/api/v1/recent-changes?user=a%00b",
        "/api/v1/tags/a%00b",
        "/api/v1/tags?cursor=%00",
        "/api/v1/pages/a%00b",
        "/api/v1/folders/a%00",
        "/api/v1/pages/doc/-/backlinks?cursor=%00",
        "/api/v1/wanted?cursor=1%3A%00",
        "/wiki/a%00b",
        "/tags/a%00b",
        "/recent?user=%00",
        "/folders/%00",
    ];
    for path in reads {
        let status = t.get(path).await.status();
        assert!(status.is_client_error(), "{path}: {status}");
    }
    for (name, password) in [("a\u{0}b", "password"), ("admin", "pass\u{0}word")] {
        let res = client()
            .post(t.url("/api/v1/auth/login"))
            .json(&json!({ "username": name, "password": password }))
            .send()
            .await
            .unwrap();
        assert_eq!(error_code(res, StatusCode::UNAUTHORIZED).await.0, "invalid_credentials");
    }
    let res = t
        .post_json(
            "/api/v1/users",
            json!({"username": "nul", "password": "long enough", "role": "viewer", "display_name": "N\u{0}L"}),
        )
        .await;
    assert_eq!(
        error_code(res, StatusCode::UNPROCESSABLE_ENTITY).await.0,
        "invalid_text"
    );
}

#[tokio::test]
async fn merging_edits_among_repeated_lines_never_invents_or_drops_text() {
    let t = TestApp::with_admin().await;
    let cases: [(&str, &str, &str); 4] = [
        ("x\nx\nx\nx\nx\n", "x\nA\nx\nx\nx\n", "x\nx\nx\nB\nx\n"),
        ("x\n\nx\n\nx\n", "x\n\nA\n\nx\n", "x\n\nx\n\nB\n"),
        ("a\n\n\n\nb\n", "a\n\n\nmine\n\nb\n", "a\n\ntheirs\n\n\nb\n"),
        ("one\ntwo\nthree\n", "one\nTWO\nthree\n", "one\ntwo\nTHREE\n"),
    ];
    for (i, (base, ours, theirs)) in cases.iter().enumerate() {
        let path = format!("merge/{i}");
        let base_rev = t.save(&path, base).await["revision"].clone();
        let res = t
            .put_page(&path, json!({"markdown": theirs, "base_revision": base_rev}))
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        let res = t
            .put_page(&path, json!({"markdown": ours, "base_revision": base_rev}))
            .await;
        match res.status() {
            StatusCode::OK => {
                let body: Value = res.json().await.unwrap();
                let merged = body["markdown"].as_str().unwrap();
                // Both edits, nothing more: each side's lines added over the base.
                assert_eq!(
                    merged.lines().count() + base.lines().count(),
                    ours.lines().count() + theirs.lines().count(),
                    "case {i}: merged into {merged:?}"
                );
                for line in ours
                    .lines()
                    .chain(theirs.lines())
                    .filter(|l| !base.lines().any(|b| b == *l))
                {
                    assert!(
                        merged.lines().any(|m| m == line),
                        "case {i}: {line:?} lost from {merged:?}"
                    );
                }
            }
            StatusCode::CONFLICT => {}
            other => panic!("case {i}: {other}"),
        }
    }
    // Edits of neighbouring lines merge (the user guide says so).
    let (_, page) = t.json("/api/v1/pages/merge/3").await;
    assert_eq!(page["markdown"], "one\nTWO\nTHREE\n");
}

#[tokio::test]
async fn unicode_paths_are_stored_in_the_form_they_parse_to() {
    let t = TestApp::with_admin().await;
    for (raw, stored) in [
        ("%C4%B0stanbul", "i\u{307}stanbul"),
        ("%E0%A4%B9%E0%A4%BF%E0%A4%A8%E0%A5%8D%E0%A4%A6%E0%A5%80", "हिन्दी"),
        ("caf%65%CC%81", "caf\u{e9}"),
    ] {
        let res = t.put_page(raw, json!({"markdown": "x"})).await;
        assert_eq!(res.status(), StatusCode::CREATED, "{raw}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["path"], stored, "{raw}");
        let location = res_path(&body);
        assert_eq!(
            t.get(&format!("/api/v1/pages/{location}")).await.status(),
            StatusCode::OK,
            "{raw}"
        );
        assert_eq!(
            t.get(&format!("/wiki/{location}")).await.status(),
            StatusCode::OK,
            "{raw}"
        );
    }
    // The precomposed é reaches the same page as e + combining accent.
    assert_eq!(t.get("/api/v1/pages/caf%C3%A9").await.status(), StatusCode::OK);
    let (_, all) = t.json("/api/v1/pages").await;
    assert_eq!(all["items"].as_array().unwrap().len(), 3);
}

fn res_path(body: &Value) -> String {
    percent_encode(body["path"].as_str().unwrap())
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_./".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[tokio::test]
async fn addresses_with_control_characters_never_give_a_500() {
    let t = TestApp::with_admin().await;
    t.save("a/b", "x").await;
    for path in [
        "/wiki/a/b/-/%0a",
        "/wiki/a/b/-/%01",
        "/wiki/a/b/-/%7f",
        "/wiki/a/b/-/edit%00",
        "/wiki/a%0a",
        "/wiki/a%0d%0aSet-Cookie:%20x=1",
        "/wiki/A/%0aB",
        "/go?path=%0a",
        "/go?path=a%0d%0ab",
        "/login?next=%0a",
        "/login?next=/%0d%0a/x",
        "/api/v1/pages/a/b/-/%0a",
        "/folders/a%0a",
    ] {
        let res = t.get(path).await;
        assert!(res.status().as_u16() < 500, "{path}: {}", res.status());
        if let Some(loc) = res.headers().get("location") {
            assert!(
                loc.as_bytes().iter().all(|b| b.is_ascii_graphic()),
                "{path} redirected to {loc:?}"
            );
        }
        assert!(res
            .headers()
            .get("set-cookie")
            .is_none_or(|c| !c.to_str().unwrap().starts_with("x=")));
    }
}

#[tokio::test]
async fn signing_in_never_redirects_off_site_or_fails_on_odd_next() {
    let t = TestApp::spawn().await;
    t.create_user("ada", Role::Editor).await;
    for next in [
        "/\n/x",
        "/\r/x",
        "/\u{1}x",
        "/\u{7f}x",
        "/%09/evil.example",
        "//evil",
        "/\\evil",
    ] {
        let c = client();
        let res = t
            .browser_post(&c, "/login")
            .form(&[("username", "ada"), ("password", "password-ada"), ("next", next)])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{next:?}");
        let loc = res.headers()["location"].to_str().unwrap();
        assert!(
            loc.starts_with('/') && !loc.starts_with("//") && !loc.contains('\\'),
            "{next:?} → {loc}"
        );
        assert!(loc.bytes().all(|b| b.is_ascii_graphic()), "{next:?} → {loc:?}");
    }
}

#[tokio::test]
async fn slow_and_idle_connections_are_closed() {
    let db = Arc::new(vellum_testkit::TestDb::new(vellum_testkit::Backend::from_env()).await);
    let limits = vellum_web::ServerLimits {
        header_read_timeout: Duration::from_millis(500),
        ..vellum_web::ServerLimits::default()
    };
    let t = TestApp::spawn_full(db, |_| {}, vellum_web::WebOptions::default(), limits).await;
    // A request head sent halfway and never finished.
    let mut slow = tokio::net::TcpStream::connect(t.addr).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), slow.read_to_end(&mut buf)).await;
    assert!(read.is_ok(), "the half-sent request was never cut off");
    // A finished request, then silence on a keep-alive connection.
    let mut idle = tokio::net::TcpStream::connect(t.addr).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut first = [0u8; 512];
    let n = idle.read(&mut first).await.unwrap();
    assert!(String::from_utf8_lossy(&first[..n]).starts_with("HTTP/1.1 200"));
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(10), idle.read_to_end(&mut rest)).await;
    assert!(closed.is_ok(), "the idle keep-alive connection was never closed");
}

#[tokio::test]
async fn huge_diffs_and_code_blocks_stay_bounded() {
    let t = TestApp::with_admin().await;
    let a: String = (0..200_000).map(|i| if i % 2 == 0 { "a\n" } else { "b\n" }).collect();
    let b: String = (0..200_000).map(|i| if i % 3 == 0 { "a\n" } else { "c\n" }).collect();
    let one = t.save("big", &a).await["revision"].clone();
    let two = t.save("big", &b).await["revision"].clone();
    let res = t.get(&format!("/api/v1/pages/big/-/diff?from={one}&to={two}")).await;
    assert_eq!(res.status(), StatusCode::OK);
    let text = res.text().await.unwrap();
    assert!(text.len() < 1_000_000, "the JSON diff is {} bytes", text.len());
    let diff: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(diff["diff"]["truncated"], true);
    assert!(diff["diff"]["omitted_lines"].as_u64().unwrap() > 0);
    let page = t
        .get(&format!("/wiki/big/-/diff?from={one}&to={two}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.len() < 2_000_000, "the HTML diff is {} bytes", page.len());
    assert!(
        page.contains("too long to show in full"),
        "the page says it is cut short"
    );

    let code = format!(
        "```rust\n{}```\n",
        "let x: Vec<u32> = (0..10).map(|i| i * 2).collect();\n".repeat(14_000)
    );
    let page = t.save("code", &code).await;
    let html = page["html"].as_str().unwrap();
    assert!(
        html.len() < 3 * code.len(),
        "{} bytes of HTML for {} of code",
        html.len(),
        code.len()
    );
}

#[tokio::test]
async fn callers_who_may_not_read_learn_nothing_from_the_answer() {
    let t = TestApp::with_admin().await;
    let rev = t.save("secret", "x").await["revision"].as_i64().unwrap();
    t.save("gone", "y").await;
    t.delete("/api/v1/pages/gone").await;
    let (_, trash) = t.json("/api/v1/trash").await;
    let trashed = trash["items"][0]["id"].as_i64().unwrap();
    let anon = client();
    let pairs = [
        (
            format!("/api/v1/revisions/{rev}"),
            "/api/v1/revisions/987654".to_owned(),
        ),
        (
            "/api/v1/recent-changes?user=admin".into(),
            "/api/v1/recent-changes?user=nobody".into(),
        ),
        ("/api/v1/pages/secret".into(), "/api/v1/pages/nothing".into()),
        (
            "/api/v1/pages/secret/-/revisions".into(),
            "/api/v1/pages/nothing/-/revisions".into(),
        ),
        (
            "/api/v1/pages/secret/-/backlinks".into(),
            "/api/v1/pages/nothing/-/backlinks".into(),
        ),
        ("/api/v1/folders/secret".into(), "/api/v1/folders/nothing".into()),
    ];
    for (exists, missing) in pairs {
        let a = anon.get(t.url(&exists)).send().await.unwrap();
        let b = anon.get(t.url(&missing)).send().await.unwrap();
        assert_eq!(a.status(), b.status(), "{exists} vs {missing}");
        let (a, b): (Value, Value) = (a.json().await.unwrap(), b.json().await.unwrap());
        assert_eq!(a["error"]["code"], b["error"]["code"], "{exists} vs {missing}");
    }
    let restore = |id: i64| {
        anon.post(t.url(&format!("/api/v1/trash/{id}/restore")))
            .json(&json!({}))
            .send()
    };
    let (a, b) = (restore(trashed).await.unwrap(), restore(987_654).await.unwrap());
    assert_eq!(a.status(), b.status());
    assert_eq!(a.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn security_headers_follow_the_configuration() {
    let t = TestApp::spawn().await;
    let res = t.get("/login").await;
    assert!(
        res.headers().get("strict-transport-security").is_none(),
        "no HSTS over plain HTTP"
    );
    assert!(res.headers().get("x-powered-by").is_none());
    let db = Arc::new(vellum_testkit::TestDb::new(vellum_testkit::Backend::from_env()).await);
    let web = vellum_web::WebOptions {
        public_url: Some("https://wiki.example.com".into()),
        image_hosts: vec!["https://images.example.com".into()],
        ..Default::default()
    };
    let t = TestApp::spawn_full(db, |_| {}, web, vellum_web::ServerLimits::default()).await;
    let res = t.get("/login").await;
    let h = res.headers();
    assert!(h["strict-transport-security"].to_str().unwrap().contains("max-age="));
    assert!(h["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("img-src 'self' data: blob: https://images.example.com;"));
}
