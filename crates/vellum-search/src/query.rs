//! The search language, parsed into a small syntax tree (no index needed).
//!
//! ```text
//! rollback deploy        both words (ranked, typo-tolerant)
//! "rolling update"       the exact phrase
//! roll*                  words starting with roll
//! -staging               not containing staging
//! nginx OR apache        either (binds tighter than the implicit AND)
//! (a OR b) c             grouping
//! title:rollback         in the title (also title:"a phrase")
//! tag:ops                tagged ops
//! path:eng/runbooks      in that folder or below it (also in:)
//! author:ann             last edited by ann (also by:)
//! updated:>2025-01-01    updated after (>=, <, <=, a day, a..b range)
//! ```
//!
//! Nothing here fails on odd input: unbalanced quotes and parentheses
//! close at the end, a lone `-`, `*` or `OR` is ignored, unknown `field:`
//! prefixes are read as words. Only what cannot mean anything useful is
//! an error with a message: a bad date, or a query too long.

use time::{Date, Month};

/// Longest query accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 1000;
/// Most terms in one query.
pub const MAX_TERMS: usize = 32;

/// Which text a word or phrase is looked for in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Title, headings, path and body.
    Everywhere,
    Title,
}

/// One condition of a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    Word {
        text: String,
        scope: Scope,
        prefix: bool,
    },
    Phrase {
        text: String,
        scope: Scope,
    },
    Tag(String),
    Path(String),
    Author(String),
    /// Updated at or after `from` (inclusive) and before `to` (exclusive),
    /// in Unix seconds.
    Updated {
        from: Option<i64>,
        to: Option<i64>,
    },
    /// Any of these.
    Or(Vec<Node>),
    /// All of these (a parenthesised group).
    Group(Vec<Item>),
}

/// A condition that must hold, or must not (`-`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub negated: bool,
    pub node: Node,
}

/// A parsed query: every item must hold.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Parsed {
    pub items: Vec<Item>,
}

impl Parsed {
    /// Whether the query has a condition that selects pages (not only
    /// exclusions).
    pub fn selects(&self) -> bool {
        self.items.iter().any(|i| !i.negated)
    }

    /// The words a reader typed (for "did you mean"), in order.
    pub fn words(&self) -> Vec<&str> {
        fn walk<'a>(n: &'a Node, out: &mut Vec<&'a str>) {
            match n {
                Node::Word {
                    text, prefix: false, ..
                } => out.push(text),
                Node::Or(v) => v.iter().for_each(|n| walk(n, out)),
                Node::Group(items) => items.iter().filter(|i| !i.negated).for_each(|i| walk(&i.node, out)),
                _ => {}
            }
        }
        let mut out = Vec::new();
        for i in self.items.iter().filter(|i| !i.negated) {
            walk(&i.node, &mut out);
        }
        out
    }
}

