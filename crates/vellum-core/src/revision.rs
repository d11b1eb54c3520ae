//! What kind of save made a revision.

/// How a revision came to be. Stored by its [`RevisionKind::as_str`] name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RevisionKind {
    /// The first revision of a page.
    Create,
    /// An ordinary edit.
    Edit,
    /// An edit merged with another one that landed first.
    Merge,
    /// An older revision's text saved again.
    Revert,
}

impl RevisionKind {
    pub const ALL: [RevisionKind; 4] = [Self::Create, Self::Edit, Self::Merge, Self::Revert];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Edit => "edit",
            Self::Merge => "merge",
            Self::Revert => "revert",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl std::fmt::Display for RevisionKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for k in RevisionKind::ALL {
            assert_eq!(RevisionKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(RevisionKind::parse("other"), None);
    }
}
