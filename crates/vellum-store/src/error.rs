//! Storage errors, with unique violations named by constraint on both
//! backends.

/// A unique constraint of the schema. PostgreSQL reports the index name;
/// SQLite reports the table and columns, which [`UNIQUE_INDEXES`] maps back
/// to the same name (a test checks the table against both schemas).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Constraint {
    /// `users_username_key`: the case-folded user name.
    Username,
    /// `pages_live_path`: one live page per path.
    LivePagePath,
    /// `sessions_token_hash`.
    SessionToken,
    /// `groups_name_key`: the case-folded group name.
    GroupName,
    /// `jobs_unique`: one waiting or running job per unique key.
    JobKey,
    /// `files_live_name`: one live file per page and name.
    FileName,
}

/// (constraint, index name, table, columns), for every unique index that a
/// service may run into.
pub const UNIQUE_INDEXES: &[(Constraint, &str, &str, &[&str])] = &[
    (Constraint::Username, "users_username_key", "users", &["username_key"]),
    (Constraint::LivePagePath, "pages_live_path", "pages", &["path"]),
    (
        Constraint::SessionToken,
        "sessions_token_hash",
        "sessions",
        &["token_hash"],
    ),
    (Constraint::GroupName, "groups_name_key", "groups", &["name_key"]),
    (Constraint::JobKey, "jobs_unique", "jobs", &["unique_key"]),
    (Constraint::FileName, "files_live_name", "files", &["page_id", "name"]),
];

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the database URL is not valid: {0}")]
    BadUrl(String),
    #[error("unique constraint {0:?} violated")]
    Unique(Constraint),
    /// No connection became free in time, or the database is unreachable:
    /// nothing was written, and trying again later may succeed.
    #[error("the database is busy: {0}")]
    Busy(#[source] sqlx::Error),
    #[error("migration failed: {0}")]
    Migration(String),
    /// The database refused a value's characters (PostgreSQL refuses NUL in
    /// text); services validate text before it gets here, so this is a
    /// last line of defence.
    #[error("the database cannot store this text: {0}")]
    InvalidText(String),
    /// A stored value does not decode into its domain type.
    #[error("stored data is not valid: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
    /// The commit of a group of SQLite transactions this one had joined
    /// failed (nothing of the group was written).
    #[error("database error: {0}")]
    Group(String),
}

impl StoreError {
    /// The constraint of a unique violation, if this is one.
    pub fn unique(&self) -> Option<Constraint> {
        match self {
            StoreError::Unique(c) => Some(*c),
            _ => None,
        }
    }
}

fn constraint_named(name: &str) -> Option<Constraint> {
    UNIQUE_INDEXES.iter().find(|(_, n, _, _)| *n == name).map(|(c, ..)| *c)
}

/// SQLite says `UNIQUE constraint failed: users.username_key` (columns
/// comma-separated for a composite index).
fn constraint_from_sqlite_message(message: &str) -> Option<Constraint> {
    let cols = message.split_once("constraint failed: ")?.1;
    let mut table = None;
    let mut columns = Vec::new();
    for part in cols.split(", ") {
        let (t, c) = part.split_once('.')?;
        table = Some(t);
        columns.push(c);
    }
    let table = table?;
    UNIQUE_INDEXES
        .iter()
        .find(|(_, _, t, c)| *t == table && *c == columns.as_slice())
        .map(|(k, ..)| *k)
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        match &err {
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                let known = match db.constraint() {
                    Some(name) => constraint_named(name),
                    None => constraint_from_sqlite_message(db.message()),
                };
                match known {
                    Some(c) => StoreError::Unique(c),
                    None => StoreError::Database(err),
                }
            }
            // 22021: character_not_in_repertoire, 22P05: untranslatable_character.
            sqlx::Error::Database(db) if matches!(db.code().as_deref(), Some("22021" | "22P05")) => {
                StoreError::InvalidText(db.message().to_owned())
            }
            // Only waits for a connection: an I/O error during a commit may
            // or may not have committed, so it is not "busy, nothing written".
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed => StoreError::Busy(err),
            sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_) | sqlx::Error::ColumnNotFound(_) => {
                StoreError::Corrupt(err.to_string())
            }
            _ => StoreError::Database(err),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_messages_map_to_constraints() {
        assert_eq!(
            constraint_from_sqlite_message("UNIQUE constraint failed: users.username_key"),
            Some(Constraint::Username)
        );
        assert_eq!(
            constraint_from_sqlite_message("UNIQUE constraint failed: pages.path"),
            Some(Constraint::LivePagePath)
        );
        assert_eq!(
            constraint_from_sqlite_message("UNIQUE constraint failed: pages.title"),
            None
        );
        assert_eq!(constraint_from_sqlite_message("something else"), None);
        assert_eq!(constraint_named("users_username_key"), Some(Constraint::Username));
    }
}
