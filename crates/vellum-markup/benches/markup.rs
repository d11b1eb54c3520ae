//! Micro-benchmarks of the hot pure functions: rendering typical and huge
//! pages, sanitizing, link extraction, diff and three-way merge.
//! Run with `cargo bench -p vellum-markup`. Inputs come from the same
//! deterministic corpus as the end-to-end benchmark.
#![allow(clippy::unwrap_used)]

#[path = "../../vellum-bench/src/corpus.rs"]
#[allow(dead_code, unused_imports)]
mod corpus;

use std::sync::LazyLock;

use divan::{black_box, Bencher};
use vellum_markup::{diff, extract_links, merge, sanitize_html, Renderer};

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

#[divan::bench]
fn render_without_code_blocks(bencher: Bencher) {
    let md: String = typical().split("```").step_by(2).collect::<Vec<_>>().join("");
    let renderer = &*RENDERER;
    bencher.bench(|| renderer.render(black_box(&md), &|_| true));
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

#[divan::bench]
fn merge3_non_overlapping(bencher: Bencher) {
    let base = typical();
    let ours = format!("Intro line.\n{base}");
    let theirs = format!("{base}\nClosing line.\n");
    bencher.bench(|| merge::merge3(black_box(&base), black_box(&ours), black_box(&theirs)));
}
