//! Newtype ids, so a page id can never be passed where a user id is wanted.

macro_rules! id_type {
    ($($(#[$doc:meta])* $name:ident),*) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl From<i64> for $name {
            fn from(id: i64) -> Self {
                Self(id)
            }
        }
    )*};
}

id_type!(
    /// An account.
    UserId,
    /// A page, for its whole life: moves and trips to the trash keep it.
    PageId,
    /// One version of one page; ids grow across the whole wiki.
    RevisionId,
    /// A sign-in.
    SessionId
);
