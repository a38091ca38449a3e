"""State transitions of the job queue on a real SQLite file."""

from __future__ import annotations

import threading
import time

import pytest

from master import db, errors, fleet, queue
from wire.states import CampaignState, JobState, NodeStatus


def _result(job, node_id, status="succeeded", error=None, **extra):
    return {
        "job_id": job["id"],
        "attempt": job["attempt"],
        "node_id": node_id,
        "status": status,
        "error": error,
        **extra,
    }


def test_migrations_set_schema_version(conn):
    """A fresh database is migrated to the newest schema version, in WAL mode, with the scheduling tables."""
    assert conn.execute("PRAGMA user_version").fetchone()[0] == max(v for v, _ in db.migrations()) >= 2
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    columns = {r["name"] for r in conn.execute("PRAGMA table_info(nodes)")}
    assert {"token_hash", "max_concurrent_jobs", "heartbeat_interval_s"} <= columns
    assert conn.execute("SELECT COUNT(*) FROM job_events").fetchone()[0] == 0


def test_claim_hands_jobs_out_in_order_then_none(conn, make_campaign, node):
    """Jobs are claimed oldest first, each once, then the queue is empty."""
    make_campaign(3)
    n1 = node("n1", max_concurrent_jobs=3).id
    names = [queue.claim_next_job(conn, n1)["name"] for _ in range(3)]
    assert names == ["v0#1", "v1#1", "v2#1"]
    assert queue.claim_next_job(conn, n1) is None


def test_claim_sets_node_attempt_and_lease(conn, make_campaign, node):
    """A claim sets state, node, attempt and lease in one write, and logs the claim."""
    make_campaign(1)
    n1 = node("n1").id
    before = time.time()
    job = queue.claim_next_job(conn, n1, lease_s=30)
    assert (job["state"], job["node_id"], job["attempt"]) == ("running", n1, 1)
    assert before + 29 < job["lease_expires"] < time.time() + 31
    assert [(e["event"], e["node_id"]) for e in queue.job_events(conn, job["id"])] == [("claimed", n1)]


def test_claim_accepts_a_node_row(conn, make_campaign, node):
    """claim_next_job takes a nodes row as well as an id; an unknown node gets nothing."""
    make_campaign(1)
    row = conn.execute("SELECT * FROM nodes WHERE id = ?", (node("n1").id,)).fetchone()
    assert queue.claim_next_job(conn, "n-unknown") is None
    assert queue.claim_next_job(conn, row)["node_id"] == row["id"]


def test_accept_result_finishes_job_and_campaign(conn, make_campaign, node):
    """The holder's result finishes the job; the last one finishes the campaign."""
    cid = make_campaign(1)
    n1 = node("n1").id
    job = queue.claim_next_job(conn, n1)
    ack = queue.accept_result(conn, _result(job, n1))
    assert ack == {"accepted": True, "duplicate": False, "job_id": job["id"]}
    assert conn.execute("SELECT state FROM jobs").fetchone()[0] == "succeeded"
    assert conn.execute("SELECT state FROM campaigns WHERE id = ?", (cid,)).fetchone()[0] == "finished"
    assert conn.execute("SELECT current_job_id FROM nodes").fetchone()[0] is None


def test_repeated_result_is_acknowledged_once(conn, make_campaign, node):
    """Resubmitting the same attempt's result is idempotent: one row, a duplicate ack."""
    make_campaign(1)
    n1 = node("n1").id
    job = queue.claim_next_job(conn, n1)
    queue.accept_result(conn, _result(job, n1))
    assert queue.accept_result(conn, _result(job, n1))["duplicate"] is True
    assert conn.execute("SELECT COUNT(*) FROM results").fetchone()[0] == 1


def test_result_from_another_node_is_409(conn, make_campaign, node):
    """A node that does not hold the job cannot finish it, and the refusal changes nothing."""
    make_campaign(1)
    n1, n2 = node("n1").id, node("n2").id
    job = queue.claim_next_job(conn, n1)
    with pytest.raises(errors.StaleResult):
        queue.accept_result(conn, _result(job, n2))
    assert conn.execute("SELECT state FROM jobs").fetchone()[0] == "running"
    assert [e["event"] for e in queue.job_events(conn, job["id"])] == ["claimed"]