/// Why a query could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("The search is {0} characters long; shorten it to at most {MAX_QUERY_CHARS}.")]
    TooLong(usize),
    #[error("The search has more than {MAX_TERMS} terms; leave some out.")]
    TooManyTerms,
    #[error(
        "The date “{0}” is not one search understands. Write updated:2025-01-31, updated:>2025-01-31 (also >=, < and <=), \
         updated:2025-01 or updated:2025-01-01..2025-02-01."
    )]
    BadDate(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Lexeme {
    /// A term: negated, the field prefix if any, the value, quoted or not.
    Term {
        negated: bool,
        field: Option<String>,
        value: String,
        quoted: bool,
    },
    Open {
        negated: bool,
    },
    Close,
    Or,
}

fn lex(q: &str) -> Vec<Lexeme> {
    let chars: Vec<char> = q.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let negated = c == '-' && chars.get(i + 1).is_some_and(|n| !n.is_whitespace());
        if negated {
            i += 1;
        } else if c == '-' {
            i += 1;
            continue;
        }
        match chars.get(i) {
            Some('(') => {
                out.push(Lexeme::Open { negated });
                i += 1;
                continue;
            }
            Some(')') => {
                out.push(Lexeme::Close);
                i += 1;
                continue;
            }
            Some('"') => {
                let (value, next) = quoted(&chars, i + 1);
                out.push(Lexeme::Term {
                    negated,
                    field: None,
                    value,
                    quoted: true,
                });
                i = next;
                continue;
            }
            _ => {}
        }
        // A bare chunk, up to white space, a quote or a parenthesis.
        let start = i;
        while i < chars.len() && !chars[i].is_whitespace() && !matches!(chars[i], '"' | '(' | ')') {
            i += 1;
        }
        let chunk: String = chars[start..i].iter().collect();
        if !negated && (chunk == "OR" || chunk == "|") {
            out.push(Lexeme::Or);
            continue;
        }
        let field = chunk
            .split_once(':')
            .map(|(f, _)| f.to_ascii_lowercase())
            .filter(|f| FIELDS.contains(&f.as_str()));
        match field {
            Some(field) => {
                let rest = chunk[field.len() + 1..].to_owned();
                if rest.is_empty() && chars.get(i) == Some(&'"') {
                    let (value, next) = quoted(&chars, i + 1);
                    i = next;
                    out.push(Lexeme::Term {
                        negated,
                        field: Some(field),
                        value,
                        quoted: true,
                    });
                } else {
                    out.push(Lexeme::Term {
                        negated,
                        field: Some(field),
                        value: rest,
                        quoted: false,
                    });
                }
            }
            None => out.push(Lexeme::Term {
                negated,
                field: None,
                value: chunk,
                quoted: false,
            }),
        }
    }
    out
}

const FIELDS: [&str; 7] = ["title", "tag", "path", "in", "author", "by", "updated"];

/// The text of a quoted phrase starting after its opening quote, and
/// where reading goes on (an unclosed quote runs to the end).
fn quoted(chars: &[char], from: usize) -> (String, usize) {
    let mut i = from;
    while i < chars.len() && chars[i] != '"' {
        i += 1;
    }
    (chars[from..i].iter().collect(), (i + 1).min(chars.len()))
}

/// Reads a query.
pub fn parse(q: &str) -> Result<Parsed, QueryError> {
    let len = q.chars().count();
    if len > MAX_QUERY_CHARS {
        return Err(QueryError::TooLong(len));
    }
    let lexemes = lex(q);
    let mut at = 0;
    let mut terms = 0;
    let items = sequence(&lexemes, &mut at, 0, &mut terms)?;
    if terms > MAX_TERMS {
        return Err(QueryError::TooManyTerms);
    }
    Ok(Parsed { items })
}

fn sequence(lx: &[Lexeme], at: &mut usize, depth: usize, terms: &mut usize) -> Result<Vec<Item>, QueryError> {
    let mut items: Vec<Item> = Vec::new();
    let mut or_pending = false;
    while *at < lx.len() {
        let lexeme = &lx[*at];
        *at += 1;
        let item = match lexeme {
            Lexeme::Or => {
                or_pending = !items.is_empty();
                continue;
            }
            Lexeme::Close if depth > 0 => break,
            Lexeme::Close => continue,
            Lexeme::Open { negated } => {
                let inner = sequence(lx, at, depth + 1, terms)?;
                if inner.is_empty() {
                    continue;
                }
                Item {
                    negated: *negated,
                    node: Node::Group(inner),
                }
            }
            Lexeme::Term {
                negated,
                field,
                value,
                quoted,
            } => match term(field.as_deref(), value, *quoted)? {
                Some(node) => {
                    *terms += 1;
                    Item {
                        negated: *negated,
                        node,
                    }
                }
                None => continue,
            },
        };
        let joins = or_pending && !item.negated && items.last().is_some_and(|l| !l.negated);
        or_pending = false;
        if joins {
            if let Some(last) = items.last_mut() {
                let prev = std::mem::replace(&mut last.node, Node::Or(Vec::new()));
                let mut alts = match prev {
                    Node::Or(v) => v,
                    other => vec![other],
                };
                alts.push(item.node);
                last.node = Node::Or(alts);
            }
        } else {
            items.push(item);
        }
    }
    Ok(items)
}

