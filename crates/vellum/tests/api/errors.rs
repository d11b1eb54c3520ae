use std::collections::{BTreeMap, BTreeSet};

use serde_json::json;
use vellum_app::Code;
use vellum_testkit::{error_code, StatusCode, TestApp};

#[tokio::test]
async fn bad_input_gets_a_specific_error_and_changes_nothing() {
    let t = TestApp::with_admin().await;
    let cases = [
        (
            "a/b%3Fc",
            json!({"markdown": "x"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_path",
        ),
        ("a/-/b", json!({"markdown": "x"}), StatusCode::NOT_FOUND, "not_found"),
        (
            "notes/.hidden",
            json!({"markdown": "x"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_path",
        ),
        (
            "ok",
            json!({"markdown": "x", "title": "t".repeat(201)}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_title",
        ),
        (
            "ok",
            json!({"markdown": "x", "title": "   "}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_title",
        ),
        (
            "ok",
            json!({"markdown": "x", "tags": ["a/b"]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_tag",
        ),
        (
            "ok",
            json!({"title": "no markdown"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            "ok",
            json!({"markdown": 5}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            "ok",
            json!({"markdown": "x", "colour": "red"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            "ok",
            json!({"markdown": "x".repeat(1024 * 1024 + 1)}),
            StatusCode::PAYLOAD_TOO_LARGE,
            "page_too_large",
        ),
    ];
    for (path, body, status, code) in cases {
        let res = t.put_page(path, body).await;
        let (got, err) = error_code(res, status).await;
        assert_eq!(got, code, "PUT {path}: {err}");
        assert!(
            !err["message"].as_str().unwrap().contains('`'),
            "developer voice: {err}"
        );
    }
    let (_, list) = t.json("/api/v1/pages").await;
    assert_eq!(list["items"], json!([]), "no page was written");

    let res = t
        .client
        .put(t.url("/api/v1/pages/ok"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(res, StatusCode::BAD_REQUEST).await.0, "invalid_json");
    let res = t
        .client
        .put(t.url("/api/v1/pages/ok"))
        .form(&[("markdown", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(res, StatusCode::BAD_REQUEST).await.0,
        "unsupported_media_type"
    );
}

#[tokio::test]
async fn unknown_things_are_404_with_codes() {
    let t = TestApp::with_admin().await;
    let cases = [
        ("/api/v1/pages/nothing-here", "page_not_found"),
        ("/api/v1/revisions/999999", "revision_not_found"),
        ("/api/v1/folders/no/such/folder", "folder_not_found"),
        ("/api/v1/no-such-endpoint", "not_found"),
        ("/api/v1/pages/a/-/no-such-view", "not_found"),
    ];
    for (path, code) in cases {
        assert_eq!(
            error_code(t.get(path).await, StatusCode::NOT_FOUND).await.0,
            code,
            "{path}"
        );
    }
    for bad in ["abc", "0", "-3"] {
        assert_eq!(
            error_code(
                t.get(&format!("/api/v1/revisions/{bad}")).await,
                StatusCode::BAD_REQUEST
            )
            .await
            .0,
            "invalid_id"
        );
    }
    assert_eq!(
        error_code(t.get("/api/v1/pages?cursor=x&limit=zz").await, StatusCode::BAD_REQUEST)
            .await
            .0,
        "invalid_query"
    );
    assert_eq!(
        error_code(
            t.get("/api/v1/trash?cursor=not-a-number").await,
            StatusCode::BAD_REQUEST
        )
        .await
        .0,
        "invalid_cursor"
    );
}

#[tokio::test]
async fn list_limits_out_of_range_are_refused_clearly() {
    let t = TestApp::with_admin().await;
    for path in [
        "/api/v1/pages?limit=0",
        "/api/v1/pages?limit=501",
        "/api/v1/tags?limit=0",
        "/api/v1/recent-changes?limit=100000",
        "/api/v1/trash?limit=0",
        "/api/v1/users?limit=0",
    ] {
        let (code, err) = error_code(t.get(path).await, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(code, "invalid_limit", "{path}");
        assert!(err["message"].as_str().unwrap().contains("1 to 500"), "{err}");
    }
    let (status, _) = t.json("/api/v1/pages?limit=500").await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn wrong_methods_are_405_with_allow_and_the_error_body() {
    let t = TestApp::with_admin().await;
    t.save("doc", "x").await;
    let res = t.post_json("/api/v1/pages/doc", json!({})).await;
    let allow = res.headers()["allow"].to_str().unwrap().to_owned();
    for m in ["GET", "PUT", "DELETE"] {
        assert!(allow.contains(m), "{allow}");
    }
    assert_eq!(
        error_code(res, StatusCode::METHOD_NOT_ALLOWED).await.0,
        "method_not_allowed"
    );
    let res = t.client.delete(t.url("/api/v1/tags")).send().await.unwrap();
    assert!(res.headers()["allow"].to_str().unwrap().contains("GET"));
    assert_eq!(
        error_code(res, StatusCode::METHOD_NOT_ALLOWED).await.0,
        "method_not_allowed"
    );
}

#[tokio::test]
async fn every_list_has_items_and_next_cursor() {
    let t = TestApp::with_admin().await;
    t.put_page("a", json!({"markdown": "[[b]] [[nowhere]]", "tags": ["t"]}))
        .await;
    t.save("b", "[[a]]").await;
    t.save("c", "x").await;
    t.delete("/api/v1/pages/c").await;
    for path in [
        "/api/v1/pages",
        "/api/v1/pages/a/-/revisions",
        "/api/v1/pages/a/-/backlinks",
        "/api/v1/recent-changes",
        "/api/v1/tags",
        "/api/v1/tags/t",
        "/api/v1/trash",
        "/api/v1/wanted",
        "/api/v1/orphans",
        "/api/v1/users",
    ] {
        let (status, body) = t.json(path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(body["items"].is_array(), "{path}: {body}");
        assert!(body.as_object().unwrap().contains_key("next_cursor"), "{path}: {body}");
    }
    let (_, users) = t.json("/api/v1/users").await;
    assert_eq!(users["items"][0]["username"], "admin");
    assert_eq!(users["items"][0]["role"], "admin");
}

/// The error code table of `docs/api.md`: status → codes.
fn documented_codes() -> BTreeMap<u16, BTreeSet<String>> {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/api.md")).expect("docs/api.md");
    let table = doc.split("## Errors").nth(1).expect("an Errors section");
    let mut out: BTreeMap<u16, BTreeSet<String>> = BTreeMap::new();
    for line in table.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let Some(status) = cells.get(1).and_then(|c| c.parse::<u16>().ok()) else {
            continue;
        };
        let codes = cells.get(2).copied().unwrap_or_default();
        for code in codes.split('`').skip(1).step_by(2) {
            if code.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
                out.entry(status).or_default().insert(code.to_owned());
            }
        }
    }
    out
}

#[tokio::test]
async fn the_error_code_table_matches_the_docs_and_the_openapi_document() {
    let mut from_code: BTreeMap<u16, BTreeSet<String>> = BTreeMap::new();
    for c in Code::ALL {
        let status = vellum_web_status(*c);
        from_code.entry(status).or_default().insert(c.as_str().to_owned());
    }
    assert_eq!(
        documented_codes(),
        from_code,
        "docs/api.md's error table differs from the code table"
    );

    let t = TestApp::spawn().await;
    let (_, doc) = t.json("/api/v1/openapi.json").await;
    let listed: BTreeSet<String> = doc["components"]["schemas"]["ErrorCode"]["enum"]
        .as_array()
        .expect("an ErrorCode enum")
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    let all: BTreeSet<String> = Code::ALL.iter().map(|c| c.as_str().to_owned()).collect();
    assert_eq!(listed, all);
}

/// The HTTP status the web layer gives a code (mirrors its table, checked
/// against real responses in the other tests).
fn vellum_web_status(c: Code) -> u16 {
    use vellum_app::ErrorKind::*;
    match c.kind() {
        BadRequest => 400,
        Unauthenticated => 401,
        Forbidden => 403,
        NotFound => 404,
        MethodNotAllowed => 405,
        Conflict => 409,
        TooLarge => 413,
        Invalid => 422,
        TooManyRequests => 429,
        Unavailable => 503,
        Internal => 500,
    }
}

#[tokio::test]
async fn openapi_document_describes_the_contract() {
    let t = TestApp::spawn().await;
    let (status, doc) = t.json("/api/v1/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/api/v1/auth/login",
        "/api/v1/auth/logout",
        "/api/v1/pages/{path}",
        "/api/v1/pages/{path}/-/revisions",
        "/api/v1/pages/{path}/-/diff",
        "/api/v1/pages/{path}/-/backlinks",
        "/api/v1/pages/{path}/-/move",
        "/api/v1/pages/{path}/-/revert",
        "/api/v1/revisions/{id}",
        "/api/v1/folders/{path}",
        "/api/v1/recent-changes",
        "/api/v1/tags",
        "/api/v1/tags/{tag}",
        "/api/v1/render",
        "/api/v1/users",
    ] {
        assert!(paths.contains_key(p), "OpenAPI lacks {p}");
    }
    let page = &paths["/api/v1/pages/{path}"];
    assert!(page["get"].is_object() && page["put"].is_object() && page["delete"].is_object());
    assert!(paths["/api/v1/users"]["get"].is_object() && paths["/api/v1/users"]["post"].is_object());
    assert!(doc["components"]["schemas"]["ErrorBody"].is_object());
}