def test_expired_lease_requeues_then_stale_result_is_409(conn, make_campaign, node):
    """An expired lease requeues the job; the first attempt's late result is refused."""
    make_campaign(1)
    n1, n2 = node("n1").id, node("n2").id
    first = queue.claim_next_job(conn, n1, lease_s=-1)
    assert queue.requeue_expired(conn) == 1
    second = queue.claim_next_job(conn, n2)
    assert second["attempt"] == 2
    with pytest.raises(errors.StaleResult):
        queue.accept_result(conn, _result(first, n1))
    assert queue.accept_result(conn, _result(second, n2))["accepted"]


def test_heartbeat_extends_leases_of_the_nodes_jobs_only(conn, make_campaign, node):
    """A heartbeat pushes back its own node's leases and no other's; an unknown node is not found."""
    make_campaign(2)
    n1, n2 = node("n1").id, node("n2").id
    mine, other = queue.claim_next_job(conn, n1, lease_s=1), queue.claim_next_job(conn, n2, lease_s=1)
    assert queue.heartbeat(conn, n1, 12.5, {"phase": "encoding"}, lease_s=300).before["id"] == n1
    leases = dict(conn.execute("SELECT id, lease_expires FROM jobs"))
    assert leases[mine["id"]] > time.time() + 250 and leases[other["id"]] < time.time() + 2
    with pytest.raises(errors.NotFound, match="node n-unknown not found"):
        queue.heartbeat(conn, "n-unknown", None, None)


def test_heartbeat_extends_only_the_jobs_the_node_holds(conn, make_campaign, node):
    """Named jobs get a new lease; an unnamed one inside the grace keeps its lease; the node's claim on another
    node's job is not extended."""
    make_campaign(3)
    n1, n2 = node("n1", max_concurrent_jobs=2).id, node("n2").id
    held, fresh = queue.claim_next_job(conn, n1, lease_s=1), queue.claim_next_job(conn, n1, lease_s=1)
    foreign = queue.claim_next_job(conn, n2, lease_s=1)
    beat = queue.heartbeat(conn, n1, None, None, lease_s=300, held=[held["id"], foreign["id"]], grace_s=60)
    assert beat.requeued == 0
    leases = dict(conn.execute("SELECT id, lease_expires FROM jobs"))
    assert leases[held["id"]] > time.time() + 250
    assert leases[fresh["id"]] < time.time() + 2 and leases[foreign["id"]] < time.time() + 2


def test_heartbeat_requeues_a_claim_the_node_never_got(conn, make_campaign, node):
    """A job running on the node that its heartbeat leaves out after the grace is requeued at once, with an event
    saying so; the next claim hands it out as attempt 2."""
    make_campaign(1)
    n1 = node("n1").id
    lost = queue.claim_next_job(conn, n1, lease_s=300)
    conn.execute("UPDATE jobs SET started_at = ? WHERE id = ?", (time.time() - 31, lost["id"]))
    beat = queue.heartbeat(conn, n1, None, None, lease_s=300, held=[], grace_s=30)
    assert beat.requeued == 1
    row = conn.execute("SELECT state, node_id, error FROM jobs WHERE id = ?", (lost["id"],)).fetchone()
    assert row["state"] == "queued" and row["node_id"] is None and "no longer holds it" in row["error"]
    assert [e["event"] for e in queue.job_events(conn, lost["id"])] == ["claimed", "not_held"]
    assert queue.claim_next_job(conn, n1)["attempt"] == 2


