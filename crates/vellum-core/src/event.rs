//! What happened: the typed events every change records in the event log.
//!
//! An [`Event`] is appended in the same transaction as the change it
//! describes. The log is the recent-changes feed, the audit log, and the
//! change feed that caches, search indexes and live updates follow, so an
//! event carries what those followers need (ids and paths) without a
//! database read. On the wire and in storage an event is JSON tagged by its
//! [`Event::action`] name (`{"action": "page.moved", "page": 7, ...}`).

use crate::acl::{GroupId, NodeRules};
use crate::{PageId, PagePath, RevisionId, Role, SessionId, UserId};

/// The kind of thing an event is about, stored beside the event so lists
/// such as recent changes can select by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TargetType {
    Page,
    User,
    Session,
    Site,
    Group,
    Role,
    /// The access rules of a folder or page (the target path is the node).
    Access,
    Token,
    Comment,
    /// Page verification: a review policy on a page or folder, or a
    /// reminder sent to an owner (the target path is the page or folder).
    Review,
    /// A file attached to a page (the target path is the page's).
    File,
}

impl TargetType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Page => "page",
            Self::User => "user",
            Self::Session => "session",
            Self::Site => "site",
            Self::Group => "group",
            Self::Role => "role",
            Self::Access => "access",
            Self::Token => "token",
            Self::Comment => "comment",
            Self::Review => "review",
            Self::File => "file",
        }
    }
}

