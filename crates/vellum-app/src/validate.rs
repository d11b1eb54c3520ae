//! Checks on user input that are not paths or titles (those live in the
//! core as types).

use crate::{AppError, AppResult};

pub const MAX_TAGS: usize = 30;
pub const MAX_TAG_CHARS: usize = 50;
pub const MAX_SUMMARY_CHARS: usize = 500;

pub(crate) fn username(raw: &str) -> AppResult<String> {
    let name = raw.trim();
    let ok_chars = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if name.is_empty() || name.len() > 40 || !ok_chars {
        return Err(AppError::invalid(
            "invalid_username",
            "username",
            "a user name has 1 to 40 characters: letters, digits, `_`, `-` or `.`",
        ));
    }
    Ok(name.to_owned())
}

pub(crate) fn password(raw: &str) -> AppResult<()> {
    let n = raw.chars().count();
    if !(8..=1024).contains(&n) {
        return Err(AppError::invalid(
            "invalid_password",
            "password",
            "a password has at least 8 characters (and at most 1024)",
        ));
    }
    Ok(())
}

/// Normalises tags: trimmed, lower-cased, spaces to `-`, deduplicated, sorted.
pub(crate) fn tags(raw: &[String]) -> AppResult<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for t in raw {
        let tag = t.split_whitespace().collect::<Vec<_>>().join("-").to_lowercase();
        if tag.is_empty() {
            continue;
        }
        let ok = tag.chars().all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !ok || tag.chars().count() > MAX_TAG_CHARS {
            return Err(AppError::invalid(
                "invalid_tag",
                "tags",
                format!("the tag `{tag}` is not valid: use up to {MAX_TAG_CHARS} letters, digits, `-`, `_` or `.`"),
            ));
        }
        if !out.contains(&tag) {
            out.push(tag);
        }
    }
    if out.len() > MAX_TAGS {
        return Err(AppError::invalid(
            "too_many_tags",
            "tags",
            format!("a page has at most {MAX_TAGS} tags"),
        ));
    }
    out.sort();
    Ok(out)
}

pub(crate) fn summary(raw: &str) -> AppResult<String> {
    let s = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    if s.chars().count() > MAX_SUMMARY_CHARS {
        return Err(AppError::invalid(
            "invalid_summary",
            "summary",
            format!("the edit summary is limited to {MAX_SUMMARY_CHARS} characters"),
        ));
    }
    Ok(s)
}

/// Splits a comma-separated tag field from a form.
pub fn split_tags(field: &str) -> Vec<String> {
    field
        .split(',')
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_normalisation() {
        let t = tags(&["Ops".into(), " run books ".into(), "ops".into(), "".into()]).unwrap();
        assert_eq!(t, ["ops", "run-books"]);
        assert!(tags(&["a/b".into()]).is_err());
        assert_eq!(split_tags("a, b ,,c"), ["a", "b", "c"]);
    }

    #[test]
    fn usernames_and_passwords() {
        assert_eq!(username(" Ada ").unwrap(), "Ada");
        assert!(username("a b").is_err());
        assert!(username("").is_err());
        assert!(password("short").is_err());
        assert!(password("long enough").is_ok());
    }
}