def test_going_offline_requeues_unheld_jobs_at_once_and_keeps_held_ones(conn, make_campaign, node):
    """A node's going-offline heartbeat stores it offline whatever its heartbeat age, requeues at once (no grace) the
    job it no longer holds, keeps the held one running on its lease, and the node claims nothing more; its next
    ordinary heartbeat brings it back online."""
    make_campaign(3)
    n1 = node("n1", max_concurrent_jobs=3).id
    held, dropped = queue.claim_next_job(conn, n1, lease_s=300), queue.claim_next_job(conn, n1, lease_s=300)
    beat = queue.heartbeat(conn, n1, None, None, lease_s=300, held=[held["id"]], grace_s=3600, going_offline=True)
    assert beat.requeued == 1
    jobs = {r["id"]: r for r in conn.execute("SELECT id, state, node_id, error, lease_expires FROM jobs")}
    assert jobs[dropped["id"]]["state"] == "queued" and jobs[dropped["id"]]["node_id"] is None
    assert "went offline" in jobs[dropped["id"]]["error"]
    assert jobs[held["id"]]["state"] == "running" and jobs[held["id"]]["node_id"] == n1
    assert jobs[held["id"]]["lease_expires"] > time.time() + 250
    row = conn.execute("SELECT * FROM nodes WHERE id = ?", (n1,)).fetchone()
    assert row["status"] == "offline" and time.time() - row["last_heartbeat"] < 5
    assert fleet.Liveness().status(row) is NodeStatus.OFFLINE
    assert queue.claim_next_job(conn, n1) is None
    queue.heartbeat(conn, n1, None, None, lease_s=300, held=[held["id"]])
    assert (
        fleet.Liveness().status(conn.execute("SELECT * FROM nodes WHERE id = ?", (n1,)).fetchone()) is NodeStatus.ONLINE
    )
    assert queue.claim_next_job(conn, n1)["id"] == dropped["id"]


def test_heartbeat_without_held_jobs_extends_every_lease_of_the_node(conn, make_campaign, node):
    """An agent that does not say what it holds keeps the old contract: all its leases are pushed back."""
    make_campaign(2)
    n1 = node("n1", max_concurrent_jobs=2).id
    jobs = [queue.claim_next_job(conn, n1, lease_s=1) for _ in range(2)]
    conn.execute("UPDATE jobs SET started_at = ?", (time.time() - 3600,))
    assert queue.heartbeat(conn, n1, None, None, lease_s=300).requeued == 0
    leases = dict(conn.execute("SELECT id, lease_expires FROM jobs"))
    assert all(leases[j["id"]] > time.time() + 250 for j in jobs)


def test_renew_leases_gives_running_jobs_a_full_lease(conn, make_campaign, node):
    """After a master restart every running job, even one whose lease ran out while it was down, gets a lease."""
    make_campaign(2)
    n1 = node("n1", max_concurrent_jobs=2).id
    expired, long = queue.claim_next_job(conn, n1, lease_s=-5), queue.claim_next_job(conn, n1, lease_s=1000)
    assert queue.renew_leases(conn, lease_s=60) == 1
    leases = dict(conn.execute("SELECT id, lease_expires FROM jobs"))
    assert time.time() + 55 < leases[expired["id"]] < time.time() + 61 and leases[long["id"]] > time.time() + 900
    assert queue.requeue_expired(conn) == 0


def test_writers_share_one_lock_per_database_file(app, conn):
    """Every connection to one file gets the same writer lock; the lock is reentrant."""
    other = db.connect(app.config["DATABASE"])
    lock = db.writer_lock(conn)
    assert db.writer_lock(other) is lock
    with lock, db.write(other):
        other.execute("UPDATE nodes SET status = status")
    other.close()


def test_requeue_is_bounded_per_call(conn, make_campaign, node):
    """One requeue call handles at most ``limit`` expired leases; the next call takes the rest."""
    make_campaign(3)
    n1 = node("n1", max_concurrent_jobs=3).id
    for _ in range(3):
        queue.claim_next_job(conn, n1, lease_s=-1)
    assert queue.requeue_expired(conn, limit=2) == 2
    assert queue.requeue_expired(conn, limit=2) == 1
    assert queue.requeue_expired(conn) == 0


def test_lease_expiry_fails_job_after_max_attempts(conn, make_campaign, node):
    """Out of attempts, an expired lease fails the job with the reason."""
    make_campaign(1, max_attempts=1)
    queue.claim_next_job(conn, node("n1").id, lease_s=-1)
    queue.requeue_expired(conn)
    state, error = conn.execute("SELECT state, error FROM jobs").fetchone()
    assert state == "failed" and "lease expired" in error


