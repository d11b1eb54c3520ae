-- Accounts and identity (SQLite): the audit log, API tokens, refresh
-- tokens, sign-in throttling, two-factor authentication and single
-- sign-on. Keep in step with ../postgres/0003_accounts.sql.

ALTER TABLE users ADD COLUMN email TEXT;
-- Sessions, API tokens and access tokens issued before this time are void
-- (disabling an account, resetting its password).
ALTER TABLE users ADD COLUMN tokens_valid_after INTEGER_MS;
-- Base32 TOTP secret; two-factor sign-in is on once `totp_enabled_at` is set.
ALTER TABLE users ADD COLUMN totp_secret TEXT;
ALTER TABLE users ADD COLUMN totp_enabled_at INTEGER_MS;
-- `issuer subject` of the single sign-on identity the account belongs to.
ALTER TABLE users ADD COLUMN sso_subject TEXT;
CREATE UNIQUE INDEX users_sso_subject ON users (sso_subject) WHERE sso_subject IS NOT NULL;

ALTER TABLE sessions ADD COLUMN ip TEXT;
ALTER TABLE sessions ADD COLUMN user_agent TEXT;

-- Append-only: no code path updates a row (a trigger refuses it), and rows
-- go only when they are older than the retention setting.
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    at INTEGER_MS NOT NULL,
    -- No foreign key: entries outlive the accounts they name.
    actor_id BIGINT,
    actor_name TEXT,
    action TEXT NOT NULL,
    target TEXT,
    ip TEXT,
    user_agent TEXT,
    details JSON_TEXT NOT NULL CHECK (json_valid(details))
);
CREATE INDEX audit_log_actor ON audit_log (actor_name, id);
CREATE INDEX audit_log_action ON audit_log (action, id);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;

-- Personal API tokens: only a hash is kept; the token is shown once.
CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    -- Comma-separated: read, write, admin.
    scopes TEXT NOT NULL,
    created_at INTEGER_MS NOT NULL,
    expires_at INTEGER_MS,
    last_used_at INTEGER_MS,
    revoked_at INTEGER_MS
);
CREATE UNIQUE INDEX api_tokens_hash ON api_tokens (token_hash);
CREATE INDEX api_tokens_user ON api_tokens (user_id, id);

-- Refresh tokens for the API's access tokens. Each use replaces the token
-- with a new one of the same family; a used token presented again means it
-- was stolen, and the whole family is revoked.
CREATE TABLE refresh_tokens (
    id INTEGER PRIMARY KEY,
    family TEXT NOT NULL,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL,
    created_at INTEGER_MS NOT NULL,
    expires_at INTEGER_MS NOT NULL,
    used_at INTEGER_MS,
    revoked_at INTEGER_MS
);
CREATE UNIQUE INDEX refresh_tokens_hash ON refresh_tokens (token_hash);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);

-- Failed sign-ins per account (`user:NAME`) and per address (`ip:ADDR`).
CREATE TABLE sign_in_throttle (
    key TEXT PRIMARY KEY,
    failures BIGINT NOT NULL,
    last_failure_at INTEGER_MS NOT NULL,
    locked_until INTEGER_MS
);

-- One-time recovery codes for two-factor sign-in (hashes).
CREATE TABLE recovery_codes (
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    used_at INTEGER_MS,
    PRIMARY KEY (user_id, code_hash)
);
