//! Micro-benchmarks of the hot pure functions: rendering typical and huge
//! pages, marking links to missing pages, sanitizing, link extraction,
//! diff and three-way merge.
//! Run with `cargo bench -p vellum-markup`. Inputs come from the same
//! deterministic corpus as the end-to-end benchmark.
#![allow(clippy::unwrap_used)]

#[path = "../../vellum-bench/src/corpus.rs"]
#[allow(dead_code, unused_imports)]
mod corpus;

use std::sync::LazyLock;

use divan::{black_box, Bencher};
use vellum_core::PagePath;
use vellum_markup::{diff, extract_links, mark_missing, merge, sanitize_html, Renderer};

fn main() {
    divan::main();
}

static RENDERER: LazyLock<Renderer> = LazyLock::new(Renderer::new);

/// A typical page (the corpus's median is about 10 KB).
fn typical() -> String {
    (0..50)
        .map(|i| corpus::page(42, i, 1000).markdown)
        .find(|m| (9_000..12_000).contains(&m.len()))
        .unwrap()
}

/// A huge page: about 1 MiB, the default size limit.
fn huge() -> String {
    let mut s = String::new();
    let mut i = 0;
    while s.len() < 1024 * 1024 - 25_000 {
        s.push_str(&corpus::page(42, i, 1000).markdown);
        i += 1;
    }
    s
}

#[divan::bench(args = ["typical", "huge"])]
fn render(bencher: Bencher, size: &str) {
    let md = if size == "typical" { typical() } else { huge() };
    let renderer = &*RENDERER;
    bencher
        .counter(divan::counter::BytesCount::of_str(&md))
        .bench(|| renderer.render(black_box(&md), &|_| true));
}

/// The typical page with every code block changed each time (a comment
/// line added), so no block comes from the highlighted-block cache: what a
/// first rendering costs. `render` above renders the same page again,
/// which is what an edit of the prose around unchanged code costs.
#[divan::bench]
fn render_new_code_blocks(bencher: Bencher) {
    let md = typical();
    let renderer = &*RENDERER;
    let n = std::sync::atomic::AtomicUsize::new(0);
    bencher
        .with_inputs(|| {
            let i = n.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            md.split("```")
                .enumerate()
                .map(|(k, part)| match part.split_once('\n') {
                    Some((lang, code)) if k % 2 == 1 => format!("{lang}\n// edit {i}\n{code}"),
                    _ => part.to_owned(),
                })
                .collect::<Vec<_>>()
                .join("```")
        })
        .bench_refs(|md| renderer.render(black_box(md), &|_| true));
}

#[divan::bench]
fn render_without_code_blocks(bencher: Bencher) {
    let md: String = typical().split("```").step_by(2).collect::<Vec<_>>().join("");
    let renderer = &*RENDERER;
    bencher.bench(|| renderer.render(black_box(&md), &|_| true));
}

/// A page of 12,000 links to pages that do not exist (about 160 KB), the
/// case that took 11 s when each missing page was a pass over the HTML.
#[divan::bench]
fn mark_missing_many_links(bencher: Bencher) {
    let md: String = (0..12_000).map(|i| format!("[[gone/page-{i}]] ")).collect();
    let html = RENDERER.render(&md, &|_| true).html;
    let missing: Vec<PagePath> = (0..12_000)
        .map(|i| PagePath::parse(&format!("gone/page-{i}")).unwrap())
        .collect();
    bencher
        .counter(divan::counter::BytesCount::of_str(&html))
        .bench(|| mark_missing(black_box(&html), black_box(&missing)));
}

#[divan::bench]
fn mark_missing_typical(bencher: Bencher) {
    let rendered = RENDERER.render(&typical(), &|_| true);
    bencher.bench(|| mark_missing(black_box(&rendered.html), black_box(&rendered.links)));
}

/// A page that is one big Rust code block, shown plain past the
/// highlighting limits.
#[divan::bench]
fn render_huge_code_block(bencher: Bencher) {
    let line = "fn f(x: &mut Vec<u8>) -> Option<u32> { let y = x.len() as u32; Some(y) }\n";
    let md = format!("```rust\n{}```\n", line.repeat(700 * 1024 / line.len()));
    let renderer = &*RENDERER;
    bencher
        .counter(divan::counter::BytesCount::of_str(&md))
        .bench(|| renderer.render(black_box(&md), &|_| true));
}

#[divan::bench]
fn sanitize(bencher: Bencher) {
    let html = RENDERER.render(&typical(), &|_| true).html;
    let dirty = format!("{html}<script>alert(1)</script><img src=x onerror=alert(2)><a href=\"javascript:x\">x</a>");
    bencher
        .counter(divan::counter::BytesCount::of_str(&dirty))
        .bench(|| sanitize_html(black_box(&dirty)));
}

#[divan::bench]
fn links(bencher: Bencher) {
    let md = typical();
    bencher.bench(|| extract_links(black_box(&md)));
}

#[divan::bench]
fn diff_typical_edit(bencher: Bencher) {
    let old = typical();
    let new = old.replacen("the", "THE", 5) + "\nA new closing paragraph.\n";
    bencher.bench(|| diff::diff(black_box(&old), black_box(&new)));
}

/// Two 1 MB revisions of one-character lines: the diff stops at its line
/// limit.
#[divan::bench]
fn diff_huge_one_character_lines(bencher: Bencher) {
    let lines = |seed: u64| -> String {
        let mut state = seed;
        (0..500_000)
            .map(|_| {
                state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                ["a\n", "b\n", "c\n", "d\n"][usize::try_from(state >> 62).unwrap()]
            })
            .collect()
    };
    let (old, new) = (lines(1), lines(2));
    bencher.bench(|| diff::diff(black_box(&old), black_box(&new)));
}

#[divan::bench]
fn merge3_non_overlapping(bencher: Bencher) {
    let base = typical();
    let ours = format!("Intro line.\n{base}");
    let theirs = format!("{base}\nClosing line.\n");
    bencher.bench(|| merge::merge3(black_box(&base), black_box(&ours), black_box(&theirs)));
}

/// Edits on both sides of a page made of many equal and blank lines, where
/// the merge has to widen each edit over the lines it could have touched.
#[divan::bench]
fn merge3_repetitive_lines(bencher: Bencher) {
    let base: String = (0..2_000).map(|i| if i % 3 == 0 { "\n" } else { "- item\n" }).collect();
    let ours = base.replacen("- item\n", "- first\n", 1);
    let theirs = format!("{base}- last\n");
    bencher.bench(|| merge::merge3(black_box(&base), black_box(&ours), black_box(&theirs)));
}
