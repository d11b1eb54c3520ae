//! What an upload is: its name checked, its type read from its bytes,
//! and whether that type is accepted.

use crate::{AppError, AppResult, Code};

/// A file name: one path segment people can read.
pub(crate) fn check_name(raw: &str) -> AppResult<String> {
    let name = raw.trim();
    let bad = |why: &str| {
        AppError::invalid(
            Code::InvalidFileName,
            "name",
            format!("The file name “{}” {why}.", name.chars().take(80).collect::<String>()),
        )
    };
    if name.is_empty() {
        return Err(AppError::invalid(
            Code::InvalidFileName,
            "name",
            "Give the file a name, as in ?name=diagram.png.",
        ));
    }
    if name.len() > 255 {
        return Err(bad("is longer than 255 bytes; shorten it"));
    }
    if name == "." || name == ".." || name.contains(['/', '\\']) {
        return Err(bad(
            "may not contain / or \\ or be . or ..; name the file itself, not a path",
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(bad("contains control characters; use letters, digits and punctuation"));
    }
    Ok(name.to_owned())
}

/// Decides a file's type from its first bytes (and, for plain text only,
/// its name's extension).
pub(crate) fn sniff(head: &[u8], name: &str) -> String {
    if let Some(t) = infer::get(head) {
        let mime = t.mime_type();
        // infer names some text formats; HTML and XML are checked below
        // like any other text.
        if !mime.starts_with("text/") {
            return mime.to_owned();
        }
    }
    // Text: valid UTF-8 (allowing a character cut at the end), no NUL.
    let text = match std::str::from_utf8(head) {
        Ok(t) => Some(t),
        Err(e) if e.error_len().is_none() => std::str::from_utf8(&head[..e.valid_up_to()]).ok(),
        Err(_) => None,
    };
    let Some(text) = text.filter(|t| !t.contains('\0')) else {
        return "application/octet-stream".into();
    };
    let lower = text.trim_start_matches('\u{feff}').trim_start().to_ascii_lowercase();
    if lower.contains("<svg") && (lower.starts_with('<')) {
        return "image/svg+xml".into();
    }
    if lower.starts_with("<!doctype html") || lower.starts_with("<html") || lower.contains("<script") {
        return "text/html".into();
    }
    if lower.starts_with("<?xml") {
        return "application/xml".into();
    }
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "csv" => "text/csv",
        "md" | "markdown" => "text/markdown",
        "json" => "application/json",
        _ => "text/plain",
    }
    .into()
}

pub(crate) fn allowed(types: &[String], mime: &str) -> bool {
    types.iter().any(|t| match t.strip_suffix('*') {
        Some(prefix) => mime.starts_with(prefix),
        None => t == mime,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::{version_url, FilesConfig};

    #[test]
    fn types_come_from_the_bytes() {
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
        assert_eq!(sniff(png, "notes.txt"), "image/png");
        assert_eq!(sniff(b"%PDF-1.7\n", "x.png"), "application/pdf");
        assert_eq!(sniff(b"hello, world\n", "a.txt"), "text/plain");
        assert_eq!(sniff(b"a,b\n1,2\n", "t.csv"), "text/csv");
        assert_eq!(
            sniff(b"<svg xmlns='http://www.w3.org/2000/svg'></svg>", "x.png"),
            "image/svg+xml"
        );
        assert_eq!(sniff(b"<?xml version='1.0'?><svg></svg>", "x"), "image/svg+xml");
        assert_eq!(sniff(b"<!DOCTYPE html><p>hi", "x.txt"), "text/html");
        assert_eq!(sniff(b"<?xml version='1.0'?><a/>", "x"), "application/xml");
        let mut elf = b"\x7fELF\x02\x01\x01".to_vec();
        elf.resize(64, 0);
        elf[16] = 2; // an executable
        assert_eq!(sniff(&elf, "run"), "application/x-executable");
        // Too short to be sure: unknown binary, which is refused as well.
        assert_eq!(sniff(&elf[..20], "run"), "application/octet-stream");
        assert_eq!(sniff(b"\0\x01\x02\x03\xff\xfe", "blob"), "application/octet-stream");
        // A multi-byte character cut at the end of the sniffed bytes.
        assert_eq!(sniff("caf\u{e9}".as_bytes().split_last().unwrap().1, "a"), "text/plain");
    }

    #[test]
    fn the_allow_list_takes_wildcards() {
        let types = FilesConfig::default_allowed();
        assert!(allowed(&types, "image/png"));
        assert!(allowed(
            &types,
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        ));
        assert!(!allowed(&types, "application/x-executable"));
        assert!(!allowed(&types, "application/octet-stream"));
    }

    #[test]
    fn file_names_are_one_readable_segment() {
        assert_eq!(check_name(" diagram v2.png ").unwrap(), "diagram v2.png");
        for bad in ["", "..", ".", "a/b", "a\\b", "x\u{0}y", &"n".repeat(300)] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
        assert_eq!(version_url(3, 2, "a b/ü.png"), "/files/3/2/a%20b%2F%C3%BC.png");
    }
}