/// One change, as recorded in the event log.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "action")]
pub enum Event {
    #[serde(rename = "page.created")]
    PageCreated {
        page: PageId,
        path: PagePath,
        revision: RevisionId,
        title: String,
        size: i64,
    },
    /// A new revision of an existing page from an edit (merged with a
    /// concurrent one when `merged`).
    #[serde(rename = "page.edited")]
    PageEdited {
        page: PageId,
        path: PagePath,
        revision: RevisionId,
        size: i64,
        merged: bool,
        /// The title changed with this revision.
        title_changed: bool,
        tags_changed: bool,
        /// The revision the editor started from, when given.
        base_revision: Option<RevisionId>,
    },
    /// An older revision's text and title saved as a new revision.
    #[serde(rename = "page.reverted")]
    PageReverted {
        page: PageId,
        path: PagePath,
        revision: RevisionId,
        /// The revision whose text was restored.
        reverted_to: RevisionId,
        size: i64,
        title_changed: bool,
    },
    #[serde(rename = "page.tags_changed")]
    PageTagsChanged {
        page: PageId,
        path: PagePath,
        from: Vec<String>,
        to: Vec<String>,
    },
    #[serde(rename = "page.moved")]
    PageMoved { page: PageId, from: PagePath, to: PagePath },
    #[serde(rename = "page.deleted")]
    PageDeleted {
        page: PageId,
        path: PagePath,
        title: String,
    },
    #[serde(rename = "page.restored")]
    PageRestored { page: PageId, from: PagePath, to: PagePath },
    #[serde(rename = "user.created")]
    UserCreated {
        user: UserId,
        username: String,
        role: Role,
        /// Made by the first-run setup.
        via_setup: bool,
    },
    #[serde(rename = "session.ended")]
    SessionEnded { session: SessionId, user: UserId },
    /// An administrator changed an account: what changed is `Some`.
    #[serde(rename = "user.updated")]
    UserUpdated {
        user: UserId,
        username: String,
        role: Option<Role>,
        disabled: Option<bool>,
        display_name: Option<String>,
        password_changed: bool,
    },
    #[serde(rename = "settings.changed")]
    SettingsChanged { key: String, value: String },
    /// The rules set directly on a folder or page (`path`; the root is
    /// the empty path) were replaced.
    #[serde(rename = "access.changed")]
    AccessChanged {
        path: String,
        before: Option<NodeRules>,
        after: Option<NodeRules>,
    },
    #[serde(rename = "group.created")]
    GroupCreated { group: GroupId, name: String },
    #[serde(rename = "group.deleted")]
    GroupDeleted { group: GroupId, name: String },
    #[serde(rename = "group.member_added")]
    GroupMemberAdded {
        group: GroupId,
        name: String,
        user: UserId,
        username: String,
    },
    #[serde(rename = "group.member_removed")]
    GroupMemberRemoved {
        group: GroupId,
        name: String,
        user: UserId,
        username: String,
    },
    /// An account was deleted; what it wrote is credited to the
    /// placeholder account `placeholder`.
    #[serde(rename = "user.deleted")]
    UserDeleted {
        user: UserId,
        username: String,
        placeholder: UserId,
    },
    #[serde(rename = "token.created")]
    TokenCreated {
        token: i64,
        user: UserId,
        name: String,
        scopes: Vec<String>,
    },
    #[serde(rename = "token.revoked")]
    TokenRevoked { token: i64, user: UserId, name: String },
    #[serde(rename = "role.created")]
    RoleCreated { role: Role },
    #[serde(rename = "role.deleted")]
    RoleDeleted { role: Role },
    /// Pages that were in the trash longer than the site keeps them were
    /// removed for good, with their revisions and history (`paths` for the
    /// audit log; the event names no page, so no page's history shows it).
    #[serde(rename = "trash.purged")]
    TrashPurged { pages: Vec<PageId>, paths: Vec<PagePath> },
    /// A comment on a page (a reply when `thread` is set).
    #[serde(rename = "comment.added")]
    CommentAdded {
        comment: i64,
        thread: Option<i64>,
        page: PageId,
        path: PagePath,
        mentions: Vec<UserId>,
    },
    #[serde(rename = "comment.edited")]
    CommentEdited {
        comment: i64,
        page: PageId,
        path: PagePath,
        mentions: Vec<UserId>,
    },
    #[serde(rename = "comment.deleted")]
    CommentDeleted { comment: i64, page: PageId, path: PagePath },
    /// A thread was resolved (`true`) or reopened.
    #[serde(rename = "comment.resolved")]
    CommentResolved {
        thread: i64,
        page: PageId,
        path: PagePath,
        resolved: bool,
    },
    /// Someone confirmed that the page is still right, as of `revision`
    /// (by saving it with "verified" ticked when `with_edit`).
    #[serde(rename = "page.verified")]
    PageVerified {
        page: PageId,
        path: PagePath,
        revision: RevisionId,
        with_edit: bool,
    },
    /// The review policy of a page (`page` set) or of a folder and
    /// everything below it (`path`; `""` is the whole wiki) was set, or
    /// removed (`interval_days` is `None`).
    #[serde(rename = "review.policy_set")]
    ReviewPolicySet {
        page: Option<PageId>,
        path: String,
        owner: Option<UserId>,
        interval_days: Option<u32>,
    },
    /// The owner of a page was reminded that its review is coming up
    /// (`stage` `ahead`) or due (`due`).
    #[serde(rename = "review.reminded")]
    ReviewReminded {
        page: PageId,
        path: PagePath,
        owner: UserId,
        due_at: crate::Timestamp,
        stage: String,
    },
    /// A file was attached to a page, or a new version of it uploaded or
    /// restored (`restored_from`: the version whose bytes it has again).
    #[serde(rename = "file.uploaded")]
    FileUploaded {
        file: i64,
        page: PageId,
        path: PagePath,
        name: String,
        version: i64,
        sha256: String,
        restored_from: Option<i64>,
    },
    /// A file went to the trash.
    #[serde(rename = "file.deleted")]
    FileDeleted {
        file: i64,
        page: PageId,
        path: PagePath,
        name: String,
    },
    /// A user started or stopped watching a page or a folder (`""`: the
    /// whole wiki). Recorded so that every node's view of what the user
    /// watches follows.
    #[serde(rename = "watch.changed")]
    WatchChanged {
        user: UserId,
        target: String,
        folder: bool,
        watching: bool,
    },
}

