//! Vellum's full-text index: one tantivy index per process in the data
//! directory, derived from the database (the app feeds it from the change
//! feed and can rebuild it at any time).
//!
//! * [`analyzer`]: words, identifier parts and CJK pairs; one stemmer per
//!   wiki language;
//! * [`query`]: the search language, parsed without the index;
//! * [`Visibility`]: the reader's permissions as part of every query, so
//!   results, counts, facets and pages of results only ever hold pages the
//!   reader may read;
//! * [`SearchIndex`]: writes (by page id, with the feed position they
//!   bring the index to, stored in the same commit) and searches.
#![forbid(unsafe_code)]

pub mod analyzer;
mod compile;
mod expand;
mod facets;
mod filter;
pub mod query;
mod search;

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use tantivy::schema::{
    DateOptions, Field, IndexRecordOption, NumericOptions, Schema, TextFieldIndexing, TextOptions, FAST, STORED, STRING,
};
use tantivy::{doc, DateTime, Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

pub use analyzer::Language;
pub use filter::Visibility;
pub use query::{parse, Parsed, QueryError};
pub use search::{Facets, Hit, Results, Sort, Suggestion};

/// Bumped whenever the schema or the analyzers change: an index of
/// another version is rebuilt.
const FORMAT: u32 = 2;
const TEXT: &str = "vellum_text";
const PREFIX: &str = "vellum_prefix";

/// Why the index could not do something.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("search index: {0}")]
    Index(#[from] tantivy::TantivyError),
    #[error("search index directory {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "the search index in {0} is in use by another process (a running `vellum serve`?); stop it first, or \
         let the running server rebuild its own index"
    )]
    Locked(PathBuf),
}

pub type Result<T> = std::result::Result<T, SearchError>;

/// A page as the index holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Doc {
    pub id: i64,
    pub path: String,
    pub title: String,
    pub headings: Vec<String>,
    pub body: String,
    pub tags: Vec<String>,
    /// Username of the last editor.
    pub author: String,
    /// Last update, Unix seconds.
    pub updated: i64,
}

/// One write to the index.
#[derive(Debug, Clone)]
pub enum Change {
    /// Adds the page, or replaces it.
    Upsert(Doc),
    /// Removes the page (deleted, or no longer a page).
    Remove(i64),
}

/// What the last commit recorded.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct Stamp {
    format: u32,
    language: Option<Language>,
    /// The change-feed position the index is complete up to (the app's
    /// own encoding); `None` until a first full build finished.
    position: Option<String>,
}

#[derive(Clone, Copy)]
pub(crate) struct Fields {
    id: Field,
    path: Field,
    node: Field,
    top: Field,
    title: Field,
    headings: Field,
    path_text: Field,
    body: Field,
    /// The first words of the body (where a page says what it is).
    lead: Field,
    words: Field,
    /// Every word as written (lower case, not stemmed): the dictionary
    /// typos are corrected against.
    vocab: Field,
    tags: Field,
    author: Field,
    updated: Field,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text = |stored: bool| {
        let o = TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(TEXT)
                .set_index_option(IndexRecordOption::WithFreqsAndPositions),
        );
        if stored {
            o.set_stored()
        } else {
            o
        }
    };
    let fields = Fields {
        id: b.add_u64_field("id", NumericOptions::default().set_indexed().set_stored().set_fast()),
        path: b.add_text_field("path", STRING | STORED),
        node: b.add_text_field("node", STRING),
        top: b.add_text_field("top", STRING | FAST),
        title: b.add_text_field("title", text(true)),
        headings: b.add_text_field("headings", text(false)),
        path_text: b.add_text_field("path_text", text(false)),
        body: b.add_text_field("body", text(true)),
        lead: b.add_text_field("lead", text(false)),
        words: b.add_text_field(
            "words",
            TextOptions::default().set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer(PREFIX)
                    .set_index_option(IndexRecordOption::WithFreqs),
            ),
        ),
        vocab: b.add_text_field(
            "vocab",
            TextOptions::default().set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer(PREFIX)
                    .set_index_option(IndexRecordOption::Basic),
            ),
        ),
        tags: b.add_text_field("tags", STRING | STORED | FAST),
        author: b.add_text_field("author", STRING | STORED),
        updated: b.add_date_field("updated", DateOptions::default().set_indexed().set_stored().set_fast()),
    };
    (b.build(), fields)
}

