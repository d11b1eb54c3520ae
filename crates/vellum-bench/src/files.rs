//! The file benchmark (`vellum-bench --files`): a `vellum serve` process
//! with local file storage, driven over loopback.
//!
//! - **Upload**: one file of `--file-mib` MiB streamed in one request
//!   (text, so the type check accepts it); MB/s, and the server's resident
//!   memory sampled every 50 ms during it (it should stay flat: the body
//!   goes to disk as it arrives).
//! - **Download**: the same file back; MB/s.
//! - **Concurrent uploads**: 50 clients each upload a different 10 MiB
//!   file at once; total MB/s and the server's peak resident memory.
//! - **Previews**: `--preview-images` different 12-megapixel JPEG photos
//!   uploaded one after another; the time until the server's preview job
//!   has made every preview (images/s and megapixels/s).
//!
//! With `--moto PATH` all of it runs a second time per database backend
//! with the files on S3-compatible storage (moto's server on loopback).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use futures_util::StreamExt;
use serde::Serialize;

use crate::server::{free_port, Target};
use crate::Args;

const CONCURRENT: usize = 50;
const CONCURRENT_MIB: usize = 10;
const CHUNK: usize = 256 * 1024;

#[derive(Debug, Serialize)]
pub struct FilesResult {
    pub backend: String,
    /// `file` (local, the default) or `s3` (moto on loopback).
    pub storage: String,
    pub file_mib: usize,
    pub upload_mb_per_s: f64,
    pub download_mb_per_s: f64,
    /// The server's resident memory before and at most during the upload.
    pub rss_before_mib: f64,
    pub rss_during_upload_max_mib: f64,
    pub concurrent_uploads: usize,
    pub concurrent_mib_each: usize,
    pub concurrent_mb_per_s: f64,
    /// Peak resident memory of the server over the uploads and downloads
    /// (VmHWM before the previews).
    pub peak_rss_mib: f64,
    /// Peak resident memory at the end, previews included.
    pub peak_rss_with_previews_mib: f64,
    pub preview_images: usize,
    pub preview_megapixels_each: f64,
    pub previews_images_per_s: f64,
    pub previews_megapixels_per_s: f64,
}

