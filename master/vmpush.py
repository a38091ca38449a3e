"""Results in VictoriaMetrics: each accepted result's headline figures, pushed to VictoriaMetrics' import API.

A result's samples (:func:`result_lines`) are written to the ``vm_outbox`` table in the same transaction that accepts
the result (:func:`enqueue`, called by :func:`master.results.accept_result`), so the request never waits on
VictoriaMetrics and SQLite stays the source of truth. A :class:`Pusher` thread sends the oldest rows in batches to
``URL/api/v1/import/prometheus`` and deletes them only after a 2xx; on failure it waits with a capped exponential
backoff and tries again, logging once per outage. Rows left at shutdown are sent after the next start. The outbox
is capped (:data:`OUTBOX_MAX`): beyond it the oldest samples are dropped, counted and logged, so a VictoriaMetrics
gone for months cannot fill the disk.

The series are a contract (dashboards and alert rules use them): see :data:`FIGURES`, :data:`QUALITY_METRIC` and
:data:`LABELS`, and docs/DISTRIBUTED.md "Results in VictoriaMetrics". A figure a result lacks (null or absent) has
no sample at all, never 0. Only succeeded results are pushed, as the report summarizes only those.
"""

from __future__ import annotations

import logging
import math
import sqlite3
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import requests

from master import db

log = logging.getLogger(__name__)

EXTENSION = "ffwatt.vmpush"
"""Key of the app's :class:`Pusher` in ``app.extensions`` (absent when no VictoriaMetrics URL is configured)."""

IMPORT_PATH = "/api/v1/import/prometheus"
"""VictoriaMetrics' import endpoint for the Prometheus text format (explicit timestamps are kept)."""

REQUEST_TIMEOUT_S = 10.0
"""Longest one POST to VictoriaMetrics may take (connect and read)."""

BACKOFF_MIN_S = 1.0
"""Wait after the first failed push; doubled at each further failure."""

BACKOFF_MAX_S = 60.0
"""Longest wait between two pushes while VictoriaMetrics fails."""

POLL_INTERVAL_S = 1.0
"""How often an empty outbox is looked at again (a result reaches VictoriaMetrics within about this)."""

BATCH_LINES = 5_000
"""Most samples one POST carries (about 1 MB)."""

OUTBOX_MAX = 100_000
"""Most samples the outbox keeps (about 25 MB; 20,000 results of 5 figures); the oldest beyond it are dropped."""

STOP_TIMEOUT_S = 4.0
"""Longest :meth:`Pusher.stop` waits for a push in flight: within gunicorn's graceful stop (master/service.py
GRACEFUL_TIMEOUT_S); a batch whose push is cut off stays in the outbox and goes after the next start."""

FIGURES = (
    ("ffwatt_result_joules_per_frame", "joules_per_frame"),
    ("ffwatt_result_watts", "mean_watts"),
    ("ffwatt_result_fps", "fps"),
    ("ffwatt_result_duration_seconds", "duration_s"),
)
"""(series, result metric): the headline figures; J/frame is the report's (``total_energy_j / frames``)."""

QUALITY_SERIES = "ffwatt_result_quality"
"""The quality series; its ``metric`` label says which score (:data:`QUALITY_METRIC`)."""

QUALITY_METRIC = (("vmaf", "vmaf"), ("psnr", "psnr_db"), ("ssim", "ssim"))
"""(``metric`` label, result metric) of each quality score."""

LABELS = ("campaign", "campaign_id", "variant", "node", "encoder", "kind", "estimated", "job_id")
"""Labels of every sample, in order; an unknown one (a job outside any campaign, a kind without encoder) is empty,
which VictoriaMetrics stores as absent."""


def check_url(url: str) -> str:
    """``url`` without a trailing slash if it is ``http(s)://HOST:PORT[/prefix]``; ValueError saying why otherwise."""
    parts = urlsplit(url.strip())
    try:
        port = parts.port
    except ValueError:
        port = None
    if parts.scheme not in ("http", "https") or not parts.hostname or port is None or parts.query or parts.fragment:
        raise ValueError(f"{url!r} is not http(s)://HOST:PORT (e.g. http://127.0.0.1:8428)")
    return url.strip().rstrip("/")


def escape_label_value(value: str) -> str:
    """A label value as the Prometheus text format quotes it: backslash, double quote and newline escaped."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def sample_line(series: str, labels: Mapping[str, str], value: float, timestamp_ms: int) -> str:
    """One sample in the Prometheus text format: ``series{k="v",...} value timestamp_ms`` (empty labels left out)."""
    pairs = ",".join(f'{k}="{escape_label_value(v)}"' for k, v in labels.items() if v != "")
    return f"{series}{{{pairs}}} {float(value)!r} {int(timestamp_ms)}"


def _number(value: Any) -> float | None:
    """A finite number as a float; None for null, absent, booleans and anything else."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def finish_ms(body: Mapping[str, Any], received_at: float) -> int:
    """The result's ``finished_at`` in milliseconds since the epoch; ``received_at`` when it is null or unreadable."""
    text = body.get("finished_at")
    if isinstance(text, str):
        try:
            when = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            when = None
        if when is not None:
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            return round(when.timestamp() * 1000)
    return round(received_at * 1000)