/// The index of one process.
pub struct SearchIndex {
    dir: PathBuf,
    index: Index,
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    fields: Fields,
    language: Language,
    filters: std::sync::Arc<filter::FilterCache>,
}

/// How opening went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Opened {
    /// The index is complete up to this feed position.
    At(String),
    /// The index is empty (new, or just rebuilt from scratch because it
    /// was missing, unreadable, of an older format or another language):
    /// fill it with [`SearchIndex::apply`] and a first position.
    Empty { why: String },
}

impl SearchIndex {
    /// Opens the index in `dir`, making a new empty one when there is
    /// none or it cannot be used (never an error for a bad index: it is
    /// derived data). `writer_memory` is the indexing buffer in bytes.
    pub fn open(dir: &Path, language: Language, writer_memory: usize) -> Result<(SearchIndex, Opened)> {
        std::fs::create_dir_all(dir).map_err(|source| SearchError::Io {
            path: dir.to_owned(),
            source,
        })?;
        let (schema, fields) = schema();
        let existing = if dir.join("meta.json").exists() {
            match Index::open_in_dir(dir) {
                Ok(index) => Some(index),
                Err(e) => {
                    tracing::warn!(dir = %dir.display(), error = %e, "the search index cannot be opened; rebuilding it");
                    None
                }
            }
        } else {
            None
        };
        let (index, opened) = match existing.map(|i| Self::usable(i, &schema, language)) {
            Some(Ok((index, position))) => (index, Opened::At(position)),
            Some(Err(why)) => (Self::fresh(dir, &schema)?, Opened::Empty { why }),
            None => (
                Self::fresh(dir, &schema)?,
                Opened::Empty {
                    why: "there was no usable index".into(),
                },
            ),
        };
        index.tokenizers().register(TEXT, analyzer::text_analyzer(language));
        index.tokenizers().register(PREFIX, analyzer::prefix_analyzer());
        // One indexing thread per 16 MiB of buffer, as many as there are
        // cores (at most four).
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        let threads = (writer_memory / (16 << 20)).clamp(1, cores.min(4));
        let writer = match index.writer_with_num_threads(threads, writer_memory.max(15_000_000 * threads)) {
            Ok(w) => w,
            Err(tantivy::TantivyError::LockFailure(..)) => return Err(SearchError::Locked(dir.to_owned())),
            Err(e) => return Err(e.into()),
        };
        let reader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into()?;
        let me = SearchIndex {
            dir: dir.to_owned(),
            index,
            reader,
            writer: Mutex::new(writer),
            fields,
            language,
            filters: Default::default(),
        };
        if let Opened::Empty { why } = &opened {
            // Record the format and language at once, so that a crash
            // before the first full build is recognised as unfinished.
            tracing::info!(dir = %dir.display(), why, "starting a new search index");
            me.commit_stamp(None)?;
        }
        Ok((me, opened))
    }

    /// The index and its position, or why it must be rebuilt.
    fn usable(index: Index, schema: &Schema, language: Language) -> std::result::Result<(Index, String), String> {
        if index.schema() != *schema {
            return Err("the index was made by another version".into());
        }
        let metas = index.load_metas().map_err(|e| e.to_string())?;
        let stamp: Stamp = metas
            .payload
            .as_deref()
            .and_then(|p| serde_json::from_str(p).ok())
            .unwrap_or_default();
        if stamp.format != FORMAT {
            return Err("the index was made by another version".into());
        }
        if stamp.language != Some(language) {
            return Err(format!(
                "the index was made for {}, the wiki is set to {}",
                stamp.language.map_or("another language", Language::as_str),
                language.as_str()
            ));
        }
        match stamp.position {
            Some(p) => Ok((index, p)),
            None => Err("the last full build did not finish".into()),
        }
    }

    fn fresh(dir: &Path, schema: &Schema) -> Result<Index> {
        let io = |source| SearchError::Io {
            path: dir.to_owned(),
            source,
        };
        for entry in std::fs::read_dir(dir).map_err(io)? {
            let path = entry.map_err(io)?.path();
            if path.is_dir() {
                std::fs::remove_dir_all(&path).map_err(io)?;
            } else if path.file_name().is_some_and(|n| n != ".tantivy-writer.lock") {
                std::fs::remove_file(&path).map_err(io)?;
            }
        }
        Ok(Index::create_in_dir(dir, schema.clone())?)
    }

