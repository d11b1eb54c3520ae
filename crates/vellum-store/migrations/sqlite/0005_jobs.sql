-- The durable job queue and the cluster-wide schedules (jobs.rs).
-- Keep in step with ../postgres/0005_jobs.sql.
--
-- A job is a row from enqueue until it succeeds (then it is deleted) or is
-- discarded. state: 'queued' (never failed yet), 'running' (claimed by
-- `worker` until `locked_until`), 'failed' (failed at least once; runs
-- again at `run_at`), 'dead' (gave up after `max_attempts`; kept for an
-- administrator to retry or discard).
CREATE TABLE jobs (
    id INTEGER PRIMARY KEY,
    queue TEXT NOT NULL,
    kind TEXT NOT NULL,
    payload JSON_TEXT NOT NULL CHECK (json_valid(payload)),
    priority INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'running', 'failed', 'dead')),
    attempts INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    run_at INTEGER_MS NOT NULL,
    locked_until INTEGER_MS,
    worker TEXT,
    unique_key TEXT,
    last_error TEXT,
    request_id TEXT,
    created_at INTEGER_MS NOT NULL,
    updated_at INTEGER_MS NOT NULL
);
-- What a worker claims next: due jobs of its queues, highest priority first.
CREATE INDEX jobs_due ON jobs (queue, priority, run_at) WHERE state IN ('queued', 'failed');
-- Leases that ran out (their worker died).
CREATE INDEX jobs_leases ON jobs (locked_until) WHERE state = 'running';
CREATE INDEX jobs_state ON jobs (state, id);
-- A unique job exists at most once until it succeeds or dies.
CREATE UNIQUE INDEX jobs_unique ON jobs (unique_key) WHERE state IN ('queued', 'running', 'failed');

-- One row per schedule: the next time it is due. The process whose update
-- moves `next_at` on is the one that fires it.
CREATE TABLE schedules (
    name TEXT PRIMARY KEY,
    next_at INTEGER_MS NOT NULL,
    last_fired_at INTEGER_MS
);
