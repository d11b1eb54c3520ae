//! How times are written: RFC 3339 in the API and in `<time datetime>`,
//! `YYYY-MM-DD HH:MM` (UTC) where people read them.

use vellum_core::Timestamp;

/// A time, or a reference to one however deep (templates hand out `&&T`).
pub(crate) trait AsTime {
    fn time(&self) -> Timestamp;
}

impl AsTime for Timestamp {
    fn time(&self) -> Timestamp {
        *self
    }
}

impl<T: AsTime + ?Sized> AsTime for &T {
    fn time(&self) -> Timestamp {
        (**self).time()
    }
}

fn datetime(t: Timestamp) -> Option<time::OffsetDateTime> {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(t.as_millis()) * 1_000_000).ok()
}

/// `2026-11-21T23:25:06.123Z`.
pub(crate) fn rfc3339(t: impl AsTime) -> String {
    datetime(t.time())
        .and_then(|d| d.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
}

/// `2026-11-21` (UTC).
pub(crate) fn day(t: impl AsTime) -> String {
    const FORMAT: &[time::format_description::BorrowedFormatItem<'_>] =
        time::macros::format_description!("[year]-[month]-[day]");
    datetime(t.time())
        .and_then(|d| d.format(FORMAT).ok())
        .unwrap_or_default()
}

/// `2026-11-21 23:25` (UTC).
pub(crate) fn short(t: impl AsTime) -> String {
    const FORMAT: &[time::format_description::BorrowedFormatItem<'_>] =
        time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]");
    datetime(t.time())
        .and_then(|d| d.format(FORMAT).ok())
        .unwrap_or_default()
}

/// `2026-11-21 23:25:06` (UTC), for logs people read to the second.
pub(crate) fn seconds(t: impl AsTime) -> String {
    const FORMAT: &[time::format_description::BorrowedFormatItem<'_>] =
        time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    datetime(t.time())
        .and_then(|d| d.format(FORMAT).ok())
        .unwrap_or_default()
}

/// One CSV field: quoted when it must be, and with a leading `=`, `+`,
/// `-` or `@` defused so a spreadsheet does not run it as a formula.
pub(crate) fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if s.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// A CSV body as a download (`disposition` names the file).
pub(crate) fn csv_download(body: String, disposition: &'static str) -> axum::response::Response {
    use axum::http::{header, HeaderValue};
    use axum::response::IntoResponse;
    let mut res = body.into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    res.headers_mut()
        .insert(header::CONTENT_DISPOSITION, HeaderValue::from_static(disposition));
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        let t = Timestamp::from_millis(1_700_000_000_123);
        assert_eq!(rfc3339(t), "2023-11-14T22:13:20.123Z");
        assert_eq!(short(t), "2023-11-14 22:13");
        assert_eq!(seconds(t), "2023-11-14 22:13:20");
        let nested = &&t;
        assert_eq!(day(nested), "2023-11-14");
        assert_eq!(rfc3339(Timestamp::from_millis(0)), "1970-01-01T00:00:00Z");
    }

    #[test]
    fn csv_fields_are_quoted_and_formulas_defused() {
        assert_eq!(csv_field("a/b"), "a/b");
        assert_eq!(csv_field("Hello, world"), "\"Hello, world\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=SUM(A1)"), "'=SUM(A1)");
    }
}