    pub fn language(&self) -> Language {
        self.language
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Empties the index (for a rebuild); the next [`apply`](Self::apply)
    /// fills it again.
    pub fn clear(&self) -> Result<()> {
        let w = self.lock_writer();
        w.delete_all_documents()?;
        drop(w);
        self.commit_stamp(None)
    }

    /// Writes the changes and records `position` in the same commit, then
    /// makes them visible to searches.
    pub fn apply(&self, changes: &[Change], position: &str) -> Result<()> {
        self.write(changes)?;
        self.commit_stamp(Some(position.to_owned()))
    }

    /// Writes the changes without committing them (part of a rebuild:
    /// they become visible with the next [`apply`](Self::apply); until
    /// then the index counts as unfinished, so an interrupted rebuild
    /// starts again).
    pub fn add(&self, changes: &[Change]) -> Result<()> {
        self.write(changes)
    }

    /// Makes what [`add`](Self::add) wrote visible to searches, still
    /// recording no position (a rebuild in progress).
    pub fn checkpoint(&self) -> Result<()> {
        self.commit_stamp(None)
    }

    fn write(&self, changes: &[Change]) -> Result<()> {
        let f = self.fields;
        let w = self.lock_writer();
        for change in changes {
            match change {
                Change::Remove(id) => {
                    w.delete_term(Term::from_field_u64(f.id, id_term(*id)));
                }
                Change::Upsert(d) => {
                    w.delete_term(Term::from_field_u64(f.id, id_term(d.id)));
                    w.add_document(self.document(d))?;
                }
            }
        }
        drop(w);
        Ok(())
    }

    fn document(&self, d: &Doc) -> TantivyDocument {
        let f = self.fields;
        let mut doc = doc!(
            f.id => id_term(d.id),
            f.path => d.path.clone(),
            f.top => d.path.split_once('/').map_or("", |(t, _)| t).to_owned(),
            f.title => d.title.clone(),
            f.path_text => d.path.clone(),
            f.body => d.body.clone(),
            f.lead => lead(&d.body),
            f.vocab => d.title.clone(),
            f.vocab => d.body.clone(),
            f.words => d.title.clone(),
            f.words => d.path.clone(),
            f.author => d.author.to_lowercase(),
            f.updated => DateTime::from_timestamp_secs(d.updated),
        );
        for n in filter::node_terms(&d.path) {
            doc.add_text(f.node, n);
        }
        for h in &d.headings {
            doc.add_text(f.headings, h);
            doc.add_text(f.words, h);
            doc.add_text(f.vocab, h);
        }
        for t in &d.tags {
            doc.add_text(f.tags, t.to_lowercase());
        }
        doc
    }

    fn commit_stamp(&self, position: Option<String>) -> Result<()> {
        let stamp = Stamp {
            format: FORMAT,
            language: Some(self.language),
            position,
        };
        let payload = serde_json::to_string(&stamp).unwrap_or_default();
        let mut w = self.lock_writer();
        let mut prepared = w.prepare_commit()?;
        prepared.set_payload(&payload);
        prepared.commit()?;
        drop(w);
        self.reader.reload()?;
        Ok(())
    }

    fn lock_writer(&self) -> std::sync::MutexGuard<'_, IndexWriter> {
        // A panic while holding the writer leaves it usable: tantivy
        // rolls back what was not committed.
        self.writer.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Pages in the index, and its size on disk in bytes.
    pub fn stats(&self) -> (u64, u64) {
        let docs = self.reader.searcher().num_docs();
        let bytes = std::fs::read_dir(&self.dir)
            .map(|entries| {
                entries
                    .filter_map(|e| e.ok()?.metadata().ok())
                    .filter(|m| m.is_file())
                    .map(|m| m.len())
                    .sum()
            })
            .unwrap_or(0);
        (docs, bytes)
    }
}

/// Words at the start of a body that count as its lead.
const LEAD_WORDS: usize = 40;

/// The first [`LEAD_WORDS`] words of `body`.
fn lead(body: &str) -> String {
    let mut words = 0;
    let mut in_word = false;
    for (i, c) in body.char_indices() {
        if c.is_whitespace() {
            in_word = false;
        } else if !in_word {
            in_word = true;
            words += 1;
            if words > LEAD_WORDS {
                return body[..i].to_owned();
            }
        }
    }
    body.to_owned()
}

/// Page ids are positive; the index keys them as u64.
fn id_term(id: i64) -> u64 {
    u64::try_from(id).unwrap_or(0)
}

#[cfg(test)]
mod tests;
