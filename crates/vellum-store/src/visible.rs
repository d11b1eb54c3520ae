//! The visibility condition every list query carries.
//!
//! A page's `scope` column is the path of its nearest node with access
//! rules (see [`crate::access`]). A reader's [`Visible`] names the scopes
//! they may read, and a list keeps the rows whose scope is among them, in
//! SQL, so limits, cursors and counts are those of what the reader sees.
//!
//! A list query is written once as a template with `{visible EXPR $N}`
//! where the condition goes (`EXPR` a scope column, `$N` the parameter
//! that carries the scopes, always the statement's last). [`VisibleSql`]
//! expands it per backend: `EXPR = ANY($N)` on PostgreSQL, `EXPR IN
//! (SELECT value FROM json_each($N))` on SQLite, and `TRUE` for a reader
//! who sees everything (then `$N` is not bound, and the statement is the
//! one an unrestricted wiki runs).

use std::sync::OnceLock;

use crate::db::{Sql, TextList};
use crate::Backend;

/// Scope lists up to this long keep their statements prepared on
/// PostgreSQL (see [`Visible::cache_plan`]).
const SHORT_LIST: usize = 16;

/// The pages a reader may see in lists.
#[derive(Debug, Clone, Copy)]
pub enum Visible<'a> {
    /// Every page (administrators, and wikis where the reader may read
    /// everywhere).
    All,
    /// Only pages whose scope is one of these.
    Scopes(&'a [String]),
}

impl Visible<'_> {
    /// Whether the statement may be kept prepared. PostgreSQL switches a
    /// kept statement to a generic plan after a few runs, and in a generic
    /// plan `scope = ANY($n)` tests each row against the whole list, one
    /// element at a time (1.1 s for a folder listing with 900 readable
    /// scopes at 100,000 pages); planned with the list in hand (an unnamed
    /// statement), it hashes the list (28 ms). SQLite's `IN (SELECT …)` is
    /// hashed either way, so its statements stay cached.
    ///
    /// A short list (a folder's own scopes) is cheap either way and keeps
    /// the statement prepared.
    pub(crate) fn cache_plan(&self, backend: Backend) -> bool {
        match self {
            Visible::All => true,
            Visible::Scopes(s) => backend == Backend::Sqlite || s.len() <= SHORT_LIST,
        }
    }

    /// The scope list to bind as the statement's last parameter, if any.
    pub(crate) fn param(&self) -> Option<TextList<'_, String>> {
        match self {
            Visible::All => None,
            Visible::Scopes(s) => Some(TextList(s)),
        }
    }
}

/// A list query's text with the visibility condition left open.
pub(crate) struct VisibleSql {
    template: Sql,
    /// sqlite all, sqlite filtered, postgres all, postgres filtered.
    forms: OnceLock<[String; 4]>,
}

impl VisibleSql {
    pub(crate) const fn new(template: Sql) -> VisibleSql {
        VisibleSql {
            template,
            forms: OnceLock::new(),
        }
    }

    /// One template for both backends.
    pub(crate) const fn both(template: &'static str) -> VisibleSql {
        Self::new(Sql {
            sqlite: template,
            postgres: template,
        })
    }

    pub(crate) fn of(&self, backend: Backend, visible: Visible<'_>) -> &str {
        let forms = self.forms.get_or_init(|| {
            [
                expand(self.template.sqlite, Backend::Sqlite, false),
                expand(self.template.sqlite, Backend::Sqlite, true),
                expand(self.template.postgres, Backend::Postgres, false),
                expand(self.template.postgres, Backend::Postgres, true),
            ]
        });
        let filtered = matches!(visible, Visible::Scopes(_));
        let i = match backend {
            Backend::Sqlite => 0,
            Backend::Postgres => 2,
        } + usize::from(filtered);
        &forms[i]
    }
}

/// Replaces each `{visible EXPR $N}` in `template`.
fn expand(template: &str, backend: Backend, filtered: bool) -> String {
    const OPEN: &str = "{visible ";
    let mut out = String::with_capacity(template.len() + 64);
    let mut rest = template;
    while let Some(start) = rest.find(OPEN) {
        out.push_str(&rest[..start]);
        let after = &rest[start + OPEN.len()..];
        let end = after
            .find('}')
            .unwrap_or_else(|| panic!("unclosed {{visible …}} in a query: {template}"));
        let mut parts = after[..end].split_whitespace();
        let (Some(expr), Some(param), None) = (parts.next(), parts.next(), parts.next()) else {
            panic!("{{visible EXPR $N}} takes a column and a parameter: {template}");
        };
        let condition = match (filtered, backend) {
            (false, _) => "TRUE".to_owned(),
            (true, Backend::Postgres) => format!("{expr} = ANY({param})"),
            (true, Backend::Sqlite) => format!("{expr} IN (SELECT value FROM json_each({param}))"),
        };
        out.push_str(&condition);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_expand_per_backend_and_reader() {
        let t = "SELECT 1 FROM pages p WHERE p.path > $1 AND {visible p.scope $2} AND NOT EXISTS \
                 (SELECT 1 FROM pages q WHERE {visible q.scope $2})";
        let q = VisibleSql::both(t);
        let scopes = vec!["".to_owned()];
        assert_eq!(
            q.of(Backend::Postgres, Visible::Scopes(&scopes)),
            "SELECT 1 FROM pages p WHERE p.path > $1 AND p.scope = ANY($2) AND NOT EXISTS \
             (SELECT 1 FROM pages q WHERE q.scope = ANY($2))"
        );
        assert_eq!(
            q.of(Backend::Sqlite, Visible::Scopes(&scopes)),
            "SELECT 1 FROM pages p WHERE p.path > $1 AND p.scope IN (SELECT value FROM json_each($2)) AND NOT EXISTS \
             (SELECT 1 FROM pages q WHERE q.scope IN (SELECT value FROM json_each($2)))"
        );
        assert_eq!(
            q.of(Backend::Sqlite, Visible::All),
            "SELECT 1 FROM pages p WHERE p.path > $1 AND TRUE AND NOT EXISTS (SELECT 1 FROM pages q WHERE TRUE)"
        );
        assert!(!q.of(Backend::Postgres, Visible::All).contains("$2"));
    }
}
