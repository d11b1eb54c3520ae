-- The last TOTP time step a sign-in used, so that a code cannot be used
-- twice (RFC 6238 §5.2). Keep in step with ../postgres/0004_totp_replay.sql.
ALTER TABLE users ADD COLUMN totp_last_step BIGINT;
