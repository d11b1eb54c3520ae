-- Notification mail (mail.rs). Keep in step with ../sqlite/0008_mail.sql.
-- email_mode: 'immediate' (a mail a minute or so after something happens,
-- one per burst), 'daily' (a digest), or 'off'.
ALTER TABLE users ADD COLUMN email_mode TEXT NOT NULL DEFAULT 'immediate'
    CHECK (email_mode IN ('immediate', 'daily', 'off'));
-- When a notification went out by mail (each goes at most once).
ALTER TABLE notifications ADD COLUMN mailed_at TIMESTAMPTZ;

-- Password reset links sent by mail: the hash of the link's token, valid
-- until `expires_at`, once.
CREATE TABLE password_resets (
    token_hash TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id),
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    used_at TIMESTAMPTZ
);
CREATE INDEX password_resets_user ON password_resets (user_id);
