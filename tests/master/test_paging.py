"""Pages of jobs: GET /jobs (limit, offset, total, next) and the web UI's bounded job and node lists."""

from __future__ import annotations

import re

from master import db, queue
from tests.master.conftest import job_spec


def _campaign(conn, n: int) -> str:
    return queue.create_campaign(
        conn,
        name="p",
        description="",
        spec_text="name: p",
        spec_path=None,
        jobs=[job_spec(f"v{i}#1") for i in range(n)],
    )


def test_get_jobs_pages_through_every_job_once_in_order(client, conn):
    """Following next over 250 jobs (two campaigns) returns each job exactly once, in submission order."""
    first, second = _campaign(conn, 130), _campaign(conn, 120)
    expected = [r["id"] for r in conn.execute("SELECT id FROM jobs ORDER BY created_at, seq, id")]
    seen, url, pages = [], "/jobs?limit=100", 0
    while url:
        page = client.get(url).get_json()
        assert page["total"] == 250 and len(page["jobs"]) <= 100
        seen += [j["id"] for j in page["jobs"]]
        url, pages = page["next"], pages + 1
    assert seen == expected and pages == 3
    assert {j["campaign_id"] for j in client.get("/jobs?limit=1000").get_json()["jobs"]} == {first, second}


def test_get_jobs_default_page_is_100_with_filters_kept_in_next(client, conn):
    """Without limit a page has 100 jobs; next keeps the filters; the last page's next is null; limit <= 1000."""
    cid = _campaign(conn, 150)
    page = client.get(f"/jobs?campaign={cid}&state=queued").get_json()
    assert len(page["jobs"]) == 100 and page["total"] == 150 and page["offset"] == 0 and page["limit"] == 100
    assert f"campaign={cid}" in page["next"] and "state=queued" in page["next"] and "offset=100" in page["next"]
    last = client.get(page["next"]).get_json()
    assert len(last["jobs"]) == 50 and last["next"] is None
    assert client.get("/jobs?limit=1001").status_code == 400


def test_dashboard_shows_a_bounded_page_with_indexed_counts(client, conn):
    """With 1,000 jobs and 120 nodes the dashboard lists a few recent jobs and a page of nodes, and counts all."""
    _campaign(conn, 1000)
    for i in range(120):
        conn.execute(
            "INSERT INTO nodes (id, hostname, registered_at, last_heartbeat) VALUES (?, ?, 0, NULL)",
            (f"n-{i:03d}", f"host-{i:03d}"),
        )
    html = client.get("/").get_data(as_text=True)
    assert len(re.findall(r'<tr data-job="', html)) <= 20
    assert len(re.findall(r'<tr data-node="', html)) <= 50
    assert "1000 queued" in html and "120 nodes" in html
    assert 'href="/ui/jobs' in html and 'href="/ui/nodes' in html


def test_ui_jobs_pages_recent_jobs(client, conn):
    """/ui/jobs shows one page of jobs with the total and a link to the next page; a state filter narrows it."""
    _campaign(conn, 250)
    conn.execute("UPDATE jobs SET state = 'failed', error = 'boom' WHERE seq < 7")
    html = client.get("/ui/jobs").get_data(as_text=True)
    assert len(re.findall(r'<tr data-job="', html)) == 100 and "250 jobs" in html
    assert "offset=100" in html
    page3 = client.get("/ui/jobs?offset=200").get_data(as_text=True)
    assert len(re.findall(r'<tr data-job="', page3)) == 50 and "offset=300" not in page3
    failed = client.get("/ui/jobs?state=failed").get_data(as_text=True)
    assert len(re.findall(r'<tr data-job="', failed)) == 7
    assert client.get("/ui/jobs?state=bogus").status_code == 400


def test_ui_nodes_pages_every_node(client, conn):
    """/ui/nodes lists nodes a page at a time, by hostname, with the total."""
    for i in range(120):
        conn.execute("INSERT INTO nodes (id, hostname, registered_at) VALUES (?, ?, 0)", (f"n-{i:03d}", f"h-{i:03d}"))
    html = client.get("/ui/nodes").get_data(as_text=True)
    assert len(re.findall(r'<tr data-node="', html)) == 100 and "120 nodes" in html and "h-000" in html
    rest = client.get("/ui/nodes?offset=100").get_data(as_text=True)
    assert len(re.findall(r'<tr data-node="', rest)) == 20 and "h-119" in rest


def test_paging_indexes_serve_the_queries(conn):
    """The list queries are index walks, not scans with a sort (EXPLAIN QUERY PLAN)."""
    plans = {
        "all": "SELECT * FROM jobs ORDER BY created_at, seq, id LIMIT 100",
        "state": "SELECT * FROM jobs WHERE state = 'queued' ORDER BY created_at, seq, id LIMIT 100",
        "recent": "SELECT j.id FROM jobs j ORDER BY COALESCE(j.finished_at, j.started_at, j.created_at) DESC,"
        " j.seq DESC LIMIT 15",
    }
    for name, sql in plans.items():
        plan = " ".join(r["detail"] for r in conn.execute("EXPLAIN QUERY PLAN " + sql))
        assert "USING INDEX" in plan and "TEMP B-TREE" not in plan, (name, plan)
    assert db.migrate(conn) >= 4
