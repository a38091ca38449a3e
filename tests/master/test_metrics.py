"""GET /metrics: the exposition parsed back with prometheus_client's own parser, against a real SQLite store."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from master import db
from master.app import create_app
from master.metrics import EXTENSION, MasterMetrics
from tests.master.test_web import insert_node, make_jobs


@pytest.fixture
def app(tmp_path):
    return create_app({"TESTING": True, "DATABASE": str(tmp_path / "ffwatt.db"), "INSECURE": True})


def scrape(client) -> dict:
    """``{family name: {(sample name, sorted labels): value}}`` from one GET /metrics."""
    resp = client.get("/metrics")
    assert resp.status_code == 200
    families = {}
    for family in text_string_to_metric_families(resp.get_data(as_text=True)):
        families[family.name] = {(s.name, tuple(sorted(s.labels.items()))): s.value for s in family.samples}
    return families


def test_content_type_is_prometheus_text_0_0_4(client):
    """The exposition is served as the Prometheus text format 0.0.4."""
    resp = client.get("/metrics")
    assert resp.headers["Content-Type"].startswith("text/plain; version=0.0.4")


def test_every_family_is_exported_on_an_empty_store(client):
    """All families exist from the first scrape, zero-filled where zero is the true count."""
    got = scrape(client)
    assert {
        "ffwatt_jobs",
        "ffwatt_queue_depth",
        "ffwatt_nodes",
        "ffwatt_node_watts",
        "ffwatt_results_received",
        "ffwatt_claim_latency_seconds",
        "ffwatt_store_up",
    } <= set(got)
    assert got["ffwatt_jobs"][("ffwatt_jobs", (("state", "queued"),))] == 0
    assert got["ffwatt_queue_depth"] == {("ffwatt_queue_depth", ()): 0}
    assert got["ffwatt_store_up"] == {("ffwatt_store_up", ()): 1}
    assert got["ffwatt_node_watts"] == {}
    for name in ("ffwatt_vm_pushed_samples", "ffwatt_vm_push_errors", "ffwatt_vm_dropped_samples"):
        assert got[name] == {(name + "_total", ()): 0}
    assert got["ffwatt_vm_outbox_depth"] == {("ffwatt_vm_outbox_depth", ()): 0}
    assert got["ffwatt_node_up"] == {} and got["ffwatt_campaign_jobs"] == {}


def test_jobs_by_state_and_queue_depth(client, conn):
    """ffwatt_jobs counts every state; ffwatt_queue_depth is the queued count."""
    make_jobs(conn, ["queued", "queued", "queued", "running", "succeeded", "failed", "failed"])
    got = scrape(client)
    jobs = {labels[0][1]: v for (_, labels), v in got["ffwatt_jobs"].items()}
    assert jobs == {"queued": 3, "running": 1, "succeeded": 1, "failed": 2, "cancelled": 0}
    assert got["ffwatt_queue_depth"][("ffwatt_queue_depth", ())] == 3


def test_nodes_by_status(client, conn):
    """Online, draining and offline (stale or no heartbeat, whatever was stored) are counted apart."""
    insert_node(conn, "n-1", "a", heartbeat_age=5)
    insert_node(conn, "n-2", "b", heartbeat_age=5)
    insert_node(conn, "n-3", "c", heartbeat_age=5, status="draining")
    insert_node(conn, "n-4", "d", heartbeat_age=91)
    insert_node(conn, "n-5", "e", heartbeat_age=None)
    insert_node(conn, "n-6", "f", heartbeat_age=500, status="draining")
    nodes = {labels[0][1]: v for (_, labels), v in scrape(client)["ffwatt_nodes"].items()}
    assert nodes == {"online": 2, "draining": 1, "offline": 3}


def test_node_heartbeat_interval_column_decides_offline(client, conn):
    """A node's own heartbeat_interval_s (schema 2) stretches its offline window beyond the app's 30 s x 3."""
    insert_node(conn, "n-1", "slow", heartbeat_age=200, watts=12.0)
    with db.write(conn):
        conn.execute("UPDATE nodes SET heartbeat_interval_s = 100 WHERE id = 'n-1'")
    got = scrape(client)
    assert got["ffwatt_nodes"][("ffwatt_nodes", (("status", "online"),))] == 1
    assert got["ffwatt_node_watts"] == {("ffwatt_node_watts", (("hostname", "slow"), ("node", "n-1"))): 12.0}


def test_node_watts_only_for_live_nodes_with_a_reading(client, conn):
    """Latest watts per live node, labelled node and hostname; NULL watts and offline nodes have no sample."""
    insert_node(conn, "n-1", "bench-01", watts=87.5)
    insert_node(conn, "n-2", "no-sensor", watts=None)
    insert_node(conn, "n-3", "gone", watts=40.0, heartbeat_age=900)
    assert scrape(client)["ffwatt_node_watts"] == {
        ("ffwatt_node_watts", (("hostname", "bench-01"), ("node", "n-1"))): 87.5
    }


def test_node_up_and_last_heartbeat_per_node(client, conn):
    """ffwatt_node_up is 0 only for an offline node (draining is up); the last heartbeat's time is absent if none."""
    insert_node(conn, "n-1", "live", heartbeat_age=5)
    insert_node(conn, "n-2", "draining", heartbeat_age=5, status="draining")
    insert_node(conn, "n-3", "stale", heartbeat_age=500)
    insert_node(conn, "n-4", "never", heartbeat_age=None)
    beats = {r["id"]: r["last_heartbeat"] for r in conn.execute("SELECT id, last_heartbeat FROM nodes")}
    got = scrape(client)
    up = {dict(labels)["hostname"]: v for (_, labels), v in got["ffwatt_node_up"].items()}
    assert up == {"live": 1, "draining": 1, "stale": 0, "never": 0}
    last = got["ffwatt_node_last_heartbeat_timestamp_seconds"]
    assert last == {
        ("ffwatt_node_last_heartbeat_timestamp_seconds", (("hostname", h), ("node", n))): beats[n]
        for n, h in (("n-1", "live"), ("n-2", "draining"), ("n-3", "stale"))
    }


