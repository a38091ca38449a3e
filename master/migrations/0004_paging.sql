-- ffwatt master schema, version 4: pages of jobs (GET /jobs, the web UI) that stay fast with 100,000 jobs.
-- (Statements end with a semicolon at the end of a line: db.migrate splits on that.)
-- GET /jobs without a filter: jobs in submission order (id breaks ties between campaigns submitted together).
CREATE INDEX jobs_submitted ON jobs(created_at, seq, id);
-- GET /jobs?state=: a state's jobs in submission order (the claim index orders by requirements first).
CREATE INDEX jobs_state_submitted ON jobs(state, created_at, seq, id);
-- The dashboard's and /ui/jobs' recent jobs: most recently active first (master/web/jobs.py ACTIVITY).
CREATE INDEX jobs_activity ON jobs(COALESCE(finished_at, started_at, created_at) DESC, seq DESC);
