//! Image previews: smaller copies of uploaded images, made by a job after
//! the upload commits, in two sizes (`small` for lists and the file's
//! page, `large` for pages that show the image).
//!
//! A preview is made from the image's pixels only: EXIF orientation is
//! applied to them, and nothing of the original's metadata (camera,
//! location, comments) is written into the copy. Images with more pixels
//! than the limit are not decoded at all (the size comes from the header,
//! before any pixel is allocated), and the decoder's allocations are
//! bounded as well, so a small file claiming a huge image cannot exhaust
//! memory. Animated GIFs are previewed by their first frame; pages show
//! the GIF itself, so it stays animated. Previews are blobs like any
//! other, keyed by their source's hash: the same image uploaded twice is
//! previewed once, and the blob collection removes previews with their
//! source.

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::codecs::webp::WebPEncoder;
use image::imageops::FilterType;
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageReader, Limits};
use sha2::{Digest, Sha256};
use vellum_store::files::{self as store, PreviewBlob, PreviewRecord};

use crate::jobs::{JobError, JobSpec};
use crate::{App, AppError, AppResult, FileContent};

pub(crate) const PREVIEW: &str = "files.preview";
pub(crate) const MEDIA_QUEUE: &str = "media";

/// The default limit on an image's pixels (width × height).
pub const DEFAULT_MAX_PIXELS: u64 = 50_000_000;
/// Images stored larger than this are not previewed (they are read into
/// memory to be decoded).
const MAX_SOURCE_BYTES: u64 = 256 * 1024 * 1024;
const JPEG_QUALITY: u8 = 82;

/// A preview size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PreviewSize {
    /// Fits in 320 × 320 pixels.
    Small,
    /// Fits in 1600 × 1600 pixels.
    Large,
}

impl PreviewSize {
    pub const ALL: [PreviewSize; 2] = [PreviewSize::Small, PreviewSize::Large];

    pub fn name(self) -> &'static str {
        match self {
            PreviewSize::Small => "small",
            PreviewSize::Large => "large",
        }
    }

    pub fn parse(raw: &str) -> Option<PreviewSize> {
        PreviewSize::ALL.into_iter().find(|s| s.name() == raw)
    }

    /// The longest edge, in pixels.
    pub fn edge(self) -> u32 {
        match self {
            PreviewSize::Small => 320,
            PreviewSize::Large => 1600,
        }
    }
}

/// The image types previews are made of.
pub(crate) fn previewable(content_type: &str) -> bool {
    matches!(content_type, "image/png" | "image/jpeg" | "image/gif" | "image/webp")
}

/// A preview as readers see it.
#[derive(Debug, Clone)]
pub struct PreviewView {
    pub size: &'static str,
    pub url: String,
    pub width: i64,
    pub height: i64,
    pub content_type: String,
}

/// The previews of a file's version: made ones, or why there are none.
#[derive(Debug, Clone, Default)]
pub struct Previews {
    pub made: Vec<PreviewView>,
    /// Why no preview could be made (too many pixels, a damaged image).
    pub error: Option<String>,
    /// Previews are still to be made.
    pub pending: bool,
}

/// One encoded preview.
#[derive(Debug)]
pub(crate) struct Made {
    pub size: PreviewSize,
    pub bytes: Vec<u8>,
    pub width: u32,
    pub height: u32,
    pub content_type: &'static str,
}

/// Decodes an image (within the limits above) with its pixels upright.
fn decode(data: &[u8], max_pixels: u64) -> Result<DynamicImage, String> {
    let reader = ImageReader::new(Cursor::new(data))
        .with_guessed_format()
        .map_err(|e| format!("The image could not be read ({e})."))?;
    let mut decoder = reader
        .into_decoder()
        .map_err(|e| format!("The image could not be read ({e})."))?;
    let (w, h) = decoder.dimensions();
    let pixels = u64::from(w) * u64::from(h);
    if pixels > max_pixels {
        return Err(format!(
            "The image has {w} × {h} pixels, more than the limit of {} million, so no preview is made.",
            max_pixels / 1_000_000
        ));
    }
    let mut limits = Limits::default();
    // Room for the pixels at 16 bits per channel, with alpha.
    limits.max_alloc = Some(max_pixels.saturating_mul(8).max(64 * 1024 * 1024));
    decoder
        .set_limits(limits)
        .map_err(|e| format!("The image is too large to preview ({e})."))?;
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let mut img = DynamicImage::from_decoder(decoder).map_err(|e| format!("The image could not be decoded ({e})."))?;
    img.apply_orientation(orientation);
    Ok(img)
}

