//! Files: uploads (raw and multipart) round-tripped with their hashes,
//! versions and restore, identical contents stored once, types decided
//! from the bytes, the size limit, delivery (ETag, ranges, safe headers),
//! `file:` references that survive moves, permissions, and the collection
//! of unused blobs.

use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use vellum_app::Role;
use vellum_testkit::{error_code, TestApp};

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89\0\0\0\rIDATx\x9cc\xf8\xff\xff?\0\x05\xfe\x02\xfe\xa7\x35\x81\x84\0\0\0\0IEND\xaeB`\x82";

pub(crate) fn sha(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

pub(crate) async fn upload(t: &TestApp, c: &Client, page: &str, name: &str, bytes: &[u8]) -> (StatusCode, Value) {
    let res = t
        .browser_post(c, &format!("/api/v1/pages/{page}/-/files?name={name}"))
        .header("content-type", "application/octet-stream")
        .body(bytes.to_vec())
        .send()
        .await
        .unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

fn multipart(name: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = "vellumtestboundary7MA4YWxk";
    let mut body = Vec::new();
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

pub(crate) async fn get_bytes(t: &TestApp, c: &Client, url: &str) -> (StatusCode, reqwest::header::HeaderMap, Vec<u8>) {
    let res = c.get(t.url(url)).send().await.unwrap();
    let (status, headers) = (res.status(), res.headers().clone());
    (status, headers, res.bytes().await.unwrap().to_vec())
}

#[tokio::test]
async fn files_round_trip_with_versions_restore_and_one_copy_of_each_content() {
    let t = TestApp::with_admin().await;
    t.save("docs/guide", "# Guide").await;
    t.save("docs/other", "# Other").await;
    let c = &t.client;
    let text = b"Hello, files!\n".repeat(1000);

    let (s, f) = upload(&t, c, "docs/guide", "notes.txt", &text).await;
    assert_eq!(s, StatusCode::CREATED, "{f}");
    assert_eq!(f["name"], "notes.txt");
    assert_eq!(f["version"], 1);
    assert_eq!(f["size"], text.len());
    assert_eq!(f["sha256"], sha(&text));
    assert_eq!(f["content_type"], "text/plain");
    assert_eq!(f["reference"], "file:notes.txt");
    let url = f["url"].as_str().unwrap().to_owned();
    let (s, h, body) = get_bytes(&t, c, &url).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(body, text, "the same bytes come back");
    assert_eq!(h["etag"], format!("\"{}\"", sha(&text)).as_str());
    assert_eq!(h["content-type"], "text/plain; charset=utf-8");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert!(h["cache-control"].to_str().unwrap().contains("immutable"));
    assert!(h["content-security-policy"].to_str().unwrap().contains("sandbox"));

    // Conditional and partial requests.
    let res = c
        .get(t.url(&url))
        .header("if-none-match", h["etag"].clone())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_MODIFIED);
    assert!(res.bytes().await.unwrap().is_empty());
    let res = c.get(t.url(&url)).header("range", "bytes=7-11").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        res.headers()["content-range"],
        format!("bytes 7-11/{}", text.len()).as_str()
    );
    assert_eq!(&res.bytes().await.unwrap()[..], b"files");
    let res = c.get(t.url(&url)).header("range", "bytes=-3").send().await.unwrap();
    assert_eq!(&res.bytes().await.unwrap()[..], &text[text.len() - 3..]);
    let res = c
        .get(t.url(&url))
        .header("range", format!("bytes={}-", text.len()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::RANGE_NOT_SATISFIABLE);

    // The same name again: a new version; the old one stays readable.
    let (s, f2) = upload(&t, c, "docs/guide", "notes.txt", b"Second version\n").await;
    assert_eq!(s, StatusCode::OK, "{f2}");
    assert_eq!(f2["version"], 2);
    assert_eq!(f2["id"], f["id"]);
    let (_, _, old) = get_bytes(&t, c, &url).await;
    assert_eq!(old, text, "version 1 still answers at its address");
    let (_, _, latest) = get_bytes(&t, c, &format!("/files/{}/latest/notes.txt", f["id"])).await;
    assert_eq!(latest, b"Second version\n");
    let id = f["id"].as_i64().unwrap();
    let (s, detail) = t.json(&format!("/api/v1/files/{id}")).await;
    assert_eq!(s, StatusCode::OK);
    let versions: Vec<i64> = detail["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_i64().unwrap())
        .collect();
    assert_eq!(versions, [2, 1]);

    // Restore version 1: a third version with its bytes.
    let res = c
        .post(t.url(&format!("/api/v1/files/{id}/-/restore")))
        .json(&json!({"version": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let f3: Value = res.json().await.unwrap();
    assert_eq!(f3["version"], 3);
    assert_eq!(f3["sha256"], sha(&text));
    let res = c
        .post(t.url(&format!("/api/v1/files/{id}/-/restore")))
        .json(&json!({"version": 9}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // Identical contents anywhere are stored once.
    let (s, _) = upload(&t, c, "docs/other", "copy.txt", &text).await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(t.db.scalar("SELECT COUNT(*) FROM blobs").await, 2);
    let stored = walk(&t.db.dir.join("files")).len();
    assert_eq!(stored, 2, "two contents, two stored blobs");

    // A multipart upload takes the part's file name.
    let (ct, body) = multipart("pixel.png", PNG);
    let res = t
        .browser_post(c, "/api/v1/pages/docs/guide/-/files")
        .header("content-type", ct)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let png: Value = res.json().await.unwrap();
    assert_eq!(png["name"], "pixel.png");
    assert_eq!(png["content_type"], "image/png");
    let (s, list) = t.json("/api/v1/pages/docs/guide/-/files").await;
    assert_eq!(s, StatusCode::OK);
    let names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["notes.txt", "pixel.png"]);

    // Delete: to the trash, gone from the list and the addresses.
    let res = c.delete(t.url(&format!("/api/v1/files/{id}"))).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let (_, list) = t.json("/api/v1/pages/docs/guide/-/files").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    let (s, _, _) = get_bytes(&t, c, &url).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

pub(crate) fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

#[tokio::test]
async fn types_come_from_the_bytes_and_risky_ones_are_downloads() {
    let t = TestApp::with_admin().await;
    t.save("docs/a", "A").await;
    let c = &t.client;
    // A PNG named .txt is a PNG.
    let (s, f) = upload(&t, c, "docs/a", "looks-like.txt", PNG).await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(f["content_type"], "image/png");
    let (_, h, _) = get_bytes(&t, c, f["url"].as_str().unwrap()).await;
    assert_eq!(h["content-type"], "image/png");
    assert!(h["content-disposition"].to_str().unwrap().starts_with("inline"));
    // An executable is refused, and nothing is kept.
    let elf = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x02\0>\0\x01\0\0\0";
    let (s, err) = upload(&t, c, "docs/a", "tool.png", elf).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    assert_eq!(err["error"]["code"], "file_type_refused");
    assert_eq!(t.db.scalar("SELECT COUNT(*) FROM files").await, 1);
    // HTML and SVG are kept but served as downloads in a sandbox.
    for (name, bytes, ty) in [
        (
            "page.html",
            b"<!DOCTYPE html><script>alert(1)</script>".as_slice(),
            "text/html",
        ),
        (
            "logo.svg",
            b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>".as_slice(),
            "image/svg+xml",
        ),
    ] {
        let (s, f) = upload(&t, c, "docs/a", name, bytes).await;
        assert_eq!(s, StatusCode::CREATED, "{f}");
        assert_eq!(f["content_type"], ty);
        let (_, h, _) = get_bytes(&t, c, f["url"].as_str().unwrap()).await;
        assert!(
            h["content-disposition"].to_str().unwrap().starts_with("attachment"),
            "{name}"
        );
        assert!(h["content-security-policy"].to_str().unwrap().contains("sandbox"));
    }
    // Names that would leave the page's files.
    for bad in ["..", "a%2Fb", "%00x"] {
        let (s, err) = upload(&t, c, "docs/a", bad, b"x").await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {err}");
        assert_eq!(err["error"]["code"], "invalid_file_name");
    }
    // Without the headers a browser sends, a cookie upload is refused.
    let res = c
        .post(t.url("/api/v1/pages/docs/a/-/files?name=x.txt"))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn uploads_over_the_limit_are_refused_and_leave_nothing() {
    let db = std::sync::Arc::new(vellum_testkit::TestDb::new(vellum_testkit::Backend::from_env()).await);
    let t = TestApp::spawn_with(db, |c| c.files.max_bytes = 64 * 1024).await;
    t.create_user("admin", Role::Admin).await;
    t.login(&t.client, "admin").await;
    t.save("docs/a", "A").await;
    let big = vec![b'x'; 200 * 1024];
    let (code, err) = {
        let res = t
            .browser_post(&t.client, "/api/v1/pages/docs/a/-/files?name=big.txt")
            .body(big)
            .send()
            .await
            .unwrap();
        error_code(res, StatusCode::PAYLOAD_TOO_LARGE).await
    };
    assert_eq!(code, "file_too_large");
    assert_eq!(err["details"]["limit"], 64 * 1024);
    assert_eq!(t.db.scalar("SELECT COUNT(*) FROM files").await, 0);
    assert_eq!(t.db.scalar("SELECT COUNT(*) FROM blobs").await, 0);
    assert!(walk(&t.db.dir.join("tmp")).is_empty(), "no temporary file is left");
    assert!(walk(&t.db.dir.join("files")).is_empty());
    let (s, _) = upload(&t, &t.client, "docs/a", "small.txt", b"small").await;
    assert_eq!(s, StatusCode::CREATED);
}

#[tokio::test]
async fn file_references_follow_the_page_and_files_of_restricted_pages_stay_hidden() {
    let t = TestApp::with_admin().await;
    let viewer = t.client_as("val", Role::Viewer).await;
    let bob = t.client_as("bob", Role::Editor).await;
    let c = &t.client;
    t.save("docs/a", "![Pixel](file:pixel.png) and [notes](file:notes.txt)")
        .await;
    let (s, f) = upload(&t, c, "docs/a", "pixel.png", PNG).await;
    assert_eq!(s, StatusCode::CREATED);
    let html = c.get(t.url("/wiki/docs/a")).send().await.unwrap().text().await.unwrap();
    let (_, page) = t.json("/api/v1/pages/docs/a").await;
    let embed = format!("/embed/{}/pixel.png", page["id"]);
    assert!(html.contains(&format!("src=\"{embed}\"")), "{html}");
    // (No preview made: no worker runs here; see previews.rs.)
    let (s, h, body) = get_bytes(&t, &viewer, &embed).await;
    assert_eq!((s, body.as_slice()), (StatusCode::OK, PNG));
    assert!(h["cache-control"].to_str().unwrap().contains("no-cache"));
    // A missing file is a 404, not an error.
    let (s, _, _) = get_bytes(&t, c, &format!("/embed/{}/notes.txt", page["id"])).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // The page moves: the reference still shows the file.
    let res = t
        .post_json("/api/v1/pages/docs/a/-/move", json!({"to": "guides/a"}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let html = c
        .get(t.url("/wiki/guides/a"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains(&embed), "{html}");
    assert_eq!(get_bytes(&t, &viewer, &embed).await.0, StatusCode::OK);
    // Readers may download but not upload.
    let (s, _) = upload(&t, &viewer, "guides/a", "x.txt", b"x").await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // A restricted page's files answer as missing ones, everywhere.
    t.save("hr/secret", "Secret").await;
    let (s, secret) = upload(&t, c, "hr/secret", "salaries.txt", b"SECRET").await;
    assert_eq!(s, StatusCode::CREATED);
    let res = c
        .put(t.url("/api/v1/access/hr"))
        .json(&json!({"inherit": false, "rules": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let (_, hr) = t.json("/api/v1/pages/hr/secret").await;
    let sid = secret["id"].as_i64().unwrap();
    let missing = sid + 1000;
    for (restricted, absent) in [
        (format!("/api/v1/files/{sid}"), format!("/api/v1/files/{missing}")),
        (
            secret["url"].as_str().unwrap().to_owned(),
            format!("/files/{missing}/1/salaries.txt"),
        ),
        (
            format!("/embed/{}/salaries.txt", hr["id"]),
            format!("/embed/{}/salaries.txt", hr["id"].as_i64().unwrap() + 1000),
        ),
        (format!("/files/{sid}"), format!("/files/{missing}")),
    ] {
        let a = bob.get(t.url(&restricted)).send().await.unwrap();
        let b = bob.get(t.url(&absent)).send().await.unwrap();
        assert_eq!(a.status(), b.status(), "{restricted}");
        assert_eq!(a.status(), StatusCode::NOT_FOUND, "{restricted}");
        let (ta, tb) = (a.text().await.unwrap(), b.text().await.unwrap());
        // (The name in an /embed/ address is the caller's own.)
        assert!(!ta.contains("SECRET"), "{restricted}: {ta}");
        // (Both replacements on both answers: the numbers may also occur
        // in the assets' fingerprints, which are the same in both.)
        let same = |s: &str| s.replace(&missing.to_string(), "N").replace(&sid.to_string(), "N");
        assert_eq!(same(&ta), same(&tb), "{restricted}");
    }
    let (s, _) = upload(&t, &bob, "hr/secret", "x.txt", b"x").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let res = bob.get(t.url("/api/v1/pages/hr/secret/-/files")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let _ = f;
}

#[tokio::test]
async fn blobs_no_version_uses_are_collected_after_the_grace_period() {
    let t = TestApp::with_admin().await;
    t.save("tmp/page", "x").await;
    let (s, _) = upload(&t, &t.client, "tmp/page", "a.txt", b"only here").await;
    assert_eq!(s, StatusCode::CREATED);
    t.save("keep/page", "x").await;
    let (s, _) = upload(&t, &t.client, "keep/page", "b.txt", b"kept").await;
    assert_eq!(s, StatusCode::CREATED);
    // The page goes to the trash and is purged: its files go with it.
    assert_eq!(
        t.delete("/api/v1/pages/tmp/page").await.status(),
        StatusCode::NO_CONTENT
    );
    t.app
        .config()
        .clock
        .advance(std::time::Duration::from_secs(31 * 86_400));
    assert_eq!(t.app.empty_old_trash(t.app.now()).await.unwrap(), 1);
    assert_eq!(t.db.scalar("SELECT COUNT(*) FROM files").await, 1);
    assert_eq!(walk(&t.db.dir.join("files")).len(), 2);
    // Unused, but within the grace period of its upload? It was uploaded
    // 31 days ago by this clock: collected now; the used one stays.
    assert_eq!(t.app.collect_unused_blobs().await.unwrap(), 1);
    assert_eq!(t.db.scalar("SELECT COUNT(*) FROM blobs").await, 1);
    assert_eq!(walk(&t.db.dir.join("files")).len(), 1);
    assert_eq!(t.app.collect_unused_blobs().await.unwrap(), 0);
}

#[tokio::test]
async fn a_fresh_unused_blob_is_kept_for_the_grace_period() {
    let t = TestApp::with_admin().await;
    t.save("tmp/page", "x").await;
    let (s, f) = upload(&t, &t.client, "tmp/page", "a.txt", b"fresh").await;
    assert_eq!(s, StatusCode::CREATED);
    // Unused at once (its version removed by hand, as a failed upload
    // would leave it), and only an hour old.
    t.db.execute("DELETE FROM file_versions").await;
    t.db.execute("DELETE FROM files").await;
    assert_eq!(t.app.collect_unused_blobs().await.unwrap(), 0);
    t.app.config().clock.advance(std::time::Duration::from_secs(2 * 86_400));
    assert_eq!(t.app.collect_unused_blobs().await.unwrap(), 1);
    let _ = f;
}

/// A moto S3 server on loopback (`VELLUM_TEST_MOTO` names its
/// `moto_server`; `.ci/run` installs it from PyPI), with a bucket.
pub(crate) struct Moto {
    child: std::process::Child,
    pub(crate) port: u16,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) const BUCKET: &str = "vellum-test";

pub(crate) async fn moto() -> Moto {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let bin = std::env::var("VELLUM_TEST_MOTO").unwrap_or_else(|_| "moto_server".into());
    let child = std::process::Command::new(&bin)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("start {bin} ({e}): pip install 'moto[server]' and point VELLUM_TEST_MOTO at moto_server, or run .ci/run")
        });
    let m = Moto { child, port };
    let client = reqwest::Client::new();
    for _ in 0..400 {
        if let Ok(res) = client.put(format!("http://127.0.0.1:{port}/{BUCKET}")).send().await {
            assert!(res.status().is_success(), "creating the bucket: {}", res.status());
            return m;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("moto_server did not start on {port}");
}

pub(crate) fn s3(m: &Moto) -> vellum_app::StorageUrl {
    vellum_app::StorageUrl::parse(&format!(
        "s3://{BUCKET}/files?region=us-east-1&endpoint=http://127.0.0.1:{}",
        m.port
    ))
    .unwrap()
}

pub(crate) fn keys() -> vellum_app::S3Keys {
    vellum_app::S3Keys {
        access_key_id: "test".into(),
        secret_access_key: "test".into(),
    }
}

async fn on_storage(db: std::sync::Arc<vellum_testkit::TestDb>, storage: Option<vellum_app::StorageUrl>) -> TestApp {
    let t = TestApp::spawn_with(db, move |c| {
        c.files.storage = storage;
        c.files.s3_keys = Some(keys());
    })
    .await;
    t.login(&t.client, "admin").await;
    t
}

/// The objects moto holds under the wiki's prefix.
pub(crate) async fn s3_objects(m: &Moto) -> usize {
    let body = reqwest::get(format!(
        "http://127.0.0.1:{}/{BUCKET}?list-type=2&prefix=files/",
        m.port
    ))
    .await
    .unwrap()
    .text()
    .await
    .unwrap();
    body.matches("<Key>").count()
}

#[tokio::test]
async fn files_round_trip_on_s3_compatible_storage() {
    let m = moto().await;
    let db = std::sync::Arc::new(vellum_testkit::TestDb::new(vellum_testkit::Backend::from_env()).await);
    let first = TestApp::spawn_with(db.clone(), |_| {}).await;
    first.create_user("admin", Role::Admin).await;
    drop(first);
    let t = on_storage(db, Some(s3(&m))).await;
    t.save("docs/big", "Big").await;
    // Over 16 MiB: three parts of a multipart upload to S3.
    let big: Vec<u8> = (0..1_200_000u32)
        .flat_map(|i| format!("{i},{},row {i}\n", i % 97).into_bytes())
        .collect();
    assert!(big.len() > 16 * 1024 * 1024);
    let (s, f) = upload(&t, &t.client, "docs/big", "data.csv", &big).await;
    assert_eq!(s, StatusCode::CREATED, "{f}");
    assert_eq!(f["sha256"], sha(&big));
    let (s, h, body) = get_bytes(&t, &t.client, f["url"].as_str().unwrap()).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(h["content-length"], big.len().to_string().as_str());
    assert_eq!(sha(&body), sha(&big), "the bytes come back from S3");
    let res = t
        .client
        .get(t.url(f["url"].as_str().unwrap()))
        .header("range", "bytes=10000000-10000009")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(&res.bytes().await.unwrap()[..], &big[10_000_000..10_000_010]);
    // The same bytes under another name: one object.
    let (s, _) = upload(&t, &t.client, "docs/big", "copy.csv", &big).await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(s3_objects(&m).await, 1);
    // Versions and restore, from S3.
    let (s, v2) = upload(&t, &t.client, "docs/big", "data.csv", b"a,b\n1,2\n").await;
    assert_eq!((s, &v2["version"]), (StatusCode::OK, &json!(2)));
    let res = t
        .post_json(&format!("/api/v1/files/{}/-/restore", f["id"]), json!({"version": 1}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let (_, latest) = t.json(&format!("/api/v1/files/{}", f["id"])).await;
    assert_eq!((&latest["version"], &latest["sha256"]), (&json!(3), &json!(sha(&big))));
    let (_, _, body) = get_bytes(&t, &t.client, v2["url"].as_str().unwrap()).await;
    assert_eq!(body, b"a,b\n1,2\n");
    // Type checks do not depend on the storage.
    let (s, _) = upload(
        &t,
        &t.client,
        "docs/big",
        "run.png",
        b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x02\0",
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(s3_objects(&m).await, 2);
    // Purged with its page, collected after the grace period.
    assert_eq!(
        t.delete("/api/v1/pages/docs/big").await.status(),
        StatusCode::NO_CONTENT
    );
    t.app
        .config()
        .clock
        .advance(std::time::Duration::from_secs(31 * 86_400));
    t.app.empty_old_trash(t.app.now()).await.unwrap();
    assert_eq!(t.app.collect_unused_blobs().await.unwrap(), 2);
    assert_eq!(s3_objects(&m).await, 0);
}

#[tokio::test]
async fn storage_moves_between_backends_and_resumes() {
    let m = moto().await;
    let db = std::sync::Arc::new(vellum_testkit::TestDb::new(vellum_testkit::Backend::from_env()).await);
    // Local storage, with the S3 keys the migration will use.
    let first = TestApp::spawn_with(db.clone(), |c| c.files.s3_keys = Some(keys())).await;
    first.create_user("admin", Role::Admin).await;
    first.login(&first.client, "admin").await;
    first.save("docs/a", "A").await;
    let mut urls = Vec::new();
    for (name, bytes) in [("one.txt", "first"), ("two.txt", "second"), ("three.txt", "third")] {
        let (s, f) = upload(&first, &first.client, "docs/a", name, bytes.as_bytes()).await;
        assert_eq!(s, StatusCode::CREATED);
        urls.push((f["url"].as_str().unwrap().to_owned(), bytes));
    }
    let quiet = |_: u64, _: u64, _: u64| {};
    assert_eq!(first.app.migrate_storage(&s3(&m), &quiet).await.unwrap(), (3, 3));
    assert_eq!(s3_objects(&m).await, 3);
    // Run again: nothing to copy. Lose one object: only it is copied.
    assert_eq!(first.app.migrate_storage(&s3(&m), &quiet).await.unwrap(), (3, 0));
    let key = format!("files/sha256/{}", {
        let h = sha(b"second");
        format!("{}/{}/{h}", &h[..2], &h[2..4])
    });
    let res = reqwest::Client::new()
        .delete(format!("http://127.0.0.1:{}/{BUCKET}/{key}", m.port))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success());
    assert_eq!(first.app.migrate_storage(&s3(&m), &quiet).await.unwrap(), (3, 1));
    drop(first);
    // Served from S3 now, with the local copies gone.
    std::fs::remove_dir_all(db.dir.join("files")).unwrap();
    let t = on_storage(db.clone(), Some(s3(&m))).await;
    for (url, bytes) in &urls {
        let (s, _, body) = get_bytes(&t, &t.client, url).await;
        assert_eq!(s, StatusCode::OK, "{url}");
        assert_eq!(body, bytes.as_bytes());
    }
}

/// A clamd on loopback with one signature of our own (the EICAR test
/// file's hash), so no downloaded database is needed.
/// `VELLUM_TEST_CLAMD` names the clamd binary (default `clamd`; `.ci/run`
/// installs Debian's clamav-daemon).
struct Clamd {
    child: std::process::Child,
    port: u16,
}

impl Drop for Clamd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const EICAR: &[u8] = br"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";

async fn clamd(dir: &std::path::Path) -> Clamd {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let db = dir.join(format!("clamav-{port}"));
    std::fs::create_dir_all(&db).unwrap();
    std::fs::write(
        db.join("vellum-test.hdb"),
        format!("{:x}:{}:Vellum-Test-EICAR\n", md5_of(EICAR), EICAR.len()),
    )
    .unwrap();
    let conf = db.join("clamd.conf");
    std::fs::write(
        &conf,
        format!(
            "DatabaseDirectory {}\nTCPSocket {port}\nTCPAddr 127.0.0.1\nForeground yes\nStreamMaxLength 64M\n",
            db.display()
        ),
    )
    .unwrap();
    let bin = std::env::var("VELLUM_TEST_CLAMD").unwrap_or_else(|_| "clamd".into());
    let child = std::process::Command::new(&bin)
        .arg("-c")
        .arg(&conf)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("start {bin} ({e}): apt-get install clamav-daemon, or run .ci/run"));
    let c = Clamd { child, port };
    for _ in 0..600 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return c;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("clamd did not start on {port}");
}

/// MD5, which clamd's hash signatures use.
fn md5_of(data: &[u8]) -> u128 {
    use md5::Digest as _;
    u128::from_be_bytes(md5::Md5::digest(data).into())
}

#[tokio::test]
async fn malware_is_refused_and_recorded_and_clean_files_pass() {
    assert_eq!(format!("{:x}", md5_of(EICAR)), "44d88612fea8a8f36de82e1278abb02f");
    let db = std::sync::Arc::new(vellum_testkit::TestDb::new(vellum_testkit::Backend::from_env()).await);
    let scanner = clamd(&db.dir).await;
    let port = scanner.port;
    let t = TestApp::spawn_with(db, move |c| {
        c.files.clamd = Some(vellum_app::Clamd::parse(&format!("tcp://127.0.0.1:{port}")).unwrap());
    })
    .await;
    t.create_user("admin", Role::Admin).await;
    t.login(&t.client, "admin").await;
    t.save("docs/a", "A").await;
    let (s, err) = upload(&t, &t.client, "docs/a", "harmless.txt", EICAR).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    assert_eq!(err["error"]["code"], "file_infected");
    assert_eq!(err["error"]["details"]["signature"], "Vellum-Test-EICAR.UNOFFICIAL");
    assert_eq!(t.db.scalar("SELECT COUNT(*) FROM files").await, 0);
    assert_eq!(t.db.scalar("SELECT COUNT(*) FROM blobs").await, 0);
    let (s, audit) = t.json("/api/v1/audit?action=file.").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(audit["items"][0]["action"], "file.infected", "{audit}");
    assert!(audit["items"][0]["target"].as_str().unwrap().contains("harmless.txt"));
    let (s, _) = upload(&t, &t.client, "docs/a", "clean.txt", b"Nothing to see here.\n").await;
    assert_eq!(s, StatusCode::CREATED);
    // clamd gone: uploads are refused, not let through.
    drop(scanner);
    let (s, err) = upload(&t, &t.client, "docs/a", "later.txt", b"Later.\n").await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{err}");
    assert_eq!(err["error"]["code"], "scan_unavailable");
}

#[tokio::test]
async fn deleted_files_wait_in_the_trash_and_come_back() {
    let t = TestApp::with_admin().await;
    let viewer = t.client_as("val", Role::Viewer).await;
    t.save("docs/a", "A").await;
    let c = &t.client;
    let (_, f) = upload(&t, c, "docs/a", "plan.txt", b"the plan").await;
    let id = f["id"].as_i64().unwrap();
    assert_eq!(
        c.delete(t.url(&format!("/api/v1/files/{id}")))
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    let (s, trash) = t.json("/api/v1/pages/docs/a/-/files-trash").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(trash["items"][0]["name"], "plan.txt");
    // Readers cannot bring it back.
    let res = viewer
        .post(t.url(&format!("/api/v1/files/{id}/-/untrash")))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = c
        .post(t.url(&format!("/api/v1/files/{id}/-/untrash")))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let (s, _, body) = get_bytes(&t, c, f["url"].as_str().unwrap()).await;
    assert_eq!((s, body.as_slice()), (StatusCode::OK, b"the plan".as_slice()));
    // Its name taken meanwhile: it stays in the trash, with a reason.
    assert_eq!(
        c.delete(t.url(&format!("/api/v1/files/{id}")))
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    let (s, _) = upload(&t, c, "docs/a", "plan.txt", b"another plan").await;
    assert_eq!(s, StatusCode::CREATED);
    let res = c
        .post(t.url(&format!("/api/v1/files/{id}/-/untrash")))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(res, StatusCode::CONFLICT).await.0, "file_name_taken");
    // After the trash retention it is gone for good.
    t.app
        .config()
        .clock
        .advance(std::time::Duration::from_secs(31 * 86_400));
    t.app.empty_old_trash(t.app.now()).await.unwrap();
    assert_eq!(
        t.db.scalar(&format!("SELECT COUNT(*) FROM files WHERE id = {id}"))
            .await,
        0
    );
    let (_, trash) = t.json("/api/v1/pages/docs/a/-/files-trash").await;
    assert!(trash["items"].as_array().unwrap().is_empty());
}
