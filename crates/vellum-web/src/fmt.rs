//! How times are written: RFC 3339 in the API and in `<time datetime>`,
//! `YYYY-MM-DD HH:MM` (UTC) where people read them.

use std::borrow::Borrow;

use vellum_core::Timestamp;

fn datetime(t: Timestamp) -> Option<time::OffsetDateTime> {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(t.as_millis()) * 1_000_000).ok()
}

/// `2026-11-21T23:25:06.123Z`.
pub(crate) fn rfc3339(t: impl Borrow<Timestamp>) -> String {
    datetime(*t.borrow())
        .and_then(|d| d.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
}

/// `2026-11-21 23:25` (UTC).
pub(crate) fn short(t: impl Borrow<Timestamp>) -> String {
    const FORMAT: &[time::format_description::BorrowedFormatItem<'_>] =
        time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]");
    datetime(*t.borrow())
        .and_then(|d| d.format(FORMAT).ok())
        .unwrap_or_default()
}

/// `2026-11-21 23:25:06` (UTC), for logs people read to the second.
pub(crate) fn seconds(t: impl Borrow<Timestamp>) -> String {
    const FORMAT: &[time::format_description::BorrowedFormatItem<'_>] =
        time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    datetime(*t.borrow())
        .and_then(|d| d.format(FORMAT).ok())
        .unwrap_or_default()
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
        assert_eq!(rfc3339(Timestamp::from_millis(0)), "1970-01-01T00:00:00Z");
    }
}