def test_cancel_campaign_marks_open_jobs(conn, make_campaign, node):
    """Interrupting a campaign cancels its open jobs and keeps finished ones."""
    cid = make_campaign(3)
    n1 = node("n1").id
    job = queue.claim_next_job(conn, n1)
    queue.accept_result(conn, _result(job, n1))
    running = queue.claim_next_job(conn, n1)
    assert queue.cancel_campaign(conn, cid, CampaignState.INTERRUPTED) == 2
    states = [r[0] for r in conn.execute("SELECT state FROM jobs ORDER BY seq")]
    assert states == [JobState.SUCCEEDED, JobState.CANCELLED, JobState.CANCELLED]
    assert conn.execute("SELECT state FROM campaigns").fetchone()[0] == "interrupted"
    assert queue.job_events(conn, running["id"])[-1]["event"] == "cancelled"


def test_cancel_job_then_retry_keeps_attempt_numbers(conn, make_campaign, node):
    """A cancelled job goes back to the queue with a fresh budget; its attempt counter carries on."""
    cid = make_campaign(1, max_attempts=2)
    n1 = node("n1").id
    job = queue.claim_next_job(conn, n1)
    assert queue.cancel_job(conn, job["id"])["state"] == "cancelled"
    assert conn.execute("SELECT state FROM campaigns").fetchone()[0] == "finished"
    retried = queue.retry_job(conn, job["id"], attempts=3)
    assert (retried["state"], retried["attempt"], retried["max_attempts"]) == ("queued", 1, 4)
    assert conn.execute("SELECT state FROM campaigns WHERE id = ?", (cid,)).fetchone()[0] == "running"
    assert queue.claim_next_job(conn, n1)["attempt"] == 2
    with pytest.raises(errors.StaleResult):
        queue.accept_result(conn, _result(job, n1))


def test_cancel_and_retry_refuse_wrong_states(conn, make_campaign, node):
    """Only open jobs can be cancelled and only failed or cancelled ones retried (409); unknown ids are 404."""
    make_campaign(1)
    n1 = node("n1").id
    job = queue.claim_next_job(conn, n1)
    with pytest.raises(errors.InvalidTransition):
        queue.retry_job(conn, job["id"])
    queue.accept_result(conn, _result(job, n1))
    with pytest.raises(errors.InvalidTransition):
        queue.cancel_job(conn, job["id"])
    with pytest.raises(errors.NotFound):
        queue.cancel_job(conn, "j-nope")


def test_result_event_keeps_error_and_stderr_tail(conn, make_campaign, node):
    """A failed result's log entry carries its error and the end of FFmpeg's stderr."""
    make_campaign(1)
    n1 = node("n1").id
    job = queue.claim_next_job(conn, n1)
    tail = [f"line {i}" for i in range(100)]
    queue.accept_result(conn, _result(job, n1, "failed", "ffmpeg exited 1", ffmpeg={"stderr_tail": tail}))
    event = queue.job_events(conn, job["id"])[-1]
    assert (event["event"], event["status"], event["error"]) == ("result", "failed", "ffmpeg exited 1")
    assert event["stderr_tail"] == tail[-queue.STDERR_TAIL_LINES :]


def test_submit_job_belongs_to_no_campaign(conn, node):
    """A job submitted on its own has no campaign and is claimable like any other."""
    job_id = queue.submit_job(
        conn,
        {
            "name": "x#1",
            "scenario": "x",
            "variant": "x",
            "kind": "transcode",
            "params": {"encoder": "libx264"},
            "requirements": {"encoder": "libx264"},
        },
    )
    job = queue.claim_next_job(conn, node("n1").id)
    assert (job["id"], job["campaign_id"]) == (job_id, None)


def test_concurrent_claims_never_share_a_job(app, make_campaign, node):
    """Threads with their own connections claiming at once each get distinct jobs."""
    make_campaign(40)
    nodes = [node(f"n{i}", max_concurrent_jobs=40).id for i in range(8)]
    claimed, lock = [], threading.Lock()

    def claimer(node_id):
        c = db.connect(app.config["DATABASE"])
        while (job := queue.claim_next_job(c, node_id)) is not None:
            with lock:
                claimed.append(job["id"])
        c.close()

    threads = [threading.Thread(target=claimer, args=(n,)) for n in nodes]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert len(claimed) == 40 and len(set(claimed)) == 40


