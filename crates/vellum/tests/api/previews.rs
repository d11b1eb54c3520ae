//! Image previews (made by a job: upright, without the original's
//! metadata, bounded in pixels, GIFs kept animated on pages), where a file
//! is used, and delivery straight from S3 by presigned addresses.

use image::{ImageEncoder, Rgb, RgbImage, Rgba, RgbaImage};
use reqwest::StatusCode;
use serde_json::{json, Value};
use vellum_app::Role;
use vellum_testkit::{error_code, TestApp};

use crate::files::{get_bytes, moto, s3, sha, upload};

/// A little-endian EXIF block: orientation 6 (turn 90° clockwise to
/// show) and a GPS directory with a latitude reference.
fn exif_with_location() -> Vec<u8> {
    let mut e = b"II\x2a\x00\x08\x00\x00\x00".to_vec();
    e.extend_from_slice(&[2, 0]);
    e.extend_from_slice(&[0x12, 0x01, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0]);
    e.extend_from_slice(&[0x25, 0x88, 4, 0, 1, 0, 0, 0, 38, 0, 0, 0]);
    e.extend_from_slice(&[0, 0, 0, 0]);
    e.extend_from_slice(&[1, 0, 0x01, 0x00, 2, 0, 2, 0, 0, 0, b'N', 0, 0, 0, 0, 0, 0, 0]);
    e
}

/// A photo as a phone stores it: 600 × 200 pixels on the sensor, red on
/// the left third, shown turned (200 × 600) by its EXIF orientation, with
/// a location.
fn photo() -> Vec<u8> {
    let img = RgbImage::from_fn(600, 200, |x, _| {
        if x < 200 {
            Rgb([230, 20, 20])
        } else {
            Rgb([20, 20, 230])
        }
    });
    let mut out = Vec::new();
    let mut enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90);
    enc.set_exif_metadata(exif_with_location()).unwrap();
    enc.write_image(img.as_raw(), 600, 200, image::ExtendedColorType::Rgb8)
        .unwrap();
    out
}

fn has_exif(bytes: &[u8]) -> bool {
    bytes.windows(6).any(|w| w == b"Exif\0\0")
}

async fn previews_made(t: &TestApp, id: &Value) -> Value {
    let url = format!("/api/v1/files/{id}");
    let w = t.app.start_workers(vellum_testkit::quick_workers());
    t.eventually(60, "the preview job runs", || async {
        let (_, f) = t.json(&url).await;
        !f["previews"]["pending"].as_bool().unwrap_or(true)
    })
    .await;
    w.stop().await;
    t.json(&url).await.1
}