/// Encodes a preview: JPEG for opaque images, lossless WebP for images
/// with transparency. Neither carries any metadata.
/// `img` made to fit in `edge` × `edge` (never enlarged). Downscaling
/// averages the source pixels under each target pixel (`thumbnail`: no
/// floating-point copy of the image, which would be several times its
/// size); a small reduction takes the triangle filter instead.
fn fit(img: &DynamicImage, edge: u32) -> Option<DynamicImage> {
    if img.width() <= edge && img.height() <= edge {
        return None;
    }
    if img.width().max(img.height()) >= edge * 2 {
        Some(img.thumbnail(edge, edge))
    } else {
        Some(img.resize(edge, edge, FilterType::Triangle))
    }
}

fn encode(img: &DynamicImage, size: PreviewSize) -> Result<Made, String> {
    let mut bytes = Vec::new();
    let failed = |e: image::ImageError| format!("The preview could not be written ({e}).");
    let content_type = if img.color().has_alpha() {
        let rgba = img.to_rgba8();
        WebPEncoder::new_lossless(&mut bytes)
            .encode(
                rgba.as_raw(),
                rgba.width(),
                rgba.height(),
                image::ExtendedColorType::Rgba8,
            )
            .map_err(failed)?;
        "image/webp"
    } else {
        let rgb = img.to_rgb8();
        JpegEncoder::new_with_quality(&mut bytes, JPEG_QUALITY)
            .encode_image(&rgb)
            .map_err(failed)?;
        "image/jpeg"
    };
    Ok(Made {
        size,
        bytes,
        width: img.width(),
        height: img.height(),
        content_type,
    })
}

/// Every preview of an image, or why there can be none.
pub(crate) fn make_previews(data: &[u8], max_pixels: u64) -> Result<Vec<Made>, String> {
    let img = decode(data, max_pixels)?;
    // The large one first, from the image; the small one from the large
    // one (far fewer pixels to average), and the full image freed first.
    let large = fit(&img, PreviewSize::Large.edge());
    let large = match large {
        Some(l) => {
            drop(img);
            l
        }
        None => img,
    };
    let small = fit(&large, PreviewSize::Small.edge());
    Ok(vec![
        encode(small.as_ref().unwrap_or(&large), PreviewSize::Small)?,
        encode(&large, PreviewSize::Large)?,
    ])
}

/// A request to the preview thread: an image's bytes, the pixel limit,
/// and where to answer.
type Request = (
    bytes::Bytes,
    u64,
    tokio::sync::oneshot::Sender<Result<Vec<Made>, String>>,
);

/// Makes previews on one thread of its own, one image after another,
/// whatever the worker concurrency: a 12-megapixel photo takes about
/// 100 MiB while it is decoded, and a single thread reuses that memory
/// (decodes spread over many threads each keep their own allocator arena,
/// and the process grows by one image per thread).
async fn make_previews_in_turn(data: bytes::Bytes, max_pixels: u64) -> AppResult<Result<Vec<Made>, String>> {
    static THREAD: std::sync::OnceLock<std::sync::Mutex<std::sync::mpsc::Sender<Request>>> = std::sync::OnceLock::new();
    let sender = THREAD.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel::<Request>();
        let spawned = std::thread::Builder::new()
            .name("vellum-previews".into())
            .spawn(move || {
                for (data, max, answer) in rx {
                    // A decoder bug must not take the thread down.
                    let made = std::panic::catch_unwind(|| make_previews(&data, max))
                        .unwrap_or_else(|_| Err("The image could not be decoded (the decoder failed).".into()));
                    let _ = answer.send(made);
                }
            });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "the preview thread could not be started");
        }
        std::sync::Mutex::new(tx)
    });
    let (tx, rx) = tokio::sync::oneshot::channel();
    sender
        .lock()
        .map_err(|_| AppError::bug("the preview thread's queue is poisoned"))?
        .send((data, max_pixels, tx))
        .map_err(|_| AppError::bug("the preview thread is gone"))?;
    rx.await.map_err(|_| AppError::bug("the preview thread stopped"))
}