# --- confidence: a variant repeats until its joules-per-frame interval is narrow enough -------------------------


def _confidence_jobs(variant: str = "v", target: float = 0.05, low: int = 2, high: int = 4, priority: int = 3):
    from tests.master.conftest import job_spec

    spec = {"preset": None, "target": target, "min": low, "max": high}
    return [
        dict(
            job_spec(f"{variant}#{rep}", priority=priority, encoder="libx264", duration=1),
            repetition=rep,
            confidence=spec,
        )
        for rep in range(1, low + 1)
    ]


def _jpf(job, node_id, value, status="succeeded"):
    error = None if status == "succeeded" else "ffmpeg exited 1"
    return _result(job, node_id, status, error, metrics={"joules_per_frame": value})


def _names_states(conn, cid):
    return [
        (r["name"], r["state"])
        for r in conn.execute("SELECT name, state FROM jobs WHERE campaign_id = ? ORDER BY seq", (cid,))
    ]


def _campaign_state(conn, cid):
    return conn.execute("SELECT state FROM campaigns WHERE id = ?", (cid,)).fetchone()[0]


def test_confidence_noisy_variant_grows_one_run_at_a_time_to_max(conn, make_campaign, node):
    """Noisy J/frame: after the min runs one more run is queued (same params, priority, next repetition, a
    'queued' event), the campaign stays running, and it stops at max jobs; then the campaign finishes."""
    cid = make_campaign(jobs=_confidence_jobs())
    n1 = node("n1").id
    values = iter([0.1, 0.2, 0.05, 0.3])
    for expected_jobs in (2, 3, 4, 4):
        job = queue.claim_next_job(conn, n1)
        ack = queue.accept_result(conn, _jpf(job, n1, next(values)))
        total = conn.execute("SELECT COUNT(*) FROM jobs WHERE campaign_id = ?", (cid,)).fetchone()[0]
        assert total == expected_jobs
        if job["repetition"] == 1:
            assert total == 2 and "added_jobs" not in ack  # v#2 still queued: wait
        else:
            assert total == min(job["repetition"] + 1, 4)
            assert ack.get("added_jobs", 0) == (1 if job["repetition"] < 4 else 0)
    assert _names_states(conn, cid) == [
        ("v#1", "succeeded"),
        ("v#2", "succeeded"),
        ("v#3", "succeeded"),
        ("v#4", "succeeded"),
    ]
    assert _campaign_state(conn, cid) == "finished"
    third = queue.job_to_dict(conn.execute("SELECT * FROM jobs WHERE name = 'v#3'").fetchone())
    first = queue.job_to_dict(conn.execute("SELECT * FROM jobs WHERE name = 'v#1'").fetchone())
    assert (third["params"], third["requirements"], third["priority"], third["repetition"], third["seq"]) == (
        first["params"],
        first["requirements"],
        3,
        3,
        2,
    )
    assert third["confidence"] == {"preset": None, "target": 0.05, "min": 2, "max": 4}
    event = queue.job_events(conn, third["id"])[0]
    assert (event["event"], event["reason"], event["runs"], event["jobs"]) == ("queued", "confidence", 2, 2)


def test_confidence_stable_variant_stops_at_min(conn, make_campaign, node):
    """Agreeing J/frame values reach the target with the min runs: nothing is added, the campaign finishes."""
    cid = make_campaign(jobs=_confidence_jobs())
    n1 = node("n1").id
    for value in (0.1, 0.1001):
        job = queue.claim_next_job(conn, n1)
        assert "added_jobs" not in queue.accept_result(conn, _jpf(job, n1, value))
    assert _names_states(conn, cid) == [("v#1", "succeeded"), ("v#2", "succeeded")]
    assert _campaign_state(conn, cid) == "finished"