impl Event {
    /// The stable name of the event, e.g. `page.moved`.
    pub fn action(&self) -> &'static str {
        match self {
            Self::PageCreated { .. } => "page.created",
            Self::PageEdited { .. } => "page.edited",
            Self::PageReverted { .. } => "page.reverted",
            Self::PageTagsChanged { .. } => "page.tags_changed",
            Self::PageMoved { .. } => "page.moved",
            Self::PageDeleted { .. } => "page.deleted",
            Self::PageRestored { .. } => "page.restored",
            Self::TrashPurged { .. } => "trash.purged",
            Self::CommentAdded { .. } => "comment.added",
            Self::CommentEdited { .. } => "comment.edited",
            Self::CommentDeleted { .. } => "comment.deleted",
            Self::CommentResolved { .. } => "comment.resolved",
            Self::PageVerified { .. } => "page.verified",
            Self::ReviewPolicySet { .. } => "review.policy_set",
            Self::ReviewReminded { .. } => "review.reminded",
            Self::FileUploaded { .. } => "file.uploaded",
            Self::FileDeleted { .. } => "file.deleted",
            Self::WatchChanged { .. } => "watch.changed",
            Self::UserCreated { .. } => "user.created",
            Self::SessionEnded { .. } => "session.ended",
            Self::UserUpdated { .. } => "user.updated",
            Self::SettingsChanged { .. } => "settings.changed",
            Self::AccessChanged { .. } => "access.changed",
            Self::GroupCreated { .. } => "group.created",
            Self::GroupDeleted { .. } => "group.deleted",
            Self::GroupMemberAdded { .. } => "group.member_added",
            Self::GroupMemberRemoved { .. } => "group.member_removed",
            Self::UserDeleted { .. } => "user.deleted",
            Self::TokenCreated { .. } => "token.created",
            Self::TokenRevoked { .. } => "token.revoked",
            Self::RoleCreated { .. } => "role.created",
            Self::RoleDeleted { .. } => "role.deleted",
        }
    }

    pub fn target_type(&self) -> TargetType {
        match self {
            Self::PageCreated { .. }
            | Self::PageEdited { .. }
            | Self::PageReverted { .. }
            | Self::PageTagsChanged { .. }
            | Self::PageMoved { .. }
            | Self::PageDeleted { .. }
            | Self::PageRestored { .. }
            | Self::PageVerified { .. } => TargetType::Page,
            Self::ReviewPolicySet { .. } | Self::ReviewReminded { .. } => TargetType::Review,
            Self::FileUploaded { .. } | Self::FileDeleted { .. } => TargetType::File,
            Self::UserCreated { .. }
            | Self::UserUpdated { .. }
            | Self::UserDeleted { .. }
            | Self::WatchChanged { .. } => TargetType::User,
            Self::TokenCreated { .. } | Self::TokenRevoked { .. } => TargetType::Token,
            Self::SessionEnded { .. } => TargetType::Session,
            Self::SettingsChanged { .. } | Self::TrashPurged { .. } => TargetType::Site,
            Self::CommentAdded { .. }
            | Self::CommentEdited { .. }
            | Self::CommentDeleted { .. }
            | Self::CommentResolved { .. } => TargetType::Comment,
            Self::AccessChanged { .. } => TargetType::Access,
            Self::GroupCreated { .. }
            | Self::GroupDeleted { .. }
            | Self::GroupMemberAdded { .. }
            | Self::GroupMemberRemoved { .. } => TargetType::Group,
            Self::RoleCreated { .. } | Self::RoleDeleted { .. } => TargetType::Role,
        }
    }

    /// The page the event is about, if any.
    pub fn page(&self) -> Option<PageId> {
        match self {
            Self::PageCreated { page, .. }
            | Self::PageEdited { page, .. }
            | Self::PageReverted { page, .. }
            | Self::PageTagsChanged { page, .. }
            | Self::PageMoved { page, .. }
            | Self::PageDeleted { page, .. }
            | Self::PageRestored { page, .. }
            | Self::PageVerified { page, .. } => Some(*page),
            _ => None,
        }
    }

    /// The page's path after the event (its new path for a move).
    pub fn path(&self) -> Option<&PagePath> {
        match self {
            Self::PageCreated { path, .. }
            | Self::PageEdited { path, .. }
            | Self::PageReverted { path, .. }
            | Self::PageTagsChanged { path, .. }
            | Self::PageDeleted { path, .. }
            | Self::PageVerified { path, .. } => Some(path),
            Self::PageMoved { to, .. } | Self::PageRestored { to, .. } => Some(to),
            _ => None,
        }
    }

    /// Every page path whose state the event changes: both ends of a move.
    pub fn paths(&self) -> Vec<&PagePath> {
        match self {
            Self::PageMoved { from, to, .. } | Self::PageRestored { from, to, .. } => vec![from, to],
            other => other.path().into_iter().collect(),
        }
    }

    /// The revision the event made, if any.
    pub fn revision(&self) -> Option<RevisionId> {
        match self {
            Self::PageCreated { revision, .. }
            | Self::PageEdited { revision, .. }
            | Self::PageReverted { revision, .. } => Some(*revision),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_tagged_by_action_and_round_trip() {
        let e = Event::PageMoved {
            page: PageId(3),
            from: PagePath::parse("a/b").unwrap(),
            to: PagePath::parse("c").unwrap(),
        };
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(json["action"], "page.moved");
        assert_eq!(json["from"], "a/b");
        assert_eq!(serde_json::from_value::<Event>(json).unwrap(), e);
        assert_eq!(e.paths().len(), 2);
        assert_eq!(e.target_type(), TargetType::Page);
    }

    #[test]
    fn the_action_name_is_the_json_tag() {
        let events = [
            Event::PageReverted {
                page: PageId(1),
                path: PagePath::parse("x").unwrap(),
                revision: RevisionId(9),
                reverted_to: RevisionId(2),
                size: 3,
                title_changed: false,
            },
            Event::SettingsChanged {
                key: "k".into(),
                value: "v".into(),
            },
            Event::AccessChanged {
                path: "hr".into(),
                before: None,
                after: Some(NodeRules {
                    inherit: false,
                    rules: vec![(crate::Principal::Group(GroupId(2)), crate::Level::Edit)],
                }),
            },
            Event::GroupMemberAdded {
                group: GroupId(2),
                name: "eng".into(),
                user: UserId(3),
                username: "ann".into(),
            },
            Event::SessionEnded {
                session: SessionId(4),
                user: UserId(1),
            },
            Event::PageVerified {
                page: PageId(1),
                path: PagePath::parse("x").unwrap(),
                revision: RevisionId(3),
                with_edit: true,
            },
            Event::ReviewPolicySet {
                page: None,
                path: "ops".into(),
                owner: Some(UserId(2)),
                interval_days: Some(90),
            },
            Event::ReviewReminded {
                page: PageId(1),
                path: PagePath::parse("x").unwrap(),
                owner: UserId(2),
                due_at: crate::Timestamp::from_millis(5),
                stage: "due".into(),
            },
        ];
        for e in events {
            let json = serde_json::to_value(&e).unwrap();
            assert_eq!(json["action"], e.action());
            assert_eq!(serde_json::from_value::<Event>(json).unwrap(), e);
        }
    }

    #[test]
    fn unknown_paths_in_stored_events_are_refused() {
        let bad = serde_json::json!({"action": "page.deleted", "page": 1, "path": "a/../b", "title": "t"});
        assert!(serde_json::from_value::<Event>(bad).is_err());
    }
}