def result_labels(
    job: Mapping[str, Any], body: Mapping[str, Any], campaign: str | None, hostname: str | None
) -> dict[str, str]:
    """The common labels of a result's samples (:data:`LABELS`)."""
    params = db.loads(job["params"], {}) if isinstance(job["params"], str) else job["params"]
    encoder = params.get("encoder") if isinstance(params, dict) else None
    provenance = body.get("provenance") if isinstance(body.get("provenance"), dict) else {}
    return {
        "campaign": campaign or "",
        "campaign_id": job["campaign_id"] or "",
        "variant": job["variant"] or "",
        "node": hostname or "",
        "encoder": encoder if isinstance(encoder, str) else "",
        "kind": job["kind"] or "",
        "estimated": "true" if provenance.get("estimated") is True else "false",
        "job_id": job["id"],
    }


def result_lines(
    job: Mapping[str, Any], body: Mapping[str, Any], campaign: str | None, hostname: str | None, received_at: float
) -> list[str]:
    """The samples of a succeeded result, one text line each; [] for a failed one."""
    if body.get("status") != "succeeded":
        return []
    metrics = body.get("metrics") if isinstance(body.get("metrics"), dict) else {}
    labels = result_labels(job, body, campaign, hostname)
    at = finish_ms(body, received_at)
    lines = []
    for series, key in FIGURES:
        value = _number(metrics.get(key))
        if value is not None:
            lines.append(sample_line(series, labels, value, at))
    for name, key in QUALITY_METRIC:
        value = _number(metrics.get(key))
        if value is not None:
            lines.append(sample_line(QUALITY_SERIES, {**labels, "metric": name}, value, at))
    return lines


def enqueue(conn: sqlite3.Connection, job: Mapping[str, Any], body: Mapping[str, Any], now: float) -> int:
    """Write the result's samples to the outbox, inside the caller's write transaction; returns how many."""
    campaign = conn.execute("SELECT name FROM campaigns WHERE id = ?", (job["campaign_id"],)).fetchone()
    node = conn.execute("SELECT hostname FROM nodes WHERE id = ?", (body["node_id"],)).fetchone()
    lines = result_lines(job, body, campaign["name"] if campaign else None, node["hostname"] if node else None, now)
    conn.executemany("INSERT INTO vm_outbox (line, created_at) VALUES (?, ?)", [(line, now) for line in lines])
    return len(lines)


def outbox_depth(conn: sqlite3.Connection) -> int:
    """Samples waiting in the outbox."""
    return conn.execute("SELECT COUNT(*) FROM vm_outbox").fetchone()[0]


def trim(conn: sqlite3.Connection, keep: int) -> int:
    """Drop the oldest samples beyond ``keep``; returns how many were dropped (the write lock only when some are)."""
    if outbox_depth(conn) <= keep:
        return 0
    with db.write(conn):
        excess = outbox_depth(conn) - keep
        if excess <= 0:
            return 0
        conn.execute("DELETE FROM vm_outbox WHERE id IN (SELECT id FROM vm_outbox ORDER BY id LIMIT ?)", (excess,))
    return excess