pub(crate) fn preview_job(sha256: &str) -> JobSpec {
    JobSpec::new(PREVIEW, serde_json::json!({ "sha256": sha256 }))
        .queue(MEDIA_QUEUE)
        .unique(format!("preview:{sha256}"))
        .attempts(5)
}

fn preview_url(version_url: &str, size: &str) -> String {
    format!("{version_url}?preview={size}")
}

impl App {
    pub(crate) fn register_preview_jobs(&self) {
        self.register_job(PREVIEW, MEDIA_QUEUE, |app: App, job| async move {
            let sha = job
                .payload
                .get("sha256")
                .and_then(|v| v.as_str())
                .ok_or_else(|| JobError::Permanent("the job names no blob".into()))?
                .to_owned();
            app.make_previews(&sha).await.map_err(JobError::from)
        });
    }

    /// Makes the previews of blob `sha256` (nothing when they exist).
    pub(crate) async fn make_previews(&self, sha256: &str) -> AppResult<()> {
        let (have, size) = {
            let mut conn = self.0.store.read().await?;
            let have = store::previews_of(&mut conn, sha256).await?;
            (have, self.0.blobs.size_of(sha256).await?)
        };
        if have.len() == PreviewSize::ALL.len() {
            return Ok(());
        }
        let Some(size) = size else {
            // The blob went away (collected): nothing to preview.
            return Ok(());
        };
        let outcome = if size > MAX_SOURCE_BYTES {
            Err(format!(
                "The image is larger than {} MiB, so no preview is made.",
                MAX_SOURCE_BYTES / (1024 * 1024)
            ))
        } else {
            // One image in memory at a time, read when its turn comes.
            static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
            let _turn = TURN.lock().await;
            let data = self.0.blobs.read_all(sha256).await?;
            make_previews_in_turn(data, self.0.config.files.max_pixels).await?
        };
        let records: Vec<PreviewRecord> = match outcome {
            Ok(made) => {
                let mut records = Vec::new();
                for m in made {
                    let sha = hex::encode(Sha256::digest(&m.bytes));
                    let bytes = i64::try_from(m.bytes.len()).unwrap_or(i64::MAX);
                    if !self.0.blobs.exists(&sha).await? {
                        self.0.blobs.put_bytes(&sha, m.bytes.into(), m.content_type).await?;
                    }
                    records.push(PreviewRecord {
                        size: m.size.name().to_owned(),
                        made: Ok(PreviewBlob {
                            sha256: sha,
                            bytes,
                            width: i64::from(m.width),
                            height: i64::from(m.height),
                            content_type: m.content_type.to_owned(),
                        }),
                    });
                }
                records
            }
            Err(why) => {
                tracing::info!(blob = sha256, reason = %why, "no preview made");
                PreviewSize::ALL
                    .into_iter()
                    .map(|s| PreviewRecord {
                        size: s.name().to_owned(),
                        made: Err(why.clone()),
                    })
                    .collect()
            }
        };
        let mut tx = self.0.store.begin().await?;
        let now = self.now();
        for r in &records {
            if let Ok(b) = &r.made {
                store::put_blob(&mut tx, &b.sha256, b.bytes, now).await?;
            }
            store::put_preview(&mut tx, sha256, r, now).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The previews of a version with bytes `sha256` and type
    /// `content_type`, at `version_url` (after the caller's read check).
    pub(crate) async fn previews_for(
        &self,
        sha256: &str,
        content_type: &str,
        version_url: &str,
    ) -> AppResult<Previews> {
        if !previewable(content_type) {
            return Ok(Previews::default());
        }
        let rows = {
            let mut conn = self.0.store.read().await?;
            store::previews_of(&mut conn, sha256).await?
        };
        let mut out = Previews {
            pending: rows.is_empty(),
            ..Previews::default()
        };
        for r in rows {
            match r.made {
                Ok(b) => out.made.push(PreviewView {
                    size: PreviewSize::parse(&r.size).map_or("small", PreviewSize::name),
                    url: preview_url(version_url, &r.size),
                    width: b.width,
                    height: b.height,
                    content_type: b.content_type,
                }),
                Err(e) => out.error = Some(e),
            }
        }
        Ok(out)
    }

    /// What to deliver for the preview `size` of content `c` (after the
    /// caller's read check), if it has been made.
    pub async fn preview_content(&self, c: &FileContent, size: PreviewSize) -> AppResult<Option<FileContent>> {
        if !previewable(&c.content_type) {
            return Ok(None);
        }
        let rows = {
            let mut conn = self.0.store.read().await?;
            store::previews_of(&mut conn, &c.sha256).await?
        };
        let Some(b) = rows
            .into_iter()
            .find(|r| r.size == size.name())
            .and_then(|r| r.made.ok())
        else {
            return Ok(None);
        };
        let ext = if b.content_type == "image/webp" { "webp" } else { "jpg" };
        let stem = c.name.rsplit_once('.').map_or(c.name.as_str(), |(s, _)| s);
        Ok(Some(FileContent {
            name: format!("{stem}.{}.{ext}", size.name()),
            version: c.version,
            sha256: b.sha256,
            size: u64::try_from(b.bytes).unwrap_or(0),
            content_type: b.content_type,
            updated_at: c.updated_at,
        }))
    }

    /// A presigned address at which S3 delivers content `c` itself (after
    /// the caller's read check), when that is configured.
    pub async fn signed_url(&self, c: &FileContent) -> AppResult<Option<String>> {
        let Some(secs) = self.0.config.files.signed_url_secs else {
            return Ok(None);
        };
        self.0
            .blobs
            .signed_url(&c.sha256, std::time::Duration::from_secs(secs))
            .await
    }

    /// What a page showing content `c` delivers: its large preview for
    /// still images (upright, without the original's metadata), else the
    /// file itself (GIFs stay animated).
    pub async fn display_content(&self, c: FileContent) -> AppResult<FileContent> {
        if c.content_type == "image/gif" {
            return Ok(c);
        }
        Ok(self.preview_content(&c, PreviewSize::Large).await?.unwrap_or(c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ImageEncoder, Rgb, RgbImage, Rgba, RgbaImage};

    /// A little-endian EXIF block with an orientation and a GPS latitude.
    fn exif(orientation: u8) -> Vec<u8> {
        let mut e = b"II\x2a\x00\x08\x00\x00\x00".to_vec();
        // IFD0: two entries (orientation, GPS IFD pointer), no next IFD.
        e.extend_from_slice(&[2, 0]);
        e.extend_from_slice(&[0x12, 0x01, 3, 0, 1, 0, 0, 0, orientation, 0, 0, 0]);
        e.extend_from_slice(&[0x25, 0x88, 4, 0, 1, 0, 0, 0, 38, 0, 0, 0]);
        e.extend_from_slice(&[0, 0, 0, 0]);
        // GPS IFD at 38: latitude ref "N".
        e.extend_from_slice(&[1, 0, 0x01, 0x00, 2, 0, 2, 0, 0, 0, b'N', 0, 0, 0, 0, 0, 0, 0]);
        e
    }

    /// A 40 × 20 JPEG, red on the left half, blue on the right.
    fn jpeg(orientation: Option<u8>) -> Vec<u8> {
        let img = RgbImage::from_fn(40, 20, |x, _| if x < 20 { Rgb([255, 0, 0]) } else { Rgb([0, 0, 255]) });
        let mut out = Vec::new();
        let mut enc = JpegEncoder::new_with_quality(&mut out, 95);
        if let Some(o) = orientation {
            enc.set_exif_metadata(exif(o)).unwrap();
        }
        enc.write_image(img.as_raw(), 40, 20, image::ExtendedColorType::Rgb8)
            .unwrap();
        out
    }

    #[test]
    fn previews_are_upright_and_carry_no_metadata() {
        let source = jpeg(Some(6)); // rotate 90° clockwise to display
        assert!(source.windows(4).any(|w| w == b"Exif"));
        let made = make_previews(&source, DEFAULT_MAX_PIXELS).unwrap();
        assert_eq!(made.len(), 2);
        for m in &made {
            assert_eq!((m.width, m.height), (20, 40), "{:?}", m.size);
            assert_eq!(m.content_type, "image/jpeg");
            assert!(!m.bytes.windows(4).any(|w| w == b"Exif"), "no EXIF in the preview");
            let back = image::load_from_memory(&m.bytes).unwrap().to_rgb8();
            // Rotated clockwise: red (the left) is now at the top.
            assert!(back.get_pixel(10, 5)[0] > 200 && back.get_pixel(10, 5)[2] < 60);
            assert!(back.get_pixel(10, 35)[2] > 200 && back.get_pixel(10, 35)[0] < 60);
        }
        let plain = make_previews(&jpeg(None), DEFAULT_MAX_PIXELS).unwrap();
        assert_eq!((plain[0].width, plain[0].height), (40, 20));
    }

    #[test]
    fn large_images_are_scaled_to_fit_and_transparency_is_kept() {
        let img = RgbaImage::from_pixel(2000, 500, Rgba([0, 128, 0, 100]));
        let mut png = Vec::new();
        image::codecs::png::PngEncoder::new(&mut png)
            .write_image(img.as_raw(), 2000, 500, image::ExtendedColorType::Rgba8)
            .unwrap();
        let made = make_previews(&png, DEFAULT_MAX_PIXELS).unwrap();
        let sizes: Vec<_> = made
            .iter()
            .map(|m| (m.size, m.width, m.height, m.content_type))
            .collect();
        assert_eq!(
            sizes,
            [
                (PreviewSize::Small, 320, 80, "image/webp"),
                (PreviewSize::Large, 1600, 400, "image/webp")
            ]
        );
        let back = image::load_from_memory(&made[0].bytes).unwrap().to_rgba8();
        assert_eq!(back.get_pixel(5, 5)[3], 100);
    }

    #[test]
    fn images_over_the_pixel_limit_are_not_decoded() {
        // A PNG claiming 100,000 × 100,000 pixels with no pixel data (a
        // few dozen bytes): refused from the header alone.
        let mut png = Vec::new();
        png.extend_from_slice(b"\x89PNG\r\n\x1a\n");
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
        let err = make_previews(&png, DEFAULT_MAX_PIXELS).unwrap_err();
        assert!(err.contains("100000 × 100000 pixels"), "{err}");
        assert!(make_previews(b"\xff\xd8\xff\xe0 not really a jpeg", DEFAULT_MAX_PIXELS).is_err());
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

    #[test]
    fn animated_gifs_are_previewed_by_their_first_frame() {
        use image::codecs::gif::GifEncoder;
        use image::{Delay, Frame};
        let mut gif = Vec::new();
        {
            let mut enc = GifEncoder::new(&mut gif);
            for colour in [[255, 0, 0, 255], [0, 0, 255, 255]] {
                let frame = Frame::from_parts(
                    RgbaImage::from_pixel(8, 8, Rgba(colour)),
                    0,
                    0,
                    Delay::from_numer_denom_ms(100, 1),
                );
                enc.encode_frame(frame).unwrap();
            }
        }
        let made = make_previews(&gif, DEFAULT_MAX_PIXELS).unwrap();
        let back = image::load_from_memory(&made[0].bytes).unwrap().to_rgba8();
        let p = back.get_pixel(4, 4);
        assert!(p[0] > 200 && p[2] < 60, "the first frame is red: {p:?}");
    }
}