fn term(field: Option<&str>, value: &str, quoted: bool) -> Result<Option<Node>, QueryError> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    let text = |scope: Scope| -> Option<Node> {
        if quoted {
            return Some(Node::Phrase {
                text: value.to_owned(),
                scope,
            });
        }
        let prefix = value.ends_with('*');
        let text = value.trim_matches('*');
        (!text.is_empty()).then(|| Node::Word {
            text: text.to_owned(),
            scope,
            prefix,
        })
    };
    Ok(match field {
        None => text(Scope::Everywhere),
        Some("title") => text(Scope::Title),
        Some("tag") => Some(Node::Tag(value.to_lowercase())),
        Some("path" | "in") => {
            let p = value.trim_matches('/');
            (!p.is_empty()).then(|| Node::Path(p.to_owned()))
        }
        Some("author" | "by") => Some(Node::Author(value.to_owned())),
        Some("updated") => Some(updated(value)?),
        Some(_) => text(Scope::Everywhere),
    })
}

/// `>2025-01-01`, `>=…`, `<…`, `<=…`, `2025-01-01`, `2025-01`, `2025`,
/// `a..b`.
fn updated(v: &str) -> Result<Node, QueryError> {
    let bad = || QueryError::BadDate(v.to_owned());
    if let Some((a, b)) = v.split_once("..") {
        let from = if a.is_empty() {
            None
        } else {
            Some(period(a).ok_or_else(bad)?.0)
        };
        let to = if b.is_empty() {
            None
        } else {
            Some(period(b).ok_or_else(bad)?.1)
        };
        return Ok(Node::Updated { from, to });
    }
    let (op, rest) = [">=", "<=", ">", "<", "="]
        .iter()
        .find_map(|op| v.strip_prefix(op).map(|r| (*op, r)))
        .unwrap_or(("=", v));
    let (start, end) = period(rest).ok_or_else(bad)?;
    Ok(match op {
        ">" => Node::Updated {
            from: Some(end),
            to: None,
        },
        ">=" => Node::Updated {
            from: Some(start),
            to: None,
        },
        "<" => Node::Updated {
            from: None,
            to: Some(start),
        },
        "<=" => Node::Updated {
            from: None,
            to: Some(end),
        },
        _ => Node::Updated {
            from: Some(start),
            to: Some(end),
        },
    })
}

/// A day, month or year as [start, end) in Unix seconds (UTC).
fn period(s: &str) -> Option<(i64, i64)> {
    let parts: Vec<&str> = s.split('-').collect();
    let num = |p: &str| p.parse::<i32>().ok().filter(|_| p.chars().all(|c| c.is_ascii_digit()));
    let year = num(parts.first()?)?;
    if !(1970..=9999).contains(&year) {
        return None;
    }
    let secs = |d: Date| d.midnight().assume_utc().unix_timestamp();
    match parts.len() {
        1 => {
            let a = Date::from_calendar_date(year, Month::January, 1).ok()?;
            let b = Date::from_calendar_date(year + 1, Month::January, 1).ok()?;
            Some((secs(a), secs(b)))
        }
        2 => {
            let m = Month::try_from(u8::try_from(num(parts[1])?).ok()?).ok()?;
            let a = Date::from_calendar_date(year, m, 1).ok()?;
            let b = if m == Month::December {
                Date::from_calendar_date(year + 1, Month::January, 1).ok()?
            } else {
                Date::from_calendar_date(year, m.next(), 1).ok()?
            };
            Some((secs(a), secs(b)))
        }
        3 => {
            let m = Month::try_from(u8::try_from(num(parts[1])?).ok()?).ok()?;
            let a = Date::from_calendar_date(year, m, u8::try_from(num(parts[2])?).ok()?).ok()?;
            Some((secs(a), secs(a.next_day()?)))
        }
        _ => None,
    }
}

#[cfg(test)]
#[path = "query_tests.rs"]
mod tests;