def test_confidence_campaign_not_finished_while_a_variant_wants_more(conn, make_campaign, node):
    """The last open job's result queues a run instead of finishing the campaign; other variants are unaffected."""
    cid = make_campaign(jobs=[*_confidence_jobs("a"), dict(_confidence_jobs("b")[0], confidence=None)])
    n1 = node("n1").id
    for value in (0.1, 0.2, 0.15):
        job = queue.claim_next_job(conn, n1)
        queue.accept_result(conn, _jpf(job, n1, value))
    assert _campaign_state(conn, cid) == "running"
    assert _names_states(conn, cid)[-1] == ("a#3", "queued")


def test_confidence_duplicate_result_adds_no_second_job(conn, make_campaign, node):
    """Posting the same result again is a duplicate ack and queues nothing more."""
    cid = make_campaign(jobs=_confidence_jobs())
    n1 = node("n1").id
    queue.accept_result(conn, _jpf(queue.claim_next_job(conn, n1), n1, 0.1))
    job = queue.claim_next_job(conn, n1)
    assert queue.accept_result(conn, _jpf(job, n1, 0.2))["added_jobs"] == 1
    again = queue.accept_result(conn, _jpf(job, n1, 0.2))
    assert again["duplicate"] and "added_jobs" not in again
    assert len(_names_states(conn, cid)) == 3


def test_confidence_waits_for_runs_in_parallel(conn, make_campaign, node):
    """With both min runs running at once, the first result decides nothing; the second queues the next run."""
    cid = make_campaign(jobs=_confidence_jobs())
    n1 = node("n1", max_concurrent_jobs=2).id
    first, second = queue.claim_next_job(conn, n1), queue.claim_next_job(conn, n1)
    assert "added_jobs" not in queue.accept_result(conn, _jpf(second, n1, 0.2))
    assert queue.accept_result(conn, _jpf(first, n1, 0.1))["added_jobs"] == 1
    assert [n for n, _ in _names_states(conn, cid)] == ["v#1", "v#2", "v#3"]


def test_confidence_failed_runs_count_toward_max(conn, make_campaign, node):
    """A failed run is replaced (no sample) but counts as a job: at max jobs the variant stops."""
    cid = make_campaign(jobs=_confidence_jobs(low=2, high=3))
    n1 = node("n1").id
    outcomes = iter([(0.1, "succeeded"), (None, "failed"), (0.1, "succeeded")])
    while (job := queue.claim_next_job(conn, n1)) is not None:
        value, status = next(outcomes)
        queue.accept_result(conn, _jpf(job, n1, value, status))
    assert _names_states(conn, cid) == [("v#1", "succeeded"), ("v#2", "failed"), ("v#3", "succeeded")]
    assert _campaign_state(conn, cid) == "finished"


def test_confidence_variant_that_only_fails_is_not_repeated_to_max(conn, make_campaign, node):
    """Min failed runs and no sample: the variant stops there instead of failing up to max."""
    cid = make_campaign(jobs=_confidence_jobs(low=2, high=10))
    n1 = node("n1").id
    while (job := queue.claim_next_job(conn, n1)) is not None:
        queue.accept_result(conn, _jpf(job, n1, None, "failed"))
    assert _names_states(conn, cid) == [("v#1", "failed"), ("v#2", "failed")]
    assert _campaign_state(conn, cid) == "finished"


def test_confidence_missing_jpf_is_no_sample(conn, make_campaign, node):
    """A succeeded run without joules_per_frame (or with 0) is not a sample: more runs are queued."""
    cid = make_campaign(jobs=_confidence_jobs(low=2, high=4))
    n1 = node("n1").id
    for value in (None, 0.0):
        queue.accept_result(conn, _jpf(queue.claim_next_job(conn, n1), n1, value))
    assert len(_names_states(conn, cid)) == 2  # min jobs and no sample: done
    cid = make_campaign(jobs=_confidence_jobs("w", low=2, high=4))
    for value in (0.1, None):
        queue.accept_result(conn, _jpf(queue.claim_next_job(conn, n1), n1, value))
    assert _names_states(conn, cid)[-1] == ("w#3", "queued")


