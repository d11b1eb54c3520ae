use serde_json::{json, Value};
use vellum_testkit::{error_code, StatusCode, TestApp};

#[tokio::test]
async fn history_revision_diff_and_revert() {
    let t = TestApp::with_admin().await;
    let r1 = t
        .put_page("doc", json!({"markdown": "alpha\nbeta\ngamma\n", "summary": "start"}))
        .await;
    let r1: Value = r1.json().await.unwrap();
    let r2 = t
        .put_page(
            "doc",
            json!({"markdown": "alpha\nbeta changed\ngamma\n", "summary": "tweak", "base_revision": r1["revision"]}),
        )
        .await;
    let r2: Value = r2.json().await.unwrap();
    let (id1, id2) = (r1["revision"].as_i64().unwrap(), r2["revision"].as_i64().unwrap());

    let (_, history) = t.json("/api/v1/pages/doc/-/revisions").await;
    let items = history["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["id"], id2, "newest first");
    assert_eq!(items[0]["author"], "admin");
    assert_eq!(items[0]["summary"], "tweak");
    assert_eq!(items[0]["size"], 25);
    assert_eq!(items[0]["size_delta"], 8);
    assert_eq!(items[1]["kind"], "create");

    let (status, old) = t.json(&format!("/api/v1/revisions/{id1}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(old["markdown"], "alpha\nbeta\ngamma\n");
    assert_eq!(old["is_current"], false);

    let (status, diff) = t.json(&format!("/api/v1/pages/doc/-/diff?from={id1}&to={id2}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(diff["diff"]["added"], 1);
    assert_eq!(diff["diff"]["removed"], 1);
    let lines = diff["diff"]["hunks"][0]["lines"].as_array().unwrap();
    let added = lines.iter().find(|l| l["kind"] == "added").unwrap();
    let emphasized: Vec<_> = added["segments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["emphasized"] == true)
        .collect();
    assert!(
        emphasized
            .iter()
            .any(|s| s["text"].as_str().unwrap().contains("changed")),
        "{added}"
    );
    assert!(diff["unified"].as_str().unwrap().contains("+beta changed"));
    let res = t.get(&format!("/api/v1/pages/doc/-/diff?from={id1}")).await;
    assert_eq!(error_code(res, StatusCode::BAD_REQUEST).await.0, "invalid_query");
    t.save("other", "x").await;
    let (_, other) = t.json("/api/v1/pages/other").await;
    let res = t
        .get(&format!("/api/v1/pages/doc/-/diff?from={id1}&to={}", other["revision"]))
        .await;
    assert_eq!(error_code(res, StatusCode::NOT_FOUND).await.0, "revision_not_found");

    let res = t
        .post_json("/api/v1/pages/doc/-/revert", json!({"revision": id1}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let reverted: Value = res.json().await.unwrap();
    assert_eq!(reverted["markdown"], "alpha\nbeta\ngamma\n");
    assert!(
        reverted["revision"].as_i64().unwrap() > id2,
        "a revert is a new revision"
    );
    let (_, history) = t.json("/api/v1/pages/doc/-/revisions").await;
    assert_eq!(history["items"][0]["kind"], "revert");
    assert_eq!(history["items"][0]["summary"], format!("Reverted to revision {id1}"));
    assert_eq!(history["items"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn non_overlapping_concurrent_edits_merge() {
    let t = TestApp::with_admin().await;
    let base = t.save("shared", "one\ntwo\nthree\nfour\nfive\n").await;
    let base_rev = base["revision"].clone();
    let a = t
        .put_page(
            "shared",
            json!({"markdown": "ONE\ntwo\nthree\nfour\nfive\n", "base_revision": base_rev}),
        )
        .await;
    assert_eq!(a.status(), StatusCode::OK);
    let b = t
        .put_page(
            "shared",
            json!({"markdown": "one\ntwo\nthree\nfour\nFIVE\n", "base_revision": base_rev}),
        )
        .await;
    assert_eq!(b.status(), StatusCode::OK);
    let merged: Value = b.json().await.unwrap();
    assert_eq!(merged["merged"], true);
    assert_eq!(merged["markdown"], "ONE\ntwo\nthree\nfour\nFIVE\n");
    let (_, history) = t.json("/api/v1/pages/shared/-/revisions").await;
    assert_eq!(history["items"][0]["kind"], "merge");
}

#[tokio::test]
async fn overlapping_edits_conflict_and_keep_both_texts() {
    let t = TestApp::with_admin().await;
    let base = t.save("hot", "title line\nbody\n").await;
    let base_rev = base["revision"].clone();
    let theirs = t
        .put_page(
            "hot",
            json!({"markdown": "their title\nbody\n", "base_revision": base_rev}),
        )
        .await;
    assert_eq!(theirs.status(), StatusCode::OK);
    let theirs: Value = theirs.json().await.unwrap();

    let res = t
        .put_page(
            "hot",
            json!({"markdown": "my title\nbody\n", "base_revision": base_rev}),
        )
        .await;
    let (code, err) = error_code(res, StatusCode::CONFLICT).await;
    assert_eq!(code, "edit_conflict");
    let d = &err["details"];
    assert_eq!(d["yours"], "my title\nbody\n");
    assert_eq!(d["theirs"], "their title\nbody\n");
    assert_eq!(d["current_revision"], theirs["revision"]);
    let markers = d["merged_with_markers"].as_str().unwrap();
    assert!(
        markers.contains("my title") && markers.contains("their title") && markers.contains("<<<<<<<"),
        "{markers}"
    );
    // The page holds their text; nothing was overwritten.
    let (_, page) = t.json("/api/v1/pages/hot").await;
    assert_eq!(page["markdown"], "their title\nbody\n");
    // Saving again on top of the current revision goes through.
    let res = t
        .put_page(
            "hot",
            json!({"markdown": "my title\nbody\n", "base_revision": d["current_revision"]}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);

    let res = t
        .put_page("hot", json!({"markdown": "x", "base_revision": 987654}))
        .await;
    assert_eq!(
        error_code(res, StatusCode::UNPROCESSABLE_ENTITY).await.0,
        "invalid_base_revision"
    );
    // Editing a page that was deleted meanwhile keeps the text in the error.
    t.save("gone", "x").await;
    let (_, gone) = t.json("/api/v1/pages/gone").await;
    t.delete("/api/v1/pages/gone").await;
    let res = t
        .put_page(
            "gone",
            json!({"markdown": "late edit", "base_revision": gone["revision"]}),
        )
        .await;
    let (code, err) = error_code(res, StatusCode::CONFLICT).await;
    assert_eq!(code, "page_gone");
    assert_eq!(err["details"]["yours"], "late edit");
}
