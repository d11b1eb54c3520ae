-- Comments on pages (comments.rs). Keep in step with ../postgres/0006_comments.sql.
--
-- A comment with no `thread_id` starts a thread; replies carry the id of
-- the thread's first comment. Resolving is per thread (on its first
-- comment). A deleted comment keeps its row, without its text, so the
-- thread around it still reads in order.
CREATE TABLE comments (
    id INTEGER PRIMARY KEY,
    page_id BIGINT NOT NULL REFERENCES pages (id),
    thread_id BIGINT REFERENCES comments (id),
    author_id BIGINT REFERENCES users (id),
    markdown TEXT NOT NULL,
    html TEXT NOT NULL,
    created_at INTEGER_MS NOT NULL,
    edited_at INTEGER_MS,
    deleted_at INTEGER_MS,
    resolved_at INTEGER_MS,
    resolved_by BIGINT REFERENCES users (id)
);
CREATE INDEX comments_page ON comments (page_id, id);
CREATE INDEX comments_thread ON comments (thread_id, id);

-- Who a comment mentions (@name), for notifications.
CREATE TABLE comment_mentions (
    comment_id BIGINT NOT NULL REFERENCES comments (id),
    user_id BIGINT NOT NULL REFERENCES users (id),
    PRIMARY KEY (comment_id, user_id)
);
CREATE INDEX comment_mentions_user ON comment_mentions (user_id);
