-- Watchlists and in-app notifications (notifications.rs). Keep in step
-- with ../postgres/0007_notifications.sql.
--
-- A watch is on one page (`page_id`) or on a folder and everything below
-- it (`folder`; the empty path is the whole wiki).
CREATE TABLE watches (
    user_id BIGINT NOT NULL REFERENCES users (id),
    page_id BIGINT REFERENCES pages (id),
    folder TEXT,
    created_at INTEGER_MS NOT NULL,
    CHECK ((page_id IS NULL) <> (folder IS NULL))
);
CREATE UNIQUE INDEX watches_page ON watches (page_id, user_id) WHERE page_id IS NOT NULL;
CREATE UNIQUE INDEX watches_folder ON watches (folder, user_id) WHERE folder IS NOT NULL;
CREATE INDEX watches_user ON watches (user_id);

-- One notification per recipient and event (the fan-out job may run twice).
-- kind: 'edit' (a watched page changed), 'comment' (a comment on one),
-- 'reply' (in a thread one took part in), 'mention'.
CREATE TABLE notifications (
    id INTEGER PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id),
    kind TEXT NOT NULL CHECK (kind IN ('edit', 'comment', 'reply', 'mention')),
    page_id BIGINT NOT NULL REFERENCES pages (id),
    actor_id BIGINT REFERENCES users (id),
    comment_id BIGINT,
    event_seq BIGINT NOT NULL,
    created_at INTEGER_MS NOT NULL,
    read_at INTEGER_MS
);
CREATE UNIQUE INDEX notifications_once ON notifications (user_id, event_seq);
CREATE INDEX notifications_user ON notifications (user_id, id);
CREATE INDEX notifications_page ON notifications (page_id);

-- Per-account preferences: whether authors watch the pages they create.
ALTER TABLE users ADD COLUMN watch_created BOOLEAN NOT NULL DEFAULT TRUE;