#[tokio::test]
async fn images_get_upright_previews_without_their_metadata() {
    let t = TestApp::with_admin().await;
    let c = &t.client;
    t.save("trips/site-visit", "# Site visit\n\n![The roof](file:roof.jpg)")
        .await;
    let original = photo();
    assert!(has_exif(&original));
    let (s, f) = upload(&t, c, "trips/site-visit", "roof.jpg", &original).await;
    assert_eq!(s, StatusCode::CREATED, "{f}");
    let detail = previews_made(&t, &f["id"]).await;
    assert_eq!(detail["previews"]["error"], Value::Null, "{detail}");
    let items = detail["previews"]["items"].as_array().unwrap();
    let sizes: Vec<(&str, i64, i64)> = items
        .iter()
        .map(|p| {
            (
                p["size"].as_str().unwrap(),
                p["width"].as_i64().unwrap(),
                p["height"].as_i64().unwrap(),
            )
        })
        .collect();
    // Turned upright; small fits 320 px, large keeps the 600 px (no
    // enlarging).
    assert_eq!(sizes, [("large", 200, 600), ("small", 107, 320)]);
    for p in items {
        let (s, h, body) = get_bytes(&t, c, p["url"].as_str().unwrap()).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(h["content-type"], "image/jpeg");
        assert!(h["cache-control"].to_str().unwrap().contains("immutable"));
        assert!(!has_exif(&body), "no metadata in the {} preview", p["size"]);
        let img = image::load_from_memory(&body).unwrap().to_rgb8();
        assert_eq!(
            (img.width(), img.height()),
            (
                p["width"].as_u64().unwrap() as u32,
                p["height"].as_u64().unwrap() as u32
            )
        );
        // Red (the sensor's left) is at the top once turned.
        let top = img.get_pixel(img.width() / 2, 5);
        let bottom = img.get_pixel(img.width() / 2, img.height() - 5);
        assert!(top[0] > 180 && top[2] < 80, "{top:?}");
        assert!(bottom[2] > 180 && bottom[0] < 80, "{bottom:?}");
    }
    // The page shows the large preview; the original stays as uploaded.
    let (_, page) = t.json("/api/v1/pages/trips/site-visit").await;
    let (s, h, shown) = get_bytes(&t, c, &format!("/embed/{}/roof.jpg", page["id"])).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(h["content-type"], "image/jpeg");
    assert!(!has_exif(&shown));
    let large = items.iter().find(|p| p["size"] == "large").unwrap();
    assert_eq!(shown, get_bytes(&t, c, large["url"].as_str().unwrap()).await.2);
    let (_, _, back) = get_bytes(&t, c, f["url"].as_str().unwrap()).await;
    assert_eq!(sha(&back), sha(&original));
    // Lists carry the small preview.
    let (_, list) = t.json("/api/v1/pages/trips/site-visit/-/files").await;
    assert_eq!(
        list["items"][0]["preview_url"],
        json!(format!("{}?preview=small", f["url"].as_str().unwrap()))
    );
    let html = t.text_as(c, &format!("/files/{}", f["id"])).await;
    assert!(html.contains("?preview=large"), "{html}");
    assert!(html.contains("200 × 600"), "{html}");
    // The same image again, elsewhere: its previews exist already.
    let before = t.db.scalar("SELECT COUNT(*) FROM previews").await;
    t.save("trips/copy", "x").await;
    let (s, g) = upload(&t, c, "trips/copy", "same.jpg", &original).await;
    assert_eq!(s, StatusCode::CREATED);
    let again = previews_made(&t, &g["id"]).await;
    assert_eq!(again["previews"]["items"].as_array().unwrap().len(), 2);
    assert_eq!(t.db.scalar("SELECT COUNT(*) FROM previews").await, before);
}