def test_confidence_lease_expiry_failure_also_decides(conn, make_campaign, node):
    """A run failed by its lease (out of attempts) counts like a failed result: the next run is queued."""
    cid = make_campaign(jobs=_confidence_jobs(), max_attempts=1)
    n1 = node("n1").id
    queue.accept_result(conn, _jpf(queue.claim_next_job(conn, n1), n1, 0.1))
    queue.claim_next_job(conn, n1, lease_s=-1)
    assert queue.requeue_expired(conn) == 1
    assert _names_states(conn, cid) == [("v#1", "succeeded"), ("v#2", "failed"), ("v#3", "queued")]
    assert _campaign_state(conn, cid) == "running"


def test_confidence_cancelled_campaign_never_grows(conn, make_campaign, node):
    """A campaign that is no longer running queues no more runs, whatever its results say."""
    cid = make_campaign(jobs=_confidence_jobs())
    n1 = node("n1").id
    queue.accept_result(conn, _jpf(queue.claim_next_job(conn, n1), n1, 0.1))
    job = queue.claim_next_job(conn, n1)
    conn.execute("UPDATE campaigns SET state = 'cancelled' WHERE id = ?", (cid,))
    assert "added_jobs" not in queue.accept_result(conn, _jpf(job, n1, 0.3))
    assert len(_names_states(conn, cid)) == 2 and _campaign_state(conn, cid) == "cancelled"
    queue.cancel_campaign(conn, cid)
    assert len(_names_states(conn, cid)) == 2


def test_confidence_new_run_wakes_a_long_polling_agent(tmp_path):
    """Over HTTP: the result that queues a run wakes a claim that is already waiting (long poll, no requeue timer to
    fall back on), which gets the new job at once; the campaign's total grows to 3."""
    from master.app import create_app
    from tests.master.conftest import ADMIN_TOKEN, ENROLLMENT_TOKEN, LIBX264, bearer

    app = create_app(
        {
            "TESTING": True,
            "DATABASE": str(tmp_path / "w.db"),
            "LEASE_S": 60.0,
            "REQUEUE_CHECK_S": 30.0,
            "ENROLLMENT_TOKEN": ENROLLMENT_TOKEN,
            "ADMIN_TOKEN": ADMIN_TOKEN,
        }
    )
    client = app.test_client()
    text = (
        "name: c\nscenarios:\n  - name: x\n    kind: transcode\n    input: {source: testsrc2}\n"
        "    encoder: libx264\n    bitrate: 1000k\n    duration: 1\n"
        "    confidence: {target: 0.01, min: 2, max: 3}\n"
    )
    submitted = client.post("/campaigns", json={"spec_text": text}, headers=bearer(ADMIN_TOKEN)).get_json()
    assert (submitted["jobs"], submitted["max_jobs"]) == (2, 3)
    reg = client.post(
        "/nodes/register",
        json={"hostname": "h", "inventory": LIBX264, "max_concurrent_jobs": 3},
        headers=bearer(ENROLLMENT_TOKEN),
    ).get_json()
    node_id, headers = reg["node_id"], bearer(reg["node_token"])
    jobs = [client.get(f"/jobs/next?node_id={node_id}", headers=headers).get_json()["job"] for _ in range(2)]
    assert [j["name"] for j in jobs] == ["x#1", "x#2"]
    assert client.post("/results", json=_jpf(jobs[0], node_id, 0.1), headers=headers).status_code == 200
    found = {}

    def poll():
        started = time.monotonic()
        with app.test_client() as other:
            found["job"] = other.get(f"/jobs/next?node_id={node_id}&wait=20", headers=headers).get_json()["job"]
        found["s"] = time.monotonic() - started

    thread = threading.Thread(target=poll)
    thread.start()
    time.sleep(0.5)  # the claim is waiting now
    ack = client.post("/results", json=_jpf(jobs[1], node_id, 0.2), headers=headers).get_json()
    assert ack["added_jobs"] == 1
    thread.join(timeout=25)
    assert found["job"]["name"] == "x#3" and found["s"] < 5
    progress = client.get(f"/campaigns/{submitted['campaign_id']}").get_json()
    assert progress["total"] == 3 and progress["state"] == "running"
