//! A deterministic, realistic corpus: a folder tree of Markdown pages (1 to
//! 20 KB) with headings, lists, tables, code blocks, wiki links and tags.
//! The same seed and size always give the same pages.

/// SplitMix64: tiny, fast, and stable across releases (unlike a library
/// generator whose algorithm may change), so corpora stay comparable.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

pub const WORDS: &[&str] = &[
    "deploy",
    "service",
    "cluster",
    "review",
    "release",
    "team",
    "process",
    "database",
    "cache",
    "index",
    "queue",
    "worker",
    "request",
    "latency",
    "budget",
    "incident",
    "runbook",
    "owner",
    "metric",
    "alert",
    "backup",
    "restore",
    "schema",
    "migration",
    "token",
    "session",
    "policy",
    "access",
    "folder",
    "page",
    "search",
    "change",
    "history",
    "the",
    "a",
    "and",
    "of",
    "to",
    "in",
    "for",
    "with",
    "when",
    "every",
    "after",
    "before",
    "we",
    "it",
    "is",
    "must",
    "should",
    "can",
    "quickly",
    "carefully",
    "always",
    "never",
    "new",
    "old",
    "first",
    "last",
    "small",
    "large",
];
const AREAS: &[&str] = &[
    "engineering",
    "product",
    "operations",
    "people",
    "finance",
    "design",
    "support",
    "security",
];
const TOPICS: &[&str] = &[
    "runbooks",
    "guides",
    "decisions",
    "meetings",
    "onboarding",
    "architecture",
    "policies",
    "projects",
    "reference",
    "postmortems",
];
const TAGS: &[&str] = &[
    "ops",
    "howto",
    "draft",
    "reviewed",
    "onboarding",
    "security",
    "billing",
    "api",
    "frontend",
    "backend",
    "infra",
    "process",
    "meeting",
    "decision",
    "faq",
    "legacy",
    "q1",
    "q2",
    "q3",
    "q4",
];
const LANGS: &[&str] = &["rust", "sh", "python", "sql", "yaml", "json", "javascript"];

pub struct Page {
    pub path: String,
    pub title: String,
    pub tags: Vec<String>,
    pub markdown: String,
}

/// The path of page `i` of `n`: spread over areas, topics and sub-folders so
/// folders hold tens to hundreds of pages at any size.
pub fn path_of(i: usize, n: usize) -> String {
    let area = AREAS[i % AREAS.len()];
    let topic = TOPICS[(i / AREAS.len()) % TOPICS.len()];
    let per_leaf = 50;
    let leaves = (n / (AREAS.len() * TOPICS.len() * per_leaf)).max(1);
    let leaf = (i / (AREAS.len() * TOPICS.len())) % leaves;
    if leaves > 1 {
        format!("{area}/{topic}/part-{leaf}/page-{i}")
    } else {
        format!("{area}/{topic}/page-{i}")
    }
}

fn sentence(rng: &mut Rng, words: usize) -> String {
    let mut s = String::new();
    for w in 0..words {
        if w > 0 {
            s.push(' ');
        }
        s.push_str(rng.pick(WORDS));
    }
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect::<String>() + ".",
        None => s,
    }
}

/// Page `i` of a corpus of `n` pages.
pub fn page(seed: u64, i: usize, n: usize) -> Page {
    let mut rng = Rng::new(seed ^ (i as u64).wrapping_mul(0x2545_F491_4F6C_DD1D));
    let target = 1024 + rng.below(19 * 1024);
    let title = format!("{} {} {}", rng.pick(WORDS), rng.pick(WORDS), i);
    let mut md = String::with_capacity(target + 512);
    md.push_str(&format!("Summary: {}\n\n", sentence(&mut rng, 18)));
    let mut section = 0;
    while md.len() < target {
        section += 1;
        md.push_str(&format!(
            "## {} {section}\n\n",
            sentence(&mut rng, 3).trim_end_matches('.')
        ));
        match rng.below(5) {
            0 => {
                for _ in 0..3 + rng.below(5) {
                    let words = 6 + rng.below(8);
                    md.push_str(&format!("- {}\n", sentence(&mut rng, words)));
                }
                md.push('\n');
            }
            1 => {
                md.push_str("| name | owner | status |\n|---|---|---|\n");
                for _ in 0..3 + rng.below(6) {
                    md.push_str(&format!(
                        "| {} | {} | {} |\n",
                        rng.pick(WORDS),
                        rng.pick(WORDS),
                        rng.pick(WORDS)
                    ));
                }
                md.push('\n');
            }
            2 => {
                let lang = rng.pick(LANGS);
                md.push_str(&format!("```{lang}\n"));
                for l in 0..4 + rng.below(10) {
                    md.push_str(&format!(
                        "let {}_{l} = \"{}\"; // {}\n",
                        rng.pick(WORDS),
                        rng.pick(WORDS),
                        rng.pick(WORDS)
                    ));
                }
                md.push_str("```\n\n");
            }
            3 => {
                md.push_str("### Details\n\n");
                md.push_str(&sentence(&mut rng, 30));
                md.push_str("\n\n");
            }
            _ => {}
        }
        for _ in 0..1 + rng.below(3) {
            let words = 12 + rng.below(20);
            md.push_str(&sentence(&mut rng, words));
            md.push(' ');
            if rng.below(3) == 0 {
                let other = rng.below(n);
                if rng.below(10) == 0 {
                    md.push_str(&format!("See [[{}/missing-{other}]]. ", path_of(other, n)));
                } else {
                    md.push_str(&format!("See [[{}|{}]]. ", path_of(other, n), rng.pick(WORDS)));
                }
            }
        }
        md.push_str("\n\n");
    }
    let mut tags: Vec<String> = (0..rng.below(4)).map(|_| rng.pick(TAGS).to_owned()).collect();
    tags.sort();
    tags.dedup();
    Page {
        path: path_of(i, n),
        title,
        tags,
        markdown: md,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corpus_is_deterministic_and_sized() {
        let a = page(42, 7, 1000);
        let b = page(42, 7, 1000);
        assert_eq!(a.markdown, b.markdown);
        assert_eq!(a.path, b.path);
        assert_ne!(page(43, 7, 1000).markdown, a.markdown);
        for i in 0..200 {
            let p = page(42, i, 1000);
            assert!(
                (1024..=22 * 1024).contains(&p.markdown.len()),
                "size {}",
                p.markdown.len()
            );
        }
        let paths: std::collections::HashSet<_> = (0..1000).map(|i| path_of(i, 1000)).collect();
        assert_eq!(paths.len(), 1000, "paths are unique");
        let big: std::collections::HashSet<_> = (0..100_000).map(|i| path_of(i, 100_000)).collect();
        assert_eq!(big.len(), 100_000);
    }
}