#[tokio::test]
async fn images_without_previews_say_why_and_other_files_have_none() {
    let t = TestApp::with_admin().await;
    let c = &t.client;
    t.save("media/odd", "![bomb](file:huge.png)").await;
    // A PNG claiming 100,000 × 100,000 pixels, a few dozen bytes long.
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = b"IHDR".to_vec();
    ihdr.extend_from_slice(&100_000u32.to_be_bytes());
    ihdr.extend_from_slice(&100_000u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    png.extend_from_slice(&13u32.to_be_bytes());
    png.extend_from_slice(&ihdr);
    png.extend_from_slice(&crc32(&ihdr).to_be_bytes());
    for chunk in [&b"IDAT"[..], b"IEND"] {
        png.extend_from_slice(&0u32.to_be_bytes());
        png.extend_from_slice(chunk);
        png.extend_from_slice(&crc32(chunk).to_be_bytes());
    }
    let (s, f) = upload(&t, c, "media/odd", "huge.png", &png).await;
    assert_eq!(s, StatusCode::CREATED, "{f}");
    let detail = previews_made(&t, &f["id"]).await;
    let why = detail["previews"]["error"].as_str().unwrap();
    assert!(why.contains("100000 × 100000 pixels"), "{why}");
    assert_eq!(detail["previews"]["items"], json!([]));
    let html = t.text_as(c, &format!("/files/{}", f["id"])).await;
    assert!(html.contains("more than the limit of 50 million"), "{html}");
    // Asking for its preview gives the file itself, not cached for good.
    let (s, h, body) = get_bytes(&t, c, &format!("{}?preview=small", f["url"].as_str().unwrap())).await;
    assert_eq!((s, body), (StatusCode::OK, png));
    assert!(h["cache-control"].to_str().unwrap().contains("no-cache"));

    // Not an image: no previews, and asking for one is a clear 404.
    let (s, txt) = upload(&t, c, "media/odd", "notes.txt", b"just text").await;
    assert_eq!(s, StatusCode::CREATED);
    let (_, d) = t.json(&format!("/api/v1/files/{}", txt["id"])).await;
    assert_eq!(d["previews"], json!({"items": [], "error": null, "pending": false}));
    let url = txt["url"].as_str().unwrap();
    let res = c.get(t.url(&format!("{url}?preview=small"))).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = c.get(t.url(&format!("{url}?preview=huge"))).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.text().await.unwrap().contains("small"));
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[tokio::test]
async fn animated_gifs_stay_animated_on_pages_and_previews_go_with_their_image() {
    let t = TestApp::with_admin().await;
    let c = &t.client;
    t.save("fun/spinner", "![Spinner](file:spin.gif)").await;
    let mut gif = Vec::new();
    {
        let mut enc = image::codecs::gif::GifEncoder::new(&mut gif);
        for colour in [[255, 0, 0, 255], [0, 255, 0, 255], [0, 0, 255, 255]] {
            enc.encode_frame(image::Frame::from_parts(
                RgbaImage::from_pixel(40, 40, Rgba(colour)),
                0,
                0,
                image::Delay::from_numer_denom_ms(80, 1),
            ))
            .unwrap();
        }
    }
    let (s, f) = upload(&t, c, "fun/spinner", "spin.gif", &gif).await;
    assert_eq!(s, StatusCode::CREATED, "{f}");
    let detail = previews_made(&t, &f["id"]).await;
    assert_eq!(detail["previews"]["items"].as_array().unwrap().len(), 2, "{detail}");
    // The page shows the GIF itself, all three frames.
    let (_, page) = t.json("/api/v1/pages/fun/spinner").await;
    let (s, h, shown) = get_bytes(&t, c, &format!("/embed/{}/spin.gif", page["id"])).await;
    assert_eq!((s, &h["content-type"]), (StatusCode::OK, &"image/gif".parse().unwrap()));
    assert_eq!(shown, gif);
    // Collected with the image once nothing uses it: the image, then its
    // previews, leaving no blob and no stored byte behind.
    // (Both previews of so small an image are the same bytes: one blob.)
    assert_eq!(t.db.scalar("SELECT COUNT(*) FROM blobs").await, 2);
    assert_eq!(
        t.delete("/api/v1/pages/fun/spinner").await.status(),
        StatusCode::NO_CONTENT
    );
    t.app
        .config()
        .clock
        .advance(std::time::Duration::from_secs(31 * 86_400));
    t.app.empty_old_trash(t.app.now()).await.unwrap();
    assert_eq!(t.app.collect_unused_blobs().await.unwrap(), 2);
    assert_eq!(t.db.scalar("SELECT COUNT(*) FROM blobs").await, 0);
    assert_eq!(t.db.scalar("SELECT COUNT(*) FROM previews").await, 0);
    assert_eq!(crate::files::walk(&t.db.dir.join("files")).len(), 0);
}

#[tokio::test]
async fn a_files_page_lists_the_pages_that_use_it_that_the_reader_may_read() {
    let t = TestApp::with_admin().await;
    let bob = t.client_as("bob", Role::Editor).await;
    let c = &t.client;
    t.save("arch/overview", "# Overview\n\n![Diagram](file:system.png)")
        .await;
    let (s, f) = upload(&t, c, "arch/overview", "system.png", &photo()).await;
    assert_eq!(s, StatusCode::CREATED);
    let id = f["id"].as_i64().unwrap();
    t.save(
        "ops/runbook",
        &format!("See [the diagram](/files/{id}/latest/system.png)."),
    )
    .await;
    t.save("hr/reorg", &format!("![](/files/{id}/1/system.png)")).await;
    t.save("misc/unrelated", "[other](file:system.png)").await; // its own, absent file
    let res = c
        .put(t.url("/api/v1/access/hr"))
        .json(&json!({"inherit": false, "rules": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let used = |v: &Value| -> Vec<String> {
        v["used_by"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["path"].as_str().unwrap().to_owned())
            .collect()
    };
    let (_, d) = t.json(&format!("/api/v1/files/{id}")).await;
    assert_eq!(used(&d), ["arch/overview", "hr/reorg", "ops/runbook"]);
    let d: Value = bob
        .get(t.url(&format!("/api/v1/files/{id}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(used(&d), ["arch/overview", "ops/runbook"], "no restricted page");
    let html = t.text_as(&bob, &format!("/files/{id}")).await;
    assert!(html.contains("Used on") && html.contains("/wiki/ops/runbook"), "{html}");
    assert!(!html.contains("reorg"), "{html}");
    // An edit that drops the reference, and a page in the trash, drop out.
    t.save("ops/runbook", "No diagram any more.").await;
    assert_eq!(
        t.delete("/api/v1/pages/hr/reorg").await.status(),
        StatusCode::NO_CONTENT
    );
    let (_, d) = t.json(&format!("/api/v1/files/{id}")).await;
    assert_eq!(used(&d), ["arch/overview"]);
}

#[tokio::test]
async fn signed_addresses_send_readers_straight_to_s3() {
    let m = moto().await;
    let db = std::sync::Arc::new(vellum_testkit::TestDb::new(vellum_testkit::Backend::from_env()).await);
    let storage = s3(&m);
    let t = TestApp::spawn_with(db, move |c| {
        c.files.storage = Some(storage);
        c.files.s3_keys = Some(crate::files::keys());
        c.files.signed_url_secs = Some(120);
    })
    .await;
    t.create_user("admin", Role::Admin).await;
    t.login(&t.client, "admin").await;
    let c = &t.client;
    t.save("docs/pics", "![p](file:p.jpg)").await;
    let original = photo();
    let (s, f) = upload(&t, c, "docs/pics", "p.jpg", &original).await;
    assert_eq!(s, StatusCode::CREATED, "{f}");
    let res = c.get(t.url(f["url"].as_str().unwrap())).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FOUND);
    assert_eq!(res.headers()["cache-control"], "private, no-store");
    let to = res.headers()["location"].to_str().unwrap().to_owned();
    assert!(to.starts_with(&format!("http://127.0.0.1:{}/", m.port)), "{to}");
    assert!(
        to.contains("X-Amz-Signature=") && to.contains("X-Amz-Expires=120"),
        "{to}"
    );
    let direct = reqwest::get(&to).await.unwrap();
    assert_eq!(direct.status(), StatusCode::OK);
    assert_eq!(direct.headers()["content-type"], "image/jpeg");
    assert_eq!(sha(&direct.bytes().await.unwrap()), sha(&original));
    // Previews and page images go the same way.
    let detail = previews_made(&t, &f["id"]).await;
    let small = detail["previews"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["size"] == "small")
        .unwrap()["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = c.get(t.url(&small)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FOUND);
    let direct = reqwest::get(res.headers()["location"].to_str().unwrap()).await.unwrap();
    assert_eq!(direct.headers()["content-type"], "image/jpeg");
    // A download keeps its name: Vellum delivers it.
    let (s, z) = upload(&t, c, "docs/pics", "data.csv", b"a,b\n1,2\n").await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, h, body) = get_bytes(&t, c, z["url"].as_str().unwrap()).await;
    assert_eq!((s, body.as_slice()), (StatusCode::OK, &b"a,b\n1,2\n"[..]));
    assert!(h["content-disposition"].to_str().unwrap().contains("data.csv"));
    // Who may not read the page gets no address at all.
    let res = c
        .put(t.url("/api/v1/access/docs"))
        .json(&json!({"inherit": false, "rules": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let anon = t.client_as("val", Role::Viewer).await;
    let res = anon.get(t.url(f["url"].as_str().unwrap())).send().await.unwrap();
    assert!(res.headers().get("location").is_none());
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = anon
        .get(t.url(&format!("/api/v1/files/{}", f["id"])))
        .send()
        .await
        .unwrap();
    let (code, _) = error_code(res, StatusCode::NOT_FOUND).await;
    assert_eq!(code, "file_not_found");
}