/// A moto S3 server on loopback, with the bench's bucket.
struct Moto {
    child: std::process::Child,
    port: u16,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start_moto(bin: &std::path::Path) -> anyhow::Result<Moto> {
    let port = free_port()?;
    let child = std::process::Command::new(bin)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    let m = Moto { child, port };
    let client = reqwest::Client::new();
    for _ in 0..400 {
        if let Ok(res) = client.put(format!("http://127.0.0.1:{port}/bench")).send().await {
            anyhow::ensure!(res.status().is_success(), "creating the bucket: {}", res.status());
            return Ok(m);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bail!("moto_server did not start on port {port}")
}

const PHOTO_W: u32 = 4000;
const PHOTO_H: u32 = 3000;

/// A 12-megapixel photo-like JPEG (gradients and texture), different for
/// each `seed`.
fn photo(seed: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(PHOTO_W, PHOTO_H, |x, y| {
        let n = (x.wrapping_mul(7919) ^ y.wrapping_mul(104_729) ^ seed.wrapping_mul(2_654_435_761)) % 23;
        image::Rgb([
            ((x * 255 / PHOTO_W) as u8).wrapping_add(n as u8),
            ((y * 255 / PHOTO_H) as u8).wrapping_add(seed as u8),
            (((x + y) / 31) as u8) ^ (n as u8),
        ])
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85)
        .encode_image(&img)
        .expect("encode a JPEG in memory");
    out
}

pub fn main(args: &Args) -> anyhow::Result<()> {
    let runtime = crate::runtime()?;
    std::fs::create_dir_all(&args.out)?;
    let bin = crate::vellum_bin(args)?;
    eprintln!("== making {} photos for the preview measurement", args.preview_images);
    let photos: Vec<Vec<u8>> = (0..args.preview_images as u32).map(photo).collect();
    let moto = match &args.moto {
        Some(bin) => Some(runtime.block_on(start_moto(bin))?),
        None => None,
    };
    let mut results = Vec::new();
    for backend in crate::backends(args)? {
        let mut storages = vec![None];
        if let Some(m) = &moto {
            storages.push(Some(m.port));
        }
        for s3 in storages {
            let storage = if s3.is_some() { "s3" } else { "file" };
            eprintln!("== files on {backend}, {storage} storage");
            let r = runtime.block_on(run(args, &bin, backend, s3, &photos))?;
            eprintln!(
                "   upload {:.0} MB/s (RSS {:.0} → at most {:.0} MiB), download {:.0} MB/s; {} × {} MiB at once: {:.0} MB/s, peak RSS {:.0} MiB; previews {:.2} images/s ({:.1} MP/s, peak RSS {:.0} MiB)",
                r.upload_mb_per_s,
                r.rss_before_mib,
                r.rss_during_upload_max_mib,
                r.download_mb_per_s,
                r.concurrent_uploads,
                r.concurrent_mib_each,
                r.concurrent_mb_per_s,
                r.peak_rss_mib,
                r.previews_images_per_s,
                r.previews_megapixels_per_s,
                r.peak_rss_with_previews_mib
            );
            results.push(r);
        }
    }
    drop(moto);
    std::fs::write(args.out.join("files.json"), serde_json::to_string_pretty(&results)?)?;
    let mut md = String::from(
        "| backend | storage | upload (MiB) | upload MB/s | RSS before → max during upload | download MB/s | 50 × 10 MiB at once, MB/s | peak RSS | previews (12 MP photos) | peak RSS with previews |\n|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for r in &results {
        md.push_str(&format!(
            "| {} | {} | {} | {:.0} | {:.0} → {:.0} MiB | {:.0} | {:.0} | {:.0} MiB | {:.2} images/s ({:.1} MP/s) | {:.0} MiB |\n",
            r.backend,
            r.storage,
            r.file_mib,
            r.upload_mb_per_s,
            r.rss_before_mib,
            r.rss_during_upload_max_mib,
            r.download_mb_per_s,
            r.concurrent_mb_per_s,
            r.peak_rss_mib,
            r.previews_images_per_s,
            r.previews_megapixels_per_s,
            r.peak_rss_with_previews_mib
        ));
    }
    std::fs::write(args.out.join("files.md"), &md)?;
    println!("{md}");
    Ok(())
}

fn rss_mib(pid: u32, field: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with(field))?.to_owned();
            line.split_whitespace().nth(1)?.parse::<f64>().ok()
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

/// A text body of `mib` MiB, made as it is sent (`seed` makes it unique).
fn body(mib: usize, seed: u64) -> reqwest::Body {
    let total = mib * 1024 * 1024;
    let line = format!("{seed:020} the quick brown fox jumps over the lazy dog 0123456789\n");
    let block: Vec<u8> = line.as_bytes().iter().copied().cycle().take(CHUNK).collect();
    let block = bytes::Bytes::from(block);
    let chunks = total.div_ceil(CHUNK);
    let stream = futures_util::stream::iter((0..chunks).map(move |i| {
        let len = if i + 1 == chunks { total - i * CHUNK } else { CHUNK };
        Ok::<_, std::io::Error>(block.slice(..len))
    }));
    reqwest::Body::wrap_stream(stream)
}

async fn run(
    args: &Args,
    bin: &std::path::Path,
    backend: &str,
    s3: Option<u16>,
    photos: &[Vec<u8>],
) -> anyhow::Result<FilesResult> {
    let storage = if s3.is_some() { "s3" } else { "file" };
    let work = std::env::temp_dir().join(format!("vellum-files-bench-{backend}-{storage}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work)?;
    let pg_name = format!("vellum_files_bench_{storage}_{}", std::process::id());
    let database_url = match backend {
        "sqlite" => format!("sqlite://{}/vellum.db", work.display()),
        _ => crate::fresh_pg(&args.pg_url, &pg_name).await?,
    };
    // Room for the large upload (the default limit is 1 GiB).
    let config = work.join("vellum.toml");
    let mut toml = format!("[files]\nmax_upload_mib = {}\n", (args.file_mib + 1).max(1024));
    if let Some(port) = s3 {
        // A fresh prefix per run, so nothing is shared between runs.
        toml.push_str(&format!(
            "storage = \"s3://bench/{backend}-{}?region=us-east-1&endpoint=http://127.0.0.1:{port}\"\n\
             s3_access_key_id = \"bench\"\ns3_secret_access_key = \"bench\"\n",
            std::process::id()
        ));
    }
    std::fs::write(&config, toml)?;
    let target = Target {
        bin: bin.to_owned(),
        data_dir: work.clone(),
        database_url,
        port: free_port()?,
        sqlite_synchronous: None,
        config: Some(config),
    };
    target.create_admin("bench", "bench-password-1")?;
    let (server, _) = target.start().await?;
    let pid = server.child.id();
    let client = reqwest::Client::builder().cookie_store(true).build()?;
    let base = server.base.clone();
    let res = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&serde_json::json!({"username": "bench", "password": "bench-password-1"}))
        .send()
        .await?;
    if !res.status().is_success() {
        bail!("signing in failed: {}", res.status());
    }
    let token: serde_json::Value = client
        .post(format!("{base}/api/v1/tokens"))
        .json(&serde_json::json!({"name": "bench", "scopes": ["read", "write"]}))
        .send()
        .await?
        .json()
        .await?;
    let token = token["token"].as_str().context("a token")?.to_owned();
    let api = reqwest::Client::new();
    let auth = format!("Bearer {token}");
    let res = api
        .put(format!("{base}/api/v1/pages/bench/files"))
        .header("authorization", &auth)
        .json(&serde_json::json!({"markdown": "Files benchmark"}))
        .send()
        .await?;
    if !res.status().is_success() {
        bail!("creating the page failed: {}", res.status());
    }

    // One large upload, memory sampled meanwhile.
    let rss_before = rss_mib(pid, "VmRSS:");
    let max_rss = Arc::new(AtomicU64::new(0));
    let sampling = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let sampler = {
        let (max_rss, sampling) = (max_rss.clone(), sampling.clone());
        tokio::spawn(async move {
            while sampling.load(Ordering::Relaxed) {
                let r = (rss_mib(pid, "VmRSS:") * 1024.0) as u64;
                max_rss.fetch_max(r, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };
    let mib = args.file_mib;
    let started = Instant::now();
    let res = api
        .post(format!("{base}/api/v1/pages/bench/files/-/files?name=big.txt"))
        .header("authorization", &auth)
        .body(body(mib, 1))
        .send()
        .await?;
    let status = res.status();
    let file: serde_json::Value = res.json().await?;
    let upload_s = started.elapsed().as_secs_f64();
    sampling.store(false, Ordering::Relaxed);
    let _ = sampler.await;
    if !status.is_success() {
        bail!("the upload failed: {status} {file}");
    }
    let bytes = (mib * 1024 * 1024) as f64;

    // The same bytes back.
    let url = file["url"].as_str().context("a url")?;
    let started = Instant::now();
    let res = api
        .get(format!("{base}{url}"))
        .header("authorization", &auth)
        .send()
        .await?;
    let mut stream = res.bytes_stream();
    let mut got = 0usize;
    while let Some(chunk) = stream.next().await {
        got += chunk?.len();
    }
    let download_s = started.elapsed().as_secs_f64();
    if got != mib * 1024 * 1024 {
        bail!("the download brought {got} bytes, not {}", mib * 1024 * 1024);
    }

    // Fifty different uploads at once.
    let started = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..CONCURRENT {
        let (api, auth, base) = (api.clone(), auth.clone(), base.clone());
        tasks.push(tokio::spawn(async move {
            let res = api
                .post(format!("{base}/api/v1/pages/bench/files/-/files?name=part-{i}.txt"))
                .header("authorization", &auth)
                .body(body(CONCURRENT_MIB, 100 + i as u64))
                .send()
                .await?;
            anyhow::ensure!(res.status().is_success(), "upload {i}: {}", res.status());
            Ok::<_, anyhow::Error>(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let concurrent_s = started.elapsed().as_secs_f64();
    let peak = server.peak_rss_mib().unwrap_or(0.0);

    // Photos one after another; then wait for the last preview.
    let started = Instant::now();
    let mut ids = Vec::new();
    for (i, bytes) in photos.iter().enumerate() {
        let res = api
            .post(format!("{base}/api/v1/pages/bench/files/-/files?name=photo-{i}.jpg"))
            .header("authorization", &auth)
            .body(bytes.clone())
            .send()
            .await?;
        anyhow::ensure!(res.status().is_success(), "photo {i}: {}", res.status());
        let f: serde_json::Value = res.json().await?;
        ids.push(f["id"].as_i64().context("a file id")?);
    }
    for id in &ids {
        loop {
            let f: serde_json::Value = api
                .get(format!("{base}/api/v1/files/{id}"))
                .header("authorization", &auth)
                .send()
                .await?
                .json()
                .await?;
            if let Some(e) = f["previews"]["error"].as_str() {
                bail!("no preview of photo {id}: {e}");
            }
            if f["previews"]["pending"] == serde_json::Value::Bool(false) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let previews_s = started.elapsed().as_secs_f64();
    let megapixels = f64::from(PHOTO_W * PHOTO_H) / 1e6;
    let peak_previews = server.peak_rss_mib().unwrap_or(0.0);
    server.stop()?;
    let _ = std::fs::remove_dir_all(&work);
    if backend == "postgres" {
        crate::drop_pg(&args.pg_url, &pg_name).await?;
    }
    Ok(FilesResult {
        backend: backend.to_owned(),
        storage: storage.to_owned(),
        peak_rss_with_previews_mib: peak_previews,
        preview_images: photos.len(),
        preview_megapixels_each: megapixels,
        previews_images_per_s: photos.len() as f64 / previews_s,
        previews_megapixels_per_s: photos.len() as f64 * megapixels / previews_s,
        file_mib: mib,
        upload_mb_per_s: bytes / 1e6 / upload_s,
        download_mb_per_s: bytes / 1e6 / download_s,
        rss_before_mib: rss_before,
        rss_during_upload_max_mib: max_rss.load(Ordering::Relaxed) as f64 / 1024.0,
        concurrent_uploads: CONCURRENT,
        concurrent_mib_each: CONCURRENT_MIB,
        concurrent_mb_per_s: (CONCURRENT * CONCURRENT_MIB * 1024 * 1024) as f64 / 1e6 / concurrent_s,
        peak_rss_mib: peak,
    })
}
