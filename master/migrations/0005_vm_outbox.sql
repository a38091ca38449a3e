-- ffwatt master schema, version 5: the VictoriaMetrics outbox (master/vmpush.py, docs/DISTRIBUTED.md).
-- (Statements end with a semicolon at the end of a line: db.migrate splits on that.)
-- One row per sample, as one line of the Prometheus text format with its millisecond timestamp, written in the
-- transaction that accepts the result; deleted once VictoriaMetrics answered 2xx to the batch that carried it, or
-- dropped oldest first when the outbox is over its cap. AUTOINCREMENT: ids only grow, so id order is age order.
CREATE TABLE vm_outbox (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    line        TEXT NOT NULL,
    created_at  REAL NOT NULL
);
