"""State transitions of the job queue on a real SQLite file."""
from __future__ import annotations

import threading
import time

import pytest

from master import db, queue
from master.states import CampaignState, JobState


def _result(job, node_id, status="succeeded", error=None):
    return {"job_id": job["id"], "attempt": job["attempt"], "node_id": node_id, "status": status, "error": error}


def test_migrations_set_schema_version(conn):
    """A fresh database is migrated to the newest schema version."""
    assert conn.execute("PRAGMA user_version").fetchone()[0] == max(v for v, _ in db.migrations())
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_claim_hands_jobs_out_in_order_then_none(conn, make_campaign):
    """Jobs are claimed oldest first, each once, then the queue is empty."""
    make_campaign(3)
    names = [queue.claim_next_job(conn, "n1")["name"] for _ in range(3)]
    assert names == ["v0#1", "v1#1", "v2#1"]
    assert queue.claim_next_job(conn, "n1") is None


def test_claim_sets_node_attempt_and_lease(conn, make_campaign):
    """A claim sets state, node, attempt and lease in one write."""
    make_campaign(1)
    before = time.time()
    job = queue.claim_next_job(conn, "n1", lease_s=30)
    assert (job["state"], job["node_id"], job["attempt"]) == ("running", "n1", 1)
    assert before + 29 < job["lease_expires"] < time.time() + 31


def test_accept_result_finishes_job_and_campaign(conn, make_campaign):
    """The holder's result finishes the job; the last one finishes the campaign."""
    cid = make_campaign(1)
    job = queue.claim_next_job(conn, "n1")
    ack = queue.accept_result(conn, _result(job, "n1"))
    assert ack == {"accepted": True, "duplicate": False, "job_id": job["id"]}
    assert conn.execute("SELECT state FROM jobs").fetchone()[0] == "succeeded"
    assert conn.execute("SELECT state FROM campaigns WHERE id = ?", (cid,)).fetchone()[0] == "finished"


def test_repeated_result_is_acknowledged_once(conn, make_campaign):
    """Resubmitting the same attempt's result is idempotent: one row, a duplicate ack."""
    make_campaign(1)
    job = queue.claim_next_job(conn, "n1")
    queue.accept_result(conn, _result(job, "n1"))
    assert queue.accept_result(conn, _result(job, "n1"))["duplicate"] is True
    assert conn.execute("SELECT COUNT(*) FROM results").fetchone()[0] == 1


def test_result_from_another_node_is_409(conn, make_campaign):
    """A node that does not hold the job cannot finish it."""
    make_campaign(1)
    job = queue.claim_next_job(conn, "n1")
    with pytest.raises(queue.QueueError) as err:
        queue.accept_result(conn, _result(job, "n2"))
    assert err.value.status == 409
    assert conn.execute("SELECT state FROM jobs").fetchone()[0] == "running"


def test_expired_lease_requeues_then_stale_result_is_409(conn, make_campaign):
    """An expired lease requeues the job; the first attempt's late result is refused."""
    make_campaign(1)
    first = queue.claim_next_job(conn, "n1", lease_s=-1)
    assert queue.requeue_expired(conn) == 1
    second = queue.claim_next_job(conn, "n2")
    assert second["attempt"] == 2
    with pytest.raises(queue.QueueError) as err:
        queue.accept_result(conn, _result(first, "n1"))
    assert err.value.status == 409
    assert queue.accept_result(conn, _result(second, "n2"))["accepted"]


def test_lease_expiry_fails_job_after_max_attempts(conn, make_campaign):
    """Out of attempts, an expired lease fails the job with the reason."""
    make_campaign(1, max_attempts=1)
    queue.claim_next_job(conn, "n1", lease_s=-1)
    queue.requeue_expired(conn)
    state, error = conn.execute("SELECT state, error FROM jobs").fetchone()
    assert state == "failed" and "lease expired" in error


def test_cancel_campaign_marks_open_jobs(conn, make_campaign):
    """Interrupting a campaign cancels its open jobs and keeps finished ones."""
    cid = make_campaign(3)
    job = queue.claim_next_job(conn, "n1")
    queue.accept_result(conn, _result(job, "n1"))
    queue.claim_next_job(conn, "n1")
    assert queue.cancel_campaign(conn, cid, CampaignState.INTERRUPTED) == 2
    states = [r[0] for r in conn.execute("SELECT state FROM jobs ORDER BY seq")]
    assert states == [JobState.SUCCEEDED, JobState.CANCELLED, JobState.CANCELLED]
    assert conn.execute("SELECT state FROM campaigns").fetchone()[0] == "interrupted"


def test_concurrent_claims_never_share_a_job(app, make_campaign):
    """Threads with their own connections claiming at once each get distinct jobs."""
    make_campaign(40)
    claimed, lock = [], threading.Lock()

    def claimer(i):
        c = db.connect(app.config["DATABASE"])
        while (job := queue.claim_next_job(c, f"n{i}")) is not None:
            with lock:
                claimed.append(job["id"])
        c.close()

    threads = [threading.Thread(target=claimer, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert len(claimed) == 40 and len(set(claimed)) == 40
