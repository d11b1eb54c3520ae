use serde_json::json;
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
            json!({"markdown": "x".repeat(1024 * 1024 + 1)}),
            StatusCode::PAYLOAD_TOO_LARGE,
            "page_too_large",
        ),
    ];
    for (path, body, status, code) in cases {
        let res = t.put_page(path, body).await;
        let (got, err) = error_code(res, status).await;
        assert_eq!(got, code, "PUT {path}: {err}");
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
    ];
    for (path, code) in cases {
        assert_eq!(
            error_code(t.get(path).await, StatusCode::NOT_FOUND).await.0,
            code,
            "{path}"
        );
    }
    assert_eq!(
        error_code(t.get("/api/v1/revisions/abc").await, StatusCode::BAD_REQUEST)
            .await
            .0,
        "invalid_revision_id"
    );
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
    ] {
        assert!(paths.contains_key(p), "OpenAPI lacks {p}");
    }
    let page = &paths["/api/v1/pages/{path}"];
    assert!(page["get"].is_object() && page["put"].is_object() && page["delete"].is_object());
    assert!(doc["components"]["schemas"]["ErrorBody"].is_object());
}
