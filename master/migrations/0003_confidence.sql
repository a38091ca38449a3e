-- ffwatt master schema, version 3: repetition until a confidence target is reached (master/campaign/confidence.py).
-- (Statements end with a semicolon at the end of a line: db.migrate splits on that.)
-- confidence: JSON {"preset", "target", "min", "max"} of the job's variant; NULL = a fixed number of repetitions.
ALTER TABLE jobs ADD COLUMN confidence TEXT;
-- A variant's jobs (the confidence decision after each of its results).
CREATE INDEX jobs_variant ON jobs(campaign_id, variant);
