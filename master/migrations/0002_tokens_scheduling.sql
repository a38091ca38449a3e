-- ffwatt master schema, version 2: node tokens, capacity and heartbeat interval, job events, scheduling indexes.
-- (Statements end with a semicolon at the end of a line: db.migrate splits on that.)
-- token_hash: SHA-256 hex of the node's current token (the token itself is never stored).
-- heartbeat_interval_s: what the agent said at registration; NULL means the master's HEARTBEAT_INTERVAL_S.
ALTER TABLE nodes ADD COLUMN token_hash TEXT;
ALTER TABLE nodes ADD COLUMN max_concurrent_jobs INTEGER NOT NULL DEFAULT 1;
ALTER TABLE nodes ADD COLUMN heartbeat_interval_s REAL;
CREATE UNIQUE INDEX nodes_token ON nodes(token_hash);

-- The attempt history of a job (GET /jobs/<id>/logs), written by the queue's transitions.
CREATE TABLE job_events (
    id        INTEGER PRIMARY KEY,
    job_id    TEXT NOT NULL REFERENCES jobs(id),
    attempt   INTEGER NOT NULL,
    event     TEXT NOT NULL,                  -- claimed, lease_expired, result, cancelled, retried, unrunnable
    node_id   TEXT,
    at        REAL NOT NULL,
    detail    TEXT NOT NULL DEFAULT '{}'      -- JSON: error, stderr_tail, outcome...
);
CREATE INDEX job_events_job ON job_events(job_id, id);

-- Claims: distinct requirement sets among queued jobs (a skip scan), then the head of each runnable set. It also
-- serves what jobs_queue did (jobs by state), and expired leases (the few running jobs), so jobs_queue goes.
DROP INDEX jobs_queue;
CREATE INDEX jobs_claim ON jobs(state, requirements, priority DESC, created_at, seq);
-- A node's running jobs (capacity, DELETE /nodes/<id>, heartbeats), a campaign's open jobs.
CREATE INDEX jobs_node ON jobs(node_id, state);
CREATE INDEX jobs_campaign_state ON jobs(campaign_id, state);
