//! Checks on user input that are not paths or titles (those live in the
//! core as types). Every piece of text a service takes from a user passes
//! through [`text`] or [`single_line`] first, whatever the backend: NUL and
//! other control characters are refused with a clear message here, rather
//! than by the database (PostgreSQL refuses NUL in text with an error).

use crate::{AppError, AppResult, Code};

pub const MAX_TAGS: usize = 30;
pub const MAX_TAG_CHARS: usize = 50;
pub const MAX_SUMMARY_CHARS: usize = 500;
pub const MAX_DISPLAY_NAME_CHARS: usize = 100;

fn control_char_error(field: &str, c: char) -> AppError {
    AppError::invalid(
        Code::InvalidText,
        field,
        format!(
            "The {} contains the control character U+{:04X}, which cannot be stored. Remove it and try again.",
            field.replace('_', " "),
            u32::from(c)
        ),
    )
}

/// Multi-line text (page text): tabs and line breaks are fine, other
/// control characters are not.
pub(crate) fn text<'a>(raw: &'a str, field: &str) -> AppResult<&'a str> {
    match raw.chars().find(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r')) {
        Some(c) => Err(control_char_error(field, c)),
        None => Ok(raw),
    }
}

/// One-line text (names, summaries, cursors, tags): no control characters.
pub(crate) fn single_line<'a>(raw: &'a str, field: &str) -> AppResult<&'a str> {
    match raw.chars().find(|c| c.is_control()) {
        Some(c) => Err(control_char_error(field, c)),
        None => Ok(raw),
    }
}

pub(crate) fn username(raw: &str) -> AppResult<String> {
    let name = raw.trim();
    let ok_chars = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if name.is_empty() || name.len() > 40 || !ok_chars {
        return Err(AppError::invalid(
            Code::InvalidUsername,
            "username",
            "A user name has 1 to 40 characters: letters, digits, “_”, “-” or “.”.",
        ));
    }
    Ok(name.to_owned())
}

pub(crate) fn display_name(raw: &str) -> AppResult<String> {
    let name = single_line(raw, "display_name")?
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if name.chars().count() > MAX_DISPLAY_NAME_CHARS {
        return Err(AppError::invalid(
            Code::InvalidDisplayName,
            "display_name",
            format!("A display name has at most {MAX_DISPLAY_NAME_CHARS} characters."),
        ));
    }
    Ok(name)
}

/// The 10,000 most common passwords of 8 characters or more (see
/// `data/common-passwords.LICENSE`).
static COMMON_PASSWORDS: std::sync::LazyLock<std::collections::HashSet<&'static str>> =
    std::sync::LazyLock::new(|| include_str!("../data/common-passwords.txt").lines().collect());

/// A new password: 8 to 1,024 characters, not one of the most common
/// passwords, not the user name.
pub(crate) fn password(raw: &str, username: &str) -> AppResult<()> {
    let n = raw.chars().count();
    if !(8..=1024).contains(&n) {
        return Err(AppError::invalid(
            Code::InvalidPassword,
            "password",
            "A password has at least 8 characters (and at most 1,024).",
        ));
    }
    if raw.contains('\0') {
        return Err(control_char_error("password", '\0'));
    }
    let folded = raw.to_lowercase();
    if COMMON_PASSWORDS.contains(folded.as_str()) {
        return Err(AppError::invalid(
            Code::InvalidPassword,
            "password",
            "That password is one of the most common ones, which attackers try first. Choose another: a few \
             unrelated words make a strong one.",
        ));
    }
    if !username.is_empty() && folded == username.to_lowercase() {
        return Err(AppError::invalid(
            Code::InvalidPassword,
            "password",
            "The password is the user name. Choose another.",
        ));
    }
    Ok(())
}

/// An e-mail address: one `@` with something on each side, no spaces.
pub(crate) fn email(raw: &str) -> AppResult<Option<String>> {
    let e = single_line(raw, "email")?.trim();
    if e.is_empty() {
        return Ok(None);
    }
    let ok = e.len() <= 254
        && !e.contains(char::is_whitespace)
        && e.split_once('@')
            .is_some_and(|(a, b)| !a.is_empty() && b.contains('.') && !b.contains('@'));
    if !ok {
        return Err(AppError::invalid(
            Code::InvalidEmail,
            "email",
            format!("The e-mail address “{e}” is not valid."),
        ));
    }
    Ok(Some(e.to_owned()))
}

/// Normalises one tag: trimmed, lower-cased, spaces to `-`.
pub(crate) fn tag(raw: &str) -> AppResult<String> {
    let raw = single_line(raw, "tags")?;
    let tag = raw.split_whitespace().collect::<Vec<_>>().join("-").to_lowercase();
    let ok = tag.chars().all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if tag.is_empty() || !ok || tag.chars().count() > MAX_TAG_CHARS {
        return Err(AppError::invalid(
            Code::InvalidTag,
            "tags",
            format!("The tag “{tag}” is not valid. A tag has up to {MAX_TAG_CHARS} letters, digits, “-”, “_” or “.”."),
        ));
    }
    Ok(tag)
}

/// Normalises tags: each as [`tag`], deduplicated, sorted.
pub(crate) fn tags(raw: &[String]) -> AppResult<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for t in raw {
        if t.trim().is_empty() {
            continue;
        }
        let tag = tag(t)?;
        if !out.contains(&tag) {
            out.push(tag);
        }
    }
    if out.len() > MAX_TAGS {
        return Err(AppError::invalid(
            Code::TooManyTags,
            "tags",
            format!("A page has at most {MAX_TAGS} tags; this one would have {}.", out.len()),
        ));
    }
    out.sort();
    Ok(out)
}

pub(crate) fn summary(raw: &str) -> AppResult<String> {
    let s = single_line(raw, "summary")?
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if s.chars().count() > MAX_SUMMARY_CHARS {
        return Err(AppError::invalid(
            Code::InvalidSummary,
            "summary",
            format!("The edit summary is limited to {MAX_SUMMARY_CHARS} characters."),
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
    fn passwords_are_long_and_not_common() {
        assert!(password("correct horse battery", "ada").is_ok());
        assert!(password("short", "ada").is_err());
        for common in ["password", "Password", "12345678", "trustno1", "baseball"] {
            assert_eq!(
                password(common, "ada").unwrap_err().code,
                Code::InvalidPassword,
                "{common}"
            );
        }
        assert!(password("adalovelace", "AdaLovelace").is_err());
        assert!(COMMON_PASSWORDS.len() >= 9_000);
    }

    #[test]
    fn emails() {
        assert_eq!(email(" a@b.io ").unwrap().as_deref(), Some("a@b.io"));
        assert_eq!(email("").unwrap(), None);
        for bad in ["a", "a@b", "@b.io", "a b@c.io", "a@b@c.io"] {
            assert!(email(bad).is_err(), "{bad}");
        }
    }

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
        assert!(password("short", "").is_err());
        assert!(password("long enough", "").is_ok());
        assert!(password("long\0enough", "").is_err());
    }

    #[test]
    fn control_characters_are_refused_with_the_field_named() {
        assert!(text("line\nnext\ttab\r\n", "markdown").is_ok());
        let e = text("a\0b", "markdown").unwrap_err();
        assert_eq!(e.code, Code::InvalidText);
        assert!(e.message.contains("U+0000"), "{}", e.message);
        assert!(single_line("a\nb", "summary").is_err());
        assert!(single_line("a\u{7f}", "cursor").is_err());
        assert!(summary("x\0").is_err());
        assert!(tag("a\0").is_err());
        assert!(display_name("Ada\u{1}").is_err());
    }
}