def test_campaign_jobs_by_state_for_running_campaigns_only(client, conn):
    """Each running campaign has every job state (0 included); a finished campaign has no series."""
    running, _ = make_jobs(conn, ["queued", "queued", "running", "failed"], name='odd "name"')
    finished, _ = make_jobs(conn, ["succeeded"], name="done")
    with db.write(conn):
        conn.execute("UPDATE campaigns SET state = 'finished' WHERE id = ?", (finished,))
    got = {tuple(v for _, v in labels): value for (_, labels), value in scrape(client)["ffwatt_campaign_jobs"].items()}
    assert got == {
        ('odd "name"', running, "queued"): 2,
        ('odd "name"', running, "running"): 1,
        ('odd "name"', running, "failed"): 1,
        ('odd "name"', running, "succeeded"): 0,
        ('odd "name"', running, "cancelled"): 0,
    }


def test_vm_outbox_depth_is_read_from_the_store(client, conn):
    """ffwatt_vm_outbox_depth counts the outbox's rows at each scrape."""
    with db.write(conn):
        conn.executemany("INSERT INTO vm_outbox (line, created_at) VALUES (?, 0)", [("x 1 1",)] * 3)
    assert scrape(client)["ffwatt_vm_outbox_depth"] == {("ffwatt_vm_outbox_depth", ()): 3}


