-- Page verification (verification.rs). Keep in step with
-- ../postgres/0009_verification.sql.
--
-- A review policy is on one page (`page_id`) or on a folder and everything
-- below it (`folder`; the empty path is the whole wiki): who owns the
-- review (NULL once the account is deleted) and how often it is due. A
-- page's own policy wins over its folders'; the nearest folder wins over
-- those above it.
CREATE TABLE review_policies (
    id INTEGER PRIMARY KEY,
    page_id BIGINT REFERENCES pages (id),
    folder TEXT,
    owner_id BIGINT REFERENCES users (id),
    interval_days BIGINT NOT NULL CHECK (interval_days BETWEEN 1 AND 3650),
    updated_at INTEGER_MS NOT NULL,
    CHECK ((page_id IS NULL) <> (folder IS NULL))
);
CREATE UNIQUE INDEX review_policies_page ON review_policies (page_id) WHERE page_id IS NOT NULL;
CREATE UNIQUE INDEX review_policies_folder ON review_policies (folder) WHERE folder IS NOT NULL;

-- Every "mark as verified", kept: who confirmed the page, as of which
-- revision, when.
CREATE TABLE verifications (
    id INTEGER PRIMARY KEY,
    page_id BIGINT NOT NULL REFERENCES pages (id),
    user_id BIGINT REFERENCES users (id),
    revision_id BIGINT NOT NULL,
    with_edit BOOLEAN NOT NULL DEFAULT FALSE,
    verified_at INTEGER_MS NOT NULL
);
CREATE INDEX verifications_page ON verifications (page_id, id);

-- Reminders sent, so each goes once per page, due date and stage
-- ('ahead': the review is coming up; 'due': it is due today).
CREATE TABLE review_reminders (
    page_id BIGINT NOT NULL REFERENCES pages (id),
    due_at INTEGER_MS NOT NULL,
    stage TEXT NOT NULL CHECK (stage IN ('ahead', 'due')),
    sent_at INTEGER_MS NOT NULL,
    PRIMARY KEY (page_id, due_at, stage)
);

-- Notifications gain the kind 'review' (a reminder to a page's owner).
-- SQLite cannot alter a CHECK constraint: the table is rebuilt.
CREATE TABLE notifications_next (
    id INTEGER PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id),
    kind TEXT NOT NULL CHECK (kind IN ('edit', 'comment', 'reply', 'mention', 'review')),
    page_id BIGINT NOT NULL REFERENCES pages (id),
    actor_id BIGINT REFERENCES users (id),
    comment_id BIGINT,
    event_seq BIGINT NOT NULL,
    created_at INTEGER_MS NOT NULL,
    read_at INTEGER_MS,
    mailed_at INTEGER_MS
);
INSERT INTO notifications_next (id, user_id, kind, page_id, actor_id, comment_id, event_seq, created_at, read_at, mailed_at)
    SELECT id, user_id, kind, page_id, actor_id, comment_id, event_seq, created_at, read_at, mailed_at FROM notifications;
DROP TABLE notifications;
ALTER TABLE notifications_next RENAME TO notifications;
CREATE UNIQUE INDEX notifications_once ON notifications (user_id, event_seq);
CREATE INDEX notifications_user ON notifications (user_id, id);
CREATE INDEX notifications_page ON notifications (page_id);