class Pusher:
    """The thread that empties the outbox into VictoriaMetrics; ``metrics`` (a MasterMetrics) counts what it does."""

    def __init__(
        self,
        db_path: str,
        url: str,
        metrics: Any = None,
        *,
        outbox_max: int = OUTBOX_MAX,
        batch_lines: int = BATCH_LINES,
        poll_s: float = POLL_INTERVAL_S,
        backoff_max_s: float = BACKOFF_MAX_S,
        timeout_s: float = REQUEST_TIMEOUT_S,
    ):
        self.db_path, self.url, self.metrics = db_path, check_url(url), metrics
        self.outbox_max, self.batch_lines, self.poll_s = outbox_max, batch_lines, poll_s
        self.backoff_max_s, self.timeout_s = backoff_max_s, timeout_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._backoff = 0.0
        self._down_since: float | None = None
        self._dropped_in_outage = 0

    @property
    def import_url(self) -> str:
        return self.url + IMPORT_PATH

    def start(self) -> Pusher:
        """Start the thread (daemon: it never holds the process up); a no-op while it runs."""
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self.run, name="ffwatt-vmpush", daemon=True)
            self._thread.start()
            log.info("pushing results to VictoriaMetrics at %s", self.import_url)
        return self

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """Ask the thread to end and wait for it (at most ``timeout``); what is left stays in the outbox."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def run(self) -> None:
        """Loop until stopped: trim, push a batch, then wait (not at all while a backlog drains)."""
        conn = db.connect(self.db_path)
        try:
            while not self._stop.is_set():
                try:
                    wait = self.step(conn)
                except sqlite3.Error as exc:
                    log.warning("VictoriaMetrics outbox: cannot read %s: %s", self.db_path, exc)
                    wait = self._fail()
                if wait > 0:
                    self._stop.wait(wait)
        finally:
            conn.close()

    def step(self, conn: sqlite3.Connection) -> float:
        """One round: drop what is over the cap, push the oldest batch; returns the seconds to wait before the next."""
        self._count_dropped(trim(conn, self.outbox_max))
        rows = conn.execute("SELECT id, line FROM vm_outbox ORDER BY id LIMIT ?", (self.batch_lines,)).fetchall()
        if not rows:
            return self.poll_s
        error = self._post("\n".join(row["line"] for row in rows) + "\n")
        if error is not None:
            self._count(push_error=1)
            if self._down_since is None:
                self._down_since = time.time()
                log.warning(
                    "VictoriaMetrics at %s is unreachable (%s); results wait in the outbox (%d samples),"
                    " retried every %g s at most",
                    self.url,
                    error,
                    outbox_depth(conn),
                    self.backoff_max_s,
                )
            return self._fail()
        with db.write(conn):
            conn.execute("DELETE FROM vm_outbox WHERE id BETWEEN ? AND ?", (rows[0]["id"], rows[-1]["id"]))
        self._count(pushed=len(rows))
        self._recovered()
        return 0.0 if len(rows) == self.batch_lines else self.poll_s

    def _post(self, text: str) -> str | None:
        """POST ``text`` to the import endpoint; None on a 2xx, else what went wrong in words."""
        try:
            resp = requests.post(
                self.import_url,
                data=text.encode(),
                timeout=self.timeout_s,
                headers={"Content-Type": "text/plain; charset=utf-8"},
            )
        except requests.RequestException as exc:
            return f"{type(exc).__name__}: {exc}"
        if 200 <= resp.status_code < 300:
            return None
        return f"HTTP {resp.status_code}: {resp.text[:200]}"

    def _fail(self) -> float:
        """The next backoff: 1 s, doubled each failure, at most :attr:`backoff_max_s`."""
        self._backoff = min(self.backoff_max_s, self._backoff * 2 if self._backoff else BACKOFF_MIN_S)
        return self._backoff

    def _recovered(self) -> None:
        self._backoff = 0.0
        if self._down_since is not None:
            log.info(
                "VictoriaMetrics at %s is reachable again after %.0f s; the outbox is being delivered%s",
                self.url,
                time.time() - self._down_since,
                f" ({self._dropped_in_outage} samples were dropped meanwhile)" if self._dropped_in_outage else "",
            )
            self._down_since, self._dropped_in_outage = None, 0

    def _count_dropped(self, dropped: int) -> None:
        if dropped <= 0:
            return
        if not self._dropped_in_outage:
            log.warning(
                "VictoriaMetrics outbox over its cap of %d samples: dropping the oldest (%d now; counted in"
                " ffwatt_vm_dropped_samples_total)",
                self.outbox_max,
                dropped,
            )
        self._dropped_in_outage += dropped
        self._count(dropped=dropped)

    def _count(self, pushed: int = 0, push_error: int = 0, dropped: int = 0) -> None:
        if self.metrics is not None:
            self.metrics.vm_pushed(pushed, push_error, dropped)


def init_app(app) -> None:
    """Give the app a (not yet started) :class:`Pusher` when ``VICTORIAMETRICS_URL`` is set."""
    url = app.config.get("VICTORIAMETRICS_URL")
    if url:
        app.extensions[EXTENSION] = Pusher(
            app.config["DATABASE"],
            url,
            app.extensions.get("ffwatt.metrics"),
            outbox_max=int(app.config["VICTORIAMETRICS_OUTBOX_MAX"]),
            backoff_max_s=float(app.config["VICTORIAMETRICS_BACKOFF_MAX_S"]),
        )


def start(app) -> None:
    """Start the app's pusher, if it has one (with the server: master/service.py)."""
    pusher = app.extensions.get(EXTENSION)
    if pusher is not None:
        pusher.start()


def stop(app) -> None:
    """Stop the app's pusher, if it has one (at shutdown)."""
    pusher = app.extensions.get(EXTENSION)
    if pusher is not None:
        pusher.stop()
