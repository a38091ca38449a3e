-- ffwatt master schema, version 1.
CREATE TABLE nodes (
    id              TEXT PRIMARY KEY,
    hostname        TEXT NOT NULL UNIQUE,
    inventory       TEXT NOT NULL DEFAULT '{}',   -- JSON: hardware inventory reported at registration
    labels          TEXT NOT NULL DEFAULT '{}',   -- JSON: k=v labels
    status          TEXT NOT NULL DEFAULT 'online',
    registered_at   REAL NOT NULL,
    last_heartbeat  REAL,
    current_watts   REAL,                         -- latest live watts from a heartbeat; NULL = unknown
    current_job_id  TEXT,
    progress        TEXT                          -- JSON: live progress of the current job
);

CREATE TABLE campaigns (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    description  TEXT NOT NULL DEFAULT '',
    spec_text    TEXT NOT NULL,
    spec_path    TEXT,
    state        TEXT NOT NULL,
    created_at   REAL NOT NULL,
    finished_at  REAL
);

CREATE TABLE jobs (
    id             TEXT PRIMARY KEY,
    campaign_id    TEXT REFERENCES campaigns(id),
    seq            INTEGER NOT NULL,
    name           TEXT NOT NULL,
    scenario       TEXT NOT NULL,
    variant        TEXT NOT NULL,
    repetition     INTEGER NOT NULL DEFAULT 1,
    kind           TEXT NOT NULL,
    params         TEXT NOT NULL,                 -- JSON, docs/WIRE.md "Job.params"
    requirements   TEXT NOT NULL DEFAULT '{}',
    state          TEXT NOT NULL,
    priority       INTEGER NOT NULL DEFAULT 0,
    attempt        INTEGER NOT NULL DEFAULT 0,
    max_attempts   INTEGER NOT NULL DEFAULT 3,
    node_id        TEXT,
    lease_expires  REAL,
    created_at     REAL NOT NULL,
    started_at     REAL,
    finished_at    REAL,
    error          TEXT
);
CREATE INDEX jobs_queue ON jobs(state, priority DESC, created_at, seq);
CREATE INDEX jobs_campaign ON jobs(campaign_id, seq);

CREATE TABLE results (
    id           INTEGER PRIMARY KEY,
    job_id       TEXT NOT NULL REFERENCES jobs(id),
    attempt      INTEGER NOT NULL,
    node_id      TEXT NOT NULL,
    status       TEXT NOT NULL,
    body         TEXT NOT NULL,                   -- JSON, docs/WIRE.md "Result", samples included
    received_at  REAL NOT NULL,
    UNIQUE (job_id, attempt)
);