def test_vm_pusher_counters(app, client):
    """vm_pushed counts delivered samples, failed pushes and dropped samples."""
    app.extensions[EXTENSION].vm_pushed(pushed=6, push_errors=1, dropped=2)
    app.extensions[EXTENSION].vm_pushed(push_errors=1)
    got = scrape(client)
    assert got["ffwatt_vm_pushed_samples"][("ffwatt_vm_pushed_samples_total", ())] == 6
    assert got["ffwatt_vm_push_errors"][("ffwatt_vm_push_errors_total", ())] == 2
    assert got["ffwatt_vm_dropped_samples"][("ffwatt_vm_dropped_samples_total", ())] == 2


def test_watts_follow_the_latest_heartbeat(client, conn):
    """A second reading replaces the first at the next scrape."""
    insert_node(conn, "n-1", "bench-01", watts=87.5)
    with db.write(conn):
        conn.execute("UPDATE nodes SET current_watts = 101.25 WHERE id = 'n-1'")
    assert list(scrape(client)["ffwatt_node_watts"].values()) == [101.25]


def test_claim_latency_histogram(app, client):
    """observe_claim fills the histogram; negative and non-finite durations are dropped, not clamped."""
    metrics = app.extensions[EXTENSION]
    for seconds in (0.004, 0.02, 3.0, -1.0, float("nan"), float("inf")):
        metrics.observe_claim(seconds)
    hist = scrape(client)["ffwatt_claim_latency_seconds"]
    assert hist[("ffwatt_claim_latency_seconds_count", ())] == 3
    assert hist[("ffwatt_claim_latency_seconds_sum", ())] == pytest.approx(3.024)
    assert hist[("ffwatt_claim_latency_seconds_bucket", (("le", "0.005"),))] == 1
    assert hist[("ffwatt_claim_latency_seconds_bucket", (("le", "0.025"),))] == 2
    assert hist[("ffwatt_claim_latency_seconds_bucket", (("le", "+Inf"),))] == 3


def test_results_received_counter(app, client):
    """result_received counts by status; succeeded and failed exist from the start."""
    assert scrape(client)["ffwatt_results_received"][("ffwatt_results_received_total", (("status", "failed"),))] == 0
    metrics = app.extensions[EXTENSION]
    for status in ("succeeded", "succeeded", "failed", "stale"):
        metrics.result_received(status)
    got = {
        labels[0][1]: v
        for (name, labels), v in scrape(client)["ffwatt_results_received"].items()
        if name.endswith("_total")
    }
    assert got == {"succeeded": 2, "failed": 1, "stale": 1}


def test_each_app_has_its_own_registry(tmp_path):
    """Two apps in one process never share counters (tests build many apps)."""
    first = create_app({"TESTING": True, "DATABASE": str(tmp_path / "a.db"), "INSECURE": True})
    second = create_app({"TESTING": True, "DATABASE": str(tmp_path / "b.db"), "INSECURE": True})
    assert isinstance(first.extensions[EXTENSION], MasterMetrics)
    assert first.extensions[EXTENSION] is not second.extensions[EXTENSION]
    first.extensions[EXTENSION].result_received("succeeded")
    key = ("ffwatt_results_received_total", (("status", "succeeded"),))
    assert scrape(first.test_client())["ffwatt_results_received"][key] == 1
    assert scrape(second.test_client())["ffwatt_results_received"][key] == 0


def test_unreadable_store_reports_store_down_not_zeros(app, client, tmp_path):
    """If SQLite cannot be read, ffwatt_store_up is 0 and no job or node family pretends to be 0."""
    app.config["DATABASE"] = str(tmp_path)  # a directory: sqlite cannot open it
    got = scrape(client)
    assert got["ffwatt_store_up"] == {("ffwatt_store_up", ()): 0}
    assert not {
        "ffwatt_jobs",
        "ffwatt_queue_depth",
        "ffwatt_nodes",
        "ffwatt_node_watts",
        "ffwatt_node_up",
        "ffwatt_campaign_jobs",
        "ffwatt_vm_outbox_depth",
    } & set(got)
    assert "ffwatt_claim_latency_seconds" in got
